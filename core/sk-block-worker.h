/* sk-block-worker.h — work on a stream's blocks on the second core
 *
 * A stream read in blocks often needs two things done to each block (hash
 * it and validate it; hash it and copy it).  The reader hands each block to
 * a worker thread, which does one of them while the reader does the other,
 * on the same buffer: a small ring of buffers, recycled once both are done
 * with them, so memory stays flat.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What the worker does with each block; FALSE (with ERROR) stops it: later
 * blocks are skipped and finish() reports the error. */
typedef gboolean (*SkBlockFunc) (const guint8 *data, gsize len, gpointer user_data, GError **error);

typedef struct _SkBlockWorker SkBlockWorker;

SkBlockWorker *
sk_block_worker_new (const char *name, SkBlockFunc func, gpointer user_data, gsize block_size);
/* A buffer of block_size bytes to read the next block into.  The buffer
 * handed over last stays the caller's to read until this is called again. */
guint8 *
sk_block_worker_get_buffer (SkBlockWorker *worker);
/* Hand over LEN bytes of BUF, the buffer get_buffer() returned last. */
void
sk_block_worker_push (SkBlockWorker *worker, guint8 *buf, gsize len);
/* Wait for every block handed over; FALSE with the worker's error. */
gboolean
sk_block_worker_finish (SkBlockWorker *worker, GError **error);
/* Stops the thread (finishing first if need be). */
void
sk_block_worker_free (SkBlockWorker *worker);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkBlockWorker, sk_block_worker_free)

G_END_DECLS
