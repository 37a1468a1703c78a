/* sk-cases.h — the station's case records (案件) in its database
 *
 * The rows behind the pipeline: cases, the packages that came and left for
 * them, their files, the hand-off plaintext recorded with its deadline and
 * the downloads the sweep has seen.  Only SQL lives here; the pipeline
 * decides when each change happens and journals it in the same
 * transaction (the writing calls below expect one to be open).
 */
#pragma once

#include <gio/gio.h>

#include "sk-db.h"
#include "sk-journal.h"
#include "sk-package.h"
#include "sk-policy.h"
#include "sk-store.h"

G_BEGIN_DECLS

typedef struct
{
  gint64 id;
  char *role; /* "request" or "result" */
  char *kind;
  char *name; /* untrusted text: escape before showing */
  guint64 size;
  char *sha256;
  gint64 records;
  /* request: "staged", "handed-off", "uploaded";
   * result: "taken-in", "approved", "exported" */
  char *state;
  char *package_id; /* the package it came in, or left in */
  char *item_id;    /* the sealed copy (results); NULL once deleted */
  gint64 taken_uid;
  char *taken_login;
  gint64 approved_uid; /* -1: not approved */
  char *approved_login;
  gboolean needs_approval; /* under dual control and not yet approved */
} SkCaseFile;

typedef struct
{
  char *id; /* 処理番号 */
  char *workflow;
  /* "imported", "handed-off", "uploaded", "results-in", "exported",
   * "closed", "interrupted" */
  char *state;
  gint64 created_us;
  gint64 updated_us;
  gint64 uploaded_us; /* 0: not yet */
  gint64 closed_us;   /* 0: open */
  /* When the plaintext handed off for it is deleted: the earliest deadline
   * recorded with its hand-offs (0: none recorded).  Read from the record,
   * never worked out again from updated_us, which later steps move. */
  gint64 handoff_deadline_us;
  /* No result after the policy's no_result_days. */
  gboolean overdue;
  GPtrArray *files; /* SkCaseFile* */
} SkCase;

void
sk_case_file_free (SkCaseFile *f);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkCaseFile, sk_case_file_free)

void
sk_case_free (SkCase *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkCase, sk_case_free)

/* The request files of C (borrowed pointers into C->files). */
GPtrArray *
sk_case_requests (const SkCase *c);

/* A request package kept in the store, with its signature. */
typedef struct
{
  char *package_id;
  char *item_id;
  GBytes *signature;
} SkStoredPackage;

void
sk_stored_package_free (SkStoredPackage *p);

/* Hand-off plaintext as recorded: whose folder, the file's name, the path
 * shown to the user, its case. */
typedef struct
{
  gint64 uid;
  char *name;
  char *path;
  char *case_id;
} SkHandoffRecord;

void
sk_handoff_record_free (SkHandoffRecord *r);
GPtrArray *
sk_handoff_records_new (void);

/* A stored item of a case, and the kind of file it holds (NULL: a
 * package). */
typedef struct
{
  char *item_id;
  char *kind;
} SkCaseItem;

#define SK_TYPE_CASES (sk_cases_get_type ())
G_DECLARE_FINAL_TYPE (SkCases, sk_cases, SK, CASES, GObject)

/* The case records in JOURNAL's database, read under POLICY (dual
 * control, the overdue period); times on the journal's clock. */
SkCases *
sk_cases_new (SkJournal *journal, SkPolicy *policy);

/* ---- reading ----------------------------------------------------------- */

SkCase *
sk_cases_get (SkCases *self, const char *case_id, GError **error);
GPtrArray *
sk_cases_list (SkCases *self, GError **error);

/* The request packages of CASE_ID still in the store. */
GPtrArray *
sk_cases_request_packages (SkCases *self, const char *case_id, GError **error);

/* Every stored item of CASE_ID (SkCaseItem*, owned by the array). */
GArray *
sk_cases_items (SkCases *self, const char *case_id, GError **error);

/* Whether every result kind of WORKFLOW has left CASE_ID at least once. */
gboolean
sk_cases_all_results_exported (
    SkCases *self, const char *case_id, const char *workflow, gboolean *out_all, GError **error);

/* The export of CASE_ID under way (never acknowledged), or NULL. */
char *
sk_cases_export_under_way (SkCases *self, const char *case_id, GError **error);

/* ---- writing (inside the caller's transaction) -------------------------- */

gboolean
sk_cases_set_state (SkCases *self, const char *case_id, const char *state, GError **error);

/* A request package imported as ITEM: its case (new when NEW_CASE), the
 * package with its signature, and the manifest's files. */
gboolean
sk_cases_add_request_package (SkCases *self,
                              const SkManifest *m,
                              const SkItem *item,
                              GBytes *signature,
                              gboolean new_case,
                              GError **error);

/* A result taken in as ITEM of KIND by UID/LOGIN. */
gboolean
sk_cases_add_result (SkCases *self,
                     const char *case_id,
                     const char *kind,
                     const SkItem *item,
                     gint64 uid,
                     const char *login,
                     GError **error);

/* Request file FILE_ID of CASE_ID handed off to UID's folder as PATH. */
gboolean
sk_cases_add_handoff (SkCases *self,
                      const char *case_id,
                      gint64 file_id,
                      gint64 uid,
                      const char *path,
                      gint64 deadline_us,
                      GError **error);

/* Forget the hand-offs of CASE_ID, adding them to REMOVED
 * (SkHandoffRecord*) for their files to be removed once the transaction
 * commits. */
gboolean
sk_cases_take_handoffs (SkCases *self, const char *case_id, GPtrArray *removed, GError **error);

/* Whether NAME in UID's upload folder is recorded hand-off plaintext. */
gboolean
sk_cases_handoff_recorded (
    SkCases *self, gint64 uid, const char *name, gboolean *out_recorded, GError **error);

/* The hand-offs whose deadline is at or before NOW (SkHandoffRecord*). */
GPtrArray *
sk_cases_due_handoffs (SkCases *self, gint64 now, GError **error);

gboolean
sk_cases_forget_handoff (SkCases *self, const char *path, GError **error);

/* The request files of CASE_ID were uploaded at NOW. */
gboolean
sk_cases_mark_uploaded (SkCases *self, const char *case_id, gint64 now, GError **error);

gboolean
sk_cases_approve_file (
    SkCases *self, gint64 file_id, gint64 uid, const char *login, GError **error);

/* An export of FILES (SkCaseFile*) of CASE_ID begins as PACKAGE_ID. */
gboolean
sk_cases_begin_export (
    SkCases *self, const char *case_id, const char *package_id, GPtrArray *files, GError **error);

/* PACKAGE_ID was written and read back with SHA256 at NOW. */
gboolean
sk_cases_mark_exported (
    SkCases *self, const char *package_id, const char *sha256, gint64 now, GError **error);

gboolean
sk_cases_set_closed (SkCases *self, const char *case_id, gint64 closed_us, GError **error);

/* Whether CASE_ID was flagged overdue already; flag it at NOW. */
gboolean
sk_cases_is_flagged (SkCases *self, const char *case_id, gboolean *out_flagged, GError **error);
gboolean
sk_cases_flag (SkCases *self, const char *case_id, gint64 now, GError **error);

/* ---- downloads the sweep has seen -------------------------------------- */

/* When the sweep first saw NAME (inode INODE) in UID's download folder: a
 * file seen for the first time (or replaced: another inode) is recorded as
 * seen at NOW.  Every call marks it seen at NOW. */
gboolean
sk_cases_download_seen (SkCases *self,
                        gint64 uid,
                        const char *name,
                        gint64 inode,
                        gint64 now,
                        gint64 *out_first_seen,
                        GError **error);

gboolean
sk_cases_forget_download (SkCases *self, gint64 uid, const char *name, GError **error);

/* Forget downloads not seen since BEFORE (taken in, or removed). */
gboolean
sk_cases_forget_downloads_unseen (SkCases *self, gint64 before, GError **error);

G_END_DECLS
