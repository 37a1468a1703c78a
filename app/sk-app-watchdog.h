/* sk-app-watchdog.h — a test-only measure of the main loop's longest stall
 *
 * DESIGN.md §10: the GUI never blocks its main loop for more than 50 ms.
 * With SEKISHO_GTK_WATCHDOG=1 in the environment (tests only; nothing else
 * changes), a high-priority timer ticks every few milliseconds and keeps
 * the longest gap between two ticks beyond the period.  SIGUSR1 prints the
 * longest stall since the previous SIGUSR1 on standard error and starts
 * over, so that a test measures exactly the span it cares about (e.g. while
 * an import runs):
 *
 *     sekisho-gtk watchdog: longest stall 12.3 ms over 4.1 s (517 ticks)
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Starts the watchdog when the environment asks for it; does nothing
 * otherwise.  Call once, from the main thread. */
void
sk_app_watchdog_start_if_asked (void);

G_END_DECLS
