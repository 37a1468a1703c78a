/* sk-cli-bus.c — the command line as a client of sekishod (DESIGN.md §11)
 *
 * Without --station, a command the service offers is a call to
 * jp.sekisho.Station1 on the system bus (DBUS_SYSTEM_BUS_ADDRESS is
 * honoured by GIO).  Who calls is what the bus daemon tells the service;
 * files the caller names travel as descriptors opened here, with the
 * caller's own rights.
 *
 * A long method answers with a job.  Its signals are subscribed to before
 * the call, so none is missed; they are dispatched only once the call has
 * returned the job's path.  Progress is a one-line bar on stderr, redrawn
 * at most ten times a second and cleared at the end, and only when stderr
 * is a terminal and the output is not --json.  SIGINT or SIGTERM sends
 * Job.Cancel and waits for Finished: the command ends only after the
 * service has acknowledged the cancel, so a second Ctrl-C never leaves the
 * job running behind a vanished client.
 */
#define G_LOG_DOMAIN "sekisho"

#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sk-bus-job.h"
#include "sk-cli.h"

#define BUS_NAME "jp.sekisho.Station1"
#define OBJECT_PATH "/jp/sekisho/Station1"
#define IFACE_PREFIX "jp.sekisho.Station1."
#define JOB_IFACE IFACE_PREFIX "Job"

/* A short call waits this long; a job's own call too (it answers at once). */
#define CALL_TIMEOUT_MS 60000
/* After the cancel was acknowledged, the job's end is awaited this long. */
#define CANCEL_WAIT_S 10
/* The bar is redrawn at most every this many microseconds. */
#define BAR_INTERVAL_US (100 * 1000)

struct _SkCliJob
{
  SkBusJobWatch watch;
  gboolean cancel_sent;
  gboolean cancel_acked;
  guint cancels_pending; /* Cancel calls not answered yet */
  gboolean cancel_timed_out;
  /* the bar */
  gboolean bar;
  gboolean bar_shown;
  gint64 bar_drawn_us;
};

gboolean
sk_cli_use_service (SkCli *cli)
{
  return !cli->station_given;
}

gboolean
sk_cli_interrupted (SkCli *cli)
{
  return cli->interrupts > 0;
}

void
sk_cli_extra_merge (SkCli *cli, JsonObject *obj)
{
  JsonBuilder *b = sk_cli_extra (cli);
  g_autoptr (GList) members = obj != NULL ? json_object_get_members (obj) : NULL;
  for (GList *l = members; l != NULL; l = l->next)
    {
      json_builder_set_member_name (b, l->data);
      json_builder_add_value (b, json_node_copy (json_object_get_member (obj, l->data)));
    }
}

gint32
sk_cli_fd_append (GUnixFDList *fds, int fd, GError **error)
{
  /* The list keeps its own duplicate; ours is closed either way. */
  gint32 index = g_unix_fd_list_append (fds, fd, error);
  close (fd);
  return index;
}

/* ---- errors ------------------------------------------------------------- */

static void
set_unreachable (GError **error, const char *why)
{
  g_set_error (error, SK_ERROR, SK_ERROR_SERVICE_UNREACHABLE,
               _ ("the station service (sekishod) is not reachable on the system bus (%s): "
                  "start it with “systemctl start sekishod”, or on the standard system's side "
                  "name a station you own with --station DIR"),
               why);
}

/* A D-Bus error as the reason it stands for.  The bus's own errors about a
 * service that is not there (or went) are service-unreachable. */
static void
convert_error (GError **error)
{
  GError *e = *error;
  if (e == NULL)
    return;
  if (e->domain == SK_ERROR)
    {
      g_dbus_error_strip_remote_error (e);
      return;
    }
  if (e->domain == G_DBUS_ERROR &&
      (e->code == G_DBUS_ERROR_SERVICE_UNKNOWN || e->code == G_DBUS_ERROR_NAME_HAS_NO_OWNER ||
       e->code == G_DBUS_ERROR_NO_REPLY || e->code == G_DBUS_ERROR_DISCONNECTED ||
       e->code == G_DBUS_ERROR_SPAWN_FAILED || e->code == G_DBUS_ERROR_SPAWN_EXEC_FAILED ||
       e->code == G_DBUS_ERROR_SPAWN_CHILD_EXITED ||
       e->code == G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND || e->code == G_DBUS_ERROR_TIMED_OUT ||
       e->code == G_DBUS_ERROR_TIMEOUT))
    {
      g_autofree char *why = g_dbus_error_get_remote_error (e);
      *error = NULL;
      set_unreachable (error, why != NULL ? why : e->message);
      g_error_free (e);
      return;
    }
  if (e->domain == G_IO_ERROR && (e->code == G_IO_ERROR_CLOSED || e->code == G_IO_ERROR_TIMED_OUT))
    {
      *error = NULL;
      set_unreachable (error, e->message);
      g_error_free (e);
      return;
    }
  if (e->domain == G_DBUS_ERROR && e->code == G_DBUS_ERROR_ACCESS_DENIED)
    {
      /* The bus policy turned the caller away before the service saw it. */
      *error = NULL;
      g_set_error (error, SK_ERROR, SK_ERROR_ROLE_DENIED,
                   _ ("the system bus does not let this user call the station service"));
      g_error_free (e);
      return;
    }
  g_dbus_error_strip_remote_error (e);
}

/* ---- the connection ----------------------------------------------------- */

static GDBusConnection *
bus (SkCli *cli, GError **error)
{
  if (cli->bus != NULL)
    return cli->bus;
  /* jp.sekisho.Error.* come back as SK_ERROR only once the domain has
   * registered its D-Bus names. */
  (void)SK_ERROR;
  g_autoptr (GError) local = NULL;
  cli->bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &local);
  if (cli->bus == NULL)
    {
      set_unreachable (error, local->message);
      return NULL;
    }
  /* A service that dies must not take the client with it. */
  g_dbus_connection_set_exit_on_close (cli->bus, FALSE);
  return cli->bus;
}

void
sk_cli_bus_close (SkCli *cli)
{
  for (gsize i = 0; i < G_N_ELEMENTS (cli->signal_sources); i++)
    if (cli->signal_sources[i] != 0)
      g_source_remove (cli->signal_sources[i]);
  g_clear_object (&cli->bus);
}

GVariant *
sk_cli_call (SkCli *cli,
             const char *part,
             const char *method,
             GVariant *params,
             GUnixFDList *fds,
             GError **error)
{
  g_autoptr (GVariant) floating = params != NULL ? g_variant_ref_sink (params) : NULL;
  GDBusConnection *c = bus (cli, error);
  if (c == NULL)
    return NULL;
  g_autofree char *iface = g_strconcat (IFACE_PREFIX, part, NULL);
  GVariant *reply = g_dbus_connection_call_with_unix_fd_list_sync (
      c, BUS_NAME, OBJECT_PATH, iface, method, floating, NULL, G_DBUS_CALL_FLAGS_NONE,
      CALL_TIMEOUT_MS, fds, NULL, NULL, error);
  if (reply == NULL)
    convert_error (error);
  return reply;
}

static JsonObject *
parse_object (const char *text, GError **error)
{
  if (text == NULL || *text == '\0')
    return json_object_new ();
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, text, -1, NULL) ||
      !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR,
                           _ ("the station service answered with something that is not a JSON "
                              "object"));
      return NULL;
    }
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

JsonObject *
sk_cli_call_json (SkCli *cli,
                  const char *part,
                  const char *method,
                  GVariant *params,
                  GUnixFDList *fds,
                  GError **error)
{
  g_autoptr (GVariant) reply = sk_cli_call (cli, part, method, params, fds, error);
  if (reply == NULL)
    return NULL;
  if (!g_variant_is_of_type (reply, G_VARIANT_TYPE ("(s)")))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR,
                   _ ("the station service answered %s.%s with %s, not one text"), part, method,
                   g_variant_get_type_string (reply));
      return NULL;
    }
  const char *text;
  g_variant_get (reply, "(&s)", &text);
  return parse_object (text, error);
}

/* ---- the bar ------------------------------------------------------------ */

static char *
bytes_text (guint64 n)
{
  return g_format_size_full (n, G_FORMAT_SIZE_DEFAULT);
}

static void
bar_clear (SkCliJob *w)
{
  if (!w->bar_shown)
    return;
  fputs ("\r\033[K", stderr);
  fflush (stderr);
  w->bar_shown = FALSE;
}

/* A job's phase (a stable kebab-case word of core/sk-progress.h) for a
 * person; a phase this table does not know shows as it is. */
static const char *
phase_word (const char *phase)
{
  static const struct
  {
    const char *code;
    const char *word;
  } phases[] = {
    { "import", NC_ ("phase", "import") },       { "hand-off", NC_ ("phase", "hand-off") },
    { "take-in", NC_ ("phase", "take-in") },     { "export", NC_ ("phase", "export") },
    { "verify", NC_ ("phase", "verify") },       { "copy", NC_ ("phase", "copy") },
    { "decrypt", NC_ ("phase", "decrypt") },     { "write", NC_ ("phase", "write") },
    { "read-back", NC_ ("phase", "read-back") },
  };
  for (gsize i = 0; phase != NULL && i < G_N_ELEMENTS (phases); i++)
    if (g_str_equal (phases[i].code, phase))
      return g_dpgettext2 (GETTEXT_PACKAGE, "phase", phases[i].word);
  return phase != NULL && *phase != '\0' ? phase : "…";
}

static void
bar_draw (SkCliJob *w, gboolean force)
{
  if (!w->bar)
    return;
  gint64 now = g_get_monotonic_time ();
  if (!force && w->bar_shown && now - w->bar_drawn_us < BAR_INTERVAL_US)
    return;
  w->bar_drawn_us = now;
  g_autofree char *done = bytes_text (w->watch.done);
  g_autoptr (GString) line = g_string_new ("\r\033[K");
  const char *phase = phase_word (w->watch.phase);
  if (w->watch.total > 0)
    {
      enum
      {
        WIDTH = 24
      };
      guint64 done_units = MIN (w->watch.done, w->watch.total);
      guint filled = (guint)(done_units * WIDTH / w->watch.total);
      g_autofree char *total = bytes_text (w->watch.total);
      g_string_append_printf (line, "%-10s [", phase);
      for (guint i = 0; i < WIDTH; i++)
        g_string_append_c (line, i < filled ? '#' : ' ');
      g_string_append_printf (line, "] %3u%%  %s / %s", (guint)(done_units * 100 / w->watch.total),
                              done, total);
    }
  else
    g_string_append_printf (line, "%-10s %s", phase, done);
  if (w->cancel_sent)
    g_string_append_printf (line, "  %s", _ ("cancelling…"));
  fputs (line->str, stderr);
  fflush (stderr);
  w->bar_shown = TRUE;
}

/* ---- jobs --------------------------------------------------------------- */

static void
on_progress (SkBusJobWatch *watch, gboolean phase_changed, gpointer data)
{
  bar_draw (data, phase_changed);
}

/* A Cancel on its way: the job it was for, by path (the reply may come
 * when that job is long over). */
typedef struct
{
  SkCli *cli;
  char *path;
} CancelCall;

static void
on_cancel_done (GObject *source, GAsyncResult *res, gpointer data)
{
  CancelCall *call = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply =
      g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), res, &error);
  SkCliJob *w = call->cli->job;
  if (w != NULL && g_strcmp0 (w->watch.path, call->path) == 0)
    {
      w->cancels_pending--;
      if (reply != NULL)
        w->cancel_acked = TRUE;
      else
        g_debug ("cancel: %s", error->message);
      g_main_loop_quit (w->watch.loop);
    }
  g_free (call->path);
  g_free (call);
}

static void
send_cancel (SkCli *cli)
{
  SkCliJob *w = cli->job;
  if (w == NULL || w->watch.path == NULL || w->watch.finished)
    return;
  w->cancel_sent = TRUE;
  bar_draw (w, TRUE);
  CancelCall *call = g_new0 (CancelCall, 1);
  w->cancels_pending++;
  call->cli = cli;
  call->path = g_strdup (w->watch.path);
  g_dbus_connection_call (cli->bus, BUS_NAME, w->watch.path, JOB_IFACE, "Cancel", NULL, NULL,
                          G_DBUS_CALL_FLAGS_NONE, CALL_TIMEOUT_MS, NULL, on_cancel_done, call);
}

static gboolean
on_unix_signal (gpointer data)
{
  SkCli *cli = data;
  cli->interrupts++;
  /* Each signal asks again: a second Ctrl-C hurries nothing, and the
   * command still waits for the service to say the job stopped. */
  send_cancel (cli);
  if (cli->job != NULL)
    g_main_loop_quit (cli->job->watch.loop);
  return G_SOURCE_CONTINUE;
}

static void
watch_signals (SkCli *cli)
{
  if (cli->signal_sources[0] != 0)
    return;
  cli->signal_sources[0] = g_unix_signal_add (SIGINT, on_unix_signal, cli);
  cli->signal_sources[1] = g_unix_signal_add (SIGTERM, on_unix_signal, cli);
}

static gboolean
on_cancel_wait_over (gpointer data)
{
  SkCliJob *w = data;
  w->cancel_timed_out = TRUE;
  g_main_loop_quit (w->watch.loop);
  return G_SOURCE_REMOVE;
}

static void
job_free (SkCliJob *w)
{
  sk_bus_job_watch_clear (&w->watch);
  g_free (w);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkCliJob, job_free)

JsonObject *
sk_cli_run_job (SkCli *cli,
                const char *part,
                const char *method,
                GVariant *params,
                GUnixFDList *fds,
                GError **error)
{
  g_autoptr (GVariant) floating = params != NULL ? g_variant_ref_sink (params) : NULL;
  GDBusConnection *c = bus (cli, error);
  if (c == NULL)
    return NULL;
  if (sk_cli_interrupted (cli))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           _ ("cancelled before it began; nothing was kept"));
      return NULL;
    }
  watch_signals (cli);

  g_autoptr (SkCliJob) w = g_new0 (SkCliJob, 1);
  sk_bus_job_watch_init (&w->watch, c, BUS_NAME, JOB_IFACE, on_progress, w);
  w->bar = !cli->json && isatty (STDERR_FILENO);

  g_autoptr (GVariant) reply = sk_cli_call (cli, part, method, floating, fds, error);
  if (reply != NULL && !g_variant_is_of_type (reply, G_VARIANT_TYPE ("(o)")))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR,
                   _ ("the station service answered %s.%s with %s, not a job"), part, method,
                   g_variant_get_type_string (reply));
      g_clear_pointer (&reply, g_variant_unref);
    }
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(o)", &w->watch.path);

  cli->job = w;
  /* A signal that came while the call was on its way is honoured now. */
  if (sk_cli_interrupted (cli))
    send_cancel (cli);
  guint cancel_timer = 0;
  while (!w->watch.finished && !w->watch.vanished && !w->cancel_timed_out)
    {
      if (w->cancel_acked && cancel_timer == 0)
        cancel_timer = g_timeout_add_seconds (CANCEL_WAIT_S, on_cancel_wait_over, w);
      g_main_loop_run (w->watch.loop);
    }
  if (cancel_timer != 0 && !w->cancel_timed_out)
    g_source_remove (cancel_timer);
  /* Every Cancel sent is answered before the command ends: none is left
   * on its way, and none answers a later job. */
  while (w->cancels_pending > 0)
    g_main_loop_run (w->watch.loop);
  cli->job = NULL;
  bar_clear (w);

  if (w->watch.vanished && !w->watch.finished)
    {
      set_unreachable (error, _ ("the service left the bus while the job ran"));
      return NULL;
    }
  if (!w->watch.finished)
    {
      /* The service took the cancel but said no end in time: it stops at
       * its next step and keeps nothing, the core's promise. */
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           _ ("cancelled; the service stops the job and keeps nothing of it"));
      return NULL;
    }
  if (!w->watch.ok)
    {
      SkErrorCode code = SK_ERROR_IO_ERROR;
      if (g_strcmp0 (w->watch.reason, "cancelled") == 0)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             _ ("cancelled; nothing of it was kept"));
      else if (w->watch.reason != NULL && sk_error_code_from_reason (w->watch.reason, &code))
        g_set_error_literal (error, SK_ERROR, (gint)code, w->watch.message);
      else
        g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR, "%s", w->watch.message);
      return NULL;
    }
  return parse_object (w->watch.result, error);
}
