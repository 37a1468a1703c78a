/* test-keyring.c — SkKeyring against real keys made by the stock gpg CLI
 *
 * One set of keys is made per process (RSA 3072 takes seconds); every test
 * gets a fresh station home.  Each refusal asserts its exact SK_ERROR code.
 */
#define G_LOG_DOMAIN "sekisho-test"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-keyring.h"
#include "sk-test-gpg.h"

/* ---- the shared keys ------------------------------------------------------- */

typedef struct
{
  SkTestGpg *gpg;
  char *ed25519;          /* good signer */
  char *rsa3072;          /* good signer */
  char *rsa2048;          /* too weak */
  char *nistp256;         /* ECDSA: neither RSA nor Ed25519 */
  char *sub_primary;      /* certify-only Ed25519 primary ... */
  char *sub_signing;      /* ... and its Ed25519 signing subkey */
  char *weak_sub_primary; /* Ed25519 primary with ... */
  char *weak_sub_signing; /* ... an RSA 2048 signing subkey */
  char *weak_primary;     /* RSA 2048 primary with ... */
  char *weak_primary_sub; /* ... an Ed25519 signing subkey */
  char *expired;          /* made on 2020-01-01, expired a day later */
  char *revoked;          /* revoked by its own revocation certificate ... */
  GBytes *revoked_sig;    /* ... after it signed SIGNED_DATA */
  char *stranger;         /* never imported into a station */
  char *station;          /* the station's own key; its secret may be imported */
  char *foreign;          /* someone else's; its secret must never be */
  GBytes *publics;        /* the public keys a loaded station holds */
} Keys;

static Keys *keys;

/* What most tests sign. */
static const char signed_data[] = "KNY01 header\r\nrecord 1\r\n";

static void
append_bytes (GByteArray *array, GBytes *bytes)
{
  g_byte_array_append (array, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

static GBytes *
concat_exports (const char *const *fprs, gboolean secret)
{
  g_autoptr (GByteArray) all = g_byte_array_new ();

  for (gsize i = 0; fprs[i] != NULL; i++)
    {
      g_autoptr (GBytes) one = sk_test_gpg_export (keys->gpg, fprs[i], secret);
      append_bytes (all, one);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&all));
}

/* The home of the keys is made in main(), before any thread, so that
 * $GNUPGHOME can point at it for the whole run; the keys are made on first
 * use. */
static void
keys_ensure (void)
{
  if (keys->ed25519 != NULL)
    return;

  keys->ed25519 = sk_test_gpg_make_key (keys->gpg, "Ed <ed@test>", "ed25519", "never", NULL);
  keys->rsa3072 = sk_test_gpg_make_key (keys->gpg, "RSA <rsa3072@test>", "rsa3072", "never", NULL);
  keys->rsa2048 = sk_test_gpg_make_key (keys->gpg, "RSA <rsa2048@test>", "rsa2048", "never", NULL);
  keys->nistp256 = sk_test_gpg_make_key (keys->gpg, "EC <p256@test>", "nistp256", "never", NULL);
  keys->sub_primary = sk_test_gpg_make_cert_key (keys->gpg, "Sub <sub@test>", "ed25519");
  keys->sub_signing = sk_test_gpg_add_signing_subkey (keys->gpg, keys->sub_primary, "ed25519");
  keys->weak_sub_primary = sk_test_gpg_make_cert_key (keys->gpg, "WS <ws@test>", "ed25519");
  keys->weak_sub_signing =
      sk_test_gpg_add_signing_subkey (keys->gpg, keys->weak_sub_primary, "rsa2048");
  keys->weak_primary = sk_test_gpg_make_cert_key (keys->gpg, "WP <wp@test>", "rsa2048");
  keys->weak_primary_sub =
      sk_test_gpg_add_signing_subkey (keys->gpg, keys->weak_primary, "ed25519");
  keys->expired =
      sk_test_gpg_make_key (keys->gpg, "Old <old@test>", "ed25519", "1d", "20200101T000000");
  keys->revoked = sk_test_gpg_make_key (keys->gpg, "Rev <rev@test>", "ed25519", "never", NULL);
  {
    /* gpg signs with no revoked key: sign first. */
    g_autofree char *exact = g_strconcat (keys->revoked, "!", NULL);
    const char *args[] = { "-u", exact, NULL };
    g_autoptr (GBytes) data = g_bytes_new_static (signed_data, sizeof signed_data - 1);

    keys->revoked_sig = sk_test_gpg_sign (keys->gpg, data, args);
    sk_test_gpg_revoke (keys->gpg, keys->revoked);
  }
  keys->stranger = sk_test_gpg_make_key (keys->gpg, "Str <str@test>", "ed25519", "never", NULL);
  keys->station = sk_test_gpg_make_key (keys->gpg, "Station <st@test>", "ed25519", "never", NULL);
  keys->foreign = sk_test_gpg_make_key (keys->gpg, "Foreign <fo@test>", "ed25519", "never", NULL);

  {
    const char *const publics[] = {
      keys->ed25519,          keys->rsa3072,      keys->rsa2048, keys->nistp256, keys->sub_primary,
      keys->weak_sub_primary, keys->weak_primary, keys->expired, keys->revoked,  NULL
    };
    keys->publics = concat_exports (publics, FALSE);
  }
}

static void
keys_free (void)
{
  if (keys == NULL)
    return;
  g_clear_pointer (&keys->publics, g_bytes_unref);
  g_clear_pointer (&keys->revoked_sig, g_bytes_unref);
  g_free (keys->ed25519);
  g_free (keys->rsa3072);
  g_free (keys->rsa2048);
  g_free (keys->nistp256);
  g_free (keys->sub_primary);
  g_free (keys->sub_signing);
  g_free (keys->weak_sub_primary);
  g_free (keys->weak_sub_signing);
  g_free (keys->weak_primary);
  g_free (keys->weak_primary_sub);
  g_free (keys->expired);
  g_free (keys->revoked);
  g_free (keys->stranger);
  g_free (keys->station);
  g_free (keys->foreign);
  sk_test_gpg_free (keys->gpg);
  g_clear_pointer (&keys, g_free);
}

/* ---- a station home per test ----------------------------------------------- */

typedef struct
{
  char *tmp;  /* short, for the agent's socket */
  char *home; /* TMP/gnupg, made by sk_keyring_init_home() */
  SkKeyring *keyring;
  GBytes *data; /* the signed bytes of most tests */
} Station;

static void
station_setup_empty (Station *st, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;

  keys_ensure ();
  st->tmp = g_dir_make_tmp ("skt-XXXXXX", &error);
  g_assert_no_error (error);
  st->home = g_build_filename (st->tmp, "gnupg", NULL);
  g_assert_true (sk_keyring_init_home (st->home, &error));
  g_assert_no_error (error);
  st->keyring = sk_keyring_new (st->home, &error);
  g_assert_no_error (error);
  g_assert_nonnull (st->keyring);
  st->data = g_bytes_new_static (signed_data, sizeof signed_data - 1);
}

static void
station_setup_loaded (Station *st, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) imported = NULL;

  station_setup_empty (st, user_data);
  imported = sk_keyring_import (st->keyring, keys->publics, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (imported->len, ==, 9);
}

static void
station_teardown (Station *st, gconstpointer user_data)
{
  g_clear_object (&st->keyring);
  sk_test_gpg_remove_home (st->home);
  g_assert_cmpint (g_rmdir (st->tmp), ==, 0);
  g_free (st->home);
  g_free (st->tmp);
  g_bytes_unref (st->data);
}

/* A binary detached signature by exactly KEY ("FPR!" stops gpg from picking
 * a subkey), with EXTRA gpg options (NULL-terminated, may be NULL). */
static GBytes *
sign_by (const char *key, GBytes *data, const char *const *extra)
{
  g_autofree char *exact = g_strconcat (key, "!", NULL);
  g_autoptr (GPtrArray) args = g_ptr_array_new ();

  g_ptr_array_add (args, (char *)"-u");
  g_ptr_array_add (args, exact);
  for (gsize i = 0; extra != NULL && extra[i] != NULL; i++)
    g_ptr_array_add (args, (char *)extra[i]);
  g_ptr_array_add (args, NULL);
  return sk_test_gpg_sign (keys->gpg, data, (const char *const *)args->pdata);
}

/* The in-process verifier (sk_verifier_*), fed DATA in two pieces.  NULL
 * with G_IO_ERROR_NOT_SUPPORTED where it leaves the signature to GnuPG. */
static SkSignature *
verify_in_process (
    Station *st, GBytes *signature, GBytes *data, const char *const *allowed, GError **error)
{
  g_autoptr (SkVerifier) v = sk_keyring_verifier_new (st->keyring, signature, error);
  gsize len = 0;
  const guint8 *bytes = g_bytes_get_data (data, &len);

  if (v == NULL)
    return NULL;
  sk_verifier_update (v, bytes, len / 2);
  sk_verifier_update (v, bytes + len / 2, len - len / 2);
  return sk_verifier_finish (v, allowed, error);
}

/* GnuPG's verdict through GPGME alone: sk_keyring_verify_detached_fd()
 * never judges in-process (sk_keyring_verify_detached_bytes() does first,
 * as the policy's signature is checked). */
static SkSignature *
verify_by_gnupg (
    Station *st, GBytes *signature, GBytes *data, const char *const *allowed, GError **error)
{
  gsize len = 0;
  const char *bytes = g_bytes_get_data (data, &len);
  int fd = memfd_create ("signed", MFD_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, bytes, len), ==, (gssize)len);
  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  SkSignature *sig =
      sk_keyring_verify_detached_fd (st->keyring, signature, fd, allowed, NULL, error);
  g_assert_cmpint (close (fd), ==, 0);
  return sig;
}

/* How the in-process verifier answered the last case: judged it itself, or
 * left it to GnuPG. */
static gboolean judged_in_process;

/* Every case goes three ways — GnuPG through GPGME, the in-process
 * verifier, and sk_keyring_verify_detached_bytes() which tries the second
 * and falls back on the first — and all must give the same answer (or the
 * in-process one must leave the case to GnuPG, which then answers for
 * it). */
static void
assert_refused (
    Station *st, GBytes *signature, GBytes *data, const char *const *allowed, SkErrorCode code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) here_error = NULL;
  g_autoptr (SkSignature) sig = NULL;
  g_autoptr (SkSignature) here = NULL;

  sig = sk_keyring_verify_detached_bytes (st->keyring, signature, data, allowed, &error);
  g_assert_error (error, SK_ERROR, (gint)code);
  g_assert_null (sig);
  g_test_message ("refused as %s: %s", sk_error_get_reason (error), error->message);

  g_autoptr (GError) gnupg_error = NULL;
  g_autoptr (SkSignature) gnupg = verify_by_gnupg (st, signature, data, allowed, &gnupg_error);
  g_assert_error (gnupg_error, SK_ERROR, (gint)code);
  g_assert_null (gnupg);

  here = verify_in_process (st, signature, data, allowed, &here_error);
  g_assert_null (here);
  judged_in_process = !g_error_matches (here_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  if (judged_in_process)
    g_assert_error (here_error, SK_ERROR, (gint)code);
  g_test_message ("in-process: %s", here_error->message);
}

static SkSignature *
assert_accepted (Station *st, GBytes *signature, GBytes *data, const char *const *allowed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) here_error = NULL;
  g_autoptr (SkSignature) here = NULL;
  SkSignature *sig;

  sig = sk_keyring_verify_detached_bytes (st->keyring, signature, data, allowed, &error);
  g_assert_no_error (error);
  g_assert_nonnull (sig);
  g_autoptr (SkSignature) gnupg = verify_by_gnupg (st, signature, data, allowed, &error);
  g_assert_no_error (error);
  g_assert_nonnull (gnupg);
  g_assert_cmpstr (gnupg->primary_fpr, ==, sig->primary_fpr);
  g_assert_cmpstr (gnupg->signing_fpr, ==, sig->signing_fpr);
  g_assert_cmpstr (gnupg->hash_algo, ==, sig->hash_algo);
  g_assert_cmpstr (gnupg->key_algo, ==, sig->key_algo);
  g_assert_cmpint (gnupg->created, ==, sig->created);
  here = verify_in_process (st, signature, data, allowed, &here_error);
  judged_in_process = here != NULL;
  if (here == NULL)
    g_assert_error (here_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  else
    {
      g_assert_cmpstr (here->primary_fpr, ==, sig->primary_fpr);
      g_assert_cmpstr (here->signing_fpr, ==, sig->signing_fpr);
      g_assert_cmpstr (here->hash_algo, ==, sig->hash_algo);
      g_assert_cmpstr (here->key_algo, ==, sig->key_algo);
      g_assert_cmpint (here->created, ==, sig->created);
    }
  g_assert_true (sk_fingerprint_is_valid (sig->primary_fpr));
  g_assert_true (sk_fingerprint_is_valid (sig->signing_fpr));
  g_assert_true (g_str_equal (sig->hash_algo, "SHA256") || g_str_equal (sig->hash_algo, "SHA384") ||
                 g_str_equal (sig->hash_algo, "SHA512"));
  return sig;
}

/* ---- fingerprints ---------------------------------------------------------- */

static void
test_fingerprint (void)
{
  static const struct
  {
    const char *input;
    gboolean valid;
    const char *normalized; /* NULL: normalize refuses */
  } cases[] = {
    { "0123456789ABCDEF0123456789ABCDEF01234567", TRUE,
      "0123456789ABCDEF0123456789ABCDEF01234567" },
    { "0123456789abcdef0123456789abcdef01234567", FALSE,
      "0123456789ABCDEF0123456789ABCDEF01234567" },
    { "0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567", FALSE,
      "0123456789ABCDEF0123456789ABCDEF01234567" },
    { " 0123456789ABCDEF0123456789ABCDEF01234567 ", FALSE,
      "0123456789ABCDEF0123456789ABCDEF01234567" },
    { "0123456789ABCDEF0123456789ABCDEF0123456", FALSE, NULL },   /* 39 */
    { "0123456789ABCDEF0123456789ABCDEF012345678", FALSE, NULL }, /* 41 */
    { "0123456789ABCDEF0123456789ABCDEF0123456G", FALSE, NULL },
    { "0x0123456789ABCDEF0123456789ABCDEF012345", FALSE, NULL },
    { "0123456789ABCDEF0123456789ABCDEF\t01234567", FALSE, NULL },
    { "0123456789ABCDEF0123456789ABCDEF01234567\n", FALSE, NULL },
    { "89ABCDEF01234567", FALSE, NULL }, /* a long key ID is not a fingerprint */
    { "", FALSE, NULL },
    { "                                        ", FALSE, NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *normalized = sk_fingerprint_normalize (cases[i].input);

      g_test_message ("case %" G_GSIZE_FORMAT ": \"%s\"", i, cases[i].input);
      g_assert_cmpint (sk_fingerprint_is_valid (cases[i].input), ==, cases[i].valid);
      g_assert_cmpstr (normalized, ==, cases[i].normalized);
    }
  g_assert_false (sk_fingerprint_is_valid (NULL));
  g_assert_null (sk_fingerprint_normalize (NULL));
}

/* ---- the home -------------------------------------------------------------- */

static void
test_init_home (Station *st, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkKeyring) other = NULL;
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GBytes) err_out = NULL;
  g_autofree char *conf_path = g_build_filename (st->home, "gpg.conf", NULL);
  g_autofree char *conf = NULL;
  g_autofree char *missing = g_build_filename (st->tmp, "missing", NULL);
  g_autofree char *plain = g_build_filename (st->tmp, "plain", NULL);
  struct stat sb;

  /* Made 0700, with a 0600 gpg.conf that keeps it offline. */
  g_assert_cmpint (g_stat (st->home, &sb), ==, 0);
  g_assert_cmpint (sb.st_mode & 07777, ==, 0700);
  g_assert_cmpint (g_stat (conf_path, &sb), ==, 0);
  g_assert_cmpint (sb.st_mode & 07777, ==, 0600);
  g_file_get_contents (conf_path, &conf, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (conf, "\nno-auto-key-retrieve\n"));
  g_assert_nonnull (strstr (conf, "\ndisable-dirmngr\n"));
  g_assert_nonnull (strstr (conf, "\ndigest-algo SHA512\n"));
  g_assert_cmpstr (sk_keyring_get_homedir (st->keyring), ==, st->home);

  /* Stock gpg 2.2 accepts every line (it names each line it does not). */
  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                           &error, "gpg", "--homedir", st->home, "--gpgconf-test", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate (proc, NULL, NULL, NULL, &err_out, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (proc));
  g_assert_cmpuint (g_bytes_get_size (err_out), ==, 0);

  /* Idempotent on a home of ours, and it restores the configuration. */
  g_assert_cmpint (g_unlink (conf_path), ==, 0);
  g_assert_true (sk_keyring_init_home (st->home, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (conf_path, G_FILE_TEST_IS_REGULAR));

  /* A home others may enter is refused, by init and by new. */
  g_assert_cmpint (g_chmod (st->home, 0750), ==, 0);
  g_assert_false (sk_keyring_init_home (st->home, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_STATION_INVALID);
  g_clear_error (&error);
  other = sk_keyring_new (st->home, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_STATION_INVALID);
  g_assert_null (other);
  g_clear_error (&error);
  g_assert_cmpint (g_chmod (st->home, 0700), ==, 0);

  /* So is a home that is missing or not a directory. */
  other = sk_keyring_new (missing, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_STATION_INVALID);
  g_assert_null (other);
  g_clear_error (&error);
  g_file_set_contents (plain, "", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (plain, 0600), ==, 0);
  other = sk_keyring_new (plain, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_STATION_INVALID);
  g_assert_null (other);
  g_clear_error (&error);
  g_assert_false (sk_keyring_init_home (plain, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_STATION_INVALID);
  g_assert_cmpint (g_unlink (plain), ==, 0);
}

/* ---- verification: passes -------------------------------------------------- */

static void
test_pass_ed25519 (Station *st, gconstpointer user_data)
{
  const char *allowed[] = { keys->rsa3072, keys->ed25519, NULL };
  g_autoptr (GBytes) signature = sign_by (keys->ed25519, st->data, NULL);
  g_autoptr (SkSignature) sig = assert_accepted (st, signature, st->data, allowed);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  g_assert_true (judged_in_process);
  g_assert_cmpstr (sig->primary_fpr, ==, keys->ed25519);
  g_assert_cmpstr (sig->signing_fpr, ==, keys->ed25519);
  g_assert_cmpstr (sig->key_algo, ==, "ed25519");
  g_assert_cmpint (sig->created, >, now - 3600);
  g_assert_cmpint (sig->created, <=, now + 60);
}

static void
test_pass_rsa3072 (Station *st, gconstpointer user_data)
{
  const char *allowed[] = { keys->rsa3072, NULL };
  const char *extra[] = { "--digest-algo", "SHA384", NULL };
  g_autoptr (GBytes) signature = sign_by (keys->rsa3072, st->data, extra);
  g_autoptr (SkSignature) sig = assert_accepted (st, signature, st->data, allowed);

  g_assert_true (judged_in_process);
  g_assert_cmpstr (sig->primary_fpr, ==, keys->rsa3072);
  g_assert_cmpstr (sig->signing_fpr, ==, keys->rsa3072);
  g_assert_cmpstr (sig->key_algo, ==, "rsa3072");
  g_assert_cmpstr (sig->hash_algo, ==, "SHA384");
}

static void
test_pass_subkey (Station *st, gconstpointer user_data)
{
  const char *allowed[] = { keys->sub_primary, NULL };
  const char *only_subkey[] = { keys->sub_signing, NULL };
  g_autoptr (GBytes) signature = sign_by (keys->sub_signing, st->data, NULL);
  g_autoptr (SkSignature) sig = assert_accepted (st, signature, st->data, allowed);

  /* A subkey's cross-certification is GnuPG's to check. */
  g_assert_false (judged_in_process);
  g_assert_cmpstr (sig->primary_fpr, ==, keys->sub_primary);
  g_assert_cmpstr (sig->signing_fpr, ==, keys->sub_signing);

  /* The allow-list names primaries: a listed subkey alone trusts nothing. */
  assert_refused (st, signature, st->data, only_subkey, SK_ERROR_SIG_UNTRUSTED_KEY);
  g_assert_true (sk_keyring_has_public_key (st->keyring, keys->sub_primary));
  g_assert_false (sk_keyring_has_public_key (st->keyring, keys->sub_signing));
}

static int
open_data_file (Station *st, const char *prefix, GBytes *data)
{
  g_autofree char *path = g_build_filename (st->tmp, "data", NULL);
  g_autoptr (GByteArray) all = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  int fd;

  g_byte_array_append (all, (const guint8 *)prefix, strlen (prefix));
  append_bytes (all, data);
  g_file_set_contents (path, (const char *)all->data, all->len, &error);
  g_assert_no_error (error);
  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (g_unlink (path), ==, 0);
  return fd;
}

static void
test_pass_fd (Station *st, gconstpointer user_data)
{
  const char *allowed[] = { keys->ed25519, NULL };
  const char *prefix = "bytes before the signed ones";
  g_autoptr (GBytes) signature = sign_by (keys->ed25519, st->data, NULL);
  g_autoptr (SkSignature) sig = NULL;
  g_autoptr (SkSignature) none = NULL;
  g_autoptr (GError) error = NULL;
  int fd = open_data_file (st, prefix, st->data);

  /* From the current offset ... */
  g_assert_cmpint (lseek (fd, strlen (prefix), SEEK_SET), ==, (off_t)strlen (prefix));
  sig = sk_keyring_verify_detached_fd (st->keyring, signature, fd, allowed, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (sig);
  g_assert_cmpstr (sig->primary_fpr, ==, keys->ed25519);

  /* ... to the end: the same file read from its start is other bytes. */
  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  none = sk_keyring_verify_detached_fd (st->keyring, signature, fd, allowed, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_SIG_BAD);
  g_assert_null (none);
  g_assert_cmpint (close (fd), ==, 0);
}

typedef struct
{
  int fd;
  GCancellable *cancellable;
  GMutex lock;
  GCond cond;
  gboolean done;
} Feeder;

/* Writes more than a pipe holds (so the reader is mid-stream), waits until
 * the reader has drained the pipe and sits waiting for more, cancels, and
 * then holds the pipe open until the verification returns — or, if it never
 * notices the cancellation, for ten seconds. */
static gpointer
feed_then_cancel (gpointer user_data)
{
  Feeder *feeder = user_data;
  g_autofree guint8 *chunk = g_malloc0 (256 * 1024);
  gsize written = 0;
  gint64 deadline;

  while (written < 256 * 1024)
    {
      gssize n = write (feeder->fd, chunk + written, 256 * 1024 - written);
      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >, 0);
      written += n;
    }
  for (int queued = 1; ioctl (feeder->fd, FIONREAD, &queued) == 0 && queued > 0;)
    g_usleep (G_TIME_SPAN_MILLISECOND);
  g_usleep (100 * G_TIME_SPAN_MILLISECOND);
  g_cancellable_cancel (feeder->cancellable);

  deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  g_mutex_lock (&feeder->lock);
  while (!feeder->done && g_cond_wait_until (&feeder->cond, &feeder->lock, deadline))
    ;
  g_mutex_unlock (&feeder->lock);
  g_assert_cmpint (close (feeder->fd), ==, 0);
  return NULL;
}

static void
test_fd_cancelled (Station *st, gconstpointer user_data)
{
  const char *allowed[] = { keys->ed25519, NULL };
  g_autoptr (GBytes) signature = sign_by (keys->ed25519, st->data, NULL);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (SkSignature) sig = NULL;
  g_autoptr (GError) error = NULL;
  Feeder feeder = { 0 };
  GThread *thread;
  gint64 start;
  int fds[2];
  int fd;

  /* Cancelled before it starts. */
  fd = open_data_file (st, "", st->data);
  g_cancellable_cancel (cancellable);
  sig = sk_keyring_verify_detached_fd (st->keyring, signature, fd, allowed, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (sig);
  g_clear_error (&error);
  g_assert_cmpint (close (fd), ==, 0);

  /* Cancelled while it waits for more bytes from a pipe. */
  g_cancellable_reset (cancellable);
  g_assert_cmpint (pipe (fds), ==, 0);
  feeder.fd = fds[1];
  feeder.cancellable = cancellable;
  g_mutex_init (&feeder.lock);
  g_cond_init (&feeder.cond);
  thread = g_thread_new ("feeder", feed_then_cancel, &feeder);

  start = g_get_monotonic_time ();
  sig =
      sk_keyring_verify_detached_fd (st->keyring, signature, fds[0], allowed, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (sig);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_TIME_SPAN_SECOND);

  g_mutex_lock (&feeder.lock);
  feeder.done = TRUE;
  g_cond_signal (&feeder.cond);
  g_mutex_unlock (&feeder.lock);
  g_thread_join (thread);
  g_assert_cmpint (close (fds[0]), ==, 0);
  g_mutex_clear (&feeder.lock);
  g_cond_clear (&feeder.cond);
}

/* ---- verification: refusals ------------------------------------------------ */

/* The first OpenPGP packet of BYTES (old-format header, as gpg writes key
 * packets: one- or two-octet length). */
static GBytes *
first_packet (GBytes *bytes)
{
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (bytes, &len);
  gsize header, body;

  g_assert_cmpuint (len, >, 3);
  g_assert_cmphex (p[0] & 0xc0, ==, 0x80);
  switch (p[0] & 0x03)
    {
    case 0:
      header = 2;
      body = p[1];
      break;
    case 1:
      header = 3;
      body = ((gsize)p[1] << 8) | p[2];
      break;
    default:
      g_assert_not_reached ();
    }
  g_assert_cmpuint (header + body, <, len);
  return g_bytes_new_from_bytes (bytes, 0, header + body);
}

static void
test_sig_missing (Station *st, gconstpointer user_data)
{
  const char *allowed[] = { keys->ed25519, NULL };
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  g_autoptr (GBytes) key_file = sk_test_gpg_export (keys->gpg, keys->ed25519, FALSE);
  g_autoptr (GBytes) key_packet = first_packet (key_file);

  assert_refused (st, empty, st->data, allowed, SK_ERROR_SIG_MISSING);
  /* Binary OpenPGP, but a public key packet and no signature packet. */
  g_assert_cmphex (((const guint8 *)g_bytes_get_data (key_packet, NULL))[0] >> 2 & 0x0f, ==, 6);
  assert_refused (st, key_packet, st->data, allowed, SK_ERROR_SIG_MISSING);
  /* A whole key file: its self-signatures are no detached signature. */
  assert_refused (st, key_file, st->data, allowed, SK_ERROR_SIG_MISSING);
}

static void
test_sig_bad (Station *st, gconstpointer user_data)
{
  const char *allowed[] = { keys->ed25519, NULL };
  const char *textmode[] = { "--textmode", NULL };
  g_autoptr (GBytes) signature = sign_by (keys->ed25519, st->data, NULL);
  g_autoptr (GBytes) other = g_bytes_new_static ("KNY01 header\r\nrecord 2\r\n", 24);
  g_autoptr (GBytes) text_sig = sign_by (keys->ed25519, st->data, textmode);
  g_autoptr (GBytes) flipped = NULL;
  g_autoptr (GBytes) truncated = NULL;
  g_autoptr (GBytes) trailing = NULL;
  g_autoptr (GByteArray) copy = NULL;
  gsize len = g_bytes_get_size (signature);

  /* Over other bytes. */
  assert_refused (st, signature, other, allowed, SK_ERROR_SIG_BAD);
  g_assert_true (judged_in_process);

  /* The signature value damaged (its last byte is in the EdDSA S value). */
  copy = g_byte_array_new ();
  append_bytes (copy, signature);
  copy->data[len - 1] ^= 0x01;
  flipped = g_bytes_new (copy->data, copy->len);
  assert_refused (st, flipped, st->data, allowed, SK_ERROR_SIG_BAD);
  g_assert_true (judged_in_process);

  /* Cut short, or followed by a packet that is not a signature. */
  truncated = g_bytes_new (g_bytes_get_data (signature, NULL), len - 10);
  assert_refused (st, truncated, st->data, allowed, SK_ERROR_SIG_BAD);
  {
    g_autoptr (GBytes) key_file = sk_test_gpg_export (keys->gpg, keys->ed25519, FALSE);
    g_autoptr (GBytes) key_packet = first_packet (key_file);
    append_bytes (copy, key_packet);
    copy->data[len - 1] ^= 0x01;
    trailing = g_bytes_new (copy->data, copy->len);
    assert_refused (st, trailing, st->data, allowed, SK_ERROR_SIG_BAD);
  }

  /* A text-mode signature (type 0x01) would also match the same text with
   * other line endings; only signatures over the exact bytes count. */
  assert_refused (st, text_sig, st->data, allowed, SK_ERROR_SIG_BAD);
}

static void
test_sig_multiple (Station *st, gconstpointer user_data)
{
  const char *allowed[] = { keys->ed25519, keys->rsa3072, NULL };
  g_autofree char *ed = g_strconcat (keys->ed25519, "!", NULL);
  g_autofree char *rsa = g_strconcat (keys->rsa3072, "!", NULL);
  const char *args[] = { "-u", ed, "-u", rsa, NULL };
  g_autoptr (GBytes) two = sk_test_gpg_sign (keys->gpg, st->data, args);
  g_autoptr (GBytes) one = sign_by (keys->ed25519, st->data, NULL);
  g_autoptr (GByteArray) twice = g_byte_array_new ();
  g_autoptr (GBytes) same_twice = NULL;

  assert_refused (st, two, st->data, allowed, SK_ERROR_SIG_MULTIPLE);

  /* The same good signature twice is still two. */
  append_bytes (twice, one);
  append_bytes (twice, one);
  same_twice = g_bytes_new (twice->data, twice->len);
  assert_refused (st, same_twice, st->data, allowed, SK_ERROR_SIG_MULTIPLE);
}

static void
test_sig_armored (Station *st, gconstpointer user_data)
{
  const char *allowed[] = { keys->ed25519, NULL };
  const char *armor[] = { "--armor", NULL };
  g_autoptr (GBytes) armored = sign_by (keys->ed25519, st->data, armor);

  g_assert_true (g_str_has_prefix (g_bytes_get_data (armored, NULL), "-----BEGIN PGP SIGNATURE"));
  assert_refused (st, armored, st->data, allowed, SK_ERROR_SIG_ARMORED);
}

static void
test_sig_untrusted (Station *st, gconstpointer user_data)
{
  const char *not_listed[] = { keys->rsa3072, keys->sub_primary, NULL };
  const char *listed_stranger[] = { keys->stranger, NULL };
  const char *nobody[] = { NULL };
  g_autoptr (GBytes) by_ed25519 = sign_by (keys->ed25519, st->data, NULL);
  g_autoptr (GBytes) by_stranger = sign_by (keys->stranger, st->data, NULL);

  /* In the keyring, not on the list. */
  assert_refused (st, by_ed25519, st->data, not_listed, SK_ERROR_SIG_UNTRUSTED_KEY);
  assert_refused (st, by_ed25519, st->data, nobody, SK_ERROR_SIG_UNTRUSTED_KEY);
  /* On the list, not in the keyring. */
  g_assert_false (sk_keyring_has_public_key (st->keyring, keys->stranger));
  assert_refused (st, by_stranger, st->data, listed_stranger, SK_ERROR_SIG_UNTRUSTED_KEY);
  g_assert_true (judged_in_process);
}

/* The keyring reads its own home only.  For the whole run $GNUPGHOME points
 * at the home that holds every key of this file, secret ones included (set in
 * main()); an empty station still does not know the signer. */
static void
test_ignores_gnupghome (Station *st, gconstpointer user_data)
{
  const char *allowed[] = { keys->ed25519, NULL };
  g_autoptr (GBytes) signature = sign_by (keys->ed25519, st->data, NULL);
  g_autoptr (SkSignature) sig = NULL;
  g_autoptr (GPtrArray) imported = NULL;
  g_autoptr (GError) error = NULL;

  g_assert_cmpstr (g_getenv ("GNUPGHOME"), ==, sk_test_gpg_get_home (keys->gpg));
  assert_refused (st, signature, st->data, allowed, SK_ERROR_SIG_UNTRUSTED_KEY);
  g_assert_false (sk_keyring_has_public_key (st->keyring, keys->ed25519));
  g_assert_false (sk_keyring_has_secret_key (st->keyring, keys->station));

  /* The same signature passes once the station itself holds the key. */
  imported = sk_keyring_import (st->keyring, keys->publics, NULL, &error);
  g_assert_no_error (error);
  sig = assert_accepted (st, signature, st->data, allowed);
  g_assert_cmpstr (sig->primary_fpr, ==, keys->ed25519);
}

static void
test_sig_weak_hash (Station *st, gconstpointer user_data)
{
  const char *allowed[] = { keys->rsa3072, NULL };
  const char *const weak[] = { "SHA1", "SHA224", "RIPEMD160" };

  for (gsize i = 0; i < G_N_ELEMENTS (weak); i++)
    {
      const char *extra[] = { "--digest-algo", weak[i], NULL };
      g_autoptr (GBytes) signature = sign_by (keys->rsa3072, st->data, extra);

      g_test_message ("hash %s", weak[i]);
      assert_refused (st, signature, st->data, allowed, SK_ERROR_SIG_WEAK_HASH);
      /* RIPEMD-160 is not hashed in-process: GnuPG judges it. */
      g_assert_true (judged_in_process == !g_str_equal (weak[i], "RIPEMD160"));
    }
}

static void
test_sig_weak_key (Station *st, gconstpointer user_data)
{
  struct
  {
    const char *signer;
    const char *primary;
  } weak[] = {
    { keys->rsa2048, keys->rsa2048 },
    { keys->nistp256, keys->nistp256 },
    { keys->weak_sub_signing, keys->weak_sub_primary }, /* strong primary, weak subkey */
    { keys->weak_primary_sub, keys->weak_primary },     /* weak primary, strong subkey */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (weak); i++)
    {
      const char *allowed[] = { weak[i].primary, NULL };
      g_autoptr (GBytes) signature = sign_by (weak[i].signer, st->data, NULL);

      assert_refused (st, signature, st->data, allowed, SK_ERROR_SIG_WEAK_KEY);
    }
}

static void
test_sig_key_expired (Station *st, gconstpointer user_data)
{
  const char *allowed[] = { keys->expired, NULL };
  /* Made while the key was valid (it expired on 2020-01-02). */
  const char *then[] = { "--faked-system-time", "20200101T120000", NULL };
  g_autoptr (GBytes) signature = sign_by (keys->expired, st->data, then);

  assert_refused (st, signature, st->data, allowed, SK_ERROR_SIG_KEY_EXPIRED);
  g_assert_true (judged_in_process);
}

static void
test_sig_key_revoked (Station *st, gconstpointer user_data)
{
  const char *allowed[] = { keys->revoked, NULL };

  assert_refused (st, keys->revoked_sig, st->data, allowed, SK_ERROR_SIG_KEY_REVOKED);
  g_assert_true (judged_in_process);
}

/* ---- signing --------------------------------------------------------------- */

static void
import_station_secret (Station *st)
{
  g_autoptr (GBytes) secret = sk_test_gpg_export (keys->gpg, keys->station, TRUE);
  g_autoptr (GPtrArray) imported = NULL;
  g_autoptr (GError) error = NULL;

  imported = sk_keyring_import (st->keyring, secret, keys->station, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (imported->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (imported, 0), ==, keys->station);
}

static void
test_sign_round_trip (Station *st, gconstpointer user_data)
{
  const char *allowed[] = { keys->station, NULL };
  g_autoptr (GBytes) signature = NULL;
  g_autoptr (SkSignature) sig = NULL;
  g_autoptr (GError) error = NULL;
  const guint8 *bytes;

  import_station_secret (st);
  signature = sk_keyring_sign_detached_bytes (st->keyring, keys->station, st->data, &error);
  g_assert_no_error (error);
  g_assert_nonnull (signature);

  /* Binary (bit 7 of the first octet), and it passes the station's rule with
   * the SHA-512 its gpg.conf asks for. */
  bytes = g_bytes_get_data (signature, NULL);
  g_assert_cmpuint (g_bytes_get_size (signature), >, 0);
  g_assert_cmphex (bytes[0] & 0x80, ==, 0x80);
  sig = assert_accepted (st, signature, st->data, allowed);
  g_assert_cmpstr (sig->primary_fpr, ==, keys->station);
  g_assert_cmpstr (sig->hash_algo, ==, "SHA512");
  g_assert_cmpstr (sig->key_algo, ==, "ed25519");
}

static void
test_sign_refused (Station *st, gconstpointer user_data)
{
  g_autoptr (GBytes) signature = NULL;
  g_autoptr (GError) error = NULL;

  /* A public key only. */
  signature = sk_keyring_sign_detached_bytes (st->keyring, keys->ed25519, st->data, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY);
  g_assert_null (signature);
  g_clear_error (&error);

  /* Not named by a primary fingerprint. */
  signature = sk_keyring_sign_detached_bytes (st->keyring, "89ABCDEF01234567", st->data, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY);
  g_assert_null (signature);
}

/* ---- import ---------------------------------------------------------------- */

/* The scratch homes of import's dry runs in $TMPDIR, which is this process's
 * own (see main()), so other tests running in parallel do not count. */
static guint
count_scratch_homes (void)
{
  g_autoptr (GDir) dir = g_dir_open (g_get_tmp_dir (), 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      if (g_str_has_prefix (name, "skk-"))
        n++;
    }
  return n;
}

static void
test_import_public (Station *st, gconstpointer user_data)
{
  const char *expected[] = { keys->ed25519,      keys->rsa3072,     keys->rsa2048,
                             keys->nistp256,     keys->sub_primary, keys->weak_sub_primary,
                             keys->weak_primary, keys->expired,     keys->revoked };
  g_autoptr (GPtrArray) imported = NULL;
  g_autoptr (GPtrArray) again = NULL;
  g_autoptr (GPtrArray) wanted = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (expected); i++)
    g_ptr_array_add (wanted, (char *)expected[i]);
  imported = sk_keyring_import (st->keyring, keys->publics, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (imported->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < imported->len; i++)
    {
      const char *fpr = g_ptr_array_index (imported, i);

      g_assert_true (g_ptr_array_find_with_equal_func (wanted, fpr, g_str_equal, NULL));
      if (i > 0)
        g_assert_cmpstr (g_ptr_array_index (imported, i - 1), <, fpr);
      g_assert_true (sk_keyring_has_public_key (st->keyring, fpr));
      g_assert_false (sk_keyring_has_secret_key (st->keyring, fpr));
    }

  /* Again: nothing new, the same answer. */
  again = sk_keyring_import (st->keyring, keys->publics, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (again->len, ==, imported->len);
  for (guint i = 0; i < again->len; i++)
    g_assert_cmpstr (g_ptr_array_index (again, i), ==, g_ptr_array_index (imported, i));

  /* Not a key file at all. */
  {
    g_autoptr (GBytes) junk = g_bytes_new_static ("not a key\n", 10);
    g_autoptr (GPtrArray) none = sk_keyring_import (st->keyring, junk, NULL, &error);
    g_assert_error (error, SK_ERROR, SK_ERROR_KEY_REFUSED);
    g_assert_null (none);
  }
}

static void
test_import_station_secret (Station *st, gconstpointer user_data)
{
  const char *fprs[] = { keys->ed25519, NULL };
  g_autoptr (GBytes) secret = sk_test_gpg_export (keys->gpg, keys->station, TRUE);
  g_autoptr (GBytes) publics = concat_exports (fprs, FALSE);
  g_autoptr (GByteArray) bundle = g_byte_array_new ();
  g_autoptr (GBytes) bundle_bytes = NULL;
  g_autoptr (GPtrArray) imported = NULL;
  g_autoptr (GError) error = NULL;

  append_bytes (bundle, secret);
  append_bytes (bundle, publics);
  bundle_bytes = g_byte_array_free_to_bytes (g_steal_pointer (&bundle));

  imported = sk_keyring_import (st->keyring, bundle_bytes, keys->station, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (imported->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (imported, 0), <, g_ptr_array_index (imported, 1));
  g_assert_true (g_ptr_array_find_with_equal_func (imported, keys->station, g_str_equal, NULL));
  g_assert_true (g_ptr_array_find_with_equal_func (imported, keys->ed25519, g_str_equal, NULL));
  g_assert_true (sk_keyring_has_secret_key (st->keyring, keys->station));
  g_assert_true (sk_keyring_has_public_key (st->keyring, keys->station));
  g_assert_false (sk_keyring_has_secret_key (st->keyring, keys->ed25519));
  g_assert_true (sk_keyring_has_public_key (st->keyring, keys->ed25519));

  /* The scratch home of the dry run is gone again. */
  g_assert_cmpuint (count_scratch_homes (), ==, 0);
}

static void
test_import_foreign_secret (Station *st, gconstpointer user_data)
{
  const char *station_and_foreign[] = { keys->station, keys->foreign, NULL };
  g_autoptr (GBytes) secrets = concat_exports (station_and_foreign, TRUE);
  g_autoptr (GBytes) station_secret = sk_test_gpg_export (keys->gpg, keys->station, TRUE);
  g_autoptr (GByteArray) bundle = g_byte_array_new ();
  g_autoptr (GBytes) bundle_bytes = NULL;
  g_autoptr (GPtrArray) imported = NULL;
  g_autoptr (GError) error = NULL;

  /* Public keys, the station's secret key and a foreign one. */
  append_bytes (bundle, keys->publics);
  append_bytes (bundle, secrets);
  bundle_bytes = g_byte_array_free_to_bytes (g_steal_pointer (&bundle));

  imported = sk_keyring_import (st->keyring, bundle_bytes, keys->station, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_KEY_REFUSED);
  g_assert_null (imported);
  g_assert_nonnull (strstr (error->message, keys->foreign));
  g_clear_error (&error);

  /* Nothing of the file reached the station. */
  g_assert_false (sk_keyring_has_public_key (st->keyring, keys->foreign));
  g_assert_false (sk_keyring_has_secret_key (st->keyring, keys->foreign));
  g_assert_false (sk_keyring_has_public_key (st->keyring, keys->station));
  g_assert_false (sk_keyring_has_public_key (st->keyring, keys->ed25519));

  /* Without an allowed fingerprint even the station's own is refused. */
  imported = sk_keyring_import (st->keyring, station_secret, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_KEY_REFUSED);
  g_assert_null (imported);
  g_assert_false (sk_keyring_has_secret_key (st->keyring, keys->station));
  g_assert_false (sk_keyring_has_public_key (st->keyring, keys->station));

  g_assert_cmpuint (count_scratch_homes (), ==, 0);
}

/* ---- the keys kept per object (sk-keyring-cache.c) ------------------------- */

static void
import_public (Station *st, const char *fpr)
{
  g_autoptr (GBytes) key = sk_test_gpg_export (keys->gpg, fpr, FALSE);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) imported = sk_keyring_import (st->keyring, key, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (imported->len, ==, 1);
}

/* Once the home's files are older than the cache's racy window, the listing
 * and export are kept: a second verification runs no gpg.  A key that
 * expires while the listing is kept is seen expired (the listing's first
 * expiry); a key imported through the object is seen at once; a revocation
 * imported by stock gpg behind its back is seen (the files' stamps). */
static void
test_cache_kept_and_dropped (Station *st, gconstpointer user_data)
{
  gint64 made = g_get_real_time () / G_USEC_PER_SEC;
  g_autofree char *brief =
      sk_test_gpg_make_key (keys->gpg, "Brief <brief@test>", "ed25519", "seconds=7", NULL);
  g_autofree char *fresh =
      sk_test_gpg_make_key (keys->gpg, "Fresh <fresh@test>", "ed25519", "never", NULL);
  import_public (st, brief);
  import_public (st, fresh);
  g_autoptr (GBytes) by_fresh = sign_by (fresh, st->data, NULL);
  g_autoptr (GBytes) by_brief = sign_by (brief, st->data, NULL);
  g_autoptr (GBytes) by_stranger = sign_by (keys->stranger, st->data, NULL);
  const char *fresh_ok[] = { fresh, NULL };
  const char *brief_ok[] = { brief, NULL };
  const char *stranger_ok[] = { keys->stranger, NULL };
  g_autoptr (GError) error = NULL;

  /* Listings made within seconds of a change to the files are not kept. */
  g_usleep (2300 * G_TIME_SPAN_MILLISECOND);
  g_autoptr (SkSignature) a =
      sk_keyring_verify_detached_bytes (st->keyring, by_brief, st->data, brief_ok, &error);
  g_assert_no_error (error);
  g_assert_nonnull (a);
  guint runs = sk_keyring_get_key_runs (st->keyring);
  g_assert_cmpuint (runs, >=, 2);
  g_autoptr (SkSignature) b =
      sk_keyring_verify_detached_bytes (st->keyring, by_fresh, st->data, fresh_ok, &error);
  g_assert_no_error (error);
  g_assert_nonnull (b);
  g_assert_true (sk_keyring_has_public_key (st->keyring, fresh));
  g_assert_cmpuint (sk_keyring_get_key_runs (st->keyring), ==, runs);
  g_assert_cmpint (g_get_real_time () / G_USEC_PER_SEC, <, made + 7);

  /* The expiry of a key in the kept listing. */
  while (g_get_real_time () / G_USEC_PER_SEC <= made + 8)
    g_usleep (200 * G_TIME_SPAN_MILLISECOND);
  g_autoptr (SkSignature) c =
      sk_keyring_verify_detached_bytes (st->keyring, by_brief, st->data, brief_ok, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_SIG_KEY_EXPIRED);
  g_assert_null (c);
  g_clear_error (&error);

  /* Through the object: seen at once. */
  g_autoptr (SkSignature) d =
      sk_keyring_verify_detached_bytes (st->keyring, by_stranger, st->data, stranger_ok, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY);
  g_assert_null (d);
  g_clear_error (&error);
  import_public (st, keys->stranger);
  g_autoptr (SkSignature) e =
      sk_keyring_verify_detached_bytes (st->keyring, by_stranger, st->data, stranger_ok, &error);
  g_assert_no_error (error);
  g_assert_nonnull (e);

  /* Behind its back: the revocation is seen once the stamps have moved. */
  g_usleep (2300 * G_TIME_SPAN_MILLISECOND);
  g_autoptr (SkSignature) f =
      sk_keyring_verify_detached_bytes (st->keyring, by_fresh, st->data, fresh_ok, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f);
  runs = sk_keyring_get_key_runs (st->keyring);
  g_autoptr (SkSignature) g =
      sk_keyring_verify_detached_bytes (st->keyring, by_fresh, st->data, fresh_ok, &error);
  g_assert_no_error (error);
  g_assert_nonnull (g);
  g_assert_cmpuint (sk_keyring_get_key_runs (st->keyring), ==, runs);
  sk_test_gpg_revoke (keys->gpg, fresh);
  g_autoptr (GBytes) revocation = sk_test_gpg_export (keys->gpg, fresh, FALSE);
  sk_test_gpg_stock_import (st->tmp, st->home, revocation);
  g_autoptr (SkSignature) h =
      sk_keyring_verify_detached_bytes (st->keyring, by_fresh, st->data, fresh_ok, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_SIG_KEY_REVOKED);
  g_assert_null (h);
  g_assert_cmpuint (sk_keyring_get_key_runs (st->keyring), >, runs);
}

int
main (int argc, char **argv)
{
  const char *base = g_getenv ("TMPDIR");
  g_autofree char *tmpdir = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  /* Before any thread, as setenv() is not thread-safe: a $TMPDIR of our own
   * (short, for the agents' sockets), which must be empty at the end ... */
  tmpdir = g_build_filename (base != NULL && *base != '\0' ? base : "/tmp", "skr-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp (tmpdir));
  g_assert_true (g_setenv ("TMPDIR", tmpdir, TRUE));
  g_assert_cmpstr (g_get_tmp_dir (), ==, tmpdir);

  /* ... and a $GNUPGHOME that holds every key of this file. */
  keys = g_new0 (Keys, 1);
  keys->gpg = sk_test_gpg_new ();
  g_assert_true (g_setenv ("GNUPGHOME", sk_test_gpg_get_home (keys->gpg), TRUE));

#define STATION_TEST(path, setup, func)                                                            \
  g_test_add (path, Station, NULL, setup, func, station_teardown)

  g_test_add_func ("/keyring/fingerprint", test_fingerprint);
  STATION_TEST ("/keyring/init-home", station_setup_empty, test_init_home);
  STATION_TEST ("/keyring/verify/pass-ed25519", station_setup_loaded, test_pass_ed25519);
  STATION_TEST ("/keyring/verify/pass-rsa3072", station_setup_loaded, test_pass_rsa3072);
  STATION_TEST ("/keyring/verify/pass-subkey", station_setup_loaded, test_pass_subkey);
  STATION_TEST ("/keyring/verify/pass-fd", station_setup_loaded, test_pass_fd);
  STATION_TEST ("/keyring/verify/fd-cancelled", station_setup_loaded, test_fd_cancelled);
  STATION_TEST ("/keyring/verify/sig-missing", station_setup_loaded, test_sig_missing);
  STATION_TEST ("/keyring/verify/sig-bad", station_setup_loaded, test_sig_bad);
  STATION_TEST ("/keyring/verify/sig-multiple", station_setup_loaded, test_sig_multiple);
  STATION_TEST ("/keyring/verify/sig-armored", station_setup_loaded, test_sig_armored);
  STATION_TEST ("/keyring/verify/sig-untrusted-key", station_setup_loaded, test_sig_untrusted);
  STATION_TEST ("/keyring/verify/ignores-gnupghome", station_setup_empty, test_ignores_gnupghome);
  STATION_TEST ("/keyring/verify/sig-weak-hash", station_setup_loaded, test_sig_weak_hash);
  STATION_TEST ("/keyring/verify/sig-weak-key", station_setup_loaded, test_sig_weak_key);
  STATION_TEST ("/keyring/verify/sig-key-expired", station_setup_loaded, test_sig_key_expired);
  STATION_TEST ("/keyring/verify/sig-key-revoked", station_setup_loaded, test_sig_key_revoked);
  STATION_TEST ("/keyring/sign/round-trip", station_setup_empty, test_sign_round_trip);
  STATION_TEST ("/keyring/sign/refused", station_setup_loaded, test_sign_refused);
  STATION_TEST ("/keyring/import/public", station_setup_empty, test_import_public);
  STATION_TEST ("/keyring/import/station-secret", station_setup_empty, test_import_station_secret);
  STATION_TEST ("/keyring/import/foreign-secret", station_setup_empty, test_import_foreign_secret);
  STATION_TEST ("/keyring/cache/kept-and-dropped", station_setup_empty,
                test_cache_kept_and_dropped);

#undef STATION_TEST

  ret = g_test_run ();
  keys_free ();
  /* Every home, scratch or not, is gone with its agent. */
  g_assert_cmpint (g_rmdir (tmpdir), ==, 0);
  return ret;
}
