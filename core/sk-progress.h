/* sk-progress.h — how far a long call is, and the way to stop it
 *
 * A long core call (import, hand-off, take-in, export, pack, check, unpack,
 * journal verify and export) is given an SkProgress (or NULL) beside its
 * GCancellable.  It names each phase with the number of units (bytes, or
 * journal rows) the phase will handle, adds what it has done as it goes, and
 * stops when the progress's GCancellable fires: sk_progress_add () then
 * fails with G_IO_ERROR_CANCELLED, so a loop that reports its progress also
 * notices a cancellation at once.  Within a phase, done only grows, and a
 * phase that ends well has reached its total.
 *
 * Worker threads update it.  Adding is cheap: an atomic add and an atomic
 * read, no lock (the lock is taken at a change of phase, and at most once per
 * interval to ask for a signal).  Whoever made it is told on its own
 * GMainContext through the "changed" signal — never from the worker thread —
 * at most every SK_PROGRESS_INTERVAL_MS with the latest figures, and with
 * the last figures of every phase that ended, in order: a job of a few
 * phases sends at most a few hundred signals, and the owner always sees
 * each phase end where it ended.  A NULL SkProgress is allowed everywhere
 * and does nothing.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SK_PROGRESS_INTERVAL_MS 100

/* The phases of the long calls.  Their strings are stable: the service
 * sends them in its Progress signal, and the app and the command line
 * translate them for the person watching. */
typedef enum
{
  SK_PROGRESS_PHASE_COPY,      /* "copy": bytes read from a medium into the store */
  SK_PROGRESS_PHASE_VERIFY,    /* "verify": bytes hashed for the signature */
  SK_PROGRESS_PHASE_VALIDATE,  /* "validate": bytes of files decrypted, unpacked and validated */
  SK_PROGRESS_PHASE_HASH,      /* "hash": bytes of files to pack, hashed for the manifest */
  SK_PROGRESS_PHASE_WRITE,     /* "write": bytes of files written into a package */
  SK_PROGRESS_PHASE_READ_BACK, /* "read-back": bytes of a written package read back */
  SK_PROGRESS_PHASE_SEAL,      /* "seal": bytes of a result sealed into the store */
  SK_PROGRESS_PHASE_JOURNAL,   /* "journal": rows of the journal verified or exported */
} SkProgressPhase;

#define SK_PROGRESS_N_PHASES (SK_PROGRESS_PHASE_JOURNAL + 1)

/* The stable kebab-case name of PHASE. */
const char *
sk_progress_phase_to_string (SkProgressPhase phase);

#define SK_TYPE_PROGRESS (sk_progress_get_type ())
G_DECLARE_FINAL_TYPE (SkProgress, sk_progress, SK, PROGRESS, GObject)

/* "changed" is emitted on the thread-default main context of the caller of
 * sk_progress_new ().  CANCELLABLE may be NULL (a new one is made). */
SkProgress *
sk_progress_new (GCancellable *cancellable);

GCancellable *
sk_progress_get_cancellable (SkProgress *self);

/* Start PHASE of TOTAL units; done restarts at 0.  Fails when cancelled. */
gboolean
sk_progress_begin (SkProgress *self, SkProgressPhase phase, guint64 total, GError **error);

/* DONE more units of the current phase are done.  Fails with
 * G_IO_ERROR_CANCELLED when the cancellable fired. */
gboolean
sk_progress_add (SkProgress *self, guint64 done, GError **error);

/* Whether PROGRESS (which may be NULL) or CANCELLABLE was cancelled: ERROR
 * is then G_IO_ERROR_CANCELLED.  For the block loops of the long calls,
 * which are given both. */
gboolean
sk_progress_set_error_if_cancelled (SkProgress *progress,
                                    GCancellable *cancellable,
                                    GError **error);

/* The latest figures; PHASE is NULL before the first phase. */
void
sk_progress_get (SkProgress *self, char **out_phase, guint64 *out_done, guint64 *out_total);

G_END_DECLS
