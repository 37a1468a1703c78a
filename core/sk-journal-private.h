/* sk-journal-private.h — the chain, for the journal's own readers */
#pragma once

#include "sk-journal.h"

G_BEGIN_DECLS

/* Every column of a row, in the order read_row and borrow_row take them. */
#define SK_JOURNAL_SELECT_COLUMNS                                                                  \
  "SELECT seq, time_us, event, outcome, reason, uid, login, role, station, case_id, "              \
  "package_id, device, details, prev_hash, entry_hash FROM journal"

#define SK_JOURNAL_ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* A row's columns as stored, for its canonical form: every column but the
 * two hashes.  Text columns in the order event, outcome, reason, login,
 * role, station, case_id, package_id, device, details, each with its length
 * in bytes (NULL: SQL NULL); uid comes between reason and login. */
#define SK_JOURNAL_N_TEXT 10

typedef struct
{
  gint64 seq;
  gint64 time_us;
  gint64 uid;
  gboolean uid_null;
  const char *text[SK_JOURNAL_N_TEXT];
  gsize len[SK_JOURNAL_N_TEXT];
} SkJournalCanon;

/* Appends the canonical form of C to OUT: for each column in order,
 * name ':' ('-' | length ':' value) '\n'. */
void
_sk_journal_canonical (GString *out, const SkJournalCanon *c);

/* 64 lower-case hex digits (LEN bytes) into 32 bytes; FALSE for anything
 * else. */
gboolean
_sk_journal_hex_to_bytes (const char *hex, gsize len, guint8 out[32]);

/* entry_hash of ROW from its columns and prev_hash (see sk-journal.h);
 * FALSE when prev_hash is not 64 lower-case hex digits.  SCRATCH is reused
 * from row to row. */
gboolean
_sk_journal_chain_hash (GString *scratch, const SkJournalRow *row, char out[65]);

G_END_DECLS
