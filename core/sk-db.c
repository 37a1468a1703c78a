/* sk-db.c — SQLite behind one door */
#define G_LOG_DOMAIN "sekisho-db"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk-db.h"
#include "sk-error.h"

struct _SkDb
{
  GObject parent_instance;

  sqlite3 *handle;
  char *path;
  gboolean in_transaction;
};

struct _SkDbStmt
{
  SkDb *db; /* borrowed: statements never outlive their database */
  sqlite3_stmt *stmt;
};

G_DEFINE_FINAL_TYPE (SkDb, sk_db, G_TYPE_OBJECT)

/* The page cache of a read-only connection, KiB (see sk_db_open). */
#define SK_DB_READER_CACHE_KIB 256

/* The one place an SQLite result code becomes a reason code. */
static void
set_error (GError **error, SkDb *self, int rc, const char *what)
{
  int primary = rc & 0xff;
  SkErrorCode code;

  switch (primary)
    {
    case SQLITE_FULL:
      code = SK_ERROR_DISK_FULL;
      break;
    case SQLITE_CANTOPEN:
    case SQLITE_NOTADB:
    case SQLITE_READONLY:
      code = SK_ERROR_STATION_INVALID;
      break;
    default:
      code = SK_ERROR_IO_ERROR;
      break;
    }
  const char *msg =
      self != NULL && self->handle != NULL ? sqlite3_errmsg (self->handle) : sqlite3_errstr (rc);
  g_set_error (error, SK_ERROR, code, "%s: %s (SQLite %d)", what, msg, rc);
}

static void
sk_db_finalize (GObject *object)
{
  SkDb *self = SK_DB (object);

  if (self->handle != NULL)
    {
      /* Every statement was finalised by its owner: close_v2 would defer. */
      int rc = sqlite3_close (self->handle);
      if (rc != SQLITE_OK)
        g_warning ("closing %s: %s", self->path, sqlite3_errstr (rc));
    }
  g_free (self->path);

  G_OBJECT_CLASS (sk_db_parent_class)->finalize (object);
}

static void
sk_db_class_init (SkDbClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sk_db_finalize;
}

static void
sk_db_init (SkDb *self)
{
}

/* PATH made (or made again) 0600 before SQLite opens it, without an
 * ordinary descriptor of an existing database: closing any descriptor of
 * the file drops every POSIX lock this process holds on it, among them the
 * SHARED lock each of its WAL connections holds while open.  Another
 * process closing its last connection then gets the EXCLUSIVE lock, takes
 * itself for the last one, checkpoints and deletes the WAL and its index
 * under ours: "database disk image is malformed" (SQLite's "How To Corrupt
 * An SQLite Database File", 2.2; seen in tests/service /service/killed
 * once the journal was large).  An O_PATH descriptor takes no lock and its
 * close drops none. */
static gboolean
make_private (const char *path, GError **error)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0)
    {
      close (fd); /* a new file: no lock of ours on it yet */
      return TRUE;
    }
  int errsv = errno;
  if (errsv == EEXIST)
    {
      struct stat st;
      fd = open (path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      errsv = fd < 0 || fstat (fd, &st) != 0 ? errno : 0;
      /* O_PATH with O_NOFOLLOW opens a symbolic link itself. */
      if (errsv == 0 && !S_ISREG (st.st_mode))
        errsv = S_ISLNK (st.st_mode) ? ELOOP : EINVAL;
      /* A database an older version made 0644 becomes 0600 too. */
      if (errsv == 0 && (st.st_mode & 07777) != 0600)
        {
          g_autofree char *self_fd = g_strdup_printf ("/proc/self/fd/%d", fd);
          if (chmod (self_fd, 0600) != 0)
            errsv = errno;
        }
      if (fd >= 0)
        close (fd);
    }
  if (errsv == 0)
    return TRUE;
  g_autofree char *what = g_strdup_printf (_ ("opening %s"), path);
  sk_error_set_from_errno (error, errsv, what);
  return FALSE;
}

SkDb *
sk_db_open (const char *path, SkDbMode mode, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr (SkDb) self = g_object_new (SK_TYPE_DB, NULL);
  int flags =
      SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW |
      (mode == SK_DB_READ_ONLY ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);

  self->path = g_strdup (path);

  /* Read-only for the auditor's offline commands: when no writer is active
   * (no WAL file beside the database), open it immutable, so that not even
   * SQLite's -shm and -wal files are created; with a writer active they
   * exist already and a plain read-only open adds nothing. */
  g_autofree char *uri = NULL;
  if (mode == SK_DB_READ_ONLY)
    {
      g_autofree char *wal = g_strconcat (path, "-wal", NULL);
      if (!g_file_test (wal, G_FILE_TEST_EXISTS))
        {
          g_autofree char *escaped = g_uri_escape_string (path, "/", FALSE);
          uri = g_strconcat ("file:", escaped, "?immutable=1", NULL);
          flags |= SQLITE_OPEN_URI;
        }
    }
  /* SQLite creates the database with 0644 (less the umask), and its -wal
   * and -shm files with the database's mode: made here first, 0600, every
   * one of them is private to the station's owner. */
  if (mode != SK_DB_READ_ONLY && !make_private (path, error))
    return NULL;
  int rc = sqlite3_open_v2 (uri != NULL ? uri : path, &self->handle, flags, NULL);
  if (rc != SQLITE_OK)
    {
      g_autofree char *what = g_strdup_printf (_ ("opening %s"), path);
      set_error (error, self, rc, what);
      return NULL;
    }
  /* SQLite opens a file it may not write read-only without a word. */
  if (mode != SK_DB_READ_ONLY && sqlite3_db_readonly (self->handle, "main") == 1)
    {
      g_autofree char *what = g_strdup_printf (_ ("opening %s"), path);
      set_error (error, NULL, SQLITE_READONLY, what);
      return NULL;
    }
  sqlite3_extended_result_codes (self->handle, 1);
  sqlite3_busy_timeout (self->handle, 10000);

  /* Read-only handles change nothing, not even the journal mode.  Their
   * page cache is small: a reader is opened for one call (a journal read,
   * a verification's half) and closed, so its cache never serves another,
   * and a scan reads each page once — the kernel's page cache keeps the
   * file.  With SQLite's default of 2 MB, every reader of a journal past
   * 2 MB filled 2 MB of heap, and the service, with several readers at
   * once in worker threads, kept the sum of them in its arenas: its
   * memory grew with the journal (tests/service: /service/load). */
  const char *setup = mode == SK_DB_READ_ONLY
                          ? "PRAGMA query_only = ON;"
                            "PRAGMA cache_size = -" G_STRINGIFY (SK_DB_READER_CACHE_KIB) ";"
                          : "PRAGMA journal_mode = WAL;"
                            "PRAGMA synchronous = FULL;"
                            "PRAGMA secure_delete = ON;"
                            "PRAGMA foreign_keys = ON;"
                            "PRAGMA trusted_schema = OFF;";
  if (!sk_db_exec (self, setup, error))
    return NULL;
  return g_steal_pointer (&self);
}

SkDb *
sk_db_open_reader (SkDb *self, GError **error)
{
  g_return_val_if_fail (SK_IS_DB (self), NULL);
  return sk_db_open (self->path, SK_DB_READ_ONLY, error);
}

gboolean
sk_db_exec (SkDb *self, const char *sql, GError **error)
{
  g_return_val_if_fail (SK_IS_DB (self), FALSE);

  char *errmsg = NULL;
  int rc = sqlite3_exec (self->handle, sql, NULL, NULL, &errmsg);
  sqlite3_free (errmsg);
  if (rc != SQLITE_OK)
    {
      set_error (error, self, rc, _ ("executing SQL"));
      return FALSE;
    }
  return TRUE;
}

gboolean
sk_db_begin (SkDb *self, GError **error)
{
  g_return_val_if_fail (SK_IS_DB (self), FALSE);
  g_return_val_if_fail (!self->in_transaction, FALSE);

  if (!sk_db_exec (self, "BEGIN IMMEDIATE", error))
    return FALSE;
  self->in_transaction = TRUE;
  return TRUE;
}

gboolean
sk_db_commit (SkDb *self, GError **error)
{
  g_return_val_if_fail (SK_IS_DB (self), FALSE);
  g_return_val_if_fail (self->in_transaction, FALSE);

  if (!sk_db_exec (self, "COMMIT", error))
    {
      sk_db_rollback (self);
      return FALSE;
    }
  self->in_transaction = FALSE;
  return TRUE;
}

void
sk_db_rollback (SkDb *self)
{
  g_return_if_fail (SK_IS_DB (self));

  if (!self->in_transaction)
    return;
  self->in_transaction = FALSE;
  if (sqlite3_get_autocommit (self->handle))
    return; /* SQLite already rolled back (e.g. after SQLITE_FULL) */
  int rc = sqlite3_exec (self->handle, "ROLLBACK", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    g_warning ("rolling back %s: %s", self->path, sqlite3_errstr (rc));
}

gboolean
sk_db_in_transaction (SkDb *self)
{
  g_return_val_if_fail (SK_IS_DB (self), FALSE);
  return self->in_transaction;
}

gboolean
sk_db_checkpoint_truncate (SkDb *self, GError **error)
{
  g_return_val_if_fail (SK_IS_DB (self), FALSE);

  int rc = sqlite3_wal_checkpoint_v2 (self->handle, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
  if (rc != SQLITE_OK)
    {
      set_error (error, self, rc, _ ("checkpointing the WAL"));
      return FALSE;
    }
  return TRUE;
}

gint64
sk_db_get_user_version (SkDb *self, GError **error)
{
  g_autoptr (SkDbStmt) stmt = sk_db_prepare (self, "PRAGMA user_version", error);

  if (stmt == NULL || sk_db_stmt_step (stmt, error) != SK_DB_STEP_ROW)
    return -1;
  return sk_db_stmt_column_int64 (stmt, 0);
}

gboolean
sk_db_set_user_version (SkDb *self, gint64 version, GError **error)
{
  g_autofree char *sql = g_strdup_printf ("PRAGMA user_version = %" G_GINT64_FORMAT, version);
  return sk_db_exec (self, sql, error);
}

SkDbStmt *
sk_db_prepare (SkDb *self, const char *sql, GError **error)
{
  g_return_val_if_fail (SK_IS_DB (self), NULL);

  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v3 (self->handle, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
  if (rc != SQLITE_OK)
    {
      set_error (error, self, rc, _ ("preparing SQL"));
      return NULL;
    }
  SkDbStmt *out = g_new0 (SkDbStmt, 1);
  out->db = self;
  out->stmt = stmt;
  return out;
}

void
sk_db_stmt_free (SkDbStmt *stmt)
{
  if (stmt == NULL)
    return;
  sqlite3_finalize (stmt->stmt);
  g_free (stmt);
}

void
sk_db_stmt_bind_int64 (SkDbStmt *stmt, int index, gint64 value)
{
  sqlite3_bind_int64 (stmt->stmt, index, value);
}

void
sk_db_stmt_bind_text (SkDbStmt *stmt, int index, const char *value)
{
  if (value == NULL)
    sqlite3_bind_null (stmt->stmt, index);
  else
    sqlite3_bind_text (stmt->stmt, index, value, -1, SQLITE_TRANSIENT);
}

void
sk_db_stmt_bind_blob (SkDbStmt *stmt, int index, const void *data, gsize len)
{
  sqlite3_bind_blob64 (stmt->stmt, index, data, len, SQLITE_TRANSIENT);
}

SkDbStep
sk_db_stmt_step (SkDbStmt *stmt, GError **error)
{
  int rc = sqlite3_step (stmt->stmt);

  if (rc == SQLITE_ROW)
    return SK_DB_STEP_ROW;
  if (rc == SQLITE_DONE)
    return SK_DB_STEP_DONE;
  set_error (error, stmt->db, rc, _ ("running SQL"));
  return SK_DB_STEP_ERROR;
}

gboolean
sk_db_stmt_run (SkDbStmt *stmt, GError **error)
{
  SkDbStep step = sk_db_stmt_step (stmt, error);

  sqlite3_reset (stmt->stmt);
  if (step == SK_DB_STEP_ROW)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("a statement returned rows"));
      return FALSE;
    }
  return step == SK_DB_STEP_DONE;
}

void
sk_db_stmt_reset (SkDbStmt *stmt)
{
  sqlite3_reset (stmt->stmt);
  sqlite3_clear_bindings (stmt->stmt);
}

gboolean
sk_db_stmt_column_is_null (SkDbStmt *stmt, int column)
{
  return sqlite3_column_type (stmt->stmt, column) == SQLITE_NULL;
}

gint64
sk_db_stmt_column_int64 (SkDbStmt *stmt, int column)
{
  return sqlite3_column_int64 (stmt->stmt, column);
}

const char *
sk_db_stmt_column_text (SkDbStmt *stmt, int column)
{
  return (const char *)sqlite3_column_text (stmt->stmt, column);
}

const char *
sk_db_stmt_column_text_len (SkDbStmt *stmt, int column, gsize *out_len)
{
  /* Through the column's value, once: a million rows are read this way.
   * The value is unprotected, which is safe while one thread uses the
   * connection (SQLITE_OPEN_NOMUTEX: always here).  Text first, then its
   * length: the order SQLite's documentation asks. */
  sqlite3_value *value = sqlite3_column_value (stmt->stmt, column);
  const char *text = (const char *)sqlite3_value_text (value);
  *out_len = text != NULL ? (gsize)sqlite3_value_bytes (value) : 0;
  return text;
}

gboolean
sk_db_stmt_column_is_integer (SkDbStmt *stmt, int column)
{
  return sqlite3_column_type (stmt->stmt, column) == SQLITE_INTEGER;
}

const guint8 *
sk_db_stmt_column_blob (SkDbStmt *stmt, int column, gsize *out_len)
{
  const guint8 *data = sqlite3_column_blob (stmt->stmt, column);
  *out_len = (gsize)sqlite3_column_bytes (stmt->stmt, column);
  return data;
}

gint64
sk_db_changes (SkDb *self)
{
  g_return_val_if_fail (SK_IS_DB (self), 0);
  return sqlite3_changes64 (self->handle);
}

gint64
sk_db_get_cache_used (SkDb *self)
{
  g_return_val_if_fail (SK_IS_DB (self), 0);
  int used = 0, highwater = 0;
  if (sqlite3_db_status (self->handle, SQLITE_DBSTATUS_CACHE_USED, &used, &highwater, 0) !=
      SQLITE_OK)
    return 0;
  return used;
}
