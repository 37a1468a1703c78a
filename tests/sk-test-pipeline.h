/* sk-test-pipeline.h — a terminal and a standard station with a pipeline,
 * a tmpfs hand-off root and the helpers the pipeline's tests share */
#pragma once

#include <gio/gio.h>

#include "sk-journal.h"
#include "sk-pipeline.h"
#include "sk-test-stations.h"

G_BEGIN_DECLS

#define SECOND_UID 4242

typedef struct
{
  char *tmp;
  char *run; /* the hand-off root: a tmpfs */
  gboolean mounted;
  char *medium; /* where the standard side packs */
  char *out;    /* where the terminal exports */
  char *files;  /* synthetic files */
  SkTestStations st;
  SkPolicy *layouts;
  SkPipeline *pipe;
  SkActor op;     /* this process's user */
  SkActor second; /* another operator */
} SkPipelineFixture;

char *
pf_make_subdir (const char *parent, const char *name);

gboolean
pf_is_tmpfs (const char *path);

void
pf_make_handoff_root (SkPipelineFixture *fx);

SkPipeline *
pf_open_pipeline (SkPipelineFixture *fx);

void
pf_fixture_setup (SkPipelineFixture *fx, gconstpointer data);

void
pf_fixture_teardown (SkPipelineFixture *fx, gconstpointer data);

char *
pf_synth (
    SkPipelineFixture *fx, const char *kind_id, guint64 seed, guint64 records, const char *dir);

char *
pf_case_of (guint64 seed);

char *
pf_pack (SkPipelineFixture *fx, const char *workflow, guint64 seed, const char *const *paths);

char *
pf_download_dir (SkPipelineFixture *fx, const SkActor *actor);

char *
pf_browser_saves (SkPipelineFixture *fx, const char *path);

GBytes *
pf_read_bytes (const char *path);

guint
pf_count_entries (const char *dir);

/* The entries of a store's folder but its reserve (sk-store.h). */
guint
pf_count_store_files (const char *dir);

SkStore *
pf_open_store (SkPipelineFixture *fx);

guint
pf_store_items (SkPipelineFixture *fx);

SkJournalRow *
pf_last_row (SkPipelineFixture *fx, const char *event);

guint
pf_rows_of (SkPipelineFixture *fx, const char *event);

void
pf_assert_journal_verifies (SkStation *station);

SkCase *
pf_get_case (SkPipelineFixture *fx, guint64 seed);

SkCase *
pf_import_ok (SkPipelineFixture *fx, const char *pkg);

char *
pf_imported_case (
    SkPipelineFixture *fx, const char *workflow, const char *kind, guint64 seed, guint64 records);

void
pf_through_upload (SkPipelineFixture *fx, const char *pkg, guint64 seed);

SkCaseFile *
pf_take_in_ok (SkPipelineFixture *fx, const char *path);

char *
pf_case_with_result (SkPipelineFixture *fx,
                     const char *workflow,
                     const char *request,
                     const char *result,
                     guint64 seed,
                     guint64 records);

int
pf_cli_run_at (SkPipelineFixture *fx,
               SkStation *station,
               const char *point,
               const char *const *args,
               char **out,
               char **err);

int
pf_cli_run (
    SkPipelineFixture *fx, const char *point, const char *const *args, char **out, char **err);

int
pf_cli_with_fault (SkPipelineFixture *fx, const char *point, const char *const *args);

void
pf_assert_store_consistent (SkPipelineFixture *fx);

G_END_DECLS
