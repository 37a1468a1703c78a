/* fuzz-pgp-sig.c — the OpenPGP signature and key packets read in-process
 *
 * Input: OpenPGP packets.  Each is framed with sk_pgp_read_header; a
 * signature packet (tag 2) goes to sk_pgp_sig_parse and, when it parses and
 * its hash is one computed in-process, is checked over a fixed text against
 * two fixed keys (an Ed25519 key and an RSA key) with sk_pgp_sig_check; a
 * public key or subkey packet (tags 6, 14) goes to sk_pgp_key_parse; the
 * whole input goes to sk_pgp_key_from_block, and to
 * sk_pgp_subkey_from_block for the fingerprint of each subkey packet met (so
 * that the search finds it) and for one that is nowhere; and the whole input
 * to sk_pgp_split_key_blocks, as a `gpg --export` of several keys: its
 * blocks lie in the input in order, each begins with a public key packet
 * whose fingerprint is the one named, and is found again by
 * sk_pgp_key_from_block.  Besides the sanitizers, what
 * the parsers promise: a refusal sets an error, a fingerprint is 40
 * upper-case hex digits, an Ed25519 point is 32 bytes, the hashed part of a
 * signature lies within its body.
 */
#include "config.h"

#include <string.h>

#include "sk-error.h"
#include "sk-fuzz.h"
#include "sk-pgp-packet.h"

static const char text[] = "the signed text";

/* Version 4 key bodies made here: the Ed25519 base point, and a 3072-bit
 * modulus of no particular value with exponent 65537. */
static SkPgpKey *
fixed_key (gboolean rsa)
{
  g_autoptr (GByteArray) body = g_byte_array_new ();
  static const guint8 head[] = { 4, 0x5f, 0, 0, 0 };
  g_byte_array_append (body, head, sizeof head);
  if (!rsa)
    {
      static const guint8 ed[] = { 22,   9,    0x2b, 0x06, 0x01, 0x04, 0x01,
                                   0xda, 0x47, 0x0f, 0x01, 0x01, 0x07, 0x40 };
      g_byte_array_append (body, ed, sizeof ed);
      guint8 point[32];
      memset (point, 0x66, sizeof point);
      point[0] = 0x58;
      g_byte_array_append (body, point, sizeof point);
    }
  else
    {
      static const guint8 algo[] = { 1, 0x0c, 0x00 };
      g_byte_array_append (body, algo, sizeof algo);
      for (guint i = 0; i < 384; i++)
        {
          guint8 b = (guint8)(i == 0 ? 0xc5 : i * 37 + 11);
          g_byte_array_append (body, &b, 1);
        }
      static const guint8 e[] = { 0x00, 0x11, 0x01, 0x00, 0x01 };
      g_byte_array_append (body, e, sizeof e);
    }
  g_autoptr (GError) error = NULL;
  SkPgpKey *key = sk_pgp_key_parse (body->data, body->len, &error);
  g_assert (key != NULL && error == NULL);
  g_assert ((key->ed25519 && key->n_mpi == 1) || (rsa && key->n_mpi == 2));
  return key;
}

static gboolean
is_upper_hex (const char *s, gsize len)
{
  if (strlen (s) != len)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isdigit (s[i]) && !(s[i] >= 'A' && s[i] <= 'F'))
      return FALSE;
  return TRUE;
}

static void
check_key (SkPgpKey *key)
{
  g_assert (is_upper_hex (key->fpr, 40));
  g_assert (key->n_mpi <= 2);
  if (key->ed25519)
    g_assert (key->n_mpi == 1 && g_bytes_get_size (key->mpi[0]) == 32);
  if (key->cv25519)
    g_assert (!key->ed25519 && key->n_mpi == 1 && g_bytes_get_size (key->mpi[0]) == 32 &&
              key->kdf_hash <= 255 && key->kdf_cipher <= 255);
}

/* The export of several keys, split into blocks by primary. */
static void
key_blocks (const uint8_t *data, size_t size)
{
  g_autoptr (GBytes) input = g_bytes_new_static (data, size);
  g_autoptr (GPtrArray) fprs = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) blocks = sk_pgp_split_key_blocks (input, &fprs, &error);
  if (blocks == NULL)
    {
      g_assert (g_error_matches (error, SK_ERROR, SK_ERROR_SIG_BAD) && fprs == NULL);
      return;
    }
  g_assert (error == NULL && fprs != NULL && fprs->len == blocks->len);
  const guint8 *end = data;
  for (guint i = 0; i < blocks->len; i++)
    {
      gsize len = 0;
      const guint8 *block = g_bytes_get_data (blocks->pdata[i], &len);
      g_assert (len > 0 && block >= end && block + len <= data + size);
      end = block + len;
      gsize off = 0, body = 0;
      guint tag = 0;
      g_assert (sk_pgp_read_header (block, len, &off, &tag, &body) && tag == 6);
      g_assert (is_upper_hex (fprs->pdata[i], 40));
      g_autoptr (SkPgpKey) primary = sk_pgp_key_from_block (block, len, NULL);
      g_assert (primary != NULL && g_str_equal (primary->fpr, fprs->pdata[i]));
      check_key (primary);
    }
}

static void
signature (const guint8 *body, gsize len, SkPgpKey *const *keys)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPgpSig) sig = sk_pgp_sig_parse (body, len, &error);
  if (sig == NULL)
    {
      g_assert (g_error_matches (error, SK_ERROR, SK_ERROR_SIG_BAD));
      return;
    }
  g_assert (error == NULL);
  g_assert (g_bytes_get_size (sig->hashed) >= 6 && g_bytes_get_size (sig->hashed) <= len);
  g_assert (sig->n_mpi <= 2);
  g_assert (sig->issuer_fpr[0] == '\0' || is_upper_hex (sig->issuer_fpr, 40));
  g_assert (sig->issuer_keyid[0] == '\0' || is_upper_hex (sig->issuer_keyid, 16));
  for (guint k = 0; k < 2; k++)
    {
      g_autoptr (SkDigest) digest = sk_pgp_sig_start (sig);
      if (digest == NULL)
        return;
      sk_digest_update (digest, text, sizeof text - 1);
      SkPgpVerdict verdict = sk_pgp_sig_check (sig, digest, keys[k]);
      g_assert (verdict == SK_PGP_GOOD || verdict == SK_PGP_BAD || verdict == SK_PGP_UNSUPPORTED);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* A GError set twice, or any other GLib warning, is a bug here. */
  g_log_set_always_fatal (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
  static SkPgpKey *keys[2];
  if (keys[0] == NULL)
    {
      keys[0] = fixed_key (FALSE);
      keys[1] = fixed_key (TRUE);
    }

  gsize off = 0;
  while (off < size)
    {
      gsize body = 0;
      guint tag = 0;
      gsize before = off;
      if (!sk_pgp_read_header (data, size, &off, &tag, &body))
        {
          g_assert (off == before);
          break;
        }
      g_assert (off > before && body <= size - off);
      if (tag == 2)
        signature (data + off, body, keys);
      else if (tag == 6 || tag == 14)
        {
          g_autoptr (GError) error = NULL;
          g_autoptr (SkPgpKey) key = sk_pgp_key_parse (data + off, body, &error);
          g_assert ((key == NULL) == (error != NULL));
          if (key != NULL)
            check_key (key);
          if (key != NULL && tag == 14)
            {
              g_autoptr (SkPgpKey) found = sk_pgp_subkey_from_block (data, size, key->fpr, NULL);
              g_assert (found != NULL && g_str_equal (found->fpr, key->fpr));
              check_key (found);
            }
        }
      off += body;
    }

  g_autoptr (GError) error = NULL;
  g_autoptr (SkPgpKey) key = sk_pgp_key_from_block (data, size, &error);
  g_assert ((key == NULL) == (error != NULL));
  if (key != NULL)
    check_key (key);
  g_autoptr (GError) sub_error = NULL;
  g_autoptr (SkPgpKey) none =
      sk_pgp_subkey_from_block (data, size, "0000000000000000000000000000000000000000", &sub_error);
  g_assert (none == NULL && sub_error != NULL);
  key_blocks (data, size);
  return 0;
}
