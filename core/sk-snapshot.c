/* sk-snapshot.c — a package read once, into memory nobody else can change */
#define G_LOG_DOMAIN "sekisho-package"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-snapshot.h"

struct _SkSnapshot
{
  int fd; /* the copy: an anonymous file in memory */
};

SkSnapshot *
sk_snapshot_new (GError **error)
{
  int fd = memfd_create ("sekisho-package", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    {
      sk_error_set_from_errno (error, errno, _ ("making a private copy of the package"));
      return NULL;
    }
  SkSnapshot *self = g_new0 (SkSnapshot, 1);
  self->fd = fd;
  return self;
}

void
sk_snapshot_free (SkSnapshot *self)
{
  if (self == NULL)
    return;
  close (self->fd);
  g_free (self);
}

gboolean
sk_snapshot_append (SkSnapshot *self, const guint8 *data, gsize len, GError **error)
{
  for (gsize put = 0; put < len;)
    {
      ssize_t n = write (self->fd, data + put, len - put);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          sk_error_set_from_errno (error, n < 0 ? errno : ENOSPC,
                                   _ ("making a private copy of the package"));
          return FALSE;
        }
      put += (gsize)n;
    }
  return TRUE;
}

gboolean
sk_snapshot_seal (SkSnapshot *self, GError **error)
{
  /* Sealed: from here on not even this process can change the copy.  The
   * copy is never mapped, so no writable mapping of it exists, and the
   * future-write seal refuses every write from here on as F_SEAL_WRITE
   * would.  F_SEAL_WRITE itself also waits for every page another thread
   * holds a moment (a reader of the copy, as the store's seal once was),
   * and gives up with EBUSY while they keep coming: under load a package
   * was refused with io-error. */
  if (fcntl (self->fd, F_ADD_SEALS,
             F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) != 0)
    {
      sk_error_set_from_errno (error, errno, _ ("sealing the private copy of the package"));
      return FALSE;
    }
  return TRUE;
}

int
sk_snapshot_get_fd (SkSnapshot *self)
{
  return self->fd;
}
