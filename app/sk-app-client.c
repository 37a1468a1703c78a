/* sk-app-client.c — the system-bus connection and the proxies, made once */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include "sk-app-client.h"
#include "sk-app-json.h"
#include "sk-error.h"

/* A service that does not answer a ping in this time is not there. */
#define PING_TIMEOUT_MS 10000

struct _SkAppClient
{
  GObject parent_instance;

  GDBusConnection *connection;
  SkAppRole role;
  SkDbusStation *station;
  SkDbusCases *cases;
  SkDbusJournal *journal;
  SkDbusPolicy *policy;
  SkDbusKeys *keys;
  SkDbusMedia *media;
};

G_DEFINE_FINAL_TYPE (SkAppClient, sk_app_client, G_TYPE_OBJECT)

static void
sk_app_client_dispose (GObject *object)
{
  SkAppClient *self = SK_APP_CLIENT (object);

  g_clear_object (&self->station);
  g_clear_object (&self->cases);
  g_clear_object (&self->journal);
  g_clear_object (&self->policy);
  g_clear_object (&self->keys);
  g_clear_object (&self->media);
  g_clear_object (&self->connection);
  G_OBJECT_CLASS (sk_app_client_parent_class)->dispose (object);
}

static void
sk_app_client_class_init (SkAppClientClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = sk_app_client_dispose;
}

static void
sk_app_client_init (SkAppClient *self)
{
}

/* ---- making the client ----------------------------------------------------- */

typedef struct
{
  SkAppClient *client;
  guint next; /* index into proxy_types of the proxy being made */
} NewData;

static void
new_data_free (NewData *d)
{
  g_clear_object (&d->client);
  g_free (d);
}

static const struct
{
  GType (*get_type) (void);
  const char *interface;
  gsize offset;
} proxy_types[] = {
  { sk_dbus_station_proxy_get_type, "jp.sekisho.Station1.Station",
    G_STRUCT_OFFSET (SkAppClient, station) },
  { sk_dbus_cases_proxy_get_type, "jp.sekisho.Station1.Cases",
    G_STRUCT_OFFSET (SkAppClient, cases) },
  { sk_dbus_journal_proxy_get_type, "jp.sekisho.Station1.Journal",
    G_STRUCT_OFFSET (SkAppClient, journal) },
  { sk_dbus_policy_proxy_get_type, "jp.sekisho.Station1.Policy",
    G_STRUCT_OFFSET (SkAppClient, policy) },
  { sk_dbus_keys_proxy_get_type, "jp.sekisho.Station1.Keys", G_STRUCT_OFFSET (SkAppClient, keys) },
  { sk_dbus_media_proxy_get_type, "jp.sekisho.Station1.Media",
    G_STRUCT_OFFSET (SkAppClient, media) },
};

static void
unreachable (GTask *task, GError *error, const char *what)
{
  g_autofree char *detail = g_dbus_error_is_remote_error (error)
                                ? g_dbus_error_get_remote_error (error)
                                : g_strdup (error->message);
  /* The person sees the detail (a D-Bus error name, or GIO's words for a
   * bus that is not there); the log says what was being done. */
  g_message ("the service cannot be reached: %s: %s", what, detail);
  g_task_return_new_error (task, SK_ERROR, SK_ERROR_SERVICE_UNREACHABLE, "%s", detail);
}

static void
make_next_proxy (GTask *task);

static void
on_who (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  NewData *d = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (!sk_dbus_station_call_who_am_i_finish (SK_DBUS_STATION (source), &text, result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        unreachable (task, error, "asking the service who the caller is");
      return;
    }
  /* The role is the service's word (it asks the bus daemon who calls); an
   * answer that is no object gives no role, never a guess. */
  g_autoptr (JsonObject) who = sk_app_json_parse_object (text, &error);
  if (who == NULL)
    g_message ("the service's WhoAmI answer is no object: %s", error->message);
  d->client->role = sk_app_role_from_who (who);
  g_task_return_pointer (task, g_steal_pointer (&d->client), g_object_unref);
}

/* Takes TASK over. */
static void
ask_who (GTask *task)
{
  NewData *d = g_task_get_task_data (task);

  sk_dbus_station_call_who_am_i (d->client->station, g_task_get_cancellable (task), on_who, task);
}

static void
on_proxy_made (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  NewData *d = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  GObject *proxy = g_async_initable_new_finish (G_ASYNC_INITABLE (source), result, &error);

  if (proxy == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        unreachable (task, error, "making the proxies");
      return;
    }
  G_STRUCT_MEMBER (gpointer, d->client, proxy_types[d->next].offset) = proxy;
  d->next++;
  make_next_proxy (g_steal_pointer (&task));
}

static void
make_next_proxy (GTask *task)
{
  NewData *d = g_task_get_task_data (task);

  if (d->next == G_N_ELEMENTS (proxy_types))
    {
      ask_who (task);
      return;
    }
  /* No properties: the API has none, and loading them would be one more
   * round trip per interface. */
  g_async_initable_new_async (
      proxy_types[d->next].get_type (), G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
      on_proxy_made, task, "g-flags", G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES, "g-name",
      SK_APP_BUS_NAME, "g-connection", d->client->connection, "g-object-path", SK_APP_OBJECT_PATH,
      "g-interface-name", proxy_types[d->next].interface, NULL);
}

static void
on_pinged (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply =
      g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);

  if (reply == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        unreachable (task, error, "sekishod does not answer");
      return;
    }
  make_next_proxy (g_steal_pointer (&task));
}

static void
on_bus (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  NewData *d = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  d->client->connection = g_bus_get_finish (result, &error);
  if (d->client->connection == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        unreachable (task, error, "the system bus cannot be reached");
      return;
    }
  /* Peer.Ping is answered by any GDBus service and allowed by sekishod's
   * bus policy; it tells "not running" apart from "running" before any
   * window is shown. */
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_dbus_connection_call (d->client->connection, SK_APP_BUS_NAME, SK_APP_OBJECT_PATH,
                          "org.freedesktop.DBus.Peer", "Ping", NULL, NULL, G_DBUS_CALL_FLAGS_NONE,
                          PING_TIMEOUT_MS, cancellable, on_pinged, g_steal_pointer (&task));
}

void
sk_app_client_new_async (GCancellable *cancellable, GAsyncReadyCallback callback, gpointer data)
{
  g_autoptr (GTask) task = g_task_new (NULL, cancellable, callback, data);
  NewData *d = g_new0 (NewData, 1);

  g_task_set_source_tag (task, sk_app_client_new_async);
  /* The service's errors arrive as jp.sekisho.Error.* names: registering the
   * domain turns them back into SK_ERROR codes. */
  (void)SK_ERROR;
  d->client = g_object_new (SK_APP_TYPE_CLIENT, NULL);
  g_task_set_task_data (task, d, (GDestroyNotify)new_data_free);
  g_bus_get (G_BUS_TYPE_SYSTEM, cancellable, on_bus, g_steal_pointer (&task));
}

SkAppClient *
sk_app_client_new_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == sk_app_client_new_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

SkAppRole
sk_app_client_get_role (SkAppClient *self)
{
  g_return_val_if_fail (SK_APP_IS_CLIENT (self), SK_APP_ROLE_NONE);
  return self->role;
}

SkDbusCases *
sk_app_client_get_cases (SkAppClient *self)
{
  g_return_val_if_fail (SK_APP_IS_CLIENT (self), NULL);
  return self->cases;
}

SkDbusJournal *
sk_app_client_get_journal (SkAppClient *self)
{
  g_return_val_if_fail (SK_APP_IS_CLIENT (self), NULL);
  return self->journal;
}

SkDbusPolicy *
sk_app_client_get_policy (SkAppClient *self)
{
  g_return_val_if_fail (SK_APP_IS_CLIENT (self), NULL);
  return self->policy;
}

SkDbusKeys *
sk_app_client_get_keys (SkAppClient *self)
{
  g_return_val_if_fail (SK_APP_IS_CLIENT (self), NULL);
  return self->keys;
}

SkDbusStation *
sk_app_client_get_station (SkAppClient *self)
{
  g_return_val_if_fail (SK_APP_IS_CLIENT (self), NULL);
  return self->station;
}

SkDbusMedia *
sk_app_client_get_media (SkAppClient *self)
{
  g_return_val_if_fail (SK_APP_IS_CLIENT (self), NULL);
  return self->media;
}

/* ---- jobs ------------------------------------------------------------------ */

static void
on_job_proxy (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  SkDbusJob *job = sk_dbus_job_proxy_new_finish (result, &error);

  if (job == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, job, g_object_unref);
}

void
sk_app_client_job_async (SkAppClient *self,
                         const char *object_path,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer data)
{
  g_return_if_fail (SK_APP_IS_CLIENT (self));
  g_return_if_fail (object_path != NULL && g_variant_is_object_path (object_path));

  GTask *task = g_task_new (self, cancellable, callback, data);
  g_task_set_source_tag (task, sk_app_client_job_async);
  sk_dbus_job_proxy_new (self->connection, G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES,
                         SK_APP_BUS_NAME, object_path, cancellable, on_job_proxy, task);
}

SkDbusJob *
sk_app_client_job_finish (SkAppClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
