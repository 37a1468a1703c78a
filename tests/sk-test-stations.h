/* sk-test-stations.h — real keys and two real stations for tests
 *
 * Keys are made once per process with the stock gpg (ed25519, and cv25519
 * encryption subkeys for the stations): the policy administrator, the
 * integration terminal, the 標準システム side, an attacker and a weak
 * rsa2048 key.  Two stations made with the core API share the default
 * policy with its key section filled, signed by the administrator.
 */
#pragma once

#include <gio/gio.h>

#include "sk-station.h"
#include "sk-test-gpg.h"

G_BEGIN_DECLS

typedef struct
{
  SkTestGpg *gpg;
  char *admin;
  char *terminal; /* ed25519 + cv25519 encryption subkey */
  char *standard; /* likewise */
  char *mallory;  /* likewise */
  char *weak;     /* rsa2048, signs only */
  GBytes *admin_pub;
  GBytes *terminal_pub;
  GBytes *terminal_sec;
  GBytes *standard_pub;
  GBytes *standard_sec;
  GBytes *mallory_pub;
  GBytes *weak_pub;
} SkTestKeys;

extern SkTestKeys sk_test_keys;

void
sk_test_keys_make (void);
void
sk_test_keys_free (void);

/* Runs ARGV with INPUT on stdin; returns the exit status (-1: no exit) and
 * stdout in *OUT.  GNUPGHOME is removed: every gpg call names its home. */
int
sk_test_run (const char *const *argv, GBytes *input, GBytes **out);
/* `gpg --homedir KEYS --batch … ARGS…` with INPUT on stdin; asserts exit 0
 * and returns stdout.  The second takes ARGS NULL-terminated. */
GBytes *
sk_test_keys_gpgv (GBytes *input, GPtrArray *args);
GBytes *
sk_test_keys_gpg (GBytes *input, const char *first, ...) G_GNUC_NULL_TERMINATED;

/* One import of the concatenation of KEYDATA (NULL-terminated); OWN_FPR is
 * the one secret key allowed. */
void
sk_test_import (SkStation *station, const char *own_fpr, GBytes *const *keydata);
/* policies/default.json with its key section filled; EXTRA_SIGNER (may be
 * NULL) is listed beside the standard key for to-intermediate, MAX_SIZE (may
 * be NULL) replaces max_package_size. */
char *
sk_test_policy_text (const char *extra_signer, const char *max_size);
char *
sk_test_write_policy (const char *dir, const char *name, const char *text);
SkPolicy *
sk_test_install (SkStation *station, const char *path);

typedef struct
{
  SkStation *term; /* the integration terminal, DIR/t */
  SkStation *std;  /* the 標準システム side, DIR/s */
  SkPolicy *term_policy;
  SkPolicy *std_policy;
  char *policy_text;
} SkTestStations;

/* Both stations under DIR, made on two threads (each step waits on gpg). */
/* …or on one: under umockdev's preload, whose open() takes a lock, a fork
 * on one thread while another holds it leaves the child deadlocked. */
void
sk_test_stations_set_serial (gboolean one_thread);
void
sk_test_stations_make (const char *dir, SkTestStations *out);
/* Stops the stations' agents and removes their GnuPG homes. */
void
sk_test_stations_clear (SkTestStations *stations);

G_END_DECLS
