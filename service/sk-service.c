/* sk-service.c — sekishod's station on the bus: start, authorize, sweep */
#define G_LOG_DOMAIN "sekisho-service"

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-service-call.h"
#include "sk-service-private.h"

G_DEFINE_FINAL_TYPE (SkService, sk_service, G_TYPE_OBJECT)

/* ---- who may call what ------------------------------------------------- */

/* Every method of every interface, with its polkit action and the roles
 * that action belongs to (one, but for the few that only read what each
 * role needs to see).  A method not listed here is refused.  A method with
 * no action is asked by anyone and answers only what the bus already
 * knows about the caller (WhoAmI). */
typedef struct
{
  const char *interface;
  const char *method;
  const char *action;
  guint roles;
} SkRule;

#define OPERATOR SK_ROLE_BIT (SK_ROLE_OPERATOR)
#define AUDITOR SK_ROLE_BIT (SK_ROLE_AUDITOR)
#define ADMIN SK_ROLE_BIT (SK_ROLE_ADMIN)

#define CASES "jp.sekisho.Station1.Cases"
#define JOURNAL "jp.sekisho.Station1.Journal"
#define POLICY "jp.sekisho.Station1.Policy"
#define KEYS "jp.sekisho.Station1.Keys"
#define STATION "jp.sekisho.Station1.Station"
#define MEDIA "jp.sekisho.Station1.Media"

static const SkRule rules[] = {
  { CASES, "List", "jp.sekisho.cases.read", OPERATOR },
  { CASES, "Show", "jp.sekisho.cases.read", OPERATOR },
  { CASES, "ListDownloads", "jp.sekisho.cases.read", OPERATOR },
  { CASES, "Import", "jp.sekisho.cases.transfer", OPERATOR },
  { CASES, "HandOff", "jp.sekisho.cases.transfer", OPERATOR },
  { CASES, "ConfirmUpload", "jp.sekisho.cases.transfer", OPERATOR },
  { CASES, "TakeIn", "jp.sekisho.cases.transfer", OPERATOR },
  { CASES, "Export", "jp.sekisho.cases.transfer", OPERATOR },
  { CASES, "Interrupt", "jp.sekisho.cases.transfer", OPERATOR },
  { CASES, "Approve", "jp.sekisho.cases.approve", OPERATOR },
  { JOURNAL, "Show", "jp.sekisho.journal.read", AUDITOR },
  { JOURNAL, "Verify", "jp.sekisho.journal.read", AUDITOR },
  { JOURNAL, "Export", "jp.sekisho.journal.read", AUDITOR },
  { JOURNAL, "VerifyCheckpoint", "jp.sekisho.journal.read", AUDITOR },
  { JOURNAL, "Checkpoint", "jp.sekisho.journal.checkpoint", AUDITOR },
  { POLICY, "Show", "jp.sekisho.policy.read", ADMIN },
  { POLICY, "Install", "jp.sekisho.policy.install", ADMIN },
  { KEYS, "List", "jp.sekisho.keys.read", ADMIN },
  { KEYS, "Import", "jp.sekisho.keys.import", ADMIN },
  { MEDIA, "List", "jp.sekisho.media.read", OPERATOR | AUDITOR | ADMIN },
  { MEDIA, "Import", "jp.sekisho.media.transfer", OPERATOR },
  { MEDIA, "Export", "jp.sekisho.media.transfer", OPERATOR },
  { MEDIA, "ListRegister", "jp.sekisho.media.register-read", AUDITOR | ADMIN },
  { MEDIA, "Register", "jp.sekisho.media.register", ADMIN },
  { MEDIA, "RegisterDisc", "jp.sekisho.media.register", ADMIN },
  { MEDIA, "Unregister", "jp.sekisho.media.register", ADMIN },
  { MEDIA, "ExportRegister", "jp.sekisho.media.register", ADMIN },
  { MEDIA, "ImportRegister", "jp.sekisho.media.register", ADMIN },
  { STATION, "WhoAmI", NULL, 0 },
  { STATION, "Status", "jp.sekisho.station.status", OPERATOR | AUDITOR | ADMIN },
};

static const SkRule *
rule_for (const char *interface, const char *method)
{
  for (gsize i = 0; i < G_N_ELEMENTS (rules); i++)
    if (g_str_equal (rules[i].interface, interface) && g_str_equal (rules[i].method, method))
      return &rules[i];
  return NULL;
}

/* Runs in the invocation's own thread (the skeletons handle invocations in
 * threads), so the bus and polkit may be waited on here. */
static gboolean
on_authorize_method (GDBusInterfaceSkeleton *skeleton,
                     GDBusMethodInvocation *invocation,
                     gpointer user_data)
{
  SkService *self = user_data;
  const char *interface = g_dbus_method_invocation_get_interface_name (invocation);
  const char *method = g_dbus_method_invocation_get_method_name (invocation);
  const SkRule *rule = rule_for (interface, method);
  g_autoptr (GError) error = NULL;
  gint64 uid = -1;
  g_autofree char *role = NULL;

  g_autoptr (SkActor) actor = NULL;
  /* Who the caller is, for anyone: nothing to decide, nothing to journal
   * (the handler asks the bus itself). */
  if (rule != NULL && rule->action == NULL)
    return TRUE;
  if (rule == NULL)
    g_set_error (&error, SK_ERROR, SK_ERROR_ROLE_DENIED, _ ("%s.%s belongs to no action"),
                 interface, method);
  else
    actor = sk_bouncer_authorize (self->bouncer, invocation, rule->action, rule->roles, &uid, &role,
                                  &error);
  if (actor == NULL)
    {
      _sk_service_journal_refusal (self, interface, method, uid, role);
      g_dbus_method_invocation_return_gerror (invocation, error);
      return FALSE;
    }
  _sk_service_set_actor (invocation, g_steal_pointer (&actor));
  return TRUE;
}

/* ---- the station directory ---------------------------------------------- */

static gboolean
refuse_entry (GError **error, const char *path, const char *why)
{
  g_set_error (error, SK_ERROR, SK_ERROR_STATION_INVALID,
               _ ("the station directory is not the service's alone: %s %s"), path, why);
  return FALSE;
}

/* Every entry beneath DFD (named PATH): owned by UID, no rights for group
 * or others, regular files not executable; symbolic links are not followed. */
static gboolean
check_tree (int dfd, const char *path, uid_t uid, guint depth, GError **error)
{
  if (depth > 16)
    return refuse_entry (error, path, _ ("is nested too deeply"));
  int fd = dup (dfd);
  if (fd < 0)
    {
      sk_error_set_from_errno (error, errno, path);
      return FALSE;
    }
  DIR *dir = fdopendir (fd);
  if (dir == NULL)
    {
      int errsv = errno;
      close (fd);
      sk_error_set_from_errno (error, errsv, path);
      return FALSE;
    }
  rewinddir (dir);
  gboolean ok = TRUE;
  struct dirent *de;
  while (ok && (de = readdir (dir)) != NULL)
    {
      if (g_str_equal (de->d_name, ".") || g_str_equal (de->d_name, ".."))
        continue;
      g_autofree char *child = g_build_filename (path, de->d_name, NULL);
      struct stat st;
      if (fstatat (dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        {
          if (errno == ENOENT) /* gone meanwhile (a socket, a temporary) */
            continue;
          sk_error_set_from_errno (error, errno, child);
          ok = FALSE;
          break;
        }
      if (st.st_uid != uid)
        ok = refuse_entry (error, child, _ ("belongs to another user"));
      else if (S_ISLNK (st.st_mode))
        continue;
      else if ((st.st_mode & 077) != 0)
        ok = refuse_entry (error, child,
                           _ ("is open to group or others (files 0600, folders 0700)"));
      else if (S_ISREG (st.st_mode) && (st.st_mode & 0100) != 0)
        ok = refuse_entry (error, child, _ ("is executable"));
      else if (S_ISDIR (st.st_mode))
        {
          int sub = openat (dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub < 0)
            {
              sk_error_set_from_errno (error, errno, child);
              ok = FALSE;
              break;
            }
          ok = check_tree (sub, child, uid, depth + 1, error);
          close (sub);
        }
      else if (!S_ISREG (st.st_mode) && !S_ISSOCK (st.st_mode))
        ok = refuse_entry (error, child, _ ("is neither a file nor a folder"));
    }
  closedir (dir);
  return ok;
}

gboolean
sk_service_check_station_dir (const char *station_dir, GError **error)
{
  g_return_val_if_fail (station_dir != NULL, FALSE);

  int dfd = open (station_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    {
      int errsv = errno;
      g_set_error (error, SK_ERROR, SK_ERROR_STATION_INVALID, _ ("cannot open the station %s: %s"),
                   station_dir, g_strerror (errsv));
      return FALSE;
    }
  struct stat st;
  gboolean ok;
  if (fstat (dfd, &st) != 0)
    {
      sk_error_set_from_errno (error, errno, station_dir);
      ok = FALSE;
    }
  else if (st.st_uid != geteuid ())
    ok = refuse_entry (error, station_dir, _ ("belongs to another user"));
  else if ((st.st_mode & 07777) != 0700)
    ok = refuse_entry (error, station_dir, _ ("is not mode 0700"));
  else
    ok = check_tree (dfd, station_dir, geteuid (), 0, error);
  close (dfd);
  return ok;
}

/* ---- life --------------------------------------------------------------- */

static void
sk_service_dispose (GObject *object)
{
  SkService *self = SK_SERVICE (object);

  g_clear_handle_id (&self->sweep_source, g_source_remove);
  _sk_service_stop_media (self);
  GDBusInterfaceSkeleton *skeletons[] = {
    G_DBUS_INTERFACE_SKELETON (self->cases),         G_DBUS_INTERFACE_SKELETON (self->journal),
    G_DBUS_INTERFACE_SKELETON (self->policy),        G_DBUS_INTERFACE_SKELETON (self->keys),
    G_DBUS_INTERFACE_SKELETON (self->station_iface), G_DBUS_INTERFACE_SKELETON (self->media_iface)
  };
  for (gsize i = 0; i < G_N_ELEMENTS (skeletons); i++)
    if (skeletons[i] != NULL)
      g_dbus_interface_skeleton_unexport (skeletons[i]);
  G_OBJECT_CLASS (sk_service_parent_class)->dispose (object);
}

static void
sk_service_finalize (GObject *object)
{
  SkService *self = SK_SERVICE (object);

  g_clear_object (&self->cases);
  g_clear_object (&self->journal);
  g_clear_object (&self->policy);
  g_clear_object (&self->keys);
  g_clear_object (&self->station_iface);
  g_clear_object (&self->media_iface);
  g_clear_object (&self->reader);
  g_clear_object (&self->pipeline);
  g_clear_object (&self->station);
  g_clear_object (&self->bouncer);
  g_clear_object (&self->connection);
  g_free (self->station_dir);
  g_free (self->handoff_root);
  g_mutex_clear (&self->lock);
  g_mutex_clear (&self->media_lock);
  g_cond_clear (&self->media_cond);
  g_mutex_clear (&self->reader_lock);
  G_OBJECT_CLASS (sk_service_parent_class)->finalize (object);
}

static void
sk_service_class_init (SkServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = sk_service_dispose;
  G_OBJECT_CLASS (klass)->finalize = sk_service_finalize;
}

static void
sk_service_init (SkService *self)
{
  g_mutex_init (&self->lock);
  g_mutex_init (&self->media_lock);
  g_cond_init (&self->media_cond);
  g_mutex_init (&self->reader_lock);
}

static gboolean export(SkService *self, gpointer skeleton, GError **error)
{
  GDBusInterfaceSkeleton *s = G_DBUS_INTERFACE_SKELETON (skeleton);
  g_dbus_interface_skeleton_set_flags (
      s, G_DBUS_INTERFACE_SKELETON_FLAGS_HANDLE_METHOD_INVOCATIONS_IN_THREAD);
  g_signal_connect_object (s, "g-authorize-method", G_CALLBACK (on_authorize_method), self, 0);
  return g_dbus_interface_skeleton_export (s, self->connection, SK_SERVICE_OBJECT_PATH, error);
}

SkService *
sk_service_new (GDBusConnection *connection,
                const char *station_dir,
                const char *handoff_root,
                GError **error)
{
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), NULL);
  g_return_val_if_fail (station_dir != NULL && handoff_root != NULL, NULL);

  if (!sk_service_check_station_dir (station_dir, error))
    return NULL;

  g_autoptr (SkService) self = g_object_new (SK_TYPE_SERVICE, NULL);
  self->connection = g_object_ref (connection);
  self->bouncer = sk_bouncer_new (connection);
  self->station_dir = g_strdup (station_dir);
  self->handoff_root = g_strdup (handoff_root);
  self->station = sk_station_open (station_dir, error);
  if (self->station == NULL)
    return NULL;

  /* Recovery of the store and the journal happens here, before any call.
   * A station without a policy yet serves the administrator only. */
  g_autoptr (GError) local_error = NULL;
  if (!_sk_service_open_pipeline_locked (self, &local_error))
    {
      if (!g_error_matches (local_error, SK_ERROR, SK_ERROR_STATION_INVALID))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      g_message ("no policy installed yet: only the administrator's calls will work");
    }

  self->cases = sk_dbus_cases_skeleton_new ();
  self->journal = sk_dbus_journal_skeleton_new ();
  self->policy = sk_dbus_policy_skeleton_new ();
  self->keys = sk_dbus_keys_skeleton_new ();
  self->station_iface = sk_dbus_station_skeleton_new ();
  self->media_iface = sk_dbus_media_skeleton_new ();
  self->reader = sk_station_open (station_dir, error);
  if (self->reader == NULL)
    return NULL;
  _sk_service_connect_methods (self);
  _sk_service_connect_journal (self);
  _sk_service_connect_station (self);
  _sk_service_connect_media (self);
  if (!export(self, self->cases, error) || !export(self, self->journal, error) ||
      !export(self, self->policy, error) || !export(self, self->keys, error) ||
      !export(self, self->station_iface, error) || !export(self, self->media_iface, error))
    return NULL;
  /* Media are followed once a policy says which classes may be used. */
  if (self->pipeline != NULL)
    _sk_service_start_media (self);
  return g_steal_pointer (&self);
}

/* ---- the sweep ---------------------------------------------------------- */

static void
sweep_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  SkService *self = source;
  g_autoptr (GError) error = NULL;
  gint64 removed = 0;

  g_mutex_lock (&self->lock);
  if (self->pipeline != NULL)
    removed = sk_pipeline_sweep (self->pipeline, &error);
  g_mutex_unlock (&self->lock);
  if (removed < 0 || error != NULL)
    g_warning ("the sweep failed: %s", error != NULL ? error->message : "?");
  else if (removed > 0)
    g_message ("the sweep removed %" G_GINT64_FORMAT " item(s)", removed);
  g_task_return_boolean (task, TRUE);
}

static void
sweep_done (GObject *source, GAsyncResult *res, gpointer data)
{
  SK_SERVICE (source)->sweeping = FALSE;
}

static gboolean
sweep_now (gpointer data)
{
  SkService *self = data;
  if (self->sweeping)
    return G_SOURCE_CONTINUE;
  self->sweeping = TRUE;
  g_autoptr (GTask) task = g_task_new (self, NULL, sweep_done, NULL);
  g_task_set_source_tag (task, sweep_now);
  g_task_run_in_thread (task, sweep_in_thread);
  return G_SOURCE_CONTINUE;
}

void
sk_service_start_sweeping (SkService *self, guint sweep_seconds)
{
  g_return_if_fail (SK_IS_SERVICE (self));
  g_return_if_fail (sweep_seconds > 0);

  sweep_now (self);
  self->sweep_source = g_timeout_add_seconds (sweep_seconds, sweep_now, self);
}
