/* sk-schema.h — the station database's tables and their versions
 *
 * Versioned from the first version with PRAGMA user_version.  Each version
 * adds one step; a database is brought forward step by step in one
 * transaction by a writable open, read as it is by a read-only one, and
 * never opened by a build older than its schema.
 *
 *   1  journal (the hash chain), meta (the clock's high-water mark)
 *   2  items (the store's index; each row holds its item's key)
 *   3  cases, packages, case_files, handoffs (the pipeline)
 *   4  downloads (when the sweep first saw each download)
 *   5  media (the media register, 管理簿)
 */
#pragma once

#include "sk-db.h"

G_BEGIN_DECLS

#define SK_SCHEMA_VERSION 5

gboolean
sk_schema_migrate (SkDb *db, GError **error);
/* For a read-only connection: a database of this build's schema or an
 * older one (read as it is: see the rule in sk-schema.c), never a newer. */
gboolean
sk_schema_open_read_only (SkDb *db, GError **error);

G_END_DECLS
