/* sk-keyring-listing.c — GnuPG's listing and export of a home, as bytes
 *
 * The key cache (sk-keyring-cache.c) keeps what gpg printed, so that a
 * later process can read it again without running gpg.  So the listing is
 * not GPGME's keylist operation, whose output only GPGME sees, but the same
 * gpg run through GPGME's spawn engine, its colon output kept as bytes and
 * read here into the gpgme_key_t GPGME would have made of it: one parser
 * for a listing made now and one read back from the cache file.
 *
 * WHAT IS READ.  Of each key, what GPGME 1.18's keylist reads from the
 * pub, sub, fpr and grp records (keylist.c: trust letters, length,
 * algorithm, key id, creation and expiry, capabilities, curve,
 * fingerprint, ownertrust; keygrips only when gpg prints them, which this
 * listing does not ask for, as GPGME's does not), with GPGME's meaning for each letter.
 * User ids are not read: nothing judged through the cache looks at them
 * (the key list of the station is GPGME's own listing, sk-keyring.c).
 * test-keyring-cache compares every field with GPGME's keylist of the same
 * home.  The objects are made the way GPGME makes them (calloc, strdup, a
 * reference count of one), so gpgme_key_ref/unref work on them as on any.
 */
#define G_LOG_DOMAIN "sekisho-keyring"

#include "config.h"

#include <glib/gi18n-lib.h>
#include <stdlib.h>
#include <string.h>

#include "sk-keyring-private.h"

/* Bounds on what gpg may print for one home: far above a station's few
 * keys, far below what would hurt. */
#define MAX_OUTPUT (8 * 1024 * 1024)

/* The argv of a gpg run on HOMEDIR: the options GPGME gives every run,
 * then ARGS. */
static GPtrArray *
gpg_argv (const char *homedir, const char *const *args)
{
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup ("gpg"));
  g_ptr_array_add (argv, g_strdup ("--homedir"));
  g_ptr_array_add (argv, g_strdup (homedir));
  g_ptr_array_add (argv, g_strdup ("--batch"));
  g_ptr_array_add (argv, g_strdup ("--no-tty"));
  /* Never reach the network (gpg.conf says so too; GPGME's offline flag). */
  g_ptr_array_add (argv, g_strdup ("--disable-dirmngr"));
  for (gsize i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);
  return argv;
}

GBytes *
_sk_keyring_run_gpg (const char *homedir, const char *const *args, GError **error)
{
  if (!_sk_keyring_ensure_gpgme (error))
    return NULL;
  g_auto (gpgme_ctx_t) ctx = NULL;
  g_auto (gpgme_data_t) out = NULL;
  gpgme_error_t gerr = gpgme_new (&ctx);
  if (gerr == 0)
    gerr = gpgme_set_protocol (ctx, GPGME_PROTOCOL_SPAWN);
  if (gerr == 0)
    gerr = gpgme_data_new (&out);
  g_autoptr (GPtrArray) argv = gpg_argv (homedir, args);
  if (gerr == 0)
    gerr = gpgme_op_spawn (ctx, SK_GPG_PATH, (const char **)argv->pdata, NULL, out, NULL, 0);
  if (gerr != 0)
    {
      _sk_keyring_set_error_from_gpgme (error, gerr, SK_ERROR_IO_ERROR, _ ("running gpg"));
      return NULL;
    }
  size_t len = 0;
  g_auto (SkGpgmeMem) mem = gpgme_data_release_and_get_mem (g_steal_pointer (&out), &len);
  if (len > MAX_OUTPUT)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("gpg printed more than %u bytes"),
                   (guint)MAX_OUTPUT);
      return NULL;
    }
  return g_bytes_new (mem != NULL ? mem : "", mem != NULL ? len : 0);
}

GBytes *
_sk_keyring_run_listing (const char *homedir, GError **error)
{
  static const char *const args[] = { "--with-colons",      "--fixed-list-mode",
                                      "--with-fingerprint", "--with-fingerprint",
                                      "--list-keys",        NULL };
  return _sk_keyring_run_gpg (homedir, args, error);
}

GBytes *
_sk_keyring_run_export (const char *homedir, GError **error)
{
  /* Public keys only: never --export-secret-keys. */
  static const char *const args[] = { "--export-options", "export-minimal", "--export", NULL };
  return _sk_keyring_run_gpg (homedir, args, error);
}

/* ---- the colon listing ----------------------------------------------------- */

/* GPGME's _gpgme_map_pk_algo for OpenPGP. */
static gpgme_pubkey_algo_t
map_pk_algo (int algo)
{
  switch (algo)
    {
    case 1:
    case 2:
    case 3:
    case 16:
    case 17:
    case 20:
      return (gpgme_pubkey_algo_t)algo;
    case 18:
      return GPGME_PK_ECDH;
    case 19:
      return GPGME_PK_ECDSA;
    case 22:
      return GPGME_PK_EDDSA;
    default:
      return (gpgme_pubkey_algo_t)0;
    }
}

/* A time field: seconds since the epoch, or empty (0).  gpg 2.2 prints
 * nothing else with --with-colons; anything else is refused. */
static gboolean
parse_time (const char *field, long int *out)
{
  *out = 0;
  if (*field == '\0')
    return TRUE;
  guint64 v = 0;
  if (!g_ascii_string_to_unsigned (field, 10, 0, G_MAXLONG, &v, NULL))
    return FALSE;
  *out = (long int)v;
  return TRUE;
}

static void
set_subkey_trust (gpgme_subkey_t sk, const char *src)
{
  for (; *src != '\0' && !g_ascii_isdigit (*src); src++)
    switch (*src)
      {
      case 'e':
        sk->expired = 1;
        break;
      case 'r':
        sk->revoked = 1;
        break;
      case 'd':
        sk->disabled = 1;
        break;
      case 'i':
        sk->invalid = 1;
        break;
      default:
        break;
      }
}

static void
set_key_trust (gpgme_key_t key, const char *src)
{
  set_subkey_trust (key->subkeys, src);
  for (; *src != '\0' && !g_ascii_isdigit (*src); src++)
    switch (*src)
      {
      case 'e':
        key->expired = 1;
        break;
      case 'r':
        key->revoked = 1;
        break;
      case 'd':
        key->disabled = 1;
        break;
      case 'i':
        key->invalid = 1;
        break;
      default:
        break;
      }
}

static void
set_subkey_caps (gpgme_subkey_t sk, const char *src)
{
  for (; *src != '\0'; src++)
    switch (*src)
      {
      case 'e':
        sk->can_encrypt = 1;
        break;
      case 's':
        sk->can_sign = 1;
        break;
      case 'c':
        sk->can_certify = 1;
        break;
      case 'a':
        sk->can_authenticate = 1;
        break;
      case 'q':
        sk->is_qualified = 1;
        break;
      case 'd':
        sk->disabled = 1;
        break;
      default:
        break;
      }
}

/* Of the primary, the key's: upper or lower case alike (GPGME's
 * set_mainkey_capability), so an expired or revoked key, whose capital
 * letters gpg leaves out, keeps its own. */
static void
set_key_caps (gpgme_key_t key, const char *src)
{
  set_subkey_caps (key->subkeys, src);
  for (; *src != '\0'; src++)
    switch (*src)
      {
      case 'd':
      case 'D':
        key->disabled = 1;
        break;
      case 'e':
      case 'E':
        key->can_encrypt = 1;
        break;
      case 's':
      case 'S':
        key->can_sign = 1;
        break;
      case 'c':
      case 'C':
        key->can_certify = 1;
        break;
      case 'a':
      case 'A':
        key->can_authenticate = 1;
        break;
      case 'q':
      case 'Q':
        key->is_qualified = 1;
        break;
      default:
        break;
      }
}

/* Letters up to the first digit; the last one counts. */
static gpgme_validity_t
owner_trust (const char *src)
{
  gpgme_validity_t out = GPGME_VALIDITY_UNKNOWN;
  for (; *src != '\0' && !g_ascii_isdigit (*src); src++)
    switch (*src)
      {
      case 'n':
        out = GPGME_VALIDITY_NEVER;
        break;
      case 'm':
        out = GPGME_VALIDITY_MARGINAL;
        break;
      case 'f':
        out = GPGME_VALIDITY_FULL;
        break;
      case 'u':
        out = GPGME_VALIDITY_ULTIMATE;
        break;
      default:
        out = GPGME_VALIDITY_UNKNOWN;
        break;
      }
  return out;
}

/* A pub or sub record (FIELDS, N of them) onto SK. */
static gboolean
read_key_record (gpgme_subkey_t sk, char **fields, guint n)
{
  if (n < 12)
    return FALSE;
  guint64 v = 0;
  if (g_ascii_string_to_unsigned (fields[2], 10, 2, G_MAXUINT, &v, NULL))
    sk->length = (unsigned int)v;
  if (g_ascii_string_to_unsigned (fields[3], 10, 1, 127, &v, NULL))
    sk->pubkey_algo = map_pk_algo ((int)v);
  if (strlen (fields[4]) == sizeof sk->_keyid - 1)
    memcpy (sk->_keyid, fields[4], sizeof sk->_keyid);
  if (!parse_time (fields[5], &sk->timestamp) || !parse_time (fields[6], &sk->expires))
    return FALSE;
  if (n >= 17 && fields[16][0] != '\0' && (sk->curve = strdup (fields[16])) == NULL)
    return FALSE;
  return TRUE;
}

static gpgme_subkey_t
subkey_new (gpgme_key_t key)
{
  gpgme_subkey_t sk = calloc (1, sizeof *sk);
  if (sk == NULL)
    return NULL;
  sk->keyid = sk->_keyid;
  if (key->subkeys == NULL)
    key->subkeys = sk;
  if (key->_last_subkey != NULL)
    key->_last_subkey->next = sk;
  key->_last_subkey = sk;
  return sk;
}

static gpgme_key_t
key_new (void)
{
  gpgme_key_t key = calloc (1, sizeof *key);
  if (key == NULL)
    return NULL;
  key->_refs = 1;
  key->protocol = GPGME_PROTOCOL_OpenPGP;
  key->keylist_mode = GPGME_KEYLIST_MODE_LOCAL;
  return key;
}

gboolean
_sk_keyring_parse_listing (GBytes *listing, GPtrArray **out_keys, GError **error)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (listing, &len);
  *out_keys = NULL;
  /* An empty listing has no data pointer at all (memchr's is never NULL). */
  if (len > 0 && memchr (data, '\0', len) != NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("GnuPG's key listing is not text"));
      return FALSE;
    }
  g_autofree char *text = g_strndup (len > 0 ? data : "", len);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify)gpgme_key_unref);
  gpgme_key_t key = NULL; /* the last of KEYS */

  for (gsize i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) fields = g_strsplit (lines[i], ":", -1);
      guint n = g_strv_length (fields);
      gboolean ok = TRUE;
      if (n == 0 || lines[i][0] == '\0')
        continue;
      if (strcmp (fields[0], "pub") == 0)
        {
          key = key_new ();
          ok = key != NULL;
          if (ok)
            g_ptr_array_add (keys, key);
          ok = ok && subkey_new (key) != NULL && read_key_record (key->subkeys, fields, n);
          if (ok)
            {
              set_key_trust (key, fields[1]);
              key->owner_trust = owner_trust (fields[8]);
              set_key_caps (key, fields[11]);
            }
        }
      else if (strcmp (fields[0], "sub") == 0 && key != NULL)
        {
          gpgme_subkey_t sk = subkey_new (key);
          ok = sk != NULL && read_key_record (sk, fields, n);
          if (ok)
            {
              set_subkey_trust (sk, fields[1]);
              set_subkey_caps (sk, fields[11]);
            }
        }
      else if (strcmp (fields[0], "fpr") == 0 && key != NULL && n >= 10 && fields[9][0] != '\0')
        {
          /* The first fingerprint of the last subkey; the primary's is
           * also the key's. */
          gpgme_subkey_t sk = key->_last_subkey;
          if (sk->fpr == NULL)
            ok = (sk->fpr = strdup (fields[9])) != NULL;
          if (ok && sk == key->subkeys && key->fpr == NULL)
            ok = (key->fpr = strdup (fields[9])) != NULL;
        }
      else if (strcmp (fields[0], "grp") == 0 && key != NULL && n >= 10 && fields[9][0] != '\0')
        {
          gpgme_subkey_t sk = key->_last_subkey;
          if (sk->keygrip == NULL)
            ok = (sk->keygrip = strdup (fields[9])) != NULL;
        }
      if (!ok)
        {
          g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR,
                       _ ("GnuPG's key listing is damaged at line %u"), (guint)i + 1);
          return FALSE;
        }
    }
  /* Every key and subkey names its fingerprint: the cache finds keys by it. */
  for (guint k = 0; k < keys->len; k++)
    {
      gpgme_key_t each = keys->pdata[k];
      for (gpgme_subkey_t sk = each->subkeys; sk != NULL; sk = sk->next)
        if (sk->fpr == NULL || sk->keyid[0] == '\0')
          {
            g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR,
                         _ ("GnuPG's key listing names a key without its fingerprint"));
            return FALSE;
          }
    }
  *out_keys = g_steal_pointer (&keys);
  return TRUE;
}
