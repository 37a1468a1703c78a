/* test-app-logic.c — the app's words for the service's answers
 *
 * Deadlines count down in local time (the terminal runs in JST) and mark
 * overdue; every reason code a D-Bus error can carry comes back as its code
 * with a next step; bus failures are "service unreachable"; untrusted names
 * are escaped before they reach a widget; every event core journals has
 * Japanese words in the auditor's table; a file chosen is opened once,
 * through its folder, never through a link.  No display needed.  It runs in
 * Japanese, with the build's catalogue (SEKISHO_LOCALEDIR), as the app does.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk-app-files.h"
#include "sk-app-format.h"
#include "sk-app-json.h"
#include "sk-app-medium.h"
#include "sk-app-refusal.h"
#include "sk-app-role.h"
#include "sk-error.h"
#include "sk-event.h"

static void
test_countdown_jst (void)
{
  g_autoptr (GTimeZone) jst = g_time_zone_new_identifier ("Asia/Tokyo");
  g_assert_nonnull (jst);
  /* 2026-12-07 09:00 JST */
  g_autoptr (GDateTime) now = g_date_time_new (jst, 2026, 12, 7, 9, 0, 0);
  gboolean overdue = TRUE;

  /* The deadline arrives in UTC and is shown in local time. */
  g_autofree char *left = sk_app_format_countdown ("2026-12-09T03:30:00Z", now, &overdue);
  g_assert_false (overdue);
  g_assert_cmpstr (left, ==, "2026-12-09 12:30（残り2日3時間）");

  g_autofree char *soon = sk_app_format_countdown ("2026-12-07T00:45:00Z", now, &overdue);
  g_assert_false (overdue);
  g_assert_cmpstr (soon, ==, "2026-12-07 09:45（残り45分）");

  g_autofree char *late = sk_app_format_countdown ("2026-12-06T19:00:00Z", now, &overdue);
  g_assert_true (overdue);
  g_assert_cmpstr (late, ==, "2026-12-07 04:00（5時間0分超過）");

  g_autofree char *short_left = sk_app_format_time_left ("2026-12-09T03:30:00Z", now, &overdue);
  g_assert_false (overdue);
  g_assert_cmpstr (short_left, ==, "残り2日3時間");
  g_autofree char *short_late = sk_app_format_time_left ("2026-12-06T19:00:00Z", now, &overdue);
  g_assert_true (overdue);
  g_assert_cmpstr (short_late, ==, "5時間0分超過");

  g_autofree char *none = sk_app_format_countdown (NULL, now, &overdue);
  g_assert_false (overdue);
  g_assert_cmpstr (none, ==, "—");

  /* Not a time: shown escaped, never parsed into something else. */
  g_autofree char *junk = sk_app_format_countdown ("soon\x1b[31m", now, &overdue);
  g_assert_false (overdue);
  g_assert_cmpstr (junk, ==, "soon\\x1b[31m");
}

static void
test_workflows_and_states (void)
{
  g_autofree char *w1 = sk_app_format_workflow ("subscriber");
  g_autofree char *w2 = sk_app_format_workflow ("duplicate");
  g_autofree char *w3 = sk_app_format_workflow ("inquiry");
  g_autofree char *w4 = sk_app_format_workflow ("identity");
  g_autofree char *unknown = sk_app_format_workflow ("evil\u202etxt.exe");
  g_autofree char *state = sk_app_format_case_state ("handed-off");
  g_autofree char *file_state = sk_app_format_file_state ("taken-in");
  g_autofree char *event = sk_app_format_event ("package-imported");

  /* The glossary's words (po/GLOSSARY.md), the same as the CLI's. */
  g_assert_cmpstr (w1, ==, "加入者情報作成");
  g_assert_cmpstr (w2, ==, "副本作成");
  g_assert_cmpstr (w3, ==, "情報照会");
  g_assert_cmpstr (w4, ==, "個人番号入手");
  g_assert_cmpstr (unknown, ==, "evil\\u202etxt.exe");
  g_assert_cmpstr (state, ==, "引渡し済");
  g_assert_cmpstr (file_state, ==, "取込済");
  g_assert_cmpstr (event, ==, "パッケージを取り込み");
}

/* Every code's D-Bus name, as the service sends it, comes back as the code,
 * with a description and a next step of its own words. */
static void
test_every_code_round_trips (void)
{
  for (guint i = 0; i < SK_ERROR_N_CODES; i++)
    {
      g_autoptr (GError) remote = g_dbus_error_new_for_dbus_error (
          sk_error_code_to_dbus_name ((SkErrorCode)i), "the service's message");
      g_assert_cmpint (sk_app_refusal_code (remote), ==, i);
      const char *next = sk_app_refusal_next_step ((SkErrorCode)i);
      g_assert_nonnull (next);
      g_assert_cmpuint (strlen (next), >, 20);
      g_autofree char *detail = sk_app_refusal_detail (remote);
      g_assert_cmpstr (detail, ==, "the service's message");
    }
}

static void
test_bus_failures (void)
{
  static const struct
  {
    const char *name;
    SkErrorCode code;
  } cases[] = {
    { "org.freedesktop.DBus.Error.ServiceUnknown", SK_ERROR_SERVICE_UNREACHABLE },
    { "org.freedesktop.DBus.Error.NameHasNoOwner", SK_ERROR_SERVICE_UNREACHABLE },
    { "org.freedesktop.DBus.Error.NoReply", SK_ERROR_SERVICE_UNREACHABLE },
    { "org.freedesktop.DBus.Error.UnknownMethod", SK_ERROR_SERVICE_UNREACHABLE },
    { "org.freedesktop.DBus.Error.AccessDenied", SK_ERROR_ROLE_DENIED },
    { "org.example.Unheard.Of", SK_ERROR_IO_ERROR },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) e = g_dbus_error_new_for_dbus_error (cases[i].name, "m");
      g_assert_cmpint (sk_app_refusal_code (e), ==, cases[i].code);
    }
  g_autoptr (GError) full = g_error_new (G_IO_ERROR, G_IO_ERROR_NO_SPACE, "full");
  g_assert_cmpint (sk_app_refusal_code (full), ==, SK_ERROR_DISK_FULL);
}

/* A message carrying terminal escapes or bidi overrides is escaped. */
static void
test_detail_escaped (void)
{
  g_autoptr (GError) e = g_dbus_error_new_for_dbus_error (
      "jp.sekisho.Error.TarPath", "files/\u202egpj.exe and \x1b]0;title\x07");
  g_autofree char *detail = sk_app_refusal_detail (e);

  g_assert_cmpstr (detail, ==, "files/\\u202egpj.exe and \\x1b]0;title\\x07");
}

static void
test_json_defensive (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) not_object = sk_app_json_parse_object ("[1,2]", &error);
  g_assert_null (not_object);
  g_assert_error (error, SK_ERROR, SK_ERROR_IO_ERROR);
  g_clear_error (&error);

  g_autoptr (JsonObject) o =
      sk_app_json_parse_object ("{\"id\":5,\"n\":\"x\",\"ok\":\"yes\",\"a\":{}}", &error);
  g_assert_no_error (error);
  g_assert_null (sk_app_json_string (o, "id")); /* a number is not a string */
  g_assert_cmpint (sk_app_json_int (o, "n", -7), ==, -7);
  g_assert_false (sk_app_json_bool (o, "ok")); /* only true is true */
  g_assert_null (sk_app_json_array (o, "a"));
  g_assert_null (sk_app_json_string (o, "missing"));
}

/* Which window: the role the service names in WhoAmI, nothing derived here. */
static SkAppRole
role_of (const char *json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) who = sk_app_json_parse_object (json, &error);

  g_assert_no_error (error);
  return sk_app_role_from_who (who);
}

static void
test_role_from_who (void)
{
  g_assert_cmpint (sk_app_role_from_who (NULL), ==, SK_APP_ROLE_NONE);
  g_assert_cmpint (role_of ("{\"uid\":1001,\"role\":\"operator\",\"refusal\":null,"
                            "\"groups\":[\"users\",\"sekisho-operator\"]}"),
                   ==, SK_APP_ROLE_OPERATOR);
  g_assert_cmpint (role_of ("{\"role\":\"auditor\",\"refusal\":null}"), ==, SK_APP_ROLE_AUDITOR);
  g_assert_cmpint (role_of ("{\"role\":\"admin\",\"refusal\":null}"), ==, SK_APP_ROLE_ADMIN);
  g_assert_cmpint (role_of ("{\"role\":null,\"refusal\":\"role-denied\",\"groups\":[\"users\"]}"),
                   ==, SK_APP_ROLE_NONE);
  g_assert_cmpint (role_of ("{\"role\":null,\"refusal\":\"role-denied\","
                            "\"groups\":[\"sekisho-operator\",\"sekisho-auditor\"]}"),
                   ==, SK_APP_ROLE_SEVERAL);
  /* Fail closed: a refusal beside a role, a role this app does not know, a
   * role that is no string. */
  g_assert_cmpint (role_of ("{\"role\":\"operator\",\"refusal\":\"role-denied\"}"), ==,
                   SK_APP_ROLE_NONE);
  g_assert_cmpint (role_of ("{\"role\":\"root\",\"refusal\":null}"), ==, SK_APP_ROLE_NONE);
  g_assert_cmpint (role_of ("{\"role\":1,\"refusal\":null}"), ==, SK_APP_ROLE_NONE);
  /* A group name the service reports is matched whole. */
  g_assert_cmpint (
      role_of ("{\"role\":null,\"groups\":[\"sekisho-operator-x\",\"sekisho-admin\"]}"), ==,
      SK_APP_ROLE_NONE);
}

/* A medium as the service describes it: names from the stick escaped,
 * usable only when registered and not refused. */
static void
test_medium (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) list = sk_app_medium_list_parse (
      "{\"media\":[{\"id\":\"m1\",\"class\":\"usb-storage\",\"registered\":true,"
      "\"number\":\"USB-0001\",\"label\":\"窓口\",\"identity\":{\"vendor\":\"AC\\u001bME\","
      "\"model\":\"Stick\",\"serial\":\"S1\"}},"
      "{\"id\":\"m2\",\"device\":\"Other Stick (S2)\",\"registered\":false,\"number\":\"X\"},"
      "{\"id\":\"m3\",\"identity\":\"Bad\",\"refused\":\"media-class\"},"
      "{\"class\":\"no id\"}, 7]}",
      &error);

  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 3);
  const SkAppMedium *a = g_ptr_array_index (list, 0);
  const SkAppMedium *b = g_ptr_array_index (list, 1);
  const SkAppMedium *c = g_ptr_array_index (list, 2);
  g_assert_cmpstr (a->id, ==, "m1");
  g_assert_cmpstr (a->number, ==, "USB-0001");
  g_assert_null (strchr (a->identity, '\x1b')); /* the control character is escaped */
  g_assert_nonnull (strstr (a->identity, "Stick (S1)"));
  g_assert_true (sk_app_medium_usable (a));
  g_autofree char *line = sk_app_medium_describe (a);
  g_assert_nonnull (strstr (line, "USB-0001"));
  g_assert_nonnull (strstr (line, "「窓口」"));
  /* registered: false wins over a number. */
  g_assert_null (b->number);
  g_assert_false (sk_app_medium_usable (b));
  g_assert_cmpstr (b->identity, ==, "Other Stick (S2)");
  g_assert_cmpstr (c->refusal, ==, "media-class");
  g_assert_false (sk_app_medium_usable (c));
  g_autofree char *refused = sk_app_medium_describe (c);
  g_assert_nonnull (strstr (refused, "media-class"));

  /* A bare array is a list too; anything else is an error. */
  g_autoptr (GPtrArray) bare = sk_app_medium_list_parse ("[{\"id\":\"m9\"}]", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bare->len, ==, 1);
  g_assert_null (sk_app_medium_list_parse ("{\"cases\":[]}", &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_IO_ERROR);
}

/* The earliest of a case's deadlines, and what ends then, in the glossary's words. */
static void
test_next_deadline (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) c = sk_app_json_parse_object (
      "{\"deadlines\":[{\"what\":\"stored-package\",\"deadline\":\"2026-12-30T00:00:00Z\"},"
      "{\"what\":\"upload-plaintext\",\"deadline\":\"2026-12-07T01:30:00Z\"},"
      "{\"what\":\"results-due\",\"deadline\":\"not a time\"}]}",
      &error);
  const char *what = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (sk_app_json_next_deadline (c, &what), ==, "2026-12-07T01:30:00Z");
  g_assert_cmpstr (what, ==, "upload-plaintext");
  g_autofree char *words = sk_app_format_deadline_what (what);
  g_assert_cmpstr (words, ==, "アップロード用平文の削除");
  g_autofree char *unknown = sk_app_format_deadline_what ("x\x1b");
  g_assert_null (strchr (unknown, '\x1b'));
  g_autoptr (JsonObject) old =
      sk_app_json_parse_object ("{\"deadline\":\"2026-12-07T01:30:00Z\"}", NULL);
  g_assert_cmpstr (sk_app_json_next_deadline (old, NULL), ==, "2026-12-07T01:30:00Z");
  g_autoptr (JsonObject) none = sk_app_json_parse_object ("{}", NULL);
  g_assert_null (sk_app_json_next_deadline (none, NULL));
  g_autofree char *small = sk_app_format_size (621);
  g_assert_cmpstr (small, ==, "621 バイト");
  g_autofree char *big = sk_app_format_size (11500);
  g_assert_cmpstr (big, ==, "11.5\u00a0kB"); /* GLib keeps the number and unit together */
  g_autofree char *role = sk_app_format_key_role ("to-standard signer");
  g_assert_cmpstr (role, ==, "標準システム向けの署名者");
}

/* Every event name of the one table has words, in Japanese. */
static void
test_event_labels (void)
{
  const char *const *names = sk_event_names ();
  gsize n = 0;

  for (; names[n] != NULL; n++)
    {
      if (n > 0)
        g_assert_cmpstr (names[n - 1], <, names[n]); /* sorted, no duplicates */
      const char *label = sk_event_label (names[n]);
      g_assert_nonnull (label);
      /* Translated: a Japanese label has characters beyond ASCII. */
      gboolean japanese = FALSE;
      for (const char *c = label; *c != '\0'; c = g_utf8_next_char (c))
        japanese |= g_utf8_get_char (c) >= 0x3000;
      if (!japanese)
        g_test_message ("event %s has no Japanese label (%s)", names[n], label);
      g_assert_true (japanese);
      g_autofree char *shown = sk_app_format_event (names[n]);
      g_assert_cmpstr (shown, ==, label);
    }
  g_assert_cmpuint (n, >, 40);
  g_autofree char *started = sk_app_format_event ("export-started");
  g_assert_cmpstr (started, ==, "書き出しを開始");
  /* A newer program's event, shown escaped; none, a dash. */
  g_assert_null (sk_event_label ("future-\x1b-event"));
  g_autofree char *future = sk_app_format_event ("future-\x1b-event");
  g_assert_cmpstr (future, ==, "future-\\x1b-event");
  g_autofree char *none = sk_app_format_event (NULL);
  g_assert_cmpstr (none, ==, "—");
}

/* The functions of core and the service that append a journal row, and
 * which of their arguments (from 0) is the event name. */
static const struct
{
  const char *function;
  guint event_arg;
} journal_calls[] = {
  { "entry_for", 1 },
  { "journal_refusal", 2 },
  { "refuse_step", 2 },
  { "journal_removal", 5 },
  { "_sk_pipeline_entry_for", 1 },
  { "_sk_pipeline_journal_refusal", 2 },
  { "_sk_pipeline_refuse_step", 2 },
  { "_sk_pipeline_journal_removal", 5 },
  { "journal_system", 1 },
  { "_sk_media_journal", 2 },
  { "sk_station_journal_action", 2 },
};

/* The string literals that look like event names in TEXT (a C
 * expression: "a", or cond ? "a" : "b"). */
static void
add_literals (GHashTable *found, const char *text, gsize len, const char *file)
{
  g_autoptr (GRegex) literal = g_regex_new ("\"([a-z]+(?:-[a-z]+)+)\"", 0, 0, NULL);
  g_autofree char *expr = g_strndup (text, len);
  g_autoptr (GMatchInfo) m = NULL;

  g_regex_match (literal, expr, 0, &m);
  for (; g_match_info_matches (m); g_match_info_next (m, NULL))
    g_hash_table_insert (found, g_match_info_fetch (m, 1), g_strdup (file));
}

/* The argument ARG of the call whose "(" is at OPEN in SRC. */
static gboolean
call_argument (const char *src, const char *open, guint arg, const char **out_start, gsize *out_len)
{
  int depth = 0;
  guint index = 0;
  const char *start = open + 1;

  for (const char *c = open; *c != '\0'; c++)
    {
      if (*c == '"')
        {
          for (c++; *c != '\0' && *c != '"'; c++)
            if (*c == '\\' && c[1] != '\0')
              c++;
          if (*c == '\0')
            return FALSE;
          continue;
        }
      if (*c == '(')
        depth++;
      else if (*c == ')' && --depth == 0)
        {
          if (index != arg)
            return FALSE;
          *out_start = start;
          *out_len = (gsize)(c - start);
          return TRUE;
        }
      else if (*c == ',' && depth == 1)
        {
          if (index == arg)
            {
              *out_start = start;
              *out_len = (gsize)(c - start);
              return TRUE;
            }
          index++;
          start = c + 1;
        }
    }
  return FALSE;
}

/* Every event name core and the service journal — literals passed to the
 * journaling functions above, or set as an entry's event — is in the one
 * table, so that the auditor reads it in Japanese and `journal show
 * --event` takes it.  The sources are read, not a run's journal: an event
 * no test happens to reach is checked too. */
static void
test_journaled_events_named (void)
{
  const char *root = g_getenv ("SEKISHO_SOURCE_ROOT");
  g_assert_nonnull (root);
  g_autoptr (GHashTable) found = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GRegex) assigned =
      g_regex_new ("\\bevent\\s*=\\s*([^;,]*(?:\\n\\s*[?:][^;,]*)*)", 0, 0, NULL);
  const char *folders[] = { "core", "service" };
  guint files = 0;

  for (gsize f = 0; f < G_N_ELEMENTS (folders); f++)
    {
      g_autofree char *dir_path = g_build_filename (root, folders[f], NULL);
      g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
      g_assert_nonnull (dir);
      for (const char *name; (name = g_dir_read_name (dir)) != NULL;)
        {
          if (!g_str_has_suffix (name, ".c"))
            continue;
          g_autofree char *path = g_build_filename (dir_path, name, NULL);
          g_autofree char *src = NULL;
          g_assert_true (g_file_get_contents (path, &src, NULL, NULL));
          files++;
          for (gsize k = 0; k < G_N_ELEMENTS (journal_calls); k++)
            {
              g_autofree char *pattern =
                  g_strdup_printf ("\\b%s\\s*\\(", journal_calls[k].function);
              g_autoptr (GRegex) call = g_regex_new (pattern, 0, 0, NULL);
              g_autoptr (GMatchInfo) m = NULL;
              g_regex_match (call, src, 0, &m);
              for (; g_match_info_matches (m); g_match_info_next (m, NULL))
                {
                  int end = 0;
                  g_match_info_fetch_pos (m, 0, NULL, &end);
                  const char *arg = NULL;
                  gsize len = 0;
                  if (call_argument (src, src + end - 1, journal_calls[k].event_arg, &arg, &len))
                    add_literals (found, arg, len, name);
                }
            }
          g_autoptr (GMatchInfo) m = NULL;
          g_regex_match (assigned, src, 0, &m);
          for (; g_match_info_matches (m); g_match_info_next (m, NULL))
            {
              int start = 0, end = 0;
              g_match_info_fetch_pos (m, 1, &start, &end);
              add_literals (found, src + start, (gsize)(end - start), name);
            }
        }
    }
  g_assert_cmpuint (files, >, 40);
  /* The scan finds what it should: one event of each way of journaling. */
  const char *samples[] = { "package-imported", "media-inserted",  "policy-refused",
                            "store-recovered",  "role-denied",     "station-restored",
                            "clock-anomaly",    "approval-refused" };
  for (gsize i = 0; i < G_N_ELEMENTS (samples); i++)
    g_assert_true (g_hash_table_contains (found, samples[i]));

  GHashTableIter iter;
  gpointer event, file;
  guint missing = 0;
  g_hash_table_iter_init (&iter, found);
  while (g_hash_table_iter_next (&iter, &event, &file))
    if (!g_strv_contains (sk_event_names (), event))
      {
        g_test_message ("%s journals %s, which core/sk-event.c does not name", (char *)file,
                        (char *)event);
        missing++;
      }
  g_assert_cmpuint (missing, ==, 0);
}

/* What a chooser hands over is opened once through its folder: a regular
 * file, never a link or a FIFO (which would hang the app); a file and the
 * signature beside it both, or neither, and then the missing signature is
 * named for the caller's own words. */
static void
test_open_chosen (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("sk-app-files-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *plain = g_build_filename (dir, "policy.json", NULL);
  g_autofree char *sig = g_build_filename (dir, "policy.json.sig", NULL);
  g_autofree char *lonely = g_build_filename (dir, "lonely.json", NULL);
  g_autofree char *link = g_build_filename (dir, "link.json", NULL);
  g_autofree char *fifo = g_build_filename (dir, "fifo.json", NULL);
  g_assert_true (g_file_set_contents (plain, "{}", -1, NULL));
  g_assert_true (g_file_set_contents (sig, "sig", -1, NULL));
  g_assert_true (g_file_set_contents (lonely, "{}", -1, NULL));
  g_assert_cmpint (symlink (plain, link), ==, 0);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);

  int fd = sk_app_open_file (plain, &error);
  g_assert_no_error (error);
  g_assert_cmpint (fd, >=, 0);
  char buf[8];
  g_assert_cmpint (read (fd, buf, sizeof buf), ==, 2);
  close (fd);
  const char *refused[] = { link, fifo, dir };
  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      fd = sk_app_open_file (refused[i], &error);
      g_assert_cmpint (fd, ==, -1);
      g_assert_nonnull (error);
      g_clear_error (&error);
    }

  int sig_fd;
  g_autofree char *missing = NULL;
  g_assert_true (sk_app_open_signed (plain, &fd, &sig_fd, &missing, &error));
  g_assert_no_error (error);
  g_assert_null (missing);
  g_assert_cmpint (read (sig_fd, buf, sizeof buf), ==, 3);
  close (fd);
  close (sig_fd);
  g_assert_false (sk_app_open_signed (lonely, &fd, &sig_fd, &missing, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpstr (missing, ==, "lonely.json.sig");
  g_assert_cmpint (fd, ==, -1);
  g_assert_cmpint (sig_fd, ==, -1);
  g_clear_pointer (&missing, g_free);
  /* A link is refused as the file itself: no signature is asked for. */
  g_assert_false (sk_app_open_signed (link, &fd, &sig_fd, &missing, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_null (missing);

  const char *made[] = { plain, sig, lonely, link, fifo };
  for (gsize i = 0; i < G_N_ELEMENTS (made); i++)
    g_assert_cmpint (g_unlink (made[i]), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int argc, char **argv)
{
  const char *localedir = g_getenv ("SEKISHO_LOCALEDIR");

  g_setenv ("LANGUAGE", "ja", TRUE);
  if (setlocale (LC_ALL, "ja_JP.UTF-8") == NULL || localedir == NULL)
    {
      g_printerr ("test-app-logic needs the ja_JP.UTF-8 locale and SEKISHO_LOCALEDIR\n");
      return 1;
    }
  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_test_init (&argc, &argv, NULL);
  (void)SK_ERROR; /* registers the jp.sekisho.Error.* names */
  g_test_add_func ("/app/countdown-jst", test_countdown_jst);
  g_test_add_func ("/app/workflows-and-states", test_workflows_and_states);
  g_test_add_func ("/app/every-code-round-trips", test_every_code_round_trips);
  g_test_add_func ("/app/bus-failures", test_bus_failures);
  g_test_add_func ("/app/detail-escaped", test_detail_escaped);
  g_test_add_func ("/app/json-defensive", test_json_defensive);
  g_test_add_func ("/app/role-from-who", test_role_from_who);
  g_test_add_func ("/app/medium", test_medium);
  g_test_add_func ("/app/next-deadline", test_next_deadline);
  g_test_add_func ("/app/event-labels", test_event_labels);
  g_test_add_func ("/app/journaled-events-named", test_journaled_events_named);
  g_test_add_func ("/app/open-chosen", test_open_chosen);
  return g_test_run ();
}
