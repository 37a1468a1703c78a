/* sekishod.c — the Sekisho station service (DESIGN.md §11)
 *
 *   sekishod [--station DIR] [--handoff-root DIR] [--sweep-seconds N]
 *   sekishod --sweep-once [--station DIR] [--handoff-root DIR]
 *
 * The second form is sekisho-sweep.service's: one sweep, then exit.
 * Owns jp.sekisho.Station1 on the system bus (DBUS_SYSTEM_BUS_ADDRESS is
 * honoured, as GIO does), refuses to start on a station directory that is
 * not its own, recovers and sweeps at start, and sweeps on a timer.
 */
#define G_LOG_DOMAIN "sekishod"

#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <malloc.h>
#include <sys/stat.h>

#include "sk-error.h"
#include "sk-pipeline.h"
#include "sk-process.h"
#include "sk-service.h"

typedef struct
{
  GMainLoop *loop;
  SkService *service;
  char *station_dir;
  char *handoff_root;
  guint sweep_seconds;
  int status;
} Daemon;

static void
on_bus_acquired (GDBusConnection *connection, const char *name, gpointer data)
{
  Daemon *d = data;
  g_autoptr (GError) error = NULL;

  d->service = sk_service_new (connection, d->station_dir, d->handoff_root, &error);
  if (d->service == NULL)
    {
      g_printerr ("sekishod: %s\n", error->message);
      d->status = 3;
      g_main_loop_quit (d->loop);
      return;
    }
  sk_service_start_sweeping (d->service, d->sweep_seconds);
}

static void
on_name_acquired (GDBusConnection *connection, const char *name, gpointer data)
{
  g_message ("serving %s", name);
}

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer data)
{
  Daemon *d = data;
  if (d->status == 0)
    {
      g_printerr ("sekishod: %s\n", connection == NULL
                                        ? "the system bus cannot be reached"
                                        : "the bus name is taken or not ours to own");
      d->status = 3;
    }
  g_main_loop_quit (d->loop);
}

/* One sweep of the station, as sekisho-sweep.service runs it. */
static int
sweep_once (const char *station_dir, const char *handoff_root)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_station_open (station_dir, &error);
  g_autoptr (SkPolicy) policy = station != NULL ? sk_station_load_policy (station, &error) : NULL;
  g_autoptr (SkPipeline) pipeline =
      policy != NULL ? sk_pipeline_new (station, policy, handoff_root, &error) : NULL;
  gint64 removed = pipeline != NULL ? sk_pipeline_sweep (pipeline, &error) : -1;
  if (removed < 0 || error != NULL)
    {
      g_printerr ("sekishod: %s\n", error != NULL ? error->message : "the sweep failed");
      return error != NULL ? (int)sk_error_get_exit_class (error) : 3;
    }
  g_message ("the sweep removed %" G_GINT64_FORMAT " item(s)", removed);
  return 0;
}

static gboolean
on_term (gpointer data)
{
  Daemon *d = data;
  g_main_loop_quit (d->loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  Daemon d = { 0 };
  g_autofree char *station = NULL, *handoff = NULL;
  gint sweep = 60;
  gboolean once = FALSE;
  const GOptionEntry entries[] = {
    { "station", 0, 0, G_OPTION_ARG_FILENAME, &station,
      "The station directory (default /var/lib/sekisho)", "DIR" },
    { "handoff-root", 0, 0, G_OPTION_ARG_FILENAME, &handoff,
      "The tmpfs hand-off root (default /run/sekisho)", "DIR" },
    { "sweep-seconds", 0, 0, G_OPTION_ARG_INT, &sweep, "Seconds between sweeps (default 60)", "N" },
    { "sweep-once", 0, 0, G_OPTION_ARG_NONE, &once,
      "Sweep the station once and exit (sekisho-sweep.service)", NULL },
    { NULL },
  };

  setlocale (LC_ALL, "");
  /* Refusals reach clients in the service's language (the terminal's).
   * $SEKISHO_LOCALEDIR lets the tests use the build tree's catalogue, as
   * the CLI's does; the unit's environment is the administrator's. */
  const char *localedir = secure_getenv ("SEKISHO_LOCALEDIR");
  bindtextdomain (GETTEXT_PACKAGE, localedir != NULL ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  /* Calls run in short-lived worker threads; with a malloc arena each, the
   * service's memory grew by megabytes under load without a leak
   * (tests/service: /service/load).  Two arenas keep it flat. */
  mallopt (M_ARENA_MAX, 2);
  /* Package data moves in blocks of a few hundred KiB: kept out of the
   * heap (mmap, given back when freed) instead of glibc raising its mmap
   * threshold after the first free and fragmenting the heap with them. */
  mallopt (M_MMAP_THRESHOLD, 128 * 1024);
  /* Nothing the service makes is for anyone else. */
  umask (077);
  /* The store's keys and decrypted packages are in this memory: no core
   * dump, no ptrace by another process of the service's user. */
  g_autoptr (GError) error = NULL;
  if (!sk_process_harden (&error))
    {
      g_printerr ("sekishod: %s\n", error->message);
      return 3;
    }

  g_autoptr (GOptionContext) context = g_option_context_new (NULL);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 1 || sweep <= 0)
    {
      g_printerr ("sekishod: %s\n", error != NULL ? error->message : "bad arguments");
      return 2;
    }
  d.station_dir = station != NULL ? station : (char *)"/var/lib/sekisho";
  d.handoff_root = handoff != NULL ? handoff : (char *)"/run/sekisho";
  d.sweep_seconds = (guint)sweep;

  /* Fail before taking the name: a client never reaches a service that
   * would refuse to run. */
  if (!sk_service_check_station_dir (d.station_dir, &error))
    {
      g_printerr ("sekishod: %s\n", error->message);
      return 3;
    }
  if (once)
    return sweep_once (d.station_dir, d.handoff_root);

  (void)sk_error_quark (); /* the jp.sekisho.Error.* names */
  d.loop = g_main_loop_new (NULL, FALSE);
  guint owner =
      g_bus_own_name (G_BUS_TYPE_SYSTEM, "jp.sekisho.Station1", G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE,
                      on_bus_acquired, on_name_acquired, on_name_lost, &d, NULL);
  g_unix_signal_add (SIGTERM, on_term, &d);
  g_unix_signal_add (SIGINT, on_term, &d);
  g_main_loop_run (d.loop);
  g_bus_unown_name (owner);
  g_clear_object (&d.service);
  g_main_loop_unref (d.loop);
  return d.status;
}
