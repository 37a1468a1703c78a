/* sk-app-client.h — the app's one connection to sekishod
 *
 * SkAppClient owns the system-bus connection (G_BUS_TYPE_SYSTEM, so
 * DBUS_SYSTEM_BUS_ADDRESS is honoured) and the generated proxies of
 * jp.sekisho.Station1.  Everything is asynchronous with a GCancellable; the
 * proxies deliver their signals on the main context that made the client.
 */
#pragma once

#include <gio/gio.h>

#include "sk-app-role.h"
#include "sk-dbus-generated.h"

G_BEGIN_DECLS

#define SK_APP_BUS_NAME "jp.sekisho.Station1"
#define SK_APP_OBJECT_PATH "/jp/sekisho/Station1"

#define SK_APP_TYPE_CLIENT (sk_app_client_get_type ())
G_DECLARE_FINAL_TYPE (SkAppClient, sk_app_client, SK_APP, CLIENT, GObject)

void
sk_app_client_new_async (GCancellable *cancellable, GAsyncReadyCallback callback, gpointer data);
SkAppClient *
sk_app_client_new_finish (GAsyncResult *result, GError **error);

SkAppRole
sk_app_client_get_role (SkAppClient *self);
SkDbusCases *
sk_app_client_get_cases (SkAppClient *self);
SkDbusJournal *
sk_app_client_get_journal (SkAppClient *self);
SkDbusPolicy *
sk_app_client_get_policy (SkAppClient *self);
SkDbusKeys *
sk_app_client_get_keys (SkAppClient *self);
SkDbusStation *
sk_app_client_get_station (SkAppClient *self);
SkDbusMedia *
sk_app_client_get_media (SkAppClient *self);

void
sk_app_client_job_async (SkAppClient *self,
                         const char *object_path,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer data);
SkDbusJob *
sk_app_client_job_finish (SkAppClient *self, GAsyncResult *result, GError **error);

G_END_DECLS
