/* sk-journal.c — the hash-chained journal and its checkpoints */
#define G_LOG_DOMAIN "sekisho-journal"

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-hash.h"
#include "sk-journal-private.h"
#include "sk-journal.h"
#include "sk-policy-private.h"
#include "sk-schema.h"

#define HASH_LEN 32
#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
/* A clock more than this far behind the high-water mark is an anomaly. */
#define CLOCK_TOLERANCE_US (2 * G_USEC_PER_SEC)
#define CHECKPOINT_FORMAT "sekisho-checkpoint/1"

struct _SkJournal
{
  GObject parent_instance;

  SkDb *db;
  char *station;
  gboolean read_only;
  gint64 high_water_us;
  /* Entries appended in the open transaction, for the systemd journal. */
  GPtrArray *pending; /* SkJournalRow* */
  SkDbStmt *insert;
  SkDbStmt *head;
};

G_DEFINE_FINAL_TYPE (SkJournal, sk_journal, G_TYPE_OBJECT)

void
sk_journal_row_free (SkJournalRow *row)
{
  if (row == NULL)
    return;
  g_free (row->event);
  g_free (row->outcome);
  g_free (row->reason);
  g_free (row->login);
  g_free (row->role);
  g_free (row->station);
  g_free (row->case_id);
  g_free (row->package_id);
  g_free (row->device);
  g_free (row->details);
  g_free (row->prev_hash);
  g_free (row->entry_hash);
  g_free (row);
}

static void
sk_journal_finalize (GObject *object)
{
  SkJournal *self = SK_JOURNAL (object);

  g_clear_pointer (&self->insert, sk_db_stmt_free);
  g_clear_pointer (&self->head, sk_db_stmt_free);
  g_clear_object (&self->db);
  g_free (self->station);
  g_ptr_array_unref (self->pending);

  G_OBJECT_CLASS (sk_journal_parent_class)->finalize (object);
}

static void
sk_journal_class_init (SkJournalClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sk_journal_finalize;
}

static void
sk_journal_init (SkJournal *self)
{
  self->pending = g_ptr_array_new_with_free_func ((GDestroyNotify)sk_journal_row_free);
}

/* ---- schema ------------------------------------------------------------ */

static gboolean
read_high_water (SkJournal *self, GError **error)
{
  g_autoptr (SkDbStmt) stmt =
      sk_db_prepare (self->db, "SELECT value FROM meta WHERE key = 'clock_high_water_us'", error);

  if (stmt == NULL)
    return FALSE;
  SkDbStep step = sk_db_stmt_step (stmt, error);
  if (step == SK_DB_STEP_ERROR)
    return FALSE;
  self->high_water_us = step == SK_DB_STEP_ROW ? sk_db_stmt_column_int64 (stmt, 0) : 0;
  return TRUE;
}

static SkJournal *
journal_new (SkDb *db, const char *station, gboolean read_only, GError **error)
{
  g_autoptr (SkJournal) self = g_object_new (SK_TYPE_JOURNAL, NULL);

  self->db = g_object_ref (db);
  self->station = g_strdup (station != NULL ? station : "");
  self->read_only = read_only;
  if (!read_only && !sk_schema_migrate (db, error))
    return NULL;
  if (read_only && !sk_schema_open_read_only (db, error))
    return NULL;
  if (!read_high_water (self, error))
    return NULL;
  self->head =
      sk_db_prepare (db, "SELECT seq, entry_hash FROM journal ORDER BY seq DESC LIMIT 1", error);
  if (self->head == NULL)
    return NULL;
  if (!read_only)
    {
      self->insert = sk_db_prepare (
          db,
          "INSERT INTO journal (seq, time_us, event, outcome, reason, uid, login, role, station,"
          " case_id, package_id, device, details, prev_hash, entry_hash)"
          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
          error);
      if (self->insert == NULL)
        return NULL;
    }
  return g_steal_pointer (&self);
}

SkJournal *
sk_journal_new (SkDb *db, const char *station, GError **error)
{
  g_return_val_if_fail (SK_IS_DB (db), NULL);
  return journal_new (db, station, FALSE, error);
}

SkJournal *
sk_journal_open_read_only (SkDb *db, GError **error)
{
  g_return_val_if_fail (SK_IS_DB (db), NULL);
  return journal_new (db, NULL, TRUE, error);
}

SkDb *
sk_journal_get_db (SkJournal *self)
{
  g_return_val_if_fail (SK_IS_JOURNAL (self), NULL);
  return self->db;
}

/* ---- the chain --------------------------------------------------------- */

/* name ':' ('-' | length ':' value) '\n', appended in one piece: a million
 * rows go through here on every verification. */
static void
canon_bytes (GString *out, const char *name, const char *value, gsize len)
{
  gsize name_len = strlen (name);
  if (value == NULL)
    {
      gsize at = out->len;
      g_string_set_size (out, at + name_len + 3);
      memcpy (out->str + at, name, name_len);
      memcpy (out->str + at + name_len, ":-\n", 3);
      return;
    }
  char digits[24];
  gsize v = len;
  int n = (int)sizeof digits;
  do
    digits[--n] = (char)('0' + v % 10);
  while ((v /= 10) > 0);
  gsize n_digits = sizeof digits - (gsize)n;
  gsize at = out->len;
  g_string_set_size (out, at + name_len + 1 + n_digits + 1 + len + 1);
  char *p = out->str + at;
  memcpy (p, name, name_len);
  p += name_len;
  *p++ = ':';
  memcpy (p, digits + n, n_digits);
  p += n_digits;
  *p++ = ':';
  memcpy (p, value, len);
  p += len;
  *p = '\n';
}

static void
canon_int (GString *out, const char *name, gint64 value, gboolean is_null)
{
  if (is_null)
    {
      canon_bytes (out, name, NULL, 0);
      return;
    }
  char buf[32];
  char *p = buf + sizeof buf;
  guint64 v = value < 0 ? -(guint64)value : (guint64)value;
  do
    *--p = (char)('0' + v % 10);
  while ((v /= 10) > 0);
  if (value < 0)
    *--p = '-';
  canon_bytes (out, name, p, (gsize)(buf + sizeof buf - p));
}

void
_sk_journal_canonical (GString *out, const SkJournalCanon *c)
{
  static const char *const names[SK_JOURNAL_N_TEXT] = {
    "event",   "outcome", "reason",     "login",  "role",
    "station", "case_id", "package_id", "device", "details",
  };
  canon_int (out, "seq", c->seq, FALSE);
  canon_int (out, "time_us", c->time_us, FALSE);
  for (int i = 0; i < SK_JOURNAL_N_TEXT; i++)
    {
      /* uid sits between reason and login. */
      if (i == 3)
        canon_int (out, "uid", c->uid, c->uid_null);
      canon_bytes (out, names[i], c->text[i], c->len[i]);
    }
}

/* Appends ROW's canonical form to OUT (a row made here or read from a
 * CSV: text without NUL bytes, uid -1 for none). */
static void
canonical_row (GString *out, const SkJournalRow *row)
{
  SkJournalCanon c = {
    .seq = row->seq,
    .time_us = row->time_us,
    .uid = row->uid,
    .uid_null = row->uid < 0,
    .text = { row->event, row->outcome, row->reason, row->login, row->role, row->station,
              row->case_id, row->package_id, row->device, row->details },
  };
  for (int i = 0; i < SK_JOURNAL_N_TEXT; i++)
    c.len[i] = c.text[i] != NULL ? strlen (c.text[i]) : 0;
  _sk_journal_canonical (out, &c);
}

/* Lower-case hex digits only; a table, for a million rows at a time. */
static const gint8 hex_value[256] = {
  ['0'] = 1, ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
  ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

gboolean
_sk_journal_hex_to_bytes (const char *hex, gsize len, guint8 out[HASH_LEN])
{
  if (hex == NULL || len != HASH_LEN * 2)
    return FALSE;
  int bad = 0;
  for (int i = 0; i < HASH_LEN; i++)
    {
      /* One more than the digit's value: 0 is no lower-case hex digit. */
      int hi = hex_value[(guint8)hex[2 * i]], lo = hex_value[(guint8)hex[2 * i + 1]];
      bad |= (hi == 0) | (lo == 0);
      out[i] = (guint8)((hi - 1) << 4 | (lo - 1));
    }
  return !bad;
}

/* entry_hash = SHA-256 (prev_hash bytes ‖ canonical), lower-case hex. */
gboolean
_sk_journal_chain_hash (GString *scratch, const SkJournalRow *row, char out[HASH_LEN * 2 + 1])
{
  guint8 prev[HASH_LEN];

  if (row->prev_hash == NULL ||
      !_sk_journal_hex_to_bytes (row->prev_hash, strlen (row->prev_hash), prev))
    return FALSE;
  g_string_truncate (scratch, 0);
  g_string_append_len (scratch, (const char *)prev, HASH_LEN);
  canonical_row (scratch, row);
  sk_sha256_buffer (scratch->str, scratch->len, out);
  return TRUE;
}

gboolean
sk_journal_head (SkJournal *self, gint64 *out_seq, char **out_hash, GError **error)
{
  g_return_val_if_fail (SK_IS_JOURNAL (self), FALSE);

  sk_db_stmt_reset (self->head);
  SkDbStep step = sk_db_stmt_step (self->head, error);
  if (step == SK_DB_STEP_ERROR)
    return FALSE;
  if (step == SK_DB_STEP_ROW)
    {
      *out_seq = sk_db_stmt_column_int64 (self->head, 0);
      if (out_hash != NULL)
        *out_hash = g_strdup (sk_db_stmt_column_text (self->head, 1));
    }
  else
    {
      *out_seq = 0;
      if (out_hash != NULL)
        *out_hash = g_strdup (ZERO_HASH);
    }
  sk_db_stmt_reset (self->head);
  return TRUE;
}

/* ---- time -------------------------------------------------------------- */

gint64
sk_journal_now (SkJournal *self)
{
  g_return_val_if_fail (SK_IS_JOURNAL (self), g_get_real_time ());
  return MAX (g_get_real_time (), self->high_water_us);
}

char *
sk_journal_format_time (gint64 time_us)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (time_us / G_USEC_PER_SEC);
  if (dt == NULL)
    return g_strdup ("?");
  g_autoptr (GDateTime) precise = g_date_time_add (dt, time_us % G_USEC_PER_SEC);
  return g_date_time_format (precise, "%Y-%m-%dT%H:%M:%S.%fZ");
}

/* ---- appending --------------------------------------------------------- */

gboolean
sk_journal_begin (SkJournal *self, GError **error)
{
  g_return_val_if_fail (SK_IS_JOURNAL (self), FALSE);
  g_return_val_if_fail (!self->read_only, FALSE);

  if (!sk_db_begin (self->db, error))
    return FALSE;
  /* Another process may have moved the mark since we read it. */
  if (!read_high_water (self, error))
    {
      sk_db_rollback (self->db);
      return FALSE;
    }
  return TRUE;
}

/* The native protocol of systemd-journald: one datagram of KEY=value lines
 * (values here never hold a newline).  $SEKISHO_JOURNALD_SOCKET points the
 * tests at a socket of their own; without journald nothing is sent. */
static void
send_to_systemd (const SkJournalRow *row)
{
  const char *path = g_getenv ("SEKISHO_JOURNALD_SOCKET");
  if (path == NULL)
    path = "/run/systemd/journal/socket";

  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof addr.sun_path)
    return;
  strcpy (addr.sun_path, path);

  int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return;

  g_autoptr (GString) msg = g_string_new (NULL);
  g_string_append_printf (msg, "MESSAGE=sekisho %s %s%s%s (#%" G_GINT64_FORMAT ")\n", row->event,
                          row->outcome, row->reason != NULL ? " " : "",
                          row->reason != NULL ? row->reason : "", row->seq);
  g_string_append_printf (msg, "PRIORITY=%d\n", g_str_equal (row->outcome, "ok") ? 6 : 4);
  g_string_append (msg, "SYSLOG_IDENTIFIER=sekisho\n");
  g_string_append_printf (msg, "SEKISHO_SEQ=%" G_GINT64_FORMAT "\n", row->seq);
  g_string_append_printf (msg, "SEKISHO_EVENT=%s\n", row->event);
  g_string_append_printf (msg, "SEKISHO_OUTCOME=%s\n", row->outcome);
  if (row->reason != NULL)
    g_string_append_printf (msg, "SEKISHO_REASON=%s\n", row->reason);
  if (row->uid >= 0)
    g_string_append_printf (msg, "SEKISHO_UID=%" G_GINT64_FORMAT "\n", row->uid);
  if (row->role != NULL)
    g_string_append_printf (msg, "SEKISHO_ROLE=%s\n", row->role);
  if (row->case_id != NULL)
    g_string_append_printf (msg, "SEKISHO_CASE=%s\n", row->case_id);
  if (row->package_id != NULL)
    g_string_append_printf (msg, "SEKISHO_PACKAGE=%s\n", row->package_id);
  g_string_append_printf (msg, "SEKISHO_STATION=%s\n", row->station);
  g_string_append_printf (msg, "SEKISHO_ENTRY_HASH=%s\n", row->entry_hash);
  g_string_append_printf (msg, "SEKISHO_DETAILS=%s\n", row->details);

  (void)sendto (fd, msg->str, msg->len, MSG_NOSIGNAL, (struct sockaddr *)&addr, sizeof addr);
  close (fd);
}

gboolean
sk_journal_commit (SkJournal *self, GError **error)
{
  g_return_val_if_fail (SK_IS_JOURNAL (self), FALSE);

  if (!sk_db_commit (self->db, error))
    {
      g_ptr_array_set_size (self->pending, 0);
      return FALSE;
    }
  for (guint i = 0; i < self->pending->len; i++)
    send_to_systemd (g_ptr_array_index (self->pending, i));
  g_ptr_array_set_size (self->pending, 0);
  return TRUE;
}

void
sk_journal_rollback (SkJournal *self)
{
  g_return_if_fail (SK_IS_JOURNAL (self));

  sk_db_rollback (self->db);
  g_ptr_array_set_size (self->pending, 0);
  /* The in-memory mark may have moved with the rolled-back entries. */
  g_autoptr (GError) error = NULL;
  if (!read_high_water (self, &error))
    g_warning ("re-reading the clock mark: %s", error->message);
}

static gboolean
valid_entry (const SkJournalEntry *e, GError **error)
{
  if (e->event == NULL || e->outcome == NULL ||
      !(g_str_equal (e->outcome, "ok") || g_str_equal (e->outcome, "refused") ||
        g_str_equal (e->outcome, "failed")))
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR,
                           _ ("a journal entry needs an event and an outcome of ok, refused or "
                              "failed"));
      return FALSE;
    }
  if (e->reason != NULL && !sk_error_code_from_reason (e->reason, NULL))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("unknown reason code %s"), e->reason);
      return FALSE;
    }
  return TRUE;
}

static gint64
append_row (SkJournal *self, const SkJournalEntry *e, gint64 time_us, GError **error)
{
  gint64 seq;
  g_autofree char *prev = NULL;

  if (!sk_journal_head (self, &seq, &prev, error))
    return 0;

  g_autoptr (SkJournalRow) row = g_new0 (SkJournalRow, 1);
  row->seq = seq + 1;
  row->time_us = time_us;
  row->event = g_strdup (e->event);
  row->outcome = g_strdup (e->outcome);
  row->reason = g_strdup (e->reason);
  row->uid = e->uid;
  row->login = g_strdup (e->login);
  row->role = g_strdup (e->role);
  row->station = g_strdup (self->station);
  row->case_id = g_strdup (e->case_id);
  row->package_id = g_strdup (e->package_id);
  row->device = g_strdup (e->device);
  row->details = g_strdup (e->details != NULL ? e->details : "{}");
  row->prev_hash = g_steal_pointer (&prev);

  g_autoptr (GString) scratch = g_string_new (NULL);
  char hash[HASH_LEN * 2 + 1];
  if (!_sk_journal_chain_hash (scratch, row, hash))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID,
                   _ ("the journal's head at seq %lld has a malformed hash"), (long long)seq);
      return 0;
    }
  row->entry_hash = g_strdup (hash);

  SkDbStmt *st = self->insert;
  sk_db_stmt_reset (st);
  sk_db_stmt_bind_int64 (st, 1, row->seq);
  sk_db_stmt_bind_int64 (st, 2, row->time_us);
  sk_db_stmt_bind_text (st, 3, row->event);
  sk_db_stmt_bind_text (st, 4, row->outcome);
  sk_db_stmt_bind_text (st, 5, row->reason);
  if (row->uid >= 0)
    sk_db_stmt_bind_int64 (st, 6, row->uid);
  sk_db_stmt_bind_text (st, 7, row->login);
  sk_db_stmt_bind_text (st, 8, row->role);
  sk_db_stmt_bind_text (st, 9, row->station);
  sk_db_stmt_bind_text (st, 10, row->case_id);
  sk_db_stmt_bind_text (st, 11, row->package_id);
  sk_db_stmt_bind_text (st, 12, row->device);
  sk_db_stmt_bind_text (st, 13, row->details);
  sk_db_stmt_bind_text (st, 14, row->prev_hash);
  sk_db_stmt_bind_text (st, 15, row->entry_hash);
  if (!sk_db_stmt_run (st, error))
    return 0;
  sk_db_stmt_reset (st);

  gint64 out = row->seq;
  g_ptr_array_add (self->pending, g_steal_pointer (&row));
  return out;
}

static gboolean
store_high_water (SkJournal *self, gint64 value, GError **error)
{
  g_autoptr (SkDbStmt) stmt = sk_db_prepare (
      self->db, "UPDATE meta SET value = ?1 WHERE key = 'clock_high_water_us'", error);
  if (stmt == NULL)
    return FALSE;
  sk_db_stmt_bind_int64 (stmt, 1, value);
  if (!sk_db_stmt_run (stmt, error))
    return FALSE;
  self->high_water_us = value;
  return TRUE;
}

gint64
sk_journal_append (SkJournal *self, const SkJournalEntry *entry, GError **error)
{
  g_return_val_if_fail (SK_IS_JOURNAL (self), 0);
  g_return_val_if_fail (entry != NULL, 0);
  g_return_val_if_fail (sk_db_in_transaction (self->db), 0);

  if (!valid_entry (entry, error))
    return 0;

  /* The wall clock is recorded as it is — it is evidence — but a clock
   * behind the mark is itself journaled, and the mark never goes back. */
  gint64 now = g_get_real_time ();
  if (now + CLOCK_TOLERANCE_US < self->high_water_us)
    {
      g_autofree char *details = g_strdup_printf ("{\"wall_clock_us\":%" G_GINT64_FORMAT
                                                  ",\"high_water_us\":%" G_GINT64_FORMAT "}",
                                                  now, self->high_water_us);
      SkJournalEntry anomaly = {
        .event = "clock-anomaly",
        .outcome = "refused",
        .reason = "clock-anomaly",
        .uid = -1,
        .role = "system",
        .details = details,
      };
      if (append_row (self, &anomaly, now, error) == 0)
        return 0;
    }
  gint64 seq = append_row (self, entry, now, error);
  if (seq == 0)
    return 0;
  if (now > self->high_water_us && !store_high_water (self, now, error))
    return 0;
  return seq;
}

gint64
sk_journal_record (SkJournal *self, const SkJournalEntry *entry, GError **error)
{
  g_return_val_if_fail (SK_IS_JOURNAL (self), 0);

  if (!sk_journal_begin (self, error))
    return 0;
  gint64 seq = sk_journal_append (self, entry, error);
  if (seq == 0)
    {
      sk_journal_rollback (self);
      return 0;
    }
  if (!sk_journal_commit (self, error))
    return 0;
  return seq;
}

/* ---- checkpoints ------------------------------------------------------- */

GBytes *
sk_journal_make_checkpoint (SkJournal *self,
                            SkKeyring *keyring,
                            const char *station_name,
                            const char *station_key,
                            GBytes **out_signature,
                            GError **error)
{
  g_return_val_if_fail (SK_IS_JOURNAL (self), NULL);
  g_return_val_if_fail (SK_IS_KEYRING (keyring), NULL);

  gint64 seq;
  g_autofree char *head = NULL;
  if (!sk_journal_head (self, &seq, &head, error))
    return NULL;

  g_autofree char *time = sk_journal_format_time (sk_journal_now (self));
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, CHECKPOINT_FORMAT);
  json_builder_set_member_name (b, "seq");
  json_builder_add_int_value (b, seq);
  json_builder_set_member_name (b, "head_hash");
  json_builder_add_string_value (b, head);
  json_builder_set_member_name (b, "time");
  json_builder_add_string_value (b, time);
  json_builder_set_member_name (b, "station");
  json_builder_add_string_value (b, station_name);
  json_builder_set_member_name (b, "station_key");
  json_builder_add_string_value (b, station_key);
  json_builder_end_object (b);

  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  gsize len;
  g_autofree char *text = json_generator_to_data (gen, &len);
  g_autoptr (GBytes) bytes = g_bytes_new (text, len);

  const char *signers[] = { station_key, NULL };
  g_autoptr (GBytes) sig = sk_keyring_sign_detached_bytes (keyring, station_key, bytes, error);
  if (sig == NULL)
    return NULL;
  /* A checkpoint nobody could verify is worse than none. */
  g_autoptr (SkSignature) check =
      sk_keyring_verify_detached_bytes (keyring, sig, bytes, signers, error);
  if (check == NULL)
    return NULL;
  *out_signature = g_steal_pointer (&sig);
  return g_steal_pointer (&bytes);
}

gboolean
sk_checkpoint_parse (GBytes *checkpoint,
                     gint64 *out_seq,
                     char **out_head,
                     char **out_station,
                     char **out_station_key,
                     GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  gsize len;
  const char *data = g_bytes_get_data (checkpoint, &len);
  g_autoptr (GError) parse_error = NULL;
  if (!_sk_json_nesting_ok (data, len) ||
      !json_parser_load_from_data (parser, data, (gssize)len, &parse_error) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)) ||
      !_sk_json_members_unique (data, len, json_parser_get_root (parser)))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID, _ ("the checkpoint is not JSON"));
      return FALSE;
    }
  JsonObject *obj = json_node_get_object (json_parser_get_root (parser));
  const char *format = json_object_get_string_member_with_default (obj, "format", "");
  gint64 seq = json_object_get_int_member_with_default (obj, "seq", -1);
  const char *head = json_object_get_string_member_with_default (obj, "head_hash", "");
  const char *station = json_object_get_string_member_with_default (obj, "station", "");
  const char *key = json_object_get_string_member_with_default (obj, "station_key", "");
  gboolean hex = strlen (head) == 64;
  for (gsize i = 0; hex && i < 64; i++)
    hex = g_ascii_isxdigit (head[i]) && !g_ascii_isupper (head[i]);
  if (!g_str_equal (format, CHECKPOINT_FORMAT) || seq < 0 || !hex || !sk_fingerprint_is_valid (key))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID, _ ("the checkpoint is not a %s"),
                   CHECKPOINT_FORMAT);
      return FALSE;
    }
  *out_seq = seq;
  if (out_head != NULL)
    *out_head = g_strdup (head);
  if (out_station != NULL)
    *out_station = g_strdup (station);
  if (out_station_key != NULL)
    *out_station_key = g_strdup (key);
  return TRUE;
}

const char *
sk_checkpoint_verdict_to_string (SkCheckpointVerdict verdict)
{
  switch (verdict)
    {
    case SK_CHECKPOINT_MATCHES:
      return "matches";
    case SK_CHECKPOINT_MALFORMED:
      return "malformed";
    case SK_CHECKPOINT_SIGNATURE:
      return "signature";
    case SK_CHECKPOINT_OTHER_STATION:
      return "other-station";
    case SK_CHECKPOINT_TRUNCATED:
      return "truncated";
    case SK_CHECKPOINT_DIFFERS:
      return "differs";
    }
  g_return_val_if_reached ("malformed");
}

gboolean
sk_journal_check_checkpoint (SkJournal *self,
                             SkKeyring *keyring,
                             const char *station_name,
                             const char *station_key,
                             GBytes *checkpoint,
                             GBytes *signature,
                             gint64 *out_seq,
                             GError **error)
{
  SkCheckpointVerdict verdict;
  return sk_journal_judge_checkpoint (self, keyring, station_name, station_key, checkpoint,
                                      signature, out_seq, &verdict, error);
}

gboolean
sk_journal_judge_checkpoint (SkJournal *self,
                             SkKeyring *keyring,
                             const char *station_name,
                             const char *station_key,
                             GBytes *checkpoint,
                             GBytes *signature,
                             gint64 *out_seq,
                             SkCheckpointVerdict *out_verdict,
                             GError **error)
{
  g_return_val_if_fail (SK_IS_JOURNAL (self), FALSE);
  g_return_val_if_fail (station_name != NULL, FALSE);
  g_return_val_if_fail (station_key != NULL, FALSE);

  /* The signature decides first: nothing of an unsigned text is believed,
   * not even its seq. */
  *out_seq = -1;
  *out_verdict = SK_CHECKPOINT_SIGNATURE;
  const char *signers[] = { station_key, NULL };
  g_autoptr (SkSignature) sig =
      sk_keyring_verify_detached_bytes (keyring, signature, checkpoint, signers, error);
  if (sig == NULL)
    {
      g_prefix_error (error, "%s", _ ("checkpoint signature: "));
      return FALSE;
    }

  gint64 seq;
  g_autofree char *head = NULL, *cp_station = NULL, *cp_key = NULL;
  *out_verdict = SK_CHECKPOINT_MALFORMED;
  if (!sk_checkpoint_parse (checkpoint, &seq, &head, &cp_station, &cp_key, error))
    return FALSE;
  *out_seq = seq;
  /* Signed by this station's key is not enough: a key shared with another
   * station, or a checkpoint that names another key, is of another
   * journal. */
  *out_verdict = SK_CHECKPOINT_OTHER_STATION;
  g_autofree char *want_key = sk_fingerprint_normalize (station_key);
  g_autofree char *got_key = sk_fingerprint_normalize (cp_key);
  if (want_key == NULL || g_strcmp0 (want_key, got_key) != 0)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID,
                   _ ("the checkpoint names station key %s, not this station's %s"), cp_key,
                   station_key);
      return FALSE;
    }
  if (!g_str_equal (cp_station, station_name))
    {
      g_autofree char *safe_cp = sk_escape_untrusted (cp_station);
      g_autofree char *safe_here = sk_escape_untrusted (station_name);
      g_set_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID,
                   _ ("the checkpoint is of station “%s”, not of this station “%s”"), safe_cp,
                   safe_here);
      return FALSE;
    }
  *out_verdict = SK_CHECKPOINT_MATCHES;
  if (seq == 0)
    return TRUE;

  g_autoptr (SkDbStmt) stmt =
      sk_db_prepare (self->db, "SELECT entry_hash FROM journal WHERE seq = ?1", error);
  if (stmt == NULL)
    return FALSE;
  sk_db_stmt_bind_int64 (stmt, 1, seq);
  SkDbStep step = sk_db_stmt_step (stmt, error);
  if (step == SK_DB_STEP_ERROR)
    return FALSE;
  if (step != SK_DB_STEP_ROW)
    {
      *out_verdict = SK_CHECKPOINT_TRUNCATED;
      g_set_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID,
                   _ ("the journal ends before seq %lld of the checkpoint: it was truncated"),
                   (long long)seq);
      return FALSE;
    }
  if (g_strcmp0 (sk_db_stmt_column_text (stmt, 0), head) != 0)
    {
      *out_verdict = SK_CHECKPOINT_DIFFERS;
      g_set_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID,
                   _ ("seq %lld differs from the checkpoint: the journal was rewritten"),
                   (long long)seq);
      return FALSE;
    }
  return TRUE;
}
