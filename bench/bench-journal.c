/* bench-journal.c — journal append rate and verification time
 *
 *   bench-journal [ENTRIES [verify]]   (default 1000000; `verify`: stop after
 *                                       timing verify, e.g. under perf)
 *
 * Appends ENTRIES entries to a fresh station database in a temporary
 * directory — first 1,000 in a transaction each (what a station does: every
 * entry commits with its state change, synchronous=FULL), then the rest in
 * transactions of 1,000 — and times `sk_journal_verify` over all of them.
 * With $BENCH_JOURNAL_DB naming a database this bench made before, the
 * appending is skipped and that database is measured and kept (for perf
 * and repeated runs; one that does not exist yet is made there and kept).
 * Then the whole record is exported to CSV and that file verified.
 * Targets: verify of 1,000,000 entries under 2 s wall (issue 16; DESIGN.md
 * §10 asks under 10 s), export and verify --export each under 10 s, memory
 * flat.  Verify reads in two halves on two cores (sk-journal-verify.c), so
 * CPU seconds exceed wall seconds on an idle machine.  A benchmark, not a
 * test: it prints figures and asserts nothing about time.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "sk-db.h"
#include "sk-journal-csv.h"
#include "sk-journal.h"

static double
peak_rss_mb (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

/* CPU seconds (user + system) so far: on a shared machine the wall time
 * says more about the neighbours than about the code. */
static double
cpu_s (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void
append (SkJournal *journal, gint64 i)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *details = g_strdup_printf (
      "{\"item\":\"%032" G_GINT64_MODIFIER "x\",\"name\":\"039004_KNY01_20261124153000_001.DAT\","
      "\"size\":500001500,\"sha256\":\"%064" G_GINT64_MODIFIER "x\",\"records\":1000000}",
      i, i);
  SkJournalEntry entry = {
    .event = "package-imported",
    .outcome = "ok",
    .uid = 1000,
    .login = "operator1",
    .role = "operator",
    .case_id = "C0000000000000000001",
    .package_id = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    .device = "usb:0781:5581:4C530001231122112233",
    .details = details,
  };
  if (sk_journal_append (journal, &entry, &error) == 0)
    g_error ("append: %s", error->message);
}

int
main (int argc, char **argv)
{
  gint64 entries = argc > 1 ? g_ascii_strtoll (argv[1], NULL, 10) : 1000000;
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("sk-bench-journal-XXXXXX", &error);
  const char *keep = g_getenv ("BENCH_JOURNAL_DB");
  gboolean reuse = keep != NULL && g_file_test (keep, G_FILE_TEST_EXISTS);
  g_autofree char *path =
      keep != NULL ? g_strdup (keep) : g_build_filename (dir, "station.db", NULL);
  g_autoptr (SkDb) db = sk_db_open (path, SK_DB_READ_WRITE, &error);
  g_autoptr (SkJournal) journal = sk_journal_new (db, "bench", &error);
  if (journal == NULL)
    g_error ("%s", error->message);

  gint64 single = reuse ? 0 : MIN (entries, 1000);
  gint64 t0 = g_get_monotonic_time ();
  for (gint64 i = 0; i < single; i++)
    {
      if (!sk_journal_begin (journal, &error))
        g_error ("%s", error->message);
      append (journal, i);
      if (!sk_journal_commit (journal, &error))
        g_error ("%s", error->message);
    }
  gint64 t1 = g_get_monotonic_time ();
  for (gint64 i = single; !reuse && i < entries;)
    {
      if (!sk_journal_begin (journal, &error))
        g_error ("%s", error->message);
      for (gint64 j = 0; j < 1000 && i < entries; j++, i++)
        append (journal, i);
      if (!sk_journal_commit (journal, &error))
        g_error ("%s", error->message);
    }
  gint64 t2 = g_get_monotonic_time ();
  sk_db_checkpoint_truncate (db, NULL);

  /* Verified as `sekisho journal verify` does it: a read-only open, with
   * no writer left (so immutable, as an auditor's copy is). */
  g_clear_object (&journal);
  g_clear_object (&db);
  g_autoptr (SkDb) ro_db = sk_db_open (path, SK_DB_READ_ONLY, &error);
  g_autoptr (SkJournal) ro = ro_db != NULL ? sk_journal_open_read_only (ro_db, &error) : NULL;
  if (ro == NULL)
    g_error ("%s", error->message);
  gint64 verified = 0, bad = 0;
  double c3 = cpu_s ();
  gint64 t3 = g_get_monotonic_time ();
  if (!sk_journal_verify (ro, &verified, &bad, NULL, &error))
    g_error ("verify: %s", error->message);
  gint64 t4 = g_get_monotonic_time ();
  g_clear_object (&ro);
  g_clear_object (&ro_db);
  db = sk_db_open (path, SK_DB_READ_WRITE, &error);
  journal = db != NULL ? sk_journal_new (db, "bench", &error) : NULL;
  if (journal == NULL)
    g_error ("%s", error->message);
  double c4 = cpu_s ();
  double rss_verify = peak_rss_mb ();
  if (argc > 2 && g_str_equal (argv[2], "verify"))
    {
      g_print ("journal verify                  %.2f s (%.2f s CPU) for %" G_GINT64_FORMAT
               " entries (target < 2 s); peak RSS %.1f MiB\n",
               (t4 - t3) / 1e6, c4 - c3, verified, rss_verify);
      return 0;
    }

  /* The auditor's record: exported to a file, then verified from it. */
  g_autofree char *csv = g_build_filename (dir, "journal.csv", NULL);
  g_autoptr (GFile) csv_file = g_file_new_for_path (csv);
  g_autoptr (GFileOutputStream) out =
      g_file_replace (csv_file, NULL, FALSE, G_FILE_CREATE_PRIVATE, NULL, &error);
  g_autoptr (GTimeZone) tokyo = g_time_zone_new_identifier ("Asia/Tokyo");
  g_autofree char *head = NULL;
  gint64 head_seq = 0, exported = 0;
  if (out == NULL || tokyo == NULL || !sk_journal_head (journal, &head_seq, &head, &error))
    g_error ("export: %s", error != NULL ? error->message : "no Asia/Tokyo zone");
  double c5 = cpu_s ();
  gint64 t5 = g_get_monotonic_time ();
  if (!sk_journal_csv_export (journal, head_seq, SK_JOURNAL_CSV_JAPANESE, tokyo,
                              G_OUTPUT_STREAM (out), &exported, NULL, &error) ||
      !g_output_stream_close (G_OUTPUT_STREAM (out), NULL, &error))
    g_error ("export: %s", error->message);
  gint64 t6 = g_get_monotonic_time ();
  double c6 = cpu_s ();
  double rss_export = peak_rss_mb ();
  g_autoptr (GFileInputStream) in = g_file_read (csv_file, NULL, &error);
  SkJournalCsvCheck check;
  if (in == NULL ||
      !sk_journal_csv_verify (G_INPUT_STREAM (in), head_seq, head, "bench", &check, NULL, &error))
    g_error ("verify --export: %s", error->message);
  gint64 t7 = g_get_monotonic_time ();
  double c7 = cpu_s ();
  double rss_csv_verify = peak_rss_mb ();
  GStatBuf csv_st;
  g_stat (csv, &csv_st);

  GStatBuf st;
  g_stat (path, &st);
  g_print ("entries                         %" G_GINT64_FORMAT "%s\n", reuse ? verified : entries,
           reuse ? " (in the kept database)" : "");
  if (single > 0)
    g_print ("append, one commit per entry    %.0f entries/s (%.2f ms each, synchronous=FULL)\n",
             single / ((t1 - t0) / 1e6), (t1 - t0) / 1e3 / single);
  if (!reuse && entries > single)
    g_print ("append, 1000 per commit         %.0f entries/s\n",
             (entries - single) / ((t2 - t1) / 1e6));
  g_print ("journal verify                  %.2f s (%.2f s CPU) for %" G_GINT64_FORMAT
           " entries (target < 2 s)\n",
           (t4 - t3) / 1e6, c4 - c3, verified);
  g_print ("database size                   %.1f MB\n", st.st_size / 1e6);
  g_print ("peak RSS after verify           %.1f MiB\n", rss_verify);
  g_print ("journal export (CSV)            %.2f s (%.2f s CPU) for %" G_GINT64_FORMAT
           " entries, %.1f MB (target < 10 s); peak RSS %.1f MiB\n",
           (t6 - t5) / 1e6, c6 - c5, exported, csv_st.st_size / 1e6, rss_export);
  g_print ("journal verify --export         %.2f s (%.2f s CPU) for %" G_GINT64_FORMAT
           " entries (target < 10 s); peak RSS %.1f MiB\n",
           (t7 - t6) / 1e6, c7 - c6, check.rows, rss_csv_verify);
  g_unlink (csv);

  g_clear_object (&journal);
  g_clear_object (&db);
  if (keep == NULL)
    {
      g_unlink (path);
      g_autofree char *wal = g_strconcat (path, "-wal", NULL);
      g_autofree char *shm = g_strconcat (path, "-shm", NULL);
      g_unlink (wal);
      g_unlink (shm);
    }
  g_rmdir (dir);
  return 0;
}
