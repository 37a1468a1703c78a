/* sk-bouncer.h — who is calling, and may they (DESIGN.md §1, §11)
 *
 * The one door to polkit.  A method call is allowed only when all of this
 * holds, in this order:
 *   1. the bus daemon tells the caller's uid and groups
 *      (GetConnectionCredentials; never an argument of the call);
 *   2. the groups give exactly one role (core/sk-actor.h);
 *   3. that role is the role of the method's action;
 *   4. polkit, asked for the action about the caller's bus name, says yes.
 * Any error on the way — no credentials, an unknown action, no polkitd —
 * is a refusal (role-denied), never a pass.
 */
#pragma once

#include <gio/gio.h>

#include "sk-actor.h"

G_BEGIN_DECLS

#define SK_TYPE_BOUNCER (sk_bouncer_get_type ())
G_DECLARE_FINAL_TYPE (SkBouncer, sk_bouncer, SK, BOUNCER, GObject)

SkBouncer *
sk_bouncer_new (GDBusConnection *connection);

/* The caller of INVOCATION as the bus daemon knows it.  Blocks on the bus:
 * call it from a worker thread.  On a refusal *OUT_UID (when given) holds
 * the caller's uid, or -1 when even that is unknown. */
SkActor *
sk_bouncer_identify (SkBouncer *self,
                     GDBusMethodInvocation *invocation,
                     gint64 *out_uid,
                     GError **error);

/* The caller of INVOCATION as the bus daemon tells it: its uid and groups
 * (guint32), nothing decided yet.  Blocks on the bus. */
gboolean
sk_bouncer_credentials (SkBouncer *self,
                        GDBusMethodInvocation *invocation,
                        guint32 *out_uid,
                        GArray **out_gids,
                        GError **error);

/* A set of roles: SK_ROLE_BIT (SK_ROLE_OPERATOR) | … */
#define SK_ROLE_BIT(role) (1u << (role))

/* Steps 1–4 for ACTION_ID, which belongs to the roles in ROLES (a set of
 * SK_ROLE_BIT).  Blocks on polkit: call
 * it from a worker thread.  Returns the actor, or NULL with
 * SK_ERROR_ROLE_DENIED; *OUT_UID and *OUT_ROLE (when given) say who was
 * refused, for the journal. */
SkActor *
sk_bouncer_authorize (SkBouncer *self,
                      GDBusMethodInvocation *invocation,
                      const char *action_id,
                      guint roles,
                      gint64 *out_uid,
                      char **out_role,
                      GError **error);

G_END_DECLS
