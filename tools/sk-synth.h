/* sk-synth.h — synthetic interface files, valid by construction
 *
 * Every file is generated from the policy's layouts: change a layout and the
 * generator follows.  Values are obviously fictitious (試験 names, 架空県
 * addresses) but pass every rule: check digits, eras, ages, conditions,
 * trailer counts and sums.  The same seed gives the same bytes, and a result
 * file generated with the seed of its request pairs with it record by record.
 *
 * Synthetic data only: nothing here ever reads real personal data.
 */
#pragma once

#include <stdio.h>

#include "sk-policy.h"

G_BEGIN_DECLS

typedef struct
{
  guint64 seed;
  guint64 records;        /* data records */
  const char *lg_code;    /* 6 digits with a valid check digit; NULL: 039004-like default */
  const char *timestamp;  /* YYYYMMDDhhmmss; NULL: 20261124153000 */
  guint seq;              /* 連番, 1..999 */
  const char *case_id;    /* 処理番号; NULL: derived from the seed */
  const char *request_id; /* results: the request kind to pair with; NULL: the first that does */
} SkSynthOptions;

void
sk_synth_options_init (SkSynthOptions *opts);

/* The file name the kind's name_pattern expects for these options. */
char *
sk_synth_file_name (const SkKind *kind, const SkSynthOptions *opts);

gboolean
sk_synth_write (
    SkPolicy *policy, const SkKind *kind, const SkSynthOptions *opts, FILE *out, GError **error);

/* Write into DIR under the expected name; returns the path. */
char *
sk_synth_write_file (SkPolicy *policy,
                     const SkKind *kind,
                     const SkSynthOptions *opts,
                     const char *dir,
                     GError **error);

G_END_DECLS
