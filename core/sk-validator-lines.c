/* sk-validator-lines.c — the hot loop: bytes to lines, lines to records' fields
 *
 * Chunks are cut into lines (one line of carry-over between them); a line's
 * first byte selects its layout and its place in the file's order, and each
 * field is checked for its type and repertoire, in P1 (fixed-length
 * Shift_JIS) or P2 (CSV in UTF-8).  The checks of a field's type stay in
 * this file, inlined as they were; a field's further rules were out of line
 * already (sk-validator-rules.c), and per record one call goes out, for the
 * checks across fields and records (sk-validator-records.c).
 */
#define G_LOG_DOMAIN "sekisho-validator"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk-charset.h"
#include "sk-policy-private.h"
#include "sk-record-plan.h"
#include "sk-validator-private.h"
#include "sk-validator.h"

/* ---- the rules of one field, shared by P1 and P2 ------------------------ */

/* Blank and missing, for every field; the rest only for the fields that
 * have rules.  Inlined into the field checks: most fields end here. */
G_ALWAYS_INLINE static inline void
check_rules (SkValidator *v, const SkFieldPlan *fp, SkValue *val, guint64 record)
{
  if (fp->blank)
    {
      if (!val->blank)
        _sk_validator_add_finding (v, SK_ERROR_CODE_VALUE, record, fp->field);
      else
        val->ok = TRUE;
      return;
    }
  /* A P1 field of type 9 is zero-filled: zeros are a value unless the field
   * may be blank.  Everywhere else blank means absent. */
  if (val->blank && (fp->optional || fp->type != SK_FIELD_DIGITS || val->len == 0))
    {
      /* Conditions and groups decide later whether blank was allowed. */
      if (!fp->optional)
        _sk_validator_add_finding (v, SK_ERROR_FIELD_MISSING, record, fp->field);
      else
        val->ok = TRUE;
      return;
    }
  val->blank = FALSE;
  /* Most fields have no rule beyond their type. */
  if (!fp->has_rules)
    val->ok = TRUE;
  else
    _sk_validator_check_value_rules (v, fp, val, record);
}

/* ---- P1: fixed-length Shift_JIS ---------------------------------------- */

/* The length of P without its trailing padding, where the padding unit of
 * UNIT bytes (1 or 2) repeats to fill PATTERN (read little-endian).  Padding
 * is compared from the end 32 bytes at a time while it lasts (an address is
 * mostly padding), then eight; the last few padding bytes are counted in
 * the word that ends there rather than byte by byte, whose branch would
 * guess wrong on nearly every field.  Inlined, so that UNIT and PATTERN
 * are constants: the whole units of SAME are then a mask, not a division. */
G_ALWAYS_INLINE static inline guint
trimmed_length (const guint8 *p, guint len, guint64 pattern, guint unit)
{
  guint end = len;

  g_assert (unit == 1 || unit == 2);
  while (end >= 32)
    {
      guint64 w[4];
      memcpy (w, p + end - 32, 32);
      if (((w[0] ^ pattern) | (w[1] ^ pattern) | (w[2] ^ pattern) | (w[3] ^ pattern)) != 0)
        break;
      end -= 32;
    }
  while (end >= 8)
    {
      guint64 word;
      memcpy (&word, p + end - 8, 8);
      guint64 diff = word ^ pattern;
      if (diff != 0)
        {
          /* The bytes that match from the top down, in whole units. */
          guint same = (guint)__builtin_clzll (diff) / 8;
          return end - (same & ~(unit - 1));
        }
      end -= 8;
    }
  const guint8 *unit_bytes = (const guint8 *)&pattern;
  while (end >= unit && p[end - unit] == unit_bytes[0] &&
         (unit == 1 || p[end - unit + 1] == unit_bytes[1]))
    end -= unit;
  return end;
}

/* What a Shift_JIS double-byte code outside JIS X 0208 is. */
static const char *
classify_sjis (guint8 b1, guint8 b2)
{
  if (b1 >= 0xF0 && b1 <= 0xF9)
    return "user-defined";
  if (b1 >= 0xFA)
    return "ibm-extension";
  if (b1 == 0xED || b1 == 0xEE)
    return "nec-selected-ibm-extension";
  if (b1 == 0x87)
    return "nec-special";
  return "unassigned";
}

/* Why a P1 field failed its type: bytes outside the repertoire (encoding,
 * with what kind of character in *DETAIL), or valid characters of the wrong
 * kind for the field (field-type). */
static SkErrorCode
classify_p1 (const guint8 *p, guint len, const char **detail)
{
  *detail = NULL;
  for (guint i = 0; i < len;)
    {
      guint8 b = p[i];
      if (_sk_validator_p1_class[b] != 0)
        {
          i++;
          continue;
        }
      if (i + 1 < len && sk_sjis_is_double_byte (b, p[i + 1]))
        {
          if (!sk_sjis_is_jisx0208 (b, p[i + 1]))
            {
              *detail = classify_sjis (b, p[i + 1]);
              return SK_ERROR_ENCODING;
            }
          i += 2;
          continue;
        }
      *detail = b < 0x20 || b == 0x7F ? "control" : "not-shift-jis";
      return SK_ERROR_ENCODING;
    }
  return SK_ERROR_FIELD_TYPE;
}

/* Eight bytes at a time: a byte is a digit when it is 0x30..0x39, i.e.
 * neither it minus 0x30 nor it plus 0x46 has its top bit set.  A carry or
 * borrow can only start at a byte that is itself no digit, so a word is
 * judged right as a whole.  Returns the top bits of the bytes that are not
 * digits (0: all are); *NONZERO collects the bits of bytes other than '0'. */
#define DIGIT_ZEROS G_GUINT64_CONSTANT (0x3030303030303030)

static guint64
word_not_digits (guint64 w, guint64 *nonzero)
{
  *nonzero |= w ^ DIGIT_ZEROS;
  return ((w - DIGIT_ZEROS) | (w + G_GUINT64_CONSTANT (0x4646464646464646)) | w) &
         G_GUINT64_CONSTANT (0x8080808080808080);
}

/* A P1 digit field by its plan: whole words, then the last bytes as one
 * word of the record whose other bytes are replaced by '0' (so that they
 * neither count nor carry).  No load leaves the record. */
static void
scan_digits_wordwise (const SkFieldPlan *fp, const guint8 *rec, gboolean *bad, gboolean *blank)
{
  const guint8 *p = rec + fp->offset;
  guint64 notdigit = 0, nonzero = 0, w;

  for (guint i = 0; i < fp->n_words; i++)
    {
      memcpy (&w, p + 8 * i, 8);
      notdigit |= word_not_digits (w, &nonzero);
    }
  if (fp->tail_mask != 0)
    {
      memcpy (&w, rec + fp->tail_at, 8);
      w = (w & fp->tail_mask) | (DIGIT_ZEROS & ~fp->tail_mask);
      notdigit |= word_not_digits (w, &nonzero);
    }
  *bad = notdigit != 0;
  *blank = nonzero == 0;
}

/* The same, byte by byte after the whole words, for a record too short for
 * the plan's loads. */
static void
scan_digits (const guint8 *p, guint len, gboolean *bad, gboolean *blank)
{
  guint64 notdigit = 0, nonzero = 0, w;
  gboolean byte_bad = FALSE;
  guint i = 0;

  for (; i + 8 <= len; i += 8)
    {
      memcpy (&w, p + i, 8);
      notdigit |= word_not_digits (w, &nonzero);
    }
  for (; i < len; i++)
    {
      byte_bad |= (guint8)(p[i] - '0') > 9;
      nonzero |= p[i] ^ '0';
    }
  *bad = byte_bad || notdigit != 0;
  *blank = nonzero == 0;
}

static void
check_p1_field (
    SkValidator *v, const SkFieldPlan *fp, const guint8 *rec, SkValue *val, guint64 record)
{
  const guint8 *p = rec + fp->offset;
  guint len = fp->length;
  gboolean bad = FALSE;
  gboolean kana_bad = FALSE;

  val->p = p;
  val->len = len;
  val->ok = FALSE;

  switch (fp->type)
    {
    case SK_FIELD_DIGITS:
      if (fp->wordwise)
        scan_digits_wordwise (fp, rec, &bad, &val->blank);
      else
        scan_digits (p, len, &bad, &val->blank);
      val->trimmed = len;
      break;
    case SK_FIELD_HALF:
      {
        guint8 allowed = fp->halfwidth_kana ? (P1_ASCII | P1_KANA) : P1_ASCII;
        guint last = trimmed_length (p, len, G_GUINT64_CONSTANT (0x2020202020202020), 1);
        for (guint i = 0; i < last; i++)
          bad |= (_sk_validator_p1_class[p[i]] & allowed) == 0;
        val->trimmed = last;
        val->blank = last == 0;
      }
      break;
    case SK_FIELD_FULL:
      {
        /* Most of a name or an address is 全角スペース padding: compare it
         * eight bytes at a time, and look up only the characters before it,
         * in one pass for the repertoire and (カナ fields) the katakana. */
        guint last = trimmed_length (p, len, G_GUINT64_CONSTANT (0x4081408140814081), 2);
        guint all = SJIS_JISX0208 | SJIS_FULLWIDTH_KANA;
        for (guint i = 0; i + 1 < last; i += 2)
          all &= _sk_validator_sjis_class[(guint)p[i] << 8 | p[i + 1]];
        bad = (all & SJIS_JISX0208) == 0;
        kana_bad = fp->kana && !bad && (all & SJIS_FULLWIDTH_KANA) == 0;
        val->trimmed = last;
        val->blank = last == 0;
      }
      break;
    }

  if (bad)
    {
      const char *detail;
      SkErrorCode code = classify_p1 (p, len, &detail);
      _sk_validator_add_finding_detail (v, code, record, fp->field, detail);
      return;
    }
  if (kana_bad)
    {
      _sk_validator_add_finding (v, SK_ERROR_FIELD_TYPE, record, fp->field);
      return;
    }
  check_rules (v, fp, val, record);
}

/* ---- P2: CSV in UTF-8 -------------------------------------------------- */

static void
check_p2_field (
    SkValidator *v, const SkFieldPlan *fp, const guint8 *p, guint len, SkValue *val, guint64 record)
{
  const SkField *f = fp->field;
  guint chars = 0;
  gboolean ascii_only = TRUE, digits_only = TRUE, quote = FALSE, kana_bad = FALSE;

  val->p = p;
  val->len = len;
  val->trimmed = len;
  val->blank = len == 0;
  val->ok = FALSE;

  for (guint i = 0; i < len;)
    {
      guint8 b = p[i];
      if (b >= 0x20 && b < 0x7F)
        {
          digits_only &= (guint8)(b - '0') <= 9;
          quote |= b == '"';
          kana_bad |= f->kana;
          chars++;
          i++;
          continue;
        }
      gunichar c;
      gsize n = sk_utf8_decode (p + i, len - i, &c);
      if (n == 0 || c < 0x20 || (c >= 0x7F && c < 0xA0) || !sk_unicode_is_jisx0213 (c))
        {
          const char *detail = n == 0                                ? "not-utf-8"
                               : c < 0x20 || (c >= 0x7F && c < 0xA0) ? "control"
                               : (c >= 0xE000 && c <= 0xF8FF) || c >= 0xF0000
                                   ? "private-use"
                                   : "outside-jis-x-0213";
          _sk_validator_add_finding_detail (v, SK_ERROR_ENCODING, record, f, detail);
          return;
        }
      ascii_only = FALSE;
      digits_only = FALSE;
      if (f->kana && !sk_unicode_is_fullwidth_kana (c))
        kana_bad = TRUE;
      chars++;
      i += (guint)n;
    }

  switch (f->type)
    {
    case SK_FIELD_DIGITS:
      if (!digits_only)
        {
          _sk_validator_add_finding (v, SK_ERROR_FIELD_TYPE, record, f);
          return;
        }
      if (len > 0 && (f->variable ? len > f->length : len != f->length))
        {
          _sk_validator_add_finding (v, SK_ERROR_FIELD_LENGTH, record, f);
          return;
        }
      break;
    case SK_FIELD_HALF:
      if (!ascii_only || quote)
        {
          _sk_validator_add_finding (v, SK_ERROR_FIELD_TYPE, record, f);
          return;
        }
      if (chars > f->length)
        {
          _sk_validator_add_finding (v, SK_ERROR_FIELD_LENGTH, record, f);
          return;
        }
      break;
    case SK_FIELD_FULL:
      if (quote || kana_bad)
        {
          _sk_validator_add_finding (v, SK_ERROR_FIELD_TYPE, record, f);
          return;
        }
      if (chars > f->length)
        {
          _sk_validator_add_finding (v, SK_ERROR_FIELD_LENGTH, record, f);
          return;
        }
      break;
    }
  check_rules (v, fp, val, record);
}

/* ---- lines and records ------------------------------------------------- */

static const SkRecordPlan *
plan_for (SkValidator *v, guint8 type_char)
{
  for (SkRecordType t = SK_RECORD_HEADER; t < SK_N_RECORDS; t++)
    if (v->kind->records[t]->type_char == type_char)
      return v->plans[t];
  return NULL;
}

/* Record order: one header, data, one trailer, one end.  Returns the plan
 * of the layout to check the record against, or NULL when its type is
 * unknown. */
static const SkRecordPlan *
check_order (SkValidator *v, guint8 type_char, guint64 record)
{
  const SkRecordPlan *plan = plan_for (v, type_char);
  int expected_state;
  int next_state;

  if (plan == NULL)
    {
      _sk_validator_add_finding (v, SK_ERROR_RECORD_ORDER, record, NULL);
      return NULL;
    }
  switch (plan->layout->type)
    {
    case SK_RECORD_HEADER:
      expected_state = STATE_START, next_state = STATE_HEADER;
      break;
    case SK_RECORD_DATA:
      expected_state = STATE_HEADER, next_state = STATE_HEADER;
      break;
    case SK_RECORD_TRAILER:
      expected_state = STATE_HEADER, next_state = STATE_TRAILER;
      break;
    case SK_RECORD_END:
    default:
      expected_state = STATE_TRAILER, next_state = STATE_END;
      break;
    }
  if (v->state != expected_state)
    _sk_validator_add_finding (v, SK_ERROR_RECORD_ORDER, record, NULL);
  else
    v->state = next_state;
  return plan;
}

static void
unreadable_record (SkValidator *v, const SkRecordPlan *plan)
{
  if (plan != NULL && plan->layout->type == SK_RECORD_DATA)
    {
      v->report->records++;
      v->data_unreadable = TRUE;
    }
}

/* LINE includes its LF. */
static void
process_p1_line (SkValidator *v, const guint8 *line, gsize len)
{
  guint64 record = ++v->record_no;

  if (len < 2 || line[len - 2] != '\r')
    {
      _sk_validator_add_finding (v, SK_ERROR_LINE_ENDING, record, NULL);
      if (len > 1)
        unreadable_record (v, check_order (v, line[0], record));
      return;
    }
  const SkRecordPlan *plan = check_order (v, line[0], record);
  if (len != v->kind->record_length)
    {
      _sk_validator_add_finding (v, SK_ERROR_RECORD_LENGTH, record, NULL);
      unreadable_record (v, plan);
      return;
    }
  if (plan == NULL)
    return;

  for (guint i = 0; i < plan->n_fields; i++)
    check_p1_field (v, &plan->fields[i], line, &v->values[i], record);
  _sk_validator_finish_record (v, plan, record);
}

static void
process_p2_line (SkValidator *v, const guint8 *line, gsize len)
{
  guint64 record = ++v->record_no;
  const guint8 *bounds[SK_MAX_FIELDS + 1];
  guint n = 0;

  if (len < 2 || line[len - 2] != '\r')
    {
      _sk_validator_add_finding (v, SK_ERROR_LINE_ENDING, record, NULL);
      return;
    }
  len -= 2;
  if (record == 1 && len >= 3 && memcmp (line, "\xEF\xBB\xBF", 3) == 0)
    {
      /* A byte-order mark: P2 is UTF-8 without one. */
      _sk_validator_add_finding_detail (v, SK_ERROR_ENCODING, record, NULL, "byte-order-mark");
      line += 3;
      len -= 3;
    }
  if (len == 0)
    {
      _sk_validator_add_finding (v, SK_ERROR_RECORD_LENGTH, record, NULL);
      return;
    }

  const SkRecordPlan *plan = check_order (v, line[0], record);
  if (plan == NULL)
    return;
  const SkRecordLayout *layout = plan->layout;

  /* Split on commas; no quoting in P2. */
  bounds[n++] = line;
  for (const guint8 *p = line, *end = line + len; p < end;)
    {
      const guint8 *comma = memchr (p, ',', (gsize)(end - p));
      if (comma == NULL)
        break;
      if (n > layout->fields->len)
        break;
      bounds[n++] = comma + 1;
      p = comma + 1;
    }
  if (n != layout->fields->len)
    {
      _sk_validator_add_finding (v, SK_ERROR_RECORD_LENGTH, record, NULL);
      unreadable_record (v, plan);
      return;
    }
  for (guint i = 0; i < n; i++)
    {
      const guint8 *start = bounds[i];
      const guint8 *stop = i + 1 < n ? bounds[i + 1] - 1 : line + len;
      check_p2_field (v, &plan->fields[i], start, (guint)(stop - start), &v->values[i], record);
    }
  _sk_validator_finish_record (v, plan, record);
}

static void
process_line (SkValidator *v, const guint8 *line, gsize len)
{
  if (v->stopped)
    return;
  if (v->state == STATE_END)
    {
      /* Nothing may follow the end record. */
      _sk_validator_add_finding (v, SK_ERROR_RECORD_ORDER, ++v->record_no, NULL);
      v->stopped = TRUE;
      return;
    }
  if (v->kind->profile == SK_PROFILE_P1)
    process_p1_line (v, line, len);
  else
    process_p2_line (v, line, len);
}

/* A line longer than any record may be: reported once, then skipped up to
 * its LF so that memory stays bounded. */
static void
overlong_line (SkValidator *v, guint8 first_byte)
{
  _sk_validator_add_finding (v, SK_ERROR_RECORD_LENGTH, ++v->record_no, NULL);
  if (v->state != STATE_END)
    unreadable_record (v, plan_for (v, first_byte));
  g_byte_array_set_size (v->carry, 0);
  v->skipping = TRUE;
}

gboolean
sk_validator_feed (SkValidator *v, const guint8 *data, gsize len)
{
  g_return_val_if_fail (v != NULL, FALSE);

  if (v->stopped)
    return FALSE;
  if (len == 0)
    return TRUE;

  v->report->size += len;
  if (v->report->size > v->kind->max_size)
    {
      _sk_validator_add_finding (v, SK_ERROR_FILE_TOO_LARGE, 0, NULL);
      v->stopped = TRUE;
      return FALSE;
    }

  const guint8 *p = data, *end = data + len;
  guint cap = v->max_line;

  /* Finish the line begun in an earlier chunk. */
  if (v->carry->len > 0 || v->skipping)
    {
      const guint8 *lf = memchr (p, '\n', (gsize)(end - p));
      gsize take = lf != NULL ? (gsize)(lf - p) + 1 : (gsize)(end - p);
      if (v->skipping)
        {
          if (lf != NULL)
            v->skipping = FALSE;
        }
      else if (v->carry->len + take > cap)
        overlong_line (v, v->carry->len > 0 ? v->carry->data[0] : p[0]);
      else
        {
          g_byte_array_append (v->carry, p, (guint)take);
          if (lf != NULL)
            {
              process_line (v, v->carry->data, v->carry->len);
              g_byte_array_set_size (v->carry, 0);
            }
        }
      p += take;
      if (lf != NULL && v->skipping)
        v->skipping = FALSE;
    }

  while (p < end && !v->stopped)
    {
      gsize avail = (gsize)(end - p);
      gsize line_len;

      /* A line ends at its first LF, whatever the chunking: a record of
       * the right length with a stray LF inside is two short records. */
      {
        const guint8 *lf = memchr (p, '\n', MIN (avail, (gsize)cap));
        if (lf == NULL)
          {
            if (avail >= cap)
              {
                overlong_line (v, p[0]);
                const guint8 *next = memchr (p, '\n', avail);
                if (next == NULL)
                  return !v->stopped;
                v->skipping = FALSE;
                p = next + 1;
                continue;
              }
            g_byte_array_append (v->carry, p, (guint)avail);
            break;
          }
        line_len = (gsize)(lf - p) + 1;
      }
      process_line (v, p, line_len);
      p += line_len;
    }
  return !v->stopped;
}
gboolean
sk_validator_feed_fd (SkValidator *v, int fd, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (v != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autofree guint8 *buf = g_malloc (SK_READ_CHUNK);
  struct stat st;

  if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode))
    sk_validator_set_expected_size (v, (guint64)st.st_size);

  (void)posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  for (;;)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      ssize_t n = read (fd, buf, SK_READ_CHUNK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          sk_error_set_from_errno (error, errno, "reading the file");
          return FALSE;
        }
      if (n == 0)
        return TRUE;
      if (!sk_validator_feed (v, buf, (gsize)n))
        return TRUE;
    }
}
