/* sk-archive.h — POSIX pax tar, the one door to libarchive
 *
 * Only the pax format is enabled, for reading and for writing; nothing is
 * ever extracted by libarchive (no archive_write_disk): the reader hands
 * out entry names and bytes, and the package code decides where they go.
 *
 * The reader refuses, each with its own reason code: anything but a regular
 * file (tar-entry-type: links, devices, directories, FIFOs); a name that is
 * absolute, has "..", an empty or "." component, a control or bidi
 * character, or any character outside [A-Za-z0-9._-] and '/' (tar-path); a
 * name seen twice (tar-duplicate); more entries or more bytes than allowed
 * (tar-too-many, tar-too-large, counted on the bytes actually read); any
 * warning or damage libarchive reports (tar-malformed).
 */
#pragma once

#include <gio/gio.h>

#include "sk-progress.h"

G_BEGIN_DECLS

typedef struct _SkTarWriter SkTarWriter;

/* A pax tar written to FD (sockets included: no SIGPIPE is raised). */
SkTarWriter *
sk_tar_writer_new (int fd, GError **error);
/* Tell PROGRESS (which may be NULL; not owned) of each block of file data
 * sk_tar_writer_add_fd() adds, and stop it with G_IO_ERROR_CANCELLED when
 * PROGRESS is cancelled. */
void
sk_tar_writer_set_progress (SkTarWriter *writer, SkProgress *progress);
/* Add a regular file NAME of SIZE bytes read from DATA_FD (to exactly SIZE
 * bytes; a file that changed size is an error). */
gboolean
sk_tar_writer_add_fd (
    SkTarWriter *writer, const char *name, guint64 size, gint64 mtime, int data_fd, GError **error);
gboolean
sk_tar_writer_add_bytes (
    SkTarWriter *writer, const char *name, GBytes *data, gint64 mtime, GError **error);
gboolean
sk_tar_writer_finish (SkTarWriter *writer, GError **error);
void
sk_tar_writer_free (SkTarWriter *writer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkTarWriter, sk_tar_writer_free)

typedef struct _SkTarReader SkTarReader;

SkTarReader *
sk_tar_reader_new (int fd, guint max_entries, guint64 max_bytes, GError **error);
/* Where a reader's bytes come from: the next block, valid until the next
 * call; 0 at the end, -1 with ERROR set. */
typedef gssize (*SkTarSource) (gpointer user_data, const void **out_block, GError **error);
SkTarReader *
sk_tar_reader_new_from_source (
    SkTarSource source, gpointer user_data, guint max_entries, guint64 max_bytes, GError **error);
/* The next entry's name and declared size; FALSE at the end (*OUT_NAME set
 * to NULL, no error) or on a refusal (error set). */
gboolean
sk_tar_reader_next (SkTarReader *reader, char **out_name, guint64 *out_size, GError **error);
/* Read the current entry's data; 0 at its end, -1 with error set. */
gssize
sk_tar_reader_read (SkTarReader *reader, void *buffer, gsize len, GError **error);
/* Bytes of entry data actually read so far, over all entries. */
guint64
sk_tar_reader_bytes_read (SkTarReader *reader);
void
sk_tar_reader_free (SkTarReader *reader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkTarReader, sk_tar_reader_free)

/* TRUE when NAME is a file name the reader and writer accept in a package:
 * 1–255 characters of [A-Za-z0-9._-], not "." or "..". */
gboolean
sk_tar_name_is_safe (const char *name);

G_END_DECLS
