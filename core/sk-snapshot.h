/* sk-snapshot.h — a package read once, into memory nobody else can change
 *
 * Acceptance 2 reads a package from the medium once.  What is read goes
 * into a snapshot: an anonymous file in memory (memfd) that no other
 * process can name, sealed once whole, so that what was verified is what
 * is decrypted.  While it fills, other threads may already read what has
 * arrived (the store seals its own copy from it as it comes, so that the
 * disk starts writing at once); each waits for the bytes it needs.
 *
 * It is written by one thread, in order, and is not part of the process's
 * resident set: it is read with pread(), never mapped whole.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _SkSnapshot SkSnapshot;

SkSnapshot *
sk_snapshot_new (GError **error);
SkSnapshot *
sk_snapshot_ref (SkSnapshot *self);
void
sk_snapshot_unref (SkSnapshot *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkSnapshot, sk_snapshot_unref)

/* Append LEN bytes (the writer's thread only). */
gboolean
sk_snapshot_append (SkSnapshot *self, const guint8 *data, gsize len, GError **error);
/* The writer is done: with ERROR NULL the snapshot is whole, and is sealed
 * here (FALSE when that fails); else readers waiting for more get a copy
 * of ERROR.  Takes ERROR. */
gboolean
sk_snapshot_end (SkSnapshot *self, GError *failure, GError **error);
/* Fill BUF with LEN bytes from offset FROM, waiting for them to arrive.
 * FALSE with ERROR when the writer failed, the snapshot ended before
 * FROM + LEN, or CANCELLABLE fired.  Any thread, at its own offset. */
gboolean
sk_snapshot_read (SkSnapshot *self,
                  guint64 from,
                  guint8 *buf,
                  gsize len,
                  GCancellable *cancellable,
                  GError **error);
/* The snapshot's own descriptor (the snapshot keeps it). */
int
sk_snapshot_get_fd (SkSnapshot *self);

G_END_DECLS
