/* sk-progress.h — how far a long call is, and the way to stop it
 *
 * A long core call (import, hand-off, take-in, export, pack, check, unpack,
 * journal verify and export) is given an SkProgress.  It names its phase
 * with the number of bytes (or rows) the phase will handle, adds what it
 * has done as it goes, and stops when the progress's GCancellable fires:
 * sk_progress_add () then fails with G_IO_ERROR_CANCELLED, so a loop that
 * reports its progress also notices a cancellation at once.
 *
 * Worker threads update it; it is cheap (one uncontended lock per call) and never
 * blocks them.  Whoever made it is told on its own GMainContext through the
 * "changed" signal, at most every SK_PROGRESS_INTERVAL_MS and once at every
 * change of phase, with the latest figures — never from the worker thread.
 * A NULL SkProgress is allowed everywhere and does nothing.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SK_PROGRESS_INTERVAL_MS 100

#define SK_TYPE_PROGRESS (sk_progress_get_type ())
G_DECLARE_FINAL_TYPE (SkProgress, sk_progress, SK, PROGRESS, GObject)

/* "changed" is emitted on the thread-default main context of the caller of
 * sk_progress_new ().  CANCELLABLE may be NULL (a new one is made). */
SkProgress *
sk_progress_new (GCancellable *cancellable);

GCancellable *
sk_progress_get_cancellable (SkProgress *self);

/* Start phase PHASE (a stable kebab-case word: "copy", "verify",
 * "decrypt", "write", "read-back", ...) of TOTAL units; done restarts at 0.
 * Fails when cancelled. */
gboolean
sk_progress_begin (SkProgress *self, const char *phase, guint64 total, GError **error);

/* DONE more units of the current phase are done.  Fails with
 * G_IO_ERROR_CANCELLED when the cancellable fired. */
gboolean
sk_progress_add (SkProgress *self, guint64 done, GError **error);

/* The latest figures; PHASE is NULL before the first phase. */
void
sk_progress_get (SkProgress *self, char **out_phase, guint64 *out_done, guint64 *out_total);

G_END_DECLS
