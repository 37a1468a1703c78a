/* sk-validator.h — streaming, single-pass validation of interface files
 *
 * A validator is made for one file name, fed the file's bytes in chunks of any
 * size (from disk, or later from a decrypting stream), and finished.  It keeps
 * memory flat: one line of carry-over, and for `unique` fields and pairing a
 * set of 64-bit keys per file.  Findings carry a reason code, the 1-based
 * record and field numbers and the field's name from the policy — never the
 * value that was found.
 */
#pragma once

#include <gio/gio.h>

#include "sk-error.h"
#include "sk-policy.h"

G_BEGIN_DECLS

typedef struct
{
  SkErrorCode code;
  guint64 record;         /* 1-based, counting every record; 0: the whole file */
  guint field;            /* 1-based in the record's layout; 0: the whole record */
  const char *field_name; /* borrowed from the policy; NULL with field 0 */
  /* For encoding findings, what kind of character it was (DOMAIN.md §5:
   * classify and report): "control", "not-shift-jis", "nec-special",
   * "nec-selected-ibm-extension", "ibm-extension", "user-defined" (外字),
   * "unassigned", "not-utf-8", "private-use", "outside-jis-x-0213",
   * "byte-order-mark"; NULL otherwise.  A static string. */
  const char *detail;
} SkFinding;

typedef struct
{
  char *file;         /* the base name as given: untrusted text, escape before showing */
  const SkKind *kind; /* NULL when no kind's name_pattern matched */
  char *case_id;      /* 処理番号 of the header, NULL when unreadable */
  guint64 records;    /* data records */
  guint64 size;       /* bytes read */
  GArray *findings;   /* SkFinding */
  gboolean truncated; /* stopped at the policy's max_findings */
} SkFileReport;

void
sk_file_report_free (SkFileReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkFileReport, sk_file_report_free)
gboolean
sk_file_report_ok (const SkFileReport *report);

/* The pair keys of a request's records, for checking its results. */
typedef struct _SkKeySet SkKeySet;
void
sk_key_set_free (SkKeySet *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkKeySet, sk_key_set_free)
guint64
sk_key_set_size (const SkKeySet *set);

typedef struct _SkValidator SkValidator;

/* FILE_NAME is the base name the file arrived under; it selects the kind. */
SkValidator *
sk_validator_new (SkPolicy *policy, const char *file_name);
void
sk_validator_free (SkValidator *validator);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkValidator, sk_validator_free)

const SkKind *
sk_validator_get_kind (SkValidator *validator);
/* Requests: collect the pair keys of every data record while validating. */
void
sk_validator_collect_pair_keys (SkValidator *validator);
/* Results: every data record must refer to one of KEYS, and there may be no
 * more of them than REQUEST_RECORDS. */
void
sk_validator_set_request (SkValidator *validator, const SkKeySet *keys, guint64 request_records);

/* The size of the whole file, when known before it is fed: sizes the key
 * sets once instead of growing them. */
void
sk_validator_set_expected_size (SkValidator *validator, guint64 size);

/* Feed the next bytes; FALSE once the validator has stopped listening (an
 * unknown kind, the findings cap, a size cap): the caller may stop reading. */
gboolean
sk_validator_feed (SkValidator *validator, const guint8 *data, gsize len);
/* Read FD to its end through the validator. */
gboolean
sk_validator_feed_fd (SkValidator *validator, int fd, GCancellable *cancellable, GError **error);

SkFileReport *
sk_validator_finish (SkValidator *validator, SkKeySet **out_pair_keys);

/* Validate files by path, requests before results; a result is paired with
 * the requests given alongside it that share its 処理番号.  Environment
 * failures (a file that cannot be read) are errors; everything about the
 * files' content is in the reports. */
GPtrArray *
sk_validate_paths (SkPolicy *policy,
                   const char *const *paths,
                   GCancellable *cancellable,
                   GError **error);

G_END_DECLS
