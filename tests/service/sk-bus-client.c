/* sk-bus-client.c — one call to sekishod, as whoever runs it
 *
 * test-service runs this as its test users (setpriv), so that the bus
 * daemon, polkit and the service see a real caller:
 *
 *   sk-bus-client --client OP [ARGS...]
 *   sk-bus-client --client-reply OP [ARGS...]
 *   sk-bus-client --client-loop SECONDS OP [ARGS...]
 *
 * OP is "Interface.Method" of jp.sekisho.Station1.xml; a path argument of
 * a method that takes descriptors is opened here, as the caller.  It
 * prints one line: OK, ERR <D-Bus error name>, JOB ok|fail <reason> for a
 * job (service-unreachable when the service left the bus meanwhile), or
 * for the loop LOOP <calls> <the distinct answers, sorted, joined by |>.  With
 * --client-reply a method that answers a text prints "OK <the text>".  Two
 * special OPs: Cases.ImportCancel FOLDER NAME (cancels the import once it
 * runs and says whether it ended within a second) and Job.Foreign CASE
 * (asks for its job from a second connection of the same user).  And
 * --client-pull MEDIUM: Media.Import of MEDIUM that prints RUNNING once the
 * job runs, then the job's end as a JOB line (someone pulls the medium
 * meanwhile).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUS_NAME "jp.sekisho.Station1"
#define OBJECT_PATH "/jp/sekisho/Station1"
#define IFACE_PREFIX "jp.sekisho.Station1."

typedef struct
{
  GMainLoop *loop;
  char *job;
  gboolean running; /* a Progress came */
  gboolean timed_out;
  gboolean finished;
  gboolean ok;
  char *reason;
  char *result;
} JobWait;

static void
on_job_signal (GDBusConnection *c,
               const char *sender,
               const char *path,
               const char *iface,
               const char *signal,
               GVariant *params,
               gpointer data)
{
  JobWait *w = data;
  if (w->job == NULL || !g_str_equal (path, w->job))
    return;
  if (g_str_equal (signal, "Progress"))
    {
      w->running = TRUE;
      g_main_loop_quit (w->loop);
      return;
    }
  if (!g_str_equal (signal, "Finished"))
    return;
  const char *reason, *result;
  g_variant_get (params, "(b&s&s&s)", &w->ok, &reason, NULL, &result);
  w->reason = g_strdup (reason);
  w->result = g_strdup (result);
  w->finished = TRUE;
  g_main_loop_quit (w->loop);
}

/* The service left the bus while a job ran: a client says so plainly
 * (service-unreachable), it does not wait for ever. */
static void
on_owner_changed (GDBusConnection *c,
                  const char *sender,
                  const char *path,
                  const char *iface,
                  const char *signal,
                  GVariant *params,
                  gpointer data)
{
  JobWait *w = data;
  const char *name, *old_owner, *new_owner;
  g_variant_get (params, "(&s&s&s)", &name, &old_owner, &new_owner);
  if (w->job == NULL || w->finished || *new_owner != '\0')
    return;
  w->ok = FALSE;
  w->reason = g_strdup ("service-unreachable");
  w->finished = TRUE;
  g_main_loop_quit (w->loop);
}

/* --client-reply: show what a method answered. */
static gboolean print_reply;

/* The path of the client's last job. */
static char *last_job;

static gboolean
job_timeout (gpointer data)
{
  JobWait *w = data;
  w->timed_out = TRUE;
  g_main_loop_quit (w->loop);
  return G_SOURCE_REMOVE;
}

static int
open_or_die (const char *path, int flags)
{
  int fd = open (path, flags | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      printf ("ERR open %s: %s\n", path, g_strerror (errno));
      exit (1);
    }
  return fd;
}

/* NAME "*" of Cases.Import: each package of FOLDER in turn, round and
 * round (the second round is all replays). */
static const char *
next_package (const char *folder)
{
  static GPtrArray *names;
  static guint next;
  if (names == NULL)
    {
      names = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
      const char *n;
      while (dir != NULL && (n = g_dir_read_name (dir)) != NULL)
        if (g_str_has_suffix (n, ".tar.gpg"))
          g_ptr_array_add (names, g_strdup (n));
      g_ptr_array_sort (names, (GCompareFunc)g_strcmp0);
      if (names->len == 0)
        g_ptr_array_add (names, g_strdup ("none.tar.gpg"));
    }
  return g_ptr_array_index (names, next++ % names->len);
}

/* OP is "Interface.Method" and ARGS its arguments as text; a path argument
 * of a method that takes descriptors is opened here, as the caller. */
static char *
client_call (GDBusConnection *bus, char **argv)
{
  g_autoptr (GError) error = NULL;
  const char *op = argv[2];
  const char *dot = strchr (op, '.');
  g_autofree char *part = g_strndup (op, (gsize)(dot - op));
  g_autofree char *iface = g_strconcat (IFACE_PREFIX, part, NULL);
  const char *method = dot + 1;
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  GVariant *params = NULL;

  if (g_str_equal (op, "Cases.List") || g_str_equal (op, "Cases.ListDownloads") ||
      g_str_equal (op, "Journal.Verify") || g_str_equal (op, "Journal.Checkpoint") ||
      g_str_equal (op, "Policy.Show") || g_str_equal (op, "Keys.List") ||
      g_str_equal (op, "Station.WhoAmI") || g_str_equal (op, "Station.Status") ||
      g_str_equal (op, "Media.List") || g_str_equal (op, "Media.ListRegister"))
    params = NULL;
  else if (g_str_equal (op, "Media.Import") || g_str_equal (op, "Media.Unregister"))
    params = g_variant_new ("(s)", argv[3]);
  else if (g_str_equal (op, "Media.Export"))
    params = g_variant_new ("(ss)", argv[3], argv[4]);
  else if (g_str_equal (op, "Media.Register"))
    params = g_variant_new ("(sss)", argv[3], argv[4], argv[5]);
  else if (g_str_equal (op, "Media.RegisterDisc"))
    /* NUMBER LABEL TOKEN SIG: the two files opened (made) here for writing. */
    params = g_variant_new (
        "(sshh)", argv[3], argv[4],
        g_unix_fd_list_append (fds, open_or_die (argv[5], O_WRONLY | O_CREAT), NULL),
        g_unix_fd_list_append (fds, open_or_die (argv[6], O_WRONLY | O_CREAT), NULL));
  else if (g_str_equal (op, "Media.ExportRegister"))
    params = g_variant_new (
        "(h)",
        g_unix_fd_list_append (fds, open_or_die (argv[3], O_WRONLY | O_CREAT | O_TRUNC), NULL));
  else if (g_str_equal (op, "Media.ImportRegister"))
    params =
        g_variant_new ("(h)", g_unix_fd_list_append (fds, open_or_die (argv[3], O_RDONLY), NULL));
  else if (g_str_equal (op, "Cases.Show") || g_str_equal (op, "Cases.HandOff") ||
           g_str_equal (op, "Cases.ConfirmUpload") || g_str_equal (op, "Cases.TakeIn") ||
           g_str_equal (op, "Cases.Interrupt"))
    params = g_variant_new ("(s)", argv[3]);
  else if (g_str_equal (op, "Cases.Approve"))
    params = g_variant_new ("(ss)", argv[3], argv[4]);
  else if (g_str_equal (op, "Cases.Import"))
    params = g_variant_new (
        "(hs)", g_unix_fd_list_append (fds, open_or_die (argv[3], O_RDONLY | O_DIRECTORY), NULL),
        g_str_equal (argv[4], "*") ? next_package (argv[3]) : argv[4]);
  else if (g_str_equal (op, "Cases.Export"))
    params = g_variant_new (
        "(sh)", argv[3],
        g_unix_fd_list_append (fds, open_or_die (argv[4], O_RDONLY | O_DIRECTORY), NULL));
  else if (g_str_equal (op, "Journal.Show"))
    params = g_variant_new_parsed ("(@a{ss} {},)");
  else if (g_str_equal (op, "Journal.Export"))
    params = g_variant_new (
        "(h)",
        g_unix_fd_list_append (fds, open_or_die (argv[3], O_WRONLY | O_CREAT | O_TRUNC), NULL));
  else if (g_str_equal (op, "Policy.Install"))
    {
      g_autofree char *sig = g_strconcat (argv[3], ".sig", NULL);
      gint a = g_unix_fd_list_append (fds, open_or_die (argv[3], O_RDONLY), NULL);
      gint b = g_unix_fd_list_append (fds, open_or_die (sig, O_RDONLY), NULL);
      params = g_variant_new ("(hh)", a, b);
    }
  else if (g_str_equal (op, "Keys.Import"))
    params =
        g_variant_new ("(h)", g_unix_fd_list_append (fds, open_or_die (argv[3], O_RDONLY), NULL));
  else
    {
      return g_strdup_printf ("ERR unknown operation %s", op);
    }

  /* Job signals are subscribed to before the call, so none is missed. */
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  JobWait w = { loop, NULL, FALSE, FALSE, FALSE, FALSE, NULL, NULL };
  guint sub =
      g_dbus_connection_signal_subscribe (bus, BUS_NAME, IFACE_PREFIX "Job", NULL, NULL, NULL,
                                          G_DBUS_SIGNAL_FLAGS_NONE, on_job_signal, &w, NULL);
  guint gone = g_dbus_connection_signal_subscribe (
      bus, "org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged",
      "/org/freedesktop/DBus", BUS_NAME, G_DBUS_SIGNAL_FLAGS_NONE, on_owner_changed, &w, NULL);
  g_autoptr (GVariant) reply = g_dbus_connection_call_with_unix_fd_list_sync (
      bus, BUS_NAME, OBJECT_PATH, iface, method, params, NULL, G_DBUS_CALL_FLAGS_NONE, 30000, fds,
      NULL, NULL, &error);
  char *line;
  if (reply == NULL)
    {
      g_autofree char *name = g_dbus_error_get_remote_error (error);
      line = g_strdup_printf ("ERR %s", name != NULL ? name : error->message);
      /* The message too, where people read (the test's log): the line
       * stays a stable name. */
      g_printerr ("sk-bus-client: %s: %s\n", op, error->message);
    }
  else if (g_variant_is_of_type (reply, G_VARIANT_TYPE ("(o)")))
    {
      g_variant_get (reply, "(o)", &w.job);
      g_free (last_job);
      last_job = g_strdup (w.job);
      guint timeout = g_timeout_add_seconds (30, job_timeout, &w);
      while (!w.finished && !w.timed_out)
        g_main_loop_run (w.loop);
      if (!w.timed_out)
        g_source_remove (timeout);
      line = g_strdup_printf ("JOB %s %s%s%s",
                              !w.finished ? "timeout"
                              : w.ok      ? "ok"
                                          : "fail",
                              w.reason != NULL && *w.reason != '\0' ? w.reason : "-",
                              print_reply && w.result != NULL && *w.result != '\0' ? " " : "",
                              print_reply && w.result != NULL ? w.result : "");
    }
  else if (print_reply && g_variant_is_of_type (reply, G_VARIANT_TYPE ("(s)")))
    {
      const char *text;
      g_variant_get (reply, "(&s)", &text);
      line = g_strdup_printf ("OK %s", text);
    }
  else
    line = g_strdup ("OK");
  g_dbus_connection_signal_unsubscribe (bus, sub);
  g_dbus_connection_signal_unsubscribe (bus, gone);
  g_free (w.job);
  g_free (w.reason);
  g_free (w.result);
  return line;
}

static int
sort_strings (const char *const *a, const char *const *b)
{
  return strcmp (*a, *b);
}

/* One call, or with --client-loop SECONDS, the same call again and again
 * on one connection until SECONDS passed: "LOOP CALLS ANSWERS", where
 * ANSWERS are the distinct answers seen. */
static int
client_main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &error);
  if (bus == NULL)
    {
      printf ("ERR bus %s\n", error->message);
      return 1;
    }
  if (g_str_equal (argv[1], "--client") && g_str_equal (argv[2], "Cases.ImportCancel"))
    {
      /* Start an import, cancel it once it runs, and time the end. */
      int fd = open_or_die (argv[3], O_RDONLY | O_DIRECTORY);
      g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
      gint h0 = g_unix_fd_list_append (fds, fd, NULL);
      close (fd);
      g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
      JobWait w = { loop, NULL, FALSE, FALSE, FALSE, FALSE, NULL, NULL };
      guint sub =
          g_dbus_connection_signal_subscribe (bus, BUS_NAME, IFACE_PREFIX "Job", NULL, NULL, NULL,
                                              G_DBUS_SIGNAL_FLAGS_NONE, on_job_signal, &w, NULL);
      g_autoptr (GVariant) reply = g_dbus_connection_call_with_unix_fd_list_sync (
          bus, BUS_NAME, OBJECT_PATH, IFACE_PREFIX "Cases", "Import",
          g_variant_new ("(hs)", h0, argv[4]), G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NONE,
          30000, fds, NULL, NULL, &error);
      g_assert_no_error (error);
      g_variant_get (reply, "(o)", &w.job);
      /* Once the job says it runs, cancel it. */
      guint wait = g_timeout_add_seconds (30, job_timeout, &w);
      while (!w.running && !w.finished && !w.timed_out)
        g_main_loop_run (loop);
      if (!w.timed_out)
        g_source_remove (wait);
      gint64 t0 = g_get_monotonic_time ();
      g_autoptr (GVariant) cancelled =
          g_dbus_connection_call_sync (bus, BUS_NAME, w.job, IFACE_PREFIX "Job", "Cancel", NULL,
                                       NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (cancelled);
      w.timed_out = FALSE;
      guint timeout = g_timeout_add_seconds (30, job_timeout, &w);
      while (!w.finished && !w.timed_out)
        g_main_loop_run (loop);
      if (!w.timed_out)
        g_source_remove (timeout);
      gint64 ms = (g_get_monotonic_time () - t0) / 1000;
      printf ("JOB %s %s %s\n",
              !w.finished ? "timeout"
              : w.ok      ? "ok"
                          : "fail",
              w.reason != NULL && *w.reason != '\0' ? w.reason : "-",
              ms < 1000 ? "within-1s" : "slow");
      g_printerr ("cancel took %" G_GINT64_FORMAT " ms\n", ms);
      g_dbus_connection_signal_unsubscribe (bus, sub);
      g_free (w.job);
      g_free (w.reason);
      g_free (w.result);
      return 0;
    }
  if (g_str_equal (argv[1], "--client-pull"))
    {
      g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
      JobWait w = { loop, NULL, FALSE, FALSE, FALSE, FALSE, NULL, NULL };
      guint sub =
          g_dbus_connection_signal_subscribe (bus, BUS_NAME, IFACE_PREFIX "Job", NULL, NULL, NULL,
                                              G_DBUS_SIGNAL_FLAGS_NONE, on_job_signal, &w, NULL);
      g_autoptr (GVariant) reply =
          g_dbus_connection_call_sync (bus, BUS_NAME, OBJECT_PATH, IFACE_PREFIX "Media", "Import",
                                       g_variant_new ("(s)", argv[2]), G_VARIANT_TYPE ("(o)"),
                                       G_DBUS_CALL_FLAGS_NONE, 30000, NULL, &error);
      if (reply == NULL)
        {
          printf ("ERR %s\n", error->message);
          return 1;
        }
      g_variant_get (reply, "(o)", &w.job);
      guint wait = g_timeout_add_seconds (60, job_timeout, &w);
      while (!w.running && !w.finished && !w.timed_out)
        g_main_loop_run (loop);
      printf ("RUNNING\n");
      fflush (stdout);
      while (!w.finished && !w.timed_out)
        g_main_loop_run (loop);
      if (!w.timed_out)
        g_source_remove (wait);
      printf ("JOB %s %s\n",
              !w.finished ? "timeout"
              : w.ok      ? "ok"
                          : "fail",
              w.reason != NULL && *w.reason != '\0' ? w.reason : "-");
      g_dbus_connection_signal_unsubscribe (bus, sub);
      g_free (w.job);
      g_free (w.reason);
      g_free (w.result);
      return 0;
    }
  if (g_str_equal (argv[1], "--client") && g_str_equal (argv[2], "Job.Foreign"))
    {
      /* Start a job here, then ask for it from a second connection of the
       * same user, and from this one. */
      char *hand_off[] = { argv[0], argv[1], (char *)"Cases.HandOff", argv[3], NULL };
      g_autofree char *started = client_call (bus, hand_off);
      g_autoptr (GDBusConnection) other = g_dbus_connection_new_for_address_sync (
          g_getenv ("DBUS_SYSTEM_BUS_ADDRESS"),
          G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
              G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
          NULL, NULL, &error);
      g_assert_no_error (error);
      const char *job = last_job;
      g_autoptr (GError) foreign_error = NULL;
      g_autoptr (GVariant) foreign =
          g_dbus_connection_call_sync (other, BUS_NAME, job, IFACE_PREFIX "Job", "GetResult", NULL,
                                       NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &foreign_error);
      g_autofree char *foreign_name =
          foreign == NULL ? g_dbus_error_get_remote_error (foreign_error) : NULL;
      g_autoptr (GVariant) own = g_dbus_connection_call_sync (
          bus, BUS_NAME, job, IFACE_PREFIX "Job", "GetResult", NULL, G_VARIANT_TYPE ("(bbsss)"),
          G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
      gboolean finished = FALSE;
      if (own != NULL)
        g_variant_get (own, "(bbsss)", &finished, NULL, NULL, NULL, NULL);
      printf ("%s; other connection: %s; own: %s\n", started,
              foreign_name != NULL ? foreign_name : "answered",
              own == NULL ? "refused"
              : finished  ? "finished"
                          : "running");
      return 0;
    }
  if (g_str_equal (argv[1], "--client") || g_str_equal (argv[1], "--client-reply"))
    {
      print_reply = g_str_equal (argv[1], "--client-reply");
      g_autofree char *line = client_call (bus, argv);
      printf ("%s\n", line);
      return 0;
    }
  gint64 until = g_get_monotonic_time () + g_ascii_strtoll (argv[2], NULL, 10) * G_USEC_PER_SEC;
  g_autoptr (GHashTable) answers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint calls = 0;
  while (g_get_monotonic_time () < until)
    {
      g_hash_table_add (answers, client_call (bus, argv + 1));
      calls++;
    }
  g_autofree const char **keys = (const char **)g_hash_table_get_keys_as_array (answers, NULL);
  qsort (keys, g_hash_table_size (answers), sizeof *keys,
         (int (*) (const void *, const void *))sort_strings);
  g_autofree char *seen = g_strjoinv ("|", (char **)keys);
  printf ("LOOP %u %s\n", calls, seen);
  return 0;
}

int
main (int argc, char **argv)
{
  if ((argc >= 3 && (g_str_equal (argv[1], "--client") || g_str_equal (argv[1], "--client-reply") ||
                     g_str_equal (argv[1], "--client-pull"))) ||
      (argc >= 4 && g_str_equal (argv[1], "--client-loop")))
    return client_main (argc, argv);
  g_printerr ("usage: sk-bus-client --client|--client-reply OP [ARGS...] | --client-loop SECONDS "
              "OP [ARGS...] | --client-pull MEDIUM\n");
  return 2;
}
