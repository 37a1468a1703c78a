/* sk-db.h — the station database, the one door to SQLite
 *
 * One file per station (DIR/station.db) holds the journal and the store's
 * index, so that an entry and the state change it records commit together.
 * Opened with WAL, synchronous=FULL (a commit is on disk when it returns),
 * secure_delete (deleted rows are overwritten, not left in free pages) and
 * foreign keys.  SQLite result codes become SK_ERROR codes here and nowhere
 * else.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SK_TYPE_DB (sk_db_get_type ())
G_DECLARE_FINAL_TYPE (SkDb, sk_db, SK, DB, GObject)

typedef enum
{
  SK_DB_READ_WRITE,
  SK_DB_READ_ONLY, /* for auditors' offline commands: nothing is written */
} SkDbMode;

SkDb *
sk_db_open (const char *path, SkDbMode mode, GError **error);

/* Another connection to SELF's database, read-only, for a second thread
 * to read from (as sk_db_open with SK_DB_READ_ONLY). */
SkDb *
sk_db_open_reader (SkDb *self, GError **error);

gboolean
sk_db_exec (SkDb *self, const char *sql, GError **error);
/* BEGIN IMMEDIATE: the write lock is taken now, not at the first write. */
gboolean
sk_db_begin (SkDb *self, GError **error);
gboolean
sk_db_commit (SkDb *self, GError **error);
/* Never fails from the caller's point of view; a failure is logged. */
void
sk_db_rollback (SkDb *self);
gboolean
sk_db_in_transaction (SkDb *self);

/* Copy the WAL into the database and truncate it to zero bytes: what was
 * deleted no longer lingers in the WAL file. */
gboolean
sk_db_checkpoint_truncate (SkDb *self, GError **error);

gint64
sk_db_get_user_version (SkDb *self, GError **error);
gboolean
sk_db_set_user_version (SkDb *self, gint64 version, GError **error);

typedef struct _SkDbStmt SkDbStmt;

typedef enum
{
  SK_DB_STEP_ERROR,
  SK_DB_STEP_ROW,
  SK_DB_STEP_DONE,
} SkDbStep;

SkDbStmt *
sk_db_prepare (SkDb *self, const char *sql, GError **error);
void
sk_db_stmt_free (SkDbStmt *stmt);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkDbStmt, sk_db_stmt_free)

/* Parameters are numbered from 1, as in SQL. */
void
sk_db_stmt_bind_int64 (SkDbStmt *stmt, int index, gint64 value);
void
sk_db_stmt_bind_text (SkDbStmt *stmt, int index, const char *value); /* NULL binds NULL */
void
sk_db_stmt_bind_blob (SkDbStmt *stmt, int index, const void *data, gsize len);
SkDbStep
sk_db_stmt_step (SkDbStmt *stmt, GError **error);
/* Step a statement that returns no rows; TRUE when it ran to completion. */
gboolean
sk_db_stmt_run (SkDbStmt *stmt, GError **error);
void
sk_db_stmt_reset (SkDbStmt *stmt);

/* Columns are numbered from 0. */
gboolean
sk_db_stmt_column_is_null (SkDbStmt *stmt, int column);
gint64
sk_db_stmt_column_int64 (SkDbStmt *stmt, int column);
const char *
sk_db_stmt_column_text (SkDbStmt *stmt, int column); /* NULL for NULL */
/* The text and its length in bytes, which counts a NUL inside it. */
const char *
sk_db_stmt_column_text_len (SkDbStmt *stmt, int column, gsize *out_len);
/* Whether the column holds an integer: not NULL, text, a real or a blob.
 * Ask before reading it any other way (reading converts). */
gboolean
sk_db_stmt_column_is_integer (SkDbStmt *stmt, int column);
const guint8 *
sk_db_stmt_column_blob (SkDbStmt *stmt, int column, gsize *out_len);

gint64
sk_db_changes (SkDb *self);
/* Bytes of heap SELF's page cache holds now (a read-only connection's is
 * capped: sk_db_open). */
gint64
sk_db_get_cache_used (SkDb *self);

G_END_DECLS
