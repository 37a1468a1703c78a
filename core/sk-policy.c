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
#include "sk-policy-private.h"

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
sk_codes_clear (SkCodes *codes)
{
  for (guint i = 0; i < codes->n; i++)
    {
      g_free (codes->values[i]);
      g_free (codes->labels[i]);
    }
  g_clear_pointer (&codes->values, g_free);
  g_clear_pointer (&codes->labels, g_free);
  g_clear_pointer (&codes->lengths, g_free);
  codes->n = 0;
}

static void
sk_field_free (SkField *field)
{
  g_free (field->name);
  g_free (field->const_value);
  sk_codes_clear (&field->codes);
  g_free (field->prefix);
  sk_codes_clear (&field->required_when.codes);
  sk_codes_clear (&field->blank_when.codes);
  sk_codes_clear (&field->count_when.codes);
  g_free (field->content);
  g_free (field->echo);
  g_free (field);
}

static void
sk_record_layout_free (SkRecordLayout *layout)
{
  g_ptr_array_unref (layout->fields);
  g_free (layout);
}

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
    g_clear_pointer (&kind->records[i], sk_record_layout_free);
  g_free (kind);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkKind, sk_kind_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkField, sk_field_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkRecordLayout, sk_record_layout_free)

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

/* ---- schema helpers ---------------------------------------------------- */

/* Every message names the JSON path of the member at fault.  A policy holds
 * no personal data, so quoting its members is safe. */
static gboolean G_GNUC_PRINTF (3, 4)
    invalid (GError **error, const char *path, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, SK_ERROR, SK_ERROR_POLICY_INVALID, "%s: %s", path, msg);
  return FALSE;
}

static gboolean
check_members (JsonObject *obj,
               const char *path,
               const char *const *allowed,
               const char *const *required,
               GError **error)
{
  g_autoptr (GList) members = json_object_get_members (obj);

  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (allowed, l->data))
      return invalid (error, path, _ ("unknown member \"%s\""), (const char *)l->data);
  for (guint i = 0; required != NULL && required[i] != NULL; i++)
    if (!json_object_has_member (obj, required[i]))
      return invalid (error, path, _ ("missing member \"%s\""), required[i]);
  return TRUE;
}

static JsonObject *
get_object (JsonObject *obj, const char *member, const char *path, GError **error)
{
  JsonNode *node = json_object_get_member (obj, member);

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      invalid (error, path, _ ("\"%s\" must be an object"), member);
      return NULL;
    }
  return json_node_get_object (node);
}

static JsonArray *
get_array (JsonObject *obj, const char *member, const char *path, GError **error)
{
  JsonNode *node = json_object_get_member (obj, member);

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      invalid (error, path, _ ("\"%s\" must be an array"), member);
      return NULL;
    }
  return json_node_get_array (node);
}

static gboolean
node_is_string (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_STRING;
}

static gboolean
node_is_int (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_INT64;
}

static gboolean
node_is_bool (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_BOOLEAN;
}

static const char *
get_string (JsonObject *obj, const char *member, const char *path, GError **error)
{
  JsonNode *node = json_object_get_member (obj, member);

  if (!node_is_string (node))
    {
      invalid (error, path, _ ("\"%s\" must be a string"), member);
      return NULL;
    }
  return json_node_get_string (node);
}

static gboolean
get_int (JsonObject *obj,
         const char *member,
         gint64 min,
         gint64 max,
         gint64 *out,
         const char *path,
         GError **error)
{
  JsonNode *node = json_object_get_member (obj, member);

  if (!node_is_int (node))
    return invalid (error, path, _ ("\"%s\" must be an integer"), member);
  gint64 v = json_node_get_int (node);
  if (v < min || v > max)
    return invalid (error, path, _ ("\"%s\" must be from %lld to %lld"), member, (long long)min,
                    (long long)max);
  *out = v;
  return TRUE;
}

static gboolean
get_bool (JsonObject *obj, const char *member, gboolean *out, const char *path, GError **error)
{
  JsonNode *node = json_object_get_member (obj, member);

  if (node == NULL)
    {
      *out = FALSE;
      return TRUE;
    }
  if (!node_is_bool (node))
    return invalid (error, path, _ ("\"%s\" must be true or false"), member);
  *out = json_node_get_boolean (node);
  return TRUE;
}

/* An array of strings, each passing ACCEPT (when given). */
static GStrv
get_strv (JsonObject *obj,
          const char *member,
          gboolean allow_empty,
          gboolean (*accept) (const char *),
          const char *what,
          const char *path,
          GError **error)
{
  JsonArray *array = get_array (obj, member, path, error);
  if (array == NULL)
    return NULL;

  guint n = json_array_get_length (array);
  if (n == 0 && !allow_empty)
    {
      invalid (error, path, _ ("\"%s\" must not be empty"), member);
      return NULL;
    }
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      if (!node_is_string (node))
        {
          invalid (error, path, _ ("\"%s\"[%u] must be a string"), member, i);
          return NULL;
        }
      const char *s = json_node_get_string (node);
      if (accept != NULL && !accept (s))
        {
          invalid (error, path, _ ("\"%s\"[%u] must be %s"), member, i, what);
          return NULL;
        }
      g_strv_builder_add (builder, s);
    }
  return g_strv_builder_end (builder);
}

static gboolean
is_fingerprint (const char *s)
{
  return sk_fingerprint_is_valid (s);
}

static gboolean
is_short_ascii (const char *s)
{
  gsize len = strlen (s);

  if (len == 0 || len > 64)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (s[i] < 0x21 || s[i] > 0x7E)
      return FALSE;
  return TRUE;
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
  JsonObject *keys = get_object (root, "keys", "$", error);

  if (keys == NULL || !check_members (keys, "$.keys", members, members, error))
    return FALSE;
  self->admins = get_strv (keys, "admins", self->layouts_only, is_fingerprint,
                           "a fingerprint of 40 upper-case hex digits", "$.keys", error);
  if (self->admins == NULL)
    return FALSE;

  for (SkDirection d = SK_DIRECTION_TO_INTERMEDIATE; d <= SK_DIRECTION_TO_STANDARD; d++)
    {
      const char *name = sk_direction_to_string (d);
      g_autofree char *path = g_strdup_printf ("$.keys.%s", name);
      JsonObject *dir = get_object (keys, name, "$.keys", error);
      if (dir == NULL || !check_members (dir, path, dir_members, dir_members, error))
        return FALSE;
      self->signers[d] = get_strv (dir, "signers", self->layouts_only, is_fingerprint,
                                   "a fingerprint of 40 upper-case hex digits", path, error);
      if (self->signers[d] == NULL)
        return FALSE;
      const char *recipient = get_string (dir, "recipient", path, error);
      if (recipient == NULL)
        return FALSE;
      if (!sk_fingerprint_is_valid (recipient) && !(self->layouts_only && *recipient == '\0'))
        return invalid (error, path,
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
  JsonObject *limits = get_object (root, "limits", "$", error);
  gint64 findings, files, package_size, line_length;

  if (limits == NULL || !check_members (limits, "$.limits", members, members, error))
    return FALSE;
  if (!get_int (limits, "max_findings", 1, 1000000, &findings, "$.limits", error) ||
      !get_int (limits, "max_files", 1, 1000, &files, "$.limits", error) ||
      !get_int (limits, "max_package_size", 1, G_GINT64_CONSTANT (1) << 40, &package_size,
                "$.limits", error) ||
      !get_int (limits, "max_line_length", 64, 16 * 1024 * 1024, &line_length, "$.limits", error))
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
  JsonObject *media = get_object (root, "media", "$", error);

  if (media == NULL || !check_members (media, "$.media", members, required, error))
    return FALSE;
  g_auto (GStrv) classes = get_strv (media, "classes", TRUE, is_media_class,
                                     "\"usb-storage\" or \"optical\"", "$.media", error);
  if (classes == NULL)
    return FALSE;
  /* Absent or false: import, like export, needs a registered medium. */
  if (!get_bool (media, "import_unregistered", &self->media_import_unregistered, "$.media", error))
    return FALSE;
  g_strfreev (self->media_classes);
  self->media_classes = g_steal_pointer (&classes);

  JsonArray *registered = get_array (media, "registered", "$.media", error);
  if (registered == NULL)
    return FALSE;
  for (guint i = 0; i < json_array_get_length (registered); i++)
    {
      g_autofree char *path = g_strdup_printf ("$.media.registered[%u]", i);
      JsonNode *node = json_array_get_element (registered, i);
      if (!JSON_NODE_HOLDS_OBJECT (node))
        return invalid (error, path, _ ("must be an object"));
      JsonObject *medium = json_node_get_object (node);
      if (!check_members (medium, path, medium_members, medium_members, error))
        return FALSE;
      for (guint m = 0; medium_members[m] != NULL; m++)
        if (get_string (medium, medium_members[m], path, error) == NULL)
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
  JsonObject *retention = get_object (root, "retention", "$", error);

  if (retention == NULL || !check_members (retention, "$.retention", members, members, error))
    return FALSE;
  gint64 *fields[] = {
    &self->retention.upload_minutes,          &self->retention.download_minutes,
    &self->retention.staged_days_after_close, &self->retention.inquiry_result_days,
    &self->retention.no_result_days,          &self->retention.journal_years
  };
  for (guint i = 0; members[i] != NULL; i++)
    if (!get_int (retention, members[i], 1, 100000, fields[i], "$.retention", error))
      return FALSE;
  return TRUE;
}

/* ---- layouts ----------------------------------------------------------- */

static gboolean
all_digits (const char *s)
{
  if (*s == '\0')
    return FALSE;
  for (; *s != '\0'; s++)
    if (!g_ascii_isdigit (*s))
      return FALSE;
  return TRUE;
}

static gboolean
parse_codes (JsonObject *obj,
             const char *member,
             JsonObject *labels,
             SkCodes *out,
             const char *path,
             GError **error)
{
  g_auto (GStrv) values = get_strv (obj, member, FALSE, NULL, NULL, path, error);
  if (values == NULL)
    return FALSE;

  out->n = g_strv_length (values);
  out->values = g_new0 (char *, out->n);
  out->lengths = g_new0 (gsize, out->n);
  out->labels = g_new0 (char *, out->n);
  for (guint i = 0; i < out->n; i++)
    {
      if (values[i][0] == '\0' || !g_utf8_validate (values[i], -1, NULL))
        return invalid (error, path, _ ("\"%s\"[%u] must be a non-empty string"), member, i);
      for (guint j = 0; j < i; j++)
        if (g_str_equal (out->values[j], values[i]))
          return invalid (error, path, _ ("\"%s\" lists \"%s\" twice"), member, values[i]);
      out->values[i] = g_strdup (values[i]);
      out->lengths[i] = strlen (values[i]);
      if (labels != NULL && json_object_has_member (labels, values[i]))
        {
          JsonNode *label = json_object_get_member (labels, values[i]);
          if (!node_is_string (label))
            return invalid (error, path, _ ("\"labels\" must map codes to strings"));
          out->labels[i] = g_strdup (json_node_get_string (label));
        }
    }
  if (labels != NULL)
    {
      g_autoptr (GList) names = json_object_get_members (labels);
      for (GList *l = names; l != NULL; l = l->next)
        if (!g_strv_contains ((const char *const *)values, l->data))
          return invalid (error, path, _ ("\"labels\" names \"%s\", which is not a code"),
                          (const char *)l->data);
    }
  return TRUE;
}

static gboolean
parse_condition (JsonObject *obj,
                 const char *member,
                 SkCondition *cond,
                 char **out_field_name,
                 const char *path,
                 GError **error)
{
  static const char *const members[] = { "field", "codes", NULL };
  g_autofree char *sub = g_strdup_printf ("%s.%s", path, member);
  JsonObject *c = get_object (obj, member, path, error);

  if (c == NULL || !check_members (c, sub, members, members, error))
    return FALSE;
  const char *field = get_string (c, "field", sub, error);
  if (field == NULL || !parse_codes (c, "codes", NULL, &cond->codes, sub, error))
    return FALSE;
  *out_field_name = g_strdup (field);
  return TRUE;
}

/* Names a field refers to, resolved once the whole record is read. */
typedef struct
{
  char *not_before;
  char *agrees_with;
  char *age_at;
  char *group;
  char *required_when;
  char *blank_when;
  char *count_field;
  char *sum;
} SkFieldRefs;

static void
sk_field_refs_clear (SkFieldRefs *refs)
{
  g_free (refs->not_before);
  g_free (refs->agrees_with);
  g_free (refs->age_at);
  g_free (refs->group);
  g_free (refs->required_when);
  g_free (refs->blank_when);
  g_free (refs->count_field);
  g_free (refs->sum);
}

static const struct
{
  const char *name;
  SkDateKind kind;
  guint length;
} date_kinds[] = {
  { "ymd", SK_DATE_YMD, 8 }, { "ymdhms", SK_DATE_YMDHMS, 14 }, { "wareki", SK_DATE_WAREKI, 7 },
  { "ym", SK_DATE_YM, 6 },   { "year", SK_DATE_YEAR, 4 },
};

static const struct
{
  const char *name;
  SkCheck check;
  guint length;
} check_kinds[] = {
  { "individual-number", SK_CHECK_INDIVIDUAL_NUMBER, 12 },
  { "insurer-number", SK_CHECK_INSURER_NUMBER, 8 },
  { "local-government-code", SK_CHECK_LOCAL_GOVERNMENT_CODE, 6 },
};

static const struct
{
  const char *name;
  SkHeaderRole role;
} header_roles[] = {
  { "kind", SK_HEADER_KIND }, { "lg", SK_HEADER_LG },     { "timestamp", SK_HEADER_TIMESTAMP },
  { "seq", SK_HEADER_SEQ },   { "case", SK_HEADER_CASE },
};

static const char *const contents[] = { "name",    "name-kana", "address", "text",
                                        "message", "payload",   NULL };

static SkField *
parse_field (JsonNode *node,
             SkProfile profile,
             SkRecordType rtype,
             gboolean is_last,
             gboolean *out_rest,
             SkFieldRefs *refs,
             const char *path,
             GError **error)
{
  static const char *const members[] = {
    "name",       "type",     "length",         "variable",    "optional", "blank",  "const",
    "codes",      "labels",   "halfwidth_kana", "kana",        "check",    "prefix", "date",
    "min",        "max",      "not_before",     "agrees_with", "age_min",  "age_at", "unique",
    "allow_list", "group",    "required_when",  "blank_when",  "header",   "count",  "sum",
    "content",    "personal", "echo",           NULL,
  };
  static const char *const required[] = { "name", "type", "length", NULL };

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      invalid (error, path, _ ("a field must be an object"));
      return NULL;
    }
  JsonObject *obj = json_node_get_object (node);
  if (!check_members (obj, path, members, required, error))
    return NULL;

  g_autoptr (SkField) f = g_new0 (SkField, 1);
  f->not_before = f->agrees_with = f->age_at = f->group = f->sum = -1;
  f->required_when.field = f->blank_when.field = f->count_when.field = -1;

  const char *name = get_string (obj, "name", path, error);
  if (name == NULL)
    return NULL;
  if (*name == '\0' || strlen (name) > 64 || !g_utf8_validate (name, -1, NULL))
    {
      invalid (error, path, _ ("\"name\" must be 1 to 64 bytes of UTF-8"));
      return NULL;
    }
  f->name = g_strdup (name);

  const char *type = get_string (obj, "type", path, error);
  if (type == NULL)
    return NULL;
  if (g_str_equal (type, "9"))
    f->type = SK_FIELD_DIGITS;
  else if (g_str_equal (type, "X"))
    f->type = SK_FIELD_HALF;
  else if (g_str_equal (type, "N"))
    f->type = SK_FIELD_FULL;
  else
    {
      invalid (error, path, _ ("\"type\" must be \"9\", \"X\" or \"N\""));
      return NULL;
    }

  JsonNode *length = json_object_get_member (obj, "length");
  *out_rest = FALSE;
  if (node_is_string (length) && g_str_equal (json_node_get_string (length), "rest"))
    {
      if (profile != SK_PROFILE_P1 || !is_last)
        {
          invalid (error, path, _ ("\"length\": \"rest\" is for the last field of a P1 record"));
          return NULL;
        }
      *out_rest = TRUE;
    }
  else
    {
      gint64 len;
      if (!get_int (obj, "length", 1, 65536, &len, path, error))
        return NULL;
      f->length = (guint)len;
    }

  if (!get_bool (obj, "variable", &f->variable, path, error) ||
      !get_bool (obj, "optional", &f->optional, path, error) ||
      !get_bool (obj, "blank", &f->blank, path, error) ||
      !get_bool (obj, "halfwidth_kana", &f->halfwidth_kana, path, error) ||
      !get_bool (obj, "kana", &f->kana, path, error) ||
      !get_bool (obj, "unique", &f->unique, path, error) ||
      !get_bool (obj, "personal", &f->personal, path, error))
    return NULL;

  if (f->variable && (profile != SK_PROFILE_P2 || f->type != SK_FIELD_DIGITS))
    {
      invalid (error, path, _ ("\"variable\" is for P2 fields of type 9"));
      return NULL;
    }
  if (f->type == SK_FIELD_DIGITS && profile == SK_PROFILE_P2 && f->length > 19)
    {
      invalid (error, path, _ ("a P2 field of type 9 holds at most 19 digits"));
      return NULL;
    }
  if (f->type == SK_FIELD_FULL && profile == SK_PROFILE_P1 && !*out_rest && f->length % 2 != 0)
    {
      invalid (error, path, _ ("a P1 field of type N has an even number of bytes"));
      return NULL;
    }
  if (f->halfwidth_kana && (profile != SK_PROFILE_P1 || f->type != SK_FIELD_HALF))
    {
      invalid (error, path, _ ("\"halfwidth_kana\" is for P1 fields of type X"));
      return NULL;
    }
  if (f->kana && f->type != SK_FIELD_FULL)
    {
      invalid (error, path, _ ("\"kana\" is for fields of type N"));
      return NULL;
    }
  if (f->blank && f->optional)
    {
      invalid (error, path, _ ("a field is not both \"blank\" and \"optional\""));
      return NULL;
    }

  if (json_object_has_member (obj, "const"))
    {
      const char *c = get_string (obj, "const", path, error);
      if (c == NULL)
        return NULL;
      if (f->type == SK_FIELD_FULL || !is_short_ascii (c) || strlen (c) > f->length ||
          (f->type == SK_FIELD_DIGITS && (!all_digits (c) || strlen (c) != f->length)))
        {
          invalid (error, path, _ ("\"const\" must be ASCII that fits the field"));
          return NULL;
        }
      f->const_value = g_strdup (c);
    }

  if (json_object_has_member (obj, "codes"))
    {
      JsonObject *labels = NULL;
      if (json_object_has_member (obj, "labels"))
        {
          labels = get_object (obj, "labels", path, error);
          if (labels == NULL)
            return NULL;
        }
      if (f->type == SK_FIELD_FULL && profile == SK_PROFILE_P1)
        {
          invalid (error, path, _ ("a P1 field of type N has no \"codes\""));
          return NULL;
        }
      if (!parse_codes (obj, "codes", labels, &f->codes, path, error))
        return NULL;
      for (guint i = 0; i < f->codes.n; i++)
        {
          const char *v = f->codes.values[i];
          gboolean fits = f->type == SK_FIELD_FULL ? (guint)g_utf8_strlen (v, -1) <= f->length
                          : f->type == SK_FIELD_HALF
                              ? is_short_ascii (v) && strlen (v) <= f->length
                              : all_digits (v) && (f->variable ? strlen (v) <= f->length
                                                               : strlen (v) == f->length);
          if (!fits)
            {
              invalid (error, path, _ ("code \"%s\" does not fit the field"), v);
              return NULL;
            }
        }
    }
  else if (json_object_has_member (obj, "labels"))
    {
      invalid (error, path, _ ("\"labels\" needs \"codes\""));
      return NULL;
    }

  if (json_object_has_member (obj, "check"))
    {
      const char *check = get_string (obj, "check", path, error);
      if (check == NULL)
        return NULL;
      for (gsize i = 0; i < G_N_ELEMENTS (check_kinds); i++)
        if (g_str_equal (check, check_kinds[i].name))
          {
            if (f->type != SK_FIELD_DIGITS || f->variable || f->length != check_kinds[i].length)
              {
                invalid (error, path, _ ("\"check\": \"%s\" needs a field of type 9 and length %u"),
                         check, check_kinds[i].length);
                return NULL;
              }
            f->check = check_kinds[i].check;
          }
      if (f->check == SK_CHECK_NONE)
        {
          invalid (error, path, _ ("unknown \"check\" \"%s\""), check);
          return NULL;
        }
    }

  if (json_object_has_member (obj, "prefix"))
    {
      const char *prefix = get_string (obj, "prefix", path, error);
      if (prefix == NULL)
        return NULL;
      if (f->type != SK_FIELD_DIGITS || !all_digits (prefix) || strlen (prefix) > f->length)
        {
          invalid (error, path, _ ("\"prefix\" must be digits that fit a field of type 9"));
          return NULL;
        }
      f->prefix = g_strdup (prefix);
    }

  if (json_object_has_member (obj, "date"))
    {
      const char *date = get_string (obj, "date", path, error);
      if (date == NULL)
        return NULL;
      for (gsize i = 0; i < G_N_ELEMENTS (date_kinds); i++)
        if (g_str_equal (date, date_kinds[i].name))
          {
            if (f->type != SK_FIELD_DIGITS || f->variable || f->length != date_kinds[i].length)
              {
                invalid (error, path, _ ("\"date\": \"%s\" needs a field of type 9 and length %u"),
                         date, date_kinds[i].length);
                return NULL;
              }
            f->date = date_kinds[i].kind;
          }
      if (f->date == SK_DATE_NONE)
        {
          invalid (error, path, _ ("unknown \"date\" \"%s\""), date);
          return NULL;
        }
    }

  for (int bound = 0; bound < 2; bound++)
    {
      const char *member = bound == 0 ? "min" : "max";
      if (!json_object_has_member (obj, member))
        continue;
      gint64 v;
      if (f->type != SK_FIELD_DIGITS)
        {
          invalid (error, path, _ ("\"%s\" is for fields of type 9"), member);
          return NULL;
        }
      if (!get_int (obj, member, 0, G_MAXINT64, &v, path, error))
        return NULL;
      if (bound == 0)
        f->has_min = TRUE, f->min = (guint64)v;
      else
        f->has_max = TRUE, f->max = (guint64)v;
    }
  if (f->has_min && f->has_max && f->min > f->max)
    {
      invalid (error, path, _ ("\"min\" is above \"max\""));
      return NULL;
    }

  if (json_object_has_member (obj, "not_before"))
    {
      const char *s = get_string (obj, "not_before", path, error);
      if (s == NULL)
        return NULL;
      if (f->date != SK_DATE_YMD)
        {
          invalid (error, path, _ ("\"not_before\" is for \"date\": \"ymd\" fields"));
          return NULL;
        }
      refs->not_before = g_strdup (s);
    }
  if (json_object_has_member (obj, "agrees_with"))
    {
      const char *s = get_string (obj, "agrees_with", path, error);
      if (s == NULL)
        return NULL;
      if (f->date != SK_DATE_WAREKI)
        {
          invalid (error, path, _ ("\"agrees_with\" is for \"date\": \"wareki\" fields"));
          return NULL;
        }
      refs->agrees_with = g_strdup (s);
    }
  if (json_object_has_member (obj, "age_min") || json_object_has_member (obj, "age_at"))
    {
      gint64 age;
      const char *at = get_string (obj, "age_at", path, error);
      if (at == NULL || !get_int (obj, "age_min", 0, 150, &age, path, error))
        return NULL;
      if (f->date != SK_DATE_YMD)
        {
          invalid (error, path, _ ("\"age_min\" is for \"date\": \"ymd\" fields"));
          return NULL;
        }
      f->age_min = (guint)age;
      refs->age_at = g_strdup (at);
    }

  if (json_object_has_member (obj, "allow_list"))
    {
      const char *list = get_string (obj, "allow_list", path, error);
      if (list == NULL)
        return NULL;
      if (!g_str_equal (list, "inquiry") || f->type == SK_FIELD_FULL)
        {
          invalid (error, path, _ ("\"allow_list\" must be \"inquiry\" on a field of type 9 or X"));
          return NULL;
        }
      f->allow_list_inquiry = TRUE;
    }

  if (json_object_has_member (obj, "group"))
    {
      const char *group = get_string (obj, "group", path, error);
      if (group == NULL)
        return NULL;
      if (!f->optional)
        {
          invalid (error, path, _ ("a field of a \"group\" must be \"optional\""));
          return NULL;
        }
      refs->group = g_strdup (group);
    }
  if (json_object_has_member (obj, "required_when") &&
      !parse_condition (obj, "required_when", &f->required_when, &refs->required_when, path, error))
    return NULL;
  if (json_object_has_member (obj, "blank_when") &&
      !parse_condition (obj, "blank_when", &f->blank_when, &refs->blank_when, path, error))
    return NULL;
  if ((refs->required_when != NULL || refs->blank_when != NULL) && !f->optional)
    {
      invalid (error, path, _ ("a conditional field must be \"optional\""));
      return NULL;
    }

  if (json_object_has_member (obj, "header"))
    {
      const char *role = get_string (obj, "header", path, error);
      if (role == NULL)
        return NULL;
      if (rtype != SK_RECORD_HEADER)
        {
          invalid (error, path, _ ("\"header\" is for fields of the header record"));
          return NULL;
        }
      for (gsize i = 0; i < G_N_ELEMENTS (header_roles); i++)
        if (g_str_equal (role, header_roles[i].name))
          f->header = header_roles[i].role;
      if (f->header == SK_HEADER_NONE)
        {
          invalid (error, path, _ ("unknown \"header\" \"%s\""), role);
          return NULL;
        }
      if ((f->header == SK_HEADER_KIND && (f->type != SK_FIELD_HALF || f->length != 5)) ||
          (f->header == SK_HEADER_LG && (f->type != SK_FIELD_DIGITS || f->length != 6)) ||
          (f->header == SK_HEADER_TIMESTAMP && f->date != SK_DATE_YMDHMS) ||
          (f->header == SK_HEADER_SEQ && (f->type != SK_FIELD_DIGITS || f->length != 3)) ||
          (f->header == SK_HEADER_CASE && (f->type != SK_FIELD_HALF || f->optional)))
        {
          invalid (error, path, _ ("\"header\": \"%s\" does not fit this field"), role);
          return NULL;
        }
    }

  if (json_object_has_member (obj, "count"))
    {
      if (rtype != SK_RECORD_TRAILER || f->type != SK_FIELD_DIGITS)
        {
          invalid (error, path, _ ("\"count\" is for fields of type 9 in the trailer"));
          return NULL;
        }
      JsonNode *count = json_object_get_member (obj, "count");
      if (node_is_string (count) && g_str_equal (json_node_get_string (count), "data"))
        f->count = SK_COUNT_DATA;
      else if (JSON_NODE_HOLDS_OBJECT (count))
        {
          if (!parse_condition (obj, "count", &f->count_when, &refs->count_field, path, error))
            return NULL;
          f->count = SK_COUNT_CODES;
        }
      else
        {
          invalid (error, path, _ ("\"count\" must be \"data\" or { \"field\", \"codes\" }"));
          return NULL;
        }
    }
  if (json_object_has_member (obj, "sum"))
    {
      const char *sum = get_string (obj, "sum", path, error);
      if (sum == NULL)
        return NULL;
      if (rtype != SK_RECORD_TRAILER || f->type != SK_FIELD_DIGITS)
        {
          invalid (error, path, _ ("\"sum\" is for fields of type 9 in the trailer"));
          return NULL;
        }
      refs->sum = g_strdup (sum);
    }

  if (json_object_has_member (obj, "content"))
    {
      const char *content = get_string (obj, "content", path, error);
      if (content == NULL)
        return NULL;
      if (!g_strv_contains (contents, content) || f->type == SK_FIELD_DIGITS)
        {
          invalid (error, path,
                   _ ("\"content\" must be one of name, name-kana, address, text, "
                      "message, payload on a text field"));
          return NULL;
        }
      f->content = g_strdup (content);
    }
  if (json_object_has_member (obj, "echo"))
    {
      const char *echo = get_string (obj, "echo", path, error);
      if (echo == NULL)
        return NULL;
      f->echo = g_strdup (echo);
    }

  if (f->type == SK_FIELD_DIGITS && f->length > 19 &&
      (f->has_min || f->has_max || f->count != SK_COUNT_NONE || refs->sum != NULL))
    {
      invalid (error, path, _ ("\"min\", \"max\", \"count\" and \"sum\" need at most 19 digits"));
      return NULL;
    }
  f->needs_number = f->type == SK_FIELD_DIGITS &&
                    (f->has_min || f->has_max || f->count != SK_COUNT_NONE || refs->sum != NULL);

  /* Everything that identifies or describes a person is personal data. */
  if (f->content != NULL || f->check == SK_CHECK_INDIVIDUAL_NUMBER || f->age_min > 0)
    f->personal = TRUE;

  return g_steal_pointer (&f);
}

const SkField *
_sk_record_layout_find (const SkRecordLayout *layout, const char *name)
{
  for (guint i = 0; i < layout->fields->len; i++)
    {
      const SkField *f = g_ptr_array_index (layout->fields, i);
      if (g_str_equal (f->name, name))
        return f;
    }
  return NULL;
}

static int
resolve (const SkRecordLayout *layout, const char *name, const char *path, GError **error)
{
  const SkField *f = _sk_record_layout_find (layout, name);

  if (f == NULL)
    {
      invalid (error, path, _ ("no field \"%s\" in this record"), name);
      return -1;
    }
  return (int)f->index;
}

static const char record_type_chars[SK_N_RECORDS] = { '1', '2', '8', '9' };
static const char *const record_names[SK_N_RECORDS] = { "header", "data", "trailer", "end" };

static SkRecordLayout *
parse_record (SkPolicy *self,
              JsonObject *templates,
              JsonObject *records,
              SkRecordType rtype,
              SkProfile profile,
              guint record_length,
              GPtrArray *trailer_refs_out,
              const char *kind_path,
              GError **error)
{
  const char *rname = record_names[rtype];
  g_autofree char *path = g_strdup_printf ("%s.records.%s", kind_path, rname);
  JsonNode *node = json_object_get_member (records, rname);
  JsonArray *fields = NULL;

  if (node_is_string (node))
    {
      const char *tname = json_node_get_string (node);
      JsonNode *tnode = templates != NULL ? json_object_get_member (templates, tname) : NULL;
      if (tnode == NULL || !JSON_NODE_HOLDS_ARRAY (tnode))
        {
          invalid (error, path, _ ("no template \"%s\""), tname);
          return NULL;
        }
      fields = json_node_get_array (tnode);
      g_free (path);
      path = g_strdup_printf ("$.templates.%s", tname);
    }
  else if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    fields = json_node_get_array (node);
  else
    {
      invalid (error, path, _ ("must be a template name or an array of fields"));
      return NULL;
    }

  guint n = json_array_get_length (fields);
  if (n == 0 || n > 256)
    {
      invalid (error, path, _ ("a record has 1 to 256 fields"));
      return NULL;
    }

  g_autoptr (SkRecordLayout) layout = g_new0 (SkRecordLayout, 1);
  layout->type = rtype;
  layout->type_char = record_type_chars[rtype];
  layout->fields = g_ptr_array_new_with_free_func ((GDestroyNotify)sk_field_free);
  g_autofree SkFieldRefs *refs = g_new0 (SkFieldRefs, n);
  g_autoptr (GPtrArray) group_names = g_ptr_array_new_with_free_func (g_free);
  guint offset = 0;
  gboolean ok = TRUE;

  for (guint i = 0; i < n && ok; i++)
    {
      g_autofree char *fpath = g_strdup_printf ("%s[%u]", path, i);
      gboolean rest = FALSE;
      SkField *f = parse_field (json_array_get_element (fields, i), profile, rtype, i == n - 1,
                                &rest, &refs[i], fpath, error);
      if (f == NULL)
        {
          ok = FALSE;
          break;
        }
      f->index = i;
      g_ptr_array_add (layout->fields, f);
      if (_sk_record_layout_find (layout, f->name) != f)
        ok = invalid (error, fpath, _ ("a second field named \"%s\""), f->name);
      if (profile == SK_PROFILE_P1)
        {
          if (rest)
            {
              if (offset >= record_length - 2)
                ok = ok && invalid (error, fpath, _ ("no bytes are left for \"rest\""));
              else
                f->length = record_length - 2 - offset;
              if (f->type == SK_FIELD_FULL && f->length % 2 != 0)
                ok = ok && invalid (error, fpath, _ ("an N field has an even number of bytes"));
            }
          f->offset = offset;
          offset += f->length;
        }
    }

  if (ok && profile == SK_PROFILE_P1 && offset != record_length - 2)
    ok = invalid (error, path, _ ("the fields take %u bytes; the record has %u before CR LF"),
                  offset, record_length - 2);

  if (ok)
    {
      const SkField *first = g_ptr_array_index (layout->fields, 0);
      if (!g_str_equal (first->name, "レコード種別") || first->type != SK_FIELD_HALF ||
          first->length != 1 || first->const_value == NULL ||
          first->const_value[0] != layout->type_char)
        ok = invalid (error, path,
                      _ ("the first field must be レコード種別, X, length 1, \"const\": \"%c\""),
                      layout->type_char);
    }

  /* Resolve names within the record. */
  for (guint i = 0; ok && i < layout->fields->len; i++)
    {
      SkField *f = g_ptr_array_index (layout->fields, i);
      SkFieldRefs *r = &refs[i];
      g_autofree char *fpath = g_strdup_printf ("%s[%u]", path, i);

      if (r->not_before != NULL)
        {
          f->not_before = resolve (layout, r->not_before, fpath, error);
          const SkField *t =
              f->not_before >= 0 ? g_ptr_array_index (layout->fields, f->not_before) : NULL;
          if (t == NULL || t->date != SK_DATE_YMD)
            ok = t == NULL ? FALSE : invalid (error, fpath, _ ("\"not_before\" needs a ymd field"));
        }
      if (ok && r->agrees_with != NULL)
        {
          f->agrees_with = resolve (layout, r->agrees_with, fpath, error);
          const SkField *t =
              f->agrees_with >= 0 ? g_ptr_array_index (layout->fields, f->agrees_with) : NULL;
          if (t == NULL || t->date != SK_DATE_YMD)
            ok =
                t == NULL ? FALSE : invalid (error, fpath, _ ("\"agrees_with\" needs a ymd field"));
        }
      if (ok && r->age_at != NULL)
        {
          f->age_at = resolve (layout, r->age_at, fpath, error);
          const SkField *t = f->age_at >= 0 ? g_ptr_array_index (layout->fields, f->age_at) : NULL;
          if (t == NULL || t->date != SK_DATE_YMD)
            ok = t == NULL ? FALSE : invalid (error, fpath, _ ("\"age_at\" needs a ymd field"));
        }
      if (ok && r->required_when != NULL)
        ok = (f->required_when.field = resolve (layout, r->required_when, fpath, error)) >= 0;
      if (ok && r->blank_when != NULL)
        ok = (f->blank_when.field = resolve (layout, r->blank_when, fpath, error)) >= 0;
      if (ok && r->group != NULL)
        {
          guint g;
          for (g = 0; g < group_names->len; g++)
            if (g_str_equal (g_ptr_array_index (group_names, g), r->group))
              break;
          if (g == group_names->len)
            g_ptr_array_add (group_names, g_strdup (r->group));
          f->group = (int)g;
        }
    }
  layout->n_groups = group_names->len;

  /* The trailer's count and sum name fields of the data record: hand the
   * names to the caller, two per field (count field, sum field; NULL when
   * unset), to resolve once the data record is known. */
  if (ok && rtype == SK_RECORD_TRAILER)
    for (guint i = 0; i < n; i++)
      {
        g_ptr_array_add (trailer_refs_out, g_strdup (refs[i].count_field));
        g_ptr_array_add (trailer_refs_out, g_strdup (refs[i].sum));
      }

  for (guint i = 0; i < n; i++)
    sk_field_refs_clear (&refs[i]);
  if (!ok)
    return NULL;
  return g_steal_pointer (&layout);
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
      invalid (error, "$.kinds",
               _ ("kind id \"%s\" must be three upper-case letters and two digits"), id);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      invalid (error, path, _ ("must be an object"));
      return NULL;
    }
  JsonObject *obj = json_node_get_object (node);
  if (!check_members (obj, path, members, required, error))
    return NULL;

  g_autoptr (SkKind) kind = g_new0 (SkKind, 1);
  kind->id = g_strdup (id);

  const char *title = get_string (obj, "title", path, error);
  const char *direction = title ? get_string (obj, "direction", path, error) : NULL;
  const char *workflow = direction ? get_string (obj, "workflow", path, error) : NULL;
  const char *profile = workflow ? get_string (obj, "profile", path, error) : NULL;
  const char *pattern = profile ? get_string (obj, "name_pattern", path, error) : NULL;
  if (pattern == NULL)
    return NULL;
  kind->title = g_strdup (title);

  if (g_str_equal (direction, "to-intermediate"))
    kind->direction = SK_DIRECTION_TO_INTERMEDIATE;
  else if (g_str_equal (direction, "to-standard"))
    kind->direction = SK_DIRECTION_TO_STANDARD;
  else
    {
      invalid (error, path, _ ("\"direction\" must be \"to-intermediate\" or \"to-standard\""));
      return NULL;
    }
  if (!g_strv_contains (workflows, workflow))
    {
      invalid (error, path, _ ("\"workflow\" must be subscriber, duplicate, inquiry or identity"));
      return NULL;
    }
  kind->workflow = g_strdup (workflow);
  if (g_str_equal (profile, "P1"))
    kind->profile = SK_PROFILE_P1;
  else if (g_str_equal (profile, "P2"))
    kind->profile = SK_PROFILE_P2;
  else
    {
      invalid (error, path, _ ("\"profile\" must be \"P1\" or \"P2\""));
      return NULL;
    }

  /* The pattern is anchored at both ends and names its parts. */
  gsize plen = strlen (pattern);
  if (plen < 2 || pattern[0] != '^' || pattern[plen - 1] != '$')
    {
      invalid (error, path, _ ("\"name_pattern\" must be anchored with ^ and $"));
      return NULL;
    }
  g_autoptr (GError) local_error = NULL;
  /* DOLLAR_ENDONLY: "$" must not match before a trailing newline, or
   * "NAME.DAT\n" would pass as NAME.DAT. */
  kind->name_regex =
      g_regex_new (pattern, G_REGEX_OPTIMIZE | G_REGEX_DOLLAR_ENDONLY, 0, &local_error);
  if (kind->name_regex == NULL)
    {
      invalid (error, path, _ ("\"name_pattern\": %s"), local_error->message);
      return NULL;
    }
  static const char *const parts[] = { "lg", "id", "ts", "seq" };
  for (gsize i = 0; i < G_N_ELEMENTS (parts); i++)
    if (g_regex_get_string_number (kind->name_regex, parts[i]) < 0)
      {
        invalid (error, path, _ ("\"name_pattern\" has no group (?<%s>…)"), parts[i]);
        return NULL;
      }
  kind->name_pattern = g_strdup (pattern);

  if (json_object_has_member (obj, "pairs_with"))
    {
      kind->pairs_with = get_strv (obj, "pairs_with", FALSE, is_kind_id, "a kind id", path, error);
      if (kind->pairs_with == NULL)
        return NULL;
      if (kind->direction != SK_DIRECTION_TO_INTERMEDIATE)
        {
          invalid (error, path, _ ("only requests (to-intermediate) have \"pairs_with\""));
          return NULL;
        }
    }
  kind->pair_key = get_strv (obj, "pair_key", FALSE, NULL, NULL, path, error);
  if (kind->pair_key == NULL)
    return NULL;

  gint64 max_records, max_size, record_length = 0;
  if (!get_int (obj, "max_records", 1, 100000000, &max_records, path, error) ||
      !get_int (obj, "max_size", 1, G_GINT64_CONSTANT (1) << 40, &max_size, path, error))
    return NULL;
  kind->max_records = (guint64)max_records;
  kind->max_size = (guint64)max_size;
  if (kind->profile == SK_PROFILE_P1)
    {
      if (!get_int (obj, "record_length", 3, 65536, &record_length, path, error))
        return NULL;
    }
  else if (json_object_has_member (obj, "record_length"))
    {
      invalid (error, path, _ ("\"record_length\" is for P1 kinds"));
      return NULL;
    }
  kind->record_length = (guint)record_length;

  JsonObject *records = get_object (obj, "records", path, error);
  g_autofree char *rpath = g_strdup_printf ("%s.records", path);
  if (records == NULL || !check_members (records, rpath, record_members, record_members, error))
    return NULL;

  g_autoptr (GPtrArray) trailer_refs = g_ptr_array_new_with_free_func (g_free);
  for (SkRecordType t = SK_RECORD_HEADER; t < SK_N_RECORDS; t++)
    {
      kind->records[t] = parse_record (self, templates, records, t, kind->profile,
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
      invalid (error, path, _ ("the header needs fields with \"header\": \"kind\" and \"case\""));
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
          f->count_when.field = resolve (data, count_name, fpath, error);
          if (f->count_when.field < 0)
            return NULL;
        }
      if (sum_name != NULL)
        {
          f->sum = resolve (data, sum_name, fpath, error);
          if (f->sum < 0)
            return NULL;
          SkField *summed = g_ptr_array_index (data->fields, f->sum);
          summed->needs_number = TRUE;
          if (summed->type != SK_FIELD_DIGITS || summed->length > 18)
            {
              invalid (error, fpath,
                       _ ("\"sum\" needs a data field of type 9 of at most 18 digits"));
              return NULL;
            }
        }
    }

  kind->n_pair_key = g_strv_length (kind->pair_key);
  kind->pair_key_index = g_new0 (int, kind->n_pair_key);
  for (guint i = 0; i < kind->n_pair_key; i++)
    {
      kind->pair_key_index[i] = resolve (data, kind->pair_key[i], path, error);
      if (kind->pair_key_index[i] < 0)
        return NULL;
      const SkField *f = g_ptr_array_index (data->fields, kind->pair_key_index[i]);
      if (f->type == SK_FIELD_FULL)
        {
          invalid (error, path, _ ("\"pair_key\" fields are of type 9 or X"));
          return NULL;
        }
    }
  return g_steal_pointer (&kind);
}

static gboolean
parse_kinds (SkPolicy *self, JsonObject *root, GError **error)
{
  JsonObject *kinds = get_object (root, "kinds", "$", error);
  JsonObject *templates = NULL;

  if (kinds == NULL)
    return FALSE;
  if (json_object_has_member (root, "templates"))
    {
      templates = get_object (root, "templates", "$", error);
      if (templates == NULL)
        return FALSE;
    }

  g_autoptr (GList) ids = json_object_get_members (kinds);
  if (ids == NULL)
    return invalid (error, "$.kinds", _ ("must describe at least one kind"));
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
            return invalid (error, path, _ ("\"pairs_with\" names unknown kind %s"),
                            request->pairs_with[j]);
          if (result->direction != SK_DIRECTION_TO_STANDARD ||
              !g_str_equal (result->workflow, request->workflow))
            return invalid (error, path, _ ("%s must be a to-standard result of the same workflow"),
                            result->id);
          if (result->n_pair_key != request->n_pair_key)
            return invalid (error, path, _ ("%s's \"pair_key\" must have as many fields"),
                            result->id);
          const SkRecordLayout *rdata = result->records[SK_RECORD_DATA];
          for (guint k = 0; k < rdata->fields->len; k++)
            {
              const SkField *f = g_ptr_array_index (rdata->fields, k);
              if (f->echo != NULL &&
                  _sk_record_layout_find (request->records[SK_RECORD_DATA], f->echo) == NULL)
                return invalid (error, path, _ ("%s.%s echoes \"%s\", which %s does not have"),
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
    return invalid (error, "$", _ ("the policy must be a JSON object"));
  JsonObject *root = json_node_get_object (root_node);
  if (!check_members (root, "$", members, required, error))
    return FALSE;

  const char *format = get_string (root, "format", "$", error);
  if (format == NULL)
    return FALSE;
  if (!g_str_equal (format, "sekisho-policy/1"))
    return invalid (error, "$", _ ("\"format\" must be \"sekisho-policy/1\""));
  if (!get_int (root, "serial", 1, G_MAXINT64, &self->serial, "$", error))
    return FALSE;
  const char *issued = get_string (root, "issued_at", "$", error);
  if (issued == NULL)
    return FALSE;
  g_autoptr (GDateTime) issued_dt = g_date_time_new_from_iso8601 (issued, NULL);
  if (issued_dt == NULL || !g_str_has_suffix (issued, "Z"))
    return invalid (error, "$", _ ("\"issued_at\" must be an RFC 3339 time in UTC"));
  if (json_object_has_member (root, "description") &&
      get_string (root, "description", "$", error) == NULL)
    return FALSE;

  if (!parse_keys (self, root, error) || !parse_limits (self, root, error) ||
      !parse_media (self, root, error) || !parse_retention (self, root, error) ||
      !parse_kinds (self, root, error))
    return FALSE;

  /* Rotation of the pinned administrator: the successor must be one of the
   * policy's own admins, or the next policy it signs could never load. */
  if (json_object_has_member (root, "admin_successor"))
    {
      const char *successor = get_string (root, "admin_successor", "$", error);
      if (successor == NULL)
        return FALSE;
      if (!is_fingerprint (successor))
        return invalid (error, "$",
                        _ ("\"admin_successor\" must be a fingerprint of 40 upper-case "
                           "hex digits"));
      if (!g_strv_contains ((const char *const *)self->admins, successor))
        return invalid (error, "$", _ ("\"admin_successor\" %s is not listed in keys.admins"),
                        successor);
      self->admin_successor = g_strdup (successor);
    }

  self->dual_control = get_strv (root, "dual_control", TRUE, is_kind_id, "a kind id", "$", error);
  if (self->dual_control == NULL)
    return FALSE;
  for (guint i = 0; self->dual_control[i] != NULL; i++)
    if (sk_policy_lookup_kind (self, self->dual_control[i]) == NULL)
      return invalid (error, "$.dual_control", _ ("unknown kind %s"), self->dual_control[i]);

  g_auto (GStrv) allow = get_strv (root, "inquiry_allow_list", TRUE, is_short_ascii,
                                   "1 to 64 printable ASCII characters", "$", error);
  if (allow == NULL)
    return FALSE;
  for (guint i = 0; allow[i] != NULL; i++)
    g_hash_table_add (self->inquiry_allow, g_strdup (allow[i]));
  return TRUE;
}

/* json-glib's parser recurses once per level of nesting, so a document
 * nested deeply enough (some 100 000 levels, 200 KB) exhausts the stack
 * before any error is reported.  Count the depth first, outside
 * double-quoted strings; single quotes and comments, which json-glib also
 * accepts, are refused so that no bracket can hide from the count. */
#define SK_POLICY_MAX_DEPTH 64

/* The 4 hex digits of a \u escape at DATA[I..I+3], as a UTF-16 code unit,
 * or -1. */
static gint
escape_unit (const char *data, gsize len, gsize i)
{
  if (i + 4 > len)
    return -1;
  gint unit = 0;
  for (gsize k = i; k < i + 4; k++)
    {
      gint d = g_ascii_xdigit_value (data[k]);
      if (d < 0)
        return -1;
      unit = unit * 16 + d;
    }
  return unit;
}

/* The escape that starts at DATA[I] (just after a backslash) is one JSON
 * allows, with a high surrogate always followed by its low one.  json-glib
 * 1.6 leaks its string buffer on a broken \u escape (found by
 * fuzz-manifest: "\ud8" followed by a quote); such a document never
 * reaches it.  Returns the index of the escape's last byte, or 0. */
static gsize
escape_end (const char *data, gsize len, gsize i)
{
  if (i >= len)
    return 0;
  if (strchr ("\"\\/bfnrt", data[i]) != NULL && data[i] != '\0')
    return i;
  if (data[i] != 'u')
    return 0;
  /* U+0000 too: a C string would end there, and two readers of the same
   * name would read two names. */
  gint unit = escape_unit (data, len, i + 1);
  if (unit <= 0 || (unit >= 0xDC00 && unit <= 0xDFFF))
    return 0;
  if (unit < 0xD800 || unit > 0xDBFF)
    return i + 4;
  /* A high surrogate: its low half must follow at once. */
  if (i + 6 >= len || data[i + 5] != '\\' || data[i + 6] != 'u')
    return 0;
  gint low = escape_unit (data, len, i + 7);
  if (low < 0xDC00 || low > 0xDFFF)
    return 0;
  return i + 10;
}

gboolean
_sk_json_nesting_ok (const char *data, gsize len)
{
  guint depth = 0;
  gboolean in_string = FALSE;
  gboolean seen_value = FALSE; /* a top-level value began */
  gboolean in_scalar = FALSE;  /* inside a top-level number or literal */

  for (gsize i = 0; i < len; i++)
    {
      char c = data[i];
      if (in_string)
        {
          if (c == '\\' && (i = escape_end (data, len, i + 1)) == 0)
            return FALSE;
          else if (c == '"')
            in_string = FALSE;
          else if ((guchar)c < 0x20)
            return FALSE; /* a raw control character: JSON has none */
          continue;
        }
      if (c == '\'' || c == '/' || c == '#')
        return FALSE;
      gboolean space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
      if (depth == 0 && !space && !in_scalar)
        {
          /* One document, one value: json-glib would read a second one
           * and leak the first. */
          if (seen_value)
            return FALSE;
          seen_value = TRUE;
          in_scalar = c != '"' && c != '{' && c != '[';
        }
      else if (depth == 0 && in_scalar && (space || c == '"' || c == '{' || c == '['))
        {
          if (!space)
            return FALSE;
          in_scalar = FALSE;
          continue;
        }
      switch (c)
        {
        case '"':
          in_string = TRUE;
          break;
        case '[':
        case '{':
          if (++depth > SK_POLICY_MAX_DEPTH)
            return FALSE;
          break;
        case ']':
        case '}':
          if (depth > 0)
            depth--;
          break;
        default:
          break;
        }
    }
  return seen_value;
}

/* Members in the text: each ':' outside a string separates a member's name
 * from its value. */
static guint64
text_members (const char *data, gsize len)
{
  guint64 n = 0;
  gboolean in_string = FALSE;
  for (gsize i = 0; i < len; i++)
    {
      if (in_string)
        {
          if (data[i] == '\\')
            i++;
          else if (data[i] == '"')
            in_string = FALSE;
        }
      else if (data[i] == '"')
        in_string = TRUE;
      else if (data[i] == ':')
        n++;
    }
  return n;
}

static guint64
tree_members (JsonNode *node)
{
  guint64 n = 0;
  if (node == NULL)
    return 0;
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *obj = json_node_get_object (node);
      g_autoptr (GList) values = json_object_get_values (obj);
      n += json_object_get_size (obj);
      for (GList *l = values; l != NULL; l = l->next)
        n += tree_members (l->data);
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (array); i++)
        n += tree_members (json_array_get_element (array, i));
    }
  return n;
}

gboolean
_sk_json_members_unique (const char *data, gsize len, JsonNode *root)
{
  return text_members (data, len) == tree_members (root);
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
                   SK_POLICY_MAX_DEPTH);
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
