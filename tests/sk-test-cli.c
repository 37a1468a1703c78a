/* sk-test-cli.c — the harness of test-cli: the shared keys, running a program,
 * the fixture, personal data (sk-test-cli.h) */
#define G_LOG_DOMAIN "sekisho-test"

#include "config.h"

#include "sk-test-cli.h"

/* ---- the shared keys and key files ---------------------------------------- */

Keys *keys;

void
write_file (const char *path, const void *data, gsize len)
{
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, data, (gssize)len, &error);
  g_assert_no_error (error);
}

void
write_bytes (const char *path, GBytes *bytes)
{
  write_file (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

GBytes *
read_bytes (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *data = NULL;
  gsize len = 0;

  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (data, len);
}

static char *
export_to (const char *name, const char *const *fprs, gboolean secret)
{
  g_autoptr (GByteArray) all = g_byte_array_new ();
  char *path = g_build_filename (keys->root, name, NULL);

  for (gsize i = 0; fprs[i] != NULL; i++)
    {
      g_autoptr (GBytes) one = sk_test_gpg_export (keys->gpg, fprs[i], secret);
      g_byte_array_append (all, g_bytes_get_data (one, NULL), g_bytes_get_size (one));
    }
  write_file (path, all->data, all->len);
  return path;
}

/* Made on first use, so that `--list` and `-p` stay quick. */
static void
keys_ensure (void)
{
  if (keys->gpg != NULL)
    return;

  keys->gpg = sk_test_gpg_new ();
  keys->admin =
      sk_test_gpg_make_key (keys->gpg, "Admin <admin@test.invalid>", "ed25519", "never", NULL);
  keys->station = sk_test_gpg_make_key (keys->gpg, "Terminal <terminal@test.invalid>", "ed25519",
                                        "never", NULL);
  keys->standard = sk_test_gpg_make_key (keys->gpg, "Standard <standard@test.invalid>", "ed25519",
                                         "never", NULL);
  keys->mallory =
      sk_test_gpg_make_key (keys->gpg, "Mallory <mallory@test.invalid>", "ed25519", "never", NULL);

  {
    const char *const publics[] = { keys->admin, keys->standard, NULL };
    const char *const admin[] = { keys->admin, NULL };
    const char *const station[] = { keys->station, NULL };
    const char *const mallory[] = { keys->mallory, NULL };

    keys->publics_file = export_to ("publics.gpg", publics, FALSE);
    keys->admin_secret_file = export_to ("admin-secret.gpg", admin, TRUE);
    keys->station_secret_file = export_to ("station-secret.gpg", station, TRUE);
    keys->mallory_secret_file = export_to ("mallory-secret.gpg", mallory, TRUE);
    keys->mallory_public_file = export_to ("mallory-public.gpg", mallory, FALSE);
  }
}

/* ---- running a program ------------------------------------------------------ */

void
run_free (Run *r)
{
  g_free (r->cmdline);
  g_free (r->out);
  g_free (r->err);
  g_clear_object (&r->parser);
  g_free (r);
}

static char *
bytes_to_string (GBytes *bytes, gsize *len)
{
  const char *data = bytes != NULL ? g_bytes_get_data (bytes, len) : NULL;

  if (data == NULL)
    *len = 0;
  return g_strndup (data != NULL ? data : "", *len);
}

/* Runs ARGV with no stdin (/dev/null), stdout and stderr captured, in an
 * environment without GNUPGHOME and with XDG_DATA_HOME inside the root, so
 * that nothing can reach the user's own keys or station. */
Run *
run_argv (const char *const *argv)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) proc = NULL;
  g_autoptr (GBytes) out = NULL;
  g_autoptr (GBytes) err = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *xdg = g_build_filename (keys->root, "xdg-data", NULL);
  Run *r = g_new0 (Run, 1);

  {
    g_autofree char *joined = g_strjoinv (" ", (char **)argv);
    /* Escaped: the log is read on a terminal too. */
    r->cmdline = g_strescape (joined, NULL);
  }
  launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_unsetenv (launcher, "GNUPGHOME");
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", xdg, TRUE);
  g_subprocess_launcher_set_cwd (launcher, keys->root);
  proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_communicate (proc, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  r->out = bytes_to_string (out, &r->out_len);
  r->err = bytes_to_string (err, &r->err_len);
  if (!g_subprocess_get_if_exited (proc))
    {
      g_test_message ("`%s` died:\nstdout: %s\nstderr: %s", r->cmdline, r->out, r->err);
      g_assert_not_reached ();
    }
  r->status = g_subprocess_get_exit_status (proc);
  return r;
}

static Run *
run_va (const char *program, const char *first, va_list args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (char *)program);
  for (const char *a = first; a != NULL; a = va_arg (args, const char *))
    g_ptr_array_add (argv, (char *)a);
  g_ptr_array_add (argv, NULL);
  return run_argv ((const char *const *)argv->pdata);
}

/* `sekisho ARGS…` */
Run *
sk (const char *first, ...)
{
  va_list args;
  va_start (args, first);
  Run *r = run_va (keys->cli, first, args);
  va_end (args);
  return r;
}

/* `sekisho --station STATION [--json] ARGS…` */
Run *
sk_at (const char *station, gboolean json, const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  va_list args;

  g_ptr_array_add (argv, (char *)keys->cli);
  g_ptr_array_add (argv, (char *)"--station");
  g_ptr_array_add (argv, (char *)station);
  if (json)
    g_ptr_array_add (argv, (char *)"--json");
  va_start (args, first);
  for (const char *a = first; a != NULL; a = va_arg (args, const char *))
    g_ptr_array_add (argv, (char *)a);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  return run_argv ((const char *const *)argv->pdata);
}

void
expect_status (Run *r, int status)
{
  if (r->status != status)
    g_test_message ("`%s` exited %d, expected %d\nstdout: %s\nstderr: %s", r->cmdline, r->status,
                    status, r->out, r->err);
  g_assert_cmpint (r->status, ==, status);
}

/* Exit STATUS; stdout is exactly one JSON object on one line, with ok
 * (== exit 0), reason (REASON, or null when NULL), a message, and findings
 * whose reasons are known codes, the first of which is the top reason.
 * Returns the object (owned by R). */
JsonObject *
expect_json (Run *r, int status, const char *reason)
{
  g_autoptr (GError) error = NULL;
  JsonNode *root;
  JsonObject *obj;
  JsonArray *findings;
  JsonNode *reason_node;

  expect_status (r, status);
  g_assert_cmpuint (r->out_len, >, 2);
  g_assert_cmpuint (strlen (r->out), ==, r->out_len);
  g_assert_cmpint (r->out[0], ==, '{');
  g_assert_cmpint (r->out[r->out_len - 1], ==, '\n');
  g_assert_cmpint (r->out[r->out_len - 2], ==, '}');
  /* One line: the only newline is the last byte. */
  g_assert_true (strchr (r->out, '\n') == r->out + r->out_len - 1);

  r->parser = json_parser_new ();
  json_parser_load_from_data (r->parser, r->out, (gssize)r->out_len, &error);
  g_assert_no_error (error);
  root = json_parser_get_root (r->parser);
  g_assert_nonnull (root);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  obj = json_node_get_object (root);

  g_assert_true (json_object_has_member (obj, "ok"));
  g_assert_cmpint (json_node_get_value_type (json_object_get_member (obj, "ok")), ==,
                   G_TYPE_BOOLEAN);
  g_assert_cmpint (json_object_get_boolean_member (obj, "ok"), ==, status == 0);

  g_assert_true (json_object_has_member (obj, "reason"));
  reason_node = json_object_get_member (obj, "reason");
  if (reason == NULL)
    g_assert_true (JSON_NODE_HOLDS_NULL (reason_node));
  else
    {
      g_assert_cmpint (json_node_get_value_type (reason_node), ==, G_TYPE_STRING);
      g_assert_cmpstr (json_node_get_string (reason_node), ==, reason);
    }

  g_assert_true (json_object_has_member (obj, "message"));
  g_assert_cmpint (json_node_get_value_type (json_object_get_member (obj, "message")), ==,
                   G_TYPE_STRING);
  g_assert_cmpstr (json_object_get_string_member (obj, "message"), !=, "");

  g_assert_true (json_object_has_member (obj, "findings"));
  g_assert_true (JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj, "findings")));
  findings = json_object_get_array_member (obj, "findings");
  for (guint i = 0; i < json_array_get_length (findings); i++)
    {
      JsonObject *f = json_array_get_object_element (findings, i);
      SkErrorCode code;

      g_assert_nonnull (f);
      g_assert_true (
          sk_error_code_from_reason (json_object_get_string_member (f, "reason"), &code));
    }
  if (json_array_get_length (findings) > 0)
    g_assert_cmpstr (
        reason, ==,
        json_object_get_string_member (json_array_get_object_element (findings, 0), "reason"));
  return obj;
}

/* Human mode: exit STATUS; on a refusal, stderr ends with "[REASON]\n". */
void
expect_human (Run *r, int status, const char *reason)
{
  expect_status (r, status);
  if (reason != NULL)
    {
      g_autofree char *tail = g_strdup_printf ("[%s]\n", reason);
      g_assert_true (g_str_has_suffix (r->err, tail));
    }
}

/* Runs ARGV (NULL-terminated, after the program) of sekisho and expects
 * success with --json; for the set-up steps. */
void
sk_ok (const char *first, ...)
{
  va_list args;
  va_start (args, first);
  g_autoptr (Run) r = run_va (keys->cli, first, args);
  va_end (args);
  expect_json (r, 0, NULL);
}

gboolean
contains (const char *haystack, gsize len, const void *needle, gsize needle_len)
{
  return needle_len > 0 && memmem (haystack, len, needle, needle_len) != NULL;
}

/* The raw bytes of HOSTILE (sk-test-cli.h), none of which may be printed. */
static const char *const raw_bytes[] = { "\x1b", "\r", "\x07", "\xe2\x80\xae", NULL };

/* The first raw control or bidi byte R printed, or NULL. */
const char *
raw_byte_in (Run *r)
{
  for (gsize i = 0; raw_bytes[i] != NULL; i++)
    if (contains (r->out, r->out_len, raw_bytes[i], strlen (raw_bytes[i])) ||
        contains (r->err, r->err_len, raw_bytes[i], strlen (raw_bytes[i])))
      return raw_bytes[i];
  return NULL;
}

/* `gpg --homedir HOME --list-keys` or `--list-secret-keys` FPR: TRUE when
 * stock gpg finds FPR in HOME. */
gboolean
gpg_home_has (const char *home, const char *fpr, gboolean secret)
{
  const char *argv[] = { "gpg",
                         "--homedir",
                         home,
                         "--batch",
                         "--no-tty",
                         "--with-colons",
                         secret ? "--list-secret-keys" : "--list-keys",
                         "--",
                         fpr,
                         NULL };
  g_autoptr (Run) r = run_argv (argv);

  if (r->status == 0)
    g_assert_true (contains (r->out, r->out_len, fpr, strlen (fpr)));
  else
    g_assert_false (contains (r->out, r->out_len, fpr, strlen (fpr)));
  return r->status == 0;
}

/* ---- the fixture -------------------------------------------------------------- */

void
setup_bare (Fixture *f, gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;

  keys_ensure ();
  f->dir = g_dir_make_tmp ("t-XXXXXX", &error);
  g_assert_no_error (error);
  f->admin = g_build_filename (f->dir, "admin", NULL);
  f->terminal = g_build_filename (f->dir, "terminal", NULL);
  f->policy = g_build_filename (f->dir, "policy.json", NULL);
}

void
setup_stations (Fixture *f, gconstpointer user_data)
{
  g_autofree char *def = g_build_filename (keys->policy_dir, "default.json", NULL);
  g_autofree char *sig = NULL;

  setup_bare (f, user_data);
  sig = g_strconcat (f->policy, ".sig", NULL);

  sk_ok ("--station", f->admin, "--json", "station", "init", "--admin-key", keys->admin,
         "--signing-key", keys->admin, "--name", "test-admin", NULL);
  sk_ok ("--station", f->admin, "--json", "key", "import", keys->admin_secret_file, NULL);
  sk_ok ("--json", "policy", "set-keys", def, "--out", f->policy, "--admin", keys->admin,
         "--to-intermediate-signer", keys->standard, "--to-intermediate-recipient", keys->station,
         "--to-standard-signer", keys->station, "--to-standard-recipient", keys->standard, NULL);
  sk_ok ("--station", f->admin, "--json", "policy", "sign", "--key", keys->admin, f->policy, NULL);
  g_assert_true (g_file_test (sig, G_FILE_TEST_IS_REGULAR));

  sk_ok ("--station", f->terminal, "--json", "station", "init", "--admin-key", keys->admin,
         "--signing-key", keys->station, "--name", "test-terminal", NULL);
  sk_ok ("--station", f->terminal, "--json", "key", "import", keys->publics_file, NULL);
  sk_ok ("--station", f->terminal, "--json", "key", "import", keys->station_secret_file, NULL);
  sk_ok ("--station", f->terminal, "--json", "policy", "install", f->policy, NULL);
}

void
teardown (Fixture *f, gconstpointer user_data)
{
  g_autoptr (GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;

  /* Every station a test made is a direct child of DIR: stop its agent. */
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *home = g_build_filename (f->dir, name, "gnupg", NULL);
      sk_test_gpg_remove_home (home);
    }
  sk_test_remove_tree (f->dir);
  g_assert_false (g_file_test (f->dir, G_FILE_TEST_EXISTS));
  g_free (f->dir);
  g_free (f->admin);
  g_free (f->terminal);
  g_free (f->policy);
}

/* A copy of the fixture's policy at DIR/NAME, without its signature. */
char *
copy_policy (Fixture *f, const char *name)
{
  g_autoptr (GBytes) bytes = read_bytes (f->policy);
  char *path = g_build_filename (f->dir, name, NULL);

  write_bytes (path, bytes);
  return path;
}

/* Runs the generator into a new DIR/SUBDIR; returns the paths it wrote. */
GStrv
synth_files (Fixture *f, const char *policy, const char *subdir, const char *first, ...)
{
  g_autofree char *out = g_build_filename (f->dir, subdir, NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (Run) r = NULL;
  va_list args;

  g_assert_cmpint (g_mkdir (out, 0700), ==, 0);
  g_ptr_array_add (argv, (char *)keys->synth);
  g_ptr_array_add (argv, (char *)"--policy");
  g_ptr_array_add (argv, (char *)policy);
  g_ptr_array_add (argv, (char *)"--out");
  g_ptr_array_add (argv, out);
  va_start (args, first);
  for (const char *a = first; a != NULL; a = va_arg (args, const char *))
    g_ptr_array_add (argv, (char *)a);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  r = run_argv ((const char *const *)argv->pdata);
  expect_status (r, 0);
  g_strchomp (r->out);
  return g_strsplit (r->out, "\n", -1);
}

const char *
find_path (GStrv paths, const char *kind_id)
{
  g_autofree char *infix = g_strdup_printf ("_%s_", kind_id);

  for (gsize i = 0; paths[i] != NULL; i++)
    if (strstr (paths[i], infix) != NULL)
      return paths[i];
  g_assert_not_reached ();
}

/* ---- personal data ------------------------------------------------------------- */

/* tools/sk-synth.c: pool_name, pool_kana, pool_address (UTF-8). */
static const char *const synth_names[] = {
  "試験　太郎",
  "試験　花子",
  "見本　一郎",
  "見本　春子",
  "架空　次郎",
  "架空　秋子",
  "シケン　タロウ",
  "シケン　ハナコ",
  "ミホン　イチロウ",
  "ミホン　ハルコ",
  "カクウ　ジロウ",
  "カクウ　アキコ",
  "架空県見本市試験町一丁目１番１号",
  "架空県見本市試験町二丁目２番２号",
  "架空県模擬郡検証村大字試験３番地",
};

/* KNY01 data record byte offsets, from DOMAIN.md's layout (the sum of the
 * lengths before each field), checked against the policy below. */
#define KNY01_RECORD_LENGTH 500
#define KNY01_INDIVIDUAL_NUMBER_OFFSET 30
#define KNY01_INDIVIDUAL_NUMBER_LENGTH 12
#define KNY01_BIRTH_DATE_OFFSET 153
#define KNY01_BIRTH_DATE_LENGTH 8

static void
check_kny01_offsets (void)
{
  g_autoptr (SkPolicy) policy = sk_test_default_policy ();
  const SkKind *kind = sk_policy_lookup_kind (policy, "KNY01");
  const SkField *number, *birth;

  g_assert_nonnull (kind);
  g_assert_cmpuint (kind->record_length, ==, KNY01_RECORD_LENGTH);
  number = _sk_record_layout_find (kind->records[SK_RECORD_DATA], "個人番号");
  birth = _sk_record_layout_find (kind->records[SK_RECORD_DATA], "生年月日");
  g_assert_nonnull (number);
  g_assert_nonnull (birth);
  g_assert_cmpuint (number->offset, ==, KNY01_INDIVIDUAL_NUMBER_OFFSET);
  g_assert_cmpuint (number->length, ==, KNY01_INDIVIDUAL_NUMBER_LENGTH);
  g_assert_cmpuint (birth->offset, ==, KNY01_BIRTH_DATE_OFFSET);
  g_assert_cmpuint (birth->length, ==, KNY01_BIRTH_DATE_LENGTH);
}

static gboolean
all_digits (const char *s, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isdigit (s[i]))
      return FALSE;
  return TRUE;
}

/* Every value the CLI must never print for these inputs: each 個人番号 and
 * 生年月日 of the KNY01 file (data records 2..N+1), and every name and
 * address the generator uses, in UTF-8 and in CP932. */
GPtrArray *
personal_values (const char *kny01_path, guint64 expected_records)
{
  g_autoptr (GBytes) file = read_bytes (kny01_path);
  gsize len;
  const char *data = g_bytes_get_data (file, &len);
  GPtrArray *values = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  guint64 n;

  check_kny01_offsets ();
  g_assert_cmpuint (len % KNY01_RECORD_LENGTH, ==, 0);
  n = len / KNY01_RECORD_LENGTH - 3; /* header, trailer, end */
  g_assert_cmpuint (n, ==, expected_records);
  for (guint64 rec = 1; rec <= n; rec++)
    {
      const char *record = data + rec * KNY01_RECORD_LENGTH;
      const char *number = record + KNY01_INDIVIDUAL_NUMBER_OFFSET;
      const char *birth = record + KNY01_BIRTH_DATE_OFFSET;

      g_assert_cmpint (record[0], ==, '2'); /* a data record */
      g_assert_true (all_digits (number, KNY01_INDIVIDUAL_NUMBER_LENGTH));
      g_assert_true (all_digits (birth, KNY01_BIRTH_DATE_LENGTH));
      g_ptr_array_add (values, g_bytes_new (number, KNY01_INDIVIDUAL_NUMBER_LENGTH));
      g_ptr_array_add (values, g_bytes_new (birth, KNY01_BIRTH_DATE_LENGTH));
    }
  for (gsize i = 0; i < G_N_ELEMENTS (synth_names); i++)
    {
      g_autoptr (GError) error = NULL;
      gsize cp932_len = 0;
      char *cp932 = g_convert (synth_names[i], -1, "CP932", "UTF-8", NULL, &cp932_len, &error);
      g_auto (GStrv) parts = g_strsplit (synth_names[i], "　", -1);

      g_assert_no_error (error);
      g_ptr_array_add (values, g_bytes_new (synth_names[i], strlen (synth_names[i])));
      g_ptr_array_add (values, g_bytes_new_take (cp932, cp932_len));
      /* The given and family names on their own, too. */
      for (gsize j = 0; parts[j] != NULL && parts[1] != NULL; j++)
        g_ptr_array_add (values, g_bytes_new (parts[j], strlen (parts[j])));
    }
  return values;
}

void
expect_no_personal_data (Run *r, GPtrArray *values)
{
  for (guint i = 0; i < values->len; i++)
    {
      gsize len;
      const char *value = g_bytes_get_data (g_ptr_array_index (values, i), &len);

      /* Said by its index only: the test's own output stays free of
       * personal values too. */
      if (contains (r->out, r->out_len, value, len) || contains (r->err, r->err_len, value, len))
        {
          g_test_message ("`%s` printed personal value #%u of the input", r->cmdline, i);
          g_assert_not_reached ();
        }
    }
}
