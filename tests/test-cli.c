/* test-cli.c — the real sekisho binary, end to end (DESIGN.md §8, §8a)
 *
 * Every test spawns the built CLI ($SEKISHO_CLI) and, for its input files,
 * the built generator ($SEKISHO_SYNTH), never through a shell.  One set of
 * keys is made per process; every test gets its own directory with an
 * administrator's workstation station (ADMIN/), an integration terminal
 * station (TERMINAL/) and the default policy ($SEKISHO_POLICY_DIR) filled in
 * with the test keys, signed on the workstation and installed on the
 * terminal, exactly as scripts/demo does it with the shell.
 *
 * Each case asserts the exit code and, with --json, that stdout is exactly
 * one JSON object with ok/reason/message/findings and the expected reason.
 * Synthetic data only: the personal-data checks look for the generator's own
 * fictitious values in everything the CLI prints.
 */
#define G_LOG_DOMAIN "sekisho-test"

#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "sk-error.h"
#include "sk-policy-private.h"
#include "sk-test-gpg.h"
#include "sk-test-util.h"

/* ---- the shared keys and key files ---------------------------------------- */

typedef struct
{
  char *root; /* this process's $TMPDIR: short, for the gpg-agents' sockets */
  const char *cli;
  const char *synth;
  const char *policy_dir;
  SkTestGpg *gpg;
  char *admin;               /* signs policies */
  char *station;             /* the terminal's own key */
  char *standard;            /* the 標準システム side */
  char *mallory;             /* listed nowhere */
  char *publics_file;        /* admin + standard, public */
  char *admin_secret_file;   /* for the workstation */
  char *station_secret_file; /* for the terminal */
  char *mallory_secret_file;
  char *mallory_public_file;
} Keys;

static Keys *keys;

static void
write_file (const char *path, const void *data, gsize len)
{
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, data, (gssize)len, &error);
  g_assert_no_error (error);
}

static void
write_bytes (const char *path, GBytes *bytes)
{
  write_file (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

static GBytes *
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

typedef struct
{
  char *cmdline;
  int status; /* exit status; the program must not die of a signal */
  char *out;
  gsize out_len;
  char *err;
  gsize err_len;
  JsonParser *parser; /* after expect_json() */
} Run;

static void
run_free (Run *r)
{
  g_free (r->cmdline);
  g_free (r->out);
  g_free (r->err);
  g_clear_object (&r->parser);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Run, run_free)

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
static Run *
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
static Run *
sk (const char *first, ...) G_GNUC_NULL_TERMINATED;
static Run *
sk (const char *first, ...)
{
  va_list args;
  va_start (args, first);
  Run *r = run_va (keys->cli, first, args);
  va_end (args);
  return r;
}

/* `sekisho --station STATION [--json] ARGS…` */
static Run *
sk_at (const char *station, gboolean json, const char *first, ...) G_GNUC_NULL_TERMINATED;
static Run *
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

static void
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
static JsonObject *
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
static void
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
static void
sk_ok (const char *first, ...) G_GNUC_NULL_TERMINATED;
static void
sk_ok (const char *first, ...)
{
  va_list args;
  va_start (args, first);
  g_autoptr (Run) r = run_va (keys->cli, first, args);
  va_end (args);
  expect_json (r, 0, NULL);
}

static gboolean
contains (const char *haystack, gsize len, const void *needle, gsize needle_len)
{
  return needle_len > 0 && memmem (haystack, len, needle, needle_len) != NULL;
}

/* Control and bidi characters that an untrusted name may hold; none may
 * reach stdout or stderr raw (STYLE.md "Avoid"; QubesOS QSB-118). */
#define HOSTILE "\x1b[31mred\r\x07\xe2\x80\xae"
static const char *const raw_bytes[] = { "\x1b", "\r", "\x07", "\xe2\x80\xae", NULL };

/* The first raw control or bidi byte R printed, or NULL. */
static const char *
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
static gboolean
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

typedef struct
{
  char *dir;      /* this test's directory */
  char *admin;    /* DIR/admin: the administrator's workstation */
  char *terminal; /* DIR/terminal: the integration terminal */
  char *policy;   /* DIR/policy.json (+ .sig), installed on the terminal */
} Fixture;

static void
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

static void
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

static void
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
static char *
copy_policy (Fixture *f, const char *name)
{
  g_autoptr (GBytes) bytes = read_bytes (f->policy);
  char *path = g_build_filename (f->dir, name, NULL);

  write_bytes (path, bytes);
  return path;
}

/* Runs the generator into a new DIR/SUBDIR; returns the paths it wrote. */
static GStrv
synth_files (Fixture *f, const char *policy, const char *subdir, const char *first, ...)
    G_GNUC_NULL_TERMINATED;
static GStrv
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

static const char *
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
static GPtrArray *
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

static void
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

/* ---- station init ---------------------------------------------------------------- */

static void
assert_mode (const char *path, GFileTest type, mode_t mode)
{
  struct stat st;

  g_assert_true (g_file_test (path, type));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, mode);
}

static void
test_station_init (Fixture *f, gconstpointer user_data)
{
  g_autoptr (Run) r = sk ("--station", f->terminal, "--json", "station", "init", "--admin-key",
                          keys->admin, "--signing-key", keys->station, NULL);
  JsonObject *obj = expect_json (r, 0, NULL);
  g_autofree char *conf = g_build_filename (f->terminal, "station.conf", NULL);
  g_autofree char *gnupg = g_build_filename (f->terminal, "gnupg", NULL);
  g_autofree char *store = g_build_filename (f->terminal, "store", NULL);

  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (obj, "findings")), ==, 0);
  g_assert_true (g_file_test (conf, G_FILE_TEST_IS_REGULAR));
  assert_mode (gnupg, G_FILE_TEST_IS_DIR, 0700);
  assert_mode (store, G_FILE_TEST_IS_DIR, 0700);

  /* The pinned keys are in station.conf, and stock gpg can read the home. */
  {
    g_autoptr (GBytes) text = read_bytes (conf);
    gsize len;
    const char *data = g_bytes_get_data (text, &len);

    g_assert_true (contains (data, len, keys->admin, strlen (keys->admin)));
    g_assert_true (contains (data, len, keys->station, strlen (keys->station)));
  }
  g_assert_false (gpg_home_has (gnupg, keys->admin, FALSE));

  /* Human mode, into an existing empty directory (allowed). */
  {
    g_autofree char *second = g_build_filename (f->dir, "second", NULL);
    g_autoptr (Run) h = NULL;

    g_assert_cmpint (g_mkdir (second, 0700), ==, 0);
    h = sk ("--station", second, "station", "init", "--admin-key", keys->admin, "--signing-key",
            keys->admin, "--name", "second", NULL);
    expect_human (h, 0, NULL);
    g_assert_cmpstr (h->err, ==, "");
  }
}

static void
test_station_init_not_empty (Fixture *f, gconstpointer user_data)
{
  g_autofree char *other = g_build_filename (f->terminal, "other", NULL);
  g_autofree char *conf = g_build_filename (f->terminal, "station.conf", NULL);
  g_autoptr (Run) r = NULL;
  g_autoptr (Run) h = NULL;

  g_assert_cmpint (g_mkdir (f->terminal, 0700), ==, 0);
  write_file (other, "x", 1);

  r = sk ("--station", f->terminal, "--json", "station", "init", "--admin-key", keys->admin,
          "--signing-key", keys->station, NULL);
  expect_json (r, 3, "station-invalid");
  h = sk ("--station", f->terminal, "station", "init", "--admin-key", keys->admin, "--signing-key",
          keys->station, NULL);
  expect_human (h, 3, "station-invalid");

  g_assert_false (g_file_test (conf, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (other, G_FILE_TEST_IS_REGULAR));
}

static void
test_station_init_bad_fingerprint (Fixture *f, gconstpointer user_data)
{
  g_autofree char *short_fpr = g_strndup (keys->admin, 39);
  g_autofree char *long_fpr = g_strconcat (keys->admin, "0", NULL);
  g_autofree char *not_hex = g_strdup (keys->admin);
  const char *bad[] = { "1234", short_fpr, long_fpr, not_hex, "", NULL };

  not_hex[7] = 'G';
  for (gsize i = 0; bad[i] != NULL; i++)
    {
      g_autoptr (Run) a = sk ("--station", f->terminal, "--json", "station", "init", "--admin-key",
                              bad[i], "--signing-key", keys->station, NULL);
      g_autoptr (Run) s = sk ("--station", f->terminal, "--json", "station", "init", "--admin-key",
                              keys->admin, "--signing-key", bad[i], NULL);

      g_test_message ("fingerprint \"%s\"", bad[i]);
      expect_json (a, 2, "usage");
      expect_json (s, 2, "usage");
      g_assert_false (g_file_test (f->terminal, G_FILE_TEST_EXISTS));
    }

  /* A missing --signing-key is a usage error too. */
  {
    g_autoptr (Run) m =
        sk ("--station", f->terminal, "station", "init", "--admin-key", keys->admin, NULL);
    expect_human (m, 2, "usage");
    g_assert_false (g_file_test (f->terminal, G_FILE_TEST_EXISTS));
  }
}

/* ---- key import -------------------------------------------------------------------- */

static GPtrArray *
json_strings (JsonObject *obj, const char *member)
{
  GPtrArray *out = g_ptr_array_new ();
  JsonArray *array;

  g_assert_true (json_object_has_member (obj, member));
  array = json_object_get_array_member (obj, member);
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_ptr_array_add (out, (char *)json_array_get_string_element (array, i));
  return out;
}

static void
test_key_import (Fixture *f, gconstpointer user_data)
{
  g_autofree char *gnupg = g_build_filename (f->terminal, "gnupg", NULL);

  sk_ok ("--station", f->terminal, "--json", "station", "init", "--admin-key", keys->admin,
         "--signing-key", keys->station, NULL);

  /* Public keys: both listed in "fingerprints", both in the home. */
  {
    g_autoptr (Run) r =
        sk ("--station", f->terminal, "--json", "key", "import", keys->publics_file, NULL);
    JsonObject *obj = expect_json (r, 0, NULL);
    g_autoptr (GPtrArray) fprs = json_strings (obj, "fingerprints");

    g_assert_cmpuint (fprs->len, ==, 2);
    g_assert_true (g_ptr_array_find_with_equal_func (fprs, keys->admin, g_str_equal, NULL));
    g_assert_true (g_ptr_array_find_with_equal_func (fprs, keys->standard, g_str_equal, NULL));
    g_assert_true (gpg_home_has (gnupg, keys->admin, FALSE));
    g_assert_true (gpg_home_has (gnupg, keys->standard, FALSE));
    g_assert_false (gpg_home_has (gnupg, keys->admin, TRUE));
  }

  /* The station's own secret key. */
  {
    g_autoptr (Run) r =
        sk ("--station", f->terminal, "--json", "key", "import", keys->station_secret_file, NULL);
    JsonObject *obj = expect_json (r, 0, NULL);
    g_autoptr (GPtrArray) fprs = json_strings (obj, "fingerprints");

    g_assert_cmpuint (fprs->len, ==, 1);
    g_assert_cmpstr (g_ptr_array_index (fprs, 0), ==, keys->station);
    g_assert_true (gpg_home_has (gnupg, keys->station, TRUE));
  }

  /* Human mode lists the fingerprints on stdout. */
  {
    g_autoptr (Run) h = sk ("--station", f->terminal, "key", "import", keys->publics_file, NULL);

    expect_human (h, 0, NULL);
    g_assert_nonnull (strstr (h->out, keys->admin));
    g_assert_nonnull (strstr (h->out, keys->standard));
  }
}

static void
test_key_import_foreign_secret (Fixture *f, gconstpointer user_data)
{
  g_autofree char *gnupg = g_build_filename (f->terminal, "gnupg", NULL);
  g_autoptr (Run) r = NULL;
  g_autoptr (Run) h = NULL;

  r = sk ("--station", f->terminal, "--json", "key", "import", keys->mallory_secret_file, NULL);
  expect_json (r, 1, "key-refused");
  h = sk ("--station", f->terminal, "key", "import", keys->mallory_secret_file, NULL);
  expect_human (h, 1, "key-refused");

  /* Nothing of mallory's got in: neither the secret nor the public key that
   * came with it.  (The admin's key shows that the listing works.) */
  g_assert_true (gpg_home_has (gnupg, keys->admin, FALSE));
  g_assert_false (gpg_home_has (gnupg, keys->mallory, FALSE));
  g_assert_false (gpg_home_has (gnupg, keys->mallory, TRUE));

  /* And a policy mallory signs is still refused. */
  {
    g_autofree char *path = copy_policy (f, "mallory.json");
    g_autofree char *sig_path = g_strconcat (path, ".sig", NULL);
    g_autofree char *exact = g_strconcat (keys->mallory, "!", NULL);
    const char *args[] = { "-u", exact, NULL };
    g_autoptr (GBytes) data = read_bytes (path);
    g_autoptr (GBytes) sig = sk_test_gpg_sign (keys->gpg, data, args);
    g_autoptr (Run) c = NULL;

    write_bytes (sig_path, sig);
    c = sk ("--station", f->terminal, "--json", "policy", "check", path, NULL);
    expect_json (c, 1, "policy-untrusted-signer");
  }
}

/* ---- policy ----------------------------------------------------------------------- */

static void
test_policy_check (Fixture *f, gconstpointer user_data)
{
  /* set-keys wrote the key section as given ... */
  {
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) error = NULL;
    JsonObject *k;

    json_parser_load_from_file (parser, f->policy, &error);
    g_assert_no_error (error);
    k = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)),
                                       "keys");
    g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (k, "admins"), 0),
                     ==, keys->admin);
    g_assert_cmpstr (json_object_get_string_member (
                         json_object_get_object_member (k, "to-intermediate"), "recipient"),
                     ==, keys->station);
    g_assert_cmpstr (json_object_get_string_member (
                         json_object_get_object_member (k, "to-standard"), "recipient"),
                     ==, keys->standard);
  }

  /* ... and the signed result passes `policy check` on both stations. */
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr (Run) r = sk ("--station", i == 0 ? f->terminal : f->admin, "--json", "policy",
                              "check", f->policy, NULL);
      JsonObject *obj = expect_json (r, 0, NULL);
      JsonObject *policy = json_object_get_object_member (obj, "policy");

      g_assert_nonnull (policy);
      g_assert_cmpstr (json_object_get_string_member (policy, "signer"), ==, keys->admin);
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (policy, "kinds")), ==,
                        11);
    }
  {
    g_autoptr (Run) h = sk ("--station", f->terminal, "policy", "check", f->policy, NULL);
    expect_human (h, 0, NULL);
    g_assert_nonnull (strstr (h->out, keys->admin));
  }
}

static void
test_policy_bad_signature (Fixture *f, gconstpointer user_data)
{
  g_autoptr (GBytes) original = read_bytes (f->policy);
  g_autoptr (GBytes) sig = NULL;
  g_autofree char *sig_path = g_strconcat (f->policy, ".sig", NULL);
  g_autofree char *path = g_build_filename (f->dir, "altered.json", NULL);
  g_autofree char *altered_sig = g_strconcat (path, ".sig", NULL);
  g_autofree char *text =
      g_strndup (g_bytes_get_data (original, NULL), g_bytes_get_size (original));
  char *serial = strstr (text, "\"serial\" : 1,");

  /* One byte: serial 1 becomes 2, still a valid policy. */
  g_assert_nonnull (serial);
  serial[strlen ("\"serial\" : ")] = '2';
  write_file (path, text, strlen (text));
  sig = read_bytes (sig_path);
  write_bytes (altered_sig, sig);

  {
    g_autoptr (Run) r = sk ("--station", f->terminal, "--json", "policy", "check", path, NULL);
    expect_json (r, 1, "policy-bad-signature");
  }
  {
    g_autoptr (Run) h = sk ("--station", f->terminal, "policy", "check", path, NULL);
    expect_human (h, 1, "policy-bad-signature");
  }
  {
    g_autoptr (Run) i = sk ("--station", f->terminal, "--json", "policy", "install", path, NULL);
    expect_json (i, 1, "policy-bad-signature");
  }
}

static void
test_policy_unsigned (Fixture *f, gconstpointer user_data)
{
  g_autofree char *path = copy_policy (f, "unsigned.json");
  g_autoptr (Run) r = sk ("--station", f->terminal, "--json", "policy", "check", path, NULL);
  g_autoptr (Run) h = sk ("--station", f->terminal, "policy", "check", path, NULL);
  g_autoptr (Run) i = sk ("--station", f->terminal, "--json", "policy", "install", path, NULL);

  expect_json (r, 1, "policy-unsigned");
  expect_human (h, 1, "policy-unsigned");
  expect_json (i, 1, "policy-unsigned");
}

static void
test_policy_untrusted_signer (Fixture *f, gconstpointer user_data)
{
  g_autofree char *path = copy_policy (f, "mallory.json");
  g_autofree char *sig_path = g_strconcat (path, ".sig", NULL);
  g_autofree char *exact = g_strconcat (keys->mallory, "!", NULL);
  const char *args[] = { "-u", exact, NULL };
  g_autoptr (GBytes) data = read_bytes (path);
  g_autoptr (GBytes) sig = sk_test_gpg_sign (keys->gpg, data, args);

  /* Mallory's public key is in the terminal's keyring, but no policy lists it. */
  sk_ok ("--station", f->terminal, "--json", "key", "import", keys->mallory_public_file, NULL);
  write_bytes (sig_path, sig);
  {
    g_autoptr (Run) r = sk ("--station", f->terminal, "--json", "policy", "check", path, NULL);
    expect_json (r, 1, "policy-untrusted-signer");
  }
  {
    g_autoptr (Run) i = sk ("--station", f->terminal, "policy", "install", path, NULL);
    expect_human (i, 1, "policy-untrusted-signer");
  }
}

static void
test_policy_armored (Fixture *f, gconstpointer user_data)
{
  g_autofree char *path = copy_policy (f, "armored.json");
  g_autofree char *sig_path = g_strconcat (path, ".sig", NULL);
  g_autofree char *exact = g_strconcat (keys->admin, "!", NULL);
  const char *args[] = { "-u", exact, "--armor", NULL };
  g_autoptr (GBytes) data = read_bytes (path);
  g_autoptr (GBytes) sig = sk_test_gpg_sign (keys->gpg, data, args);

  g_assert_true (g_str_has_prefix (g_bytes_get_data (sig, NULL), "-----BEGIN PGP SIGNATURE-----"));
  write_bytes (sig_path, sig);
  {
    g_autoptr (Run) r = sk ("--station", f->terminal, "--json", "policy", "check", path, NULL);
    expect_json (r, 1, "sig-armored");
  }
  {
    g_autoptr (Run) h = sk ("--station", f->terminal, "policy", "check", path, NULL);
    expect_human (h, 1, "sig-armored");
  }
}

static void
test_policy_sign_invalid (Fixture *f, gconstpointer user_data)
{
  g_autofree char *minimal =
      g_strdup_printf ("{\"format\": \"sekisho-policy/1\", \"keys\": {\"admins\": [\"%s\"], "
                       "\"to-intermediate\": {\"signers\": [\"%s\"], \"recipient\": \"%s\"}, "
                       "\"to-standard\": {\"signers\": [\"%s\"], \"recipient\": \"%s\"}}}",
                       keys->admin, keys->standard, keys->station, keys->station, keys->standard);
  const char *texts[] = { minimal, "{ \"format\": ", "[]", NULL };

  for (gsize i = 0; texts[i] != NULL; i++)
    {
      g_autofree char *name = g_strdup_printf ("invalid-%" G_GSIZE_FORMAT ".json", i);
      g_autofree char *path = g_build_filename (f->dir, name, NULL);
      g_autofree char *sig_path = g_strconcat (path, ".sig", NULL);
      g_autoptr (Run) r = NULL;

      write_file (path, texts[i], strlen (texts[i]));
      r = sk ("--station", f->admin, "--json", "policy", "sign", "--key", keys->admin, path, NULL);
      expect_json (r, 1, "policy-invalid");
      g_assert_false (g_file_test (sig_path, G_FILE_TEST_EXISTS));
    }
}

static void
test_policy_sign_not_admin (Fixture *f, gconstpointer user_data)
{
  g_autofree char *path = copy_policy (f, "copy.json");
  g_autofree char *sig_path = g_strconcat (path, ".sig", NULL);

  /* Keys that are not in keys.admins: mallory's, and the terminal's own. */
  {
    g_autoptr (Run) r =
        sk ("--station", f->admin, "--json", "policy", "sign", "--key", keys->mallory, path, NULL);
    expect_json (r, 1, "policy-untrusted-signer");
    g_assert_false (g_file_test (sig_path, G_FILE_TEST_EXISTS));
  }
  {
    g_autoptr (Run) r =
        sk ("--station", f->admin, "--json", "policy", "sign", "--key", keys->station, path, NULL);
    expect_json (r, 1, "policy-untrusted-signer");
    g_assert_false (g_file_test (sig_path, G_FILE_TEST_EXISTS));
  }
  {
    g_autoptr (Run) h =
        sk ("--station", f->admin, "policy", "sign", "--key", keys->mallory, path, NULL);
    expect_human (h, 1, "policy-untrusted-signer");
    g_assert_false (g_file_test (sig_path, G_FILE_TEST_EXISTS));
  }
}

/* ---- validate ----------------------------------------------------------------------- */

static void
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

static void
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

static void
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
static void
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

static void
test_validate_missing_file (Fixture *f, gconstpointer user_data)
{
  /* A name that matches KNY01, but no file. */
  g_autofree char *path = g_build_filename (f->dir, "039004_KNY01_20261124153000_009.DAT", NULL);
  g_autoptr (Run) r = sk ("--station", f->terminal, "--json", "validate", path, NULL);
  g_autoptr (Run) h = sk ("--station", f->terminal, "validate", path, NULL);

  expect_json (r, 3, "io-error");
  expect_human (h, 3, "io-error");
}

static void
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

static void
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

static void
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

/* ---- usage ----------------------------------------------------------------------------- */

static void
test_usage_no_command (void)
{
  g_autoptr (Run) r = sk ("--json", NULL);
  const char *bare[] = { keys->cli, NULL };
  g_autoptr (Run) h = run_argv (bare);

  expect_json (r, 2, "usage");
  expect_human (h, 2, "usage");
  g_assert_cmpstr (h->out, ==, "");
}

static void
test_usage_unknown_command (void)
{
  const char *words[] = { "frobnicate", HOSTILE, "\x1b[31mred\x1b[0m", "a\rb\nc", "policy", NULL };

  for (gsize w = 0; words[w] != NULL; w++)
    {
      g_autoptr (Run) r = sk ("--json", words[w], NULL);
      g_autoptr (Run) h = sk (words[w], NULL);

      expect_json (r, 2, "usage");
      expect_human (h, 2, "usage");
      g_assert_null (raw_byte_in (r));
      g_assert_null (raw_byte_in (h));
      /* Human mode: one line on stderr (an escaped newline too), nothing on stdout. */
      g_assert_cmpstr (h->out, ==, "");
      g_assert_true (strchr (h->err, '\n') == h->err + h->err_len - 1);
    }
  {
    g_autoptr (Run) r = sk ("--json", "frobnicate", NULL);
    JsonObject *obj = expect_json (r, 2, "usage");
    g_assert_nonnull (strstr (json_object_get_string_member (obj, "message"), "frobnicate"));
  }
}

static void
test_usage_help (void)
{
  g_autoptr (Run) r = sk ("--help", NULL);

  expect_status (r, 0);
  g_assert_true (g_str_has_prefix (r->out, "Usage: sekisho"));
  g_assert_nonnull (strstr (r->out, "validate"));
  g_assert_cmpstr (r->err, ==, "");
}

/* ---- main ---------------------------------------------------------------------------- */

static const char *
need_env (const char *name)
{
  const char *value = g_getenv (name);

  if (value == NULL || *value == '\0')
    {
      g_printerr ("test-cli: $%s is not set; run it with `meson test`\n", name);
      exit (77);
    }
  return value;
}

/* ---- journal ------------------------------------------------------------ */

static GBytes *
station_files_digest (const char *station)
{
  const char *names[] = { "station.db", "station.db-wal", "station.db-shm" };
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (station, names[i], NULL);
      g_autofree char *data = NULL;
      gsize len = 0;
      if (g_file_get_contents (path, &data, &len, NULL))
        g_checksum_update (sum, (const guchar *)data, (gssize)len);
      g_checksum_update (sum, (const guchar *)names[i], -1);
      g_checksum_update (sum, (const guchar *)(data != NULL ? "+" : "-"), 1);
    }
  return g_bytes_new (g_checksum_get_string (sum), 64);
}

/* Station init, key imports and the policy install were journaled; verify,
 * show and export read the journal and write nothing into the station
 * (export makes a checkpoint only when entries came after the newest). */
static void
test_journal_commands (Fixture *f, gconstpointer user_data)
{
  g_autoptr (Run) cp = sk_at (f->terminal, TRUE, "journal", "checkpoint", NULL);
  JsonObject *cp_obj = expect_json (cp, 0, NULL);
  g_autofree char *checkpoint = g_strdup (json_object_get_string_member (cp_obj, "checkpoint"));
  g_assert_true (g_file_test (checkpoint, G_FILE_TEST_IS_REGULAR));

  g_autoptr (GBytes) before = station_files_digest (f->terminal);
  g_autofree char *csv = g_build_filename (f->dir, "journal.csv", NULL);

  g_autoptr (Run) verify =
      sk_at (f->terminal, TRUE, "journal", "verify", "--checkpoint", checkpoint, NULL);
  JsonObject *v = expect_json (verify, 0, NULL);
  g_assert_cmpint (json_object_get_int_member (v, "entries"), ==, 5);
  g_assert_cmpint (json_object_get_int_member (v, "checkpoint_seq"), ==, 4);

  g_autoptr (Run) show = sk_at (f->terminal, TRUE, "journal", "show", NULL);
  JsonObject *sh = expect_json (show, 0, NULL);
  JsonArray *entries = json_object_get_array_member (sh, "entries");
  const char *events[] = { "station-created", "key-imported", "key-imported", "policy-installed",
                           "checkpoint-made" };
  g_assert_cmpuint (json_array_get_length (entries), ==, G_N_ELEMENTS (events));
  for (guint i = 0; i < G_N_ELEMENTS (events); i++)
    g_assert_cmpstr (
        json_object_get_string_member (json_array_get_object_element (entries, i), "event"), ==,
        events[i]);

  g_autoptr (Run) filtered = sk_at (f->terminal, TRUE, "journal", "show", "--event", "key-imported",
                                    "--since", "2000-01-01", NULL);
  JsonObject *fo = expect_json (filtered, 0, NULL);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (fo, "entries")), ==, 2);

  g_autoptr (Run) export = sk_at (f->terminal, TRUE, "journal", "export", "--out", csv, NULL);
  expect_json (export, 0, NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  /* test-cli-text checks the record itself; its checkpoint was the one
   * just made, as only that checkpoint's own entry came after it. */
  g_assert_true (g_str_has_prefix (text, "\xEF\xBB\xBF"
                                         "seq,time_utc,time_local,event,"));
  g_autofree char *cp_copy = g_strconcat (csv, ".checkpoint.json", NULL);
  g_autofree char *cp_sig = g_strconcat (cp_copy, ".sig", NULL);
  g_assert_true (g_file_test (cp_copy, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (cp_sig, G_FILE_TEST_IS_REGULAR));

  g_autoptr (GBytes) after = station_files_digest (f->terminal);
  g_assert_true (g_bytes_equal (before, after));

  /* A refused key import is journaled too. */
  g_autoptr (Run) refused =
      sk_at (f->terminal, TRUE, "key", "import", keys->mallory_secret_file, NULL);
  expect_json (refused, 1, "key-refused");
  g_autoptr (Run) show2 =
      sk_at (f->terminal, TRUE, "journal", "show", "--reason", "key-refused", NULL);
  JsonObject *s2 = expect_json (show2, 0, NULL);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (s2, "entries")), ==, 1);
}

static void
test_journal_tampered (Fixture *f, gconstpointer user_data)
{
  g_autoptr (Run) cp = sk_at (f->terminal, TRUE, "journal", "checkpoint", NULL);
  JsonObject *cp_obj = expect_json (cp, 0, NULL);
  g_autofree char *checkpoint = g_strdup (json_object_get_string_member (cp_obj, "checkpoint"));
  g_autofree char *db = g_build_filename (f->terminal, "station.db", NULL);

  /* One byte of row 2, through the stock sqlite3 shell. */
  const char *argv[] = { "sqlite3", db, "UPDATE journal SET login = 'x' || login WHERE seq = 2",
                         NULL };
  g_autoptr (Run) edit = run_argv (argv);
  expect_status (edit, 0);
  g_autoptr (Run) verify = sk_at (f->terminal, TRUE, "journal", "verify", NULL);
  JsonObject *v = expect_json (verify, 1, "journal-invalid");
  g_assert_cmpint (json_object_get_int_member (v, "first_bad_seq"), ==, 2);

  /* Undo it, then cut the tail behind the checkpoint: the chain alone
   * would still verify, but the station's own newest checkpoint does not
   * (issue 10, item 9), nor the checkpoint named on the line. */
  const char *undo[] = { "sqlite3", db,
                         "UPDATE journal SET login = substr (login, 2) WHERE seq = 2", NULL };
  g_autoptr (Run) undone = run_argv (undo);
  expect_status (undone, 0);
  const char *cut[] = { "sqlite3", db, "DELETE FROM journal WHERE seq >= 4", NULL };
  g_autoptr (Run) cutting = run_argv (cut);
  expect_status (cutting, 0);
  g_autoptr (Run) chain = sk_at (f->terminal, TRUE, "journal", "verify", NULL);
  JsonObject *c = expect_json (chain, 1, "journal-invalid");
  g_assert_cmpstr (json_object_get_string_member (c, "checkpoint"), ==, checkpoint);
  g_assert_nonnull (strstr (json_object_get_string_member (c, "message"), "truncated"));
  g_autoptr (Run) with_cp =
      sk_at (f->terminal, TRUE, "journal", "verify", "--checkpoint", checkpoint, NULL);
  expect_json (with_cp, 1, "journal-invalid");

  /* A local checkpoint whose signature is gone is a finding too. */
  g_autofree char *sig = g_strconcat (checkpoint, ".sig", NULL);
  g_assert_cmpint (g_unlink (sig), ==, 0);
  g_autoptr (Run) unsigned_cp = sk_at (f->terminal, TRUE, "journal", "verify", NULL);
  expect_json (unsigned_cp, 1, "journal-invalid");
}

/* A checkpoint from another station is refused even when it verifies on
 * its own journal: the admin workstation's checkpoint against the
 * terminal's journal. */
static void
test_journal_foreign_checkpoint (Fixture *f, gconstpointer user_data)
{
  g_autoptr (Run) cp = sk_at (f->admin, TRUE, "journal", "checkpoint", NULL);
  JsonObject *cp_obj = expect_json (cp, 0, NULL);
  const char *foreign = json_object_get_string_member (cp_obj, "checkpoint");
  g_autoptr (Run) verify =
      sk_at (f->terminal, TRUE, "journal", "verify", "--checkpoint", foreign, NULL);
  expect_json (verify, 1, "sig-untrusted-key");
  g_autoptr (Run) local = sk_at (f->terminal, TRUE, "journal", "verify", NULL);
  JsonObject *l = expect_json (local, 0, NULL);
  g_assert_true (json_object_get_null_member (l, "checkpoint"));
}

static void
test_station_sweep (Fixture *f, gconstpointer user_data)
{
  g_autoptr (Run) sweep = sk_at (f->terminal, TRUE, "station", "sweep", NULL);
  JsonObject *obj = expect_json (sweep, 0, NULL);
  g_assert_cmpint (json_object_get_int_member (obj, "deleted"), ==, 0);
  g_autoptr (Run) nowhere = sk_at (f->dir, TRUE, "station", "sweep", NULL);
  expect_json (nowhere, 3, "station-invalid");
}

/* ---- crashes in the station's own write paths ------------------------------ */

static Run *
sk_fault_at (const char *fault, const char *station, const char *first, ...) G_GNUC_NULL_TERMINATED;
static Run *
sk_fault_at (const char *fault, const char *station, const char *first, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  va_list args;

  /* Through sh, which outlives the killed CLI and exits 128 + SIGKILL. */
  g_ptr_array_add (argv, (char *)"sh");
  g_ptr_array_add (argv, (char *)"-c");
  g_ptr_array_add (argv, (char *)"SEKISHO_FAULT=\"$0\" \"$@\"");
  g_ptr_array_add (argv, (char *)fault);
  g_ptr_array_add (argv, (char *)keys->cli);
  g_ptr_array_add (argv, (char *)"--station");
  g_ptr_array_add (argv, (char *)station);
  g_ptr_array_add (argv, (char *)"--json");
  va_start (args, first);
  for (const char *a = first; a != NULL; a = va_arg (args, const char *))
    g_ptr_array_add (argv, (char *)a);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  return run_argv ((const char *const *)argv->pdata);
}

/* Killed at each boundary of a checkpoint and of a policy install, the
 * station stays whole: the journal verifies, the policy in force loads, a
 * checkpoint that exists verifies, and the command works when run again. */
static void
test_station_crashes (Fixture *f, gconstpointer user_data)
{
  if (sk_test_skip_without_fault_points ())
    return;
  const char *checkpoint_points[] = { "checkpoint-before-json", "checkpoint-before-journal" };
  for (gsize i = 0; i < G_N_ELEMENTS (checkpoint_points); i++)
    {
      g_autoptr (Run) killed =
          sk_fault_at (checkpoint_points[i], f->terminal, "journal", "checkpoint", NULL);
      g_assert_cmpint (killed->status, ==, 128 + SIGKILL);
      g_autoptr (Run) verify = sk_at (f->terminal, TRUE, "journal", "verify", NULL);
      expect_json (verify, 0, NULL);
      g_autoptr (Run) again = sk_at (f->terminal, TRUE, "journal", "checkpoint", NULL);
      JsonObject *obj = expect_json (again, 0, NULL);
      g_autoptr (Run) with_cp = sk_at (f->terminal, TRUE, "journal", "verify", "--checkpoint",
                                       json_object_get_string_member (obj, "checkpoint"), NULL);
      expect_json (with_cp, 0, NULL);
    }

  /* A second policy (serial 2), installed with a crash at each boundary:
   * afterwards the station has the old policy or the new one, never none. */
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (f->policy, &text, NULL, NULL));
  g_autoptr (GString) next = g_string_new (text);
  g_string_replace (next, "\"serial\" : 1", "\"serial\" : 2", 1);
  g_assert_cmpstr (next->str, !=, text);
  g_autofree char *policy2 = g_build_filename (f->dir, "policy2.json", NULL);
  write_file (policy2, next->str, next->len);
  sk_ok ("--station", f->admin, "--json", "policy", "sign", "--key", keys->admin, policy2, NULL);

  const char *install_points[] = { "policy-install-before-sig", "policy-install-before-link",
                                   "policy-install-before-rename",
                                   "policy-install-before-dirsync" };
  for (gsize i = 0; i < G_N_ELEMENTS (install_points); i++)
    {
      g_autoptr (Run) killed =
          sk_fault_at (install_points[i], f->terminal, "policy", "install", policy2, NULL);
      g_assert_cmpint (killed->status, ==, 128 + SIGKILL);
      g_autoptr (Run) loads = sk_at (f->terminal, TRUE, "validate", policy2, NULL);
      /* validate loads the installed policy; the file itself has no kind */
      expect_json (loads, 1, "file-kind-unknown");
      g_autoptr (Run) verify = sk_at (f->terminal, TRUE, "journal", "verify", NULL);
      expect_json (verify, 0, NULL);
    }
  sk_ok ("--station", f->terminal, "--json", "policy", "install", policy2, NULL);
}

int
main (int argc, char **argv)
{
  const char *base = g_getenv ("TMPDIR");
  int ret;

  g_test_init (&argc, &argv, NULL);

  keys = g_new0 (Keys, 1);
  keys->cli = need_env ("SEKISHO_CLI");
  keys->synth = need_env ("SEKISHO_SYNTH");
  keys->policy_dir = need_env ("SEKISHO_POLICY_DIR");

  /* Before any thread, as setenv() is not thread-safe: a short $TMPDIR of
   * our own for the key home, every test's directory and the agents. */
  keys->root = g_build_filename (base != NULL && *base != '\0' ? base : "/tmp", "skc-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp (keys->root));
  g_assert_true (g_setenv ("TMPDIR", keys->root, TRUE));
  g_assert_cmpstr (g_get_tmp_dir (), ==, keys->root);

#define CLI_TEST(path, setup, func) g_test_add (path, Fixture, NULL, setup, func, teardown)

  CLI_TEST ("/cli/station/init", setup_bare, test_station_init);
  CLI_TEST ("/cli/station/init-not-empty", setup_bare, test_station_init_not_empty);
  CLI_TEST ("/cli/station/init-bad-fingerprint", setup_bare, test_station_init_bad_fingerprint);
  CLI_TEST ("/cli/key/import", setup_bare, test_key_import);
  CLI_TEST ("/cli/key/import-foreign-secret", setup_stations, test_key_import_foreign_secret);
  CLI_TEST ("/cli/policy/check", setup_stations, test_policy_check);
  CLI_TEST ("/cli/policy/bad-signature", setup_stations, test_policy_bad_signature);
  CLI_TEST ("/cli/policy/unsigned", setup_stations, test_policy_unsigned);
  CLI_TEST ("/cli/policy/untrusted-signer", setup_stations, test_policy_untrusted_signer);
  CLI_TEST ("/cli/policy/sig-armored", setup_stations, test_policy_armored);
  CLI_TEST ("/cli/policy/sign-invalid", setup_stations, test_policy_sign_invalid);
  CLI_TEST ("/cli/policy/sign-not-admin", setup_stations, test_policy_sign_not_admin);
  g_test_add_func ("/cli/usage/no-command", test_usage_no_command);
  g_test_add_func ("/cli/usage/unknown-command", test_usage_unknown_command);
  g_test_add_func ("/cli/usage/help", test_usage_help);
  CLI_TEST ("/cli/validate/all-kinds", setup_stations, test_validate_all_kinds);
  CLI_TEST ("/cli/validate/defects", setup_stations, test_validate_defects);
  CLI_TEST ("/cli/validate/kind-unknown", setup_stations, test_validate_kind_unknown);
  CLI_TEST ("/cli/validate/escaped-name", setup_stations, test_validate_escaped_name);
  CLI_TEST ("/cli/validate/missing-file", setup_stations, test_validate_missing_file);
  CLI_TEST ("/cli/validate/no-policy", setup_bare, test_validate_no_policy);

  CLI_TEST ("/cli/journal/verify-show-export", setup_stations, test_journal_commands);
  CLI_TEST ("/cli/journal/tampered", setup_stations, test_journal_tampered);
  CLI_TEST ("/cli/journal/foreign-checkpoint", setup_stations, test_journal_foreign_checkpoint);
  CLI_TEST ("/cli/station/sweep", setup_stations, test_station_sweep);
  CLI_TEST ("/cli/station/crashes", setup_stations, test_station_crashes);

  /* These two were known bugs when written (now fixed): a missing file
   * with an unknown name, and unescaped paths in messages. */
  CLI_TEST ("/cli/validate/missing-file-unknown-name", setup_stations,
            test_validate_missing_file_unknown_name);
  CLI_TEST ("/cli/escape/policy-and-key-paths", setup_stations, test_policy_escaped_paths);

  ret = g_test_run ();

  if (keys->gpg != NULL)
    sk_test_gpg_free (keys->gpg);
  g_free (keys->admin);
  g_free (keys->station);
  g_free (keys->standard);
  g_free (keys->mallory);
  g_free (keys->publics_file);
  g_free (keys->admin_secret_file);
  g_free (keys->station_secret_file);
  g_free (keys->mallory_secret_file);
  g_free (keys->mallory_public_file);
  sk_test_remove_tree (keys->root);
  g_free (keys->root);
  g_clear_pointer (&keys, g_free);
  return ret;
}
