/* sk-app-problem-window.c — "the service cannot be reached", "you hold no role" */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <glib/gi18n.h>

#include "sk-app-problem-window.h"
#include "sk-app-refusal.h"

struct _SkAppProblemWindow
{
  GtkApplicationWindow parent_instance;

  GtkLabel *headline_label;
  GtkLabel *what_label;
  GtkLabel *next_label;
  GtkLabel *code_label;
  GtkButton *retry_button;
};

G_DEFINE_FINAL_TYPE (SkAppProblemWindow, sk_app_problem_window, GTK_TYPE_APPLICATION_WINDOW)

static void
sk_app_problem_window_class_init (SkAppProblemWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/jp/sekisho/Sekisho/sk-app-problem-window.ui");
  gtk_widget_class_bind_template_child (widget_class, SkAppProblemWindow, headline_label);
  gtk_widget_class_bind_template_child (widget_class, SkAppProblemWindow, what_label);
  gtk_widget_class_bind_template_child (widget_class, SkAppProblemWindow, next_label);
  gtk_widget_class_bind_template_child (widget_class, SkAppProblemWindow, code_label);
  gtk_widget_class_bind_template_child (widget_class, SkAppProblemWindow, retry_button);
}

static void
sk_app_problem_window_init (SkAppProblemWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

static SkAppProblemWindow *
problem_new (GtkApplication *app,
             const char *headline,
             const char *what,
             const char *next,
             const char *code_text)
{
  SkAppProblemWindow *self = g_object_new (SK_APP_TYPE_PROBLEM_WINDOW, "application", app, NULL);

  gtk_label_set_text (self->headline_label, headline);
  gtk_label_set_text (self->what_label, what);
  gtk_label_set_text (self->next_label, next);
  gtk_label_set_text (self->code_label, code_text);
  gtk_widget_grab_focus (GTK_WIDGET (self->retry_button));
  return self;
}

GtkWidget *
sk_app_problem_window_new_unreachable (GtkApplication *app, const GError *error)
{
  g_return_val_if_fail (GTK_IS_APPLICATION (app), NULL);
  g_return_val_if_fail (error != NULL, NULL);

  g_autofree char *detail = sk_app_refusal_detail (error);
  /* TRANSLATORS: the reason code, then the technical detail for the administrator. */
  g_autofree char *code_text = g_strdup_printf (
      _ ("Reason code: %s — %s"), sk_error_code_to_reason (SK_ERROR_SERVICE_UNREACHABLE), detail);
  return GTK_WIDGET (problem_new (
      app, _ ("The Sekisho service cannot be reached"),
      _ ("Sekisho works only through the station's service (sekishod), and it does not answer. "
         "No media, cases or journal can be used until it does. Nothing was changed."),
      sk_app_refusal_next_step (SK_ERROR_SERVICE_UNREACHABLE), code_text));
}

GtkWidget *
sk_app_problem_window_new_no_role (GtkApplication *app, SkAppRole role)
{
  g_return_val_if_fail (GTK_IS_APPLICATION (app), NULL);
  g_return_val_if_fail (role == SK_APP_ROLE_NONE || role == SK_APP_ROLE_SEVERAL, NULL);

  g_autofree char *code_text =
      g_strdup_printf (_ ("Reason code: %s"), sk_error_code_to_reason (SK_ERROR_ROLE_DENIED));
  const char *what =
      role == SK_APP_ROLE_SEVERAL
          ? _ ("Your account holds more than one Sekisho role. One person holds one role on a "
               "station, so Sekisho opens none of them.")
          : _ ("Your account holds no Sekisho role (operator, auditor or policy administrator), "
               "so there is nothing Sekisho may show you.");
  const char *headline = role == SK_APP_ROLE_SEVERAL
                             ? _ ("Your account holds more than one role on this station")
                             : _ ("You have no role on this station");
  return GTK_WIDGET (problem_new (
      app, headline, what,
      _ ("Ask the information system administrator (情報システム管理者) to put your account in "
         "exactly one of the groups sekisho-operator, sekisho-auditor or sekisho-admin, then log "
         "in again."),
      code_text));
}
