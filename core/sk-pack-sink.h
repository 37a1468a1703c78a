/* sk-pack-sink.h — where pack's encrypted message goes
 *
 * The message is copied into a ring of 12 MiB; one thread hashes each step
 * of it for the signature and writes it to the package file (past the page
 * cache where the file system allows), another reads it back from the
 * medium a step behind and compares it byte for byte with the ring.  The
 * encrypting thread waits only when the ring is full.
 */
#pragma once

#include <glib.h>

#include "sk-hash.h"

G_BEGIN_DECLS

typedef struct _SkPackSink SkPackSink;

/* Start writing to FD (the package's temporary, open read-write), hashing
 * what is written into SUM (not owned; untouched after finish). */
SkPackSink *
sk_pack_sink_start (int fd, SkDigest *sum, GError **error);

/* The message's next bytes (an SkKeyringSink); FALSE once writing or
 * reading back has failed. */
gboolean
sk_pack_sink_out (const guint8 *data, gsize len, gpointer sink, GError **error);

/* The end of the message (OK: it is complete; else abandon it): wait until
 * all is written, then (after the fault point "pack-before-fsync") read
 * back, and free SINK.  TRUE with *OUT_MISMATCH when something read back
 * differs; *OUT_IO_FAILED when the medium failed. */
gboolean
sk_pack_sink_finish (
    SkPackSink *sink, gboolean ok, gboolean *out_mismatch, gboolean *out_io_failed, GError **error);

G_END_DECLS
