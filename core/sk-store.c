/* sk-store.c — sealed items, their keys, their deadlines */
#define G_LOG_DOMAIN "sekisho-store"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

#include "sk-crypto.h"
#include "sk-error.h"
#include "sk-fault.h"
#include "sk-fs.h"
#include "sk-store-private.h"

#define RESERVE_BYTES (64 * 1024)
#define TEMP_PREFIX ".tmp-"
#define ID_HEX 32

G_DEFINE_FINAL_TYPE (SkStore, sk_store, G_TYPE_OBJECT)

void
sk_item_free (SkItem *item)
{
  if (item == NULL)
    return;
  g_free (item->id);
  g_free (item->kind);
  g_free (item->name);
  g_free (item->case_id);
  g_free (item->sha256);
  g_free (item);
}

static void
sk_store_finalize (GObject *object)
{
  SkStore *self = SK_STORE (object);

  if (self->dirfd >= 0)
    close (self->dirfd);
  g_free (self->dir);
  g_clear_object (&self->journal);
  g_clear_object (&self->db);

  G_OBJECT_CLASS (sk_store_parent_class)->finalize (object);
}

static void
sk_store_class_init (SkStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sk_store_finalize;
}

static void
sk_store_init (SkStore *self)
{
  self->dirfd = -1;
}

/* ---- helpers ----------------------------------------------------------- */

static gboolean
is_item_id (const char *s, gsize len)
{
  if (len != ID_HEX)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (s[i]) || g_ascii_isupper (s[i]))
      return FALSE;
  return TRUE;
}

char *
_sk_store_sealed_name (const char *id)
{
  return g_strconcat (id, SEALED_SUFFIX, NULL);
}

static gboolean
sync_dir (SkStore *self, GError **error)
{
  if (fsync (self->dirfd) != 0)
    {
      sk_error_set_from_errno (error, errno, _ ("syncing the store directory"));
      return FALSE;
    }
  return TRUE;
}

/* The journal details of an item: names, sizes, hashes — never content. */
static char *
item_details (const SkItem *item, const char *method)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "item");
  json_builder_add_string_value (b, item->id);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, item->kind);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, item->name);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, (gint64)item->size);
  json_builder_set_member_name (b, "sha256");
  json_builder_add_string_value (b, item->sha256);
  if (item->records >= 0)
    {
      json_builder_set_member_name (b, "records");
      json_builder_add_int_value (b, item->records);
    }
  json_builder_set_member_name (b, "deadline_us");
  json_builder_add_int_value (b, item->deadline_us);
  if (method != NULL)
    {
      json_builder_set_member_name (b, "method");
      json_builder_add_string_value (b, method);
    }
  json_builder_end_object (b);

  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

static gboolean
journal_system (SkStore *self,
                const char *event,
                const char *outcome,
                const char *reason,
                const char *details,
                GError **error)
{
  SkJournalEntry entry = {
    .event = event,
    .outcome = outcome,
    .reason = reason,
    .uid = -1,
    .role = "system",
    .details = details,
  };
  return sk_journal_record (self->journal, &entry, error) != 0;
}

SkItem *
_sk_store_item_from_row (SkDbStmt *stmt)
{
  SkItem *item = g_new0 (SkItem, 1);
  item->id = g_strdup (sk_db_stmt_column_text (stmt, 0));
  item->kind = g_strdup (sk_db_stmt_column_text (stmt, 1));
  item->name = g_strdup (sk_db_stmt_column_text (stmt, 2));
  item->case_id = g_strdup (sk_db_stmt_column_text (stmt, 3));
  item->size = (guint64)sk_db_stmt_column_int64 (stmt, 4);
  item->sha256 = g_strdup (sk_db_stmt_column_text (stmt, 5));
  item->records = sk_db_stmt_column_is_null (stmt, 6) ? -1 : sk_db_stmt_column_int64 (stmt, 6);
  item->created_us = sk_db_stmt_column_int64 (stmt, 7);
  item->deadline_us = sk_db_stmt_column_int64 (stmt, 8);
  return item;
}

/* ---- recovery ---------------------------------------------------------- */

static gboolean
row_exists (SkStore *self, const char *id, GError **error, gboolean *out_exists)
{
  g_autoptr (SkDbStmt) stmt = sk_db_prepare (self->db, "SELECT 1 FROM items WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sk_db_stmt_bind_text (stmt, 1, id);
  SkDbStep step = sk_db_stmt_step (stmt, error);
  if (step == SK_DB_STEP_ERROR)
    return FALSE;
  *out_exists = step == SK_DB_STEP_ROW;
  return TRUE;
}

/* What a crash can leave, and what it means:
 *   .tmp-ID          sealing was under way: never acknowledged, removed;
 *   ID.sealed, no row  stored but not committed, or deleted but not yet
 *                    unlinked: either way nothing refers to it, removed;
 *   a row, no file   the file was removed behind the store's back: the item
 *                    is lost; the row (and its key) goes, and that is
 *                    journaled as a failure. */
static gboolean
recover (SkStore *self, GError **error)
{
  g_autoptr (GPtrArray) names = sk_fs_list (self->dirfd, error);
  if (names == NULL)
    return FALSE;

  for (guint i = 0; i < names->len; i++)
    {
      const char *n = g_ptr_array_index (names, i);
      gsize len = strlen (n);
      gboolean temp = g_str_has_prefix (n, TEMP_PREFIX);
      gboolean sealed =
          g_str_has_suffix (n, SEALED_SUFFIX) && is_item_id (n, len - strlen (SEALED_SUFFIX));
      if (!temp && !sealed)
        continue; /* not ours: left alone */
      if (sealed)
        {
          g_autofree char *id = g_strndup (n, len - strlen (SEALED_SUFFIX));
          gboolean exists;
          if (!row_exists (self, id, error, &exists))
            return FALSE;
          if (exists)
            continue;
        }
      if (unlinkat (self->dirfd, n, 0) != 0 && errno != ENOENT)
        {
          sk_error_set_from_errno (error, errno, _ ("removing what a crash left in the store"));
          return FALSE;
        }
      g_autofree char *safe = sk_escape_untrusted (n);
      g_autofree char *details =
          g_strdup_printf ("{\"removed\":\"%s\",\"why\":\"%s\"}", safe,
                           temp ? "sealing was interrupted" : "no committed item refers to it");
      if (!sync_dir (self, error) ||
          !journal_system (self, "store-recovered", "ok", NULL, details, error))
        return FALSE;
      sk_fault_point ("store-recover-removed");
    }

  g_autoptr (GPtrArray) items = sk_store_list (self, error);
  if (items == NULL)
    return FALSE;
  for (guint i = 0; i < items->len; i++)
    {
      SkItem *item = g_ptr_array_index (items, i);
      g_autofree char *file = _sk_store_sealed_name (item->id);
      if (faccessat (self->dirfd, file, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        continue;
      if (!sk_journal_begin (self->journal, error))
        return FALSE;
      g_autoptr (SkDbStmt) del = sk_db_prepare (self->db, "DELETE FROM items WHERE id = ?1", error);
      g_autofree char *details = item_details (item, "file missing; key destroyed");
      SkJournalEntry entry = { .event = "item-lost",
                               .outcome = "failed",
                               .reason = "io-error",
                               .uid = -1,
                               .role = "system",
                               .case_id = item->case_id,
                               .details = details };
      if (del == NULL)
        {
          sk_journal_rollback (self->journal);
          return FALSE;
        }
      sk_db_stmt_bind_text (del, 1, item->id);
      if (!sk_db_stmt_run (del, error) || sk_journal_append (self->journal, &entry, error) == 0)
        {
          sk_journal_rollback (self->journal);
          return FALSE;
        }
      if (!sk_journal_commit (self->journal, error))
        return FALSE;
    }
  return sk_db_checkpoint_truncate (self->db, error);
}

/* Take the store's lock: exclusive when it can be had at once (and then
 * *OUT_ALONE), else shared, waiting for a recovery under way to end. */
static gboolean
lock_store (SkStore *self, gboolean *out_alone, GError **error)
{
  int r;
  do
    r = flock (self->dirfd, LOCK_EX | LOCK_NB);
  while (r != 0 && errno == EINTR);
  *out_alone = r == 0;
  if (r != 0 && errno != EWOULDBLOCK)
    {
      sk_error_set_from_errno (error, errno, _ ("locking the store"));
      return FALSE;
    }
  if (*out_alone)
    return TRUE;
  do
    r = flock (self->dirfd, LOCK_SH);
  while (r != 0 && errno == EINTR);
  if (r != 0)
    {
      sk_error_set_from_errno (error, errno, _ ("locking the store"));
      return FALSE;
    }
  return TRUE;
}

/* Room kept for making room.  On a full disk, deleting an item still needs
 * a few pages of write-ahead log for its row and its journal entry; a file
 * of RESERVE_BYTES in the store holds them.  A deletion that meets a full
 * disk gives the reserve up and tries again, and the reserve is made again
 * once the item's own file is gone.  Recovery leaves it alone. */
static void
keep_reserve (SkStore *self)
{
  int fd = openat (self->dirfd, SK_STORE_RESERVE_NAME, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
                   0600);
  if (fd < 0)
    return;
  int r = posix_fallocate (fd, 0, RESERVE_BYTES);
  if (r != 0)
    g_debug ("keeping room in the store: %s", g_strerror (r));
  close (fd);
}

static void
give_up_reserve (SkStore *self)
{
  if (unlinkat (self->dirfd, SK_STORE_RESERVE_NAME, 0) == 0)
    (void)fsync (self->dirfd);
}

SkStore *
sk_store_open (const char *dir,
               SkJournal *journal,
               SkStoreRecoverFunc also_recover,
               gpointer user_data,
               GError **error)
{
  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (SK_IS_JOURNAL (journal), NULL);

  if (!sk_crypto_init (error))
    return NULL;

  g_autoptr (SkStore) self = g_object_new (SK_TYPE_STORE, NULL);
  self->dir = g_strdup (dir);
  self->journal = g_object_ref (journal);
  self->db = g_object_ref (sk_journal_get_db (journal));
  self->dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (self->dirfd < 0)
    {
      g_autofree char *what = g_strdup_printf ("opening the store %s", dir);
      sk_error_set_from_errno (error, errno, what);
      return NULL;
    }
  gboolean alone = FALSE;
  if (!lock_store (self, &alone, error))
    return NULL;
  if (alone)
    {
      if (!recover (self, error) || (also_recover != NULL && !also_recover (user_data, error)))
        return NULL;
      self->recovered = TRUE;
      /* Shared from now on.  The switch is not atomic: another process may
       * take the exclusive lock in between, and finds nothing of ours to
       * recover, since this one has not staged anything yet. */
      if (flock (self->dirfd, LOCK_SH) != 0)
        {
          sk_error_set_from_errno (error, errno, _ ("locking the store"));
          return NULL;
        }
    }
  keep_reserve (self);
  return g_steal_pointer (&self);
}

gboolean
sk_store_get_recovered (SkStore *self)
{
  g_return_val_if_fail (SK_IS_STORE (self), FALSE);
  return self->recovered;
}

/* ---- writing ----------------------------------------------------------- */

static char *
new_item_id (void)
{
  g_autoptr (SkItemKey) random = sk_item_key_new_random ();
  GString *s = g_string_sized_new (ID_HEX);
  for (int i = 0; i < ID_HEX / 2; i++)
    g_string_append_printf (s, "%02x", sk_item_key_get_bytes (random)[i]);
  return g_string_free (s, FALSE);
}

/* Remove NAME if it is there; for the ways out of a failed put. */
static void
discard (SkStore *self, const char *name)
{
  if (unlinkat (self->dirfd, name, 0) == 0)
    (void)fsync (self->dirfd);
}

/* End the seal of a pushed item: with OK, seal the rest and wait until
 * all is written; else abandon it.  FALSE with STAGED->seal_error when it
 * failed (or had failed). */
static gboolean
staged_end_seal (SkStaged *staged, gboolean ok)
{
  if (staged->sink == NULL)
    return staged->seal_error == NULL;
  ok = ok && staged->seal_error == NULL && sk_sealer_finish (staged->sealer, &staged->seal_error);
  g_clear_pointer (&staged->sealer, sk_sealer_free);
  gboolean mismatch = FALSE, io_failed = FALSE;
  ok = sk_sink_finish (g_steal_pointer (&staged->sink), ok, &mismatch, &io_failed,
                       ok ? &staged->seal_error : NULL);
  return ok && staged->seal_error == NULL;
}

void
sk_staged_free (SkStaged *staged)
{
  if (staged == NULL)
    return;
  (void)staged_end_seal (staged, FALSE);
  if (staged->out_fd >= 0)
    close (staged->out_fd);
  if (staged->source_fd >= 0)
    close (staged->source_fd);
  if (!staged->committed)
    discard (staged->store, staged->temp);
  g_object_unref (staged->store);
  g_clear_error (&staged->seal_error);
  sk_item_free (staged->item);
  sk_item_key_free (staged->key);
  g_free (staged->temp);
  g_free (staged);
}

const SkItem *
sk_staged_get_item (SkStaged *staged)
{
  return staged->item;
}

/* A new staged item, its key and its temporary file (in *OUT_FD). */
static SkStaged *
staged_new (SkStore *self, const SkItemInfo *info, int *out_fd, GError **error)
{
  g_autoptr (SkStaged) staged = g_new0 (SkStaged, 1);
  staged->store = g_object_ref (self);
  staged->source_fd = staged->out_fd = -1;
  SkItem *item = staged->item = g_new0 (SkItem, 1);
  item->id = new_item_id ();
  item->kind = g_strdup (info->kind);
  item->name = g_strdup (info->name);
  item->case_id = g_strdup (info->case_id);
  item->records = info->records;
  item->deadline_us = info->deadline_us;
  item->created_us = sk_journal_now (self->journal);
  staged->temp = g_strconcat (TEMP_PREFIX, item->id, NULL);
  staged->key = sk_item_key_new_random ();
  if (staged->key == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("no locked memory for a key"));
      return NULL;
    }
  *out_fd = openat (self->dirfd, staged->temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    0600);
  if (*out_fd < 0)
    {
      sk_error_set_from_errno (error, errno, _ ("creating a file in the store"));
      return NULL;
    }
  return g_steal_pointer (&staged);
}

SkStaged *
sk_store_stage (SkStore *self,
                GInputStream *in,
                const SkItemInfo *info,
                GCancellable *cancellable,
                GError **error)
{
  g_return_val_if_fail (SK_IS_STORE (self), NULL);
  g_return_val_if_fail (info != NULL && info->kind != NULL && info->name != NULL, NULL);

  int fd = -1;
  g_autoptr (SkStaged) staged = staged_new (self, info, &fd, error);
  if (staged == NULL)
    return NULL;
  SkItem *item = staged->item;
  gboolean sealed =
      sk_seal_stream (staged->key, in, fd, &item->size, &item->sha256, cancellable, error);
  if (sealed)
    sk_fault_point ("store-put-before-fsync");
  if (sealed && fsync (fd) != 0)
    {
      sk_error_set_from_errno (error, errno, _ ("syncing a file in the store"));
      sealed = FALSE;
    }
  if (close (fd) != 0 && sealed)
    {
      sk_error_set_from_errno (error, errno, _ ("closing a file in the store"));
      sealed = FALSE;
    }
  return sealed ? g_steal_pointer (&staged) : NULL;
}

SkStaged *
sk_store_stage_pushed (
    SkStore *self, int source_fd, guint64 size, const SkItemInfo *info, GError **error)
{
  g_return_val_if_fail (SK_IS_STORE (self), NULL);
  g_return_val_if_fail (source_fd >= 0, NULL);
  g_return_val_if_fail (info != NULL && info->kind != NULL && info->name != NULL, NULL);

  int fd = -1;
  g_autoptr (SkStaged) staged = staged_new (self, info, &fd, error);
  if (staged == NULL)
    return NULL;
  staged->out_fd = fd;
  staged->pushed = TRUE;
  staged->item->size = size;
  staged->source_fd = fcntl (source_fd, F_DUPFD_CLOEXEC, 3);
  if (staged->source_fd < 0)
    {
      sk_error_set_from_errno (error, errno, _ ("creating a file in the store"));
      return NULL;
    }
  staged->sink = sk_sink_start (fd, NULL, FALSE, _ ("writing to the store"), error);
  if (staged->sink == NULL)
    return NULL;
  staged->sealer = sk_sealer_new (staged->key, size, sk_sink_out, staged->sink, error);
  if (staged->sealer == NULL)
    return NULL;
  return g_steal_pointer (&staged);
}

gboolean
sk_staged_push (SkStaged *staged, const guint8 *data, gsize len)
{
  g_return_val_if_fail (staged != NULL && staged->pushed, FALSE);

  if (staged->sealer == NULL || staged->seal_error != NULL)
    return FALSE;
  return sk_sealer_push (staged->sealer, data, len, &staged->seal_error);
}

void
sk_staged_set_sha256 (SkStaged *staged, const char *sha256)
{
  g_return_if_fail (staged != NULL && !staged->committed);
  g_free (staged->item->sha256);
  staged->item->sha256 = g_strdup (sha256);
}

gboolean
sk_staged_finish (SkStaged *staged, GError **error)
{
  g_return_val_if_fail (staged != NULL && !staged->committed, FALSE);
  g_return_val_if_fail (!staged->pushed || staged->item->sha256 != NULL, FALSE);

  if (!staged_end_seal (staged, TRUE))
    {
      g_propagate_error (error, g_error_copy (staged->seal_error));
      return FALSE;
    }
  if (staged->out_fd < 0)
    return TRUE;
  sk_fault_point ("store-put-before-fsync");
  gboolean ok = fsync (staged->out_fd) == 0;
  if (!ok)
    sk_error_set_from_errno (&staged->seal_error, errno, _ ("syncing a file in the store"));
  if (close (staged->out_fd) != 0 && ok)
    {
      sk_error_set_from_errno (&staged->seal_error, errno, _ ("closing a file in the store"));
      ok = FALSE;
    }
  staged->out_fd = -1;
  if (!ok)
    g_propagate_error (error, g_error_copy (staged->seal_error));
  return ok;
}

SkItem *
sk_store_commit (SkStore *self,
                 SkStaged *staged,
                 const SkJournalEntry *who,
                 SkStoreCommitFunc also,
                 gpointer user_data,
                 GError **error)
{
  g_return_val_if_fail (SK_IS_STORE (self), NULL);
  g_return_val_if_fail (staged != NULL && staged->store == self && !staged->committed, NULL);
  g_return_val_if_fail (who != NULL && who->event != NULL, NULL);

  if (!sk_staged_finish (staged, error))
    return NULL;
  SkItem *item = staged->item;
  g_autofree char *final = _sk_store_sealed_name (item->id);

  sk_fault_point ("store-put-before-rename");
  if (renameat2 (self->dirfd, staged->temp, self->dirfd, final, RENAME_NOREPLACE) != 0)
    {
      sk_error_set_from_errno (error, errno, _ ("naming a file in the store"));
      return NULL;
    }
  /* From here the file goes by its final name: a failure removes that. */
  g_free (staged->temp);
  staged->temp = g_strdup (final);
  sk_fault_point ("store-put-before-dirsync");
  if (!sync_dir (self, error))
    return NULL;
  sk_fault_point ("store-put-before-commit");

  /* The row, its key, the caller's rows and the journal entries commit
   * together. */
  g_autofree char *details = item_details (item, NULL);
  SkJournalEntry entry = *who;
  if (entry.details == NULL)
    entry.details = details;
  if (entry.case_id == NULL)
    entry.case_id = item->case_id;
  g_autoptr (SkDbStmt) insert = sk_db_prepare (
      self->db,
      "INSERT INTO items (" ITEM_COLUMNS ", key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
      error);
  if (insert == NULL || !sk_journal_begin (self->journal, error))
    return NULL;
  sk_db_stmt_bind_text (insert, 1, item->id);
  sk_db_stmt_bind_text (insert, 2, item->kind);
  sk_db_stmt_bind_text (insert, 3, item->name);
  sk_db_stmt_bind_text (insert, 4, item->case_id);
  sk_db_stmt_bind_int64 (insert, 5, (gint64)item->size);
  sk_db_stmt_bind_text (insert, 6, item->sha256);
  if (item->records >= 0)
    sk_db_stmt_bind_int64 (insert, 7, item->records);
  sk_db_stmt_bind_int64 (insert, 8, item->created_us);
  sk_db_stmt_bind_int64 (insert, 9, item->deadline_us);
  sk_db_stmt_bind_blob (insert, 10, sk_item_key_get_bytes (staged->key), SK_ITEM_KEY_BYTES);
  if (!sk_db_stmt_run (insert, error) || (also != NULL && !also (item, user_data, error)) ||
      sk_journal_append (self->journal, &entry, error) == 0)
    {
      sk_journal_rollback (self->journal);
      return NULL;
    }
  if (!sk_journal_commit (self->journal, error))
    return NULL;
  staged->committed = TRUE;
  sk_fault_point ("store-put-after-commit");

  SkItem *copy = g_new0 (SkItem, 1);
  *copy = *item;
  copy->id = g_strdup (item->id);
  copy->kind = g_strdup (item->kind);
  copy->name = g_strdup (item->name);
  copy->case_id = g_strdup (item->case_id);
  copy->sha256 = g_strdup (item->sha256);
  return copy;
}

SkItem *
sk_store_put (SkStore *self,
              GInputStream *in,
              const SkItemInfo *info,
              const SkJournalEntry *who,
              GCancellable *cancellable,
              GError **error)
{
  g_return_val_if_fail (SK_IS_STORE (self), NULL);
  g_return_val_if_fail (who != NULL && who->event != NULL, NULL);

  g_autoptr (SkStaged) staged = sk_store_stage (self, in, info, cancellable, error);
  if (staged == NULL)
    return NULL;
  return sk_store_commit (self, staged, who, NULL, NULL, error);
}

gboolean
sk_store_limit_deadline (SkStore *self, const char *id, gint64 deadline_us, GError **error)
{
  g_return_val_if_fail (SK_IS_STORE (self), FALSE);

  g_autoptr (SkDbStmt) stmt = sk_db_prepare (
      self->db, "UPDATE items SET deadline_us = MIN (deadline_us, ?2) WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sk_db_stmt_bind_text (stmt, 1, id);
  sk_db_stmt_bind_int64 (stmt, 2, deadline_us);
  return sk_db_stmt_run (stmt, error);
}

/* ---- deleting ---------------------------------------------------------- */

/* Delete ID's row with its key and journal it, in one transaction. */
static gboolean
delete_row (SkStore *self, const char *id, const SkJournalEntry *entry, GError **error)
{
  g_autoptr (SkDbStmt) del = sk_db_prepare (self->db, "DELETE FROM items WHERE id = ?1", error);
  if (del == NULL || !sk_journal_begin (self->journal, error))
    return FALSE;
  sk_db_stmt_bind_text (del, 1, id);
  if (!sk_db_stmt_run (del, error) || sk_journal_append (self->journal, entry, error) == 0)
    {
      sk_journal_rollback (self->journal);
      return FALSE;
    }
  return sk_journal_commit (self->journal, error);
}

gboolean
sk_store_delete (SkStore *self, const char *id, const SkJournalEntry *who, GError **error)
{
  g_return_val_if_fail (SK_IS_STORE (self), FALSE);
  g_return_val_if_fail (who != NULL, FALSE);

  g_autoptr (SkItem) item = sk_store_lookup (self, id, error);
  if (item == NULL)
    return FALSE;

  /* The key goes with the row (secure_delete overwrites it in the file), in
   * the transaction that journals the deletion. */
  g_autofree char *details = item_details (item, "key destroyed; sealed file unlinked");
  SkJournalEntry entry = *who;
  if (entry.event == NULL)
    entry.event = "item-deleted";
  if (entry.case_id == NULL)
    entry.case_id = item->case_id;
  entry.details = details;
  g_autoptr (GError) full = NULL;
  if (!delete_row (self, id, &entry, &full))
    {
      /* The disk is full: the reserve makes the room to make room. */
      if (!g_error_matches (full, SK_ERROR, SK_ERROR_DISK_FULL))
        {
          g_propagate_error (error, g_steal_pointer (&full));
          return FALSE;
        }
      give_up_reserve (self);
      if (!delete_row (self, id, &entry, error))
        return FALSE;
    }

  /* The key must not linger in the WAL either.  Past the commit, a failure
   * is repaired at the next open (the orphan file) or the next deletion (the
   * WAL), so it is reported but the item is gone. */
  sk_fault_point ("store-delete-before-checkpoint");
  g_autoptr (GError) local_error = NULL;
  if (!sk_db_checkpoint_truncate (self->db, &local_error))
    g_warning ("after deleting an item: %s", local_error->message);
  sk_fault_point ("store-delete-before-unlink");
  g_autofree char *file = _sk_store_sealed_name (id);
  if (unlinkat (self->dirfd, file, 0) != 0 && errno != ENOENT)
    g_warning ("after deleting an item: unlinking its file: %s", g_strerror (errno));
  else
    (void)fsync (self->dirfd);
  keep_reserve (self);
  return TRUE;
}

gint64
sk_store_sweep (SkStore *self, GError **error)
{
  g_return_val_if_fail (SK_IS_STORE (self), -1);

  /* The journal's clock: a clock set back never postpones a deadline. */
  gint64 now = sk_journal_now (self->journal);
  g_autoptr (SkDbStmt) stmt = sk_db_prepare (
      self->db, "SELECT id FROM items WHERE deadline_us <= ?1 ORDER BY deadline_us, id", error);
  if (stmt == NULL)
    return -1;
  sk_db_stmt_bind_int64 (stmt, 1, now);
  g_autoptr (GPtrArray) due = g_ptr_array_new_with_free_func (g_free);
  for (;;)
    {
      SkDbStep step = sk_db_stmt_step (stmt, error);
      if (step == SK_DB_STEP_ERROR)
        return -1;
      if (step == SK_DB_STEP_DONE)
        break;
      g_ptr_array_add (due, g_strdup (sk_db_stmt_column_text (stmt, 0)));
    }
  sk_db_stmt_reset (stmt);

  for (guint i = 0; i < due->len; i++)
    {
      SkJournalEntry who = {
        .event = "item-deleted",
        .outcome = "ok",
        .reason = "deadline-passed",
        .uid = -1,
        .role = "system",
      };
      if (!sk_store_delete (self, g_ptr_array_index (due, i), &who, error))
        return -1;
    }
  return due->len;
}
