/* sk-manifest.c — MANIFEST.json: parsed strictly, written canonically */
#define G_LOG_DOMAIN "sekisho-package"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "sk-archive.h"
#include "sk-error.h"
#include "sk-package-private.h"
#include "sk-json-guard.h"

/* ---- manifest ---------------------------------------------------------- */

static void
sk_manifest_file_free (SkManifestFile *f)
{
  g_free (f->name);
  g_free (f->kind);
  g_free (f->sha256);
  g_free (f);
}

/* A manifest with no files yet, for a package being written. */
SkManifest *
_sk_manifest_new (const char *workflow, const char *case_id)
{
  SkManifest *m = g_new0 (SkManifest, 1);
  m->files = g_ptr_array_new_with_free_func ((GDestroyNotify)sk_manifest_file_free);
  m->workflow = g_strdup (workflow);
  m->case_id = g_strdup (case_id);
  return m;
}

void
sk_manifest_free (SkManifest *m)
{
  if (m == NULL)
    return;
  g_free (m->package_id);
  g_free (m->workflow);
  g_free (m->created_at);
  g_free (m->created_by);
  g_free (m->origin);
  g_free (m->recipient);
  g_free (m->case_id);
  g_free (m->policy);
  g_clear_pointer (&m->files, g_ptr_array_unref);
  g_free (m);
}

static gboolean
manifest_invalid (GError **error, const char *why)
{
  g_set_error (error, SK_ERROR, SK_ERROR_MANIFEST_INVALID, _ ("the manifest %s"), why);
  return FALSE;
}

static const char *
member_string (JsonObject *obj, const char *name)
{
  JsonNode *node = json_object_get_member (obj, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gboolean
member_int (JsonObject *obj, const char *name, gint64 *out)
{
  JsonNode *node = json_object_get_member (obj, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (node);
  return TRUE;
}

static gboolean
only_members (JsonObject *obj, const char *const *allowed)
{
  g_autoptr (GList) members = json_object_get_members (obj);
  guint n = 0;
  for (GList *l = members; l != NULL; l = l->next, n++)
    if (!g_strv_contains (allowed, l->data))
      return FALSE;
  return n == g_strv_length ((GStrv)allowed);
}

static gboolean
is_lower_hex (const char *s, gsize len)
{
  if (s == NULL || strlen (s) != len)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (s[i]) || g_ascii_isupper (s[i]))
      return FALSE;
  return TRUE;
}

static gboolean
is_printable_ascii (const char *s, gsize max)
{
  gsize len = s != NULL ? strlen (s) : 0;
  if (len == 0 || len > max)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (s[i] < 0x20 || s[i] > 0x7E)
      return FALSE;
  return TRUE;
}

SkManifest *
sk_manifest_parse (GBytes *json, GError **error)
{
  static const char *const members[] = { "format",     "package_id", "workflow", "direction",
                                         "created_at", "created_by", "origin",   "recipient",
                                         "case_id",    "policy",     "files",    NULL };
  static const char *const file_members[] = { "name", "kind", "size", "sha256", "records", NULL };

  gsize len;
  const char *data = g_bytes_get_data (json, &len);
  if (len == 0 || len > SK_MANIFEST_MAX_SIZE || !g_utf8_validate_len (data, len, NULL))
    {
      manifest_invalid (error, _ ("is empty, too large or not UTF-8"));
      return NULL;
    }
  if (!_sk_json_nesting_ok (data, len))
    {
      manifest_invalid (error, _ ("nests too deep, or holds comments or single quotes"));
      return NULL;
    }
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, (gssize)len, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      manifest_invalid (error, _ ("is not a JSON object"));
      return NULL;
    }
  if (!_sk_json_members_unique (data, len, json_parser_get_root (parser)))
    {
      manifest_invalid (error, _ ("names a member twice in one object"));
      return NULL;
    }
  JsonObject *obj = json_node_get_object (json_parser_get_root (parser));
  if (!only_members (obj, members))
    {
      manifest_invalid (error, _ ("lacks a member or has one too many"));
      return NULL;
    }

  g_autoptr (SkManifest) m = g_new0 (SkManifest, 1);
  m->files = g_ptr_array_new_with_free_func ((GDestroyNotify)sk_manifest_file_free);
  const char *format = member_string (obj, "format");
  const char *id = member_string (obj, "package_id");
  const char *workflow = member_string (obj, "workflow");
  const char *direction = member_string (obj, "direction");
  const char *created_at = member_string (obj, "created_at");
  const char *created_by = member_string (obj, "created_by");
  const char *origin = member_string (obj, "origin");
  const char *recipient = member_string (obj, "recipient");
  const char *case_id = member_string (obj, "case_id");
  const char *policy = member_string (obj, "policy");
  if (format == NULL || !g_str_equal (format, FORMAT))
    {
      manifest_invalid (error, _ ("is not a sekisho-package/1"));
      return NULL;
    }
  if (id == NULL || !g_uuid_string_is_valid (id) || !is_printable_ascii (workflow, 32) ||
      direction == NULL || !is_printable_ascii (created_by, 64) ||
      !sk_fingerprint_is_valid (origin) || !sk_fingerprint_is_valid (recipient) ||
      !is_printable_ascii (case_id, 64) || !is_lower_hex (policy, 64))
    {
      manifest_invalid (error, _ ("has a member of the wrong form"));
      return NULL;
    }
  g_autoptr (GDateTime) when =
      created_at != NULL ? g_date_time_new_from_iso8601 (created_at, NULL) : NULL;
  if (when == NULL || !g_str_has_suffix (created_at, "Z"))
    {
      manifest_invalid (error, _ ("has no created_at in UTC"));
      return NULL;
    }
  if (g_str_equal (direction, "to-intermediate"))
    m->direction = SK_DIRECTION_TO_INTERMEDIATE;
  else if (g_str_equal (direction, "to-standard"))
    m->direction = SK_DIRECTION_TO_STANDARD;
  else
    {
      manifest_invalid (error, _ ("has an unknown direction"));
      return NULL;
    }
  m->package_id = g_ascii_strdown (id, -1);
  m->workflow = g_strdup (workflow);
  m->created_at = g_strdup (created_at);
  m->created_by = g_strdup (created_by);
  m->origin = g_strdup (origin);
  m->recipient = g_strdup (recipient);
  m->case_id = g_strdup (case_id);
  m->policy = g_strdup (policy);

  JsonNode *files = json_object_get_member (obj, "files");
  if (!JSON_NODE_HOLDS_ARRAY (files))
    {
      manifest_invalid (error, _ ("has no list of files"));
      return NULL;
    }
  JsonArray *array = json_node_get_array (files);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      if (!JSON_NODE_HOLDS_OBJECT (node) ||
          !only_members (json_node_get_object (node), file_members))
        {
          manifest_invalid (error, _ ("has a file entry of the wrong form"));
          return NULL;
        }
      JsonObject *fo = json_node_get_object (node);
      SkManifestFile *f = g_new0 (SkManifestFile, 1);
      g_ptr_array_add (m->files, f);
      gint64 size, records;
      const char *name = member_string (fo, "name");
      const char *kind = member_string (fo, "kind");
      const char *sha = member_string (fo, "sha256");
      if (name == NULL || !sk_tar_name_is_safe (name) || !is_printable_ascii (kind, 16) ||
          !is_lower_hex (sha, 64) || !member_int (fo, "size", &size) || size < 0 ||
          !member_int (fo, "records", &records) || records < 0)
        {
          manifest_invalid (error,
                            _ ("has a file entry with a bad name, kind, size, hash or count"));
          return NULL;
        }
      for (guint j = 0; j + 1 < m->files->len; j++)
        if (g_str_equal (((SkManifestFile *)g_ptr_array_index (m->files, j))->name, name))
          {
            manifest_invalid (error, _ ("lists a file twice"));
            return NULL;
          }
      f->name = g_strdup (name);
      f->kind = g_strdup (kind);
      f->size = (guint64)size;
      f->sha256 = g_strdup (sha);
      f->records = records;
    }
  if (m->files->len == 0)
    {
      manifest_invalid (error, _ ("lists no file"));
      return NULL;
    }
  return g_steal_pointer (&m);
}

static GBytes *
manifest_json (const SkManifest *m, gboolean pretty)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
#define STR(k, v)                                                                                  \
  json_builder_set_member_name (b, k);                                                             \
  json_builder_add_string_value (b, v)
  STR ("format", FORMAT);
  STR ("package_id", m->package_id);
  STR ("workflow", m->workflow);
  STR ("direction", sk_direction_to_string (m->direction));
  STR ("created_at", m->created_at);
  STR ("created_by", m->created_by);
  STR ("origin", m->origin);
  STR ("recipient", m->recipient);
  STR ("case_id", m->case_id);
  STR ("policy", m->policy);
  json_builder_set_member_name (b, "files");
  json_builder_begin_array (b);
  for (guint i = 0; i < m->files->len; i++)
    {
      const SkManifestFile *f = g_ptr_array_index (m->files, i);
      json_builder_begin_object (b);
      STR ("name", f->name);
      STR ("kind", f->kind);
      json_builder_set_member_name (b, "size");
      json_builder_add_int_value (b, (gint64)f->size);
      STR ("sha256", f->sha256);
      json_builder_set_member_name (b, "records");
      json_builder_add_int_value (b, f->records);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
#undef STR
  json_builder_end_object (b);

  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_pretty (gen, pretty);
  json_generator_set_root (gen, root);
  gsize len;
  char *text = json_generator_to_data (gen, &len);
  return g_bytes_new_take (text, len);
}

GBytes *
sk_manifest_to_json (const SkManifest *m)
{
  return manifest_json (m, TRUE);
}

char *
sk_manifest_to_compact_json (const SkManifest *m)
{
  g_autoptr (GBytes) bytes = manifest_json (m, FALSE);
  return g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}
