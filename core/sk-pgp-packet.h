/* sk-pgp-packet.h — the OpenPGP packets the station reads itself
 *
 * A package's detached signature is checked in-process (sk-keyring.c): the
 * signature packet is parsed here, the signed bytes are hashed as they are
 * read, and the signature is checked against the signing key's material,
 * which GnuPG exports from the station's home.  Whether that key may sign
 * at all (listed, valid, not expired, not revoked) is still GnuPG's word,
 * through GPGME.  Everything here is a parser of untrusted bytes
 * (tests/fuzz/fuzz-pgp-sig.c): lengths are checked before every read.
 */
#pragma once

#include <glib.h>

#include "sk-hash.h"

G_BEGIN_DECLS

/* An OpenPGP packet header in DATA at *OFFSET (RFC 4880 §4.2), for packets
 * held whole in memory: partial and indeterminate lengths are refused, and
 * so is a body that runs past LEN.  On success *OFFSET is the body's start. */
gboolean
sk_pgp_read_header (const guint8 *data, gsize len, gsize *offset, guint *out_tag, gsize *out_body);

/* A version 4 signature packet's body. */
typedef struct
{
  guint type;
  guint pk_algo;
  guint hash_algo;
  gint64 created;            /* the hashed creation time; -1 when there is none */
  gint64 expires;            /* seconds after creation; 0: never */
  gboolean unknown_critical; /* a critical subpacket we do not act on */
  gboolean duplicate;        /* a subpacket that must be unique, twice */
  char issuer_fpr[41];       /* upper-case hex; "" when not named */
  char issuer_keyid[17];     /* upper-case hex; "" when not named */
  guint8 left16[2];
  GBytes *hashed; /* octets 0 to the end of the hashed subpackets */
  GBytes *mpi[2]; /* RSA: s; EdDSA: r, s (as their MPIs, without bit counts) */
  guint n_mpi;
} SkPgpSig;

/* SK_ERROR_SIG_BAD when BODY is not a well-formed version 4 signature. */
SkPgpSig *
sk_pgp_sig_parse (const guint8 *body, gsize len, GError **error);
void
sk_pgp_sig_free (SkPgpSig *sig);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkPgpSig, sk_pgp_sig_free)

/* A version 4 public key packet's body, with the material of the two
 * algorithms the station accepts (RSA, EdDSA on Ed25519); others are
 * parsed for their fingerprint only. */
typedef struct
{
  guint pk_algo;
  gint64 created;
  char fpr[41]; /* upper-case hex */
  gboolean ed25519;
  gboolean cv25519; /* ECDH on Curve25519, with these KDF parameters: */
  guint kdf_hash;   /* the KDF's hash, by its OpenPGP number */
  guint kdf_cipher; /* the key-wrapping cipher, by its OpenPGP number */
  GBytes *mpi[2];   /* RSA: n, e; Ed25519, Cv25519: the 32 bytes of the point */
  guint n_mpi;
} SkPgpKey;

SkPgpKey *
sk_pgp_key_parse (const guint8 *body, gsize len, GError **error);
/* The primary key of a binary key block, as GnuPG exports it: its first
 * packet, a public key (tag 6). */
SkPgpKey *
sk_pgp_key_from_block (const guint8 *data, gsize len, GError **error);
/* The subkey (tag 14) of a key block whose fingerprint is FPR (40 hex
 * digits, either case). */
SkPgpKey *
sk_pgp_subkey_from_block (const guint8 *data, gsize len, const char *fpr, GError **error);
/* The key blocks of a binary export of several keys, as `gpg --export`
 * writes them one after another: each from a public key packet (tag 6) up
 * to the next one, as GBytes slices of EXPORT, with the primary's
 * fingerprint in OUT_FPRS (40 upper-case hex digits, index for index).  A
 * block whose primary does not parse is left out (no key of that block can
 * be checked here); broken framing, or anything before the first key,
 * refuses the whole export (SK_ERROR_SIG_BAD).  NULL export: no blocks. */
GPtrArray *
sk_pgp_split_key_blocks (GBytes *export, GPtrArray **out_fprs, GError **error);
void
sk_pgp_key_free (SkPgpKey *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkPgpKey, sk_pgp_key_free)

/* The digest the signed bytes are fed to; NULL when the station does not
 * compute the signature's hash in-process (MD5, RIPEMD-160, unknown). */
SkDigest *
sk_pgp_sig_start (const SkPgpSig *sig);

typedef enum
{
  SK_PGP_GOOD,
  SK_PGP_BAD,
  SK_PGP_UNSUPPORTED, /* an algorithm left to GnuPG */
} SkPgpVerdict;

/* Close DIGEST (fed with the signed bytes) with SIG's trailer and check
 * SIG against KEY. */
SkPgpVerdict
sk_pgp_sig_check (const SkPgpSig *sig, SkDigest *digest, const SkPgpKey *key);

G_END_DECLS
