/* test-pgp-pkesk.c — the session key from the station's gpg-agent, with no
 * gpg process on the decryption path (sk-keyring-decrypt.c, sk-pgp-pkesk.c,
 * sk-gpg-agent.c; issue 15)
 *
 * Real keys in a temporary GnuPG home: a Curve25519 station and an RSA-3072
 * station, and a third key whose secret the station does not hold.  Stock
 * `gpg --encrypt` writes the messages; `gpg --show-session-key` says what the
 * session key is.  Hostile session-key packets (a corrupted wrapped key, a
 * checksum off by one, bad padding) are made here, wrapping the real
 * session key of a stock message, so that only the damage is wrong.
 *
 * That no gpg process starts is shown by the kernel: the decryption runs in
 * a subprocess under a seccomp filter that makes every execve fail, after
 * the key cache (which lists and exports through gpg) was filled; a message
 * only GnuPG can open (a hidden recipient) then fails there, which shows the
 * filter bites.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gcrypt.h>
#include <glib/gstdio.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-hash.h"
#include "sk-keyring.h"
#include "sk-pgp-packet.h"
#include "sk-test-gpg.h"

typedef struct
{
  SkTestGpg *gpg;
  char *cv;      /* the Curve25519 station's primary */
  char *cv_sub;  /* … and its encryption subkey */
  char *rsa;     /* the RSA station's primary */
  char *rsa_sub; /* … and its encryption subkey */
  char *other;   /* a key whose secret the station does not hold */
  char *tmp;
  char *home; /* the station's home: both stations' secrets, other's public key */
  SkKeyring *keyring;
} Keys;

static Keys *keys;

/* `gpg --homedir HOME --batch ARGS…`; its stdout into OUT_PATH (when not
 * NULL); its stderr returned. */
static char *
run_gpg (const char *home, const char *const *args, const char *out_path)
{
  return sk_test_gpg_run_in (home, args, out_path);
}

/* The fingerprint of PRIMARY's encryption subkey, as gpg lists it. */
static char *
encryption_subkey (const char *home, const char *primary)
{
  g_autofree char *out = NULL;
  const char *argv[] = { "gpg",           "--homedir",   home,    "--batch",
                         "--with-colons", "--list-keys", primary, NULL };
  int status = 0;
  g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                NULL, &out, NULL, &status, NULL);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  gboolean in_encr = FALSE;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) f = g_strsplit (lines[i], ":", -1);
      if (g_strv_length (f) > 11 && g_str_equal (f[0], "sub"))
        in_encr = strchr (f[11], 'e') != NULL;
      else if (in_encr && g_strv_length (f) > 9 && g_str_equal (f[0], "fpr"))
        return g_strdup (f[9]);
    }
  g_assert_not_reached ();
}

static char *
make_station (SkTestGpg *gpg, const char *uid, const char *algo, const char *encr_algo)
{
  char *fpr = sk_test_gpg_make_key (gpg, uid, algo, "never", NULL);
  const char *args[] = { "--quick-add-key", fpr, encr_algo, "encr", "never", NULL };
  g_free (run_gpg (sk_test_gpg_get_home (gpg), args, NULL));
  return fpr;
}

static void
import (SkKeyring *keyring, GBytes *data, const char *secret_of)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) done = sk_keyring_import (keyring, data, secret_of, &error);
  g_assert_no_error (error);
  g_assert_nonnull (done);
}

static void
keys_ensure (void)
{
  if (keys != NULL)
    return;
  keys = g_new0 (Keys, 1);
  keys->gpg = sk_test_gpg_new ();
  const char *gh = sk_test_gpg_get_home (keys->gpg);
  keys->cv = make_station (keys->gpg, "Station CV <cv@test>", "ed25519", "cv25519");
  keys->rsa = make_station (keys->gpg, "Station RSA <rsa@test>", "rsa3072", "rsa3072");
  keys->other = make_station (keys->gpg, "Other <o@test>", "ed25519", "cv25519");
  keys->cv_sub = encryption_subkey (gh, keys->cv);
  keys->rsa_sub = encryption_subkey (gh, keys->rsa);

  g_autoptr (GError) error = NULL;
  keys->tmp = g_dir_make_tmp ("skpk-XXXXXX", &error);
  g_assert_no_error (error);
  keys->home = g_build_filename (keys->tmp, "gnupg", NULL);
  g_assert_true (sk_keyring_init_home (keys->home, &error));
  keys->keyring = sk_keyring_new (keys->home, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) other = sk_test_gpg_export (keys->gpg, keys->other, FALSE);
  import (keys->keyring, other, NULL);
  const char *stations[] = { keys->cv, keys->rsa, NULL };
  for (guint i = 0; stations[i] != NULL; i++)
    {
      g_autoptr (GBytes) sec = sk_test_gpg_export (keys->gpg, stations[i], TRUE);
      import (keys->keyring, sec, stations[i]);
    }
  /* Past the key cache's racy window (sk-keyring-cache.c): the listing
   * made next is kept. */
  g_usleep (300 * 1000);
}

static void
keys_free (void)
{
  if (keys == NULL)
    return;
  g_clear_object (&keys->keyring);
  sk_test_gpg_remove_home (keys->home);
  g_assert_cmpint (g_rmdir (keys->tmp), ==, 0);
  sk_test_gpg_free (keys->gpg);
  g_free (keys->cv);
  g_free (keys->cv_sub);
  g_free (keys->rsa);
  g_free (keys->rsa_sub);
  g_free (keys->other);
  g_free (keys->home);
  g_free (keys->tmp);
  g_clear_pointer (&keys, g_free);
}

/* A message from stock gpg: PLAIN to RECIPIENTS ("-r FPR" or "-R FPR"
 * pairs), no compression, as the station writes its own.  The file's
 * bytes, and the session key gpg shows for it ("ALGO:HEX") when
 * OUT_SESSION_KEY is not NULL. */
static GBytes *
stock_message (GBytes *plain, const char *const *recipients, char **out_session_key)
{
  const char *gh = sk_test_gpg_get_home (keys->gpg);
  g_autofree char *in = g_build_filename (keys->tmp, "plain", NULL);
  g_autofree char *out = g_build_filename (keys->tmp, "msg.gpg", NULL);
  g_autofree char *dec = g_build_filename (keys->tmp, "back", NULL);
  g_assert_true (g_file_set_contents (in, g_bytes_get_data (plain, NULL),
                                      (gssize)g_bytes_get_size (plain), NULL));
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  const char *head[] = { "--trust-model", "always", "--compress-algo", "none", NULL };
  for (gsize i = 0; head[i] != NULL; i++)
    g_ptr_array_add (args, (char *)head[i]);
  for (gsize i = 0; recipients[i] != NULL; i++)
    g_ptr_array_add (args, (char *)recipients[i]);
  g_ptr_array_add (args, (char *)"-e");
  g_ptr_array_add (args, in);
  g_ptr_array_add (args, NULL);
  g_free (run_gpg (gh, (const char *const *)args->pdata, out));
  if (out_session_key != NULL)
    {
      const char *dargs[] = { "--show-session-key", "-d", out, NULL };
      g_autofree char *err = run_gpg (gh, dargs, dec);
      const char *at = strstr (err, "session key: '");
      g_assert_nonnull (at);
      at += strlen ("session key: '");
      *out_session_key = g_strndup (at, strcspn (at, "'"));
      g_unlink (dec);
    }
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (out, &data, &len, NULL));
  g_unlink (in);
  g_unlink (out);
  return g_bytes_new_take (g_steal_pointer (&data), len);
}

static gboolean
collect (const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  g_byte_array_append (user_data, data, (guint)len);
  return TRUE;
}

/* The station decrypts MESSAGE; its plaintext, or NULL with ERROR. */
static GBytes *
station_decrypt (GBytes *message, GError **error)
{
  g_autofree char *path = g_build_filename (keys->tmp, "in.gpg", NULL);
  g_assert_true (g_file_set_contents (path, g_bytes_get_data (message, NULL),
                                      (gssize)g_bytes_get_size (message), NULL));
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_unlink (path);
  g_autoptr (GByteArray) back = g_byte_array_new ();
  gboolean ok = sk_keyring_decrypt_to (keys->keyring, fd, collect, back, NULL, error);
  close (fd);
  if (!ok)
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&back));
}

static GBytes *
random_plain (gsize len)
{
  guint8 *buf = g_malloc (len + 1);
  for (gsize i = 0; i < len; i++)
    buf[i] = (guint8)g_random_int_range (0, 256);
  return g_bytes_new_take (buf, len);
}

static void
assert_decrypts (GBytes *message, GBytes *plain)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) back = station_decrypt (message, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (back, plain));
}

static void
assert_refused (GBytes *message, SkErrorCode code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) back = station_decrypt (message, &error);
  g_assert_error (error, SK_ERROR, (gint)code);
  g_assert_null (back);
}

/* ---- messages of stock gpg ------------------------------------------- */

static void
check_session_key (const char *fpr)
{
  g_autoptr (GBytes) plain = random_plain (70000);
  g_autofree char *want = NULL;
  const char *r[] = { "-r", fpr, NULL };
  g_autoptr (GBytes) msg = stock_message (plain, r, &want);
  g_autoptr (GError) error = NULL;
  g_autofree char *got = sk_keyring_show_session_key (keys->keyring, msg, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got, ==, want);
  assert_decrypts (msg, plain);
}

static void
test_session_key_cv25519 (void)
{
  keys_ensure ();
  check_session_key (keys->cv);
}

static void
test_session_key_rsa (void)
{
  keys_ensure ();
  check_session_key (keys->rsa);
}

static void
test_recipients (void)
{
  keys_ensure ();
  g_autoptr (GBytes) plain = random_plain (1000);

  /* Not for this station at all. */
  const char *other[] = { "-r", keys->other, NULL };
  g_autoptr (GBytes) m1 = stock_message (plain, other, NULL);
  assert_refused (m1, SK_ERROR_DECRYPT_WRONG_RECIPIENT);
  g_autoptr (GError) error = NULL;
  g_autofree char *none = sk_keyring_show_session_key (keys->keyring, m1, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_DECRYPT_WRONG_RECIPIENT);
  g_assert_null (none);

  /* Two session keys, the first not ours; and the other way round. */
  const char *both[] = { "-r", keys->other, "-r", keys->cv, NULL };
  g_autoptr (GBytes) m2 = stock_message (plain, both, NULL);
  assert_decrypts (m2, plain);
  const char *both_rsa[] = { "-r", keys->rsa, "-r", keys->other, NULL };
  g_autoptr (GBytes) m3 = stock_message (plain, both_rsa, NULL);
  assert_decrypts (m3, plain);

  /* A hidden recipient (key ID 0): ours, then not ours. */
  const char *hidden[] = { "-R", keys->cv, NULL };
  g_autoptr (GBytes) m4 = stock_message (plain, hidden, NULL);
  g_assert_cmpint (((const guint8 *)g_bytes_get_data (m4, NULL))[3], ==, 0);
  assert_decrypts (m4, plain);
  const char *hidden_other[] = { "-R", keys->other, NULL };
  g_autoptr (GBytes) m5 = stock_message (plain, hidden_other, NULL);
  assert_refused (m5, SK_ERROR_DECRYPT_WRONG_RECIPIENT);
}

/* A station key that wants a passphrase: the agent is never let to ask
 * for it (the fast path declines, GPGME's loopback pinentry gets none),
 * and the message is refused as before (decrypt-failed: GnuPG's "no
 * data" once the agent would not decrypt). */
static void
test_passphrase_refused (void)
{
  keys_ensure ();
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("skpk-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *home = g_build_filename (tmp, "gnupg", NULL);
  g_assert_true (sk_keyring_init_home (home, &error));
  g_autoptr (SkKeyring) keyring = sk_keyring_new (home, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) sec = sk_test_gpg_export (keys->gpg, keys->cv, TRUE);
  import (keyring, sec, keys->cv);
  /* The key protected afresh in this home (old passphrase empty). */
  const char *argv[] = { "gpg",      "--homedir",    home,           "--batch",  "--pinentry-mode",
                         "loopback", "--passphrase", "a passphrase", "--passwd", keys->cv,
                         NULL };
  int status = 0;
  g_spawn_sync (NULL, (char **)argv, NULL,
                G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                NULL, NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  g_autoptr (GBytes) plain = random_plain (100);
  const char *r[] = { "-r", keys->cv, NULL };
  g_autoptr (GBytes) msg = stock_message (plain, r, NULL);
  g_autofree char *sk = sk_keyring_show_session_key (keyring, msg, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_null (sk);
  g_clear_error (&error);

  g_autofree char *path = g_build_filename (tmp, "in.gpg", NULL);
  g_assert_true (g_file_set_contents (path, g_bytes_get_data (msg, NULL),
                                      (gssize)g_bytes_get_size (msg), NULL));
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_autoptr (GByteArray) back = g_byte_array_new ();
  g_assert_false (sk_keyring_decrypt_to (keyring, fd, collect, back, NULL, &error));
  close (fd);
  g_assert_error (error, SK_ERROR, SK_ERROR_DECRYPT_FAILED);
  g_unlink (path);
  g_clear_object (&keyring);
  sk_test_gpg_remove_home (home);
  g_assert_cmpint (g_rmdir (tmp), ==, 0);
}

/* ---- hostile session-key packets ------------------------------------- */

static void
unhex_into (const char *hex, guint8 *out, gsize n)
{
  g_assert_cmpuint (strlen (hex), ==, 2 * n);
  for (gsize i = 0; i < n; i++)
    out[i] =
        (guint8)(g_ascii_xdigit_value (hex[2 * i]) << 4 | g_ascii_xdigit_value (hex[2 * i + 1]));
}

/* MESSAGE (one session-key packet, then the encrypted data) with its
 * session-key packet replaced by one of body BODY. */
static GBytes *
replace_pkesk (GBytes *message, const guint8 *body, gsize body_len)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (message, &len);
  gsize offset = 0, plen = 0;
  guint tag = 0;
  g_assert_true (sk_pgp_read_header (data, len, &offset, &tag, &plen));
  g_assert_cmpuint (tag, ==, 1);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_assert_cmpuint (body_len, <, 8384);
  guint8 head[3] = { 0xC1 };
  if (body_len < 192)
    {
      head[1] = (guint8)body_len;
      g_byte_array_append (out, head, 2);
    }
  else
    {
      head[1] = (guint8)(((body_len - 192) >> 8) + 192);
      head[2] = (guint8)((body_len - 192) & 0xFF);
      g_byte_array_append (out, head, 3);
    }
  g_byte_array_append (out, body, (guint)body_len);
  g_byte_array_append (out, data + offset + plen, (guint)(len - offset - plen));
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

typedef enum
{
  DAMAGE_NONE,
  DAMAGE_CHECKSUM, /* the checksum off by one */
  DAMAGE_PADDING,  /* one padding octet not the padding's length */
  DAMAGE_PAD_ZERO, /* a padding length of 0 */
  DAMAGE_KEY_LEN,  /* a key one octet short for its cipher */
  DAMAGE_ALGO,     /* PKCS #1: block type 1; ECDH: an unknown cipher */
  DAMAGE_NO_ZERO,  /* PKCS #1: no zero octet after the padding */
} Damage;

/* The session key ALGO, KEY (KEY_LEN) with its checksum, as both
 * algorithms frame it; DAMAGE_CHECKSUM and DAMAGE_KEY_LEN applied. */
static GByteArray *
key_frame (guint algo, const guint8 *key, gsize key_len, Damage damage)
{
  GByteArray *m = g_byte_array_new ();
  guint8 a = damage == DAMAGE_ALGO ? 0x63 : (guint8)algo;
  if (damage == DAMAGE_KEY_LEN)
    key_len--;
  guint sum = 0;
  for (gsize i = 0; i < key_len; i++)
    sum += key[i];
  if (damage == DAMAGE_CHECKSUM)
    sum++;
  guint8 csum[2] = { (guint8)(sum >> 8), (guint8)sum };
  g_byte_array_append (m, &a, 1);
  g_byte_array_append (m, key, (guint)key_len);
  g_byte_array_append (m, csum, 2);
  return m;
}

/* An ECDH session-key packet body for the Curve25519 station's subkey. */
static GBytes *
ecdh_pkesk (guint algo, const guint8 *key, gsize key_len, Damage damage)
{
  g_autoptr (GBytes) block = sk_test_gpg_export (keys->gpg, keys->cv, FALSE);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPgpKey) sub = sk_pgp_subkey_from_block (
      g_bytes_get_data (block, NULL), g_bytes_get_size (block), keys->cv_sub, &error);
  g_assert_no_error (error);
  g_assert_true (sub->cv25519);

  guint8 eph[32], v[32], z[32], fpr[20];
  static const guint8 base[32] = { 9 };
  sk_random_bytes (eph, sizeof eph);
  g_assert_true (sk_x25519 (v, eph, base));
  g_assert_true (sk_x25519 (z, eph, g_bytes_get_data (sub->mpi[0], NULL)));
  unhex_into (sub->fpr, fpr, sizeof fpr);
  static const guint8 oid[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01 };
  static const guint8 counter[4] = { 0, 0, 0, 1 };
  g_autoptr (SkDigest) kdf = sk_digest_new (sub->kdf_hash);
  g_assert_nonnull (kdf);
  guint8 param[] = { sizeof oid };
  sk_digest_update (kdf, counter, 4);
  sk_digest_update (kdf, z, 32);
  sk_digest_update (kdf, param, 1);
  sk_digest_update (kdf, oid, sizeof oid);
  guint8 kdf_params[] = { 18, 3, 1, (guint8)sub->kdf_hash, (guint8)sub->kdf_cipher };
  sk_digest_update (kdf, kdf_params, sizeof kdf_params);
  sk_digest_update (kdf, "Anonymous Sender    ", 20);
  sk_digest_update (kdf, fpr, 20);
  gsize kek_len = 0;
  const guint8 *kek = sk_digest_finish (kdf, &kek_len);
  gsize kek_want = sub->kdf_cipher == 9 ? 32 : sub->kdf_cipher == 8 ? 24 : 16;

  g_autoptr (GByteArray) m = key_frame (algo, key, key_len, damage);
  guint8 pad = (guint8)(8 - m->len % 8);
  for (guint i = 0; i < pad; i++)
    g_byte_array_append (m, &pad, 1);
  if (damage == DAMAGE_PADDING)
    m->data[m->len - 2] ^= 1;
  if (damage == DAMAGE_PAD_ZERO)
    {
      g_byte_array_set_size (m, m->len - pad);
      guint8 fill[8] = { 0 };
      g_byte_array_append (m, fill, 8 - m->len % 8);
    }
  guint8 wrapped[64];
  g_assert_cmpuint (m->len + 8, <=, sizeof wrapped);
  g_assert_true (sk_aes_wrap (kek, kek_want, m->data, m->len, wrapped));

  g_autoptr (GByteArray) body = g_byte_array_new ();
  guint8 ver = 3, pk = 18, mpi_head[3] = { 0x01, 0x07, 0x40 }, wlen = (guint8)(m->len + 8);
  g_byte_array_append (body, &ver, 1);
  g_byte_array_append (body, fpr + 12, 8);
  g_byte_array_append (body, &pk, 1);
  g_byte_array_append (body, mpi_head, 3);
  g_byte_array_append (body, v, 32);
  g_byte_array_append (body, &wlen, 1);
  g_byte_array_append (body, wrapped, wlen);
  return g_byte_array_free_to_bytes (g_steal_pointer (&body));
}

/* An RSA session-key packet body for the RSA station's subkey (raw RSA on
 * a frame made here). */
static GBytes *
rsa_pkesk (guint algo, const guint8 *key, gsize key_len, Damage damage)
{
  g_autoptr (GBytes) block = sk_test_gpg_export (keys->gpg, keys->rsa, FALSE);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPgpKey) sub = sk_pgp_subkey_from_block (
      g_bytes_get_data (block, NULL), g_bytes_get_size (block), keys->rsa_sub, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sub->n_mpi, ==, 2);
  gsize n_len = 0, e_len = 0;
  const guint8 *n_bytes = g_bytes_get_data (sub->mpi[0], &n_len);
  const guint8 *e_bytes = g_bytes_get_data (sub->mpi[1], &e_len);

  /* 00 02 PS 00 M, PS non-zero random octets. */
  g_autoptr (GByteArray) m = key_frame (algo, key, key_len, damage);
  g_autoptr (GByteArray) frame = g_byte_array_sized_new ((guint)n_len);
  guint8 head[2] = { 0x00, damage == DAMAGE_ALGO ? 0x01 : 0x02 };
  g_byte_array_append (frame, head, 2);
  while (frame->len < n_len - m->len - 1)
    {
      guint8 r = (guint8)g_random_int_range (1, 256);
      g_byte_array_append (frame, &r, 1);
    }
  guint8 sep = damage == DAMAGE_NO_ZERO ? 0x55 : 0x00;
  g_byte_array_append (frame, &sep, 1);
  g_byte_array_append (frame, m->data, m->len);
  g_assert_cmpuint (frame->len, ==, n_len);

  gcry_mpi_t mm = NULL, n = NULL, e = NULL;
  g_assert_cmpint (gcry_mpi_scan (&mm, GCRYMPI_FMT_USG, frame->data, frame->len, NULL), ==, 0);
  g_assert_cmpint (gcry_mpi_scan (&n, GCRYMPI_FMT_USG, n_bytes, n_len, NULL), ==, 0);
  g_assert_cmpint (gcry_mpi_scan (&e, GCRYMPI_FMT_USG, e_bytes, e_len, NULL), ==, 0);
  gcry_mpi_t c = gcry_mpi_new (0);
  gcry_mpi_powm (c, mm, e, n);
  guint8 *c_bytes = NULL;
  gsize c_len = 0;
  g_assert_cmpint (gcry_mpi_aprint (GCRYMPI_FMT_PGP, &c_bytes, &c_len, c), ==, 0);
  gcry_mpi_release (mm);
  gcry_mpi_release (n);
  gcry_mpi_release (e);
  gcry_mpi_release (c);

  guint8 fpr[20];
  unhex_into (sub->fpr, fpr, sizeof fpr);
  g_autoptr (GByteArray) body = g_byte_array_new ();
  guint8 ver = 3, pk = 1;
  g_byte_array_append (body, &ver, 1);
  g_byte_array_append (body, fpr + 12, 8);
  g_byte_array_append (body, &pk, 1);
  g_byte_array_append (body, c_bytes, (guint)c_len);
  gcry_free (c_bytes);
  return g_byte_array_free_to_bytes (g_steal_pointer (&body));
}

typedef GBytes *(*PkeskFunc) (guint algo, const guint8 *key, gsize key_len, Damage damage);

/* A stock message to FPR, its session-key packet made again by MAKE with
 * DAMAGE; first undamaged (which must decrypt: the packets made here are
 * right but for the damage). */
static void
check_damage (const char *fpr, PkeskFunc make)
{
  keys_ensure ();
  g_autoptr (GBytes) plain = random_plain (5000);
  g_autofree char *sk = NULL;
  const char *r[] = { "-r", fpr, NULL };
  g_autoptr (GBytes) msg = stock_message (plain, r, &sk);
  char *colon = strchr (sk, ':');
  g_assert_nonnull (colon);
  guint algo = (guint)g_ascii_strtoull (sk, NULL, 10);
  guint8 key[32];
  gsize key_len = strlen (colon + 1) / 2;
  g_assert_cmpuint (key_len, <=, sizeof key);
  unhex_into (colon + 1, key, key_len);

  static const Damage damages[] = { DAMAGE_NONE,     DAMAGE_CHECKSUM, DAMAGE_PADDING,
                                    DAMAGE_PAD_ZERO, DAMAGE_KEY_LEN,  DAMAGE_ALGO,
                                    DAMAGE_NO_ZERO };
  for (gsize i = 0; i < G_N_ELEMENTS (damages); i++)
    {
      if (make == rsa_pkesk && (damages[i] == DAMAGE_PADDING || damages[i] == DAMAGE_PAD_ZERO))
        continue;
      if (make == ecdh_pkesk && damages[i] == DAMAGE_NO_ZERO)
        continue;
      g_test_message ("damage %d", (int)damages[i]);
      g_autoptr (GBytes) body = make (algo, key, key_len, damages[i]);
      g_autoptr (GBytes) bad =
          replace_pkesk (msg, g_bytes_get_data (body, NULL), g_bytes_get_size (body));
      if (damages[i] == DAMAGE_NONE)
        assert_decrypts (bad, plain);
      else
        assert_refused (bad, SK_ERROR_DECRYPT_FAILED);
    }

  /* The wrapped key or the RSA value with one bit flipped, and the packet
   * cut short: damaged on the way. */
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (msg, &len);
  gsize offset = 0, plen = 0;
  guint tag = 0;
  g_assert_true (sk_pgp_read_header (data, len, &offset, &tag, &plen));
  g_autofree guint8 *flipped = g_memdup2 (data + offset, plen);
  flipped[plen - 1] ^= 0x01;
  g_autoptr (GBytes) m1 = replace_pkesk (msg, flipped, plen);
  assert_refused (m1, SK_ERROR_DECRYPT_FAILED);
  g_autoptr (GBytes) m2 = replace_pkesk (msg, data + offset, plen - 5);
  assert_refused (m2, SK_ERROR_DECRYPT_FAILED);
  explicit_bzero (key, sizeof key);
}

static void
test_damaged_cv25519 (void)
{
  keys_ensure ();
  check_damage (keys->cv, ecdh_pkesk);
}

static void
test_damaged_rsa (void)
{
  keys_ensure ();
  check_damage (keys->rsa, rsa_pkesk);
}

/* ---- no gpg process ----------------------------------------------------- */

#if defined(__x86_64__)
#define AUDIT_ARCH_HERE AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define AUDIT_ARCH_HERE AUDIT_ARCH_AARCH64
#endif

#ifdef AUDIT_ARCH_HERE
/* From here on every execve of this process and its children fails with
 * EPERM. */
static void
forbid_exec (void)
{
  struct sock_filter filter[] = {
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, arch)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_HERE, 1, 0),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 2, 0),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, __NR_execveat, 1, 0),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
  };
  struct sock_fprog prog = { .len = G_N_ELEMENTS (filter), .filter = filter };
  g_assert_cmpint (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), ==, 0);
  g_assert_cmpint (syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog),
                   ==, 0);
}
#endif

static void
test_no_gpg_process (void)
{
#ifndef AUDIT_ARCH_HERE
  g_test_skip ("no seccomp architecture for this machine in the test");
#else
  keys_ensure ();
  g_autoptr (GBytes) plain = random_plain (300000);
  const char *r_cv[] = { "-r", keys->cv, NULL };
  const char *r_rsa[] = { "-r", keys->rsa, NULL };
  const char *r_two[] = { "-r", keys->other, "-r", keys->cv, NULL };
  const char *r_other[] = { "-r", keys->other, NULL };
  g_autoptr (GBytes) m_cv = stock_message (plain, r_cv, NULL);
  g_autoptr (GBytes) m_rsa = stock_message (plain, r_rsa, NULL);
  g_autoptr (GBytes) m_two = stock_message (plain, r_two, NULL);
  g_autoptr (GBytes) m_other = stock_message (plain, r_other, NULL);
  /* The key cache is filled first: listing and exporting are gpg's. */
  assert_decrypts (m_cv, plain);
  guint runs = sk_keyring_get_key_runs (keys->keyring);

  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      forbid_exec ();
      /* The filter bites: nothing can be started. */
      const char *argv[] = { "/bin/true", NULL };
      g_autoptr (GError) spawn_error = NULL;
      g_assert_false (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL,
                                    NULL, NULL, &spawn_error));
      g_assert_nonnull (spawn_error);
      assert_decrypts (m_cv, plain);
      assert_decrypts (m_rsa, plain);
      assert_decrypts (m_two, plain);
      assert_refused (m_other, SK_ERROR_DECRYPT_WRONG_RECIPIENT);
      g_assert_cmpuint (sk_keyring_get_key_runs (keys->keyring), ==, runs);
      _exit (0);
    }
  int status = 0;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
#endif
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pgp-pkesk/session-key-cv25519", test_session_key_cv25519);
  g_test_add_func ("/pgp-pkesk/session-key-rsa", test_session_key_rsa);
  g_test_add_func ("/pgp-pkesk/recipients", test_recipients);
  g_test_add_func ("/pgp-pkesk/passphrase-refused", test_passphrase_refused);
  g_test_add_func ("/pgp-pkesk/damaged-cv25519", test_damaged_cv25519);
  g_test_add_func ("/pgp-pkesk/damaged-rsa", test_damaged_rsa);
  g_test_add_func ("/pgp-pkesk/no-gpg-process", test_no_gpg_process);
  int ret = g_test_run ();
  keys_free ();
  return ret;
}
