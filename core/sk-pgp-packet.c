/* sk-pgp-packet.c — signature and key packets, parsed in-process */
#define G_LOG_DOMAIN "sekisho-pgp"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "sk-error.h"
#include "sk-pgp-packet.h"

#define PK_RSA 1
#define PK_RSA_S 3
#define PK_ECDH 18
#define PK_EDDSA 22

gboolean
sk_pgp_read_header (const guint8 *data, gsize len, gsize *offset, guint *out_tag, gsize *out_body)
{
  gsize off = *offset;
  guint8 b;
  gsize body;

  if (off >= len || (data[off] & 0x80) == 0)
    return FALSE;
  b = data[off++];

  if (b & 0x40)
    {
      /* New format: one-, two- or five-octet lengths; partial lengths are
       * only for data packets, never for a signature or a key. */
      *out_tag = b & 0x3f;
      if (off >= len)
        return FALSE;
      if (data[off] < 192)
        {
          body = data[off];
          off += 1;
        }
      else if (data[off] < 224)
        {
          if (len - off < 2)
            return FALSE;
          body = ((gsize)(data[off] - 192) << 8) + data[off + 1] + 192;
          off += 2;
        }
      else if (data[off] == 255)
        {
          if (len - off < 5)
            return FALSE;
          body = ((gsize)data[off + 1] << 24) | ((gsize)data[off + 2] << 16) |
                 ((gsize)data[off + 3] << 8) | data[off + 4];
          off += 5;
        }
      else
        return FALSE;
    }
  else
    {
      /* Old format: the length type is in the low two bits; 3
       * (indeterminate) is refused. */
      gsize n = 0;

      *out_tag = (b >> 2) & 0x0f;
      switch (b & 0x03)
        {
        case 0:
          n = 1;
          break;
        case 1:
          n = 2;
          break;
        case 2:
          n = 4;
          break;
        default:
          return FALSE;
        }
      if (len - off < n)
        return FALSE;
      body = 0;
      for (gsize i = 0; i < n; i++)
        body = (body << 8) | data[off + i];
      off += n;
    }

  if (body > len - off)
    return FALSE;
  *offset = off;
  *out_body = body;
  return TRUE;
}

/* A cursor over a packet body: every read is checked against its end. */
typedef struct
{
  const guint8 *data;
  gsize len;
  gsize off;
} Cursor;

static gboolean
take (Cursor *c, gsize n, const guint8 **out)
{
  if (c->len - c->off < n)
    return FALSE;
  *out = c->data + c->off;
  c->off += n;
  return TRUE;
}

static gboolean
take_u8 (Cursor *c, guint *out)
{
  const guint8 *p;
  if (!take (c, 1, &p))
    return FALSE;
  *out = p[0];
  return TRUE;
}

static gboolean
take_u16 (Cursor *c, gsize *out)
{
  const guint8 *p;
  if (!take (c, 2, &p))
    return FALSE;
  *out = (gsize)p[0] << 8 | p[1];
  return TRUE;
}

static guint32
be32 (const guint8 *p)
{
  return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}

/* An MPI: a bit count, then its octets, the first one not zero. */
static GBytes *
take_mpi (Cursor *c)
{
  gsize bits;
  const guint8 *p;
  if (!take_u16 (c, &bits) || bits == 0 || !take (c, (bits + 7) / 8, &p))
    return NULL;
  return g_bytes_new (p, (bits + 7) / 8);
}

static void
hex_upper (const guint8 *p, gsize n, char *out)
{
  static const char digits[] = "0123456789ABCDEF";
  for (gsize i = 0; i < n; i++)
    {
      out[2 * i] = digits[p[i] >> 4];
      out[2 * i + 1] = digits[p[i] & 15];
    }
  out[2 * n] = '\0';
}

static gboolean
sig_bad (GError **error, const char *why)
{
  g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD, _ ("the signature is damaged (%s)"), _ (why));
  return FALSE;
}

/* The subpackets of one area.  HASHED: only there do creation and
 * expiry count; an issuer may be named in either (it only says where to
 * look: the wrong key fails the check). */
static gboolean
read_subpackets (SkPgpSig *sig, const guint8 *data, gsize len, gboolean hashed, GError **error)
{
  Cursor c = { data, len, 0 };
  gboolean seen_created = FALSE, seen_expires = FALSE, seen_fpr = FALSE;

  while (c.off < c.len)
    {
      guint first, type;
      gsize sublen;
      const guint8 *p;

      if (!take_u8 (&c, &first))
        return sig_bad (error, N_ ("a subpacket is cut short"));
      if (first < 192)
        sublen = first;
      else if (first < 255)
        {
          guint second;
          if (!take_u8 (&c, &second))
            return sig_bad (error, N_ ("a subpacket is cut short"));
          sublen = ((gsize)(first - 192) << 8) + second + 192;
        }
      else
        {
          if (!take (&c, 4, &p))
            return sig_bad (error, N_ ("a subpacket is cut short"));
          sublen = be32 (p);
        }
      if (sublen == 0 || !take (&c, sublen, &p))
        return sig_bad (error, N_ ("a subpacket is cut short"));
      type = p[0] & 0x7f;
      gboolean critical = (p[0] & 0x80) != 0;
      p++;
      sublen--;
      switch (type)
        {
        case 2: /* creation time */
          if (!hashed)
            break;
          if (sublen != 4)
            return sig_bad (error, N_ ("a creation time of the wrong size"));
          sig->duplicate |= seen_created;
          seen_created = TRUE;
          sig->created = be32 (p);
          continue;
        case 3: /* expiry, seconds after creation */
          if (!hashed)
            break;
          if (sublen != 4)
            return sig_bad (error, N_ ("an expiry of the wrong size"));
          sig->duplicate |= seen_expires;
          seen_expires = TRUE;
          sig->expires = be32 (p);
          continue;
        case 16: /* issuer key id */
          if (sublen == 8 && sig->issuer_keyid[0] == '\0')
            hex_upper (p, 8, sig->issuer_keyid);
          if (!hashed || !critical)
            continue;
          break;
        case 33: /* issuer fingerprint: version 4, 20 octets */
          if (sublen == 21 && p[0] == 4 && (hashed || sig->issuer_fpr[0] == '\0'))
            {
              sig->duplicate |= hashed && seen_fpr;
              seen_fpr |= hashed;
              hex_upper (p + 1, 20, sig->issuer_fpr);
            }
          if (!hashed || !critical)
            continue;
          break;
        default:
          break;
        }
      /* Anything else is ignored, unless it is critical: then the
       * signature is refused (GnuPG refuses the critical subpackets it
       * does not know; this is stricter, and knows only the four above). */
      if (critical && hashed && type != 16 && type != 33)
        sig->unknown_critical = TRUE;
    }
  return TRUE;
}

SkPgpSig *
sk_pgp_sig_parse (const guint8 *body, gsize len, GError **error)
{
  Cursor c = { body, len, 0 };
  g_autoptr (SkPgpSig) sig = g_new0 (SkPgpSig, 1);
  guint version;
  gsize hashed_len, unhashed_len;
  const guint8 *hashed, *unhashed, *left16;

  sig->created = -1;
  if (!take_u8 (&c, &version) || version != 4)
    {
      sig_bad (error, N_ ("not a version 4 signature"));
      return NULL;
    }
  if (!take_u8 (&c, &sig->type) || !take_u8 (&c, &sig->pk_algo) || !take_u8 (&c, &sig->hash_algo) ||
      !take_u16 (&c, &hashed_len) || !take (&c, hashed_len, &hashed) ||
      !take_u16 (&c, &unhashed_len) || !take (&c, unhashed_len, &unhashed) ||
      !take (&c, 2, &left16))
    {
      sig_bad (error, N_ ("it is cut short"));
      return NULL;
    }
  sig->hashed = g_bytes_new (body, 6 + hashed_len);
  memcpy (sig->left16, left16, 2);
  if (!read_subpackets (sig, hashed, hashed_len, TRUE, error) ||
      !read_subpackets (sig, unhashed, unhashed_len, FALSE, error))
    return NULL;

  guint want = sig->pk_algo == PK_EDDSA ? 2 : 1;
  for (guint i = 0; i < want && c.off < c.len; i++)
    {
      sig->mpi[i] = take_mpi (&c);
      if (sig->mpi[i] == NULL)
        {
          sig_bad (error, N_ ("a number is cut short"));
          return NULL;
        }
      sig->n_mpi++;
    }
  if (c.off != c.len)
    sig->n_mpi = 0; /* more than the algorithm has: not checked in-process */
  return g_steal_pointer (&sig);
}

void
sk_pgp_sig_free (SkPgpSig *sig)
{
  if (sig == NULL)
    return;
  g_clear_pointer (&sig->hashed, g_bytes_unref);
  for (guint i = 0; i < G_N_ELEMENTS (sig->mpi); i++)
    g_clear_pointer (&sig->mpi[i], g_bytes_unref);
  g_free (sig);
}

/* The curve of EdDSA keys the station accepts: Ed25519, by its OID
 * 1.3.6.1.4.1.11591.15.1. */
static const guint8 ed25519_oid[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01 };

/* The curve of ECDH keys the station encrypts to in-process: Curve25519,
 * by its OID 1.3.6.1.4.1.3029.1.5.1. */
static const guint8 cv25519_oid[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01 };

/* An ECDH key on Curve25519: the point (0x40, then 32 octets) and the KDF
 * parameters (RFC 6637 §9: three octets, 1, the hash, the wrapping cipher). */
static void
parse_cv25519 (SkPgpKey *key, Cursor *c)
{
  guint oid_len, kdf_len, reserved;
  const guint8 *oid;
  g_autoptr (GBytes) q = NULL;
  if (take_u8 (c, &oid_len) && take (c, oid_len, &oid) && oid_len == sizeof cv25519_oid &&
      memcmp (oid, cv25519_oid, oid_len) == 0 && (q = take_mpi (c)) != NULL &&
      g_bytes_get_size (q) == 33 && ((const guint8 *)g_bytes_get_data (q, NULL))[0] == 0x40 &&
      take_u8 (c, &kdf_len) && kdf_len == 3 && take_u8 (c, &reserved) && reserved == 1 &&
      take_u8 (c, &key->kdf_hash) && take_u8 (c, &key->kdf_cipher))
    {
      key->cv25519 = TRUE;
      key->mpi[0] = g_bytes_new_from_bytes (q, 1, 32);
      key->n_mpi = 1;
    }
}

SkPgpKey *
sk_pgp_key_parse (const guint8 *body, gsize len, GError **error)
{
  Cursor c = { body, len, 0 };
  g_autoptr (SkPgpKey) key = g_new0 (SkPgpKey, 1);
  guint version;
  const guint8 *created;

  if (!take_u8 (&c, &version) || version != 4 || !take (&c, 4, &created) ||
      !take_u8 (&c, &key->pk_algo))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("the signing key is not a version 4 OpenPGP key"));
      return NULL;
    }
  key->created = be32 (created);

  /* The fingerprint: SHA-1 over 0x99, the body's two-octet length, the
   * body (RFC 4880 §12.2). */
  g_autoptr (SkDigest) sha1 = sk_digest_new (2);
  guint8 head[3] = { 0x99, (guint8)(len >> 8), (guint8)len };
  gsize dlen = 0;
  if (sha1 == NULL || len > 0xffff)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY, _ ("the signing key is too large"));
      return NULL;
    }
  sk_digest_update (sha1, head, sizeof head);
  sk_digest_update (sha1, body, len);
  const guint8 *fpr = sk_digest_finish (sha1, &dlen);
  hex_upper (fpr, 20, key->fpr);

  if (key->pk_algo == PK_RSA || key->pk_algo == PK_RSA_S)
    {
      key->mpi[0] = take_mpi (&c);
      key->mpi[1] = key->mpi[0] != NULL ? take_mpi (&c) : NULL;
      key->n_mpi = key->mpi[1] != NULL ? 2 : 0;
    }
  else if (key->pk_algo == PK_EDDSA)
    {
      guint oid_len;
      const guint8 *oid;
      g_autoptr (GBytes) q = NULL;
      if (take_u8 (&c, &oid_len) && take (&c, oid_len, &oid) && oid_len == sizeof ed25519_oid &&
          memcmp (oid, ed25519_oid, oid_len) == 0 && (q = take_mpi (&c)) != NULL &&
          g_bytes_get_size (q) == 33 && ((const guint8 *)g_bytes_get_data (q, NULL))[0] == 0x40)
        {
          key->ed25519 = TRUE;
          key->mpi[0] = g_bytes_new_from_bytes (q, 1, 32);
          key->n_mpi = 1;
        }
    }
  else if (key->pk_algo == PK_ECDH)
    parse_cv25519 (key, &c);
  return g_steal_pointer (&key);
}

SkPgpKey *
sk_pgp_key_from_block (const guint8 *data, gsize len, GError **error)
{
  gsize off = 0, body = 0;
  guint tag = 0;
  if (!sk_pgp_read_header (data, len, &off, &tag, &body) || tag != 6)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("GnuPG exported no public key for the signer"));
      return NULL;
    }
  return sk_pgp_key_parse (data + off, body, error);
}

SkPgpKey *
sk_pgp_subkey_from_block (const guint8 *data, gsize len, const char *fpr, GError **error)
{
  gsize off = 0, body = 0;
  guint tag = 0;
  while (off < len && sk_pgp_read_header (data, len, &off, &tag, &body))
    {
      if (tag == 14)
        {
          g_autoptr (SkPgpKey) key = sk_pgp_key_parse (data + off, body, NULL);
          if (key != NULL && g_ascii_strcasecmp (key->fpr, fpr) == 0)
            return g_steal_pointer (&key);
        }
      off += body;
    }
  g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY, _ ("GnuPG exported no subkey %s"), fpr);
  return NULL;
}

GPtrArray *
sk_pgp_split_key_blocks (GBytes *export, GPtrArray **out_fprs, GError **error)
{
  g_autoptr (GPtrArray) blocks = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  g_autoptr (GPtrArray) fprs = g_ptr_array_new_with_free_func (g_free);
  gsize len = 0;
  const guint8 *data = export != NULL ? g_bytes_get_data (export, &len) : NULL;
  gsize off = 0;
  gsize start = 0;
  gboolean in_block = FALSE;

  /* One pass over the framing: a block ends where the next key begins. */
  while (off < len)
    {
      gsize at = off, body = 0;
      guint tag = 0;
      if (!sk_pgp_read_header (data, len, &off, &tag, &body))
        {
          g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                       _ ("GnuPG's export of the keys is damaged at byte %lu"), (gulong)at);
          return NULL;
        }
      if (tag == 6)
        {
          if (in_block)
            g_ptr_array_add (blocks, g_bytes_new_from_bytes (export, start, at - start));
          start = at;
          in_block = TRUE;
        }
      else if (!in_block)
        {
          g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                       _ ("GnuPG's export of the keys does not begin with a public key"));
          return NULL;
        }
      off += body;
    }
  if (in_block)
    g_ptr_array_add (blocks, g_bytes_new_from_bytes (export, start, len - start));

  /* Each block named by its primary; one that does not parse is dropped. */
  for (guint i = 0; i < blocks->len;)
    {
      gsize blen = 0;
      const guint8 *bdata = g_bytes_get_data (blocks->pdata[i], &blen);
      g_autoptr (SkPgpKey) primary = sk_pgp_key_from_block (bdata, blen, NULL);
      if (primary == NULL)
        {
          g_ptr_array_remove_index (blocks, i);
          continue;
        }
      g_ptr_array_add (fprs, g_strdup (primary->fpr));
      i++;
    }
  *out_fprs = g_steal_pointer (&fprs);
  return g_steal_pointer (&blocks);
}

void
sk_pgp_key_free (SkPgpKey *key)
{
  if (key == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (key->mpi); i++)
    g_clear_pointer (&key->mpi[i], g_bytes_unref);
  g_free (key);
}

SkDigest *
sk_pgp_sig_start (const SkPgpSig *sig)
{
  return sk_digest_new (sig->hash_algo);
}

/* An MPI as exactly 32 octets, the leading zeros it lost put back. */
static gboolean
fixed32 (GBytes *mpi, guint8 out[32])
{
  gsize n = 0;
  const guint8 *p = g_bytes_get_data (mpi, &n);
  if (n > 32)
    return FALSE;
  memset (out, 0, 32 - n);
  memcpy (out + 32 - n, p, n);
  return TRUE;
}

SkPgpVerdict
sk_pgp_sig_check (const SkPgpSig *sig, SkDigest *digest, const SkPgpKey *key)
{
  gsize hashed_len = 0, dlen = 0;
  const guint8 *hashed = g_bytes_get_data (sig->hashed, &hashed_len);

  /* The v4 trailer: the hashed part of the signature, then 0x04 0xFF and
   * that part's length (RFC 4880 §5.2.4). */
  guint8 trailer[6] = { 4,
                        0xff,
                        (guint8)(hashed_len >> 24),
                        (guint8)(hashed_len >> 16),
                        (guint8)(hashed_len >> 8),
                        (guint8)hashed_len };
  sk_digest_update (digest, hashed, hashed_len);
  sk_digest_update (digest, trailer, sizeof trailer);
  const guint8 *d = sk_digest_finish (digest, &dlen);

  if (dlen < 2 || d[0] != sig->left16[0] || d[1] != sig->left16[1])
    return SK_PGP_BAD;
  if (sig->pk_algo == PK_EDDSA && key->pk_algo == PK_EDDSA && key->ed25519 && sig->n_mpi == 2)
    {
      guint8 r[32], s[32];
      if (!fixed32 (sig->mpi[0], r) || !fixed32 (sig->mpi[1], s))
        return SK_PGP_BAD;
      return sk_ed25519_verify (g_bytes_get_data (key->mpi[0], NULL), d, dlen, r, s) ? SK_PGP_GOOD
                                                                                     : SK_PGP_BAD;
    }
  if ((sig->pk_algo == PK_RSA || sig->pk_algo == PK_RSA_S) &&
      (key->pk_algo == PK_RSA || key->pk_algo == PK_RSA_S) && key->n_mpi == 2 && sig->n_mpi == 1)
    {
      gsize n_len, e_len, s_len;
      const guint8 *n = g_bytes_get_data (key->mpi[0], &n_len);
      const guint8 *e = g_bytes_get_data (key->mpi[1], &e_len);
      const guint8 *s = g_bytes_get_data (sig->mpi[0], &s_len);
      return sk_rsa_verify (n, n_len, e, e_len, sig->hash_algo, d, dlen, s, s_len) ? SK_PGP_GOOD
                                                                                   : SK_PGP_BAD;
    }
  return SK_PGP_UNSUPPORTED;
}
