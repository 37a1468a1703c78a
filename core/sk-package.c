/* sk-package.c — read packages: acceptance 1–5, check, copy-in, unpack */
#define G_LOG_DOMAIN "sekisho-package"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>
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
#include "sk-package-private.h"
#include "sk-policy-private.h"
#include "sk-snapshot.h"

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

gboolean
_sk_package_refuse (GError **error, SkErrorCode code, const char *format, ...)
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
  return _sk_package_refuse (error, SK_ERROR_MANIFEST_WRONG_STATION,
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
      _sk_package_refuse (error, SK_ERROR_TAR_TOO_LARGE,
                          _ ("the package is larger than the policy allows"));
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
        _sk_package_refuse (error, SK_ERROR_SIG_MISSING, _ ("the package has no signature file"));
      else if (g_error_matches (local_error, SK_ERROR, SK_ERROR_FILE_TOO_LARGE))
        _sk_package_refuse (error, SK_ERROR_SIG_BAD,
                            _ ("the signature file is not a signature of a package"));
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
             SkSnapshot *snap,
             SkStaged *staged,
             guint64 max_size,
             int *out_copy,
             guint64 *out_size,
             char **out_sha256,
             SkProgress *progress,
             GCancellable *cancellable,
             GError **error);

/* The SHA-256 of the private copy COPY (from its start), for a signature
 * that took another hash. */
static char *
hash_copy (int copy, GError **error)
{
  g_autoptr (SkSha256) sum = sk_sha256_new ();
  g_autofree guint8 *buf = g_malloc (BLOCK);
  if (sum == NULL)
    {
      _sk_package_refuse (error, SK_ERROR_IO_ERROR, _ ("SHA-256 is unavailable"));
      return NULL;
    }
  for (guint64 off = 0;;)
    {
      ssize_t n = pread (copy, buf, BLOCK, (off_t)off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          sk_error_set_from_errno (error, errno, _ ("reading the private copy"));
          return NULL;
        }
      if (n == 0)
        break;
      sk_sha256_update (sum, buf, (gsize)n);
      off += (guint64)n;
    }
  return g_strdup (sk_sha256_hex (sum));
}

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
   * verified there before anything else reads it. */
  g_autoptr (SkSnapshot) snap = sk_snapshot_new (error);
  if (snap == NULL)
    {
      close (fd);
      return NULL;
    }
  /* The store's copy is sealed on the second core as the bytes arrive,
   * from the blocks the signature's hash takes (verify_once), and written
   * on a thread of the store's own, so that the disk starts writing at
   * once.  Sealing is not reading: nothing parses those bytes, and a
   * package refused below leaves nothing in the store (a staged item is
   * discarded when freed).  sk_package_check_source() finishes it, synced,
   * before the package is taken in. */
  SkItemInfo info = { .kind = "package", .name = name, .records = -1, .deadline_us = deadline_us };
  g_autoptr (SkStaged) staged =
      sk_store_stage_pushed (store, sk_snapshot_get_fd (snap), (guint64)st.st_size, &info, error);
  if (staged == NULL)
    {
      close (fd);
      return NULL;
    }
  /* The SHA-256 the signature took is the stored item's too, when the
   * signature's hash is SHA-256; else it is taken from the copy. */
  int copy = -1;
  guint64 size = 0;
  g_autofree char *sha256 = NULL;
  g_autoptr (SkSignature) verified = verify_once (
      station, verifier, sig, sk_policy_get_signers (policy, direction), NULL, fd, snap, staged,
      package_cap (policy), &copy, &size, &sha256, progress, cancellable, error);
  if (verified == NULL)
    return NULL;
  if (size != (guint64)st.st_size)
    {
      close (copy);
      _sk_package_refuse (error, SK_ERROR_MEDIA_REMOVED,
                          _ ("the package changed size while it was read from the medium"));
      return NULL;
    }
  if (sha256 == NULL)
    sha256 = hash_copy (copy, error);
  close (copy);
  if (sha256 == NULL)
    return NULL;
  sk_staged_set_sha256 (staged, sha256);
  *out_signature = g_steal_pointer (&sig);
  *out_verified = g_steal_pointer (&verified);
  return g_steal_pointer (&staged);
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

/* What the second core does with each block read: the signature's hash,
 * and the store's seal when the package is being imported. */
typedef struct
{
  SkVerifier *v;
  SkStaged *staged;
} HashBlock;

static gboolean
signature_hash_block (const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  HashBlock *h = user_data;
  sk_verifier_update (h->v, data, len);
  /* A failed seal is reported when the staged item is finished. */
  if (h->staged != NULL)
    (void)sk_staged_push (h->staged, data, len);
  return TRUE;
}

/* Acceptance 1, reading the package once.  Each byte read is hashed for
 * the signature and, from a file, kept in a private copy: SNAP, an
 * anonymous file in memory (memfd), sealed once written, that no other
 * process can name, so that a medium that answers differently the second
 * time has no second time.  (In memory rather than on disk: writing 500 MB through the
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
             SkSnapshot *snap,
             SkStaged *staged,
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

  /* With a private copy to write, the signature's hash runs on the second
   * core while this one reads and writes the copy: the two halves cost
   * about the same (at 500 MB, 0.25 s of SHA-256 against 0.27 s of
   * copying in and out of the kernel), where hashing beside the read left
   * this core with both. */
  HashBlock h = { v, staged };
  g_autoptr (SkBlockWorker) hasher =
      snap != NULL ? sk_block_worker_new ("sk-sig-hash", signature_hash_block, &h, BLOCK) : NULL;
  g_autofree guint8 *own = hasher == NULL ? g_malloc (BLOCK) : NULL;
  g_autoptr (GError) read_error = NULL;
  guint64 total = 0;
  for (;;)
    {
      guint8 *buf = hasher != NULL ? sk_block_worker_get_buffer (hasher) : own;
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
          _sk_package_refuse (&read_error, SK_ERROR_TAR_TOO_LARGE,
                              _ ("the package is larger than the policy allows"));
          break;
        }
      if (hasher != NULL)
        {
          /* The buffer stays ours to read until the next is asked for. */
          sk_block_worker_push (hasher, buf, (gsize)n);
          if (!sk_snapshot_append (snap, buf, (gsize)n, &read_error))
            {
              g_prefix_error (&read_error, _ ("making a private copy of the package: "));
              break;
            }
        }
      else
        sk_verifier_update (v, buf, (gsize)n);
      if (!sk_progress_add (progress, (guint64)n, &read_error))
        break;
    }
  /* Every block hashed (hashing itself cannot fail) and, for the store,
   * sealed (a failed seal is the staged item's, reported when finished). */
  if (hasher != NULL)
    (void)sk_block_worker_finish (hasher, NULL);
  /* Taken before the signature's trailer is hashed. */
  if (out_sha256 != NULL && read_error == NULL)
    *out_sha256 = sk_verifier_dup_sha256 (v);
  /* Whole, and sealed: from here on not even this process can change the
   * copy. */
  if (snap != NULL && read_error == NULL && sk_snapshot_seal (snap, &read_error))
    {
      copy = fcntl (sk_snapshot_get_fd (snap), F_DUPFD_CLOEXEC, 3);
      if (copy < 0)
        sk_error_set_from_errno (&read_error, errno, _ ("reading the private copy"));
    }
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
      _sk_package_refuse (error, SK_ERROR_TAR_TOO_LARGE,
                          _ ("the package is larger than the policy allows"));
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
      g_autoptr (SkSnapshot) snap = src->path != NULL ? sk_snapshot_new (error) : NULL;
      if (src->path != NULL && snap == NULL)
        return NULL;
      signature =
          verify_once (station, v, sig, sk_policy_get_signers (policy, direction), src, -1, snap,
                       NULL, package_cap (policy), &copy, NULL, NULL, told, stop, error);
      if (signature == NULL)
        return NULL;
    }
  /* Where a test changes the file on the medium: nothing reads it again. */
  sk_fault_point ("check-after-verify");

  g_autoptr (SkPackageResult) result = g_new0 (SkPackageResult, 1);
  result->signer =
      g_strdup (signature != NULL ? signature->primary_fpr : src->verified->primary_fpr);

  SkExtract x = { .dirfd = -1, .only_file = opts->only_file };
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
      ok = tar != NULL && _sk_package_read_archive (station, policy, direction, result->signer, tar,
                                                    x.dirfd >= 0 ? &x : NULL, opts, result,
                                                    out_reports, progress, &read_error);
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
        _sk_package_extract_discard (&x);
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
