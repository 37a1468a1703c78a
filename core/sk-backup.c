/* sk-backup.c — read and restore a station backup (see sk-backup.h for the format) */
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

/* The journal's columns, in the order of the canonical row (sk-journal.h). */
static const char *const journal_columns[] = {
  "seq",     "time_us", "event",      "outcome", "reason",  "uid",       "login",      "role",
  "station", "case_id", "package_id", "device",  "details", "prev_hash", "entry_hash",
};
static const gboolean journal_column_is_int[G_N_ELEMENTS (journal_columns)] = {
  [0] = TRUE, /* seq */
  [1] = TRUE, /* time_us */
  [5] = TRUE, /* uid */
};

void
_sk_backup_fd_close (SkFd fd)
{
  if (fd >= 0)
    close (fd);
}

gboolean
_sk_backup_refuse (GError **error, SkErrorCode code, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, SK_ERROR, code, message);
  return FALSE;
}

GBytes *
_sk_backup_read_small_file (const char *path, gsize max, GError **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;
  if (len > max)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("%s is larger than %zu bytes"), path,
                   max);
      return NULL;
    }
  return g_bytes_new_take (g_steal_pointer (&contents), len);
}

char *
_sk_backup_sha256_hex (GBytes *bytes)
{
  g_autoptr (SkSha256) sha = sk_sha256_new ();
  if (sha == NULL)
    return g_strdup ("");
  gsize len;
  const void *data = g_bytes_get_data (bytes, &len);
  sk_sha256_update (sha, data, len);
  return g_strdup (sk_sha256_hex (sha));
}

/* ---- reading ------------------------------------------------------------- */

typedef struct
{
  guint64 size;
  char *sha256;
  GBytes *data; /* once read */
} Listed;

static void
listed_free (Listed *l)
{
  g_free (l->sha256);
  g_clear_pointer (&l->data, g_bytes_unref);
  g_free (l);
}

typedef struct
{
  char *station;
  char *station_key;
  gint64 seq;
  char *head;
  GHashTable *members; /* name → Listed */
  GPtrArray *order;    /* names as listed */
} Backup;

static void
backup_free (Backup *b)
{
  g_free (b->station);
  g_free (b->station_key);
  g_free (b->head);
  g_clear_pointer (&b->members, g_hash_table_unref);
  g_clear_pointer (&b->order, g_ptr_array_unref);
  g_free (b);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Backup, backup_free)

static gboolean
is_hex (const char *s, gsize len)
{
  if (s == NULL || strlen (s) != len)
    return FALSE;
  for (const char *p = s; *p != '\0'; p++)
    if (!g_ascii_isxdigit (*p) || g_ascii_isupper (*p))
      return FALSE;
  return TRUE;
}

static gboolean
is_member_name (const char *name)
{
  if (g_str_equal (name, JOURNAL_NAME) || g_str_equal (name, KEYS_NAME) ||
      g_str_equal (name, POLICY_NAME) || g_str_equal (name, POLICY_SIG_NAME))
    return TRUE;
  if (!g_str_has_prefix (name, CHECKPOINT_PREFIX))
    return FALSE;
  const char *rest = name + strlen (CHECKPOINT_PREFIX);
  if (!(strlen (rest) == 17 && g_str_has_suffix (rest, ".json")) &&
      !(strlen (rest) == 21 && g_str_has_suffix (rest, ".json.sig")))
    return FALSE;
  for (int i = 0; i < 12; i++)
    if (!g_ascii_isdigit (rest[i]))
      return FALSE;
  return TRUE;
}

/* BACKUP.json, whose signature was verified. */
static Backup *
parse_manifest (GBytes *bytes, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  if (!json_parser_load_from_data (parser, data, (gssize)len, NULL))
    {
      _sk_backup_refuse (error, SK_ERROR_BACKUP_INVALID, _ ("BACKUP.json is not JSON"));
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *obj =
      root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  JsonObject *journal = obj != NULL && json_object_has_member (obj, "journal") &&
                                JSON_NODE_HOLDS_OBJECT (json_object_get_member (obj, "journal"))
                            ? json_object_get_object_member (obj, "journal")
                            : NULL;
  JsonArray *members = obj != NULL && json_object_has_member (obj, "members") &&
                               JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj, "members"))
                           ? json_object_get_array_member (obj, "members")
                           : NULL;
  if (obj == NULL || journal == NULL || members == NULL ||
      g_strcmp0 (json_object_get_string_member_with_default (obj, "format", NULL),
                 SK_BACKUP_FORMAT) != 0)
    {
      _sk_backup_refuse (error, SK_ERROR_BACKUP_INVALID, _ ("BACKUP.json is not a %s manifest"),
                         SK_BACKUP_FORMAT);
      return NULL;
    }

  g_autoptr (Backup) b = g_new0 (Backup, 1);
  b->station = g_strdup (json_object_get_string_member_with_default (obj, "station", ""));
  b->station_key = g_strdup (json_object_get_string_member_with_default (obj, "station_key", ""));
  b->seq = json_object_get_int_member_with_default (journal, "seq", -1);
  b->head = g_strdup (json_object_get_string_member_with_default (journal, "head_hash", ""));
  b->members = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)listed_free);
  b->order = g_ptr_array_new_with_free_func (g_free);
  if (!sk_fingerprint_is_valid (b->station_key) || b->seq < 0 || !is_hex (b->head, 64))
    {
      _sk_backup_refuse (error, SK_ERROR_BACKUP_INVALID,
                         _ ("BACKUP.json names no valid station key or head"));
      return NULL;
    }
  guint n = json_array_get_length (members);
  if (n > MAX_ENTRIES)
    {
      _sk_backup_refuse (error, SK_ERROR_BACKUP_INVALID, _ ("BACKUP.json lists too many members"));
      return NULL;
    }
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (members, i);
      JsonObject *m = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *name =
          m != NULL ? json_object_get_string_member_with_default (m, "name", NULL) : NULL;
      const char *sha =
          m != NULL ? json_object_get_string_member_with_default (m, "sha256", NULL) : NULL;
      gint64 size = m != NULL ? json_object_get_int_member_with_default (m, "size", -1) : -1;
      if (name == NULL || !is_member_name (name) || !is_hex (sha, 64) || size < 0 ||
          (guint64)size > MAX_MEMBER || g_hash_table_contains (b->members, name))
        {
          _sk_backup_refuse (error, SK_ERROR_BACKUP_INVALID,
                             _ ("BACKUP.json lists a member wrongly"));
          return NULL;
        }
      Listed *l = g_new0 (Listed, 1);
      l->size = (guint64)size;
      l->sha256 = g_strdup (sha);
      g_hash_table_insert (b->members, g_strdup (name), l);
      g_ptr_array_add (b->order, g_strdup (name));
    }
  if (!g_hash_table_contains (b->members, JOURNAL_NAME) ||
      !g_hash_table_contains (b->members, KEYS_NAME) ||
      g_hash_table_contains (b->members, POLICY_NAME) !=
          g_hash_table_contains (b->members, POLICY_SIG_NAME))
    {
      _sk_backup_refuse (error, SK_ERROR_BACKUP_INVALID,
                         _ ("BACKUP.json lacks the journal, the keys or a "
                            "policy's signature"));
      return NULL;
    }
  return g_steal_pointer (&b);
}

/* The current tar entry whole, at most MAX bytes. */
static GBytes *
read_entry (SkTarReader *tar, guint64 max, const char *name, GError **error)
{
  GByteArray *buf = g_byte_array_new ();
  guint8 chunk[65536];
  for (;;)
    {
      gssize n = sk_tar_reader_read (tar, chunk, sizeof chunk, error);
      if (n < 0)
        {
          g_byte_array_unref (buf);
          return NULL;
        }
      if (n == 0)
        break;
      if ((guint64)buf->len + (guint64)n > max)
        {
          g_byte_array_unref (buf);
          _sk_backup_refuse (error, SK_ERROR_BACKUP_INVALID,
                             _ ("%s is larger than the backup says"), name);
          return NULL;
        }
      g_byte_array_append (buf, chunk, (guint)n);
    }
  return g_byte_array_free_to_bytes (buf);
}

/* The next member, which must be EXPECTED. */
static gboolean
next_named (SkTarReader *tar, const char *expected, GError **error)
{
  g_autofree char *name = NULL;
  guint64 size;
  g_autoptr (GError) local = NULL;
  if (!sk_tar_reader_next (tar, &name, &size, &local))
    {
      if (local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      return _sk_backup_refuse (error, SK_ERROR_BACKUP_INVALID, _ ("the backup ends before %s"),
                                expected);
    }
  /* The name read is untrusted: it is compared, never shown. */
  if (!g_str_equal (name, expected))
    return _sk_backup_refuse (error, SK_ERROR_BACKUP_INVALID,
                              _ ("the backup holds another member where %s "
                                 "belongs"),
                              expected);
  return TRUE;
}

/* Open, verify and read the whole backup: the manifest's signature by
 * STATION_KEY first, then every member against the manifest. */
static Backup *
read_backup (SkStation *station, const char *path, char **out_sha, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  int dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    {
      int errsv = errno;
      sk_error_set_from_errno (error, errsv, "opening the backup's folder");
      return NULL;
    }
  g_auto (SkFd) dfd = dirfd;
  int fd = sk_fs_open_untrusted (dfd, base, "the backup", MAX_BACKUP, NULL, NULL, error);
  if (fd < 0)
    return NULL;
  g_auto (SkFd) bfd = fd;
  g_autoptr (SkTarReader) tar = sk_tar_reader_new (bfd, MAX_ENTRIES, MAX_BACKUP, error);
  if (tar == NULL)
    return NULL;

  if (!next_named (tar, MANIFEST_NAME, error))
    return NULL;
  g_autoptr (GBytes) manifest = read_entry (tar, MAX_MANIFEST, MANIFEST_NAME, error);
  if (manifest == NULL)
    return NULL;
  if (!next_named (tar, MANIFEST_SIG_NAME, error))
    return NULL;
  g_autoptr (GBytes) sig = read_entry (tar, MAX_SIGNATURE, MANIFEST_SIG_NAME, error);
  if (sig == NULL)
    return NULL;

  /* Only this station's own key may have made the backup. */
  const char *allowed[] = { sk_station_get_signing_key (station), NULL };
  g_autoptr (GError) local = NULL;
  g_autoptr (SkSignature) signature = sk_keyring_verify_detached_bytes (
      sk_station_get_keyring (station), sig, manifest, allowed, &local);
  if (signature == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_BACKUP_INVALID,
                   _ ("the backup's signature does not verify by this station's key (%s): %s"),
                   sk_error_get_reason (local), local->message);
      return NULL;
    }
  g_autoptr (Backup) b = parse_manifest (manifest, error);
  if (b == NULL)
    return NULL;
  if (!g_str_equal (b->station_key, sk_station_get_signing_key (station)))
    {
      _sk_backup_refuse (error, SK_ERROR_BACKUP_INVALID,
                         _ ("the backup is of the station with key %s"), b->station_key);
      return NULL;
    }
  /* The journal's rows and checkpoints name the station: the new one takes
   * the old one's name (station init --name), or its checkpoints would not
   * be its own. */
  if (!g_str_equal (b->station, sk_station_get_name (station)))
    {
      g_autofree char *safe = sk_escape_untrusted (b->station);
      _sk_backup_refuse (
          error, SK_ERROR_BACKUP_INVALID,
          _ ("the backup is of the station named “%s”; make the new station with that name"), safe);
      return NULL;
    }

  /* Members in the order listed, each once, each as listed. */
  for (guint i = 0; i < b->order->len; i++)
    {
      const char *expected = g_ptr_array_index (b->order, i);
      if (!next_named (tar, expected, error))
        return NULL;
      Listed *l = g_hash_table_lookup (b->members, expected);
      g_autoptr (GBytes) data = read_entry (tar, l->size, expected, error);
      if (data == NULL)
        return NULL;
      g_autofree char *sha = _sk_backup_sha256_hex (data);
      if (g_bytes_get_size (data) != l->size || !g_str_equal (sha, l->sha256))
        {
          _sk_backup_refuse (error, SK_ERROR_BACKUP_INVALID,
                             _ ("%s differs from what the backup lists"), expected);
          return NULL;
        }
      l->data = g_steal_pointer (&data);
    }
  g_autofree char *extra = NULL;
  guint64 size;
  g_autoptr (GError) end_error = NULL;
  if (sk_tar_reader_next (tar, &extra, &size, &end_error))
    {
      _sk_backup_refuse (error, SK_ERROR_BACKUP_INVALID,
                         _ ("the backup holds a member it does not list"));
      return NULL;
    }
  if (end_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&end_error));
      return NULL;
    }
  *out_sha = _sk_backup_sha256_hex (manifest);
  return g_steal_pointer (&b);
}

static GBytes *
member_data (Backup *b, const char *name)
{
  Listed *l = g_hash_table_lookup (b->members, name);
  return l != NULL ? l->data : NULL;
}

/* ---- restoring ----------------------------------------------------------- */

/* A station that has done nothing but be made and take its keys. */
static gboolean
check_fresh (SkJournal *journal, GError **error)
{
#define SETUP_EVENTS "'station-created', 'key-imported', 'key-refused', 'station-restore-refused'"
  static const char *const checks[] = {
    "SELECT count(*) FROM journal WHERE event NOT IN (" SETUP_EVENTS ")",
    "SELECT count(*) FROM items",
    "SELECT count(*) FROM cases",
  };
#undef SETUP_EVENTS
  SkDb *db = sk_journal_get_db (journal);
  for (gsize i = 0; i < G_N_ELEMENTS (checks); i++)
    {
      g_autoptr (SkDbStmt) stmt = sk_db_prepare (db, checks[i], error);
      if (stmt == NULL || sk_db_stmt_step (stmt, error) != SK_DB_STEP_ROW)
        return FALSE;
      if (sk_db_stmt_column_int64 (stmt, 0) != 0)
        return _sk_backup_refuse (
            error, SK_ERROR_STATION_NOT_FRESH,
            _ ("the station has already done work of its own; a backup is restored "
               "onto a new station"));
    }
  return TRUE;
}

/* The journal rows of journal.jsonl, checked for shape; the chain itself is
 * verified once they are in the database. */
static GPtrArray *
parse_journal (GBytes *bytes, GError **error)
{
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify)json_node_unref);
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  const char *end = data + len;
  const char *p = data;
  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p);
      if (nl == NULL)
        {
          _sk_backup_refuse (error, SK_ERROR_BACKUP_INVALID,
                             _ ("journal.jsonl ends in a partial line"));
          return NULL;
        }
      g_autoptr (JsonParser) parser = json_parser_new_immutable ();
      if (!json_parser_load_from_data (parser, p, nl - p, NULL) ||
          json_parser_get_root (parser) == NULL ||
          !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        {
          _sk_backup_refuse (error, SK_ERROR_BACKUP_INVALID,
                             _ ("journal.jsonl line %u is not a JSON object"), rows->len + 1);
          return NULL;
        }
      JsonObject *row = json_node_get_object (json_parser_get_root (parser));
      for (gsize c = 0; c < G_N_ELEMENTS (journal_columns); c++)
        {
          JsonNode *v = json_object_get_member (row, journal_columns[c]);
          gboolean ok =
              v != NULL && (JSON_NODE_HOLDS_NULL (v) ||
                            (JSON_NODE_HOLDS_VALUE (v) &&
                             json_node_get_value_type (v) ==
                                 (journal_column_is_int[c] ? G_TYPE_INT64 : G_TYPE_STRING)));
          if (!ok)
            {
              _sk_backup_refuse (error, SK_ERROR_BACKUP_INVALID,
                                 _ ("journal.jsonl line %u: bad %s"), rows->len + 1,
                                 journal_columns[c]);
              return NULL;
            }
        }
      if (json_object_get_int_member (row, "seq") != (gint64)rows->len + 1)
        {
          _sk_backup_refuse (error, SK_ERROR_BACKUP_INVALID,
                             _ ("journal.jsonl line %u is out of order"), rows->len + 1);
          return NULL;
        }
      g_ptr_array_add (rows, json_node_copy (json_parser_get_root (parser)));
      p = nl + 1;
    }
  return g_steal_pointer (&rows);
}

static const char *
row_string (JsonNode *row, const char *column)
{
  JsonNode *v = json_object_get_member (json_node_get_object (row), column);
  return JSON_NODE_HOLDS_NULL (v) ? NULL : json_node_get_string (v);
}

/* The checkpoint the backup must reach: its signature by the station key,
 * then that the backup's journal holds its head. */
static gboolean
check_checkpoint (
    SkStation *station, const char *path, GPtrArray *rows, gint64 *out_seq, GError **error)
{
  g_autofree char *sig_path = g_strconcat (path, ".sig", NULL);
  g_autoptr (GBytes) cp = _sk_backup_read_small_file (path, MAX_MANIFEST, error);
  if (cp == NULL)
    return FALSE;
  g_autoptr (GBytes) sig = _sk_backup_read_small_file (sig_path, MAX_SIGNATURE, error);
  if (sig == NULL)
    return FALSE;
  const char *allowed[] = { sk_station_get_signing_key (station), NULL };
  g_autoptr (SkSignature) signature =
      sk_keyring_verify_detached_bytes (sk_station_get_keyring (station), sig, cp, allowed, error);
  if (signature == NULL)
    return FALSE;
  gint64 seq;
  g_autofree char *head = NULL;
  if (!sk_checkpoint_parse (cp, &seq, &head, NULL, NULL, error))
    return FALSE;
  *out_seq = seq;
  if (seq > (gint64)rows->len)
    return _sk_backup_refuse (
        error, SK_ERROR_BACKUP_STALE,
        _ ("the backup's journal ends at seq %u, before the checkpoint at seq %lld"), rows->len,
        (long long)seq);
  if (seq > 0 &&
      g_strcmp0 (row_string (g_ptr_array_index (rows, seq - 1), "entry_hash"), head) != 0)
    return _sk_backup_refuse (
        error, SK_ERROR_JOURNAL_INVALID,
        _ ("the backup's journal does not hold the checkpoint's head at seq %lld"), (long long)seq);
  return TRUE;
}

static gboolean
run_sql (SkDb *db, const char *sql, gint64 value, GError **error)
{
  g_autoptr (SkDbStmt) stmt = sk_db_prepare (db, sql, error);
  if (stmt == NULL)
    return FALSE;
  if (strchr (sql, '?') != NULL)
    sk_db_stmt_bind_int64 (stmt, 1, value);
  return sk_db_stmt_run (stmt, error);
}

/* In the open transaction: the station's own few rows give way to the
 * backup's journal, which is verified whole, and the restore is the next
 * entry of that chain. */
static gboolean
replace_journal (SkJournal *journal,
                 const SkActor *actor,
                 GPtrArray *rows,
                 const char *backup_sha,
                 gint64 checkpoint_seq,
                 GError **error)
{
  SkDb *db = sk_journal_get_db (journal);
  gint64 old_seq;
  g_autofree char *old_head = NULL;
  if (!sk_journal_head (journal, &old_seq, &old_head, error))
    return FALSE;
  if (!run_sql (db, "DELETE FROM journal", 0, error))
    return FALSE;

  g_autoptr (SkDbStmt) insert = sk_db_prepare (
      db,
      "INSERT INTO journal (seq, time_us, event, outcome, reason, uid, login, role, station, "
      "case_id, package_id, device, details, prev_hash, entry_hash) VALUES (?1, ?2, ?3, ?4, ?5, "
      "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
      error);
  if (insert == NULL)
    return FALSE;
  gint64 last_time = 0;
  for (guint i = 0; i < rows->len; i++)
    {
      JsonObject *row = json_node_get_object (g_ptr_array_index (rows, i));
      sk_db_stmt_reset (insert);
      for (gsize c = 0; c < G_N_ELEMENTS (journal_columns); c++)
        {
          JsonNode *v = json_object_get_member (row, journal_columns[c]);
          if (JSON_NODE_HOLDS_NULL (v))
            sk_db_stmt_bind_text (insert, (int)c + 1, NULL);
          else if (journal_column_is_int[c])
            sk_db_stmt_bind_int64 (insert, (int)c + 1, json_node_get_int (v));
          else
            sk_db_stmt_bind_text (insert, (int)c + 1, json_node_get_string (v));
        }
      if (!sk_db_stmt_run (insert, error))
        {
          g_prefix_error (error, _ ("journal.jsonl line %u: "), i + 1);
          return FALSE;
        }
      last_time = MAX (last_time, json_object_get_int_member (row, "time_us"));
    }
  sk_db_stmt_reset (insert);

  gint64 entries = 0, bad_seq = 0;
  g_autoptr (GError) bad = NULL;
  if (!sk_journal_verify (journal, &entries, &bad_seq, NULL, &bad))
    return _sk_backup_refuse (error, SK_ERROR_JOURNAL_INVALID,
                              _ ("the backup's journal fails verification at seq %lld"),
                              (long long)bad_seq);
  /* The clock mark never goes back behind what the journal has seen. */
  if (!run_sql (db, "UPDATE meta SET value = max (value, ?1) WHERE key = 'clock_high_water_us'",
                last_time, error))
    return FALSE;

  g_autofree char *details = g_strdup_printf (
      "{\"backup_manifest_sha256\":\"%s\",\"restored_entries\":%u,\"checkpoint_seq\":"
      "%" G_GINT64_FORMAT ",\"replaced_entries\":%" G_GINT64_FORMAT ",\"replaced_head\":\"%s\"}",
      backup_sha, rows->len, checkpoint_seq, old_seq, old_head);
  SkJournalEntry entry = {
    .event = "station-restored",
    .outcome = "ok",
    .uid = actor->uid,
    .login = actor->login,
    .role = actor->role,
    .details = details,
  };
  return sk_journal_append (journal, &entry, error) != 0;
}

static gboolean
write_new_file (int dirfd, const char *name, GBytes *data, GError **error)
{
  int fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      int errsv = errno;
      sk_error_set_from_errno (error, errsv, name);
      return FALSE;
    }
  g_auto (SkFd) ofd = fd;
  gsize len;
  const guint8 *p = g_bytes_get_data (data, &len);
  while (len > 0)
    {
      ssize_t n = write (ofd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int errsv = n < 0 ? errno : EIO;
          sk_error_set_from_errno (error, errsv, name);
          return FALSE;
        }
      p += n;
      len -= (gsize)n;
    }
  if (fsync (ofd) != 0)
    {
      int errsv = errno;
      sk_error_set_from_errno (error, errsv, name);
      return FALSE;
    }
  return TRUE;
}

/* The backup's checkpoints, under their own names, beside any the station has. */
static gboolean
restore_checkpoints (SkStation *station, Backup *b, GError **error)
{
  g_autofree char *dir = g_build_filename (sk_station_get_dir (station), "checkpoints", NULL);
  int dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirfd < 0)
    {
      int errsv = errno;
      sk_error_set_from_errno (error, errsv, "opening the station's checkpoints");
      return FALSE;
    }
  g_auto (SkFd) dfd = dirfd;
  /* Each signature before its checkpoint, as the station writes them. */
  for (int pass = 0; pass < 2; pass++)
    for (guint i = 0; i < b->order->len; i++)
      {
        const char *name = g_ptr_array_index (b->order, i);
        if (!g_str_has_prefix (name, CHECKPOINT_PREFIX) ||
            g_str_has_suffix (name, ".sig") != (pass == 0))
          continue;
        const char *file = name + strlen (CHECKPOINT_PREFIX);
        struct stat st;
        if (fstatat (dfd, file, &st, AT_SYMLINK_NOFOLLOW) == 0)
          continue;
        if (!write_new_file (dfd, file, member_data (b, name), error))
          return FALSE;
      }
  if (fsync (dfd) != 0)
    {
      int errsv = errno;
      sk_error_set_from_errno (error, errsv, "syncing the station's checkpoints");
      return FALSE;
    }
  return TRUE;
}

/* The backup's policy in a scratch folder of the station, for checking and
 * installing through the station's own door. */
static char *
stage_policy (SkStation *station, Backup *b, GError **error)
{
  g_autofree char *tmpl =
      g_build_filename (sk_station_get_dir (station), "policy", ".restore-XXXXXX", NULL);
  if (g_mkdtemp_full (tmpl, 0700) == NULL)
    {
      int errsv = errno;
      sk_error_set_from_errno (error, errsv, "staging the backup's policy");
      return NULL;
    }
  int dirfd = open (tmpl, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirfd < 0)
    {
      int errsv = errno;
      sk_error_set_from_errno (error, errsv, "staging the backup's policy");
      return NULL;
    }
  g_auto (SkFd) dfd = dirfd;
  if (!write_new_file (dfd, POLICY_NAME, member_data (b, POLICY_NAME), error) ||
      !write_new_file (dfd, POLICY_SIG_NAME, member_data (b, POLICY_SIG_NAME), error))
    return NULL;
  return g_steal_pointer (&tmpl);
}

static void
unstage_policy (const char *dir)
{
  g_autofree char *json = g_build_filename (dir, POLICY_NAME, NULL);
  g_autofree char *sig = g_build_filename (dir, POLICY_SIG_NAME, NULL);
  (void)unlink (json);
  (void)unlink (sig);
  (void)rmdir (dir);
}

static gboolean
backup_restore (SkStation *station,
                const SkActor *actor,
                const char *backup_path,
                const char *checkpoint_path,
                gboolean *out_committed,
                GError **error)
{
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, FALSE, error);
  if (journal == NULL || !check_fresh (journal, error))
    return FALSE;

  g_autofree char *sha = NULL;
  g_autoptr (GError) read_error = NULL;
  g_autoptr (Backup) b = read_backup (station, backup_path, &sha, &read_error);
  if (b == NULL)
    {
      /* A damaged archive is a damaged backup: one reason for all of it,
       * the archive's own in the message; the environment's stay its own. */
      if (read_error->domain == SK_ERROR && read_error->code != SK_ERROR_BACKUP_INVALID &&
          sk_error_get_exit_class (read_error) == SK_EXIT_REFUSED)
        return _sk_backup_refuse (error, SK_ERROR_BACKUP_INVALID,
                                  _ ("the backup is damaged (%s): %s"),
                                  sk_error_get_reason (read_error), read_error->message);
      g_propagate_error (error, g_steal_pointer (&read_error));
      return FALSE;
    }
  g_autoptr (GPtrArray) rows = parse_journal (member_data (b, JOURNAL_NAME), error);
  if (rows == NULL)
    return FALSE;
  if ((gint64)rows->len != b->seq ||
      (rows->len > 0 &&
       g_strcmp0 (row_string (g_ptr_array_index (rows, rows->len - 1), "entry_hash"), b->head) !=
           0))
    return _sk_backup_refuse (
        error, SK_ERROR_BACKUP_INVALID,
        _ ("the backup's journal does not end at the head its manifest names"));

  g_autofree char *own_checkpoint = NULL;
  if (checkpoint_path == NULL)
    checkpoint_path = own_checkpoint = sk_station_latest_checkpoint (station);
  gint64 checkpoint_seq = 0;
  if (checkpoint_path != NULL &&
      !check_checkpoint (station, checkpoint_path, rows, &checkpoint_seq, error))
    return FALSE;

  /* Public keys only: a backup never carries a secret key, and the import
   * refuses any but the station's own. */
  g_autoptr (GPtrArray) imported =
      sk_keyring_import (sk_station_get_keyring (station), member_data (b, KEYS_NAME),
                         sk_station_get_signing_key (station), error);
  if (imported == NULL)
    return FALSE;

  g_autofree char *staged = NULL;
  if (member_data (b, POLICY_NAME) != NULL)
    {
      staged = stage_policy (station, b, error);
      if (staged == NULL)
        return FALSE;
      g_autofree char *path = g_build_filename (staged, POLICY_NAME, NULL);
      g_autoptr (SkPolicy) policy = sk_station_check_policy (station, path, error);
      if (policy == NULL)
        {
          unstage_policy (staged);
          return FALSE;
        }
    }

  if (!sk_journal_begin (journal, error))
    return FALSE;
  if (!check_fresh (journal, error) ||
      !replace_journal (journal, actor, rows, sha, checkpoint_seq, error))
    {
      sk_journal_rollback (journal);
      if (staged != NULL)
        unstage_policy (staged);
      return FALSE;
    }
  if (!sk_journal_commit (journal, error))
    {
      if (staged != NULL)
        unstage_policy (staged);
      return FALSE;
    }
  *out_committed = TRUE;

  /* The journal is back; the policy and the checkpoints follow it, each
   * journaled or idempotent, so a failure here is repaired by installing
   * the policy again. */
  if (staged != NULL)
    {
      g_autofree char *path = g_build_filename (staged, POLICY_NAME, NULL);
      g_autoptr (SkPolicy) installed = sk_station_install_policy (station, actor, path, error);
      unstage_policy (staged);
      if (installed == NULL)
        return FALSE;
    }
  return restore_checkpoints (station, b, error);
}

gboolean
sk_backup_restore (SkStation *station,
                   const SkActor *actor,
                   const char *backup_path,
                   const char *checkpoint_path,
                   GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (station), FALSE);
  g_return_val_if_fail (actor != NULL, FALSE);
  g_return_val_if_fail (backup_path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autoptr (GError) local_error = NULL;
  gboolean committed = FALSE;
  if (backup_restore (station, actor, backup_path, checkpoint_path, &committed, &local_error))
    return TRUE;
  /* A refusal before the journal was replaced is journaled on the station
   * as it was; after, the station-restored entry already stands. */
  if (!committed && !sk_station_journal_action (station, actor, "station-restore-refused",
                                                local_error, NULL, error))
    return FALSE;
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}
