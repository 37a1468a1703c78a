/* fuzz-p2.c — the P2 (CSV, UTF-8) validator, with pairing
 *
 * Input: one byte of flags, one byte choosing the chunk size (0: the whole
 * rest at once, else 1..255 bytes per sk_validator_feed), then the file's
 * bytes.  Flags: the low 4 bits choose the kind; bit 4 announces the file's
 * size first (sk_validator_set_expected_size), bit 5 then claims 1024 times
 * the real size; the high 2 bits choose the pairing mode.
 *
 * Pairing modes: 0 pairs the result with the pair keys of a valid request
 * generated once at start-up (seed 1, 3 records: the seed corpus holds the
 * results generated with the same seed, which pair record by record); 1 does
 * not pair; 2 pairs with the same keys but says the request had one record;
 * 3 pairs with an empty request.  Fed in chunks, the file is validated once
 * more all at once, and both must agree on whether it passes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "sk-fuzz.h"
#include "sk-policy-private.h"
#include "sk-synth.h"

#define REQUEST_RECORDS 3

static const char *const p2_kinds[] = { "KNY02", "FKH09", "SKI02", "SKI03", "JLS02" };

typedef struct
{
  char *name;
  SkKeySet *keys;  /* of the request generated at start-up */
  guint64 records; /* its data records */
  SkKeySet *empty; /* of an empty request */
} Target;

static SkPolicy *policy;
static Target targets[G_N_ELEMENTS (p2_kinds)];

/* Validate BYTES as a file of KIND, collecting its pair keys. */
static SkKeySet *
request_keys (const SkKind *kind, const guint8 *bytes, gsize len, guint64 *out_records)
{
  SkSynthOptions opts;
  sk_synth_options_init (&opts);
  g_autofree char *name = sk_synth_file_name (kind, &opts);
  SkFuzzRun run = { .collect = TRUE };
  SkKeySet *keys = NULL;
  g_autoptr (SkFileReport) report = sk_fuzz_validate (policy, name, bytes, len, &run, &keys);

  g_assert (keys != NULL);
  if (out_records != NULL)
    *out_records = report->records;
  /* The generated request is valid, or the fuzzer would not pair at all. */
  if (len > 0 && !sk_file_report_ok (report))
    g_error ("fuzz-p2: the generated %s is not valid", kind->id);
  return keys;
}

static void
setup (void)
{
  g_autoptr (GError) error = NULL;

  policy = sk_fuzz_default_policy ();
  for (gsize i = 0; i < G_N_ELEMENTS (p2_kinds); i++)
    {
      const SkKind *kind = sk_policy_lookup_kind (policy, p2_kinds[i]);
      g_assert (kind != NULL && sk_kind_get_profile (kind) == SK_PROFILE_P2);
      g_autoptr (GPtrArray) requests = _sk_policy_requests_for (policy, kind->id);
      g_assert (requests->len > 0);
      const SkKind *request = g_ptr_array_index (requests, 0);

      SkSynthOptions opts;
      sk_synth_options_init (&opts);
      opts.records = REQUEST_RECORDS;
      targets[i].name = sk_synth_file_name (kind, &opts);

      char *buf = NULL;
      size_t buf_len = 0;
      FILE *out = open_memstream (&buf, &buf_len);
      g_assert (out != NULL);
      if (!sk_synth_write (policy, request, &opts, out, &error))
        g_error ("fuzz-p2: %s", error->message);
      fclose (out);
      targets[i].keys = request_keys (request, (const guint8 *)buf, buf_len, &targets[i].records);
      g_assert (targets[i].records == REQUEST_RECORDS);
      free (buf);
      targets[i].empty = request_keys (request, NULL, 0, NULL);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (policy == NULL)
    setup ();
  if (size < 2)
    return 0;

  const Target *t = &targets[(data[0] & 0x0F) % G_N_ELEMENTS (p2_kinds)];
  gboolean inflate = (data[0] & 0x20) != 0;
  SkFuzzRun run = {
    .chunk = data[1],
    .announce = (data[0] & 0x10) != 0,
    .expected_size = (guint64)(size - 2) << (inflate ? 10 : 0),
  };
  switch (data[0] >> 6)
    {
    case 0:
      run.request = t->keys, run.request_records = t->records;
      break;
    case 1:
      break;
    case 2:
      run.request = t->keys, run.request_records = 1;
      break;
    default:
      run.request = t->empty, run.request_records = 0;
      break;
    }
  sk_fuzz_validate_both_ways (policy, t->name, data + 2, size - 2, &run);
  return 0;
}
