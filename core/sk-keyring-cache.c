/* sk-keyring-cache.c — the keys of a home, listed and exported once
 *
 * Every command that opens a station looks keys up: the policy's signer,
 * a package's signer, a recipient.  Each lookup used to be a run of gpg
 * (`--list-keys FPR`, then `--export FPR` for the material the in-process
 * verifier checks against), 3.5–5 ms each.  Here the whole public keyring
 * is listed in one run and exported in one run (sk-keyring-listing.c), and
 * both are kept: on the SkKeyring for the life of the object, and in a file
 * in the GnuPG home for the next process, so that a command whose keys have
 * not changed starts no gpg at all (not even GPGME's `gpg --version`).
 *
 * WHAT THE CACHE IS.  GnuPG's word at the moment of the listing, nothing
 * else: gpg's colon listing of every public key and its minimal export,
 * byte for byte as gpg printed them, read by the same code whether made
 * now or read back from the file.  THE RULE (sk-keyring-verify.c) judges
 * it exactly as before.
 *
 * THE FILE.  HOME/sekisho-keys.cache, mode 0600, owned by the station's
 * user, in the home GnuPG itself keeps the keyring in (0700, checked by
 * sk_keyring_new): it is as trusted as the keyring files it mirrors, no
 * more — whoever can write it can write pubring.kbx.  Written whole into a
 * temporary file, fsync'ed and renamed over the old one, so a reader sees
 * an old file or a new one, never half of one; two processes that both
 * rebuild it each write a true file and the last rename wins.  Read through
 * a descriptor (O_NOFOLLOW; a regular file of our own, mode 0600, at most
 * CACHE_MAX bytes).  It holds a version, the stamps below, the time of the
 * listing and the time it stops being true, the listing, the export, and a
 * SHA-256 of all that — against a torn or damaged file, not against a
 * writer (see above).  Anything doubtful — a missing or short file, another
 * version, a checksum, stamp or parse that does not match, a clock before
 * the listing — and the file is ignored, the keys listed and exported
 * again as without it, and the file rewritten.
 *
 * WHEN IT IS DROPPED.  An import through this object drops it at once
 * (the keyring has no delete), file included.  A change by another process
 * (a stock `gpg --homedir` import of a revocation, a key disabled, a
 * keyring replaced by another file) is seen by the stamps of the files
 * GnuPG keeps keys, ownertrust and options in — device, inode, size,
 * modification and change times in nanoseconds of pubring.kbx, pubring.gpg,
 * trustdb.gpg and gpg.conf, and of the gpg program itself — taken before
 * each listing and compared on every use.  A file's times are only as fine
 * as its file system's clock (a jiffy on ext4 or tmpfs, whole seconds where
 * the nanoseconds read zero), so a write in the same tick as the stamps
 * would not move them: a listing made within RACY_NS (RACY_COARSE_NS on a
 * whole-second file system) of a change to one of the files is used once
 * and neither kept nor written.  And a listing is not used past the first
 * expiry time of any key or subkey in it: "expired" is GnuPG's word as of
 * the listing, so the listing is made again once that word may have
 * changed.  Nor is a listing kept that may be a failed run of gpg (whose
 * exit status GPGME's spawn engine does not return): one with no key, not
 * ending in a newline, or whose export lacks a block for one of its keys
 * (cache_is_whole).
 *
 * WHAT IT DOES NOT PROVE.  That the keyring has not changed since the
 * listing in a way its files' stamps do not show: a writer that restores
 * size and both times to the nanosecond and keeps the inode, or that
 * writes the cache file itself (both take the privileges of the station's
 * user, who can rewrite the keyring anyway).  Nor anything about secret
 * keys: those are asked of GnuPG on each use.
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

/* The files in the home GnuPG 2.2 keeps public keys (keybox, or the older
 * keyring), ownertrust (disabled keys) and options in; then gpg itself. */
static const char *const stamped_files[] = { "pubring.kbx", "pubring.gpg", "trustdb.gpg",
                                             "gpg.conf" };
#define N_HOME_STAMPS G_N_ELEMENTS (stamped_files)
#define N_STAMPED (N_HOME_STAMPS + 1)

#define CACHE_NAME "sekisho-keys.cache"
#define CACHE_MAGIC "SKKEYS\n"
#define CACHE_VERSION 1
/* Two gpg outputs of at most 8 MiB each (sk-keyring-listing.c), and the
 * header. */
#define CACHE_MAX (17 * 1024 * 1024)

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
  GHashTable *blocks; /* primary fpr → GBytes */
  GBytes *listing;    /* what gpg printed, as kept in the file */
  GBytes *export;
  FileStamp stamps[N_STAMPED];
  gint64 listed_at;   /* Unix seconds */
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
  g_clear_pointer (&cache->listing, g_bytes_unref);
  g_clear_pointer (&cache->export, g_bytes_unref);
  g_free (cache);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkKeyCache, _sk_key_cache_free)

static gint64
timespec_ns (const struct timespec *ts)
{
  return (gint64)ts->tv_sec * G_GINT64_CONSTANT (1000000000) + ts->tv_nsec;
}

static void
stamp_from_stat (FileStamp *stamp, const struct stat *st)
{
  stamp->present = TRUE;
  stamp->dev = st->st_dev;
  stamp->ino = st->st_ino;
  stamp->size = st->st_size;
  stamp->mtim = st->st_mtim;
  stamp->ctim = st->st_ctim;
}

/* The stamps of the home's key files and of gpg now; *OUT_RACY_UNTIL:
 * until when a listing is too close to the newest change among them to be
 * kept (Unix nanoseconds).  FALSE when the home cannot be read. */
static gboolean
take_stamps (const char *homedir, FileStamp stamps[N_STAMPED], gint64 *out_racy_until)
{
  memset (stamps, 0, N_STAMPED * sizeof stamps[0]);
  int dfd = open (homedir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return FALSE;
  gboolean ok = TRUE;
  gboolean coarse = TRUE;
  gint64 newest = 0;
  for (gsize i = 0; i < N_STAMPED; i++)
    {
      struct stat st;
      int rc = i < N_HOME_STAMPS ? fstatat (dfd, stamped_files[i], &st, AT_SYMLINK_NOFOLLOW)
                                 : stat (SK_GPG_PATH, &st);
      if (rc != 0)
        {
          ok = ok && errno == ENOENT && i < N_HOME_STAMPS;
          continue;
        }
      stamp_from_stat (&stamps[i], &st);
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

/* The keys and key blocks of LISTING and EXPORT (gpg's output, made now or
 * read back from the file: the same code either way). */
static gboolean
cache_read_outputs (SkKeyCache *cache, GBytes *listing, GBytes *export, GError **error)
{
  if (!_sk_keyring_parse_listing (listing, &cache->keys, error))
    return FALSE;
  g_autoptr (GPtrArray) fprs = NULL;
  g_autoptr (GPtrArray) blocks = sk_pgp_split_key_blocks (export, &fprs, error);
  if (blocks == NULL)
    return FALSE;
  cache->blocks =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
  for (guint i = 0; i < blocks->len; i++)
    /* Two blocks with one fingerprint: neither is believed. */
    if (!g_hash_table_insert (cache->blocks, g_strdup (fprs->pdata[i]),
                              g_bytes_ref (blocks->pdata[i])))
      g_hash_table_replace (cache->blocks, g_strdup (fprs->pdata[i]), g_bytes_new (NULL, 0));
  cache->listing = g_bytes_ref (listing);
  cache->export = g_bytes_ref (export);
  return TRUE;
}

/* Whether the listing and the export of CACHE are of the same keys, one
 * block per key and at least one key.  gpg's exit status does not come
 * back through GPGME's spawn engine: a run that failed (gpg missing, not
 * started, killed) prints nothing or less, and such a listing — which can
 * only refuse — is used once and neither kept nor written, so that it is
 * not believed again. */
static gboolean
cache_is_whole (const SkKeyCache *cache)
{
  gsize len = 0;
  const char *listing = g_bytes_get_data (cache->listing, &len);
  if (cache->keys->len == 0 || len == 0 || listing[len - 1] != '\n' ||
      g_hash_table_size (cache->blocks) != cache->keys->len)
    return FALSE;
  for (guint i = 0; i < cache->keys->len; i++)
    {
      gpgme_key_t key = cache->keys->pdata[i];
      g_autofree char *upper = g_ascii_strup (key->subkeys->fpr, -1);
      GBytes *block = g_hash_table_lookup (cache->blocks, upper);
      if (block == NULL || g_bytes_get_size (block) == 0)
        return FALSE;
    }
  return TRUE;
}

/* The first expiry time after the listing of any key or subkey
 * (G_MAXINT64: none). */
static gint64
first_expiry (GPtrArray *keys, gint64 listed_at)
{
  gint64 first = G_MAXINT64;
  for (guint i = 0; i < keys->len; i++)
    for (gpgme_subkey_t sk = ((gpgme_key_t)keys->pdata[i])->subkeys; sk != NULL; sk = sk->next)
      if (sk->expires > 0 && (gint64)sk->expires > listed_at)
        first = MIN (first, (gint64)sk->expires);
  return first;
}

/* ---- the file -------------------------------------------------------------- */

static void
put_u64 (GByteArray *out, guint64 v)
{
  guint64 le = GUINT64_TO_LE (v);
  g_byte_array_append (out, (const guint8 *)&le, sizeof le);
}

static void
put_stamp (GByteArray *out, const FileStamp *s)
{
  put_u64 (out, s->present ? 1 : 0);
  put_u64 (out, (guint64)s->dev);
  put_u64 (out, (guint64)s->ino);
  put_u64 (out, (guint64)s->size);
  put_u64 (out, (guint64)s->mtim.tv_sec);
  put_u64 (out, (guint64)s->mtim.tv_nsec);
  put_u64 (out, (guint64)s->ctim.tv_sec);
  put_u64 (out, (guint64)s->ctim.tv_nsec);
}

typedef struct
{
  const guint8 *p;
  gsize left;
} Reader;

static gboolean
get_u64 (Reader *r, guint64 *v)
{
  guint64 le;
  if (r->left < sizeof le)
    return FALSE;
  memcpy (&le, r->p, sizeof le);
  r->p += sizeof le;
  r->left -= sizeof le;
  *v = GUINT64_FROM_LE (le);
  return TRUE;
}

static gboolean
get_stamp (Reader *r, FileStamp *s)
{
  guint64 v[8];
  for (gsize i = 0; i < G_N_ELEMENTS (v); i++)
    if (!get_u64 (r, &v[i]))
      return FALSE;
  if (v[0] > 1 || v[5] >= 1000000000 || v[7] >= 1000000000)
    return FALSE;
  s->present = v[0] == 1;
  s->dev = (dev_t)v[1];
  s->ino = (ino_t)v[2];
  s->size = (off_t)v[3];
  s->mtim.tv_sec = (time_t)v[4];
  s->mtim.tv_nsec = (long)v[5];
  s->ctim.tv_sec = (time_t)v[6];
  s->ctim.tv_nsec = (long)v[7];
  return TRUE;
}

static GBytes *
get_bytes (Reader *r)
{
  guint64 len = 0;
  if (!get_u64 (r, &len) || len > r->left)
    return NULL;
  GBytes *out = g_bytes_new (r->p, (gsize)len);
  r->p += len;
  r->left -= len;
  return out;
}

static void
sha256_of (const guint8 *data, gsize len, guint8 digest[32])
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize digest_len = 32;
  g_checksum_update (sum, data, len);
  g_checksum_get_digest (sum, digest, &digest_len);
}

static gboolean
write_all (int fd, const guint8 *data, gsize len)
{
  while (len > 0)
    {
      gssize n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      len -= (gsize)n;
    }
  return TRUE;
}

/* CACHE into HOMEDIR's file, whole or not at all.  A failure only costs
 * the next process a listing: it is logged, not reported. */
static void
cache_write_file (const char *homedir, const SkKeyCache *cache)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_byte_array_append (out, (const guint8 *)CACHE_MAGIC, 8);
  put_u64 (out, CACHE_VERSION);
  put_u64 (out, N_STAMPED);
  for (gsize i = 0; i < N_STAMPED; i++)
    put_stamp (out, &cache->stamps[i]);
  put_u64 (out, (guint64)cache->listed_at);
  put_u64 (out, (guint64)cache->valid_until);
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (cache->listing, &len);
  put_u64 (out, len);
  g_byte_array_append (out, data, (guint)len);
  data = g_bytes_get_data (cache->export, &len);
  put_u64 (out, len);
  g_byte_array_append (out, data, (guint)len);
  guint8 digest[32];
  sha256_of (out->data, out->len, digest);
  g_byte_array_append (out, digest, sizeof digest);
  if (out->len > CACHE_MAX)
    return;

  int dfd = open (homedir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return;
  g_autofree char *tmp =
      g_strdup_printf (".%s.%d.%08x", CACHE_NAME, (int)getpid (), g_random_int ());
  int fd = openat (dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  gboolean ok = fd >= 0 && write_all (fd, out->data, out->len) && fsync (fd) == 0;
  if (fd >= 0 && close (fd) != 0)
    ok = FALSE;
  ok = ok && renameat (dfd, tmp, dfd, CACHE_NAME) == 0;
  if (!ok)
    {
      int errsv = errno;
      if (fd >= 0)
        (void)unlinkat (dfd, tmp, 0);
      g_debug ("writing the key cache of %s: %s", homedir, g_strerror (errsv));
    }
  else
    (void)fsync (dfd);
  close (dfd);
}

/* The whole file, through a descriptor: a regular file of ours that only
 * we may read or write, at most CACHE_MAX bytes.  NULL when there is none
 * or it is not such a file. */
static GBytes *
read_cache_file (const char *homedir)
{
  int dfd = open (homedir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return NULL;
  int fd = openat (dfd, CACHE_NAME, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  close (dfd);
  if (fd < 0)
    return NULL;
  struct stat st;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_uid != geteuid () ||
      (st.st_mode & 077) != 0 || st.st_size > CACHE_MAX)
    {
      close (fd);
      return NULL;
    }
  gsize size = (gsize)st.st_size;
  guint8 *buf = g_malloc (size + 1);
  gsize got = 0;
  while (got <= size)
    {
      /* One byte more than the size: a file that grew is not read. */
      gssize n = read (fd, buf + got, size + 1 - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      got += (gsize)n;
    }
  close (fd);
  if (got != size)
    {
      g_free (buf);
      return NULL;
    }
  return g_bytes_new_take (buf, size);
}

/* The file of HOMEDIR as a cache, when it is whole, of this version, and
 * still true for STAMPS at NOW; NULL otherwise (why, in the debug log). */
static SkKeyCache *
cache_read_file (const char *homedir, const FileStamp stamps[N_STAMPED], gint64 now)
{
  g_autoptr (GBytes) file = read_cache_file (homedir);
  if (file == NULL)
    return NULL;
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (file, &len);
  guint8 digest[32];
  if (len < 8 + 32 || memcmp (data, CACHE_MAGIC, 8) != 0)
    {
      g_debug ("the key cache of %s is not one", homedir);
      return NULL;
    }
  sha256_of (data, len - 32, digest);
  if (memcmp (digest, data + len - 32, 32) != 0)
    {
      g_debug ("the key cache of %s is damaged", homedir);
      return NULL;
    }

  Reader r = { data + 8, len - 8 - 32 };
  g_autoptr (SkKeyCache) cache = g_new0 (SkKeyCache, 1);
  g_atomic_ref_count_init (&cache->ref);
  guint64 version = 0, n_stamps = 0, listed_at = 0, valid_until = 0;
  if (!get_u64 (&r, &version) || version != CACHE_VERSION || !get_u64 (&r, &n_stamps) ||
      n_stamps != N_STAMPED)
    {
      g_debug ("the key cache of %s is of another version", homedir);
      return NULL;
    }
  gboolean ok = TRUE;
  for (gsize i = 0; i < N_STAMPED && ok; i++)
    ok = get_stamp (&r, &cache->stamps[i]);
  ok = ok && get_u64 (&r, &listed_at) && get_u64 (&r, &valid_until);
  g_autoptr (GBytes) listing = ok ? get_bytes (&r) : NULL;
  g_autoptr (GBytes) export = listing != NULL ? get_bytes (&r) : NULL;
  if (export == NULL || r.left != 0)
    {
      g_debug ("the key cache of %s is damaged", homedir);
      return NULL;
    }
  cache->listed_at = (gint64)listed_at;
  cache->valid_until = (gint64)valid_until;
  if (!stamps_equal (cache->stamps, stamps) || now < cache->listed_at || now >= cache->valid_until)
    {
      g_debug ("the key cache of %s is out of date", homedir);
      return NULL;
    }
  g_autoptr (GError) error = NULL;
  if (!cache_read_outputs (cache, listing, export, &error) || !cache_is_whole (cache) ||
      first_expiry (cache->keys, cache->listed_at) != cache->valid_until)
    {
      g_debug ("the key cache of %s does not read: %s", homedir,
               error != NULL ? error->message : "expiry");
      return NULL;
    }
  return g_steal_pointer (&cache);
}

/* ---- the cache ------------------------------------------------------------- */

/* The listing and export of the home: kept on the object, read from the
 * file, or made afresh (and then kept and written when not racy). */
static SkKeyCache *
cache_get (SkKeyring *self, GError **error)
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
  if (kept != NULL && (!stamped || !stamps_equal (kept->stamps, stamps) || now < kept->listed_at ||
                       now >= kept->valid_until))
    g_clear_pointer (&self->keys, _sk_key_cache_free);
  if (self->keys == NULL && stamped)
    self->keys = cache_read_file (self->homedir, stamps, now);
  if (self->keys != NULL)
    {
      SkKeyCache *out = key_cache_ref (self->keys);
      g_mutex_unlock (&self->keys_lock);
      return out;
    }

  /* Made under the lock: two threads that both need the keys wait for one
   * listing rather than both running gpg. */
  g_autoptr (SkKeyCache) fresh = g_new0 (SkKeyCache, 1);
  g_atomic_ref_count_init (&fresh->ref);
  memcpy (fresh->stamps, stamps, sizeof stamps);
  fresh->listed_at = now;
  self->key_runs += 2;
  g_autoptr (GBytes) listing = _sk_keyring_run_listing (self->homedir, error);
  g_autoptr (GBytes) export =
      listing != NULL ? _sk_keyring_run_export (self->homedir, error) : NULL;
  if (export == NULL || !cache_read_outputs (fresh, listing, export, error))
    {
      g_mutex_unlock (&self->keys_lock);
      return NULL;
    }
  fresh->valid_until = first_expiry (fresh->keys, now);
  if (stamped && now_ns >= racy_until && cache_is_whole (fresh))
    {
      self->keys = key_cache_ref (fresh);
      cache_write_file (self->homedir, fresh);
    }
  g_mutex_unlock (&self->keys_lock);
  return g_steal_pointer (&fresh);
}

void
_sk_keyring_forget_keys (SkKeyring *self)
{
  g_mutex_lock (&self->keys_lock);
  g_clear_pointer (&self->keys, _sk_key_cache_free);
  /* The file too: its stamps would show the import, unless it fell in
   * the same tick. */
  int dfd = open (self->homedir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd >= 0)
    {
      if (unlinkat (dfd, CACHE_NAME, 0) != 0 && errno != ENOENT)
        g_debug ("removing the key cache of %s: %s", self->homedir, g_strerror (errno));
      close (dfd);
    }
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

  g_autoptr (SkKeyCache) cache = cache_get (self, error);
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
  g_autoptr (SkKeyCache) cache = cache_get (self, error);
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
