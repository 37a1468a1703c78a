/* sk-policy-schema.h — typed reads of a policy's JSON members
 *
 * Private to the policy loader (sk-policy.c, sk-policy-layout.c).  Every
 * failure is policy-invalid with the JSON path of the member at fault; a
 * policy holds no personal data, so quoting its members is safe.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Sets policy-invalid "PATH: message" and returns FALSE. */
gboolean
_sk_schema_invalid (GError **error, const char *path, const char *format, ...) G_GNUC_PRINTF (3, 4);
/* OBJ names only members in ALLOWED and every member in REQUIRED. */
gboolean
_sk_schema_check_members (JsonObject *obj,
                          const char *path,
                          const char *const *allowed,
                          const char *const *required,
                          GError **error);
gboolean
_sk_schema_node_is_string (JsonNode *node);
JsonObject *
_sk_schema_get_object (JsonObject *obj, const char *member, const char *path, GError **error);
JsonArray *
_sk_schema_get_array (JsonObject *obj, const char *member, const char *path, GError **error);
const char *
_sk_schema_get_string (JsonObject *obj, const char *member, const char *path, GError **error);
/* An integer from MIN to MAX. */
gboolean
_sk_schema_get_int (JsonObject *obj,
                    const char *member,
                    gint64 min,
                    gint64 max,
                    gint64 *out,
                    const char *path,
                    GError **error);
/* A missing member is FALSE. */
gboolean
_sk_schema_get_bool (
    JsonObject *obj, const char *member, gboolean *out, const char *path, GError **error);
/* An array of strings, each passing ACCEPT (when given; WHAT names what it
 * accepts in the message). */
GStrv
_sk_schema_get_strv (JsonObject *obj,
                     const char *member,
                     gboolean allow_empty,
                     gboolean (*accept) (const char *),
                     const char *what,
                     const char *path,
                     GError **error);
/* 1 to 64 printable ASCII characters. */
gboolean
_sk_schema_is_short_ascii (const char *s);

G_END_DECLS
