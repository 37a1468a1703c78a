/* sk-store.h — staged items, encrypted at rest, deleted by their deadline
 *
 * Each item is one file DIR/store/<id>.sealed, sealed under its own random
 * key (sk-crypto.h).  The key lives only in the item's row of the station
 * database, which secure_delete overwrites when the row goes, and the WAL is
 * truncated after every deletion: once an item is deleted nothing left on
 * the station — database, WAL, free pages, the station's GnuPG key or its
 * backup — decrypts it.
 *
 * Writes are crash-safe: a temporary file beneath the store's directory
 * descriptor (O_EXCL|O_NOFOLLOW), fsync, rename without replace, fsync of the
 * directory, then the row and its journal entry in one transaction.  At
 * open, whatever a crash left half-done is removed and journaled.
 */
#pragma once

#include <gio/gio.h>

#include "sk-crypto.h"
#include "sk-journal.h"

G_BEGIN_DECLS

typedef struct
{
  char *id; /* 32 lower-case hex digits */
  char *kind;
  char *name;
  char *case_id;
  guint64 size;
  char *sha256;
  gint64 records; /* -1 when not counted */
  gint64 created_us;
  gint64 deadline_us;
} SkItem;

void
sk_item_free (SkItem *item);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkItem, sk_item_free)

/* What a new item is: its KIND (a file kind id, or "package"), the NAME it
 * arrived under (untrusted text), its case, record count and deadline. */
typedef struct
{
  const char *kind;
  const char *name;
  const char *case_id;
  gint64 records;
  gint64 deadline_us;
} SkItemInfo;

#define SK_TYPE_STORE (sk_store_get_type ())
G_DECLARE_FINAL_TYPE (SkStore, sk_store, SK, STORE, GObject)

/* More recovery for the owner of the store to run under the store's
 * exclusive lock (the pipeline's hand-off folders). */
typedef gboolean (*SkStoreRecoverFunc) (gpointer user_data, GError **error);

/* Open the store in DIR (a directory of its own), recovering from any crash
 * first; every repair is journaled.
 *
 * Several processes may have one store open at once (the service and the
 * timer's sweep; two in-process commands on a station directory).  Each
 * holds a shared lock on DIR for as long as the store is open, so that no
 * one can take a stage or a commit for debris.  Recovery — which removes
 * files that no committed row refers to — runs only when the exclusive lock
 * can be had at once, i.e. when no other process has the store open; then
 * ALSO_RECOVER (when given) runs under the same lock.  Otherwise the
 * process that finds itself alone later does it. */
SkStore *
sk_store_open (const char *dir,
               SkJournal *journal,
               SkStoreRecoverFunc also_recover,
               gpointer user_data,
               GError **error);

/* The file in the store's folder that keeps room for deletions on a full
 * disk (the only entry that is neither an item nor debris). */
#define SK_STORE_RESERVE_NAME ".reserve"

/* Whether this store's open ran recovery (it had the store to itself). */
gboolean
sk_store_get_recovered (SkStore *self);

/* Seal IN into a new item and record it with the journal entry WHO (its
 * event, actor and case; the store adds the item's details).  Returns the
 * item, or NULL with nothing left behind. */
SkItem *
sk_store_put (SkStore *self,
              GInputStream *in,
              const SkItemInfo *info,
              const SkJournalEntry *who,
              GCancellable *cancellable,
              GError **error);

/* Sealing in two steps, for callers that must look at what they store
 * before they keep it (a package is verified on the store's own copy):
 * stage seals IN into a file that nothing refers to yet; commit names it,
 * then inserts its row, runs ALSO (the caller's rows and journal entries,
 * in the same transaction) and appends WHO's entry.  A staged item freed
 * without a commit is removed. */
typedef struct _SkStaged SkStaged;
void
sk_staged_free (SkStaged *staged);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkStaged, sk_staged_free)
const SkItem *
sk_staged_get_item (SkStaged *staged);

SkStaged *
sk_store_stage (SkStore *self,
                GInputStream *in,
                const SkItemInfo *info,
                GCancellable *cancellable,
                GError **error);

/* An item of SIZE bytes (known in advance) sealed as they arrive: one
 * thread pushes them in order (sk_staged_push()), they are sealed on that
 * thread and written on a thread of the store's own, past the page cache
 * where the file system allows, so the disk starts at once and the pushing
 * thread never waits for it (unless the disk falls 12 MiB behind).
 * SOURCE_FD holds the same bytes for sk_staged_open_reader(): all of them
 * by the time it is called, and unchanging (a sealed memfd, sk-package.c).
 * The item's SHA-256 is not taken here: the caller gives it with
 * sk_staged_set_sha256() before finishing.  Finish seals the end, waits
 * for the writer and syncs the file; freed before, the item is abandoned
 * and leaves nothing. */
SkStaged *
sk_store_stage_pushed (
    SkStore *self, int source_fd, guint64 size, const SkItemInfo *info, GError **error);
/* The item's next LEN bytes.  FALSE once the seal or its write has failed
 * (the reason comes from finish), or beyond SIZE; later pushes are ignored. */
gboolean
sk_staged_push (SkStaged *staged, const guint8 *data, gsize len);
void
sk_staged_set_sha256 (SkStaged *staged, const char *sha256);
gboolean
sk_staged_finish (SkStaged *staged, GError **error);

typedef gboolean (*SkStoreCommitFunc) (const SkItem *item, gpointer user_data, GError **error);

/* WHO's details default to the item's. */
SkItem *
sk_store_commit (SkStore *self,
                 SkStaged *staged,
                 const SkJournalEntry *who,
                 SkStoreCommitFunc also,
                 gpointer user_data,
                 GError **error);

/* An item's plaintext as a stream of bytes on a socket, opened by a second
 * thread as it is read.  Finish tells whether the whole item opened (it
 * was not altered or cut short); read to the end before trusting what was
 * read. */
typedef struct _SkStoreReader SkStoreReader;
SkStoreReader *
sk_store_open_reader (SkStore *self, const char *id, GCancellable *cancellable, GError **error);
SkStoreReader *
sk_staged_open_reader (SkStaged *staged, GCancellable *cancellable, GError **error);
int
sk_store_reader_get_fd (SkStoreReader *reader);
gboolean
sk_store_reader_finish (SkStoreReader *reader, GError **error);
void
sk_store_reader_free (SkStoreReader *reader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkStoreReader, sk_store_reader_free)

SkItem *
sk_store_lookup (SkStore *self, const char *id, GError **error);
GPtrArray *
sk_store_list (SkStore *self, GError **error);
/* The same from the station database DB, which may be a read-only
 * connection: for the commands that only show, which open no store (its
 * recovery writes). */
GPtrArray *
sk_store_list_db (SkDb *db, GError **error);

/* Write the item's plaintext to OUT. */
gboolean
sk_store_read (
    SkStore *self, const char *id, GOutputStream *out, GCancellable *cancellable, GError **error);

/* Bring the item's deadline forward to DEADLINE_US (never later); for use
 * inside the caller's transaction. */
gboolean
sk_store_limit_deadline (SkStore *self, const char *id, gint64 deadline_us, GError **error);

/* Destroy the item's key and its file, journaled with WHO (event
 * "item-deleted" unless WHO names another) and the method. */
gboolean
sk_store_delete (SkStore *self, const char *id, const SkJournalEntry *who, GError **error);

/* Delete every item whose deadline has passed, measured against the
 * journal's clock (which never goes back).  Returns how many. */
gint64
sk_store_sweep (SkStore *self, GError **error);

G_END_DECLS
