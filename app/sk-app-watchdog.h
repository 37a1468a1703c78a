/* sk-app-watchdog.h — a test-only measure of the main loop's longest stall
 *
 * DESIGN.md §10: the GUI never blocks its main loop for more than 50 ms.
 * With SEKISHO_GTK_WATCHDOG=1 in the environment (tests only; nothing else
 * changes), the main context's poll is wrapped: the time from poll's
 * return to the next poll is one iteration of the app's own work, and the
 * longest is kept.  On a shared machine an iteration may be stretched by
 * the kernel running other processes: in an iteration where the main
 * thread was preempted (an involuntary context switch) only the time it
 * ran counts; one without counts whole, so a blocking call still counts.
 * A high-priority 5 ms tick also keeps the longest gap between ticks (wall
 * clock, for comparison).  SIGUSR1 prints both on standard error and
 * starts over, so that a test measures exactly the
 * span it cares about (e.g. while an import runs):
 *
 *     sekisho-gtk watchdog: longest stall 71.6 ms over 4.1 s (630 ticks; it
 *     ended 3.21 s in; main thread CPU in it 2.1 ms); longest of the app's own 9.8 ms
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Starts the watchdog when the environment asks for it; does nothing
 * otherwise.  Call once, from the main thread. */
void
sk_app_watchdog_start_if_asked (void);

G_END_DECLS
