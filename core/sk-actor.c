/* sk-actor.c — a uid and its groups mapped to a role, in one place */
#define G_LOG_DOMAIN "sekisho-actor"

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "sk-actor-private.h"
#include "sk-error.h"

#define NSS_BUFFER_SIZE 16384

const char *
sk_role_to_string (SkRole role)
{
  switch (role)
    {
    case SK_ROLE_OPERATOR:
      return "operator";
    case SK_ROLE_AUDITOR:
      return "auditor";
    case SK_ROLE_ADMIN:
      return "admin";
    case SK_ROLE_SYSTEM:
      return "system";
    case SK_ROLE_NONE:
    default:
      return "none";
    }
}

/* The gid of group NAME, or FALSE when the system has no such group (then
 * nobody holds its role). */
static gboolean
group_gid (const char *name, gid_t *out_gid)
{
  g_autofree char *buf = g_malloc (NSS_BUFFER_SIZE);
  struct group gr, *found = NULL;

  if (getgrnam_r (name, &gr, buf, NSS_BUFFER_SIZE, &found) != 0 || found == NULL)
    return FALSE;
  *out_gid = gr.gr_gid;
  return TRUE;
}

static gboolean
has_gid (const guint32 *gids, gsize n_gids, gint64 gid)
{
  for (gsize i = 0; gid >= 0 && i < n_gids; i++)
    if ((gint64)gids[i] == gid)
      return TRUE;
  return FALSE;
}

gboolean
_sk_role_for_gids (const guint32 *gids,
                   gsize n_gids,
                   const gint64 role_gids[SK_N_ROLE_GROUPS],
                   SkRole *out_role,
                   GError **error)
{
  static const SkRole roles[SK_N_ROLE_GROUPS] = { SK_ROLE_OPERATOR, SK_ROLE_AUDITOR,
                                                  SK_ROLE_ADMIN };
  SkRole role = SK_ROLE_NONE;
  guint held = 0;

  for (gsize i = 0; i < SK_N_ROLE_GROUPS; i++)
    if (has_gid (gids, n_gids, role_gids[i]))
      {
        role = roles[i];
        held++;
      }
  if (held == 0)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_ROLE_DENIED,
                   _ ("the caller is in none of the groups %s, %s, %s"), SK_GROUP_OPERATOR,
                   SK_GROUP_AUDITOR, SK_GROUP_ADMIN);
      return FALSE;
    }
  if (held > 1)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_ROLE_DENIED,
                   _ ("the caller is in %u of the groups %s, %s, %s; one person holds one role"),
                   held, SK_GROUP_OPERATOR, SK_GROUP_AUDITOR, SK_GROUP_ADMIN);
      return FALSE;
    }
  *out_role = role;
  return TRUE;
}

gboolean
sk_role_from_groups (const guint32 *gids, gsize n_gids, SkRole *out_role, GError **error)
{
  g_return_val_if_fail (gids != NULL || n_gids == 0, FALSE);
  g_return_val_if_fail (out_role != NULL, FALSE);

  /* The groups are looked up by name on every call, so that a change of
   * the group database takes effect for the next call. */
  static const char *const names[SK_N_ROLE_GROUPS] = { SK_GROUP_OPERATOR, SK_GROUP_AUDITOR,
                                                       SK_GROUP_ADMIN };
  gint64 role_gids[SK_N_ROLE_GROUPS];
  for (gsize i = 0; i < SK_N_ROLE_GROUPS; i++)
    {
      gid_t gid;
      role_gids[i] = group_gid (names[i], &gid) ? (gint64)gid : -1;
    }
  return _sk_role_for_gids (gids, n_gids, role_gids, out_role, error);
}

char *
sk_actor_login_for_uid (guint32 uid)
{
  g_autofree char *buf = g_malloc (NSS_BUFFER_SIZE);
  struct passwd pw, *found = NULL;

  if (getpwuid_r ((uid_t)uid, &pw, buf, NSS_BUFFER_SIZE, &found) == 0 && found != NULL)
    return g_strdup (pw.pw_name);
  return g_strdup_printf ("uid-%u", uid);
}

/* One block: the struct, then the bytes of its login and role. */
static SkActor *
actor_new (gint64 uid, const char *login, const char *role)
{
  gsize login_len = login != NULL ? strlen (login) + 1 : 0;
  gsize role_len = strlen (role) + 1;
  SkActor *actor = g_malloc0 (sizeof (SkActor) + login_len + role_len);
  char *bytes = (char *)(actor + 1);

  actor->uid = uid;
  if (login != NULL)
    {
      memcpy (bytes, login, login_len);
      actor->login = bytes;
    }
  memcpy (bytes + login_len, role, role_len);
  actor->role = bytes + login_len;
  return actor;
}

SkActor *
sk_actor_new_for_caller (guint32 uid, const guint32 *gids, gsize n_gids, GError **error)
{
  SkRole role;

  if (!sk_role_from_groups (gids, n_gids, &role, error))
    return NULL;
  g_autofree char *login = sk_actor_login_for_uid (uid);
  return actor_new ((gint64)uid, login, sk_role_to_string (role));
}

SkActor *
sk_actor_new_for_process (SkRole role)
{
  uid_t uid = getuid ();
  g_autofree char *login = sk_actor_login_for_uid ((guint32)uid);
  return actor_new ((gint64)uid, login, sk_role_to_string (role));
}

const SkActor *
sk_actor_for_process (SkRole role)
{
  static gsize actors[SK_ROLE_SYSTEM + 1];

  g_return_val_if_fail (role <= SK_ROLE_SYSTEM, NULL);
  if (g_once_init_enter (&actors[role]))
    g_once_init_leave (&actors[role], (gsize)sk_actor_new_for_process (role));
  return (const SkActor *)actors[role];
}

const SkActor *
sk_actor_system (void)
{
  static const SkActor system = { -1, NULL, "system" };
  return &system;
}

SkActor *
sk_actor_copy (const SkActor *actor)
{
  g_return_val_if_fail (actor != NULL, NULL);

  return actor_new (actor->uid, actor->login, actor->role != NULL ? actor->role : "none");
}

void
sk_actor_free (SkActor *actor)
{
  g_free (actor);
}
