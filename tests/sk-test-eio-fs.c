/* sk-test-eio-fs.c — a medium that fails on command, for pulled-media tests
 *
 *   sk-test-eio-fs BACKING CONTROL MOUNTPOINT
 *
 * A FUSE file system with one file, MOUNTPOINT/disk.img, whose bytes are
 * BACKING's.  Reads, writes and syncs pass through — until the file CONTROL
 * exists; from then on each of them fails with EIO, as a pulled USB stick's
 * do.  A loop device over disk.img is then a block device that dies on
 * command (TESTING.md: no device-mapper here).  Direct I/O: nothing is
 * answered from FUSE's cache.  Runs in the foreground until unmounted.
 */
#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *backing;
static const char *control;
static int backing_fd = -1;

static int
failing (void)
{
  return access (control, F_OK) == 0;
}

static int
eio_getattr (const char *path, struct stat *st, struct fuse_file_info *fi)
{
  memset (st, 0, sizeof *st);
  if (strcmp (path, "/") == 0)
    {
      st->st_mode = S_IFDIR | 0755;
      st->st_nlink = 2;
      return 0;
    }
  if (strcmp (path, "/disk.img") != 0)
    return -ENOENT;
  struct stat b;
  if (fstat (backing_fd, &b) != 0)
    return -errno;
  st->st_mode = S_IFREG | 0600;
  st->st_nlink = 1;
  st->st_size = b.st_size;
  return 0;
}

static int
eio_readdir (const char *path,
             void *buf,
             fuse_fill_dir_t fill,
             off_t off,
             struct fuse_file_info *fi,
             enum fuse_readdir_flags flags)
{
  if (strcmp (path, "/") != 0)
    return -ENOENT;
  fill (buf, ".", NULL, 0, 0);
  fill (buf, "..", NULL, 0, 0);
  fill (buf, "disk.img", NULL, 0, 0);
  return 0;
}

static int
eio_open (const char *path, struct fuse_file_info *fi)
{
  if (strcmp (path, "/disk.img") != 0)
    return -ENOENT;
  fi->direct_io = 1;
  return 0;
}

static int
eio_read (const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
  if (failing ())
    return -EIO;
  ssize_t n = pread (backing_fd, buf, size, off);
  return n < 0 ? -errno : (int)n;
}

static int
eio_write (const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
  if (failing ())
    return -EIO;
  ssize_t n = pwrite (backing_fd, buf, size, off);
  return n < 0 ? -errno : (int)n;
}

static int
eio_fsync (const char *path, int datasync, struct fuse_file_info *fi)
{
  if (failing ())
    return -EIO;
  return (datasync ? fdatasync (backing_fd) : fsync (backing_fd)) == 0 ? 0 : -errno;
}

static const struct fuse_operations ops = {
  .getattr = eio_getattr,
  .readdir = eio_readdir,
  .open = eio_open,
  .read = eio_read,
  .write = eio_write,
  .fsync = eio_fsync,
};

int
main (int argc, char **argv)
{
  if (argc != 4)
    {
      fprintf (stderr, "usage: %s BACKING CONTROL MOUNTPOINT\n", argv[0]);
      return 2;
    }
  backing = argv[1];
  control = argv[2];
  backing_fd = open (backing, O_RDWR | O_CLOEXEC);
  if (backing_fd < 0)
    {
      perror (backing);
      return 1;
    }
  char f[] = "-f", s[] = "-s", o[] = "-o", allow[] = "allow_other";
  char *fuse_argv[] = { argv[0], f, s, o, allow, argv[3], NULL };
  return fuse_main (6, fuse_argv, &ops, NULL);
}
