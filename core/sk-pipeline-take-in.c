/* sk-pipeline-take-in.c — taking results in from the browser's downloads */
#define G_LOG_DOMAIN "sekisho-pipeline"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixinputstream.h>
#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-fault.h"
#include "sk-fs.h"
#include "sk-hash.h"
#include "sk-pipeline-private.h"
#include "sk-policy-private.h"
#include "sk-tee-stream.h"

/* ---- take-in ----------------------------------------------------------- */

GPtrArray *
sk_pipeline_list_downloads (SkPipeline *self, const SkActor *actor, GError **error)
{
  g_return_val_if_fail (SK_IS_PIPELINE (self), NULL);

  SkHandoff *handoff = _sk_pipeline_get_handoff (self, error);
  int dirfd = handoff != NULL
                  ? sk_handoff_open_user (handoff, SK_HANDOFF_DOWNLOAD, actor->uid, TRUE, error)
                  : -1;
  if (dirfd < 0)
    return NULL;
  g_autoptr (GPtrArray) all = sk_fs_list (dirfd, error);
  close (dirfd);
  if (all == NULL)
    return NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < all->len; i++)
    if (sk_fs_is_bare_name (g_ptr_array_index (all, i)))
      g_ptr_array_add (names, g_strdup (g_ptr_array_index (all, i)));
  return g_steal_pointer (&names);
}

/* Validate what FD holds as NAME, paired with KEYS (when given), hashing it
 * on the way. */
static SkFileReport *
validate_fd (SkPipeline *self,
             int fd,
             const char *name,
             const SkKeySet *keys,
             guint64 request_records,
             char **out_sha256,
             SkProgress *progress,
             GCancellable *cancellable,
             GError **error)
{
  if (lseek (fd, 0, SEEK_SET) != 0)
    {
      sk_error_set_from_errno (error, errno, _ ("reading the result file"));
      return NULL;
    }
  g_autoptr (SkValidator) v = sk_validator_new (self->policy, name);
  if (keys != NULL)
    sk_validator_set_request (v, keys, request_records);
  g_autoptr (SkSha256) sum = sk_sha256_new ();
  g_autofree guint8 *buf = g_malloc (BLOCK);
  for (;;)
    {
      if (sk_progress_set_error_if_cancelled (progress, cancellable, error))
        return NULL;
      ssize_t n = read (fd, buf, BLOCK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          sk_error_set_from_errno (error, errno, _ ("reading the result file"));
          return NULL;
        }
      if (n == 0)
        break;
      sk_validator_feed (v, buf, (gsize)n);
      if (sum != NULL)
        sk_sha256_update (sum, buf, (gsize)n);
      if (!sk_progress_add (progress, (guint64)n, error))
        return NULL;
    }
  if (out_sha256 != NULL)
    *out_sha256 = g_strdup (sum != NULL ? sk_sha256_hex (sum) : "");
  return sk_validator_finish (v, NULL);
}

static gboolean
report_refusal (const SkFileReport *report, GError **error)
{
  const SkFinding *f = &g_array_index (report->findings, SkFinding, 0);
  g_autofree char *safe = sk_escape_untrusted (report->file);
  if (f->record > 0)
    g_set_error (error, SK_ERROR, f->code, _ ("%s fails validation (%s, record %llu, field %u)"),
                 safe, sk_error_code_to_reason (f->code), (unsigned long long)f->record, f->field);
  else
    g_set_error (error, SK_ERROR, f->code, _ ("%s fails validation (%s)"), safe,
                 sk_error_code_to_reason (f->code));
  return FALSE;
}

typedef struct
{
  SkPipeline *self;
  const SkActor *actor;
  const char *case_id;
  const SkKind *kind;
  const SkFileReport *report;
} TakeInCommit;

static gboolean
take_in_rows (const SkItem *item, gpointer data, GError **error)
{
  TakeInCommit *tc = data;
  return sk_cases_add_result (tc->self->cases, tc->case_id, sk_kind_get_id (tc->kind), item,
                              tc->actor->uid, tc->actor->login, error);
}

static SkCaseFile *
take_in_one (SkPipeline *self,
             const SkActor *actor,
             int dirfd,
             const char *name,
             char **out_case_id,
             SkFileReport **out_report,
             SkProgress *progress,
             GCancellable *cancellable,
             GError **error)
{
  if (!sk_fs_is_bare_name (name))
    {
      g_autofree char *safe = sk_escape_untrusted (name);
      g_set_error (error, SK_ERROR, SK_ERROR_FILE_NAME, _ ("%s is not a file name"), safe);
      return NULL;
    }
  const SkKind *kind = sk_policy_match_file_name (self->policy, name);
  if (kind == NULL || sk_kind_get_direction (kind) != SK_DIRECTION_TO_STANDARD)
    {
      g_autofree char *safe = sk_escape_untrusted (name);
      g_set_error (error, SK_ERROR, kind == NULL ? SK_ERROR_FILE_KIND_UNKNOWN : SK_ERROR_FILE_NAME,
                   _ ("%s is not the name of a result file the policy knows"), safe);
      return NULL;
    }
  /* Only a regular file with one link, no larger than its kind allows, is
   * read at all: another link would keep the plaintext past its deadline. */
  int fd =
      sk_fs_open_untrusted (dirfd, name, _ ("the result file"), kind->max_size, NULL, NULL, error);
  if (fd < 0)
    return NULL;
  g_autoptr (GInputStream) in = g_unix_input_stream_new (fd, TRUE);
  struct stat st;
  if (fstat (fd, &st) != 0)
    {
      sk_error_set_from_errno (error, errno, _ ("reading the result file"));
      return NULL;
    }
  /* "validate": the result read for its case, then validated against its
   * request (the request's own reading is not told; later attempts at
   * another request neither).  Cancelled, every read stops. */
  GCancellable *stop = cancellable != NULL || progress == NULL
                           ? cancellable
                           : sk_progress_get_cancellable (progress);
  if (!sk_progress_begin (progress, SK_PROGRESS_PHASE_VALIDATE, 2 * (guint64)st.st_size, error))
    return NULL;

  /* Its case, from its own header. */
  g_autoptr (SkFileReport) probe =
      validate_fd (self, fd, name, NULL, 0, NULL, progress, cancellable, error);
  if (probe == NULL)
    return NULL;
  if (probe->case_id == NULL)
    {
      /* No readable header: the findings say why. */
      if (sk_file_report_ok (probe))
        g_set_error_literal (error, SK_ERROR, SK_ERROR_PAIRING,
                             _ ("the result names no 処理番号 in its header"));
      else
        report_refusal (probe, error);
      if (out_report != NULL)
        *out_report = g_steal_pointer (&probe);
      return NULL;
    }
  *out_case_id = g_strdup (probe->case_id);
  g_autoptr (GError) lookup_error = NULL;
  g_autoptr (SkCase) c = sk_pipeline_get_case (self, probe->case_id, &lookup_error);
  if (c == NULL)
    {
      g_autofree char *safe = sk_escape_untrusted (probe->case_id);
      if (g_error_matches (lookup_error, SK_ERROR, SK_ERROR_CASE_UNKNOWN))
        g_set_error (error, SK_ERROR, SK_ERROR_PAIRING,
                     _ ("the result's 処理番号 %s names no case on this station"), safe);
      else
        g_propagate_error (error, g_steal_pointer (&lookup_error));
      return NULL;
    }
  const char *const allowed[] = { "uploaded", "results-in", "exported", NULL };
  if (!g_str_equal (c->workflow, sk_kind_get_workflow (kind)))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_PAIRING, _ ("a %s file does not answer a %s case"),
                   sk_kind_get_id (kind), c->workflow);
      return NULL;
    }
  if (!_sk_pipeline_require_state (c, allowed, _ ("taking in results"), error))
    return NULL;
  for (guint i = 0; i < c->files->len; i++)
    {
      const SkCaseFile *f = g_ptr_array_index (c->files, i);
      if (g_str_equal (f->role, "result") && g_str_equal (f->name, name))
        {
          g_autofree char *safe = sk_escape_untrusted (name);
          g_set_error (error, SK_ERROR, SK_ERROR_FILE_DUPLICATE,
                       _ ("%s was already taken in for case %s"), safe, c->id);
          return NULL;
        }
    }

  /* Pairing: the request files of this case that this kind answers, read
   * again from the store's copy of their package. */
  g_autoptr (GPtrArray) packages = sk_cases_request_packages (self->cases, c->id, error);
  if (packages == NULL)
    return NULL;
  g_autoptr (SkFileReport) report = NULL;
  g_autofree char *sha = NULL;
  guint attempts = 0;
  for (guint p = 0; p < packages->len; p++)
    {
      SkCheckOptions opts = { .collect_pair_keys = TRUE, .replay_allowed = TRUE };
      g_autoptr (SkPackageResult) r = _sk_pipeline_check_stored (
          self, g_ptr_array_index (packages, p), &opts, NULL, stop, error);
      if (r == NULL)
        return NULL;
      for (guint i = 0; i < r->manifest->files->len; i++)
        {
          const SkManifestFile *req = g_ptr_array_index (r->manifest->files, i);
          const SkKind *req_kind = sk_policy_lookup_kind (self->policy, req->kind);
          if (req_kind == NULL || req_kind->pairs_with == NULL ||
              !g_strv_contains ((const char *const *)req_kind->pairs_with, sk_kind_get_id (kind)))
            continue;
          g_free (sha);
          sha = NULL;
          g_autoptr (SkFileReport) attempt = validate_fd (
              self, fd, name, g_ptr_array_index (r->pair_keys, i), (guint64)req->records, &sha,
              attempts++ == 0 ? progress : NULL, stop, error);
          if (attempt == NULL)
            return NULL;
          gboolean good = sk_file_report_ok (attempt);
          if (report == NULL || good)
            {
              g_clear_pointer (&report, sk_file_report_free);
              report = g_steal_pointer (&attempt);
            }
          if (good)
            break;
        }
      if (report != NULL && sk_file_report_ok (report))
        break;
    }
  if (report == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_PAIRING,
                   _ ("case %s holds no request that a %s file answers"), c->id,
                   sk_kind_get_id (kind));
      return NULL;
    }
  if (!sk_file_report_ok (report))
    {
      report_refusal (report, error);
      if (out_report != NULL)
        *out_report = g_steal_pointer (&report);
      return NULL;
    }

  /* Sealed into the store; the file must be what was validated. */
  if (lseek (fd, 0, SEEK_SET) != 0)
    {
      sk_error_set_from_errno (error, errno, _ ("reading the result file"));
      return NULL;
    }
  SkItemInfo info = { .kind = sk_kind_get_id (kind),
                      .name = name,
                      .case_id = c->id,
                      .records = (gint64)report->records,
                      .deadline_us = HELD };
  if (!sk_progress_begin (progress, SK_PROGRESS_PHASE_SEAL, (guint64)st.st_size, error))
    return NULL;
  g_autoptr (GInputStream) counted = sk_tee_input_stream_new (in, NULL, NULL, progress);
  g_autoptr (SkStaged) staged = sk_store_stage (self->store, counted, &info, cancellable, error);
  if (staged == NULL)
    return NULL;
  if (!g_str_equal (sk_staged_get_item (staged)->sha256, sha))
    {
      g_autofree char *safe = sk_escape_untrusted (name);
      g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR,
                   _ ("%s changed while it was being taken in; take it in again"), safe);
      return NULL;
    }
  TakeInCommit tc = { self, actor, c->id, kind, report };
  SkJournalEntry e = _sk_pipeline_entry_for (actor, "download-taken-in", c->id, NULL);
  g_autoptr (SkItem) item = sk_store_commit (self->store, staged, &e, take_in_rows, &tc, error);
  if (item == NULL)
    return NULL;
  sk_fault_point ("take-in-before-unlink");

  /* The plaintext leaves memory too. */
  if (unlinkat (dirfd, name, 0) != 0 && errno != ENOENT)
    g_warning ("removing a taken-in download: %s", g_strerror (errno));

  g_autoptr (SkCase) after = sk_pipeline_get_case (self, c->id, error);
  if (after == NULL)
    return NULL;
  for (guint i = 0; i < after->files->len; i++)
    {
      SkCaseFile *f = g_ptr_array_index (after->files, i);
      if (g_strcmp0 (f->item_id, item->id) == 0)
        return g_ptr_array_steal_index (after->files, i);
    }
  g_set_error_literal (error, SK_ERROR, SK_ERROR_ITEM_UNKNOWN,
                       _ ("the result vanished from its case"));
  return NULL;
}

SkCaseFile *
sk_pipeline_take_in (SkPipeline *self,
                     const SkActor *actor,
                     const char *name,
                     SkFileReport **out_report,
                     SkProgress *progress,
                     GCancellable *cancellable,
                     GError **error)
{
  g_return_val_if_fail (SK_IS_PIPELINE (self), NULL);

  g_autofree char *case_id = NULL;
  g_autoptr (GError) local_error = NULL;
  SkHandoff *handoff = _sk_pipeline_get_handoff (self, &local_error);
  int dirfd = handoff != NULL ? sk_handoff_open_user (handoff, SK_HANDOFF_DOWNLOAD, actor->uid,
                                                      FALSE, &local_error)
                              : -1;
  SkCaseFile *f = NULL;
  if (dirfd >= 0)
    {
      f = take_in_one (self, actor, dirfd, name, &case_id, out_report, progress, cancellable,
                       &local_error);
      close (dirfd);
    }
  if (f == NULL)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      g_autofree char *safe = sk_escape_untrusted (name);
      _sk_pipeline_add_string (b, "name", safe);
      _sk_pipeline_add_string (b, "folder", "download");
      if (out_report != NULL && *out_report != NULL && !sk_file_report_ok (*out_report))
        {
          const SkFinding *first = &g_array_index ((*out_report)->findings, SkFinding, 0);
          _sk_pipeline_add_int (b, "findings", (*out_report)->findings->len);
          _sk_pipeline_add_int (b, "first_record", (gint64)first->record);
          _sk_pipeline_add_int (b, "first_field", first->field);
        }
      g_autofree char *details = _sk_pipeline_builder_finish (b);
      _sk_pipeline_journal_refusal (self, actor, "download-refused", local_error, case_id, NULL,
                                    details);
      g_propagate_error (error, g_steal_pointer (&local_error));
    }
  else
    _sk_pipeline_case_changed (self, case_id);
  return f;
}
