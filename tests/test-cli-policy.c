/* test-cli-policy.c — policy check, install and sign through the CLI */
#define G_LOG_DOMAIN "sekisho-test"

#include "config.h"

#include "sk-test-cli.h"

/* ---- policy ----------------------------------------------------------------------- */

void
test_policy_check (Fixture *f, gconstpointer user_data)
{
  /* set-keys wrote the key section as given ... */
  {
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) error = NULL;
    JsonObject *k;

    json_parser_load_from_file (parser, f->policy, &error);
    g_assert_no_error (error);
    k = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                       "keys");
    g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (k, "admins"), 0),
                     ==, keys->admin);
    g_assert_cmpstr (json_object_get_string_member (
                         json_object_get_object_member (k, "to-intermediate"), "recipient"),
                     ==, keys->station);
    g_assert_cmpstr (json_object_get_string_member (
                         json_object_get_object_member (k, "to-standard"), "recipient"),
                     ==, keys->standard);
  }

  /* ... and the signed result passes `policy check` on both stations. */
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr (Run) r = sk ("--station", i == 0 ? f->terminal : f->admin, "--json", "policy",
                              "check", f->policy, NULL);
      JsonObject *obj = expect_json (r, 0, NULL);
      JsonObject *policy = json_object_get_object_member (obj, "policy");

      g_assert_nonnull (policy);
      g_assert_cmpstr (json_object_get_string_member (policy, "signer"), ==, keys->admin);
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (policy, "kinds")), ==,
                        11);
    }
  {
    g_autoptr (Run) h = sk ("--station", f->terminal, "policy", "check", f->policy, NULL);
    expect_human (h, 0, NULL);
    g_assert_nonnull (strstr (h->out, keys->admin));
  }
}

void
test_policy_bad_signature (Fixture *f, gconstpointer user_data)
{
  g_autoptr (GBytes) original = read_bytes (f->policy);
  g_autoptr (GBytes) sig = NULL;
  g_autofree char *sig_path = g_strconcat (f->policy, ".sig", NULL);
  g_autofree char *path = g_build_filename (f->dir, "altered.json", NULL);
  g_autofree char *altered_sig = g_strconcat (path, ".sig", NULL);
  g_autofree char *text =
      g_strndup (g_bytes_get_data (original, NULL), g_bytes_get_size (original));
  char *serial = strstr (text, "\"serial\" : 1,");

  /* One byte: serial 1 becomes 2, still a valid policy. */
  g_assert_nonnull (serial);
  serial[strlen ("\"serial\" : ")] = '2';
  write_file (path, text, strlen (text));
  sig = read_bytes (sig_path);
  write_bytes (altered_sig, sig);

  {
    g_autoptr (Run) r = sk ("--station", f->terminal, "--json", "policy", "check", path, NULL);
    expect_json (r, 1, "policy-bad-signature");
  }
  {
    g_autoptr (Run) h = sk ("--station", f->terminal, "policy", "check", path, NULL);
    expect_human (h, 1, "policy-bad-signature");
  }
  {
    g_autoptr (Run) i = sk ("--station", f->terminal, "--json", "policy", "install", path, NULL);
    expect_json (i, 1, "policy-bad-signature");
  }
}

void
test_policy_unsigned (Fixture *f, gconstpointer user_data)
{
  g_autofree char *path = copy_policy (f, "unsigned.json");
  g_autoptr (Run) r = sk ("--station", f->terminal, "--json", "policy", "check", path, NULL);
  g_autoptr (Run) h = sk ("--station", f->terminal, "policy", "check", path, NULL);
  g_autoptr (Run) i = sk ("--station", f->terminal, "--json", "policy", "install", path, NULL);

  expect_json (r, 1, "policy-unsigned");
  expect_human (h, 1, "policy-unsigned");
  expect_json (i, 1, "policy-unsigned");
}

void
test_policy_untrusted_signer (Fixture *f, gconstpointer user_data)
{
  g_autofree char *path = copy_policy (f, "mallory.json");
  g_autofree char *sig_path = g_strconcat (path, ".sig", NULL);
  g_autofree char *exact = g_strconcat (keys->mallory, "!", NULL);
  const char *args[] = { "-u", exact, NULL };
  g_autoptr (GBytes) data = read_bytes (path);
  g_autoptr (GBytes) sig = sk_test_gpg_sign (keys->gpg, data, args);

  /* Mallory's public key is in the terminal's keyring, but no policy lists it. */
  sk_ok ("--station", f->terminal, "--json", "key", "import", keys->mallory_public_file, NULL);
  write_bytes (sig_path, sig);
  {
    g_autoptr (Run) r = sk ("--station", f->terminal, "--json", "policy", "check", path, NULL);
    expect_json (r, 1, "policy-untrusted-signer");
  }
  {
    g_autoptr (Run) i = sk ("--station", f->terminal, "policy", "install", path, NULL);
    expect_human (i, 1, "policy-untrusted-signer");
  }
}

void
test_policy_armored (Fixture *f, gconstpointer user_data)
{
  g_autofree char *path = copy_policy (f, "armored.json");
  g_autofree char *sig_path = g_strconcat (path, ".sig", NULL);
  g_autofree char *exact = g_strconcat (keys->admin, "!", NULL);
  const char *args[] = { "-u", exact, "--armor", NULL };
  g_autoptr (GBytes) data = read_bytes (path);
  g_autoptr (GBytes) sig = sk_test_gpg_sign (keys->gpg, data, args);

  g_assert_true (g_str_has_prefix (g_bytes_get_data (sig, NULL), "-----BEGIN PGP SIGNATURE-----"));
  write_bytes (sig_path, sig);
  {
    g_autoptr (Run) r = sk ("--station", f->terminal, "--json", "policy", "check", path, NULL);
    expect_json (r, 1, "sig-armored");
  }
  {
    g_autoptr (Run) h = sk ("--station", f->terminal, "policy", "check", path, NULL);
    expect_human (h, 1, "sig-armored");
  }
}

void
test_policy_sign_invalid (Fixture *f, gconstpointer user_data)
{
  g_autofree char *minimal =
      g_strdup_printf ("{\"format\": \"sekisho-policy/1\", \"keys\": {\"admins\": [\"%s\"], "
                       "\"to-intermediate\": {\"signers\": [\"%s\"], \"recipient\": \"%s\"}, "
                       "\"to-standard\": {\"signers\": [\"%s\"], \"recipient\": \"%s\"}}}",
                       keys->admin, keys->standard, keys->station, keys->station, keys->standard);
  const char *texts[] = { minimal, "{ \"format\": ", "[]", NULL };

  for (gsize i = 0; texts[i] != NULL; i++)
    {
      g_autofree char *name = g_strdup_printf ("invalid-%" G_GSIZE_FORMAT ".json", i);
      g_autofree char *path = g_build_filename (f->dir, name, NULL);
      g_autofree char *sig_path = g_strconcat (path, ".sig", NULL);
      g_autoptr (Run) r = NULL;

      write_file (path, texts[i], strlen (texts[i]));
      r = sk ("--station", f->admin, "--json", "policy", "sign", "--key", keys->admin, path, NULL);
      expect_json (r, 1, "policy-invalid");
      g_assert_false (g_file_test (sig_path, G_FILE_TEST_EXISTS));
    }
}

void
test_policy_sign_not_admin (Fixture *f, gconstpointer user_data)
{
  g_autofree char *path = copy_policy (f, "copy.json");
  g_autofree char *sig_path = g_strconcat (path, ".sig", NULL);

  /* Keys that are not in keys.admins: mallory's, and the terminal's own. */
  {
    g_autoptr (Run) r =
        sk ("--station", f->admin, "--json", "policy", "sign", "--key", keys->mallory, path, NULL);
    expect_json (r, 1, "policy-untrusted-signer");
    g_assert_false (g_file_test (sig_path, G_FILE_TEST_EXISTS));
  }
  {
    g_autoptr (Run) r =
        sk ("--station", f->admin, "--json", "policy", "sign", "--key", keys->station, path, NULL);
    expect_json (r, 1, "policy-untrusted-signer");
    g_assert_false (g_file_test (sig_path, G_FILE_TEST_EXISTS));
  }
  {
    g_autoptr (Run) h =
        sk ("--station", f->admin, "policy", "sign", "--key", keys->mallory, path, NULL);
    expect_human (h, 1, "policy-untrusted-signer");
    g_assert_false (g_file_test (sig_path, G_FILE_TEST_EXISTS));
  }
}
