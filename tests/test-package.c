/* test-package.c — the package on the medium (DESIGN.md §4, reason codes §8a)
 *
 * Two stations made with the core API: the integration terminal and the
 * 標準システム side, with real keys made once per process by gpg, and the
 * default policy with its key section filled, signed by the admin and
 * installed on both.  Packages are packed on the standard side and checked
 * on the terminal.  Every hostile package is built here — the tar with
 * libarchive, encrypted and signed by the standard station's keyring or by
 * the stock gpg CLI — and must be refused with its exact reason code,
 * leaving nothing in the extract directory.
 */
#include "config.h"

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

#define CASE_ID "C0000000000000000001"
#define SMALL_CAP "100000"

/* ---- small file helpers ------------------------------------------------- */

static void
write_bytes (const char *path, GBytes *bytes)
{
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, g_bytes_get_data (bytes, NULL), (gssize)g_bytes_get_size (bytes),
                       &error);
  g_assert_no_error (error);
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

/* A writable copy of BYTES, and its length. */
static gpointer
bytes_dup (GBytes *bytes, gsize *len)
{
  gconstpointer data = g_bytes_get_data (bytes, len);
  return g_memdup2 (data, *len);
}

static char *
sha256_of (GBytes *bytes)
{
  return g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *)a, *(const char *const *)b);
}

/* The names in DIR, hidden ones included, sorted. */
static GPtrArray *
dir_list (const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  for (const char *n = g_dir_read_name (d); n != NULL; n = g_dir_read_name (d))
    g_ptr_array_add (names, g_strdup (n));
  g_ptr_array_sort (names, compare_names);
  return names;
}

static void
assert_dir_empty (const char *dir)
{
  g_autoptr (GPtrArray) names = dir_list (dir);
  for (guint i = 0; i < names->len; i++)
    g_test_message ("left behind in %s: %s", dir, (char *)g_ptr_array_index (names, i));
  g_assert_cmpuint (names->len, ==, 0);
}

/* ---- stations and policies ---------------------------------------------- */

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

/* Writes TEXT and its signature by the admin; returns the path. */
static char *
write_policy (Fixture *fx, const char *text)
{
  g_autofree char *name = g_strdup_printf ("policy-%u.json", fx->n_policies++);
  return sk_test_write_policy (fx->tmp, name, text);
}

/* Installs a policy made by policy_text() on the terminal (and, with BOTH,
 * on the standard station too); returns the terminal's. */
static SkPolicy *
install_other_policy (Fixture *fx, const char *extra_signer, const char *max_size, gboolean both)
{
  g_autofree char *text = sk_test_policy_text (extra_signer, max_size);
  g_autofree char *path = write_policy (fx, text);
  if (both)
    {
      g_clear_object (&fx->std_policy);
      fx->std_policy = sk_test_install (fx->std, path);
    }
  return sk_test_install (fx->term, path);
}

static char *
make_subdir (const char *parent, const char *name)
{
  char *dir = g_build_filename (parent, name, NULL);
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  return dir;
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  sk_test_keys_make ();
  fx->tmp = g_dir_make_tmp ("skpk-XXXXXX", &error);
  g_assert_no_error (error);
  fx->work = make_subdir (fx->tmp, "work");
  fx->out = make_subdir (fx->tmp, "out");
  fx->extract = make_subdir (fx->tmp, "extract");

  sk_test_stations_make (fx->tmp, &fx->stations);
  fx->term = fx->stations.term;
  fx->std = fx->stations.std;
  fx->term_policy = g_object_ref (fx->stations.term_policy);
  fx->std_policy = g_object_ref (fx->stations.std_policy);
  g_autofree char *sha =
      g_compute_checksum_for_string (G_CHECKSUM_SHA256, fx->stations.policy_text, -1);
  g_assert_cmpstr (sk_policy_get_sha256 (fx->term_policy), ==, sha);
  g_assert_cmpstr (sk_policy_get_sha256 (fx->std_policy), ==, sha);
  fx->layouts = sk_test_default_policy ();
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_clear_object (&fx->term_policy);
  g_clear_object (&fx->std_policy);
  g_clear_object (&fx->layouts);
  sk_test_stations_clear (&fx->stations);
  sk_test_remove_tree (fx->tmp);
  g_assert_false (g_file_test (fx->tmp, G_FILE_TEST_EXISTS));
  g_free (fx->tmp);
  g_free (fx->work);
  g_free (fx->out);
  g_free (fx->extract);
}

/* ---- synthetic files ---------------------------------------------------- */

static char *
synth (Fixture *fx, const char *kind_id, guint seq, guint64 records)
{
  g_autoptr (GError) error = NULL;
  const SkKind *kind = sk_policy_lookup_kind (fx->layouts, kind_id);
  SkSynthOptions opts;

  g_assert_nonnull (kind);
  sk_synth_options_init (&opts);
  opts.seed = 1000 + seq;
  opts.records = records;
  opts.seq = seq;
  opts.case_id = CASE_ID;
  char *path = sk_synth_write_file (fx->layouts, kind, &opts, fx->work, &error);
  g_assert_no_error (error);
  g_assert_nonnull (path);
  return path;
}

/* The byte offset of FIELD in the 1-based RECORD (of layout TYPE) of a P1
 * file of KIND_ID. */
static gsize
p1_offset (Fixture *fx, const char *kind_id, SkRecordType type, guint64 record, const char *field)
{
  const SkKind *kind = sk_policy_lookup_kind (fx->layouts, kind_id);
  g_assert_nonnull (kind);
  const SkField *f = _sk_record_layout_find (kind->records[type], field);
  g_assert_nonnull (f);
  return kind->record_length * (record - 1) + f->offset;
}

/* One digit of the first data record's 個人番号 changed: its check digit. */
static void
break_check_digit (Fixture *fx, const char *path)
{
  g_autoptr (GBytes) bytes = read_bytes (path);
  gsize len;
  char *copy = bytes_dup (bytes, &len);
  gsize at = p1_offset (fx, "KNY01", SK_RECORD_DATA, 2, "個人番号") + 11;
  g_assert_true (g_ascii_isdigit (copy[at]));
  copy[at] = (char)('0' + (copy[at] - '0' + 1) % 10);
  g_autoptr (GBytes) changed = g_bytes_new_take (copy, len);
  write_bytes (path, changed);
}

/* The trailer's データ件数 of a KNY01 of RECORDS data records, plus one. */
static void
break_trailer_count (Fixture *fx, const char *path, guint64 records)
{
  g_autoptr (GBytes) bytes = read_bytes (path);
  gsize len;
  char *copy = bytes_dup (bytes, &len);
  gsize at = p1_offset (fx, "KNY01", SK_RECORD_TRAILER, records + 2, "データ件数");
  g_autofree char *was = g_strndup (copy + at, 7);
  g_assert_cmpuint (g_ascii_strtoull (was, NULL, 10), ==, records);
  g_autofree char *now = g_strdup_printf ("%07" G_GUINT64_FORMAT, records + 1);
  memcpy (copy + at, now, 7);
  g_autoptr (GBytes) changed = g_bytes_new_take (copy, len);
  write_bytes (path, changed);
}

/* ---- packing and checking ----------------------------------------------- */

static SkPackageResult *
check (Fixture *fx, SkPolicy *policy, const char *pkg, GPtrArray **reports, GError **error)
{
  return sk_package_check (fx->term, policy != NULL ? policy : fx->term_policy, pkg, fx->extract,
                           reports, NULL, NULL, error);
}

/* Refused with CODE, and nothing left in the extract directory. */
static void
assert_refused (Fixture *fx, SkPolicy *policy, const char *pkg, SkErrorCode code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) reports = NULL;
  g_autoptr (SkPackageResult) result = check (fx, policy, pkg, &reports, &error);

  if (error != NULL && (error->domain != SK_ERROR || error->code != (int)code))
    g_test_message ("expected %s, got %s: %s", sk_error_code_to_reason (code),
                    error->domain == SK_ERROR ? sk_error_code_to_reason (error->code) : "(other)",
                    error->message);
  else if (error != NULL)
    g_test_message ("refused as expected: %s", error->message);
  g_assert_error (error, SK_ERROR, (int)code);
  g_assert_null (result);
  assert_dir_empty (fx->extract);
}

static void
assert_pack_refused (Fixture *fx,
                     const char *workflow,
                     const char *case_id,
                     const char *const *files,
                     SkErrorCode code)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *pkg =
      sk_package_pack (fx->std, fx->std_policy, sk_actor_for_process (SK_ROLE_OPERATOR), workflow,
                       case_id, files, fx->out, NULL, NULL, &error);
  if (error != NULL)
    g_test_message ("pack: %s", error->message);
  g_assert_error (error, SK_ERROR, (int)code);
  g_assert_null (pkg);
  assert_dir_empty (fx->out);
}

static char *
pack (Fixture *fx, const char *workflow, const char *const *files)
{
  g_autoptr (GError) error = NULL;
  char *pkg = sk_package_pack (fx->std, fx->std_policy, sk_actor_for_process (SK_ROLE_OPERATOR),
                               workflow, CASE_ID, files, fx->out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (pkg);
  return pkg;
}

/* The path of a new package in the work directory. */
static char *
new_package_path (Fixture *fx)
{
  g_autofree char *id = g_uuid_string_random ();
  g_autofree char *name = g_strconcat (id, ".tar.gpg", NULL);
  return g_build_filename (fx->work, name, NULL);
}

/* PKG.sig: a binary detached signature by the standard station's key. */
static void
sign_package (Fixture *fx, const char *pkg)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) data = read_bytes (pkg);
  g_autoptr (GBytes) sig = sk_keyring_sign_detached_bytes (sk_station_get_keyring (fx->std),
                                                           sk_test_keys.standard, data, &error);
  g_assert_no_error (error);
  g_assert_nonnull (sig);
  g_autofree char *sig_path = g_strconcat (pkg, ".sig", NULL);
  write_bytes (sig_path, sig);
}

/* A hostile package: PLAIN (a tar, or anything) encrypted by the standard
 * station's keyring to the terminal, then signed by the standard key. */
static char *
seal (Fixture *fx, GBytes *plain)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *plain_path = g_build_filename (fx->work, "plain.tar", NULL);
  char *pkg = new_package_path (fx);

  write_bytes (plain_path, plain);
  int in = open (plain_path, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (in, >=, 0);
  int out = open (pkg, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  g_assert_cmpint (out, >=, 0);
  gboolean ok = sk_keyring_encrypt_fd (sk_station_get_keyring (fx->std), sk_test_keys.terminal, in,
                                       out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  close (in);
  g_assert_cmpint (g_unlink (plain_path), ==, 0);
  g_assert_cmpint (lseek (out, 0, SEEK_SET), ==, 0);
  g_autoptr (GBytes) sig = sk_keyring_sign_detached_fd (sk_station_get_keyring (fx->std),
                                                        sk_test_keys.standard, out, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (sig);
  close (out);
  g_autofree char *sig_path = g_strconcat (pkg, ".sig", NULL);
  write_bytes (sig_path, sig);
  return pkg;
}

/* ---- tars, built with libarchive --------------------------------------- */

typedef struct
{
  char *name;
  GBytes *data;     /* NULL: none */
  guint type;       /* AE_IFREG, AE_IFLNK, AE_IFDIR, AE_IFCHR, AE_IFIFO */
  char *link;       /* symlink target, or (with AE_IFREG) a hardlink's source */
  guint64 declared; /* the header's size; 0: the data's */
} Member;

static void
member_clear (gpointer p)
{
  Member *m = p;
  g_free (m->name);
  g_clear_pointer (&m->data, g_bytes_unref);
  g_free (m->link);
}

static GArray *
members_new (void)
{
  GArray *a = g_array_new (FALSE, TRUE, sizeof (Member));
  g_array_set_clear_func (a, member_clear);
  return a;
}

static void
add_member (GArray *members, const char *name, GBytes *data)
{
  Member m = { .name = g_strdup (name), .type = AE_IFREG };
  m.data = data != NULL ? g_bytes_ref (data) : NULL;
  g_array_append_val (members, m);
}

static void
add_special (GArray *members, const char *name, guint type, const char *link)
{
  Member m = { .name = g_strdup (name), .type = type, .link = g_strdup (link) };
  g_array_append_val (members, m);
}

static void
add_file (GArray *members, const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *name = g_strconcat ("files/", base, NULL);
  g_autoptr (GBytes) data = read_bytes (path);
  add_member (members, name, data);
}

static la_ssize_t
tar_sink (struct archive *a, void *user, const void *buffer, size_t length)
{
  g_byte_array_append (user, buffer, (guint)length);
  return (la_ssize_t)length;
}

static GBytes *
tar_build (GArray *members)
{
  GByteArray *out = g_byte_array_new ();
  struct archive *a = archive_write_new ();

  g_assert_nonnull (a);
  g_assert_cmpint (archive_write_set_format_pax_restricted (a), ==, ARCHIVE_OK);
  g_assert_cmpint (archive_write_set_bytes_per_block (a, 10240), ==, ARCHIVE_OK);
  g_assert_cmpint (archive_write_open2 (a, out, NULL, tar_sink, NULL, NULL), ==, ARCHIVE_OK);
  for (guint i = 0; i < members->len; i++)
    {
      const Member *m = &g_array_index (members, Member, i);
      struct archive_entry *e = archive_entry_new ();
      gsize len = m->data != NULL ? g_bytes_get_size (m->data) : 0;

      archive_entry_set_pathname_utf8 (e, m->name);
      archive_entry_set_filetype (e, m->type);
      archive_entry_set_perm (e, m->type == AE_IFDIR ? 0755 : 0644);
      archive_entry_set_mtime (e, 1795556700, 0);
      archive_entry_set_uid (e, 0);
      archive_entry_set_gid (e, 0);
      if (m->type == AE_IFLNK)
        archive_entry_set_symlink (e, m->link);
      else if (m->link != NULL)
        archive_entry_set_hardlink (e, m->link);
      if (m->type == AE_IFCHR)
        {
          archive_entry_set_rdevmajor (e, 1);
          archive_entry_set_rdevminor (e, 3);
        }
      if (m->type == AE_IFREG && m->link == NULL)
        archive_entry_set_size (e, (la_int64_t)(m->declared != 0 ? m->declared : len));
      g_assert_cmpint (archive_write_header (a, e), ==, ARCHIVE_OK);
      if (len > 0)
        g_assert_cmpint (archive_write_data (a, g_bytes_get_data (m->data, NULL), len), ==,
                         (la_ssize_t)len);
      archive_entry_free (e);
    }
  g_assert_cmpint (archive_write_close (a), ==, ARCHIVE_OK);
  archive_write_free (a);
  return g_byte_array_free_to_bytes (out);
}

/* ---- manifests ---------------------------------------------------------- */

/* The manifest a correct package of PATHS would carry, under POLICY (the
 * terminal's when NULL). */
static SkManifest *
manifest_for (Fixture *fx, SkPolicy *policy, const char *workflow, const char *const *paths)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) reports = sk_validate_paths (fx->layouts, paths, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reports);

  SkManifest *m = g_new0 (SkManifest, 1);
  m->files = g_ptr_array_new ();
  m->package_id = g_uuid_string_random ();
  m->workflow = g_strdup (workflow);
  m->direction = SK_DIRECTION_TO_INTERMEDIATE;
  m->created_at = g_strdup ("2026-11-24T06:30:00Z");
  m->created_by = g_strdup ("operator");
  m->origin = g_strdup (sk_test_keys.standard);
  m->recipient = g_strdup (sk_test_keys.terminal);
  m->case_id = g_strdup (CASE_ID);
  m->policy = g_strdup (sk_policy_get_sha256 (policy != NULL ? policy : fx->term_policy));
  for (guint i = 0; paths[i] != NULL; i++)
    {
      const SkFileReport *r = g_ptr_array_index (reports, i);
      g_autoptr (GBytes) data = read_bytes (paths[i]);
      SkManifestFile *f = g_new0 (SkManifestFile, 1);
      g_assert_nonnull (r->kind);
      f->name = g_path_get_basename (paths[i]);
      f->kind = g_strdup (sk_kind_get_id (r->kind));
      f->size = g_bytes_get_size (data);
      f->sha256 = sha256_of (data);
      f->records = (gint64)r->records;
      g_ptr_array_add (m->files, f);
    }
  return m;
}

typedef SkManifest Manifest;

/* sk_manifest_free() frees the list; its entries were made here. */
static void
manifest_free (Manifest *m)
{
  for (guint i = 0; i < m->files->len; i++)
    {
      SkManifestFile *f = g_ptr_array_index (m->files, i);
      g_free (f->name);
      g_free (f->kind);
      g_free (f->sha256);
      g_free (f);
    }
  g_ptr_array_set_size (m->files, 0);
  sk_manifest_free (m);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Manifest, manifest_free)

static SkManifestFile *
manifest_file (SkManifest *m, guint i)
{
  return g_ptr_array_index (m->files, i);
}

/* The manifest's JSON without MEMBER. */
static GBytes *
json_without (GBytes *json, const char *member)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  json_parser_load_from_data (parser, g_bytes_get_data (json, NULL),
                              (gssize)g_bytes_get_size (json), &error);
  g_assert_no_error (error);
  JsonObject *obj = json_node_get_object (json_parser_get_root (parser));
  g_assert_true (json_object_has_member (obj, member));
  json_object_remove_member (obj, member);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, json_parser_get_root (parser));
  gsize len;
  char *text = json_generator_to_data (gen, &len);
  return g_bytes_new_take (text, len);
}

/* MANIFEST.json (the manifest M, or the bytes JSON when given) first, then
 * files/NAME for each of PATHS. */
static GArray *
members_for (SkManifest *m, GBytes *json, const char *const *paths)
{
  GArray *members = members_new ();
  g_autoptr (GBytes) text = json != NULL ? g_bytes_ref (json) : sk_manifest_to_json (m);
  add_member (members, "MANIFEST.json", text);
  for (guint i = 0; paths[i] != NULL; i++)
    add_file (members, paths[i]);
  return members;
}

static char *
seal_members (Fixture *fx, GArray *members)
{
  g_autoptr (GBytes) tar = tar_build (members);
  return seal (fx, tar);
}

/* One valid KNY01 of 5 records. */
static char *
small_kny01 (Fixture *fx, guint seq)
{
  return synth (fx, "KNY01", seq, 5);
}

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

static void
assert_extracted (Fixture *fx, const char *const *paths)
{
  g_autoptr (GPtrArray) names = dir_list (fx->extract);
  g_assert_cmpuint (names->len, ==, g_strv_length ((GStrv)paths));
  for (guint i = 0; paths[i] != NULL; i++)
    {
      g_autofree char *base = g_path_get_basename (paths[i]);
      g_autofree char *copy = g_build_filename (fx->extract, base, NULL);
      g_autoptr (GBytes) want = read_bytes (paths[i]);
      g_autoptr (GBytes) got = read_bytes (copy);
      g_assert_true (g_bytes_equal (want, got));
    }
}

static void
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
static void
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
static void
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

static void
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

static void
test_pack_refuses_defect (Fixture *fx, gconstpointer data)
{
  g_autofree char *file = small_kny01 (fx, 1);
  const char *files[] = { file, NULL };

  break_check_digit (fx, file);
  assert_pack_refused (fx, "subscriber", CASE_ID, files, SK_ERROR_CHECK_DIGIT);
}

static void
test_pack_refuses_mixed (Fixture *fx, gconstpointer data)
{
  g_autofree char *a = small_kny01 (fx, 1);
  g_autofree char *b = synth (fx, "FKH01", 2, 5);
  const char *files[] = { a, b, NULL };

  assert_pack_refused (fx, "subscriber", CASE_ID, files, SK_ERROR_MANIFEST_WRONG_STATION);
}

static void
test_pack_refuses_wrong_case (Fixture *fx, gconstpointer data)
{
  g_autofree char *file = small_kny01 (fx, 1);
  const char *files[] = { file, NULL };

  assert_pack_refused (fx, "subscriber", "C0000000000000000002", files, SK_ERROR_MANIFEST_MISMATCH);
}

/* ---- 2. signature ------------------------------------------------------- */

/* A good package, packed on the standard station. */
static char *
good_package (Fixture *fx)
{
  g_autofree char *file = small_kny01 (fx, 1);
  const char *files[] = { file, NULL };
  return pack (fx, "subscriber", files);
}

/* Replaces PKG.sig by `gpg ARGS --detach-sign` over DATA (PKG's bytes when
 * NULL). */
static void
resign (const char *pkg, GBytes *data, const char *const *args)
{
  g_autoptr (GBytes) bytes = data != NULL ? g_bytes_ref (data) : read_bytes (pkg);
  g_autoptr (GBytes) sig = sk_test_gpg_sign (sk_test_keys.gpg, bytes, args);
  g_autofree char *sig_path = g_strconcat (pkg, ".sig", NULL);
  write_bytes (sig_path, sig);
}

static void
test_sig_missing (Fixture *fx, gconstpointer data)
{
  g_autofree char *pkg = good_package (fx);
  g_autofree char *sig = g_strconcat (pkg, ".sig", NULL);

  g_assert_cmpint (g_unlink (sig), ==, 0);
  assert_refused (fx, NULL, pkg, SK_ERROR_SIG_MISSING);

  /* An empty signature file is no signature either. */
  g_assert_true (g_file_set_contents (sig, "", 0, NULL));
  assert_refused (fx, NULL, pkg, SK_ERROR_SIG_MISSING);
}

static void
test_sig_other_bytes (Fixture *fx, gconstpointer data)
{
  g_autofree char *pkg = good_package (fx);
  g_autoptr (GBytes) other = g_bytes_new_static ("other bytes", 11);
  const char *args[] = { "-u", sk_test_keys.standard, NULL };

  resign (pkg, other, args);
  assert_refused (fx, NULL, pkg, SK_ERROR_SIG_BAD);
}

static void
test_sig_flipped (Fixture *fx, gconstpointer data)
{
  g_autofree char *pkg = good_package (fx);
  g_autoptr (GBytes) bytes = read_bytes (pkg);
  gsize len;
  guint8 *copy = bytes_dup (bytes, &len);

  copy[len / 2] ^= 0x01;
  g_autoptr (GBytes) flipped = g_bytes_new_take (copy, len);
  write_bytes (pkg, flipped);
  assert_refused (fx, NULL, pkg, SK_ERROR_SIG_BAD);
}

static void
test_sig_multiple (Fixture *fx, gconstpointer data)
{
  g_autofree char *pkg = good_package (fx);
  const char *args[] = { "-u", sk_test_keys.standard, "-u", sk_test_keys.mallory, NULL };

  sk_test_import (fx->term, sk_test_keys.terminal, (GBytes *[]){ sk_test_keys.mallory_pub, NULL });
  resign (pkg, NULL, args);
  assert_refused (fx, NULL, pkg, SK_ERROR_SIG_MULTIPLE);
}

static void
test_sig_armored (Fixture *fx, gconstpointer data)
{
  g_autofree char *pkg = good_package (fx);
  const char *args[] = { "-u", sk_test_keys.standard, "--armor", NULL };

  resign (pkg, NULL, args);
  assert_refused (fx, NULL, pkg, SK_ERROR_SIG_ARMORED);
}

/* Mallory's key is in the terminal's keyring; the policy does not list it. */
static void
test_sig_untrusted (Fixture *fx, gconstpointer data)
{
  g_autofree char *pkg = good_package (fx);
  const char *args[] = { "-u", sk_test_keys.mallory, NULL };

  sk_test_import (fx->term, sk_test_keys.terminal, (GBytes *[]){ sk_test_keys.mallory_pub, NULL });
  resign (pkg, NULL, args);
  assert_refused (fx, NULL, pkg, SK_ERROR_SIG_UNTRUSTED_KEY);

  /* Nor does it list the terminal's own key for this direction. */
  const char *own[] = { "-u", sk_test_keys.terminal, NULL };
  resign (pkg, NULL, own);
  assert_refused (fx, NULL, pkg, SK_ERROR_SIG_UNTRUSTED_KEY);
}

/* gpg makes an Ed25519 signature over SHA-1 when told to. */
static void
test_sig_weak_hash (Fixture *fx, gconstpointer data)
{
  g_autofree char *pkg = good_package (fx);
  const char *args[] = { "-u", sk_test_keys.standard, "--digest-algo", "SHA1", NULL };

  resign (pkg, NULL, args);
  assert_refused (fx, NULL, pkg, SK_ERROR_SIG_WEAK_HASH);
}

/* RSA 2048, listed as a signer by a second policy: still too weak. */
static void
test_sig_weak_key (Fixture *fx, gconstpointer data)
{
  g_autofree char *pkg = good_package (fx);
  const char *args[] = { "-u", sk_test_keys.weak, NULL };

  sk_test_import (fx->term, sk_test_keys.terminal, (GBytes *[]){ sk_test_keys.weak_pub, NULL });
  g_autoptr (SkPolicy) policy = install_other_policy (fx, sk_test_keys.weak, NULL, FALSE);
  resign (pkg, NULL, args);
  assert_refused (fx, policy, pkg, SK_ERROR_SIG_WEAK_KEY);
}

/* ---- 3. decryption ------------------------------------------------------ */

/* A tar of a valid package (MANIFEST.json + one KNY01 of RECORDS records). */
static GBytes *
valid_tar (Fixture *fx, guint64 records)
{
  g_autofree char *file = synth (fx, "KNY01", 1, records);
  const char *files[] = { file, NULL };
  g_autoptr (Manifest) m = manifest_for (fx, NULL, "subscriber", files);
  g_autoptr (GArray) members = members_for (m, NULL, files);
  return tar_build (members);
}

/* CIPHER written as a package and signed by the standard key. */
static char *
package_from_cipher (Fixture *fx, GBytes *cipher)
{
  char *pkg = new_package_path (fx);
  write_bytes (pkg, cipher);
  sign_package (fx, pkg);
  return pkg;
}

/* The stock gpg CLI: `gpg ARGS… --encrypt` over PLAIN (ARGS NULL-terminated),
 * as a package signed by the standard key. */
static char *
stock_encrypt (Fixture *fx, GBytes *plain, const char *first, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  g_ptr_array_add (args, (gpointer) "--output");
  g_ptr_array_add (args, (gpointer) "-");
  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer)a);
  va_end (ap);
  g_ptr_array_add (args, (gpointer) "--encrypt");
  g_autoptr (GBytes) cipher = sk_test_keys_gpgv (plain, args);
  g_assert_cmpuint (g_bytes_get_size (cipher), >, 0);
  return package_from_cipher (fx, cipher);
}

/* The stock CLI's plain encryption is what a package is: accepted. */
static void
test_decrypt_stock_plain (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) tar = valid_tar (fx, 5);
  g_autofree char *pkg =
      stock_encrypt (fx, tar, "--compress-algo", "none", "-r", sk_test_keys.terminal, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPackageResult) result = check (fx, NULL, pkg, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_cmpuint (result->manifest->files->len, ==, 1);
}

static void
test_decrypt_wrong_recipient (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) tar = valid_tar (fx, 5);
  g_autofree char *pkg =
      stock_encrypt (fx, tar, "--compress-algo", "none", "-r", sk_test_keys.mallory, NULL);

  assert_refused (fx, NULL, pkg, SK_ERROR_DECRYPT_WRONG_RECIPIENT);
}

static void
test_decrypt_signed_inside (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) tar = valid_tar (fx, 5);
  g_autofree char *pkg = stock_encrypt (fx, tar, "-u", sk_test_keys.standard, "--sign", "-r",
                                        sk_test_keys.terminal, NULL);

  assert_refused (fx, NULL, pkg, SK_ERROR_DECRYPT_NOT_PLAIN);
}

/* Signed inside without compression: the tar streams through whole before
 * GnuPG reports the signature. */
static void
test_decrypt_signed_inside_plain (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) tar = valid_tar (fx, 5);
  g_autofree char *pkg =
      stock_encrypt (fx, tar, "--compress-algo", "none", "-u", sk_test_keys.standard, "--sign",
                     "-r", sk_test_keys.terminal, NULL);

  assert_refused (fx, NULL, pkg, SK_ERROR_DECRYPT_NOT_PLAIN);
}

static void
test_decrypt_compressed (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) tar = valid_tar (fx, 200);
  g_autofree char *pkg = stock_encrypt (fx, tar, "--compress-algo", "zlib", "--compress-level", "9",
                                        "-r", sk_test_keys.terminal, NULL);

  assert_refused (fx, NULL, pkg, SK_ERROR_DECRYPT_NOT_PLAIN);
}

/* Compressed inside, behind OpenPGP marker packets (tag 10, which every
 * implementation must ignore) that make the message longer than its
 * plaintext: still compressed, still refused. */
static void
test_decrypt_compressed_padded (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) tar = valid_tar (fx, 5);
  g_autoptr (GBytes) compressed =
      sk_test_keys_gpg (tar, "--compress-algo", "zlib", "--compress-level", "9", "-r",
                        sk_test_keys.terminal, "--output", "-", "--encrypt", NULL);
  g_autoptr (GByteArray) padded = g_byte_array_new ();
  static const guint8 marker[] = { 0xA8, 0x03, 'P', 'G', 'P' };

  for (gsize i = 0; i < g_bytes_get_size (tar) / sizeof marker + 1; i++)
    g_byte_array_append (padded, marker, sizeof marker);
  g_byte_array_append (padded, g_bytes_get_data (compressed, NULL),
                       (guint)g_bytes_get_size (compressed));
  g_assert_cmpuint (padded->len, >, g_bytes_get_size (tar));
  g_autoptr (GBytes) cipher = g_bytes_new (padded->data, padded->len);

  /* Stock gpg reads it. */
  g_autofree char *pkg = package_from_cipher (fx, cipher);
  g_autoptr (GBytes) plain = sk_test_keys_gpg (NULL, "--output", "-", "--decrypt", pkg, NULL);
  g_assert_true (g_bytes_equal (plain, tar));

  assert_refused (fx, NULL, pkg, SK_ERROR_DECRYPT_NOT_PLAIN);
}

static void
test_decrypt_random (Fixture *fx, gconstpointer data)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (20261124);
  g_autofree guint8 *noise = g_malloc (4096);
  for (gsize i = 0; i < 4096; i++)
    noise[i] = (guint8)g_rand_int_range (rand, 0, 256);
  /* Not an OpenPGP packet header: bit 7 clear. */
  noise[0] &= 0x7F;
  g_autoptr (GBytes) cipher = g_bytes_new (noise, 4096);
  g_autofree char *pkg = package_from_cipher (fx, cipher);

  assert_refused (fx, NULL, pkg, SK_ERROR_DECRYPT_FAILED);
}

static void
test_decrypt_truncated (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) tar = valid_tar (fx, 50);
  g_autofree char *whole = seal (fx, tar);
  g_autoptr (GBytes) bytes = read_bytes (whole);
  g_autoptr (GBytes) cut = g_bytes_new_from_bytes (bytes, 0, g_bytes_get_size (bytes) / 2);
  g_autofree char *pkg = package_from_cipher (fx, cut);

  assert_refused (fx, NULL, pkg, SK_ERROR_DECRYPT_FAILED);

  /* Cut by only its last byte: the whole tar has streamed by, and was even
   * written out, before GnuPG finds the message incomplete. */
  g_autoptr (GBytes) cut1 = g_bytes_new_from_bytes (bytes, 0, g_bytes_get_size (bytes) - 1);
  g_autofree char *pkg1 = package_from_cipher (fx, cut1);
  assert_refused (fx, NULL, pkg1, SK_ERROR_DECRYPT_FAILED);
}

/* The last byte of the message (in its integrity check) altered before the
 * standard key signed it: every byte of the tar is intact, the message is
 * not. */
static void
test_decrypt_integrity (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) tar = valid_tar (fx, 50);
  g_autofree char *whole = seal (fx, tar);
  g_autoptr (GBytes) bytes = read_bytes (whole);
  gsize len;
  guint8 *copy = bytes_dup (bytes, &len);
  copy[len - 1] ^= 0x01;
  g_autoptr (GBytes) altered = g_bytes_new_take (copy, len);
  g_autofree char *pkg = package_from_cipher (fx, altered);

  assert_refused (fx, NULL, pkg, SK_ERROR_DECRYPT_FAILED);
}

/* ---- read once ------------------------------------------------------ */

/* Between the signature and decryption, the medium answers differently:
 * every byte of the file is overwritten in place (the same inode, so that
 * even a descriptor kept open would see it). */
static void
spoil_package (const char *name, gpointer user_data)
{
  const char *pkg = user_data;
  if (!g_str_equal (name, "check-after-verify"))
    return;
  int fd = open (pkg, O_WRONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  struct stat st;
  g_assert_cmpint (fstat (fd, &st), ==, 0);
  g_autofree guint8 *zeros = g_malloc0 ((gsize)st.st_size);
  g_assert_cmpint (write (fd, zeros, (gsize)st.st_size), ==, st.st_size);
  close (fd);
}

/* check reads the package once: what it decrypts is what it verified,
 * whatever the medium says afterwards. */
static void
test_check_reads_once (Fixture *fx, gconstpointer data)
{
  if (!sk_fault_compiled_in ())
    {
      g_test_skip ("the hook needs a build with fault points");
      return;
    }
  g_autofree char *file = synth (fx, "KNY01", 1, 50);
  const char *files[] = { file, NULL };
  g_autofree char *pkg = pack (fx, "subscriber", files);
  g_autoptr (GError) error = NULL;

  sk_fault_set_hook (spoil_package, pkg);
  g_autoptr (SkPackageResult) result = check (fx, NULL, pkg, NULL, &error);
  sk_fault_set_hook (NULL, NULL);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  assert_extracted (fx, files);

  /* The file is spoiled indeed: read again, it is refused. */
  g_autoptr (GError) again = NULL;
  g_autoptr (SkPackageResult) refused = check (fx, NULL, pkg, NULL, &again);
  g_assert_error (again, SK_ERROR, SK_ERROR_SIG_BAD);
  g_assert_null (refused);
}

/* ---- what the encrypted data holds ----------------------------------- */

/* A new-format packet TAG with BODY (five-octet length). */
static void
append_packet (GByteArray *out, guint tag, const guint8 *body, gsize len)
{
  guint8 head[6] = { 0xC0 | tag,         0xFF,       (guint8)(len >> 24), (guint8)(len >> 16),
                     (guint8)(len >> 8), (guint8)len };
  g_byte_array_append (out, head, sizeof head);
  g_byte_array_append (out, body, (guint)len);
}

/* A literal data packet of FORMAT ('b', 't', …) holding DATA. */
static void
append_literal (GByteArray *out, char format, GBytes *data)
{
  g_autoptr (GByteArray) body = g_byte_array_new ();
  guint8 meta[6] = { (guint8)format, 0, 0, 0, 0, 0 };
  g_byte_array_append (body, meta, sizeof meta);
  g_byte_array_append (body, g_bytes_get_data (data, NULL), (guint)g_bytes_get_size (data));
  append_packet (out, 11, body->data, body->len);
}

/* A message to the terminal's key whose encrypted data holds INNER, packets
 * of our own making: the session-key packet of a message stock gpg made,
 * then an integrity-protected packet made here with that message's session
 * key (random prefix, INNER, the detection code; AES in OpenPGP's CFB). */
static GBytes *
encrypt_inner (GByteArray *inner)
{
  g_autoptr (GBytes) tiny = g_bytes_new_static ("x", 1);
  g_autoptr (GBytes) msg = sk_test_keys_gpg (tiny, "-r", sk_test_keys.terminal, "--cipher-algo",
                                             "AES256", "--output", "-", "--encrypt", NULL);
  g_autoptr (GBytes) status = sk_test_keys_gpg (msg, "--status-fd", "1", "--show-session-key",
                                                "--output", "/dev/null", "--decrypt", NULL);
  g_autofree char *text = g_strndup (g_bytes_get_data (status, NULL), g_bytes_get_size (status));
  const char *at = strstr (text, "SESSION_KEY 9:");
  g_assert_nonnull (at);
  guint8 key[32];
  for (guint i = 0; i < 32; i++)
    key[i] = (guint8)(g_ascii_xdigit_value (at[14 + 2 * i]) << 4 |
                      g_ascii_xdigit_value (at[15 + 2 * i]));

  /* The session-key packet, as gpg wrote it. */
  gsize len = 0, off = 0, body = 0;
  guint tag = 0;
  const guint8 *data = g_bytes_get_data (msg, &len);
  g_assert_true (sk_pgp_read_header (data, len, &off, &tag, &body));
  g_assert_cmpuint (tag, ==, 1);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_byte_array_append (out, data, (guint)(off + body));

  g_autoptr (GByteArray) plain = g_byte_array_new ();
  guint8 prefix[18];
  for (guint i = 0; i < 16; i++)
    prefix[i] = (guint8)g_random_int ();
  prefix[16] = prefix[14];
  prefix[17] = prefix[15];
  g_byte_array_append (plain, prefix, sizeof prefix);
  g_byte_array_append (plain, inner->data, inner->len);
  static const guint8 mdc_head[] = { 0xD3, 0x14 };
  g_byte_array_append (plain, mdc_head, 2);
  guint8 sha1[20];
  gcry_md_hash_buffer (GCRY_MD_SHA1, sha1, plain->data, plain->len);
  g_byte_array_append (plain, sha1, sizeof sha1);

  gcry_cipher_hd_t cipher;
  guint8 iv[16] = { 0 };
  g_assert_cmpint (gcry_cipher_open (&cipher, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_CFB, 0), ==, 0);
  g_assert_cmpint (gcry_cipher_setkey (cipher, key, sizeof key), ==, 0);
  g_assert_cmpint (gcry_cipher_setiv (cipher, iv, sizeof iv), ==, 0);
  g_assert_cmpint (gcry_cipher_encrypt (cipher, plain->data, plain->len, NULL, 0), ==, 0);
  gcry_cipher_close (cipher);

  g_autoptr (GByteArray) seipd = g_byte_array_new ();
  static const guint8 version[] = { 1 };
  g_byte_array_append (seipd, version, 1);
  g_byte_array_append (seipd, plain->data, plain->len);
  append_packet (out, 18, seipd->data, seipd->len);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* Only one binary literal data packet is taken from inside the encryption
 * (the gap of session 2: a trusted signer could pad inside it).  The first
 * case shows the message made here is one the station reads. */
static void
test_decrypt_inner (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) tar = valid_tar (fx, 5);
  static const guint8 marker[] = { 'P', 'G', 'P' };
  static const guint8 padding[32] = { 0 };
  g_autoptr (GBytes) extra = g_bytes_new_static ("x", 1);
  struct
  {
    const char *what;
    SkErrorCode code; /* 0: accepted */
  } cases[] = {
    { "one binary literal", 0 },
    { "two literals", SK_ERROR_DECRYPT_NOT_PLAIN },
    { "a text literal", SK_ERROR_DECRYPT_NOT_PLAIN },
    { "a literal, then padding", SK_ERROR_DECRYPT_NOT_PLAIN },
    { "a marker, then a literal", SK_ERROR_DECRYPT_NOT_PLAIN },
    { "no packet at all", SK_ERROR_DECRYPT_NOT_PLAIN },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GByteArray) inner = g_byte_array_new ();
      switch (i)
        {
        case 0:
          append_literal (inner, 'b', tar);
          break;
        case 1:
          append_literal (inner, 'b', tar);
          append_literal (inner, 'b', extra);
          break;
        case 2:
          append_literal (inner, 't', tar);
          break;
        case 3:
          append_literal (inner, 'b', tar);
          append_packet (inner, 21, padding, sizeof padding);
          break;
        case 4:
          append_packet (inner, 10, marker, sizeof marker);
          append_literal (inner, 'b', tar);
          break;
        default:
          break;
        }
      g_test_message ("inside: %s", cases[i].what);
      g_autoptr (GBytes) cipher = encrypt_inner (inner);
      g_autofree char *pkg = package_from_cipher (fx, cipher);
      if (cases[i].code == 0)
        {
          g_autoptr (GError) error = NULL;
          g_autoptr (SkPackageResult) result = check (fx, NULL, pkg, NULL, &error);
          g_assert_no_error (error);
          g_assert_nonnull (result);
          /* ... and stock gpg reads it too. */
          g_autoptr (GBytes) plain =
              sk_test_keys_gpg (NULL, "--output", "-", "--decrypt", pkg, NULL);
          g_assert_true (g_bytes_equal (plain, tar));
          /* Clear the extract folder for the refusals that follow. */
          g_autoptr (GDir) dir = g_dir_open (fx->extract, 0, NULL);
          for (const char *n = dir != NULL ? g_dir_read_name (dir) : NULL; n != NULL;
               n = g_dir_read_name (dir))
            {
              g_autofree char *path = g_build_filename (fx->extract, n, NULL);
              g_assert_cmpint (g_unlink (path), ==, 0);
            }
        }
      else
        assert_refused (fx, NULL, pkg, cases[i].code);
    }
}

/* ---- 4. archive --------------------------------------------------------- */

typedef struct
{
  const char *path;
  const char *name;
  guint type;
  const char *link;
  SkErrorCode code;
} ArchiveCase;

static const ArchiveCase archive_cases[] = {
  { "symlink", "files/link", AE_IFLNK, "/etc/shadow", SK_ERROR_TAR_ENTRY_TYPE },
  { "symlink-relative", "files/link", AE_IFLNK, "../../t/gnupg", SK_ERROR_TAR_ENTRY_TYPE },
  { "hardlink", "files/hard", AE_IFREG, "MANIFEST.json", SK_ERROR_TAR_ENTRY_TYPE },
  { "directory", "files/sub", AE_IFDIR, NULL, SK_ERROR_TAR_ENTRY_TYPE },
  { "chardev", "files/null", AE_IFCHR, NULL, SK_ERROR_TAR_ENTRY_TYPE },
  { "fifo", "files/fifo", AE_IFIFO, NULL, SK_ERROR_TAR_ENTRY_TYPE },
  { "dotdot", "../x", AE_IFREG, NULL, SK_ERROR_TAR_PATH },
  { "dotdot-inner", "files/../x", AE_IFREG, NULL, SK_ERROR_TAR_PATH },
  { "absolute", "/etc/x", AE_IFREG, NULL, SK_ERROR_TAR_PATH },
  { "escape", "files/a\x1b[2Jb.DAT", AE_IFREG, NULL, SK_ERROR_TAR_PATH },
  { "bidi",
    "files/a\xe2\x80\xae"
    "TAD.b",
    AE_IFREG, NULL, SK_ERROR_TAR_PATH },
  { "empty-component", "files//x", AE_IFREG, NULL, SK_ERROR_TAR_PATH },
};

/* A valid package with one hostile member after its file. */
static void
archive_case (Fixture *fx, const char *file, const ArchiveCase *c)
{
  const char *files[] = { file, NULL };
  g_autoptr (Manifest) m = manifest_for (fx, NULL, "subscriber", files);
  g_autoptr (GArray) members = members_for (m, NULL, files);

  g_test_message ("case %s", c->path);
  if (c->type == AE_IFREG && c->link == NULL)
    {
      g_autoptr (GBytes) body = g_bytes_new_static ("x\r\n", 3);
      add_member (members, c->name, body);
    }
  else
    add_special (members, c->name, c->type, c->link);
  g_autofree char *pkg = seal_members (fx, members);
  assert_refused (fx, NULL, pkg, c->code);
}

/* Every case of the table whose code is DATA, on one pair of stations. */
static void
test_archive_cases (Fixture *fx, gconstpointer data)
{
  SkErrorCode code = GPOINTER_TO_INT (data);
  g_autofree char *file = small_kny01 (fx, 1);
  guint n = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (archive_cases); i++)
    if (archive_cases[i].code == code)
      {
        archive_case (fx, file, &archive_cases[i]);
        n++;
      }
  g_assert_cmpuint (n, >, 0);
}

static void
test_archive_duplicate (Fixture *fx, gconstpointer data)
{
  g_autofree char *file = small_kny01 (fx, 1);
  const char *files[] = { file, NULL };
  g_autoptr (Manifest) m = manifest_for (fx, NULL, "subscriber", files);
  g_autoptr (GArray) members = members_for (m, NULL, files);

  add_file (members, file);
  g_autofree char *pkg = seal_members (fx, members);
  assert_refused (fx, NULL, pkg, SK_ERROR_TAR_DUPLICATE);

  /* A second manifest is a duplicate too. */
  g_autoptr (GArray) members2 = members_for (m, NULL, files);
  g_autoptr (GBytes) json = sk_manifest_to_json (m);
  add_member (members2, "MANIFEST.json", json);
  g_autofree char *pkg2 = seal_members (fx, members2);
  assert_refused (fx, NULL, pkg2, SK_ERROR_TAR_DUPLICATE);
}

static void
test_archive_order (Fixture *fx, gconstpointer data)
{
  g_autofree char *file = small_kny01 (fx, 1);
  const char *files[] = { file, NULL };
  g_autoptr (Manifest) m = manifest_for (fx, NULL, "subscriber", files);
  g_autoptr (GArray) members = members_new ();
  g_autoptr (GBytes) json = sk_manifest_to_json (m);

  add_file (members, file);
  add_member (members, "MANIFEST.json", json);
  g_autofree char *pkg = seal_members (fx, members);
  assert_refused (fx, NULL, pkg, SK_ERROR_TAR_ORDER);
}

/* N valid KNY01 files of one record each, NULL-terminated. */
static GStrv
many_files (Fixture *fx, guint n)
{
  GStrv paths = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    paths[i] = synth (fx, "KNY01", i + 1, 1);
  return paths;
}

static void
test_archive_too_many (Fixture *fx, gconstpointer data)
{
  g_assert_cmpuint (sk_policy_get_max_files (fx->term_policy), ==, 16);
  g_auto (GStrv) paths = many_files (fx, 17);

  /* Seventeen listed, seventeen in the tar. */
  g_autoptr (Manifest) m = manifest_for (fx, NULL, "subscriber", (const char *const *)paths);
  g_autoptr (GArray) members = members_for (m, NULL, (const char *const *)paths);
  g_autofree char *pkg = seal_members (fx, members);
  assert_refused (fx, NULL, pkg, SK_ERROR_TAR_TOO_MANY);

  /* Sixteen listed and valid, one more member after them. */
  g_autofree char *extra = g_steal_pointer (&paths[16]);
  g_autoptr (Manifest) m16 = manifest_for (fx, NULL, "subscriber", (const char *const *)paths);
  g_autoptr (GArray) members16 = members_for (m16, NULL, (const char *const *)paths);
  add_file (members16, extra);
  g_autofree char *pkg16 = seal_members (fx, members16);
  assert_refused (fx, NULL, pkg16, SK_ERROR_TAR_TOO_MANY);

  /* And pack never writes such a package. */
  const char *seventeen[18];
  for (guint i = 0; i < 16; i++)
    seventeen[i] = paths[i];
  seventeen[16] = extra;
  seventeen[17] = NULL;
  assert_pack_refused (fx, "subscriber", CASE_ID, seventeen, SK_ERROR_TAR_TOO_MANY);
}

static void
test_archive_malformed (Fixture *fx, gconstpointer data)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (42);
  g_autofree guint8 *noise = g_malloc (8192);
  for (gsize i = 0; i < 8192; i++)
    noise[i] = (guint8)g_rand_int_range (rand, 0, 256);
  g_autoptr (GBytes) garbage = g_bytes_new (noise, 8192);
  g_autofree char *pkg = seal (fx, garbage);
  assert_refused (fx, NULL, pkg, SK_ERROR_TAR_MALFORMED);

  /* Nothing at all. */
  g_autoptr (GBytes) nothing = g_bytes_new_static ("", 0);
  g_autofree char *pkg_empty = seal (fx, nothing);
  assert_refused (fx, NULL, pkg_empty, SK_ERROR_TAR_MALFORMED);

  /* A tar cut in the middle of its file's data. */
  g_autoptr (GBytes) tar = valid_tar (fx, 50);
  g_autoptr (GBytes) cut = g_bytes_new_from_bytes (tar, 0, g_bytes_get_size (tar) / 2);
  g_autofree char *pkg_cut = seal (fx, cut);
  assert_refused (fx, NULL, pkg_cut, SK_ERROR_TAR_MALFORMED);
}

/* Under a policy whose max_package_size is 100000 bytes. */
static void
test_archive_too_large (Fixture *fx, gconstpointer data)
{
  g_autoptr (SkPolicy) policy = install_other_policy (fx, NULL, SMALL_CAP, FALSE);
  g_assert_cmpuint (sk_policy_get_max_package_size (policy), ==, 100000);
  g_autofree char *file = small_kny01 (fx, 1);
  const char *files[] = { file, NULL };
  g_autoptr (Manifest) m = manifest_for (fx, policy, "subscriber", files);

  /* A 200000-byte member, listed as such. */
  g_autofree guint8 *fill = g_malloc (200000);
  memset (fill, ' ', 200000);
  g_autoptr (GBytes) big = g_bytes_new_take (g_steal_pointer (&fill), 200000);
  SkManifestFile *f = manifest_file (m, 0);
  g_autofree char *big_sha = sha256_of (big);
  f->size = 200000;
  g_free (f->sha256);
  f->sha256 = g_strdup (big_sha);
  g_autoptr (GBytes) json = sk_manifest_to_json (m);
  g_autofree char *member = g_strconcat ("files/", f->name, NULL);
  g_autoptr (GArray) members = members_new ();
  add_member (members, "MANIFEST.json", json);
  add_member (members, member, big);
  g_autoptr (GBytes) tar = tar_build (members);
  g_autofree char *pkg = seal (fx, tar);
  assert_refused (fx, policy, pkg, SK_ERROR_TAR_TOO_LARGE);

  /* The same header, its data cut after 1024 bytes: the package is small,
   * the header claims 200000. */
  const guint8 *raw = g_bytes_get_data (tar, NULL);
  const guint8 *at = memmem (raw, g_bytes_get_size (tar), member, strlen (member));
  g_assert_nonnull (at);
  gsize header = (gsize)(at - raw);
  g_assert_cmpuint (header % 512, ==, 0);
  g_autoptr (GBytes) lying = g_bytes_new_from_bytes (tar, 0, header + 512 + 1024);
  g_autofree char *pkg_lying = seal (fx, lying);
  g_assert_cmpuint (g_bytes_get_size (lying), <, 100000);
  assert_refused (fx, policy, pkg_lying, SK_ERROR_TAR_TOO_LARGE);
}

/* Three files of 40000 bytes: each under the cap, together over it. */
static void
test_archive_too_large_total (Fixture *fx, gconstpointer data)
{
  g_autoptr (SkPolicy) policy = install_other_policy (fx, NULL, SMALL_CAP, TRUE);
  g_autofree char *a = synth (fx, "KNY01", 1, 77);
  g_autofree char *b = synth (fx, "KNY01", 2, 77);
  g_autofree char *c = synth (fx, "KNY01", 3, 77);
  const char *files[] = { a, b, c, NULL };
  g_autoptr (GBytes) one = read_bytes (a);
  g_assert_cmpuint (g_bytes_get_size (one), ==, 40000);

  g_autoptr (Manifest) m = manifest_for (fx, policy, "subscriber", files);
  g_autoptr (GArray) members = members_for (m, NULL, files);
  g_autofree char *pkg = seal_members (fx, members);
  assert_refused (fx, policy, pkg, SK_ERROR_TAR_TOO_LARGE);

  /* Pack never writes a package the other side must refuse. */
  assert_pack_refused (fx, "subscriber", CASE_ID, files, SK_ERROR_TAR_TOO_LARGE);
}

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
static void
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
static void
test_manifest_cases (Fixture *fx, gconstpointer data)
{
  g_autofree char *file = small_kny01 (fx, 1);

  for (gsize i = 0; i < G_N_ELEMENTS (manifest_cases); i++)
    manifest_case (fx, file, &manifest_cases[i]);
}

/* A valid file in the tar that the manifest does not list. */
static void
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
static void
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

static void
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

static void
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

/* ---- main --------------------------------------------------------------- */

int
main (int argc, char **argv)
{
  /* As the CLI does; libarchive writes a non-ASCII name only under a UTF-8
   * locale (meson runs the tests under C.UTF-8). */
  setlocale (LC_ALL, "");
  if (!g_get_charset (NULL))
    setlocale (LC_CTYPE, "C.UTF-8");
  g_test_init (&argc, &argv, NULL);
  /* A refusal that does not happen fails its test, and the others still
   * run: each names its own bug. */
  g_test_set_nonfatal_assertions ();

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
#define ADD_DATA(path, data, fn)                                                                   \
  g_test_add (path, Fixture, data, fixture_setup, fn, fixture_teardown)
  ADD ("/package/pack/round-trip", test_round_trip);
  ADD ("/package/pack/two-files", test_two_files);
  ADD ("/package/pack/large", test_pack_large);
  ADD ("/package/pack/large-spoiled", test_pack_large_spoiled);
  ADD ("/package/pack/refuses-defect", test_pack_refuses_defect);
  ADD ("/package/pack/refuses-mixed-workflows", test_pack_refuses_mixed);
  ADD ("/package/pack/refuses-wrong-case", test_pack_refuses_wrong_case);

  ADD ("/package/sig/missing", test_sig_missing);
  ADD ("/package/sig/other-bytes", test_sig_other_bytes);
  ADD ("/package/sig/flipped", test_sig_flipped);
  ADD ("/package/sig/multiple", test_sig_multiple);
  ADD ("/package/sig/armored", test_sig_armored);
  ADD ("/package/sig/untrusted-key", test_sig_untrusted);
  ADD ("/package/sig/weak-hash", test_sig_weak_hash);
  ADD ("/package/sig/weak-key", test_sig_weak_key);

  ADD ("/package/decrypt/stock-plain", test_decrypt_stock_plain);
  ADD ("/package/decrypt/wrong-recipient", test_decrypt_wrong_recipient);
  ADD ("/package/decrypt/signed-inside", test_decrypt_signed_inside);
  ADD ("/package/decrypt/signed-inside-uncompressed", test_decrypt_signed_inside_plain);
  ADD ("/package/decrypt/compressed", test_decrypt_compressed);
  ADD ("/package/decrypt/compressed-padded", test_decrypt_compressed_padded);
  ADD ("/package/decrypt/random", test_decrypt_random);
  ADD ("/package/decrypt/truncated", test_decrypt_truncated);
  ADD ("/package/decrypt/integrity", test_decrypt_integrity);
  ADD ("/package/decrypt/inner", test_decrypt_inner);
  ADD ("/package/check/reads-once", test_check_reads_once);

  ADD_DATA ("/package/archive/entry-type", GINT_TO_POINTER (SK_ERROR_TAR_ENTRY_TYPE),
            test_archive_cases);
  ADD_DATA ("/package/archive/path", GINT_TO_POINTER (SK_ERROR_TAR_PATH), test_archive_cases);
  ADD ("/package/archive/duplicate", test_archive_duplicate);
  ADD ("/package/archive/order", test_archive_order);
  ADD ("/package/archive/too-many", test_archive_too_many);
  ADD ("/package/archive/malformed", test_archive_malformed);
  ADD ("/package/archive/too-large", test_archive_too_large);
  ADD ("/package/archive/too-large-total", test_archive_too_large_total);

  ADD ("/package/manifest/fields", test_manifest_cases);
  g_test_add_func ("/package/manifest/duplicate-member", test_manifest_duplicate_member);
  ADD ("/package/manifest/unlisted-member", test_manifest_unlisted);
  ADD ("/package/manifest/missing-file", test_manifest_missing_file);
  ADD ("/package/manifest/replay", test_manifest_replay);

  ADD ("/package/file/trailer-count", test_file_trailer_count);
#undef ADD
#undef ADD_DATA

  int ret = g_test_run ();
  sk_test_keys_free ();
  return ret;
}
