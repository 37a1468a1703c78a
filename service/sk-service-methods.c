/* sk-service-methods.c — sekishod's methods: each a thin skin over core
 *
 * Handlers run in the invocation's own thread, after the bouncer let the
 * caller through (sk-service.c); each takes the station lock for the core
 * call.  Long steps become jobs (sk-job.h, through sk-service-call.h).
 * Cases, Policy and Keys are here, with the pipeline they act on; the
 * Journal's are in sk-service-journal.c, the Station's and the Media's in
 * theirs.
 */
#define G_LOG_DOMAIN "sekisho-service"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <gio/gunixoutputstream.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-journal-csv.h"
#include "sk-report.h"
#include "sk-service-call.h"
#include "sk-service-private.h"

/* The most a caller may hand in as a policy, its signature or a key file. */
#define MAX_KEY_FILE (1024 * 1024)
#define MAX_SIGNATURE (64 * 1024)

/* ---- JSON and small helpers ---------------------------------------------- */

static char *
strings_json (const char *member, GPtrArray *values, gboolean untrusted)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, member);
  json_builder_begin_array (b);
  for (guint i = 0; values != NULL && i < values->len; i++)
    {
      const char *v = g_ptr_array_index (values, i);
      g_autofree char *escaped = untrusted ? sk_escape_untrusted (v) : g_strdup (v);
      json_builder_add_string_value (b, escaped);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  return _sk_service_json_text (b);
}

/* A plain name in a folder: no separators, no dot files. */
static gboolean
plain_name (const char *name, const char *suffix, GError **error)
{
  if (name[0] == '\0' || name[0] == '.' || strchr (name, '/') != NULL ||
      !g_utf8_validate (name, -1, NULL) || strlen (name) > 255 ||
      (suffix != NULL && !g_str_has_suffix (name, suffix)))
    {
      g_autofree char *escaped = sk_escape_untrusted (name);
      if (suffix != NULL)
        g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                     _ ("“%s” is not a plain file name ending in %s"), escaped, suffix);
      else
        g_set_error (error, SK_ERROR, SK_ERROR_USAGE, _ ("“%s” is not a plain file name"), escaped);
      return FALSE;
    }
  return TRUE;
}

/* A folder the caller opened, reached through our copy of its descriptor:
 * the path resolves to that folder whatever is renamed meanwhile. */
static char *
fd_path (int fd)
{
  return g_strdup_printf ("/proc/self/fd/%d", fd);
}

/* Read all of FD (at most MAX bytes) into a new file NAME in a private
 * folder of the station; returns the file's path. */
static char *
spool (SkService *self, const char *tmpdir, const char *name, int fd, gsize max, GError **error)
{
  gboolean too_big;
  g_autoptr (GBytes) bytes = _sk_service_read_fd (fd, max, &too_big, error);
  if (too_big)
    g_set_error (error, SK_ERROR, SK_ERROR_USAGE, _ ("more than %lu bytes sent"), (gulong)max);
  if (bytes == NULL)
    return NULL;
  g_autofree char *path = g_build_filename (tmpdir, name, NULL);
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  if (!g_file_set_contents_full (path, data, (gssize)len, G_FILE_SET_CONTENTS_NONE, 0600, error))
    return NULL;
  return g_steal_pointer (&path);
}

static void
remove_spool (const char *tmpdir)
{
  g_autoptr (GDir) dir = g_dir_open (tmpdir, 0, NULL);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (tmpdir, name, NULL);
      (void)g_unlink (path);
    }
  (void)g_rmdir (tmpdir);
}

static char *
make_spool_dir (SkService *self, GError **error)
{
  g_autofree char *templ = g_build_filename (self->station_dir, ".incoming-XXXXXX", NULL);
  char *dir = g_mkdtemp_full (templ, 0700);
  if (dir == NULL)
    {
      sk_error_set_from_errno (error, errno, _ ("making a private folder in the station"));
      return NULL;
    }
  g_steal_pointer (&templ);
  return dir;
}

/* ---- the pipeline -------------------------------------------------------- */

/* The pipeline says when a case changed, after the commit, in the worker
 * thread of the step; the bus hears it from there, on any thread. */
static void
on_case_changed (SkPipeline *pipeline, const char *case_id, gpointer user_data)
{
  SkService *self = SK_SERVICE (user_data);
  /* The id as the case holds it (clients ask Show with it): untrusted text,
   * which they escape before they show it. */
  if (self->cases != NULL && case_id != NULL && g_utf8_validate (case_id, -1, NULL))
    sk_dbus_cases_emit_case_changed (self->cases, case_id);
}

gboolean
_sk_service_open_pipeline_locked (SkService *self, GError **error)
{
  g_autoptr (SkPolicy) policy = sk_station_load_policy (self->station, error);
  if (policy == NULL)
    return FALSE;
  g_autoptr (SkPipeline) pipeline =
      sk_pipeline_new (self->station, policy, self->handoff_root, error);
  if (pipeline == NULL)
    return FALSE;
  g_signal_connect_object (pipeline, "case-changed", G_CALLBACK (on_case_changed), self, 0);
  g_set_object (&self->pipeline, pipeline);
  return TRUE;
}

static SkPipeline *
pipeline_locked (SkService *self, GError **error)
{
  if (self->pipeline == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_STATION_INVALID,
                           _ ("the station has no policy installed yet"));
      return NULL;
    }
  return self->pipeline;
}

/* ---- jobs ---------------------------------------------------------------- */

static char *
run_import (gpointer data, SkProgress *progress, GCancellable *cancellable, GError **error)
{
  JobData *d = data;
  g_mutex_lock (&d->service->lock);
  SkPipeline *pipeline = pipeline_locked (d->service, error);
  g_autoptr (SkCase) c =
      pipeline != NULL
          ? sk_pipeline_import_at (pipeline, d->actor, d->fd, d->arg, progress, cancellable, error)
          : NULL;
  char *text = c != NULL ? sk_report_case_json (pipeline, c, error) : NULL;
  g_mutex_unlock (&d->service->lock);
  return text;
}

static char *
run_hand_off (gpointer data, SkProgress *progress, GCancellable *cancellable, GError **error)
{
  JobData *d = data;
  g_mutex_lock (&d->service->lock);
  SkPipeline *pipeline = pipeline_locked (d->service, error);
  g_autoptr (GPtrArray) paths =
      pipeline != NULL
          ? sk_pipeline_hand_off (pipeline, d->actor, d->arg, progress, cancellable, error)
          : NULL;
  g_mutex_unlock (&d->service->lock);
  if (paths == NULL)
    return NULL;
  return strings_json ("paths", paths, TRUE);
}

static char *
run_take_in (gpointer data, SkProgress *progress, GCancellable *cancellable, GError **error)
{
  JobData *d = data;
  g_mutex_lock (&d->service->lock);
  SkPipeline *pipeline = pipeline_locked (d->service, error);
  g_autoptr (SkFileReport) report = NULL;
  g_autoptr (SkCaseFile) f =
      pipeline != NULL
          ? sk_pipeline_take_in (pipeline, d->actor, d->arg, &report, progress, cancellable, error)
          : NULL;
  g_mutex_unlock (&d->service->lock);
  if (f == NULL)
    return NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  _sk_service_add_untrusted (b, "name", f->name);
  _sk_service_add_string (b, "kind", f->kind);
  _sk_service_add_string (b, "sha256", f->sha256);
  json_builder_set_member_name (b, "records");
  json_builder_add_int_value (b, f->records);
  /* Under dual control (SKI03): it leaves only after a second operator
   * approved it. */
  json_builder_set_member_name (b, "needs_approval");
  json_builder_add_boolean_value (b, f->needs_approval);
  json_builder_end_object (b);
  return _sk_service_json_text (b);
}

static char *
run_export (gpointer data, SkProgress *progress, GCancellable *cancellable, GError **error)
{
  JobData *d = data;
  g_autofree char *folder = fd_path (d->fd);
  g_mutex_lock (&d->service->lock);
  SkPipeline *pipeline = pipeline_locked (d->service, error);
  g_autofree char *path = pipeline != NULL ? sk_pipeline_export (pipeline, d->actor, d->arg, folder,
                                                                 progress, cancellable, error)
                                           : NULL;
  g_mutex_unlock (&d->service->lock);
  if (path == NULL)
    return NULL;
  g_autofree char *name = g_path_get_basename (path);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  _sk_service_add_string (b, "package", name);
  json_builder_end_object (b);
  return _sk_service_json_text (b);
}

/* ---- Cases --------------------------------------------------------------- */

static gboolean
on_cases_list (SkDbusCases *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  g_mutex_lock (&self->lock);
  SkPipeline *pipeline = pipeline_locked (self, &error);
  g_autoptr (GPtrArray) cases = pipeline != NULL ? sk_pipeline_list_cases (pipeline, &error) : NULL;
  g_autoptr (GPtrArray) items =
      cases != NULL ? sk_store_list (sk_pipeline_get_store (pipeline), &error) : NULL;
  g_autoptr (JsonBuilder) b = json_builder_new ();
  if (items != NULL)
    {
      gint64 now = g_get_real_time ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "cases");
      json_builder_begin_array (b);
      for (guint i = 0; i < cases->len; i++)
        {
          const SkCase *c = g_ptr_array_index (cases, i);
          g_autoptr (GArray) deadlines =
              sk_report_case_deadlines (sk_pipeline_get_policy (pipeline), c, items);
          sk_report_add_case (b, c, deadlines, now);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  g_mutex_unlock (&self->lock);
  if (items == NULL)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_autofree char *text = _sk_service_json_text (b);
  sk_dbus_cases_complete_list (skeleton, invocation, text);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_cases_show (SkDbusCases *skeleton,
               GDBusMethodInvocation *invocation,
               const char *case_id,
               gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  g_mutex_lock (&self->lock);
  SkPipeline *pipeline = pipeline_locked (self, &error);
  g_autoptr (SkCase) c = pipeline != NULL ? sk_pipeline_get_case (pipeline, case_id, &error) : NULL;
  g_autofree char *text = c != NULL ? sk_report_case_json (pipeline, c, &error) : NULL;
  g_mutex_unlock (&self->lock);
  if (text == NULL)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  sk_dbus_cases_complete_show (skeleton, invocation, text);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_cases_list_downloads (SkDbusCases *skeleton,
                         GDBusMethodInvocation *invocation,
                         gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  g_mutex_lock (&self->lock);
  SkPipeline *pipeline = pipeline_locked (self, &error);
  g_autoptr (GPtrArray) names =
      pipeline != NULL
          ? sk_pipeline_list_downloads (pipeline, _sk_service_actor (invocation), &error)
          : NULL;
  g_mutex_unlock (&self->lock);
  if (names == NULL)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *escaped = sk_escape_untrusted (g_ptr_array_index (names, i));
      g_strv_builder_add (builder, escaped);
    }
  g_auto (GStrv) list = g_strv_builder_end (builder);
  sk_dbus_cases_complete_list_downloads (skeleton, invocation, (const char *const *)list);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_cases_import (SkDbusCases *skeleton,
                 GDBusMethodInvocation *invocation,
                 GUnixFDList *fd_list,
                 GVariant *folder,
                 const char *name,
                 gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  int fd = -1;
  if (!plain_name (name, ".tar.gpg", &error) ||
      (fd = _sk_service_take_fd (invocation, folder, &error)) < 0)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  _sk_service_start_job (self, invocation, run_import, name, NULL, fd);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_cases_hand_off (SkDbusCases *skeleton,
                   GDBusMethodInvocation *invocation,
                   const char *case_id,
                   gpointer user_data)
{
  _sk_service_start_job (SK_SERVICE (user_data), invocation, run_hand_off, case_id, NULL, -1);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_cases_take_in (SkDbusCases *skeleton,
                  GDBusMethodInvocation *invocation,
                  const char *name,
                  gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  if (!plain_name (name, NULL, &error))
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  _sk_service_start_job (SK_SERVICE (user_data), invocation, run_take_in, name, NULL, -1);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_cases_export (SkDbusCases *skeleton,
                 GDBusMethodInvocation *invocation,
                 GUnixFDList *fd_list,
                 const char *case_id,
                 GVariant *folder,
                 gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  int fd = _sk_service_take_fd (invocation, folder, &error);
  if (fd < 0)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  _sk_service_start_job (SK_SERVICE (user_data), invocation, run_export, case_id, NULL, fd);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

typedef gboolean (*CaseStep) (SkPipeline *, const SkActor *, const char *, GError **);

/* A short step on CASE_ID; returns whether it was done (else INVOCATION has
 * the error). */
static gboolean
case_step (SkService *self, GDBusMethodInvocation *invocation, const char *case_id, CaseStep step)
{
  g_autoptr (GError) error = NULL;
  g_mutex_lock (&self->lock);
  SkPipeline *pipeline = pipeline_locked (self, &error);
  gboolean ok =
      pipeline != NULL && step (pipeline, _sk_service_actor (invocation), case_id, &error);
  g_mutex_unlock (&self->lock);
  if (!ok)
    {
      _sk_service_return_error (invocation, error);
      return FALSE;
    }
  return TRUE;
}

static gboolean
on_cases_confirm_upload (SkDbusCases *skeleton,
                         GDBusMethodInvocation *invocation,
                         const char *case_id,
                         gpointer user_data)
{
  if (case_step (SK_SERVICE (user_data), invocation, case_id, sk_pipeline_confirm_upload))
    sk_dbus_cases_complete_confirm_upload (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_cases_interrupt (SkDbusCases *skeleton,
                    GDBusMethodInvocation *invocation,
                    const char *case_id,
                    gpointer user_data)
{
  if (case_step (SK_SERVICE (user_data), invocation, case_id, sk_pipeline_interrupt))
    sk_dbus_cases_complete_interrupt (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_cases_approve (SkDbusCases *skeleton,
                  GDBusMethodInvocation *invocation,
                  const char *case_id,
                  const char *name,
                  gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  g_mutex_lock (&self->lock);
  SkPipeline *pipeline = pipeline_locked (self, &error);
  gboolean ok = pipeline != NULL && sk_pipeline_approve (pipeline, _sk_service_actor (invocation),
                                                         case_id, name, &error);
  g_mutex_unlock (&self->lock);
  if (!ok)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  sk_dbus_cases_complete_approve (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* ---- Policy and Keys ----------------------------------------------------- */

/* Under the lock: the whole policy, keys with the keyring's expiry. */
static char *
policy_json_locked (SkService *self, SkPolicy *policy)
{
  g_autoptr (GPtrArray) keys = sk_keyring_list_keys (sk_station_get_keyring (self->station), NULL);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  sk_report_add_policy (b, policy, keys);
  return _sk_service_json_text (b);
}

static gboolean
on_policy_show (SkDbusPolicy *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  g_mutex_lock (&self->lock);
  g_autoptr (SkPolicy) policy = sk_station_load_policy (self->station, &error);
  g_autofree char *text = policy != NULL ? policy_json_locked (self, policy) : NULL;
  g_mutex_unlock (&self->lock);
  if (policy == NULL)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  sk_dbus_policy_complete_show (skeleton, invocation, text);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_policy_install (SkDbusPolicy *skeleton,
                   GDBusMethodInvocation *invocation,
                   GUnixFDList *fd_list,
                   GVariant *policy_h,
                   GVariant *sig_h,
                   gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  int policy_fd = _sk_service_take_fd (invocation, policy_h, &error);
  int sig_fd = policy_fd >= 0 ? _sk_service_take_fd (invocation, sig_h, &error) : -1;
  g_autoptr (SkPolicy) policy = NULL;

  g_mutex_lock (&self->lock);
  g_autofree char *tmpdir = sig_fd >= 0 ? make_spool_dir (self, &error) : NULL;
  g_autofree char *path =
      tmpdir != NULL ? spool (self, tmpdir, "policy.json", policy_fd, SK_POLICY_MAX_SIZE, &error)
                     : NULL;
  g_autofree char *sig_path =
      path != NULL ? spool (self, tmpdir, "policy.json.sig", sig_fd, MAX_SIGNATURE, &error) : NULL;
  if (sig_path != NULL)
    policy =
        sk_station_install_policy (self->station, _sk_service_actor (invocation), path, &error);
  if (tmpdir != NULL)
    remove_spool (tmpdir);
  /* The pipeline follows the policy in force. */
  g_autoptr (GError) reopen_error = NULL;
  if (policy != NULL && !_sk_service_open_pipeline_locked (self, &reopen_error))
    g_warning ("the pipeline did not reopen under the new policy: %s", reopen_error->message);
  /* Media follow the policy in force too (which classes may be used). */
  if (policy != NULL)
    {
      _sk_service_stop_media (self);
      _sk_service_start_media (self);
    }
  g_autofree char *text = policy != NULL ? policy_json_locked (self, policy) : NULL;
  g_mutex_unlock (&self->lock);
  if (policy_fd >= 0)
    close (policy_fd);
  if (sig_fd >= 0)
    close (sig_fd);
  if (policy == NULL)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  sk_dbus_policy_complete_install (skeleton, invocation, NULL, text);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_keys_list (SkDbusKeys *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  g_mutex_lock (&self->lock);
  SkKeyring *keyring = sk_station_get_keyring (self->station);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  const char *own = sk_station_get_signing_key (self->station);
  _sk_service_add_string (b, "station_key", own);
  json_builder_set_member_name (b, "station_secret_key");
  json_builder_add_boolean_value (b, sk_keyring_has_secret_key (keyring, own));
  json_builder_set_member_name (b, "admin_keys");
  json_builder_begin_array (b);
  for (const char *const *a = sk_station_get_admin_keys (self->station); *a != NULL; a++)
    {
      json_builder_begin_object (b);
      _sk_service_add_string (b, "fingerprint", *a);
      json_builder_set_member_name (b, "public_key");
      json_builder_add_boolean_value (b, sk_keyring_has_public_key (keyring, *a));
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  g_autoptr (SkPolicy) policy = sk_station_load_policy (self->station, NULL);
  gboolean ok = sk_report_add_keys (b, self->station, policy, &error);
  json_builder_end_object (b);
  g_mutex_unlock (&self->lock);
  if (!ok)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_autofree char *text = _sk_service_json_text (b);
  sk_dbus_keys_complete_list (skeleton, invocation, text);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_keys_import (SkDbusKeys *skeleton,
                GDBusMethodInvocation *invocation,
                GUnixFDList *fd_list,
                GVariant *keys_h,
                gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  int fd = _sk_service_take_fd (invocation, keys_h, &error);
  g_autoptr (GPtrArray) fprs = NULL;

  g_mutex_lock (&self->lock);
  g_autofree char *tmpdir = fd >= 0 ? make_spool_dir (self, &error) : NULL;
  g_autofree char *path =
      tmpdir != NULL ? spool (self, tmpdir, "keys", fd, MAX_KEY_FILE, &error) : NULL;
  if (path != NULL)
    fprs = sk_station_import_keys (self->station, _sk_service_actor (invocation), path, &error);
  if (tmpdir != NULL)
    remove_spool (tmpdir);
  g_mutex_unlock (&self->lock);
  if (fd >= 0)
    close (fd);
  if (fprs == NULL)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_ptr_array_add (fprs, NULL);
  sk_dbus_keys_complete_import (skeleton, invocation, NULL, (const char *const *)fprs->pdata);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
_sk_service_connect_methods (SkService *self)
{
  const struct
  {
    gpointer skeleton;
    const char *signal;
    GCallback handler;
  } handlers[] = {
    { self->cases, "handle-list", G_CALLBACK (on_cases_list) },
    { self->cases, "handle-show", G_CALLBACK (on_cases_show) },
    { self->cases, "handle-list-downloads", G_CALLBACK (on_cases_list_downloads) },
    { self->cases, "handle-import", G_CALLBACK (on_cases_import) },
    { self->cases, "handle-hand-off", G_CALLBACK (on_cases_hand_off) },
    { self->cases, "handle-confirm-upload", G_CALLBACK (on_cases_confirm_upload) },
    { self->cases, "handle-take-in", G_CALLBACK (on_cases_take_in) },
    { self->cases, "handle-export", G_CALLBACK (on_cases_export) },
    { self->cases, "handle-interrupt", G_CALLBACK (on_cases_interrupt) },
    { self->cases, "handle-approve", G_CALLBACK (on_cases_approve) },
    { self->policy, "handle-show", G_CALLBACK (on_policy_show) },
    { self->policy, "handle-install", G_CALLBACK (on_policy_install) },
    { self->keys, "handle-list", G_CALLBACK (on_keys_list) },
    { self->keys, "handle-import", G_CALLBACK (on_keys_import) },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (handlers); i++)
    g_signal_connect_object (handlers[i].skeleton, handlers[i].signal, handlers[i].handler, self,
                             0);
}
