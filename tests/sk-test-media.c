/* sk-test-media.c — the harness of test-media: environment, fixture, media and
 * packages (sk-test-media.h) */
#include "config.h"

#include "sk-test-media.h"

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
char *
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

/* The device number of the block device node DEVNODE. */
dev_t
devnum_of (const char *devnode)
{
  struct stat st;
  g_assert_cmpint (stat (devnode, &st), ==, 0);
  g_assert_true (S_ISBLK (st.st_mode));
  return st.st_rdev;
}

/* udev's MAJOR and MINOR of DEVNODE, as the kernel reports them. */
void
devnum_props (const char *devnode, char **out_major, char **out_minor)
{
  struct stat st;
  gboolean node = stat (devnode, &st) == 0 && S_ISBLK (st.st_mode);
  *out_major = g_strdup_printf ("%u", node ? major (st.st_rdev) : 0);
  *out_minor = g_strdup_printf ("%u", node ? minor (st.st_rdev) : 0);
}

/* Whether /proc/self/mountinfo has a line for the device DEVNUM. */
gboolean
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
char *
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

void
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

void
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

void
start_media (Fixture *fx)
{
  g_autoptr (GError) error = NULL;
  fx->media = sk_media_new (fx->st.term, fx->journal, fx->st.term_policy, fx->udev, &error);
  g_assert_no_error (error);
  g_signal_connect (fx->media, "medium-added", G_CALLBACK (on_added), fx);
  g_signal_connect (fx->media, "medium-refused", G_CALLBACK (on_refused), fx);
  g_signal_connect (fx->media, "medium-removed", G_CALLBACK (on_removed), fx);
}

void
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

gboolean
skip_without_loop (Fixture *fx)
{
  if (fx->tmp != NULL)
    return FALSE;
  g_test_skip ("needs root, loop devices, mkfs.ext4 and losetup");
  return TRUE;
}

/* The tests that act at a named boundary (a byte flipped, a medium pulled)
 * need a build with fault points (-Dfault_points=enabled). */
gboolean
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
Loop *
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

void
pump_until (guint *counter, guint want)
{
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (*counter < want && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  g_assert_cmpuint (*counter, >=, want);
}

/* A USB device with SERIAL and interfaces of CLASSES ("08", "03", …;
 * NULL-terminated), its disk on DEVNODE.  Returns the disk's syspath. */
char *
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

const char *const storage_only[] = { "08", NULL };

/* Pulled: media-removed within a second of the kernel's message. */
void
remove_device (Fixture *fx, const char *syspath)
{
  gint64 start = g_get_monotonic_time ();
  umockdev_testbed_uevent (fx->tb, syspath, "remove");
  pump_until (&fx->removed, fx->removed + 1);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  umockdev_testbed_remove_device (fx->tb, syspath);
}

/* The newest journal row of EVENT. */
SkJournalRow *
last_row (Fixture *fx, const char *event)
{
  g_autoptr (GError) error = NULL;
  SkJournalFilter filter = { .event = event };
  g_autoptr (GPtrArray) rows = sk_journal_query (fx->journal, &filter, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, >, 0);
  return g_ptr_array_steal_index (rows, rows->len - 1);
}

guint
rows_of (Fixture *fx, const char *event)
{
  g_autoptr (GError) error = NULL;
  SkJournalFilter filter = { .event = event };
  g_autoptr (GPtrArray) rows = sk_journal_query (fx->journal, &filter, &error);
  g_assert_no_error (error);
  return rows->len;
}

char *
only_medium_id (Fixture *fx)
{
  g_autoptr (GPtrArray) list = sk_media_list (fx->media);
  g_assert_cmpuint (list->len, ==, 1);
  return g_strdup (((SkMedium *)g_ptr_array_index (list, 0))->id);
}

SkMediumRecord *
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
char *
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
void
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

char *
case_of (guint64 seed)
{
  return g_strdup_printf ("C%019" G_GUINT64_FORMAT, seed);
}

/* A KNY01 request packed by the standard side into a new folder DIR. */
char *
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
char *
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

char *
file_sha256 (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *)data, len);
}
