/* sk-pipeline-export.c — a case's results out to the 標準システム */
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

/* ---- export ------------------------------------------------------------ */

/* The export under way for CASE_ID (an attempt that was never
 * acknowledged), or a new one: its package id, and the files it carries. */
static char *
pending_export (SkPipeline *self, const SkActor *actor, SkCase *c, GPtrArray *files, GError **error)
{
  g_autoptr (GError) lookup_error = NULL;
  g_autofree char *package_id = sk_cases_export_under_way (self->cases, c->id, &lookup_error);
  if (lookup_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&lookup_error));
      return NULL;
    }

  if (package_id != NULL)
    {
      for (guint i = 0; i < c->files->len; i++)
        {
          SkCaseFile *f = g_ptr_array_index (c->files, i);
          if (g_strcmp0 (f->package_id, package_id) == 0 && g_str_equal (f->role, "result"))
            g_ptr_array_add (files, f);
        }
      return g_steal_pointer (&package_id);
    }

  for (guint i = 0; i < c->files->len; i++)
    {
      SkCaseFile *f = g_ptr_array_index (c->files, i);
      if (g_str_equal (f->role, "result") && !g_str_equal (f->state, "exported"))
        g_ptr_array_add (files, f);
    }
  if (files->len == 0)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_CASE_STATE,
                   _ ("case %s has no results waiting to be exported"), c->id);
      return NULL;
    }
  for (guint i = 0; i < files->len; i++)
    {
      SkCaseFile *f = g_ptr_array_index (files, i);
      if (f->needs_approval)
        {
          g_set_error (error, SK_ERROR, SK_ERROR_DUAL_CONTROL,
                       _ ("%s is a %s file and needs a second operator's approval before it "
                          "leaves"),
                       f->name, f->kind);
          return NULL;
        }
      if (f->item_id == NULL)
        {
          g_set_error (error, SK_ERROR, SK_ERROR_ITEM_UNKNOWN,
                       _ ("%s is no longer in the store (its deadline passed)"), f->name);
          return NULL;
        }
    }

  /* Recorded before a byte is written, so that a retry after a crash or a
   * pulled medium writes the same package id: the standard system takes
   * one package per id, never two copies of the same results. */
  package_id = g_uuid_string_random ();
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  _sk_pipeline_add_case_files (b, files);
  g_autofree char *details = _sk_pipeline_builder_finish (b);
  SkJournalEntry e = _sk_pipeline_entry_for (actor, "export-started", c->id, details);
  e.package_id = package_id;
  gboolean ok = sk_journal_begin (self->journal, error) &&
                sk_cases_begin_export (self->cases, c->id, package_id, files, error);
  ok = ok && sk_journal_append (self->journal, &e, error) != 0 &&
       sk_journal_commit (self->journal, error);
  if (!ok)
    {
      if (sk_db_in_transaction (self->db))
        sk_journal_rollback (self->journal);
      return NULL;
    }
  return g_steal_pointer (&package_id);
}

/* What a failed write to OUT_DIR most likely means for the operator. */
static void
explain_media_error (const char *out_dir, GError **error)
{
  if (error == NULL || *error == NULL || (*error)->domain != SK_ERROR)
    return;
  if ((*error)->code == SK_ERROR_IO_ERROR && !g_file_test (out_dir, G_FILE_TEST_IS_DIR))
    {
      GError *e = *error;
      *error = NULL;
      g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_REMOVED,
                   _ ("the output folder is gone — was the medium removed? Nothing was exported; "
                      "insert it and export again (%s)"),
                   e->message);
      g_error_free (e);
    }
}

char *
sk_pipeline_export (SkPipeline *self,
                    const SkActor *actor,
                    const char *case_id,
                    const char *out_dir,
                    SkProgress *progress,
                    GCancellable *cancellable,
                    GError **error)
{
  return sk_pipeline_export_proven (self, actor, case_id, out_dir, NULL, NULL, progress,
                                    cancellable, error);
}

char *
sk_pipeline_export_proven (SkPipeline *self,
                           const SkActor *actor,
                           const char *case_id,
                           const char *out_dir,
                           SkExportProof proof,
                           gpointer proof_data,
                           SkProgress *progress,
                           GCancellable *cancellable,
                           GError **error)
{
  g_return_val_if_fail (SK_IS_PIPELINE (self), NULL);

  g_autoptr (GError) local_error = NULL;
  g_autoptr (SkCase) c = sk_pipeline_get_case (self, case_id, &local_error);
  const char *const allowed[] = { "results-in", "exported", NULL };
  g_autoptr (GPtrArray) files = g_ptr_array_new ();
  g_autofree char *package_id = NULL;
  g_autofree char *path = NULL;
  g_autofree char *sha = NULL;
  gboolean ok = c != NULL && _sk_pipeline_require_state (c, allowed, _ ("exporting"), &local_error);
  if (ok)
    ok = (package_id = pending_export (self, actor, c, files, &local_error)) != NULL;
  if (ok)
    {
      g_autoptr (GPtrArray) mfiles = g_ptr_array_new_with_free_func ((GDestroyNotify)g_free);
      g_autoptr (GPtrArray) ids = g_ptr_array_new ();
      for (guint i = 0; i < files->len; i++)
        {
          SkCaseFile *f = g_ptr_array_index (files, i);
          SkManifestFile *mf = g_new0 (SkManifestFile, 1);
          mf->name = f->name;
          mf->kind = f->kind;
          mf->size = f->size;
          mf->sha256 = f->sha256;
          mf->records = f->records;
          g_ptr_array_add (mfiles, mf);
          g_ptr_array_add (ids, f->item_id);
        }
      g_ptr_array_add (ids, NULL);
      path =
          sk_package_pack_items (self->station, self->policy, self->store, c->workflow, c->id,
                                 actor->login, package_id, mfiles, (const char *const *)ids->pdata,
                                 out_dir, &sha, progress, cancellable, &local_error);
      ok = path != NULL;
      if (!ok)
        explain_media_error (out_dir, &local_error);
    }
  /* A medium proves the package by reading it back through a fresh mount;
   * until it has, nothing is recorded and the package stays pending. */
  if (ok && proof != NULL)
    ok = proof (path, sha, proof_data, &local_error);
  if (ok)
    sk_fault_point ("export-before-commit");

  /* Done: read back and compared; recorded with the case's new state. */
  if (ok)
    {
      gint64 now = sk_journal_now (self->journal);
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      g_autofree char *base = g_path_get_basename (path);
      _sk_pipeline_add_string (b, "package_file", base);
      _sk_pipeline_add_string (b, "sha256", sha);
      _sk_pipeline_add_string (b, "read_back", "identical");
      _sk_pipeline_add_case_files (b, files);
      g_autofree char *details = _sk_pipeline_builder_finish (b);
      SkJournalEntry e = _sk_pipeline_entry_for (actor, "package-exported", case_id, details);
      e.package_id = package_id;
      gboolean all = FALSE;
      ok = sk_journal_begin (self->journal, &local_error) &&
           sk_cases_mark_exported (self->cases, package_id, sha, now, &local_error) &&
           sk_journal_append (self->journal, &e, &local_error) != 0 &&
           sk_cases_all_results_exported (self->cases, case_id, c->workflow, &all, &local_error);
      if (ok && all)
        {
          SkJournalEntry closed = _sk_pipeline_entry_for (actor, "case-closed", case_id, NULL);
          ok = sk_cases_set_state (self->cases, case_id, "closed", &local_error) &&
               _sk_pipeline_start_deadlines (self, case_id, now, &local_error) &&
               sk_journal_append (self->journal, &closed, &local_error) != 0;
        }
      else if (ok)
        ok = sk_cases_set_state (self->cases, case_id, "exported", &local_error);
      ok = ok && sk_journal_commit (self->journal, &local_error);
    }
  if (!ok)
    {
      g_autofree char *details = _sk_pipeline_details_of ("folder", out_dir);
      gboolean refused = sk_error_get_exit_class (local_error) == SK_EXIT_REFUSED;
      _sk_pipeline_refuse_step (self, actor, refused ? "export-refused" : "export-failed",
                                &local_error, case_id, package_id, details, error);
      return NULL;
    }
  _sk_pipeline_case_changed (self, case_id);
  return g_steal_pointer (&path);
}

gboolean
sk_pipeline_interrupt (SkPipeline *self, const SkActor *actor, const char *case_id, GError **error)
{
  g_return_val_if_fail (SK_IS_PIPELINE (self), FALSE);

  g_autoptr (GError) local_error = NULL;
  g_autoptr (SkCase) c = sk_pipeline_get_case (self, case_id, &local_error);
  const char *const allowed[] = { "imported",   "handed-off", "uploaded",
                                  "results-in", "exported",   NULL };
  g_autoptr (GPtrArray) removed = sk_handoff_records_new ();
  gboolean ok =
      c != NULL && _sk_pipeline_require_state (c, allowed, _ ("interrupting"), &local_error);
  if (ok)
    {
      SkJournalEntry e = _sk_pipeline_entry_for (actor, "case-interrupted", case_id, NULL);
      ok = sk_journal_begin (self->journal, &local_error) &&
           sk_cases_take_handoffs (self->cases, case_id, removed, &local_error) &&
           sk_cases_set_state (self->cases, case_id, "interrupted", &local_error) &&
           _sk_pipeline_start_deadlines (self, case_id, sk_journal_now (self->journal),
                                         &local_error) &&
           sk_journal_append (self->journal, &e, &local_error) != 0 &&
           sk_journal_commit (self->journal, &local_error);
    }
  if (!ok)
    return _sk_pipeline_refuse_step (self, actor, "interrupt-refused", &local_error, case_id, NULL,
                                     NULL, error);
  _sk_pipeline_case_changed (self, case_id);
  _sk_pipeline_unlink_handoffs (self, removed);
  return TRUE;
}
