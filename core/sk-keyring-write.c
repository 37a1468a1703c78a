/* sk-keyring-write.c — signing and encrypting
 *
 * Detached signatures and encrypted messages, through GnuPG or in-process
 * (sk-pgp-write.c, with gpg-agent signing a digest: sk-gpg-agent.c).
 */
#define G_LOG_DOMAIN "sekisho-keyring"

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <unistd.h>

#include "sk-hash.h"
#include "sk-gpg-agent.h"
#include "sk-keyring-private.h"
#include "sk-pgp-packet.h"
#include "sk-pgp-write.h"

/* ---- signing --------------------------------------------------------------- */

/* The signer: a secret key of this home whose primary fingerprint is FPR. */
static gboolean
find_signer (SkKeyring *self, const char *fpr, gpgme_key_t *out_key, GError **error)
{
  g_auto (gpgme_key_t) key = NULL;

  if (!sk_fingerprint_is_valid (fpr))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("the signing key must be named by its 40-digit primary fingerprint"));
      return FALSE;
    }
  if (!_sk_keyring_find_key (self->homedir, fpr, TRUE, &key, error))
    return FALSE;
  if (key == NULL || key->subkeys == NULL || !_sk_keyring_fpr_equal (key->subkeys->fpr, fpr))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("there is no secret key %s in the station's keyring"), fpr);
      return FALSE;
    }
  *out_key = g_steal_pointer (&key);
  return TRUE;
}

GBytes *
sk_keyring_sign_detached_bytes (SkKeyring *self, const char *fpr, GBytes *data, GError **error)
{
  g_autoptr (SkGpgContext) ctx = NULL;
  g_auto (gpgme_key_t) key = NULL;
  g_auto (gpgme_data_t) in = NULL;
  g_auto (gpgme_data_t) out = NULL;
  g_autoptr (GBytes) result = NULL;
  g_autoptr (SkSignature) self_check = NULL;
  g_auto (SkGpgmeMem) mem = NULL;
  gpgme_sign_result_t sign_result;
  const char *allowed[] = { fpr, NULL };
  const void *bytes;
  gsize len = 0;
  size_t mem_len = 0;
  gpgme_error_t gerr;

  g_return_val_if_fail (SK_IS_KEYRING (self), NULL);
  g_return_val_if_fail (fpr != NULL, NULL);
  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!find_signer (self, fpr, &key, error))
    return NULL;

  ctx = _sk_keyring_context_new (self->homedir, error);
  if (ctx == NULL)
    return NULL;
  gerr = gpgme_signers_add (ctx, key);
  if (gerr != 0)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_SIG_UNTRUSTED_KEY,
                                        _ ("choosing the signing key"));
      return NULL;
    }

  bytes = g_bytes_get_data (data, &len);
  gerr = gpgme_data_new_from_mem (&in, bytes != NULL ? bytes : "", len, 0);
  if (gerr == 0)
    gerr = gpgme_data_new (&out);
  if (gerr != 0)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("preparing to sign"));
      return NULL;
    }

  gerr = gpgme_op_sign (ctx, in, out, GPGME_SIG_MODE_DETACH);
  sign_result = gpgme_op_sign_result (ctx);
  if (gerr == 0 && sign_result != NULL && sign_result->invalid_signers != NULL)
    gerr = sign_result->invalid_signers->reason != 0 ? sign_result->invalid_signers->reason
                                                     : gpgme_error (GPG_ERR_UNUSABLE_SECKEY);
  if (gerr != 0)
    {
      g_autofree char *what = g_strdup_printf ("signing with %s", fpr);
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_SIG_UNTRUSTED_KEY, what);
      return NULL;
    }
  if (sign_result == NULL || sign_result->signatures == NULL ||
      sign_result->signatures->next != NULL ||
      sign_result->signatures->type != GPGME_SIG_MODE_DETACH)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                   _ ("GnuPG did not make exactly one detached signature"));
      return NULL;
    }

  mem = gpgme_data_release_and_get_mem (g_steal_pointer (&out), &mem_len);
  if (mem == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_MISSING, _ ("GnuPG made an empty signature"));
      return NULL;
    }
  result = g_bytes_new (mem, mem_len);

  /* The self-check: what we hand out must pass our own rule, with FPR as the
   * only allowed signer (catches a weak, expired or revoked station key). */
  self_check = sk_keyring_verify_detached_bytes (self, result, data, allowed, error);
  if (self_check == NULL)
    {
      g_prefix_error (error, _ ("checking the new signature: "));
      return NULL;
    }
  return g_steal_pointer (&result);
}

#define PLAIN_BLOCK (256 * 1024)

/* ---- streaming: sign, encrypt, decrypt ----------------------------------- */

/* The bytes being signed, hashed as GnuPG reads them. */
typedef struct
{
  int fd;
  SkSha256 *sum;
  int read_errno;
} HashingReader;

static gpgme_ssize_t
hashing_read (void *handle, void *buffer, size_t size)
{
  HashingReader *r = handle;
  ssize_t n;
  do
    n = read (r->fd, buffer, size);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    r->read_errno = errno;
  else if (n > 0)
    sk_sha256_update (r->sum, buffer, (gsize)n);
  return n;
}

GBytes *
sk_keyring_sign_detached_fd (
    SkKeyring *self, const char *fpr, int data_fd, char **out_sha256, GError **error)
{
  g_autoptr (SkSha256) sum = out_sha256 != NULL ? sk_sha256_new () : NULL;
  HashingReader reader = { .fd = data_fd, .sum = sum };
  struct gpgme_data_cbs cbs = { .read = hashing_read };
  g_autoptr (SkGpgContext) ctx = NULL;
  g_auto (gpgme_key_t) key = NULL;
  g_auto (gpgme_data_t) in = NULL;
  g_auto (gpgme_data_t) out = NULL;
  g_auto (SkGpgmeMem) mem = NULL;
  size_t mem_len = 0;
  gpgme_error_t gerr;

  g_return_val_if_fail (SK_IS_KEYRING (self), NULL);
  g_return_val_if_fail (fpr != NULL, NULL);

  if (!find_signer (self, fpr, &key, error))
    return NULL;
  ctx = _sk_keyring_context_new (self->homedir, error);
  if (ctx == NULL)
    return NULL;
  if (out_sha256 != NULL && sum == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("SHA-256 is unavailable"));
      return NULL;
    }
  gerr = gpgme_signers_add (ctx, key);
  if (gerr == 0)
    gerr = out_sha256 != NULL ? gpgme_data_new_from_cbs (&in, &cbs, &reader)
                              : gpgme_data_new_from_fd (&in, data_fd);
  _sk_keyring_pipe_buffers (in);
  if (gerr == 0)
    gerr = gpgme_data_new (&out);
  if (gerr == 0)
    gerr = gpgme_op_sign (ctx, in, out, GPGME_SIG_MODE_DETACH);
  gpgme_sign_result_t result = gerr == 0 ? gpgme_op_sign_result (ctx) : NULL;
  if (gerr == 0 && (result == NULL || result->invalid_signers != NULL ||
                    result->signatures == NULL || result->signatures->next != NULL))
    gerr = gpgme_error (GPG_ERR_UNUSABLE_SECKEY);
  if (reader.read_errno != 0)
    {
      sk_error_set_from_errno (error, reader.read_errno, _ ("reading the file to sign"));
      return NULL;
    }
  if (gerr != 0)
    {
      g_autofree char *what = g_strdup_printf ("signing with %s", fpr);
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_SIG_UNTRUSTED_KEY, what);
      return NULL;
    }
  if (out_sha256 != NULL)
    *out_sha256 = g_strdup (sk_sha256_hex (sum));
  mem = gpgme_data_release_and_get_mem (g_steal_pointer (&out), &mem_len);
  if (mem == NULL || mem_len == 0)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_MISSING, _ ("GnuPG made an empty signature"));
      return NULL;
    }
  return g_bytes_new (mem, mem_len);
}

/* Where the message goes: a file, hashed on the way so that what reaches
 * the medium can be compared with what was written. */
typedef struct
{
  int fd;
  SkSha256 *sum;
  int write_errno;
} CipherSink;

static gpgme_ssize_t
cipher_sink_write (void *handle, const void *buffer, size_t size)
{
  CipherSink *sink = handle;
  size_t done = 0;
  while (done < size)
    {
      ssize_t n = write (sink->fd, (const char *)buffer + done, size - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          sink->write_errno = n < 0 ? errno : ENOSPC;
          errno = sink->write_errno;
          return -1;
        }
      done += (size_t)n;
    }
  if (sink->sum != NULL)
    sk_sha256_update (sink->sum, buffer, size);
  return (gpgme_ssize_t)size;
}

gboolean
sk_keyring_encrypt_fd (SkKeyring *self,
                       const char *recipient,
                       int plain_fd,
                       int out_fd,
                       char **out_sha256,
                       GCancellable *cancellable,
                       GError **error)
{
  g_autoptr (SkSha256) sum = out_sha256 != NULL ? sk_sha256_new () : NULL;
  CipherSink sink = { .fd = out_fd, .sum = sum };
  struct gpgme_data_cbs out_cbs = { .write = cipher_sink_write };
  g_autoptr (SkGpgContext) ctx = NULL;
  g_auto (gpgme_key_t) key = NULL;
  g_auto (gpgme_data_t) in = NULL;
  g_auto (gpgme_data_t) out = NULL;
  gpgme_error_t gerr;

  g_return_val_if_fail (SK_IS_KEYRING (self), FALSE);

  if (recipient == NULL || !sk_fingerprint_is_valid (recipient))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("the recipient must be named by its 40-digit primary fingerprint"));
      return FALSE;
    }
  if (!_sk_keyring_lookup (self, recipient, &key, error))
    return FALSE;
  if (key == NULL || key->subkeys == NULL ||
      !_sk_keyring_fpr_equal (key->subkeys->fpr, recipient) || !key->can_encrypt || key->revoked ||
      key->expired)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("the station's keyring has no usable encryption key for %s"), recipient);
      return FALSE;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  ctx = _sk_keyring_context_new (self->homedir, error);
  if (ctx == NULL)
    return FALSE;
  gpgme_key_t recipients[] = { key, NULL };
  if (out_sha256 != NULL && sum == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("SHA-256 is unavailable"));
      return FALSE;
    }
  gerr = gpgme_data_new_from_fd (&in, plain_fd);
  if (gerr == 0)
    gerr = gpgme_data_new_from_cbs (&out, &out_cbs, &sink);
  _sk_keyring_pipe_buffers (in);
  _sk_keyring_big_buffers (out);
  /* Trust is the policy's, not GnuPG's web of trust: the recipient was
   * named by fingerprint in the signed policy. */
  if (gerr == 0)
    gerr = gpgme_op_encrypt (ctx, recipients,
                             GPGME_ENCRYPT_ALWAYS_TRUST | GPGME_ENCRYPT_NO_COMPRESS, in, out);
  gpgme_encrypt_result_t result = gerr == 0 ? gpgme_op_encrypt_result (ctx) : NULL;
  if (gerr == 0 && result != NULL && result->invalid_recipients != NULL)
    gerr = gpgme_error (GPG_ERR_UNUSABLE_PUBKEY);
  if (sink.write_errno != 0)
    {
      sk_error_set_from_errno (error, sink.write_errno, _ ("writing the encrypted message"));
      return FALSE;
    }
  if (gerr != 0)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("encrypting"));
      return FALSE;
    }
  if (out_sha256 != NULL)
    *out_sha256 = g_strdup (sk_sha256_hex (sum));
  return TRUE;
}

/* ---- encryption and signing in-process (issue 15) -------------------------- */

static gboolean
not_supported (GError **error, const char *why)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, _ ("left to GnuPG: %s"), why);
  return FALSE;
}

static gboolean
subkey_usable (gpgme_subkey_t sk)
{
  return !sk->revoked && !sk->expired && !sk->disabled && !sk->invalid;
}

gboolean
sk_keyring_encrypt_to (SkKeyring *self,
                       const char *recipient,
                       int plain_fd,
                       SkKeyringSink out,
                       gpointer user_data,
                       GCancellable *cancellable,
                       GError **error)
{
  g_auto (gpgme_key_t) key = NULL;
  g_return_val_if_fail (SK_IS_KEYRING (self), FALSE);

  if (recipient == NULL || !sk_fingerprint_is_valid (recipient))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("The recipient must be named by its 40-digit primary fingerprint."));
      return FALSE;
    }
  if (!_sk_keyring_lookup (self, recipient, &key, error))
    return FALSE;
  if (key == NULL || key->subkeys == NULL ||
      !_sk_keyring_fpr_equal (key->subkeys->fpr, recipient) || !key->can_encrypt || key->revoked ||
      key->expired || key->disabled || key->invalid)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("The station's keyring has no usable encryption key for %s."), recipient);
      return FALSE;
    }
  /* The subkey gpg would choose: the newest usable one that may encrypt. */
  gpgme_subkey_t chosen = NULL;
  for (gpgme_subkey_t sk = key->subkeys; sk != NULL; sk = sk->next)
    if (sk->can_encrypt && subkey_usable (sk) &&
        (chosen == NULL || sk->timestamp > chosen->timestamp))
      chosen = sk;
  if (chosen == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("The station's keyring has no usable encryption key for %s."), recipient);
      return FALSE;
    }
  if (chosen == key->subkeys || chosen->pubkey_algo != GPGME_PK_ECDH || chosen->curve == NULL ||
      (g_ascii_strcasecmp (chosen->curve, "cv25519") != 0 &&
       g_ascii_strcasecmp (chosen->curve, "Curve25519") != 0))
    return not_supported (error, "the encryption key is not a Curve25519 subkey");

  g_autoptr (GBytes) block = _sk_keyring_key_block (self, recipient, error);
  if (block == NULL)
    return FALSE;
  gsize block_len = 0;
  const guint8 *block_data = g_bytes_get_data (block, &block_len);
  g_autoptr (SkPgpKey) subkey =
      sk_pgp_subkey_from_block (block_data, block_len, chosen->fpr, error);
  if (subkey == NULL)
    return FALSE;
  if (!subkey->cv25519)
    return not_supported (error, "the encryption key's parameters are not the usual ones");

  g_autoptr (SkPgpEncryptor) enc = sk_pgp_encryptor_new (subkey, out, user_data, error);
  if (enc == NULL)
    return FALSE;
  g_autofree guint8 *buf = g_malloc (PLAIN_BLOCK);
  for (;;)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      ssize_t n = read (plain_fd, buf, PLAIN_BLOCK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          sk_error_set_from_errno (error, errno, _ ("reading the data to encrypt"));
          return FALSE;
        }
      if (n == 0)
        break;
      if (!sk_pgp_encryptor_feed (enc, buf, (gsize)n, error))
        return FALSE;
    }
  return sk_pgp_encryptor_finish (enc, error);
}

/* The socket of this home's gpg-agent, where gpg looks for it. */
static char *
agent_socket (const char *home)
{
  g_autofree char *in_run = _sk_keyring_agent_socket_in_run_user (home);
  if (in_run != NULL && g_file_test (in_run, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&in_run);
  return g_build_filename (home, "S.gpg-agent", NULL);
}

GBytes *
sk_keyring_sign_digest (
    SkKeyring *self, const char *fpr, SkDigest *digest, guint hash_algo, GError **error)
{
  g_auto (gpgme_key_t) key = NULL;
  g_return_val_if_fail (SK_IS_KEYRING (self), NULL);
  g_return_val_if_fail (digest != NULL, NULL);

  if (hash_algo != GPGME_MD_SHA256 && hash_algo != GPGME_MD_SHA384 && hash_algo != GPGME_MD_SHA512)
    {
      not_supported (error, "the digest is not SHA-2");
      return NULL;
    }
  /* find_signer lists the secret key: gpg starts the home's agent for it. */
  if (!find_signer (self, fpr, &key, error))
    return NULL;
  gpgme_subkey_t primary = key->subkeys;
  for (gpgme_subkey_t sk = primary->next; sk != NULL; sk = sk->next)
    if (sk->can_sign && subkey_usable (sk))
      {
        not_supported (error, "GnuPG would sign with a subkey");
        return NULL;
      }
  if (!primary->can_sign || !subkey_usable (primary) || key->revoked || key->expired ||
      !primary->secret || primary->keygrip == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("The key %s cannot sign: it is expired, revoked or has no secret part."),
                   fpr);
      return NULL;
    }
  /* Its OpenPGP number (GPGME numbers EdDSA 303). */
  guint pk_algo;
  if (primary->pubkey_algo == GPGME_PK_EDDSA && primary->curve != NULL &&
      g_ascii_strcasecmp (primary->curve, "ed25519") == 0)
    pk_algo = 22;
  else if (primary->pubkey_algo == GPGME_PK_RSA || primary->pubkey_algo == GPGME_PK_RSA_S)
    pk_algo = primary->pubkey_algo == GPGME_PK_RSA ? 1 : 3;
  else
    {
      not_supported (error, "the key is neither Ed25519 nor RSA");
      return NULL;
    }

  /* The digest of the data, the hashed part and the v4 trailer. */
  g_autoptr (GBytes) hashed = sk_pgp_sig_hashed_part (
      pk_algo, hash_algo, g_get_real_time () / G_USEC_PER_SEC, primary->fpr);
  g_autoptr (SkDigest) final = sk_digest_copy (digest);
  g_autoptr (SkDigest) check = sk_digest_copy (digest);
  if (final == NULL || check == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("libgcrypt failed to copy a digest"));
      return NULL;
    }
  gsize hashed_len = 0, dlen = 0;
  const guint8 *h = g_bytes_get_data (hashed, &hashed_len);
  guint8 trailer[6] = { 4,
                        0xff,
                        (guint8)(hashed_len >> 24),
                        (guint8)(hashed_len >> 16),
                        (guint8)(hashed_len >> 8),
                        (guint8)hashed_len };
  sk_digest_update (final, h, hashed_len);
  sk_digest_update (final, trailer, sizeof trailer);
  const guint8 *d = sk_digest_finish (final, &dlen);

  g_autofree char *socket_path = agent_socket (self->homedir);
  g_autoptr (GBytes) answer =
      sk_gpg_agent_sign_digest (socket_path, primary->keygrip, hash_algo, d, dlen, error);
  if (answer == NULL)
    return NULL;
  GBytes *mpi[2] = { NULL, NULL };
  guint n_mpi = 0;
  gsize answer_len = 0;
  const guint8 *answer_data = g_bytes_get_data (answer, &answer_len);
  if (!sk_sig_value_parse (answer_data, answer_len, &n_mpi, mpi) ||
      n_mpi != (pk_algo == 22 ? 2u : 1u))
    {
      for (guint i = 0; i < G_N_ELEMENTS (mpi); i++)
        g_clear_pointer (&mpi[i], g_bytes_unref);
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                   _ ("The station's gpg-agent answered with something other than a signature."));
      return NULL;
    }
  g_autoptr (GBytes) packet = sk_pgp_sig_packet (hashed, primary->fpr, d, n_mpi, mpi);
  for (guint i = 0; i < G_N_ELEMENTS (mpi); i++)
    g_clear_pointer (&mpi[i], g_bytes_unref);

  /* The self-check: the packet parses as our verifier reads it and the
   * signature holds under the key's public material. */
  g_autoptr (SkPgpSig) sig = NULL;
  g_autoptr (SkPgpKey) material = NULL;
  gsize plen = 0, off = 0, body = 0;
  guint tag = 0;
  const guint8 *pdata = g_bytes_get_data (packet, &plen);
  if (sk_pgp_read_header (pdata, plen, &off, &tag, &body) && tag == 2 && off + body == plen)
    sig = sk_pgp_sig_parse (pdata + off, body, NULL);
  material = _sk_keyring_export_primary (self, primary->fpr, error);
  if (material == NULL)
    return NULL;
  if (sig == NULL || !_sk_keyring_check_signature_packets (packet, NULL) ||
      sk_pgp_sig_check (sig, check, material) != SK_PGP_GOOD)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                   _ ("The new signature does not verify against the key %s."), fpr);
      return NULL;
    }
  return g_steal_pointer (&packet);
}
