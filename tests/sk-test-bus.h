/* sk-test-bus.h — a private system bus, test users and role groups
 *
 * What a test of the whole station needs before sekishod can start: a
 * dbus-daemon of type "system" with the stock default policy and the
 * project's own bus policy file, and test users in the three role groups
 * (written as passwd/group files a mount namespace binds over /etc).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  const char *name;
  guint uid;
  const char *groups; /* comma-separated role groups */
} SkTestUser;

/* skop1, skop2 (operators), skaud (auditor), skadm (admin), sktwo (operator
 * and auditor: refused), sknone (no role); uids far from real ones. */
extern const SkTestUser sk_test_users[];
extern const gsize sk_test_n_users;

/* DIR/passwd and DIR/group: the host's, plus the test users and the role
 * groups. */
void
sk_test_bus_write_user_db (const char *dir);

/* Starts `dbus-daemon` of type system listening in DIR, with the stock
 * default policy, polkit's bus policy and BUS_POLICY (the project's file)
 * included.  Returns the daemon; *ADDRESS is its address. */
GSubprocess *
sk_test_bus_start (const char *dir, const char *bus_policy, char **address);

/* Waits until NAME has an owner on BUS, or fails after 10 s. */
void
sk_test_bus_wait_for_name (GDBusConnection *bus, const char *name);

/* A new connection to the bus at ADDRESS. */
GDBusConnection *
sk_test_bus_connect (const char *address);

G_END_DECLS
