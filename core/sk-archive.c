/* sk-archive.c — pax tar through libarchive, read and written as streams */
#define G_LOG_DOMAIN "sekisho-archive"

#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sk-archive.h"
#include "sk-error.h"

typedef struct archive_entry *SkArchiveEntry;
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (SkArchiveEntry, archive_entry_free, NULL)

#define BLOCK (64 * 1024)
/* What a file's data is read in when it is archived: the size of each
 * write to the archive's descriptor. */
#define WRITE_BLOCK (256 * 1024)

gboolean
sk_tar_name_is_safe (const char *name)
{
  gsize len = strlen (name);

  if (len == 0 || len > 255 || g_str_equal (name, ".") || g_str_equal (name, ".."))
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (name[i]) && name[i] != '.' && name[i] != '_' && name[i] != '-')
      return FALSE;
  return TRUE;
}

/* ---- writing ----------------------------------------------------------- */

struct _SkTarWriter
{
  struct archive *a;
  int fd;
  GError *error;        /* from the write callback */
  SkProgress *progress; /* told of file data added; not owned */
};

static la_ssize_t
writer_write (struct archive *a, void *data, const void *buffer, size_t length)
{
  SkTarWriter *w = data;
  size_t done = 0;

  while (done < length)
    {
      ssize_t n = send (w->fd, (const char *)buffer + done, length - done, MSG_NOSIGNAL);
      if (n < 0 && errno == ENOTSOCK)
        n = write (w->fd, (const char *)buffer + done, length - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          if (w->error == NULL)
            sk_error_set_from_errno (&w->error, errno, _ ("writing the archive"));
          archive_set_error (a, errno, "write failed");
          return -1;
        }
      done += (size_t)n;
    }
  return (la_ssize_t)length;
}

static gboolean
archive_failed (struct archive *a, GError *callback_error, const char *what, GError **error)
{
  if (callback_error != NULL)
    {
      g_propagate_error (error, g_error_copy (callback_error));
      return FALSE;
    }
  g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("%s: %s"), what,
               archive_error_string (a) != NULL ? archive_error_string (a) : "libarchive failed");
  return FALSE;
}

SkTarWriter *
sk_tar_writer_new (int fd, GError **error)
{
  SkTarWriter *w = g_new0 (SkTarWriter, 1);
  w->fd = fd;
  w->a = archive_write_new ();
  if (w->a == NULL || archive_write_set_format_pax_restricted (w->a) != ARCHIVE_OK ||
      /* Unblocked: libarchive hands each piece on as it is given (file
       * data in WRITE_BLOCK reads, headers as they are made) instead of
       * copying every byte into a block of its own first.  The archive
       * then ends with its two zero blocks, not padded further to the
       * classic 10 KiB record, which no reader needs. */
      archive_write_set_bytes_per_block (w->a, 0) != ARCHIVE_OK ||
      archive_write_open2 (w->a, w, NULL, writer_write, NULL, NULL) != ARCHIVE_OK)
    {
      if (w->a != NULL)
        archive_failed (w->a, w->error, "starting the archive", error);
      else
        g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("libarchive is unusable"));
      sk_tar_writer_free (w);
      return NULL;
    }
  return w;
}

static gboolean
write_header (SkTarWriter *w, const char *name, guint64 size, gint64 mtime, GError **error)
{
  g_auto (SkArchiveEntry) entry = archive_entry_new ();

  archive_entry_set_pathname (entry, name);
  archive_entry_set_filetype (entry, AE_IFREG);
  archive_entry_set_perm (entry, 0644);
  archive_entry_set_size (entry, (la_int64_t)size);
  archive_entry_set_mtime (entry, mtime, 0);
  archive_entry_set_uid (entry, 0);
  archive_entry_set_gid (entry, 0);
  if (archive_write_header (w->a, entry) != ARCHIVE_OK)
    return archive_failed (w->a, w->error, "writing an archive header", error);
  return TRUE;
}

gboolean
sk_tar_writer_add_bytes (
    SkTarWriter *w, const char *name, GBytes *data, gint64 mtime, GError **error)
{
  gsize len;
  const char *bytes = g_bytes_get_data (data, &len);

  if (!write_header (w, name, len, mtime, error))
    return FALSE;
  if (len > 0 && archive_write_data (w->a, bytes, len) != (la_ssize_t)len)
    return archive_failed (w->a, w->error, "writing archive data", error);
  return TRUE;
}

gboolean
sk_tar_writer_add_fd (
    SkTarWriter *w, const char *name, guint64 size, gint64 mtime, int data_fd, GError **error)
{
  g_autofree guint8 *buf = g_malloc (WRITE_BLOCK);
  guint64 done = 0;

  if (!write_header (w, name, size, mtime, error))
    return FALSE;
  while (done < size)
    {
      ssize_t n = read (data_fd, buf, (size_t)MIN ((guint64)WRITE_BLOCK, size - done));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          sk_error_set_from_errno (error, errno, _ ("reading a file for the archive"));
          return FALSE;
        }
      if (n == 0)
        {
          g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR,
                               _ ("a file grew shorter while it was being packed"));
          return FALSE;
        }
      if (archive_write_data (w->a, buf, (size_t)n) != n)
        return archive_failed (w->a, w->error, "writing archive data", error);
      done += (guint64)n;
      if (!sk_progress_add (w->progress, (guint64)n, error))
        return FALSE;
    }
  return TRUE;
}

void
sk_tar_writer_set_progress (SkTarWriter *w, SkProgress *progress)
{
  g_return_if_fail (w != NULL);
  w->progress = progress;
}

gboolean
sk_tar_writer_finish (SkTarWriter *w, GError **error)
{
  if (archive_write_close (w->a) != ARCHIVE_OK)
    return archive_failed (w->a, w->error, "finishing the archive", error);
  return TRUE;
}

void
sk_tar_writer_free (SkTarWriter *w)
{
  if (w == NULL)
    return;
  if (w->a != NULL)
    archive_write_free (w->a);
  g_clear_error (&w->error);
  g_free (w);
}

/* ---- reading ----------------------------------------------------------- */

struct _SkTarReader
{
  struct archive *a;
  int fd;
  SkTarSource source; /* or this */
  gpointer source_data;
  guint max_entries;
  guint64 max_bytes;
  guint entries;
  guint64 bytes;
  guint64 entry_left; /* bytes the current entry may still yield */
  guint8 *buffer;
  GHashTable *seen;
  GError *error; /* from the read callback */
};

static la_ssize_t
reader_read (struct archive *a, void *data, const void **buffer)
{
  SkTarReader *r = data;

  if (r->source != NULL)
    {
      gssize n = r->source (r->source_data, buffer, r->error == NULL ? &r->error : NULL);
      if (n < 0)
        archive_set_error (a, EIO, "read failed");
      return n;
    }
  for (;;)
    {
      ssize_t n = read (r->fd, r->buffer, BLOCK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          if (r->error == NULL)
            sk_error_set_from_errno (&r->error, errno, _ ("reading the archive"));
          archive_set_error (a, errno, "read failed");
          return -1;
        }
      *buffer = r->buffer;
      return n;
    }
}

static SkTarReader *
reader_open (SkTarReader *r, GError **error);

SkTarReader *
sk_tar_reader_new (int fd, guint max_entries, guint64 max_bytes, GError **error)
{
  SkTarReader *r = g_new0 (SkTarReader, 1);
  r->fd = fd;
  r->max_entries = max_entries;
  r->max_bytes = max_bytes;
  r->buffer = g_malloc (BLOCK);
  return reader_open (r, error);
}

SkTarReader *
sk_tar_reader_new_from_source (
    SkTarSource source, gpointer user_data, guint max_entries, guint64 max_bytes, GError **error)
{
  SkTarReader *r = g_new0 (SkTarReader, 1);
  r->fd = -1;
  r->source = source;
  r->source_data = user_data;
  r->max_entries = max_entries;
  r->max_bytes = max_bytes;
  return reader_open (r, error);
}

static SkTarReader *
reader_open (SkTarReader *r, GError **error)
{
  r->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  r->a = archive_read_new ();
  /* pax only: no other format, no compression filter. */
  if (r->a == NULL || archive_read_support_format_tar (r->a) != ARCHIVE_OK ||
      archive_read_open (r->a, r, NULL, reader_read, NULL) != ARCHIVE_OK)
    {
      if (r->error != NULL)
        g_propagate_error (error, g_steal_pointer (&r->error));
      else
        g_set_error (error, SK_ERROR, SK_ERROR_TAR_MALFORMED, _ ("not a tar archive: %s"),
                     r->a != NULL && archive_error_string (r->a) != NULL
                         ? archive_error_string (r->a)
                         : "libarchive failed");
      sk_tar_reader_free (r);
      return NULL;
    }
  return r;
}

static gboolean
refuse (GError **error, SkErrorCode code, const char *name, const char *why)
{
  g_autofree char *safe = name != NULL ? sk_escape_untrusted (name) : g_strdup (_ ("(no name)"));
  g_set_error (error, SK_ERROR, code, _ ("archive member %s: %s"), safe, _ (why));
  return FALSE;
}

/* Names are untrusted: only a relative path of safe components passes. */
static gboolean
check_path (const char *path, GError **error)
{
  if (path == NULL || *path == '\0')
    return refuse (error, SK_ERROR_TAR_PATH, path, N_ ("has no name"));
  if (path[0] == '/')
    return refuse (error, SK_ERROR_TAR_PATH, path, N_ ("is an absolute path"));
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    if (!sk_tar_name_is_safe (parts[i]))
      return refuse (error, SK_ERROR_TAR_PATH, path,
                     N_ ("has an empty, '.' or '..' component, or a character outside "
                         "[A-Za-z0-9._-]"));
  return TRUE;
}

gboolean
sk_tar_reader_next (SkTarReader *r, char **out_name, guint64 *out_size, GError **error)
{
  struct archive_entry *entry = NULL;

  *out_name = NULL;
  int rc = archive_read_next_header (r->a, &entry);
  if (rc == ARCHIVE_EOF)
    return FALSE;
  if (rc != ARCHIVE_OK)
    {
      /* ARCHIVE_WARN included: a warning is a refusal. */
      if (r->error != NULL)
        g_propagate_error (error, g_steal_pointer (&r->error));
      else
        g_set_error (error, SK_ERROR, SK_ERROR_TAR_MALFORMED, _ ("the archive is damaged: %s"),
                     archive_error_string (r->a) != NULL ? archive_error_string (r->a) : "unknown");
      return FALSE;
    }

  const char *path = archive_entry_pathname_utf8 (entry);
  if (path == NULL)
    path = archive_entry_pathname (entry);
  if (archive_entry_hardlink (entry) != NULL || archive_entry_symlink (entry) != NULL ||
      archive_entry_filetype (entry) != AE_IFREG)
    return refuse (error, SK_ERROR_TAR_ENTRY_TYPE, path, N_ ("is not a regular file"));
  /* What pax (restricted) writes: ustar headers, with pax extensions where
   * needed.  GNU, v7 and sparse entries are other formats. */
  int format = archive_format (r->a);
  if (format != ARCHIVE_FORMAT_TAR_USTAR && format != ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE &&
      format != ARCHIVE_FORMAT_TAR_PAX_RESTRICTED)
    return refuse (error, SK_ERROR_TAR_MALFORMED, path, N_ ("is not in the POSIX pax format"));
  if (archive_entry_sparse_count (entry) > 0)
    return refuse (error, SK_ERROR_TAR_ENTRY_TYPE, path, N_ ("is a sparse file"));
  if (!check_path (path, error))
    return FALSE;
  if (g_hash_table_contains (r->seen, path))
    return refuse (error, SK_ERROR_TAR_DUPLICATE, path, N_ ("appears twice"));
  if (++r->entries > r->max_entries)
    return refuse (error, SK_ERROR_TAR_TOO_MANY, path, N_ ("is one member too many"));
  if (!archive_entry_size_is_set (entry) || archive_entry_size (entry) < 0)
    return refuse (error, SK_ERROR_TAR_MALFORMED, path, N_ ("has no size"));
  guint64 size = (guint64)archive_entry_size (entry);
  if (size > r->max_bytes || r->bytes + size > r->max_bytes)
    return refuse (error, SK_ERROR_TAR_TOO_LARGE, path, N_ ("would exceed the policy's cap"));

  g_hash_table_add (r->seen, g_strdup (path));
  r->entry_left = size;
  *out_name = g_strdup (path);
  *out_size = size;
  return TRUE;
}

gssize
sk_tar_reader_read (SkTarReader *r, void *buffer, gsize len, GError **error)
{
  la_ssize_t n = archive_read_data (r->a, buffer, len);

  if (n < 0 || (n == 0 && archive_errno (r->a) != 0 && r->error != NULL))
    {
      if (r->error != NULL)
        g_propagate_error (error, g_steal_pointer (&r->error));
      else
        g_set_error (error, SK_ERROR, SK_ERROR_TAR_MALFORMED, _ ("the archive is damaged: %s"),
                     archive_error_string (r->a) != NULL ? archive_error_string (r->a) : "unknown");
      return -1;
    }
  if ((guint64)n > r->entry_left)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_TAR_MALFORMED,
                           _ ("an archive member holds more bytes than its header declares"));
      return -1;
    }
  r->entry_left -= (guint64)n;
  r->bytes += (guint64)n;
  if (r->bytes > r->max_bytes)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_TAR_TOO_LARGE,
                           _ ("the archive holds more than the policy allows"));
      return -1;
    }
  return n;
}

guint64
sk_tar_reader_bytes_read (SkTarReader *r)
{
  return r->bytes;
}

void
sk_tar_reader_free (SkTarReader *r)
{
  if (r == NULL)
    return;
  if (r->a != NULL)
    archive_read_free (r->a);
  g_clear_error (&r->error);
  g_hash_table_unref (r->seen);
  g_free (r->buffer);
  g_free (r);
}
