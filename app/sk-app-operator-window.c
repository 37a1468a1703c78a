/* sk-app-operator-window.c — cases, files, hand-off, take-in, approval, export */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <gio/gunixfdlist.h>
#include <glib/gi18n.h>

#include "sk-app-files.h"
#include "sk-app-format.h"
#include "sk-app-job-dialog.h"
#include "sk-app-json.h"
#include "sk-app-media-panel.h"
#include "sk-app-operator-window-private.h"
#include "sk-app-refusal-bar.h"
#include "sk-app-refusal.h"
#include "sk-error.h"

/* How often the countdowns move on. */
#define COUNTDOWN_SECONDS 30

enum
{
  CASE_COL_ID,
  CASE_COL_WORKFLOW,
  CASE_COL_STATE,
  CASE_COL_DEADLINE,
  CASE_COL_OVERDUE,
  CASE_COL_RAW_ID,
  CASE_COL_DEADLINE_SORT,
  CASE_COL_ICON,
  CASE_COL_SERVICE_OVERDUE,
};

G_DEFINE_FINAL_TYPE (SkAppOperatorWindow, sk_app_operator_window, GTK_TYPE_APPLICATION_WINDOW)

static void
refresh (SkAppOperatorWindow *self);
static void
show_case (SkAppOperatorWindow *self, const char *case_id);

static gboolean
is_cancelled (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
set_enabled (SkAppOperatorWindow *self, const char *action, gboolean enabled)
{
  GAction *a = g_action_map_lookup_action (G_ACTION_MAP (self), action);
  g_simple_action_set_enabled (G_SIMPLE_ACTION (a), enabled);
}

static gboolean
state_is (const char *state, const char *const *allowed)
{
  return state != NULL && g_strv_contains (allowed, state);
}

/* The actions follow the case's state, as the service's pipeline allows
 * them (core/sk-pipeline.c); the service checks again. */
static void
update_actions (SkAppOperatorWindow *self)
{
  static const char *const hand_off[] = { "imported", "handed-off", NULL };
  static const char *const confirm[] = { "handed-off", NULL };
  static const char *const export[] = { "results-in", "exported", NULL };
  GtkTreeModel *model = NULL;
  GtkTreeIter iter;
  gboolean needs_approval = FALSE;

  if (gtk_tree_selection_get_selected (gtk_tree_view_get_selection (self->files_view), &model,
                                       &iter))
    gtk_tree_model_get (model, &iter, FILE_COL_NEEDS_APPROVAL, &needs_approval, -1);
  set_enabled (self, "hand-off", state_is (self->case_state, hand_off));
  set_enabled (self, "confirm-upload", state_is (self->case_state, confirm));
  const SkAppMedium *medium =
      self->media_panel != NULL ? sk_app_media_panel_get_chosen (self->media_panel) : NULL;
  gboolean medium_ok = medium != NULL && sk_app_medium_usable (medium);
  set_enabled (self, "import", medium_ok);
  set_enabled (self, "export", medium_ok && state_is (self->case_state, export));
  set_enabled (self, "export-folder", state_is (self->case_state, export));
  set_enabled (self, "approve", self->case_id != NULL && needs_approval);
  set_enabled (self, "open-folder", self->handoff_folder != NULL);
}

static void
set_status (SkAppOperatorWindow *self, const char *text)
{
  gtk_label_set_text (self->status_label, text);
}

/* ---- the list of cases ------------------------------------------------------ */

static void
fill_countdown (SkAppOperatorWindow *self, GtkTreeIter *iter, const char *deadline, GDateTime *now)
{
  gboolean overdue = FALSE, service_overdue = FALSE;
  /* The list shows the time left; the case page shows the date as well. */
  g_autofree char *text = sk_app_format_time_left (deadline, now, &overdue);

  /* The service's own verdict (no result after the policy's days) stays,
   * whatever the clock says about the deadline. */
  gtk_tree_model_get (GTK_TREE_MODEL (self->cases_store), iter, CASE_COL_SERVICE_OVERDUE,
                      &service_overdue, -1);
  overdue = overdue || service_overdue;
  gint64 sort = G_MAXINT64;
  g_autoptr (GDateTime) t = deadline != NULL ? g_date_time_new_from_iso8601 (deadline, NULL) : NULL;

  if (t != NULL)
    sort = g_date_time_to_unix (t);
  gtk_list_store_set (self->cases_store, iter, CASE_COL_DEADLINE, text, CASE_COL_OVERDUE, overdue,
                      CASE_COL_DEADLINE_SORT, sort, CASE_COL_ICON,
                      overdue ? "dialog-warning-symbolic" : NULL, -1);
}

static void
on_cases_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppOperatorWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (!sk_dbus_cases_call_list_finish (SK_DBUS_CASES (source), &text, result, &error))
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Listing the cases"), error);
      return;
    }
  g_autoptr (JsonObject) root = sk_app_json_parse_object (text, &error);
  JsonArray *cases = sk_app_json_array (root, "cases");
  if (cases == NULL)
    {
      if (error == NULL)
        g_set_error_literal (&error, SK_ERROR, SK_ERROR_IO_ERROR,
                             _ ("the service sent no list of cases"));
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Listing the cases"), error);
      return;
    }

  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  GtkTreeIter selected_iter;
  gboolean have_selected = FALSE;
  /* Refilling the list must not move the person's choice of case. */
  self->filling = TRUE;
  gtk_list_store_clear (self->cases_store);
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonNode *node = json_array_get_element (cases, i);
      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      JsonObject *c = json_node_get_object (node);
      const char *id = sk_app_json_string (c, "id");
      if (id == NULL)
        continue;
      g_autofree char *shown_id = sk_escape_untrusted (id);
      g_autofree char *workflow = sk_app_format_workflow (sk_app_json_string (c, "workflow"));
      g_autofree char *state = sk_app_format_case_state (sk_app_json_string (c, "state"));
      GtkTreeIter iter;
      gtk_list_store_insert_with_values (self->cases_store, &iter, -1, CASE_COL_ID, shown_id,
                                         CASE_COL_WORKFLOW, workflow, CASE_COL_STATE, state,
                                         CASE_COL_RAW_ID, id, CASE_COL_SERVICE_OVERDUE,
                                         sk_app_json_bool (c, "overdue"), -1);
      fill_countdown (self, &iter, sk_app_json_next_deadline (c, NULL), now);
      if (self->case_id != NULL && g_str_equal (self->case_id, id))
        {
          selected_iter = iter;
          have_selected = TRUE;
        }
    }
  if (have_selected)
    {
      g_autoptr (GtkTreePath) path =
          gtk_tree_model_get_path (GTK_TREE_MODEL (self->cases_store), &selected_iter);
      gtk_tree_view_set_cursor (self->cases_view, path, NULL, FALSE);
    }
  self->filling = FALSE;
  g_autofree char *count = g_strdup_printf (
      g_dngettext (GETTEXT_PACKAGE, "%u case", "%u cases", json_array_get_length (cases)),
      json_array_get_length (cases));
  /* The count only where nothing more useful is said (an import's case,
   * a medium inserted, …). */
  if (*gtk_label_get_text (self->status_label) == '\0')
    set_status (self, count);
}

static void
refresh (SkAppOperatorWindow *self)
{
  sk_dbus_cases_call_list (sk_app_client_get_cases (self->client), self->cancellable,
                           on_cases_listed, g_object_ref (self));
  if (self->case_id != NULL)
    show_case (self, self->case_id);
}

/* One line per deadline of the case shown, in local time (JST on the
 * terminal) with the time left; TRUE when one has passed. */
static gboolean
render_case_deadlines (SkAppOperatorWindow *self, GDateTime *now)
{
  g_autoptr (GString) text = g_string_new (NULL);
  gboolean any_overdue = FALSE;

  for (guint i = 0; i + 1 < self->case_deadlines->len; i += 2)
    {
      const char *what = g_ptr_array_index (self->case_deadlines, i);
      const char *at = g_ptr_array_index (self->case_deadlines, i + 1);
      gboolean overdue = FALSE;
      g_autofree char *countdown = sk_app_format_countdown (at, now, &overdue);
      any_overdue = any_overdue || overdue;
      if (text->len > 0)
        g_string_append_c (text, '\n');
      if (*what != '\0')
        {
          g_autofree char *words = sk_app_format_deadline_what (what);
          /* TRANSLATORS: what ends at a deadline, then the deadline and time left. */
          g_string_append_printf (text, _ ("%s: %s"), words, countdown);
        }
      else
        g_string_append (text, countdown);
    }
  gtk_label_set_text (self->case_deadline_label, text->len > 0 ? text->str : "—");
  return any_overdue;
}

static gboolean
on_countdown (gpointer data)
{
  SkAppOperatorWindow *self = data;
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();

  /* Deadlines are kept as sort keys (Unix seconds): re-render from them. */
  GtkTreeIter iter;
  gboolean valid = gtk_tree_model_get_iter_first (GTK_TREE_MODEL (self->cases_store), &iter);
  while (valid)
    {
      gint64 sort = G_MAXINT64;
      gtk_tree_model_get (GTK_TREE_MODEL (self->cases_store), &iter, CASE_COL_DEADLINE_SORT, &sort,
                          -1);
      if (sort != G_MAXINT64)
        {
          g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (sort);
          g_autofree char *iso = t != NULL ? g_date_time_format_iso8601 (t) : NULL;
          fill_countdown (self, &iter, iso, now);
        }
      valid = gtk_tree_model_iter_next (GTK_TREE_MODEL (self->cases_store), &iter);
    }
  render_case_deadlines (self, now);
  return G_SOURCE_CONTINUE;
}

/* ---- one case ----------------------------------------------------------------- */

/* Where the case stands with the browser, from its state. */
static const char *
handoff_words (const char *state)
{
  if (g_strcmp0 (state, "handed-off") == 0)
    return _ ("Handed off to the browser; not uploaded yet.");
  if (g_strcmp0 (state, "interrupted") == 0)
    return _ ("The case was interrupted: nothing is handed off.");
  if (state != NULL && !g_str_equal (state, "imported"))
    return _ ("Uploaded.");
  return _ ("Not handed off yet.");
}

static void
fill_case (SkAppOperatorWindow *self, JsonObject *c)
{
  const char *id = sk_app_json_string (c, "id");
  g_autofree char *shown_id = sk_escape_untrusted (id != NULL ? id : "");
  g_autofree char *workflow = sk_app_format_workflow (sk_app_json_string (c, "workflow"));
  g_autofree char *state = sk_app_format_case_state (sk_app_json_string (c, "state"));
  g_autofree char *created = sk_app_format_time (sk_app_json_string (c, "created"));
  g_autoptr (GDateTime) now = g_date_time_new_now_local ();
  gboolean overdue = FALSE;

  g_free (self->case_state);
  self->case_state = g_strdup (sk_app_json_string (c, "state"));
  g_ptr_array_set_size (self->case_deadlines, 0);
  JsonArray *deadlines = sk_app_json_array (c, "deadlines");
  for (guint i = 0; deadlines != NULL && i < json_array_get_length (deadlines); i++)
    {
      JsonNode *node = json_array_get_element (deadlines, i);
      JsonObject *d = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *at = sk_app_json_string (d, "deadline");
      /* A deadline that is no time (the service's "?" for one beyond its
       * clock's range) is no deadline to count down to. */
      g_autoptr (GDateTime) t = at != NULL ? g_date_time_new_from_iso8601 (at, NULL) : NULL;
      if (t == NULL)
        continue;
      const char *what = sk_app_json_string (d, "what");
      g_ptr_array_add (self->case_deadlines, g_strdup (what != NULL ? what : ""));
      g_ptr_array_add (self->case_deadlines, g_strdup (at));
    }
  if (self->case_deadlines->len == 0 && sk_app_json_string (c, "deadline") != NULL)
    {
      g_ptr_array_add (self->case_deadlines, g_strdup (""));
      g_ptr_array_add (self->case_deadlines, g_strdup (sk_app_json_string (c, "deadline")));
    }

  /* The hand-off box follows the case's state, unless this window handed
   * it off and shows the folder. */
  if (self->handoff_folder == NULL)
    gtk_label_set_text (self->handoff_path_label, handoff_words (self->case_state));

  gtk_label_set_text (self->case_id_label, shown_id);
  gtk_label_set_text (self->case_workflow_label, workflow);
  gtk_label_set_text (self->case_state_label, state);
  overdue = render_case_deadlines (self, now) || sk_app_json_bool (c, "overdue");
  gtk_label_set_text (self->case_created_label, created);
  GtkStyleContext *style = gtk_widget_get_style_context (GTK_WIDGET (self->case_deadline_label));
  if (overdue)
    gtk_style_context_add_class (style, "sk-overdue");
  else
    gtk_style_context_remove_class (style, "sk-overdue");

  gtk_list_store_clear (self->files_store);
  JsonArray *files = sk_app_json_array (c, "files");
  for (guint i = 0; files != NULL && i < json_array_get_length (files); i++)
    {
      JsonNode *node = json_array_get_element (files, i);
      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      JsonObject *f = json_node_get_object (node);
      const char *name = sk_app_json_string (f, "name");
      const char *kind = sk_app_json_string (f, "kind");
      const char *sha = sk_app_json_string (f, "sha256");
      g_autofree char *shown_name = sk_escape_untrusted (name != NULL ? name : "");
      g_autofree char *shown_kind = sk_escape_untrusted (kind != NULL ? kind : "");
      g_autofree char *shown_sha = sk_escape_untrusted (sha != NULL ? sha : "");
      g_autofree char *size = sk_app_format_size ((guint64)MAX (0, sk_app_json_int (f, "size", 0)));
      g_autofree char *fstate = sk_app_format_file_state (sk_app_json_string (f, "state"));
      gboolean needs = sk_app_json_bool (f, "needs_approval");
      g_autofree char *shown_state =
          needs ? g_strdup_printf (_ ("%s (needs approval)"), fstate) : g_strdup (fstate);
      gtk_list_store_insert_with_values (
          self->files_store, NULL, -1, FILE_COL_KIND, shown_kind, FILE_COL_NAME, shown_name,
          FILE_COL_RECORDS, sk_app_json_int (f, "records", 0), FILE_COL_SIZE, size, FILE_COL_SHA256,
          shown_sha, FILE_COL_STATE, shown_state, FILE_COL_NEEDS_APPROVAL, needs, FILE_COL_RAW_NAME,
          name, -1);
    }
  gtk_stack_set_visible_child_name (self->case_stack, "case");
  update_actions (self);
}

static void
on_case_shown (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppOperatorWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (!sk_dbus_cases_call_show_finish (SK_DBUS_CASES (source), &text, result, &error))
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Showing the case"), error);
      return;
    }
  g_autoptr (JsonObject) c = sk_app_json_parse_object (text, &error);
  if (c == NULL)
    {
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Showing the case"), error);
      return;
    }
  /* Only the case still chosen is shown. */
  const char *id = sk_app_json_string (c, "id");
  if (self->case_id != NULL && id != NULL && g_str_equal (self->case_id, id))
    fill_case (self, c);
}

static void
show_case (SkAppOperatorWindow *self, const char *case_id)
{
  sk_dbus_cases_call_show (sk_app_client_get_cases (self->client), case_id, self->cancellable,
                           on_case_shown, g_object_ref (self));
}

static void
on_case_selected (SkAppOperatorWindow *self, GtkTreeSelection *selection)
{
  GtkTreeModel *model = NULL;
  GtkTreeIter iter;
  g_autofree char *id = NULL;

  if (self->filling)
    return;
  if (gtk_tree_selection_get_selected (selection, &model, &iter))
    gtk_tree_model_get (model, &iter, CASE_COL_RAW_ID, &id, -1);
  if (id == NULL)
    return;
  if (g_strcmp0 (id, self->case_id) != 0)
    {
      g_clear_pointer (&self->handoff_folder, g_free);
      gtk_label_set_text (self->handoff_path_label, _ ("Not handed off yet."));
      gtk_label_set_text (self->handoff_deadline_label, "");
    }
  g_free (self->case_id);
  self->case_id = g_steal_pointer (&id);
  show_case (self, self->case_id);
}

static void
on_file_selected (SkAppOperatorWindow *self, GtkTreeSelection *selection)
{
  update_actions (self);
}

static void
on_case_changed (SkDbusCases *cases, const char *case_id, gpointer user_data)
{
  refresh (SK_APP_OPERATOR_WINDOW (user_data));
}

static void
on_refresh (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppOperatorWindow *self = user_data;

  sk_app_media_panel_refresh (self->media_panel);
  refresh (self);
}

/* ---- media in and out ------------------------------------------------------------------ */

static void
on_media_changed (SkAppMediaPanel *panel, gpointer user_data)
{
  update_actions (SK_APP_OPERATOR_WINDOW (user_data));
}

static void
on_media_notice (SkAppMediaPanel *panel, const char *text, gpointer user_data)
{
  set_status (SK_APP_OPERATOR_WINDOW (user_data), text);
}

static void
on_media_refused (SkAppMediaPanel *panel,
                  const char *reason,
                  const char *identity,
                  gpointer user_data)
{
  SkAppOperatorWindow *self = user_data;
  SkErrorCode code = SK_ERROR_MEDIA_CLASS;
  g_autoptr (GError) error = NULL;

  if (!sk_error_code_from_reason (reason, &code))
    code = SK_ERROR_MEDIA_CLASS;
  /* IDENTITY is escaped already (sk-app-medium.c). */
  g_set_error_literal (&error, SK_ERROR, code, identity);
  sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Using the inserted medium"), error);
  /* TRANSLATORS: a medium was refused; then its description and the reason code. */
  g_autofree char *text = g_strdup_printf (_ ("Medium refused: %s (%s)"), identity, reason);
  set_status (self, text);
}

static const GActionEntry win_entries[] = {
  { "refresh", on_refresh, NULL, NULL, NULL, { 0 } },
};

void
_sk_app_operator_window_refresh (SkAppOperatorWindow *self)
{
  refresh (self);
}

void
_sk_app_operator_window_set_status (SkAppOperatorWindow *self, const char *text)
{
  set_status (self, text);
}

/* ---- the object ------------------------------------------------------------------------- */

static void
sk_app_operator_window_dispose (GObject *object)
{
  SkAppOperatorWindow *self = SK_APP_OPERATOR_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_handle_id (&self->countdown_id, g_source_remove);
  g_clear_object (&self->client);
  G_OBJECT_CLASS (sk_app_operator_window_parent_class)->dispose (object);
}

static void
sk_app_operator_window_finalize (GObject *object)
{
  SkAppOperatorWindow *self = SK_APP_OPERATOR_WINDOW (object);

  g_clear_object (&self->cancellable);
  g_free (self->case_id);
  g_free (self->case_state);
  g_ptr_array_unref (self->case_deadlines);
  g_free (self->handoff_folder);
  g_ptr_array_unref (self->take_in_names);
  G_OBJECT_CLASS (sk_app_operator_window_parent_class)->finalize (object);
}

static void
sk_app_operator_window_class_init (SkAppOperatorWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sk_app_operator_window_dispose;
  object_class->finalize = sk_app_operator_window_finalize;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/jp/sekisho/Sekisho/sk-app-operator-window.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, SkAppOperatorWindow, name)
  BIND (refusal_slot);
  BIND (media_slot);
  BIND (cases_store);
  BIND (files_store);
  BIND (verdicts_store);
  BIND (cases_view);
  BIND (files_view);
  BIND (case_stack);
  BIND (case_id_label);
  BIND (case_workflow_label);
  BIND (case_state_label);
  BIND (case_deadline_label);
  BIND (case_created_label);
  BIND (handoff_path_label);
  BIND (handoff_deadline_label);
  BIND (status_label);
#undef BIND
  gtk_widget_class_bind_template_callback (widget_class, on_case_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_file_selected);
}

static void
sk_app_operator_window_init (SkAppOperatorWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->refusal_bar = sk_app_refusal_bar_new ();
  gtk_box_pack_start (self->refusal_slot, GTK_WIDGET (self->refusal_bar), FALSE, TRUE, 0);
  self->cancellable = g_cancellable_new ();
  self->take_in_names = g_ptr_array_new_with_free_func (g_free);
  self->case_deadlines = g_ptr_array_new_with_free_func (g_free);
  g_action_map_add_action_entries (G_ACTION_MAP (self), win_entries, G_N_ELEMENTS (win_entries),
                                   self);
  g_action_map_add_action_entries (G_ACTION_MAP (self), _sk_app_operator_transfer_entries,
                                   _sk_app_operator_transfer_n_entries, self);
  update_actions (self);
}

GtkWidget *
sk_app_operator_window_new (GtkApplication *app, SkAppClient *client)
{
  g_return_val_if_fail (GTK_IS_APPLICATION (app), NULL);
  g_return_val_if_fail (SK_APP_IS_CLIENT (client), NULL);

  SkAppOperatorWindow *self = g_object_new (SK_APP_TYPE_OPERATOR_WINDOW, "application", app, NULL);
  self->client = g_object_ref (client);
  g_signal_connect_object (sk_app_client_get_cases (client), "case-changed",
                           G_CALLBACK (on_case_changed), self, 0);
  self->countdown_id = g_timeout_add_seconds (COUNTDOWN_SECONDS, on_countdown, self);
  self->media_panel = sk_app_media_panel_new (client);
  sk_app_media_panel_set_refuse_unregistered (self->media_panel, TRUE);
  gtk_box_pack_start (self->media_slot, GTK_WIDGET (self->media_panel), FALSE, TRUE, 0);
  g_signal_connect_object (self->media_panel, "changed", G_CALLBACK (on_media_changed), self, 0);
  g_signal_connect_object (self->media_panel, "notice", G_CALLBACK (on_media_notice), self, 0);
  g_signal_connect_object (self->media_panel, "refused", G_CALLBACK (on_media_refused), self, 0);
  update_actions (self);
  refresh (self);
  return GTK_WIDGET (self);
}
