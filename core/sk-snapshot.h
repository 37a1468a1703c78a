/* sk-snapshot.h — a package read once, into memory nobody else can change
 *
 * Acceptance 2 reads a package from the medium once.  What is read goes
 * into a snapshot: an anonymous file in memory (memfd) that no other
 * process can name, sealed once whole, so that what was verified is what
 * is decrypted.
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
void
sk_snapshot_free (SkSnapshot *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkSnapshot, sk_snapshot_free)

/* Append LEN bytes. */
gboolean
sk_snapshot_append (SkSnapshot *self, const guint8 *data, gsize len, GError **error);
/* The snapshot is whole: sealed here against any change (FALSE when that
 * fails). */
gboolean
sk_snapshot_seal (SkSnapshot *self, GError **error);
/* The snapshot's own descriptor (the snapshot keeps it). */
int
sk_snapshot_get_fd (SkSnapshot *self);

G_END_DECLS
