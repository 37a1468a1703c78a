/* sk-app-auditor-window.c — journal table, verification, export with checkpoint */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <gio/gunixfdlist.h>
#include <gio/gunixoutputstream.h>
#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "sk-app-auditor-window.h"
#include "sk-app-chooser.h"
#include "sk-app-files.h"
#include "sk-app-format.h"
#include "sk-app-job-dialog.h"
#include "sk-app-json.h"
#include "sk-app-refusal-bar.h"
#include "sk-app-register-view.h"
#include "sk-app-refusal.h"
#include "sk-error.h"

enum
{
  COL_SEQ,
  COL_TIME,
  COL_EVENT,
  COL_WHO,
  COL_CASE,
  COL_OUTCOME,
  COL_REASON,
  COL_TIME_SORT,
};

struct _SkAppAuditorWindow
{
  GtkApplicationWindow parent_instance;

  GtkBox *refusal_slot;
  GtkBox *register_slot;
  SkAppRegisterView *register_view;
  SkAppRefusalBar *refusal_bar;
  GtkLabel *verdict_label;
  GtkListStore *journal_store;
  GtkTreeModelFilter *journal_filter;
  GtkEntry *since_entry;
  GtkEntry *until_entry;
  GtkEntry *event_entry;
  GtkEntry *who_entry;
  GtkEntry *case_entry;
  GtkEntry *reason_entry;

  SkAppClient *client;
  GCancellable *cancellable;
  char *export_path; /* the CSV being written; the checkpoint goes beside it */
};

G_DEFINE_FINAL_TYPE (SkAppAuditorWindow, sk_app_auditor_window, GTK_TYPE_APPLICATION_WINDOW)

static gboolean
is_cancelled (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
set_verdict (SkAppAuditorWindow *self, const char *text, gboolean ok)
{
  GtkStyleContext *style = gtk_widget_get_style_context (GTK_WIDGET (self->verdict_label));

  gtk_label_set_text (self->verdict_label, text);
  gtk_style_context_remove_class (style, ok ? "sk-verdict-bad" : "sk-verdict-ok");
  gtk_style_context_add_class (style, ok ? "sk-verdict-ok" : "sk-verdict-bad");
}

/* ---- the table ------------------------------------------------------------------- */

static void
on_journal_shown (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppAuditorWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (!sk_dbus_journal_call_show_finish (SK_DBUS_JOURNAL (source), &text, result, &error))
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Reading the journal"), error);
      return;
    }
  g_autoptr (JsonObject) root = sk_app_json_parse_object (text, &error);
  JsonArray *entries = sk_app_json_array (root, "entries");
  if (entries == NULL)
    {
      if (error == NULL)
        g_set_error_literal (&error, SK_ERROR, SK_ERROR_IO_ERROR,
                             _ ("the service sent no journal entries"));
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Reading the journal"), error);
      return;
    }
  sk_app_refusal_bar_dismiss (self->refusal_bar);
  gtk_list_store_clear (self->journal_store);
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonNode *node = json_array_get_element (entries, i);
      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      JsonObject *e = json_node_get_object (node);
      const char *time = sk_app_json_string (e, "time");
      const char *login = sk_app_json_string (e, "login");
      const char *role = sk_app_json_string (e, "role");
      g_autofree char *shown_time = sk_app_format_time (time);
      g_autofree char *shown_login = sk_escape_untrusted (login != NULL ? login : "—");
      g_autofree char *shown_role = sk_app_format_role (role);
      g_autofree char *who = role != NULL ? g_strdup_printf ("%s (%s)", shown_login, shown_role)
                                          : g_strdup (shown_login);
      g_autofree char *event = sk_app_format_event (sk_app_json_string (e, "event"));
      g_autofree char *case_id = sk_escape_untrusted (sk_app_json_string (e, "case") ?: "");
      g_autofree char *outcome = sk_app_format_outcome (sk_app_json_string (e, "outcome"));
      g_autofree char *reason = sk_escape_untrusted (sk_app_json_string (e, "reason") ?: "");
      gtk_list_store_insert_with_values (
          self->journal_store, NULL, -1, COL_SEQ, sk_app_json_int (e, "seq", 0), COL_TIME,
          shown_time, COL_EVENT, event, COL_WHO, who, COL_CASE, case_id, COL_OUTCOME, outcome,
          COL_REASON, reason, COL_TIME_SORT, time != NULL ? time : "", -1);
    }
}

static void
add_filter (GVariantBuilder *b, const char *key, GtkEntry *entry)
{
  const char *text = gtk_entry_get_text (entry);
  if (text != NULL && *text != '\0')
    g_variant_builder_add (b, "{ss}", key, text);
}

static void
refresh (SkAppAuditorWindow *self)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{ss}"));
  add_filter (&b, "since", self->since_entry);
  add_filter (&b, "until", self->until_entry);
  add_filter (&b, "event", self->event_entry);
  add_filter (&b, "case", self->case_entry);
  add_filter (&b, "reason", self->reason_entry);
  sk_dbus_journal_call_show (sk_app_client_get_journal (self->client), g_variant_builder_end (&b),
                             self->cancellable, on_journal_shown, g_object_ref (self));
}

/* "Who" filters what is shown: the service's filter has no login. */
static gboolean
row_visible (GtkTreeModel *model, GtkTreeIter *iter, gpointer data)
{
  SkAppAuditorWindow *self = data;
  const char *who = gtk_entry_get_text (self->who_entry);
  g_autofree char *row_who = NULL;

  if (who == NULL || *who == '\0')
    return TRUE;
  gtk_tree_model_get (model, iter, COL_WHO, &row_who, -1);
  return row_who != NULL && strstr (row_who, who) != NULL;
}

static void
on_who_changed (SkAppAuditorWindow *self, GtkEditable *entry)
{
  gtk_tree_model_filter_refilter (self->journal_filter);
}

static void
on_filter_activate (SkAppAuditorWindow *self, GtkEntry *entry)
{
  refresh (self);
}

/* ---- verification ------------------------------------------------------------------- */

static void
on_verified (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppAuditorWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = sk_app_job_dialog_run_finish (result, &error);

  if (text == NULL)
    {
      if (is_cancelled (error))
        return;
      g_autofree char *detail = sk_app_refusal_detail (error);
      g_autofree char *verdict = NULL;
      if (g_error_matches (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID))
        /* TRANSLATORS: the service's message names the first row that fails. */
        verdict = g_strdup_printf (_ ("The journal FAILS verification: %s"), detail);
      else
        verdict = g_strdup_printf (_ ("The journal could not be verified: %s"), detail);
      set_verdict (self, verdict, FALSE);
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Verifying the journal"), error);
      return;
    }
  g_autoptr (JsonObject) r = sk_app_json_parse_object (text, NULL);
  gint64 n = sk_app_json_int (r, "entries", 0);
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *when = g_date_time_format (now, "%Y-%m-%d %H:%M");
  g_autofree char *count = g_strdup_printf ("%" G_GINT64_FORMAT, n);
  g_autofree char *verdict = g_strdup_printf (
      g_dngettext (GETTEXT_PACKAGE, "The journal is intact: %s entry verified at %s.",
                   "The journal is intact: all %s entries verified at %s.", (gulong)MAX (0, n)),
      count, when);
  /* The service checks the station's newest checkpoint too: a journal cut
   * short behind it would have failed. */
  gint64 cp_seq = sk_app_json_int (r, "checkpoint_seq", -1);
  if (cp_seq >= 0)
    {
      g_autofree char *seq = g_strdup_printf ("%" G_GINT64_FORMAT, cp_seq);
      g_autofree char *held =
          g_strdup_printf (_ ("It still holds the station's newest checkpoint, at entry %s."), seq);
      g_autofree char *both = g_strdup_printf ("%s %s", verdict, held);
      set_verdict (self, both, TRUE);
      return;
    }
  set_verdict (self, verdict, TRUE);
}

static void
on_verify_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppAuditorWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *job = NULL;

  if (!sk_dbus_journal_call_verify_finish (SK_DBUS_JOURNAL (source), &job, result, &error))
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Verifying the journal"), error);
      return;
    }
  sk_app_job_dialog_run_async (GTK_WINDOW (self), self->client, _ ("Verifying the journal"), job,
                               self->cancellable, on_verified, g_object_ref (self));
}

static void
on_verify (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppAuditorWindow *self = user_data;

  sk_dbus_journal_call_verify (sk_app_client_get_journal (self->client), self->cancellable,
                               on_verify_started, g_object_ref (self));
}

/* ---- export with checkpoint ------------------------------------------------------------ */

static gboolean
write_new_file (const char *path, const void *data, gsize len, GError **error)
{
  int fd = sk_app_create_file (path, error);
  if (fd < 0)
    return FALSE;
  g_autoptr (GOutputStream) out = g_unix_output_stream_new (fd, TRUE);
  return g_output_stream_write_all (out, data, len, NULL, NULL, error) &&
         g_output_stream_close (out, NULL, error);
}

/* TEXT: the export job's result, with the checkpoint that covers exactly
 * the exported rows; saved beside the record. */
static void
save_checkpoint (SkAppAuditorWindow *self, const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) r = sk_app_json_parse_object (text, &error);
  const char *checkpoint = sk_app_json_string (r, "checkpoint");
  const char *sig64 = sk_app_json_string (r, "signature_base64");
  if (checkpoint == NULL || sig64 == NULL)
    {
      if (error == NULL)
        g_set_error_literal (&error, SK_ERROR, SK_ERROR_IO_ERROR,
                             _ ("the service sent no signed checkpoint"));
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Signing a checkpoint"), error);
      return;
    }
  gsize sig_len = 0;
  g_autofree guchar *sig = g_base64_decode (sig64, &sig_len);
  g_autofree char *base = g_str_has_suffix (self->export_path, ".csv")
                              ? g_strndup (self->export_path, strlen (self->export_path) - 4)
                              : g_strdup (self->export_path);
  g_autofree char *cp_path = g_strconcat (base, ".checkpoint.json", NULL);
  g_autofree char *sig_path = g_strconcat (cp_path, ".sig", NULL);
  if (!write_new_file (cp_path, checkpoint, strlen (checkpoint), &error) ||
      !write_new_file (sig_path, sig, sig_len, &error))
    {
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Saving the checkpoint"), error);
      return;
    }
  g_autofree char *shown = sk_escape_untrusted (self->export_path);
  g_autofree char *verdict = g_strdup_printf (
      _ ("The record was exported to %s, with its signed checkpoint beside it."), shown);
  set_verdict (self, verdict, TRUE);
  /* The checkpoint's signing is a row of the journal too. */
  refresh (self);
}

/* An export that did not finish leaves no file of it behind: the file was
 * made by this window (O_EXCL), so removing it removes nobody else's. */
static void
remove_unfinished_export (SkAppAuditorWindow *self)
{
  if (self->export_path != NULL && g_unlink (self->export_path) != 0)
    g_debug ("removing the unfinished export: %s", g_strerror (errno));
}

static void
on_exported (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppAuditorWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = sk_app_job_dialog_run_finish (result, &error);

  if (text == NULL)
    {
      remove_unfinished_export (self);
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Exporting the record"), error);
      return;
    }
  save_checkpoint (self, text);
}

static void
on_export_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppAuditorWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *job = NULL;

  if (!sk_dbus_journal_call_export_finish (SK_DBUS_JOURNAL (source), &job, NULL, result, &error))
    {
      remove_unfinished_export (self);
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Exporting the record"), error);
      return;
    }
  sk_app_job_dialog_run_async (GTK_WINDOW (self), self->client, _ ("Exporting the record"), job,
                               self->cancellable, on_exported, g_object_ref (self));
}

static void
on_export_chosen (gpointer owner, const char *path)
{
  SkAppAuditorWindow *self = owner;
  g_autoptr (GError) error = NULL;

  int fd = sk_app_create_file (path, &error);
  if (fd < 0)
    {
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Exporting the record"), error);
      return;
    }
  g_free (self->export_path);
  self->export_path = g_strdup (path);
  g_autoptr (GUnixFDList) fds = sk_app_fd_list_take (fd);
  /* Japanese headers, local times in this desktop's zone. */
  g_autoptr (GTimeZone) zone = g_time_zone_new_local ();
  GVariantBuilder options;
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "headers", g_variant_new_string ("ja"));
  g_variant_builder_add (&options, "{sv}", "zone",
                         g_variant_new_string (g_time_zone_get_identifier (zone)));
  sk_dbus_journal_call_export (sk_app_client_get_journal (self->client), g_variant_new_handle (0),
                               g_variant_builder_end (&options), fds, self->cancellable,
                               on_export_started, g_object_ref (self));
}

static void
on_export (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppAuditorWindow *self = user_data;
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *name = g_date_time_format (now, "sekisho-journal-%Y%m%d-%H%M.csv");
  const SkAppChooser what = {
    .title = _ ("Export the Record"),
    .action = GTK_FILE_CHOOSER_ACTION_SAVE,
    .accept = _ ("_Export"),
    .current_name = name,
  };
  sk_app_choose (GTK_WINDOW (self), G_OBJECT (self), &what, on_export_chosen);
}

/* ---- a checkpoint kept off the station -------------------------------------------------- */

/* The verdict in the auditor's words: what the service found, by the
 * verdict's name (service/jp.sekisho.Station1.xml, VerifyCheckpoint). */
static char *
checkpoint_verdict_words (JsonObject *r, gboolean *out_ok)
{
  const char *verdict = sk_app_json_string (r, "verdict");
  g_autofree char *seq = g_strdup_printf ("%" G_GINT64_FORMAT, sk_app_json_int (r, "seq", 0));
  g_autofree char *bad =
      g_strdup_printf ("%" G_GINT64_FORMAT, sk_app_json_int (r, "first_bad_seq", 0));

  *out_ok = FALSE;
  if (g_strcmp0 (verdict, "matches") == 0 && sk_app_json_bool (r, "ok"))
    {
      *out_ok = TRUE;
      /* TRANSLATORS: the journal still holds the row the checkpoint signed. */
      return g_strdup_printf (_ ("The checkpoint matches: the journal still holds entry %s "
                                 "exactly as it was signed, and its chain is intact."),
                              seq);
    }
  if (g_strcmp0 (verdict, "differs") == 0)
    return g_strdup_printf (_ ("The journal DIFFERS from the checkpoint at entry %s: it was "
                               "rewritten after the checkpoint was signed."),
                            seq);
  if (g_strcmp0 (verdict, "truncated") == 0)
    return g_strdup_printf (_ ("The journal ENDS BEFORE entry %s of the checkpoint: it was "
                               "cut short after the checkpoint was signed."),
                            seq);
  if (g_strcmp0 (verdict, "signature") == 0)
    return g_strdup (_ ("The checkpoint's SIGNATURE IS BAD: the file was changed, or it was "
                        "not signed by this station's key."));
  if (g_strcmp0 (verdict, "other-station") == 0)
    return g_strdup (_ ("This checkpoint is NOT OF THIS STATION: it was signed for another "
                        "station's journal."));
  if (g_strcmp0 (verdict, "chain-broken") == 0)
    return g_strdup_printf (_ ("The journal itself FAILS verification at entry %s, so no "
                               "checkpoint can vouch for it."),
                            bad);
  if (g_strcmp0 (verdict, "malformed") == 0)
    return g_strdup (_ ("The file chosen is not a checkpoint of Sekisho."));
  /* A verdict this app does not know: the service's own words. */
  g_autofree char *message = sk_escape_untrusted (sk_app_json_string (r, "message") ?: "—");
  return g_strdup_printf (_ ("The checkpoint does not match: %s"), message);
}

static void
on_checkpoint_checked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppAuditorWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (!sk_dbus_journal_call_verify_checkpoint_finish (SK_DBUS_JOURNAL (source), &text, NULL, result,
                                                      &error))
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Checking a checkpoint"), error);
      return;
    }
  g_autoptr (JsonObject) r = sk_app_json_parse_object (text, &error);
  if (r == NULL)
    {
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Checking a checkpoint"), error);
      return;
    }
  sk_app_refusal_bar_dismiss (self->refusal_bar);
  gboolean ok = FALSE;
  g_autofree char *words = checkpoint_verdict_words (r, &ok);
  const char *reason = sk_app_json_string (r, "reason");
  g_autofree char *code = sk_escape_untrusted (reason != NULL ? reason : "");
  /* TRANSLATORS: a checkpoint's verdict, then its reason code. */
  g_autofree char *verdict =
      ok || reason == NULL ? g_strdup (words) : g_strdup_printf (_ ("%s (%s)"), words, code);
  set_verdict (self, verdict, ok);
}

static void
on_checkpoint_chosen (gpointer owner, const char *path)
{
  SkAppAuditorWindow *self = owner;
  g_autoptr (GError) error = NULL;
  g_autofree char *missing_sig = NULL;
  int cp_fd, sig_fd;

  /* The checkpoint and its signature beside it, each opened once from the
   * folder chosen, and handed to the service as descriptors. */
  if (!sk_app_open_signed (path, &cp_fd, &sig_fd, &missing_sig, &error))
    {
      if (missing_sig != NULL)
        {
          g_autofree char *shown = sk_escape_untrusted (missing_sig);
          g_clear_error (&error);
          g_set_error (&error, SK_ERROR, SK_ERROR_SIG_MISSING,
                       _ ("no signature file %s beside the checkpoint"), shown);
        }
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Checking a checkpoint"), error);
      return;
    }
  g_autoptr (GUnixFDList) fds = sk_app_fd_list_take2 (cp_fd, sig_fd);
  sk_dbus_journal_call_verify_checkpoint (
      sk_app_client_get_journal (self->client), g_variant_new_handle (0), g_variant_new_handle (1),
      fds, self->cancellable, on_checkpoint_checked, g_object_ref (self));
}

static void
on_check_checkpoint (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppAuditorWindow *self = user_data;
  const SkAppChooser what = {
    .title = _ ("Check a Checkpoint Kept off the Station"),
    .action = GTK_FILE_CHOOSER_ACTION_OPEN,
    .accept = _ ("_Check"),
    /* TRANSLATORS: the file chooser's filter; its .sig lies beside it. */
    .filter_name = _ ("Checkpoints (*.json)"),
    .filter_pattern = "*.json",
  };
  sk_app_choose (GTK_WINDOW (self), G_OBJECT (self), &what, on_checkpoint_chosen);
}

static void
on_refresh (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppAuditorWindow *self = user_data;

  if (self->register_view != NULL)
    sk_app_register_view_refresh (self->register_view);
  refresh (self);
}

static const GActionEntry win_entries[] = {
  { "refresh", on_refresh, NULL, NULL, NULL, { 0 } },
  { "verify", on_verify, NULL, NULL, NULL, { 0 } },
  { "export", on_export, NULL, NULL, NULL, { 0 } },
  { "checkpoint", on_check_checkpoint, NULL, NULL, NULL, { 0 } },
};

static void
sk_app_auditor_window_dispose (GObject *object)
{
  SkAppAuditorWindow *self = SK_APP_AUDITOR_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->client);
  G_OBJECT_CLASS (sk_app_auditor_window_parent_class)->dispose (object);
}

static void
sk_app_auditor_window_finalize (GObject *object)
{
  SkAppAuditorWindow *self = SK_APP_AUDITOR_WINDOW (object);

  g_clear_object (&self->cancellable);
  g_free (self->export_path);
  G_OBJECT_CLASS (sk_app_auditor_window_parent_class)->finalize (object);
}

static void
sk_app_auditor_window_class_init (SkAppAuditorWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sk_app_auditor_window_dispose;
  object_class->finalize = sk_app_auditor_window_finalize;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/jp/sekisho/Sekisho/sk-app-auditor-window.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, SkAppAuditorWindow, name)
  BIND (refusal_slot);
  gtk_widget_class_bind_template_child (widget_class, SkAppAuditorWindow, register_slot);
  BIND (verdict_label);
  BIND (journal_store);
  BIND (journal_filter);
  BIND (since_entry);
  BIND (until_entry);
  BIND (event_entry);
  BIND (who_entry);
  BIND (case_entry);
  BIND (reason_entry);
#undef BIND
  gtk_widget_class_bind_template_callback (widget_class, on_who_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_filter_activate);
}

static void
sk_app_auditor_window_init (SkAppAuditorWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->refusal_bar = sk_app_refusal_bar_new ();
  gtk_box_pack_start (self->refusal_slot, GTK_WIDGET (self->refusal_bar), FALSE, TRUE, 0);
  self->cancellable = g_cancellable_new ();
  gtk_tree_model_filter_set_visible_func (self->journal_filter, row_visible, self, NULL);
  g_action_map_add_action_entries (G_ACTION_MAP (self), win_entries, G_N_ELEMENTS (win_entries),
                                   self);
}

static void
on_register_refusal (SkAppRegisterView *view,
                     const char *doing,
                     const GError *error,
                     gpointer user_data)
{
  SkAppAuditorWindow *self = user_data;
  sk_app_refusal_bar_show_error (self->refusal_bar, doing, error);
}

GtkWidget *
sk_app_auditor_window_new (GtkApplication *app, SkAppClient *client)
{
  g_return_val_if_fail (GTK_IS_APPLICATION (app), NULL);
  g_return_val_if_fail (SK_APP_IS_CLIENT (client), NULL);

  SkAppAuditorWindow *self = g_object_new (SK_APP_TYPE_AUDITOR_WINDOW, "application", app, NULL);
  self->client = g_object_ref (client);
  self->register_view = sk_app_register_view_new (client, FALSE);
  gtk_box_pack_start (self->register_slot, GTK_WIDGET (self->register_view), TRUE, TRUE, 0);
  g_signal_connect_object (self->register_view, "refusal", G_CALLBACK (on_register_refusal), self,
                           0);
  refresh (self);
  return GTK_WIDGET (self);
}
