/* sk-app-application.c — start, ask who the caller is, show that role's window */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <glib/gi18n.h>

#include "sk-app-admin-window.h"
#include "sk-app-application.h"
#include "sk-app-auditor-window.h"
#include "sk-app-client.h"
#include "sk-app-operator-window.h"
#include "sk-app-problem-window.h"
#include "sk-app-watchdog.h"

struct _SkAppApplication
{
  GtkApplication parent_instance;

  GCancellable *cancellable;     /* the connection being made */
  GSettings *interface_settings; /* org.gnome.desktop.interface, when installed */
  gboolean connecting;
};

G_DEFINE_FINAL_TYPE (SkAppApplication, sk_app_application, GTK_TYPE_APPLICATION)

static void
connect_to_service (SkAppApplication *self);

static void
close_windows (SkAppApplication *self)
{
  GList *windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (self)));
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_widget_destroy (GTK_WIDGET (l->data));
  g_list_free (windows);
}

static void
on_quit (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppApplication *self = user_data;

  g_cancellable_cancel (self->cancellable);
  close_windows (self);
  g_application_quit (G_APPLICATION (self));
}

static void
on_retry (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppApplication *self = user_data;

  if (self->connecting)
    return;
  /* Keep running while no window is open. */
  g_application_hold (G_APPLICATION (self));
  close_windows (self);
  connect_to_service (self);
  g_application_release (G_APPLICATION (self));
}

static void
on_about (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (user_data));

  gtk_show_about_dialog (parent, "program-name", _ ("Sekisho"), "logo-icon-name",
                         "jp.sekisho.Sekisho", "version", PACKAGE_VERSION, "comments",
                         _ ("The media transfer station of the integration terminal"),
                         "license-type", GTK_LICENSE_GPL_3_0, NULL);
}

static const GActionEntry app_entries[] = {
  { "quit", on_quit, NULL, NULL, NULL, { 0 } },
  { "retry", on_retry, NULL, NULL, NULL, { 0 } },
  { "about", on_about, NULL, NULL, NULL, { 0 } },
};

static const struct
{
  const char *action;
  const char *accels[3];
} app_accels[] = {
  { "app.quit", { "<Control>q", NULL } },
  { "app.retry", { "<Control><Shift>r", NULL } },
  { "app.about", { "F1", NULL } },
  { "win.refresh", { "F5", "<Control>r", NULL } },
  { "win.import", { "<Control>i", NULL } },
  { "win.hand-off", { "<Control>u", NULL } },
  { "win.confirm-upload", { "<Control><Shift>u", NULL } },
  { "win.take-in", { "<Control>t", NULL } },
  { "win.approve", { "<Control><Shift>a", NULL } },
  { "win.export", { "<Control>e", NULL } },
  { "win.open-folder", { "<Control>o", NULL } },
  { "win.verify", { "<Control><Shift>v", NULL } },
  { "win.checkpoint", { "<Control><Shift>c", NULL } },
  { "win.install-policy", { "<Control><Shift>i", NULL } },
  { "win.import-keys", { "<Control><Shift>k", NULL } },
  { "win.find", { "<Control>f", NULL } },
};

/* GTK 3 has no colour-scheme preference of its own: follow the desktop's. */
static void
follow_color_scheme (SkAppApplication *self)
{
  g_autofree char *scheme = g_settings_get_string (self->interface_settings, "color-scheme");
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme",
                g_str_equal (scheme, "prefer-dark"), NULL);
}

static void
on_color_scheme_changed (GSettings *settings, const char *key, gpointer user_data)
{
  follow_color_scheme (SK_APP_APPLICATION (user_data));
}

static void
sk_app_application_startup (GApplication *app)
{
  SkAppApplication *self = SK_APP_APPLICATION (app);

  G_APPLICATION_CLASS (sk_app_application_parent_class)->startup (app);
  sk_app_watchdog_start_if_asked ();

  /* Nothing the person opens is remembered: no recently-used.xbel. */
  g_object_set (gtk_settings_get_default (), "gtk-recent-files-enabled", FALSE,
                "gtk-recent-files-max-age", 0, NULL);

  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema =
      source != NULL ? g_settings_schema_source_lookup (source, "org.gnome.desktop.interface", TRUE)
                     : NULL;
  if (schema != NULL && g_settings_schema_has_key (schema, "color-scheme"))
    {
      self->interface_settings = g_settings_new_full (schema, NULL, NULL);
      g_signal_connect_object (self->interface_settings, "changed::color-scheme",
                               G_CALLBACK (on_color_scheme_changed), self, 0);
      follow_color_scheme (self);
    }

  g_autoptr (GtkCssProvider) css = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (css, "/jp/sekisho/Sekisho/style.css");
  gtk_style_context_add_provider_for_screen (gdk_screen_get_default (), GTK_STYLE_PROVIDER (css),
                                             GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_entries, G_N_ELEMENTS (app_entries),
                                   self);
  for (gsize i = 0; i < G_N_ELEMENTS (app_accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (self), app_accels[i].action,
                                           app_accels[i].accels);
}

static void
on_client (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppApplication) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SkAppClient) client = sk_app_client_new_finish (result, &error);
  GtkApplication *app = GTK_APPLICATION (self);
  GtkWidget *window = NULL;

  self->connecting = FALSE;
  if (client == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_application_release (G_APPLICATION (self));
          return;
        }
      window = sk_app_problem_window_new_unreachable (app, error);
    }
  else
    switch (sk_app_client_get_role (client))
      {
      case SK_APP_ROLE_OPERATOR:
        window = sk_app_operator_window_new (app, client);
        break;
      case SK_APP_ROLE_AUDITOR:
        window = sk_app_auditor_window_new (app, client);
        break;
      case SK_APP_ROLE_ADMIN:
        window = sk_app_admin_window_new (app, client);
        break;
      case SK_APP_ROLE_NONE:
      case SK_APP_ROLE_SEVERAL:
      default:
        window = sk_app_problem_window_new_no_role (app, sk_app_client_get_role (client));
        break;
      }
  gtk_window_present (GTK_WINDOW (window));
  g_application_release (G_APPLICATION (self));
}

static void
connect_to_service (SkAppApplication *self)
{
  self->connecting = TRUE;
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  /* Held until a window shows, so that the app does not end meanwhile. */
  g_application_hold (G_APPLICATION (self));
  sk_app_client_new_async (self->cancellable, on_client, g_object_ref (self));
}

static void
sk_app_application_activate (GApplication *app)
{
  SkAppApplication *self = SK_APP_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (window != NULL)
    {
      gtk_window_present (window);
      return;
    }
  if (!self->connecting)
    connect_to_service (self);
}

static void
sk_app_application_dispose (GObject *object)
{
  SkAppApplication *self = SK_APP_APPLICATION (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->interface_settings);
  G_OBJECT_CLASS (sk_app_application_parent_class)->dispose (object);
}

static void
sk_app_application_class_init (SkAppApplicationClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = sk_app_application_dispose;
  G_APPLICATION_CLASS (klass)->startup = sk_app_application_startup;
  G_APPLICATION_CLASS (klass)->activate = sk_app_application_activate;
}

static void
sk_app_application_init (SkAppApplication *self)
{
}

SkAppApplication *
sk_app_application_new (void)
{
  /* NON_UNIQUE: no session bus is needed to start, and a second start on the
   * terminal is a second window of the same service anyway. */
  return g_object_new (SK_APP_TYPE_APPLICATION, "application-id", "jp.sekisho.Sekisho", "flags",
                       G_APPLICATION_NON_UNIQUE, NULL);
}
