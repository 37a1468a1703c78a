/* sk-record-plan.c — a record layout compiled for the validator's inner loop */
#define G_LOG_DOMAIN "sekisho-validator"

#include "config.h"

#include <string.h>

#include "sk-record-plan.h"

/* ---- code lists ---------------------------------------------------------- */

/* Digit codes of one length up to three: their bitmap, else FALSE. */
static gboolean
code_set_init_digits (SkCodeSet *set, const SkCodes *codes)
{
  gsize len = codes->lengths[0];

  if (len == 0 || len > 3)
    return FALSE;
  for (guint i = 0; i < codes->n; i++)
    {
      if (codes->lengths[i] != len)
        return FALSE;
      for (gsize k = 0; k < len; k++)
        if (!g_ascii_isdigit (codes->values[i][k]))
          return FALSE;
    }
  set->digits = (guint)len;
  set->digit_bits = g_new0 (guint8, 1000 / 8 + 1);
  for (guint i = 0; i < codes->n; i++)
    {
      guint index = 0;
      for (gsize k = 0; k < len; k++)
        index = index * 10 + (guint)(codes->values[i][k] - '0');
      set->digit_bits[index >> 3] |= (guint8)(1u << (index & 7));
    }
  return TRUE;
}

void
sk_code_set_init (SkCodeSet *set, const SkCodes *codes)
{
  set->n = codes->n;
  if (codes->n == 0 || code_set_init_digits (set, codes))
    return;
  for (guint i = 0; i < codes->n; i++)
    if (codes->lengths[i] > 8)
      {
        set->codes = codes;
        return;
      }
  set->words = g_new0 (guint64, codes->n);
  set->lengths = g_new0 (guint8, codes->n);
  for (guint i = 0; i < codes->n; i++)
    {
      for (gsize k = 0; k < codes->lengths[i]; k++)
        set->words[i] |= (guint64)(guint8)codes->values[i][k] << (8 * k);
      set->lengths[i] = (guint8)codes->lengths[i];
    }
}

void
sk_code_set_clear (SkCodeSet *set)
{
  g_free (set->digit_bits);
  g_free (set->words);
  g_free (set->lengths);
}

/* ---- fields --------------------------------------------------------------- */

/* Words of record bytes are read little-endian here and in the validator
 * (masks, padding patterns, counting padding bytes from a word's top). */
G_STATIC_ASSERT (G_BYTE_ORDER == G_LITTLE_ENDIAN);

/* The little-endian mask of bytes FROM..TO-1 of a word. */
static guint64
byte_mask (guint from, guint to)
{
  guint64 upto = to >= 8 ? G_MAXUINT64 : (G_GUINT64_CONSTANT (1) << (8 * to)) - 1;
  guint64 below = (G_GUINT64_CONSTANT (1) << (8 * from)) - 1;
  return upto & ~below;
}

/* A P1 digit field is read a word at a time; the bytes after its last whole
 * word are read as one word that ends where the field ends (or starts where
 * the record starts), so that no load leaves the record. */
static void
plan_words (SkFieldPlan *fp, const SkField *f, guint record_length)
{
  guint end = f->offset + f->length;

  if (f->type != SK_FIELD_DIGITS || record_length < 8 || end > record_length)
    return;
  fp->wordwise = TRUE;
  fp->n_words = f->length / 8;
  guint rest = f->offset + fp->n_words * 8;
  if (rest == end)
    return;
  fp->tail_at = end >= 8 ? end - 8 : 0;
  fp->tail_mask = byte_mask (rest - fp->tail_at, end - fp->tail_at);
}

static void
plan_field (SkFieldPlan *fp, const SkField *f, guint record_length)
{
  fp->field = f;
  fp->offset = f->offset;
  fp->length = f->length;
  fp->type = f->type;
  fp->blank = f->blank;
  fp->optional = f->optional;
  fp->kana = f->kana;
  fp->halfwidth_kana = f->halfwidth_kana;
  if (record_length > 0)
    plan_words (fp, f, record_length);
  fp->const_len = f->const_value != NULL ? strlen (f->const_value) : 0;
  fp->prefix_len = f->prefix != NULL ? strlen (f->prefix) : 0;
  fp->has_rules = f->needs_number || f->const_value != NULL || f->codes.n > 0 ||
                  f->prefix != NULL || f->check != SK_CHECK_NONE || f->date != SK_DATE_NONE ||
                  f->has_min || f->has_max || f->allow_list_inquiry;
  sk_code_set_init (&fp->codes, &f->codes);
  sk_code_set_init (&fp->required_when, &f->required_when.codes);
  sk_code_set_init (&fp->blank_when, &f->blank_when.codes);
  sk_code_set_init (&fp->count_when, &f->count_when.codes);
  fp->digits_key = f->unique && f->type == SK_FIELD_DIGITS && f->length <= SK_DIGITS_KEY_MAX;
  fp->across = f->group >= 0 || f->required_when.field >= 0 || f->blank_when.field >= 0 ||
               f->not_before >= 0 || f->agrees_with >= 0 || f->age_at >= 0;
}

/* ---- records -------------------------------------------------------------- */

SkRecordPlan *
sk_record_plan_new (const SkRecordLayout *layout, guint record_length)
{
  SkRecordPlan *plan = g_new0 (SkRecordPlan, 1);
  guint n = layout->fields->len;

  plan->layout = layout;
  plan->n_fields = n;
  plan->fields = g_new0 (SkFieldPlan, MAX (n, 1));
  plan->across = g_new0 (guint, MAX (n, 1));
  plan->unique = g_new0 (guint, MAX (n, 1));
  plan->tally = g_new0 (guint, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    {
      const SkField *f = g_ptr_array_index (layout->fields, i);
      SkFieldPlan *fp = &plan->fields[i];

      plan_field (fp, f, record_length);
      if (fp->across)
        plan->across[plan->n_across++] = i;
      if (f->unique)
        plan->unique[plan->n_unique++] = i;
      if (f->count == SK_COUNT_CODES || f->sum >= 0)
        plan->tally[plan->n_tally++] = i;
    }
  return plan;
}

void
sk_record_plan_free (SkRecordPlan *plan)
{
  if (plan == NULL)
    return;
  for (guint i = 0; i < plan->n_fields; i++)
    {
      sk_code_set_clear (&plan->fields[i].codes);
      sk_code_set_clear (&plan->fields[i].required_when);
      sk_code_set_clear (&plan->fields[i].blank_when);
      sk_code_set_clear (&plan->fields[i].count_when);
    }
  g_free (plan->fields);
  g_free (plan->across);
  g_free (plan->unique);
  g_free (plan->tally);
  g_free (plan);
}
