/* test-journal.c — the hash chain, its verification and its checkpoints
 *
 * Real SQLite files in a temporary directory.  Every column of every row is
 * altered by one byte in turn, rows are deleted, swapped, inserted and the
 * tail cut off; verification must fail and name the first bad row, and a
 * cut behind a signed checkpoint must be caught.
 */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sk-db.h"
#include "sk-error.h"
#include "sk-journal-csv.h"
#include "sk-journal-private.h"
#include "sk-journal.h"
#include "sk-keyring.h"
#include "sk-schema.h"
#include "sk-test-gpg.h"

#define ROWS 6

typedef struct
{
  char *dir;
  char *path;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  fx->dir = g_dir_make_tmp ("skj-XXXXXX", &error);
  g_assert_no_error (error);
  fx->path = g_build_filename (fx->dir, "station.db", NULL);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  sk_test_gpg_remove_home (fx->dir);
  g_free (fx->dir);
  g_free (fx->path);
}

static SkJournal *
open_journal (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkDb) db = sk_db_open (path, SK_DB_READ_WRITE, &error);
  g_assert_no_error (error);
  SkJournal *journal = sk_journal_new (db, "test-station", &error);
  g_assert_no_error (error);
  return journal;
}

static void
append_rows (SkJournal *journal, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *details =
          g_strdup_printf ("{\"n\":%u,\"name\":\"039004_KNY01_%u.DAT\"}", i, i);
      SkJournalEntry entry = {
        .event = i % 2 ? "package-imported" : "media-in",
        .outcome = i % 3 ? "ok" : "refused",
        .reason = i % 3 ? NULL : "check-digit",
        .uid = 1000 + i,
        .login = "operator1",
        .role = "operator",
        .case_id = i % 2 ? "C0000000000000000001" : NULL,
        .package_id = NULL,
        .device = "usb:1234:5678:SERIAL",
        .details = details,
      };
      g_assert_cmpint (sk_journal_record (journal, &entry, &error), >, 0);
      g_assert_no_error (error);
    }
}

static void
assert_bad (const char *path, gint64 expect_seq, const char *what)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkJournal) journal = open_journal (path);
  gint64 entries, bad = -1;

  gboolean ok = sk_journal_verify (journal, &entries, &bad, NULL, &error);
  if (ok)
    g_error ("%s: verification passed", what);
  g_assert_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID);
  if (bad != expect_seq)
    g_error ("%s: first bad seq %" G_GINT64_FORMAT ", expected %" G_GINT64_FORMAT " (%s)", what,
             bad, expect_seq, error->message);
}

static void
sql (const char *path, const char *statement)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkDb) db = sk_db_open (path, SK_DB_READ_WRITE, &error);
  g_assert_no_error (error);
  sk_db_exec (db, statement, &error);
  g_assert_no_error (error);
}

static void
copy_file (const char *from, const char *to)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *data = NULL;
  gsize len;
  g_file_get_contents (from, &data, &len, &error);
  g_assert_no_error (error);
  g_file_set_contents (to, data, (gssize)len, &error);
  g_assert_no_error (error);
}

/* A journal closed cleanly: everything is in the main file. */
static void
make_journal (Fixture *fx, guint rows)
{
  g_autoptr (SkJournal) journal = open_journal (fx->path);
  g_autoptr (GError) error = NULL;
  append_rows (journal, rows);
  sk_db_checkpoint_truncate (sk_journal_get_db (journal), &error);
  g_assert_no_error (error);
}

static void
test_verify_ok (Fixture *fx, gconstpointer data)
{
  make_journal (fx, ROWS);
  g_autoptr (SkJournal) journal = open_journal (fx->path);
  g_autoptr (GError) error = NULL;
  gint64 entries = 0, bad = -1;

  g_assert_true (sk_journal_verify (journal, &entries, &bad, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (entries, ==, ROWS);
  g_assert_cmpint (bad, ==, 0);

  gint64 seq;
  g_autofree char *head = NULL;
  g_assert_true (sk_journal_head (journal, &seq, &head, &error));
  g_assert_cmpint (seq, ==, ROWS);
  g_assert_cmpuint (strlen (head), ==, 64);

  /* An empty journal verifies too. */
  g_autofree char *empty = g_build_filename (fx->dir, "empty.db", NULL);
  g_autoptr (SkJournal) none = open_journal (empty);
  g_assert_true (sk_journal_verify (none, &entries, &bad, NULL, &error));
  g_assert_cmpint (entries, ==, 0);
}

static const char *const text_columns[] = { "event",  "outcome", "reason",    "login",
                                            "role",   "station", "case_id",   "package_id",
                                            "device", "details", "prev_hash", "entry_hash" };
static const char *const int_columns[] = { "time_us", "uid" };

/* One byte of one column of one row, for every row and column. */
static void
test_tamper_each_byte (Fixture *fx, gconstpointer data)
{
  make_journal (fx, ROWS);
  g_autofree char *copy = g_build_filename (fx->dir, "copy.db", NULL);

  for (gint64 seq = 1; seq <= ROWS; seq++)
    {
      for (gsize c = 0; c < G_N_ELEMENTS (text_columns); c++)
        {
          const char *col = text_columns[c];
          copy_file (fx->path, copy);
          /* Flip the lowest bit of the column's first byte; a NULL column
           * becomes a one-byte value. */
          g_autofree char *stmt = g_strdup_printf (
              "UPDATE journal SET %s = CASE WHEN %s IS NULL OR %s = '' THEN 'x' ELSE "
              "char ((unicode (substr (%s, 1, 1)) | 1) - (unicode (substr (%s, 1, 1)) & 1)) "
              "|| substr (%s, 2) END WHERE seq = %" G_GINT64_FORMAT,
              col, col, col, col, col, col, seq);
          sql (copy, stmt);
          g_autofree char *what = g_strdup_printf ("%s of row %" G_GINT64_FORMAT, col, seq);
          /* A changed entry_hash is caught at its own row, which no longer
           * matches its contents. */
          assert_bad (copy, seq, what);
        }
      for (gsize c = 0; c < G_N_ELEMENTS (int_columns); c++)
        {
          copy_file (fx->path, copy);
          g_autofree char *stmt = g_strdup_printf (
              "UPDATE journal SET %s = coalesce (%s, 0) + 1 WHERE seq = %" G_GINT64_FORMAT,
              int_columns[c], int_columns[c], seq);
          sql (copy, stmt);
          g_autofree char *what =
              g_strdup_printf ("%s of row %" G_GINT64_FORMAT, int_columns[c], seq);
          assert_bad (copy, seq, what);
        }
      /* seq itself: the row moves away from its place. */
      copy_file (fx->path, copy);
      g_autofree char *stmt =
          g_strdup_printf ("UPDATE journal SET seq = seq + 100 WHERE seq = %" G_GINT64_FORMAT, seq);
      sql (copy, stmt);
      assert_bad (copy, seq, "seq");
    }
}

static void
test_delete_swap_insert_truncate (Fixture *fx, gconstpointer data)
{
  make_journal (fx, ROWS);
  g_autofree char *copy = g_build_filename (fx->dir, "copy.db", NULL);

  copy_file (fx->path, copy);
  sql (copy, "DELETE FROM journal WHERE seq = 3");
  assert_bad (copy, 3, "a deleted row");

  /* Rows 2 and 4 trade everything but their place. */
  copy_file (fx->path, copy);
  sql (copy, "CREATE TEMP TABLE t AS SELECT * FROM journal WHERE seq IN (2, 4);"
             "UPDATE journal SET (time_us, event, outcome, reason, uid, login, role, station, "
             "case_id, package_id, device, details, prev_hash, entry_hash) = (SELECT time_us, "
             "event, outcome, reason, uid, login, role, station, case_id, package_id, device, "
             "details, prev_hash, entry_hash FROM t WHERE t.seq = 6 - journal.seq) "
             "WHERE seq IN (2, 4);");
  assert_bad (copy, 2, "two swapped rows");

  /* A forged row slipped in at 3, the rest renumbered. */
  copy_file (fx->path, copy);
  sql (copy, "UPDATE journal SET seq = seq + 1000 WHERE seq >= 3;"
             "UPDATE journal SET seq = seq - 999 WHERE seq >= 1003;"
             "INSERT INTO journal SELECT 3, time_us, event, outcome, reason, uid, login, role, "
             "station, case_id, package_id, device, details, prev_hash, entry_hash "
             "FROM journal WHERE seq = 2;");
  assert_bad (copy, 3, "an inserted row");

  /* A row appended without the chain. */
  copy_file (fx->path, copy);
  sql (copy, "INSERT INTO journal SELECT seq + 1, time_us, event, outcome, reason, uid, login, "
             "role, station, case_id, package_id, device, details, entry_hash, entry_hash FROM "
             "journal WHERE seq = 6;");
  assert_bad (copy, 7, "an appended forged row");

  /* Cutting the tail leaves a valid chain: only a checkpoint tells. */
  copy_file (fx->path, copy);
  sql (copy, "DELETE FROM journal WHERE seq > 4");
  g_autoptr (SkJournal) cut = open_journal (copy);
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_journal_verify (cut, NULL, NULL, NULL, &error));
}

/* Long enough for sk_journal_verify to read it in two halves (from 4,096
 * rows), with the halves split at LONG_ROWS / 2. */
#define LONG_ROWS 5000
#define HALF (LONG_ROWS / 2)

static void
make_long_journal (Fixture *fx)
{
  g_autoptr (SkJournal) journal = open_journal (fx->path);
  g_autoptr (GError) error = NULL;
  g_assert_true (sk_journal_begin (journal, &error));
  for (guint i = 0; i < LONG_ROWS; i++)
    {
      g_autofree char *details = g_strdup_printf ("{\"n\":%u}", i);
      SkJournalEntry entry = {
        .event = "package-imported",
        .outcome = "ok",
        .uid = i % 7 ? 1000 : -1,
        .role = "operator",
        .details = details,
      };
      g_assert_cmpint (sk_journal_append (journal, &entry, &error), ==, i + 1);
    }
  g_assert_true (sk_journal_commit (journal, &error));
  g_assert_true (sk_db_checkpoint_truncate (sk_journal_get_db (journal), &error));
  g_assert_no_error (error);
}

typedef struct
{
  gboolean ok;
  gint64 entries, bad;
  char *message;
} Verdict;

/* Verify PATH in two halves, then in one pass (inside a transaction, where
 * sk_journal_verify reads on the caller's connection alone): both must
 * give the same verdict, which is returned. */
static Verdict
verify_both_ways (const char *path)
{
  Verdict v[2] = { { 0 } };
  for (int pass = 0; pass < 2; pass++)
    {
      g_autoptr (SkJournal) journal = open_journal (path);
      g_autoptr (GError) error = NULL;
      SkDb *db = sk_journal_get_db (journal);
      if (pass == 1)
        g_assert_true (sk_db_begin (db, &error));
      v[pass].ok = sk_journal_verify (journal, &v[pass].entries, &v[pass].bad, NULL, &error);
      v[pass].message = g_strdup (error != NULL ? error->message : "");
      if (!v[pass].ok)
        g_assert_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID);
      if (pass == 1)
        sk_db_rollback (db);
    }
  g_assert_cmpint (v[0].ok, ==, v[1].ok);
  g_assert_cmpint (v[0].entries, ==, v[1].entries);
  g_assert_cmpint (v[0].bad, ==, v[1].bad);
  g_assert_cmpstr (v[0].message, ==, v[1].message);
  g_free (v[1].message);
  return v[0];
}

static void
assert_long_bad (Fixture *fx, const char *statement, gint64 bad, gint64 entries)
{
  g_autofree char *copy = g_build_filename (fx->dir, "copy.db", NULL);
  copy_file (fx->path, copy);
  sql (copy, statement);
  Verdict v = verify_both_ways (copy);
  if (v.ok || v.bad != bad || v.entries != entries)
    g_error ("%s: ok %d, first bad seq %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
             " entries read, expected %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT " (%s)",
             statement, v.ok, v.bad, v.entries, bad, entries, v.message);
  g_free (v.message);
}

/* Every tampering is found at the same row, with the same words, whether
 * the journal is read in two halves at once or in one pass — around the
 * seam between the halves above all. */
static void
test_verify_two_halves (Fixture *fx, gconstpointer data)
{
  make_long_journal (fx);
  Verdict clean = verify_both_ways (fx->path);
  g_assert_true (clean.ok);
  g_assert_cmpint (clean.entries, ==, LONG_ROWS);
  g_free (clean.message);

  const gint64 at[] = { 1, 2, HALF - 1, HALF, HALF + 1, HALF + 2, LONG_ROWS - 1, LONG_ROWS };
  for (gsize i = 0; i < G_N_ELEMENTS (at); i++)
    {
      gint64 seq = at[i];
      g_autofree char *details = g_strdup_printf (
          "UPDATE journal SET details = '{\"n\":9}' WHERE seq = %" G_GINT64_FORMAT, seq);
      assert_long_bad (fx, details, seq, seq);
      g_autofree char *prev = g_strdup_printf (
          "UPDATE journal SET prev_hash = entry_hash WHERE seq = %" G_GINT64_FORMAT, seq);
      assert_long_bad (fx, prev, seq, seq);
      g_autofree char *hash = g_strdup_printf (
          "UPDATE journal SET entry_hash = upper (entry_hash) WHERE seq = %" G_GINT64_FORMAT, seq);
      assert_long_bad (fx, hash, seq, seq);
      /* A row gone: the next one is read in its place. */
      g_autofree char *gone =
          g_strdup_printf ("DELETE FROM journal WHERE seq = %" G_GINT64_FORMAT, seq);
      if (seq < LONG_ROWS)
        assert_long_bad (fx, gone, seq, seq);
      /* Bytes a C string or an integer would not show. */
      g_autofree char *nul = g_strdup_printf (
          "UPDATE journal SET details = details || char (0) || 'hidden' WHERE seq = "
          "%" G_GINT64_FORMAT,
          seq);
      assert_long_bad (fx, nul, seq, seq);
      g_autofree char *text_time =
          g_strdup_printf ("UPDATE journal SET time_us = CAST (time_us AS TEXT) || 'x' WHERE seq = "
                           "%" G_GINT64_FORMAT,
                           seq);
      assert_long_bad (fx, text_time, seq, seq);
    }
  /* uid NULL (seq 1 is row 0, i % 7 == 0) made -1: the same to a reader
   * that takes -1 for none, not to the chain. */
  assert_long_bad (fx, "UPDATE journal SET uid = -1 WHERE seq = 1", 1, 1);
  assert_long_bad (fx, "UPDATE journal SET uid = -1 WHERE seq = 2507", 2507, 2507);
  /* A row before the first, and rows trading places across the seam. */
  assert_long_bad (fx,
                   "INSERT INTO journal SELECT 0, time_us, event, outcome, reason, uid, login, "
                   "role, station, case_id, package_id, device, details, prev_hash, entry_hash "
                   "FROM journal WHERE seq = 1",
                   0, 1);
  assert_long_bad (fx,
                   "CREATE TEMP TABLE t AS SELECT * FROM journal WHERE seq IN (2500, 2501);"
                   "UPDATE journal SET (time_us, event, outcome, reason, uid, login, role, "
                   "station, case_id, package_id, device, details, prev_hash, entry_hash) = "
                   "(SELECT time_us, event, outcome, reason, uid, login, role, station, case_id, "
                   "package_id, device, details, prev_hash, entry_hash FROM t WHERE t.seq = 5001 "
                   "- journal.seq) WHERE seq IN (2500, 2501);",
                   HALF, HALF);
  /* The last rows of the first half cut out, and the whole second half. */
  assert_long_bad (fx, "DELETE FROM journal WHERE seq BETWEEN 2400 AND 2500", 2400, 2400);
  g_autofree char *copy = g_build_filename (fx->dir, "copy.db", NULL);
  copy_file (fx->path, copy);
  sql (copy, "DELETE FROM journal WHERE seq > 2600");
  Verdict cut = verify_both_ways (copy);
  g_assert_true (cut.ok);
  g_assert_cmpint (cut.entries, ==, 2600);
  g_free (cut.message);
}

/* The tables each schema version added (sk-schema.h); with the test's
 * check below that together they are the current schema's. */
static const char *const tables_by_version[][5] = {
  /* 1 */ { "journal", "meta", NULL },
  /* 2 */ { "items", NULL },
  /* 3 */ { "cases", "packages", "case_files", "handoffs", NULL },
  /* 4 */ { "downloads", NULL },
  /* 5 */ { "media", NULL },
};

static char *
file_sha256 (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) error = NULL;
  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)data, len);
}

static gint64
count_rows (SkDb *db, const char *table)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *sql = g_strdup_printf ("SELECT count (*) FROM %s", table);
  g_autoptr (SkDbStmt) stmt = sk_db_prepare (db, sql, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sk_db_stmt_step (stmt, &error), ==, SK_DB_STEP_ROW);
  return sk_db_stmt_column_int64 (stmt, 0);
}

/* A station database of every older schema version: a read-only open
 * reads it as it is (the journal verifies and shows, every table of the
 * current schema can be read, the missing ones empty) and leaves the file
 * byte for byte as it was; the next writable open brings it forward, its
 * entries intact. */
static void
test_read_only_older_schema (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  G_STATIC_ASSERT (G_N_ELEMENTS (tables_by_version) == SK_SCHEMA_VERSION);
  {
    g_autoptr (SkJournal) journal = open_journal (fx->path);
    g_autoptr (SkDbStmt) stmt =
        sk_db_prepare (sk_journal_get_db (journal),
                       "SELECT count (*) FROM sqlite_schema WHERE type = 'table'", &error);
    g_assert_no_error (error);
    g_assert_cmpint (sk_db_stmt_step (stmt, &error), ==, SK_DB_STEP_ROW);
    guint listed = 0;
    for (gsize v = 0; v < G_N_ELEMENTS (tables_by_version); v++)
      for (gsize t = 0; tables_by_version[v][t] != NULL; t++)
        listed++;
    /* A new step with a new table: list it above. */
    g_assert_cmpint (sk_db_stmt_column_int64 (stmt, 0), ==, listed);
  }
  g_unlink (fx->path);

  for (gint64 version = 1; version < SK_SCHEMA_VERSION; version++)
    {
      g_autofree char *path = g_strdup_printf ("%s/v%" G_GINT64_FORMAT ".db", fx->dir, version);
      {
        g_autoptr (SkJournal) journal = open_journal (path);
        append_rows (journal, ROWS);
        SkDb *db = sk_journal_get_db (journal);
        for (gint64 v = SK_SCHEMA_VERSION; v > version; v--)
          for (gsize t = 0; tables_by_version[v - 1][t] != NULL; t++)
            {
              g_autofree char *drop =
                  g_strdup_printf ("DROP TABLE %s", tables_by_version[v - 1][t]);
              g_assert_true (sk_db_exec (db, drop, &error));
              g_assert_no_error (error);
            }
        g_assert_true (sk_db_set_user_version (db, version, &error));
        g_assert_true (sk_db_checkpoint_truncate (db, &error));
        g_assert_no_error (error);
      }
      g_autofree char *before = file_sha256 (path);

      {
        g_autoptr (SkDb) db = sk_db_open (path, SK_DB_READ_ONLY, &error);
        g_assert_no_error (error);
        g_autoptr (SkJournal) journal = sk_journal_open_read_only (db, &error);
        g_assert_no_error (error);
        gint64 entries = 0, bad = -1;
        g_assert_true (sk_journal_verify (journal, &entries, &bad, NULL, &error));
        g_assert_no_error (error);
        g_assert_cmpint (entries, ==, ROWS);
        g_autoptr (GPtrArray) rows = sk_journal_query (journal, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (rows->len, ==, ROWS);
        for (gsize v = 0; v < G_N_ELEMENTS (tables_by_version); v++)
          for (gsize t = 0; tables_by_version[v][t] != NULL; t++)
            {
              gint64 n = count_rows (db, tables_by_version[v][t]);
              if ((gint64)v >= version)
                g_assert_cmpint (n, ==, 0);
            }
        g_assert_cmpint (sk_db_get_user_version (db, &error), ==, version);
      }
      g_autofree char *after = file_sha256 (path);
      g_assert_cmpstr (before, ==, after);
      g_autofree char *wal = g_strconcat (path, "-wal", NULL);
      g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));

      /* The next writable open brings it forward, entries intact. */
      g_autoptr (SkJournal) writable = open_journal (path);
      SkDb *db = sk_journal_get_db (writable);
      g_assert_cmpint (sk_db_get_user_version (db, &error), ==, SK_SCHEMA_VERSION);
      gint64 entries = 0;
      g_assert_true (sk_journal_verify (writable, &entries, NULL, NULL, &error));
      g_assert_cmpint (entries, ==, ROWS);
      g_assert_cmpint (count_rows (db, "media"), ==, 0);
    }

  /* A database of a newer build is refused by a read-only open too. */
  g_autofree char *newer = g_build_filename (fx->dir, "newer.db", NULL);
  {
    g_autoptr (SkJournal) journal = open_journal (newer);
    g_assert_true (
        sk_db_set_user_version (sk_journal_get_db (journal), SK_SCHEMA_VERSION + 1, &error));
  }
  g_autoptr (SkDb) db = sk_db_open (newer, SK_DB_READ_ONLY, &error);
  g_assert_no_error (error);
  g_autoptr (SkJournal) refused = sk_journal_open_read_only (db, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_STATION_INVALID);
  g_assert_null (refused);
}

/* The export writes its time columns by hand: the same text GDateTime
 * writes, around the epoch and far from it, and a record the verifier
 * reads back.  Rows with such times are made with their real chain. */
static void
test_export_times (Fixture *fx, gconstpointer data)
{
  static const gint64 times[] = { -1, 0, 1, 999999, 1796573766122811, 253402268399999999 };
  g_autoptr (SkJournal) journal = open_journal (fx->path);
  SkDb *db = sk_journal_get_db (journal);
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) scratch = g_string_new (NULL);
  char prev[65] = SK_JOURNAL_ZERO_HASH;
  for (gsize i = 0; i < G_N_ELEMENTS (times); i++)
    {
      SkJournalRow row = { .seq = (gint64)i + 1,
                           .time_us = times[i],
                           .event = (char *)"media-in",
                           .outcome = (char *)"ok",
                           .uid = -1,
                           .station = (char *)"test-station",
                           .details = (char *)"{}",
                           .prev_hash = prev };
      char hash[65];
      g_assert_true (_sk_journal_chain_hash (scratch, &row, hash));
      g_autofree char *insert = g_strdup_printf (
          "INSERT INTO journal (seq, time_us, event, outcome, station, details, prev_hash, "
          "entry_hash) VALUES (%" G_GSIZE_FORMAT ", %" G_GINT64_FORMAT
          ", 'media-in', 'ok', 'test-station', '{}', '%s', '%s')",
          i + 1, times[i], prev, hash);
      g_assert_true (sk_db_exec (db, insert, &error));
      g_assert_no_error (error);
      memcpy (prev, hash, sizeof prev);
    }
  g_assert_true (sk_journal_verify (journal, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  g_autoptr (GTimeZone) tokyo = g_time_zone_new_identifier ("Asia/Tokyo");
  g_assert_nonnull (tokyo);
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  gint64 rows = 0;
  g_assert_true (sk_journal_csv_export (journal, G_N_ELEMENTS (times), SK_JOURNAL_CSV_ENGLISH,
                                        tokyo, out, &rows, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_output_stream_close (out, NULL, &error));
  g_assert_cmpint (rows, ==, G_N_ELEMENTS (times));
  g_autoptr (GBytes) csv = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
  g_autofree char *text = g_strndup (g_bytes_get_data (csv, NULL), g_bytes_get_size (csv));
  g_auto (GStrv) lines = g_strsplit (text, "\r\n", -1);
  for (gsize i = 0; i < G_N_ELEMENTS (times); i++)
    {
      g_auto (GStrv) cells = g_strsplit (lines[i + 1], ",", 4);
      gint64 s = times[i] / G_USEC_PER_SEC, us = times[i] % G_USEC_PER_SEC;
      if (us < 0)
        s -= 1, us += G_USEC_PER_SEC;
      g_autoptr (GDateTime) utc = g_date_time_new_from_unix_utc (s);
      g_autoptr (GDateTime) precise = g_date_time_add (utc, us);
      g_autofree char *want_utc = g_date_time_format (precise, "%Y-%m-%dT%H:%M:%S.%fZ");
      g_assert_cmpstr (cells[1], ==, want_utc);
      g_autoptr (GDateTime) local = g_date_time_to_timezone (utc, tokyo);
      if (local == NULL)
        continue; /* past the year 9999 in Tokyo: GDateTime has no answer */
      g_autofree char *want_local = g_date_time_format (local, "%Y-%m-%d %H:%M:%S%:z");
      g_assert_cmpstr (cells[2], ==, want_local);
    }

  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_bytes (csv);
  SkJournalCsvCheck check;
  g_assert_true (
      sk_journal_csv_verify (in, G_N_ELEMENTS (times), prev, "test-station", &check, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (check.rows, ==, G_N_ELEMENTS (times));
}

static void
test_checkpoint (Fixture *fx, gconstpointer data)
{
  g_autoptr (SkTestGpg) gpg = sk_test_gpg_new ();
  g_autofree char *station_key =
      sk_test_gpg_make_key (gpg, "Station <s@test.invalid>", "ed25519", "never", NULL);
  g_autofree char *other =
      sk_test_gpg_make_key (gpg, "Other <o@test.invalid>", "ed25519", "never", NULL);
  g_autofree char *home = g_build_filename (fx->dir, "gnupg", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_true (sk_keyring_init_home (home, &error));
  g_autoptr (SkKeyring) keyring = sk_keyring_new (home, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) secret = sk_test_gpg_export (gpg, station_key, TRUE);
  g_autoptr (GBytes) other_pub = sk_test_gpg_export (gpg, other, FALSE);
  g_autoptr (GPtrArray) a = sk_keyring_import (keyring, secret, station_key, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) b = sk_keyring_import (keyring, other_pub, station_key, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (a->len + b->len, ==, 2);

  make_journal (fx, ROWS);
  g_autoptr (SkJournal) journal = open_journal (fx->path);
  g_autoptr (GBytes) sig = NULL;
  g_autoptr (GBytes) cp =
      sk_journal_make_checkpoint (journal, keyring, "test-station", station_key, &sig, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (g_bytes_get_data (cp, NULL), "\"seq\":6"));

  gint64 seq = -1;
  g_assert_true (sk_journal_check_checkpoint (journal, keyring, "test-station", station_key, cp,
                                              sig, &seq, &error));
  g_assert_no_error (error);
  g_assert_cmpint (seq, ==, ROWS);

  /* Still fine after more entries. */
  append_rows (journal, 2);
  g_assert_true (sk_journal_check_checkpoint (journal, keyring, "test-station", station_key, cp,
                                              sig, &seq, &error));

  /* Truncated behind the checkpoint. */
  g_autofree char *copy = g_build_filename (fx->dir, "copy.db", NULL);
  sk_db_checkpoint_truncate (sk_journal_get_db (journal), &error);
  g_assert_no_error (error);
  copy_file (fx->path, copy);
  sql (copy, "DELETE FROM journal WHERE seq > 4");
  g_autoptr (SkJournal) cut = open_journal (copy);
  SkCheckpointVerdict verdict = SK_CHECKPOINT_MATCHES;
  g_assert_false (sk_journal_judge_checkpoint (cut, keyring, "test-station", station_key, cp, sig,
                                               &seq, &verdict, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID);
  g_assert_cmpint (verdict, ==, SK_CHECKPOINT_TRUNCATED);
  g_assert_cmpint (seq, ==, ROWS);
  g_clear_error (&error);

  /* Its row at the checkpoint's seq rewritten. */
  g_autofree char *rewritten = g_build_filename (fx->dir, "rewritten.db", NULL);
  copy_file (fx->path, rewritten);
  sql (rewritten, "UPDATE journal SET entry_hash = replace(hex(zeroblob(32)), '0', 'a') "
                  "WHERE seq = 6");
  g_autoptr (SkJournal) other_rows = open_journal (rewritten);
  g_assert_false (sk_journal_judge_checkpoint (other_rows, keyring, "test-station", station_key, cp,
                                               sig, &seq, &verdict, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID);
  g_assert_cmpint (verdict, ==, SK_CHECKPOINT_DIFFERS);
  g_assert_cmpstr (sk_checkpoint_verdict_to_string (verdict), ==, "differs");
  g_clear_error (&error);
  g_assert_true (sk_journal_judge_checkpoint (journal, keyring, "test-station", station_key, cp,
                                              sig, &seq, &verdict, &error));
  g_assert_cmpint (verdict, ==, SK_CHECKPOINT_MATCHES);

  /* A checkpoint with one byte changed, or signed by another key. */
  g_autofree char *forged = g_strndup (g_bytes_get_data (cp, NULL), g_bytes_get_size (cp));
  forged[strlen (forged) - 3] ^= 1;
  g_autoptr (GBytes) forged_bytes = g_bytes_new (forged, strlen (forged));
  g_assert_false (sk_journal_judge_checkpoint (journal, keyring, "test-station", station_key,
                                               forged_bytes, sig, &seq, &verdict, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_SIG_BAD);
  g_assert_cmpint (verdict, ==, SK_CHECKPOINT_SIGNATURE);
  g_assert_cmpint (seq, ==, -1);
  g_clear_error (&error);
  const char *args[] = { "-u", other, NULL };
  g_autoptr (GBytes) other_sig = sk_test_gpg_sign (gpg, cp, args);
  g_assert_false (sk_journal_check_checkpoint (journal, keyring, "test-station", station_key, cp,
                                               other_sig, &seq, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY);
  g_clear_error (&error);

  /* Another station's checkpoint, signed by the same key (a key shared
   * between stations), is not this journal's. */
  g_assert_false (sk_journal_judge_checkpoint (journal, keyring, "other-station", station_key, cp,
                                               sig, &seq, &verdict, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID);
  g_assert_cmpint (verdict, ==, SK_CHECKPOINT_OTHER_STATION);
  g_assert_nonnull (strstr (error->message, "other-station"));
  g_clear_error (&error);

  /* Signed by this station's key, but naming another key. */
  g_autofree char *renamed = g_strndup (g_bytes_get_data (cp, NULL), g_bytes_get_size (cp));
  g_autofree char *needle = g_strdup_printf ("\"station_key\":\"%s\"", station_key);
  g_autofree char *replacement = g_strdup_printf ("\"station_key\":\"%s\"", other);
  char *at = strstr (renamed, needle);
  g_assert_nonnull (at);
  g_autoptr (GString) text = g_string_new (renamed);
  g_string_replace (text, needle, replacement, 1);
  g_autoptr (GBytes) renamed_bytes = g_bytes_new (text->str, text->len);
  g_autoptr (GBytes) renamed_sig =
      sk_keyring_sign_detached_bytes (keyring, station_key, renamed_bytes, &error);
  g_assert_no_error (error);
  g_assert_false (sk_journal_check_checkpoint (journal, keyring, "test-station", station_key,
                                               renamed_bytes, renamed_sig, &seq, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID);
  g_assert_nonnull (strstr (error->message, other));
}

/* The clock set back behind the mark: journaled, and deadlines keep the
 * mark's time. */
static void
test_clock_anomaly (Fixture *fx, gconstpointer data)
{
  make_journal (fx, 2);
  gint64 future = g_get_real_time () + G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC;
  g_autofree char *stmt = g_strdup_printf (
      "UPDATE meta SET value = %" G_GINT64_FORMAT " WHERE key = 'clock_high_water_us'", future);
  sql (fx->path, stmt);

  g_autoptr (SkJournal) journal = open_journal (fx->path);
  g_assert_cmpint (sk_journal_now (journal), >=, future);
  append_rows (journal, 1);

  g_autoptr (GError) error = NULL;
  SkJournalFilter filter = { .event = "clock-anomaly" };
  g_autoptr (GPtrArray) rows = sk_journal_query (journal, &filter, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 1);
  const SkJournalRow *row = g_ptr_array_index (rows, 0);
  g_assert_cmpstr (row->reason, ==, "clock-anomaly");
  g_assert_cmpint (row->seq, ==, 3);
  g_assert_true (sk_journal_verify (journal, NULL, NULL, NULL, &error));
  /* The mark did not go back. */
  g_assert_cmpint (sk_journal_now (journal), >=, future);
}

/* Every committed entry reaches the systemd journal's socket; a rolled-back
 * one does not. */
static void
test_systemd (Fixture *fx, gconstpointer data)
{
  g_autofree char *sock_path = g_build_filename (fx->dir, "journald.sock", NULL);
  int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  g_assert_cmpint (fd, >=, 0);
  g_strlcpy (addr.sun_path, sock_path, sizeof addr.sun_path);
  g_assert_cmpint (bind (fd, (struct sockaddr *)&addr, sizeof addr), ==, 0);
  g_setenv ("SEKISHO_JOURNALD_SOCKET", sock_path, TRUE);

  g_autoptr (SkJournal) journal = open_journal (fx->path);
  g_autoptr (GError) error = NULL;
  SkJournalEntry dropped = { .event = "media-in", .outcome = "ok", .uid = -1 };
  g_assert_true (sk_journal_begin (journal, &error));
  g_assert_cmpint (sk_journal_append (journal, &dropped, &error), ==, 1);
  sk_journal_rollback (journal);

  SkJournalEntry entry = { .event = "package-refused",
                           .outcome = "refused",
                           .reason = "sig-bad",
                           .uid = 1000,
                           .case_id = "C1" };
  g_assert_cmpint (sk_journal_record (journal, &entry, &error), ==, 1);
  g_unsetenv ("SEKISHO_JOURNALD_SOCKET");

  char buf[4096];
  ssize_t n = recv (fd, buf, sizeof buf - 1, MSG_DONTWAIT);
  g_assert_cmpint (n, >, 0);
  buf[n] = '\0';
  g_assert_nonnull (strstr (buf, "SEKISHO_EVENT=package-refused\n"));
  g_assert_nonnull (strstr (buf, "SEKISHO_REASON=sig-bad\n"));
  g_assert_nonnull (strstr (buf, "SEKISHO_SEQ=1\n"));
  g_assert_nonnull (strstr (buf, "SEKISHO_CASE=C1\n"));
  g_assert_nonnull (strstr (buf, "SEKISHO_ENTRY_HASH="));
  /* Nothing else was sent: the rolled-back entry never left. */
  g_assert_cmpint (recv (fd, buf, sizeof buf, MSG_DONTWAIT), <, 0);
  close (fd);
}

static void
test_entry_checks (Fixture *fx, gconstpointer data)
{
  g_autoptr (SkJournal) journal = open_journal (fx->path);
  g_autoptr (GError) error = NULL;
  SkJournalEntry bad_outcome = { .event = "media-in", .outcome = "maybe", .uid = -1 };
  SkJournalEntry bad_reason = {
    .event = "media-in", .outcome = "refused", .reason = "no-such-code", .uid = -1
  };

  g_assert_cmpint (sk_journal_record (journal, &bad_outcome, &error), ==, 0);
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpint (sk_journal_record (journal, &bad_reason, &error), ==, 0);
  g_assert_nonnull (error);
  g_clear_error (&error);
  gint64 seq;
  g_assert_true (sk_journal_head (journal, &seq, NULL, &error));
  g_assert_cmpint (seq, ==, 0);
}

static char *
export_to_string (SkJournal *journal, gint64 upto, SkJournalCsvHeaders headers, gsize *len)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_autoptr (GTimeZone) tokyo = g_time_zone_new_identifier ("Asia/Tokyo");
  g_assert_nonnull (tokyo);
  gint64 rows = 0;
  g_assert_true (sk_journal_csv_export (journal, upto, headers, tokyo, out, &rows, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (rows, ==, upto);
  g_output_stream_close (out, NULL, NULL);
  *len = g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (out));
  return g_strndup (g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (out)), *len);
}

static char *
head_at (SkJournal *journal, gint64 seq)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkDbStmt) stmt = sk_db_prepare (
      sk_journal_get_db (journal), "SELECT entry_hash FROM journal WHERE seq = ?1", &error);
  g_assert_no_error (error);
  sk_db_stmt_bind_int64 (stmt, 1, seq);
  g_assert_cmpint (sk_db_stmt_step (stmt, &error), ==, SK_DB_STEP_ROW);
  return g_strdup (sk_db_stmt_column_text (stmt, 0));
}

/* Verify TEXT against the journal's head at UPTO; returns the first bad
 * row (0 when it verifies). */
static gint64
verify_text (SkJournal *journal, gint64 upto, const char *text, gsize len, gint64 *bad_seq)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *head = head_at (journal, upto);
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_data (text, (gssize)len, NULL);
  SkJournalCsvCheck check;
  gboolean ok = sk_journal_csv_verify (in, upto, head, "test-station", &check, NULL, &error);
  if (bad_seq != NULL)
    *bad_seq = check.bad_seq;
  if (ok)
    {
      g_assert_no_error (error);
      g_assert_cmpint (check.rows, ==, upto);
      return 0;
    }
  g_assert_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID);
  g_assert_cmpint (check.bad_row, >, 0);
  return check.bad_row;
}

/* The exported record: BOM, CRLF, neutralised formulas, NULL apart from
 * "", details as columns; it verifies, and any change to it does not. */
static void
test_export_csv (Fixture *fx, gconstpointer data)
{
  g_autoptr (SkJournal) journal = open_journal (fx->path);
  g_autoptr (GError) error = NULL;
  append_rows (journal, 3);
  SkJournalEntry formula = { .event = "media-in",
                             .outcome = "ok",
                             .uid = -1,
                             .login = "=HYPERLINK(\"x\")",
                             .details =
                                 "{\"a\":\"b,c\",\"list\":[\"x\",{\"y\":1}],\"u\":\"\\u51e6\"}" };
  g_assert_cmpint (sk_journal_record (journal, &formula, &error), ==, 4);
  SkJournalEntry empty = { .event = "media-in",
                           .outcome = "ok",
                           .uid = 0,
                           .login = "",
                           .device = "'quoted",
                           .details = "{\"a\":\"-1\",\"n\":2}" };
  g_assert_cmpint (sk_journal_record (journal, &empty, &error), ==, 5);
  g_assert_cmpint (sk_journal_record (journal, &empty, &error), ==, 6);

  gsize len = 0;
  g_autofree char *csv = export_to_string (journal, 5, SK_JOURNAL_CSV_ENGLISH, &len);
  g_assert_true (g_str_has_prefix (csv, "\xEF\xBB\xBF"
                                        "seq,time_utc,time_local,event,"));
  g_auto (GStrv) lines = g_strsplit (csv, "\r\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 7); /* header, 5 rows (not 6), "" */
  g_assert_null (strchr (lines[1], '\n'));
  g_assert_true (g_str_has_suffix (lines[0], ",details.a,details.list,details.n,details.name,"
                                             "details.u"));
  /* Local times in the given zone, beside UTC. */
  g_assert_nonnull (strstr (lines[1], "+09:00,"));
  /* A cell a spreadsheet would run is neutralised; commas are quoted. */
  g_assert_nonnull (strstr (lines[4], "\"'=HYPERLINK(\"\"x\"\")\""));
  g_assert_nonnull (strstr (lines[4], ",\"b,c\","));
  g_assert_nonnull (strstr (lines[4], ",\"[\"\"x\"\",{\"\"y\"\":1}]\","));
  g_assert_nonnull (strstr (lines[4], ",処"));
  /* "" and NULL stay apart; a leading ' is guarded too. */
  g_assert_nonnull (strstr (lines[5], ",0,\"\",")); /* uid 0, login "" */
  g_assert_nonnull (strstr (lines[5], ",\"''quoted\","));
  g_assert_nonnull (strstr (lines[5], ",\"'-1\","));
  g_assert_cmpint (verify_text (journal, 5, csv, len, NULL), ==, 0);

  /* Japanese headers read back the same way. */
  gsize ja_len = 0;
  g_autofree char *ja = export_to_string (journal, 5, SK_JOURNAL_CSV_JAPANESE, &ja_len);
  g_assert_true (g_str_has_prefix (ja, "\xEF\xBB\xBF"
                                       "連番,時刻（UTC）,時刻（現地）,事象,"));
  g_assert_nonnull (strstr (ja, ",詳細.a,"));
  g_assert_cmpint (verify_text (journal, 5, ja, ja_len, NULL), ==, 0);

  /* Every change is caught, at its row.  (Row 1 is the header.) */
  const struct
  {
    const char *from, *to;
    gint64 row;
  } edits[] = {
    { "operator1", "operator2", 2 },                       /* a hashed cell */
    { ",039004_KNY01_1.DAT,", ",039004_KNY01_7.DAT,", 3 }, /* a details column only */
    { ",\"b,c\",", ",\"b;c\",", 5 },                       /* another */
    { ",\"'-1\",", ",\"'-2\",", 6 },                       /* a guarded cell */
  };
  for (gsize e = 0; e < G_N_ELEMENTS (edits); e++)
    {
      g_autoptr (GString) t = g_string_new (csv);
      g_assert_nonnull (strstr (t->str, edits[e].from));
      g_string_replace (t, edits[e].from, edits[e].to, 1);
      g_assert_cmpint (verify_text (journal, 5, t->str, t->len, NULL), ==, edits[e].row);
    }
  /* The local time moved by an hour. */
  {
    g_autoptr (GString) t = g_string_new (csv);
    char *row3 = strstr (t->str, lines[3]);
    char *plus = strstr (row3, "+09:00");
    plus[-8] = plus[-8] == '9' ? '8' : (char)(plus[-8] + 1);
    g_assert_cmpint (verify_text (journal, 5, t->str, t->len, NULL), ==, 4);
  }
  /* A row deleted: the one after it is named, with the seq that is missing. */
  {
    g_autofree char *cut =
        g_strjoin ("\r\n", lines[0], lines[1], lines[3], lines[4], lines[5], "", NULL);
    gint64 seq = 0;
    g_assert_cmpint (verify_text (journal, 5, cut, strlen (cut), &seq), ==, 3);
    g_assert_cmpint (seq, ==, 2);
  }
  /* The tail cut: the first missing row is named. */
  {
    g_autofree char *cut = g_strjoin ("\r\n", lines[0], lines[1], lines[2], lines[3], "", NULL);
    gint64 seq = 0;
    g_assert_cmpint (verify_text (journal, 5, cut, strlen (cut), &seq), ==, 5);
    g_assert_cmpint (seq, ==, 4);
  }
  /* A row beyond the checkpoint. */
  {
    gsize more_len = 0;
    g_autofree char *more = export_to_string (journal, 6, SK_JOURNAL_CSV_ENGLISH, &more_len);
    g_autoptr (GError) local = NULL;
    g_autoptr (GInputStream) in =
        g_memory_input_stream_new_from_data (more, (gssize)more_len, NULL);
    SkJournalCsvCheck check;
    g_autofree char *head5 = head_at (journal, 5);
    g_assert_false (sk_journal_csv_verify (in, 5, head5, "test-station", &check, NULL, &local));
    g_assert_cmpint (check.bad_row, ==, 7);
  }
  /* A hostile row of 8 MiB (an open quote that never closes, or a giant
   * cell) is refused without being held whole. */
  {
    g_autoptr (GString) t = g_string_new (lines[0]);
    g_string_append (t, "\r\n1,\"");
    for (int i = 0; i < 8 * 1024 * 1024; i++)
      g_string_append_c (t, 'x');
    g_assert_cmpint (verify_text (journal, 5, t->str, t->len, NULL), ==, 2);
    g_string_truncate (t, strlen (lines[0]) + 2);
    for (int i = 0; i < 8 * 1024 * 1024; i++)
      g_string_append_c (t, '7');
    g_assert_cmpint (verify_text (journal, 5, t->str, t->len, NULL), ==, 2);
  }
  /* Another station's head, or a header that is not ours. */
  {
    g_autoptr (GString) t = g_string_new (csv);
    g_string_replace (t, "seq,time_utc", "seq,time", 1);
    g_assert_cmpint (verify_text (journal, 5, t->str, t->len, NULL), ==, 1);
  }
}

/* A checkpoint carried in a package is parsed only when well formed; deep
 * nesting is refused before json-glib could recurse on it. */
static void
test_checkpoint_parse (void)
{
  g_autoptr (GError) error = NULL;
  gint64 seq = -1;
  g_autofree char *head = NULL, *station = NULL, *key = NULL;
  const char *good = "{\"format\":\"sekisho-checkpoint/1\",\"seq\":7,\"head_hash\":\""
                     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
                     "\"time\":\"2026-11-24T00:00:00Z\",\"station\":\"t\",\"station_key\":"
                     "\"0123456789ABCDEF0123456789ABCDEF01234567\"}";
  g_autoptr (GBytes) ok = g_bytes_new_static (good, strlen (good));
  g_assert_true (sk_checkpoint_parse (ok, &seq, &head, &station, &key, &error));
  g_assert_no_error (error);
  g_assert_cmpint (seq, ==, 7);
  g_assert_cmpstr (station, ==, "t");
  g_assert_cmpstr (key, ==, "0123456789ABCDEF0123456789ABCDEF01234567");

  g_autoptr (GString) deep = g_string_new ("{\"a\":");
  for (int i = 0; i < 200000; i++)
    g_string_append_c (deep, '[');
  g_autoptr (GBytes) bad = g_bytes_new (deep->str, deep->len);
  g_assert_false (sk_checkpoint_parse (bad, &seq, NULL, NULL, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID);
  g_clear_error (&error);

  const char *upper = "{\"format\":\"sekisho-checkpoint/1\",\"seq\":7,\"head_hash\":\""
                      "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\","
                      "\"station\":\"t\",\"station_key\":"
                      "\"0123456789ABCDEF0123456789ABCDEF01234567\"}";
  g_autoptr (GBytes) wrong = g_bytes_new_static (upper, strlen (upper));
  g_assert_false (sk_checkpoint_parse (wrong, &seq, NULL, NULL, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID);
  g_clear_error (&error);

  /* A second seq, which json-glib would have taken. */
  g_autoptr (GString) twice = g_string_new (good);
  g_string_replace (twice, "{", "{\"seq\":99,", 1);
  g_autoptr (GBytes) dup = g_bytes_new (twice->str, twice->len);
  g_assert_false (sk_checkpoint_parse (dup, &seq, NULL, NULL, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID);
  g_clear_error (&error);
}

/* A read-only connection's page cache is capped (sk-db.c): a reader is
 * opened for one call and closed, and the service runs several at once; at
 * SQLite's default of 2 MB each, its memory followed the journal's size
 * (tests/service: /service/load).  A journal of some 7 MB, verified on a
 * read-only connection: that connection's cache stays under the cap, where
 * a read-write one (default cache) reading the same rows fills megabytes. */
#define CACHE_ROWS 20000

static void
test_reader_cache (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkJournal) writer = open_journal (fx->path);
  for (guint done = 0; done < CACHE_ROWS; done += 1000)
    {
      g_assert_true (sk_journal_begin (writer, &error));
      g_assert_no_error (error);
      for (guint i = done; i < done + 1000; i++)
        {
          g_autofree char *details =
              g_strdup_printf ("{\"n\":%u,\"name\":\"039004_KNY01_%u.DAT\"}", i, i);
          SkJournalEntry entry = {
            .event = "role-denied",
            .outcome = "refused",
            .reason = "role-denied",
            .uid = 61006,
            .login = "sknone",
            .details = details,
          };
          g_assert_cmpint (sk_journal_append (writer, &entry, &error), >, 0);
          g_assert_no_error (error);
        }
      g_assert_true (sk_journal_commit (writer, &error));
      g_assert_no_error (error);
    }

  gint64 entries = 0, bad = 0;
  g_assert_true (sk_journal_verify (writer, &entries, &bad, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (entries, ==, CACHE_ROWS);
  gint64 writer_cache = sk_db_get_cache_used (sk_journal_get_db (writer));

  g_autoptr (SkDb) db = sk_db_open (fx->path, SK_DB_READ_ONLY, &error);
  g_assert_no_error (error);
  g_autoptr (SkJournal) reader = sk_journal_open_read_only (db, &error);
  g_assert_no_error (error);
  g_assert_true (sk_journal_verify (reader, &entries, &bad, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (entries, ==, CACHE_ROWS);
  gint64 reader_cache = sk_db_get_cache_used (db);
  g_test_message ("page cache after verifying %d rows: read-write %" G_GINT64_FORMAT
                  " bytes, read-only %" G_GINT64_FORMAT " bytes",
                  CACHE_ROWS, writer_cache, reader_cache);
  /* The rows fill more than the reader's cap: the read-write connection,
   * verifying them in one pass, holds over 1 MB; the read-only one, which
   * read half of them (the other half on a reader of its own), at most
   * its cap of 256 KiB and the cache's bookkeeping. */
  g_assert_cmpint (writer_cache, >, 1024 * 1024);
  g_assert_cmpint (reader_cache, <=, 320 * 1024);
}

/* Whether some process holds a POSIX lock on the SHARED bytes of the
 * database PATH (SQLite's unix locking: 510 bytes from PENDING_BYTE + 2).
 * Asked from a child: F_GETLK never reports the asker's own locks. */
static gboolean
shared_lock_held (const char *path)
{
  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      int fd = open (path, O_RDONLY | O_CLOEXEC);
      struct flock fl = {
        .l_type = F_WRLCK,
        .l_whence = SEEK_SET,
        .l_start = 0x40000000 + 2,
        .l_len = 510,
      };
      if (fd < 0 || fcntl (fd, F_GETLK, &fl) != 0)
        _exit (2);
      _exit (fl.l_type != F_UNLCK ? 0 : 1);
    }
  int status = 0;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), !=, 2);
  return WEXITSTATUS (status) == 0;
}

/* A WAL connection holds its SHARED lock on the database file while open;
 * opening another connection to the same file in the same process must
 * not drop it (sk_db_open opens no ordinary descriptor of an existing
 * database, whose close would): without it another process may take
 * itself for the last user and delete the WAL under ours. */
static void
test_locks_kept (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkJournal) first = open_journal (fx->path);
  append_rows (first, 2);
  g_assert_true (shared_lock_held (fx->path));
  for (int i = 0; i < 2; i++)
    {
      g_autoptr (SkDb) other =
          sk_db_open (fx->path, i == 0 ? SK_DB_READ_WRITE : SK_DB_READ_ONLY, &error);
      g_assert_no_error (error);
      g_assert_nonnull (other);
      g_assert_true (shared_lock_held (fx->path));
    }
  /* An older version's 0644 database is made 0600, the lock still held. */
  g_assert_cmpint (g_chmod (fx->path, 0644), ==, 0);
  g_autoptr (SkDb) again = sk_db_open (fx->path, SK_DB_READ_WRITE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (again);
  GStatBuf st;
  g_assert_cmpint (g_stat (fx->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  g_assert_true (shared_lock_held (fx->path));
  gint64 entries = 0, bad = 0;
  g_assert_true (sk_journal_verify (first, &entries, &bad, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (entries, ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/journal/checkpoint-parse", test_checkpoint_parse);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/journal/verify-ok", test_verify_ok);
  ADD ("/journal/tamper/each-byte", test_tamper_each_byte);
  ADD ("/journal/tamper/rows", test_delete_swap_insert_truncate);
  ADD ("/journal/verify-two-halves", test_verify_two_halves);
  ADD ("/journal/reader-cache", test_reader_cache);
  ADD ("/journal/locks-kept", test_locks_kept);
  ADD ("/journal/read-only-older-schema", test_read_only_older_schema);
  ADD ("/journal/checkpoint", test_checkpoint);
  ADD ("/journal/clock-anomaly", test_clock_anomaly);
  ADD ("/journal/systemd", test_systemd);
  ADD ("/journal/entry-checks", test_entry_checks);
  ADD ("/journal/export-csv", test_export_csv);
  ADD ("/journal/export-times", test_export_times);
#undef ADD
  return g_test_run ();
}
