/* sk-app-operator-window.h — the operator's window */
#pragma once

#include <gtk/gtk.h>

#include "sk-app-client.h"

G_BEGIN_DECLS

#define SK_APP_TYPE_OPERATOR_WINDOW (sk_app_operator_window_get_type ())
G_DECLARE_FINAL_TYPE (
    SkAppOperatorWindow, sk_app_operator_window, SK_APP, OPERATOR_WINDOW, GtkApplicationWindow)

GtkWidget *
sk_app_operator_window_new (GtkApplication *app, SkAppClient *client);

G_END_DECLS
