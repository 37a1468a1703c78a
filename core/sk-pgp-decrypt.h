/* sk-pgp-decrypt.h — a package's encrypted message, decrypted in-process
 *
 * What the station writes, and all it reads: one or more public-key
 * session-key packets (tag 1), then one integrity-protected encrypted-data
 * packet (tag 18, version 1) that runs to the end of the stream, holding
 * exactly one literal data packet (binary) and the modification detection
 * code.  The session key comes from GnuPG (sk-keyring.c hands it the
 * session-key packets and the first bytes of the encrypted data, which is
 * all it needs to find the key); the bulk is decrypted here, with
 * libgcrypt, as it streams by.
 *
 * Refused: another packet beside the encryption, a password-encrypted
 * session key, the old encrypted packet without integrity protection, bytes
 * after the end (decrypt-not-plain or decrypt-failed, as the reader said
 * before); inside, anything but one literal data packet: compressed data,
 * a signature, a second literal, padding (decrypt-not-plain).  The
 * modification detection code (SHA-1 over the decrypted bytes) is checked
 * at the end, and a failure there wins over every other finding: nothing
 * is acknowledged before it.
 *
 * WHAT IT DOES NOT PROVE.  The detection code is not a signature: it shows
 * that the bytes decrypt as their encrypter made them, not who that was.
 * The package's detached signature, checked before a byte reaches this
 * parser, says who.  The plaintext is handed on as it is decrypted, before
 * the code is checked: the receiver must hold back every conclusion until
 * sk_pgp_decryptor_finish() succeeds.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Takes plaintext as it is decrypted; FALSE (with ERROR) stops. */
typedef gboolean (*SkPgpPlainFunc) (const guint8 *data,
                                    gsize len,
                                    gpointer user_data,
                                    GError **error);

typedef struct _SkPgpDecryptor SkPgpDecryptor;

SkPgpDecryptor *
sk_pgp_decryptor_new (SkPgpPlainFunc plain, gpointer user_data);
void
sk_pgp_decryptor_free (SkPgpDecryptor *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkPgpDecryptor, sk_pgp_decryptor_free)

/* The next bytes of the message.  DATA is decrypted in place. */
gboolean
sk_pgp_decryptor_feed (SkPgpDecryptor *self, guint8 *data, gsize len, GError **error);
/* The end of the message: the encrypted packet must end with it. */
gboolean
sk_pgp_decryptor_close_input (SkPgpDecryptor *self, GError **error);

/* TRUE once the session key is needed: the caller asks GnuPG for it with
 * the request, then sets it (or fails). */
gboolean
sk_pgp_decryptor_wants_key (SkPgpDecryptor *self);
/* The session-key packets and the first bytes of the encrypted data, as a
 * message of their own. */
GBytes *
sk_pgp_decryptor_get_key_request (SkPgpDecryptor *self);
/* ALGO: the cipher's OpenPGP number.  decrypt-failed when it is not one
 * libgcrypt offers or the key does not fit it. */
gboolean
sk_pgp_decryptor_set_key (
    SkPgpDecryptor *self, guint algo, const guint8 *key, gsize key_len, GError **error);

/* After close_input: the detection code, then what the inner parse found. */
gboolean
sk_pgp_decryptor_finish (SkPgpDecryptor *self, GError **error);

G_END_DECLS
