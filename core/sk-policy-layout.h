/* sk-policy-layout.h — a kind's record layouts, compiled from the policy
 *
 * Private to the policy loader: sk-policy.c reads a kind's members and
 * hands each of its records here; the compiled form (SkRecordLayout,
 * SkField) is declared in sk-policy-private.h for the validator.
 */
#pragma once

#include "sk-policy-private.h"

G_BEGIN_DECLS

void
_sk_record_layout_free (SkRecordLayout *layout);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkRecordLayout, _sk_record_layout_free)

/* The index of field NAME in LAYOUT, or -1 with policy-invalid at PATH. */
int
_sk_record_layout_resolve (const SkRecordLayout *layout,
                           const char *name,
                           const char *path,
                           GError **error);

/* Record RTYPE of a kind from its "records" object (a template name or a
 * field list), checked against PROFILE and RECORD_LENGTH (P1).  The
 * trailer's count and sum references are appended to TRAILER_REFS_OUT as
 * (count field, sum field) pairs, for the caller to resolve against the
 * data record. */
SkRecordLayout *
_sk_policy_parse_record (JsonObject *templates,
                         JsonObject *records,
                         SkRecordType rtype,
                         SkProfile profile,
                         guint record_length,
                         GPtrArray *trailer_refs_out,
                         const char *kind_path,
                         GError **error);

G_END_DECLS
