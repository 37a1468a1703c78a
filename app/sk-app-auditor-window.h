/* sk-app-auditor-window.h — the auditor's window */
#pragma once

#include <gtk/gtk.h>

#include "sk-app-client.h"

G_BEGIN_DECLS

#define SK_APP_TYPE_AUDITOR_WINDOW (sk_app_auditor_window_get_type ())
G_DECLARE_FINAL_TYPE (
    SkAppAuditorWindow, sk_app_auditor_window, SK_APP, AUDITOR_WINDOW, GtkApplicationWindow)

GtkWidget *
sk_app_auditor_window_new (GtkApplication *app, SkAppClient *client);

G_END_DECLS
