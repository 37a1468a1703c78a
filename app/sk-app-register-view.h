/* sk-app-register-view.h — the media register: listed for the auditor, kept by the administrator
 *
 * Editable (the administrator's): the media inserted now (SkAppMediaPanel),
 * a 管理番号 and a label to register the chosen one with, unregistering,
 * and the register exported to and imported from CSV.  Read-only (the
 * auditor's): the register alone.  The service decides every call.
 *
 * Signals:
 *   refusal (s doing, GError error)   a call was refused: the window shows it
 *   notice (s text)                   something to say in the status line
 */
#pragma once

#include <gtk/gtk.h>

#include "sk-app-client.h"

G_BEGIN_DECLS

#define SK_APP_TYPE_REGISTER_VIEW (sk_app_register_view_get_type ())
G_DECLARE_FINAL_TYPE (SkAppRegisterView, sk_app_register_view, SK_APP, REGISTER_VIEW, GtkBox)

SkAppRegisterView *
sk_app_register_view_new (SkAppClient *client, gboolean editable);

void
sk_app_register_view_refresh (SkAppRegisterView *self);

G_END_DECLS
