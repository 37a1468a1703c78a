/* sk-app-refusal-bar.c — reason code, what happened, what to do next */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <glib/gi18n.h>

#include "sk-app-refusal-bar.h"
#include "sk-app-refusal.h"

struct _SkAppRefusalBar
{
  GtkInfoBar parent_instance;

  GtkLabel *title_label;
  GtkLabel *what_label;
  GtkLabel *detail_label;
  GtkLabel *next_label;
};

G_DEFINE_FINAL_TYPE (SkAppRefusalBar, sk_app_refusal_bar, GTK_TYPE_INFO_BAR)

static void
on_response (GtkInfoBar *bar, int response, gpointer user_data)
{
  if (response == GTK_RESPONSE_CLOSE)
    gtk_info_bar_set_revealed (bar, FALSE);
}

static void
sk_app_refusal_bar_class_init (SkAppRefusalBarClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/jp/sekisho/Sekisho/sk-app-refusal-bar.ui");
  gtk_widget_class_bind_template_child (widget_class, SkAppRefusalBar, title_label);
  gtk_widget_class_bind_template_child (widget_class, SkAppRefusalBar, what_label);
  gtk_widget_class_bind_template_child (widget_class, SkAppRefusalBar, detail_label);
  gtk_widget_class_bind_template_child (widget_class, SkAppRefusalBar, next_label);
  gtk_widget_class_bind_template_callback (widget_class, on_response);
}

static void
sk_app_refusal_bar_init (SkAppRefusalBar *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  atk_object_set_name (gtk_widget_get_accessible (GTK_WIDGET (self)), _ ("Refusal"));
}

SkAppRefusalBar *
sk_app_refusal_bar_new (void)
{
  return g_object_new (SK_APP_TYPE_REFUSAL_BAR, "visible", TRUE, NULL);
}

void
sk_app_refusal_bar_show_error (SkAppRefusalBar *self, const char *doing, const GError *error)
{
  g_return_if_fail (SK_APP_IS_REFUSAL_BAR (self));
  g_return_if_fail (doing != NULL && error != NULL);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  SkErrorCode code = sk_app_refusal_code (error);
  /* TRANSLATORS: "%s" is an action ("Importing the package"), then the reason code. */
  g_autofree char *title =
      g_strdup_printf (_ ("%s was refused (%s)"), doing, sk_error_code_to_reason (code));
  g_autofree char *detail = sk_app_refusal_detail (error);
  gtk_label_set_text (self->title_label, title);
  gtk_label_set_text (self->what_label, sk_error_code_describe (code));
  /* TRANSLATORS: the service's own technical words, for the administrator. */
  g_autofree char *detail_line = g_strdup_printf (_ ("Details: %s"), detail);
  gtk_label_set_text (self->detail_label, detail_line);
  gtk_label_set_text (self->next_label, sk_app_refusal_next_step (code));
  gtk_info_bar_set_message_type (GTK_INFO_BAR (self), GTK_MESSAGE_ERROR);
  gtk_info_bar_set_revealed (GTK_INFO_BAR (self), TRUE);
}

void
sk_app_refusal_bar_dismiss (SkAppRefusalBar *self)
{
  g_return_if_fail (SK_APP_IS_REFUSAL_BAR (self));
  gtk_info_bar_set_revealed (GTK_INFO_BAR (self), FALSE);
}
