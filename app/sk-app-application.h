/* sk-app-application.h — the Sekisho desktop application */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define SK_APP_TYPE_APPLICATION (sk_app_application_get_type ())
G_DECLARE_FINAL_TYPE (SkAppApplication, sk_app_application, SK_APP, APPLICATION, GtkApplication)

SkAppApplication *
sk_app_application_new (void);

G_END_DECLS
