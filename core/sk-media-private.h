/* sk-media-private.h — what sk-media.c shares with sk-media-transfer.c */
#pragma once

#include "sk-media.h"
#include "sk-mount.h"

G_BEGIN_DECLS

/* {"medium": id, "class": …, "number": …, KEY: VALUE …}, values escaped. */
char *
_sk_media_details (const SkMedium *m, const char *first_key, ...) G_GNUC_NULL_TERMINATED;
/* One journal entry about M in a transaction of its own; REFUSAL (may be
 * NULL) gives the outcome and reason. */
void
_sk_media_journal (SkMedia *self,
                   const SkActor *actor,
                   const char *event,
                   const SkMedium *m,
                   const GError *refusal,
                   const char *case_id,
                   const char *details);

/* The register's row M's token proves, on *IO_MOUNT when it points at a
 * mount, else on a read-only mount made here (and returned there when
 * IO_MOUNT is given). */
SkMediumRecord *
_sk_media_check_registered (SkMedia *self, const SkMedium *m, SkMount **io_mount, GError **error);

/* Mark M busy with a cancellable that its removal, or the caller's
 * CANCELLABLE, cancels; end_operation clears it. */
GCancellable *
_sk_media_begin_operation (SkMedia *self,
                           const SkMedium *m,
                           GCancellable *cancellable,
                           gulong *out_handler,
                           GError **error);
void
_sk_media_end_operation (SkMedia *self,
                         const SkMedium *m,
                         GCancellable *cancellable,
                         gulong handler);

/* Whether M is gone: no longer followed, or no longer in sysfs. */
gboolean
_sk_media_gone (SkMedia *self, const SkMedium *m);
/* Turn whatever ended an operation into media-removed when M went,
 * saying WHAT_AGAIN must be done. */
void
_sk_media_explain_removal (SkMedia *self,
                           const SkMedium *m,
                           const char *what_again,
                           GError **error);

G_END_DECLS
