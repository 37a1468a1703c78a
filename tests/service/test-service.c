/* test-service.c — the real sekishod on a private system bus, with the real
 * polkitd, the tree's bus policy, polkit actions and rules, and test users
 *
 * As root, the test runs itself again inside `unshare --mount` with a
 * passwd and group holding its test users, and the tree's polkit actions
 * and rules bind-mounted where polkitd reads them (TESTING.md).  There it
 * starts dbus-daemon (stock default policy plus
 * packaging/dbus/jp.sekisho.Station1.conf), polkitd and sekishod on a
 * station of its own, then calls each method group as each role through
 * `setpriv --reuid --regid --init-groups` (sk-bus-client.c): allowed calls get past the
 * door, the others fail with jp.sekisho.Error.RoleDenied, and every such
 * refusal is in the station's journal with the method and the uid.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-fault.h"
#include "sk-journal-csv.h"
#include "sk-journal.h"
#include "sk-package.h"
#include "sk-pipeline.h"
#include "sk-synth.h"
#include "sk-test-gpg.h"
#include "sk-test-bus.h"
#include "sk-test-stations.h"
#include "sk-test-util.h"

#define BUS_NAME "jp.sekisho.Station1"
#define OBJECT_PATH "/jp/sekisho/Station1"
#define IFACE_PREFIX "jp.sekisho.Station1."

/* ---- the harness -------------------------------------------------------- */

/* The test users and role groups: tests/sk-test-bus.c. */
typedef SkTestUser User;

static struct
{
  char *tmp;
  char *client; /* this binary, copied where the test users can run it */
  char *files;  /* readable by the test users */
  SkTestStations st;
  GSubprocess *bus;
  GSubprocess *polkitd;
  GSubprocess *service;
  char *address;
  char *journald; /* a socket standing in for journald's, or NULL */
} h;

static void
write_text (const char *path, const char *text, int mode)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_NONE, mode, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
}

static void
copy_file (const char *from, const char *to, int mode)
{
  g_autofree char *text = NULL;
  gsize len;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (from, &text, &len, &error));
  g_assert_true (
      g_file_set_contents_full (to, text, (gssize)len, G_FILE_SET_CONTENTS_NONE, mode, &error));
  g_assert_cmpint (g_chmod (to, mode), ==, 0);
}

/* The outer run: prepare, then run the inner one in a mount namespace of
 * its own (and a pid namespace, so nothing it starts outlives it).
 * Returns the inner's exit status. */
static int
outer_main (int argc, char **argv)
{
  if (geteuid () != 0)
    {
      g_print ("1..0 # SKIP needs root (a private mount namespace and test users)\n");
      return 0;
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("sk-svc-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (tmp, 0755), ==, 0);
  sk_test_bus_write_user_db (tmp);

  g_autofree char *actions = g_build_filename (tmp, "actions", NULL);
  g_autofree char *rules = g_build_filename (tmp, "rules.d", NULL);
  g_autofree char *empty = g_build_filename (tmp, "empty", NULL);
  g_autofree char *run = g_build_filename (tmp, "run", NULL);
  g_assert_cmpint (g_mkdir (actions, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (rules, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (empty, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (run, 0755), ==, 0);
  g_autofree char *action_file = g_build_filename (actions, "jp.sekisho.policy", NULL);
  g_autofree char *rule_file = g_build_filename (rules, "50-sekisho.rules", NULL);
  copy_file (g_getenv ("SK_POLKIT_ACTIONS"), action_file, 0644);
  copy_file (g_getenv ("SK_POLKIT_RULES"), rule_file, 0644);

  const char *script = "set -e\n"
                       "T=$1; shift\n"
                       "mount --bind \"$T/passwd\" /etc/passwd\n"
                       "mount --bind \"$T/group\" /etc/group\n"
                       "mount --bind \"$T/actions\" /usr/share/polkit-1/actions\n"
                       "mount --bind \"$T/rules.d\" /etc/polkit-1/rules.d\n"
                       "mount --bind \"$T/empty\" /usr/share/polkit-1/rules.d\n"
                       "mount -t tmpfs -o mode=0711,nosuid,nodev,noexec tmpfs \"$T/run\"\n"
                       "SK_SERVICE_TMP=$T exec \"$@\"\n";
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  /* A pid namespace too: whatever the inner run leaves, dies with it. */
  const char *head[] = {
    "unshare",      "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child",
    "--mount-proc", "--",      "/bin/sh",       "-c",      script,  "sh",     tmp,
    argv[0],        "--inner"
  };
  for (gsize i = 0; i < G_N_ELEMENTS (head); i++)
    g_ptr_array_add (args, (gpointer)head[i]);
  for (int i = 1; i < argc; i++)
    g_ptr_array_add (args, argv[i]);
  g_ptr_array_add (args, NULL);
  g_autoptr (GSubprocess) inner =
      g_subprocess_newv ((const char *const *)args->pdata, G_SUBPROCESS_FLAGS_NONE, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait (inner, NULL, &error));
  int status = g_subprocess_get_if_exited (inner) ? g_subprocess_get_exit_status (inner) : 1;

  /* The namespace is gone with the inner run: its tmpfs too. */
  g_autofree char *rm_argv_dir = g_strdup (tmp);
  const char *rm[] = { "rm", "-rf", "--one-file-system", rm_argv_dir, NULL };
  g_autoptr (GSubprocess) cleanup = g_subprocess_newv (rm, G_SUBPROCESS_FLAGS_NONE, NULL);
  if (cleanup != NULL)
    g_subprocess_wait (cleanup, NULL, NULL);
  return status;
}

static GSubprocess *
spawn_with_bus (const char *const *argv, GSubprocessFlags flags)
{
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (flags);
  g_subprocess_launcher_setenv (l, "DBUS_SYSTEM_BUS_ADDRESS", h.address, TRUE);
  g_autoptr (GError) error = NULL;
  GSubprocess *p = g_subprocess_launcher_spawnv (l, argv, &error);
  g_assert_no_error (error);
  return p;
}

static void
start_bus (void)
{
  h.bus = sk_test_bus_start (h.tmp, g_getenv ("SK_BUS_POLICY"), &h.address);
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", h.address, TRUE);
}

static GDBusConnection *
bus_connection (void)
{
  return sk_test_bus_connect (h.address);
}

/* SIGTERM, then wait; returns the exit status (-1: killed by a signal). */
static int
stop (GSubprocess **proc)
{
  if (*proc == NULL)
    return 0;
  g_subprocess_send_signal (*proc, SIGTERM);
  g_subprocess_wait (*proc, NULL, NULL);
  int status = g_subprocess_get_if_exited (*proc) ? g_subprocess_get_exit_status (*proc) : -1;
  g_clear_object (proc);
  return status;
}

static char *
call_va (const User *user, const char *mode, const char *op, va_list ap);

/* Runs OP with ARGS as USER (NULL: root); returns its one line of output. */
static char *
call_as (const User *user, const char *op, ...) G_GNUC_NULL_TERMINATED;
static char *
call_as (const User *user, const char *op, ...)
{
  va_list ap;
  va_start (ap, op);
  char *out = call_va (user, "--client", op, ap);
  va_end (ap);
  return out;
}

/* Runs OP (a method that answers a JSON text) as USER; returns the answer,
 * parsed, or NULL with the error line in *OUT_LINE. */
static JsonNode *
reply_as (const User *user, char **out_line, const char *op, ...) G_GNUC_NULL_TERMINATED;
static JsonNode *
reply_as (const User *user, char **out_line, const char *op, ...)
{
  va_list ap;
  va_start (ap, op);
  g_autofree char *out = call_va (user, "--client-reply", op, ap);
  va_end (ap);
  /* A method's answer, or a job's result when it ended well. */
  const char *json = g_str_has_prefix (out, "OK ")         ? out + strlen ("OK ")
                     : g_str_has_prefix (out, "JOB ok - ") ? out + strlen ("JOB ok - ")
                                                           : NULL;
  if (json == NULL)
    {
      *out_line = g_steal_pointer (&out);
      return NULL;
    }
  g_autoptr (GError) error = NULL;
  JsonNode *node = json_from_string (json, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  *out_line = NULL;
  return node;
}

static char *
call_va (const User *user, const char *mode, const char *op, va_list ap)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  if (user != NULL)
    {
      g_ptr_array_add (argv, g_strdup ("setpriv"));
      g_ptr_array_add (argv, g_strdup_printf ("--reuid=%s", user->name));
      g_ptr_array_add (argv, g_strdup_printf ("--regid=%s", user->name));
      g_ptr_array_add (argv, g_strdup ("--init-groups"));
      g_ptr_array_add (argv, g_strdup ("--"));
    }
  g_ptr_array_add (argv, g_strdup (h.client));
  g_ptr_array_add (argv, g_strdup (mode));
  g_ptr_array_add (argv, g_strdup (op));
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, g_strdup (a));
  g_ptr_array_add (argv, NULL);

  g_autoptr (GSubprocess) p =
      spawn_with_bus ((const char *const *)argv->pdata, G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autofree char *out = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  g_strchomp (out);
  return g_steal_pointer (&out);
}

/* A new checkpoint of STATION copied with its signature into the files
 * the test users can read, as NAME and NAME.sig; returns the copy's path. */
static char *
checkpoint_for_users (SkStation *station, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *cp =
      sk_station_make_checkpoint (station, sk_actor_for_process (SK_ROLE_AUDITOR), &error);
  g_assert_no_error (error);
  g_autofree char *sig = g_strconcat (cp, ".sig", NULL);
  char *copy = g_build_filename (h.files, name, NULL);
  g_autofree char *sig_copy = g_strconcat (copy, ".sig", NULL);
  copy_file (cp, copy, 0644);
  copy_file (sig, sig_copy, 0644);
  return copy;
}

static void
setup (void)
{
  umask (077);
  h.tmp = g_strdup (g_getenv ("SK_SERVICE_TMP"));
  g_assert_nonnull (h.tmp);

  /* The client (sk-bus-client.c) runs as the test users: a copy they can
   * run, and files they can read. */
  h.client = g_build_filename (h.tmp, "client", NULL);
  copy_file (g_getenv ("SK_BUS_CLIENT"), h.client, 0755);
  h.files = g_build_filename (h.tmp, "files", NULL);
  g_assert_cmpint (g_mkdir (h.files, 0755), ==, 0);
  g_assert_cmpint (g_chmod (h.files, 0755), ==, 0);

  g_autofree char *stations = g_build_filename (h.tmp, "st", NULL);
  g_assert_cmpint (g_mkdir (stations, 0700), ==, 0);
  sk_test_stations_make (stations, &h.st);
  g_autofree char *policy = g_build_filename (stations, "policy.json", NULL);
  g_autofree char *policy_sig = g_build_filename (stations, "policy.json.sig", NULL);
  g_autofree char *policy_copy = g_build_filename (h.files, "policy.json", NULL);
  g_autofree char *policy_sig_copy = g_build_filename (h.files, "policy.json.sig", NULL);
  copy_file (policy, policy_copy, 0644);
  copy_file (policy_sig, policy_sig_copy, 0644);
  /* A checkpoint kept off the station, for Journal.VerifyCheckpoint. */
  g_free (checkpoint_for_users (h.st.term, "checkpoint.json"));
  g_autofree char *key_copy = g_build_filename (h.files, "admin.pub", NULL);
  g_assert_true (g_file_set_contents_full (
      key_copy, g_bytes_get_data (sk_test_keys.admin_pub, NULL),
      (gssize)g_bytes_get_size (sk_test_keys.admin_pub), G_FILE_SET_CONTENTS_NONE, 0644, NULL));
  g_assert_cmpint (g_chmod (key_copy, 0644), ==, 0);

  start_bus ();
  g_autoptr (GDBusConnection) bus = bus_connection ();
  const char *polkitd[] = { "/usr/lib/polkit-1/polkitd", "--no-debug", NULL };
  h.polkitd = spawn_with_bus (polkitd, G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  sk_test_bus_wait_for_name (bus, "org.freedesktop.PolicyKit1");

  g_autofree char *run = g_build_filename (h.tmp, "run", NULL);
  const char *service[] = { g_getenv ("SEKISHOD"), "--station", sk_station_get_dir (h.st.term),
                            "--handoff-root",      run,         NULL };
  h.service = spawn_with_bus (service, G_SUBPROCESS_FLAGS_NONE);
  sk_test_bus_wait_for_name (bus, BUS_NAME);
}

static void
teardown (void)
{
  /* The service ends cleanly on SIGTERM; under LeakSanitizer a leak would
   * make this fail. */
  g_assert_cmpint (stop (&h.service), ==, 0);
  stop (&h.polkitd);
  stop (&h.bus);
  sk_test_stations_clear (&h.st);
  sk_test_keys_free ();
}

/* ---- the tests ------------------------------------------------------------ */

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
resolve_arg (const char *arg, const User *user)
{
  if (arg != NULL && g_str_equal (arg, "@files"))
    return g_strdup (h.files);
  if (arg != NULL && g_str_has_prefix (arg, "@files/"))
    return g_build_filename (h.files, arg + strlen ("@files/"), NULL);
  /* A file of its own for each caller, in a folder all may write. */
  if (arg != NULL && g_str_has_prefix (arg, "@out/"))
    {
      g_autofree char *out = g_build_filename (h.tmp, "out", NULL);
      g_mkdir (out, 01777);
      g_chmod (out, 01777);
      g_autofree char *name =
          g_strdup_printf ("%s.%s", user != NULL ? user->name : "root", arg + strlen ("@out/"));
      return g_build_filename (out, name, NULL);
    }
  return g_strdup (arg);
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
  g_autoptr (SkStation) station = sk_station_open (sk_station_get_dir (h.st.term), &error);
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
static void
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
static void
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

static gint64
journal_head (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_station_open (sk_station_get_dir (h.st.term), &error);
  g_assert_no_error (error);
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, TRUE, &error);
  g_assert_no_error (error);
  gint64 head = 0;
  g_assert_true (sk_journal_head (journal, &head, NULL, &error));
  g_assert_no_error (error);
  return head;
}

/* VerifyCheckpoint as AUDITOR of the checkpoint PATH (and PATH.sig):
 * the verdict object. */
static JsonObject *
verify_checkpoint (const char *path)
{
  g_autofree char *line = NULL;
  g_autoptr (JsonNode) node =
      reply_as (&sk_test_users[2], &line, "Journal.VerifyCheckpoint", path, NULL);
  g_assert_cmpstr (line, ==, NULL);
  g_autofree char *text = json_to_string (node, FALSE);
  g_test_message ("verdict: %s", text);
  return json_object_ref (json_node_get_object (node));
}

/* An auditor's checkpoint kept off the station, checked against the
 * journal through the service: a good one matches at its seq; the same
 * with one byte changed, or another station's, is refused by its
 * signature; nothing is journaled by asking.  And Journal.Verify checks
 * the station's newest checkpoint as in-process verify does. */
static void
test_verify_checkpoint (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *good = g_build_filename (h.files, "checkpoint.json", NULL);
  g_autoptr (GBytes) cp = NULL, sig = NULL;
  g_assert_true (sk_station_read_checkpoint (good, &cp, &sig, &error));
  g_assert_no_error (error);
  gint64 seq = -1;
  g_assert_true (sk_checkpoint_parse (cp, &seq, NULL, NULL, NULL, &error));
  gint64 before = journal_head ();

  g_autoptr (JsonObject) v = verify_checkpoint (good);
  g_assert_cmpstr (json_object_get_string_member (v, "verdict"), ==, "matches");
  g_assert_true (json_object_get_boolean_member (v, "ok"));
  g_assert_true (json_object_get_null_member (v, "reason"));
  g_assert_cmpint (json_object_get_int_member (v, "seq"), ==, seq);
  g_assert_cmpint (json_object_get_int_member (v, "entries"), >=, seq);

  /* One digit of the head changed: the signature no longer holds. */
  g_autofree char *bad = g_build_filename (h.files, "tampered.json", NULL);
  g_autofree char *bad_sig = g_strconcat (bad, ".sig", NULL);
  g_autofree char *text = g_strndup (g_bytes_get_data (cp, NULL), g_bytes_get_size (cp));
  char *hash = strstr (text, "\"head_hash\":\"");
  g_assert_nonnull (hash);
  hash += strlen ("\"head_hash\":\"");
  *hash = *hash == '0' ? '1' : '0';
  write_text (bad, text, 0644);
  g_assert_true (g_file_set_contents_full (bad_sig, g_bytes_get_data (sig, NULL),
                                           (gssize)g_bytes_get_size (sig), G_FILE_SET_CONTENTS_NONE,
                                           0644, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (bad_sig, 0644), ==, 0);
  g_autoptr (JsonObject) t = verify_checkpoint (bad);
  g_assert_cmpstr (json_object_get_string_member (t, "verdict"), ==, "signature");
  g_assert_false (json_object_get_boolean_member (t, "ok"));
  g_assert_true (g_str_has_prefix (json_object_get_string_member (t, "reason"), "sig-"));
  g_assert_true (json_object_get_null_member (t, "seq"));

  /* The standard system's checkpoint: another station's key. */
  g_autofree char *other_copy = checkpoint_for_users (h.st.std, "other.json");
  g_autoptr (JsonObject) o = verify_checkpoint (other_copy);
  g_assert_cmpstr (json_object_get_string_member (o, "verdict"), ==, "signature");
  g_assert_false (json_object_get_boolean_member (o, "ok"));
  g_assert_cmpint (journal_head (), ==, before);

  /* Journal.Verify: the newest checkpoint of the station is checked too,
   * so one whose head was changed fails the verification. */
  g_autofree char *verified = call_as (&sk_test_users[2], "Journal.Verify", NULL);
  g_assert_cmpstr (verified, ==, "JOB ok -");
  g_autofree char *newest = sk_station_latest_checkpoint (h.st.term);
  g_assert_nonnull (newest);
  g_autofree char *kept = NULL;
  gsize kept_len = 0;
  g_assert_true (g_file_get_contents (newest, &kept, &kept_len, &error));
  g_autofree char *changed = g_strdup (kept);
  char *h2 = strstr (changed, "\"head_hash\":\"");
  g_assert_nonnull (h2);
  h2 += strlen ("\"head_hash\":\"");
  *h2 = *h2 == '0' ? '1' : '0';
  write_text (newest, changed, 0600);
  g_autofree char *refused = call_as (&sk_test_users[2], "Journal.Verify", NULL);
  write_text (newest, kept, 0600);
  g_assert_cmpstr (refused, ==, "JOB fail sig-bad");
  g_autofree char *again = call_as (&sk_test_users[2], "Journal.Verify", NULL);
  g_assert_cmpstr (again, ==, "JOB ok -");
}

/* Journal.Show's names and Journal.Export's options.  Export: unknown
 * options, a zone that is a path and a
 * header language it does not know are usage errors; with Japanese
 * headers and a zone, the record comes with the checkpoint that covers
 * exactly its rows, and verifies off the station against it. */
static void
test_journal_export_options (void)
{
  const User *auditor = &sk_test_users[2];
  g_autofree char *out = resolve_arg ("@out/options.csv", auditor);
  const char *refused[] = { "colour=red", "zone=../../../etc/shadow", "zone=/etc/localtime",
                            "zone=Mars/Olympus", "headers=fr" };
  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autofree char *line = call_as (auditor, "Journal.Export", out, refused[i], NULL);
      g_test_message ("%s: %s", refused[i], line);
      g_assert_cmpstr (line, ==, "ERR jp.sekisho.Error.Usage");
    }

  /* Journal.Show: a misspelt event or reason is a usage error too, a
   * known event with no entries is none. */
  const char *show_refused[] = { "event=package-imprted", "reason=sig-bda" };
  for (gsize i = 0; i < G_N_ELEMENTS (show_refused); i++)
    {
      g_autofree char *line = call_as (auditor, "Journal.Show", show_refused[i], NULL);
      g_assert_cmpstr (line, ==, "ERR jp.sekisho.Error.Usage");
    }
  g_autofree char *line = NULL;
  g_autoptr (JsonNode) none =
      reply_as (auditor, &line, "Journal.Show", "event=package-imported", "reason=sig-bad", NULL);
  g_assert_cmpstr (line, ==, NULL);
  g_assert_cmpuint (
      json_array_get_length (json_object_get_array_member (json_node_get_object (none), "entries")),
      ==, 0);

  g_autoptr (JsonNode) node =
      reply_as (auditor, &line, "Journal.Export", out, "headers=ja", "zone=+09:00", NULL);
  g_assert_cmpstr (line, ==, NULL);
  g_autoptr (GError) error = NULL;
  JsonObject *r = json_node_get_object (node);
  gint64 seq = json_object_get_int_member (r, "seq");
  g_assert_cmpint (json_object_get_int_member (r, "rows"), ==, seq);
  g_assert_cmpstr (json_object_get_string_member (r, "headers"), ==, "ja");
  const char *text = json_object_get_string_member (r, "checkpoint");
  g_autoptr (GBytes) cp = g_bytes_new (text, strlen (text));
  gint64 cp_seq = -1;
  g_autofree char *head = NULL, *station = NULL;
  g_assert_true (sk_checkpoint_parse (cp, &cp_seq, &head, &station, NULL, &error));
  g_assert_cmpint (cp_seq, ==, seq);

  g_autofree char *csv = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (out, &csv, &len, &error));
  g_assert_true (g_str_has_prefix (csv, "\xef\xbb\xbf"
                                        "連番"));
  g_assert_nonnull (strstr (csv, "+09:00"));
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_data (csv, (gssize)len, NULL);
  SkJournalCsvCheck check = { 0 };
  g_assert_true (sk_journal_csv_verify (in, cp_seq, head, station, &check, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (check.rows, ==, seq);
}

/* Anyone may ask who they are, roles or none: the answer is what the bus
 * knows (uid, groups) and the role that follows, or why there is none; and
 * asking journals nothing. */
static void
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
static void
test_job_owner (void)
{
  g_autofree char *out = call_as (&sk_test_users[1], "Job.Foreign", "NO-SUCH-CASE", NULL);
  g_assert_cmpstr (out, ==,
                   "JOB fail case-unknown; other connection: jp.sekisho.Error.RoleDenied; "
                   "own: finished");
  g_autoptr (GHashTable) set = denials ();
  assert_denial_journaled (set, sk_test_users[1].uid, "Job.GetResult");
}

static void
on_case_changed (GDBusConnection *c,
                 const char *sender,
                 const char *path,
                 const char *iface,
                 const char *signal,
                 GVariant *params,
                 gpointer data)
{
  const char *id;
  g_variant_get (params, "(&s)", &id);
  g_ptr_array_add (data, g_strdup (id));
}

/* The deadline WHAT of CASE (an object of core/sk-report.h), or NULL. */
static JsonObject *
deadline_of (JsonObject *c, const char *what)
{
  JsonArray *deadlines = json_object_get_array_member (c, "deadlines");
  for (guint i = 0; i < json_array_get_length (deadlines); i++)
    {
      JsonObject *d = json_array_get_object_element (deadlines, i);
      if (g_str_equal (json_object_get_string_member (d, "what"), what))
        return d;
    }
  return NULL;
}

/* A deadline as a client shows it: a UTC time in the future, seconds left
 * that agree with it, not overdue. */
static void
assert_deadline_ahead (JsonObject *d)
{
  g_assert_nonnull (d);
  g_autoptr (GDateTime) at =
      g_date_time_new_from_iso8601 (json_object_get_string_member (d, "deadline"), NULL);
  g_assert_nonnull (at);
  gint64 left = json_object_get_int_member (d, "seconds_left");
  gint64 expected = g_date_time_to_unix (at) - g_get_real_time () / G_USEC_PER_SEC;
  g_assert_cmpint (left, >, 0);
  g_assert_cmpint (ABS (left - expected), <=, 60);
  g_assert_false (json_object_get_boolean_member (d, "overdue"));
}

/* What the app and the CLI read from the service about a handed-off case,
 * the keys, the policy and the station: deadlines, expiry, the whole
 * policy, the status — each to its roles only. */
static void
assert_reports (const char *case_id)
{
  g_autofree char *line = NULL;
  g_autoptr (JsonNode) shown = reply_as (&sk_test_users[0], &line, "Cases.Show", case_id, NULL);
  g_assert_cmpstr (line, ==, NULL);
  JsonObject *c = json_node_get_object (shown);
  g_assert_cmpstr (json_object_get_string_member (c, "state"), ==, "handed-off");
  assert_deadline_ahead (deadline_of (c, "upload-plaintext"));
  assert_deadline_ahead (deadline_of (c, "results-due"));

  g_autoptr (JsonNode) listed = reply_as (&sk_test_users[1], &line, "Cases.List", NULL);
  g_assert_cmpstr (line, ==, NULL);
  JsonArray *cases = json_object_get_array_member (json_node_get_object (listed), "cases");
  g_assert_cmpuint (json_array_get_length (cases), >=, 1);
  gboolean found = FALSE;
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *o = json_array_get_object_element (cases, i);
      if (!g_str_equal (json_object_get_string_member (o, "id"), case_id))
        continue;
      found = TRUE;
      assert_deadline_ahead (deadline_of (o, "upload-plaintext"));
    }
  g_assert_true (found);

  /* Every key with its expiry (the test keys never expire: null). */
  g_autoptr (JsonNode) keys = reply_as (&sk_test_users[3], &line, "Keys.List", NULL);
  g_assert_cmpstr (line, ==, NULL);
  JsonArray *ka = json_object_get_array_member (json_node_get_object (keys), "keys");
  g_assert_cmpuint (json_array_get_length (ka), >=, 3);
  for (guint i = 0; i < json_array_get_length (ka); i++)
    {
      JsonObject *k = json_array_get_object_element (ka, i);
      g_assert_cmpuint (strlen (json_object_get_string_member (k, "fingerprint")), ==, 40);
      g_assert_true (json_object_has_member (k, "expires"));
      g_assert_false (json_object_get_boolean_member (k, "expired"));
      g_assert_nonnull (json_object_get_array_member (k, "roles"));
    }

  /* The whole policy: kinds, caps, retention, dual control, named keys. */
  g_autoptr (JsonNode) policy = reply_as (&sk_test_users[3], &line, "Policy.Show", NULL);
  g_assert_cmpstr (line, ==, NULL);
  JsonObject *p = json_node_get_object (policy);
  g_assert_cmpint (json_object_get_int_member (p, "serial"), >=, 1);
  g_assert_cmpuint (strlen (json_object_get_string_member (p, "sha256")), ==, 64);
  JsonArray *kinds = json_object_get_array_member (p, "kinds");
  g_assert_cmpuint (json_array_get_length (kinds), >=, 1);
  gboolean kny01 = FALSE;
  for (guint i = 0; i < json_array_get_length (kinds); i++)
    kny01 =
        kny01 ||
        g_str_equal (json_object_get_string_member (json_array_get_object_element (kinds, i), "id"),
                     "KNY01");
  g_assert_true (kny01);
  JsonObject *caps = json_object_get_object_member (p, "caps");
  g_assert_cmpint (json_object_get_int_member (caps, "max_files"), >, 0);
  g_assert_cmpint (json_object_get_int_member (caps, "max_package_size"), >, 0);
  JsonObject *retention = json_object_get_object_member (p, "retention");
  g_assert_cmpint (json_object_get_int_member (retention, "upload_minutes"), >, 0);
  g_assert_nonnull (json_object_get_array_member (p, "dual_control"));
  JsonArray *named = json_object_get_array_member (p, "keys");
  g_assert_cmpuint (json_array_get_length (named), >=, 2);
  for (guint i = 0; i < json_array_get_length (named); i++)
    {
      JsonObject *k = json_array_get_object_element (named, i);
      g_assert_true (json_object_get_boolean_member (k, "in_keyring"));
      g_assert_true (json_object_has_member (k, "expires"));
    }

  /* The status, for each of the three roles alike; the handed-off case
   * with its deadline. */
  const User *readers[] = { &sk_test_users[0], &sk_test_users[2], &sk_test_users[3] };
  for (gsize r = 0; r < G_N_ELEMENTS (readers); r++)
    {
      g_autoptr (JsonNode) status = reply_as (readers[r], &line, "Station.Status", NULL);
      g_assert_cmpstr (line, ==, NULL);
      JsonObject *st = json_node_get_object (status);
      g_assert_cmpint (
          json_object_get_int_member (json_object_get_object_member (st, "policy"), "serial"), ==,
          json_object_get_int_member (p, "serial"));
      g_assert_cmpint (
          json_object_get_int_member (json_object_get_object_member (st, "journal"), "head_seq"), >,
          0);
      g_assert_cmpint (
          json_object_get_int_member (json_object_get_object_member (st, "store"), "items"), >=, 1);
      JsonArray *handed_off = json_object_get_array_member (st, "handed_off");
      g_assert_cmpuint (json_array_get_length (handed_off), ==, 1);
      JsonObject *ho = json_array_get_object_element (handed_off, 0);
      g_assert_cmpstr (json_object_get_string_member (ho, "case"), ==, case_id);
      g_assert_cmpint (json_object_get_int_member (ho, "seconds_left"), >, 0);
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (st, "problems")), ==,
                        0);
    }
}

/* A package made on the standard side, imported by an operator through
 * the service from a folder the operator opened, handed off and confirmed:
 * each step is journaled as that operator, in the operator role. */
static void
test_workflow (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPolicy) layouts = sk_test_default_policy ();
  g_autofree char *work = g_build_filename (h.tmp, "work", NULL);
  g_autofree char *medium = g_build_filename (h.tmp, "medium", NULL);
  g_assert_cmpint (g_mkdir (work, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (medium, 0755), ==, 0);
  g_assert_cmpint (g_chmod (medium, 0755), ==, 0);

  SkSynthOptions opts;
  sk_synth_options_init (&opts);
  opts.seed = 11;
  opts.records = 20;
  g_autofree char *file =
      sk_synth_write_file (layouts, sk_policy_lookup_kind (layouts, "KNY01"), &opts, work, &error);
  g_assert_no_error (error);
  const char *files[] = { file, NULL };
  const char *case_id = "C0000000000000000011";
  g_autofree char *package =
      sk_package_pack (h.st.std, h.st.std_policy, sk_actor_for_process (SK_ROLE_OPERATOR),
                       "subscriber", case_id, files, medium, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *sig = g_strconcat (package, ".sig", NULL);
  g_assert_cmpint (g_chmod (package, 0644), ==, 0);
  g_assert_cmpint (g_chmod (sig, 0644), ==, 0);
  g_autofree char *name = g_path_get_basename (package);

  /* A name that is no plain package name never reaches the core. */
  g_autofree char *escape =
      call_as (&sk_test_users[0], "Cases.Import", medium, "../x.tar.gpg", NULL);
  g_assert_cmpstr (escape, ==, "ERR jp.sekisho.Error.Usage");

  /* Whoever listens hears that the case changed, after each step. */
  g_autoptr (GDBusConnection) bus = bus_connection ();
  g_autoptr (GPtrArray) changed = g_ptr_array_new_with_free_func (g_free);
  guint sub = g_dbus_connection_signal_subscribe (
      bus, BUS_NAME, IFACE_PREFIX "Cases", "CaseChanged", OBJECT_PATH, NULL,
      G_DBUS_SIGNAL_FLAGS_NONE, on_case_changed, changed, NULL);

  g_autofree char *imported = call_as (&sk_test_users[0], "Cases.Import", medium, name, NULL);
  g_assert_cmpstr (imported, ==, "JOB ok -");
  g_autofree char *again = call_as (&sk_test_users[1], "Cases.Import", medium, name, NULL);
  g_assert_cmpstr (again, ==, "JOB fail package-replayed");
  g_autofree char *shown = call_as (&sk_test_users[0], "Cases.Show", case_id, NULL);
  g_assert_cmpstr (shown, ==, "OK");
  g_autofree char *handed = call_as (&sk_test_users[0], "Cases.HandOff", case_id, NULL);
  g_assert_cmpstr (handed, ==, "JOB ok -");
  assert_reports (case_id);
  g_autofree char *confirmed = call_as (&sk_test_users[0], "Cases.ConfirmUpload", case_id, NULL);
  g_assert_cmpstr (confirmed, ==, "OK");

  /* Import, hand-off, confirmation: three changes, none for the replay. */
  for (int i = 0; i < 200 && changed->len < 3; i++)
    g_main_context_iteration (NULL, FALSE) ? (void)0 : g_usleep (10 * 1000);
  g_dbus_connection_signal_unsubscribe (bus, sub);
  g_assert_cmpuint (changed->len, ==, 3);
  for (guint i = 0; i < changed->len; i++)
    g_assert_cmpstr (g_ptr_array_index (changed, i), ==, case_id);

  g_autoptr (SkStation) station = sk_station_open (sk_station_get_dir (h.st.term), &error);
  g_assert_no_error (error);
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, TRUE, &error);
  g_assert_no_error (error);
  SkJournalFilter filter = { .case_id = case_id };
  g_autoptr (GPtrArray) rows = sk_journal_query (journal, &filter, &error);
  g_assert_no_error (error);
  guint by_operator = 0;
  for (guint i = 0; i < rows->len; i++)
    {
      SkJournalRow *r = g_ptr_array_index (rows, i);
      g_test_message ("%s %s uid %" G_GINT64_FORMAT " %s", r->event, r->outcome, r->uid,
                      r->role != NULL ? r->role : "-");
      if (g_str_equal (r->outcome, "ok"))
        {
          g_assert_cmpint (r->uid, ==, sk_test_users[0].uid);
          g_assert_cmpstr (r->login, ==, sk_test_users[0].name);
          g_assert_cmpstr (r->role, ==, "operator");
          by_operator++;
        }
    }
  g_assert_cmpuint (by_operator, >=, 3);
  gint64 entries = 0, bad = 0;
  g_assert_true (sk_journal_verify (journal, &entries, &bad, NULL, &error));
  g_assert_no_error (error);
}

/* The station database's descriptors.  SQLite keeps POSIX locks per
 * process, so when a connection closes while another connection of the
 * process holds a lock on the same file — the service's long-lived WAL
 * connections always hold one — it parks the closed connection's
 * database descriptor and hands it to the next connection that opens the
 * file with the same flags (os_unix.c, unixInodeInfo's unused list).
 * Those descriptors do not come back down after a load; their number
 * follows the most read-only and read-write connections ever open at
 * once, which the load's concurrency bounds. */
static gboolean
is_database_fd (const char *link)
{
  g_autofree char *target = g_file_read_link (link, NULL);
  return target != NULL && g_str_has_suffix (target, "/station.db");
}

/* What the service holds open, when a count says too much. */
static void
print_fds (const char *fd_path)
{
  g_autoptr (GDir) dir = g_dir_open (fd_path, 0, NULL);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *link = g_build_filename (fd_path, name, NULL);
      g_autofree char *target = g_file_read_link (link, NULL);
      g_printerr ("# service fd %s -> %s\n", name, target != NULL ? target : "?");
    }
}

/* The service's resident memory (kB) and open descriptors: those of the
 * station database (DB_FDS) apart from all others (FDS). */
static void
service_figures (guint64 *rss_kb, guint *fds, guint *db_fds)
{
  const char *pid = g_subprocess_get_identifier (h.service);
  g_autofree char *status_path = g_strdup_printf ("/proc/%s/status", pid);
  g_autofree char *status = NULL;
  g_assert_true (g_file_get_contents (status_path, &status, NULL, NULL));
  const char *vm = strstr (status, "VmRSS:");
  g_assert_nonnull (vm);
  *rss_kb = g_ascii_strtoull (vm + strlen ("VmRSS:"), NULL, 10);
  /* Descriptors at rest: a worker may still be closing the journal it
   * answered a client's last call from, so the fewest seen over half a
   * second counts (a descriptor left behind stays in every count). */
  g_autofree char *fd_path = g_strdup_printf ("/proc/%s/fd", pid);
  *fds = *db_fds = G_MAXUINT;
  for (int i = 0; i < 10; i++)
    {
      g_autoptr (GDir) dir = g_dir_open (fd_path, 0, NULL);
      g_assert_nonnull (dir);
      guint n = 0, db = 0;
      const char *name;
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *link = g_build_filename (fd_path, name, NULL);
          if (is_database_fd (link))
            db++;
          else
            n++;
        }
      *fds = MIN (*fds, n);
      *db_fds = MIN (*db_fds, db);
      g_usleep (50 * 1000);
    }
}

/* Connections one call of the load may hold at once (Journal.Verify: its
 * two halves, the chain's reader and the checkpoint's). */
#define LOAD_CONNECTIONS_PER_CALL 4

/* The warm-up round, then the measured one: SK_LOAD_SECONDS (default 120,
 * as CI runs it). */
#define LOAD_WARMUP_SECONDS 10
#define LOAD_PACKAGES 30

/* LOAD_PACKAGES small packages in one folder the test users can read. */
static char *
load_packages (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPolicy) layouts = sk_test_default_policy ();
  g_autofree char *work = g_build_filename (h.tmp, "load-work", NULL);
  char *medium = g_build_filename (h.tmp, "load-medium", NULL);
  g_assert_cmpint (g_mkdir (work, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (medium, 0755), ==, 0);
  g_assert_cmpint (g_chmod (medium, 0755), ==, 0);
  for (guint64 seed = 600; seed < 600 + LOAD_PACKAGES; seed++)
    {
      SkSynthOptions opts;
      sk_synth_options_init (&opts);
      opts.seed = seed;
      opts.records = 20;
      g_autofree char *file = sk_synth_write_file (
          layouts, sk_policy_lookup_kind (layouts, "KNY01"), &opts, work, &error);
      g_assert_no_error (error);
      const char *files[] = { file, NULL };
      g_autofree char *case_id = g_strdup_printf ("C%019" G_GUINT64_FORMAT, seed);
      g_autofree char *package =
          sk_package_pack (h.st.std, h.st.std_policy, sk_actor_for_process (SK_ROLE_OPERATOR),
                           "subscriber", case_id, files, medium, NULL, NULL, &error);
      g_assert_no_error (error);
      g_autofree char *sig = g_strconcat (package, ".sig", NULL);
      g_assert_cmpint (g_chmod (package, 0644), ==, 0);
      g_assert_cmpint (g_chmod (sig, 0644), ==, 0);
      (void)g_remove (file);
    }
  return medium;
}

/* How many packages the journal says were imported. */
static guint
imports_done (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_station_open (sk_station_get_dir (h.st.term), &error);
  g_assert_no_error (error);
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, TRUE, &error);
  g_assert_no_error (error);
  SkJournalFilter filter = { .event = "package-imported" };
  g_autoptr (GPtrArray) rows = sk_journal_query (journal, &filter, &error);
  g_assert_no_error (error);
  guint ok = 0;
  for (guint i = 0; i < rows->len; i++)
    ok += g_str_equal (((SkJournalRow *)g_ptr_array_index (rows, i))->outcome, "ok");
  return ok;
}

/* Whether every one of ANSWERS ("|"-joined) is one of ALLOWED. */
static gboolean
answers_allowed (const char *answers, const char *allowed)
{
  g_auto (GStrv) seen = g_strsplit (answers, "|", -1);
  g_auto (GStrv) ok = g_strsplit (allowed, "|", -1);
  for (char **a = seen; *a != NULL; a++)
    if (!g_strv_contains ((const char *const *)ok, *a))
      return FALSE;
  return TRUE;
}

/* Eight clients at once for a bounded time — lists, shows, journal reads
 * and verification, imports of small packages (fresh ones, then the same
 * again refused as replays), a caller without a role: no answer but the
 * expected ones, no descriptor left behind, memory flat. */
static void
test_load (void)
{
  g_autofree char *medium = load_packages ();
  const char *seconds_text = g_getenv ("SK_LOAD_SECONDS");
  guint64 seconds = seconds_text != NULL ? g_ascii_strtoull (seconds_text, NULL, 10) : 120;
  g_assert_cmpuint (seconds, >=, 1);
  g_assert_cmpuint (seconds, <=, 600);
  g_autofree char *measured = g_strdup_printf ("%" G_GUINT64_FORMAT, seconds);
  g_autofree char *warmup = g_strdup_printf ("%d", LOAD_WARMUP_SECONDS);

  const struct
  {
    const User *user;
    const char *op, *a, *b;
    const char *allowed; /* "|"-joined: the answers that may come */
  } load[] = {
    { &sk_test_users[0], "Cases.List", NULL, NULL, "OK" },
    { &sk_test_users[1], "Cases.Show", "C0000000000000000011", NULL, "OK" },
    { &sk_test_users[0], "Station.Status", NULL, NULL, "OK" },
    { &sk_test_users[1], "Cases.Import", medium, "*", "JOB fail package-replayed|JOB ok -" },
    { &sk_test_users[2], "Journal.Show", NULL, NULL, "OK" },
    { &sk_test_users[2], "Journal.Verify", NULL, NULL, "JOB ok -" },
    { &sk_test_users[3], "Policy.Show", NULL, NULL, "OK" },
    { &sk_test_users[5], "Cases.List", NULL, NULL, "ERR jp.sekisho.Error.RoleDenied" },
  };
  guint imports_before = imports_done ();

  /* Two rounds: the first warms the service up (threads, caches, the
   * journal's pages); across the second half of the second, memory must
   * stay flat.  rss[3] is taken halfway through the second round. */
  guint64 rss[4];
  guint fds[4], db_fds[4];
  guint total = 0;
  service_figures (&rss[0], &fds[0], &db_fds[0]);
  for (int round = 1; round <= 2; round++)
    {
      GSubprocess *procs[G_N_ELEMENTS (load)];
      for (gsize i = 0; i < G_N_ELEMENTS (load); i++)
        {
          g_autofree char *reuid = g_strdup_printf ("--reuid=%s", load[i].user->name);
          g_autofree char *regid = g_strdup_printf ("--regid=%s", load[i].user->name);
          const char *argv[] = {
            "setpriv",  reuid,     regid,           "--init-groups",
            "--",       h.client,  "--client-loop", round == 1 ? warmup : measured,
            load[i].op, load[i].a, load[i].b,       NULL
          };
          procs[i] = spawn_with_bus (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE);
        }
      if (round == 2)
        {
          g_usleep (seconds * G_USEC_PER_SEC / 2);
          service_figures (&rss[3], &fds[3], &db_fds[3]);
        }
      for (gsize i = 0; i < G_N_ELEMENTS (load); i++)
        {
          g_autofree char *out = NULL;
          g_assert_true (g_subprocess_communicate_utf8 (procs[i], NULL, NULL, &out, NULL, NULL));
          g_clear_object (&procs[i]);
          g_strchomp (out);
          g_test_message ("round %d: %s %s: %s", round, load[i].user->name, load[i].op, out);
          guint calls = 0;
          char answers[128] = "";
          g_assert_cmpint (sscanf (out, "LOOP %u %127[^\n]", &calls, answers), ==, 2);
          g_assert_cmpuint (calls, >, 0);
          if (!answers_allowed (answers, load[i].allowed))
            g_error ("%s %s answered %s; only %s may come", load[i].user->name, load[i].op, answers,
                     load[i].allowed);
          total += calls;
        }
      service_figures (&rss[round], &fds[round], &db_fds[round]);
    }
  g_print ("# load: %u calls by %" G_GSIZE_FORMAT " clients in %d s + %" G_GUINT64_FORMAT
           " s; service RSS at start %" G_GUINT64_FORMAT ", after the warm-up %" G_GUINT64_FORMAT
           ", halfway %" G_GUINT64_FORMAT ", at the end %" G_GUINT64_FORMAT
           " kB; fds %u -> %u -> %u, and of the database %u -> %u -> %u\n",
           total, G_N_ELEMENTS (load), LOAD_WARMUP_SECONDS, seconds, rss[0], rss[1], rss[3], rss[2],
           fds[0], fds[1], fds[2], db_fds[0], db_fds[1], db_fds[2]);
  /* The small packages were imported for real, each once. */
  guint imported = imports_done () - imports_before;
  g_print ("# load: %u packages imported under load\n", imported);
  g_assert_cmpuint (imported, >=, 1);
  g_assert_cmpuint (imported, <=, LOAD_PACKAGES);
  /* Finished jobs linger seconds for a late GetResult, but hold no
   * descriptor.  Under a sanitizer on a loaded machine the last workers
   * may take longer than the half second above to close what they used:
   * give the count up to ten seconds to come down (a descriptor left
   * behind never does). */
  for (int i = 0; i < 20 && fds[2] > fds[1]; i++)
    {
      guint64 rss_now;
      guint fds_now, db_now;
      service_figures (&rss_now, &fds_now, &db_now);
      fds[2] = MIN (fds[2], fds_now);
    }
  g_autofree char *fd_path =
      g_strdup_printf ("/proc/%s/fd", g_subprocess_get_identifier (h.service));
  guint db_bound = db_fds[0] + LOAD_CONNECTIONS_PER_CALL * G_N_ELEMENTS (load);
  if (fds[2] > fds[1] || fds[1] > fds[0] + 2 || db_fds[2] > db_bound)
    print_fds (fd_path);
  g_assert_cmpuint (fds[2], <=, fds[1]);
  g_assert_cmpuint (fds[1], <=, fds[0] + 2);
  /* Parked database descriptors (above) are bounded by the calls in
   * flight at once; one left behind per call would pass this in seconds. */
  g_assert_cmpuint (db_fds[2], <=, db_bound);
#if defined(__has_feature)
#if !__has_feature(address_sanitizer)
#define SK_PLAIN_BUILD 1
#endif
#elif !defined(__SANITIZE_ADDRESS__)
#define SK_PLAIN_BUILD 1
#endif
#ifdef SK_PLAIN_BUILD
  /* Without AddressSanitizer's quarantine, the second half of the measured
   * round adds no more than 4 MB: what still grows once warm is the page
   * cache of the journal's write connection as the journal grows by the
   * refusals and imports of the load (at most SQLite's default cache of
   * some 2 MB), and the allocator's high-water mark of calls running at
   * once.  Measured alone, each kind of call levels off within seconds;
   * a leak of 1.3 KB per call would pass 4 MB over the some 3,000 calls
   * of the second half of a 120 s round.  Leaks themselves are
   * LeakSanitizer's to find: the ASan build fails teardown on one. */
  g_assert_cmpuint (rss[2], <, rss[3] + 4 * 1024);
#endif
}

/* A benchmark, not a test (run by bench/service-import.sh): import of one
 * package of SK_SERVICE_BENCH_RECORDS KNY01 records in-process on a twin
 * of the terminal station, then through the service; prints both times
 * and their ratio (DESIGN.md §10: the service adds at most 5%). */
static int
cmp_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double
median (double *v, guint n)
{
  qsort (v, n, sizeof *v, (int (*) (const void *, const void *))cmp_double);
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Import of a large package in-process (on a twin terminal) and through
 * sekishod, RUNS times each in the same run (SK_SERVICE_BENCH_RUNS,
 * default 3), interleaved (A B, B A, …) so that a drift of the shared
 * machine's speed weighs on both; each run a fresh package, since a
 * station imports a package once.  Prints each pair and the medians. */
static void
bench_import (void)
{
  guint64 records = g_ascii_strtoull (g_getenv ("SK_SERVICE_BENCH_RECORDS"), NULL, 10);
  const char *runs_text = g_getenv ("SK_SERVICE_BENCH_RUNS");
  guint runs = runs_text != NULL ? (guint)g_ascii_strtoull (runs_text, NULL, 10) : 3;
  g_assert_cmpuint (runs, >=, 1);
  g_assert_cmpuint (runs, <=, 15);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPolicy) layouts = sk_test_default_policy ();

  /* A twin terminal (the same keys and policy, a station of its own) for
   * the in-process runs. */
  g_autofree char *twin_dir = g_build_filename (h.tmp, "twin", NULL);
  g_autoptr (SkStation) twin =
      sk_station_create (twin_dir, sk_test_keys.admin, sk_test_keys.terminal, "twin",
                         sk_actor_for_process (SK_ROLE_ADMIN), &error);
  g_assert_no_error (error);
  GBytes *twin_keys[] = { sk_test_keys.admin_pub, sk_test_keys.standard_pub,
                          sk_test_keys.terminal_sec, NULL };
  sk_test_import (twin, sk_test_keys.terminal, twin_keys);
  g_autofree char *policy = g_build_filename (h.tmp, "st", "policy.json", NULL);
  g_autoptr (SkPolicy) twin_policy = sk_test_install (twin, policy);
  g_autofree char *run = g_build_filename (h.tmp, "run", NULL);
  g_autoptr (SkPipeline) pipeline = sk_pipeline_new (twin, twin_policy, run, &error);
  g_assert_no_error (error);

  double in_process[15], service[15];
  guint64 size = 0;
  for (guint i = 0; i < runs; i++)
    {
      /* Two packages of the same size: one for each side. */
      char *names[2];
      char *mediums[2];
      for (guint k = 0; k < 2; k++)
        {
          guint64 seed = 7700 + i * 2 + k;
          g_autofree char *work = g_strdup_printf ("%s/bench-%" G_GUINT64_FORMAT, h.tmp, seed);
          mediums[k] = g_strdup_printf ("%s/bench-medium-%" G_GUINT64_FORMAT, h.tmp, seed);
          g_assert_cmpint (g_mkdir (work, 0700), ==, 0);
          g_assert_cmpint (g_mkdir (mediums[k], 0755), ==, 0);
          g_assert_cmpint (g_chmod (mediums[k], 0755), ==, 0);
          SkSynthOptions opts;
          sk_synth_options_init (&opts);
          opts.seed = seed;
          opts.records = records;
          g_autofree char *file = sk_synth_write_file (
              layouts, sk_policy_lookup_kind (layouts, "KNY01"), &opts, work, &error);
          g_assert_no_error (error);
          const char *files[] = { file, NULL };
          g_autofree char *case_id = g_strdup_printf ("C%019" G_GUINT64_FORMAT, seed);
          g_autofree char *package =
              sk_package_pack (h.st.std, h.st.std_policy, sk_actor_for_process (SK_ROLE_OPERATOR),
                               "subscriber", case_id, files, mediums[k], NULL, NULL, &error);
          g_assert_no_error (error);
          g_autofree char *sig = g_strconcat (package, ".sig", NULL);
          g_assert_cmpint (g_chmod (package, 0644), ==, 0);
          g_assert_cmpint (g_chmod (sig, 0644), ==, 0);
          names[k] = g_path_get_basename (package);
          GStatBuf st;
          g_assert_cmpint (g_stat (package, &st), ==, 0);
          size = (guint64)st.st_size;
          (void)g_remove (file);
          /* Both read their package from the page cache. */
          g_autofree char *warm = NULL;
          g_assert_true (g_file_get_contents (package, &warm, NULL, NULL));
        }
      for (guint turn = 0; turn < 2; turn++)
        {
          gboolean in_process_now = (turn == 0) == (i % 2 == 0);
          gint64 t0 = g_get_monotonic_time ();
          if (in_process_now)
            {
              int dirfd = open (mediums[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
              g_assert_cmpint (dirfd, >=, 0);
              g_autoptr (SkCase) c =
                  sk_pipeline_import_at (pipeline, sk_actor_for_process (SK_ROLE_OPERATOR), dirfd,
                                         names[0], NULL, NULL, &error);
              close (dirfd);
              g_assert_no_error (error);
              g_assert_nonnull (c);
              in_process[i] = (double)(g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
            }
          else
            {
              g_autofree char *out =
                  call_as (&sk_test_users[0], "Cases.Import", mediums[1], names[1], NULL);
              g_assert_cmpstr (out, ==, "JOB ok -");
              service[i] = (double)(g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
            }
        }
      g_print ("# run %u: in-process %.2f s, through sekishod %.2f s, ratio %.3f\n", i + 1,
               in_process[i], service[i], service[i] / in_process[i]);
      for (guint k = 0; k < 2; k++)
        {
          g_free (names[k]);
          g_free (mediums[k]);
        }
    }
  double a = median (in_process, runs), b = median (service, runs);
  g_print ("# import of %" G_GUINT64_FORMAT " MB, median of %u: in-process %.2f s, through "
           "sekishod %.2f s, ratio %.3f\n",
           size / 1000000, runs, a, b, b / a);
  g_clear_object (&pipeline);
  g_autofree char *twin_home = g_build_filename (twin_dir, "gnupg", NULL);
  sk_test_gpg_remove_home (twin_home);
}

/* A fresh package of one KNY01 file for case C…SEED on a medium folder
 * the test users can read; returns the folder, *OUT_NAME the package. */
static char *
fresh_package (guint64 seed, char **out_name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPolicy) layouts = sk_test_default_policy ();
  g_autofree char *work = g_strdup_printf ("%s/work-%" G_GUINT64_FORMAT, h.tmp, seed);
  char *medium = g_strdup_printf ("%s/medium-%" G_GUINT64_FORMAT, h.tmp, seed);
  g_assert_cmpint (g_mkdir (work, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (medium, 0755), ==, 0);
  g_assert_cmpint (g_chmod (medium, 0755), ==, 0);
  SkSynthOptions opts;
  sk_synth_options_init (&opts);
  opts.seed = seed;
  opts.records = 20;
  g_autofree char *file =
      sk_synth_write_file (layouts, sk_policy_lookup_kind (layouts, "KNY01"), &opts, work, &error);
  g_assert_no_error (error);
  const char *files[] = { file, NULL };
  g_autofree char *case_id = g_strdup_printf ("C%019" G_GUINT64_FORMAT, seed);
  g_autofree char *package =
      sk_package_pack (h.st.std, h.st.std_policy, sk_actor_for_process (SK_ROLE_OPERATOR),
                       "subscriber", case_id, files, medium, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *sig = g_strconcat (package, ".sig", NULL);
  g_assert_cmpint (g_chmod (package, 0644), ==, 0);
  g_assert_cmpint (g_chmod (sig, 0644), ==, 0);
  *out_name = g_path_get_basename (package);
  return medium;
}

/* (Re)start the service, with SEKISHO_FAULT=FAULT unless NULL. */
static void
start_service (const char *fault)
{
  g_autoptr (GDBusConnection) bus = bus_connection ();
  g_autofree char *run = g_build_filename (h.tmp, "run", NULL);
  const char *argv[] = { g_getenv ("SEKISHOD"), "--station", sk_station_get_dir (h.st.term),
                         "--handoff-root",      run,         NULL };
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_setenv (l, "DBUS_SYSTEM_BUS_ADDRESS", h.address, TRUE);
  if (fault != NULL)
    g_subprocess_launcher_setenv (l, "SEKISHO_FAULT", fault, TRUE);
  if (h.journald != NULL)
    g_subprocess_launcher_setenv (l, "SEKISHO_JOURNALD_SOCKET", h.journald, TRUE);
  g_autoptr (GError) error = NULL;
  h.service = g_subprocess_launcher_spawnv (l, argv, &error);
  g_assert_no_error (error);
  sk_test_bus_wait_for_name (bus, BUS_NAME);
}

static void
assert_journal_verifies (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_station_open (sk_station_get_dir (h.st.term), &error);
  g_assert_no_error (error);
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, TRUE, &error);
  g_assert_no_error (error);
  gint64 entries = 0, bad = 0;
  g_assert_true (sk_journal_verify (journal, &entries, &bad, NULL, &error));
  g_assert_no_error (error);
}

/* sekishod killed (SIGKILL, as a power cut) inside an import, a hand-off,
 * a take-in and an export: the client hears service-unreachable at once; the restarted
 * service recovers, the journal verifies, nothing the client was not told
 * of stays (no case, no plaintext), and the step works again. */
static void
test_killed (void)
{
  if (!sk_fault_compiled_in ())
    {
      g_test_skip ("this build has no fault points");
      return;
    }
  const char *import_points[] = { "import-after-copy", "store-put-before-commit" };
  for (gsize i = 0; i < G_N_ELEMENTS (import_points); i++)
    {
      g_autofree char *name = NULL;
      g_autofree char *medium = fresh_package (200 + i, &name);
      g_autofree char *case_id = g_strdup_printf ("C%019" G_GUINT64_FORMAT, (guint64)(200 + i));

      g_assert_cmpint (stop (&h.service), ==, 0);
      start_service (import_points[i]);
      g_autofree char *killed = call_as (&sk_test_users[0], "Cases.Import", medium, name, NULL);
      g_test_message ("killed at %s: %s", import_points[i], killed);
      g_assert_cmpstr (killed, ==, "JOB fail service-unreachable");
      g_assert_true (g_subprocess_wait (h.service, NULL, NULL));
      g_assert_true (g_subprocess_get_if_signaled (h.service));
      g_assert_cmpint (g_subprocess_get_term_sig (h.service), ==, SIGKILL);
      g_clear_object (&h.service);

      start_service (NULL);
      assert_journal_verifies ();
      g_autofree char *shown = call_as (&sk_test_users[0], "Cases.Show", case_id, NULL);
      g_assert_cmpstr (shown, ==, "ERR jp.sekisho.Error.CaseUnknown");
      g_autofree char *again = call_as (&sk_test_users[0], "Cases.Import", medium, name, NULL);
      g_assert_cmpstr (again, ==, "JOB ok -");
    }

  /* Killed before the hand-off commits: the plaintext it wrote goes at the
   * next start. */
  g_autofree char *case_id = g_strdup_printf ("C%019" G_GUINT64_FORMAT, (guint64)201);
  g_assert_cmpint (stop (&h.service), ==, 0);
  start_service ("handoff-before-commit");
  g_autofree char *killed = call_as (&sk_test_users[0], "Cases.HandOff", case_id, NULL);
  g_assert_cmpstr (killed, ==, "JOB fail service-unreachable");
  g_assert_true (g_subprocess_wait (h.service, NULL, NULL));
  g_assert_true (g_subprocess_get_if_signaled (h.service));
  g_clear_object (&h.service);
  start_service (NULL);
  assert_journal_verifies ();
  g_autofree char *upload = g_strdup_printf ("%s/run/upload/%u", h.tmp, sk_test_users[0].uid);
  g_autoptr (GDir) dir = g_dir_open (upload, 0, NULL);
  const char *left = dir != NULL ? g_dir_read_name (dir) : NULL;
  g_assert_null (left);
  g_autofree char *handed = call_as (&sk_test_users[0], "Cases.HandOff", case_id, NULL);
  g_assert_cmpstr (handed, ==, "JOB ok -");
  assert_reports (case_id);
  g_autofree char *confirmed = call_as (&sk_test_users[0], "Cases.ConfirmUpload", case_id, NULL);
  g_assert_cmpstr (confirmed, ==, "OK");

  /* Killed in a take-in after its commit, before the download is removed:
   * the result is the case's (told or not), the journal verifies, and a
   * second take-in of the same name does not duplicate it. */
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPolicy) layouts = sk_test_default_policy ();
  SkSynthOptions opts;
  sk_synth_options_init (&opts);
  opts.seed = 201;
  opts.records = 20;
  g_autofree char *download = g_strdup_printf ("%s/run/download/%u", h.tmp, sk_test_users[0].uid);
  g_autofree char *result = sk_synth_write_file (layouts, sk_policy_lookup_kind (layouts, "KNY02"),
                                                 &opts, download, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chown (result, sk_test_users[0].uid, sk_test_users[0].uid), ==, 0);
  g_autofree char *result_name = g_path_get_basename (result);
  g_assert_cmpint (stop (&h.service), ==, 0);
  start_service ("take-in-before-unlink");
  g_autofree char *taken = call_as (&sk_test_users[0], "Cases.TakeIn", result_name, NULL);
  g_assert_cmpstr (taken, ==, "JOB fail service-unreachable");
  g_assert_true (g_subprocess_wait (h.service, NULL, NULL));
  g_assert_true (g_subprocess_get_if_signaled (h.service));
  g_clear_object (&h.service);
  start_service (NULL);
  assert_journal_verifies ();
  g_autofree char *again_taken = call_as (&sk_test_users[0], "Cases.TakeIn", result_name, NULL);
  g_assert_cmpstr (again_taken, ==, "JOB fail file-duplicate");

  /* Killed in an export before its commit: the restarted service has not
   * recorded it, the journal verifies, and the export then works. */
  g_autofree char *out = g_build_filename (h.tmp, "export-201", NULL);
  g_assert_cmpint (g_mkdir (out, 0755), ==, 0);
  g_assert_cmpint (g_chmod (out, 0755), ==, 0);
  g_assert_cmpint (stop (&h.service), ==, 0);
  start_service ("export-before-commit");
  g_autofree char *exported = call_as (&sk_test_users[0], "Cases.Export", case_id, out, NULL);
  g_assert_cmpstr (exported, ==, "JOB fail service-unreachable");
  g_assert_true (g_subprocess_wait (h.service, NULL, NULL));
  g_assert_true (g_subprocess_get_if_signaled (h.service));
  g_clear_object (&h.service);
  start_service (NULL);
  assert_journal_verifies ();
  g_autofree char *exported_again = call_as (&sk_test_users[0], "Cases.Export", case_id, out, NULL);
  g_assert_cmpstr (exported_again, ==, "JOB ok -");
  /* What the medium holds: the one package and its signature, nothing
   * hidden beside them. */
  g_autoptr (GDir) medium = g_dir_open (out, 0, NULL);
  g_assert_nonnull (medium);
  const char *entry;
  guint packages = 0;
  while ((entry = g_dir_read_name (medium)) != NULL)
    {
      g_test_message ("on the medium: %s", entry);
      g_assert_true (entry[0] != '.');
      packages++;
    }
  g_assert_cmpuint (packages, ==, 2);
}

/* The files in the station's store, counted. */
static guint
store_files (void)
{
  g_autofree char *store = g_build_filename (sk_station_get_dir (h.st.term), "store", NULL);
  g_autoptr (GDir) dir = g_dir_open (store, 0, NULL);
  g_assert_nonnull (dir);
  guint n = 0;
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* An import cancelled while it runs stops within a second and leaves
 * nothing: no case, no file in the store, a journal that verifies. */
static void
test_cancel (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPolicy) layouts = sk_test_default_policy ();
  g_autofree char *work = g_build_filename (h.tmp, "work-cancel", NULL);
  g_autofree char *medium = g_build_filename (h.tmp, "medium-cancel", NULL);
  g_assert_cmpint (g_mkdir (work, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (medium, 0755), ==, 0);
  g_assert_cmpint (g_chmod (medium, 0755), ==, 0);
  SkSynthOptions opts;
  sk_synth_options_init (&opts);
  opts.seed = 300;
  opts.records = 40000; /* some 20 MB: an import that is still running */
  g_autofree char *file =
      sk_synth_write_file (layouts, sk_policy_lookup_kind (layouts, "KNY01"), &opts, work, &error);
  g_assert_no_error (error);
  const char *files[] = { file, NULL };
  const char *case_id = "C0000000000000000300";
  g_autofree char *package =
      sk_package_pack (h.st.std, h.st.std_policy, sk_actor_for_process (SK_ROLE_OPERATOR),
                       "subscriber", case_id, files, medium, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *sig = g_strconcat (package, ".sig", NULL);
  g_assert_cmpint (g_chmod (package, 0644), ==, 0);
  g_assert_cmpint (g_chmod (sig, 0644), ==, 0);
  g_autofree char *name = g_path_get_basename (package);

  guint before = store_files ();
  g_autofree char *out = call_as (&sk_test_users[0], "Cases.ImportCancel", medium, name, NULL);
  g_test_message ("cancelled import: %s", out);
  g_assert_cmpstr (out, ==, "JOB fail cancelled within-1s");
  g_assert_cmpuint (store_files (), ==, before);
  assert_journal_verifies ();
  g_autofree char *shown = call_as (&sk_test_users[0], "Cases.Show", case_id, NULL);
  g_assert_cmpstr (shown, ==, "ERR jp.sekisho.Error.CaseUnknown");
  g_autofree char *again = call_as (&sk_test_users[0], "Cases.Import", medium, name, NULL);
  g_assert_cmpstr (again, ==, "JOB ok -");
}

/* The service refuses a station directory that is not its alone. */
static void
test_station_dir_refused (void)
{
  g_autofree char *dir = g_build_filename (h.tmp, "open-station", NULL);
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
  const char *argv[] = { g_getenv ("SEKISHOD"), "--station", dir, NULL };
  g_autoptr (GSubprocess) p = spawn_with_bus (argv, G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autofree char *err = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, NULL, &err, NULL));
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 3);
  g_assert_nonnull (strstr (err, "not mode 0700"));

  /* A file in it open to others is refused too. */
  g_assert_cmpint (g_chmod (dir, 0700), ==, 0);
  g_autofree char *file = g_build_filename (dir, "station.conf", NULL);
  write_text (file, "", 0644);
  g_autoptr (GSubprocess) q = spawn_with_bus (argv, G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autofree char *err2 = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (q, NULL, NULL, NULL, &err2, NULL));
  g_assert_cmpint (g_subprocess_get_exit_status (q), ==, 3);
  g_assert_nonnull (strstr (err2, "open to group or others"));
}

/* Drains the stand-in journald socket (a datagram socket whose queue, when
 * full, would make the service wait): every datagram, as text. */
static gpointer
journald_reader (gpointer data)
{
  GSocket *socket = data;
  GPtrArray *got = g_ptr_array_new_with_free_func (g_free);
  char buf[16384];
  for (;;)
    {
      gssize n = g_socket_receive (socket, buf, sizeof buf - 1, NULL, NULL);
      if (n <= 0)
        break;
      buf[n] = '\0';
      if (g_str_equal (buf, "STOP"))
        break;
      g_ptr_array_add (got, g_strdup (buf));
    }
  return got;
}

/* The service's journal entries reach the systemd journal as structured
 * fields (DESIGN.md §11): a refusal at the door, with its event, reason,
 * uid and role, the chain's hash, and no personal data. */
static void
test_systemd_journal (void)
{
  g_autoptr (GError) error = NULL;
  h.journald = g_build_filename (h.tmp, "journald.socket", NULL);
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM,
                                             G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (h.journald);
  g_assert_true (g_socket_bind (socket, address, FALSE, &error));
  g_assert_no_error (error);
  GThread *reader = g_thread_new ("journald", journald_reader, socket);

  g_assert_cmpint (stop (&h.service), ==, 0);
  start_service (NULL);
  g_autofree char *denied = call_as (&sk_test_users[2], "Cases.List", NULL);
  g_assert_cmpstr (denied, ==, "ERR jp.sekisho.Error.RoleDenied");
  g_assert_cmpint (stop (&h.service), ==, 0);

  /* The service is gone: nothing else sends here now. */
  g_autoptr (GSocket) sender = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM,
                                             G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_socket_send_to (sender, address, "STOP", 4, NULL, &error), ==, 4);
  g_autoptr (GPtrArray) got = g_thread_join (reader);
  (void)g_remove (h.journald);
  g_clear_pointer (&h.journald, g_free);
  start_service (NULL);

  g_autofree char *uid = g_strdup_printf ("SEKISHO_UID=%u\n", sk_test_users[2].uid);
  gboolean found = FALSE;
  for (guint i = 0; i < got->len; i++)
    {
      const char *d = g_ptr_array_index (got, i);
      g_test_message ("journald got: %s", d);
      g_assert_nonnull (strstr (d, "SYSLOG_IDENTIFIER=sekisho\n"));
      g_assert_nonnull (strstr (d, "SEKISHO_ENTRY_HASH="));
      if (strstr (d, "SEKISHO_EVENT=role-denied\n") != NULL && strstr (d, uid) != NULL)
        {
          found = TRUE;
          g_assert_nonnull (strstr (d, "SEKISHO_REASON=role-denied\n"));
          g_assert_nonnull (strstr (d, "SEKISHO_ROLE=auditor\n"));
          g_assert_nonnull (strstr (d, "jp.sekisho.Station1.Cases.List"));
        }
    }
  g_assert_true (found);
}

int
main (int argc, char **argv)
{
  if (argc < 2 || !g_str_equal (argv[1], "--inner"))
    return outer_main (argc, argv);

  /* The inner run: drop "--inner" for GTest. */
  argv[1] = argv[0];
  argc--;
  argv++;
  g_test_init (&argc, &argv, NULL);
  setup ();
  g_test_add_func ("/service/roles", test_roles);
  g_test_add_func ("/service/one-role", test_no_single_role);
  g_test_add_func ("/service/who-am-i", test_who_am_i);
  g_test_add_func ("/service/verify-checkpoint", test_verify_checkpoint);
  g_test_add_func ("/service/journal-export", test_journal_export_options);
  g_test_add_func ("/service/job-owner", test_job_owner);
  g_test_add_func ("/service/workflow", test_workflow);
  g_test_add_func ("/service/load", test_load);
  g_test_add_func ("/service/killed", test_killed);
  g_test_add_func ("/service/cancel", test_cancel);
  if (g_getenv ("SK_SERVICE_BENCH_RECORDS") != NULL)
    g_test_add_func ("/service/bench-import", bench_import);
  g_test_add_func ("/service/systemd-journal", test_systemd_journal);
  g_test_add_func ("/service/station-dir-refused", test_station_dir_refused);
  int ret = g_test_run ();
  teardown ();
  return ret;
}
