/* sk-keyring.c — the station's GnuPG home: verify, sign, import
 *
 * The door to GPGME, in several files (sk-keyring-private.h says which):
 * this one holds the object, its home, and the keys as listed for the
 * station's key list and backup (GPGME's contexts are in
 * sk-keyring-gpgme.c, the key cache in sk-keyring-cache.c).  Every operation takes its own GPGME
 * context, pinned to this keyring's home, offline, binary, loopback pinentry; so one SkKeyring may
 * be used from several threads.
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

#include "sk-error.h"
#include "sk-hash.h"
#include "sk-keyring-private.h"
#include "sk-keyring.h"
#include "sk-pgp-decrypt.h"
#include "sk-gpg-agent.h"
#include "sk-pgp-packet.h"
#include "sk-pgp-write.h"

G_DEFINE_FINAL_TYPE (SkKeyring, sk_keyring, G_TYPE_OBJECT)

/* The gpg.conf of a station home.  Each line is here for a reason; stock gpg
 * 2.2 accepts every one of them (test-keyring runs `gpg --gpgconf-test`). */
static const char gpg_conf[] =
    "# Written by Sekisho (sk_keyring_init_home), which rewrites it on every init.\n"
    /* Never fetch a signer's missing key while verifying: an unknown signer is
     * a refusal, not a reason to go online. */
    "no-auto-key-retrieve\n"
    /* Look keys up by address in this keyring only (no WKD, DANE, keyserver). */
    "auto-key-locate local\n"
    /* Never start dirmngr: the station has no network, and this home must not
     * use one even where the terminal has. */
    "disable-dirmngr\n"
    /* A signing subkey counts only with its back-signature to the primary (the
     * default since 2.0; pinned so a tuned gpg.conf cannot switch it off). */
    "require-cross-certification\n"
    /* Signatures made here (packages, policies, checkpoints) use SHA-512 ... */
    "digest-algo SHA512\n"
    /* ... and so do the preferences advertised in keys made with this home ... */
    "personal-digest-preferences SHA512 SHA384 SHA256\n"
    /* ... and certifications (key signatures) made here. */
    "cert-digest-algo SHA512\n"
    /* No copyright banner in the output of a stock `gpg --homedir` run. */
    "no-greeting\n";

/* ---- the object ------------------------------------------------------------ */

static void
sk_keyring_finalize (GObject *object)
{
  SkKeyring *self = SK_KEYRING (object);

  g_clear_pointer (&self->keys, _sk_key_cache_free);
  g_mutex_clear (&self->keys_lock);
  g_free (self->homedir);
  G_OBJECT_CLASS (sk_keyring_parent_class)->finalize (object);
}

static void
sk_keyring_class_init (SkKeyringClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sk_keyring_finalize;
}

static void
sk_keyring_init (SkKeyring *self)
{
  g_mutex_init (&self->keys_lock);
}

void
sk_signature_free (SkSignature *sig)
{
  if (sig == NULL)
    return;
  g_free (sig->primary_fpr);
  g_free (sig->signing_fpr);
  g_free (sig->hash_algo);
  g_free (sig->key_algo);
  g_free (sig);
}

/* A GnuPG home we may use: a real directory (not a symlink), owned by us, that
 * no one else may read, write or enter. */
static gboolean
check_home_dir (const char *homedir, GError **error)
{
  struct stat st;

  if (g_lstat (homedir, &st) != 0)
    {
      int errsv = errno;
      g_set_error (error, SK_ERROR, SK_ERROR_STATION_INVALID, _ ("GnuPG home %s: %s"), homedir,
                   g_strerror (errsv));
      return FALSE;
    }
  if (!S_ISDIR (st.st_mode))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_STATION_INVALID,
                   _ ("GnuPG home %s is not a directory"), homedir);
      return FALSE;
    }
  if (st.st_uid != geteuid ())
    {
      g_set_error (error, SK_ERROR, SK_ERROR_STATION_INVALID,
                   _ ("GnuPG home %s is owned by uid %u, not by this process (uid %u)"), homedir,
                   (guint)st.st_uid, (guint)geteuid ());
      return FALSE;
    }
  if ((st.st_mode & 077) != 0)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_STATION_INVALID,
                   _ ("GnuPG home %s has mode %04o; only its owner may access it (0700)"), homedir,
                   (guint)(st.st_mode & 07777));
      return FALSE;
    }
  return TRUE;
}

gboolean
sk_keyring_init_home (const char *homedir, GError **error)
{
  g_autofree char *conf_path = NULL;

  g_return_val_if_fail (homedir != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_mkdir (homedir, 0700) == 0)
    {
      /* The umask can only have taken bits away; make the mode exact. */
      if (g_chmod (homedir, 0700) != 0)
        {
          sk_error_set_from_errno (error, errno, homedir);
          return FALSE;
        }
    }
  else if (errno != EEXIST)
    {
      sk_error_set_from_errno (error, errno, homedir);
      return FALSE;
    }

  /* Idempotent on a home of ours; an existing directory anyone else can
   * reach is not ours to reuse. */
  if (!check_home_dir (homedir, error))
    return FALSE;

  conf_path = g_build_filename (homedir, "gpg.conf", NULL);
  if (!g_file_set_contents_full (conf_path, gpg_conf, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                 error))
    {
      g_prefix_error (error, _ ("writing %s: "), conf_path);
      return FALSE;
    }
  return TRUE;
}

SkKeyring *
sk_keyring_new (const char *homedir, GError **error)
{
  g_autoptr (SkKeyring) self = NULL;

  g_return_val_if_fail (homedir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_home_dir (homedir, error))
    return NULL;

  self = g_object_new (SK_TYPE_KEYRING, NULL);
  self->homedir = g_canonicalize_filename (homedir, NULL);
  return g_steal_pointer (&self);
}

const char *
sk_keyring_get_homedir (SkKeyring *self)
{
  g_return_val_if_fail (SK_IS_KEYRING (self), NULL);
  return self->homedir;
}

/* ---- fingerprints ---------------------------------------------------------- */

gboolean
sk_fingerprint_is_valid (const char *fpr)
{
  gsize i;

  if (fpr == NULL)
    return FALSE;
  for (i = 0; fpr[i] != '\0'; i++)
    {
      if (i >= 40)
        return FALSE;
      if (!g_ascii_isdigit (fpr[i]) && !(fpr[i] >= 'A' && fpr[i] <= 'F'))
        return FALSE;
    }
  return i == 40;
}

char *
sk_fingerprint_normalize (const char *input)
{
  g_autoptr (GString) out = NULL;

  if (input == NULL)
    return NULL;

  out = g_string_sized_new (40);
  for (const char *p = input; *p != '\0'; p++)
    {
      if (*p != ' ')
        g_string_append_c (out, g_ascii_toupper (*p));
    }
  if (!sk_fingerprint_is_valid (out->str))
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* ---- readers ------------------------------------------------------------- */

void
_sk_keyring_fd_reader_clear (FdReader *reader)
{
  if (reader->n_polls > 1)
    g_cancellable_release_fd (reader->cancellable);
}

gpgme_ssize_t
_sk_keyring_fd_reader_read (void *handle, void *buffer, size_t size)
{
  FdReader *reader = handle;
  gssize n;

  while (reader->n_polls > 1 && g_poll (reader->polls, reader->n_polls, -1) < 0 && errno == EINTR)
    ;
  if (g_cancellable_is_cancelled (reader->cancellable))
    {
      errno = ECANCELED;
      return -1;
    }
  do
    n = read (reader->fd, buffer, size);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    reader->read_errno = errno;
  return n;
}

/* ---- queries --------------------------------------------------------------- */

static gboolean
has_key (SkKeyring *self, const char *fpr, gboolean secret)
{
  g_autoptr (GError) error = NULL;
  g_auto (gpgme_key_t) key = NULL;

  if (!sk_fingerprint_is_valid (fpr))
    return FALSE;
  /* Public keys from the listing kept for this object; secret keys are
   * asked of GnuPG each time (sk-keyring-cache.c). */
  if (!(secret ? _sk_keyring_find_key (self->homedir, fpr, TRUE, &key, &error)
               : _sk_keyring_lookup (self, fpr, &key, &error)))
    {
      g_debug ("looking up %s: %s", fpr, error->message);
      return FALSE;
    }
  /* Only a primary counts: a subkey's fingerprint names no key of ours. */
  return key != NULL && key->subkeys != NULL && _sk_keyring_fpr_equal (key->subkeys->fpr, fpr);
}

gboolean
sk_keyring_has_public_key (SkKeyring *self, const char *fpr)
{
  g_return_val_if_fail (SK_IS_KEYRING (self), FALSE);
  return has_key (self, fpr, FALSE);
}

gboolean
sk_keyring_has_secret_key (SkKeyring *self, const char *fpr)
{
  g_return_val_if_fail (SK_IS_KEYRING (self), FALSE);
  return has_key (self, fpr, TRUE);
}

/* ---- listing (station status, key list) ------------------------------------ */

void
sk_key_info_free (SkKeyInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->fpr);
  g_free (info->uid);
  g_free (info->algo);
  g_free (info);
}

GPtrArray *
sk_keyring_list_keys (SkKeyring *self, GError **error)
{
  g_return_val_if_fail (SK_IS_KEYRING (self), NULL);

  g_autoptr (SkGpgContext) ctx = _sk_keyring_context_new (self->homedir, error);
  if (ctx == NULL)
    return NULL;
  g_autoptr (GHashTable) secret = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gpgme_error_t gerr = gpgme_op_keylist_start (ctx, NULL, 1);
  for (;;)
    {
      g_auto (gpgme_key_t) key = NULL;
      if (gerr == 0)
        gerr = gpgme_op_keylist_next (ctx, &key);
      if (gerr != 0)
        break;
      if (key->subkeys != NULL && key->subkeys->fpr != NULL)
        g_hash_table_add (secret, g_ascii_strup (key->subkeys->fpr, -1));
    }
  gpgme_op_keylist_end (ctx);
  if (gpgme_err_code (gerr) != GPG_ERR_EOF)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("listing secret keys"));
      return NULL;
    }

  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify)sk_key_info_free);
  gerr = gpgme_op_keylist_start (ctx, NULL, 0);
  for (;;)
    {
      g_auto (gpgme_key_t) key = NULL;
      if (gerr == 0)
        gerr = gpgme_op_keylist_next (ctx, &key);
      if (gerr != 0)
        break;
      gpgme_subkey_t primary = key->subkeys;
      if (primary == NULL || primary->fpr == NULL)
        continue;
      SkKeyInfo *info = g_new0 (SkKeyInfo, 1);
      info->fpr = g_ascii_strup (primary->fpr, -1);
      info->uid = g_strdup (key->uids != NULL ? key->uids->uid : NULL);
      char *algo = gpgme_pubkey_algo_string (primary);
      info->algo = g_strdup (algo);
      gpgme_free (algo);
      info->created = primary->timestamp > 0 ? primary->timestamp : 0;
      info->expires = primary->expires > 0 ? primary->expires : 0;
      info->revoked = key->revoked || primary->revoked;
      info->expired = key->expired || primary->expired;
      info->has_secret = g_hash_table_contains (secret, info->fpr);
      g_ptr_array_add (keys, info);
    }
  gpgme_op_keylist_end (ctx);
  if (gpgme_err_code (gerr) != GPG_ERR_EOF)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("listing keys"));
      return NULL;
    }
  return g_steal_pointer (&keys);
}

/* ---- export (station backup) ------------------------------------------------ */

GBytes *
sk_keyring_export_public (SkKeyring *self, GError **error)
{
  g_auto (gpgme_data_t) out = NULL;
  gpgme_error_t gerr;
  gsize mem_len = 0;

  g_return_val_if_fail (SK_IS_KEYRING (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr (SkGpgContext) ctx = _sk_keyring_context_new (self->homedir, error);
  if (ctx == NULL)
    return NULL;
  gerr = gpgme_data_new (&out);
  /* Mode 0: public keys only; GPGME_EXPORT_MODE_SECRET is never asked for. */
  if (gerr == 0)
    gerr = gpgme_op_export (ctx, NULL, 0, out);
  if (gerr != 0)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR,
                                        _ ("exporting the public keys"));
      return NULL;
    }
  g_auto (SkGpgmeMem) mem = gpgme_data_release_and_get_mem (g_steal_pointer (&out), &mem_len);
  return g_bytes_new (mem != NULL ? (const char *)mem : "", mem != NULL ? mem_len : 0);
}
