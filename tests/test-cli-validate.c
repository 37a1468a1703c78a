/* test-cli-validate.c — validate through the CLI, and untrusted names and
 * paths escaped */
#define G_LOG_DOMAIN "sekisho-test"

#include "config.h"

#include "sk-test-cli.h"

/* ---- validate ----------------------------------------------------------------------- */

void
test_validate_all_kinds (Fixture *f, gconstpointer user_data)
{
  const char *const kinds[] = { "KNY01", "KNY02", "FKH01", "FKH02", "FKH03", "FKH09",
                                "SKI01", "SKI02", "SKI03", "JLS01", "JLS02" };
  g_auto (GStrv) paths = synth_files (f, f->policy, "files", "--records", "50", NULL);
  g_autoptr (GPtrArray) values = personal_values (find_path (paths, "KNY01"), 50);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GPtrArray) json_argv = g_ptr_array_new ();

  g_assert_cmpuint (g_strv_length (paths), ==, G_N_ELEMENTS (kinds));
  g_ptr_array_add (argv, (char *)keys->cli);
  g_ptr_array_add (argv, (char *)"--station");
  g_ptr_array_add (argv, f->terminal);
  g_ptr_array_extend (json_argv, argv, NULL, NULL);
  g_ptr_array_add (json_argv, (char *)"--json");
  g_ptr_array_add (argv, (char *)"validate");
  g_ptr_array_add (json_argv, (char *)"validate");
  for (gsize i = 0; paths[i] != NULL; i++)
    {
      g_ptr_array_add (argv, paths[i]);
      g_ptr_array_add (json_argv, paths[i]);
    }
  g_ptr_array_add (argv, NULL);
  g_ptr_array_add (json_argv, NULL);

  {
    g_autoptr (Run) r = run_argv ((const char *const *)json_argv->pdata);
    JsonObject *obj = expect_json (r, 0, NULL);
    JsonArray *files = json_object_get_array_member (obj, "files");
    g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

    g_assert_true (json_object_get_boolean_member (obj, "ok"));
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj, "findings")), ==,
                      0);
    g_assert_nonnull (files);
    g_assert_cmpuint (json_array_get_length (files), ==, G_N_ELEMENTS (kinds));
    for (guint i = 0; i < json_array_get_length (files); i++)
      {
        JsonObject *file = json_array_get_object_element (files, i);
        const char *kind = json_object_get_string_member (file, "kind");

        g_assert_nonnull (kind);
        g_assert_true (g_strv_contains (kinds, kind));
        g_assert_true (g_hash_table_add (seen, (char *)kind));
        g_assert_cmpint (json_object_get_int_member (file, "records"), ==, 50);
        g_assert_true (json_object_get_boolean_member (file, "ok"));
      }
    expect_no_personal_data (r, values);
  }
  {
    g_autoptr (Run) h = run_argv ((const char *const *)argv->pdata);

    expect_human (h, 0, NULL);
    for (gsize i = 0; i < G_N_ELEMENTS (kinds); i++)
      g_assert_nonnull (strstr (h->out, kinds[i]));
    expect_no_personal_data (h, values);
  }
}

static JsonObject *
find_finding (JsonArray *findings, const char *reason)
{
  for (guint i = 0; i < json_array_get_length (findings); i++)
    {
      JsonObject *f = json_array_get_object_element (findings, i);
      if (g_strcmp0 (json_object_get_string_member (f, "reason"), reason) == 0)
        return f;
    }
  g_test_message ("no finding %s", reason);
  g_assert_not_reached ();
}

static void
assert_finding (JsonObject *f, const char *file, gint64 record, gint64 field, const char *name)
{
  g_assert_cmpstr (json_object_get_string_member (f, "file"), ==, file);
  g_assert_cmpint (json_object_get_int_member (f, "record"), ==, record);
  g_assert_cmpint (json_object_get_int_member (f, "field"), ==, field);
  if (name != NULL)
    g_assert_cmpstr (json_object_get_string_member (f, "field_name"), ==, name);
}

void
test_validate_defects (Fixture *f, gconstpointer user_data)
{
  g_auto (GStrv) paths = synth_files (f, f->policy, "bad", "--kind", "KNY01", "--records", "20",
                                      "--seed", "8", "--defects", NULL);
  g_autoptr (GPtrArray) values = NULL;
  g_autofree char *base = NULL;

  g_assert_cmpuint (g_strv_length (paths), ==, 1);
  values = personal_values (paths[0], 20);
  base = g_path_get_basename (paths[0]);

  {
    g_autoptr (Run) r = sk ("--station", f->terminal, "--json", "validate", paths[0], NULL);
    JsonObject *obj = expect_json (r, 1, "check-digit");
    JsonArray *findings = json_object_get_array_member (obj, "findings");
    JsonArray *files = json_object_get_array_member (obj, "files");

    g_assert_cmpuint (json_array_get_length (findings), ==, 3);
    assert_finding (find_finding (findings, "check-digit"), base, 2, 7, "個人番号");
    assert_finding (find_finding (findings, "encoding"), base, 3, 9, "氏名(漢字)");
    assert_finding (find_finding (findings, "trailer-count"), base, 20 + 2, 2, NULL);
    g_assert_cmpstr (
        json_object_get_string_member (obj, "reason"), ==,
        json_object_get_string_member (json_array_get_object_element (findings, 0), "reason"));
    g_assert_cmpuint (json_array_get_length (files), ==, 1);
    g_assert_false (
        json_object_get_boolean_member (json_array_get_object_element (files, 0), "ok"));
    g_assert_cmpstr (
        json_object_get_string_member (json_array_get_object_element (files, 0), "kind"), ==,
        "KNY01");
    expect_no_personal_data (r, values);
  }
  {
    g_autoptr (Run) h = sk ("--station", f->terminal, "validate", paths[0], NULL);

    expect_human (h, 1, "check-digit");
    g_assert_nonnull (strstr (h->out, "check-digit"));
    g_assert_nonnull (strstr (h->out, "個人番号"));
    g_assert_nonnull (strstr (h->out, "trailer-count"));
    expect_no_personal_data (h, values);
  }
}

void
test_validate_kind_unknown (Fixture *f, gconstpointer user_data)
{
  g_auto (GStrv) paths =
      synth_files (f, f->policy, "files", "--kind", "KNY01", "--records", "3", NULL);
  g_autofree char *path = g_build_filename (f->dir, "notes.txt", NULL);
  g_autoptr (GBytes) data = read_bytes (paths[0]);

  /* A perfectly good KNY01 file, under a name no kind has. */
  write_bytes (path, data);
  {
    g_autoptr (Run) r = sk ("--station", f->terminal, "--json", "validate", path, NULL);
    JsonObject *obj = expect_json (r, 1, "file-kind-unknown");
    JsonArray *findings = json_object_get_array_member (obj, "findings");

    g_assert_cmpuint (json_array_get_length (findings), ==, 1);
    g_assert_cmpstr (
        json_object_get_string_member (json_array_get_object_element (findings, 0), "file"), ==,
        "notes.txt");
  }
  {
    g_autoptr (Run) h = sk ("--station", f->terminal, "validate", path, NULL);
    expect_human (h, 1, "file-kind-unknown");
  }
}

/* Control characters in a file name never reach the terminal raw. */
void
test_validate_escaped_name (Fixture *f, gconstpointer user_data)
{
  g_autofree char *path = g_build_filename (f->dir, HOSTILE "TAD.DAT", NULL);

  write_file (path, "x", 1);
  for (guint json = 0; json < 2; json++)
    {
      g_autoptr (Run) r = sk_at (f->terminal, json, "validate", path, NULL);

      if (json)
        expect_json (r, 1, "file-kind-unknown");
      else
        expect_human (r, 1, "file-kind-unknown");
      g_assert_null (raw_byte_in (r));
    }
}

void
test_validate_missing_file (Fixture *f, gconstpointer user_data)
{
  /* A name that matches KNY01, but no file. */
  g_autofree char *path = g_build_filename (f->dir, "039004_KNY01_20261124153000_009.DAT", NULL);
  g_autoptr (Run) r = sk ("--station", f->terminal, "--json", "validate", path, NULL);
  g_autoptr (Run) h = sk ("--station", f->terminal, "validate", path, NULL);

  expect_json (r, 3, "io-error");
  expect_human (h, 3, "io-error");
}

void
test_validate_missing_file_unknown_name (Fixture *f, gconstpointer user_data)
{
  /* A file that does not exist is an environment error whatever its name:
   * not a refusal of its kind. */
  g_autofree char *path = g_build_filename (f->dir, "missing.DAT", NULL);
  g_autoptr (Run) r = sk ("--station", f->terminal, "--json", "validate", path, NULL);

  /* Fails as a test, not by an abort, so that the teardown still runs. */
  if (r->status != 3 || strstr (r->out, "\"reason\":\"io-error\"") == NULL)
    {
      g_test_fail_printf ("`%s` exited %d, expected 3 io-error; stdout: %s", r->cmdline, r->status,
                          r->out);
      return;
    }
  expect_json (r, 3, "io-error");
}

void
test_validate_no_policy (Fixture *f, gconstpointer user_data)
{
  g_autofree char *def = g_build_filename (keys->policy_dir, "default.json", NULL);
  g_auto (GStrv) paths = synth_files (f, def, "files", "--kind", "KNY01", "--records", "3", NULL);

  sk_ok ("--station", f->terminal, "--json", "station", "init", "--admin-key", keys->admin,
         "--signing-key", keys->station, NULL);
  sk_ok ("--station", f->terminal, "--json", "key", "import", keys->publics_file, NULL);
  {
    g_autoptr (Run) r = sk ("--station", f->terminal, "--json", "validate", paths[0], NULL);
    expect_json (r, 3, "station-invalid");
  }
  {
    g_autoptr (Run) h = sk ("--station", f->terminal, "validate", paths[0], NULL);
    expect_human (h, 3, "station-invalid");
  }
  /* No station at all. */
  {
    g_autofree char *nowhere = g_build_filename (f->dir, "nowhere", NULL);
    g_autoptr (Run) r = sk ("--station", nowhere, "--json", "validate", paths[0], NULL);
    expect_json (r, 3, "station-invalid");
  }
}

/* Paths of files that come on a medium (a policy, a key file) never reach
 * the terminal raw either.  Checked softly (g_test_fail_printf), so that
 * every case is reported and the teardown runs. */
static void
soft_no_raw_bytes (Run *r)
{
  if (raw_byte_in (r) != NULL)
    {
      g_autofree char *out = g_strescape (r->out, NULL);
      g_autofree char *err = g_strescape (r->err, NULL);
      g_test_message ("`%s` printed a raw control or bidi byte (escaped here)\nstdout: %s\n"
                      "stderr: %s",
                      r->cmdline, out, err);
      g_test_fail_printf ("`%s` printed a raw control or bidi byte", r->cmdline);
    }
}

void
test_policy_escaped_paths (Fixture *f, gconstpointer user_data)
{
  g_autofree char *policy = copy_policy (f, HOSTILE "P.json"); /* unsigned */
  g_autofree char *missing = g_build_filename (f->dir, HOSTILE "gone.json", NULL);
  g_autofree char *keyfile = g_build_filename (f->dir, HOSTILE "K.gpg", NULL);

  for (guint json = 0; json < 2; json++)
    {
      g_autoptr (Run) unsigned_ = sk_at (f->terminal, json, "policy", "check", policy, NULL);
      g_autoptr (Run) gone = sk_at (f->terminal, json, "policy", "install", missing, NULL);
      g_autoptr (Run) key = sk_at (f->terminal, json, "key", "import", keyfile, NULL);

      if (json)
        {
          expect_json (unsigned_, 1, "policy-unsigned");
          expect_json (gone, 3, "io-error");
          expect_json (key, 3, "io-error");
        }
      else
        {
          expect_human (unsigned_, 1, "policy-unsigned");
          expect_human (gone, 3, "io-error");
          expect_human (key, 3, "io-error");
        }
      soft_no_raw_bytes (unsigned_);
      soft_no_raw_bytes (gone);
      soft_no_raw_bytes (key);
    }
}
