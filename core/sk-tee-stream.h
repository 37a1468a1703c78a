/* sk-tee-stream.h — a stream whose bytes are also handed to a second core
 *
 * Reading a package off a medium into the store, its signature's hash is
 * taken from the very bytes the store seals: every block read through this
 * stream is copied to an SkBlockWorker, which hashes it on the second core
 * while the store seals and writes on this one.  The stream also counts
 * what passes into an SkProgress, and stops when that is cancelled.
 */
#pragma once

#include <gio/gio.h>

#include "sk-block-worker.h"
#include "sk-progress.h"

G_BEGIN_DECLS

#define SK_TYPE_TEE_INPUT_STREAM (sk_tee_input_stream_get_type ())
G_DECLARE_FINAL_TYPE (
    SkTeeInputStream, sk_tee_input_stream, SK, TEE_INPUT_STREAM, GFilterInputStream)

/* FUNC (when not NULL) sees every byte read from BASE, in order, on another
 * thread.  PROGRESS (when not NULL) is told of every byte read, on the
 * reader's thread; once it is cancelled, reading fails with
 * G_IO_ERROR_CANCELLED. */
GInputStream *
sk_tee_input_stream_new (GInputStream *base,
                         SkBlockFunc func,
                         gpointer user_data,
                         SkProgress *progress);
/* Wait until FUNC has seen every byte read so far. */
gboolean
sk_tee_input_stream_finish (SkTeeInputStream *self, GError **error);

G_END_DECLS
