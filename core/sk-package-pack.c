/* sk-package-pack.c — write packages: pack, the tar, the OpenPGP message, the read-back */
#define G_LOG_DOMAIN "sekisho-package"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk-archive.h"
#include "sk-error.h"
#include "sk-fault.h"
#include "sk-fs.h"
#include "sk-hash.h"
#include "sk-keyring.h"
#include "sk-sink.h"
#include "sk-package-private.h"
#include "sk-policy-private.h"

/* ---- helpers ----------------------------------------------------------- */

/* Hash the file at PATH; STOP (or the operation's cancellation) ends it
 * early. */
static gboolean
hash_file (const char *path,
           char **out_sha,
           guint64 *out_size,
           SkProgress *progress,
           GCancellable *cancellable,
           GCancellable *stop,
           GError **error)
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
  (void)posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  for (;;)
    {
      if (sk_progress_set_error_if_cancelled (progress, cancellable, error) ||
          g_cancellable_set_error_if_cancelled (stop, error))
        {
          close (fd);
          return FALSE;
        }
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
    }
  close (fd);
  *out_sha = g_strdup (sk_sha256_hex (sum));
  *out_size = size;
  return TRUE;
}

/* The manifest's hashes of the files to pack, taken on a thread of their
 * own while the files are validated (validation reads them too, on the
 * other core where there is one).  Nothing is written meanwhile. */
typedef struct
{
  const char *const *paths;
  SkProgress *progress;
  GCancellable *cancellable;
  GCancellable *stop; /* validation refused: hashing ends early */
  char **sha;         /* [i] */
  guint64 *size;      /* [i] */
  GError *error;
} HashJob;

static gpointer
hash_files (gpointer data)
{
  HashJob *job = data;
  for (guint i = 0; job->paths[i] != NULL; i++)
    if (!hash_file (job->paths[i], &job->sha[i], &job->size[i], job->progress, job->cancellable,
                    job->stop, &job->error))
      break;
  return NULL;
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
/* Encrypt PLAIN_FD to RECIPIENT into OUT; *OUT_SUM (the digest of what was
 * written, unfinished, for the signature), *OUT_SHA (of what was written)
 * and *OUT_MISMATCH (what was read back differs) on success.
 * G_IO_ERROR_NOT_SUPPORTED, with nothing read or written, when the
 * recipient's key is GnuPG's to encrypt to.  *OUT_IO_FAILED: the failure
 * is the medium's (writing or reading back), not the plaintext's. */
static gboolean
encrypt_in_process (SkKeyring *keyring,
                    const char *recipient,
                    int plain_fd,
                    int out,
                    SkDigest **out_sum,
                    char **out_sha,
                    gboolean *out_mismatch,
                    gboolean *out_io_failed,
                    GCancellable *cancellable,
                    GError **error)
{
  g_autoptr (SkDigest) sum = sk_digest_new (PACK_SIG_HASH);
  if (sum == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("SHA-256 is unavailable"));
      return FALSE;
    }
  SkSink *sink = sk_sink_start (out, sum, TRUE, _ ("writing the package"), error);
  if (sink == NULL)
    return FALSE;
  gboolean ok =
      sk_keyring_encrypt_to (keyring, recipient, plain_fd, sk_sink_out, sink, cancellable, error);
  ok = sk_sink_finish (sink, ok, out_mismatch, out_io_failed, error);
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
  /* Room for a few of the tar's writes in flight (best effort: the
   * system's cap may be lower): fewer switches between the two threads. */
  int sndbuf = 1024 * 1024;
  (void)setsockopt (sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
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
  gboolean back_mismatch = FALSE, io_failed = FALSE;
  g_autoptr (SkDigest) sum = NULL;
  /* In-process first (issue 15); GnuPG for a recipient key it does not
   * handle, before a byte is read from the tar. */
  gboolean ok = encrypt_in_process (keyring, m->recipient, sv[0], out, &sum, &sha, &back_mismatch,
                                    &io_failed, cancellable, &enc_error);
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
   * encryption stopped first for a cancellation or for the medium: the tar
   * then only saw its reader go. */
  if (job.error != NULL && !g_error_matches (enc_error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
      !back_mismatch && !io_failed)
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
  guint n_files = g_strv_length ((GStrv)files);
  g_autoptr (GCancellable) stop = g_cancellable_new ();
  g_autoptr (GPtrArray) shas = g_ptr_array_new_full (n_files, g_free);
  g_ptr_array_set_size (shas, (gint)n_files);
  g_autofree guint64 *sizes = g_new0 (guint64, n_files);
  HashJob hashing = { .paths = files,
                      .progress = progress,
                      .cancellable = cancellable,
                      .stop = stop,
                      .sha = (char **)shas->pdata,
                      .size = sizes };
  GThread *hasher = g_thread_new ("sk-pack-hash", hash_files, &hashing);
  g_autoptr (GPtrArray) reports = sk_validate_paths (policy, files, cancellable, error);
  if (reports == NULL)
    g_cancellable_cancel (stop);
  else
    {
      total = 0;
      for (guint i = 0; i < reports->len; i++)
        total += ((SkFileReport *)g_ptr_array_index (reports, i))->size;
    }
  gboolean ok = reports != NULL && sk_progress_add (progress, total, error) &&
                sk_progress_begin (progress, SK_PROGRESS_PHASE_HASH, total, error);
  g_thread_join (hasher);
  g_autoptr (GError) hash_error = g_steal_pointer (&hashing.error);
  if (!ok)
    return NULL;
  if (hash_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&hash_error));
      return NULL;
    }
  if (!sk_progress_add (progress, total, error))
    return NULL;

  g_autoptr (SkManifest) m = _sk_manifest_new (workflow, case_id);
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
      f->sha256 = g_steal_pointer (&shas->pdata[i]);
      f->size = sizes[i];
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
  g_autoptr (SkManifest) m = _sk_manifest_new (workflow, case_id);
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
