/* test-media.c — media through libudev, the media register, import and export
 * (DESIGN.md §7, §9; issue 12)
 *
 * Devices are umockdev testbeds (this test runs under umockdev-wrapper): a
 * USB device with its interfaces and a block disk whose DEVNAME is a real
 * loop device over an ext4 image this test makes, so mounting, reading,
 * writing and reading back are real.  Those tests need root and loop
 * devices and skip with a reason without them; classification and the CSV
 * run everywhere.  Stations, keys and packages are real (sk-test-stations.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <locale.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <umockdev.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-fault.h"
#include "sk-media-csv.h"
#include "sk-media.h"
#include "sk-mount.h"
#include "sk-package.h"
#include "sk-synth.h"
#include "sk-test-gpg.h"
#include "sk-test-stations.h"
#include "sk-test-util.h"

#define IMAGE_MB 16

typedef struct
{
  char *img;
  char *devnode;
} Loop;

typedef struct
{
  char *tmp;
  char *run;
  gboolean run_mounted;
  char *files;
  SkTestStations st;
  SkPolicy *layouts;
  SkPipeline *pipe;
  SkJournal *journal;
  SkActor op;
  SkActor admin;
  UMockdevTestbed *tb;
  GPtrArray *loops; /* Loop* */
  SkUdev *udev;
  SkMedia *media;
  guint added, refused, removed;
  guint n_usb;
  char *dev_node; /* a node this test made under /dev, removed at the end */
} Fixture;

/* ---- environment -------------------------------------------------------- */

static gboolean
can_use_loop (void)
{
  g_autofree char *mkfs = g_find_program_in_path ("mkfs.ext4");
  g_autofree char *losetup = g_find_program_in_path ("losetup");
  return getuid () == 0 && g_file_test ("/dev/loop-control", G_FILE_TEST_EXISTS) && mkfs != NULL &&
         losetup != NULL;
}

/* Run ARGV outside the mock environment: helpers see the real /dev. */
static char *
run_real (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) env = g_get_environ ();
  env = g_environ_unsetenv (env, "LD_PRELOAD");
  env = g_environ_unsetenv (env, "UMOCKDEV_DIR");
  char *out = NULL;
  int status = 0;
  g_spawn_sync (NULL, (char **)argv, env, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                NULL, &out, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return g_strstrip (out);
}

static gboolean
is_tmpfs (const char *path)
{
  struct statfs fs;
  return statfs (path, &fs) == 0 && fs.f_type == TMPFS_MAGIC;
}

static char *
file_sha256 (const char *path);

/* The device number of the block device node DEVNODE. */
static dev_t
devnum_of (const char *devnode)
{
  struct stat st;
  g_assert_cmpint (stat (devnode, &st), ==, 0);
  g_assert_true (S_ISBLK (st.st_mode));
  return st.st_rdev;
}

/* udev's MAJOR and MINOR of DEVNODE, as the kernel reports them. */
static void
devnum_props (const char *devnode, char **out_major, char **out_minor)
{
  struct stat st;
  gboolean node = stat (devnode, &st) == 0 && S_ISBLK (st.st_mode);
  *out_major = g_strdup_printf ("%u", node ? major (st.st_rdev) : 0);
  *out_minor = g_strdup_printf ("%u", node ? minor (st.st_rdev) : 0);
}

/* Whether /proc/self/mountinfo has a line for the device DEVNUM. */
static gboolean
in_mountinfo (dev_t devnum)
{
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents ("/proc/self/mountinfo", &text, NULL, NULL));
  g_autofree char *needle = g_strdup_printf (" %u:%u ", major (devnum), minor (devnum));
  return strstr (text, needle) != NULL;
}

/* What mountinfo says of MOUNT, a detached mount that is in no mount
 * table: a clone of it (open_tree) is attached to a folder of this test
 * for as long as the line is read.  "OPTIONS - FSTYPE SOURCE SUPER". */
static char *
mountinfo_of (Fixture *fx, SkMount *mount)
{
  int clone = open_tree (sk_mount_get_dirfd (mount), "",
                         OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  g_assert_cmpint (clone, >=, 0);
  g_autofree char *point = g_build_filename (fx->tmp, "look-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp (point));
  g_assert_cmpint (move_mount (clone, "", AT_FDCWD, point, MOVE_MOUNT_F_EMPTY_PATH), ==, 0);
  close (clone);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents ("/proc/self/mountinfo", &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  char *found = NULL;
  g_autofree char *needle = g_strdup_printf (" %s ", point);
  for (guint i = 0; lines[i] != NULL && found == NULL; i++)
    {
      /* id parent major:minor root POINT OPTIONS [optional…] - FSTYPE SOURCE SUPER */
      char *at = strstr (lines[i], needle);
      if (at != NULL)
        found = g_strdup (at + strlen (needle));
    }
  g_assert_cmpint (umount2 (point, 0), ==, 0);
  g_assert_cmpint (rmdir (point), ==, 0);
  g_assert_nonnull (found);
  return found;
}

static void
on_added (SkMedia *media, SkMedium *m, Fixture *fx)
{
  fx->added++;
}

static void
on_refused (SkMedia *media, SkMedium *m, Fixture *fx)
{
  fx->refused++;
}

static void
on_removed (SkMedia *media, SkMedium *m, Fixture *fx)
{
  fx->removed++;
}

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  if (!can_use_loop ())
    return;
  fx->tmp = g_dir_make_tmp ("skmd-XXXXXX", &error);
  g_assert_no_error (error);
  fx->files = g_build_filename (fx->tmp, "files", NULL);
  g_assert_cmpint (g_mkdir (fx->files, 0700), ==, 0);
  fx->run = g_build_filename (fx->tmp, "run", NULL);
  g_assert_cmpint (g_mkdir (fx->run, 0755), ==, 0);
  fx->run_mounted = mount ("tmpfs", fx->run, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                           "size=64m,mode=0755") == 0;
  g_assert_true (fx->run_mounted && is_tmpfs (fx->run));
  fx->loops = g_ptr_array_new ();

  fx->tb = umockdev_testbed_new ();
  g_assert_true (umockdev_in_mock_environment ());
  fx->udev = sk_udev_new (&error);
  g_assert_no_error (error);

  sk_test_stations_make (fx->tmp, &fx->st);
  fx->layouts = sk_test_default_policy ();
  fx->pipe = sk_pipeline_new (fx->st.term, fx->st.term_policy, fx->run, &error);
  g_assert_no_error (error);
  fx->journal = sk_station_open_journal (fx->st.term, FALSE, &error);
  g_assert_no_error (error);
  fx->op = (SkActor){ (gint64)getuid (), "operator-a", "operator" };
  fx->admin = (SkActor){ (gint64)getuid (), "admin-a", "admin" };
}

static void
start_media (Fixture *fx)
{
  g_autoptr (GError) error = NULL;
  fx->media = sk_media_new (fx->st.term, fx->journal, fx->st.term_policy, fx->udev, &error);
  g_assert_no_error (error);
  g_signal_connect (fx->media, "medium-added", G_CALLBACK (on_added), fx);
  g_signal_connect (fx->media, "medium-refused", G_CALLBACK (on_refused), fx);
  g_signal_connect (fx->media, "medium-removed", G_CALLBACK (on_removed), fx);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  if (fx->tmp == NULL)
    return;
  sk_fault_set_hook (NULL, NULL);
  if (fx->dev_node != NULL)
    unlink (fx->dev_node);
  g_clear_pointer (&fx->dev_node, g_free);
  g_clear_object (&fx->media);
  g_clear_object (&fx->udev);
  g_clear_object (&fx->tb);
  for (guint i = 0; i < fx->loops->len; i++)
    {
      Loop *l = g_ptr_array_index (fx->loops, i);
      const char *argv[] = { "losetup", "-d", l->devnode, NULL };
      g_free (run_real (argv));
      g_free (l->img);
      g_free (l->devnode);
      g_free (l);
    }
  g_ptr_array_unref (fx->loops);
  g_clear_object (&fx->journal);
  g_clear_object (&fx->pipe);
  g_clear_object (&fx->layouts);
  sk_test_stations_clear (&fx->st);
  g_autofree char *media = g_build_filename (fx->run, "media", NULL);
  g_autoptr (GDir) d = g_dir_open (media, 0, NULL);
  /* Nothing is left mounted, and no mount point lies about. */
  g_assert_true (d == NULL || g_dir_read_name (d) == NULL);
  if (fx->run_mounted)
    g_assert_cmpint (umount2 (fx->run, MNT_DETACH), ==, 0);
  sk_test_remove_tree (fx->tmp);
  g_free (fx->tmp);
  g_free (fx->run);
  g_free (fx->files);
}

static gboolean
skip_without_loop (Fixture *fx)
{
  if (fx->tmp != NULL)
    return FALSE;
  g_test_skip ("needs root, loop devices, mkfs.ext4 and losetup");
  return TRUE;
}

/* The tests that act at a named boundary (a byte flipped, a medium pulled)
 * need a build with fault points (-Dfault_points=enabled). */
static gboolean
skip_without_faults (Fixture *fx)
{
  if (skip_without_loop (fx))
    return TRUE;
  if (sk_fault_compiled_in ())
    return FALSE;
  g_test_skip ("needs fault points (-Dfault_points=enabled, as scripts/test sets)");
  return TRUE;
}

/* ---- media ---------------------------------------------------------------- */

/* An ext4 image holding the files of POPULATE (NULL: empty) on a loop device. */
static Loop *
make_loop (Fixture *fx, const char *populate)
{
  Loop *l = g_new0 (Loop, 1);
  l->img = g_strdup_printf ("%s/image-%u.img", fx->tmp, fx->loops->len);
  int fd = open (l->img, O_CREAT | O_WRONLY | O_EXCL, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, IMAGE_MB * 1024 * 1024), ==, 0);
  close (fd);
  const char *mkfs[] = { "mkfs.ext4", "-q", "-F", "-d", populate, l->img, NULL };
  if (populate == NULL)
    {
      mkfs[3] = l->img;
      mkfs[4] = NULL;
    }
  g_free (run_real (mkfs));
  const char *losetup[] = { "losetup", "-f", "--show", l->img, NULL };
  l->devnode = run_real (losetup);
  g_assert_true (g_str_has_prefix (l->devnode, "/dev/loop"));
  g_ptr_array_add (fx->loops, l);
  return l;
}

static void
pump_until (guint *counter, guint want)
{
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (*counter < want && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  g_assert_cmpuint (*counter, >=, want);
}

/* A USB device with SERIAL and interfaces of CLASSES ("08", "03", …;
 * NULL-terminated), its disk on DEVNODE.  Returns the disk's syspath. */
static char *
add_usb (Fixture *fx, const char *serial, const char *const *classes, const char *devnode)
{
  guint n = ++fx->n_usb;
  g_autofree char *name = g_strdup_printf ("1-%u", n);
  g_autofree char *usb = umockdev_testbed_add_device (
      fx->tb, "usb", name, NULL, "idVendor", "0781", "idProduct", "5567", "manufacturer",
      "Sekisho Test", "product", "Stick \xe2\x80\xae", "serial", serial, NULL, "DEVTYPE",
      "usb_device", NULL);
  g_assert_nonnull (usb);
  g_autofree char *storage_iface = NULL;
  for (guint i = 0; classes[i] != NULL; i++)
    {
      g_autofree char *iname = g_strdup_printf ("1-%u:1.%u", n, i);
      char *iface = umockdev_testbed_add_device (
          fx->tb, "usb", iname, usb, "bInterfaceClass", classes[i], "bInterfaceSubClass", "06",
          "bInterfaceProtocol", "50", NULL, "DEVTYPE", "usb_interface", NULL);
      g_assert_nonnull (iface);
      if (storage_iface == NULL && g_str_equal (classes[i], "08"))
        storage_iface = iface;
      else
        g_free (iface);
    }
  g_autofree char *disk_name = g_strdup_printf ("sd%c", 'a' + n);
  g_autofree char *sectors = g_strdup_printf ("%u", IMAGE_MB * 2048);
  g_autofree char *maj = NULL;
  g_autofree char *min = NULL;
  devnum_props (devnode, &maj, &min);
  char *disk = umockdev_testbed_add_device (fx->tb, "block", disk_name,
                                            storage_iface != NULL ? storage_iface : usb, "size",
                                            sectors, "removable", "1", NULL, "DEVNAME", devnode,
                                            "DEVTYPE", "disk", "MAJOR", maj, "MINOR", min, NULL);
  g_assert_nonnull (disk);
  return disk;
}

static const char *const storage_only[] = { "08", NULL };

/* Pulled: media-removed within a second of the kernel's message. */
static void
remove_device (Fixture *fx, const char *syspath)
{
  gint64 start = g_get_monotonic_time ();
  umockdev_testbed_uevent (fx->tb, syspath, "remove");
  pump_until (&fx->removed, fx->removed + 1);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  umockdev_testbed_remove_device (fx->tb, syspath);
}

/* The newest journal row of EVENT. */
static SkJournalRow *
last_row (Fixture *fx, const char *event)
{
  g_autoptr (GError) error = NULL;
  SkJournalFilter filter = { .event = event };
  g_autoptr (GPtrArray) rows = sk_journal_query (fx->journal, &filter, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, >, 0);
  return g_ptr_array_steal_index (rows, rows->len - 1);
}

static guint
rows_of (Fixture *fx, const char *event)
{
  g_autoptr (GError) error = NULL;
  SkJournalFilter filter = { .event = event };
  g_autoptr (GPtrArray) rows = sk_journal_query (fx->journal, &filter, &error);
  g_assert_no_error (error);
  return rows->len;
}

static char *
only_medium_id (Fixture *fx)
{
  g_autoptr (GPtrArray) list = sk_media_list (fx->media);
  g_assert_cmpuint (list->len, ==, 1);
  return g_strdup (((SkMedium *)g_ptr_array_index (list, 0))->id);
}

static SkMediumRecord *
register_ok (Fixture *fx, const char *id, const char *number)
{
  g_autoptr (GError) error = NULL;
  SkMediumRecord *r = sk_media_register_medium (fx->media, &fx->admin, id, number, "test", &error);
  g_assert_no_error (error);
  g_assert_nonnull (r);
  g_assert_cmpstr (r->state, ==, "registered");
  return r;
}

/* Media followed, a storage stick SERIAL over DEVNODE plugged in and
 * seen, and registered as NUMBER: the medium's id; *OUT_DISK (unless
 * NULL) the stick's testbed path. */
static char *
plug_registered (
    Fixture *fx, const char *serial, const char *devnode, const char *number, char **out_disk)
{
  start_media (fx);
  g_autofree char *disk = add_usb (fx, serial, storage_only, devnode);
  g_assert_nonnull (disk);
  pump_until (&fx->added, 1);
  char *id = only_medium_id (fx);
  g_autoptr (SkMediumRecord) r = register_ok (fx, id, number);
  g_assert_nonnull (r);
  if (out_disk != NULL)
    *out_disk = g_steal_pointer (&disk);
  return id;
}

/* The one package on medium ID (NULL: the one medium) imported as the
 * operator, without a refusal. */
static void
import_one_ok (Fixture *fx, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) results =
      sk_media_import (fx->media, fx->pipe, &fx->op, id, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 1);
  g_assert_null (((SkMediumImport *)g_ptr_array_index (results, 0))->reason);
}

/* ---- packages ------------------------------------------------------------- */

static char *
synth (Fixture *fx, const char *kind_id, guint64 seed, guint64 records)
{
  g_autoptr (GError) error = NULL;
  const SkKind *kind = sk_policy_lookup_kind (fx->layouts, kind_id);
  SkSynthOptions opts;
  sk_synth_options_init (&opts);
  opts.seed = seed;
  opts.records = records;
  g_autofree char *sub = g_strdup_printf ("%s/%" G_GUINT64_FORMAT, fx->files, seed);
  g_mkdir_with_parents (sub, 0700);
  char *path = sk_synth_write_file (fx->layouts, kind, &opts, sub, &error);
  g_assert_no_error (error);
  return path;
}

static char *
case_of (guint64 seed)
{
  return g_strdup_printf ("C%019" G_GUINT64_FORMAT, seed);
}

/* A KNY01 request packed by the standard side into a new folder DIR. */
static char *
pack_into (Fixture *fx, guint64 seed, const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *req = synth (fx, "KNY01", seed, 20);
  g_autofree char *case_id = case_of (seed);
  const char *paths[] = { req, NULL };
  g_mkdir_with_parents (dir, 0700);
  char *path =
      sk_package_pack (fx->st.std, fx->st.std_policy, sk_actor_for_process (SK_ROLE_OPERATOR),
                       "subscriber", case_id, paths, dir, NULL, NULL, &error);
  g_assert_no_error (error);
  return path;
}

/* A case with its KNY02 result taken in: ready to export. */
static char *
case_with_result (Fixture *fx, guint64 seed)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_strdup_printf ("%s/pkg-%" G_GUINT64_FORMAT, fx->tmp, seed);
  g_autofree char *pkg = pack_into (fx, seed, dir);
  g_autoptr (SkCase) c = sk_pipeline_import (fx->pipe, &fx->op, pkg, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (c);
  char *id = case_of (seed);
  g_autoptr (GPtrArray) handed = sk_pipeline_hand_off (fx->pipe, &fx->op, id, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (handed);
  g_assert_true (sk_pipeline_confirm_upload (fx->pipe, &fx->op, id, &error));
  g_autofree char *res = synth (fx, "KNY02", seed, 20);
  g_autofree char *uid = g_strdup_printf ("%" G_GINT64_FORMAT, fx->op.uid);
  g_autofree char *down = g_build_filename (fx->run, "download", uid, NULL);
  g_mkdir_with_parents (down, 0700);
  g_autofree char *base = g_path_get_basename (res);
  g_autofree char *dest = g_build_filename (down, base, NULL);
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (res, &data, &len, NULL));
  g_assert_true (g_file_set_contents (dest, data, (gssize)len, NULL));
  g_autoptr (SkCaseFile) f =
      sk_pipeline_take_in (fx->pipe, &fx->op, base, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f);
  return id;
}

/* ---- classification (no devices needed) ---------------------------------- */

static SkBlockDevice *
fake_device (const char *bus, gboolean optical, const guint8 *classes, guint n)
{
  SkBlockDevice *d = g_new0 (SkBlockDevice, 1);
  d->syspath = g_strdup ("/sys/devices/fake/sdz");
  d->disk_syspath = g_strdup (d->syspath);
  d->bus = g_strdup (bus);
  d->vendor = g_strdup ("v");
  d->model = g_strdup ("m");
  d->serial = g_strdup ("s");
  d->vendor_id = g_strdup ("");
  d->product_id = g_strdup ("");
  d->optical = optical;
  d->interfaces = g_array_new (FALSE, TRUE, sizeof (SkUsbInterface));
  for (guint i = 0; i < n; i++)
    {
      SkUsbInterface iface = { classes[i], 6, 0x50 };
      g_array_append_val (d->interfaces, iface);
    }
  return d;
}

static void
test_classify (void)
{
  static const struct
  {
    const char *bus;
    gboolean optical;
    guint8 classes[3];
    guint n;
    SkMediumClass want;
    gboolean refused;
    SkErrorCode code; /* when refused; 0 stands for media-class */
  } cases[] = {
    { "usb", FALSE, { 0x08 }, 1, SK_MEDIUM_CLASS_USB_STORAGE, FALSE },
    { "usb", FALSE, { 0x08, 0x08 }, 2, SK_MEDIUM_CLASS_USB_STORAGE, FALSE },
    { "usb", TRUE, { 0x08 }, 1, SK_MEDIUM_CLASS_OPTICAL, FALSE },
    { "ata", TRUE, { 0 }, 0, SK_MEDIUM_CLASS_OPTICAL, FALSE },
    { "ata", FALSE, { 0 }, 0, SK_MEDIUM_CLASS_NONE, FALSE }, /* an internal disk */
    { "", FALSE, { 0 }, 0, SK_MEDIUM_CLASS_NONE, FALSE },    /* loop, nbd, an SD host */
    { "usb", FALSE, { 0x08, 0x03 }, 2, 0, TRUE },            /* keyboard beside storage */
    { "usb", FALSE, { 0x03, 0x08 }, 2, 0, TRUE },
    { "usb", FALSE, { 0x08, 0x02, 0x0a }, 3, 0, TRUE },                 /* network */
    { "usb", FALSE, { 0x08, 0xe0 }, 2, 0, TRUE },                       /* wireless */
    { "usb", FALSE, { 0x08, 0xff }, 2, 0, TRUE },                       /* vendor-specific */
    { "usb", FALSE, { 0x03 }, 1, 0, TRUE, SK_ERROR_MEDIA_NOT_STORAGE }, /* no storage at all */
    { "usb", FALSE, { 0 }, 0, 0, TRUE, SK_ERROR_MEDIA_NOT_STORAGE },    /* no interfaces read */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (SkBlockDevice) d =
          fake_device (cases[i].bus, cases[i].optical, cases[i].classes, cases[i].n);
      g_autoptr (GError) error = NULL;
      SkMediumClass got = 99;
      gboolean ok = sk_media_classify (d, &got, &error);
      if (cases[i].refused)
        {
          g_assert_false (ok);
          gint want = (gint)(cases[i].code != 0 ? cases[i].code : SK_ERROR_MEDIA_CLASS);
          g_assert_error (error, SK_ERROR, want);
        }
      else
        {
          g_assert_no_error (error);
          g_assert_cmpint (got, ==, cases[i].want);
        }
    }
}

/* ---- the CSV (no devices needed) ------------------------------------------ */

static void
test_csv_cells (void)
{
  const char *row[] = { "=1+2", "+A", "-3", "@SUM(A1)", "＝X", "a\"b", "普通", "", NULL };
  g_autoptr (GString) s = g_string_new ("\xef\xbb\xbf");
  const char *header[] = { "a", "b", "c", "d", "e", "f", "g", "h", NULL };
  sk_csv_append_row (s, header);
  sk_csv_append_row (s, row);
  /* Quoted, neutralised, CRLF. */
  g_assert_nonnull (strstr (s->str, "\"'=1+2\",\"'+A\",\"'-3\",\"'@SUM(A1)\",\"'＝X\",\"a\"\"b\","
                                    "\"普通\",\"\"\r\n"));
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rows = sk_csv_parse (s->str, s->len, 8, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 2);
  GStrv back = g_ptr_array_index (rows, 1);
  for (guint i = 0; row[i] != NULL; i++)
    g_assert_cmpstr (back[i], ==, row[i]);

  static const struct
  {
    const char *text;
    guint line;
  } hostile[] = {
    { "a,b\r\n=HYPERLINK(\"x\"),b\r\n", 2 }, /* an unguarded formula */
    { "a,b\r\n\"@cmd\",b\r\n", 2 },
    { "a,b\r\nx,y\r\n\"unclosed,b\r\n", 3 }, /* a quote that does not close */
    { "a,b\r\nx,y,z\r\n", 2 },               /* a cell too many */
    { "a,b\r\nx\r\n", 2 },                   /* a cell short */
    { "a,b\r\nx\"y,b\r\n", 2 },              /* a quote in an unquoted cell */
    { "a,b\r\n\"x\"y,b\r\n", 2 },            /* text after a quoted cell */
    { "a,b\r\nx\x1b[2J,b\r\n", 2 },          /* a terminal escape */
    { "a,b\r\n\xe2\x80\xaex,b\r\n", 2 },     /* a bidi override */
    { "a,b\r\nx,\xff\r\n", 2 },              /* not UTF-8 */
    { "a,b\r\n\r\nx,y\r\n", 3 },             /* a record after a blank line */
    { "", 1 },                               /* nothing at all */
  };
  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      g_autoptr (GError) e = NULL;
      g_autoptr (GPtrArray) none = sk_csv_parse (hostile[i].text, strlen (hostile[i].text), 2, &e);
      g_assert_null (none);
      g_assert_error (e, SK_ERROR, SK_ERROR_MEDIA_CSV_INVALID);
      g_autofree char *where = g_strdup_printf ("line %u:", hostile[i].line);
      if (!g_str_has_prefix (e->message, where))
        g_error ("hostile CSV %u: \"%s\" does not start with \"%s\"", i, e->message, where);
    }
  /* A NUL byte and an overlong line. */
  g_autoptr (GError) e1 = NULL;
  g_assert_null (sk_csv_parse ("a,b\r\nx\0y,b\r\n", 12, 2, &e1));
  g_assert_error (e1, SK_ERROR, SK_ERROR_MEDIA_CSV_INVALID);
  g_autofree char *longline = g_strnfill (SK_CSV_MAX_LINE + 10, 'x');
  g_autofree char *text = g_strdup_printf ("a,b\r\n%s,b\r\n", longline);
  g_autoptr (GError) e2 = NULL;
  g_assert_null (sk_csv_parse (text, strlen (text), 2, &e2));
  g_assert_error (e2, SK_ERROR, SK_ERROR_MEDIA_CSV_INVALID);
}

static const char csv_header[] =
    "\xef\xbb\xbf\"管理番号\",\"種別\",\"メーカー\",\"型番\",\"シリアル\",\"登録日\",\"登録者\","
    "\"状態\"\r\n";

/* The register's CSV round-trips; a hostile file is refused by line with
 * nothing half-imported. */
static void
test_register_csv (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (SkMediaRegister) reg = sk_media_register_new (fx->st.term, fx->journal);

  g_autofree char *csv = g_strconcat (
      csv_header,
      "\"USB-001\",\"USBメモリ\",\"Sekisho Test\",\"Stick\",\"'-0001\",\"2026/11/01\","
      "\"admin-a\",\"登録\"\r\n",
      "\"USB-000\",\"USBメモリ\",\"Old\",\"Gone\",\"X9\",\"2025-01-31\",\"admin-b\",\"抹消\"\r\n",
      NULL);
  g_autoptr (GBytes) in = g_bytes_new_static (csv, strlen (csv));
  guint added = 0;
  g_assert_true (sk_media_register_import_csv (reg, &fx->admin, in, &added, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (added, ==, 2);
  g_autoptr (GPtrArray) all = sk_media_register_list (reg, TRUE, &error);
  g_assert_cmpuint (all->len, ==, 2);
  SkMediumRecord *pending = g_ptr_array_index (all, 1);
  g_assert_cmpstr (pending->number, ==, "USB-001");
  g_assert_cmpstr (pending->state, ==, "pending");
  g_assert_cmpstr (pending->serial, ==, "-0001");
  g_assert_null (pending->token);

  /* Out again: BOM, headers, CRLF, every cell quoted, the formula guarded. */
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_assert_true (sk_media_register_export_csv (reg, out, &error));
  g_assert_true (g_output_stream_close (out, NULL, NULL));
  g_autoptr (GBytes) exported =
      g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
  gsize len;
  const char *text = g_bytes_get_data (exported, &len);
  g_autofree char *copy = g_strndup (text, len);
  g_assert_true (g_str_has_prefix (copy, csv_header));
  g_assert_nonnull (strstr (copy, "\"USB-001\",\"USBメモリ\",\"Sekisho Test\",\"Stick\",\"'-0001\","
                                  "\"2026/11/01\",\"admin-a\",\"登録\"\r\n"));
  g_assert_nonnull (strstr (copy, "\"抹消\"\r\n"));
  g_auto (GStrv) lines = g_strsplit (copy, "\r\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4); /* header, 2 rows, "" */

  /* Back in: nothing new, nothing changed. */
  g_assert_true (sk_media_register_import_csv (reg, &fx->admin, exported, &added, &error));
  g_assert_cmpuint (added, ==, 0);

  /* Hostile: line 3 of 4 is bad; the good lines around it are not taken. */
  guint before = rows_of (fx, "media-register-imported");
  g_autofree char *bad = g_strconcat (
      csv_header, "\"USB-002\",\"USBメモリ\",\"A\",\"B\",\"C\",\"2026/11/02\",\"x\",\"登録\"\r\n",
      "\"USB-003\",\"USBメモリ\",\"A\",\"B\",\"=cmd|' /C "
      "calc'!A0\",\"2026/11/02\",\"x\",\"登録\"\r\n",
      "\"USB-004\",\"USBメモリ\",\"A\",\"B\",\"D\",\"2026/11/02\",\"x\",\"登録\"\r\n", NULL);
  g_autoptr (GBytes) hostile = g_bytes_new_static (bad, strlen (bad));
  g_assert_false (sk_media_register_import_csv (reg, &fx->admin, hostile, &added, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_CSV_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "line 3:"));
  g_clear_error (&error);
  g_autoptr (GPtrArray) after = sk_media_register_list (reg, TRUE, &error);
  g_assert_cmpuint (after->len, ==, 2);
  g_autoptr (SkJournalRow) refused = last_row (fx, "media-register-imported");
  g_assert_cmpstr (refused->outcome, ==, "refused");
  g_assert_cmpstr (refused->reason, ==, "media-csv-invalid");
  g_assert_cmpuint (rows_of (fx, "media-register-imported"), ==, before + 1);

  /* Semantics per line: a bad date, an unknown kind, a bad state, a wrong
   * header, a second active row for one number. */
  const char *bad_rows[] = {
    "\"USB-005\",\"USBメモリ\",\"A\",\"B\",\"C\",\"2026/02/30\",\"x\",\"登録\"\r\n",
    "\"USB-005\",\"フロッピー\",\"A\",\"B\",\"C\",\"2026/02/01\",\"x\",\"登録\"\r\n",
    "\"USB-005\",\"USBメモリ\",\"A\",\"B\",\"C\",\"2026/02/01\",\"x\",\"紛失\"\r\n",
    "\"USB-001\",\"USBメモリ\",\"Other\",\"B\",\"C\",\"2026/02/01\",\"x\",\"登録\"\r\n",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad_rows); i++)
    {
      g_autofree char *one = g_strconcat (csv_header, bad_rows[i], NULL);
      g_autoptr (GBytes) b = g_bytes_new_static (one, strlen (one));
      g_assert_false (sk_media_register_import_csv (reg, &fx->admin, b, NULL, &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_CSV_INVALID);
      g_assert_true (g_str_has_prefix (error->message, "line 2:"));
      g_clear_error (&error);
    }
  const char *wrong_header =
      "\"番号\",\"種別\",\"メーカー\",\"型番\",\"シリアル\",\"登録日\",\"登録者\","
      "\"状態\"\r\n";
  g_autoptr (GBytes) wh = g_bytes_new_static (wrong_header, strlen (wrong_header));
  g_assert_false (sk_media_register_import_csv (reg, &fx->admin, wh, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_CSV_INVALID);
}

/* ---- devices ---------------------------------------------------------------- */

/* A registered stick: accepted for import and export; an unregistered one
 * refused for both under the default policy; every step journaled. */
static void
test_registered_stick (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *populate = g_build_filename (fx->tmp, "stick", NULL);
  g_autofree char *pkg = pack_into (fx, 31, populate);
  g_assert_nonnull (pkg);
  g_autofree char *export_case = case_with_result (fx, 32);
  Loop *l = make_loop (fx, populate);
  start_media (fx);
  g_autofree char *disk = add_usb (fx, "SERIAL-0001", storage_only, l->devnode);
  pump_until (&fx->added, 1);

  g_autofree char *id = only_medium_id (fx);
  g_autoptr (SkJournalRow) inserted = last_row (fx, "media-inserted");
  g_assert_nonnull (strstr (inserted->details, "\"registered\":\"no\""));
  /* The device's text is escaped: the bidi override in its product name. */
  g_assert_nonnull (strstr (inserted->device, "Stick \\u202e"));
  g_assert_null (strstr (inserted->device, "\xe2\x80\xae"));

  /* Unregistered: export and (default policy) import refused. */
  g_autoptr (GPtrArray) none =
      sk_media_import (fx->media, fx->pipe, &fx->op, NULL, NULL, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_UNREGISTERED);
  g_assert_null (none);
  g_clear_error (&error);
  g_autofree char *nofile =
      sk_media_export (fx->media, fx->pipe, &fx->op, NULL, export_case, NULL, &error);
  g_assert_null (nofile);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_UNREGISTERED);
  g_clear_error (&error);
  g_autoptr (SkJournalRow) refused = last_row (fx, "media-export");
  g_assert_cmpstr (refused->reason, ==, "media-unregistered");

  /* Register; a second medium under the same number is refused. */
  g_autoptr (SkMediumRecord) r = register_ok (fx, id, "USB-0001");
  g_assert_cmpstr (r->serial, ==, "SERIAL-0001");
  g_autoptr (SkJournalRow) reg = last_row (fx, "media-registered");
  g_assert_cmpstr (reg->outcome, ==, "ok");
  g_assert_nonnull (strstr (reg->details, "USB-0001"));
  g_autoptr (SkMediumRecord) twice =
      sk_media_register_medium (fx->media, &fx->admin, id, "USB-0001", NULL, &error);
  g_assert_null (twice);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_NUMBER_IN_USE);
  g_clear_error (&error);

  /* Taken out and put back: recognised by device and token. */
  remove_device (fx, disk);
  g_autoptr (SkJournalRow) removed = last_row (fx, "media-removed");
  g_assert_nonnull (strstr (removed->details, "USB-0001"));
  g_free (disk);
  disk = add_usb (fx, "SERIAL-0001", storage_only, l->devnode);
  pump_until (&fx->added, 2);
  g_autoptr (SkJournalRow) again = last_row (fx, "media-inserted");
  g_assert_nonnull (strstr (again->details, "\"number\":\"USB-0001\""));
  g_free (id);
  id = only_medium_id (fx);

  /* Import: the package is read into the store, the medium unmounted. */
  g_autoptr (SkProgress) progress = sk_progress_new (NULL);
  g_autoptr (GPtrArray) results =
      sk_media_import (fx->media, fx->pipe, &fx->op, id, progress, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (results->len, ==, 1);
  SkMediumImport *imp = g_ptr_array_index (results, 0);
  g_assert_null (imp->reason);
  /* The package's phases were told, the last one to its end. */
  g_autofree char *phase = NULL;
  guint64 done = 0, total = 0;
  sk_progress_get (progress, &phase, &done, &total);
  g_assert_nonnull (phase);
  g_assert_cmpuint (total, >, 0);
  g_assert_cmpuint (done, ==, total);
  g_autofree char *case31 = case_of (31);
  g_assert_cmpstr (imp->case_id, ==, case31);
  g_autoptr (SkJournalRow) imported = last_row (fx, "media-import");
  g_assert_cmpstr (imported->outcome, ==, "ok");

  /* Export: written, read back through a fresh mount, journaled. */
  g_autofree char *file =
      sk_media_export (fx->media, fx->pipe, &fx->op, id, export_case, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (file, ".tar.gpg"));
  g_autoptr (SkJournalRow) exported = last_row (fx, "media-export");
  g_assert_cmpstr (exported->outcome, ==, "ok");
  g_assert_cmpstr (exported->case_id, ==, export_case);
  g_assert_nonnull (strstr (exported->details, "\"read_back\":\"identical\""));
  g_assert_nonnull (strstr (exported->details, "USB-0001"));

  /* The package is on the medium, whole: the standard side accepts it. */
  g_autoptr (SkMount) look =
      sk_mount_new (l->devnode, devnum_of (l->devnode), "ext4", SK_MOUNT_READ_ONLY, &error);
  g_assert_no_error (error);
  g_autofree char *on_medium = g_build_filename (sk_mount_get_path (look), file, NULL);
  g_autoptr (SkPackageResult) checked =
      sk_package_check (fx->st.std, fx->st.std_policy, on_medium, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (checked);
  g_assert_true (sk_mount_unmount (look, &error));

  /* Unregistered again: the token no longer counts. */
  g_assert_true (
      sk_media_register_remove (sk_media_get_register (fx->media), &fx->admin, "USB-0001", &error));
  g_assert_no_error (error);
  g_autofree char *after =
      sk_media_export (fx->media, fx->pipe, &fx->op, id, export_case, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_UNREGISTERED);
  g_assert_null (after);
}

/* A keyboard (HID) interface beside the storage: refused and journaled. */
static void
test_composite (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_autoptr (GError) error = NULL;
  Loop *l = make_loop (fx, NULL);
  start_media (fx);
  const char *const classes[] = { "08", "03", NULL };
  g_autofree char *disk = add_usb (fx, "BADUSB", classes, l->devnode);
  g_assert_nonnull (disk);
  pump_until (&fx->refused, 1);
  g_assert_cmpuint (fx->added, ==, 0);
  g_autoptr (SkJournalRow) row = last_row (fx, "media-refused");
  g_assert_cmpstr (row->reason, ==, "media-class");
  g_assert_nonnull (strstr (row->details, "HID"));
  g_autoptr (SkMedium) m = sk_media_pick (fx->media, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_CLASS);
  g_assert_null (m);
  g_clear_error (&error);
  g_autoptr (GPtrArray) none =
      sk_media_import (fx->media, fx->pipe, &fx->op, NULL, NULL, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_CLASS);
}

/* An optical drive off USB is a medium; without a disc it holds none.  An
 * internal disk is no medium at all. */
static void
test_optical (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_autoptr (GError) error = NULL;
  start_media (fx);
  g_autofree char *internal = umockdev_testbed_add_device (
      fx->tb, "block", "nvme0n1", NULL, "size", "1000000", "removable", "0", NULL, "DEVNAME",
      "/dev/nvme0n1", "DEVTYPE", "disk", "ID_BUS", "nvme", NULL);
  g_assert_nonnull (internal);
  g_autofree char *sr = umockdev_testbed_add_device (
      fx->tb, "block", "sr0", NULL, "size", "0", "removable", "1", NULL, "DEVNAME", "/dev/sr0",
      "DEVTYPE", "disk", "ID_CDROM", "1", "ID_BUS", "ata", NULL);
  g_assert_nonnull (sr);
  pump_until (&fx->added, 1);
  g_autoptr (GPtrArray) list = sk_media_list (fx->media);
  g_assert_cmpuint (list->len, ==, 1);
  SkMedium *m = g_ptr_array_index (list, 0);
  g_assert_cmpint (m->klass, ==, SK_MEDIUM_CLASS_OPTICAL);
  g_autoptr (SkJournalRow) row = last_row (fx, "media-inserted");
  g_assert_nonnull (strstr (row->details, "\"class\":\"optical\""));
  g_autoptr (SkBlockDevice) fs = sk_media_filesystem (fx->media, m, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_NONE);
  g_assert_null (fs);
  g_clear_error (&error);
  /* An optical disc carries no token: it cannot be registered. */
  g_autoptr (SkMediumRecord) r =
      sk_media_register_medium (fx->media, &fx->admin, m->id, "CD-1", NULL, &error);
  g_assert_nonnull (error);
  g_assert_null (r);
}

/* No medium, several media, several partitions: each its own reason. */
static void
test_states (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_autoptr (GError) error = NULL;
  start_media (fx);
  g_autoptr (SkMedium) none = sk_media_pick (fx->media, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_NONE);
  g_clear_error (&error);

  Loop *a = make_loop (fx, NULL);
  Loop *b = make_loop (fx, NULL);
  g_autofree char *da = add_usb (fx, "A", storage_only, a->devnode);
  g_assert_nonnull (da);
  g_autofree char *db = add_usb (fx, "B", storage_only, b->devnode);
  pump_until (&fx->added, 2);
  g_autoptr (SkMedium) which = sk_media_pick (fx->media, NULL, &error);
  g_assert_null (which);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_SEVERAL);
  /* Which ones: each by its id and serial. */
  g_assert_nonnull (strstr (error->message, "m1 (not registered, A)"));
  g_assert_nonnull (strstr (error->message, "m2 (not registered, B)"));
  g_clear_error (&error);
  g_autoptr (SkMedium) named = sk_media_pick (fx->media, "m9", &error);
  g_assert_null (named);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_NONE);
  g_clear_error (&error);

  /* Two partitions on the second stick. */
  for (guint i = 1; i <= 2; i++)
    {
      g_autofree char *name = g_strdup_printf ("sdc%u", i);
      g_autofree char *part =
          umockdev_testbed_add_device (fx->tb, "block", name, db, "size", "100", NULL, "DEVNAME",
                                       b->devnode, "DEVTYPE", "partition", NULL);
      g_assert_nonnull (part);
    }
  g_autoptr (GPtrArray) list = sk_media_list (fx->media);
  SkMedium *second = g_ptr_array_index (list, 1);
  g_assert_cmpstr (second->disk->serial, ==, "B");
  g_autoptr (SkBlockDevice) fs = sk_media_filesystem (fx->media, second, &error);
  g_assert_null (fs);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_PARTITIONS);
}

/* Serial matches the register but the token is missing, forged or altered;
 * a token copied onto a stick of another serial: all unregistered. */
static void
test_tokens (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_autoptr (GError) error = NULL;
  Loop *a = make_loop (fx, NULL);
  Loop *b = make_loop (fx, NULL);
  g_free (plug_registered (fx, "GENUINE", a->devnode, "USB-0100", NULL));
  SkMediaRegister *reg = sk_media_get_register (fx->media);

  /* Read the genuine token off A. */
  g_autoptr (SkMount) ma =
      sk_mount_new (a->devnode, devnum_of (a->devnode), "ext4", SK_MOUNT_READ_ONLY, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) doc = sk_mount_read_small (ma, SK_MEDIUM_TOKEN_NAME, 4096, &error);
  g_autoptr (GBytes) sig = sk_mount_read_small (ma, SK_MEDIUM_TOKEN_SIG_NAME, 4096, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) media = sk_media_list (fx->media);
  SkMedium *genuine = g_ptr_array_index (media, 0);
  g_autoptr (SkMediumRecord) ok =
      sk_media_register_check (reg, genuine->disk, "usb-storage", ma, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ok->number, ==, "USB-0100");
  g_assert_true (sk_mount_unmount (ma, &error));

  /* B: a cloned serial, first with no token at all. */
  SkBlockDevice *clone = sk_block_device_copy (genuine->disk);
  g_free (clone->devnode);
  clone->devnode = g_strdup (b->devnode);
  g_autoptr (SkBlockDevice) clone_owner = clone;
  g_assert_nonnull (clone_owner);
  struct
  {
    const char *what;
    GBytes *doc;
    GBytes *sig;
    const char *serial;
    const char *why;
  } tries[5];
  g_autofree char *forged_text = NULL;
  {
    gsize len;
    const char *d = g_bytes_get_data (doc, &len);
    g_autofree char *t = g_strndup (d, len);
    g_autoptr (GString) s = g_string_new (t);
    g_string_replace (s, "USB-0100", "USB-0999", 1);
    forged_text = g_string_free (g_steal_pointer (&s), FALSE);
  }
  g_autoptr (GBytes) altered = g_bytes_new_static (forged_text, strlen (forged_text));
  /* Signed by another key (mallory's): the right words, the wrong signer. */
  g_autoptr (GBytes) mallory_sig =
      sk_test_keys_gpg (doc, "--local-user", sk_test_keys.mallory, "--detach-sign", NULL);
  tries[0] = (typeof (tries[0])){ "no token", NULL, NULL, "GENUINE", "no usable token" };
  tries[1] = (typeof (tries[0])){ "altered", altered, sig, "GENUINE", "not signed" };
  tries[2] = (typeof (tries[0])){ "forged", doc, mallory_sig, "GENUINE", "not signed" };
  tries[3] = (typeof (tries[0])){ "copied", doc, sig, "OTHER-SERIAL", "another identity" };
  tries[4] = (typeof (tries[0])){ "copied, no serial", doc, sig, "", "another identity" };
  for (guint i = 0; i < G_N_ELEMENTS (tries); i++)
    {
      g_autoptr (SkMount) rw =
          sk_mount_new (b->devnode, devnum_of (b->devnode), "ext4", SK_MOUNT_READ_WRITE, &error);
      g_assert_no_error (error);
      g_assert_true (sk_mount_remove (rw, SK_MEDIUM_TOKEN_NAME, &error));
      g_assert_true (sk_mount_remove (rw, SK_MEDIUM_TOKEN_SIG_NAME, &error));
      GBytes *parts[] = { tries[i].doc, tries[i].sig };
      const char *names[] = { SK_MEDIUM_TOKEN_NAME, SK_MEDIUM_TOKEN_SIG_NAME };
      for (guint k = 0; k < 2 && tries[i].doc != NULL; k++)
        {
          g_autofree char *p = g_build_filename (sk_mount_get_path (rw), names[k], NULL);
          gsize len;
          const char *d = g_bytes_get_data (parts[k], &len);
          g_assert_true (g_file_set_contents (p, d, (gssize)len, NULL));
        }
      g_assert_true (sk_mount_unmount (rw, &error));
      g_free (clone->serial);
      clone->serial = g_strdup (tries[i].serial);
      g_autoptr (SkMount) ro =
          sk_mount_new (b->devnode, devnum_of (b->devnode), "ext4", SK_MOUNT_READ_ONLY, &error);
      g_autoptr (SkMediumRecord) none =
          sk_media_register_check (reg, clone, "usb-storage", ro, &error);
      if (none != NULL || error == NULL || error->code != SK_ERROR_MEDIA_UNREGISTERED ||
          strstr (error->message, tries[i].why) == NULL)
        g_error ("%s: %s", tries[i].what, error != NULL ? error->message : "accepted");
      g_clear_error (&error);
      g_assert_true (sk_mount_unmount (ro, &error));
    }

  /* The same through udev: a stick with the copied token and another serial
   * is inserted as unregistered and refused for export. */
  g_autofree char *dbb = add_usb (fx, "OTHER-SERIAL", storage_only, b->devnode);
  g_assert_nonnull (dbb);
  pump_until (&fx->added, 2);
  g_autoptr (SkJournalRow) row = last_row (fx, "media-inserted");
  g_assert_nonnull (strstr (row->details, "\"registered\":\"no\""));
  g_assert_nonnull (strstr (row->details, "media-unregistered"));
}

/* The node udev named is swapped after udev reported it and before the
 * mount: another device's node, a symbolic link to the right device, a
 * plain file.  Each is refused (media-removed) before anything is
 * mounted, and the device put in its place is not touched.  Put back, the
 * same medium imports. */
static void
test_swapped_node (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *populate = g_build_filename (fx->tmp, "swap", NULL);
  g_autofree char *pkg = pack_into (fx, 61, populate);
  g_assert_nonnull (pkg);
  Loop *a = make_loop (fx, populate);
  Loop *b = make_loop (fx, NULL);
  /* Under /dev, as udev's names are (libudev insists). */
  fx->dev_node = g_strdup_printf ("/dev/sekisho-test-%d-swap", (int)getpid ());
  const char *node = fx->dev_node;
  unlink (node);
  g_assert_cmpint (mknod (node, S_IFBLK | 0600, devnum_of (a->devnode)), ==, 0);
  g_autofree char *disk = NULL;
  g_autofree char *id = plug_registered (fx, "SWAPPED", node, "USB-0700", &disk);
  g_autofree char *b_before = file_sha256 (b->img);

  struct
  {
    const char *what;
    const char *says;
  } swaps[] = {
    { "another device", "no longer the device udev reported" },
    { "a symbolic link", "symbolic link" },
    { "a plain file", "not a block device" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (swaps); i++)
    {
      g_assert_cmpint (unlink (node), ==, 0);
      if (i == 0)
        g_assert_cmpint (mknod (node, S_IFBLK | 0600, devnum_of (b->devnode)), ==, 0);
      else if (i == 1)
        g_assert_cmpint (symlink (a->devnode, node), ==, 0);
      else
        g_assert_true (g_file_set_contents (node, "not a disk", -1, NULL));
      g_autoptr (GPtrArray) results =
          sk_media_import (fx->media, fx->pipe, &fx->op, id, NULL, NULL, &error);
      g_assert_null (results);
      if (error == NULL || error->code != SK_ERROR_MEDIA_REMOVED ||
          strstr (error->message, swaps[i].says) == NULL)
        g_error ("%s in the node's place: %s", swaps[i].what,
                 error != NULL ? error->message : "accepted");
      g_clear_error (&error);
      g_assert_false (in_mountinfo (devnum_of (b->devnode)));
      g_autoptr (SkJournalRow) row = last_row (fx, "media-import");
      g_assert_cmpstr (row->reason, ==, "media-removed");
    }
  g_autofree char *b_after = file_sha256 (b->img);
  g_assert_cmpstr (b_before, ==, b_after);
  g_assert_cmpuint (rows_of (fx, "package-imported"), ==, 0);

  /* The right node again: the medium is used as ever. */
  g_assert_cmpint (unlink (node), ==, 0);
  g_assert_cmpint (mknod (node, S_IFBLK | 0600, devnum_of (a->devnode)), ==, 0);
  import_one_ok (fx, id);
}

/* A setuid binary, a device node, a symlink and FIFOs named like packages on
 * the medium: nothing follows, opens, hangs or runs; the mount options are
 * what the kernel shows. */
static void
test_planted (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *populate = g_build_filename (fx->tmp, "planted", NULL);
  g_autofree char *pkg = pack_into (fx, 41, populate);
  g_autofree char *p = NULL;
#define PLANT(name) (g_free (p), p = g_build_filename (populate, name, NULL))
  g_assert_cmpint (mkfifo (PLANT ("fifo.tar.gpg"), 0644), ==, 0);
  g_assert_cmpint (mkfifo (PLANT ("fifo.tar.gpg.sig"), 0644), ==, 0);
  g_assert_cmpint (mknod (PLANT ("null.tar.gpg"), S_IFCHR | 0666, makedev (1, 3)), ==, 0);
  g_assert_cmpint (symlink ("/etc/passwd", PLANT ("link.tar.gpg")), ==, 0);
  g_assert_cmpint (symlink ("../../../etc/shadow", PLANT ("up.tar.gpg")), ==, 0);
  g_autofree char *base = g_path_get_basename (pkg);
  g_autofree char *sig_target = g_strconcat (base, ".sig", NULL);
  /* A real package whose signature is a symlink to the real one. */
  g_assert_cmpint (symlink (sig_target, PLANT ("twin.tar.gpg.sig")), ==, 0);
  g_autofree char *pkg_data = NULL;
  gsize pkg_len;
  g_assert_true (g_file_get_contents (pkg, &pkg_data, &pkg_len, NULL));
  g_assert_true (g_file_set_contents (PLANT ("twin.tar.gpg"), pkg_data, (gssize)pkg_len, NULL));
  g_assert_true (
      g_file_set_contents (PLANT ("evil"), "#!/bin/sh\ntouch /tmp/sk-pwned\n", -1, NULL));
  g_assert_cmpint (chmod (p, 04755), ==, 0);
#undef PLANT
  Loop *l = make_loop (fx, populate);
  g_autofree char *id = plug_registered (fx, "PLANTED", l->devnode, "USB-0200", NULL);

  /* Mount options as the kernel shows them; the setuid file cannot run. */
  g_autoptr (SkMount) ro =
      sk_mount_new (l->devnode, devnum_of (l->devnode), "ext4", SK_MOUNT_READ_ONLY, &error);
  g_assert_no_error (error);
  g_autofree char *opts = sk_mount_read_options (ro, &error);
  g_assert_no_error (error);
  g_auto (GStrv) o = g_strsplit (opts, ",", -1);
  const char *want_ro[] = { "ro", "nosuid", "nodev", "noexec", "noatime", NULL };
  for (guint i = 0; want_ro[i] != NULL; i++)
    if (!g_strv_contains ((const char *const *)o, want_ro[i]))
      g_error ("read-only mount options \"%s\" lack %s", opts, want_ro[i]);
  /* The mount is detached: the device is in no mount table.  A clone of
   * it, attached here, shows the same options, and the file system's own
   * read-only state and noload ("norecovery"). */
  g_assert_false (in_mountinfo (devnum_of (l->devnode)));
  g_autofree char *info = mountinfo_of (fx, ro);
  g_test_message ("read-only mount: %s", info);
  g_assert_true (g_str_has_prefix (info, "ro,nosuid,nodev,noexec,noatime "));
  g_assert_nonnull (strstr (info, " - ext4 "));
  g_assert_true (strstr (info, " ro,") != NULL || g_str_has_suffix (info, " ro"));
  g_assert_nonnull (strstr (info, "norecovery"));
  g_autofree char *evil = g_build_filename (sk_mount_get_path (ro), "evil", NULL);
  struct stat st;
  g_assert_cmpint (stat (evil, &st), ==, 0);
  g_assert_true (st.st_mode & S_ISUID);          /* planted as setuid… */
  g_assert_cmpint (access (evil, X_OK), ==, -1); /* …and still not runnable */
  g_assert_cmpint (errno, ==, EACCES);
  /* Opening by name refuses each planted thing for what it is. */
  const char *const refused[] = { "fifo.tar.gpg",     "null.tar.gpg", "link.tar.gpg", "up.tar.gpg",
                                  "twin.tar.gpg.sig", "lost+found",   "../etc",       NULL };
  for (guint i = 0; refused[i] != NULL; i++)
    {
      int fd = sk_mount_open_file (ro, refused[i], NULL, &error);
      g_assert_cmpint (fd, ==, -1);
      g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_ENTRY_TYPE);
      g_clear_error (&error);
    }
  g_assert_true (sk_mount_unmount (ro, &error));

  g_autoptr (SkMount) rw =
      sk_mount_new (l->devnode, devnum_of (l->devnode), "ext4", SK_MOUNT_READ_WRITE, &error);
  g_assert_no_error (error);
  g_free (opts);
  opts = sk_mount_read_options (rw, &error);
  g_strfreev (o);
  o = g_strsplit (opts, ",", -1);
  const char *want_rw[] = { "rw", "nosuid", "nodev", "noexec", NULL };
  for (guint i = 0; want_rw[i] != NULL; i++)
    if (!g_strv_contains ((const char *const *)o, want_rw[i]))
      g_error ("read-write mount options \"%s\" lack %s", opts, want_rw[i]);
  g_autofree char *info_rw = mountinfo_of (fx, rw);
  g_test_message ("read-write mount: %s", info_rw);
  g_assert_true (g_str_has_prefix (info_rw, "rw,nosuid,nodev,noexec,noatime "));
  g_assert_true (sk_mount_unmount (rw, &error));

  /* A read-only mount something still holds open is left to its holder,
   * in no mount table; the device stays marked read-only meanwhile. */
  g_autofree char *pkg_base = g_path_get_basename (pkg);
  g_autoptr (SkMount) busy =
      sk_mount_new (l->devnode, devnum_of (l->devnode), "ext4", SK_MOUNT_READ_ONLY, &error);
  g_assert_no_error (error);
  int held = sk_mount_open_file (busy, pkg_base, NULL, &error);
  g_assert_cmpint (held, >=, 0);
  g_assert_true (sk_mount_unmount (busy, &error));
  g_assert_no_error (error);
  g_assert_false (in_mountinfo (devnum_of (l->devnode)));
  int ro_flag = 0;
  /* Through /proc/self/fd: umockdev's preload traps ioctls on
   * descriptors opened by a device's name. */
  int byname = open (l->devnode, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (byname, >=, 0);
  g_autofree char *again = g_strdup_printf ("/proc/self/fd/%d", byname);
  int devfd = open (again, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (devfd, >=, 0);
  close (byname);
  g_assert_cmpint (ioctl (devfd, BLKROGET, &ro_flag), ==, 0);
  g_assert_cmpint (ro_flag, ==, 1);
  char byte;
  g_assert_cmpint (read (held, &byte, 1), ==, 1); /* the holder still reads */
  close (held);
  g_clear_object (&busy);
  /* A read-write one still held is an error: what a read-back would read
   * next might come from the cache, not the medium. */
  g_autoptr (SkMount) busy_rw =
      sk_mount_new (l->devnode, devnum_of (l->devnode), "ext4", SK_MOUNT_READ_WRITE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ioctl (devfd, BLKROGET, &ro_flag), ==, 0);
  g_assert_cmpint (ro_flag, ==, 0);
  held = sk_mount_open_file (busy_rw, pkg_base, NULL, &error);
  g_assert_cmpint (held, >=, 0);
  g_assert_false (sk_mount_unmount (busy_rw, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_IO_ERROR);
  g_clear_error (&error);
  close (held);
  g_clear_object (&busy_rw);
  /* Closed, the device is free again: an exclusive open works. */
  int excl = open (l->devnode, O_RDONLY | O_EXCL | O_CLOEXEC);
  g_assert_cmpint (excl, >=, 0);
  close (excl);
  close (devfd);

  /* Import: only the real package comes in; each planted name is refused
   * by name and journaled; nothing hangs on the FIFOs. */
  gint64 start = g_get_monotonic_time ();
  g_autoptr (GPtrArray) results =
      sk_media_import (fx->media, fx->pipe, &fx->op, id, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 30 * G_USEC_PER_SEC);
  guint imported = 0;
  for (guint i = 0; i < results->len; i++)
    {
      SkMediumImport *imp = g_ptr_array_index (results, i);
      if (g_str_equal (imp->name, base))
        {
          g_assert_null (imp->reason);
          imported++;
        }
      else if (g_str_equal (imp->name, "twin.tar.gpg"))
        g_assert_cmpstr (imp->reason, ==, "media-entry-type"); /* its .sig is a link */
      else
        g_assert_cmpstr (imp->reason, ==, "media-entry-type");
    }
  g_assert_cmpuint (imported, ==, 1);
  g_assert_cmpuint (results->len, ==, 6);
  g_assert_false (g_file_test ("/tmp/sk-pwned", G_FILE_TEST_EXISTS));
  g_autoptr (SkJournalRow) row = last_row (fx, "package-refused");
  g_assert_cmpstr (row->reason, ==, "media-entry-type");
}

/* A byte of the backing file flipped between write and read-back: caught. */
typedef struct
{
  Fixture *fx;
  Loop *loop;
  guint8 head[4096];
  gboolean have_head;
  gboolean flipped;
} Flip;

static void
flip_hook (const char *point, gpointer data)
{
  Flip *f = data;
  if (g_str_equal (point, "media-written"))
    {
      /* The package as written, through the read-write mount: a folder
       * this process holds open on the loop device's file system. */
      dev_t dev = devnum_of (f->loop->devnode);
      g_autoptr (GDir) fds = g_dir_open ("/proc/self/fd", 0, NULL);
      const char *fd_name;
      while (fds != NULL && !f->have_head && (fd_name = g_dir_read_name (fds)) != NULL)
        {
          int dirfd = (int)g_ascii_strtoll (fd_name, NULL, 10);
          struct stat st;
          if (fstat (dirfd, &st) != 0 || !S_ISDIR (st.st_mode) || st.st_dev != dev)
            continue;
          int listfd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          DIR *md = fdopendir (listfd);
          struct dirent *de;
          while (md != NULL && (de = readdir (md)) != NULL)
            if (g_str_has_suffix (de->d_name, ".tar.gpg"))
              {
                int fd = openat (dirfd, de->d_name, O_RDONLY | O_CLOEXEC);
                g_assert_cmpint (read (fd, f->head, sizeof f->head), ==, sizeof f->head);
                close (fd);
                f->have_head = TRUE;
              }
          if (md != NULL)
            closedir (md);
        }
    }
  else if (g_str_equal (point, "media-before-readback") && f->have_head)
    {
      g_autofree char *img = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (f->loop->img, &img, &len, NULL));
      guint8 *at = memmem (img, len, f->head, sizeof f->head);
      g_assert_nonnull (at);
      int fd = open (f->loop->img, O_WRONLY);
      guint8 b = at[1000] ^ 0x01;
      g_assert_cmpint (pwrite (fd, &b, 1, (at - (guint8 *)img) + 1000), ==, 1);
      g_assert_cmpint (fsync (fd), ==, 0);
      close (fd);
      f->flipped = TRUE;
    }
}

static void
test_readback_flip (Fixture *fx, gconstpointer data)
{
  if (skip_without_faults (fx))
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *export_case = case_with_result (fx, 51);
  Loop *l = make_loop (fx, NULL);
  g_autofree char *id = plug_registered (fx, "FLIP", l->devnode, "USB-0300", NULL);

  Flip f = { .fx = fx, .loop = l };
  sk_fault_set_hook (flip_hook, &f);
  g_autofree char *file =
      sk_media_export (fx->media, fx->pipe, &fx->op, id, export_case, NULL, &error);
  sk_fault_set_hook (NULL, NULL);
  g_assert_true (f.flipped);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_READBACK_MISMATCH);
  g_assert_null (file);
  g_autoptr (SkJournalRow) row = last_row (fx, "media-export");
  g_assert_cmpstr (row->outcome, ==, "failed");
  g_assert_cmpstr (row->reason, ==, "media-readback-mismatch");
  g_assert_cmpstr (row->case_id, ==, export_case);
  g_clear_error (&error);

  /* Not proven, so not recorded: the results are still waiting, and the
   * export again writes and proves the same package. */
  g_autoptr (SkJournalRow) failed = last_row (fx, "export-failed");
  g_assert_cmpstr (failed->reason, ==, "media-readback-mismatch");
  g_assert_cmpuint (rows_of (fx, "package-exported"), ==, 0);
  g_autoptr (SkCase) waiting = sk_pipeline_get_case (fx->pipe, export_case, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (waiting->state, ==, "results-in");
  g_autofree char *again =
      sk_media_export (fx->media, fx->pipe, &fx->op, id, export_case, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (again);
  g_assert_cmpuint (rows_of (fx, "package-exported"), ==, 1);
  g_autoptr (SkJournalRow) exported = last_row (fx, "package-exported");
  g_assert_cmpstr (exported->package_id, ==, failed->package_id);
}

/* Not enough room on the medium: refused before a byte is written. */
static void
test_full (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *export_case = case_with_result (fx, 61);
  g_autofree char *populate = g_build_filename (fx->tmp, "full", NULL);
  g_assert_cmpint (g_mkdir (populate, 0700), ==, 0);
  g_autofree char *filler = g_build_filename (populate, "filler", NULL);
  int fd = open (filler, O_CREAT | O_WRONLY, 0600);
  g_autofree char *buf = g_malloc (1024 * 1024);
  memset (buf, 0x5a, 1024 * 1024); /* not zeros: mkfs.ext4 -d would leave a hole */
  for (guint i = 0; i < 12; i++)
    g_assert_cmpint (write (fd, buf, 1024 * 1024), ==, 1024 * 1024);
  close (fd);
  Loop *l = make_loop (fx, populate);
  g_autofree char *id = plug_registered (fx, "FULL", l->devnode, "USB-0400", NULL);
  g_autofree char *file =
      sk_media_export (fx->media, fx->pipe, &fx->op, id, export_case, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_FULL);
  g_assert_null (file);
  /* Nothing but the filler, the token and lost+found is on it. */
  g_autoptr (SkMount) ro =
      sk_mount_new (l->devnode, devnum_of (l->devnode), "ext4", SK_MOUNT_READ_ONLY, &error);
  g_autoptr (GPtrArray) names = sk_mount_list (ro, &error);
  g_assert_cmpuint (names->len, ==, 4);
  g_assert_true (sk_mount_unmount (ro, &error));
}

/* Pulled during import: the job ends with media-removed at once, and the
 * removal is journaled. */
typedef struct
{
  Fixture *fx;
  char *disk;
  gboolean pulled;
} Pull;

static void
pull_hook (const char *point, gpointer data)
{
  Pull *p = data;
  if (p->pulled || !g_str_equal (point, "store-put-before-fsync"))
    return;
  p->pulled = TRUE;
  umockdev_testbed_uevent (p->fx->tb, p->disk, "remove");
  /* The monitor's message is read on this (the owning) context. */
  pump_until (&p->fx->removed, 1);
}

static void
test_pulled (Fixture *fx, gconstpointer data)
{
  if (skip_without_faults (fx))
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *populate = g_build_filename (fx->tmp, "pulled", NULL);
  g_autofree char *pkg = pack_into (fx, 71, populate);
  Loop *l = make_loop (fx, populate);
  g_autofree char *disk = NULL;
  g_autofree char *id = plug_registered (fx, "PULLED", l->devnode, "USB-0500", &disk);

  Pull p = { .fx = fx, .disk = disk };
  sk_fault_set_hook (pull_hook, &p);
  gint64 start = g_get_monotonic_time ();
  g_autoptr (GPtrArray) results =
      sk_media_import (fx->media, fx->pipe, &fx->op, id, NULL, NULL, &error);
  sk_fault_set_hook (NULL, NULL);
  g_assert_true (p.pulled);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_REMOVED);
  g_assert_null (results);
  g_autofree char *pkg_base = g_path_get_basename (pkg);
  g_assert_nonnull (strstr (error->message, pkg_base)); /* what must be done again */
  g_clear_error (&error);
  g_autoptr (SkJournalRow) gone = last_row (fx, "media-removed");
  g_assert_nonnull (strstr (gone->details, "\"in_use\":\"yes\""));
  g_autoptr (SkJournalRow) row = last_row (fx, "media-import");
  g_assert_cmpstr (row->reason, ==, "media-removed");
  /* Nothing half-written: no case, nothing in the store. */
  g_autofree char *case71 = case_of (71);
  g_autoptr (SkCase) c = sk_pipeline_get_case (fx->pipe, case71, &error);
  g_assert_null (c);
  g_clear_error (&error);
  g_autoptr (SkStore) store = sk_station_open_store (fx->st.term, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) items = sk_store_list (store, &error);
  g_assert_cmpuint (items->len, ==, 0);
}

/* The CLI on the terminal station with ARGS and --json: its exit status,
 * its output in *OUT.  MOCKED: in-process as far as devices go, seeing
 * this test's mocked devices (umockdev's preload and testbed, inherited);
 * else without the preload. */
static int
run_cli_argv (Fixture *fx, char **out, const char *const *args, gboolean mocked)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *)g_getenv ("SEKISHO_CLI"));
  g_ptr_array_add (argv, (char *)"--station");
  g_ptr_array_add (argv, (char *)sk_station_get_dir (fx->st.term));
  g_ptr_array_add (argv, (char *)"--json");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *)args[i]);
  g_ptr_array_add (argv, NULL);
  g_auto (GStrv) env = mocked ? NULL : g_environ_unsetenv (g_get_environ (), "LD_PRELOAD");
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **)argv->pdata, env, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, out, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

/* The command line: the register out and back in as CSV, a hostile CSV
 * refused with exit 1 and its reason, the list as JSON. */
static int
run_cli (Fixture *fx, char **out, const char *first, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *)a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  return run_cli_argv (fx, out, (const char *const *)args->pdata, FALSE);
}

/* The CLI seeing this test's mocked devices. */
static int
run_cli_mocked (Fixture *fx, char **out, const char *const *args)
{
  return run_cli_argv (fx, out, args, TRUE);
}

/* Holds DEVNODE's block device exclusively, as a mounted file system
 * would: any mount of it fails while the descriptor is open. */
static int
hold_exclusively (const char *devnode)
{
  int byname = open (devnode, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (byname, >=, 0);
  g_autofree char *again = g_strdup_printf ("/proc/self/fd/%d", byname);
  int fd = open (again, O_RDONLY | O_EXCL | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  close (byname);
  return fd;
}

/* Looking only (SK_MEDIA_LOOK_ONLY, `media list --devices` in-process)
 * never mounts a medium: with its device held as a mount would hold it,
 * the full take-in fails to read the token (and says so in the journal)
 * while looking lists the same medium, reads and journals nothing. */
static void
test_look_only (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_autoptr (GError) error = NULL;
  Loop *l = make_loop (fx, NULL);
  g_autofree char *disk = NULL;
  g_free (plug_registered (fx, "LOOK", l->devnode, "USB-0900", &disk));
  g_clear_object (&fx->media);

  int held = hold_exclusively (l->devnode);
  guint inserted = rows_of (fx, "media-inserted");
  /* The contrast: taking media in for use mounts, and the hold shows it. */
  g_autoptr (SkMedia) full =
      sk_media_new (fx->st.term, fx->journal, fx->st.term_policy, fx->udev, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) full_list = sk_media_list (full);
  g_assert_cmpuint (full_list->len, ==, 1);
  g_assert_null (((SkMedium *)g_ptr_array_index (full_list, 0))->number);
  g_assert_cmpuint (rows_of (fx, "media-inserted"), ==, inserted + 1);
  g_clear_object (&full);

  g_autoptr (SkMedia) look = sk_media_new_full (fx->st.term, fx->journal, fx->st.term_policy,
                                                fx->udev, SK_MEDIA_LOOK_ONLY, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) list = sk_media_list (look);
  g_assert_cmpuint (list->len, ==, 1);
  SkMedium *m = g_ptr_array_index (list, 0);
  g_assert_cmpstr (m->disk->serial, ==, "LOOK");
  g_assert_null (m->number);
  g_assert_null (m->refused_reason);
  g_assert_cmpuint (rows_of (fx, "media-inserted"), ==, inserted + 1);

  /* The command line in-process: listed from udev, the token not read,
   * the register's row for this identity named as a hint; nothing
   * journaled, with the device still held. */
  g_autofree char *out = NULL;
  const char *const list_args[] = { "media", "list", "--devices", NULL };
  g_assert_cmpint (run_cli_mocked (fx, &out, list_args), ==, 0);
  g_test_message ("%s", out);
  g_assert_nonnull (strstr (out, "\"serial\":\"LOOK\""));
  g_assert_nonnull (strstr (out, "\"token\":\"not-read\""));
  g_assert_nonnull (strstr (out, "\"registered\":null"));
  g_assert_nonnull (strstr (out, "\"register_matches\":[\"USB-0900\"]"));
  g_assert_cmpuint (rows_of (fx, "media-inserted"), ==, inserted + 1);
  close (held);

  /* Where no service runs, --tokens reads them in-process. */
  g_free (out);
  out = NULL;
  const char *const token_args[] = { "media", "list", "--devices", "--tokens", NULL };
  g_assert_cmpint (run_cli_mocked (fx, &out, token_args), ==, 0);
  g_assert_nonnull (strstr (out, "\"registered\":true"));
  g_assert_nonnull (strstr (out, "\"number\":\"USB-0900\""));
}

static void
test_cli (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_assert_nonnull (g_getenv ("SEKISHO_CLI"));
  g_autofree char *csv_in = g_build_filename (fx->tmp, "in.csv", NULL);
  g_autofree char *csv_out = g_build_filename (fx->tmp, "out.csv", NULL);
  g_autofree char *text = g_strconcat (csv_header,
                                       "\"USB-010\",\"USBメモリ\",\"Maker\",\"Model\",\"S-10\","
                                       "\"2026/10/10\",\"admin-a\",\"登録\"\r\n",
                                       NULL);
  g_assert_true (g_file_set_contents (csv_in, text, -1, NULL));
  g_autofree char *out = NULL;
  g_assert_cmpint (run_cli (fx, &out, "media", "import", csv_in, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "\"added\":1"));
  g_free (out);
  g_assert_cmpint (run_cli (fx, &out, "media", "list", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "\"number\":\"USB-010\""));
  g_assert_nonnull (strstr (out, "\"state\":\"pending\""));
  g_free (out);
  g_assert_cmpint (run_cli (fx, &out, "media", "export", "--out", csv_out, NULL), ==, 0);
  g_autofree char *back = NULL;
  g_assert_true (g_file_get_contents (csv_out, &back, NULL, NULL));
  g_assert_true (g_str_has_prefix (back, csv_header));
  g_assert_nonnull (strstr (back, "\"USB-010\",\"USBメモリ\",\"Maker\",\"Model\",\"S-10\","));
  g_free (out);
  /* Exporting over an existing file is refused; the file is left alone. */
  g_assert_cmpint (run_cli (fx, &out, "media", "export", "--out", csv_out, NULL), ==, 3);
  g_free (out);

  g_autofree char *hostile = g_strconcat (csv_header,
                                          "\"USB-011\",\"USBメモリ\",\"=HYPERLINK(\"\"http://"
                                          "x\"\")\",\"M\",\"S\",\"2026/10/10\",\"a\",\"登録\"\r\n",
                                          NULL);
  g_assert_true (g_file_set_contents (csv_in, hostile, -1, NULL));
  g_assert_cmpint (run_cli (fx, &out, "media", "import", csv_in, NULL), ==, 1);
  g_assert_nonnull (strstr (out, "\"reason\":\"media-csv-invalid\""));
  g_assert_nonnull (strstr (out, "line 2"));
  g_free (out);
  g_assert_cmpint (run_cli (fx, &out, "media", "unregister", "USB-010", NULL), ==, 0);
  g_free (out);
  g_assert_cmpint (run_cli (fx, &out, "media", "unregister", "USB-010", NULL), ==, 1);
  g_assert_nonnull (strstr (out, "\"reason\":\"media-unregistered\""));
  g_free (out);

  /* A disc registered before it is burned: its token files in a folder. */
  g_autofree char *disc = g_build_filename (fx->tmp, "disc-master", NULL);
  g_assert_cmpint (g_mkdir (disc, 0700), ==, 0);
  g_assert_cmpint (run_cli (fx, &out, "media", "register", "--number", "CD-010", "--label",
                            "monthly", "--disc-out", disc, NULL),
                   ==, 0);
  g_assert_nonnull (strstr (out, "\"kind\":\"optical\""));
  g_free (out);
  g_autofree char *tok = g_build_filename (disc, SK_MEDIUM_TOKEN_NAME, NULL);
  g_autofree char *tok_sig = g_build_filename (disc, SK_MEDIUM_TOKEN_SIG_NAME, NULL);
  g_assert_true (g_file_test (tok, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (tok_sig, G_FILE_TEST_IS_REGULAR));
  /* Into a folder that already holds a token: refused, nothing registered. */
  g_assert_cmpint (
      run_cli (fx, &out, "media", "register", "--number", "CD-011", "--disc-out", disc, NULL), ==,
      2);
  g_free (out);
  g_assert_cmpint (run_cli (fx, &out, "media", "list", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "CD-010"));
  g_assert_null (strstr (out, "CD-011"));
}

/* A policy with import_unregistered: an unregistered stick may bring
 * packages in, and still may not take any out. */
static void
test_policy_import_unregistered (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_autoptr (GError) error = NULL;
  /* A fresh text: its serial is above the installed one's. */
  g_autofree char *fresh = sk_test_policy_text (NULL, NULL);
  g_autoptr (GString) text = g_string_new (fresh);
  g_assert_cmpuint (g_string_replace (text, "\"registered\": []",
                                      "\"registered\": [], \"import_unregistered\": true", 1),
                    ==, 1);
  g_autofree char *path = sk_test_write_policy (fx->tmp, "open-import.json", text->str);
  g_autoptr (SkPolicy) policy = sk_test_install (fx->st.term, path);
  g_assert_false (sk_policy_media_import_needs_registered (policy));
  g_assert_true (sk_policy_media_import_needs_registered (fx->st.term_policy));
  /* Both sides under the same policy: packages name the one they were made under. */
  g_clear_object (&fx->st.std_policy);
  fx->st.std_policy = sk_test_install (fx->st.std, path);
  g_clear_object (&fx->pipe);
  fx->pipe = sk_pipeline_new (fx->st.term, policy, fx->run, &error);
  g_assert_no_error (error);
  g_autofree char *export_case = case_with_result (fx, 81);

  g_autofree char *populate = g_build_filename (fx->tmp, "open", NULL);
  g_autofree char *pkg = pack_into (fx, 82, populate);
  g_assert_nonnull (pkg);
  Loop *l = make_loop (fx, populate);
  fx->media = sk_media_new (fx->st.term, fx->journal, policy, fx->udev, &error);
  g_assert_no_error (error);
  g_signal_connect (fx->media, "medium-added", G_CALLBACK (on_added), fx);
  g_autofree char *disk = add_usb (fx, "OPEN", storage_only, l->devnode);
  g_assert_nonnull (disk);
  pump_until (&fx->added, 1);

  import_one_ok (fx, NULL);
  g_autofree char *file =
      sk_media_export (fx->media, fx->pipe, &fx->op, NULL, export_case, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_UNREGISTERED);
  g_assert_null (file);
}

/* ---- a medium that fails: EIO on command ---------------------------------- */

typedef struct
{
  Fixture *fx;
  char *control; /* exists: every read, write and sync of the medium fails */
  char *mnt;
  GPid pid;
  Loop *loop;
  char *disk; /* the udev device, for a pull */
  const char *point;
  const char *heal; /* where the medium works again, or NULL */
  gboolean pull;    /* also tell udev it went */
  gboolean fired;
} Eio;

static void
eio_set (Eio *e, gboolean failing)
{
  if (failing)
    g_assert_true (g_file_set_contents (e->control, "", 0, NULL));
  else
    g_assert_cmpint (g_unlink (e->control), ==, 0);
}

static void
eio_hook (const char *point, gpointer data)
{
  Eio *e = data;
  if (e->fired && e->heal != NULL && g_str_equal (point, e->heal) &&
      g_file_test (e->control, G_FILE_TEST_EXISTS))
    eio_set (e, FALSE);
  if (e->fired || !g_str_equal (point, e->point))
    return;
  e->fired = TRUE;
  eio_set (e, TRUE);
  if (e->pull)
    {
      umockdev_testbed_uevent (e->fx->tb, e->disk, "remove");
      pump_until (&e->fx->removed, e->fx->removed + 1);
    }
}

/* An ext4 image of POPULATE (NULL: empty) served through sk-test-eio-fs,
 * under a loop device. */
static gboolean
eio_start (Fixture *fx, Eio *e, const char *populate)
{
  const char *helper = g_getenv ("SEKISHO_EIO_FS");
  if (helper == NULL || !g_file_test ("/dev/fuse", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("needs /dev/fuse and sk-test-eio-fs (SEKISHO_EIO_FS)");
      return FALSE;
    }
  e->fx = fx;
  g_autofree char *img = g_build_filename (fx->tmp, "eio-backing.img", NULL);
  int fd = open (img, O_CREAT | O_WRONLY | O_EXCL, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, IMAGE_MB * 1024 * 1024), ==, 0);
  close (fd);
  const char *mkfs[] = { "mkfs.ext4", "-q", "-F", "-d", populate, img, NULL };
  if (populate == NULL)
    mkfs[3] = img, mkfs[4] = NULL;
  g_free (run_real (mkfs));
  e->control = g_build_filename (fx->tmp, "eio-now", NULL);
  e->mnt = g_build_filename (fx->tmp, "eio-mnt", NULL);
  g_assert_cmpint (g_mkdir (e->mnt, 0700), ==, 0);

  const char *argv[] = { helper, img, e->control, e->mnt, NULL };
  g_auto (GStrv) env = g_get_environ ();
  env = g_environ_unsetenv (env, "LD_PRELOAD");
  g_autoptr (GError) error = NULL;
  g_spawn_async (NULL, (char **)argv, env, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &e->pid, &error);
  g_assert_no_error (error);
  g_autofree char *disk = g_build_filename (e->mnt, "disk.img", NULL);
  for (int i = 0; i < 500 && !g_file_test (disk, G_FILE_TEST_EXISTS); i++)
    g_usleep (10000);
  g_assert_true (g_file_test (disk, G_FILE_TEST_EXISTS));

  e->loop = g_new0 (Loop, 1);
  e->loop->img = g_strdup (disk);
  const char *losetup[] = { "losetup", "-f", "--show", disk, NULL };
  e->loop->devnode = run_real (losetup);
  g_ptr_array_add (fx->loops, e->loop);
  return TRUE;
}

static void
eio_stop (Eio *e)
{
  if (e->mnt == NULL)
    return;
  if (g_file_test (e->control, G_FILE_TEST_EXISTS))
    eio_set (e, FALSE);
  /* The loop device goes first (the fixture detaches it), then the FUSE
   * mount; the helper exits when it is unmounted. */
  const char *losetup[] = { "losetup", "-d", e->loop->devnode, NULL };
  g_free (run_real (losetup));
  g_ptr_array_remove (e->fx->loops, e->loop);
  g_free (e->loop->img);
  g_free (e->loop->devnode);
  g_free (e->loop);
  g_assert_cmpint (umount2 (e->mnt, MNT_DETACH), ==, 0);
  int status = 0;
  g_assert_cmpint (waitpid (e->pid, &status, 0), ==, e->pid);
  g_spawn_close_pid (e->pid);
  g_free (e->control);
  g_free (e->mnt);
  g_free (e->disk);
}

/* EIO mid-import (the stick pulled as its package is read): media-removed,
 * no case, nothing in the store. */
static void
test_eio_import (Fixture *fx, gconstpointer data)
{
  if (skip_without_faults (fx))
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *populate = g_build_filename (fx->tmp, "eio-in", NULL);
  g_autofree char *pkg = pack_into (fx, 91, populate);
  g_assert_nonnull (pkg);
  Eio e = { 0 };
  if (!eio_start (fx, &e, populate))
    return;
  g_autofree char *id = plug_registered (fx, "EIO-IN", e.loop->devnode, "USB-0900", &e.disk);

  e.point = "media-import-before-read";
  e.pull = TRUE;
  sk_fault_set_hook (eio_hook, &e);
  g_autoptr (GPtrArray) results =
      sk_media_import (fx->media, fx->pipe, &fx->op, id, NULL, NULL, &error);
  sk_fault_set_hook (NULL, NULL);
  g_assert_true (e.fired);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_REMOVED);
  g_assert_null (results);
  g_clear_error (&error);
  g_autofree char *case91 = case_of (91);
  g_autoptr (SkCase) c = sk_pipeline_get_case (fx->pipe, case91, &error);
  g_assert_null (c);
  g_clear_error (&error);
  g_autoptr (SkStore) store = sk_station_open_store (fx->st.term, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) items = sk_store_list (store, &error);
  g_assert_cmpuint (items->len, ==, 0);
  g_autoptr (SkJournalRow) row = last_row (fx, "media-import");
  g_assert_cmpstr (row->reason, ==, "media-removed");
  eio_stop (&e);
}

/* EIO while the package is synced: nothing of it is on the medium, nothing
 * acknowledged; EIO at the read-back: written but not proven.  Either way
 * the results stay exportable. */
static void
test_eio_export (Fixture *fx, gconstpointer data)
{
  if (skip_without_faults (fx))
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *export_case = case_with_result (fx, 92);
  Eio e = { 0 };
  if (!eio_start (fx, &e, NULL))
    return;
  g_autofree char *id = plug_registered (fx, "EIO-OUT", e.loop->devnode, "USB-0901", &e.disk);

  /* EIO while the package is synced: when the medium reads again, a fresh
   * mount shows nothing of the package (media-not-written); when it does
   * not, nothing can be shown, and the medium is not to be handed over.
   * EIO at the read-back: written but not proven. */
  const struct
  {
    const char *point;
    const char *heal;
    SkErrorCode code;
    const char *says;
  } when[] = {
    { "pack-before-fsync", "media-export-failed", SK_ERROR_MEDIA_NOT_WRITTEN,
      "a fresh mount shows none of it" },
    { "pack-before-fsync", NULL, SK_ERROR_MEDIA_READBACK_MISMATCH, "part of it may be on" },
    { "media-before-readback", NULL, SK_ERROR_MEDIA_READBACK_MISMATCH, "reading it back failed" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (when); i++)
    {
      e.point = when[i].point;
      e.heal = when[i].heal;
      e.fired = FALSE;
      sk_fault_set_hook (eio_hook, &e);
      g_autofree char *file =
          sk_media_export (fx->media, fx->pipe, &fx->op, id, export_case, NULL, &error);
      sk_fault_set_hook (NULL, NULL);
      g_assert_true (e.fired);
      if (error == NULL || error->code != (gint)when[i].code ||
          strstr (error->message, when[i].says) == NULL)
        g_error ("EIO at %s: %s", when[i].point, error != NULL ? error->message : "exported");
      g_assert_null (file);
      g_clear_error (&error);
      g_assert_cmpuint (rows_of (fx, "package-exported"), ==, 0);
      g_autoptr (SkJournalRow) row = last_row (fx, "media-export");
      g_assert_cmpstr (row->reason, ==, sk_error_code_to_reason (when[i].code));
      g_autoptr (SkCase) waiting = sk_pipeline_get_case (fx->pipe, export_case, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (waiting->state, ==, "results-in");
      if (g_file_test (e.control, G_FILE_TEST_EXISTS))
        eio_set (&e, FALSE);
      if (when[i].code == SK_ERROR_MEDIA_NOT_WRITTEN)
        {
          /* Only what was there before: lost+found and the token. */
          g_autoptr (SkMount) ro = sk_mount_new (e.loop->devnode, devnum_of (e.loop->devnode),
                                                 "ext4", SK_MOUNT_READ_ONLY, &error);
          g_assert_no_error (error);
          g_autoptr (GPtrArray) names = sk_mount_list (ro, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (names->len, ==, 3);
          g_assert_true (sk_mount_unmount (ro, &error));
        }
    }
  eio_stop (&e);
}

/* ---- file systems, read-only, discs ---------------------------------------- */

/* The options each file system is mounted with (no devices needed: the
 * kernel here has no vfat, exfat, iso9660 or udf, so this is where their
 * choice is tested). */
static void
test_mount_options (void)
{
  static const struct
  {
    const char *fs;
    SkMountMode mode;
    const char *data;    /* NULL: none */
    SkErrorCode refused; /* 0: mounted */
  } cases[] = {
    { "ext4", SK_MOUNT_READ_ONLY, "noload", 0 },
    { "ext4", SK_MOUNT_READ_WRITE, NULL, 0 },
    { "vfat", SK_MOUNT_READ_ONLY, "uid=0,gid=0,fmask=0177,dmask=0077,utf8,errors=remount-ro", 0 },
    { "vfat", SK_MOUNT_READ_WRITE, "uid=0,gid=0,fmask=0177,dmask=0077,utf8,errors=remount-ro", 0 },
    { "exfat", SK_MOUNT_READ_ONLY,
      "uid=0,gid=0,fmask=0177,dmask=0077,iocharset=utf8,errors=remount-ro", 0 },
    { "exfat", SK_MOUNT_READ_WRITE,
      "uid=0,gid=0,fmask=0177,dmask=0077,iocharset=utf8,errors=remount-ro", 0 },
    { "iso9660", SK_MOUNT_READ_ONLY, "uid=0,gid=0,mode=0400,dmode=0500,iocharset=utf8", 0 },
    { "iso9660", SK_MOUNT_READ_WRITE, NULL, SK_ERROR_MEDIA_READ_ONLY },
    { "udf", SK_MOUNT_READ_ONLY, "uid=0,gid=0,mode=0400,dmode=0500,iocharset=utf8", 0 },
    { "udf", SK_MOUNT_READ_WRITE, NULL, SK_ERROR_MEDIA_READ_ONLY },
    { "ntfs", SK_MOUNT_READ_ONLY, NULL, SK_ERROR_MEDIA_FILESYSTEM },
    { "btrfs", SK_MOUNT_READ_ONLY, NULL, SK_ERROR_MEDIA_FILESYSTEM },
    { NULL, SK_MOUNT_READ_ONLY, NULL, SK_ERROR_MEDIA_FILESYSTEM },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      unsigned long flags = 0;
      g_autofree char *data = NULL;
      gboolean ok = sk_mount_options (cases[i].fs, cases[i].mode, &flags, &data, &error);
      if (cases[i].refused != 0)
        {
          g_assert_false (ok);
          g_assert_error (error, SK_ERROR, (gint)cases[i].refused);
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpstr (data, ==, cases[i].data);
      unsigned long always = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME;
      g_assert_cmphex (flags & always, ==, always);
      g_assert_cmpint (!!(flags & MS_RDONLY), ==, cases[i].mode == SK_MOUNT_READ_ONLY);
    }
}

static char *
file_sha256 (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)data, len);
}

/* Leave the ext4 on DEVNODE with a journal that needs recovery: mounted,
 * written, shut down with the log flushed but not checkpointed. */
static void
dirty_journal (Fixture *fx, const char *devnode)
{
  g_autofree char *mnt = g_build_filename (fx->tmp, "dirty-mnt", NULL);
  g_mkdir (mnt, 0700);
  g_assert_cmpint (mount (devnode, mnt, "ext4", 0, NULL), ==, 0);
  g_autofree char *file = g_build_filename (mnt, "written-last", NULL);
  g_assert_true (g_file_set_contents (file, "in the journal only", -1, NULL));
  int fd = open (mnt, O_RDONLY | O_DIRECTORY);
  guint32 how = 1; /* EXT4_GOING_FLAGS_LOGFLUSH */
  g_assert_cmpint (ioctl (fd, _IOR ('X', 125, guint32), &how), ==, 0); /* EXT4_IOC_SHUTDOWN */
  close (fd);
  g_assert_cmpint (umount2 (mnt, 0), ==, 0);
  g_rmdir (mnt);
}

/* Import from an ext4 medium whose journal needs recovery: a plain ro
 * mount would replay it (shown on a copy), Sekisho's leaves every byte of
 * the medium as it was. */
static void
test_read_only_untouched (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *populate = g_build_filename (fx->tmp, "dirty", NULL);
  g_autofree char *pkg = pack_into (fx, 81, populate);
  g_assert_nonnull (pkg);
  Loop *l = make_loop (fx, populate);
  g_autofree char *id = plug_registered (fx, "DIRTY", l->devnode, "USB-0810", NULL);
  dirty_journal (fx, l->devnode);
  const char *dumpe2fs[] = { "dumpe2fs", "-h", l->img, NULL };
  g_autofree char *sb = run_real (dumpe2fs);
  g_assert_nonnull (strstr (sb, "needs_recovery"));

  /* The premise: a plain read-only mount of the same bytes writes. */
  g_autofree char *copy = g_build_filename (fx->tmp, "dirty-copy.img", NULL);
  const char *cp[] = { "cp", "--sparse=always", l->img, copy, NULL };
  g_free (run_real (cp));
  g_autofree char *copy_before = file_sha256 (copy);
  const char *losetup[] = { "losetup", "-f", "--show", copy, NULL };
  g_autofree char *copy_dev = run_real (losetup);
  g_autofree char *mnt = g_build_filename (fx->tmp, "plain-ro", NULL);
  g_mkdir (mnt, 0700);
  g_assert_cmpint (mount (copy_dev, mnt, "ext4", MS_RDONLY, NULL), ==, 0);
  g_assert_cmpint (umount2 (mnt, 0), ==, 0);
  const char *detach[] = { "losetup", "-d", copy_dev, NULL };
  g_free (run_real (detach));
  g_autofree char *copy_after = file_sha256 (copy);
  g_assert_cmpstr (copy_before, !=, copy_after);

  /* Sekisho's import: the package comes in, the medium is unchanged. */
  g_autofree char *before = file_sha256 (l->img);
  import_one_ok (fx, id);
  g_autofree char *after = file_sha256 (l->img);
  g_assert_cmpstr (before, ==, after);
  /* …and the device is writable again for what comes next (an export). */
  g_autoptr (SkMount) rw =
      sk_mount_new (l->devnode, devnum_of (l->devnode), "ext4", SK_MOUNT_READ_WRITE, &error);
  g_assert_no_error (error);
  g_assert_true (sk_mount_unmount (rw, &error));
}

/* Whether the running kernel reads FS. */
static gboolean
kernel_reads (const char *fs)
{
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents ("/proc/filesystems", &text, NULL, NULL));
  g_autofree char *needle = g_strdup_printf ("\t%s\n", fs);
  return strstr (text, needle) != NULL;
}

/* An image of FS made by MKFS (argv, the image path last) on a loop device. */
static Loop *
make_loop_with (Fixture *fx, const char *const *mkfs, gsize mb)
{
  Loop *l = g_new0 (Loop, 1);
  l->img = g_strdup_printf ("%s/image-%u.img", fx->tmp, fx->loops->len);
  int fd = open (l->img, O_CREAT | O_WRONLY | O_EXCL, 0600);
  g_assert_cmpint (ftruncate (fd, (off_t)mb * 1024 * 1024), ==, 0);
  close (fd);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  for (guint i = 0; mkfs[i] != NULL; i++)
    g_ptr_array_add (argv, (char *)mkfs[i]);
  g_ptr_array_add (argv, l->img);
  g_ptr_array_add (argv, NULL);
  g_free (run_real ((const char *const *)argv->pdata));
  const char *losetup[] = { "losetup", "-f", "--show", l->img, NULL };
  l->devnode = run_real (losetup);
  g_ptr_array_add (fx->loops, l);
  return l;
}

/* vfat and exfat sticks, as libblkid names them: registered and read where
 * the kernel has the file system, else refused as media-filesystem saying
 * the kernel cannot read it (this machine's kernel has neither). */
static void
test_filesystems (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  static const struct
  {
    const char *fs;
    const char *mkfs;
  } kinds[] = { { "vfat", "mkfs.vfat" }, { "exfat", "mkfs.exfat" } };
  start_media (fx);
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *mkfs = g_find_program_in_path (kinds[i].mkfs);
      if (mkfs == NULL)
        {
          g_test_message ("%s: no %s, not tried", kinds[i].fs, kinds[i].mkfs);
          continue;
        }
      const char *argv[] = { mkfs, NULL };
      Loop *l = make_loop_with (fx, argv, IMAGE_MB);
      g_autofree char *serial = g_strdup_printf ("FS-%s", kinds[i].fs);
      g_autofree char *disk = add_usb (fx, serial, storage_only, l->devnode);
      pump_until (&fx->added, i + 1);
      g_autoptr (GPtrArray) list = sk_media_list (fx->media);
      SkMedium *m = g_ptr_array_index (list, list->len - 1);
      g_assert_cmpstr (m->disk->fs_type, ==, kinds[i].fs);
      g_autofree char *number = g_strdup_printf ("USB-FS-%u", i);
      g_autoptr (SkMediumRecord) r =
          sk_media_register_medium (fx->media, &fx->admin, m->id, number, NULL, &error);
      if (!kernel_reads (kinds[i].fs))
        {
          g_test_message ("%s: this kernel cannot mount it; the refusal is checked", kinds[i].fs);
          g_assert_null (r);
          g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_FILESYSTEM);
          g_assert_nonnull (strstr (error->message, "kernel cannot read"));
          g_clear_error (&error);
          g_autoptr (GPtrArray) none =
              sk_media_import (fx->media, fx->pipe, &fx->op, m->id, NULL, NULL, &error);
          g_assert_null (none);
          g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_FILESYSTEM);
        }
      else
        {
          g_assert_no_error (error);
          g_assert_nonnull (r);
          g_autoptr (SkMount) ro = sk_mount_new (l->devnode, devnum_of (l->devnode), kinds[i].fs,
                                                 SK_MOUNT_READ_ONLY, &error);
          g_assert_no_error (error);
          g_autofree char *opts = mountinfo_of (fx, ro);
          g_assert_nonnull (strstr (opts, "fmask=0177"));
          g_assert_nonnull (strstr (opts, "noexec"));
          g_assert_true (sk_mount_unmount (ro, &error));
        }
      umockdev_testbed_uevent (fx->tb, disk, "remove");
      pump_until (&fx->removed, i + 1);
      umockdev_testbed_remove_device (fx->tb, disk);
    }
}

/* A stick whose write-protect switch is on (the loop device read-only):
 * export is media-read-only before a byte is written; import still works. */
static void
test_write_protected (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *export_case = case_with_result (fx, 85);
  g_autofree char *populate = g_build_filename (fx->tmp, "locked", NULL);
  g_autofree char *pkg = pack_into (fx, 86, populate);
  g_assert_nonnull (pkg);
  Loop *l = make_loop (fx, populate);
  g_autofree char *disk = NULL;
  g_free (plug_registered (fx, "LOCKED", l->devnode, "USB-0850", &disk));
  /* The switch: the same image, now on a read-only loop device. */
  umockdev_testbed_uevent (fx->tb, disk, "remove");
  pump_until (&fx->removed, 1);
  umockdev_testbed_remove_device (fx->tb, disk);
  const char *detach[] = { "losetup", "-d", l->devnode, NULL };
  g_free (run_real (detach));
  g_free (l->devnode);
  const char *attach[] = { "losetup", "-r", "-f", "--show", l->img, NULL };
  l->devnode = run_real (attach);
  g_autofree char *before = file_sha256 (l->img);
  g_autofree char *locked = add_usb (fx, "LOCKED", storage_only, l->devnode);
  g_assert_nonnull (locked);
  pump_until (&fx->added, 2);
  g_autofree char *id2 = only_medium_id (fx);
  g_autoptr (SkJournalRow) inserted = last_row (fx, "media-inserted");
  g_assert_nonnull (strstr (inserted->details, "\"registered\":\"yes\""));

  g_autofree char *file =
      sk_media_export (fx->media, fx->pipe, &fx->op, id2, export_case, NULL, &error);
  g_assert_null (file);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_READ_ONLY);
  g_clear_error (&error);
  g_autoptr (SkJournalRow) row = last_row (fx, "media-export");
  g_assert_cmpstr (row->reason, ==, "media-read-only");
  g_assert_cmpuint (rows_of (fx, "package-exported"), ==, 0);
  import_one_ok (fx, id2);
  g_autofree char *after = file_sha256 (l->img);
  g_assert_cmpstr (before, ==, after);
}

/* A disc in an optical drive (a mocked sr device over a loop device). */
static char *
add_disc (Fixture *fx, const char *name, const char *devnode, gsize bytes)
{
  g_autofree char *sectors = g_strdup_printf ("%" G_GSIZE_FORMAT, bytes / 512);
  g_autofree char *maj = NULL;
  g_autofree char *min = NULL;
  devnum_props (devnode, &maj, &min);
  char *sr = umockdev_testbed_add_device (
      fx->tb, "block", name, NULL, "size", sectors, "removable", "1", NULL, "DEVNAME", devnode,
      "DEVTYPE", "disk", "ID_CDROM", "1", "ID_BUS", "ata", "MAJOR", maj, "MINOR", min, NULL);
  g_assert_nonnull (sr);
  return sr;
}

/* Discs are registered before mastering: the token burned with the
 * packages is checked like a stick's; a disc is import-only.  The disc's
 * file system is an ISO 9660 image made by xorriso where the kernel reads
 * one; this machine's kernel does not, so the token's path runs on an ext4
 * "disc" and the ISO is checked for its refusal. */
/* A disc's token into two files the caller made: each must be a new,
 * empty regular file opened for writing, and two different files; else
 * nothing is recorded.  Then both hold what a disc carries. */
static void
test_disc_into (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_autoptr (GError) error = NULL;
  start_media (fx);
  SkMediaRegister *reg = sk_media_get_register (fx->media);
  g_autofree char *a = g_build_filename (fx->tmp, "token", NULL);
  g_autofree char *b = g_build_filename (fx->tmp, "token.sig", NULL);
  int fa = open (a, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  int fb = open (b, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  int ro = open (b, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (fa, >=, 0);
  g_assert_cmpint (fb, >=, 0);
  g_assert_cmpint (ro, >=, 0);
  guint registered = rows_of (fx, "media-registered");

  /* Read-only, the same file twice, a file that holds something. */
  int refused[][2] = { { fa, ro }, { fa, fa } };
  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr (SkMediumRecord) r = sk_media_register_disc_into (
          reg, &fx->admin, "CD-0301", NULL, refused[i][0], refused[i][1], &error);
      g_assert_null (r);
      g_assert_error (error, SK_ERROR, SK_ERROR_USAGE);
      g_clear_error (&error);
    }
  g_assert_cmpint (write (fb, "x", 1), ==, 1);
  g_autoptr (SkMediumRecord) full =
      sk_media_register_disc_into (reg, &fx->admin, "CD-0301", NULL, fa, fb, &error);
  g_assert_null (full);
  g_assert_error (error, SK_ERROR, SK_ERROR_USAGE);
  g_clear_error (&error);
  g_assert_cmpuint (rows_of (fx, "media-registered"), ==, registered);
  g_autoptr (GPtrArray) rows = sk_media_register_list (reg, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 0);

  g_assert_cmpint (ftruncate (fb, 0), ==, 0);
  g_autoptr (SkMediumRecord) r =
      sk_media_register_disc_into (reg, &fx->admin, "CD-0301", "disc", fa, fb, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (r->kind, ==, "optical");
  g_assert_cmpuint (rows_of (fx, "media-registered"), ==, registered + 1);
  close (fa);
  close (fb);
  close (ro);
  g_autofree char *doc = NULL;
  g_assert_true (g_file_get_contents (a, &doc, NULL, NULL));
  g_assert_nonnull (strstr (doc, "\"CD-0301\""));
  g_assert_nonnull (strstr (doc, r->token));
  GStatBuf st;
  g_assert_cmpint (g_stat (b, &st), ==, 0);
  g_assert_cmpint (st.st_size, >, 0);
}

static void
test_disc (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_autoptr (GError) error = NULL;
  g_autofree char *export_case = case_with_result (fx, 87);
  start_media (fx);
  SkMediaRegister *reg = sk_media_get_register (fx->media);
  g_autoptr (GBytes) token = NULL;
  g_autoptr (GBytes) token_sig = NULL;
  g_autoptr (SkMediumRecord) r =
      sk_media_register_disc (reg, &fx->admin, "CD-0001", "disc", &token, &token_sig, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (r->kind, ==, "optical");
  g_assert_cmpstr (r->state, ==, "registered");
  g_autoptr (SkJournalRow) registered = last_row (fx, "media-registered");
  g_assert_cmpstr (registered->outcome, ==, "ok");
  /* The number is taken now: a second disc cannot have it. */
  g_autoptr (GBytes) t2 = NULL;
  g_autoptr (GBytes) s2 = NULL;
  g_autoptr (SkMediumRecord) again =
      sk_media_register_disc (reg, &fx->admin, "CD-0001", NULL, &t2, &s2, &error);
  g_assert_null (again);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_NUMBER_IN_USE);
  g_clear_error (&error);

  /* Mastering: the packages and the token into the disc's root. */
  g_autofree char *master = g_build_filename (fx->tmp, "master", NULL);
  g_autofree char *pkg = pack_into (fx, 88, master);
  g_assert_nonnull (pkg);
  g_autofree char *tok = g_build_filename (master, SK_MEDIUM_TOKEN_NAME, NULL);
  g_autofree char *tok_sig = g_build_filename (master, SK_MEDIUM_TOKEN_SIG_NAME, NULL);
  gsize len;
  const char *d = g_bytes_get_data (token, &len);
  g_assert_true (g_file_set_contents (tok, d, (gssize)len, NULL));
  d = g_bytes_get_data (token_sig, &len);
  g_assert_true (g_file_set_contents (tok_sig, d, (gssize)len, NULL));

  Loop *l = make_loop (fx, master);
  g_autofree char *before = file_sha256 (l->img);
  g_autofree char *sr = add_disc (fx, "sr0", l->devnode, IMAGE_MB * 1024 * 1024);
  pump_until (&fx->added, 1);
  g_autofree char *id = only_medium_id (fx);
  g_autoptr (SkJournalRow) inserted = last_row (fx, "media-inserted");
  g_assert_nonnull (strstr (inserted->details, "\"class\":\"optical\""));
  g_assert_nonnull (strstr (inserted->details, "\"number\":\"CD-0001\""));

  /* Import-only: export and registering the inserted disc are refused. */
  g_autofree char *file =
      sk_media_export (fx->media, fx->pipe, &fx->op, id, export_case, NULL, &error);
  g_assert_null (file);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_READ_ONLY);
  g_clear_error (&error);
  g_autoptr (SkMediumRecord) burned =
      sk_media_register_medium (fx->media, &fx->admin, id, "CD-0002", NULL, &error);
  g_assert_null (burned);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_READ_ONLY);
  g_clear_error (&error);
  import_one_ok (fx, id);
  g_autofree char *after = file_sha256 (l->img);
  g_assert_cmpstr (before, ==, after);

  /* The same token on a USB stick does not make the stick registered. */
  Loop *stick = make_loop (fx, master);
  g_autofree char *usb = add_usb (fx, "DISC-COPY", storage_only, stick->devnode);
  pump_until (&fx->added, 2);
  g_autoptr (SkJournalRow) copied = last_row (fx, "media-inserted");
  g_assert_nonnull (strstr (copied->details, "\"registered\":\"no\""));
  umockdev_testbed_uevent (fx->tb, usb, "remove");
  pump_until (&fx->removed, 1);
  umockdev_testbed_remove_device (fx->tb, usb);
  umockdev_testbed_uevent (fx->tb, sr, "remove");
  pump_until (&fx->removed, 2);
  umockdev_testbed_remove_device (fx->tb, sr);

  /* A real ISO 9660 disc, as xorriso masters one. */
  g_autofree char *xorriso = g_find_program_in_path ("xorriso");
  if (xorriso == NULL)
    {
      g_test_message ("no xorriso: the ISO 9660 disc was not tried");
      return;
    }
  g_autofree char *iso = g_build_filename (fx->tmp, "disc.iso", NULL);
  const char *mkiso[] = { xorriso, "-as",     "mkisofs", "-quiet", "-R",   "-J",
                          "-V",    "SEKISHO", "-o",      iso,      master, NULL };
  g_free (run_real (mkiso));
  const char *losetup[] = { "losetup", "-r", "-f", "--show", iso, NULL };
  Loop *disc = g_new0 (Loop, 1);
  disc->img = g_strdup (iso);
  disc->devnode = run_real (losetup);
  g_ptr_array_add (fx->loops, disc);
  GStatBuf sb;
  g_assert_cmpint (g_stat (iso, &sb), ==, 0);
  g_autofree char *sr1 = add_disc (fx, "sr1", disc->devnode, (gsize)sb.st_size);
  g_assert_nonnull (sr1);
  pump_until (&fx->added, 3);
  g_autofree char *disc_id = only_medium_id (fx);
  g_autoptr (GPtrArray) media = sk_media_list (fx->media);
  g_assert_cmpstr (((SkMedium *)g_ptr_array_index (media, 0))->disk->fs_type, ==, "iso9660");
  g_autoptr (GPtrArray) from_iso =
      sk_media_import (fx->media, fx->pipe, &fx->op, disc_id, NULL, NULL, &error);
  if (!kernel_reads ("iso9660"))
    {
      g_test_message ("iso9660: this kernel cannot mount it; the refusal is checked");
      g_assert_null (from_iso);
      g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_FILESYSTEM);
      g_assert_nonnull (strstr (error->message, "kernel cannot read iso9660"));
    }
  else
    {
      /* The package was imported from the ext4 "disc" already: replayed. */
      g_assert_no_error (error);
      g_assert_cmpuint (from_iso->len, ==, 1);
      g_assert_cmpstr (((SkMediumImport *)g_ptr_array_index (from_iso, 0))->reason, ==,
                       "package-replayed");
    }
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "C.UTF-8");
  g_test_init (&argc, &argv, NULL);
  sk_test_stations_set_serial (TRUE);

  g_test_add_func ("/media/classify", test_classify);
  g_test_add_func ("/media/csv-cells", test_csv_cells);
  g_test_add_func ("/media/mount-options", test_mount_options);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/media/register-csv", test_register_csv);
  ADD ("/media/registered-stick", test_registered_stick);
  ADD ("/media/composite", test_composite);
  ADD ("/media/optical", test_optical);
  ADD ("/media/states", test_states);
  ADD ("/media/tokens", test_tokens);
  ADD ("/media/planted", test_planted);
  ADD ("/media/readback-flip", test_readback_flip);
  ADD ("/media/full", test_full);
  ADD ("/media/pulled", test_pulled);
  ADD ("/media/cli", test_cli);
  ADD ("/media/eio-import", test_eio_import);
  ADD ("/media/eio-export", test_eio_export);
  ADD ("/media/policy-import-unregistered", test_policy_import_unregistered);
  ADD ("/media/read-only-untouched", test_read_only_untouched);
  ADD ("/media/filesystems", test_filesystems);
  ADD ("/media/write-protected", test_write_protected);
  ADD ("/media/disc", test_disc);
  ADD ("/media/disc-into", test_disc_into);
  ADD ("/media/swapped-node", test_swapped_node);
  ADD ("/media/look-only", test_look_only);
#undef ADD
  int ret = g_test_run ();
  sk_test_keys_free ();
  return ret;
}
