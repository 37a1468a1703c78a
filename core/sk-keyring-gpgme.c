/* sk-keyring-gpgme.c — GPGME started, its contexts, its errors
 *
 * What every file of the door to GPGME (sk-keyring-private.h) shares:
 * GPGME's start-up, done on first use and only then (a command whose keys
 * the key cache answers starts no GPGME engine: sk-keyring-cache.c), the
 * contexts pinned to a home and kept for reuse, the one place a
 * gpgme_error_t becomes a GError, and lookups of one key.  It uses nothing
 * of the other files, so they stand on it without a loop.
 */
#define G_LOG_DOMAIN "sekisho-keyring"

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <string.h>

#include "sk-error.h"
#include "sk-keyring-private.h"

/* ---- errors ---------------------------------------------------------------- */

/* The one place a gpgme_error_t becomes a GError.  Cancellation stays GIO's
 * cancellation; an errno from the system becomes io-error or disk-full; every
 * other failure becomes CODE.  The text is GPGME's, which never holds key
 * material. */
void
_sk_keyring_set_error_from_gpgme (GError **error,
                                  gpgme_error_t gerr,
                                  SkErrorCode code,
                                  const char *what)
{
  gpg_err_code_t ec = gpgme_err_code (gerr);
  char buf[256];
  int errsv;

  if (ec == GPG_ERR_CANCELED || ec == GPG_ERR_ECANCELED)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _ ("%s: %s"), what,
                   g_strerror (ECANCELED));
      return;
    }

  /* Only where the caller's failure is the environment's (io-error) does an
   * errno count: a verify or import that ends in EPIPE because gpg gave up on
   * hostile input is still a refusal, never an environment problem. */
  errsv = gpgme_err_code_to_errno (ec);
  if (errsv != 0 && code == SK_ERROR_IO_ERROR)
    {
      sk_error_set_from_errno (error, errsv, what);
      return;
    }

  if (gpgme_strerror_r (gerr, buf, sizeof buf) != 0)
    g_strlcpy (buf, _ ("unknown GPGME error"), sizeof buf);
  g_set_error (error, SK_ERROR, code, _ ("%s: %s"), what, buf);
}

/* GPGME moves data between us and gpg in 4 KiB steps by default: a
 * system call or two per step.  Bigger steps for the large streams — but
 * not bigger than a pipe holds on the way into gpg: a write into the pipe
 * that only partly succeeds leaves GPGME to move the rest to the front of
 * its buffer and try again, and GPGME 1.18 also runs its (disabled) debug
 * trace over the whole pending buffer on every try, so a 256 KiB buffer
 * into a 64 KiB pipe costs about 2.5 passes over every byte.  Measured on
 * a 500 MB package: 64 KiB into gpg takes a third less CPU than 256 KiB,
 * and less than 32 KiB or 16 KiB (more system calls). */
void
_sk_keyring_big_buffers (gpgme_data_t data)
{
  if (data != NULL)
    (void)gpgme_data_set_flag (data, "io-buffer-size", "262144");
}

/* For data GPGME writes into gpg: the capacity of a pipe. */
void
_sk_keyring_pipe_buffers (gpgme_data_t data)
{
  if (data != NULL)
    (void)gpgme_data_set_flag (data, "io-buffer-size", "65536");
}

/* ---- contexts -------------------------------------------------------------- */

static gpointer
gpgme_init_once (gpointer data)
{
  /* Initialises GPGME (threads, locale of the library) exactly once. */
  /* Without this GPGME runs gpgconf twice, and gpgsm, gpgconf and gpg
   * once each, on every start, to learn about engines we never use.  The
   * engine we use is named explicitly (SK_GPG_PATH); the agent of a
   * scratch home is found without gpgconf (kill_agent). */
  gpgme_set_global_flag ("disable-gpgconf", "1");
  return (gpointer)gpgme_check_version ("1.18.0");
}

gboolean
_sk_keyring_ensure_gpgme (GError **error)
{
  static GOnce once = G_ONCE_INIT;

  if (g_once (&once, gpgme_init_once, NULL) == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("GPGME is older than 1.18"));
      return FALSE;
    }

  /* No gpgme_engine_check_version (): it probes every engine GPGME knows
   * (gpgsm, gpgconf, …), one process each.  The gpg engine is checked on
   * each context instead (context_new_for_protocol). */
  return TRUE;
}

/* A context for PROTOCOL whose engine runs on HOMEDIR, never on ~/.gnupg or
 * $GNUPGHOME (gpg gets --homedir, which wins over the environment). */
static gpgme_ctx_t
context_new_for_protocol (const char *homedir,
                          gpgme_protocol_t protocol,
                          const char *engine_file,
                          GError **error)
{
  g_auto (gpgme_ctx_t) ctx = NULL;
  gpgme_error_t gerr;

  if (!_sk_keyring_ensure_gpgme (error))
    return NULL;

  gerr = gpgme_new (&ctx);
  if (gerr == 0)
    gerr = gpgme_set_protocol (ctx, protocol);
  if (gerr == 0)
    gerr = gpgme_ctx_set_engine_info (ctx, protocol, engine_file, homedir);
  if (gerr != 0)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR,
                                        _ ("creating a GPGME context"));
      return NULL;
    }
  /* A program engine must answer to --version; the Assuan "engine" is a
   * socket and has none. */
  gpgme_engine_info_t info = gpgme_ctx_get_engine_info (ctx);
  if (protocol != GPGME_PROTOCOL_ASSUAN && (info == NULL || info->version == NULL))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("the %s engine is not usable"),
                   gpgme_get_protocol_name (protocol));
      return NULL;
    }
  return g_steal_pointer (&ctx);
}

/* The OpenPGP context every keyring operation uses, made afresh. */
gpgme_ctx_t
_sk_keyring_context_make (const char *homedir, GError **error)
{
  g_auto (gpgme_ctx_t) ctx = NULL;
  gpgme_error_t gerr;

  /* The gpg found at build time: naming it saves GPGME asking gpgconf
   * where gpg is, two more processes on every run.
   *
   * Two runs of `gpg --version` per process remain, and GPGME 1.18 leaves
   * no supported way round either: the first gpgme_new() fills GPGME's
   * global engine list (one run), and gpgme_ctx_set_engine_info(), the
   * only way to give a context a home of its own, asks the engine for its
   * version again whatever it is given (_gpgme_set_engine_info).  Setting
   * the home globally costs the same run, and $GNUPGHOME is not ours to
   * set.  Contexts are pooled (below), so it is one run per home. */
  ctx = context_new_for_protocol (homedir, GPGME_PROTOCOL_OpenPGP, SK_GPG_PATH, error);
  if (ctx == NULL)
    return NULL;

  /* Never reach the network (no dirmngr, no CRL or key fetching). */
  gpgme_set_offline (ctx, 1);
  /* Binary in and out; armored signatures are refused before GPGME. */
  gpgme_set_armor (ctx, 0);
  /* Station keys have no passphrase: no pinentry ever pops up on the
   * service's behalf; a key that wants one fails instead. */
  gerr = gpgme_set_pinentry_mode (ctx, GPGME_PINENTRY_MODE_LOOPBACK);
  /* Keys come from this keyring only, never from a keyserver or WKD. */
  if (gerr == 0)
    gerr = gpgme_set_keylist_mode (ctx, GPGME_KEYLIST_MODE_LOCAL);
  if (gerr != 0)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR,
                                        _ ("configuring a GPGME context"));
      return NULL;
    }
  return g_steal_pointer (&ctx);
}

/* Contexts are kept for reuse, per GnuPG home (sk-keyring-private.h). */
static GMutex pool_lock;
static GHashTable *pool_idle; /* homedir → GSList of idle contexts */
static GHashTable *pool_lent; /* context → its homedir */

SkGpgContext *
_sk_keyring_context_new (const char *homedir, GError **error)
{
  g_mutex_lock (&pool_lock);
  if (pool_idle == NULL)
    {
      pool_idle = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      pool_lent = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
    }
  GSList *idle = g_hash_table_lookup (pool_idle, homedir);
  gpgme_ctx_t ctx = NULL;
  if (idle != NULL)
    {
      ctx = idle->data;
      g_hash_table_insert (pool_idle, g_strdup (homedir), g_slist_delete_link (idle, idle));
    }
  g_mutex_unlock (&pool_lock);

  if (ctx == NULL)
    ctx = _sk_keyring_context_make (homedir, error);
  if (ctx == NULL)
    return NULL;
  g_mutex_lock (&pool_lock);
  g_hash_table_insert (pool_lent, ctx, g_strdup (homedir));
  g_mutex_unlock (&pool_lock);
  return ctx;
}

void
_sk_keyring_context_release (SkGpgContext *ctx)
{
  if (ctx == NULL)
    return;
  g_mutex_lock (&pool_lock);
  char *homedir = NULL;
  gboolean pooled =
      pool_lent != NULL && g_hash_table_steal_extended (pool_lent, ctx, NULL, (gpointer *)&homedir);
  if (pooled)
    {
      gpgme_signers_clear (ctx);
      GSList *idle = g_hash_table_lookup (pool_idle, homedir);
      g_hash_table_insert (pool_idle, homedir, g_slist_prepend (idle, ctx));
    }
  g_mutex_unlock (&pool_lock);
  if (!pooled)
    gpgme_release (ctx);
}

/* Forget the contexts of HOMEDIR (a throw-away home about to go). */
void
_sk_keyring_context_pool_drop (const char *homedir)
{
  g_mutex_lock (&pool_lock);
  GSList *idle = pool_idle != NULL ? g_hash_table_lookup (pool_idle, homedir) : NULL;
  if (idle != NULL)
    g_hash_table_remove (pool_idle, homedir);
  g_mutex_unlock (&pool_lock);
  g_slist_free_full (idle, (GDestroyNotify)gpgme_release);
}

/* The one key whose primary fingerprint is FPR; NULL (no error) when there is
 * none.  A pattern that matches more than one key is an error. */
gboolean
_sk_keyring_find_key_on (
    gpgme_ctx_t ctx, const char *fpr, gboolean secret, gpgme_key_t *out_key, GError **error)
{
  g_auto (gpgme_key_t) found = NULL;
  gpgme_error_t gerr;

  *out_key = NULL;

  gerr = gpgme_op_keylist_start (ctx, fpr, secret ? 1 : 0);
  for (;;)
    {
      g_auto (gpgme_key_t) key = NULL;

      if (gerr == 0)
        gerr = gpgme_op_keylist_next (ctx, &key);
      if (gerr != 0)
        break;
      if (found != NULL)
        {
          gpgme_op_keylist_end (ctx);
          g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                       _ ("more than one key in the keyring matches %s"), fpr);
          return FALSE;
        }
      found = g_steal_pointer (&key);
    }
  gpgme_op_keylist_end (ctx);
  if (gpgme_err_code (gerr) != GPG_ERR_EOF)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("listing keys"));
      return FALSE;
    }

  *out_key = g_steal_pointer (&found);
  return TRUE;
}

gboolean
_sk_keyring_find_key (
    const char *homedir, const char *fpr, gboolean secret, gpgme_key_t *out_key, GError **error)
{
  g_autoptr (SkGpgContext) ctx = _sk_keyring_context_new (homedir, error);

  *out_key = NULL;
  return ctx != NULL && _sk_keyring_find_key_on (ctx, fpr, secret, out_key, error);
}

gboolean
_sk_keyring_fpr_equal (const char *a, const char *b)
{
  return a != NULL && b != NULL && g_ascii_strcasecmp (a, b) == 0;
}
