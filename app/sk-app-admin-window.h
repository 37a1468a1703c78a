/* sk-app-admin-window.h — the policy administrator's window */
#pragma once

#include <gtk/gtk.h>

#include "sk-app-client.h"

G_BEGIN_DECLS

#define SK_APP_TYPE_ADMIN_WINDOW (sk_app_admin_window_get_type ())
G_DECLARE_FINAL_TYPE (
    SkAppAdminWindow, sk_app_admin_window, SK_APP, ADMIN_WINDOW, GtkApplicationWindow)

GtkWidget *
sk_app_admin_window_new (GtkApplication *app, SkAppClient *client);

G_END_DECLS
