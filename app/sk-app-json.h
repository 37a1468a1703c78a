/* sk-app-json.h — reading the service's JSON answers */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The object TEXT holds, or NULL with ERROR (SK_ERROR_IO_ERROR: the service
 * answered something that is not what its API promises). */
JsonObject *
sk_app_json_parse_object (const char *text, GError **error);
/* A string member, or NULL when absent or not a string. */
const char *
sk_app_json_string (JsonObject *object, const char *member);
gint64
sk_app_json_int (JsonObject *object, const char *member, gint64 fallback);
gboolean
sk_app_json_bool (JsonObject *object, const char *member);
/* An array member, or NULL. */
JsonArray *
sk_app_json_array (JsonObject *object, const char *member);

/* The earliest deadline of a case object (the service's "deadlines" array:
 * {what, kind, deadline (RFC 3339, UTC), seconds_left}), or its single
 * "deadline" member; NULL when it has none.  *OUT_WHAT (may be NULL) gets
 * what ends then. */
const char *
sk_app_json_next_deadline (JsonObject *case_object, const char **out_what);

G_END_DECLS
