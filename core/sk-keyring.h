/* sk-keyring.h — the station's GnuPG home: verify, sign, import
 *
 * The one door to GPGME.  A keyring is an ordinary GnuPG home (DIR/gnupg) that
 * stock `gpg --homedir` can read.  It never touches ~/.gnupg or $GNUPGHOME,
 * never goes online and never retrieves keys.  Trust is not GnuPG's web of
 * trust: a signature is accepted only when its signer's primary fingerprint is
 * on the allow-list the caller passes (taken from the signed policy).
 */
#pragma once

#include <gio/gio.h>

#include "sk-hash.h"

G_BEGIN_DECLS

/* What an accepted signature proved, and nothing more: that the bytes are the
 * bytes the holder of that key signed, at the time the signature claims. */
typedef struct
{
  char *primary_fpr; /* 40 upper-case hex digits: the primary key */
  char *signing_fpr; /* the key or subkey that made the signature */
  gint64 created;    /* the signature's own creation time, Unix seconds */
  char *hash_algo;   /* "SHA256", "SHA384", "SHA512" */
  char *key_algo;    /* "ed25519", "rsa3072", … */
} SkSignature;

void
sk_signature_free (SkSignature *sig);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkSignature, sk_signature_free)

#define SK_TYPE_KEYRING (sk_keyring_get_type ())
G_DECLARE_FINAL_TYPE (SkKeyring, sk_keyring, SK, KEYRING, GObject)

/* Create HOMEDIR (mode 0700) with a gpg.conf that keeps it offline and makes
 * signatures with SHA-512.  Idempotent on an existing home of ours. */
gboolean
sk_keyring_init_home (const char *homedir, GError **error);

/* Open an existing home.  Fails with SK_ERROR_STATION_INVALID when HOMEDIR is
 * missing, not a directory, or readable by others than its owner. */
SkKeyring *
sk_keyring_new (const char *homedir, GError **error);
const char *
sk_keyring_get_homedir (SkKeyring *self);

/* Verify a binary detached SIGNATURE over DATA.  Exactly one signature is
 * accepted; by a key whose primary fingerprint is in ALLOWED_FPRS (a
 * NULL-terminated list of 40-hex fingerprints; a signing subkey of a listed
 * primary counts as that primary); hash SHA-256 or stronger; RSA ≥ 3072 bits
 * or Ed25519; neither the key nor the subkey expired or revoked.  Each failure
 * is its own SK_ERROR_SIG_* code. */
SkSignature *
sk_keyring_verify_detached_bytes (SkKeyring *self,
                                  GBytes *signature,
                                  GBytes *data,
                                  const char *const *allowed_fprs,
                                  GError **error);
/* The same over the bytes of an open file, streamed from its current offset. */
SkSignature *
sk_keyring_verify_detached_fd (SkKeyring *self,
                               GBytes *signature,
                               int data_fd,
                               const char *const *allowed_fprs,
                               GCancellable *cancellable,
                               GError **error);

/* The same rule, judged in-process over bytes fed as they are read, so
 * that a package is read once: the signature is parsed here and the bytes
 * hashed as they pass; the signing key's material is exported from this
 * home through GPGME, and whether the key may sign (listed, valid, not
 * expired, not revoked, strong) is GnuPG's word through GPGME as above.
 * Only the plain case is judged in-process: a signature by a primary RSA
 * or Ed25519 key, with SHA-1 or SHA-2.  Anything else — a signing subkey,
 * whose cross-certification only GnuPG checks; another algorithm; a
 * signature whose subpackets are not the usual ones — makes finish() fail
 * with G_IO_ERROR_NOT_SUPPORTED, and the caller verifies the same bytes
 * with sk_keyring_verify_detached_fd() instead (test-keyring shows both ways
 * give the same answer on every case). */
typedef struct _SkVerifier SkVerifier;

/* Rule 0 (the packets of SIGNATURE) is checked here. */
SkVerifier *
sk_keyring_verifier_new (SkKeyring *self, GBytes *signature, GError **error);
void
sk_verifier_update (SkVerifier *verifier, const void *data, gsize len);
/* When the signature's hash is SHA-256 and it is judged in-process: the
 * SHA-256 (lower-case hex) of the bytes fed so far, which that digest has
 * taken already (the store's copy is known by the same one).  Else NULL. */
char *
sk_verifier_dup_sha256 (SkVerifier *verifier);
SkSignature *
sk_verifier_finish (SkVerifier *verifier, const char *const *allowed_fprs, GError **error);
void
sk_verifier_free (SkVerifier *verifier);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkVerifier, sk_verifier_free)

/* A binary detached signature over DATA by the secret key whose primary
 * fingerprint is FPR, which must be in this home. */
GBytes *
sk_keyring_sign_detached_bytes (SkKeyring *self, const char *fpr, GBytes *data, GError **error);

/* The same over the bytes of an open file, from its current offset to its
 * end, streamed.  (No self-check: the caller verifies what it hands out.)
 * With OUT_SHA256, the SHA-256 of the bytes GnuPG read and signed. */
GBytes *
sk_keyring_sign_detached_fd (
    SkKeyring *self, const char *fpr, int data_fd, char **out_sha256, GError **error);

/* Encrypt everything read from PLAIN_FD to the key whose primary fingerprint
 * is RECIPIENT, writing a binary OpenPGP message to OUT_FD: public-key
 * encryption only — no signature inside, no compression.  With OUT_SHA256,
 * the SHA-256 (lower-case hex) of the bytes written. */
gboolean
sk_keyring_encrypt_fd (SkKeyring *self,
                       const char *recipient,
                       int plain_fd,
                       int out_fd,
                       char **out_sha256,
                       GCancellable *cancellable,
                       GError **error);

/* The same, in-process (sk-pgp-write.h): everything read from PLAIN_FD is
 * encrypted here to RECIPIENT's newest usable encryption subkey, and the
 * message handed to OUT block by block.  Only that subkey's public part is
 * used.  G_IO_ERROR_NOT_SUPPORTED when it is not a Curve25519 key: the
 * caller then uses sk_keyring_encrypt_fd(). */
gboolean
sk_keyring_encrypt_to (
    SkKeyring *self,
    const char *recipient,
    int plain_fd,
    gboolean (*out) (const guint8 *data, gsize len, gpointer user_data, GError **error),
    gpointer user_data,
    GCancellable *cancellable,
    GError **error);

/* A detached signature by the primary key FPR over the bytes DIGEST has
 * been fed with (DIGEST: SHA-256, SHA-384 or SHA-512, by OpenPGP number
 * HASH_ALGO; left unfinished).  The signature packet is built here and
 * gpg-agent signs its digest only (sk-gpg-agent.h); the result is checked
 * against the key's public material before it is returned.
 * G_IO_ERROR_NOT_SUPPORTED when GnuPG would sign with a subkey, or the key
 * is neither Ed25519 nor RSA: the caller then uses
 * sk_keyring_sign_detached_fd(). */
GBytes *
sk_keyring_sign_digest (
    SkKeyring *self, const char *fpr, SkDigest *digest, guint hash_algo, GError **error);

/* Decrypt the message read from CIPHER_FD into OUT_FD with a secret key of
 * this home: GnuPG finds the session key, the bulk is decrypted in-process
 * (sk-pgp-decrypt.h says what is read and what refused).  Refused: a
 * message for another key (decrypt-wrong-recipient), anything but one
 * literal data packet inside — signed, compressed, padded
 * (decrypt-not-plain), anything else that does not decrypt or fails its
 * integrity check (decrypt-failed).  A write to OUT_FD that fails with
 * EPIPE (the reader stopped) ends the decryption with
 * G_IO_ERROR_CANCELLED.  CIPHER_SIZE is not used (kept for callers). */
gboolean
sk_keyring_decrypt_fd (SkKeyring *self,
                       int cipher_fd,
                       guint64 cipher_size,
                       int out_fd,
                       GCancellable *cancellable,
                       GError **error);

/* The same, handing the plaintext to SINK as it is decrypted (SINK's
 * failure ends the decryption with its error). */
typedef gboolean (*SkKeyringSink) (const guint8 *data,
                                   gsize len,
                                   gpointer user_data,
                                   GError **error);
gboolean
sk_keyring_decrypt_to (SkKeyring *self,
                       int cipher_fd,
                       SkKeyringSink sink,
                       gpointer user_data,
                       GCancellable *cancellable,
                       GError **error);

/* The session key of MESSAGE (an encrypted message, or at least its
 * session-key packets and first encrypted bytes) as `gpg
 * --show-session-key` shows it, "ALGO:HEX", opened by the station's
 * gpg-agent alone (no gpg process); G_IO_ERROR_NOT_SUPPORTED where the
 * decryption would leave it to GnuPG.  For tests: it hands out a secret
 * the caller must wipe. */
char *
sk_keyring_show_session_key (SkKeyring *self, GBytes *message, GError **error);

/* Import public keys from KEYDATA (binary or armored).  Secret keys are
 * imported only when their primary fingerprint is ALLOWED_SECRET_FPR; any
 * other secret key refuses the whole import (SK_ERROR_KEY_REFUSED) and nothing
 * is imported.  Returns the primary fingerprints imported, sorted. */
GPtrArray *
sk_keyring_import (SkKeyring *self,
                   GBytes *keydata,
                   const char *allowed_secret_fpr,
                   GError **error);

/* Every public key of the keyring, binary, as `gpg --export` writes them
 * (for a station backup); never a secret key. */
GBytes *
sk_keyring_export_public (SkKeyring *self, GError **error);

gboolean
sk_keyring_has_public_key (SkKeyring *self, const char *fpr);
gboolean
sk_keyring_has_secret_key (SkKeyring *self, const char *fpr);

/* Fingerprints: 40 upper-case hex digits of a v4 primary key. */
gboolean
sk_fingerprint_is_valid (const char *fpr);
/* Upper-cases and drops spaces; NULL when the result is not valid. */
char *
sk_fingerprint_normalize (const char *input);

/* A key in the keyring, for people to read (station status, key list). */
typedef struct
{
  char *fpr;  /* of the primary key */
  char *uid;  /* the first user id: untrusted text, may be NULL */
  char *algo; /* "ed25519", "rsa3072", … */
  gint64 created;
  gint64 expires; /* seconds since the epoch; 0: never */
  gboolean expired, revoked, has_secret;
} SkKeyInfo;

void
sk_key_info_free (SkKeyInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkKeyInfo, sk_key_info_free)

/* How many runs of gpg this object has spent listing and exporting the
 * public keys of its home: they are kept for the life of the object and
 * made again only when the home changed (sk-keyring-cache.c).  For tests
 * and benchmarks of that cache. */
guint
sk_keyring_get_key_runs (SkKeyring *self);

/* Every key in the keyring (SkKeyInfo*), in the keyring's order. */
GPtrArray *
sk_keyring_list_keys (SkKeyring *self, GError **error);

G_END_DECLS
