/* sk-store-private.h — what the store's files share (core/sk-store*.c only) */
#pragma once

#include "sk-crypto.h"
#include "sk-db.h"
#include "sk-sink.h"
#include "sk-store.h"

G_BEGIN_DECLS

#define SEALED_SUFFIX ".sealed"
#define ITEM_COLUMNS "id, kind, name, case_id, size, sha256, records, created_us, deadline_us"

struct _SkStore
{
  GObject parent_instance;

  char *dir;
  int dirfd;
  SkJournal *journal;
  SkDb *db;
  gboolean recovered;
};

/* A sealed file written and synced under its temporary name, with its key
 * in memory only: until it is committed, a crash leaves nothing that can be
 * opened, and recovery removes the file. */
struct _SkStaged
{
  SkStore *store;
  SkItem *item;
  SkItemKey *key;
  char *temp;
  gboolean committed;
  /* Sealed as pushed, written on a thread of its own (sk_store_stage_pushed)
   * until finished. */
  int source_fd;      /* the same bytes, for readers, or -1 */
  int out_fd;         /* the file they are sealed into, or -1 */
  gboolean pushed;    /* made by sk_store_stage_pushed() */
  SkSealer *sealer;   /* until finished */
  SkSink *sink;       /* until finished */
  GError *seal_error; /* the first failure of the seal or its write */
};

/* The item of the row STMT stands on (ITEM_COLUMNS, in that order). */
SkItem *
_sk_store_item_from_row (SkDbStmt *stmt);

/* The file name of item ID's sealed file in the store's folder. */
char *
_sk_store_sealed_name (const char *id);

G_END_DECLS
