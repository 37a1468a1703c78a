/* sk-journal-query.c — reading the journal: rows by filter, the event
 * names it knows, what came after a seq */
#define G_LOG_DOMAIN "sekisho-journal"

#include "config.h"

#include <string.h>

#include "sk-event.h"
#include "sk-journal-private.h"
#include "sk-journal.h"

static const char select_columns[] = SK_JOURNAL_SELECT_COLUMNS;

static char *
dup_column (SkDbStmt *stmt, int column)
{
  return g_strdup (sk_db_stmt_column_text (stmt, column));
}

/* Fill ROW (whose strings are owned) from the current result row. */
static void
read_row (SkDbStmt *stmt, SkJournalRow *row)
{
  row->seq = sk_db_stmt_column_int64 (stmt, 0);
  row->time_us = sk_db_stmt_column_int64 (stmt, 1);
  row->event = dup_column (stmt, 2);
  row->outcome = dup_column (stmt, 3);
  row->reason = dup_column (stmt, 4);
  row->uid = sk_db_stmt_column_is_null (stmt, 5) ? -1 : sk_db_stmt_column_int64 (stmt, 5);
  row->login = dup_column (stmt, 6);
  row->role = dup_column (stmt, 7);
  row->station = dup_column (stmt, 8);
  row->case_id = dup_column (stmt, 9);
  row->package_id = dup_column (stmt, 10);
  row->device = dup_column (stmt, 11);
  row->details = dup_column (stmt, 12);
  row->prev_hash = dup_column (stmt, 13);
  row->entry_hash = dup_column (stmt, 14);
}

/* One kind of test: the column equals VALUE or one of VALUES, with
 * parameters numbered from *NEXT on (filter_bind binds them in the same
 * order). */
static void
filter_clause (
    GString *sql, int *next, const char *column, const char *value, const char *const *values)
{
  if (value == NULL && values == NULL)
    return;
  g_string_append_printf (sql, " AND %s IN (", column);
  gboolean first = TRUE;
  if (value != NULL)
    {
      g_string_append_printf (sql, "?%d", (*next)++);
      first = FALSE;
    }
  for (gsize i = 0; values != NULL && values[i] != NULL; i++, first = FALSE)
    g_string_append_printf (sql, first ? "?%d" : ", ?%d", (*next)++);
  if (first)
    g_string_append (sql, "NULL");
  g_string_append_c (sql, ')');
}

static void
filter_bind (SkDbStmt *stmt, int *next, const char *value, const char *const *values)
{
  if (value != NULL)
    sk_db_stmt_bind_text (stmt, (*next)++, value);
  for (gsize i = 0; values != NULL && values[i] != NULL; i++)
    sk_db_stmt_bind_text (stmt, (*next)++, values[i]);
}

GPtrArray *
sk_journal_query (SkJournal *self, const SkJournalFilter *filter, GError **error)
{
  g_return_val_if_fail (SK_IS_JOURNAL (self), NULL);

  SkJournalFilter none = { 0 };
  if (filter == NULL)
    filter = &none;

  g_autoptr (GString) sql = g_string_new (select_columns);
  g_string_append (sql, " WHERE (?1 = 0 OR time_us >= ?1) AND (?2 = 0 OR time_us < ?2)");
  int param = 4;
  filter_clause (sql, &param, "event", filter->event, filter->events);
  filter_clause (sql, &param, "reason", filter->reason, filter->reasons);
  filter_clause (sql, &param, "case_id", filter->case_id, filter->case_ids);
  if (filter->last > 0)
    {
      /* The last rows first, then back into seq order. */
      g_string_append (sql, " ORDER BY seq DESC LIMIT ?3");
      g_string_prepend (sql, "SELECT * FROM (");
      g_string_append (sql, ") ORDER BY seq");
    }
  else
    g_string_append (sql, " ORDER BY seq");
  g_autoptr (SkDbStmt) stmt = sk_db_prepare (sk_journal_get_db (self), sql->str, error);
  if (stmt == NULL)
    return NULL;
  sk_db_stmt_bind_int64 (stmt, 1, filter->since_us);
  sk_db_stmt_bind_int64 (stmt, 2, filter->until_us);
  if (filter->last > 0)
    sk_db_stmt_bind_int64 (stmt, 3, filter->last);
  int next = 4;
  filter_bind (stmt, &next, filter->event, filter->events);
  filter_bind (stmt, &next, filter->reason, filter->reasons);
  filter_bind (stmt, &next, filter->case_id, filter->case_ids);

  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify)sk_journal_row_free);
  for (;;)
    {
      SkDbStep step = sk_db_stmt_step (stmt, error);
      if (step == SK_DB_STEP_ERROR)
        return NULL;
      if (step == SK_DB_STEP_DONE)
        break;
      SkJournalRow *row = g_new0 (SkJournalRow, 1);
      read_row (stmt, row);
      g_ptr_array_add (rows, row);
    }
  return g_steal_pointer (&rows);
}

const char *const *
sk_journal_known_events (void)
{
  /* One table with the labels the app shows (core/sk-event.c). */
  return sk_event_names ();
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *
sk_journal_list_events (SkJournal *self, GError **error)
{
  g_return_val_if_fail (SK_IS_JOURNAL (self), NULL);

  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *const *known = sk_event_names ();
  for (gsize i = 0; known[i] != NULL; i++)
    g_hash_table_add (seen, g_strdup (known[i]));
  g_autoptr (SkDbStmt) stmt =
      sk_db_prepare (sk_journal_get_db (self), "SELECT DISTINCT event FROM journal", error);
  if (stmt == NULL)
    return NULL;
  for (;;)
    {
      SkDbStep step = sk_db_stmt_step (stmt, error);
      if (step == SK_DB_STEP_ERROR)
        return NULL;
      if (step == SK_DB_STEP_DONE)
        break;
      const char *event = sk_db_stmt_column_text (stmt, 0);
      if (event != NULL)
        g_hash_table_add (seen, g_strdup (event));
    }
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init (&iter, seen);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_hash_table_iter_steal (&iter);
      g_ptr_array_add (out, key);
    }
  g_ptr_array_sort (out, compare_strings);
  return out;
}

gint64
sk_journal_count_after (SkJournal *self, gint64 seq, const char *except_event, GError **error)
{
  g_return_val_if_fail (SK_IS_JOURNAL (self), -1);

  g_autoptr (SkDbStmt) stmt = sk_db_prepare (
      sk_journal_get_db (self),
      "SELECT COUNT(*) FROM journal WHERE seq > ?1 AND (?2 IS NULL OR event != ?2)", error);
  if (stmt == NULL)
    return -1;
  sk_db_stmt_bind_int64 (stmt, 1, seq);
  sk_db_stmt_bind_text (stmt, 2, except_event);
  if (sk_db_stmt_step (stmt, error) != SK_DB_STEP_ROW)
    return -1;
  return sk_db_stmt_column_int64 (stmt, 0);
}
