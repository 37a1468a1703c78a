/* sk-keyring-cache.c — the keys of a home, listed and exported once
 *
 * Every command that opens a station looks keys up: the policy's signer,
 * a package's signer, a recipient.  Each lookup used to be a run of gpg
 * (`--list-keys FPR`, then `--export FPR` for the material the in-process
 * verifier checks against), 3.5–5 ms each.  Here the whole public keyring
 * is listed in one run and exported in one run, and both are kept on the
 * SkKeyring for the life of the object; lookups are then made in memory.
 *
 * WHAT THE CACHE IS.  GnuPG's word at the moment of the listing, nothing
 * else: the same gpgme_key_t GPGME would have handed over for a lookup by
 * fingerprint (one listing of all keys says of each key what a listing of
 * that key says), and the same minimal export.  THE RULE
 * (sk-keyring-verify.c) judges it exactly as before.  Nothing is kept on
 * disk: a cache that outlives the process would be a new trust problem
 * (who wrote it, and when).
 *
 * WHEN IT IS DROPPED.  An import through this object drops it at once
 * (the keyring has no delete).  A change by another process (a stock
 * `gpg --homedir` import of a revocation, a key disabled) is seen by the
 * stamps of the files GnuPG keeps keys and ownertrust in — device, inode,
 * size, modification and change times of pubring.kbx, pubring.gpg and
 * trustdb.gpg — taken before each listing and compared on every use.  A
 * file's times are only as fine as its file system's clock (a jiffy on
 * ext4 or tmpfs, whole seconds where the nanoseconds read zero), so a
 * write in the same tick as the stamps would not move them: a listing
 * made within RACY_NS (RACY_COARSE_NS on a whole-second file system) of
 * a change to one of the files is used once and not kept.  And a listing is not kept past the first
 * expiry time of any key or subkey in it: "expired" is GnuPG's word as of the listing, so the
 * listing is made again once that word may have changed.
 *
 * WHAT IT DOES NOT PROVE.  That the keyring has not changed since the
 * listing in a way its files' stamps do not show: a writer that restores
 * size and both times to the nanosecond and keeps the inode (which takes
 * the privileges of the station's user, who can rewrite the keyring
 * anyway).  Nor anything about secret keys: those are asked of GnuPG on
 * each use.
 */
#define G_LOG_DOMAIN "sekisho-keyring"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sk-keyring-private.h"

/* A listing made less than this long after a change to a stamped file is
 * used once and not kept: well above a jiffy (at most 10 ms), and above
 * the two seconds of the coarsest file systems when the times have no
 * nanoseconds. */
#define RACY_NS (100 * G_GINT64_CONSTANT (1000000))
#define RACY_COARSE_NS (2100 * G_GINT64_CONSTANT (1000000))

/* The files GnuPG 2.2 keeps public keys (keybox, or the older keyring)
 * and ownertrust (disabled keys) in. */
static const char *const stamped_files[] = { "pubring.kbx", "pubring.gpg", "trustdb.gpg" };
#define N_STAMPED G_N_ELEMENTS (stamped_files)

typedef struct
{
  gboolean present;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtim;
  struct timespec ctim;
} FileStamp;

struct _SkKeyCache
{
  gatomicrefcount ref;
  GPtrArray *keys;    /* gpgme_key_t, as listed; shared, never changed */
  GHashTable *blocks; /* primary fpr → GBytes; NULL until exported */
  FileStamp stamps[N_STAMPED];
  gint64 valid_until; /* Unix seconds: the first expiry after the listing */
};

static SkKeyCache *
key_cache_ref (SkKeyCache *cache)
{
  g_atomic_ref_count_inc (&cache->ref);
  return cache;
}

void
_sk_key_cache_free (SkKeyCache *cache)
{
  if (cache == NULL || !g_atomic_ref_count_dec (&cache->ref))
    return;
  g_clear_pointer (&cache->keys, g_ptr_array_unref);
  g_clear_pointer (&cache->blocks, g_hash_table_unref);
  g_free (cache);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkKeyCache, _sk_key_cache_free)

static gint64
timespec_ns (const struct timespec *ts)
{
  return (gint64)ts->tv_sec * G_GINT64_CONSTANT (1000000000) + ts->tv_nsec;
}

/* The stamps of the home's key files now; *OUT_RACY_UNTIL: until when a
 * listing is too close to the newest change among them to be kept (Unix
 * nanoseconds).  FALSE when the home cannot be read. */
static gboolean
take_stamps (const char *homedir, FileStamp stamps[N_STAMPED], gint64 *out_racy_until)
{
  int dfd = open (homedir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return FALSE;
  gboolean ok = TRUE;
  gboolean coarse = TRUE;
  gint64 newest = 0;
  for (gsize i = 0; i < N_STAMPED; i++)
    {
      struct stat st;
      memset (&stamps[i], 0, sizeof stamps[i]);
      if (fstatat (dfd, stamped_files[i], &st, AT_SYMLINK_NOFOLLOW) != 0)
        {
          ok = ok && errno == ENOENT;
          continue;
        }
      stamps[i].present = TRUE;
      stamps[i].dev = st.st_dev;
      stamps[i].ino = st.st_ino;
      stamps[i].size = st.st_size;
      stamps[i].mtim = st.st_mtim;
      stamps[i].ctim = st.st_ctim;
      newest = MAX (newest, MAX (timespec_ns (&st.st_mtim), timespec_ns (&st.st_ctim)));
      coarse = coarse && st.st_mtim.tv_nsec == 0 && st.st_ctim.tv_nsec == 0;
    }
  close (dfd);
  *out_racy_until = newest + (coarse ? RACY_COARSE_NS : RACY_NS);
  return ok;
}

static gboolean
stamps_equal (const FileStamp a[N_STAMPED], const FileStamp b[N_STAMPED])
{
  for (gsize i = 0; i < N_STAMPED; i++)
    if (a[i].present != b[i].present || a[i].dev != b[i].dev || a[i].ino != b[i].ino ||
        a[i].size != b[i].size || a[i].mtim.tv_sec != b[i].mtim.tv_sec ||
        a[i].mtim.tv_nsec != b[i].mtim.tv_nsec || a[i].ctim.tv_sec != b[i].ctim.tv_sec ||
        a[i].ctim.tv_nsec != b[i].ctim.tv_nsec)
      return FALSE;
  return TRUE;
}

/* Every public key of the home, one run of gpg; *OUT_FIRST_EXPIRY: the
 * first expiry time after NOW of any key or subkey (G_MAXINT64: none). */
static GPtrArray *
list_all (SkKeyring *self, gint64 now, gint64 *out_first_expiry, GError **error)
{
  g_autoptr (SkGpgContext) ctx = _sk_keyring_context_new (self->homedir, error);
  if (ctx == NULL)
    return NULL;
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify)gpgme_key_unref);
  gint64 first = G_MAXINT64;
  gpgme_error_t gerr = gpgme_op_keylist_start (ctx, NULL, 0);
  for (;;)
    {
      gpgme_key_t key = NULL;
      if (gerr == 0)
        gerr = gpgme_op_keylist_next (ctx, &key);
      if (gerr != 0)
        break;
      for (gpgme_subkey_t sk = key->subkeys; sk != NULL; sk = sk->next)
        if (sk->expires > 0 && (gint64)sk->expires > now)
          first = MIN (first, (gint64)sk->expires);
      g_ptr_array_add (keys, key);
    }
  gpgme_op_keylist_end (ctx);
  if (gpgme_err_code (gerr) != GPG_ERR_EOF)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("listing keys"));
      return NULL;
    }
  *out_first_expiry = first;
  return g_steal_pointer (&keys);
}

/* Every public key of the home, exported minimal in one run of gpg, as
 * blocks by primary fingerprint. */
static GHashTable *
export_all (SkKeyring *self, GError **error)
{
  g_autoptr (SkGpgContext) ctx = _sk_keyring_context_new (self->homedir, error);
  if (ctx == NULL)
    return NULL;
  g_auto (gpgme_data_t) out = NULL;
  gpgme_error_t gerr = gpgme_data_new (&out);
  /* Public keys only: GPGME_EXPORT_MODE_SECRET is never asked for. */
  if (gerr == 0)
    gerr = gpgme_op_export (ctx, NULL, GPGME_EXPORT_MODE_MINIMAL, out);
  if (gerr != 0)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("exporting the keys"));
      return NULL;
    }
  size_t mem_len = 0;
  g_auto (SkGpgmeMem) mem = gpgme_data_release_and_get_mem (g_steal_pointer (&out), &mem_len);
  g_autoptr (GBytes) export = g_bytes_new (mem != NULL ? mem : "", mem != NULL ? mem_len : 0);
  g_autoptr (GPtrArray) fprs = NULL;
  g_autoptr (GPtrArray) blocks = sk_pgp_split_key_blocks (export, &fprs, error);
  if (blocks == NULL)
    return NULL;
  GHashTable *by_fpr =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
  for (guint i = 0; i < blocks->len; i++)
    /* Two blocks with one fingerprint: neither is believed. */
    if (!g_hash_table_insert (by_fpr, g_strdup (fprs->pdata[i]), g_bytes_ref (blocks->pdata[i])))
      g_hash_table_replace (by_fpr, g_strdup (fprs->pdata[i]), g_bytes_new (NULL, 0));
  return by_fpr;
}

/* The listing (and with WANT_BLOCKS the export) of the home, kept or made
 * afresh. */
static SkKeyCache *
cache_get (SkKeyring *self, gboolean want_blocks, GError **error)
{
  FileStamp stamps[N_STAMPED];
  gint64 racy_until = 0;
  gboolean stamped = take_stamps (self->homedir, stamps, &racy_until);
  struct timespec clock_now;
  clock_gettime (CLOCK_REALTIME, &clock_now);
  gint64 now_ns = timespec_ns (&clock_now);
  gint64 now = clock_now.tv_sec;

  g_mutex_lock (&self->keys_lock);
  SkKeyCache *kept = self->keys;
  if (kept != NULL &&
      (!stamped || !stamps_equal (kept->stamps, stamps) || now >= kept->valid_until))
    {
      g_clear_pointer (&self->keys, _sk_key_cache_free);
      kept = NULL;
    }
  if (kept != NULL && (!want_blocks || kept->blocks != NULL))
    {
      SkKeyCache *out = key_cache_ref (kept);
      g_mutex_unlock (&self->keys_lock);
      return out;
    }

  /* Made under the lock: two threads that both need the keys wait for one
   * listing rather than both running gpg. */
  g_autoptr (SkKeyCache) fresh = g_new0 (SkKeyCache, 1);
  g_atomic_ref_count_init (&fresh->ref);
  memcpy (fresh->stamps, stamps, sizeof stamps);
  if (kept != NULL)
    {
      fresh->keys = g_ptr_array_ref (kept->keys);
      fresh->valid_until = kept->valid_until;
    }
  else
    {
      self->key_runs++;
      fresh->keys = list_all (self, now, &fresh->valid_until, error);
    }
  if (fresh->keys != NULL && want_blocks)
    {
      self->key_runs++;
      fresh->blocks = export_all (self, error);
    }
  if (fresh->keys == NULL || (want_blocks && fresh->blocks == NULL))
    {
      g_mutex_unlock (&self->keys_lock);
      return NULL;
    }
  g_clear_pointer (&self->keys, _sk_key_cache_free);
  if (stamped && now_ns >= racy_until)
    self->keys = key_cache_ref (fresh);
  g_mutex_unlock (&self->keys_lock);
  return g_steal_pointer (&fresh);
}

void
_sk_keyring_forget_keys (SkKeyring *self)
{
  g_mutex_lock (&self->keys_lock);
  g_clear_pointer (&self->keys, _sk_key_cache_free);
  g_mutex_unlock (&self->keys_lock);
}

static gboolean
is_hex (const char *s, gsize len)
{
  if (strlen (s) != len)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (s[i]))
      return FALSE;
  return TRUE;
}

gboolean
_sk_keyring_lookup (SkKeyring *self, const char *pattern, gpgme_key_t *out_key, GError **error)
{
  *out_key = NULL;
  /* What gpg matches a fingerprint or a long key id against: the primary
   * and every subkey.  Any other pattern is gpg's to interpret. */
  gboolean by_fpr = is_hex (pattern, 40);
  if (!by_fpr && !is_hex (pattern, 16))
    return _sk_keyring_find_key (self->homedir, pattern, FALSE, out_key, error);

  g_autoptr (SkKeyCache) cache = cache_get (self, FALSE, error);
  if (cache == NULL)
    return FALSE;
  gpgme_key_t found = NULL;
  for (guint i = 0; i < cache->keys->len; i++)
    {
      gpgme_key_t key = cache->keys->pdata[i];
      gboolean match = FALSE;
      for (gpgme_subkey_t sk = key->subkeys; sk != NULL && !match; sk = sk->next)
        match = _sk_keyring_fpr_equal (by_fpr ? sk->fpr : sk->keyid, pattern);
      if (!match)
        continue;
      if (found != NULL)
        {
          g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                       _ ("more than one key in the keyring matches %s"), pattern);
          return FALSE;
        }
      found = key;
    }
  if (found != NULL)
    gpgme_key_ref (found);
  *out_key = found;
  return TRUE;
}

GBytes *
_sk_keyring_key_block (SkKeyring *self, const char *primary_fpr, GError **error)
{
  g_autoptr (SkKeyCache) cache = cache_get (self, TRUE, error);
  if (cache == NULL)
    return NULL;
  g_autofree char *upper = g_ascii_strup (primary_fpr, -1);
  GBytes *block = g_hash_table_lookup (cache->blocks, upper);
  if (block == NULL || g_bytes_get_size (block) == 0)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY, _ ("GnuPG exported no key for %s"),
                   primary_fpr);
      return NULL;
    }
  return g_bytes_ref (block);
}

guint
sk_keyring_get_key_runs (SkKeyring *self)
{
  g_return_val_if_fail (SK_IS_KEYRING (self), 0);
  g_mutex_lock (&self->keys_lock);
  guint runs = self->key_runs;
  g_mutex_unlock (&self->keys_lock);
  return runs;
}
