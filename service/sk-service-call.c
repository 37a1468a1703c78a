/* sk-service-call.c — what a handler of the service's methods uses
 *
 * The caller the door let through (sk-service.c keeps it on the
 * invocation), refusals journaled and returned by their D-Bus names, the
 * descriptors a call carries, jobs for the long steps, and the JSON of the
 * answers: shared by every part of the service, see sk-service-call.h.
 */
#define G_LOG_DOMAIN "sekisho-service"

#include "config.h"

#include <errno.h>
#include <gio/gunixfdlist.h>
#include <glib/gi18n-lib.h>
#include <json-glib/json-glib.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-service-call.h"
#include "sk-service-private.h"

/* ---- the caller ---------------------------------------------------------- */

#define ACTOR_KEY "sk-actor"

const SkActor *
_sk_service_actor (GDBusMethodInvocation *invocation)
{
  return g_object_get_data (G_OBJECT (invocation), ACTOR_KEY);
}

void
_sk_service_set_actor (GDBusMethodInvocation *invocation, SkActor *actor)
{
  g_object_set_data_full (G_OBJECT (invocation), ACTOR_KEY, actor, (GDestroyNotify)sk_actor_free);
}

void
_sk_service_return_error (GDBusMethodInvocation *invocation, const GError *error)
{
  if (error->domain == SK_ERROR)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  SkErrorCode code = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE) ? SK_ERROR_DISK_FULL
                                                                              : SK_ERROR_IO_ERROR;
  g_dbus_method_invocation_return_error_literal (invocation, SK_ERROR, (gint)code, error->message);
}

/* Journal a refusal at the door: who (as far as known), which method. */
void
_sk_service_journal_refusal (
    SkService *self, const char *interface, const char *method, gint64 uid, const char *role)
{
  g_autofree char *login = uid >= 0 ? sk_actor_login_for_uid ((guint32)uid) : NULL;
  g_autofree char *details =
      g_strdup_printf ("{\"method\":\"%s.%s\"}", interface, method); /* both from our table */
  SkJournalEntry entry = {
    .event = "role-denied",
    .outcome = "refused",
    .reason = "role-denied",
    .uid = uid,
    .login = login,
    .role = role,
    .details = details,
  };
  g_autoptr (GError) error = NULL;
  g_mutex_lock (&self->lock);
  g_autoptr (SkJournal) journal = sk_station_open_journal (self->station, FALSE, &error);
  gboolean ok = journal != NULL && sk_journal_record (journal, &entry, &error) != 0;
  g_mutex_unlock (&self->lock);
  if (!ok)
    g_warning ("a refusal could not be journaled: %s", error->message);
}

void
_sk_service_journal_denial (SkService *self, GDBusMethodInvocation *invocation)
{
  gint64 uid = -1;
  g_autoptr (SkActor) actor = sk_bouncer_identify (self->bouncer, invocation, &uid, NULL);
  _sk_service_journal_refusal (self, g_dbus_method_invocation_get_interface_name (invocation),
                               g_dbus_method_invocation_get_method_name (invocation), uid,
                               actor != NULL ? actor->role : NULL);
}

/* ---- descriptors ----------------------------------------------------------- */

/* The descriptor at INDEX of the call's fd list, as our own copy. */
int
_sk_service_take_fd (GDBusMethodInvocation *invocation, GVariant *handle, GError **error)
{
  GDBusMessage *message = g_dbus_method_invocation_get_message (invocation);
  GUnixFDList *fds = g_dbus_message_get_unix_fd_list (message);
  gint32 index = g_variant_get_handle (handle);
  if (fds == NULL || index < 0 || index >= g_unix_fd_list_get_length (fds))
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_USAGE, _ ("a descriptor is missing"));
      return -1;
    }
  return g_unix_fd_list_get (fds, index, error);
}

GBytes *
_sk_service_read_fd (int fd, gsize max, gboolean *too_big, GError **error)
{
  *too_big = FALSE;
  g_autoptr (GByteArray) buf = g_byte_array_new ();
  guint8 chunk[16384];
  for (;;)
    {
      ssize_t n = read (fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          sk_error_set_from_errno (error, errno, _ ("reading what the caller sent"));
          return NULL;
        }
      if (n == 0)
        break;
      if (buf->len + (gsize)n > max)
        {
          *too_big = TRUE;
          return NULL;
        }
      g_byte_array_append (buf, chunk, (guint)n);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&buf));
}

/* ---- jobs ---------------------------------------------------------------- */

static void
job_data_free (gpointer data)
{
  JobData *d = data;
  g_object_unref (d->service);
  sk_actor_free (d->actor);
  g_free (d->arg);
  g_free (d->arg2);
  if (d->fd >= 0)
    close (d->fd);
  g_free (d);
}

static void
job_denied (GDBusMethodInvocation *invocation, gpointer user_data)
{
  _sk_service_journal_denial (SK_SERVICE (user_data), invocation);
}

void
_sk_service_start_job (SkService *self,
                       GDBusMethodInvocation *invocation,
                       SkJobFunc func,
                       const char *arg,
                       const char *arg2,
                       int fd)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkJob) job = sk_job_new (
      self->connection, g_dbus_method_invocation_get_sender (invocation), job_denied, self, &error);
  if (job == NULL)
    {
      if (fd >= 0)
        close (fd);
      _sk_service_return_error (invocation, error);
      return;
    }
  JobData *d = g_new0 (JobData, 1);
  d->service = g_object_ref (self);
  d->actor = sk_actor_copy (_sk_service_actor (invocation));
  d->arg = g_strdup (arg);
  d->arg2 = g_strdup (arg2);
  d->fd = fd;
  /* The path goes back first, so that a client that asks at once finds the
   * job. */
  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(o)", sk_job_get_object_path (job)));
  sk_job_start (job, func, d, job_data_free, NULL, NULL);
}

/* ---- JSON ---------------------------------------------------------------- */

char *
_sk_service_json_text (JsonBuilder *b)
{
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

void
_sk_service_add_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value != NULL)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

/* Names from a medium are untrusted: escaped before they leave. */
void
_sk_service_add_untrusted (JsonBuilder *b, const char *name, const char *value)
{
  g_autofree char *escaped = value != NULL ? sk_escape_untrusted (value) : NULL;
  _sk_service_add_string (b, name, escaped);
}
