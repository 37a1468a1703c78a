/* sk-backup-private.h — what writing and restoring a backup share
 *
 * The member names and the bounds of the format (sk-backup.h), and small
 * helpers of sk-backup.c and sk-backup-write.c.
 */
#pragma once

#include <glib.h>

#include "sk-error.h"

G_BEGIN_DECLS

#define MANIFEST_NAME "BACKUP.json"
#define MANIFEST_SIG_NAME "BACKUP.json.sig"
#define JOURNAL_NAME "journal.jsonl"
#define KEYS_NAME "keys.gpg"
#define POLICY_NAME "policy.json"
#define POLICY_SIG_NAME "policy.json.sig"
#define CHECKPOINT_PREFIX "checkpoint-"

/* Bounds on what a restore reads, each checked on the bytes actually read.
 * The journal is held in memory whole: 1,000,000 entries are about 500 MB. */
#define MAX_MANIFEST (4 * 1024 * 1024)
#define MAX_SIGNATURE (64 * 1024)
#define MAX_MEMBER ((guint64)2 * 1024 * 1024 * 1024)
#define MAX_BACKUP ((guint64)4 * 1024 * 1024 * 1024)
#define MAX_CHECKPOINTS 100000
#define MAX_ENTRIES (6 + 2 * MAX_CHECKPOINTS)

/* A descriptor closed when it goes out of scope. */
typedef int SkFd;
void
_sk_backup_fd_close (SkFd fd);
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (SkFd, _sk_backup_fd_close, -1)

/* Sets CODE with the formatted message and returns FALSE. */
gboolean
_sk_backup_refuse (GError **error, SkErrorCode code, const char *format, ...) G_GNUC_PRINTF (3, 4);

/* Lower-case hex SHA-256 of BYTES ("" when no hash could be made: it
 * matches no listed digest, so a check fails closed). */
char *
_sk_backup_sha256_hex (GBytes *bytes);

/* A file of the station itself (not from a medium), at most MAX bytes. */
GBytes *
_sk_backup_read_small_file (const char *path, gsize max, GError **error);

G_END_DECLS
