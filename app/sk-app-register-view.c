/* sk-app-register-view.c — registered media, and the administrator's hand on them */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <gio/gunixfdlist.h>
#include <glib/gi18n.h>
#include <unistd.h>

#include "sk-app-chooser.h"
#include "sk-app-files.h"
#include "sk-app-format.h"
#include "sk-app-json.h"
#include "sk-app-media-panel.h"
#include "sk-app-register-view.h"
#include "sk-error.h"

enum
{
  COL_NUMBER,
  COL_IDENTITY,
  COL_LABEL,
  COL_STATE,
  COL_REGISTERED,
  COL_RAW_NUMBER,
};

enum
{
  SIGNAL_REFUSAL,
  SIGNAL_NOTICE,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

struct _SkAppRegisterView
{
  GtkBox parent_instance;

  GtkListStore *register_store;
  GtkTreeView *register_view;
  GtkBox *media_slot;
  GtkWidget *register_form;
  GtkWidget *register_buttons;
  GtkEntry *number_entry;
  GtkEntry *label_entry;
  GtkWidget *register_button;
  GtkWidget *unregister_button;

  SkAppClient *client;
  SkAppMediaPanel *media_panel; /* editable only */
  GCancellable *cancellable;    /* cancelled in dispose */
  gboolean editable;
};

G_DEFINE_FINAL_TYPE (SkAppRegisterView, sk_app_register_view, GTK_TYPE_BOX)

static gboolean
is_cancelled (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
refused (SkAppRegisterView *self, const char *doing, const GError *error)
{
  if (!is_cancelled (error))
    g_signal_emit (self, signals[SIGNAL_REFUSAL], 0, doing, error);
}

static void
notice (SkAppRegisterView *self, const char *text)
{
  g_signal_emit (self, signals[SIGNAL_NOTICE], 0, text);
}

static char *
escaped_or_dash (const char *text)
{
  return text != NULL && *text != '\0' ? sk_escape_untrusted (text) : g_strdup ("—");
}

static const char *
state_words (const char *state)
{
  if (g_strcmp0 (state, "registered") == 0 || g_strcmp0 (state, "active") == 0)
    return _ ("Registered");
  if (g_strcmp0 (state, "withdrawn") == 0 || g_strcmp0 (state, "unregistered") == 0)
    return _ ("Withdrawn");
  /* Taken from an imported register: registered on this station once
   * the medium is plugged in and its token written. */
  if (g_strcmp0 (state, "pending") == 0)
    return _ ("Awaiting its token");
  return NULL;
}

/* ---- the list ------------------------------------------------------------------------- */

static void
on_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppRegisterView) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (!sk_dbus_media_call_list_register_finish (SK_DBUS_MEDIA (source), &text, result, &error))
    {
      refused (self, _ ("Listing the media register"), error);
      return;
    }
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  JsonArray *rows = NULL;
  if (json_parser_load_from_data (parser, text, -1, NULL))
    {
      JsonNode *root = json_parser_get_root (parser);
      if (root != NULL && JSON_NODE_HOLDS_ARRAY (root))
        rows = json_node_get_array (root);
      else if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
        rows = sk_app_json_array (json_node_get_object (root), "register");
    }
  if (rows == NULL)
    {
      g_set_error_literal (&error, SK_ERROR, SK_ERROR_IO_ERROR,
                           _ ("the service sent no media register"));
      refused (self, _ ("Listing the media register"), error);
      return;
    }
  gtk_list_store_clear (self->register_store);
  for (guint i = 0; i < json_array_get_length (rows); i++)
    {
      JsonNode *node = json_array_get_element (rows, i);
      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      JsonObject *r = json_node_get_object (node);
      const char *number = sk_app_json_string (r, "number");
      if (number == NULL)
        continue;
      g_autofree char *shown = sk_escape_untrusted (number);
      g_autofree char *vendor = escaped_or_dash (sk_app_json_string (r, "vendor"));
      g_autofree char *model = escaped_or_dash (sk_app_json_string (r, "model"));
      g_autofree char *serial = escaped_or_dash (sk_app_json_string (r, "serial"));
      g_autofree char *identity = g_strdup_printf ("%s %s (%s)", vendor, model, serial);
      g_autofree char *label = escaped_or_dash (sk_app_json_string (r, "label"));
      const char *state = sk_app_json_string (r, "state");
      g_autofree char *state_shown =
          state_words (state) != NULL ? g_strdup (state_words (state)) : escaped_or_dash (state);
      g_autofree char *when = sk_app_format_time (sk_app_json_string (r, "registered"));
      gtk_list_store_insert_with_values (
          self->register_store, NULL, -1, COL_NUMBER, shown, COL_IDENTITY, identity, COL_LABEL,
          label, COL_STATE, state_shown, COL_REGISTERED, when, COL_RAW_NUMBER, number, -1);
    }
}

void
sk_app_register_view_refresh (SkAppRegisterView *self)
{
  g_return_if_fail (SK_APP_IS_REGISTER_VIEW (self));

  sk_dbus_media_call_list_register (sk_app_client_get_media (self->client), self->cancellable,
                                    on_listed, g_object_ref (self));
  if (self->media_panel != NULL)
    sk_app_media_panel_refresh (self->media_panel);
}

/* ---- register and unregister ---------------------------------------------------------- */

static void
update_buttons (SkAppRegisterView *self)
{
  if (!self->editable)
    return;
  const SkAppMedium *m = sk_app_media_panel_get_chosen (self->media_panel);
  const char *number = gtk_entry_get_text (self->number_entry);
  g_autofree char *trimmed = g_strstrip (g_strdup (number));
  gtk_widget_set_sensitive (self->register_button, m != NULL && *trimmed != '\0');
  gtk_widget_set_sensitive (self->unregister_button,
                            gtk_tree_selection_count_selected_rows (
                                gtk_tree_view_get_selection (self->register_view)) == 1);
}

static void
on_form_changed (SkAppRegisterView *self, GtkEditable *editable)
{
  update_buttons (self);
}

static void
on_register_selected (SkAppRegisterView *self, GtkTreeSelection *selection)
{
  update_buttons (self);
}

static void
on_media_changed (SkAppMediaPanel *panel, gpointer user_data)
{
  update_buttons (SK_APP_REGISTER_VIEW (user_data));
}

static void
on_media_notice (SkAppMediaPanel *panel, const char *text, gpointer user_data)
{
  notice (SK_APP_REGISTER_VIEW (user_data), text);
}

static void
on_registered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppRegisterView) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (!sk_dbus_media_call_register_finish (SK_DBUS_MEDIA (source), &text, result, &error))
    {
      refused (self, _ ("Registering the medium"), error);
      return;
    }
  g_autoptr (JsonObject) r = sk_app_json_parse_object (text, NULL);
  JsonNode *inner = r != NULL ? json_object_get_member (r, "medium") : NULL;
  JsonObject *record =
      inner != NULL && JSON_NODE_HOLDS_OBJECT (inner) ? json_node_get_object (inner) : r;
  g_autofree char *number = escaped_or_dash (sk_app_json_string (record, "number"));
  /* TRANSLATORS: a medium was registered with this 管理番号. */
  g_autofree char *line = g_strdup_printf (_ ("Registered the medium as %s."), number);
  notice (self, line);
  gtk_entry_set_text (self->number_entry, "");
  gtk_entry_set_text (self->label_entry, "");
  sk_app_register_view_refresh (self);
}

static void
on_register_clicked (SkAppRegisterView *self, GtkButton *button)
{
  const SkAppMedium *m = sk_app_media_panel_get_chosen (self->media_panel);
  g_autofree char *number = g_strstrip (g_strdup (gtk_entry_get_text (self->number_entry)));
  g_autofree char *label = g_strstrip (g_strdup (gtk_entry_get_text (self->label_entry)));

  if (m == NULL || *number == '\0')
    return;
  sk_dbus_media_call_register (sk_app_client_get_media (self->client), m->id, number, label,
                               self->cancellable, on_registered, g_object_ref (self));
}

static void
on_unregistered (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppRegisterView) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!sk_dbus_media_call_unregister_finish (SK_DBUS_MEDIA (source), result, &error))
    {
      refused (self, _ ("Unregistering the medium"), error);
      return;
    }
  notice (self, _ ("The medium's registration was withdrawn."));
  sk_app_register_view_refresh (self);
}

static void
on_unregister_clicked (SkAppRegisterView *self, GtkButton *button)
{
  GtkTreeModel *model = NULL;
  GtkTreeIter iter;
  g_autofree char *number = NULL;

  if (!gtk_tree_selection_get_selected (gtk_tree_view_get_selection (self->register_view), &model,
                                        &iter))
    return;
  gtk_tree_model_get (model, &iter, COL_RAW_NUMBER, &number, -1);
  if (number == NULL)
    return;
  sk_dbus_media_call_unregister (sk_app_client_get_media (self->client), number, self->cancellable,
                                 on_unregistered, g_object_ref (self));
}

/* ---- the register as CSV ---------------------------------------------------------------- */

static void
on_exported (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppRegisterView) self = user_data;
  g_autoptr (GError) error = NULL;

  if (!sk_dbus_media_call_export_register_finish (SK_DBUS_MEDIA (source), NULL, result, &error))
    {
      refused (self, _ ("Exporting the media register"), error);
      return;
    }
  notice (self, _ ("The media register was exported as CSV."));
}

static void
on_export_chosen (gpointer owner, const char *path)
{
  SkAppRegisterView *self = owner;
  g_autoptr (GError) error = NULL;

  int fd = sk_app_create_file (path, &error);
  if (fd < 0)
    {
      refused (self, _ ("Exporting the media register"), error);
      return;
    }
  g_autoptr (GUnixFDList) fds = sk_app_fd_list_take (fd);
  sk_dbus_media_call_export_register (sk_app_client_get_media (self->client),
                                      g_variant_new_handle (0), fds, self->cancellable, on_exported,
                                      g_object_ref (self));
}

static void
on_export_clicked (SkAppRegisterView *self, GtkButton *button)
{
  GtkWindow *parent = GTK_WINDOW (gtk_widget_get_toplevel (GTK_WIDGET (self)));
  /* No question about overwriting (GTK's default): the service creates
   * the file new, and refuses one that exists. */
  const SkAppChooser what = {
    .title = _ ("Export the Media Register"),
    .action = GTK_FILE_CHOOSER_ACTION_SAVE,
    .accept = _ ("_Export"),
    .current_name = "media-register.csv",
  };
  sk_app_choose (parent, G_OBJECT (self), &what, on_export_chosen);
}

static void
on_imported (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppRegisterView) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (!sk_dbus_media_call_import_register_finish (SK_DBUS_MEDIA (source), &text, NULL, result,
                                                  &error))
    {
      refused (self, _ ("Importing the media register"), error);
      return;
    }
  g_autoptr (JsonObject) r = sk_app_json_parse_object (text, NULL);
  gint64 added = sk_app_json_int (r, "added", 0);
  g_autofree char *count = g_strdup_printf ("%" G_GINT64_FORMAT, added);
  g_autofree char *said = g_strdup_printf (
      /* TRANSLATORS: rows new to the register; a medium imported this way
       * is used once it is plugged in and its token checked. */
      g_dngettext (GETTEXT_PACKAGE, "The media register was imported: %s row added.",
                   "The media register was imported: %s rows added.", (gulong)MAX (0, added)),
      count);
  notice (self, said);
  sk_app_register_view_refresh (self);
}

static void
on_import_chosen (gpointer owner, const char *path)
{
  SkAppRegisterView *self = owner;
  g_autoptr (GError) error = NULL;

  int fd = sk_app_open_file (path, &error);
  if (fd < 0)
    {
      refused (self, _ ("Importing the media register"), error);
      return;
    }
  g_autoptr (GUnixFDList) fds = sk_app_fd_list_take (fd);
  sk_dbus_media_call_import_register (sk_app_client_get_media (self->client),
                                      g_variant_new_handle (0), fds, self->cancellable, on_imported,
                                      g_object_ref (self));
}

static void
on_import_clicked (SkAppRegisterView *self, GtkButton *button)
{
  GtkWindow *parent = GTK_WINDOW (gtk_widget_get_toplevel (GTK_WIDGET (self)));
  const SkAppChooser what = {
    .title = _ ("Import a Media Register"),
    .action = GTK_FILE_CHOOSER_ACTION_OPEN,
    .accept = _ ("_Import"),
    .filter_name = _ ("CSV files (*.csv)"),
    .filter_pattern = "*.csv",
  };
  sk_app_choose (parent, G_OBJECT (self), &what, on_import_chosen);
}

/* ---- the object -------------------------------------------------------------------------- */

static void
sk_app_register_view_dispose (GObject *object)
{
  SkAppRegisterView *self = SK_APP_REGISTER_VIEW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->client);
  G_OBJECT_CLASS (sk_app_register_view_parent_class)->dispose (object);
}

static void
sk_app_register_view_finalize (GObject *object)
{
  SkAppRegisterView *self = SK_APP_REGISTER_VIEW (object);

  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (sk_app_register_view_parent_class)->finalize (object);
}

static void
sk_app_register_view_class_init (SkAppRegisterViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sk_app_register_view_dispose;
  object_class->finalize = sk_app_register_view_finalize;
  signals[SIGNAL_REFUSAL] =
      g_signal_new ("refusal", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_ERROR);
  signals[SIGNAL_NOTICE] = g_signal_new ("notice", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/jp/sekisho/Sekisho/sk-app-register-view.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, SkAppRegisterView, name)
  BIND (register_store);
  BIND (register_view);
  BIND (media_slot);
  BIND (register_form);
  BIND (register_buttons);
  BIND (number_entry);
  BIND (label_entry);
  BIND (register_button);
  BIND (unregister_button);
#undef BIND
  gtk_widget_class_bind_template_callback (widget_class, on_form_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_register_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_register_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_unregister_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_export_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_import_clicked);
}

static void
sk_app_register_view_init (SkAppRegisterView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

SkAppRegisterView *
sk_app_register_view_new (SkAppClient *client, gboolean editable)
{
  g_return_val_if_fail (SK_APP_IS_CLIENT (client), NULL);

  SkAppRegisterView *self = g_object_new (SK_APP_TYPE_REGISTER_VIEW, NULL);
  self->client = g_object_ref (client);
  self->editable = editable;
  if (editable)
    {
      self->media_panel = sk_app_media_panel_new (client);
      gtk_box_pack_start (self->media_slot, GTK_WIDGET (self->media_panel), FALSE, TRUE, 0);
      g_signal_connect_object (self->media_panel, "changed", G_CALLBACK (on_media_changed), self,
                               0);
      g_signal_connect_object (self->media_panel, "notice", G_CALLBACK (on_media_notice), self, 0);
    }
  else
    {
      gtk_widget_hide (self->register_form);
      gtk_widget_hide (self->register_buttons);
    }
  sk_app_register_view_refresh (self);
  return self;
}
