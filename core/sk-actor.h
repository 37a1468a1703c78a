/* sk-actor.h — who acts on the station, and in which role (DESIGN.md §1, §11)
 *
 * A role is proven by the kernel, never by a text: the caller's uid and
 * groups, as the bus daemon (or, in-process, this process) reports them.
 * The groups sekisho-operator, sekisho-auditor and sekisho-admin each grant
 * one role; a person holds exactly one.  A caller in none of them, or in
 * more than one, has no role and is refused (role-denied).  This file is the
 * one place that maps a uid and its groups to a role, and the one place in
 * core/ that asks the system who a uid is.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  SK_ROLE_NONE,
  SK_ROLE_OPERATOR,
  SK_ROLE_AUDITOR,
  SK_ROLE_ADMIN,
  SK_ROLE_SYSTEM, /* the station itself: recovery, the sweep */
} SkRole;

#define SK_GROUP_OPERATOR "sekisho-operator"
#define SK_GROUP_AUDITOR "sekisho-auditor"
#define SK_GROUP_ADMIN "sekisho-admin"

/* Who acts.  A caller's actor is made by sk_actor_new_for_caller () and
 * freed with sk_actor_free (); the station's own is sk_actor_system (). */
typedef struct
{
  gint64 uid;        /* -1 for the station itself */
  const char *login; /* the name the system knows for uid, or "uid-N"; NULL for the station */
  const char *role;  /* sk_role_to_string () of the role */
} SkActor;

const char *
sk_role_to_string (SkRole role);

/* The role of a caller whose groups are GIDS (the primary group included).
 * Returns FALSE with SK_ERROR_ROLE_DENIED when the caller is in no role
 * group or in more than one. */
gboolean
sk_role_from_groups (const guint32 *gids, gsize n_gids, SkRole *out_role, GError **error);

/* The actor for UID in GIDS: its login from the system's user database and
 * its role from sk_role_from_groups ().  NULL with SK_ERROR_ROLE_DENIED when
 * it has no role. */
SkActor *
sk_actor_new_for_caller (guint32 uid, const guint32 *gids, gsize n_gids, GError **error);

/* The actor for this process's own uid and groups, for the command line on
 * a station the caller owns.  ROLE is the role the command acts in; the
 * groups are not asked (a station the caller owns is the caller's alone). */
SkActor *
sk_actor_new_for_process (SkRole role);

/* The same, made once per role and kept for the process's life. */
const SkActor *
sk_actor_for_process (SkRole role);

const SkActor *
sk_actor_system (void);

SkActor *
sk_actor_copy (const SkActor *actor);
void
sk_actor_free (SkActor *actor);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkActor, sk_actor_free)

/* The name the system knows for UID, or "uid-N" when it has none (never an
 * invented name). */
char *
sk_actor_login_for_uid (guint32 uid);

G_END_DECLS
