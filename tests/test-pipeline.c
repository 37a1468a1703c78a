/* test-pipeline.c — cases from import to export (DESIGN.md §2, §6; issue 5)
 *
 * Two real stations (sk-test-stations.h): packages are packed on the
 * 標準システム side with the core API, then imported, handed off, taken in
 * and exported on the integration terminal, and the exported package is
 * checked on the standard side.  The hand-off root is a tmpfs this test
 * mounts (as root; else a private folder under /dev/shm).  Crashes are real:
 * the CLI is killed with SIGKILL at each boundary of import and export, and
 * the station is checked afterwards.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include "sk-db.h"
#include "sk-error.h"
#include "sk-fault.h"
#include "sk-journal.h"
#include "sk-package.h"
#include "sk-pipeline.h"
#include "sk-synth.h"
#include "sk-test-gpg.h"
#include "sk-test-pipeline.h"
#include "sk-test-stations.h"
#include "sk-test-util.h"

typedef SkPipelineFixture Fixture;

/* ---- the whole hop ------------------------------------------------------ */

/* KNY01 leaves the standard system, is handed to the browser, KNY02 comes
 * back, leaves for the standard system and is unpacked there. */
static void
test_subscriber (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *kny01 = pf_synth (fx, "KNY01", 21, 200, NULL);
  g_autofree char *kny02 = pf_synth (fx, "KNY02", 21, 200, NULL);
  const char *paths[] = { kny01, NULL };
  g_autofree char *pkg = pf_pack (fx, "subscriber", 21, paths);
  g_autofree char *id = pf_case_of (21);

  /* Import: the case exists, the package is in the store, sealed. */
  g_autoptr (SkCase) c = pf_import_ok (fx, pkg);
  g_assert_cmpstr (c->state, ==, "imported");
  g_assert_cmpstr (c->workflow, ==, "subscriber");
  g_assert_cmpuint (c->files->len, ==, 1);
  g_assert_cmpuint (pf_store_items (fx), ==, 1);
  g_autoptr (SkJournalRow) imported = pf_last_row (fx, "package-imported");
  g_assert_cmpstr (imported->case_id, ==, id);
  g_assert_nonnull (imported->package_id);

  /* The same package again is a replay, and changes nothing. */
  g_autoptr (SkCase) again = sk_pipeline_import (fx->pipe, &fx->op, pkg, NULL, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_PACKAGE_REPLAYED);
  g_assert_null (again);
  g_clear_error (&error);
  g_assert_cmpuint (pf_store_items (fx), ==, 1);
  g_autoptr (SkJournalRow) replay = pf_last_row (fx, "package-refused");
  g_assert_cmpstr (replay->reason, ==, "package-replayed");

  /* Hand-off: plaintext in upload/<uid>/ on the tmpfs, byte for byte. */
  g_autoptr (GPtrArray) handed = sk_pipeline_hand_off (fx->pipe, &fx->op, id, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (handed->len, ==, 1);
  g_autoptr (GBytes) original = pf_read_bytes (kny01);
  g_autoptr (GBytes) upload = pf_read_bytes (g_ptr_array_index (handed, 0));
  g_assert_true (g_bytes_equal (original, upload));
  g_assert_true (pf_is_tmpfs (g_ptr_array_index (handed, 0)));
  GStatBuf st;
  g_assert_cmpint (g_stat (g_ptr_array_index (handed, 0), &st), ==, 0);
  g_assert_cmpint (st.st_mode & 077, ==, 0);
  /* …and the browser has its own folder to save results in. */
  g_autofree char *uid = g_strdup_printf ("%" G_GINT64_FORMAT, fx->op.uid);
  g_autofree char *downloads = g_build_filename (fx->run, "download", uid, NULL);
  g_assert_cmpint (g_stat (downloads, &st), ==, 0);
  g_assert_true (S_ISDIR (st.st_mode));
  g_assert_cmpint (st.st_mode & 077, ==, 0);

  /* Results cannot come before the upload is confirmed. */
  g_autoptr (SkCaseFile) early = NULL;
  {
    g_autofree char *saved = pf_browser_saves (fx, kny02);
    g_autofree char *base = g_path_get_basename (kny02);
    early = sk_pipeline_take_in (fx->pipe, &fx->op, base, NULL, NULL, NULL, &error);
    g_assert_error (error, SK_ERROR, SK_ERROR_CASE_STATE);
    g_assert_null (early);
    g_clear_error (&error);
    g_assert_true (g_file_test (saved, G_FILE_TEST_EXISTS));
    g_assert_cmpint (g_unlink (saved), ==, 0);
  }

  /* Confirmation removes the plaintext. */
  g_assert_true (sk_pipeline_confirm_upload (fx->pipe, &fx->op, id, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (g_ptr_array_index (handed, 0), G_FILE_TEST_EXISTS));
  g_autoptr (SkCase) uploaded = pf_get_case (fx, 21);
  g_assert_cmpstr (uploaded->state, ==, "uploaded");
  g_assert_false (uploaded->overdue);

  /* Take-in: validated, paired, sealed; the download is gone. */
  g_autoptr (SkCaseFile) result = pf_take_in_ok (fx, kny02);
  g_assert_cmpstr (result->kind, ==, "KNY02");
  g_assert_cmpint (result->records, ==, 200);
  g_assert_false (result->needs_approval);
  g_assert_cmpuint (pf_store_items (fx), ==, 2);

  /* Export: written, read back, and readable by the standard side. */
  g_autofree char *exported =
      sk_pipeline_export (fx->pipe, &fx->op, id, fx->out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (exported);
  g_autoptr (SkCase) closed = pf_get_case (fx, 21);
  g_assert_cmpstr (closed->state, ==, "closed");
  g_assert_cmpint (closed->closed_us, >, 0);
  g_autoptr (SkJournalRow) row = pf_last_row (fx, "package-exported");
  g_assert_nonnull (strstr (row->details, "\"read_back\":\"identical\""));
  g_autoptr (SkJournalRow) close_row = pf_last_row (fx, "case-closed");
  g_assert_cmpint (close_row->seq, ==, row->seq + 1);

  g_autofree char *received = g_build_filename (fx->tmp, "received", NULL);
  g_assert_cmpint (g_mkdir (received, 0700), ==, 0);
  g_autoptr (SkPackageResult) unpacked = sk_package_check (fx->st.std, fx->st.std_policy, exported,
                                                           received, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (unpacked);
  g_assert_cmpuint (unpacked->manifest->files->len, ==, 1);
  g_assert_cmpint (unpacked->checkpoint_seq, >, 0);
  g_assert_cmpstr (unpacked->checkpoint_station, ==, "terminal");
  g_autofree char *base = g_path_get_basename (kny02);
  g_autofree char *got_path = g_build_filename (received, base, NULL);
  g_autoptr (GBytes) want = pf_read_bytes (kny02);
  g_autoptr (GBytes) got = pf_read_bytes (got_path);
  g_assert_true (g_bytes_equal (want, got));

  /* Closed: every item now runs to the staged period from the close. */
  g_autoptr (SkStore) store = pf_open_store (fx);
  g_autoptr (GPtrArray) items = sk_store_list (store, &error);
  g_assert_no_error (error);
  const SkRetention *r = sk_policy_get_retention (fx->st.term_policy);
  for (guint i = 0; i < items->len; i++)
    g_assert_cmpint (((SkItem *)g_ptr_array_index (items, i))->deadline_us, ==,
                     sk_retention_deadline (r, SK_RETENTION_STAGED, closed->closed_us));

  pf_assert_journal_verifies (fx->st.term);
  pf_assert_journal_verifies (fx->st.std);

  /* The standard side recorded what it packed and what it unpacked. */
  g_autoptr (SkJournal) std_journal = sk_station_open_journal (fx->st.std, FALSE, &error);
  g_assert_no_error (error);
  SkJournalFilter packed = { .event = "package-packed" };
  g_autoptr (GPtrArray) rows = sk_journal_query (std_journal, &packed, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 1);
  g_assert_cmpstr (((SkJournalRow *)g_ptr_array_index (rows, 0))->case_id, ==, id);
}

/* SKI02 first, SKI03 days later under dual control; SKI03 is deleted its
 * fixed period after the inquiry completes. */
static void
test_inquiry_dual_control (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ski01 = pf_synth (fx, "SKI01", 22, 50, NULL);
  g_autofree char *ski02 = pf_synth (fx, "SKI02", 22, 50, NULL);
  g_autofree char *ski03 = pf_synth (fx, "SKI03", 22, 50, NULL);
  const char *paths[] = { ski01, NULL };
  g_autofree char *pkg = pf_pack (fx, "inquiry", 22, paths);
  g_autofree char *id = pf_case_of (22);
  pf_through_upload (fx, pkg, 22);

  g_autoptr (SkCaseFile) f2 = pf_take_in_ok (fx, ski02);
  g_autofree char *first = sk_pipeline_export (fx->pipe, &fx->op, id, fx->out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (first);
  g_assert_cmpstr (f2->state, ==, "taken-in");
  g_autoptr (SkCase) half = pf_get_case (fx, 22);
  g_assert_cmpstr (half->state, ==, "exported");
  g_assert_cmpint (half->closed_us, ==, 0);

  g_autoptr (SkCaseFile) f3 = pf_take_in_ok (fx, ski03);
  g_assert_true (f3->needs_approval);
  g_autofree char *name3 = g_path_get_basename (ski03);

  /* Not without a second person. */
  g_autofree char *refused =
      sk_pipeline_export (fx->pipe, &fx->op, id, fx->out, NULL, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_DUAL_CONTROL);
  g_assert_null (refused);
  g_clear_error (&error);
  g_assert_cmpuint (pf_count_entries (fx->out), ==, 2);
  g_assert_false (sk_pipeline_approve (fx->pipe, &fx->op, id, name3, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_DUAL_CONTROL);
  g_clear_error (&error);
  g_autoptr (SkJournalRow) denied = pf_last_row (fx, "approval-refused");
  g_assert_cmpstr (denied->reason, ==, "dual-control");
  g_assert_cmpint (denied->uid, ==, fx->op.uid);

  g_assert_true (sk_pipeline_approve (fx->pipe, &fx->second, id, name3, &error));
  g_assert_no_error (error);
  g_autoptr (SkJournalRow) approved = pf_last_row (fx, "result-approved");
  g_assert_cmpint (approved->uid, ==, SECOND_UID);
  g_autofree char *second = sk_pipeline_export (fx->pipe, &fx->op, id, fx->out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (second);

  /* Completed: SKI03 for inquiry_result_days, the rest for the staged
   * period. */
  g_autoptr (SkCase) done = pf_get_case (fx, 22);
  g_assert_cmpstr (done->state, ==, "closed");
  const SkRetention *r = sk_policy_get_retention (fx->st.term_policy);
  g_autoptr (SkStore) store = pf_open_store (fx);
  g_autoptr (GPtrArray) items = sk_store_list (store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (items->len, ==, 3);
  gboolean saw_ski03 = FALSE;
  for (guint i = 0; i < items->len; i++)
    {
      SkItem *item = g_ptr_array_index (items, i);
      gboolean is_ski03 = g_str_equal (item->kind, "SKI03");
      saw_ski03 |= is_ski03;
      g_assert_cmpint (
          item->deadline_us, ==,
          sk_retention_deadline (r, is_ski03 ? SK_RETENTION_INQUIRY_RESULT : SK_RETENTION_STAGED,
                                 done->closed_us));
    }
  g_assert_true (saw_ski03);

  /* The period ends (the deadline is moved into the past, as time would):
   * the sweep deletes SKI03 and journals it; the case keeps its record. */
  g_autoptr (SkJournal) journal = sk_station_open_journal (fx->st.term, FALSE, &error);
  g_assert_no_error (error);
  g_assert_true (sk_db_exec (sk_journal_get_db (journal),
                             "UPDATE items SET deadline_us = 0 WHERE kind = 'SKI03'", &error));
  gint64 removed = sk_pipeline_sweep (fx->pipe, &error);
  g_assert_no_error (error);
  g_assert_cmpint (removed, ==, 1);
  g_autoptr (SkJournalRow) deleted = pf_last_row (fx, "item-deleted");
  g_assert_cmpstr (deleted->reason, ==, "deadline-passed");
  g_assert_cmpstr (deleted->case_id, ==, id);
  g_assert_nonnull (strstr (deleted->details, "SKI03"));
  g_autoptr (SkCase) after = pf_get_case (fx, 22);
  for (guint i = 0; i < after->files->len; i++)
    {
      SkCaseFile *f = g_ptr_array_index (after->files, i);
      if (g_str_equal (f->kind, "SKI03"))
        g_assert_null (f->item_id);
    }
  pf_assert_journal_verifies (fx->st.term);
}

/* An interrupted inquiry starts its SKI03's period at the interruption. */
static void
test_interrupt (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ski01 = pf_synth (fx, "SKI01", 23, 20, NULL);
  g_autofree char *ski03 = pf_synth (fx, "SKI03", 23, 20, NULL);
  const char *paths[] = { ski01, NULL };
  g_autofree char *pkg = pf_pack (fx, "inquiry", 23, paths);
  g_autofree char *id = pf_case_of (23);
  pf_through_upload (fx, pkg, 23);
  g_autoptr (SkCaseFile) f3 = pf_take_in_ok (fx, ski03);

  g_assert_true (sk_pipeline_interrupt (fx->pipe, &fx->op, id, &error));
  g_assert_no_error (error);
  g_autoptr (SkCase) c = pf_get_case (fx, 23);
  g_assert_cmpstr (c->state, ==, "interrupted");
  g_autoptr (SkStore) store = pf_open_store (fx);
  g_autoptr (SkItem) item = sk_store_lookup (store, f3->item_id, &error);
  g_assert_no_error (error);
  g_assert_cmpint (item->deadline_us, ==,
                   sk_retention_deadline (sk_policy_get_retention (fx->st.term_policy),
                                          SK_RETENTION_INQUIRY_RESULT, c->closed_us));

  /* Nothing more happens to an interrupted case. */
  g_assert_false (sk_pipeline_interrupt (fx->pipe, &fx->op, id, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_CASE_STATE);
}

/* ---- refusals ----------------------------------------------------------- */

/* A package signed by a key the policy does not list leaves nothing but
 * its journal entry. */
static void
test_import_refused (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *kny01 = pf_synth (fx, "KNY01", 24, 10, NULL);
  const char *paths[] = { kny01, NULL };
  g_autofree char *pkg = pf_pack (fx, "subscriber", 24, paths);

  /* Re-sign the package with the attacker's key. */
  g_autoptr (GBytes) bytes = pf_read_bytes (pkg);
  const char *args[] = { "-u", sk_test_keys.mallory, NULL };
  g_autoptr (GBytes) sig = sk_test_gpg_sign (sk_test_keys.gpg, bytes, args);
  g_autofree char *sig_path = g_strconcat (pkg, ".sig", NULL);
  g_file_set_contents (sig_path, g_bytes_get_data (sig, NULL), (gssize)g_bytes_get_size (sig),
                       &error);
  g_assert_no_error (error);
  sk_test_import (fx->st.term, sk_test_keys.terminal,
                  (GBytes *[]){ sk_test_keys.mallory_pub, NULL });

  g_autofree char *store_dir = g_build_filename (sk_station_get_dir (fx->st.term), "store", NULL);
  g_autoptr (SkCase) c = sk_pipeline_import (fx->pipe, &fx->op, pkg, NULL, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY);
  g_assert_null (c);
  g_clear_error (&error);
  g_assert_cmpuint (pf_store_items (fx), ==, 0);
  g_assert_cmpuint (pf_count_store_files (store_dir), ==, 0);
  g_autoptr (SkJournalRow) row = pf_last_row (fx, "package-refused");
  g_assert_cmpstr (row->reason, ==, "sig-untrusted-key");
  g_assert_cmpstr (row->outcome, ==, "refused");
  g_autoptr (GPtrArray) cases = sk_pipeline_list_cases (fx->pipe, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cases->len, ==, 0);

  /* The medium is gone before the import begins. */
  g_autofree char *gone = g_build_filename (fx->tmp, "pulled", "x.tar.gpg", NULL);
  c = sk_pipeline_import (fx->pipe, &fx->op, gone, NULL, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_REMOVED);
  g_assert_null (c);
  g_clear_error (&error);
  g_autoptr (SkJournalRow) pulled = pf_last_row (fx, "package-refused");
  g_assert_cmpstr (pulled->reason, ==, "media-removed");
  g_assert_cmpstr (pulled->outcome, ==, "failed");

  /* A missing signature file. */
  g_assert_cmpint (g_unlink (sig_path), ==, 0);
  c = sk_pipeline_import (fx->pipe, &fx->op, pkg, NULL, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_SIG_MISSING);
  g_assert_cmpuint (pf_count_store_files (store_dir), ==, 0);
}

/* A case id belongs to one workflow. */
static void
test_import_wrong_workflow (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *kny01 = pf_synth (fx, "KNY01", 25, 10, NULL);
  g_autofree char *jls01 = pf_synth (fx, "JLS01", 25, 10, NULL);
  const char *p1[] = { kny01, NULL };
  const char *p2[] = { jls01, NULL };
  g_autofree char *first = pf_pack (fx, "subscriber", 25, p1);
  g_autoptr (SkCase) c = pf_import_ok (fx, first);
  g_assert_cmpstr (c->workflow, ==, "subscriber");
  g_autofree char *dir = g_build_filename (fx->medium, "other", NULL);
  g_mkdir (dir, 0700);
  g_autofree char *id = pf_case_of (25);
  g_autofree char *second =
      sk_package_pack (fx->st.std, fx->st.std_policy, sk_actor_for_process (SK_ROLE_OPERATOR),
                       "identity", id, p2, dir, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (SkCase) c2 = sk_pipeline_import (fx->pipe, &fx->op, second, NULL, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_MANIFEST_MISMATCH);
  g_assert_null (c2);
  g_assert_cmpuint (pf_store_items (fx), ==, 1);
}

/* What the browser brings back is checked like anything from outside. */
static void
test_take_in_refused (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *kny01 = pf_synth (fx, "KNY01", 26, 30, NULL);
  const char *paths[] = { kny01, NULL };
  g_autofree char *pkg = pf_pack (fx, "subscriber", 26, paths);
  pf_through_upload (fx, pkg, 26);
  guint items = pf_store_items (fx);

  g_autofree char *good = pf_synth (fx, "KNY02", 26, 30, NULL);
  struct
  {
    char *path;
    SkErrorCode code;
  } cases[] = {
    /* a result of a case this station never saw */
    { pf_synth (fx, "KNY02", 27, 30, NULL), SK_ERROR_PAIRING },
    /* the right case, but records that answer nothing in the request */
    { NULL, SK_ERROR_PAIRING },
    /* a result with more records than the request */
    { NULL, SK_ERROR_PAIRING },
    /* a result with defects */
    { NULL, 0 },
  };
  {
    SkSynthOptions opts;
    sk_synth_options_init (&opts);
    opts.seed = 99;
    opts.records = 30;
    opts.case_id = "C0000000000000000026";
    g_autofree char *dir = g_build_filename (fx->files, "foreign", NULL);
    g_mkdir (dir, 0700);
    cases[1].path = sk_synth_write_file (fx->layouts, sk_policy_lookup_kind (fx->layouts, "KNY02"),
                                         &opts, dir, &error);
    g_assert_no_error (error);
  }
  {
    g_autofree char *dir = g_build_filename (fx->files, "more", NULL);
    g_mkdir (dir, 0700);
    SkSynthOptions opts;
    sk_synth_options_init (&opts);
    opts.seed = 26;
    opts.records = 31;
    cases[2].path = sk_synth_write_file (fx->layouts, sk_policy_lookup_kind (fx->layouts, "KNY02"),
                                         &opts, dir, &error);
    g_assert_no_error (error);
  }
  {
    /* A code digit made a letter: field-type. */
    g_autoptr (GBytes) bytes = pf_read_bytes (good);
    gsize len = 0;
    gconstpointer raw = g_bytes_get_data (bytes, &len);
    g_autofree char *text = g_strndup (raw, len);
    char *second_line = strstr (text, "\r\n") + 2;
    second_line[2] = 'Z';
    g_autofree char *dir = g_build_filename (fx->files, "bad", NULL);
    g_mkdir (dir, 0700);
    g_autofree char *base = g_path_get_basename (good);
    cases[3].path = g_build_filename (dir, base, NULL);
    g_file_set_contents (cases[3].path, text, (gssize)len, &error);
    g_assert_no_error (error);
  }

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *saved = pf_browser_saves (fx, cases[i].path);
      g_autofree char *base = g_path_get_basename (cases[i].path);
      g_autoptr (SkFileReport) report = NULL;
      g_autoptr (SkCaseFile) f =
          sk_pipeline_take_in (fx->pipe, &fx->op, base, &report, NULL, NULL, &error);
      g_test_message ("case %u: %s", i, error != NULL ? error->message : "(taken in)");
      g_assert_null (f);
      g_assert_nonnull (error);
      g_assert_true (error->domain == SK_ERROR);
      if (cases[i].code != 0)
        g_assert_cmpint (error->code, ==, cases[i].code);
      else
        {
          g_assert_nonnull (report);
          g_assert_false (sk_file_report_ok (report));
        }
      g_autoptr (SkJournalRow) row = pf_last_row (fx, "download-refused");
      g_assert_cmpstr (row->reason, ==, sk_error_get_reason (error));
      g_clear_error (&error);
      g_assert_cmpuint (pf_store_items (fx), ==, items);
      g_assert_cmpint (g_unlink (saved), ==, 0);
      g_free (cases[i].path);
    }
  g_autoptr (SkCase) c = pf_get_case (fx, 26);
  g_assert_cmpstr (c->state, ==, "uploaded");

  /* A name that is no name, and one taken in twice. */
  g_autoptr (SkCaseFile) none =
      sk_pipeline_take_in (fx->pipe, &fx->op, "../x", NULL, NULL, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, SK_ERROR, SK_ERROR_FILE_NAME);
  g_clear_error (&error);
  g_autoptr (SkCaseFile) once = pf_take_in_ok (fx, good);
  g_assert_cmpstr (once->kind, ==, "KNY02");
  g_autofree char *saved = pf_browser_saves (fx, good);
  g_assert_true (g_file_test (saved, G_FILE_TEST_EXISTS));
  g_autofree char *base = g_path_get_basename (good);
  g_autoptr (SkCaseFile) twice =
      sk_pipeline_take_in (fx->pipe, &fx->op, base, NULL, NULL, NULL, &error);
  g_assert_null (twice);
  g_assert_error (error, SK_ERROR, SK_ERROR_FILE_DUPLICATE);
  g_assert_cmpuint (pf_store_items (fx), ==, items + 1);
}

/* The hand-off root must be in memory. */
static void
test_handoff_not_tmpfs (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *id = pf_imported_case (fx, "subscriber", "KNY01", 28, 10);

  g_autofree char *disk = g_build_filename (fx->tmp, "disk-run", NULL);
  g_assert_cmpint (g_mkdir (disk, 0755), ==, 0);
  g_assert_false (pf_is_tmpfs (disk));
  g_autoptr (SkPipeline) on_disk = sk_pipeline_new (fx->st.term, fx->st.term_policy, disk, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) paths_out = sk_pipeline_hand_off (on_disk, &fx->op, id, NULL, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_HANDOFF_NOT_TMPFS);
  g_assert_null (paths_out);
  g_assert_cmpuint (pf_count_entries (disk), ==, 0);
  g_autoptr (SkJournalRow) row = pf_last_row (fx, "handoff-refused");
  g_assert_cmpstr (row->reason, ==, "handoff-not-tmpfs");
  g_autoptr (SkCase) after = pf_get_case (fx, 28);
  g_assert_cmpstr (after->state, ==, "imported");
}

/* Plaintext left in upload/ past its deadline, downloads nobody took in,
 * and a case with no result for no_result_days. */
static void
test_sweep (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *id = pf_imported_case (fx, "subscriber", "KNY01", 29, 10);
  g_autoptr (GPtrArray) handed = sk_pipeline_hand_off (fx->pipe, &fx->op, id, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *stray = pf_synth (fx, "KNY02", 29, 10, NULL);
  g_autofree char *saved = pf_browser_saves (fx, stray);

  /* Nothing is due yet. */
  g_assert_cmpint (sk_pipeline_sweep (fx->pipe, &error), ==, 0);
  g_assert_no_error (error);
  g_assert_true (g_file_test (g_ptr_array_index (handed, 0), G_FILE_TEST_EXISTS));

  /* Time passes: deadlines and the time the sweep first saw the download
   * moved into the past.  The download's own mtime says 2035: whoever
   * wrote it sets that, and it postpones nothing. */
  g_autoptr (SkJournal) journal = sk_station_open_journal (fx->st.term, FALSE, &error);
  g_assert_no_error (error);
  SkDb *db = sk_journal_get_db (journal);
  g_assert_true (sk_db_exec (db, "UPDATE handoffs SET deadline_us = 0", &error));
  g_assert_true (sk_db_exec (db, "UPDATE cases SET created_us = 0, uploaded_us = NULL", &error));
  g_assert_true (sk_db_exec (db, "UPDATE downloads SET first_seen_us = 0", &error));
  g_assert_no_error (error);
  struct timespec future[2] = { { 2051222400, 0 }, { 2051222400, 0 } };
  g_assert_cmpint (utimensat (AT_FDCWD, saved, future, 0), ==, 0);

  g_assert_cmpint (sk_pipeline_sweep (fx->pipe, &error), ==, 2);
  g_assert_no_error (error);
  g_assert_false (g_file_test (g_ptr_array_index (handed, 0), G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (saved, G_FILE_TEST_EXISTS));
  g_autoptr (SkJournalRow) h = pf_last_row (fx, "handoff-deleted");
  g_assert_cmpstr (h->reason, ==, "deadline-passed");
  g_autoptr (SkJournalRow) d = pf_last_row (fx, "download-expired");
  g_assert_cmpstr (d->reason, ==, "deadline-passed");
  g_autoptr (SkCase) overdue = pf_get_case (fx, 29);
  g_assert_true (overdue->overdue);
  g_assert_cmpuint (pf_rows_of (fx, "case-overdue"), ==, 1);

  /* Flagged once, not at every sweep. */
  g_assert_cmpint (sk_pipeline_sweep (fx->pipe, &error), ==, 0);
  g_assert_cmpuint (pf_rows_of (fx, "case-overdue"), ==, 1);
}

/* ---- media trouble ------------------------------------------------------ */

static void
remove_out_dir (const char *name, gpointer data)
{
  if (g_str_equal (name, "pack-before-fsync"))
    sk_test_remove_tree (data);
}

/* The medium is pulled while the package is written: nothing is exported,
 * the operator is told so, and the retry writes the same package id. */
static void
test_export_medium_pulled (Fixture *fx, gconstpointer data)
{
  if (sk_test_skip_without_fault_points ())
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = pf_case_with_result (fx, "identity", "JLS01", "JLS02", 30, 40);

  g_autofree char *medium = g_build_filename (fx->tmp, "usb", NULL);
  g_assert_cmpint (g_mkdir (medium, 0700), ==, 0);
  sk_fault_set_hook (remove_out_dir, medium);
  g_autofree char *none = sk_pipeline_export (fx->pipe, &fx->op, id, medium, NULL, NULL, &error);
  sk_fault_set_hook (NULL, NULL);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_REMOVED);
  g_assert_null (none);
  g_assert_nonnull (strstr (error->message, "medium"));
  g_clear_error (&error);
  g_autoptr (SkJournalRow) failed = pf_last_row (fx, "export-failed");
  g_assert_cmpstr (failed->reason, ==, "media-removed");
  g_autoptr (SkCase) c = pf_get_case (fx, 30);
  g_assert_cmpstr (c->state, ==, "results-in");

  g_assert_cmpint (g_mkdir (medium, 0700), ==, 0);
  g_autofree char *path = sk_pipeline_export (fx->pipe, &fx->op, id, medium, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *want = g_strconcat (failed->package_id, ".tar.gpg", NULL);
  g_assert_cmpstr (base, ==, want);
  g_assert_cmpuint (pf_count_entries (medium), ==, 2);
}

/* A medium that changes what was written (a faulty stick) is caught by
 * reading the package back: flip one byte of the written file. */
static void
spoil_written (const char *name, gpointer data)
{
  if (!g_str_equal (name, "pack-before-fsync"))
    return;
  g_autoptr (GDir) d = g_dir_open (data, 0, NULL);
  for (const char *n = d != NULL ? g_dir_read_name (d) : NULL; n != NULL; n = g_dir_read_name (d))
    if (g_str_has_suffix (n, ".tmp"))
      {
        g_autofree char *path = g_build_filename (data, n, NULL);
        int fd = open (path, O_RDWR);
        g_assert_cmpint (fd, >=, 0);
        guint8 b;
        g_assert_cmpint (pread (fd, &b, 1, 100), ==, 1);
        b ^= 0x01;
        g_assert_cmpint (pwrite (fd, &b, 1, 100), ==, 1);
        close (fd);
      }
}

static void
test_export_readback_mismatch (Fixture *fx, gconstpointer data)
{
  if (sk_test_skip_without_fault_points ())
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = pf_case_with_result (fx, "identity", "JLS01", "JLS02", 32, 30);

  sk_fault_set_hook (spoil_written, fx->out);
  g_autofree char *none = sk_pipeline_export (fx->pipe, &fx->op, id, fx->out, NULL, NULL, &error);
  sk_fault_set_hook (NULL, NULL);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_READBACK_MISMATCH);
  g_assert_null (none);
  g_clear_error (&error);
  g_assert_cmpuint (pf_count_entries (fx->out), ==, 0);
  g_autoptr (SkJournalRow) failed = pf_last_row (fx, "export-failed");
  g_assert_cmpstr (failed->reason, ==, "media-readback-mismatch");
  g_autoptr (SkCase) c = pf_get_case (fx, 32);
  g_assert_cmpstr (c->state, ==, "results-in");

  g_autofree char *path = sk_pipeline_export (fx->pipe, &fx->op, id, fx->out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (path);
}

/* A full medium: disk-full, nothing half-written on it. */
static void
test_export_disk_full (Fixture *fx, gconstpointer data)
{
  if (!fx->mounted)
    {
      g_test_skip ("a small tmpfs for the medium needs mount (root)");
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *id = pf_case_with_result (fx, "identity", "JLS01", "JLS02", 31, 400);

  g_autofree char *small = g_build_filename (fx->tmp, "small", NULL);
  g_assert_cmpint (g_mkdir (small, 0700), ==, 0);
  g_assert_cmpint (mount ("tmpfs", small, "tmpfs", MS_NOSUID | MS_NODEV, "size=16k"), ==, 0);
  g_autofree char *none = sk_pipeline_export (fx->pipe, &fx->op, id, small, NULL, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_DISK_FULL);
  g_assert_null (none);
  g_clear_error (&error);
  g_assert_cmpuint (pf_count_entries (small), ==, 0);
  g_assert_cmpint (umount2 (small, MNT_DETACH), ==, 0);
  g_autoptr (SkJournalRow) failed = pf_last_row (fx, "export-failed");
  g_assert_cmpstr (failed->reason, ==, "disk-full");

  g_autofree char *path = sk_pipeline_export (fx->pipe, &fx->op, id, fx->out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (path);
}

/* ---- crashes ------------------------------------------------------------ */

/* The CLI drives the same pipeline: with --json every step prints one JSON
 * object, and no step prints a personal value of the files it moves. */
static void
test_cli_json (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *kny01 = pf_synth (fx, "KNY01", 60, 20, NULL);
  g_autofree char *kny02 = pf_synth (fx, "KNY02", 60, 20, NULL);
  const char *paths[] = { kny01, NULL };
  g_autofree char *pkg = pf_pack (fx, "subscriber", 60, paths);
  g_autofree char *id = pf_case_of (60);
  g_autofree char *base02 = g_path_get_basename (kny02);
  g_clear_object (&fx->pipe);

  /* Each 個人番号 (12 digits at offset 30 of every 500-byte data record). */
  g_autoptr (GBytes) bytes = pf_read_bytes (kny01);
  gsize len;
  const char *text = g_bytes_get_data (bytes, &len);
  g_autoptr (GPtrArray) numbers = g_ptr_array_new_with_free_func (g_free);
  for (gsize off = 500; off + 500 <= len; off += 500)
    if (text[off] == '2')
      g_ptr_array_add (numbers, g_strndup (text + off + 30, 12));
  g_assert_cmpuint (numbers->len, ==, 20);

  const char *import[] = { "--json", "case", "import", pkg, NULL };
  const char *handoff[] = { "--json", "case", "hand-off", id, NULL };
  const char *confirm[] = { "--json", "case", "confirm-upload", id, NULL };
  const char *take_in[] = { "--json", "case", "take-in", NULL };
  const char *export[] = { "--json", "case", "export", "--out", fx->out, id, NULL };
  const char *list[] = { "--json", "case", "list", NULL };
  const char *again[] = { "--json", "case", "import", pkg, NULL };
  struct
  {
    const char *const *args;
    int status;
    const char *reason;
  } steps[] = {
    { import, 0, NULL },
    { handoff, 0, NULL },
    { confirm, 0, NULL },
    { take_in, 0, NULL },
    { export, 0, NULL },
    { list, 0, NULL },
    { again, 1, "package-replayed" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      if (steps[i].args == take_in)
        {
          g_autofree char *saved = pf_browser_saves (fx, kny02);
          g_assert_true (g_file_test (saved, G_FILE_TEST_EXISTS));
        }
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      int status = pf_cli_run (fx, NULL, steps[i].args, &out, &err);
      /* No 個人番号 in the output: checked before any of it is shown. */
      for (guint n = 0; n < numbers->len; n++)
        {
          g_assert_null (strstr (out, g_ptr_array_index (numbers, n)));
          g_assert_null (strstr (err, g_ptr_array_index (numbers, n)));
        }
      g_test_message ("step %u: exit %d\n%s%s", i, status, out, err);
      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, steps[i].status);
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
      g_assert_no_error (error);
      JsonObject *obj = json_node_get_object (json_parser_get_root (parser));
      g_assert_cmpint (json_object_get_boolean_member (obj, "ok"), ==, steps[i].status == 0);
      g_assert_cmpstr (json_object_get_string_member_with_default (obj, "reason", NULL), ==,
                       steps[i].reason);
      g_assert_cmpuint (strlen (err), ==, 0);
      if (steps[i].args == list)
        {
          JsonArray *cases = json_object_get_array_member (obj, "cases");
          g_assert_cmpuint (json_array_get_length (cases), ==, 1);
          JsonObject *c = json_array_get_object_element (cases, 0);
          g_assert_cmpstr (json_object_get_string_member (c, "state"), ==, "closed");
          g_assert_cmpstr (json_object_get_string_member (c, "id"), ==, id);
        }
    }
  fx->pipe = pf_open_pipeline (fx);
  g_autoptr (SkCase) c = pf_get_case (fx, 60);
  g_assert_cmpstr (c->state, ==, "closed");

  /* The standard side unpacks it once, from its own sealed copy, which is
   * gone afterwards; the second time is a replay. */
  g_autoptr (GPtrArray) written = g_ptr_array_new_with_free_func (g_free);
  {
    g_autoptr (GDir) d = g_dir_open (fx->out, 0, &error);
    g_assert_no_error (error);
    for (const char *n = g_dir_read_name (d); n != NULL; n = g_dir_read_name (d))
      if (g_str_has_suffix (n, ".tar.gpg"))
        g_ptr_array_add (written, g_build_filename (fx->out, n, NULL));
  }
  g_assert_cmpuint (written->len, ==, 1);
  g_autofree char *received = g_build_filename (fx->tmp, "received", NULL);
  g_assert_cmpint (g_mkdir (received, 0700), ==, 0);
  const char *unpack[] = { "unpack", "--out", received, g_ptr_array_index (written, 0), NULL };
  g_autofree char *std_store = g_build_filename (sk_station_get_dir (fx->st.std), "store", NULL);
  int status = pf_cli_run_at (fx, fx->st.std, NULL, unpack, NULL, NULL);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
  g_autofree char *got = g_build_filename (received, base02, NULL);
  g_autoptr (GBytes) want_bytes = pf_read_bytes (kny02);
  g_autoptr (GBytes) got_bytes = pf_read_bytes (got);
  g_assert_true (g_bytes_equal (want_bytes, got_bytes));
  g_assert_cmpuint (pf_count_store_files (std_store), ==, 0);
  g_assert_cmpint (g_unlink (got), ==, 0);
  status = pf_cli_run_at (fx, fx->st.std, NULL, unpack, NULL, NULL);
  g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 1);
  g_assert_cmpuint (pf_count_entries (received), ==, 0);
  g_assert_cmpuint (pf_count_store_files (std_store), ==, 0);
  g_autoptr (SkJournalRow) taken = pf_last_row (fx, "download-taken-in");
  g_assert_nonnull (strstr (taken->details, base02));
}

/* No stray file in the store; every row's file there. */
/* SIGKILL at each boundary of an import: afterwards the package is either
 * imported (and the case exists) or not at all, and importing it again
 * works exactly once. */
static void
test_crash_import (Fixture *fx, gconstpointer data)
{
  if (sk_test_skip_without_fault_points ())
    return;
  const char *points[] = { "store-put-before-fsync",  "store-put-before-rename",
                           "import-after-copy",       "store-put-before-dirsync",
                           "store-put-before-commit", "store-put-after-commit" };
  g_clear_object (&fx->pipe);
  for (guint i = 0; i < G_N_ELEMENTS (points); i++)
    {
      guint64 seed = 40 + i;
      g_autofree char *kny01 = pf_synth (fx, "KNY01", seed, 20, NULL);
      const char *paths[] = { kny01, NULL };
      g_autofree char *pkg = pf_pack (fx, "subscriber", seed, paths);
      const char *args[] = { "case", "import", pkg, NULL };
      int status = pf_cli_with_fault (fx, points[i], args);
      g_test_message ("import killed at %s: status %d", points[i], status);
      g_assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);

      fx->pipe = pf_open_pipeline (fx);
      pf_assert_store_consistent (fx);
      pf_assert_journal_verifies (fx->st.term);
      g_autoptr (GError) error = NULL;
      g_autofree char *id = pf_case_of (seed);
      g_autoptr (SkCase) c = sk_pipeline_get_case (fx->pipe, id, &error);
      gboolean committed = g_str_equal (points[i], "store-put-after-commit");
      g_assert_true (committed ? c != NULL : c == NULL);
      g_clear_error (&error);
      g_autoptr (SkCase) retry = sk_pipeline_import (fx->pipe, &fx->op, pkg, NULL, NULL, &error);
      g_assert_true (committed ? retry == NULL : retry != NULL);
      if (committed)
        g_assert_error (error, SK_ERROR, SK_ERROR_PACKAGE_REPLAYED);
      else
        g_assert_no_error (error);
      g_clear_object (&fx->pipe);
    }
  fx->pipe = pf_open_pipeline (fx);
}

/* SIGKILL at each boundary of an export: nothing acknowledged is lost, and
 * the retry writes the same package id, so the standard side can never take
 * the same results twice. */
static void
test_crash_export (Fixture *fx, gconstpointer data)
{
  if (sk_test_skip_without_fault_points ())
    return;
  const char *points[] = { "pack-before-fsync", "pack-before-rename", "pack-before-signature",
                           "export-before-commit" };
  for (guint i = 0; i < G_N_ELEMENTS (points); i++)
    {
      guint64 seed = 50 + i;
      g_autoptr (GError) error = NULL;
      g_autofree char *id = pf_case_with_result (fx, "subscriber", "KNY01", "KNY02", seed, 20);
      g_autofree char *medium = g_strdup_printf ("%s/crash-%u", fx->tmp, i);
      g_assert_cmpint (g_mkdir (medium, 0700), ==, 0);

      g_clear_object (&fx->pipe);
      const char *args[] = { "case", "export", "--out", medium, id, NULL };
      int status = pf_cli_with_fault (fx, points[i], args);
      g_test_message ("export killed at %s: status %d", points[i], status);
      g_assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);

      fx->pipe = pf_open_pipeline (fx);
      pf_assert_journal_verifies (fx->st.term);
      g_autoptr (SkCase) c = pf_get_case (fx, seed);
      g_assert_cmpstr (c->state, ==, "results-in");
      g_autoptr (SkJournalRow) started = pf_last_row (fx, "export-started");
      g_assert_cmpstr (started->case_id, ==, id);

      g_autofree char *path =
          sk_pipeline_export (fx->pipe, &fx->op, id, medium, NULL, NULL, &error);
      g_assert_no_error (error);
      g_autofree char *base = g_path_get_basename (path);
      g_autofree char *want = g_strconcat (started->package_id, ".tar.gpg", NULL);
      g_assert_cmpstr (base, ==, want);
      g_autoptr (SkCase) closed = pf_get_case (fx, seed);
      g_assert_cmpstr (closed->state, ==, "closed");

      /* On the medium: the package and its signature, nothing else. */
      g_assert_cmpuint (pf_count_entries (medium), ==, 2);
      g_autoptr (SkPackageResult) r =
          sk_package_check (fx->st.std, fx->st.std_policy, path, NULL, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (r);
    }
}

/* The standard side's unpack journals itself in core, as the actor it is
 * given: the files, then a replay refused and journaled with its reason. */
static SkJournalRow *
last_std_row (Fixture *fx, const char *event)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkJournal) journal = sk_station_open_journal (fx->st.std, FALSE, &error);
  g_assert_no_error (error);
  SkJournalFilter filter = { .event = event };
  g_autoptr (GPtrArray) rows = sk_journal_query (journal, &filter, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, >, 0);
  return g_ptr_array_steal_index (rows, rows->len - 1);
}

static void
test_unpack_journaled (Fixture *fx, gconstpointer data)
{
  g_autofree char *id = pf_case_with_result (fx, "subscriber", "KNY01", "KNY02", 67, 20);
  g_autoptr (GError) error = NULL;
  g_autofree char *medium = pf_make_subdir (fx->tmp, "unpack-medium");
  g_autofree char *pkg = sk_pipeline_export (fx->pipe, &fx->op, id, medium, NULL, NULL, &error);
  g_assert_no_error (error);
  const SkActor batch = { 4343, "batch-operator", "operator" };

  g_autofree char *out = pf_make_subdir (fx->tmp, "batch");
  g_autoptr (SkPackageResult) r =
      sk_package_unpack (fx->st.std, fx->st.std_policy, &batch, pkg, out, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (r);
  g_assert_cmpuint (pf_count_entries (out), ==, 1);
  g_autoptr (SkJournalRow) done = last_std_row (fx, "package-unpacked");
  g_assert_cmpstr (done->outcome, ==, "ok");
  g_assert_cmpint (done->uid, ==, batch.uid);
  g_assert_cmpstr (done->login, ==, batch.login);
  g_assert_cmpstr (done->role, ==, "operator");
  g_assert_cmpstr (done->package_id, ==, r->manifest->package_id);
  g_assert_cmpstr (done->case_id, ==, id);

  g_autofree char *again = pf_make_subdir (fx->tmp, "batch-again");
  g_autoptr (SkPackageResult) replay = sk_package_unpack (fx->st.std, fx->st.std_policy, &batch,
                                                          pkg, again, NULL, NULL, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_PACKAGE_REPLAYED);
  g_assert_null (replay);
  g_assert_cmpuint (pf_count_entries (again), ==, 0);
  g_autoptr (SkJournalRow) refused = last_std_row (fx, "package-refused");
  g_assert_cmpstr (refused->outcome, ==, "refused");
  g_assert_cmpstr (refused->reason, ==, "package-replayed");
  g_assert_cmpint (refused->uid, ==, batch.uid);
  pf_assert_journal_verifies (fx->st.std);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "C.UTF-8");
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, pf_fixture_setup, fn, pf_fixture_teardown)
  ADD ("/pipeline/subscriber", test_subscriber);
  ADD ("/pipeline/inquiry-dual-control", test_inquiry_dual_control);
  ADD ("/pipeline/interrupt", test_interrupt);
  ADD ("/pipeline/import-refused", test_import_refused);
  ADD ("/pipeline/import-wrong-workflow", test_import_wrong_workflow);
  ADD ("/pipeline/take-in-refused", test_take_in_refused);
  ADD ("/pipeline/handoff-not-tmpfs", test_handoff_not_tmpfs);
  ADD ("/pipeline/sweep", test_sweep);
  ADD ("/pipeline/export-medium-pulled", test_export_medium_pulled);
  ADD ("/pipeline/export-disk-full", test_export_disk_full);
  ADD ("/pipeline/export-readback-mismatch", test_export_readback_mismatch);
  ADD ("/pipeline/cli-json", test_cli_json);
  ADD ("/pipeline/crash-import", test_crash_import);
  ADD ("/pipeline/crash-export", test_crash_export);
  ADD ("/pipeline/unpack-journaled", test_unpack_journaled);
#undef ADD

  int ret = g_test_run ();
  sk_test_keys_free ();
  return ret;
}
