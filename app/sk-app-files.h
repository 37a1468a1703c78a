/* sk-app-files.h — the files a person chooses, opened once, handed over as descriptors
 *
 * The service never opens a path on the caller's behalf (the API takes
 * descriptors); the app opens what the person chose with the person's own
 * rights, without following a final symbolic link, and passes the
 * descriptor.  Nothing here writes a file of the app's own.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The folder holding PATH's last component, opened as a directory, and that
 * component in *OUT_NAME. */
int
sk_app_open_parent (const char *path, char **out_name, GError **error);
/* A folder the person chose. */
int
sk_app_open_folder (const char *path, GError **error);
/* NAME inside the folder DIRFD, for reading: a regular file, no link. */
int
sk_app_open_in (int dirfd, const char *name, GError **error);
/* The regular file at PATH, opened once through its folder: no link. */
int
sk_app_open_file (const char *path, GError **error);
/* The regular file at PATH and its signature PATH.sig beside it, each
 * opened once through one opening of their folder: no link.  When PATH
 * opens but its signature does not, *OUT_MISSING_SIG holds the signature's
 * name (for the caller to refuse in its own words); otherwise NULL. */
gboolean
sk_app_open_signed (
    const char *path, int *out_fd, int *out_sig_fd, char **out_missing_sig, GError **error);
/* A new file at PATH for the service to write (exclusive, 0600, no link). */
int
sk_app_create_file (const char *path, GError **error);

/* A descriptor list holding FD (taken over, closed here) at index 0. */
GUnixFDList *
sk_app_fd_list_take (int fd);
/* …and a second one at index 1. */
GUnixFDList *
sk_app_fd_list_take2 (int fd0, int fd1);

G_END_DECLS
