/* sk-cli-journal.c — journal verify, show, export, checkpoint */
#define G_LOG_DOMAIN "sekisho"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <gio/gunixoutputstream.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sk-cli.h"
#include "sk-journal-csv.h"
#include "sk-journal.h"
#include "sk-keyring.h"
#include "sk-policy-private.h"

/* An exported record, off the station: the checkpoint's signature by the
 * key in KEY_PATH (a throw-away GnuPG home holds it), then the CSV. */
static int
verify_export (SkCli *cli, const char *csv, const char *checkpoint, const char *key_path)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *sig_path = g_strconcat (checkpoint, ".sig", NULL);
  g_autoptr (GBytes) cp = sk_cli_read_small_file (checkpoint, &error);
  g_autoptr (GBytes) sig = cp != NULL ? sk_cli_read_small_file (sig_path, &error) : NULL;
  g_autoptr (GBytes) keydata = sig != NULL ? sk_cli_read_small_file (key_path, &error) : NULL;
  if (keydata == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  gint64 cp_seq = 0;
  g_autofree char *head = NULL, *station = NULL, *station_key = NULL;
  if (!sk_checkpoint_parse (cp, &cp_seq, &head, &station, &station_key, &error))
    return sk_cli_finish (cli, error, NULL, NULL);

  g_autofree char *tmp = g_dir_make_tmp ("sekisho-verify-XXXXXX", &error);
  if (tmp == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autofree char *home = g_build_filename (tmp, "gnupg", NULL);
  g_autoptr (SkKeyring) keyring = NULL;
  g_autoptr (GPtrArray) fprs = NULL;
  g_autoptr (SkSignature) signature = NULL;
  if (sk_keyring_init_home (home, &error) && (keyring = sk_keyring_new (home, &error)) != NULL &&
      (fprs = sk_keyring_import (keyring, keydata, NULL, &error)) != NULL)
    {
      const char *signers[] = { station_key, NULL };
      signature = sk_keyring_verify_detached_bytes (keyring, sig, cp, signers, &error);
      if (signature == NULL)
        g_prefix_error (&error, "%s", _ ("checkpoint signature: "));
    }
  g_clear_object (&keyring);
  sk_cli_remove_tree (tmp);
  if (signature == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);

  g_autoptr (GFile) file = g_file_new_for_path (csv);
  g_autoptr (GFileInputStream) in = g_file_read (file, NULL, &error);
  if (in == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  SkJournalCsvCheck check = { 0 };
  gboolean ok =
      sk_journal_csv_verify (G_INPUT_STREAM (in), cp_seq, head, station, &check, NULL, &error);

  g_autofree char *safe_station = sk_escape_untrusted (station);
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "entries");
  json_builder_add_int_value (b, check.rows);
  json_builder_set_member_name (b, "first_bad_row");
  if (check.bad_row > 0)
    json_builder_add_int_value (b, check.bad_row);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "first_bad_seq");
  if (check.bad_seq > 0)
    json_builder_add_int_value (b, check.bad_seq);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "checkpoint_seq");
  json_builder_add_int_value (b, cp_seq);
  json_builder_set_member_name (b, "station");
  json_builder_add_string_value (b, safe_station);
  json_builder_set_member_name (b, "station_key");
  json_builder_add_string_value (b, station_key);
  if (!ok)
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autofree char *msg = g_strdup_printf (
      g_dngettext (GETTEXT_PACKAGE,
                   "The exported record verifies: %lld entry of station “%s”, up to checkpoint "
                   "%lld, signed by station key %s. Compare that fingerprint with the one the "
                   "union has on file.",
                   "The exported record verifies: %lld entries of station “%s”, up to "
                   "checkpoint %lld, signed by station key %s. Compare that fingerprint with the "
                   "one the union has on file.",
                   (gulong)check.rows),
      (long long)check.rows, safe_station, (long long)cp_seq, station_key);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

/* A checkpoint kept off the station (CHECKPOINT and CHECKPOINT.sig, opened
 * here as the caller) against the service's journal: its verdict. */
static int
verify_checkpoint_through_service (SkCli *cli, const char *checkpoint)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *sig_path = g_strconcat (checkpoint, ".sig", NULL);
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  const char *paths[] = { checkpoint, sig_path };
  gint32 handles[2] = { -1, -1 };
  for (gsize i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      int fd = open (paths[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK);
      if (fd < 0)
        {
          int errsv = errno;
          g_autofree char *safe = sk_escape_untrusted (paths[i]);
          g_autofree char *what = g_strdup_printf (_ ("opening %s"), safe);
          sk_error_set_from_errno (&error, errsv, what);
          return sk_cli_finish (cli, error, NULL, NULL);
        }
      handles[i] = sk_cli_fd_append (fds, fd, &error);
      if (handles[i] < 0)
        return sk_cli_finish (cli, error, NULL, NULL);
    }
  g_autoptr (JsonObject) verdict =
      sk_cli_call_json (cli, "Journal", "VerifyCheckpoint",
                        g_variant_new ("(hh)", handles[0], handles[1]), fds, &error);
  if (verdict == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  JsonBuilder *b = sk_cli_extra (cli);
  g_autofree char *safe_cp = sk_escape_untrusted (checkpoint);
  json_builder_set_member_name (b, "checkpoint");
  json_builder_add_string_value (b, safe_cp);
  const char *const members[] = { "verdict", "entries", "first_bad_seq" };
  for (gsize i = 0; i < G_N_ELEMENTS (members); i++)
    {
      JsonNode *node = json_object_get_member (verdict, members[i]);
      json_builder_set_member_name (b, members[i]);
      json_builder_add_value (b, node != NULL ? json_node_copy (node)
                                              : json_node_new (JSON_NODE_NULL));
    }
  gint64 entries = json_object_get_int_member_with_default (verdict, "entries", 0);
  gint64 cp_seq = json_object_get_int_member_with_default (verdict, "seq", -1);
  if (cp_seq >= 0)
    {
      json_builder_set_member_name (b, "checkpoint_seq");
      json_builder_add_int_value (b, cp_seq);
    }
  if (!json_object_get_boolean_member_with_default (verdict, "ok", FALSE))
    {
      /* The service's words, under the reason it gave. */
      const char *reason = json_object_get_string_member_with_default (verdict, "reason", NULL);
      const char *message = json_object_get_string_member_with_default (verdict, "message", "");
      SkErrorCode code = SK_ERROR_JOURNAL_INVALID;
      if (reason == NULL || !sk_error_code_from_reason (reason, &code))
        code = SK_ERROR_JOURNAL_INVALID;
      g_autofree char *safe = sk_escape_untrusted (message);
      g_set_error_literal (&error, SK_ERROR, (gint)code, safe);
      return sk_cli_finish (cli, error, NULL, NULL);
    }
  g_autofree char *msg = g_strdup_printf (_ ("The journal verifies: %lld entries, and it "
                                             "still holds checkpoint %lld."),
                                          (long long)entries, (long long)cp_seq);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

/* The service verifies its own journal and its newest checkpoint; one kept
 * off the station is sent to it. */
static int
verify_through_service (SkCli *cli, const char *checkpoint)
{
  if (checkpoint != NULL)
    return verify_checkpoint_through_service (cli, checkpoint);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) result = sk_cli_run_job (cli, "Journal", "Verify", NULL, NULL, &error);
  if (result == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  sk_cli_extra_merge (cli, result);
  gint64 entries = json_object_get_int_member_with_default (result, "entries", 0);
  gint64 cp_seq = json_object_get_int_member_with_default (result, "checkpoint_seq", -1);
  g_autofree char *msg =
      cp_seq >= 0 ? g_strdup_printf (_ ("The journal verifies: %lld entries, and it "
                                        "still holds checkpoint %lld."),
                                     (long long)entries, (long long)cp_seq)
                  : g_strdup_printf (_ ("The journal verifies: %lld entries."), (long long)entries);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

static int
cmd_journal_verify (SkCli *cli, int argc, char **argv)
{
  g_autofree char *checkpoint = NULL, *export = NULL, *key = NULL;
  const GOptionEntry entries[] = {
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint,
      N_ ("Check against this signed checkpoint (FILE and FILE.sig) instead of the station's "
          "newest"),
      "FILE" },
    { "export", 0, 0, G_OPTION_ARG_FILENAME, &export,
      N_ ("Verify an exported CSV record instead of a station's journal (needs --checkpoint and "
          "--key)"),
      "FILE.csv" },
    { "key", 0, 0, G_OPTION_ARG_FILENAME, &key,
      N_ ("With --export: the station's public key, as gpg --export writes it"), "KEY.gpg" },
    { NULL },
  };
  int code;

  if (!sk_cli_parse_options (cli, entries, &argc, &argv, &code))
    return code;
  if (argc != 1)
    return sk_cli_usage_error (cli, _ ("journal verify takes no arguments, only options"));
  if (export != NULL && (checkpoint == NULL || key == NULL))
    return sk_cli_usage_error (
        cli, _ ("journal verify --export FILE.csv also takes --checkpoint CP.json and --key "
                "KEY.gpg"));
  if (export == NULL && key != NULL)
    return sk_cli_usage_error (cli, _ ("--key goes with --export"));
  if (export != NULL)
    return verify_export (cli, export, checkpoint, key);
  if (sk_cli_use_service (cli))
    return verify_through_service (cli, checkpoint);

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
  if (station == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, TRUE, &error);
  if (journal == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);

  gint64 entries_read = 0, bad_seq = 0, cp_seq = -1;
  gboolean ok = sk_journal_verify (journal, &entries_read, &bad_seq, NULL, &error);
  /* Without --checkpoint, the station's own newest checkpoint: the chain
   * alone cannot tell a journal cut short, a signed head can. */
  g_autofree char *local = checkpoint == NULL ? sk_station_latest_checkpoint (station) : NULL;
  const char *cp_path = checkpoint != NULL ? checkpoint : local;
  if (ok && checkpoint == NULL)
    ok = sk_station_check_latest_checkpoint (station, journal, &cp_seq, &error);
  else if (ok)
    {
      g_autofree char *sig_path = g_strconcat (checkpoint, ".sig", NULL);
      g_autoptr (GBytes) cp = sk_cli_read_small_file (checkpoint, &error);
      g_autoptr (GBytes) sig = cp != NULL ? sk_cli_read_small_file (sig_path, &error) : NULL;
      SkCheckpointVerdict verdict;
      ok = sig != NULL &&
           sk_station_judge_checkpoint (station, journal, cp, sig, &cp_seq, &verdict, &error);
    }

  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "entries");
  json_builder_add_int_value (b, entries_read);
  json_builder_set_member_name (b, "first_bad_seq");
  if (bad_seq > 0)
    json_builder_add_int_value (b, bad_seq);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "checkpoint");
  if (cp_path != NULL)
    {
      g_autofree char *safe = sk_escape_untrusted (cp_path);
      json_builder_add_string_value (b, safe);
    }
  else
    json_builder_add_null_value (b);
  if (cp_seq >= 0)
    {
      json_builder_set_member_name (b, "checkpoint_seq");
      json_builder_add_int_value (b, cp_seq);
    }
  if (!ok)
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autofree char *msg =
      cp_seq >= 0
          ? g_strdup_printf (_ ("The journal verifies: %lld entries, and it "
                                "still holds checkpoint %lld."),
                             (long long)entries_read, (long long)cp_seq)
          : g_strdup_printf (_ ("The journal verifies: %lld entries."), (long long)entries_read);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

/* --since/--until: today, yesterday, a date (its start), a date and time
 * in the terminal's zone ("2026-12-06 15:45", seconds optional, T or a
 * space between), or ISO 8601 with its own zone ("…T06:45:00Z"). */
static gboolean
parse_time_option (const char *text, gint64 *out)
{
  if (text == NULL)
    return TRUE;
  g_autoptr (GTimeZone) local = g_time_zone_new_local ();
  g_autoptr (GDateTime) now = g_date_time_new_now (local);
  g_autoptr (GDateTime) dt = NULL;
  g_autofree char *stripped = g_strstrip (g_strdup (text));

  if (g_ascii_strcasecmp (stripped, "today") == 0 ||
      g_ascii_strcasecmp (stripped, "yesterday") == 0)
    {
      g_autoptr (GDateTime) midnight =
          g_date_time_new (local, g_date_time_get_year (now), g_date_time_get_month (now),
                           g_date_time_get_day_of_month (now), 0, 0, 0);
      dt = g_ascii_strcasecmp (stripped, "today") == 0 ? g_date_time_ref (midnight)
                                                       : g_date_time_add_days (midnight, -1);
    }
  else
    {
      int y, mo, d, h, mi, sec = 0, n = 0, n2 = 0;
      char sep;
      gsize len = strlen (stripped);
      if (sscanf (stripped, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && (gsize)n == len)
        dt = g_date_time_new (local, y, mo, d, 0, 0, 0);
      else if (sscanf (stripped, "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &n) == 6 &&
               (sep == ' ' || sep == 'T') &&
               ((gsize)n == len ||
                (sscanf (stripped + n, ":%2d%n", &sec, &n2) == 1 && (gsize)(n + n2) == len)))
        /* A date and time without a zone: the terminal's. */
        dt = g_date_time_new (local, y, mo, d, h, mi, sec);
      else
        dt = g_date_time_new_from_iso8601 (stripped, local);
    }
  if (dt == NULL)
    return FALSE;
  *out = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
  return TRUE;
}
/* --event and --reason name things that exist: a misspelt name is a usage
 * error, not "0 entries". */
static gboolean
check_names (SkCli *cli, SkJournal *journal, char **events, char **reasons, int *out_exit)
{
  /* Through the service the events recorded are not listed here: the
   * service refuses an unknown one (show_through_service). */
  if (events != NULL && journal != NULL)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) known = sk_journal_list_events (journal, &error);
      if (known == NULL)
        {
          *out_exit = sk_cli_finish (cli, error, NULL, NULL);
          return FALSE;
        }
      g_ptr_array_add (known, NULL);
      for (gsize i = 0; events[i] != NULL; i++)
        if (!g_strv_contains ((const char *const *)known->pdata, events[i]))
          {
            *out_exit = sk_cli_usage_not_one_of (cli, _ ("event"), events[i],
                                                 (const char *const *)known->pdata);
            return FALSE;
          }
    }
  for (gsize i = 0; reasons != NULL && reasons[i] != NULL; i++)
    if (!sk_error_code_from_reason (reasons[i], NULL))
      {
        g_autoptr (GPtrArray) codes = g_ptr_array_new ();
        for (int c = 0; c < SK_ERROR_N_CODES; c++)
          g_ptr_array_add (codes, (gpointer)sk_error_code_to_reason ((SkErrorCode)c));
        g_ptr_array_add (codes, NULL);
        *out_exit = sk_cli_usage_not_one_of (cli, _ ("reason"), reasons[i],
                                             (const char *const *)codes->pdata);
        return FALSE;
      }
  return TRUE;
}

/* The details column as JSON: an object as it was written; anything else
 * (a row someone edited) as the text it holds. */
static void
add_details (JsonBuilder *b, const char *details)
{
  /* A row someone edited may hold anything: json-glib sees it only after
   * the same pre-scan as every JSON document from outside. */
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  if (details != NULL && _sk_json_nesting_ok (details, strlen (details)) &&
      json_parser_load_from_data (parser, details, -1, NULL) &&
      JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    json_builder_add_value (b, json_node_copy (json_parser_get_root (parser)));
  else if (details != NULL)
    json_builder_add_string_value (b, details);
  else
    json_builder_add_null_value (b);
}

static void
add_row_json (JsonBuilder *b, const SkJournalRow *r)
{
  g_autofree char *time = sk_journal_format_time (r->time_us);
  /* What came from outside (a login, a station's name, a 処理番号 read
   * from a file, a device's identity) is escaped as the service escapes
   * it in Journal.Show: the same bytes in both modes. */
  g_autofree char *login = r->login != NULL ? sk_escape_untrusted (r->login) : NULL;
  g_autofree char *station = r->station != NULL ? sk_escape_untrusted (r->station) : NULL;
  g_autofree char *case_id = r->case_id != NULL ? sk_escape_untrusted (r->case_id) : NULL;
  g_autofree char *device = r->device != NULL ? sk_escape_untrusted (r->device) : NULL;
  const struct
  {
    const char *name, *value;
  } text[] = {
    { "time", time },        { "event", r->event }, { "outcome", r->outcome },
    { "reason", r->reason }, { "login", login },    { "role", r->role },
    { "station", station },  { "case", case_id },   { "package", r->package_id },
    { "device", device },
  };
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "seq");
  json_builder_add_int_value (b, r->seq);
  json_builder_set_member_name (b, "uid");
  if (r->uid >= 0)
    json_builder_add_int_value (b, r->uid);
  else
    json_builder_add_null_value (b);
  for (gsize t = 0; t < G_N_ELEMENTS (text); t++)
    {
      json_builder_set_member_name (b, text[t].name);
      if (text[t].value != NULL)
        json_builder_add_string_value (b, text[t].value);
      else
        json_builder_add_null_value (b);
    }
  json_builder_set_member_name (b, "details");
  add_details (b, r->details);
  json_builder_set_member_name (b, "entry_hash");
  json_builder_add_string_value (b, r->entry_hash);
  json_builder_end_object (b);
}

/* One entry for a person, from its JSON object. */
static void
print_row (SkCli *cli, JsonObject *r)
{
  const char *login = json_object_get_string_member_with_default (r, "login", NULL);
  const char *role = json_object_get_string_member_with_default (r, "role", NULL);
  const char *actor = login != NULL ? login : role;
  const char *reason = json_object_get_string_member_with_default (r, "reason", NULL);
  g_autofree char *who = actor != NULL ? sk_escape_untrusted (actor) : NULL;
  /* Details may hold names that came from a medium. */
  g_autofree char *raw = NULL;
  JsonNode *d = json_object_get_member (r, "details");
  if (d != NULL && JSON_NODE_HOLDS_OBJECT (d))
    raw = json_to_string (d, FALSE);
  else if (d != NULL && json_node_get_value_type (d) == G_TYPE_STRING)
    raw = g_strdup (json_node_get_string (d));
  g_autofree char *details = sk_escape_untrusted (raw != NULL ? raw : "");
  g_autoptr (GDateTime) at = g_date_time_new_from_iso8601 (
      json_object_get_string_member_with_default (r, "time", ""), NULL);
  g_autofree char *time = at != NULL
                              ? sk_cli_format_local_time (g_date_time_to_unix (at) * G_USEC_PER_SEC)
                              : g_strdup ("?");
  sk_cli_print (cli, "%6lld  %s  %-18s %-8s %-20s %-10s %s\n",
                (long long)json_object_get_int_member_with_default (r, "seq", 0), time,
                json_object_get_string_member_with_default (r, "event", "?"),
                json_object_get_string_member_with_default (r, "outcome", "?"),
                reason != NULL ? reason : "-", who != NULL ? who : "-", details);
}

static gint
by_seq (gconstpointer a, gconstpointer b)
{
  gint64 x = json_object_get_int_member_with_default (*(JsonObject **)a, "seq", 0);
  gint64 y = json_object_get_int_member_with_default (*(JsonObject **)b, "seq", 0);
  return x < y ? -1 : x > y;
}

/* Journal.Show takes one event, one reason and one case: repeated filters
 * are asked one combination at a time and the answers merged by seq.  The
 * service sends at most its cap per answer, the newest rows that pass. */
static JsonArray *
show_through_service (SkCli *cli,
                      const SkJournalFilter *filter,
                      const char **out_unknown_event,
                      GError **error)
{
  const char *none[] = { NULL, NULL };
  const char *const *events = filter->events != NULL ? filter->events : none;
  const char *const *reasons = filter->reasons != NULL ? filter->reasons : none;
  const char *const *cases = filter->case_ids != NULL ? filter->case_ids : none;
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify)json_object_unref);
  g_autoptr (GPtrArray) answers =
      g_ptr_array_new_with_free_func ((GDestroyNotify)json_object_unref);
  g_autofree char *since = filter->since_us != 0 ? sk_journal_format_time (filter->since_us) : NULL;
  g_autofree char *until = filter->until_us != 0 ? sk_journal_format_time (filter->until_us) : NULL;
  g_autofree char *limit =
      filter->last > 0 ? g_strdup_printf ("%lld", (long long)filter->last) : g_strdup ("10000");
  for (gsize e = 0; e == 0 || events[e] != NULL; e++)
    for (gsize r = 0; r == 0 || reasons[r] != NULL; r++)
      for (gsize c = 0; c == 0 || cases[c] != NULL; c++)
        {
          GVariantBuilder vb;
          g_variant_builder_init (&vb, G_VARIANT_TYPE ("a{ss}"));
          const struct
          {
            const char *key, *value;
          } pairs[] = {
            { "event", events[e] }, { "reason", reasons[r] }, { "case", cases[c] },
            { "since", since },     { "until", until },       { "limit", limit },
          };
          for (gsize i = 0; i < G_N_ELEMENTS (pairs); i++)
            if (pairs[i].value != NULL)
              g_variant_builder_add (&vb, "{ss}", pairs[i].key, pairs[i].value);
          JsonObject *answer = sk_cli_call_json (cli, "Journal", "Show",
                                                 g_variant_new ("(a{ss})", &vb), NULL, error);
          if (answer == NULL)
            {
              /* The service knows which events its journal holds: one it
               * refuses is the caller's misspelling. */
              if (g_error_matches (*error, SK_ERROR, SK_ERROR_USAGE) && events[e] != NULL)
                *out_unknown_event = events[e];
              return NULL;
            }
          g_ptr_array_add (answers, answer);
          JsonNode *entries = json_object_get_member (answer, "entries");
          JsonArray *list = entries != NULL && JSON_NODE_HOLDS_ARRAY (entries)
                                ? json_node_get_array (entries)
                                : NULL;
          for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
            {
              JsonNode *node = json_array_get_element (list, i);
              if (!JSON_NODE_HOLDS_OBJECT (node))
                continue;
              JsonObject *row = json_node_get_object (node);
              gint64 *seq = g_new (gint64, 1);
              *seq = json_object_get_int_member_with_default (row, "seq", 0);
              if (g_hash_table_contains (seen, seq))
                {
                  g_free (seq);
                  continue;
                }
              g_hash_table_add (seen, seq);
              g_ptr_array_add (rows, json_object_ref (row));
            }
        }
  g_ptr_array_sort (rows, by_seq);
  guint first =
      filter->last > 0 && rows->len > (guint)filter->last ? rows->len - (guint)filter->last : 0;
  JsonArray *out = json_array_new ();
  for (guint i = first; i < rows->len; i++)
    {
      JsonObject *row = g_ptr_array_index (rows, i);
      /* The same object as in-process: details an object, not its text. */
      JsonNode *d = json_object_get_member (row, "details");
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      g_autoptr (GList) members = json_object_get_members (row);
      for (GList *l = members; l != NULL; l = l->next)
        {
          json_builder_set_member_name (b, l->data);
          if (g_str_equal (l->data, "details") && d != NULL &&
              json_node_get_value_type (d) == G_TYPE_STRING)
            add_details (b, json_node_get_string (d));
          else
            json_builder_add_value (b, json_node_copy (json_object_get_member (row, l->data)));
        }
      json_builder_end_object (b);
      json_array_add_element (out, json_builder_get_root (b));
    }
  return out;
}

static int
cmd_journal_show (SkCli *cli, int argc, char **argv)
{
  g_autofree char *since = NULL, *until = NULL;
  g_auto (GStrv) events = NULL, reasons = NULL, cases = NULL;
  int last = 0;
  const GOptionEntry entries[] = {
    { "lines", 'n', 0, G_OPTION_ARG_INT, &last, N_ ("Only the last N entries that match"), "N" },
    { "since", 0, 0, G_OPTION_ARG_STRING, &since,
      N_ ("Entries from this time: today, yesterday, 2026-12-06, “2026-12-06 15:45” (local "
          "time) or ISO 8601"),
      "TIME" },
    { "until", 0, 0, G_OPTION_ARG_STRING, &until,
      N_ ("Entries before this time, written as for --since"), "TIME" },
    { "event", 0, 0, G_OPTION_ARG_STRING_ARRAY, &events,
      N_ ("Only this event (repeat it for several)"), "EVENT" },
    { "reason", 0, 0, G_OPTION_ARG_STRING_ARRAY, &reasons,
      N_ ("Only this reason code (repeat it for several)"), "CODE" },
    { "case", 0, 0, G_OPTION_ARG_STRING_ARRAY, &cases,
      N_ ("Only this case (処理番号; repeat it for several)"), "ID" },
    { NULL },
  };
  int code;

  if (!sk_cli_parse_options (cli, entries, &argc, &argv, &code))
    return code;
  if (argc != 1)
    return sk_cli_usage_error (cli, _ ("journal show takes no arguments, only options"));
  SkJournalFilter filter = {
    .events = (const char *const *)events,
    .reasons = (const char *const *)reasons,
    .case_ids = (const char *const *)cases,
    .last = last,
  };
  if (last < 0)
    return sk_cli_usage_error (cli, _ ("-n takes a number of entries, 1 or more"));
  if (!parse_time_option (since, &filter.since_us))
    return sk_cli_usage_error (
        cli, _ ("--since takes today, yesterday, a date, a local date and time or ISO 8601"));
  if (!parse_time_option (until, &filter.until_us))
    return sk_cli_usage_error (
        cli, _ ("--until takes today, yesterday, a date, a local date and time or ISO 8601"));

  g_autoptr (GError) error = NULL;
  g_autoptr (JsonArray) rows = NULL;
  if (sk_cli_use_service (cli))
    {
      if (!check_names (cli, NULL, events, reasons, &code))
        return code;
      const char *unknown = NULL;
      rows = show_through_service (cli, &filter, &unknown, &error);
      if (unknown != NULL)
        return sk_cli_usage_not_one_of (cli, _ ("event"), unknown, sk_journal_known_events ());
    }
  else
    {
      g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
      if (station == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      g_autoptr (SkJournal) journal = sk_station_open_journal (station, TRUE, &error);
      if (journal == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      if (!check_names (cli, journal, events, reasons, &code))
        return code;
      g_autoptr (GPtrArray) found = sk_journal_query (journal, &filter, &error);
      if (found != NULL)
        {
          rows = json_array_new ();
          for (guint i = 0; i < found->len; i++)
            {
              g_autoptr (JsonBuilder) b = json_builder_new ();
              add_row_json (b, g_ptr_array_index (found, i));
              json_array_add_element (rows, json_builder_get_root (b));
            }
        }
    }
  if (rows == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);

  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "entries");
  JsonNode *all = json_node_new (JSON_NODE_ARRAY);
  json_node_set_array (all, rows);
  json_builder_add_value (b, all);
  guint n = json_array_get_length (rows);
  for (guint i = 0; i < n && !cli->json; i++)
    print_row (cli, json_array_get_object_element (rows, i));
  g_autofree char *msg =
      g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u entry.", "%u entries.", n), n);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

static gboolean
copy_small_file (const char *from, const char *to, GError **error)
{
  g_autoptr (GBytes) bytes = sk_cli_read_small_file (from, error);
  return bytes != NULL && g_file_set_contents_full (to, g_bytes_get_data (bytes, NULL),
                                                    (gssize)g_bytes_get_size (bytes),
                                                    G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

/* The checkpoint of Journal.Export's RESULT, which must cover the rows to
 * SEQ, saved as CP_OUT and SIG_OUT; then the CSV moved from TMP to OUT. */
static gboolean
save_export (JsonObject *result,
             gint64 seq,
             const char *tmp,
             const char *out,
             const char *cp_out,
             const char *sig_out,
             GError **error)
{
  const char *text = json_object_get_string_member_with_default (result, "checkpoint", "");
  const char *sig64 = json_object_get_string_member_with_default (result, "signature_base64", "");
  g_autoptr (GBytes) bytes = g_bytes_new (text, strlen (text));
  gint64 cp_seq = -1;
  gsize sig_len = 0;
  g_autofree guchar *sig = g_base64_decode (sig64, &sig_len);
  if (!sk_checkpoint_parse (bytes, &cp_seq, NULL, NULL, NULL, error))
    return FALSE;
  if (cp_seq != seq)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID,
                   _ ("the service sent a checkpoint of seq %lld with rows to %lld"),
                   (long long)cp_seq, (long long)seq);
      return FALSE;
    }
  if (!g_file_set_contents_full (sig_out, (const char *)sig, (gssize)sig_len,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, error) ||
      !g_file_set_contents_full (cp_out, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    return FALSE;
  if (g_rename (tmp, out) != 0)
    {
      int errsv = errno;
      g_autofree char *safe = sk_escape_untrusted (out);
      g_autofree char *what = g_strdup_printf (_ ("renaming the CSV to %s"), safe);
      sk_error_set_from_errno (error, errsv, what);
      return FALSE;
    }
  return TRUE;
}

/* The service writes the CSV into a descriptor opened here (a temporary
 * file beside OUT, renamed into place at the end, or standard output),
 * with JA's headers and the local times in this terminal's zone; the
 * checkpoint that covers exactly its rows comes back with it and is saved
 * beside as CP_OUT and SIG_OUT. */
static int
export_through_service (
    SkCli *cli, const char *out, gboolean ja, const char *cp_out, const char *sig_out)
{
  g_autoptr (GError) error = NULL;
  gboolean to_stdout = cp_out == NULL;
  g_autofree char *tmp = to_stdout ? NULL : g_strconcat (out, ".XXXXXX", NULL);
  int fd = to_stdout ? dup (STDOUT_FILENO) : g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int errsv = errno;
      g_autofree char *safe = sk_escape_untrusted (out);
      g_autofree char *what = g_strdup_printf (_ ("opening %s"), safe);
      sk_error_set_from_errno (&error, errsv, what);
      return sk_cli_finish (cli, error, NULL, NULL);
    }
  if (to_stdout)
    cli->stdout_taken = TRUE;
  g_autoptr (GTimeZone) local = g_time_zone_new_local ();
  GVariantBuilder options;
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "headers", g_variant_new_string (ja ? "ja" : "en"));
  g_variant_builder_add (&options, "{sv}", "zone",
                         g_variant_new_string (g_time_zone_get_identifier (local)));
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  gint32 h = sk_cli_fd_append (fds, fd, &error);
  GVariant *params = g_variant_new ("(h@a{sv})", h, g_variant_builder_end (&options));
  g_autoptr (JsonObject) result =
      h >= 0 ? sk_cli_run_job (cli, "Journal", "Export", params, fds, &error) : NULL;
  if (h < 0)
    g_variant_unref (g_variant_ref_sink (params));
  gint64 rows = result != NULL ? json_object_get_int_member_with_default (result, "rows", 0) : 0;
  gint64 seq = result != NULL ? json_object_get_int_member_with_default (result, "seq", -1) : -1;
  gboolean saved =
      to_stdout || (result != NULL && save_export (result, seq, tmp, out, cp_out, sig_out, &error));
  if (tmp != NULL && !saved)
    (void)g_unlink (tmp);
  if (result == NULL || !saved)
    return sk_cli_finish (cli, error, NULL, NULL);

  JsonBuilder *b = sk_cli_extra (cli);
  g_autofree char *safe_out = sk_escape_untrusted (out);
  json_builder_set_member_name (b, "csv");
  json_builder_add_string_value (b, safe_out);
  json_builder_set_member_name (b, "rows");
  json_builder_add_int_value (b, rows);
  json_builder_set_member_name (b, "headers");
  json_builder_add_string_value (b, ja ? "ja" : "en");
  json_builder_set_member_name (b, "checkpoint");
  if (cp_out != NULL)
    {
      g_autofree char *safe_cp = sk_escape_untrusted (cp_out);
      json_builder_add_string_value (b, safe_cp);
    }
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "checkpoint_seq");
  json_builder_add_int_value (b, seq);
  if (to_stdout)
    {
      g_autofree char *msg = g_strdup_printf (
          g_dngettext (GETTEXT_PACKAGE,
                       "Wrote %lld entry to standard output, up to seq %lld; for a record to "
                       "verify off the station, export to a file (it gets its checkpoint).",
                       "Wrote %lld entries to standard output, up to seq %lld; for a record to "
                       "verify off the station, export to a file (it gets its checkpoint).",
                       (gulong)rows),
          (long long)rows, (long long)seq);
      return sk_cli_finish (cli, NULL, msg, NULL);
    }
  g_autofree char *safe_cp = sk_escape_untrusted (cp_out);
  g_autofree char *msg = g_strdup_printf (
      g_dngettext (GETTEXT_PACKAGE,
                   "Wrote %s: %lld entry, exactly those of checkpoint %s (verify it with "
                   "“sekisho journal verify --export”).",
                   "Wrote %s: %lld entries, exactly those of checkpoint %s (verify them with "
                   "“sekisho journal verify --export”).",
                   (gulong)rows),
      safe_out, (long long)rows, safe_cp);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

static int
cmd_journal_export (SkCli *cli, int argc, char **argv)
{
  g_autofree char *out = NULL, *headers = NULL;
  gboolean force = FALSE;
  const GOptionEntry entries[] = {
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out,
      N_ ("Where to write the CSV; - writes it to standard output"), "FILE" },
    { "force", 0, 0, G_OPTION_ARG_NONE, &force, N_ ("Replace files that already exist"), NULL },
    { "headers", 0, 0, G_OPTION_ARG_STRING, &headers,
      N_ ("The header row's language: ja or en (default: the terminal's language)"), "LANG" },
    { NULL },
  };
  int code;

  if (!sk_cli_parse_options (cli, entries, &argc, &argv, &code))
    return code;
  if (argc != 1 || out == NULL)
    return sk_cli_usage_error (cli, _ ("journal export takes --out FILE"));
  const char *const languages[] = { "ja", "en", NULL };
  if (headers != NULL && !g_strv_contains (languages, headers))
    return sk_cli_usage_not_one_of (cli, _ ("header language"), headers, languages);
  gboolean ja =
      headers != NULL ? g_str_equal (headers, "ja") : g_str_has_prefix (cli->messages_locale, "ja");
  gboolean to_stdout = g_str_equal (out, "-");
  g_autofree char *cp_out = to_stdout ? NULL : g_strconcat (out, ".checkpoint.json", NULL);
  g_autofree char *sig_out = to_stdout ? NULL : g_strconcat (cp_out, ".sig", NULL);
  const char *const targets[] = { out, cp_out, sig_out };
  for (gsize i = 0; !to_stdout && !force && i < G_N_ELEMENTS (targets); i++)
    if (g_file_test (targets[i], G_FILE_TEST_EXISTS))
      {
        g_autofree char *safe = sk_escape_untrusted (targets[i]);
        return sk_cli_usage_error (cli, _ ("%s exists; add --force to replace it"), safe);
      }
  if (sk_cli_use_service (cli))
    return export_through_service (cli, out, ja, cp_out, sig_out);

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
  if (station == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, FALSE, &error);
  if (journal == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  gint64 cp_seq = 0, rows = 0;
  g_autofree char *checkpoint = sk_station_checkpoint_for_export (
      station, journal, sk_actor_for_process (SK_ROLE_AUDITOR), &cp_seq, &error);
  if (checkpoint == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);

  g_autoptr (GOutputStream) stream = NULL;
  g_autoptr (GCancellable) abandon = g_cancellable_new ();
  if (to_stdout)
    {
      /* The CSV has standard output; the outcome goes to standard error. */
      cli->stdout_taken = TRUE;
      stream = g_unix_output_stream_new (STDOUT_FILENO, FALSE);
    }
  else
    {
      /* Written beside and renamed into place on close: a failed export
       * leaves no half-written file. */
      g_autoptr (GFile) file = g_file_new_for_path (out);
      stream =
          G_OUTPUT_STREAM (g_file_replace (file, NULL, FALSE, G_FILE_CREATE_PRIVATE, NULL, &error));
      if (stream == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
    }
  g_autoptr (GTimeZone) zone = g_time_zone_new_local ();
  if (!sk_journal_csv_export (journal, cp_seq,
                              ja ? SK_JOURNAL_CSV_JAPANESE : SK_JOURNAL_CSV_ENGLISH, zone, stream,
                              &rows, NULL, &error))
    {
      g_cancellable_cancel (abandon);
      g_output_stream_close (stream, abandon, NULL);
      return sk_cli_finish (cli, error, NULL, NULL);
    }
  if (!g_output_stream_close (stream, NULL, &error))
    return sk_cli_finish (cli, error, NULL, NULL);

  g_autofree char *sig_in = g_strconcat (checkpoint, ".sig", NULL);
  if (!to_stdout &&
      (!copy_small_file (sig_in, sig_out, &error) || !copy_small_file (checkpoint, cp_out, &error)))
    return sk_cli_finish (cli, error, NULL, NULL);

  JsonBuilder *b = sk_cli_extra (cli);
  g_autofree char *safe_out = sk_escape_untrusted (out);
  g_autofree char *safe_cp = sk_escape_untrusted (to_stdout ? checkpoint : cp_out);
  json_builder_set_member_name (b, "csv");
  json_builder_add_string_value (b, safe_out);
  json_builder_set_member_name (b, "rows");
  json_builder_add_int_value (b, rows);
  json_builder_set_member_name (b, "headers");
  json_builder_add_string_value (b, ja ? "ja" : "en");
  json_builder_set_member_name (b, "checkpoint");
  json_builder_add_string_value (b, safe_cp);
  json_builder_set_member_name (b, "checkpoint_seq");
  json_builder_add_int_value (b, cp_seq);
  g_autofree char *msg = g_strdup_printf (
      g_dngettext (GETTEXT_PACKAGE,
                   "Wrote %s: %lld entry, exactly those of checkpoint %s (verify it with "
                   "“sekisho journal verify --export”).",
                   "Wrote %s: %lld entries, exactly those of checkpoint %s (verify them with "
                   "“sekisho journal verify --export”).",
                   (gulong)rows),
      safe_out, (long long)rows, safe_cp);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

static int
cmd_journal_checkpoint (SkCli *cli, int argc, char **argv)
{
  int code;

  if (!sk_cli_parse_options (cli, NULL, &argc, &argv, &code))
    return code;
  if (argc != 1)
    return sk_cli_usage_error (cli, _ ("journal checkpoint takes no arguments"));

  g_autoptr (GError) error = NULL;
  if (sk_cli_use_service (cli))
    {
      g_autoptr (JsonObject) cp =
          sk_cli_call_json (cli, "Journal", "Checkpoint", NULL, NULL, &error);
      if (cp == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      const char *name = json_object_get_string_member_with_default (cp, "file", "?");
      g_autofree char *safe = sk_escape_untrusted (name);
      JsonBuilder *b = sk_cli_extra (cli);
      json_builder_set_member_name (b, "checkpoint");
      json_builder_add_string_value (b, safe);
      g_autofree char *msg =
          g_strdup_printf (_ ("Checkpoint written in the station service's station: %s"), safe);
      return sk_cli_finish (cli, NULL, msg, NULL);
    }
  g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
  if (station == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autofree char *path =
      sk_station_make_checkpoint (station, sk_actor_for_process (SK_ROLE_AUDITOR), &error);
  if (path == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "checkpoint");
  json_builder_add_string_value (b, path);
  g_autofree char *msg = g_strdup_printf (_ ("Checkpoint written: %s"), path);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

static const SkCliCommand journal_commands[] = {
  { "verify", "[--checkpoint CP.json] | --export FILE.csv --checkpoint CP.json --key KEY.gpg",
    N_ ("Check the journal's hash chain and its newest signed checkpoint, or an exported record "
        "off the station."),
    "sekisho journal verify --export journal.csv --checkpoint journal.csv.checkpoint.json "
    "--key station.gpg",
    cmd_journal_verify },
  { "show", "[-n N] [--since TIME] [--until TIME] [--event E]… [--reason R]… [--case ID]…",
    N_ ("Show journal entries, filtered by time, event, reason or case."),
    "sekisho journal show --since yesterday --event package-imported", cmd_journal_show },
  { "export", "--out FILE|- [--headers ja|en] [--force]",
    N_ ("Write the journal as CSV for an auditor, with the signed checkpoint that covers exactly "
        "its rows."),
    "sekisho journal export --out journal.csv", cmd_journal_export },
  { "checkpoint", "", N_ ("Sign the journal's current head with the station key."),
    "sekisho journal checkpoint", cmd_journal_checkpoint },
  { NULL },
};

const SkCliGroup sk_cli_journal_group = {
  "journal",
  N_ ("The journal, for auditors:"),
  journal_commands,
};
