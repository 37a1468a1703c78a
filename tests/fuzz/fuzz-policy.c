/* fuzz-policy.c — the policy loader, and the validator under hostile layouts
 *
 * Input: one flag byte, the policy's JSON, and optionally a NUL byte followed
 * by a payload.  Flags: bit 0 clear loads the layouts only (an empty key
 * section is accepted, as in policies/default.json), set loads the policy in
 * full; bit 1 also runs the synthetic-data generator on every kind and
 * validates what it wrote (with pairing for results).
 *
 * When the policy loads, its name patterns are matched against a few names
 * and a tiny file of each kind is validated: one header, two data records, a
 * trailer and an end, each the record's type character followed by the
 * payload (or, without one, "0" bytes in P1 and empty columns in P2).  The
 * compiled layouts of a hostile but schema-valid policy are exercised there.
 * Every file is fed in two halves and once more all at once, and both must
 * agree on whether it passes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk-fuzz.h"
#include "sk-policy-private.h"
#include "sk-synth.h"
#include "sk-validator.h"

#define MAX_KINDS 4

static const char *const fixed_names[] = {
  "039004_KNY01_20261124153000_001.DAT",
  "039004_SKI02_20261124153000_001.CSV",
  "",
  "_",
  "039004_KNY01_20261124153000_001.DAT.gpg",
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!",
};

static void
tiny_file (const SkKind *kind, const guint8 *payload, gsize payload_len, GByteArray *out)
{
  static const char types[] = { '1', '2', '2', '8', '9' };

  g_byte_array_set_size (out, 0);
  for (gsize t = 0; t < G_N_ELEMENTS (types); t++)
    {
      g_byte_array_append (out, (const guint8 *)&types[t], 1);
      if (kind->profile == SK_PROFILE_P1)
        {
          guint body = kind->record_length - 3;
          for (guint i = 0; i < body; i++)
            {
              guint8 b = payload_len > 0 ? payload[i % payload_len] : '0';
              g_byte_array_append (out, &b, 1);
            }
        }
      else if (payload_len > 0)
        g_byte_array_append (out, payload, (guint)payload_len);
      else
        {
          SkRecordType rt = t == 0   ? SK_RECORD_HEADER
                            : t < 3  ? SK_RECORD_DATA
                            : t == 3 ? SK_RECORD_TRAILER
                                     : SK_RECORD_END;
          for (guint i = 1; i < kind->records[rt]->fields->len; i++)
            g_byte_array_append (out, (const guint8 *)",", 1);
        }
      g_byte_array_append (out, (const guint8 *)"\r\n", 2);
    }
}

static GByteArray *
synth (SkPolicy *policy, const SkKind *kind, const SkSynthOptions *opts)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream (&buf, &len);
  g_autoptr (GError) error = NULL;

  g_assert (out != NULL);
  gboolean ok = sk_synth_write (policy, kind, opts, out, &error);
  fclose (out);
  GByteArray *bytes = g_byte_array_new ();
  if (ok)
    g_byte_array_append (bytes, (const guint8 *)buf, (guint)len);
  free (buf);
  return bytes;
}

/* Validate BYTES in two halves, and once more all at once. */
static void
validate (SkPolicy *policy,
          const char *name,
          const GByteArray *bytes,
          const SkKeySet *request,
          guint64 request_records)
{
  SkFuzzRun run = {
    .chunk = (bytes->len + 1) / 2,
    .collect = request == NULL,
    .request = request,
    .request_records = request_records,
    .announce = TRUE,
    .expected_size = bytes->len,
  };
  sk_fuzz_validate_both_ways (policy, name, bytes->data, bytes->len, &run);
}

static void
run_synth (SkPolicy *policy, const SkKind *kind)
{
  SkSynthOptions opts;
  sk_synth_options_init (&opts);
  opts.records = 2;
  g_autofree char *name = sk_synth_file_name (kind, &opts);
  g_autoptr (GByteArray) bytes = synth (policy, kind, &opts);

  g_autoptr (GPtrArray) requests = _sk_policy_requests_for (policy, kind->id);
  if (requests->len == 0)
    {
      validate (policy, name, bytes, NULL, 0);
      return;
    }
  const SkKind *request = g_ptr_array_index (requests, 0);
  g_autofree char *req_name = sk_synth_file_name (request, &opts);
  g_autoptr (GByteArray) req_bytes = synth (policy, request, &opts);
  SkFuzzRun run = { .collect = TRUE };
  g_autoptr (SkKeySet) keys = NULL;
  g_autoptr (SkFileReport) report =
      sk_fuzz_validate (policy, req_name, req_bytes->data, req_bytes->len, &run, &keys);
  if (keys != NULL)
    validate (policy, name, bytes, keys, report->records);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;

  gboolean layouts_only = (data[0] & 1) == 0;
  gboolean generate = (data[0] & 2) != 0;
  const guint8 *json = data + 1;
  const guint8 *nul = memchr (json, 0, size - 1);
  gsize json_len = nul != NULL ? (gsize)(nul - json) : size - 1;
  const guint8 *payload = nul != NULL ? nul + 1 : NULL;
  gsize payload_len = nul != NULL ? (gsize)(data + size - payload) : 0;

  g_autoptr (GBytes) bytes = g_bytes_new (json, json_len);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPolicy) policy = _sk_policy_new_from_bytes_full (bytes, layouts_only, &error);
  if (policy == NULL)
    {
      g_assert (error != NULL);
      return 0;
    }
  g_assert (error == NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (fixed_names); i++)
    (void)sk_policy_match_file_name (policy, fixed_names[i]);
  g_auto (GStrv) allow = sk_policy_dup_inquiry_allow_list (policy);
  for (guint i = 0; allow[i] != NULL; i++)
    g_assert (sk_policy_inquiry_allowed (policy, allow[i], strlen (allow[i])));
  g_assert (layouts_only || sk_policy_get_admins (policy)[0] != NULL);
  for (SkDirection d = SK_DIRECTION_TO_INTERMEDIATE; d <= SK_DIRECTION_TO_STANDARD; d++)
    g_assert (sk_policy_get_signers (policy, d) != NULL &&
              sk_policy_get_recipient (policy, d) != NULL);

  GPtrArray *kinds = sk_policy_get_kinds (policy);
  g_autoptr (GByteArray) file = g_byte_array_new ();
  SkSynthOptions opts;
  sk_synth_options_init (&opts);
  for (guint k = 0; k < kinds->len && k < MAX_KINDS; k++)
    {
      const SkKind *kind = g_ptr_array_index (kinds, k);
      g_autofree char *name = sk_synth_file_name (kind, &opts);

      (void)sk_policy_match_file_name (policy, name);
      (void)sk_policy_needs_dual_control (policy, kind->id);
      g_assert (sk_policy_lookup_kind (policy, kind->id) == kind);
      tiny_file (kind, payload, payload_len, file);
      validate (policy, name, file, NULL, 0);
      if (generate)
        run_synth (policy, kind);
    }
  return 0;
}
