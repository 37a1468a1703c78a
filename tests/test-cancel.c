/* test-cancel.c — core's long calls report their progress and stop when
 * cancelled, leaving nothing behind
 *
 * Each call runs on a worker thread with an SkProgress made on this one, as
 * the service's jobs run them.  Progress: every phase's "done" only grows
 * and ends at its total.  Cancel: this thread cancels when the worker
 * starts the phase named, and the call returns `cancelled` within a second,
 * with the store, the journal (which verifies), the medium and the output
 * folder as they were, but for the journal's entry of the cancelled step.
 * A package of about 20 MB makes each phase last long enough to be caught
 * in the middle.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-journal-csv.h"
#include "sk-fault.h"
#include "sk-package.h"
#include "sk-progress.h"
#include "sk-test-pipeline.h"
#include "sk-test-util.h"

typedef SkPipelineFixture Fixture;

/* 20 MB of KNY01 (500-byte records). */
#define BIG_RECORDS 40000

/* ---- running a long call on a worker ---------------------------------- */

typedef struct
{
  const char *phase; /* interned */
  guint64 done;
  guint64 total;
} Told;

typedef enum
{
  OP_IMPORT,
  OP_PACK,
  OP_CHECK,
  OP_EXPORT,
  OP_UNPACK,
  OP_HAND_OFF,
  OP_TAKE_IN,
  OP_VERIFY,
} Op;

typedef struct
{
  Fixture *fx;
  Op op;
  const char *path;    /* import, check, unpack: the package; pack, take-in: the file */
  const char *case_id; /* pack, export, hand-off */
  const char *out;     /* pack, export, unpack */
  SkProgress *progress;
  /* what came back */
  gpointer result;
  GError *error;
  gboolean finished;
  /* what this thread saw */
  GArray *told;
  const char *cancel_at; /* cancel when this phase starts; NULL: never */
  gint64 cancelled_us;
} Run;

static gboolean
run_finished (gpointer data)
{
  Run *run = data;
  run->finished = TRUE;
  return G_SOURCE_REMOVE;
}

static gpointer
run_thread (gpointer data)
{
  Run *run = data;
  Fixture *fx = run->fx;
  GCancellable *cancellable = sk_progress_get_cancellable (run->progress);

  switch (run->op)
    {
    case OP_IMPORT:
      run->result = sk_pipeline_import (fx->pipe, &fx->op, run->path, run->progress, cancellable,
                                        &run->error);
      break;
    case OP_PACK:
      {
        const char *paths[] = { run->path, NULL };
        run->result =
            sk_package_pack (fx->st.std, fx->st.std_policy, &fx->op, "subscriber", run->case_id,
                             paths, run->out, run->progress, cancellable, &run->error);
      }
      break;
    case OP_CHECK:
      run->result = sk_package_check (fx->st.term, fx->st.term_policy, run->path, NULL, NULL,
                                      run->progress, cancellable, &run->error);
      break;
    case OP_EXPORT:
      run->result = sk_pipeline_export (fx->pipe, &fx->op, run->case_id, run->out, run->progress,
                                        cancellable, &run->error);
      break;
    case OP_HAND_OFF:
      run->result = sk_pipeline_hand_off (fx->pipe, &fx->op, run->case_id, run->progress,
                                          cancellable, &run->error);
      break;
    case OP_TAKE_IN:
      run->result = sk_pipeline_take_in (fx->pipe, &fx->op, run->path, NULL, run->progress,
                                         cancellable, &run->error);
      break;
    case OP_VERIFY:
      {
        g_autoptr (SkJournal) journal = sk_station_open_journal (fx->st.term, TRUE, &run->error);
        gint64 entries = 0, bad = 0;
        if (journal != NULL &&
            sk_journal_verify_with_progress (journal, &entries, &bad, run->progress, cancellable,
                                             &run->error))
          run->result = GINT_TO_POINTER (1);
      }
      break;
    case OP_UNPACK:
      run->result = sk_package_unpack (fx->st.std, fx->st.std_policy, &fx->op, run->path, run->out,
                                       NULL, run->progress, cancellable, &run->error);
      break;
    }
  g_idle_add (run_finished, run);
  return NULL;
}

static void
on_changed (SkProgress *progress, const char *phase, guint64 done, guint64 total, gpointer data)
{
  Run *run = data;
  Told t = { g_intern_string (phase), done, total };
  g_array_append_val (run->told, t);
  if (run->cancel_at != NULL && run->cancelled_us == 0 && g_str_equal (phase, run->cancel_at) &&
      done < total)
    {
      run->cancelled_us = g_get_monotonic_time ();
      g_cancellable_cancel (sk_progress_get_cancellable (progress));
    }
}

/* Run RUN's call on a worker until it returns and every figure has been
 * told here; returns how long the call took after the cancel (0 without). */
static gint64
run_call (Run *run)
{
  run->told = g_array_new (FALSE, FALSE, sizeof (Told));
  run->progress = sk_progress_new (NULL);
  g_signal_connect (run->progress, "changed", G_CALLBACK (on_changed), run);
  GThread *thread = g_thread_new ("sk-test-call", run_thread, run);
  while (!run->finished)
    g_main_context_iteration (NULL, TRUE);
  gint64 returned = g_get_monotonic_time ();
  g_thread_join (thread);
  /* The last figures are told within an interval. */
  g_autofree char *phase = NULL;
  guint64 done = 0, total = 0;
  sk_progress_get (run->progress, &phase, &done, &total);
  for (;;)
    {
      const Told *last =
          run->told->len > 0 ? &g_array_index (run->told, Told, run->told->len - 1) : NULL;
      if (last != NULL && g_strcmp0 (last->phase, phase) == 0 && last->done == done &&
          last->total == total)
        break;
      g_main_context_iteration (NULL, TRUE);
    }
  return run->cancelled_us != 0 ? returned - run->cancelled_us : 0;
}

static void
run_clear (Run *run)
{
  g_clear_error (&run->error);
  g_clear_pointer (&run->told, g_array_unref);
  if (run->progress != NULL)
    g_signal_handlers_disconnect_by_data (run->progress, run);
  g_clear_object (&run->progress);
}

/* The phases told, in order, each once per run of it ("copy validate"). */
static char *
phases_of (const Run *run)
{
  g_autoptr (GString) s = g_string_new (NULL);
  const char *prev = NULL;
  for (guint i = 0; i < run->told->len; i++)
    {
      const Told *t = &g_array_index (run->told, Told, i);
      if (t->phase == prev)
        continue;
      g_string_append_printf (s, "%s%s", s->len > 0 ? " " : "", t->phase);
      prev = t->phase;
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* Within each run of a phase, done only grows, never past the total, the
 * total stays, and the run ends at its total: a finished call's figures
 * say it finished. */
static void
assert_progress_complete (const Run *run)
{
  g_assert_cmpuint (run->told->len, >, 0);
  for (guint i = 0; i < run->told->len; i++)
    {
      const Told *t = &g_array_index (run->told, Told, i);
      const Told *next = i + 1 < run->told->len ? &g_array_index (run->told, Told, i + 1) : NULL;
      g_assert_cmpuint (t->done, <=, t->total);
      if (next != NULL && next->phase == t->phase)
        {
          g_assert_cmpuint (next->done, >=, t->done);
          g_assert_cmpuint (next->total, ==, t->total);
        }
      else
        {
          if (t->done != t->total)
            g_test_message ("phase %s ended at %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT,
                            t->phase, t->done, t->total);
          g_assert_cmpuint (t->done, ==, t->total);
          g_assert_cmpuint (t->total, >, 0);
        }
    }
  /* A few hundred signals a job at most, not one a block. */
  g_assert_cmpuint (run->told->len, <, 300);
}

/* ---- the fixtures' packages ------------------------------------------- */

static char *
big_request (Fixture *fx, guint64 seed)
{
  return pf_synth (fx, "KNY01", seed, BIG_RECORDS, NULL);
}

static void
assert_no_hidden (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      if (name[0] == '.')
        g_test_message ("left in %s: %s", dir, name);
      g_assert_false (name[0] == '.');
    }
}

static void
assert_cancelled (const Run *run, gint64 took_us)
{
  g_assert_error (run->error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (run->result);
  g_assert_cmpstr (sk_error_get_reason (run->error), ==, "cancelled");
  g_test_message ("stopped %" G_GINT64_FORMAT " ms after the cancel", took_us / 1000);
  g_assert_cmpint (took_us, <, G_USEC_PER_SEC);
}

/* ---- progress ---------------------------------------------------------- */

/* Pack, check, import, hand-off, take-in, export and journal verify: every
 * phase reaches its total. */
static void
test_progress (Fixture *fx, gconstpointer data)
{
  g_autofree char *request = pf_synth (fx, "KNY01", 61, 4000, NULL);
  g_autofree char *result = pf_synth (fx, "KNY02", 61, 4000, NULL);
  g_autofree char *case_id = pf_case_of (61);
  g_autofree char *medium = pf_make_subdir (fx->tmp, "progress");

  Run pack = { .fx = fx, .op = OP_PACK, .path = request, .case_id = case_id, .out = medium };
  run_call (&pack);
  g_assert_no_error (pack.error);
  g_autofree char *pkg = pack.result;
  g_autofree char *pack_phases = phases_of (&pack);
  g_assert_cmpstr (pack_phases, ==, "validate hash write read-back");
  assert_progress_complete (&pack);
  run_clear (&pack);

  Run check = { .fx = fx, .op = OP_CHECK, .path = pkg };
  run_call (&check);
  g_assert_no_error (check.error);
  g_clear_pointer (&check.result, sk_package_result_free);
  g_autofree char *check_phases = phases_of (&check);
  g_assert_cmpstr (check_phases, ==, "verify validate");
  assert_progress_complete (&check);
  run_clear (&check);

  Run import = { .fx = fx, .op = OP_IMPORT, .path = pkg };
  run_call (&import);
  g_assert_no_error (import.error);
  g_clear_pointer (&import.result, sk_case_free);
  g_autofree char *import_phases = phases_of (&import);
  /* The signature is verified as the package is copied in, or (a key only
   * GnuPG judges) on the store's copy. */
  g_assert_true (g_str_equal (import_phases, "copy validate") ||
                 g_str_equal (import_phases, "copy verify validate"));
  assert_progress_complete (&import);
  run_clear (&import);

  Run hand_off = { .fx = fx, .op = OP_HAND_OFF, .case_id = case_id };
  run_call (&hand_off);
  g_assert_no_error (hand_off.error);
  g_clear_pointer (&hand_off.result, g_ptr_array_unref);
  g_autofree char *hand_off_phases = phases_of (&hand_off);
  g_assert_cmpstr (hand_off_phases, ==, "validate");
  assert_progress_complete (&hand_off);
  run_clear (&hand_off);

  g_autoptr (GError) error = NULL;
  g_assert_true (sk_pipeline_confirm_upload (fx->pipe, &fx->op, case_id, &error));
  g_autofree char *saved = pf_browser_saves (fx, result);
  g_autofree char *name = g_path_get_basename (saved);
  Run take_in = { .fx = fx, .op = OP_TAKE_IN, .path = name };
  run_call (&take_in);
  g_assert_no_error (take_in.error);
  g_clear_pointer (&take_in.result, sk_case_file_free);
  g_autofree char *take_in_phases = phases_of (&take_in);
  /* The result read for its case, the request read again for its pair
   * keys, the result validated against them, then sealed. */
  g_assert_cmpstr (take_in_phases, ==, "validate seal");
  assert_progress_complete (&take_in);
  run_clear (&take_in);

  Run export = { .fx = fx, .op = OP_EXPORT, .case_id = case_id, .out = fx->out };
  run_call (&export);
  g_assert_no_error (export.error);
  g_clear_pointer (&export.result, g_free);
  g_autofree char *export_phases = phases_of (&export);
  g_assert_cmpstr (export_phases, ==, "write read-back");
  assert_progress_complete (&export);
  run_clear (&export);

  Run verify = { .fx = fx, .op = OP_VERIFY };
  run_call (&verify);
  g_assert_no_error (verify.error);
  g_autofree char *verify_phases = phases_of (&verify);
  g_assert_cmpstr (verify_phases, ==, "journal");
  assert_progress_complete (&verify);
  run_clear (&verify);
}

/* Journal verify and export tell the rows of a journal longer than one step
 * of their loops, ending at the journal's length (or the seq asked for). */
static void
test_progress_journal (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkJournal) journal = sk_station_open_journal (fx->st.term, FALSE, &error);
  g_assert_no_error (error);
  SkJournalEntry e = { .event = "test-row", .outcome = "ok", .uid = -1, .role = "system" };
  g_assert_true (sk_journal_begin (journal, &error));
  for (guint i = 0; i < 9000; i++)
    g_assert_cmpint (sk_journal_append (journal, &e, &error), !=, 0);
  g_assert_true (sk_journal_commit (journal, &error));
  g_assert_no_error (error);
  gint64 length = 0;
  g_assert_true (sk_journal_head (journal, &length, NULL, &error));
  g_assert_cmpint (length, >, 9000);

  Run verify = { .fx = fx, .op = OP_VERIFY };
  run_call (&verify);
  g_assert_no_error (verify.error);
  assert_progress_complete (&verify);
  const Told *last = &g_array_index (verify.told, Told, verify.told->len - 1);
  g_assert_cmpstr (last->phase, ==, "journal");
  g_assert_cmpuint (last->total, ==, (guint64)length);
  run_clear (&verify);

  /* The export of its CSV, all of it, then up to a seq. */
  const gint64 upto[] = { length, 5000 };
  for (gsize i = 0; i < G_N_ELEMENTS (upto); i++)
    {
      g_autoptr (SkProgress) progress = sk_progress_new (NULL);
      Run seen = { .told = g_array_new (FALSE, FALSE, sizeof (Told)) };
      g_signal_connect (progress, "changed", G_CALLBACK (on_changed), &seen);
      g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
      g_autoptr (GTimeZone) zone = g_time_zone_new_utc ();
      gint64 rows = 0;
      g_assert_true (sk_journal_csv_export_with_progress (
          journal, upto[i], SK_JOURNAL_CSV_ENGLISH, zone, out, &rows, progress, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpint (rows, ==, upto[i]);
      /* Told on this thread's context, once it runs. */
      g_autofree char *phase = NULL;
      guint64 done = 0, total = 0;
      sk_progress_get (progress, &phase, &done, &total);
      while (seen.told->len == 0 ||
             g_array_index (seen.told, Told, seen.told->len - 1).done != done)
        g_main_context_iteration (NULL, TRUE);
      assert_progress_complete (&seen);
      g_assert_cmpuint (total, ==, (guint64)upto[i]);
      g_signal_handlers_disconnect_by_data (progress, &seen);
      g_array_unref (seen.told);
    }
}

/* ---- cancel ------------------------------------------------------------ */

/* Import cancelled while it copies the package in, then while it
 * validates: no item, no case, no hidden file, the medium untouched; the
 * journal holds the two refusals with `cancelled` and verifies; the same
 * package then imports. */
static void
test_cancel_import (Fixture *fx, gconstpointer data)
{
  g_autofree char *request = big_request (fx, 62);
  const char *paths[] = { request, NULL };
  g_autofree char *pkg = pf_pack (fx, "subscriber", 62, paths);
  g_autofree char *medium = g_path_get_dirname (pkg);
  g_autofree char *store = g_build_filename (sk_station_get_dir (fx->st.term), "store", NULL);
  guint refused_before = pf_rows_of (fx, "package-refused");

  const char *phases[] = { "copy", "validate" };
  for (guint i = 0; i < G_N_ELEMENTS (phases); i++)
    {
      Run run = { .fx = fx, .op = OP_IMPORT, .path = pkg, .cancel_at = phases[i] };
      gint64 took = run_call (&run);
      g_test_message ("import cancelled in %s", phases[i]);
      assert_cancelled (&run, took);
      run_clear (&run);

      g_assert_cmpuint (pf_store_items (fx), ==, 0);
      g_assert_cmpuint (pf_count_store_files (store), ==, 0);
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) cases = sk_pipeline_list_cases (fx->pipe, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (cases->len, ==, 0);
      g_assert_cmpuint (pf_count_entries (medium), ==, 2);
      assert_no_hidden (medium);
      g_autoptr (SkJournalRow) row = pf_last_row (fx, "package-refused");
      g_assert_cmpstr (row->reason, ==, "cancelled");
      g_assert_cmpuint (pf_rows_of (fx, "package-refused"), ==, refused_before + i + 1);
      g_assert_cmpuint (pf_rows_of (fx, "package-imported"), ==, 0);
      pf_assert_journal_verifies (fx->st.term);
    }

  g_autoptr (SkCase) c = pf_import_ok (fx, pkg);
  g_assert_cmpstr (c->state, ==, "imported");
  pf_assert_store_consistent (fx);
}

/* Pack cancelled while it writes: nothing in the output folder, not even a
 * hidden temporary; the refusal is journaled. */
static void
test_cancel_pack (Fixture *fx, gconstpointer data)
{
  g_autofree char *request = big_request (fx, 63);
  g_autofree char *case_id = pf_case_of (63);
  g_autofree char *out = pf_make_subdir (fx->tmp, "pack-out");

  /* The manifest's hashes are taken while the file is validated: by the
   * "hash" phase they are (nearly always) done, and a cancel then lands in
   * "write".  "validate" is where both are cancelled. */
  const char *phases[] = { "validate", "write" };
  for (guint i = 0; i < G_N_ELEMENTS (phases); i++)
    {
      Run run = { .fx = fx,
                  .op = OP_PACK,
                  .path = request,
                  .case_id = case_id,
                  .out = out,
                  .cancel_at = phases[i] };
      gint64 took = run_call (&run);
      g_test_message ("pack cancelled in %s", phases[i]);
      assert_cancelled (&run, took);
      run_clear (&run);
      g_assert_cmpuint (pf_count_entries (out), ==, 0);

      g_autoptr (GError) error = NULL;
      g_autoptr (SkJournal) journal = sk_station_open_journal (fx->st.std, FALSE, &error);
      g_assert_no_error (error);
      SkJournalFilter filter = { .event = "pack-refused" };
      g_autoptr (GPtrArray) rows = sk_journal_query (journal, &filter, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (rows->len, ==, i + 1);
      SkJournalRow *row = g_ptr_array_index (rows, rows->len - 1);
      g_assert_cmpstr (row->reason, ==, "cancelled");
      g_assert_cmpstr (row->login, ==, fx->op.login);
      pf_assert_journal_verifies (fx->st.std);
    }
}

/* Export cancelled while it writes: the medium's folder holds nothing, the
 * case's results stay exportable, and the retry writes the same package
 * id.  Then the standard side's unpack of it, cancelled. */
/* A fault hook: cancel RUN the first time pack reads back a step. */
static void
cancel_at_readback (const char *name, gpointer data)
{
  Run *run = data;
  if (g_str_equal (name, "pack-before-readback") && run->cancelled_us == 0)
    {
      run->cancelled_us = g_get_monotonic_time ();
      g_cancellable_cancel (sk_progress_get_cancellable (run->progress));
    }
}

static void
test_cancel_export (Fixture *fx, gconstpointer data)
{
  g_autofree char *id = pf_case_with_result (fx, "subscriber", "KNY01", "KNY02", 64, BIG_RECORDS);
  guint items = pf_store_items (fx);

  /* Cancelled while it writes, from the writer's side: pack writes and
   * reads back on threads of their own, and its write could end before
   * this thread heard it had begun (a cancel "in write" sent from here
   * raced in CI).  The first step read back is written, the rest not. */
  Run run = { .fx = fx, .op = OP_EXPORT, .case_id = id, .out = fx->out };
  sk_fault_set_hook (cancel_at_readback, &run);
  gint64 took = run_call (&run);
  sk_fault_set_hook (NULL, NULL);
  assert_cancelled (&run, took);
  run_clear (&run);

  g_assert_cmpuint (pf_count_entries (fx->out), ==, 0);
  g_assert_cmpuint (pf_store_items (fx), ==, items);
  pf_assert_store_consistent (fx);
  g_autoptr (SkCase) c = pf_get_case (fx, 64);
  g_assert_cmpstr (c->state, ==, "results-in");
  g_autoptr (SkJournalRow) row = pf_last_row (fx, "export-failed");
  g_assert_cmpstr (row->reason, ==, "cancelled");
  pf_assert_journal_verifies (fx->st.term);

  g_autoptr (GError) error = NULL;
  g_autofree char *path = sk_pipeline_export (fx->pipe, &fx->op, id, fx->out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *want = g_strconcat (row->package_id, ".tar.gpg", NULL);
  g_assert_cmpstr (base, ==, want);
  g_assert_cmpuint (pf_count_entries (fx->out), ==, 2);

  /* On the standard side, unpack cancelled while it validates and writes
   * the files: the output folder holds nothing; the package then unpacks
   * (it was never taken for unpacked). */
  g_autofree char *batch = pf_make_subdir (fx->tmp, "batch");
  Run unpack = { .fx = fx, .op = OP_UNPACK, .path = path, .out = batch, .cancel_at = "validate" };
  took = run_call (&unpack);
  assert_cancelled (&unpack, took);
  run_clear (&unpack);
  g_assert_cmpuint (pf_count_entries (batch), ==, 0);
  pf_assert_journal_verifies (fx->st.std);

  Run again = { .fx = fx, .op = OP_UNPACK, .path = path, .out = batch };
  run_call (&again);
  g_assert_no_error (again.error);
  g_clear_pointer (&again.result, sk_package_result_free);
  g_autofree char *phases = phases_of (&again);
  g_assert_cmpstr (phases, ==, "copy validate");
  assert_progress_complete (&again);
  run_clear (&again);
  g_assert_cmpuint (pf_count_entries (batch), ==, 1);
}

/* Hand-off cancelled while it writes the plaintext: nothing in the upload
 * folder, the case still imported.  Take-in cancelled while it validates,
 * then while it seals: no item, the download still there to take in again,
 * the case still waiting for it.  Each refusal journaled as `cancelled`. */
static void
test_cancel_hand_off_take_in (Fixture *fx, gconstpointer data)
{
  g_autofree char *request = big_request (fx, 67);
  g_autofree char *result = pf_synth (fx, "KNY02", 67, BIG_RECORDS, NULL);
  const char *paths[] = { request, NULL };
  g_autofree char *pkg = pf_pack (fx, "subscriber", 67, paths);
  g_autoptr (SkCase) imported = pf_import_ok (fx, pkg);
  g_assert_cmpstr (imported->state, ==, "imported");
  g_autofree char *case_id = pf_case_of (67);
  g_autofree char *uid = g_strdup_printf ("%" G_GINT64_FORMAT, fx->op.uid);
  g_autofree char *upload = g_build_filename (fx->run, "upload", uid, NULL);

  Run hand_off = { .fx = fx, .op = OP_HAND_OFF, .case_id = case_id, .cancel_at = "validate" };
  gint64 took = run_call (&hand_off);
  assert_cancelled (&hand_off, took);
  run_clear (&hand_off);
  g_assert_cmpuint (pf_count_entries (upload), ==, 0);
  g_autoptr (SkCase) still = pf_get_case (fx, 67);
  g_assert_cmpstr (still->state, ==, "imported");
  g_autoptr (SkJournalRow) refused = pf_last_row (fx, "handoff-refused");
  g_assert_cmpstr (refused->reason, ==, "cancelled");
  pf_assert_journal_verifies (fx->st.term);

  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) written =
      sk_pipeline_hand_off (fx->pipe, &fx->op, case_id, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (written->len, ==, 1);
  g_assert_true (sk_pipeline_confirm_upload (fx->pipe, &fx->op, case_id, &error));
  g_assert_no_error (error);
  g_autofree char *saved = pf_browser_saves (fx, result);
  g_autofree char *name = g_path_get_basename (saved);
  guint items = pf_store_items (fx);

  const char *phases[] = { "validate", "seal" };
  for (guint i = 0; i < G_N_ELEMENTS (phases); i++)
    {
      Run take_in = { .fx = fx, .op = OP_TAKE_IN, .path = name, .cancel_at = phases[i] };
      took = run_call (&take_in);
      g_test_message ("take-in cancelled in %s", phases[i]);
      assert_cancelled (&take_in, took);
      run_clear (&take_in);
      g_assert_cmpuint (pf_store_items (fx), ==, items);
      pf_assert_store_consistent (fx);
      g_assert_true (g_file_test (saved, G_FILE_TEST_IS_REGULAR));
      g_autoptr (SkCase) waiting = pf_get_case (fx, 67);
      g_assert_cmpstr (waiting->state, ==, "uploaded");
      g_autoptr (SkJournalRow) row = pf_last_row (fx, "download-refused");
      g_assert_cmpstr (row->reason, ==, "cancelled");
      pf_assert_journal_verifies (fx->st.term);
    }

  g_autoptr (SkCaseFile) f =
      sk_pipeline_take_in (fx->pipe, &fx->op, name, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f);
  g_assert_cmpuint (pf_store_items (fx), ==, items + 1);
}

/* ---- what a killed pack leaves ---------------------------------------- */

static void
write_file (const char *path, const char *text)
{
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

/* A pack killed while it writes (SIGKILL, as a SIGTERM without a handler or
 * a power cut would) leaves its hidden temporary; the next pack into the
 * folder removes it.  What only looks like one stays, unfollowed: a link
 * with the prefix (to a file and to a folder outside), a file another
 * writer holds locked. */
static void
test_stale_pack_temps (Fixture *fx, gconstpointer data)
{
  if (!sk_fault_compiled_in ())
    {
      g_test_skip ("needs fault points (-Dfault_points=enabled)");
      return;
    }
  g_autofree char *request = pf_synth (fx, "KNY01", 66, 50, NULL);
  g_autofree char *case_id = pf_case_of (66);
  g_autofree char *out = pf_make_subdir (fx->tmp, "killed");

  const char *args[] = { "--station",  sk_station_get_dir (fx->st.std),
                         "pack",       "--workflow",
                         "subscriber", "--case",
                         case_id,      "--out",
                         out,          request,
                         NULL };
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_setenv (launcher, "SEKISHO_FAULT", "pack-before-rename", TRUE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer)g_getenv ("SEKISHO_CLI"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer)args[i]);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc =
      g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait (proc, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_signaled (proc));
  g_assert_cmpint (g_subprocess_get_term_sig (proc), ==, SIGKILL);

  /* It left one hidden temporary, recognisably a pack's. */
  g_autoptr (GDir) d = g_dir_open (out, 0, NULL);
  g_autofree char *stale = g_strdup (g_dir_read_name (d));
  g_assert_nonnull (stale);
  g_assert_null (g_dir_read_name (d));
  g_assert_true (g_str_has_prefix (stale, SK_PACKAGE_TEMP_PREFIX));

  /* Planted beside it: links with the prefix, to a file and a folder
   * outside, and a temporary another writer holds. */
  g_autofree char *victim = g_build_filename (fx->tmp, "victim", NULL);
  write_file (victim, "not the pack's");
  g_autofree char *victim_dir = pf_make_subdir (fx->tmp, "victim-dir");
  g_autofree char *inside = g_build_filename (victim_dir, "kept", NULL);
  write_file (inside, "kept");
  g_autofree char *link = g_build_filename (out, SK_PACKAGE_TEMP_PREFIX "link.tar.gpg.tmp", NULL);
  g_assert_cmpint (symlink (victim, link), ==, 0);
  g_autofree char *dir_link =
      g_build_filename (out, SK_PACKAGE_TEMP_PREFIX "dir.tar.gpg.tmp", NULL);
  g_assert_cmpint (symlink (victim_dir, dir_link), ==, 0);
  g_autofree char *held = g_build_filename (out, SK_PACKAGE_TEMP_PREFIX "held.tar.gpg.tmp", NULL);
  write_file (held, "being written");
  int held_fd = open (held, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (held_fd, >=, 0);
  g_assert_cmpint (flock (held_fd, LOCK_EX | LOCK_NB), ==, 0);

  g_autofree char *second =
      sk_package_pack (fx->st.std, fx->st.std_policy, &fx->op, "subscriber", case_id,
                       (const char *const[]){ request, NULL }, out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (second);

  g_autofree char *stale_path = g_build_filename (out, stale, NULL);
  g_assert_false (g_file_test (stale_path, G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK));
  g_assert_true (g_file_test (link, G_FILE_TEST_IS_SYMLINK));
  g_assert_true (g_file_test (dir_link, G_FILE_TEST_IS_SYMLINK));
  g_autofree char *kept = NULL;
  g_file_get_contents (victim, &kept, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (kept, ==, "not the pack's");
  g_assert_true (g_file_test (inside, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (held, G_FILE_TEST_IS_REGULAR));
  close (held_fd);
  /* The package, its signature, and the three that are not the pack's. */
  g_assert_cmpuint (pf_count_entries (out), ==, 5);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "C.UTF-8");
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, pf_fixture_setup, fn, pf_fixture_teardown)
  ADD ("/cancel/progress", test_progress);
  ADD ("/cancel/progress-journal", test_progress_journal);
  ADD ("/cancel/import", test_cancel_import);
  ADD ("/cancel/pack", test_cancel_pack);
  ADD ("/cancel/export-unpack", test_cancel_export);
  ADD ("/cancel/hand-off-take-in", test_cancel_hand_off_take_in);
  ADD ("/cancel/stale-pack-temps", test_stale_pack_temps);
  return g_test_run ();
}
