/* sk-journal-csv.c — the auditor's CSV record: writing it, and verifying
 * it with nothing but the file and a signed checkpoint */
#define G_LOG_DOMAIN "sekisho-journal"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "sk-error.h"
#include "sk-journal-csv.h"
#include "sk-journal-private.h"

#define BOM "\xEF\xBB\xBF"
#define FLUSH_AT 65536
/* A hostile file cannot make the reader hold more than this: no journal
 * row comes near it (details are a few hundred bytes). */
#define MAX_RECORD (4 * 1024 * 1024)
#define MAX_DETAIL_COLUMNS 4096

/* The columns before the details' own, in file order. */
enum
{
  COL_SEQ,
  COL_TIME_UTC,
  COL_TIME_LOCAL,
  COL_EVENT,
  COL_OUTCOME,
  COL_REASON,
  COL_UID,
  COL_LOGIN,
  COL_ROLE,
  COL_STATION,
  COL_CASE,
  COL_PACKAGE,
  COL_DEVICE,
  COL_DETAILS,
  COL_PREV_HASH,
  COL_ENTRY_HASH,
  N_FIXED
};

static const char *const english[N_FIXED] = {
  "seq",  "time_utc", "time_local", "event",   "outcome", "reason",  "uid",       "login",
  "role", "station",  "case",       "package", "device",  "details", "prev_hash", "entry_hash",
};
static const char *const japanese[N_FIXED] = {
  "連番",
  "時刻（UTC）",
  "時刻（現地）",
  "事象",
  "結果",
  "理由コード",
  "UID",
  "ログイン名",
  "役割",
  "ステーション",
  "案件（処理番号）",
  "パッケージ",
  "装置",
  "詳細（JSON）",
  "前項目のハッシュ",
  "項目のハッシュ",
};
static const char *const detail_prefix[] = { "details.", "詳細." };

/* ---- times, without a GDateTime per row -------------------------------- */

/* Howard Hinnant's civil calendar algorithms: days since 1970-01-01. */
static void
civil_from_days (gint64 z, int *y, int *m, int *d)
{
  z += 719468;
  gint64 era = (z >= 0 ? z : z - 146096) / 146097;
  gint64 doe = z - era * 146097;
  gint64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  gint64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  gint64 mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)(yoe + era * 400 + (*m <= 2));
}

static gint64
days_from_civil (int y, int m, int d)
{
  y -= m <= 2;
  gint64 era = (y >= 0 ? y : y - 399) / 400;
  gint64 yoe = y - era * 400;
  gint64 doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  gint64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void
split_seconds (gint64 s, int *y, int *mo, int *d, int *h, int *mi, int *sec)
{
  gint64 days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
  gint64 rest = s - days * 86400;
  civil_from_days (days, y, mo, d);
  *h = (int)(rest / 3600);
  *mi = (int)(rest / 60 % 60);
  *sec = (int)(rest % 60);
}

static void
floor_split (gint64 time_us, gint64 *s, gint64 *us)
{
  *s = time_us / G_USEC_PER_SEC;
  *us = time_us % G_USEC_PER_SEC;
  if (*us < 0)
    {
      *us += G_USEC_PER_SEC;
      *s -= 1;
    }
}

/* VALUE (0 <= VALUE < 10^N) as exactly N digits at P; returns the end. */
static char *
put_digits (char *p, int value, int n)
{
  for (int i = n - 1; i >= 0; i--, value /= 10)
    p[i] = (char)('0' + value % 10);
  return p + n;
}

/* "2026-12-06T16:41:52.123456Z" (twice a row: written by hand, as %04d…
 * writes it, for the years 0 to 9999). */
static void
format_utc (gint64 time_us, char out[40])
{
  gint64 s, us;
  int y, mo, d, h, mi, sec;
  floor_split (time_us, &s, &us);
  split_seconds (s, &y, &mo, &d, &h, &mi, &sec);
  if (y < 0 || y > 9999)
    {
      g_snprintf (out, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", y, mo, d, h, mi, sec, (int)us);
      return;
    }
  char *p = put_digits (out, y, 4);
  *p++ = '-';
  p = put_digits (p, mo, 2);
  *p++ = '-';
  p = put_digits (p, d, 2);
  *p++ = 'T';
  p = put_digits (p, h, 2);
  *p++ = ':';
  p = put_digits (p, mi, 2);
  *p++ = ':';
  p = put_digits (p, sec, 2);
  *p++ = '.';
  p = put_digits (p, (int)us, 6);
  *p++ = 'Z';
  *p = '\0';
}

/* "2026-12-07 01:41:52+09:00" */
static void
format_local (GTimeZone *zone, gint64 time_us, char out[40])
{
  gint64 s, us;
  int y, mo, d, h, mi, sec;
  floor_split (time_us, &s, &us);
  int interval = g_time_zone_find_interval (zone, G_TIME_TYPE_UNIVERSAL, s);
  gint32 offset = interval >= 0 ? g_time_zone_get_offset (zone, interval) : 0;
  split_seconds (s + offset, &y, &mo, &d, &h, &mi, &sec);
  int off = ABS (offset) / 60;
  if (y < 0 || y > 9999 || off / 60 > 99)
    {
      g_snprintf (out, 40, "%04d-%02d-%02d %02d:%02d:%02d%c%02d:%02d", y, mo, d, h, mi, sec,
                  offset < 0 ? '-' : '+', off / 60, off % 60);
      return;
    }
  char *p = put_digits (out, y, 4);
  *p++ = '-';
  p = put_digits (p, mo, 2);
  *p++ = '-';
  p = put_digits (p, d, 2);
  *p++ = ' ';
  p = put_digits (p, h, 2);
  *p++ = ':';
  p = put_digits (p, mi, 2);
  *p++ = ':';
  p = put_digits (p, sec, 2);
  *p++ = offset < 0 ? '-' : '+';
  p = put_digits (p, off / 60, 2);
  *p++ = ':';
  p = put_digits (p, off % 60, 2);
  *p = '\0';
}

/* Exactly N decimal digits at P. */
static gboolean
digits (const char *p, int n, int *out)
{
  int v = 0;
  for (int i = 0; i < n; i++)
    {
      if (!g_ascii_isdigit (p[i]))
        return FALSE;
      v = v * 10 + (p[i] - '0');
    }
  *out = v;
  return TRUE;
}

static gboolean
parse_date_time (const char *p, char sep, int *y, int *mo, int *d, int *h, int *mi, int *sec)
{
  return digits (p, 4, y) && p[4] == '-' && digits (p + 5, 2, mo) && p[7] == '-' &&
         digits (p + 8, 2, d) && p[10] == sep && digits (p + 11, 2, h) && p[13] == ':' &&
         digits (p + 14, 2, mi) && p[16] == ':' && digits (p + 17, 2, sec) && *mo >= 1 &&
         *mo <= 12 && *d >= 1 && *d <= 31 && *h < 24 && *mi < 60 && *sec < 60;
}

static gboolean
parse_utc (const char *text, gint64 *out)
{
  int y, mo, d, h, mi, sec, us;
  if (text == NULL || strlen (text) != 27 ||
      !parse_date_time (text, 'T', &y, &mo, &d, &h, &mi, &sec) || text[19] != '.' ||
      !digits (text + 20, 6, &us) || text[26] != 'Z')
    return FALSE;
  gint64 s = days_from_civil (y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
  *out = s * G_USEC_PER_SEC + us;
  /* Only the one spelling the exporter writes. */
  char again[40];
  format_utc (*out, again);
  return g_str_equal (again, text);
}

/* The local column names the same second as the UTC one. */
static gboolean
local_matches (const char *text, gint64 time_us)
{
  int y, mo, d, h, mi, sec, oh, om;
  if (text == NULL || strlen (text) != 25 ||
      !parse_date_time (text, ' ', &y, &mo, &d, &h, &mi, &sec) ||
      (text[19] != '+' && text[19] != '-') || !digits (text + 20, 2, &oh) || text[22] != ':' ||
      !digits (text + 23, 2, &om))
    return FALSE;
  gint64 offset = (oh * 3600 + om * 60) * (text[19] == '-' ? -1 : 1);
  gint64 s, us;
  floor_split (time_us, &s, &us);
  return days_from_civil (y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset == s;
}

/* ---- the details object, flattened ------------------------------------ */

typedef struct
{
  gsize key; /* offsets into the arena, NUL-terminated */
  gsize value;
} Pair;

static const char *
skip_ws (const char *p)
{
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  return p;
}

static int
hex4 (const char *p)
{
  int v = 0;
  for (int i = 0; i < 4; i++)
    {
      int x = g_ascii_xdigit_value (p[i]);
      if (x < 0)
        return -1;
      v = v << 4 | x;
    }
  return v;
}

/* A JSON string at P (at its opening quote), unescaped into ARENA with a
 * NUL; returns the byte after the closing quote, or NULL. */
static const char *
json_string (const char *p, GString *arena)
{
  if (*p++ != '"')
    return NULL;
  for (;;)
    {
      guchar c = (guchar)*p;
      if (c == '"')
        {
          g_string_append_c (arena, '\0');
          return p + 1;
        }
      if (c < 0x20)
        return NULL;
      if (c != '\\')
        {
          /* The run of plain bytes up to the next quote, backslash or
           * control byte, in one copy. */
          const char *end = p + 1;
          while ((guchar)*end >= 0x20 && *end != '"' && *end != '\\')
            end++;
          g_string_append_len (arena, p, end - p);
          p = end;
          continue;
        }
      p++;
      switch (*p)
        {
        case '"':
        case '\\':
        case '/':
          g_string_append_c (arena, *p);
          break;
        case 'b':
          g_string_append_c (arena, '\b');
          break;
        case 'f':
          g_string_append_c (arena, '\f');
          break;
        case 'n':
          g_string_append_c (arena, '\n');
          break;
        case 'r':
          g_string_append_c (arena, '\r');
          break;
        case 't':
          g_string_append_c (arena, '\t');
          break;
        case 'u':
          {
            int u = hex4 (p + 1);
            if (u < 0)
              return NULL;
            p += 4;
            if (u >= 0xD800 && u <= 0xDBFF)
              {
                int lo = p[1] == '\\' && p[2] == 'u' ? hex4 (p + 3) : -1;
                if (lo < 0xDC00 || lo > 0xDFFF)
                  return NULL;
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
              }
            else if (u >= 0xDC00 && u <= 0xDFFF)
              return NULL;
            g_string_append_unichar (arena, (gunichar)u);
            break;
          }
        default:
          return NULL;
        }
      p++;
    }
}

/* Any other value at P, copied as its JSON text; returns its end. */
static const char *
json_raw_value (const char *p, GString *arena)
{
  const char *start = p;
  if (*p == '{' || *p == '[')
    {
      int depth = 0;
      gboolean in_string = FALSE;
      for (; *p != '\0'; p++)
        {
          if (in_string)
            {
              if (*p == '\\' && p[1] != '\0')
                p++;
              else if (*p == '"')
                in_string = FALSE;
              continue;
            }
          if (*p == '"')
            in_string = TRUE;
          else if (*p == '{' || *p == '[')
            depth++;
          else if ((*p == '}' || *p == ']') && --depth == 0)
            {
              p++;
              break;
            }
        }
      if (depth != 0)
        return NULL;
    }
  else
    while (*p != '\0' && *p != ',' && *p != '}' && *p != ' ' && *p != '\t' && *p != '\n' &&
           *p != '\r')
      p++;
  if (p == start)
    return NULL;
  g_string_append_len (arena, start, p - start);
  g_string_append_c (arena, '\0');
  return p;
}

/* The members of the object TEXT as (key, value) pairs in ARENA; a string
 * value unescaped, any other as its JSON text.  FALSE (and no pairs) when
 * TEXT is not one object. */
static gboolean
flatten (const char *text, GString *arena, GArray *pairs)
{
  g_string_truncate (arena, 0);
  g_array_set_size (pairs, 0);
  if (text == NULL)
    return FALSE;
  const char *p = skip_ws (text);
  if (*p++ != '{')
    return FALSE;
  p = skip_ws (p);
  if (*p == '}')
    return *skip_ws (p + 1) == '\0';
  for (;;)
    {
      Pair pair = { arena->len, 0 };
      p = json_string (p, arena);
      if (p == NULL)
        break;
      p = skip_ws (p);
      if (*p++ != ':')
        break;
      p = skip_ws (p);
      pair.value = arena->len;
      p = *p == '"' ? json_string (p, arena) : json_raw_value (p, arena);
      if (p == NULL)
        break;
      g_array_append_val (pairs, pair);
      p = skip_ws (p);
      if (*p == ',')
        {
          p = skip_ws (p + 1);
          continue;
        }
      if (*p == '}' && *skip_ws (p + 1) == '\0')
        return TRUE;
      break;
    }
  g_array_set_size (pairs, 0);
  return FALSE;
}

/* ---- writing ----------------------------------------------------------- */

/* VALUE in decimal, as "%" G_GINT64_FORMAT writes it (twice a row). */
static void
format_int (gint64 value, char out[24])
{
  char buf[24];
  char *p = buf + sizeof buf;
  guint64 v = value < 0 ? -(guint64)value : (guint64)value;
  do
    *--p = (char)('0' + v % 10);
  while ((v /= 10) > 0);
  if (value < 0)
    *--p = '-';
  gsize len = (gsize)(buf + sizeof buf - p);
  memcpy (out, p, len);
  out[len] = '\0';
}

static gboolean
needs_prefix (const char *value)
{
  return value[0] != '\0' && strchr ("=+-@\t\r'", value[0]) != NULL;
}

static void
csv_cell (GString *out, const char *value, gboolean last)
{
  if (value != NULL)
    {
      gboolean prefix = needs_prefix (value);
      if (prefix || value[0] == '\0' || strpbrk (value, ",\"\r\n") != NULL)
        {
          g_string_append_c (out, '"');
          if (prefix)
            g_string_append_c (out, '\'');
          /* Each quote doubled: the spans between them copied whole. */
          for (const char *p = value;;)
            {
              const char *q = strchr (p, '"');
              if (q == NULL)
                {
                  g_string_append (out, p);
                  break;
                }
              g_string_append_len (out, p, q - p + 1);
              g_string_append_c (out, '"');
              p = q + 1;
            }
          g_string_append_c (out, '"');
        }
      else
        g_string_append (out, value);
    }
  g_string_append (out, last ? "\r\n" : ",");
}

static const char columns_sql[] =
    "SELECT seq, time_us, event, outcome, reason, uid, login, role, station, case_id, "
    "package_id, device, details, prev_hash, entry_hash FROM journal WHERE seq <= ?1 ORDER BY seq";

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

/* Every key of every details object up to UPTO_SEQ, sorted. */
static GPtrArray *
detail_keys (SkDb *db, gint64 upto_seq, GCancellable *cancellable, GError **error)
{
  g_autoptr (SkDbStmt) stmt =
      sk_db_prepare (db, "SELECT details FROM journal WHERE seq <= ?1 ORDER BY seq", error);
  if (stmt == NULL)
    return NULL;
  sk_db_stmt_bind_int64 (stmt, 1, upto_seq);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GString) arena = g_string_sized_new (512);
  g_autoptr (GArray) pairs = g_array_new (FALSE, FALSE, sizeof (Pair));
  for (gint64 n = 0;; n++)
    {
      SkDbStep step = sk_db_stmt_step (stmt, error);
      if (step == SK_DB_STEP_ERROR)
        return NULL;
      if (step == SK_DB_STEP_DONE)
        break;
      if ((n & 0xfff) == 0 && g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      flatten (sk_db_stmt_column_text (stmt, 0), arena, pairs);
      for (guint i = 0; i < pairs->len; i++)
        {
          const char *key = arena->str + g_array_index (pairs, Pair, i).key;
          if (!g_hash_table_contains (seen, key))
            g_hash_table_add (seen, g_strdup (key));
        }
    }
  GPtrArray *keys = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init (&iter, seen);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_hash_table_iter_steal (&iter);
      g_ptr_array_add (keys, key);
    }
  g_ptr_array_sort (keys, compare_strings);
  return keys;
}

static gboolean
flush (GOutputStream *out, GString *s, gboolean force, GCancellable *cancellable, GError **error)
{
  if (s->len < FLUSH_AT && !force)
    return TRUE;
  if (!g_output_stream_write_all (out, s->str, s->len, NULL, cancellable, error))
    return FALSE;
  g_string_truncate (s, 0);
  return TRUE;
}

gboolean
sk_journal_csv_export (SkJournal *journal,
                       gint64 upto_seq,
                       SkJournalCsvHeaders headers,
                       GTimeZone *zone,
                       GOutputStream *out,
                       gint64 *out_rows,
                       GCancellable *cancellable,
                       GError **error)
{
  return sk_journal_csv_export_with_progress (journal, upto_seq, headers, zone, out, out_rows, NULL,
                                              cancellable, error);
}

/* Rows are told (and the cancellable looked at) this many at a time. */
#define EXPORT_STEP 0x1000

gboolean
sk_journal_csv_export_with_progress (SkJournal *journal,
                                     gint64 upto_seq,
                                     SkJournalCsvHeaders headers,
                                     GTimeZone *zone,
                                     GOutputStream *out,
                                     gint64 *out_rows,
                                     SkProgress *progress,
                                     GCancellable *cancellable,
                                     GError **error)
{
  g_return_val_if_fail (SK_IS_JOURNAL (journal), FALSE);
  g_return_val_if_fail (zone != NULL, FALSE);

  /* The rows up to UPTO_SEQ of a journal of HEAD rows. */
  gint64 head = 0;
  if (progress != NULL && (!sk_journal_head (journal, &head, NULL, error) ||
                           !sk_progress_begin (progress, SK_PROGRESS_PHASE_JOURNAL,
                                               (guint64)MAX (0, MIN (upto_seq, head)), error)))
    return FALSE;
  SkDb *db = sk_journal_get_db (journal);
  g_autoptr (GPtrArray) keys = detail_keys (db, upto_seq, cancellable, error);
  if (keys == NULL)
    return FALSE;
  g_autoptr (GHashTable) key_index = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < keys->len; i++)
    g_hash_table_insert (key_index, g_ptr_array_index (keys, i), GUINT_TO_POINTER (i + 1));

  g_autoptr (GString) s = g_string_sized_new (FLUSH_AT + 4096);
  const char *const *names = headers == SK_JOURNAL_CSV_JAPANESE ? japanese : english;
  const char *prefix = detail_prefix[headers == SK_JOURNAL_CSV_JAPANESE];
  g_string_append (s, BOM);
  for (int c = 0; c < N_FIXED; c++)
    csv_cell (s, names[c], c == N_FIXED - 1 && keys->len == 0);
  for (guint i = 0; i < keys->len; i++)
    {
      g_autofree char *name = g_strconcat (prefix, g_ptr_array_index (keys, i), NULL);
      csv_cell (s, name, i + 1 == keys->len);
    }

  g_autoptr (SkDbStmt) stmt = sk_db_prepare (db, columns_sql, error);
  if (stmt == NULL)
    return FALSE;
  sk_db_stmt_bind_int64 (stmt, 1, upto_seq);
  g_autoptr (GString) arena = g_string_sized_new (512);
  g_autoptr (GArray) pairs = g_array_new (FALSE, FALSE, sizeof (Pair));
  g_autofree const char **values = g_new0 (const char *, keys->len + 1);
  gint64 rows = 0;
  for (;;)
    {
      SkDbStep step = sk_db_stmt_step (stmt, error);
      if (step == SK_DB_STEP_ERROR)
        return FALSE;
      if (step == SK_DB_STEP_DONE)
        break;
      if ((rows % EXPORT_STEP) == 0 &&
          (g_cancellable_set_error_if_cancelled (cancellable, error) ||
           !sk_progress_add (progress, rows > 0 ? EXPORT_STEP : 0, error)))
        return FALSE;
      rows++;

      char seq[24], uid[24], utc[40], local[40];
      gint64 time_us = sk_db_stmt_column_int64 (stmt, 1);
      format_int (sk_db_stmt_column_int64 (stmt, 0), seq);
      format_int (sk_db_stmt_column_int64 (stmt, 5), uid);
      format_utc (time_us, utc);
      format_local (zone, time_us, local);
      csv_cell (s, seq, FALSE);
      csv_cell (s, utc, FALSE);
      csv_cell (s, local, FALSE);
      for (int col = 2; col <= 4; col++)
        csv_cell (s, sk_db_stmt_column_text (stmt, col), FALSE);
      csv_cell (s, sk_db_stmt_column_is_null (stmt, 5) ? NULL : uid, FALSE);
      for (int col = 6; col <= 12; col++)
        csv_cell (s, sk_db_stmt_column_text (stmt, col), FALSE);
      csv_cell (s, sk_db_stmt_column_text (stmt, 13), FALSE);
      csv_cell (s, sk_db_stmt_column_text (stmt, 14), keys->len == 0);

      memset (values, 0, sizeof *values * keys->len);
      flatten (sk_db_stmt_column_text (stmt, 12), arena, pairs);
      for (guint i = 0; i < pairs->len; i++)
        {
          const Pair *pair = &g_array_index (pairs, Pair, i);
          guint at = GPOINTER_TO_UINT (g_hash_table_lookup (key_index, arena->str + pair->key));
          if (at > 0 && values[at - 1] == NULL)
            values[at - 1] = arena->str + pair->value;
        }
      for (guint i = 0; i < keys->len; i++)
        csv_cell (s, values[i], i + 1 == keys->len);
      if (!flush (out, s, FALSE, cancellable, error))
        return FALSE;
    }
  if (!flush (out, s, TRUE, cancellable, error))
    return FALSE;
  if (out_rows != NULL)
    *out_rows = rows;
  return sk_progress_add (progress, rows > 0 ? (guint64)((rows - 1) % EXPORT_STEP + 1) : 0, error);
}

/* ---- reading ----------------------------------------------------------- */

typedef struct
{
  GInputStream *in;
  GCancellable *cancellable;
  char buf[65536];
  gsize pos, len;
  gboolean eof;
  /* The current record: its cells, NUL-terminated, in one arena. */
  GString *arena;
  GArray *cells; /* Cell */
} Reader;

typedef struct
{
  gsize offset;
  gboolean quoted;
} Cell;

/* The next byte, or -1 at the end; -2 on a read error. */
static int
refill (Reader *r, GError **error);

static inline int
next_byte (Reader *r, GError **error)
{
  if (G_LIKELY (r->pos < r->len))
    return (guchar)r->buf[r->pos++];
  return refill (r, error);
}

static int
refill (Reader *r, GError **error)
{
  if (r->pos == r->len)
    {
      if (r->eof)
        return -1;
      gssize n = g_input_stream_read (r->in, r->buf, sizeof r->buf, r->cancellable, error);
      if (n < 0)
        return -2;
      if (n == 0)
        {
          r->eof = TRUE;
          return -1;
        }
      r->pos = 0;
      r->len = (gsize)n;
    }
  return (guchar)r->buf[r->pos++];
}

static int
peek_byte (Reader *r, GError **error)
{
  int c = next_byte (r, error);
  if (c >= 0)
    r->pos--;
  return c;
}

typedef enum
{
  READ_RECORD,
  READ_END,
  READ_MALFORMED,
  READ_ERROR,
} ReadResult;

static void
end_cell (Reader *r, gsize start, gboolean quoted)
{
  Cell cell = { start, quoted };
  g_string_append_c (r->arena, '\0');
  g_array_append_val (r->cells, cell);
}

/* One record: cells split at commas, quoted cells with "" inside, ended by
 * CRLF (or LF, or the end of the file). */
static ReadResult
read_record (Reader *r, GError **error)
{
  g_string_truncate (r->arena, 0);
  g_array_set_size (r->cells, 0);
  int c = next_byte (r, error);
  if (c == -2)
    return READ_ERROR;
  if (c == -1)
    return READ_END;
  for (;;)
    {
      gsize start = r->arena->len;
      gboolean quoted = c == '"';
      if (quoted)
        {
          for (;;)
            {
              c = next_byte (r, error);
              if (c == -2)
                return READ_ERROR;
              if (c == -1)
                return READ_MALFORMED;
              if (c == '"')
                {
                  int after = peek_byte (r, error);
                  if (after == -2)
                    return READ_ERROR;
                  if (after != '"')
                    break;
                  next_byte (r, error);
                }
              if (r->arena->len > MAX_RECORD)
                return READ_MALFORMED;
              g_string_append_c (r->arena, (char)c);
              /* Up to the next quote within the buffer, in one copy. */
              const char *q = memchr (r->buf + r->pos, '"', r->len - r->pos);
              gsize end = q != NULL ? (gsize)(q - r->buf) : r->len;
              g_string_append_len (r->arena, r->buf + r->pos, (gssize)(end - r->pos));
              r->pos = end;
            }
          c = next_byte (r, error);
        }
      else
        while (c >= 0 && c != ',' && c != '\r' && c != '\n')
          {
            if (c == '"' || r->arena->len > MAX_RECORD)
              return READ_MALFORMED;
            g_string_append_c (r->arena, (char)c);
            /* The rest of the cell within the buffer, in one copy. */
            gsize end = r->pos;
            while (end < r->len && r->buf[end] != ',' && r->buf[end] != '\r' &&
                   r->buf[end] != '\n' && r->buf[end] != '"')
              end++;
            g_string_append_len (r->arena, r->buf + r->pos, (gssize)(end - r->pos));
            r->pos = end;
            c = next_byte (r, error);
          }
      if (c == -2)
        return READ_ERROR;
      if (r->arena->len > MAX_RECORD || r->cells->len > N_FIXED + MAX_DETAIL_COLUMNS)
        return READ_MALFORMED;
      end_cell (r, start, quoted);
      if (c == ',')
        {
          c = next_byte (r, error);
          if (c == -2)
            return READ_ERROR;
          if (c == -1 || c == '\r' || c == '\n')
            {
              /* A trailing comma: one more, empty cell. */
              end_cell (r, r->arena->len, FALSE);
            }
          else
            continue;
        }
      if (c == '\r')
        {
          c = next_byte (r, error);
          if (c != '\n')
            return c == -2 ? READ_ERROR : READ_MALFORMED;
        }
      return READ_RECORD;
    }
}

/* Cell I of the current record as the exporter's value: NULL for an empty
 * unquoted cell, the formula guard taken off. */
static const char *
cell_value (Reader *r, guint i)
{
  const Cell *cell = &g_array_index (r->cells, Cell, i);
  const char *text = r->arena->str + cell->offset;
  if (!cell->quoted)
    return text[0] == '\0' ? NULL : text;
  if (text[0] == '\'' && needs_prefix (text + 1))
    return text + 1;
  return text;
}

static gboolean
strict_int (const char *text, gboolean allow_null, gint64 *out)
{
  if (text == NULL)
    return allow_null;
  const char *p = text;
  if (*p == '-')
    p++;
  if (*p == '\0' || (*p == '0' && p[1] != '\0') || strlen (p) > 18)
    return FALSE;
  for (const char *q = p; *q != '\0'; q++)
    if (!g_ascii_isdigit (*q))
      return FALSE;
  *out = g_ascii_strtoll (text, NULL, 10);
  return TRUE;
}

static gboolean
bad (SkJournalCsvCheck *check, gint64 row, gint64 seq, GError **error, const char *why)
{
  check->bad_row = row;
  check->bad_seq = seq;
  g_set_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID,
               _ ("the exported record fails verification at row %lld (seq %lld): %s"),
               (long long)row, (long long)seq, why);
  return FALSE;
}

/* The header row: the fixed columns in English or in Japanese, then the
 * details' keys.  Fills KEYS (column → key, borrowed from HEADER). */
static gboolean
read_header (Reader *r, GPtrArray *keys)
{
  if (r->cells->len < N_FIXED)
    return FALSE;
  const char *first = r->arena->str;
  /* The byte-order mark belongs to the file, not to the first cell. */
  if (g_str_has_prefix (first, BOM))
    g_array_index (r->cells, Cell, 0).offset += strlen (BOM);
  for (int lang = 0; lang < 2; lang++)
    {
      const char *const *names = lang == 0 ? english : japanese;
      gboolean match = TRUE;
      for (int c = 0; c < N_FIXED && match; c++)
        match = g_strcmp0 (cell_value (r, c), names[c]) == 0;
      if (!match)
        continue;
      g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
      for (guint c = N_FIXED; c < r->cells->len; c++)
        {
          const char *name = cell_value (r, c);
          if (name == NULL || !g_str_has_prefix (name, detail_prefix[lang]))
            return FALSE;
          const char *key = name + strlen (detail_prefix[lang]);
          if (!g_hash_table_add (seen, (gpointer)key))
            return FALSE;
          g_ptr_array_add (keys, g_strdup (key));
        }
      return TRUE;
    }
  return FALSE;
}

gboolean
sk_journal_csv_verify (GInputStream *in,
                       gint64 cp_seq,
                       const char *cp_head,
                       const char *cp_station,
                       SkJournalCsvCheck *check,
                       GCancellable *cancellable,
                       GError **error)
{
  g_return_val_if_fail (G_IS_INPUT_STREAM (in), FALSE);
  g_return_val_if_fail (cp_head != NULL && cp_station != NULL && check != NULL, FALSE);

  *check = (SkJournalCsvCheck){ 0 };
  g_autofree Reader *r = g_new0 (Reader, 1);
  r->in = in;
  r->cancellable = cancellable;
  g_autoptr (GString) arena = g_string_sized_new (4096);
  g_autoptr (GArray) cells = g_array_new (FALSE, FALSE, sizeof (Cell));
  r->arena = arena;
  r->cells = cells;

  ReadResult got = read_record (r, error);
  if (got == READ_ERROR)
    return FALSE;
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  if (got != READ_RECORD || !read_header (r, keys))
    return bad (check, 1, 0, error, _ ("the header row is not that of a Sekisho record"));
  g_autoptr (GHashTable) key_index = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < keys->len; i++)
    g_hash_table_insert (key_index, g_ptr_array_index (keys, i), GUINT_TO_POINTER (i + 1));
  guint n_cells = N_FIXED + keys->len;

  g_autoptr (GString) scratch = g_string_sized_new (512);
  g_autoptr (GString) flat = g_string_sized_new (512);
  g_autoptr (GArray) pairs = g_array_new (FALSE, FALSE, sizeof (Pair));
  g_autofree const char **values = g_new0 (const char *, keys->len + 1);
  char expect_prev[65] = SK_JOURNAL_ZERO_HASH;
  char hash[65];
  g_autoptr (GString) last_station = g_string_new (NULL);
  gboolean any_row = FALSE;
  gint64 row_no = 1;

  for (;;)
    {
      got = read_record (r, error);
      if (got == READ_ERROR)
        return FALSE;
      if (got == READ_END)
        break;
      row_no++;
      gint64 expect_seq = check->rows + 1;
      if ((row_no & 0xfff) == 0 && g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (got == READ_MALFORMED || r->cells->len != n_cells)
        return bad (check, row_no, expect_seq, error,
                    _ ("the row is not well-formed CSV with the header's columns"));

      SkJournalRow row = { 0 };
      gint64 seq = 0, uid = -1;
      if (!strict_int (cell_value (r, COL_SEQ), FALSE, &seq))
        return bad (check, row_no, expect_seq, error, _ ("its seq is not a number"));
      if (seq != expect_seq)
        return bad (check, row_no, expect_seq, error,
                    seq <= cp_seq ? _ ("a row is missing, inserted or out of order")
                                  : _ ("the row is beyond the checkpoint"));
      if (seq > cp_seq)
        return bad (check, row_no, seq, error, _ ("the row is beyond the checkpoint"));
      row.seq = seq;
      if (!parse_utc (cell_value (r, COL_TIME_UTC), &row.time_us))
        return bad (check, row_no, seq, error, _ ("its UTC time is malformed"));
      if (!local_matches (cell_value (r, COL_TIME_LOCAL), row.time_us))
        return bad (check, row_no, seq, error, _ ("its local time differs from its UTC time"));
      if (!strict_int (cell_value (r, COL_UID), TRUE, &uid) || uid < -1 ||
          (cell_value (r, COL_UID) != NULL && uid < 0))
        return bad (check, row_no, seq, error, _ ("its uid is not a number"));
      row.uid = uid;
      row.event = (char *)cell_value (r, COL_EVENT);
      row.outcome = (char *)cell_value (r, COL_OUTCOME);
      row.reason = (char *)cell_value (r, COL_REASON);
      row.login = (char *)cell_value (r, COL_LOGIN);
      row.role = (char *)cell_value (r, COL_ROLE);
      row.station = (char *)cell_value (r, COL_STATION);
      row.case_id = (char *)cell_value (r, COL_CASE);
      row.package_id = (char *)cell_value (r, COL_PACKAGE);
      row.device = (char *)cell_value (r, COL_DEVICE);
      row.details = (char *)cell_value (r, COL_DETAILS);
      row.prev_hash = (char *)cell_value (r, COL_PREV_HASH);
      row.entry_hash = (char *)cell_value (r, COL_ENTRY_HASH);

      if (row.event == NULL || row.outcome == NULL || row.station == NULL || row.details == NULL ||
          row.prev_hash == NULL || row.entry_hash == NULL)
        return bad (check, row_no, seq, error, _ ("a required column is empty"));
      if (!g_str_equal (row.prev_hash, expect_prev))
        return bad (check, row_no, seq, error, _ ("it does not follow the row before it"));
      if (!_sk_journal_chain_hash (scratch, &row, hash) || !g_str_equal (hash, row.entry_hash))
        return bad (check, row_no, seq, error, _ ("its contents do not match its hash"));

      /* The readable columns say what the hashed details say. */
      memset (values, 0, sizeof *values * keys->len);
      flatten (row.details, flat, pairs);
      for (guint i = 0; i < pairs->len; i++)
        {
          const Pair *pair = &g_array_index (pairs, Pair, i);
          guint at = GPOINTER_TO_UINT (g_hash_table_lookup (key_index, flat->str + pair->key));
          if (at == 0)
            return bad (check, row_no, seq, error, _ ("its details hold a key that has no column"));
          if (values[at - 1] == NULL)
            values[at - 1] = flat->str + pair->value;
        }
      for (guint i = 0; i < keys->len; i++)
        if (g_strcmp0 (values[i], cell_value (r, N_FIXED + i)) != 0)
          return bad (check, row_no, seq, error,
                      _ ("a details column differs from the details it was taken from"));

      g_strlcpy (expect_prev, row.entry_hash, sizeof expect_prev);
      g_string_assign (last_station, row.station);
      any_row = TRUE;
      check->rows++;
    }

  if (check->rows < cp_seq)
    return bad (check, row_no + 1, check->rows + 1, error,
                _ ("the record ends before the checkpoint's last entry: rows were cut from its "
                   "end"));
  if (cp_seq > 0 && !g_str_equal (expect_prev, cp_head))
    return bad (check, row_no, cp_seq, error,
                _ ("its last row is not the head the checkpoint signed"));
  if (any_row && !g_str_equal (last_station->str, cp_station))
    return bad (check, row_no, cp_seq, error, _ ("its rows are of another station"));
  return TRUE;
}
