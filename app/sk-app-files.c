/* sk-app-files.c — open what was chosen, hand over the descriptor */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <glib/gi18n.h>

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk-app-files.h"
#include "sk-error.h"

static int
fail (GError **error, const char *what)
{
  int errsv = errno;
  sk_error_set_from_errno (error, errsv, what);
  return -1;
}

int
sk_app_open_parent (const char *path, char **out_name, GError **error)
{
  g_return_val_if_fail (path != NULL && out_name != NULL, -1);

  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *name = g_path_get_basename (path);
  int fd = sk_app_open_folder (dir, error);
  if (fd < 0)
    return -1;
  *out_name = g_steal_pointer (&name);
  return fd;
}

int
sk_app_open_folder (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, -1);

  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return fail (error, _ ("opening the folder"));
  return fd;
}

int
sk_app_open_in (int dirfd, const char *name, GError **error)
{
  g_return_val_if_fail (dirfd >= 0 && name != NULL, -1);

  /* O_NONBLOCK: a FIFO planted under the name does not hang the app. */
  int fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return fail (error, _ ("opening the file"));
  struct stat st;
  if (fstat (fd, &st) != 0)
    {
      int errsv = errno;
      close (fd);
      errno = errsv;
      return fail (error, _ ("reading the file's status"));
    }
  if (!S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error_literal (error, SK_ERROR, SK_ERROR_FILE_NOT_REGULAR, _ ("not a regular file"));
      return -1;
    }
  /* The service reads it with ordinary blocking reads. */
  int flags = fcntl (fd, F_GETFL);
  if (flags < 0 || fcntl (fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
    {
      int errsv = errno;
      close (fd);
      errno = errsv;
      return fail (error, _ ("preparing the file"));
    }
  return fd;
}

int
sk_app_open_file (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, -1);

  g_autofree char *name = NULL;
  int dirfd = sk_app_open_parent (path, &name, error);
  if (dirfd < 0)
    return -1;
  int fd = sk_app_open_in (dirfd, name, error);
  close (dirfd);
  return fd;
}

gboolean
sk_app_open_signed (
    const char *path, int *out_fd, int *out_sig_fd, char **out_missing_sig, GError **error)
{
  g_return_val_if_fail (path != NULL && out_fd != NULL && out_sig_fd != NULL, FALSE);
  g_return_val_if_fail (out_missing_sig != NULL && *out_missing_sig == NULL, FALSE);

  *out_fd = *out_sig_fd = -1;
  g_autofree char *name = NULL;
  int dirfd = sk_app_open_parent (path, &name, error);
  if (dirfd < 0)
    return FALSE;
  g_autofree char *sig_name = g_strconcat (name, ".sig", NULL);
  int fd = sk_app_open_in (dirfd, name, error);
  int sig_fd = fd >= 0 ? sk_app_open_in (dirfd, sig_name, error) : -1;
  close (dirfd);
  if (sig_fd < 0)
    {
      if (fd >= 0)
        {
          close (fd);
          *out_missing_sig = g_steal_pointer (&sig_name);
        }
      return FALSE;
    }
  *out_fd = fd;
  *out_sig_fd = sig_fd;
  return TRUE;
}

int
sk_app_create_file (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, -1);

  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return fail (error, _ ("creating the file"));
  return fd;
}

GUnixFDList *
sk_app_fd_list_take (int fd)
{
  g_return_val_if_fail (fd >= 0, NULL);
  return g_unix_fd_list_new_from_array (&fd, 1);
}

GUnixFDList *
sk_app_fd_list_take2 (int fd0, int fd1)
{
  g_return_val_if_fail (fd0 >= 0 && fd1 >= 0, NULL);
  int fds[2] = { fd0, fd1 };
  return g_unix_fd_list_new_from_array (fds, 2);
}
