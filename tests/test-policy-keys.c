/* test-policy-keys.c — the key section of a policy document, written in core
 * for the command line and the service alike (sk_policy_set_keys) */
#include "config.h"

#include <json-glib/json-glib.h>
#include <locale.h>
#include <string.h>

#include "sk-error.h"
#include "sk-policy.h"

#define ADMIN "0123456789ABCDEF0123456789ABCDEF01234567"
#define TI_SIGNER "1111111111111111111111111111111111111111"
#define TI_SIGNER2 "2222222222222222222222222222222222222222"
#define TI_RECIPIENT "3333333333333333333333333333333333333333"
#define TS_SIGNER "4444444444444444444444444444444444444444"
#define TS_RECIPIENT "5555555555555555555555555555555555555555"

static GBytes *
default_policy (void)
{
  const char *dir = g_getenv ("SEKISHO_POLICY_DIR");
  g_assert_nonnull (dir);
  g_autofree char *path = g_build_filename (dir, "default.json", NULL);
  g_autofree char *contents = NULL;
  gsize len;
  g_autoptr (GError) error = NULL;
  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (g_steal_pointer (&contents), len);
}

static JsonNode *
parse (GBytes *bytes)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  json_parser_load_from_data (parser, data, (gssize)len, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

/* The keys as given (fingerprints in any case, spaced as gpg prints them)
 * replace the section; every other member is kept as it was; the result
 * loads as a policy with those keys. */
static void
test_set_keys (void)
{
  g_autoptr (GBytes) document = default_policy ();
  const char *admins[] = { "0123 4567 89ab cdef 0123  4567 89AB CDEF 0123 4567", NULL };
  const char *ti_signers[] = { TI_SIGNER, TI_SIGNER2, NULL };
  const char *ts_signers[] = { TS_SIGNER, NULL };
  SkPolicyKeys keys = { admins, ti_signers, TI_RECIPIENT, ts_signers, TS_RECIPIENT };
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) out = sk_policy_set_keys (document, &keys, &error);
  g_assert_no_error (error);
  g_assert_nonnull (out);

  g_autoptr (SkPolicy) policy = sk_policy_new_from_bytes (out, &error);
  g_assert_no_error (error);
  const char *const want_admins[] = { ADMIN, NULL };
  g_assert_cmpstrv (sk_policy_get_admins (policy), want_admins);
  const char *const want_ti[] = { TI_SIGNER, TI_SIGNER2, NULL };
  g_assert_cmpstrv (sk_policy_get_signers (policy, SK_DIRECTION_TO_INTERMEDIATE), want_ti);
  g_assert_cmpstrv (sk_policy_get_signers (policy, SK_DIRECTION_TO_STANDARD), ts_signers);
  g_assert_cmpstr (sk_policy_get_recipient (policy, SK_DIRECTION_TO_INTERMEDIATE), ==,
                   TI_RECIPIENT);
  g_assert_cmpstr (sk_policy_get_recipient (policy, SK_DIRECTION_TO_STANDARD), ==, TS_RECIPIENT);

  g_autoptr (JsonNode) before = parse (document);
  g_autoptr (JsonNode) after = parse (out);
  JsonObject *b = json_node_get_object (before);
  JsonObject *a = json_node_get_object (after);
  g_assert_cmpuint (json_object_get_size (a), ==, json_object_get_size (b));
  g_autoptr (GList) members = json_object_get_members (b);
  for (GList *m = members; m != NULL; m = m->next)
    {
      const char *name = m->data;
      g_assert_true (json_object_has_member (a, name));
      if (!g_str_equal (name, "keys"))
        g_assert_true (
            json_node_equal (json_object_get_member (b, name), json_object_get_member (a, name)));
    }
}

/* Each refusal is policy-invalid, with no output. */
static void
test_refused (void)
{
  g_autoptr (GBytes) document = default_policy ();
  const char *admins[] = { ADMIN, NULL };
  const char *none[] = { NULL };
  const char *ti_signers[] = { TI_SIGNER, NULL };
  const char *ts_signers[] = { TS_SIGNER, NULL };
  const char *hostile[] = { "01234567\x1b[2J89ABCDEF", NULL };
  struct
  {
    const char *what;
    SkPolicyKeys keys;
    const char *json; /* NULL: the default policy */
  } cases[] = {
    { "no admin", { none, ti_signers, TI_RECIPIENT, ts_signers, TS_RECIPIENT }, NULL },
    { "no admin list", { NULL, ti_signers, TI_RECIPIENT, ts_signers, TS_RECIPIENT }, NULL },
    { "no signer", { admins, ti_signers, TI_RECIPIENT, none, TS_RECIPIENT }, NULL },
    { "no recipient", { admins, ti_signers, NULL, ts_signers, TS_RECIPIENT }, NULL },
    { "a short fingerprint", { admins, ti_signers, "ABCDEF", ts_signers, TS_RECIPIENT }, NULL },
    { "a hostile fingerprint",
      { hostile, ti_signers, TI_RECIPIENT, ts_signers, TS_RECIPIENT },
      NULL },
    { "not JSON", { admins, ti_signers, TI_RECIPIENT, ts_signers, TS_RECIPIENT }, "{\"format\":" },
    { "not an object", { admins, ti_signers, TI_RECIPIENT, ts_signers, TS_RECIPIENT }, "[1, 2]" },
    { "no policy but keys", { admins, ti_signers, TI_RECIPIENT, ts_signers, TS_RECIPIENT }, "{}" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].what);
      g_autoptr (GBytes) in = cases[i].json != NULL
                                  ? g_bytes_new_static (cases[i].json, strlen (cases[i].json))
                                  : g_bytes_ref (document);
      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) out = sk_policy_set_keys (in, &cases[i].keys, &error);
      g_assert_null (out);
      g_assert_error (error, SK_ERROR, SK_ERROR_POLICY_INVALID);
      /* Untrusted text is escaped before it reaches a message. */
      g_assert_null (strchr (error->message, '\x1b'));
    }
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "C.UTF-8");
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/policy-keys/set", test_set_keys);
  g_test_add_func ("/policy-keys/refused", test_refused);
  return g_test_run ();
}
