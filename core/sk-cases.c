/* sk-cases.c — the station's case records (案件) in its database */
#define G_LOG_DOMAIN "sekisho-cases"

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "sk-cases.h"
#include "sk-error.h"
#include "sk-policy-private.h"

#define DAY_US (G_GINT64_CONSTANT (86400) * G_USEC_PER_SEC)

struct _SkCases
{
  GObject parent_instance;

  SkJournal *journal;
  SkDb *db;
  SkPolicy *policy;
};

G_DEFINE_FINAL_TYPE (SkCases, sk_cases, G_TYPE_OBJECT)

static void
sk_cases_finalize (GObject *object)
{
  SkCases *self = SK_CASES (object);

  g_clear_object (&self->journal);
  g_clear_object (&self->db);
  g_clear_object (&self->policy);

  G_OBJECT_CLASS (sk_cases_parent_class)->finalize (object);
}

static void
sk_cases_class_init (SkCasesClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sk_cases_finalize;
}

static void
sk_cases_init (SkCases *self)
{
}

SkCases *
sk_cases_new (SkJournal *journal, SkPolicy *policy)
{
  g_return_val_if_fail (SK_IS_JOURNAL (journal), NULL);
  g_return_val_if_fail (SK_IS_POLICY (policy), NULL);

  SkCases *self = g_object_new (SK_TYPE_CASES, NULL);
  self->journal = g_object_ref (journal);
  self->db = g_object_ref (sk_journal_get_db (journal));
  self->policy = g_object_ref (policy);
  return self;
}

void
sk_case_file_free (SkCaseFile *f)
{
  if (f == NULL)
    return;
  g_free (f->role);
  g_free (f->kind);
  g_free (f->name);
  g_free (f->sha256);
  g_free (f->state);
  g_free (f->package_id);
  g_free (f->item_id);
  g_free (f->taken_login);
  g_free (f->approved_login);
  g_free (f);
}

void
sk_case_free (SkCase *c)
{
  if (c == NULL)
    return;
  g_free (c->id);
  g_free (c->workflow);
  g_free (c->state);
  g_clear_pointer (&c->files, g_ptr_array_unref);
  g_free (c);
}

GPtrArray *
sk_case_requests (const SkCase *c)
{
  GPtrArray *requests = g_ptr_array_new ();
  for (guint i = 0; i < c->files->len; i++)
    if (g_str_equal (((SkCaseFile *)g_ptr_array_index (c->files, i))->role, "request"))
      g_ptr_array_add (requests, g_ptr_array_index (c->files, i));
  return requests;
}

void
sk_stored_package_free (SkStoredPackage *p)
{
  if (p == NULL)
    return;
  g_free (p->package_id);
  g_free (p->item_id);
  g_clear_pointer (&p->signature, g_bytes_unref);
  g_free (p);
}

void
sk_handoff_record_free (SkHandoffRecord *r)
{
  if (r == NULL)
    return;
  g_free (r->name);
  g_free (r->path);
  g_free (r->case_id);
  g_free (r);
}

GPtrArray *
sk_handoff_records_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify)sk_handoff_record_free);
}

/* ---- SQL ----------------------------------------------------------------- */

/* Run SQL with its parameters given as ('s', const char *) or ('i', gint64)
 * pairs, ended by 0. */
static gboolean
run_sql (SkCases *self, const char *sql, GError **error, ...)
{
  g_autoptr (SkDbStmt) stmt = sk_db_prepare (self->db, sql, error);
  if (stmt == NULL)
    return FALSE;
  va_list args;
  va_start (args, error);
  for (int i = 1;; i++)
    {
      int type = va_arg (args, int);
      if (type == 0)
        break;
      if (type == 's')
        sk_db_stmt_bind_text (stmt, i, va_arg (args, const char *));
      else
        sk_db_stmt_bind_int64 (stmt, i, va_arg (args, gint64));
    }
  va_end (args);
  return sk_db_stmt_run (stmt, error);
}

#define S(v) 's', (const char *)(v)
#define I(v) 'i', (gint64)(v)

/* ---- reading ----------------------------------------------------------- */

#define FILE_COLUMNS                                                                               \
  "id, role, kind, name, size, sha256, records, state, package_id, item_id, taken_uid, "           \
  "taken_login, approved_uid, approved_login"

static SkCaseFile *
file_from_row (SkCases *self, SkDbStmt *stmt)
{
  SkCaseFile *f = g_new0 (SkCaseFile, 1);
  f->id = sk_db_stmt_column_int64 (stmt, 0);
  f->role = g_strdup (sk_db_stmt_column_text (stmt, 1));
  f->kind = g_strdup (sk_db_stmt_column_text (stmt, 2));
  f->name = g_strdup (sk_db_stmt_column_text (stmt, 3));
  f->size = (guint64)sk_db_stmt_column_int64 (stmt, 4);
  f->sha256 = g_strdup (sk_db_stmt_column_text (stmt, 5));
  f->records = sk_db_stmt_column_int64 (stmt, 6);
  f->state = g_strdup (sk_db_stmt_column_text (stmt, 7));
  f->package_id = g_strdup (sk_db_stmt_column_text (stmt, 8));
  f->item_id = g_strdup (sk_db_stmt_column_text (stmt, 9));
  f->taken_uid = sk_db_stmt_column_is_null (stmt, 10) ? -1 : sk_db_stmt_column_int64 (stmt, 10);
  f->taken_login = g_strdup (sk_db_stmt_column_text (stmt, 11));
  f->approved_uid = sk_db_stmt_column_is_null (stmt, 12) ? -1 : sk_db_stmt_column_int64 (stmt, 12);
  f->approved_login = g_strdup (sk_db_stmt_column_text (stmt, 13));
  f->needs_approval = g_str_equal (f->role, "result") && f->approved_uid < 0 &&
                      sk_policy_needs_dual_control (self->policy, f->kind);
  return f;
}

static gboolean
case_is_overdue (SkCases *self, const SkCase *c)
{
  if (c->closed_us != 0)
    return FALSE;
  for (guint i = 0; i < c->files->len; i++)
    if (g_str_equal (((SkCaseFile *)g_ptr_array_index (c->files, i))->role, "result"))
      return FALSE;
  gint64 since = c->uploaded_us != 0 ? c->uploaded_us : c->created_us;
  gint64 days = sk_policy_get_retention (self->policy)->no_result_days;
  return sk_journal_now (self->journal) >= since + days * DAY_US;
}

SkCase *
sk_cases_get (SkCases *self, const char *case_id, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), NULL);

  g_autoptr (SkDbStmt) stmt = sk_db_prepare (
      self->db,
      "SELECT id, workflow, state, created_us, updated_us, uploaded_us, closed_us FROM cases "
      "WHERE id = ?1",
      error);
  if (stmt == NULL)
    return NULL;
  sk_db_stmt_bind_text (stmt, 1, case_id);
  SkDbStep step = sk_db_stmt_step (stmt, error);
  if (step == SK_DB_STEP_ERROR)
    return NULL;
  if (step != SK_DB_STEP_ROW)
    {
      g_autofree char *safe = sk_escape_untrusted (case_id);
      g_set_error (error, SK_ERROR, SK_ERROR_CASE_UNKNOWN,
                   _ ("there is no case %s on this station"), safe);
      return NULL;
    }
  g_autoptr (SkCase) c = g_new0 (SkCase, 1);
  c->id = g_strdup (sk_db_stmt_column_text (stmt, 0));
  c->workflow = g_strdup (sk_db_stmt_column_text (stmt, 1));
  c->state = g_strdup (sk_db_stmt_column_text (stmt, 2));
  c->created_us = sk_db_stmt_column_int64 (stmt, 3);
  c->updated_us = sk_db_stmt_column_int64 (stmt, 4);
  c->uploaded_us = sk_db_stmt_column_int64 (stmt, 5);
  c->closed_us = sk_db_stmt_column_int64 (stmt, 6);
  sk_db_stmt_reset (stmt);

  g_autoptr (SkDbStmt) handoffs =
      sk_db_prepare (self->db, "SELECT min (deadline_us) FROM handoffs WHERE case_id = ?1", error);
  if (handoffs == NULL)
    return NULL;
  sk_db_stmt_bind_text (handoffs, 1, case_id);
  if (sk_db_stmt_step (handoffs, error) != SK_DB_STEP_ROW)
    return NULL;
  c->handoff_deadline_us =
      sk_db_stmt_column_is_null (handoffs, 0) ? 0 : sk_db_stmt_column_int64 (handoffs, 0);

  g_autoptr (SkDbStmt) files = sk_db_prepare (
      self->db, "SELECT " FILE_COLUMNS " FROM case_files WHERE case_id = ?1 ORDER BY id", error);
  if (files == NULL)
    return NULL;
  sk_db_stmt_bind_text (files, 1, case_id);
  c->files = g_ptr_array_new_with_free_func ((GDestroyNotify)sk_case_file_free);
  for (;;)
    {
      step = sk_db_stmt_step (files, error);
      if (step == SK_DB_STEP_ERROR)
        return NULL;
      if (step == SK_DB_STEP_DONE)
        break;
      g_ptr_array_add (c->files, file_from_row (self, files));
    }
  c->overdue = case_is_overdue (self, c);
  return g_steal_pointer (&c);
}

/* The first column of every row of STMT, as strings. */
static GPtrArray *
column_strings (SkDbStmt *stmt, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  for (;;)
    {
      SkDbStep step = sk_db_stmt_step (stmt, error);
      if (step == SK_DB_STEP_ERROR)
        return NULL;
      if (step == SK_DB_STEP_DONE)
        break;
      g_ptr_array_add (out, g_strdup (sk_db_stmt_column_text (stmt, 0)));
    }
  sk_db_stmt_reset (stmt);
  return g_steal_pointer (&out);
}

GPtrArray *
sk_cases_list (SkCases *self, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), NULL);

  g_autoptr (SkDbStmt) stmt =
      sk_db_prepare (self->db, "SELECT id FROM cases ORDER BY created_us, id", error);
  g_autoptr (GPtrArray) ids = stmt != NULL ? column_strings (stmt, error) : NULL;
  if (ids == NULL)
    return NULL;
  g_autoptr (GPtrArray) cases = g_ptr_array_new_with_free_func ((GDestroyNotify)sk_case_free);
  for (guint i = 0; i < ids->len; i++)
    {
      SkCase *c = sk_cases_get (self, g_ptr_array_index (ids, i), error);
      if (c == NULL)
        return NULL;
      g_ptr_array_add (cases, c);
    }
  return g_steal_pointer (&cases);
}

GPtrArray *
sk_cases_request_packages (SkCases *self, const char *case_id, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), NULL);

  g_autoptr (SkDbStmt) stmt = sk_db_prepare (
      self->db,
      "SELECT package_id, item_id, signature FROM packages WHERE case_id = ?1 AND direction = "
      "'to-intermediate' ORDER BY time_us, package_id",
      error);
  if (stmt == NULL)
    return NULL;
  sk_db_stmt_bind_text (stmt, 1, case_id);
  g_autoptr (GPtrArray) out =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sk_stored_package_free);
  for (;;)
    {
      SkDbStep step = sk_db_stmt_step (stmt, error);
      if (step == SK_DB_STEP_ERROR)
        return NULL;
      if (step == SK_DB_STEP_DONE)
        break;
      if (sk_db_stmt_column_is_null (stmt, 1))
        {
          g_set_error (error, SK_ERROR, SK_ERROR_ITEM_UNKNOWN,
                       _ ("the request package of case %s is no longer in the store"), case_id);
          return NULL;
        }
      SkStoredPackage *p = g_new0 (SkStoredPackage, 1);
      p->package_id = g_strdup (sk_db_stmt_column_text (stmt, 0));
      p->item_id = g_strdup (sk_db_stmt_column_text (stmt, 1));
      gsize len = 0;
      const guint8 *sig = sk_db_stmt_column_blob (stmt, 2, &len);
      p->signature = g_bytes_new (sig, len);
      g_ptr_array_add (out, p);
    }
  return g_steal_pointer (&out);
}

static void
case_item_clear (SkCaseItem *item)
{
  g_free (item->item_id);
  g_free (item->kind);
}

GArray *
sk_cases_items (SkCases *self, const char *case_id, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), NULL);

  g_autoptr (SkDbStmt) stmt = sk_db_prepare (
      self->db,
      "SELECT item_id, NULL FROM packages WHERE case_id = ?1 AND item_id IS NOT NULL "
      "UNION ALL SELECT item_id, kind FROM case_files WHERE case_id = ?1 AND item_id IS NOT NULL",
      error);
  if (stmt == NULL)
    return NULL;
  sk_db_stmt_bind_text (stmt, 1, case_id);
  g_autoptr (GArray) items = g_array_new (FALSE, TRUE, sizeof (SkCaseItem));
  g_array_set_clear_func (items, (GDestroyNotify)case_item_clear);
  for (;;)
    {
      SkDbStep step = sk_db_stmt_step (stmt, error);
      if (step == SK_DB_STEP_ERROR)
        return NULL;
      if (step == SK_DB_STEP_DONE)
        break;
      SkCaseItem item = { g_strdup (sk_db_stmt_column_text (stmt, 0)),
                          g_strdup (sk_db_stmt_column_text (stmt, 1)) };
      g_array_append_val (items, item);
    }
  return g_steal_pointer (&items);
}

gboolean
sk_cases_all_results_exported (
    SkCases *self, const char *case_id, const char *workflow, gboolean *out_all, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), FALSE);

  *out_all = TRUE;
  GPtrArray *kinds = sk_policy_get_kinds (self->policy);
  for (guint i = 0; i < kinds->len && *out_all; i++)
    {
      const SkKind *k = g_ptr_array_index (kinds, i);
      if (sk_kind_get_direction (k) != SK_DIRECTION_TO_STANDARD ||
          !g_str_equal (sk_kind_get_workflow (k), workflow))
        continue;
      g_autoptr (SkDbStmt) stmt = sk_db_prepare (
          self->db,
          "SELECT 1 FROM case_files WHERE case_id = ?1 AND kind = ?2 AND state = 'exported'",
          error);
      if (stmt == NULL)
        return FALSE;
      sk_db_stmt_bind_text (stmt, 1, case_id);
      sk_db_stmt_bind_text (stmt, 2, sk_kind_get_id (k));
      SkDbStep step = sk_db_stmt_step (stmt, error);
      if (step == SK_DB_STEP_ERROR)
        return FALSE;
      *out_all = step == SK_DB_STEP_ROW;
    }
  return TRUE;
}

char *
sk_cases_export_under_way (SkCases *self, const char *case_id, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), NULL);

  g_autoptr (SkDbStmt) stmt = sk_db_prepare (
      self->db,
      "SELECT package_id FROM packages WHERE case_id = ?1 AND direction = 'to-standard' AND "
      "state = 'exporting'",
      error);
  if (stmt == NULL)
    return NULL;
  sk_db_stmt_bind_text (stmt, 1, case_id);
  SkDbStep step = sk_db_stmt_step (stmt, error);
  return step == SK_DB_STEP_ROW ? g_strdup (sk_db_stmt_column_text (stmt, 0)) : NULL;
}

/* ---- writing ----------------------------------------------------------- */

gboolean
sk_cases_set_state (SkCases *self, const char *case_id, const char *state, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), FALSE);
  return run_sql (self, "UPDATE cases SET state = ?2, updated_us = ?3 WHERE id = ?1", error,
                  S (case_id), S (state), I (sk_journal_now (self->journal)), 0);
}

gboolean
sk_cases_add_request_package (SkCases *self,
                              const SkManifest *m,
                              const SkItem *item,
                              GBytes *signature,
                              gboolean new_case,
                              GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), FALSE);

  gint64 now = sk_journal_now (self->journal);
  if (new_case && !run_sql (self,
                            "INSERT INTO cases (id, workflow, state, created_us, updated_us) "
                            "VALUES (?1, ?2, 'imported', ?3, ?3)",
                            error, S (m->case_id), S (m->workflow), I (now), 0))
    return FALSE;
  g_autoptr (SkDbStmt) pkg = sk_db_prepare (
      self->db,
      "INSERT INTO packages (package_id, case_id, direction, state, item_id, signature, sha256, "
      "time_us) VALUES (?1, ?2, 'to-intermediate', 'imported', ?3, ?4, ?5, ?6)",
      error);
  if (pkg == NULL)
    return FALSE;
  gsize sig_len;
  const void *sig = g_bytes_get_data (signature, &sig_len);
  sk_db_stmt_bind_text (pkg, 1, m->package_id);
  sk_db_stmt_bind_text (pkg, 2, m->case_id);
  sk_db_stmt_bind_text (pkg, 3, item->id);
  sk_db_stmt_bind_blob (pkg, 4, sig, sig_len);
  sk_db_stmt_bind_text (pkg, 5, item->sha256);
  sk_db_stmt_bind_int64 (pkg, 6, now);
  if (!sk_db_stmt_run (pkg, error))
    return FALSE;
  for (guint i = 0; i < m->files->len; i++)
    {
      const SkManifestFile *f = g_ptr_array_index (m->files, i);
      if (!run_sql (self,
                    "INSERT INTO case_files (case_id, role, kind, name, size, sha256, records, "
                    "state, package_id, time_us) "
                    "VALUES (?1, 'request', ?2, ?3, ?4, ?5, ?6, 'staged', ?7, ?8)",
                    error, S (m->case_id), S (f->kind), S (f->name), I (f->size), S (f->sha256),
                    I (f->records), S (m->package_id), I (now), 0))
        return FALSE;
    }
  return sk_cases_set_state (self, m->case_id, "imported", error);
}

gboolean
sk_cases_add_result (SkCases *self,
                     const char *case_id,
                     const char *kind,
                     const SkItem *item,
                     gint64 uid,
                     const char *login,
                     GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), FALSE);

  return run_sql (self,
                  "INSERT INTO case_files (case_id, role, kind, name, size, sha256, records, "
                  "state, item_id, taken_uid, taken_login, time_us) "
                  "VALUES (?1, 'result', ?2, ?3, ?4, ?5, ?6, 'taken-in', ?7, ?8, ?9, ?10)",
                  error, S (case_id), S (kind), S (item->name), I (item->size), S (item->sha256),
                  I (item->records), S (item->id), I (uid), S (login),
                  I (sk_journal_now (self->journal)), 0) &&
         sk_cases_set_state (self, case_id, "results-in", error);
}

gboolean
sk_cases_add_handoff (SkCases *self,
                      const char *case_id,
                      gint64 file_id,
                      gint64 uid,
                      const char *path,
                      gint64 deadline_us,
                      GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), FALSE);

  return run_sql (self,
                  "INSERT INTO handoffs (path, case_id, file_id, uid, deadline_us) "
                  "VALUES (?1, ?2, ?3, ?4, ?5)",
                  error, S (path), S (case_id), I (file_id), I (uid), I (deadline_us), 0) &&
         run_sql (self, "UPDATE case_files SET state = 'handed-off' WHERE id = ?1", error,
                  I (file_id), 0);
}

/* The hand-offs that STMT selects as (uid, path, case_id). */
static gboolean
collect_handoffs (SkDbStmt *stmt, GPtrArray *out, GError **error)
{
  for (;;)
    {
      SkDbStep step = sk_db_stmt_step (stmt, error);
      if (step == SK_DB_STEP_ERROR)
        return FALSE;
      if (step == SK_DB_STEP_DONE)
        break;
      SkHandoffRecord *r = g_new0 (SkHandoffRecord, 1);
      r->uid = sk_db_stmt_column_int64 (stmt, 0);
      r->path = g_strdup (sk_db_stmt_column_text (stmt, 1));
      r->name = g_path_get_basename (r->path);
      r->case_id = g_strdup (sk_db_stmt_column_text (stmt, 2));
      g_ptr_array_add (out, r);
    }
  sk_db_stmt_reset (stmt);
  return TRUE;
}

gboolean
sk_cases_take_handoffs (SkCases *self, const char *case_id, GPtrArray *removed, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), FALSE);

  g_autoptr (SkDbStmt) stmt =
      sk_db_prepare (self->db, "SELECT uid, path, case_id FROM handoffs WHERE case_id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sk_db_stmt_bind_text (stmt, 1, case_id);
  return collect_handoffs (stmt, removed, error) &&
         run_sql (self, "DELETE FROM handoffs WHERE case_id = ?1", error, S (case_id), 0);
}

gboolean
sk_cases_handoff_recorded (
    SkCases *self, gint64 uid, const char *name, gboolean *out_recorded, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), FALSE);

  g_autoptr (SkDbStmt) stmt =
      sk_db_prepare (self->db, "SELECT uid, path, case_id FROM handoffs WHERE uid = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sk_db_stmt_bind_int64 (stmt, 1, uid);
  g_autoptr (GPtrArray) records = sk_handoff_records_new ();
  if (!collect_handoffs (stmt, records, error))
    return FALSE;
  *out_recorded = FALSE;
  for (guint i = 0; i < records->len; i++)
    if (g_str_equal (((SkHandoffRecord *)g_ptr_array_index (records, i))->name, name))
      *out_recorded = TRUE;
  return TRUE;
}

GPtrArray *
sk_cases_due_handoffs (SkCases *self, gint64 now, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), NULL);

  g_autoptr (SkDbStmt) stmt = sk_db_prepare (
      self->db, "SELECT uid, path, case_id FROM handoffs WHERE deadline_us <= ?1 ORDER BY path",
      error);
  if (stmt == NULL)
    return NULL;
  sk_db_stmt_bind_int64 (stmt, 1, now);
  g_autoptr (GPtrArray) due = sk_handoff_records_new ();
  if (!collect_handoffs (stmt, due, error))
    return NULL;
  return g_steal_pointer (&due);
}

gboolean
sk_cases_forget_handoff (SkCases *self, const char *path, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), FALSE);
  return run_sql (self, "DELETE FROM handoffs WHERE path = ?1", error, S (path), 0);
}

gboolean
sk_cases_mark_uploaded (SkCases *self, const char *case_id, gint64 now, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), FALSE);
  return run_sql (self,
                  "UPDATE case_files SET state = 'uploaded' WHERE case_id = ?1 AND role = "
                  "'request'",
                  error, S (case_id), 0) &&
         run_sql (self, "UPDATE cases SET uploaded_us = ?2 WHERE id = ?1", error, S (case_id),
                  I (now), 0) &&
         sk_cases_set_state (self, case_id, "uploaded", error);
}

gboolean
sk_cases_approve_file (SkCases *self, gint64 file_id, gint64 uid, const char *login, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), FALSE);
  return run_sql (self,
                  "UPDATE case_files SET state = 'approved', approved_uid = ?2, "
                  "approved_login = ?3 WHERE id = ?1",
                  error, I (file_id), I (uid), S (login), 0);
}

gboolean
sk_cases_begin_export (
    SkCases *self, const char *case_id, const char *package_id, GPtrArray *files, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), FALSE);

  if (!run_sql (self,
                "INSERT INTO packages (package_id, case_id, direction, state, time_us) "
                "VALUES (?1, ?2, 'to-standard', 'exporting', ?3)",
                error, S (package_id), S (case_id), I (sk_journal_now (self->journal)), 0))
    return FALSE;
  for (guint i = 0; i < files->len; i++)
    if (!run_sql (self, "UPDATE case_files SET package_id = ?2 WHERE id = ?1", error,
                  I (((SkCaseFile *)g_ptr_array_index (files, i))->id), S (package_id), 0))
      return FALSE;
  return TRUE;
}

gboolean
sk_cases_mark_exported (
    SkCases *self, const char *package_id, const char *sha256, gint64 now, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), FALSE);
  return run_sql (self,
                  "UPDATE packages SET state = 'exported', sha256 = ?2, time_us = ?3 "
                  "WHERE package_id = ?1",
                  error, S (package_id), S (sha256), I (now), 0) &&
         run_sql (self, "UPDATE case_files SET state = 'exported' WHERE package_id = ?1", error,
                  S (package_id), 0);
}

gboolean
sk_cases_set_closed (SkCases *self, const char *case_id, gint64 closed_us, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), FALSE);
  return run_sql (self, "UPDATE cases SET closed_us = ?2 WHERE id = ?1", error, S (case_id),
                  I (closed_us), 0);
}

gboolean
sk_cases_is_flagged (SkCases *self, const char *case_id, gboolean *out_flagged, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), FALSE);

  g_autoptr (SkDbStmt) stmt =
      sk_db_prepare (self->db, "SELECT flagged_us FROM cases WHERE id = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sk_db_stmt_bind_text (stmt, 1, case_id);
  if (sk_db_stmt_step (stmt, error) != SK_DB_STEP_ROW)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, SK_ERROR, SK_ERROR_CASE_UNKNOWN, _ ("the case is gone"));
      return FALSE;
    }
  *out_flagged = !sk_db_stmt_column_is_null (stmt, 0);
  return TRUE;
}

gboolean
sk_cases_flag (SkCases *self, const char *case_id, gint64 now, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), FALSE);
  return run_sql (self, "UPDATE cases SET flagged_us = ?2 WHERE id = ?1", error, S (case_id),
                  I (now), 0);
}

/* ---- downloads the sweep has seen -------------------------------------- */

gboolean
sk_cases_download_seen (SkCases *self,
                        gint64 uid,
                        const char *name,
                        gint64 inode,
                        gint64 now,
                        gint64 *out_first_seen,
                        GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), FALSE);

  g_autoptr (SkDbStmt) stmt = sk_db_prepare (
      self->db, "SELECT inode, first_seen_us FROM downloads WHERE uid = ?1 AND name = ?2", error);
  if (stmt == NULL)
    return FALSE;
  sk_db_stmt_bind_int64 (stmt, 1, uid);
  sk_db_stmt_bind_text (stmt, 2, name);
  SkDbStep step = sk_db_stmt_step (stmt, error);
  if (step == SK_DB_STEP_ERROR)
    return FALSE;
  gboolean known = step == SK_DB_STEP_ROW && sk_db_stmt_column_int64 (stmt, 0) == inode;
  *out_first_seen = known ? sk_db_stmt_column_int64 (stmt, 1) : now;
  sk_db_stmt_reset (stmt);
  return run_sql (self,
                  "INSERT INTO downloads (uid, name, inode, first_seen_us, seen_us) "
                  "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (uid, name) DO UPDATE SET "
                  "inode = excluded.inode, first_seen_us = excluded.first_seen_us, "
                  "seen_us = excluded.seen_us",
                  error, I (uid), S (name), I (inode), I (*out_first_seen), I (now), 0);
}

gboolean
sk_cases_forget_download (SkCases *self, gint64 uid, const char *name, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), FALSE);
  return run_sql (self, "DELETE FROM downloads WHERE uid = ?1 AND name = ?2", error, I (uid),
                  S (name), 0);
}

gboolean
sk_cases_forget_downloads_unseen (SkCases *self, gint64 before, GError **error)
{
  g_return_val_if_fail (SK_IS_CASES (self), FALSE);
  return run_sql (self, "DELETE FROM downloads WHERE seen_us < ?1", error, I (before), 0);
}
