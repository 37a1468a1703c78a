/* sk-pgp-decrypt.c — the encrypted message of a package, read in-process */
#define G_LOG_DOMAIN "sekisho-pgp"

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "sk-error.h"
#include "sk-hash.h"
#include "sk-pgp-decrypt.h"

/* GnuPG is given this much of the encrypted data with the session keys:
 * enough for it to reach the session key (it fails afterwards, on the
 * detection code it never sees). */
#define KEY_REQUEST_DATA 64
/* Session-key packets: at most this many bytes in all. */
#define KEY_PACKETS_MAX (64 * 1024)
#define MDC_LEN 22

typedef enum
{
  OUTER_HEADER,      /* reading a packet header */
  OUTER_SESSION_KEY, /* a session-key packet's body */
  OUTER_BODY,        /* inside a chunk of the encrypted packet */
  OUTER_CHUNK,       /* reading the length of the next partial chunk */
  OUTER_TO_END,      /* an old-format body of indeterminate length */
  OUTER_DONE,        /* the encrypted packet ended: nothing may follow */
  OUTER_FAILED,
} OuterPhase;

typedef enum
{
  INNER_HEADER, /* the literal packet's header */
  INNER_BODY,   /* inside a chunk of it */
  INNER_CHUNK,  /* the length of its next partial chunk */
  INNER_TO_END, /* an old-format literal of indeterminate length */
  INNER_DONE,   /* it ended: only the detection code may follow */
  INNER_FAILED,
} InnerPhase;

struct _SkPgpDecryptor
{
  SkPgpPlainFunc plain;
  gpointer user_data;

  /* The outer packets. */
  OuterPhase outer;
  guint8 head[6];
  guint head_len;
  guint64 remaining;
  gboolean partial;
  guint session_keys;
  gboolean version_seen; /* the encrypted packet's version octet */
  GByteArray *request;   /* the session-key packets, verbatim */
  GByteArray *pending;   /* encrypted data that came before the key */
  gboolean input_closed;
  SkErrorCode code;
  char *why;

  /* The decryption. */
  SkCfb *cfb;
  SkDigest *sha1;
  guint64 decrypted; /* bytes past the hold-back (prefix included) */
  gsize prefix_len;
  guint8 prefix[18];
  guint8 tail[MDC_LEN]; /* the last bytes seen: the detection code, at the end */
  guint tail_len;

  /* The inner packets. */
  InnerPhase inner;
  guint8 ihead[6];
  guint ihead_len;
  guint64 iremaining;
  gboolean ipartial;
  guint8 meta[2 + 255 + 4]; /* format, name length, name, date */
  guint meta_len;
  guint meta_want;
  GError *inner_error; /* held until the detection code is checked */
};

SkPgpDecryptor *
sk_pgp_decryptor_new (SkPgpPlainFunc plain, gpointer user_data)
{
  SkPgpDecryptor *self = g_new0 (SkPgpDecryptor, 1);
  self->plain = plain;
  self->user_data = user_data;
  self->request = g_byte_array_new ();
  self->pending = g_byte_array_new ();
  self->meta_want = 2;
  return self;
}

void
sk_pgp_decryptor_free (SkPgpDecryptor *self)
{
  if (self == NULL)
    return;
  g_byte_array_unref (self->request);
  g_byte_array_unref (self->pending);
  sk_cfb_free (self->cfb);
  sk_digest_free (self->sha1);
  g_clear_error (&self->inner_error);
  g_free (self->why);
  g_free (self);
}

static gboolean
outer_fail (SkPgpDecryptor *self, SkErrorCode code, const char *why)
{
  if (self->outer != OUTER_FAILED)
    {
      self->outer = OUTER_FAILED;
      self->code = code;
      self->why = g_strdup (why);
    }
  return FALSE;
}

static gboolean
outer_error (SkPgpDecryptor *self, GError **error)
{
  g_set_error_literal (error, SK_ERROR, self->code, self->why);
  return FALSE;
}

/* A new-format length at B (HAVE bytes so far): FALSE while more bytes are
 * needed; else its value and whether it is partial. */
static gboolean
new_length (const guint8 *b, guint have, guint64 *len, gboolean *partial)
{
  if (have < 1)
    return FALSE;
  *partial = FALSE;
  if (b[0] < 192)
    *len = b[0];
  else if (b[0] < 224)
    {
      if (have < 2)
        return FALSE;
      *len = ((guint64)(b[0] - 192) << 8) + b[1] + 192;
    }
  else if (b[0] == 255)
    {
      if (have < 5)
        return FALSE;
      *len = (guint64)b[1] << 24 | (guint64)b[2] << 16 | (guint64)b[3] << 8 | b[4];
    }
  else
    *len = G_GUINT64_CONSTANT (1) << (b[0] & 0x1F), *partial = TRUE;
  return TRUE;
}

/* A header in HEAD (HAVE bytes): FALSE while more are needed, else its tag,
 * length, and whether that is partial or runs to the end.  *BAD: not a
 * packet header at all. */
static gboolean
parse_header (const guint8 *head,
              guint have,
              guint *tag,
              guint64 *len,
              gboolean *partial,
              gboolean *to_end,
              gboolean *bad)
{
  guint8 b0 = head[0];
  *bad = FALSE;
  *to_end = FALSE;
  *partial = FALSE;
  if (!(b0 & 0x80))
    {
      *bad = TRUE;
      return TRUE;
    }
  if (b0 & 0x40)
    {
      *tag = b0 & 0x3F;
      return new_length (head + 1, have - 1, len, partial);
    }
  guint lentype = b0 & 3;
  guint need = lentype == 0 ? 1 : lentype == 1 ? 2 : lentype == 2 ? 4 : 0;
  if (have < 1 + need)
    return FALSE;
  *len = 0;
  for (guint i = 0; i < need; i++)
    *len = *len << 8 | head[1 + i];
  *tag = (b0 >> 2) & 0x0F;
  *to_end = lentype == 3;
  return TRUE;
}

/* ---- inside: one literal data packet ----------------------------------- */

static void
inner_fail (SkPgpDecryptor *self, SkErrorCode code, const char *why)
{
  if (self->inner == INNER_FAILED)
    return;
  self->inner = INNER_FAILED;
  g_set_error_literal (&self->inner_error, SK_ERROR, code, why);
}

/* Bytes of the literal packet's body: its header fields, then the data. */
static gboolean
literal_body (SkPgpDecryptor *self, const guint8 *data, gsize len, GError **error)
{
  while (len > 0 && self->meta_len < self->meta_want)
    {
      self->meta[self->meta_len++] = *data++;
      len--;
      if (self->meta_len == 2)
        {
          /* Binary data only: the station writes nothing else. */
          if (self->meta[0] != 'b')
            {
              inner_fail (self, SK_ERROR_DECRYPT_NOT_PLAIN,
                          _ ("the encrypted data holds text, not binary data"));
              return TRUE;
            }
          self->meta_want = 2 + self->meta[1] + 4;
        }
    }
  if (len == 0)
    return TRUE;
  return self->plain (data, len, self->user_data, error);
}

/* Decrypted bytes, past the prefix and before the detection code. */
static gboolean
inner_feed (SkPgpDecryptor *self, const guint8 *data, gsize len, GError **error)
{
  gsize i = 0;
  while (i < len)
    switch (self->inner)
      {
      case INNER_HEADER:
      case INNER_CHUNK:
        {
          guint64 plen;
          gboolean partial, to_end, bad;
          guint tag;
          self->ihead[self->ihead_len++] = data[i++];
          if (self->inner == INNER_CHUNK)
            {
              if (!new_length (self->ihead, self->ihead_len, &plen, &partial))
                break;
              self->ihead_len = 0;
              self->iremaining = plen;
              self->ipartial = partial;
              self->inner = plen == 0 && !partial ? INNER_DONE : INNER_BODY;
              break;
            }
          if (!parse_header (self->ihead, self->ihead_len, &tag, &plen, &partial, &to_end, &bad))
            break;
          self->ihead_len = 0;
          if (bad)
            {
              inner_fail (self, SK_ERROR_DECRYPT_FAILED, _ ("the encrypted data is not OpenPGP"));
              return TRUE;
            }
          if (tag != 11)
            {
              inner_fail (self, SK_ERROR_DECRYPT_NOT_PLAIN,
                          tag == 8 ? _ ("the encrypted data is compressed")
                          : tag == 4
                              ? _ ("the encrypted data is signed inside")
                              : _ ("the encrypted data holds a packet other than one literal "
                                   "data packet"));
              return TRUE;
            }
          self->iremaining = plen;
          self->ipartial = partial;
          self->inner = to_end ? INNER_TO_END : plen == 0 && !partial ? INNER_DONE : INNER_BODY;
        }
        break;
      case INNER_BODY:
        {
          gsize take = (gsize)MIN (self->iremaining, (guint64)(len - i));
          if (!literal_body (self, data + i, take, error))
            return FALSE;
          if (self->inner == INNER_FAILED)
            return TRUE;
          i += take;
          self->iremaining -= take;
          if (self->iremaining == 0)
            self->inner = self->ipartial ? INNER_CHUNK : INNER_DONE;
        }
        break;
      case INNER_TO_END:
        return literal_body (self, data + i, len - i, error);
      case INNER_DONE:
        inner_fail (self, SK_ERROR_DECRYPT_NOT_PLAIN,
                    _ ("the encrypted data holds another packet after its literal data packet"));
        return TRUE;
      case INNER_FAILED:
        return TRUE;
      }
  return TRUE;
}

/* Decrypted bytes that are not the last MDC_LEN: the prefix (hashed only),
 * then the inner packets. */
static gboolean
body_feed (SkPgpDecryptor *self, const guint8 *data, gsize len, GError **error)
{
  if (len == 0)
    return TRUE;
  sk_digest_update (self->sha1, data, len);
  gsize want = sk_cfb_get_block_size (self->cfb) + 2;
  if (self->prefix_len < want)
    {
      gsize take = MIN (want - self->prefix_len, len);
      memcpy (self->prefix + self->prefix_len, data, take);
      self->prefix_len += take;
      data += take;
      len -= take;
      if (self->prefix_len == want && (self->prefix[want - 4] != self->prefix[want - 2] ||
                                       self->prefix[want - 3] != self->prefix[want - 1]))
        inner_fail (self, SK_ERROR_DECRYPT_FAILED, _ ("the session key does not fit the data"));
    }
  if (len == 0 || self->inner == INNER_FAILED)
    return TRUE;
  return inner_feed (self, data, len, error);
}

/* Ciphertext of the encrypted packet's body, past its version octet. */
static gboolean
cipher_feed (SkPgpDecryptor *self, guint8 *data, gsize len, GError **error)
{
  if (!sk_cfb_decrypt (self->cfb, data, len))
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_DECRYPT_FAILED,
                           _ ("libgcrypt failed to decrypt"));
      return FALSE;
    }
  /* Hold back the last MDC_LEN bytes: they may be the detection code. */
  gsize total = self->tail_len + len;
  if (total <= MDC_LEN)
    {
      memcpy (self->tail + self->tail_len, data, len);
      self->tail_len = (guint)total;
      return TRUE;
    }
  gsize emit = total - MDC_LEN;
  gsize from_tail = MIN (emit, (gsize)self->tail_len);
  if (!body_feed (self, self->tail, from_tail, error) ||
      !body_feed (self, data, emit - from_tail, error))
    return FALSE;
  /* The new tail: what is left of the old one, then the end of DATA. */
  guint8 next[MDC_LEN];
  gsize keep_old = self->tail_len - from_tail;
  memcpy (next, self->tail + from_tail, keep_old);
  memcpy (next + keep_old, data + len - (MDC_LEN - keep_old), MDC_LEN - keep_old);
  memcpy (self->tail, next, MDC_LEN);
  self->tail_len = MDC_LEN;
  return TRUE;
}

/* Bytes of the encrypted packet's body. */
static gboolean
seipd_feed (SkPgpDecryptor *self, guint8 *data, gsize len, GError **error)
{
  if (len > 0 && !self->version_seen)
    {
      self->version_seen = TRUE;
      if (data[0] != 1)
        return outer_fail (self, SK_ERROR_DECRYPT_FAILED,
                           _ ("the encrypted data packet is of an unknown version"));
      g_byte_array_append (self->pending, data, 1);
      data++;
      len--;
    }
  if (self->cfb == NULL)
    {
      g_byte_array_append (self->pending, data, (guint)len);
      return TRUE;
    }
  return cipher_feed (self, data, len, error);
}

/* ---- outside: session keys, one encrypted packet ---------------------- */

static gboolean
outer_packet (
    SkPgpDecryptor *self, guint tag, guint64 len, gboolean partial, gboolean to_end, guint hlen)
{
  if (tag == 1 && !partial && !to_end)
    {
      if (++self->session_keys > 64 || self->request->len + hlen + len > KEY_PACKETS_MAX)
        return outer_fail (self, SK_ERROR_DECRYPT_FAILED,
                           _ ("the message holds too many session keys"));
      g_byte_array_append (self->request, self->head, hlen);
      self->remaining = len;
      self->outer = OUTER_SESSION_KEY;
      return TRUE;
    }
  if (tag == 18 && self->session_keys > 0)
    {
      self->outer = to_end ? OUTER_TO_END : OUTER_BODY;
      self->remaining = len;
      self->partial = partial;
      return TRUE;
    }
  if (tag == 9)
    return outer_fail (self, SK_ERROR_DECRYPT_FAILED, _ ("the message is not integrity-protected"));
  if (tag == 20 && self->session_keys > 0)
    return outer_fail (self, SK_ERROR_DECRYPT_FAILED,
                       _ ("the message is AEAD-encrypted, which the station does not read"));
  g_autofree char *why = g_strdup_printf (
      _ ("the message holds a packet besides its encryption (a packet of type %u); "
         "only public-key session keys and one encrypted-data packet are accepted"),
      tag);
  return outer_fail (self, SK_ERROR_DECRYPT_NOT_PLAIN, why);
}

gboolean
sk_pgp_decryptor_feed (SkPgpDecryptor *self, guint8 *data, gsize len, GError **error)
{
  gsize i = 0;
  while (i < len)
    switch (self->outer)
      {
      case OUTER_HEADER:
      case OUTER_CHUNK:
        {
          guint64 plen;
          gboolean partial, to_end, bad;
          guint tag;
          self->head[self->head_len++] = data[i++];
          if (self->outer == OUTER_CHUNK)
            {
              if (!new_length (self->head, self->head_len, &plen, &partial))
                break;
              self->head_len = 0;
              self->remaining = plen;
              self->partial = partial;
              self->outer = plen == 0 && !partial ? OUTER_DONE : OUTER_BODY;
              break;
            }
          if (!parse_header (self->head, self->head_len, &tag, &plen, &partial, &to_end, &bad))
            break;
          guint hlen = self->head_len;
          self->head_len = 0;
          if (bad)
            {
              outer_fail (self, SK_ERROR_DECRYPT_FAILED,
                          _ ("the message is not a public-key encrypted OpenPGP message"));
              return outer_error (self, error);
            }
          if (!outer_packet (self, tag, plen, partial, to_end, hlen))
            return outer_error (self, error);
          if (self->outer == OUTER_BODY && plen == 0 && !partial)
            self->outer = OUTER_DONE;
        }
        break;
      case OUTER_SESSION_KEY:
        {
          gsize take = (gsize)MIN (self->remaining, (guint64)(len - i));
          g_byte_array_append (self->request, data + i, (guint)take);
          self->remaining -= take;
          i += take;
          if (self->remaining == 0)
            self->outer = OUTER_HEADER;
        }
        break;
      case OUTER_BODY:
        {
          gsize take = (gsize)MIN (self->remaining, (guint64)(len - i));
          if (!seipd_feed (self, data + i, take, error))
            return self->outer == OUTER_FAILED ? outer_error (self, error) : FALSE;
          self->remaining -= take;
          i += take;
          if (self->remaining == 0)
            self->outer = self->partial ? OUTER_CHUNK : OUTER_DONE;
        }
        break;
      case OUTER_TO_END:
        if (!seipd_feed (self, data + i, len - i, error))
          return self->outer == OUTER_FAILED ? outer_error (self, error) : FALSE;
        return TRUE;
      case OUTER_DONE:
        outer_fail (self, SK_ERROR_DECRYPT_NOT_PLAIN,
                    _ ("the message has bytes after its encrypted data"));
        return outer_error (self, error);
      case OUTER_FAILED:
        return outer_error (self, error);
      }
  return TRUE;
}

gboolean
sk_pgp_decryptor_close_input (SkPgpDecryptor *self, GError **error)
{
  self->input_closed = TRUE;
  switch (self->outer)
    {
    case OUTER_DONE:
    case OUTER_TO_END:
      if (!self->version_seen)
        outer_fail (self, SK_ERROR_DECRYPT_FAILED, _ ("the encrypted data packet is empty"));
      break;
    case OUTER_FAILED:
      break;
    case OUTER_BODY:
    case OUTER_CHUNK:
      outer_fail (self, SK_ERROR_DECRYPT_FAILED, _ ("the message is cut short"));
      break;
    default:
      outer_fail (self, SK_ERROR_DECRYPT_FAILED,
                  _ ("the message is not a public-key encrypted OpenPGP message"));
      break;
    }
  if (self->outer == OUTER_FAILED)
    return outer_error (self, error);
  return TRUE;
}

gboolean
sk_pgp_decryptor_wants_key (SkPgpDecryptor *self)
{
  return self->cfb == NULL && self->outer != OUTER_FAILED && self->version_seen &&
         (self->pending->len >= KEY_REQUEST_DATA || self->input_closed);
}

GBytes *
sk_pgp_decryptor_get_key_request (SkPgpDecryptor *self)
{
  guint n = MIN (self->pending->len, KEY_REQUEST_DATA);
  GByteArray *out = g_byte_array_sized_new (self->request->len + 2 + n);
  g_byte_array_append (out, self->request->data, self->request->len);
  /* A new-format encrypted-data packet of N bytes (N < 192). */
  guint8 head[2] = { 0xC0 | 18, (guint8)n };
  g_byte_array_append (out, head, 2);
  g_byte_array_append (out, self->pending->data, n);
  return g_byte_array_free_to_bytes (out);
}

gboolean
sk_pgp_decryptor_set_key (
    SkPgpDecryptor *self, guint algo, const guint8 *key, gsize key_len, GError **error)
{
  g_return_val_if_fail (self->cfb == NULL, FALSE);
  self->cfb = sk_cfb_new (algo, key, key_len);
  self->sha1 = sk_digest_new (2);
  if (self->cfb == NULL || self->sha1 == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_DECRYPT_FAILED,
                   _ ("the message is encrypted with a cipher the station does not read (%u)"),
                   algo);
      return FALSE;
    }
  /* What came before the key, past the version octet. */
  g_autoptr (GByteArray) pending = g_steal_pointer (&self->pending);
  self->pending = g_byte_array_new ();
  if (pending->len > 1 && !cipher_feed (self, pending->data + 1, pending->len - 1, error))
    return FALSE;
  return TRUE;
}

gboolean
sk_pgp_decryptor_finish (SkPgpDecryptor *self, GError **error)
{
  if (self->outer == OUTER_FAILED)
    return outer_error (self, error);
  if (!self->input_closed || self->cfb == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_DECRYPT_FAILED,
                           _ ("the message is incomplete"));
      return FALSE;
    }
  /* The detection code: 0xD3 0x14, then SHA-1 over the prefix, the inner
   * packets and those two octets. */
  gsize dlen = 0;
  gboolean ok = self->tail_len == MDC_LEN &&
                self->prefix_len == sk_cfb_get_block_size (self->cfb) + 2 &&
                self->tail[0] == 0xD3 && self->tail[1] == 0x14;
  if (ok)
    {
      sk_digest_update (self->sha1, self->tail, 2);
      const guint8 *d = sk_digest_finish (self->sha1, &dlen);
      ok = dlen == 20 && memcmp (d, self->tail + 2, 20) == 0;
    }
  if (!ok)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_DECRYPT_FAILED,
                           _ ("the message fails its integrity check: it was altered or damaged"));
      return FALSE;
    }
  if (self->inner_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&self->inner_error));
      return FALSE;
    }
  if (self->inner != INNER_DONE && self->inner != INNER_TO_END)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_DECRYPT_NOT_PLAIN,
                           _ ("the encrypted data does not hold one whole literal data packet"));
      return FALSE;
    }
  if (self->meta_len < self->meta_want)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_DECRYPT_NOT_PLAIN,
                           _ ("the literal data packet is cut short"));
      return FALSE;
    }
  return TRUE;
}
