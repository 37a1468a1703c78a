/* sk-fuzz-util.c — helpers shared by the fuzz targets */
#include "config.h"

#include "sk-fuzz.h"
#include "sk-policy-private.h"

SkPolicy *
sk_fuzz_default_policy (void)
{
  static SkPolicy *policy;

  if (policy == NULL)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *text = NULL;
      gsize len;

      if (!g_file_get_contents (SK_SOURCE_POLICY_DIR "/default.json", &text, &len, &error))
        g_error ("fuzz: %s", error->message);
      g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&text), len);
      policy = _sk_policy_new_from_bytes_full (bytes, TRUE, &error);
      if (policy == NULL)
        g_error ("fuzz: default.json: %s", error->message);
    }
  return policy;
}

SkFileReport *
sk_fuzz_validate (SkPolicy *policy,
                  const char *name,
                  const guint8 *data,
                  gsize len,
                  const SkFuzzRun *run,
                  SkKeySet **out_keys)
{
  g_autoptr (SkValidator) v = sk_validator_new (policy, name);
  gsize chunk = run->chunk != 0 ? run->chunk : len;

  if (run->collect)
    sk_validator_collect_pair_keys (v);
  if (run->request != NULL)
    sk_validator_set_request (v, run->request, run->request_records);
  if (run->announce)
    sk_validator_set_expected_size (v, run->expected_size);
  for (gsize at = 0; at < len;)
    {
      gsize n = MIN (chunk, len - at);
      if (!sk_validator_feed (v, data + at, n))
        break;
      at += n;
    }

  SkFileReport *report = sk_validator_finish (v, out_keys);
  g_assert (report != NULL);
  g_assert (report->size <= len);
  g_assert (report->findings->len <= sk_policy_get_max_findings (policy));
  g_assert (report->kind != NULL || !sk_file_report_ok (report));
  /* Every finding names a field of the layout or none. */
  for (guint i = 0; i < report->findings->len; i++)
    {
      const SkFinding *f = &g_array_index (report->findings, SkFinding, i);
      g_assert ((f->field == 0) == (f->field_name == NULL));
      g_assert (f->record <= report->records + len + 1);
    }
  if (out_keys != NULL && *out_keys != NULL)
    g_assert (sk_key_set_size (*out_keys) <= report->records);
  return report;
}

void
sk_fuzz_validate_both_ways (
    SkPolicy *policy, const char *name, const guint8 *data, gsize len, const SkFuzzRun *run)
{
  g_autoptr (SkKeySet) keys = NULL;
  g_autoptr (SkFileReport) report =
      sk_fuzz_validate (policy, name, data, len, run, run->collect ? &keys : NULL);

  if (run->chunk == 0 || run->chunk >= len)
    return;

  SkFuzzRun whole = *run;
  whole.chunk = 0;
  g_autoptr (SkKeySet) whole_keys = NULL;
  g_autoptr (SkFileReport) whole_report =
      sk_fuzz_validate (policy, name, data, len, &whole, run->collect ? &whole_keys : NULL);
  g_assert (sk_file_report_ok (report) == sk_file_report_ok (whole_report));
  if (sk_file_report_ok (report))
    {
      g_assert (report->records == whole_report->records);
      g_assert (g_strcmp0 (report->case_id, whole_report->case_id) == 0);
      g_assert ((keys == NULL) == (whole_keys == NULL));
      g_assert (keys == NULL || sk_key_set_size (keys) == sk_key_set_size (whole_keys));
    }
}
