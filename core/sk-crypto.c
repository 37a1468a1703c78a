/* sk-crypto.c — libsodium behind one door */
#define G_LOG_DOMAIN "sekisho-crypto"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <sodium.h>
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

/* The state and buffers of one stream, wiped on every way out. */
typedef struct
{
  crypto_secretstream_xchacha20poly1305_state state;
  guint8 *plain;
  guint8 *next;
  guint8 *sealed;
  gsize plain_len; /* of PLAIN, when not one chunk */
} SkStreamScratch;

static void
sk_stream_scratch_clear (SkStreamScratch *s)
{
  sodium_memzero (&s->state, sizeof s->state);
  if (s->plain != NULL)
    sodium_memzero (s->plain, s->plain_len != 0 ? s->plain_len : SK_SEAL_CHUNK);
  if (s->next != NULL)
    sodium_memzero (s->next, SK_SEAL_CHUNK);
  g_clear_pointer (&s->plain, g_free);
  g_clear_pointer (&s->next, g_free);
  g_clear_pointer (&s->sealed, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SkStreamScratch, sk_stream_scratch_clear)

#define SEALED_CHUNK (SK_SEAL_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES)

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

  g_auto (SkStreamScratch) s = { 0 };
  guint8 header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  g_autoptr (SkSha256) sum = sk_sha256_new ();
  guint64 size = 0;

  if (sum == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("SHA-256 is unavailable"));
      return FALSE;
    }

  s.plain = g_malloc (SK_SEAL_CHUNK);
  s.next = g_malloc (SK_SEAL_CHUNK);
  s.sealed = g_malloc (SEALED_CHUNK);
  crypto_secretstream_xchacha20poly1305_init_push (&s.state, header, key->bytes);
  if (!write_all (out_fd, header, sizeof header, error))
    return FALSE;

  /* Read one chunk ahead, so that the last chunk can carry the FINAL tag. */
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
      unsigned long long sealed_len;
      crypto_secretstream_xchacha20poly1305_push (
          &s.state, s.sealed, &sealed_len, s.plain, (unsigned long long)n, NULL, 0,
          last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
      sk_sha256_update (sum, s.plain, (gsize)n);
      size += (guint64)n;
      if (!write_all (out_fd, s.sealed, (gsize)sealed_len, error))
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

/* Chunks sealed per pull and write of sk_seal_pull(), and how much is
 * written before its write-back is started. */
#define SEAL_BATCH 16
#define WRITEBACK_STEP ((guint64)8 * 1024 * 1024)

gboolean
sk_seal_pull (const SkItemKey *key,
              SkSealPull pull,
              gpointer user_data,
              guint64 size,
              int out_fd,
              char **out_sha256,
              GCancellable *cancellable,
              GError **error)
{
  g_return_val_if_fail (key != NULL, FALSE);

  g_auto (SkStreamScratch) s = { 0 };
  guint8 header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  g_autoptr (SkSha256) sum = out_sha256 != NULL ? sk_sha256_new () : NULL;
  if (out_sha256 != NULL && sum == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("SHA-256 is unavailable"));
      return FALSE;
    }
  /* Plaintext is read into PLAIN (wiped on the way out); NEXT is unused. */
  s.plain_len = SK_SEAL_CHUNK * SEAL_BATCH;
  s.plain = g_malloc (s.plain_len);
  s.sealed = g_malloc (SEALED_CHUNK * SEAL_BATCH);
  crypto_secretstream_xchacha20poly1305_init_push (&s.state, header, key->bytes);
  if (!write_all (out_fd, header, sizeof header, error))
    return FALSE;
  guint64 done = 0;
  guint64 written = sizeof header, kicked = 0;
  do
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      gsize want = (gsize)MIN (size - done, (guint64)s.plain_len);
      if (!pull (user_data, done, s.plain, want, cancellable, error))
        return FALSE;
      if (sum != NULL)
        sk_sha256_update (sum, s.plain, want);
      /* Every chunk full but the last, which carries the FINAL tag (an
       * empty item is one empty FINAL chunk, as sk_seal_stream() writes). */
      gsize out_len = 0;
      gsize off = 0;
      do
        {
          gsize n = MIN (want - off, (gsize)SK_SEAL_CHUNK);
          gboolean last = done + off + n == size;
          unsigned long long sealed_len;
          crypto_secretstream_xchacha20poly1305_push (
              &s.state, s.sealed + out_len, &sealed_len, s.plain + off, (unsigned long long)n, NULL,
              0, last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
          out_len += (gsize)sealed_len;
          off += n;
        }
      while (off < want);
      done += want;
      if (!write_all (out_fd, s.sealed, out_len, error))
        return FALSE;
      written += out_len;
      /* Start writing back what is written, a step at a time, so that the
       * caller's fsync finds little left to do (it still waits for all). */
      if (written - kicked >= WRITEBACK_STEP)
        {
          (void)sync_file_range (out_fd, (off_t)kicked, (off_t)(written - kicked),
                                 SYNC_FILE_RANGE_WRITE);
          kicked = written;
        }
    }
  while (done < size);
  if (out_sha256 != NULL)
    *out_sha256 = g_strdup (sk_sha256_hex (sum));
  return TRUE;
}

static gboolean
pull_fd (gpointer user_data,
         guint64 offset,
         guint8 *buf,
         gsize len,
         GCancellable *cancellable,
         GError **error)
{
  int fd = GPOINTER_TO_INT (user_data);
  for (gsize got = 0; got < len;)
    {
      ssize_t n = pread (fd, buf + got, len - got, (off_t)(offset + got));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          sk_error_set_from_errno (error, n < 0 ? errno : EIO, _ ("reading from the store"));
          return FALSE;
        }
      got += (gsize)n;
    }
  return TRUE;
}

gboolean
sk_seal_fd (const SkItemKey *key,
            int in_fd,
            guint64 size,
            int out_fd,
            char **out_sha256,
            GCancellable *cancellable,
            GError **error)
{
  return sk_seal_pull (key, pull_fd, GINT_TO_POINTER (in_fd), size, out_fd, out_sha256, cancellable,
                       error);
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

gboolean
sk_open_stream (
    const SkItemKey *key, int in_fd, GOutputStream *out, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (key != NULL, FALSE);

  g_auto (SkStreamScratch) s = { 0 };
  guint8 header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  g_autoptr (GError) read_error = NULL;

  s.sealed = g_malloc (SEALED_CHUNK);
  s.plain = g_malloc (SK_SEAL_CHUNK);
  gssize got = read_fd_full (in_fd, header, sizeof header, &read_error);
  if (got < 0)
    {
      g_propagate_error (error, g_steal_pointer (&read_error));
      return FALSE;
    }
  if (got != sizeof header ||
      crypto_secretstream_xchacha20poly1305_init_pull (&s.state, header, key->bytes) != 0)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_DECRYPT_FAILED,
                           _ ("the stored item has no valid header"));
      return FALSE;
    }
  for (;;)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      gssize n = read_fd_full (in_fd, s.sealed, SEALED_CHUNK, error);
      if (n < 0)
        return FALSE;
      unsigned long long plain_len;
      unsigned char tag = 0;
      if (n == 0 ||
          crypto_secretstream_xchacha20poly1305_pull (&s.state, s.plain, &plain_len, &tag, s.sealed,
                                                      (unsigned long long)n, NULL, 0) != 0)
        {
          g_set_error_literal (error, SK_ERROR, SK_ERROR_DECRYPT_FAILED,
                               _ ("the stored item is altered or cut short"));
          return FALSE;
        }
      if (!g_output_stream_write_all (out, s.plain, (gsize)plain_len, NULL, cancellable, error))
        return FALSE;
      if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL)
        {
          guint8 extra;
          gssize more = read_fd_full (in_fd, &extra, 1, error);
          if (more < 0)
            return FALSE;
          if (more != 0)
            {
              g_set_error_literal (error, SK_ERROR, SK_ERROR_DECRYPT_FAILED,
                                   _ ("the stored item has bytes after its end"));
              return FALSE;
            }
          return TRUE;
        }
      if ((gsize)n < SEALED_CHUNK)
        {
          g_set_error_literal (error, SK_ERROR, SK_ERROR_DECRYPT_FAILED,
                               _ ("the stored item is cut short"));
          return FALSE;
        }
    }
}
