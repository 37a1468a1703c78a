/* test-media-devices.c — devices: registered sticks, composite and optical
 * devices, media states, tokens, swapped nodes and planted files */
#include "config.h"

#include "sk-test-media.h"

/* ---- devices ---------------------------------------------------------------- */

/* A registered stick: accepted for import and export; an unregistered one
 * refused for both under the default policy; every step journaled. */
void
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
void
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
void
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
void
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
void
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
void
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
void
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
