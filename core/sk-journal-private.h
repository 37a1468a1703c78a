/* sk-journal-private.h — the chain, for the journal's own readers */
#pragma once

#include "sk-journal.h"

G_BEGIN_DECLS

/* Every column of a row, in the order read_row and borrow_row take them. */
#define SK_JOURNAL_SELECT_COLUMNS                                                                  \
  "SELECT seq, time_us, event, outcome, reason, uid, login, role, station, case_id, "              \
  "package_id, device, details, prev_hash, entry_hash FROM journal"

#define SK_JOURNAL_ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* entry_hash of ROW from its columns and prev_hash (see sk-journal.h);
 * FALSE when prev_hash is not 64 lower-case hex digits.  SCRATCH is reused
 * from row to row. */
gboolean
_sk_journal_chain_hash (GString *scratch, const SkJournalRow *row, char out[65]);

G_END_DECLS
