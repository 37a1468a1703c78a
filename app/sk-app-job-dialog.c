/* sk-app-job-dialog.c — Progress and Finished of a job, and its Cancel */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <glib/gi18n.h>

#include "sk-app-format.h"
#include "sk-app-job-dialog.h"
#include "sk-error.h"

struct _SkAppJobDialog
{
  GtkDialog parent_instance;

  GtkLabel *title_label;
  GtkLabel *phase_label;
  GtkProgressBar *progress_bar;
  GtkButton *cancel_button;

  SkAppClient *client;
  SkDbusJob *job;
  GTask *task;               /* returned once, when the job ends */
  GCancellable *cancellable; /* this dialog's; cancelled in dispose */
  GCancellable *outer;       /* the caller's */
  gulong outer_id;
  guint pulse_id;
  gboolean cancel_sent;
};

G_DEFINE_FINAL_TYPE (SkAppJobDialog, sk_app_job_dialog, GTK_TYPE_DIALOG)

const char *
sk_app_job_dialog_phase_label (const char *phase)
{
  static const struct
  {
    const char *phase;
    const char *label;
  } phases[] = {
    /* The phases of core's long calls (sk_progress_phase_to_string ()). */
    { "copy", N_ ("Copying from the medium") },
    { "verify", N_ ("Checking the signature") },
    { "validate", N_ ("Decrypting and checking the files") },
    { "hash", N_ ("Hashing the files") },
    { "write", N_ ("Writing the package") },
    { "read-back", N_ ("Reading the package back") },
    { "seal", N_ ("Sealing the result into the store") },
    { "journal", N_ ("Reading the journal") },
  };

  for (gsize i = 0; phase != NULL && i < G_N_ELEMENTS (phases); i++)
    if (g_str_equal (phase, phases[i].phase))
      return _ (phases[i].label);
  return _ ("Working");
}

/* Ends the task once; later calls do nothing. */
static void
finish (
    SkAppJobDialog *self, gboolean ok, const char *reason, const char *message, const char *result)
{
  g_autoptr (GTask) task = g_steal_pointer (&self->task);

  if (task == NULL)
    return;
  g_clear_handle_id (&self->pulse_id, g_source_remove);
  if (ok)
    g_task_return_pointer (task, g_strdup (result != NULL ? result : "{}"), g_free);
  else
    {
      SkErrorCode code = SK_ERROR_IO_ERROR;
      if (reason == NULL || !sk_error_code_from_reason (reason, &code))
        code = SK_ERROR_IO_ERROR;
      g_task_return_new_error (task, SK_ERROR, code, "%s", message != NULL ? message : "");
    }
  gtk_widget_destroy (GTK_WIDGET (self));
}

static void
finish_error (SkAppJobDialog *self, GError *error)
{
  g_autoptr (GTask) task = g_steal_pointer (&self->task);

  if (task == NULL)
    return;
  g_clear_handle_id (&self->pulse_id, g_source_remove);
  g_task_return_error (task, error);
  gtk_widget_destroy (GTK_WIDGET (self));
}

static gboolean
pulse (gpointer data)
{
  gtk_progress_bar_pulse (GTK_PROGRESS_BAR (data));
  return G_SOURCE_CONTINUE;
}

static void
on_progress (SkDbusJob *job, const char *phase, guint64 done, guint64 total, gpointer user_data)
{
  SkAppJobDialog *self = user_data;

  gtk_label_set_text (self->phase_label, sk_app_job_dialog_phase_label (phase));
  if (total == 0)
    {
      if (self->pulse_id == 0)
        self->pulse_id = g_timeout_add (150, pulse, self->progress_bar);
      gtk_progress_bar_set_text (self->progress_bar, NULL);
      return;
    }
  g_clear_handle_id (&self->pulse_id, g_source_remove);
  gtk_progress_bar_set_fraction (self->progress_bar, MIN (1.0, (double)done / (double)total));
  g_autofree char *text = NULL;
  if (g_str_equal (phase, "records"))
    {
      /* Thousands grouped as the locale groups them. */
      g_autofree char *d = g_strdup_printf ("%'" G_GUINT64_FORMAT, done);
      g_autofree char *t = g_strdup_printf ("%'" G_GUINT64_FORMAT, total);
      /* TRANSLATORS: records checked of all records. */
      text = g_strdup_printf (_ ("%s of %s records"), d, t);
    }
  else
    {
      g_autofree char *d = sk_app_format_size (done);
      g_autofree char *t = sk_app_format_size (total);
      /* TRANSLATORS: bytes done of all bytes ("12.3 MB of 50.0 MB"). */
      text = g_strdup_printf (_ ("%s of %s"), d, t);
    }
  gtk_progress_bar_set_text (self->progress_bar, text);
}

static void
on_finished (SkDbusJob *job,
             gboolean ok,
             const char *reason,
             const char *message,
             const char *result,
             gpointer user_data)
{
  finish (SK_APP_JOB_DIALOG (user_data), ok, reason, message, result);
}

static void
on_result (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (SkAppJobDialog) self = user_data;
  g_autoptr (GError) error = NULL;
  gboolean finished = FALSE, ok = FALSE;
  g_autofree char *reason = NULL, *message = NULL, *result = NULL;

  if (!sk_dbus_job_call_get_result_finish (SK_DBUS_JOB (source), &finished, &ok, &reason, &message,
                                           &result, res, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        finish_error (self, g_steal_pointer (&error));
      return;
    }
  if (finished)
    finish (self, ok, reason, message, result);
}

static void
on_job (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (SkAppJobDialog) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SkDbusJob) job = sk_app_client_job_finish (SK_APP_CLIENT (source), res, &error);

  if (job == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        finish_error (self, g_steal_pointer (&error));
      return;
    }
  self->job = g_steal_pointer (&job);
  g_signal_connect_object (self->job, "progress", G_CALLBACK (on_progress), self, 0);
  g_signal_connect_object (self->job, "finished", G_CALLBACK (on_finished), self, 0);
  /* The job may have ended before the proxy subscribed: ask it. */
  sk_dbus_job_call_get_result (self->job, self->cancellable, on_result, g_object_ref (self));
}

static void
on_cancel_sent (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  /* The job answers Cancel with Finished (ok=false); a job that already
   * ended refuses the cancel, which changes nothing. */
  if (!sk_dbus_job_call_cancel_finish (SK_DBUS_JOB (source), res, &error))
    g_debug ("cancel: %s", error->message);
}

static void
on_cancel_clicked (SkAppJobDialog *self)
{
  if (self->job == NULL || self->cancel_sent)
    return;
  self->cancel_sent = TRUE;
  gtk_widget_set_sensitive (GTK_WIDGET (self->cancel_button), FALSE);
  gtk_label_set_text (self->phase_label, _ ("Cancelling…"));
  sk_dbus_job_call_cancel (self->job, NULL, on_cancel_sent, NULL);
}

static void
on_response (SkAppJobDialog *self, int response)
{
  /* Escape or the window's close: the same as Cancel.  The dialog stays
   * until the job says it has ended. */
  on_cancel_clicked (self);
}

/* Closing the window (Escape, the window manager) asks the job to stop;
 * the dialog stays until the service says the job has ended, so that the
 * person sees how it ended. */
static gboolean
on_delete_event (SkAppJobDialog *self, GdkEvent *event)
{
  on_cancel_clicked (self);
  return GDK_EVENT_STOP;
}

static void
on_outer_cancelled (GCancellable *cancellable, gpointer user_data)
{
  on_cancel_clicked (SK_APP_JOB_DIALOG (user_data));
}

static void
sk_app_job_dialog_dispose (GObject *object)
{
  SkAppJobDialog *self = SK_APP_JOB_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  if (self->outer != NULL)
    g_cancellable_disconnect (self->outer, self->outer_id);
  g_clear_object (&self->outer);
  g_clear_handle_id (&self->pulse_id, g_source_remove);
  /* A dialog that goes away while its job runs (its window closed) stops
   * the job: nothing the person can no longer see keeps running. */
  if (self->job != NULL && self->task != NULL && !self->cancel_sent)
    sk_dbus_job_call_cancel (self->job, NULL, NULL, NULL);
  g_clear_object (&self->job);
  g_clear_object (&self->client);
  if (self->task != NULL)
    {
      g_autoptr (GTask) task = g_steal_pointer (&self->task);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "the window was closed");
    }
  G_OBJECT_CLASS (sk_app_job_dialog_parent_class)->dispose (object);
}

static void
sk_app_job_dialog_finalize (GObject *object)
{
  SkAppJobDialog *self = SK_APP_JOB_DIALOG (object);

  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (sk_app_job_dialog_parent_class)->finalize (object);
}

static void
sk_app_job_dialog_class_init (SkAppJobDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sk_app_job_dialog_dispose;
  object_class->finalize = sk_app_job_dialog_finalize;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/jp/sekisho/Sekisho/sk-app-job-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, SkAppJobDialog, title_label);
  gtk_widget_class_bind_template_child (widget_class, SkAppJobDialog, phase_label);
  gtk_widget_class_bind_template_child (widget_class, SkAppJobDialog, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, SkAppJobDialog, cancel_button);
  gtk_widget_class_bind_template_callback (widget_class, on_cancel_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_response);
  gtk_widget_class_bind_template_callback (widget_class, on_delete_event);
}

static void
sk_app_job_dialog_init (SkAppJobDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

void
sk_app_job_dialog_run_async (GtkWindow *parent,
                             SkAppClient *client,
                             const char *title,
                             const char *job_path,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer data)
{
  g_return_if_fail (GTK_IS_WINDOW (parent));
  g_return_if_fail (SK_APP_IS_CLIENT (client));
  g_return_if_fail (title != NULL && job_path != NULL);

  SkAppJobDialog *self = g_object_new (SK_APP_TYPE_JOB_DIALOG, "transient-for", parent,
                                       "use-header-bar", FALSE, "destroy-with-parent", TRUE, NULL);
  self->client = g_object_ref (client);
  self->task = g_task_new (NULL, cancellable, callback, data);
  g_task_set_source_tag (self->task, sk_app_job_dialog_run_async);
  if (cancellable != NULL)
    {
      self->outer = g_object_ref (cancellable);
      self->outer_id =
          g_cancellable_connect (cancellable, G_CALLBACK (on_outer_cancelled), self, NULL);
    }
  gtk_window_set_title (GTK_WINDOW (self), title);
  gtk_label_set_text (self->title_label, title);
  gtk_label_set_text (self->phase_label, _ ("Starting…"));
  gtk_window_present (GTK_WINDOW (self));
  sk_app_client_job_async (client, job_path, self->cancellable, on_job, g_object_ref (self));
}

char *
sk_app_job_dialog_run_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
