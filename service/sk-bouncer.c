/* sk-bouncer.c — the caller's identity from the bus, the decision from polkit */
#define G_LOG_DOMAIN "sekisho-bouncer"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <polkit/polkit.h>

#include "sk-bouncer.h"
#include "sk-error.h"

/* More groups than this is no person we serve. */
#define MAX_GROUPS 256

struct _SkBouncer
{
  GObject parent_instance;

  GDBusConnection *connection;
  GMutex lock;
  PolkitAuthority *authority; /* made on first use */
};

G_DEFINE_FINAL_TYPE (SkBouncer, sk_bouncer, G_TYPE_OBJECT)

static void
sk_bouncer_finalize (GObject *object)
{
  SkBouncer *self = SK_BOUNCER (object);

  g_clear_object (&self->connection);
  g_clear_object (&self->authority);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (sk_bouncer_parent_class)->finalize (object);
}

static void
sk_bouncer_class_init (SkBouncerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sk_bouncer_finalize;
}

static void
sk_bouncer_init (SkBouncer *self)
{
  g_mutex_init (&self->lock);
}

SkBouncer *
sk_bouncer_new (GDBusConnection *connection)
{
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), NULL);

  SkBouncer *self = g_object_new (SK_TYPE_BOUNCER, NULL);
  self->connection = g_object_ref (connection);
  return self;
}

static gboolean
denied (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);
static gboolean
denied (GError **error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, SK_ERROR, SK_ERROR_ROLE_DENIED, message);
  return FALSE;
}

/* UnixUserID and UnixGroupIDs of SENDER; both must be there. */
static gboolean
credentials (
    SkBouncer *self, const char *sender, guint32 *out_uid, GArray **out_gids, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GVariant) reply = g_dbus_connection_call_sync (
      self->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
      "GetConnectionCredentials", g_variant_new ("(s)", sender), G_VARIANT_TYPE ("(a{sv})"),
      G_DBUS_CALL_FLAGS_NONE, -1, NULL, &local_error);
  if (reply == NULL)
    return denied (error, _ ("the bus did not say who is calling: %s"), local_error->message);

  g_autoptr (GVariant) dict = g_variant_get_child_value (reply, 0);
  g_autoptr (GVariant) uid = g_variant_lookup_value (dict, "UnixUserID", G_VARIANT_TYPE_UINT32);
  g_autoptr (GVariant) gids = g_variant_lookup_value (dict, "UnixGroupIDs", G_VARIANT_TYPE ("au"));
  if (uid == NULL || gids == NULL)
    return denied (error, "%s", _ ("the bus did not give the caller's uid and groups"));

  gsize n = 0;
  const guint32 *list = g_variant_get_fixed_array (gids, &n, sizeof (guint32));
  if (n > MAX_GROUPS)
    return denied (error, _ ("the caller is in more than %d groups"), MAX_GROUPS);
  *out_uid = g_variant_get_uint32 (uid);
  *out_gids = g_array_sized_new (FALSE, FALSE, sizeof (guint32), (guint)n);
  g_array_append_vals (*out_gids, list, (guint)n);
  return TRUE;
}

gboolean
sk_bouncer_credentials (SkBouncer *self,
                        GDBusMethodInvocation *invocation,
                        guint32 *out_uid,
                        GArray **out_gids,
                        GError **error)
{
  g_return_val_if_fail (SK_IS_BOUNCER (self), FALSE);
  g_return_val_if_fail (G_IS_DBUS_METHOD_INVOCATION (invocation), FALSE);
  g_return_val_if_fail (out_uid != NULL && out_gids != NULL, FALSE);

  return credentials (self, g_dbus_method_invocation_get_sender (invocation), out_uid, out_gids,
                      error);
}

/* Whether ROLE_NAME (of an actor) is one of ROLES. */
static gboolean
role_in (const char *role_name, guint roles)
{
  for (SkRole r = SK_ROLE_OPERATOR; r <= SK_ROLE_ADMIN; r++)
    if ((roles & SK_ROLE_BIT (r)) != 0 && g_str_equal (role_name, sk_role_to_string (r)))
      return TRUE;
  return FALSE;
}

SkActor *
sk_bouncer_identify (SkBouncer *self,
                     GDBusMethodInvocation *invocation,
                     gint64 *out_uid,
                     GError **error)
{
  g_return_val_if_fail (SK_IS_BOUNCER (self), NULL);
  g_return_val_if_fail (G_IS_DBUS_METHOD_INVOCATION (invocation), NULL);

  guint32 uid = 0;
  g_autoptr (GArray) gids = NULL;
  if (out_uid != NULL)
    *out_uid = -1;
  if (!credentials (self, g_dbus_method_invocation_get_sender (invocation), &uid, &gids, error))
    return NULL;
  if (out_uid != NULL)
    *out_uid = uid;
  return sk_actor_new_for_caller (uid, (const guint32 *)(gpointer)gids->data, gids->len, error);
}

static PolkitAuthority *
authority (SkBouncer *self, GError **error)
{
  g_mutex_lock (&self->lock);
  if (self->authority == NULL)
    self->authority = polkit_authority_get_sync (NULL, error);
  PolkitAuthority *a = self->authority != NULL ? g_object_ref (self->authority) : NULL;
  g_mutex_unlock (&self->lock);
  return a;
}

SkActor *
sk_bouncer_authorize (SkBouncer *self,
                      GDBusMethodInvocation *invocation,
                      const char *action_id,
                      guint roles,
                      gint64 *out_uid,
                      char **out_role,
                      GError **error)
{
  g_return_val_if_fail (SK_IS_BOUNCER (self), NULL);
  g_return_val_if_fail (action_id != NULL, NULL);

  if (out_role != NULL)
    *out_role = NULL;
  g_autoptr (SkActor) actor = sk_bouncer_identify (self, invocation, out_uid, error);
  if (actor == NULL)
    return NULL;
  if (out_role != NULL)
    *out_role = g_strdup (actor->role);
  if (!role_in (actor->role, roles))
    {
      denied (error, _ ("the %s role may not do %s"), actor->role, action_id);
      return NULL;
    }

  g_autoptr (GError) local_error = NULL;
  g_autoptr (PolkitAuthority) a = authority (self, &local_error);
  if (a == NULL)
    {
      denied (error, _ ("polkit cannot be reached: %s"), local_error->message);
      return NULL;
    }
  g_autoptr (PolkitSubject) subject =
      polkit_system_bus_name_new (g_dbus_method_invocation_get_sender (invocation));
  g_autoptr (PolkitAuthorizationResult) result = polkit_authority_check_authorization_sync (
      a, subject, action_id, NULL, POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE, NULL, &local_error);
  if (result == NULL)
    {
      denied (error, _ ("polkit did not decide on %s: %s"), action_id, local_error->message);
      return NULL;
    }
  if (!polkit_authorization_result_get_is_authorized (result))
    {
      denied (error, _ ("polkit does not allow %s"), action_id);
      return NULL;
    }
  return g_steal_pointer (&actor);
}
