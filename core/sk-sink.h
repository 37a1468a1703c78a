/* sk-sink.h — a file written on a thread of its own, past the page cache
 *
 * What is written is copied into a ring of 12 MiB; one thread hashes each
 * step of it (for pack's signature) and writes it to the file (past the
 * page cache where the file system allows); for a package, another reads
 * it back from the medium a step behind and compares it byte for byte with
 * the ring.  The thread that writes waits only when the ring is full.
 * Pack's encrypted message goes to a medium so; the store's sealed copies
 * go to the station's disk so, without read-back (each chunk is
 * authenticated whenever it is opened).
 */
#pragma once

#include <glib.h>

#include "sk-hash.h"

G_BEGIN_DECLS

typedef struct _SkSink SkSink;

/* Start writing to FD (open read-write with READ_BACK, else at least
 * write-only), hashing what is written into SUM (NULL: none; not owned;
 * untouched after finish).  WRITING names what a failed write was doing, in
 * its error (a translated string that outlives the sink). */
SkSink *
sk_sink_start (int fd, SkDigest *sum, gboolean read_back, const char *writing, GError **error);

/* The message's next bytes (an SkKeyringSink); FALSE once writing or
 * reading back has failed. */
gboolean
sk_sink_out (const guint8 *data, gsize len, gpointer sink, GError **error);

/* The end of the file (OK: it is complete; else abandon it): wait until
 * all is written, then (with read-back, after the fault point
 * "pack-before-fsync") read back, and free SINK.  TRUE with *OUT_MISMATCH
 * when something read back differs; *OUT_IO_FAILED when the medium failed.
 * The file is not fsynced here. */
gboolean
sk_sink_finish (
    SkSink *sink, gboolean ok, gboolean *out_mismatch, gboolean *out_io_failed, GError **error);

G_END_DECLS
