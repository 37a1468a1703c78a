/* sk-udev.h — block devices as libudev and libblkid see them
 *
 * The one door to libudev and libblkid.  SkUdev turns the udev monitor's
 * socket into a GSource on the thread-default main context and emits typed
 * signals for block devices (whole disks and partitions) added and removed,
 * each with the identity Sekisho judges a medium by.  Every text in an
 * identity comes from the device itself (its USB descriptors, its file
 * system): untrusted, escape it before it reaches a message or a log.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct
{
  /* USB interface class, subclass and protocol, as in the descriptors. */
  guint8 klass;
  guint8 subclass;
  guint8 protocol;
} SkUsbInterface;

typedef struct
{
  char *syspath;      /* /sys/devices/… of this block device */
  char *devnode;      /* /dev/sdb, /dev/sdb1 (udev's DEVNAME) */
  guint64 devnum;     /* its major:minor (a dev_t) as udev reports it; 0 when none */
  char *disk_syspath; /* the whole disk this belongs to (its own syspath for a disk) */
  gboolean is_partition;
  char *bus;          /* "usb" when a USB device is above it, else udev's ID_BUS or "" */
  char *vendor;       /* USB manufacturer string, or ID_VENDOR; "" when none */
  char *model;        /* USB product string, or ID_MODEL; "" when none */
  char *serial;       /* USB serial string, or ID_SERIAL_SHORT; "" when none */
  char *vendor_id;    /* USB idVendor, 4 hex digits; "" off USB */
  char *product_id;   /* USB idProduct */
  GArray *interfaces; /* SkUsbInterface: every interface of the USB device above */
  gboolean removable;
  gboolean optical; /* a CD/DVD/BD drive */
  guint64 size;     /* bytes; 0 when no medium is in the drive */
  char *fs_type;    /* libblkid's TYPE ("ext4", "vfat", …), NULL when none */
  char *pt_type;    /* libblkid's PTTYPE ("dos", "gpt"), NULL when none */
  guint partitions; /* for a disk: how many partitions udev knows of */
} SkBlockDevice;

GType
sk_block_device_get_type (void);
#define SK_TYPE_BLOCK_DEVICE (sk_block_device_get_type ())
SkBlockDevice *
sk_block_device_copy (const SkBlockDevice *dev);
void
sk_block_device_free (SkBlockDevice *dev);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkBlockDevice, sk_block_device_free)

/* A one-line identity for the journal and messages, every device text
 * escaped: bus=usb vendor=… model=… serial=… id=VVVV:PPPP. */
char *
sk_block_device_describe (const SkBlockDevice *dev);

#define SK_TYPE_UDEV (sk_udev_get_type ())
G_DECLARE_FINAL_TYPE (SkUdev, sk_udev, SK, UDEV, GObject)

/* Signals (on the thread-default main context of sk_udev_new's caller):
 *   "device-added"   (SkBlockDevice *dev)  a block device appeared
 *   "device-removed" (SkBlockDevice *dev)  it went; the identity is the one
 *                                          it had when it came */
SkUdev *
sk_udev_new (GError **error);

/* The block devices present now (SkBlockDevice*), in syspath order.  Each
 * is also remembered, so that its removal carries its identity. */
GPtrArray *
sk_udev_enumerate (SkUdev *self, GError **error);

/* The identity of the block device at SYSPATH, read now. */
SkBlockDevice *
sk_udev_lookup (SkUdev *self, const char *syspath, GError **error);

/* The partitions of the disk at DISK_SYSPATH (SkBlockDevice*). */
GPtrArray *
sk_udev_partitions (SkUdev *self, const char *disk_syspath, GError **error);

G_END_DECLS
