/* sk-app-media-panel.h — the media inserted now, live from the service's Media signals
 *
 * A medium inserted, refused or pulled shows at once (MediumAdded,
 * MediumRefused, MediumRemoved), with its 管理番号 when registered.  The
 * operator imports from and exports to the medium chosen here; the
 * administrator registers it.  Every name on a row came from a stick and is
 * shown escaped.
 *
 * Signals:
 *   changed ()                         the rows or the choice changed
 *   notice (s text)                    something to say in the status line
 *   refused (s reason, s identity)     a medium was refused (reason code)
 *   removed (s medium_id)              a medium was pulled
 */
#pragma once

#include <gtk/gtk.h>

#include "sk-app-client.h"
#include "sk-app-medium.h"

G_BEGIN_DECLS

#define SK_APP_TYPE_MEDIA_PANEL (sk_app_media_panel_get_type ())
G_DECLARE_FINAL_TYPE (SkAppMediaPanel, sk_app_media_panel, SK_APP, MEDIA_PANEL, GtkBox)

SkAppMediaPanel *
sk_app_media_panel_new (SkAppClient *client);

/* Asks the service for the media present now. */
void
sk_app_media_panel_refresh (SkAppMediaPanel *self);

/* An unregistered medium inserted is announced as refused
 * (media-unregistered): nothing moves through it.  The operator's panel
 * says so; the administrator's does not (it is there to be registered). */
void
sk_app_media_panel_set_refuse_unregistered (SkAppMediaPanel *self, gboolean refuse);

/* The chosen medium, or the only one when there is one; NULL when none.
 * Owned by the panel until the next change. */
const SkAppMedium *
sk_app_media_panel_get_chosen (SkAppMediaPanel *self);

G_END_DECLS
