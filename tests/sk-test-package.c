/* sk-test-package.c — the harness of test-package: file helpers, stations and
 * policies, synthetic files, packing and checking, tars and manifests
 * (sk-test-package.h) */
#include "config.h"

#include "sk-test-package.h"

/* ---- small file helpers ------------------------------------------------- */

void
write_bytes (const char *path, GBytes *bytes)
{
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, g_bytes_get_data (bytes, NULL), (gssize)g_bytes_get_size (bytes),
                       &error);
  g_assert_no_error (error);
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

/* A writable copy of BYTES, and its length. */
gpointer
bytes_dup (GBytes *bytes, gsize *len)
{
  gconstpointer data = g_bytes_get_data (bytes, len);
  return g_memdup2 (data, *len);
}

char *
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
GPtrArray *
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

void
assert_dir_empty (const char *dir)
{
  g_autoptr (GPtrArray) names = dir_list (dir);
  for (guint i = 0; i < names->len; i++)
    g_test_message ("left behind in %s: %s", dir, (char *)g_ptr_array_index (names, i));
  g_assert_cmpuint (names->len, ==, 0);
}

/* ---- stations and policies ---------------------------------------------- */

/* Writes TEXT and its signature by the admin; returns the path. */
static char *
write_policy (Fixture *fx, const char *text)
{
  g_autofree char *name = g_strdup_printf ("policy-%u.json", fx->n_policies++);
  return sk_test_write_policy (fx->tmp, name, text);
}

/* Installs a policy made by policy_text() on the terminal (and, with BOTH,
 * on the standard station too); returns the terminal's. */
SkPolicy *
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

char *
make_subdir (const char *parent, const char *name)
{
  char *dir = g_build_filename (parent, name, NULL);
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  return dir;
}

void
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

void
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

char *
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
void
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
void
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

SkPackageResult *
check (Fixture *fx, SkPolicy *policy, const char *pkg, GPtrArray **reports, GError **error)
{
  return sk_package_check (fx->term, policy != NULL ? policy : fx->term_policy, pkg, fx->extract,
                           reports, NULL, NULL, error);
}

/* Refused with CODE, and nothing left in the extract directory. */
void
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

void
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

char *
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
char *
new_package_path (Fixture *fx)
{
  g_autofree char *id = g_uuid_string_random ();
  g_autofree char *name = g_strconcat (id, ".tar.gpg", NULL);
  return g_build_filename (fx->work, name, NULL);
}

/* PKG.sig: a binary detached signature by the standard station's key. */
void
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
char *
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

GArray *
members_new (void)
{
  GArray *a = g_array_new (FALSE, TRUE, sizeof (Member));
  g_array_set_clear_func (a, member_clear);
  return a;
}

void
add_member (GArray *members, const char *name, GBytes *data)
{
  Member m = { .name = g_strdup (name), .type = AE_IFREG };
  m.data = data != NULL ? g_bytes_ref (data) : NULL;
  g_array_append_val (members, m);
}

void
add_special (GArray *members, const char *name, guint type, const char *link)
{
  Member m = { .name = g_strdup (name), .type = type, .link = g_strdup (link) };
  g_array_append_val (members, m);
}

void
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

GBytes *
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
SkManifest *
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

void
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

SkManifestFile *
manifest_file (SkManifest *m, guint i)
{
  return g_ptr_array_index (m->files, i);
}

/* The manifest's JSON without MEMBER. */
GBytes *
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
GArray *
members_for (SkManifest *m, GBytes *json, const char *const *paths)
{
  GArray *members = members_new ();
  g_autoptr (GBytes) text = json != NULL ? g_bytes_ref (json) : sk_manifest_to_json (m);
  add_member (members, "MANIFEST.json", text);
  for (guint i = 0; paths[i] != NULL; i++)
    add_file (members, paths[i]);
  return members;
}

char *
seal_members (Fixture *fx, GArray *members)
{
  g_autoptr (GBytes) tar = tar_build (members);
  return seal (fx, tar);
}

/* One valid KNY01 of 5 records. */
char *
small_kny01 (Fixture *fx, guint seq)
{
  return synth (fx, "KNY01", seq, 5);
}

void
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

/* A tar of a valid package (MANIFEST.json + one KNY01 of RECORDS records). */
GBytes *
valid_tar (Fixture *fx, guint64 records)
{
  g_autofree char *file = synth (fx, "KNY01", 1, records);
  const char *files[] = { file, NULL };
  g_autoptr (Manifest) m = manifest_for (fx, NULL, "subscriber", files);
  g_autoptr (GArray) members = members_for (m, NULL, files);
  return tar_build (members);
}
