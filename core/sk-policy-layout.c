/* sk-policy-layout.c — compile a kind's record layouts from the policy */
#define G_LOG_DOMAIN "sekisho-policy"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "sk-error.h"
#include "sk-policy-layout.h"
#include "sk-policy-schema.h"

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

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkField, sk_field_free)

void
_sk_record_layout_free (SkRecordLayout *layout)
{
  g_ptr_array_unref (layout->fields);
  g_free (layout);
}

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
  g_auto (GStrv) values = _sk_schema_get_strv (obj, member, FALSE, NULL, NULL, path, error);
  if (values == NULL)
    return FALSE;

  out->n = g_strv_length (values);
  out->values = g_new0 (char *, out->n);
  out->lengths = g_new0 (gsize, out->n);
  out->labels = g_new0 (char *, out->n);
  for (guint i = 0; i < out->n; i++)
    {
      if (values[i][0] == '\0' || !g_utf8_validate (values[i], -1, NULL))
        return _sk_schema_invalid (error, path, _ ("\"%s\"[%u] must be a non-empty string"), member,
                                   i);
      for (guint j = 0; j < i; j++)
        if (g_str_equal (out->values[j], values[i]))
          return _sk_schema_invalid (error, path, _ ("\"%s\" lists \"%s\" twice"), member,
                                     values[i]);
      out->values[i] = g_strdup (values[i]);
      out->lengths[i] = strlen (values[i]);
      if (labels != NULL && json_object_has_member (labels, values[i]))
        {
          JsonNode *label = json_object_get_member (labels, values[i]);
          if (!_sk_schema_node_is_string (label))
            return _sk_schema_invalid (error, path, _ ("\"labels\" must map codes to strings"));
          out->labels[i] = g_strdup (json_node_get_string (label));
        }
    }
  if (labels != NULL)
    {
      g_autoptr (GList) names = json_object_get_members (labels);
      for (GList *l = names; l != NULL; l = l->next)
        if (!g_strv_contains ((const char *const *)values, l->data))
          return _sk_schema_invalid (error, path,
                                     _ ("\"labels\" names \"%s\", which is not a code"),
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
  JsonObject *c = _sk_schema_get_object (obj, member, path, error);

  if (c == NULL || !_sk_schema_check_members (c, sub, members, members, error))
    return FALSE;
  const char *field = _sk_schema_get_string (c, "field", sub, error);
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
      _sk_schema_invalid (error, path, _ ("a field must be an object"));
      return NULL;
    }
  JsonObject *obj = json_node_get_object (node);
  if (!_sk_schema_check_members (obj, path, members, required, error))
    return NULL;

  g_autoptr (SkField) f = g_new0 (SkField, 1);
  f->not_before = f->agrees_with = f->age_at = f->group = f->sum = -1;
  f->required_when.field = f->blank_when.field = f->count_when.field = -1;

  const char *name = _sk_schema_get_string (obj, "name", path, error);
  if (name == NULL)
    return NULL;
  if (*name == '\0' || strlen (name) > 64 || !g_utf8_validate (name, -1, NULL))
    {
      _sk_schema_invalid (error, path, _ ("\"name\" must be 1 to 64 bytes of UTF-8"));
      return NULL;
    }
  f->name = g_strdup (name);

  const char *type = _sk_schema_get_string (obj, "type", path, error);
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
      _sk_schema_invalid (error, path, _ ("\"type\" must be \"9\", \"X\" or \"N\""));
      return NULL;
    }

  JsonNode *length = json_object_get_member (obj, "length");
  *out_rest = FALSE;
  if (_sk_schema_node_is_string (length) && g_str_equal (json_node_get_string (length), "rest"))
    {
      if (profile != SK_PROFILE_P1 || !is_last)
        {
          _sk_schema_invalid (error, path,
                              _ ("\"length\": \"rest\" is for the last field of a P1 record"));
          return NULL;
        }
      *out_rest = TRUE;
    }
  else
    {
      gint64 len;
      if (!_sk_schema_get_int (obj, "length", 1, 65536, &len, path, error))
        return NULL;
      f->length = (guint)len;
    }

  if (!_sk_schema_get_bool (obj, "variable", &f->variable, path, error) ||
      !_sk_schema_get_bool (obj, "optional", &f->optional, path, error) ||
      !_sk_schema_get_bool (obj, "blank", &f->blank, path, error) ||
      !_sk_schema_get_bool (obj, "halfwidth_kana", &f->halfwidth_kana, path, error) ||
      !_sk_schema_get_bool (obj, "kana", &f->kana, path, error) ||
      !_sk_schema_get_bool (obj, "unique", &f->unique, path, error) ||
      !_sk_schema_get_bool (obj, "personal", &f->personal, path, error))
    return NULL;

  if (f->variable && (profile != SK_PROFILE_P2 || f->type != SK_FIELD_DIGITS))
    {
      _sk_schema_invalid (error, path, _ ("\"variable\" is for P2 fields of type 9"));
      return NULL;
    }
  if (f->type == SK_FIELD_DIGITS && profile == SK_PROFILE_P2 && f->length > 19)
    {
      _sk_schema_invalid (error, path, _ ("a P2 field of type 9 holds at most 19 digits"));
      return NULL;
    }
  if (f->type == SK_FIELD_FULL && profile == SK_PROFILE_P1 && !*out_rest && f->length % 2 != 0)
    {
      _sk_schema_invalid (error, path, _ ("a P1 field of type N has an even number of bytes"));
      return NULL;
    }
  if (f->halfwidth_kana && (profile != SK_PROFILE_P1 || f->type != SK_FIELD_HALF))
    {
      _sk_schema_invalid (error, path, _ ("\"halfwidth_kana\" is for P1 fields of type X"));
      return NULL;
    }
  if (f->kana && f->type != SK_FIELD_FULL)
    {
      _sk_schema_invalid (error, path, _ ("\"kana\" is for fields of type N"));
      return NULL;
    }
  if (f->blank && f->optional)
    {
      _sk_schema_invalid (error, path, _ ("a field is not both \"blank\" and \"optional\""));
      return NULL;
    }

  if (json_object_has_member (obj, "const"))
    {
      const char *c = _sk_schema_get_string (obj, "const", path, error);
      if (c == NULL)
        return NULL;
      if (f->type == SK_FIELD_FULL || !_sk_schema_is_short_ascii (c) || strlen (c) > f->length ||
          (f->type == SK_FIELD_DIGITS && (!all_digits (c) || strlen (c) != f->length)))
        {
          _sk_schema_invalid (error, path, _ ("\"const\" must be ASCII that fits the field"));
          return NULL;
        }
      f->const_value = g_strdup (c);
    }

  if (json_object_has_member (obj, "codes"))
    {
      JsonObject *labels = NULL;
      if (json_object_has_member (obj, "labels"))
        {
          labels = _sk_schema_get_object (obj, "labels", path, error);
          if (labels == NULL)
            return NULL;
        }
      if (f->type == SK_FIELD_FULL && profile == SK_PROFILE_P1)
        {
          _sk_schema_invalid (error, path, _ ("a P1 field of type N has no \"codes\""));
          return NULL;
        }
      if (!parse_codes (obj, "codes", labels, &f->codes, path, error))
        return NULL;
      for (guint i = 0; i < f->codes.n; i++)
        {
          const char *v = f->codes.values[i];
          gboolean fits = f->type == SK_FIELD_FULL ? (guint)g_utf8_strlen (v, -1) <= f->length
                          : f->type == SK_FIELD_HALF
                              ? _sk_schema_is_short_ascii (v) && strlen (v) <= f->length
                              : all_digits (v) && (f->variable ? strlen (v) <= f->length
                                                               : strlen (v) == f->length);
          if (!fits)
            {
              _sk_schema_invalid (error, path, _ ("code \"%s\" does not fit the field"), v);
              return NULL;
            }
        }
    }
  else if (json_object_has_member (obj, "labels"))
    {
      _sk_schema_invalid (error, path, _ ("\"labels\" needs \"codes\""));
      return NULL;
    }

  if (json_object_has_member (obj, "check"))
    {
      const char *check = _sk_schema_get_string (obj, "check", path, error);
      if (check == NULL)
        return NULL;
      for (gsize i = 0; i < G_N_ELEMENTS (check_kinds); i++)
        if (g_str_equal (check, check_kinds[i].name))
          {
            if (f->type != SK_FIELD_DIGITS || f->variable || f->length != check_kinds[i].length)
              {
                _sk_schema_invalid (error, path,
                                    _ ("\"check\": \"%s\" needs a field of type 9 and length %u"),
                                    check, check_kinds[i].length);
                return NULL;
              }
            f->check = check_kinds[i].check;
          }
      if (f->check == SK_CHECK_NONE)
        {
          _sk_schema_invalid (error, path, _ ("unknown \"check\" \"%s\""), check);
          return NULL;
        }
    }

  if (json_object_has_member (obj, "prefix"))
    {
      const char *prefix = _sk_schema_get_string (obj, "prefix", path, error);
      if (prefix == NULL)
        return NULL;
      if (f->type != SK_FIELD_DIGITS || !all_digits (prefix) || strlen (prefix) > f->length)
        {
          _sk_schema_invalid (error, path,
                              _ ("\"prefix\" must be digits that fit a field of type 9"));
          return NULL;
        }
      f->prefix = g_strdup (prefix);
    }

  if (json_object_has_member (obj, "date"))
    {
      const char *date = _sk_schema_get_string (obj, "date", path, error);
      if (date == NULL)
        return NULL;
      for (gsize i = 0; i < G_N_ELEMENTS (date_kinds); i++)
        if (g_str_equal (date, date_kinds[i].name))
          {
            if (f->type != SK_FIELD_DIGITS || f->variable || f->length != date_kinds[i].length)
              {
                _sk_schema_invalid (error, path,
                                    _ ("\"date\": \"%s\" needs a field of type 9 and length %u"),
                                    date, date_kinds[i].length);
                return NULL;
              }
            f->date = date_kinds[i].kind;
          }
      if (f->date == SK_DATE_NONE)
        {
          _sk_schema_invalid (error, path, _ ("unknown \"date\" \"%s\""), date);
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
          _sk_schema_invalid (error, path, _ ("\"%s\" is for fields of type 9"), member);
          return NULL;
        }
      if (!_sk_schema_get_int (obj, member, 0, G_MAXINT64, &v, path, error))
        return NULL;
      if (bound == 0)
        f->has_min = TRUE, f->min = (guint64)v;
      else
        f->has_max = TRUE, f->max = (guint64)v;
    }
  if (f->has_min && f->has_max && f->min > f->max)
    {
      _sk_schema_invalid (error, path, _ ("\"min\" is above \"max\""));
      return NULL;
    }

  if (json_object_has_member (obj, "not_before"))
    {
      const char *s = _sk_schema_get_string (obj, "not_before", path, error);
      if (s == NULL)
        return NULL;
      if (f->date != SK_DATE_YMD)
        {
          _sk_schema_invalid (error, path, _ ("\"not_before\" is for \"date\": \"ymd\" fields"));
          return NULL;
        }
      refs->not_before = g_strdup (s);
    }
  if (json_object_has_member (obj, "agrees_with"))
    {
      const char *s = _sk_schema_get_string (obj, "agrees_with", path, error);
      if (s == NULL)
        return NULL;
      if (f->date != SK_DATE_WAREKI)
        {
          _sk_schema_invalid (error, path,
                              _ ("\"agrees_with\" is for \"date\": \"wareki\" fields"));
          return NULL;
        }
      refs->agrees_with = g_strdup (s);
    }
  if (json_object_has_member (obj, "age_min") || json_object_has_member (obj, "age_at"))
    {
      gint64 age;
      const char *at = _sk_schema_get_string (obj, "age_at", path, error);
      if (at == NULL || !_sk_schema_get_int (obj, "age_min", 0, 150, &age, path, error))
        return NULL;
      if (f->date != SK_DATE_YMD)
        {
          _sk_schema_invalid (error, path, _ ("\"age_min\" is for \"date\": \"ymd\" fields"));
          return NULL;
        }
      f->age_min = (guint)age;
      refs->age_at = g_strdup (at);
    }

  if (json_object_has_member (obj, "allow_list"))
    {
      const char *list = _sk_schema_get_string (obj, "allow_list", path, error);
      if (list == NULL)
        return NULL;
      if (!g_str_equal (list, "inquiry") || f->type == SK_FIELD_FULL)
        {
          _sk_schema_invalid (error, path,
                              _ ("\"allow_list\" must be \"inquiry\" on a field of type 9 or X"));
          return NULL;
        }
      f->allow_list_inquiry = TRUE;
    }

  if (json_object_has_member (obj, "group"))
    {
      const char *group = _sk_schema_get_string (obj, "group", path, error);
      if (group == NULL)
        return NULL;
      if (!f->optional)
        {
          _sk_schema_invalid (error, path, _ ("a field of a \"group\" must be \"optional\""));
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
      _sk_schema_invalid (error, path, _ ("a conditional field must be \"optional\""));
      return NULL;
    }

  if (json_object_has_member (obj, "header"))
    {
      const char *role = _sk_schema_get_string (obj, "header", path, error);
      if (role == NULL)
        return NULL;
      if (rtype != SK_RECORD_HEADER)
        {
          _sk_schema_invalid (error, path, _ ("\"header\" is for fields of the header record"));
          return NULL;
        }
      for (gsize i = 0; i < G_N_ELEMENTS (header_roles); i++)
        if (g_str_equal (role, header_roles[i].name))
          f->header = header_roles[i].role;
      if (f->header == SK_HEADER_NONE)
        {
          _sk_schema_invalid (error, path, _ ("unknown \"header\" \"%s\""), role);
          return NULL;
        }
      if ((f->header == SK_HEADER_KIND && (f->type != SK_FIELD_HALF || f->length != 5)) ||
          (f->header == SK_HEADER_LG && (f->type != SK_FIELD_DIGITS || f->length != 6)) ||
          (f->header == SK_HEADER_TIMESTAMP && f->date != SK_DATE_YMDHMS) ||
          (f->header == SK_HEADER_SEQ && (f->type != SK_FIELD_DIGITS || f->length != 3)) ||
          (f->header == SK_HEADER_CASE && (f->type != SK_FIELD_HALF || f->optional)))
        {
          _sk_schema_invalid (error, path, _ ("\"header\": \"%s\" does not fit this field"), role);
          return NULL;
        }
    }

  if (json_object_has_member (obj, "count"))
    {
      if (rtype != SK_RECORD_TRAILER || f->type != SK_FIELD_DIGITS)
        {
          _sk_schema_invalid (error, path, _ ("\"count\" is for fields of type 9 in the trailer"));
          return NULL;
        }
      JsonNode *count = json_object_get_member (obj, "count");
      if (_sk_schema_node_is_string (count) && g_str_equal (json_node_get_string (count), "data"))
        f->count = SK_COUNT_DATA;
      else if (JSON_NODE_HOLDS_OBJECT (count))
        {
          if (!parse_condition (obj, "count", &f->count_when, &refs->count_field, path, error))
            return NULL;
          f->count = SK_COUNT_CODES;
        }
      else
        {
          _sk_schema_invalid (error, path,
                              _ ("\"count\" must be \"data\" or { \"field\", \"codes\" }"));
          return NULL;
        }
    }
  if (json_object_has_member (obj, "sum"))
    {
      const char *sum = _sk_schema_get_string (obj, "sum", path, error);
      if (sum == NULL)
        return NULL;
      if (rtype != SK_RECORD_TRAILER || f->type != SK_FIELD_DIGITS)
        {
          _sk_schema_invalid (error, path, _ ("\"sum\" is for fields of type 9 in the trailer"));
          return NULL;
        }
      refs->sum = g_strdup (sum);
    }

  if (json_object_has_member (obj, "content"))
    {
      const char *content = _sk_schema_get_string (obj, "content", path, error);
      if (content == NULL)
        return NULL;
      if (!g_strv_contains (contents, content) || f->type == SK_FIELD_DIGITS)
        {
          _sk_schema_invalid (error, path,
                              _ ("\"content\" must be one of name, name-kana, address, text, "
                                 "message, payload on a text field"));
          return NULL;
        }
      f->content = g_strdup (content);
    }
  if (json_object_has_member (obj, "echo"))
    {
      const char *echo = _sk_schema_get_string (obj, "echo", path, error);
      if (echo == NULL)
        return NULL;
      f->echo = g_strdup (echo);
    }

  if (f->type == SK_FIELD_DIGITS && f->length > 19 &&
      (f->has_min || f->has_max || f->count != SK_COUNT_NONE || refs->sum != NULL))
    {
      _sk_schema_invalid (error, path,
                          _ ("\"min\", \"max\", \"count\" and \"sum\" need at most 19 digits"));
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

int
_sk_record_layout_resolve (const SkRecordLayout *layout,
                           const char *name,
                           const char *path,
                           GError **error)
{
  const SkField *f = _sk_record_layout_find (layout, name);

  if (f == NULL)
    {
      _sk_schema_invalid (error, path, _ ("no field \"%s\" in this record"), name);
      return -1;
    }
  return (int)f->index;
}

static const char record_type_chars[SK_N_RECORDS] = { '1', '2', '8', '9' };
static const char *const record_names[SK_N_RECORDS] = { "header", "data", "trailer", "end" };

SkRecordLayout *
_sk_policy_parse_record (JsonObject *templates,
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

  if (_sk_schema_node_is_string (node))
    {
      const char *tname = json_node_get_string (node);
      JsonNode *tnode = templates != NULL ? json_object_get_member (templates, tname) : NULL;
      if (tnode == NULL || !JSON_NODE_HOLDS_ARRAY (tnode))
        {
          _sk_schema_invalid (error, path, _ ("no template \"%s\""), tname);
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
      _sk_schema_invalid (error, path, _ ("must be a template name or an array of fields"));
      return NULL;
    }

  guint n = json_array_get_length (fields);
  if (n == 0 || n > 256)
    {
      _sk_schema_invalid (error, path, _ ("a record has 1 to 256 fields"));
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
        ok = _sk_schema_invalid (error, fpath, _ ("a second field named \"%s\""), f->name);
      if (profile == SK_PROFILE_P1)
        {
          if (rest)
            {
              if (offset >= record_length - 2)
                ok = ok && _sk_schema_invalid (error, fpath, _ ("no bytes are left for \"rest\""));
              else
                f->length = record_length - 2 - offset;
              if (f->type == SK_FIELD_FULL && f->length % 2 != 0)
                ok = ok && _sk_schema_invalid (error, fpath,
                                               _ ("an N field has an even number of bytes"));
            }
          f->offset = offset;
          offset += f->length;
        }
    }

  if (ok && profile == SK_PROFILE_P1 && offset != record_length - 2)
    ok = _sk_schema_invalid (error, path,
                             _ ("the fields take %u bytes; the record has %u before CR LF"), offset,
                             record_length - 2);

  if (ok)
    {
      const SkField *first = g_ptr_array_index (layout->fields, 0);
      if (!g_str_equal (first->name, "レコード種別") || first->type != SK_FIELD_HALF ||
          first->length != 1 || first->const_value == NULL ||
          first->const_value[0] != layout->type_char)
        ok = _sk_schema_invalid (
            error, path, _ ("the first field must be レコード種別, X, length 1, \"const\": \"%c\""),
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
          f->not_before = _sk_record_layout_resolve (layout, r->not_before, fpath, error);
          const SkField *t =
              f->not_before >= 0 ? g_ptr_array_index (layout->fields, f->not_before) : NULL;
          if (t == NULL || t->date != SK_DATE_YMD)
            ok = t == NULL
                     ? FALSE
                     : _sk_schema_invalid (error, fpath, _ ("\"not_before\" needs a ymd field"));
        }
      if (ok && r->agrees_with != NULL)
        {
          f->agrees_with = _sk_record_layout_resolve (layout, r->agrees_with, fpath, error);
          const SkField *t =
              f->agrees_with >= 0 ? g_ptr_array_index (layout->fields, f->agrees_with) : NULL;
          if (t == NULL || t->date != SK_DATE_YMD)
            ok = t == NULL
                     ? FALSE
                     : _sk_schema_invalid (error, fpath, _ ("\"agrees_with\" needs a ymd field"));
        }
      if (ok && r->age_at != NULL)
        {
          f->age_at = _sk_record_layout_resolve (layout, r->age_at, fpath, error);
          const SkField *t = f->age_at >= 0 ? g_ptr_array_index (layout->fields, f->age_at) : NULL;
          if (t == NULL || t->date != SK_DATE_YMD)
            ok = t == NULL ? FALSE
                           : _sk_schema_invalid (error, fpath, _ ("\"age_at\" needs a ymd field"));
        }
      if (ok && r->required_when != NULL)
        ok = (f->required_when.field =
                  _sk_record_layout_resolve (layout, r->required_when, fpath, error)) >= 0;
      if (ok && r->blank_when != NULL)
        ok = (f->blank_when.field =
                  _sk_record_layout_resolve (layout, r->blank_when, fpath, error)) >= 0;
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
