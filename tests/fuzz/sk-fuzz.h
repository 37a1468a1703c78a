/* sk-fuzz.h — the libFuzzer entry point, and helpers shared by the targets
 *
 * Each target is linked either with libFuzzer (-fsanitize=fuzzer, which
 * provides main) or with fuzz-replay.c, whose main() runs the target over a
 * committed corpus as an ordinary TAP test.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "sk-policy.h"
#include "sk-validator.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* The default policy's layouts, loaded once (its key section is empty). */
SkPolicy *
sk_fuzz_default_policy (void);

typedef struct
{
  gsize chunk;             /* bytes per sk_validator_feed; 0: all at once */
  gboolean collect;        /* sk_validator_collect_pair_keys */
  const SkKeySet *request; /* sk_validator_set_request when not NULL */
  guint64 request_records;
  gboolean announce;     /* sk_validator_set_expected_size first */
  guint64 expected_size; /* what to announce */
} SkFuzzRun;

/* Validate DATA as the file NAME, then check what every report must hold. */
SkFileReport *
sk_fuzz_validate (SkPolicy *policy,
                  const char *name,
                  const guint8 *data,
                  gsize len,
                  const SkFuzzRun *run,
                  SkKeySet **out_keys);

/* Validate DATA as RUN says and, when RUN feeds it in chunks, once more all
 * at once: the chunks must not change whether the file passes, nor, when it
 * passes, its records, 処理番号 or pair keys. */
void
sk_fuzz_validate_both_ways (
    SkPolicy *policy, const char *name, const guint8 *data, gsize len, const SkFuzzRun *run);
