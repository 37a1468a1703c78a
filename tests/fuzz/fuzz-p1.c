/* fuzz-p1.c — the P1 (fixed-length CP932) validator
 *
 * Input: one byte of flags, one byte choosing the chunk size (0: the whole
 * rest at once, else 1..255 bytes per sk_validator_feed, so that lines are
 * carried over between chunks), then the file's bytes.  Flags: the low 5 bits
 * choose the kind; bit 6 announces the file's size first
 * (sk_validator_set_expected_size), bit 5 then claims 1024 times the real
 * size; bit 7 clear collects the pair keys.  The file name is the one the
 * kind expects, so the header's agreement with it is checked as well.  Fed in
 * chunks, the file is validated once more all at once, and both must agree
 * on whether it passes.
 */
#include "config.h"

#include "sk-fuzz.h"
#include "sk-synth.h"

static const char *const p1_kinds[] = { "KNY01", "FKH01", "FKH02", "FKH03", "SKI01", "JLS01" };

static char *names[G_N_ELEMENTS (p1_kinds)];

static void
setup (SkPolicy *policy)
{
  SkSynthOptions opts;

  sk_synth_options_init (&opts);
  for (gsize i = 0; i < G_N_ELEMENTS (p1_kinds); i++)
    {
      const SkKind *kind = sk_policy_lookup_kind (policy, p1_kinds[i]);
      g_assert (kind != NULL && sk_kind_get_profile (kind) == SK_PROFILE_P1);
      names[i] = sk_synth_file_name (kind, &opts);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  SkPolicy *policy = sk_fuzz_default_policy ();

  if (names[0] == NULL)
    setup (policy);
  if (size < 2)
    return 0;

  gsize which = (data[0] & 0x1F) % G_N_ELEMENTS (p1_kinds);
  gboolean inflate = (data[0] & 0x20) != 0;
  SkFuzzRun run = {
    .chunk = data[1],
    .collect = (data[0] & 0x80) == 0,
    .announce = (data[0] & 0x40) != 0,
    .expected_size = (guint64)(size - 2) << (inflate ? 10 : 0),
  };
  sk_fuzz_validate_both_ways (policy, names[which], data + 2, size - 2, &run);
  return 0;
}
