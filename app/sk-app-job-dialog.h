/* sk-app-job-dialog.h — a service job followed to its end, with a cancel */
#pragma once

#include <gtk/gtk.h>

#include "sk-app-client.h"

G_BEGIN_DECLS

#define SK_APP_TYPE_JOB_DIALOG (sk_app_job_dialog_get_type ())
G_DECLARE_FINAL_TYPE (SkAppJobDialog, sk_app_job_dialog, SK_APP, JOB_DIALOG, GtkDialog)

/* Follow the job at JOB_PATH in a modal dialog over PARENT, titled TITLE.
 * The result is the job's JSON result; a job that ended refused is a GError
 * in SK_ERROR with its reason code; cancelling CANCELLABLE closes the
 * dialog and cancels the job. */
void
sk_app_job_dialog_run_async (GtkWindow *parent,
                             SkAppClient *client,
                             const char *title,
                             const char *job_path,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer data);
char *
sk_app_job_dialog_run_finish (GAsyncResult *result, GError **error);

/* A phase name the service sends, in words. */
const char *
sk_app_job_dialog_phase_label (const char *phase);

G_END_DECLS
