/* sk-pipeline-private.h — what the pipeline's steps share (core/sk-pipeline*.c only)
 *
 * The pipeline is one object whose steps live in files by concept:
 * sk-pipeline.c (the object, import, hand-off, approval), sk-pipeline-take-in.c,
 * sk-pipeline-export.c and sk-pipeline-sweep.c.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "sk-handoff.h"
#include "sk-pipeline.h"

G_BEGIN_DECLS

#define MINUTE_US (G_GINT64_CONSTANT (60) * G_USEC_PER_SEC)
#define HELD G_MAXINT64 /* an item's deadline while its case is open */
#define BLOCK (256 * 1024)

struct _SkPipeline
{
  GObject parent_instance;

  SkStation *station;
  SkPolicy *policy;
  SkJournal *journal;
  SkStore *store;
  SkDb *db;
  SkCases *cases;
  char *handoff_root;
  SkHandoff *handoff; /* NULL until first used */
};

/* A journal entry of ACTOR's EVENT ("ok" until the caller says otherwise). */
SkJournalEntry
_sk_pipeline_entry_for (const SkActor *actor,
                        const char *event,
                        const char *case_id,
                        const char *details);

/* Journal that ACTOR's EVENT was refused (or failed) with ERROR's reason.
 * Whatever the journal itself says goes to the log: the refusal stands. */
void
_sk_pipeline_journal_refusal (SkPipeline *self,
                              const SkActor *actor,
                              const char *event,
                              const GError *error,
                              const char *case_id,
                              const char *package_id,
                              const char *details);

/* End a refused or failed step: journal it (rolling back whatever the step
 * began) and hand its error on. */
gboolean
_sk_pipeline_refuse_step (SkPipeline *self,
                          const SkActor *actor,
                          const char *event,
                          GError **local_error,
                          const char *case_id,
                          const char *package_id,
                          const char *details,
                          GError **error);

/* The JSON text of B's object, closed here. */
char *
_sk_pipeline_builder_finish (JsonBuilder *b);

/* Members of journal details (a NULL VALUE is JSON null). */
void
_sk_pipeline_add_string (JsonBuilder *b, const char *name, const char *value);

/* {"NAME": "VALUE"}, VALUE being untrusted text, escaped. */
char *
_sk_pipeline_details_of (const char *name, const char *untrusted);

void
_sk_pipeline_add_int (JsonBuilder *b, const char *name, gint64 value);

/* "files": the case's files with their kinds, sizes, SHA-256 and records. */
void
_sk_pipeline_add_case_files (JsonBuilder *b, GPtrArray *files);

/* TRUE when case C is in one of the ALLOWED states, else case-state naming STEP. */
gboolean
_sk_pipeline_require_state (const SkCase *c,
                            const char *const *allowed,
                            const char *step,
                            GError **error);

/* The hand-off root, opened and checked on first use (a station's tmpfs may
 * be mounted after the service starts). */
SkHandoff *
_sk_pipeline_get_handoff (SkPipeline *self, GError **error);

/* Journal that the sweep or recovery removed NAME from a hand-off folder:
 * in the transaction under way, or in one of its own. */
gboolean
_sk_pipeline_journal_removal (SkPipeline *self,
                              SkHandoffFolder which,
                              const char *name,
                              guint64 size,
                              const char *case_id,
                              const char *event,
                              const char *reason,
                              const char *why,
                              GError **error);

/* Remove the plaintext of FILES (SkHandoffRecord*), each through its user's
 * folder; what cannot be removed now is the sweep's, later. */
void
_sk_pipeline_unlink_handoffs (SkPipeline *self, GPtrArray *files);

/* Acceptance 1–5 again on a package the store holds, with the signature
 * kept beside it at import. */
SkPackageResult *
_sk_pipeline_check_stored (SkPipeline *self,
                           const SkStoredPackage *p,
                           const SkCheckOptions *opts,
                           SkProgress *progress,
                           GCancellable *cancellable,
                           GError **error);

/* Every item of the case now runs to its deadline: the staged period after
 * the case closed, and the fixed period for inquiry results. */
gboolean
_sk_pipeline_start_deadlines (SkPipeline *self,
                              const char *case_id,
                              gint64 closed_us,
                              GError **error);

/* After a step's transaction committed: tell who listens. */
void
_sk_pipeline_case_changed (SkPipeline *self, const char *case_id);

G_END_DECLS
