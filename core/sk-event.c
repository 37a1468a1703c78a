/* sk-event.c — the names of the journal's events, and their words */
#define G_LOG_DOMAIN "sekisho-event"

#include "config.h"

#include <glib/gi18n-lib.h>

#include "sk-event.h"

/* Sorted by name; the labels say what happened, as a row of the record. */
static const struct
{
  const char *name;
  const char *label;
} events[] = {
  { "admin-key-rotated", N_ ("Administrator key replaced") },
  { "approval-refused", N_ ("Approval refused") },
  { "case-closed", N_ ("Case closed") },
  { "case-interrupted", N_ ("Case interrupted") },
  { "case-overdue", N_ ("Case overdue") },
  { "checkpoint-made", N_ ("Checkpoint signed") },
  { "clock-anomaly", N_ ("Clock anomaly") },
  { "download-expired", N_ ("Download expired") },
  { "download-refused", N_ ("Result refused") },
  { "download-taken-in", N_ ("Result taken in") },
  { "export-failed", N_ ("Export failed") },
  { "export-refused", N_ ("Export refused") },
  { "export-started", N_ ("Export started") },
  { "file-handed-off", N_ ("File handed to the browser") },
  { "handoff-deleted", N_ ("Hand-off files deleted") },
  { "handoff-recovered", N_ ("Hand-off recovered") },
  { "handoff-refused", N_ ("Hand-off refused") },
  { "interrupt-refused", N_ ("Interruption refused") },
  { "item-deleted", N_ ("Item deleted") },
  { "item-lost", N_ ("Item lost") },
  { "key-imported", N_ ("Key imported") },
  { "key-refused", N_ ("Key refused") },
  { "media-export", N_ ("Exported to a medium") },
  { "media-import", N_ ("Imported from a medium") },
  { "media-inserted", N_ ("Medium inserted") },
  { "media-refused", N_ ("Medium refused") },
  { "media-register-imported", N_ ("Media register imported") },
  { "media-registered", N_ ("Medium registered") },
  { "media-removed", N_ ("Medium removed") },
  { "media-unregistered", N_ ("Medium registration withdrawn") },
  { "pack-refused", N_ ("Packing refused") },
  { "package-exported", N_ ("Package exported and read back") },
  { "package-imported", N_ ("Package imported") },
  { "package-packed", N_ ("Package packed") },
  { "package-refused", N_ ("Package refused") },
  { "package-unpacked", N_ ("Package unpacked") },
  { "policy-installed", N_ ("Policy installed") },
  { "policy-refused", N_ ("Policy refused") },
  { "result-approved", N_ ("Result approved") },
  { "role-denied", N_ ("Role denied") },
  { "station-backed-up", N_ ("Station backed up") },
  { "station-backup-failed", N_ ("Station backup failed") },
  { "station-created", N_ ("Station created") },
  { "station-restore-refused", N_ ("Station restore refused") },
  { "station-restored", N_ ("Station restored") },
  { "store-recovered", N_ ("Store recovered") },
  { "upload-confirmed", N_ ("Upload confirmed") },
  { "upload-refused", N_ ("Upload refused") },
};

const char *const *
sk_event_names (void)
{
  static const char *names[G_N_ELEMENTS (events) + 1];
  static gsize filled = 0;

  if (g_once_init_enter (&filled))
    {
      for (gsize i = 0; i < G_N_ELEMENTS (events); i++)
        names[i] = events[i].name;
      g_once_init_leave (&filled, 1);
    }
  return names;
}

const char *
sk_event_label (const char *event)
{
  if (event == NULL)
    return NULL;
  for (gsize i = 0; i < G_N_ELEMENTS (events); i++)
    if (g_str_equal (events[i].name, event))
      return g_dgettext (GETTEXT_PACKAGE, events[i].label);
  return NULL;
}
