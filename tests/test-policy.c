/* test-policy.c — the sekisho-policy/1 schema and the signed load
 *
 * Schema: the default policy compiles; each hostile edit of it is refused
 * with policy-invalid.  Signature: real keys made by gpg in a temporary home
 * sign the policy; a station with a pinned admin loads it only when the
 * signature verifies, by a pinned admin that the policy also lists.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>

#include "sk-error.h"
#include "sk-policy-private.h"
#include "sk-station.h"
#include "sk-test-gpg.h"
#include "sk-test-util.h"

/* ---- schema ------------------------------------------------------------ */

static void
test_default_compiles (void)
{
  g_autoptr (SkPolicy) policy = sk_test_default_policy ();
  static const char *const ids[] = { "KNY01", "KNY02", "FKH01", "FKH02", "FKH03", "FKH09",
                                     "SKI01", "SKI02", "SKI03", "JLS01", "JLS02" };
  GPtrArray *kinds = sk_policy_get_kinds (policy);

  g_assert_cmpuint (kinds->len, ==, G_N_ELEMENTS (ids));
  for (gsize i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      const SkKind *kind = sk_policy_lookup_kind (policy, ids[i]);
      g_assert_nonnull (kind);
      g_assert_cmpstr (sk_kind_get_id (g_ptr_array_index (kinds, i)), ==, ids[i]);
      g_autofree char *name = g_strdup_printf ("039004_%s_20261124153000_001.%s", ids[i],
                                               kind->profile == SK_PROFILE_P1 ? "DAT" : "CSV");
      g_assert_true (sk_policy_match_file_name (policy, name) == kind);
    }
  const SkRetention *retention = sk_policy_get_retention (policy);
  g_assert_cmpint (retention->upload_minutes, ==, 30);
  g_assert_cmpint (retention->inquiry_result_days, ==, 7);
  g_assert_cmpint (retention->journal_years, ==, 7);
  g_assert_cmpint (sk_retention_deadline (retention, SK_RETENTION_UPLOAD, 1000), ==,
                   1000 + G_GINT64_CONSTANT (30) * 60 * G_USEC_PER_SEC);
  g_assert_cmpint (sk_retention_deadline (retention, SK_RETENTION_INQUIRY_RESULT, 0), ==,
                   G_GINT64_CONSTANT (7) * 24 * 3600 * G_USEC_PER_SEC);
  g_assert_true (sk_policy_needs_dual_control (policy, "SKI03"));
  g_assert_false (sk_policy_needs_dual_control (policy, "KNY01"));
  g_assert_null (sk_policy_match_file_name (policy, "039004_KNY01_20261124153000_001.dat"));
  g_assert_null (sk_policy_match_file_name (policy, "../039004_KNY01_20261124153000_001.DAT"));
  g_assert_null (sk_policy_match_file_name (policy, "039004_KNY01_20261124153000_001.DAT\n"));
  g_assert_null (sk_policy_match_file_name (policy, "\xff\xfe"));

  /* KNY01 is the layout of DOMAIN.md §3 to the byte. */
  const SkKind *kny01 = sk_policy_lookup_kind (policy, "KNY01");
  const SkRecordLayout *data = kny01->records[SK_RECORD_DATA];
  g_assert_cmpuint (kny01->record_length, ==, 500);
  g_assert_cmpuint (data->fields->len, ==, 21);
  const SkField *number = _sk_record_layout_find (data, "個人番号");
  g_assert_cmpuint (number->index, ==, 6);
  g_assert_cmpuint (number->offset, ==, 30);
  g_assert_cmpuint (number->length, ==, 12);
  g_assert_true (number->personal);
  g_assert_cmpuint (((SkField *)g_ptr_array_index (data->fields, 20))->length, ==, 95);
}

/* A member named twice in one object is refused, even spelt with an
 * escape: json-glib would keep the last one silently. */
static void
test_duplicate_member (void)
{
  const char *dups[] = { "{\"serial\": 5, ", "{\"seri\\u0061l\": 5, " };
  for (gsize i = 0; i < G_N_ELEMENTS (dups); i++)
    {
      g_autofree char *text = sk_test_default_policy_text ();
      g_autoptr (GString) s = g_string_new (text);
      g_assert_cmpuint (g_string_replace (s, "{", dups[i], 1), ==, 1);
      g_autoptr (GBytes) bytes = g_bytes_new (s->str, s->len);
      g_autoptr (GError) error = NULL;
      g_autoptr (SkPolicy) policy = _sk_policy_new_from_bytes_full (bytes, TRUE, &error);
      g_assert_error (error, SK_ERROR, SK_ERROR_POLICY_INVALID);
      g_assert_nonnull (strstr (error->message, "twice"));
      g_assert_null (policy);
    }
  /* …and the same text without the duplicate is fine. */
  g_autofree char *text = sk_test_default_policy_text ();
  g_autoptr (GBytes) bytes = g_bytes_new (text, strlen (text));
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPolicy) policy = _sk_policy_new_from_bytes_full (bytes, TRUE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (policy);
}

/* A document is one JSON value: a second one after it (which json-glib
 * would read, leaking the first) and an empty document are refused before
 * json-glib sees them. */
static void
test_one_value (void)
{
  const char *bad[] = { "{}{}", "[][]", "0{}", "{} 1", "\"a\" \"b\"", "", "  \r\n" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (_sk_json_nesting_ok (bad[i], strlen (bad[i])));
  const char *good[] = { "{}", " {\"a\": [1, 2]} \n", "12", "\"x\"" };
  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (_sk_json_nesting_ok (good[i], strlen (good[i])));
}

/* Strings hold only escapes JSON allows, a high surrogate always with its
 * low half, no U+0000 and no raw control character: json-glib 1.6 leaks on
 * a broken \u escape, and a NUL would end a C string early. */
static void
test_escapes (void)
{
  const char *bad[] = { "\"\\ud8\"",          "\"\\ud800\"", "\"\\ud800x\"", "\"\\udc00\"",
                        "\"\\ud800\\u0041\"", "\"\\u12\"",   "\"\\u12G4\"",  "\"\\x41\"",
                        "\"\\u0000\"",        "\"a\tb\"",    "\"\\",         "{\"a\\ud83d\": 1}" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (_sk_json_nesting_ok (bad[i], strlen (bad[i])));
  const char *good[] = { "\"\\u00e9\"", "\"\\ud83d\\ude00\"", "\"\\n\\t\\\"\\\\\\/\"",
                         "{\"\\u540d\": \"\\u0041\"}", "\"関所\"" };
  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (_sk_json_nesting_ok (good[i], strlen (good[i])));
}

/* The shipped policy has an empty key section: usable for its layouts, never
 * as a station's policy. */
static void
test_default_needs_keys (void)
{
  g_autofree char *text = sk_test_default_policy_text ();
  gsize len = strlen (text);
  g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&text), len);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPolicy) policy = sk_policy_new_from_bytes (bytes, &error);

  g_assert_error (error, SK_ERROR, SK_ERROR_POLICY_INVALID);
  g_assert_null (policy);
}

typedef struct
{
  const char *name;
  const char *old_text;
  const char *new_text;
} SchemaCase;

static const SchemaCase schema_cases[] = {
  { "format", "\"sekisho-policy/1\"", "\"sekisho-policy/2\"" },
  { "unknown-top-member", "\"serial\": 1,", "\"serial\": 1, \"debug\": true," },
  { "serial-zero", "\"serial\": 1,", "\"serial\": 0," },
  { "issued-at-local", "\"2026-11-24T00:00:00Z\"", "\"2026-11-24T09:00:00+09:00\"" },
  { "limits-missing", "\"max_findings\": 1000,", "" },
  { "limits-zero", "\"max_findings\": 1000", "\"max_findings\": 0" },
  { "media-class", "\"classes\": [\"usb-storage\", \"optical\"]",
    "\"classes\": [\"usb-storage\", \"network\"]" },
  { "retention-negative", "\"upload_minutes\": 30", "\"upload_minutes\": -1" },
  { "dual-control-unknown", "\"dual_control\": [\"SKI03\"]", "\"dual_control\": [\"XYZ99\"]" },
  { "unknown-field-member", "{ \"name\": \"処理区分\", \"type\": \"9\", \"length\": 1,",
    "{ \"name\": \"処理区分\", \"type\": \"9\", \"length\": 1, \"regex\": \".*\"," },
  { "bad-type", "{ \"name\": \"性別\", \"type\": \"9\"", "{ \"name\": \"性別\", \"type\": \"Z\"" },
  { "widths", "{ \"name\": \"被保険者記号\", \"type\": \"X\", \"length\": 10",
    "{ \"name\": \"被保険者記号\", \"type\": \"X\", \"length\": 400" },
  { "odd-N", "\"name\": \"氏名(漢字)\", \"type\": \"N\", \"length\": 60",
    "\"name\": \"氏名(漢字)\", \"type\": \"N\", \"length\": 59" },
  { "codes-on-P1-N", "\"length\": 60, \"content\": \"name\" }",
    "\"length\": 60, \"content\": \"name\", \"codes\": [\"山田\"] }" },
  { "check-length", "\"length\": 12, \"check\": \"individual-number\"",
    "\"length\": 12, \"check\": \"insurer-number\"" },
  { "check-unknown", "\"length\": 12, \"check\": \"individual-number\"",
    "\"length\": 12, \"check\": \"luhn\"" },
  { "date-length", "\"length\": 8, \"date\": \"ymd\", \"min\": 20080401",
    "\"length\": 8, \"date\": \"wareki\", \"min\": 20080401" },
  { "dangling-reference", "\"not_before\": \"資格取得年月日\"", "\"not_before\": \"取得日\"" },
  { "rest-not-last", "{ \"name\": \"被保険者記号\", \"type\": \"X\", \"length\": 10",
    "{ \"name\": \"被保険者記号\", \"type\": \"X\", \"length\": \"rest\"" },
  { "unknown-template", "\"header\": \"p1-header\"", "\"header\": \"p9-header\"" },
  { "regex", "\"name_pattern\": \"^(?<lg>", "\"name_pattern\": \"^((?<lg>" },
  { "regex-unanchored", "\"name_pattern\": \"^(?<lg>", "\"name_pattern\": \"(?<lg>" },
  { "regex-no-group", "(?<seq>[0-9]{3})\\\\.DAT$\"", "([0-9]{3})\\\\.DAT$\"" },
  { "duplicate-field", "{ \"name\": \"被保険者記号\"", "{ \"name\": \"被保険者番号\"" },
  { "record-type-const",
    "{ \"name\": \"レコード種別\", \"type\": \"X\", \"length\": 1, \"const\": \"1\" }",
    "{ \"name\": \"レコード種別\", \"type\": \"X\", \"length\": 1, \"const\": \"2\" }" },
  { "pairs-with-unknown", "\"pairs_with\": [\"KNY02\"]", "\"pairs_with\": [\"KNY99\"]" },
  { "kind-id", "\"KNY01\": {", "\"kny01\": {" },
  { "labels-without-code", "\"labels\": { \"1\": \"新規\", \"2\": \"変更\", \"3\": \"削除\" }",
    "\"labels\": { \"1\": \"新規\", \"2\": \"変更\", \"4\": \"削除\" }" },
  { "min-above-max", "\"min\": 0, \"max\": 9", "\"min\": 9, \"max\": 0" },
  { "not-json", "{\n  \"format\"", "{\n  format" },
};

static void
test_schema_case (gconstpointer data)
{
  const SchemaCase *c = data;
  g_autofree char *text = sk_test_default_policy_text ();

  g_assert_nonnull (strstr (text, c->old_text));
  g_autoptr (GString) edited = g_string_new (text);
  g_string_replace (edited, c->old_text, c->new_text, 1);
  g_autoptr (GBytes) bytes = g_bytes_new (edited->str, edited->len);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPolicy) policy = _sk_policy_new_from_bytes_full (bytes, TRUE, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_POLICY_INVALID);
  g_assert_null (policy);
  g_test_message ("%s: %s", c->name, error->message);
}

static void
test_not_text (void)
{
  const char *inputs[] = { "", "\xEF\xBB\xBF{}", "{\"format\":\0}", "\xff" };
  const gsize lengths[] = { 0, 5, 12, 1 };

  for (gsize i = 0; i < G_N_ELEMENTS (inputs); i++)
    {
      g_autoptr (GBytes) bytes = g_bytes_new (inputs[i], lengths[i]);
      g_autoptr (GError) error = NULL;
      g_autoptr (SkPolicy) policy = _sk_policy_new_from_bytes_full (bytes, TRUE, &error);
      g_assert_error (error, SK_ERROR, SK_ERROR_POLICY_INVALID);
      g_assert_null (policy);
    }
  g_autofree char *big = g_malloc0 (SK_POLICY_MAX_SIZE + 1);
  memset (big, ' ', SK_POLICY_MAX_SIZE + 1);
  g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&big), SK_POLICY_MAX_SIZE + 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPolicy) policy = _sk_policy_new_from_bytes_full (bytes, TRUE, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_POLICY_INVALID);
  g_assert_null (policy);
}

/* ---- signed loading with real keys -------------------------------------- */

typedef struct
{
  SkTestGpg *gpg;
  char *admin;
  char *other_admin;
  char *mallory;
  char *station_key;
} Keys;

static Keys keys;

/* Who installs: passed in, never asked of the system. */
static const SkActor test_admin = { 4242, "test-admin", "admin" };

static void
keys_make (void)
{
  if (keys.gpg != NULL)
    return;
  keys.gpg = sk_test_gpg_new ();
  keys.admin =
      sk_test_gpg_make_key (keys.gpg, "Admin <admin@test.invalid>", "ed25519", "never", NULL);
  keys.other_admin =
      sk_test_gpg_make_key (keys.gpg, "Other admin <other@test.invalid>", "ed25519", "never", NULL);
  keys.mallory =
      sk_test_gpg_make_key (keys.gpg, "Mallory <mallory@test.invalid>", "ed25519", "never", NULL);
  keys.station_key =
      sk_test_gpg_make_key (keys.gpg, "Station <station@test.invalid>", "ed25519", "never", NULL);
}

typedef struct
{
  char *dir;
  SkStation *station;
  char *policy_path;
} Fixture;

/* The default policy with a filled key section listing ADMINS. */
static char *
policy_text (const char *const *admins)
{
  g_autofree char *text = sk_test_default_policy_text ();
  g_autoptr (GString) s = g_string_new (text);
  g_autofree char *list = g_strjoinv ("\", \"", (GStrv)admins);
  g_autofree char *admins_json = g_strdup_printf ("\"admins\": [\"%s\"]", list);
  g_autofree char *dir_json = g_strdup_printf ("{ \"signers\": [\"%s\"], \"recipient\": \"%s\" }",
                                               keys.station_key, keys.station_key);

  g_string_replace (s, "\"admins\": []", admins_json, 1);
  g_string_replace (s, "{ \"signers\": [], \"recipient\": \"\" }", dir_json, 0);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
write_bytes (const char *path, GBytes *bytes)
{
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, g_bytes_get_data (bytes, NULL), (gssize)g_bytes_get_size (bytes),
                       &error);
  g_assert_no_error (error);
}

static void
write_policy (Fixture *fx, const char *text, const char *signer, const char *const *extra_args)
{
  g_autoptr (GBytes) bytes = g_bytes_new (text, strlen (text));
  write_bytes (fx->policy_path, bytes);
  g_autofree char *sig_path = g_strconcat (fx->policy_path, ".sig", NULL);
  g_unlink (sig_path);
  if (signer == NULL)
    return;

  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_ptr_array_add (args, (gpointer) "-u");
  g_ptr_array_add (args, (gpointer)signer);
  for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer)extra_args[i]);
  g_ptr_array_add (args, NULL);
  g_autoptr (GBytes) sig = sk_test_gpg_sign (keys.gpg, bytes, (const char *const *)args->pdata);
  write_bytes (sig_path, sig);
}

/* Checking the policy at fx->policy_path fails with CODE (an SkErrorCode)
 * and gives nothing. */
static void
assert_refused (Fixture *fx, int code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPolicy) policy = sk_station_check_policy (fx->station, fx->policy_path, &error);
  g_assert_error (error, SK_ERROR, code);
  g_assert_null (policy);
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  keys_make ();
  g_autofree char *tmp = g_dir_make_tmp ("skp-XXXXXX", &error);
  g_assert_no_error (error);
  fx->dir = g_build_filename (tmp, "station", NULL);
  fx->policy_path = g_build_filename (tmp, "policy.json", NULL);
  fx->station =
      sk_station_create (fx->dir, keys.admin, keys.station_key, "test", &test_admin, &error);
  g_assert_no_error (error);

  /* The station knows the admin, the other admin and mallory (public keys
   * only): knowing a key is not trusting it. */
  const char *known[] = { keys.admin, keys.other_admin, keys.mallory };
  for (gsize i = 0; i < G_N_ELEMENTS (known); i++)
    {
      g_autoptr (GBytes) pub = sk_test_gpg_export (keys.gpg, known[i], FALSE);
      g_autoptr (GPtrArray) fprs =
          sk_keyring_import (sk_station_get_keyring (fx->station), pub, keys.station_key, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (fprs->len, ==, 1);
    }
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_autofree char *tmp = g_path_get_dirname (fx->dir);
  g_clear_object (&fx->station);
  g_autofree char *home = g_build_filename (fx->dir, "gnupg", NULL);
  sk_test_gpg_remove_home (home);
  sk_test_gpg_remove_home (tmp);
  g_free (fx->dir);
  g_free (fx->policy_path);
}

static void
test_signed_ok (Fixture *fx, gconstpointer data)
{
  const char *admins[] = { keys.admin, NULL };
  g_autofree char *text = policy_text (admins);
  g_autoptr (GError) error = NULL;

  write_policy (fx, text, keys.admin, NULL);
  g_autoptr (SkPolicy) policy = sk_station_check_policy (fx->station, fx->policy_path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sk_policy_get_signer (policy), ==, keys.admin);
  g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
  g_assert_cmpstr (sk_policy_get_sha256 (policy), ==, sha);
  g_assert_cmpstr (sk_policy_get_recipient (policy, SK_DIRECTION_TO_INTERMEDIATE), ==,
                   keys.station_key);

  /* Installed, it loads again from the station's own copy. */
  g_autoptr (SkPolicy) installed =
      sk_station_install_policy (fx->station, &test_admin, fx->policy_path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sk_policy_get_sha256 (installed), ==, sha);
  g_autoptr (SkPolicy) loaded = sk_station_load_policy (fx->station, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sk_policy_get_sha256 (loaded), ==, sha);

  /* A byte changed in the installed copy: never loaded again. */
  g_autofree char *copy = g_build_filename (fx->dir, "policy", "current", "policy.json", NULL);
  g_autofree char *tampered = g_strdup (text);
  tampered[strlen (tampered) / 2] ^= 0x01;
  g_chmod (copy, 0644);
  g_assert_true (g_file_set_contents (copy, tampered, -1, NULL));
  g_autoptr (SkPolicy) none = sk_station_load_policy (fx->station, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_POLICY_BAD_SIGNATURE);
  g_assert_null (none);
}

static void
test_unsigned (Fixture *fx, gconstpointer data)
{
  const char *admins[] = { keys.admin, NULL };
  g_autofree char *text = policy_text (admins);

  write_policy (fx, text, NULL, NULL);
  assert_refused (fx, SK_ERROR_POLICY_UNSIGNED);

  /* An empty signature file is no signature either. */
  g_autofree char *sig_path = g_strconcat (fx->policy_path, ".sig", NULL);
  g_assert_true (g_file_set_contents (sig_path, "", 0, NULL));
  assert_refused (fx, SK_ERROR_POLICY_UNSIGNED);
}

static void
test_bad_signature (Fixture *fx, gconstpointer data)
{
  const char *admins[] = { keys.admin, NULL };
  g_autofree char *text = policy_text (admins);

  write_policy (fx, text, keys.admin, NULL);
  /* One more space after signing. */
  g_autofree char *changed = g_strconcat (text, " ", NULL);
  g_assert_true (g_file_set_contents (fx->policy_path, changed, -1, NULL));
  assert_refused (fx, SK_ERROR_POLICY_BAD_SIGNATURE);
}

/* Mallory's key is in the keyring, but not pinned. */
static void
test_untrusted_signer (Fixture *fx, gconstpointer data)
{
  const char *admins[] = { keys.mallory, NULL };
  g_autofree char *text = policy_text (admins);

  write_policy (fx, text, keys.mallory, NULL);
  assert_refused (fx, SK_ERROR_POLICY_UNTRUSTED_SIGNER);
}

/* Signed by the pinned admin, but the policy itself lists someone else. */
static void
test_signer_not_listed (Fixture *fx, gconstpointer data)
{
  const char *admins[] = { keys.other_admin, NULL };
  g_autofree char *text = policy_text (admins);

  write_policy (fx, text, keys.admin, NULL);
  assert_refused (fx, SK_ERROR_POLICY_UNTRUSTED_SIGNER);
}

/* Signature faults other than these three keep their own sig-* codes. */
static void
test_armored (Fixture *fx, gconstpointer data)
{
  const char *admins[] = { keys.admin, NULL };
  g_autofree char *text = policy_text (admins);
  const char *armor[] = { "--armor", NULL };

  write_policy (fx, text, keys.admin, armor);
  assert_refused (fx, SK_ERROR_SIG_ARMORED);
}

/* A well-signed policy that breaks the schema is still refused. */
static void
test_signed_but_invalid (Fixture *fx, gconstpointer data)
{
  const char *admins[] = { keys.admin, NULL };
  g_autofree char *text = policy_text (admins);
  g_autoptr (GString) s = g_string_new (text);

  g_string_replace (s, "\"serial\": 1,", "\"serial\": \"one\",", 1);
  write_policy (fx, s->str, keys.admin, NULL);
  assert_refused (fx, SK_ERROR_POLICY_INVALID);
}

static void
test_no_policy_installed (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPolicy) policy = sk_station_load_policy (fx->station, &error);

  g_assert_error (error, SK_ERROR, SK_ERROR_STATION_INVALID);
  g_assert_null (policy);
}

/* ---- rollback and rotation of the pinned administrator ------------------- */

/* POLICY_TEXT with serial SERIAL and, unless NULL, an admin_successor. */
static char *
policy_text_with (const char *const *admins, gint64 serial, const char *successor)
{
  g_autofree char *text = policy_text (admins);
  g_autoptr (GString) s = g_string_new (text);
  g_autofree char *serial_json = g_strdup_printf ("\"serial\": %" G_GINT64_FORMAT, serial);
  g_assert_cmpuint (g_string_replace (s, "\"serial\": 1", serial_json, 1), ==, 1);
  if (successor != NULL)
    {
      g_autofree char *member =
          g_strdup_printf ("\"admin_successor\": \"%s\",\n  \"issued_at\"", successor);
      g_assert_cmpuint (g_string_replace (s, "\"issued_at\"", member, 1), ==, 1);
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* The rows of EVENT in the station's journal. */
static GPtrArray *
journal_rows (Fixture *fx, const char *event)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkJournal) journal = sk_station_open_journal (fx->station, TRUE, &error);
  g_assert_no_error (error);
  SkJournalFilter filter = { .event = event };
  GPtrArray *rows = sk_journal_query (journal, &filter, &error);
  g_assert_no_error (error);
  return rows;
}

static void
install_ok (Fixture *fx, const char *text, const char *signer)
{
  g_autoptr (GError) error = NULL;
  write_policy (fx, text, signer, NULL);
  g_autoptr (SkPolicy) policy =
      sk_station_install_policy (fx->station, &test_admin, fx->policy_path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (policy);
}

static void
install_refused (Fixture *fx, const char *text, const char *signer, SkErrorCode code)
{
  g_autoptr (GError) error = NULL;
  write_policy (fx, text, signer, NULL);
  g_autoptr (SkPolicy) policy =
      sk_station_install_policy (fx->station, &test_admin, fx->policy_path, &error);
  g_assert_error (error, SK_ERROR, (gint)code);
  g_assert_null (policy);
}

/* A signed policy whose serial is not greater than the installed one is
 * refused, naming both serials, and the refusal is journaled; the policy in
 * force stays.  The policy in force may be installed again. */
static void
test_rollback (Fixture *fx, gconstpointer data)
{
  const char *admins[] = { keys.admin, NULL };
  g_autofree char *one = policy_text_with (admins, 1, NULL);
  g_autofree char *five = policy_text_with (admins, 5, NULL);
  g_autofree char *three = policy_text_with (admins, 3, NULL);
  g_autofree char *five_again = policy_text_with (admins, 5, NULL);
  g_autoptr (GString) other_five = g_string_new (five_again);
  g_string_replace (other_five, "\"issued_at\": \"2026-11-24T00:00:00Z\"",
                    "\"issued_at\": \"2026-11-25T00:00:00Z\"", 1);
  g_assert_cmpstr (other_five->str, !=, five);

  install_ok (fx, one, keys.admin);
  install_ok (fx, five, keys.admin);

  g_autoptr (GError) error = NULL;
  write_policy (fx, three, keys.admin, NULL);
  g_autoptr (SkPolicy) older =
      sk_station_install_policy (fx->station, &test_admin, fx->policy_path, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_POLICY_ROLLBACK);
  g_assert_nonnull (strstr (error->message, "serial 3"));
  g_assert_nonnull (strstr (error->message, "serial 5"));
  g_assert_null (older);
  g_clear_error (&error);

  /* As a Japanese operator reads it: both serials, in the catalogue's
   * words, and the reason's description translated too. */
  g_autofree char *locale = g_strdup (setlocale (LC_ALL, NULL));
  g_assert_nonnull (setlocale (LC_ALL, "ja_JP.UTF-8"));
  g_autoptr (SkPolicy) older_ja =
      sk_station_install_policy (fx->station, &test_admin, fx->policy_path, &error);
  setlocale (LC_ALL, locale);
  g_assert_null (older_ja);
  g_assert_error (error, SK_ERROR, SK_ERROR_POLICY_ROLLBACK);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "3"));
  g_assert_nonnull (strstr (error->message, "5"));
  g_assert_null (strstr (error->message, "serial"));
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_assert_nonnull (strstr (error->message, "ポリシー"));
  g_clear_error (&error);
  install_refused (fx, one, keys.admin, SK_ERROR_POLICY_ROLLBACK);
  /* Another policy with the same serial is no newer either. */
  install_refused (fx, other_five->str, keys.admin, SK_ERROR_POLICY_ROLLBACK);

  g_autoptr (SkPolicy) current = sk_station_load_policy (fx->station, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sk_policy_get_serial (current), ==, 5);

  g_autoptr (GPtrArray) refused = journal_rows (fx, "policy-refused");
  g_assert_cmpuint (refused->len, ==, 4);
  g_autoptr (GPtrArray) installed = journal_rows (fx, "policy-installed");
  g_assert_cmpuint (installed->len, ==, 2);
  for (guint i = 0; i < installed->len; i++)
    {
      SkJournalRow *row = g_ptr_array_index (installed, i);
      g_assert_cmpint (row->uid, ==, test_admin.uid);
      g_assert_cmpstr (row->login, ==, test_admin.login);
      g_assert_cmpstr (row->role, ==, "admin");
    }
  for (guint i = 0; i < refused->len; i++)
    {
      SkJournalRow *row = g_ptr_array_index (refused, i);
      g_assert_cmpint (row->uid, ==, test_admin.uid);
      g_assert_cmpstr (row->reason, ==, "policy-rollback");
      g_assert_cmpstr (row->details, ==, "{\"installed_serial\":5}");
    }

  /* The same policy again is no rollback (an install a crash cut short
   * finishes this way). */
  install_ok (fx, five, keys.admin);

  /* The serial survives a reopen of the station. */
  g_autofree char *dir = g_strdup (fx->dir);
  g_clear_object (&fx->station);
  fx->station = sk_station_open (dir, &error);
  g_assert_no_error (error);
  install_refused (fx, three, keys.admin, SK_ERROR_POLICY_ROLLBACK);
}

/* A policy signed by the pinned admin names its successor: installing it
 * moves the pin, journaled.  The old admin's policy stays in force until
 * the successor signs the next one; the old admin can install nothing. */
static void
test_admin_rotation (Fixture *fx, gconstpointer data)
{
  const char *both[] = { keys.admin, keys.other_admin, NULL };
  const char *successor_only[] = { keys.other_admin, NULL };
  g_autoptr (GError) error = NULL;

  /* The successor must be one of the policy's own admins. */
  g_autofree char *unlisted = policy_text_with (successor_only, 2, keys.mallory);
  write_policy (fx, unlisted, keys.admin, NULL);
  assert_refused (fx, SK_ERROR_POLICY_INVALID);
  g_clear_error (&error);

  g_autofree char *one = policy_text_with (both, 1, NULL);
  install_ok (fx, one, keys.admin);
  /* Not yet pinned, the other admin cannot install. */
  g_autofree char *early = policy_text_with (both, 2, NULL);
  install_refused (fx, early, keys.other_admin, SK_ERROR_POLICY_UNTRUSTED_SIGNER);

  g_autofree char *rotate = policy_text_with (both, 2, keys.other_admin);
  install_ok (fx, rotate, keys.admin);
  g_assert_cmpstr (sk_station_get_admin_keys (fx->station)[0], ==, keys.other_admin);
  g_assert_null (sk_station_get_admin_keys (fx->station)[1]);

  g_autoptr (GPtrArray) rotated = journal_rows (fx, "admin-key-rotated");
  g_assert_cmpuint (rotated->len, ==, 1);
  SkJournalRow *row = g_ptr_array_index (rotated, 0);
  g_assert_cmpstr (row->outcome, ==, "ok");
  g_assert_nonnull (strstr (row->details, keys.admin));
  g_assert_nonnull (strstr (row->details, keys.other_admin));

  /* After a reopen: the policy the old admin signed is still in force, the
   * old admin can install nothing, the successor can. */
  g_autofree char *dir = g_strdup (fx->dir);
  g_clear_object (&fx->station);
  fx->station = sk_station_open (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sk_station_get_admin_keys (fx->station)[0], ==, keys.other_admin);
  g_autoptr (SkPolicy) in_force = sk_station_load_policy (fx->station, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sk_policy_get_serial (in_force), ==, 2);
  g_assert_cmpstr (sk_policy_get_signer (in_force), ==, keys.admin);

  g_autofree char *by_old = policy_text_with (both, 3, NULL);
  install_refused (fx, by_old, keys.admin, SK_ERROR_POLICY_UNTRUSTED_SIGNER);
  g_autofree char *by_new = policy_text_with (successor_only, 3, NULL);
  install_ok (fx, by_new, keys.other_admin);

  /* Now the old admin's signature counts for nothing, even on the policy
   * it signed before: a copy of it no longer loads. */
  g_autofree char *older = policy_text_with (both, 4, NULL);
  write_policy (fx, older, keys.admin, NULL);
  assert_refused (fx, SK_ERROR_POLICY_UNTRUSTED_SIGNER);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* The build's catalogue, for the one check in Japanese. */
  const char *localedir = g_getenv ("SEKISHO_LOCALEDIR");
  bindtextdomain (GETTEXT_PACKAGE, localedir != NULL ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");

  g_test_add_func ("/policy/default-compiles", test_default_compiles);
  g_test_add_func ("/policy/default-needs-keys", test_default_needs_keys);
  g_test_add_func ("/policy/duplicate-member", test_duplicate_member);
  g_test_add_func ("/policy/one-value", test_one_value);
  g_test_add_func ("/policy/escapes", test_escapes);
  g_test_add_func ("/policy/not-text", test_not_text);
  for (gsize i = 0; i < G_N_ELEMENTS (schema_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/policy/schema/%s", schema_cases[i].name);
      g_test_add_data_func (path, &schema_cases[i], test_schema_case);
    }
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/policy/signed/ok", test_signed_ok);
  ADD ("/policy/signed/unsigned", test_unsigned);
  ADD ("/policy/signed/bad-signature", test_bad_signature);
  ADD ("/policy/signed/untrusted-signer", test_untrusted_signer);
  ADD ("/policy/signed/signer-not-listed", test_signer_not_listed);
  ADD ("/policy/signed/armored", test_armored);
  ADD ("/policy/signed/invalid", test_signed_but_invalid);
  ADD ("/policy/signed/none-installed", test_no_policy_installed);
  ADD ("/policy/signed/rollback", test_rollback);
  ADD ("/policy/signed/admin-rotation", test_admin_rotation);
#undef ADD

  int ret = g_test_run ();
  if (keys.gpg != NULL)
    sk_test_gpg_free (keys.gpg);
  return ret;
}
