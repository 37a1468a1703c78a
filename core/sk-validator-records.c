/* sk-validator-records.c — checks across fields and records, and of the whole file
 *
 * Once a record's fields are read: conditions, groups, dates, eras and age
 * across its fields; then by the record's type the header's agreement with
 * the file name, the data records' unique keys, pairing and the tallies the
 * trailer is checked against, and the trailer's counts and sums.  At the
 * end, what the whole file lacks.
 */
#define G_LOG_DOMAIN "sekisho-validator"

#include "config.h"

#include <string.h>

#include "sk-date.h"
#include "sk-policy-private.h"
#include "sk-record-plan.h"
#include "sk-validator-private.h"
#include "sk-validator.h"

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
        _sk_validator_add_finding (v, SK_ERROR_FIELD_MISSING, record, f);
      if (f->blank_when.field >= 0 && !val->blank &&
          value_in (&vals[f->blank_when.field], &fp->blank_when))
        _sk_validator_add_finding (v, SK_ERROR_CODE_VALUE, record, f);
      if (val->blank)
        continue;

      if (f->not_before >= 0)
        {
          const SkValue *t = &vals[f->not_before];
          if (t->ok && !t->blank && val->ymd < t->ymd)
            _sk_validator_add_finding (v, SK_ERROR_DATE_INVALID, record, f);
        }
      if (f->agrees_with >= 0)
        {
          const SkValue *t = &vals[f->agrees_with];
          if (t->ok && !t->blank && val->ymd != t->ymd)
            _sk_validator_add_finding (v, SK_ERROR_ERA_MISMATCH, record, f);
        }
      if (f->age_at >= 0)
        {
          const SkValue *t = &vals[f->age_at];
          if (t->ok && !t->blank && sk_age_on_ymd (val->ymd, t->ymd) < (int)f->age_min)
            _sk_validator_add_finding (v, SK_ERROR_AGE, record, f);
        }
    }

  for (guint g = 0; g < layout->n_groups; g++)
    if (group_ok[g] && group_count[g] != 1)
      _sk_validator_add_finding (v,
                                 group_count[g] == 0 ? SK_ERROR_FIELD_MISSING : SK_ERROR_CODE_VALUE,
                                 record, group_first[g]);
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
void
_sk_validator_flush_unique (SkValidator *v, guint i)
{
  SkPendingKey *pending = &v->pending_unique[i];

  if (!pending->set)
    return;
  pending->set = FALSE;
  if (!_sk_key_set_add (v->unique[i], pending->key))
    _sk_validator_add_finding (v, SK_ERROR_DUPLICATE_KEY, pending->record,
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
      _sk_validator_add_finding (v, SK_ERROR_FILE_TOO_LARGE, record, NULL);
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
      _sk_key_set_prefetch (v->unique[i], key);
      _sk_validator_flush_unique (v, i);
      v->pending_unique[i] = (SkPendingKey){ key, record, TRUE };
    }

  if (v->pair_keys != NULL || v->have_request)
    {
      gboolean complete;
      guint64 key = pair_key_hash (kind, vals, &complete);
      const SkField *first = g_ptr_array_index (layout->fields, kind->pair_key_index[0]);
      if (complete && v->pair_keys != NULL)
        _sk_key_set_add (v->pair_keys, key);
      if (v->have_request)
        {
          if (v->report->records > v->request_records)
            _sk_validator_add_finding (v, SK_ERROR_PAIRING, record, NULL);
          else if (complete && !_sk_key_set_contains (v->request_keys, key))
            _sk_validator_add_finding (v, SK_ERROR_PAIRING, record, first);
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
        _sk_validator_add_finding (v, SK_ERROR_FILE_NAME, record, f);
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
            _sk_validator_add_finding (v, SK_ERROR_TRAILER_COUNT, record, f);
        }
      if (f->sum >= 0 && (v->sum_overflow[t] || val->number != v->sums[t]))
        _sk_validator_add_finding (v, SK_ERROR_TRAILER_SUM, record, f);
    }
}

void
_sk_validator_finish_record (SkValidator *v, const SkRecordPlan *plan, guint64 record)
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
SkFileReport *
sk_validator_finish (SkValidator *v, SkKeySet **out_pair_keys)
{
  g_return_val_if_fail (v != NULL, NULL);

  for (guint i = 0; v->kind != NULL && i < SK_MAX_FIELDS; i++)
    if (v->unique[i] != NULL)
      _sk_validator_flush_unique (v, i);
  if (v->kind != NULL && !v->stopped)
    {
      if (v->carry->len > 0)
        {
          /* Bytes after the last CR LF: before the end record, a record cut
           * short; after it, trailing bytes such as an EOF mark (0x1A),
           * which the file's encoding forbids (DOMAIN.md: no trailing
           * bytes, no 0x1A). */
          _sk_validator_add_finding (
              v, v->state == STATE_END ? SK_ERROR_ENCODING : SK_ERROR_LINE_ENDING, v->record_no + 1,
              NULL);
        }
      else if (v->state != STATE_END)
        _sk_validator_add_finding (v, SK_ERROR_RECORD_ORDER, 0, NULL);
    }
  if (out_pair_keys != NULL)
    *out_pair_keys = g_steal_pointer (&v->pair_keys);
  return g_steal_pointer (&v->report);
}
