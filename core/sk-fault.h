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

G_END_DECLS
