/* test-service-media.c — media through sekishod (issue 12 item 8)
 *
 * Runs inside the whole-station harness (`sk-station-env -- test-service-
 * media`): the real sekishod under umockdev's preload on a private system
 * bus with the real polkitd, and mocked USB sticks over real loop devices
 * (`sk-station-env ctl plug/unplug`).  Each check goes through the bus as a
 * test user (setpriv, sk-bus-client.c): the Media signals on plug, unplug
 * and a composite (BadUSB) stick; registration by the administrator, then
 * import by an operator; export with its read-back verdict; each role
 * refused what is not its own, journaled; a stick pulled during an import
 * ends the job with media-removed.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#include "sk-journal.h"
#include "sk-package.h"
#include "sk-station.h"
#include "sk-synth.h"
#include "sk-test-util.h"

#define BUS_NAME "jp.sekisho.Station1"
#define OBJECT_PATH "/jp/sekisho/Station1"
#define IFACE_PREFIX "jp.sekisho.Station1."

static struct
{
  const char *env_dir;
  char *client; /* sk-bus-client, where the test users can run it */
  char *work;   /* this test's files, readable by all */
  GDBusConnection *bus;
  GPtrArray *signals;  /* "Name ARG" of each Media signal, in order */
  char *registered_id; /* the medium registered by /register-import */
} h;

/* ---- the harness's parts --------------------------------------------- */

static void
on_media_signal (GDBusConnection *c,
                 const char *sender,
                 const char *path,
                 const char *iface,
                 const char *signal,
                 GVariant *params,
                 gpointer data)
{
  const char *arg;
  g_variant_get (params, "(&s)", &arg);
  g_ptr_array_add (h.signals, g_strdup_printf ("%s %s", signal, arg));
}

/* The argument of the next signal NAME, waiting up to 10 s. */
static char *
wait_signal (const char *name)
{
  gint64 until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  g_autofree char *prefix = g_strconcat (name, " ", NULL);
  while (g_get_monotonic_time () < until)
    {
      for (guint i = 0; i < h.signals->len; i++)
        {
          const char *s = g_ptr_array_index (h.signals, i);
          if (g_str_has_prefix (s, prefix))
            {
              char *arg = g_strdup (s + strlen (prefix));
              g_ptr_array_remove_index (h.signals, i);
              return arg;
            }
        }
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (10 * 1000);
    }
  g_error ("no %s signal within 10 s", name);
}

static char *
run (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  g_autofree char *out = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, &out, NULL, &error));
  g_assert_no_error (error);
  g_strchomp (out);
  return g_steal_pointer (&out);
}

/* `sk-station-env ctl …`: the mocked stick's line, "ok SYSPATH DEVNODE". */
static void
ctl (const char *verb, const char *name, const char *image, const char *extra)
{
  g_auto (GStrv) extras = g_strsplit (extra != NULL ? extra : "", " ", -1);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer)g_getenv ("SK_STATION_ENV_BIN"));
  g_ptr_array_add (argv, (gpointer) "ctl");
  g_ptr_array_add (argv, (gpointer)verb);
  g_ptr_array_add (argv, (gpointer)name);
  if (image != NULL)
    g_ptr_array_add (argv, (gpointer)image);
  for (char **e = extras; *e != NULL; e++)
    if (**e != '\0')
      g_ptr_array_add (argv, *e);
  g_ptr_array_add (argv, NULL);
  g_autofree char *out = run ((const char *const *)argv->pdata);
  g_test_message ("ctl %s %s: %s", verb, name, out);
  g_assert_true (g_str_has_prefix (out, "ok "));
}

/* An ext4 image of SIZE holding the files of DIR (NULL: empty). */
static char *
make_image (const char *name, const char *dir, const char *size)
{
  char *image = g_build_filename (h.env_dir, name, NULL);
  const char *with[] = { "mkfs.ext4", "-q", "-F", "-d", dir, image, size, NULL };
  const char *without[] = { "mkfs.ext4", "-q", "-F", image, size, NULL };
  g_free (run (dir != NULL ? with : without));
  g_assert_true (g_file_test (image, G_FILE_TEST_IS_REGULAR));
  return image;
}

/* OP as USER through sk-bus-client; MODE --client or --client-reply. */
static char *
call_va (const char *user, const char *mode, const char *op, va_list ap)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup ("setpriv"));
  g_ptr_array_add (argv, g_strdup_printf ("--reuid=%s", user));
  g_ptr_array_add (argv, g_strdup_printf ("--regid=%s", user));
  g_ptr_array_add (argv, g_strdup ("--init-groups"));
  g_ptr_array_add (argv, g_strdup ("--"));
  g_ptr_array_add (argv, g_strdup (h.client));
  g_ptr_array_add (argv, g_strdup (mode));
  g_ptr_array_add (argv, g_strdup (op));
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, g_strdup (a));
  g_ptr_array_add (argv, NULL);
  char *out = run ((const char *const *)argv->pdata);
  g_test_message ("%s %s: %s", user, op, out);
  return out;
}

static char *
call_as (const char *user, const char *op, ...) G_GNUC_NULL_TERMINATED;
static char *
call_as (const char *user, const char *op, ...)
{
  va_list ap;
  va_start (ap, op);
  char *out = call_va (user, "--client", op, ap);
  va_end (ap);
  return out;
}

/* The JSON OP answered (a method's text, or a job's result after PREFIX,
 * "OK " or "JOB ok - "); fails the test on anything else. */
static JsonNode *
reply_as (const char *user, const char *prefix, const char *op, ...) G_GNUC_NULL_TERMINATED;
static JsonNode *
reply_as (const char *user, const char *prefix, const char *op, ...)
{
  va_list ap;
  va_start (ap, op);
  g_autofree char *out = call_va (user, "--client-reply", op, ap);
  va_end (ap);
  if (!g_str_has_prefix (out, prefix))
    g_error ("%s %s answered: %s", user, op, out);
  g_autoptr (GError) error = NULL;
  JsonNode *node = json_from_string (out + strlen (prefix), &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return node;
}

static guint
uid_of (const char *user)
{
  g_autofree char *out = run ((const char *const[]){ "id", "-u", user, NULL });
  return (guint)g_ascii_strtoull (out, NULL, 10);
}

/* The journal's rows of EVENT, through a read-only connection. */
static GPtrArray *
journal_rows (const char *event)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_station_open (g_getenv ("SK_ENV_STATION"), &error);
  g_assert_no_error (error);
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, TRUE, &error);
  g_assert_no_error (error);
  SkJournalFilter filter = { .event = event };
  GPtrArray *rows = sk_journal_query (journal, &filter, &error);
  g_assert_no_error (error);
  return rows;
}

static guint
count_rows (const char *event)
{
  g_autoptr (GPtrArray) rows = journal_rows (event);
  return rows->len;
}

/* Whether the journal holds a role-denied entry for USER calling METHOD. */
static gboolean
denial_journaled (const char *user, const char *method)
{
  g_autoptr (GPtrArray) rows = journal_rows ("role-denied");
  g_autofree char *needle = g_strdup_printf ("\"method\":\"" IFACE_PREFIX "%s\"", method);
  guint uid = uid_of (user);
  for (guint i = 0; i < rows->len; i++)
    {
      const SkJournalRow *r = g_ptr_array_index (rows, i);
      if (r->uid == (gint64)uid && r->details != NULL && strstr (r->details, needle) != NULL)
        return TRUE;
    }
  return FALSE;
}

static void
assert_denied (const char *user, const char *op, ...) G_GNUC_NULL_TERMINATED;
static void
assert_denied (const char *user, const char *op, ...)
{
  va_list ap;
  va_start (ap, op);
  g_autofree char *out = call_va (user, "--client", op, ap);
  va_end (ap);
  g_assert_cmpstr (out, ==, "ERR jp.sekisho.Error.RoleDenied");
  g_assert_true (denial_journaled (user, op));
}

/* A folder holding one package of case CASE_ID (KNY01, RECORDS records,
 * SEED) from the 標準システム side, every file readable. */
static char *
package_folder (const char *name, guint64 seed, guint64 records, const char *case_id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) std = sk_station_open (g_getenv ("SK_ENV_STANDARD"), &error);
  g_assert_no_error (error);
  g_autoptr (SkPolicy) policy = sk_station_load_policy (std, &error);
  g_assert_no_error (error);
  g_autofree char *plain = g_build_filename (h.work, name, "plain", NULL);
  char *dir = g_build_filename (h.work, name, "medium", NULL);
  g_assert_cmpint (g_mkdir_with_parents (plain, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  SkSynthOptions opts;
  sk_synth_options_init (&opts);
  opts.seed = seed;
  opts.records = records;
  opts.case_id = case_id;
  g_autofree char *file =
      sk_synth_write_file (policy, sk_policy_lookup_kind (policy, "KNY01"), &opts, plain, &error);
  g_assert_no_error (error);
  const char *files[] = { file, NULL };
  g_autofree char *package =
      sk_package_pack (std, policy, sk_actor_for_process (SK_ROLE_OPERATOR), "subscriber", case_id,
                       files, dir, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_test (package, G_FILE_TEST_IS_REGULAR));
  return dir;
}

/* ---- the tests --------------------------------------------------------- */

/* Plugged, refused (a stick that is also a keyboard), pulled: each is a
 * signal to every client and an entry in the journal. */
static void
test_signals (void)
{
  g_autofree char *blank = make_image ("blank.img", NULL, "16M");
  g_autofree char *bad_img = make_image ("bad.img", NULL, "16M");
  guint inserted = count_rows ("media-inserted");

  ctl ("plug", "s1", blank, "--serial SKT-0001 --vendor Sekisho --model Stick");
  g_autofree char *added = wait_signal ("MediumAdded");
  g_autoptr (JsonNode) a = json_from_string (added, NULL);
  JsonObject *ao = json_node_get_object (a);
  g_assert_cmpstr (json_object_get_string_member (ao, "class"), ==, "usb-storage");
  g_assert_cmpstr (json_object_get_string_member (ao, "serial"), ==, "SKT-0001");
  g_assert_false (json_object_get_boolean_member (ao, "registered"));
  g_assert_true (json_object_get_null_member (ao, "refused"));
  const char *id = json_object_get_string_member (ao, "id");

  ctl ("plug", "bad", bad_img, "--serial SKT-BAD --composite");
  g_autofree char *refused = wait_signal ("MediumRefused");
  g_autoptr (JsonNode) r = json_from_string (refused, NULL);
  JsonObject *ro = json_node_get_object (r);
  g_assert_cmpstr (json_object_get_string_member (ro, "refused"), ==, "media-class");
  const char *bad_id = json_object_get_string_member (ro, "id");

  /* Each role that may list sees both, the refused one with its reason. */
  const char *listers[] = { "skop1", "skaud", "skadm" };
  for (gsize i = 0; i < G_N_ELEMENTS (listers); i++)
    {
      g_autoptr (JsonNode) l = reply_as (listers[i], "OK ", "Media.List", NULL);
      JsonArray *media = json_object_get_array_member (json_node_get_object (l), "media");
      g_assert_cmpuint (json_array_get_length (media), ==, 2);
    }
  assert_denied ("sknone", "Media.List", NULL);
  assert_denied ("sktwo", "Media.List", NULL);

  ctl ("unplug", "s1", NULL, NULL);
  g_autofree char *gone = wait_signal ("MediumRemoved");
  g_assert_cmpstr (gone, ==, id);
  ctl ("unplug", "bad", NULL, NULL);
  g_autofree char *gone2 = wait_signal ("MediumRemoved");
  g_assert_cmpstr (gone2, ==, bad_id);

  g_assert_cmpuint (count_rows ("media-inserted"), ==, inserted + 1);
  g_autoptr (GPtrArray) refusals = journal_rows ("media-refused");
  g_assert_cmpuint (refusals->len, >=, 1);
  const SkJournalRow *last = g_ptr_array_index (refusals, refusals->len - 1);
  g_assert_cmpstr (last->reason, ==, "media-class");
  g_assert_cmpuint (count_rows ("media-removed"), >=, 2);
}

/* The administrator registers a stick; then, and only then, an operator
 * imports from it.  Each role is refused the others' part, journaled. */
static void
test_register_import (void)
{
  const char *case_id = "C0000000000000000031";
  g_autofree char *dir = package_folder ("p1", 31, 20, case_id);
  g_autofree char *image = make_image ("p1.img", dir, "32M");
  ctl ("plug", "p1", image, "--serial SKT-0002 --vendor Sekisho --model Stick");
  g_autofree char *added = wait_signal ("MediumAdded");
  g_autoptr (JsonNode) a = json_from_string (added, NULL);
  h.registered_id = g_strdup (json_object_get_string_member (json_node_get_object (a), "id"));

  /* The default policy imports from registered media only. */
  g_autofree char *unregistered = call_as ("skop1", "Media.Import", h.registered_id, NULL);
  g_assert_cmpstr (unregistered, ==, "JOB fail media-unregistered");

  assert_denied ("skop1", "Media.Register", h.registered_id, "USB-0001", "", NULL);
  assert_denied ("skaud", "Media.Register", h.registered_id, "USB-0001", "", NULL);
  assert_denied ("skop1", "Media.ListRegister", NULL);
  g_autoptr (JsonNode) row =
      reply_as ("skadm", "OK ", "Media.Register", h.registered_id, "USB-0001", "受付用", NULL);
  JsonObject *ro = json_node_get_object (row);
  g_assert_cmpstr (json_object_get_string_member (ro, "number"), ==, "USB-0001");
  g_assert_cmpstr (json_object_get_string_member (ro, "state"), ==, "registered");
  g_assert_cmpstr (json_object_get_string_member (ro, "serial"), ==, "SKT-0002");

  /* The register, as the auditor reads it; the medium, as the operator
   * sees it now. */
  g_autoptr (JsonNode) reg = reply_as ("skaud", "OK ", "Media.ListRegister", NULL);
  JsonArray *rows = json_object_get_array_member (json_node_get_object (reg), "register");
  g_assert_cmpuint (json_array_get_length (rows), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (rows, 0), "label"),
                   ==, "受付用");
  g_autoptr (JsonNode) list = reply_as ("skop1", "OK ", "Media.List", NULL);
  JsonArray *media = json_object_get_array_member (json_node_get_object (list), "media");
  g_assert_cmpuint (json_array_get_length (media), ==, 1);
  JsonObject *m = json_array_get_object_element (media, 0);
  g_assert_true (json_object_get_boolean_member (m, "registered"));
  g_assert_cmpstr (json_object_get_string_member (m, "number"), ==, "USB-0001");
  g_assert_cmpstr (json_object_get_string_member (m, "label"), ==, "受付用");

  /* Neither the administrator nor the auditor moves files. */
  assert_denied ("skadm", "Media.Import", h.registered_id, NULL);
  assert_denied ("skaud", "Media.Import", h.registered_id, NULL);

  g_autoptr (JsonNode) imported =
      reply_as ("skop1", "JOB ok - ", "Media.Import", h.registered_id, NULL);
  JsonArray *packages = json_object_get_array_member (json_node_get_object (imported), "packages");
  g_assert_cmpuint (json_array_get_length (packages), ==, 1);
  JsonObject *p = json_array_get_object_element (packages, 0);
  g_assert_true (json_object_get_null_member (p, "reason"));
  JsonObject *c = json_object_get_object_member (p, "case");
  g_assert_cmpstr (json_object_get_string_member (c, "id"), ==, case_id);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (c, "deadlines")), >=, 1);
  g_autoptr (GPtrArray) imports = journal_rows ("media-import");
  g_assert_cmpuint (imports->len, >=, 1);
  const SkJournalRow *last = g_ptr_array_index (imports, imports->len - 1);
  g_assert_cmpstr (last->outcome, ==, "ok");
  g_assert_cmpint (last->uid, ==, uid_of ("skop1"));
  g_assert_cmpstr (last->role, ==, "operator");

  /* The register as CSV for the union's 管理簿, and a hostile CSV refused
   * whole. */
  g_autofree char *csv = g_build_filename (h.work, "register.csv", NULL);
  g_autofree char *exported = call_as ("skadm", "Media.ExportRegister", csv, NULL);
  g_assert_cmpstr (exported, ==, "OK");
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  g_assert_true (g_str_has_prefix (text, "\xef\xbb\xbf"));
  g_assert_nonnull (strstr (text, "USB-0001"));
  g_autofree char *hostile = g_build_filename (h.work, "hostile.csv", NULL);
  g_assert_true (g_file_set_contents (
      hostile,
      "\xef\xbb\xbf\"管理番号\",\"種別\",\"メーカー\",\"型番\",\"シリアル\",\"登録日\",\"登録者\","
      "\"状態\"\r\n\"=cmd|' /C calc'!A0\",\"usb-storage\",\"a\",\"b\",\"c\",\"2026-01-01\","
      "\"x\",\"登録\"\r\n",
      -1, NULL));
  g_assert_cmpint (g_chmod (hostile, 0644), ==, 0);
  g_autofree char *refused = call_as ("skadm", "Media.ImportRegister", hostile, NULL);
  g_assert_cmpstr (refused, ==, "ERR jp.sekisho.Error.MediaCsvInvalid");
  g_autofree char *aud_csv = g_build_filename (h.work, "auditor.csv", NULL);
  assert_denied ("skaud", "Media.ExportRegister", aud_csv, NULL);
}

/* A disc is registered before it is burned (Media.RegisterDisc): the
 * service writes the signed token into the two files the administrator
 * made, records the row (kind optical) and journals it; nobody else may,
 * and a file that is not new and empty is refused with nothing recorded. */
static void
test_register_disc (void)
{
  g_autofree char *dir = g_build_filename (h.work, "disc", NULL);
  g_assert_cmpint (g_mkdir (dir, 0777), ==, 0);
  g_assert_cmpint (g_chmod (dir, 0777), ==, 0);
  g_autofree char *token = g_build_filename (dir, ".sekisho-medium.json", NULL);
  g_autofree char *sig = g_build_filename (dir, ".sekisho-medium.json.sig", NULL);
  guint registered = count_rows ("media-registered");

  const char *const others[] = { "skop1", "skaud" };
  for (gsize i = 0; i < G_N_ELEMENTS (others); i++)
    {
      g_autofree char *t = g_strdup_printf ("%s/%s.json", dir, others[i]);
      g_autofree char *s = g_strdup_printf ("%s/%s.json.sig", dir, others[i]);
      assert_denied (others[i], "Media.RegisterDisc", "CD-0101", "", t, s, NULL);
    }

  g_autoptr (JsonNode) row =
      reply_as ("skadm", "OK ", "Media.RegisterDisc", "CD-0101", "月次", token, sig, NULL);
  JsonObject *ro = json_node_get_object (row);
  g_assert_cmpstr (json_object_get_string_member (ro, "number"), ==, "CD-0101");
  g_assert_cmpstr (json_object_get_string_member (ro, "kind"), ==, "optical");
  g_assert_cmpstr (json_object_get_string_member (ro, "state"), ==, "registered");
  g_assert_cmpuint (count_rows ("media-registered"), ==, registered + 1);

  /* The files are the administrator's, and hold the token for CD-0101. */
  GStatBuf st;
  g_assert_cmpint (g_stat (token, &st), ==, 0);
  g_assert_cmpuint (st.st_uid, ==, uid_of ("skadm"));
  g_autofree char *doc = NULL;
  g_assert_true (g_file_get_contents (token, &doc, NULL, NULL));
  g_autoptr (JsonNode) t = json_from_string (doc, NULL);
  g_assert_nonnull (t);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (t), "number"), ==,
                   "CD-0101");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (t), "format"), ==,
                   "sekisho-medium-token/1");
  g_assert_cmpint (g_stat (sig, &st), ==, 0);
  g_assert_cmpint (st.st_size, >, 0);

  /* The same number again: refused, and the new files stay empty. */
  g_autofree char *token2 = g_build_filename (dir, "again.json", NULL);
  g_autofree char *sig2 = g_build_filename (dir, "again.json.sig", NULL);
  g_autofree char *again =
      call_as ("skadm", "Media.RegisterDisc", "CD-0101", "", token2, sig2, NULL);
  g_assert_cmpstr (again, ==, "ERR jp.sekisho.Error.MediaNumberInUse");
  g_assert_cmpint (g_stat (token2, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 0);

  /* A file that already holds something is not overwritten: refused before
   * anything is recorded. */
  g_autofree char *full = g_build_filename (dir, "full.json", NULL);
  g_autofree char *sig3 = g_build_filename (dir, "full.json.sig", NULL);
  g_assert_true (g_file_set_contents (full, "keep me", -1, NULL));
  g_assert_cmpint (g_chmod (full, 0666), ==, 0);
  g_autofree char *clobber =
      call_as ("skadm", "Media.RegisterDisc", "CD-0102", "", full, sig3, NULL);
  g_assert_cmpstr (clobber, ==, "ERR jp.sekisho.Error.Usage");
  g_autofree char *kept = NULL;
  g_assert_true (g_file_get_contents (full, &kept, NULL, NULL));
  g_assert_cmpstr (kept, ==, "keep me");
  g_autoptr (JsonNode) reg = reply_as ("skaud", "OK ", "Media.ListRegister", NULL);
  JsonArray *rows = json_object_get_array_member (json_node_get_object (reg), "register");
  for (guint i = 0; i < json_array_get_length (rows); i++)
    g_assert_cmpstr (
        json_object_get_string_member (json_array_get_object_element (rows, i), "number"), !=,
        "CD-0102");
}

/* The imported case's result, taken in, goes onto the registered stick
 * and is read back from it before the export counts. */
static void
test_export (void)
{
  g_assert_nonnull (h.registered_id);
  const char *case_id = "C0000000000000000031";
  g_autofree char *handed = call_as ("skop1", "Cases.HandOff", case_id, NULL);
  g_assert_cmpstr (handed, ==, "JOB ok -");
  g_autofree char *confirmed = call_as ("skop1", "Cases.ConfirmUpload", case_id, NULL);
  g_assert_cmpstr (confirmed, ==, "OK");

  /* The browser saves the result in the operator's download folder. */
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPolicy) policy = sk_test_default_policy ();
  guint uid = uid_of ("skop1");
  g_autofree char *uid_text = g_strdup_printf ("%u", uid);
  g_autofree char *down =
      g_build_filename (g_getenv ("SK_ENV_HANDOFF"), "download", uid_text, NULL);
  g_assert_true (g_file_test (down, G_FILE_TEST_IS_DIR));
  SkSynthOptions opts;
  sk_synth_options_init (&opts);
  opts.seed = 31;
  opts.records = 20;
  opts.case_id = case_id;
  g_autofree char *result =
      sk_synth_write_file (policy, sk_policy_lookup_kind (policy, "KNY02"), &opts, down, &error);
  g_assert_no_error (error);
  g_assert_cmpint (chown (result, uid, uid), ==, 0);
  g_autofree char *name = g_path_get_basename (result);
  g_autofree char *taken = call_as ("skop1", "Cases.TakeIn", name, NULL);
  g_assert_cmpstr (taken, ==, "JOB ok -");

  assert_denied ("skadm", "Media.Export", case_id, h.registered_id, NULL);
  g_autoptr (JsonNode) exported =
      reply_as ("skop1", "JOB ok - ", "Media.Export", case_id, h.registered_id, NULL);
  JsonObject *e = json_node_get_object (exported);
  g_assert_cmpstr (json_object_get_string_member (e, "readback"), ==, "match");
  g_assert_cmpstr (json_object_get_string_member (e, "number"), ==, "USB-0001");
  g_assert_cmpstr (json_object_get_string_member (e, "medium"), ==, h.registered_id);
  g_assert_true (g_str_has_suffix (json_object_get_string_member (e, "package"), ".tar.gpg"));
  g_autoptr (GPtrArray) exports = journal_rows ("media-export");
  const SkJournalRow *last = g_ptr_array_index (exports, exports->len - 1);
  g_assert_cmpstr (last->outcome, ==, "ok");

  ctl ("unplug", "p1", NULL, NULL);
  g_autofree char *gone = wait_signal ("MediumRemoved");
  g_assert_cmpstr (gone, ==, h.registered_id);
}

/* A stick pulled while its package is read: the job ends with
 * media-removed, and the case is not in the store. */
static void
test_pulled (void)
{
  const char *case_id = "C0000000000000000032";
  const char *records = g_getenv ("SK_PULL_RECORDS");
  g_autofree char *dir = package_folder (
      "p2", 32, records != NULL ? g_ascii_strtoull (records, NULL, 10) : 200000, case_id);
  g_autofree char *image = make_image ("p2.img", dir, "256M");
  ctl ("plug", "p2", image, "--serial SKT-0003 --vendor Sekisho --model Stick");
  g_autofree char *added = wait_signal ("MediumAdded");
  g_autoptr (JsonNode) a = json_from_string (added, NULL);
  const char *id = json_object_get_string_member (json_node_get_object (a), "id");
  g_autoptr (JsonNode) row = reply_as ("skadm", "OK ", "Media.Register", id, "USB-0002", "", NULL);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (row), "number"), ==,
                   "USB-0002");

  /* The client says when the job runs, then waits for its end. */
  const char *argv[] = { "setpriv", "--reuid=skop1", "--regid=skop1", "--init-groups",
                         "--",      h.client,        "--client-pull", id,
                         NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  g_autoptr (GDataInputStream) out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p));
  g_autofree char *first = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (first, ==, "RUNNING");
  gint64 t0 = g_get_monotonic_time ();
  ctl ("unplug", "p2", NULL, NULL);
  g_autofree char *end = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  gint64 ms = (g_get_monotonic_time () - t0) / 1000;
  g_print ("# pulled: the import ended %" G_GINT64_FORMAT " ms after the unplug: %s\n", ms, end);
  g_assert_cmpstr (end, ==, "JOB fail media-removed");
  g_assert_true (g_subprocess_wait (p, NULL, NULL));
  g_autofree char *shown = call_as ("skop1", "Cases.Show", case_id, NULL);
  g_assert_cmpstr (shown, ==, "ERR jp.sekisho.Error.CaseUnknown");
  g_autofree char *gone = wait_signal ("MediumRemoved");
  g_assert_cmpstr (gone, ==, id);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  h.env_dir = g_getenv ("SK_ENV_DIR");
  if (geteuid () != 0 || h.env_dir == NULL)
    {
      g_print ("1..0 # SKIP runs as root inside sk-station-env\n");
      return 0;
    }
  umask (022);
  h.work = g_build_filename (h.env_dir, "media-test", NULL);
  g_assert_cmpint (g_mkdir (h.work, 0777), ==, 0);
  g_assert_cmpint (g_chmod (h.work, 01777), ==, 0);
  h.client = g_build_filename (h.env_dir, "sk-bus-client", NULL);
  g_autofree char *client = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (g_getenv ("SK_BUS_CLIENT"), &client, &len, NULL));
  g_assert_true (g_file_set_contents_full (h.client, client, (gssize)len, G_FILE_SET_CONTENTS_NONE,
                                           0755, NULL));

  g_autoptr (GError) error = NULL;
  h.bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &error);
  g_assert_no_error (error);
  h.signals = g_ptr_array_new_with_free_func (g_free);
  const char *names[] = { "MediumAdded", "MediumRefused", "MediumRemoved" };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    g_dbus_connection_signal_subscribe (h.bus, BUS_NAME, IFACE_PREFIX "Media", names[i],
                                        OBJECT_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                        on_media_signal, NULL, NULL);

  g_test_add_func ("/service-media/signals", test_signals);
  g_test_add_func ("/service-media/register-import", test_register_import);
  g_test_add_func ("/service-media/register-disc", test_register_disc);
  g_test_add_func ("/service-media/export", test_export);
  g_test_add_func ("/service-media/pulled", test_pulled);
  int status = g_test_run ();
  g_clear_object (&h.bus);
  g_ptr_array_unref (h.signals);
  return status;
}
