/* sk-journal.h — the hash-chained transfer journal (DESIGN.md §6)
 *
 * One row per event, in the station database, written in the same
 * transaction as the state change it records.  Rows are chained:
 *
 *   entry_hash(n) = SHA-256 (prev_hash(n) ‖ canonical(n)),
 *   prev_hash(n)  = entry_hash(n-1) as 32 raw bytes; 32 zero bytes for n = 1.
 *
 * canonical(n) is, for each column in this order —
 *   seq, time_us, event, outcome, reason, uid, login, role, station,
 *   case_id, package_id, device, details —
 * the column's name, ':', then either '-' (NULL) or the value's length in
 * bytes, ':', the value's bytes; then '\n'.  Integers are written in decimal
 * ASCII.  The lengths make the encoding unambiguous, so no two different rows
 * have the same canonical form.
 *
 * An entry holds who, when, what, outcome and a stable reason code — counts,
 * file names, hashes, sizes — and never a personal-data value; callers build
 * DETAILS from such values only.  After each commit the entries are also sent
 * to the systemd journal with SEKISHO_* fields.
 */
#pragma once

#include <gio/gio.h>

#include "sk-db.h"
#include "sk-keyring.h"
#include "sk-progress.h"

G_BEGIN_DECLS

typedef struct
{
  const char *event;      /* kebab-case, e.g. "policy-installed" */
  const char *outcome;    /* "ok", "refused" or "failed" */
  const char *reason;     /* a reason code, or NULL */
  gint64 uid;             /* the caller's uid, -1 when none */
  const char *login;      /* may be NULL */
  const char *role;       /* "operator", "auditor", "admin", "system" or NULL */
  const char *case_id;    /* 処理番号, may be NULL */
  const char *package_id; /* may be NULL */
  const char *device;     /* device identity, may be NULL */
  const char *details;    /* a JSON object; NULL means "{}" */
} SkJournalEntry;

/* A row as stored. */
typedef struct
{
  gint64 seq;
  gint64 time_us;
  char *event, *outcome, *reason;
  gint64 uid; /* -1 for NULL */
  char *login, *role, *station, *case_id, *package_id, *device, *details;
  char *prev_hash;  /* lower-case hex */
  char *entry_hash; /* lower-case hex */
} SkJournalRow;

void
sk_journal_row_free (SkJournalRow *row);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkJournalRow, sk_journal_row_free)

#define SK_TYPE_JOURNAL (sk_journal_get_type ())
G_DECLARE_FINAL_TYPE (SkJournal, sk_journal, SK, JOURNAL, GObject)

/* Opens the journal in DB, creating or migrating its tables.  STATION names
 * the station in every row. */
SkJournal *
sk_journal_new (SkDb *db, const char *station, GError **error);
/* For read-only use (verify, show, export): no migration, no writes. */
SkJournal *
sk_journal_open_read_only (SkDb *db, GError **error);

SkDb *
sk_journal_get_db (SkJournal *self);

/* Transactions: an entry and the state change it records commit together.
 * Entries reach the systemd journal only after the commit. */
gboolean
sk_journal_begin (SkJournal *self, GError **error);
gboolean
sk_journal_commit (SkJournal *self, GError **error);
void
sk_journal_rollback (SkJournal *self);

/* Append inside the current transaction; returns the entry's seq, or 0.
 * When the wall clock is behind the journal's high-water mark, a
 * clock-anomaly entry is appended first. */
gint64
sk_journal_append (SkJournal *self, const SkJournalEntry *entry, GError **error);
/* Append in a transaction of its own. */
gint64
sk_journal_record (SkJournal *self, const SkJournalEntry *entry, GError **error);

/* The time deadlines are measured against: the wall clock, or the highest
 * time the journal has seen if the clock was set back.  Microseconds. */
gint64
sk_journal_now (SkJournal *self);

/* The last entry's seq and hash (0 and 64 zeros when empty). */
gboolean
sk_journal_head (SkJournal *self, gint64 *out_seq, char **out_hash, GError **error);

/* Walk every row.  Returns FALSE with SK_ERROR_JOURNAL_INVALID naming the
 * first bad seq in *OUT_BAD_SEQ when a row was altered, inserted, deleted or
 * reordered; *OUT_ENTRIES counts the rows read. */
gboolean
sk_journal_verify (SkJournal *self,
                   gint64 *out_entries,
                   gint64 *out_bad_seq,
                   GCancellable *cancellable,
                   GError **error);
/* The same, telling PROGRESS (which may be NULL) the rows verified of the
 * journal's length, as phase "journal", and stopping when it is cancelled. */
gboolean
sk_journal_verify_with_progress (SkJournal *self,
                                 gint64 *out_entries,
                                 gint64 *out_bad_seq,
                                 SkProgress *progress,
                                 GCancellable *cancellable,
                                 GError **error);

/* Checkpoints: {format, seq, head_hash, time, station, station_key} signed
 * by the station key.  Making one needs the station's secret key. */
GBytes *
sk_journal_make_checkpoint (SkJournal *self,
                            SkKeyring *keyring,
                            const char *station_name,
                            const char *station_key,
                            GBytes **out_signature,
                            GError **error);
/* The fields of a checkpoint whose signature the caller verified. */
gboolean
sk_checkpoint_parse (GBytes *checkpoint,
                     gint64 *out_seq,
                     char **out_head,
                     char **out_station,
                     char **out_station_key,
                     GError **error);
/* Verify CHECKPOINT and SIGNATURE by STATION_KEY; that the checkpoint
 * names this station (STATION_NAME) and this key; then that the journal
 * still holds the checkpoint's head: a journal truncated or rewritten behind
 * it, or another station's checkpoint, fails with SK_ERROR_JOURNAL_INVALID. */
gboolean
sk_journal_check_checkpoint (SkJournal *self,
                             SkKeyring *keyring,
                             const char *station_name,
                             const char *station_key,
                             GBytes *checkpoint,
                             GBytes *signature,
                             gint64 *out_seq,
                             GError **error);

/* What sk_journal_judge_checkpoint() found, for a reader that shows a
 * verdict rather than an error (the auditor's window). */
typedef enum
{
  SK_CHECKPOINT_MATCHES,       /* the journal still holds the signed head */
  SK_CHECKPOINT_MALFORMED,     /* not a checkpoint at all */
  SK_CHECKPOINT_SIGNATURE,     /* not signed (well) by the station key */
  SK_CHECKPOINT_OTHER_STATION, /* another station's, or another key's */
  SK_CHECKPOINT_TRUNCATED,     /* the journal ends before its seq */
  SK_CHECKPOINT_DIFFERS,       /* the journal's row at its seq is not the signed one */
} SkCheckpointVerdict;

/* A stable name of VERDICT: "matches", "malformed", "signature",
 * "other-station", "truncated", "differs". */
const char *
sk_checkpoint_verdict_to_string (SkCheckpointVerdict verdict);

/* sk_journal_check_checkpoint(), telling which check failed in
 * *OUT_VERDICT (SK_CHECKPOINT_MATCHES when it returns TRUE) and the
 * checkpoint's seq in *OUT_SEQ (-1 when it could not be read). */
gboolean
sk_journal_judge_checkpoint (SkJournal *self,
                             SkKeyring *keyring,
                             const char *station_name,
                             const char *station_key,
                             GBytes *checkpoint,
                             GBytes *signature,
                             gint64 *out_seq,
                             SkCheckpointVerdict *out_verdict,
                             GError **error);

/* A row passes when it passes every kind of test that is set; within one
 * kind, the single value and the list are alternatives (event E, or any of
 * EVENTS). */
typedef struct
{
  gint64 since_us; /* 0: no bound */
  gint64 until_us; /* 0: no bound */
  const char *event;
  const char *reason;
  const char *case_id;
  const char *const *events;   /* NULL-terminated, or NULL */
  const char *const *reasons;  /* likewise */
  const char *const *case_ids; /* likewise */
  gint64 last;                 /* > 0: only the last LAST rows that pass */
} SkJournalFilter;

/* The rows that pass FILTER, in seq order. */
GPtrArray *
sk_journal_query (SkJournal *self, const SkJournalFilter *filter, GError **error);

/* Every event name this code base appends, sorted (core/sk-event.c). */
const char *const *
sk_journal_known_events (void);
/* Those and every other event name the journal holds (a newer program's),
 * sorted, without duplicates. */
GPtrArray *
sk_journal_list_events (SkJournal *self, GError **error);

/* How many rows come after SEQ, leaving out those of EXCEPT_EVENT (may be
 * NULL); -1 on error.  (The CSV record is in sk-journal-csv.h.) */
gint64
sk_journal_count_after (SkJournal *self, gint64 seq, const char *except_event, GError **error);

char *
sk_journal_format_time (gint64 time_us);

G_END_DECLS
