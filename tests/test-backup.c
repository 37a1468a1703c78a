/* test-backup.c — station backup and restore with real keys, a real journal
 * and real packages
 *
 * The terminal of the pipeline fixture takes a package in and makes a
 * checkpoint that the auditor keeps; its backup is restored onto a new
 * station made with the same keys.  The old checkpoint must verify there,
 * the package must be refused as a replay, and a backup that is cut short,
 * altered, signed by another station, older than the checkpoint shown or
 * restored over a station's own work must be refused, leaving that station
 * as it was apart from the refusal's journal entry.
 */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>
#include <unistd.h>

#include "sk-actor.h"
#include "sk-backup.h"
#include "sk-error.h"
#include "sk-test-pipeline.h"
#include "sk-test-util.h"

typedef struct
{
  SkPipelineFixture pf;
  char *pkg;        /* a package the terminal imported before the backup */
  char *offsite;    /* the auditor's copy of the terminal's checkpoint */
  char *backup;     /* the terminal's backup */
  GPtrArray *homes; /* GnuPG homes of the new stations, for teardown */
} Fixture;

static void
copy_file (const char *from, const char *to)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (from, &data, &len, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (to, data, (gssize)len, &error));
  g_assert_no_error (error);
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  pf_fixture_setup (&fx->pf, data);
  fx->homes = g_ptr_array_new_with_free_func (g_free);

  g_autofree char *request = pf_synth (&fx->pf, "KNY01", 7, 20, NULL);
  const char *paths[] = { request, NULL };
  fx->pkg = pf_pack (&fx->pf, "subscriber", 7, paths);
  g_autoptr (SkCase) c = pf_import_ok (&fx->pf, fx->pkg);
  g_assert_nonnull (c);

  /* The auditor takes a checkpoint off the station. */
  g_autofree char *cp =
      sk_station_make_checkpoint (fx->pf.st.term, sk_actor_for_process (SK_ROLE_AUDITOR), &error);
  g_assert_no_error (error);
  g_autofree char *dir = pf_make_subdir (fx->pf.tmp, "offsite");
  fx->offsite = g_build_filename (dir, "checkpoint.json", NULL);
  g_autofree char *cp_sig = g_strconcat (cp, ".sig", NULL);
  g_autofree char *offsite_sig = g_strconcat (fx->offsite, ".sig", NULL);
  copy_file (cp, fx->offsite);
  copy_file (cp_sig, offsite_sig);

  fx->backup = g_build_filename (fx->pf.tmp, "station.backup", NULL);
  g_assert_true (
      sk_backup_write (fx->pf.st.term, sk_actor_for_process (SK_ROLE_ADMIN), fx->backup, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  for (guint i = 0; i < fx->homes->len; i++)
    sk_test_gpg_remove_home (g_ptr_array_index (fx->homes, i));
  g_ptr_array_unref (fx->homes);
  g_free (fx->pkg);
  g_free (fx->offsite);
  g_free (fx->backup);
  pf_fixture_teardown (&fx->pf, data);
}

/* A new station for the terminal's keys (or OWN_FPR's), with only its own
 * secret key: the administrator's public key comes from the backup. */
static SkStation *
new_station (Fixture *fx, const char *name, const char *own_fpr, GBytes *own_sec)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_build_filename (fx->pf.tmp, name, NULL);
  SkStation *station = sk_station_create (dir, sk_test_keys.admin, own_fpr, "terminal",
                                          sk_actor_for_process (SK_ROLE_ADMIN), &error);
  g_assert_no_error (error);
  g_ptr_array_add (fx->homes, g_build_filename (dir, "gnupg", NULL));
  GBytes *keys[] = { own_sec, NULL };
  sk_test_import (station, own_fpr, keys);
  return station;
}

static SkStation *
new_terminal (Fixture *fx, const char *name)
{
  return new_station (fx, name, sk_test_keys.terminal, sk_test_keys.terminal_sec);
}

static GBytes *
read_bytes (const char *path)
{
  return pf_read_bytes (path);
}

static GBytes *
read_sig (const char *path)
{
  g_autofree char *sig = g_strconcat (path, ".sig", NULL);
  return pf_read_bytes (sig);
}

static gint64
journal_length (SkStation *station)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, TRUE, &error);
  g_assert_no_error (error);
  gint64 seq;
  g_assert_true (sk_journal_head (journal, &seq, NULL, &error));
  g_assert_no_error (error);
  return seq;
}

static char *
last_event (SkStation *station)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, TRUE, &error);
  g_assert_no_error (error);
  SkJournalFilter all = { 0 };
  g_autoptr (GPtrArray) rows = sk_journal_query (journal, &all, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, >, 0);
  const SkJournalRow *r = g_ptr_array_index (rows, rows->len - 1);
  return g_strdup_printf ("%s/%s", r->event, r->reason != NULL ? r->reason : "-");
}

/* The names in the backup, in order, read with the stock tar. */
static char *
list_members (const char *path)
{
  const char *argv[] = { "tar", "-tf", path, NULL };
  g_autoptr (GBytes) out = NULL;
  g_assert_cmpint (sk_test_run (argv, NULL, &out), ==, 0);
  return g_strndup (g_bytes_get_data (out, NULL), g_bytes_get_size (out));
}

static void
test_round_trip (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  /* What is in it: the manifest and its signature first; never an item of
   * the store, never a secret key. */
  g_autofree char *names = list_members (fx->backup);
  g_assert_true (g_str_has_prefix (names, "BACKUP.json\nBACKUP.json.sig\njournal.jsonl\nkeys.gpg\n"
                                          "policy.json\npolicy.json.sig\n"));
  g_assert_nonnull (strstr (names, "checkpoint-"));
  g_assert_cmpuint (pf_store_items (&fx->pf), >, 0);
  g_assert_null (strstr (names, "store"));
  g_autoptr (GBytes) whole = read_bytes (fx->backup);
  g_assert_null (memmem (g_bytes_get_data (whole, NULL), g_bytes_get_size (whole), "PRIVATE KEY",
                         strlen ("PRIVATE KEY")));
  const char *dump[] = { "sh", "-c", "tar -xOf \"$0\" keys.gpg | gpg --list-packets", fx->backup,
                         NULL };
  g_autoptr (GBytes) packets = NULL;
  g_assert_cmpint (sk_test_run (dump, NULL, &packets), ==, 0);
  g_autofree char *packet_text =
      g_strndup (g_bytes_get_data (packets, NULL), g_bytes_get_size (packets));
  g_assert_nonnull (strstr (packet_text, ":public key packet:"));
  g_assert_null (strstr (packet_text, ":secret key packet:"));
  g_assert_null (strstr (packet_text, ":secret sub key packet:"));

  gint64 old_length = journal_length (fx->pf.st.term);
  g_autoptr (SkStation) fresh = new_terminal (fx, "fresh");
  g_assert_true (sk_backup_restore (fresh, sk_actor_for_process (SK_ROLE_ADMIN), fx->backup,
                                    fx->offsite, &error));
  g_assert_no_error (error);

  /* The journal is back whole, the restore its next entry, and the
   * checkpoint the auditor kept verifies against it. */
  g_autoptr (SkJournal) journal = sk_station_open_journal (fresh, TRUE, &error);
  g_assert_no_error (error);
  gint64 entries = 0, bad = 0;
  g_assert_true (sk_journal_verify (journal, &entries, &bad, NULL, &error));
  g_assert_no_error (error);
  /* the backup's rows (the backup's own entry came after it), the restore,
   * then the policy installed again */
  g_assert_cmpint (entries, ==, old_length - 1 + 2);
  g_autoptr (GBytes) cp = read_bytes (fx->offsite);
  g_autoptr (GBytes) cp_sig = read_sig (fx->offsite);
  gint64 cp_seq = 0;
  g_assert_true (sk_journal_check_checkpoint (
      journal, sk_station_get_keyring (fresh), sk_station_get_name (fresh),
      sk_station_get_signing_key (fresh), cp, cp_sig, &cp_seq, &error));
  g_assert_no_error (error);
  g_assert_cmpint (cp_seq, >, 0);
  SkJournalFilter restored = { .event = "station-restored" };
  g_autoptr (GPtrArray) rows = sk_journal_query (journal, &restored, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 1);

  /* The policy is installed, and the old checkpoints are in place. */
  g_autoptr (SkPolicy) policy = sk_station_load_policy (fresh, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sk_policy_get_sha256 (policy), ==, sk_policy_get_sha256 (fx->pf.st.term_policy));
  g_autofree char *latest = sk_station_latest_checkpoint (fresh);
  g_assert_nonnull (latest);

  /* The package taken in before the backup is a replay now. */
  g_autoptr (SkPipeline) pipe = sk_pipeline_new (fresh, policy, fx->pf.run, &error);
  g_assert_no_error (error);
  g_autoptr (SkCase) again = sk_pipeline_import (pipe, &fx->pf.op, fx->pkg, NULL, NULL, &error);
  g_assert_null (again);
  g_assert_error (error, SK_ERROR, SK_ERROR_PACKAGE_REPLAYED);
  g_clear_error (&error);

  /* And the station can back itself up again. */
  g_autofree char *second = g_build_filename (fx->pf.tmp, "second.backup", NULL);
  g_assert_true (sk_backup_write (fresh, sk_actor_for_process (SK_ROLE_ADMIN), second, &error));
  g_assert_no_error (error);
  g_autofree char *ev = last_event (fresh);
  g_assert_cmpstr (ev, ==, "station-backed-up/-");
}

/* Restore BACKUP onto a new station, expecting CODE; the station is left
 * with its own journal and one more entry: the refusal. */
static void
assert_refused (
    Fixture *fx, const char *station_name, const char *backup, const char *checkpoint, int code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) fresh = new_terminal (fx, station_name);
  gint64 before = journal_length (fresh);
  g_assert_false (
      sk_backup_restore (fresh, sk_actor_for_process (SK_ROLE_ADMIN), backup, checkpoint, &error));
  g_assert_error (error, SK_ERROR, code);
  g_assert_cmpint (journal_length (fresh), ==, before + 1);
  g_autofree char *ev = last_event (fresh);
  g_autofree char *want =
      g_strdup_printf ("station-restore-refused/%s", sk_error_code_to_reason (code));
  g_assert_cmpstr (ev, ==, want);
  g_autofree char *policy =
      g_build_filename (sk_station_get_dir (fresh), "policy", "current", NULL);
  g_assert_false (g_file_test (policy, G_FILE_TEST_EXISTS));
  g_assert_null (sk_station_latest_checkpoint (fresh));
}

static void
test_truncated (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) whole = read_bytes (fx->backup);
  gsize len;
  const guint8 *bytes = g_bytes_get_data (whole, &len);
  /* The tar's end is zero blocks that carry nothing; its last data byte is
   * the last byte that is not zero. */
  gsize last = len;
  while (last > 0 && bytes[last - 1] == 0)
    last--;
  g_assert_cmpuint (last, >, 0);
  /* Cut within the first header, in the middle, and within the last member. */
  const gsize cuts[] = { 512, len / 2, last - 1 };
  for (gsize i = 0; i < G_N_ELEMENTS (cuts); i++)
    {
      g_autofree char *path = g_strdup_printf ("%s/cut%" G_GSIZE_FORMAT, fx->pf.tmp, i);
      g_autoptr (GError) error = NULL;
      g_assert_true (
          g_file_set_contents (path, g_bytes_get_data (whole, NULL), (gssize)cuts[i], &error));
      g_autofree char *name = g_strdup_printf ("cut-station%" G_GSIZE_FORMAT, i);
      assert_refused (fx, name, path, NULL, SK_ERROR_BACKUP_INVALID);
    }
}

static void
test_altered (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) whole = read_bytes (fx->backup);
  gsize len;
  const char *bytes = g_bytes_get_data (whole, &len);
  /* A journal row's event, a byte of the public keys, a byte of the
   * manifest: each is caught. */
  const char *marks[] = { "package-imported", "\"station\"", "sekisho-backup/1" };
  for (gsize i = 0; i < G_N_ELEMENTS (marks); i++)
    {
      const char *at = memmem (bytes, len, marks[i], strlen (marks[i]));
      g_assert_nonnull (at);
      g_autofree char *copy = g_memdup2 (bytes, len);
      copy[at - bytes + 1] ^= 0x01;
      g_autofree char *path = g_strdup_printf ("%s/altered%" G_GSIZE_FORMAT, fx->pf.tmp, i);
      g_autoptr (GError) error = NULL;
      g_assert_true (g_file_set_contents (path, copy, (gssize)len, &error));
      g_autofree char *name = g_strdup_printf ("altered-station%" G_GSIZE_FORMAT, i);
      assert_refused (fx, name, path, NULL, SK_ERROR_BACKUP_INVALID);
    }
}

static void
test_other_station (Fixture *fx, gconstpointer data)
{
  /* A station with another key cannot take this station's backup. */
  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) other =
      new_station (fx, "other", sk_test_keys.standard, sk_test_keys.standard_sec);
  g_assert_false (
      sk_backup_restore (other, sk_actor_for_process (SK_ROLE_ADMIN), fx->backup, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_BACKUP_INVALID);
}

static void
test_stale (Fixture *fx, gconstpointer data)
{
  /* The station went on after the backup, and the auditor has a newer
   * checkpoint: the old backup would lose what came between. */
  g_autoptr (GError) error = NULL;
  g_autofree char *request = pf_synth (&fx->pf, "KNY01", 8, 20, NULL);
  const char *paths[] = { request, NULL };
  g_autofree char *pkg = pf_pack (&fx->pf, "subscriber", 8, paths);
  g_autoptr (SkCase) c = pf_import_ok (&fx->pf, pkg);
  g_assert_nonnull (c);
  g_autofree char *newer =
      sk_station_make_checkpoint (fx->pf.st.term, sk_actor_for_process (SK_ROLE_AUDITOR), &error);
  g_assert_no_error (error);
  assert_refused (fx, "stale", fx->backup, newer, SK_ERROR_BACKUP_STALE);

  /* A newer backup reaches it. */
  g_autofree char *later = g_build_filename (fx->pf.tmp, "later.backup", NULL);
  g_assert_true (
      sk_backup_write (fx->pf.st.term, sk_actor_for_process (SK_ROLE_ADMIN), later, &error));
  g_assert_no_error (error);
  g_autoptr (SkStation) fresh = new_terminal (fx, "fresh-later");
  g_assert_true (
      sk_backup_restore (fresh, sk_actor_for_process (SK_ROLE_ADMIN), later, newer, &error));
  g_assert_no_error (error);
}

static void
test_not_fresh (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gint64 before = journal_length (fx->pf.st.term);
  g_assert_false (sk_backup_restore (fx->pf.st.term, sk_actor_for_process (SK_ROLE_ADMIN),
                                     fx->backup, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_STATION_NOT_FRESH);
  g_assert_cmpint (journal_length (fx->pf.st.term), ==, before + 1);

  /* Nor is a backup written over an existing file. */
  g_clear_error (&error);
  g_assert_false (
      sk_backup_write (fx->pf.st.term, sk_actor_for_process (SK_ROLE_ADMIN), fx->backup, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_USAGE);
  g_autofree char *ev = last_event (fx->pf.st.term);
  g_assert_cmpstr (ev, ==, "station-backup-failed/usage");
}

/* The same through the command line, as an administrator runs it. */
static void
test_cli (Fixture *fx, gconstpointer data)
{
  const char *cli = g_getenv ("SEKISHO_CLI");
  g_assert_nonnull (cli);
  g_autofree char *out = g_build_filename (fx->pf.tmp, "cli.backup", NULL);
  const char *backup[] = { cli,       "--json", "--station", sk_station_get_dir (fx->pf.st.term),
                           "station", "backup", "--out",     out,
                           NULL };
  g_autoptr (GBytes) json = NULL;
  g_assert_cmpint (sk_test_run (backup, NULL, &json), ==, 0);
  g_autofree char *text = g_strndup (g_bytes_get_data (json, NULL), g_bytes_get_size (json));
  g_assert_nonnull (strstr (text, "\"ok\":true"));
  g_assert_true (g_file_test (out, G_FILE_TEST_IS_REGULAR));

  g_autoptr (SkStation) fresh = new_terminal (fx, "cli-fresh");
  const char *restore[] = { cli,       "--json",  "--station",    sk_station_get_dir (fresh),
                            "station", "restore", "--checkpoint", fx->offsite,
                            out,       NULL };
  g_clear_pointer (&json, g_bytes_unref);
  g_assert_cmpint (sk_test_run (restore, NULL, &json), ==, 0);

  /* Twice is once too many: the station has its journal now. */
  g_clear_pointer (&json, g_bytes_unref);
  g_assert_cmpint (sk_test_run (restore, NULL, &json), ==, 1);
  g_free (text);
  text = g_strndup (g_bytes_get_data (json, NULL), g_bytes_get_size (json));
  g_assert_nonnull (strstr (text, "\"reason\":\"station-not-fresh\""));

  const char *usage[] = { cli, "--station", sk_station_get_dir (fresh), "station", "backup", NULL };
  g_clear_pointer (&json, g_bytes_unref);
  g_assert_cmpint (sk_test_run (usage, NULL, &json), ==, 2);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "C.UTF-8");
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/backup/round-trip", Fixture, NULL, fixture_setup, test_round_trip,
              fixture_teardown);
  g_test_add ("/backup/truncated", Fixture, NULL, fixture_setup, test_truncated, fixture_teardown);
  g_test_add ("/backup/altered", Fixture, NULL, fixture_setup, test_altered, fixture_teardown);
  g_test_add ("/backup/other-station", Fixture, NULL, fixture_setup, test_other_station,
              fixture_teardown);
  g_test_add ("/backup/stale", Fixture, NULL, fixture_setup, test_stale, fixture_teardown);
  g_test_add ("/backup/not-fresh", Fixture, NULL, fixture_setup, test_not_fresh, fixture_teardown);
  g_test_add ("/backup/cli", Fixture, NULL, fixture_setup, test_cli, fixture_teardown);
  int status = g_test_run ();
  sk_test_keys_free ();
  return status;
}
