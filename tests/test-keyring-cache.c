/* test-keyring-cache.c — the key cache file of a station home
 *
 * sk-keyring-cache.c keeps gpg's listing and export of a home in
 * HOME/sekisho-keys.cache so that the next process starts no gpg.  Here,
 * with real keys and stock gpg: a second process uses the file and starts
 * no process at all (it runs under a seccomp filter that fails every
 * execve, and the same run without the file fails); every change the
 * file's stamps must catch (a key imported, a revocation, an expiry, the
 * keyring replaced by a copy with the same size and times) is seen; a
 * damaged file is rebuilt and never believed; two processes at once both
 * end right; and the listing parser reads every field the cache's users
 * read exactly as GPGME's own keylist does.
 */
#define G_LOG_DOMAIN "sekisho-test"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <gpgme.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-keyring.h"
#include "sk-test-gpg.h"

/* The listing parser, from sk-keyring-listing.c (declared here: its header
 * is GPGME's door, which only the keyring's files include). */
GBytes *
_sk_keyring_run_listing (const char *homedir, GError **error);
gboolean
_sk_keyring_parse_listing (GBytes *listing, GPtrArray **out_keys, GError **error);

#define CACHE_NAME "sekisho-keys.cache"

static const char signed_data[] = "KNY01 header\r\nrecord 1\r\n";
static const char *self_exe;

typedef struct
{
  SkTestGpg *gpg;
  char *signer;   /* Ed25519, signs DATA */
  char *other;    /* RSA 3072, with an encryption subkey */
  char *stranger; /* imported later, behind the station's back */
} Keys;

static Keys *keys;

typedef struct
{
  char *tmp;
  char *home;
  GBytes *data;
  GBytes *sig; /* by keys->signer over DATA */
} Station;

static void
keys_ensure (void)
{
  if (keys->signer != NULL)
    return;
  keys->signer = sk_test_gpg_make_key (keys->gpg, "Signer <s@test>", "ed25519", "never", NULL);
  keys->other = sk_test_gpg_make_key (keys->gpg, "Other <o@test>", "rsa3072", "2y", NULL);
  keys->stranger = sk_test_gpg_make_key (keys->gpg, "Str <x@test>", "ed25519", "never", NULL);
}

static void
station_setup (Station *st, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  keys_ensure ();
  st->tmp = g_dir_make_tmp ("skc-XXXXXX", &error);
  g_assert_no_error (error);
  st->home = g_build_filename (st->tmp, "gnupg", NULL);
  g_assert_true (sk_keyring_init_home (st->home, &error));
  g_assert_no_error (error);
  g_autoptr (GBytes) a = sk_test_gpg_export (keys->gpg, keys->signer, FALSE);
  g_autoptr (GBytes) b = sk_test_gpg_export (keys->gpg, keys->other, FALSE);
  sk_test_gpg_stock_import (st->tmp, st->home, a);
  sk_test_gpg_stock_import (st->tmp, st->home, b);
  st->data = g_bytes_new_static (signed_data, sizeof signed_data - 1);
  g_autofree char *exact = g_strconcat (keys->signer, "!", NULL);
  const char *args[] = { "-u", exact, NULL };
  st->sig = sk_test_gpg_sign (keys->gpg, st->data, args);
}

static void
station_teardown (Station *st, gconstpointer user_data)
{
  sk_test_gpg_remove_home (st->home);
  for (const char *const *name = (const char *const[]){ "sig", "data", NULL }; *name != NULL;
       name++)
    {
      g_autofree char *path = g_build_filename (st->tmp, *name, NULL);
      (void)g_unlink (path);
    }
  g_assert_cmpint (g_rmdir (st->tmp), ==, 0);
  g_free (st->home);
  g_free (st->tmp);
  g_bytes_unref (st->data);
  g_bytes_unref (st->sig);
}

/* Past the cache's racy window (2.1 s on a file system without
 * nanoseconds), so that a listing made now is kept and written. */
static void
settle (void)
{
  g_usleep (2300 * G_TIME_SPAN_MILLISECOND);
}

static char *
cache_path (Station *st)
{
  return g_build_filename (st->home, CACHE_NAME, NULL);
}

/* A new object on the home verifies the signature (or refuses with CODE,
 * when not 0); returns how many gpg runs it made for its keys. */
static guint
verify_once (Station *st, const char *signer, GBytes *sig, int code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkKeyring) keyring = sk_keyring_new (st->home, &error);
  g_assert_no_error (error);
  const char *allowed[] = { signer, NULL };
  g_autoptr (SkSignature) out =
      sk_keyring_verify_detached_bytes (keyring, sig, st->data, allowed, &error);
  if (code == 0)
    {
      g_assert_no_error (error);
      g_assert_nonnull (out);
    }
  else
    {
      g_assert_error (error, SK_ERROR, code);
      g_assert_null (out);
    }
  return sk_keyring_get_key_runs (keyring);
}

/* ---- the file is used, and nothing is started -------------------------------- */

static void
test_second_object (Station *st, gconstpointer user_data)
{
  settle ();
  g_assert_cmpuint (verify_once (st, keys->signer, st->sig, 0), ==, 2);
  g_autofree char *path = cache_path (st);
  struct stat s;
  g_assert_cmpint (lstat (path, &s), ==, 0);
  g_assert_true (S_ISREG (s.st_mode));
  g_assert_cmpuint (s.st_mode & 07777, ==, 0600);
  g_assert_cmpuint (verify_once (st, keys->signer, st->sig, 0), ==, 0);
  g_assert_cmpuint (verify_once (st, keys->signer, st->sig, 0), ==, 0);
  /* No temporary file is left behind. */
  g_autoptr (GDir) dir = g_dir_open (st->home, 0, NULL);
  for (const char *name; (name = g_dir_read_name (dir)) != NULL;)
    g_assert_false (g_str_has_prefix (name, "." CACHE_NAME));
}

/* The child: verify with a new object on HOME and exit 0 on acceptance;
 * with "--no-exec", under a seccomp filter that fails every execve. */
static int
child_main (int argc, char **argv)
{
  g_assert_cmpint (argc, ==, 7);
  gboolean no_exec = strcmp (argv[2], "--no-exec") == 0;
  const char *home = argv[3];
  g_autoptr (GError) error = NULL;
  g_autofree char *sig = NULL, *data = NULL;
  gsize sig_len = 0, data_len = 0;
  g_assert_true (g_file_get_contents (argv[4], &sig, &sig_len, &error));
  g_assert_true (g_file_get_contents (argv[5], &data, &data_len, &error));
  if (no_exec)
    {
      struct sock_filter filter[] = {
        BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
        BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 2, 0),
        BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, __NR_execveat, 1, 0),
        BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      };
      struct sock_fprog prog = { G_N_ELEMENTS (filter), filter };
      g_assert_cmpint (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), ==, 0);
      g_assert_cmpint (prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), ==, 0);
    }
  g_autoptr (SkKeyring) keyring = sk_keyring_new (home, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) sig_bytes = g_bytes_new_take (g_steal_pointer (&sig), sig_len);
  g_autoptr (GBytes) data_bytes = g_bytes_new_take (g_steal_pointer (&data), data_len);
  const char *allowed[] = { argv[6], NULL };
  g_autoptr (SkSignature) out =
      sk_keyring_verify_detached_bytes (keyring, sig_bytes, data_bytes, allowed, &error);
  if (out == NULL)
    {
      g_printerr ("child: %s\n", error->message);
      return 1;
    }
  g_print ("%u\n", sk_keyring_get_key_runs (keyring));
  return 0;
}

static GPid
child_start (Station *st, gboolean no_exec, int *out_stdout)
{
  g_autofree char *sig_path = g_build_filename (st->tmp, "sig", NULL);
  g_autofree char *data_path = g_build_filename (st->tmp, "data", NULL);
  g_autoptr (GError) error = NULL;
  if (!g_file_test (sig_path, G_FILE_TEST_EXISTS))
    {
      g_assert_true (g_file_set_contents (sig_path, g_bytes_get_data (st->sig, NULL),
                                          (gssize)g_bytes_get_size (st->sig), &error));
      g_assert_true (g_file_set_contents (data_path, signed_data, sizeof signed_data - 1, &error));
    }
  const char *argv[] = { self_exe,     "--child", no_exec ? "--no-exec" : "--exec",
                         st->home,     sig_path,  data_path,
                         keys->signer, NULL };
  GPid pid = 0;
  g_assert_true (g_spawn_async_with_pipes (NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                           NULL, NULL, &pid, NULL, out_stdout, NULL, &error));
  g_assert_no_error (error);
  return pid;
}

/* Waits for PID; its exit status, and what it printed in *OUT. */
static int
child_wait (GPid pid, int out_fd, char **out)
{
  g_autoptr (GString) text = g_string_new (NULL);
  char buf[256];
  gssize n;
  while ((n = read (out_fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      g_string_append_len (text, buf, n);
  close (out_fd);
  int status = 0;
  while (waitpid (pid, &status, 0) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  g_spawn_close_pid (pid);
  *out = g_strstrip (g_string_free (g_steal_pointer (&text), FALSE));
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

static void
test_no_process (Station *st, gconstpointer user_data)
{
  settle ();
  int fd = -1;
  g_autofree char *printed = NULL;
  /* Without the file a process that may not exec cannot verify: the
   * filter works, and the keys need gpg ... */
  GPid pid = child_start (st, TRUE, &fd);
  g_assert_cmpint (child_wait (pid, fd, &printed), !=, 0);
  /* ... so one that may, writes it ... */
  g_clear_pointer (&printed, g_free);
  pid = child_start (st, FALSE, &fd);
  g_assert_cmpint (child_wait (pid, fd, &printed), ==, 0);
  g_assert_cmpstr (printed, ==, "2");
  /* ... and then one that may not, verifies from it alone. */
  g_clear_pointer (&printed, g_free);
  pid = child_start (st, TRUE, &fd);
  g_assert_cmpint (child_wait (pid, fd, &printed), ==, 0);
  g_assert_cmpstr (printed, ==, "0");
}

/* Two processes at once, with no file: both verify, and the file they
 * leave is whole and true. */
static void
test_two_at_once (Station *st, gconstpointer user_data)
{
  settle ();
  g_autofree char *path = cache_path (st);
  for (int round = 0; round < 3; round++)
    {
      (void)g_unlink (path);
      int fd_a = -1, fd_b = -1;
      g_autofree char *out_a = NULL, *out_b = NULL;
      GPid a = child_start (st, FALSE, &fd_a);
      GPid b = child_start (st, FALSE, &fd_b);
      g_assert_cmpint (child_wait (a, fd_a, &out_a), ==, 0);
      g_assert_cmpint (child_wait (b, fd_b, &out_b), ==, 0);
      g_assert_cmpuint (verify_once (st, keys->signer, st->sig, 0), ==, 0);
    }
}

/* ---- what must be seen ----------------------------------------------------- */

static void
test_key_imported (Station *st, gconstpointer user_data)
{
  settle ();
  g_autoptr (GError) error = NULL;
  g_autoptr (SkKeyring) first = sk_keyring_new (st->home, &error);
  g_assert_false (sk_keyring_has_public_key (first, keys->stranger));
  g_assert_cmpuint (sk_keyring_get_key_runs (first), ==, 2);
  g_autoptr (GBytes) key = sk_test_gpg_export (keys->gpg, keys->stranger, FALSE);
  sk_test_gpg_stock_import (st->tmp, st->home, key);
  g_autoptr (SkKeyring) second = sk_keyring_new (st->home, &error);
  g_assert_true (sk_keyring_has_public_key (second, keys->stranger));
  g_assert_cmpuint (sk_keyring_get_key_runs (second), >=, 2);
  /* Through an object: the file goes with the import. */
  settle ();
  g_assert_cmpuint (verify_once (st, keys->signer, st->sig, 0), ==, 2);
  g_autoptr (GBytes) again = sk_test_gpg_export (keys->gpg, keys->stranger, FALSE);
  g_autoptr (GPtrArray) imported = sk_keyring_import (second, again, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (imported);
  g_autofree char *path = cache_path (st);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
}

static void
test_revoked (Station *st, gconstpointer user_data)
{
  /* A key of this test's own, revoked behind the station's back. */
  g_autofree char *victim =
      sk_test_gpg_make_key (keys->gpg, "Victim <v@test>", "ed25519", "never", NULL);
  g_autoptr (GBytes) key = sk_test_gpg_export (keys->gpg, victim, FALSE);
  sk_test_gpg_stock_import (st->tmp, st->home, key);
  g_autofree char *exact = g_strconcat (victim, "!", NULL);
  const char *args[] = { "-u", exact, NULL };
  g_autoptr (GBytes) sig = sk_test_gpg_sign (keys->gpg, st->data, args);
  settle ();
  g_assert_cmpuint (verify_once (st, victim, sig, 0), ==, 2);
  g_assert_cmpuint (verify_once (st, victim, sig, 0), ==, 0);
  sk_test_gpg_revoke (keys->gpg, victim);
  g_autoptr (GBytes) revocation = sk_test_gpg_export (keys->gpg, victim, FALSE);
  sk_test_gpg_stock_import (st->tmp, st->home, revocation);
  /* Listed again (twice when the import is within the racy window). */
  g_assert_cmpuint (verify_once (st, victim, sig, SK_ERROR_SIG_KEY_REVOKED), >=, 2);
}

static void
test_expired (Station *st, gconstpointer user_data)
{
  gint64 made = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *brief =
      sk_test_gpg_make_key (keys->gpg, "Brief <b@test>", "ed25519", "seconds=6", NULL);
  g_autoptr (GBytes) key = sk_test_gpg_export (keys->gpg, brief, FALSE);
  sk_test_gpg_stock_import (st->tmp, st->home, key);
  g_autofree char *exact = g_strconcat (brief, "!", NULL);
  const char *args[] = { "-u", exact, NULL };
  g_autoptr (GBytes) sig = sk_test_gpg_sign (keys->gpg, st->data, args);
  settle ();
  g_assert_cmpuint (verify_once (st, brief, sig, 0), ==, 2);
  g_assert_cmpuint (verify_once (st, brief, sig, 0), ==, 0);
  g_assert_cmpint (g_get_real_time () / G_USEC_PER_SEC, <, made + 6);
  while (g_get_real_time () / G_USEC_PER_SEC <= made + 7)
    g_usleep (200 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpuint (verify_once (st, brief, sig, SK_ERROR_SIG_KEY_EXPIRED), ==, 2);
}

/* The keyring replaced by a copy with the same size and modification time:
 * only the inode and change time differ. */
static void
test_keyring_replaced (Station *st, gconstpointer user_data)
{
  settle ();
  g_assert_cmpuint (verify_once (st, keys->signer, st->sig, 0), ==, 2);
  g_autofree char *kbx = g_build_filename (st->home, "pubring.kbx", NULL);
  g_autofree char *copy = g_build_filename (st->home, "pubring.kbx.new", NULL);
  g_autofree char *contents = NULL;
  gsize len = 0;
  struct stat before, after;
  g_assert_cmpint (stat (kbx, &before), ==, 0);
  g_assert_true (g_file_get_contents (kbx, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (copy, contents, (gssize)len, NULL));
  struct timespec times[2] = { before.st_atim, before.st_mtim };
  g_assert_cmpint (utimensat (AT_FDCWD, copy, times, 0), ==, 0);
  g_assert_cmpint (rename (copy, kbx), ==, 0);
  g_assert_cmpint (stat (kbx, &after), ==, 0);
  g_assert_cmpint (after.st_size, ==, before.st_size);
  g_assert_cmpint (after.st_mtim.tv_sec, ==, before.st_mtim.tv_sec);
  g_assert_cmpint (after.st_mtim.tv_nsec, ==, before.st_mtim.tv_nsec);
  g_assert_cmpuint (verify_once (st, keys->signer, st->sig, 0), >=, 2);
}

/* ---- a damaged file -------------------------------------------------------- */

typedef enum
{
  DAMAGE_TRUNCATE_HALF,
  DAMAGE_TRUNCATE_ONE,
  DAMAGE_EMPTY,
  DAMAGE_FLIP_BYTE,
  DAMAGE_GARBAGE,
  DAMAGE_MODE,
  DAMAGE_SYMLINK,
  DAMAGE_FIFO,
  N_DAMAGE
} Damage;

static void
damage_file (Station *st, Damage how)
{
  g_autofree char *path = cache_path (st);
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_cmpuint (len, >, 100);
  switch (how)
    {
    case DAMAGE_TRUNCATE_HALF:
      g_assert_cmpint (truncate (path, (off_t)len / 2), ==, 0);
      break;
    case DAMAGE_TRUNCATE_ONE:
      g_assert_cmpint (truncate (path, (off_t)len - 1), ==, 0);
      break;
    case DAMAGE_EMPTY:
      g_assert_cmpint (truncate (path, 0), ==, 0);
      break;
    case DAMAGE_FLIP_BYTE:
      {
        /* In the middle of the listing and export, the checksum kept. */
        int fd = open (path, O_WRONLY);
        char c = (char)(contents[len / 2] ^ 0x20);
        g_assert_cmpint (pwrite (fd, &c, 1, (off_t)len / 2), ==, 1);
        close (fd);
        break;
      }
    case DAMAGE_GARBAGE:
      {
        for (gsize i = 0; i < len; i++)
          contents[i] = (char)g_random_int ();
        g_assert_true (g_file_set_contents_full (path, contents, (gssize)len,
                                                 G_FILE_SET_CONTENTS_NONE, 0600, NULL));
        break;
      }
    case DAMAGE_MODE:
      g_assert_cmpint (chmod (path, 0644), ==, 0);
      break;
    case DAMAGE_SYMLINK:
      {
        g_autofree char *real = g_build_filename (st->tmp, "elsewhere", NULL);
        g_assert_cmpint (rename (path, real), ==, 0);
        g_assert_cmpint (symlink (real, path), ==, 0);
        break;
      }
    case DAMAGE_FIFO:
      g_assert_cmpint (unlink (path), ==, 0);
      g_assert_cmpint (mkfifo (path, 0600), ==, 0);
      break;
    case N_DAMAGE:
    default:
      g_assert_not_reached ();
    }
}

static void
test_damaged (Station *st, gconstpointer user_data)
{
  settle ();
  g_autofree char *path = cache_path (st);
  g_autofree char *elsewhere = g_build_filename (st->tmp, "elsewhere", NULL);
  for (Damage how = 0; how < N_DAMAGE; how++)
    {
      g_assert_cmpuint (verify_once (st, keys->signer, st->sig, 0), <=, 2);
      g_assert_cmpuint (verify_once (st, keys->signer, st->sig, 0), ==, 0);
      damage_file (st, how);
      /* Not believed: listed again, the same verdict, and the file
       * rewritten whole. */
      g_test_message ("damage %d", how);
      g_assert_cmpuint (verify_once (st, keys->signer, st->sig, 0), ==, 2);
      struct stat s;
      g_assert_cmpint (lstat (path, &s), ==, 0);
      g_assert_true (S_ISREG (s.st_mode));
      g_assert_cmpuint (s.st_mode & 07777, ==, 0600);
      g_assert_cmpuint (verify_once (st, keys->signer, st->sig, 0), ==, 0);
      (void)g_unlink (elsewhere);
    }
  /* A file that a key was removed from, checksum and all, is believed:
   * the cache is as trusted as the keyring (sk-keyring-cache.c).  So a
   * forged file is out of scope here; a file whose stamps are another
   * home's is not used. */
}

/* ---- the parser agrees with GPGME ------------------------------------------ */

static void
assert_same_subkey (gpgme_subkey_t a, gpgme_subkey_t b)
{
  g_assert_cmpstr (a->fpr, ==, b->fpr);
  g_assert_cmpstr (a->keyid, ==, b->keyid);
  g_assert_cmpuint (a->revoked, ==, b->revoked);
  g_assert_cmpuint (a->expired, ==, b->expired);
  g_assert_cmpuint (a->disabled, ==, b->disabled);
  g_assert_cmpuint (a->invalid, ==, b->invalid);
  g_assert_cmpuint (a->can_encrypt, ==, b->can_encrypt);
  g_assert_cmpuint (a->can_sign, ==, b->can_sign);
  g_assert_cmpuint (a->can_certify, ==, b->can_certify);
  g_assert_cmpuint (a->can_authenticate, ==, b->can_authenticate);
  g_assert_cmpuint (a->is_qualified, ==, b->is_qualified);
  g_assert_cmpuint (a->secret, ==, b->secret);
  g_assert_cmpint (a->pubkey_algo, ==, b->pubkey_algo);
  g_assert_cmpuint (a->length, ==, b->length);
  g_assert_cmpint (a->timestamp, ==, b->timestamp);
  g_assert_cmpint (a->expires, ==, b->expires);
  g_assert_cmpstr (a->curve, ==, b->curve);
  g_assert_cmpstr (a->keygrip, ==, b->keygrip);
}

static void
test_parser_agrees (void)
{
  keys_ensure ();
  SkTestGpg *gpg = keys->gpg;
  /* Every kind the station meets: revoked, expired, a signing subkey, an
   * encryption subkey, RSA, ECDSA, a disabled key. */
  g_autofree char *expired =
      sk_test_gpg_make_key (gpg, "Old <old@test>", "ed25519", "1d", "20200101T000000");
  g_autofree char *revoked = sk_test_gpg_make_key (gpg, "Rev <rev@test>", "ed25519", "never", NULL);
  sk_test_gpg_revoke (gpg, revoked);
  g_autofree char *cert = sk_test_gpg_make_cert_key (gpg, "Cert <c@test>", "ed25519");
  g_autofree char *sub = sk_test_gpg_add_signing_subkey (gpg, cert, "rsa3072");
  g_autofree char *ec = sk_test_gpg_make_key (gpg, "EC <ec@test>", "nistp256", "never", NULL);
  g_autofree char *disabled =
      sk_test_gpg_make_key (gpg, "Dis <dis@test>", "ed25519", "never", NULL);
  {
    g_autoptr (GError) local = NULL;
    g_autoptr (GSubprocess) edit =
        g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                              G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                          &local, "gpg", "--homedir", sk_test_gpg_get_home (gpg), "--batch",
                          "--quiet", "--command-fd", "0", "--edit-key", disabled, NULL);
    g_assert_no_error (local);
    g_assert_true (
        g_subprocess_communicate_utf8 (edit, "disable\nsave\n", NULL, NULL, NULL, &local));
    g_assert_no_error (local);
    g_assert_true (g_subprocess_get_successful (edit));
  }

  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) listing = _sk_keyring_run_listing (sk_test_gpg_get_home (gpg), &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) ours = NULL;
  g_assert_true (_sk_keyring_parse_listing (listing, &ours, &error));
  g_assert_no_error (error);

  gpgme_ctx_t ctx = NULL;
  g_assert_nonnull (gpgme_check_version (NULL));
  g_assert_cmpint (gpgme_new (&ctx), ==, 0);
  g_assert_cmpint (
      gpgme_ctx_set_engine_info (ctx, GPGME_PROTOCOL_OpenPGP, NULL, sk_test_gpg_get_home (gpg)), ==,
      0);
  g_assert_cmpint (gpgme_set_keylist_mode (ctx, GPGME_KEYLIST_MODE_LOCAL), ==, 0);
  g_assert_cmpint (gpgme_op_keylist_start (ctx, NULL, 0), ==, 0);
  guint n = 0;
  gboolean saw_disabled = FALSE, saw_revoked = FALSE, saw_expired = FALSE;
  for (gpgme_key_t theirs = NULL; gpgme_op_keylist_next (ctx, &theirs) == 0; n++)
    {
      g_assert_cmpuint (n, <, ours->len);
      gpgme_key_t mine = ours->pdata[n];
      g_assert_cmpstr (mine->fpr, ==, theirs->fpr);
      g_assert_cmpuint (mine->revoked, ==, theirs->revoked);
      g_assert_cmpuint (mine->expired, ==, theirs->expired);
      g_assert_cmpuint (mine->disabled, ==, theirs->disabled);
      g_assert_cmpuint (mine->invalid, ==, theirs->invalid);
      g_assert_cmpuint (mine->can_encrypt, ==, theirs->can_encrypt);
      g_assert_cmpuint (mine->can_sign, ==, theirs->can_sign);
      g_assert_cmpuint (mine->can_certify, ==, theirs->can_certify);
      g_assert_cmpuint (mine->can_authenticate, ==, theirs->can_authenticate);
      g_assert_cmpuint (mine->is_qualified, ==, theirs->is_qualified);
      g_assert_cmpuint (mine->secret, ==, theirs->secret);
      g_assert_cmpint (mine->protocol, ==, theirs->protocol);
      g_assert_cmpint (mine->owner_trust, ==, theirs->owner_trust);
      saw_disabled = saw_disabled || theirs->disabled;
      saw_revoked = saw_revoked || theirs->revoked;
      saw_expired = saw_expired || theirs->expired;
      gpgme_subkey_t a = mine->subkeys, b = theirs->subkeys;
      for (; a != NULL && b != NULL; a = a->next, b = b->next)
        assert_same_subkey (a, b);
      g_assert_null (a);
      g_assert_null (b);
      /* Ours are GPGME's kind of object: referenced and released alike. */
      gpgme_key_ref (mine);
      gpgme_key_unref (mine);
      gpgme_key_unref (theirs);
    }
  gpgme_release (ctx);
  g_assert_cmpuint (n, ==, ours->len);
  g_assert_cmpuint (n, >=, 8);
  g_assert_true (saw_disabled && saw_revoked && saw_expired);

  /* Damaged listings are refused, not half read. */
  const char *bad[] = {
    "pub:u:255:22:0123456789ABCDEF:notatime::::::scSC:\nfpr:::::::::AB:\n",
    "pub:u:255:22:0123456789ABCDEF:1600000000:\n",
    "pub:u:255:22:0123456789ABCDEF:1600000000:::::::scSC:\n",
    "pub:u:255:22:0123:1600000000:::::::scSC:\nfpr:::::::::AB:\n",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GBytes) b = g_bytes_new_static (bad[i], strlen (bad[i]));
      g_autoptr (GPtrArray) none = NULL;
      g_autoptr (GError) local = NULL;
      g_assert_false (_sk_keyring_parse_listing (b, &none, &local));
      g_assert_error (local, SK_ERROR, SK_ERROR_IO_ERROR);
      g_assert_null (none);
    }
  (void)expired;
  (void)sub;
  (void)ec;
}

int
main (int argc, char **argv)
{
  if (argc > 1 && strcmp (argv[1], "--child") == 0)
    return child_main (argc, argv);

  const char *base = g_getenv ("TMPDIR");
  g_test_init (&argc, &argv, NULL);
  self_exe = argv[0];
  g_autofree char *tmpdir =
      g_build_filename (base != NULL && *base != '\0' ? base : "/tmp", "skk-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp (tmpdir));
  g_assert_true (g_setenv ("TMPDIR", tmpdir, TRUE));
  keys = g_new0 (Keys, 1);
  keys->gpg = sk_test_gpg_new ();
  g_assert_true (g_setenv ("GNUPGHOME", sk_test_gpg_get_home (keys->gpg), TRUE));

#define STATION_TEST(path, func)                                                                   \
  g_test_add (path, Station, NULL, station_setup, func, station_teardown)
  STATION_TEST ("/keyring-cache/second-object", test_second_object);
  STATION_TEST ("/keyring-cache/no-process", test_no_process);
  STATION_TEST ("/keyring-cache/two-at-once", test_two_at_once);
  STATION_TEST ("/keyring-cache/key-imported", test_key_imported);
  STATION_TEST ("/keyring-cache/revoked", test_revoked);
  STATION_TEST ("/keyring-cache/expired", test_expired);
  STATION_TEST ("/keyring-cache/keyring-replaced", test_keyring_replaced);
  STATION_TEST ("/keyring-cache/damaged", test_damaged);
#undef STATION_TEST
  g_test_add_func ("/keyring-cache/parser-agrees", test_parser_agrees);

  int ret = g_test_run ();
  g_free (keys->signer);
  g_free (keys->other);
  g_free (keys->stranger);
  sk_test_gpg_free (keys->gpg);
  g_free (keys);
  g_assert_cmpint (g_rmdir (tmpdir), ==, 0);
  return ret;
}
