/* sk-keyring-decrypt.c — decryption
 *
 * The station's gpg-agent opens the session key (sk-gpg-agent.c,
 * sk-pgp-pkesk.c), with no gpg process; the bulk is decrypted in-process
 * (sk-pgp-decrypt.c).  What that fast path cannot do is left to GnuPG
 * through GPGME, as before.
 */
#define G_LOG_DOMAIN "sekisho-keyring"

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sk-gpg-agent.h"
#include "sk-hash.h"
#include "sk-keyring-private.h"
#include "sk-pgp-decrypt.h"
#include "sk-pgp-pkesk.h"

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
session_key_from_gnupg (SkKeyring *self, SkPgpDecryptor *dec, GBytes *request, GError **error)
{
  g_autoptr (SkGpgContext) ctx = _sk_keyring_context_new (self->homedir, error);
  if (ctx == NULL)
    return FALSE;
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

/* ---- the session key from the agent ----------------------------------
 *
 * As gpg does it (g10/pubkey-enc.c), without gpg: the session-key packets
 * are read here; the one addressed to a subkey of this home whose secret
 * the agent holds is handed to the agent (SETKEY, PKDECRYPT), and its
 * answer is finished in-process (sk-pgp-pkesk.c).  The keygrip, the KDF
 * parameters and the modulus come from the key cache's listing and export
 * (sk-keyring-cache.c).  Left to GnuPG, exactly as before (the fast path
 * declines): no agent to reach, a key of another algorithm or curve, a
 * hidden recipient (GnuPG tries each of its secret keys), a key the agent
 * will not use without a passphrase, any other answer of the agent's.
 */
typedef enum
{
  FAST_OPENED,   /* *OUT holds the session key */
  FAST_REFUSED,  /* ERROR says why: decrypt-failed, decrypt-wrong-recipient */
  FAST_DECLINED, /* GnuPG's to do */
} FastResult;

/* The socket of this home's gpg-agent, where gpg looks for it. */
static char *
agent_socket (const char *home)
{
  g_autofree char *in_run = _sk_keyring_agent_socket_in_run_user (home);
  if (in_run != NULL && g_file_test (in_run, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&in_run);
  return g_build_filename (home, "S.gpg-agent", NULL);
}

/* The subkey of KEY whose key ID is KEYID_HEX. */
static gpgme_subkey_t
find_subkey (gpgme_key_t key, const char *keyid_hex)
{
  for (gpgme_subkey_t sk = key->subkeys; sk != NULL; sk = sk->next)
    if (sk->keyid != NULL && g_ascii_strcasecmp (sk->keyid, keyid_hex) == 0)
      return sk;
  return NULL;
}

/* The public material of SUB (of KEY) as this home exports it, when the
 * fast path can use it for PKESK, with its keygrip; else NULL. */
static SkPgpKey *
usable_material (
    SkKeyring *self, gpgme_key_t key, gpgme_subkey_t sub, const SkPgpPkesk *pkesk, char keygrip[41])
{
  gboolean rsa = pkesk->pk_algo == SK_PGP_PK_RSA || pkesk->pk_algo == SK_PGP_PK_RSA_E;
  gboolean ecdh = pkesk->pk_algo == SK_PGP_PK_ECDH;
  if ((!rsa && !ecdh) ||
      (rsa && sub->pubkey_algo != GPGME_PK_RSA && sub->pubkey_algo != GPGME_PK_RSA_E) ||
      (ecdh && sub->pubkey_algo != GPGME_PK_ECDH) || sub->fpr == NULL || key->subkeys->fpr == NULL)
    return NULL;
  g_autoptr (GError) local = NULL;
  g_autoptr (GBytes) block = _sk_keyring_key_block (self, key->subkeys->fpr, &local);
  if (block == NULL)
    return NULL;
  gsize block_len = 0;
  const guint8 *block_data = g_bytes_get_data (block, &block_len);
  g_autoptr (SkPgpKey) material =
      g_ascii_strcasecmp (sub->fpr, key->subkeys->fpr) == 0
          ? sk_pgp_key_from_block (block_data, block_len, &local)
          : sk_pgp_subkey_from_block (block_data, block_len, sub->fpr, &local);
  if (material == NULL || (ecdh && !sk_pgp_pkesk_ecdh_supported (material)) ||
      (rsa && (material->n_mpi != 2 || material->pk_algo != pkesk->pk_algo)))
    return NULL;
  /* The keygrip: GnuPG's listing names it when asked to; else computed
   * from the same material, as gpg computes it. */
  gsize n_len = 0, e_len = 0;
  const guint8 *n = g_bytes_get_data (material->mpi[0], &n_len);
  const guint8 *e = rsa ? g_bytes_get_data (material->mpi[1], &e_len) : NULL;
  if (sub->keygrip != NULL && strlen (sub->keygrip) == 40)
    g_strlcpy (keygrip, sub->keygrip, 41);
  else if (!(rsa ? sk_keygrip_rsa (n, n_len, e, e_len, keygrip)
                 : n_len == 32 && sk_keygrip_cv25519 (n, keygrip)))
    return NULL;
  return g_steal_pointer (&material);
}

/* PKESK opened with MATERIAL (KEYGRIP) through AGENT: OPENED, REFUSED (the
 * packet does not open) or DECLINED. */
static FastResult
open_with_agent (SkGpgAgent *agent,
                 const SkPgpKey *material,
                 const char *keygrip,
                 const SkPgpPkesk *pkesk,
                 SkPgpSessionKey *out,
                 GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GBytes) ciphertext = sk_pgp_pkesk_agent_ciphertext (pkesk);
  if (ciphertext == NULL)
    return FAST_DECLINED;
  g_autoptr (GBytes) answer = sk_gpg_agent_pkdecrypt (agent, keygrip, ciphertext, &local);
  if (answer == NULL)
    {
      g_debug ("the agent did not decrypt: %s", local->message);
      return FAST_DECLINED;
    }
  const guint8 *value = NULL;
  gsize value_len = 0, answer_len = 0;
  const guint8 *answer_data = g_bytes_get_data (answer, &answer_len);
  if (!sk_pgp_pkesk_agent_value (answer_data, answer_len, &value, &value_len))
    return FAST_DECLINED;
  gboolean ok = pkesk->pk_algo == SK_PGP_PK_ECDH
                    ? sk_pgp_pkesk_ecdh_unwrap (pkesk, material, value, value_len, out, error)
                    : sk_pgp_pkesk_rsa_unpad (value, value_len, g_bytes_get_size (material->mpi[0]),
                                              out, error);
  return ok ? FAST_OPENED : FAST_REFUSED;
}

static FastResult
session_key_from_agent (SkKeyring *self, GBytes *request, SkPgpSessionKey *out, GError **error)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (request, &len);
  g_autoptr (GPtrArray) pkesks = sk_pgp_pkesk_parse_all (data, len, error);
  if (pkesks == NULL)
    return FAST_REFUSED;

  g_autoptr (SkGpgAgent) agent = NULL;
  g_autoptr (GError) first_refusal = NULL;
  gboolean hidden = FALSE;
  for (guint i = 0; i < pkesks->len; i++)
    {
      const SkPgpPkesk *pkesk = pkesks->pdata[i];
      if (sk_pgp_pkesk_is_hidden (pkesk))
        {
          hidden = TRUE;
          continue;
        }
      g_auto (gpgme_key_t) key = NULL;
      g_autoptr (GError) local = NULL;
      if (!_sk_keyring_lookup (self, pkesk->keyid_hex, &key, &local))
        return FAST_DECLINED;
      gpgme_subkey_t sub = key != NULL ? find_subkey (key, pkesk->keyid_hex) : NULL;
      if (sub == NULL)
        continue; /* not a key of this home: not ours */
      char keygrip[41];
      g_autoptr (SkPgpKey) material = usable_material (self, key, sub, pkesk, keygrip);
      if (material == NULL)
        return FAST_DECLINED;
      if (agent == NULL)
        {
          g_autofree char *socket_path = agent_socket (self->homedir);
          agent = sk_gpg_agent_connect (socket_path, &local);
          if (agent == NULL)
            {
              /* No agent running: gpg starts one. */
              g_debug ("no gpg-agent to ask: %s", local->message);
              return FAST_DECLINED;
            }
        }
      if (!sk_gpg_agent_has_key (agent, keygrip))
        continue; /* a public key only */
      FastResult r = open_with_agent (agent, material, keygrip, pkesk, out,
                                      first_refusal == NULL ? &first_refusal : &local);
      if (r != FAST_REFUSED)
        return r;
    }
  /* GnuPG tries a hidden recipient against each of its secret keys. */
  if (hidden)
    return FAST_DECLINED;
  if (first_refusal != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&first_refusal));
      return FAST_REFUSED;
    }
  g_set_error_literal (error, SK_ERROR, SK_ERROR_DECRYPT_WRONG_RECIPIENT,
                       _ ("the message is encrypted to a key this station does not hold"));
  return FAST_REFUSED;
}

/* The session key of the message DEC has begun to read, handed over: from
 * the agent, or else from GnuPG. */
static gboolean
obtain_session_key (SkKeyring *self, SkPgpDecryptor *dec, GError **error)
{
  g_autoptr (GBytes) request = sk_pgp_decryptor_get_key_request (dec);
  SkPgpSessionKey sk = { 0 };
  switch (session_key_from_agent (self, request, &sk, error))
    {
    case FAST_OPENED:
      {
        gboolean ok = sk_pgp_decryptor_set_key (dec, sk.algo, sk.key, sk.len, error);
        explicit_bzero (&sk, sizeof sk);
        return ok;
      }
    case FAST_REFUSED:
      explicit_bzero (&sk, sizeof sk);
      return FALSE;
    case FAST_DECLINED:
    default:
      explicit_bzero (&sk, sizeof sk);
      return session_key_from_gnupg (self, dec, request, error);
    }
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

static gboolean
discard_plain (const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  return TRUE;
}

char *
sk_keyring_show_session_key (SkKeyring *self, GBytes *message, GError **error)
{
  g_return_val_if_fail (SK_IS_KEYRING (self), NULL);
  g_autoptr (SkPgpDecryptor) dec = sk_pgp_decryptor_new (discard_plain, NULL);
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (message, &len);
  /* Fed a copy, piece by piece, until the key is wanted. */
  guint8 buf[4096];
  for (gsize off = 0; off < len && !sk_pgp_decryptor_wants_key (dec);)
    {
      gsize n = MIN (sizeof buf, len - off);
      memcpy (buf, data + off, n);
      off += n;
      if (!sk_pgp_decryptor_feed (dec, buf, n, error))
        return NULL;
    }
  if (!sk_pgp_decryptor_wants_key (dec) && !sk_pgp_decryptor_close_input (dec, error))
    return NULL;
  if (!sk_pgp_decryptor_wants_key (dec))
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_DECRYPT_FAILED,
                           _ ("the message is incomplete"));
      return NULL;
    }
  g_autoptr (GBytes) request = sk_pgp_decryptor_get_key_request (dec);
  SkPgpSessionKey sk = { 0 };
  FastResult r = session_key_from_agent (self, request, &sk, error);
  if (r == FAST_DECLINED)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                         "the station's gpg-agent cannot open this session key alone");
  if (r != FAST_OPENED)
    return NULL;
  /* Written in place, once: no copy of the key is left behind. */
  char *out = g_malloc (4 + 2 * sizeof sk.key + 1);
  gsize n = (gsize)g_snprintf (out, 5, "%u:", sk.algo);
  for (gsize i = 0; i < sk.len; i++)
    g_snprintf (out + n + 2 * i, 3, "%02X", sk.key[i]);
  explicit_bzero (&sk, sizeof sk);
  return out;
}
