/* test-package-pack.c — packing, and the round trip of a package */
#include "config.h"

#include "sk-test-package.h"

/* ---- 1. pack and round trip --------------------------------------------- */

static void
assert_manifest (Fixture *fx, const SkManifest *m, const char *workflow, const char *const *paths)
{
  g_assert_true (g_uuid_string_is_valid (m->package_id));
  g_assert_cmpstr (m->workflow, ==, workflow);
  g_assert_cmpint (m->direction, ==, SK_DIRECTION_TO_INTERMEDIATE);
  g_assert_cmpstr (m->origin, ==, sk_test_keys.standard);
  g_assert_cmpstr (m->recipient, ==, sk_test_keys.terminal);
  g_assert_cmpstr (m->case_id, ==, CASE_ID);
  g_assert_cmpstr (m->policy, ==, sk_policy_get_sha256 (fx->term_policy));
  g_assert_true (g_str_has_suffix (m->created_at, "Z"));
  g_autoptr (GDateTime) when = g_date_time_new_from_iso8601 (m->created_at, NULL);
  g_assert_nonnull (when);
  g_assert_cmpuint (m->files->len, ==, g_strv_length ((GStrv)paths));
  for (guint i = 0; paths[i] != NULL; i++)
    {
      const SkManifestFile *f = g_ptr_array_index (m->files, i);
      g_autofree char *base = g_path_get_basename (paths[i]);
      g_autoptr (GBytes) data = read_bytes (paths[i]);
      g_autofree char *sha = sha256_of (data);
      g_assert_cmpstr (f->name, ==, base);
      g_assert_cmpuint (f->size, ==, g_bytes_get_size (data));
      g_assert_cmpstr (f->sha256, ==, sha);
    }
}

void
test_round_trip (Fixture *fx, gconstpointer data)
{
  g_autofree char *file = synth (fx, "KNY01", 1, 50);
  const char *files[] = { file, NULL };
  g_autofree char *pkg = pack (fx, "subscriber", files);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) reports = NULL;
  g_autoptr (SkPackageResult) result = check (fx, NULL, pkg, &reports, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_null (reports);
  const SkManifest *m = result->manifest;
  assert_manifest (fx, m, "subscriber", files);
  g_assert_cmpstr (manifest_file ((SkManifest *)m, 0)->kind, ==, "KNY01");
  g_assert_cmpint (manifest_file ((SkManifest *)m, 0)->records, ==, 50);
  g_assert_cmpstr (result->signer, ==, sk_test_keys.standard);
  g_assert_cmpuint (result->reports->len, ==, 1);
  const SkFileReport *r = g_ptr_array_index (result->reports, 0);
  g_assert_true (sk_file_report_ok (r));
  g_assert_cmpuint (r->records, ==, 50);

  /* Named after its id, next to its signature, nothing else in --out. */
  g_autofree char *base = g_path_get_basename (pkg);
  g_autofree char *want = g_strconcat (m->package_id, ".tar.gpg", NULL);
  g_assert_cmpstr (base, ==, want);
  g_autoptr (GPtrArray) out_names = dir_list (fx->out);
  g_assert_cmpuint (out_names->len, ==, 2);
  g_assert_true (g_str_has_suffix (g_ptr_array_index (out_names, 1), ".tar.gpg.sig"));
  assert_extracted (fx, files);

  /* Stock tools: gpg --verify, then gpg -d | tar -t. */
  g_autofree char *home = g_build_filename (sk_station_get_dir (fx->term), "gnupg", NULL);
  g_autofree char *sig = g_strconcat (pkg, ".sig", NULL);
  const char *verify[] = { "gpg", "--homedir", home, "--batch", "--verify", sig, pkg, NULL };
  g_assert_cmpint (sk_test_run (verify, NULL, NULL), ==, 0);
  const char *list[] = { "sh", "-c", "gpg --homedir \"$0\" --batch -d \"$1\" | tar -t",
                         home, pkg,  NULL };
  g_autoptr (GBytes) listing = NULL;
  g_assert_cmpint (sk_test_run (list, NULL, &listing), ==, 0);
  g_autofree char *text = g_strndup (g_bytes_get_data (listing, NULL), g_bytes_get_size (listing));
  g_autofree char *member = g_strconcat ("files/", manifest_file ((SkManifest *)m, 0)->name, NULL);
  g_autofree char *expected = g_strdup_printf ("MANIFEST.json\n%s\n", member);
  g_assert_cmpstr (text, ==, expected);
}

/* A package several times the read-back's ring (12 MiB): what is read back
 * is compared with what was written as the ring wraps, and only a faithful
 * medium passes — the package checks, and stock gpg verifies it. */
void
test_pack_large (Fixture *fx, gconstpointer data)
{
  g_autofree char *file = synth (fx, "KNY01", 2, 60000);
  const char *files[] = { file, NULL };
  g_autofree char *pkg = pack (fx, "subscriber", files);
  GStatBuf st;
  g_assert_cmpint (g_stat (pkg, &st), ==, 0);
  g_assert_cmpint (st.st_size, >, 2 * 12 * 1024 * 1024);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPackageResult) result = check (fx, NULL, pkg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (manifest_file (result->manifest, 0)->records, ==, 60000);
  g_autofree char *home = g_build_filename (sk_station_get_dir (fx->term), "gnupg", NULL);
  g_autofree char *sig = g_strconcat (pkg, ".sig", NULL);
  const char *verify[] = { "gpg", "--homedir", home, "--batch", "--verify", sig, pkg, NULL };
  g_assert_cmpint (sk_test_run (verify, NULL, NULL), ==, 0);
}

/* The medium changes a byte that was written, just before a step is read
 * back: byte (size so far - 100), once the package is past the read-back's
 * ring (12 MiB), so the ring has wrapped. */
typedef struct
{
  const char *dir;
  gboolean flipped;
} Spoiler;

static void
spoil_step (const char *name, gpointer data)
{
  Spoiler *sp = data;
  if (!g_str_equal (name, "pack-before-readback") || sp->flipped)
    return;
  g_autoptr (GPtrArray) names = dir_list (sp->dir);
  for (guint i = 0; i < names->len; i++)
    {
      const char *n = g_ptr_array_index (names, i);
      if (!g_str_has_suffix (n, ".tmp"))
        continue;
      g_autofree char *path = g_build_filename (sp->dir, n, NULL);
      int fd = open (path, O_RDWR | O_CLOEXEC);
      g_assert_cmpint (fd, >=, 0);
      struct stat st;
      g_assert_cmpint (fstat (fd, &st), ==, 0);
      if (st.st_size > 12 * 1024 * 1024)
        {
          guint8 b;
          g_assert_cmpint (pread (fd, &b, 1, st.st_size - 100), ==, 1);
          b ^= 0x20;
          g_assert_cmpint (pwrite (fd, &b, 1, st.st_size - 100), ==, 1);
          sp->flipped = TRUE;
        }
      close (fd);
    }
}

/* A byte that changes on the medium in the middle of a large package (past
 * the read-back's ring) is caught: nothing is left, the refusal says
 * why. */
void
test_pack_large_spoiled (Fixture *fx, gconstpointer data)
{
  if (!sk_fault_compiled_in ())
    {
      g_test_skip ("the hook needs a build with fault points");
      return;
    }
  g_autofree char *file = synth (fx, "KNY01", 2, 60000);
  const char *files[] = { file, NULL };
  Spoiler sp = { .dir = fx->out };
  sk_fault_set_hook (spoil_step, &sp);
  assert_pack_refused (fx, "subscriber", CASE_ID, files, SK_ERROR_MEDIA_READBACK_MISMATCH);
  sk_fault_set_hook (NULL, NULL);
  g_assert_true (sp.flipped);
}

void
test_two_files (Fixture *fx, gconstpointer data)
{
  g_autofree char *a = synth (fx, "FKH01", 1, 20);
  g_autofree char *b = synth (fx, "FKH02", 2, 30);
  const char *files[] = { a, b, NULL };
  g_autofree char *pkg = pack (fx, "duplicate", files);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPackageResult) result = check (fx, NULL, pkg, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  assert_manifest (fx, result->manifest, "duplicate", files);
  g_assert_cmpstr (manifest_file (result->manifest, 0)->kind, ==, "FKH01");
  g_assert_cmpstr (manifest_file (result->manifest, 1)->kind, ==, "FKH02");
  g_assert_cmpint (manifest_file (result->manifest, 0)->records, ==, 20);
  g_assert_cmpint (manifest_file (result->manifest, 1)->records, ==, 30);
  g_assert_cmpuint (result->reports->len, ==, 2);
  assert_extracted (fx, files);
}

void
test_pack_refuses_defect (Fixture *fx, gconstpointer data)
{
  g_autofree char *file = small_kny01 (fx, 1);
  const char *files[] = { file, NULL };

  break_check_digit (fx, file);
  assert_pack_refused (fx, "subscriber", CASE_ID, files, SK_ERROR_CHECK_DIGIT);
}

void
test_pack_refuses_mixed (Fixture *fx, gconstpointer data)
{
  g_autofree char *a = small_kny01 (fx, 1);
  g_autofree char *b = synth (fx, "FKH01", 2, 5);
  const char *files[] = { a, b, NULL };

  assert_pack_refused (fx, "subscriber", CASE_ID, files, SK_ERROR_MANIFEST_WRONG_STATION);
}

void
test_pack_refuses_wrong_case (Fixture *fx, gconstpointer data)
{
  g_autofree char *file = small_kny01 (fx, 1);
  const char *files[] = { file, NULL };

  assert_pack_refused (fx, "subscriber", "C0000000000000000002", files, SK_ERROR_MANIFEST_MISMATCH);
}
