/* sk-actor-private.h — the role rule itself, for the tests */
#pragma once

#include "sk-actor.h"

G_BEGIN_DECLS

/* The role groups, in this order: operator, auditor, admin. */
#define SK_N_ROLE_GROUPS 3

/* The role of a caller in GIDS when the role groups have ROLE_GIDS (-1: the
 * system has no such group). */
gboolean
_sk_role_for_gids (const guint32 *gids,
                   gsize n_gids,
                   const gint64 role_gids[SK_N_ROLE_GROUPS],
                   SkRole *out_role,
                   GError **error);

G_END_DECLS
