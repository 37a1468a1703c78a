/* sk-app-role.c — the service's answer to WhoAmI mapped to a window */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include "sk-app-json.h"
#include "sk-app-role.h"

static const struct
{
  const char *name;
  const char *group;
  SkAppRole role;
} roles[] = {
  { "operator", "sekisho-operator", SK_APP_ROLE_OPERATOR },
  { "auditor", "sekisho-auditor", SK_APP_ROLE_AUDITOR },
  { "admin", "sekisho-admin", SK_APP_ROLE_ADMIN },
};

static guint
role_groups_held (JsonObject *who)
{
  JsonArray *groups = sk_app_json_array (who, "groups");
  guint held = 0;

  for (guint i = 0; groups != NULL && i < json_array_get_length (groups); i++)
    {
      JsonNode *node = json_array_get_element (groups, i);
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        continue;
      for (gsize r = 0; r < G_N_ELEMENTS (roles); r++)
        if (g_str_equal (json_node_get_string (node), roles[r].group))
          held++;
    }
  return held;
}

SkAppRole
sk_app_role_from_who (JsonObject *who)
{
  if (who == NULL)
    return SK_APP_ROLE_NONE;

  const char *role = sk_app_json_string (who, "role");
  const char *refusal = sk_app_json_string (who, "refusal");

  if (role != NULL && refusal == NULL)
    for (gsize r = 0; r < G_N_ELEMENTS (roles); r++)
      if (g_str_equal (role, roles[r].name))
        return roles[r].role;
  return role_groups_held (who) > 1 ? SK_APP_ROLE_SEVERAL : SK_APP_ROLE_NONE;
}
