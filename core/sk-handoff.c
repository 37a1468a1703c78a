/* sk-handoff.c — the tmpfs folders where plaintext meets the browser */
#define G_LOG_DOMAIN "sekisho-handoff"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-fs.h"
#include "sk-handoff.h"

struct _SkHandoff
{
  GObject parent_instance;

  char *root;
  int rootfd;
  dev_t dev; /* the root's tmpfs: every folder below must be on it */
};

G_DEFINE_FINAL_TYPE (SkHandoff, sk_handoff, G_TYPE_OBJECT)

static void
sk_handoff_finalize (GObject *object)
{
  SkHandoff *self = SK_HANDOFF (object);

  if (self->rootfd >= 0)
    close (self->rootfd);
  g_free (self->root);

  G_OBJECT_CLASS (sk_handoff_parent_class)->finalize (object);
}

static void
sk_handoff_class_init (SkHandoffClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sk_handoff_finalize;
}

static void
sk_handoff_init (SkHandoff *self)
{
  self->rootfd = -1;
}

const char *
sk_handoff_folder_name (SkHandoffFolder which)
{
  return which == SK_HANDOFF_UPLOAD ? "upload" : "download";
}

/* The root and upload/, download/ belong to root or to the service. */
static gboolean
owned_by_station (const struct stat *st)
{
  return st->st_uid == 0 || st->st_uid == geteuid ();
}

static int
unsafe (GError **error, const char *path, const char *why)
{
  g_autofree char *safe = sk_escape_untrusted (path);
  g_set_error (error, SK_ERROR, SK_ERROR_HANDOFF_UNSAFE,
               _ ("the hand-off folder %s %s; nothing was written or removed there — ask the "
                  "administrator to remove it and restart the station service"),
               safe, why);
  return -1;
}

static int
open_failed (GError **error, int errsv, const char *path)
{
  if (errsv == ELOOP || errsv == ENOTDIR)
    return unsafe (error, path, _ ("is a link or not a folder"));
  g_autofree char *safe = sk_escape_untrusted (path);
  g_autofree char *what = g_strdup_printf ("opening the hand-off folder %s", safe);
  sk_error_set_from_errno (error, errsv, what);
  return -1;
}

SkHandoff *
sk_handoff_open (const char *root, GError **error)
{
  g_return_val_if_fail (root != NULL, NULL);

  g_autoptr (SkHandoff) self = g_object_new (SK_TYPE_HANDOFF, NULL);
  self->root = g_strdup (root);
  self->rootfd = open (root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (self->rootfd < 0)
    {
      open_failed (error, errno, root);
      return NULL;
    }
  struct statfs fs;
  struct stat st;
  if (fstatfs (self->rootfd, &fs) != 0 || fstat (self->rootfd, &st) != 0)
    {
      open_failed (error, errno, root);
      return NULL;
    }
  if (fs.f_type != TMPFS_MAGIC)
    {
      g_autofree char *safe = sk_escape_untrusted (root);
      g_set_error (
          error, SK_ERROR, SK_ERROR_HANDOFF_NOT_TMPFS,
          _ ("%s is not a tmpfs: plaintext personal data may only be handed to the browser "
             "in memory; mount a tmpfs there (the station's run-sekisho.mount does)"),
          safe);
      return NULL;
    }
  if (!owned_by_station (&st))
    {
      unsafe (error, root, _ ("belongs to another user"));
      return NULL;
    }
  if ((st.st_mode & 022) != 0)
    {
      unsafe (error, root, _ ("can be written by other users"));
      return NULL;
    }
  self->dev = st.st_dev;
  return g_steal_pointer (&self);
}

const char *
sk_handoff_get_root (SkHandoff *self)
{
  g_return_val_if_fail (SK_IS_HANDOFF (self), NULL);
  return self->root;
}

char *
sk_handoff_user_path (SkHandoff *self, SkHandoffFolder which, gint64 uid)
{
  g_return_val_if_fail (SK_IS_HANDOFF (self), NULL);
  return g_strdup_printf ("%s/%s/%" G_GINT64_FORMAT, self->root, sk_handoff_folder_name (which),
                          uid);
}

/* upload/ or download/: the station's own, traversable by the users whose
 * folders it holds, writable by nobody else. */
static int
open_folder (
    SkHandoff *self, SkHandoffFolder which, gboolean create, gboolean *out_missing, GError **error)
{
  const char *name = sk_handoff_folder_name (which);
  g_autofree char *path = g_build_filename (self->root, name, NULL);
  gboolean made = FALSE;
  if (create)
    {
      made = mkdirat (self->rootfd, name, 0711) == 0;
      if (!made && errno != EEXIST)
        {
          sk_error_set_from_errno (error, errno, _ ("making the hand-off folder"));
          return -1;
        }
    }
  int fd = openat (self->rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      if (out_missing != NULL)
        *out_missing = errno == ENOENT;
      return open_failed (error, errno, path);
    }
  struct stat st;
  if (fstat (fd, &st) != 0)
    {
      close (fd);
      return open_failed (error, errno, path);
    }
  const char *why = NULL;
  if (st.st_dev != self->dev)
    why = _ ("is not on the hand-off tmpfs");
  else if (!owned_by_station (&st))
    why = _ ("belongs to another user");
  else if ((st.st_mode & 022) != 0)
    why = _ ("can be written by other users");
  /* Made under a strict umask: the users must still reach their folders. */
  else if (made && fchmod (fd, 0711) != 0)
    why = _ ("could not be made traversable");
  if (why != NULL)
    {
      close (fd);
      return unsafe (error, path, why);
    }
  return fd;
}

/* Check that FD, the folder PATH, is what UID's folder must be. */
static gboolean
check_user_folder (SkHandoff *self, int fd, gint64 uid, const char *path, GError **error)
{
  struct stat st;
  if (fstat (fd, &st) != 0)
    {
      open_failed (error, errno, path);
      return FALSE;
    }
  const char *why = NULL;
  if (st.st_dev != self->dev)
    why = _ ("is not on the hand-off tmpfs");
  else if ((gint64)st.st_uid != uid)
    why = _ ("does not belong to the user it is named after");
  else if ((st.st_mode & 077) != 0)
    why = _ ("can be read or written by other users");
  if (why != NULL)
    {
      unsafe (error, path, why);
      return FALSE;
    }
  return TRUE;
}

static int
open_user (SkHandoff *self,
           SkHandoffFolder which,
           gint64 uid,
           gboolean create,
           gboolean *out_missing,
           GError **error)
{
  int folder = open_folder (self, which, create, out_missing, error);
  if (folder < 0)
    return -1;
  g_autofree char *name = g_strdup_printf ("%" G_GINT64_FORMAT, uid);
  g_autofree char *path = sk_handoff_user_path (self, which, uid);
  gboolean made = FALSE;
  if (create)
    {
      made = mkdirat (folder, name, 0700) == 0;
      if (!made && errno != EEXIST)
        {
          int errsv = errno;
          close (folder);
          sk_error_set_from_errno (error, errsv, _ ("making the hand-off folder"));
          return -1;
        }
    }
  int fd = openat (folder, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int errsv = errno;
  close (folder);
  if (fd < 0)
    {
      if (out_missing != NULL)
        *out_missing = errsv == ENOENT;
      return open_failed (error, errsv, path);
    }
  /* The service runs as root and makes the folder over to its user. */
  if (made && (gint64)geteuid () != uid && fchown (fd, (uid_t)uid, (gid_t)-1) != 0)
    g_debug ("giving a hand-off folder to uid %" G_GINT64_FORMAT ": %s", uid, g_strerror (errno));
  if (!check_user_folder (self, fd, uid, path, error))
    {
      close (fd);
      return -1;
    }
  return fd;
}

int
sk_handoff_open_user (
    SkHandoff *self, SkHandoffFolder which, gint64 uid, gboolean create, GError **error)
{
  g_return_val_if_fail (SK_IS_HANDOFF (self), -1);
  g_return_val_if_fail (uid >= 0, -1);

  return open_user (self, which, uid, create, NULL, error);
}

static gboolean
parse_uid (const char *name, gint64 *out_uid)
{
  guint64 v;
  if (*name == '\0' || strlen (name) > 10 || (*name == '0' && name[1] != '\0') ||
      !g_ascii_string_to_unsigned (name, 10, 0, G_MAXUINT32 - 1, &v, NULL))
    return FALSE;
  *out_uid = (gint64)v;
  return TRUE;
}

gboolean
sk_handoff_foreach_file (SkHandoff *self,
                         SkHandoffFolder which,
                         SkHandoffFileFunc func,
                         gpointer user_data,
                         GError **error)
{
  g_return_val_if_fail (SK_IS_HANDOFF (self), FALSE);

  g_autoptr (GError) local_error = NULL;
  gboolean missing = FALSE;
  int folder = open_folder (self, which, FALSE, &missing, &local_error);
  if (folder < 0)
    {
      /* No folder yet: nothing in it. */
      if (missing)
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  g_autoptr (GPtrArray) users = sk_fs_list (folder, error);
  if (users == NULL)
    {
      close (folder);
      return FALSE;
    }
  gboolean ok = TRUE;
  for (guint u = 0; ok && u < users->len; u++)
    {
      const char *uid_name = g_ptr_array_index (users, u);
      gint64 uid;
      if (!parse_uid (uid_name, &uid))
        continue;
      int fd = openat (folder, uid_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      g_autofree char *path = sk_handoff_user_path (self, which, uid);
      g_autoptr (GError) skip = NULL;
      if (fd < 0 || !check_user_folder (self, fd, uid, path, &skip))
        {
          /* Never entered: whatever it is, it is not ours to empty. */
          if (skip != NULL)
            g_message ("%s", skip->message);
          if (fd >= 0)
            close (fd);
          continue;
        }
      g_autoptr (GPtrArray) names = sk_fs_list (fd, error);
      ok = names != NULL;
      for (guint i = 0; ok && i < names->len; i++)
        {
          const char *name = g_ptr_array_index (names, i);
          struct stat st;
          if (fstatat (fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG (st.st_mode))
            continue;
          ok = func (fd, uid, name, &st, user_data, error);
        }
      close (fd);
    }
  close (folder);
  return ok;
}

gboolean
sk_handoff_remove (
    SkHandoff *self, SkHandoffFolder which, gint64 uid, const char *name, GError **error)
{
  g_return_val_if_fail (SK_IS_HANDOFF (self), FALSE);
  g_return_val_if_fail (sk_fs_is_bare_name (name), FALSE);

  g_autoptr (GError) local_error = NULL;
  gboolean missing = FALSE;
  int fd = open_user (self, which, uid, FALSE, &missing, &local_error);
  if (fd < 0)
    {
      /* The folder is gone, and the file with it. */
      if (missing)
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  gboolean ok = unlinkat (fd, name, 0) == 0 || errno == ENOENT;
  if (!ok)
    sk_error_set_from_errno (error, errno, _ ("removing hand-off plaintext"));
  close (fd);
  return ok;
}
