/* fuzz-pgp-pkesk.c — session-key packets and the agent's answers
 * (sk-pgp-pkesk.c)
 *
 * Byte 0 chooses:
 * - mode 0 (low 2 bits): bytes 1-2 (big-endian) the length of a run of
 *   packets, then the packets, to sk_pgp_pkesk_parse_all; the rest is an
 *   agent's answer, to sk_pgp_pkesk_agent_value, whose value goes to
 *   sk_pgp_pkesk_ecdh_unwrap for every ECDH packet parsed (under a fixed
 *   Curve25519 key) and to sk_pgp_pkesk_rsa_unpad for every RSA one; every
 *   packet parsed is also made into the agent's ciphertext;
 * - mode 1: the rest is what the wrapped key holds (algorithm, key,
 *   checksum, padding): wrapped here under the KEK of a fixed shared point,
 *   so that the checks after the unwrap are reached;
 * - mode 2: the rest is an RSA frame, for a modulus of its length (bit 2
 *   of byte 0 set: one octet longer, as with the leading zero dropped).
 * Besides the sanitizers: a refusal sets an error of the project's domain
 * (decrypt-failed), a session key taken is of a cipher's length, a
 * ciphertext is a whole S-expression of the shape the agent reads.
 */
#include "config.h"

#include <string.h>

#include "sk-error.h"
#include "sk-fuzz.h"
#include "sk-hash.h"
#include "sk-pgp-pkesk.h"

static const guint8 shared_point[32] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6,
                                         7, 8, 9, 0, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2 };

static SkPgpKey *
fixed_key (void)
{
  SkPgpKey *key = g_new0 (SkPgpKey, 1);
  key->pk_algo = 18;
  key->cv25519 = TRUE;
  key->kdf_hash = 8;
  key->kdf_cipher = 9;
  memcpy (key->fpr, "0123456789ABCDEF0123456789ABCDEF01234567", 41);
  key->mpi[0] = g_bytes_new (shared_point, sizeof shared_point);
  key->n_mpi = 1;
  return key;
}

static void
check_result (gboolean ok, GError *error, const SkPgpSessionKey *sk)
{
  if (ok)
    {
      g_assert (error == NULL);
      g_assert (sk->len == 16 || sk->len == 24 || sk->len == 32);
    }
  else
    g_assert (error != NULL && error->domain == SK_ERROR && error->code == SK_ERROR_DECRYPT_FAILED);
}

/* The KEK of the fixed key and point (RFC 6637 §7), as sk-pgp-pkesk.c
 * computes it; the test has its own copy in tests/test-pgp-pkesk.c. */
static void
fixed_kek (const SkPgpKey *key, guint8 kek[32])
{
  static const guint8 oid[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01 };
  static const guint8 counter[4] = { 0, 0, 0, 1 };
  guint8 head[] = { sizeof oid };
  guint8 params[] = { 18, 3, 1, (guint8)key->kdf_hash, (guint8)key->kdf_cipher };
  guint8 fpr[20];
  for (gsize i = 0; i < 20; i++)
    fpr[i] = (guint8)(g_ascii_xdigit_value (key->fpr[2 * i]) << 4 |
                      g_ascii_xdigit_value (key->fpr[2 * i + 1]));
  SkDigest *kdf = sk_digest_new (8);
  sk_digest_update (kdf, counter, 4);
  sk_digest_update (kdf, shared_point, 32);
  sk_digest_update (kdf, head, 1);
  sk_digest_update (kdf, oid, sizeof oid);
  sk_digest_update (kdf, params, sizeof params);
  sk_digest_update (kdf, "Anonymous Sender    ", 20);
  sk_digest_update (kdf, fpr, 20);
  gsize len = 0;
  memcpy (kek, sk_digest_finish (kdf, &len), 32);
  sk_digest_free (kdf);
}

static void
check_ciphertext (const SkPgpPkesk *p)
{
  GBytes *c = sk_pgp_pkesk_agent_ciphertext (p);
  if (c == NULL)
    {
      g_assert (p->value == NULL);
      return;
    }
  gsize len = 0;
  const char *d = g_bytes_get_data (c, &len);
  g_assert (len > 14 && memcmp (d, "(7:enc-val(", 11) == 0 && memcmp (d + len - 3, ")))", 3) == 0);
  g_bytes_unref (c);
}

static void
run_packets (const guint8 *data, gsize size)
{
  if (size < 2)
    return;
  gsize plen = MIN ((gsize)data[0] << 8 | data[1], size - 2);
  const guint8 *packets = data + 2;
  const guint8 *answer = packets + plen;
  gsize answer_len = size - 2 - plen;

  GError *error = NULL;
  GPtrArray *all = sk_pgp_pkesk_parse_all (packets, plen, &error);
  if (all == NULL)
    {
      g_assert (error != NULL && error->domain == SK_ERROR);
      g_error_free (error);
      return;
    }
  g_assert (error == NULL);
  const guint8 *value = NULL;
  gsize value_len = 0;
  gboolean have_value = sk_pgp_pkesk_agent_value (answer, answer_len, &value, &value_len);
  if (have_value)
    g_assert (value >= answer && value + value_len <= answer + answer_len);
  SkPgpKey *key = fixed_key ();
  for (guint i = 0; i < all->len; i++)
    {
      const SkPgpPkesk *p = all->pdata[i];
      g_assert (strlen (p->keyid_hex) == 16);
      check_ciphertext (p);
      if (!have_value)
        continue;
      SkPgpSessionKey sk = { 0 };
      gboolean ok = FALSE;
      if (p->pk_algo == 18)
        ok = sk_pgp_pkesk_ecdh_unwrap (p, key, value, value_len, &sk, &error);
      else if (p->pk_algo == 1 || p->pk_algo == 2)
        ok = sk_pgp_pkesk_rsa_unpad (value, value_len, g_bytes_get_size (p->value), &sk, &error);
      else
        continue;
      check_result (ok, error, &sk);
      g_clear_error (&error);
    }
  sk_pgp_key_free (key);
  g_ptr_array_unref (all);
}

static void
run_wrapped (const guint8 *data, gsize size)
{
  /* What the wrap holds: a multiple of 8 octets, 16 to 40. */
  guint8 m[40] = { 0 };
  gsize mlen = MIN (size, sizeof m);
  memcpy (m, data, mlen);
  mlen = MAX ((gsize)16, (mlen + 7) / 8 * 8);
  SkPgpKey *key = fixed_key ();
  guint8 kek[32], wrapped[48];
  fixed_kek (key, kek);
  g_assert (sk_aes_wrap (kek, 32, m, mlen, wrapped));
  SkPgpPkesk p = { .pk_algo = 18 };
  p.value = g_bytes_new_static ("\x40", 1);
  p.wrapped = g_bytes_new (wrapped, mlen + 8);
  GError *error = NULL;
  SkPgpSessionKey sk = { 0 };
  gboolean ok = sk_pgp_pkesk_ecdh_unwrap (&p, key, shared_point, 32, &sk, &error);
  check_result (ok, error, &sk);
  g_clear_error (&error);
  g_bytes_unref (p.value);
  g_bytes_unref (p.wrapped);
  sk_pgp_key_free (key);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  guint mode = data[0] & 3;
  if (mode == 0)
    run_packets (data + 1, size - 1);
  else if (mode == 1)
    run_wrapped (data + 1, size - 1);
  else if (mode == 2)
    {
      GError *error = NULL;
      SkPgpSessionKey sk = { 0 };
      gsize modulus = size - 1 + ((data[0] & 4) ? 1 : 0);
      gboolean ok = sk_pgp_pkesk_rsa_unpad (data + 1, size - 1, modulus, &sk, &error);
      check_result (ok, error, &sk);
      g_clear_error (&error);
    }
  return 0;
}
