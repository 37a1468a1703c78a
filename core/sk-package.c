/* sk-package.c — write and read packages */
#define G_LOG_DOMAIN "sekisho-package"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk-archive.h"
#include "sk-block-worker.h"
#include "sk-channel.h"
#include "sk-error.h"
#include "sk-fault.h"
#include "sk-fs.h"
#include "sk-hash.h"
#include "sk-keyring.h"
#include "sk-package.h"
#include "sk-policy-private.h"

#define MANIFEST_NAME "MANIFEST.json"
#define CHECKPOINT_NAME "checkpoint.json"
#define CHECKPOINT_SIG_NAME "checkpoint.json.sig"
#define CHECKPOINT_MAX (64 * 1024)
#define FILES_PREFIX "files/"
#define FORMAT "sekisho-package/1"
#define SIG_MAX (64 * 1024)
#define BLOCK (256 * 1024)

/* ---- manifest ---------------------------------------------------------- */

static void
sk_manifest_file_free (SkManifestFile *f)
{
  g_free (f->name);
  g_free (f->kind);
  g_free (f->sha256);
  g_free (f);
}

void
sk_manifest_free (SkManifest *m)
{
  if (m == NULL)
    return;
  g_free (m->package_id);
  g_free (m->workflow);
  g_free (m->created_at);
  g_free (m->created_by);
  g_free (m->origin);
  g_free (m->recipient);
  g_free (m->case_id);
  g_free (m->policy);
  g_clear_pointer (&m->files, g_ptr_array_unref);
  g_free (m);
}

static gboolean
manifest_invalid (GError **error, const char *why)
{
  g_set_error (error, SK_ERROR, SK_ERROR_MANIFEST_INVALID, _ ("the manifest %s"), why);
  return FALSE;
}

static const char *
member_string (JsonObject *obj, const char *name)
{
  JsonNode *node = json_object_get_member (obj, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
member_int (JsonObject *obj, const char *name, gint64 *out)
{
  JsonNode *node = json_object_get_member (obj, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (node);
  return TRUE;
}

static gboolean
only_members (JsonObject *obj, const char *const *allowed)
{
  g_autoptr (GList) members = json_object_get_members (obj);
  guint n = 0;
  for (GList *l = members; l != NULL; l = l->next, n++)
    if (!g_strv_contains (allowed, l->data))
      return FALSE;
  return n == g_strv_length ((GStrv)allowed);
}

static gboolean
is_lower_hex (const char *s, gsize len)
{
  if (s == NULL || strlen (s) != len)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (s[i]) || g_ascii_isupper (s[i]))
      return FALSE;
  return TRUE;
}

static gboolean
is_printable_ascii (const char *s, gsize max)
{
  gsize len = s != NULL ? strlen (s) : 0;
  if (len == 0 || len > max)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (s[i] < 0x20 || s[i] > 0x7E)
      return FALSE;
  return TRUE;
}

SkManifest *
sk_manifest_parse (GBytes *json, GError **error)
{
  static const char *const members[] = { "format",     "package_id", "workflow", "direction",
                                         "created_at", "created_by", "origin",   "recipient",
                                         "case_id",    "policy",     "files",    NULL };
  static const char *const file_members[] = { "name", "kind", "size", "sha256", "records", NULL };

  gsize len;
  const char *data = g_bytes_get_data (json, &len);
  if (len == 0 || len > SK_MANIFEST_MAX_SIZE || !g_utf8_validate_len (data, len, NULL))
    {
      manifest_invalid (error, _ ("is empty, too large or not UTF-8"));
      return NULL;
    }
  if (!_sk_json_nesting_ok (data, len))
    {
      manifest_invalid (error, _ ("nests too deep, or holds comments or single quotes"));
      return NULL;
    }
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, (gssize)len, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      manifest_invalid (error, _ ("is not a JSON object"));
      return NULL;
    }
  if (!_sk_json_members_unique (data, len, json_parser_get_root (parser)))
    {
      manifest_invalid (error, _ ("names a member twice in one object"));
      return NULL;
    }
  JsonObject *obj = json_node_get_object (json_parser_get_root (parser));
  if (!only_members (obj, members))
    {
      manifest_invalid (error, _ ("lacks a member or has one too many"));
      return NULL;
    }

  g_autoptr (SkManifest) m = g_new0 (SkManifest, 1);
  m->files = g_ptr_array_new_with_free_func ((GDestroyNotify)sk_manifest_file_free);
  const char *format = member_string (obj, "format");
  const char *id = member_string (obj, "package_id");
  const char *workflow = member_string (obj, "workflow");
  const char *direction = member_string (obj, "direction");
  const char *created_at = member_string (obj, "created_at");
  const char *created_by = member_string (obj, "created_by");
  const char *origin = member_string (obj, "origin");
  const char *recipient = member_string (obj, "recipient");
  const char *case_id = member_string (obj, "case_id");
  const char *policy = member_string (obj, "policy");
  if (format == NULL || !g_str_equal (format, FORMAT))
    {
      manifest_invalid (error, _ ("is not a sekisho-package/1"));
      return NULL;
    }
  if (id == NULL || !g_uuid_string_is_valid (id) || !is_printable_ascii (workflow, 32) ||
      direction == NULL || !is_printable_ascii (created_by, 64) ||
      !sk_fingerprint_is_valid (origin) || !sk_fingerprint_is_valid (recipient) ||
      !is_printable_ascii (case_id, 64) || !is_lower_hex (policy, 64))
    {
      manifest_invalid (error, _ ("has a member of the wrong form"));
      return NULL;
    }
  g_autoptr (GDateTime) when =
      created_at != NULL ? g_date_time_new_from_iso8601 (created_at, NULL) : NULL;
  if (when == NULL || !g_str_has_suffix (created_at, "Z"))
    {
      manifest_invalid (error, _ ("has no created_at in UTC"));
      return NULL;
    }
  if (g_str_equal (direction, "to-intermediate"))
    m->direction = SK_DIRECTION_TO_INTERMEDIATE;
  else if (g_str_equal (direction, "to-standard"))
    m->direction = SK_DIRECTION_TO_STANDARD;
  else
    {
      manifest_invalid (error, _ ("has an unknown direction"));
      return NULL;
    }
  m->package_id = g_ascii_strdown (id, -1);
  m->workflow = g_strdup (workflow);
  m->created_at = g_strdup (created_at);
  m->created_by = g_strdup (created_by);
  m->origin = g_strdup (origin);
  m->recipient = g_strdup (recipient);
  m->case_id = g_strdup (case_id);
  m->policy = g_strdup (policy);

  JsonNode *files = json_object_get_member (obj, "files");
  if (!JSON_NODE_HOLDS_ARRAY (files))
    {
      manifest_invalid (error, _ ("has no list of files"));
      return NULL;
    }
  JsonArray *array = json_node_get_array (files);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      if (!JSON_NODE_HOLDS_OBJECT (node) ||
          !only_members (json_node_get_object (node), file_members))
        {
          manifest_invalid (error, _ ("has a file entry of the wrong form"));
          return NULL;
        }
      JsonObject *fo = json_node_get_object (node);
      SkManifestFile *f = g_new0 (SkManifestFile, 1);
      g_ptr_array_add (m->files, f);
      gint64 size, records;
      const char *name = member_string (fo, "name");
      const char *kind = member_string (fo, "kind");
      const char *sha = member_string (fo, "sha256");
      if (name == NULL || !sk_tar_name_is_safe (name) || !is_printable_ascii (kind, 16) ||
          !is_lower_hex (sha, 64) || !member_int (fo, "size", &size) || size < 0 ||
          !member_int (fo, "records", &records) || records < 0)
        {
          manifest_invalid (error,
                            _ ("has a file entry with a bad name, kind, size, hash or count"));
          return NULL;
        }
      for (guint j = 0; j + 1 < m->files->len; j++)
        if (g_str_equal (((SkManifestFile *)g_ptr_array_index (m->files, j))->name, name))
          {
            manifest_invalid (error, _ ("lists a file twice"));
            return NULL;
          }
      f->name = g_strdup (name);
      f->kind = g_strdup (kind);
      f->size = (guint64)size;
      f->sha256 = g_strdup (sha);
      f->records = records;
    }
  if (m->files->len == 0)
    {
      manifest_invalid (error, _ ("lists no file"));
      return NULL;
    }
  return g_steal_pointer (&m);
}

static GBytes *
manifest_json (const SkManifest *m, gboolean pretty)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
#define STR(k, v)                                                                                  \
  json_builder_set_member_name (b, k);                                                             \
  json_builder_add_string_value (b, v)
  STR ("format", FORMAT);
  STR ("package_id", m->package_id);
  STR ("workflow", m->workflow);
  STR ("direction", sk_direction_to_string (m->direction));
  STR ("created_at", m->created_at);
  STR ("created_by", m->created_by);
  STR ("origin", m->origin);
  STR ("recipient", m->recipient);
  STR ("case_id", m->case_id);
  STR ("policy", m->policy);
  json_builder_set_member_name (b, "files");
  json_builder_begin_array (b);
  for (guint i = 0; i < m->files->len; i++)
    {
      const SkManifestFile *f = g_ptr_array_index (m->files, i);
      json_builder_begin_object (b);
      STR ("name", f->name);
      STR ("kind", f->kind);
      json_builder_set_member_name (b, "size");
      json_builder_add_int_value (b, (gint64)f->size);
      STR ("sha256", f->sha256);
      json_builder_set_member_name (b, "records");
      json_builder_add_int_value (b, f->records);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
#undef STR
  json_builder_end_object (b);

  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_pretty (gen, pretty);
  json_generator_set_root (gen, root);
  gsize len;
  char *text = json_generator_to_data (gen, &len);
  return g_bytes_new_take (text, len);
}

GBytes *
sk_manifest_to_json (const SkManifest *m)
{
  return manifest_json (m, TRUE);
}

char *
sk_manifest_to_compact_json (const SkManifest *m)
{
  g_autoptr (GBytes) bytes = manifest_json (m, FALSE);
  return g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

/* ---- helpers ----------------------------------------------------------- */

static gboolean
hash_file (
    const char *path, char **out_sha, guint64 *out_size, SkProgress *progress, GError **error)
{
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      g_autofree char *base = g_path_get_basename (path);
      g_autofree char *safe = sk_escape_untrusted (base);
      g_autofree char *what = g_strdup_printf (_ ("opening %s"), safe);
      sk_error_set_from_errno (error, errno, what);
      return FALSE;
    }
  g_autoptr (SkSha256) sum = sk_sha256_new ();
  g_autofree guint8 *buf = g_malloc (BLOCK);
  guint64 size = 0;
  if (sum == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("SHA-256 is unavailable"));
      close (fd);
      return FALSE;
    }
  for (;;)
    {
      ssize_t n = read (fd, buf, BLOCK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          sk_error_set_from_errno (error, errno, _ ("reading a file to pack"));
          close (fd);
          return FALSE;
        }
      if (n == 0)
        break;
      sk_sha256_update (sum, buf, (gsize)n);
      size += (guint64)n;
      if (!sk_progress_add (progress, (guint64)n, error))
        {
          close (fd);
          return FALSE;
        }
    }
  close (fd);
  *out_sha = g_strdup (sk_sha256_hex (sum));
  *out_size = size;
  return TRUE;
}

static char *
now_rfc3339 (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  return g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
}

/* The hidden name NAME is written under until it is complete. */
static char *
temp_name (const char *name)
{
  return g_strconcat (SK_PACKAGE_TEMP_PREFIX, name, ".tmp", NULL);
}

/* Create the temporary TEMP in DIRFD, locked for as long as it is open: a
 * temporary nobody holds is a killed writer's, and the next pack removes
 * it (remove_stale_temps). */
static int
create_temp (int dirfd, const char *temp, int flags)
{
  int fd = openat (dirfd, temp, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    return -1;
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int errsv = errno;
      close (fd);
      unlinkat (dirfd, temp, 0);
      errno = errsv;
      return -1;
    }
  return fd;
}

static gboolean
write_bytes_durably (int dirfd, const char *name, GBytes *bytes, GError **error)
{
  g_autofree char *temp = temp_name (name);
  int fd = create_temp (dirfd, temp, O_WRONLY);
  if (fd < 0)
    {
      sk_error_set_from_errno (error, errno, _ ("creating the signature file"));
      return FALSE;
    }
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  gboolean ok = write (fd, data, len) == (ssize_t)len && fsync (fd) == 0;
  int errsv = errno;
  /* Renamed while still locked: no cleaner takes it for a stale one. */
  if (!ok || renameat2 (dirfd, temp, dirfd, name, RENAME_NOREPLACE) != 0)
    {
      sk_error_set_from_errno (error, ok ? errno : errsv, _ ("writing the signature file"));
      unlinkat (dirfd, temp, 0);
      close (fd);
      return FALSE;
    }
  close (fd);
  return TRUE;
}

/* Remove from DIRFD the temporaries of packs that were killed (a SIGTERM, a
 * power cut): names with SK_PACKAGE_TEMP_PREFIX that are regular files of
 * this process's user with one link and that no writer holds locked.  A
 * link, a FIFO, a device or a file of another user under such a name is
 * not ours: it is neither followed nor opened nor removed.  The name is
 * removed only while it still is the very file that was found unlocked. */
static void
remove_stale_temps (int dirfd)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) names = sk_fs_list (dirfd, &error);
  if (names == NULL)
    {
      g_debug ("listing the output folder for stale temporaries: %s", error->message);
      return;
    }
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      if (!g_str_has_prefix (name, SK_PACKAGE_TEMP_PREFIX) || !g_str_has_suffix (name, ".tmp"))
        continue;
      struct stat st, opened, now;
      if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG (st.st_mode) ||
          st.st_uid != geteuid () || st.st_nlink != 1)
        continue;
      int fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
      if (fd < 0)
        continue;
      if (fstat (fd, &opened) == 0 && opened.st_dev == st.st_dev && opened.st_ino == st.st_ino &&
          flock (fd, LOCK_EX | LOCK_NB) == 0 &&
          fstatat (dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_dev == st.st_dev &&
          now.st_ino == st.st_ino && unlinkat (dirfd, name, 0) == 0)
        g_debug ("removed a stale package temporary");
      close (fd);
    }
}

/* ---- packing ----------------------------------------------------------- */

/* Where the files' bytes come from while the tar is written: files by
 * path, or items of the store. */
typedef struct
{
  const char *const *paths; /* or */
  SkStore *store;           /* with */
  const char *const *item_ids;
} EntrySource;

typedef struct
{
  int fd; /* the socket the tar goes into */
  SkProgress *progress;
  GBytes *manifest;
  const SkManifest *m;
  const EntrySource *src;
  GBytes *checkpoint, *checkpoint_sig; /* NULL: none */
  gint64 mtime;
  GError *error;
} TarJob;

static gboolean
add_entry (TarJob *job, SkTarWriter *w, guint i)
{
  const SkManifestFile *f = g_ptr_array_index (job->m->files, i);
  g_autofree char *member = g_strconcat (FILES_PREFIX, f->name, NULL);
  if (job->src->store != NULL)
    {
      g_autoptr (SkStoreReader) r =
          sk_store_open_reader (job->src->store, job->src->item_ids[i], NULL, &job->error);
      if (r == NULL)
        return FALSE;
      gboolean ok = sk_tar_writer_add_fd (w, member, f->size, job->mtime,
                                          sk_store_reader_get_fd (r), &job->error);
      /* The store's own failure (an altered item) explains a short read. */
      g_autoptr (GError) open_error = NULL;
      if (!sk_store_reader_finish (r, &open_error))
        {
          g_clear_error (&job->error);
          g_propagate_error (&job->error, g_steal_pointer (&open_error));
          return FALSE;
        }
      return ok;
    }
  int fd = open (job->src->paths[i], O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      sk_error_set_from_errno (&job->error, errno, _ ("opening a file to pack"));
      return FALSE;
    }
  gboolean ok = sk_tar_writer_add_fd (w, member, f->size, job->mtime, fd, &job->error);
  close (fd);
  return ok;
}

static gboolean
write_tar_entries (TarJob *job)
{
  g_autoptr (SkTarWriter) w = sk_tar_writer_new (job->fd, &job->error);

  if (w != NULL)
    sk_tar_writer_set_progress (w, job->progress);
  if (w == NULL ||
      !sk_tar_writer_add_bytes (w, MANIFEST_NAME, job->manifest, job->mtime, &job->error))
    return FALSE;
  for (guint i = 0; i < job->m->files->len; i++)
    if (!add_entry (job, w, i))
      return FALSE;
  if (job->checkpoint != NULL &&
      (!sk_tar_writer_add_bytes (w, CHECKPOINT_NAME, job->checkpoint, job->mtime, &job->error) ||
       !sk_tar_writer_add_bytes (w, CHECKPOINT_SIG_NAME, job->checkpoint_sig, job->mtime,
                                 &job->error)))
    return FALSE;
  return sk_tar_writer_finish (w, &job->error);
}

static gpointer
write_tar (gpointer data)
{
  TarJob *job = data;

  write_tar_entries (job);
  /* The reader sees the end of the stream either way. */
  shutdown (job->fd, SHUT_WR);
  return NULL;
}

/* Read NAME in DIRFD back from the medium, past the page cache where the
 * kernel allows, and compare it with what was written. */
static gboolean
read_back (int dirfd, const char *name, const char *expected_sha, GError **error)
{
  int fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      sk_error_set_from_errno (error, errno, _ ("reading the package back"));
      return FALSE;
    }
  (void)posix_fadvise (fd, 0, 0, POSIX_FADV_DONTNEED);
  g_autoptr (SkSha256) sum = sk_sha256_new ();
  g_autofree guint8 *buf = g_malloc (BLOCK);
  for (;;)
    {
      ssize_t n = read (fd, buf, BLOCK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          sk_error_set_from_errno (error, errno, _ ("reading the package back"));
          close (fd);
          return FALSE;
        }
      if (n == 0)
        break;
      if (sum != NULL)
        sk_sha256_update (sum, buf, (gsize)n);
    }
  close (fd);
  if (sum == NULL || !g_str_equal (sk_sha256_hex (sum), expected_sha))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_READBACK_MISMATCH,
                   _ ("%s reads back differently from what was written: the medium is faulty or "
                      "was changed"),
                   name);
      return FALSE;
    }
  return TRUE;
}

/* ---- the message, encrypted in-process ------------------------------------ */

/* Signatures made over the digest of a package: SHA-256 (what is read
 * back is compared with what was written byte for byte, not hashed). */
#define PACK_SIG_HASH 8
/* The read-back trails the writer by steps of this much; what was written
 * is kept until it is read back and compared, at most READBACK_RING bytes
 * (the writer waits for the read-back beyond that). */
#define READBACK_STEP ((guint64)4 * 1024 * 1024)
#define READBACK_RING (3 * READBACK_STEP)
/* What O_DIRECT reads are aligned to (the largest logical block of the
 * media the station writes to). */
#define DIRECT_ALIGN 4096

/* The package as it is written: to the file, hashed, kept in a ring, and
 * read back from the medium on a second thread, a step behind the writer:
 * each step is written out (sync_file_range), dropped from the page cache
 * where the kernel allows, read again and compared byte for byte with the
 * ring (the bytes the signature's digest took). */
typedef struct
{
  int fd;
  SkDigest *sum; /* what was written */
  guint64 written;
  int write_errno;
  guint8 *ring; /* byte N written is at N % READBACK_RING until checked */

  GMutex lock;
  GCond cond;          /* for both threads: broadcast */
  guint64 published;   /* the read-back may go this far */
  guint64 checked;     /* read back and compared this far */
  gboolean closing;    /* nothing more will be published */
  gboolean reader_end; /* the read-back ended (at the end, or failed) */
  gboolean mismatch;   /* something read back differs from what was written */
  int direct_fd;       /* the file again, O_DIRECT; -1: none */
  int back_errno;
} PackSink;

/* Copy LEN bytes between the ring and BYTES at file offset OFF, either way. */
static void
ring_copy_in (PackSink *sink, guint64 off, const guint8 *bytes, gsize len)
{
  gsize at = (gsize)(off % READBACK_RING);
  gsize first = MIN (len, (gsize)READBACK_RING - at);
  memcpy (sink->ring + at, bytes, first);
  memcpy (sink->ring, bytes + first, len - first);
}

static gboolean
ring_equal (PackSink *sink, guint64 off, const guint8 *bytes, gsize len)
{
  gsize at = (gsize)(off % READBACK_RING);
  gsize first = MIN (len, (gsize)READBACK_RING - at);
  return memcmp (sink->ring + at, bytes, first) == 0 &&
         memcmp (sink->ring, bytes + first, len - first) == 0;
}

static gboolean
pack_sink_write (PackSink *sink, const guint8 *data, gsize len, GError **error)
{
  /* Room in the ring: what is older than the ring holds must have been
   * read back (or the read-back has ended, and says why below). */
  g_mutex_lock (&sink->lock);
  while (!sink->reader_end && sink->written + len - sink->checked > READBACK_RING)
    {
      sink->published = sink->written;
      g_cond_broadcast (&sink->cond);
      g_cond_wait (&sink->cond, &sink->lock);
    }
  g_mutex_unlock (&sink->lock);
  ring_copy_in (sink, sink->written, data, len);
  gsize done = 0;
  while (done < len)
    {
      ssize_t n = write (sink->fd, data + done, len - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          sink->write_errno = n < 0 ? errno : ENOSPC;
          sk_error_set_from_errno (error, sink->write_errno, _ ("writing the package"));
          return FALSE;
        }
      done += (gsize)n;
    }
  sk_digest_update (sink->sum, data, len);
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

static gboolean
pack_sink_out (const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  /* In pieces of at most a step, so that each fits the ring. */
  for (gsize off = 0; off < len;)
    {
      gsize n = (gsize)MIN ((guint64)(len - off), READBACK_STEP);
      if (!pack_sink_write (user_data, data + off, n, error))
        return FALSE;
      off += n;
    }
  return TRUE;
}

/* Read [FROM, TO) back and compare it with the ring.  Through a descriptor opened with
 * O_DIRECT where the file system allows (the bytes then come from the
 * device, with no copy through the page cache), else through the writer's
 * own, after dropping the range from the page cache. */
static gboolean
read_back_range (PackSink *sink, guint8 *buf, guint64 from, guint64 to)
{
  if (sync_file_range (sink->fd, (off_t)from, (off_t)(to - from),
                       SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                           SYNC_FILE_RANGE_WAIT_AFTER) != 0)
    {
      sink->back_errno = errno;
      return FALSE;
    }
  if (sink->direct_fd < 0)
    (void)posix_fadvise (sink->fd, (off_t)from, (off_t)(to - from), POSIX_FADV_DONTNEED);
  while (from < to)
    {
      int fd = sink->direct_fd >= 0 ? sink->direct_fd : sink->fd;
      /* O_DIRECT reads whole aligned blocks: FROM stays aligned (every
       * range but the last ends on a block), the last read comes up short. */
      gsize want = sink->direct_fd >= 0
                       ? (gsize)MIN ((guint64)BLOCK,
                                     (to - from + DIRECT_ALIGN - 1) & ~(guint64)(DIRECT_ALIGN - 1))
                       : (gsize)MIN ((guint64)BLOCK, to - from);
      ssize_t n = pread (fd, buf, want, (off_t)from);
      if (n < 0 && errno == EINTR)
        continue;
      /* A device whose blocks are larger than DIRECT_ALIGN, or a short read
       * that left FROM unaligned: the rest through the page cache. */
      if (n < 0 && errno == EINVAL && sink->direct_fd >= 0)
        {
          close (sink->direct_fd);
          sink->direct_fd = -1;
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

static gpointer
read_back_thread (gpointer data)
{
  PackSink *sink = data;
  guint8 *buf = NULL;
  if (posix_memalign ((void **)&buf, DIRECT_ALIGN, BLOCK) != 0)
    sink->back_errno = ENOMEM;
  guint64 done = 0;
  while (buf != NULL)
    {
      g_mutex_lock (&sink->lock);
      while (!sink->closing && sink->published - done < DIRECT_ALIGN)
        g_cond_wait (&sink->cond, &sink->lock);
      gboolean last = sink->closing;
      /* Up to a block boundary, except at the end. */
      guint64 to = last ? sink->published : sink->published & ~(guint64)(DIRECT_ALIGN - 1);
      g_mutex_unlock (&sink->lock);
      if (to > done && !read_back_range (sink, buf, done, to))
        break;
      done = to;
      if (last)
        break;
    }
  free (buf);
  /* A writer waiting for room goes on (and learns why at the end). */
  g_mutex_lock (&sink->lock);
  sink->reader_end = TRUE;
  g_cond_broadcast (&sink->cond);
  g_mutex_unlock (&sink->lock);
  return NULL;
}

/* Encrypt PLAIN_FD to RECIPIENT into OUT; *OUT_SUM (the digest of what was
 * written, unfinished, for the signature), *OUT_SHA (of what was written)
 * and *OUT_MISMATCH (what was read back differs) on success.
 * G_IO_ERROR_NOT_SUPPORTED, with nothing read or written, when the
 * recipient's key is GnuPG's to encrypt to. */
static gboolean
encrypt_in_process (SkKeyring *keyring,
                    const char *recipient,
                    int plain_fd,
                    int out,
                    SkDigest **out_sum,
                    char **out_sha,
                    gboolean *out_mismatch,
                    GCancellable *cancellable,
                    GError **error)
{
  g_autoptr (SkDigest) sum = sk_digest_new (PACK_SIG_HASH);
  if (sum == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("SHA-256 is unavailable"));
      return FALSE;
    }
  /* The same file again, by its descriptor, for reads past the page
   * cache; a file system without O_DIRECT (tmpfs) reads through the page
   * cache after dropping it. */
  g_autofree char *self_fd = g_strdup_printf ("/proc/self/fd/%d", out);
  g_autofree guint8 *ring = g_malloc (READBACK_RING);
  PackSink sink = { .fd = out,
                    .sum = sum,
                    .ring = ring,
                    .direct_fd = open (self_fd, O_RDONLY | O_DIRECT | O_CLOEXEC) };
  g_mutex_init (&sink.lock);
  g_cond_init (&sink.cond);
  GThread *reader = g_thread_new ("sk-pack-readback", read_back_thread, &sink);
  gboolean ok = sk_keyring_encrypt_to (keyring, recipient, plain_fd, pack_sink_out, &sink,
                                       cancellable, error);
  /* A medium that changes what was written is caught below: the tail of
   * the package is read back after this point. */
  if (ok)
    sk_fault_point ("pack-before-fsync");
  g_mutex_lock (&sink.lock);
  sink.published = sink.written;
  sink.closing = TRUE;
  g_cond_broadcast (&sink.cond);
  g_mutex_unlock (&sink.lock);
  g_thread_join (reader);
  if (sink.direct_fd >= 0)
    close (sink.direct_fd);
  g_mutex_clear (&sink.lock);
  g_cond_clear (&sink.cond);
  if (ok && !sink.mismatch && sink.back_errno != 0)
    {
      sk_error_set_from_errno (error, sink.back_errno, _ ("reading the package back"));
      ok = FALSE;
    }
  if (!ok)
    return FALSE;
  g_autoptr (SkDigest) copy = sk_digest_copy (sum);
  gsize dlen = 0;
  const guint8 *d = copy != NULL ? sk_digest_finish (copy, &dlen) : NULL;
  if (d == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("SHA-256 is unavailable"));
      return FALSE;
    }
  GString *hex = g_string_sized_new (2 * dlen);
  for (gsize i = 0; i < dlen; i++)
    g_string_append_printf (hex, "%02x", d[i]);
  *out_sha = g_string_free (hex, FALSE);
  *out_mismatch = sink.mismatch;
  *out_sum = g_steal_pointer (&sum);
  return TRUE;
}

static char *
bytes_sha256 (GBytes *bytes)
{
  return g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
}

/* Complete M (id, origin, recipient, times), then write, sign and read back
 * the package in OUT_DIR.  Packages that leave for the standard system
 * carry a signed checkpoint of the journal. */
static char *
write_package (SkStation *station,
               SkPolicy *policy,
               SkManifest *m,
               const EntrySource *src,
               const char *out_dir,
               char **out_sha256,
               SkProgress *progress,
               GCancellable *cancellable,
               GError **error)
{
  g_return_val_if_fail (m->created_by != NULL, NULL);
  const char *signer = sk_station_get_signing_key (station);
  if (!g_strv_contains (sk_policy_get_signers (policy, m->direction), signer))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("the policy does not list this station's key %s as a signer for %s"), signer,
                   sk_direction_to_string (m->direction));
      return NULL;
    }
  if (m->package_id == NULL)
    m->package_id = g_uuid_string_random ();
  m->created_at = now_rfc3339 ();
  m->origin = g_strdup (signer);
  m->recipient = g_strdup (sk_policy_get_recipient (policy, m->direction));
  m->policy = g_strdup (sk_policy_get_sha256 (policy));
  g_autoptr (GBytes) manifest = sk_manifest_to_json (m);

  /* The receiver counts the members' bytes against the policy's cap:
   * a package over it would only be refused on arrival. */
  guint64 total = g_bytes_get_size (manifest);
  for (guint i = 0; i < m->files->len; i++)
    total += ((SkManifestFile *)g_ptr_array_index (m->files, i))->size;
  if (total > sk_policy_get_max_package_size (policy))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_TAR_TOO_LARGE,
                   _ ("the files come to %llu bytes; a package holds at most %llu under the "
                      "policy"),
                   (unsigned long long)total,
                   (unsigned long long)sk_policy_get_max_package_size (policy));
      return NULL;
    }

  g_autoptr (GBytes) checkpoint = NULL;
  g_autoptr (GBytes) checkpoint_sig = NULL;
  if (m->direction == SK_DIRECTION_TO_STANDARD)
    {
      g_autoptr (SkJournal) journal = sk_station_open_journal (station, FALSE, error);
      if (journal == NULL)
        return NULL;
      checkpoint = sk_journal_make_checkpoint (journal, sk_station_get_keyring (station),
                                               sk_station_get_name (station), signer,
                                               &checkpoint_sig, error);
      if (checkpoint == NULL)
        return NULL;
    }

  int dirfd = open (out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    {
      sk_error_set_from_errno (error, errno, _ ("opening the output folder"));
      return NULL;
    }
  g_autofree char *name = g_strconcat (m->package_id, ".tar.gpg", NULL);
  g_autofree char *sig_name = g_strconcat (name, ".sig", NULL);
  g_autofree char *temp = temp_name (name);
  /* What killed packs left, and an earlier attempt under the same package
   * id (it was never acknowledged), which is replaced: the receiver takes
   * one package per id. */
  remove_stale_temps (dirfd);
  unlinkat (dirfd, sig_name, 0);
  unlinkat (dirfd, name, 0);
  unlinkat (dirfd, temp, 0);
  if (!sk_progress_begin (progress, SK_PROGRESS_PHASE_WRITE, total - g_bytes_get_size (manifest),
                          error))
    {
      close (dirfd);
      return NULL;
    }
  int out = create_temp (dirfd, temp, O_RDWR);
  if (out < 0)
    {
      sk_error_set_from_errno (error, errno, _ ("creating the package"));
      close (dirfd);
      return NULL;
    }

  /* The tar is written on a second thread into a socket that GnuPG reads:
   * no plaintext tar ever touches the disk. */
  int sv[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    {
      sk_error_set_from_errno (error, errno, _ ("making a pipe for the archive"));
      close (out);
      unlinkat (dirfd, temp, 0);
      close (dirfd);
      return NULL;
    }
  TarJob job = { .fd = sv[1],
                 .progress = progress,
                 .manifest = manifest,
                 .m = m,
                 .src = src,
                 .checkpoint = checkpoint,
                 .checkpoint_sig = checkpoint_sig,
                 .mtime = g_get_real_time () / G_USEC_PER_SEC };
  GThread *thread = g_thread_new ("sk-pack-tar", write_tar, &job);
  SkKeyring *keyring = sk_station_get_keyring (station);
  g_autoptr (GError) enc_error = NULL;
  g_autofree char *sha = NULL;
  gboolean back_mismatch = FALSE;
  g_autoptr (SkDigest) sum = NULL;
  /* In-process first (issue 15); GnuPG for a recipient key it does not
   * handle, before a byte is read from the tar. */
  gboolean ok = encrypt_in_process (keyring, m->recipient, sv[0], out, &sum, &sha, &back_mismatch,
                                    cancellable, &enc_error);
  gboolean in_process = ok || !g_error_matches (enc_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  if (!in_process)
    {
      g_clear_error (&enc_error);
      ok = sk_keyring_encrypt_fd (keyring, m->recipient, sv[0], out, &sha, cancellable, &enc_error);
      if (ok)
        sk_fault_point ("pack-before-fsync");
    }
  shutdown (sv[0], SHUT_RDWR);
  g_thread_join (thread);
  close (sv[0]);
  close (sv[1]);
  /* The tar's own failure explains a short message, except when the
   * encryption stopped first for a cancellation: the tar then only saw
   * its reader go. */
  if (job.error != NULL && !g_error_matches (enc_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_propagate_error (error, job.error);
      ok = FALSE;
    }
  else
    {
      g_clear_error (&job.error);
      if (!ok)
        g_propagate_error (error, g_steal_pointer (&enc_error));
    }
  if (ok && fsync (out) != 0)
    {
      sk_error_set_from_errno (error, errno, _ ("syncing the package"));
      ok = FALSE;
    }

  /* What was read back from the medium must be what was written. */
  struct stat written;
  if (ok && fstat (out, &written) != 0)
    {
      sk_error_set_from_errno (error, errno, _ ("reading the package back"));
      ok = FALSE;
    }
  if (ok &&
      !sk_progress_begin (progress, SK_PROGRESS_PHASE_READ_BACK, (guint64)written.st_size, error))
    ok = FALSE;
  if (ok && back_mismatch)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_READBACK_MISMATCH,
                   _ ("%s reads back differently from what was written: the medium is faulty or "
                      "was changed"),
                   name);
      ok = FALSE;
    }

  /* The detached signature: over the digest of the bytes written, by the
   * agent (read back above); or by GnuPG over the exact bytes written, read
   * back from the medium (past the page cache where the kernel allows):
   * what GnuPG signs is also what is compared with what was written. */
  g_autoptr (GBytes) sig = NULL;
  g_autoptr (GError) sign_error = NULL;
  if (ok && sum != NULL)
    {
      sig = sk_keyring_sign_digest (keyring, signer, sum, PACK_SIG_HASH, &sign_error);
      if (sig == NULL && !g_error_matches (sign_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
        {
          g_propagate_error (error, g_steal_pointer (&sign_error));
          ok = FALSE;
        }
    }
  g_autofree char *signed_sha = NULL;
  if (ok && sig == NULL && lseek (out, 0, SEEK_SET) == 0)
    {
      (void)posix_fadvise (out, 0, 0, POSIX_FADV_DONTNEED);
      sig = sk_keyring_sign_detached_fd (keyring, signer, out, &signed_sha, error);
      if (sig != NULL && !g_str_equal (signed_sha, sha))
        {
          g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_READBACK_MISMATCH,
                       _ ("%s reads back differently from what was written: the medium is faulty "
                          "or was changed"),
                       name);
          g_clear_pointer (&sig, g_bytes_unref);
        }
    }
  ok = ok && sig != NULL;
  /* Read back in full (above, or by GnuPG to sign it); a cancellation now
   * still leaves nothing. */
  ok = ok && sk_progress_add (progress, (guint64)written.st_size, error) &&
       !sk_progress_set_error_if_cancelled (progress, cancellable, error);
  if (ok)
    sk_fault_point ("pack-before-rename");
  /* Renamed while still locked: no cleaner takes it for a stale one. */
  if (ok && renameat2 (dirfd, temp, dirfd, name, RENAME_NOREPLACE) != 0)
    {
      sk_error_set_from_errno (error, errno, _ ("naming the package"));
      ok = FALSE;
    }
  if (!ok)
    unlinkat (dirfd, temp, 0);
  close (out);
  if (!ok)
    {
      close (dirfd);
      return NULL;
    }
  sk_fault_point ("pack-before-signature");
  g_autofree char *sig_sha = bytes_sha256 (sig);
  if (!write_bytes_durably (dirfd, sig_name, sig, error) || fsync (dirfd) != 0 ||
      !read_back (dirfd, sig_name, sig_sha, error))
    {
      if (error != NULL && *error == NULL)
        sk_error_set_from_errno (error, errno, _ ("syncing the output folder"));
      unlinkat (dirfd, sig_name, 0);
      unlinkat (dirfd, name, 0);
      close (dirfd);
      return NULL;
    }
  close (dirfd);
  if (out_sha256 != NULL)
    *out_sha256 = g_steal_pointer (&sha);
  return g_build_filename (out_dir, name, NULL);
}

static SkManifest *
manifest_new (const char *workflow, const char *case_id)
{
  SkManifest *m = g_new0 (SkManifest, 1);
  m->files = g_ptr_array_new_with_free_func ((GDestroyNotify)sk_manifest_file_free);
  m->workflow = g_strdup (workflow);
  m->case_id = g_strdup (case_id);
  return m;
}

static char *
pack_paths (SkStation *station,
            SkPolicy *policy,
            const SkActor *actor,
            const char *workflow,
            const char *case_id,
            const char *const *files,
            const char *out_dir,
            SkManifest **out_manifest,
            SkProgress *progress,
            GCancellable *cancellable,
            GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (station), NULL);
  g_return_val_if_fail (SK_IS_POLICY (policy), NULL);
  g_return_val_if_fail (files != NULL && files[0] != NULL, NULL);

  /* Never write a package that would be refused on arrival. */
  if (g_strv_length ((GStrv)files) > sk_policy_get_max_files (policy))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_TAR_TOO_MANY,
                   _ ("a package holds at most %u files under the policy"),
                   sk_policy_get_max_files (policy));
      return NULL;
    }
  /* Validation reads every file through; it is told as one step. */
  guint64 total = 0;
  for (guint i = 0; files[i] != NULL; i++)
    {
      GStatBuf st;
      if (g_stat (files[i], &st) == 0)
        total += (guint64)st.st_size;
    }
  if (!sk_progress_begin (progress, SK_PROGRESS_PHASE_VALIDATE, total, error))
    return NULL;
  g_autoptr (GPtrArray) reports = sk_validate_paths (policy, files, cancellable, error);
  if (reports == NULL)
    return NULL;
  total = 0;
  for (guint i = 0; i < reports->len; i++)
    total += ((SkFileReport *)g_ptr_array_index (reports, i))->size;
  if (!sk_progress_add (progress, total, error) ||
      !sk_progress_begin (progress, SK_PROGRESS_PHASE_HASH, total, error))
    return NULL;

  g_autoptr (SkManifest) m = manifest_new (workflow, case_id);
  m->created_by = g_strdup (actor->login);
  for (guint i = 0; i < reports->len; i++)
    {
      SkFileReport *r = g_ptr_array_index (reports, i);
      g_autofree char *safe = sk_escape_untrusted (r->file);
      if (!sk_file_report_ok (r))
        {
          const SkFinding *first = &g_array_index (r->findings, SkFinding, 0);
          g_set_error (error, SK_ERROR, first->code,
                       _ ("%s fails validation (%s); it is not packed"), safe,
                       sk_error_code_to_reason (first->code));
          return NULL;
        }
      SkDirection dir = sk_kind_get_direction (r->kind);
      if (!g_str_equal (sk_kind_get_workflow (r->kind), workflow) || (i > 0 && dir != m->direction))
        {
          g_set_error (error, SK_ERROR, SK_ERROR_MANIFEST_WRONG_STATION,
                       _ ("%s is a %s file of another workflow or direction than the package"),
                       safe, sk_kind_get_id (r->kind));
          return NULL;
        }
      if (r->case_id == NULL || !g_str_equal (r->case_id, case_id))
        {
          /* Which 処理番号 each side holds: the operator has to pick one. */
          g_autofree char *carried = sk_escape_untrusted (r->case_id != NULL ? r->case_id : "");
          g_autofree char *given = sk_escape_untrusted (case_id);
          g_set_error (error, SK_ERROR, SK_ERROR_MANIFEST_MISMATCH,
                       _ ("%s carries case (処理番号) “%s”, not “%s” of --case"), safe, carried,
                       given);
          return NULL;
        }
      m->direction = dir;
      SkManifestFile *f = g_new0 (SkManifestFile, 1);
      g_ptr_array_add (m->files, f);
      f->name = g_strdup (r->file);
      f->kind = g_strdup (sk_kind_get_id (r->kind));
      f->records = (gint64)r->records;
      for (guint j = 0; j < i; j++)
        if (g_str_equal (((SkManifestFile *)g_ptr_array_index (m->files, j))->name, f->name))
          {
            g_set_error (error, SK_ERROR, SK_ERROR_TAR_DUPLICATE, _ ("%s is given twice"), safe);
            return NULL;
          }
      if (!hash_file (files[i], &f->sha256, &f->size, progress, error))
        return NULL;
    }

  EntrySource src = { .paths = files };
  char *path =
      write_package (station, policy, m, &src, out_dir, NULL, progress, cancellable, error);
  if (path != NULL)
    *out_manifest = g_steal_pointer (&m);
  return path;
}

char *
sk_package_pack (SkStation *station,
                 SkPolicy *policy,
                 const SkActor *actor,
                 const char *workflow,
                 const char *case_id,
                 const char *const *files,
                 const char *out_dir,
                 SkProgress *progress,
                 GCancellable *cancellable,
                 GError **error)
{
  g_return_val_if_fail (actor != NULL, NULL);

  g_autoptr (SkManifest) m = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *path = pack_paths (station, policy, actor, workflow, case_id, files, out_dir, &m,
                                      progress, cancellable, &local_error);

  /* What leaves is journaled, and so is what was refused. */
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, FALSE, error);
  if (journal == NULL)
    return NULL;
  g_autofree char *details = m != NULL ? sk_manifest_to_compact_json (m) : NULL;
  SkJournalEntry entry = {
    .event = path != NULL ? "package-packed" : "pack-refused",
    .outcome = path != NULL ? "ok"
                            : (sk_error_get_exit_class (local_error) == SK_EXIT_REFUSED ? "refused"
                                                                                        : "failed"),
    .reason = path != NULL ? NULL : sk_error_get_reason (local_error),
    .uid = actor->uid,
    .login = actor->login,
    .role = actor->role,
    .case_id = case_id,
    .package_id = m != NULL ? m->package_id : NULL,
    .details = details,
  };
  if (sk_journal_record (journal, &entry, path != NULL ? error : NULL) == 0 && path != NULL)
    return NULL;
  if (path == NULL)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return g_steal_pointer (&path);
}

char *
sk_package_pack_items (SkStation *station,
                       SkPolicy *policy,
                       SkStore *store,
                       const char *workflow,
                       const char *case_id,
                       const char *created_by,
                       const char *package_id,
                       GPtrArray *files,
                       const char *const *item_ids,
                       const char *out_dir,
                       char **out_sha256,
                       SkProgress *progress,
                       GCancellable *cancellable,
                       GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (station), NULL);
  g_return_val_if_fail (SK_IS_POLICY (policy), NULL);
  g_return_val_if_fail (SK_IS_STORE (store), NULL);
  g_return_val_if_fail (created_by != NULL, NULL);
  g_return_val_if_fail (files != NULL && files->len > 0, NULL);

  if (files->len > sk_policy_get_max_files (policy))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_TAR_TOO_MANY,
                   _ ("a package holds at most %u files under the policy"),
                   sk_policy_get_max_files (policy));
      return NULL;
    }
  g_autoptr (SkManifest) m = manifest_new (workflow, case_id);
  m->created_by = g_strdup (created_by);
  m->package_id = g_strdup (package_id);
  for (guint i = 0; i < files->len; i++)
    {
      const SkManifestFile *given = g_ptr_array_index (files, i);
      const SkKind *kind = sk_policy_lookup_kind (policy, given->kind);
      if (kind == NULL || !g_str_equal (sk_kind_get_workflow (kind), workflow) ||
          (i > 0 && sk_kind_get_direction (kind) != m->direction))
        {
          g_set_error (error, SK_ERROR, SK_ERROR_MANIFEST_WRONG_STATION,
                       _ ("%s is a %s file of another workflow or direction than the package"),
                       given->name, given->kind);
          return NULL;
        }
      m->direction = sk_kind_get_direction (kind);
      SkManifestFile *f = g_new0 (SkManifestFile, 1);
      f->name = g_strdup (given->name);
      f->kind = g_strdup (given->kind);
      f->size = given->size;
      f->sha256 = g_strdup (given->sha256);
      f->records = given->records;
      g_ptr_array_add (m->files, f);
    }
  EntrySource src = { .store = store, .item_ids = item_ids };
  return write_package (station, policy, m, &src, out_dir, out_sha256, progress, cancellable,
                        error);
}

/* ---- reading ----------------------------------------------------------- */

void
sk_package_result_free (SkPackageResult *result)
{
  if (result == NULL)
    return;
  sk_manifest_free (result->manifest);
  g_free (result->signer);
  g_clear_pointer (&result->reports, g_ptr_array_unref);
  g_clear_pointer (&result->pair_keys, g_ptr_array_unref);
  g_free (result->checkpoint_head);
  g_free (result->checkpoint_station);
  g_free (result);
}

typedef struct
{
  SkKeyring *keyring;
  int cipher_fd;
  SkChannel *out;
  GCancellable *cancellable;
  GError *error;
} DecryptJob;

static gboolean
to_channel (const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  if (sk_channel_write (user_data, data, len))
    return TRUE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _ ("the reader stopped"));
  return FALSE;
}

static gpointer
decrypt (gpointer data)
{
  DecryptJob *job = data;
  sk_keyring_decrypt_to (job->keyring, job->cipher_fd, to_channel, job->out, job->cancellable,
                         &job->error);
  sk_channel_close_write (job->out);
  return NULL;
}

static gssize
from_channel (gpointer user_data, const void **out_block, GError **error)
{
  const guint8 *block = NULL;
  gsize n = sk_channel_read_block (user_data, &block);
  *out_block = block;
  return (gssize)n;
}

static gboolean
refuse (GError **error, SkErrorCode code, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
refuse (GError **error, SkErrorCode code, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, SK_ERROR, code, msg);
  return FALSE;
}

/* The direction this station receives in: the one whose recipient it is. */
static gboolean
receiving_direction (SkStation *station, SkPolicy *policy, SkDirection *out, GError **error)
{
  const char *me = sk_station_get_signing_key (station);
  for (SkDirection d = SK_DIRECTION_TO_INTERMEDIATE; d <= SK_DIRECTION_TO_STANDARD; d++)
    if (g_str_equal (sk_policy_get_recipient (policy, d), me))
      {
        *out = d;
        return TRUE;
      }
  return refuse (error, SK_ERROR_MANIFEST_WRONG_STATION,
                 _ ("under the policy this station receives no packages"));
}

gboolean
sk_package_seen (SkStation *station, const char *package_id, gboolean *out_seen, GError **error)
{
  *out_seen = FALSE;
  g_autofree char *db = g_build_filename (sk_station_get_dir (station), "station.db", NULL);
  if (!g_file_test (db, G_FILE_TEST_EXISTS))
    return TRUE;
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, TRUE, error);
  if (journal == NULL)
    return FALSE;
  const char *events[] = { "package-imported", "package-unpacked" };
  for (gsize i = 0; i < G_N_ELEMENTS (events); i++)
    {
      SkJournalFilter filter = { .event = events[i] };
      g_autoptr (GPtrArray) rows = sk_journal_query (journal, &filter, error);
      if (rows == NULL)
        return FALSE;
      for (guint r = 0; r < rows->len; r++)
        if (g_strcmp0 (((SkJournalRow *)g_ptr_array_index (rows, r))->package_id, package_id) == 0)
          *out_seen = TRUE;
    }
  return TRUE;
}

typedef struct
{
  int dirfd;
  const char *only_file; /* NULL: every file */
  GPtrArray *temps;      /* names written in DIRFD, to rename or remove */
  GPtrArray *finals;
} Extract;

static void
extract_discard (Extract *x)
{
  for (guint i = 0; x->temps != NULL && i < x->temps->len; i++)
    unlinkat (x->dirfd, g_ptr_array_index (x->temps, i), 0);
}

/* The whole current member, at most MAX bytes. */
static GBytes *
read_member (SkTarReader *tar, guint64 size, guint64 max, const char *what, GError **error)
{
  if (size > max)
    {
      refuse (error, SK_ERROR_MANIFEST_INVALID, _ ("the %s is larger than %llu bytes"), what,
              (unsigned long long)max);
      return NULL;
    }
  g_autofree char *data = g_malloc (size + 1);
  guint64 got = 0;
  while (got < size)
    {
      gssize n = sk_tar_reader_read (tar, data + got, size - got, error);
      if (n < 0)
        return NULL;
      if (n == 0)
        {
          refuse (error, SK_ERROR_TAR_MALFORMED, _ ("the %s is cut short"), what);
          return NULL;
        }
      got += (guint64)n;
    }
  return g_bytes_new_take (g_steal_pointer (&data), size);
}

/* The journal checkpoint a package for the standard system carries: signed
 * by the package's own signer, of that station. */
static gboolean
check_checkpoint (SkStation *station,
                  const char *signer,
                  GBytes *checkpoint,
                  GBytes *sig,
                  SkPackageResult *result,
                  GError **error)
{
  if (checkpoint == NULL || sig == NULL)
    return refuse (error, SK_ERROR_MANIFEST_MISMATCH,
                   _ ("the package carries no signed journal checkpoint"));
  const char *signers[] = { signer, NULL };
  g_autoptr (SkSignature) s = sk_keyring_verify_detached_bytes (sk_station_get_keyring (station),
                                                                sig, checkpoint, signers, error);
  if (s == NULL)
    {
      g_prefix_error (error, _ ("the journal checkpoint's signature: "));
      return FALSE;
    }
  g_autofree char *key = NULL;
  g_autoptr (GError) parse_error = NULL;
  if (!sk_checkpoint_parse (checkpoint, &result->checkpoint_seq, &result->checkpoint_head,
                            &result->checkpoint_station, &key, &parse_error))
    return refuse (error, SK_ERROR_MANIFEST_INVALID, _ ("the journal checkpoint: %s"),
                   parse_error->message);
  if (!g_str_equal (key, signer))
    return refuse (error, SK_ERROR_MANIFEST_MISMATCH,
                   _ ("the journal checkpoint is of another station than the package's signer"));
  return TRUE;
}

static gboolean
hash_block (const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  sk_sha256_update (user_data, data, len);
  return TRUE;
}

/* Read the whole archive; TRUE when acceptance 2–5 hold. */
static gboolean
read_package (SkStation *station,
              SkPolicy *policy,
              SkDirection direction,
              const char *signer,
              SkTarReader *tar,
              Extract *x,
              const SkCheckOptions *opts,
              SkPackageResult *result,
              GPtrArray **out_reports,
              SkProgress *progress,
              GError **error)
{
  char *name_raw = NULL;
  guint64 size;

  /* MANIFEST.json, first. */
  if (!sk_tar_reader_next (tar, &name_raw, &size, error))
    {
      if (error != NULL && *error == NULL)
        refuse (error, SK_ERROR_TAR_MALFORMED, _ ("the archive is empty"));
      return FALSE;
    }
  g_autofree char *first = name_raw;
  if (!g_str_equal (first, MANIFEST_NAME))
    return refuse (error, SK_ERROR_TAR_ORDER, _ ("the archive does not begin with %s"),
                   MANIFEST_NAME);
  g_autoptr (GBytes) manifest_bytes =
      read_member (tar, size, SK_MANIFEST_MAX_SIZE, _ ("manifest"), error);
  if (manifest_bytes == NULL)
    return FALSE;
  SkManifest *m = sk_manifest_parse (manifest_bytes, error);
  if (m == NULL)
    return FALSE;
  result->manifest = m;

  /* Acceptance 4: meant for this station, by this signer, under this
   * policy, never seen before. */
  if (m->direction != direction ||
      !g_str_equal (m->recipient, sk_station_get_signing_key (station)))
    return refuse (error, SK_ERROR_MANIFEST_WRONG_STATION,
                   _ ("the package is for %s, not this station"), m->recipient);
  if (!g_str_equal (m->origin, signer))
    return refuse (error, SK_ERROR_MANIFEST_MISMATCH,
                   _ ("the manifest names %s as origin, but %s signed it"), m->origin, signer);
  if (!g_str_equal (m->policy, sk_policy_get_sha256 (policy)))
    return refuse (error, SK_ERROR_MANIFEST_MISMATCH,
                   _ ("the package was made under policy %s; this station has %s"), m->policy,
                   sk_policy_get_sha256 (policy));
  if (m->files->len > sk_policy_get_max_files (policy))
    return refuse (error, SK_ERROR_TAR_TOO_MANY, _ ("the package lists more files than allowed"));
  for (guint i = 0; i < m->files->len; i++)
    {
      const SkManifestFile *f = g_ptr_array_index (m->files, i);
      const SkKind *kind = sk_policy_lookup_kind (policy, f->kind);
      if (kind == NULL || sk_kind_get_direction (kind) != direction ||
          !g_str_equal (sk_kind_get_workflow (kind), m->workflow))
        return refuse (error, SK_ERROR_MANIFEST_WRONG_STATION,
                       _ ("the package carries a %s file, which this workflow and direction do "
                          "not take"),
                       f->kind);
    }
  if (!opts->replay_allowed)
    {
      gboolean seen;
      if (!sk_package_seen (station, m->package_id, &seen, error))
        return FALSE;
      if (seen)
        return refuse (error, SK_ERROR_PACKAGE_REPLAYED, _ ("package %s was received before"),
                       m->package_id);
    }

  /* Each file once, as listed, validated as it streams by; then, in a
   * package for the standard system, the journal checkpoint. */
  guint64 files_total = 0;
  for (guint i = 0; i < m->files->len; i++)
    files_total += ((SkManifestFile *)g_ptr_array_index (m->files, i))->size;
  if (!opts->progress_continues &&
      !sk_progress_begin (progress, SK_PROGRESS_PHASE_VALIDATE, files_total, error))
    return FALSE;
  g_autoptr (GPtrArray) reports =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sk_file_report_free);
  g_ptr_array_set_size (reports, m->files->len);
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify)sk_key_set_free);
  g_ptr_array_set_size (keys, m->files->len);
  g_autoptr (GBytes) checkpoint = NULL;
  g_autoptr (GBytes) checkpoint_sig = NULL;
  guint found = 0;
  for (;;)
    {
      char *raw = NULL;
      if (!sk_tar_reader_next (tar, &raw, &size, error))
        {
          if (error != NULL && *error != NULL)
            return FALSE;
          break;
        }
      g_autofree char *member = raw;
      if (direction == SK_DIRECTION_TO_STANDARD && g_str_equal (member, CHECKPOINT_NAME))
        {
          if (checkpoint != NULL || found != m->files->len)
            return refuse (error, SK_ERROR_TAR_ORDER,
                           _ ("the journal checkpoint must follow all files, once"));
          checkpoint = read_member (tar, size, CHECKPOINT_MAX, _ ("journal checkpoint"), error);
          if (checkpoint == NULL)
            return FALSE;
          continue;
        }
      if (direction == SK_DIRECTION_TO_STANDARD && g_str_equal (member, CHECKPOINT_SIG_NAME))
        {
          if (checkpoint == NULL || checkpoint_sig != NULL)
            return refuse (error, SK_ERROR_TAR_ORDER,
                           _ ("the checkpoint's signature must follow the checkpoint, once"));
          checkpoint_sig = read_member (tar, size, SIG_MAX, _ ("checkpoint signature"), error);
          if (checkpoint_sig == NULL)
            return FALSE;
          continue;
        }
      const char *bare =
          g_str_has_prefix (member, FILES_PREFIX) ? member + strlen (FILES_PREFIX) : NULL;
      guint index = G_MAXUINT;
      for (guint i = 0; bare != NULL && i < m->files->len; i++)
        if (g_str_equal (((SkManifestFile *)g_ptr_array_index (m->files, i))->name, bare))
          index = i;
      if (index == G_MAXUINT)
        {
          g_autofree char *safe = sk_escape_untrusted (member);
          return refuse (error, SK_ERROR_TAR_PATH, _ ("archive member %s is not in the manifest"),
                         safe);
        }
      if (checkpoint != NULL)
        return refuse (error, SK_ERROR_TAR_ORDER, _ ("a file follows the journal checkpoint"));
      const SkManifestFile *f = g_ptr_array_index (m->files, index);
      if (size != f->size)
        return refuse (error, SK_ERROR_MANIFEST_MISMATCH,
                       _ ("%s has %llu bytes in the archive, %llu in the manifest"), f->name,
                       (unsigned long long)size, (unsigned long long)f->size);

      g_autoptr (SkValidator) v = sk_validator_new (policy, f->name);
      const SkKind *kind = sk_validator_get_kind (v);
      if (kind == NULL || !g_str_equal (sk_kind_get_id (kind), f->kind))
        return refuse (error, SK_ERROR_MANIFEST_MISMATCH, _ ("%s is not a %s file by its name"),
                       f->name, f->kind);
      sk_validator_set_expected_size (v, size);
      if (opts->collect_pair_keys)
        sk_validator_collect_pair_keys (v);
      g_autoptr (SkSha256) sum = sk_sha256_new ();
      int out = -1;
      if (sum == NULL)
        return refuse (error, SK_ERROR_IO_ERROR, _ ("SHA-256 is unavailable"));
      if (x != NULL && (x->only_file == NULL || g_str_equal (x->only_file, f->name)))
        {
          g_autofree char *temp = g_strconcat (".sekisho-", m->package_id, "-", f->name, NULL);
          out = openat (x->dirfd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
          if (out < 0)
            {
              sk_error_set_from_errno (error, errno, _ ("creating a file in the output folder"));
              return FALSE;
            }
          g_ptr_array_add (x->temps, g_steal_pointer (&temp));
          g_ptr_array_add (x->finals, g_strdup (f->name));
        }
      guint64 real = 0;
      /* The member's SHA-256 on the second core while this one validates. */
      g_autoptr (SkBlockWorker) hasher = sk_block_worker_new ("sk-hash", hash_block, sum, BLOCK);
      for (;;)
        {
          guint8 *buf = sk_block_worker_get_buffer (hasher);
          gssize n = sk_tar_reader_read (tar, buf, BLOCK, error);
          if (n < 0)
            {
              if (out >= 0)
                close (out);
              return FALSE;
            }
          if (n == 0)
            break;
          real += (guint64)n;
          sk_block_worker_push (hasher, buf, (gsize)n);
          sk_validator_feed (v, buf, (gsize)n);
          if (out >= 0 && write (out, buf, (size_t)n) != n)
            {
              sk_error_set_from_errno (error, errno, _ ("writing a file in the output folder"));
              close (out);
              return FALSE;
            }
          if (!sk_progress_add (progress, (guint64)n, error))
            {
              if (out >= 0)
                close (out);
              return FALSE;
            }
        }
      if (out >= 0)
        {
          gboolean synced = fsync (out) == 0;
          close (out);
          if (!synced)
            {
              sk_error_set_from_errno (error, errno, _ ("syncing a file in the output folder"));
              return FALSE;
            }
        }
      sk_block_worker_finish (hasher, NULL); /* hashing cannot fail */
      SkKeySet *pair_keys = NULL;
      SkFileReport *report = sk_validator_finish (v, opts->collect_pair_keys ? &pair_keys : NULL);
      reports->pdata[index] = report;
      keys->pdata[index] = pair_keys;
      if (real != f->size || !g_str_equal (sk_sha256_hex (sum), f->sha256))
        return refuse (error, SK_ERROR_MANIFEST_MISMATCH,
                       _ ("%s does not match the size or SHA-256 the manifest gives"), f->name);
      if (sk_file_report_ok (report) && report->records != (guint64)f->records)
        return refuse (error, SK_ERROR_MANIFEST_MISMATCH,
                       _ ("%s has another number of records than the manifest gives"), f->name);
      if (report->case_id == NULL || !g_str_equal (report->case_id, m->case_id))
        if (sk_file_report_ok (report))
          return refuse (error, SK_ERROR_MANIFEST_MISMATCH,
                         _ ("%s belongs to another case than the package"), f->name);
      found++;
    }
  if (found != m->files->len)
    return refuse (error, SK_ERROR_MANIFEST_MISMATCH,
                   _ ("the archive lacks files the manifest lists"));
  if (direction == SK_DIRECTION_TO_STANDARD &&
      !check_checkpoint (station, signer, checkpoint, checkpoint_sig, result, error))
    return FALSE;

  /* Acceptance 5: every file valid. */
  for (guint i = 0; i < reports->len; i++)
    {
      SkFileReport *r = g_ptr_array_index (reports, i);
      if (!sk_file_report_ok (r))
        {
          const SkFinding *f = &g_array_index (r->findings, SkFinding, 0);
          g_autofree char *safe = sk_escape_untrusted (r->file);
          if (out_reports != NULL)
            *out_reports = g_ptr_array_ref (reports);
          return refuse (error, f->code, _ ("%s fails validation (%s)"), safe,
                         sk_error_code_to_reason (f->code));
        }
    }
  result->reports = g_steal_pointer (&reports);
  if (opts->collect_pair_keys)
    result->pair_keys = g_steal_pointer (&keys);
  return TRUE;
}

/* The folder of PATH, opened (the caller named it), and PATH's last
 * component in *OUT_NAME. */
static int
open_parent (const char *path, char **out_name, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      sk_error_set_from_errno (error, errno, _ ("opening the package's folder"));
      return -1;
    }
  *out_name = g_path_get_basename (path);
  return fd;
}

/* An encrypted tar is slightly larger than the tar: allow 1% and 64 KiB. */
static guint64
package_cap (SkPolicy *policy)
{
  guint64 cap = sk_policy_get_max_package_size (policy);
  return cap + cap / 100 + 65536;
}

/* A fresh stream of the package's bytes, for one pass. */
typedef struct
{
  int fd;
  SkStoreReader *reader; /* when the bytes come from the store */
} Pass;

static gboolean
pass_open (const SkPackageSource *src, Pass *pass, GCancellable *cancellable, GError **error)
{
  pass->reader = NULL;
  if (src->path != NULL)
    {
      g_autofree char *name = NULL;
      int dirfd = open_parent (src->path, &name, error);
      if (dirfd < 0)
        return FALSE;
      /* The size was checked against the cap already (source_size). */
      pass->fd =
          sk_fs_open_untrusted (dirfd, name, _ ("the package"), G_MAXUINT64, NULL, NULL, error);
      close (dirfd);
      return pass->fd >= 0;
    }
  pass->reader = src->staged != NULL
                     ? sk_staged_open_reader (src->staged, cancellable, error)
                     : sk_store_open_reader (src->store, src->item_id, cancellable, error);
  if (pass->reader == NULL)
    return FALSE;
  pass->fd = sk_store_reader_get_fd (pass->reader);
  return TRUE;
}

/* End a pass; the store's failure to open its copy (it was altered) wins
 * over whatever the pass made of the bytes. */
static gboolean
pass_close (Pass *pass, GError **error)
{
  if (pass->reader == NULL)
    {
      if (pass->fd >= 0)
        close (pass->fd);
      pass->fd = -1;
      return TRUE;
    }
  g_autoptr (GError) local_error = NULL;
  gboolean ok = sk_store_reader_finish (pass->reader, &local_error);
  g_clear_pointer (&pass->reader, sk_store_reader_free);
  pass->fd = -1;
  if (!ok)
    {
      if (error != NULL)
        g_clear_error (error);
      g_propagate_error (error, g_steal_pointer (&local_error));
    }
  return ok;
}

static gboolean
source_size (const SkPackageSource *src, guint64 *out, GError **error)
{
  if (src->staged != NULL)
    {
      *out = sk_staged_get_item (src->staged)->size;
      return TRUE;
    }
  if (src->store != NULL)
    {
      g_autoptr (SkItem) item = sk_store_lookup (src->store, src->item_id, error);
      if (item == NULL)
        return FALSE;
      *out = item->size;
      return TRUE;
    }
  g_autofree char *name = NULL;
  int dirfd = open_parent (src->path, &name, error);
  if (dirfd < 0)
    return FALSE;
  struct stat st;
  int fd = sk_fs_open_untrusted (dirfd, name, _ ("the package"), G_MAXUINT64, &st, NULL, error);
  close (dirfd);
  if (fd < 0)
    return FALSE;
  close (fd);
  *out = (guint64)st.st_size;
  return TRUE;
}

static int
open_package_at (SkPolicy *policy, int dirfd, const char *name, struct stat *st, GError **error)
{
  int fd =
      sk_fs_open_untrusted (dirfd, name, _ ("the package"), package_cap (policy), st, NULL, error);
  /* For a package, too large is the archive's own refusal. */
  if (fd < 0 && error != NULL && g_error_matches (*error, SK_ERROR, SK_ERROR_FILE_TOO_LARGE))
    {
      g_clear_error (error);
      refuse (error, SK_ERROR_TAR_TOO_LARGE, _ ("the package is larger than the policy allows"));
    }
  return fd;
}

static GBytes *
source_signature (const SkPackageSource *src, GError **error)
{
  if (src->signature != NULL)
    return g_bytes_ref (src->signature);
  g_autofree char *name = NULL;
  int dirfd = open_parent (src->path, &name, error);
  if (dirfd < 0)
    return NULL;
  g_autofree char *sig_name = g_strconcat (name, ".sig", NULL);
  GBytes *sig = sk_package_read_signature_at (dirfd, sig_name, error);
  close (dirfd);
  return sig;
}

GBytes *
sk_package_read_signature_at (int dirfd, const char *name, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  gboolean missing = FALSE;
  struct stat st;
  int fd = sk_fs_open_untrusted (dirfd, name, _ ("the signature file"), SIG_MAX, &st, &missing,
                                 &local_error);
  if (fd < 0)
    {
      if (missing)
        refuse (error, SK_ERROR_SIG_MISSING, _ ("the package has no signature file"));
      else if (g_error_matches (local_error, SK_ERROR, SK_ERROR_FILE_TOO_LARGE))
        refuse (error, SK_ERROR_SIG_BAD, _ ("the signature file is not a signature of a package"));
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  g_autofree guint8 *data = g_malloc ((gsize)st.st_size + 1);
  gsize got = 0;
  while (got < (gsize)st.st_size)
    {
      ssize_t n = read (fd, data + got, (gsize)st.st_size - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          sk_error_set_from_errno (error, n < 0 ? errno : EIO, _ ("reading the signature file"));
          close (fd);
          return NULL;
        }
      got += (gsize)n;
    }
  close (fd);
  return g_bytes_new_take (g_steal_pointer (&data), got);
}

static SkSignature *
verify_once (SkStation *station,
             SkVerifier *v,
             GBytes *sig,
             const char *const *signers,
             const SkPackageSource *src,
             int in_fd,
             guint64 max_size,
             int *out_copy,
             guint64 *out_size,
             char **out_sha256,
             SkProgress *progress,
             GCancellable *cancellable,
             GError **error);

SkStaged *
sk_package_copy_in_at (SkStation *station,
                       SkStore *store,
                       SkPolicy *policy,
                       int dirfd,
                       const char *name,
                       gint64 deadline_us,
                       GBytes **out_signature,
                       SkSignature **out_verified,
                       SkProgress *progress,
                       GCancellable *cancellable,
                       GError **error)
{
  SkDirection direction = SK_DIRECTION_TO_INTERMEDIATE;
  if (!receiving_direction (station, policy, &direction, error))
    return NULL;
  g_autofree char *sig_name = g_strconcat (name, ".sig", NULL);
  g_autoptr (GBytes) sig = sk_package_read_signature_at (dirfd, sig_name, error);
  if (sig == NULL)
    return NULL;
  /* Rule 0 of the signature, before a byte of the package is read. */
  g_autoptr (SkVerifier) verifier =
      sk_keyring_verifier_new (sk_station_get_keyring (station), sig, error);
  if (verifier == NULL)
    return NULL;

  struct stat st;
  int fd = open_package_at (policy, dirfd, name, &st, error);
  if (fd < 0)
    return NULL;
  if (!sk_progress_begin (progress, SK_PROGRESS_PHASE_COPY, (guint64)st.st_size, error))
    {
      close (fd);
      return NULL;
    }
  /* Read once, into a private copy that cannot change (verify_once), and
   * verified there before anything else.  The SHA-256 the signature took
   * is the stored item's too, when the signature's hash is SHA-256. */
  int copy = -1;
  guint64 size = 0;
  g_autofree char *sha256 = NULL;
  g_autoptr (SkSignature) verified =
      verify_once (station, verifier, sig, sk_policy_get_signers (policy, direction), NULL, fd,
                   package_cap (policy), &copy, &size, &sha256, progress, cancellable, error);
  if (verified == NULL)
    return NULL;
  if (size != (guint64)st.st_size)
    {
      close (copy);
      refuse (error, SK_ERROR_MEDIA_REMOVED,
              _ ("the package changed size while it was read from the medium"));
      return NULL;
    }
  /* The store's copy is sealed from that private copy on the second core
   * while acceptance 2–5 read it (sk_package_check_source() finishes it). */
  SkItemInfo info = { .kind = "package", .name = name, .records = -1, .deadline_us = deadline_us };
  SkStaged *staged = sk_store_stage_fd (store, copy, size, sha256, &info, error);
  close (copy);
  if (staged == NULL)
    return NULL;
  *out_signature = g_steal_pointer (&sig);
  *out_verified = g_steal_pointer (&verified);
  return staged;
}

SkStaged *
sk_package_copy_in (SkStation *station,
                    SkStore *store,
                    SkPolicy *policy,
                    const char *path,
                    gint64 deadline_us,
                    GBytes **out_signature,
                    SkSignature **out_verified,
                    SkProgress *progress,
                    GCancellable *cancellable,
                    GError **error)
{
  g_autofree char *name = NULL;
  int dirfd = open_parent (path, &name, error);
  if (dirfd < 0)
    return NULL;
  SkStaged *staged =
      sk_package_copy_in_at (station, store, policy, dirfd, name, deadline_us, out_signature,
                             out_verified, progress, cancellable, error);
  close (dirfd);
  return staged;
}

/* Write all of DATA to FD. */
static gboolean
write_all (int fd, const guint8 *data, gsize len);

static gboolean
copy_block (const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  if (write_all (GPOINTER_TO_INT (user_data), data, len))
    return TRUE;
  sk_error_set_from_errno (error, errno, _ ("writing"));
  return FALSE;
}

static gboolean
write_all (int fd, const guint8 *data, gsize len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n == 0)
            errno = ENOSPC;
          return FALSE;
        }
      data += n;
      len -= (gsize)n;
    }
  return TRUE;
}

/* Acceptance 1, reading the package once.  Each byte read is hashed for
 * the signature and, from a file, kept in a private copy: an anonymous
 * file in memory (memfd), sealed once written, that no other process can
 * name, so that a medium that answers differently the second time has no
 * second time.  (In memory rather than on disk: writing 500 MB through the
 * disk's page cache costs five times as much here, more than GnuPG's whole
 * decryption.  It is not part of the process's resident set, and is gone
 * when the check ends; the policy's size cap bounds it.)  Only that copy — or, from the store, its
 * sealed copy, which cannot change unnoticed — is read again: by GnuPG when the signature is one it
 * must judge (sk_verifier_finish), and for decryption.  *OUT_COPY: the
 * private copy, rewound (-1 for the store).  The bytes come from IN_FD
 * (which is closed here) or, when it is -1, from SRC; V was made from SIG
 * before they were opened.  *OUT_SIZE: how many were read; *OUT_SHA256:
 * their SHA-256 when the signature's digest is that (else NULL). */
static SkSignature *
verify_once (SkStation *station,
             SkVerifier *v,
             GBytes *sig,
             const char *const *signers,
             const SkPackageSource *src,
             int in_fd,
             guint64 max_size,
             int *out_copy,
             guint64 *out_size,
             char **out_sha256,
             SkProgress *progress,
             GCancellable *cancellable,
             GError **error)
{
  SkKeyring *keyring = sk_station_get_keyring (station);
  Pass pass = { .fd = in_fd };
  if (in_fd < 0 && !pass_open (src, &pass, cancellable, error))
    return NULL;
  int copy = -1;
  if (in_fd >= 0 || src->path != NULL)
    {
      copy = memfd_create ("sekisho-package", MFD_CLOEXEC | MFD_ALLOW_SEALING);
      if (copy < 0)
        {
          sk_error_set_from_errno (error, errno, _ ("making a private copy of the package"));
          pass_close (&pass, NULL);
          return NULL;
        }
    }

  /* The copy is written on the second core while this one hashes. */
  g_autoptr (SkBlockWorker) copier =
      copy >= 0 ? sk_block_worker_new ("sk-copy", copy_block, GINT_TO_POINTER (copy), BLOCK) : NULL;
  g_autofree guint8 *own = copier == NULL ? g_malloc (BLOCK) : NULL;
  g_autoptr (GError) read_error = NULL;
  guint64 total = 0;
  for (;;)
    {
      guint8 *buf = copier != NULL ? sk_block_worker_get_buffer (copier) : own;
      if (sk_progress_set_error_if_cancelled (progress, cancellable, &read_error))
        break;
      ssize_t n = read (pass.fd, buf, BLOCK);
      if (n < 0 && errno == EINTR)
        n = read (pass.fd, buf, BLOCK);
      if (n < 0)
        {
          sk_error_set_from_errno (&read_error, errno, _ ("reading the package"));
          break;
        }
      if (n == 0)
        break;
      total += (guint64)n;
      if (total > max_size)
        {
          refuse (&read_error, SK_ERROR_TAR_TOO_LARGE,
                  _ ("the package is larger than the policy allows"));
          break;
        }
      if (copier != NULL)
        sk_block_worker_push (copier, buf, (gsize)n);
      sk_verifier_update (v, buf, (gsize)n);
      if (!sk_progress_add (progress, (guint64)n, &read_error))
        break;
    }
  if (copier != NULL && !sk_block_worker_finish (copier, read_error == NULL ? &read_error : NULL))
    g_prefix_error (&read_error, _ ("making a private copy of the package: "));
  /* Taken before the signature's trailer is hashed. */
  if (out_sha256 != NULL && read_error == NULL)
    *out_sha256 = sk_verifier_dup_sha256 (v);
  /* Sealed: from here on not even this process can change the copy. */
  if (copy >= 0 && read_error == NULL &&
      fcntl (copy, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
    sk_error_set_from_errno (&read_error, errno, _ ("sealing the private copy of the package"));
  if (!pass_close (&pass, &read_error) || read_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&read_error));
      if (copy >= 0)
        close (copy);
      return NULL;
    }

  g_autoptr (GError) local_error = NULL;
  g_autoptr (SkSignature) signature = sk_verifier_finish (v, signers, &local_error);
  if (signature == NULL && g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED))
    {
      g_clear_error (&local_error);
      if (copy >= 0 && lseek (copy, 0, SEEK_SET) == 0)
        signature =
            sk_keyring_verify_detached_fd (keyring, sig, copy, signers, cancellable, &local_error);
      else if (copy < 0 && src != NULL && pass_open (src, &pass, cancellable, &local_error))
        {
          signature = sk_keyring_verify_detached_fd (keyring, sig, pass.fd, signers, cancellable,
                                                     &local_error);
          if (!pass_close (&pass, &local_error))
            g_clear_pointer (&signature, sk_signature_free);
        }
      else if (local_error == NULL)
        sk_error_set_from_errno (&local_error, errno, _ ("reading the private copy"));
    }
  if (signature == NULL || (copy >= 0 && lseek (copy, 0, SEEK_SET) != 0))
    {
      if (local_error == NULL)
        sk_error_set_from_errno (&local_error, errno, _ ("reading the private copy"));
      g_propagate_error (error, g_steal_pointer (&local_error));
      if (copy >= 0)
        close (copy);
      return NULL;
    }
  *out_copy = copy;
  if (out_size != NULL)
    *out_size = total;
  return g_steal_pointer (&signature);
}

SkPackageResult *
sk_package_check_source (SkStation *station,
                         SkPolicy *policy,
                         const SkPackageSource *src,
                         const SkCheckOptions *options,
                         GPtrArray **out_reports,
                         SkProgress *progress,
                         GCancellable *cancellable,
                         GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (station), NULL);
  g_return_val_if_fail (SK_IS_POLICY (policy), NULL);
  g_return_val_if_fail (src != NULL && (src->path != NULL || src->staged != NULL ||
                                        (src->store != NULL && src->item_id != NULL)),
                        NULL);
  g_return_val_if_fail (src->path != NULL || src->signature != NULL, NULL);

  SkCheckOptions none = { 0 };
  const SkCheckOptions *opts = options != NULL ? options : &none;
  SkDirection direction = SK_DIRECTION_TO_INTERMEDIATE;
  if (!receiving_direction (station, policy, &direction, error))
    return NULL;

  /* Acceptance 1: the detached signature, over the bytes as they are. */
  g_autoptr (GBytes) sig = source_signature (src, error);
  if (sig == NULL)
    return NULL;
  guint64 size;
  if (!source_size (src, &size, error))
    return NULL;
  if (size > package_cap (policy))
    {
      refuse (error, SK_ERROR_TAR_TOO_LARGE, _ ("the package is larger than the policy allows"));
      return NULL;
    }
  int copy = -1;
  g_autoptr (SkSignature) signature = NULL;
  if (src->verified == NULL)
    {
      /* Within a phase the caller began, the signature is checked
       * silently — but stops as soon as the caller's progress is cancelled. */
      SkProgress *told = opts->progress_continues ? NULL : progress;
      GCancellable *stop = cancellable != NULL || progress == NULL
                               ? cancellable
                               : sk_progress_get_cancellable (progress);
      if (!sk_progress_begin (told, SK_PROGRESS_PHASE_VERIFY, size, error))
        return NULL;
      g_autoptr (SkVerifier) v =
          sk_keyring_verifier_new (sk_station_get_keyring (station), sig, error);
      if (v == NULL)
        return NULL;
      signature = verify_once (station, v, sig, sk_policy_get_signers (policy, direction), src, -1,
                               package_cap (policy), &copy, NULL, NULL, told, stop, error);
      if (signature == NULL)
        return NULL;
    }
  /* Where a test changes the file on the medium: nothing reads it again. */
  sk_fault_point ("check-after-verify");

  g_autoptr (SkPackageResult) result = g_new0 (SkPackageResult, 1);
  result->signer =
      g_strdup (signature != NULL ? signature->primary_fpr : src->verified->primary_fpr);

  Extract x = { .dirfd = -1, .only_file = opts->only_file };
  if (opts->extract)
    {
      x.dirfd = fcntl (opts->extract_dirfd, F_DUPFD_CLOEXEC, 3);
      if (x.dirfd < 0)
        {
          sk_error_set_from_errno (error, errno, _ ("opening the output folder"));
          if (copy >= 0)
            close (copy);
          return NULL;
        }
      x.temps = g_ptr_array_new_with_free_func (g_free);
      x.finals = g_ptr_array_new_with_free_func (g_free);
    }

  /* Acceptance 2–5, with decryption on a second thread streaming into the
   * tar reader. */
  g_autoptr (GError) read_error = NULL;
  Pass pass = { .fd = copy };
  gboolean ok = copy >= 0 || pass_open (src, &pass, cancellable, &read_error);
  g_autoptr (SkChannel) plain = sk_channel_new (BLOCK, 4);
  DecryptJob job = { sk_station_get_keyring (station), pass.fd, plain, cancellable, NULL };
  if (ok)
    {
      GThread *thread = g_thread_new ("sk-decrypt", decrypt, &job);
      g_autoptr (SkTarReader) tar = sk_tar_reader_new_from_source (
          from_channel, plain,
          sk_policy_get_max_files (policy) + 1 + (direction == SK_DIRECTION_TO_STANDARD ? 2 : 0),
          sk_policy_get_max_package_size (policy), &read_error);
      ok = tar != NULL &&
           read_package (station, policy, direction, result->signer, tar, x.dirfd >= 0 ? &x : NULL,
                         opts, result, out_reports, progress, &read_error);
      /* Drain, so that decryption reaches the end of the message and checks
       * its integrity; then stop it if we stopped early. */
      if (ok)
        {
          const guint8 *rest;
          while (sk_channel_read_block (plain, &rest) > 0)
            ;
        }
      sk_channel_close_read (plain);
      g_thread_join (thread);
    }
  if (!pass_close (&pass, &read_error))
    ok = FALSE;
  /* An import's copy is sealed into the store on another core meanwhile
   * (sk_package_copy_in_at): the package is taken in only once that copy
   * is whole and synced. */
  if (ok && src->staged != NULL &&
      (!sk_staged_finish (src->staged, &read_error) ||
       sk_progress_set_error_if_cancelled (progress, cancellable, &read_error)))
    ok = FALSE;
  /* A decryption failure explains a damaged archive better than the
   * archive does; a failure at the very end (integrity) refuses all. */
  gboolean decrypt_failed =
      job.error != NULL && !g_error_matches (job.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  if (decrypt_failed &&
      (ok || read_error == NULL || read_error->domain != SK_ERROR ||
       read_error->code == SK_ERROR_TAR_MALFORMED || read_error->code == SK_ERROR_TAR_ORDER))
    {
      g_clear_error (&read_error);
      read_error = g_steal_pointer (&job.error);
      ok = FALSE;
    }
  g_clear_error (&job.error);
  /* Stopped because it was cancelled: that is what is said, whatever the
   * stop looked like to the archive or the decryption. */
  if (!ok && sk_progress_set_error_if_cancelled (progress, cancellable, NULL))
    {
      g_clear_error (&read_error);
      sk_progress_set_error_if_cancelled (progress, cancellable, &read_error);
    }

  if (ok && x.dirfd >= 0)
    {
      /* All files, or none: renamed into place only now. */
      guint done = 0;
      for (; ok && done < x.temps->len; done++)
        if (renameat2 (x.dirfd, g_ptr_array_index (x.temps, done), x.dirfd,
                       g_ptr_array_index (x.finals, done), RENAME_NOREPLACE) != 0)
          {
            sk_error_set_from_errno (&read_error, errno, _ ("placing a file in the output folder"));
            ok = FALSE;
          }
      if (!ok)
        for (guint i = 0; i + 1 < done; i++)
          unlinkat (x.dirfd, g_ptr_array_index (x.finals, i), 0);
      else
        fsync (x.dirfd);
    }
  if (x.dirfd >= 0)
    {
      if (!ok)
        extract_discard (&x);
      close (x.dirfd);
      g_ptr_array_unref (x.temps);
      g_ptr_array_unref (x.finals);
    }
  if (!ok)
    {
      g_propagate_error (error, g_steal_pointer (&read_error));
      return NULL;
    }
  return g_steal_pointer (&result);
}

SkPackageResult *
sk_package_check (SkStation *station,
                  SkPolicy *policy,
                  const char *path,
                  const char *extract_dir,
                  GPtrArray **out_reports,
                  SkProgress *progress,
                  GCancellable *cancellable,
                  GError **error)
{
  SkPackageSource src = { .path = path };
  SkCheckOptions opts = { .extract = extract_dir != NULL, .extract_dirfd = -1 };
  if (opts.extract)
    {
      opts.extract_dirfd = open (extract_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (opts.extract_dirfd < 0)
        {
          sk_error_set_from_errno (error, errno, _ ("opening the output folder"));
          return NULL;
        }
    }
  SkPackageResult *result = sk_package_check_source (station, policy, &src, &opts, out_reports,
                                                     progress, cancellable, error);
  if (opts.extract)
    close (opts.extract_dirfd);
  return result;
}

/* ---- unpacking --------------------------------------------------------- */

static SkPackageResult *
unpack_own_copy (SkStation *station,
                 SkPolicy *policy,
                 const char *path,
                 const char *out_dir,
                 GPtrArray **out_reports,
                 SkProgress *progress,
                 GCancellable *cancellable,
                 GError **error)
{
  g_autoptr (SkStore) store = sk_station_open_store (station, NULL, NULL, error);
  if (store == NULL)
    return NULL;
  g_autoptr (GBytes) sig = NULL;
  g_autoptr (SkSignature) verified = NULL;
  g_autoptr (SkStaged) staged = sk_package_copy_in (station, store, policy, path, 0, &sig,
                                                    &verified, progress, cancellable, error);
  if (staged == NULL)
    return NULL;
  SkPackageSource src = { .staged = staged, .signature = sig, .verified = verified };
  SkCheckOptions opts = { .extract = TRUE };
  opts.extract_dirfd = open (out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (opts.extract_dirfd < 0)
    {
      sk_error_set_from_errno (error, errno, _ ("opening the output folder"));
      return NULL;
    }
  SkPackageResult *result = sk_package_check_source (station, policy, &src, &opts, out_reports,
                                                     progress, cancellable, error);
  close (opts.extract_dirfd);
  return result;
}

SkPackageResult *
sk_package_unpack (SkStation *station,
                   SkPolicy *policy,
                   const SkActor *actor,
                   const char *path,
                   const char *out_dir,
                   GPtrArray **out_reports,
                   SkProgress *progress,
                   GCancellable *cancellable,
                   GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (station), NULL);
  g_return_val_if_fail (SK_IS_POLICY (policy), NULL);
  g_return_val_if_fail (actor != NULL && path != NULL && out_dir != NULL, NULL);

  g_autoptr (GError) local_error = NULL;
  g_autoptr (SkPackageResult) result = unpack_own_copy (station, policy, path, out_dir, out_reports,
                                                        progress, cancellable, &local_error);

  /* Unpacking writes, so it is journaled, refusals included. */
  g_autoptr (GError) journal_error = NULL;
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, FALSE, &journal_error);
  g_autofree char *details = result != NULL ? sk_manifest_to_compact_json (result->manifest) : NULL;
  SkJournalEntry entry = {
    .event = result != NULL ? "package-unpacked" : "package-refused",
    .outcome =
        result != NULL
            ? "ok"
            : (sk_error_get_exit_class (local_error) == SK_EXIT_REFUSED ? "refused" : "failed"),
    .reason = result != NULL ? NULL : sk_error_get_reason (local_error),
    .uid = actor->uid,
    .login = actor->login,
    .role = actor->role,
    .case_id = result != NULL ? result->manifest->case_id : NULL,
    .package_id = result != NULL ? result->manifest->package_id : NULL,
    .details = details,
  };
  if (journal == NULL || sk_journal_record (journal, &entry, &journal_error) == 0)
    {
      /* Files that were not journaled are not handed out as unpacked. */
      if (result != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&journal_error));
          return NULL;
        }
      g_warning ("journaling a refused unpack: %s", journal_error->message);
    }
  if (result == NULL)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return g_steal_pointer (&result);
}
