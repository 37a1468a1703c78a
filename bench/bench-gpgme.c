/* bench-gpgme.c — the floor under `sekisho check`: GnuPG through GPGME
 *
 *   bench-gpgme GNUPG-HOME PKG.tar.gpg SIGNER-FPR
 *
 * Verifies the detached signature PKG.tar.gpg.sig and decrypts the package
 * to /dev/null through the station's GPGME door (sk-keyring), with nothing
 * else: no archive, no validation, no hashing.  What `sekisho check` costs
 * beyond this is ours; what this costs beyond `gpg --verify` + `gpg -d` is
 * the price of moving every byte through GPGME.  Prints the seconds of
 * each pass.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk-keyring.h"

int
main (int argc, char **argv)
{
  if (argc != 4)
    {
      fprintf (stderr, "usage: bench-gpgme GNUPG-HOME PKG.tar.gpg SIGNER-FPR\n");
      return 2;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (SkKeyring) keyring = sk_keyring_new (argv[1], &error);
  g_autofree char *sig_path = g_strconcat (argv[2], ".sig", NULL);
  g_autofree char *sig_data = NULL;
  gsize sig_len = 0;
  if (keyring == NULL || !g_file_get_contents (sig_path, &sig_data, &sig_len, &error))
    {
      fprintf (stderr, "bench-gpgme: %s\n", error->message);
      return 1;
    }
  g_autoptr (GBytes) sig = g_bytes_new_take (g_steal_pointer (&sig_data), sig_len);
  const char *signers[] = { argv[3], NULL };
  int fd = open (argv[2], O_RDONLY | O_CLOEXEC);
  int null = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || null < 0 || fstat (fd, &st) != 0)
    {
      perror ("bench-gpgme");
      return 1;
    }

  gint64 t0 = g_get_monotonic_time ();
  g_autoptr (SkSignature) s =
      sk_keyring_verify_detached_fd (keyring, sig, fd, signers, NULL, &error);
  gint64 t1 = g_get_monotonic_time ();
  if (s == NULL || lseek (fd, 0, SEEK_SET) != 0)
    {
      fprintf (stderr, "bench-gpgme: %s\n", error != NULL ? error->message : "seek");
      return 1;
    }
  gboolean ok = sk_keyring_decrypt_fd (keyring, fd, (guint64)st.st_size, null, NULL, &error);
  gint64 t2 = g_get_monotonic_time ();
  if (!ok)
    {
      fprintf (stderr, "bench-gpgme: %s\n", error->message);
      return 1;
    }
  printf ("%.2f %.2f\n", (t1 - t0) / 1e6, (t2 - t1) / 1e6);
  return 0;
}
