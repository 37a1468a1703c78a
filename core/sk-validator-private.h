/* sk-validator-private.h — what the validator's files share (core/sk-validator*.c only)
 *
 * The validator is one object whose parts live in files by concept:
 * sk-validator.c (the object, its sets of keys, findings and report),
 * sk-validator-lines.c, sk-validator-rules.c, sk-validator-records.c and
 * sk-validator-paths.c.  What runs per field or per key is static inline
 * here, or stays in the file of its callers.
 */
#pragma once

#include "sk-record-plan.h"
#include "sk-validator.h"

G_BEGIN_DECLS

#define SK_MAX_FIELDS 256
#define SK_READ_CHUNK (1024 * 1024)

/* ---- a set of 64-bit keys ---------------------------------------------- */

struct _SkKeySet
{
  guint64 *slots; /* 0 marks an empty slot */
  guint64 mask;
  guint64 size;
};

/* A set with room for EXPECTED keys at a load of at most one half. */
SkKeySet *
_sk_key_set_new (guint64 expected);
void
_sk_key_set_reserve (SkKeySet *set, guint64 expected);
/* TRUE when KEY was new. */
gboolean
_sk_key_set_add (SkKeySet *set, guint64 key);

static inline void
_sk_key_set_prefetch (const SkKeySet *set, guint64 key)
{
  __builtin_prefetch (&set->slots[key & set->mask], 1, 0);
}

static inline gboolean
_sk_key_set_contains (const SkKeySet *set, guint64 key)
{
  for (guint64 i = key & set->mask;; i = (i + 1) & set->mask)
    {
      if (set->slots[i] == key)
        return TRUE;
      if (set->slots[i] == 0)
        return FALSE;
    }
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

/* The classes of bytes (P1) and of double-byte codes (Shift_JIS) the field
 * checks look up, filled once when the first validator is made.  Internal,
 * so that they are reached as directly as a file's own statics. */
G_GNUC_INTERNAL extern guint8 _sk_validator_p1_class[256];
#define P1_ASCII 1u
#define P1_KANA 2u
G_GNUC_INTERNAL extern guint8 _sk_validator_sjis_class[65536];
#define SJIS_JISX0208 1u
#define SJIS_FULLWIDTH_KANA 2u

void
_sk_validator_add_finding_detail (
    SkValidator *v, SkErrorCode code, guint64 record, const SkField *field, const char *detail);
void
_sk_validator_add_finding (SkValidator *v, SkErrorCode code, guint64 record, const SkField *field);

/* The rules of a field beyond blank and missing, for the fields that have
 * them (sk-validator-rules.c). */
void
_sk_validator_check_value_rules (SkValidator *v,
                                 const SkFieldPlan *fp,
                                 SkValue *val,
                                 guint64 record);

/* Add the unique key of field I held back from its record
 * (sk-validator-records.c). */
void
_sk_validator_flush_unique (SkValidator *v, guint i);

/* The checks across the fields of the record just read, and across records
 * (sk-validator-records.c). */
void
_sk_validator_finish_record (SkValidator *v, const SkRecordPlan *plan, guint64 record);

G_END_DECLS
