/* sk-mount.h — a medium's file system, mounted privately, reached by descriptor
 *
 * The block device udev named is opened once (O_NOFOLLOW) and checked with
 * fstat to be the block device of udev's major:minor: a node swapped
 * between udev's report and the mount — another device, a symlink, a file
 * — is refused (media-removed) and nothing is mounted.  The kernel is
 * handed /proc/self/fd/N of that descriptor as the source (fsopen,
 * fsconfig, fsmount: the new mount API), so what it mounts is the inode
 * that was checked, whatever happens to the name.  The mount is detached:
 * it is never attached to any folder, so no mount point exists that
 * another process could see, enter or swap, and it is in no mount table.
 * It goes when its descriptors are closed.  The device descriptor is
 * read-only even for a read-write mount: the kernel opens the device for
 * the file system itself, by the number of the inode it was handed; ours
 * serves the check, the ioctls and the source's name (and lets a stale
 * read-only flag of our own be cleared).
 *
 * By the file system libblkid named, and only ever with nosuid,nodev,
 * noexec: read-only (plus noatime) to import, to read a token or to read
 * back; read-write only to export or register.  Files on it are reached
 * from the mount's root descriptor with openat2 (RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV): a
 * symlink, a FIFO, a device node or anything else that is not a regular
 * file is refused by name (media-entry-type) and never read.  Nothing on a
 * medium is executed or handed to another program.
 *
 * Unmounting is not proof that anything reached the medium (umount returns
 * 0 after data loss): writers remount read-only and read back.
 */
#pragma once

#include <gio/gio.h>
#include <sys/stat.h>
#include <sys/types.h>

G_BEGIN_DECLS

typedef enum
{
  SK_MOUNT_READ_ONLY,
  SK_MOUNT_READ_WRITE,
} SkMountMode;

#define SK_TYPE_MOUNT (sk_mount_get_type ())
G_DECLARE_FINAL_TYPE (SkMount, sk_mount, SK, MOUNT, GObject)

/* Whether FS_TYPE (libblkid's name) is one a medium may carry: vfat, exfat,
 * ext4, iso9660, udf. */
gboolean
sk_mount_fs_allowed (const char *fs_type);

/* The mount(2) flags and data for FS_TYPE in MODE.  Always nosuid, nodev,
 * noexec, noatime; read-only adds ro and, where the file system has one,
 * the option that keeps it from writing while it mounts (ext4 "noload": a
 * plain ro mount replays a dirty journal).  vfat and exfat: every file
 * root's and 0600, every folder 0700 (nothing executable), names in UTF-8.
 * iso9660 and udf: read-only always (media-read-only for MODE read-write),
 * files 0400, folders 0500.  Refused: a file system not allowed
 * (media-filesystem). */
gboolean
sk_mount_options (const char *fs_type,
                  SkMountMode mode,
                  unsigned long *out_flags,
                  char **out_data,
                  GError **error);

/* Mount the block device DEVNODE, which udev reported as DEVNUM (its
 * major:minor), holding FS_TYPE, with sk_mount_options, detached (above).
 * A read-only mount also marks the block device itself read-only
 * (BLKROSET) until it is unmounted, so that no file system code path —
 * journal replay, orphan clean-up, a superblock update — can write to the
 * medium: its bytes are the same after an import as before.  Refused: a
 * node that is not DEVNUM's block device, or a symbolic link
 * (media-removed); a file system not allowed, or one this station's
 * kernel cannot read (media-filesystem); a read-write mount of a medium
 * that cannot be written (media-read-only); a device that is gone
 * (media-removed).  A call of the mount API that fails otherwise is named
 * in the error with its errno. */
/* Whether DEVNODE is now the block device DEVNUM (the check sk_mount_new
 * makes on the descriptor it mounts through): FALSE with media-removed
 * saying what is there instead. */
gboolean
sk_mount_check_node (const char *devnode, dev_t devnum, GError **error);

SkMount *
sk_mount_new (
    const char *devnode, dev_t devnum, const char *fs_type, SkMountMode mode, GError **error);

/* The mount's root as a path through this process's own descriptor table
 * ("/proc/self/fd/N"), for code that takes a folder by name: no other
 * process can change what it leads to.  Valid while mounted. */
const char *
sk_mount_get_path (SkMount *self);
SkMountMode
sk_mount_get_mode (SkMount *self);
/* The root of the mounted file system, O_RDONLY|O_DIRECTORY. */
int
sk_mount_get_dirfd (SkMount *self);

/* The names in the top folder, sorted; "." and ".." left out. */
GPtrArray *
sk_mount_list (SkMount *self, GError **error);

/* Open NAME (a bare name in the top folder) read-only: a regular file, or a
 * refusal naming what it is.  Returns the descriptor, or -1. */
int
sk_mount_open_file (SkMount *self, const char *name, struct stat *out_st, GError **error);

/* Read NAME whole when it is a regular file of at most MAX_SIZE bytes. */
GBytes *
sk_mount_read_small (SkMount *self, const char *name, gsize max_size, GError **error);

/* Bytes free for us to write. */
gboolean
sk_mount_free_space (SkMount *self, guint64 *out_bytes, GError **error);

/* Write what SOURCE_FD holds from its current offset to its end as NAME:
 * into a temporary name, fsync, rename (never over an existing NAME), fsync
 * the folder.  With OUT_SHA256, the SHA-256 of the bytes written.  On
 * failure the temporary is removed (if the medium still lets us) and the
 * error says whether NAME may exist (it never does unless the rename ran). */
gboolean
sk_mount_write_file (SkMount *self,
                     const char *name,
                     int source_fd,
                     char **out_sha256,
                     GCancellable *cancellable,
                     GError **error);

/* Remove NAME from the top folder, if it is there (a failed export's part). */
gboolean
sk_mount_remove (SkMount *self, const char *name, GError **error);

/* SHA-256 of NAME's bytes, and its size. */
char *
sk_mount_hash_file (
    SkMount *self, const char *name, guint64 *out_size, GCancellable *cancellable, GError **error);

/* Unmount: the mount's descriptors are closed, which dissolves it, and
 * the device is checked to be free (an exclusive open).  A read-write
 * mount whose device is still held — a file on it open elsewhere — is an
 * error: what a later mount reads back would not come from the medium.
 * A read-only one still held is left to its holder (the device stays
 * marked read-only).  Dispose does the same, quietly. */
gboolean
sk_mount_unmount (SkMount *self, GError **error);

/* The mount's flags as the kernel reports them for this mount (statvfs),
 * in mountinfo's words and order: "ro,nosuid,nodev,noexec,noatime". */
char *
sk_mount_read_options (SkMount *self, GError **error);

G_END_DECLS
