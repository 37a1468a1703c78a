/* sk-service-private.h — what the service's parts share */
#pragma once

#include <json-glib/json-glib.h>

#include "sk-bouncer.h"
#include "sk-dbus-generated.h"
#include "sk-job.h"
#include "sk-media.h"
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
  SkDbusMedia *media_iface;

  /* Media, followed on a thread of their own (sk-service-media.c). */
  GThread *media_thread;
  GMainContext *media_context;
  GMainLoop *media_loop;
  GMutex media_lock; /* guards the four below */
  GCond media_cond;
  gboolean media_started;
  SkMedia *media;      /* NULL when not followed … */
  GError *media_error; /* … and why */
  /* A station object for reading the media register without the lock. */
  GMutex reader_lock;
  SkStation *reader;

  guint sweep_source;
  gboolean sweeping;
};

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

/* All of FD, at most MAX bytes.  More than MAX: NULL with *TOO_BIG set and
 * no error, for the caller to refuse in its own words. */
GBytes *
_sk_service_read_fd (int fd, gsize max, gboolean *too_big, GError **error);

/* The descriptor HANDLE of the call's fd list, as our own copy, or -1. */
int
_sk_service_take_fd (GDBusMethodInvocation *invocation, GVariant *handle, GError **error);

/* The actor the bouncer let through, kept on the invocation. */
const SkActor *
_sk_service_actor (GDBusMethodInvocation *invocation);

/* Connect every handle-* of the interfaces (sk-service-methods.c). */
void
_sk_service_connect_methods (SkService *self);

/* Connect the Journal interface's handlers (sk-service-journal.c). */
void
_sk_service_connect_journal (SkService *self);

/* Connect the Station interface's handlers (sk-service-station.c). */
void
_sk_service_connect_station (SkService *self);

/* Connect the Media interface's handlers; follow media from a thread of
 * their own, and stop (sk-service-media.c). */
void
_sk_service_connect_media (SkService *self);
void
_sk_service_start_media (SkService *self);
void
_sk_service_stop_media (SkService *self);

/* Under the lock: (re)make the pipeline for the installed policy. */
gboolean
_sk_service_open_pipeline_locked (SkService *self, GError **error);

/* Journal a refusal at a door: the caller of INVOCATION, the method. */
void
_sk_service_journal_denial (SkService *self, GDBusMethodInvocation *invocation);

/* Tell clients that CASE_ID changed; any thread. */
void
_sk_service_case_changed (SkService *self, const char *case_id);

/* JSON for the answers: B's root as text; a member NAME with VALUE (NULL:
 * null); the same with VALUE escaped, for names from media and packages. */
char *
_sk_service_json_text (JsonBuilder *b);
void
_sk_service_add_string (JsonBuilder *b, const char *name, const char *value);
void
_sk_service_add_untrusted (JsonBuilder *b, const char *name, const char *value);

/* Return ERROR as its jp.sekisho.Error.* name; an error outside SK_ERROR
 * becomes io-error. */
void
_sk_service_return_error (GDBusMethodInvocation *invocation, const GError *error);

G_END_DECLS
