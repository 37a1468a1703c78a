/* sk-keyring-import.c — keys taken into a home
 *
 * Checked first in a throw-away home, removed with the agent it started.
 */
#define G_LOG_DOMAIN "sekisho-keyring"

#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sk-hash.h"
#include "sk-keyring-private.h"

/* Held while the umask is narrowed for an import (below). */
G_LOCK_DEFINE_STATIC (import_umask);

/* ---- import ---------------------------------------------------------------- */

/* A throw-away GnuPG home, removed with whatever agent the import started. */
typedef struct
{
  char *path;
} ScratchHome;

static int
remove_one (const char *path, const struct stat *st, int typeflag, struct FTW *ftw)
{
  if (remove (path) != 0 && errno != ENOENT)
    g_debug ("removing %s: %s", path, g_strerror (errno));
  return 0;
}

/* Where gpg-agent puts its socket for HOME, as GnuPG 2.2 computes it: in
 * /run/user/UID/gnupg/d.HASH when /run/user/UID exists (HASH: the first 15
 * bytes of SHA-1 of HOME in z-base-32), else in HOME itself.  Computed here
 * rather than asked of gpgconf, which GPGME is kept from running (see
 * gpgme_init_once). */
char *
_sk_keyring_agent_socket_in_run_user (const char *home)
{
  static const char zb32[] = "ybndrfg8ejkmcpqxot1uwisza345h769";
  g_autofree char *run = g_strdup_printf ("/run/user/%u", (guint)getuid ());
  if (!g_file_test (run, G_FILE_TEST_IS_DIR))
    return NULL;

  guint8 digest[20];
  gsize len = sizeof digest;
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA1);
  g_checksum_update (sum, (const guchar *)home, -1);
  g_checksum_get_digest (sum, digest, &len);
  char name[25];
  for (guint i = 0; i < 24; i++)
    {
      guint bit = i * 5, byte = bit / 8, shift = bit % 8;
      guint v = (guint)digest[byte] << 8 | (byte + 1 < 15 ? digest[byte + 1] : 0);
      name[i] = zb32[(v >> (11 - shift)) & 0x1F];
    }
  name[24] = '\0';
  return g_strdup_printf ("%s/gnupg/d.%s/S.gpg-agent", run, name);
}

/* Send KILLAGENT to the agent listening on SOCKET_PATH.  The agent speaks
 * the line-based Assuan protocol: a greeting ("OK ..."), then one reply per
 * command.  Spoken here directly: GPGME's Assuan engine needs gpgconf,
 * which GPGME is kept from running (see gpgme_init_once). */
static gboolean
send_killagent (const char *socket_path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  char line[512];

  if (strlen (socket_path) >= sizeof addr.sun_path)
    return FALSE;
  strcpy (addr.sun_path, socket_path);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return FALSE;
  gboolean ok = connect (fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
                recv (fd, line, sizeof line, 0) > 2 && g_str_has_prefix (line, "OK") &&
                send (fd, "KILLAGENT\n", 10, MSG_NOSIGNAL) == 10 &&
                recv (fd, line, sizeof line, 0) > 0;
  close (fd);
  return ok;
}

/* Stops the gpg-agent of HOME, if one runs. */
static void
kill_agent (const char *home)
{
  g_autofree char *in_home = g_build_filename (home, "S.gpg-agent", NULL);
  g_autofree char *in_run = _sk_keyring_agent_socket_in_run_user (home);
  const char *candidates[] = { in_home, in_run };

  for (gsize c = 0; c < G_N_ELEMENTS (candidates); c++)
    {
      const char *socket_path = candidates[c];
      if (socket_path == NULL || !g_file_test (socket_path, G_FILE_TEST_EXISTS))
        continue;
      if (!send_killagent (socket_path))
        {
          g_debug ("could not stop the agent of %s", home);
          continue;
        }
      /* The agent removes its socket as it exits; give it a moment so that
       * it is gone before its home is. */
      for (guint i = 0; i < 200 && g_file_test (socket_path, G_FILE_TEST_EXISTS); i++)
        g_usleep (10 * G_TIME_SPAN_MILLISECOND);
      /* Under /run/user the per-home directory (d.HASH) is left behind
       * empty; rmdir() removes it only if it is. */
      if (c == 1)
        {
          g_autofree char *dir = g_path_get_dirname (socket_path);
          (void)g_rmdir (dir);
        }
    }
}

static void
scratch_home_free (ScratchHome *scratch)
{
  if (scratch == NULL)
    return;
  if (scratch->path == NULL)
    {
      g_free (scratch);
      return;
    }
  _sk_keyring_context_pool_drop (scratch->path);
  kill_agent (scratch->path);
  if (nftw (scratch->path, remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
    g_warning ("could not remove the scratch GnuPG home %s", scratch->path);
  g_free (scratch->path);
  g_free (scratch);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (ScratchHome, scratch_home_free)

static ScratchHome *
scratch_home_new (GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (ScratchHome) scratch = g_new0 (ScratchHome, 1);

  /* Short name: the agent's socket lives in it where /run/user is missing. */
  scratch->path = g_dir_make_tmp ("skk-XXXXXX", &local_error);
  if (scratch->path == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("making a scratch GnuPG home: %s"),
                   local_error->message);
      return NULL;
    }
  if (!sk_keyring_init_home (scratch->path, error))
    return NULL;
  return g_steal_pointer (&scratch);
}

/* Imports KEYDATA into the home of CTX and returns GPGME's result. */
static gpgme_import_result_t
import_into (gpgme_ctx_t ctx, GBytes *keydata, GError **error)
{
  g_auto (gpgme_data_t) in = NULL;
  gpgme_import_result_t result;
  const void *bytes;
  gsize len = 0;
  gpgme_error_t gerr;

  bytes = g_bytes_get_data (keydata, &len);
  gerr = gpgme_data_new_from_mem (&in, bytes != NULL ? bytes : "", len, 0);
  if (gerr != 0)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("reading the key file"));
      return NULL;
    }
  /* gpg writes the keyring (pubring.kbx, its ~ backup) with the mode our
   * umask allows, 0644 by default: every file of a station is 0600.  The
   * umask is the process's, not the thread's: two imports at once (two
   * stations made on two threads) each restored the other's mask, and one
   * keyring came out 0644 (test-station-state, in CI).  One at a time. */
  G_LOCK (import_umask);
  mode_t mask = umask (077);
  gerr = gpgme_op_import (ctx, in);
  umask (mask);
  G_UNLOCK (import_umask);
  result = gpgme_op_import_result (ctx);
  if (gpgme_err_code (gerr) == GPG_ERR_NO_DATA ||
      (gerr == 0 && (result == NULL || result->considered == 0)))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_KEY_REFUSED, _ ("the key file holds no OpenPGP key"));
      return NULL;
    }
  if (gerr != 0)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_KEY_REFUSED, _ ("importing keys"));
      return NULL;
    }
  if (result->not_imported > 0)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_KEY_REFUSED,
                   _ ("%d of the %d keys in the key file could not be imported"),
                   result->not_imported, result->considered);
      return NULL;
    }
  if (result->secret_read != result->secret_imported + result->secret_unchanged)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_KEY_REFUSED,
                   _ ("%d of the %d secret keys in the key file could not be imported"),
                   result->secret_read - result->secret_imported - result->secret_unchanged,
                   result->secret_read);
      return NULL;
    }
  for (gpgme_import_status_t st = result->imports; st != NULL; st = st->next)
    {
      if (st->result != 0)
        {
          g_autofree char *what = g_strdup_printf ("importing %s", st->fpr ? st->fpr : "a key");
          _sk_keyring_set_error_from_gpgme (error, st->result, SK_ERROR_KEY_REFUSED, what);
          return NULL;
        }
    }
  return result;
}

/* Refuses when the scratch home holds a secret key other than ALLOWED. */
static gboolean
check_secret_keys (gpgme_ctx_t ctx,
                   gpgme_import_result_t result,
                   const char *allowed,
                   GError **error)
{
  gpgme_error_t gerr;

  /* What gpg said it imported ... */
  for (gpgme_import_status_t st = result->imports; st != NULL; st = st->next)
    {
      if ((st->status & GPGME_IMPORT_SECRET) && !_sk_keyring_fpr_equal (st->fpr, allowed))
        {
          g_set_error (error, SK_ERROR, SK_ERROR_KEY_REFUSED,
                       _ ("the key file holds the secret key %s, which is not the station's own"),
                       st->fpr != NULL ? st->fpr : _ ("(unknown)"));
          return FALSE;
        }
    }

  /* ... and what the home now holds. */
  gerr = gpgme_op_keylist_start (ctx, NULL, 1);
  for (;;)
    {
      g_auto (gpgme_key_t) key = NULL;

      if (gerr == 0)
        gerr = gpgme_op_keylist_next (ctx, &key);
      if (gerr != 0)
        break;
      if (key->subkeys == NULL || !_sk_keyring_fpr_equal (key->subkeys->fpr, allowed))
        {
          gpgme_op_keylist_end (ctx);
          g_set_error (error, SK_ERROR, SK_ERROR_KEY_REFUSED,
                       _ ("the key file holds the secret key %s, which is not the station's own"),
                       key->subkeys != NULL && key->subkeys->fpr ? key->subkeys->fpr
                                                                 : _ ("(unknown)"));
          return FALSE;
        }
    }
  gpgme_op_keylist_end (ctx);
  if (gpgme_err_code (gerr) != GPG_ERR_EOF)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_KEY_REFUSED,
                                        _ ("listing the offered secret keys"));
      return FALSE;
    }
  return TRUE;
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *
sk_keyring_import (SkKeyring *self, GBytes *keydata, const char *allowed_secret_fpr, GError **error)
{
  g_autoptr (GPtrArray) fprs = NULL;
  gpgme_import_result_t result;

  g_return_val_if_fail (SK_IS_KEYRING (self), NULL);
  g_return_val_if_fail (keydata != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* First a dry run in a scratch home, the real thing for gpg, so that what
   * is checked is exactly what an import does; the real home is touched only
   * once the whole file has passed. */
  {
    g_autoptr (ScratchHome) scratch = NULL;
    g_auto (gpgme_ctx_t) ctx = NULL;

    scratch = scratch_home_new (error);
    if (scratch == NULL)
      return NULL;
    ctx = _sk_keyring_context_make (scratch->path, error);
    if (ctx == NULL)
      return NULL;
    result = import_into (ctx, keydata, error);
    if (result == NULL)
      return NULL;
    if (!check_secret_keys (ctx, result, allowed_secret_fpr, error))
      return NULL;
  }

  {
    g_autoptr (SkGpgContext) ctx = NULL;

    ctx = _sk_keyring_context_new (self->homedir, error);
    if (ctx == NULL)
      return NULL;
    /* Whatever the import did, even in part, is seen by the next lookup. */
    _sk_keyring_forget_keys (self);
    result = import_into (ctx, keydata, error);
    _sk_keyring_forget_keys (self);
    if (result == NULL)
      return NULL;

    fprs = g_ptr_array_new_with_free_func (g_free);
    for (gpgme_import_status_t st = result->imports; st != NULL; st = st->next)
      {
        g_autofree char *fpr = st->fpr != NULL ? g_ascii_strup (st->fpr, -1) : NULL;
        guint index;

        if (fpr == NULL || g_ptr_array_find_with_equal_func (fprs, fpr, g_str_equal, &index))
          continue;
        g_ptr_array_add (fprs, g_steal_pointer (&fpr));
      }
  }

  g_ptr_array_sort (fprs, compare_strings);
  return g_steal_pointer (&fprs);
}
