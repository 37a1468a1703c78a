/* sk-job.c — a long method's job: progress, cancel, an end */
#define G_LOG_DOMAIN "sekisho-job"

#include "config.h"

#include "sk-dbus-generated.h"
#include "sk-error.h"
#include "sk-job.h"

#define JOB_PATH_PREFIX "/jp/sekisho/Station1/Job/"
#define JOB_INTERFACE "jp.sekisho.Station1.Job"
/* A finished job stays on the bus this long, for a late GetResult.  Not
 * longer: a caller starting jobs in a loop would make the service hold
 * every one of them (measured: some 3 kB each). */
#define JOB_LINGER_SECONDS 5

struct _SkJob
{
  GObject parent_instance;

  GDBusConnection *connection;
  char *owner; /* the unique name that started it */
  char *path;
  SkDbusJob *skeleton;
  GCancellable *cancellable;
  SkProgress *progress;

  SkJobFunc func;
  gpointer data;
  GDestroyNotify data_free;
  SkJobDone done;
  gpointer done_data;

  SkJobDenied denied;
  gpointer denied_data;

  GMutex lock; /* the end, read by GetResult in the invocation's thread */
  gboolean finished;
  gboolean ok;
  char *reason;
  char *message;
  char *result;
};

G_DEFINE_FINAL_TYPE (SkJob, sk_job, G_TYPE_OBJECT)

static void
sk_job_finalize (GObject *object)
{
  SkJob *self = SK_JOB (object);

  if (self->skeleton != NULL)
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
  g_clear_object (&self->skeleton);
  g_clear_object (&self->connection);
  g_clear_object (&self->progress);
  g_clear_object (&self->cancellable);
  if (self->data_free != NULL)
    g_clear_pointer (&self->data, self->data_free);
  g_free (self->owner);
  g_free (self->path);
  g_free (self->reason);
  g_free (self->message);
  g_free (self->result);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (sk_job_parent_class)->finalize (object);
}

static void
sk_job_class_init (SkJobClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sk_job_finalize;
}

static void
sk_job_init (SkJob *self)
{
  g_mutex_init (&self->lock);
}

static void
emit (SkJob *self, const char *signal, GVariant *args)
{
  g_autoptr (GError) error = NULL;
  /* Unicast: progress is nobody else's business. */
  if (!g_dbus_connection_emit_signal (self->connection, self->owner, self->path, JOB_INTERFACE,
                                      signal, args, &error))
    g_debug ("job %s: %s not sent: %s", self->path, signal, error->message);
}

static void
on_progress (SkProgress *progress, const char *phase, guint64 done, guint64 total, gpointer data)
{
  SkJob *self = data;
  emit (self, "Progress", g_variant_new ("(stt)", phase != NULL ? phase : "", done, total));
}

/* Only the starter may ask: anyone else is refused before the handler,
 * and the refusal is journaled by whoever made the job. */
static gboolean
on_authorize (GDBusInterfaceSkeleton *skeleton, GDBusMethodInvocation *invocation, gpointer data)
{
  SkJob *self = data;
  if (g_strcmp0 (g_dbus_method_invocation_get_sender (invocation), self->owner) == 0)
    return TRUE;
  if (self->denied != NULL)
    self->denied (invocation, self->denied_data);
  g_dbus_method_invocation_return_error_literal (invocation, SK_ERROR, SK_ERROR_ROLE_DENIED,
                                                 "this job belongs to another caller");
  return FALSE;
}

static gboolean
on_cancel (SkDbusJob *skeleton, GDBusMethodInvocation *invocation, gpointer data)
{
  SkJob *self = data;
  g_cancellable_cancel (self->cancellable);
  sk_dbus_job_complete_cancel (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_get_result (SkDbusJob *skeleton, GDBusMethodInvocation *invocation, gpointer data)
{
  SkJob *self = data;
  g_mutex_lock (&self->lock);
  sk_dbus_job_complete_get_result (
      skeleton, invocation, self->finished, self->ok, self->reason != NULL ? self->reason : "",
      self->message != NULL ? self->message : "", self->result != NULL ? self->result : "");
  g_mutex_unlock (&self->lock);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

SkJob *
sk_job_new (GDBusConnection *connection,
            const char *owner,
            SkJobDenied denied,
            gpointer denied_data,
            GError **error)
{
  static guint next_id = 0;

  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), NULL);
  g_return_val_if_fail (owner != NULL, NULL);

  g_autoptr (SkJob) self = g_object_new (SK_TYPE_JOB, NULL);
  self->connection = g_object_ref (connection);
  self->owner = g_strdup (owner);
  self->denied = denied;
  self->denied_data = denied_data;
  self->path = g_strdup_printf (JOB_PATH_PREFIX "%u", g_atomic_int_add (&next_id, 1) + 1);
  self->cancellable = g_cancellable_new ();
  self->progress = sk_progress_new (self->cancellable);
  g_signal_connect_object (self->progress, "changed", G_CALLBACK (on_progress), self, 0);

  self->skeleton = sk_dbus_job_skeleton_new ();
  /* The door may wait on the bus to journal a stranger: not on the main
   * loop. */
  g_dbus_interface_skeleton_set_flags (
      G_DBUS_INTERFACE_SKELETON (self->skeleton),
      G_DBUS_INTERFACE_SKELETON_FLAGS_HANDLE_METHOD_INVOCATIONS_IN_THREAD);
  g_signal_connect_object (self->skeleton, "g-authorize-method", G_CALLBACK (on_authorize), self,
                           0);
  g_signal_connect_object (self->skeleton, "handle-cancel", G_CALLBACK (on_cancel), self, 0);
  g_signal_connect_object (self->skeleton, "handle-get-result", G_CALLBACK (on_get_result), self,
                           0);
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton), connection,
                                         self->path, error))
    {
      g_clear_object (&self->skeleton);
      return NULL;
    }
  return g_steal_pointer (&self);
}

const char *
sk_job_get_object_path (SkJob *self)
{
  g_return_val_if_fail (SK_IS_JOB (self), NULL);
  return self->path;
}

static void
run_in_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SkJob *self = source;
  GError *error = NULL;
  char *result = self->func (self->data, self->progress, cancellable, &error);

  if (result == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, g_free);
}

static gboolean
linger_done (gpointer data)
{
  g_object_unref (data);
  return G_SOURCE_REMOVE;
}

static void
finished (GObject *source, GAsyncResult *res, gpointer data)
{
  SkJob *self = SK_JOB (source);
  g_autoptr (GError) error = NULL;
  g_autofree char *result = g_task_propagate_pointer (G_TASK (res), &error);

  g_mutex_lock (&self->lock);
  self->finished = TRUE;
  self->ok = result != NULL;
  if (result != NULL)
    {
      self->result = g_strdup (result);
      self->message = g_strdup ("");
    }
  else
    {
      /* A cancellation is no refusal of the input: it has no reason code of
       * its own, and the core left nothing behind. */
      self->reason = g_strdup (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
                                   ? "cancelled"
                                   : sk_error_get_reason (error));
      self->message = g_strdup (error->message);
    }
  g_mutex_unlock (&self->lock);
  /* The last figures, then the end. */
  g_autofree char *phase = NULL;
  guint64 done, total;
  sk_progress_get (self->progress, &phase, &done, &total);
  if (phase != NULL)
    emit (self, "Progress", g_variant_new ("(stt)", phase, done, total));
  emit (self, "Finished",
        g_variant_new ("(bsss)", self->ok, self->reason != NULL ? self->reason : "", self->message,
                       self->result != NULL ? self->result : ""));
  if (self->done != NULL)
    self->done (self, self->result, self->done_data);
  if (self->data_free != NULL)
    g_clear_pointer (&self->data, self->data_free);
  g_timeout_add_seconds (JOB_LINGER_SECONDS, linger_done, g_object_ref (self));
}

void
sk_job_start (SkJob *self,
              SkJobFunc func,
              gpointer data,
              GDestroyNotify data_free,
              SkJobDone done,
              gpointer done_data)
{
  g_return_if_fail (SK_IS_JOB (self));
  g_return_if_fail (self->func == NULL);

  self->func = func;
  self->data = data;
  self->data_free = data_free;
  self->done = done;
  self->done_data = done_data;
  g_autoptr (GTask) task = g_task_new (self, self->cancellable, finished, NULL);
  g_task_set_source_tag (task, sk_job_start);
  g_task_run_in_thread (task, run_in_thread);
}
