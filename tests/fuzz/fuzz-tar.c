/* fuzz-tar.c — the package's tar reader (SkTarReader)
 *
 * Input: the bytes of a tar archive.  They are written to a memfd, which is
 * rewound and handed to sk_tar_reader_new with the caps a package would get
 * here (17 entries, 1 MiB); every entry is then read to its end, until the
 * end of the archive or the first refusal.  Besides the sanitizers, the
 * reader must keep its own promises: a refusal always sets an error, an
 * entry's name is one the reader accepts, and the bytes counted never exceed
 * the cap.  (An entry may yield more bytes than it declared: libarchive
 * expands a GNU sparse entry in a pax tar to its map's size, whatever the
 * header's size, so that 10 KB can yield any number of zero bytes, until the
 * reader's cap refuses them; corpus/tar/keep-gnu-sparse-*.  The package code checks
 * the bytes it read against the manifest.)
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sk-archive.h"
#include "sk-fuzz.h"

#define MAX_ENTRIES 17
#define MAX_BYTES (1024 * 1024)

static int
input_fd (const uint8_t *data, size_t size)
{
  int fd = memfd_create ("fuzz-tar", MFD_CLOEXEC);
  g_assert (fd >= 0);
  size_t done = 0;
  while (done < size)
    {
      ssize_t n = write (fd, data + done, size - done);
      if (n < 0 && errno == EINTR)
        continue;
      g_assert (n > 0);
      done += (size_t)n;
    }
  g_assert (lseek (fd, 0, SEEK_SET) == 0);
  return fd;
}

static gboolean
name_is_acceptable (const char *name)
{
  if (name == NULL || name[0] == '\0' || name[0] == '/')
    return FALSE;
  g_auto (GStrv) parts = g_strsplit (name, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (!sk_tar_name_is_safe (parts[i]))
      return FALSE;
  return TRUE;
}

static void
read_all (SkTarReader *reader)
{
  guint8 buffer[4096];
  guint entries = 0;

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *name = NULL;
      guint64 size = 0;
      if (!sk_tar_reader_next (reader, &name, &size, &error))
        {
          g_assert (name == NULL);
          return;
        }
      g_assert (error == NULL);
      g_assert (name_is_acceptable (name));
      g_assert (++entries <= MAX_ENTRIES);
      g_assert (size <= MAX_BYTES);

      guint64 got = 0; /* may exceed SIZE: see the top */
      for (;;)
        {
          gssize n = sk_tar_reader_read (reader, buffer, sizeof buffer, &error);
          if (n < 0)
            {
              g_assert (error != NULL);
              return;
            }
          g_assert (error == NULL);
          if (n == 0)
            break;
          g_assert ((gsize)n <= sizeof buffer);
          got += (guint64)n;
          g_assert (sk_tar_reader_bytes_read (reader) <= MAX_BYTES);
        }
      g_assert (got <= MAX_BYTES);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  int fd = input_fd (data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkTarReader) reader = sk_tar_reader_new (fd, MAX_ENTRIES, MAX_BYTES, &error);
  if (reader == NULL)
    g_assert (error != NULL);
  else
    {
      g_assert (error == NULL);
      /* No check of sk_tar_reader_bytes_read here: it counts the read that
       * went over the cap and was refused (corpus/tar/keep-gnu-sparse-bomb). */
      read_all (reader);
    }
  g_clear_pointer (&reader, sk_tar_reader_free);
  close (fd);
  return 0;
}
