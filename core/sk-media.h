/* sk-media.h — which devices are media, and moving packages on and off them
 *
 * Only USB mass storage (every interface of the USB device of class 08) and
 * optical drives are media; anything else a block device can be (internal
 * disks, SD hosts not on USB, loop, network block devices) is not, and is
 * ignored.  A USB device that offers any other interface beside its storage
 * — a keyboard (HID), a network or wireless adapter, a vendor-specific
 * interface — is refused as media-class and journaled: the BadUSB case.
 *
 * SkMedia follows SkUdev's signals, journals every medium seen
 * (media-inserted, media-refused, media-removed) with its escaped identity
 * and, when its token proves it registered, its 管理番号, and re-emits them
 * as "medium-added", "medium-refused" and "medium-removed".  When a medium
 * in use goes, the operation on it is cancelled at once and ends with
 * media-removed.
 *
 * Import mounts read-only and reads each package once into the store through
 * the pipeline, then unmounts before returning any verification result.
 * Export checks the free space first, writes the package through the
 * pipeline on a read-write mount, hashes what it wrote, unmounts, mounts
 * read-only, reads every byte back and compares: "nothing of the package is
 * on the medium" (media-not-written, media-full) is told apart from "it is
 * there but reading it back failed" (media-readback-mismatch).
 */
#pragma once

#include <gio/gio.h>

#include "sk-media-register.h"
#include "sk-pipeline.h"
#include "sk-udev.h"

G_BEGIN_DECLS

typedef enum
{
  SK_MEDIUM_CLASS_NONE, /* not a medium: ignored */
  SK_MEDIUM_CLASS_USB_STORAGE,
  SK_MEDIUM_CLASS_OPTICAL,
} SkMediumClass;

/* "usb-storage", "optical", or NULL for NONE. */
const char *
sk_medium_class_to_string (SkMediumClass klass);

/* Judge one block device.  FALSE with media-class for a USB device with
 * anything but mass-storage interfaces. */
gboolean
sk_media_classify (const SkBlockDevice *dev, SkMediumClass *out_class, GError **error);

typedef struct
{
  char *id;            /* the medium's id while it is inserted: "m1", "m2", … */
  SkBlockDevice *disk; /* the whole disk */
  SkMediumClass klass;
  char *refused_reason; /* NULL, or the reason it may not be used */
  char *number;         /* 管理番号 when its token proved it registered, else NULL */
} SkMedium;

SkMedium *
sk_medium_copy (const SkMedium *m);
void
sk_medium_free (SkMedium *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkMedium, sk_medium_free)
GType
sk_medium_get_type (void);
#define SK_TYPE_MEDIUM (sk_medium_get_type ())

#define SK_TYPE_MEDIA (sk_media_get_type ())
G_DECLARE_FINAL_TYPE (SkMedia, sk_media, SK, MEDIA, GObject)

typedef enum
{
  SK_MEDIA_DEFAULT = 0,
  /* Only look: media are listed from udev (class, identity, refusal) but
   * never mounted — no token is read, so none is known registered — and
   * nothing is journaled; they cannot be registered, imported from or
   * exported to.  For a listing beside a service that may be using them. */
  SK_MEDIA_LOOK_ONLY = 1 << 0,
} SkMediaFlags;

/* Media of STATION under POLICY, journaled in JOURNAL, mounted detached
 * (sk-mount.h).  Devices present now are taken in (and journaled) at once;
 * later ones as UDEV reports them on the caller's main context. */
SkMedia *
sk_media_new (
    SkStation *station, SkJournal *journal, SkPolicy *policy, SkUdev *udev, GError **error);
SkMedia *
sk_media_new_full (SkStation *station,
                   SkJournal *journal,
                   SkPolicy *policy,
                   SkUdev *udev,
                   SkMediaFlags flags,
                   GError **error);

/* The register on the journal given to sk_media_new.  Its connection is
 * the one SkMedia journals device events with: while those arrive on
 * another thread, use a register of your own connection instead. */
SkMediaRegister *
sk_media_get_register (SkMedia *self);

/* The media inserted now (SkMedium*), refused ones too, by id. */
GPtrArray *
sk_media_list (SkMedia *self);

/* The medium ID, or with ID NULL the only one inserted: media-none,
 * media-several, or the medium's own refusal otherwise. */
SkMedium *
sk_media_pick (SkMedia *self, const char *id, GError **error);

/* The block device holding MEDIUM's one file system: the disk itself or its
 * one partition (media-partitions when there are several). */
SkBlockDevice *
sk_media_filesystem (SkMedia *self, const SkMedium *medium, GError **error);

/* Register the medium ID (NULL: the only one) under NUMBER. */
SkMediumRecord *
sk_media_register_medium (SkMedia *self,
                          const SkActor *actor,
                          const char *id,
                          const char *number,
                          const char *label,
                          GError **error);

typedef struct
{
  char *name;   /* the file's name on the medium: untrusted, escape it */
  char *reason; /* NULL when imported */
  char *message;
  char *case_id; /* the case it joined, when imported */
} SkMediumImport;

void
sk_medium_import_free (SkMediumImport *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkMediumImport, sk_medium_import_free)

/* Import every package on the medium ID (NULL: the only one) through
 * PIPELINE.  Returns one SkMediumImport per package found (refusals
 * included); NULL with an error when the medium cannot be used at all or
 * was removed (then the message names what must be done again).  PROGRESS
 * (may be NULL) is told each package's phases as sk_pipeline_import_at ()
 * tells them: bytes copied in, then verified, then records validated. */
GPtrArray *
sk_media_import (SkMedia *self,
                 SkPipeline *pipeline,
                 const SkActor *actor,
                 const char *id,
                 SkProgress *progress,
                 GCancellable *cancellable,
                 GError **error);

/* Export CASE_ID's waiting results to the registered medium ID (NULL: the
 * only one) and prove them there.  Returns the package file's name. */
char *
sk_media_export (SkMedia *self,
                 SkPipeline *pipeline,
                 const SkActor *actor,
                 const char *id,
                 const char *case_id,
                 GCancellable *cancellable,
                 GError **error);

G_END_DECLS
