/* sk-validator.c — the record-layout validator of P1 and P2 files
 *
 * One pass over the bytes, one line of carry-over between chunks.  Each
 * record is checked field by field against its layout (type and repertoire
 * first, then the field's rules), then across fields (dates, eras, age,
 * conditions, groups), then across records (order, uniqueness, trailer
 * counts and sums, pairing with a request).  A field that fails one check
 * gives one finding and takes no part in checks across fields.
 */
#define G_LOG_DOMAIN "sekisho-validator"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk-charset.h"
#include "sk-date.h"
#include "sk-ident.h"
#include "sk-policy-private.h"
#include "sk-record-plan.h"
#include "sk-validator.h"

#define SK_MAX_FIELDS 256
#define SK_READ_CHUNK (1024 * 1024)

/* ---- a set of 64-bit keys ---------------------------------------------- */

struct _SkKeySet
{
  guint64 *slots; /* 0 marks an empty slot */
  guint64 mask;
  guint64 size;
};

/* Slots of a set, zeroed.  A set of a million keys is 16 MiB looked up at
 * random, one miss per key: on 4 KiB pages nearly every lookup also misses
 * the TLB (and on a virtual machine walks two page tables), which cost more
 * than the rest of a record's checks.  Large sets are therefore aligned to
 * and advised as huge pages; where the kernel gives none, nothing changes. */
#define SK_HUGE_PAGE (2 * 1024 * 1024)

static guint64 *
slots_new (guint64 n)
{
  gsize bytes = (gsize)n * sizeof (guint64);
  void *p = NULL;

  /* Freed with g_free (), which is free () since GLib 2.46. */
  if (bytes < SK_HUGE_PAGE || posix_memalign (&p, SK_HUGE_PAGE, bytes) != 0)
    return g_new0 (guint64, n);
  (void)madvise (p, bytes, MADV_HUGEPAGE);
  memset (p, 0, bytes);
  return p;
}

/* A set with room for EXPECTED keys at a load of at most one half. */
static SkKeySet *
sk_key_set_new (guint64 expected)
{
  SkKeySet *set = g_new0 (SkKeySet, 1);
  guint64 slots = 1024;
  while (slots < expected * 2 && slots < (G_GUINT64_CONSTANT (1) << 32))
    slots *= 2;
  set->mask = slots - 1;
  set->slots = slots_new (slots);
  return set;
}

static void
sk_key_set_reserve (SkKeySet *set, guint64 expected)
{
  if (set->size == 0 && expected * 2 > set->mask + 1)
    {
      g_autoptr (SkKeySet) bigger = sk_key_set_new (expected);
      g_free (set->slots);
      set->slots = g_steal_pointer (&bigger->slots);
      set->mask = bigger->mask;
    }
}

void
sk_key_set_free (SkKeySet *set)
{
  if (set == NULL)
    return;
  g_free (set->slots);
  g_free (set);
}

guint64
sk_key_set_size (const SkKeySet *set)
{
  return set->size;
}

static void
sk_key_set_prefetch (const SkKeySet *set, guint64 key)
{
  __builtin_prefetch (&set->slots[key & set->mask], 1, 0);
}

static gboolean
sk_key_set_contains (const SkKeySet *set, guint64 key)
{
  for (guint64 i = key & set->mask;; i = (i + 1) & set->mask)
    {
      if (set->slots[i] == key)
        return TRUE;
      if (set->slots[i] == 0)
        return FALSE;
    }
}

/* TRUE when KEY was new. */
static gboolean
sk_key_set_add (SkKeySet *set, guint64 key)
{
  if ((set->size + 1) * 2 > set->mask + 1)
    {
      guint64 old_mask = set->mask;
      guint64 *old = set->slots;
      set->mask = old_mask * 2 + 1;
      set->slots = slots_new (set->mask + 1);
      for (guint64 i = 0; i <= old_mask; i++)
        if (old[i] != 0)
          {
            guint64 j = old[i] & set->mask;
            while (set->slots[j] != 0)
              j = (j + 1) & set->mask;
            set->slots[j] = old[i];
          }
      g_free (old);
    }
  for (guint64 i = key & set->mask;; i = (i + 1) & set->mask)
    {
      if (set->slots[i] == key)
        return FALSE;
      if (set->slots[i] == 0)
        {
          set->slots[i] = key;
          set->size++;
          return TRUE;
        }
    }
}

/* ---- reports ----------------------------------------------------------- */

void
sk_file_report_free (SkFileReport *report)
{
  if (report == NULL)
    return;
  g_free (report->file);
  g_free (report->case_id);
  g_array_unref (report->findings);
  g_free (report);
}

gboolean
sk_file_report_ok (const SkFileReport *report)
{
  return report->findings->len == 0;
}

/* ---- the validator ------------------------------------------------------ */

typedef struct
{
  guint64 key;
  guint64 record;
  gboolean set;
} SkPendingKey;

typedef struct
{
  const guint8 *p; /* the value: P1 the field's bytes, P2 the column's bytes */
  guint len;       /* P1 the field's length; P2 the column's */
  guint trimmed;   /* length without trailing padding */
  gboolean ok;     /* passed its own checks */
  gboolean blank;
  guint32 ymd;    /* ymd and wareki dates, as YYYYMMDD */
  guint64 number; /* 9 fields of at most 19 digits */
} SkValue;

enum
{
  STATE_START,
  STATE_HEADER,
  STATE_TRAILER,
  STATE_END,
};

struct _SkValidator
{
  SkPolicy *policy;
  const SkKind *kind;
  SkRecordPlan *plans[SK_N_RECORDS];
  SkFileReport *report;
  guint max_findings;
  gboolean stopped;

  guint64 record_no;
  int state;
  GByteArray *carry;
  gboolean skipping; /* discarding an over-long line up to its LF */
  guint max_line;

  /* From the file name, for the header's agreement. */
  char name_lg[7], name_ts[15], name_seq[4];

  SkKeySet *unique[SK_MAX_FIELDS]; /* per data field */
  SkPendingKey pending_unique[SK_MAX_FIELDS];
  SkKeySet *pair_keys;          /* collected (requests) */
  const SkKeySet *request_keys; /* checked (results) */
  guint64 request_records;
  gboolean have_request;

  guint64 counts[SK_MAX_FIELDS]; /* per trailer field */
  guint64 sums[SK_MAX_FIELDS];
  gboolean sum_overflow[SK_MAX_FIELDS];
  /* A data record whose fields could not be read (its length or line end
   * was wrong): the trailer's counts cannot be checked against the data,
   * and the file is refused for that record already. */
  gboolean data_unreadable;

  SkValue values[SK_MAX_FIELDS];
  /* Scratch for the groups of one record. */
  guint group_count[SK_MAX_FIELDS];
  gboolean group_ok[SK_MAX_FIELDS];
  const SkField *group_first[SK_MAX_FIELDS];
  /* Key sets are sized for the records a file of this size holds. */
  guint64 expected_records;
  /* The second half of a file validated on two cores: it starts among the
   * data records, and its trailer is checked once both halves' counts are
   * known (trailer_values, trailer_record). */
  gboolean continuation;
  gboolean trailer_seen;
  guint64 trailer_record;
  guint64 trailer_values[SK_MAX_FIELDS];
  gboolean trailer_ok[SK_MAX_FIELDS];
};

static guint8 p1_class[256];
#define P1_ASCII 1u
#define P1_KANA 2u
/* Every double-byte code (b1 << 8 | b2), once: one load per character of a
 * name or an address tells both whether it is JIS X 0208 and whether it is
 * 全角カタカナ. */
static guint8 sjis_class[65536];
#define SJIS_JISX0208 1u
#define SJIS_FULLWIDTH_KANA 2u

static void
init_tables (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      for (guint b = 0x20; b <= 0x7E; b++)
        p1_class[b] |= P1_ASCII;
      for (guint b = 0xA1; b <= 0xDF; b++)
        p1_class[b] |= P1_KANA;
      const guint8 *jisx0208_bits = sk_sjis_jisx0208_table ();
      for (guint idx = 0; idx < 65536; idx++)
        {
          if ((jisx0208_bits[idx >> 3] >> (idx & 7)) & 1)
            sjis_class[idx] |= SJIS_JISX0208;
          if (sk_sjis_is_fullwidth_kana ((guint8)(idx >> 8), (guint8)idx))
            sjis_class[idx] |= SJIS_FULLWIDTH_KANA;
        }
      g_once_init_leave (&once, 1);
    }
}

static void
add_finding_detail (
    SkValidator *v, SkErrorCode code, guint64 record, const SkField *field, const char *detail)
{
  if (v->stopped)
    return;
  if (v->report->findings->len >= v->max_findings)
    {
      v->report->truncated = TRUE;
      v->stopped = TRUE;
      return;
    }
  SkFinding finding = {
    .code = code,
    .record = record,
    .field = field != NULL ? field->index + 1 : 0,
    .field_name = field != NULL ? field->name : NULL,
    .detail = detail,
  };
  g_array_append_val (v->report->findings, finding);
}

static void
add_finding (SkValidator *v, SkErrorCode code, guint64 record, const SkField *field)
{
  add_finding_detail (v, code, record, field, NULL);
}

static void
copy_group (GMatchInfo *match, const char *name, char *out, gsize size)
{
  g_autofree char *s = g_match_info_fetch_named (match, name);
  g_strlcpy (out, s != NULL ? s : "", size);
}

SkValidator *
sk_validator_new (SkPolicy *policy, const char *file_name)
{
  g_return_val_if_fail (SK_IS_POLICY (policy), NULL);
  g_return_val_if_fail (file_name != NULL, NULL);

  init_tables ();

  SkValidator *v = g_new0 (SkValidator, 1);
  v->policy = g_object_ref (policy);
  v->report = g_new0 (SkFileReport, 1);
  v->report->file = g_strdup (file_name);
  v->report->findings = g_array_new (FALSE, FALSE, sizeof (SkFinding));
  v->max_findings = sk_policy_get_max_findings (policy);
  v->carry = g_byte_array_new ();

  v->kind = sk_policy_match_file_name (policy, file_name);
  v->report->kind = v->kind;
  if (v->kind == NULL)
    {
      add_finding (v, SK_ERROR_FILE_KIND_UNKNOWN, 0, NULL);
      v->stopped = TRUE;
      return v;
    }

  g_autoptr (GMatchInfo) match = NULL;
  g_regex_match (v->kind->name_regex, file_name, 0, &match);
  copy_group (match, "lg", v->name_lg, sizeof v->name_lg);
  copy_group (match, "ts", v->name_ts, sizeof v->name_ts);
  copy_group (match, "seq", v->name_seq, sizeof v->name_seq);

  v->max_line = v->kind->profile == SK_PROFILE_P1 ? v->kind->record_length
                                                  : sk_policy_get_max_line_length (policy);

  guint record_length = v->kind->profile == SK_PROFILE_P1 ? v->kind->record_length : 0;
  for (SkRecordType t = SK_RECORD_HEADER; t < SK_N_RECORDS; t++)
    v->plans[t] = sk_record_plan_new (v->kind->records[t], record_length);

  const SkRecordPlan *data = v->plans[SK_RECORD_DATA];
  for (guint u = 0; u < data->n_unique; u++)
    v->unique[data->unique[u]] = sk_key_set_new (0);
  return v;
}

void
sk_validator_free (SkValidator *v)
{
  if (v == NULL)
    return;
  g_clear_object (&v->policy);
  g_clear_pointer (&v->report, sk_file_report_free);
  g_byte_array_unref (v->carry);
  for (SkRecordType t = SK_RECORD_HEADER; t < SK_N_RECORDS; t++)
    sk_record_plan_free (v->plans[t]);
  for (guint i = 0; i < SK_MAX_FIELDS; i++)
    sk_key_set_free (v->unique[i]);
  sk_key_set_free (v->pair_keys);
  g_free (v);
}

const SkKind *
sk_validator_get_kind (SkValidator *v)
{
  return v->kind;
}

void
sk_validator_collect_pair_keys (SkValidator *v)
{
  if (v->kind != NULL && v->pair_keys == NULL)
    v->pair_keys = sk_key_set_new (v->expected_records);
}

void
sk_validator_set_request (SkValidator *v, const SkKeySet *keys, guint64 request_records)
{
  v->request_keys = keys;
  v->request_records = request_records;
  v->have_request = TRUE;
}

/* ---- the rules of one field, shared by P1 and P2 ------------------------ */

static gboolean
value_is_numeric (const SkValue *val)
{
  return val->trimmed > 0 && val->trimmed <= 19;
}

G_NO_INLINE static void
check_value_rules (SkValidator *v, const SkFieldPlan *fp, SkValue *val, guint64 record);

/* Blank and missing, for every field; the rest only for the fields that
 * have rules.  Inlined into the field checks: most fields end here. */
G_ALWAYS_INLINE static inline void
check_rules (SkValidator *v, const SkFieldPlan *fp, SkValue *val, guint64 record)
{
  if (fp->blank)
    {
      if (!val->blank)
        add_finding (v, SK_ERROR_CODE_VALUE, record, fp->field);
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
        add_finding (v, SK_ERROR_FIELD_MISSING, record, fp->field);
      else
        val->ok = TRUE;
      return;
    }
  val->blank = FALSE;
  /* Most fields have no rule beyond their type. */
  if (!fp->has_rules)
    val->ok = TRUE;
  else
    check_value_rules (v, fp, val, record);
}

G_NO_INLINE static void
check_value_rules (SkValidator *v, const SkFieldPlan *fp, SkValue *val, guint64 record)
{
  const SkField *f = fp->field;
  const char *s = (const char *)val->p;

  if (f->needs_number && value_is_numeric (val))
    sk_parse_digits (s, val->trimmed, &val->number);

  if (f->const_value != NULL &&
      (fp->const_len != val->trimmed || memcmp (f->const_value, s, val->trimmed) != 0))
    {
      add_finding (v, SK_ERROR_CODE_VALUE, record, f);
      return;
    }
  if (f->codes.n > 0 && !sk_code_set_contains (&fp->codes, s, val->trimmed))
    {
      add_finding (v, SK_ERROR_CODE_VALUE, record, f);
      return;
    }
  /* Within the value: a value shorter than the prefix does not start with
   * it, whatever the next field holds. */
  if (f->prefix != NULL &&
      (val->trimmed < fp->prefix_len || memcmp (s, f->prefix, fp->prefix_len) != 0))
    {
      add_finding (v, SK_ERROR_CODE_VALUE, record, f);
      return;
    }

  gboolean check_ok = TRUE;
  switch (f->check)
    {
    case SK_CHECK_NONE:
      break;
    case SK_CHECK_INDIVIDUAL_NUMBER:
      check_ok = sk_individual_number_is_valid (s, val->trimmed);
      break;
    case SK_CHECK_INSURER_NUMBER:
      check_ok = sk_insurer_number_is_valid (s, val->trimmed);
      break;
    case SK_CHECK_LOCAL_GOVERNMENT_CODE:
      check_ok = sk_local_government_code_is_valid (s, val->trimmed);
      break;
    }
  if (!check_ok)
    {
      add_finding (v, SK_ERROR_CHECK_DIGIT, record, f);
      return;
    }

  gboolean date_ok = TRUE;
  switch (f->date)
    {
    case SK_DATE_NONE:
      break;
    case SK_DATE_YMD:
      date_ok = sk_date_parse_ymd_key (s, &val->ymd);
      break;
    case SK_DATE_YMDHMS:
      date_ok = sk_date_parse_ymdhms (s);
      break;
    case SK_DATE_WAREKI:
      date_ok = sk_wareki_parse_key (s, &val->ymd);
      break;
    case SK_DATE_YM:
      date_ok = sk_date_parse_ym (s);
      break;
    case SK_DATE_YEAR:
      date_ok = sk_date_parse_year (s);
      break;
    }
  if (!date_ok)
    {
      add_finding (v, SK_ERROR_DATE_INVALID, record, f);
      return;
    }

  if ((f->has_min && val->number < f->min) || (f->has_max && val->number > f->max))
    {
      add_finding (v, f->date != SK_DATE_NONE ? SK_ERROR_DATE_INVALID : SK_ERROR_CODE_VALUE, record,
                   f);
      return;
    }
  if (f->allow_list_inquiry && !sk_policy_inquiry_allowed (v->policy, s, val->trimmed))
    {
      add_finding (v, SK_ERROR_INQUIRY_NOT_ALLOWED, record, f);
      return;
    }
  val->ok = TRUE;
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
      if (p1_class[b] != 0)
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
          bad |= (p1_class[p[i]] & allowed) == 0;
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
          all &= sjis_class[(guint)p[i] << 8 | p[i + 1]];
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
      add_finding_detail (v, code, record, fp->field, detail);
      return;
    }
  if (kana_bad)
    {
      add_finding (v, SK_ERROR_FIELD_TYPE, record, fp->field);
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
          add_finding_detail (v, SK_ERROR_ENCODING, record, f, detail);
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
          add_finding (v, SK_ERROR_FIELD_TYPE, record, f);
          return;
        }
      if (len > 0 && (f->variable ? len > f->length : len != f->length))
        {
          add_finding (v, SK_ERROR_FIELD_LENGTH, record, f);
          return;
        }
      break;
    case SK_FIELD_HALF:
      if (!ascii_only || quote)
        {
          add_finding (v, SK_ERROR_FIELD_TYPE, record, f);
          return;
        }
      if (chars > f->length)
        {
          add_finding (v, SK_ERROR_FIELD_LENGTH, record, f);
          return;
        }
      break;
    case SK_FIELD_FULL:
      if (quote || kana_bad)
        {
          add_finding (v, SK_ERROR_FIELD_TYPE, record, f);
          return;
        }
      if (chars > f->length)
        {
          add_finding (v, SK_ERROR_FIELD_LENGTH, record, f);
          return;
        }
      break;
    }
  check_rules (v, fp, val, record);
}

/* ---- across fields and records ---------------------------------------- */

static gboolean
value_in (const SkValue *val, const SkCodeSet *codes)
{
  return val->ok && !val->blank && sk_code_set_contains (codes, (const char *)val->p, val->trimmed);
}

/* Only the fields the plan lists take part: the rest have no rule across
 * fields, and skipping them changes no finding or its order. */
static void
check_across_fields (SkValidator *v, const SkRecordPlan *plan, guint64 record)
{
  const SkRecordLayout *layout = plan->layout;
  SkValue *vals = v->values;
  guint *group_count = v->group_count;
  gboolean *group_ok = v->group_ok;
  const SkField **group_first = v->group_first;

  for (guint g = 0; g < layout->n_groups; g++)
    {
      group_ok[g] = TRUE;
      group_count[g] = 0;
      group_first[g] = NULL;
    }

  for (guint a = 0; a < plan->n_across; a++)
    {
      guint i = plan->across[a];
      const SkFieldPlan *fp = &plan->fields[i];
      const SkField *f = fp->field;
      SkValue *val = &vals[i];

      if (f->group >= 0)
        {
          group_ok[f->group] &= val->ok;
          group_count[f->group] += val->ok && !val->blank;
          if (group_first[f->group] == NULL)
            group_first[f->group] = f;
        }
      if (!val->ok)
        continue;

      if (f->required_when.field >= 0 && val->blank &&
          value_in (&vals[f->required_when.field], &fp->required_when))
        add_finding (v, SK_ERROR_FIELD_MISSING, record, f);
      if (f->blank_when.field >= 0 && !val->blank &&
          value_in (&vals[f->blank_when.field], &fp->blank_when))
        add_finding (v, SK_ERROR_CODE_VALUE, record, f);
      if (val->blank)
        continue;

      if (f->not_before >= 0)
        {
          const SkValue *t = &vals[f->not_before];
          if (t->ok && !t->blank && val->ymd < t->ymd)
            add_finding (v, SK_ERROR_DATE_INVALID, record, f);
        }
      if (f->agrees_with >= 0)
        {
          const SkValue *t = &vals[f->agrees_with];
          if (t->ok && !t->blank && val->ymd != t->ymd)
            add_finding (v, SK_ERROR_ERA_MISMATCH, record, f);
        }
      if (f->age_at >= 0)
        {
          const SkValue *t = &vals[f->age_at];
          if (t->ok && !t->blank && sk_age_on_ymd (val->ymd, t->ymd) < (int)f->age_min)
            add_finding (v, SK_ERROR_AGE, record, f);
        }
    }

  for (guint g = 0; g < layout->n_groups; g++)
    if (group_ok[g] && group_count[g] != 1)
      add_finding (v, group_count[g] == 0 ? SK_ERROR_FIELD_MISSING : SK_ERROR_CODE_VALUE, record,
                   group_first[g]);
}

static guint64
pair_key_hash (const SkKind *kind, const SkValue *vals, gboolean *out_ok)
{
  guint64 h = SK_KEY_HASH_SEED;

  *out_ok = TRUE;
  for (guint i = 0; i < kind->n_pair_key; i++)
    {
      const SkValue *val = &vals[kind->pair_key_index[i]];
      if (!val->ok || val->blank)
        *out_ok = FALSE;
      h = sk_key_hash_bytes (h, val->p, val->trimmed);
    }
  return sk_key_mix (h);
}

/* A key set is far larger than the caches: each record's keys are looked
 * up while the next record is checked, after a prefetch, so that the memory
 * latency overlaps with work.  Findings still name the record they are in. */
static void
flush_unique (SkValidator *v, guint i)
{
  SkPendingKey *pending = &v->pending_unique[i];

  if (!pending->set)
    return;
  pending->set = FALSE;
  if (!sk_key_set_add (v->unique[i], pending->key))
    add_finding (v, SK_ERROR_DUPLICATE_KEY, pending->record,
                 g_ptr_array_index (v->kind->records[SK_RECORD_DATA]->fields, i));
}

static void
check_data_record (SkValidator *v, const SkRecordPlan *plan, guint64 record)
{
  const SkRecordLayout *layout = plan->layout;
  const SkKind *kind = v->kind;
  SkValue *vals = v->values;

  v->report->records++;
  if (v->report->records > kind->max_records)
    {
      add_finding (v, SK_ERROR_FILE_TOO_LARGE, record, NULL);
      v->stopped = TRUE;
      return;
    }

  for (guint u = 0; u < plan->n_unique; u++)
    {
      guint i = plan->unique[u];
      if (!vals[i].ok || vals[i].blank)
        continue;
      guint64 key =
          plan->fields[i].digits_key
              ? sk_key_digits (vals[i].p, vals[i].trimmed)
              : sk_key_mix (sk_key_hash_bytes (SK_KEY_HASH_SEED, vals[i].p, vals[i].trimmed));
      sk_key_set_prefetch (v->unique[i], key);
      flush_unique (v, i);
      v->pending_unique[i] = (SkPendingKey){ key, record, TRUE };
    }

  if (v->pair_keys != NULL || v->have_request)
    {
      gboolean complete;
      guint64 key = pair_key_hash (kind, vals, &complete);
      const SkField *first = g_ptr_array_index (layout->fields, kind->pair_key_index[0]);
      if (complete && v->pair_keys != NULL)
        sk_key_set_add (v->pair_keys, key);
      if (v->have_request)
        {
          if (v->report->records > v->request_records)
            add_finding (v, SK_ERROR_PAIRING, record, NULL);
          else if (complete && !sk_key_set_contains (v->request_keys, key))
            add_finding (v, SK_ERROR_PAIRING, record, first);
        }
    }

  /* What the trailer will be checked against. */
  const SkRecordPlan *trailer = v->plans[SK_RECORD_TRAILER];
  for (guint k = 0; k < trailer->n_tally; k++)
    {
      guint t = trailer->tally[k];
      const SkFieldPlan *tp = &trailer->fields[t];
      const SkField *tf = tp->field;
      if (tf->count == SK_COUNT_CODES && value_in (&vals[tf->count_when.field], &tp->count_when))
        v->counts[t]++;
      if (tf->sum >= 0)
        {
          const SkValue *s = &vals[tf->sum];
          if (s->ok && !s->blank && !g_uint64_checked_add (&v->sums[t], v->sums[t], s->number))
            v->sum_overflow[t] = TRUE;
        }
    }
}

static void
check_header_record (SkValidator *v, const SkRecordLayout *layout, guint64 record)
{
  for (guint i = 0; i < layout->fields->len; i++)
    {
      const SkField *f = g_ptr_array_index (layout->fields, i);
      const SkValue *val = &v->values[i];
      const char *expect = NULL;

      if (!val->ok)
        continue;
      switch (f->header)
        {
        case SK_HEADER_NONE:
          break;
        case SK_HEADER_KIND:
          expect = v->kind->id;
          break;
        case SK_HEADER_LG:
          expect = v->name_lg;
          break;
        case SK_HEADER_TIMESTAMP:
          expect = v->name_ts;
          break;
        case SK_HEADER_SEQ:
          expect = v->name_seq;
          break;
        case SK_HEADER_CASE:
          g_clear_pointer (&v->report->case_id, g_free);
          v->report->case_id = g_strndup ((const char *)val->p, val->trimmed);
          break;
        }
      if (expect != NULL &&
          (strlen (expect) != val->trimmed || memcmp (expect, val->p, val->trimmed) != 0))
        add_finding (v, SK_ERROR_FILE_NAME, record, f);
    }
}

static void
check_trailer_record (SkValidator *v, const SkRecordLayout *layout, guint64 record)
{
  if (v->data_unreadable)
    return;
  if (v->continuation)
    {
      v->trailer_seen = TRUE;
      v->trailer_record = record;
      for (guint t = 0; t < layout->fields->len; t++)
        {
          v->trailer_values[t] = v->values[t].number;
          v->trailer_ok[t] = v->values[t].ok;
        }
      return;
    }
  for (guint t = 0; t < layout->fields->len; t++)
    {
      const SkField *f = g_ptr_array_index (layout->fields, t);
      const SkValue *val = &v->values[t];

      if (!val->ok)
        continue;
      if (f->count != SK_COUNT_NONE)
        {
          guint64 expect = f->count == SK_COUNT_DATA ? v->report->records : v->counts[t];
          if (val->number != expect)
            add_finding (v, SK_ERROR_TRAILER_COUNT, record, f);
        }
      if (f->sum >= 0 && (v->sum_overflow[t] || val->number != v->sums[t]))
        add_finding (v, SK_ERROR_TRAILER_SUM, record, f);
    }
}

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
      add_finding (v, SK_ERROR_RECORD_ORDER, record, NULL);
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
    add_finding (v, SK_ERROR_RECORD_ORDER, record, NULL);
  else
    v->state = next_state;
  return plan;
}

static void
finish_record (SkValidator *v, const SkRecordPlan *plan, guint64 record)
{
  const SkRecordLayout *layout = plan->layout;

  check_across_fields (v, plan, record);
  switch (layout->type)
    {
    case SK_RECORD_HEADER:
      check_header_record (v, layout, record);
      break;
    case SK_RECORD_DATA:
      check_data_record (v, plan, record);
      break;
    case SK_RECORD_TRAILER:
      check_trailer_record (v, layout, record);
      break;
    case SK_RECORD_END:
    case SK_N_RECORDS:
      break;
    }
}

/* A record of a known type whose fields cannot be read. */
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
      add_finding (v, SK_ERROR_LINE_ENDING, record, NULL);
      if (len > 1)
        unreadable_record (v, check_order (v, line[0], record));
      return;
    }
  const SkRecordPlan *plan = check_order (v, line[0], record);
  if (len != v->kind->record_length)
    {
      add_finding (v, SK_ERROR_RECORD_LENGTH, record, NULL);
      unreadable_record (v, plan);
      return;
    }
  if (plan == NULL)
    return;

  for (guint i = 0; i < plan->n_fields; i++)
    check_p1_field (v, &plan->fields[i], line, &v->values[i], record);
  finish_record (v, plan, record);
}

static void
process_p2_line (SkValidator *v, const guint8 *line, gsize len)
{
  guint64 record = ++v->record_no;
  const guint8 *bounds[SK_MAX_FIELDS + 1];
  guint n = 0;

  if (len < 2 || line[len - 2] != '\r')
    {
      add_finding (v, SK_ERROR_LINE_ENDING, record, NULL);
      return;
    }
  len -= 2;
  if (record == 1 && len >= 3 && memcmp (line, "\xEF\xBB\xBF", 3) == 0)
    {
      /* A byte-order mark: P2 is UTF-8 without one. */
      add_finding_detail (v, SK_ERROR_ENCODING, record, NULL, "byte-order-mark");
      line += 3;
      len -= 3;
    }
  if (len == 0)
    {
      add_finding (v, SK_ERROR_RECORD_LENGTH, record, NULL);
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
      add_finding (v, SK_ERROR_RECORD_LENGTH, record, NULL);
      unreadable_record (v, plan);
      return;
    }
  for (guint i = 0; i < n; i++)
    {
      const guint8 *start = bounds[i];
      const guint8 *stop = i + 1 < n ? bounds[i + 1] - 1 : line + len;
      check_p2_field (v, &plan->fields[i], start, (guint)(stop - start), &v->values[i], record);
    }
  finish_record (v, plan, record);
}

static void
process_line (SkValidator *v, const guint8 *line, gsize len)
{
  if (v->stopped)
    return;
  if (v->state == STATE_END)
    {
      /* Nothing may follow the end record. */
      add_finding (v, SK_ERROR_RECORD_ORDER, ++v->record_no, NULL);
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
  add_finding (v, SK_ERROR_RECORD_LENGTH, ++v->record_no, NULL);
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
      add_finding (v, SK_ERROR_FILE_TOO_LARGE, 0, NULL);
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

void
sk_validator_set_expected_size (SkValidator *v, guint64 size)
{
  g_return_if_fail (v != NULL);

  if (v->kind == NULL || v->report->size > 0)
    return;
  /* A P2 line is at least a few bytes; a P1 record is exactly record_length.
   * The estimate only sizes memory, and is capped by the kind's own limit. */
  guint per_record = v->kind->profile == SK_PROFILE_P1 ? v->kind->record_length : 64;
  v->expected_records = MIN (size / per_record, v->kind->max_records);
  for (guint i = 0; i < SK_MAX_FIELDS; i++)
    if (v->unique[i] != NULL)
      sk_key_set_reserve (v->unique[i], v->expected_records);
  if (v->pair_keys != NULL)
    sk_key_set_reserve (v->pair_keys, v->expected_records);
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

SkFileReport *
sk_validator_finish (SkValidator *v, SkKeySet **out_pair_keys)
{
  g_return_val_if_fail (v != NULL, NULL);

  for (guint i = 0; v->kind != NULL && i < SK_MAX_FIELDS; i++)
    if (v->unique[i] != NULL)
      flush_unique (v, i);
  if (v->kind != NULL && !v->stopped)
    {
      if (v->carry->len > 0)
        {
          /* Bytes after the last CR LF: before the end record, a record cut
           * short; after it, trailing bytes such as an EOF mark (0x1A),
           * which the file's encoding forbids (DOMAIN.md: no trailing
           * bytes, no 0x1A). */
          add_finding (v, v->state == STATE_END ? SK_ERROR_ENCODING : SK_ERROR_LINE_ENDING,
                       v->record_no + 1, NULL);
        }
      else if (v->state != STATE_END)
        add_finding (v, SK_ERROR_RECORD_ORDER, 0, NULL);
    }
  if (out_pair_keys != NULL)
    *out_pair_keys = g_steal_pointer (&v->pair_keys);
  return g_steal_pointer (&v->report);
}

/* ---- two cores --------------------------------------------------------- */

/* Files smaller than this are not worth a second thread. */
#define SK_PARALLEL_MIN_SIZE (8 * 1024 * 1024)

typedef struct
{
  SkValidator *v;
  int fd;
  goffset offset;
  guint64 length;
  GError *error;
} SkHalf;

static gpointer
validate_half (gpointer data)
{
  SkHalf *h = data;
  g_autofree guint8 *buf = g_malloc (SK_READ_CHUNK);
  guint64 done = 0;

  while (done < h->length)
    {
      gsize want = (gsize)MIN ((guint64)SK_READ_CHUNK, h->length - done);
      ssize_t n = pread (h->fd, buf, want, h->offset + (goffset)done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          sk_error_set_from_errno (&h->error, errno, "reading the file");
          return NULL;
        }
      if (n == 0)
        break; /* the file shrank: the caller's size check catches it */
      done += (guint64)n;
      if (!sk_validator_feed (h->v, buf, (gsize)n))
        break;
    }
  return NULL;
}

/* Validate a P1 file as two halves on two threads.  This is a fast path
 * for clean files only: it returns TRUE with *OUT_REPORT set only when both
 * halves are free of findings and agree with each other (the first ends
 * among the data records, no unique key occurs in both, the trailer matches
 * the sum of both halves' counts).  Anything else — a finding, an odd size,
 * a short read — returns TRUE with *OUT_REPORT NULL, and the caller
 * validates the file again in one pass, which then reports exactly what a
 * single pass reports.  FALSE is an environment error. */
static gboolean
validate_p1_in_halves (SkValidator *v,
                       int fd,
                       guint64 size,
                       GCancellable *cancellable,
                       SkFileReport **out_report,
                       GError **error)
{
  const SkKind *kind = v->kind;
  guint64 records = size / kind->record_length;
  guint64 split = records / 2;

  *out_report = NULL;
  g_autoptr (SkValidator) second = sk_validator_new (v->policy, v->report->file);
  second->continuation = TRUE;
  second->state = STATE_HEADER;
  second->record_no = split;
  sk_validator_set_expected_size (v, split * kind->record_length);
  sk_validator_set_expected_size (second, size - split * kind->record_length);

  SkHalf a = { v, fd, 0, split * kind->record_length, NULL };
  SkHalf b = { second, fd, (goffset)(split * kind->record_length),
               size - split * kind->record_length, NULL };
  GThread *thread = g_thread_new ("sk-validate", validate_half, &b);
  validate_half (&a);
  g_thread_join (thread);

  if (a.error != NULL || b.error != NULL)
    {
      g_propagate_error (error, a.error != NULL ? a.error : b.error);
      g_clear_error (a.error != NULL ? &b.error : &a.error);
      return FALSE;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  for (guint i = 0; i < SK_MAX_FIELDS; i++)
    {
      if (v->unique[i] != NULL)
        flush_unique (v, i);
      if (second->unique[i] != NULL)
        flush_unique (second, i);
    }

  gboolean clean = v->report->findings->len == 0 && second->report->findings->len == 0 &&
                   !v->stopped && !second->stopped && v->carry->len == 0 &&
                   second->carry->len == 0 && !v->skipping && !second->skipping &&
                   v->state == STATE_HEADER && second->state == STATE_END && second->trailer_seen &&
                   v->report->size + second->report->size == size && v->pair_keys == NULL &&
                   !v->have_request;
  /* No unique value may occur in both halves. */
  for (guint i = 0; clean && i < SK_MAX_FIELDS; i++)
    {
      const SkKeySet *mine = v->unique[i], *theirs = second->unique[i];
      if (mine == NULL || theirs == NULL)
        continue;
      for (guint64 s = 0; clean && s <= theirs->mask; s++)
        if (theirs->slots[s] != 0 && sk_key_set_contains (mine, theirs->slots[s]))
          clean = FALSE;
    }
  if (!clean)
    return TRUE;

  /* The trailer against both halves' counts. */
  guint64 data_records = v->report->records + second->report->records;
  const SkRecordLayout *trailer = kind->records[SK_RECORD_TRAILER];
  for (guint t = 0; clean && t < trailer->fields->len; t++)
    {
      const SkField *f = g_ptr_array_index (trailer->fields, t);
      if (!second->trailer_ok[t])
        continue;
      guint64 got = second->trailer_values[t];
      if (f->count == SK_COUNT_DATA && got != data_records)
        clean = FALSE;
      if (f->count == SK_COUNT_CODES && got != v->counts[t] + second->counts[t])
        clean = FALSE;
      if (f->sum >= 0)
        {
          guint64 total;
          if (v->sum_overflow[t] || second->sum_overflow[t] ||
              !g_uint64_checked_add (&total, v->sums[t], second->sums[t]) || got != total)
            clean = FALSE;
        }
    }
  if (!clean || data_records > kind->max_records)
    return TRUE;

  v->report->records = data_records;
  v->report->size = size;
  v->state = STATE_END;
  v->record_no = second->record_no;
  *out_report = g_steal_pointer (&v->report);
  return TRUE;
}

/* ---- many files --------------------------------------------------------- */

typedef struct
{
  const char *path;
  SkValidator *validator;
} SkPending;

static SkFileReport *
run_one (SkValidator *v,
         const char *path,
         GCancellable *cancellable,
         SkKeySet **out_keys,
         GError **error)
{
  /* Opened even when the name matches no kind: a file that is not there is
   * an environment problem, not a refusal of its name. */
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
  if (fd < 0)
    {
      int errsv = errno;
      g_autofree char *base = g_path_get_basename (path);
      g_autofree char *safe = sk_escape_untrusted (base);
      g_autofree char *what = g_strdup_printf ("opening %s", safe);
      sk_error_set_from_errno (error, errsv, what);
      return NULL;
    }
  struct stat st;
  if (v->kind != NULL && v->kind->profile == SK_PROFILE_P1 && out_keys == NULL &&
      !v->have_request && g_get_num_processors () > 1 && fstat (fd, &st) == 0 &&
      S_ISREG (st.st_mode) && (guint64)st.st_size >= SK_PARALLEL_MIN_SIZE &&
      (guint64)st.st_size <= v->kind->max_size && (guint64)st.st_size % v->kind->record_length == 0)
    {
      SkFileReport *fast = NULL;
      if (!validate_p1_in_halves (v, fd, (guint64)st.st_size, cancellable, &fast, error))
        {
          close (fd);
          return NULL;
        }
      if (fast != NULL)
        {
          close (fd);
          return fast;
        }
      /* Not clean: one pass, from the start, with a fresh validator. */
      g_autoptr (SkValidator) again = sk_validator_new (v->policy, v->report->file);
      gboolean ok =
          lseek (fd, 0, SEEK_SET) == 0 && sk_validator_feed_fd (again, fd, cancellable, error);
      close (fd);
      return ok ? sk_validator_finish (again, NULL) : NULL;
    }
  gboolean ok = v->kind == NULL || sk_validator_feed_fd (v, fd, cancellable, error);
  close (fd);
  if (!ok)
    return NULL;
  return sk_validator_finish (v, out_keys);
}

GPtrArray *
sk_validate_paths (SkPolicy *policy,
                   const char *const *paths,
                   GCancellable *cancellable,
                   GError **error)
{
  g_return_val_if_fail (SK_IS_POLICY (policy), NULL);
  g_return_val_if_fail (paths != NULL, NULL);

  guint n = g_strv_length ((GStrv)paths);
  g_autoptr (GPtrArray) reports =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sk_file_report_free);
  g_ptr_array_set_size (reports, n);

  /* Which kinds have results among the files: only their requests need to
   * keep pair keys. */
  g_autoptr (GPtrArray) validators =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sk_validator_free);
  gboolean any_result = FALSE;
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *base = g_path_get_basename (paths[i]);
      SkValidator *v = sk_validator_new (policy, base);
      g_ptr_array_add (validators, v);
      any_result |= v->kind != NULL && v->kind->direction == SK_DIRECTION_TO_STANDARD;
    }

  /* Requests first, keeping their pair keys by case. */
  g_autoptr (GPtrArray) request_keys =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sk_key_set_free);
  g_autoptr (GPtrArray) request_reports = g_ptr_array_new ();
  for (guint i = 0; i < n; i++)
    {
      SkValidator *v = g_ptr_array_index (validators, i);
      if (v->kind != NULL && v->kind->direction == SK_DIRECTION_TO_STANDARD)
        continue;
      if (any_result)
        sk_validator_collect_pair_keys (v);
      SkKeySet *keys = NULL;
      SkFileReport *report = run_one (v, paths[i], cancellable, any_result ? &keys : NULL, error);
      if (report == NULL)
        return NULL;
      reports->pdata[i] = report;
      if (keys != NULL)
        {
          g_ptr_array_add (request_keys, keys);
          g_ptr_array_add (request_reports, report);
        }
    }

  for (guint i = 0; i < n; i++)
    {
      SkValidator *v = g_ptr_array_index (validators, i);
      if (v->kind == NULL || v->kind->direction != SK_DIRECTION_TO_STANDARD)
        continue;

      /* Pair with a request of a kind that answers to this one, in the same
       * case.  The case is read from the result's own header, so the result
       * is read twice when a request is present: once for its case, once
       * for pairing. */
      g_autoptr (SkValidator) probe = sk_validator_new (policy, v->report->file);
      g_autoptr (SkFileReport) first = run_one (probe, paths[i], cancellable, NULL, error);
      if (first == NULL)
        return NULL;
      for (guint r = 0; first->case_id != NULL && r < request_reports->len; r++)
        {
          const SkFileReport *req = g_ptr_array_index (request_reports, r);
          if (req->case_id == NULL || !g_str_equal (req->case_id, first->case_id) ||
              req->kind->pairs_with == NULL ||
              !g_strv_contains ((const char *const *)req->kind->pairs_with, v->kind->id))
            continue;
          sk_validator_set_request (v, g_ptr_array_index (request_keys, r), req->records);
          break;
        }
      if (!v->have_request)
        {
          reports->pdata[i] = g_steal_pointer (&first);
          continue;
        }
      SkFileReport *report = run_one (v, paths[i], cancellable, NULL, error);
      if (report == NULL)
        return NULL;
      reports->pdata[i] = report;
    }
  return g_steal_pointer (&reports);
}
