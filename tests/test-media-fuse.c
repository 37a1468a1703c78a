/* test-media-fuse.c — SkMount's file handling on FAT-family and optical
 * file systems, mounted for real by FUSE drivers (issue 12)
 *
 * This machine's kernel has no vfat, exfat, iso9660 or udf (TESTING.md):
 * sk_mount_new cannot mount them here, real terminals can.  What SkMount
 * does once a file system is mounted — listing, openat2 beneath the root,
 * refusing what is not a regular file, writing through a temporary name,
 * reading back — is tested here on file systems that FUSE drivers mount:
 * exFAT through exfat-fuse (on a loop device: as root it mounts fuseblk),
 * ISO 9660 with Rock Ridge through fuseiso, and FAT built and read by
 * mtools.  The test mounts each driver itself, re-binds the mount with the
 * flags a mount of Sekisho's own has (exfat-fuse drops noexec), and hands
 * its root to sk_mount_adopt (sk-mount-private.h, never used by the
 * product).  Stations, keys and packages are real (sk-test-stations.h).
 *
 * What this proves is the file handling and each driver's view of the
 * format; the kernel's own vfat/exfat/iso9660 code is not run here.
 * The test runs in a mount namespace of its own, so a failure leaves no
 * mount behind in the machine's table.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-mount-private.h"
#include "sk-package.h"
#include "sk-pipeline.h"
#include "sk-synth.h"
#include "sk-test-stations.h"
#include "sk-test-util.h"

#define IMAGE_MB 32
/* The flags of a mount of Sekisho's own (sk_mount_options), for a
 * re-bind: read-only adds MS_RDONLY. */
#define OWN_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME)

/* A long Japanese name, as a municipality's staff would name a file. */
#define JA_NAME                                                                                    \
  "令和七年度_被保険者資格確認_照会依頼_後期高齢者医療広域連合_媒体試験用の長い名前.tar.gpg"

typedef struct
{
  char *tmp;
  char *files;
  char *run;
  SkTestStations st;
  SkPolicy *layouts;
  SkPipeline *pipe;
  SkJournal *journal;
  SkActor op;
  GPtrArray *loops; /* char* devnodes, detached at the end */
} Ctx;

static Ctx ctx;
static const char *skip_reason;

/* ---- environment -------------------------------------------------------- */

static const char *const tools[] = { "mkfs.exfat", "mount.exfat-fuse", "losetup", "fuseiso",
                                     "xorriso",    "mkfs.vfat",        "mcopy",   "mdir",
                                     NULL };

/* Enter a mount namespace of our own; why these tests cannot run here, or
 * NULL. */
static const char *
prepare (void)
{
  static char why[160];
  if (getuid () != 0)
    return "needs root (loop devices, FUSE mounts)";
  if (access ("/dev/fuse", R_OK | W_OK) != 0)
    return "needs /dev/fuse";
  if (access ("/dev/loop-control", F_OK) != 0)
    return "needs loop devices";
  for (guint i = 0; tools[i] != NULL; i++)
    {
      g_autofree char *path = g_find_program_in_path (tools[i]);
      if (path == NULL)
        {
          g_snprintf (why, sizeof why,
                      "needs %s (exfat-fuse, fuseiso, mtools, exfatprogs, dosfstools, xorriso: "
                      "scripts/install-deps)",
                      tools[i]);
          return why;
        }
    }
  /* Mounts made here stay here: nothing leaks into the machine's table. */
  if (unshare (CLONE_NEWNS) != 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    return "needs a mount namespace of its own (unshare)";
  return NULL;
}

static gboolean
skipped (void)
{
  if (skip_reason == NULL)
    return FALSE;
  g_test_skip (skip_reason);
  return TRUE;
}

/* Run ARGV; assert it exits 0; its standard output, stripped. */
static char *
run (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) env = g_environ_setenv (g_get_environ (), "MTOOLS_SKIP_CHECK", "1", TRUE);
  char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;
  g_spawn_sync (NULL, (char **)argv, env, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status,
                &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed: %s", argv[0], err);
  return g_strstrip (out);
}

static char *
sha256_of (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)data, len);
}

static void
copy_file (const char *from, const char *to)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (from, &data, &len, NULL));
  g_assert_true (g_file_set_contents (to, data, (gssize)len, NULL));
}

/* What mountinfo says of the mount at POINT: "OPTIONS … - FSTYPE SOURCE SUPER". */
static char *
mountinfo_at (const char *point)
{
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents ("/proc/self/mountinfo", &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autofree char *needle = g_strdup_printf (" %s ", point);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *at = strstr (lines[i], needle);
      if (at != NULL)
        return g_strdup (at + strlen (needle));
    }
  return NULL;
}

static gboolean
is_mounted (const char *point)
{
  g_autofree char *info = mountinfo_at (point);
  return info != NULL;
}

/* The per-mount options of mountinfo's line for POINT, as a list. */
static GStrv
mount_options_at (const char *point)
{
  g_autofree char *info = mountinfo_at (point);
  g_assert_nonnull (info);
  char *space = strchr (info, ' ');
  if (space != NULL)
    *space = '\0';
  return g_strsplit (info, ",", -1);
}

static void
assert_own_flags (const char *point, gboolean read_only)
{
  g_auto (GStrv) o = mount_options_at (point);
  const char *want[] = { read_only ? "ro" : "rw", "nosuid", "nodev", "noexec", "noatime", NULL };
  for (guint i = 0; want[i] != NULL; i++)
    if (!g_strv_contains ((const char *const *)o, want[i]))
      g_error ("the mount at %s lacks %s", point, want[i]);
}

/* The mount at POINT re-bound with the flags of a mount of our own. */
static void
rebind_own (const char *point, gboolean read_only)
{
  unsigned long flags = MS_REMOUNT | MS_BIND | OWN_FLAGS | (read_only ? MS_RDONLY : 0);
  g_assert_cmpint (mount (NULL, point, NULL, flags, NULL), ==, 0);
  assert_own_flags (point, read_only);
}

static SkMount *
adopt (const char *point, const char *fs_type, SkMountMode mode)
{
  g_autoptr (GError) error = NULL;
  int fd = open (point, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  SkMount *m = sk_mount_adopt (fd, fs_type, mode, &error);
  close (fd);
  g_assert_no_error (error);
  return m;
}

static void
adopt_refused (const char *point, const char *fs_type, SkMountMode mode, int code)
{
  g_autoptr (GError) error = NULL;
  int fd = open (point, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_autoptr (SkMount) m = sk_mount_adopt (fd, fs_type, mode, &error);
  close (fd);
  g_assert_null (m);
  g_assert_error (error, SK_ERROR, code);
}

/* ---- exFAT through exfat-fuse -------------------------------------------- */

/* An empty exFAT image on a loop device (exfat-fuse, run as root, mounts
 * fuseblk: it wants a block device).  Returns the devnode; *OUT_IMG the
 * image's path. */
static char *
make_exfat (const char *name, char **out_img)
{
  char *img = g_strdup_printf ("%s/%s.img", ctx.tmp, name);
  int fd = open (img, O_CREAT | O_WRONLY | O_EXCL | O_CLOEXEC, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, IMAGE_MB * 1024 * 1024), ==, 0);
  close (fd);
  const char *mkfs[] = { "mkfs.exfat", "-L", "SKTEST", img, NULL };
  g_free (run (mkfs));
  const char *losetup[] = { "losetup", "-f", "--show", img, NULL };
  char *dev = run (losetup);
  g_assert_true (g_str_has_prefix (dev, "/dev/loop"));
  g_ptr_array_add (ctx.loops, g_strdup (dev));
  *out_img = img;
  return dev;
}

static char *
new_point (const char *name)
{
  char *point = g_strdup_printf ("%s/%s-XXXXXX", ctx.tmp, name);
  g_assert_nonnull (g_mkdtemp (point));
  return point;
}

/* exfat-fuse on DEV at POINT with OPTIONS ("ro,…" or "rw,…"). */
static void
exfat_mount (const char *dev, const char *point, const char *options)
{
  const char *argv[] = { "mount.exfat-fuse", "-o", options, dev, point, NULL };
  g_free (run (argv));
  g_autofree char *info = mountinfo_at (point);
  g_assert_nonnull (info);
  g_assert_nonnull (strstr (info, " - fuseblk "));
}

/* Unmount the FUSE file system at POINT.  For fuseblk the kernel waits for
 * the driver to finish (FUSE_DESTROY); the driver then closes the device:
 * until it has, the next mount would find the device busy. */
static void
fuse_unmount (const char *point, const char *dev)
{
  g_assert_cmpint (umount2 (point, 0), ==, 0);
  g_assert_false (is_mounted (point));
  if (dev == NULL)
    return;
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  for (;;)
    {
      int fd = open (dev, O_RDONLY | O_EXCL | O_CLOEXEC);
      if (fd >= 0)
        {
          close (fd);
          return;
        }
      g_assert_cmpint (errno, ==, EBUSY);
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      g_usleep (10000);
    }
}

/* ---- packages ------------------------------------------------------------- */

/* A KNY01 request packed by the standard side: its path (X.tar.gpg beside
 * X.tar.gpg.sig) in a folder of its own. */
static char *
pack (guint64 seed)
{
  g_autoptr (GError) error = NULL;
  const SkKind *kind = sk_policy_lookup_kind (ctx.layouts, "KNY01");
  SkSynthOptions opts;
  sk_synth_options_init (&opts);
  opts.seed = seed;
  opts.records = 20;
  g_autofree char *sub = g_strdup_printf ("%s/%" G_GUINT64_FORMAT, ctx.files, seed);
  g_autofree char *out = g_strdup_printf ("%s/pkg-%" G_GUINT64_FORMAT, ctx.files, seed);
  g_assert_cmpint (g_mkdir_with_parents (sub, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (out, 0700), ==, 0);
  g_autofree char *req = sk_synth_write_file (ctx.layouts, kind, &opts, sub, &error);
  g_assert_no_error (error);
  g_autofree char *case_id = g_strdup_printf ("C%019" G_GUINT64_FORMAT, seed);
  const char *paths[] = { req, NULL };
  char *path =
      sk_package_pack (ctx.st.std, ctx.st.std_policy, sk_actor_for_process (SK_ROLE_OPERATOR),
                       "subscriber", case_id, paths, out, NULL, NULL, &error);
  g_assert_no_error (error);
  return path;
}

/* The package at PKG and its signature, copied into DIR as NAME. */
static void
place (const char *pkg, const char *dir, const char *name)
{
  g_autofree char *to = g_build_filename (dir, name, NULL);
  copy_file (pkg, to);
  g_autofree char *sig = g_strconcat (pkg, ".sig", NULL);
  g_autofree char *sig_to = g_strconcat (to, ".sig", NULL);
  copy_file (sig, sig_to);
}

static guint
rows_of (const char *event)
{
  g_autoptr (GError) error = NULL;
  SkJournalFilter filter = { .event = event };
  g_autoptr (GPtrArray) rows = sk_journal_query (ctx.journal, &filter, &error);
  g_assert_no_error (error);
  return rows->len;
}

/* What import makes of each package name on MOUNT, per name the steps
 * sk_media_import takes (it needs a udev device, which FUSE mounts lack):
 * both files opened as regular files first, then read once into the
 * store from the mount's root.  NAME → "case" or the refusal's reason. */
static GHashTable *
import_all (SkMount *mount)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) names = sk_mount_list (mount, &error);
  g_assert_no_error (error);
  GHashTable *out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      if (name[0] == '.' || !g_str_has_suffix (name, ".tar.gpg"))
        continue;
      g_autoptr (GError) file_error = NULL;
      g_autofree char *sig = g_strconcat (name, ".sig", NULL);
      const char *both[] = { name, sig };
      for (guint k = 0; k < 2 && file_error == NULL; k++)
        {
          int fd = sk_mount_open_file (mount, both[k], NULL, &file_error);
          if (fd >= 0)
            close (fd);
        }
      g_autoptr (SkCase) c = NULL;
      if (file_error == NULL)
        c = sk_pipeline_import_at (ctx.pipe, &ctx.op, sk_mount_get_dirfd (mount), name, NULL, NULL,
                                   &file_error);
      g_assert_true ((c == NULL) == (file_error != NULL));
      g_test_message ("import %s: %s", name,
                      c != NULL ? "a case" : sk_error_get_reason (file_error));
      g_hash_table_insert (out, g_strdup (name),
                           g_strdup (c != NULL ? "case" : sk_error_get_reason (file_error)));
    }
  return out;
}

/* ---- tests ---------------------------------------------------------------- */

/* An exFAT stick made by mkfs.exfat, written through exfat-fuse: a real
 * package, one under a long Japanese name, names differing only by case,
 * a folder named like a package, a zero-length signature, a script.
 * Mounted read-only and re-bound noexec: only the packages come in, the
 * rest is refused by name, nothing runs, the image is unchanged. */
static void
test_exfat_import (void)
{
  if (skipped ())
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *img = NULL;
  g_autofree char *dev = make_exfat ("exfat-import", &img);
  g_autofree char *point = new_point ("exfat-import");
  g_autofree char *pkg_a = pack (101);
  g_autofree char *pkg_b = pack (102);
  g_autofree char *pkg_c = pack (103);
  g_autofree char *pkg_d = pack (104);
  g_autofree char *base_a = g_path_get_basename (pkg_a);
  g_autofree char *marker = g_build_filename (ctx.tmp, "exfat-ran", NULL);

  /* Populated by the driver itself, read-write. */
  exfat_mount (dev, point, "rw");
  place (pkg_a, point, base_a);
  place (pkg_b, point, JA_NAME);
  place (pkg_c, point, "Case.tar.gpg");
  /* exFAT compares names without case: a second spelling is the first file. */
  g_autofree char *lower = g_build_filename (point, "case.tar.gpg", NULL);
  int fd = open (lower, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  g_assert_cmpint (fd, ==, -1);
  g_assert_cmpint (errno, ==, EEXIST);
  g_autofree char *folder = g_build_filename (point, "folder.tar.gpg", NULL);
  g_assert_cmpint (g_mkdir (folder, 0700), ==, 0);
  g_autofree char *folder_sig = g_strconcat (folder, ".sig", NULL);
  g_autofree char *sig_a = g_strconcat (pkg_a, ".sig", NULL);
  copy_file (sig_a, folder_sig);
  place (pkg_d, point, "empty.tar.gpg");
  g_autofree char *empty_sig = g_build_filename (point, "empty.tar.gpg.sig", NULL);
  g_assert_true (g_file_set_contents (empty_sig, "", 0, NULL));
  g_autofree char *script = g_build_filename (point, "run.sh", NULL);
  g_autofree char *body = g_strdup_printf ("#!/bin/sh\ntouch '%s'\n", marker);
  g_assert_true (g_file_set_contents (script, body, -1, NULL));
  /* exFAT keeps neither FIFOs nor symbolic links.  exfat-fuse answers
   * mknod with EIO after making an empty regular file of the name. */
  g_autofree char *fifo = g_build_filename (point, "fifo.tar.gpg", NULL);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, -1);
  struct stat st_fifo;
  if (lstat (fifo, &st_fifo) == 0)
    {
      g_assert_true (S_ISREG (st_fifo.st_mode));
      g_assert_cmpint (st_fifo.st_size, ==, 0);
      g_assert_cmpint (unlink (fifo), ==, 0);
    }
  g_autofree char *link = g_build_filename (point, "link.tar.gpg", NULL);
  g_assert_cmpint (symlink (base_a, link), ==, -1);
  fuse_unmount (point, dev);
  g_autofree char *before = sha256_of (img);

  /* Read-only, without fmask: every file shows as executable.  exfat-fuse
   * was asked for noexec too; what it does with it is logged, and a mount
   * without noexec is not adopted. */
  exfat_mount (dev, point, "ro,nosuid,nodev,noexec,noatime");
  g_autofree char *as_mounted = mountinfo_at (point);
  g_test_message ("exfat-fuse, asked for ro,nosuid,nodev,noexec,noatime: %s", as_mounted);
  g_auto (GStrv) o = mount_options_at (point);
  if (!g_strv_contains ((const char *const *)o, "noexec"))
    {
      adopt_refused (point, "exfat", SK_MOUNT_READ_ONLY, SK_ERROR_USAGE);
      g_assert_cmpint (access (script, X_OK), ==, 0);
    }
  rebind_own (point, TRUE);
  g_autofree char *rebound = mountinfo_at (point);
  g_test_message ("re-bound: %s", rebound);
  g_assert_cmpint (access (script, X_OK), ==, -1);
  g_assert_cmpint (errno, ==, EACCES);
  const char *argv[] = { script, NULL };
  g_assert_false (g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
                                NULL, &error));
  g_assert_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_ACCES);
  g_clear_error (&error);
  adopt_refused (point, "exfat", SK_MOUNT_READ_WRITE, SK_ERROR_MEDIA_READ_ONLY);
  adopt_refused (point, "ntfs", SK_MOUNT_READ_ONLY, SK_ERROR_MEDIA_FILESYSTEM);

  g_autoptr (SkMount) ro = adopt (point, "exfat", SK_MOUNT_READ_ONLY);
  g_autofree char *opts = sk_mount_read_options (ro, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (opts, ==, "ro,nosuid,nodev,noexec,noatime");
  g_autoptr (GPtrArray) names = sk_mount_list (ro, &error);
  g_assert_no_error (error);
  /* Names as written: the Japanese one whole, "Case" in its own spelling. */
  const char *const want[] = { "Case.tar.gpg",   "Case.tar.gpg.sig",
                               "empty.tar.gpg",  "empty.tar.gpg.sig",
                               "folder.tar.gpg", "folder.tar.gpg.sig",
                               JA_NAME,          JA_NAME ".sig",
                               "run.sh",         NULL };
  for (guint i = 0; want[i] != NULL; i++)
    if (!g_ptr_array_find_with_equal_func (names, want[i], g_str_equal, NULL))
      g_error ("%s is not listed", want[i]);
  g_assert_true (g_ptr_array_find_with_equal_func (names, base_a, g_str_equal, NULL));
  g_assert_cmpuint (names->len, ==, 11);
  for (guint i = 1; i < names->len; i++) /* sorted */
    g_assert_cmpint (strcmp (g_ptr_array_index (names, i - 1), g_ptr_array_index (names, i)), <, 0);
  g_assert_false (g_ptr_array_find_with_equal_func (names, "case.tar.gpg", g_str_equal, NULL));

  /* Another spelling reaches the same file: openat2 resolves it as
   * exFAT does, beneath the root (FUSE gives each spelling an inode
   * number of its own, the bytes are the one file's). */
  g_autofree char *h_listed = sk_mount_hash_file (ro, "Case.tar.gpg", NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *h_other = sk_mount_hash_file (ro, "CASE.TAR.GPG", NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *h_c = sha256_of (pkg_c);
  g_assert_cmpstr (h_listed, ==, h_c);
  g_assert_cmpstr (h_other, ==, h_c);
  /* Not executable through the adopted mount either, and 0777 as shown. */
  g_autofree char *via = g_build_filename (sk_mount_get_path (ro), "run.sh", NULL);
  g_assert_cmpint (access (via, X_OK), ==, -1);
  int dir_fd = sk_mount_open_file (ro, "folder.tar.gpg", NULL, &error);
  g_assert_cmpint (dir_fd, ==, -1);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_ENTRY_TYPE);
  g_assert_nonnull (strstr (error->message, "folder.tar.gpg"));
  g_clear_error (&error);

  guint refused_before = rows_of ("package-refused");
  g_autoptr (GHashTable) got = import_all (ro);
  g_assert_cmpuint (g_hash_table_size (got), ==, 5);
  g_assert_cmpstr (g_hash_table_lookup (got, base_a), ==, "case");
  g_assert_cmpstr (g_hash_table_lookup (got, JA_NAME), ==, "case");
  g_assert_cmpstr (g_hash_table_lookup (got, "Case.tar.gpg"), ==, "case");
  g_assert_cmpstr (g_hash_table_lookup (got, "folder.tar.gpg"), ==, "media-entry-type");
  g_assert_cmpstr (g_hash_table_lookup (got, "empty.tar.gpg"), ==, "sig-missing");
  /* The pipeline journals what it refuses; the folder never reached it. */
  g_assert_cmpuint (rows_of ("package-refused"), ==, refused_before + 1);
  g_assert_false (g_file_test (marker, G_FILE_TEST_EXISTS));

  g_assert_true (sk_mount_unmount (ro, &error));
  g_assert_no_error (error);
  /* Adopted: SkMount lets go of its descriptor, the test unmounts. */
  g_assert_true (is_mounted (point));
  g_assert_null (sk_mount_list (ro, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_REMOVED);
  g_clear_error (&error);
  g_clear_object (&ro);
  fuse_unmount (point, dev);
  g_autofree char *after = sha256_of (img);
  g_assert_cmpstr (before, ==, after);
}

/* Flip a bit of the byte at OFF of FILE (an image or a device). */
static void
flip_at (const char *file, off_t off)
{
  int fd = open (file, O_RDWR | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  guint8 byte = 0;
  g_assert_cmpint (pread (fd, &byte, 1, off), ==, 1);
  byte ^= 0x01;
  g_assert_cmpint (pwrite (fd, &byte, 1, off), ==, 1);
  g_assert_cmpint (fsync (fd), ==, 0);
  close (fd);
}

/* Where, in FILE, byte AT_BYTE of the package WRITTEN lies: found by the
 * package's first bytes (the only copy on the medium). */
static off_t
find_in (const char *file, const char *written, gsize at_byte)
{
  g_autofree char *img = NULL;
  gsize img_len = 0;
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (written, &data, &len, NULL));
  g_assert_cmpuint (len, >, at_byte);
  g_assert_true (g_file_get_contents (file, &img, &img_len, NULL));
  gsize head = MIN (len, 2048);
  const char *found = memmem (img, img_len, data, head);
  g_assert_nonnull (found);
  g_assert_null (memmem (found + 1, img_len - (gsize)(found + 1 - img), data, head));
  return (off_t)(found - img) + (off_t)at_byte;
}

static char *
hash_on (SkMount *m, const char *name)
{
  g_autoptr (GError) error = NULL;
  char *h = sk_mount_hash_file (m, name, NULL, NULL, &error);
  g_assert_no_error (error);
  return h;
}

/* The export's sequence on a read-write exfat-fuse mount: write through a
 * temporary name, fsync, rename, read back; the same after a remount;
 * a byte flipped under the mount, and one flipped in the image between
 * unmount and remount, are both caught by the read-back. */
static void
test_exfat_export (void)
{
  if (skipped ())
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *img = NULL;
  g_autofree char *dev = make_exfat ("exfat-export", &img);
  g_autofree char *point = new_point ("exfat-export");
  g_autofree char *pkg = pack (201);
  g_autofree char *base = g_path_get_basename (pkg);
  g_autofree char *want = sha256_of (pkg);

  exfat_mount (dev, point, "rw,uid=0,gid=0,fmask=0177,dmask=0077");
  adopt_refused (point, "exfat", SK_MOUNT_READ_WRITE, SK_ERROR_USAGE); /* not yet noexec */
  rebind_own (point, FALSE);
  g_autoptr (SkMount) rw = adopt (point, "exfat", SK_MOUNT_READ_WRITE);
  g_autofree char *opts = sk_mount_read_options (rw, &error);
  g_assert_cmpstr (opts, ==, "rw,nosuid,nodev,noexec,noatime");
  guint64 room = 0;
  g_assert_true (sk_mount_free_space (rw, &room, &error));
  g_assert_cmpuint (room, >, (IMAGE_MB - 4) * 1024 * 1024);

  int src = open (pkg, O_RDONLY | O_CLOEXEC);
  g_autofree char *wrote = NULL;
  g_assert_true (sk_mount_write_file (rw, base, src, &wrote, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (wrote, ==, want);
  g_autofree char *back = hash_on (rw, base);
  g_assert_cmpstr (back, ==, want);

  /* A byte flipped on the device under the mount (found before anything
   * else is written: the one copy of its bytes).  exfat-fuse reads the
   * device through the device's page cache, which the flip went through;
   * hash_file opens the file again and drops its cached pages (fadvise):
   * the read-back through the same mount sees the flip. */
  off_t off = find_in (dev, pkg, 1000);
  flip_at (dev, off);
  g_free (back);
  back = hash_on (rw, base);
  g_test_message ("read back through the same mount after a flip on the device: %s", back);
  g_assert_cmpstr (back, !=, want);
  flip_at (dev, off); /* flipped back: the bytes match again */
  g_free (back);
  back = hash_on (rw, base);
  g_assert_cmpstr (back, ==, want);

  /* Another package under a long Japanese name. */
  g_autofree char *pkg_ja = pack (202);
  g_autofree char *want_ja = sha256_of (pkg_ja);
  int src_ja = open (pkg_ja, O_RDONLY | O_CLOEXEC);
  g_autofree char *wrote_ja = NULL;
  g_assert_true (sk_mount_write_file (rw, JA_NAME, src_ja, &wrote_ja, NULL, &error));
  close (src_ja);
  g_assert_cmpstr (wrote_ja, ==, want_ja);
  g_autofree char *back_ja = hash_on (rw, JA_NAME);
  g_assert_cmpstr (back_ja, ==, want_ja);
  /* Never over a file already there — nor over one that is the same name
   * in another case, which exFAT takes for the same file. */
  g_autofree char *upper = g_ascii_strup (base, -1);
  const char *again[] = { base, upper };
  for (guint i = 0; i < G_N_ELEMENTS (again); i++)
    {
      g_assert_cmpint (lseek (src, 0, SEEK_SET), ==, 0);
      g_assert_false (sk_mount_write_file (rw, again[i], src, NULL, NULL, &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_NOT_WRITTEN);
      g_test_message ("write over %s: %s", again[i], error->message);
      g_clear_error (&error);
    }
  close (src);
  g_autoptr (GPtrArray) names = sk_mount_list (rw, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (names->len, ==, 2); /* no temporary left, no second spelling */
  g_assert_true (g_ptr_array_find_with_equal_func (names, JA_NAME, g_str_equal, NULL));
  g_free (back);
  back = hash_on (rw, base);
  g_assert_cmpstr (back, ==, want);
  g_assert_true (sk_mount_remove (rw, JA_NAME, &error));
  g_assert_no_error (error);

  g_assert_true (sk_mount_unmount (rw, &error));
  g_assert_no_error (error);
  g_clear_object (&rw);
  fuse_unmount (point, dev);

  /* As the export does it: unmounted, mounted read-only, read back. */
  exfat_mount (dev, point, "ro,uid=0,gid=0,fmask=0177,dmask=0077");
  rebind_own (point, TRUE);
  g_autoptr (SkMount) ro = adopt (point, "exfat", SK_MOUNT_READ_ONLY);
  g_free (back);
  back = hash_on (ro, base);
  g_assert_cmpstr (back, ==, want);
  g_clear_object (&ro);
  fuse_unmount (point, dev);

  /* A byte flipped in the image between unmount and the read-back's mount. */
  flip_at (img, off + 500); /* a loop device's byte N is its image's */
  exfat_mount (dev, point, "ro,uid=0,gid=0,fmask=0177,dmask=0077");
  rebind_own (point, TRUE);
  ro = adopt (point, "exfat", SK_MOUNT_READ_ONLY);
  g_free (back);
  back = hash_on (ro, base);
  g_assert_cmpstr (back, !=, want);
  g_clear_object (&ro);
  fuse_unmount (point, dev);
}

/* What an export wrote on exFAT, copied by mtools into a FAT image: the
 * long names are kept beside 8.3 short ones, the bytes read back the same. */
static void
test_vfat_mtools (void)
{
  if (skipped ())
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *img = NULL;
  g_autofree char *dev = make_exfat ("exfat-for-fat", &img);
  g_autofree char *point = new_point ("exfat-for-fat");
  g_autofree char *pkg = pack (301);
  g_autofree char *base = g_path_get_basename (pkg);
  g_autofree char *want = sha256_of (pkg);

  exfat_mount (dev, point, "rw,uid=0,gid=0,fmask=0177,dmask=0077");
  rebind_own (point, FALSE);
  g_autoptr (SkMount) rw = adopt (point, "exfat", SK_MOUNT_READ_WRITE);
  const char *names[] = { base, JA_NAME };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      int src = open (pkg, O_RDONLY | O_CLOEXEC);
      g_assert_true (sk_mount_write_file (rw, names[i], src, NULL, NULL, &error));
      g_assert_no_error (error);
      close (src);
    }
  g_clear_object (&rw);
  fuse_unmount (point, dev);
  exfat_mount (dev, point, "ro");
  rebind_own (point, TRUE);

  g_autofree char *fat = g_build_filename (ctx.tmp, "fat.img", NULL);
  const char *mkfs[] = { "mkfs.vfat", "-C", "-n", "SKFAT", fat, "8192", NULL };
  g_free (run (mkfs));
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *from = g_build_filename (point, names[i], NULL);
      g_autofree char *to = g_strconcat ("::", names[i], NULL);
      const char *mcopy[] = { "mcopy", "-i", fat, from, to, NULL };
      g_free (run (mcopy));
    }
  fuse_unmount (point, dev);

  /* mdir shows each long name beside the short one FAT gives it. */
  const char *mdir[] = { "mdir", "-i", fat, "::", NULL };
  g_autofree char *listing = run (mdir);
  g_test_message ("mdir:\n%s", listing);
  g_assert_nonnull (strstr (listing, base));
  g_assert_nonnull (strstr (listing, JA_NAME));
  g_assert_nonnull (strstr (listing, "~1"));
  const char *mdir_short[] = { "mdir", "-i", fat, "-b", "::", NULL };
  g_autofree char *bare = run (mdir_short);
  g_test_message ("mdir -b:\n%s", bare);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *from = g_strconcat ("::", names[i], NULL);
      g_autofree char *out = g_strdup_printf ("%s/from-fat-%u", ctx.tmp, i);
      const char *mcopy[] = { "mcopy", "-n", "-i", fat, from, out, NULL };
      g_free (run (mcopy));
      g_autofree char *got = sha256_of (out);
      g_assert_cmpstr (got, ==, want);
    }
}

/* A Rock Ridge disc made by xorriso, read through fuseiso: the package
 * comes in; a symbolic link, a FIFO and a device node named like packages
 * are refused by name; nothing is written to a disc. */
static void
test_iso9660 (void)
{
  if (skipped ())
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *tree = g_build_filename (ctx.tmp, "disc-tree", NULL);
  g_assert_cmpint (g_mkdir (tree, 0700), ==, 0);
  g_autofree char *pkg = pack (401);
  g_autofree char *base = g_path_get_basename (pkg);
  place (pkg, tree, base);
  g_autofree char *p = NULL;
#define AT(name) (g_free (p), p = g_build_filename (tree, name, NULL))
  g_assert_cmpint (symlink (base, AT ("link.tar.gpg")), ==, 0);
  g_autofree char *sig = g_strconcat (pkg, ".sig", NULL);
  copy_file (sig, AT ("link.tar.gpg.sig"));
  g_assert_cmpint (mkfifo (AT ("fifo.tar.gpg"), 0644), ==, 0);
  copy_file (sig, AT ("fifo.tar.gpg.sig"));
  g_assert_cmpint (mknod (AT ("dev.tar.gpg"), S_IFCHR | 0666, makedev (1, 3)), ==, 0);
  copy_file (sig, AT ("dev.tar.gpg.sig"));
#undef AT
  g_autofree char *iso = g_build_filename (ctx.tmp, "disc.iso", NULL);
  const char *mkisofs[] = { "xorriso", "-as", "mkisofs", "-quiet", "-R", "-o", iso, tree, NULL };
  g_free (run (mkisofs));

  g_autofree char *point = new_point ("disc");
  const char *fuseiso[] = { "fuseiso", "-n", iso, point, "-o", "ro", NULL };
  g_free (run (fuseiso));
  g_autofree char *info = mountinfo_at (point);
  g_assert_nonnull (info);
  g_assert_nonnull (strstr (info, " - fuse.fuseiso "));
  rebind_own (point, TRUE);
  adopt_refused (point, "iso9660", SK_MOUNT_READ_WRITE, SK_ERROR_MEDIA_READ_ONLY);
  g_autoptr (SkMount) ro = adopt (point, "iso9660", SK_MOUNT_READ_ONLY);

  g_autoptr (GPtrArray) names = sk_mount_list (ro, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < names->len; i++)
    g_test_message ("on the disc: %s", (const char *)g_ptr_array_index (names, i));
  /* fuseiso reads a device entry's ISO 9660 name, not its Rock Ridge one
   * ("dev_tar.gpg"); the kernel's iso9660 shows "dev.tar.gpg". */
  const char *dev_name = g_ptr_array_find_with_equal_func (names, "dev.tar.gpg", g_str_equal, NULL)
                             ? "dev.tar.gpg"
                             : "dev_tar.gpg";
  g_assert_true (g_ptr_array_find_with_equal_func (names, dev_name, g_str_equal, NULL));
  const char *refused[] = { "link.tar.gpg", "fifo.tar.gpg", dev_name, NULL };
  for (guint i = 0; refused[i] != NULL; i++)
    {
      int fd = sk_mount_open_file (ro, refused[i], NULL, &error);
      g_assert_cmpint (fd, ==, -1);
      g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_ENTRY_TYPE);
      g_assert_nonnull (strstr (error->message, refused[i]));
      g_clear_error (&error);
    }
  gint64 start = g_get_monotonic_time ();
  g_autoptr (GHashTable) got = import_all (ro);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 20 * G_USEC_PER_SEC); /* no FIFO hang */
  g_assert_cmpstr (g_hash_table_lookup (got, base), ==, "case");
  g_assert_cmpstr (g_hash_table_lookup (got, "link.tar.gpg"), ==, "media-entry-type");
  g_assert_cmpstr (g_hash_table_lookup (got, "fifo.tar.gpg"), ==, "media-entry-type");

  /* Read-only: the kernel refuses a new file under the root. */
  int w = openat (sk_mount_get_dirfd (ro), "new.tar.gpg", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  g_assert_cmpint (w, ==, -1);
  g_assert_cmpint (errno, ==, EROFS);
  g_clear_object (&ro);
  fuse_unmount (point, NULL);
}

/* ---- set-up ----------------------------------------------------------------- */

static void
ctx_setup (void)
{
  g_autoptr (GError) error = NULL;
  ctx.tmp = g_dir_make_tmp ("skmf-XXXXXX", &error);
  g_assert_no_error (error);
  ctx.files = g_build_filename (ctx.tmp, "files", NULL);
  g_assert_cmpint (g_mkdir (ctx.files, 0700), ==, 0);
  ctx.run = g_build_filename (ctx.tmp, "run", NULL);
  g_assert_cmpint (g_mkdir (ctx.run, 0755), ==, 0);
  /* The hand-off root is a tmpfs, as on a station. */
  g_assert_cmpint (
      mount ("tmpfs", ctx.run, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64m,mode=0755"), ==,
      0);
  ctx.loops = g_ptr_array_new_with_free_func (g_free);
  sk_test_stations_make (ctx.tmp, &ctx.st);
  ctx.layouts = sk_test_default_policy ();
  ctx.pipe = sk_pipeline_new (ctx.st.term, ctx.st.term_policy, ctx.run, &error);
  g_assert_no_error (error);
  ctx.journal = sk_station_open_journal (ctx.st.term, FALSE, &error);
  g_assert_no_error (error);
  ctx.op = (SkActor){ (gint64)getuid (), "operator-a", "operator" };
}

static void
ctx_teardown (void)
{
  for (guint i = 0; i < ctx.loops->len; i++)
    {
      const char *argv[] = { "losetup", "-d", g_ptr_array_index (ctx.loops, i), NULL };
      g_free (run (argv));
    }
  g_ptr_array_unref (ctx.loops);
  g_clear_object (&ctx.journal);
  g_clear_object (&ctx.pipe);
  g_clear_object (&ctx.layouts);
  sk_test_stations_clear (&ctx.st);
  g_assert_cmpint (umount2 (ctx.run, MNT_DETACH), ==, 0);
  sk_test_remove_tree (ctx.tmp);
  g_free (ctx.tmp);
  g_free (ctx.files);
  g_free (ctx.run);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "C.UTF-8");
  g_test_init (&argc, &argv, NULL);

  skip_reason = prepare ();
  if (skip_reason == NULL)
    ctx_setup ();
  g_test_add_func ("/media-fuse/exfat-import", test_exfat_import);
  g_test_add_func ("/media-fuse/exfat-export", test_exfat_export);
  g_test_add_func ("/media-fuse/vfat-mtools", test_vfat_mtools);
  g_test_add_func ("/media-fuse/iso9660", test_iso9660);
  int ret = g_test_run ();
  if (skip_reason == NULL)
    ctx_teardown ();
  sk_test_keys_free ();
  return ret;
}
