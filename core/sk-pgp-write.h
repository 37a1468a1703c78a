/* sk-pgp-write.h — the OpenPGP packets the station writes itself
 *
 * `pack` encrypts in-process (issue 15): GnuPG through GPGME passed every
 * byte through two pipes and its trace formatter, about three times the
 * cost of the stock CLI.  What is written here is what `gpg --encrypt
 * --compress-level 0` writes for a Curve25519 recipient, and stock
 * `gpg -d` reads it (tests/test-pgp-write.c round-trips through it):
 *
 * - a public-key encrypted session key packet (tag 1, version 3), ECDH on
 *   Curve25519 (RFC 6637 as rfc4880bis applies it to X25519): a fresh
 *   ephemeral key, the KDF over the shared secret, the session key wrapped
 *   with AES key wrap.  Only the recipient's PUBLIC key takes part.
 * - a symmetrically encrypted integrity-protected data packet (tag 18,
 *   version 1): AES-256 in OpenPGP's CFB, a random prefix, and the
 *   modification detection code (SHA-1) at the end;
 * - inside it, one literal data packet (tag 11, binary, no name, no date),
 *   nothing else: no compression.
 *
 * Signatures are made by gpg-agent over a digest computed here
 * (sk-gpg-agent.c): the secret keys never leave the station's GnuPG home.
 * This file only builds the signature packet around the agent's values.
 */
#pragma once

#include <glib.h>

#include "sk-pgp-packet.h"

G_BEGIN_DECLS

/* The session key's cipher: AES-256. */
#define SK_PGP_CIPHER_AES256 9

/* The body of a session-key packet (tag 1) that gives SESSION_KEY (for
 * CIPHER, an OpenPGP cipher number) to the Curve25519 key RECIPIENT.
 * EPHEMERAL is the sender's one-time secret (32 bytes; NULL: a random
 * one, as always outside the tests). */
GBytes *
sk_pgp_ecdh_session_key (const SkPgpKey *recipient,
                         guint cipher,
                         const guint8 *session_key,
                         gsize key_len,
                         const guint8 *ephemeral,
                         GError **error);

/* Where the message goes, block by block, in order. */
typedef gboolean (*SkPgpOutFunc) (const guint8 *data,
                                  gsize len,
                                  gpointer user_data,
                                  GError **error);

typedef struct _SkPgpEncryptor SkPgpEncryptor;

/* An encrypted message to RECIPIENT (a Curve25519 subkey, as
 * sk_pgp_subkey_from_block() gives it), written to OUT as it grows. */
SkPgpEncryptor *
sk_pgp_encryptor_new (const SkPgpKey *recipient,
                      SkPgpOutFunc out,
                      gpointer user_data,
                      GError **error);
/* The plaintext, in any number of pieces. */
gboolean
sk_pgp_encryptor_feed (SkPgpEncryptor *self, const guint8 *data, gsize len, GError **error);
/* The end of the plaintext: the last block and the detection code. */
gboolean
sk_pgp_encryptor_finish (SkPgpEncryptor *self, GError **error);
void
sk_pgp_encryptor_free (SkPgpEncryptor *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkPgpEncryptor, sk_pgp_encryptor_free)

/* The hashed part of a version 4 binary signature (type 0x00) by the key
 * ISSUER_FPR (40 hex digits) with PK_ALGO over HASH_ALGO, made at CREATED:
 * octets 0 to the end of the hashed subpackets, as the digest takes them —
 * a creation time and the issuer's fingerprint. */
GBytes *
sk_pgp_sig_hashed_part (guint pk_algo, guint hash_algo, gint64 created, const char *issuer_fpr);

/* The whole signature packet (tag 2): HASHED, an unhashed issuer key ID,
 * the digest's first two octets LEFT16, and the N_MPI values of the
 * signature (EdDSA: r, s; RSA: s) as big-endian numbers. */
GBytes *
sk_pgp_sig_packet (GBytes *hashed,
                   const char *issuer_fpr,
                   const guint8 left16[2],
                   guint n_mpi,
                   GBytes *const *mpi);

G_END_DECLS
