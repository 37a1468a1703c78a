/* sk-hash.c — the one door to libgcrypt */
#define G_LOG_DOMAIN "sekisho-hash"

#include "config.h"

#include <gcrypt.h>

#include "sk-hash.h"

struct _SkSha256
{
  gcry_md_hd_t md;
  char hex[65];
};

static void
init_gcrypt (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      /* No secure memory: hashing needs none, and the one secret that
       * passes through here, a package's session key, lives only in the
       * cipher context, which gcry_cipher_close() wipes. */
      if (!gcry_control (GCRYCTL_INITIALIZATION_FINISHED_P))
        {
          gcry_check_version (NULL);
          gcry_control (GCRYCTL_DISABLE_SECMEM, 0);
          gcry_control (GCRYCTL_INITIALIZATION_FINISHED, 0);
        }
      g_once_init_leave (&once, 1);
    }
}

SkSha256 *
sk_sha256_new (void)
{
  init_gcrypt ();
  SkSha256 *sha = g_new0 (SkSha256, 1);
  if (gcry_md_open (&sha->md, GCRY_MD_SHA256, 0) != 0)
    {
      g_free (sha);
      return NULL;
    }
  return sha;
}

void
sk_sha256_update (SkSha256 *sha, const void *data, gsize len)
{
  g_return_if_fail (sha != NULL && sha->hex[0] == '\0');
  gcry_md_write (sha->md, data, len);
}

const char *
sk_sha256_hex (SkSha256 *sha)
{
  g_return_val_if_fail (sha != NULL, NULL);

  if (sha->hex[0] == '\0')
    {
      const unsigned char *digest = gcry_md_read (sha->md, GCRY_MD_SHA256);
      for (int i = 0; i < 32; i++)
        g_snprintf (sha->hex + 2 * i, 3, "%02x", digest[i]);
    }
  return sha->hex;
}

void
sk_sha256_free (SkSha256 *sha)
{
  if (sha == NULL)
    return;
  gcry_md_close (sha->md);
  g_free (sha);
}

void
sk_sha256_buffer (const void *data, gsize len, char out[65])
{
  static const char digits[] = "0123456789abcdef";
  unsigned char digest[32];

  init_gcrypt ();
  gcry_md_hash_buffer (GCRY_MD_SHA256, digest, data, len);
  for (int i = 0; i < 32; i++)
    {
      out[2 * i] = digits[digest[i] >> 4];
      out[2 * i + 1] = digits[digest[i] & 0xf];
    }
  out[64] = '\0';
}

/* ---- OpenPGP primitives ------------------------------------------------ */

struct _SkDigest
{
  gcry_md_hd_t md;
  int algo;
  gboolean done;
};

static int
md_algo (guint pgp_algo)
{
  switch (pgp_algo)
    {
    case 2:
      return GCRY_MD_SHA1;
    case 8:
      return GCRY_MD_SHA256;
    case 9:
      return GCRY_MD_SHA384;
    case 10:
      return GCRY_MD_SHA512;
    case 11:
      return GCRY_MD_SHA224;
    default:
      return 0;
    }
}

SkDigest *
sk_digest_new (guint pgp_algo)
{
  int algo = md_algo (pgp_algo);
  if (algo == 0)
    return NULL;
  init_gcrypt ();
  SkDigest *digest = g_new0 (SkDigest, 1);
  digest->algo = algo;
  if (gcry_md_open (&digest->md, algo, 0) != 0)
    {
      g_free (digest);
      return NULL;
    }
  return digest;
}

void
sk_digest_update (SkDigest *digest, const void *data, gsize len)
{
  g_return_if_fail (digest != NULL && !digest->done);
  gcry_md_write (digest->md, data, len);
}

SkDigest *
sk_digest_copy (SkDigest *digest)
{
  g_return_val_if_fail (digest != NULL && !digest->done, NULL);
  SkDigest *copy = g_new0 (SkDigest, 1);
  copy->algo = digest->algo;
  if (gcry_md_copy (&copy->md, digest->md) != 0)
    {
      g_free (copy);
      return NULL;
    }
  return copy;
}

const guint8 *
sk_digest_finish (SkDigest *digest, gsize *out_len)
{
  g_return_val_if_fail (digest != NULL, NULL);
  digest->done = TRUE;
  *out_len = gcry_md_get_algo_dlen (digest->algo);
  return gcry_md_read (digest->md, digest->algo);
}

void
sk_digest_free (SkDigest *digest)
{
  if (digest == NULL)
    return;
  gcry_md_close (digest->md);
  g_free (digest);
}

struct _SkCfb
{
  gcry_cipher_hd_t hd;
  gsize block;
};

static int
cipher_algo (guint pgp_algo)
{
  switch (pgp_algo)
    {
    case 2:
      return GCRY_CIPHER_3DES;
    case 3:
      return GCRY_CIPHER_CAST5;
    case 4:
      return GCRY_CIPHER_BLOWFISH;
    case 7:
      return GCRY_CIPHER_AES128;
    case 8:
      return GCRY_CIPHER_AES192;
    case 9:
      return GCRY_CIPHER_AES256;
    case 10:
      return GCRY_CIPHER_TWOFISH;
    case 11:
      return GCRY_CIPHER_CAMELLIA128;
    case 12:
      return GCRY_CIPHER_CAMELLIA192;
    case 13:
      return GCRY_CIPHER_CAMELLIA256;
    default:
      return 0;
    }
}

SkCfb *
sk_cfb_new (guint pgp_algo, const guint8 *key, gsize key_len)
{
  int algo = cipher_algo (pgp_algo);
  if (algo == 0 || key_len != gcry_cipher_get_algo_keylen (algo))
    return NULL;
  init_gcrypt ();
  g_autoptr (SkCfb) cfb = g_new0 (SkCfb, 1);
  cfb->block = gcry_cipher_get_algo_blklen (algo);
  /* The zero IV is OpenPGP's: the random prefix plays its part. */
  guint8 iv[16] = { 0 };
  if (gcry_cipher_open (&cfb->hd, algo, GCRY_CIPHER_MODE_CFB, 0) != 0)
    return NULL;
  if (gcry_cipher_setkey (cfb->hd, key, key_len) != 0 ||
      gcry_cipher_setiv (cfb->hd, iv, cfb->block) != 0)
    return NULL;
  return g_steal_pointer (&cfb);
}

gsize
sk_cfb_get_block_size (SkCfb *cfb)
{
  return cfb->block;
}

gboolean
sk_cfb_decrypt (SkCfb *cfb, guint8 *data, gsize len)
{
  return gcry_cipher_decrypt (cfb->hd, data, len, NULL, 0) == 0;
}

gboolean
sk_cfb_encrypt (SkCfb *cfb, guint8 *data, gsize len)
{
  return gcry_cipher_encrypt (cfb->hd, data, len, NULL, 0) == 0;
}

gboolean
sk_cfb_encrypt_to (SkCfb *cfb, guint8 *out, const guint8 *in, gsize len)
{
  return gcry_cipher_encrypt (cfb->hd, out, len, in, len) == 0;
}

void
sk_cfb_free (SkCfb *cfb)
{
  if (cfb == NULL)
    return;
  /* gcry_cipher_close wipes the key schedule. */
  if (cfb->hd != NULL)
    gcry_cipher_close (cfb->hd);
  g_free (cfb);
}

struct _SkGcm
{
  gcry_cipher_hd_t hd;
};

SkGcm *
sk_gcm_new (const guint8 *key, gsize key_len)
{
  if (key_len != 32)
    return NULL;
  init_gcrypt ();
  g_autoptr (SkGcm) gcm = g_new0 (SkGcm, 1);
  if (gcry_cipher_open (&gcm->hd, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_GCM, 0) != 0)
    {
      gcm->hd = NULL;
      return NULL;
    }
  if (gcry_cipher_setkey (gcm->hd, key, key_len) != 0)
    return NULL;
  return g_steal_pointer (&gcm);
}

/* Begin a message: its nonce, then its associated data. */
static gboolean
gcm_begin (SkGcm *gcm, const guint8 nonce[SK_GCM_NONCE], const guint8 *aad, gsize aad_len)
{
  return gcry_cipher_setiv (gcm->hd, nonce, SK_GCM_NONCE) == 0 &&
         gcry_cipher_authenticate (gcm->hd, aad, aad_len) == 0;
}

gboolean
sk_gcm_encrypt (SkGcm *gcm,
                const guint8 nonce[SK_GCM_NONCE],
                const guint8 *aad,
                gsize aad_len,
                const guint8 *in,
                gsize len,
                guint8 *out,
                guint8 tag[SK_GCM_TAG])
{
  return gcm_begin (gcm, nonce, aad, aad_len) &&
         (len == 0 || gcry_cipher_encrypt (gcm->hd, out, len, in, len) == 0) &&
         gcry_cipher_gettag (gcm->hd, tag, SK_GCM_TAG) == 0;
}

gboolean
sk_gcm_decrypt (SkGcm *gcm,
                const guint8 nonce[SK_GCM_NONCE],
                const guint8 *aad,
                gsize aad_len,
                const guint8 *in,
                gsize len,
                guint8 *out,
                const guint8 tag[SK_GCM_TAG])
{
  return gcm_begin (gcm, nonce, aad, aad_len) &&
         (len == 0 || gcry_cipher_decrypt (gcm->hd, out, len, in, len) == 0) &&
         gcry_cipher_checktag (gcm->hd, tag, SK_GCM_TAG) == 0;
}

void
sk_gcm_free (SkGcm *gcm)
{
  if (gcm == NULL)
    return;
  /* gcry_cipher_close wipes the key schedule. */
  if (gcm->hd != NULL)
    gcry_cipher_close (gcm->hd);
  g_free (gcm);
}

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gcry_sexp_t, gcry_sexp_release, NULL)

/* Does SIG verify DATA under KEY?  Any failure to build the expressions is
 * a "no". */
static gboolean
pk_verify (gcry_sexp_t sig, gcry_sexp_t data, gcry_sexp_t key)
{
  return sig != NULL && data != NULL && key != NULL && gcry_pk_verify (sig, data, key) == 0;
}

gboolean
sk_rsa_verify (const guint8 *n,
               gsize n_len,
               const guint8 *e,
               gsize e_len,
               guint pgp_hash,
               const guint8 *digest,
               gsize digest_len,
               const guint8 *s,
               gsize s_len)
{
  int algo = md_algo (pgp_hash);
  if (algo == 0 || digest_len != gcry_md_get_algo_dlen (algo))
    return FALSE;
  init_gcrypt ();
  g_auto (gcry_sexp_t) key = NULL;
  g_auto (gcry_sexp_t) data = NULL;
  g_auto (gcry_sexp_t) sig = NULL;
  if (gcry_sexp_build (&key, NULL, "(public-key(rsa(n%b)(e%b)))", (int)n_len, n, (int)e_len, e) !=
          0 ||
      gcry_sexp_build (&data, NULL, "(data(flags pkcs1)(hash %s %b))", gcry_md_algo_name (algo),
                       (int)digest_len, digest) != 0 ||
      gcry_sexp_build (&sig, NULL, "(sig-val(rsa(s%b)))", (int)s_len, s) != 0)
    return FALSE;
  return pk_verify (sig, data, key);
}

gboolean
sk_ed25519_verify (
    const guint8 *q, const guint8 *digest, gsize digest_len, const guint8 *r, const guint8 *s)
{
  init_gcrypt ();
  g_auto (gcry_sexp_t) key = NULL;
  g_auto (gcry_sexp_t) data = NULL;
  g_auto (gcry_sexp_t) sig = NULL;
  if (gcry_sexp_build (&key, NULL, "(public-key(ecc(curve Ed25519)(flags eddsa)(q%b)))", 32, q) !=
          0 ||
      gcry_sexp_build (&data, NULL, "(data(flags eddsa)(hash-algo sha512)(value %b))",
                       (int)digest_len, digest) != 0 ||
      gcry_sexp_build (&sig, NULL, "(sig-val(eddsa(r%b)(s%b)))", 32, r, 32, s) != 0)
    return FALSE;
  return pk_verify (sig, data, key);
}

/* The keygrip of KEY in upper-case hex. */
static gboolean
keygrip_hex (gcry_sexp_t key, char out[41])
{
  guint8 grip[20];
  if (key == NULL || gcry_pk_get_keygrip (key, grip) == NULL)
    return FALSE;
  static const char digits[] = "0123456789ABCDEF";
  for (gsize i = 0; i < sizeof grip; i++)
    {
      out[2 * i] = digits[grip[i] >> 4];
      out[2 * i + 1] = digits[grip[i] & 15];
    }
  out[40] = '\0';
  return TRUE;
}

gboolean
sk_keygrip_rsa (const guint8 *n, gsize n_len, const guint8 *e, gsize e_len, char out[41])
{
  init_gcrypt ();
  /* As gpg builds it (g10/keyid.c): the numbers as positive MPIs, which
   * the grip hashes with the leading zero a set high bit takes. */
  gcry_mpi_t mn = NULL, me = NULL;
  g_auto (gcry_sexp_t) key = NULL;
  gboolean ok = gcry_mpi_scan (&mn, GCRYMPI_FMT_USG, n, n_len, NULL) == 0 &&
                gcry_mpi_scan (&me, GCRYMPI_FMT_USG, e, e_len, NULL) == 0 &&
                gcry_sexp_build (&key, NULL, "(public-key(rsa(n%m)(e%m)))", mn, me) == 0;
  gcry_mpi_release (mn);
  gcry_mpi_release (me);
  return ok && keygrip_hex (key, out);
}

gboolean
sk_keygrip_cv25519 (const guint8 q[32], char out[41])
{
  init_gcrypt ();
  guint8 point[33] = { 0x40 };
  memcpy (point + 1, q, 32);
  g_auto (gcry_sexp_t) key = NULL;
  if (gcry_sexp_build (&key, NULL, "(public-key(ecc(curve Curve25519)(flags djb-tweak)(q%b)))",
                       (int)sizeof point, point) != 0)
    return FALSE;
  return keygrip_hex (key, out);
}

void
sk_random_bytes (guint8 *out, gsize len)
{
  init_gcrypt ();
  gcry_randomize (out, len, GCRY_STRONG_RANDOM);
}

gboolean
sk_x25519 (guint8 out[32], const guint8 scalar[32], const guint8 point[32])
{
  init_gcrypt ();
  /* libgcrypt takes the scalar as RFC 7748 does (clamped, little-endian)
   * and gives the u-coordinate in the same encoding. */
  return gcry_ecc_mul_point (GCRY_ECC_CURVE25519, out, scalar, point) == 0;
}

gboolean
sk_aes_wrap (const guint8 *kek, gsize kek_len, const guint8 *in, gsize len, guint8 *out)
{
  int algo = kek_len == 16   ? GCRY_CIPHER_AES128
             : kek_len == 24 ? GCRY_CIPHER_AES192
             : kek_len == 32 ? GCRY_CIPHER_AES256
                             : 0;
  gcry_cipher_hd_t hd = NULL;
  if (algo == 0 || len < 16 || len % 8 != 0)
    return FALSE;
  init_gcrypt ();
  if (gcry_cipher_open (&hd, algo, GCRY_CIPHER_MODE_AESWRAP, 0) != 0)
    return FALSE;
  gboolean ok = gcry_cipher_setkey (hd, kek, kek_len) == 0 &&
                gcry_cipher_encrypt (hd, out, len + 8, in, len) == 0;
  gcry_cipher_close (hd);
  return ok;
}

gboolean
sk_aes_unwrap (const guint8 *kek, gsize kek_len, const guint8 *in, gsize len, guint8 *out)
{
  int algo = kek_len == 16   ? GCRY_CIPHER_AES128
             : kek_len == 24 ? GCRY_CIPHER_AES192
             : kek_len == 32 ? GCRY_CIPHER_AES256
                             : 0;
  gcry_cipher_hd_t hd = NULL;
  if (algo == 0 || len < 24 || len % 8 != 0)
    return FALSE;
  init_gcrypt ();
  if (gcry_cipher_open (&hd, algo, GCRY_CIPHER_MODE_AESWRAP, 0) != 0)
    return FALSE;
  gboolean ok = gcry_cipher_setkey (hd, kek, kek_len) == 0 &&
                gcry_cipher_decrypt (hd, out, len - 8, in, len) == 0;
  gcry_cipher_close (hd);
  return ok;
}

gboolean
sk_sig_value_parse (const guint8 *sexp, gsize len, guint *out_n, GBytes *out_mpi[2])
{
  static const char *const names[][2] = { { "r", "s" }, { "s", NULL } };
  g_auto (gcry_sexp_t) top = NULL;
  init_gcrypt ();
  if (gcry_sexp_new (&top, sexp, len, 1) != 0)
    return FALSE;
  g_auto (gcry_sexp_t) eddsa = gcry_sexp_find_token (top, "eddsa", 0);
  g_auto (gcry_sexp_t) rsa = eddsa == NULL ? gcry_sexp_find_token (top, "rsa", 0) : NULL;
  gcry_sexp_t algo = eddsa != NULL ? eddsa : rsa;
  if (algo == NULL)
    return FALSE;
  const char *const *want = names[eddsa != NULL ? 0 : 1];
  guint n = eddsa != NULL ? 2 : 1;
  for (guint i = 0; i < n; i++)
    {
      g_auto (gcry_sexp_t) item = gcry_sexp_find_token (algo, want[i], 0);
      size_t vlen = 0;
      const char *v = item != NULL ? gcry_sexp_nth_data (item, 1, &vlen) : NULL;
      if (v == NULL || vlen == 0 || vlen > 1024)
        {
          for (guint j = 0; j < i; j++)
            g_clear_pointer (&out_mpi[j], g_bytes_unref);
          return FALSE;
        }
      out_mpi[i] = g_bytes_new (v, vlen);
    }
  *out_n = n;
  return TRUE;
}
