/* sk-test-service.c — the harness of test-service (sk-test-service.h) */
#include "config.h"

#include <gio/gunixfdlist.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk-package.h"
#include "sk-synth.h"
#include "sk-test-gpg.h"
#include "sk-test-service.h"
#include "sk-test-util.h"

SkTestService svc;

void
write_text (const char *path, const char *text, int mode)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_NONE, mode, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
}

void
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
int
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

GSubprocess *
spawn_with_bus (const char *const *argv, GSubprocessFlags flags)
{
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (flags);
  g_subprocess_launcher_setenv (l, "DBUS_SYSTEM_BUS_ADDRESS", svc.address, TRUE);
  g_autoptr (GError) error = NULL;
  GSubprocess *p = g_subprocess_launcher_spawnv (l, argv, &error);
  g_assert_no_error (error);
  return p;
}

static void
start_bus (void)
{
  svc.bus = sk_test_bus_start (svc.tmp, g_getenv ("SK_BUS_POLICY"), &svc.address);
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", svc.address, TRUE);
}

GDBusConnection *
bus_connection (void)
{
  return sk_test_bus_connect (svc.address);
}

/* SIGTERM, then wait; returns the exit status (-1: killed by a signal). */
int
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
char *
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
JsonNode *
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
  g_ptr_array_add (argv, g_strdup (svc.client));
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

char *
resolve_arg (const char *arg, const User *user)
{
  if (arg != NULL && g_str_equal (arg, "@files"))
    return g_strdup (svc.files);
  if (arg != NULL && g_str_has_prefix (arg, "@files/"))
    return g_build_filename (svc.files, arg + strlen ("@files/"), NULL);
  /* A file of its own for each caller, in a folder all may write. */
  if (arg != NULL && g_str_has_prefix (arg, "@out/"))
    {
      g_autofree char *out = g_build_filename (svc.tmp, "out", NULL);
      g_mkdir (out, 01777);
      g_chmod (out, 01777);
      g_autofree char *name =
          g_strdup_printf ("%s.%s", user != NULL ? user->name : "root", arg + strlen ("@out/"));
      return g_build_filename (out, name, NULL);
    }
  return g_strdup (arg);
}

/* A package of one KNY01 file of RECORDS synthetic records for case
 * C…SEED, written in a folder of the standard side's and packed into
 * MEDIUM (made if need be), readable by the test users with its
 * signature; the synthetic file is removed again.  Returns the package's
 * path. */
char *
pack_for_users (guint64 seed, guint64 records, const char *medium)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPolicy) layouts = sk_test_default_policy ();
  g_autofree char *work = g_strdup_printf ("%s/synth-%" G_GUINT64_FORMAT, svc.tmp, seed);
  g_assert_cmpint (g_mkdir (work, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (medium, 0755), ==, 0);
  g_assert_cmpint (g_chmod (medium, 0755), ==, 0);
  SkSynthOptions opts;
  sk_synth_options_init (&opts);
  opts.seed = seed;
  opts.records = records;
  g_autofree char *file =
      sk_synth_write_file (layouts, sk_policy_lookup_kind (layouts, "KNY01"), &opts, work, &error);
  g_assert_no_error (error);
  const char *files[] = { file, NULL };
  g_autofree char *case_id = g_strdup_printf ("C%019" G_GUINT64_FORMAT, seed);
  char *package =
      sk_package_pack (svc.st.std, svc.st.std_policy, sk_actor_for_process (SK_ROLE_OPERATOR),
                       "subscriber", case_id, files, medium, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *sig = g_strconcat (package, ".sig", NULL);
  g_assert_cmpint (g_chmod (package, 0644), ==, 0);
  g_assert_cmpint (g_chmod (sig, 0644), ==, 0);
  (void)g_remove (file);
  (void)g_rmdir (work);
  return package;
}

/* A new checkpoint of STATION copied with its signature into the files
 * the test users can read, as NAME and NAME.sig; returns the copy's path. */
char *
checkpoint_for_users (SkStation *station, const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *cp =
      sk_station_make_checkpoint (station, sk_actor_for_process (SK_ROLE_AUDITOR), &error);
  g_assert_no_error (error);
  g_autofree char *sig = g_strconcat (cp, ".sig", NULL);
  char *copy = g_build_filename (svc.files, name, NULL);
  g_autofree char *sig_copy = g_strconcat (copy, ".sig", NULL);
  copy_file (cp, copy, 0644);
  copy_file (sig, sig_copy, 0644);
  return copy;
}

void
setup (void)
{
  umask (077);
  svc.tmp = g_strdup (g_getenv ("SK_SERVICE_TMP"));
  g_assert_nonnull (svc.tmp);

  /* The client (sk-bus-client.c) runs as the test users: a copy they can
   * run, and files they can read. */
  svc.client = g_build_filename (svc.tmp, "client", NULL);
  copy_file (g_getenv ("SK_BUS_CLIENT"), svc.client, 0755);
  svc.files = g_build_filename (svc.tmp, "files", NULL);
  g_assert_cmpint (g_mkdir (svc.files, 0755), ==, 0);
  g_assert_cmpint (g_chmod (svc.files, 0755), ==, 0);

  g_autofree char *stations = g_build_filename (svc.tmp, "st", NULL);
  g_assert_cmpint (g_mkdir (stations, 0700), ==, 0);
  sk_test_stations_make (stations, &svc.st);
  g_autofree char *policy = g_build_filename (stations, "policy.json", NULL);
  g_autofree char *policy_sig = g_build_filename (stations, "policy.json.sig", NULL);
  g_autofree char *policy_copy = g_build_filename (svc.files, "policy.json", NULL);
  g_autofree char *policy_sig_copy = g_build_filename (svc.files, "policy.json.sig", NULL);
  copy_file (policy, policy_copy, 0644);
  copy_file (policy_sig, policy_sig_copy, 0644);
  /* A checkpoint kept off the station, for Journal.VerifyCheckpoint. */
  g_free (checkpoint_for_users (svc.st.term, "checkpoint.json"));
  g_autofree char *key_copy = g_build_filename (svc.files, "admin.pub", NULL);
  g_assert_true (g_file_set_contents_full (
      key_copy, g_bytes_get_data (sk_test_keys.admin_pub, NULL),
      (gssize)g_bytes_get_size (sk_test_keys.admin_pub), G_FILE_SET_CONTENTS_NONE, 0644, NULL));
  g_assert_cmpint (g_chmod (key_copy, 0644), ==, 0);

  start_bus ();
  g_autoptr (GDBusConnection) bus = bus_connection ();
  const char *polkitd[] = { "/usr/lib/polkit-1/polkitd", "--no-debug", NULL };
  svc.polkitd = spawn_with_bus (polkitd, G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  sk_test_bus_wait_for_name (bus, "org.freedesktop.PolicyKit1");

  g_autofree char *run = g_build_filename (svc.tmp, "run", NULL);
  const char *service[] = { g_getenv ("SEKISHOD"), "--station", sk_station_get_dir (svc.st.term),
                            "--handoff-root",      run,         NULL };
  svc.service = spawn_with_bus (service, G_SUBPROCESS_FLAGS_NONE);
  sk_test_bus_wait_for_name (bus, BUS_NAME);
}

void
teardown (void)
{
  /* The service ends cleanly on SIGTERM; under LeakSanitizer a leak would
   * make this fail. */
  g_assert_cmpint (stop (&svc.service), ==, 0);
  stop (&svc.polkitd);
  stop (&svc.bus);
  sk_test_stations_clear (&svc.st);
  sk_test_keys_free ();
}

gint64
journal_head (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_station_open (sk_station_get_dir (svc.st.term), &error);
  g_assert_no_error (error);
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, TRUE, &error);
  g_assert_no_error (error);
  gint64 head = 0;
  g_assert_true (sk_journal_head (journal, &head, NULL, &error));
  g_assert_no_error (error);
  return head;
}

/* (Re)start the service, with SEKISHO_FAULT=FAULT unless NULL. */
void
start_service (const char *fault)
{
  g_autoptr (GDBusConnection) bus = bus_connection ();
  g_autofree char *run = g_build_filename (svc.tmp, "run", NULL);
  const char *argv[] = { g_getenv ("SEKISHOD"), "--station", sk_station_get_dir (svc.st.term),
                         "--handoff-root",      run,         NULL };
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_setenv (l, "DBUS_SYSTEM_BUS_ADDRESS", svc.address, TRUE);
  if (fault != NULL)
    g_subprocess_launcher_setenv (l, "SEKISHO_FAULT", fault, TRUE);
  if (svc.journald != NULL)
    g_subprocess_launcher_setenv (l, "SEKISHO_JOURNALD_SOCKET", svc.journald, TRUE);
  g_autoptr (GError) error = NULL;
  svc.service = g_subprocess_launcher_spawnv (l, argv, &error);
  g_assert_no_error (error);
  sk_test_bus_wait_for_name (bus, BUS_NAME);
}
