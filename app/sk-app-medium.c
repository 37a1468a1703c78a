/* sk-app-medium.c — the service's JSON of a medium, read and kept escaped */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <glib/gi18n.h>

#include "sk-app-json.h"
#include "sk-app-medium.h"
#include "sk-error.h"

void
sk_app_medium_free (SkAppMedium *medium)
{
  if (medium == NULL)
    return;
  g_free (medium->id);
  g_free (medium->number);
  g_free (medium->label);
  g_free (medium->identity);
  g_free (medium->klass);
  g_free (medium->refusal);
  g_free (medium);
}

static char *
escaped (const char *untrusted)
{
  return untrusted != NULL && *untrusted != '\0' ? sk_escape_untrusted (untrusted) : NULL;
}

/* "vendor model (serial)" from the medium's own fields (or an "identity"
 * object holding them); the service's identity line ("device" or an
 * "identity" string) when it sent none of them. */
static char *
identity_of (JsonObject *m)
{
  JsonNode *node = json_object_get_member (m, "identity");
  JsonObject *o = node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : m;
  g_autofree char *vendor = escaped (sk_app_json_string (o, "vendor"));
  g_autofree char *model = escaped (sk_app_json_string (o, "model"));
  g_autofree char *serial = escaped (sk_app_json_string (o, "serial"));

  if (vendor == NULL && model == NULL && serial == NULL)
    {
      const char *line = sk_app_json_string (m, "identity");
      if (line == NULL)
        line = sk_app_json_string (m, "device");
      return line != NULL ? sk_escape_untrusted (line) : g_strdup ("—");
    }
  g_autofree char *name =
      g_strjoin (" ", vendor != NULL ? vendor : "", model != NULL ? model : "", NULL);
  g_strstrip (name);
  if (serial != NULL)
    return g_strdup_printf ("%s (%s)", *name != '\0' ? name : "—", serial);
  return g_strdup (*name != '\0' ? name : "—");
}

SkAppMedium *
sk_app_medium_new_from_json (JsonObject *object)
{
  const char *id = sk_app_json_string (object, "id");

  if (id == NULL || *id == '\0')
    return NULL;

  SkAppMedium *m = g_new0 (SkAppMedium, 1);
  m->id = g_strdup (id);
  m->number = escaped (sk_app_json_string (object, "number"));
  m->label = escaped (sk_app_json_string (object, "label"));
  m->identity = identity_of (object);
  m->klass = escaped (sk_app_json_string (object, "class"));
  const char *reason = sk_app_json_string (object, "refused");
  if (reason == NULL)
    reason = sk_app_json_string (object, "reason");
  m->refusal = escaped (reason);
  /* "registered": false wins over a number (a withdrawn registration). */
  JsonNode *registered = json_object_get_member (object, "registered");
  if (registered != NULL && JSON_NODE_HOLDS_VALUE (registered) &&
      json_node_get_value_type (registered) == G_TYPE_BOOLEAN &&
      !json_node_get_boolean (registered))
    g_clear_pointer (&m->number, g_free);
  return m;
}

GPtrArray *
sk_app_medium_list_parse (const char *text, GError **error)
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
  JsonArray *array = NULL;
  if (root != NULL && JSON_NODE_HOLDS_ARRAY (root))
    array = json_node_get_array (root);
  else if (root != NULL && JSON_NODE_HOLDS_OBJECT (root))
    array = sk_app_json_array (json_node_get_object (root), "media");
  if (array == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR,
                           _ ("the service sent no list of media"));
      return NULL;
    }
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify)sk_app_medium_free);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      SkAppMedium *m = JSON_NODE_HOLDS_OBJECT (node)
                           ? sk_app_medium_new_from_json (json_node_get_object (node))
                           : NULL;
      if (m != NULL)
        g_ptr_array_add (out, m);
    }
  return out;
}

gboolean
sk_app_medium_usable (const SkAppMedium *medium)
{
  g_return_val_if_fail (medium != NULL, FALSE);
  return medium->number != NULL && medium->refusal == NULL;
}

char *
sk_app_medium_describe (const SkAppMedium *medium)
{
  g_return_val_if_fail (medium != NULL, NULL);

  if (medium->refusal != NULL)
    /* TRANSLATORS: a medium refused, then its identity, then the reason code. */
    return g_strdup_printf (_ ("Refused: %s — %s"), medium->identity, medium->refusal);
  if (medium->number == NULL)
    /* TRANSLATORS: an inserted medium nobody registered; its identity. */
    return g_strdup_printf (_ ("Not registered: %s"), medium->identity);
  if (medium->label != NULL)
    /* TRANSLATORS: 管理番号, label, then vendor, model and serial. */
    return g_strdup_printf (_ ("%s “%s” — %s"), medium->number, medium->label, medium->identity);
  return g_strdup_printf (_ ("%s — %s"), medium->number, medium->identity);
}
