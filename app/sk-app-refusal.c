/* sk-app-refusal.c — reason codes and the next step for each */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <glib/gi18n.h>

#include "sk-app-refusal.h"

SkErrorCode
sk_app_refusal_code (const GError *error)
{
  g_return_val_if_fail (error != NULL, SK_ERROR_IO_ERROR);

  if (error->domain == SK_ERROR && (guint)error->code < SK_ERROR_N_CODES)
    return (SkErrorCode)error->code;
  if (error->domain == G_DBUS_ERROR)
    switch (error->code)
      {
      case G_DBUS_ERROR_ACCESS_DENIED:
      case G_DBUS_ERROR_AUTH_FAILED:
        return SK_ERROR_ROLE_DENIED;
      case G_DBUS_ERROR_SERVICE_UNKNOWN:
      case G_DBUS_ERROR_NAME_HAS_NO_OWNER:
      case G_DBUS_ERROR_NO_REPLY:
      case G_DBUS_ERROR_TIMEOUT:
      case G_DBUS_ERROR_TIMED_OUT:
      case G_DBUS_ERROR_DISCONNECTED:
      case G_DBUS_ERROR_NO_SERVER:
      case G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND:
      case G_DBUS_ERROR_SPAWN_EXEC_FAILED:
      case G_DBUS_ERROR_SPAWN_CHILD_EXITED:
      case G_DBUS_ERROR_UNKNOWN_METHOD:
      case G_DBUS_ERROR_UNKNOWN_OBJECT:
      case G_DBUS_ERROR_UNKNOWN_INTERFACE:
        return SK_ERROR_SERVICE_UNREACHABLE;
      default:
        break;
      }
  if (error->domain == G_IO_ERROR &&
      (error->code == G_IO_ERROR_CLOSED || error->code == G_IO_ERROR_TIMED_OUT ||
       error->code == G_IO_ERROR_CONNECTION_CLOSED))
    return SK_ERROR_SERVICE_UNREACHABLE;
  if (error->domain == G_IO_ERROR && error->code == G_IO_ERROR_NO_SPACE)
    return SK_ERROR_DISK_FULL;
  return SK_ERROR_IO_ERROR;
}

const char *
sk_app_refusal_next_step (SkErrorCode code)
{
  switch (code)
    {
    case SK_ERROR_POLICY_UNSIGNED:
    case SK_ERROR_POLICY_BAD_SIGNATURE:
    case SK_ERROR_POLICY_UNTRUSTED_SIGNER:
    case SK_ERROR_POLICY_INVALID:
      return _ ("Do not install this policy. Ask the policy administrator for a policy signed "
                "with a pinned administrator key, with a higher serial than the installed one.");
    case SK_ERROR_SIG_MISSING:
    case SK_ERROR_SIG_BAD:
    case SK_ERROR_SIG_MULTIPLE:
    case SK_ERROR_SIG_ARMORED:
    case SK_ERROR_SIG_UNTRUSTED_KEY:
    case SK_ERROR_SIG_WEAK_HASH:
    case SK_ERROR_SIG_WEAK_KEY:
    case SK_ERROR_SIG_KEY_EXPIRED:
    case SK_ERROR_SIG_KEY_REVOKED:
    case SK_ERROR_DECRYPT_FAILED:
    case SK_ERROR_DECRYPT_WRONG_RECIPIENT:
    case SK_ERROR_DECRYPT_NOT_PLAIN:
      return _ ("Nothing was taken in. Do not use this package: ask the sending side to pack it "
                "again with the keys the policy lists, and report the refusal to the "
                "information system administrator.");
    case SK_ERROR_TAR_MALFORMED:
    case SK_ERROR_TAR_ENTRY_TYPE:
    case SK_ERROR_TAR_PATH:
    case SK_ERROR_TAR_DUPLICATE:
    case SK_ERROR_TAR_ORDER:
    case SK_ERROR_TAR_TOO_LARGE:
    case SK_ERROR_TAR_TOO_MANY:
    case SK_ERROR_MANIFEST_INVALID:
    case SK_ERROR_MANIFEST_MISMATCH:
      return _ ("Nothing was taken in. The package is damaged or was altered: ask the sending "
                "side to pack it again with sekisho pack, and report the refusal.");
    case SK_ERROR_MANIFEST_WRONG_STATION:
      return _ ("Nothing was taken in. Check that the medium is meant for this terminal and "
                "this workflow.");
    case SK_ERROR_PACKAGE_REPLAYED:
      return _ ("Nothing was taken in: this package arrived before. Look for its case in the "
                "list; if a new transfer was meant, the sending side packs the files again.");
    case SK_ERROR_FILE_KIND_UNKNOWN:
    case SK_ERROR_FILE_NAME:
    case SK_ERROR_ENCODING:
    case SK_ERROR_LINE_ENDING:
    case SK_ERROR_RECORD_LENGTH:
    case SK_ERROR_RECORD_ORDER:
    case SK_ERROR_FIELD_TYPE:
    case SK_ERROR_CHECK_DIGIT:
    case SK_ERROR_DATE_INVALID:
    case SK_ERROR_ERA_MISMATCH:
    case SK_ERROR_AGE:
    case SK_ERROR_CODE_VALUE:
    case SK_ERROR_DUPLICATE_KEY:
    case SK_ERROR_TRAILER_COUNT:
    case SK_ERROR_TRAILER_SUM:
    case SK_ERROR_INQUIRY_NOT_ALLOWED:
    case SK_ERROR_PAIRING:
    case SK_ERROR_FILE_TOO_LARGE:
    case SK_ERROR_FIELD_MISSING:
    case SK_ERROR_FIELD_LENGTH:
      return _ ("The file was refused and nothing of it was kept. Have the file made again by "
                "the system that produced it; the record and field named above say where.");
    case SK_ERROR_MEDIA_CLASS:
      return _ ("Remove this device. Only registered USB memory and optical discs may be used.");
    case SK_ERROR_MEDIA_UNREGISTERED:
      return _ ("Use a registered medium, or ask the policy administrator to register this one "
                "with its control number (管理番号).");
    case SK_ERROR_MEDIA_REMOVED:
      return _ ("The medium was pulled out before the work finished; nothing was half-written. "
                "Insert it again and repeat the step.");
    case SK_ERROR_MEDIA_READBACK_MISMATCH:
      return _ ("The medium does not hold what was written. Do not use it; export again to "
                "another registered medium and report the medium to the administrator.");
    case SK_ERROR_MEDIA_NONE:
      return _ ("Insert the medium (a registered USB memory, or a disc in the drive), wait until "
                "it is listed, and repeat the step.");
    case SK_ERROR_MEDIA_SEVERAL:
      return _ ("More than one medium is inserted. Choose the one to use in the list of media, "
                "or remove the others, and repeat the step.");
    case SK_ERROR_MEDIA_PARTITIONS:
      return _ ("The medium is divided into several partitions. Use a medium with one partition; "
                "ask the administrator to prepare and register one.");
    case SK_ERROR_MEDIA_FILESYSTEM:
      return _ ("Nothing was read from the medium: its format is not one the station reads, or it "
                "is damaged. Use a registered medium formatted as FAT, exFAT or ext4 (discs: "
                "ISO 9660 or UDF).");
    case SK_ERROR_MEDIA_FULL:
      return _ ("Nothing of the package was written: the medium has too little free space. Use "
                "a registered medium with more free space, or remove old files from it, and "
                "export again.");
    case SK_ERROR_MEDIA_NOT_WRITTEN:
      return _ ("Writing failed and nothing of the package is on the medium; the results can "
                "still be exported. Export again; if it fails again, use another registered "
                "medium and tell the administrator.");
    case SK_ERROR_MEDIA_ENTRY_TYPE:
      return _ ("The medium holds a link, a device or another thing that is not an ordinary "
                "file; it was not opened. Ask the sending side to put only the package files on "
                "the medium, and report the medium to the administrator.");
    case SK_ERROR_MEDIA_CSV_INVALID:
      return _ ("Nothing of the file was taken into the register. Correct the line named above "
                "in the media register file (管理簿) and import it again.");
    case SK_ERROR_MEDIA_NUMBER_IN_USE:
      return _ ("This control number (管理番号) is already registered. Check the media register "
                "and use the medium's own number, or withdraw the old registration first.");
    case SK_ERROR_MEDIA_NOT_STORAGE:
      return _ ("This device is not a storage medium and is not used. Remove it and insert a "
                "registered USB memory or a disc.");
    case SK_ERROR_MEDIA_READ_ONLY:
      return _ ("Nothing was written: the medium cannot be written (a disc, or a USB memory "
                "whose write-protect switch is on). Export to a registered USB memory with the "
                "switch off.");
    case SK_ERROR_ROLE_DENIED:
      return _ ("Ask the information system administrator to give your account the right role "
                "(one of: operator, auditor, policy administrator).");
    case SK_ERROR_DUAL_CONTROL:
      return _ ("Another operator must approve this file before it goes on.");
    case SK_ERROR_CLOCK_ANOMALY:
      return _ ("Do not change the clock. Tell the information system administrator at once.");
    case SK_ERROR_DEADLINE_PASSED:
      return _ ("The item was deleted when its time ran out. Start the step again from the "
                "request file.");
    case SK_ERROR_DISK_FULL:
      return _ ("The station's disk or the medium is full. Free space (export or close finished "
                "cases, or use a larger medium) and repeat the step.");
    case SK_ERROR_IO_ERROR:
      return _ ("Reading or writing failed; nothing was half-written. Repeat the step; if it "
                "fails again, tell the information system administrator.");
    case SK_ERROR_SERVICE_UNREACHABLE:
      return _ ("Restart the terminal. If this window appears again, tell the information system "
                "administrator that the Sekisho service (sekishod) is not running.");
    case SK_ERROR_STATION_INVALID:
    case SK_ERROR_JOURNAL_INVALID:
    case SK_ERROR_HANDOFF_NOT_TMPFS:
    case SK_ERROR_HANDOFF_UNSAFE:
      return _ ("Stop using the station and tell the information system administrator and the "
                "auditor.");
    case SK_ERROR_KEY_REFUSED:
      return _ ("Import only public keys, and the secret key of this station's own key.");
    case SK_ERROR_ITEM_UNKNOWN:
    case SK_ERROR_CASE_UNKNOWN:
    case SK_ERROR_CASE_STATE:
      return _ ("Refresh the list of cases (F5) and take the step the case shows next.");
    case SK_ERROR_FILE_DUPLICATE:
      return _ ("This file is already in the case; nothing needs to be done again.");
    case SK_ERROR_FILE_NOT_REGULAR:
    case SK_ERROR_FILE_LINKED:
      return _ ("Save the file again from the browser as an ordinary file, then take it in.");
    case SK_ERROR_USAGE:
    default:
      return _ ("Tell the information system administrator what you were doing.");
    }
}

char *
sk_app_refusal_detail (const GError *error)
{
  g_return_val_if_fail (error != NULL, NULL);

  g_autoptr (GError) copy = g_error_copy (error);
  g_dbus_error_strip_remote_error (copy);
  return sk_escape_untrusted (copy->message);
}
