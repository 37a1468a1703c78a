/* sk-media-csv.h — the CSV of Japanese device-control consoles
 *
 * The form a union's existing media register (媒体管理簿) is kept in and
 * opened with a spreadsheet: UTF-8 with a byte-order mark (so that it opens
 * as Japanese, not as Shift_JIS mojibake), CRLF line ends, every cell in
 * double quotes (a quote doubled inside), and no cell that a spreadsheet
 * would run as a formula: a cell starting with = + - @ TAB or CR (or their
 * full-width forms) is written with a leading apostrophe, which the reader
 * takes off again.
 *
 * Reading is strict, because the file comes from outside: one record per
 * line, no line breaks inside a cell, no control characters, valid UTF-8,
 * exactly the expected number of cells, no unneutralised formula cell,
 * bounded sizes.  Any fault refuses the whole file naming its line
 * (media-csv-invalid), so that nothing is half-imported.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SK_CSV_MAX_BYTES (16 * 1024 * 1024)
#define SK_CSV_MAX_LINE 4096
#define SK_CSV_MAX_CELL 256

/* Append one line of CELLS (NULL-terminated), CRLF-ended. */
void
sk_csv_append_row (GString *out, const char *const *cells);

/* The rows of DATA (GStrv each), the first being the header, each with
 * exactly N_COLUMNS cells; a leading BOM is taken off.  Blank lines at the
 * end are allowed; nowhere else. */
GPtrArray *
sk_csv_parse (const char *data, gsize len, guint n_columns, GError **error);

G_END_DECLS
