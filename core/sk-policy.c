/* sk-policy.c — load, verify and compile the transfer policy */
#define G_LOG_DOMAIN "sekisho-policy"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <stdlib.h>
#include <string.h>
#include <json-glib/json-glib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-keyring.h"
#include "sk-policy-layout.h"
#include "sk-policy-private.h"
#include "sk-policy-schema.h"

struct _SkPolicy
{
  GObject parent_instance;

  GBytes *bytes;
  char *sha256;
  char *signer;
  gint64 serial;
  GStrv admins;
  char *admin_successor; /* NULL: the pin stays */
  GStrv signers[2];
  char *recipients[2];
  guint max_findings;
  guint max_files;
  guint64 max_package_size;
  guint max_line_length;
  GHashTable *inquiry_allow; /* set of strings */
  GStrv dual_control;
  GPtrArray *kinds; /* SkKind*, policy order */
  SkRetention retention;
  gboolean layouts_only;
  GStrv media_classes;
  gboolean media_import_unregistered;
};

G_DEFINE_FINAL_TYPE (SkPolicy, sk_policy, G_TYPE_OBJECT)

static void
sk_kind_free (SkKind *kind)
{
  g_free (kind->id);
  g_free (kind->title);
  g_free (kind->workflow);
  g_free (kind->name_pattern);
  g_clear_pointer (&kind->name_regex, g_regex_unref);
  g_strfreev (kind->pairs_with);
  g_strfreev (kind->pair_key);
  g_free (kind->pair_key_index);
  for (guint i = 0; i < SK_N_RECORDS; i++)
    g_clear_pointer (&kind->records[i], _sk_record_layout_free);
  g_free (kind);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkKind, sk_kind_free)

static void
sk_policy_finalize (GObject *object)
{
  SkPolicy *self = SK_POLICY (object);

  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_free (self->sha256);
  g_free (self->signer);
  g_strfreev (self->admins);
  g_free (self->admin_successor);
  for (guint i = 0; i < 2; i++)
    {
      g_strfreev (self->signers[i]);
      g_free (self->recipients[i]);
    }
  g_clear_pointer (&self->inquiry_allow, g_hash_table_unref);
  g_strfreev (self->dual_control);
  g_strfreev (self->media_classes);
  g_clear_pointer (&self->kinds, g_ptr_array_unref);

  G_OBJECT_CLASS (sk_policy_parent_class)->finalize (object);
}

static void
sk_policy_class_init (SkPolicyClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sk_policy_finalize;
}

static void
sk_policy_init (SkPolicy *self)
{
  self->kinds = g_ptr_array_new_with_free_func ((GDestroyNotify)sk_kind_free);
  self->inquiry_allow = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

static gboolean
is_fingerprint (const char *s)
{
  return sk_fingerprint_is_valid (s);
}

static gboolean
is_kind_id (const char *s)
{
  if (strlen (s) != 5)
    return FALSE;
  for (int i = 0; i < 3; i++)
    if (!g_ascii_isupper (s[i]))
      return FALSE;
  return g_ascii_isdigit (s[3]) && g_ascii_isdigit (s[4]);
}

/* ---- sections ---------------------------------------------------------- */

static gboolean
parse_keys (SkPolicy *self, JsonObject *root, GError **error)
{
  static const char *const members[] = { "admins", "to-intermediate", "to-standard", NULL };
  static const char *const dir_members[] = { "signers", "recipient", NULL };
  JsonObject *keys = _sk_schema_get_object (root, "keys", "$", error);

  if (keys == NULL || !_sk_schema_check_members (keys, "$.keys", members, members, error))
    return FALSE;
  self->admins = _sk_schema_get_strv (keys, "admins", self->layouts_only, is_fingerprint,
                                      "a fingerprint of 40 upper-case hex digits", "$.keys", error);
  if (self->admins == NULL)
    return FALSE;

  for (SkDirection d = SK_DIRECTION_TO_INTERMEDIATE; d <= SK_DIRECTION_TO_STANDARD; d++)
    {
      const char *name = sk_direction_to_string (d);
      g_autofree char *path = g_strdup_printf ("$.keys.%s", name);
      JsonObject *dir = _sk_schema_get_object (keys, name, "$.keys", error);
      if (dir == NULL || !_sk_schema_check_members (dir, path, dir_members, dir_members, error))
        return FALSE;
      self->signers[d] =
          _sk_schema_get_strv (dir, "signers", self->layouts_only, is_fingerprint,
                               "a fingerprint of 40 upper-case hex digits", path, error);
      if (self->signers[d] == NULL)
        return FALSE;
      const char *recipient = _sk_schema_get_string (dir, "recipient", path, error);
      if (recipient == NULL)
        return FALSE;
      if (!sk_fingerprint_is_valid (recipient) && !(self->layouts_only && *recipient == '\0'))
        return _sk_schema_invalid (error, path,
                                   _ ("\"recipient\" must be a fingerprint of 40 upper-case hex "
                                      "digits"));
      self->recipients[d] = g_strdup (recipient);
    }
  return TRUE;
}

static gboolean
parse_limits (SkPolicy *self, JsonObject *root, GError **error)
{
  static const char *const members[] = { "max_findings", "max_files", "max_package_size",
                                         "max_line_length", NULL };
  JsonObject *limits = _sk_schema_get_object (root, "limits", "$", error);
  gint64 findings, files, package_size, line_length;

  if (limits == NULL || !_sk_schema_check_members (limits, "$.limits", members, members, error))
    return FALSE;
  if (!_sk_schema_get_int (limits, "max_findings", 1, 1000000, &findings, "$.limits", error) ||
      !_sk_schema_get_int (limits, "max_files", 1, 1000, &files, "$.limits", error) ||
      !_sk_schema_get_int (limits, "max_package_size", 1, G_GINT64_CONSTANT (1) << 40,
                           &package_size, "$.limits", error) ||
      !_sk_schema_get_int (limits, "max_line_length", 64, 16 * 1024 * 1024, &line_length,
                           "$.limits", error))
    return FALSE;
  self->max_findings = (guint)findings;
  self->max_files = (guint)files;
  self->max_package_size = (guint64)package_size;
  self->max_line_length = (guint)line_length;
  return TRUE;
}

static gboolean
is_media_class (const char *s)
{
  return g_str_equal (s, "usb-storage") || g_str_equal (s, "optical");
}

static gboolean
parse_media (SkPolicy *self, JsonObject *root, GError **error)
{
  static const char *const members[] = { "classes", "registered", "import_unregistered", NULL };
  static const char *const required[] = { "classes", "registered", NULL };
  static const char *const medium_members[] = { "id", "label", "vendor", "model", "serial", NULL };
  JsonObject *media = _sk_schema_get_object (root, "media", "$", error);

  if (media == NULL || !_sk_schema_check_members (media, "$.media", members, required, error))
    return FALSE;
  g_auto (GStrv) classes = _sk_schema_get_strv (media, "classes", TRUE, is_media_class,
                                                "\"usb-storage\" or \"optical\"", "$.media", error);
  if (classes == NULL)
    return FALSE;
  /* Absent or false: import, like export, needs a registered medium. */
  if (!_sk_schema_get_bool (media, "import_unregistered", &self->media_import_unregistered,
                            "$.media", error))
    return FALSE;
  g_strfreev (self->media_classes);
  self->media_classes = g_steal_pointer (&classes);

  JsonArray *registered = _sk_schema_get_array (media, "registered", "$.media", error);
  if (registered == NULL)
    return FALSE;
  for (guint i = 0; i < json_array_get_length (registered); i++)
    {
      g_autofree char *path = g_strdup_printf ("$.media.registered[%u]", i);
      JsonNode *node = json_array_get_element (registered, i);
      if (!JSON_NODE_HOLDS_OBJECT (node))
        return _sk_schema_invalid (error, path, _ ("must be an object"));
      JsonObject *medium = json_node_get_object (node);
      if (!_sk_schema_check_members (medium, path, medium_members, medium_members, error))
        return FALSE;
      for (guint m = 0; medium_members[m] != NULL; m++)
        if (_sk_schema_get_string (medium, medium_members[m], path, error) == NULL)
          return FALSE;
    }
  return TRUE;
}

static gboolean
parse_retention (SkPolicy *self, JsonObject *root, GError **error)
{
  static const char *const members[] = { "upload_minutes",
                                         "download_minutes",
                                         "staged_days_after_close",
                                         "inquiry_result_days",
                                         "no_result_days",
                                         "journal_years",
                                         NULL };
  JsonObject *retention = _sk_schema_get_object (root, "retention", "$", error);

  if (retention == NULL ||
      !_sk_schema_check_members (retention, "$.retention", members, members, error))
    return FALSE;
  gint64 *fields[] = {
    &self->retention.upload_minutes,          &self->retention.download_minutes,
    &self->retention.staged_days_after_close, &self->retention.inquiry_result_days,
    &self->retention.no_result_days,          &self->retention.journal_years
  };
  for (guint i = 0; members[i] != NULL; i++)
    if (!_sk_schema_get_int (retention, members[i], 1, 100000, fields[i], "$.retention", error))
      return FALSE;
  return TRUE;
}

static SkKind *
parse_kind (SkPolicy *self, const char *id, JsonNode *node, JsonObject *templates, GError **error)
{
  static const char *const members[] = { "title",        "direction",     "workflow", "profile",
                                         "name_pattern", "pairs_with",    "pair_key", "max_records",
                                         "max_size",     "record_length", "records",  NULL };
  static const char *const required[] = { "title",        "direction", "workflow",    "profile",
                                          "name_pattern", "pair_key",  "max_records", "max_size",
                                          "records",      NULL };
  static const char *const record_members[] = { "header", "data", "trailer", "end", NULL };
  static const char *const workflows[] = { "subscriber", "duplicate", "inquiry", "identity", NULL };
  g_autofree char *path = g_strdup_printf ("$.kinds.%s", id);

  if (!is_kind_id (id))
    {
      _sk_schema_invalid (error, "$.kinds",
                          _ ("kind id \"%s\" must be three upper-case letters and two digits"), id);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      _sk_schema_invalid (error, path, _ ("must be an object"));
      return NULL;
    }
  JsonObject *obj = json_node_get_object (node);
  if (!_sk_schema_check_members (obj, path, members, required, error))
    return NULL;

  g_autoptr (SkKind) kind = g_new0 (SkKind, 1);
  kind->id = g_strdup (id);

  const char *title = _sk_schema_get_string (obj, "title", path, error);
  const char *direction = title ? _sk_schema_get_string (obj, "direction", path, error) : NULL;
  const char *workflow = direction ? _sk_schema_get_string (obj, "workflow", path, error) : NULL;
  const char *profile = workflow ? _sk_schema_get_string (obj, "profile", path, error) : NULL;
  const char *pattern = profile ? _sk_schema_get_string (obj, "name_pattern", path, error) : NULL;
  if (pattern == NULL)
    return NULL;
  kind->title = g_strdup (title);

  if (g_str_equal (direction, "to-intermediate"))
    kind->direction = SK_DIRECTION_TO_INTERMEDIATE;
  else if (g_str_equal (direction, "to-standard"))
    kind->direction = SK_DIRECTION_TO_STANDARD;
  else
    {
      _sk_schema_invalid (error, path,
                          _ ("\"direction\" must be \"to-intermediate\" or \"to-standard\""));
      return NULL;
    }
  if (!g_strv_contains (workflows, workflow))
    {
      _sk_schema_invalid (error, path,
                          _ ("\"workflow\" must be subscriber, duplicate, inquiry or identity"));
      return NULL;
    }
  kind->workflow = g_strdup (workflow);
  if (g_str_equal (profile, "P1"))
    kind->profile = SK_PROFILE_P1;
  else if (g_str_equal (profile, "P2"))
    kind->profile = SK_PROFILE_P2;
  else
    {
      _sk_schema_invalid (error, path, _ ("\"profile\" must be \"P1\" or \"P2\""));
      return NULL;
    }

  /* The pattern is anchored at both ends and names its parts. */
  gsize plen = strlen (pattern);
  if (plen < 2 || pattern[0] != '^' || pattern[plen - 1] != '$')
    {
      _sk_schema_invalid (error, path, _ ("\"name_pattern\" must be anchored with ^ and $"));
      return NULL;
    }
  g_autoptr (GError) local_error = NULL;
  /* DOLLAR_ENDONLY: "$" must not match before a trailing newline, or
   * "NAME.DAT\n" would pass as NAME.DAT. */
  kind->name_regex =
      g_regex_new (pattern, G_REGEX_OPTIMIZE | G_REGEX_DOLLAR_ENDONLY, 0, &local_error);
  if (kind->name_regex == NULL)
    {
      _sk_schema_invalid (error, path, _ ("\"name_pattern\": %s"), local_error->message);
      return NULL;
    }
  static const char *const parts[] = { "lg", "id", "ts", "seq" };
  for (gsize i = 0; i < G_N_ELEMENTS (parts); i++)
    if (g_regex_get_string_number (kind->name_regex, parts[i]) < 0)
      {
        _sk_schema_invalid (error, path, _ ("\"name_pattern\" has no group (?<%s>…)"), parts[i]);
        return NULL;
      }
  kind->name_pattern = g_strdup (pattern);

  if (json_object_has_member (obj, "pairs_with"))
    {
      kind->pairs_with =
          _sk_schema_get_strv (obj, "pairs_with", FALSE, is_kind_id, "a kind id", path, error);
      if (kind->pairs_with == NULL)
        return NULL;
      if (kind->direction != SK_DIRECTION_TO_INTERMEDIATE)
        {
          _sk_schema_invalid (error, path,
                              _ ("only requests (to-intermediate) have \"pairs_with\""));
          return NULL;
        }
    }
  kind->pair_key = _sk_schema_get_strv (obj, "pair_key", FALSE, NULL, NULL, path, error);
  if (kind->pair_key == NULL)
    return NULL;

  gint64 max_records, max_size, record_length = 0;
  if (!_sk_schema_get_int (obj, "max_records", 1, 100000000, &max_records, path, error) ||
      !_sk_schema_get_int (obj, "max_size", 1, G_GINT64_CONSTANT (1) << 40, &max_size, path, error))
    return NULL;
  kind->max_records = (guint64)max_records;
  kind->max_size = (guint64)max_size;
  if (kind->profile == SK_PROFILE_P1)
    {
      if (!_sk_schema_get_int (obj, "record_length", 3, 65536, &record_length, path, error))
        return NULL;
    }
  else if (json_object_has_member (obj, "record_length"))
    {
      _sk_schema_invalid (error, path, _ ("\"record_length\" is for P1 kinds"));
      return NULL;
    }
  kind->record_length = (guint)record_length;

  JsonObject *records = _sk_schema_get_object (obj, "records", path, error);
  g_autofree char *rpath = g_strdup_printf ("%s.records", path);
  if (records == NULL ||
      !_sk_schema_check_members (records, rpath, record_members, record_members, error))
    return NULL;

  g_autoptr (GPtrArray) trailer_refs = g_ptr_array_new_with_free_func (g_free);
  for (SkRecordType t = SK_RECORD_HEADER; t < SK_N_RECORDS; t++)
    {
      kind->records[t] = _sk_policy_parse_record (templates, records, t, kind->profile,
                                                  kind->record_length, trailer_refs, path, error);
      if (kind->records[t] == NULL)
        return NULL;
    }

  const SkRecordLayout *header = kind->records[SK_RECORD_HEADER];
  const SkRecordLayout *data = kind->records[SK_RECORD_DATA];
  SkRecordLayout *trailer = kind->records[SK_RECORD_TRAILER];

  gboolean has_kind = FALSE, has_case = FALSE;
  for (guint i = 0; i < header->fields->len; i++)
    {
      const SkField *f = g_ptr_array_index (header->fields, i);
      has_kind |= f->header == SK_HEADER_KIND;
      has_case |= f->header == SK_HEADER_CASE;
    }
  if (!has_kind || !has_case)
    {
      _sk_schema_invalid (error, path,
                          _ ("the header needs fields with \"header\": \"kind\" and \"case\""));
      return NULL;
    }

  /* Trailer counts and sums point into the data record. */
  for (guint i = 0; i < trailer->fields->len; i++)
    {
      SkField *f = g_ptr_array_index (trailer->fields, i);
      const char *count_name = g_ptr_array_index (trailer_refs, 2 * i);
      const char *sum_name = g_ptr_array_index (trailer_refs, 2 * i + 1);
      g_autofree char *fpath = g_strdup_printf ("%s.records.trailer[%u]", path, i);
      if (count_name != NULL)
        {
          f->count_when.field = _sk_record_layout_resolve (data, count_name, fpath, error);
          if (f->count_when.field < 0)
            return NULL;
        }
      if (sum_name != NULL)
        {
          f->sum = _sk_record_layout_resolve (data, sum_name, fpath, error);
          if (f->sum < 0)
            return NULL;
          SkField *summed = g_ptr_array_index (data->fields, f->sum);
          summed->needs_number = TRUE;
          if (summed->type != SK_FIELD_DIGITS || summed->length > 18)
            {
              _sk_schema_invalid (error, fpath,
                                  _ ("\"sum\" needs a data field of type 9 of at most 18 digits"));
              return NULL;
            }
        }
    }

  kind->n_pair_key = g_strv_length (kind->pair_key);
  kind->pair_key_index = g_new0 (int, kind->n_pair_key);
  for (guint i = 0; i < kind->n_pair_key; i++)
    {
      kind->pair_key_index[i] = _sk_record_layout_resolve (data, kind->pair_key[i], path, error);
      if (kind->pair_key_index[i] < 0)
        return NULL;
      const SkField *f = g_ptr_array_index (data->fields, kind->pair_key_index[i]);
      if (f->type == SK_FIELD_FULL)
        {
          _sk_schema_invalid (error, path, _ ("\"pair_key\" fields are of type 9 or X"));
          return NULL;
        }
    }
  return g_steal_pointer (&kind);
}

static gboolean
parse_kinds (SkPolicy *self, JsonObject *root, GError **error)
{
  JsonObject *kinds = _sk_schema_get_object (root, "kinds", "$", error);
  JsonObject *templates = NULL;

  if (kinds == NULL)
    return FALSE;
  if (json_object_has_member (root, "templates"))
    {
      templates = _sk_schema_get_object (root, "templates", "$", error);
      if (templates == NULL)
        return FALSE;
    }

  g_autoptr (GList) ids = json_object_get_members (kinds);
  if (ids == NULL)
    return _sk_schema_invalid (error, "$.kinds", _ ("must describe at least one kind"));
  for (GList *l = ids; l != NULL; l = l->next)
    {
      SkKind *kind =
          parse_kind (self, l->data, json_object_get_member (kinds, l->data), templates, error);
      if (kind == NULL)
        return FALSE;
      g_ptr_array_add (self->kinds, kind);
    }

  /* Requests and their results agree on what pairs them. */
  for (guint i = 0; i < self->kinds->len; i++)
    {
      const SkKind *request = g_ptr_array_index (self->kinds, i);
      g_autofree char *path = g_strdup_printf ("$.kinds.%s", request->id);
      for (guint j = 0; request->pairs_with != NULL && request->pairs_with[j] != NULL; j++)
        {
          const SkKind *result = sk_policy_lookup_kind (self, request->pairs_with[j]);
          if (result == NULL)
            return _sk_schema_invalid (error, path, _ ("\"pairs_with\" names unknown kind %s"),
                                       request->pairs_with[j]);
          if (result->direction != SK_DIRECTION_TO_STANDARD ||
              !g_str_equal (result->workflow, request->workflow))
            return _sk_schema_invalid (error, path,
                                       _ ("%s must be a to-standard result of the same workflow"),
                                       result->id);
          if (result->n_pair_key != request->n_pair_key)
            return _sk_schema_invalid (
                error, path, _ ("%s's \"pair_key\" must have as many fields"), result->id);
          const SkRecordLayout *rdata = result->records[SK_RECORD_DATA];
          for (guint k = 0; k < rdata->fields->len; k++)
            {
              const SkField *f = g_ptr_array_index (rdata->fields, k);
              if (f->echo != NULL &&
                  _sk_record_layout_find (request->records[SK_RECORD_DATA], f->echo) == NULL)
                return _sk_schema_invalid (error, path,
                                           _ ("%s.%s echoes \"%s\", which %s does not have"),
                                           result->id, f->name, f->echo, request->id);
            }
        }
    }
  return TRUE;
}

static gboolean
parse_root (SkPolicy *self, JsonNode *root_node, GError **error)
{
  static const char *const members[] = {
    "format", "serial", "issued_at", "description",  "admin_successor",    "keys",
    "limits", "media",  "retention", "dual_control", "inquiry_allow_list", "templates",
    "kinds",  NULL
  };
  static const char *const required[] = {
    "format",    "serial",       "issued_at",          "keys",  "limits", "media",
    "retention", "dual_control", "inquiry_allow_list", "kinds", NULL
  };

  if (root_node == NULL || !JSON_NODE_HOLDS_OBJECT (root_node))
    return _sk_schema_invalid (error, "$", _ ("the policy must be a JSON object"));
  JsonObject *root = json_node_get_object (root_node);
  if (!_sk_schema_check_members (root, "$", members, required, error))
    return FALSE;

  const char *format = _sk_schema_get_string (root, "format", "$", error);
  if (format == NULL)
    return FALSE;
  if (!g_str_equal (format, "sekisho-policy/1"))
    return _sk_schema_invalid (error, "$", _ ("\"format\" must be \"sekisho-policy/1\""));
  if (!_sk_schema_get_int (root, "serial", 1, G_MAXINT64, &self->serial, "$", error))
    return FALSE;
  const char *issued = _sk_schema_get_string (root, "issued_at", "$", error);
  if (issued == NULL)
    return FALSE;
  g_autoptr (GDateTime) issued_dt = g_date_time_new_from_iso8601 (issued, NULL);
  if (issued_dt == NULL || !g_str_has_suffix (issued, "Z"))
    return _sk_schema_invalid (error, "$", _ ("\"issued_at\" must be an RFC 3339 time in UTC"));
  if (json_object_has_member (root, "description") &&
      _sk_schema_get_string (root, "description", "$", error) == NULL)
    return FALSE;

  if (!parse_keys (self, root, error) || !parse_limits (self, root, error) ||
      !parse_media (self, root, error) || !parse_retention (self, root, error) ||
      !parse_kinds (self, root, error))
    return FALSE;

  /* Rotation of the pinned administrator: the successor must be one of the
   * policy's own admins, or the next policy it signs could never load. */
  if (json_object_has_member (root, "admin_successor"))
    {
      const char *successor = _sk_schema_get_string (root, "admin_successor", "$", error);
      if (successor == NULL)
        return FALSE;
      if (!is_fingerprint (successor))
        return _sk_schema_invalid (error, "$",
                                   _ ("\"admin_successor\" must be a fingerprint of 40 upper-case "
                                      "hex digits"));
      if (!g_strv_contains ((const char *const *)self->admins, successor))
        return _sk_schema_invalid (
            error, "$", _ ("\"admin_successor\" %s is not listed in keys.admins"), successor);
      self->admin_successor = g_strdup (successor);
    }

  self->dual_control =
      _sk_schema_get_strv (root, "dual_control", TRUE, is_kind_id, "a kind id", "$", error);
  if (self->dual_control == NULL)
    return FALSE;
  for (guint i = 0; self->dual_control[i] != NULL; i++)
    if (sk_policy_lookup_kind (self, self->dual_control[i]) == NULL)
      return _sk_schema_invalid (error, "$.dual_control", _ ("unknown kind %s"),
                                 self->dual_control[i]);

  g_auto (GStrv) allow =
      _sk_schema_get_strv (root, "inquiry_allow_list", TRUE, _sk_schema_is_short_ascii,
                           "1 to 64 printable ASCII characters", "$", error);
  if (allow == NULL)
    return FALSE;
  for (guint i = 0; allow[i] != NULL; i++)
    g_hash_table_add (self->inquiry_allow, g_strdup (allow[i]));
  return TRUE;
}

SkPolicy *
sk_policy_new_from_bytes (GBytes *json, GError **error)
{
  return _sk_policy_new_from_bytes_full (json, FALSE, error);
}

SkPolicy *
_sk_policy_new_from_bytes_full (GBytes *json, gboolean layouts_only, GError **error)
{
  g_return_val_if_fail (json != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  gsize len;
  const char *data = g_bytes_get_data (json, &len);
  if (len > SK_POLICY_MAX_SIZE)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_POLICY_INVALID,
                   _ ("the policy is larger than %d bytes"), SK_POLICY_MAX_SIZE);
      return NULL;
    }
  if (len == 0 || !g_utf8_validate_len (data, len, NULL) || memchr (data, '\0', len) != NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_POLICY_INVALID,
                           _ ("the policy is not UTF-8 text"));
      return NULL;
    }
  if (!_sk_json_nesting_ok (data, len))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_POLICY_INVALID,
                   _ ("the policy is not plain JSON nested at most %d levels deep"),
                   SK_JSON_MAX_DEPTH);
      return NULL;
    }

  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) local_error = NULL;
  if (!json_parser_load_from_data (parser, data, (gssize)len, &local_error))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_POLICY_INVALID, _ ("the policy is not JSON: %s"),
                   local_error->message);
      return NULL;
    }

  if (!_sk_json_members_unique (data, len, json_parser_get_root (parser)))
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_POLICY_INVALID,
                           _ ("the policy names a member twice in one object"));
      return NULL;
    }

  g_autoptr (SkPolicy) self = g_object_new (SK_TYPE_POLICY, NULL);
  self->layouts_only = layouts_only;
  if (!parse_root (self, json_parser_get_root (parser), error))
    return NULL;
  self->bytes = g_bytes_ref (json);
  self->sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, json);
  return g_steal_pointer (&self);
}

/* Read at most MAX bytes of PATH through one descriptor. */
static GBytes *
read_capped (const char *path, gsize max, gboolean *out_missing, GError **error)
{
  *out_missing = FALSE;
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int errsv = errno;
      if (errsv == ENOENT)
        *out_missing = TRUE;
      g_autofree char *what = g_strdup_printf (_ ("opening %s"), path);
      sk_error_set_from_errno (error, errsv, what);
      return NULL;
    }
  g_autoptr (GByteArray) buf = g_byte_array_new ();
  guint8 chunk[65536];
  for (;;)
    {
      ssize_t n = read (fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int errsv = errno;
          close (fd);
          g_autofree char *what = g_strdup_printf (_ ("reading %s"), path);
          sk_error_set_from_errno (error, errsv, what);
          return NULL;
        }
      if (n == 0)
        break;
      if (buf->len + (gsize)n > max)
        {
          close (fd);
          g_set_error (error, SK_ERROR, SK_ERROR_POLICY_INVALID, _ ("%s is larger than %zu bytes"),
                       path, max);
          return NULL;
        }
      g_byte_array_append (buf, chunk, (guint)n);
    }
  close (fd);
  return g_byte_array_free_to_bytes (g_steal_pointer (&buf));
}

SkPolicy *
sk_policy_load (SkKeyring *keyring,
                const char *const *pinned_admins,
                const char *path,
                GError **error)
{
  g_return_val_if_fail (SK_IS_KEYRING (keyring), NULL);
  g_return_val_if_fail (pinned_admins != NULL, NULL);
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  gboolean missing;
  g_autoptr (GBytes) json = read_capped (path, SK_POLICY_MAX_SIZE, &missing, error);
  if (json == NULL)
    return NULL;

  g_autofree char *sig_path = g_strconcat (path, ".sig", NULL);
  g_autoptr (GError) sig_error = NULL;
  g_autoptr (GBytes) sig = read_capped (sig_path, 64 * 1024, &missing, &sig_error);
  if (sig == NULL && missing)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_POLICY_UNSIGNED, _ ("%s has no signature file %s"),
                   path, sig_path);
      return NULL;
    }
  if (sig == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&sig_error));
      return NULL;
    }

  /* The signature covers exactly the bytes parsed below: the file is read
   * once, so nothing can change between verification and use. */
  g_autoptr (GError) verify_error = NULL;
  g_autoptr (SkSignature) signature =
      sk_keyring_verify_detached_bytes (keyring, sig, json, pinned_admins, &verify_error);
  if (signature == NULL)
    {
      SkErrorCode code = verify_error->domain == SK_ERROR ? (SkErrorCode)verify_error->code
                                                          : SK_ERROR_POLICY_BAD_SIGNATURE;
      switch (code)
        {
        case SK_ERROR_SIG_MISSING:
          code = SK_ERROR_POLICY_UNSIGNED;
          break;
        case SK_ERROR_SIG_BAD:
          code = SK_ERROR_POLICY_BAD_SIGNATURE;
          break;
        case SK_ERROR_SIG_UNTRUSTED_KEY:
          code = SK_ERROR_POLICY_UNTRUSTED_SIGNER;
          break;
        default:
          /* Weak hash or key, expired, revoked, armored, several
           * signatures: the more specific sig-* code stands. */
          break;
        }
      g_set_error (error, SK_ERROR, code, _ ("policy signature: %s"), verify_error->message);
      return NULL;
    }

  g_autoptr (SkPolicy) self = sk_policy_new_from_bytes (json, error);
  if (self == NULL)
    return NULL;
  if (!g_strv_contains ((const char *const *)self->admins, signature->primary_fpr))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_POLICY_UNTRUSTED_SIGNER,
                   _ ("the policy is signed by %s, which its own keys.admins does not list"),
                   signature->primary_fpr);
      return NULL;
    }
  self->signer = g_strdup (signature->primary_fpr);
  return g_steal_pointer (&self);
}

/* ---- accessors --------------------------------------------------------- */

GBytes *
sk_policy_get_bytes (SkPolicy *self)
{
  g_return_val_if_fail (SK_IS_POLICY (self), NULL);
  return self->bytes;
}

const char *
sk_policy_get_sha256 (SkPolicy *self)
{
  g_return_val_if_fail (SK_IS_POLICY (self), NULL);
  return self->sha256;
}

const char *
sk_policy_get_signer (SkPolicy *self)
{
  g_return_val_if_fail (SK_IS_POLICY (self), NULL);
  return self->signer;
}

gint64
sk_policy_get_serial (SkPolicy *self)
{
  g_return_val_if_fail (SK_IS_POLICY (self), 0);
  return self->serial;
}

const char *
sk_policy_get_admin_successor (SkPolicy *self)
{
  g_return_val_if_fail (SK_IS_POLICY (self), NULL);
  return self->admin_successor;
}

const char *const *
sk_policy_get_admins (SkPolicy *self)
{
  g_return_val_if_fail (SK_IS_POLICY (self), NULL);
  return (const char *const *)self->admins;
}

const char *const *
sk_policy_get_signers (SkPolicy *self, SkDirection direction)
{
  g_return_val_if_fail (SK_IS_POLICY (self), NULL);
  g_return_val_if_fail (direction <= SK_DIRECTION_TO_STANDARD, NULL);
  return (const char *const *)self->signers[direction];
}

const char *
sk_policy_get_recipient (SkPolicy *self, SkDirection direction)
{
  g_return_val_if_fail (SK_IS_POLICY (self), NULL);
  g_return_val_if_fail (direction <= SK_DIRECTION_TO_STANDARD, NULL);
  return self->recipients[direction];
}

guint
sk_policy_get_max_findings (SkPolicy *self)
{
  g_return_val_if_fail (SK_IS_POLICY (self), 1);
  return self->max_findings;
}

guint
sk_policy_get_max_files (SkPolicy *self)
{
  g_return_val_if_fail (SK_IS_POLICY (self), 1);
  return self->max_files;
}

guint64
sk_policy_get_max_package_size (SkPolicy *self)
{
  g_return_val_if_fail (SK_IS_POLICY (self), 0);
  return self->max_package_size;
}

guint
sk_policy_get_max_line_length (SkPolicy *self)
{
  g_return_val_if_fail (SK_IS_POLICY (self), 64);
  return self->max_line_length;
}

gboolean
sk_policy_inquiry_allowed (SkPolicy *self, const char *id, gsize len)
{
  g_return_val_if_fail (SK_IS_POLICY (self), FALSE);

  g_autofree char *key = g_strndup (id, len);
  return g_hash_table_contains (self->inquiry_allow, key);
}

static int
compare_strp (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

const SkRetention *
sk_policy_get_retention (SkPolicy *self)
{
  g_return_val_if_fail (SK_IS_POLICY (self), NULL);
  return &self->retention;
}

gint64
sk_retention_deadline (const SkRetention *retention, SkRetentionClass what, gint64 from_us)
{
  g_return_val_if_fail (retention != NULL, from_us);

  const gint64 minute = G_GINT64_CONSTANT (60) * G_USEC_PER_SEC;
  const gint64 day = 24 * 60 * minute;
  switch (what)
    {
    case SK_RETENTION_UPLOAD:
      return from_us + retention->upload_minutes * minute;
    case SK_RETENTION_DOWNLOAD:
      return from_us + retention->download_minutes * minute;
    case SK_RETENTION_STAGED:
      return from_us + retention->staged_days_after_close * day;
    case SK_RETENTION_INQUIRY_RESULT:
      return from_us + retention->inquiry_result_days * day;
    }
  return from_us;
}

GStrv
sk_policy_dup_inquiry_allow_list (SkPolicy *self)
{
  g_return_val_if_fail (SK_IS_POLICY (self), NULL);

  g_autofree const char **keys =
      (const char **)g_hash_table_get_keys_as_array (self->inquiry_allow, NULL);
  GStrv out = g_strdupv ((GStrv)keys);
  qsort (out, g_strv_length (out), sizeof (char *), compare_strp);
  return out;
}

gboolean
sk_policy_needs_dual_control (SkPolicy *self, const char *kind_id)
{
  g_return_val_if_fail (SK_IS_POLICY (self), TRUE);
  return g_strv_contains ((const char *const *)self->dual_control, kind_id);
}

GPtrArray *
sk_policy_get_kinds (SkPolicy *self)
{
  g_return_val_if_fail (SK_IS_POLICY (self), NULL);
  return self->kinds;
}

const SkKind *
sk_policy_lookup_kind (SkPolicy *self, const char *kind_id)
{
  g_return_val_if_fail (SK_IS_POLICY (self), NULL);

  for (guint i = 0; i < self->kinds->len; i++)
    {
      const SkKind *kind = g_ptr_array_index (self->kinds, i);
      if (g_str_equal (kind->id, kind_id))
        return kind;
    }
  return NULL;
}

const SkKind *
sk_policy_match_file_name (SkPolicy *self, const char *basename)
{
  g_return_val_if_fail (SK_IS_POLICY (self), NULL);

  /* Names from a medium are untrusted: only valid UTF-8 without control
   * characters reaches the regex. */
  if (!g_utf8_validate (basename, -1, NULL))
    return NULL;
  for (const char *p = basename; *p != '\0'; p++)
    if ((guchar)*p < 0x20 || *p == 0x7F)
      return NULL;
  for (guint i = 0; i < self->kinds->len; i++)
    {
      const SkKind *kind = g_ptr_array_index (self->kinds, i);
      g_autoptr (GMatchInfo) match = NULL;
      if (!g_regex_match (kind->name_regex, basename, 0, &match))
        continue;
      g_autofree char *id = g_match_info_fetch_named (match, "id");
      if (id != NULL && g_str_equal (id, kind->id))
        return kind;
    }
  return NULL;
}

GPtrArray *
_sk_policy_requests_for (SkPolicy *self, const char *result_id)
{
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; i < self->kinds->len; i++)
    {
      const SkKind *kind = g_ptr_array_index (self->kinds, i);
      if (kind->pairs_with != NULL &&
          g_strv_contains ((const char *const *)kind->pairs_with, result_id))
        g_ptr_array_add (out, (gpointer)kind);
    }
  return out;
}

gboolean
_sk_codes_contain (const SkCodes *codes, const char *value, gsize len)
{
  for (guint i = 0; i < codes->n; i++)
    {
      if (codes->lengths[i] != len)
        continue;
      /* Codes are short: compare in place rather than call memcmp. */
      const char *c = codes->values[i];
      gsize k = 0;
      while (k < len && c[k] == value[k])
        k++;
      if (k == len)
        return TRUE;
    }
  return FALSE;
}

const char *
sk_kind_get_id (const SkKind *kind)
{
  return kind->id;
}

const char *
sk_kind_get_title (const SkKind *kind)
{
  return kind->title;
}

SkDirection
sk_kind_get_direction (const SkKind *kind)
{
  return kind->direction;
}

const char *
sk_kind_get_workflow (const SkKind *kind)
{
  return kind->workflow;
}

SkProfile
sk_kind_get_profile (const SkKind *kind)
{
  return kind->profile;
}

const char *
sk_direction_to_string (SkDirection direction)
{
  return direction == SK_DIRECTION_TO_INTERMEDIATE ? "to-intermediate" : "to-standard";
}

gboolean
sk_policy_media_class_allowed (SkPolicy *self, const char *media_class)
{
  g_return_val_if_fail (SK_IS_POLICY (self), FALSE);
  return self->media_classes != NULL && media_class != NULL &&
         g_strv_contains ((const char *const *)self->media_classes, media_class);
}

gboolean
sk_policy_media_import_needs_registered (SkPolicy *self)
{
  g_return_val_if_fail (SK_IS_POLICY (self), TRUE);
  return !self->media_import_unregistered;
}
