/* sk-pipeline-sweep.c — deadlines: what is past them is deleted */
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

/* ---- sweeping ---------------------------------------------------------- */

/* The hand-off root for the sweep, or NULL in *OUT_ROOT when there is
 * none at all (no tmpfs mounted: no plaintext either). */
static gboolean
sweep_handoff_root (SkPipeline *self, SkHandoff **out_root, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  *out_root = _sk_pipeline_get_handoff (self, &local_error);
  if (*out_root != NULL)
    return TRUE;
  struct stat st;
  if (lstat (self->handoff_root, &st) != 0 && errno == ENOENT)
    return TRUE;
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

static gint64
sweep_handoffs (SkPipeline *self, gint64 now, GError **error)
{
  g_autoptr (GPtrArray) due = sk_cases_due_handoffs (self->cases, now, error);
  if (due == NULL)
    return -1;
  SkHandoff *handoff = NULL;
  if (due->len > 0 && !sweep_handoff_root (self, &handoff, error))
    return -1;
  for (guint i = 0; i < due->len; i++)
    {
      SkHandoffRecord *r = g_ptr_array_index (due, i);
      /* Removed first: a record outliving its file is harmless, plaintext
       * outliving its record is not (recovery would find it, though).
       * With no hand-off root at all, the plaintext went with its tmpfs. */
      if (handoff != NULL &&
          !sk_handoff_remove (handoff, SK_HANDOFF_UPLOAD, r->uid, r->name, error))
        return -1;
      if (!sk_journal_begin (self->journal, error))
        return -1;
      if (!sk_cases_forget_handoff (self->cases, r->path, error) ||
          !_sk_pipeline_journal_removal (self, SK_HANDOFF_UPLOAD, r->name, 0, r->case_id,
                                         "handoff-deleted", "deadline-passed", NULL, error) ||
          !sk_journal_commit (self->journal, error))
        {
          if (sk_db_in_transaction (self->db))
            sk_journal_rollback (self->journal);
          return -1;
        }
    }
  return due->len;
}

typedef struct
{
  SkPipeline *self;
  gint64 now;
  gint64 removed;
} DownloadSweep;

/* Downloads nobody took in are plaintext too: gone download_minutes after
 * the sweep first saw them, on the journal's clock — never by the file's
 * own times, which whoever wrote it can set. */
static gboolean
sweep_download (
    int dirfd, gint64 uid, const char *name, const struct stat *st, gpointer data, GError **error)
{
  DownloadSweep *ds = data;
  SkPipeline *self = ds->self;
  gint64 first_seen;
  if (!sk_cases_download_seen (self->cases, uid, name, (gint64)st->st_ino, ds->now, &first_seen,
                               error))
    return FALSE;
  gint64 limit = sk_policy_get_retention (self->policy)->download_minutes * MINUTE_US;
  if (first_seen + limit > ds->now || unlinkat (dirfd, name, 0) != 0)
    return TRUE;
  ds->removed++;
  return sk_cases_forget_download (self->cases, uid, name, error) &&
         _sk_pipeline_journal_removal (self, SK_HANDOFF_DOWNLOAD, name, (guint64)st->st_size, NULL,
                                       "download-expired", "deadline-passed",
                                       "not taken in in time", error);
}

static gint64
sweep_downloads (SkPipeline *self, gint64 now, GError **error)
{
  SkHandoff *handoff;
  if (!sweep_handoff_root (self, &handoff, error))
    return -1;
  if (handoff == NULL)
    return 0;
  DownloadSweep ds = { self, now, 0 };
  if (!sk_handoff_foreach_file (handoff, SK_HANDOFF_DOWNLOAD, sweep_download, &ds, error))
    return -1;
  /* Files that are gone (taken in, or removed by their user) are
   * forgotten. */
  if (!sk_cases_forget_downloads_unseen (self->cases, now, error))
    return -1;
  return ds.removed;
}

static gboolean
flag_overdue (SkPipeline *self, gint64 now, GError **error)
{
  g_autoptr (GPtrArray) cases = sk_cases_list (self->cases, error);
  if (cases == NULL)
    return FALSE;
  SkActor system = { -1, NULL, "system" };
  for (guint i = 0; i < cases->len; i++)
    {
      SkCase *c = g_ptr_array_index (cases, i);
      gboolean flagged = FALSE;
      if (!c->overdue)
        continue;
      if (!sk_cases_is_flagged (self->cases, c->id, &flagged, error))
        return FALSE;
      if (flagged)
        continue;
      g_autofree char *details =
          g_strdup_printf ("{\"no_result_days\":%" G_GINT64_FORMAT "}",
                           sk_policy_get_retention (self->policy)->no_result_days);
      SkJournalEntry e = _sk_pipeline_entry_for (&system, "case-overdue", c->id, details);
      e.reason = "deadline-passed";
      gboolean ok = sk_journal_begin (self->journal, error) &&
                    sk_cases_flag (self->cases, c->id, now, error) &&
                    sk_journal_append (self->journal, &e, error) != 0 &&
                    sk_journal_commit (self->journal, error);
      if (!ok)
        {
          if (sk_db_in_transaction (self->db))
            sk_journal_rollback (self->journal);
          return FALSE;
        }
      _sk_pipeline_case_changed (self, c->id);
    }
  return TRUE;
}

gint64
sk_pipeline_sweep (SkPipeline *self, GError **error)
{
  g_return_val_if_fail (SK_IS_PIPELINE (self), -1);

  gint64 now = sk_journal_now (self->journal);
  gint64 items = sk_store_sweep (self->store, error);
  if (items < 0)
    return -1;
  gint64 handoffs = sweep_handoffs (self, now, error);
  if (handoffs < 0)
    return -1;
  gint64 downloads = sweep_downloads (self, now, error);
  if (downloads < 0 || !flag_overdue (self, now, error))
    return -1;
  return items + handoffs + downloads;
}
