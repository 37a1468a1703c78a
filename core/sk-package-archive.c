/* sk-package-archive.c — the archive inside a package: its manifest first,
 * then each member against it (acceptance 2–5), with the journal
 * checkpoint a package for the 標準システム carries */
#define G_LOG_DOMAIN "sekisho-package"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <unistd.h>

#include "sk-archive.h"
#include "sk-block-worker.h"
#include "sk-error.h"
#include "sk-hash.h"
#include "sk-keyring.h"
#include "sk-package-private.h"
#include "sk-policy-private.h"

void
_sk_package_extract_discard (SkExtract *x)
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
      _sk_package_refuse (error, SK_ERROR_MANIFEST_INVALID, _ ("the %s is larger than %llu bytes"),
                          what, (unsigned long long)max);
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
          _sk_package_refuse (error, SK_ERROR_TAR_MALFORMED, _ ("the %s is cut short"), what);
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
    return _sk_package_refuse (error, SK_ERROR_MANIFEST_MISMATCH,
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
    return _sk_package_refuse (error, SK_ERROR_MANIFEST_INVALID, _ ("the journal checkpoint: %s"),
                               parse_error->message);
  if (!g_str_equal (key, signer))
    return _sk_package_refuse (
        error, SK_ERROR_MANIFEST_MISMATCH,
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
gboolean
_sk_package_read_archive (SkStation *station,
                          SkPolicy *policy,
                          SkDirection direction,
                          const char *signer,
                          SkTarReader *tar,
                          SkExtract *x,
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
        _sk_package_refuse (error, SK_ERROR_TAR_MALFORMED, _ ("the archive is empty"));
      return FALSE;
    }
  g_autofree char *first = name_raw;
  if (!g_str_equal (first, MANIFEST_NAME))
    return _sk_package_refuse (error, SK_ERROR_TAR_ORDER, _ ("the archive does not begin with %s"),
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
    return _sk_package_refuse (error, SK_ERROR_MANIFEST_WRONG_STATION,
                               _ ("the package is for %s, not this station"), m->recipient);
  if (!g_str_equal (m->origin, signer))
    return _sk_package_refuse (error, SK_ERROR_MANIFEST_MISMATCH,
                               _ ("the manifest names %s as origin, but %s signed it"), m->origin,
                               signer);
  if (!g_str_equal (m->policy, sk_policy_get_sha256 (policy)))
    return _sk_package_refuse (error, SK_ERROR_MANIFEST_MISMATCH,
                               _ ("the package was made under policy %s; this station has %s"),
                               m->policy, sk_policy_get_sha256 (policy));
  if (m->files->len > sk_policy_get_max_files (policy))
    return _sk_package_refuse (error, SK_ERROR_TAR_TOO_MANY,
                               _ ("the package lists more files than allowed"));
  for (guint i = 0; i < m->files->len; i++)
    {
      const SkManifestFile *f = g_ptr_array_index (m->files, i);
      const SkKind *kind = sk_policy_lookup_kind (policy, f->kind);
      if (kind == NULL || sk_kind_get_direction (kind) != direction ||
          !g_str_equal (sk_kind_get_workflow (kind), m->workflow))
        return _sk_package_refuse (
            error, SK_ERROR_MANIFEST_WRONG_STATION,
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
        return _sk_package_refuse (error, SK_ERROR_PACKAGE_REPLAYED,
                                   _ ("package %s was received before"), m->package_id);
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
            return _sk_package_refuse (error, SK_ERROR_TAR_ORDER,
                                       _ ("the journal checkpoint must follow all files, once"));
          checkpoint = read_member (tar, size, CHECKPOINT_MAX, _ ("journal checkpoint"), error);
          if (checkpoint == NULL)
            return FALSE;
          continue;
        }
      if (direction == SK_DIRECTION_TO_STANDARD && g_str_equal (member, CHECKPOINT_SIG_NAME))
        {
          if (checkpoint == NULL || checkpoint_sig != NULL)
            return _sk_package_refuse (
                error, SK_ERROR_TAR_ORDER,
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
          return _sk_package_refuse (error, SK_ERROR_TAR_PATH,
                                     _ ("archive member %s is not in the manifest"), safe);
        }
      if (checkpoint != NULL)
        return _sk_package_refuse (error, SK_ERROR_TAR_ORDER,
                                   _ ("a file follows the journal checkpoint"));
      const SkManifestFile *f = g_ptr_array_index (m->files, index);
      if (size != f->size)
        return _sk_package_refuse (error, SK_ERROR_MANIFEST_MISMATCH,
                                   _ ("%s has %llu bytes in the archive, %llu in the manifest"),
                                   f->name, (unsigned long long)size, (unsigned long long)f->size);

      g_autoptr (SkValidator) v = sk_validator_new (policy, f->name);
      const SkKind *kind = sk_validator_get_kind (v);
      if (kind == NULL || !g_str_equal (sk_kind_get_id (kind), f->kind))
        return _sk_package_refuse (error, SK_ERROR_MANIFEST_MISMATCH,
                                   _ ("%s is not a %s file by its name"), f->name, f->kind);
      sk_validator_set_expected_size (v, size);
      if (opts->collect_pair_keys)
        sk_validator_collect_pair_keys (v);
      g_autoptr (SkSha256) sum = sk_sha256_new ();
      int out = -1;
      if (sum == NULL)
        return _sk_package_refuse (error, SK_ERROR_IO_ERROR, _ ("SHA-256 is unavailable"));
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
        return _sk_package_refuse (error, SK_ERROR_MANIFEST_MISMATCH,
                                   _ ("%s does not match the size or SHA-256 the manifest gives"),
                                   f->name);
      if (sk_file_report_ok (report) && report->records != (guint64)f->records)
        return _sk_package_refuse (error, SK_ERROR_MANIFEST_MISMATCH,
                                   _ ("%s has another number of records than the manifest gives"),
                                   f->name);
      if (report->case_id == NULL || !g_str_equal (report->case_id, m->case_id))
        if (sk_file_report_ok (report))
          return _sk_package_refuse (error, SK_ERROR_MANIFEST_MISMATCH,
                                     _ ("%s belongs to another case than the package"), f->name);
      found++;
    }
  if (found != m->files->len)
    return _sk_package_refuse (error, SK_ERROR_MANIFEST_MISMATCH,
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
          return _sk_package_refuse (error, f->code, _ ("%s fails validation (%s)"), safe,
                                     sk_error_code_to_reason (f->code));
        }
    }
  result->reports = g_steal_pointer (&reports);
  if (opts->collect_pair_keys)
    result->pair_keys = g_steal_pointer (&keys);
  return TRUE;
}
