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
#include "sk-pipeline.h"
#include "sk-policy-private.h"
#include "sk-tee-stream.h"

#define MINUTE_US (G_GINT64_CONSTANT (60) * G_USEC_PER_SEC)
#define HELD G_MAXINT64 /* an item's deadline while its case is open */
#define BLOCK (256 * 1024)

struct _SkPipeline
{
  GObject parent_instance;

  SkStation *station;
  SkPolicy *policy;
  SkJournal *journal;
  SkStore *store;
  SkDb *db;
  SkCases *cases;
  char *handoff_root;
  SkHandoff *handoff; /* NULL until first used */
};

G_DEFINE_FINAL_TYPE (SkPipeline, sk_pipeline, G_TYPE_OBJECT)

enum
{
  SIGNAL_CASE_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

/* After a step's transaction committed: tell who listens. */
static void
case_changed (SkPipeline *self, const char *case_id)
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

static SkJournalEntry
entry_for (const SkActor *actor, const char *event, const char *case_id, const char *details)
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
static void
journal_refusal (SkPipeline *self,
                 const SkActor *actor,
                 const char *event,
                 const GError *error,
                 const char *case_id,
                 const char *package_id,
                 const char *details)
{
  SkJournalEntry e = entry_for (actor, event, case_id, details);
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
static gboolean
refuse_step (SkPipeline *self,
             const SkActor *actor,
             const char *event,
             GError **local_error,
             const char *case_id,
             const char *package_id,
             const char *details,
             GError **error)
{
  journal_refusal (self, actor, event, *local_error, case_id, package_id, details);
  g_propagate_error (error, g_steal_pointer (local_error));
  return FALSE;
}

static char *
builder_finish (JsonBuilder *b)
{
  json_builder_end_object (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

static void
add_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

/* {"NAME": "VALUE"}, VALUE being untrusted text, escaped. */
static char *
details_of (const char *name, const char *untrusted)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  g_autofree char *safe = sk_escape_untrusted (untrusted);
  add_string (b, name, safe);
  return builder_finish (b);
}

static void
add_int (JsonBuilder *b, const char *name, gint64 value)
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
  add_string (b, "name", name);
  add_string (b, "kind", kind);
  add_int (b, "size", (gint64)size);
  add_string (b, "sha256", sha256);
  add_int (b, "records", records);
  json_builder_end_object (b);
}

static void
add_case_files (JsonBuilder *b, GPtrArray *files)
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

static gboolean
require_state (const SkCase *c, const char *const *allowed, const char *step, GError **error)
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
static SkHandoff *
get_handoff (SkPipeline *self, GError **error)
{
  if (self->handoff == NULL)
    self->handoff = sk_handoff_open (self->handoff_root, error);
  return self->handoff;
}

/* Journal that the sweep or recovery removed NAME from a hand-off folder:
 * in the transaction under way, or in one of its own. */
static gboolean
journal_removal (SkPipeline *self,
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
  add_string (b, "name", safe);
  add_string (b, "folder", sk_handoff_folder_name (which));
  if (size > 0)
    add_int (b, "size", (gint64)size);
  add_string (b, "method", "unlinked from tmpfs");
  if (why != NULL)
    add_string (b, "why", why);
  g_autofree char *details = builder_finish (b);
  SkActor system = { -1, NULL, "system" };
  SkJournalEntry e = entry_for (&system, event, case_id, details);
  e.reason = reason;
  if (sk_db_in_transaction (self->db))
    return sk_journal_append (self->journal, &e, error) != 0;
  return sk_journal_record (self->journal, &e, error) != 0;
}

/* Remove the plaintext of FILES (SkHandoffRecord*), each through its user's
 * folder; what cannot be removed now is the sweep's, later. */
static void
unlink_handoffs (SkPipeline *self, GPtrArray *files)
{
  g_autoptr (GError) error = NULL;
  SkHandoff *handoff = get_handoff (self, &error);
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
  return journal_removal (self, SK_HANDOFF_UPLOAD, name, (guint64)st->st_size, NULL,
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
  SkHandoff *handoff = get_handoff (self, &unusable);
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
  add_string (b, "package_file", safe);
  if (item != NULL)
    {
      add_string (b, "item", item->id);
      add_int (b, "size", (gint64)item->size);
      add_string (b, "sha256", item->sha256);
    }
  if (result != NULL)
    {
      add_string (b, "signer", result->signer);
      add_string (b, "workflow", result->manifest->workflow);
      json_builder_set_member_name (b, "files");
      json_builder_begin_array (b);
      for (guint i = 0; i < result->manifest->files->len; i++)
        {
          const SkManifestFile *f = g_ptr_array_index (result->manifest->files, i);
          add_file (b, f->name, f->kind, f->size, f->sha256, f->records);
        }
      json_builder_end_array (b);
    }
  return builder_finish (b);
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
      if (!require_state (existing, open_states, _ ("adding request files"), error))
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
  SkJournalEntry e = entry_for (actor, "package-imported", m->case_id, details);
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
      journal_refusal (self, actor, "package-refused", local_error, case_id, package_id, details);
      g_propagate_error (error, g_steal_pointer (&local_error));
    }
  else
    case_changed (self, c->id);
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
      journal_refusal (self, actor, "package-refused", local_error, NULL, NULL, details);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  SkCase *c = sk_pipeline_import_at (self, actor, dirfd, name, progress, cancellable, error);
  close (dirfd);
  return c;
}

/* ---- hand-off ---------------------------------------------------------- */

static SkPackageResult *
check_stored (SkPipeline *self,
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
  gboolean ok = c != NULL && require_state (c, allowed, _ ("handing off"), &local_error);
  SkHandoff *handoff = ok ? get_handoff (self, &local_error) : NULL;
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
        unlink_handoffs (self, earlier);
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
      g_autoptr (SkPackageResult) r = check_stored (self, g_ptr_array_index (packages, i), &opts,
                                                    progress, cancellable, &local_error);
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
      add_string (b, "folder", "upload");
      add_int (b, "deadline_us", deadline);
      g_autoptr (GPtrArray) requests = g_ptr_array_new ();
      for (guint i = 0; i < c->files->len; i++)
        if (g_str_equal (((SkCaseFile *)g_ptr_array_index (c->files, i))->role, "request"))
          g_ptr_array_add (requests, g_ptr_array_index (c->files, i));
      add_case_files (b, requests);
      details = builder_finish (b);
      SkJournalEntry e = entry_for (actor, "file-handed-off", case_id, details);
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
      refuse_step (self, actor, "handoff-refused", &local_error, case_id, NULL, NULL, error);
      return NULL;
    }
  close (dirfd);
  case_changed (self, case_id);
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
  gboolean ok = c != NULL && require_state (c, allowed, _ ("confirming the upload"), &local_error);
  if (ok)
    {
      gint64 now = sk_journal_now (self->journal);
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      g_autoptr (GPtrArray) requests = g_ptr_array_new ();
      for (guint i = 0; i < c->files->len; i++)
        if (g_str_equal (((SkCaseFile *)g_ptr_array_index (c->files, i))->role, "request"))
          g_ptr_array_add (requests, g_ptr_array_index (c->files, i));
      add_case_files (b, requests);
      add_string (b, "plaintext", "removed from upload");
      g_autofree char *details = builder_finish (b);
      SkJournalEntry e = entry_for (actor, "upload-confirmed", case_id, details);
      ok = sk_journal_begin (self->journal, &local_error) &&
           sk_cases_take_handoffs (self->cases, case_id, removed, &local_error) &&
           sk_cases_mark_uploaded (self->cases, case_id, now, &local_error) &&
           sk_journal_append (self->journal, &e, &local_error) != 0 &&
           sk_journal_commit (self->journal, &local_error);
    }
  if (!ok)
    return refuse_step (self, actor, "upload-refused", &local_error, case_id, NULL, NULL, error);
  case_changed (self, case_id);
  sk_fault_point ("confirm-before-unlink");
  unlink_handoffs (self, removed);
  return TRUE;
}

/* ---- take-in ----------------------------------------------------------- */

GPtrArray *
sk_pipeline_list_downloads (SkPipeline *self, const SkActor *actor, GError **error)
{
  g_return_val_if_fail (SK_IS_PIPELINE (self), NULL);

  SkHandoff *handoff = get_handoff (self, error);
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
  if (!require_state (c, allowed, _ ("taking in results"), error))
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
      g_autoptr (SkPackageResult) r =
          check_stored (self, g_ptr_array_index (packages, p), &opts, NULL, stop, error);
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
  SkJournalEntry e = entry_for (actor, "download-taken-in", c->id, NULL);
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
  SkHandoff *handoff = get_handoff (self, &local_error);
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
      add_string (b, "name", safe);
      add_string (b, "folder", "download");
      if (out_report != NULL && *out_report != NULL && !sk_file_report_ok (*out_report))
        {
          const SkFinding *first = &g_array_index ((*out_report)->findings, SkFinding, 0);
          add_int (b, "findings", (*out_report)->findings->len);
          add_int (b, "first_record", (gint64)first->record);
          add_int (b, "first_field", first->field);
        }
      g_autofree char *details = builder_finish (b);
      journal_refusal (self, actor, "download-refused", local_error, case_id, NULL, details);
      g_propagate_error (error, g_steal_pointer (&local_error));
    }
  else
    case_changed (self, case_id);
  return f;
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
      add_string (b, "name", f->name);
      add_string (b, "kind", f->kind);
      add_string (b, "sha256", f->sha256);
      add_string (b, "taken_in_by", f->taken_login);
      g_autofree char *details = builder_finish (b);
      SkJournalEntry e = entry_for (actor, "result-approved", case_id, details);
      ok = sk_journal_begin (self->journal, &local_error) &&
           sk_cases_approve_file (self->cases, f->id, actor->uid, actor->login, &local_error) &&
           sk_journal_append (self->journal, &e, &local_error) != 0 &&
           sk_journal_commit (self->journal, &local_error);
    }
  if (!ok)
    {
      g_autofree char *details = details_of ("name", name);
      return refuse_step (self, actor, "approval-refused", &local_error, case_id, NULL, details,
                          error);
    }
  case_changed (self, case_id);
  return TRUE;
}

/* ---- closing ----------------------------------------------------------- */

/* Every item of the case now runs to its deadline: the staged period after
 * the case closed, and the fixed period for inquiry results. */
static gboolean
start_deadlines (SkPipeline *self, const char *case_id, gint64 closed_us, GError **error)
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
  add_case_files (b, files);
  g_autofree char *details = builder_finish (b);
  SkJournalEntry e = entry_for (actor, "export-started", c->id, details);
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
  gboolean ok = c != NULL && require_state (c, allowed, _ ("exporting"), &local_error);
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
      add_string (b, "package_file", base);
      add_string (b, "sha256", sha);
      add_string (b, "read_back", "identical");
      add_case_files (b, files);
      g_autofree char *details = builder_finish (b);
      SkJournalEntry e = entry_for (actor, "package-exported", case_id, details);
      e.package_id = package_id;
      gboolean all = FALSE;
      ok = sk_journal_begin (self->journal, &local_error) &&
           sk_cases_mark_exported (self->cases, package_id, sha, now, &local_error) &&
           sk_journal_append (self->journal, &e, &local_error) != 0 &&
           sk_cases_all_results_exported (self->cases, case_id, c->workflow, &all, &local_error);
      if (ok && all)
        {
          SkJournalEntry closed = entry_for (actor, "case-closed", case_id, NULL);
          ok = sk_cases_set_state (self->cases, case_id, "closed", &local_error) &&
               start_deadlines (self, case_id, now, &local_error) &&
               sk_journal_append (self->journal, &closed, &local_error) != 0;
        }
      else if (ok)
        ok = sk_cases_set_state (self->cases, case_id, "exported", &local_error);
      ok = ok && sk_journal_commit (self->journal, &local_error);
    }
  if (!ok)
    {
      g_autofree char *details = details_of ("folder", out_dir);
      gboolean refused = sk_error_get_exit_class (local_error) == SK_EXIT_REFUSED;
      refuse_step (self, actor, refused ? "export-refused" : "export-failed", &local_error, case_id,
                   package_id, details, error);
      return NULL;
    }
  case_changed (self, case_id);
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
  gboolean ok = c != NULL && require_state (c, allowed, _ ("interrupting"), &local_error);
  if (ok)
    {
      SkJournalEntry e = entry_for (actor, "case-interrupted", case_id, NULL);
      ok = sk_journal_begin (self->journal, &local_error) &&
           sk_cases_take_handoffs (self->cases, case_id, removed, &local_error) &&
           sk_cases_set_state (self->cases, case_id, "interrupted", &local_error) &&
           start_deadlines (self, case_id, sk_journal_now (self->journal), &local_error) &&
           sk_journal_append (self->journal, &e, &local_error) != 0 &&
           sk_journal_commit (self->journal, &local_error);
    }
  if (!ok)
    return refuse_step (self, actor, "interrupt-refused", &local_error, case_id, NULL, NULL, error);
  case_changed (self, case_id);
  unlink_handoffs (self, removed);
  return TRUE;
}

/* ---- sweeping ---------------------------------------------------------- */

/* The hand-off root for the sweep, or NULL in *OUT_ROOT when there is
 * none at all (no tmpfs mounted: no plaintext either). */
static gboolean
sweep_handoff_root (SkPipeline *self, SkHandoff **out_root, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  *out_root = get_handoff (self, &local_error);
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
          !journal_removal (self, SK_HANDOFF_UPLOAD, r->name, 0, r->case_id, "handoff-deleted",
                            "deadline-passed", NULL, error) ||
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
         journal_removal (self, SK_HANDOFF_DOWNLOAD, name, (guint64)st->st_size, NULL,
                          "download-expired", "deadline-passed", "not taken in in time", error);
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
      SkJournalEntry e = entry_for (&system, "case-overdue", c->id, details);
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
      case_changed (self, c->id);
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
