/* sk-app-json.c — the service's JSON, read defensively */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <glib/gi18n.h>

#include "sk-app-json.h"
#include "sk-error.h"

JsonObject *
sk_app_json_parse_object (const char *text, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local_error = NULL;

  if (text == NULL || !json_parser_load_from_data (parser, text, -1, &local_error))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("the service's answer is not JSON: %s"),
                   local_error != NULL ? local_error->message : _ ("nothing"));
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR,
                           _ ("the service's answer is not a JSON object"));
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

const char *
sk_app_json_string (JsonObject *object, const char *member)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, member) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

gint64
sk_app_json_int (JsonObject *object, const char *member, gint64 fallback)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, member) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return fallback;
  return json_node_get_int (node);
}

gboolean
sk_app_json_bool (JsonObject *object, const char *member)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, member) : NULL;

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_BOOLEAN && json_node_get_boolean (node);
}

JsonArray *
sk_app_json_array (JsonObject *object, const char *member)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, member) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return NULL;
  return json_node_get_array (node);
}

const char *
sk_app_json_next_deadline (JsonObject *case_object, const char **out_what)
{
  JsonArray *deadlines = sk_app_json_array (case_object, "deadlines");
  const char *best = NULL, *best_what = NULL;
  g_autoptr (GDateTime) best_t = NULL;

  for (guint i = 0; deadlines != NULL && i < json_array_get_length (deadlines); i++)
    {
      JsonNode *node = json_array_get_element (deadlines, i);
      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      JsonObject *d = json_node_get_object (node);
      const char *at = sk_app_json_string (d, "deadline");
      g_autoptr (GDateTime) t = at != NULL ? g_date_time_new_from_iso8601 (at, NULL) : NULL;
      if (t == NULL)
        continue;
      if (best_t == NULL || g_date_time_compare (t, best_t) < 0)
        {
          g_clear_pointer (&best_t, g_date_time_unref);
          best_t = g_steal_pointer (&t);
          best = at;
          best_what = sk_app_json_string (d, "what");
        }
    }
  if (best == NULL)
    best = sk_app_json_string (case_object, "deadline");
  if (out_what != NULL)
    *out_what = best_what;
  return best;
}
