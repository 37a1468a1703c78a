/* sk-service-private.h — what the service's parts share */
#pragma once

#include "sk-bouncer.h"
#include "sk-dbus-generated.h"
#include "sk-job.h"
#include "sk-pipeline.h"
#include "sk-service.h"

G_BEGIN_DECLS

struct _SkService
{
  GObject parent_instance;

  GDBusConnection *connection;
  SkBouncer *bouncer;
  char *station_dir;
  char *handoff_root;

  /* One station step at a time: every use of the station, its policy, its
   * pipeline and its journal holds this lock. */
  GMutex lock;
  SkStation *station;
  SkPipeline *pipeline; /* NULL until a policy is installed */

  SkDbusCases *cases;
  SkDbusJournal *journal;
  SkDbusPolicy *policy;
  SkDbusKeys *keys;
  SkDbusStation *station_iface;

  guint sweep_source;
  gboolean sweeping;
};

/* The actor the bouncer let through, kept on the invocation. */
const SkActor *
_sk_service_actor (GDBusMethodInvocation *invocation);

/* Connect every handle-* of the interfaces (sk-service-methods.c). */
void
_sk_service_connect_methods (SkService *self);

/* Connect the Station interface's handlers (sk-service-station.c). */
void
_sk_service_connect_station (SkService *self);

/* Under the lock: (re)make the pipeline for the installed policy. */
gboolean
_sk_service_open_pipeline_locked (SkService *self, GError **error);

/* Journal a refusal at a door: the caller of INVOCATION, the method. */
void
_sk_service_journal_denial (SkService *self, GDBusMethodInvocation *invocation);

/* Tell clients that CASE_ID changed; any thread. */
void
_sk_service_case_changed (SkService *self, const char *case_id);

/* Return ERROR as its jp.sekisho.Error.* name; an error outside SK_ERROR
 * becomes io-error. */
void
_sk_service_return_error (GDBusMethodInvocation *invocation, const GError *error);

G_END_DECLS
