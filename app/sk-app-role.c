/* sk-app-role.c — the caller's groups mapped to a role, as core/sk-actor.c maps them */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <grp.h>

#include "sk-app-role.h"

#define NSS_BUFFER_SIZE 16384

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

SkAppRole
sk_app_role_for_gids (const gid_t *gids, gsize n_gids, const gint64 role_gids[SK_APP_N_ROLE_GROUPS])
{
  static const SkAppRole roles[SK_APP_N_ROLE_GROUPS] = { SK_APP_ROLE_OPERATOR, SK_APP_ROLE_AUDITOR,
                                                         SK_APP_ROLE_ADMIN };
  SkAppRole role = SK_APP_ROLE_NONE;
  guint held = 0;

  g_return_val_if_fail (gids != NULL || n_gids == 0, SK_APP_ROLE_NONE);

  for (gsize r = 0; r < SK_APP_N_ROLE_GROUPS; r++)
    {
      if (role_gids[r] < 0)
        continue;
      for (gsize i = 0; i < n_gids; i++)
        if ((gint64)gids[i] == role_gids[r])
          {
            role = roles[r];
            held++;
            break;
          }
    }
  return held > 1 ? SK_APP_ROLE_SEVERAL : role;
}

SkAppRole
sk_app_role_from_groups (const gid_t *gids, gsize n_gids)
{
  static const char *const names[SK_APP_N_ROLE_GROUPS] = { "sekisho-operator", "sekisho-auditor",
                                                           "sekisho-admin" };
  gint64 role_gids[SK_APP_N_ROLE_GROUPS];

  /* Looked up on every start: a change of the group database counts at once. */
  for (gsize r = 0; r < SK_APP_N_ROLE_GROUPS; r++)
    {
      gid_t gid;
      role_gids[r] = group_gid (names[r], &gid) ? (gint64)gid : -1;
    }
  return sk_app_role_for_gids (gids, n_gids, role_gids);
}
