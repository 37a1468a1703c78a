/* fuzz-media-csv.c — the media register's CSV reader, and its round trip
 *
 * Input: the bytes of a 媒体管理簿 CSV, given as they are to sk_csv_parse
 * with eight columns.  A refusal must be media-csv-invalid naming a line.
 * When it parses, the rows are written back with sk_csv_append_row and
 * parsed once more: that must succeed and give the same cells.  A failure
 * aborts.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk-error.h"
#include "sk-fuzz.h"
#include "sk-media-csv.h"

#define N_COLUMNS 8

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rows = sk_csv_parse ((const char *)data, size, N_COLUMNS, &error);
  if (rows == NULL)
    {
      if (!g_error_matches (error, SK_ERROR, SK_ERROR_MEDIA_CSV_INVALID) ||
          !g_str_has_prefix (error->message, "line "))
        {
          fprintf (stderr, "fuzz-media-csv: a refusal without its code or line\n");
          abort ();
        }
      return 0;
    }
  g_autoptr (GString) again = g_string_new ("\xef\xbb\xbf");
  for (guint i = 0; i < rows->len; i++)
    sk_csv_append_row (again, (const char *const *)g_ptr_array_index (rows, i));
  g_autoptr (GError) error2 = NULL;
  g_autoptr (GPtrArray) back = sk_csv_parse (again->str, again->len, N_COLUMNS, &error2);
  if (back == NULL || back->len != rows->len)
    {
      fprintf (stderr, "fuzz-media-csv: what was read does not read back: %s\n",
               error2 != NULL ? error2->message : "row count");
      abort ();
    }
  for (guint i = 0; i < rows->len; i++)
    {
      GStrv a = g_ptr_array_index (rows, i);
      GStrv b = g_ptr_array_index (back, i);
      for (guint k = 0; k < N_COLUMNS; k++)
        if (strcmp (a[k], b[k]) != 0)
          {
            fprintf (stderr, "fuzz-media-csv: the round trip changed a cell\n");
            abort ();
          }
    }
  return 0;
}
