/* sk-service.h — sekishod: the station on the system bus (DESIGN.md §11)
 *
 * The service owns the station directory (its store, journal and keys) and
 * the hand-off root.  It exports /jp/sekisho/Station1 with the interfaces
 * of jp.sekisho.Station1.xml; every call passes SkBouncer first, and every
 * refusal there is journaled as role-denied with the method and the uid.
 * Work runs in worker threads, one station step at a time; the main loop
 * only dispatches.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SK_SERVICE_BUS_NAME "jp.sekisho.Station1"
#define SK_SERVICE_OBJECT_PATH "/jp/sekisho/Station1"

#define SK_TYPE_SERVICE (sk_service_get_type ())
G_DECLARE_FINAL_TYPE (SkService, sk_service, SK, SERVICE, GObject)

/* Refuses (station-invalid) unless STATION_DIR is owned by this process's
 * user, mode 0700, and nothing in it is open to anyone else. */
gboolean
sk_service_check_station_dir (const char *station_dir, GError **error);

/* Opens the station (recovering the store and the journal), sweeps once,
 * and exports the objects on CONNECTION. */
SkService *
sk_service_new (GDBusConnection *connection,
                const char *station_dir,
                const char *handoff_root,
                GError **error);

/* Sweep what is due now, in a worker thread; then every SWEEP_SECONDS. */
void
sk_service_start_sweeping (SkService *self, guint sweep_seconds);

G_END_DECLS
