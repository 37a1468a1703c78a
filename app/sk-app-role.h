/* sk-app-role.h — which role's window: the service's answer to WhoAmI, read */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The caller's role on the station (DESIGN.md §1), as sekishod decides it
 * from what the bus daemon says of the caller (Station.WhoAmI).  The app
 * derives nothing itself. */
typedef enum
{
  SK_APP_ROLE_NONE,
  SK_APP_ROLE_OPERATOR,
  SK_APP_ROLE_AUDITOR,
  SK_APP_ROLE_ADMIN,
  SK_APP_ROLE_SEVERAL, /* in more than one role group: refused, as the service does */
} SkAppRole;

/* The role WHO (the JSON object of WhoAmI: uid, login, role, refusal,
 * groups) names.  A role the app does not know, or a refusal beside a role,
 * is no role: the app fails closed.  With no role, SEVERAL when the groups
 * the service reports hold more than one of the role groups (only to say
 * so in words; the service refused either way). */
SkAppRole
sk_app_role_from_who (JsonObject *who);

G_END_DECLS
