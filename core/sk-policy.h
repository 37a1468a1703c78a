/* sk-policy.h — the signed transfer policy (DESIGN.md §5, policies/SCHEMA.md)
 *
 * A policy is loaded only through its binary detached signature by a pinned
 * administrator who is also listed in the policy's own keys.admins.  The
 * object is immutable once loaded.
 */
#pragma once

#include <gio/gio.h>

#include "sk-keyring.h"

G_BEGIN_DECLS

typedef enum
{
  SK_DIRECTION_TO_INTERMEDIATE,
  SK_DIRECTION_TO_STANDARD,
} SkDirection;

typedef enum
{
  SK_PROFILE_P1,
  SK_PROFILE_P2,
} SkProfile;

typedef struct _SkKind SkKind;

/* Deadlines of DESIGN.md §6, as the policy sets them. */
typedef struct
{
  gint64 upload_minutes;          /* plaintext in upload/ */
  gint64 download_minutes;        /* plaintext in download/ */
  gint64 staged_days_after_close; /* staged packages, after their case closes */
  gint64 inquiry_result_days;     /* SKI03, after its inquiry completes or is interrupted */
  gint64 no_result_days;          /* a request with no result is flagged */
  gint64 journal_years;           /* records of information linkage are kept */
} SkRetention;

typedef enum
{
  SK_RETENTION_UPLOAD,
  SK_RETENTION_DOWNLOAD,
  SK_RETENTION_STAGED,
  SK_RETENTION_INQUIRY_RESULT,
} SkRetentionClass;

/* The deadline of an item of class WHAT whose period starts at FROM_US
 * (microseconds, on the journal's clock). */
gint64
sk_retention_deadline (const SkRetention *retention, SkRetentionClass what, gint64 from_us);

#define SK_TYPE_POLICY (sk_policy_get_type ())
G_DECLARE_FINAL_TYPE (SkPolicy, sk_policy, SK, POLICY, GObject)

/* The largest policy document we read (bytes). */
#define SK_POLICY_MAX_SIZE (4 * 1024 * 1024)

/* Read PATH and PATH.sig once each, verify the signature over exactly the
 * bytes read against PINNED_ADMINS, then parse and check those bytes. */
SkPolicy *
sk_policy_load (SkKeyring *keyring,
                const char *const *pinned_admins,
                const char *path,
                GError **error);

/* Check the schema of bytes whose signature the caller already verified (or,
 * in tests and fuzzers, does not need). */
SkPolicy *
sk_policy_new_from_bytes (GBytes *json, GError **error);

GBytes *
sk_policy_get_bytes (SkPolicy *self);
const char *
sk_policy_get_sha256 (SkPolicy *self);
/* The primary fingerprint that signed it, or NULL when loaded unsigned. */
const char *
sk_policy_get_signer (SkPolicy *self);
gint64
sk_policy_get_serial (SkPolicy *self);

const char *const *
sk_policy_get_admins (SkPolicy *self);
/* The fingerprint the policy names as the next pinned administrator, or
 * NULL (policies/SCHEMA.md, admin_successor). */
const char *
sk_policy_get_admin_successor (SkPolicy *self);
const char *const *
sk_policy_get_signers (SkPolicy *self, SkDirection direction);
const char *
sk_policy_get_recipient (SkPolicy *self, SkDirection direction);

guint
sk_policy_get_max_findings (SkPolicy *self);
const SkRetention *
sk_policy_get_retention (SkPolicy *self);
guint
sk_policy_get_max_files (SkPolicy *self);
guint64
sk_policy_get_max_package_size (SkPolicy *self);
guint
sk_policy_get_max_line_length (SkPolicy *self);
/* The allow-list, sorted. */
GStrv
sk_policy_dup_inquiry_allow_list (SkPolicy *self);
gboolean
sk_policy_inquiry_allowed (SkPolicy *self, const char *id, gsize len);
gboolean
sk_policy_needs_dual_control (SkPolicy *self, const char *kind_id);

/* The kinds in policy order. */
GPtrArray *
sk_policy_get_kinds (SkPolicy *self);
const SkKind *
sk_policy_lookup_kind (SkPolicy *self, const char *kind_id);
/* The kind whose name_pattern matches BASENAME, or NULL. */
const SkKind *
sk_policy_match_file_name (SkPolicy *self, const char *basename);

const char *
sk_kind_get_id (const SkKind *kind);
const char *
sk_kind_get_title (const SkKind *kind);
SkDirection
sk_kind_get_direction (const SkKind *kind);
const char *
sk_kind_get_workflow (const SkKind *kind);
SkProfile
sk_kind_get_profile (const SkKind *kind);

const char *
sk_direction_to_string (SkDirection direction);

/* Media rules: whether MEDIA_CLASS ("usb-storage", "optical") is allowed, and
 * whether import needs a registered medium ($.media.import_unregistered
 * absent or false: it does). */
gboolean
sk_policy_media_class_allowed (SkPolicy *self, const char *media_class);
gboolean
sk_policy_media_import_needs_registered (SkPolicy *self);

/* The key section of a policy (DESIGN.md §5): fingerprints, in any case
 * and spacing sk_fingerprint_normalize () takes. */
typedef struct
{
  const char *const *admins;                  /* at least one */
  const char *const *to_intermediate_signers; /* at least one */
  const char *to_intermediate_recipient;
  const char *const *to_standard_signers; /* at least one */
  const char *to_standard_recipient;
} SkPolicyKeys;

/* DOCUMENT (the bytes of a policy.json, never signed: a changed document
 * needs a new signature) with its "keys" section replaced by KEYS and
 * everything else kept, written out as the policy tools write it.  Refused
 * with policy-invalid: a key that is no fingerprint, a list left empty,
 * a document that is not a JSON object, and a result that would not load
 * as a policy.  (sk-policy-keys.c) */
GBytes *
sk_policy_set_keys (GBytes *document, const SkPolicyKeys *keys, GError **error);

G_END_DECLS
