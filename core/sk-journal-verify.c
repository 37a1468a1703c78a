/* sk-journal-verify.c — the chain walked end to end, on two cores
 *
 * A million rows must verify in well under two seconds (DESIGN.md §10),
 * and reading them out of SQLite costs as much as hashing them.  So a long
 * journal is verified in two halves at once, each by its own thread over
 * its own read-only connection: rows up to seq K (half the head) in the
 * caller's thread, the rest in a worker.  Each half makes every check a
 * single pass makes, row by row in storage order:
 *
 *   - the row's seq is the next one (nothing missing, inserted or moved);
 *   - its required columns are there, and its integer columns hold
 *     integers;
 *   - its prev_hash is the entry_hash stored in the row before;
 *   - SHA-256 (prev_hash bytes ‖ canonical form) is its entry_hash.
 *
 * The one link the second half cannot check alone, that its first row
 * follows row K, is checked once both are done.  The answer is the first
 * bad row in seq order: the first half's finding if it has one (then the
 * second half's rows were never reached by a single pass), else the link
 * between the halves, else the second half's finding.
 *
 * A journal under BOTH_HALVES_FROM rows, or one read inside the caller's
 * open transaction (whose rows another connection cannot see, as a
 * restore does), is verified in one pass on the caller's connection.
 *
 * The canonical form is taken of the bytes as stored, every one of them: a
 * text column with a NUL byte inside, or an integer column holding text or
 * a real, does not verify, although a C string or an integer read from it
 * would look the same as the original.
 */
#define G_LOG_DOMAIN "sekisho-journal"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "sk-error.h"
#include "sk-hash.h"
#include "sk-journal-private.h"
#include "sk-progress.h"

#define HASH_LEN 32
#define HEX_LEN (HASH_LEN * 2)
/* Below this many rows a second thread and connection cost more than they
 * save (a few thousand rows verify in milliseconds). */
#define BOTH_HALVES_FROM 4096

/* Columns, as SK_JOURNAL_SELECT_COLUMNS lists them. */
enum
{
  COL_SEQ,
  COL_TIME,
  COL_EVENT,
  COL_OUTCOME,
  COL_REASON,
  COL_UID,
  COL_LOGIN,
  COL_STATION = 8,
  COL_DETAILS = 12,
  COL_PREV_HASH,
  COL_ENTRY_HASH,
};

/* The required ones among the canonical form's text columns. */
enum
{
  TEXT_EVENT = 0,
  TEXT_OUTCOME = 1,
  TEXT_STATION = 5,
  TEXT_DETAILS = 9,
};

/* Where a half found its first bad row. */
typedef enum
{
  STAGE_NONE,
  STAGE_ROW,  /* seq, required columns, integer columns */
  STAGE_LINK, /* prev_hash */
  STAGE_HASH, /* entry_hash */
} Stage;

typedef struct
{
  SkDb *db;
  const char *where;    /* the half's range of rowids */
  gint64 first_seq;     /* the seq its first row must have */
  gboolean links_first; /* FALSE: its first row's link is checked after */
  GCancellable *cancellable;
  SkProgress *progress; /* rows verified, told by both halves (may be NULL) */
  /* Set once the first half ended early: the second half's findings no
   * longer matter. */
  gint *stop;

  /* Results. */
  gint64 rows;
  Stage stage;
  gint64 bad_seq;
  const char *why;
  GError *error;
  char first_prev[HEX_LEN + 1]; /* the first row's prev_hash; "" if no hash */
  char last_hash[HEX_LEN + 1];  /* the last row's entry_hash, as stored */
} Half;

/* The column that text column T of the canonical form is. */
static int
text_column (int t)
{
  return t < 3 ? COL_EVENT + t : COL_LOGIN + (t - 3);
}

static void
found (Half *h, Stage stage, gint64 seq, const char *why)
{
  h->stage = stage;
  h->bad_seq = seq;
  h->why = why;
}

/* Walks H's rows; FALSE only on an error (H->error), a bad row is a
 * finding in H->stage. */
static gboolean
walk (Half *h)
{
  g_autofree char *sql = g_strconcat (SK_JOURNAL_SELECT_COLUMNS, h->where, " ORDER BY rowid", NULL);
  g_autoptr (SkDbStmt) stmt = sk_db_prepare (h->db, sql, &h->error);
  if (stmt == NULL)
    return FALSE;

  g_autoptr (GString) scratch = g_string_sized_new (1024);
  char expect_prev[HEX_LEN + 1] = SK_JOURNAL_ZERO_HASH;
  guint8 prev_raw[HASH_LEN] = { 0 };
  char hash[HEX_LEN + 1];

  for (;;)
    {
      if ((h->rows & 0xfff) == 0)
        {
          if (g_cancellable_set_error_if_cancelled (h->cancellable, &h->error) ||
              !sk_progress_add (h->progress, h->rows > 0 ? 0x1000 : 0, &h->error))
            return FALSE;
          if (h->stop != NULL && g_atomic_int_get (h->stop))
            return TRUE;
        }
      SkDbStep step = sk_db_stmt_step (stmt, &h->error);
      if (step == SK_DB_STEP_ERROR)
        return FALSE;
      if (step == SK_DB_STEP_DONE)
        /* The rows since the last whole step of 0x1000. */
        return sk_progress_add (h->progress, (guint64)(h->rows & 0xfff), &h->error);

      gint64 expect_seq = h->first_seq + h->rows++;
      gint64 seq = sk_db_stmt_column_int64 (stmt, COL_SEQ);
      if (seq != expect_seq)
        {
          found (h, STAGE_ROW, MIN (seq, expect_seq),
                 _ ("a row is missing, inserted or out of order"));
          return TRUE;
        }
      /* Kinds first: reading a column converts it. */
      gboolean uid_null = sk_db_stmt_column_is_null (stmt, COL_UID);
      gboolean kinds_ok = sk_db_stmt_column_is_integer (stmt, COL_TIME) &&
                          (uid_null || sk_db_stmt_column_is_integer (stmt, COL_UID));
      SkJournalCanon c = {
        .seq = seq,
        .time_us = sk_db_stmt_column_int64 (stmt, COL_TIME),
        .uid = uid_null ? -1 : sk_db_stmt_column_int64 (stmt, COL_UID),
        .uid_null = uid_null,
      };
      for (int t = 0; t < SK_JOURNAL_N_TEXT; t++)
        c.text[t] = sk_db_stmt_column_text_len (stmt, text_column (t), &c.len[t]);
      gsize prev_len, hash_len;
      const char *prev_hash = sk_db_stmt_column_text_len (stmt, COL_PREV_HASH, &prev_len);
      const char *entry_hash = sk_db_stmt_column_text_len (stmt, COL_ENTRY_HASH, &hash_len);

      if (c.text[TEXT_EVENT] == NULL || c.text[TEXT_OUTCOME] == NULL ||
          c.text[TEXT_STATION] == NULL || c.text[TEXT_DETAILS] == NULL || prev_hash == NULL ||
          entry_hash == NULL)
        {
          found (h, STAGE_ROW, seq, _ ("a required column is empty"));
          return TRUE;
        }
      if (!kinds_ok)
        {
          found (h, STAGE_ROW, seq, _ ("a number column holds something else"));
          return TRUE;
        }

      if (h->rows == 1 && !h->links_first)
        {
          /* The link to the other half waits; the bytes hashed are the
           * stored prev_hash's, which must be a hash at all. */
          if (!_sk_journal_hex_to_bytes (prev_hash, prev_len, prev_raw))
            {
              found (h, STAGE_LINK, seq, _ ("it does not follow the entry before it"));
              return TRUE;
            }
          memcpy (h->first_prev, prev_hash, HEX_LEN);
        }
      else if (prev_len != HEX_LEN || memcmp (prev_hash, expect_prev, HEX_LEN) != 0)
        {
          found (h, STAGE_LINK, seq, _ ("it does not follow the entry before it"));
          return TRUE;
        }

      g_string_set_size (scratch, HASH_LEN);
      memcpy (scratch->str, prev_raw, HASH_LEN);
      _sk_journal_canonical (scratch, &c);
      sk_sha256_buffer (scratch->str, scratch->len, hash);
      if (hash_len != HEX_LEN || memcmp (hash, entry_hash, HEX_LEN) != 0)
        {
          found (h, STAGE_HASH, seq, _ ("its contents do not match its hash"));
          return TRUE;
        }
      /* Stored and computed hashes agree: the next row must name it, and
       * the bytes it chains on are the digest's. */
      memcpy (expect_prev, hash, HEX_LEN + 1);
      memcpy (h->last_hash, hash, HEX_LEN + 1);
      _sk_journal_hex_to_bytes (hash, HEX_LEN, prev_raw);
    }
}

static gpointer
walk_thread (gpointer data)
{
  walk (data);
  return NULL;
}

static gboolean
bad_row (GError **error, gint64 *out_bad_seq, gint64 seq, const char *why)
{
  *out_bad_seq = seq;
  g_set_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID,
               _ ("the journal fails verification at seq %lld: %s"), (long long)seq, why);
  return FALSE;
}

/* The answer of one half: TRUE when it ran clean. */
static gboolean
half_result (Half *h, gint64 *bad_seq, GError **error)
{
  if (h->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&h->error));
      return FALSE;
    }
  if (h->stage != STAGE_NONE)
    return bad_row (error, bad_seq, h->bad_seq, h->why);
  return TRUE;
}

gboolean
sk_journal_verify (SkJournal *self,
                   gint64 *out_entries,
                   gint64 *out_bad_seq,
                   GCancellable *cancellable,
                   GError **error)
{
  return sk_journal_verify_with_progress (self, out_entries, out_bad_seq, NULL, cancellable, error);
}

gboolean
sk_journal_verify_with_progress (SkJournal *self,
                                 gint64 *out_entries,
                                 gint64 *out_bad_seq,
                                 SkProgress *progress,
                                 GCancellable *cancellable,
                                 GError **error)
{
  g_return_val_if_fail (SK_IS_JOURNAL (self), FALSE);

  gint64 bad_seq_local = 0, entries_local = 0;
  gint64 *bad_seq = out_bad_seq != NULL ? out_bad_seq : &bad_seq_local;
  gint64 *entries = out_entries != NULL ? out_entries : &entries_local;
  *bad_seq = 0;
  *entries = 0;

  SkDb *db = sk_journal_get_db (self);
  gint64 head;
  if (!sk_journal_head (self, &head, NULL, error) ||
      !sk_progress_begin (progress, SK_PROGRESS_PHASE_JOURNAL, (guint64)MAX (head, 0), error))
    return FALSE;

  /* Rows in storage order (rowid = seq): a row moved, inserted or deleted
   * breaks the run of seq numbers or the chain of hashes.  A single pass
   * takes every row; the first half every rowid up to K (including any
   * below 1), the second every rowid above. */
  gint stop = 0;
  Half first = {
    .db = db,
    .where = "",
    .first_seq = 1,
    .links_first = TRUE,
    .cancellable = cancellable,
    .progress = progress,
  };
  if (head < BOTH_HALVES_FROM || sk_db_in_transaction (db))
    {
      walk (&first);
      *entries = first.rows;
      return half_result (&first, bad_seq, error);
    }

  gint64 k = head / 2;
  g_autofree char *first_where = g_strdup_printf (" WHERE rowid <= %" G_GINT64_FORMAT, k);
  g_autofree char *second_where = g_strdup_printf (" WHERE rowid > %" G_GINT64_FORMAT, k);
  g_autoptr (SkDb) other = sk_db_open_reader (db, error);
  if (other == NULL)
    return FALSE;
  Half second = {
    .db = other,
    .where = second_where,
    .first_seq = k + 1,
    .links_first = FALSE,
    .cancellable = cancellable,
    .progress = progress,
    .stop = &stop,
  };
  first.where = first_where;
  GThread *thread = g_thread_new ("sk-journal-verify", walk_thread, &second);
  walk (&first);
  if (first.error != NULL || first.stage != STAGE_NONE)
    g_atomic_int_set (&stop, 1);
  g_thread_join (thread);

  /* In seq order: the first half (and, if it ended early, nothing after
   * counts), then the link between the halves, then the second half. */
  *entries = first.rows;
  if (first.error != NULL || first.stage != STAGE_NONE)
    {
      g_clear_error (&second.error);
      return half_result (&first, bad_seq, error);
    }
  /* The first half ran clean: its rows are seq 1…first.rows.  Fewer than
   * K, and the second half's first row, which a single pass would read
   * next, is not the next. */
  if (first.rows != k && second.rows > 0)
    {
      g_clear_error (&second.error);
      *entries = first.rows + 1;
      return bad_row (error, bad_seq, first.rows + 1,
                      _ ("a row is missing, inserted or out of order"));
    }
  if (second.error != NULL)
    return half_result (&second, bad_seq, error);
  *entries = first.rows + second.rows;
  gboolean first_row_bad = second.stage == STAGE_ROW && second.bad_seq == k + 1;
  if (second.rows > 0 && !first_row_bad && !g_str_equal (second.first_prev, first.last_hash))
    {
      *entries = k + 1;
      return bad_row (error, bad_seq, k + 1, _ ("it does not follow the entry before it"));
    }
  return half_result (&second, bad_seq, error);
}
