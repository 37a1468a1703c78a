/* test-service-journal.c — the record through the service: checkpoints
 * kept off the station, Journal.Show and Journal.Export, and the entries
 * that reach the systemd journal */
#include "config.h"

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <string.h>

#include "sk-journal-csv.h"
#include "sk-test-service.h"

/* VerifyCheckpoint as AUDITOR of the checkpoint PATH (and PATH.sig):
 * the verdict object. */
static JsonObject *
verify_checkpoint (const char *path)
{
  g_autofree char *line = NULL;
  g_autoptr (JsonNode) node =
      reply_as (&sk_test_users[2], &line, "Journal.VerifyCheckpoint", path, NULL);
  g_assert_cmpstr (line, ==, NULL);
  g_autofree char *text = json_to_string (node, FALSE);
  g_test_message ("verdict: %s", text);
  return json_object_ref (json_node_get_object (node));
}

/* An auditor's checkpoint kept off the station, checked against the
 * journal through the service: a good one matches at its seq; the same
 * with one byte changed, or another station's, is refused by its
 * signature; nothing is journaled by asking.  And Journal.Verify checks
 * the station's newest checkpoint as in-process verify does. */
void
test_verify_checkpoint (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *good = g_build_filename (svc.files, "checkpoint.json", NULL);
  g_autoptr (GBytes) cp = NULL, sig = NULL;
  g_assert_true (sk_station_read_checkpoint (good, &cp, &sig, &error));
  g_assert_no_error (error);
  gint64 seq = -1;
  g_assert_true (sk_checkpoint_parse (cp, &seq, NULL, NULL, NULL, &error));
  gint64 before = journal_head ();

  g_autoptr (JsonObject) v = verify_checkpoint (good);
  g_assert_cmpstr (json_object_get_string_member (v, "verdict"), ==, "matches");
  g_assert_true (json_object_get_boolean_member (v, "ok"));
  g_assert_true (json_object_get_null_member (v, "reason"));
  g_assert_cmpint (json_object_get_int_member (v, "seq"), ==, seq);
  g_assert_cmpint (json_object_get_int_member (v, "entries"), >=, seq);

  /* One digit of the head changed: the signature no longer holds. */
  g_autofree char *bad = g_build_filename (svc.files, "tampered.json", NULL);
  g_autofree char *bad_sig = g_strconcat (bad, ".sig", NULL);
  g_autofree char *text = g_strndup (g_bytes_get_data (cp, NULL), g_bytes_get_size (cp));
  char *hash = strstr (text, "\"head_hash\":\"");
  g_assert_nonnull (hash);
  hash += strlen ("\"head_hash\":\"");
  *hash = *hash == '0' ? '1' : '0';
  write_text (bad, text, 0644);
  g_assert_true (g_file_set_contents_full (bad_sig, g_bytes_get_data (sig, NULL),
                                           (gssize)g_bytes_get_size (sig), G_FILE_SET_CONTENTS_NONE,
                                           0644, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (bad_sig, 0644), ==, 0);
  g_autoptr (JsonObject) t = verify_checkpoint (bad);
  g_assert_cmpstr (json_object_get_string_member (t, "verdict"), ==, "signature");
  g_assert_false (json_object_get_boolean_member (t, "ok"));
  g_assert_true (g_str_has_prefix (json_object_get_string_member (t, "reason"), "sig-"));
  g_assert_true (json_object_get_null_member (t, "seq"));

  /* The standard system's checkpoint: another station's key. */
  g_autofree char *other_copy = checkpoint_for_users (svc.st.std, "other.json");
  g_autoptr (JsonObject) o = verify_checkpoint (other_copy);
  g_assert_cmpstr (json_object_get_string_member (o, "verdict"), ==, "signature");
  g_assert_false (json_object_get_boolean_member (o, "ok"));
  g_assert_cmpint (journal_head (), ==, before);

  /* Journal.Verify: the newest checkpoint of the station is checked too,
   * so one whose head was changed fails the verification. */
  g_autofree char *verified = call_as (&sk_test_users[2], "Journal.Verify", NULL);
  g_assert_cmpstr (verified, ==, "JOB ok -");
  g_autofree char *newest = sk_station_latest_checkpoint (svc.st.term);
  g_assert_nonnull (newest);
  g_autofree char *kept = NULL;
  gsize kept_len = 0;
  g_assert_true (g_file_get_contents (newest, &kept, &kept_len, &error));
  g_autofree char *changed = g_strdup (kept);
  char *h2 = strstr (changed, "\"head_hash\":\"");
  g_assert_nonnull (h2);
  h2 += strlen ("\"head_hash\":\"");
  *h2 = *h2 == '0' ? '1' : '0';
  write_text (newest, changed, 0600);
  g_autofree char *refused = call_as (&sk_test_users[2], "Journal.Verify", NULL);
  write_text (newest, kept, 0600);
  g_assert_cmpstr (refused, ==, "JOB fail sig-bad");
  g_autofree char *again = call_as (&sk_test_users[2], "Journal.Verify", NULL);
  g_assert_cmpstr (again, ==, "JOB ok -");
}

/* Journal.Show's names and Journal.Export's options.  Export: unknown
 * options, a zone that is a path and a
 * header language it does not know are usage errors; with Japanese
 * headers and a zone, the record comes with the checkpoint that covers
 * exactly its rows, and verifies off the station against it. */
void
test_journal_export_options (void)
{
  const User *auditor = &sk_test_users[2];
  g_autofree char *out = resolve_arg ("@out/options.csv", auditor);
  const char *refused[] = { "colour=red", "zone=../../../etc/shadow", "zone=/etc/localtime",
                            "zone=Mars/Olympus", "headers=fr" };
  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autofree char *line = call_as (auditor, "Journal.Export", out, refused[i], NULL);
      g_test_message ("%s: %s", refused[i], line);
      g_assert_cmpstr (line, ==, "ERR jp.sekisho.Error.Usage");
    }

  /* Journal.Show: a misspelt event or reason is a usage error too, a
   * known event with no entries is none. */
  const char *show_refused[] = { "event=package-imprted", "reason=sig-bda" };
  for (gsize i = 0; i < G_N_ELEMENTS (show_refused); i++)
    {
      g_autofree char *line = call_as (auditor, "Journal.Show", show_refused[i], NULL);
      g_assert_cmpstr (line, ==, "ERR jp.sekisho.Error.Usage");
    }
  g_autofree char *line = NULL;
  g_autoptr (JsonNode) none =
      reply_as (auditor, &line, "Journal.Show", "event=package-imported", "reason=sig-bad", NULL);
  g_assert_cmpstr (line, ==, NULL);
  g_assert_cmpuint (
      json_array_get_length (json_object_get_array_member (json_node_get_object (none), "entries")),
      ==, 0);

  g_autoptr (JsonNode) node =
      reply_as (auditor, &line, "Journal.Export", out, "headers=ja", "zone=+09:00", NULL);
  g_assert_cmpstr (line, ==, NULL);
  g_autoptr (GError) error = NULL;
  JsonObject *r = json_node_get_object (node);
  gint64 seq = json_object_get_int_member (r, "seq");
  g_assert_cmpint (json_object_get_int_member (r, "rows"), ==, seq);
  g_assert_cmpstr (json_object_get_string_member (r, "headers"), ==, "ja");
  const char *text = json_object_get_string_member (r, "checkpoint");
  g_autoptr (GBytes) cp = g_bytes_new (text, strlen (text));
  gint64 cp_seq = -1;
  g_autofree char *head = NULL, *station = NULL;
  g_assert_true (sk_checkpoint_parse (cp, &cp_seq, &head, &station, NULL, &error));
  g_assert_cmpint (cp_seq, ==, seq);

  g_autofree char *csv = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (out, &csv, &len, &error));
  g_assert_true (g_str_has_prefix (csv, "\xef\xbb\xbf"
                                        "連番"));
  g_assert_nonnull (strstr (csv, "+09:00"));
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_data (csv, (gssize)len, NULL);
  SkJournalCsvCheck check = { 0 };
  g_assert_true (sk_journal_csv_verify (in, cp_seq, head, station, &check, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (check.rows, ==, seq);
}

/* Drains the stand-in journald socket (a datagram socket whose queue, when
 * full, would make the service wait): every datagram, as text. */
static gpointer
journald_reader (gpointer data)
{
  GSocket *socket = data;
  GPtrArray *got = g_ptr_array_new_with_free_func (g_free);
  char buf[16384];
  for (;;)
    {
      gssize n = g_socket_receive (socket, buf, sizeof buf - 1, NULL, NULL);
      if (n <= 0)
        break;
      buf[n] = '\0';
      if (g_str_equal (buf, "STOP"))
        break;
      g_ptr_array_add (got, g_strdup (buf));
    }
  return got;
}

/* The service's journal entries reach the systemd journal as structured
 * fields (DESIGN.md §11): a refusal at the door, with its event, reason,
 * uid and role, the chain's hash, and no personal data. */
void
test_systemd_journal (void)
{
  g_autoptr (GError) error = NULL;
  svc.journald = g_build_filename (svc.tmp, "journald.socket", NULL);
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM,
                                             G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (svc.journald);
  g_assert_true (g_socket_bind (socket, address, FALSE, &error));
  g_assert_no_error (error);
  GThread *reader = g_thread_new ("journald", journald_reader, socket);

  g_assert_cmpint (stop (&svc.service), ==, 0);
  start_service (NULL);
  g_autofree char *denied = call_as (&sk_test_users[2], "Cases.List", NULL);
  g_assert_cmpstr (denied, ==, "ERR jp.sekisho.Error.RoleDenied");
  g_assert_cmpint (stop (&svc.service), ==, 0);

  /* The service is gone: nothing else sends here now. */
  g_autoptr (GSocket) sender = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM,
                                             G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_socket_send_to (sender, address, "STOP", 4, NULL, &error), ==, 4);
  g_autoptr (GPtrArray) got = g_thread_join (reader);
  (void)g_remove (svc.journald);
  g_clear_pointer (&svc.journald, g_free);
  start_service (NULL);

  g_autofree char *uid = g_strdup_printf ("SEKISHO_UID=%u\n", sk_test_users[2].uid);
  gboolean found = FALSE;
  for (guint i = 0; i < got->len; i++)
    {
      const char *d = g_ptr_array_index (got, i);
      g_test_message ("journald got: %s", d);
      g_assert_nonnull (strstr (d, "SYSLOG_IDENTIFIER=sekisho\n"));
      g_assert_nonnull (strstr (d, "SEKISHO_ENTRY_HASH="));
      if (strstr (d, "SEKISHO_EVENT=role-denied\n") != NULL && strstr (d, uid) != NULL)
        {
          found = TRUE;
          g_assert_nonnull (strstr (d, "SEKISHO_REASON=role-denied\n"));
          g_assert_nonnull (strstr (d, "SEKISHO_ROLE=auditor\n"));
          g_assert_nonnull (strstr (d, "jp.sekisho.Station1.Cases.List"));
        }
    }
  g_assert_true (found);
}
