/* sk-pgp-pkesk.c — session-key packets, and what the agent's answer gives */
#define G_LOG_DOMAIN "sekisho-pgp"

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "sk-error.h"
#include "sk-hash.h"
#include "sk-pgp-pkesk.h"

/* Curve25519's OID 1.3.6.1.4.1.3029.1.5.1, as the KDF's parameters name it. */
static const guint8 cv25519_oid[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01 };
/* RSA frames: at least this many octets of random padding (RFC 8017). */
#define PKCS1_MIN_PAD 8
/* Wrapped keys: AES key wrap of at most a 32-octet key, its algorithm,
 * checksum and padding to 40 octets, plus the 8 of the wrap. */
#define WRAPPED_MAX 48

static gboolean
refuse (GError **error, const char *why)
{
  g_set_error (error, SK_ERROR, SK_ERROR_DECRYPT_FAILED, _ ("The session key does not open: %s."),
               _ (why));
  return FALSE;
}

void
sk_pgp_pkesk_free (SkPgpPkesk *pkesk)
{
  if (pkesk == NULL)
    return;
  g_clear_pointer (&pkesk->value, g_bytes_unref);
  g_clear_pointer (&pkesk->wrapped, g_bytes_unref);
  g_free (pkesk);
}

gboolean
sk_pgp_pkesk_is_hidden (const SkPgpPkesk *pkesk)
{
  static const guint8 zero[8] = { 0 };
  return memcmp (pkesk->keyid, zero, sizeof zero) == 0;
}

/* An MPI at BODY[*OFF] (LEN octets in all): its octets, past leading zero
 * octets that its bit count says are not there.  NULL when cut short. */
static GBytes *
take_mpi (const guint8 *body, gsize len, gsize *off)
{
  if (len - *off < 2)
    return NULL;
  gsize bits = (gsize)body[*off] << 8 | body[*off + 1];
  gsize n = (bits + 7) / 8;
  if (bits == 0 || len - *off - 2 < n)
    return NULL;
  GBytes *out = g_bytes_new (body + *off + 2, n);
  *off += 2 + n;
  return out;
}

static SkPgpPkesk *
parse_one (const guint8 *body, gsize len, GError **error)
{
  if (len < 10 || body[0] != 3)
    {
      refuse (error, N_ ("a session-key packet is cut short or of an unknown version"));
      return NULL;
    }
  g_autoptr (SkPgpPkesk) p = g_new0 (SkPgpPkesk, 1);
  static const char digits[] = "0123456789ABCDEF";
  memcpy (p->keyid, body + 1, 8);
  for (gsize i = 0; i < 8; i++)
    {
      p->keyid_hex[2 * i] = digits[p->keyid[i] >> 4];
      p->keyid_hex[2 * i + 1] = digits[p->keyid[i] & 15];
    }
  p->pk_algo = body[9];
  gsize off = 10;
  switch (p->pk_algo)
    {
    case SK_PGP_PK_RSA:
    case SK_PGP_PK_RSA_E:
      p->value = take_mpi (body, len, &off);
      break;
    case SK_PGP_PK_ECDH:
      p->value = take_mpi (body, len, &off);
      if (p->value != NULL && off < len && body[off] > 0 && len - off - 1 >= body[off])
        {
          p->wrapped = g_bytes_new (body + off + 1, body[off]);
          off += 1 + body[off];
        }
      if (p->wrapped == NULL)
        g_clear_pointer (&p->value, g_bytes_unref);
      break;
    default:
      /* Another algorithm: its key ID only; GnuPG reads the rest. */
      return g_steal_pointer (&p);
    }
  if (p->value == NULL || off != len)
    {
      refuse (error, N_ ("a session-key packet is damaged"));
      return NULL;
    }
  return g_steal_pointer (&p);
}

GPtrArray *
sk_pgp_pkesk_parse_all (const guint8 *data, gsize len, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)sk_pgp_pkesk_free);
  gsize off = 0;
  while (off < len)
    {
      gsize start = off, body_len = 0;
      guint tag = 0;
      if (!sk_pgp_read_header (data, len, &off, &tag, &body_len))
        {
          /* The encrypted data that follows may be framed in partial
           * lengths, which the header reader refuses: its tag decides. */
          guint8 b0 = data[start];
          guint t = (b0 & 0x40) ? (b0 & 0x3F) : ((b0 >> 2) & 0x0F);
          if ((b0 & 0x80) && t != 1)
            break;
          refuse (error, N_ ("a session-key packet is damaged"));
          return NULL;
        }
      if (tag != 1)
        break;
      SkPgpPkesk *p = parse_one (data + off, body_len, error);
      if (p == NULL)
        return NULL;
      g_ptr_array_add (out, p);
      off += body_len;
    }
  return g_steal_pointer (&out);
}

/* "N:" and N octets of DATA into OUT; a positive number as the agent reads
 * it (a leading zero octet when the high bit is set). */
static void
append_atom (GByteArray *out, const guint8 *data, gsize len, gboolean number)
{
  gboolean pad = number && len > 0 && (data[0] & 0x80);
  g_autofree char *head = g_strdup_printf ("%" G_GSIZE_FORMAT ":", len + (pad ? 1 : 0));
  g_byte_array_append (out, (const guint8 *)head, (guint)strlen (head));
  if (pad)
    g_byte_array_append (out, (const guint8 *)"", 1);
  g_byte_array_append (out, data, (guint)len);
}

static void
append_text (GByteArray *out, const char *text)
{
  g_byte_array_append (out, (const guint8 *)text, (guint)strlen (text));
}

GBytes *
sk_pgp_pkesk_agent_ciphertext (const SkPgpPkesk *pkesk)
{
  if (pkesk->value == NULL)
    return NULL;
  gsize vlen = 0;
  const guint8 *v = g_bytes_get_data (pkesk->value, &vlen);
  GByteArray *out = g_byte_array_new ();
  if (pkesk->pk_algo == SK_PGP_PK_ECDH)
    {
      /* As gpg sends it: s is the wrapped key with its length octet (the
       * agent does not use it), e the ephemeral point. */
      gsize wlen = 0;
      const guint8 *w = g_bytes_get_data (pkesk->wrapped, &wlen);
      g_autofree guint8 *s = g_malloc (wlen + 1);
      s[0] = (guint8)wlen;
      memcpy (s + 1, w, wlen);
      append_text (out, "(7:enc-val(4:ecdh(1:s");
      append_atom (out, s, wlen + 1, FALSE);
      append_text (out, ")(1:e");
      append_atom (out, v, vlen, TRUE);
      append_text (out, ")))");
    }
  else
    {
      append_text (out, "(7:enc-val(3:rsa(1:a");
      append_atom (out, v, vlen, TRUE);
      append_text (out, ")))");
    }
  return g_byte_array_free_to_bytes (out);
}

gboolean
sk_pgp_pkesk_agent_value (const guint8 *answer,
                          gsize answer_len,
                          const guint8 **out_value,
                          gsize *out_len)
{
  static const char head[] = "(5:value";
  gsize off = sizeof head - 1;
  if (answer_len < off || memcmp (answer, head, off) != 0)
    return FALSE;
  gsize n = 0, digits = 0;
  while (off < answer_len && g_ascii_isdigit (answer[off]) && digits < 6)
    {
      n = n * 10 + (gsize)(answer[off++] - '0');
      digits++;
    }
  if (digits == 0 || (digits > 1 && answer[off - digits] == '0') || off >= answer_len ||
      answer[off] != ':')
    return FALSE;
  off++;
  if (n == 0 || answer_len - off < n + 1 || answer[off + n] != ')')
    return FALSE;
  gsize rest = answer_len - off - n - 1;
  if (rest > 1 || (rest == 1 && answer[answer_len - 1] != '\0'))
    return FALSE;
  *out_value = answer + off;
  *out_len = n;
  return TRUE;
}

/* The key length of an OpenPGP cipher; 0 when the station does not know it. */
static gsize
cipher_key_len (guint algo)
{
  switch (algo)
    {
    case 2:  /* 3DES */
    case 8:  /* AES-192 */
    case 12: /* Camellia-192 */
      return 24;
    case 3:  /* CAST5 */
    case 4:  /* Blowfish */
    case 7:  /* AES-128 */
    case 11: /* Camellia-128 */
      return 16;
    case 9:  /* AES-256 */
    case 10: /* Twofish */
    case 13: /* Camellia-256 */
      return 32;
    default:
      return 0;
    }
}

/* M: the cipher's number, the key, its checksum (RFC 4880 §5.1). */
static gboolean
take_session_key (const guint8 *m, gsize len, SkPgpSessionKey *out, GError **error)
{
  if (len < 3 + 16 || cipher_key_len (m[0]) == 0)
    return refuse (error, N_ ("its cipher is unknown"));
  gsize key_len = len - 3;
  if (key_len != cipher_key_len (m[0]))
    return refuse (error, N_ ("the key's length does not fit its cipher"));
  guint sum = 0;
  for (gsize i = 0; i < key_len; i++)
    sum += m[1 + i];
  if ((guint8)(sum >> 8) != m[1 + key_len] || (guint8)sum != m[2 + key_len])
    return refuse (error, N_ ("its checksum does not match"));
  out->algo = m[0];
  memcpy (out->key, m + 1, key_len);
  out->len = key_len;
  return TRUE;
}

static gsize
kek_len (guint cipher)
{
  return cipher == 7 ? 16 : cipher == 8 ? 24 : cipher == 9 ? 32 : 0;
}

gboolean
sk_pgp_pkesk_ecdh_supported (const SkPgpKey *key)
{
  return key != NULL && key->cv25519 && key->n_mpi >= 1 &&
         (key->kdf_hash == 8 || key->kdf_hash == 9 || key->kdf_hash == 10) &&
         kek_len (key->kdf_cipher) > 0;
}

gboolean
sk_pgp_pkesk_ecdh_unwrap (const SkPgpPkesk *pkesk,
                          const SkPgpKey *key,
                          const guint8 *shared,
                          gsize shared_len,
                          SkPgpSessionKey *out,
                          GError **error)
{
  g_return_val_if_fail (sk_pgp_pkesk_ecdh_supported (key), FALSE);
  if (pkesk->pk_algo != SK_PGP_PK_ECDH || pkesk->wrapped == NULL)
    return refuse (error, N_ ("a session-key packet is damaged"));
  /* The shared secret: the point's 32 octets, with or without the 0x40
   * that marks the x-only encoding. */
  if (shared_len == 33 && shared[0] == 0x40)
    shared++, shared_len--;
  if (shared_len != 32)
    return refuse (error, N_ ("the agent's answer is not a Curve25519 point"));
  gsize wlen = 0;
  const guint8 *wrapped = g_bytes_get_data (pkesk->wrapped, &wlen);
  if (wlen < 24 || wlen > WRAPPED_MAX || wlen % 8 != 0)
    return refuse (error, N_ ("the wrapped key is of a wrong length"));
  guint8 fpr[20];
  for (gsize i = 0; i < 20; i++)
    {
      int hi = g_ascii_xdigit_value (key->fpr[2 * i]);
      int lo = g_ascii_xdigit_value (key->fpr[2 * i + 1]);
      if (hi < 0 || lo < 0)
        return refuse (error, N_ ("the key's fingerprint is malformed"));
      fpr[i] = (guint8)(hi << 4 | lo);
    }

  /* The KDF (RFC 6637 §7): Hash (00 00 00 01 || Z || Param). */
  static const guint8 counter[4] = { 0, 0, 0, 1 };
  guint8 param[1 + sizeof cv25519_oid + 5 + 20 + 20];
  gsize p = 0;
  param[p++] = sizeof cv25519_oid;
  memcpy (param + p, cv25519_oid, sizeof cv25519_oid);
  p += sizeof cv25519_oid;
  param[p++] = SK_PGP_PK_ECDH;
  param[p++] = 3;
  param[p++] = 1;
  param[p++] = (guint8)key->kdf_hash;
  param[p++] = (guint8)key->kdf_cipher;
  memcpy (param + p, "Anonymous Sender    ", 20);
  p += 20;
  memcpy (param + p, fpr, 20);
  p += 20;
  g_autoptr (SkDigest) kdf = sk_digest_new (key->kdf_hash);
  if (kdf == NULL)
    return refuse (error, N_ ("the key's KDF hash is unknown"));
  sk_digest_update (kdf, counter, sizeof counter);
  sk_digest_update (kdf, shared, shared_len);
  sk_digest_update (kdf, param, p);
  gsize mb_len = 0;
  /* The digest's own buffer holds the KEK until the digest is freed (and
   * libgcrypt wipes its contexts when it frees them). */
  const guint8 *mb = sk_digest_finish (kdf, &mb_len);
  gsize kek = kek_len (key->kdf_cipher);
  if (mb_len < kek)
    return refuse (error, N_ ("the key's KDF hash is too short"));

  guint8 m[WRAPPED_MAX - 8];
  gsize mlen = wlen - 8;
  if (!sk_aes_unwrap (mb, kek, wrapped, wlen, m))
    {
      explicit_bzero (m, sizeof m);
      return refuse (error, N_ ("the wrapped key fails its integrity check"));
    }
  /* PKCS #5 padding: N octets of value N, all of them. */
  /* At least the cipher's number, a 16-octet key, its checksum and one
   * octet of padding; the padding no longer than what that leaves. */
  guint pad = m[mlen - 1];
  gboolean ok = mlen >= 3 + 16 + 1 && pad >= 1 && pad <= mlen - (3 + 16);
  for (gsize i = 0; ok && i < pad; i++)
    ok = m[mlen - 1 - i] == pad;
  if (!ok)
    {
      explicit_bzero (m, sizeof m);
      return refuse (error, N_ ("its padding is malformed"));
    }
  ok = take_session_key (m, mlen - pad, out, error);
  explicit_bzero (m, sizeof m);
  return ok;
}

gboolean
sk_pgp_pkesk_rsa_unpad (
    const guint8 *frame, gsize frame_len, gsize modulus_len, SkPgpSessionKey *out, GError **error)
{
  /* 00 02 PS 00 M: the agent's number drops the leading zero octet. */
  if (frame_len == modulus_len && frame_len > 0 && frame[0] == 0)
    frame++, frame_len--;
  if (modulus_len < 64 || frame_len != modulus_len - 1 || frame[0] != 2)
    return refuse (error, N_ ("its PKCS #1 frame is malformed"));
  gsize i = 1;
  while (i < frame_len && frame[i] != 0)
    i++;
  if (i == frame_len || i - 1 < PKCS1_MIN_PAD)
    return refuse (error, N_ ("its PKCS #1 frame is malformed"));
  return take_session_key (frame + i + 1, frame_len - i - 1, out, error);
}
