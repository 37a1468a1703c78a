/* test-station-state.c — a station after real work (issue 16): every file
 * it made is 0600 and every folder 0700; `station status`, `key list`,
 * `policy show`, `case list` and `case show` say what it holds and when
 * each deadline falls.
 *
 * The four workflows run end to end on a real terminal station (packed on
 * a real standard station, imported, handed off, uploaded, taken in,
 * exported), with a checkpoint and a sweep; then both stations are walked.
 * The process umask is 022, the usual default, so that a file made with
 * the default mode is caught.  The CLI runs as the real binary.
 */
#define G_LOG_DOMAIN "sekisho-test"

#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <string.h>
#include <sys/stat.h>

#include "sk-schema.h"
#include "sk-test-pipeline.h"

typedef SkPipelineFixture Fixture;

/* Every entry under DIR (not following links): regular files 0600 or
 * stricter, folders 0700, sockets (gpg-agent's) owner-only; symlinks stay
 * inside. Returns how many files were seen. */
static guint
walk (const char *dir, GString *bad)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);
  guint files = 0;
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      GStatBuf st;
      g_assert_cmpint (g_lstat (path, &st), ==, 0);
      mode_t perm = st.st_mode & 07777;
      if (S_ISDIR (st.st_mode))
        {
          if (perm != 0700)
            g_string_append_printf (bad, "  %04o %s/\n", perm, path);
          files += walk (path, bad);
        }
      else if (S_ISREG (st.st_mode))
        {
          files++;
          if ((perm & 07177) != 0)
            g_string_append_printf (bad, "  %04o %s\n", perm, path);
        }
      else if (S_ISSOCK (st.st_mode))
        {
          if ((perm & 077) != 0)
            g_string_append_printf (bad, "  %04o %s (socket)\n", perm, path);
        }
      else if (S_ISLNK (st.st_mode))
        {
          g_autofree char *target = g_file_read_link (path, NULL);
          g_assert_nonnull (target);
          g_assert_false (g_path_is_absolute (target));
          g_assert_null (strstr (target, ".."));
        }
      else
        g_string_append_printf (bad, "  %04o %s (not a file, folder or link)\n", perm, path);
    }
  return files;
}

static void
test_four_workflows (Fixture *fx, gconstpointer data)
{
  const struct
  {
    const char *workflow, *request, *result;
  } flows[] = {
    { "subscriber", "KNY01", "KNY02" },
    { "duplicate", "FKH01", "FKH09" },
    { "inquiry", "SKI01", "SKI02" },
    { "identity", "JLS01", "JLS02" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (flows); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *id = pf_case_with_result (fx, flows[i].workflow, flows[i].request,
                                                 flows[i].result, 60 + i, 20);
      g_autofree char *exported =
          sk_pipeline_export (fx->pipe, &fx->op, id, fx->out, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (exported);
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *cp =
      sk_station_make_checkpoint (fx->st.term, sk_actor_for_process (SK_ROLE_AUDITOR), &error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (cp, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (sk_pipeline_sweep (fx->pipe, &error), >=, 0);
  g_assert_no_error (error);

  /* Every event the workflows journaled is one journal show knows by name
   * (sk_journal_known_events), so that --event accepts it on a new station. */
  g_autoptr (SkJournal) journal = sk_station_open_journal (fx->st.term, FALSE, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) rows = sk_journal_query (journal, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < rows->len; i++)
    {
      const SkJournalRow *row = g_ptr_array_index (rows, i);
      if (!g_strv_contains (sk_journal_known_events (), row->event))
        g_test_message ("event %s is missing from sk-journal.c's list", row->event);
      g_assert_true (g_strv_contains (sk_journal_known_events (), row->event));
    }

  SkStation *stations[] = { fx->st.term, fx->st.std };
  for (gsize s = 0; s < G_N_ELEMENTS (stations); s++)
    {
      g_autoptr (GString) bad = g_string_new (NULL);
      const char *dir = sk_station_get_dir (stations[s]);
      GStatBuf st;
      g_assert_cmpint (g_stat (dir, &st), ==, 0);
      g_assert_cmpint (st.st_mode & 07777, ==, 0700);
      guint files = walk (dir, bad);
      /* The journal, its WAL, the configuration, the keyring, a policy… */
      g_assert_cmpuint (files, >=, 8);
      if (bad->len > 0)
        g_test_message ("wider than 0600/0700 in %s:\n%s", dir, bad->str);
      g_assert_cmpuint (bad->len, ==, 0);
    }
}

static JsonObject *
cli_json (Fixture *fx, JsonParser *parser, const char *const *args, const char *locale)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) "--json");
  for (gsize i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer)args[i]);
  g_ptr_array_add (argv, NULL);
  g_autofree char *out = NULL, *err = NULL;
  int status = pf_cli_run (fx, NULL, (const char *const *)argv->pdata, &out, &err);
  if (status != 0)
    g_test_message ("%s: %s%s", args[0], out, err);
  g_assert_cmpint (status, ==, 0);
  g_autoptr (GError) error = NULL;
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

/* The deadline WHAT of the case in OBJ, or NULL. */
static JsonObject *
find_deadline (JsonObject *c, const char *what)
{
  JsonArray *deadlines = json_object_get_array_member (c, "deadlines");
  for (guint i = 0; i < json_array_get_length (deadlines); i++)
    {
      JsonObject *d = json_array_get_object_element (deadlines, i);
      if (g_str_equal (json_object_get_string_member (d, "what"), what))
        return d;
    }
  return NULL;
}

/* One case exported, one handed off, one only imported: each shows the
 * deadline that applies to it, with the time left. */
static void
test_at_a_glance (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const SkRetention *r = sk_policy_get_retention (fx->st.term_policy);
  g_autofree char *done = pf_case_with_result (fx, "subscriber", "KNY01", "KNY02", 71, 10);
  g_autofree char *exported =
      sk_pipeline_export (fx->pipe, &fx->op, done, fx->out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (exported);
  g_autofree char *waiting = pf_imported_case (fx, "identity", "JLS01", 72, 10);
  g_autofree char *handed = pf_imported_case (fx, "duplicate", "FKH01", 73, 10);
  g_autoptr (GPtrArray) paths =
      sk_pipeline_hand_off (fx->pipe, &fx->op, handed, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (paths->len, ==, 1);

  g_autoptr (JsonParser) p1 = json_parser_new ();
  const char *list[] = { "case", "list", NULL };
  JsonObject *obj = cli_json (fx, p1, list, NULL);
  JsonArray *cases = json_object_get_array_member (obj, "cases");
  g_assert_cmpuint (json_array_get_length (cases), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);
      const char *id = json_object_get_string_member (c, "id");
      if (g_str_equal (id, handed))
        {
          JsonObject *d = find_deadline (c, "upload-plaintext");
          g_assert_nonnull (d);
          gint64 left = json_object_get_int_member (d, "seconds_left");
          g_assert_cmpint (left, >, r->upload_minutes * 60 - 120);
          g_assert_cmpint (left, <=, r->upload_minutes * 60);
          /* Its package is kept until the case closes: no deadline yet. */
          g_assert_null (find_deadline (c, "stored-package"));
        }
      else if (g_str_equal (id, waiting))
        {
          JsonObject *d = find_deadline (c, "results-due");
          g_assert_nonnull (d);
          g_assert_cmpint (json_object_get_int_member (d, "seconds_left"), >,
                           r->no_result_days * 86400 - 120);
          g_assert_null (find_deadline (c, "upload-plaintext"));
        }
      else
        {
          g_assert_cmpstr (id, ==, done);
          g_assert_null (find_deadline (c, "results-due"));
          JsonObject *d = find_deadline (c, "stored-result");
          g_assert_nonnull (d);
          g_assert_cmpstr (json_object_get_string_member (d, "kind"), ==, "KNY02");
          g_assert_cmpint (json_object_get_int_member (d, "seconds_left"), >, 0);
        }
    }

  /* For a person: the glossary's words and the time left. */
  const char *show[] = { "case", "show", handed, NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (pf_cli_run (fx, NULL, show, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "(duplicate): handed-off"));
  g_assert_nonnull (strstr (out, "deadline: upload plaintext deleted, "));
  g_assert_nonnull (strstr (out, " left)"));

  /* station status: policy, keys with what each is for, journal head and
   * checkpoint, store items and the hand-off's deadline. */
  g_autofree char *cp =
      sk_station_make_checkpoint (fx->st.term, sk_actor_for_process (SK_ROLE_AUDITOR), &error);
  g_assert_no_error (error);
  g_assert_nonnull (cp);
  g_autoptr (JsonParser) p2 = json_parser_new ();
  const char *status[] = { "station", "status", NULL };
  JsonObject *st = cli_json (fx, p2, status, NULL);
  g_assert_cmpint (
      json_object_get_int_member (json_object_get_object_member (st, "policy"), "serial"), ==,
      sk_policy_get_serial (fx->st.term_policy));
  JsonObject *journal = json_object_get_object_member (st, "journal");
  g_assert_cmpint (json_object_get_int_member (journal, "checkpoint_seq"), ==,
                   json_object_get_int_member (journal, "head_seq") - 1);
  g_assert_cmpint (
      json_object_get_int_member (json_object_get_object_member (st, "store"), "items"), >=, 3);
  JsonArray *handed_off = json_object_get_array_member (st, "handed_off");
  g_assert_cmpuint (json_array_get_length (handed_off), ==, 1);
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (handed_off, 0), "case"), ==,
      handed);
  JsonArray *keys = json_object_get_array_member (st, "keys");
  gboolean station_key = FALSE;
  for (guint i = 0; i < json_array_get_length (keys); i++)
    {
      JsonObject *k = json_array_get_object_element (keys, i);
      if (!g_str_equal (json_object_get_string_member (k, "fingerprint"), sk_test_keys.terminal))
        continue;
      station_key = TRUE;
      g_assert_true (json_object_get_boolean_member (k, "secret"));
      g_assert_true (json_object_get_null_member (k, "expires"));
      JsonArray *roles = json_object_get_array_member (k, "roles");
      g_assert_cmpstr (json_array_get_string_element (roles, 0), ==, "station");
    }
  g_assert_true (station_key);

  /* key list and policy show answer alone too. */
  g_autoptr (JsonParser) p3 = json_parser_new ();
  const char *key_list[] = { "key", "list", NULL };
  JsonObject *kl = cli_json (fx, p3, key_list, NULL);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (kl, "keys")), ==,
                    json_array_get_length (keys));
  g_autoptr (JsonParser) p4 = json_parser_new ();
  const char *policy_show[] = { "policy", "show", NULL };
  JsonObject *ps = cli_json (fx, p4, policy_show, NULL);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (ps, "retention"),
                                               "upload_minutes"),
                   ==, r->upload_minutes);
}

/* The deadline of the plaintext handed off for a case is the one recorded
 * with the hand-off: a later step that moves the case's updated-at (here,
 * an hour later) moves no deadline in case list, case show or station
 * status. */
static void
test_handoff_deadline_kept (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *handed = pf_imported_case (fx, "duplicate", "FKH01", 74, 10);
  g_autoptr (GPtrArray) paths =
      sk_pipeline_hand_off (fx->pipe, &fx->op, handed, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (paths->len, ==, 1);

  /* What was recorded: the deadline the hand-off journaled. */
  g_autoptr (SkJournal) journal = sk_station_open_journal (fx->st.term, FALSE, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) rows = sk_journal_query (journal, NULL, &error);
  g_assert_no_error (error);
  gint64 recorded = 0;
  for (guint i = 0; i < rows->len; i++)
    {
      const SkJournalRow *row = g_ptr_array_index (rows, i);
      if (!g_str_equal (row->event, "file-handed-off"))
        continue;
      g_autoptr (JsonParser) p = json_parser_new ();
      json_parser_load_from_data (p, row->details, -1, &error);
      g_assert_no_error (error);
      recorded = json_object_get_int_member (json_node_get_object (json_parser_get_root (p)),
                                             "deadline_us");
    }
  g_assert_cmpint (recorded, >, 0);
  g_autofree char *want = sk_journal_format_time (recorded);

  sk_db_exec (sk_journal_get_db (journal), "UPDATE cases SET updated_us = updated_us + 3600000000",
              &error);
  g_assert_no_error (error);

  g_autoptr (JsonParser) p1 = json_parser_new ();
  const char *list[] = { "case", "list", NULL };
  JsonArray *cases = json_object_get_array_member (cli_json (fx, p1, list, NULL), "cases");
  g_assert_cmpuint (json_array_get_length (cases), ==, 1);
  JsonObject *d = find_deadline (json_array_get_object_element (cases, 0), "upload-plaintext");
  g_assert_nonnull (d);
  g_assert_cmpstr (json_object_get_string_member (d, "deadline"), ==, want);

  g_autoptr (JsonParser) p2 = json_parser_new ();
  const char *show[] = { "case", "show", handed, NULL };
  JsonObject *shown = cli_json (fx, p2, show, NULL);
  shown = json_object_get_object_member (shown, "case");
  d = find_deadline (shown, "upload-plaintext");
  g_assert_nonnull (d);
  g_assert_cmpstr (json_object_get_string_member (d, "deadline"), ==, want);

  g_autoptr (JsonParser) p3 = json_parser_new ();
  const char *status[] = { "station", "status", NULL };
  JsonArray *handed_off =
      json_object_get_array_member (cli_json (fx, p3, status, NULL), "handed_off");
  g_assert_cmpuint (json_array_get_length (handed_off), ==, 1);
  g_assert_cmpstr (
      json_object_get_string_member (json_array_get_object_element (handed_off, 0), "deadline"), ==,
      want);

  /* Once the upload is confirmed the plaintext is gone: no deadline. */
  g_assert_true (sk_pipeline_confirm_upload (fx->pipe, &fx->op, handed, &error));
  g_assert_no_error (error);
  g_autoptr (JsonParser) p4 = json_parser_new ();
  cases = json_object_get_array_member (cli_json (fx, p4, list, NULL), "cases");
  g_assert_null (find_deadline (json_array_get_object_element (cases, 0), "upload-plaintext"));
}

/* A station whose database is of an older schema (here version 3: no
 * downloads, no media register): journal verify, journal show, case list,
 * case show and station status, which only read, answer without bringing
 * it forward; the next command that writes (journal checkpoint) does. */
static void
test_older_schema (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *imported = pf_imported_case (fx, "duplicate", "FKH01", 75, 10);
  g_autoptr (SkJournal) journal = sk_station_open_journal (fx->st.term, FALSE, &error);
  g_assert_no_error (error);
  SkDb *db = sk_journal_get_db (journal);
  g_assert_true (
      sk_db_exec (db, "DROP TABLE media; DROP TABLE downloads; PRAGMA user_version = 3", &error));
  g_assert_no_error (error);

  const char *verify[] = { "journal", "verify", NULL };
  g_autoptr (JsonParser) p1 = json_parser_new ();
  JsonObject *v = cli_json (fx, p1, verify, NULL);
  g_assert_true (json_object_get_boolean_member (v, "ok"));
  g_assert_cmpint (json_object_get_int_member (v, "entries"), >, 0);
  const char *show[] = { "journal", "show", NULL };
  g_autoptr (JsonParser) p2 = json_parser_new ();
  JsonObject *s = cli_json (fx, p2, show, NULL);
  g_assert_true (json_object_get_boolean_member (s, "ok"));
  g_assert_cmpint (sk_db_get_user_version (db, &error), ==, 3);

  const char *list[] = { "case", "list", NULL };
  g_autoptr (JsonParser) p3 = json_parser_new ();
  JsonArray *cases = json_object_get_array_member (cli_json (fx, p3, list, NULL), "cases");
  g_assert_cmpuint (json_array_get_length (cases), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (cases, 0), "id"),
                   ==, imported);
  const char *case_show[] = { "case", "show", imported, NULL };
  g_autoptr (JsonParser) p4 = json_parser_new ();
  g_assert_true (json_object_get_boolean_member (cli_json (fx, p4, case_show, NULL), "ok"));
  const char *status[] = { "station", "status", NULL };
  g_autoptr (JsonParser) p5 = json_parser_new ();
  g_assert_true (json_object_get_boolean_member (cli_json (fx, p5, status, NULL), "ok"));
  g_assert_cmpint (sk_db_get_user_version (db, &error), ==, 3);

  const char *checkpoint[] = { "journal", "checkpoint", NULL };
  g_autoptr (JsonParser) p6 = json_parser_new ();
  g_assert_true (json_object_get_boolean_member (cli_json (fx, p6, checkpoint, NULL), "ok"));
  g_assert_cmpint (sk_db_get_user_version (db, &error), ==, SK_SCHEMA_VERSION);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "C.UTF-8");
  /* The usual default: a file made with 0644 or 0666 shows as such. */
  umask (022);
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/station-state/files-after-four-workflows", Fixture, NULL, pf_fixture_setup,
              test_four_workflows, pf_fixture_teardown);
  g_test_add ("/station-state/at-a-glance", Fixture, NULL, pf_fixture_setup, test_at_a_glance,
              pf_fixture_teardown);
  g_test_add ("/station-state/handoff-deadline-kept", Fixture, NULL, pf_fixture_setup,
              test_handoff_deadline_kept, pf_fixture_teardown);
  g_test_add ("/station-state/older-schema", Fixture, NULL, pf_fixture_setup, test_older_schema,
              pf_fixture_teardown);
  int ret = g_test_run ();
  sk_test_keys_free ();
  return ret;
}
