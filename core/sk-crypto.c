/* sk-crypto.c — the store's sealed items, and their keys in locked memory */
#define G_LOG_DOMAIN "sekisho-crypto"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

#include "sk-crypto.h"
#include "sk-error.h"
#include "sk-hash.h"

struct _SkItemKey
{
  guint8 *bytes; /* sodium_malloc: guarded, locked, wiped on free */
};

gboolean
sk_crypto_init (GError **error)
{
  if (sodium_init () < 0)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("libsodium cannot start"));
      return FALSE;
    }
  return TRUE;
}

static SkItemKey *
key_alloc (void)
{
  g_autoptr (GError) error = NULL;
  if (!sk_crypto_init (&error))
    return NULL;
  SkItemKey *key = g_new0 (SkItemKey, 1);
  key->bytes = sodium_malloc (SK_ITEM_KEY_BYTES);
  if (key->bytes == NULL)
    {
      g_free (key);
      return NULL;
    }
  return key;
}

SkItemKey *
sk_item_key_new_random (void)
{
  SkItemKey *key = key_alloc ();
  if (key != NULL)
    crypto_secretstream_xchacha20poly1305_keygen (key->bytes);
  return key;
}

SkItemKey *
sk_item_key_new_from_bytes (const guint8 *bytes, gsize len)
{
  g_return_val_if_fail (bytes != NULL, NULL);

  if (len != SK_ITEM_KEY_BYTES)
    return NULL;
  SkItemKey *key = key_alloc ();
  if (key != NULL)
    memcpy (key->bytes, bytes, SK_ITEM_KEY_BYTES);
  return key;
}

const guint8 *
sk_item_key_get_bytes (const SkItemKey *key)
{
  return key->bytes;
}

void
sk_item_key_free (SkItemKey *key)
{
  if (key == NULL)
    return;
  sodium_free (key->bytes);
  g_free (key);
}

void
sk_memzero (void *data, gsize len)
{
  sodium_memzero (data, len);
}

static gboolean
write_all (int fd, const guint8 *data, gsize len, GError **error)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          sk_error_set_from_errno (error, errno, _ ("writing to the store"));
          return FALSE;
        }
      data += n;
      len -= (gsize)n;
    }
  return TRUE;
}

/* Fill BUF from IN; returns the bytes read (less than LEN only at the end)
 * or -1. */
static gssize
read_full (GInputStream *in, guint8 *buf, gsize len, GCancellable *cancellable, GError **error)
{
  gsize got = 0;
  if (!g_input_stream_read_all (in, buf, len, &got, cancellable, error))
    return -1;
  return (gssize)got;
}

/* ---- the sealed format ------------------------------------------------
 *
 * A sealed item (format 2) is a 16-byte header — the magic "SKSEAL2\n",
 * seven random bytes, a zero — then chunks of SK_SEAL_CHUNK bytes of
 * plaintext, each encrypted with AES-256-GCM under the item's own key and
 * followed by its 16-byte tag; the last chunk may be shorter, or empty.
 * Each chunk's nonce is the header's seven random bytes, the chunk's number
 * (32 bits, big-endian) and a byte that is 1 on the last chunk only; the
 * header is every chunk's associated data.  So a changed, reordered,
 * dropped or appended chunk fails its tag, and so does a stream cut at a
 * chunk boundary: its new last chunk was not sealed as last.  (This is the
 * STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár, 2015.)
 * Keys are random and used for one item, so nonces never repeat under a
 * key; the random bytes are a second guard, not the first.
 *
 * Why AES-GCM and not libsodium's secretstream (format 1, which items
 * sealed before it still open with): AES-NI and carry-less multiply make
 * it three to four times as fast here (1.1 against 3.9 GB/s), and every
 * package imported is sealed whole, 500 MB at a time.  The construction is
 * the few lines below. */

#define SEAL_MAGIC "SKSEAL2\n"
#define SEAL_HEADER 16
#define SEALED_CHUNK (SK_SEAL_CHUNK + SK_GCM_TAG)
#define V1_HEADER crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define V1_SEALED_CHUNK (SK_SEAL_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES)

/* One item being sealed or opened, and its buffers, wiped on every way
 * out. */
typedef struct
{
  SkGcm *gcm;
  guint8 header[SEAL_HEADER];
  guint32 chunk; /* the next chunk's number */
  guint8 *plain;
  guint8 *next;
  guint8 *sealed;
  gsize plain_len; /* of PLAIN and NEXT */
  gsize sealed_len;
} Seal;

static void
seal_clear (Seal *s)
{
  g_clear_pointer (&s->gcm, sk_gcm_free);
  if (s->plain != NULL)
    sodium_memzero (s->plain, s->plain_len);
  if (s->next != NULL)
    sodium_memzero (s->next, s->plain_len);
  g_clear_pointer (&s->plain, g_free);
  g_clear_pointer (&s->next, g_free);
  g_clear_pointer (&s->sealed, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Seal, seal_clear)

static gboolean
seal_init (Seal *s, const SkItemKey *key, gsize plain_len, gsize sealed_len, GError **error)
{
  s->gcm = sk_gcm_new (key->bytes, SK_ITEM_KEY_BYTES);
  if (s->gcm == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("AES-256-GCM is unavailable"));
      return FALSE;
    }
  s->plain_len = plain_len;
  s->sealed_len = sealed_len;
  s->plain = plain_len != 0 ? g_malloc (plain_len) : NULL;
  s->sealed = g_malloc (sealed_len);
  return TRUE;
}

static void
chunk_nonce (const Seal *s, gboolean last, guint8 nonce[SK_GCM_NONCE])
{
  memcpy (nonce, s->header + 8, 7);
  nonce[7] = (guint8)(s->chunk >> 24);
  nonce[8] = (guint8)(s->chunk >> 16);
  nonce[9] = (guint8)(s->chunk >> 8);
  nonce[10] = (guint8)s->chunk;
  nonce[11] = last ? 1 : 0;
}

/* Seal LEN (at most SK_SEAL_CHUNK) bytes of PLAIN into OUT (LEN + tag). */
static gboolean
seal_chunk (Seal *s, const guint8 *plain, gsize len, gboolean last, guint8 *out, GError **error)
{
  guint8 nonce[SK_GCM_NONCE];
  if (s->chunk == G_MAXUINT32)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR,
                           _ ("the item is too large to store"));
      return FALSE;
    }
  chunk_nonce (s, last, nonce);
  if (!sk_gcm_encrypt (s->gcm, nonce, s->header, SEAL_HEADER, plain, len, out, out + len))
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("AES-256-GCM failed"));
      return FALSE;
    }
  s->chunk++;
  return TRUE;
}

/* A new item's header: the magic, seven random bytes, a zero. */
static void
seal_header (Seal *s)
{
  memcpy (s->header, SEAL_MAGIC, 8);
  randombytes_buf (s->header + 8, 7);
  s->header[15] = 0;
}

gboolean
sk_seal_stream (const SkItemKey *key,
                GInputStream *in,
                int out_fd,
                guint64 *out_size,
                char **out_sha256,
                GCancellable *cancellable,
                GError **error)
{
  g_return_val_if_fail (key != NULL, FALSE);

  g_auto (Seal) s = { 0 };
  g_autoptr (SkSha256) sum = sk_sha256_new ();
  guint64 size = 0;

  if (sum == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("SHA-256 is unavailable"));
      return FALSE;
    }
  if (!seal_init (&s, key, SK_SEAL_CHUNK, SEALED_CHUNK, error))
    return FALSE;
  s.next = g_malloc (SK_SEAL_CHUNK);
  seal_header (&s);
  if (!write_all (out_fd, s.header, SEAL_HEADER, error))
    return FALSE;

  /* Read one chunk ahead, so that the last chunk can be sealed as last. */
  gssize n = read_full (in, s.plain, SK_SEAL_CHUNK, cancellable, error);
  if (n < 0)
    return FALSE;
  for (;;)
    {
      gssize m = 0;
      if (n == SK_SEAL_CHUNK)
        {
          m = read_full (in, s.next, SK_SEAL_CHUNK, cancellable, error);
          if (m < 0)
            return FALSE;
        }
      gboolean last = n < SK_SEAL_CHUNK || m == 0;
      if (!seal_chunk (&s, s.plain, (gsize)n, last, s.sealed, error))
        return FALSE;
      sk_sha256_update (sum, s.plain, (gsize)n);
      size += (guint64)n;
      if (!write_all (out_fd, s.sealed, (gsize)n + SK_GCM_TAG, error))
        return FALSE;
      if (last)
        break;
      guint8 *t = s.plain;
      s.plain = s.next;
      s.next = t;
      n = m;
    }
  *out_size = size;
  *out_sha256 = g_strdup (sk_sha256_hex (sum));
  return TRUE;
}

/* Chunks an SkSealer seals into its output buffer before handing them
 * on. */
#define SEAL_BATCH 16

struct _SkSealer
{
  Seal s;
  guint64 size;   /* the plaintext's, announced */
  guint64 sealed; /* plaintext bytes sealed so far */
  gsize pending;  /* plaintext bytes waiting in s.plain for a whole chunk */
  gsize out_len;  /* sealed bytes waiting in s.sealed */
  SkSealOut out;
  gpointer out_data;
};

/* Hand on the sealed bytes waiting. */
static gboolean
sealer_flush (SkSealer *self, GError **error)
{
  if (self->out_len == 0)
    return TRUE;
  gsize len = self->out_len;
  self->out_len = 0;
  return self->out (self->s.sealed, len, self->out_data, error);
}

/* Seal LEN bytes of PLAIN as the next chunk: the last one when it ends
 * the announced size. */
static gboolean
sealer_chunk (SkSealer *self, const guint8 *plain, gsize len, GError **error)
{
  if (self->out_len + SEALED_CHUNK > self->s.sealed_len && !sealer_flush (self, error))
    return FALSE;
  gboolean last = self->sealed + len == self->size;
  if (!seal_chunk (&self->s, plain, len, last, self->s.sealed + self->out_len, error))
    return FALSE;
  self->out_len += len + SK_GCM_TAG;
  self->sealed += len;
  return TRUE;
}

SkSealer *
sk_sealer_new (const SkItemKey *key, guint64 size, SkSealOut out, gpointer out_data, GError **error)
{
  g_return_val_if_fail (key != NULL && out != NULL, NULL);

  g_autoptr (SkSealer) self = g_new0 (SkSealer, 1);
  self->size = size;
  self->out = out;
  self->out_data = out_data;
  if (!seal_init (&self->s, key, SK_SEAL_CHUNK, SEALED_CHUNK * SEAL_BATCH, error))
    return NULL;
  seal_header (&self->s);
  memcpy (self->s.sealed, self->s.header, SEAL_HEADER);
  self->out_len = SEAL_HEADER;
  return g_steal_pointer (&self);
}

gboolean
sk_sealer_push (SkSealer *self, const guint8 *data, gsize len, GError **error)
{
  if (len > self->size - self->sealed - self->pending)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR,
                           _ ("more bytes to store than were announced"));
      return FALSE;
    }
  while (len > 0)
    {
      guint64 left = self->size - self->sealed;
      /* A whole chunk, or the end, straight from DATA; else gathered. */
      gsize whole = (gsize)MIN (left, (guint64)SK_SEAL_CHUNK);
      if (self->pending == 0 && len >= whole)
        {
          if (!sealer_chunk (self, data, whole, error))
            return FALSE;
          data += whole;
          len -= whole;
          continue;
        }
      gsize n = MIN (len, whole - self->pending);
      memcpy (self->s.plain + self->pending, data, n);
      self->pending += n;
      data += n;
      len -= n;
      if (self->pending == whole)
        {
          self->pending = 0;
          if (!sealer_chunk (self, self->s.plain, whole, error))
            return FALSE;
        }
    }
  return TRUE;
}

gboolean
sk_sealer_finish (SkSealer *self, GError **error)
{
  if (self->sealed + self->pending != self->size)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR,
                           _ ("fewer bytes to store than were announced"));
      return FALSE;
    }
  /* An empty item is one empty last chunk, as sk_seal_stream() writes. */
  if (self->size == 0 && !sealer_chunk (self, NULL, 0, error))
    return FALSE;
  return sealer_flush (self, error);
}

void
sk_sealer_free (SkSealer *self)
{
  if (self == NULL)
    return;
  seal_clear (&self->s);
  g_free (self);
}

static gssize
read_fd_full (int fd, guint8 *buf, gsize len, GError **error)
{
  gsize got = 0;
  while (got < len)
    {
      ssize_t n = read (fd, buf + got, len - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          sk_error_set_from_errno (error, errno, _ ("reading from the store"));
          return -1;
        }
      if (n == 0)
        break;
      got += (gsize)n;
    }
  return (gssize)got;
}

static gboolean
refuse_item (GError **error, const char *why)
{
  g_set_error_literal (error, SK_ERROR, SK_ERROR_DECRYPT_FAILED, why);
  return FALSE;
}

/* After the last chunk: nothing may follow. */
static gboolean
at_end (int in_fd, GError **error)
{
  guint8 extra;
  gssize more = read_fd_full (in_fd, &extra, 1, error);
  if (more < 0)
    return FALSE;
  if (more != 0)
    return refuse_item (error, _ ("the stored item has bytes after its end"));
  return TRUE;
}

/* Format 1: libsodium's secretstream, HEADER its first 16 bytes. */
static gboolean
open_v1 (const SkItemKey *key,
         const guint8 *header,
         int in_fd,
         GOutputStream *out,
         GCancellable *cancellable,
         GError **error)
{
  crypto_secretstream_xchacha20poly1305_state state;
  guint8 full[V1_HEADER];
  g_autofree guint8 *sealed = g_malloc (V1_SEALED_CHUNK);
  g_autofree guint8 *plain = g_malloc (SK_SEAL_CHUNK);
  memcpy (full, header, SEAL_HEADER);
  gssize got = read_fd_full (in_fd, full + SEAL_HEADER, V1_HEADER - SEAL_HEADER, error);
  if (got < 0)
    return FALSE;
  gboolean ok = got == V1_HEADER - SEAL_HEADER &&
                crypto_secretstream_xchacha20poly1305_init_pull (&state, full, key->bytes) == 0;
  if (!ok)
    refuse_item (error, _ ("the stored item has no valid header"));
  while (ok)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }
      gssize n = read_fd_full (in_fd, sealed, V1_SEALED_CHUNK, error);
      unsigned long long plain_len;
      unsigned char tag = 0;
      if (n < 0)
        ok = FALSE;
      else if (n == 0 ||
               crypto_secretstream_xchacha20poly1305_pull (&state, plain, &plain_len, &tag, sealed,
                                                           (unsigned long long)n, NULL, 0) != 0)
        ok = refuse_item (error, _ ("the stored item is altered or cut short"));
      else if (!g_output_stream_write_all (out, plain, (gsize)plain_len, NULL, cancellable, error))
        ok = FALSE;
      else if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL)
        {
          ok = at_end (in_fd, error);
          break;
        }
      else if ((gsize)n < V1_SEALED_CHUNK)
        ok = refuse_item (error, _ ("the stored item is cut short"));
    }
  sodium_memzero (&state, sizeof state);
  sodium_memzero (plain, SK_SEAL_CHUNK);
  return ok;
}

/* Open chunk S->chunk, N sealed bytes in S->sealed, into S->plain. */
static gboolean
open_chunk (Seal *s, gsize n, gboolean last)
{
  guint8 nonce[SK_GCM_NONCE];
  chunk_nonce (s, last, nonce);
  return sk_gcm_decrypt (s->gcm, nonce, s->header, SEAL_HEADER, s->sealed, n - SK_GCM_TAG, s->plain,
                         s->sealed + n - SK_GCM_TAG);
}

gboolean
sk_open_stream (
    const SkItemKey *key, int in_fd, GOutputStream *out, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (key != NULL, FALSE);

  g_auto (Seal) s = { 0 };
  gssize got = read_fd_full (in_fd, s.header, SEAL_HEADER, error);
  if (got < 0)
    return FALSE;
  if (got != SEAL_HEADER)
    return refuse_item (error, _ ("the stored item has no valid header"));
  if (memcmp (s.header, SEAL_MAGIC, 8) != 0)
    return open_v1 (key, s.header, in_fd, out, cancellable, error);
  if (s.header[15] != 0)
    return refuse_item (error, _ ("the stored item has no valid header"));
  if (!seal_init (&s, key, SK_SEAL_CHUNK, SEALED_CHUNK, error))
    return FALSE;
  for (;;)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      gssize n = read_fd_full (in_fd, s.sealed, SEALED_CHUNK, error);
      if (n < 0)
        return FALSE;
      if (n < SK_GCM_TAG)
        return refuse_item (error, _ ("the stored item is cut short"));
      /* A short chunk can only be the last; a full one is the last when it
       * was sealed as last — which only its tag can say. */
      gboolean last = (gsize)n < SEALED_CHUNK;
      if (!open_chunk (&s, (gsize)n, last))
        {
          if (last || !open_chunk (&s, (gsize)n, TRUE))
            return refuse_item (error, _ ("the stored item is altered or cut short"));
          last = TRUE;
        }
      if (!g_output_stream_write_all (out, s.plain, (gsize)n - SK_GCM_TAG, NULL, cancellable,
                                      error))
        return FALSE;
      if (last)
        return at_end (in_fd, error);
      if (s.chunk == G_MAXUINT32)
        return refuse_item (error, _ ("the stored item is altered or cut short"));
      s.chunk++;
    }
}
