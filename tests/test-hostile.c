/* test-hostile.c — the station against a local neighbour (issue 10)
 *
 * Another process of the same operator running at the same moment, another
 * user who can write where the station looks, a medium or a download folder
 * with links, FIFOs, hard links and sparse giants planted on it.  Each test
 * reproduces an attack that worked before the fix: the real CLI runs as a
 * second process where the attack needs one, on real stations with real
 * keys, on a real tmpfs.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-fault.h"
#include "sk-fs.h"
#include "sk-journal.h"
#include "sk-package.h"
#include "sk-pipeline.h"
#include "sk-test-gpg.h"
#include "sk-test-pipeline.h"

typedef SkPipelineFixture Fixture;

/* A hanging open would hang the test: fail it instead. */
#define HANG_GUARD_S 60

static char *
join (const char *a, const char *b)
{
  return g_build_filename (a, b, NULL);
}

static char *
user_folder (Fixture *fx, const char *which, gint64 uid)
{
  g_autofree char *u = g_strdup_printf ("%" G_GINT64_FORMAT, uid);
  return g_build_filename (fx->run, which, u, NULL);
}

/* A folder of precious files on persistent storage, outside the station. */
static char *
make_precious (Fixture *fx)
{
  char *dir = join (fx->tmp, "precious");
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  g_autofree char *file = join (dir, "keep.txt");
  g_assert_true (g_file_set_contents (file, "mine", -1, NULL));
  return dir;
}

static GSubprocess *
cli_spawn (Fixture *fx, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer)g_getenv ("SEKISHO_CLI"));
  g_ptr_array_add (argv, (gpointer) "--station");
  g_ptr_array_add (argv, (gpointer)sk_station_get_dir (fx->st.term));
  g_ptr_array_add (argv, (gpointer) "--handoff-root");
  g_ptr_array_add (argv, fx->run);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer)args[i]);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  GSubprocess *proc =
      g_subprocess_newv ((const char *const *)argv->pdata,
                         G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  return proc;
}

/* Run the CLI with --json; returns its exit status and its "reason". */
static int
cli_json (Fixture *fx, const char *const *args, char **out_reason)
{
  g_autoptr (GPtrArray) all = g_ptr_array_new ();
  g_ptr_array_add (all, (gpointer) "--json");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (all, (gpointer)args[i]);
  g_ptr_array_add (all, NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = pf_cli_run (fx, NULL, (const char *const *)all->pdata, &out, &err);
  g_assert_true (WIFEXITED (status));
  if (out_reason != NULL)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (GError) error = NULL;
      g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
      JsonObject *o = json_node_get_object (json_parser_get_root (parser));
      *out_reason = g_strdup (json_object_get_string_member_with_default (o, "reason", ""));
    }
  return WEXITSTATUS (status);
}

/* ---- 1: another process's recovery never takes an import's work ------- */

/* Imports run while a loop of other commands opens the station beside
 * them.  Before the lock, every `case list` removed the import's staging
 * file as debris: the import failed, or said "imported" and lost its item.
 * (`case list` now only reads; `station sweep` opens the store and
 * recovers, as it did.) */
static void
test_concurrent_commands (Fixture *fx, gconstpointer data)
{
  g_clear_object (&fx->pipe);
  g_autoptr (GPtrArray) pkgs = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *kny01 = pf_synth (fx, "KNY01", 100 + i, 8000, NULL);
      const char *paths[] = { kny01, NULL };
      g_ptr_array_add (pkgs, pf_pack (fx, "subscriber", 100 + i, paths));
    }

  const char *list[] = { "station", "sweep", NULL };
  for (guint i = 0; i < pkgs->len; i++)
    {
      const char *import[] = { "--json", "case", "import", g_ptr_array_index (pkgs, i), NULL };
      g_autoptr (GSubprocess) importer = cli_spawn (fx, import);
      guint lists = 0;
      for (;;)
        {
          g_autoptr (GSubprocess) lister = cli_spawn (fx, list);
          g_assert_true (g_subprocess_wait (lister, NULL, NULL));
          g_assert_cmpint (g_subprocess_get_exit_status (lister), ==, 0);
          lists++;
          /* The identifier is gone once the importer has exited. */
          if (g_subprocess_get_identifier (importer) == NULL)
            break;
        }
      g_autofree char *out = NULL;
      g_autoptr (GError) error = NULL;
      g_assert_true (g_subprocess_communicate_utf8 (importer, NULL, NULL, &out, NULL, &error));
      g_assert_no_error (error);
      g_test_message ("import %u beside %u other commands: %s", i, lists, out);
      g_assert_cmpint (g_subprocess_get_exit_status (importer), ==, 0);
    }

  /* Every import is whole: its item is there, nothing was lost or removed
   * from under it, and a later command (alone now: it recovers) agrees. */
  g_assert_cmpint (cli_json (fx, list, NULL), ==, 0);
  fx->pipe = pf_open_pipeline (fx);
  pf_assert_store_consistent (fx);
  pf_assert_journal_verifies (fx->st.term);
  g_assert_cmpuint (pf_store_items (fx), ==, pkgs->len);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkJournal) journal = sk_station_open_journal (fx->st.term, FALSE, &error);
  g_assert_no_error (error);
  const char *bad[] = { "item-lost", "store-recovered", "package-refused" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      SkJournalFilter filter = { .event = bad[i] };
      g_autoptr (GPtrArray) rows = sk_journal_query (journal, &filter, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (rows->len, ==, 0);
    }
  for (guint i = 0; i < pkgs->len; i++)
    {
      g_autofree char *id = pf_case_of (100 + i);
      g_autoptr (SkCase) c = sk_pipeline_get_case (fx->pipe, id, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (c->state, ==, "imported");
    }
}

/* A process killed in the middle of recovery (while it holds the store
 * alone) leaves the rest of the debris for the next one; an import beside
 * and after it loses nothing. */
static void
test_killed_mid_recovery (Fixture *fx, gconstpointer data)
{
  if (!sk_fault_compiled_in ())
    {
      g_test_skip ("needs a build with fault points (-Dfault_points=enabled)");
      return;
    }
  g_clear_object (&fx->pipe);
  g_autofree char *store = join (sk_station_get_dir (fx->st.term), "store");
  const char *debris[] = { ".tmp-0123456789abcdef0123456789abcdef",
                           ".tmp-fedcba9876543210fedcba9876543210",
                           "00112233445566778899aabbccddeeff.sealed" };
  for (guint i = 0; i < G_N_ELEMENTS (debris); i++)
    {
      g_autofree char *path = join (store, debris[i]);
      g_assert_true (g_file_set_contents (path, "debris", -1, NULL));
    }

  /* Killed after removing the first piece of debris (a sweep opens the
   * store and recovers it first). */
  const char *list[] = { "station", "sweep", NULL };
  int status = pf_cli_with_fault (fx, "store-recover-removed", list);
  g_assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
  g_assert_cmpuint (pf_count_store_files (store), ==, G_N_ELEMENTS (debris) - 1);

  /* An import right after: it may be the one that finishes recovery, and
   * its own staging is never taken for debris. */
  g_autofree char *kny01 = pf_synth (fx, "KNY01", 110, 50, NULL);
  const char *paths[] = { kny01, NULL };
  g_autofree char *pkg = pf_pack (fx, "subscriber", 110, paths);
  const char *import[] = { "case", "import", pkg, NULL };
  g_assert_cmpint (cli_json (fx, import, NULL), ==, 0);
  g_assert_cmpint (cli_json (fx, list, NULL), ==, 0);

  fx->pipe = pf_open_pipeline (fx);
  pf_assert_store_consistent (fx);
  g_assert_cmpuint (pf_store_items (fx), ==, 1);
  g_assert_cmpuint (pf_count_store_files (store), ==, 1);
  pf_assert_journal_verifies (fx->st.term);
  g_assert_cmpuint (pf_rows_of (fx, "store-recovered"), ==, G_N_ELEMENTS (debris));
}

/* ---- 2, 3: the hand-off root ------------------------------------------- */

/* A symlink planted as a user's upload folder: before, any case command
 * emptied its target ("unlinked from tmpfs").  Now nothing is entered, and
 * a hand-off is refused. */
static void
test_symlinked_user_folder (Fixture *fx, gconstpointer data)
{
  g_autofree char *precious = make_precious (fx);
  g_autofree char *upload = join (fx->run, "upload");
  g_autofree char *download = join (fx->run, "download");
  g_assert_cmpint (g_mkdir (upload, 0711), ==, 0);
  g_assert_cmpint (g_mkdir (download, 0711), ==, 0);
  g_autofree char *mine = user_folder (fx, "upload", fx->op.uid);
  g_autofree char *theirs = user_folder (fx, "upload", 1001);
  g_autofree char *dl = user_folder (fx, "download", fx->op.uid);
  g_assert_cmpint (symlink (precious, mine), ==, 0);
  g_assert_cmpint (symlink (precious, theirs), ==, 0);
  g_assert_cmpint (symlink (precious, dl), ==, 0);

  /* Commands that recover and sweep, run alone. */
  g_clear_object (&fx->pipe);
  const char *list[] = { "case", "list", NULL };
  const char *sweep[] = { "station", "sweep", NULL };
  g_assert_cmpint (cli_json (fx, list, NULL), ==, 0);
  g_assert_cmpint (cli_json (fx, sweep, NULL), ==, 0);
  g_assert_cmpuint (pf_count_entries (precious), ==, 1);
  g_assert_cmpuint (pf_rows_of (fx, "handoff-recovered"), ==, 0);
  g_assert_cmpuint (pf_rows_of (fx, "download-expired"), ==, 0);

  /* A hand-off through the planted link is refused; the target untouched. */
  fx->pipe = pf_open_pipeline (fx);
  g_autofree char *id = pf_imported_case (fx, "subscriber", "KNY01", 111, 10);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) handed = sk_pipeline_hand_off (fx->pipe, &fx->op, id, NULL, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_HANDOFF_UNSAFE);
  g_assert_null (handed);
  g_assert_cmpuint (pf_count_entries (precious), ==, 1);
  g_autoptr (SkJournalRow) row = pf_last_row (fx, "handoff-refused");
  g_assert_cmpstr (row->reason, ==, "handoff-unsafe");

  /* Take-in through a planted download link too. */
  g_clear_error (&error);
  g_autoptr (SkCaseFile) f =
      sk_pipeline_take_in (fx->pipe, &fx->op, "keep.txt", NULL, NULL, NULL, &error);
  g_assert_null (f);
  g_assert_nonnull (error);
  g_assert_cmpuint (pf_count_entries (precious), ==, 1);
}

/* An upload/ folder someone else made (or anyone can write) is not the
 * station's: nothing is handed off into it. */
static void
test_premade_upload_folder (Fixture *fx, gconstpointer data)
{
  g_autofree char *id = pf_imported_case (fx, "subscriber", "KNY01", 112, 10);
  g_autofree char *upload = join (fx->run, "upload");
  g_assert_cmpint (g_mkdir (upload, 0777), ==, 0);
  g_assert_cmpint (chmod (upload, 0777), ==, 0);

  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) handed = sk_pipeline_hand_off (fx->pipe, &fx->op, id, NULL, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_HANDOFF_UNSAFE);
  g_assert_null (handed);
  g_assert_cmpuint (pf_count_entries (upload), ==, 0);
  g_clear_error (&error);

  if (geteuid () != 0)
    return;
  /* Owned by another user, with a mode that looks right. */
  g_assert_cmpint (chmod (upload, 0711), ==, 0);
  g_assert_cmpint (chown (upload, SECOND_UID, SECOND_UID), ==, 0);
  handed = sk_pipeline_hand_off (fx->pipe, &fx->op, id, NULL, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_HANDOFF_UNSAFE);
  g_assert_null (handed);
  g_assert_cmpuint (pf_count_entries (upload), ==, 0);
  g_clear_error (&error);

  /* A user folder owned by someone other than the uid it is named after. */
  g_assert_cmpint (chown (upload, 0, 0), ==, 0);
  g_autofree char *mine = user_folder (fx, "upload", fx->op.uid);
  g_assert_cmpint (g_mkdir (mine, 0700), ==, 0);
  g_assert_cmpint (chown (mine, SECOND_UID, SECOND_UID), ==, 0);
  handed = sk_pipeline_hand_off (fx->pipe, &fx->op, id, NULL, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_HANDOFF_UNSAFE);
  g_assert_cmpuint (pf_count_entries (mine), ==, 0);
}

typedef struct
{
  Fixture *fx;
  char *disk;
  char *moved;
} Swap;

/* A second process swaps the user's folder for a link to a disk folder
 * while the hand-off is under way. */
static void
swap_folder (const char *name, gpointer data)
{
  Swap *sw = data;
  if (!g_str_equal (name, "handoff-before-write"))
    return;
  g_autofree char *folder = user_folder (sw->fx, "upload", sw->fx->op.uid);
  const char *argv[] = { "/bin/sh", "-c",   "mv \"$1\" \"$2\" && ln -s \"$3\" \"$1\"",
                         "swap",    folder, sw->moved,
                         sw->disk,  NULL };
  int status = sk_test_run (argv, NULL, NULL);
  g_assert_cmpint (status, ==, 0);
}

static void
test_swap_during_handoff (Fixture *fx, gconstpointer data)
{
  if (!sk_fault_compiled_in ())
    {
      g_test_skip ("needs a build with fault points (-Dfault_points=enabled)");
      return;
    }
  g_autofree char *id = pf_imported_case (fx, "subscriber", "KNY01", 113, 10);
  Swap sw = { fx, join (fx->tmp, "disk"), NULL };
  g_assert_cmpint (g_mkdir (sw.disk, 0700), ==, 0);
  g_autofree char *upload = join (fx->run, "upload");
  sw.moved = join (upload, "moved");

  sk_fault_set_hook (swap_folder, &sw);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) handed = sk_pipeline_hand_off (fx->pipe, &fx->op, id, NULL, NULL, &error);
  sk_fault_set_hook (NULL, NULL);

  /* The plaintext went where the descriptor pointed: the folder on the
   * tmpfs, wherever its name went.  Not a byte reached the disk. */
  g_assert_cmpuint (pf_count_entries (sw.disk), ==, 0);
  g_assert_true (pf_is_tmpfs (sw.moved));
  if (handed != NULL)
    g_assert_cmpuint (pf_count_entries (sw.moved), ==, handed->len);
  else
    g_assert_nonnull (error);

  /* The next hand-off meets the link and refuses. */
  g_clear_error (&error);
  g_autoptr (GPtrArray) again = sk_pipeline_hand_off (fx->pipe, &fx->op, id, NULL, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_HANDOFF_UNSAFE);
  g_assert_null (again);
  g_assert_cmpuint (pf_count_entries (sw.disk), ==, 0);
  g_free (sw.disk);
  g_free (sw.moved);
}

/* ---- 4, 6: what a medium or a download folder may hold ----------------- */

static void
make_fifo (const char *path)
{
  g_assert_cmpint (mkfifo (path, 0600), ==, 0);
}

/* A FIFO named like the signature, or like the package: before, import and
 * check waited for a writer forever.  A link, a folder, a hard link: now
 * each a refusal by name, not an environment error. */
static void
test_medium_oddities (Fixture *fx, gconstpointer data)
{
  alarm (HANG_GUARD_S);
  g_autofree char *kny01 = pf_synth (fx, "KNY01", 114, 10, NULL);
  const char *paths[] = { kny01, NULL };
  g_autofree char *pkg = pf_pack (fx, "subscriber", 114, paths);
  g_autofree char *sig = g_strconcat (pkg, ".sig", NULL);
  g_autofree char *real_sig = g_strconcat (pkg, ".real-sig", NULL);
  g_assert_cmpint (g_rename (sig, real_sig), ==, 0);

  struct
  {
    const char *what;
    const char *command;
    const char *reason;
  } cases[] = {
    { "fifo-sig", "import", "file-not-regular" }, { "fifo-sig", "check", "file-not-regular" },
    { "fifo-pkg", "import", "file-not-regular" }, { "fifo-pkg", "check", "file-not-regular" },
    { "link-pkg", "import", "file-not-regular" }, { "dir-pkg", "import", "file-not-regular" },
    { "hardlink-pkg", "import", "file-linked" },  { "link-sig", "import", "file-not-regular" },
    { "sparse-pkg", "import", "tar-too-large" },  { "sparse-pkg", "check", "tar-too-large" },
  };
  g_autofree char *base = g_path_get_basename (pkg);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      /* A fresh medium folder for each case, the real package kept aside. */
      g_autofree char *name = g_strdup_printf ("odd%u", i);
      g_autofree char *medium = join (fx->tmp, name);
      g_assert_cmpint (g_mkdir (medium, 0700), ==, 0);
      g_autofree char *p = join (medium, base);
      g_autofree char *s = g_strconcat (p, ".sig", NULL);
      const char *what = cases[i].what;
      g_autoptr (GBytes) pkg_bytes = pf_read_bytes (pkg);
      g_autoptr (GBytes) sig_bytes = pf_read_bytes (real_sig);
      if (g_str_equal (what, "fifo-pkg"))
        make_fifo (p);
      else if (g_str_equal (what, "link-pkg"))
        g_assert_cmpint (symlink (pkg, p), ==, 0);
      else if (g_str_equal (what, "dir-pkg"))
        g_assert_cmpint (g_mkdir (p, 0700), ==, 0);
      else if (g_str_equal (what, "hardlink-pkg"))
        g_assert_cmpint (link (pkg, p), ==, 0);
      else if (g_str_equal (what, "sparse-pkg"))
        {
          /* 1 TiB that occupies nothing: refused by its size alone. */
          int fd = open (p, O_WRONLY | O_CREAT | O_EXCL, 0600);
          g_assert_cmpint (fd, >=, 0);
          g_assert_cmpint (ftruncate (fd, G_GINT64_CONSTANT (1) << 40), ==, 0);
          close (fd);
        }
      else
        g_assert_true (g_file_set_contents (p, g_bytes_get_data (pkg_bytes, NULL),
                                            (gssize)g_bytes_get_size (pkg_bytes), NULL));
      if (g_str_equal (what, "fifo-sig"))
        make_fifo (s);
      else if (g_str_equal (what, "link-sig"))
        g_assert_cmpint (symlink (real_sig, s), ==, 0);
      else
        g_assert_true (g_file_set_contents (s, g_bytes_get_data (sig_bytes, NULL),
                                            (gssize)g_bytes_get_size (sig_bytes), NULL));

      g_autofree char *reason = NULL;
      /* A folder given to import is a medium to search: give it the
       * medium, which holds a folder named like a package. */
      const char *import[] = { "case", "import", g_str_equal (what, "dir-pkg") ? medium : p, NULL };
      const char *check[] = { "check", p, NULL };
      int code = cli_json (fx, g_str_equal (cases[i].command, "import") ? import : check, &reason);
      g_test_message ("%s %s: exit %d, %s", cases[i].command, what, code, reason);
      g_assert_cmpint (code, ==, 1);
      g_assert_cmpstr (reason, ==, cases[i].reason);
      if (g_str_equal (cases[i].command, "import"))
        {
          g_autoptr (SkJournalRow) row = pf_last_row (fx, "package-refused");
          g_assert_cmpstr (row->reason, ==, cases[i].reason);
          g_assert_cmpstr (row->outcome, ==, "refused");
        }
    }
  g_assert_cmpuint (pf_store_items (fx), ==, 0);
  alarm (0);
}

/* In the download folder: a hard link (the other link would keep the
 * plaintext past its deadline), a FIFO, a link, and a sparse file far over
 * its kind's cap (refused by its size, before a byte is read). */
static void
test_download_oddities (Fixture *fx, gconstpointer data)
{
  alarm (HANG_GUARD_S);
  g_autofree char *req = pf_synth (fx, "KNY01", 115, 10, NULL);
  g_autofree char *res = pf_synth (fx, "KNY02", 115, 10, NULL);
  const char *paths[] = { req, NULL };
  g_autofree char *pkg = pf_pack (fx, "subscriber", 115, paths);
  pf_through_upload (fx, pkg, 115);
  g_autofree char *name = g_path_get_basename (res);
  g_autofree char *dl = pf_download_dir (fx, &fx->op);
  g_autofree char *in_dl = join (dl, name);
  g_autofree char *elsewhere = join (fx->run, "other-link");

  /* A hard link: refused, and both links are left as they were. */
  g_autofree char *saved = pf_browser_saves (fx, res);
  g_assert_cmpint (link (saved, elsewhere), ==, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkCaseFile) f =
      sk_pipeline_take_in (fx->pipe, &fx->op, name, NULL, NULL, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_FILE_LINKED);
  g_assert_null (f);
  g_assert_true (g_file_test (in_dl, G_FILE_TEST_EXISTS));
  g_autoptr (SkJournalRow) row = pf_last_row (fx, "download-refused");
  g_assert_cmpstr (row->reason, ==, "file-linked");
  g_assert_cmpint (g_unlink (elsewhere), ==, 0);
  g_assert_cmpint (g_unlink (in_dl), ==, 0);
  g_clear_error (&error);

  /* A FIFO does not hang take-in. */
  make_fifo (in_dl);
  f = sk_pipeline_take_in (fx->pipe, &fx->op, name, NULL, NULL, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_FILE_NOT_REGULAR);
  g_assert_cmpint (g_unlink (in_dl), ==, 0);
  g_clear_error (&error);

  /* A symlink to the real file elsewhere. */
  g_assert_cmpint (symlink (res, in_dl), ==, 0);
  f = sk_pipeline_take_in (fx->pipe, &fx->op, name, NULL, NULL, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_FILE_NOT_REGULAR);
  g_assert_true (g_file_test (res, G_FILE_TEST_EXISTS));
  g_assert_cmpint (g_unlink (in_dl), ==, 0);
  g_clear_error (&error);

  /* A sparse file of 1 TiB: refused by fstat, not read to its end. */
  int fd = open (in_dl, O_WRONLY | O_CREAT | O_EXCL, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, G_GINT64_CONSTANT (1) << 40), ==, 0);
  close (fd);
  f = sk_pipeline_take_in (fx->pipe, &fx->op, name, NULL, NULL, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_FILE_TOO_LARGE);
  g_autoptr (SkJournalRow) big = pf_last_row (fx, "download-refused");
  g_assert_cmpstr (big->reason, ==, "file-too-large");
  g_assert_cmpstr (big->outcome, ==, "refused");
  g_assert_cmpint (g_unlink (in_dl), ==, 0);
  g_clear_error (&error);

  /* The genuine file still goes in. */
  g_autoptr (SkCaseFile) good = pf_take_in_ok (fx, res);
  g_assert_cmpstr (good->kind, ==, "KNY02");
  alarm (0);
}

/* ---- 5: the first refusal wins ----------------------------------------- */

/* A replayed package large enough that the store's reader is still
 * writing when acceptance stops at the manifest: before, the reader's
 * broken pipe was reported (io-error, exit 3) and the replay attempt never
 * reached the journal as one. */
static void
test_replayed_large_package (Fixture *fx, gconstpointer data)
{
  g_clear_object (&fx->pipe);
  g_autofree char *kny01 = pf_synth (fx, "KNY01", 116, 20000, NULL);
  const char *paths[] = { kny01, NULL };
  g_autofree char *pkg = pf_pack (fx, "subscriber", 116, paths);
  struct stat st;
  g_assert_cmpint (g_stat (pkg, &st), ==, 0);
  g_test_message ("package of %" G_GINT64_FORMAT " bytes", (gint64)st.st_size);
  g_assert_cmpint (st.st_size, >, 4 * 1024 * 1024);

  const char *import[] = { "case", "import", pkg, NULL };
  g_autofree char *first = NULL;
  g_assert_cmpint (cli_json (fx, import, &first), ==, 0);
  g_autofree char *reason = NULL;
  g_assert_cmpint (cli_json (fx, import, &reason), ==, 1);
  g_assert_cmpstr (reason, ==, "package-replayed");
  g_autoptr (SkJournalRow) row = pf_last_row (fx, "package-refused");
  g_assert_cmpstr (row->reason, ==, "package-replayed");
  g_assert_cmpstr (row->outcome, ==, "refused");
  g_assert_cmpuint (pf_store_items (fx), ==, 1);
}

/* ---- 7: names in order -------------------------------------------------- */

/* Listings come sorted by name (before, g_ptr_array_sort compared the
 * array's char ** as char *: the order was the heap's). */
static void
test_listing_sorted (Fixture *fx, gconstpointer data)
{
  g_autofree char *dir = join (fx->tmp, "many");
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  for (guint i = 0; i < 64; i++)
    {
      g_autofree char *name =
          g_strdup_printf ("%08x.tar.gpg", g_random_int_range (0, G_MAXINT32) ^ (i * 7919u));
      g_autofree char *path = join (dir, name);
      g_assert_true (g_file_set_contents (path, "", 0, NULL));
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) found = sk_pipeline_find_packages (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, >, 32);
  for (guint i = 1; i < found->len; i++)
    g_assert_cmpint (strcmp (g_ptr_array_index (found, i - 1), g_ptr_array_index (found, i)), <, 0);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "C.UTF-8");
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, pf_fixture_setup, fn, pf_fixture_teardown)
  ADD ("/hostile/concurrent-commands", test_concurrent_commands);
  ADD ("/hostile/killed-mid-recovery", test_killed_mid_recovery);
  ADD ("/hostile/symlinked-user-folder", test_symlinked_user_folder);
  ADD ("/hostile/premade-upload-folder", test_premade_upload_folder);
  ADD ("/hostile/swap-during-handoff", test_swap_during_handoff);
  ADD ("/hostile/medium-oddities", test_medium_oddities);
  ADD ("/hostile/download-oddities", test_download_oddities);
  ADD ("/hostile/replayed-large-package", test_replayed_large_package);
  ADD ("/hostile/listing-sorted", test_listing_sorted);
#undef ADD

  int ret = g_test_run ();
  sk_test_keys_free ();
  return ret;
}
