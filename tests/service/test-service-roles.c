/* test-service-roles.c — who may call what: each role calls each method
 * group; allowed calls get past the door, the others fail with
 * jp.sekisho.Error.RoleDenied, and every such refusal is in the station's
 * journal with the method and the uid */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "sk-test-service.h"

typedef struct
{
  const char *op;
  const char *args[3];
  guint roles;        /* the roles the call is for: ROLE (SK_ROLE_…) | … */
  const char *expect; /* the answer when such a role calls; NULL: "OK" */
} Call;

#define ROLE(r) (1u << (r))
#define OPERATOR ROLE (SK_ROLE_OPERATOR)
#define AUDITOR ROLE (SK_ROLE_AUDITOR)
#define ADMIN ROLE (SK_ROLE_ADMIN)

static const Call *
calls (gsize *n)
{
  static Call table[] = {
    { "Cases.List", { NULL }, OPERATOR, NULL },
    { "Cases.Show", { "NO-SUCH-CASE" }, OPERATOR, "ERR jp.sekisho.Error.CaseUnknown" },
    { "Cases.ListDownloads", { NULL }, OPERATOR, NULL },
    { "Cases.HandOff", { "NO-SUCH-CASE" }, OPERATOR, "JOB fail case-unknown" },
    /* No such package in the folder the operator opened. */
    { "Cases.Import", { "@files", "none.tar.gpg" }, OPERATOR, "JOB fail sig-missing" },
    /* Nothing in the operator's download folder by that name. */
    { "Cases.TakeIn", { "039004_KNY02_20261124153000_001.CSV" }, OPERATOR, "JOB fail io-error" },
    { "Cases.Export", { "NO-SUCH-CASE", "@files" }, OPERATOR, "JOB fail case-unknown" },
    { "Cases.ConfirmUpload", { "NO-SUCH-CASE" }, OPERATOR, "ERR jp.sekisho.Error.CaseUnknown" },
    { "Cases.Interrupt", { "NO-SUCH-CASE" }, OPERATOR, "ERR jp.sekisho.Error.CaseUnknown" },
    { "Cases.Approve", { "NO-SUCH-CASE", "X.CSV" }, OPERATOR, "ERR jp.sekisho.Error.CaseUnknown" },
    { "Journal.Show", { NULL }, AUDITOR, NULL },
    { "Journal.Verify", { NULL }, AUDITOR, "JOB ok -" },
    { "Journal.Checkpoint", { NULL }, AUDITOR, NULL },
    { "Journal.Export", { "@out/journal.csv" }, AUDITOR, "JOB ok -" },
    { "Journal.VerifyCheckpoint", { "@files/checkpoint.json" }, AUDITOR, NULL },
    { "Policy.Show", { NULL }, ADMIN, NULL },
    { "Policy.Install", { "@files/policy.json" }, ADMIN, NULL },
    { "Keys.List", { NULL }, ADMIN, NULL },
    { "Keys.Import", { "@files/admin.pub" }, ADMIN, NULL },
    { "Station.Status", { NULL }, OPERATOR | AUDITOR | ADMIN, NULL },
  };
  *n = G_N_ELEMENTS (table);
  return table;
}

static char *
call_table_entry (const User *user, const Call *c)
{
  g_autofree char *a0 = resolve_arg (c->args[0], user);
  g_autofree char *a1 = resolve_arg (c->args[1], user);
  return call_as (user, c->op, a0, a1, NULL);
}

/* The role-denied rows of the journal, as "uid method" strings. */
static GHashTable *
denials (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_station_open (sk_station_get_dir (svc.st.term), &error);
  g_assert_no_error (error);
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, TRUE, &error);
  g_assert_no_error (error);
  SkJournalFilter filter = { .event = "role-denied" };
  g_autoptr (GPtrArray) rows = sk_journal_query (journal, &filter, &error);
  g_assert_no_error (error);
  GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < rows->len; i++)
    {
      SkJournalRow *r = g_ptr_array_index (rows, i);
      g_assert_cmpstr (r->reason, ==, "role-denied");
      g_assert_cmpstr (r->outcome, ==, "refused");
      g_autoptr (JsonNode) details = json_from_string (r->details, &error);
      g_assert_no_error (error);
      const char *method = json_object_get_string_member (json_node_get_object (details), "method");
      g_hash_table_add (set, g_strdup_printf ("%" G_GINT64_FORMAT " %s", r->uid, method));
    }
  return set;
}

static void
assert_denial_journaled (GHashTable *set, guint uid, const char *op)
{
  g_autofree char *key = g_strdup_printf ("%u " IFACE_PREFIX "%s", uid, op);
  if (!g_hash_table_contains (set, key))
    g_error ("no role-denied entry for %s", key);
}

/* Each role calls each method: its own get past the door, the others are
 * refused as role-denied and journaled. */
void
test_roles (void)
{
  const struct
  {
    const User *user;
    SkRole role;
  } people[] = {
    { &sk_test_users[0], SK_ROLE_OPERATOR },
    { &sk_test_users[2], SK_ROLE_AUDITOR },
    { &sk_test_users[3], SK_ROLE_ADMIN },
  };
  gsize n;
  const Call *table = calls (&n);

  for (gsize p = 0; p < G_N_ELEMENTS (people); p++)
    for (gsize i = 0; i < n; i++)
      {
        g_autofree char *out = call_table_entry (people[p].user, &table[i]);
        gboolean allowed = (table[i].roles & ROLE (people[p].role)) != 0;
        const char *want = allowed ? (table[i].expect != NULL ? table[i].expect : "OK")
                                   : "ERR jp.sekisho.Error.RoleDenied";
        g_test_message ("%s calls %s: %s", people[p].user->name, table[i].op, out);
        g_assert_cmpstr (out, ==, want);
      }

  g_autoptr (GHashTable) set = denials ();
  for (gsize p = 0; p < G_N_ELEMENTS (people); p++)
    for (gsize i = 0; i < n; i++)
      if ((table[i].roles & ROLE (people[p].role)) == 0)
        assert_denial_journaled (set, people[p].user->uid, table[i].op);
}

/* One person, one role: a caller in two role groups, in none, or root
 * (polkit would say yes to uid 0) is refused everything, and journaled. */
void
test_no_single_role (void)
{
  gsize n;
  const Call *table = calls (&n);
  const User root = { "root", 0, "" };
  const User *refused[] = { &sk_test_users[4], &sk_test_users[5], NULL /* root */ };

  for (gsize u = 0; u < G_N_ELEMENTS (refused); u++)
    for (gsize i = 0; i < n; i++)
      {
        g_autofree char *out = call_table_entry (refused[u], &table[i]);
        g_assert_cmpstr (out, ==, "ERR jp.sekisho.Error.RoleDenied");
      }
  g_autoptr (GHashTable) set = denials ();
  for (gsize u = 0; u < G_N_ELEMENTS (refused); u++)
    for (gsize i = 0; i < n; i++)
      assert_denial_journaled (set, refused[u] != NULL ? refused[u]->uid : root.uid, table[i].op);
}

/* Anyone may ask who they are, roles or none: the answer is what the bus
 * knows (uid, groups) and the role that follows, or why there is none; and
 * asking journals nothing. */
void
test_who_am_i (void)
{
  const User root = { "root", 0, "" };
  const struct
  {
    const User *user;
    const char *role;    /* NULL: none */
    const char *refusal; /* NULL: none */
    const char *group;   /* a group the answer must name */
  } cases[] = {
    { &sk_test_users[0], "operator", NULL, "sekisho-operator" },
    { &sk_test_users[2], "auditor", NULL, "sekisho-auditor" },
    { &sk_test_users[3], "admin", NULL, "sekisho-admin" },
    { &sk_test_users[4], NULL, "role-denied", "sekisho-auditor" },
    { &sk_test_users[5], NULL, "role-denied", "sknone" },
    { &root, NULL, "role-denied", "root" },
  };
  gint64 before = journal_head ();
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const User *u = cases[i].user;
      g_autofree char *line = NULL;
      g_autoptr (JsonNode) node = reply_as (u->uid != 0 ? u : NULL, &line, "Station.WhoAmI", NULL);
      g_assert_cmpstr (line, ==, NULL);
      JsonObject *o = json_node_get_object (node);
      g_autofree char *text = json_to_string (node, FALSE);
      g_test_message ("%s: %s", u->name, text);
      g_assert_cmpint (json_object_get_int_member (o, "uid"), ==, u->uid);
      g_assert_cmpstr (json_object_get_string_member (o, "login"), ==, u->name);
      g_assert_cmpstr (json_object_get_string_member_with_default (o, "role", NULL), ==,
                       cases[i].role);
      g_assert_true (json_object_has_member (o, "role"));
      g_assert_cmpstr (json_object_get_string_member_with_default (o, "refusal", NULL), ==,
                       cases[i].refusal);
      JsonArray *groups = json_object_get_array_member (o, "groups");
      gboolean found = FALSE;
      for (guint g = 0; g < json_array_get_length (groups); g++)
        found = found || g_str_equal (json_array_get_string_element (groups, g), cases[i].group);
      g_assert_true (found);
    }
  g_assert_cmpint (journal_head (), ==, before);
}

/* A job belongs to the connection that started it: another connection,
 * even of the same operator, cannot ask or cancel it. */
void
test_job_owner (void)
{
  g_autofree char *out = call_as (&sk_test_users[1], "Job.Foreign", "NO-SUCH-CASE", NULL);
  g_assert_cmpstr (out, ==,
                   "JOB fail case-unknown; other connection: jp.sekisho.Error.RoleDenied; "
                   "own: finished");
  g_autoptr (GHashTable) set = denials ();
  assert_denial_journaled (set, sk_test_users[1].uid, "Job.GetResult");
}
