/* sk-record-plan.h — a record layout compiled for the validator's inner loop
 *
 * The policy's layout (SkRecordLayout, SkField) says what a record holds; the
 * plan says what the validator does with it, worked out once per validator
 * instead of once per record: where the 8-byte loads of a P1 digit field
 * fall, whether a field has any rule beyond its type, its code lists as
 * packed words, and which fields take part in the checks across fields, in
 * the unique keys and in the trailer's counts and sums.  A plan decides
 * nothing on its own: every verdict stays with the layout's rules.
 */
#pragma once

#include "sk-policy-private.h"

G_BEGIN_DECLS

/* A code list for membership tests.  A list of digit codes of one length
 * up to three (処理区分, 性別, 負担割合…) is a bitmap indexed by the value;
 * other codes of at most eight bytes are kept as zero-padded little-endian
 * words, so that a test is a few word comparisons; a list with a longer code
 * is searched as the policy holds it. */
typedef struct
{
  guint n;
  guint digits;       /* the length of every code of a bitmap list, else 0 */
  guint8 *digit_bits; /* 10^digits bits */
  guint64 *words;
  guint8 *lengths;
  const SkCodes *codes; /* set when some code is longer than eight bytes */
} SkCodeSet;

/* SET (zeroed) for CODES, which must outlive it. */
void
sk_code_set_init (SkCodeSet *set, const SkCodes *codes);
void
sk_code_set_clear (SkCodeSet *set);

/* Inline: the validator asks it for every coded field of every record. */
static inline gboolean
sk_code_set_contains (const SkCodeSet *set, const char *value, gsize len)
{
  if (set->digit_bits != NULL)
    {
      guint index = 0, bad = 0;
      if (len != set->digits)
        return FALSE;
      for (gsize k = 0; k < len; k++)
        {
          guint d = (guint8)value[k] - (guint)'0';
          bad |= d > 9;
          index = index * 10 + d;
        }
      return bad == 0 && ((set->digit_bits[index >> 3] >> (index & 7)) & 1);
    }
  if (set->codes != NULL)
    return _sk_codes_contain (set->codes, value, len);
  if (len > 8)
    return FALSE;

  guint64 word = 0;
  for (gsize k = 0; k < len; k++)
    word |= (guint64)(guint8)value[k] << (8 * k);
  for (guint i = 0; i < set->n; i++)
    if (set->words[i] == word && set->lengths[i] == len)
      return TRUE;
  return FALSE;
}

typedef struct
{
  const SkField *field;
  /* What the inner loop reads of every field, copied from it so that one
   * cache line of the plan holds it (the field itself is a pointer away). */
  guint offset;
  guint length;
  SkFieldType type;
  gboolean blank;
  gboolean optional;
  gboolean kana;
  gboolean halfwidth_kana;
  /* Anything for check_rules beyond blank and missing. */
  gboolean has_rules;
  /* P1 digit fields, when wordwise: N_WORDS whole words from the field's
   * offset, then the rest (if TAIL_MASK is not 0) as the bytes TAIL_MASK
   * selects of the word at TAIL_AT from the record's start. */
  gboolean wordwise;
  guint n_words;
  guint tail_at;
  guint64 tail_mask;
  gsize const_len;
  gsize prefix_len;
  SkCodeSet codes;
  SkCodeSet required_when;
  SkCodeSet blank_when;
  SkCodeSet count_when;
  /* Takes part in the checks across fields of its record. */
  gboolean across;
} SkFieldPlan;

typedef struct
{
  const SkRecordLayout *layout;
  guint n_fields;
  SkFieldPlan *fields;
  /* Indices of the fields with checks across fields, with unique values,
   * and (trailer) counted or summed from the data records. */
  guint n_across, n_unique, n_tally;
  guint *across;
  guint *unique;
  guint *tally;
} SkRecordPlan;

/* RECORD_LENGTH is the P1 record length (CR LF included), 0 for P2. */
SkRecordPlan *
sk_record_plan_new (const SkRecordLayout *layout, guint record_length);
void
sk_record_plan_free (SkRecordPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkRecordPlan, sk_record_plan_free)

G_END_DECLS
