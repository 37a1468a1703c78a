/* sk-error.c — reason codes, D-Bus names and errno conversion */
#define G_LOG_DOMAIN "sekisho-error"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "sk-error.h"

typedef struct
{
  const char *reason;    /* stable kebab-case name */
  const char *dbus_name; /* jp.sekisho.Error.<CamelCase> */
  SkExitClass exit_class;
  const char *description; /* for the operator: what happened, in general terms */
} SkErrorInfo;

#define R SK_EXIT_REFUSED
#define E SK_EXIT_ENVIRONMENT
#define DBUS(n) "jp.sekisho.Error." n

static const SkErrorInfo error_table[SK_ERROR_N_CODES] = {
  [SK_ERROR_POLICY_UNSIGNED] = { "policy-unsigned", DBUS ("PolicyUnsigned"), R,
                                 N_ ("The policy has no signature.") },
  [SK_ERROR_POLICY_BAD_SIGNATURE] = { "policy-bad-signature", DBUS ("PolicyBadSignature"), R,
                                      N_ ("The policy's signature does not verify.") },
  [SK_ERROR_POLICY_UNTRUSTED_SIGNER] = { "policy-untrusted-signer", DBUS ("PolicyUntrustedSigner"),
                                         R,
                                         N_ ("The policy is signed by a key that is not a pinned "
                                             "policy administrator's key.") },
  [SK_ERROR_POLICY_INVALID] = { "policy-invalid", DBUS ("PolicyInvalid"), R,
                                N_ ("The policy does not follow the sekisho-policy/1 schema.") },
  [SK_ERROR_SIG_MISSING] = { "sig-missing", DBUS ("SigMissing"), R, N_ ("There is no signature.") },
  [SK_ERROR_SIG_BAD] = { "sig-bad", DBUS ("SigBad"), R,
                         N_ ("The signature does not match the signed bytes.") },
  [SK_ERROR_SIG_MULTIPLE] = { "sig-multiple", DBUS ("SigMultiple"), R,
                              N_ ("There is more than one signature; exactly one is accepted.") },
  [SK_ERROR_SIG_ARMORED] = { "sig-armored", DBUS ("SigArmored"), R,
                             N_ ("The signature is ASCII-armored; only binary signatures are "
                                 "accepted.") },
  [SK_ERROR_SIG_UNTRUSTED_KEY] = { "sig-untrusted-key", DBUS ("SigUntrustedKey"), R,
                                   N_ ("The signing key is not listed in the policy for this "
                                       "use.") },
  [SK_ERROR_SIG_WEAK_HASH] = { "sig-weak-hash", DBUS ("SigWeakHash"), R,
                               N_ ("The signature uses a hash weaker than SHA-256.") },
  [SK_ERROR_SIG_WEAK_KEY] = { "sig-weak-key", DBUS ("SigWeakKey"), R,
                              N_ ("The signing key is too weak (RSA of at least 3072 bits or "
                                  "Ed25519 is required).") },
  [SK_ERROR_SIG_KEY_EXPIRED] = { "sig-key-expired", DBUS ("SigKeyExpired"), R,
                                 N_ ("The signing key has expired.") },
  [SK_ERROR_SIG_KEY_REVOKED] = { "sig-key-revoked", DBUS ("SigKeyRevoked"), R,
                                 N_ ("The signing key has been revoked.") },
  [SK_ERROR_DECRYPT_FAILED] = { "decrypt-failed", DBUS ("DecryptFailed"), R,
                                N_ ("The package could not be decrypted.") },
  [SK_ERROR_DECRYPT_WRONG_RECIPIENT] = { "decrypt-wrong-recipient", DBUS ("DecryptWrongRecipient"),
                                         R, N_ ("The package is encrypted to another station.") },
  [SK_ERROR_DECRYPT_NOT_PLAIN] = { "decrypt-not-plain", DBUS ("DecryptNotPlain"), R,
                                   N_ ("The encrypted message holds a signature or compression; "
                                       "only plain encrypted data is accepted.") },
  [SK_ERROR_TAR_MALFORMED] = { "tar-malformed", DBUS ("TarMalformed"), R,
                               N_ ("The archive is damaged or not a POSIX pax tar.") },
  [SK_ERROR_TAR_ENTRY_TYPE] = { "tar-entry-type", DBUS ("TarEntryType"), R,
                                N_ ("The archive holds something other than regular files.") },
  [SK_ERROR_TAR_PATH] = { "tar-path", DBUS ("TarPath"), R,
                          N_ ("The archive holds a member with a forbidden name.") },
  [SK_ERROR_TAR_DUPLICATE] = { "tar-duplicate", DBUS ("TarDuplicate"), R,
                               N_ ("The archive holds the same name twice.") },
  [SK_ERROR_TAR_ORDER] = { "tar-order", DBUS ("TarOrder"), R,
                           N_ ("The archive's members are not in the required order.") },
  [SK_ERROR_TAR_TOO_LARGE] = { "tar-too-large", DBUS ("TarTooLarge"), R,
                               N_ ("The archive is larger than the policy allows.") },
  [SK_ERROR_TAR_TOO_MANY] = { "tar-too-many", DBUS ("TarTooMany"), R,
                              N_ ("The archive holds more files than the policy allows.") },
  [SK_ERROR_MANIFEST_INVALID] = { "manifest-invalid", DBUS ("ManifestInvalid"), R,
                                  N_ ("The package manifest is not valid.") },
  [SK_ERROR_MANIFEST_MISMATCH] = { "manifest-mismatch", DBUS ("ManifestMismatch"), R,
                                   N_ ("The package contents do not match its manifest.") },
  [SK_ERROR_MANIFEST_WRONG_STATION] = { "manifest-wrong-station", DBUS ("ManifestWrongStation"), R,
                                        N_ ("The package is meant for another station or "
                                            "workflow.") },
  [SK_ERROR_PACKAGE_REPLAYED] = { "package-replayed", DBUS ("PackageReplayed"), R,
                                  N_ ("This package was already received once.") },
  [SK_ERROR_FILE_KIND_UNKNOWN] = { "file-kind-unknown", DBUS ("FileKindUnknown"), R,
                                   N_ ("The file's name matches no file kind of the policy.") },
  [SK_ERROR_FILE_NAME] = { "file-name", DBUS ("FileName"), R,
                           N_ ("The file's name does not agree with its header.") },
  [SK_ERROR_ENCODING] = { "encoding", DBUS ("Encoding"), R,
                          N_ ("The file holds bytes or characters outside its encoding's "
                              "allowed repertoire.") },
  [SK_ERROR_LINE_ENDING] = { "line-ending", DBUS ("LineEnding"), R,
                             N_ ("A record does not end with CR LF.") },
  [SK_ERROR_RECORD_LENGTH] = { "record-length", DBUS ("RecordLength"), R,
                               N_ ("A record does not have the length (or number of fields) of "
                                   "its layout.") },
  [SK_ERROR_RECORD_ORDER] = { "record-order", DBUS ("RecordOrder"), R,
                              N_ ("Records are not in the order header, data, trailer, end.") },
  [SK_ERROR_FIELD_TYPE] = { "field-type", DBUS ("FieldType"), R,
                            N_ ("A field holds characters its type does not allow.") },
  [SK_ERROR_CHECK_DIGIT] = { "check-digit", DBUS ("CheckDigit"), R,
                             N_ ("An identifier's check digit is wrong.") },
  [SK_ERROR_DATE_INVALID] = { "date-invalid", DBUS ("DateInvalid"), R,
                              N_ ("A date is not a real date or is out of range.") },
  [SK_ERROR_ERA_MISMATCH] = { "era-mismatch", DBUS ("EraMismatch"), R,
                              N_ ("A Japanese-era date does not agree with its Gregorian date.") },
  [SK_ERROR_AGE] = { "age", DBUS ("Age"), R,
                     N_ ("The person is younger than this insurance allows.") },
  [SK_ERROR_CODE_VALUE] = { "code-value", DBUS ("CodeValue"), R,
                            N_ ("A field holds a value its code list does not allow.") },
  [SK_ERROR_DUPLICATE_KEY] = { "duplicate-key", DBUS ("DuplicateKey"), R,
                               N_ ("A value that must be unique in the file appears twice.") },
  [SK_ERROR_TRAILER_COUNT] = { "trailer-count", DBUS ("TrailerCount"), R,
                               N_ ("The trailer's record counts do not match the data.") },
  [SK_ERROR_TRAILER_SUM] = { "trailer-sum", DBUS ("TrailerSum"), R,
                             N_ ("The trailer's total does not match the data.") },
  [SK_ERROR_INQUIRY_NOT_ALLOWED] = { "inquiry-not-allowed", DBUS ("InquiryNotAllowed"), R,
                                     N_ ("The inquiry is not on the policy's allow-list.") },
  [SK_ERROR_PAIRING] = { "pairing", DBUS ("Pairing"), R,
                         N_ ("A result does not belong to its request.") },
  [SK_ERROR_MEDIA_CLASS] = { "media-class", DBUS ("MediaClass"), R,
                             N_ ("This kind of device is not allowed.") },
  [SK_ERROR_MEDIA_UNREGISTERED] = { "media-unregistered", DBUS ("MediaUnregistered"), R,
                                    N_ ("The medium is not registered.") },
  [SK_ERROR_MEDIA_REMOVED] = { "media-removed", DBUS ("MediaRemoved"), E,
                               N_ ("The medium was removed while in use.") },
  [SK_ERROR_MEDIA_READBACK_MISMATCH] = { "media-readback-mismatch", DBUS ("MediaReadbackMismatch"),
                                         E,
                                         N_ ("What was read back from the medium differs from "
                                             "what was written.") },
  [SK_ERROR_ROLE_DENIED] = { "role-denied", DBUS ("RoleDenied"), R,
                             N_ ("Your role does not allow this action.") },
  [SK_ERROR_DUAL_CONTROL] = { "dual-control", DBUS ("DualControl"), R,
                              N_ ("A second person's approval is required.") },
  [SK_ERROR_CLOCK_ANOMALY] = { "clock-anomaly", DBUS ("ClockAnomaly"), R,
                               N_ ("The clock was set back behind time the journal had "
                                   "already recorded.") },
  [SK_ERROR_DEADLINE_PASSED] = { "deadline-passed", DBUS ("DeadlinePassed"), R,
                                 N_ ("The item's deadline has passed.") },
  [SK_ERROR_DISK_FULL] = { "disk-full", DBUS ("DiskFull"), E, N_ ("The disk is full.") },
  [SK_ERROR_IO_ERROR] = { "io-error", DBUS ("IoError"), E, N_ ("Reading or writing failed.") },
  [SK_ERROR_SERVICE_UNREACHABLE] = { "service-unreachable", DBUS ("ServiceUnreachable"), E,
                                     N_ ("The Sekisho service cannot be reached.") },
  [SK_ERROR_STATION_INVALID] = { "station-invalid", DBUS ("StationInvalid"), E,
                                 N_ ("There is no usable station at the given directory.") },
  [SK_ERROR_KEY_REFUSED] = { "key-refused", DBUS ("KeyRefused"), R,
                             N_ ("The key file holds a key that may not be imported.") },
  [SK_ERROR_FILE_TOO_LARGE] = { "file-too-large", DBUS ("FileTooLarge"), R,
                                N_ ("The file is larger than its kind allows.") },
  [SK_ERROR_FIELD_MISSING] = { "field-missing", DBUS ("FieldMissing"), R,
                               N_ ("A required field is blank.") },
  [SK_ERROR_FIELD_LENGTH] = { "field-length", DBUS ("FieldLength"), R,
                              N_ ("A field is longer or shorter than its layout allows.") },
  [SK_ERROR_JOURNAL_INVALID] = { "journal-invalid", DBUS ("JournalInvalid"), R,
                                 N_ ("The journal fails verification: a row was altered, inserted, "
                                     "deleted or reordered, or the journal was cut short.") },
  [SK_ERROR_ITEM_UNKNOWN] = { "item-unknown", DBUS ("ItemUnknown"), R,
                              N_ ("There is no such item in the store: it was deleted, or never "
                                  "stored.") },
  [SK_ERROR_CASE_UNKNOWN] = { "case-unknown", DBUS ("CaseUnknown"), R,
                              N_ ("There is no case with that processing number (処理番号) on this "
                                  "station.") },
  [SK_ERROR_CASE_STATE] = { "case-state", DBUS ("CaseState"), R,
                            N_ ("The case is not at the step this action belongs to.") },
  [SK_ERROR_HANDOFF_NOT_TMPFS] = { "handoff-not-tmpfs", DBUS ("HandoffNotTmpfs"), E,
                                   N_ ("The hand-off folder is not in memory (tmpfs), so personal "
                                       "data may not be written there.") },
  [SK_ERROR_FILE_DUPLICATE] = { "file-duplicate", DBUS ("FileDuplicate"), R,
                                N_ ("A file of this name is already part of the case.") },
  [SK_ERROR_FILE_NOT_REGULAR] = { "file-not-regular", DBUS ("FileNotRegular"), R,
                                  N_ ("Where a file was expected there is a link, a pipe, a device "
                                      "or a folder; only regular files are read.") },
  [SK_ERROR_FILE_LINKED] = { "file-linked", DBUS ("FileLinked"), R,
                             N_ ("The file has other hard links, which would keep its contents "
                                 "after Sekisho deletes it; only files with one link are read.") },
  [SK_ERROR_HANDOFF_UNSAFE] = { "handoff-unsafe", DBUS ("HandoffUnsafe"), E,
                                N_ ("A hand-off folder is not what it must be: a link, another "
                                    "user's folder, or one that others can write.") },
  [SK_ERROR_USAGE] = { "usage", DBUS ("Usage"), SK_EXIT_USAGE,
                       N_ ("The command was not used correctly.") },
  [SK_ERROR_MEDIA_NONE] = { "media-none", DBUS ("MediaNone"), E, N_ ("No medium is inserted.") },
  [SK_ERROR_MEDIA_SEVERAL] = { "media-several", DBUS ("MediaSeveral"), E,
                               N_ ("More than one medium is inserted: say which one to use, or "
                                   "remove the others.") },
  [SK_ERROR_MEDIA_PARTITIONS] = { "media-partitions", DBUS ("MediaPartitions"), R,
                                  N_ ("The medium has more than one partition; only media with "
                                      "one file system are used.") },
  [SK_ERROR_MEDIA_FILESYSTEM] = { "media-filesystem", DBUS ("MediaFilesystem"), R,
                                  N_ ("The medium has no file system, or one that is not "
                                      "allowed.") },
  [SK_ERROR_MEDIA_FULL] = { "media-full", DBUS ("MediaFull"), E,
                            N_ ("There is not enough free space on the medium; nothing was "
                                "written.") },
  [SK_ERROR_MEDIA_NOT_WRITTEN] = { "media-not-written", DBUS ("MediaNotWritten"), E,
                                   N_ ("Writing to the medium failed; nothing of the package is "
                                       "on the medium.") },
  [SK_ERROR_MEDIA_ENTRY_TYPE] = { "media-entry-type", DBUS ("MediaEntryType"), R,
                                  N_ ("A name on the medium is not a regular file (a link, a "
                                      "FIFO or a device); it was not opened.") },
  [SK_ERROR_MEDIA_CSV_INVALID] = { "media-csv-invalid", DBUS ("MediaCsvInvalid"), R,
                                   N_ ("A line of the media register file is malformed; nothing "
                                       "was imported.") },
  [SK_ERROR_MEDIA_NUMBER_IN_USE] = { "media-number-in-use", DBUS ("MediaNumberInUse"), R,
                                     N_ ("This control number (管理番号) is already registered to "
                                         "another medium.") },
  [SK_ERROR_BACKUP_INVALID] = { "backup-invalid", DBUS ("BackupInvalid"), R,
                                N_ ("The station backup is damaged, cut short, altered or not "
                                    "signed by this station's key.") },
  [SK_ERROR_BACKUP_STALE] = { "backup-stale", DBUS ("BackupStale"), R,
                              N_ ("The station backup's journal ends before a checkpoint that was "
                                  "already made; restoring it would lose journal entries.") },
  [SK_ERROR_STATION_NOT_FRESH] = { "station-not-fresh", DBUS ("StationNotFresh"), R,
                                   N_ ("A backup is restored only onto a new station, before it "
                                       "has done any work of its own.") },
  [SK_ERROR_MEDIA_NOT_STORAGE] = { "media-not-storage", DBUS ("MediaNotStorage"), R,
                                   N_ ("The device is not a storage device: it offers no "
                                       "mass-storage interface.") },
  [SK_ERROR_MEDIA_READ_ONLY] = { "media-read-only", DBUS ("MediaReadOnly"), R,
                                 N_ ("The medium cannot be written: it is an optical disc or "
                                     "write-protected. Nothing was written.") },
  [SK_ERROR_CANCELLED] = { "cancelled", DBUS ("Cancelled"), E,
                           N_ ("The work was cancelled before it was done; nothing of it was "
                               "kept.") },
  [SK_ERROR_POLICY_ROLLBACK] = { "policy-rollback", DBUS ("PolicyRollback"), R,
                                 N_ ("The policy is not newer than the one installed (its serial "
                                     "is not greater); an older policy is never installed "
                                     "again.") },
};

#undef R
#undef E
#undef DBUS

static const GDBusErrorEntry *
dbus_entries (void)
{
  static GDBusErrorEntry entries[SK_ERROR_N_CODES];

  for (guint i = 0; i < SK_ERROR_N_CODES; i++)
    {
      entries[i].error_code = (gint)i;
      entries[i].dbus_error_name = error_table[i].dbus_name;
    }
  return entries;
}

GQuark
sk_error_quark (void)
{
  static gsize quark = 0;

  if (g_once_init_enter (&quark))
    {
      gsize q = 0;
      g_dbus_error_register_error_domain ("sk-error-quark", &q, dbus_entries (), SK_ERROR_N_CODES);
      g_once_init_leave (&quark, q);
    }
  return (GQuark)quark;
}

const char *
sk_error_code_to_reason (SkErrorCode code)
{
  g_return_val_if_fail ((guint)code < SK_ERROR_N_CODES, NULL);
  return error_table[code].reason;
}

gboolean
sk_error_code_from_reason (const char *reason, SkErrorCode *out_code)
{
  g_return_val_if_fail (reason != NULL, FALSE);

  for (guint i = 0; i < SK_ERROR_N_CODES; i++)
    {
      if (g_str_equal (error_table[i].reason, reason))
        {
          if (out_code != NULL)
            *out_code = (SkErrorCode)i;
          return TRUE;
        }
    }
  return FALSE;
}

const char *
sk_error_code_to_dbus_name (SkErrorCode code)
{
  g_return_val_if_fail ((guint)code < SK_ERROR_N_CODES, NULL);
  return error_table[code].dbus_name;
}

const char *
sk_error_code_describe (SkErrorCode code)
{
  g_return_val_if_fail ((guint)code < SK_ERROR_N_CODES, NULL);
  return g_dgettext (GETTEXT_PACKAGE, error_table[code].description);
}

SkExitClass
sk_error_code_exit_class (SkErrorCode code)
{
  g_return_val_if_fail ((guint)code < SK_ERROR_N_CODES, SK_EXIT_ENVIRONMENT);
  return error_table[code].exit_class;
}

/* Errors from outside the domain (GIO, GLib file utilities) are environment
 * problems: the disk, the file system, a vanished file. */
static SkErrorCode
foreign_code (const GError *error)
{
  if (error->domain == G_IO_ERROR && error->code == G_IO_ERROR_NO_SPACE)
    return SK_ERROR_DISK_FULL;
  if (error->domain == G_FILE_ERROR && error->code == G_FILE_ERROR_NOSPC)
    return SK_ERROR_DISK_FULL;
  if (error->domain == G_IO_ERROR && error->code == G_IO_ERROR_CANCELLED)
    return SK_ERROR_CANCELLED;
  return SK_ERROR_IO_ERROR;
}

const char *
sk_error_get_reason (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  if (error->domain == SK_ERROR && (guint)error->code < SK_ERROR_N_CODES)
    return error_table[error->code].reason;
  return error_table[foreign_code (error)].reason;
}

SkExitClass
sk_error_get_exit_class (const GError *error)
{
  g_return_val_if_fail (error != NULL, SK_EXIT_ENVIRONMENT);

  if (error->domain == SK_ERROR && (guint)error->code < SK_ERROR_N_CODES)
    return error_table[error->code].exit_class;
  return error_table[foreign_code (error)].exit_class;
}

/* The one place errno becomes a reason code. */
void
sk_error_set_from_errno (GError **error, int errsv, const char *what)
{
  SkErrorCode code = (errsv == ENOSPC || errsv == EDQUOT) ? SK_ERROR_DISK_FULL : SK_ERROR_IO_ERROR;

  g_set_error (error, SK_ERROR, code, "%s: %s", what, g_strerror (errsv));
}

char *
sk_escape_untrusted (const char *text)
{
  g_return_val_if_fail (text != NULL, NULL);

  GString *out = g_string_sized_new (strlen (text));
  const char *p = text;
  const char *end = text + strlen (text);

  while (p < end)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);
      if (c == (gunichar)-1 || c == (gunichar)-2)
        {
          g_string_append_printf (out, "\\x%02x", (guchar)*p);
          p++;
          continue;
        }
      const char *next = g_utf8_next_char (p);
      GUnicodeType type = g_unichar_type (c);
      if (c == '\\')
        g_string_append (out, "\\\\");
      else if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0))
        g_string_append_printf (out, "\\x%02x", c);
      else if (type == G_UNICODE_FORMAT || type == G_UNICODE_LINE_SEPARATOR ||
               type == G_UNICODE_PARAGRAPH_SEPARATOR || type == G_UNICODE_UNASSIGNED ||
               type == G_UNICODE_PRIVATE_USE || type == G_UNICODE_SURROGATE)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_len (out, p, next - p);
      p = next;
    }
  return g_string_free (out, FALSE);
}
