/* sk-keyring-private.h — what the files of the door to GPGME share
 *
 * SkKeyring is one type in several files, split by concept (STYLE.md 23):
 * sk-keyring.c (the object, its home, keys listed and exported),
 * sk-keyring-gpgme.c (GPGME started on first use, its contexts and errors),
 * sk-keyring-cache.c and sk-keyring-listing.c (the key cache and the gpg
 * output it keeps), sk-keyring-verify.c (the rule of acceptance 1),
 * sk-keyring-write.c (signing and encryption), sk-keyring-decrypt.c and
 * sk-keyring-import.c.  Only these files include this header, and this
 * header is the only one that includes <gpgme.h> (the one door, STYLE.md
 * 4; scripts/check-source holds it).
 */
#pragma once

#include <gio/gio.h>
#include <gpgme.h>

#include "sk-error.h"
#include "sk-keyring.h"
#include "sk-pgp-packet.h"

G_BEGIN_DECLS

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gpgme_ctx_t, gpgme_release, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gpgme_data_t, gpgme_data_release, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gpgme_key_t, gpgme_key_unref, NULL)
/* Memory GPGME allocated and wants back through gpgme_free(). */
typedef char *SkGpgmeMem;
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (SkGpgmeMem, gpgme_free, NULL)

typedef struct _SkKeyCache SkKeyCache;

struct _SkKeyring
{
  GObject parent_instance;

  char *homedir; /* absolute */
  GMutex keys_lock;
  SkKeyCache *keys; /* GnuPG's listing and export, kept (sk-keyring-cache.c) */
  guint key_runs;   /* runs of gpg that made them */
};

/* The one place a gpgme_error_t becomes a GError (sk-keyring.c). */
void
_sk_keyring_set_error_from_gpgme (GError **error,
                                  gpgme_error_t gerr,
                                  SkErrorCode code,
                                  const char *what);
/* GPGME's buffer sizes for large streams, and for data written into gpg. */
void
_sk_keyring_big_buffers (gpgme_data_t data);
void
_sk_keyring_pipe_buffers (gpgme_data_t data);
gboolean
_sk_keyring_ensure_gpgme (GError **error);

/* Contexts are kept for reuse, per GnuPG home: GPGME runs `gpg --version`
 * every time a context is pointed at a home (gpgme_ctx_set_engine_info),
 * about 30 ms each, which was most of the fixed cost of a short command.
 * A context is lent to one operation at a time and comes back with its
 * signers cleared; contexts for throw-away homes are not kept. */
typedef struct gpgme_context SkGpgContext;

/* A fresh context that is not kept (for throw-away homes). */
gpgme_ctx_t
_sk_keyring_context_make (const char *homedir, GError **error);
SkGpgContext *
_sk_keyring_context_new (const char *homedir, GError **error);
void
_sk_keyring_context_release (SkGpgContext *ctx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkGpgContext, _sk_keyring_context_release)

/* Forget the contexts of HOMEDIR (a throw-away home about to go). */
void
_sk_keyring_context_pool_drop (const char *homedir);

/* The one key whose primary fingerprint is FPR; NULL (no error) when there is
 * none.  A pattern that matches more than one key is an error. */
gboolean
_sk_keyring_find_key_on (
    gpgme_ctx_t ctx, const char *fpr, gboolean secret, gpgme_key_t *out_key, GError **error);
gboolean
_sk_keyring_find_key (
    const char *homedir, const char *fpr, gboolean secret, gpgme_key_t *out_key, GError **error);
gboolean
_sk_keyring_fpr_equal (const char *a, const char *b);

/* The public keys of this home as GnuPG lists and exports them, kept for
 * the life of the object (sk-keyring-cache.c says what that does not
 * prove).  The key whose primary or subkey has the fingerprint or key id
 * PATTERN (40 or 16 hex digits; any other pattern is asked of GnuPG),
 * NULL (no error) when there is none; more than one is an error. */
gboolean
_sk_keyring_lookup (SkKeyring *self, const char *pattern, gpgme_key_t *out_key, GError **error);
/* The key block of the primary PRIMARY_FPR, as this home exports it
 * (minimal: the keys and their self-signatures). */
GBytes *
_sk_keyring_key_block (SkKeyring *self, const char *primary_fpr, GError **error);
/* Forget what was listed and exported: every import calls it. */
void
_sk_keyring_forget_keys (SkKeyring *self);
void
_sk_key_cache_free (SkKeyCache *cache);

/* GnuPG's listing and export of a home as bytes, each one run of gpg
 * through GPGME's spawn engine (sk-keyring-listing.c), and the listing
 * read into the keys GPGME's keylist would have made of it. */
GBytes *
_sk_keyring_run_gpg (const char *homedir, const char *const *args, GError **error);
GBytes *
_sk_keyring_run_listing (const char *homedir, GError **error);
GBytes *
_sk_keyring_run_export (const char *homedir, GError **error);
gboolean
_sk_keyring_parse_listing (GBytes *listing, GPtrArray **out_keys, GError **error);

/* The signed file, streamed through GPGME's read callback (never read whole
 * into memory).  Before each chunk the callback waits for the fd or the
 * cancellable, whichever comes first, so a cancellation also ends a read that
 * waits on a pipe; GPGME then ends the operation. */
typedef struct
{
  int fd;
  GCancellable *cancellable;
  GPollFD polls[2]; /* the fd, and the cancellable's when there is one */
  guint n_polls;
  int read_errno;
} FdReader;

void
_sk_keyring_fd_reader_clear (FdReader *reader);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (FdReader, _sk_keyring_fd_reader_clear)

gpgme_ssize_t
_sk_keyring_fd_reader_read (void *handle, void *buffer, size_t size);

/* Rule 0 of acceptance 1: one binary v4 signature packet over binary data
 * (sk-keyring-verify.c). */
gboolean
_sk_keyring_check_signature_packets (GBytes *signature, GError **error);
/* The public key packet of PRIMARY_FPR, as this home exports it. */
SkPgpKey *
_sk_keyring_export_primary (SkKeyring *self, const char *primary_fpr, GError **error);

/* Where gpg-agent puts its socket for HOME when /run/user/UID exists
 * (sk-keyring-import.c); NULL otherwise. */
char *
_sk_keyring_agent_socket_in_run_user (const char *home);

G_END_DECLS
