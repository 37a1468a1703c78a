/* sk-udev.c — block devices as libudev and libblkid see them */
#define G_LOG_DOMAIN "sekisho-udev"

#include "config.h"

#include <glib/gi18n-lib.h>

#include <blkid/blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <libudev.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-udev.h"

/* libudev's types have no typedef names of their own. */
typedef struct udev_device SkUdevDevice;
typedef struct udev_enumerate SkUdevEnumerate;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkUdevDevice, udev_device_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkUdevEnumerate, udev_enumerate_unref)
typedef struct blkid_struct_probe SkBlkidProbe;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkBlkidProbe, blkid_free_probe)

/* A descriptor string longer than this is cut: no real device needs more. */
#define SK_UDEV_TEXT_MAX 256

struct _SkUdev
{
  GObject parent_instance;

  struct udev *udev;
  struct udev_monitor *monitor;
  GSource *source;
  GHashTable *known; /* syspath → SkBlockDevice*: the identity a removal reports */
};

G_DEFINE_TYPE (SkUdev, sk_udev, G_TYPE_OBJECT)

enum
{
  SIGNAL_DEVICE_ADDED,
  SIGNAL_DEVICE_REMOVED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

/* ---- SkBlockDevice ----------------------------------------------------- */

SkBlockDevice *
sk_block_device_copy (const SkBlockDevice *dev)
{
  SkBlockDevice *c = g_new0 (SkBlockDevice, 1);

  *c = *dev;
  c->syspath = g_strdup (dev->syspath);
  c->devnode = g_strdup (dev->devnode);
  c->disk_syspath = g_strdup (dev->disk_syspath);
  c->bus = g_strdup (dev->bus);
  c->vendor = g_strdup (dev->vendor);
  c->model = g_strdup (dev->model);
  c->serial = g_strdup (dev->serial);
  c->vendor_id = g_strdup (dev->vendor_id);
  c->product_id = g_strdup (dev->product_id);
  c->interfaces = g_array_copy (dev->interfaces);
  c->fs_type = g_strdup (dev->fs_type);
  c->pt_type = g_strdup (dev->pt_type);
  return c;
}

void
sk_block_device_free (SkBlockDevice *dev)
{
  if (dev == NULL)
    return;
  g_free (dev->syspath);
  g_free (dev->devnode);
  g_free (dev->disk_syspath);
  g_free (dev->bus);
  g_free (dev->vendor);
  g_free (dev->model);
  g_free (dev->serial);
  g_free (dev->vendor_id);
  g_free (dev->product_id);
  g_clear_pointer (&dev->interfaces, g_array_unref);
  g_free (dev->fs_type);
  g_free (dev->pt_type);
  g_free (dev);
}

G_DEFINE_BOXED_TYPE (SkBlockDevice, sk_block_device, sk_block_device_copy, sk_block_device_free)

char *
sk_block_device_describe (const SkBlockDevice *dev)
{
  g_autofree char *vendor = sk_escape_untrusted (dev->vendor);
  g_autofree char *model = sk_escape_untrusted (dev->model);
  g_autofree char *serial = sk_escape_untrusted (dev->serial);
  g_autofree char *vid = sk_escape_untrusted (dev->vendor_id);
  g_autofree char *pid = sk_escape_untrusted (dev->product_id);

  return g_strdup_printf (
      "bus=%s vendor=\"%s\" model=\"%s\" serial=\"%s\" id=%s:%s size=%" G_GUINT64_FORMAT, dev->bus,
      vendor, model, serial, vid, pid, dev->size);
}

/* ---- reading one device ------------------------------------------------ */

/* A device's text, cut to a sane length and made valid UTF-8 by escaping
 * later; NULL in, "" out. */
static char *
device_text (const char *s)
{
  if (s == NULL)
    return g_strdup ("");
  gsize len = strnlen (s, SK_UDEV_TEXT_MAX);
  g_autofree char *cut = g_strndup (s, len);
  return g_strdup (g_strstrip (cut));
}

static gboolean
parse_hex8 (const char *s, guint8 *out)
{
  guint64 v;
  if (s == NULL || !g_ascii_string_to_unsigned (s, 16, 0, 0xff, &v, NULL))
    return FALSE;
  *out = (guint8)v;
  return TRUE;
}

/* Every interface of USB_DEVICE, read from sysfs through its children. */
static GArray *
usb_interfaces (struct udev *udev, struct udev_device *usb_device)
{
  GArray *ifaces = g_array_new (FALSE, TRUE, sizeof (SkUsbInterface));
  g_autoptr (SkUdevEnumerate) e = udev_enumerate_new (udev);

  if (e == NULL || udev_enumerate_add_match_parent (e, usb_device) < 0 ||
      udev_enumerate_add_match_subsystem (e, "usb") < 0 || udev_enumerate_scan_devices (e) < 0)
    return ifaces;
  struct udev_list_entry *entry;
  udev_list_entry_foreach (entry, udev_enumerate_get_list_entry (e))
  {
    g_autoptr (SkUdevDevice) d =
        udev_device_new_from_syspath (udev, udev_list_entry_get_name (entry));
    if (d == NULL || g_strcmp0 (udev_device_get_devtype (d), "usb_interface") != 0)
      continue;
    SkUsbInterface i = { 0 };
    if (!parse_hex8 (udev_device_get_sysattr_value (d, "bInterfaceClass"), &i.klass))
      i.klass = 0xff; /* unreadable: treat as vendor-specific, which is refused */
    parse_hex8 (udev_device_get_sysattr_value (d, "bInterfaceSubClass"), &i.subclass);
    parse_hex8 (udev_device_get_sysattr_value (d, "bInterfaceProtocol"), &i.protocol);
    g_array_append_val (ifaces, i);
  }
  return ifaces;
}

/* libblkid's TYPE and PTTYPE of DEVNODE, opened read-only and non-blocking. */
static void
probe_filesystem (const char *devnode, char **out_fs, char **out_pt)
{
  if (devnode == NULL)
    return;
  int fd = open (devnode, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    {
      g_debug ("cannot open %s to probe it: %s", devnode, g_strerror (errno));
      return;
    }
  /* Only a block device is probed: never what a link leads to, a FIFO or
   * a file put in its place. */
  struct stat st;
  if (fstat (fd, &st) != 0 || !S_ISBLK (st.st_mode))
    {
      g_debug ("%s is not a block device: not probed", devnode);
      close (fd);
      return;
    }
  g_autoptr (SkBlkidProbe) pr = blkid_new_probe ();
  if (pr != NULL && blkid_probe_set_device (pr, fd, 0, 0) == 0)
    {
      blkid_probe_enable_superblocks (pr, 1);
      blkid_probe_set_superblocks_flags (pr, BLKID_SUBLKS_TYPE);
      blkid_probe_enable_partitions (pr, 1);
      if (blkid_do_safeprobe (pr) == 0)
        {
          const char *v = NULL;
          if (blkid_probe_lookup_value (pr, "TYPE", &v, NULL) == 0)
            *out_fs = device_text (v);
          if (blkid_probe_lookup_value (pr, "PTTYPE", &v, NULL) == 0)
            *out_pt = device_text (v);
        }
    }
  close (fd);
}

static guint
count_partitions (struct udev *udev, struct udev_device *disk)
{
  g_autoptr (SkUdevEnumerate) e = udev_enumerate_new (udev);
  guint n = 0;

  if (e == NULL || udev_enumerate_add_match_parent (e, disk) < 0 ||
      udev_enumerate_add_match_subsystem (e, "block") < 0 ||
      udev_enumerate_add_match_property (e, "DEVTYPE", "partition") < 0 ||
      udev_enumerate_scan_devices (e) < 0)
    return 0;
  struct udev_list_entry *entry;
  udev_list_entry_foreach (entry, udev_enumerate_get_list_entry (e)) n++;
  return n;
}

static SkBlockDevice *
read_device (SkUdev *self, struct udev_device *d)
{
  SkBlockDevice *dev = g_new0 (SkBlockDevice, 1);
  struct udev_device *disk = d;

  dev->syspath = g_strdup (udev_device_get_syspath (d));
  dev->devnode = g_strdup (udev_device_get_devnode (d));
  dev->devnum = udev_device_get_devnum (d);
  dev->is_partition = g_strcmp0 (udev_device_get_devtype (d), "partition") == 0;
  if (dev->is_partition)
    {
      struct udev_device *p = udev_device_get_parent_with_subsystem_devtype (d, "block", "disk");
      if (p != NULL)
        disk = p;
    }
  dev->disk_syspath = g_strdup (udev_device_get_syspath (disk));

  struct udev_device *usb = udev_device_get_parent_with_subsystem_devtype (d, "usb", "usb_device");
  if (usb != NULL)
    {
      dev->bus = g_strdup ("usb");
      dev->vendor = device_text (udev_device_get_sysattr_value (usb, "manufacturer"));
      dev->model = device_text (udev_device_get_sysattr_value (usb, "product"));
      dev->serial = device_text (udev_device_get_sysattr_value (usb, "serial"));
      dev->vendor_id = device_text (udev_device_get_sysattr_value (usb, "idVendor"));
      dev->product_id = device_text (udev_device_get_sysattr_value (usb, "idProduct"));
      dev->interfaces = usb_interfaces (self->udev, usb);
    }
  else
    {
      dev->bus = device_text (udev_device_get_property_value (d, "ID_BUS"));
      dev->vendor = device_text (udev_device_get_property_value (d, "ID_VENDOR"));
      dev->model = device_text (udev_device_get_property_value (d, "ID_MODEL"));
      dev->serial = device_text (udev_device_get_property_value (d, "ID_SERIAL_SHORT"));
      dev->vendor_id = g_strdup ("");
      dev->product_id = g_strdup ("");
      dev->interfaces = g_array_new (FALSE, TRUE, sizeof (SkUsbInterface));
    }

  dev->removable = g_strcmp0 (udev_device_get_sysattr_value (disk, "removable"), "1") == 0;
  dev->optical = g_strcmp0 (udev_device_get_property_value (d, "ID_CDROM"), "1") == 0;
  guint64 sectors = 0;
  const char *size = udev_device_get_sysattr_value (d, "size");
  if (size != NULL && g_ascii_string_to_unsigned (size, 10, 0, G_MAXUINT64 / 512, &sectors, NULL))
    dev->size = sectors * 512; /* sysfs counts 512-byte sectors whatever the block size */
  if (!dev->is_partition)
    dev->partitions = count_partitions (self->udev, d);
  probe_filesystem (dev->devnode, &dev->fs_type, &dev->pt_type);
  return dev;
}

static void
remember (SkUdev *self, const SkBlockDevice *dev)
{
  g_hash_table_replace (self->known, g_strdup (dev->syspath), sk_block_device_copy (dev));
}

/* ---- the monitor ------------------------------------------------------- */

static gboolean
on_monitor (gint fd, GIOCondition condition, gpointer user_data)
{
  SkUdev *self = SK_UDEV (user_data);
  g_autoptr (SkUdevDevice) d = udev_monitor_receive_device (self->monitor);

  if (d == NULL)
    return G_SOURCE_CONTINUE;
  const char *action = udev_device_get_action (d);
  const char *syspath = udev_device_get_syspath (d);
  if (action == NULL || syspath == NULL)
    return G_SOURCE_CONTINUE;

  if (g_str_equal (action, "remove"))
    {
      g_autoptr (SkBlockDevice) dev = NULL;
      gpointer key = NULL;
      if (g_hash_table_steal_extended (self->known, syspath, &key, (gpointer *)&dev))
        g_free (key);
      else
        {
          /* Never seen come: report what udev still says of it. */
          dev = g_new0 (SkBlockDevice, 1);
          dev->syspath = g_strdup (syspath);
          dev->devnode = g_strdup (udev_device_get_devnode (d));
          dev->disk_syspath = g_strdup (syspath);
          dev->bus = g_strdup ("");
          dev->vendor = g_strdup ("");
          dev->model = g_strdup ("");
          dev->serial = g_strdup ("");
          dev->vendor_id = g_strdup ("");
          dev->product_id = g_strdup ("");
          dev->interfaces = g_array_new (FALSE, TRUE, sizeof (SkUsbInterface));
        }
      g_signal_emit (self, signals[SIGNAL_DEVICE_REMOVED], 0, dev);
    }
  else if (g_str_equal (action, "add") || g_str_equal (action, "change"))
    {
      /* "change" is how a disc in an optical drive, or a new partition
       * table, shows itself: the device is read again. */
      g_autoptr (SkBlockDevice) dev = read_device (self, d);
      gboolean was_known = g_hash_table_contains (self->known, syspath);
      remember (self, dev);
      if (g_str_equal (action, "add") || !was_known || dev->size > 0)
        g_signal_emit (self, signals[SIGNAL_DEVICE_ADDED], 0, dev);
    }
  return G_SOURCE_CONTINUE;
}

/* ---- the object -------------------------------------------------------- */

static void
sk_udev_finalize (GObject *object)
{
  SkUdev *self = SK_UDEV (object);

  if (self->source != NULL)
    {
      g_source_destroy (self->source);
      g_source_unref (self->source);
    }
  g_clear_pointer (&self->monitor, udev_monitor_unref);
  g_clear_pointer (&self->udev, udev_unref);
  g_clear_pointer (&self->known, g_hash_table_unref);
  G_OBJECT_CLASS (sk_udev_parent_class)->finalize (object);
}

static void
sk_udev_class_init (SkUdevClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = sk_udev_finalize;
  signals[SIGNAL_DEVICE_ADDED] =
      g_signal_new ("device-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 1, SK_TYPE_BLOCK_DEVICE | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[SIGNAL_DEVICE_REMOVED] =
      g_signal_new ("device-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 1, SK_TYPE_BLOCK_DEVICE | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
sk_udev_init (SkUdev *self)
{
  self->known =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)sk_block_device_free);
}

SkUdev *
sk_udev_new (GError **error)
{
  g_autoptr (SkUdev) self = g_object_new (SK_TYPE_UDEV, NULL);

  self->udev = udev_new ();
  if (self->udev == NULL)
    {
      sk_error_set_from_errno (error, errno, _ ("starting libudev"));
      return NULL;
    }
  self->monitor = udev_monitor_new_from_netlink (self->udev, "udev");
  if (self->monitor == NULL)
    {
      sk_error_set_from_errno (error, errno, _ ("opening the udev monitor"));
      return NULL;
    }
  int r = udev_monitor_filter_add_match_subsystem_devtype (self->monitor, "block", NULL);
  if (r >= 0)
    r = udev_monitor_enable_receiving (self->monitor);
  if (r < 0)
    {
      sk_error_set_from_errno (error, -r, _ ("listening to udev"));
      return NULL;
    }
  int fd = udev_monitor_get_fd (self->monitor);
  self->source = g_unix_fd_source_new (fd, G_IO_IN);
  g_source_set_callback (self->source, G_SOURCE_FUNC (on_monitor), self, NULL);
  g_source_set_name (self->source, "[sekisho] udev monitor");
  g_source_attach (self->source, g_main_context_get_thread_default ());
  return g_steal_pointer (&self);
}

GPtrArray *
sk_udev_enumerate (SkUdev *self, GError **error)
{
  g_return_val_if_fail (SK_IS_UDEV (self), NULL);

  g_autoptr (SkUdevEnumerate) e = udev_enumerate_new (self->udev);
  int r = e == NULL ? -ENOMEM : udev_enumerate_add_match_subsystem (e, "block");
  if (r >= 0)
    r = udev_enumerate_scan_devices (e);
  if (r < 0)
    {
      sk_error_set_from_errno (error, -r, _ ("listing block devices"));
      return NULL;
    }
  g_autoptr (GPtrArray) found =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sk_block_device_free);
  struct udev_list_entry *entry;
  udev_list_entry_foreach (entry, udev_enumerate_get_list_entry (e))
  {
    g_autoptr (SkUdevDevice) d =
        udev_device_new_from_syspath (self->udev, udev_list_entry_get_name (entry));
    if (d == NULL)
      continue;
    SkBlockDevice *dev = read_device (self, d);
    remember (self, dev);
    g_ptr_array_add (found, dev);
  }
  return g_steal_pointer (&found);
}

SkBlockDevice *
sk_udev_lookup (SkUdev *self, const char *syspath, GError **error)
{
  g_return_val_if_fail (SK_IS_UDEV (self), NULL);
  g_return_val_if_fail (syspath != NULL, NULL);

  g_autoptr (SkUdevDevice) d = udev_device_new_from_syspath (self->udev, syspath);
  if (d == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_MEDIA_REMOVED,
                           _ ("the device is no longer there"));
      return NULL;
    }
  return read_device (self, d);
}

GPtrArray *
sk_udev_partitions (SkUdev *self, const char *disk_syspath, GError **error)
{
  g_return_val_if_fail (SK_IS_UDEV (self), NULL);

  g_autoptr (SkUdevDevice) disk = udev_device_new_from_syspath (self->udev, disk_syspath);
  if (disk == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_MEDIA_REMOVED,
                           _ ("the device is no longer there"));
      return NULL;
    }
  g_autoptr (SkUdevEnumerate) e = udev_enumerate_new (self->udev);
  int r = e == NULL ? -ENOMEM : udev_enumerate_add_match_parent (e, disk);
  if (r >= 0)
    r = udev_enumerate_add_match_subsystem (e, "block");
  if (r >= 0)
    r = udev_enumerate_scan_devices (e);
  if (r < 0)
    {
      sk_error_set_from_errno (error, -r, _ ("listing partitions"));
      return NULL;
    }
  g_autoptr (GPtrArray) found =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sk_block_device_free);
  struct udev_list_entry *entry;
  udev_list_entry_foreach (entry, udev_enumerate_get_list_entry (e))
  {
    g_autoptr (SkUdevDevice) d =
        udev_device_new_from_syspath (self->udev, udev_list_entry_get_name (entry));
    if (d != NULL && g_strcmp0 (udev_device_get_devtype (d), "partition") == 0)
      g_ptr_array_add (found, read_device (self, d));
  }
  return g_steal_pointer (&found);
}
