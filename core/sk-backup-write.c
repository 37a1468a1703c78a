/* sk-backup-write.c — write a station backup (see sk-backup.h for the format) */
#define G_LOG_DOMAIN "sekisho-backup"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk-archive.h"
#include "sk-backup-private.h"
#include "sk-backup.h"
#include "sk-error.h"
#include "sk-fs.h"
#include "sk-hash.h"

typedef struct
{
  char *name;
  GBytes *data;
} Member;

static void
member_free (Member *m)
{
  g_free (m->name);
  g_bytes_unref (m->data);
  g_free (m);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Member, member_free)

static void
add_member (GPtrArray *members, const char *name, GBytes *data)
{
  Member *m = g_new0 (Member, 1);
  m->name = g_strdup (name);
  m->data = g_bytes_ref (data);
  g_ptr_array_add (members, m);
}

static void
json_add_nullable_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

/* One journal row as one line of JSON, every column as stored. */
static void
append_row_json (GString *out, const SkJournalRow *r)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "seq");
  json_builder_add_int_value (b, r->seq);
  json_builder_set_member_name (b, "time_us");
  json_builder_add_int_value (b, r->time_us);
  json_add_nullable_string (b, "event", r->event);
  json_add_nullable_string (b, "outcome", r->outcome);
  json_add_nullable_string (b, "reason", r->reason);
  json_builder_set_member_name (b, "uid");
  if (r->uid >= 0)
    json_builder_add_int_value (b, r->uid);
  else
    json_builder_add_null_value (b);
  json_add_nullable_string (b, "login", r->login);
  json_add_nullable_string (b, "role", r->role);
  json_add_nullable_string (b, "station", r->station);
  json_add_nullable_string (b, "case_id", r->case_id);
  json_add_nullable_string (b, "package_id", r->package_id);
  json_add_nullable_string (b, "device", r->device);
  json_add_nullable_string (b, "details", r->details);
  json_add_nullable_string (b, "prev_hash", r->prev_hash);
  json_add_nullable_string (b, "entry_hash", r->entry_hash);
  json_builder_end_object (b);

  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *line = json_to_string (root, FALSE);
  g_string_append (out, line);
  g_string_append_c (out, '\n');
}

/* The journal, read in one transaction so that rows and head agree. */
static GBytes *
read_journal (SkStation *station, gint64 *out_seq, char **out_head, GError **error)
{
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, FALSE, error);
  if (journal == NULL)
    return NULL;
  if (!sk_journal_begin (journal, error))
    return NULL;
  SkJournalFilter all = { 0 };
  g_autoptr (GPtrArray) rows = sk_journal_query (journal, &all, error);
  gboolean ok = rows != NULL && sk_journal_head (journal, out_seq, out_head, error);
  sk_journal_rollback (journal);
  if (!ok)
    return NULL;

  GString *out = g_string_new (NULL);
  for (guint i = 0; i < rows->len; i++)
    append_row_json (out, g_ptr_array_index (rows, i));
  return g_string_free_to_bytes (out);
}

/* The station's checkpoints, oldest first: checkpoint-SEQ.json and its .sig. */
static gboolean
add_checkpoints (SkStation *station, GPtrArray *members, GError **error)
{
  g_autofree char *dir_path = g_build_filename (sk_station_get_dir (station), "checkpoints", NULL);
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  if (dir == NULL)
    return TRUE;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".json") && strlen (name) == 17)
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, sk_fs_compare_names);
  if (names->len > MAX_CHECKPOINTS)
    return _sk_backup_refuse (error, SK_ERROR_IO_ERROR,
                              _ ("the station has more than %d checkpoints"), MAX_CHECKPOINTS);
  for (guint i = 0; i < names->len; i++)
    {
      const char *n = g_ptr_array_index (names, i);
      g_autofree char *path = g_build_filename (dir_path, n, NULL);
      g_autofree char *sig_path = g_strconcat (path, ".sig", NULL);
      g_autoptr (GBytes) cp = _sk_backup_read_small_file (path, MAX_MANIFEST, error);
      if (cp == NULL)
        return FALSE;
      g_autoptr (GBytes) sig = _sk_backup_read_small_file (sig_path, MAX_SIGNATURE, error);
      if (sig == NULL)
        return FALSE;
      g_autofree char *member = g_strconcat (CHECKPOINT_PREFIX, n, NULL);
      g_autofree char *sig_member = g_strconcat (member, ".sig", NULL);
      add_member (members, member, cp);
      add_member (members, sig_member, sig);
    }
  return TRUE;
}

static GBytes *
make_manifest (SkStation *station, GPtrArray *members, gint64 seq, const char *head)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, SK_BACKUP_FORMAT);
  json_builder_set_member_name (b, "station");
  json_builder_add_string_value (b, sk_station_get_name (station));
  json_builder_set_member_name (b, "station_key");
  json_builder_add_string_value (b, sk_station_get_signing_key (station));
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *created = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  json_builder_set_member_name (b, "created_at");
  json_builder_add_string_value (b, created);
  json_builder_set_member_name (b, "journal");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "seq");
  json_builder_add_int_value (b, seq);
  json_builder_set_member_name (b, "head_hash");
  json_builder_add_string_value (b, head);
  json_builder_end_object (b);
  json_builder_set_member_name (b, "members");
  json_builder_begin_array (b);
  for (guint i = 0; i < members->len; i++)
    {
      const Member *m = g_ptr_array_index (members, i);
      g_autofree char *sha = _sk_backup_sha256_hex (m->data);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, m->name);
      json_builder_set_member_name (b, "size");
      json_builder_add_int_value (b, (gint64)g_bytes_get_size (m->data));
      json_builder_set_member_name (b, "sha256");
      json_builder_add_string_value (b, sha);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = json_to_string (root, TRUE);
  gsize len = strlen (text);
  return g_bytes_new_take (g_steal_pointer (&text), len);
}

static gboolean
set_errno_error (GError **error, const char *what)
{
  int errsv = errno;
  sk_error_set_from_errno (error, errsv, what);
  return FALSE;
}

/* MEMBERS as a pax tar into FD, synced. */
static gboolean
write_members (int fd, GPtrArray *members, GError **error)
{
  g_autoptr (SkTarWriter) tar = sk_tar_writer_new (fd, error);
  if (tar == NULL)
    return FALSE;
  gint64 mtime = g_get_real_time () / G_USEC_PER_SEC;
  for (guint i = 0; i < members->len; i++)
    {
      const Member *m = g_ptr_array_index (members, i);
      if (!sk_tar_writer_add_bytes (tar, m->name, m->data, mtime, error))
        return FALSE;
    }
  if (!sk_tar_writer_finish (tar, error))
    return FALSE;
  if (fsync (fd) != 0)
    return set_errno_error (error, _ ("syncing the backup"));
  return TRUE;
}

/* Where unnamed files are not supported (vfat on a USB stick): a hidden
 * temporary name beside it, renamed onto a name that must still be free. */
static gboolean
write_via_temporary (int dfd, const char *base, GPtrArray *members, GError **error)
{
  g_autofree char *temp = g_strdup_printf (".%s.partial", base);
  int fd = openat (dfd, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return set_errno_error (error, _ ("creating the backup"));
  g_auto (SkFd) ofd = fd;
  gboolean ok = write_members (ofd, members, error);
  if (ok && renameat2 (dfd, temp, dfd, base, RENAME_NOREPLACE) != 0)
    {
      /* A file system without RENAME_NOREPLACE: look, then rename. */
      struct stat st;
      if (errno != EINVAL)
        ok = set_errno_error (error, _ ("naming the backup"));
      else if (fstatat (dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
        ok = _sk_backup_refuse (error, SK_ERROR_USAGE,
                                _ ("the backup's name was taken while it was written"));
      else if (renameat (dfd, temp, dfd, base) != 0)
        ok = set_errno_error (error, _ ("naming the backup"));
    }
  if (!ok)
    (void)unlinkat (dfd, temp, 0);
  return ok;
}

/* Write MEMBERS as a pax tar into a new file at PATH: an unnamed file in
 * PATH's folder, synced, then linked under its name (which must be free)
 * and the folder synced.  Nothing is ever at PATH half-written. */
static gboolean
write_archive (const char *path, GPtrArray *members, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  if (!sk_fs_is_bare_name (base))
    return _sk_backup_refuse (error, SK_ERROR_USAGE, _ ("the backup needs a file name"));
  int dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return set_errno_error (error, _ ("opening the backup's folder"));
  g_auto (SkFd) dfd = dirfd;
  struct stat st;
  if (fstatat (dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
    return _sk_backup_refuse (error, SK_ERROR_USAGE,
                              _ ("%s exists; a backup is written to a new file"), path);

  int fd = openat (dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR))
    {
      if (!write_via_temporary (dfd, base, members, error))
        return FALSE;
    }
  else if (fd < 0)
    return set_errno_error (error, _ ("creating the backup"));
  else
    {
      g_auto (SkFd) ofd = fd;
      if (!write_members (ofd, members, error))
        return FALSE;
      g_autofree char *proc = g_strdup_printf ("/proc/self/fd/%d", ofd);
      if (linkat (AT_FDCWD, proc, dfd, base, AT_SYMLINK_FOLLOW) != 0)
        return set_errno_error (error, _ ("naming the backup"));
    }
  if (fsync (dfd) != 0)
    return set_errno_error (error, _ ("syncing the backup's folder"));
  return TRUE;
}

static gboolean
backup_write (SkStation *station,
              const char *out_path,
              gint64 *out_seq,
              char **out_head,
              char **out_sha,
              GError **error)
{
  g_autoptr (GPtrArray) members = g_ptr_array_new_with_free_func ((GDestroyNotify)member_free);

  g_autoptr (GBytes) journal = read_journal (station, out_seq, out_head, error);
  if (journal == NULL)
    return FALSE;
  add_member (members, JOURNAL_NAME, journal);

  g_autoptr (GBytes) keys = sk_keyring_export_public (sk_station_get_keyring (station), error);
  if (keys == NULL)
    return FALSE;
  add_member (members, KEYS_NAME, keys);

  g_autofree char *policy_path =
      g_build_filename (sk_station_get_dir (station), "policy", "current", "policy.json", NULL);
  if (g_file_test (policy_path, G_FILE_TEST_EXISTS))
    {
      /* The policy as installed, checked again: a backup never carries a
       * policy the station would not load. */
      g_autoptr (SkPolicy) policy = sk_station_load_policy (station, error);
      if (policy == NULL)
        return FALSE;
      g_autofree char *sig_path = g_strconcat (policy_path, ".sig", NULL);
      g_autoptr (GBytes) sig = _sk_backup_read_small_file (sig_path, MAX_SIGNATURE, error);
      if (sig == NULL)
        return FALSE;
      add_member (members, POLICY_NAME, sk_policy_get_bytes (policy));
      add_member (members, POLICY_SIG_NAME, sig);
    }
  if (!add_checkpoints (station, members, error))
    return FALSE;

  g_autoptr (GBytes) manifest = make_manifest (station, members, *out_seq, *out_head);
  g_autoptr (GBytes) signature = sk_keyring_sign_detached_bytes (
      sk_station_get_keyring (station), sk_station_get_signing_key (station), manifest, error);
  if (signature == NULL)
    return FALSE;
  /* The manifest first, then its signature, then what it lists. */
  add_member (members, MANIFEST_NAME, manifest);
  g_ptr_array_insert (members, 0, g_ptr_array_steal_index (members, members->len - 1));
  add_member (members, MANIFEST_SIG_NAME, signature);
  g_ptr_array_insert (members, 1, g_ptr_array_steal_index (members, members->len - 1));

  if (!write_archive (out_path, members, error))
    return FALSE;
  *out_sha = _sk_backup_sha256_hex (manifest);
  return TRUE;
}

gboolean
sk_backup_write (SkStation *station, const SkActor *actor, const char *out_path, GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (station), FALSE);
  g_return_val_if_fail (actor != NULL, FALSE);
  g_return_val_if_fail (out_path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autoptr (GError) local_error = NULL;
  gint64 seq = 0;
  g_autofree char *head = NULL;
  g_autofree char *sha = NULL;
  gboolean ok = backup_write (station, out_path, &seq, &head, &sha, &local_error);
  g_autofree char *details = ok ? g_strdup_printf ("{\"seq\":%" G_GINT64_FORMAT
                                                   ",\"head_hash\":\"%s\",\"manifest_sha256\":"
                                                   "\"%s\"}",
                                                   seq, head, sha)
                                : NULL;
  if (!sk_station_journal_action (station, actor,
                                  ok ? "station-backed-up" : "station-backup-failed", local_error,
                                  details, error))
    return FALSE;
  if (!ok)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  return TRUE;
}
