/* sk-test-gpg.c — real OpenPGP keys for tests, made with the stock gpg CLI */
#define G_LOG_DOMAIN "sekisho-test-gpg"

#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "sk-test-gpg.h"

struct _SkTestGpg
{
  char *home;
};

/* Runs ARGV (NULL-terminated) with INPUT (may be NULL) on stdin and returns
 * its stdout; asserts that it exits 0.  GNUPGHOME is removed from the child's
 * environment: every call names its home with --homedir. */
static GBytes *
run (const char *const *argv, GBytes *input)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  g_autoptr (GBytes) out = NULL;
  g_autoptr (GBytes) err = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *cmdline = g_strjoinv (" ", (char **)argv);

  launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                 G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_unsetenv (launcher, "GNUPGHOME");
  proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_communicate (proc, input != NULL ? input : empty, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (proc) || g_subprocess_get_exit_status (proc) != 0)
    {
      g_autofree char *text = g_strndup (g_bytes_get_data (err, NULL), g_bytes_get_size (err));
      g_test_message ("`%s` failed:\n%s", cmdline, text);
      g_assert_not_reached ();
    }
  return g_steal_pointer (&out);
}

/* `gpg --homedir HOME --batch … ARGS…`; ARGS is NULL-terminated. */
static GBytes *
run_gpg (SkTestGpg *self, GBytes *input, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (char *)"gpg");
  g_ptr_array_add (argv, (char *)"--homedir");
  g_ptr_array_add (argv, self->home);
  g_ptr_array_add (argv, (char *)"--batch");
  g_ptr_array_add (argv, (char *)"--no-tty");
  g_ptr_array_add (argv, (char *)"--pinentry-mode");
  g_ptr_array_add (argv, (char *)"loopback");
  g_ptr_array_add (argv, (char *)"--passphrase");
  g_ptr_array_add (argv, (char *)"");
  for (gsize i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *)args[i]);
  g_ptr_array_add (argv, NULL);
  return run ((const char *const *)argv->pdata, input);
}

/* The fingerprints on the `fpr` line after each RECTYPE line ("pub" or
 * "sub") of `gpg --with-colons --list-keys PATTERN`. */
static GPtrArray *
list_fprs (SkTestGpg *self, const char *pattern, const char *rectype)
{
  const char *args[] = { "--with-colons", "--list-keys", "--", pattern, NULL };
  g_autoptr (GBytes) out = run_gpg (self, NULL, args);
  g_autofree char *text = g_strndup (g_bytes_get_data (out, NULL), g_bytes_get_size (out));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GPtrArray) fprs = g_ptr_array_new_with_free_func (g_free);
  gboolean want_fpr = FALSE;

  for (gsize i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) fields = g_strsplit (lines[i], ":", -1);

      if (fields[0] == NULL)
        continue;
      if (g_str_equal (fields[0], "fpr"))
        {
          if (want_fpr)
            {
              g_assert_cmpuint (g_strv_length (fields), >, 9);
              g_assert_cmpuint (strlen (fields[9]), ==, 40);
              g_ptr_array_add (fprs, g_strdup (fields[9]));
            }
          want_fpr = FALSE;
        }
      else if (g_str_equal (fields[0], "pub") || g_str_equal (fields[0], "sub"))
        want_fpr = g_str_equal (fields[0], rectype);
    }
  return g_steal_pointer (&fprs);
}

void
sk_test_remove_tree (const char *path)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileEnumerator) children = NULL;
  g_autoptr (GError) error = NULL;

  children = g_file_enumerate_children (
      file, G_FILE_ATTRIBUTE_STANDARD_NAME "," G_FILE_ATTRIBUTE_STANDARD_TYPE,
      G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  while (children != NULL)
    {
      g_autoptr (GFileInfo) info = g_file_enumerator_next_file (children, NULL, &error);
      if (info == NULL)
        break;
      g_autofree char *child = g_build_filename (path, g_file_info_get_name (info), NULL);

      if (g_file_info_get_file_type (info) == G_FILE_TYPE_DIRECTORY)
        sk_test_remove_tree (child);
      else if (g_unlink (child) != 0 && errno != ENOENT)
        g_test_message ("removing %s: %s", child, g_strerror (errno));
    }
  g_assert_no_error (error);
  if (g_rmdir (path) != 0 && errno != ENOENT)
    g_test_message ("removing %s: %s", path, g_strerror (errno));
}

void
sk_test_gpg_remove_home (const char *path)
{
  const char *argv[] = { "gpgconf", "--homedir", path, "--kill", "all", NULL };
  g_autoptr (GBytes) out = NULL;

  g_assert_nonnull (path);
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    return;
  out = run (argv, NULL);
  sk_test_remove_tree (path);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

SkTestGpg *
sk_test_gpg_new (void)
{
  g_autoptr (GError) error = NULL;
  SkTestGpg *self = g_new0 (SkTestGpg, 1);

  /* Short: where /run/user is missing, gpg-agent's socket lives in the home,
   * and a socket path may not exceed 107 bytes. */
  self->home = g_dir_make_tmp ("skg-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (self->home, 0700), ==, 0);
  return self;
}

const char *
sk_test_gpg_get_home (SkTestGpg *self)
{
  g_assert_nonnull (self);
  return self->home;
}

static char *
make_key (SkTestGpg *self,
          const char *uid,
          const char *algo,
          const char *usage,
          const char *expire,
          const char *faked_time)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_autoptr (GBytes) out = NULL;
  g_autoptr (GPtrArray) fprs = NULL;
  g_autofree char *exact = g_strconcat ("=", uid, NULL);

  if (faked_time != NULL)
    {
      g_ptr_array_add (args, (char *)"--faked-system-time");
      g_ptr_array_add (args, (char *)faked_time);
    }
  g_ptr_array_add (args, (char *)"--quick-gen-key");
  g_ptr_array_add (args, (char *)uid);
  g_ptr_array_add (args, (char *)algo);
  g_ptr_array_add (args, (char *)usage);
  g_ptr_array_add (args, (char *)expire);
  g_ptr_array_add (args, NULL);
  out = run_gpg (self, NULL, (const char *const *)args->pdata);

  fprs = list_fprs (self, exact, "pub");
  g_assert_cmpuint (fprs->len, ==, 1);
  return g_strdup (g_ptr_array_index (fprs, 0));
}

char *
sk_test_gpg_make_key (
    SkTestGpg *self, const char *uid, const char *algo, const char *expire, const char *faked_time)
{
  g_assert_nonnull (self);
  g_assert_nonnull (uid);
  g_assert_nonnull (algo);
  g_assert_nonnull (expire);
  return make_key (self, uid, algo, "sign", expire, faked_time);
}

char *
sk_test_gpg_make_cert_key (SkTestGpg *self, const char *uid, const char *algo)
{
  g_assert_nonnull (self);
  g_assert_nonnull (uid);
  g_assert_nonnull (algo);
  return make_key (self, uid, algo, "cert", "never", NULL);
}

char *
sk_test_gpg_add_signing_subkey (SkTestGpg *self, const char *primary_fpr, const char *algo)
{
  const char *args[] = { "--quick-add-key", primary_fpr, algo, "sign", "never", NULL };
  g_autoptr (GPtrArray) before = NULL;
  g_autoptr (GPtrArray) after = NULL;
  g_autoptr (GBytes) out = NULL;
  char *added = NULL;

  g_assert_nonnull (self);
  g_assert_nonnull (primary_fpr);
  g_assert_nonnull (algo);

  before = list_fprs (self, primary_fpr, "sub");
  out = run_gpg (self, NULL, args);
  after = list_fprs (self, primary_fpr, "sub");
  g_assert_cmpuint (after->len, ==, before->len + 1);

  for (guint i = 0; i < after->len; i++)
    {
      const char *fpr = g_ptr_array_index (after, i);

      if (!g_ptr_array_find_with_equal_func (before, fpr, g_str_equal, NULL))
        {
          g_assert_null (added);
          added = g_strdup (fpr);
        }
    }
  g_assert_nonnull (added);
  return added;
}

GBytes *
sk_test_gpg_export (SkTestGpg *self, const char *fpr, gboolean secret)
{
  const char *args[] = { secret ? "--export-secret-keys" : "--export", "--", fpr, NULL };
  g_autoptr (GBytes) out = NULL;

  g_assert_nonnull (self);
  g_assert_nonnull (fpr);
  out = run_gpg (self, NULL, args);
  g_assert_cmpuint (g_bytes_get_size (out), >, 0);
  return g_steal_pointer (&out);
}

GBytes *
sk_test_gpg_sign (SkTestGpg *self, GBytes *data, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GBytes) out = NULL;

  g_assert_nonnull (self);
  g_assert_nonnull (data);
  for (gsize i = 0; args != NULL && args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *)args[i]);
  g_ptr_array_add (argv, (char *)"--output");
  g_ptr_array_add (argv, (char *)"-");
  g_ptr_array_add (argv, (char *)"--detach-sign");
  g_ptr_array_add (argv, NULL);
  out = run_gpg (self, data, (const char *const *)argv->pdata);
  g_assert_cmpuint (g_bytes_get_size (out), >, 0);
  return g_steal_pointer (&out);
}

void
sk_test_gpg_revoke (SkTestGpg *self, const char *fpr)
{
  const char *args[] = { "--import", NULL };
  const char *armor = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
  g_autofree char *rev_name = NULL;
  g_autofree char *rev_path = NULL;
  g_autofree char *text = NULL;
  g_autofree char *protected_armor = NULL;
  g_autoptr (GString) cert = NULL;
  g_autoptr (GBytes) input = NULL;
  g_autoptr (GBytes) out = NULL;
  g_autoptr (GError) error = NULL;
  char *at;

  g_assert_nonnull (self);
  g_assert_nonnull (fpr);

  rev_name = g_strconcat (fpr, ".rev", NULL);
  rev_path = g_build_filename (self->home, "openpgp-revocs.d", rev_name, NULL);
  g_file_get_contents (rev_path, &text, NULL, &error);
  g_assert_no_error (error);

  /* gpg guards the certificate against an accidental import with a ':'
   * before its armor line; take it away. */
  protected_armor = g_strconcat (":", armor, NULL);
  at = strstr (text, protected_armor);
  g_assert_nonnull (at);
  cert = g_string_new (text);
  g_string_erase (cert, at - text, 1);

  input = g_bytes_new (cert->str, cert->len);
  out = run_gpg (self, input, args);
}

void
sk_test_gpg_free (SkTestGpg *self)
{
  if (self == NULL)
    return;
  sk_test_gpg_remove_home (self->home);
  g_free (self->home);
  g_free (self);
}

char *
sk_test_gpg_run_in (const char *home, const char *const *args, const char *out_path)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const char *head[] = { "gpg",      "--homedir",       home,       "--batch",      "--yes",
                         "--no-tty", "--pinentry-mode", "loopback", "--passphrase", "",
                         NULL };
  for (gsize i = 0; head[i] != NULL; i++)
    g_ptr_array_add (argv, (char *)head[i]);
  if (out_path != NULL)
    {
      g_ptr_array_add (argv, (char *)"-o");
      g_ptr_array_add (argv, (char *)out_path);
    }
  for (gsize i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *)args[i]);
  g_ptr_array_add (argv, NULL);
  g_autofree char *err = NULL;
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                NULL, NULL, NULL, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("gpg %s failed: %s", args[0], err);
  return g_steal_pointer (&err);
}

void
sk_test_gpg_stock_import (const char *tmp, const char *home, GBytes *keydata)
{
  g_autofree char *path = g_build_filename (tmp, "key.gpg", NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents (path, g_bytes_get_data (keydata, NULL),
                                      (gssize)g_bytes_get_size (keydata), &error));
  const char *argv[] = { "gpg", "--homedir", home, "--batch", "--quiet", "--import", path, NULL };
  int status = -1;
  g_assert_true (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpint (g_unlink (path), ==, 0);
}
