/* sk-report.c — the JSON objects the command line and the service share */
#define G_LOG_DOMAIN "sekisho"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "sk-error.h"
#include "sk-journal.h"
#include "sk-report.h"
#include "sk-store.h"

/* The largest checkpoint file we read for the status. */
#define MAX_CHECKPOINT (64 * 1024)

static void
add_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_untrusted (JsonBuilder *b, const char *name, const char *value)
{
  g_autofree char *escaped = value != NULL ? sk_escape_untrusted (value) : NULL;
  add_string (b, name, escaped);
}

static void
add_int (JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

static void
add_bool (JsonBuilder *b, const char *name, gboolean value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_boolean_value (b, value);
}

static void
add_time (JsonBuilder *b, const char *name, gint64 time_us)
{
  g_autofree char *at = time_us > 0 ? sk_journal_format_time (time_us) : NULL;
  add_string (b, name, at);
}

static void
add_strv (JsonBuilder *b, const char *name, const char *const *values)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (const char *const *v = values; v != NULL && *v != NULL; v++)
    json_builder_add_string_value (b, *v);
  json_builder_end_array (b);
}

/* ---- cases --------------------------------------------------------------- */

GArray *
sk_report_case_deadlines (SkPolicy *policy, const SkCase *c, GPtrArray *items)
{
  g_return_val_if_fail (SK_IS_POLICY (policy), NULL);
  g_return_val_if_fail (c != NULL, NULL);

  const SkRetention *r = sk_policy_get_retention (policy);
  GArray *out = g_array_new (FALSE, FALSE, sizeof (SkDeadline));
  gboolean has_result = FALSE;
  for (guint i = 0; i < c->files->len; i++)
    has_result =
        has_result || g_str_equal (((SkCaseFile *)g_ptr_array_index (c->files, i))->role, "result");
  if (c->closed_us == 0 && !has_result && !g_str_equal (c->state, "interrupted"))
    {
      gint64 since = c->uploaded_us != 0 ? c->uploaded_us : c->created_us;
      SkDeadline d = { "results-due", NULL, since + r->no_result_days * 86400 * G_USEC_PER_SEC };
      g_array_append_val (out, d);
    }
  /* As recorded with the hand-off: later steps move updated_us. */
  if (c->handoff_deadline_us > 0)
    {
      SkDeadline d = { "upload-plaintext", NULL, c->handoff_deadline_us };
      g_array_append_val (out, d);
    }
  for (guint i = 0; items != NULL && i < items->len; i++)
    {
      const SkItem *item = g_ptr_array_index (items, i);
      if (g_strcmp0 (item->case_id, c->id) != 0 || item->deadline_us <= 0)
        continue;
      gboolean package = g_str_equal (item->kind, "package");
      SkDeadline d = { package ? "stored-package" : "stored-result", package ? NULL : item->kind,
                       item->deadline_us };
      g_array_append_val (out, d);
    }
  return out;
}

void
sk_report_add_case (JsonBuilder *b, const SkCase *c, GArray *deadlines, gint64 now_us)
{
  g_return_if_fail (JSON_IS_BUILDER (b));
  g_return_if_fail (c != NULL);

  json_builder_begin_object (b);
  add_untrusted (b, "id", c->id);
  add_string (b, "workflow", c->workflow);
  add_string (b, "state", c->state);
  add_bool (b, "overdue", c->overdue);
  add_time (b, "created", c->created_us);
  json_builder_set_member_name (b, "files");
  json_builder_begin_array (b);
  for (guint i = 0; i < c->files->len; i++)
    {
      const SkCaseFile *f = g_ptr_array_index (c->files, i);
      json_builder_begin_object (b);
      add_string (b, "role", f->role);
      add_untrusted (b, "name", f->name);
      add_string (b, "kind", f->kind);
      add_string (b, "state", f->state);
      add_int (b, "size", (gint64)f->size);
      add_int (b, "records", f->records);
      add_string (b, "sha256", f->sha256);
      add_bool (b, "needs_approval", f->needs_approval);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "deadlines");
  json_builder_begin_array (b);
  for (guint i = 0; deadlines != NULL && i < deadlines->len; i++)
    {
      const SkDeadline *d = &g_array_index (deadlines, SkDeadline, i);
      json_builder_begin_object (b);
      add_string (b, "what", d->what);
      if (d->kind != NULL)
        add_string (b, "kind", d->kind);
      add_time (b, "deadline", d->at_us);
      add_int (b, "seconds_left", (d->at_us - now_us) / G_USEC_PER_SEC);
      add_bool (b, "overdue", d->at_us <= now_us);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

char *
sk_report_case_json (SkPipeline *pipeline, const SkCase *c, GError **error)
{
  g_return_val_if_fail (SK_IS_PIPELINE (pipeline), NULL);
  g_return_val_if_fail (c != NULL, NULL);

  g_autoptr (GPtrArray) items = sk_store_list (sk_pipeline_get_store (pipeline), error);
  if (items == NULL)
    return NULL;
  g_autoptr (GArray) deadlines =
      sk_report_case_deadlines (sk_pipeline_get_policy (pipeline), c, items);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  sk_report_add_case (b, c, deadlines, g_get_real_time ());
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

gboolean
sk_report_read_cases (SkStation *station,
                      SkPolicy *policy,
                      const char *case_id,
                      GPtrArray **out_cases,
                      GPtrArray **out_items,
                      GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (station), FALSE);
  g_return_val_if_fail (SK_IS_POLICY (policy), FALSE);

  g_autoptr (SkJournal) journal = sk_station_open_journal (station, TRUE, error);
  if (journal == NULL)
    return FALSE;
  g_autoptr (SkCases) cases = sk_cases_new (journal, policy);
  g_autoptr (GPtrArray) list = NULL;
  if (case_id != NULL)
    {
      SkCase *c = sk_cases_get (cases, case_id, error);
      if (c == NULL)
        return FALSE;
      list = g_ptr_array_new_with_free_func ((GDestroyNotify)sk_case_free);
      g_ptr_array_add (list, c);
    }
  else if ((list = sk_cases_list (cases, error)) == NULL)
    return FALSE;
  g_autoptr (GPtrArray) items = sk_store_list_db (sk_journal_get_db (journal), error);
  if (items == NULL)
    return FALSE;
  *out_cases = g_steal_pointer (&list);
  *out_items = g_steal_pointer (&items);
  return TRUE;
}

/* ---- keys ---------------------------------------------------------------- */

void
sk_report_key_roles (SkStation *station, SkPolicy *policy, const char *fpr, GPtrArray *roles)
{
  g_return_if_fail (SK_IS_STATION (station));
  g_return_if_fail (fpr != NULL && roles != NULL);

  if (g_strcmp0 (sk_station_get_signing_key (station), fpr) == 0)
    g_ptr_array_add (roles, (gpointer) "station");
  if (g_strv_contains ((const char *const *)sk_station_get_admin_keys (station), fpr) ||
      (policy != NULL && g_strv_contains ((const char *const *)sk_policy_get_admins (policy), fpr)))
    g_ptr_array_add (roles, (gpointer) "admin");
  for (int d = 0; policy != NULL && d < 2; d++)
    {
      SkDirection dir = d == 0 ? SK_DIRECTION_TO_INTERMEDIATE : SK_DIRECTION_TO_STANDARD;
      if (g_strv_contains ((const char *const *)sk_policy_get_signers (policy, dir), fpr))
        g_ptr_array_add (roles,
                         (gpointer)(d == 0 ? "to-intermediate signer" : "to-standard signer"));
      if (g_strcmp0 (sk_policy_get_recipient (policy, dir), fpr) == 0)
        g_ptr_array_add (
            roles, (gpointer)(d == 0 ? "to-intermediate recipient" : "to-standard recipient"));
    }
}

/* Expiry of a key as every object that names one carries it. */
static void
add_expiry (JsonBuilder *b, const SkKeyInfo *k)
{
  add_time (b, "expires", k != NULL && k->expires > 0 ? k->expires * G_USEC_PER_SEC : 0);
  add_bool (b, "expired", k != NULL && k->expired);
  add_bool (b, "revoked", k != NULL && k->revoked);
}

gboolean
sk_report_add_keys (JsonBuilder *b, SkStation *station, SkPolicy *policy, GError **error)
{
  g_return_val_if_fail (JSON_IS_BUILDER (b), FALSE);
  g_return_val_if_fail (SK_IS_STATION (station), FALSE);

  g_autoptr (GPtrArray) keys = sk_keyring_list_keys (sk_station_get_keyring (station), error);
  if (keys == NULL)
    return FALSE;
  json_builder_set_member_name (b, "keys");
  json_builder_begin_array (b);
  for (guint i = 0; i < keys->len; i++)
    {
      const SkKeyInfo *k = g_ptr_array_index (keys, i);
      g_autoptr (GPtrArray) roles = g_ptr_array_new ();
      sk_report_key_roles (station, policy, k->fpr, roles);
      g_ptr_array_add (roles, NULL);
      json_builder_begin_object (b);
      add_string (b, "fingerprint", k->fpr);
      add_untrusted (b, "uid", k->uid);
      add_string (b, "algorithm", k->algo);
      add_expiry (b, k);
      add_bool (b, "secret", k->has_secret);
      add_strv (b, "roles", (const char *const *)roles->pdata);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  return TRUE;
}

/* ---- the policy ---------------------------------------------------------- */

static const SkKeyInfo *
find_key (GPtrArray *keys, const char *fpr)
{
  for (guint i = 0; keys != NULL && i < keys->len; i++)
    {
      const SkKeyInfo *k = g_ptr_array_index (keys, i);
      if (g_strcmp0 (k->fpr, fpr) == 0)
        return k;
    }
  return NULL;
}

/* One key the policy names, once, with what the policy names it for. */
static void
add_policy_key (JsonBuilder *b, GHashTable *seen, GPtrArray *keys, const char *fpr, const char *as)
{
  if (fpr == NULL || !g_hash_table_add (seen, g_strdup_printf ("%s %s", fpr, as)))
    return;
  const SkKeyInfo *k = find_key (keys, fpr);
  json_builder_begin_object (b);
  add_string (b, "fingerprint", fpr);
  add_string (b, "as", as);
  add_bool (b, "in_keyring", k != NULL);
  add_expiry (b, k);
  json_builder_end_object (b);
}

void
sk_report_add_policy (JsonBuilder *b, SkPolicy *policy, GPtrArray *keys)
{
  g_return_if_fail (JSON_IS_BUILDER (b));
  g_return_if_fail (SK_IS_POLICY (policy));

  json_builder_begin_object (b);
  add_string (b, "sha256", sk_policy_get_sha256 (policy));
  add_int (b, "serial", sk_policy_get_serial (policy));
  add_string (b, "signer", sk_policy_get_signer (policy));
  add_string (b, "admin_successor", sk_policy_get_admin_successor (policy));
  add_strv (b, "admins", sk_policy_get_admins (policy));

  GPtrArray *kinds = sk_policy_get_kinds (policy);
  g_autoptr (GPtrArray) dual = g_ptr_array_new ();
  json_builder_set_member_name (b, "kinds");
  json_builder_begin_array (b);
  for (guint i = 0; i < kinds->len; i++)
    {
      const SkKind *k = g_ptr_array_index (kinds, i);
      gboolean needs_two = sk_policy_needs_dual_control (policy, sk_kind_get_id (k));
      if (needs_two)
        g_ptr_array_add (dual, (gpointer)sk_kind_get_id (k));
      json_builder_begin_object (b);
      add_string (b, "id", sk_kind_get_id (k));
      add_string (b, "title", sk_kind_get_title (k));
      add_string (b, "direction", sk_direction_to_string (sk_kind_get_direction (k)));
      add_string (b, "workflow", sk_kind_get_workflow (k));
      add_string (b, "profile", sk_kind_get_profile (k) == SK_PROFILE_P1 ? "P1" : "P2");
      add_bool (b, "dual_control", needs_two);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  g_ptr_array_add (dual, NULL);
  add_strv (b, "dual_control", (const char *const *)dual->pdata);

  json_builder_set_member_name (b, "caps");
  json_builder_begin_object (b);
  add_int (b, "max_files", sk_policy_get_max_files (policy));
  add_int (b, "max_package_size", (gint64)sk_policy_get_max_package_size (policy));
  add_int (b, "max_line_length", sk_policy_get_max_line_length (policy));
  add_int (b, "max_findings", sk_policy_get_max_findings (policy));
  json_builder_end_object (b);

  const SkRetention *r = sk_policy_get_retention (policy);
  json_builder_set_member_name (b, "retention");
  json_builder_begin_object (b);
  add_int (b, "upload_minutes", r->upload_minutes);
  add_int (b, "download_minutes", r->download_minutes);
  add_int (b, "staged_days_after_close", r->staged_days_after_close);
  add_int (b, "inquiry_result_days", r->inquiry_result_days);
  add_int (b, "no_result_days", r->no_result_days);
  add_int (b, "journal_years", r->journal_years);
  json_builder_end_object (b);

  g_auto (GStrv) allowed = sk_policy_dup_inquiry_allow_list (policy);
  add_strv (b, "inquiry_allow_list", (const char *const *)allowed);

  json_builder_set_member_name (b, "media");
  json_builder_begin_object (b);
  add_bool (b, "usb_storage", sk_policy_media_class_allowed (policy, "usb-storage"));
  add_bool (b, "optical", sk_policy_media_class_allowed (policy, "optical"));
  add_bool (b, "import_needs_registered", sk_policy_media_import_needs_registered (policy));
  json_builder_end_object (b);

  /* Every key the policy names, with the expiry the keyring knows. */
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  json_builder_set_member_name (b, "keys");
  json_builder_begin_array (b);
  for (const char *const *a = sk_policy_get_admins (policy); a != NULL && *a != NULL; a++)
    add_policy_key (b, seen, keys, *a, "admin");
  add_policy_key (b, seen, keys, sk_policy_get_admin_successor (policy), "admin-successor");
  for (int d = 0; d < 2; d++)
    {
      SkDirection dir = d == 0 ? SK_DIRECTION_TO_INTERMEDIATE : SK_DIRECTION_TO_STANDARD;
      for (const char *const *s = sk_policy_get_signers (policy, dir); s != NULL && *s != NULL; s++)
        add_policy_key (b, seen, keys, *s,
                        d == 0 ? "to-intermediate signer" : "to-standard signer");
      add_policy_key (b, seen, keys, sk_policy_get_recipient (policy, dir),
                      d == 0 ? "to-intermediate recipient" : "to-standard recipient");
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

/* ---- the station's status ------------------------------------------------ */

static void
add_problem (GPtrArray *problems, const GError *error)
{
  g_autofree char *safe = sk_escape_untrusted (error->message);
  g_ptr_array_add (problems, g_strdup_printf ("%s [%s]", safe, sk_error_get_reason (error)));
}

/* The sequence number of the newest checkpoint, or -1 (a problem when it
 * exists but cannot be read). */
static gint64
newest_checkpoint (SkStation *station, GPtrArray *problems)
{
  g_autofree char *path = sk_station_latest_checkpoint (station);
  if (path == NULL)
    return -1;
  g_autofree char *contents = NULL;
  gsize len = 0;
  gint64 seq = -1;
  if (!g_file_get_contents (path, &contents, &len, NULL) || len > MAX_CHECKPOINT)
    {
      g_ptr_array_add (problems, g_strdup (_ ("the newest checkpoint cannot be read")));
      return -1;
    }
  g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&contents), len);
  if (!sk_checkpoint_parse (bytes, &seq, NULL, NULL, NULL, NULL))
    {
      g_ptr_array_add (problems, g_strdup (_ ("the newest checkpoint cannot be read")));
      return -1;
    }
  return seq;
}

JsonNode *
sk_report_station_status (SkStation *station,
                          SkPolicy *policy,
                          SkPipeline *pipeline,
                          const GError *pipeline_error,
                          GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (station), NULL);

  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  const char *name = sk_station_get_name (station);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "station");
  json_builder_begin_object (b);
  add_untrusted (b, "name", name != NULL ? name : "");
  add_untrusted (b, "dir", sk_station_get_dir (station));
  add_string (b, "signing_key", sk_station_get_signing_key (station));
  json_builder_end_object (b);

  json_builder_set_member_name (b, "policy");
  if (policy != NULL)
    {
      json_builder_begin_object (b);
      add_int (b, "serial", sk_policy_get_serial (policy));
      add_string (b, "sha256", sk_policy_get_sha256 (policy));
      json_builder_end_object (b);
    }
  else
    json_builder_add_null_value (b);

  if (!sk_report_add_keys (b, station, policy, error))
    return NULL;

  g_autoptr (SkJournal) journal = sk_station_open_journal (station, TRUE, error);
  if (journal == NULL)
    return NULL;
  gint64 head_seq = 0;
  g_autofree char *head = NULL;
  if (!sk_journal_head (journal, &head_seq, &head, error))
    return NULL;
  gint64 cp_seq = newest_checkpoint (station, problems);
  json_builder_set_member_name (b, "journal");
  json_builder_begin_object (b);
  add_int (b, "head_seq", head_seq);
  add_string (b, "head_hash", head);
  json_builder_set_member_name (b, "checkpoint_seq");
  if (cp_seq >= 0)
    json_builder_add_int_value (b, cp_seq);
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);

  /* The store and the cases through the pipeline when there is one, else
   * read as they stand (without a policy, the store alone). */
  if (pipeline_error != NULL)
    add_problem (problems, pipeline_error);
  g_autoptr (GPtrArray) items = NULL;
  g_autoptr (GPtrArray) cases = NULL;
  if (pipeline != NULL)
    {
      items = sk_store_list (sk_pipeline_get_store (pipeline), error);
      cases = items != NULL ? sk_pipeline_list_cases (pipeline, NULL) : NULL;
    }
  else if (policy != NULL)
    {
      if (!sk_report_read_cases (station, policy, NULL, &cases, &items, error))
        return NULL;
    }
  else
    items = sk_store_list_db (sk_journal_get_db (journal), error);
  if (items == NULL)
    return NULL;
  gint64 next = 0;
  for (guint i = 0; i < items->len; i++)
    {
      const SkItem *item = g_ptr_array_index (items, i);
      if (item->deadline_us > 0 && (next == 0 || item->deadline_us < next))
        next = item->deadline_us;
    }
  json_builder_set_member_name (b, "store");
  json_builder_begin_object (b);
  add_int (b, "items", items->len);
  add_time (b, "next_deadline", next);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "handed_off");
  json_builder_begin_array (b);
  gint64 now = g_get_real_time ();
  for (guint i = 0; cases != NULL && i < cases->len; i++)
    {
      const SkCase *c = g_ptr_array_index (cases, i);
      /* As recorded with the hand-off: later steps move updated_us. */
      if (c->handoff_deadline_us <= 0)
        continue;
      gint64 deadline = c->handoff_deadline_us;
      json_builder_begin_object (b);
      add_untrusted (b, "case", c->id);
      add_time (b, "deadline", deadline);
      add_int (b, "seconds_left", (deadline - now) / G_USEC_PER_SEC);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  g_ptr_array_add (problems, NULL);
  add_strv (b, "problems", (const char *const *)problems->pdata);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

/* ---- media --------------------------------------------------------------- */

void
sk_report_add_medium_record (JsonBuilder *b, const SkMediumRecord *r)
{
  g_return_if_fail (JSON_IS_BUILDER (b));
  g_return_if_fail (r != NULL);

  json_builder_begin_object (b);
  add_untrusted (b, "number", r->number);
  add_string (b, "kind", r->kind);
  add_untrusted (b, "vendor", r->vendor);
  add_untrusted (b, "model", r->model);
  add_untrusted (b, "serial", r->serial);
  add_untrusted (b, "label", r->label);
  add_string (b, "state", r->state);
  add_time (b, "registered", r->registered_us);
  add_untrusted (b, "registered_by", r->registered_by);
  json_builder_end_object (b);
}

void
sk_report_add_medium (JsonBuilder *b, const SkMedium *m, GPtrArray *records)
{
  g_return_if_fail (JSON_IS_BUILDER (b));
  g_return_if_fail (m != NULL);

  const char *label = NULL;
  for (guint i = 0; m->number != NULL && records != NULL && i < records->len; i++)
    {
      const SkMediumRecord *r = g_ptr_array_index (records, i);
      if (g_str_equal (r->number, m->number) && g_strcmp0 (r->state, "registered") == 0)
        label = r->label;
    }
  g_autofree char *identity = sk_block_device_describe (m->disk);
  json_builder_begin_object (b);
  add_string (b, "id", m->id);
  add_string (b, "class", sk_medium_class_to_string (m->klass));
  add_string (b, "device", identity);
  add_untrusted (b, "vendor", m->disk->vendor);
  add_untrusted (b, "model", m->disk->model);
  add_untrusted (b, "serial", m->disk->serial);
  add_int (b, "size", (gint64)m->disk->size);
  add_bool (b, "registered", m->number != NULL);
  add_untrusted (b, "number", m->number);
  add_untrusted (b, "label", label);
  add_string (b, "refused", m->refused_reason);
  json_builder_end_object (b);
}

JsonNode *
sk_report_medium_import (SkPipeline *pipeline, GPtrArray *results, GError **error)
{
  g_return_val_if_fail (SK_IS_PIPELINE (pipeline), NULL);
  g_return_val_if_fail (results != NULL, NULL);

  g_autoptr (GPtrArray) items = sk_store_list (sk_pipeline_get_store (pipeline), error);
  if (items == NULL)
    return NULL;
  gint64 now = g_get_real_time ();
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "packages");
  json_builder_begin_array (b);
  for (guint i = 0; i < results->len; i++)
    {
      const SkMediumImport *r = g_ptr_array_index (results, i);
      json_builder_begin_object (b);
      add_untrusted (b, "name", r->name);
      add_string (b, "reason", r->reason);
      add_untrusted (b, "message", r->message);
      json_builder_set_member_name (b, "case");
      g_autoptr (SkCase) c =
          r->case_id != NULL ? sk_pipeline_get_case (pipeline, r->case_id, NULL) : NULL;
      if (c != NULL)
        {
          g_autoptr (GArray) deadlines =
              sk_report_case_deadlines (sk_pipeline_get_policy (pipeline), c, items);
          sk_report_add_case (b, c, deadlines, now);
        }
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

JsonNode *
sk_report_medium_export (const char *package, const SkMedium *m)
{
  g_return_val_if_fail (package != NULL && m != NULL, NULL);

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_untrusted (b, "package", package);
  add_string (b, "medium", m->id);
  add_untrusted (b, "number", m->number);
  /* Only an export read back identical returns at all. */
  add_string (b, "readback", "match");
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
