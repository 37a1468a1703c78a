/* sk-app-watchdog.c — the main loop's longest stall, for tests */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>

#include "sk-app-watchdog.h"

/* Short against the 50 ms bound, long enough to cost nothing measurable. */
#define TICK_MS 5

typedef struct
{
  gint64 last_tick;   /* monotonic µs */
  gint64 last_cpu;    /* the main thread's CPU time at the last tick, µs */
  glong last_nivcsw;  /* its involuntary context switches then */
  gint64 since;       /* start of the span being measured */
  gint64 longest;     /* longest gap beyond the period (wall clock), µs */
  gint64 longest_own; /* longest stall of the app's own making, µs */
  gint64 longest_at;  /* when the longest gap ended, µs after the span began */
  gint64 longest_cpu; /* the main thread's CPU time during it, µs */
  guint64 ticks;
  /* One iteration's work: from poll's return to the next poll. */
  gint64 dispatch_start; /* monotonic µs, 0 before the first poll */
  gint64 dispatch_cpu;
  glong dispatch_nivcsw;
} Watchdog;

static GPollFunc default_poll;

static Watchdog watchdog;

/* This (the main) thread's CPU time and involuntary switches. */
static void
thread_usage (gint64 *cpu_us, glong *nivcsw)
{
  struct rusage ru;

  if (getrusage (RUSAGE_THREAD, &ru) != 0)
    {
      *cpu_us = 0;
      *nivcsw = 0;
      return;
    }
  *cpu_us = (gint64)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * G_USEC_PER_SEC +
            ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
  *nivcsw = ru.ru_nivcsw;
}

static gboolean
on_tick (gpointer data)
{
  gint64 now = g_get_monotonic_time ();
  gint64 cpu;
  glong nivcsw;

  thread_usage (&cpu, &nivcsw);
  gint64 stall = now - watchdog.last_tick - TICK_MS * 1000;
  gint64 used = cpu - watchdog.last_cpu;
  /* A gap in which the kernel took the CPU away (an involuntary switch)
   * is the machine's as far as the app did not run: only the time the
   * main thread ran in it is the app's.  A gap without one (the thread
   * ran or blocked all along) is the app's whole. */
  (void)used;

  if (stall > watchdog.longest)
    {
      watchdog.longest = stall;
      watchdog.longest_at = now - watchdog.since;
      watchdog.longest_cpu = used;
    }
  watchdog.last_tick = now;
  watchdog.last_cpu = cpu;
  watchdog.last_nivcsw = nivcsw;
  watchdog.ticks++;
  return G_SOURCE_CONTINUE;
}

/* The main loop's poll: the time outside it is the app's work.  An
 * iteration in which the kernel took the CPU away (an involuntary switch)
 * counts only the time the main thread ran; one without counts whole (a
 * blocking call in it counts). */
static gint
watchdog_poll (GPollFD *fds, guint n_fds, gint timeout)
{
  gint64 now = g_get_monotonic_time ();
  gint64 cpu;
  glong nivcsw;

  thread_usage (&cpu, &nivcsw);
  if (watchdog.dispatch_start != 0)
    {
      gint64 wall = now - watchdog.dispatch_start;
      gint64 used = cpu - watchdog.dispatch_cpu;
      gint64 own = nivcsw != watchdog.dispatch_nivcsw ? MIN (wall, used) : wall;
      watchdog.longest_own = MAX (watchdog.longest_own, own);
    }
  gint result = default_poll (fds, n_fds, timeout);
  watchdog.dispatch_start = g_get_monotonic_time ();
  thread_usage (&watchdog.dispatch_cpu, &watchdog.dispatch_nivcsw);
  return result;
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
           " ticks; it ended %.2f s in; main thread CPU in it %.1f ms); longest of the app's own "
           "%.1f ms\n",
           (double)MAX (0, watchdog.longest) / 1000.0, (double)(now - watchdog.since) / 1e6,
           watchdog.ticks, (double)watchdog.longest_at / 1e6, (double)watchdog.longest_cpu / 1000.0,
           (double)MAX (0, watchdog.longest_own) / 1000.0);
  fflush (stderr);
  watchdog.since = now;
  watchdog.longest = 0;
  watchdog.longest_own = 0;
  watchdog.longest_at = 0;
  watchdog.longest_cpu = 0;
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
  thread_usage (&watchdog.last_cpu, &watchdog.last_nivcsw);
  /* Above the redraw and the D-Bus replies: the tick runs as soon as the
   * loop is free, so the gap is how long the loop was not. */
  g_timeout_add_full (G_PRIORITY_HIGH, TICK_MS, on_tick, NULL, NULL);
  default_poll = g_main_context_get_poll_func (NULL);
  g_main_context_set_poll_func (NULL, watchdog_poll);
  g_unix_signal_add (SIGUSR1, on_report, NULL);
  g_message ("main-loop watchdog on (SEKISHO_GTK_WATCHDOG=1)");
}
