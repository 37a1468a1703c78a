/* test-package-archive.c — the tar inside: hostile members, order, counts and
 * sizes */
#include "config.h"

#include "sk-test-package.h"

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
void
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

void
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

void
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

void
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

void
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
void
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
void
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
