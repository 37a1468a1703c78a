/* sk-test-media.h — what test-media's files share: the fixture, the
 * harness (sk-test-media.c) and the tests, by file
 *
 * test-media is one binary (tests/meson.build) built from test-media.c (main),
 * the harness and a file per group of tests.
 */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <locale.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <umockdev.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-fault.h"
#include "sk-media-csv.h"
#include "sk-media.h"
#include "sk-mount.h"
#include "sk-package.h"
#include "sk-synth.h"
#include "sk-test-gpg.h"
#include "sk-test-stations.h"
#include "sk-test-util.h"

G_BEGIN_DECLS

#define IMAGE_MB 16

typedef struct
{
  char *img;
  char *devnode;
} Loop;

typedef struct
{
  char *tmp;
  char *run;
  gboolean run_mounted;
  char *files;
  SkTestStations st;
  SkPolicy *layouts;
  SkPipeline *pipe;
  SkJournal *journal;
  SkActor op;
  SkActor admin;
  UMockdevTestbed *tb;
  GPtrArray *loops; /* Loop* */
  SkUdev *udev;
  SkMedia *media;
  guint added, refused, removed;
  guint n_usb;
  char *dev_node; /* a node this test made under /dev, removed at the end */
} Fixture;

/* ---- the harness and the tests, by file --------------------------------- */

/* sk-test-media.c: the harness (environment, fixture, media, packages) */
char *
run_real (const char *const *argv);
dev_t
devnum_of (const char *devnode);
void
devnum_props (const char *devnode, char **out_major, char **out_minor);
gboolean
in_mountinfo (dev_t devnum);
char *
mountinfo_of (Fixture *fx, SkMount *mount);
void
on_added (SkMedia *media, SkMedium *m, Fixture *fx);
void
fixture_setup (Fixture *fx, gconstpointer data);
void
start_media (Fixture *fx);
void
fixture_teardown (Fixture *fx, gconstpointer data);
gboolean
skip_without_loop (Fixture *fx);
gboolean
skip_without_faults (Fixture *fx);
Loop *
make_loop (Fixture *fx, const char *populate);
void
pump_until (guint *counter, guint want);
char *
add_usb (Fixture *fx, const char *serial, const char *const *classes, const char *devnode);
extern const char *const storage_only[];
void
remove_device (Fixture *fx, const char *syspath);
SkJournalRow *
last_row (Fixture *fx, const char *event);
guint
rows_of (Fixture *fx, const char *event);
char *
only_medium_id (Fixture *fx);
SkMediumRecord *
register_ok (Fixture *fx, const char *id, const char *number);
char *
plug_registered (
    Fixture *fx, const char *serial, const char *devnode, const char *number, char **out_disk);
void
import_one_ok (Fixture *fx, const char *id);
char *
case_of (guint64 seed);
char *
pack_into (Fixture *fx, guint64 seed, const char *dir);
char *
case_with_result (Fixture *fx, guint64 seed);
char *
file_sha256 (const char *path);
/* test-media-register.c: classification and the CSV (no devices needed) */
void
test_classify (void);
void
test_csv_cells (void);
extern const char csv_header[];
void
test_register_csv (Fixture *fx, gconstpointer data);
/* test-media-devices.c: devices */
void
test_registered_stick (Fixture *fx, gconstpointer data);
void
test_composite (Fixture *fx, gconstpointer data);
void
test_optical (Fixture *fx, gconstpointer data);
void
test_states (Fixture *fx, gconstpointer data);
void
test_tokens (Fixture *fx, gconstpointer data);
void
test_swapped_node (Fixture *fx, gconstpointer data);
void
test_planted (Fixture *fx, gconstpointer data);
/* test-media-failing.c: a medium that fails */
void
test_readback_flip (Fixture *fx, gconstpointer data);
void
test_full (Fixture *fx, gconstpointer data);
void
test_pulled (Fixture *fx, gconstpointer data);
void
test_eio_import (Fixture *fx, gconstpointer data);
void
test_eio_export (Fixture *fx, gconstpointer data);
/* test-media-cli.c: through the CLI */
void
test_look_only (Fixture *fx, gconstpointer data);
void
test_cli (Fixture *fx, gconstpointer data);
void
test_policy_import_unregistered (Fixture *fx, gconstpointer data);
/* test-media-fs.c: file systems, read-only, discs */
void
test_mount_options (void);
void
test_read_only_untouched (Fixture *fx, gconstpointer data);
void
test_filesystems (Fixture *fx, gconstpointer data);
void
test_write_protected (Fixture *fx, gconstpointer data);
void
test_disc_into (Fixture *fx, gconstpointer data);
void
test_disc (Fixture *fx, gconstpointer data);

G_END_DECLS
