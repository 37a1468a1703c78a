/* sk-media-transfer.c — packages on and off a medium: import read-only,
 * export proven by a read-back before it is recorded */
#define G_LOG_DOMAIN "sekisho-media"

#include "config.h"

#include <glib/gi18n-lib.h>

#include <unistd.h>

#include "sk-error.h"
#include "sk-fault.h"
#include "sk-media-private.h"
#include "sk-media.h"
#include "sk-mount.h"

/* Room for the package's tar and OpenPGP framing beyond the files' bytes. */
#define EXPORT_OVERHEAD (1024 * 1024)

static gboolean
is_package_name (const char *name)
{
  return name[0] != '.' && g_str_has_suffix (name, ".tar.gpg");
}

GPtrArray *
sk_media_import (SkMedia *self,
                 SkPipeline *pipeline,
                 const SkActor *actor,
                 const char *id,
                 SkProgress *progress,
                 GCancellable *cancellable,
                 GError **error)
{
  g_return_val_if_fail (SK_IS_MEDIA (self) && SK_IS_PIPELINE (pipeline) && actor != NULL, NULL);

  g_autoptr (GError) local_error = NULL;
  g_autoptr (SkMedium) m = sk_media_pick (self, id, &local_error);
  if (m == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  gulong handler = 0;
  g_autoptr (GCancellable) op = _sk_media_begin_operation (self, m, cancellable, &handler, error);
  if (op == NULL)
    return NULL;

  g_autoptr (SkBlockDevice) fs = sk_media_filesystem (self, m, &local_error);
  g_autoptr (SkMount) mount = fs == NULL ? NULL
                                         : sk_mount_new (fs->devnode, fs->devnum, fs->fs_type,
                                                         SK_MOUNT_READ_ONLY, &local_error);
  g_autoptr (SkMediumRecord) rec = NULL;
  if (mount != NULL)
    {
      g_autoptr (GError) reg_error = NULL;
      rec = _sk_media_check_registered (self, m, &mount, &reg_error);
      if (rec != NULL)
        {
          g_free (m->number);
          m->number = g_strdup (rec->number);
        }
      else if (sk_policy_media_import_needs_registered (sk_pipeline_get_policy (pipeline)) ||
               !g_error_matches (reg_error, SK_ERROR, SK_ERROR_MEDIA_UNREGISTERED))
        {
          local_error = g_steal_pointer (&reg_error);
          g_clear_object (&mount);
        }
    }
  g_autoptr (GPtrArray) names = mount != NULL ? sk_mount_list (mount, &local_error) : NULL;
  g_autoptr (GPtrArray) results =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sk_medium_import_free);
  for (guint i = 0; names != NULL && i < names->len && local_error == NULL; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      if (!is_package_name (name))
        continue;
      SkMediumImport *r = g_new0 (SkMediumImport, 1);
      r->name = g_strdup (name);
      g_ptr_array_add (results, r);

      /* Both files must be plain regular files before anything reads them;
       * a FIFO opens without waiting and is refused, a link is not followed. */
      g_autoptr (GError) file_error = NULL;
      g_autofree char *sig_name = g_strconcat (name, ".sig", NULL);
      const char *both[] = { name, sig_name };
      for (guint k = 0; k < 2 && file_error == NULL; k++)
        {
          int fd = sk_mount_open_file (mount, both[k], NULL, &file_error);
          if (fd >= 0)
            close (fd);
        }
      if (file_error == NULL)
        {
          sk_fault_point ("media-import-before-read");
          g_autoptr (SkCase) c = sk_pipeline_import_at (pipeline, actor, sk_mount_get_dirfd (mount),
                                                        name, progress, op, &file_error);
          if (c != NULL)
            r->case_id = g_strdup (c->id);
        }
      else
        {
          g_autofree char *details = _sk_media_details (m, "file", name, NULL);
          _sk_media_journal (self, actor, "package-refused", m, file_error, NULL, details);
        }
      if (file_error != NULL)
        {
          if (g_cancellable_is_cancelled (op) || _sk_media_gone (self, m))
            {
              local_error = g_steal_pointer (&file_error);
              break;
            }
          r->reason = g_strdup (sk_error_get_reason (file_error));
          r->message = g_strdup (file_error->message);
        }
    }

  /* Off the medium before any result is told. */
  if (mount != NULL && !sk_mount_unmount (mount, local_error == NULL ? &local_error : NULL))
    g_clear_pointer (&results, g_ptr_array_unref);
  _sk_media_end_operation (self, m, cancellable, handler);

  if (local_error != NULL)
    {
      GString *again = g_string_new (_ ("nothing was imported from "));
      for (guint i = 0; results != NULL && i < results->len; i++)
        {
          SkMediumImport *r = g_ptr_array_index (results, i);
          if (r->case_id == NULL && r->reason == NULL)
            {
              g_autofree char *shown = sk_escape_untrusted (r->name);
              g_string_append_printf (again, "%s ", shown);
            }
        }
      g_string_append (again, _ ("on it: insert it and import again"));
      _sk_media_explain_removal (self, m, again->str, &local_error);
      g_string_free (again, TRUE);
      g_autofree char *details = _sk_media_details (m, NULL, NULL);
      _sk_media_journal (self, actor, "media-import", m, local_error, NULL, details);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  guint ok = 0;
  for (guint i = 0; i < results->len; i++)
    ok += ((SkMediumImport *)g_ptr_array_index (results, i))->case_id != NULL;
  g_autofree char *found = g_strdup_printf ("%u", results->len);
  g_autofree char *imported = g_strdup_printf ("%u", ok);
  g_autofree char *details = _sk_media_details (m, "packages", found, "imported", imported, NULL);
  _sk_media_journal (self, actor, "media-import", m, NULL, NULL, details);
  return g_steal_pointer (&results);
}

/* Bytes the case's waiting results need on a medium. */
static gboolean
export_size (SkPipeline *pipeline, const char *case_id, guint64 *out_bytes, GError **error)
{
  g_autoptr (SkCase) c = sk_pipeline_get_case (pipeline, case_id, error);
  if (c == NULL)
    return FALSE;
  guint64 total = EXPORT_OVERHEAD;
  for (guint i = 0; i < c->files->len; i++)
    {
      SkCaseFile *f = g_ptr_array_index (c->files, i);
      if (g_str_equal (f->role, "result") && !g_str_equal (f->state, "exported"))
        total += f->size + f->size / 64 + 4096;
    }
  *out_bytes = total;
  return TRUE;
}

/* Hash NAMES on MOUNT into a NULL-terminated array. */
static GStrv
hash_all (SkMount *mount, const char *const *names, GCancellable *cancellable, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; names[i] != NULL; i++)
    {
      char *h = sk_mount_hash_file (mount, names[i], NULL, cancellable, error);
      if (h == NULL)
        return NULL;
      g_ptr_array_add (out, h);
    }
  g_ptr_array_add (out, NULL);
  return (GStrv)g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

typedef struct
{
  SkMedia *self;
  const SkBlockDevice *fs;
  SkMount *rw;
  GCancellable *op;
  char *sha256; /* of the .tar.gpg, once proven */
} Proof;

static gboolean
readback_failed (GError **error, GError *cause)
{
  g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_READBACK_MISMATCH,
               _ ("the package was written to the medium but reading it back failed: %s"),
               cause->message);
  g_error_free (cause);
  return FALSE;
}

/* The pipeline wrote the package: hash both files as written, unmount,
 * mount read-only, read every byte back and compare.  umount returning 0
 * proves nothing; only what a fresh mount reads does. */
static gboolean
prove_on_medium (const char *path, const char *sha256, gpointer data, GError **error)
{
  Proof *p = data;
  GError *e = NULL;
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *sig = g_strconcat (base, ".sig", NULL);
  const char *names[] = { base, sig, NULL };

  g_auto (GStrv) written = hash_all (p->rw, names, p->op, &e);
  if (written == NULL)
    return readback_failed (error, e);
  if (!g_str_equal (written[0], sha256))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_READBACK_MISMATCH,
                   _ ("%s on the medium is not the package that was packed"), base);
      return FALSE;
    }
  sk_fault_point ("media-written");
  if (!sk_mount_unmount (p->rw, &e))
    return readback_failed (error, e);
  sk_fault_point ("media-before-readback");

  g_autoptr (SkMount) ro =
      sk_mount_new (p->fs->devnode, p->fs->devnum, p->fs->fs_type, SK_MOUNT_READ_ONLY, &e);
  if (ro == NULL)
    return readback_failed (error, e);
  g_auto (GStrv) back = hash_all (ro, names, p->op, &e);
  if (!sk_mount_unmount (ro, back != NULL ? &e : NULL) || back == NULL)
    return readback_failed (error, e);
  for (guint i = 0; names[i] != NULL; i++)
    if (!g_str_equal (written[i], back[i]))
      {
        g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_READBACK_MISMATCH,
                     _ ("%s read back from the medium differs from what was written"), names[i]);
        return FALSE;
      }
  p->sha256 = g_strdup (written[0]);
  return TRUE;
}

/* The names on FS's file system now, through a read-only mount of its own. */
static GPtrArray *
list_now (SkMedia *self, const SkBlockDevice *fs, GError **error)
{
  g_autoptr (SkMount) ro =
      sk_mount_new (fs->devnode, fs->devnum, fs->fs_type, SK_MOUNT_READ_ONLY, error);
  if (ro == NULL)
    return NULL;
  g_autoptr (GPtrArray) names = sk_mount_list (ro, error);
  if (!sk_mount_unmount (ro, names != NULL ? error : NULL) || names == NULL)
    return NULL;
  return g_steal_pointer (&names);
}

static GPtrArray *
new_names (GPtrArray *now, GPtrArray *before)
{
  GPtrArray *added = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < now->len; i++)
    {
      const char *name = g_ptr_array_index (now, i);
      if (!g_ptr_array_find_with_equal_func (before, name, g_str_equal, NULL))
        g_ptr_array_add (added, g_strdup (name));
    }
  return added;
}

/* After a failed write: whatever is on the medium now that was not there
 * BEFORE (the package, its signature, a temporary) is removed, and a
 * fresh read-only mount must show none of it.  FALSE (ERROR says why)
 * when that cannot be shown. */
static gboolean
remove_leftovers (
    SkMedia *self, const SkBlockDevice *fs, GPtrArray *before, GCancellable *op, GError **error)
{
  if (g_cancellable_set_error_if_cancelled (op, error))
    return FALSE;
  g_autoptr (GPtrArray) now = list_now (self, fs, error);
  if (now == NULL)
    return FALSE;
  g_autoptr (GPtrArray) left = new_names (now, before);
  if (left->len == 0)
    return TRUE;
  g_autoptr (SkMount) rw =
      sk_mount_new (fs->devnode, fs->devnum, fs->fs_type, SK_MOUNT_READ_WRITE, error);
  if (rw == NULL)
    return FALSE;
  for (guint i = 0; i < left->len; i++)
    if (!sk_mount_remove (rw, g_ptr_array_index (left, i), error))
      return FALSE;
  if (!sk_mount_unmount (rw, error))
    return FALSE;
  g_autoptr (GPtrArray) after = list_now (self, fs, error);
  if (after == NULL)
    return FALSE;
  g_autoptr (GPtrArray) still = new_names (after, before);
  if (still->len == 0)
    return TRUE;
  g_autofree char *shown = sk_escape_untrusted (g_ptr_array_index (still, 0));
  g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_READBACK_MISMATCH,
               _ ("%s is still on the medium after it was removed"), shown);
  return FALSE;
}

/* Write through the pipeline on a read-write mount and prove it before the
 * pipeline records the export: a package not proven stays exportable. */
static char *
export_and_prove (SkMedia *self,
                  SkPipeline *pipeline,
                  const SkActor *actor,
                  const SkBlockDevice *fs,
                  const char *case_id,
                  GPtrArray *before,
                  GCancellable *op,
                  char **out_sha256,
                  GError **error)
{
  g_autoptr (SkMount) rw =
      sk_mount_new (fs->devnode, fs->devnum, fs->fs_type, SK_MOUNT_READ_WRITE, error);
  if (rw == NULL)
    return NULL;
  Proof proof = { self, fs, rw, op, NULL };
  g_autoptr (GError) local_error = NULL;
  /* The pipeline writes into the detached mount's root through this
   * process's descriptor of it (/proc/self/fd/N): a name no other process
   * can change.  It opens it before the proof unmounts. */
  g_autofree char *out_dir = g_strdup (sk_mount_get_path (rw));
  g_autofree char *path = sk_pipeline_export_proven (
      pipeline, actor, case_id, out_dir, prove_on_medium, &proof, NULL, op, &local_error);
  sk_mount_unmount (rw, NULL); /* already done when the proof ran */
  if (path == NULL)
    {
      /* Refusals of the case itself (state, dual control) stay as they
       * are.  A write the medium failed is told by what a fresh mount
       * shows: nothing of the package there (media-not-written,
       * media-full), or something that could not be removed or checked
       * (media-readback-mismatch: do not hand that medium over). */
      if (local_error->domain == SK_ERROR &&
          sk_error_get_exit_class (local_error) == SK_EXIT_ENVIRONMENT &&
          local_error->code != SK_ERROR_MEDIA_REMOVED &&
          local_error->code != SK_ERROR_MEDIA_READBACK_MISMATCH)
        {
          GError *e = g_steal_pointer (&local_error);
          g_autoptr (GError) check_error = NULL;
          sk_fault_point ("media-export-failed");
          if (remove_leftovers (self, fs, before, op, &check_error))
            g_set_error (&local_error, SK_ERROR,
                         e->code == SK_ERROR_DISK_FULL || e->code == SK_ERROR_MEDIA_FULL
                             ? SK_ERROR_MEDIA_FULL
                             : SK_ERROR_MEDIA_NOT_WRITTEN,
                         _ ("nothing of the package is on the medium (a fresh mount shows none "
                            "of it): %s"),
                         e->message);
          else
            g_set_error (&local_error, SK_ERROR, SK_ERROR_MEDIA_READBACK_MISMATCH,
                         _ ("writing the package failed (%s), and part of it may be on the "
                            "medium: %s; do not hand this medium over"),
                         e->message, check_error->message);
          g_error_free (e);
        }
      g_free (proof.sha256);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  *out_sha256 = proof.sha256;
  return g_path_get_basename (path);
}

char *
sk_media_export (SkMedia *self,
                 SkPipeline *pipeline,
                 const SkActor *actor,
                 const char *id,
                 const char *case_id,
                 GCancellable *cancellable,
                 GError **error)
{
  g_return_val_if_fail (SK_IS_MEDIA (self) && SK_IS_PIPELINE (pipeline) && actor != NULL, NULL);
  g_return_val_if_fail (case_id != NULL, NULL);

  g_autoptr (GError) local_error = NULL;
  g_autoptr (SkMedium) m = sk_media_pick (self, id, &local_error);
  if (m == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (m->klass == SK_MEDIUM_CLASS_OPTICAL)
    {
      g_set_error_literal (&local_error, SK_ERROR, SK_ERROR_MEDIA_READ_ONLY,
                           _ ("an optical disc is never written: export to a registered USB "
                              "stick; nothing was written"));
      g_autofree char *details = _sk_media_details (m, NULL, NULL);
      _sk_media_journal (self, actor, "media-export", m, local_error, case_id, details);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  gulong handler = 0;
  g_autoptr (GCancellable) op = _sk_media_begin_operation (self, m, cancellable, &handler, error);
  if (op == NULL)
    return NULL;

  /* Registered, and room enough: asked on a read-only mount, before a
   * byte is written. */
  g_autoptr (SkBlockDevice) fs = sk_media_filesystem (self, m, &local_error);
  g_autoptr (SkMount) ro = NULL;
  g_autoptr (SkMediumRecord) rec =
      fs != NULL ? _sk_media_check_registered (self, m, &ro, &local_error) : NULL;
  guint64 need = 0, have = 0;
  if (rec != NULL)
    {
      g_free (m->number);
      m->number = g_strdup (rec->number);
      if (export_size (pipeline, case_id, &need, &local_error) &&
          sk_mount_free_space (ro, &have, &local_error) && have < need)
        {
          g_autofree char *free_bytes = g_strdup_printf ("%" G_GUINT64_FORMAT, have);
          g_autofree char *need_bytes = g_strdup_printf ("%" G_GUINT64_FORMAT, need);
          g_set_error (&local_error, SK_ERROR, SK_ERROR_MEDIA_FULL,
                       _ ("the medium has %s bytes free; the package needs about %s; nothing "
                          "was written"),
                       free_bytes, need_bytes);
        }
    }
  /* What is on it before: after a failed write, anything else is ours. */
  g_autoptr (GPtrArray) before =
      local_error == NULL && ro != NULL ? sk_mount_list (ro, &local_error) : NULL;
  if (ro != NULL && !sk_mount_unmount (ro, local_error == NULL ? &local_error : NULL))
    g_clear_pointer (&rec, sk_medium_record_free);

  g_autofree char *sha = NULL;
  g_autofree char *file =
      local_error == NULL
          ? export_and_prove (self, pipeline, actor, fs, case_id, before, op, &sha, &local_error)
          : NULL;
  _sk_media_end_operation (self, m, cancellable, handler);
  if (file == NULL)
    {
      _sk_media_explain_removal (self, m, _ ("the package must be exported again to a medium"),
                                 &local_error);
      g_autofree char *details = _sk_media_details (m, NULL, NULL);
      _sk_media_journal (self, actor, "media-export", m, local_error, case_id, details);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  g_autofree char *details =
      _sk_media_details (m, "package_file", file, "sha256", sha, "read_back", "identical", NULL);
  _sk_media_journal (self, actor, "media-export", m, NULL, case_id, details);
  return g_steal_pointer (&file);
}
