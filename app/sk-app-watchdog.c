/* sk-app-watchdog.c — the main loop's longest stall, for tests */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>

#include "sk-app-watchdog.h"

/* Short against the 50 ms bound, long enough to cost nothing measurable. */
#define TICK_MS 5

typedef struct
{
  gint64 last_tick; /* monotonic µs */
  gint64 since;     /* start of the span being measured */
  gint64 longest;   /* longest stall in the span, µs */
  guint64 ticks;
} Watchdog;

static Watchdog watchdog;

static gboolean
on_tick (gpointer data)
{
  gint64 now = g_get_monotonic_time ();
  gint64 stall = now - watchdog.last_tick - TICK_MS * 1000;

  if (stall > watchdog.longest)
    watchdog.longest = stall;
  watchdog.last_tick = now;
  watchdog.ticks++;
  return G_SOURCE_CONTINUE;
}

static gboolean
on_report (gpointer data)
{
  gint64 now = g_get_monotonic_time ();

  /* The tick that would have come during this handler is not a stall. */
  on_tick (NULL);
  /* Standard error, flushed: the test reads it while the app runs. */
  fprintf (stderr,
           "sekisho-gtk watchdog: longest stall %.1f ms over %.1f s (%" G_GUINT64_FORMAT
           " ticks)\n",
           (double)MAX (0, watchdog.longest) / 1000.0, (double)(now - watchdog.since) / 1e6,
           watchdog.ticks);
  fflush (stderr);
  watchdog.since = now;
  watchdog.longest = 0;
  watchdog.ticks = 0;
  return G_SOURCE_CONTINUE;
}

void
sk_app_watchdog_start_if_asked (void)
{
  static gboolean started;

  if (started || g_strcmp0 (g_getenv ("SEKISHO_GTK_WATCHDOG"), "1") != 0)
    return;
  started = TRUE;
  watchdog.last_tick = watchdog.since = g_get_monotonic_time ();
  /* Above the redraw and the D-Bus replies: the tick runs as soon as the
   * loop is free, so the gap is how long the loop was not. */
  g_timeout_add_full (G_PRIORITY_HIGH, TICK_MS, on_tick, NULL, NULL);
  g_unix_signal_add (SIGUSR1, on_report, NULL);
  g_message ("main-loop watchdog on (SEKISHO_GTK_WATCHDOG=1)");
}
