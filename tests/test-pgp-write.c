/* test-pgp-write.c — the packets `pack` writes in-process (sk-pgp-write.c,
 * sk-gpg-agent.c, sk_keyring_encrypt_to / sk_keyring_sign_digest)
 *
 * The primitives against their RFCs' test vectors (X25519: RFC 7748 §5.2;
 * AES key wrap: RFC 3394 §4), the session-key packet against an
 * independent unwrap, and whole messages and signatures against stock gpg:
 * what is written here must open with `gpg -d` and `gpg --verify`, and with
 * the station's own reader.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-hash.h"
#include "sk-keyring.h"
#include "sk-pgp-write.h"
#include "sk-test-gpg.h"

static GBytes *
unhex (const char *hex)
{
  gsize n = strlen (hex) / 2;
  guint8 *out = g_malloc (n);
  for (gsize i = 0; i < n; i++)
    out[i] =
        (guint8)(g_ascii_xdigit_value (hex[2 * i]) << 4 | g_ascii_xdigit_value (hex[2 * i + 1]));
  return g_bytes_new_take (out, n);
}

static void
assert_hex (const guint8 *data, gsize len, const char *hex)
{
  g_autoptr (GBytes) want = unhex (hex);
  g_assert_cmpmem (data, len, g_bytes_get_data (want, NULL), g_bytes_get_size (want));
}

/* ---- primitives -------------------------------------------------------------- */

static void
test_x25519 (void)
{
  /* RFC 7748 §5.2, both vectors. */
  g_autoptr (GBytes) k1 =
      unhex ("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
  g_autoptr (GBytes) u1 =
      unhex ("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
  g_autoptr (GBytes) k2 =
      unhex ("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d");
  g_autoptr (GBytes) u2 =
      unhex ("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493");
  guint8 out[32];
  g_assert_true (sk_x25519 (out, g_bytes_get_data (k1, NULL), g_bytes_get_data (u1, NULL)));
  assert_hex (out, 32, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
  g_assert_true (sk_x25519 (out, g_bytes_get_data (k2, NULL), g_bytes_get_data (u2, NULL)));
  assert_hex (out, 32, "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");

  /* §6.1: Alice's public key from her secret. */
  g_autoptr (GBytes) a = unhex ("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  static const guint8 base[32] = { 9 };
  g_assert_true (sk_x25519 (out, g_bytes_get_data (a, NULL), base));
  assert_hex (out, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
}

static void
test_aes_wrap (void)
{
  /* RFC 3394 §4.1 (128-bit KEK, 128-bit key) and §4.6 (256, 256). */
  g_autoptr (GBytes) kek1 = unhex ("000102030405060708090A0B0C0D0E0F");
  g_autoptr (GBytes) key1 = unhex ("00112233445566778899AABBCCDDEEFF");
  g_autoptr (GBytes) kek6 =
      unhex ("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
  g_autoptr (GBytes) key6 =
      unhex ("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F");
  guint8 out[40], back[32];

  g_assert_true (
      sk_aes_wrap (g_bytes_get_data (kek1, NULL), 16, g_bytes_get_data (key1, NULL), 16, out));
  assert_hex (out, 24, "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5");
  g_assert_true (sk_aes_unwrap (g_bytes_get_data (kek1, NULL), 16, out, 24, back));
  g_assert_cmpmem (back, 16, g_bytes_get_data (key1, NULL), 16);

  g_assert_true (
      sk_aes_wrap (g_bytes_get_data (kek6, NULL), 32, g_bytes_get_data (key6, NULL), 32, out));
  assert_hex (out, 40,
              "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21");
  g_assert_true (sk_aes_unwrap (g_bytes_get_data (kek6, NULL), 32, out, 40, back));
  g_assert_cmpmem (back, 32, g_bytes_get_data (key6, NULL), 32);

  /* A changed octet fails the unwrap's integrity check. */
  out[7] ^= 1;
  g_assert_false (sk_aes_unwrap (g_bytes_get_data (kek6, NULL), 32, out, 40, back));
  /* Lengths the wrap does not take. */
  g_assert_false (sk_aes_wrap (g_bytes_get_data (kek1, NULL), 15, back, 16, out));
  g_assert_false (sk_aes_wrap (g_bytes_get_data (kek1, NULL), 16, back, 12, out));
}

/* ---- the session-key packet -------------------------------------------------- */

/* A Curve25519 recipient with the secret SECRET, as sk_pgp_key_parse gives
 * it, KDF SHA-256 and AES-128 (gpg's defaults). */
static SkPgpKey *
cv25519_key (const guint8 secret[32], const char *fpr)
{
  static const guint8 base[32] = { 9 };
  guint8 point[32];
  g_assert_true (sk_x25519 (point, secret, base));
  SkPgpKey *key = g_new0 (SkPgpKey, 1);
  key->pk_algo = 18;
  key->cv25519 = TRUE;
  key->kdf_hash = 8;
  key->kdf_cipher = 7;
  g_strlcpy (key->fpr, fpr, sizeof key->fpr);
  key->mpi[0] = g_bytes_new (point, sizeof point);
  key->n_mpi = 1;
  return key;
}

static void
test_ecdh_session_key (void)
{
  static const char fpr[] = "C2F921142DB83DBF1DAAE051D05A3F8D7368D754";
  guint8 secret[32], ephemeral[32], session[32];
  for (guint i = 0; i < 32; i++)
    {
      secret[i] = (guint8)(i * 7 + 1);
      ephemeral[i] = (guint8)(200 - i);
      session[i] = (guint8)(i ^ 0x5a);
    }
  g_autoptr (SkPgpKey) key = cv25519_key (secret, fpr);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) packet =
      sk_pgp_ecdh_session_key (key, SK_PGP_CIPHER_AES256, session, 32, ephemeral, &error);
  g_assert_no_error (error);

  /* Version 3, the key ID, ECDH, an MPI of 263 bits: 0x40 and the point
   * 32 octets long, 48 octets of wrapped key. */
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (packet, &len);
  g_assert_cmpuint (len, ==, 94);
  g_assert_cmpuint (p[0], ==, 3);
  assert_hex (p + 1, 8, "D05A3F8D7368D754");
  g_assert_cmpuint (p[9], ==, 18);
  g_assert_cmpuint (p[10], ==, 0x01);
  g_assert_cmpuint (p[11], ==, 0x07);
  g_assert_cmpuint (p[12], ==, 0x40);
  static const guint8 base[32] = { 9 };
  guint8 v[32];
  g_assert_true (sk_x25519 (v, ephemeral, base));
  g_assert_cmpmem (p + 13, 32, v, 32);
  g_assert_cmpuint (p[45], ==, 48);

  /* The recipient's side, from its secret: Z = secret · V, the KDF of
   * RFC 6637 §7 written out, the unwrap. */
  guint8 z[32];
  g_assert_true (sk_x25519 (z, secret, p + 13));
  g_autoptr (GBytes) param = unhex ("0A2B060104019755010501"
                                    "12"
                                    "03010807"
                                    "416E6F6E796D6F75732053656E64657220202020"
                                    "C2F921142DB83DBF1DAAE051D05A3F8D7368D754");
  g_autoptr (SkDigest) kdf = sk_digest_new (8);
  static const guint8 counter[4] = { 0, 0, 0, 1 };
  sk_digest_update (kdf, counter, 4);
  sk_digest_update (kdf, z, 32);
  sk_digest_update (kdf, g_bytes_get_data (param, NULL), g_bytes_get_size (param));
  gsize dlen = 0;
  const guint8 *kek = sk_digest_finish (kdf, &dlen);
  guint8 m[40];
  g_assert_true (sk_aes_unwrap (kek, 16, p + 46, 48, m));
  guint sum = 0;
  for (guint i = 0; i < 32; i++)
    sum += session[i];
  g_assert_cmpuint (m[0], ==, SK_PGP_CIPHER_AES256);
  g_assert_cmpmem (m + 1, 32, session, 32);
  g_assert_cmpuint (m[33], ==, (sum >> 8) & 0xff);
  g_assert_cmpuint (m[34], ==, sum & 0xff);
  for (guint i = 35; i < 40; i++)
    g_assert_cmpuint (m[i], ==, 5);

  /* Two messages never share an ephemeral key. */
  g_autoptr (GBytes) again =
      sk_pgp_ecdh_session_key (key, SK_PGP_CIPHER_AES256, session, 32, NULL, &error);
  g_autoptr (GBytes) third =
      sk_pgp_ecdh_session_key (key, SK_PGP_CIPHER_AES256, session, 32, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (memcmp ((const guint8 *)g_bytes_get_data (again, NULL) + 13,
                          (const guint8 *)g_bytes_get_data (third, NULL) + 13, 32) == 0);
}

static void
test_ecdh_refusals (void)
{
  guint8 secret[32] = { 1, 2, 3 }, session[32] = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPgpKey) key = cv25519_key (secret, "C2F921142DB83DBF1DAAE051D05A3F8D7368D754");

  /* A point of small order (zero): the shared secret would be zero. */
  g_bytes_unref (key->mpi[0]);
  key->mpi[0] = g_bytes_new_take (g_malloc0 (32), 32);
  g_assert_null (sk_pgp_ecdh_session_key (key, SK_PGP_CIPHER_AES256, session, 32, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY);
  g_clear_error (&error);

  /* A key-wrapping cipher other than AES, a KDF hash other than SHA-2. */
  g_clear_pointer (&key, sk_pgp_key_free);
  key = cv25519_key (secret, "C2F921142DB83DBF1DAAE051D05A3F8D7368D754");
  key->kdf_cipher = 3;
  g_assert_null (sk_pgp_ecdh_session_key (key, SK_PGP_CIPHER_AES256, session, 32, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY);
  g_clear_error (&error);
  key->kdf_cipher = 7;
  key->kdf_hash = 2;
  g_assert_null (sk_pgp_ecdh_session_key (key, SK_PGP_CIPHER_AES256, session, 32, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY);
  g_clear_error (&error);

  /* Not a Curve25519 key at all. */
  key->kdf_hash = 8;
  key->cv25519 = FALSE;
  g_assert_null (sk_pgp_ecdh_session_key (key, SK_PGP_CIPHER_AES256, session, 32, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY);
}

/* ---- whole messages and signatures, against stock gpg ------------------------- */

typedef struct
{
  SkTestGpg *gpg;  /* the keys, with their secrets */
  char *signer;    /* Ed25519, signs with its primary */
  char *rsa;       /* RSA 3072, signs with its primary */
  char *with_sub;  /* Ed25519 certify-only, with a signing subkey */
  char *recipient; /* Ed25519 primary with a Curve25519 encryption subkey */
  char *p256;      /* Ed25519 primary with a NIST P-256 encryption subkey */
  char *tmp;
  char *home; /* the station's home: the publics, the signers' secrets */
  SkKeyring *keyring;
} Fixture;

static void
run_gpg (const char *home, const char *const *args, const char *out_path)
{
  g_free (sk_test_gpg_run_in (home, args, out_path));
}

static char *
add_encryption_subkey (SkTestGpg *gpg, const char *fpr, const char *algo)
{
  const char *args[] = { "--quick-add-key", fpr, algo, "encr", "never", NULL };
  run_gpg (sk_test_gpg_get_home (gpg), args, NULL);
  return g_strdup (fpr);
}

static void
import (Fixture *fx, GBytes *data, const char *secret_of)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) done = sk_keyring_import (fx->keyring, data, secret_of, &error);
  g_assert_no_error (error);
  g_assert_nonnull (done);
}

/* The keys are made once, for every test (RSA takes its time). */
static Fixture *shared;

static void
keys_ensure (void)
{
  if (shared != NULL)
    return;
  shared = g_new0 (Fixture, 1);
  Fixture *fx = shared;
  fx->gpg = sk_test_gpg_new ();
  fx->signer = sk_test_gpg_make_key (fx->gpg, "Signer <s@test>", "ed25519", "never", NULL);
  fx->rsa = sk_test_gpg_make_key (fx->gpg, "RSA <r@test>", "rsa3072", "never", NULL);
  fx->with_sub = sk_test_gpg_make_cert_key (fx->gpg, "Sub <sub@test>", "ed25519");
  g_free (sk_test_gpg_add_signing_subkey (fx->gpg, fx->with_sub, "ed25519"));
  fx->recipient = sk_test_gpg_make_key (fx->gpg, "Recipient <r@test>", "ed25519", "never", NULL);
  g_free (add_encryption_subkey (fx->gpg, fx->recipient, "cv25519"));
  fx->p256 = sk_test_gpg_make_key (fx->gpg, "P256 <p@test>", "ed25519", "never", NULL);
  g_free (add_encryption_subkey (fx->gpg, fx->p256, "nistp256"));
}

static void
setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  keys_ensure ();
  fx->gpg = shared->gpg;
  fx->signer = shared->signer;
  fx->rsa = shared->rsa;
  fx->with_sub = shared->with_sub;
  fx->recipient = shared->recipient;
  fx->p256 = shared->p256;
  fx->tmp = g_dir_make_tmp ("skw-XXXXXX", &error);
  g_assert_no_error (error);
  fx->home = g_build_filename (fx->tmp, "gnupg", NULL);
  g_assert_true (sk_keyring_init_home (fx->home, &error));
  fx->keyring = sk_keyring_new (fx->home, &error);
  g_assert_no_error (error);
  const char *publics[] = { fx->recipient, fx->p256, NULL };
  for (guint i = 0; publics[i] != NULL; i++)
    {
      g_autoptr (GBytes) pub = sk_test_gpg_export (fx->gpg, publics[i], FALSE);
      import (fx, pub, NULL);
    }
  const char *signers[] = { fx->signer, fx->rsa, fx->with_sub, NULL };
  for (guint i = 0; signers[i] != NULL; i++)
    {
      g_autoptr (GBytes) sec = sk_test_gpg_export (fx->gpg, signers[i], TRUE);
      import (fx, sec, signers[i]);
    }
}

static void
teardown (Fixture *fx, gconstpointer data)
{
  g_clear_object (&fx->keyring);
  sk_test_gpg_remove_home (fx->home);
  g_assert_cmpint (g_rmdir (fx->tmp), ==, 0);
  g_free (fx->home);
  g_free (fx->tmp);
}

static void
keys_free (void)
{
  if (shared == NULL)
    return;
  sk_test_gpg_free (shared->gpg);
  g_free (shared->signer);
  g_free (shared->rsa);
  g_free (shared->with_sub);
  g_free (shared->recipient);
  g_free (shared->p256);
  g_clear_pointer (&shared, g_free);
}

static gboolean
to_fd (const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  int fd = GPOINTER_TO_INT (user_data);
  g_assert_cmpint (write (fd, data, len), ==, (gssize)len);
  return TRUE;
}

/* PLAIN encrypted in-process to the recipient, into a file; its path. */
static char *
encrypt_file (Fixture *fx, const char *recipient, GBytes *plain, GError **error)
{
  g_autofree char *in_path = g_build_filename (fx->tmp, "plain", NULL);
  char *out_path = g_build_filename (fx->tmp, "msg.gpg", NULL);
  g_assert_true (g_file_set_contents (in_path, g_bytes_get_data (plain, NULL),
                                      (gssize)g_bytes_get_size (plain), NULL));
  int in = open (in_path, O_RDONLY | O_CLOEXEC);
  int out = open (out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  g_assert_cmpint (in, >=, 0);
  g_assert_cmpint (out, >=, 0);
  gboolean ok =
      sk_keyring_encrypt_to (fx->keyring, recipient, in, to_fd, GINT_TO_POINTER (out), NULL, error);
  close (in);
  close (out);
  g_unlink (in_path);
  if (!ok)
    {
      g_unlink (out_path);
      g_free (out_path);
      return NULL;
    }
  return out_path;
}

static gboolean
collect (const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  g_byte_array_append (user_data, data, (guint)len);
  return TRUE;
}

static void
test_gpg_decrypts (Fixture *fx, gconstpointer data)
{
  /* Sizes about the 1 MiB chunks: empty, tiny, a literal body of exactly one
   * chunk (6 octets of literal header), one octet more, several chunks. */
  const gsize sizes[] = { 0, 1, 191, 8383, (1 << 20) - 6, (1 << 20) - 5, 3 * (1 << 20) + 12345 };
  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      g_autoptr (GError) error = NULL;
      guint8 *buf = g_malloc (sizes[s] + 1);
      for (gsize i = 0; i < sizes[s]; i++)
        buf[i] = (guint8)(g_random_int () & 0xff);
      g_autoptr (GBytes) plain = g_bytes_new_take (buf, sizes[s]);
      g_autofree char *msg = encrypt_file (fx, fx->recipient, plain, &error);
      g_assert_no_error (error);

      /* Stock gpg, with the recipient's secret key. */
      g_autofree char *out = g_build_filename (fx->tmp, "out", NULL);
      const char *args[] = { "-d", msg, NULL };
      run_gpg (sk_test_gpg_get_home (fx->gpg), args, out);
      g_autofree char *got = NULL;
      gsize got_len = 0;
      g_assert_true (g_file_get_contents (out, &got, &got_len, NULL));
      g_assert_cmpmem (got, got_len, g_bytes_get_data (plain, NULL), g_bytes_get_size (plain));
      g_unlink (out);

      /* The station's own reader, in a home that holds that secret key. */
      if (s == G_N_ELEMENTS (sizes) - 1)
        {
          g_autoptr (GBytes) sec = sk_test_gpg_export (fx->gpg, fx->recipient, TRUE);
          import (fx, sec, fx->recipient);
          g_autoptr (GByteArray) back = g_byte_array_new ();
          int fd = open (msg, O_RDONLY | O_CLOEXEC);
          g_assert_true (sk_keyring_decrypt_to (fx->keyring, fd, collect, back, NULL, &error));
          g_assert_no_error (error);
          close (fd);
          g_assert_cmpmem (back->data, back->len, g_bytes_get_data (plain, NULL),
                           g_bytes_get_size (plain));
        }
      g_unlink (msg);
    }
}

static void
test_not_cv25519 (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) plain = g_bytes_new_static ("x", 1);
  g_autofree char *msg = encrypt_file (fx, fx->p256, plain, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_null (msg);
  g_clear_error (&error);

  /* A key that is not in the keyring at all is a refusal, not a fallback. */
  msg = encrypt_file (fx, "0123456789ABCDEF0123456789ABCDEF01234567", plain, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY);
  g_assert_null (msg);
}

/* A signature by FPR over DATA through the agent, checked by stock gpg and
 * by the station's rule. */
static void
sign_and_check (Fixture *fx, const char *fpr, guint hash_algo)
{
  static const char text[] = "the bytes of a package\n";
  g_autoptr (GBytes) data = g_bytes_new_static (text, sizeof text - 1);
  g_autoptr (SkDigest) digest = sk_digest_new (hash_algo);
  g_autoptr (GError) error = NULL;
  sk_digest_update (digest, text, sizeof text - 1);
  g_autoptr (GBytes) sig = sk_keyring_sign_digest (fx->keyring, fpr, digest, hash_algo, &error);
  g_assert_no_error (error);
  g_assert_nonnull (sig);

  g_autofree char *data_path = g_build_filename (fx->tmp, "data", NULL);
  g_autofree char *sig_path = g_build_filename (fx->tmp, "data.sig", NULL);
  g_assert_true (g_file_set_contents (data_path, text, sizeof text - 1, NULL));
  g_assert_true (g_file_set_contents (sig_path, g_bytes_get_data (sig, NULL),
                                      (gssize)g_bytes_get_size (sig), NULL));
  const char *args[] = { "--verify", sig_path, data_path, NULL };
  run_gpg (sk_test_gpg_get_home (fx->gpg), args, NULL);

  const char *allowed[] = { fpr, NULL };
  g_autoptr (SkSignature) ok =
      sk_keyring_verify_detached_bytes (fx->keyring, sig, data, allowed, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ok->primary_fpr, ==, fpr);

  /* Other bytes under the same signature: refused. */
  g_autoptr (GBytes) other = g_bytes_new_static (text, sizeof text - 2);
  g_autoptr (SkSignature) bad =
      sk_keyring_verify_detached_bytes (fx->keyring, sig, other, allowed, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_SIG_BAD);
  g_assert_null (bad);
  g_unlink (data_path);
  g_unlink (sig_path);
}

static void
test_sign_digest (Fixture *fx, gconstpointer data)
{
  sign_and_check (fx, fx->signer, 8);
  sign_and_check (fx, fx->signer, 10);
  sign_and_check (fx, fx->rsa, 8);
}

static void
test_sign_digest_refused (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkDigest) digest = sk_digest_new (8);
  sk_digest_update (digest, "x", 1);

  /* GnuPG would sign with the subkey: left to GnuPG. */
  g_autoptr (GBytes) sig = sk_keyring_sign_digest (fx->keyring, fx->with_sub, digest, 8, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_null (sig);
  g_clear_error (&error);
  /* SHA-1 is never made. */
  sig = sk_keyring_sign_digest (fx->keyring, fx->signer, digest, 2, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_null (sig);
  g_clear_error (&error);
  /* A public key only. */
  sig = sk_keyring_sign_digest (fx->keyring, fx->recipient, digest, 8, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY);
  g_assert_null (sig);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pgp-write/x25519", test_x25519);
  g_test_add_func ("/pgp-write/aes-wrap", test_aes_wrap);
  g_test_add_func ("/pgp-write/ecdh-session-key", test_ecdh_session_key);
  g_test_add_func ("/pgp-write/ecdh-refusals", test_ecdh_refusals);
  g_test_add ("/pgp-write/gpg-decrypts", Fixture, NULL, setup, test_gpg_decrypts, teardown);
  g_test_add ("/pgp-write/not-cv25519", Fixture, NULL, setup, test_not_cv25519, teardown);
  g_test_add ("/pgp-write/sign-digest", Fixture, NULL, setup, test_sign_digest, teardown);
  g_test_add ("/pgp-write/sign-digest-refused", Fixture, NULL, setup, test_sign_digest_refused,
              teardown);
  int status = g_test_run ();
  keys_free ();
  return status;
}
