/* sk-error.h — the project's one error domain and its stable reason codes
 *
 * Every refusal Sekisho gives carries one SkErrorCode.  Each code has a stable
 * kebab-case name (used in --json output, the journal and the GUI's help), a
 * D-Bus error name (jp.sekisho.Error.<CamelCase>) and an exit class for the
 * command line.  Codes are appended, never renamed or reused (DESIGN.md §8a).
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SK_ERROR (sk_error_quark ())

typedef enum
{
  /* policy */
  SK_ERROR_POLICY_UNSIGNED,
  SK_ERROR_POLICY_BAD_SIGNATURE,
  SK_ERROR_POLICY_UNTRUSTED_SIGNER,
  SK_ERROR_POLICY_INVALID,
  /* signature */
  SK_ERROR_SIG_MISSING,
  SK_ERROR_SIG_BAD,
  SK_ERROR_SIG_MULTIPLE,
  SK_ERROR_SIG_ARMORED,
  SK_ERROR_SIG_UNTRUSTED_KEY,
  SK_ERROR_SIG_WEAK_HASH,
  SK_ERROR_SIG_WEAK_KEY,
  SK_ERROR_SIG_KEY_EXPIRED,
  SK_ERROR_SIG_KEY_REVOKED,
  /* decryption */
  SK_ERROR_DECRYPT_FAILED,
  SK_ERROR_DECRYPT_WRONG_RECIPIENT,
  SK_ERROR_DECRYPT_NOT_PLAIN,
  /* archive */
  SK_ERROR_TAR_MALFORMED,
  SK_ERROR_TAR_ENTRY_TYPE,
  SK_ERROR_TAR_PATH,
  SK_ERROR_TAR_DUPLICATE,
  SK_ERROR_TAR_ORDER,
  SK_ERROR_TAR_TOO_LARGE,
  SK_ERROR_TAR_TOO_MANY,
  /* manifest */
  SK_ERROR_MANIFEST_INVALID,
  SK_ERROR_MANIFEST_MISMATCH,
  SK_ERROR_MANIFEST_WRONG_STATION,
  SK_ERROR_PACKAGE_REPLAYED,
  /* file */
  SK_ERROR_FILE_KIND_UNKNOWN,
  SK_ERROR_FILE_NAME,
  SK_ERROR_ENCODING,
  SK_ERROR_LINE_ENDING,
  SK_ERROR_RECORD_LENGTH,
  SK_ERROR_RECORD_ORDER,
  SK_ERROR_FIELD_TYPE,
  SK_ERROR_CHECK_DIGIT,
  SK_ERROR_DATE_INVALID,
  SK_ERROR_ERA_MISMATCH,
  SK_ERROR_AGE,
  SK_ERROR_CODE_VALUE,
  SK_ERROR_DUPLICATE_KEY,
  SK_ERROR_TRAILER_COUNT,
  SK_ERROR_TRAILER_SUM,
  SK_ERROR_INQUIRY_NOT_ALLOWED,
  SK_ERROR_PAIRING,
  /* media */
  SK_ERROR_MEDIA_CLASS,
  SK_ERROR_MEDIA_UNREGISTERED,
  SK_ERROR_MEDIA_REMOVED,
  SK_ERROR_MEDIA_READBACK_MISMATCH,
  /* station */
  SK_ERROR_ROLE_DENIED,
  SK_ERROR_DUAL_CONTROL,
  SK_ERROR_CLOCK_ANOMALY,
  SK_ERROR_DEADLINE_PASSED,
  /* environment */
  SK_ERROR_DISK_FULL,
  SK_ERROR_IO_ERROR,
  SK_ERROR_SERVICE_UNREACHABLE,
  /* added after §8a, more specific where one was needed */
  SK_ERROR_STATION_INVALID,   /* no station at DIR, or its station.conf is unusable */
  SK_ERROR_KEY_REFUSED,       /* key import offered a secret key that is not the station's */
  SK_ERROR_FILE_TOO_LARGE,    /* a file exceeds its kind's size or record cap */
  SK_ERROR_FIELD_MISSING,     /* a required field is blank */
  SK_ERROR_FIELD_LENGTH,      /* a P2 field is longer (or shorter) than its layout allows */
  SK_ERROR_JOURNAL_INVALID,   /* the journal fails verification */
  SK_ERROR_ITEM_UNKNOWN,      /* no such item in the store (deleted, or never stored) */
  SK_ERROR_CASE_UNKNOWN,      /* no case with that 処理番号 on the station */
  SK_ERROR_CASE_STATE,        /* the case is not in a state that allows the step */
  SK_ERROR_HANDOFF_NOT_TMPFS, /* the hand-off folder is not in memory */
  SK_ERROR_FILE_DUPLICATE,    /* a file of that name is already in the case */
  SK_ERROR_FILE_NOT_REGULAR,  /* a link, FIFO, device or folder where a file was expected */
  SK_ERROR_FILE_LINKED,       /* a file with other hard links that would outlive its deletion */
  SK_ERROR_HANDOFF_UNSAFE,    /* a hand-off folder others could write, or not what it seems */
  SK_ERROR_USAGE,             /* the command line itself is wrong */
  /* media, each state of DESIGN.md §7 told apart */
  SK_ERROR_MEDIA_NONE,          /* no medium is inserted */
  SK_ERROR_MEDIA_SEVERAL,       /* more than one medium, and none was named */
  SK_ERROR_MEDIA_PARTITIONS,    /* the medium has more than one partition */
  SK_ERROR_MEDIA_FILESYSTEM,    /* no file system, or one that is not allowed */
  SK_ERROR_MEDIA_FULL,          /* not enough free space on the medium; nothing written */
  SK_ERROR_MEDIA_NOT_WRITTEN,   /* the write failed: nothing of the package is on the medium */
  SK_ERROR_MEDIA_ENTRY_TYPE,    /* a name on a medium is not a regular file (link, FIFO, device) */
  SK_ERROR_MEDIA_CSV_INVALID,   /* a media register CSV line is malformed or hostile */
  SK_ERROR_MEDIA_NUMBER_IN_USE, /* the 管理番号 is already registered */
  SK_ERROR_BACKUP_INVALID,      /* a station backup that is damaged, cut short or altered */
  SK_ERROR_BACKUP_STALE,        /* a backup whose journal ends before a checkpoint shown */
  SK_ERROR_STATION_NOT_FRESH,   /* a restore onto a station that already has its own work */
  /* media, appended by the media helper (issue 12, item 9) */
  SK_ERROR_MEDIA_NOT_STORAGE, /* a device with no storage interface (a USB device that is no stick)
                               */
  SK_ERROR_MEDIA_READ_ONLY,   /* the medium cannot be written: a disc, or a write-protected stick */
  SK_ERROR_CANCELLED,         /* the work was cancelled; nothing of it is left behind */
  SK_ERROR_POLICY_ROLLBACK,   /* a policy whose serial is not above the highest installed */
} SkErrorCode;

#define SK_ERROR_N_CODES (SK_ERROR_POLICY_ROLLBACK + 1)

/* How the command line reports a code (DESIGN.md §8). */
typedef enum
{
  SK_EXIT_OK = 0,
  SK_EXIT_REFUSED = 1,
  SK_EXIT_USAGE = 2,
  SK_EXIT_ENVIRONMENT = 3,
} SkExitClass;

GQuark
sk_error_quark (void);

const char *
sk_error_code_to_reason (SkErrorCode code);
gboolean
sk_error_code_from_reason (const char *reason, SkErrorCode *out_code);
const char *
sk_error_code_to_dbus_name (SkErrorCode code);
const char *
sk_error_code_describe (SkErrorCode code);
SkExitClass
sk_error_code_exit_class (SkErrorCode code);

const char *
sk_error_get_reason (const GError *error);
SkExitClass
sk_error_get_exit_class (const GError *error);

void
sk_error_set_from_errno (GError **error, int errsv, const char *what);

/* Untrusted text (names from a medium, a tar, a manifest, a command line)
 * made safe for a message, a log or a widget: control characters, C1
 * controls, bidirectional and other invisible format characters, and bytes
 * that are not UTF-8 become visible escapes (\x1b, \u202e); a backslash
 * becomes two.  Other text, Japanese included, stays as it is. */
char *
sk_escape_untrusted (const char *text);

G_END_DECLS
