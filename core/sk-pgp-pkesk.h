/* sk-pgp-pkesk.h — public-key encrypted session-key packets, opened with the
 * station's gpg-agent
 *
 * The session key of a package's message used to come from a run of
 * `gpg --decrypt --show-session-key` (10–17 ms, and the reason GPGME started
 * at all on the check and import path).  Now sk-keyring-decrypt.c speaks to
 * the station's gpg-agent itself, as gpg does (g10/pubkey-enc.c): the agent
 * applies the secret key (PKDECRYPT) and answers with the shared point
 * (ECDH) or the decrypted frame (RSA); the rest is done here:
 *
 * - ECDH on Curve25519 (RFC 6637 as draft-ietf-openpgp-rfc4880bis applies
 *   it to X25519): the KDF (the key's hash over 00 00 00 01, the shared
 *   secret, and the parameter block with "Anonymous Sender    " and the
 *   recipient's fingerprint), AES key unwrap (RFC 3394, whose integrity
 *   check must hold), PKCS #5 padding checked octet by octet;
 * - RSA: PKCS #1 v1.5 block type 2 (RFC 8017 §7.2.2), checked strictly;
 * - both: the cipher's number, a key of exactly that cipher's length, and
 *   the two-octet checksum (RFC 4880 §5.1).
 *
 * Everything here parses untrusted bytes (tests/fuzz/fuzz-pgp-pkesk.c): the
 * packets come from the package, checked by its signature before they reach
 * here, and the agent's answer.  Every refusal is decrypt-failed, with no
 * key material in its text.  The secret key never leaves the agent.
 */
#pragma once

#include <glib.h>

#include "sk-pgp-packet.h"

G_BEGIN_DECLS

#define SK_PGP_PK_RSA 1
#define SK_PGP_PK_RSA_E 2
#define SK_PGP_PK_ECDH 18

/* One session-key packet (tag 1, version 3). */
typedef struct
{
  guint8 keyid[8];    /* the recipient's key ID; all zero: a hidden recipient */
  char keyid_hex[17]; /* the same, 16 upper-case hex digits */
  guint pk_algo;
  /* RSA: the encrypted value; ECDH: the ephemeral point (0x40 || 32 octets
   * on Curve25519), each as its MPI's octets.  NULL for other algorithms. */
  GBytes *value;
  GBytes *wrapped; /* ECDH: the wrapped key, without its length octet */
} SkPgpPkesk;

void
sk_pgp_pkesk_free (SkPgpPkesk *pkesk);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkPgpPkesk, sk_pgp_pkesk_free)

gboolean
sk_pgp_pkesk_is_hidden (const SkPgpPkesk *pkesk);

/* The session-key packets at the start of DATA (SkPgpPkesk*, in order), up
 * to the first packet of another kind (or the end).  A packet that does not
 * parse — a length past the end, a version other than 3, numbers cut short
 * or with bytes left over — refuses them all (decrypt-failed).  Packets of
 * algorithms other than RSA and ECDH are kept for their key ID only. */
GPtrArray *
sk_pgp_pkesk_parse_all (const guint8 *data, gsize len, GError **error);

/* What gpg-agent's PKDECRYPT takes for PKESK, a canonical S-expression
 * "(7:enc-val(3:rsa(1:a…)))" or "(7:enc-val(4:ecdh(1:s…)(1:e…)))".  NULL
 * for another algorithm. */
GBytes *
sk_pgp_pkesk_agent_ciphertext (const SkPgpPkesk *pkesk);

/* The value of the agent's answer "(5:value N:…)", pointing into ANSWER
 * (which may end with one NUL octet, as the agent sends it).  FALSE when
 * ANSWER is anything else. */
gboolean
sk_pgp_pkesk_agent_value (const guint8 *answer,
                          gsize answer_len,
                          const guint8 **out_value,
                          gsize *out_len);

/* A session key: its cipher (an OpenPGP number) and key. */
typedef struct
{
  guint algo;
  guint8 key[32];
  gsize len;
} SkPgpSessionKey;

/* ECDH: KEY is the recipient subkey (cv25519 set), SHARED the agent's value
 * for PKESK (0x40 || 32 octets, or the 32 octets).  Wipes what it held. */
gboolean
sk_pgp_pkesk_ecdh_unwrap (const SkPgpPkesk *pkesk,
                          const SkPgpKey *key,
                          const guint8 *shared,
                          gsize shared_len,
                          SkPgpSessionKey *out,
                          GError **error);

/* RSA: FRAME the agent's value for a key of MODULUS_LEN octets (its leading
 * zero octet present or not). */
gboolean
sk_pgp_pkesk_rsa_unpad (
    const guint8 *frame, gsize frame_len, gsize modulus_len, SkPgpSessionKey *out, GError **error);

/* Whether ECDH through KEY is done here: Curve25519, a SHA-2 KDF, AES key
 * wrap.  Anything else is left to GnuPG. */
gboolean
sk_pgp_pkesk_ecdh_supported (const SkPgpKey *key);

G_END_DECLS
