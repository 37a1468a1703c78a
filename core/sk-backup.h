/* sk-backup.h — station backup and restore
 *
 * A backup holds what must survive a broken disk, and nothing else:
 *
 *   BACKUP.json            {format, station, station_key, created_at,
 *                           journal: {seq, head_hash}, members: [{name, size, sha256}]}
 *   BACKUP.json.sig        binary detached signature of BACKUP.json by the station key
 *   journal.jsonl          every journal row, columns and hashes as stored, one
 *                          JSON object per line, in seq order; the journal is also
 *                          the replay record (the package ids the station took in)
 *   keys.gpg               the keyring's public keys (gpg --export)
 *   policy.json, policy.json.sig          the installed policy, when there is one
 *   checkpoint-SEQ.json, checkpoint-SEQ.json.sig   the station's checkpoints
 *
 * in a POSIX pax tar, members in that order.  Never the store's items (they
 * are transient personal data, and their keys die with them) nor any secret
 * key: the station's secret key is kept offline by the administrator and
 * imported onto the new station before the restore (docs/admin-guide).
 *
 * Restore runs on a new station made with the same administrator and station
 * keys, whose secret key is imported and which has done no work yet.  It
 * verifies the signature by the station's own key first, then every member
 * against BACKUP.json; it refuses a backup whose journal ends before the
 * checkpoint it is shown (the auditor's copy, kept off the station) or does
 * not hold that checkpoint's head; then it puts the journal back whole, so
 * that the old checkpoints verify and replayed packages stay refused, and
 * journals the restore as the next entry of the same chain.
 */
#pragma once

#include <gio/gio.h>

#include "sk-actor.h"
#include "sk-station.h"

G_BEGIN_DECLS

#define SK_BACKUP_FORMAT "sekisho-backup/1"

/* Write a backup of STATION to OUT_PATH, which must not exist.  The file
 * appears whole or not at all.  Journaled (station-backed-up), refusals
 * included, as ACTOR (an administrator); the journal entry names the
 * backup's journal head. */
gboolean
sk_backup_write (SkStation *station, const SkActor *actor, const char *out_path, GError **error);

/* Restore BACKUP_PATH onto STATION.  CHECKPOINT_PATH (with its .sig beside
 * it) is a checkpoint the backup's journal must reach; NULL means the
 * station's own newest checkpoint, if it has one.  Journaled
 * (station-restored, or station-restore-refused with its reason). */
gboolean
sk_backup_restore (SkStation *station,
                   const SkActor *actor,
                   const char *backup_path,
                   const char *checkpoint_path,
                   GError **error);

G_END_DECLS
