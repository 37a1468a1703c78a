/* sk-pipeline.c — cases from import to export */
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
#include "sk-handoff.h"
#include "sk-hash.h"
#include "sk-pipeline-private.h"
#include "sk-policy-private.h"
#include "sk-tee-stream.h"

G_DEFINE_FINAL_TYPE (SkPipeline, sk_pipeline, G_TYPE_OBJECT)

enum
{
  SIGNAL_CASE_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

/* After a step's transaction committed: tell who listens. */
void
_sk_pipeline_case_changed (SkPipeline *self, const char *case_id)
{
  if (case_id != NULL)
    g_signal_emit (self, signals[SIGNAL_CASE_CHANGED], 0, case_id);
}

static void
sk_pipeline_finalize (GObject *object)
{
  SkPipeline *self = SK_PIPELINE (object);

  g_clear_object (&self->store);
  g_clear_object (&self->cases);
  g_clear_object (&self->journal);
  g_clear_object (&self->db);
  g_clear_object (&self->policy);
  g_clear_object (&self->station);
  g_clear_object (&self->handoff);
  g_free (self->handoff_root);

  G_OBJECT_CLASS (sk_pipeline_parent_class)->finalize (object);
}

static void
sk_pipeline_class_init (SkPipelineClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sk_pipeline_finalize;

  /**
   * SkPipeline::case-changed:
   * @case_id: the 処理番号 of the case (untrusted text: escape before showing)
   *
   * A step changed the case, after its transaction committed.  Emitted in
   * the thread that ran the step.
   */
  signals[SIGNAL_CASE_CHANGED] =
      g_signal_new ("case-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
sk_pipeline_init (SkPipeline *self)
{
}

/* ---- journal ----------------------------------------------------------- */

SkJournalEntry
_sk_pipeline_entry_for (const SkActor *actor,
                        const char *event,
                        const char *case_id,
                        const char *details)
{
  SkJournalEntry e = {
    .event = event,
    .outcome = "ok",
    .uid = actor->uid,
    .login = actor->login,
    .role = actor->role,
    .case_id = case_id,
    .details = details,
  };
  return e;
}

/* Journal that ACTOR's EVENT was refused (or failed) with ERROR's reason.
 * Whatever the journal itself says goes to the log: the refusal stands. */
void
_sk_pipeline_journal_refusal (SkPipeline *self,
                              const SkActor *actor,
                              const char *event,
                              const GError *error,
                              const char *case_id,
                              const char *package_id,
                              const char *details)
{
  SkJournalEntry e = _sk_pipeline_entry_for (actor, event, case_id, details);
  e.outcome = sk_error_get_exit_class (error) == SK_EXIT_REFUSED ? "refused" : "failed";
  e.reason = sk_error_get_reason (error);
  e.package_id = package_id;
  g_autoptr (GError) local_error = NULL;
  if (sk_db_in_transaction (self->db))
    sk_journal_rollback (self->journal);
  if (sk_journal_record (self->journal, &e, &local_error) == 0)
    g_warning ("journaling a refusal: %s", local_error->message);
}

/* End a refused or failed step: journal it (rolling back whatever the step
 * began) and hand its error on. */
gboolean
_sk_pipeline_refuse_step (SkPipeline *self,
                          const SkActor *actor,
                          const char *event,
                          GError **local_error,
                          const char *case_id,
                          const char *package_id,
                          const char *details,
                          GError **error)
{
  _sk_pipeline_journal_refusal (self, actor, event, *local_error, case_id, package_id, details);
  g_propagate_error (error, g_steal_pointer (local_error));
  return FALSE;
}

char *
_sk_pipeline_builder_finish (JsonBuilder *b)
{
  json_builder_end_object (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

void
_sk_pipeline_add_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

/* {"NAME": "VALUE"}, VALUE being untrusted text, escaped. */
char *
_sk_pipeline_details_of (const char *name, const char *untrusted)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  g_autofree char *safe = sk_escape_untrusted (untrusted);
  _sk_pipeline_add_string (b, name, safe);
  return _sk_pipeline_builder_finish (b);
}

void
_sk_pipeline_add_int (JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

static void
add_file (JsonBuilder *b,
          const char *name,
          const char *kind,
          guint64 size,
          const char *sha256,
          gint64 records)
{
  json_builder_begin_object (b);
  _sk_pipeline_add_string (b, "name", name);
  _sk_pipeline_add_string (b, "kind", kind);
  _sk_pipeline_add_int (b, "size", (gint64)size);
  _sk_pipeline_add_string (b, "sha256", sha256);
  _sk_pipeline_add_int (b, "records", records);
  json_builder_end_object (b);
}

void
_sk_pipeline_add_case_files (JsonBuilder *b, GPtrArray *files)
{
  json_builder_set_member_name (b, "files");
  json_builder_begin_array (b);
  for (guint i = 0; i < files->len; i++)
    {
      const SkCaseFile *f = g_ptr_array_index (files, i);
      add_file (b, f->name, f->kind, f->size, f->sha256, f->records);
    }
  json_builder_end_array (b);
}

/* ---- reading cases ----------------------------------------------------- */

SkCase *
sk_pipeline_get_case (SkPipeline *self, const char *case_id, GError **error)
{
  g_return_val_if_fail (SK_IS_PIPELINE (self), NULL);
  return sk_cases_get (self->cases, case_id, error);
}

GPtrArray *
sk_pipeline_list_cases (SkPipeline *self, GError **error)
{
  g_return_val_if_fail (SK_IS_PIPELINE (self), NULL);
  return sk_cases_list (self->cases, error);
}

gboolean
_sk_pipeline_require_state (const SkCase *c,
                            const char *const *allowed,
                            const char *step,
                            GError **error)
{
  if (g_strv_contains (allowed, c->state))
    return TRUE;
  g_autofree char *safe = sk_escape_untrusted (c->id);
  g_set_error (error, SK_ERROR, SK_ERROR_CASE_STATE, _ ("case %s is %s; %s is not possible now"),
               safe, g_dpgettext2 (GETTEXT_PACKAGE, "state", c->state), step);
  return FALSE;
}

/* ---- the hand-off folders ---------------------------------------------- */

/* The hand-off root, opened and checked on first use (a station's tmpfs may
 * be mounted after the service starts). */
SkHandoff *
_sk_pipeline_get_handoff (SkPipeline *self, GError **error)
{
  if (self->handoff == NULL)
    self->handoff = sk_handoff_open (self->handoff_root, error);
  return self->handoff;
}

/* Journal that the sweep or recovery removed NAME from a hand-off folder:
 * in the transaction under way, or in one of its own. */
gboolean
_sk_pipeline_journal_removal (SkPipeline *self,
                              SkHandoffFolder which,
                              const char *name,
                              guint64 size,
                              const char *case_id,
                              const char *event,
                              const char *reason,
                              const char *why,
                              GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  g_autofree char *safe = sk_escape_untrusted (name);
  _sk_pipeline_add_string (b, "name", safe);
  _sk_pipeline_add_string (b, "folder", sk_handoff_folder_name (which));
  if (size > 0)
    _sk_pipeline_add_int (b, "size", (gint64)size);
  _sk_pipeline_add_string (b, "method", "unlinked from tmpfs");
  if (why != NULL)
    _sk_pipeline_add_string (b, "why", why);
  g_autofree char *details = _sk_pipeline_builder_finish (b);
  SkActor system = { -1, NULL, "system" };
  SkJournalEntry e = _sk_pipeline_entry_for (&system, event, case_id, details);
  e.reason = reason;
  if (sk_db_in_transaction (self->db))
    return sk_journal_append (self->journal, &e, error) != 0;
  return sk_journal_record (self->journal, &e, error) != 0;
}

/* Remove the plaintext of FILES (SkHandoffRecord*), each through its user's
 * folder; what cannot be removed now is the sweep's, later. */
void
_sk_pipeline_unlink_handoffs (SkPipeline *self, GPtrArray *files)
{
  g_autoptr (GError) error = NULL;
  SkHandoff *handoff = _sk_pipeline_get_handoff (self, &error);
  for (guint i = 0; handoff != NULL && i < files->len; i++)
    {
      SkHandoffRecord *f = g_ptr_array_index (files, i);
      if (!sk_handoff_remove (handoff, SK_HANDOFF_UPLOAD, f->uid, f->name, &error))
        break;
    }
  if (error != NULL)
    g_warning ("removing hand-off plaintext: %s", error->message);
}

static gboolean
remove_unrecorded (
    int dirfd, gint64 uid, const char *name, const struct stat *st, gpointer data, GError **error)
{
  SkPipeline *self = data;
  gboolean recorded;
  if (!sk_cases_handoff_recorded (self->cases, uid, name, &recorded, error))
    return FALSE;
  if (recorded || unlinkat (dirfd, name, 0) != 0)
    return TRUE;
  return _sk_pipeline_journal_removal (self, SK_HANDOFF_UPLOAD, name, (guint64)st->st_size, NULL,
                                       "handoff-recovered", NULL, "nothing refers to it", error);
}

/* Hand-off plaintext nothing refers to (a crash between writing it and
 * recording it, or between deleting its record and the file) is removed.
 * Runs under the store's exclusive lock: no other process is handing off.
 * A hand-off root that cannot be used is left alone. */
static gboolean
recover_handoffs (gpointer data, GError **error)
{
  SkPipeline *self = data;
  g_autoptr (GError) unusable = NULL;
  SkHandoff *handoff = _sk_pipeline_get_handoff (self, &unusable);
  if (handoff == NULL)
    {
      g_debug ("no hand-off recovery: %s", unusable->message);
      return TRUE;
    }
  return sk_handoff_foreach_file (handoff, SK_HANDOFF_UPLOAD, remove_unrecorded, self, error);
}

SkPipeline *
sk_pipeline_new (SkStation *station, SkPolicy *policy, const char *handoff_root, GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (station), NULL);
  g_return_val_if_fail (SK_IS_POLICY (policy), NULL);
  g_return_val_if_fail (handoff_root != NULL, NULL);

  g_autoptr (SkPipeline) self = g_object_new (SK_TYPE_PIPELINE, NULL);
  self->station = g_object_ref (station);
  self->policy = g_object_ref (policy);
  self->handoff_root = g_strdup (handoff_root);
  self->journal = sk_station_open_journal (station, FALSE, error);
  if (self->journal == NULL)
    return NULL;
  self->db = g_object_ref (sk_journal_get_db (self->journal));
  self->cases = sk_cases_new (self->journal, policy);
  self->store = sk_station_open_store (station, recover_handoffs, self, error);
  if (self->store == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

SkPolicy *
sk_pipeline_get_policy (SkPipeline *self)
{
  g_return_val_if_fail (SK_IS_PIPELINE (self), NULL);
  return self->policy;
}

SkStore *
sk_pipeline_get_store (SkPipeline *self)
{
  g_return_val_if_fail (SK_IS_PIPELINE (self), NULL);
  return self->store;
}

/* ---- import ------------------------------------------------------------ */

GPtrArray *
sk_pipeline_find_packages (const char *folder, GError **error)
{
  int dirfd = open (folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    {
      g_autofree char *safe = sk_escape_untrusted (folder);
      g_autofree char *what = g_strdup_printf (_ ("opening %s"), safe);
      sk_error_set_from_errno (error, errno, what);
      return NULL;
    }
  g_autoptr (GPtrArray) names = sk_fs_list (dirfd, error);
  close (dirfd);
  if (names == NULL)
    return NULL;
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      if (g_str_has_suffix (name, ".tar.gpg") && sk_fs_is_bare_name (name))
        g_ptr_array_add (found, g_build_filename (folder, name, NULL));
    }
  return g_steal_pointer (&found);
}

typedef struct
{
  SkPipeline *self;
  const SkActor *actor;
  SkPackageResult *result;
  GBytes *signature;
  gboolean new_case;
} ImportCommit;

static gboolean
import_rows (const SkItem *item, gpointer data, GError **error)
{
  ImportCommit *ic = data;
  return sk_cases_add_request_package (ic->self->cases, ic->result->manifest, item, ic->signature,
                                       ic->new_case, error);
}

static char *
import_details (const char *file, const SkItem *item, const SkPackageResult *result)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  g_autofree char *safe = file != NULL ? sk_escape_untrusted (file) : NULL;
  _sk_pipeline_add_string (b, "package_file", safe);
  if (item != NULL)
    {
      _sk_pipeline_add_string (b, "item", item->id);
      _sk_pipeline_add_int (b, "size", (gint64)item->size);
      _sk_pipeline_add_string (b, "sha256", item->sha256);
    }
  if (result != NULL)
    {
      _sk_pipeline_add_string (b, "signer", result->signer);
      _sk_pipeline_add_string (b, "workflow", result->manifest->workflow);
      json_builder_set_member_name (b, "files");
      json_builder_begin_array (b);
      for (guint i = 0; i < result->manifest->files->len; i++)
        {
          const SkManifestFile *f = g_ptr_array_index (result->manifest->files, i);
          add_file (b, f->name, f->kind, f->size, f->sha256, f->records);
        }
      json_builder_end_array (b);
    }
  return _sk_pipeline_builder_finish (b);
}

static SkCase *
import_one (SkPipeline *self,
            const SkActor *actor,
            int dirfd,
            const char *base,
            char **out_package_id,
            char **out_case_id,
            SkProgress *progress,
            GCancellable *cancellable,
            GError **error)
{
  g_autoptr (GBytes) sig = NULL;
  g_autoptr (SkSignature) verified = NULL;
  g_autoptr (SkStaged) staged =
      sk_package_copy_in_at (self->station, self->store, self->policy, dirfd, base, HELD, &sig,
                             &verified, progress, cancellable, error);
  if (staged == NULL)
    return NULL;
  sk_fault_point ("import-after-copy");

  /* Acceptance 1–5, on the store's copy only (1 as it was copied in). */
  SkPackageSource src = { .staged = staged, .signature = sig, .verified = verified };
  g_autoptr (SkPackageResult) result = sk_package_check_source (
      self->station, self->policy, &src, NULL, NULL, progress, cancellable, error);
  if (result == NULL)
    return NULL;
  const SkManifest *m = result->manifest;
  *out_package_id = g_strdup (m->package_id);
  *out_case_id = g_strdup (m->case_id);

  /* Into a case: a new one, or one that has only been imported so far and
   * takes further request files of its workflow. */
  g_autoptr (GError) lookup_error = NULL;
  g_autoptr (SkCase) existing = sk_pipeline_get_case (self, m->case_id, &lookup_error);
  if (existing == NULL && !g_error_matches (lookup_error, SK_ERROR, SK_ERROR_CASE_UNKNOWN))
    {
      g_propagate_error (error, g_steal_pointer (&lookup_error));
      return NULL;
    }
  if (existing != NULL)
    {
      const char *const open_states[] = { "imported", NULL };
      if (!g_str_equal (existing->workflow, m->workflow))
        {
          g_set_error (error, SK_ERROR, SK_ERROR_MANIFEST_MISMATCH,
                       _ ("case %s is a %s case; the package is %s"), m->case_id,
                       existing->workflow, m->workflow);
          return NULL;
        }
      if (!_sk_pipeline_require_state (existing, open_states, _ ("adding request files"), error))
        return NULL;
      for (guint i = 0; i < m->files->len; i++)
        for (guint j = 0; j < existing->files->len; j++)
          if (g_str_equal (((SkManifestFile *)g_ptr_array_index (m->files, i))->name,
                           ((SkCaseFile *)g_ptr_array_index (existing->files, j))->name))
            {
              g_set_error (error, SK_ERROR, SK_ERROR_FILE_DUPLICATE,
                           _ ("case %s already has a file %s"), m->case_id,
                           ((SkManifestFile *)g_ptr_array_index (m->files, i))->name);
              return NULL;
            }
    }

  g_autofree char *details = import_details (base, sk_staged_get_item (staged), result);
  SkJournalEntry e = _sk_pipeline_entry_for (actor, "package-imported", m->case_id, details);
  e.package_id = m->package_id;
  ImportCommit ic = { self, actor, result, sig, existing == NULL };
  g_autoptr (SkItem) item = sk_store_commit (self->store, staged, &e, import_rows, &ic, error);
  if (item == NULL)
    return NULL;
  return sk_pipeline_get_case (self, m->case_id, error);
}

SkCase *
sk_pipeline_import_at (SkPipeline *self,
                       const SkActor *actor,
                       int dirfd,
                       const char *name,
                       SkProgress *progress,
                       GCancellable *cancellable,
                       GError **error)
{
  g_return_val_if_fail (SK_IS_PIPELINE (self), NULL);
  g_return_val_if_fail (actor != NULL && dirfd >= 0 && name != NULL, NULL);

  g_autofree char *package_id = NULL;
  g_autofree char *case_id = NULL;
  g_autoptr (GError) local_error = NULL;
  SkCase *c = import_one (self, actor, dirfd, name, &package_id, &case_id, progress, cancellable,
                          &local_error);
  if (c == NULL && faccessat (dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) != 0 &&
      sk_error_get_exit_class (local_error) == SK_EXIT_ENVIRONMENT)
    {
      /* Whatever the read ran into, the package is gone: a pulled medium. */
      GError *e = g_steal_pointer (&local_error);
      g_set_error (&local_error, SK_ERROR, SK_ERROR_MEDIA_REMOVED,
                   _ ("the package is gone from the medium — was it removed? Nothing was imported; "
                      "insert it and import again (%s)"),
                   e->message);
      g_error_free (e);
    }
  if (c == NULL)
    {
      g_autofree char *details = import_details (name, NULL, NULL);
      _sk_pipeline_journal_refusal (self, actor, "package-refused", local_error, case_id,
                                    package_id, details);
      g_propagate_error (error, g_steal_pointer (&local_error));
    }
  else
    _sk_pipeline_case_changed (self, c->id);
  return c;
}

SkCase *
sk_pipeline_import (SkPipeline *self,
                    const SkActor *actor,
                    const char *path,
                    SkProgress *progress,
                    GCancellable *cancellable,
                    GError **error)
{
  g_return_val_if_fail (SK_IS_PIPELINE (self), NULL);
  g_return_val_if_fail (actor != NULL && path != NULL, NULL);

  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *name = g_path_get_basename (path);
  int dirfd = open (folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    {
      /* The folder (the medium's mount point) itself is gone. */
      g_autoptr (GError) local_error = NULL;
      g_set_error (&local_error, SK_ERROR, SK_ERROR_MEDIA_REMOVED,
                   _ ("the package's folder is gone — was the medium removed? Nothing was "
                      "imported; insert it and import again (%s)"),
                   g_strerror (errno));
      g_autofree char *details = import_details (name, NULL, NULL);
      _sk_pipeline_journal_refusal (self, actor, "package-refused", local_error, NULL, NULL,
                                    details);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  SkCase *c = sk_pipeline_import_at (self, actor, dirfd, name, progress, cancellable, error);
  close (dirfd);
  return c;
}

/* ---- hand-off ---------------------------------------------------------- */

SkPackageResult *
_sk_pipeline_check_stored (SkPipeline *self,
                           const SkStoredPackage *p,
                           const SkCheckOptions *opts,
                           SkProgress *progress,
                           GCancellable *cancellable,
                           GError **error)
{
  SkPackageSource src = { .store = self->store, .item_id = p->item_id, .signature = p->signature };
  return sk_package_check_source (self->station, self->policy, &src, opts, NULL, progress,
                                  cancellable, error);
}

GPtrArray *
sk_pipeline_hand_off (SkPipeline *self,
                      const SkActor *actor,
                      const char *case_id,
                      SkProgress *progress,
                      GCancellable *cancellable,
                      GError **error)
{
  g_return_val_if_fail (SK_IS_PIPELINE (self), NULL);

  g_autoptr (GError) local_error = NULL;
  g_autoptr (GPtrArray) written = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) earlier = sk_handoff_records_new ();
  g_autoptr (SkCase) c = sk_pipeline_get_case (self, case_id, &local_error);
  const char *const allowed[] = { "imported", "handed-off", NULL };
  int dirfd = -1;
  g_autoptr (GPtrArray) packages = NULL;
  g_autofree char *details = NULL;
  gboolean ok =
      c != NULL && _sk_pipeline_require_state (c, allowed, _ ("handing off"), &local_error);
  SkHandoff *handoff = ok ? _sk_pipeline_get_handoff (self, &local_error) : NULL;
  ok = handoff != NULL;
  /* Everything goes through this descriptor of the user's own folder on
   * the tmpfs: whatever happens to the name meanwhile, the plaintext lands
   * in memory or nowhere. */
  if (ok)
    ok = (dirfd = sk_handoff_open_user (handoff, SK_HANDOFF_UPLOAD, actor->uid, TRUE,
                                        &local_error)) >= 0;
  /* …and where the browser will save the results. */
  if (ok)
    {
      int download =
          sk_handoff_open_user (handoff, SK_HANDOFF_DOWNLOAD, actor->uid, TRUE, &local_error);
      ok = download >= 0;
      if (ok)
        close (download);
    }
  if (ok)
    ok = (packages = sk_cases_request_packages (self->cases, case_id, &local_error)) != NULL;

  /* A second hand-off (the first expired, or the browser lost it) replaces
   * the first. */
  if (ok && sk_journal_begin (self->journal, &local_error))
    {
      ok = sk_cases_take_handoffs (self->cases, case_id, earlier, &local_error) &&
           sk_journal_commit (self->journal, &local_error);
      if (ok)
        _sk_pipeline_unlink_handoffs (self, earlier);
    }
  else
    ok = FALSE;

  /* Each package verified again on the store's copy while its files are
   * written out: all of a package's files, or none. */
  g_autofree char *dir = ok ? sk_handoff_user_path (handoff, SK_HANDOFF_UPLOAD, actor->uid) : NULL;
  if (ok)
    sk_fault_point ("handoff-before-write");
  /* One "validate" phase over the request files of all its packages. */
  guint64 request_bytes = 0;
  for (guint i = 0; ok && i < c->files->len; i++)
    if (g_str_equal (((SkCaseFile *)g_ptr_array_index (c->files, i))->role, "request"))
      request_bytes += ((SkCaseFile *)g_ptr_array_index (c->files, i))->size;
  if (ok)
    ok = sk_progress_begin (progress, SK_PROGRESS_PHASE_VALIDATE, request_bytes, &local_error);
  for (guint i = 0; ok && i < packages->len; i++)
    {
      SkCheckOptions opts = {
        .extract = TRUE, .extract_dirfd = dirfd, .replay_allowed = TRUE, .progress_continues = TRUE
      };
      g_autoptr (SkPackageResult) r = _sk_pipeline_check_stored (
          self, g_ptr_array_index (packages, i), &opts, progress, cancellable, &local_error);
      ok = r != NULL;
      for (guint f = 0; ok && f < r->manifest->files->len; f++)
        {
          const SkManifestFile *mf = g_ptr_array_index (r->manifest->files, f);
          g_ptr_array_add (written, g_strdup (mf->name));
          if (geteuid () == 0 && (gint64)geteuid () != actor->uid &&
              fchownat (dirfd, mf->name, (uid_t)actor->uid, (gid_t)-1, AT_SYMLINK_NOFOLLOW) != 0)
            {
              sk_error_set_from_errno (&local_error, errno,
                                       _ ("giving a handed-off file to its user"));
              ok = FALSE;
            }
        }
    }
  if (ok)
    sk_fault_point ("handoff-before-commit");

  /* Recorded with their deadline, in one transaction with the journal. */
  if (ok)
    {
      gint64 deadline = sk_journal_now (self->journal) +
                        sk_policy_get_retention (self->policy)->upload_minutes * MINUTE_US;
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      _sk_pipeline_add_string (b, "folder", "upload");
      _sk_pipeline_add_int (b, "deadline_us", deadline);
      g_autoptr (GPtrArray) requests = g_ptr_array_new ();
      for (guint i = 0; i < c->files->len; i++)
        if (g_str_equal (((SkCaseFile *)g_ptr_array_index (c->files, i))->role, "request"))
          g_ptr_array_add (requests, g_ptr_array_index (c->files, i));
      _sk_pipeline_add_case_files (b, requests);
      details = _sk_pipeline_builder_finish (b);
      SkJournalEntry e = _sk_pipeline_entry_for (actor, "file-handed-off", case_id, details);
      ok = sk_journal_begin (self->journal, &local_error);
      for (guint i = 0; ok && i < requests->len; i++)
        {
          const SkCaseFile *f = g_ptr_array_index (requests, i);
          g_autofree char *path = g_build_filename (dir, f->name, NULL);
          ok = sk_cases_add_handoff (self->cases, case_id, f->id, actor->uid, path, deadline,
                                     &local_error);
        }
      ok = ok && sk_cases_set_state (self->cases, case_id, "handed-off", &local_error) &&
           sk_journal_append (self->journal, &e, &local_error) != 0 &&
           sk_journal_commit (self->journal, &local_error);
    }
  if (!ok)
    {
      for (guint i = 0; dirfd >= 0 && i < written->len; i++)
        (void)unlinkat (dirfd, g_ptr_array_index (written, i), 0);
      if (dirfd >= 0)
        close (dirfd);
      _sk_pipeline_refuse_step (self, actor, "handoff-refused", &local_error, case_id, NULL, NULL,
                                error);
      return NULL;
    }
  close (dirfd);
  _sk_pipeline_case_changed (self, case_id);
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < written->len; i++)
    g_ptr_array_add (paths, g_build_filename (dir, g_ptr_array_index (written, i), NULL));
  return g_steal_pointer (&paths);
}

gboolean
sk_pipeline_confirm_upload (SkPipeline *self,
                            const SkActor *actor,
                            const char *case_id,
                            GError **error)
{
  g_return_val_if_fail (SK_IS_PIPELINE (self), FALSE);

  g_autoptr (GError) local_error = NULL;
  g_autoptr (SkCase) c = sk_pipeline_get_case (self, case_id, &local_error);
  const char *const allowed[] = { "handed-off", NULL };
  g_autoptr (GPtrArray) removed = sk_handoff_records_new ();
  gboolean ok = c != NULL &&
                _sk_pipeline_require_state (c, allowed, _ ("confirming the upload"), &local_error);
  if (ok)
    {
      gint64 now = sk_journal_now (self->journal);
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      g_autoptr (GPtrArray) requests = g_ptr_array_new ();
      for (guint i = 0; i < c->files->len; i++)
        if (g_str_equal (((SkCaseFile *)g_ptr_array_index (c->files, i))->role, "request"))
          g_ptr_array_add (requests, g_ptr_array_index (c->files, i));
      _sk_pipeline_add_case_files (b, requests);
      _sk_pipeline_add_string (b, "plaintext", "removed from upload");
      g_autofree char *details = _sk_pipeline_builder_finish (b);
      SkJournalEntry e = _sk_pipeline_entry_for (actor, "upload-confirmed", case_id, details);
      ok = sk_journal_begin (self->journal, &local_error) &&
           sk_cases_take_handoffs (self->cases, case_id, removed, &local_error) &&
           sk_cases_mark_uploaded (self->cases, case_id, now, &local_error) &&
           sk_journal_append (self->journal, &e, &local_error) != 0 &&
           sk_journal_commit (self->journal, &local_error);
    }
  if (!ok)
    return _sk_pipeline_refuse_step (self, actor, "upload-refused", &local_error, case_id, NULL,
                                     NULL, error);
  _sk_pipeline_case_changed (self, case_id);
  sk_fault_point ("confirm-before-unlink");
  _sk_pipeline_unlink_handoffs (self, removed);
  return TRUE;
}

/* ---- approval ---------------------------------------------------------- */

static SkCaseFile *
find_result (SkCase *c, const char *name, GError **error)
{
  for (guint i = 0; i < c->files->len; i++)
    {
      SkCaseFile *f = g_ptr_array_index (c->files, i);
      if (g_str_equal (f->role, "result") && g_str_equal (f->name, name))
        return f;
    }
  g_autofree char *safe = sk_escape_untrusted (name);
  g_set_error (error, SK_ERROR, SK_ERROR_ITEM_UNKNOWN, _ ("case %s has no result file %s"), c->id,
               safe);
  return NULL;
}

gboolean
sk_pipeline_approve (
    SkPipeline *self, const SkActor *actor, const char *case_id, const char *name, GError **error)
{
  g_return_val_if_fail (SK_IS_PIPELINE (self), FALSE);

  g_autoptr (GError) local_error = NULL;
  g_autoptr (SkCase) c = sk_pipeline_get_case (self, case_id, &local_error);
  SkCaseFile *f = c != NULL ? find_result (c, name, &local_error) : NULL;
  gboolean ok = f != NULL;
  if (ok && !sk_policy_needs_dual_control (self->policy, f->kind))
    {
      g_set_error (&local_error, SK_ERROR, SK_ERROR_CASE_STATE,
                   _ ("%s files need no second approval under the policy"), f->kind);
      ok = FALSE;
    }
  else if (ok && !g_str_equal (f->state, "taken-in"))
    {
      g_set_error (&local_error, SK_ERROR, SK_ERROR_CASE_STATE,
                   _ ("the file is %s, not awaiting "
                      "approval"),
                   f->state);
      ok = FALSE;
    }
  else if (ok && f->taken_uid == actor->uid)
    {
      g_set_error (&local_error, SK_ERROR, SK_ERROR_DUAL_CONTROL,
                   _ ("you took this file in; a second, different operator must approve it"));
      ok = FALSE;
    }
  if (ok)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      _sk_pipeline_add_string (b, "name", f->name);
      _sk_pipeline_add_string (b, "kind", f->kind);
      _sk_pipeline_add_string (b, "sha256", f->sha256);
      _sk_pipeline_add_string (b, "taken_in_by", f->taken_login);
      g_autofree char *details = _sk_pipeline_builder_finish (b);
      SkJournalEntry e = _sk_pipeline_entry_for (actor, "result-approved", case_id, details);
      ok = sk_journal_begin (self->journal, &local_error) &&
           sk_cases_approve_file (self->cases, f->id, actor->uid, actor->login, &local_error) &&
           sk_journal_append (self->journal, &e, &local_error) != 0 &&
           sk_journal_commit (self->journal, &local_error);
    }
  if (!ok)
    {
      g_autofree char *details = _sk_pipeline_details_of ("name", name);
      return _sk_pipeline_refuse_step (self, actor, "approval-refused", &local_error, case_id, NULL,
                                       details, error);
    }
  _sk_pipeline_case_changed (self, case_id);
  return TRUE;
}

/* ---- closing ----------------------------------------------------------- */

/* Every item of the case now runs to its deadline: the staged period after
 * the case closed, and the fixed period for inquiry results. */
gboolean
_sk_pipeline_start_deadlines (SkPipeline *self,
                              const char *case_id,
                              gint64 closed_us,
                              GError **error)
{
  const SkRetention *r = sk_policy_get_retention (self->policy);
  g_autoptr (GArray) items = sk_cases_items (self->cases, case_id, error);
  if (items == NULL)
    return FALSE;
  for (guint i = 0; i < items->len; i++)
    {
      const SkCaseItem *item = &g_array_index (items, SkCaseItem, i);
      gboolean inquiry_result = g_strcmp0 (item->kind, "SKI03") == 0;
      gint64 d = sk_retention_deadline (
          r, inquiry_result ? SK_RETENTION_INQUIRY_RESULT : SK_RETENTION_STAGED, closed_us);
      if (!sk_store_limit_deadline (self->store, item->item_id, d, error))
        return FALSE;
    }
  return sk_cases_set_closed (self->cases, case_id, closed_us, error);
}
