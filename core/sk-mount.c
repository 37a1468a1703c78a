/* sk-mount.c — a medium's file system, mounted privately, reached by descriptor */
#define G_LOG_DOMAIN "sekisho-mount"

#include "config.h"

#include <glib/gi18n-lib.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-fault.h"
#include "sk-fs.h"
#include "sk-hash.h"
#include "sk-mount-private.h"
#include "sk-mount.h"

#define COPY_CHUNK (1024 * 1024)

struct _SkMount
{
  GObject parent_instance;

  SkMountMode mode;
  int devfd;          /* the block device, opened once and checked; the mount's source */
  int mntfd;          /* the detached mount (fsmount); -1 once unmounted */
  int dirfd;          /* its root, O_RDONLY|O_DIRECTORY */
  char *path;         /* "/proc/self/fd/<dirfd>" */
  gboolean marked_ro; /* we set the device's read-only flag: cleared once it is free */
};

G_DEFINE_TYPE (SkMount, sk_mount, G_TYPE_OBJECT)

static const char *const allowed_fs[] = { "vfat", "exfat", "ext4", "iso9660", "udf", NULL };

gboolean
sk_mount_fs_allowed (const char *fs_type)
{
  return fs_type != NULL && g_strv_contains (allowed_fs, fs_type);
}

static gboolean
refuse_fs (GError **error, const char *fs_type)
{
  g_autofree char *shown = sk_escape_untrusted (fs_type != NULL ? fs_type : "none");
  g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_FILESYSTEM,
               _ ("the medium's file system is %s, not one Sekisho mounts "
                  "(vfat, exfat, ext4, iso9660, udf)"),
               shown);
  return FALSE;
}

gboolean
sk_mount_options (const char *fs_type,
                  SkMountMode mode,
                  unsigned long *out_flags,
                  char **out_data,
                  GError **error)
{
  g_return_val_if_fail (out_flags != NULL && out_data != NULL, FALSE);

  if (!sk_mount_fs_allowed (fs_type))
    return refuse_fs (error, fs_type);
  gboolean ro = mode == SK_MOUNT_READ_ONLY;
  const char *data = NULL;
  if (g_str_equal (fs_type, "iso9660") || g_str_equal (fs_type, "udf"))
    {
      /* A disc is never written; Rock Ridge or UDF owners and modes give
       * way to these where the file system lets them. */
      if (!ro)
        {
          g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_READ_ONLY,
                       _ ("a disc's %s file system is never written"), fs_type);
          return FALSE;
        }
      data = "uid=0,gid=0,mode=0400,dmode=0500,iocharset=utf8";
    }
  else if (g_str_equal (fs_type, "vfat"))
    /* FAT has no owners or modes: these make every file root's, 0600. */
    data = "uid=0,gid=0,fmask=0177,dmask=0077,utf8,errors=remount-ro";
  else if (g_str_equal (fs_type, "exfat"))
    data = "uid=0,gid=0,fmask=0177,dmask=0077,iocharset=utf8,errors=remount-ro";
  else if (g_str_equal (fs_type, "ext4") && ro)
    /* A plain ro mount still replays a dirty journal (a write): noload
     * reads the file system as its last checkpoint left it. */
    data = "noload";
  *out_flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | (ro ? MS_RDONLY : 0);
  *out_data = g_strdup (data);
  return TRUE;
}

/* Why the block device DEVNODE cannot be used, from open's ERRSV. */
static void
set_open_error (GError **error, const char *devnode, int errsv)
{
  g_autofree char *shown = sk_escape_untrusted (devnode);
  if (errsv == ELOOP)
    g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_REMOVED,
                 _ ("%s is a symbolic link, not the device udev reported; nothing was mounted"),
                 shown);
  else if (errsv == ENOENT || errsv == ENXIO || errsv == ENODEV || errsv == EIO)
    g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_REMOVED, _ ("opening the medium %s: %s"), shown,
                 g_strerror (errsv));
  else
    {
      g_autofree char *what = g_strdup_printf (_ ("opening the medium %s"), shown);
      sk_error_set_from_errno (error, errsv, what);
    }
}

/* DEVNODE, opened once: it must be the block device DEVNUM that udev
 * reported, not a symbolic link and not another node put in its place.
 * The descriptor is opened a second time through /proc/self/fd — the same
 * inode, whatever the name now leads to — so that an LD_PRELOAD device
 * mock (umockdev, under which the tests and the station harness run) that
 * traps ioctls on descriptors opened by the device's name lets these reach
 * the kernel. */
static int
open_device (const char *devnode, dev_t devnum, GError **error)
{
  if (devnum == 0)
    {
      g_autofree char *shown = sk_escape_untrusted (devnode);
      g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_REMOVED,
                   _ ("udev named no device number for %s; nothing was mounted"), shown);
      return -1;
    }
  int fd = open (devnode, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    {
      set_open_error (error, devnode, errno);
      return -1;
    }
  g_autofree char *again = g_strdup_printf ("/proc/self/fd/%d", fd);
  int fd2 = open (again, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd2 >= 0)
    {
      close (fd);
      fd = fd2;
    }
  struct stat st = { 0 };
  if (fstat (fd, &st) != 0 || !S_ISBLK (st.st_mode) || st.st_rdev != devnum)
    {
      gboolean blk = S_ISBLK (st.st_mode);
      close (fd);
      g_autofree char *shown = sk_escape_untrusted (devnode);
      if (blk)
        g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_REMOVED,
                     _ ("%s is no longer the device udev reported (%u:%u, now %u:%u); nothing was "
                        "mounted"),
                     shown, major (devnum), minor (devnum), major (st.st_rdev), minor (st.st_rdev));
      else
        g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_REMOVED,
                     _ ("%s is not a block device, not the device udev reported; nothing was "
                        "mounted"),
                     shown);
      return -1;
    }
  return fd;
}

gboolean
sk_mount_check_node (const char *devnode, dev_t devnum, GError **error)
{
  g_return_val_if_fail (devnode != NULL, FALSE);

  int fd = open_device (devnode, devnum, error);
  if (fd < 0)
    return FALSE;
  close (fd);
  return TRUE;
}

/* The block device's own read-only flag (BLKROSET): with it set, the kernel
 * refuses every write to the device, whatever a file system would do. */
static gboolean
set_device_read_only (int devfd, gboolean read_only, GError **error)
{
  int flag = read_only ? 1 : 0;
  if (ioctl (devfd, BLKROSET, &flag) == 0)
    return TRUE;
  sk_error_set_from_errno (error, errno, _ ("marking the medium read-only"));
  return FALSE;
}

/* Whether nothing holds the device any more: no file system, ours or
 * another's, has it claimed.  An exclusive open fails with EBUSY while one
 * does. */
static gboolean
device_free (int devfd)
{
  g_autofree char *path = g_strdup_printf ("/proc/self/fd/%d", devfd);
  int fd = open (path, O_RDONLY | O_EXCL | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd >= 0)
    {
      close (fd);
      return TRUE;
    }
  if (errno != EBUSY)
    g_debug ("checking the medium is free: %s", g_strerror (errno));
  return errno != EBUSY;
}

/* The errno of a read or write on a medium, as a reason: a device that went
 * away answers EIO, ENODEV or ENXIO. */
static void
set_medium_errno (GError **error, int errsv, SkErrorCode gone_code, const char *what)
{
  if (errsv == EIO || errsv == ENODEV || errsv == ENXIO || errsv == ENOTCONN)
    g_set_error (error, SK_ERROR, gone_code, _ ("%s: %s"), what, g_strerror (errsv));
  else if (errsv == ENOSPC || errsv == EDQUOT)
    g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_FULL, _ ("%s: %s"), what, g_strerror (errsv));
  else
    sk_error_set_from_errno (error, errsv, what);
}

/* Close the mount's descriptors, which dissolves the detached mount.  TRUE
 * when the device is free afterwards (and then unmarked, its cache
 * dropped, its descriptor closed); FALSE while something else holds it. */
static gboolean
detach (SkMount *self)
{
  if (self->dirfd >= 0)
    close (self->dirfd);
  if (self->mntfd >= 0)
    close (self->mntfd);
  self->dirfd = self->mntfd = -1;
  g_clear_pointer (&self->path, g_free);
  if (self->devfd < 0)
    return TRUE;
  if (!device_free (self->devfd))
    return FALSE;
  /* What a later mount reads must come from the device, not from the
   * kernel's cache of it. */
  if (ioctl (self->devfd, BLKFLSBUF, 0) != 0)
    g_debug ("flushing the medium's cache: %s", g_strerror (errno));
  if (self->marked_ro)
    set_device_read_only (self->devfd, FALSE, NULL);
  self->marked_ro = FALSE;
  close (self->devfd);
  self->devfd = -1;
  return TRUE;
}

static void
sk_mount_dispose (GObject *object)
{
  SkMount *self = SK_MOUNT (object);

  if (!detach (self))
    g_debug ("the medium is still held by another mount or an open file");
  if (self->devfd >= 0)
    close (self->devfd);
  self->devfd = -1;
  G_OBJECT_CLASS (sk_mount_parent_class)->dispose (object);
}

static void
sk_mount_class_init (SkMountClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sk_mount_dispose;
}

static void
sk_mount_init (SkMount *self)
{
  self->devfd = self->mntfd = self->dirfd = -1;
}

/* What the kernel said about a failed fsconfig (its context's log), for
 * the debug log only: it may quote the device. */
static void
log_fs_messages (int fsfd)
{
  char buf[512];
  gssize n;
  while ((n = read (fsfd, buf, sizeof buf - 1)) > 0)
    {
      buf[n] = '\0';
      g_debug ("kernel: %s", buf);
    }
}

/* The mount's failure ERRSV in CALL, as a reason. */
static void
set_mount_error (GError **error, const char *call, const char *fs_type, SkMountMode mode, int errsv)
{
  if (errsv == ENODEV && g_str_equal (call, "fsopen"))
    g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_FILESYSTEM,
                 _ ("this station's kernel cannot read %s file systems; nothing was read from "
                    "the medium"),
                 fs_type);
  else if (errsv == ENOENT || errsv == ENXIO || errsv == ENODEV || errsv == EIO)
    g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_REMOVED, _ ("mounting the medium (%s): %s"), call,
                 g_strerror (errsv));
  else if (mode == SK_MOUNT_READ_WRITE && (errsv == EROFS || errsv == EACCES))
    g_set_error_literal (error, SK_ERROR, SK_ERROR_MEDIA_READ_ONLY,
                         _ ("the medium is write-protected; nothing was written"));
  else if (errsv == EINVAL && g_str_equal (call, "fsconfig create"))
    g_set_error_literal (error, SK_ERROR, SK_ERROR_MEDIA_FILESYSTEM,
                         _ ("mounting the medium: its file system is damaged or not what it says"));
  else
    {
      g_autofree char *what = g_strdup_printf (_ ("mounting the medium (%s)"), call);
      sk_error_set_from_errno (error, errsv, what);
    }
}

/* The file system of DEVFD, configured with DATA ("key=value,flag,…") and
 * made a detached mount with ATTRS.  Returns the mount's descriptor. */
static int
mount_detached (int devfd,
                const char *fs_type,
                SkMountMode mode,
                const char *data,
                unsigned int attrs,
                GError **error)
{
  int fsfd = fsopen (fs_type, FSOPEN_CLOEXEC);
  if (fsfd < 0)
    {
      set_mount_error (error, "fsopen", fs_type, mode, errno);
      return -1;
    }
  g_autofree char *source = g_strdup_printf ("/proc/self/fd/%d", devfd);
  const char *call = "fsconfig source";
  gboolean ok = fsconfig (fsfd, FSCONFIG_SET_STRING, "source", source, 0) == 0;
  if (ok && mode == SK_MOUNT_READ_ONLY)
    {
      call = "fsconfig ro";
      ok = fsconfig (fsfd, FSCONFIG_SET_FLAG, "ro", NULL, 0) == 0;
    }
  g_auto (GStrv) options = g_strsplit (data != NULL ? data : "", ",", -1);
  for (guint i = 0; ok && options[i] != NULL; i++)
    {
      char *eq = strchr (options[i], '=');
      if (options[i][0] == '\0')
        continue;
      call = "fsconfig option";
      if (eq != NULL)
        {
          *eq = '\0';
          ok = fsconfig (fsfd, FSCONFIG_SET_STRING, options[i], eq + 1, 0) == 0;
        }
      else
        ok = fsconfig (fsfd, FSCONFIG_SET_FLAG, options[i], NULL, 0) == 0;
    }
  if (ok)
    {
      call = "fsconfig create";
      ok = fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0;
    }
  int mntfd = -1;
  if (ok)
    {
      call = "fsmount";
      mntfd = fsmount (fsfd, FSMOUNT_CLOEXEC, attrs);
    }
  int errsv = errno;
  if (mntfd < 0)
    {
      log_fs_messages (fsfd);
      set_mount_error (error, call, fs_type, mode, errsv);
    }
  /* The context holds the superblock too: closed, only the mount does. */
  close (fsfd);
  return mntfd;
}

static unsigned int
mount_attrs (unsigned long flags)
{
  unsigned int attrs = 0;
  attrs |= (flags & MS_RDONLY) ? MOUNT_ATTR_RDONLY : 0;
  attrs |= (flags & MS_NOSUID) ? MOUNT_ATTR_NOSUID : 0;
  attrs |= (flags & MS_NODEV) ? MOUNT_ATTR_NODEV : 0;
  attrs |= (flags & MS_NOEXEC) ? MOUNT_ATTR_NOEXEC : 0;
  attrs |= (flags & MS_NOATIME) ? MOUNT_ATTR_NOATIME : 0;
  return attrs;
}

SkMount *
sk_mount_new (
    const char *devnode, dev_t devnum, const char *fs_type, SkMountMode mode, GError **error)
{
  g_return_val_if_fail (devnode != NULL, NULL);

  unsigned long flags = 0;
  g_autofree char *data = NULL;
  if (!sk_mount_options (fs_type, mode, &flags, &data, error))
    return NULL;

  g_autoptr (SkMount) self = g_object_new (SK_TYPE_MOUNT, NULL);
  self->mode = mode;
  self->devfd = open_device (devnode, devnum, error);
  if (self->devfd < 0)
    return NULL;
  /* Read-only: the device itself, not only the mount.  Read-write: a flag
   * an earlier read-only mount left (a crash) is cleared; a stick's own
   * write-protect switch is the disk's flag and stays in force. */
  if (!set_device_read_only (self->devfd, mode == SK_MOUNT_READ_ONLY, error))
    return NULL;
  self->marked_ro = mode == SK_MOUNT_READ_ONLY;
  if (ioctl (self->devfd, BLKFLSBUF, 0) != 0)
    g_debug ("flushing the medium's cache: %s", g_strerror (errno));

  self->mntfd = mount_detached (self->devfd, fs_type, mode, data, mount_attrs (flags), error);
  if (self->mntfd < 0)
    return NULL;
  self->dirfd = openat (self->mntfd, ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (self->dirfd < 0)
    {
      set_medium_errno (error, errno, SK_ERROR_MEDIA_REMOVED,
                        _ ("opening the medium's top folder"));
      return NULL;
    }
  self->path = g_strdup_printf ("/proc/self/fd/%d", self->dirfd);
  return g_steal_pointer (&self);
}

/* The statvfs flags a mount made with FLAGS (mount(2)'s) shows. */
static unsigned long
statvfs_flags (unsigned long flags)
{
  unsigned long want = 0;
  want |= (flags & MS_RDONLY) ? ST_RDONLY : 0;
  want |= (flags & MS_NOSUID) ? ST_NOSUID : 0;
  want |= (flags & MS_NODEV) ? ST_NODEV : 0;
  want |= (flags & MS_NOEXEC) ? ST_NOEXEC : 0;
  want |= (flags & MS_NOATIME) ? ST_NOATIME : 0;
  return want;
}

SkMount *
sk_mount_adopt (int root_fd, const char *fs_type, SkMountMode mode, GError **error)
{
  g_return_val_if_fail (root_fd >= 0, NULL);

  unsigned long flags = 0;
  g_autofree char *data = NULL;
  if (!sk_mount_options (fs_type, mode, &flags, &data, error))
    return NULL;

  g_autoptr (SkMount) self = g_object_new (SK_TYPE_MOUNT, NULL);
  self->mode = mode;
  self->dirfd = openat (root_fd, ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct statvfs sv;
  if (self->dirfd < 0 || fstatvfs (self->dirfd, &sv) != 0)
    {
      sk_error_set_from_errno (error, errno, _ ("opening the medium's top folder"));
      return NULL;
    }
  if (mode == SK_MOUNT_READ_WRITE && (sv.f_flag & ST_RDONLY))
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_MEDIA_READ_ONLY,
                           _ ("the medium is write-protected; nothing was written"));
      return NULL;
    }
  /* No weaker than a mount of our own. */
  unsigned long want = statvfs_flags (flags);
  if ((sv.f_flag & want) != want)
    {
      g_autofree char *have = sk_mount_read_options (self, NULL);
      g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                   _ ("the file system is mounted %s, without all of the options Sekisho mounts "
                      "media with; it is not used"),
                   have);
      return NULL;
    }
  self->path = g_strdup_printf ("/proc/self/fd/%d", self->dirfd);
  return g_steal_pointer (&self);
}

const char *
sk_mount_get_path (SkMount *self)
{
  g_return_val_if_fail (SK_IS_MOUNT (self), NULL);
  return self->path;
}

SkMountMode
sk_mount_get_mode (SkMount *self)
{
  g_return_val_if_fail (SK_IS_MOUNT (self), SK_MOUNT_READ_ONLY);
  return self->mode;
}

int
sk_mount_get_dirfd (SkMount *self)
{
  g_return_val_if_fail (SK_IS_MOUNT (self), -1);
  return self->dirfd;
}

static gboolean
require_mounted (SkMount *self, GError **error)
{
  if (self->dirfd >= 0)
    return TRUE;
  g_set_error_literal (error, SK_ERROR, SK_ERROR_MEDIA_REMOVED, _ ("the medium is not mounted"));
  return FALSE;
}

GPtrArray *
sk_mount_list (SkMount *self, GError **error)
{
  g_return_val_if_fail (SK_IS_MOUNT (self), NULL);
  if (!require_mounted (self, error))
    return NULL;

  int fd = openat (self->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir = fd < 0 ? NULL : fdopendir (fd);
  if (dir == NULL)
    {
      int errsv = errno;
      if (fd >= 0)
        close (fd);
      set_medium_errno (error, errsv, SK_ERROR_MEDIA_REMOVED, _ ("listing the medium"));
      return NULL;
    }
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  struct dirent *de;
  errno = 0;
  while ((de = readdir (dir)) != NULL)
    {
      if (g_str_equal (de->d_name, ".") || g_str_equal (de->d_name, ".."))
        continue;
      g_ptr_array_add (names, g_strdup (de->d_name));
      errno = 0;
    }
  int errsv = errno;
  closedir (dir);
  if (errsv != 0)
    {
      set_medium_errno (error, errsv, SK_ERROR_MEDIA_REMOVED, _ ("listing the medium"));
      return NULL;
    }
  g_ptr_array_sort (names, sk_fs_compare_names);
  return g_steal_pointer (&names);
}

static int
open_beneath (int dirfd, const char *name, guint64 flags, mode_t mode)
{
  struct open_how how = {
    .flags = flags,
    .mode = mode,
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  };
  int fd;
  do
    fd = (int)syscall (SYS_openat2, dirfd, name, &how, sizeof how);
  while (fd < 0 && errno == EINTR);
  return fd;
}

static gboolean
check_bare_name (const char *name, GError **error)
{
  if (name[0] != '\0' && strchr (name, '/') == NULL && !g_str_equal (name, ".") &&
      !g_str_equal (name, ".."))
    return TRUE;
  g_autofree char *shown = sk_escape_untrusted (name);
  g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_ENTRY_TYPE,
               _ ("\"%s\" is not a plain name in the medium's top folder"), shown);
  return FALSE;
}

static const char *
type_name (mode_t m)
{
  if (S_ISLNK (m))
    return _ ("a symbolic link");
  if (S_ISFIFO (m))
    return _ ("a FIFO");
  if (S_ISCHR (m) || S_ISBLK (m))
    return _ ("a device node");
  if (S_ISSOCK (m))
    return _ ("a socket");
  if (S_ISDIR (m))
    return _ ("a folder");
  return _ ("not a regular file");
}

static void
refuse_entry (GError **error, const char *name, const char *what)
{
  g_autofree char *shown = sk_escape_untrusted (name);
  g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_ENTRY_TYPE,
               _ ("\"%s\" on the medium is %s; it was not opened"), shown, what);
}

int
sk_mount_open_file (SkMount *self, const char *name, struct stat *out_st, GError **error)
{
  g_return_val_if_fail (SK_IS_MOUNT (self), -1);
  g_return_val_if_fail (name != NULL, -1);
  if (!require_mounted (self, error) || !check_bare_name (name, error))
    return -1;

  /* O_NONBLOCK: a FIFO opens at once instead of waiting for a writer. */
  int fd = open_beneath (self->dirfd, name,
                         O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int errsv = errno;
      struct stat st;
      if (errsv == ELOOP || errsv == EXDEV)
        refuse_entry (error, name, _ ("a symbolic link or leads outside the medium"));
      else if (fstatat (self->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG (st.st_mode))
        refuse_entry (error, name, type_name (st.st_mode));
      else
        {
          g_autofree char *shown = sk_escape_untrusted (name);
          g_autofree char *what = g_strdup_printf (_ ("opening \"%s\" on the medium"), shown);
          set_medium_errno (error, errsv, SK_ERROR_MEDIA_REMOVED, what);
        }
      return -1;
    }
  struct stat st;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      int errsv = errno;
      if (fstat (fd, &st) == 0)
        refuse_entry (error, name, type_name (st.st_mode));
      else
        set_medium_errno (error, errsv, SK_ERROR_MEDIA_REMOVED, _ ("reading the medium"));
      close (fd);
      return -1;
    }
  /* A regular file: blocking reads from here on. */
  int fl = fcntl (fd, F_GETFL);
  if (fl >= 0)
    fcntl (fd, F_SETFL, fl & ~O_NONBLOCK);
  if (out_st != NULL)
    *out_st = st;
  return fd;
}

static gssize
read_full (int fd, guint8 *buf, gsize len)
{
  gsize done = 0;
  while (done < len)
    {
      gssize n = read (fd, buf + done, len - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        break;
      done += (gsize)n;
    }
  return (gssize)done;
}

GBytes *
sk_mount_read_small (SkMount *self, const char *name, gsize max_size, GError **error)
{
  struct stat st;
  int fd = sk_mount_open_file (self, name, &st, error);
  if (fd < 0)
    return NULL;
  if ((guint64)st.st_size > max_size)
    {
      close (fd);
      g_autofree char *shown = sk_escape_untrusted (name);
      g_autofree char *limit = g_strdup_printf ("%" G_GSIZE_FORMAT, max_size);
      g_set_error (error, SK_ERROR, SK_ERROR_FILE_TOO_LARGE,
                   _ ("\"%s\" on the medium is larger than %s bytes"), shown, limit);
      return NULL;
    }
  g_autofree guint8 *buf = g_malloc (max_size + 1);
  gssize n = read_full (fd, buf, max_size + 1);
  int errsv = errno;
  close (fd);
  if (n < 0)
    {
      set_medium_errno (error, errsv, SK_ERROR_MEDIA_REMOVED, _ ("reading the medium"));
      return NULL;
    }
  if ((gsize)n > max_size)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_FILE_TOO_LARGE,
                           _ ("a file on the medium grew while it was read"));
      return NULL;
    }
  return g_bytes_new (buf, (gsize)n);
}

gboolean
sk_mount_free_space (SkMount *self, guint64 *out_bytes, GError **error)
{
  g_return_val_if_fail (SK_IS_MOUNT (self), FALSE);
  if (!require_mounted (self, error))
    return FALSE;
  struct statvfs sv;
  if (fstatvfs (self->dirfd, &sv) != 0)
    {
      set_medium_errno (error, errno, SK_ERROR_MEDIA_REMOVED, _ ("asking the medium's free space"));
      return FALSE;
    }
  *out_bytes = (guint64)sv.f_bavail * (guint64)sv.f_frsize;
  return TRUE;
}

static gboolean
sync_dir (SkMount *self, GError **error)
{
  if (fsync (self->dirfd) == 0)
    return TRUE;
  set_medium_errno (error, errno, SK_ERROR_MEDIA_NOT_WRITTEN, _ ("syncing the medium's folder"));
  return FALSE;
}

gboolean
sk_mount_write_file (SkMount *self,
                     const char *name,
                     int source_fd,
                     char **out_sha256,
                     GCancellable *cancellable,
                     GError **error)
{
  g_return_val_if_fail (SK_IS_MOUNT (self), FALSE);
  g_return_val_if_fail (self->mode == SK_MOUNT_READ_WRITE, FALSE);
  if (!require_mounted (self, error) || !check_bare_name (name, error))
    return FALSE;

  g_autofree char *tmp = NULL;
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 8; attempt++)
    {
      g_free (tmp);
      tmp = g_strdup_printf (".sekisho-%08x.part", g_random_int ());
      fd = open_beneath (self->dirfd, tmp,
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
      if (fd < 0 && errno != EEXIST)
        break;
    }
  if (fd < 0)
    {
      set_medium_errno (error, errno, SK_ERROR_MEDIA_NOT_WRITTEN,
                        _ ("creating a file on the medium"));
      return FALSE;
    }

  g_autoptr (SkSha256) sha = sk_sha256_new ();
  g_autofree guint8 *buf = g_malloc (COPY_CHUNK);
  gboolean ok = TRUE;
  int errsv = 0;
  while (ok)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }
      gssize n = read_full (source_fd, buf, COPY_CHUNK);
      if (n < 0)
        {
          sk_error_set_from_errno (error, errno, _ ("reading what is to be written"));
          ok = FALSE;
          break;
        }
      if (n == 0)
        break;
      sk_sha256_update (sha, buf, (gsize)n);
      gsize done = 0;
      while (done < (gsize)n)
        {
          gssize w = write (fd, buf + done, (gsize)n - done);
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            {
              errsv = errno;
              ok = FALSE;
              break;
            }
          done += (gsize)w;
        }
      if ((gsize)n < COPY_CHUNK)
        break;
    }
  if (ok)
    sk_fault_point ("media-before-fsync");
  if (ok && fsync (fd) != 0)
    {
      errsv = errno;
      ok = FALSE;
    }
  if (close (fd) != 0 && ok)
    {
      errsv = errno;
      ok = FALSE;
    }
  if (ok && renameat2 (self->dirfd, tmp, self->dirfd, name, RENAME_NOREPLACE) != 0)
    {
      /* Not every file system knows RENAME_NOREPLACE: ask first, then rename. */
      if (errno == EINVAL && faccessat (self->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) != 0 &&
          errno == ENOENT)
        ok = renameat (self->dirfd, tmp, self->dirfd, name) == 0;
      else
        ok = FALSE;
      if (!ok)
        errsv = errno;
    }
  if (!ok)
    {
      unlinkat (self->dirfd, tmp, 0);
      if (error != NULL && *error == NULL)
        {
          g_autofree char *shown = sk_escape_untrusted (name);
          g_autofree char *what = g_strdup_printf (_ ("writing \"%s\" to the medium"), shown);
          if (errsv == EEXIST)
            g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_NOT_WRITTEN,
                         _ ("%s: a file of that name is already there"), what);
          else
            set_medium_errno (error, errsv, SK_ERROR_MEDIA_NOT_WRITTEN, what);
          if ((*error)->code == SK_ERROR_IO_ERROR)
            (*error)->code = SK_ERROR_MEDIA_NOT_WRITTEN;
        }
      return FALSE;
    }
  sk_fault_point ("media-after-rename");
  if (!sync_dir (self, error))
    return FALSE;
  if (out_sha256 != NULL)
    *out_sha256 = g_strdup (sk_sha256_hex (sha));
  return TRUE;
}

gboolean
sk_mount_remove (SkMount *self, const char *name, GError **error)
{
  g_return_val_if_fail (SK_IS_MOUNT (self), FALSE);
  if (!require_mounted (self, error) || !check_bare_name (name, error))
    return FALSE;
  if (unlinkat (self->dirfd, name, 0) != 0 && errno != ENOENT)
    {
      set_medium_errno (error, errno, SK_ERROR_MEDIA_REMOVED,
                        _ ("removing a file from the medium"));
      return FALSE;
    }
  return sync_dir (self, error);
}

char *
sk_mount_hash_file (
    SkMount *self, const char *name, guint64 *out_size, GCancellable *cancellable, GError **error)
{
  int fd = sk_mount_open_file (self, name, NULL, error);
  if (fd < 0)
    return NULL;
  /* The bytes must come from the medium, not from what the cache kept. */
  posix_fadvise (fd, 0, 0, POSIX_FADV_DONTNEED);
  g_autoptr (SkSha256) sha = sk_sha256_new ();
  g_autofree guint8 *buf = g_malloc (COPY_CHUNK);
  guint64 total = 0;
  for (;;)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          close (fd);
          return NULL;
        }
      gssize n = read_full (fd, buf, COPY_CHUNK);
      if (n < 0)
        {
          int errsv = errno;
          close (fd);
          set_medium_errno (error, errsv, SK_ERROR_MEDIA_REMOVED, _ ("reading the medium back"));
          return NULL;
        }
      sk_sha256_update (sha, buf, (gsize)n);
      total += (guint64)n;
      if ((gsize)n < COPY_CHUNK)
        break;
    }
  close (fd);
  if (out_size != NULL)
    *out_size = total;
  return g_strdup (sk_sha256_hex (sha));
}

gboolean
sk_mount_unmount (SkMount *self, GError **error)
{
  g_return_val_if_fail (SK_IS_MOUNT (self), FALSE);

  if (detach (self) || self->mode == SK_MOUNT_READ_ONLY)
    return TRUE;
  g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR,
                       _ ("the medium is still in use after it was unmounted (a file on it is "
                          "open elsewhere); it is released when that file is closed"));
  return FALSE;
}

char *
sk_mount_read_options (SkMount *self, GError **error)
{
  g_return_val_if_fail (SK_IS_MOUNT (self), NULL);
  if (!require_mounted (self, error))
    return NULL;

  struct statvfs sv;
  if (fstatvfs (self->dirfd, &sv) != 0)
    {
      set_medium_errno (error, errno, SK_ERROR_MEDIA_REMOVED, _ ("asking the medium's mount"));
      return NULL;
    }
  GString *words = g_string_new ((sv.f_flag & ST_RDONLY) ? "ro" : "rw");
  if (sv.f_flag & ST_NOSUID)
    g_string_append (words, ",nosuid");
  if (sv.f_flag & ST_NODEV)
    g_string_append (words, ",nodev");
  if (sv.f_flag & ST_NOEXEC)
    g_string_append (words, ",noexec");
  if (sv.f_flag & ST_NOATIME)
    g_string_append (words, ",noatime");
  return g_string_free (words, FALSE);
}
