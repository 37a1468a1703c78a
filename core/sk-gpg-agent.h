/* sk-gpg-agent.h — a signature over a digest, and a session key, by the
 * station's gpg-agent
 *
 * `pack` hashes the package as it writes it and asks gpg-agent to sign only
 * the digest (the agent's PKSIGN, as gpg itself does): the secret key stays
 * in the agent of the station's GnuPG home, and no byte of the package goes
 * through GnuPG a second time.  The agent speaks Assuan, a line protocol,
 * on a Unix socket; it is spoken here directly, like KILLAGENT in
 * sk-keyring.c (GPGME's Assuan engine needs gpgconf, which GPGME is kept
 * from running).  Used by sk-keyring.c only.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The agent at SOCKET_PATH signs DIGEST (made with the OpenPGP hash
 * PGP_HASH: 8 SHA-256, 9 SHA-384, 10 SHA-512) with the secret key KEYGRIP
 * (40 hex digits).  Returns the agent's answer, a canonical S-expression
 * "(sig-val …)".  A key that wants a passphrase is refused, never asked
 * for one (loopback pinentry, and every inquiry cancelled). */
GBytes *
sk_gpg_agent_sign_digest (const char *socket_path,
                          const char *keygrip,
                          guint pgp_hash,
                          const guint8 *digest,
                          gsize digest_len,
                          GError **error);

/* A connection to the agent at SOCKET_PATH for decryption (PKDECRYPT, as
 * gpg does in g10/pubkey-enc.c): the secret key stays in the agent, which
 * answers with the shared point (ECDH) or the decrypted frame (RSA);
 * sk-pgp-pkesk.c does the rest.  A key that wants a passphrase is refused,
 * never asked for one (loopback pinentry, and every inquiry but the
 * ciphertext cancelled).  Failures are decrypt-failed; their text names
 * the agent's error, never key material.  Used by sk-keyring-decrypt.c. */
typedef struct _SkGpgAgent SkGpgAgent;

SkGpgAgent *
sk_gpg_agent_connect (const char *socket_path, GError **error);
void
sk_gpg_agent_free (SkGpgAgent *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkGpgAgent, sk_gpg_agent_free)

/* Does the agent hold the secret key KEYGRIP (40 hex digits)? */
gboolean
sk_gpg_agent_has_key (SkGpgAgent *self, const char *keygrip);

/* PKDECRYPT with the key KEYGRIP of CIPHERTEXT (a canonical S-expression,
 * sk_pgp_pkesk_agent_ciphertext()).  The agent's answer, "(5:value …)",
 * wiped when the last reference goes. */
GBytes *
sk_gpg_agent_pkdecrypt (SkGpgAgent *self, const char *keygrip, GBytes *ciphertext, GError **error);

G_END_DECLS
