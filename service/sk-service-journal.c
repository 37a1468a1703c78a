/* sk-service-journal.c — sekishod's Journal methods: the auditor's
 *
 * Show (filtered, bounded), Verify (a job: the chain and the newest
 * checkpoint), Export (a job: the CSV record and the checkpoint that covers
 * exactly its rows), VerifyCheckpoint (one kept off the station) and
 * Checkpoint.  Each takes the station lock for the core call, as the other
 * methods do (sk-service-methods.c).
 */
#define G_LOG_DOMAIN "sekisho-service"

#include "config.h"

#include <gio/gunixfdlist.h>
#include <gio/gunixoutputstream.h>
#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-journal-csv.h"
#include "sk-service-call.h"
#include "sk-service-private.h"

static char *
run_verify (gpointer data, SkProgress *progress, GCancellable *cancellable, GError **error)
{
  JobData *d = data;
  gint64 entries = 0, bad = 0, cp_seq = -1;
  g_mutex_lock (&d->service->lock);
  g_autoptr (SkJournal) journal = sk_station_open_journal (d->service->station, TRUE, error);
  /* Then the newest checkpoint, as in-process: the chain alone cannot tell
   * a journal cut short, a signed head can. */
  gboolean ok =
      journal != NULL &&
      sk_journal_verify_with_progress (journal, &entries, &bad, progress, cancellable, error) &&
      sk_station_check_latest_checkpoint (d->service->station, journal, &cp_seq, error);
  g_mutex_unlock (&d->service->lock);
  if (!ok)
    return NULL;
  if (cp_seq < 0)
    return g_strdup_printf ("{\"entries\":%" G_GINT64_FORMAT ",\"checkpoint_seq\":null}", entries);
  return g_strdup_printf ("{\"entries\":%" G_GINT64_FORMAT ",\"checkpoint_seq\":%" G_GINT64_FORMAT
                          "}",
                          entries, cp_seq);
}

/* The zone of Journal.Export's local-time column when the caller names
 * none: the unions are in Japan. */
#define EXPORT_DEFAULT_ZONE "Asia/Tokyo"

/* A zone the caller names is a tz database name ("Asia/Tokyo"), a fixed
 * offset ("+09:00") or a POSIX TZ rule ("JST-9"): never a path, so no file
 * outside the zone database is opened for it. */
static GTimeZone *
caller_zone (const char *name, GError **error)
{
  gsize len = strlen (name);
  gboolean ok = len > 0 && len <= 64 && name[0] != '/' && name[0] != ':' && name[0] != '.' &&
                strstr (name, "..") == NULL;
  for (gsize i = 0; ok && i < len; i++)
    ok = g_ascii_isalnum (name[i]) || strchr ("/_+-:.,<>", name[i]) != NULL;
  GTimeZone *zone = ok ? g_time_zone_new_identifier (name) : NULL;
  if (zone == NULL)
    {
      g_autofree char *safe = sk_escape_untrusted (name);
      g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                   _ ("“%s” is not a time zone (a name such as Asia/Tokyo, or an offset such "
                      "as +09:00)"),
                   safe);
    }
  return zone;
}

/* The CSV of rows 1 … N, N being the seq of the checkpoint that goes with
 * it (the newest, when only checkpoints came after it, else a new one by
 * the caller): the checkpoint and its signature come back in the result,
 * so the two cover exactly the same rows.  D->arg: "ja" or "en"; D->arg2:
 * the zone. */
static char *
run_journal_export (gpointer data, SkProgress *progress, GCancellable *cancellable, GError **error)
{
  JobData *d = data;
  SkService *self = d->service;
  gint64 seq = -1, rows = 0;
  g_autoptr (GOutputStream) out = g_unix_output_stream_new (d->fd, FALSE);
  g_autoptr (GTimeZone) zone = caller_zone (d->arg2, error);
  if (zone == NULL)
    return NULL;
  gboolean ja = g_str_equal (d->arg, "ja");
  g_autoptr (GBytes) cp = NULL, sig = NULL;

  g_mutex_lock (&self->lock);
  g_autoptr (SkJournal) journal = sk_station_open_journal (self->station, FALSE, error);
  g_autofree char *cp_path =
      journal != NULL
          ? sk_station_checkpoint_for_export (self->station, journal, d->actor, &seq, error)
          : NULL;
  /* The rows up to the checkpoint never change: they are read from a
   * read-only connection of their own, and nobody waits for the lock
   * while they are written out. */
  g_autoptr (SkJournal) reader =
      cp_path != NULL && sk_station_read_checkpoint (cp_path, &cp, &sig, error)
          ? sk_station_open_journal (self->station, TRUE, error)
          : NULL;
  g_mutex_unlock (&self->lock);
  if (reader == NULL ||
      !sk_journal_csv_export_with_progress (reader, seq,
                                            ja ? SK_JOURNAL_CSV_JAPANESE : SK_JOURNAL_CSV_ENGLISH,
                                            zone, out, &rows, progress, cancellable, error) ||
      !g_output_stream_close (out, cancellable, error))
    return NULL;

  g_autofree char *name = g_path_get_basename (cp_path);
  g_autofree char *cp_text = g_strndup (g_bytes_get_data (cp, NULL), g_bytes_get_size (cp));
  g_autofree char *sig64 = g_base64_encode (g_bytes_get_data (sig, NULL), g_bytes_get_size (sig));
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "rows");
  json_builder_add_int_value (b, rows);
  json_builder_set_member_name (b, "seq");
  json_builder_add_int_value (b, seq);
  _sk_service_add_string (b, "headers", ja ? "ja" : "en");
  _sk_service_add_string (b, "zone", d->arg2);
  _sk_service_add_string (b, "file", name);
  _sk_service_add_string (b, "checkpoint", cp_text);
  _sk_service_add_string (b, "signature_base64", sig64);
  json_builder_end_object (b);
  return _sk_service_json_text (b);
}

/* ---- Journal ------------------------------------------------------------- */

static gboolean
parse_time (const char *text, gint64 *out, GError **error)
{
  g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (text, utc);
  if (dt == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_USAGE, _ ("a time is not ISO 8601"));
      return FALSE;
    }
  *out = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
  return TRUE;
}

/* A misspelt event or reason is a usage error, not "no entries": an event
 * this program journals or one the journal holds (a newer program's), a
 * reason code of §8a. */
static gboolean
known_names (SkJournal *journal, const SkJournalFilter *filter, GError **error)
{
  /* One this program journals answers at once; only another one costs a
   * look through the journal. */
  if (filter->event != NULL && !g_strv_contains (sk_journal_known_events (), filter->event))
    {
      g_autoptr (GPtrArray) events = sk_journal_list_events (journal, error);
      if (events == NULL)
        return FALSE;
      g_ptr_array_add (events, NULL);
      if (!g_strv_contains ((const char *const *)events->pdata, filter->event))
        {
          g_autofree char *safe = sk_escape_untrusted (filter->event);
          g_set_error (error, SK_ERROR, SK_ERROR_USAGE, _ ("there is no event “%s”"), safe);
          return FALSE;
        }
    }
  if (filter->reason != NULL && !sk_error_code_from_reason (filter->reason, NULL))
    {
      g_autofree char *safe = sk_escape_untrusted (filter->reason);
      g_set_error (error, SK_ERROR, SK_ERROR_USAGE, _ ("there is no reason code “%s”"), safe);
      return FALSE;
    }
  return TRUE;
}

#define JOURNAL_SHOW_DEFAULT 1000
#define JOURNAL_SHOW_MAX 10000

static gboolean
on_journal_show (SkDbusJournal *skeleton,
                 GDBusMethodInvocation *invocation,
                 GVariant *filter_v,
                 gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  SkJournalFilter filter = { 0 };
  const char *since = NULL, *until = NULL;
  g_variant_lookup (filter_v, "since", "&s", &since);
  g_variant_lookup (filter_v, "until", "&s", &until);
  g_variant_lookup (filter_v, "event", "&s", &filter.event);
  g_variant_lookup (filter_v, "reason", "&s", &filter.reason);
  g_variant_lookup (filter_v, "case", "&s", &filter.case_id);
  /* One answer holds at most the newest JOURNAL_SHOW_MAX rows that pass:
   * the journal grows without end, the service's memory must not. */
  const char *limit = NULL;
  guint64 n = JOURNAL_SHOW_DEFAULT;
  g_variant_lookup (filter_v, "limit", "&s", &limit);
  if (limit != NULL && !g_ascii_string_to_unsigned (limit, 10, 1, JOURNAL_SHOW_MAX, &n, NULL))
    g_set_error (&error, SK_ERROR, SK_ERROR_USAGE, _ ("limit must be a number from 1 to %d"),
                 JOURNAL_SHOW_MAX);
  filter.last = (gint64)n;
  if (error != NULL || (since != NULL && !parse_time (since, &filter.since_us, &error)) ||
      (until != NULL && !parse_time (until, &filter.until_us, &error)))
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  g_mutex_lock (&self->lock);
  g_autoptr (SkJournal) journal = sk_station_open_journal (self->station, TRUE, &error);
  g_autoptr (GPtrArray) rows = journal != NULL && known_names (journal, &filter, &error)
                                   ? sk_journal_query (journal, &filter, &error)
                                   : NULL;
  g_mutex_unlock (&self->lock);
  if (rows == NULL)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "entries");
  json_builder_begin_array (b);
  for (guint i = 0; i < rows->len; i++)
    {
      const SkJournalRow *r = g_ptr_array_index (rows, i);
      g_autofree char *time = sk_journal_format_time (r->time_us);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "seq");
      json_builder_add_int_value (b, r->seq);
      json_builder_set_member_name (b, "uid");
      if (r->uid >= 0)
        json_builder_add_int_value (b, r->uid);
      else
        json_builder_add_null_value (b);
      _sk_service_add_string (b, "time", time);
      _sk_service_add_string (b, "event", r->event);
      _sk_service_add_string (b, "outcome", r->outcome);
      _sk_service_add_string (b, "reason", r->reason);
      _sk_service_add_untrusted (b, "login", r->login);
      _sk_service_add_string (b, "role", r->role);
      _sk_service_add_untrusted (b, "station", r->station);
      _sk_service_add_untrusted (b, "case", r->case_id);
      _sk_service_add_string (b, "package", r->package_id);
      _sk_service_add_untrusted (b, "device", r->device);
      _sk_service_add_string (b, "details", r->details);
      _sk_service_add_string (b, "entry_hash", r->entry_hash);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autofree char *text = _sk_service_json_text (b);
  sk_dbus_journal_complete_show (skeleton, invocation, text);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_journal_verify (SkDbusJournal *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  _sk_service_start_job (SK_SERVICE (user_data), invocation, run_verify, NULL, NULL, -1);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_journal_export (SkDbusJournal *skeleton,
                   GDBusMethodInvocation *invocation,
                   GUnixFDList *fd_list,
                   GVariant *out,
                   GVariant *options,
                   gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  /* Every option known and of its type: a misspelt one is not ignored.
   * There are no filters: a record verifies off the station only whole,
   * from seq 1 (`journal show` filters). */
  GVariantIter iter;
  const char *key;
  g_variant_iter_init (&iter, options);
  while (error == NULL && g_variant_iter_next (&iter, "{&sv}", &key, NULL))
    {
      g_autoptr (GVariant) value = g_variant_lookup_value (options, key, G_VARIANT_TYPE_STRING);
      const char *text = value != NULL ? g_variant_get_string (value, NULL) : NULL;
      if (text == NULL ||
          !(g_str_equal (key, "zone") || (g_str_equal (key, "headers") &&
                                          (g_str_equal (text, "ja") || g_str_equal (text, "en")))))
        {
          g_autofree char *safe = sk_escape_untrusted (key);
          g_set_error (&error, SK_ERROR, SK_ERROR_USAGE,
                       _ ("Journal.Export takes the options headers (“ja” or “en”) and zone "
                          "(a string), not “%s” as given"),
                       safe);
        }
    }
  const char *headers = "en", *zone = EXPORT_DEFAULT_ZONE;
  g_variant_lookup (options, "headers", "&s", &headers);
  g_variant_lookup (options, "zone", "&s", &zone);
  /* A zone that does not exist is refused now, before any job starts. */
  GTimeZone *checked = error == NULL ? caller_zone (zone, &error) : NULL;
  if (checked != NULL)
    g_time_zone_unref (checked);
  int fd = error == NULL ? _sk_service_take_fd (invocation, out, &error) : -1;
  if (fd < 0)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  _sk_service_start_job (SK_SERVICE (user_data), invocation, run_journal_export, headers, zone, fd);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Under the lock: the chain, then CP and SIG as this station's checkpoint.
 * FALSE only when the journal could not be read. */
static gboolean
judge_checkpoint_locked (SkService *self, GBytes *cp, GBytes *sig, JsonBuilder *b, GError **error)
{
  g_autoptr (SkJournal) journal = sk_station_open_journal (self->station, TRUE, error);
  if (journal == NULL)
    return FALSE;
  gint64 entries = 0, bad_seq = 0, seq = -1;
  SkCheckpointVerdict verdict = SK_CHECKPOINT_MALFORMED;
  const char *verdict_name;
  g_autoptr (GError) finding = NULL;
  if (!sk_journal_verify (journal, &entries, &bad_seq, NULL, &finding) && bad_seq == 0)
    {
      g_propagate_error (error, g_steal_pointer (&finding));
      return FALSE;
    }
  if (finding != NULL)
    verdict_name = "chain-broken";
  else if (cp == NULL)
    {
      g_set_error (&finding, SK_ERROR, SK_ERROR_JOURNAL_INVALID,
                   _ ("the checkpoint file is larger than %d bytes"), SK_CHECKPOINT_MAX_SIZE);
      verdict_name = sk_checkpoint_verdict_to_string (SK_CHECKPOINT_MALFORMED);
    }
  else if (sig == NULL)
    {
      g_set_error (&finding, SK_ERROR, SK_ERROR_SIG_BAD,
                   _ ("the signature file is larger than %d bytes"), SK_CHECKPOINT_MAX_SIZE);
      verdict_name = sk_checkpoint_verdict_to_string (SK_CHECKPOINT_SIGNATURE);
    }
  else if (!sk_station_judge_checkpoint (self->station, journal, cp, sig, &seq, &verdict, &finding))
    {
      /* Not a finding about the checkpoint: the journal could not be read. */
      if (verdict == SK_CHECKPOINT_MATCHES)
        {
          g_propagate_error (error, g_steal_pointer (&finding));
          return FALSE;
        }
      verdict_name = sk_checkpoint_verdict_to_string (verdict);
    }
  else
    verdict_name = sk_checkpoint_verdict_to_string (SK_CHECKPOINT_MATCHES);

  g_autofree char *message =
      finding != NULL
          ? g_strdup (finding->message)
          : g_strdup_printf (_ ("The journal verifies and still holds checkpoint %lld."),
                             (long long)seq);
  json_builder_begin_object (b);
  _sk_service_add_string (b, "verdict", verdict_name);
  json_builder_set_member_name (b, "ok");
  json_builder_add_boolean_value (b, finding == NULL);
  _sk_service_add_string (
      b, "reason", finding != NULL ? sk_error_code_to_reason ((SkErrorCode)finding->code) : NULL);
  json_builder_set_member_name (b, "seq");
  if (seq >= 0)
    json_builder_add_int_value (b, seq);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "first_bad_seq");
  if (bad_seq > 0)
    json_builder_add_int_value (b, bad_seq);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "entries");
  json_builder_add_int_value (b, entries);
  _sk_service_add_untrusted (b, "station", sk_station_get_name (self->station));
  _sk_service_add_string (b, "message", message);
  json_builder_end_object (b);
  return TRUE;
}

static gboolean
on_journal_verify_checkpoint (SkDbusJournal *skeleton,
                              GDBusMethodInvocation *invocation,
                              GUnixFDList *fd_list,
                              GVariant *cp_h,
                              GVariant *sig_h,
                              gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  int cp_fd = _sk_service_take_fd (invocation, cp_h, &error);
  int sig_fd = cp_fd >= 0 ? _sk_service_take_fd (invocation, sig_h, &error) : -1;
  gboolean cp_too_big = FALSE, sig_too_big = FALSE;
  /* Read before the lock: a slow writer at the other end holds up no one
   * else.  A file too large to be a checkpoint is a verdict, not an
   * error. */
  g_autoptr (GBytes) cp =
      sig_fd >= 0 ? _sk_service_read_fd (cp_fd, SK_CHECKPOINT_MAX_SIZE, &cp_too_big, &error) : NULL;
  g_autoptr (GBytes) sig =
      cp != NULL || cp_too_big
          ? _sk_service_read_fd (sig_fd, SK_CHECKPOINT_MAX_SIZE, &sig_too_big, &error)
          : NULL;
  if (cp_fd >= 0)
    close (cp_fd);
  if (sig_fd >= 0)
    close (sig_fd);
  if (error != NULL)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_autoptr (JsonBuilder) b = json_builder_new ();
  g_mutex_lock (&self->lock);
  gboolean ok = judge_checkpoint_locked (self, cp, sig, b, &error);
  g_mutex_unlock (&self->lock);
  if (!ok)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_autofree char *text = _sk_service_json_text (b);
  sk_dbus_journal_complete_verify_checkpoint (skeleton, invocation, NULL, text);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_journal_checkpoint (SkDbusJournal *skeleton,
                       GDBusMethodInvocation *invocation,
                       gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL, *sig = NULL;
  gsize sig_len = 0;
  g_mutex_lock (&self->lock);
  g_autofree char *path =
      sk_station_make_checkpoint (self->station, _sk_service_actor (invocation), &error);
  g_autofree char *sig_path = path != NULL ? g_strconcat (path, ".sig", NULL) : NULL;
  gboolean ok = path != NULL && g_file_get_contents (path, &json, NULL, &error) &&
                g_file_get_contents (sig_path, &sig, &sig_len, &error);
  g_mutex_unlock (&self->lock);
  if (!ok)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_autofree char *sig64 = g_base64_encode ((const guchar *)sig, sig_len);
  g_autofree char *name = g_path_get_basename (path);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  _sk_service_add_string (b, "file", name);
  _sk_service_add_string (b, "checkpoint", json);
  _sk_service_add_string (b, "signature_base64", sig64);
  json_builder_end_object (b);
  g_autofree char *text = _sk_service_json_text (b);
  sk_dbus_journal_complete_checkpoint (skeleton, invocation, text);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
_sk_service_connect_journal (SkService *self)
{
  const struct
  {
    const char *signal;
    GCallback handler;
  } handlers[] = {
    { "handle-show", G_CALLBACK (on_journal_show) },
    { "handle-verify", G_CALLBACK (on_journal_verify) },
    { "handle-export", G_CALLBACK (on_journal_export) },
    { "handle-verify-checkpoint", G_CALLBACK (on_journal_verify_checkpoint) },
    { "handle-checkpoint", G_CALLBACK (on_journal_checkpoint) },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (handlers); i++)
    g_signal_connect_object (self->journal, handlers[i].signal, handlers[i].handler, self, 0);
}
