/* sk-mount-private.h — an SkMount over a file system someone else mounted
 *
 * For tests only; the product never includes this header and never calls
 * it: every mount the station reads or writes is its own (sk_mount_new),
 * made from the block device udev reported, detached, with the options
 * sk_mount_options gives.  The tests need SkMount's file handling — list,
 * open_file (openat2, RESOLVE_BENEATH | NO_SYMLINKS | NO_MAGICLINKS |
 * NO_XDEV), read_small, write_file, hash_file, free_space, remove,
 * read_options — on file systems this machine's kernel cannot mount (vfat,
 * exfat, iso9660) but a FUSE driver can (exfat-fuse, fuseiso): the test
 * mounts the driver itself and hands SkMount the root of that mount.
 */
#pragma once

#include "sk-mount.h"

G_BEGIN_DECLS

/* An SkMount over ROOT_FD, the root folder of a file system already
 * mounted, holding FS_TYPE, used in MODE.  ROOT_FD is duplicated; the
 * caller keeps its own.  Refused: a file system not allowed
 * (media-filesystem) or a disc's in MODE read-write (media-read-only), as
 * sk_mount_options refuses them; a ROOT_FD that is not a folder; a mount
 * that lacks any of the flags sk_mount_new would have given it (nosuid,
 * nodev, noexec, noatime, and ro for MODE read-only) — the kernel's view
 * of the mount (statvfs) is what counts, not what the driver was asked
 * for; a read-only mount in MODE read-write (media-read-only).
 *
 * There is no device: unmounting an adopted mount (sk_mount_unmount,
 * dispose) closes SkMount's descriptor and nothing else.  The caller
 * unmounts the file system. */
SkMount *
sk_mount_adopt (int root_fd, const char *fs_type, SkMountMode mode, GError **error);

G_END_DECLS
