/* sk-hash.h — the one door to libgcrypt: digests, a cipher, signatures
 *
 * Packages and stored items are hashed as they stream by, up to 500 MB at a
 * time.  libgcrypt (already on every station as GnuPG's own library) uses
 * the CPU's SHA extensions and runs several times faster than GLib's
 * portable GChecksum; so it does on the journal's many small rows.
 *
 * The OpenPGP code that reads packages in-process (sk-pgp-packet.c,
 * sk-pgp-decrypt.c) takes its primitives from here, named by their OpenPGP
 * numbers (RFC 4880 §9): the digest of a signature, the CFB decryption of
 * an encrypted-data packet, and the check of an RSA or Ed25519 signature
 * over a digest, and the keygrips gpg-agent knows keys by.  The store
 * seals its items with AES-256-GCM from here
 * (sk-crypto.c says why).  Key material never comes from here: keys are GnuPG's.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _SkSha256 SkSha256;

/* NULL only when libgcrypt is unusable (a broken installation). */
SkSha256 *
sk_sha256_new (void);
void
sk_sha256_update (SkSha256 *sha, const void *data, gsize len);
/* The digest in lower-case hex; the object can take no more data after. */
const char *
sk_sha256_hex (SkSha256 *sha);
void
sk_sha256_free (SkSha256 *sha);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkSha256, sk_sha256_free)

/* The SHA-256 of one small buffer, in lower-case hex: the journal hashes a
 * million rows this way, with the CPU's SHA extensions. */
void
sk_sha256_buffer (const void *data, gsize len, char out[65]);

/* A digest by its OpenPGP number: 2 SHA-1, 8 SHA-256, 9 SHA-384, 10 SHA-512,
 * 11 SHA-224.  NULL for any other (the caller leaves those to GnuPG). */
typedef struct _SkDigest SkDigest;

SkDigest *
sk_digest_new (guint pgp_algo);
void
sk_digest_update (SkDigest *digest, const void *data, gsize len);
/* A second digest that has seen what DIGEST has seen so far (NULL when
 * libgcrypt fails). */
SkDigest *
sk_digest_copy (SkDigest *digest);
/* The digest, *OUT_LEN bytes, owned by DIGEST, which takes no more data. */
const guint8 *
sk_digest_finish (SkDigest *digest, gsize *out_len);
void
sk_digest_free (SkDigest *digest);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkDigest, sk_digest_free)

/* OpenPGP CFB decryption with a zero IV and no resynchronisation (the
 * integrity-protected packet, RFC 4880 §5.13), by the cipher's OpenPGP
 * number: 7, 8, 9 AES-128/192/256, 10 Twofish, 11–13 Camellia, 2 3DES,
 * 3 CAST5, 4 Blowfish.  NULL for another algorithm or a key of the wrong
 * length.  The key is wiped with the object. */
typedef struct _SkCfb SkCfb;

SkCfb *
sk_cfb_new (guint pgp_algo, const guint8 *key, gsize key_len);
gsize
sk_cfb_get_block_size (SkCfb *cfb);
/* In place; FALSE only when libgcrypt fails. */
gboolean
sk_cfb_decrypt (SkCfb *cfb, guint8 *data, gsize len);
/* The same, the other way (sk-pgp-write.c). */
gboolean
sk_cfb_encrypt (SkCfb *cfb, guint8 *data, gsize len);
/* The same from IN to OUT (LEN bytes each, not overlapping): no copy
 * first. */
gboolean
sk_cfb_encrypt_to (SkCfb *cfb, guint8 *out, const guint8 *in, gsize len);
void
sk_cfb_free (SkCfb *cfb);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkCfb, sk_cfb_free)

/* AES-256-GCM, for the store's sealed items (sk-crypto.c): one message per
 * call, a 12-byte nonce, a 16-byte tag; IN and OUT do not overlap.
 * decrypt() is FALSE when the tag does not match (OUT then holds nothing
 * to use).  The key is wiped with the object. */
#define SK_GCM_NONCE 12
#define SK_GCM_TAG 16
typedef struct _SkGcm SkGcm;

SkGcm *
sk_gcm_new (const guint8 *key, gsize key_len);
gboolean
sk_gcm_encrypt (SkGcm *gcm,
                const guint8 nonce[SK_GCM_NONCE],
                const guint8 *aad,
                gsize aad_len,
                const guint8 *in,
                gsize len,
                guint8 *out,
                guint8 tag[SK_GCM_TAG]);
gboolean
sk_gcm_decrypt (SkGcm *gcm,
                const guint8 nonce[SK_GCM_NONCE],
                const guint8 *aad,
                gsize aad_len,
                const guint8 *in,
                gsize len,
                guint8 *out,
                const guint8 tag[SK_GCM_TAG]);
void
sk_gcm_free (SkGcm *gcm);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkGcm, sk_gcm_free)

/* Does the RSA signature S (big-endian, as its MPI) check out, PKCS #1 v1.5,
 * over DIGEST made with OpenPGP hash PGP_HASH, under the key N, E? */
gboolean
sk_rsa_verify (const guint8 *n,
               gsize n_len,
               const guint8 *e,
               gsize e_len,
               guint pgp_hash,
               const guint8 *digest,
               gsize digest_len,
               const guint8 *s,
               gsize s_len);
/* Does the Ed25519 signature R, S (32 bytes each, in their encoding) check
 * out over DIGEST (OpenPGP signs the digest) under the public point Q
 * (32 bytes)? */
gboolean
sk_ed25519_verify (
    const guint8 *q, const guint8 *digest, gsize digest_len, const guint8 *r, const guint8 *s);

/* The keygrip by which gpg-agent knows a key (40 upper-case hex digits),
 * as GnuPG computes it from the public key: RSA from N, E (big-endian);
 * ECDH on Curve25519 from the point Q (32 octets).  FALSE when libgcrypt
 * cannot. */
gboolean
sk_keygrip_rsa (const guint8 *n, gsize n_len, const guint8 *e, gsize e_len, char out[41]);
gboolean
sk_keygrip_cv25519 (const guint8 q[32], char out[41]);

/* What writing a message in-process takes (sk-pgp-write.c): session keys
 * and ephemeral secrets from libgcrypt's strong generator; X25519 (RFC
 * 7748: OUT = SCALAR · POINT, every value 32 bytes little-endian, the
 * scalar clamped); AES key wrap (RFC 3394) with a 16-, 24- or 32-byte KEK,
 * OUT holding LEN + 8 bytes (unwrap: LEN - 8; FALSE when the check fails). */
void
sk_random_bytes (guint8 *out, gsize len);
gboolean
sk_x25519 (guint8 out[32], const guint8 scalar[32], const guint8 point[32]);
gboolean
sk_aes_wrap (const guint8 *kek, gsize kek_len, const guint8 *in, gsize len, guint8 *out);
gboolean
sk_aes_unwrap (const guint8 *kek, gsize kek_len, const guint8 *in, gsize len, guint8 *out);

/* The values of a signature as gpg-agent answers PKSIGN, a canonical
 * S-expression "(7:sig-val(5:eddsa(1:r..)(1:s..)))" or "(..(3:rsa(1:s..)))":
 * *OUT_N values (EdDSA: r, s; RSA: s), big-endian as they are. */
gboolean
sk_sig_value_parse (const guint8 *sexp, gsize len, guint *out_n, GBytes *out_mpi[2]);

G_END_DECLS
