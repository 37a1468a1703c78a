/* sk-test-stations.c — real keys and two real stations for tests */
#include "config.h"

#include <string.h>

#include "sk-test-stations.h"
#include "sk-test-util.h"

/* ---- keys, made once per process --------------------------------------- */

SkTestKeys sk_test_keys;

/* Runs ARGV with INPUT on stdin; returns the exit status (-1: no exit) and
 * stdout in *OUT.  GNUPGHOME is removed: every gpg call names its home. */
int
sk_test_run (const char *const *argv, GBytes *input, GBytes **out)
{
  g_autoptr (GSubprocessLauncher) launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                 G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  g_autoptr (GBytes) stdout_bytes = NULL;
  g_autoptr (GBytes) stderr_bytes = NULL;
  g_autoptr (GError) error = NULL;

  g_subprocess_launcher_unsetenv (launcher, "GNUPGHOME");
  g_autoptr (GSubprocess) proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_assert_nonnull (proc);
  g_subprocess_communicate (proc, input != NULL ? input : empty, NULL, &stdout_bytes, &stderr_bytes,
                            &error);
  g_assert_no_error (error);
  int status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
  if (status != 0)
    {
      g_autofree char *cmd = g_strjoinv (" ", (char **)argv);
      g_autofree char *text =
          g_strndup (g_bytes_get_data (stderr_bytes, NULL), g_bytes_get_size (stderr_bytes));
      g_test_message ("`%s` exited %d:\n%s", cmd, status, text);
    }
  if (out != NULL)
    *out = g_steal_pointer (&stdout_bytes);
  return status;
}

/* `gpg --homedir KEYS --batch … ARGS…` with INPUT on stdin; asserts exit 0
 * and returns stdout. */
GBytes *
sk_test_keys_gpgv (GBytes *input, GPtrArray *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const char *fixed[] = { "gpg",           "--homedir",    sk_test_gpg_get_home (sk_test_keys.gpg),
                          "--batch",       "--no-tty",     "--pinentry-mode",
                          "loopback",      "--passphrase", "",
                          "--trust-model", "always" };

  for (gsize i = 0; i < G_N_ELEMENTS (fixed); i++)
    g_ptr_array_add (argv, (gpointer)fixed[i]);
  for (guint i = 0; i < args->len; i++)
    g_ptr_array_add (argv, g_ptr_array_index (args, i));
  g_ptr_array_add (argv, NULL);

  GBytes *out = NULL;
  g_assert_cmpint (sk_test_run ((const char *const *)argv->pdata, input, &out), ==, 0);
  g_assert_nonnull (out);
  return out;
}

/* keys_gpgv() with ARGS NULL-terminated. */
GBytes *
sk_test_keys_gpg (GBytes *input, const char *first, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer)a);
  va_end (ap);
  return sk_test_keys_gpgv (input, args);
}

/* sk_test_gpg has no helper for encryption subkeys. */
static void
add_encryption_subkey (const char *fpr)
{
  g_autoptr (GBytes) out =
      sk_test_keys_gpg (NULL, "--quick-add-key", fpr, "cv25519", "encr", "never", NULL);
  g_assert_nonnull (out);
}

static char *
make_person (const char *uid)
{
  char *fpr = sk_test_gpg_make_key (sk_test_keys.gpg, uid, "ed25519", "never", NULL);
  add_encryption_subkey (fpr);
  return fpr;
}

void
sk_test_keys_make (void)
{
  if (sk_test_keys.gpg != NULL)
    return;
  sk_test_keys.gpg = sk_test_gpg_new ();
  sk_test_keys.admin = sk_test_gpg_make_key (sk_test_keys.gpg, "Admin <admin@test.invalid>",
                                             "ed25519", "never", NULL);
  sk_test_keys.terminal = make_person ("Terminal <terminal@test.invalid>");
  sk_test_keys.standard = make_person ("Standard <standard@test.invalid>");
  sk_test_keys.mallory = make_person ("Mallory <mallory@test.invalid>");
  sk_test_keys.weak =
      sk_test_gpg_make_key (sk_test_keys.gpg, "Weak <weak@test.invalid>", "rsa2048", "never", NULL);

  sk_test_keys.admin_pub = sk_test_gpg_export (sk_test_keys.gpg, sk_test_keys.admin, FALSE);
  sk_test_keys.terminal_pub = sk_test_gpg_export (sk_test_keys.gpg, sk_test_keys.terminal, FALSE);
  sk_test_keys.terminal_sec = sk_test_gpg_export (sk_test_keys.gpg, sk_test_keys.terminal, TRUE);
  sk_test_keys.standard_pub = sk_test_gpg_export (sk_test_keys.gpg, sk_test_keys.standard, FALSE);
  sk_test_keys.standard_sec = sk_test_gpg_export (sk_test_keys.gpg, sk_test_keys.standard, TRUE);
  sk_test_keys.mallory_pub = sk_test_gpg_export (sk_test_keys.gpg, sk_test_keys.mallory, FALSE);
  sk_test_keys.weak_pub = sk_test_gpg_export (sk_test_keys.gpg, sk_test_keys.weak, FALSE);
}

void
sk_test_keys_free (void)
{
  if (sk_test_keys.gpg == NULL)
    return;
  sk_test_gpg_free (sk_test_keys.gpg);
  g_free (sk_test_keys.admin);
  g_free (sk_test_keys.terminal);
  g_free (sk_test_keys.standard);
  g_free (sk_test_keys.mallory);
  g_free (sk_test_keys.weak);
  g_bytes_unref (sk_test_keys.admin_pub);
  g_bytes_unref (sk_test_keys.terminal_pub);
  g_bytes_unref (sk_test_keys.terminal_sec);
  g_bytes_unref (sk_test_keys.standard_pub);
  g_bytes_unref (sk_test_keys.standard_sec);
  g_bytes_unref (sk_test_keys.mallory_pub);
  g_bytes_unref (sk_test_keys.weak_pub);
  memset (&sk_test_keys, 0, sizeof sk_test_keys);
}

/* One import of the concatenation of KEYDATA (NULL-terminated); OWN_FPR is the
 * one secret key allowed. */
void
sk_test_import (SkStation *station, const char *own_fpr, GBytes *const *keydata)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GByteArray) all = g_byte_array_new ();
  guint n = 0;
  for (; keydata[n] != NULL; n++)
    g_byte_array_append (all, g_bytes_get_data (keydata[n], NULL),
                         (guint)g_bytes_get_size (keydata[n]));
  g_autoptr (GBytes) bytes = g_bytes_new (all->data, all->len);
  g_autoptr (GPtrArray) fprs =
      sk_keyring_import (sk_station_get_keyring (station), bytes, own_fpr, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fprs);
  g_assert_cmpuint (fprs->len, ==, n);
}

/* policies/default.json with its key section filled; EXTRA_SIGNER (may be
 * NULL) is listed beside the standard key for to-intermediate, MAX_SIZE (may
 * be NULL) replaces max_package_size.  Each text has a serial greater than
 * the one before, as an administrator's next policy has: a station installs
 * no policy whose serial is not greater than its own. */
char *
sk_test_policy_text (const char *extra_signer, const char *max_size)
{
  static gint serial = 0;
  g_autofree char *text = sk_test_default_policy_text ();
  g_autoptr (GString) s = g_string_new (text);
  g_autofree char *serial_json =
      g_strdup_printf ("\"serial\": %d,", g_atomic_int_add (&serial, 1) + 1);
  g_assert_cmpuint (g_string_replace (s, "\"serial\": 1,", serial_json, 1), ==, 1);
  g_autofree char *admins = g_strdup_printf ("\"admins\": [\"%s\"]", sk_test_keys.admin);
  g_autofree char *signers =
      extra_signer != NULL ? g_strdup_printf ("\"%s\", \"%s\"", sk_test_keys.standard, extra_signer)
                           : g_strdup_printf ("\"%s\"", sk_test_keys.standard);
  g_autofree char *to_int =
      g_strdup_printf ("\"to-intermediate\": { \"signers\": [%s], \"recipient\": \"%s\" }", signers,
                       sk_test_keys.terminal);
  g_autofree char *to_std =
      g_strdup_printf ("\"to-standard\": { \"signers\": [\"%s\"], \"recipient\": \"%s\" }",
                       sk_test_keys.terminal, sk_test_keys.standard);

  g_assert_cmpuint (g_string_replace (s, "\"admins\": []", admins, 1), ==, 1);
  g_assert_cmpuint (
      g_string_replace (s, "\"to-intermediate\": { \"signers\": [], \"recipient\": \"\" }", to_int,
                        1),
      ==, 1);
  g_assert_cmpuint (
      g_string_replace (s, "\"to-standard\": { \"signers\": [], \"recipient\": \"\" }", to_std, 1),
      ==, 1);
  if (max_size != NULL)
    {
      g_autofree char *cap = g_strdup_printf ("\"max_package_size\": %s", max_size);
      g_assert_cmpuint (g_string_replace (s, "\"max_package_size\": 2147483648", cap, 1), ==, 1);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* Writes TEXT as DIR/NAME and its signature by the admin; returns the
 * path. */
char *
sk_test_write_policy (const char *dir, const char *name, const char *text)
{
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr (GBytes) bytes = g_bytes_new (text, strlen (text));
  const char *args[] = { "-u", sk_test_keys.admin, NULL };
  g_autoptr (GBytes) sig = sk_test_gpg_sign (sk_test_keys.gpg, bytes, args);
  g_autofree char *sig_path = g_strconcat (path, ".sig", NULL);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, g_bytes_get_data (bytes, NULL), (gssize)g_bytes_get_size (bytes),
                       &error);
  g_assert_no_error (error);
  g_file_set_contents (sig_path, g_bytes_get_data (sig, NULL), (gssize)g_bytes_get_size (sig),
                       &error);
  g_assert_no_error (error);
  return path;
}

SkPolicy *
sk_test_install (SkStation *station, const char *path)
{
  g_autoptr (GError) error = NULL;
  SkPolicy *policy =
      sk_station_install_policy (station, sk_actor_for_process (SK_ROLE_ADMIN), path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (policy);
  return policy;
}

/* One station, made with the core API: created, its keys imported in one
 * go, the policy installed.  The two of a fixture are made on two threads:
 * each step waits on gpg, not on the CPU. */
typedef struct
{
  const char *dir;
  const char *name;
  const char *own_fpr;
  GBytes **keydata;
  const char *policy_path;
  SkStation *station;
  SkPolicy *policy;
} StationJob;

static gpointer
make_station (gpointer data)
{
  StationJob *job = data;
  g_autoptr (GError) error = NULL;

  job->station = sk_station_create (job->dir, sk_test_keys.admin, job->own_fpr, job->name,
                                    sk_actor_for_process (SK_ROLE_ADMIN), &error);
  g_assert_no_error (error);
  g_assert_nonnull (job->station);
  sk_test_import (job->station, job->own_fpr, job->keydata);
  job->policy = sk_test_install (job->station, job->policy_path);
  return NULL;
}

static gboolean serial;

void
sk_test_stations_set_serial (gboolean one_thread)
{
  serial = one_thread;
}

/* FUNC (DATA) on a thread of its own, or on this one when serial. */
static GThread *
start (const char *name, GThreadFunc func, gpointer data)
{
  if (!serial)
    return g_thread_new (name, func, data);
  func (data);
  return NULL;
}

void
sk_test_stations_make (const char *dir, SkTestStations *out)
{
  sk_test_keys_make ();
  out->policy_text = sk_test_policy_text (NULL, NULL);
  g_autofree char *path = sk_test_write_policy (dir, "policy.json", out->policy_text);
  g_autofree char *term_dir = g_build_filename (dir, "t", NULL);
  g_autofree char *std_dir = g_build_filename (dir, "s", NULL);
  GBytes *term_keys[] = { sk_test_keys.admin_pub, sk_test_keys.standard_pub,
                          sk_test_keys.terminal_sec, NULL };
  GBytes *std_keys[] = { sk_test_keys.admin_pub, sk_test_keys.terminal_pub,
                         sk_test_keys.standard_sec, NULL };
  StationJob term = { term_dir, "terminal", sk_test_keys.terminal, term_keys, path, NULL, NULL };
  StationJob std = { std_dir, "standard", sk_test_keys.standard, std_keys, path, NULL, NULL };
  GThread *thread = start ("sk-test-station", make_station, &std);
  make_station (&term);
  if (thread != NULL)
    g_thread_join (thread);
  out->term = term.station;
  out->term_policy = term.policy;
  out->std = std.station;
  out->std_policy = std.policy;
}

static gpointer
remove_home (gpointer home)
{
  sk_test_gpg_remove_home (home);
  return NULL;
}

void
sk_test_stations_clear (SkTestStations *s)
{
  g_autofree char *term_home = g_build_filename (sk_station_get_dir (s->term), "gnupg", NULL);
  g_autofree char *std_home = g_build_filename (sk_station_get_dir (s->std), "gnupg", NULL);

  g_clear_object (&s->term_policy);
  g_clear_object (&s->std_policy);
  g_clear_object (&s->term);
  g_clear_object (&s->std);
  g_clear_pointer (&s->policy_text, g_free);
  GThread *thread = start ("sk-test-rm", remove_home, std_home);
  remove_home (term_home);
  if (thread != NULL)
    g_thread_join (thread);
}
