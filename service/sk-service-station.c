/* sk-service-station.c — jp.sekisho.Station1.Station: who calls, and how
 * the station stands
 *
 * WhoAmI passes the door without an action (sk-service.c): it answers
 * only what the bus daemon says about the caller, decides nothing and
 * journals nothing.  Status is the object of `sekisho station status`.
 */
#define G_LOG_DOMAIN "sekisho-service"

#include "config.h"

#include <grp.h>
#include <json-glib/json-glib.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-report.h"
#include "sk-service-call.h"
#include "sk-service-private.h"

/* Room for one group entry from the system's group database. */
#define GROUP_BUFFER_SIZE (64 * 1024)

/* The name the system knows for GID, or "gid-N". */
static char *
group_name (guint32 gid)
{
  g_autofree char *buf = g_malloc (GROUP_BUFFER_SIZE);
  struct group gr, *found = NULL;
  if (getgrgid_r ((gid_t)gid, &gr, buf, GROUP_BUFFER_SIZE, &found) == 0 && found != NULL)
    return g_strdup (gr.gr_name);
  return g_strdup_printf ("gid-%u", gid);
}

static gboolean
on_who_am_i (SkDbusStation *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  guint32 uid = 0;
  g_autoptr (GArray) gids = NULL;
  if (!sk_bouncer_credentials (self->bouncer, invocation, &uid, &gids, &error))
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  SkRole role = SK_ROLE_NONE;
  g_autoptr (GError) refusal = NULL;
  gboolean has_role =
      sk_role_from_groups ((const guint32 *)(gpointer)gids->data, gids->len, &role, &refusal);
  g_autofree char *login = sk_actor_login_for_uid (uid);
  g_autofree char *safe_login = sk_escape_untrusted (login);

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "uid");
  json_builder_add_int_value (b, uid);
  json_builder_set_member_name (b, "login");
  json_builder_add_string_value (b, safe_login);
  json_builder_set_member_name (b, "role");
  if (has_role)
    json_builder_add_string_value (b, sk_role_to_string (role));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "refusal");
  if (has_role)
    json_builder_add_null_value (b);
  else
    json_builder_add_string_value (b, sk_error_get_reason (refusal));
  json_builder_set_member_name (b, "groups");
  json_builder_begin_array (b);
  for (guint i = 0; i < gids->len; i++)
    {
      g_autofree char *name = group_name (g_array_index (gids, guint32, i));
      g_autofree char *safe = sk_escape_untrusted (name);
      json_builder_add_string_value (b, safe);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = json_to_string (root, FALSE);
  sk_dbus_station_complete_who_am_i (skeleton, invocation, text);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_status (SkDbusStation *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  g_mutex_lock (&self->lock);
  g_autoptr (SkPolicy) policy = sk_station_load_policy (self->station, NULL);
  g_autoptr (JsonNode) status =
      sk_report_station_status (self->station, policy, self->pipeline, NULL, &error);
  g_mutex_unlock (&self->lock);
  if (status == NULL)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_autofree char *text = json_to_string (status, FALSE);
  sk_dbus_station_complete_status (skeleton, invocation, text);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
_sk_service_connect_station (SkService *self)
{
  g_signal_connect_object (self->station_iface, "handle-who-am-i", G_CALLBACK (on_who_am_i), self,
                           0);
  g_signal_connect_object (self->station_iface, "handle-status", G_CALLBACK (on_status), self, 0);
}
