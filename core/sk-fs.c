/* sk-fs.c — files that others can plant, reached through descriptors */
#define G_LOG_DOMAIN "sekisho-fs"

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-fs.h"

gboolean
sk_fs_is_bare_name (const char *name)
{
  return name != NULL && *name != '\0' && *name != '.' && strchr (name, '/') == NULL &&
         strlen (name) < 256;
}

int
sk_fs_compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *)a, *(const char *const *)b);
}

/* openat2(2): glibc 2.36 has no wrapper. */
static int
open_beneath (int dirfd, const char *name, int flags)
{
  struct open_how how = {
    .flags = (guint64)(flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY),
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  };
  int fd;
  do
    fd = (int)syscall (SYS_openat2, dirfd, name, &how, sizeof how);
  while (fd < 0 && errno == EINTR);
  return fd;
}

int
sk_fs_open_untrusted (int dirfd,
                      const char *name,
                      const char *what,
                      guint64 max_size,
                      struct stat *out_st,
                      gboolean *out_missing,
                      GError **error)
{
  g_return_val_if_fail (dirfd >= 0 && name != NULL && what != NULL, -1);

  if (out_missing != NULL)
    *out_missing = FALSE;
  g_autofree char *safe = sk_escape_untrusted (name);
  if (!sk_fs_is_bare_name (name))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_FILE_NAME, _ ("%s: “%s” is not a plain file name"),
                   what, safe);
      return -1;
    }
  /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
   * writer that never comes. */
  int fd = open_beneath (dirfd, name, O_RDONLY | O_NONBLOCK);
  if (fd < 0)
    {
      int errsv = errno;
      if (errsv == ELOOP || errsv == EXDEV)
        g_set_error (error, SK_ERROR, SK_ERROR_FILE_NOT_REGULAR,
                     _ ("%s “%s” is a link; links are never followed"), what, safe);
      else
        {
          if (out_missing != NULL)
            *out_missing = errsv == ENOENT;
          g_autofree char *msg = g_strdup_printf (_ ("opening %s “%s”"), what, safe);
          sk_error_set_from_errno (error, errsv, msg);
        }
      return -1;
    }
  struct stat st;
  if (fstat (fd, &st) != 0)
    {
      int errsv = errno;
      close (fd);
      g_autofree char *msg = g_strdup_printf (_ ("examining %s “%s”"), what, safe);
      sk_error_set_from_errno (error, errsv, msg);
      return -1;
    }
  if (!S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error (error, SK_ERROR, SK_ERROR_FILE_NOT_REGULAR,
                   _ ("%s “%s” is a %s, not a regular file"), what, safe,
                   S_ISDIR (st.st_mode)    ? _ ("folder")
                   : S_ISFIFO (st.st_mode) ? _ ("pipe (FIFO)")
                   : S_ISSOCK (st.st_mode) ? _ ("socket")
                                           : _ ("device"));
      return -1;
    }
  if (st.st_nlink != 1)
    {
      close (fd);
      g_set_error (error, SK_ERROR, SK_ERROR_FILE_LINKED,
                   _ ("%s “%s” has %u hard links; a file is read only when it has one"), what, safe,
                   (guint)st.st_nlink);
      return -1;
    }
  if ((guint64)st.st_size > max_size)
    {
      close (fd);
      g_set_error (error, SK_ERROR, SK_ERROR_FILE_TOO_LARGE,
                   _ ("%s “%s” has %llu bytes, more than the %llu its kind allows"), what, safe,
                   (unsigned long long)st.st_size, (unsigned long long)max_size);
      return -1;
    }
  int flags = fcntl (fd, F_GETFL);
  if (flags < 0 || fcntl (fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
    {
      int errsv = errno;
      close (fd);
      sk_error_set_from_errno (error, errsv, _ ("reading an untrusted file"));
      return -1;
    }
  if (out_st != NULL)
    *out_st = st;
  return fd;
}

int
sk_fs_open_dir_at (int dirfd, const char *name, GError **error)
{
  int fd = open_beneath (dirfd, name, O_RDONLY | O_DIRECTORY);
  if (fd < 0)
    {
      int errsv = errno;
      g_autofree char *safe = sk_escape_untrusted (name);
      if (errsv == ELOOP || errsv == EXDEV)
        g_set_error (error, SK_ERROR, SK_ERROR_FILE_NOT_REGULAR,
                     _ ("the folder “%s” is a link; links are never followed"), safe);
      else
        {
          g_autofree char *msg = g_strdup_printf (_ ("opening the folder “%s”"), safe);
          sk_error_set_from_errno (error, errsv, msg);
        }
    }
  return fd;
}

GPtrArray *
sk_fs_list (int dirfd, GError **error)
{
  /* fdopendir() takes its descriptor over and reads from its offset: a
   * fresh descriptor of the same folder leaves DIRFD as it was. */
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir = fd >= 0 ? fdopendir (fd) : NULL;
  if (dir == NULL)
    {
      sk_error_set_from_errno (error, errno, _ ("listing a folder"));
      if (fd >= 0)
        close (fd);
      return NULL;
    }
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (;;)
    {
      errno = 0;
      struct dirent *d = readdir (dir);
      if (d == NULL)
        break;
      if (strcmp (d->d_name, ".") != 0 && strcmp (d->d_name, "..") != 0)
        g_ptr_array_add (names, g_strdup (d->d_name));
    }
  int errsv = errno;
  closedir (dir);
  if (errsv != 0)
    {
      sk_error_set_from_errno (error, errsv, _ ("listing a folder"));
      return NULL;
    }
  g_ptr_array_sort (names, sk_fs_compare_names);
  return g_steal_pointer (&names);
}
