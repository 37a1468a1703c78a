/* sk-test-pipeline.c — the pipeline tests' shared fixture and helpers */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <unistd.h>

#include "sk-db.h"
#include "sk-error.h"
#include "sk-fault.h"
#include "sk-package.h"
#include "sk-synth.h"
#include "sk-test-gpg.h"
#include "sk-test-pipeline.h"
#include "sk-test-util.h"

char *
pf_make_subdir (const char *parent, const char *name)
{
  char *dir = g_build_filename (parent, name, NULL);
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  return dir;
}

gboolean
pf_is_tmpfs (const char *path)
{
  struct statfs fs;
  return statfs (path, &fs) == 0 && fs.f_type == TMPFS_MAGIC;
}

/* A tmpfs for the hand-off root: our own mount when we may, else a folder
 * on /dev/shm (a tmpfs on every Linux system). */
void
pf_make_handoff_root (SkPipelineFixture *fx)
{
  fx->run = g_build_filename (fx->tmp, "run", NULL);
  g_assert_cmpint (g_mkdir (fx->run, 0755), ==, 0);
  if (mount ("tmpfs", fx->run, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=32m,mode=0755") ==
      0)
    {
      fx->mounted = TRUE;
      return;
    }
  g_assert_cmpint (g_rmdir (fx->run), ==, 0);
  g_free (fx->run);

  g_assert_true (pf_is_tmpfs ("/dev/shm"));
  fx->run = g_build_filename ("/dev/shm", "sk-test-run-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp_full (fx->run, 0755));
}

SkPipeline *
pf_open_pipeline (SkPipelineFixture *fx)
{
  g_autoptr (GError) error = NULL;
  SkPipeline *p = sk_pipeline_new (fx->st.term, fx->st.term_policy, fx->run, &error);
  g_assert_no_error (error);
  g_assert_nonnull (p);
  return p;
}

void
pf_fixture_setup (SkPipelineFixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fx->tmp = g_dir_make_tmp ("skpl-XXXXXX", &error);
  g_assert_no_error (error);
  fx->medium = pf_make_subdir (fx->tmp, "medium");
  fx->out = pf_make_subdir (fx->tmp, "out");
  fx->files = pf_make_subdir (fx->tmp, "files");
  pf_make_handoff_root (fx);
  sk_test_stations_make (fx->tmp, &fx->st);
  fx->layouts = sk_test_default_policy ();
  fx->pipe = pf_open_pipeline (fx);
  fx->op = (SkActor){ (gint64)getuid (), "operator-a", "operator" };
  fx->second = (SkActor){ SECOND_UID, "operator-b", "operator" };
}

void
pf_fixture_teardown (SkPipelineFixture *fx, gconstpointer data)
{
  sk_fault_set_hook (NULL, NULL);
  g_clear_object (&fx->pipe);
  g_clear_object (&fx->layouts);
  sk_test_stations_clear (&fx->st);
  if (fx->mounted)
    g_assert_cmpint (umount2 (fx->run, MNT_DETACH), ==, 0);
  sk_test_remove_tree (fx->run);
  sk_test_remove_tree (fx->tmp);
  g_free (fx->run);
  g_free (fx->tmp);
  g_free (fx->medium);
  g_free (fx->out);
  g_free (fx->files);
}

/* ---- helpers ------------------------------------------------------------ */

/* A synthetic file of KIND in DIR (fx->files when NULL) for case SEED. */
char *
pf_synth (
    SkPipelineFixture *fx, const char *kind_id, guint64 seed, guint64 records, const char *dir)
{
  g_autoptr (GError) error = NULL;
  const SkKind *kind = sk_policy_lookup_kind (fx->layouts, kind_id);
  SkSynthOptions opts;

  g_assert_nonnull (kind);
  sk_synth_options_init (&opts);
  opts.seed = seed;
  opts.records = records;
  g_autofree char *sub =
      g_strdup_printf ("%s/%" G_GUINT64_FORMAT, dir != NULL ? dir : fx->files, seed);
  g_assert_cmpint (g_mkdir_with_parents (sub, 0700), ==, 0);
  char *path = sk_synth_write_file (fx->layouts, kind, &opts, sub, &error);
  g_assert_no_error (error);
  return path;
}

char *
pf_case_of (guint64 seed)
{
  return g_strdup_printf ("C%019" G_GUINT64_FORMAT, seed);
}

/* Pack PATHS (NULL-terminated) on the standard side into a fresh medium
 * folder; returns the package's path. */
char *
pf_pack (SkPipelineFixture *fx, const char *workflow, guint64 seed, const char *const *paths)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *case_id = pf_case_of (seed);
  g_autofree char *name = g_strdup_printf ("m%" G_GUINT64_FORMAT, seed);
  g_autofree char *dir = g_build_filename (fx->medium, name, NULL);
  g_mkdir (dir, 0700);
  char *path =
      sk_package_pack (fx->st.std, fx->st.std_policy, sk_actor_for_process (SK_ROLE_OPERATOR),
                       workflow, case_id, paths, dir, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (path);
  return path;
}

char *
pf_download_dir (SkPipelineFixture *fx, const SkActor *actor)
{
  g_autofree char *parent = g_build_filename (fx->run, "download", NULL);
  g_mkdir (parent, 0755);
  g_autofree char *uid = g_strdup_printf ("%" G_GINT64_FORMAT, actor->uid);
  char *dir = g_build_filename (parent, uid, NULL);
  g_mkdir (dir, 0700);
  return dir;
}

/* The browser saves a result file in the download folder. */
char *
pf_browser_saves (SkPipelineFixture *fx, const char *path)
{
  g_autofree char *dir = pf_download_dir (fx, &fx->op);
  g_autofree char *base = g_path_get_basename (path);
  char *dest = g_build_filename (dir, base, NULL);
  g_autofree char *data = NULL;
  gsize len;
  g_autoptr (GError) error = NULL;
  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  g_file_set_contents (dest, data, (gssize)len, &error);
  g_assert_no_error (error);
  return dest;
}

GBytes *
pf_read_bytes (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *data = NULL;
  gsize len = 0;
  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (data, len);
}

guint
pf_count_entries (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;
  while (d != NULL && g_dir_read_name (d) != NULL)
    n++;
  return n;
}

guint
pf_count_store_files (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    n += !g_str_equal (name, SK_STORE_RESERVE_NAME);
  return n;
}

SkStore *
pf_open_store (SkPipelineFixture *fx)
{
  g_autoptr (GError) error = NULL;
  SkStore *store = sk_station_open_store (fx->st.term, NULL, NULL, &error);
  g_assert_no_error (error);
  return store;
}

guint
pf_store_items (SkPipelineFixture *fx)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkStore) store = pf_open_store (fx);
  g_autoptr (GPtrArray) items = sk_store_list (store, &error);
  g_assert_no_error (error);
  return items->len;
}

/* The newest journal row of EVENT (NULL: any). */
SkJournalRow *
pf_last_row (SkPipelineFixture *fx, const char *event)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkJournal) journal = sk_station_open_journal (fx->st.term, FALSE, &error);
  g_assert_no_error (error);
  SkJournalFilter filter = { .event = event };
  g_autoptr (GPtrArray) rows = sk_journal_query (journal, &filter, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, >, 0);
  return g_ptr_array_steal_index (rows, rows->len - 1);
}

guint
pf_rows_of (SkPipelineFixture *fx, const char *event)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkJournal) journal = sk_station_open_journal (fx->st.term, FALSE, &error);
  g_assert_no_error (error);
  SkJournalFilter filter = { .event = event };
  g_autoptr (GPtrArray) rows = sk_journal_query (journal, &filter, &error);
  g_assert_no_error (error);
  return rows->len;
}

void
pf_assert_journal_verifies (SkStation *station)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, FALSE, &error);
  g_assert_no_error (error);
  gint64 entries = 0, bad = 0;
  g_assert_true (sk_journal_verify (journal, &entries, &bad, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (entries, >, 0);
}

SkCase *
pf_get_case (SkPipelineFixture *fx, guint64 seed)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *id = pf_case_of (seed);
  SkCase *c = sk_pipeline_get_case (fx->pipe, id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (c);
  return c;
}

SkCase *
pf_import_ok (SkPipelineFixture *fx, const char *pkg)
{
  g_autoptr (GError) error = NULL;
  SkCase *c = sk_pipeline_import (fx->pipe, &fx->op, pkg, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (c);
  return c;
}

/* A case of WORKFLOW for SEED, its request of KIND packed and imported.
 * Returns the case id. */
char *
pf_imported_case (
    SkPipelineFixture *fx, const char *workflow, const char *kind, guint64 seed, guint64 records)
{
  g_autofree char *request = pf_synth (fx, kind, seed, records, NULL);
  const char *paths[] = { request, NULL };
  g_autofree char *pkg = pf_pack (fx, workflow, seed, paths);
  g_autoptr (SkCase) c = pf_import_ok (fx, pkg);
  g_assert_cmpstr (c->state, ==, "imported");
  return pf_case_of (seed);
}

/* Import, hand off and confirm the upload of a request package. */
void
pf_through_upload (SkPipelineFixture *fx, const char *pkg, guint64 seed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkCase) c = pf_import_ok (fx, pkg);
  g_assert_cmpstr (c->state, ==, "imported");
  g_autofree char *id = pf_case_of (seed);
  g_autoptr (GPtrArray) paths = sk_pipeline_hand_off (fx->pipe, &fx->op, id, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (paths);
  g_assert_true (sk_pipeline_confirm_upload (fx->pipe, &fx->op, id, &error));
  g_assert_no_error (error);
}

SkCaseFile *
pf_take_in_ok (SkPipelineFixture *fx, const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *saved = pf_browser_saves (fx, path);
  g_autofree char *base = g_path_get_basename (path);
  g_autoptr (SkFileReport) report = NULL;
  SkCaseFile *f = sk_pipeline_take_in (fx->pipe, &fx->op, base, &report, NULL, NULL, &error);
  if (report != NULL && !sk_file_report_ok (report))
    {
      g_autofree char *what = sk_test_report_describe (report);
      g_test_message ("%s", what);
    }
  g_assert_no_error (error);
  g_assert_nonnull (f);
  g_assert_false (g_file_test (saved, G_FILE_TEST_EXISTS));
  return f;
}

/* A case of WORKFLOW for SEED carried through upload, its RESULT kind
 * taken in: ready to export.  Returns the case id. */
char *
pf_case_with_result (SkPipelineFixture *fx,
                     const char *workflow,
                     const char *request,
                     const char *result,
                     guint64 seed,
                     guint64 records)
{
  g_autofree char *req = pf_synth (fx, request, seed, records, NULL);
  g_autofree char *res = pf_synth (fx, result, seed, records, NULL);
  const char *paths[] = { req, NULL };
  g_autofree char *pkg = pf_pack (fx, workflow, seed, paths);
  pf_through_upload (fx, pkg, seed);
  g_autoptr (SkCaseFile) f = pf_take_in_ok (fx, res);
  g_assert_cmpstr (f->kind, ==, result);
  return pf_case_of (seed);
}

/* Runs the CLI on the terminal (with SEKISHO_FAULT=POINT unless NULL);
 * returns its wait status, and its output when asked for. */
int
pf_cli_run_at (SkPipelineFixture *fx,
               SkStation *station,
               const char *point,
               const char *const *args,
               char **out,
               char **err)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer)g_getenv ("SEKISHO_CLI"));
  g_ptr_array_add (argv, (gpointer) "--station");
  g_ptr_array_add (argv, (gpointer)sk_station_get_dir (station));
  g_ptr_array_add (argv, (gpointer) "--handoff-root");
  g_ptr_array_add (argv, fx->run);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer)args[i]);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      out != NULL ? G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE
                  : G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  if (point != NULL)
    g_subprocess_launcher_setenv (launcher, "SEKISHO_FAULT", point, TRUE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc =
      g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);
  if (out != NULL)
    g_subprocess_communicate_utf8 (proc, NULL, NULL, out, err, &error);
  else
    g_subprocess_wait (proc, NULL, &error);
  g_assert_no_error (error);
  return g_subprocess_get_status (proc);
}

int
pf_cli_run (
    SkPipelineFixture *fx, const char *point, const char *const *args, char **out, char **err)
{
  return pf_cli_run_at (fx, fx->st.term, point, args, out, err);
}

int
pf_cli_with_fault (SkPipelineFixture *fx, const char *point, const char *const *args)
{
  return pf_cli_run (fx, point, args, NULL, NULL);
}

void
pf_assert_store_consistent (SkPipelineFixture *fx)
{
  g_autoptr (SkStore) store = pf_open_store (fx);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) items = sk_store_list (store, &error);
  g_assert_no_error (error);
  g_autofree char *dir = g_build_filename (sk_station_get_dir (fx->st.term), "store", NULL);
  g_assert_cmpuint (pf_count_store_files (dir), ==, items->len);
}
