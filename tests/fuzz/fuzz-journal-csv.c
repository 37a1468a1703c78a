/* fuzz-journal-csv.c — the verifier of an exported journal record
 *
 * Input: the bytes of a CSV record as `sekisho journal export` writes it,
 * given as they are to sk_journal_csv_verify against a checkpoint far
 * beyond any row, so that every row the file holds is read and checked
 * (rows, chain, times, details' columns) before the end is reached.  The
 * verifier must refuse (the checkpoint is never reached), naming a row no
 * further than one past the last, with SK_ERROR_JOURNAL_INVALID.
 */
#include "config.h"

#include <gio/gio.h>
#include <stdio.h>
#include <stdlib.h>

#include "sk-error.h"
#include "sk-fuzz.h"
#include "sk-journal-csv.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_data (data, (gssize)size, NULL);
  g_autoptr (GError) error = NULL;
  SkJournalCsvCheck check;
  const char *head = "0000000000000000000000000000000000000000000000000000000000000000";
  gboolean ok = sk_journal_csv_verify (in, G_MAXINT32, head, "fuzz", &check, NULL, &error);
  if (ok || error == NULL || !g_error_matches (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID) ||
      check.bad_row < 1 || check.bad_row > check.rows + 2 || check.bad_seq < 0 ||
      check.bad_seq > check.rows + 1)
    {
      fprintf (stderr, "fuzz-journal-csv: ok %d, rows %lld, bad row %lld, bad seq %lld: %s\n", ok,
               (long long)check.rows, (long long)check.bad_row, (long long)check.bad_seq,
               error != NULL ? error->message : "no error");
      abort ();
    }
  return 0;
}
