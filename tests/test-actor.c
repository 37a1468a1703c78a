/* test-actor.c — one role per person, from the groups alone */
#include "config.h"

#include <unistd.h>

#include "sk-actor-private.h"
#include "sk-error.h"

/* Role groups as a system might number them: operator 901, auditor 902,
 * admin 903. */
static const gint64 role_gids[SK_N_ROLE_GROUPS] = { 901, 902, 903 };

static void
test_role_rule (void)
{
  static const struct
  {
    guint32 gids[4];
    gsize n;
    gboolean ok;
    SkRole role;
  } cases[] = {
    { { 100 }, 1, FALSE, SK_ROLE_NONE },           /* no role group */
    { { 0 }, 0, FALSE, SK_ROLE_NONE },             /* no groups at all */
    { { 100, 901 }, 2, TRUE, SK_ROLE_OPERATOR },   /* one role group */
    { { 902 }, 1, TRUE, SK_ROLE_AUDITOR },         /* as the primary group */
    { { 5, 903, 6 }, 3, TRUE, SK_ROLE_ADMIN },     /* among others */
    { { 901, 902 }, 2, FALSE, SK_ROLE_NONE },      /* two roles: refused */
    { { 903, 100, 901 }, 3, FALSE, SK_ROLE_NONE }, /* admin and operator: refused */
    { { 901, 902, 903 }, 3, FALSE, SK_ROLE_NONE }, /* all three */
    { { 901, 901 }, 2, TRUE, SK_ROLE_OPERATOR },   /* the same group twice is one role */
    { { 0, 4, 27, 100 }, 4, FALSE, SK_ROLE_NONE }, /* root's groups are no shortcut */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      SkRole role = SK_ROLE_SYSTEM;
      gboolean ok = _sk_role_for_gids (cases[i].gids, cases[i].n, role_gids, &role, &error);
      g_test_message ("case %" G_GSIZE_FORMAT, i);
      g_assert_cmpint (ok, ==, cases[i].ok);
      if (ok)
        {
          g_assert_no_error (error);
          g_assert_cmpint (role, ==, cases[i].role);
        }
      else
        {
          g_assert_error (error, SK_ERROR, SK_ERROR_ROLE_DENIED);
          g_assert_cmpint (role, ==, SK_ROLE_SYSTEM); /* untouched */
        }
    }
}

/* A role group the system does not have is held by nobody, even by a gid
 * that happens to be -1 cast to 32 bits. */
static void
test_missing_group (void)
{
  const gint64 none[SK_N_ROLE_GROUPS] = { -1, 902, -1 };
  const guint32 gids[] = { G_MAXUINT32, 901 };
  g_autoptr (GError) error = NULL;
  SkRole role;

  g_assert_false (_sk_role_for_gids (gids, G_N_ELEMENTS (gids), none, &role, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_ROLE_DENIED);
}

/* Through the system's group database: this machine has no role groups
 * unless a test made them, so any caller is refused. */
static void
test_system_groups (void)
{
  g_autoptr (GError) error = NULL;
  const guint32 gids[] = { 0 };
  g_autoptr (SkActor) actor = sk_actor_new_for_caller (0, gids, 1, &error);
  if (actor != NULL)
    {
      g_test_skip ("this machine's root is in a sekisho role group");
      return;
    }
  g_assert_error (error, SK_ERROR, SK_ERROR_ROLE_DENIED);
}

static void
test_login (void)
{
  g_autofree char *root = sk_actor_login_for_uid (0);
  g_assert_cmpstr (root, ==, "root");
  /* A uid without an entry gets no invented name. */
  g_autofree char *nobody = sk_actor_login_for_uid (3999999);
  g_assert_cmpstr (nobody, ==, "uid-3999999");
}

static void
test_actor_copy (void)
{
  g_autoptr (SkActor) me = sk_actor_new_for_process (SK_ROLE_OPERATOR);
  g_assert_cmpint (me->uid, ==, (gint64)getuid ());
  g_assert_cmpstr (me->role, ==, "operator");
  g_assert_nonnull (me->login);

  g_autoptr (SkActor) copy = sk_actor_copy (me);
  g_assert_true (copy != me);
  g_assert_true (copy->login != me->login);
  g_assert_cmpstr (copy->login, ==, me->login);
  g_assert_cmpstr (copy->role, ==, me->role);
  g_assert_cmpint (copy->uid, ==, me->uid);

  /* The process's actor per role is made once. */
  const SkActor *admin = sk_actor_for_process (SK_ROLE_ADMIN);
  g_assert_true (admin == sk_actor_for_process (SK_ROLE_ADMIN));
  g_assert_cmpstr (admin->role, ==, "admin");
  g_assert_cmpstr (admin->login, ==, me->login);
  g_assert_cmpstr (sk_actor_for_process (SK_ROLE_AUDITOR)->role, ==, "auditor");

  const SkActor *system = sk_actor_system ();
  g_assert_cmpint (system->uid, ==, -1);
  g_assert_null (system->login);
  g_assert_cmpstr (system->role, ==, "system");
  g_autoptr (SkActor) system_copy = sk_actor_copy (system);
  g_assert_null (system_copy->login);
  g_assert_cmpstr (system_copy->role, ==, "system");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/actor/role-rule", test_role_rule);
  g_test_add_func ("/actor/missing-group", test_missing_group);
  g_test_add_func ("/actor/system-groups", test_system_groups);
  g_test_add_func ("/actor/login", test_login);
  g_test_add_func ("/actor/copy", test_actor_copy);
  return g_test_run ();
}
