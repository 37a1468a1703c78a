/* test-cli-text.c — what the CLI says, in which language and encoding
 * (issue 16): help at every level, "did you mean", global options anywhere,
 * the same JSON bytes under LANG=C, C.UTF-8 and ja_JP.UTF-8, Japanese
 * output with no untranslated message, the exported record and its
 * verification off the station.
 *
 * The real binary ($SEKISHO_CLI) runs on real stations made with the core
 * API (sk-test-stations.h), with the locale set for each run.
 */
#define G_LOG_DOMAIN "sekisho-test"

#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <string.h>
#include <sys/stat.h>

#include "sk-journal.h"
#include "sk-test-stations.h"

static const char *cli;

typedef struct
{
  int status;
  char *out;
  gsize out_len;
  char *err;
} Run;

static void
run_free (Run *r)
{
  g_free (r->out);
  g_free (r->err);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Run, run_free)

/* `sekisho ARGV…` under LOCALE (LANG and LC_ALL), no stdin. */
static Run *
run_in (const char *locale, const char *const *args)
{
  g_autoptr (GSubprocessLauncher) launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) out = NULL, err = NULL;

  g_subprocess_launcher_setenv (launcher, "LANG", locale, TRUE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", locale, TRUE);
  g_subprocess_launcher_unsetenv (launcher, "LANGUAGE");
  g_subprocess_launcher_unsetenv (launcher, "GNUPGHOME");
  g_subprocess_launcher_setenv (launcher, "TZ", "Asia/Tokyo", TRUE);
  g_ptr_array_add (argv, (char *)cli);
  for (gsize i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *)args[i]);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GSubprocess) proc =
      g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate (proc, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (proc));

  Run *r = g_new0 (Run, 1);
  r->status = g_subprocess_get_exit_status (proc);
  gsize len = 0;
  const char *data = g_bytes_get_data (out, &len);
  r->out = g_strndup (data != NULL ? data : "", len);
  r->out_len = len;
  data = g_bytes_get_data (err, &len);
  r->err = g_strndup (data != NULL ? data : "", len);
  return r;
}

static Run *
run (const char *locale, const char *first, ...) G_GNUC_NULL_TERMINATED;
static Run *
run (const char *locale, const char *first, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *)a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  return run_in (locale, (const char *const *)args->pdata);
}

static void
expect_status (Run *r, int status)
{
  if (r->status != status)
    g_test_message ("exit %d, expected %d\nstdout: %s\nstderr: %s", r->status, status, r->out,
                    r->err);
  g_assert_cmpint (r->status, ==, status);
}

static JsonObject *
parse_json (Run *r, JsonParser *parser)
{
  g_autoptr (GError) error = NULL;
  json_parser_load_from_data (parser, r->out, (gssize)r->out_len, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_node_get_object (json_parser_get_root (parser));
}

/* ---- help at every level ----------------------------------------------- */

static const char *const locales[] = { "C.UTF-8", "ja_JP.UTF-8", NULL };

/* `sekisho WORDS --help`: the usage line names the command, a sentence
 * says what it does, an example shows it; in English and in Japanese. */
static void
check_command_help (const char *locale, const char *words)
{
  gboolean ja = g_str_has_prefix (locale, "ja");
  g_auto (GStrv) split = g_strsplit (words, " ", -1);
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  for (gsize i = 0; split[i] != NULL; i++)
    g_ptr_array_add (args, split[i]);
  g_ptr_array_add (args, (char *)"--help");
  g_ptr_array_add (args, NULL);
  g_autoptr (Run) r = run_in (locale, (const char *const *)args->pdata);

  expect_status (r, 0);
  g_assert_cmpstr (r->err, ==, "");
  g_auto (GStrv) lines = g_strsplit (r->out, "\n", -1);
  g_autofree char *usage = g_strdup_printf ("%s sekisho %s", ja ? "使い方:" : "Usage:", words);
  g_assert_true (g_strv_length (lines) > 4);
  if (!g_str_has_prefix (lines[0], usage))
    g_test_message ("help of “%s” under %s begins “%s”", words, locale, lines[0]);
  g_assert_true (g_str_has_prefix (lines[0], usage));
  g_assert_cmpstr (lines[1], ==, "");
  /* The sentence: not empty, and in the locale's language. */
  g_assert_cmpuint (strlen (lines[2]), >, 10);
  gboolean ascii = TRUE;
  for (const char *p = lines[2]; *p != '\0'; p++)
    ascii = ascii && (guchar)*p < 0x80;
  g_assert_true (ja ? !ascii : ascii);
  g_autofree char *example = g_strdup_printf ("\n%s\n  sekisho ", ja ? "使用例:" : "Example:");
  g_assert_nonnull (strstr (r->out, example));
}

static void
test_help_every_command (void)
{
  g_autoptr (Run) top = run ("C.UTF-8", "--json", "--help", NULL);
  expect_status (top, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *obj = parse_json (top, parser);
  JsonArray *commands = json_object_get_array_member (obj, "commands");
  g_assert_cmpuint (json_array_get_length (commands), >=, 20);
  g_autoptr (GHashTable) groups = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < json_array_get_length (commands); i++)
    {
      JsonObject *c = json_array_get_object_element (commands, i);
      const char *words = json_object_get_string_member (c, "command");
      g_assert_cmpstr (json_object_get_string_member (c, "summary"), !=, "");
      for (gsize l = 0; locales[l] != NULL; l++)
        check_command_help (locales[l], words);
      if (!json_object_get_null_member (c, "group"))
        g_hash_table_add (groups, (gpointer)json_object_get_string_member (c, "group"));
    }

  /* A group's help lists its commands; -h and --help alike. */
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init (&iter, groups);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_autoptr (Run) h = run ("C.UTF-8", key, "-h", NULL);
      expect_status (h, 0);
      g_autofree char *usage = g_strdup_printf ("Usage: sekisho %s COMMAND", (char *)key);
      g_assert_true (g_str_has_prefix (h->out, usage));
      g_autoptr (Run) ja = run ("ja_JP.UTF-8", key, "--help", NULL);
      expect_status (ja, 0);
      g_assert_true (g_str_has_prefix (ja->out, "使い方: sekisho"));
    }

  /* Help wherever it stands, even after other options. */
  g_autoptr (Run) late = run ("C.UTF-8", "journal", "show", "--event", "x", "-h", NULL);
  expect_status (late, 0);
  g_assert_true (g_str_has_prefix (late->out, "Usage: sekisho journal show"));
  g_autoptr (Run) first = run ("C.UTF-8", "-h", NULL);
  expect_status (first, 0);
  g_assert_true (g_str_has_prefix (first->out, "Usage: sekisho"));
}

/* ---- did you mean ------------------------------------------------------ */

static void
expect_usage (Run *r, const char *needle)
{
  expect_status (r, 2);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *obj = parse_json (r, parser);
  g_assert_cmpstr (json_object_get_string_member (obj, "reason"), ==, "usage");
  const char *message = json_object_get_string_member (obj, "message");
  if (strstr (message, needle) == NULL)
    g_test_message ("“%s” lacks “%s”", message, needle);
  g_assert_nonnull (strstr (message, needle));
}

static void
test_did_you_mean (void)
{
  g_autoptr (Run) group = run ("C.UTF-8", "--json", "jurnal", "show", NULL);
  expect_usage (group, "did you mean “journal”");
  g_autoptr (Run) sub = run ("C.UTF-8", "--json", "journal", "verfy", NULL);
  expect_usage (sub, "did you mean “verify”");
  g_autoptr (Run) option = run ("C.UTF-8", "validate", "--jsn", "x.csv", "--json", NULL);
  expect_usage (option, "did you mean “--json”");
  g_autoptr (Run) local = run ("C.UTF-8", "--json", "pack", "--workflw", "subscriber", NULL);
  expect_usage (local, "did you mean “--workflow”");
  g_autoptr (Run) workflow = run ("C.UTF-8", "--json", "pack", "--workflow", "subscribr", "--case",
                                  "0000000001", "--out", "/tmp", "x.csv", NULL);
  expect_usage (workflow, "did you mean “subscriber”? One of: subscriber, duplicate, inquiry, "
                          "identity");
  /* A signature or a folder where a package or a file belongs. */
  g_autoptr (Run) sig = run ("C.UTF-8", "--json", "check", "/tmp/x.tar.gpg.sig", NULL);
  expect_usage (sig, "is a signature");
  g_autoptr (Run) folder = run ("C.UTF-8", "--json", "check", "/tmp", NULL);
  expect_usage (folder, "is a folder");
  g_autoptr (Run) validate = run ("C.UTF-8", "--json", "validate", "/tmp", NULL);
  expect_usage (validate, "is a folder");
  /* Nothing near: the valid values are listed all the same. */
  g_autoptr (Run) far = run ("C.UTF-8", "--json", "station", "zzzzzz", NULL);
  expect_usage (far, "init");
}

/* ---- global options anywhere ------------------------------------------- */

typedef struct
{
  char *tmp;
  SkTestStations st;
  char *terminal; /* the terminal's station folder */
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fx->tmp = g_dir_make_tmp ("skct-XXXXXX", &error);
  g_assert_no_error (error);
  sk_test_stations_make (fx->tmp, &fx->st);
  fx->terminal = g_strdup (sk_station_get_dir (fx->st.term));
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  sk_test_stations_clear (&fx->st);
  sk_test_remove_tree (fx->tmp);
  g_free (fx->tmp);
  g_free (fx->terminal);
}

static void
test_global_options_anywhere (Fixture *fx, gconstpointer data)
{
  g_autoptr (Run) after =
      run ("C.UTF-8", "journal", "verify", "--json", "--station", fx->terminal, NULL);
  expect_status (after, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *obj = parse_json (after, parser);
  g_assert_true (json_object_get_boolean_member (obj, "ok"));
  g_assert_cmpint (json_object_get_int_member (obj, "entries"), >, 0);

  g_autofree char *eq = g_strconcat ("--station=", fx->terminal, NULL);
  g_autoptr (Run) between = run ("C.UTF-8", "journal", eq, "--json", "verify", NULL);
  expect_status (between, 0);
  g_assert_true (g_str_has_prefix (between->out, "{\"ok\":true"));

  g_autoptr (Run) missing = run ("C.UTF-8", "--json", "journal", "verify", "--station", NULL);
  expect_usage (missing, "--station");
}

/* An entry with Japanese text in it (a login and field names, never a
 * personal value), appended through the core as the pipeline would. */
static void
append_japanese_entry (Fixture *fx)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkJournal) journal = sk_station_open_journal (fx->st.term, FALSE, &error);
  g_assert_no_error (error);
  SkJournalEntry e = {
    .event = "download-refused",
    .outcome = "refused",
    .reason = "field-missing",
    .uid = 1000,
    .login = "担当者1",
    .role = "operator",
    .case_id = "0000000001",
    .details = "{\"file\":\"KNY02_結果.csv\",\"field_name\":\"被保険者枝番\",\"record\":3}",
  };
  g_assert_cmpint (sk_journal_record (journal, &e, &error), >, 0);
  g_assert_no_error (error);
}

/* The same JSON bytes whatever the locale: UTF-8 text, English messages,
 * UTC times; refusals and usage errors included. */
static void
test_json_same_bytes (Fixture *fx, gconstpointer data)
{
  append_japanese_entry (fx);
  const char *const commands[][8] = {
    { "journal", "show", NULL },
    { "journal", "verify", NULL },
    { "journal", "show", "--event", "no-such-event", NULL },
    { "journal", "show", "--reason", "field-missing", "-n", "1", NULL },
    { "jurnal", NULL },
    { "--help", NULL },
    { "journal", "show", "--since", "someday", NULL },
  };
  const char *const json_locales[] = { "C", "C.UTF-8", "ja_JP.UTF-8" };

  for (gsize c = 0; c < G_N_ELEMENTS (commands); c++)
    {
      g_autofree char *first = NULL;
      for (gsize l = 0; l < G_N_ELEMENTS (json_locales); l++)
        {
          g_autoptr (GPtrArray) args = g_ptr_array_new ();
          g_ptr_array_add (args, (char *)"--json");
          g_ptr_array_add (args, (char *)"--station");
          g_ptr_array_add (args, fx->terminal);
          for (gsize i = 0; commands[c][i] != NULL; i++)
            g_ptr_array_add (args, (char *)commands[c][i]);
          g_ptr_array_add (args, NULL);
          g_autoptr (Run) r = run_in (json_locales[l], (const char *const *)args->pdata);
          g_assert_true (g_utf8_validate (r->out, (gssize)r->out_len, NULL));
          g_assert_null (strstr (r->out, "??"));
          if (first == NULL)
            first = g_strdup (r->out);
          else if (!g_str_equal (first, r->out))
            {
              g_test_message ("%s differs under %s:\n%s\n%s", commands[c][0], json_locales[l],
                              first, r->out);
              g_assert_cmpstr (first, ==, r->out);
            }
        }
    }
  /* The Japanese text is there, as UTF-8, and details are an object. */
  g_autoptr (Run) r = run ("C", "--json", "--station", fx->terminal, "journal", "show", "--reason",
                           "field-missing", NULL);
  expect_status (r, 0);
  g_assert_nonnull (strstr (r->out, "\"login\":\"担当者1\""));
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *obj = parse_json (r, parser);
  JsonArray *entries = json_object_get_array_member (obj, "entries");
  g_assert_cmpuint (json_array_get_length (entries), ==, 1);
  JsonObject *details =
      json_object_get_object_member (json_array_get_object_element (entries, 0), "details");
  g_assert_nonnull (details);
  g_assert_cmpstr (json_object_get_string_member (details, "field_name"), ==, "被保険者枝番");
  g_assert_cmpint (json_object_get_int_member (details, "record"), ==, 3);

  /* Human output under LANG=C: English, but names as UTF-8, not "?". */
  g_autoptr (Run) human =
      run ("C", "--station", fx->terminal, "journal", "show", "--reason", "field-missing", NULL);
  expect_status (human, 0);
  g_assert_nonnull (strstr (human->out, "担当者1"));
  g_assert_nonnull (strstr (human->out, "1 entry."));
}

static gint64
count_entries (Fixture *fx, const char *first, ...) G_GNUC_NULL_TERMINATED;
static gint64
count_entries (Fixture *fx, const char *first, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  g_ptr_array_add (args, (char *)"--json");
  g_ptr_array_add (args, fx->terminal);
  g_ptr_array_insert (args, 1, (char *)"--station");
  g_ptr_array_add (args, (char *)"journal");
  g_ptr_array_add (args, (char *)"show");
  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *)a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  g_autoptr (Run) r = run_in ("C.UTF-8", (const char *const *)args->pdata);
  expect_status (r, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *obj = parse_json (r, parser);
  JsonArray *entries = json_object_get_array_member (obj, "entries");
  if (json_array_get_length (entries) > 0)
    return json_array_get_length (entries) * 1000 +
           json_object_get_int_member (json_array_get_object_element (entries, 0), "seq");
  return 0;
}

/* -n, repeated filters, times people type, names that do not exist. */
static void
test_journal_show_filters (Fixture *fx, gconstpointer data)
{
  /* The station: created and its policy installed (keys go in through the
   * core, unjournaled); then the test's entry: 3 rows.  count_entries
   * gives rows × 1000 + the first row's seq. */
  append_japanese_entry (fx);
  g_assert_cmpint (count_entries (fx, "--since", "2000-01-01", NULL), ==, 3001);
  g_assert_cmpint (count_entries (fx, "-n", "2", NULL), ==, 2002);
  g_assert_cmpint (count_entries (fx, "--lines=1", NULL), ==, 1003);
  /* One kind repeated: either; two kinds: both. */
  g_assert_cmpint (
      count_entries (fx, "--event", "station-created", "--event", "download-refused", NULL), ==,
      2001);
  g_assert_cmpint (
      count_entries (fx, "--event", "station-created", "--reason", "field-missing", NULL), ==, 0);
  g_assert_cmpint (count_entries (fx, "--event", "download-refused", "--case", "0000000001",
                                  "--case", "0000000002", NULL),
                   ==, 1003);
  g_assert_cmpint (count_entries (fx, "--event", "station-created", "--event", "download-refused",
                                  "-n", "1", NULL),
                   ==, 1003);
  /* Times: today and local date-times include everything made just now;
   * tomorrow's date and "until yesterday" nothing. */
  /* In the CLI's zone (run_in sets TZ=Asia/Tokyo). */
  g_autoptr (GTimeZone) tokyo = g_time_zone_new_identifier ("Asia/Tokyo");
  g_assert_nonnull (tokyo);
  g_autoptr (GDateTime) now = g_date_time_new_now (tokyo);
  g_autoptr (GDateTime) tomorrow = g_date_time_add_days (now, 1);
  g_autoptr (GDateTime) hour_ago = g_date_time_add_hours (now, -1);
  g_autofree char *tomorrow_date = g_date_time_format (tomorrow, "%Y-%m-%d");
  g_autofree char *local_minute = g_date_time_format (hour_ago, "%Y-%m-%d %H:%M");
  g_autofree char *local_second = g_date_time_format (hour_ago, "%Y-%m-%dT%H:%M:%S");
  g_assert_cmpint (count_entries (fx, "--since", "today", NULL), ==, 3001);
  g_assert_cmpint (count_entries (fx, "--since", "yesterday", NULL), ==, 3001);
  g_assert_cmpint (count_entries (fx, "--until", "yesterday", NULL), ==, 0);
  g_assert_cmpint (count_entries (fx, "--since", tomorrow_date, NULL), ==, 0);
  g_assert_cmpint (count_entries (fx, "--since", local_minute, NULL), ==, 3001);
  g_assert_cmpint (count_entries (fx, "--since", local_second, NULL), ==, 3001);
  g_assert_cmpint (count_entries (fx, "--since", "2000-01-01T00:00:00Z", NULL), ==, 3001);

  /* A misspelt event or reason is a usage error naming the right one. */
  g_autoptr (Run) event = run ("C.UTF-8", "--json", "--station", fx->terminal, "journal", "show",
                               "--event", "station-creatd", NULL);
  expect_usage (event, "did you mean “station-created”");
  g_autoptr (Run) reason = run ("C.UTF-8", "--json", "--station", fx->terminal, "journal", "show",
                                "--reason", "field-mising", NULL);
  expect_usage (reason, "did you mean “field-missing”");
  g_autoptr (Run) since = run ("C.UTF-8", "--json", "--station", fx->terminal, "journal", "show",
                               "--since", "2026-02-30", NULL);
  expect_usage (since, "--since");
  g_autoptr (Run) lines =
      run ("C.UTF-8", "--json", "--station", fx->terminal, "journal", "show", "-n", "-3", NULL);
  expect_usage (lines, "-n");

  /* Details nested 200,000 deep (a row someone wrote by hand) are shown
   * as the text they are, not handed to json-glib's recursive parser. */
  g_autoptr (GError) error = NULL;
  g_autoptr (SkJournal) journal = sk_station_open_journal (fx->st.term, FALSE, &error);
  g_assert_no_error (error);
  g_autoptr (GString) deep = g_string_new (NULL);
  for (int i = 0; i < 200000; i++)
    g_string_append_c (deep, '[');
  for (int i = 0; i < 200000; i++)
    g_string_append_c (deep, ']');
  SkJournalEntry e = { .event = "item-lost", .outcome = "failed", .uid = -1, .details = deep->str };
  g_assert_cmpint (sk_journal_record (journal, &e, &error), >, 0);
  g_assert_no_error (error);
  g_autoptr (Run) shown = run ("C.UTF-8", "--json", "--station", fx->terminal, "journal", "show",
                               "--event", "item-lost", NULL);
  expect_status (shown, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *obj = parse_json (shown, parser);
  JsonObject *row =
      json_array_get_object_element (json_object_get_array_member (obj, "entries"), 0);
  g_assert_cmpstr (json_object_get_string_member (row, "details"), ==, deep->str);
}

/* ---- the exported record ---------------------------------------------- */

static char *
slurp (const char *path, gsize *len)
{
  g_autoptr (GError) error = NULL;
  char *data = NULL;
  g_file_get_contents (path, &data, len, &error);
  g_assert_no_error (error);
  return data;
}

static void
spill (const char *path, const char *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, data, (gssize)len, &error);
  g_assert_no_error (error);
}

/* `journal verify --export` of CSV; returns the first bad row (0: it
 * verifies) after checking the envelope. */
static gint64
verify_export (Fixture *fx, const char *csv, const char *checkpoint, const char *key)
{
  g_autoptr (Run) r = run ("C.UTF-8", "--json", "journal", "verify", "--export", csv,
                           "--checkpoint", checkpoint, "--key", key, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *obj = parse_json (r, parser);
  if (r->status == 0)
    {
      g_assert_true (json_object_get_null_member (obj, "first_bad_row"));
      return 0;
    }
  expect_status (r, 1);
  g_assert_cmpstr (json_object_get_string_member (obj, "reason"), ==, "journal-invalid");
  gint64 row = json_object_get_int_member (obj, "first_bad_row");
  g_autofree char *named = g_strdup_printf ("row %" G_GINT64_FORMAT " ", row);
  g_assert_nonnull (strstr (json_object_get_string_member (obj, "message"), named));
  return row;
}

/* The lines of a CRLF file, the BOM kept on the first. */
static GStrv
csv_lines (const char *text)
{
  return g_strsplit (text, "\r\n", -1);
}

static void
test_export_verify (Fixture *fx, gconstpointer data)
{
  append_japanese_entry (fx);
  g_autofree char *csv = g_build_filename (fx->tmp, "監査.csv", NULL);
  g_autofree char *cp = g_strconcat (csv, ".checkpoint.json", NULL);
  g_autofree char *key = g_build_filename (fx->tmp, "station.gpg", NULL);
  spill (key, g_bytes_get_data (sk_test_keys.terminal_pub, NULL),
         g_bytes_get_size (sk_test_keys.terminal_pub));

  /* Under a Japanese locale: Japanese headers, a checkpoint made for
   * exactly these rows. */
  g_autoptr (Run) ex =
      run ("ja_JP.UTF-8", "--station", fx->terminal, "journal", "export", "--out", csv, NULL);
  expect_status (ex, 0);
  g_autoptr (Run) again =
      run ("C.UTF-8", "--json", "--station", fx->terminal, "journal", "export", "--out", csv, NULL);
  expect_usage (again, "--force");
  g_autoptr (Run) forced = run ("C.UTF-8", "--json", "--station", fx->terminal, "journal", "export",
                                "--out", csv, "--force", "--headers", "ja", NULL);
  expect_status (forced, 0);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *obj = parse_json (forced, parser);
  gint64 rows = json_object_get_int_member (obj, "rows");
  g_assert_cmpint (rows, ==, 3);
  g_assert_cmpint (json_object_get_int_member (obj, "checkpoint_seq"), ==, rows);
  g_assert_cmpstr (json_object_get_string_member (obj, "checkpoint"), ==, cp);

  /* What a spreadsheet or a script reads: Python's csv with utf-8-sig. */
  const char *script =
      "import csv, json, sys\n"
      "rows = list(csv.reader(open(sys.argv[1], encoding='utf-8-sig', newline='')))\n"
      "print(json.dumps({'header': rows[0], 'rows': len(rows) - 1,\n"
      "                  'logins': [r[7] for r in rows[1:]]}, ensure_ascii=False))\n";
  const char *py[] = { "/usr/bin/python3", "-c", script, csv, NULL };
  g_autoptr (GBytes) py_out = NULL;
  g_assert_cmpint (sk_test_run (py, NULL, &py_out), ==, 0);
  g_autoptr (JsonParser) py_parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  json_parser_load_from_data (py_parser, g_bytes_get_data (py_out, NULL),
                              (gssize)g_bytes_get_size (py_out), &error);
  g_assert_no_error (error);
  JsonObject *py_obj = json_node_get_object (json_parser_get_root (py_parser));
  JsonArray *header = json_object_get_array_member (py_obj, "header");
  const char *expect[] = { "連番", "時刻（UTC）", "時刻（現地）", "事象", "結果", "理由コード" };
  for (guint i = 0; i < G_N_ELEMENTS (expect); i++)
    g_assert_cmpstr (json_array_get_string_element (header, i), ==, expect[i]);
  g_assert_cmpint (json_object_get_int_member (py_obj, "rows"), ==, rows);
  g_assert_cmpstr (
      json_array_get_string_element (json_object_get_array_member (py_obj, "logins"), 2), ==,
      "担当者1");

  /* It verifies off the station, with the station's public key only. */
  g_assert_cmpint (verify_export (fx, csv, cp, key), ==, 0);

  gsize len = 0;
  g_autofree char *text = slurp (csv, &len);
  g_auto (GStrv) lines = csv_lines (text);
  g_assert_cmpuint (g_strv_length (lines), ==, rows + 2);
  g_autofree char *bad = g_build_filename (fx->tmp, "bad.csv", NULL);
  /* One cell of row 4 (seq 3). */
  {
    g_autoptr (GString) t = g_string_new (text);
    g_assert_cmpuint (g_string_replace (t, "担当者1", "担当者2", 1), ==, 1);
    spill (bad, t->str, t->len);
    g_assert_cmpint (verify_export (fx, bad, cp, key), ==, 4);
  }
  /* Row 2 deleted: row 2 (now seq 2's) is named. */
  {
    g_autofree char *cut = g_strjoin ("\r\n", lines[0], lines[2], lines[3], "", NULL);
    spill (bad, cut, strlen (cut));
    g_assert_cmpint (verify_export (fx, bad, cp, key), ==, 2);
  }
  /* The tail cut. */
  {
    g_autofree char *cut = g_strjoin ("\r\n", lines[0], lines[1], lines[2], "", NULL);
    spill (bad, cut, strlen (cut));
    g_assert_cmpint (verify_export (fx, bad, cp, key), ==, 4);
  }
  /* Another key than the checkpoint's signer: refused before any row. */
  {
    g_autofree char *other = g_build_filename (fx->tmp, "other.gpg", NULL);
    spill (other, g_bytes_get_data (sk_test_keys.standard_pub, NULL),
           g_bytes_get_size (sk_test_keys.standard_pub));
    g_autoptr (Run) r = run ("C.UTF-8", "--json", "journal", "verify", "--export", csv,
                             "--checkpoint", cp, "--key", other, NULL);
    expect_status (r, 1);
  }

  /* To standard output, English headers; the outcome on standard error. */
  g_autoptr (Run) out = run ("C.UTF-8", "--station", fx->terminal, "journal", "export", "--out",
                             "-", "--headers", "en", NULL);
  expect_status (out, 0);
  g_assert_true (g_str_has_prefix (out->out, "\xEF\xBB\xBF"
                                             "seq,time_utc,time_local,"));
  g_assert_nonnull (strstr (out->err, "3 entries"));
  g_autoptr (Run) bad_lang = run ("C.UTF-8", "--json", "--station", fx->terminal, "journal",
                                  "export", "--out", "-", "--headers", "de", NULL);
  expect_usage (bad_lang, "ja, en");
}

/* ---- no untranslated message under Japanese ---------------------------- */

static char *
po_unescape (const char *s)
{
  GString *out = g_string_new (NULL);
  for (const char *p = s; *p != '\0'; p++)
    {
      if (*p == '\\' && p[1] != '\0')
        {
          p++;
          g_string_append_c (out, *p == 'n' ? '\n' : *p == 't' ? '\t' : *p);
        }
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

/* The English text of every message in the template, cut at its
 * conversions and line ends into fragments long enough to be sentences
 * (three words or more) and ASCII only. */
static GPtrArray *
english_fragments (void)
{
  const char *pot = g_getenv ("SEKISHO_POT");
  g_assert_nonnull (pot);
  gsize len = 0;
  g_autofree char *text = slurp (pot, &len);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GPtrArray) msgids = g_ptr_array_new_with_free_func (g_free);
  GString *cur = NULL;
  for (gsize i = 0; lines[i] != NULL; i++)
    {
      const char *l = lines[i];
      if (g_str_has_prefix (l, "msgid \"") || g_str_has_prefix (l, "msgid_plural \""))
        {
          if (cur != NULL)
            g_ptr_array_add (msgids, g_string_free (cur, FALSE));
          cur = g_string_new (NULL);
          const char *q = strchr (l, '"') + 1;
          g_string_append_len (cur, q, (gssize)strlen (q) - 1);
        }
      else if (cur != NULL && l[0] == '"')
        g_string_append_len (cur, l + 1, (gssize)strlen (l) - 2);
      else if (cur != NULL)
        {
          g_ptr_array_add (msgids, g_string_free (cur, FALSE));
          cur = NULL;
        }
    }
  if (cur != NULL)
    g_ptr_array_add (msgids, g_string_free (cur, FALSE));

  g_autoptr (GRegex) cut = g_regex_new ("%[-0-9.$]*l*[sduxc]|\\n|[“”()「」]", 0, 0, NULL);
  GPtrArray *fragments = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < msgids->len; i++)
    {
      g_autofree char *msgid = po_unescape (g_ptr_array_index (msgids, i));
      g_auto (GStrv) parts = g_regex_split (cut, msgid, 0);
      for (gsize j = 0; parts[j] != NULL; j++)
        {
          g_autofree char *part = g_strstrip (g_strdup (parts[j]));
          gboolean ascii = TRUE;
          guint spaces = 0;
          for (const char *p = part; *p != '\0'; p++)
            {
              ascii = ascii && (guchar)*p < 0x80;
              spaces += *p == ' ';
            }
          /* Command lines stay as they are typed. */
          gboolean command = g_str_has_prefix (part, "sekisho ") || strstr (part, "--") != NULL;
          if (ascii && !command && spaces >= 2 && strlen (part) >= 12)
            g_ptr_array_add (fragments, g_steal_pointer (&part));
        }
    }
  return fragments;
}

static void
expect_translated (GPtrArray *fragments, const char *what, const char *text)
{
  for (guint i = 0; i < fragments->len; i++)
    {
      const char *f = g_ptr_array_index (fragments, i);
      if (strstr (text, f) != NULL)
        {
          g_test_message ("untranslated under ja_JP.UTF-8 in %s: “%s”\n%s", what, f, text);
          g_assert_null (strstr (text, f));
        }
    }
}

/* Commands a Japanese operator or auditor runs, their refusals included:
 * no message of the catalogue comes out in English. */
static void
test_japanese_complete (Fixture *fx, gconstpointer data)
{
  g_autoptr (GPtrArray) fragments = english_fragments ();
  g_assert_cmpuint (fragments->len, >, 100);
  append_japanese_entry (fx);
  g_autofree char *csv = g_build_filename (fx->tmp, "j.csv", NULL);
  g_autofree char *cp = g_strconcat (csv, ".checkpoint.json", NULL);
  g_autofree char *key = g_build_filename (fx->tmp, "station.gpg", NULL);
  spill (key, g_bytes_get_data (sk_test_keys.terminal_pub, NULL),
         g_bytes_get_size (sk_test_keys.terminal_pub));
  g_autofree char *bad = g_build_filename (fx->tmp, "bad.csv", NULL);
  g_autofree char *run_dir = g_build_filename (fx->tmp, "run", NULL);
  g_assert_cmpint (g_mkdir (run_dir, 0755), ==, 0);

  const char *st = fx->terminal;
  const char *const commands[][12] = {
    { "--station", st, "--handoff-root", run_dir, "station", "status", NULL },
    { "--station", st, "key", "list", NULL },
    { "--station", st, "policy", "show", NULL },
    { "--station", st, "journal", "show", "-n", "3", NULL },
    { "--station", st, "journal", "verify", NULL },
    { "--station", st, "journal", "checkpoint", NULL },
    { "--station", st, "journal", "export", "--out", csv, NULL },
    { "--station", st, "journal", "export", "--out", csv, NULL },
    { "journal", "verify", "--export", csv, "--checkpoint", cp, "--key", key, NULL },
    { "journal", "verify", "--export", bad, "--checkpoint", cp, "--key", key, NULL },
    { "--station", st, "--handoff-root", run_dir, "case", "list", NULL },
    { "--station", st, "--handoff-root", run_dir, "case", "show", "0000000009", NULL },
    { "--station", st, "journal", "show", "--event", "pakage-imported", NULL },
    { "--station", st, "journal", "show", "--since", "someday", NULL },
    { "--station", "/nonexistent/station", "journal", "verify", NULL },
    { "validate", "--jsn", NULL },
    { "jurnal", NULL },
    { "journal", NULL },
    { "--help", NULL },
  };
  for (gsize c = 0; c < G_N_ELEMENTS (commands); c++)
    {
      if (c == 9)
        {
          /* A record with one cell changed, for the refusal. */
          gsize len = 0;
          g_autofree char *text = slurp (csv, &len);
          g_autoptr (GString) t = g_string_new (text);
          g_string_replace (t, "担当者1", "担当者2", 1);
          spill (bad, t->str, t->len);
        }
      g_autoptr (Run) r = run_in ("ja_JP.UTF-8", commands[c]);
      g_autofree char *all = g_strconcat (r->out, r->err, NULL);
      g_assert_cmpstr (all, !=, "");
      g_autofree char *what = g_strjoinv (" ", (char **)commands[c]);
      expect_translated (fragments, what, all);
    }

  /* A refusal from the package reader reads in Japanese: the library's
   * message is in the catalogue, so no English detail follows it. */
  g_autofree char *pkg = g_build_filename (fx->tmp, "x.tar.gpg", NULL);
  spill (pkg, "", 0);
  g_autoptr (Run) r = run ("ja_JP.UTF-8", "--station", st, "check", pkg, NULL);
  expect_status (r, 1);
  g_assert_cmpstr (r->err, ==, "sekisho: パッケージに署名ファイルがありません [sig-missing]\n");
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "C.UTF-8");
  g_test_init (&argc, &argv, NULL);
  cli = g_getenv ("SEKISHO_CLI");
  if (cli == NULL)
    {
      g_printerr ("test-cli-text: $SEKISHO_CLI is not set; run it with `meson test`\n");
      return 77;
    }

  g_test_add_func ("/cli-text/help/every-command", test_help_every_command);
  g_test_add_func ("/cli-text/usage/did-you-mean", test_did_you_mean);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/cli-text/global-options-anywhere", test_global_options_anywhere);
  ADD ("/cli-text/json-same-bytes", test_json_same_bytes);
  ADD ("/cli-text/journal/show-filters", test_journal_show_filters);
  ADD ("/cli-text/journal/export-verify", test_export_verify);
  ADD ("/cli-text/japanese-complete", test_japanese_complete);
#undef ADD

  int ret = g_test_run ();
  sk_test_keys_free ();
  return ret;
}
