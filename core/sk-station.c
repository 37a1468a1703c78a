/* sk-station.c — create and open a station directory */
#define G_LOG_DOMAIN "sekisho-station"

#include "config.h"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <string.h>
#include <fcntl.h>
#include <gio/gunixinputstream.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <pwd.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-fault.h"
#include "sk-station.h"

#define STATION_FORMAT "sekisho-station/1"
#define MAX_KEYFILE_SIZE (1024 * 1024)

struct _SkStation
{
  GObject parent_instance;

  char *dir;
  char *name;
  char *signing_key;
  GStrv admin_keys;         /* the pin: who may sign the next policy */
  GStrv retired_admin_keys; /* a rotated-out admin whose policy is still in force */
  gint64 policy_serial;     /* the highest serial ever installed; 0: none */
  SkKeyring *keyring;
  SkJournal *journal; /* opened on first use */
};

G_DEFINE_FINAL_TYPE (SkStation, sk_station, G_TYPE_OBJECT)

static void
sk_station_finalize (GObject *object)
{
  SkStation *self = SK_STATION (object);

  g_free (self->dir);
  g_free (self->name);
  g_free (self->signing_key);
  g_strfreev (self->admin_keys);
  g_strfreev (self->retired_admin_keys);
  g_clear_object (&self->keyring);
  g_clear_object (&self->journal);

  G_OBJECT_CLASS (sk_station_parent_class)->finalize (object);
}

static void
sk_station_class_init (SkStationClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sk_station_finalize;
}

static void
sk_station_init (SkStation *self)
{
}

static gboolean
make_private_dir (const char *path, GError **error)
{
  if (g_mkdir (path, 0700) != 0 && errno != EEXIST)
    {
      int errsv = errno;
      g_autofree char *what = g_strdup_printf (_ ("creating %s"), path);
      sk_error_set_from_errno (error, errsv, what);
      return FALSE;
    }
  if (g_chmod (path, 0700) != 0)
    {
      int errsv = errno;
      g_autofree char *what = g_strdup_printf (_ ("setting the mode of %s"), path);
      sk_error_set_from_errno (error, errsv, what);
      return FALSE;
    }
  return TRUE;
}

static gboolean
dir_is_empty (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  return dir == NULL || g_dir_read_name (dir) == NULL;
}

const char *
sk_station_login (void)
{
  /* Who this process's user is, asked in the one place that asks
   * (sk-actor.c). */
  return sk_actor_for_process (SK_ROLE_NONE)->login;
}

gboolean
sk_station_journal_action (SkStation *self,
                           const SkActor *actor,
                           const char *event,
                           const GError *refusal,
                           const char *details,
                           GError **error)
{
  g_autoptr (SkJournal) journal = sk_station_open_journal (self, FALSE, error);
  if (journal == NULL)
    return FALSE;
  SkJournalEntry entry = {
    .event = event,
    .outcome = refusal == NULL
                   ? "ok"
                   : (sk_error_get_exit_class (refusal) == SK_EXIT_REFUSED ? "refused" : "failed"),
    .reason = refusal != NULL ? sk_error_get_reason (refusal) : NULL,
    .uid = actor->uid,
    .login = actor->login,
    .role = actor->role,
    .details = details,
  };
  return sk_journal_record (journal, &entry, error) != 0;
}

SkStation *
sk_station_create (const char *dir,
                   const char *admin_fpr,
                   const char *signing_fpr,
                   const char *name,
                   const SkActor *actor,
                   GError **error)
{
  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (actor != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autofree char *admin = admin_fpr != NULL ? sk_fingerprint_normalize (admin_fpr) : NULL;
  g_autofree char *signing = signing_fpr != NULL ? sk_fingerprint_normalize (signing_fpr) : NULL;
  if (admin == NULL || signing == NULL)
    {
      g_set_error_literal (
          error, SK_ERROR, SK_ERROR_USAGE,
          _ ("--admin-key and --signing-key must be fingerprints of 40 hex digits"));
      return NULL;
    }
  if (g_file_test (dir, G_FILE_TEST_EXISTS) && !dir_is_empty (dir))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_STATION_INVALID,
                   _ ("%s exists and is not empty; a station is made in a new directory"), dir);
      return NULL;
    }
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int errsv = errno;
      g_autofree char *what = g_strdup_printf (_ ("creating %s"), dir);
      sk_error_set_from_errno (error, errsv, what);
      return NULL;
    }

  g_autofree char *gnupg = g_build_filename (dir, "gnupg", NULL);
  g_autofree char *store = g_build_filename (dir, "store", NULL);
  g_autofree char *policy = g_build_filename (dir, "policy", NULL);
  g_autofree char *checkpoints = g_build_filename (dir, "checkpoints", NULL);
  if (!make_private_dir (dir, error) || !sk_keyring_init_home (gnupg, error) ||
      !make_private_dir (store, error) || !make_private_dir (policy, error) ||
      !make_private_dir (checkpoints, error))
    return NULL;

  g_autoptr (GKeyFile) conf = g_key_file_new ();
  const char *admins[] = { admin, NULL };
  g_key_file_set_string (conf, "station", "format", STATION_FORMAT);
  g_key_file_set_string (conf, "station", "name", name != NULL ? name : g_get_host_name ());
  g_key_file_set_string_list (conf, "station", "admin-keys", admins, 1);
  g_key_file_set_string (conf, "station", "signing-key", signing);
  g_autofree char *data = g_key_file_to_data (conf, NULL, NULL);
  g_autofree char *conf_path = g_build_filename (dir, "station.conf", NULL);
  if (!g_file_set_contents_full (conf_path, data, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
                                 error))
    return NULL;

  g_autoptr (SkStation) station = sk_station_open (dir, error);
  if (station == NULL)
    return NULL;
  g_autofree char *details =
      g_strdup_printf ("{\"name\":\"%s\",\"admin_keys\":[\"%s\"],\"signing_key\":\"%s\"}",
                       station->name, admin, signing);
  if (!sk_station_journal_action (station, actor, "station-created", NULL, details, error))
    return NULL;
  return g_steal_pointer (&station);
}

SkStation *
sk_station_open (const char *dir, GError **error)
{
  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autofree char *conf_path = g_build_filename (dir, "station.conf", NULL);
  g_autoptr (GKeyFile) conf = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;
  if (!g_key_file_load_from_file (conf, conf_path, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_STATION_INVALID,
                   _ ("no station at %s (%s); make one with “sekisho station init”"), dir,
                   local_error->message);
      return NULL;
    }

  g_autofree char *format = g_key_file_get_string (conf, "station", "format", NULL);
  g_autofree char *signing = g_key_file_get_string (conf, "station", "signing-key", NULL);
  g_auto (GStrv) admins = g_key_file_get_string_list (conf, "station", "admin-keys", NULL, NULL);
  if (format == NULL || !g_str_equal (format, STATION_FORMAT) || signing == NULL ||
      !sk_fingerprint_is_valid (signing) || admins == NULL || admins[0] == NULL)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_STATION_INVALID, _ ("%s is not a %s configuration"),
                   conf_path, STATION_FORMAT);
      return NULL;
    }
  for (guint i = 0; admins[i] != NULL; i++)
    if (!sk_fingerprint_is_valid (admins[i]))
      {
        g_set_error (error, SK_ERROR, SK_ERROR_STATION_INVALID,
                     _ ("%s: admin-keys holds something that is not a fingerprint"), conf_path);
        return NULL;
      }

  g_auto (GStrv) retired =
      g_key_file_get_string_list (conf, "station", "retired-admin-keys", NULL, NULL);
  for (guint i = 0; retired != NULL && retired[i] != NULL; i++)
    if (!sk_fingerprint_is_valid (retired[i]))
      {
        g_set_error (error, SK_ERROR, SK_ERROR_STATION_INVALID,
                     _ ("%s: retired-admin-keys holds something that is not a fingerprint"),
                     conf_path);
        return NULL;
      }
  gint64 policy_serial = 0;
  if (g_key_file_has_key (conf, "station", "policy-serial", NULL))
    {
      policy_serial = g_key_file_get_int64 (conf, "station", "policy-serial", &local_error);
      if (local_error != NULL || policy_serial < 0)
        {
          g_set_error (error, SK_ERROR, SK_ERROR_STATION_INVALID,
                       _ ("%s: policy-serial is not a serial"), conf_path);
          return NULL;
        }
    }

  g_autofree char *gnupg = g_build_filename (dir, "gnupg", NULL);
  g_autoptr (SkKeyring) keyring = sk_keyring_new (gnupg, error);
  if (keyring == NULL)
    return NULL;

  SkStation *self = g_object_new (SK_TYPE_STATION, NULL);
  self->dir = g_strdup (dir);
  self->name = g_key_file_get_string (conf, "station", "name", NULL);
  self->signing_key = g_steal_pointer (&signing);
  self->admin_keys = g_steal_pointer (&admins);
  self->retired_admin_keys = retired != NULL ? g_steal_pointer (&retired) : g_new0 (char *, 1);
  self->policy_serial = policy_serial;
  self->keyring = g_steal_pointer (&keyring);
  return self;
}

const char *
sk_station_get_dir (SkStation *self)
{
  g_return_val_if_fail (SK_IS_STATION (self), NULL);
  return self->dir;
}

const char *
sk_station_get_name (SkStation *self)
{
  g_return_val_if_fail (SK_IS_STATION (self), NULL);
  return self->name;
}

const char *
sk_station_get_signing_key (SkStation *self)
{
  g_return_val_if_fail (SK_IS_STATION (self), NULL);
  return self->signing_key;
}

const char *const *
sk_station_get_admin_keys (SkStation *self)
{
  g_return_val_if_fail (SK_IS_STATION (self), NULL);
  return (const char *const *)self->admin_keys;
}

SkKeyring *
sk_station_get_keyring (SkStation *self)
{
  g_return_val_if_fail (SK_IS_STATION (self), NULL);
  return self->keyring;
}

SkPolicy *
sk_station_check_policy (SkStation *self, const char *policy_path, GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (self), NULL);
  return sk_policy_load (self->keyring, (const char *const *)self->admin_keys, policy_path, error);
}

static gboolean
write_durable (const char *path, GBytes *bytes, GError **error)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  return g_file_set_contents_full (path, data, (gssize)len,
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                   0600, error);
}

typedef struct
{
  gint64 installed_serial; /* before this install; 0: none */
  char *rotated_from;      /* the admin whose pin moved, or NULL */
} InstallOutcome;

static SkPolicy *
install_policy (SkStation *self, const char *policy_path, InstallOutcome *outcome, GError **error);

SkPolicy *
sk_station_install_policy (SkStation *self,
                           const SkActor *actor,
                           const char *policy_path,
                           GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (self), NULL);
  g_return_val_if_fail (actor != NULL, NULL);

  g_autoptr (GError) local_error = NULL;
  InstallOutcome outcome = { 0, NULL };
  g_autoptr (SkPolicy) policy = install_policy (self, policy_path, &outcome, &local_error);
  g_autofree char *rotated_from = outcome.rotated_from;
  g_autofree char *details = NULL;
  if (policy != NULL)
    details = g_strdup_printf ("{\"sha256\":\"%s\",\"serial\":%" G_GINT64_FORMAT
                               ",\"installed_serial\":%" G_GINT64_FORMAT ",\"signer\":\"%s\"}",
                               sk_policy_get_sha256 (policy), sk_policy_get_serial (policy),
                               outcome.installed_serial, sk_policy_get_signer (policy));
  else if (outcome.installed_serial > 0)
    details =
        g_strdup_printf ("{\"installed_serial\":%" G_GINT64_FORMAT "}", outcome.installed_serial);
  if (!sk_station_journal_action (self, actor,
                                  policy != NULL ? "policy-installed" : "policy-refused",
                                  local_error, details, error))
    return NULL;
  if (policy == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if (rotated_from != NULL)
    {
      g_autofree char *rotation =
          g_strdup_printf ("{\"from\":\"%s\",\"to\":\"%s\",\"policy\":\"%s\"}", rotated_from,
                           sk_policy_get_admin_successor (policy), sk_policy_get_sha256 (policy));
      if (!sk_station_journal_action (self, actor, "admin-key-rotated", NULL, rotation, error))
        return NULL;
    }
  return g_steal_pointer (&policy);
}

/* The policy in force and the serial to beat: the higher of the serial
 * station.conf remembers and the current policy's own.  A current policy
 * that does not load leaves the remembered serial alone in charge. */
static gint64
installed_serial (SkStation *self, char **out_current_sha)
{
  gint64 serial = self->policy_serial;
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPolicy) current = sk_station_load_policy (self, &error);

  *out_current_sha = NULL;
  if (current == NULL)
    {
      g_debug ("no current policy to compare with: %s", error->message);
      return serial;
    }
  *out_current_sha = g_strdup (sk_policy_get_sha256 (current));
  return MAX (serial, sk_policy_get_serial (current));
}

/* Remember SERIAL and, when POLICY names a successor, move the pin to it;
 * the admin it leaves stays trusted for the policy in force only. */
static gboolean
update_conf (
    SkStation *self, SkPolicy *policy, gint64 serial, char **out_rotated_from, GError **error)
{
  g_autofree char *conf_path = g_build_filename (self->dir, "station.conf", NULL);
  g_autoptr (GKeyFile) conf = g_key_file_new ();
  if (!g_key_file_load_from_file (conf, conf_path, G_KEY_FILE_KEEP_COMMENTS, error))
    return FALSE;

  const char *signer = sk_policy_get_signer (policy);
  const char *successor = sk_policy_get_admin_successor (policy);
  gboolean rotate = successor != NULL && !g_str_equal (successor, signer);
  const char *pin[] = { successor, NULL };
  const char *retired[] = { signer, NULL };

  g_key_file_set_int64 (conf, "station", "policy-serial", serial);
  if (rotate)
    {
      g_key_file_set_string_list (conf, "station", "admin-keys", pin, 1);
      g_key_file_set_string_list (conf, "station", "retired-admin-keys", retired, 1);
    }
  else
    (void)g_key_file_remove_key (conf, "station", "retired-admin-keys", NULL);

  g_autofree char *data = g_key_file_to_data (conf, NULL, NULL);
  sk_fault_point ("policy-install-before-conf");
  if (!g_file_set_contents_full (conf_path, data, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
                                 error))
    return FALSE;

  self->policy_serial = serial;
  g_strfreev (self->retired_admin_keys);
  if (rotate)
    {
      g_strfreev (self->admin_keys);
      self->admin_keys = g_strdupv ((char **)pin);
      self->retired_admin_keys = g_strdupv ((char **)retired);
      *out_rotated_from = g_strdup (signer);
    }
  else
    self->retired_admin_keys = g_new0 (char *, 1);
  return TRUE;
}

static SkPolicy *
install_policy (SkStation *self, const char *policy_path, InstallOutcome *outcome, GError **error)
{
  g_autoptr (SkPolicy) policy = sk_station_check_policy (self, policy_path, error);
  if (policy == NULL)
    return NULL;

  /* Never back: an older (or another policy of the same) serial would undo
   * what its successor fixed.  Installing the policy in force again is
   * allowed, so that an install a crash cut short can finish. */
  g_autofree char *current_sha = NULL;
  gint64 serial = sk_policy_get_serial (policy);
  outcome->installed_serial = installed_serial (self, &current_sha);
  gboolean again = current_sha != NULL && g_str_equal (current_sha, sk_policy_get_sha256 (policy));
  if (!again && serial <= outcome->installed_serial)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_POLICY_ROLLBACK,
                   _ ("the policy's serial %lld is not greater than the installed policy's serial "
                      "%lld; an older policy is never installed again"),
                   (long long)serial, (long long)outcome->installed_serial);
      return NULL;
    }

  /* The signature file is read again to copy it; the copy is verified once
   * more below, by loading what was installed, before it is made current. */
  g_autofree char *sig_path = g_strconcat (policy_path, ".sig", NULL);
  g_autoptr (GMappedFile) sig = g_mapped_file_new (sig_path, FALSE, error);
  if (sig == NULL)
    return NULL;
  g_autoptr (GBytes) sig_bytes = g_mapped_file_get_bytes (sig);

  const char *sha = sk_policy_get_sha256 (policy);
  g_autofree char *vdir = g_build_filename (self->dir, "policy", sha, NULL);
  g_autofree char *json_out = g_build_filename (vdir, "policy.json", NULL);
  g_autofree char *sig_out = g_build_filename (vdir, "policy.json.sig", NULL);
  if (!make_private_dir (vdir, error) ||
      !write_durable (json_out, sk_policy_get_bytes (policy), error))
    return NULL;
  sk_fault_point ("policy-install-before-sig");
  if (!write_durable (sig_out, sig_bytes, error))
    return NULL;
  sk_fault_point ("policy-install-before-link");

  g_autoptr (SkPolicy) installed = sk_station_check_policy (self, json_out, error);
  if (installed == NULL)
    return NULL;

  /* Swap the link in one rename. */
  g_autofree char *link_tmp = g_build_filename (self->dir, "policy", ".current.tmp", NULL);
  g_autofree char *link_path = g_build_filename (self->dir, "policy", "current", NULL);
  (void)g_unlink (link_tmp);
  if (symlink (sha, link_tmp) != 0)
    {
      int errsv = errno;
      sk_error_set_from_errno (error, errsv, _ ("making the policy current"));
      return NULL;
    }
  sk_fault_point ("policy-install-before-rename");
  if (g_rename (link_tmp, link_path) != 0)
    {
      int errsv = errno;
      sk_error_set_from_errno (error, errsv, _ ("making the policy current"));
      return NULL;
    }
  sk_fault_point ("policy-install-before-dirsync");
  g_autofree char *policy_dir = g_build_filename (self->dir, "policy", NULL);
  int dfd = open (policy_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    {
      (void)fsync (dfd);
      close (dfd);
    }
  if (!update_conf (self, installed, MAX (serial, outcome->installed_serial),
                    &outcome->rotated_from, error))
    return NULL;
  return g_steal_pointer (&installed);
}

SkPolicy *
sk_station_load_policy (SkStation *self, GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (self), NULL);

  g_autofree char *path = g_build_filename (self->dir, "policy", "current", "policy.json", NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_STATION_INVALID,
                   _ ("station %s has no policy installed; install one with “sekisho policy "
                      "install”"),
                   self->dir);
      return NULL;
    }
  /* The policy in force may be signed by the admin a rotation retired: it
   * stays in force until its successor installs the next one. */
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_strv_builder_addv (builder, (const char **)self->admin_keys);
  g_strv_builder_addv (builder, (const char **)self->retired_admin_keys);
  g_auto (GStrv) trusted = g_strv_builder_end (builder);
  return sk_policy_load (self->keyring, (const char *const *)trusted, path, error);
}

static GPtrArray *
import_keys (SkStation *self, const char *path, GError **error);

GPtrArray *
sk_station_import_keys (SkStation *self, const SkActor *actor, const char *path, GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (self), NULL);
  g_return_val_if_fail (actor != NULL, NULL);

  g_autoptr (GError) local_error = NULL;
  g_autoptr (GPtrArray) fprs = import_keys (self, path, &local_error);
  g_autoptr (GString) details = g_string_new ("{\"fingerprints\":[");
  for (guint i = 0; fprs != NULL && i < fprs->len; i++)
    g_string_append_printf (details, "%s\"%s\"", i > 0 ? "," : "",
                            (const char *)g_ptr_array_index (fprs, i));
  g_string_append (details, "]}");
  if (!sk_station_journal_action (self, actor, fprs != NULL ? "key-imported" : "key-refused",
                                  local_error, details->str, error))
    return NULL;
  if (fprs == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  return g_steal_pointer (&fprs);
}

static GPtrArray *
import_keys (SkStation *self, const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  GStatBuf st;
  if (g_stat (path, &st) == 0 && st.st_size > MAX_KEYFILE_SIZE)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_KEY_REFUSED, _ ("%s is larger than %d bytes"), path,
                   MAX_KEYFILE_SIZE);
      return NULL;
    }
  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;
  g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&contents), len);
  return sk_keyring_import (self->keyring, bytes, self->signing_key, error);
}

SkJournal *
sk_station_open_journal (SkStation *self, gboolean read_only, GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (self), NULL);

  if (!read_only && self->journal != NULL)
    return g_object_ref (self->journal);

  g_autofree char *path = g_build_filename (self->dir, "station.db", NULL);
  if (read_only && !g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, SK_ERROR, SK_ERROR_STATION_INVALID, _ ("station %s has no journal yet"),
                   self->dir);
      return NULL;
    }
  g_autoptr (SkDb) db = sk_db_open (path, read_only ? SK_DB_READ_ONLY : SK_DB_READ_WRITE, error);
  if (db == NULL)
    return NULL;
  if (read_only)
    return sk_journal_open_read_only (db, error);
  self->journal = sk_journal_new (db, self->name, error);
  return self->journal != NULL ? g_object_ref (self->journal) : NULL;
}

char *
sk_station_make_checkpoint (SkStation *self, const SkActor *actor, GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (self), NULL);
  g_return_val_if_fail (actor != NULL, NULL);

  g_autoptr (SkJournal) journal = sk_station_open_journal (self, FALSE, error);
  if (journal == NULL)
    return NULL;
  g_autoptr (GBytes) sig = NULL;
  g_autoptr (GBytes) cp = sk_journal_make_checkpoint (journal, self->keyring, self->name,
                                                      self->signing_key, &sig, error);
  if (cp == NULL)
    return NULL;
  gint64 seq;
  if (!sk_journal_head (journal, &seq, NULL, error))
    return NULL;

  g_autofree char *name = g_strdup_printf ("%012" G_GINT64_FORMAT ".json", seq);
  g_autofree char *cp_dir = g_build_filename (self->dir, "checkpoints", NULL);
  g_autofree char *path = g_build_filename (cp_dir, name, NULL);
  if (!make_private_dir (cp_dir, error))
    return NULL;
  g_autofree char *sig_path = g_strconcat (path, ".sig", NULL);
  /* The signature first: a checkpoint is looked for by its .json, which
   * therefore never exists without its signature. */
  if (!write_durable (sig_path, sig, error))
    return NULL;
  sk_fault_point ("checkpoint-before-json");
  if (!write_durable (path, cp, error))
    return NULL;
  sk_fault_point ("checkpoint-before-journal");
  g_autofree char *details =
      g_strdup_printf ("{\"seq\":%" G_GINT64_FORMAT ",\"file\":\"%s\"}", seq, name);
  if (!sk_station_journal_action (self, actor, "checkpoint-made", NULL, details, error))
    return NULL;
  return g_steal_pointer (&path);
}

char *
sk_station_latest_checkpoint (SkStation *self)
{
  g_return_val_if_fail (SK_IS_STATION (self), NULL);

  g_autofree char *dir_path = g_build_filename (self->dir, "checkpoints", NULL);
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  g_autofree char *best = NULL;
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      /* Names are zero-padded seq numbers: the greatest is the newest. */
      if (!g_str_has_suffix (name, ".json") || strlen (name) != 17)
        continue;
      if (best == NULL || strcmp (name, best) > 0)
        {
          g_free (best);
          best = g_strdup (name);
        }
    }
  return best != NULL ? g_build_filename (dir_path, best, NULL) : NULL;
}

/* A small file of the station's, never through a link. */
static GBytes *
read_small (const char *path, GError **error)
{
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    {
      int errsv = errno;
      g_autofree char *what = g_strdup_printf (_ ("opening %s"), path);
      sk_error_set_from_errno (error, errsv, what);
      return NULL;
    }
  g_autoptr (GInputStream) in = g_unix_input_stream_new (fd, TRUE);
  struct stat st;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size > SK_CHECKPOINT_MAX_SIZE)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID,
                   _ ("%s is not a checkpoint file of at most %d bytes"), path,
                   SK_CHECKPOINT_MAX_SIZE);
      return NULL;
    }
  /* All of it, however the reads come. */
  gsize len = (gsize)st.st_size, got = 0;
  g_autofree char *data = g_malloc (len + 1);
  if (!g_input_stream_read_all (in, data, len, &got, NULL, error))
    return NULL;
  return g_bytes_new_take (g_steal_pointer (&data), got);
}

gboolean
sk_station_read_checkpoint (const char *path,
                            GBytes **out_checkpoint,
                            GBytes **out_signature,
                            GError **error)
{
  g_autofree char *sig_path = g_strconcat (path, ".sig", NULL);
  g_autoptr (GBytes) cp = read_small (path, error);
  g_autoptr (GBytes) sig = cp != NULL ? read_small (sig_path, error) : NULL;
  if (sig == NULL)
    return FALSE;
  *out_checkpoint = g_steal_pointer (&cp);
  *out_signature = g_steal_pointer (&sig);
  return TRUE;
}

gboolean
sk_station_judge_checkpoint (SkStation *self,
                             SkJournal *journal,
                             GBytes *checkpoint,
                             GBytes *signature,
                             gint64 *out_seq,
                             SkCheckpointVerdict *out_verdict,
                             GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (self), FALSE);

  return sk_journal_judge_checkpoint (journal, self->keyring, self->name != NULL ? self->name : "",
                                      self->signing_key, checkpoint, signature, out_seq,
                                      out_verdict, error);
}

gboolean
sk_station_check_latest_checkpoint (SkStation *self,
                                    SkJournal *journal,
                                    gint64 *out_seq,
                                    GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (self), FALSE);

  *out_seq = -1;
  g_autofree char *path = sk_station_latest_checkpoint (self);
  if (path == NULL)
    return TRUE;
  g_autoptr (GBytes) cp = NULL, sig = NULL;
  g_autoptr (GError) read_error = NULL;
  if (!sk_station_read_checkpoint (path, &cp, &sig, &read_error))
    {
      /* An unreadable checkpoint is a finding about the record. */
      g_set_error (error, SK_ERROR, SK_ERROR_JOURNAL_INVALID,
                   _ ("the checkpoint cannot be read: %s"), read_error->message);
      return FALSE;
    }
  SkCheckpointVerdict verdict;
  return sk_station_judge_checkpoint (self, journal, cp, sig, out_seq, &verdict, error);
}

char *
sk_station_checkpoint_for_export (
    SkStation *self, SkJournal *journal, const SkActor *actor, gint64 *out_seq, GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (self), NULL);

  g_autofree char *path = sk_station_latest_checkpoint (self);
  for (int attempt = 0; attempt < 2; attempt++)
    {
      if (path != NULL)
        {
          g_autoptr (GBytes) cp = read_small (path, error);
          if (cp == NULL || !sk_checkpoint_parse (cp, out_seq, NULL, NULL, NULL, error))
            return NULL;
          gint64 after = sk_journal_count_after (journal, *out_seq, "checkpoint-made", error);
          if (after < 0)
            return NULL;
          if (after == 0)
            return g_steal_pointer (&path);
        }
      g_free (path);
      path = sk_station_make_checkpoint (self, actor, error);
      if (path == NULL)
        return NULL;
    }
  g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR,
               _ ("the journal grew while its checkpoint was made; export again"));
  return NULL;
}

SkStore *
sk_station_open_store (SkStation *self,
                       SkStoreRecoverFunc also_recover,
                       gpointer user_data,
                       GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (self), NULL);

  g_autoptr (SkJournal) journal = sk_station_open_journal (self, FALSE, error);
  if (journal == NULL)
    return NULL;
  g_autofree char *dir = g_build_filename (self->dir, "store", NULL);
  return sk_store_open (dir, journal, also_recover, user_data, error);
}
