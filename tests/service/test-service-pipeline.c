/* test-service-pipeline.c — a case through every step, as the operator
 * does it through the service, and what the app and the CLI then read */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "sk-test-service.h"

static void
on_case_changed (GDBusConnection *c,
                 const char *sender,
                 const char *path,
                 const char *iface,
                 const char *signal,
                 GVariant *params,
                 gpointer data)
{
  const char *id;
  g_variant_get (params, "(&s)", &id);
  g_ptr_array_add (data, g_strdup (id));
}

/* The deadline WHAT of CASE (an object of core/sk-report.h), or NULL. */
static JsonObject *
deadline_of (JsonObject *c, const char *what)
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

/* A deadline as a client shows it: a UTC time in the future, seconds left
 * that agree with it, not overdue. */
static void
assert_deadline_ahead (JsonObject *d)
{
  g_assert_nonnull (d);
  g_autoptr (GDateTime) at =
      g_date_time_new_from_iso8601 (json_object_get_string_member (d, "deadline"), NULL);
  g_assert_nonnull (at);
  gint64 left = json_object_get_int_member (d, "seconds_left");
  gint64 expected = g_date_time_to_unix (at) - g_get_real_time () / G_USEC_PER_SEC;
  g_assert_cmpint (left, >, 0);
  g_assert_cmpint (ABS (left - expected), <=, 60);
  g_assert_false (json_object_get_boolean_member (d, "overdue"));
}

/* What the app and the CLI read from the service about a handed-off case,
 * the keys, the policy and the station: deadlines, expiry, the whole
 * policy, the status — each to its roles only. */
void
assert_reports (const char *case_id)
{
  g_autofree char *line = NULL;
  g_autoptr (JsonNode) shown = reply_as (&sk_test_users[0], &line, "Cases.Show", case_id, NULL);
  g_assert_cmpstr (line, ==, NULL);
  JsonObject *c = json_node_get_object (shown);
  g_assert_cmpstr (json_object_get_string_member (c, "state"), ==, "handed-off");
  assert_deadline_ahead (deadline_of (c, "upload-plaintext"));
  assert_deadline_ahead (deadline_of (c, "results-due"));

  g_autoptr (JsonNode) listed = reply_as (&sk_test_users[1], &line, "Cases.List", NULL);
  g_assert_cmpstr (line, ==, NULL);
  JsonArray *cases = json_object_get_array_member (json_node_get_object (listed), "cases");
  g_assert_cmpuint (json_array_get_length (cases), >=, 1);
  gboolean found = FALSE;
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *o = json_array_get_object_element (cases, i);
      if (!g_str_equal (json_object_get_string_member (o, "id"), case_id))
        continue;
      found = TRUE;
      assert_deadline_ahead (deadline_of (o, "upload-plaintext"));
    }
  g_assert_true (found);

  /* Every key with its expiry (the test keys never expire: null). */
  g_autoptr (JsonNode) keys = reply_as (&sk_test_users[3], &line, "Keys.List", NULL);
  g_assert_cmpstr (line, ==, NULL);
  JsonArray *ka = json_object_get_array_member (json_node_get_object (keys), "keys");
  g_assert_cmpuint (json_array_get_length (ka), >=, 3);
  for (guint i = 0; i < json_array_get_length (ka); i++)
    {
      JsonObject *k = json_array_get_object_element (ka, i);
      g_assert_cmpuint (strlen (json_object_get_string_member (k, "fingerprint")), ==, 40);
      g_assert_true (json_object_has_member (k, "expires"));
      g_assert_false (json_object_get_boolean_member (k, "expired"));
      g_assert_nonnull (json_object_get_array_member (k, "roles"));
    }

  /* The whole policy: kinds, caps, retention, dual control, named keys. */
  g_autoptr (JsonNode) policy = reply_as (&sk_test_users[3], &line, "Policy.Show", NULL);
  g_assert_cmpstr (line, ==, NULL);
  JsonObject *p = json_node_get_object (policy);
  g_assert_cmpint (json_object_get_int_member (p, "serial"), >=, 1);
  g_assert_cmpuint (strlen (json_object_get_string_member (p, "sha256")), ==, 64);
  JsonArray *kinds = json_object_get_array_member (p, "kinds");
  g_assert_cmpuint (json_array_get_length (kinds), >=, 1);
  gboolean kny01 = FALSE;
  for (guint i = 0; i < json_array_get_length (kinds); i++)
    kny01 =
        kny01 ||
        g_str_equal (json_object_get_string_member (json_array_get_object_element (kinds, i), "id"),
                     "KNY01");
  g_assert_true (kny01);
  JsonObject *caps = json_object_get_object_member (p, "caps");
  g_assert_cmpint (json_object_get_int_member (caps, "max_files"), >, 0);
  g_assert_cmpint (json_object_get_int_member (caps, "max_package_size"), >, 0);
  JsonObject *retention = json_object_get_object_member (p, "retention");
  g_assert_cmpint (json_object_get_int_member (retention, "upload_minutes"), >, 0);
  g_assert_nonnull (json_object_get_array_member (p, "dual_control"));
  JsonArray *named = json_object_get_array_member (p, "keys");
  g_assert_cmpuint (json_array_get_length (named), >=, 2);
  for (guint i = 0; i < json_array_get_length (named); i++)
    {
      JsonObject *k = json_array_get_object_element (named, i);
      g_assert_true (json_object_get_boolean_member (k, "in_keyring"));
      g_assert_true (json_object_has_member (k, "expires"));
    }

  /* The status, for each of the three roles alike; the handed-off case
   * with its deadline. */
  const User *readers[] = { &sk_test_users[0], &sk_test_users[2], &sk_test_users[3] };
  for (gsize r = 0; r < G_N_ELEMENTS (readers); r++)
    {
      g_autoptr (JsonNode) status = reply_as (readers[r], &line, "Station.Status", NULL);
      g_assert_cmpstr (line, ==, NULL);
      JsonObject *st = json_node_get_object (status);
      g_assert_cmpint (
          json_object_get_int_member (json_object_get_object_member (st, "policy"), "serial"), ==,
          json_object_get_int_member (p, "serial"));
      g_assert_cmpint (
          json_object_get_int_member (json_object_get_object_member (st, "journal"), "head_seq"), >,
          0);
      g_assert_cmpint (
          json_object_get_int_member (json_object_get_object_member (st, "store"), "items"), >=, 1);
      JsonArray *handed_off = json_object_get_array_member (st, "handed_off");
      g_assert_cmpuint (json_array_get_length (handed_off), ==, 1);
      JsonObject *ho = json_array_get_object_element (handed_off, 0);
      g_assert_cmpstr (json_object_get_string_member (ho, "case"), ==, case_id);
      g_assert_cmpint (json_object_get_int_member (ho, "seconds_left"), >, 0);
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (st, "problems")), ==,
                        0);
    }
}

/* A package made on the standard side, imported by an operator through
 * the service from a folder the operator opened, handed off and confirmed:
 * each step is journaled as that operator, in the operator role. */
void
test_workflow (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *medium = g_build_filename (svc.tmp, "medium", NULL);
  const char *case_id = "C0000000000000000011";
  g_autofree char *package = pack_for_users (11, 20, medium);
  g_autofree char *name = g_path_get_basename (package);

  /* A name that is no plain package name never reaches the core. */
  g_autofree char *escape =
      call_as (&sk_test_users[0], "Cases.Import", medium, "../x.tar.gpg", NULL);
  g_assert_cmpstr (escape, ==, "ERR jp.sekisho.Error.Usage");

  /* Whoever listens hears that the case changed, after each step. */
  g_autoptr (GDBusConnection) bus = bus_connection ();
  g_autoptr (GPtrArray) changed = g_ptr_array_new_with_free_func (g_free);
  guint sub = g_dbus_connection_signal_subscribe (
      bus, BUS_NAME, IFACE_PREFIX "Cases", "CaseChanged", OBJECT_PATH, NULL,
      G_DBUS_SIGNAL_FLAGS_NONE, on_case_changed, changed, NULL);

  g_autofree char *imported = call_as (&sk_test_users[0], "Cases.Import", medium, name, NULL);
  g_assert_cmpstr (imported, ==, "JOB ok -");
  g_autofree char *again = call_as (&sk_test_users[1], "Cases.Import", medium, name, NULL);
  g_assert_cmpstr (again, ==, "JOB fail package-replayed");
  g_autofree char *shown = call_as (&sk_test_users[0], "Cases.Show", case_id, NULL);
  g_assert_cmpstr (shown, ==, "OK");
  g_autofree char *handed = call_as (&sk_test_users[0], "Cases.HandOff", case_id, NULL);
  g_assert_cmpstr (handed, ==, "JOB ok -");
  assert_reports (case_id);
  g_autofree char *confirmed = call_as (&sk_test_users[0], "Cases.ConfirmUpload", case_id, NULL);
  g_assert_cmpstr (confirmed, ==, "OK");

  /* Import, hand-off, confirmation: three changes, none for the replay. */
  for (int i = 0; i < 200 && changed->len < 3; i++)
    g_main_context_iteration (NULL, FALSE) ? (void)0 : g_usleep (10 * 1000);
  g_dbus_connection_signal_unsubscribe (bus, sub);
  g_assert_cmpuint (changed->len, ==, 3);
  for (guint i = 0; i < changed->len; i++)
    g_assert_cmpstr (g_ptr_array_index (changed, i), ==, case_id);

  g_autoptr (SkStation) station = sk_station_open (sk_station_get_dir (svc.st.term), &error);
  g_assert_no_error (error);
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, TRUE, &error);
  g_assert_no_error (error);
  SkJournalFilter filter = { .case_id = case_id };
  g_autoptr (GPtrArray) rows = sk_journal_query (journal, &filter, &error);
  g_assert_no_error (error);
  guint by_operator = 0;
  for (guint i = 0; i < rows->len; i++)
    {
      SkJournalRow *r = g_ptr_array_index (rows, i);
      g_test_message ("%s %s uid %" G_GINT64_FORMAT " %s", r->event, r->outcome, r->uid,
                      r->role != NULL ? r->role : "-");
      if (g_str_equal (r->outcome, "ok"))
        {
          g_assert_cmpint (r->uid, ==, sk_test_users[0].uid);
          g_assert_cmpstr (r->login, ==, sk_test_users[0].name);
          g_assert_cmpstr (r->role, ==, "operator");
          by_operator++;
        }
    }
  g_assert_cmpuint (by_operator, >=, 3);
  gint64 entries = 0, bad = 0;
  g_assert_true (sk_journal_verify (journal, &entries, &bad, NULL, &error));
  g_assert_no_error (error);
}
