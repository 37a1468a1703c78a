/* sk-test-service.h — the harness of test-service: the real sekishod on a
 * private system bus, with the real polkitd and the test users
 *
 * As root, the test runs itself again inside `unshare --mount` with a
 * passwd and group holding its test users, and the tree's polkit actions
 * and rules bind-mounted where polkitd reads them (TESTING.md).  There it
 * starts dbus-daemon (stock default policy plus
 * packaging/dbus/jp.sekisho.Station1.conf), polkitd and sekishod on a
 * station of its own; the tests call the service as each user through
 * `setpriv --reuid --regid --init-groups` (sk-bus-client.c).
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "sk-journal.h"
#include "sk-test-bus.h"
#include "sk-test-stations.h"

G_BEGIN_DECLS

#define BUS_NAME "jp.sekisho.Station1"
#define OBJECT_PATH "/jp/sekisho/Station1"
#define IFACE_PREFIX "jp.sekisho.Station1."

/* The test users and role groups: tests/sk-test-bus.c. */
typedef SkTestUser User;

/* What setup () made, for every test of the run. */
typedef struct
{
  char *tmp;
  char *client; /* this binary, copied where the test users can run it */
  char *files;  /* readable by the test users */
  SkTestStations st;
  GSubprocess *bus;
  GSubprocess *polkitd;
  GSubprocess *service;
  char *address;
  char *journald; /* a socket standing in for journald's, or NULL */
} SkTestService;

extern SkTestService svc;

/* The outer run: prepare, then run the inner one (ARGV[0] --inner ARGV[1…])
 * in a mount namespace of its own; returns the inner's exit status. */
int
outer_main (int argc, char **argv);
/* The inner run: bus, polkitd, station, service; and the end of them
 * (fails if the service does not end cleanly). */
void
setup (void);
void
teardown (void);

/* (Re)start the service, with SEKISHO_FAULT=FAULT unless NULL. */
void
start_service (const char *fault);
/* SIGTERM, then wait; returns the exit status (-1: killed by a signal). */
int
stop (GSubprocess **proc);
/* ARGV with the private bus's address in its environment. */
GSubprocess *
spawn_with_bus (const char *const *argv, GSubprocessFlags flags);
GDBusConnection *
bus_connection (void);

/* Runs OP with ARGS as USER (NULL: root); returns its one line of output. */
char *
call_as (const User *user, const char *op, ...) G_GNUC_NULL_TERMINATED;
/* Runs OP (a method that answers a JSON text) as USER; returns the answer,
 * parsed, or NULL with the error line in *OUT_LINE. */
JsonNode *
reply_as (const User *user, char **out_line, const char *op, ...) G_GNUC_NULL_TERMINATED;

/* A table's argument ARG for USER: "@files" the folder the test users can
 * read, "@files/NAME" a file in it, "@out/NAME" a file of USER's own in a
 * folder all may write; anything else as it is. */
char *
resolve_arg (const char *arg, const User *user);

/* TEXT into a file PATH of MODE; FROM copied to TO with MODE. */
void
write_text (const char *path, const char *text, int mode);
void
copy_file (const char *from, const char *to, int mode);
/* A package of one KNY01 file of RECORDS synthetic records for case
 * C…SEED, packed on the standard side into the folder MEDIUM (made if
 * need be) and readable by the test users; returns its path. */
char *
pack_for_users (guint64 seed, guint64 records, const char *medium);
/* A new checkpoint of STATION copied with its signature into the files
 * the test users can read, as NAME and NAME.sig; returns the copy's path. */
char *
checkpoint_for_users (SkStation *station, const char *name);
/* The terminal station's journal head. */
gint64
journal_head (void);

/* ---- the tests, by file -------------------------------------------------- */

/* test-service-roles.c: who may call what */
void
test_roles (void);
void
test_no_single_role (void);
void
test_who_am_i (void);
void
test_job_owner (void);
/* test-service-journal.c: the record through the service */
void
test_verify_checkpoint (void);
void
test_journal_export_options (void);
void
test_systemd_journal (void);
/* test-service-pipeline.c: a case through every step */
void
test_workflow (void);
/* What the app and the CLI read about the handed-off case CASE_ID (also
 * after a restart: test-service-life.c). */
void
assert_reports (const char *case_id);
/* test-service-load.c: many clients at once; the import benchmark */
void
test_load (void);
void
bench_import (void);
/* test-service-life.c: the service killed, a job cancelled, a station refused */
void
test_killed (void);
void
test_cancel (void);
void
test_station_dir_refused (void);

G_END_DECLS
