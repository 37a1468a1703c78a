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
 * (asks for its job from a second connection of the same user).
 * Journal.Export FILE takes its options after the file as KEY=VALUE, and
 * Journal.Show its filter.  And
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

#include "sk-bus-job.h"

#define BUS_NAME "jp.sekisho.Station1"
#define OBJECT_PATH "/jp/sekisho/Station1"
#define IFACE_PREFIX "jp.sekisho.Station1."

/* --client-reply: show what a method answered. */
static gboolean print_reply;

/* The path of the client's last job. */
static char *last_job;

static gboolean timed_out;

static gboolean
on_timeout (gpointer loop)
{
  timed_out = TRUE;
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

/* Follow W until it ends (or, with UNTIL_RUNNING, until it says it runs),
 * at most SECONDS. */
static void
wait_for (SkBusJobWatch *w, gboolean until_running, guint seconds)
{
  timed_out = FALSE;
  guint timeout = g_timeout_add_seconds (seconds, on_timeout, w->loop);
  while (!w->finished && !w->vanished && !(until_running && w->running) && !timed_out)
    g_main_loop_run (w->loop);
  if (!timed_out)
    g_source_remove (timeout);
}

/* How W ended: "ok", "fail" or "timeout", then its reason (or "-"); the
 * service leaving the bus while it ran is service-unreachable. */
static char *
job_line (SkBusJobWatch *w)
{
  if (!w->finished && w->vanished)
    return g_strdup ("JOB fail service-unreachable");
  /* The message too, where people read (the test's log): a reason code
   * alone did not say which io-error it was. */
  if (w->finished && !w->ok && w->message != NULL)
    g_printerr ("sk-bus-client: job failed: %s\n", w->message);
  return g_strdup_printf ("JOB %s %s",
                          !w->finished ? "timeout"
                          : w->ok      ? "ok"
                                       : "fail",
                          w->reason != NULL && *w->reason != '\0' ? w->reason : "-");
}

/* Watch BUS for the jobs of the service before a call. */
static void
watch_jobs (SkBusJobWatch *w, GDBusConnection *bus)
{
  sk_bus_job_watch_init (w, bus, BUS_NAME, IFACE_PREFIX "Job", NULL, NULL);
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
    {
      /* The filter as KEY=VALUE arguments. */
      GVariantBuilder filter;
      g_variant_builder_init (&filter, G_VARIANT_TYPE ("a{ss}"));
      for (int i = 3; argv[i] != NULL; i++)
        {
          g_auto (GStrv) kv = g_strsplit (argv[i], "=", 2);
          g_variant_builder_add (&filter, "{ss}", kv[0], kv[1] != NULL ? kv[1] : "");
        }
      params = g_variant_new ("(@a{ss})", g_variant_builder_end (&filter));
    }
  else if (g_str_equal (op, "Journal.Export"))
    {
      /* Options follow the file as KEY=VALUE (strings). */
      GVariantBuilder options;
      g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
      for (int i = 4; argv[i] != NULL; i++)
        {
          g_auto (GStrv) kv = g_strsplit (argv[i], "=", 2);
          g_variant_builder_add (&options, "{sv}", kv[0],
                                 g_variant_new_string (kv[1] != NULL ? kv[1] : ""));
        }
      params = g_variant_new (
          "(h@a{sv})",
          g_unix_fd_list_append (fds, open_or_die (argv[3], O_WRONLY | O_CREAT | O_TRUNC), NULL),
          g_variant_builder_end (&options));
    }
  else if (g_str_equal (op, "Policy.Install") || g_str_equal (op, "Journal.VerifyCheckpoint"))
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
  SkBusJobWatch w;
  watch_jobs (&w, bus);
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
      g_variant_get (reply, "(o)", &w.path);
      g_free (last_job);
      last_job = g_strdup (w.path);
      wait_for (&w, FALSE, 30);
      g_autofree char *end = job_line (&w);
      gboolean show = print_reply && w.finished && w.result != NULL && *w.result != '\0';
      line = g_strdup_printf ("%s%s%s", end, show ? " " : "", show ? w.result : "");
    }
  else if (print_reply && g_variant_is_of_type (reply, G_VARIANT_TYPE ("(s)")))
    {
      const char *text;
      g_variant_get (reply, "(&s)", &text);
      line = g_strdup_printf ("OK %s", text);
    }
  else
    line = g_strdup ("OK");
  sk_bus_job_watch_clear (&w);
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
      SkBusJobWatch w;
      watch_jobs (&w, bus);
      g_autoptr (GVariant) reply = g_dbus_connection_call_with_unix_fd_list_sync (
          bus, BUS_NAME, OBJECT_PATH, IFACE_PREFIX "Cases", "Import",
          g_variant_new ("(hs)", h0, argv[4]), G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NONE,
          30000, fds, NULL, NULL, &error);
      g_assert_no_error (error);
      g_variant_get (reply, "(o)", &w.path);
      /* Once the job says it runs, cancel it. */
      wait_for (&w, TRUE, 30);
      gint64 t0 = g_get_monotonic_time ();
      g_autoptr (GVariant) cancelled =
          g_dbus_connection_call_sync (bus, BUS_NAME, w.path, IFACE_PREFIX "Job", "Cancel", NULL,
                                       NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (cancelled);
      wait_for (&w, FALSE, 30);
      gint64 ms = (g_get_monotonic_time () - t0) / 1000;
      g_autofree char *end = job_line (&w);
      printf ("%s %s\n", end, ms < 1000 ? "within-1s" : "slow");
      g_printerr ("cancel took %" G_GINT64_FORMAT " ms\n", ms);
      sk_bus_job_watch_clear (&w);
      return 0;
    }
  if (g_str_equal (argv[1], "--client-pull"))
    {
      SkBusJobWatch w;
      watch_jobs (&w, bus);
      g_autoptr (GVariant) reply =
          g_dbus_connection_call_sync (bus, BUS_NAME, OBJECT_PATH, IFACE_PREFIX "Media", "Import",
                                       g_variant_new ("(s)", argv[2]), G_VARIANT_TYPE ("(o)"),
                                       G_DBUS_CALL_FLAGS_NONE, 30000, NULL, &error);
      if (reply == NULL)
        {
          printf ("ERR %s\n", error->message);
          sk_bus_job_watch_clear (&w);
          return 1;
        }
      g_variant_get (reply, "(o)", &w.path);
      wait_for (&w, TRUE, 60);
      printf ("RUNNING\n");
      fflush (stdout);
      wait_for (&w, FALSE, 60);
      g_autofree char *end = job_line (&w);
      printf ("%s\n", end);
      sk_bus_job_watch_clear (&w);
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
