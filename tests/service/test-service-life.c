/* test-service-life.c — the service killed inside a step and restarted,
 * a job cancelled, a station directory that is not the service's alone */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "sk-fault.h"
#include "sk-synth.h"
#include "sk-test-service.h"
#include "sk-test-util.h"

/* A fresh package of one KNY01 file for case C…SEED on a medium folder
 * the test users can read; returns the folder, *OUT_NAME the package. */
static char *
fresh_package (guint64 seed, char **out_name)
{
  char *medium = g_strdup_printf ("%s/medium-%" G_GUINT64_FORMAT, svc.tmp, seed);
  g_autofree char *package = pack_for_users (seed, 20, medium);
  *out_name = g_path_get_basename (package);
  return medium;
}

static void
assert_journal_verifies (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_station_open (sk_station_get_dir (svc.st.term), &error);
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
void
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

      g_assert_cmpint (stop (&svc.service), ==, 0);
      start_service (import_points[i]);
      g_autofree char *killed = call_as (&sk_test_users[0], "Cases.Import", medium, name, NULL);
      g_test_message ("killed at %s: %s", import_points[i], killed);
      g_assert_cmpstr (killed, ==, "JOB fail service-unreachable");
      g_assert_true (g_subprocess_wait (svc.service, NULL, NULL));
      g_assert_true (g_subprocess_get_if_signaled (svc.service));
      g_assert_cmpint (g_subprocess_get_term_sig (svc.service), ==, SIGKILL);
      g_clear_object (&svc.service);

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
  g_assert_cmpint (stop (&svc.service), ==, 0);
  start_service ("handoff-before-commit");
  g_autofree char *killed = call_as (&sk_test_users[0], "Cases.HandOff", case_id, NULL);
  g_assert_cmpstr (killed, ==, "JOB fail service-unreachable");
  g_assert_true (g_subprocess_wait (svc.service, NULL, NULL));
  g_assert_true (g_subprocess_get_if_signaled (svc.service));
  g_clear_object (&svc.service);
  start_service (NULL);
  assert_journal_verifies ();
  g_autofree char *upload = g_strdup_printf ("%s/run/upload/%u", svc.tmp, sk_test_users[0].uid);
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
  g_autofree char *download = g_strdup_printf ("%s/run/download/%u", svc.tmp, sk_test_users[0].uid);
  g_autofree char *result = sk_synth_write_file (layouts, sk_policy_lookup_kind (layouts, "KNY02"),
                                                 &opts, download, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chown (result, sk_test_users[0].uid, sk_test_users[0].uid), ==, 0);
  g_autofree char *result_name = g_path_get_basename (result);
  g_assert_cmpint (stop (&svc.service), ==, 0);
  start_service ("take-in-before-unlink");
  g_autofree char *taken = call_as (&sk_test_users[0], "Cases.TakeIn", result_name, NULL);
  g_assert_cmpstr (taken, ==, "JOB fail service-unreachable");
  g_assert_true (g_subprocess_wait (svc.service, NULL, NULL));
  g_assert_true (g_subprocess_get_if_signaled (svc.service));
  g_clear_object (&svc.service);
  start_service (NULL);
  assert_journal_verifies ();
  g_autofree char *again_taken = call_as (&sk_test_users[0], "Cases.TakeIn", result_name, NULL);
  g_assert_cmpstr (again_taken, ==, "JOB fail file-duplicate");

  /* Killed in an export before its commit: the restarted service has not
   * recorded it, the journal verifies, and the export then works. */
  g_autofree char *out = g_build_filename (svc.tmp, "export-201", NULL);
  g_assert_cmpint (g_mkdir (out, 0755), ==, 0);
  g_assert_cmpint (g_chmod (out, 0755), ==, 0);
  g_assert_cmpint (stop (&svc.service), ==, 0);
  start_service ("export-before-commit");
  g_autofree char *exported = call_as (&sk_test_users[0], "Cases.Export", case_id, out, NULL);
  g_assert_cmpstr (exported, ==, "JOB fail service-unreachable");
  g_assert_true (g_subprocess_wait (svc.service, NULL, NULL));
  g_assert_true (g_subprocess_get_if_signaled (svc.service));
  g_clear_object (&svc.service);
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
  g_autofree char *store = g_build_filename (sk_station_get_dir (svc.st.term), "store", NULL);
  g_autoptr (GDir) dir = g_dir_open (store, 0, NULL);
  g_assert_nonnull (dir);
  guint n = 0;
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* An import cancelled while it runs stops within a second and leaves
 * nothing: no case, no file in the store, a journal that verifies. */
void
test_cancel (void)
{
  g_autofree char *medium = g_build_filename (svc.tmp, "medium-cancel", NULL);
  const char *case_id = "C0000000000000000300";
  /* Some 20 MB: an import that is still running. */
  g_autofree char *package = pack_for_users (300, 40000, medium);
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
void
test_station_dir_refused (void)
{
  g_autofree char *dir = g_build_filename (svc.tmp, "open-station", NULL);
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
