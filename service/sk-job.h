/* sk-job.h — a long method's job on the bus (DESIGN.md §11)
 *
 * A job runs its work in a GTask thread with an SkProgress and a
 * GCancellable, and lives at /jp/sekisho/Station1/Job/N.  Progress goes to
 * the connection that started it as Progress (phase, done, total) signals,
 * at most every 100 ms; the end as Finished (ok, reason, message, result).
 * Cancel () fires the cancellable; the work stops at its next step and
 * leaves nothing half-written (the core call's promise).  Only the
 * connection that started a job may ask or cancel it.
 */
#pragma once

#include <gio/gio.h>

#include "sk-progress.h"

G_BEGIN_DECLS

/* The work, run in a worker thread.  Returns the result as a JSON text, or
 * NULL with ERROR set. */
typedef char *(*SkJobFunc) (gpointer data,
                            SkProgress *progress,
                            GCancellable *cancellable,
                            GError **error);

#define SK_TYPE_JOB (sk_job_get_type ())
G_DECLARE_FINAL_TYPE (SkJob, sk_job, SK, JOB, GObject)

/* Called, in the invocation's thread, when someone other than the owner
 * asks a job anything (the call is then refused as role-denied). */
typedef void (*SkJobDenied) (GDBusMethodInvocation *invocation, gpointer user_data);

/* A new job for OWNER (a unique bus name), exported on CONNECTION at once.
 * FUNC runs when sk_job_start () is called. */
SkJob *
sk_job_new (GDBusConnection *connection,
            const char *owner,
            SkJobDenied denied,
            gpointer denied_data,
            GError **error);

const char *
sk_job_get_object_path (SkJob *self);

/* Run FUNC (DATA, freed with DATA_FREE afterwards) in a worker thread.
 * DONE (may be NULL) is called on the main context after Finished was sent,
 * with the job and the result (NULL on failure). */
typedef void (*SkJobDone) (SkJob *job, const char *result, gpointer user_data);
void
sk_job_start (SkJob *self,
              SkJobFunc func,
              gpointer data,
              GDestroyNotify data_free,
              SkJobDone done,
              gpointer done_data);

G_END_DECLS
