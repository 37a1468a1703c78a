/* sk-schema.c — the station database's tables and their versions */
#define G_LOG_DOMAIN "sekisho-schema"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "sk-error.h"
#include "sk-schema.h"

static const char *const steps[SK_SCHEMA_VERSION] = {
  /* 1 */
  "CREATE TABLE journal ("
  "  seq INTEGER PRIMARY KEY,"
  "  time_us INTEGER NOT NULL,"
  "  event TEXT NOT NULL,"
  "  outcome TEXT NOT NULL,"
  "  reason TEXT,"
  "  uid INTEGER,"
  "  login TEXT,"
  "  role TEXT,"
  "  station TEXT NOT NULL,"
  "  case_id TEXT,"
  "  package_id TEXT,"
  "  device TEXT,"
  "  details TEXT NOT NULL,"
  "  prev_hash TEXT NOT NULL,"
  "  entry_hash TEXT NOT NULL"
  ");"
  "CREATE INDEX journal_case ON journal (case_id);"
  "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
  "INSERT INTO meta (key, value) VALUES ('clock_high_water_us', 0);",
  /* 2 */
  "CREATE TABLE items ("
  "  id TEXT PRIMARY KEY,"
  "  kind TEXT NOT NULL,"
  "  name TEXT NOT NULL,"
  "  case_id TEXT,"
  "  size INTEGER NOT NULL,"
  "  sha256 TEXT NOT NULL,"
  "  records INTEGER,"
  "  created_us INTEGER NOT NULL,"
  "  deadline_us INTEGER NOT NULL,"
  "  key BLOB NOT NULL CHECK (length (key) = 32)"
  ");"
  "CREATE INDEX items_deadline ON items (deadline_us);",
  /* 3 */
  "CREATE TABLE cases ("
  "  id TEXT PRIMARY KEY,"
  "  workflow TEXT NOT NULL,"
  "  state TEXT NOT NULL,"
  "  created_us INTEGER NOT NULL,"
  "  updated_us INTEGER NOT NULL,"
  "  uploaded_us INTEGER,"
  "  closed_us INTEGER,"
  "  flagged_us INTEGER"
  ");"
  "CREATE TABLE packages ("
  "  package_id TEXT PRIMARY KEY,"
  "  case_id TEXT NOT NULL REFERENCES cases (id),"
  "  direction TEXT NOT NULL,"
  "  state TEXT NOT NULL,"
  "  item_id TEXT REFERENCES items (id) ON DELETE SET NULL,"
  "  signature BLOB,"
  "  sha256 TEXT,"
  "  time_us INTEGER NOT NULL"
  ");"
  "CREATE TABLE case_files ("
  "  id INTEGER PRIMARY KEY,"
  "  case_id TEXT NOT NULL REFERENCES cases (id),"
  "  role TEXT NOT NULL CHECK (role IN ('request', 'result')),"
  "  kind TEXT NOT NULL,"
  "  name TEXT NOT NULL,"
  "  size INTEGER NOT NULL,"
  "  sha256 TEXT NOT NULL,"
  "  records INTEGER NOT NULL,"
  "  state TEXT NOT NULL,"
  "  package_id TEXT REFERENCES packages (package_id),"
  "  item_id TEXT REFERENCES items (id) ON DELETE SET NULL,"
  "  taken_uid INTEGER,"
  "  taken_login TEXT,"
  "  approved_uid INTEGER,"
  "  approved_login TEXT,"
  "  time_us INTEGER NOT NULL,"
  "  UNIQUE (case_id, role, name)"
  ");"
  "CREATE TABLE handoffs ("
  "  path TEXT PRIMARY KEY,"
  "  case_id TEXT NOT NULL REFERENCES cases (id),"
  "  file_id INTEGER NOT NULL REFERENCES case_files (id),"
  "  uid INTEGER NOT NULL,"
  "  deadline_us INTEGER NOT NULL"
  ");",
  /* 4: when the sweep first saw each file in a download folder, on the
   * journal's clock (a file's mtime is its writer's to set). */
  "CREATE TABLE downloads ("
  "  uid INTEGER NOT NULL,"
  "  name TEXT NOT NULL,"
  "  inode INTEGER NOT NULL,"
  "  first_seen_us INTEGER NOT NULL,"
  "  seen_us INTEGER NOT NULL,"
  "  PRIMARY KEY (uid, name)"
  ");",
  /* 5: the media register (管理簿).  A row is registered when a token was
   * written on its medium; 'pending' rows came from a CSV and wait for one. */
  "CREATE TABLE media ("
  "  id INTEGER PRIMARY KEY,"
  "  number TEXT NOT NULL,"
  "  kind TEXT NOT NULL CHECK (kind IN ('usb-storage', 'optical')),"
  "  vendor TEXT NOT NULL,"
  "  model TEXT NOT NULL,"
  "  serial TEXT NOT NULL,"
  "  label TEXT NOT NULL DEFAULT '',"
  "  token TEXT UNIQUE,"
  "  state TEXT NOT NULL CHECK (state IN ('registered', 'pending', 'unregistered')),"
  "  registered_us INTEGER NOT NULL,"
  "  registered_by TEXT NOT NULL,"
  "  unregistered_us INTEGER,"
  "  CHECK (state = 'unregistered' OR (state = 'registered') = (token IS NOT NULL))"
  ");"
  "CREATE UNIQUE INDEX media_number ON media (number) WHERE state != 'unregistered';",
};

static gboolean
too_new (gint64 version, GError **error)
{
  g_set_error (error, SK_ERROR, SK_ERROR_STATION_INVALID,
               _ ("the station database has schema version %lld; this build knows up to %d"),
               (long long)version, SK_SCHEMA_VERSION);
  return FALSE;
}

gboolean
sk_schema_migrate (SkDb *db, GError **error)
{
  g_return_val_if_fail (SK_IS_DB (db), FALSE);

  if (!sk_db_begin (db, error))
    return FALSE;
  gint64 version = sk_db_get_user_version (db, error);
  if (version < 0 || version > SK_SCHEMA_VERSION)
    {
      sk_db_rollback (db);
      return version < 0 ? FALSE : too_new (version, error);
    }
  for (gint64 v = version; v < SK_SCHEMA_VERSION; v++)
    if (!sk_db_exec (db, steps[v], error))
      {
        sk_db_rollback (db);
        g_prefix_error (error, _ ("bringing the station database to version %lld: "),
                        (long long)(v + 1));
        return FALSE;
      }
  if (version < SK_SCHEMA_VERSION && !sk_db_set_user_version (db, SK_SCHEMA_VERSION, error))
    {
      sk_db_rollback (db);
      return FALSE;
    }
  return sk_db_commit (db, error);
}

/* The rule for read-only opens (journal show, verify, export for the
 * auditor; sk_db_open with SK_DB_READ_ONLY):
 *
 *   A read-only open never writes the database, so it never brings an older
 *   schema forward: that waits for the next writable open, which does it
 *   step by step under the write lock (BEGIN IMMEDIATE, above), whoever
 *   makes it.  Instead it reads what is there.  Every step so far only adds
 *   tables (and their indexes), so the tables an older database lacks are
 *   made for this connection alone, empty, in its temporary schema: an
 *   older station has no rows of that kind, and every reader sees the
 *   tables it knows.  The database file stays byte for byte as it was.
 *
 * A future step that changes a table rather than adding one must give this
 * function its read-only counterpart (a temporary view, say); the test
 * (test-store, /store/schema/read-only-older) opens every older version
 * read-only and reads every table. */
gboolean
sk_schema_open_read_only (SkDb *db, GError **error)
{
  g_return_val_if_fail (SK_IS_DB (db), FALSE);

  gint64 version = sk_db_get_user_version (db, error);
  if (version < 0)
    return FALSE;
  if (version > SK_SCHEMA_VERSION)
    return too_new (version, error);
  if (version == SK_SCHEMA_VERSION)
    return TRUE;

  /* The connection is query_only: lifted for the temporary schema alone
   * (the main database is opened read-only, or immutable, besides). */
  if (!sk_db_exec (db, "PRAGMA query_only = OFF", error))
    return FALSE;
  gboolean ok = TRUE;
  for (gint64 v = version; ok && v < SK_SCHEMA_VERSION; v++)
    {
      g_autoptr (GString) step = g_string_new (steps[v]);
      g_string_replace (step, "CREATE TABLE ", "CREATE TEMP TABLE ", 0);
      ok = sk_db_exec (db, step->str, error);
      if (!ok)
        g_prefix_error (error,
                        _ ("reading the station database of schema version %lld as version "
                           "%lld: "),
                        (long long)version, (long long)(v + 1));
    }
  g_autoptr (GError) restore_error = NULL;
  if (!sk_db_exec (db, "PRAGMA query_only = ON", &restore_error))
    {
      if (ok)
        g_propagate_error (error, g_steal_pointer (&restore_error));
      return FALSE;
    }
  return ok;
}
