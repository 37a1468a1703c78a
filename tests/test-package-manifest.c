/* test-package-manifest.c — the manifest, and validation of the files it lists */
#include "config.h"

#include "sk-test-package.h"

/* ---- 5. manifest -------------------------------------------------------- */

typedef enum
{
  MF_NOT_JSON,
  MF_NO_MEMBER,
  MF_SHA256,
  MF_SIZE,
  MF_RECORDS,
  MF_RECIPIENT,
  MF_DIRECTION,
  MF_ORIGIN,
  MF_POLICY,
  MF_CASE,
  MF_KIND,
} ManifestFault;

typedef struct
{
  const char *path;
  ManifestFault fault;
  SkErrorCode code;
} ManifestCase;

static const ManifestCase manifest_cases[] = {
  { "not-json", MF_NOT_JSON, SK_ERROR_MANIFEST_INVALID },
  { "missing-member", MF_NO_MEMBER, SK_ERROR_MANIFEST_INVALID },
  { "sha256", MF_SHA256, SK_ERROR_MANIFEST_MISMATCH },
  { "size", MF_SIZE, SK_ERROR_MANIFEST_MISMATCH },
  { "records", MF_RECORDS, SK_ERROR_MANIFEST_MISMATCH },
  { "recipient", MF_RECIPIENT, SK_ERROR_MANIFEST_WRONG_STATION },
  { "direction", MF_DIRECTION, SK_ERROR_MANIFEST_WRONG_STATION },
  { "origin", MF_ORIGIN, SK_ERROR_MANIFEST_MISMATCH },
  { "policy", MF_POLICY, SK_ERROR_MANIFEST_MISMATCH },
  { "case", MF_CASE, SK_ERROR_MANIFEST_MISMATCH },
  { "kind", MF_KIND, SK_ERROR_MANIFEST_WRONG_STATION },
};

static void
manifest_case (Fixture *fx, const char *file, const ManifestCase *c)
{
  const char *files[] = { file, NULL };
  g_autoptr (Manifest) m = manifest_for (fx, NULL, "subscriber", files);
  SkManifestFile *f = manifest_file (m, 0);
  g_autoptr (GBytes) json = NULL;

  switch (c->fault)
    {
    case MF_NOT_JSON:
      {
        static const char text[] = "{ \"format\": \"sekisho-package/1\", ";
        json = g_bytes_new_static (text, strlen (text));
      }
      break;
    case MF_NO_MEMBER:
      {
        g_autoptr (GBytes) full = sk_manifest_to_json (m);
        json = json_without (full, "created_by");
      }
      break;
    case MF_SHA256:
      g_free (f->sha256);
      f->sha256 = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "other", -1);
      break;
    case MF_SIZE:
      f->size += 1;
      break;
    case MF_RECORDS:
      f->records += 1;
      break;
    case MF_RECIPIENT:
      g_free (m->recipient);
      m->recipient = g_strdup (sk_test_keys.standard);
      break;
    case MF_DIRECTION:
      m->direction = SK_DIRECTION_TO_STANDARD;
      break;
    case MF_ORIGIN:
      g_free (m->origin);
      m->origin = g_strdup (sk_test_keys.mallory);
      break;
    case MF_POLICY:
      g_free (m->policy);
      m->policy = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "another policy", -1);
      break;
    case MF_CASE:
      g_free (m->case_id);
      m->case_id = g_strdup ("C0000000000000000002");
      break;
    case MF_KIND:
      g_free (f->kind);
      f->kind = g_strdup ("FKH01");
      break;
    default:
      g_assert_not_reached ();
    }
  g_test_message ("case %s", c->path);
  g_autoptr (GArray) members = members_for (m, json, files);
  g_autofree char *pkg = seal_members (fx, members);
  assert_refused (fx, NULL, pkg, c->code);
}

/* A manifest naming a member twice is refused: json-glib would keep the
 * last, and no two readers may see two different manifests. */
void
test_manifest_duplicate_member (void)
{
  SkManifest m = { .package_id = (char *)"8e4a4a3c-5d0c-4c1e-9d7e-3f1b2a6c9d10",
                   .workflow = (char *)"subscriber",
                   .created_at = (char *)"2026-11-24T06:30:00Z",
                   .created_by = (char *)"operator",
                   .origin = (char *)"0123456789ABCDEF0123456789ABCDEF01234567",
                   .recipient = (char *)"89ABCDEF0123456789ABCDEF0123456789ABCDEF",
                   .case_id = (char *)"C0000000000000000001",
                   .policy =
                       (char *)"0000000000000000000000000000000000000000000000000000000000000000" };
  SkManifestFile f = {
    .name = (char *)"039004_KNY01_20261124153000_001.DAT",
    .kind = (char *)"KNY01",
    .size = 2000,
    .sha256 = (char *)"0000000000000000000000000000000000000000000000000000000000000000",
    .records = 1
  };
  m.files = g_ptr_array_new ();
  g_ptr_array_add (m.files, &f);
  g_autoptr (GBytes) good = sk_manifest_to_json (&m);
  g_ptr_array_unref (m.files);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkManifest) parsed = sk_manifest_parse (good, &error);
  g_assert_no_error (error);
  g_assert_nonnull (parsed);

  const char *dups[] = { "{ \"case_id\" : \"C0000000000000000002\",",
                         "{ \"case\\u005fid\" : \"C0000000000000000002\"," };
  for (gsize i = 0; i < G_N_ELEMENTS (dups); i++)
    {
      g_autoptr (GString) s =
          g_string_new_len (g_bytes_get_data (good, NULL), (gssize)g_bytes_get_size (good));
      g_assert_cmpuint (g_string_replace (s, "{", dups[i], 1), ==, 1);
      g_autoptr (GBytes) bad = g_bytes_new (s->str, s->len);
      g_autoptr (SkManifest) refused = sk_manifest_parse (bad, &error);
      g_assert_error (error, SK_ERROR, SK_ERROR_MANIFEST_INVALID);
      g_assert_null (refused);
      g_clear_error (&error);
    }
}

/* Each fault of the table in turn, on one pair of stations. */
void
test_manifest_cases (Fixture *fx, gconstpointer data)
{
  g_autofree char *file = small_kny01 (fx, 1);

  for (gsize i = 0; i < G_N_ELEMENTS (manifest_cases); i++)
    manifest_case (fx, file, &manifest_cases[i]);
}

/* A valid file in the tar that the manifest does not list. */
void
test_manifest_unlisted (Fixture *fx, gconstpointer data)
{
  g_autofree char *a = small_kny01 (fx, 1);
  g_autofree char *b = small_kny01 (fx, 2);
  const char *listed[] = { a, NULL };
  const char *all[] = { a, b, NULL };
  g_autoptr (Manifest) m = manifest_for (fx, NULL, "subscriber", listed);
  g_autoptr (GArray) members = members_for (m, NULL, all);
  g_autofree char *pkg = seal_members (fx, members);

  assert_refused (fx, NULL, pkg, SK_ERROR_TAR_PATH);
}

/* A listed file that the tar does not hold. */
void
test_manifest_missing_file (Fixture *fx, gconstpointer data)
{
  g_autofree char *a = small_kny01 (fx, 1);
  g_autofree char *b = small_kny01 (fx, 2);
  const char *listed[] = { a, b, NULL };
  const char *present[] = { a, NULL };
  g_autoptr (Manifest) m = manifest_for (fx, NULL, "subscriber", listed);
  g_autoptr (GArray) members = members_for (m, NULL, present);
  g_autofree char *pkg = seal_members (fx, members);

  assert_refused (fx, NULL, pkg, SK_ERROR_MANIFEST_MISMATCH);
}

void
test_manifest_replay (Fixture *fx, gconstpointer data)
{
  g_autofree char *file = small_kny01 (fx, 1);
  const char *files[] = { file, NULL };
  g_autofree char *pkg = pack (fx, "subscriber", files);
  g_autoptr (GError) error = NULL;

  /* Unpacked once, and journaled as cmd_receive does. */
  g_autoptr (SkPackageResult) first = check (fx, NULL, pkg, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (first);
  assert_extracted (fx, files);
  g_autoptr (SkJournal) journal = sk_station_open_journal (fx->term, FALSE, &error);
  g_assert_no_error (error);
  SkJournalEntry entry = {
    .event = "package-unpacked",
    .outcome = "ok",
    .uid = -1,
    .case_id = first->manifest->case_id,
    .package_id = first->manifest->package_id,
  };
  g_assert_cmpint (sk_journal_record (journal, &entry, &error), >, 0);
  g_assert_no_error (error);

  /* The second time, into an empty directory: refused, nothing written. */
  g_free (fx->extract);
  fx->extract = make_subdir (fx->tmp, "extract2");
  assert_refused (fx, NULL, pkg, SK_ERROR_PACKAGE_REPLAYED);
}

/* ---- 6. file validation inside a valid package -------------------------- */

void
test_file_trailer_count (Fixture *fx, gconstpointer data)
{
  g_autofree char *file = synth (fx, "KNY01", 1, 20);
  const char *files[] = { file, NULL };

  break_trailer_count (fx, file, 20);
  g_autoptr (Manifest) m = manifest_for (fx, NULL, "subscriber", files);
  g_assert_cmpint (manifest_file (m, 0)->records, ==, 20);
  g_autoptr (GArray) members = members_for (m, NULL, files);
  g_autofree char *pkg = seal_members (fx, members);

  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) reports = NULL;
  g_autoptr (SkPackageResult) result = check (fx, NULL, pkg, &reports, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_TRAILER_COUNT);
  g_assert_null (result);
  assert_dir_empty (fx->extract);
  g_assert_nonnull (reports);
  g_assert_cmpuint (reports->len, ==, 1);
  const SkFileReport *r = g_ptr_array_index (reports, 0);
  g_autofree char *base = g_path_get_basename (file);
  g_autofree char *described = sk_test_report_describe (r);
  g_test_message ("findings: %s", described);
  g_assert_cmpstr (r->file, ==, base);
  g_assert_false (sk_file_report_ok (r));
  g_assert_true (sk_test_report_has (r, SK_ERROR_TRAILER_COUNT, 22, "データ件数"));
}
