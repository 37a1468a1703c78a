/* sk-sink.c — a ring written out past the page cache on a thread of its
 * own, and read back on another: pack's encrypted message, the store's
 * sealed copy */
#define G_LOG_DOMAIN "sekisho-package"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-fault.h"
#include "sk-sink.h"

/* What the read-back buffer takes at once. */
#define BLOCK (256 * 1024)

/* The read-back trails the writer by steps of this much; what was written
 * is kept until it is read back and compared, at most READBACK_RING bytes
 * (the writer waits for the read-back beyond that). */
#define READBACK_STEP ((guint64)4 * 1024 * 1024)
#define READBACK_RING (3 * READBACK_STEP)
/* What O_DIRECT writes and reads are aligned to (the largest logical
 * block of the media the station writes to). */
#define DIRECT_ALIGN 4096

/* A file as it is made (the package as it is encrypted, an item as it is
 * sealed): kept in a ring, written out by one thread (sk-sink-write) and,
 * for a package, read back from the medium by another (sk-sink-check), a
 * step or more behind, so that writing a step, reading back the one before
 * and making the next overlap.  Each step is hashed (for the signature,
 * when there is a digest) as it is written, then written past the page
 * cache where the file system allows (O_DIRECT: no copy into the page
 * cache, nothing left to flush), else through it, its write-back started
 * at once; read again from the device (past the page cache, or after
 * flushing and dropping the range) and compared byte for byte with the
 * ring, so the signature's digest took exactly the bytes that read back
 * the same.  The thread that makes the bytes only copies into the ring. */
struct _SkSink
{
  int fd;         /* the temporary, read-write (write-only without read-back) */
  int direct_wfd; /* the writer's O_DIRECT descriptor of it; -1: none (any more) */
  int direct_rfd; /* the reader's */
  SkDigest *sum;  /* what was written (and, at the end, read back the same); or NULL */
  gboolean read_back;
  guint8 *ring;    /* byte N is at N % READBACK_RING until checked; aligned */
  guint64 written; /* into the ring: the encrypting thread's */

  GMutex lock;
  GCond cond;        /* for all threads: broadcast */
  guint64 published; /* the writer may go this far */
  guint64 out;       /* written to the file this far */
  guint64 checked;   /* read back and compared this far */
  gboolean closing;  /* nothing more will be published */
  gboolean abandon;  /* the encryption failed: stop */
  gboolean all_out;  /* everything published is written (at the end) */
  gboolean go_read;  /* the end may be read back */
  gboolean io_end;   /* the writer or the reader failed, or the reader is done */
  gboolean mismatch; /* something read back differs from what was written */
  int write_errno;
  const char *writing; /* what a failed write was doing (translated) */
  int back_errno;
  GThread *writer;
  GThread *reader; /* NULL without read-back */
};

typedef SkSink Sink;

/* Copy LEN bytes from BYTES into the ring at file offset OFF. */
static void
ring_copy_in (Sink *sink, guint64 off, const guint8 *bytes, gsize len)
{
  gsize at = (gsize)(off % READBACK_RING);
  gsize first = MIN (len, (gsize)READBACK_RING - at);
  memcpy (sink->ring + at, bytes, first);
  memcpy (sink->ring, bytes + first, len - first);
}

static gboolean
ring_equal (Sink *sink, guint64 off, const guint8 *bytes, gsize len)
{
  gsize at = (gsize)(off % READBACK_RING);
  gsize first = MIN (len, (gsize)READBACK_RING - at);
  return memcmp (sink->ring + at, bytes, first) == 0 &&
         memcmp (sink->ring, bytes + first, len - first) == 0;
}

/* The signature's digest over [OFF, OFF + LEN) of the ring. */
static void
ring_hash (Sink *sink, guint64 off, gsize len)
{
  if (sink->sum == NULL)
    return;
  gsize at = (gsize)(off % READBACK_RING);
  gsize first = MIN (len, (gsize)READBACK_RING - at);
  sk_digest_update (sink->sum, sink->ring + at, first);
  sk_digest_update (sink->sum, sink->ring, len - first);
}

/* Why the writer or the reader ended early. */
static void
sink_set_error (Sink *sink, GError **error)
{
  if (sink->mismatch)
    g_set_error_literal (error, SK_ERROR, SK_ERROR_MEDIA_READBACK_MISMATCH,
                         _ ("the package reads back differently from what was written"));
  else if (sink->write_errno != 0)
    sk_error_set_from_errno (error, sink->write_errno, sink->writing);
  else
    sk_error_set_from_errno (error, sink->back_errno != 0 ? sink->back_errno : EIO,
                             _ ("reading the package back"));
}

static gboolean
sink_write (Sink *sink, const guint8 *data, gsize len, GError **error)
{
  /* Room in the ring: what is older than the ring holds must have been
   * written and read back. */
  g_mutex_lock (&sink->lock);
  while (!sink->io_end && sink->written + len - sink->checked > READBACK_RING)
    {
      sink->published = sink->written;
      g_cond_broadcast (&sink->cond);
      g_cond_wait (&sink->cond, &sink->lock);
    }
  gboolean ended = sink->io_end;
  g_mutex_unlock (&sink->lock);
  if (ended)
    {
      sink_set_error (sink, error);
      return FALSE;
    }
  ring_copy_in (sink, sink->written, data, len);
  sink->written += len;
  if (sink->written - sink->published >= READBACK_STEP)
    {
      g_mutex_lock (&sink->lock);
      sink->published = sink->written;
      g_cond_broadcast (&sink->cond);
      g_mutex_unlock (&sink->lock);
    }
  return TRUE;
}

gboolean
sk_sink_out (const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  /* In pieces of at most a step, so that each fits the ring. */
  for (gsize off = 0; off < len;)
    {
      gsize n = (gsize)MIN ((guint64)(len - off), READBACK_STEP);
      if (!sink_write (user_data, data + off, n, error))
        return FALSE;
      off += n;
    }
  return TRUE;
}

/* Write [FROM, TO) from the ring to the file: whole aligned blocks past
 * the page cache where the file system takes them, the rest (the end of
 * the package, or everything on a file system without O_DIRECT) through
 * the page cache. */
static gboolean
write_range (Sink *sink, guint64 from, guint64 to)
{
  while (from < to)
    {
      gsize at = (gsize)(from % READBACK_RING);
      gsize n = (gsize)MIN (to - from, (guint64)(READBACK_RING - at));
      int fd = sink->fd;
      if (sink->direct_wfd >= 0 && n >= DIRECT_ALIGN)
        {
          fd = sink->direct_wfd;
          n &= ~(gsize)(DIRECT_ALIGN - 1);
        }
      ssize_t w = pwrite (fd, sink->ring + at, n, (off_t)from);
      if (w < 0 && errno == EINTR)
        continue;
      /* A device whose blocks are larger than DIRECT_ALIGN, or a short
       * write that left FROM unaligned: the rest through the page cache. */
      if (w < 0 && errno == EINVAL && fd == sink->direct_wfd)
        {
          close (sink->direct_wfd);
          sink->direct_wfd = -1;
          continue;
        }
      if (w <= 0)
        {
          sink->write_errno = w < 0 ? errno : ENOSPC;
          return FALSE;
        }
      /* What went through the page cache starts for the device now, so
       * that the caller's fsync finds little left (with read-back, the
       * reader flushes it). */
      if (fd == sink->fd && !sink->read_back)
        (void)sync_file_range (fd, (off_t)from, (off_t)w, SYNC_FILE_RANGE_WRITE);
      from += (guint64)w;
    }
  return TRUE;
}

/* Read [FROM, TO) back and compare it with the ring: through the O_DIRECT
 * descriptor where there is one (the bytes then come from the device),
 * else through the page cache after flushing and dropping the range. */
static gboolean
read_back_range (Sink *sink, guint8 *buf, guint64 from, guint64 to)
{
  /* What went through the page cache (at least the end) reaches the
   * device first. */
  if (sync_file_range (sink->fd, (off_t)from, (off_t)(to - from),
                       SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                           SYNC_FILE_RANGE_WAIT_AFTER) != 0)
    {
      sink->back_errno = errno;
      return FALSE;
    }
  if (sink->direct_rfd < 0)
    (void)posix_fadvise (sink->fd, (off_t)from, (off_t)(to - from), POSIX_FADV_DONTNEED);
  while (from < to)
    {
      int fd = sink->direct_rfd >= 0 ? sink->direct_rfd : sink->fd;
      /* O_DIRECT reads whole aligned blocks: FROM stays aligned (every
       * range but the last ends on a block), the last read comes up short. */
      gsize want = sink->direct_rfd >= 0
                       ? (gsize)MIN ((guint64)BLOCK,
                                     (to - from + DIRECT_ALIGN - 1) & ~(guint64)(DIRECT_ALIGN - 1))
                       : (gsize)MIN ((guint64)BLOCK, to - from);
      ssize_t n = pread (fd, buf, want, (off_t)from);
      if (n < 0 && errno == EINTR)
        continue;
      /* A device whose blocks are larger than DIRECT_ALIGN, or a short read
       * that left FROM unaligned: the rest through the page cache. */
      if (n < 0 && errno == EINVAL && sink->direct_rfd >= 0)
        {
          close (sink->direct_rfd);
          sink->direct_rfd = -1;
          (void)posix_fadvise (sink->fd, (off_t)from, (off_t)(to - from), POSIX_FADV_DONTNEED);
          continue;
        }
      if (n <= 0)
        {
          sink->back_errno = n < 0 ? errno : EIO;
          return FALSE;
        }
      gsize got = (gsize)MIN ((guint64)n, to - from);
      if (!ring_equal (sink, from, buf, got))
        {
          sink->mismatch = TRUE;
          return FALSE;
        }
      from += got;
      g_mutex_lock (&sink->lock);
      sink->checked = from;
      g_cond_broadcast (&sink->cond);
      g_mutex_unlock (&sink->lock);
    }
  return TRUE;
}

/* The writer or the reader failed, or the reader is done: everyone stops
 * waiting. */
static void
sink_end (Sink *sink)
{
  g_mutex_lock (&sink->lock);
  sink->io_end = TRUE;
  g_cond_broadcast (&sink->cond);
  g_mutex_unlock (&sink->lock);
}

static gpointer
sink_write_thread (gpointer data)
{
  Sink *sink = data;
  guint64 done = 0;
  for (;;)
    {
      g_mutex_lock (&sink->lock);
      while (!sink->closing && !sink->abandon && !sink->io_end &&
             sink->published - done < DIRECT_ALIGN)
        g_cond_wait (&sink->cond, &sink->lock);
      gboolean stop = sink->abandon || sink->io_end, last = sink->closing;
      /* Up to a block boundary, except at the end. */
      guint64 to = last ? sink->published : sink->published & ~(guint64)(DIRECT_ALIGN - 1);
      g_mutex_unlock (&sink->lock);
      if (stop)
        break;
      ring_hash (sink, done, (gsize)(to - done));
      if (!write_range (sink, done, to))
        {
          sink_end (sink);
          break;
        }
      done = to;
      g_mutex_lock (&sink->lock);
      sink->out = to;
      /* Without read-back, what is written is done with. */
      if (!sink->read_back)
        sink->checked = to;
      sink->all_out = last;
      g_cond_broadcast (&sink->cond);
      g_mutex_unlock (&sink->lock);
      if (last)
        break;
    }
  return NULL;
}

static gpointer
sink_check_thread (gpointer data)
{
  Sink *sink = data;
  guint8 *buf = NULL;
  if (posix_memalign ((void **)&buf, DIRECT_ALIGN, BLOCK) != 0)
    sink->back_errno = ENOMEM;
  guint64 done = 0;
  gboolean ok = buf != NULL;
  while (ok)
    {
      /* A step at a time while the package grows; the end (all written)
       * only when the caller lets it, after its last look. */
      g_mutex_lock (&sink->lock);
      while (!sink->abandon && !sink->io_end &&
             (sink->all_out ? !sink->go_read : sink->out - done < READBACK_STEP))
        g_cond_wait (&sink->cond, &sink->lock);
      gboolean stop = sink->abandon || sink->io_end, last = sink->all_out;
      guint64 to = sink->out;
      g_mutex_unlock (&sink->lock);
      if (stop)
        break;
      /* Each step is on the medium; a test may change it here. */
      if (to > done)
        sk_fault_point ("pack-before-readback");
      ok = to <= done || read_back_range (sink, buf, done, to);
      done = to;
      if (last)
        break;
    }
  free (buf);
  /* An encryption waiting for room learns why. */
  sink_end (sink);
  return NULL;
}

SkSink *
sk_sink_start (int fd, SkDigest *sum, gboolean read_back, const char *writing, GError **error)
{
  /* Mapped, not allocated: aligned for O_DIRECT, resident only as far as
   * it is written (a small item touches a page or two), and returned to
   * the system when the sink ends (a 12 MiB block from malloc would raise
   * glibc's mmap threshold and stay in a long-running service's heap). */
  guint8 *ring =
      mmap (NULL, READBACK_RING, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ring == MAP_FAILED)
    {
      sk_error_set_from_errno (error, errno, writing);
      return NULL;
    }
  SkSink *sink = g_new0 (SkSink, 1);
  sink->fd = fd;
  sink->sum = sum;
  sink->read_back = read_back;
  sink->writing = writing;
  sink->ring = ring;
  /* The same file again, by its descriptor, for writes and reads past the
   * page cache; where the file system has no O_DIRECT both go through the
   * page cache. */
  g_autofree char *self_fd = g_strdup_printf ("/proc/self/fd/%d", fd);
  sink->direct_wfd = open (self_fd, O_WRONLY | O_DIRECT | O_CLOEXEC);
  sink->direct_rfd = read_back ? open (self_fd, O_RDONLY | O_DIRECT | O_CLOEXEC) : -1;
  g_mutex_init (&sink->lock);
  g_cond_init (&sink->cond);
  sink->writer = g_thread_new ("sk-sink-write", sink_write_thread, sink);
  if (read_back)
    sink->reader = g_thread_new ("sk-sink-check", sink_check_thread, sink);
  return sink;
}

gboolean
sk_sink_finish (
    SkSink *sink, gboolean ok, gboolean *out_mismatch, gboolean *out_io_failed, GError **error)
{
  g_mutex_lock (&sink->lock);
  sink->published = sink->written;
  sink->closing = TRUE;
  sink->abandon = !ok;
  g_cond_broadcast (&sink->cond);
  while (ok && !sink->all_out && !sink->io_end)
    g_cond_wait (&sink->cond, &sink->lock);
  g_mutex_unlock (&sink->lock);
  /* A medium that changes what was written is caught below: the end of
   * the package is read back after this point. */
  if (ok && sink->read_back)
    sk_fault_point ("pack-before-fsync");
  g_mutex_lock (&sink->lock);
  sink->go_read = TRUE;
  g_cond_broadcast (&sink->cond);
  g_mutex_unlock (&sink->lock);
  g_thread_join (sink->writer);
  if (sink->reader != NULL)
    g_thread_join (sink->reader);
  if (sink->direct_wfd >= 0)
    close (sink->direct_wfd);
  if (sink->direct_rfd >= 0)
    close (sink->direct_rfd);
  g_mutex_clear (&sink->lock);
  g_cond_clear (&sink->cond);
  munmap (sink->ring, READBACK_RING);
  *out_io_failed = sink->write_errno != 0 || sink->back_errno != 0;
  *out_mismatch = sink->mismatch;
  /* What was read back differs: the caller says so, by name. */
  if (sink->mismatch)
    {
      g_clear_error (error);
      ok = TRUE;
    }
  else if (ok &&
           (sink->write_errno != 0 || sink->back_errno != 0 || sink->checked != sink->written))
    {
      /* The digest took what was read back: all of it, or nothing is
       * signed. */
      sink_set_error (sink, error);
      ok = FALSE;
    }
  g_free (sink);
  return ok;
}
