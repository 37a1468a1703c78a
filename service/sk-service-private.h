/* sk-service-private.h — the service's state, and how its parts are joined
 *
 * The helpers every handler uses are in sk-service-call.h.
 */
#pragma once

#include "sk-bouncer.h"
#include "sk-dbus-generated.h"
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

/* Under the lock: (re)make the pipeline for the installed policy
 * (sk-service-methods.c, beside Policy.Install). */
gboolean
_sk_service_open_pipeline_locked (SkService *self, GError **error);

G_END_DECLS
