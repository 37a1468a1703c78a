/* sk-test-package.h — what test-package's files share: the fixture, the
 * harness (sk-test-package.c) and the tests, by file
 *
 * test-package is one binary (tests/meson.build) built from test-package.c
 * (main), the harness and a file per group of tests.
 */
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gcrypt.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-fault.h"
#include "sk-journal.h"
#include "sk-package.h"
#include "sk-pgp-packet.h"
#include "sk-policy-private.h"
#include "sk-station.h"
#include "sk-synth.h"
#include "sk-test-gpg.h"
#include "sk-test-stations.h"
#include "sk-test-util.h"

G_BEGIN_DECLS

#define CASE_ID "C0000000000000000001"
#define SMALL_CAP "100000"

typedef struct
{
  char *tmp;
  char *work;    /* input files and packages */
  char *out;     /* where pack writes */
  char *extract; /* every check extracts here; empty after each refusal */
  SkStation *term;
  SkStation *std;
  SkPolicy *term_policy;
  SkPolicy *std_policy;
  SkPolicy *layouts; /* the default policy, for the generator */
  SkTestStations stations;
  guint n_policies;
} Fixture;

typedef SkManifest Manifest;
/* sk_manifest_free() frees the list; its entries were made here. */
void
manifest_free (Manifest *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Manifest, manifest_free)

/* ---- the harness and the tests, by file --------------------------------- */

/* sk-test-package.c: the harness */
void
write_bytes (const char *path, GBytes *bytes);
GBytes *
read_bytes (const char *path);
gpointer
bytes_dup (GBytes *bytes, gsize *len);
char *
sha256_of (GBytes *bytes);
GPtrArray *
dir_list (const char *dir);
void
assert_dir_empty (const char *dir);
SkPolicy *
install_other_policy (Fixture *fx, const char *extra_signer, const char *max_size, gboolean both);
char *
make_subdir (const char *parent, const char *name);
void
fixture_setup (Fixture *fx, gconstpointer data);
void
fixture_teardown (Fixture *fx, gconstpointer data);
char *
synth (Fixture *fx, const char *kind_id, guint seq, guint64 records);
void
break_check_digit (Fixture *fx, const char *path);
void
break_trailer_count (Fixture *fx, const char *path, guint64 records);
SkPackageResult *
check (Fixture *fx, SkPolicy *policy, const char *pkg, GPtrArray **reports, GError **error);
void
assert_refused (Fixture *fx, SkPolicy *policy, const char *pkg, SkErrorCode code);
void
assert_pack_refused (Fixture *fx,
                     const char *workflow,
                     const char *case_id,
                     const char *const *files,
                     SkErrorCode code);
char *
pack (Fixture *fx, const char *workflow, const char *const *files);
char *
new_package_path (Fixture *fx);
void
sign_package (Fixture *fx, const char *pkg);
char *
seal (Fixture *fx, GBytes *plain);
GArray *
members_new (void);
void
add_member (GArray *members, const char *name, GBytes *data);
void
add_special (GArray *members, const char *name, guint type, const char *link);
void
add_file (GArray *members, const char *path);
GBytes *
tar_build (GArray *members);
SkManifest *
manifest_for (Fixture *fx, SkPolicy *policy, const char *workflow, const char *const *paths);
SkManifestFile *
manifest_file (SkManifest *m, guint i);
GBytes *
json_without (GBytes *json, const char *member);
GArray *
members_for (SkManifest *m, GBytes *json, const char *const *paths);
char *
seal_members (Fixture *fx, GArray *members);
char *
small_kny01 (Fixture *fx, guint seq);
void
assert_extracted (Fixture *fx, const char *const *paths);
GBytes *
valid_tar (Fixture *fx, guint64 records);
/* test-package-pack.c: 1. pack and round trip */
void
test_round_trip (Fixture *fx, gconstpointer data);
void
test_pack_large (Fixture *fx, gconstpointer data);
void
test_pack_large_spoiled (Fixture *fx, gconstpointer data);
void
test_two_files (Fixture *fx, gconstpointer data);
void
test_pack_refuses_defect (Fixture *fx, gconstpointer data);
void
test_pack_refuses_mixed (Fixture *fx, gconstpointer data);
void
test_pack_refuses_wrong_case (Fixture *fx, gconstpointer data);
/* test-package-sig.c: 2. signature */
void
test_sig_missing (Fixture *fx, gconstpointer data);
void
test_sig_other_bytes (Fixture *fx, gconstpointer data);
void
test_sig_flipped (Fixture *fx, gconstpointer data);
void
test_sig_multiple (Fixture *fx, gconstpointer data);
void
test_sig_armored (Fixture *fx, gconstpointer data);
void
test_sig_untrusted (Fixture *fx, gconstpointer data);
void
test_sig_weak_hash (Fixture *fx, gconstpointer data);
void
test_sig_weak_key (Fixture *fx, gconstpointer data);
/* test-package-decrypt.c: 3. decryption, read once, what the encrypted data holds */
void
test_decrypt_stock_plain (Fixture *fx, gconstpointer data);
void
test_decrypt_wrong_recipient (Fixture *fx, gconstpointer data);
void
test_decrypt_signed_inside (Fixture *fx, gconstpointer data);
void
test_decrypt_signed_inside_plain (Fixture *fx, gconstpointer data);
void
test_decrypt_compressed (Fixture *fx, gconstpointer data);
void
test_decrypt_compressed_padded (Fixture *fx, gconstpointer data);
void
test_decrypt_random (Fixture *fx, gconstpointer data);
void
test_decrypt_truncated (Fixture *fx, gconstpointer data);
void
test_decrypt_integrity (Fixture *fx, gconstpointer data);
void
test_check_reads_once (Fixture *fx, gconstpointer data);
void
test_decrypt_inner (Fixture *fx, gconstpointer data);
/* test-package-archive.c: 4. archive */
void
test_archive_cases (Fixture *fx, gconstpointer data);
void
test_archive_duplicate (Fixture *fx, gconstpointer data);
void
test_archive_order (Fixture *fx, gconstpointer data);
void
test_archive_too_many (Fixture *fx, gconstpointer data);
void
test_archive_malformed (Fixture *fx, gconstpointer data);
void
test_archive_too_large (Fixture *fx, gconstpointer data);
void
test_archive_too_large_total (Fixture *fx, gconstpointer data);
/* test-package-manifest.c: 5. manifest, 6. file validation */
void
test_manifest_duplicate_member (void);
void
test_manifest_cases (Fixture *fx, gconstpointer data);
void
test_manifest_unlisted (Fixture *fx, gconstpointer data);
void
test_manifest_missing_file (Fixture *fx, gconstpointer data);
void
test_manifest_replay (Fixture *fx, gconstpointer data);
void
test_file_trailer_count (Fixture *fx, gconstpointer data);

G_END_DECLS
