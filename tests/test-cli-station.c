/* test-cli-station.c — station init and key import through the CLI */
#define G_LOG_DOMAIN "sekisho-test"

#include "config.h"

#include "sk-test-cli.h"

/* ---- station init ---------------------------------------------------------------- */

static void
assert_mode (const char *path, GFileTest type, mode_t mode)
{
  struct stat st;

  g_assert_true (g_file_test (path, type));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, mode);
}

void
test_station_init (Fixture *f, gconstpointer user_data)
{
  g_autoptr (Run) r = sk ("--station", f->terminal, "--json", "station", "init", "--admin-key",
                          keys->admin, "--signing-key", keys->station, NULL);
  JsonObject *obj = expect_json (r, 0, NULL);
  g_autofree char *conf = g_build_filename (f->terminal, "station.conf", NULL);
  g_autofree char *gnupg = g_build_filename (f->terminal, "gnupg", NULL);
  g_autofree char *store = g_build_filename (f->terminal, "store", NULL);

  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj, "findings")), ==, 0);
  g_assert_true (g_file_test (conf, G_FILE_TEST_IS_REGULAR));
  assert_mode (gnupg, G_FILE_TEST_IS_DIR, 0700);
  assert_mode (store, G_FILE_TEST_IS_DIR, 0700);

  /* The pinned keys are in station.conf, and stock gpg can read the home. */
  {
    g_autoptr (GBytes) text = read_bytes (conf);
    gsize len;
    const char *data = g_bytes_get_data (text, &len);

    g_assert_true (contains (data, len, keys->admin, strlen (keys->admin)));
    g_assert_true (contains (data, len, keys->station, strlen (keys->station)));
  }
  g_assert_false (gpg_home_has (gnupg, keys->admin, FALSE));

  /* Human mode, into an existing empty directory (allowed). */
  {
    g_autofree char *second = g_build_filename (f->dir, "second", NULL);
    g_autoptr (Run) h = NULL;

    g_assert_cmpint (g_mkdir (second, 0700), ==, 0);
    h = sk ("--station", second, "station", "init", "--admin-key", keys->admin, "--signing-key",
            keys->admin, "--name", "second", NULL);
    expect_human (h, 0, NULL);
    g_assert_cmpstr (h->err, ==, "");
  }
}

void
test_station_init_not_empty (Fixture *f, gconstpointer user_data)
{
  g_autofree char *other = g_build_filename (f->terminal, "other", NULL);
  g_autofree char *conf = g_build_filename (f->terminal, "station.conf", NULL);
  g_autoptr (Run) r = NULL;
  g_autoptr (Run) h = NULL;

  g_assert_cmpint (g_mkdir (f->terminal, 0700), ==, 0);
  write_file (other, "x", 1);

  r = sk ("--station", f->terminal, "--json", "station", "init", "--admin-key", keys->admin,
          "--signing-key", keys->station, NULL);
  expect_json (r, 3, "station-invalid");
  h = sk ("--station", f->terminal, "station", "init", "--admin-key", keys->admin, "--signing-key",
          keys->station, NULL);
  expect_human (h, 3, "station-invalid");

  g_assert_false (g_file_test (conf, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (other, G_FILE_TEST_IS_REGULAR));
}

void
test_station_init_bad_fingerprint (Fixture *f, gconstpointer user_data)
{
  g_autofree char *short_fpr = g_strndup (keys->admin, 39);
  g_autofree char *long_fpr = g_strconcat (keys->admin, "0", NULL);
  g_autofree char *not_hex = g_strdup (keys->admin);
  const char *bad[] = { "1234", short_fpr, long_fpr, not_hex, "", NULL };

  not_hex[7] = 'G';
  for (gsize i = 0; bad[i] != NULL; i++)
    {
      g_autoptr (Run) a = sk ("--station", f->terminal, "--json", "station", "init", "--admin-key",
                              bad[i], "--signing-key", keys->station, NULL);
      g_autoptr (Run) s = sk ("--station", f->terminal, "--json", "station", "init", "--admin-key",
                              keys->admin, "--signing-key", bad[i], NULL);

      g_test_message ("fingerprint \"%s\"", bad[i]);
      expect_json (a, 2, "usage");
      expect_json (s, 2, "usage");
      g_assert_false (g_file_test (f->terminal, G_FILE_TEST_EXISTS));
    }

  /* A missing --signing-key is a usage error too. */
  {
    g_autoptr (Run) m =
        sk ("--station", f->terminal, "station", "init", "--admin-key", keys->admin, NULL);
    expect_human (m, 2, "usage");
    g_assert_false (g_file_test (f->terminal, G_FILE_TEST_EXISTS));
  }
}

/* ---- key import -------------------------------------------------------------------- */

static GPtrArray *
json_strings (JsonObject *obj, const char *member)
{
  GPtrArray *out = g_ptr_array_new ();
  JsonArray *array;

  g_assert_true (json_object_has_member (obj, member));
  array = json_object_get_array_member (obj, member);
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_ptr_array_add (out, (char *)json_array_get_string_element (array, i));
  return out;
}

void
test_key_import (Fixture *f, gconstpointer user_data)
{
  g_autofree char *gnupg = g_build_filename (f->terminal, "gnupg", NULL);

  sk_ok ("--station", f->terminal, "--json", "station", "init", "--admin-key", keys->admin,
         "--signing-key", keys->station, NULL);

  /* Public keys: both listed in "fingerprints", both in the home. */
  {
    g_autoptr (Run) r =
        sk ("--station", f->terminal, "--json", "key", "import", keys->publics_file, NULL);
    JsonObject *obj = expect_json (r, 0, NULL);
    g_autoptr (GPtrArray) fprs = json_strings (obj, "fingerprints");

    g_assert_cmpuint (fprs->len, ==, 2);
    g_assert_true (g_ptr_array_find_with_equal_func (fprs, keys->admin, g_str_equal, NULL));
    g_assert_true (g_ptr_array_find_with_equal_func (fprs, keys->standard, g_str_equal, NULL));
    g_assert_true (gpg_home_has (gnupg, keys->admin, FALSE));
    g_assert_true (gpg_home_has (gnupg, keys->standard, FALSE));
    g_assert_false (gpg_home_has (gnupg, keys->admin, TRUE));
  }

  /* The station's own secret key. */
  {
    g_autoptr (Run) r =
        sk ("--station", f->terminal, "--json", "key", "import", keys->station_secret_file, NULL);
    JsonObject *obj = expect_json (r, 0, NULL);
    g_autoptr (GPtrArray) fprs = json_strings (obj, "fingerprints");

    g_assert_cmpuint (fprs->len, ==, 1);
    g_assert_cmpstr (g_ptr_array_index (fprs, 0), ==, keys->station);
    g_assert_true (gpg_home_has (gnupg, keys->station, TRUE));
  }

  /* Human mode lists the fingerprints on stdout. */
  {
    g_autoptr (Run) h = sk ("--station", f->terminal, "key", "import", keys->publics_file, NULL);

    expect_human (h, 0, NULL);
    g_assert_nonnull (strstr (h->out, keys->admin));
    g_assert_nonnull (strstr (h->out, keys->standard));
  }
}

void
test_key_import_foreign_secret (Fixture *f, gconstpointer user_data)
{
  g_autofree char *gnupg = g_build_filename (f->terminal, "gnupg", NULL);
  g_autoptr (Run) r = NULL;
  g_autoptr (Run) h = NULL;

  r = sk ("--station", f->terminal, "--json", "key", "import", keys->mallory_secret_file, NULL);
  expect_json (r, 1, "key-refused");
  h = sk ("--station", f->terminal, "key", "import", keys->mallory_secret_file, NULL);
  expect_human (h, 1, "key-refused");

  /* Nothing of mallory's got in: neither the secret nor the public key that
   * came with it.  (The admin's key shows that the listing works.) */
  g_assert_true (gpg_home_has (gnupg, keys->admin, FALSE));
  g_assert_false (gpg_home_has (gnupg, keys->mallory, FALSE));
  g_assert_false (gpg_home_has (gnupg, keys->mallory, TRUE));

  /* And a policy mallory signs is still refused. */
  {
    g_autofree char *path = copy_policy (f, "mallory.json");
    g_autofree char *sig_path = g_strconcat (path, ".sig", NULL);
    g_autofree char *exact = g_strconcat (keys->mallory, "!", NULL);
    const char *args[] = { "-u", exact, NULL };
    g_autoptr (GBytes) data = read_bytes (path);
    g_autoptr (GBytes) sig = sk_test_gpg_sign (keys->gpg, data, args);
    g_autoptr (Run) c = NULL;

    write_bytes (sig_path, sig);
    c = sk ("--station", f->terminal, "--json", "policy", "check", path, NULL);
    expect_json (c, 1, "policy-untrusted-signer");
  }
}
