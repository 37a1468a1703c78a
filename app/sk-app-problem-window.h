/* sk-app-problem-window.h — what a person sees instead of a role's window */
#pragma once

#include <gtk/gtk.h>

#include "sk-app-client.h"

G_BEGIN_DECLS

#define SK_APP_TYPE_PROBLEM_WINDOW (sk_app_problem_window_get_type ())
G_DECLARE_FINAL_TYPE (
    SkAppProblemWindow, sk_app_problem_window, SK_APP, PROBLEM_WINDOW, GtkApplicationWindow)

/* The service cannot be reached: ERROR says how. */
GtkWidget *
sk_app_problem_window_new_unreachable (GtkApplication *app, const GError *error);
/* The service answers, but ROLE (NONE or SEVERAL) gives this person no window. */
GtkWidget *
sk_app_problem_window_new_no_role (GtkApplication *app, SkAppRole role);

G_END_DECLS
