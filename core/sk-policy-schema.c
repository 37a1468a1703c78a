/* sk-policy-schema.c — typed reads of a policy's JSON members */
#define G_LOG_DOMAIN "sekisho-policy"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "sk-error.h"
#include "sk-policy-schema.h"

gboolean
_sk_schema_invalid (GError **error, const char *path, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, SK_ERROR, SK_ERROR_POLICY_INVALID, "%s: %s", path, msg);
  return FALSE;
}

gboolean
_sk_schema_check_members (JsonObject *obj,
                          const char *path,
                          const char *const *allowed,
                          const char *const *required,
                          GError **error)
{
  g_autoptr (GList) members = json_object_get_members (obj);

  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (allowed, l->data))
      return _sk_schema_invalid (error, path, _ ("unknown member \"%s\""), (const char *)l->data);
  for (guint i = 0; required != NULL && required[i] != NULL; i++)
    if (!json_object_has_member (obj, required[i]))
      return _sk_schema_invalid (error, path, _ ("missing member \"%s\""), required[i]);
  return TRUE;
}

JsonObject *
_sk_schema_get_object (JsonObject *obj, const char *member, const char *path, GError **error)
{
  JsonNode *node = json_object_get_member (obj, member);

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      _sk_schema_invalid (error, path, _ ("\"%s\" must be an object"), member);
      return NULL;
    }
  return json_node_get_object (node);
}

JsonArray *
_sk_schema_get_array (JsonObject *obj, const char *member, const char *path, GError **error)
{
  JsonNode *node = json_object_get_member (obj, member);

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      _sk_schema_invalid (error, path, _ ("\"%s\" must be an array"), member);
      return NULL;
    }
  return json_node_get_array (node);
}

gboolean
_sk_schema_node_is_string (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_STRING;
}

static gboolean
node_is_int (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_INT64;
}

static gboolean
node_is_bool (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_BOOLEAN;
}

const char *
_sk_schema_get_string (JsonObject *obj, const char *member, const char *path, GError **error)
{
  JsonNode *node = json_object_get_member (obj, member);

  if (!_sk_schema_node_is_string (node))
    {
      _sk_schema_invalid (error, path, _ ("\"%s\" must be a string"), member);
      return NULL;
    }
  return json_node_get_string (node);
}

gboolean
_sk_schema_get_int (JsonObject *obj,
                    const char *member,
                    gint64 min,
                    gint64 max,
                    gint64 *out,
                    const char *path,
                    GError **error)
{
  JsonNode *node = json_object_get_member (obj, member);

  if (!node_is_int (node))
    return _sk_schema_invalid (error, path, _ ("\"%s\" must be an integer"), member);
  gint64 v = json_node_get_int (node);
  if (v < min || v > max)
    return _sk_schema_invalid (error, path, _ ("\"%s\" must be from %lld to %lld"), member,
                               (long long)min, (long long)max);
  *out = v;
  return TRUE;
}

gboolean
_sk_schema_get_bool (
    JsonObject *obj, const char *member, gboolean *out, const char *path, GError **error)
{
  JsonNode *node = json_object_get_member (obj, member);

  if (node == NULL)
    {
      *out = FALSE;
      return TRUE;
    }
  if (!node_is_bool (node))
    return _sk_schema_invalid (error, path, _ ("\"%s\" must be true or false"), member);
  *out = json_node_get_boolean (node);
  return TRUE;
}

/* An array of strings, each passing ACCEPT (when given). */
GStrv
_sk_schema_get_strv (JsonObject *obj,
                     const char *member,
                     gboolean allow_empty,
                     gboolean (*accept) (const char *),
                     const char *what,
                     const char *path,
                     GError **error)
{
  JsonArray *array = _sk_schema_get_array (obj, member, path, error);
  if (array == NULL)
    return NULL;

  guint n = json_array_get_length (array);
  if (n == 0 && !allow_empty)
    {
      _sk_schema_invalid (error, path, _ ("\"%s\" must not be empty"), member);
      return NULL;
    }
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      if (!_sk_schema_node_is_string (node))
        {
          _sk_schema_invalid (error, path, _ ("\"%s\"[%u] must be a string"), member, i);
          return NULL;
        }
      const char *s = json_node_get_string (node);
      if (accept != NULL && !accept (s))
        {
          _sk_schema_invalid (error, path, _ ("\"%s\"[%u] must be %s"), member, i, what);
          return NULL;
        }
      g_strv_builder_add (builder, s);
    }
  return g_strv_builder_end (builder);
}

gboolean
_sk_schema_is_short_ascii (const char *s)
{
  gsize len = strlen (s);

  if (len == 0 || len > 64)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (s[i] < 0x21 || s[i] > 0x7E)
      return FALSE;
  return TRUE;
}
