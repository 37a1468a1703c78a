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

/* How often a waiting reader looks at its cancellable. */
#define CANCEL_POLL_US (50 * 1000)

struct _SkSnapshot
{
  gint refs;
  int fd; /* the copy: an anonymous file in memory */

  GMutex lock;
  GCond more;
  guint64 filled; /* bytes appended so far */
  gboolean ended; /* the writer is done, with FAILURE or not */
  GError *failure;
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
  self->refs = 1;
  self->fd = fd;
  g_mutex_init (&self->lock);
  g_cond_init (&self->more);
  return self;
}

SkSnapshot *
sk_snapshot_ref (SkSnapshot *self)
{
  g_atomic_int_inc (&self->refs);
  return self;
}

void
sk_snapshot_unref (SkSnapshot *self)
{
  if (self == NULL || !g_atomic_int_dec_and_test (&self->refs))
    return;
  close (self->fd);
  g_clear_error (&self->failure);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->more);
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
  g_mutex_lock (&self->lock);
  self->filled += len;
  g_cond_broadcast (&self->more);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

gboolean
sk_snapshot_end (SkSnapshot *self, GError *failure, GError **error)
{
  /* Sealed: from here on not even this process can change the copy.  The
   * copy is never mapped, so no writable mapping of it exists, and the
   * future-write seal refuses every write from here on as F_SEAL_WRITE
   * would.  F_SEAL_WRITE itself also waits for every page another thread
   * holds a moment (the store's seal reading the copy as it is sealed),
   * and gives up with EBUSY while they keep coming: under load a package
   * was refused with io-error. */
  if (failure == NULL &&
      fcntl (self->fd, F_ADD_SEALS,
             F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) != 0)
    {
      sk_error_set_from_errno (&failure, errno, _ ("sealing the private copy of the package"));
      g_propagate_error (error, g_error_copy (failure));
    }
  g_mutex_lock (&self->lock);
  self->ended = TRUE;
  self->failure = failure;
  g_cond_broadcast (&self->more);
  g_mutex_unlock (&self->lock);
  return self->failure == NULL;
}

gboolean
sk_snapshot_read (SkSnapshot *self,
                  guint64 from,
                  guint8 *buf,
                  gsize len,
                  GCancellable *cancellable,
                  GError **error)
{
  g_mutex_lock (&self->lock);
  while (self->filled < from + len && !self->ended && !g_cancellable_is_cancelled (cancellable))
    g_cond_wait_until (&self->more, &self->lock, g_get_monotonic_time () + CANCEL_POLL_US);
  gboolean there = self->filled >= from + len;
  if (!there && self->failure != NULL)
    g_propagate_error (error, g_error_copy (self->failure));
  else if (!there && self->ended)
    g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR,
                         _ ("the private copy of the package ended early"));
  gboolean ended = self->ended;
  g_mutex_unlock (&self->lock);
  if (!there)
    {
      if (!ended)
        g_cancellable_set_error_if_cancelled (cancellable, error);
      return FALSE;
    }
  for (gsize got = 0; got < len;)
    {
      ssize_t n = pread (self->fd, buf + got, len - got, (off_t)(from + got));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          sk_error_set_from_errno (error, n < 0 ? errno : EIO,
                                   _ ("reading the private copy of the package"));
          return FALSE;
        }
      got += (gsize)n;
    }
  return TRUE;
}

int
sk_snapshot_get_fd (SkSnapshot *self)
{
  return self->fd;
}
