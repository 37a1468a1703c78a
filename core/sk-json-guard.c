/* sk-json-guard.c — what every JSON document from outside passes before
 * json-glib parses it, and after */
#define G_LOG_DOMAIN "sekisho-json"

#include "config.h"

#include <string.h>

#include "sk-json-guard.h"

/* The 4 hex digits of a \u escape at DATA[I..I+3], as a UTF-16 code unit,
 * or -1. */
static gint
escape_unit (const char *data, gsize len, gsize i)
{
  if (i + 4 > len)
    return -1;
  gint unit = 0;
  for (gsize k = i; k < i + 4; k++)
    {
      gint d = g_ascii_xdigit_value (data[k]);
      if (d < 0)
        return -1;
      unit = unit * 16 + d;
    }
  return unit;
}

/* The escape that starts at DATA[I] (just after a backslash) is one JSON
 * allows, with a high surrogate always followed by its low one.  json-glib
 * 1.6 leaks its string buffer on a broken \u escape (found by
 * fuzz-manifest: "\ud8" followed by a quote); such a document never
 * reaches it.  Returns the index of the escape's last byte, or 0. */
static gsize
escape_end (const char *data, gsize len, gsize i)
{
  if (i >= len)
    return 0;
  if (strchr ("\"\\/bfnrt", data[i]) != NULL && data[i] != '\0')
    return i;
  if (data[i] != 'u')
    return 0;
  /* U+0000 too: a C string would end there, and two readers of the same
   * name would read two names. */
  gint unit = escape_unit (data, len, i + 1);
  if (unit <= 0 || (unit >= 0xDC00 && unit <= 0xDFFF))
    return 0;
  if (unit < 0xD800 || unit > 0xDBFF)
    return i + 4;
  /* A high surrogate: its low half must follow at once. */
  if (i + 6 >= len || data[i + 5] != '\\' || data[i + 6] != 'u')
    return 0;
  gint low = escape_unit (data, len, i + 7);
  if (low < 0xDC00 || low > 0xDFFF)
    return 0;
  return i + 10;
}

gboolean
_sk_json_nesting_ok (const char *data, gsize len)
{
  guint depth = 0;
  gboolean in_string = FALSE;
  gboolean seen_value = FALSE; /* a top-level value began */
  gboolean in_scalar = FALSE;  /* inside a top-level number or literal */

  for (gsize i = 0; i < len; i++)
    {
      char c = data[i];
      if (in_string)
        {
          if (c == '\\' && (i = escape_end (data, len, i + 1)) == 0)
            return FALSE;
          else if (c == '"')
            in_string = FALSE;
          else if ((guchar)c < 0x20)
            return FALSE; /* a raw control character: JSON has none */
          continue;
        }
      if (c == '\'' || c == '/' || c == '#')
        return FALSE;
      gboolean space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
      if (depth == 0 && !space && !in_scalar)
        {
          /* One document, one value: json-glib would read a second one
           * and leak the first. */
          if (seen_value)
            return FALSE;
          seen_value = TRUE;
          in_scalar = c != '"' && c != '{' && c != '[';
        }
      else if (depth == 0 && in_scalar && (space || c == '"' || c == '{' || c == '['))
        {
          if (!space)
            return FALSE;
          in_scalar = FALSE;
          continue;
        }
      switch (c)
        {
        case '"':
          in_string = TRUE;
          break;
        case '[':
        case '{':
          if (++depth > SK_JSON_MAX_DEPTH)
            return FALSE;
          break;
        case ']':
        case '}':
          if (depth > 0)
            depth--;
          break;
        default:
          break;
        }
    }
  return seen_value;
}

/* Members in the text: each ':' outside a string separates a member's name
 * from its value. */
static guint64
text_members (const char *data, gsize len)
{
  guint64 n = 0;
  gboolean in_string = FALSE;
  for (gsize i = 0; i < len; i++)
    {
      if (in_string)
        {
          if (data[i] == '\\')
            i++;
          else if (data[i] == '"')
            in_string = FALSE;
        }
      else if (data[i] == '"')
        in_string = TRUE;
      else if (data[i] == ':')
        n++;
    }
  return n;
}

static guint64
tree_members (JsonNode *node)
{
  guint64 n = 0;
  if (node == NULL)
    return 0;
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *obj = json_node_get_object (node);
      g_autoptr (GList) values = json_object_get_values (obj);
      n += json_object_get_size (obj);
      for (GList *l = values; l != NULL; l = l->next)
        n += tree_members (l->data);
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (array); i++)
        n += tree_members (json_array_get_element (array, i));
    }
  return n;
}

gboolean
_sk_json_members_unique (const char *data, gsize len, JsonNode *root)
{
  return text_members (data, len) == tree_members (root);
}
