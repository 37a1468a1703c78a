/* sk-fault.h — crash points for the crash-safety tests
 *
 * Every write path names its fsync and rename boundaries with
 * sk_fault_point ().  In a build with fault points (-Dfault_points=enabled,
 * or a development build type; scripts/test asks for them), when the
 * environment variable SEKISHO_FAULT is "NAME" or "NAME:N", the process
 * kills itself with SIGKILL at the first (or the Nth) time it reaches point
 * NAME, as a power cut would.  Without
 * the variable a point costs one comparison.  The tests kill at each point
 * in turn and check that the next open loses nothing acknowledged and shows
 * nothing half-written.
 *
 * A production build (buildtype release, plain or minsize, or
 * -Dfault_points=disabled) has no fault points at all:
 * sk_fault_point () compiles to nothing, no point's name is in the binary,
 * and SEKISHO_FAULT is never read.  Include config.h before this header.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TRUE when this build has fault points; tests that need them skip
 * otherwise. */
gboolean
sk_fault_compiled_in (void);

/* In-process tests that need something to happen at a point — a medium
 * pulled while a package is written — set a hook, which is called with the
 * point's name before the SEKISHO_FAULT check.  NULL removes it.  Without
 * fault points the hook is never called. */
typedef void (*SkFaultHook) (const char *name, gpointer user_data);
void
sk_fault_set_hook (SkFaultHook hook, gpointer user_data);

#ifdef SK_FAULT_POINTS
void
sk_fault_point (const char *name);
#else
#define sk_fault_point(name) ((void)0)
#endif

G_END_DECLS
