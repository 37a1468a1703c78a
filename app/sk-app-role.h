/* sk-app-role.h — which role's window: the caller's groups, decided as sekishod decides */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

/* The caller's role on the station (DESIGN.md §1): exactly one of the groups
 * sekisho-operator, sekisho-auditor, sekisho-admin. */
typedef enum
{
  SK_APP_ROLE_NONE,
  SK_APP_ROLE_OPERATOR,
  SK_APP_ROLE_AUDITOR,
  SK_APP_ROLE_ADMIN,
  SK_APP_ROLE_SEVERAL, /* in more than one role group: refused, as the service does */
} SkAppRole;

#define SK_APP_N_ROLE_GROUPS 3

/* The role GIDS give, where ROLE_GIDS are the gids of sekisho-operator,
 * sekisho-auditor and sekisho-admin in that order (-1: no such group on this
 * system, so nobody holds that role): exactly one must be among GIDS.  The
 * same rule as core/sk-actor.c's. */
SkAppRole
sk_app_role_for_gids (const gid_t *gids,
                      gsize n_gids,
                      const gint64 role_gids[SK_APP_N_ROLE_GROUPS]);

/* The same, with the three groups looked up by name now. */
SkAppRole
sk_app_role_from_groups (const gid_t *gids, gsize n_gids);

G_END_DECLS
