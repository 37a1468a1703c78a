/* sk-keyring-decrypt.c — decryption
 *
 * GnuPG finds the session key; the bulk is decrypted in-process
 * (sk-pgp-decrypt.c).
 */
#define G_LOG_DOMAIN "sekisho-keyring"

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sk-hash.h"
#include "sk-keyring-private.h"
#include "sk-pgp-decrypt.h"

/* The cipher text read per step. */
#define DECRYPT_BLOCK (256 * 1024)

/* ---- decryption ----------------------------------------------------------
 *
 * The message is read here and decrypted in-process (sk-pgp-decrypt.c);
 * GnuPG is asked for the session key only, with the session-key packets and
 * the first bytes of the encrypted data: the secret key never leaves its
 * agent, and the bulk never goes through GPGME's pipes.
 */

/* Where the plaintext goes: the reader's socket (or any fd). */
typedef struct
{
  int fd;
  gboolean reader_gone;
} PlainSink;

static gboolean
plain_sink_write (const guint8 *buffer, gsize size, gpointer user_data, GError **error)
{
  PlainSink *sink = user_data;
  gsize done = 0;
  while (done < size)
    {
      ssize_t n = send (sink->fd, buffer + done, size - done, MSG_NOSIGNAL);
      if (n < 0 && errno == ENOTSOCK)
        n = write (sink->fd, buffer + done, size - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          if (errno == EPIPE || errno == ECONNRESET)
            {
              sink->reader_gone = TRUE;
              g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                   _ ("the reader stopped"));
            }
          else
            sk_error_set_from_errno (error, errno, _ ("passing on the decrypted data"));
          return FALSE;
        }
      done += (gsize)n;
    }
  return TRUE;
}

/* "ALGO:HEX", as GnuPG shows a session key. */
static gboolean
parse_session_key (const char *text, guint *out_algo, guint8 *key, gsize *key_len)
{
  const char *colon = text != NULL ? strchr (text, ':') : NULL;
  if (colon == NULL || colon == text || colon - text > 3)
    return FALSE;
  guint algo = 0;
  for (const char *p = text; p < colon; p++)
    {
      if (!g_ascii_isdigit (*p))
        return FALSE;
      algo = algo * 10 + (guint)(*p - '0');
    }
  gsize hex = strlen (colon + 1);
  if (hex == 0 || hex % 2 != 0 || hex / 2 > *key_len)
    return FALSE;
  for (gsize i = 0; i < hex / 2; i++)
    {
      int hi = g_ascii_xdigit_value (colon[1 + 2 * i]);
      int lo = g_ascii_xdigit_value (colon[2 + 2 * i]);
      if (hi < 0 || lo < 0)
        return FALSE;
      key[i] = (guint8)(hi << 4 | lo);
    }
  *key_len = hex / 2;
  *out_algo = algo;
  return TRUE;
}

/* Ask GnuPG for the session key of the message DEC has begun to read, and
 * hand it over.  GnuPG decrypts the session-key packets with the station's
 * secret key, shows the key, then fails on the encrypted data it was given
 * only the start of; that failure is expected and says nothing. */
static gboolean
obtain_session_key (SkKeyring *self, SkPgpDecryptor *dec, GError **error)
{
  g_autoptr (SkGpgContext) ctx = _sk_keyring_context_new (self->homedir, error);
  if (ctx == NULL)
    return FALSE;
  g_autoptr (GBytes) request = sk_pgp_decryptor_get_key_request (dec);
  g_auto (gpgme_data_t) in = NULL;
  g_auto (gpgme_data_t) out = NULL;
  gsize len = 0;
  const void *bytes = g_bytes_get_data (request, &len);
  gpgme_error_t gerr = gpgme_data_new_from_mem (&in, bytes, len, 0);
  if (gerr == 0)
    gerr = gpgme_data_new (&out);
  if (gerr == 0)
    gerr = gpgme_set_ctx_flag (ctx, "export-session-key", "1");
  if (gerr != 0)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("preparing to decrypt"));
      return FALSE;
    }
  gerr = gpgme_op_decrypt (ctx, in, out);
  gpgme_decrypt_result_t result = gpgme_op_decrypt_result (ctx);
  guint8 key[64];
  gsize key_len = sizeof key;
  guint algo = 0;
  gboolean have_key = result != NULL && result->session_key != NULL &&
                      parse_session_key (result->session_key, &algo, key, &key_len);
  gboolean no_seckey = gpgme_err_code (gerr) == GPG_ERR_NO_SECKEY ||
                       (result != NULL && result->recipients != NULL &&
                        gpgme_err_code (result->recipients->status) == GPG_ERR_NO_SECKEY);
  /* The key is wiped wherever it was held: GPGME's copy, the context's
   * flag (contexts are reused), ours below. */
  if (result != NULL && result->session_key != NULL)
    explicit_bzero (result->session_key, strlen (result->session_key));
  (void)gpgme_set_ctx_flag (ctx, "export-session-key", "0");

  if (!have_key)
    {
      if (no_seckey)
        g_set_error_literal (error, SK_ERROR, SK_ERROR_DECRYPT_WRONG_RECIPIENT,
                             _ ("the message is encrypted to a key this station does not hold"));
      else
        _sk_keyring_set_error_from_gpgme (
            error, gerr != 0 ? gerr : gpgme_error (GPG_ERR_DECRYPT_FAILED), SK_ERROR_DECRYPT_FAILED,
            _ ("decrypting the session key"));
      return FALSE;
    }
  gboolean ok = sk_pgp_decryptor_set_key (dec, algo, key, key_len, error);
  explicit_bzero (key, sizeof key);
  return ok;
}

gboolean
sk_keyring_decrypt_fd (SkKeyring *self,
                       int cipher_fd,
                       guint64 cipher_size,
                       int out_fd,
                       GCancellable *cancellable,
                       GError **error)
{
  PlainSink sink = { .fd = out_fd };
  return sk_keyring_decrypt_to (self, cipher_fd, plain_sink_write, &sink, cancellable, error);
}

gboolean
sk_keyring_decrypt_to (SkKeyring *self,
                       int cipher_fd,
                       SkKeyringSink plain,
                       gpointer user_data,
                       GCancellable *cancellable,
                       GError **error)
{
  g_autoptr (SkPgpDecryptor) dec = sk_pgp_decryptor_new (plain, user_data);
  g_auto (FdReader) reader = { .fd = cipher_fd, .cancellable = cancellable, .n_polls = 1 };
  g_autofree guint8 *buf = g_malloc (DECRYPT_BLOCK);

  g_return_val_if_fail (SK_IS_KEYRING (self), FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  reader.polls[0].fd = cipher_fd;
  reader.polls[0].events = G_IO_IN | G_IO_HUP | G_IO_ERR;
  if (g_cancellable_make_pollfd (cancellable, &reader.polls[1]))
    reader.n_polls = 2;

  for (;;)
    {
      gpgme_ssize_t n = _sk_keyring_fd_reader_read (&reader, buf, DECRYPT_BLOCK);
      if (n < 0)
        {
          if (!g_cancellable_set_error_if_cancelled (cancellable, error))
            sk_error_set_from_errno (error, reader.read_errno, _ ("reading the encrypted message"));
          return FALSE;
        }
      if (n == 0)
        break;
      if (!sk_pgp_decryptor_feed (dec, buf, (gsize)n, error))
        return FALSE;
      if (sk_pgp_decryptor_wants_key (dec) && !obtain_session_key (self, dec, error))
        return FALSE;
    }
  if (!sk_pgp_decryptor_close_input (dec, error))
    return FALSE;
  if (sk_pgp_decryptor_wants_key (dec) && !obtain_session_key (self, dec, error))
    return FALSE;
  return sk_pgp_decryptor_finish (dec, error);
}
