/* sk-pipeline.h — the station pipeline: cases from import to export
 *
 * Steps 7–10 of the source document, as the integration terminal runs them
 * (DESIGN.md §2, §6):
 *
 *   import      a request package from a folder (a mounted medium) is read
 *               once into the store, then verified on the store's copy;
 *   hand-off    its request files are written as plaintext into
 *               HANDOFF_ROOT/upload/<uid>/ for the browser — only ever on
 *               a tmpfs — with a deadline of minutes;
 *   confirm     the operator says they were uploaded; the plaintext goes;
 *   take-in     a result file the browser saved in HANDOFF_ROOT/download/
 *               <uid>/ is validated, paired with its request by 処理番号
 *               and by record, sealed into the store, and removed;
 *   approve     a second, different operator approves a result the policy
 *               puts under dual control (SKI03) before it may leave;
 *   export      the case's results leave as a package for the standard
 *               system, written to a folder, synced and read back.
 *
 * A case (案件) is keyed by the 処理番号 its files carry.  Every step
 * changes the case and journals it in one transaction; a refusal changes
 * nothing and is journaled with its reason.  Items are held until their case
 * closes (every result kind of its workflow exported) or is interrupted,
 * then for the policy's periods; SKI03 for inquiry_result_days.
 */
#pragma once

#include <gio/gio.h>

#include "sk-actor.h"
#include "sk-cases.h"
#include "sk-package.h"
#include "sk-policy.h"
#include "sk-progress.h"
#include "sk-station.h"
#include "sk-store.h"

G_BEGIN_DECLS

#define SK_TYPE_PIPELINE (sk_pipeline_get_type ())
G_DECLARE_FINAL_TYPE (SkPipeline, sk_pipeline, SK, PIPELINE, GObject)

/* The station's pipeline under POLICY, handing files off under
 * HANDOFF_ROOT (/run/sekisho on a station).  Opens the journal and the
 * store, recovering both, and removes hand-off plaintext nothing refers to. */
SkPipeline *
sk_pipeline_new (SkStation *station, SkPolicy *policy, const char *handoff_root, GError **error);

SkPolicy *
sk_pipeline_get_policy (SkPipeline *self);
/* The store the pipeline opened (and recovered): read its items' deadlines
 * through it rather than opening the store a second time. */
SkStore *
sk_pipeline_get_store (SkPipeline *self);

/* The packages (X.tar.gpg with X.tar.gpg.sig) in FOLDER, sorted. */
GPtrArray *
sk_pipeline_find_packages (const char *folder, GError **error);

/* Import the package NAME (and NAME.sig) beneath DIRFD — a medium's mount
 * point, opened once: each byte read once into the store, then acceptance
 * 1–5 on the store's copy.  Only regular files with one link are read; a
 * link, a FIFO, a device or a folder is refused.  Returns the case.
 *
 * The long steps (import, hand-off, take-in, export) tell PROGRESS (which
 * may be NULL) how far they are — import: "copy", then "validate"; hand-off:
 * "validate" (the files written out); take-in: "validate", then "seal";
 * export: "write", then "read-back" — and stop within a block of
 * CANCELLABLE or PROGRESS's cancellable firing, with `cancelled`, journaled
 * like any other failure, leaving nothing else behind: no item, no file. */
SkCase *
sk_pipeline_import_at (SkPipeline *self,
                       const SkActor *actor,
                       int dirfd,
                       const char *name,
                       SkProgress *progress,
                       GCancellable *cancellable,
                       GError **error);

/* The same for the package at PATH (and PATH.sig). */
SkCase *
sk_pipeline_import (SkPipeline *self,
                    const SkActor *actor,
                    const char *path,
                    SkProgress *progress,
                    GCancellable *cancellable,
                    GError **error);

GPtrArray *
sk_pipeline_list_cases (SkPipeline *self, GError **error);
SkCase *
sk_pipeline_get_case (SkPipeline *self, const char *case_id, GError **error);

/* Write the case's request files into HANDOFF_ROOT/upload/<uid>/; returns
 * their paths. */
GPtrArray *
sk_pipeline_hand_off (SkPipeline *self,
                      const SkActor *actor,
                      const char *case_id,
                      SkProgress *progress,
                      GCancellable *cancellable,
                      GError **error);

/* The request files were uploaded to the 中間サーバー: their plaintext is
 * removed and the case waits for results. */
gboolean
sk_pipeline_confirm_upload (SkPipeline *self,
                            const SkActor *actor,
                            const char *case_id,
                            GError **error);

/* Take NAME from HANDOFF_ROOT/download/<uid>/.  On a validation refusal,
 * *OUT_REPORT (when given) receives the findings. */
SkCaseFile *
sk_pipeline_take_in (SkPipeline *self,
                     const SkActor *actor,
                     const char *name,
                     SkFileReport **out_report,
                     SkProgress *progress,
                     GCancellable *cancellable,
                     GError **error);

/* The names waiting in the actor's download folder. */
GPtrArray *
sk_pipeline_list_downloads (SkPipeline *self, const SkActor *actor, GError **error);

gboolean
sk_pipeline_approve (
    SkPipeline *self, const SkActor *actor, const char *case_id, const char *name, GError **error);

/* Export the case's results not yet exported as one package into OUT_DIR.
 * Returns the path of the .tar.gpg. */
char *
sk_pipeline_export (SkPipeline *self,
                    const SkActor *actor,
                    const char *case_id,
                    const char *out_dir,
                    SkProgress *progress,
                    GCancellable *cancellable,
                    GError **error);

/* The same, with PROOF called after the package is written and before the
 * export is recorded: when it fails, the export fails with its error, the
 * case's results stay exportable and a retry writes the same package id.
 * PATH is the .tar.gpg written, SHA256 the hash of what was written. */
typedef gboolean (*SkExportProof) (const char *path,
                                   const char *sha256,
                                   gpointer user_data,
                                   GError **error);
char *
sk_pipeline_export_proven (SkPipeline *self,
                           const SkActor *actor,
                           const char *case_id,
                           const char *out_dir,
                           SkExportProof proof,
                           gpointer proof_data,
                           SkProgress *progress,
                           GCancellable *cancellable,
                           GError **error);

/* The inquiry (or any case) was interrupted: no more results will come. */
gboolean
sk_pipeline_interrupt (SkPipeline *self, const SkActor *actor, const char *case_id, GError **error);

/* Delete what is due: stored items, hand-off plaintext, downloads left
 * lying; flag cases overdue.  Returns how many things it removed. */
gint64
sk_pipeline_sweep (SkPipeline *self, GError **error);

G_END_DECLS
