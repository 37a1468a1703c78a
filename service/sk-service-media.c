/* sk-service-media.c — jp.sekisho.Station1.Media: the media the service
 * sees through udev (DESIGN.md §7, issue 12)
 *
 * Media are followed on a thread of their own, with its own main context:
 * SkUdev's monitor is a GSource there, and SkMedia journals every medium
 * seen (inserted, refused, removed) from there through a station object
 * and a journal connection of its own.  So a medium pulled during an
 * import is seen, and the import cancelled, while the import's worker
 * holds the service's lock; and the bus's main loop never waits on a
 * device.  Lists of the register read through a read-only connection of
 * their own (reader), so they do not wait behind a long import either.
 * Changes of the register (unregister, CSV) and the transfers take the
 * service's lock as every station step does.
 */
#define G_LOG_DOMAIN "sekisho-service"

#include "config.h"

#include <errno.h>
#include <gio/gunixoutputstream.h>
#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-media-csv.h"
#include "sk-report.h"
#include "sk-service-call.h"
#include "sk-service-private.h"

static char *
node_text (JsonNode *node)
{
  return json_to_string (node, FALSE);
}

static char *
builder_text (JsonBuilder *b)
{
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return node_text (root);
}

/* The media, or NULL with the reason they are not followed. */
static SkMedia *
get_media (SkService *self, GError **error)
{
  g_mutex_lock (&self->media_lock);
  SkMedia *media = self->media != NULL ? g_object_ref (self->media) : NULL;
  if (media == NULL)
    {
      if (self->media_error != NULL)
        g_set_error (error, SK_ERROR, self->media_error->code,
                     _ ("media are not followed on this station: %s"), self->media_error->message);
      else
        g_set_error_literal (error, SK_ERROR, SK_ERROR_STATION_INVALID,
                             _ ("media are not followed on this station yet"));
    }
  g_mutex_unlock (&self->media_lock);
  return media;
}

/* The register's rows (withdrawn ones too when ALL), read through the
 * reader's own read-only connection. */
static GPtrArray *
register_rows (SkService *self, gboolean all, GError **error)
{
  g_mutex_lock (&self->reader_lock);
  g_autoptr (SkJournal) journal = sk_station_open_journal (self->reader, TRUE, error);
  g_autoptr (SkMediaRegister) reg =
      journal != NULL ? sk_media_register_new (self->reader, journal) : NULL;
  GPtrArray *rows = reg != NULL ? sk_media_register_list (reg, all, error) : NULL;
  g_mutex_unlock (&self->reader_lock);
  return rows;
}

static char *
medium_json (SkService *self, const SkMedium *m)
{
  /* The label is the register's; without it the medium is still told. */
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rows = register_rows (self, FALSE, &error);
  if (rows == NULL)
    g_warning ("the register cannot be read for a medium's label: %s", error->message);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  sk_report_add_medium (b, m, rows);
  return builder_text (b);
}

/* ---- following media (the media thread) --------------------------------- */

static void
on_medium_added (SkMedia *media, SkMedium *m, gpointer user_data)
{
  SkService *self = user_data;
  g_autofree char *json = medium_json (self, m);
  sk_dbus_media_emit_medium_added (self->media_iface, json);
}

static void
on_medium_refused (SkMedia *media, SkMedium *m, gpointer user_data)
{
  SkService *self = user_data;
  g_autofree char *json = medium_json (self, m);
  sk_dbus_media_emit_medium_refused (self->media_iface, json);
}

static void
on_medium_removed (SkMedia *media, SkMedium *m, gpointer user_data)
{
  SkService *self = user_data;
  sk_dbus_media_emit_medium_removed (self->media_iface, m->id);
}

static gpointer
media_main (gpointer data)
{
  SkService *self = data;
  g_main_context_push_thread_default (self->media_context);

  /* A station object and a journal connection of this thread's own. */
  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_station_open (self->station_dir, &error);
  g_autoptr (SkPolicy) policy = station != NULL ? sk_station_load_policy (station, &error) : NULL;
  g_autoptr (SkJournal) journal =
      policy != NULL ? sk_station_open_journal (station, FALSE, &error) : NULL;
  g_autoptr (SkUdev) udev = journal != NULL ? sk_udev_new (&error) : NULL;
  g_autoptr (SkMedia) media =
      udev != NULL ? sk_media_new (station, journal, policy, udev, &error) : NULL;
  if (media != NULL)
    {
      g_signal_connect (media, "medium-added", G_CALLBACK (on_medium_added), self);
      g_signal_connect (media, "medium-refused", G_CALLBACK (on_medium_refused), self);
      g_signal_connect (media, "medium-removed", G_CALLBACK (on_medium_removed), self);
    }
  else
    g_message ("media are not followed: %s", error->message);

  g_mutex_lock (&self->media_lock);
  g_set_object (&self->media, media);
  g_clear_error (&self->media_error);
  if (media == NULL)
    self->media_error = g_error_copy (error);
  self->media_started = TRUE;
  g_cond_broadcast (&self->media_cond);
  g_mutex_unlock (&self->media_lock);

  if (media != NULL)
    g_main_loop_run (self->media_loop);

  g_mutex_lock (&self->media_lock);
  g_clear_object (&self->media);
  g_mutex_unlock (&self->media_lock);
  if (media != NULL)
    g_signal_handlers_disconnect_by_data (media, self);
  g_clear_object (&media);
  g_clear_object (&udev);
  g_main_context_pop_thread_default (self->media_context);
  return NULL;
}

void
_sk_service_start_media (SkService *self)
{
  g_return_if_fail (self->media_thread == NULL);

  self->media_context = g_main_context_new ();
  self->media_loop = g_main_loop_new (self->media_context, FALSE);
  self->media_thread = g_thread_new ("sk-media", media_main, self);
  /* The media present at start are journaled before the first call. */
  g_mutex_lock (&self->media_lock);
  while (!self->media_started)
    g_cond_wait (&self->media_cond, &self->media_lock);
  g_mutex_unlock (&self->media_lock);
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

void
_sk_service_stop_media (SkService *self)
{
  if (self->media_thread == NULL)
    return;
  /* The loop may not run yet (or at all): quit it from inside. */
  g_main_context_invoke (self->media_context, quit_loop, self->media_loop);
  g_main_loop_quit (self->media_loop);
  g_thread_join (g_steal_pointer (&self->media_thread));
  g_clear_pointer (&self->media_loop, g_main_loop_unref);
  g_clear_pointer (&self->media_context, g_main_context_unref);
  g_clear_error (&self->media_error);
  self->media_started = FALSE;
}

/* ---- jobs ---------------------------------------------------------------- */

/* "" names the only medium inserted. */
static const char *
medium_id (const char *id)
{
  return id != NULL && *id != '\0' ? id : NULL;
}

static char *
run_media_import (gpointer data, SkProgress *progress, GCancellable *cancellable, GError **error)
{
  JobData *d = data;
  SkService *self = d->service;
  g_autoptr (SkMedia) media = get_media (self, error);
  /* The medium named now ("" resolved): pulled from here on, the job ends
   * with media-removed. */
  g_autoptr (SkMedium) m = media != NULL ? sk_media_pick (media, medium_id (d->arg), error) : NULL;
  if (m == NULL || !sk_progress_begin (progress, SK_PROGRESS_PHASE_COPY, 0, error))
    return NULL;
  g_mutex_lock (&self->lock);
  g_autoptr (GPtrArray) results = NULL;
  g_autoptr (JsonNode) report = NULL;
  if (self->pipeline == NULL)
    g_set_error_literal (error, SK_ERROR, SK_ERROR_STATION_INVALID,
                         _ ("the station has no policy installed yet"));
  else
    results = sk_media_import (media, self->pipeline, d->actor, medium_id (d->arg), progress,
                               cancellable, error);
  if (results != NULL)
    report = sk_report_medium_import (self->pipeline, results, error);
  g_mutex_unlock (&self->lock);
  return report != NULL ? node_text (report) : NULL;
}

static char *
run_media_export (gpointer data, SkProgress *progress, GCancellable *cancellable, GError **error)
{
  JobData *d = data;
  SkService *self = d->service;
  g_autoptr (SkMedia) media = get_media (self, error);
  g_autoptr (SkMedium) before =
      media != NULL ? sk_media_pick (media, medium_id (d->arg2), error) : NULL;
  if (before == NULL || !sk_progress_begin (progress, SK_PROGRESS_PHASE_WRITE, 0, error))
    return NULL;
  g_mutex_lock (&self->lock);
  g_autofree char *package = NULL;
  if (self->pipeline == NULL)
    g_set_error_literal (error, SK_ERROR, SK_ERROR_STATION_INVALID,
                         _ ("the station has no policy installed yet"));
  else
    package =
        sk_media_export (media, self->pipeline, d->actor, before->id, d->arg, cancellable, error);
  g_mutex_unlock (&self->lock);
  if (package == NULL)
    return NULL;
  /* The 管理番号 the export proved, as the medium now holds it. */
  g_autoptr (SkMedium) after = sk_media_pick (media, before->id, NULL);
  g_autofree char *name = g_path_get_basename (package);
  g_autoptr (JsonNode) report = sk_report_medium_export (name, after != NULL ? after : before);
  return node_text (report);
}

/* ---- methods ------------------------------------------------------------- */

static gboolean
on_list (SkDbusMedia *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SkMedia) media = get_media (self, &error);
  g_autoptr (GPtrArray) rows = media != NULL ? register_rows (self, FALSE, &error) : NULL;
  if (rows == NULL)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_autoptr (GPtrArray) list = sk_media_list (media);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "media");
  json_builder_begin_array (b);
  for (guint i = 0; i < list->len; i++)
    sk_report_add_medium (b, g_ptr_array_index (list, i), rows);
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autofree char *text = builder_text (b);
  sk_dbus_media_complete_list (skeleton, invocation, text);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_import (SkDbusMedia *skeleton,
           GDBusMethodInvocation *invocation,
           const char *id,
           gpointer user_data)
{
  _sk_service_start_job (SK_SERVICE (user_data), invocation, run_media_import, id, NULL, -1);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_export (SkDbusMedia *skeleton,
           GDBusMethodInvocation *invocation,
           const char *case_id,
           const char *id,
           gpointer user_data)
{
  _sk_service_start_job (SK_SERVICE (user_data), invocation, run_media_export, case_id, id, -1);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_list_register (SkDbusMedia *skeleton, GDBusMethodInvocation *invocation, gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rows = register_rows (self, TRUE, &error);
  if (rows == NULL)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "register");
  json_builder_begin_array (b);
  for (guint i = 0; i < rows->len; i++)
    sk_report_add_medium_record (b, g_ptr_array_index (rows, i));
  json_builder_end_array (b);
  json_builder_end_object (b);
  g_autofree char *text = builder_text (b);
  sk_dbus_media_complete_list_register (skeleton, invocation, text);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_register (SkDbusMedia *skeleton,
             GDBusMethodInvocation *invocation,
             const char *id,
             const char *number,
             const char *label,
             gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SkMedia) media = get_media (self, &error);
  /* Writing the token and its row is SkMedia's, on its own connection: it
   * does not wait behind a transfer. */
  g_autoptr (SkMediumRecord) r =
      media != NULL
          ? sk_media_register_medium (media, _sk_service_actor (invocation), medium_id (id), number,
                                      *label != '\0' ? label : NULL, &error)
          : NULL;
  if (r == NULL)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_autoptr (JsonBuilder) b = json_builder_new ();
  sk_report_add_medium_record (b, r);
  g_autofree char *text = builder_text (b);
  sk_dbus_media_complete_register (skeleton, invocation, text);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_register_disc (SkDbusMedia *skeleton,
                  GDBusMethodInvocation *invocation,
                  GUnixFDList *fd_list,
                  const char *number,
                  const char *label,
                  GVariant *token_h,
                  GVariant *token_sig_h,
                  gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  int fds[2] = { _sk_service_take_fd (invocation, token_h, &error), -1 };
  if (fds[0] >= 0)
    fds[1] = _sk_service_take_fd (invocation, token_sig_h, &error);
  g_autoptr (SkMediumRecord) r = NULL;
  if (fds[1] >= 0)
    {
      /* A row and its journal entry, as every change of the register. */
      g_mutex_lock (&self->lock);
      g_autoptr (SkJournal) journal = sk_station_open_journal (self->station, FALSE, &error);
      g_autoptr (SkMediaRegister) reg =
          journal != NULL ? sk_media_register_new (self->station, journal) : NULL;
      r = reg != NULL
              ? sk_media_register_disc_into (reg, _sk_service_actor (invocation), number,
                                             *label != '\0' ? label : NULL, fds[0], fds[1], &error)
              : NULL;
      g_mutex_unlock (&self->lock);
    }
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    if (fds[i] >= 0)
      close (fds[i]);
  if (r == NULL)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_autoptr (JsonBuilder) b = json_builder_new ();
  sk_report_add_medium_record (b, r);
  g_autofree char *text = builder_text (b);
  sk_dbus_media_complete_register_disc (skeleton, invocation, NULL, text);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_unregister (SkDbusMedia *skeleton,
               GDBusMethodInvocation *invocation,
               const char *number,
               gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  g_mutex_lock (&self->lock);
  g_autoptr (SkJournal) journal = sk_station_open_journal (self->station, FALSE, &error);
  g_autoptr (SkMediaRegister) reg =
      journal != NULL ? sk_media_register_new (self->station, journal) : NULL;
  gboolean ok =
      reg != NULL && sk_media_register_remove (reg, _sk_service_actor (invocation), number, &error);
  g_mutex_unlock (&self->lock);
  if (!ok)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  sk_dbus_media_complete_unregister (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
on_export_register (SkDbusMedia *skeleton,
                    GDBusMethodInvocation *invocation,
                    GUnixFDList *fd_list,
                    GVariant *out_h,
                    gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  int fd = _sk_service_take_fd (invocation, out_h, &error);
  if (fd < 0)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_autoptr (GOutputStream) out = g_unix_output_stream_new (fd, TRUE);
  g_mutex_lock (&self->reader_lock);
  g_autoptr (SkJournal) journal = sk_station_open_journal (self->reader, TRUE, &error);
  g_autoptr (SkMediaRegister) reg =
      journal != NULL ? sk_media_register_new (self->reader, journal) : NULL;
  gboolean ok = reg != NULL && sk_media_register_export_csv (reg, out, &error);
  g_mutex_unlock (&self->reader_lock);
  if (ok && !g_output_stream_close (out, NULL, &error))
    ok = FALSE;
  if (!ok)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  sk_dbus_media_complete_export_register (skeleton, invocation, NULL);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* All of FD, at most MAX bytes (more is a refusal, not a cut). */
static GBytes *
read_all (int fd, gsize max, GError **error)
{
  gboolean too_big;
  GBytes *bytes = _sk_service_read_fd (fd, max, &too_big, error);
  if (too_big)
    g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_CSV_INVALID,
                 _ ("the file is larger than %lu bytes"), (gulong)max);
  return bytes;
}

static gboolean
on_import_register (SkDbusMedia *skeleton,
                    GDBusMethodInvocation *invocation,
                    GUnixFDList *fd_list,
                    GVariant *csv_h,
                    gpointer user_data)
{
  SkService *self = user_data;
  g_autoptr (GError) error = NULL;
  int fd = _sk_service_take_fd (invocation, csv_h, &error);
  g_autoptr (GBytes) csv = fd >= 0 ? read_all (fd, SK_CSV_MAX_BYTES, &error) : NULL;
  if (fd >= 0)
    close (fd);
  guint added = 0;
  gboolean ok = FALSE;
  if (csv != NULL)
    {
      g_mutex_lock (&self->lock);
      g_autoptr (SkJournal) journal = sk_station_open_journal (self->station, FALSE, &error);
      g_autoptr (SkMediaRegister) reg =
          journal != NULL ? sk_media_register_new (self->station, journal) : NULL;
      ok = reg != NULL &&
           sk_media_register_import_csv (reg, _sk_service_actor (invocation), csv, &added, &error);
      g_mutex_unlock (&self->lock);
    }
  if (!ok)
    {
      _sk_service_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  g_autofree char *text = g_strdup_printf ("{\"added\":%u}", added);
  sk_dbus_media_complete_import_register (skeleton, invocation, NULL, text);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
_sk_service_connect_media (SkService *self)
{
  const struct
  {
    const char *signal;
    GCallback handler;
  } handlers[] = {
    { "handle-list", G_CALLBACK (on_list) },
    { "handle-import", G_CALLBACK (on_import) },
    { "handle-export", G_CALLBACK (on_export) },
    { "handle-list-register", G_CALLBACK (on_list_register) },
    { "handle-register", G_CALLBACK (on_register) },
    { "handle-register-disc", G_CALLBACK (on_register_disc) },
    { "handle-unregister", G_CALLBACK (on_unregister) },
    { "handle-export-register", G_CALLBACK (on_export_register) },
    { "handle-import-register", G_CALLBACK (on_import_register) },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (handlers); i++)
    g_signal_connect_object (self->media_iface, handlers[i].signal, handlers[i].handler, self, 0);
}
