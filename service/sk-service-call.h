/* sk-service-call.h — what a handler of the service's methods uses
 *
 * Every part of the service (sk-service-methods.c, -journal.c, -media.c,
 * -station.c) answers its calls with these: the caller the door let
 * through, the descriptors the call carries, a job for a long step, the
 * JSON of an answer and the D-Bus name of a refusal.  They need the
 * service's state (sk-service-private.h), never the service's own file.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "sk-actor.h"
#include "sk-job.h"
#include "sk-service.h"

G_BEGIN_DECLS

/* ---- the caller ---------------------------------------------------------- */

/* The actor the bouncer let through, kept on the invocation. */
const SkActor *
_sk_service_actor (GDBusMethodInvocation *invocation);
/* Keep ACTOR (taken over) on INVOCATION for its handler. */
void
_sk_service_set_actor (GDBusMethodInvocation *invocation, SkActor *actor);

/* Journal a refusal at a door: the caller of INVOCATION, the method. */
void
_sk_service_journal_denial (SkService *self, GDBusMethodInvocation *invocation);
/* …the same, for a caller already known as far as UID (-1: not known)
 * and ROLE (may be NULL), of INTERFACE.METHOD (names from our own table). */
void
_sk_service_journal_refusal (
    SkService *self, const char *interface, const char *method, gint64 uid, const char *role);

/* Return ERROR as its jp.sekisho.Error.* name; an error outside SK_ERROR
 * becomes io-error. */
void
_sk_service_return_error (GDBusMethodInvocation *invocation, const GError *error);

/* ---- descriptors ----------------------------------------------------------- */

/* The descriptor HANDLE of the call's fd list, as our own copy, or -1. */
int
_sk_service_take_fd (GDBusMethodInvocation *invocation, GVariant *handle, GError **error);

/* All of FD, at most MAX bytes.  More than MAX: NULL with *TOO_BIG set and
 * no error, for the caller to refuse in its own words. */
GBytes *
_sk_service_read_fd (int fd, gsize max, gboolean *too_big, GError **error);

/* ---- jobs ---------------------------------------------------------------- */

/* What a job of a method gets: its caller, its arguments. */
typedef struct
{
  SkService *service;
  SkActor *actor;
  char *arg;  /* a case id or a name */
  char *arg2; /* a second one (a medium id), or NULL */
  int fd;     /* -1: none */
} JobData;

/* Start FUNC (with a JobData of these) as a job of the invocation's caller;
 * completes INVOCATION with the job's path (every long method returns just
 * that).  FD (may be -1) is the job's from now on. */
void
_sk_service_start_job (SkService *self,
                       GDBusMethodInvocation *invocation,
                       SkJobFunc func,
                       const char *arg,
                       const char *arg2,
                       int fd);

/* ---- JSON for the answers ------------------------------------------------ */

/* B's root as text; a member NAME with VALUE (NULL: null); the same with
 * VALUE escaped, for names from media and packages. */
char *
_sk_service_json_text (JsonBuilder *b);
void
_sk_service_add_string (JsonBuilder *b, const char *name, const char *value);
void
_sk_service_add_untrusted (JsonBuilder *b, const char *name, const char *value);

G_END_DECLS
