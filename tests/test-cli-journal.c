/* test-cli-journal.c — the journal commands, the sweep, and crashes in the
 * station's own write paths */
#define G_LOG_DOMAIN "sekisho-test"

#include "config.h"

#include "sk-test-cli.h"

/* ---- journal ------------------------------------------------------------ */

static GBytes *
station_files_digest (const char *station)
{
  const char *names[] = { "station.db", "station.db-wal", "station.db-shm" };
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (station, names[i], NULL);
      g_autofree char *data = NULL;
      gsize len = 0;
      if (g_file_get_contents (path, &data, &len, NULL))
        g_checksum_update (sum, (const guchar *)data, (gssize)len);
      g_checksum_update (sum, (const guchar *)names[i], -1);
      g_checksum_update (sum, (const guchar *)(data != NULL ? "+" : "-"), 1);
    }
  return g_bytes_new (g_checksum_get_string (sum), 64);
}

/* Station init, key imports and the policy install were journaled; verify,
 * show and export read the journal and write nothing into the station
 * (export makes a checkpoint only when entries came after the newest). */
void
test_journal_commands (Fixture *f, gconstpointer user_data)
{
  g_autoptr (Run) cp = sk_at (f->terminal, TRUE, "journal", "checkpoint", NULL);
  JsonObject *cp_obj = expect_json (cp, 0, NULL);
  g_autofree char *checkpoint = g_strdup (json_object_get_string_member (cp_obj, "checkpoint"));
  g_assert_true (g_file_test (checkpoint, G_FILE_TEST_IS_REGULAR));

  g_autoptr (GBytes) before = station_files_digest (f->terminal);
  g_autofree char *csv = g_build_filename (f->dir, "journal.csv", NULL);

  g_autoptr (Run) verify =
      sk_at (f->terminal, TRUE, "journal", "verify", "--checkpoint", checkpoint, NULL);
  JsonObject *v = expect_json (verify, 0, NULL);
  g_assert_cmpint (json_object_get_int_member (v, "entries"), ==, 5);
  g_assert_cmpint (json_object_get_int_member (v, "checkpoint_seq"), ==, 4);

  g_autoptr (Run) show = sk_at (f->terminal, TRUE, "journal", "show", NULL);
  JsonObject *sh = expect_json (show, 0, NULL);
  JsonArray *entries = json_object_get_array_member (sh, "entries");
  const char *events[] = { "station-created", "key-imported", "key-imported", "policy-installed",
                           "checkpoint-made" };
  g_assert_cmpuint (json_array_get_length (entries), ==, G_N_ELEMENTS (events));
  for (guint i = 0; i < G_N_ELEMENTS (events); i++)
    g_assert_cmpstr (
        json_object_get_string_member (json_array_get_object_element (entries, i), "event"), ==,
        events[i]);

  g_autoptr (Run) filtered = sk_at (f->terminal, TRUE, "journal", "show", "--event", "key-imported",
                                    "--since", "2000-01-01", NULL);
  JsonObject *fo = expect_json (filtered, 0, NULL);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (fo, "entries")), ==, 2);

  g_autoptr (Run) export = sk_at (f->terminal, TRUE, "journal", "export", "--out", csv, NULL);
  expect_json (export, 0, NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  /* test-cli-text checks the record itself; its checkpoint was the one
   * just made, as only that checkpoint's own entry came after it. */
  g_assert_true (g_str_has_prefix (text, "\xEF\xBB\xBF"
                                         "seq,time_utc,time_local,event,"));
  g_autofree char *cp_copy = g_strconcat (csv, ".checkpoint.json", NULL);
  g_autofree char *cp_sig = g_strconcat (cp_copy, ".sig", NULL);
  g_assert_true (g_file_test (cp_copy, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (cp_sig, G_FILE_TEST_IS_REGULAR));

  g_autoptr (GBytes) after = station_files_digest (f->terminal);
  g_assert_true (g_bytes_equal (before, after));

  /* A refused key import is journaled too. */
  g_autoptr (Run) refused =
      sk_at (f->terminal, TRUE, "key", "import", keys->mallory_secret_file, NULL);
  expect_json (refused, 1, "key-refused");
  g_autoptr (Run) show2 =
      sk_at (f->terminal, TRUE, "journal", "show", "--reason", "key-refused", NULL);
  JsonObject *s2 = expect_json (show2, 0, NULL);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (s2, "entries")), ==, 1);
}

void
test_journal_tampered (Fixture *f, gconstpointer user_data)
{
  g_autoptr (Run) cp = sk_at (f->terminal, TRUE, "journal", "checkpoint", NULL);
  JsonObject *cp_obj = expect_json (cp, 0, NULL);
  g_autofree char *checkpoint = g_strdup (json_object_get_string_member (cp_obj, "checkpoint"));
  g_autofree char *db = g_build_filename (f->terminal, "station.db", NULL);

  /* One byte of row 2, through the stock sqlite3 shell. */
  const char *argv[] = { "sqlite3", db, "UPDATE journal SET login = 'x' || login WHERE seq = 2",
                         NULL };
  g_autoptr (Run) edit = run_argv (argv);
  expect_status (edit, 0);
  g_autoptr (Run) verify = sk_at (f->terminal, TRUE, "journal", "verify", NULL);
  JsonObject *v = expect_json (verify, 1, "journal-invalid");
  g_assert_cmpint (json_object_get_int_member (v, "first_bad_seq"), ==, 2);

  /* Undo it, then cut the tail behind the checkpoint: the chain alone
   * would still verify, but the station's own newest checkpoint does not
   * (issue 10, item 9), nor the checkpoint named on the line. */
  const char *undo[] = { "sqlite3", db,
                         "UPDATE journal SET login = substr (login, 2) WHERE seq = 2", NULL };
  g_autoptr (Run) undone = run_argv (undo);
  expect_status (undone, 0);
  const char *cut[] = { "sqlite3", db, "DELETE FROM journal WHERE seq >= 4", NULL };
  g_autoptr (Run) cutting = run_argv (cut);
  expect_status (cutting, 0);
  g_autoptr (Run) chain = sk_at (f->terminal, TRUE, "journal", "verify", NULL);
  JsonObject *c = expect_json (chain, 1, "journal-invalid");
  g_assert_cmpstr (json_object_get_string_member (c, "checkpoint"), ==, checkpoint);
  g_assert_nonnull (strstr (json_object_get_string_member (c, "message"), "truncated"));
  g_autoptr (Run) with_cp =
      sk_at (f->terminal, TRUE, "journal", "verify", "--checkpoint", checkpoint, NULL);
  expect_json (with_cp, 1, "journal-invalid");

  /* A local checkpoint whose signature is gone is a finding too. */
  g_autofree char *sig = g_strconcat (checkpoint, ".sig", NULL);
  g_assert_cmpint (g_unlink (sig), ==, 0);
  g_autoptr (Run) unsigned_cp = sk_at (f->terminal, TRUE, "journal", "verify", NULL);
  expect_json (unsigned_cp, 1, "journal-invalid");
}

/* A checkpoint from another station is refused even when it verifies on
 * its own journal: the admin workstation's checkpoint against the
 * terminal's journal. */
void
test_journal_foreign_checkpoint (Fixture *f, gconstpointer user_data)
{
  g_autoptr (Run) cp = sk_at (f->admin, TRUE, "journal", "checkpoint", NULL);
  JsonObject *cp_obj = expect_json (cp, 0, NULL);
  const char *foreign = json_object_get_string_member (cp_obj, "checkpoint");
  g_autoptr (Run) verify =
      sk_at (f->terminal, TRUE, "journal", "verify", "--checkpoint", foreign, NULL);
  expect_json (verify, 1, "sig-untrusted-key");
  g_autoptr (Run) local = sk_at (f->terminal, TRUE, "journal", "verify", NULL);
  JsonObject *l = expect_json (local, 0, NULL);
  g_assert_true (json_object_get_null_member (l, "checkpoint"));
}

void
test_station_sweep (Fixture *f, gconstpointer user_data)
{
  g_autoptr (Run) sweep = sk_at (f->terminal, TRUE, "station", "sweep", NULL);
  JsonObject *obj = expect_json (sweep, 0, NULL);
  g_assert_cmpint (json_object_get_int_member (obj, "deleted"), ==, 0);
  g_autoptr (Run) nowhere = sk_at (f->dir, TRUE, "station", "sweep", NULL);
  expect_json (nowhere, 3, "station-invalid");
}

/* ---- crashes in the station's own write paths ------------------------------ */

static Run *
sk_fault_at (const char *fault, const char *station, const char *first, ...) G_GNUC_NULL_TERMINATED;
static Run *
sk_fault_at (const char *fault, const char *station, const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  va_list args;

  /* Through sh, which outlives the killed CLI and exits 128 + SIGKILL. */
  g_ptr_array_add (argv, (char *)"sh");
  g_ptr_array_add (argv, (char *)"-c");
  g_ptr_array_add (argv, (char *)"SEKISHO_FAULT=\"$0\" \"$@\"");
  g_ptr_array_add (argv, (char *)fault);
  g_ptr_array_add (argv, (char *)keys->cli);
  g_ptr_array_add (argv, (char *)"--station");
  g_ptr_array_add (argv, (char *)station);
  g_ptr_array_add (argv, (char *)"--json");
  va_start (args, first);
  for (const char *a = first; a != NULL; a = va_arg (args, const char *))
    g_ptr_array_add (argv, (char *)a);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  return run_argv ((const char *const *)argv->pdata);
}

/* Killed at each boundary of a checkpoint and of a policy install, the
 * station stays whole: the journal verifies, the policy in force loads, a
 * checkpoint that exists verifies, and the command works when run again. */
void
test_station_crashes (Fixture *f, gconstpointer user_data)
{
  if (sk_test_skip_without_fault_points ())
    return;
  const char *checkpoint_points[] = { "checkpoint-before-json", "checkpoint-before-journal" };
  for (gsize i = 0; i < G_N_ELEMENTS (checkpoint_points); i++)
    {
      g_autoptr (Run) killed =
          sk_fault_at (checkpoint_points[i], f->terminal, "journal", "checkpoint", NULL);
      g_assert_cmpint (killed->status, ==, 128 + SIGKILL);
      g_autoptr (Run) verify = sk_at (f->terminal, TRUE, "journal", "verify", NULL);
      expect_json (verify, 0, NULL);
      g_autoptr (Run) again = sk_at (f->terminal, TRUE, "journal", "checkpoint", NULL);
      JsonObject *obj = expect_json (again, 0, NULL);
      g_autoptr (Run) with_cp = sk_at (f->terminal, TRUE, "journal", "verify", "--checkpoint",
                                       json_object_get_string_member (obj, "checkpoint"), NULL);
      expect_json (with_cp, 0, NULL);
    }

  /* A second policy (serial 2), installed with a crash at each boundary:
   * afterwards the station has the old policy or the new one, never none. */
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (f->policy, &text, NULL, NULL));
  g_autoptr (GString) next = g_string_new (text);
  g_string_replace (next, "\"serial\" : 1", "\"serial\" : 2", 1);
  g_assert_cmpstr (next->str, !=, text);
  g_autofree char *policy2 = g_build_filename (f->dir, "policy2.json", NULL);
  write_file (policy2, next->str, next->len);
  sk_ok ("--station", f->admin, "--json", "policy", "sign", "--key", keys->admin, policy2, NULL);

  const char *install_points[] = { "policy-install-before-sig", "policy-install-before-link",
                                   "policy-install-before-rename",
                                   "policy-install-before-dirsync" };
  for (gsize i = 0; i < G_N_ELEMENTS (install_points); i++)
    {
      g_autoptr (Run) killed =
          sk_fault_at (install_points[i], f->terminal, "policy", "install", policy2, NULL);
      g_assert_cmpint (killed->status, ==, 128 + SIGKILL);
      g_autoptr (Run) loads = sk_at (f->terminal, TRUE, "validate", policy2, NULL);
      /* validate loads the installed policy; the file itself has no kind */
      expect_json (loads, 1, "file-kind-unknown");
      g_autoptr (Run) verify = sk_at (f->terminal, TRUE, "journal", "verify", NULL);
      expect_json (verify, 0, NULL);
    }
  sk_ok ("--station", f->terminal, "--json", "policy", "install", policy2, NULL);
}
