/* sk-bus-job.h — following one of sekishod's jobs from a client
 *
 * A long method of jp.sekisho.Station1 answers with a job's object path;
 * the job then sends Progress (phase, done, total) and ends with Finished
 * (ok, reason, message, result).  A watch subscribes to both (and to the
 * service leaving the bus) before the call, so that no signal is missed,
 * and keeps what they said; each event quits LOOP, so that the caller's
 * loop can look.  Shared by the command line (sk-cli-bus.c) and the
 * service test's client (tests/service/sk-bus-client.c): it needs GIO only.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _SkBusJobWatch SkBusJobWatch;

/* Called on each Progress of the job; PHASE_CHANGED when its phase is new. */
typedef void (*SkBusJobProgressFunc) (SkBusJobWatch *watch, gboolean phase_changed, gpointer data);

struct _SkBusJobWatch
{
  GMainLoop *loop; /* quit on every event */
  char *path;      /* the job's path; NULL until the call returned it */
  /* Progress */
  gboolean running; /* a Progress came */
  char *phase;
  guint64 done, total;
  /* Finished */
  gboolean finished;
  gboolean ok;
  char *reason, *message, *result;
  /* the service left the bus */
  gboolean vanished;

  /*< private >*/
  GDBusConnection *bus;
  guint job_signals, owner_signals;
  SkBusJobProgressFunc on_progress;
  gpointer data;
};

/* Subscribe on BUS to the jobs of BUS_NAME (INTERFACE_PREFIX "Job") and to
 * BUS_NAME leaving the bus; ON_PROGRESS (may be NULL) is told each
 * Progress.  Set WATCH->path once the call returned it. */
void
sk_bus_job_watch_init (SkBusJobWatch *watch,
                       GDBusConnection *bus,
                       const char *bus_name,
                       const char *job_interface,
                       SkBusJobProgressFunc on_progress,
                       gpointer data);
/* Unsubscribe and free what WATCH holds. */
void
sk_bus_job_watch_clear (SkBusJobWatch *watch);

G_END_DECLS
