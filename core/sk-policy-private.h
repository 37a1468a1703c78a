/* sk-policy-private.h — the compiled form of a policy's layouts
 *
 * Shared by the validator and the synthetic-data generator; nothing outside
 * core/ and tools/ reads these structures.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "sk-json-guard.h"
#include "sk-policy.h"

G_BEGIN_DECLS

typedef enum
{
  SK_FIELD_DIGITS, /* 9 */
  SK_FIELD_HALF,   /* X */
  SK_FIELD_FULL,   /* N */
} SkFieldType;

typedef enum
{
  SK_CHECK_NONE,
  SK_CHECK_INDIVIDUAL_NUMBER,
  SK_CHECK_INSURER_NUMBER,
  SK_CHECK_LOCAL_GOVERNMENT_CODE,
} SkCheck;

typedef enum
{
  SK_DATE_NONE,
  SK_DATE_YMD,
  SK_DATE_YMDHMS,
  SK_DATE_WAREKI,
  SK_DATE_YM,
  SK_DATE_YEAR,
} SkDateKind;

typedef enum
{
  SK_HEADER_NONE,
  SK_HEADER_KIND,
  SK_HEADER_LG,
  SK_HEADER_TIMESTAMP,
  SK_HEADER_SEQ,
  SK_HEADER_CASE,
} SkHeaderRole;

typedef enum
{
  SK_COUNT_NONE,
  SK_COUNT_DATA,
  SK_COUNT_CODES,
} SkCountKind;

typedef enum
{
  SK_RECORD_HEADER,
  SK_RECORD_DATA,
  SK_RECORD_TRAILER,
  SK_RECORD_END,
  SK_N_RECORDS,
} SkRecordType;

/* A code list, kept as the exact bytes to compare (CP932 is never needed: the
 * loader refuses codes on P1 N fields). */
typedef struct
{
  guint n;
  char **values;
  gsize *lengths;
  char **labels; /* may hold NULLs */
} SkCodes;

typedef struct
{
  int field; /* index in the data record, -1 when unset */
  SkCodes codes;
} SkCondition;

typedef struct
{
  char *name;
  guint index; /* 0-based position in its record */
  SkFieldType type;
  guint offset; /* P1: byte offset in the record */
  guint length; /* P1: bytes; P2: digits (exact unless variable) or maximum characters */
  gboolean variable;
  gboolean optional;
  gboolean blank;
  gboolean halfwidth_kana;
  gboolean kana;
  gboolean unique;
  gboolean personal;
  gboolean allow_list_inquiry;
  char *const_value;
  SkCodes codes; /* n == 0: any value */
  SkCheck check;
  char *prefix;
  SkDateKind date;
  gboolean has_min, has_max;
  guint64 min, max;
  int not_before; /* field index or -1 */
  int agrees_with;
  guint age_min;
  int age_at;
  int group; /* group number or -1 */
  SkCondition required_when;
  SkCondition blank_when;
  SkHeaderRole header;
  SkCountKind count;
  SkCondition count_when; /* SK_COUNT_CODES */
  int sum;                /* data field index or -1 */
  char *content;
  char *echo; /* name of the request field this one repeats */
  /* Its numeric value is needed (bounds, trailer counts, sums). */
  gboolean needs_number;
} SkField;

typedef struct
{
  SkRecordType type;
  char type_char;    /* '1', '2', '8', '9' */
  GPtrArray *fields; /* SkField* */
  guint n_groups;
} SkRecordLayout;

struct _SkKind
{
  char *id;
  char *title;
  SkDirection direction;
  char *workflow;
  SkProfile profile;
  char *name_pattern;
  GRegex *name_regex;
  GStrv pairs_with;
  GStrv pair_key;
  int *pair_key_index; /* data field indices of pair_key */
  guint n_pair_key;
  guint64 max_records;
  guint64 max_size;
  guint record_length; /* P1, CR LF included */
  SkRecordLayout *records[SK_N_RECORDS];
};

/* LAYOUTS_ONLY accepts an empty key section, as in policies/default.json
 * before an administrator fills it in: for the generator and the fuzzers,
 * never for a policy a station acts on. */
SkPolicy *
_sk_policy_new_from_bytes_full (GBytes *json, gboolean layouts_only, GError **error);

const SkField *
_sk_record_layout_find (const SkRecordLayout *layout, const char *name);
gboolean
_sk_codes_contain (const SkCodes *codes, const char *value, gsize len);

/* Kinds whose pairs_with lists RESULT_ID. */
GPtrArray *
_sk_policy_requests_for (SkPolicy *self, const char *result_id);

G_END_DECLS
