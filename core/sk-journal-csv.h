/* sk-journal-csv.h — the journal as an auditor's CSV record, and its
 * verification off the station (issue 16)
 *
 * The file is UTF-8 with a byte-order mark (a spreadsheet on a Japanese
 * desktop reads a file without one as CP932), CRLF line ends and RFC 4180
 * quoting.  One header row, then one row per journal entry, from seq 1 to
 * the seq of the checkpoint that goes with the file.  The columns, in this
 * order:
 *
 *   seq, time_utc (the entry's time to the microsecond, UTC), time_local
 *   (the same to the second in the exporting terminal's zone, with its
 *   offset), event, outcome, reason, uid, login, role, station, case,
 *   package, device, details (the JSON text the chain covers), prev_hash,
 *   entry_hash; then one column per key of the details objects, sorted
 *   ("details.file", …), holding the key's value: a string as it is,
 *   anything else as its JSON text.
 *
 * Headers are English or Japanese; a reader accepts either.  An empty,
 * unquoted cell is NULL, "" is the empty text: the chain tells them apart,
 * so the file does too.  A cell a spreadsheet would run as a formula (one
 * that starts with = + - @, a tab or a CR), and one that starts with ',
 * is quoted and gets a leading ' that a reader takes off again.
 *
 * Verification needs no station: it recomputes every entry_hash from the
 * columns and follows the chain from seq 1, checks that every other column
 * (both times, the details' columns) says what the hashed columns say, and
 * that the last row is the signed checkpoint's head.  The caller verifies
 * the checkpoint's signature.  The file is untrusted input: it is read in
 * a stream, a row of more than 4 MiB is refused as malformed, and memory
 * stays flat however long the file is.
 */
#pragma once

#include <gio/gio.h>

#include "sk-journal.h"

G_BEGIN_DECLS

typedef enum
{
  SK_JOURNAL_CSV_ENGLISH,
  SK_JOURNAL_CSV_JAPANESE,
} SkJournalCsvHeaders;

/* Write rows 1 … UPTO_SEQ of JOURNAL to OUT, local times in ZONE.  Reads
 * the journal twice (the details' keys make the header), streaming. */
gboolean
sk_journal_csv_export (SkJournal *journal,
                       gint64 upto_seq,
                       SkJournalCsvHeaders headers,
                       GTimeZone *zone,
                       GOutputStream *out,
                       gint64 *out_rows,
                       GCancellable *cancellable,
                       GError **error);
/* The same, telling PROGRESS (which may be NULL) the rows written, as phase
 * "journal", of the rows up to UPTO_SEQ; stopping when it is cancelled. */
gboolean
sk_journal_csv_export_with_progress (SkJournal *journal,
                                     gint64 upto_seq,
                                     SkJournalCsvHeaders headers,
                                     GTimeZone *zone,
                                     GOutputStream *out,
                                     gint64 *out_rows,
                                     SkProgress *progress,
                                     GCancellable *cancellable,
                                     GError **error);

typedef struct
{
  gint64 rows;    /* data rows read */
  gint64 bad_row; /* the first bad row of the file (the header is row 1), or 0 */
  gint64 bad_seq; /* the seq that row should hold, or 0 */
} SkJournalCsvCheck;

/* Verify the record read from IN against a checkpoint whose signature the
 * caller checked: CP_SEQ, CP_HEAD and CP_STATION.  On a bad row, FALSE with
 * SK_ERROR_JOURNAL_INVALID naming the row; CHECK says where. */
gboolean
sk_journal_csv_verify (GInputStream *in,
                       gint64 cp_seq,
                       const char *cp_head,
                       const char *cp_station,
                       SkJournalCsvCheck *check,
                       GCancellable *cancellable,
                       GError **error);

G_END_DECLS
