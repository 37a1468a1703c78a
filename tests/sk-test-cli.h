/* sk-test-cli.h — what test-cli's files share: the keys, running the CLI, the
 * fixture, the harness (sk-test-cli.c) and the tests, by file
 *
 * test-cli is one binary (tests/meson.build) built from test-cli.c (main and
 * the usage), the harness and a file per group of tests.
 */
#pragma once

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

G_BEGIN_DECLS

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

/* Made in main (test-cli.c); the keys themselves on first use (keys_ensure). */
extern Keys *keys;

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

void
run_free (Run *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Run, run_free)

/* Control and bidi characters that an untrusted name may hold; none may
 * reach stdout or stderr raw (STYLE.md "Avoid"; QubesOS QSB-118). */
#define HOSTILE "\x1b[31mred\r\x07\xe2\x80\xae"

typedef struct
{
  char *dir;      /* this test's directory */
  char *admin;    /* DIR/admin: the administrator's workstation */
  char *terminal; /* DIR/terminal: the integration terminal */
  char *policy;   /* DIR/policy.json (+ .sig), installed on the terminal */
} Fixture;

/* ---- the harness and the tests, by file --------------------------------- */

/* sk-test-cli.c: the harness */
void
write_file (const char *path, const void *data, gsize len);
void
write_bytes (const char *path, GBytes *bytes);
GBytes *
read_bytes (const char *path);
Run *
run_argv (const char *const *argv);
Run *
sk (const char *first, ...) G_GNUC_NULL_TERMINATED;
Run *
sk_at (const char *station, gboolean json, const char *first, ...) G_GNUC_NULL_TERMINATED;
void
expect_status (Run *r, int status);
JsonObject *
expect_json (Run *r, int status, const char *reason);
void
expect_human (Run *r, int status, const char *reason);
void
sk_ok (const char *first, ...) G_GNUC_NULL_TERMINATED;
gboolean
contains (const char *haystack, gsize len, const void *needle, gsize needle_len);
const char *
raw_byte_in (Run *r);
gboolean
gpg_home_has (const char *home, const char *fpr, gboolean secret);
void
setup_bare (Fixture *f, gconstpointer user_data);
void
setup_stations (Fixture *f, gconstpointer user_data);
void
teardown (Fixture *f, gconstpointer user_data);
char *
copy_policy (Fixture *f, const char *name);
GStrv
synth_files (Fixture *f, const char *policy, const char *subdir, const char *first, ...)
    G_GNUC_NULL_TERMINATED;
const char *
find_path (GStrv paths, const char *kind_id);
GPtrArray *
personal_values (const char *kny01_path, guint64 expected_records);
void
expect_no_personal_data (Run *r, GPtrArray *values);
/* test-cli-station.c: station init, key import */
void
test_station_init (Fixture *f, gconstpointer user_data);
void
test_station_init_not_empty (Fixture *f, gconstpointer user_data);
void
test_station_init_bad_fingerprint (Fixture *f, gconstpointer user_data);
void
test_key_import (Fixture *f, gconstpointer user_data);
void
test_key_import_foreign_secret (Fixture *f, gconstpointer user_data);
/* test-cli-policy.c: policy */
void
test_policy_check (Fixture *f, gconstpointer user_data);
void
test_policy_bad_signature (Fixture *f, gconstpointer user_data);
void
test_policy_unsigned (Fixture *f, gconstpointer user_data);
void
test_policy_untrusted_signer (Fixture *f, gconstpointer user_data);
void
test_policy_armored (Fixture *f, gconstpointer user_data);
void
test_policy_sign_invalid (Fixture *f, gconstpointer user_data);
void
test_policy_sign_not_admin (Fixture *f, gconstpointer user_data);
/* test-cli-validate.c: validate, escaped names and paths */
void
test_validate_all_kinds (Fixture *f, gconstpointer user_data);
void
test_validate_defects (Fixture *f, gconstpointer user_data);
void
test_validate_kind_unknown (Fixture *f, gconstpointer user_data);
void
test_validate_escaped_name (Fixture *f, gconstpointer user_data);
void
test_validate_missing_file (Fixture *f, gconstpointer user_data);
void
test_validate_missing_file_unknown_name (Fixture *f, gconstpointer user_data);
void
test_validate_no_policy (Fixture *f, gconstpointer user_data);
void
test_policy_escaped_paths (Fixture *f, gconstpointer user_data);
/* test-cli-journal.c: journal, sweep, crashes */
void
test_journal_commands (Fixture *f, gconstpointer user_data);
void
test_journal_tampered (Fixture *f, gconstpointer user_data);
void
test_journal_foreign_checkpoint (Fixture *f, gconstpointer user_data);
void
test_station_sweep (Fixture *f, gconstpointer user_data);
void
test_station_crashes (Fixture *f, gconstpointer user_data);

G_END_DECLS
