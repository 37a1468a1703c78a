/* sk-validator.c — the record-layout validator of P1 and P2 files
 *
 * One pass over the bytes, one line of carry-over between chunks.  Each
 * record is checked field by field against its layout (type and repertoire
 * first, then the field's rules), then across fields (dates, eras, age,
 * conditions, groups), then across records (order, uniqueness, trailer
 * counts and sums, pairing with a request).  A field that fails one check
 * gives one finding and takes no part in checks across fields.
 *
 * The validator is one object whose parts live in files by concept:
 * sk-validator.c (the object, its sets of keys, findings and report),
 * sk-validator-lines.c (the hot loop: bytes to lines, a line's layout, its
 * fields by type and repertoire), sk-validator-rules.c (the rules of one
 * field), sk-validator-records.c (across fields and records, and the whole
 * file at its end) and sk-validator-paths.c (files by path, requests before
 * results, large files on two cores).  They share sk-validator-private.h.
 */
#define G_LOG_DOMAIN "sekisho-validator"

#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sk-charset.h"
#include "sk-policy-private.h"
#include "sk-record-plan.h"
#include "sk-validator-private.h"
#include "sk-validator.h"

/* ---- a set of 64-bit keys ---------------------------------------------- */

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
SkKeySet *
_sk_key_set_new (guint64 expected)
{
  SkKeySet *set = g_new0 (SkKeySet, 1);
  guint64 slots = 1024;
  while (slots < expected * 2 && slots < (G_GUINT64_CONSTANT (1) << 32))
    slots *= 2;
  set->mask = slots - 1;
  set->slots = slots_new (slots);
  return set;
}

void
_sk_key_set_reserve (SkKeySet *set, guint64 expected)
{
  if (set->size == 0 && expected * 2 > set->mask + 1)
    {
      g_autoptr (SkKeySet) bigger = _sk_key_set_new (expected);
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

/* TRUE when KEY was new. */
gboolean
_sk_key_set_add (SkKeySet *set, guint64 key)
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

guint8 _sk_validator_p1_class[256];
/* Every double-byte code (b1 << 8 | b2), once: one load per character of a
 * name or an address tells both whether it is JIS X 0208 and whether it is
 * 全角カタカナ. */
guint8 _sk_validator_sjis_class[65536];

static void
init_tables (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      for (guint b = 0x20; b <= 0x7E; b++)
        _sk_validator_p1_class[b] |= P1_ASCII;
      for (guint b = 0xA1; b <= 0xDF; b++)
        _sk_validator_p1_class[b] |= P1_KANA;
      const guint8 *jisx0208_bits = sk_sjis_jisx0208_table ();
      for (guint idx = 0; idx < 65536; idx++)
        {
          if ((jisx0208_bits[idx >> 3] >> (idx & 7)) & 1)
            _sk_validator_sjis_class[idx] |= SJIS_JISX0208;
          if (sk_sjis_is_fullwidth_kana ((guint8)(idx >> 8), (guint8)idx))
            _sk_validator_sjis_class[idx] |= SJIS_FULLWIDTH_KANA;
        }
      g_once_init_leave (&once, 1);
    }
}

void
_sk_validator_add_finding_detail (
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

void
_sk_validator_add_finding (SkValidator *v, SkErrorCode code, guint64 record, const SkField *field)
{
  _sk_validator_add_finding_detail (v, code, record, field, NULL);
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
      _sk_validator_add_finding (v, SK_ERROR_FILE_KIND_UNKNOWN, 0, NULL);
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
    v->unique[data->unique[u]] = _sk_key_set_new (0);
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
    v->pair_keys = _sk_key_set_new (v->expected_records);
}

void
sk_validator_set_request (SkValidator *v, const SkKeySet *keys, guint64 request_records)
{
  v->request_keys = keys;
  v->request_records = request_records;
  v->have_request = TRUE;
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
      _sk_key_set_reserve (v->unique[i], v->expected_records);
  if (v->pair_keys != NULL)
    _sk_key_set_reserve (v->pair_keys, v->expected_records);
}
