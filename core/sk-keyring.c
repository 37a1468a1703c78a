/* sk-keyring.c — the station's GnuPG home: verify, sign, import
 *
 * The only file of the project that includes <gpgme.h>.  Every operation
 * makes its own GPGME context, pinned to this keyring's home, offline, binary,
 * loopback pinentry; so one SkKeyring may be used from several threads.
 */
#define G_LOG_DOMAIN "sekisho-keyring"

#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <gpgme.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-hash.h"
#include "sk-keyring.h"
#include "sk-pgp-decrypt.h"
#include "sk-gpg-agent.h"
#include "sk-pgp-packet.h"
#include "sk-pgp-write.h"

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gpgme_ctx_t, gpgme_release, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gpgme_data_t, gpgme_data_release, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gpgme_key_t, gpgme_key_unref, NULL)
/* Memory GPGME allocated and wants back through gpgme_free(). */
typedef char *SkGpgmeMem;
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (SkGpgmeMem, gpgme_free, NULL)

struct _SkKeyring
{
  GObject parent_instance;

  char *homedir; /* absolute */
};

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

/* ---- errors ---------------------------------------------------------------- */

/* The one place a gpgme_error_t becomes a GError.  Cancellation stays GIO's
 * cancellation; an errno from the system becomes io-error or disk-full; every
 * other failure becomes CODE.  The text is GPGME's, which never holds key
 * material. */
static void
set_error_from_gpgme (GError **error, gpgme_error_t gerr, SkErrorCode code, const char *what)
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
static void
big_buffers (gpgme_data_t data)
{
  if (data != NULL)
    (void)gpgme_data_set_flag (data, "io-buffer-size", "262144");
}

/* For data GPGME writes into gpg: the capacity of a pipe. */
static void
pipe_buffers (gpgme_data_t data)
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

static gboolean
ensure_gpgme (GError **error)
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

  if (!ensure_gpgme (error))
    return NULL;

  gerr = gpgme_new (&ctx);
  if (gerr == 0)
    gerr = gpgme_set_protocol (ctx, protocol);
  if (gerr == 0)
    gerr = gpgme_ctx_set_engine_info (ctx, protocol, engine_file, homedir);
  if (gerr != 0)
    {
      set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("creating a GPGME context"));
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
static gpgme_ctx_t
context_make (const char *homedir, GError **error)
{
  g_auto (gpgme_ctx_t) ctx = NULL;
  gpgme_error_t gerr;

  /* The gpg found at build time: naming it saves GPGME asking gpgconf
   * where gpg is, two more processes on every run. */
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
      set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("configuring a GPGME context"));
      return NULL;
    }
  return g_steal_pointer (&ctx);
}

/* Contexts are kept for reuse, per GnuPG home: GPGME runs `gpg --version`
 * every time a context is pointed at a home (gpgme_ctx_set_engine_info),
 * about 30 ms each, which was most of the fixed cost of a short command.
 * A context is lent to one operation at a time and comes back with its
 * signers cleared; contexts for throw-away homes are not kept. */
typedef struct gpgme_context SkGpgContext;

static GMutex pool_lock;
static GHashTable *pool_idle; /* homedir → GSList of idle contexts */
static GHashTable *pool_lent; /* context → its homedir */

static SkGpgContext *
context_new (const char *homedir, GError **error)
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
    ctx = context_make (homedir, error);
  if (ctx == NULL)
    return NULL;
  g_mutex_lock (&pool_lock);
  g_hash_table_insert (pool_lent, ctx, g_strdup (homedir));
  g_mutex_unlock (&pool_lock);
  return ctx;
}

static void
context_release (SkGpgContext *ctx)
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

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkGpgContext, context_release)

/* Forget the contexts of HOMEDIR (a throw-away home about to go). */
static void
context_pool_drop (const char *homedir)
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
static gboolean
find_key_on (
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
      set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("listing keys"));
      return FALSE;
    }

  *out_key = g_steal_pointer (&found);
  return TRUE;
}

static gboolean
find_key (
    const char *homedir, const char *fpr, gboolean secret, gpgme_key_t *out_key, GError **error)
{
  g_autoptr (SkGpgContext) ctx = context_new (homedir, error);

  *out_key = NULL;
  return ctx != NULL && find_key_on (ctx, fpr, secret, out_key, error);
}

/* ---- the object ------------------------------------------------------------ */

static void
sk_keyring_finalize (GObject *object)
{
  SkKeyring *self = SK_KEYRING (object);

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

/* ---- verification ----------------------------------------------------------
 *
 * THE RULE.  A detached signature is accepted when, and only when, all hold:
 *
 *  0. before GPGME sees it: it is binary OpenPGP (the first octet of a binary
 *     packet has bit 7 set; armor or text: sig-armored) and is one signature
 *     packet and nothing else (empty, or not starting with a signature:
 *     sig-missing; two: sig-multiple; more packets or broken framing:
 *     sig-bad), version 4, of type 0x00 (binary document; sig-bad) — GPGME
 *     would accept a text-mode signature, which also matches the same text
 *     with other line endings;
 *  1. GPGME reports exactly one signature (none: sig-missing; more:
 *     sig-multiple), and its status is not BAD_SIGNATURE (sig-bad);
 *  2. its key is in this keyring (else sig-untrusted-key), and the primary
 *     fingerprint of that key — the signing key itself, or the primary of the
 *     signing subkey — is on the caller's allow-list (else sig-untrusted-key);
 *  3. neither the primary nor the signing subkey is revoked (sig-key-revoked)
 *     or expired, now (sig-key-expired);
 *  4. the hash is SHA-256, SHA-384 or SHA-512 (else sig-weak-hash);
 *  5. both the signing key and its primary are RSA of at least 3072 bits or
 *     Ed25519 (else sig-weak-key) — the primary made the subkey binding, so a
 *     weak primary makes every subkey forgeable;
 *  6. the signing key may sign, and GPGME has nothing else to say: status
 *     zero, summary not RED, no wrong key usage, no system error.
 * Anything that is not an explicit pass is a refusal (sig-bad at the end).
 *
 * TWO JUDGES, ONE RULE.  Packages are verified in-process (SkVerifier,
 * below: the bytes hashed as they are read once, the signature packet parsed
 * by sk-pgp-packet.c, checked with libgcrypt against the key material this
 * home exports), GnuPG through GPGME judges everything else.  Both end in
 * the same judge_facts() on GnuPG's listing of the key, so rules 2–6 are
 * GnuPG's word either way; the in-process path only replaces rule 1 (does
 * the signature match the bytes), and only for a signature by a primary RSA
 * or Ed25519 key with SHA-1 or SHA-2 and the usual subpackets.  Anything
 * else — a signing subkey (its cross-certification, rule 6, is checked only
 * by gpg), another algorithm, an odd subpacket — is handed to GnuPG over the
 * same bytes.  The in-process path is stricter in one corner: a critical
 * subpacket other than the creation time, expiry and issuer is refused
 * (gpg accepts a few more).  test-keyring runs every case both ways.
 *
 * WHAT IT DOES NOT PROVE.  Only that the bytes are the bytes the holder of
 * that key signed.  Not when: the creation time is the signer's claim.  Not
 * what for: the station, workflow, direction and freshness (replay) are the
 * manifest's job.  Not that the key was not stolen: revocation is known only
 * once its certificate has been imported here, because this keyring is
 * offline.  Not who the holder is: that is the policy's allow-list, and GnuPG's
 * web of trust (validity, ownertrust) plays no part.
 */

/* Rule 0, before GPGME sees a byte of SIGNATURE. */
static gboolean
check_signature_packets (GBytes *signature, GError **error)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (signature, &len);
  guint n_signatures = 0;
  guint n_other = 0;
  guint first_tag = 0;
  gboolean wrong_kind = FALSE;
  gsize off = 0;

  if (len == 0)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_MISSING, _ ("the signature is empty"));
      return FALSE;
    }
  if ((data[0] & 0x80) == 0)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_ARMORED,
                   _ ("the signature is ASCII armor or text, not binary OpenPGP"));
      return FALSE;
    }

  while (off < len)
    {
      guint tag = 0;
      gsize body = 0;

      if (!sk_pgp_read_header (data, len, &off, &tag, &body))
        {
          g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                       _ ("the signature is damaged (malformed OpenPGP packet at byte %lu)"),
                       (gulong)off);
          return FALSE;
        }
      if (n_signatures + n_other == 0)
        first_tag = tag;
      if (tag == 2)
        {
          n_signatures++;
          /* Version 4: octet 0 is the version, octet 1 the signature type. */
          if (body < 2 || data[off] != 4 || data[off + 1] != 0x00)
            wrong_kind = TRUE;
        }
      else
        n_other++;
      off += body;
    }

  /* A file that does not start with a signature (a key, a message) is not a
   * detached signature at all, whatever follows. */
  if (n_signatures == 0 || first_tag != 2)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_MISSING,
                   _ ("the signature file holds no detached signature (its first OpenPGP packet "
                      "has tag %u)"),
                   first_tag);
      return FALSE;
    }
  if (n_signatures > 1)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_MULTIPLE,
                   _ ("the signature file holds %u signatures; exactly one is accepted"),
                   n_signatures);
      return FALSE;
    }
  if (n_other > 0)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                   _ ("the signature file holds OpenPGP packets other than the signature"));
      return FALSE;
    }
  if (wrong_kind)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                   _ ("only a version 4 signature over binary data (type 0x00) is accepted"));
      return FALSE;
    }
  return TRUE;
}

static gboolean
fpr_equal (const char *a, const char *b)
{
  return a != NULL && b != NULL && g_ascii_strcasecmp (a, b) == 0;
}

static gboolean
fpr_in_list (const char *fpr, const char *const *list)
{
  for (gsize i = 0; list[i] != NULL; i++)
    {
      if (fpr_equal (fpr, list[i]))
        return TRUE;
    }
  return FALSE;
}

/* Rule 5: RSA of at least 3072 bits, or EdDSA on Ed25519. */
static gboolean
subkey_is_strong (gpgme_subkey_t subkey)
{
  switch (subkey->pubkey_algo)
    {
    case GPGME_PK_RSA:
    case GPGME_PK_RSA_S:
      return subkey->length >= 3072;
    case GPGME_PK_EDDSA:
      return subkey->curve != NULL && g_ascii_strcasecmp (subkey->curve, "ed25519") == 0;
    default:
      return FALSE;
    }
}

static gboolean
hash_is_strong (gpgme_hash_algo_t algo)
{
  return algo == GPGME_MD_SHA256 || algo == GPGME_MD_SHA384 || algo == GPGME_MD_SHA512;
}

/* Rules 1–6 on GPGME's verdict.  SELF's keyring is where the key is looked up. */
/* What the rules read of a signature, copied out of GPGME's result. */
typedef struct
{
  gpgme_error_t status;
  unsigned int summary;
  gpgme_hash_algo_t hash_algo;
  long int timestamp;
  gboolean wrong_key_usage;
  gboolean has_fpr;
  char fpr[41];
} SkSigFacts;

/* Rules 2–6 on FACTS, with KEY (found on CTX when NULL). */
static SkSignature *
judge_facts (gpgme_ctx_t ctx,
             const SkSigFacts *facts_in,
             gpgme_key_t found,
             const char *const *allowed_fprs,
             GError **error)
{
  g_auto (gpgme_key_t) key = NULL;
  g_autoptr (SkSignature) out = NULL;
  SkSigFacts facts = *facts_in;
  gpgme_subkey_t primary;
  gpgme_subkey_t signer = NULL;
  gpg_err_code_t status = gpgme_err_code (facts.status);
  g_auto (SkGpgmeMem) algo = NULL;

  /* Rule 2. */
  if (status == GPG_ERR_NO_PUBKEY || (facts.summary & GPGME_SIGSUM_KEY_MISSING))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("the signing key %s is not in the station's keyring"),
                   facts.has_fpr ? facts.fpr : _ ("(unknown)"));
      return NULL;
    }
  if (!facts.has_fpr)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                   _ ("GnuPG did not name the signing key's fingerprint"));
      return NULL;
    }
  if (found != NULL)
    {
      gpgme_key_ref (found);
      key = found;
    }
  else if (!find_key_on (ctx, facts.fpr, FALSE, &key, error))
    return NULL;
  if (key == NULL || key->subkeys == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("the signing key %s is not in the station's keyring"), facts.fpr);
      return NULL;
    }
  primary = key->subkeys;
  for (gpgme_subkey_t sk = key->subkeys; sk != NULL; sk = sk->next)
    {
      if (fpr_equal (sk->fpr, facts.fpr))
        signer = sk;
    }
  if (signer == NULL || primary->fpr == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                   _ ("the key listed for %s does not contain the signing key"), facts.fpr);
      return NULL;
    }
  if (!fpr_in_list (primary->fpr, allowed_fprs) || key->disabled)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("the signing key %s is not listed for this use"), primary->fpr);
      return NULL;
    }

  /* Rule 3. */
  if (key->revoked || primary->revoked || signer->revoked || status == GPG_ERR_CERT_REVOKED ||
      (facts.summary & GPGME_SIGSUM_KEY_REVOKED))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_KEY_REVOKED, _ ("the signing key %s is revoked"),
                   signer->fpr);
      return NULL;
    }
  if (key->expired || primary->expired || signer->expired || status == GPG_ERR_KEY_EXPIRED ||
      (facts.summary & GPGME_SIGSUM_KEY_EXPIRED))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_KEY_EXPIRED, _ ("the signing key %s has expired"),
                   signer->fpr);
      return NULL;
    }

  /* Rule 4. */
  if (!hash_is_strong (facts.hash_algo) || status == GPG_ERR_DIGEST_ALGO)
    {
      const char *name = gpgme_hash_algo_name (facts.hash_algo);
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_WEAK_HASH,
                   _ ("the signature uses %s; SHA-256 or stronger is required"),
                   name != NULL ? name : _ ("an unknown hash"));
      return NULL;
    }

  /* Rule 5. */
  algo = gpgme_pubkey_algo_string (signer);
  if (!subkey_is_strong (signer) || !subkey_is_strong (primary))
    {
      g_auto (SkGpgmeMem) primary_algo = gpgme_pubkey_algo_string (primary);

      g_set_error (
          error, SK_ERROR, SK_ERROR_SIG_WEAK_KEY,
          _ ("the signing key is %s (primary %s); RSA of 3072 bits or more, or Ed25519, is "
             "required"),
          algo != NULL ? algo : _ ("unknown"), primary_algo != NULL ? primary_algo : _ ("unknown"));
      return NULL;
    }

  /* Rule 6. */
  if (!signer->can_sign || signer->invalid || signer->disabled || key->invalid ||
      facts.wrong_key_usage)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD, _ ("the key %s may not make signatures"),
                   signer->fpr);
      return NULL;
    }
  if (status != 0 || (facts.summary & (GPGME_SIGSUM_RED | GPGME_SIGSUM_SYS_ERROR)))
    {
      char buf[256];
      if (gpgme_strerror_r (facts.status, buf, sizeof buf) != 0)
        g_strlcpy (buf, "unknown error", sizeof buf);
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                   _ ("GnuPG did not accept the signature (%s, summary 0x%x)"), buf,
                   (guint)facts.summary);
      return NULL;
    }

  out = g_new0 (SkSignature, 1);
  out->primary_fpr = g_ascii_strup (primary->fpr, -1);
  out->signing_fpr = g_ascii_strup (signer->fpr, -1);
  out->created = (gint64)facts.timestamp;
  out->hash_algo = g_strdup (gpgme_hash_algo_name (facts.hash_algo));
  out->key_algo = g_strdup (algo != NULL ? algo : "unknown");
  return g_steal_pointer (&out);
}

static SkSignature *
check_verify_result (SkKeyring *self,
                     gpgme_ctx_t ctx,
                     gpgme_verify_result_t result,
                     const char *const *allowed_fprs,
                     GError **error)
{
  gpgme_signature_t sig;
  SkSigFacts facts = { 0 };

  /* Rule 1. */
  if (result == NULL || result->signatures == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_MISSING, _ ("GnuPG found no signature"));
      return NULL;
    }
  if (result->signatures->next != NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_MULTIPLE,
                   _ ("GnuPG found more than one signature; exactly one is accepted"));
      return NULL;
    }
  /* The result belongs to CTX until its next operation: keep what the rules
   * need, because the key is looked up on the same context below (a new
   * context would cost another run of gpg). */
  sig = result->signatures;
  facts.status = sig->status;
  facts.summary = sig->summary;
  facts.hash_algo = sig->hash_algo;
  facts.timestamp = sig->timestamp;
  facts.wrong_key_usage = sig->wrong_key_usage;
  if (sig->fpr != NULL)
    g_strlcpy (facts.fpr, sig->fpr, sizeof facts.fpr);
  facts.has_fpr = sig->fpr != NULL && strlen (sig->fpr) == 40;
  if (gpgme_err_code (facts.status) == GPG_ERR_BAD_SIGNATURE)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD, _ ("the signature does not match the data"));
      return NULL;
    }
  return judge_facts (ctx, &facts, NULL, allowed_fprs, error);
}

/* Rule 0, GPGME, then rules 1–6.  SIGNED_TEXT is positioned at its start. */
static SkSignature *
verify_data (SkKeyring *self,
             GBytes *signature,
             gpgme_data_t signed_text,
             const char *const *allowed_fprs,
             GError **error)
{
  g_autoptr (SkGpgContext) ctx = NULL;
  g_auto (gpgme_data_t) sig_data = NULL;
  gsize sig_len = 0;
  const void *sig_bytes;
  gpgme_error_t gerr;

  if (!check_signature_packets (signature, error))
    return NULL;

  ctx = context_new (self->homedir, error);
  if (ctx == NULL)
    return NULL;

  sig_bytes = g_bytes_get_data (signature, &sig_len);
  gerr = gpgme_data_new_from_mem (&sig_data, sig_bytes, sig_len, 0);
  if (gerr != 0)
    {
      set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("reading the signature"));
      return NULL;
    }

  gerr = gpgme_op_verify (ctx, sig_data, signed_text, NULL);
  if (gpgme_err_code (gerr) == GPG_ERR_NO_DATA)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_MISSING, _ ("GnuPG found no signature"));
      return NULL;
    }
  if (gerr != 0)
    {
      set_error_from_gpgme (error, gerr, SK_ERROR_SIG_BAD, _ ("verifying the signature"));
      return NULL;
    }

  return check_verify_result (self, ctx, gpgme_op_verify_result (ctx), allowed_fprs, error);
}

SkSignature *
sk_keyring_verify_detached_bytes (SkKeyring *self,
                                  GBytes *signature,
                                  GBytes *data,
                                  const char *const *allowed_fprs,
                                  GError **error)
{
  g_auto (gpgme_data_t) signed_text = NULL;
  gsize len = 0;
  const void *bytes;
  gpgme_error_t gerr;

  g_return_val_if_fail (SK_IS_KEYRING (self), NULL);
  g_return_val_if_fail (signature != NULL, NULL);
  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (allowed_fprs != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!ensure_gpgme (error))
    return NULL;

  bytes = g_bytes_get_data (data, &len);
  gerr = gpgme_data_new_from_mem (&signed_text, bytes != NULL ? bytes : "", len, 0);
  if (gerr != 0)
    {
      set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("reading the signed data"));
      return NULL;
    }
  return verify_data (self, signature, signed_text, allowed_fprs, error);
}

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

static void
fd_reader_clear (FdReader *reader)
{
  if (reader->n_polls > 1)
    g_cancellable_release_fd (reader->cancellable);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (FdReader, fd_reader_clear)

static gpgme_ssize_t
fd_reader_read (void *handle, void *buffer, size_t size)
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

SkSignature *
sk_keyring_verify_detached_fd (SkKeyring *self,
                               GBytes *signature,
                               int data_fd,
                               const char *const *allowed_fprs,
                               GCancellable *cancellable,
                               GError **error)
{
  struct gpgme_data_cbs cbs = { .read = fd_reader_read };
  g_auto (FdReader) reader = { .fd = data_fd, .cancellable = cancellable, .n_polls = 1 };
  g_auto (gpgme_data_t) signed_text = NULL;
  g_autoptr (SkSignature) sig = NULL;
  g_autoptr (GError) local_error = NULL;
  gpgme_error_t gerr;

  g_return_val_if_fail (SK_IS_KEYRING (self), NULL);
  g_return_val_if_fail (signature != NULL, NULL);
  g_return_val_if_fail (data_fd >= 0, NULL);
  g_return_val_if_fail (allowed_fprs != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (!ensure_gpgme (error))
    return NULL;

  reader.polls[0].fd = data_fd;
  reader.polls[0].events = G_IO_IN | G_IO_HUP | G_IO_ERR;
  if (g_cancellable_make_pollfd (cancellable, &reader.polls[1]))
    reader.n_polls = 2;

  gerr = gpgme_data_new_from_cbs (&signed_text, &cbs, &reader);
  pipe_buffers (signed_text);
  if (gerr != 0)
    {
      set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("reading the signed file"));
      return NULL;
    }

  sig = verify_data (self, signature, signed_text, allowed_fprs, &local_error);

  /* A cancellation or a read error explains whatever GPGME made of the
   * truncated stream, and wins over it. */
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (reader.read_errno != 0)
    {
      sk_error_set_from_errno (error, reader.read_errno, _ ("reading the signed file"));
      return NULL;
    }
  if (sig == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  return g_steal_pointer (&sig);
}

/* ---- verification in-process ---------------------------------------- */

/* The public key packet of PRIMARY_FPR, as this home exports it. */
static SkPgpKey *
export_primary (gpgme_ctx_t ctx, const char *primary_fpr, GError **error)
{
  g_auto (gpgme_data_t) out = NULL;
  g_auto (SkGpgmeMem) mem = NULL;
  size_t mem_len = 0;
  gpgme_error_t gerr = gpgme_data_new (&out);
  if (gerr == 0)
    gerr = gpgme_op_export (ctx, primary_fpr, GPGME_EXPORT_MODE_MINIMAL, out);
  if (gerr != 0)
    {
      set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("exporting the signing key"));
      return NULL;
    }
  mem = gpgme_data_release_and_get_mem (g_steal_pointer (&out), &mem_len);
  if (mem == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY, _ ("GnuPG exported no key for %s"),
                   primary_fpr);
      return NULL;
    }
  return sk_pgp_key_from_block ((const guint8 *)mem, mem_len, error);
}

struct _SkVerifier
{
  SkKeyring *keyring;
  GBytes *signature;
  SkPgpSig *sig;    /* NULL: left to GnuPG */
  SkDigest *digest; /* of the bytes fed */
  /* The signer's key, looked up before the bytes are hashed (two runs of
   * gpg: a listing, an export).  Not on a thread of its own: GPGME forks
   * gpg, and a fork while another thread holds a lock (an LD_PRELOAD'ed
   * library's, as umockdev's in the media tests) leaves the child waiting
   * on it forever. */
  gpgme_key_t key;    /* NULL: not in this keyring */
  SkPgpKey *material; /* the primary's, when the signer is the primary */
  gboolean by_subkey;
  GError *lookup_error;
};

/* The signing key, as GnuPG lists it, and its primary's material. */
static void
lookup_signer (SkVerifier *v)
{
  const SkPgpSig *sig = v->sig;
  gboolean by_fpr = sig->issuer_fpr[0] != '\0';
  g_autoptr (SkGpgContext) ctx = context_new (v->keyring->homedir, &v->lookup_error);
  if (ctx == NULL ||
      !find_key_on (ctx, by_fpr ? sig->issuer_fpr : sig->issuer_keyid, FALSE, &v->key,
                    &v->lookup_error) ||
      v->key == NULL)
    return;
  gpgme_subkey_t signer = NULL;
  for (gpgme_subkey_t sk = v->key->subkeys; sk != NULL; sk = sk->next)
    if (by_fpr ? fpr_equal (sk->fpr, sig->issuer_fpr) : fpr_equal (sk->keyid, sig->issuer_keyid))
      signer = sk;
  if (signer == NULL)
    g_clear_pointer (&v->key, gpgme_key_unref);
  else if (signer != v->key->subkeys)
    v->by_subkey = TRUE;
  else
    v->material = export_primary (ctx, signer->fpr, &v->lookup_error);
}

SkVerifier *
sk_keyring_verifier_new (SkKeyring *self, GBytes *signature, GError **error)
{
  g_return_val_if_fail (SK_IS_KEYRING (self), NULL);
  g_return_val_if_fail (signature != NULL, NULL);

  if (!check_signature_packets (signature, error))
    return NULL;
  SkVerifier *v = g_new0 (SkVerifier, 1);
  v->keyring = g_object_ref (self);
  v->signature = g_bytes_ref (signature);

  /* Rule 0 found exactly one well-framed signature packet. */
  gsize len = 0, off = 0, body = 0;
  guint tag = 0;
  const guint8 *data = g_bytes_get_data (signature, &len);
  if (sk_pgp_read_header (data, len, &off, &tag, &body))
    v->sig = sk_pgp_sig_parse (data + off, body, NULL);
  /* The usual signature only: a creation time, each subpacket once, none
   * critical that we do not act on, a hash computed here.  Anything else
   * is GnuPG's to judge. */
  if (v->sig != NULL && (v->sig->created < 0 || v->sig->duplicate || v->sig->unknown_critical ||
                         (v->sig->issuer_fpr[0] == '\0' && v->sig->issuer_keyid[0] == '\0') ||
                         (v->digest = sk_pgp_sig_start (v->sig)) == NULL))
    g_clear_pointer (&v->sig, sk_pgp_sig_free);
  if (v->sig != NULL)
    lookup_signer (v);
  return v;
}

void
sk_verifier_update (SkVerifier *v, const void *data, gsize len)
{
  if (v->digest != NULL)
    sk_digest_update (v->digest, data, len);
}

char *
sk_verifier_dup_sha256 (SkVerifier *v)
{
  g_return_val_if_fail (v != NULL, NULL);

  if (v->sig == NULL || v->digest == NULL || v->sig->hash_algo != 8)
    return NULL;
  g_autoptr (SkDigest) copy = sk_digest_copy (v->digest);
  gsize len = 0;
  const guint8 *d = copy != NULL ? sk_digest_finish (copy, &len) : NULL;
  if (d == NULL || len != 32)
    return NULL;
  char *hex = g_malloc (65);
  for (gsize i = 0; i < 32; i++)
    {
      hex[2 * i] = "0123456789abcdef"[d[i] >> 4];
      hex[2 * i + 1] = "0123456789abcdef"[d[i] & 15];
    }
  hex[64] = '\0';
  return hex;
}

void
sk_verifier_free (SkVerifier *v)
{
  if (v == NULL)
    return;
  g_clear_pointer (&v->key, gpgme_key_unref);
  sk_pgp_key_free (v->material);
  g_clear_error (&v->lookup_error);
  g_object_unref (v->keyring);
  g_bytes_unref (v->signature);
  sk_pgp_sig_free (v->sig);
  sk_digest_free (v->digest);
  g_free (v);
}

static SkSignature *
not_here (GError **error, const char *why)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
               _ ("the signature is left to GnuPG: %s"), why);
  return NULL;
}

SkSignature *
sk_verifier_finish (SkVerifier *v, const char *const *allowed_fprs, GError **error)
{
  g_return_val_if_fail (v != NULL, NULL);
  g_return_val_if_fail (allowed_fprs != NULL, NULL);

  if (v->sig == NULL)
    return not_here (error, "its packet is not the usual one");

  /* Rule 2 begins: the key the signature names, in this keyring. */
  const SkPgpSig *sig = v->sig;
  if (v->lookup_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&v->lookup_error));
      return NULL;
    }
  if (v->key == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("the signing key %s is not in the station's keyring"),
                   sig->issuer_fpr[0] != '\0' ? sig->issuer_fpr : sig->issuer_keyid);
      return NULL;
    }
  if (v->by_subkey)
    return not_here (error, "it was made by a subkey");

  /* Rule 1: the signature over the bytes, by that key's material. */
  gpgme_subkey_t signer = v->key->subkeys;
  const SkPgpKey *material = v->material;
  if (material == NULL || !fpr_equal (material->fpr, signer->fpr))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD, _ ("GnuPG exported another key than %s"),
                   signer->fpr);
      return NULL;
    }
  switch (sk_pgp_sig_check (sig, v->digest, material))
    {
    case SK_PGP_GOOD:
      break;
    case SK_PGP_BAD:
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD, _ ("the signature does not match the data"));
      return NULL;
    case SK_PGP_UNSUPPORTED:
    default:
      return not_here (error, "its algorithm is not checked in-process");
    }

  /* Rules 2–6 as GnuPG's verdict would give them: what gpg would have
   * said of a good signature — a time conflict (a key newer than its
   * signature) and an expired signature are its errors. */
  SkSigFacts facts = { 0 };
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  facts.hash_algo = (gpgme_hash_algo_t)sig->hash_algo;
  facts.timestamp = (long int)sig->created;
  facts.has_fpr = TRUE;
  g_strlcpy (facts.fpr, signer->fpr, sizeof facts.fpr);
  if (material->created > sig->created)
    facts.status = gpgme_error (GPG_ERR_TIME_CONFLICT);
  else if (sig->expires != 0 && sig->created + sig->expires <= now)
    facts.status = gpgme_error (GPG_ERR_SIG_EXPIRED);
  return judge_facts (NULL, &facts, v->key, allowed_fprs, error);
}

/* ---- signing --------------------------------------------------------------- */

/* The signer: a secret key of this home whose primary fingerprint is FPR. */
static gboolean
find_signer (SkKeyring *self, const char *fpr, gpgme_key_t *out_key, GError **error)
{
  g_auto (gpgme_key_t) key = NULL;

  if (!sk_fingerprint_is_valid (fpr))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("the signing key must be named by its 40-digit primary fingerprint"));
      return FALSE;
    }
  if (!find_key (self->homedir, fpr, TRUE, &key, error))
    return FALSE;
  if (key == NULL || key->subkeys == NULL || !fpr_equal (key->subkeys->fpr, fpr))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("there is no secret key %s in the station's keyring"), fpr);
      return FALSE;
    }
  *out_key = g_steal_pointer (&key);
  return TRUE;
}

GBytes *
sk_keyring_sign_detached_bytes (SkKeyring *self, const char *fpr, GBytes *data, GError **error)
{
  g_autoptr (SkGpgContext) ctx = NULL;
  g_auto (gpgme_key_t) key = NULL;
  g_auto (gpgme_data_t) in = NULL;
  g_auto (gpgme_data_t) out = NULL;
  g_autoptr (GBytes) result = NULL;
  g_autoptr (SkSignature) self_check = NULL;
  g_auto (SkGpgmeMem) mem = NULL;
  gpgme_sign_result_t sign_result;
  const char *allowed[] = { fpr, NULL };
  const void *bytes;
  gsize len = 0;
  size_t mem_len = 0;
  gpgme_error_t gerr;

  g_return_val_if_fail (SK_IS_KEYRING (self), NULL);
  g_return_val_if_fail (fpr != NULL, NULL);
  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!find_signer (self, fpr, &key, error))
    return NULL;

  ctx = context_new (self->homedir, error);
  if (ctx == NULL)
    return NULL;
  gerr = gpgme_signers_add (ctx, key);
  if (gerr != 0)
    {
      set_error_from_gpgme (error, gerr, SK_ERROR_SIG_UNTRUSTED_KEY,
                            _ ("choosing the signing key"));
      return NULL;
    }

  bytes = g_bytes_get_data (data, &len);
  gerr = gpgme_data_new_from_mem (&in, bytes != NULL ? bytes : "", len, 0);
  if (gerr == 0)
    gerr = gpgme_data_new (&out);
  if (gerr != 0)
    {
      set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("preparing to sign"));
      return NULL;
    }

  gerr = gpgme_op_sign (ctx, in, out, GPGME_SIG_MODE_DETACH);
  sign_result = gpgme_op_sign_result (ctx);
  if (gerr == 0 && sign_result != NULL && sign_result->invalid_signers != NULL)
    gerr = sign_result->invalid_signers->reason != 0 ? sign_result->invalid_signers->reason
                                                     : gpgme_error (GPG_ERR_UNUSABLE_SECKEY);
  if (gerr != 0)
    {
      g_autofree char *what = g_strdup_printf ("signing with %s", fpr);
      set_error_from_gpgme (error, gerr, SK_ERROR_SIG_UNTRUSTED_KEY, what);
      return NULL;
    }
  if (sign_result == NULL || sign_result->signatures == NULL ||
      sign_result->signatures->next != NULL ||
      sign_result->signatures->type != GPGME_SIG_MODE_DETACH)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                   _ ("GnuPG did not make exactly one detached signature"));
      return NULL;
    }

  mem = gpgme_data_release_and_get_mem (g_steal_pointer (&out), &mem_len);
  if (mem == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_MISSING, _ ("GnuPG made an empty signature"));
      return NULL;
    }
  result = g_bytes_new (mem, mem_len);

  /* The self-check: what we hand out must pass our own rule, with FPR as the
   * only allowed signer (catches a weak, expired or revoked station key). */
  self_check = sk_keyring_verify_detached_bytes (self, result, data, allowed, error);
  if (self_check == NULL)
    {
      g_prefix_error (error, _ ("checking the new signature: "));
      return NULL;
    }
  return g_steal_pointer (&result);
}

#define DECRYPT_BLOCK (256 * 1024)

/* ---- streaming: sign, encrypt, decrypt ----------------------------------- */

/* The bytes being signed, hashed as GnuPG reads them. */
typedef struct
{
  int fd;
  SkSha256 *sum;
  int read_errno;
} HashingReader;

static gpgme_ssize_t
hashing_read (void *handle, void *buffer, size_t size)
{
  HashingReader *r = handle;
  ssize_t n;
  do
    n = read (r->fd, buffer, size);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    r->read_errno = errno;
  else if (n > 0)
    sk_sha256_update (r->sum, buffer, (gsize)n);
  return n;
}

GBytes *
sk_keyring_sign_detached_fd (
    SkKeyring *self, const char *fpr, int data_fd, char **out_sha256, GError **error)
{
  g_autoptr (SkSha256) sum = out_sha256 != NULL ? sk_sha256_new () : NULL;
  HashingReader reader = { .fd = data_fd, .sum = sum };
  struct gpgme_data_cbs cbs = { .read = hashing_read };
  g_autoptr (SkGpgContext) ctx = NULL;
  g_auto (gpgme_key_t) key = NULL;
  g_auto (gpgme_data_t) in = NULL;
  g_auto (gpgme_data_t) out = NULL;
  g_auto (SkGpgmeMem) mem = NULL;
  size_t mem_len = 0;
  gpgme_error_t gerr;

  g_return_val_if_fail (SK_IS_KEYRING (self), NULL);
  g_return_val_if_fail (fpr != NULL, NULL);

  if (!find_signer (self, fpr, &key, error))
    return NULL;
  ctx = context_new (self->homedir, error);
  if (ctx == NULL)
    return NULL;
  if (out_sha256 != NULL && sum == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("SHA-256 is unavailable"));
      return NULL;
    }
  gerr = gpgme_signers_add (ctx, key);
  if (gerr == 0)
    gerr = out_sha256 != NULL ? gpgme_data_new_from_cbs (&in, &cbs, &reader)
                              : gpgme_data_new_from_fd (&in, data_fd);
  pipe_buffers (in);
  if (gerr == 0)
    gerr = gpgme_data_new (&out);
  if (gerr == 0)
    gerr = gpgme_op_sign (ctx, in, out, GPGME_SIG_MODE_DETACH);
  gpgme_sign_result_t result = gerr == 0 ? gpgme_op_sign_result (ctx) : NULL;
  if (gerr == 0 && (result == NULL || result->invalid_signers != NULL ||
                    result->signatures == NULL || result->signatures->next != NULL))
    gerr = gpgme_error (GPG_ERR_UNUSABLE_SECKEY);
  if (reader.read_errno != 0)
    {
      sk_error_set_from_errno (error, reader.read_errno, _ ("reading the file to sign"));
      return NULL;
    }
  if (gerr != 0)
    {
      g_autofree char *what = g_strdup_printf ("signing with %s", fpr);
      set_error_from_gpgme (error, gerr, SK_ERROR_SIG_UNTRUSTED_KEY, what);
      return NULL;
    }
  if (out_sha256 != NULL)
    *out_sha256 = g_strdup (sk_sha256_hex (sum));
  mem = gpgme_data_release_and_get_mem (g_steal_pointer (&out), &mem_len);
  if (mem == NULL || mem_len == 0)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_MISSING, _ ("GnuPG made an empty signature"));
      return NULL;
    }
  return g_bytes_new (mem, mem_len);
}

/* Where the message goes: a file, hashed on the way so that what reaches
 * the medium can be compared with what was written. */
typedef struct
{
  int fd;
  SkSha256 *sum;
  int write_errno;
} CipherSink;

static gpgme_ssize_t
cipher_sink_write (void *handle, const void *buffer, size_t size)
{
  CipherSink *sink = handle;
  size_t done = 0;
  while (done < size)
    {
      ssize_t n = write (sink->fd, (const char *)buffer + done, size - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          sink->write_errno = n < 0 ? errno : ENOSPC;
          errno = sink->write_errno;
          return -1;
        }
      done += (size_t)n;
    }
  if (sink->sum != NULL)
    sk_sha256_update (sink->sum, buffer, size);
  return (gpgme_ssize_t)size;
}

gboolean
sk_keyring_encrypt_fd (SkKeyring *self,
                       const char *recipient,
                       int plain_fd,
                       int out_fd,
                       char **out_sha256,
                       GCancellable *cancellable,
                       GError **error)
{
  g_autoptr (SkSha256) sum = out_sha256 != NULL ? sk_sha256_new () : NULL;
  CipherSink sink = { .fd = out_fd, .sum = sum };
  struct gpgme_data_cbs out_cbs = { .write = cipher_sink_write };
  g_autoptr (SkGpgContext) ctx = NULL;
  g_auto (gpgme_key_t) key = NULL;
  g_auto (gpgme_data_t) in = NULL;
  g_auto (gpgme_data_t) out = NULL;
  gpgme_error_t gerr;

  g_return_val_if_fail (SK_IS_KEYRING (self), FALSE);

  if (recipient == NULL || !sk_fingerprint_is_valid (recipient))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("the recipient must be named by its 40-digit primary fingerprint"));
      return FALSE;
    }
  if (!find_key (self->homedir, recipient, FALSE, &key, error))
    return FALSE;
  if (key == NULL || key->subkeys == NULL || !fpr_equal (key->subkeys->fpr, recipient) ||
      !key->can_encrypt || key->revoked || key->expired)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("the station's keyring has no usable encryption key for %s"), recipient);
      return FALSE;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  ctx = context_new (self->homedir, error);
  if (ctx == NULL)
    return FALSE;
  gpgme_key_t recipients[] = { key, NULL };
  if (out_sha256 != NULL && sum == NULL)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("SHA-256 is unavailable"));
      return FALSE;
    }
  gerr = gpgme_data_new_from_fd (&in, plain_fd);
  if (gerr == 0)
    gerr = gpgme_data_new_from_cbs (&out, &out_cbs, &sink);
  pipe_buffers (in);
  big_buffers (out);
  /* Trust is the policy's, not GnuPG's web of trust: the recipient was
   * named by fingerprint in the signed policy. */
  if (gerr == 0)
    gerr = gpgme_op_encrypt (ctx, recipients,
                             GPGME_ENCRYPT_ALWAYS_TRUST | GPGME_ENCRYPT_NO_COMPRESS, in, out);
  gpgme_encrypt_result_t result = gerr == 0 ? gpgme_op_encrypt_result (ctx) : NULL;
  if (gerr == 0 && result != NULL && result->invalid_recipients != NULL)
    gerr = gpgme_error (GPG_ERR_UNUSABLE_PUBKEY);
  if (sink.write_errno != 0)
    {
      sk_error_set_from_errno (error, sink.write_errno, _ ("writing the encrypted message"));
      return FALSE;
    }
  if (gerr != 0)
    {
      set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("encrypting"));
      return FALSE;
    }
  if (out_sha256 != NULL)
    *out_sha256 = g_strdup (sk_sha256_hex (sum));
  return TRUE;
}

/* ---- encryption and signing in-process (issue 15) -------------------------- */

static gboolean
not_supported (GError **error, const char *why)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, _ ("left to GnuPG: %s"), why);
  return FALSE;
}

/* The key block of FPR, as this home exports it (minimal: the keys and their
 * self-signatures). */
static GBytes *
export_block (gpgme_ctx_t ctx, const char *fpr, GError **error)
{
  g_auto (gpgme_data_t) out = NULL;
  g_auto (SkGpgmeMem) mem = NULL;
  size_t mem_len = 0;
  gpgme_error_t gerr = gpgme_data_new (&out);
  if (gerr == 0)
    gerr = gpgme_op_export (ctx, fpr, GPGME_EXPORT_MODE_MINIMAL, out);
  if (gerr != 0)
    {
      set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("exporting the recipient's key"));
      return NULL;
    }
  mem = gpgme_data_release_and_get_mem (g_steal_pointer (&out), &mem_len);
  if (mem == NULL || mem_len == 0)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY, _ ("GnuPG exported no key for %s"),
                   fpr);
      return NULL;
    }
  return g_bytes_new (mem, mem_len);
}

static gboolean
subkey_usable (gpgme_subkey_t sk)
{
  return !sk->revoked && !sk->expired && !sk->disabled && !sk->invalid;
}

gboolean
sk_keyring_encrypt_to (SkKeyring *self,
                       const char *recipient,
                       int plain_fd,
                       SkKeyringSink out,
                       gpointer user_data,
                       GCancellable *cancellable,
                       GError **error)
{
  g_auto (gpgme_key_t) key = NULL;
  g_return_val_if_fail (SK_IS_KEYRING (self), FALSE);

  if (recipient == NULL || !sk_fingerprint_is_valid (recipient))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("The recipient must be named by its 40-digit primary fingerprint."));
      return FALSE;
    }
  if (!find_key (self->homedir, recipient, FALSE, &key, error))
    return FALSE;
  if (key == NULL || key->subkeys == NULL || !fpr_equal (key->subkeys->fpr, recipient) ||
      !key->can_encrypt || key->revoked || key->expired || key->disabled || key->invalid)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("The station's keyring has no usable encryption key for %s."), recipient);
      return FALSE;
    }
  /* The subkey gpg would choose: the newest usable one that may encrypt. */
  gpgme_subkey_t chosen = NULL;
  for (gpgme_subkey_t sk = key->subkeys; sk != NULL; sk = sk->next)
    if (sk->can_encrypt && subkey_usable (sk) &&
        (chosen == NULL || sk->timestamp > chosen->timestamp))
      chosen = sk;
  if (chosen == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("The station's keyring has no usable encryption key for %s."), recipient);
      return FALSE;
    }
  if (chosen == key->subkeys || chosen->pubkey_algo != GPGME_PK_ECDH || chosen->curve == NULL ||
      (g_ascii_strcasecmp (chosen->curve, "cv25519") != 0 &&
       g_ascii_strcasecmp (chosen->curve, "Curve25519") != 0))
    return not_supported (error, "the encryption key is not a Curve25519 subkey");

  g_autoptr (GBytes) block = NULL;
  {
    g_autoptr (SkGpgContext) ctx = context_new (self->homedir, error);
    if (ctx == NULL || (block = export_block (ctx, recipient, error)) == NULL)
      return FALSE;
  }
  gsize block_len = 0;
  const guint8 *block_data = g_bytes_get_data (block, &block_len);
  g_autoptr (SkPgpKey) subkey =
      sk_pgp_subkey_from_block (block_data, block_len, chosen->fpr, error);
  if (subkey == NULL)
    return FALSE;
  if (!subkey->cv25519)
    return not_supported (error, "the encryption key's parameters are not the usual ones");

  g_autoptr (SkPgpEncryptor) enc = sk_pgp_encryptor_new (subkey, out, user_data, error);
  if (enc == NULL)
    return FALSE;
  g_autofree guint8 *buf = g_malloc (DECRYPT_BLOCK);
  for (;;)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      ssize_t n = read (plain_fd, buf, DECRYPT_BLOCK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          sk_error_set_from_errno (error, errno, _ ("reading the data to encrypt"));
          return FALSE;
        }
      if (n == 0)
        break;
      if (!sk_pgp_encryptor_feed (enc, buf, (gsize)n, error))
        return FALSE;
    }
  return sk_pgp_encryptor_finish (enc, error);
}

static char *
agent_socket_in_run_user (const char *home);

/* The socket of this home's gpg-agent, where gpg looks for it. */
static char *
agent_socket (const char *home)
{
  g_autofree char *in_run = agent_socket_in_run_user (home);
  if (in_run != NULL && g_file_test (in_run, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&in_run);
  return g_build_filename (home, "S.gpg-agent", NULL);
}

GBytes *
sk_keyring_sign_digest (
    SkKeyring *self, const char *fpr, SkDigest *digest, guint hash_algo, GError **error)
{
  g_auto (gpgme_key_t) key = NULL;
  g_return_val_if_fail (SK_IS_KEYRING (self), NULL);
  g_return_val_if_fail (digest != NULL, NULL);

  if (hash_algo != GPGME_MD_SHA256 && hash_algo != GPGME_MD_SHA384 && hash_algo != GPGME_MD_SHA512)
    {
      not_supported (error, "the digest is not SHA-2");
      return NULL;
    }
  /* find_signer lists the secret key: gpg starts the home's agent for it. */
  if (!find_signer (self, fpr, &key, error))
    return NULL;
  gpgme_subkey_t primary = key->subkeys;
  for (gpgme_subkey_t sk = primary->next; sk != NULL; sk = sk->next)
    if (sk->can_sign && subkey_usable (sk))
      {
        not_supported (error, "GnuPG would sign with a subkey");
        return NULL;
      }
  if (!primary->can_sign || !subkey_usable (primary) || key->revoked || key->expired ||
      !primary->secret || primary->keygrip == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                   _ ("The key %s cannot sign: it is expired, revoked or has no secret part."),
                   fpr);
      return NULL;
    }
  /* Its OpenPGP number (GPGME numbers EdDSA 303). */
  guint pk_algo;
  if (primary->pubkey_algo == GPGME_PK_EDDSA && primary->curve != NULL &&
      g_ascii_strcasecmp (primary->curve, "ed25519") == 0)
    pk_algo = 22;
  else if (primary->pubkey_algo == GPGME_PK_RSA || primary->pubkey_algo == GPGME_PK_RSA_S)
    pk_algo = primary->pubkey_algo == GPGME_PK_RSA ? 1 : 3;
  else
    {
      not_supported (error, "the key is neither Ed25519 nor RSA");
      return NULL;
    }

  /* The digest of the data, the hashed part and the v4 trailer. */
  g_autoptr (GBytes) hashed = sk_pgp_sig_hashed_part (
      pk_algo, hash_algo, g_get_real_time () / G_USEC_PER_SEC, primary->fpr);
  g_autoptr (SkDigest) final = sk_digest_copy (digest);
  g_autoptr (SkDigest) check = sk_digest_copy (digest);
  if (final == NULL || check == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("libgcrypt failed to copy a digest"));
      return NULL;
    }
  gsize hashed_len = 0, dlen = 0;
  const guint8 *h = g_bytes_get_data (hashed, &hashed_len);
  guint8 trailer[6] = { 4,
                        0xff,
                        (guint8)(hashed_len >> 24),
                        (guint8)(hashed_len >> 16),
                        (guint8)(hashed_len >> 8),
                        (guint8)hashed_len };
  sk_digest_update (final, h, hashed_len);
  sk_digest_update (final, trailer, sizeof trailer);
  const guint8 *d = sk_digest_finish (final, &dlen);

  g_autofree char *socket_path = agent_socket (self->homedir);
  g_autoptr (GBytes) answer =
      sk_gpg_agent_sign_digest (socket_path, primary->keygrip, hash_algo, d, dlen, error);
  if (answer == NULL)
    return NULL;
  GBytes *mpi[2] = { NULL, NULL };
  guint n_mpi = 0;
  gsize answer_len = 0;
  const guint8 *answer_data = g_bytes_get_data (answer, &answer_len);
  if (!sk_sig_value_parse (answer_data, answer_len, &n_mpi, mpi) ||
      n_mpi != (pk_algo == 22 ? 2u : 1u))
    {
      for (guint i = 0; i < G_N_ELEMENTS (mpi); i++)
        g_clear_pointer (&mpi[i], g_bytes_unref);
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                   _ ("The station's gpg-agent answered with something other than a signature."));
      return NULL;
    }
  g_autoptr (GBytes) packet = sk_pgp_sig_packet (hashed, primary->fpr, d, n_mpi, mpi);
  for (guint i = 0; i < G_N_ELEMENTS (mpi); i++)
    g_clear_pointer (&mpi[i], g_bytes_unref);

  /* The self-check: the packet parses as our verifier reads it and the
   * signature holds under the key's public material. */
  g_autoptr (SkPgpSig) sig = NULL;
  g_autoptr (SkPgpKey) material = NULL;
  gsize plen = 0, off = 0, body = 0;
  guint tag = 0;
  const guint8 *pdata = g_bytes_get_data (packet, &plen);
  if (sk_pgp_read_header (pdata, plen, &off, &tag, &body) && tag == 2 && off + body == plen)
    sig = sk_pgp_sig_parse (pdata + off, body, NULL);
  {
    g_autoptr (SkGpgContext) ctx = context_new (self->homedir, error);
    if (ctx == NULL)
      return NULL;
    material = export_primary (ctx, primary->fpr, error);
    if (material == NULL)
      return NULL;
  }
  if (sig == NULL || !check_signature_packets (packet, NULL) ||
      sk_pgp_sig_check (sig, check, material) != SK_PGP_GOOD)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_SIG_BAD,
                   _ ("The new signature does not verify against the key %s."), fpr);
      return NULL;
    }
  return g_steal_pointer (&packet);
}

/* ---- decryption ----------------------------------------------------------
 *
 * The message is read here and decrypted in-process (sk-pgp-decrypt.c);
 * GnuPG is asked for the session key only, with the session-key packets and
 * the first bytes of the encrypted data: the secret key never leaves its
 * agent, and the bulk never goes through GPGME's pipes.
 */

/* Where the plaintext goes: the reader's socket (or any fd). */
typedef struct
{
  int fd;
  gboolean reader_gone;
} PlainSink;

static gboolean
plain_sink_write (const guint8 *buffer, gsize size, gpointer user_data, GError **error)
{
  PlainSink *sink = user_data;
  gsize done = 0;
  while (done < size)
    {
      ssize_t n = send (sink->fd, buffer + done, size - done, MSG_NOSIGNAL);
      if (n < 0 && errno == ENOTSOCK)
        n = write (sink->fd, buffer + done, size - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          if (errno == EPIPE || errno == ECONNRESET)
            {
              sink->reader_gone = TRUE;
              g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                   _ ("the reader stopped"));
            }
          else
            sk_error_set_from_errno (error, errno, _ ("passing on the decrypted data"));
          return FALSE;
        }
      done += (gsize)n;
    }
  return TRUE;
}

/* "ALGO:HEX", as GnuPG shows a session key. */
static gboolean
parse_session_key (const char *text, guint *out_algo, guint8 *key, gsize *key_len)
{
  const char *colon = text != NULL ? strchr (text, ':') : NULL;
  if (colon == NULL || colon == text || colon - text > 3)
    return FALSE;
  guint algo = 0;
  for (const char *p = text; p < colon; p++)
    {
      if (!g_ascii_isdigit (*p))
        return FALSE;
      algo = algo * 10 + (guint)(*p - '0');
    }
  gsize hex = strlen (colon + 1);
  if (hex == 0 || hex % 2 != 0 || hex / 2 > *key_len)
    return FALSE;
  for (gsize i = 0; i < hex / 2; i++)
    {
      int hi = g_ascii_xdigit_value (colon[1 + 2 * i]);
      int lo = g_ascii_xdigit_value (colon[2 + 2 * i]);
      if (hi < 0 || lo < 0)
        return FALSE;
      key[i] = (guint8)(hi << 4 | lo);
    }
  *key_len = hex / 2;
  *out_algo = algo;
  return TRUE;
}

/* Ask GnuPG for the session key of the message DEC has begun to read, and
 * hand it over.  GnuPG decrypts the session-key packets with the station's
 * secret key, shows the key, then fails on the encrypted data it was given
 * only the start of; that failure is expected and says nothing. */
static gboolean
obtain_session_key (SkKeyring *self, SkPgpDecryptor *dec, GError **error)
{
  g_autoptr (SkGpgContext) ctx = context_new (self->homedir, error);
  if (ctx == NULL)
    return FALSE;
  g_autoptr (GBytes) request = sk_pgp_decryptor_get_key_request (dec);
  g_auto (gpgme_data_t) in = NULL;
  g_auto (gpgme_data_t) out = NULL;
  gsize len = 0;
  const void *bytes = g_bytes_get_data (request, &len);
  gpgme_error_t gerr = gpgme_data_new_from_mem (&in, bytes, len, 0);
  if (gerr == 0)
    gerr = gpgme_data_new (&out);
  if (gerr == 0)
    gerr = gpgme_set_ctx_flag (ctx, "export-session-key", "1");
  if (gerr != 0)
    {
      set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("preparing to decrypt"));
      return FALSE;
    }
  gerr = gpgme_op_decrypt (ctx, in, out);
  gpgme_decrypt_result_t result = gpgme_op_decrypt_result (ctx);
  guint8 key[64];
  gsize key_len = sizeof key;
  guint algo = 0;
  gboolean have_key = result != NULL && result->session_key != NULL &&
                      parse_session_key (result->session_key, &algo, key, &key_len);
  gboolean no_seckey = gpgme_err_code (gerr) == GPG_ERR_NO_SECKEY ||
                       (result != NULL && result->recipients != NULL &&
                        gpgme_err_code (result->recipients->status) == GPG_ERR_NO_SECKEY);
  /* The key is wiped wherever it was held: GPGME's copy, the context's
   * flag (contexts are reused), ours below. */
  if (result != NULL && result->session_key != NULL)
    explicit_bzero (result->session_key, strlen (result->session_key));
  (void)gpgme_set_ctx_flag (ctx, "export-session-key", "0");

  if (!have_key)
    {
      if (no_seckey)
        g_set_error_literal (error, SK_ERROR, SK_ERROR_DECRYPT_WRONG_RECIPIENT,
                             _ ("the message is encrypted to a key this station does not hold"));
      else
        set_error_from_gpgme (error, gerr != 0 ? gerr : gpgme_error (GPG_ERR_DECRYPT_FAILED),
                              SK_ERROR_DECRYPT_FAILED, _ ("decrypting the session key"));
      return FALSE;
    }
  gboolean ok = sk_pgp_decryptor_set_key (dec, algo, key, key_len, error);
  explicit_bzero (key, sizeof key);
  return ok;
}

gboolean
sk_keyring_decrypt_fd (SkKeyring *self,
                       int cipher_fd,
                       guint64 cipher_size,
                       int out_fd,
                       GCancellable *cancellable,
                       GError **error)
{
  PlainSink sink = { .fd = out_fd };
  return sk_keyring_decrypt_to (self, cipher_fd, plain_sink_write, &sink, cancellable, error);
}

gboolean
sk_keyring_decrypt_to (SkKeyring *self,
                       int cipher_fd,
                       SkKeyringSink plain,
                       gpointer user_data,
                       GCancellable *cancellable,
                       GError **error)
{
  g_autoptr (SkPgpDecryptor) dec = sk_pgp_decryptor_new (plain, user_data);
  g_auto (FdReader) reader = { .fd = cipher_fd, .cancellable = cancellable, .n_polls = 1 };
  g_autofree guint8 *buf = g_malloc (DECRYPT_BLOCK);

  g_return_val_if_fail (SK_IS_KEYRING (self), FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  reader.polls[0].fd = cipher_fd;
  reader.polls[0].events = G_IO_IN | G_IO_HUP | G_IO_ERR;
  if (g_cancellable_make_pollfd (cancellable, &reader.polls[1]))
    reader.n_polls = 2;

  for (;;)
    {
      gpgme_ssize_t n = fd_reader_read (&reader, buf, DECRYPT_BLOCK);
      if (n < 0)
        {
          if (!g_cancellable_set_error_if_cancelled (cancellable, error))
            sk_error_set_from_errno (error, reader.read_errno, _ ("reading the encrypted message"));
          return FALSE;
        }
      if (n == 0)
        break;
      if (!sk_pgp_decryptor_feed (dec, buf, (gsize)n, error))
        return FALSE;
      if (sk_pgp_decryptor_wants_key (dec) && !obtain_session_key (self, dec, error))
        return FALSE;
    }
  if (!sk_pgp_decryptor_close_input (dec, error))
    return FALSE;
  if (sk_pgp_decryptor_wants_key (dec) && !obtain_session_key (self, dec, error))
    return FALSE;
  return sk_pgp_decryptor_finish (dec, error);
}

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
static char *
agent_socket_in_run_user (const char *home)
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
  g_autofree char *in_run = agent_socket_in_run_user (home);
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
  context_pool_drop (scratch->path);
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
      set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("reading the key file"));
      return NULL;
    }
  /* gpg writes the keyring (pubring.kbx, its ~ backup) with the mode our
   * umask allows, 0644 by default: every file of a station is 0600. */
  mode_t mask = umask (077);
  gerr = gpgme_op_import (ctx, in);
  umask (mask);
  result = gpgme_op_import_result (ctx);
  if (gpgme_err_code (gerr) == GPG_ERR_NO_DATA ||
      (gerr == 0 && (result == NULL || result->considered == 0)))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_KEY_REFUSED, _ ("the key file holds no OpenPGP key"));
      return NULL;
    }
  if (gerr != 0)
    {
      set_error_from_gpgme (error, gerr, SK_ERROR_KEY_REFUSED, _ ("importing keys"));
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
          set_error_from_gpgme (error, st->result, SK_ERROR_KEY_REFUSED, what);
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
      if ((st->status & GPGME_IMPORT_SECRET) && !fpr_equal (st->fpr, allowed))
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
      if (key->subkeys == NULL || !fpr_equal (key->subkeys->fpr, allowed))
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
      set_error_from_gpgme (error, gerr, SK_ERROR_KEY_REFUSED,
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
    ctx = context_make (scratch->path, error);
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

    ctx = context_new (self->homedir, error);
    if (ctx == NULL)
      return NULL;
    result = import_into (ctx, keydata, error);
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

/* ---- queries --------------------------------------------------------------- */

static gboolean
has_key (SkKeyring *self, const char *fpr, gboolean secret)
{
  g_autoptr (GError) error = NULL;
  g_auto (gpgme_key_t) key = NULL;

  if (!sk_fingerprint_is_valid (fpr))
    return FALSE;
  if (!find_key (self->homedir, fpr, secret, &key, &error))
    {
      g_debug ("looking up %s: %s", fpr, error->message);
      return FALSE;
    }
  /* Only a primary counts: a subkey's fingerprint names no key of ours. */
  return key != NULL && key->subkeys != NULL && fpr_equal (key->subkeys->fpr, fpr);
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

  g_autoptr (SkGpgContext) ctx = context_new (self->homedir, error);
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
      set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("listing secret keys"));
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
      set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("listing keys"));
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

  g_autoptr (SkGpgContext) ctx = context_new (self->homedir, error);
  if (ctx == NULL)
    return NULL;
  gerr = gpgme_data_new (&out);
  /* Mode 0: public keys only; GPGME_EXPORT_MODE_SECRET is never asked for. */
  if (gerr == 0)
    gerr = gpgme_op_export (ctx, NULL, 0, out);
  if (gerr != 0)
    {
      set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("exporting the public keys"));
      return NULL;
    }
  g_auto (SkGpgmeMem) mem = gpgme_data_release_and_get_mem (g_steal_pointer (&out), &mem_len);
  return g_bytes_new (mem != NULL ? (const char *)mem : "", mem != NULL ? mem_len : 0);
}
