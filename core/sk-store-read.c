/* sk-store-read.c — reading sealed items back: lookups, lists, and readers
 * that open an item on a thread of their own */
#define G_LOG_DOMAIN "sekisho-store"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-fs.h"
#include "sk-store-private.h"

SkItem *
sk_store_lookup (SkStore *self, const char *id, GError **error)
{
  g_return_val_if_fail (SK_IS_STORE (self), NULL);

  g_autoptr (SkDbStmt) stmt =
      sk_db_prepare (self->db, "SELECT " ITEM_COLUMNS " FROM items WHERE id = ?1", error);
  if (stmt == NULL)
    return NULL;
  sk_db_stmt_bind_text (stmt, 1, id);
  SkDbStep step = sk_db_stmt_step (stmt, error);
  if (step == SK_DB_STEP_ERROR)
    return NULL;
  if (step != SK_DB_STEP_ROW)
    {
      g_autofree char *safe = sk_escape_untrusted (id);
      g_set_error (error, SK_ERROR, SK_ERROR_ITEM_UNKNOWN,
                   _ ("no item %s in the store: it was deleted, or never stored"), safe);
      return NULL;
    }
  return _sk_store_item_from_row (stmt);
}

GPtrArray *
sk_store_list (SkStore *self, GError **error)
{
  g_return_val_if_fail (SK_IS_STORE (self), NULL);

  return sk_store_list_db (self->db, error);
}

GPtrArray *
sk_store_list_db (SkDb *db, GError **error)
{
  g_return_val_if_fail (SK_IS_DB (db), NULL);

  g_autoptr (SkDbStmt) stmt =
      sk_db_prepare (db, "SELECT " ITEM_COLUMNS " FROM items ORDER BY created_us, id", error);
  if (stmt == NULL)
    return NULL;
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func ((GDestroyNotify)sk_item_free);
  for (;;)
    {
      SkDbStep step = sk_db_stmt_step (stmt, error);
      if (step == SK_DB_STEP_ERROR)
        return NULL;
      if (step == SK_DB_STEP_DONE)
        break;
      g_ptr_array_add (items, _sk_store_item_from_row (stmt));
    }
  return g_steal_pointer (&items);
}

/* The key of item ID, from its row. */
static SkItemKey *
item_key (SkStore *self, const char *id, GError **error)
{
  g_autoptr (SkDbStmt) stmt =
      sk_db_prepare (self->db, "SELECT key FROM items WHERE id = ?1", error);
  if (stmt == NULL)
    return NULL;
  sk_db_stmt_bind_text (stmt, 1, id);
  SkDbStep step = sk_db_stmt_step (stmt, error);
  if (step == SK_DB_STEP_ERROR)
    return NULL;
  gsize len = 0;
  const guint8 *bytes = step == SK_DB_STEP_ROW ? sk_db_stmt_column_blob (stmt, 0, &len) : NULL;
  SkItemKey *key = bytes != NULL ? sk_item_key_new_from_bytes (bytes, len) : NULL;
  if (key == NULL)
    {
      g_autofree char *safe = sk_escape_untrusted (id);
      g_set_error (error, SK_ERROR, SK_ERROR_ITEM_UNKNOWN,
                   _ ("no item %s in the store: it was deleted, or never stored"), safe);
    }
  return key;
}

static int
open_sealed (SkStore *self, const char *name, GError **error)
{
  int fd = openat (self->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    sk_error_set_from_errno (error, errno, _ ("opening a stored item"));
  return fd;
}

gboolean
sk_store_read (
    SkStore *self, const char *id, GOutputStream *out, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (SK_IS_STORE (self), FALSE);

  g_autoptr (SkItemKey) key = item_key (self, id, error);
  if (key == NULL)
    return FALSE;
  g_autofree char *file = _sk_store_sealed_name (id);
  int fd = open_sealed (self, file, error);
  if (fd < 0)
    return FALSE;
  gboolean ok = sk_open_stream (key, fd, out, cancellable, error);
  close (fd);
  return ok;
}

/* A thread opens the sealed file into one end of a socket pair; the caller
 * reads the other. */
struct _SkStoreReader
{
  int fd;        /* the caller's end */
  int sealed_fd; /* the sealed file, owned by the thread */
  SkItemKey *key;
  GSocketConnection *conn; /* the thread's end */
  GCancellable *cancellable;
  GThread *thread;
  GError *error;
};

static gpointer
reader_thread (gpointer data)
{
  SkStoreReader *r = data;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (r->conn));
  sk_open_stream (r->key, r->sealed_fd, out, r->cancellable, &r->error);
  /* EOF for the reader, whether the item opened to its end or not: it
   * learns which from sk_store_reader_finish(). */
  g_io_stream_close (G_IO_STREAM (r->conn), NULL, NULL);
  return NULL;
}

static SkStoreReader *
reader_start (SkItemKey *key, int sealed_fd, GCancellable *cancellable, GError **error)
{
  int sv[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    {
      sk_error_set_from_errno (error, errno, _ ("making a pipe to read a stored item"));
      sk_item_key_free (key);
      close (sealed_fd);
      return NULL;
    }
  g_autoptr (GSocket) socket = g_socket_new_from_fd (sv[1], error);
  if (socket == NULL)
    {
      close (sv[0]);
      close (sv[1]);
      sk_item_key_free (key);
      close (sealed_fd);
      return NULL;
    }
  SkStoreReader *r = g_new0 (SkStoreReader, 1);
  r->fd = sv[0];
  r->sealed_fd = sealed_fd;
  r->key = key;
  r->conn = g_socket_connection_factory_create_connection (socket);
  r->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  r->thread = g_thread_new ("sk-unseal", reader_thread, r);
  return r;
}

SkStoreReader *
sk_store_open_reader (SkStore *self, const char *id, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (SK_IS_STORE (self), NULL);

  SkItemKey *key = item_key (self, id, error);
  if (key == NULL)
    return NULL;
  g_autofree char *file = _sk_store_sealed_name (id);
  int fd = open_sealed (self, file, error);
  if (fd < 0)
    {
      sk_item_key_free (key);
      return NULL;
    }
  return reader_start (key, fd, cancellable, error);
}

SkStoreReader *
sk_staged_open_reader (SkStaged *staged, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (staged != NULL && !staged->committed, NULL);

  if (staged->source_fd >= 0)
    {
      /* Still sealing, or sealed from: the bytes it was given, which
       * cannot change (sk_store_stage_pushed()), read from the start. */
      int fd = fcntl (staged->source_fd, F_DUPFD_CLOEXEC, 3);
      if (fd < 0 || lseek (fd, 0, SEEK_SET) != 0)
        {
          sk_error_set_from_errno (error, errno, _ ("opening a stored item"));
          if (fd >= 0)
            close (fd);
          return NULL;
        }
      SkStoreReader *r = g_new0 (SkStoreReader, 1);
      r->fd = fd;
      r->sealed_fd = -1;
      return r;
    }
  int fd = open_sealed (staged->store, staged->temp, error);
  if (fd < 0)
    return NULL;
  SkItemKey *key =
      sk_item_key_new_from_bytes (sk_item_key_get_bytes (staged->key), SK_ITEM_KEY_BYTES);
  return reader_start (key, fd, cancellable, error);
}

int
sk_store_reader_get_fd (SkStoreReader *reader)
{
  return reader->fd;
}

static void
reader_stop (SkStoreReader *r)
{
  if (r->thread != NULL)
    {
      shutdown (r->fd, SHUT_RDWR);
      g_thread_join (g_steal_pointer (&r->thread));
    }
  if (r->fd >= 0)
    close (r->fd);
  if (r->sealed_fd >= 0)
    close (r->sealed_fd);
  r->fd = r->sealed_fd = -1;
}

gboolean
sk_store_reader_finish (SkStoreReader *reader, GError **error)
{
  reader_stop (reader);
  /* A write to the caller's end failed: the caller stopped reading (it
   * refused what it had read, or gave up), which says nothing about the
   * stored copy.  Its own reason stands; "broken pipe" would only hide it.
   * Failures of the copy itself (altered, cut short, unreadable) are this
   * project's errors, not GIO's, and are reported. */
  if (reader->error != NULL && reader->error->domain == G_IO_ERROR &&
      reader->error->code != G_IO_ERROR_CANCELLED)
    g_clear_error (&reader->error);
  if (reader->error != NULL)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&reader->error),
                                  "the store's copy did not open: ");
      return FALSE;
    }
  return TRUE;
}

void
sk_store_reader_free (SkStoreReader *reader)
{
  if (reader == NULL)
    return;
  reader_stop (reader);
  g_clear_error (&reader->error);
  g_clear_object (&reader->conn);
  g_clear_object (&reader->cancellable);
  sk_item_key_free (reader->key);
  g_free (reader);
}
