/* sk-handoff.h — the tmpfs folders where plaintext meets the browser
 *
 *   ROOT/                  tmpfs; owned by root or the service, not group- or
 *                          world-writable (/run/sekisho on a station)
 *   ROOT/upload/<uid>/     request files for the operator's browser to upload
 *   ROOT/download/<uid>/   result files the browser saved, to be taken in
 *
 * upload/ and download/ belong to the root's owner (0711); each user folder
 * belongs to its user (0700).  Everything below the root is reached through
 * descriptors opened without following links, and every folder is checked
 * (owner, mode, same tmpfs) when it is opened, so that nobody — another
 * user, another process of the same operator — can redirect plaintext onto
 * a disk or have Sekisho delete anything outside the root.
 */
#pragma once

#include <gio/gio.h>
#include <sys/stat.h>

G_BEGIN_DECLS

typedef enum
{
  SK_HANDOFF_UPLOAD,
  SK_HANDOFF_DOWNLOAD,
} SkHandoffFolder;

#define SK_TYPE_HANDOFF (sk_handoff_get_type ())
G_DECLARE_FINAL_TYPE (SkHandoff, sk_handoff, SK, HANDOFF, GObject)

/* Open and check the root.  A root that is not a tmpfs is
 * `handoff-not-tmpfs`; one that is a link, owned by someone else or
 * writable by others is `handoff-unsafe`. */
SkHandoff *
sk_handoff_open (const char *root, GError **error);

const char *
sk_handoff_get_root (SkHandoff *self);

/* "upload" or "download". */
const char *
sk_handoff_folder_name (SkHandoffFolder which);

/* ROOT/WHICH/UID, for messages and for the browser. */
char *
sk_handoff_user_path (SkHandoff *self, SkHandoffFolder which, gint64 uid);

/* UID's folder in WHICH, made (with WHICH itself) when CREATE, and checked:
 * a real folder (no link), owned by UID, mode 0700 or stricter, on the
 * root's tmpfs.  Returns a directory descriptor to do everything through. */
int
sk_handoff_open_user (
    SkHandoff *self, SkHandoffFolder which, gint64 uid, gboolean create, GError **error);

/* Called for each regular file NAME (its lstat in ST) in the user folder
 * USER_DIRFD of UID.  FUNC may remove it with unlinkat (USER_DIRFD, …). */
typedef gboolean (*SkHandoffFileFunc) (int user_dirfd,
                                       gint64 uid,
                                       const char *name,
                                       const struct stat *st,
                                       gpointer user_data,
                                       GError **error);

/* Every regular file of every user folder in WHICH, in order of uid and
 * name.  Entries that are not what a user folder must be (a link, a folder
 * owned by someone else than the uid it is named after, anything not named
 * by a uid) are left alone: they are never entered, let alone emptied. */
gboolean
sk_handoff_foreach_file (SkHandoff *self,
                         SkHandoffFolder which,
                         SkHandoffFileFunc func,
                         gpointer user_data,
                         GError **error);

/* Remove NAME from UID's folder in WHICH; a name already gone is no error. */
gboolean
sk_handoff_remove (
    SkHandoff *self, SkHandoffFolder which, gint64 uid, const char *name, GError **error);

G_END_DECLS
