/* sk-app-refusal.h — a GError from the service, told to a person
 *
 * Every refusal the app shows names its stable reason code (DESIGN.md §8a),
 * what happened (core/sk-error.c's description of the code) and what to do
 * next.  The service's jp.sekisho.Error.* names come back as SK_ERROR codes
 * (the domain is registered with GDBus); bus errors that mean "nobody
 * answers" become service-unreachable, and the bus's own access refusal
 * becomes role-denied.
 */
#pragma once

#include <gio/gio.h>

#include "sk-error.h"

G_BEGIN_DECLS

SkErrorCode
sk_app_refusal_code (const GError *error);

/* What the person should do next, for CODE, translated. */
const char *
sk_app_refusal_next_step (SkErrorCode code);

/* The service's own message, without the D-Bus error name, escaped for a
 * widget (the service escapes names already; this is the second fence). */
char *
sk_app_refusal_detail (const GError *error);

G_END_DECLS
