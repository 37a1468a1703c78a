/* test-media-failing.c — a medium that fails: a byte flipped before read-back,
 * a full medium, a stick pulled, EIO on command */
#include "config.h"

#include "sk-test-media.h"

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

void
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
void
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

void
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
void
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
void
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
