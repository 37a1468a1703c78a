/* fuzz-pgp-decrypt.c — the encrypted message read in-process (SkPgpDecryptor)
 *
 * Byte 0: bit 0 clear: the rest is the message, as it is; set: the rest is
 * what the encrypted data holds, and the message around it is made here —
 * a session-key packet of no meaning, then an integrity-protected packet
 * encrypted with a fixed AES-256 key, its detection code correct (bit 1:
 * framed in partial lengths of 512 bytes), so that the inner parser is
 * reached.  Bit 2: the plaintext's reader stops after 100 bytes.  Byte 1:
 * the size of each feed (0: all at once).  The session key, whenever it is
 * asked for, is the fixed key.  Besides the sanitizers: every refusal sets
 * an error of the project's domain (or a cancellation, when the reader
 * stopped), the key request is bounded, and no more plaintext comes out
 * than went in.
 */
#include "config.h"

#include <gcrypt.h>
#include <string.h>

#include "sk-error.h"
#include "sk-fuzz.h"
#include "sk-pgp-decrypt.h"

static const guint8 fixed_key[32] = { 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                      12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                      23, 24, 25, 26, 27, 28, 29, 30, 31, 32 };

typedef struct
{
  gsize total;
  gsize stop_after; /* 0: never */
} Sink;

static gboolean
plain (const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  Sink *sink = user_data;
  g_assert (len > 0);
  sink->total += len;
  if (sink->stop_after != 0 && sink->total > sink->stop_after)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "the reader stopped");
      return FALSE;
    }
  return TRUE;
}

static void
append_length (GByteArray *out, gsize len)
{
  guint8 head[5] = { 0xFF, (guint8)(len >> 24), (guint8)(len >> 16), (guint8)(len >> 8),
                     (guint8)len };
  g_byte_array_append (out, head, sizeof head);
}

/* The message around INNER. */
static GByteArray *
wrap (const guint8 *inner, gsize len, gboolean partial)
{
  GByteArray *out = g_byte_array_new ();
  static const guint8 pkesk[] = { 0xC1, 10, 3, 1, 2, 3, 4, 5, 6, 7, 8, 18 };
  g_byte_array_append (out, pkesk, sizeof pkesk);

  g_autoptr (GByteArray) body = g_byte_array_new ();
  static const guint8 head[] = { 1,    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99,
                                 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x10, 0xff, 0x10 };
  g_byte_array_append (body, head, sizeof head);
  g_byte_array_append (body, inner, (guint)len);
  static const guint8 mdc[] = { 0xD3, 0x14 };
  g_byte_array_append (body, mdc, sizeof mdc);
  guint8 sha1[20];
  gcry_md_hash_buffer (GCRY_MD_SHA1, sha1, body->data + 1, body->len - 1);
  g_byte_array_append (body, sha1, sizeof sha1);
  gcry_cipher_hd_t cipher;
  guint8 iv[16] = { 0 };
  g_assert (gcry_cipher_open (&cipher, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_CFB, 0) == 0);
  g_assert (gcry_cipher_setkey (cipher, fixed_key, sizeof fixed_key) == 0);
  g_assert (gcry_cipher_setiv (cipher, iv, sizeof iv) == 0);
  g_assert (gcry_cipher_encrypt (cipher, body->data + 1, body->len - 1, NULL, 0) == 0);
  gcry_cipher_close (cipher);

  static const guint8 tag18 = 0xC0 | 18;
  g_byte_array_append (out, &tag18, 1);
  gsize off = 0;
  while (partial && body->len - off > 512)
    {
      static const guint8 chunk = 0xE9; /* 2^9 */
      g_byte_array_append (out, &chunk, 1);
      g_byte_array_append (out, body->data + off, 512);
      off += 512;
    }
  append_length (out, body->len - off);
  g_byte_array_append (out, body->data + off, body->len - off);
  return out;
}

static gboolean
key (SkPgpDecryptor *dec, GError **error)
{
  g_autoptr (GBytes) request = sk_pgp_decryptor_get_key_request (dec);
  g_assert (g_bytes_get_size (request) <= 64 * 1024 + 2 + 64);
  return sk_pgp_decryptor_set_key (dec, 9, fixed_key, sizeof fixed_key, error);
}

static gboolean
run (SkPgpDecryptor *dec, guint8 *msg, gsize len, gsize step, GError **error)
{
  for (gsize off = 0; off < len;)
    {
      gsize n = step == 0 ? len : MIN (step, len - off);
      if (!sk_pgp_decryptor_feed (dec, msg + off, n, error))
        return FALSE;
      off += n;
      if (sk_pgp_decryptor_wants_key (dec) && !key (dec, error))
        return FALSE;
    }
  if (!sk_pgp_decryptor_close_input (dec, error))
    return FALSE;
  if (sk_pgp_decryptor_wants_key (dec) && !key (dec, error))
    return FALSE;
  return sk_pgp_decryptor_finish (dec, error);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* A GError set twice, or any other GLib warning, is a bug here. */
  g_log_set_always_fatal (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
  if (size < 2)
    return 0;
  guint8 mode = data[0];
  gsize step = data[1];
  g_autoptr (GByteArray) msg = NULL;
  if (mode & 1)
    msg = wrap (data + 2, size - 2, (mode & 2) != 0);
  else
    {
      msg = g_byte_array_new ();
      g_byte_array_append (msg, data + 2, (guint)(size - 2));
    }

  Sink sink = { .stop_after = (mode & 4) ? 100 : 0 };
  g_autoptr (SkPgpDecryptor) dec = sk_pgp_decryptor_new (plain, &sink);
  g_autoptr (GError) error = NULL;
  gboolean ok = run (dec, msg->data, msg->len, step, &error);
  g_assert (ok == (error == NULL));
  g_assert (ok || error->domain == SK_ERROR ||
            g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED));
  g_assert (sink.total <= msg->len);
  return 0;
}
