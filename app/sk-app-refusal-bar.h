/* sk-app-refusal-bar.h — an info bar that tells a refusal */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define SK_APP_TYPE_REFUSAL_BAR (sk_app_refusal_bar_get_type ())
G_DECLARE_FINAL_TYPE (SkAppRefusalBar, sk_app_refusal_bar, SK_APP, REFUSAL_BAR, GtkInfoBar)

SkAppRefusalBar *
sk_app_refusal_bar_new (void);

/* Show ERROR as the refusal of DOING (a translated phrase: "Importing the
 * package"); a cancelled operation shows nothing. */
void
sk_app_refusal_bar_show_error (SkAppRefusalBar *self, const char *doing, const GError *error);
void
sk_app_refusal_bar_dismiss (SkAppRefusalBar *self);

G_END_DECLS
