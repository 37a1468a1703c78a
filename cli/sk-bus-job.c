/* sk-bus-job.c — following one of sekishod's jobs from a client */
#define G_LOG_DOMAIN "sekisho"

#include "config.h"

#include "sk-bus-job.h"

static void
on_job_signal (GDBusConnection *c,
               const char *sender,
               const char *path,
               const char *iface,
               const char *signal,
               GVariant *params,
               gpointer data)
{
  SkBusJobWatch *w = data;
  if (w->path == NULL || !g_str_equal (path, w->path))
    return;
  if (g_str_equal (signal, "Progress") && g_variant_is_of_type (params, G_VARIANT_TYPE ("(stt)")))
    {
      const char *phase;
      g_variant_get (params, "(&stt)", &phase, &w->done, &w->total);
      gboolean changed = g_strcmp0 (phase, w->phase) != 0;
      if (changed)
        {
          g_free (w->phase);
          w->phase = g_strdup (phase);
        }
      w->running = TRUE;
      if (w->on_progress != NULL)
        w->on_progress (w, changed, w->data);
      g_main_loop_quit (w->loop);
      return;
    }
  if (g_str_equal (signal, "Finished") && g_variant_is_of_type (params, G_VARIANT_TYPE ("(bsss)")))
    {
      g_clear_pointer (&w->reason, g_free);
      g_clear_pointer (&w->message, g_free);
      g_clear_pointer (&w->result, g_free);
      g_variant_get (params, "(bsss)", &w->ok, &w->reason, &w->message, &w->result);
      w->finished = TRUE;
      g_main_loop_quit (w->loop);
    }
}

static void
on_owner_changed (GDBusConnection *c,
                  const char *sender,
                  const char *path,
                  const char *iface,
                  const char *signal,
                  GVariant *params,
                  gpointer data)
{
  SkBusJobWatch *w = data;
  const char *name, *old_owner, *new_owner;
  g_variant_get (params, "(&s&s&s)", &name, &old_owner, &new_owner);
  if (*new_owner != '\0')
    return;
  w->vanished = TRUE;
  g_main_loop_quit (w->loop);
}

void
sk_bus_job_watch_init (SkBusJobWatch *w,
                       GDBusConnection *bus,
                       const char *bus_name,
                       const char *job_interface,
                       SkBusJobProgressFunc on_progress,
                       gpointer data)
{
  *w = (SkBusJobWatch){ 0 };
  w->loop = g_main_loop_new (NULL, FALSE);
  w->bus = g_object_ref (bus);
  w->on_progress = on_progress;
  w->data = data;
  w->job_signals =
      g_dbus_connection_signal_subscribe (bus, bus_name, job_interface, NULL, NULL, NULL,
                                          G_DBUS_SIGNAL_FLAGS_NONE, on_job_signal, w, NULL);
  w->owner_signals = g_dbus_connection_signal_subscribe (
      bus, "org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged",
      "/org/freedesktop/DBus", bus_name, G_DBUS_SIGNAL_FLAGS_NONE, on_owner_changed, w, NULL);
}

void
sk_bus_job_watch_clear (SkBusJobWatch *w)
{
  if (w->bus != NULL)
    {
      g_dbus_connection_signal_unsubscribe (w->bus, w->job_signals);
      g_dbus_connection_signal_unsubscribe (w->bus, w->owner_signals);
    }
  g_clear_object (&w->bus);
  g_clear_pointer (&w->loop, g_main_loop_unref);
  g_clear_pointer (&w->path, g_free);
  g_clear_pointer (&w->phase, g_free);
  g_clear_pointer (&w->reason, g_free);
  g_clear_pointer (&w->message, g_free);
  g_clear_pointer (&w->result, g_free);
}
