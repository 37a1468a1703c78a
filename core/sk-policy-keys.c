/* sk-policy-keys.c — write the key section of a policy document */
#define G_LOG_DOMAIN "sekisho-policy"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>

#include "sk-error.h"
#include "sk-policy.h"

/* Normalized fingerprints of IN (at least one; exactly one when ONE), or
 * NULL with policy-invalid naming WHAT. */
static GStrv
fingerprints (const char *const *in, gboolean one, const char *what, GError **error)
{
  guint n = in != NULL ? g_strv_length ((GStrv)in) : 0;
  if (n == 0 || (one && n != 1))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_POLICY_INVALID,
                   one ? _ ("the policy's keys need exactly one %s")
                       : _ ("the policy's keys need at least one %s"),
                   what);
      return NULL;
    }
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *fpr = sk_fingerprint_normalize (in[i]);
      if (fpr == NULL)
        {
          g_autofree char *safe = sk_escape_untrusted (in[i]);
          g_set_error (error, SK_ERROR, SK_ERROR_POLICY_INVALID,
                       _ ("%s “%s” is not a fingerprint of 40 hex digits"), what, safe);
          return NULL;
        }
      g_strv_builder_add (builder, fpr);
    }
  return g_strv_builder_end (builder);
}

static void
add_strv (JsonBuilder *b, const char *name, GStrv values)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; values[i] != NULL; i++)
    json_builder_add_string_value (b, values[i]);
  json_builder_end_array (b);
}

static void
add_direction (JsonBuilder *b, const char *name, GStrv signers, const char *recipient)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  add_strv (b, "signers", signers);
  json_builder_set_member_name (b, "recipient");
  json_builder_add_string_value (b, recipient);
  json_builder_end_object (b);
}

GBytes *
sk_policy_set_keys (GBytes *document, const SkPolicyKeys *keys, GError **error)
{
  g_return_val_if_fail (document != NULL && keys != NULL, NULL);

  const char *const ti_recipient[] = { keys->to_intermediate_recipient, NULL };
  const char *const ts_recipient[] = { keys->to_standard_recipient, NULL };
  g_auto (GStrv) admins = fingerprints (keys->admins, FALSE, C_ ("key role", "admin"), error);
  g_auto (GStrv) tis = admins != NULL
                           ? fingerprints (keys->to_intermediate_signers, FALSE,
                                           C_ ("key role", "to-intermediate signer"), error)
                           : NULL;
  g_auto (GStrv) tir =
      tis != NULL ? fingerprints (keys->to_intermediate_recipient != NULL ? ti_recipient : NULL,
                                  TRUE, C_ ("key role", "to-intermediate recipient"), error)
                  : NULL;
  g_auto (GStrv) tss = tir != NULL ? fingerprints (keys->to_standard_signers, FALSE,
                                                   C_ ("key role", "to-standard signer"), error)
                                   : NULL;
  g_auto (GStrv) tsr =
      tss != NULL ? fingerprints (keys->to_standard_recipient != NULL ? ts_recipient : NULL, TRUE,
                                  C_ ("key role", "to-standard recipient"), error)
                  : NULL;
  if (tsr == NULL)
    return NULL;

  gsize len;
  const char *data = g_bytes_get_data (document, &len);
  if (len > SK_POLICY_MAX_SIZE)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_POLICY_INVALID,
                   _ ("the policy is larger than %d bytes"), SK_POLICY_MAX_SIZE);
      return NULL;
    }
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) parse_error = NULL;
  if (!json_parser_load_from_data (parser, data, (gssize)len, &parse_error))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_POLICY_INVALID, _ ("the policy is not JSON: %s"),
                   parse_error->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_POLICY_INVALID,
                           _ ("the policy is not an object"));
      return NULL;
    }

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_strv (b, "admins", admins);
  add_direction (b, "to-intermediate", tis, tir[0]);
  add_direction (b, "to-standard", tss, tsr[0]);
  json_builder_end_object (b);
  json_object_set_member (json_node_get_object (root), "keys", json_builder_get_root (b));

  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, root);
  gsize out_len;
  char *text = json_generator_to_data (gen, &out_len);
  g_autoptr (GBytes) out = g_bytes_new_take (text, out_len);

  /* Never hand out a document no station would load. */
  g_autoptr (SkPolicy) policy = sk_policy_new_from_bytes (out, error);
  if (policy == NULL)
    return NULL;
  return g_steal_pointer (&out);
}
