/* sk-json-guard.h — what every JSON document from outside passes
 *
 * json-glib's parser recurses once per level of nesting, so a document
 * nested deeply enough (some 100 000 levels, 200 KB) exhausts the stack
 * before any error is reported.  The depth is counted first, outside
 * double-quoted strings; single quotes and comments, which json-glib also
 * accepts, are refused so that no bracket can hide from the count.
 * Policies, manifests, journal details and media tokens all pass here.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define SK_JSON_MAX_DEPTH 64

/* TRUE when DATA holds exactly one top-level value, nests arrays and
 * objects at most SK_JSON_MAX_DEPTH deep, hides no bracket in a comment
 * or single quote, and has only well-formed escapes and no raw control
 * characters in its strings: checked before json-glib, whose recursive parser
 * would overflow the stack on deep input, which leaks all but the last of
 * several top-level values, and which leaves no root for an empty document.
 * Used for every JSON document that comes from outside. */
gboolean
_sk_json_nesting_ok (const char *data, gsize len);
/* TRUE when no object of the document DATA (parsed into ROOT) names a
 * member twice: json-glib keeps the last silently, and two readers of the
 * same bytes must never see two different documents. */
gboolean
_sk_json_members_unique (const char *data, gsize len, JsonNode *root);

G_END_DECLS
