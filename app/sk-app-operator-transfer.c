/* sk-app-operator-transfer.c — import, hand-off, upload, take-in, approval, export */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <gio/gunixfdlist.h>
#include <glib/gi18n.h>

#include "sk-app-chooser.h"
#include "sk-app-files.h"
#include "sk-app-format.h"
#include "sk-app-job-dialog.h"
#include "sk-app-json.h"
#include "sk-app-operator-window-private.h"
#include "sk-app-refusal.h"
#include "sk-error.h"

static gboolean
is_cancelled (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
refresh (SkAppOperatorWindow *self)
{
  _sk_app_operator_window_refresh (self);
}

static void
set_status (SkAppOperatorWindow *self, const char *text)
{
  _sk_app_operator_window_set_status (self, text);
}

/* ---- import ------------------------------------------------------------------- */

/* The case a package went into: shown, and chosen. */
static void
imported_into (SkAppOperatorWindow *self, const char *case_id)
{
  g_free (self->case_id);
  self->case_id = g_strdup (case_id);
  g_autofree char *shown = sk_escape_untrusted (case_id);
  g_autofree char *status = g_strdup_printf (_ ("Package imported into case %s."), shown);
  set_status (self, status);
}

/* Media.Import answers {"packages": [{name, reason, message, case}]}: each
 * package of the medium imported (reason null) or refused on its own. */
static void
import_packages_done (SkAppOperatorWindow *self, JsonArray *packages)
{
  guint imported = 0, refused = 0;

  for (guint i = 0; i < json_array_get_length (packages); i++)
    {
      JsonNode *node = json_array_get_element (packages, i);
      JsonObject *p = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *reason = sk_app_json_string (p, "reason");
      if (p == NULL)
        continue;
      if (reason == NULL)
        {
          /* "case": the CASE object (its "id"), or the id itself. */
          JsonNode *c = json_object_get_member (p, "case");
          const char *case_id = c != NULL && JSON_NODE_HOLDS_OBJECT (c)
                                    ? sk_app_json_string (json_node_get_object (c), "id")
                                    : sk_app_json_string (p, "case");
          if (case_id != NULL)
            imported_into (self, case_id);
          imported++;
          continue;
        }
      SkErrorCode code = SK_ERROR_IO_ERROR;
      if (!sk_error_code_from_reason (reason, &code))
        code = SK_ERROR_IO_ERROR;
      const char *message = sk_app_json_string (p, "message");
      const char *name = sk_app_json_string (p, "name");
      g_autofree char *shown_name = sk_escape_untrusted (name != NULL ? name : "");
      g_autofree char *shown_message = sk_escape_untrusted (message != NULL ? message : "");
      g_autoptr (GError) error = g_error_new (SK_ERROR, code, "%s: %s", shown_name, shown_message);
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Importing the package"), error);
      refused++;
    }
  if (imported == 0 && refused == 0)
    set_status (self, _ ("The medium holds no package to import."));
  else if (refused > 0 && imported > 0)
    {
      /* TRANSLATORS: packages imported, then packages refused, from one medium. */
      g_autofree char *status = g_strdup_printf (_ ("%u imported, %u refused."), imported, refused);
      set_status (self, status);
    }
}

static void
on_import_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppOperatorWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = sk_app_job_dialog_run_finish (result, &error);

  if (text == NULL)
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Importing the package"), error);
      refresh (self);
      return;
    }
  sk_app_refusal_bar_dismiss (self->refusal_bar);
  g_autoptr (JsonObject) c = sk_app_json_parse_object (text, NULL);
  JsonArray *packages = sk_app_json_array (c, "packages");
  const char *id = sk_app_json_string (c, "id");
  if (packages != NULL)
    import_packages_done (self, packages);
  else if (id != NULL)
    imported_into (self, id);
  refresh (self);
}

static void
on_import_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppOperatorWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *job = NULL;

  if (!sk_dbus_cases_call_import_finish (SK_DBUS_CASES (source), &job, NULL, result, &error))
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Importing the package"), error);
      return;
    }
  sk_app_job_dialog_run_async (GTK_WINDOW (self), self->client, _ ("Importing the package"), job,
                               self->cancellable, on_import_done, g_object_ref (self));
}

static void
on_import_chosen (gpointer owner, const char *path)
{
  SkAppOperatorWindow *self = owner;
  g_autofree char *name = NULL;
  g_autoptr (GError) error = NULL;

  int fd = sk_app_open_parent (path, &name, &error);
  if (fd < 0)
    {
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Importing the package"), error);
      return;
    }
  g_autoptr (GUnixFDList) fds = sk_app_fd_list_take (fd);
  sk_dbus_cases_call_import (sk_app_client_get_cases (self->client), g_variant_new_handle (0), name,
                             fds, self->cancellable, on_import_started, g_object_ref (self));
}

static void
on_import_file (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppOperatorWindow *self = user_data;
  const SkAppChooser what = {
    .title = _ ("Import a Package"),
    .action = GTK_FILE_CHOOSER_ACTION_OPEN,
    .accept = _ ("_Import"),
    .filter_name = _ ("Sekisho packages (*.tar.gpg)"),
    .filter_pattern = "*.tar.gpg",
  };
  sk_app_choose (GTK_WINDOW (self), G_OBJECT (self), &what, on_import_chosen);
}

/* From the chosen registered medium: the service reads it (once) into the
 * store; a medium pulled meanwhile ends the job with media-removed. */
static void
on_medium_import_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppOperatorWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *job = NULL;

  if (!sk_dbus_media_call_import_finish (SK_DBUS_MEDIA (source), &job, result, &error))
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Importing the package"), error);
      return;
    }
  sk_app_job_dialog_run_async (GTK_WINDOW (self), self->client, _ ("Importing the package"), job,
                               self->cancellable, on_import_done, g_object_ref (self));
}

static void
on_import (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppOperatorWindow *self = user_data;
  const SkAppMedium *medium = sk_app_media_panel_get_chosen (self->media_panel);

  if (medium == NULL || !sk_app_medium_usable (medium))
    return;
  sk_dbus_media_call_import (sk_app_client_get_media (self->client), medium->id, self->cancellable,
                             on_medium_import_started, g_object_ref (self));
}

/* ---- hand-off and upload ---------------------------------------------------------- */

static void
on_hand_off_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppOperatorWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = sk_app_job_dialog_run_finish (result, &error);

  if (text == NULL)
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Handing the files to the browser"),
                                       error);
      refresh (self);
      return;
    }
  sk_app_refusal_bar_dismiss (self->refusal_bar);
  g_autoptr (JsonObject) r = sk_app_json_parse_object (text, NULL);
  JsonArray *paths = sk_app_json_array (r, "paths");
  if (paths != NULL && json_array_get_length (paths) > 0)
    {
      const char *first = json_array_get_string_element (paths, 0);
      g_clear_pointer (&self->handoff_folder, g_free);
      self->handoff_folder = first != NULL ? g_path_get_dirname (first) : NULL;
    }
  if (self->handoff_folder != NULL)
    {
      g_autofree char *shown = sk_escape_untrusted (self->handoff_folder);
      g_autofree char *text_path = g_strdup_printf (
          _ ("Upload these files from %s with the browser, then confirm the upload."), shown);
      gtk_label_set_text (self->handoff_path_label, text_path);
      g_autoptr (GDateTime) now = g_date_time_new_now_local ();
      const char *deadline = sk_app_json_string (r, "deadline");
      if (deadline != NULL)
        {
          g_autofree char *countdown = sk_app_format_countdown (deadline, now, NULL);
          g_autofree char *line =
              g_strdup_printf (_ ("The files are deleted from the folder at %s."), countdown);
          gtk_label_set_text (self->handoff_deadline_label, line);
        }
      else
        gtk_label_set_text (self->handoff_deadline_label,
                            _ ("The files are deleted from the folder after the policy's few "
                               "minutes; hand them off again if the time runs out."));
    }
  refresh (self);
}

static void
on_hand_off_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppOperatorWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *job = NULL;

  if (!sk_dbus_cases_call_hand_off_finish (SK_DBUS_CASES (source), &job, result, &error))
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Handing the files to the browser"),
                                       error);
      return;
    }
  sk_app_job_dialog_run_async (GTK_WINDOW (self), self->client,
                               _ ("Handing the files to the browser"), job, self->cancellable,
                               on_hand_off_done, g_object_ref (self));
}

static void
on_hand_off (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppOperatorWindow *self = user_data;

  if (self->case_id == NULL)
    return;
  sk_dbus_cases_call_hand_off (sk_app_client_get_cases (self->client), self->case_id,
                               self->cancellable, on_hand_off_started, g_object_ref (self));
}

static void
on_open_folder (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppOperatorWindow *self = user_data;
  g_autoptr (GError) error = NULL;

  if (self->handoff_folder == NULL)
    return;
  g_autofree char *uri = g_filename_to_uri (self->handoff_folder, NULL, &error);
  if (uri == NULL || !gtk_show_uri_on_window (GTK_WINDOW (self), uri, GDK_CURRENT_TIME, &error))
    sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Opening the upload folder"), error);
}

static void
on_confirmed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppOperatorWindow) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!sk_dbus_cases_call_confirm_upload_finish (SK_DBUS_CASES (source), result, &error))
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Confirming the upload"), error);
      return;
    }
  sk_app_refusal_bar_dismiss (self->refusal_bar);
  set_status (self, _ ("Upload confirmed; the files were deleted from the upload folder."));
  g_clear_pointer (&self->handoff_folder, g_free);
  gtk_label_set_text (self->handoff_path_label, _ ("Uploaded."));
  gtk_label_set_text (self->handoff_deadline_label, "");
  refresh (self);
}

static void
on_confirm_upload (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppOperatorWindow *self = user_data;

  if (self->case_id == NULL)
    return;
  sk_dbus_cases_call_confirm_upload (sk_app_client_get_cases (self->client), self->case_id,
                                     self->cancellable, on_confirmed, g_object_ref (self));
}

/* ---- taking in results, one download after the other -------------------------------- */

static void
take_in_next (SkAppOperatorWindow *self);

static void
add_verdict (SkAppOperatorWindow *self, const char *name, const char *verdict, const char *why)
{
  g_autofree char *shown = sk_escape_untrusted (name);
  gtk_list_store_insert_with_values (self->verdicts_store, NULL, 0, 0, shown, 1, verdict, 2, why,
                                     -1);
}

static void
on_take_in_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppOperatorWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = sk_app_job_dialog_run_finish (result, &error);
  g_autofree char *name = self->take_in_names->len > 0
                              ? g_strdup (g_ptr_array_index (self->take_in_names, 0))
                              : g_strdup ("");

  if (self->take_in_names->len > 0)
    g_ptr_array_remove_index (self->take_in_names, 0);
  if (text == NULL)
    {
      if (is_cancelled (error))
        {
          g_ptr_array_set_size (self->take_in_names, 0);
          refresh (self);
          return;
        }
      add_verdict (self, name, _ ("Refused"),
                   sk_error_code_to_reason (sk_app_refusal_code (error)));
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Taking in a result"), error);
    }
  else
    {
      g_autoptr (JsonObject) r = sk_app_json_parse_object (text, NULL);
      g_autofree char *records =
          g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d record", "%d records",
                                        (gulong)MAX (0, sk_app_json_int (r, "records", 0))),
                           (int)sk_app_json_int (r, "records", 0));
      /* SKI03 under dual control: a second operator must approve it. */
      g_autofree char *why =
          sk_app_json_bool (r, "needs_approval")
              ? g_strconcat (records, _ (" — needs a second operator's approval"), NULL)
              : g_strdup (records);
      add_verdict (self, name, _ ("Accepted"), why);
    }
  take_in_next (self);
}

static void
on_take_in_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppOperatorWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *job = NULL;

  if (!sk_dbus_cases_call_take_in_finish (SK_DBUS_CASES (source), &job, result, &error))
    {
      if (is_cancelled (error))
        return;
      const char *name =
          self->take_in_names->len > 0 ? g_ptr_array_index (self->take_in_names, 0) : "";
      add_verdict (self, name, _ ("Refused"),
                   sk_error_code_to_reason (sk_app_refusal_code (error)));
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Taking in a result"), error);
      if (self->take_in_names->len > 0)
        g_ptr_array_remove_index (self->take_in_names, 0);
      take_in_next (self);
      return;
    }
  sk_app_job_dialog_run_async (GTK_WINDOW (self), self->client, _ ("Taking in a result"), job,
                               self->cancellable, on_take_in_done, g_object_ref (self));
}

static void
take_in_next (SkAppOperatorWindow *self)
{
  if (self->take_in_names->len == 0)
    {
      guint n = (guint)gtk_tree_model_iter_n_children (GTK_TREE_MODEL (self->verdicts_store), NULL);
      g_autofree char *status =
          g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u result file checked; see the verdict.",
                                        "%u result files checked; see the verdicts.", n),
                           n);
      set_status (self, status);
      refresh (self);
      return;
    }
  sk_dbus_cases_call_take_in (sk_app_client_get_cases (self->client),
                              g_ptr_array_index (self->take_in_names, 0), self->cancellable,
                              on_take_in_started, g_object_ref (self));
}

static void
on_downloads_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppOperatorWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) names = NULL;

  if (!sk_dbus_cases_call_list_downloads_finish (SK_DBUS_CASES (source), &names, result, &error))
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Taking in results"), error);
      return;
    }
  gtk_list_store_clear (self->verdicts_store);
  if (names == NULL || names[0] == NULL)
    {
      set_status (self, _ ("The download folder holds no result file."));
      return;
    }
  for (char **n = names; *n != NULL; n++)
    g_ptr_array_add (self->take_in_names, g_strdup (*n));
  take_in_next (self);
}

static void
on_take_in (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppOperatorWindow *self = user_data;

  if (self->take_in_names->len > 0)
    return;
  sk_dbus_cases_call_list_downloads (sk_app_client_get_cases (self->client), self->cancellable,
                                     on_downloads_listed, g_object_ref (self));
}

/* ---- approval (dual control) ------------------------------------------------------- */

static void
on_approved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppOperatorWindow) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!sk_dbus_cases_call_approve_finish (SK_DBUS_CASES (source), result, &error))
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Approving the file"), error);
      return;
    }
  sk_app_refusal_bar_dismiss (self->refusal_bar);
  set_status (self, _ ("The file was approved."));
  refresh (self);
}

static void
on_approve (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppOperatorWindow *self = user_data;
  GtkTreeModel *model = NULL;
  GtkTreeIter iter;
  g_autofree char *name = NULL;

  if (self->case_id == NULL || !gtk_tree_selection_get_selected (
                                   gtk_tree_view_get_selection (self->files_view), &model, &iter))
    return;
  gtk_tree_model_get (model, &iter, FILE_COL_RAW_NAME, &name, -1);
  if (name == NULL)
    return;
  sk_dbus_cases_call_approve (sk_app_client_get_cases (self->client), self->case_id, name,
                              self->cancellable, on_approved, g_object_ref (self));
}

/* ---- export ---------------------------------------------------------------------------- */

static void
on_export_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppOperatorWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = sk_app_job_dialog_run_finish (result, &error);

  if (text == NULL)
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Exporting to the medium"), error);
      refresh (self);
      return;
    }
  sk_app_refusal_bar_dismiss (self->refusal_bar);
  g_autoptr (JsonObject) r = sk_app_json_parse_object (text, NULL);
  const char *package = sk_app_json_string (r, "package");
  const char *number = sk_app_json_string (r, "number");
  const char *readback = sk_app_json_string (r, "readback");
  g_autofree char *shown = sk_escape_untrusted (package != NULL ? package : "");
  /* Only "match" proves the export: anything else is told as the
   * read-back refusal, never as a success. */
  if (readback != NULL && !g_str_equal (readback, "match"))
    {
      g_autofree char *shown_readback = sk_escape_untrusted (readback);
      g_autoptr (GError) mismatch =
          g_error_new (SK_ERROR, SK_ERROR_MEDIA_READBACK_MISMATCH, "%s: %s", shown, shown_readback);
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Exporting to the medium"), mismatch);
      refresh (self);
      return;
    }
  g_autofree char *status = NULL;
  if (number != NULL)
    {
      g_autofree char *shown_number = sk_escape_untrusted (number);
      /* TRANSLATORS: the package, then the medium's 管理番号. */
      status = g_strdup_printf (_ ("Exported %s to the medium %s; it was read back from the "
                                   "medium and matches."),
                                shown, shown_number);
    }
  else
    status =
        g_strdup_printf (_ ("Exported %s; it was read back from the medium and matches."), shown);
  set_status (self, status);
  refresh (self);
}

static void
on_export_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppOperatorWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *job = NULL;

  if (!sk_dbus_cases_call_export_finish (SK_DBUS_CASES (source), &job, NULL, result, &error))
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Exporting to the medium"), error);
      return;
    }
  sk_app_job_dialog_run_async (GTK_WINDOW (self), self->client, _ ("Exporting to the medium"), job,
                               self->cancellable, on_export_done, g_object_ref (self));
}

static void
on_export_chosen (gpointer owner, const char *path)
{
  SkAppOperatorWindow *self = owner;
  g_autoptr (GError) error = NULL;

  if (self->case_id == NULL)
    return;
  int fd = sk_app_open_folder (path, &error);
  if (fd < 0)
    {
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Exporting to the medium"), error);
      return;
    }
  g_autoptr (GUnixFDList) fds = sk_app_fd_list_take (fd);
  sk_dbus_cases_call_export (sk_app_client_get_cases (self->client), self->case_id,
                             g_variant_new_handle (0), fds, self->cancellable, on_export_started,
                             g_object_ref (self));
}

static void
on_export_folder (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppOperatorWindow *self = user_data;
  const SkAppChooser what = {
    .title = _ ("Export to a Folder"),
    .action = GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
    .accept = _ ("_Export"),
  };
  sk_app_choose (GTK_WINDOW (self), G_OBJECT (self), &what, on_export_chosen);
}

static void
on_medium_export_started (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppOperatorWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *job = NULL;

  if (!sk_dbus_media_call_export_finish (SK_DBUS_MEDIA (source), &job, result, &error))
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Exporting to the medium"), error);
      return;
    }
  sk_app_job_dialog_run_async (GTK_WINDOW (self), self->client, _ ("Exporting to the medium"), job,
                               self->cancellable, on_export_done, g_object_ref (self));
}

static void
on_export (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppOperatorWindow *self = user_data;
  const SkAppMedium *medium = sk_app_media_panel_get_chosen (self->media_panel);

  if (self->case_id == NULL || medium == NULL || !sk_app_medium_usable (medium))
    return;
  sk_dbus_media_call_export (sk_app_client_get_media (self->client), self->case_id, medium->id,
                             self->cancellable, on_medium_export_started, g_object_ref (self));
}

const GActionEntry _sk_app_operator_transfer_entries[] = {
  { "import", on_import, NULL, NULL, NULL, { 0 } },
  { "import-file", on_import_file, NULL, NULL, NULL, { 0 } },
  { "hand-off", on_hand_off, NULL, NULL, NULL, { 0 } },
  { "open-folder", on_open_folder, NULL, NULL, NULL, { 0 } },
  { "confirm-upload", on_confirm_upload, NULL, NULL, NULL, { 0 } },
  { "take-in", on_take_in, NULL, NULL, NULL, { 0 } },
  { "approve", on_approve, NULL, NULL, NULL, { 0 } },
  { "export", on_export, NULL, NULL, NULL, { 0 } },
  { "export-folder", on_export_folder, NULL, NULL, NULL, { 0 } },
};
const gsize _sk_app_operator_transfer_n_entries = G_N_ELEMENTS (_sk_app_operator_transfer_entries);
