/* test-media-fs.c — file systems, read-only media and discs */
#include "config.h"

#include "sk-test-media.h"

/* ---- file systems, read-only, discs ---------------------------------------- */

/* The options each file system is mounted with (no devices needed: the
 * kernel here has no vfat, exfat, iso9660 or udf, so this is where their
 * choice is tested). */
void
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
void
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
void
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
void
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
void
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

void
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
