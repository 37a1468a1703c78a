/* sk-report.h — the JSON objects the command line and the service both
 * answer with (DESIGN.md §8 ‑‑json, §11)
 *
 * One definition of each: a case with its deadlines, a key, the whole
 * policy, the station's status.  `sekisho … --json` prints them inside its
 * answer; sekishod returns them as its methods' results.  Untrusted text
 * (names from media and packages, key user ids) is escaped here, and no
 * object carries a personal-data value.  Times are UTC, ISO 8601.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "sk-cases.h"
#include "sk-keyring.h"
#include "sk-media.h"
#include "sk-pipeline.h"
#include "sk-policy.h"
#include "sk-station.h"

G_BEGIN_DECLS

/* One deadline of a case: what ends then, and when (journal clock). */
typedef struct
{
  const char *what; /* a glossary term: results-due, upload-plaintext, stored-package, … */
  const char *kind; /* the stored item's kind, or NULL */
  gint64 at_us;
} SkDeadline;

/* Every deadline of C (SkDeadline): the results it waits for, the plaintext
 * it handed off, the items the store keeps for it (from ITEMS, the store's
 * list, SkItem*; may be NULL). */
GArray *
sk_report_case_deadlines (SkPolicy *policy, const SkCase *c, GPtrArray *items);

/* C as one JSON object into B: id, workflow, state, overdue, created,
 * files, and deadlines (each with its UTC time, seconds left at NOW_US and
 * whether it has passed). */
void
sk_report_add_case (JsonBuilder *b, const SkCase *c, GArray *deadlines, gint64 now_us);

/* The cases of STATION under POLICY and the store's items (SkItem*), as
 * they stand, read on a read-only connection of their own: nothing in the
 * station is written (no recovery, no migration, no lock file), so a user
 * who may read the station but not write it can ask.  With CASE_ID, only
 * that case (SK_ERROR_CASE_UNKNOWN when there is none). */
gboolean
sk_report_read_cases (SkStation *station,
                      SkPolicy *policy,
                      const char *case_id,
                      GPtrArray **out_cases,
                      GPtrArray **out_items,
                      GError **error);

/* C with its deadlines from PIPELINE's policy and store, as a JSON text. */
char *
sk_report_case_json (SkPipeline *pipeline, const SkCase *c, GError **error);

/* What FPR is for on STATION under POLICY (may be NULL): "station",
 * "admin", "to-intermediate signer", … appended to ROLES (static strings). */
void
sk_report_key_roles (SkStation *station, SkPolicy *policy, const char *fpr, GPtrArray *roles);

/* A member "keys" into B: every key of STATION's keyring with its
 * fingerprint, escaped user id, algorithm, expiry and what it is for. */
gboolean
sk_report_add_keys (JsonBuilder *b, SkStation *station, SkPolicy *policy, GError **error);

/* The whole of POLICY as one JSON object into B: serial, hash, signer,
 * admins, kinds, caps, retention, dual control, media rules, and every key
 * it names with its expiry as KEYS (SkKeyInfo*, may be NULL) know it. */
void
sk_report_add_policy (JsonBuilder *b, SkPolicy *policy, GPtrArray *keys);

/* The station at a glance, as `sekisho station status --json` shows it:
 * an object with station, policy, keys, journal, store, handed_off and
 * problems.  POLICY and PIPELINE may be NULL; PIPELINE_ERROR (may be
 * NULL) says why the pipeline is missing, shown as a problem.  Without a
 * PIPELINE the cases and the store are read as sk_report_read_cases()
 * does: nothing is written. */
JsonNode *
sk_report_station_status (SkStation *station,
                          SkPolicy *policy,
                          SkPipeline *pipeline,
                          const GError *pipeline_error,
                          GError **error);

/* A row of the media register (媒体管理簿) as one JSON object into B:
 * number, kind, vendor, model, serial, label, state, registered (UTC),
 * registered_by; device texts escaped. */
void
sk_report_add_medium_record (JsonBuilder *b, const SkMediumRecord *r);

/* A medium inserted now as one JSON object into B: id, class, device (the
 * escaped identity line), vendor, model, serial, size, registered, number
 * (管理番号 or null), label (from RECORDS, the register's rows, may be
 * NULL), refused (a reason code or null). */
void
sk_report_add_medium (JsonBuilder *b, const SkMedium *m, GPtrArray *records);

/* What an import from a medium did (RESULTS, SkMediumImport*): {"packages":
 * [{name, reason (null when imported), message, case (the case object or
 * null)}]}. */
JsonNode *
sk_report_medium_import (SkPipeline *pipeline, GPtrArray *results, GError **error);

/* An export to a medium that was read back identical: {package, medium,
 * number, readback: "match"}. */
JsonNode *
sk_report_medium_export (const char *package, const SkMedium *m);

G_END_DECLS
