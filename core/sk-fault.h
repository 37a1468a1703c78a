/* sk-fault.h — crash points for the crash-safety tests
 *
 * Every write path names its fsync and rename boundaries with
 * sk_fault_point ().  When the environment variable SEKISHO_FAULT is
 * "NAME" or "NAME:N", the process kills itself with SIGKILL at the first (or
 * the Nth) time it reaches point NAME, as a power cut would.  Without the
 * variable a point costs one comparison.  The tests kill at each point in
 * turn and check that the next open loses nothing acknowledged and shows
 * nothing half-written.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void
sk_fault_point (const char *name);

/* In-process tests that need something to happen at a point — a medium
 * pulled while a package is written — set a hook, which is called with the
 * point's name before the SEKISHO_FAULT check.  NULL removes it. */
typedef void (*SkFaultHook) (const char *name, gpointer user_data);
void
sk_fault_set_hook (SkFaultHook hook, gpointer user_data);

G_END_DECLS
