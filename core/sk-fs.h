/* sk-fs.h — files that others can plant, reached through descriptors
 *
 * A medium, a download folder and a hand-off root are places where someone
 * else (another user, another process of the same operator, whoever wrote
 * the medium) may have put a link, a FIFO, a device node, a hard link to a
 * file elsewhere or a file far larger than it claims to be.  Everything in
 * such a place is reached from an open directory descriptor, one bare name
 * at a time, never by a path that is resolved again later.
 */
#pragma once

#include <gio/gio.h>
#include <sys/stat.h>

G_BEGIN_DECLS

/* Whether NAME is one plain entry of a folder: not empty, not "." or "..",
 * no "/", no leading dot (hidden and temporary files are never ours to
 * read), under 256 bytes. */
gboolean
sk_fs_is_bare_name (const char *name);

/* Open NAME beneath DIRFD for reading, as untrusted input: no link is
 * followed anywhere (openat2 with RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS,
 * RESOLVE_NO_MAGICLINKS, RESOLVE_NO_XDEV), the open never blocks (a FIFO
 * does not hang it), and the file is read only if fstat says it is a
 * regular file with exactly one link and at most MAX_SIZE bytes.  Returns a
 * blocking descriptor, with its stat in *OUT_ST when given, or -1 with:
 *   file-not-regular  a link, FIFO, device node or folder;
 *   file-linked       a regular file with more than one link;
 *   file-too-large    more than MAX_SIZE bytes (checked before a byte is read);
 *   io-error          it could not be opened; *OUT_MISSING (when given) then
 *                     says whether it simply is not there.
 * WHAT names the file in messages ("the package", "the result file"),
 * translated by the caller. */
int
sk_fs_open_untrusted (int dirfd,
                      const char *name,
                      const char *what,
                      guint64 max_size,
                      struct stat *out_st,
                      gboolean *out_missing,
                      GError **error);

/* Open the folder NAME beneath DIRFD, following no link. */
int
sk_fs_open_dir_at (int dirfd, const char *name, GError **error);

/* The names in the folder DIRFD (which stays open and unmoved), without "."
 * and "..", sorted by strcmp(). */
GPtrArray *
sk_fs_list (int dirfd, GError **error);

/* For g_ptr_array_sort() of an array of strings: the array holds char *, so
 * the comparison gets char ** (GCompareFunc g_strcmp0 would compare the
 * pointers' own bytes). */
int
sk_fs_compare_names (gconstpointer a, gconstpointer b);

G_END_DECLS
