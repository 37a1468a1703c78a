/* sk-station.h — a station directory: its configuration, keyring and policy
 *
 *   DIR/station.conf          name, pinned admin keys, the station's own key
 *   DIR/gnupg/                the station's GnuPG home (0700)
 *   DIR/store/                staged items (0700)
 *   DIR/policy/current        → the directory of the installed policy
 *   DIR/policy/<sha256>/      policy.json and policy.json.sig as installed
 *   DIR/station.db            the journal and the store's index (SQLite)
 *   DIR/checkpoints/          signed journal checkpoints, SEQ.json + SEQ.json.sig
 */
#pragma once

#include <gio/gio.h>

#include "sk-actor.h"
#include "sk-journal.h"
#include "sk-keyring.h"
#include "sk-policy.h"
#include "sk-store.h"

G_BEGIN_DECLS

#define SK_TYPE_STATION (sk_station_get_type ())
G_DECLARE_FINAL_TYPE (SkStation, sk_station, SK, STATION, GObject)

/* Make a new station in DIR (which must not exist, or be empty), journaled
 * as ACTOR's.  The station's actions below are journaled as their ACTOR's
 * too: who acts is always passed in (core/sk-actor.h). */
SkStation *
sk_station_create (const char *dir,
                   const char *admin_fpr,
                   const char *signing_fpr,
                   const char *name,
                   const SkActor *actor,
                   GError **error);
SkStation *
sk_station_open (const char *dir, GError **error);

const char *
sk_station_get_dir (SkStation *self);
const char *
sk_station_get_name (SkStation *self);
const char *
sk_station_get_signing_key (SkStation *self);
const char *const *
sk_station_get_admin_keys (SkStation *self);
SkKeyring *
sk_station_get_keyring (SkStation *self);

/* Verify POLICY_PATH (and POLICY_PATH.sig) against the pinned admins. */
SkPolicy *
sk_station_check_policy (SkStation *self, const char *policy_path, GError **error);
/* Check, then make it the station's policy, atomically. */
SkPolicy *
sk_station_install_policy (SkStation *self,
                           const SkActor *actor,
                           const char *policy_path,
                           GError **error);
/* The installed policy, verified again on every load. */
SkPolicy *
sk_station_load_policy (SkStation *self, GError **error);

/* Import public keys, and the secret key of the station's own fingerprint.
 * Journaled, refusals included. */
GPtrArray *
sk_station_import_keys (SkStation *self, const SkActor *actor, const char *path, GError **error);

/* Journal an action of ACTOR on the station (outcome and reason from
 * REFUSAL, NULL when it succeeded), in a transaction of its own.  A failure
 * to journal is an error of the action: nothing unrecorded is
 * acknowledged. */
gboolean
sk_station_journal_action (SkStation *self,
                           const SkActor *actor,
                           const char *event,
                           const GError *refusal,
                           const char *details,
                           GError **error);

/* The journal, writable (creating the database on first use), or read-only
 * for the offline commands, which then write nothing at all. */
SkJournal *
sk_station_open_journal (SkStation *self, gboolean read_only, GError **error);

/* Make a signed checkpoint of the journal's head in DIR/checkpoints and
 * journal that it was made; returns the checkpoint's path. */
char *
sk_station_make_checkpoint (SkStation *self, const SkActor *actor, GError **error);
/* The store of staged items (DIR/store), recovered at open when no other
 * process has it open (see sk_store_open()). */
SkStore *
sk_station_open_store (SkStation *self,
                       SkStoreRecoverFunc also_recover,
                       gpointer user_data,
                       GError **error);

/* The login of this process's uid as the system knows it, or "uid-N" when
 * it has none (sk_actor_for_process ()'s).  For what a process writes as
 * itself (a manifest's created_by), never for who acted on a station. */
const char *
sk_station_login (void);

/* The path of the newest checkpoint, or NULL when there is none. */
char *
sk_station_latest_checkpoint (SkStation *self);

/* The largest checkpoint file, and signature, read. */
#define SK_CHECKPOINT_MAX_SIZE (64 * 1024)

/* Check CHECKPOINT and SIGNATURE against JOURNAL as this station's (its
 * name, its key): see sk_journal_judge_checkpoint(). */
gboolean
sk_station_judge_checkpoint (SkStation *self,
                             SkJournal *journal,
                             GBytes *checkpoint,
                             GBytes *signature,
                             gint64 *out_seq,
                             SkCheckpointVerdict *out_verdict,
                             GError **error);

/* Check the newest checkpoint against JOURNAL, as `journal verify` does
 * after the chain: TRUE with *OUT_SEQ -1 when there is none.  One that
 * cannot be read, or does not match, is SK_ERROR_JOURNAL_INVALID: the
 * chain alone cannot tell a journal cut short, a signed head can. */
gboolean
sk_station_check_latest_checkpoint (SkStation *self,
                                    SkJournal *journal,
                                    gint64 *out_seq,
                                    GError **error);

/* The checkpoint an export of the journal ends at: the newest one when
 * nothing but checkpoints came after it, else a new one made by ACTOR
 * (which needs the station's secret key).  Returns its path, its seq in
 * *OUT_SEQ; the exported rows are then exactly those it covers. */
char *
sk_station_checkpoint_for_export (
    SkStation *self, SkJournal *journal, const SkActor *actor, gint64 *out_seq, GError **error);

/* Read the checkpoint at PATH and its PATH.sig (neither a link, each at
 * most SK_CHECKPOINT_MAX_SIZE). */
gboolean
sk_station_read_checkpoint (const char *path,
                            GBytes **out_checkpoint,
                            GBytes **out_signature,
                            GError **error);

G_END_DECLS
