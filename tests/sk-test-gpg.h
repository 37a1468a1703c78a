/* sk-test-gpg.h — real OpenPGP keys for tests, made with the stock gpg CLI
 *
 * A SkTestGpg is a throw-away GnuPG home (short path, mode 0700) in which
 * tests make keys and signatures by spawning `gpg --homedir HOME --batch`.
 * Tests may spawn gpg; the product never does.  Every function asserts on
 * failure (g_assert_*), so none takes a GError.  Keys have no passphrase.
 * Fingerprints are 40 upper-case hex digits.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _SkTestGpg SkTestGpg;

/* A new, empty GnuPG home under $TMPDIR. */
SkTestGpg *
sk_test_gpg_new (void);
const char *
sk_test_gpg_get_home (SkTestGpg *self);

/* `gpg --quick-gen-key UID ALGO sign EXPIRE`; the primary key only signs
 * (and certifies).  ALGO as quick-gen-key takes it: "ed25519", "rsa3072",
 * "rsa2048", "dsa2048", …; EXPIRE "never", "1d", …; FAKED_TIME NULL or a
 * gpg time such as "20200101T000000" (makes the key as if then).  UID must be
 * unique in this home.  Returns the primary fingerprint. */
char *
sk_test_gpg_make_key (
    SkTestGpg *self, const char *uid, const char *algo, const char *expire, const char *faked_time);

/* Like sk_test_gpg_make_key() with USAGE "cert": a primary that cannot sign,
 * for use with sk_test_gpg_add_signing_subkey(). */
char *
sk_test_gpg_make_cert_key (SkTestGpg *self, const char *uid, const char *algo);

/* `gpg --quick-add-key PRIMARY_FPR ALGO sign never`; returns the new
 * subkey's fingerprint. */
char *
sk_test_gpg_add_signing_subkey (SkTestGpg *self, const char *primary_fpr, const char *algo);

/* `gpg --export FPR` or, with SECRET, `--export-secret-keys FPR`; binary. */
GBytes *
sk_test_gpg_export (SkTestGpg *self, const char *fpr, gboolean secret);

/* A detached signature over DATA: `gpg ARGS... --detach-sign` with DATA on
 * stdin.  ARGS (NULL-terminated, may be NULL) are extra options such as "-u",
 * FPR, "--digest-algo", "SHA1", "--armor", "--textmode",
 * "--faked-system-time", "20200101T120000".  Binary unless "--armor". */
GBytes *
sk_test_gpg_sign (SkTestGpg *self, GBytes *data, const char *const *args);

/* Revokes FPR by importing the revocation certificate gpg stored in
 * openpgp-revocs.d when it made the key.  Export the key again afterwards. */
void
sk_test_gpg_revoke (SkTestGpg *self, const char *fpr);

/* `gpgconf --homedir HOME --kill all`, then removes HOME and the object. */
void
sk_test_gpg_free (SkTestGpg *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkTestGpg, sk_test_gpg_free)

/* For GnuPG homes a test made by other means (e.g. a station's home):
 * stops its gpg-agent, if any, and removes PATH recursively. */
void
sk_test_gpg_remove_home (const char *path);

/* rm -r PATH (which holds no running agent), not following symlinks. */
void
sk_test_remove_tree (const char *path);

/* `gpg --homedir HOME --batch --yes` (no passphrase, loopback pinentry)
 * with ARGS; its standard output into OUT_PATH when not NULL.  Aborts the
 * test when gpg fails; returns its standard error. */
char *
sk_test_gpg_run_in (const char *home, const char *const *args, const char *out_path);

/* Stock gpg imports KEYDATA into HOME (through a file in TMP), as an
 * administrator's `gpg --homedir` would, behind any SkKeyring's back. */
void
sk_test_gpg_stock_import (const char *tmp, const char *home, GBytes *keydata);

G_END_DECLS
