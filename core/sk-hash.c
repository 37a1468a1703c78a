/* sk-hash.c — SHA-256 through libgcrypt */
#define G_LOG_DOMAIN "sekisho-hash"

#include "config.h"

#include <gcrypt.h>

#include "sk-hash.h"

struct _SkSha256
{
  gcry_md_hd_t md;
  char hex[65];
};

static void
init_gcrypt (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      /* Only hashing: no secure memory is needed. */
      if (!gcry_control (GCRYCTL_INITIALIZATION_FINISHED_P))
        {
          gcry_check_version (NULL);
          gcry_control (GCRYCTL_DISABLE_SECMEM, 0);
          gcry_control (GCRYCTL_INITIALIZATION_FINISHED, 0);
        }
      g_once_init_leave (&once, 1);
    }
}

SkSha256 *
sk_sha256_new (void)
{
  init_gcrypt ();
  SkSha256 *sha = g_new0 (SkSha256, 1);
  if (gcry_md_open (&sha->md, GCRY_MD_SHA256, 0) != 0)
    {
      g_free (sha);
      return NULL;
    }
  return sha;
}

void
sk_sha256_update (SkSha256 *sha, const void *data, gsize len)
{
  g_return_if_fail (sha != NULL && sha->hex[0] == '\0');
  gcry_md_write (sha->md, data, len);
}

const char *
sk_sha256_hex (SkSha256 *sha)
{
  g_return_val_if_fail (sha != NULL, NULL);

  if (sha->hex[0] == '\0')
    {
      const unsigned char *digest = gcry_md_read (sha->md, GCRY_MD_SHA256);
      for (int i = 0; i < 32; i++)
        g_snprintf (sha->hex + 2 * i, 3, "%02x", digest[i]);
    }
  return sha->hex;
}

void
sk_sha256_free (SkSha256 *sha)
{
  if (sha == NULL)
    return;
  gcry_md_close (sha->md);
  g_free (sha);
}

void
sk_sha256_buffer (const void *data, gsize len, char out[65])
{
  static const char digits[] = "0123456789abcdef";
  unsigned char digest[32];

  init_gcrypt ();
  gcry_md_hash_buffer (GCRY_MD_SHA256, digest, data, len);
  for (int i = 0; i < 32; i++)
    {
      out[2 * i] = digits[digest[i] >> 4];
      out[2 * i + 1] = digits[digest[i] & 0xf];
    }
  out[64] = '\0';
}
