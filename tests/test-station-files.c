/* test-station-files.c — every file a station creates is 0600, every
 * folder 0700 (issue 16)
 *
 * The four workflows run end to end on a real terminal station (packed on
 * a real standard station, imported, handed off, uploaded, taken in,
 * exported), with a checkpoint and a sweep; then both stations are walked.
 * The process umask is 022, the usual default, so that a file made with
 * the default mode is caught.
 */
#define G_LOG_DOMAIN "sekisho-test"

#include "config.h"

#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>
#include <sys/stat.h>

#include "sk-test-pipeline.h"

typedef SkPipelineFixture Fixture;

/* Every entry under DIR (not following links): regular files 0600 or
 * stricter, folders 0700, sockets (gpg-agent's) owner-only; symlinks stay
 * inside. Returns how many files were seen. */
static guint
walk (const char *dir, GString *bad)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);
  guint files = 0;
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      GStatBuf st;
      g_assert_cmpint (g_lstat (path, &st), ==, 0);
      mode_t perm = st.st_mode & 07777;
      if (S_ISDIR (st.st_mode))
        {
          if (perm != 0700)
            g_string_append_printf (bad, "  %04o %s/\n", perm, path);
          files += walk (path, bad);
        }
      else if (S_ISREG (st.st_mode))
        {
          files++;
          if ((perm & 07177) != 0)
            g_string_append_printf (bad, "  %04o %s\n", perm, path);
        }
      else if (S_ISSOCK (st.st_mode))
        {
          if ((perm & 077) != 0)
            g_string_append_printf (bad, "  %04o %s (socket)\n", perm, path);
        }
      else if (S_ISLNK (st.st_mode))
        {
          g_autofree char *target = g_file_read_link (path, NULL);
          g_assert_nonnull (target);
          g_assert_false (g_path_is_absolute (target));
          g_assert_null (strstr (target, ".."));
        }
      else
        g_string_append_printf (bad, "  %04o %s (not a file, folder or link)\n", perm, path);
    }
  return files;
}

static void
test_four_workflows (Fixture *fx, gconstpointer data)
{
  const struct
  {
    const char *workflow, *request, *result;
  } flows[] = {
    { "subscriber", "KNY01", "KNY02" },
    { "duplicate", "FKH01", "FKH09" },
    { "inquiry", "SKI01", "SKI02" },
    { "identity", "JLS01", "JLS02" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (flows); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *id = pf_case_with_result (fx, flows[i].workflow, flows[i].request,
                                                 flows[i].result, 60 + i, 20);
      g_autofree char *exported = sk_pipeline_export (fx->pipe, &fx->op, id, fx->out, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (exported);
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *cp = sk_station_make_checkpoint (fx->st.term, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sk_pipeline_sweep (fx->pipe, &error), >=, 0);
  g_assert_no_error (error);

  SkStation *stations[] = { fx->st.term, fx->st.std };
  for (gsize s = 0; s < G_N_ELEMENTS (stations); s++)
    {
      g_autoptr (GString) bad = g_string_new (NULL);
      const char *dir = sk_station_get_dir (stations[s]);
      GStatBuf st;
      g_assert_cmpint (g_stat (dir, &st), ==, 0);
      g_assert_cmpint (st.st_mode & 07777, ==, 0700);
      guint files = walk (dir, bad);
      /* The journal, its WAL, the configuration, the keyring, a policy… */
      g_assert_cmpuint (files, >=, 8);
      if (bad->len > 0)
        g_test_message ("wider than 0600/0700 in %s:\n%s", dir, bad->str);
      g_assert_cmpuint (bad->len, ==, 0);
    }
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "C.UTF-8");
  /* The usual default: a file made with 0644 or 0666 shows as such. */
  umask (022);
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/station-files/four-workflows", Fixture, NULL, pf_fixture_setup, test_four_workflows,
              pf_fixture_teardown);
  int ret = g_test_run ();
  sk_test_keys_free ();
  return ret;
}
