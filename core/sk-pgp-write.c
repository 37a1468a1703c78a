/* sk-pgp-write.c — an encrypted message and a signature packet, written
 * in-process */
#define G_LOG_DOMAIN "sekisho-pgp"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "sk-crypto.h"
#include "sk-error.h"
#include "sk-hash.h"
#include "sk-pgp-write.h"

#define PK_ECDH 18
#define PK_EDDSA 22
/* Partial body lengths of 2^20 octets (RFC 4880 §4.2.2.4): the message
 * streams in blocks of 1 MiB, the last one with its exact length. */
#define CHUNK_LOG 20
#define CHUNK ((gsize)1 << CHUNK_LOG)
#define AES256_KEY 32
#define BLOCK 16

static const guint8 cv25519_oid[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01 };

static gboolean
hex_to_bytes (const char *hex, guint8 *out, gsize n)
{
  if (hex == NULL || strlen (hex) != 2 * n)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]), lo = g_ascii_xdigit_value (hex[2 * i + 1]);
      if (hi < 0 || lo < 0)
        return FALSE;
      out[i] = (guint8)(hi << 4 | lo);
    }
  return TRUE;
}

/* A new-format length (RFC 4880 §4.2.2); the number of octets. */
static gsize
put_length (guint8 *out, gsize len)
{
  if (len < 192)
    {
      out[0] = (guint8)len;
      return 1;
    }
  if (len < 8384)
    {
      out[0] = (guint8)(((len - 192) >> 8) + 192);
      out[1] = (guint8)((len - 192) & 0xff);
      return 2;
    }
  out[0] = 0xff;
  out[1] = (guint8)(len >> 24);
  out[2] = (guint8)(len >> 16);
  out[3] = (guint8)(len >> 8);
  out[4] = (guint8)len;
  return 5;
}

/* ---- the session key ------------------------------------------------------ */

static gboolean
ecdh_refuse (GError **error, const char *why)
{
  g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
               _ ("The recipient's key cannot be used for encryption here: %s"), why);
  return FALSE;
}

GBytes *
sk_pgp_ecdh_session_key (const SkPgpKey *recipient,
                         guint cipher,
                         const guint8 *session_key,
                         gsize key_len,
                         const guint8 *ephemeral,
                         GError **error)
{
  /* The KEK's length by the wrapping cipher the key asks for. */
  gsize kek_len = recipient->kdf_cipher == 7   ? 16
                  : recipient->kdf_cipher == 8 ? 24
                  : recipient->kdf_cipher == 9 ? 32
                                               : 0;
  if (!recipient->cv25519 || recipient->n_mpi != 1)
    {
      ecdh_refuse (error, _ ("it is not an ECDH key on Curve25519"));
      return NULL;
    }
  if (kek_len == 0)
    {
      ecdh_refuse (error, _ ("its key-wrapping cipher is not AES"));
      return NULL;
    }
  g_autoptr (SkDigest) kdf = sk_digest_new (recipient->kdf_hash);
  if (kdf == NULL || recipient->kdf_hash == 2)
    {
      ecdh_refuse (error, _ ("its KDF hash is not SHA-2"));
      return NULL;
    }
  if (key_len != AES256_KEY || cipher != SK_PGP_CIPHER_AES256)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR, "only AES-256 session keys are made here");
      return NULL;
    }

  /* The ephemeral key pair, and the secret shared with the recipient. */
  static const guint8 base[32] = { 9 };
  guint8 secret[32], v[32], z[32];
  if (ephemeral != NULL)
    memcpy (secret, ephemeral, sizeof secret);
  else
    sk_random_bytes (secret, sizeof secret);
  const guint8 *r = g_bytes_get_data (recipient->mpi[0], NULL);
  gboolean ok = sk_x25519 (v, secret, base) && sk_x25519 (z, secret, r);
  sk_memzero (secret, sizeof secret);
  /* An all-zero shared secret: the recipient's point is of small order. */
  guint8 any = 0;
  for (gsize i = 0; i < sizeof z; i++)
    any |= z[i];
  if (!ok || any == 0)
    {
      sk_memzero (z, sizeof z);
      ecdh_refuse (error, _ ("its public point is not usable"));
      return NULL;
    }

  /* The KDF (RFC 6637 §7): Hash (00 00 00 01 || Z || Param), where Param is
   * the curve's OID, the algorithm, the KDF parameters, "Anonymous Sender    "
   * and the recipient's fingerprint. */
  guint8 fpr[20];
  if (!hex_to_bytes (recipient->fpr, fpr, sizeof fpr))
    {
      sk_memzero (z, sizeof z);
      ecdh_refuse (error, _ ("its fingerprint is malformed"));
      return NULL;
    }
  static const guint8 counter[4] = { 0, 0, 0, 1 };
  guint8 param[1 + sizeof cv25519_oid + 1 + 4 + 20 + 20];
  gsize p = 0;
  param[p++] = sizeof cv25519_oid;
  memcpy (param + p, cv25519_oid, sizeof cv25519_oid);
  p += sizeof cv25519_oid;
  param[p++] = PK_ECDH;
  param[p++] = 3;
  param[p++] = 1;
  param[p++] = (guint8)recipient->kdf_hash;
  param[p++] = (guint8)recipient->kdf_cipher;
  memcpy (param + p, "Anonymous Sender    ", 20);
  p += 20;
  memcpy (param + p, fpr, 20);
  p += 20;
  sk_digest_update (kdf, counter, sizeof counter);
  sk_digest_update (kdf, z, sizeof z);
  sk_digest_update (kdf, param, p);
  sk_memzero (z, sizeof z);
  gsize mb_len = 0;
  const guint8 *mb = sk_digest_finish (kdf, &mb_len);
  if (mb_len < kek_len)
    {
      ecdh_refuse (error, _ ("its KDF hash is too short"));
      return NULL;
    }

  /* The session key with its algorithm and checksum, padded to a multiple
   * of 8 octets as PKCS #5 does, then wrapped. */
  guint8 m[40], wrapped[48];
  guint sum = 0;
  m[0] = (guint8)cipher;
  memcpy (m + 1, session_key, key_len);
  for (gsize i = 0; i < key_len; i++)
    sum += session_key[i];
  m[1 + key_len] = (guint8)(sum >> 8);
  m[2 + key_len] = (guint8)sum;
  memset (m + 3 + key_len, (int)(sizeof m - 3 - key_len), sizeof m - 3 - key_len);
  ok = sk_aes_wrap (mb, kek_len, m, sizeof m, wrapped);
  sk_memzero (m, sizeof m);
  if (!ok)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR, "libgcrypt failed to wrap the session key");
      return NULL;
    }

  /* Version 3, the key ID (the fingerprint's last 8 octets), the algorithm,
   * the ephemeral point as an MPI of 263 bits (0x40, then 32 octets), the
   * wrapped key with its length. */
  GByteArray *body = g_byte_array_sized_new (94);
  static const guint8 version = 3, algo = PK_ECDH, mpi_head[3] = { 0x01, 0x07, 0x40 };
  guint8 wrapped_len = sizeof wrapped;
  g_byte_array_append (body, &version, 1);
  g_byte_array_append (body, fpr + 12, 8);
  g_byte_array_append (body, &algo, 1);
  g_byte_array_append (body, mpi_head, sizeof mpi_head);
  g_byte_array_append (body, v, sizeof v);
  g_byte_array_append (body, &wrapped_len, 1);
  g_byte_array_append (body, wrapped, sizeof wrapped);
  return g_byte_array_free_to_bytes (body);
}

/* ---- the encrypted message ------------------------------------------------ */

/* The detection code's SHA-1 is taken on a second thread while the chunk
 * it covers is encrypted on the caller's: the two are the message's main
 * costs, and both only read the literal packet's chunk.  One chunk at a
 * time, in order: every other hashing waits for the worker to be idle. */
typedef struct
{
  GThread *thread;
  GMutex lock;
  GCond cond;
  SkDigest *mdc; /* SHA-1 over the prefix, the plaintext packets, 0xD3 0x14 */
  guint8 head[5];
  gsize head_len;
  const guint8 *data; /* the job: HEAD then DATA; NULL: none */
  gsize len;
  gboolean quit;
} MdcWorker;

struct _SkPgpEncryptor
{
  SkPgpOutFunc out;
  gpointer user_data;
  SkCfb *cfb;
  MdcWorker mdc;
  guint8 *inner; /* the literal packet's body, a chunk at a time */
  gsize inner_len;
  guint8 *spare; /* the previous chunk, while the worker hashes it */
  guint8 *outer; /* the encrypted packet's body, a chunk at a time */
  gsize outer_len;
  gboolean failed;
  gboolean finished;
};

static gpointer
mdc_thread (gpointer data)
{
  MdcWorker *w = data;
  g_mutex_lock (&w->lock);
  for (;;)
    {
      while (w->data == NULL && !w->quit)
        g_cond_wait (&w->cond, &w->lock);
      if (w->data == NULL)
        break;
      g_mutex_unlock (&w->lock);
      sk_digest_update (w->mdc, w->head, w->head_len);
      sk_digest_update (w->mdc, w->data, w->len);
      g_mutex_lock (&w->lock);
      w->data = NULL;
      g_cond_broadcast (&w->cond);
    }
  g_mutex_unlock (&w->lock);
  return NULL;
}

/* Until the worker has hashed what it was given. */
static void
mdc_wait (MdcWorker *w)
{
  g_mutex_lock (&w->lock);
  while (w->data != NULL)
    g_cond_wait (&w->cond, &w->lock);
  g_mutex_unlock (&w->lock);
}

/* HEAD then DATA, hashed by the worker; DATA stays untouched until the
 * next mdc_wait(). */
static void
mdc_post (MdcWorker *w, const guint8 *head, gsize head_len, const guint8 *data, gsize len)
{
  mdc_wait (w);
  g_mutex_lock (&w->lock);
  memcpy (w->head, head, head_len);
  w->head_len = head_len;
  w->len = len;
  w->data = data;
  g_cond_broadcast (&w->cond);
  g_mutex_unlock (&w->lock);
}

void
sk_pgp_encryptor_free (SkPgpEncryptor *self)
{
  if (self == NULL)
    return;
  if (self->mdc.thread != NULL)
    {
      mdc_wait (&self->mdc);
      g_mutex_lock (&self->mdc.lock);
      self->mdc.quit = TRUE;
      g_cond_broadcast (&self->mdc.cond);
      g_mutex_unlock (&self->mdc.lock);
      g_thread_join (self->mdc.thread);
    }
  g_mutex_clear (&self->mdc.lock);
  g_cond_clear (&self->mdc.cond);
  sk_cfb_free (self->cfb);
  sk_digest_free (self->mdc.mdc);
  /* Both hold plaintext. */
  if (self->inner != NULL)
    sk_memzero (self->inner, CHUNK);
  if (self->spare != NULL)
    sk_memzero (self->spare, CHUNK);
  g_free (self->inner);
  g_free (self->spare);
  g_free (self->outer);
  g_free (self);
}

/* A chunk of the encrypted packet's body: HEAD (a length) then the chunk. */
static gboolean
outer_flush (SkPgpEncryptor *self, gboolean last, GError **error)
{
  guint8 head[5];
  gsize head_len = 1;
  if (last)
    head_len = put_length (head, self->outer_len);
  else
    head[0] = 0xe0 | CHUNK_LOG;
  if (!self->out (head, head_len, self->user_data, error) ||
      !self->out (self->outer, self->outer_len, self->user_data, error))
    return FALSE;
  self->outer_len = 0;
  return TRUE;
}

/* Plaintext of the encrypted packet (the prefix, the literal packet, the
 * detection code): encrypted and framed; hashed for the detection code
 * here when HASH (else the worker was given it). */
static gboolean
encrypt_put (SkPgpEncryptor *self, const guint8 *data, gsize len, gboolean hash, GError **error)
{
  if (hash && !self->finished)
    {
      mdc_wait (&self->mdc);
      sk_digest_update (self->mdc.mdc, data, len);
    }
  while (len > 0)
    {
      if (self->outer_len == CHUNK && !outer_flush (self, FALSE, error))
        return FALSE;
      gsize n = MIN (len, CHUNK - self->outer_len);
      if (!sk_cfb_encrypt_to (self->cfb, self->outer + self->outer_len, data, n))
        {
          g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR, "libgcrypt failed to encrypt");
          return FALSE;
        }
      self->outer_len += n;
      data += n;
      len -= n;
    }
  return TRUE;
}

/* A chunk of the literal packet's body, with its length: hashed by the
 * worker while it is encrypted here; the next chunk fills the other
 * buffer. */
static gboolean
inner_flush (SkPgpEncryptor *self, gboolean last, GError **error)
{
  guint8 head[5];
  gsize head_len = 1;
  if (last)
    head_len = put_length (head, self->inner_len);
  else
    head[0] = 0xe0 | CHUNK_LOG;
  mdc_post (&self->mdc, head, head_len, self->inner, self->inner_len);
  if (!encrypt_put (self, head, head_len, FALSE, error) ||
      !encrypt_put (self, self->inner, self->inner_len, FALSE, error))
    return FALSE;
  guint8 *filled = self->inner;
  self->inner = self->spare;
  self->spare = filled;
  self->inner_len = 0;
  return TRUE;
}

SkPgpEncryptor *
sk_pgp_encryptor_new (const SkPgpKey *recipient,
                      SkPgpOutFunc out,
                      gpointer user_data,
                      GError **error)
{
  guint8 key[AES256_KEY];
  sk_random_bytes (key, sizeof key);
  g_autoptr (GBytes) pkesk =
      sk_pgp_ecdh_session_key (recipient, SK_PGP_CIPHER_AES256, key, sizeof key, NULL, error);
  g_autoptr (SkPgpEncryptor) self = g_new0 (SkPgpEncryptor, 1);
  g_mutex_init (&self->mdc.lock);
  g_cond_init (&self->mdc.cond);
  self->out = out;
  self->user_data = user_data;
  self->cfb = pkesk != NULL ? sk_cfb_new (SK_PGP_CIPHER_AES256, key, sizeof key) : NULL;
  sk_memzero (key, sizeof key);
  if (pkesk == NULL)
    return NULL;
  self->mdc.mdc = sk_digest_new (2);
  if (self->cfb == NULL || self->mdc.mdc == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR, "libgcrypt has no AES-256 or SHA-1");
      return NULL;
    }
  self->inner = g_malloc (CHUNK);
  self->spare = g_malloc (CHUNK);
  self->outer = g_malloc (CHUNK);
  self->mdc.thread = g_thread_new ("sk-pgp-mdc", mdc_thread, &self->mdc);

  /* The session-key packet (new format, tag 1), then the encrypted packet's
   * tag (new format, 18); its body starts with the version, 1, in clear. */
  gsize body_len = 0;
  const guint8 *body = g_bytes_get_data (pkesk, &body_len);
  guint8 head[6] = { 0xc0 | 1 };
  gsize head_len = 1 + put_length (head + 1, body_len);
  static const guint8 seipd_tag = 0xc0 | 18;
  if (!out (head, head_len, user_data, error) || !out (body, body_len, user_data, error) ||
      !out (&seipd_tag, 1, user_data, error))
    return NULL;
  self->outer[0] = 1;
  self->outer_len = 1;

  /* The random prefix, its last two octets repeated (RFC 4880 §5.13). */
  guint8 prefix[BLOCK + 2];
  sk_random_bytes (prefix, BLOCK);
  prefix[BLOCK] = prefix[BLOCK - 2];
  prefix[BLOCK + 1] = prefix[BLOCK - 1];
  /* The literal packet (new format, tag 11): binary, no name, no date. */
  static const guint8 literal_tag = 0xc0 | 11;
  static const guint8 literal_head[6] = { 'b', 0, 0, 0, 0, 0 };
  if (!encrypt_put (self, prefix, sizeof prefix, TRUE, error) ||
      !encrypt_put (self, &literal_tag, 1, TRUE, error))
    return NULL;
  memcpy (self->inner, literal_head, sizeof literal_head);
  self->inner_len = sizeof literal_head;
  return g_steal_pointer (&self);
}

gboolean
sk_pgp_encryptor_feed (SkPgpEncryptor *self, const guint8 *data, gsize len, GError **error)
{
  g_return_val_if_fail (!self->finished, FALSE);
  if (self->failed)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR, "the encrypted message failed before");
      return FALSE;
    }
  while (len > 0)
    {
      /* A full chunk goes out only when more follows: the last one carries
       * the exact length. */
      if (self->inner_len == CHUNK && !inner_flush (self, FALSE, error))
        {
          self->failed = TRUE;
          return FALSE;
        }
      gsize n = MIN (len, CHUNK - self->inner_len);
      memcpy (self->inner + self->inner_len, data, n);
      self->inner_len += n;
      data += n;
      len -= n;
    }
  return TRUE;
}

gboolean
sk_pgp_encryptor_finish (SkPgpEncryptor *self, GError **error)
{
  g_return_val_if_fail (!self->finished, FALSE);
  static const guint8 mdc_head[2] = { 0xd3, 0x14 };
  gsize dlen = 0;
  if (self->failed || !inner_flush (self, TRUE, error) ||
      !encrypt_put (self, mdc_head, 2, TRUE, error))
    {
      self->failed = TRUE;
      return FALSE;
    }
  self->finished = TRUE;
  const guint8 *sum = sk_digest_finish (self->mdc.mdc, &dlen);
  if (!encrypt_put (self, sum, dlen, TRUE, error) || !outer_flush (self, TRUE, error))
    {
      self->failed = TRUE;
      return FALSE;
    }
  return TRUE;
}

/* ---- the signature packet -------------------------------------------------- */

GBytes *
sk_pgp_sig_hashed_part (guint pk_algo, guint hash_algo, gint64 created, const char *issuer_fpr)
{
  guint8 fpr[20];
  g_return_val_if_fail (hex_to_bytes (issuer_fpr, fpr, sizeof fpr), NULL);
  /* Subpackets: creation time (2), issuer fingerprint (33, version 4). */
  guint8 part[6 + 6 + 23] = { 4, 0x00, (guint8)pk_algo, (guint8)hash_algo, 0, 29, 5, 2 };
  part[8] = (guint8)(created >> 24);
  part[9] = (guint8)(created >> 16);
  part[10] = (guint8)(created >> 8);
  part[11] = (guint8)created;
  part[12] = 22;
  part[13] = 33;
  part[14] = 4;
  memcpy (part + 15, fpr, sizeof fpr);
  return g_bytes_new (part, sizeof part);
}

/* An MPI: its bit count, then its octets without leading zeros. */
static void
append_mpi (GByteArray *out, GBytes *value)
{
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (value, &len);
  while (len > 0 && p[0] == 0)
    {
      p++;
      len--;
    }
  guint bits = len == 0 ? 0 : (guint)(len - 1) * 8 + (guint)g_bit_storage (p[0]);
  guint8 head[2] = { (guint8)(bits >> 8), (guint8)bits };
  g_byte_array_append (out, head, 2);
  g_byte_array_append (out, p, (guint)len);
}

GBytes *
sk_pgp_sig_packet (
    GBytes *hashed, const char *issuer_fpr, const guint8 left16[2], guint n_mpi, GBytes *const *mpi)
{
  guint8 fpr[20];
  g_return_val_if_fail (hex_to_bytes (issuer_fpr, fpr, sizeof fpr), NULL);
  g_autoptr (GByteArray) body = g_byte_array_new ();
  gsize hashed_len = 0;
  const guint8 *h = g_bytes_get_data (hashed, &hashed_len);
  g_byte_array_append (body, h, (guint)hashed_len);
  /* Unhashed: the issuer's key ID (16), as gpg writes it too. */
  guint8 unhashed[2 + 10] = { 0, 10, 9, 16 };
  memcpy (unhashed + 4, fpr + 12, 8);
  g_byte_array_append (body, unhashed, sizeof unhashed);
  g_byte_array_append (body, left16, 2);
  for (guint i = 0; i < n_mpi; i++)
    append_mpi (body, mpi[i]);

  /* New format, tag 2. */
  guint8 head[6] = { 0xc0 | 2 };
  gsize head_len = 1 + put_length (head + 1, body->len);
  GByteArray *packet = g_byte_array_sized_new ((guint)(head_len + body->len));
  g_byte_array_append (packet, head, (guint)head_len);
  g_byte_array_append (packet, body->data, body->len);
  return g_byte_array_free_to_bytes (packet);
}
