/* sk-keyring-verify.c — acceptance 1: a detached signature judged
 *
 * By GnuPG through GPGME, or in-process over bytes fed as they are read
 * (SkVerifier); the rule is written out below, once, for both.
 */
#define G_LOG_DOMAIN "sekisho-keyring"

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <unistd.h>

#include "sk-hash.h"
#include "sk-keyring-private.h"

/* ---- verification ----------------------------------------------------------
 *
 * THE RULE.  A detached signature is accepted when, and only when, all hold:
 *
 *  0. before GPGME sees it: it is binary OpenPGP (the first octet of a binary
 *     packet has bit 7 set; armor or text: sig-armored) and is one signature
 *     packet and nothing else (empty, or not starting with a signature:
 *     sig-missing; two: sig-multiple; more packets or broken framing:
 *     sig-bad), version 4, of type 0x00 (binary document; sig-bad) — GPGME
 *     would accept a text-mode signature, which also matches the same text
 *     with other line endings;
 *  1. GPGME reports exactly one signature (none: sig-missing; more:
 *     sig-multiple), and its status is not BAD_SIGNATURE (sig-bad);
 *  2. its key is in this keyring (else sig-untrusted-key), and the primary
 *     fingerprint of that key — the signing key itself, or the primary of the
 *     signing subkey — is on the caller's allow-list (else sig-untrusted-key);
 *  3. neither the primary nor the signing subkey is revoked (sig-key-revoked)
 *     or expired, now (sig-key-expired);
 *  4. the hash is SHA-256, SHA-384 or SHA-512 (else sig-weak-hash);
 *  5. both the signing key and its primary are RSA of at least 3072 bits or
 *     Ed25519 (else sig-weak-key) — the primary made the subkey binding, so a
 *     weak primary makes every subkey forgeable;
 *  6. the signing key may sign, and GPGME has nothing else to say: status
 *     zero, summary not RED, no wrong key usage, no system error.
 * Anything that is not an explicit pass is a refusal (sig-bad at the end).
 *
 * TWO JUDGES, ONE RULE.  Packages are verified in-process (SkVerifier,
 * below: the bytes hashed as they are read once, the signature packet parsed
 * by sk-pgp-packet.c, checked with libgcrypt against the key material this
 * home exports), and so is every signature over bytes in memory
 * (sk_keyring_verify_detached_bytes: the policy, checkpoints, registers,
 * backups) before it falls back on GnuPG; GnuPG through GPGME judges
 * everything else.  Both end in the same judge_facts() on GnuPG's listing
 * of the key (listed and exported once per SkKeyring: sk-keyring-cache.c
 * says when it is made again and what that does not prove), so rules 2–6
 * are GnuPG's word either way; the in-process path only replaces rule 1 (does
 * the signature match the bytes), and only for a signature by a primary RSA
 * or Ed25519 key with SHA-1 or SHA-2 and the usual subpackets.  Anything
 * else — a signing subkey (its cross-certification, rule 6, is checked only
 * by gpg), another algorithm, an odd subpacket — is handed to GnuPG over the
 * same bytes.  The in-process path is stricter in one corner: a critical
 * subpacket other than the creation time, expiry and issuer is refused
 * (gpg accepts a few more).  test-keyring runs every case both ways.
 *
 * WHAT IT DOES NOT PROVE.  Only that the bytes are the bytes the holder of
 * that key signed.  Not when: the creation time is the signer's claim.  Not
 * what for: the station, workflow, direction and freshness (replay) are the
 * manifest's job.  Not that the key was not stolen: revocation is known only
 * once its certificate has been imported here, because this keyring is
 * offline.  Not who the holder is: that is the policy's allow-list, and GnuPG's
 * web of trust (validity, ownertrust) plays no part.
 */

/* Rule 0, before GPGME sees a byte of SIGNATURE. */
gboolean
_sk_keyring_check_signature_packets (GBytes *signature, GError **error)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (signature, &len);
  guint n_signatures = 0;
  guint n_other = 0;
  guint first_tag = 0;
  gboolean wrong_kind = FALSE;
  gsize off = 0;

  if (len == 0)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_MISSING, _ ("the signature is empty"));
      return FALSE;
    }
  if ((data[0] & 0x80) == 0)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_ARMORED,
                   _ ("the signature is ASCII armor or text, not binary OpenPGP"));
      return FALSE;
    }

  while (off < len)
    {
      guint tag = 0;
      gsize body = 0;

      if (!sk_pgp_read_header (data, len, &off, &tag, &body))
        {
          g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                       _ ("the signature is damaged (malformed OpenPGP packet at byte %lu)"),
                       (gulong)off);
          return FALSE;
        }
      if (n_signatures + n_other == 0)
        first_tag = tag;
      if (tag == 2)
        {
          n_signatures++;
          /* Version 4: octet 0 is the version, octet 1 the signature type. */
          if (body < 2 || data[off] != 4 || data[off + 1] != 0x00)
            wrong_kind = TRUE;
        }
      else
        n_other++;
      off += body;
    }

  /* A file that does not start with a signature (a key, a message) is not a
   * detached signature at all, whatever follows. */
  if (n_signatures == 0 || first_tag != 2)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_MISSING,
                   _ ("the signature file holds no detached signature (its first OpenPGP packet "
                      "has tag %u)"),
                   first_tag);
      return FALSE;
    }
  if (n_signatures > 1)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_MULTIPLE,
                   _ ("the signature file holds %u signatures; exactly one is accepted"),
                   n_signatures);
      return FALSE;
    }
  if (n_other > 0)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                   _ ("the signature file holds OpenPGP packets other than the signature"));
      return FALSE;
    }
  if (wrong_kind)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                   _ ("only a version 4 signature over binary data (type 0x00) is accepted"));
      return FALSE;
    }
  return TRUE;
}

static gboolean
fpr_in_list (const char *fpr, const char *const *list)
{
  for (gsize i = 0; list[i] != NULL; i++)
    {
      if (_sk_keyring_fpr_equal (fpr, list[i]))
        return TRUE;
    }
  return FALSE;
}

/* Rule 5: RSA of at least 3072 bits, or EdDSA on Ed25519. */
static gboolean
subkey_is_strong (gpgme_subkey_t subkey)
{
  switch (subkey->pubkey_algo)
    {
    case GPGME_PK_RSA:
    case GPGME_PK_RSA_S:
      return subkey->length >= 3072;
    case GPGME_PK_EDDSA:
      return subkey->curve != NULL && g_ascii_strcasecmp (subkey->curve, "ed25519") == 0;
    default:
      return FALSE;
    }
}

static gboolean
hash_is_strong (gpgme_hash_algo_t algo)
{
  return algo == GPGME_MD_SHA256 || algo == GPGME_MD_SHA384 || algo == GPGME_MD_SHA512;
}

/* Rules 1–6 on GPGME's verdict.  SELF's keyring is where the key is looked up. */
/* What the rules read of a signature, copied out of GPGME's result. */
typedef struct
{
  gpgme_error_t status;
  unsigned int summary;
  gpgme_hash_algo_t hash_algo;
  long int timestamp;
  gboolean wrong_key_usage;
  gboolean has_fpr;
  char fpr[41];
} SkSigFacts;

/* Rules 2–6 on FACTS, with KEY (looked up in SELF's listing when NULL). */
static SkSignature *
judge_facts (SkKeyring *self,
             const SkSigFacts *facts_in,
             gpgme_key_t found,
             const char *const *allowed_fprs,
             GError **error)
{
  g_auto (gpgme_key_t) key = NULL;
  g_autoptr (SkSignature) out = NULL;
  SkSigFacts facts = *facts_in;
  gpgme_subkey_t primary;
  gpgme_subkey_t signer = NULL;
  gpg_err_code_t status = gpgme_err_code (facts.status);
  g_auto (SkGpgmeMem) algo = NULL;

  /* Rule 2. */
  if (status == GPG_ERR_NO_PUBKEY || (facts.summary & GPGME_SIGSUM_KEY_MISSING))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("the signing key %s is not in the station's keyring"),
                   facts.has_fpr ? facts.fpr : _ ("(unknown)"));
      return NULL;
    }
  if (!facts.has_fpr)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                   _ ("GnuPG did not name the signing key's fingerprint"));
      return NULL;
    }
  if (found != NULL)
    {
      gpgme_key_ref (found);
      key = found;
    }
  else if (!_sk_keyring_lookup (self, facts.fpr, &key, error))
    return NULL;
  if (key == NULL || key->subkeys == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("the signing key %s is not in the station's keyring"), facts.fpr);
      return NULL;
    }
  primary = key->subkeys;
  for (gpgme_subkey_t sk = key->subkeys; sk != NULL; sk = sk->next)
    {
      if (_sk_keyring_fpr_equal (sk->fpr, facts.fpr))
        signer = sk;
    }
  if (signer == NULL || primary->fpr == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                   _ ("the key listed for %s does not contain the signing key"), facts.fpr);
      return NULL;
    }
  if (!fpr_in_list (primary->fpr, allowed_fprs) || key->disabled)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("the signing key %s is not listed for this use"), primary->fpr);
      return NULL;
    }

  /* Rule 3. */
  if (key->revoked || primary->revoked || signer->revoked || status == GPG_ERR_CERT_REVOKED ||
      (facts.summary & GPGME_SIGSUM_KEY_REVOKED))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_KEY_REVOKED, _ ("the signing key %s is revoked"),
                   signer->fpr);
      return NULL;
    }
  if (key->expired || primary->expired || signer->expired || status == GPG_ERR_KEY_EXPIRED ||
      (facts.summary & GPGME_SIGSUM_KEY_EXPIRED))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_KEY_EXPIRED, _ ("the signing key %s has expired"),
                   signer->fpr);
      return NULL;
    }

  /* Rule 4. */
  if (!hash_is_strong (facts.hash_algo) || status == GPG_ERR_DIGEST_ALGO)
    {
      const char *name = gpgme_hash_algo_name (facts.hash_algo);
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_WEAK_HASH,
                   _ ("the signature uses %s; SHA-256 or stronger is required"),
                   name != NULL ? name : _ ("an unknown hash"));
      return NULL;
    }

  /* Rule 5. */
  algo = gpgme_pubkey_algo_string (signer);
  if (!subkey_is_strong (signer) || !subkey_is_strong (primary))
    {
      g_auto (SkGpgmeMem) primary_algo = gpgme_pubkey_algo_string (primary);

      g_set_error (
          error, SK_ERROR, SK_ERROR_SIG_WEAK_KEY,
          _ ("the signing key is %s (primary %s); RSA of 3072 bits or more, or Ed25519, is "
             "required"),
          algo != NULL ? algo : _ ("unknown"), primary_algo != NULL ? primary_algo : _ ("unknown"));
      return NULL;
    }

  /* Rule 6. */
  if (!signer->can_sign || signer->invalid || signer->disabled || key->invalid ||
      facts.wrong_key_usage)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD, _ ("the key %s may not make signatures"),
                   signer->fpr);
      return NULL;
    }
  if (status != 0 || (facts.summary & (GPGME_SIGSUM_RED | GPGME_SIGSUM_SYS_ERROR)))
    {
      char buf[256];
      if (gpgme_strerror_r (facts.status, buf, sizeof buf) != 0)
        g_strlcpy (buf, "unknown error", sizeof buf);
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                   _ ("GnuPG did not accept the signature (%s, summary 0x%x)"), buf,
                   (guint)facts.summary);
      return NULL;
    }

  out = g_new0 (SkSignature, 1);
  out->primary_fpr = g_ascii_strup (primary->fpr, -1);
  out->signing_fpr = g_ascii_strup (signer->fpr, -1);
  out->created = (gint64)facts.timestamp;
  out->hash_algo = g_strdup (gpgme_hash_algo_name (facts.hash_algo));
  out->key_algo = g_strdup (algo != NULL ? algo : "unknown");
  return g_steal_pointer (&out);
}

static SkSignature *
check_verify_result (SkKeyring *self,
                     gpgme_verify_result_t result,
                     const char *const *allowed_fprs,
                     GError **error)
{
  gpgme_signature_t sig;
  SkSigFacts facts = { 0 };

  /* Rule 1. */
  if (result == NULL || result->signatures == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_MISSING, _ ("GnuPG found no signature"));
      return NULL;
    }
  if (result->signatures->next != NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_MULTIPLE,
                   _ ("GnuPG found more than one signature; exactly one is accepted"));
      return NULL;
    }
  /* The result belongs to the context until its next operation: keep what
   * the rules need. */
  sig = result->signatures;
  facts.status = sig->status;
  facts.summary = sig->summary;
  facts.hash_algo = sig->hash_algo;
  facts.timestamp = sig->timestamp;
  facts.wrong_key_usage = sig->wrong_key_usage;
  if (sig->fpr != NULL)
    g_strlcpy (facts.fpr, sig->fpr, sizeof facts.fpr);
  facts.has_fpr = sig->fpr != NULL && strlen (sig->fpr) == 40;
  if (gpgme_err_code (facts.status) == GPG_ERR_BAD_SIGNATURE)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD, _ ("the signature does not match the data"));
      return NULL;
    }
  return judge_facts (self, &facts, NULL, allowed_fprs, error);
}

/* Rule 0, GPGME, then rules 1–6.  SIGNED_TEXT is positioned at its start. */
static SkSignature *
verify_data (SkKeyring *self,
             GBytes *signature,
             gpgme_data_t signed_text,
             const char *const *allowed_fprs,
             GError **error)
{
  g_autoptr (SkGpgContext) ctx = NULL;
  g_auto (gpgme_data_t) sig_data = NULL;
  gsize sig_len = 0;
  const void *sig_bytes;
  gpgme_error_t gerr;

  if (!_sk_keyring_check_signature_packets (signature, error))
    return NULL;

  ctx = _sk_keyring_context_new (self->homedir, error);
  if (ctx == NULL)
    return NULL;

  sig_bytes = g_bytes_get_data (signature, &sig_len);
  gerr = gpgme_data_new_from_mem (&sig_data, sig_bytes, sig_len, 0);
  if (gerr != 0)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR,
                                        _ ("reading the signature"));
      return NULL;
    }

  gerr = gpgme_op_verify (ctx, sig_data, signed_text, NULL);
  if (gpgme_err_code (gerr) == GPG_ERR_NO_DATA)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_MISSING, _ ("GnuPG found no signature"));
      return NULL;
    }
  if (gerr != 0)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_SIG_BAD,
                                        _ ("verifying the signature"));
      return NULL;
    }

  return check_verify_result (self, gpgme_op_verify_result (ctx), allowed_fprs, error);
}

SkSignature *
sk_keyring_verify_detached_bytes (SkKeyring *self,
                                  GBytes *signature,
                                  GBytes *data,
                                  const char *const *allowed_fprs,
                                  GError **error)
{
  g_auto (gpgme_data_t) signed_text = NULL;
  gsize len = 0;
  const void *bytes;
  gpgme_error_t gerr;

  g_return_val_if_fail (SK_IS_KEYRING (self), NULL);
  g_return_val_if_fail (signature != NULL, NULL);
  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (allowed_fprs != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!_sk_keyring_ensure_gpgme (error))
    return NULL;

  /* In-process first, as packages are (SkVerifier below): the policy, a
   * checkpoint or a register is judged by the same rule without a run of
   * gpg when its signature is the plain kind; anything else is GnuPG's. */
  bytes = g_bytes_get_data (data, &len);
  {
    g_autoptr (SkVerifier) v = sk_keyring_verifier_new (self, signature, error);
    if (v == NULL)
      return NULL;
    if (len > 0)
      sk_verifier_update (v, bytes, len);
    g_autoptr (GError) local_error = NULL;
    SkSignature *sig = sk_verifier_finish (v, allowed_fprs, &local_error);
    if (sig != NULL)
      return sig;
    if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
      {
        g_propagate_error (error, g_steal_pointer (&local_error));
        return NULL;
      }
  }

  gerr = gpgme_data_new_from_mem (&signed_text, bytes != NULL ? bytes : "", len, 0);
  if (gerr != 0)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR,
                                        _ ("reading the signed data"));
      return NULL;
    }
  return verify_data (self, signature, signed_text, allowed_fprs, error);
}

SkSignature *
sk_keyring_verify_detached_fd (SkKeyring *self,
                               GBytes *signature,
                               int data_fd,
                               const char *const *allowed_fprs,
                               GCancellable *cancellable,
                               GError **error)
{
  struct gpgme_data_cbs cbs = { .read = _sk_keyring_fd_reader_read };
  g_auto (FdReader) reader = { .fd = data_fd, .cancellable = cancellable, .n_polls = 1 };
  g_auto (gpgme_data_t) signed_text = NULL;
  g_autoptr (SkSignature) sig = NULL;
  g_autoptr (GError) local_error = NULL;
  gpgme_error_t gerr;

  g_return_val_if_fail (SK_IS_KEYRING (self), NULL);
  g_return_val_if_fail (signature != NULL, NULL);
  g_return_val_if_fail (data_fd >= 0, NULL);
  g_return_val_if_fail (allowed_fprs != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (!_sk_keyring_ensure_gpgme (error))
    return NULL;

  reader.polls[0].fd = data_fd;
  reader.polls[0].events = G_IO_IN | G_IO_HUP | G_IO_ERR;
  if (g_cancellable_make_pollfd (cancellable, &reader.polls[1]))
    reader.n_polls = 2;

  gerr = gpgme_data_new_from_cbs (&signed_text, &cbs, &reader);
  _sk_keyring_pipe_buffers (signed_text);
  if (gerr != 0)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR,
                                        _ ("reading the signed file"));
      return NULL;
    }

  sig = verify_data (self, signature, signed_text, allowed_fprs, &local_error);

  /* A cancellation or a read error explains whatever GPGME made of the
   * truncated stream, and wins over it. */
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (reader.read_errno != 0)
    {
      sk_error_set_from_errno (error, reader.read_errno, _ ("reading the signed file"));
      return NULL;
    }
  if (sig == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  return g_steal_pointer (&sig);
}

/* ---- verification in-process ---------------------------------------- */

/* The public key packet of PRIMARY_FPR, as this home exports it (one
 * export of every key, kept: sk-keyring-cache.c). */
SkPgpKey *
_sk_keyring_export_primary (SkKeyring *self, const char *primary_fpr, GError **error)
{
  g_autoptr (GBytes) block = _sk_keyring_key_block (self, primary_fpr, error);
  if (block == NULL)
    return NULL;
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (block, &len);
  return sk_pgp_key_from_block (data, len, error);
}

struct _SkVerifier
{
  SkKeyring *keyring;
  GBytes *signature;
  SkPgpSig *sig;    /* NULL: left to GnuPG */
  SkDigest *digest; /* of the bytes fed */
  /* The signer's key, looked up before the bytes are hashed (in the
   * keyring's listing and export, each one run of gpg the first time an
   * object needs them).  Not on a thread of its own: GPGME forks gpg, and
   * a fork while another thread holds a lock (an LD_PRELOAD'ed library's,
   * as umockdev's in the media tests) leaves the child waiting on it
   * forever. */
  gpgme_key_t key;    /* NULL: not in this keyring */
  SkPgpKey *material; /* the primary's, when the signer is the primary */
  gboolean by_subkey;
  GError *lookup_error;
};

/* The signing key, as GnuPG lists it, and its primary's material. */
static void
lookup_signer (SkVerifier *v)
{
  const SkPgpSig *sig = v->sig;
  gboolean by_fpr = sig->issuer_fpr[0] != '\0';
  if (!_sk_keyring_lookup (v->keyring, by_fpr ? sig->issuer_fpr : sig->issuer_keyid, &v->key,
                           &v->lookup_error) ||
      v->key == NULL)
    return;
  gpgme_subkey_t signer = NULL;
  for (gpgme_subkey_t sk = v->key->subkeys; sk != NULL; sk = sk->next)
    if (by_fpr ? _sk_keyring_fpr_equal (sk->fpr, sig->issuer_fpr)
               : _sk_keyring_fpr_equal (sk->keyid, sig->issuer_keyid))
      signer = sk;
  if (signer == NULL)
    g_clear_pointer (&v->key, gpgme_key_unref);
  else if (signer != v->key->subkeys)
    v->by_subkey = TRUE;
  else
    v->material = _sk_keyring_export_primary (v->keyring, signer->fpr, &v->lookup_error);
}

SkVerifier *
sk_keyring_verifier_new (SkKeyring *self, GBytes *signature, GError **error)
{
  g_return_val_if_fail (SK_IS_KEYRING (self), NULL);
  g_return_val_if_fail (signature != NULL, NULL);

  if (!_sk_keyring_check_signature_packets (signature, error))
    return NULL;
  SkVerifier *v = g_new0 (SkVerifier, 1);
  v->keyring = g_object_ref (self);
  v->signature = g_bytes_ref (signature);

  /* Rule 0 found exactly one well-framed signature packet. */
  gsize len = 0, off = 0, body = 0;
  guint tag = 0;
  const guint8 *data = g_bytes_get_data (signature, &len);
  if (sk_pgp_read_header (data, len, &off, &tag, &body))
    v->sig = sk_pgp_sig_parse (data + off, body, NULL);
  /* The usual signature only: a creation time, each subpacket once, none
   * critical that we do not act on, a hash computed here.  Anything else
   * is GnuPG's to judge. */
  if (v->sig != NULL && (v->sig->created < 0 || v->sig->duplicate || v->sig->unknown_critical ||
                         (v->sig->issuer_fpr[0] == '\0' && v->sig->issuer_keyid[0] == '\0') ||
                         (v->digest = sk_pgp_sig_start (v->sig)) == NULL))
    g_clear_pointer (&v->sig, sk_pgp_sig_free);
  if (v->sig != NULL)
    lookup_signer (v);
  return v;
}

void
sk_verifier_update (SkVerifier *v, const void *data, gsize len)
{
  if (v->digest != NULL)
    sk_digest_update (v->digest, data, len);
}

char *
sk_verifier_dup_sha256 (SkVerifier *v)
{
  g_return_val_if_fail (v != NULL, NULL);

  if (v->sig == NULL || v->digest == NULL || v->sig->hash_algo != 8)
    return NULL;
  g_autoptr (SkDigest) copy = sk_digest_copy (v->digest);
  gsize len = 0;
  const guint8 *d = copy != NULL ? sk_digest_finish (copy, &len) : NULL;
  if (d == NULL || len != 32)
    return NULL;
  char *hex = g_malloc (65);
  for (gsize i = 0; i < 32; i++)
    {
      hex[2 * i] = "0123456789abcdef"[d[i] >> 4];
      hex[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
    }
  hex[64] = '\0';
  return hex;
}

void
sk_verifier_free (SkVerifier *v)
{
  if (v == NULL)
    return;
  g_clear_pointer (&v->key, gpgme_key_unref);
  sk_pgp_key_free (v->material);
  g_clear_error (&v->lookup_error);
  g_object_unref (v->keyring);
  g_bytes_unref (v->signature);
  sk_pgp_sig_free (v->sig);
  sk_digest_free (v->digest);
  g_free (v);
}

static SkSignature *
not_here (GError **error, const char *why)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
               _ ("the signature is left to GnuPG: %s"), why);
  return NULL;
}

SkSignature *
sk_verifier_finish (SkVerifier *v, const char *const *allowed_fprs, GError **error)
{
  g_return_val_if_fail (v != NULL, NULL);
  g_return_val_if_fail (allowed_fprs != NULL, NULL);

  if (v->sig == NULL)
    return not_here (error, "its packet is not the usual one");

  /* Rule 2 begins: the key the signature names, in this keyring. */
  const SkPgpSig *sig = v->sig;
  if (v->lookup_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&v->lookup_error));
      return NULL;
    }
  if (v->key == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("the signing key %s is not in the station's keyring"),
                   sig->issuer_fpr[0] != '\0' ? sig->issuer_fpr : sig->issuer_keyid);
      return NULL;
    }
  if (v->by_subkey)
    return not_here (error, "it was made by a subkey");

  /* Rule 1: the signature over the bytes, by that key's material. */
  gpgme_subkey_t signer = v->key->subkeys;
  const SkPgpKey *material = v->material;
  if (material == NULL || !_sk_keyring_fpr_equal (material->fpr, signer->fpr))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD, _ ("GnuPG exported another key than %s"),
                   signer->fpr);
      return NULL;
    }
  switch (sk_pgp_sig_check (sig, v->digest, material))
    {
    case SK_PGP_GOOD:
      break;
    case SK_PGP_BAD:
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD, _ ("the signature does not match the data"));
      return NULL;
    case SK_PGP_UNSUPPORTED:
    default:
      return not_here (error, "its algorithm is not checked in-process");
    }

  /* Rules 2–6 as GnuPG's verdict would give them: what gpg would have
   * said of a good signature — a time conflict (a key newer than its
   * signature) and an expired signature are its errors. */
  SkSigFacts facts = { 0 };
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  facts.hash_algo = (gpgme_hash_algo_t)sig->hash_algo;
  facts.timestamp = (long int)sig->created;
  facts.has_fpr = TRUE;
  g_strlcpy (facts.fpr, signer->fpr, sizeof facts.fpr);
  if (material->created > sig->created)
    facts.status = gpgme_error (GPG_ERR_TIME_CONFLICT);
  else if (sig->expires != 0 && sig->created + sig->expires <= now)
    facts.status = gpgme_error (GPG_ERR_SIG_EXPIRED);
  return judge_facts (v->keyring, &facts, v->key, allowed_fprs, error);
}
