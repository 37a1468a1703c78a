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

#include <string.h>

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

/* ---- keys of unique values and of pairing ------------------------------ */

/* A 64-bit mixer (splitmix64's), a bijection; 0, the empty slot of a key
 * set, becomes 1. */
static inline guint64
sk_key_mix (guint64 x)
{
  x ^= x >> 30;
  x *= G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  x ^= x >> 27;
  x *= G_GUINT64_CONSTANT (0x94d049bb133111eb);
  x ^= x >> 31;
  return x == 0 ? 1 : x;
}

/* A value's bytes and length into H, eight bytes at a time (a byte-wise
 * hash was a chain of one multiplication per byte, the longest part of a
 * record's key).  Each step is a bijection of H for a given word, and the
 * length takes part, so that values differing only in trailing zero bytes
 * differ.  Finished by sk_key_mix (), keys are compared by hash: two different
 * values of a million collide with odds near 1 in 10^7, and a collision can
 * only make two different values look equal. */
#define SK_KEY_HASH_SEED G_GUINT64_CONSTANT (0xcbf29ce484222325)
#define SK_KEY_HASH_MUL G_GUINT64_CONSTANT (0x9e3779b97f4a7c15)

static inline guint64
sk_key_hash_step (guint64 h, guint64 w)
{
  h = (h ^ w) * SK_KEY_HASH_MUL;
  return h << 31 | h >> 33;
}

static inline guint64
sk_key_hash_bytes (guint64 h, const guint8 *p, gsize len)
{
  guint64 w;

  h = sk_key_hash_step (h, len);
  for (; len >= 8; p += 8, len -= 8)
    {
      memcpy (&w, p, 8);
      h = sk_key_hash_step (h, w);
    }
  if (len > 0)
    {
      w = 0;
      for (gsize k = 0; k < len; k++)
        w |= (guint64)p[k] << (8 * k);
      h = sk_key_hash_step (h, w);
    }
  return h;
}

/* The longest digit field whose values are their own unique keys: four bits
 * a digit and four for the length fill a 64-bit word. */
#define SK_DIGITS_KEY_MAX 15

/* A value of a digit field of at most SK_DIGITS_KEY_MAX digits as itself:
 * its digits as four bits each and its length in the four bits below them,
 * mixed by sk_key_mix (), a bijection that keeps every such word non-zero.  Two
 * values have one key exactly when they are equal, so a unique digit field
 * (個人番号) never reports a duplicate that is not one.  The value must be
 * digits (its field's type check passed): any other byte loses its top
 * bits, which could only make two values look equal, never two equal
 * values differ. */
static inline guint64
sk_key_digits (const guint8 *p, guint len)
{
  guint64 packed = 0, w;
  guint i = 0;

  g_assert (len >= 1 && len <= SK_DIGITS_KEY_MAX);
  if (len >= 8)
    {
      /* Eight digits' low nibbles gathered into 32 bits, in three steps. */
      memcpy (&w, p, 8);
      w &= G_GUINT64_CONSTANT (0x0F0F0F0F0F0F0F0F);
      w = (w | w >> 4) & G_GUINT64_CONSTANT (0x00FF00FF00FF00FF);
      w = (w | w >> 8) & G_GUINT64_CONSTANT (0x0000FFFF0000FFFF);
      packed = (w | w >> 16) & G_GUINT64_CONSTANT (0xFFFFFFFF);
      i = 8;
    }
  for (; i < len; i++)
    packed = packed << 4 | (p[i] & 0x0Fu);
  return sk_key_mix (packed << 4 | len);
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
  /* A unique digit field short enough for its values to be their own keys
   * (sk_key_digits ()). */
  gboolean digits_key;
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
