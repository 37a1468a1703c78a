/* sk-media-register.c — the media register (媒体管理簿) and its tokens */
#define G_LOG_DOMAIN "sekisho-media-register"

#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-media-csv.h"
#include "sk-media-register.h"
#include "sk-policy-private.h"

#define TOKEN_FORMAT "sekisho-medium-token/1"
#define TOKEN_MAX 4096
#define SIG_MAX 4096

struct _SkMediaRegister
{
  GObject parent_instance;

  SkStation *station;
  SkJournal *journal;
  SkDb *db;
};

G_DEFINE_TYPE (SkMediaRegister, sk_media_register, G_TYPE_OBJECT)

static const char *const csv_headers[] = { "管理番号", "種別",   "メーカー", "型番", "シリアル",
                                           "登録日",   "登録者", "状態",     NULL };
#define N_CSV_COLUMNS 8

void
sk_medium_record_free (SkMediumRecord *r)
{
  if (r == NULL)
    return;
  g_free (r->number);
  g_free (r->kind);
  g_free (r->vendor);
  g_free (r->model);
  g_free (r->serial);
  g_free (r->label);
  g_free (r->token);
  g_free (r->state);
  g_free (r->registered_by);
  g_free (r);
}

static void
sk_media_register_finalize (GObject *object)
{
  SkMediaRegister *self = SK_MEDIA_REGISTER (object);

  g_clear_object (&self->station);
  g_clear_object (&self->journal);
  G_OBJECT_CLASS (sk_media_register_parent_class)->finalize (object);
}

static void
sk_media_register_class_init (SkMediaRegisterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sk_media_register_finalize;
}

static void
sk_media_register_init (SkMediaRegister *self)
{
}

SkMediaRegister *
sk_media_register_new (SkStation *station, SkJournal *journal)
{
  g_return_val_if_fail (SK_IS_STATION (station), NULL);
  g_return_val_if_fail (SK_IS_JOURNAL (journal), NULL);

  SkMediaRegister *self = g_object_new (SK_TYPE_MEDIA_REGISTER, NULL);
  self->station = g_object_ref (station);
  self->journal = g_object_ref (journal);
  self->db = sk_journal_get_db (journal);
  return self;
}

gboolean
sk_medium_number_is_valid (const char *number)
{
  if (number == NULL || !g_utf8_validate (number, -1, NULL))
    return FALSE;
  glong n = g_utf8_strlen (number, -1);
  if (n < 1 || n > 64 || g_ascii_isspace (number[0]))
    return FALSE;
  for (const char *p = number; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (!g_unichar_isprint (c) || c == ',' || c == '"' || c == '\'' || c == '\\' ||
          g_unichar_type (c) == G_UNICODE_FORMAT)
        return FALSE;
    }
  return strchr ("=+-@", number[0]) == NULL && !g_str_has_prefix (number, "＝") &&
         !g_str_has_prefix (number, "＋") && !g_str_has_prefix (number, "－") &&
         !g_str_has_prefix (number, "＠");
}

/* ---- rows ---------------------------------------------------------------- */

#define RECORD_COLUMNS                                                                             \
  "id, number, kind, vendor, model, serial, label, token, state, registered_us, registered_by, "   \
  "unregistered_us"

static SkMediumRecord *
record_from_row (SkDbStmt *stmt)
{
  SkMediumRecord *r = g_new0 (SkMediumRecord, 1);
  r->id = sk_db_stmt_column_int64 (stmt, 0);
  r->number = g_strdup (sk_db_stmt_column_text (stmt, 1));
  r->kind = g_strdup (sk_db_stmt_column_text (stmt, 2));
  r->vendor = g_strdup (sk_db_stmt_column_text (stmt, 3));
  r->model = g_strdup (sk_db_stmt_column_text (stmt, 4));
  r->serial = g_strdup (sk_db_stmt_column_text (stmt, 5));
  r->label = g_strdup (sk_db_stmt_column_text (stmt, 6));
  r->token = g_strdup (sk_db_stmt_column_text (stmt, 7));
  r->state = g_strdup (sk_db_stmt_column_text (stmt, 8));
  r->registered_us = sk_db_stmt_column_int64 (stmt, 9);
  r->registered_by = g_strdup (sk_db_stmt_column_text (stmt, 10));
  r->unregistered_us =
      sk_db_stmt_column_is_null (stmt, 11) ? 0 : sk_db_stmt_column_int64 (stmt, 11);
  return r;
}

GPtrArray *
sk_media_register_list (SkMediaRegister *self, gboolean all, GError **error)
{
  g_return_val_if_fail (SK_IS_MEDIA_REGISTER (self), NULL);

  g_autoptr (SkDbStmt) stmt =
      sk_db_prepare (self->db,
                     all ? "SELECT " RECORD_COLUMNS " FROM media ORDER BY number, id"
                         : "SELECT " RECORD_COLUMNS
                           " FROM media WHERE state != 'unregistered' ORDER BY number, id",
                     error);
  if (stmt == NULL)
    return NULL;
  g_autoptr (GPtrArray) rows =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sk_medium_record_free);
  SkDbStep step;
  while ((step = sk_db_stmt_step (stmt, error)) == SK_DB_STEP_ROW)
    g_ptr_array_add (rows, record_from_row (stmt));
  return step == SK_DB_STEP_DONE ? g_steal_pointer (&rows) : NULL;
}

/* The row of NUMBER that is not unregistered, or NULL (with no error when
 * there is none). */
static SkMediumRecord *
find_active (SkMediaRegister *self, const char *number, GError **error)
{
  g_autoptr (SkDbStmt) stmt = sk_db_prepare (
      self->db,
      "SELECT " RECORD_COLUMNS " FROM media WHERE number = ?1 AND state != 'unregistered'", error);
  if (stmt == NULL)
    return NULL;
  sk_db_stmt_bind_text (stmt, 1, number);
  SkDbStep step = sk_db_stmt_step (stmt, error);
  return step == SK_DB_STEP_ROW ? record_from_row (stmt) : NULL;
}

static char *
identity_details (const char *number, const char *kind, const SkBlockDevice *dev)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "number");
  json_builder_add_string_value (b, number);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, kind);
  if (dev != NULL)
    {
      g_autofree char *id = sk_block_device_describe (dev);
      json_builder_set_member_name (b, "device");
      json_builder_add_string_value (b, id);
    }
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

static SkJournalEntry
entry_for (const SkActor *actor, const char *event, const char *details)
{
  SkJournalEntry e = {
    .event = event,
    .outcome = "ok",
    .uid = actor->uid,
    .login = actor->login,
    .role = actor->role,
    .details = details,
  };
  return e;
}

static void
journal_refusal (SkMediaRegister *self,
                 const SkActor *actor,
                 const char *event,
                 const GError *error,
                 const char *device,
                 const char *details)
{
  SkJournalEntry e = entry_for (actor, event, details);
  e.outcome = sk_error_get_exit_class (error) == SK_EXIT_REFUSED ? "refused" : "failed";
  e.reason = sk_error_get_reason (error);
  e.device = device;
  if (sk_db_in_transaction (self->db))
    sk_journal_rollback (self->journal);
  g_autoptr (GError) local_error = NULL;
  if (sk_journal_record (self->journal, &e, &local_error) == 0)
    g_warning ("journaling a refusal: %s", local_error->message);
}

/* ---- the token ----------------------------------------------------------- */

static char *
random_token (GError **error)
{
  guint8 raw[16];
  gsize got = 0;
  while (got < sizeof raw)
    {
      gssize n = getrandom (raw + got, sizeof raw - got, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          sk_error_set_from_errno (error, errno, _ ("drawing a random token"));
          return NULL;
        }
      got += (gsize)n;
    }
  GString *s = g_string_sized_new (33);
  for (guint i = 0; i < sizeof raw; i++)
    g_string_append_printf (s, "%02x", raw[i]);
  return g_string_free (s, FALSE);
}

static GBytes *
token_document (const char *token, const char *number, const char *station_fpr)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, TOKEN_FORMAT);
  json_builder_set_member_name (b, "token");
  json_builder_add_string_value (b, token);
  json_builder_set_member_name (b, "number");
  json_builder_add_string_value (b, number);
  json_builder_set_member_name (b, "station");
  json_builder_add_string_value (b, station_fpr);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  char *text = json_to_string (root, FALSE);
  return g_bytes_new_take (text, strlen (text));
}

static gboolean
unregistered (GError **error, const char *why)
{
  g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_UNREGISTERED, _ ("the medium is not registered: %s"),
               why);
  return FALSE;
}

/* The token on MOUNT, its signature checked: *OUT_TOKEN and *OUT_NUMBER. */
static gboolean
read_token (
    SkMediaRegister *self, SkMount *mount, char **out_token, char **out_number, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GBytes) doc =
      sk_mount_read_small (mount, SK_MEDIUM_TOKEN_NAME, TOKEN_MAX, &local_error);
  g_autoptr (GBytes) sig =
      doc == NULL ? NULL
                  : sk_mount_read_small (mount, SK_MEDIUM_TOKEN_SIG_NAME, SIG_MAX, &local_error);
  if (sig == NULL)
    {
      if (g_error_matches (local_error, SK_ERROR, SK_ERROR_MEDIA_REMOVED))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      g_autofree char *why =
          g_strdup_printf (_ ("it carries no usable token (%s)"), local_error->message);
      return unregistered (error, why);
    }

  const char *fpr = sk_station_get_signing_key (self->station);
  const char *const allowed[] = { fpr, NULL };
  g_autoptr (SkSignature) s = sk_keyring_verify_detached_bytes (
      sk_station_get_keyring (self->station), sig, doc, allowed, &local_error);
  if (s == NULL)
    {
      g_autofree char *why =
          g_strdup_printf (_ ("its token is not signed by this station's key (%s)"),
                           sk_error_get_reason (local_error));
      return unregistered (error, why);
    }

  gsize len;
  const char *data = g_bytes_get_data (doc, &len);
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  if (!_sk_json_nesting_ok (data, len) ||
      !json_parser_load_from_data (parser, data, (gssize)len, NULL) ||
      !_sk_json_members_unique (data, len, json_parser_get_root (parser)) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return unregistered (error, _ ("its token is not a token document"));
  JsonObject *o = json_node_get_object (json_parser_get_root (parser));
  static const char *const members[] = { "format", "token", "number", "station", NULL };
  if (json_object_get_size (o) != 4)
    return unregistered (error, _ ("its token is not a token document"));
  for (guint i = 0; members[i] != NULL; i++)
    {
      JsonNode *n = json_object_get_member (o, members[i]);
      if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
        return unregistered (error, _ ("its token is not a token document"));
    }
  if (!g_str_equal (json_object_get_string_member (o, "format"), TOKEN_FORMAT) ||
      !g_str_equal (json_object_get_string_member (o, "station"), fpr))
    return unregistered (error, _ ("its token was made for another station"));
  *out_token = g_strdup (json_object_get_string_member (o, "token"));
  *out_number = g_strdup (json_object_get_string_member (o, "number"));
  return TRUE;
}

/* A disc's row names no vendor, model or serial: those of the drive it is
 * read in are the drive's, not the disc's (sk-media-register.h). */
static gboolean
identity_matches (const SkMediumRecord *r, const SkBlockDevice *dev, const char *kind)
{
  if (!g_str_equal (r->kind, kind))
    return FALSE;
  if (g_str_equal (kind, "optical"))
    return TRUE;
  return g_str_equal (r->vendor, dev->vendor) && g_str_equal (r->model, dev->model) &&
         g_str_equal (r->serial, dev->serial);
}

SkMediumRecord *
sk_media_register_check (SkMediaRegister *self,
                         const SkBlockDevice *dev,
                         const char *kind,
                         SkMount *mount,
                         GError **error)
{
  g_return_val_if_fail (SK_IS_MEDIA_REGISTER (self), NULL);
  g_return_val_if_fail (dev != NULL && kind != NULL && SK_IS_MOUNT (mount), NULL);

  g_autofree char *token = NULL;
  g_autofree char *number = NULL;
  if (!read_token (self, mount, &token, &number, error))
    return NULL;

  g_autoptr (SkDbStmt) stmt =
      sk_db_prepare (self->db, "SELECT " RECORD_COLUMNS " FROM media WHERE token = ?1", error);
  if (stmt == NULL)
    return NULL;
  sk_db_stmt_bind_text (stmt, 1, token);
  g_autoptr (GError) local_error = NULL;
  SkDbStep step = sk_db_stmt_step (stmt, &local_error);
  if (step == SK_DB_STEP_ERROR)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (step != SK_DB_STEP_ROW)
    {
      unregistered (error, _ ("its token is in no row of the register"));
      return NULL;
    }
  g_autoptr (SkMediumRecord) r = record_from_row (stmt);
  if (!g_str_equal (r->state, "registered"))
    unregistered (error, _ ("its registration was withdrawn"));
  else if (!g_str_equal (r->number, number))
    unregistered (error, _ ("its token names another control number"));
  else if (!identity_matches (r, dev, kind))
    unregistered (error, _ ("its token belongs to a device of another identity (a copied token, "
                            "or a cloned serial)"));
  else
    return g_steal_pointer (&r);
  return NULL;
}

/* ---- register, unregister ---------------------------------------------- */

static gboolean
write_token (
    SkMediaRegister *self, const SkBlockDevice *dev, GBytes *doc, GBytes *sig, GError **error)
{
  g_autoptr (SkMount) rw =
      sk_mount_new (dev->devnode, dev->devnum, dev->fs_type, SK_MOUNT_READ_WRITE, error);
  if (rw == NULL)
    return FALSE;
  /* A token left from an earlier registration is replaced. */
  if (!sk_mount_remove (rw, SK_MEDIUM_TOKEN_SIG_NAME, error) ||
      !sk_mount_remove (rw, SK_MEDIUM_TOKEN_NAME, error))
    return FALSE;
  GBytes *parts[] = { doc, sig };
  const char *names[] = { SK_MEDIUM_TOKEN_NAME, SK_MEDIUM_TOKEN_SIG_NAME };
  for (guint i = 0; i < 2; i++)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (parts[i], &len);
      int fd = memfd_create ("sekisho-token", MFD_CLOEXEC);
      gboolean ok = fd >= 0 && write (fd, data, len) == (gssize)len && lseek (fd, 0, SEEK_SET) == 0;
      if (!ok)
        sk_error_set_from_errno (error, errno, _ ("preparing the token"));
      ok = ok && sk_mount_write_file (rw, names[i], fd, NULL, NULL, error);
      if (fd >= 0)
        close (fd);
      if (!ok)
        return FALSE;
    }
  return sk_mount_unmount (rw, error);
}

SkMediumRecord *
sk_media_register_add (SkMediaRegister *self,
                       const SkActor *actor,
                       const SkBlockDevice *dev,
                       const char *kind,
                       const char *number,
                       const char *label,
                       GError **error)
{
  g_return_val_if_fail (SK_IS_MEDIA_REGISTER (self), NULL);
  g_return_val_if_fail (actor != NULL && dev != NULL && kind != NULL, NULL);

  g_autofree char *device = sk_block_device_describe (dev);
  g_autofree char *details = identity_details (number != NULL ? number : "", kind, NULL);
  g_autoptr (GError) local_error = NULL;
  g_autoptr (SkMediumRecord) pending = NULL;
  g_autofree char *token = NULL;

  if (!sk_medium_number_is_valid (number))
    g_set_error_literal (&local_error, SK_ERROR, SK_ERROR_USAGE,
                         _ ("a control number (管理番号) is 1 to 64 printable characters, without "
                            "commas, quotes or a leading formula character"));
  else if (!g_str_equal (kind, "usb-storage") && !g_str_equal (kind, "optical"))
    g_set_error_literal (&local_error, SK_ERROR, SK_ERROR_MEDIA_CLASS,
                         _ ("only USB storage and optical media are registered"));
  else if (g_str_equal (kind, "optical"))
    g_set_error_literal (
        &local_error, SK_ERROR, SK_ERROR_MEDIA_READ_ONLY,
        _ ("a disc cannot take a token once it is burned: register the disc before "
           "it is mastered, and burn its token onto it"));
  else
    {
      pending = find_active (self, number, &local_error);
      if (pending != NULL && g_str_equal (pending->state, "registered"))
        g_set_error (&local_error, SK_ERROR, SK_ERROR_MEDIA_NUMBER_IN_USE,
                     _ ("the control number is already registered to a medium"));
      else if (pending != NULL && !identity_matches (pending, dev, kind))
        g_set_error (&local_error, SK_ERROR, SK_ERROR_MEDIA_NUMBER_IN_USE,
                     _ ("the register holds this control number for a device of another maker, "
                        "model or serial"));
    }
  if (local_error == NULL)
    token = random_token (&local_error);

  /* The token goes on the medium first: without its row it counts for
   * nothing, so a failure after this point leaves nothing that matters. */
  const char *fpr = sk_station_get_signing_key (self->station);
  g_autoptr (GBytes) doc = token != NULL ? token_document (token, number, fpr) : NULL;
  g_autoptr (GBytes) sig =
      doc != NULL ? sk_keyring_sign_detached_bytes (sk_station_get_keyring (self->station), fpr,
                                                    doc, &local_error)
                  : NULL;
  if (sig != NULL && !write_token (self, dev, doc, sig, &local_error))
    g_clear_pointer (&sig, g_bytes_unref);

  /* Read back through a fresh read-only mount: the token must verify. */
  if (sig != NULL)
    {
      g_autoptr (SkMount) ro =
          sk_mount_new (dev->devnode, dev->devnum, dev->fs_type, SK_MOUNT_READ_ONLY, &local_error);
      g_autofree char *back_token = NULL;
      g_autofree char *back_number = NULL;
      if (ro == NULL || !read_token (self, ro, &back_token, &back_number, &local_error))
        g_clear_pointer (&sig, g_bytes_unref);
      else if (!g_str_equal (back_token, token) || !g_str_equal (back_number, number))
        {
          g_set_error_literal (&local_error, SK_ERROR, SK_ERROR_MEDIA_READBACK_MISMATCH,
                               _ ("the token read back from the medium is not the one written"));
          g_clear_pointer (&sig, g_bytes_unref);
        }
      if (ro != NULL && !sk_mount_unmount (ro, local_error == NULL ? &local_error : NULL))
        g_clear_pointer (&sig, g_bytes_unref);
    }

  gint64 now = sk_journal_now (self->journal);
  gboolean ok = sig != NULL && sk_journal_begin (self->journal, &local_error);
  if (ok && pending != NULL)
    {
      g_autoptr (SkDbStmt) up = sk_db_prepare (
          self->db,
          "UPDATE media SET token = ?2, state = 'registered', label = ?3, registered_us = ?4, "
          "registered_by = ?5 WHERE id = ?1",
          &local_error);
      ok = up != NULL;
      if (ok)
        {
          sk_db_stmt_bind_int64 (up, 1, pending->id);
          sk_db_stmt_bind_text (up, 2, token);
          sk_db_stmt_bind_text (up, 3, label != NULL ? label : pending->label);
          sk_db_stmt_bind_int64 (up, 4, now);
          sk_db_stmt_bind_text (up, 5, actor->login);
          ok = sk_db_stmt_run (up, &local_error);
        }
    }
  else if (ok)
    {
      g_autoptr (SkDbStmt) ins = sk_db_prepare (
          self->db,
          "INSERT INTO media (number, kind, vendor, model, serial, label, token, state, "
          "registered_us, registered_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'registered', ?8, ?9)",
          &local_error);
      ok = ins != NULL;
      if (ok)
        {
          sk_db_stmt_bind_text (ins, 1, number);
          sk_db_stmt_bind_text (ins, 2, kind);
          sk_db_stmt_bind_text (ins, 3, dev->vendor);
          sk_db_stmt_bind_text (ins, 4, dev->model);
          sk_db_stmt_bind_text (ins, 5, dev->serial);
          sk_db_stmt_bind_text (ins, 6, label != NULL ? label : "");
          sk_db_stmt_bind_text (ins, 7, token);
          sk_db_stmt_bind_int64 (ins, 8, now);
          sk_db_stmt_bind_text (ins, 9, actor->login);
          ok = sk_db_stmt_run (ins, &local_error);
        }
    }
  if (ok)
    {
      SkJournalEntry e = entry_for (actor, "media-registered", details);
      e.device = device;
      ok = sk_journal_append (self->journal, &e, &local_error) > 0 &&
           sk_journal_commit (self->journal, &local_error);
    }
  if (!ok)
    {
      journal_refusal (self, actor, "media-registered", local_error, device, details);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  return find_active (self, number, error);
}

SkMediumRecord *
sk_media_register_disc (SkMediaRegister *self,
                        const SkActor *actor,
                        const char *number,
                        const char *label,
                        GBytes **out_token,
                        GBytes **out_token_sig,
                        GError **error)
{
  g_return_val_if_fail (SK_IS_MEDIA_REGISTER (self), NULL);
  g_return_val_if_fail (actor != NULL && out_token != NULL && out_token_sig != NULL, NULL);

  g_autofree char *details = identity_details (number != NULL ? number : "", "optical", NULL);
  g_autoptr (GError) local_error = NULL;
  g_autofree char *token = NULL;
  if (!sk_medium_number_is_valid (number))
    g_set_error_literal (&local_error, SK_ERROR, SK_ERROR_USAGE,
                         _ ("a control number (管理番号) is 1 to 64 printable characters, without "
                            "commas, quotes or a leading formula character"));
  else
    {
      g_autoptr (SkMediumRecord) known = find_active (self, number, &local_error);
      if (known != NULL)
        g_set_error_literal (&local_error, SK_ERROR, SK_ERROR_MEDIA_NUMBER_IN_USE,
                             _ ("the control number is already in the register"));
    }
  if (local_error == NULL)
    token = random_token (&local_error);
  const char *fpr = sk_station_get_signing_key (self->station);
  g_autoptr (GBytes) doc = token != NULL ? token_document (token, number, fpr) : NULL;
  g_autoptr (GBytes) sig =
      doc != NULL ? sk_keyring_sign_detached_bytes (sk_station_get_keyring (self->station), fpr,
                                                    doc, &local_error)
                  : NULL;

  /* The row is registered from now on: the token counts on whatever disc
   * carries it, and on nothing else. */
  gboolean ok = sig != NULL && sk_journal_begin (self->journal, &local_error);
  if (ok)
    {
      g_autoptr (SkDbStmt) ins = sk_db_prepare (
          self->db,
          "INSERT INTO media (number, kind, vendor, model, serial, label, token, state, "
          "registered_us, registered_by) VALUES (?1, 'optical', '', '', '', ?2, ?3, 'registered', "
          "?4, ?5)",
          &local_error);
      ok = ins != NULL;
      if (ok)
        {
          sk_db_stmt_bind_text (ins, 1, number);
          sk_db_stmt_bind_text (ins, 2, label != NULL ? label : "");
          sk_db_stmt_bind_text (ins, 3, token);
          sk_db_stmt_bind_int64 (ins, 4, sk_journal_now (self->journal));
          sk_db_stmt_bind_text (ins, 5, actor->login);
          ok = sk_db_stmt_run (ins, &local_error);
        }
    }
  if (ok)
    {
      SkJournalEntry e = entry_for (actor, "media-registered", details);
      ok = sk_journal_append (self->journal, &e, &local_error) > 0 &&
           sk_journal_commit (self->journal, &local_error);
    }
  if (!ok)
    {
      journal_refusal (self, actor, "media-registered", local_error, NULL, details);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  *out_token = g_steal_pointer (&doc);
  *out_token_sig = g_steal_pointer (&sig);
  return find_active (self, number, error);
}

/* FD must be an empty regular file opened for writing: what proves the
 * caller may write it, and that nothing of theirs is overwritten. */
static gboolean
check_out_fd (int fd, struct stat *out_st, const char *name, GError **error)
{
  int fl = fcntl (fd, F_GETFL);
  if (fstat (fd, out_st) != 0 || fl < 0)
    {
      sk_error_set_from_errno (error, errno, name);
      return FALSE;
    }
  if (!S_ISREG (out_st->st_mode) || out_st->st_size != 0 ||
      ((fl & O_ACCMODE) != O_WRONLY && (fl & O_ACCMODE) != O_RDWR))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                   _ ("%s must go to a new, empty file opened for writing"), name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_out_fd (int fd, GBytes *data, const char *name, GError **error)
{
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (data, &len);
  for (gsize done = 0; done < len;)
    {
      gssize n = pwrite (fd, p + done, len - done, (off_t)done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          sk_error_set_from_errno (error, n < 0 ? errno : EIO, name);
          return FALSE;
        }
      done += (gsize)n;
    }
  if (fsync (fd) != 0)
    {
      sk_error_set_from_errno (error, errno, name);
      return FALSE;
    }
  return TRUE;
}

SkMediumRecord *
sk_media_register_disc_into (SkMediaRegister *self,
                             const SkActor *actor,
                             const char *number,
                             const char *label,
                             int token_fd,
                             int token_sig_fd,
                             GError **error)
{
  g_return_val_if_fail (SK_IS_MEDIA_REGISTER (self) && actor != NULL, NULL);
  g_return_val_if_fail (token_fd >= 0 && token_sig_fd >= 0, NULL);

  struct stat a, b;
  if (!check_out_fd (token_fd, &a, SK_MEDIUM_TOKEN_NAME, error) ||
      !check_out_fd (token_sig_fd, &b, SK_MEDIUM_TOKEN_SIG_NAME, error))
    return NULL;
  if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_USAGE, _ ("%s and %s must be two different files"),
                   SK_MEDIUM_TOKEN_NAME, SK_MEDIUM_TOKEN_SIG_NAME);
      return NULL;
    }
  g_autoptr (GBytes) token = NULL;
  g_autoptr (GBytes) token_sig = NULL;
  g_autoptr (SkMediumRecord) r =
      sk_media_register_disc (self, actor, number, label, &token, &token_sig, error);
  if (r == NULL)
    return NULL;
  g_autoptr (GError) local_error = NULL;
  if (write_out_fd (token_fd, token, SK_MEDIUM_TOKEN_NAME, &local_error) &&
      write_out_fd (token_sig_fd, token_sig, SK_MEDIUM_TOKEN_SIG_NAME, &local_error))
    return g_steal_pointer (&r);
  /* A row whose files are not there counts for nothing: withdrawn, and
   * journaled as such. */
  g_autoptr (GError) undo = NULL;
  if (!sk_media_register_remove (self, actor, number, &undo))
    g_prefix_error (&local_error, _ ("withdrawing the registration failed too (%s): "),
                    undo->message);
  g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                              _ ("the disc's token could not be written, so its registration "
                                 "was withdrawn: "));
  return NULL;
}

gboolean
sk_media_register_remove (SkMediaRegister *self,
                          const SkActor *actor,
                          const char *number,
                          GError **error)
{
  g_return_val_if_fail (SK_IS_MEDIA_REGISTER (self), FALSE);
  g_return_val_if_fail (actor != NULL && number != NULL, FALSE);

  g_autoptr (GError) local_error = NULL;
  g_autoptr (SkMediumRecord) r = NULL;
  gboolean ok = sk_journal_begin (self->journal, &local_error);
  if (ok)
    {
      r = find_active (self, number, &local_error);
      if (r == NULL && local_error == NULL)
        g_set_error_literal (&local_error, SK_ERROR, SK_ERROR_MEDIA_UNREGISTERED,
                             _ ("no medium is registered under this control number"));
      ok = r != NULL;
    }
  g_autofree char *details = identity_details (number, r != NULL ? r->kind : "", NULL);
  if (ok)
    {
      g_autoptr (SkDbStmt) up = sk_db_prepare (
          self->db, "UPDATE media SET state = 'unregistered', unregistered_us = ?2 WHERE id = ?1",
          &local_error);
      ok = up != NULL;
      if (ok)
        {
          sk_db_stmt_bind_int64 (up, 1, r->id);
          sk_db_stmt_bind_int64 (up, 2, sk_journal_now (self->journal));
          ok = sk_db_stmt_run (up, &local_error);
        }
    }
  if (ok)
    {
      SkJournalEntry e = entry_for (actor, "media-unregistered", details);
      ok = sk_journal_append (self->journal, &e, &local_error) > 0 &&
           sk_journal_commit (self->journal, &local_error);
    }
  if (!ok)
    {
      journal_refusal (self, actor, "media-unregistered", local_error, NULL, details);
      g_propagate_error (error, g_steal_pointer (&local_error));
    }
  return ok;
}

/* ---- the CSV ------------------------------------------------------------- */

static const char *
kind_to_csv (const char *kind)
{
  return g_str_equal (kind, "optical") ? "光ディスク" : "USBメモリ";
}

static const char *
kind_from_csv (const char *cell)
{
  if (g_str_equal (cell, "USBメモリ") || g_str_equal (cell, "usb-storage"))
    return "usb-storage";
  if (g_str_equal (cell, "光ディスク") || g_str_equal (cell, "optical"))
    return "optical";
  return NULL;
}

static char *
format_date (gint64 time_us)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (time_us / G_USEC_PER_SEC);
  return dt != NULL ? g_date_time_format (dt, "%Y/%m/%d") : g_strdup ("");
}

/* YYYY/MM/DD or YYYY-MM-DD, local midnight; -1 when not a real date. */
static gint64
parse_date (const char *s)
{
  guint64 y, m, d;
  if (strlen (s) != 10 || (s[4] != '/' && s[4] != '-') || s[7] != s[4])
    return -1;
  g_autofree char *ys = g_strndup (s, 4);
  g_autofree char *ms = g_strndup (s + 5, 2);
  g_autofree char *ds = g_strndup (s + 8, 2);
  if (!g_ascii_string_to_unsigned (ys, 10, 1970, 9999, &y, NULL) ||
      !g_ascii_string_to_unsigned (ms, 10, 1, 12, &m, NULL) ||
      !g_ascii_string_to_unsigned (ds, 10, 1, 31, &d, NULL) ||
      !g_date_valid_dmy ((GDateDay)d, (GDateMonth)m, (GDateYear)y))
    return -1;
  g_autoptr (GDateTime) dt = g_date_time_new_local ((gint)y, (gint)m, (gint)d, 0, 0, 0);
  return dt != NULL ? g_date_time_to_unix (dt) * G_USEC_PER_SEC : -1;
}

gboolean
sk_media_register_export_csv (SkMediaRegister *self, GOutputStream *out, GError **error)
{
  g_return_val_if_fail (SK_IS_MEDIA_REGISTER (self), FALSE);

  g_autoptr (GPtrArray) rows = sk_media_register_list (self, TRUE, error);
  if (rows == NULL)
    return FALSE;
  g_autoptr (GString) s = g_string_new ("\xef\xbb\xbf");
  sk_csv_append_row (s, csv_headers);
  for (guint i = 0; i < rows->len; i++)
    {
      SkMediumRecord *r = g_ptr_array_index (rows, i);
      g_autofree char *date = format_date (r->registered_us);
      const char *cells[] = { r->number,
                              kind_to_csv (r->kind),
                              r->vendor,
                              r->model,
                              r->serial,
                              date,
                              r->registered_by,
                              g_str_equal (r->state, "unregistered") ? "抹消" : "登録",
                              NULL };
      sk_csv_append_row (s, cells);
    }
  return g_output_stream_write_all (out, s->str, s->len, NULL, NULL, error) &&
         g_output_stream_flush (out, NULL, error);
}

static gboolean
csv_refuse (GError **error, guint line, const char *why)
{
  g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_CSV_INVALID, _ ("line %u: %s"), line, why);
  return FALSE;
}

/* Is CELL a device text we store?  Printable, no format characters. */
static gboolean
text_ok (const char *cell)
{
  for (const char *p = cell; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (!g_unichar_isprint (c) || g_unichar_type (c) == G_UNICODE_FORMAT)
        return FALSE;
    }
  return TRUE;
}

static gboolean
import_row (SkMediaRegister *self, GStrv cells, guint line, gboolean *out_added, GError **error)
{
  const char *number = cells[0];
  const char *kind = kind_from_csv (cells[1]);
  gint64 date = parse_date (cells[5]);
  gboolean active = g_str_equal (cells[7], "登録");

  if (!sk_medium_number_is_valid (number))
    return csv_refuse (error, line, _ ("管理番号 is not a valid control number"));
  if (kind == NULL)
    return csv_refuse (error, line, _ ("種別 is neither USBメモリ nor 光ディスク"));
  for (guint c = 2; c <= 6; c++)
    if (!text_ok (cells[c]))
      return csv_refuse (error, line, _ ("a cell holds a character that is not printable"));
  if (date < 0)
    return csv_refuse (error, line, _ ("登録日 is not a date (YYYY/MM/DD)"));
  if (!active && !g_str_equal (cells[7], "抹消"))
    return csv_refuse (error, line, _ ("状態 is neither 登録 nor 抹消"));
  if (cells[6][0] == '\0')
    return csv_refuse (error, line, _ ("登録者 is blank"));

  *out_added = FALSE;
  if (active)
    {
      g_autoptr (GError) local_error = NULL;
      g_autoptr (SkMediumRecord) r = find_active (self, number, &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      if (r != NULL)
        {
          if (g_str_equal (r->kind, kind) && g_str_equal (r->vendor, cells[2]) &&
              g_str_equal (r->model, cells[3]) && g_str_equal (r->serial, cells[4]))
            return TRUE; /* already held alike */
          return csv_refuse (
              error, line, _ ("the register holds this 管理番号 for a device of another identity"));
        }
    }
  else
    {
      /* History already held alike is not taken twice. */
      g_autoptr (SkDbStmt) seen = sk_db_prepare (
          self->db,
          "SELECT 1 FROM media WHERE state = 'unregistered' AND number = ?1 AND kind = ?2 AND "
          "vendor = ?3 AND model = ?4 AND serial = ?5",
          error);
      if (seen == NULL)
        return FALSE;
      sk_db_stmt_bind_text (seen, 1, number);
      sk_db_stmt_bind_text (seen, 2, kind);
      sk_db_stmt_bind_text (seen, 3, cells[2]);
      sk_db_stmt_bind_text (seen, 4, cells[3]);
      sk_db_stmt_bind_text (seen, 5, cells[4]);
      SkDbStep step = sk_db_stmt_step (seen, error);
      if (step == SK_DB_STEP_ERROR)
        return FALSE;
      if (step == SK_DB_STEP_ROW)
        return TRUE;
    }
  g_autoptr (SkDbStmt) ins = sk_db_prepare (
      self->db,
      "INSERT INTO media (number, kind, vendor, model, serial, state, registered_us, "
      "registered_by, unregistered_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
      error);
  if (ins == NULL)
    return FALSE;
  sk_db_stmt_bind_text (ins, 1, number);
  sk_db_stmt_bind_text (ins, 2, kind);
  sk_db_stmt_bind_text (ins, 3, cells[2]);
  sk_db_stmt_bind_text (ins, 4, cells[3]);
  sk_db_stmt_bind_text (ins, 5, cells[4]);
  sk_db_stmt_bind_text (ins, 6, active ? "pending" : "unregistered");
  sk_db_stmt_bind_int64 (ins, 7, date);
  sk_db_stmt_bind_text (ins, 8, cells[6]);
  if (active)
    sk_db_stmt_bind_text (ins, 9, NULL);
  else
    sk_db_stmt_bind_int64 (ins, 9, date);
  g_autoptr (GError) local_error = NULL;
  if (!sk_db_stmt_run (ins, &local_error))
    {
      /* Two 登録 lines of one 管理番号 meet the unique index. */
      g_autofree char *why =
          g_strdup_printf (_ ("the row cannot be taken (%s)"), local_error->message);
      return csv_refuse (error, line, why);
    }
  *out_added = TRUE;
  return TRUE;
}

gboolean
sk_media_register_import_csv (
    SkMediaRegister *self, const SkActor *actor, GBytes *csv, guint *out_added, GError **error)
{
  g_return_val_if_fail (SK_IS_MEDIA_REGISTER (self), FALSE);
  g_return_val_if_fail (actor != NULL && csv != NULL, FALSE);

  gsize len;
  const char *data = g_bytes_get_data (csv, &len);
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GPtrArray) rows = sk_csv_parse (data, len, N_CSV_COLUMNS, &local_error);
  guint added = 0;
  gboolean ok = rows != NULL;
  if (ok)
    for (guint c = 0; c < N_CSV_COLUMNS && ok; c++)
      if (!g_str_equal (((GStrv)g_ptr_array_index (rows, 0))[c], csv_headers[c]))
        ok = csv_refuse (
            &local_error, 1,
            _ ("the header is not 管理番号,種別,メーカー,型番,シリアル,登録日,登録者,状態"));
  if (ok)
    ok = sk_journal_begin (self->journal, &local_error);
  for (guint i = 1; ok && i < rows->len; i++)
    {
      gboolean one = FALSE;
      ok = import_row (self, g_ptr_array_index (rows, i), i + 1, &one, &local_error);
      added += one;
    }
  g_autofree char *details = NULL;
  if (rows != NULL)
    details = g_strdup_printf ("{\"lines\":%u,\"added\":%u}", rows->len, added);
  if (ok)
    {
      SkJournalEntry e = entry_for (actor, "media-register-imported", details);
      ok = sk_journal_append (self->journal, &e, &local_error) > 0 &&
           sk_journal_commit (self->journal, &local_error);
    }
  if (!ok)
    {
      journal_refusal (self, actor, "media-register-imported", local_error, NULL, NULL);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (out_added != NULL)
    *out_added = added;
  return TRUE;
}
