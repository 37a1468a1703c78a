/* fuzz-replay.c — run a fuzz target over a corpus as an ordinary test
 *
 * Linked with one target instead of libFuzzer: every file named on the
 * command line, and every regular file in every directory named there, is
 * read and passed to LLVMFuzzerTestOneInput once, in sorted order, printing
 * TAP.  A crash or a failed assertion ends the run, which meson reports as a
 * failure of the test.
 */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "sk-fuzz.h"

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

static gboolean
collect (const char *path, GPtrArray *out, GError **error)
{
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_ptr_array_add (out, g_strdup (path));
      return TRUE;
    }
  g_autoptr (GDir) dir = g_dir_open (path, 0, error);
  if (dir == NULL)
    return FALSE;
  for (const char *name = g_dir_read_name (dir); name != NULL; name = g_dir_read_name (dir))
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (name[0] != '.' && g_file_test (child, G_FILE_TEST_IS_REGULAR))
        g_ptr_array_add (out, g_steal_pointer (&child));
    }
  return TRUE;
}

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;

  setlocale (LC_ALL, "");
  if (argc < 2)
    {
      g_printerr ("usage: %s CORPUS-DIR-OR-FILE…\n", argv[0]);
      return 2;
    }
  for (int i = 1; i < argc; i++)
    if (!collect (argv[i], paths, &error))
      {
        g_printerr ("%s: %s\n", argv[0], error->message);
        return 1;
      }
  g_ptr_array_sort (paths, compare_paths);

  printf ("1..%u\n", paths->len);
  if (paths->len == 0)
    printf ("# no inputs: the corpus is empty\n");
  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = g_ptr_array_index (paths, i);
      g_autofree char *base = g_path_get_basename (path);
      g_autofree char *contents = NULL;
      gsize len;

      fflush (stdout);
      if (!g_file_get_contents (path, &contents, &len, &error))
        {
          printf ("not ok %u - %s # %s\n", i + 1, base, error->message);
          g_clear_error (&error);
          continue;
        }
      /* An exact-size copy, so that AddressSanitizer sees a read past the end. */
      g_autofree guint8 *input = g_memdup2 (contents, len);
      LLVMFuzzerTestOneInput (input, len);
      printf ("ok %u - %s\n", i + 1, base);
    }
  return 0;
}
