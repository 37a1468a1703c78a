/* sk-station-env.c — the whole station, for a test, a demo or the GUI harness
 *
 *   sk-station-env [--no-service] -- COMMAND [ARG…]
 *   sk-station-env ctl plug NAME IMAGE [--serial S] [--vendor V] [--model M] [--composite]
 *   sk-station-env ctl unplug NAME
 *
 * Needs root.  The outer run writes test users and the tree's polkit files
 * into a temporary folder, then runs the inner one in a mount and pid
 * namespace of its own (unshare), where those files are bound over /etc and
 * /usr/share/polkit-1 and the hand-off root is a tmpfs.  The inner run makes
 * the keys and two stations (the terminal sekishod serves and a 標準システム
 * side to pack with), starts a private system bus, the real polkitd and the
 * real sekishod under umockdev's preload, answers the control socket, and
 * runs COMMAND with the environment /work/briefs/station-env.md describes
 * (printed by --help).  When COMMAND ends, or a signal arrives, everything
 * is stopped; the outer run then detaches any loop device left on an image
 * of this run and removes the folder, so nothing outlives the run even when
 * the inner one was killed.
 *
 * Mocked media: the testbed lives in the inner run (libumockdev), which runs
 * under umockdev's preload itself; sekishod runs with UMOCKDEV_DIR and the
 * preload, so its libudev sees the testbed's
 * devices and uevents.  A plugged stick's DEVNAME is a real loop device over
 * the image the caller gave, so mounting, reading and writing are real.
 */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <umockdev.h>
#include <unistd.h>

#include "sk-test-bus.h"
#include "sk-test-stations.h"

#define BUS_NAME "jp.sekisho.Station1"
#define IMAGE_SECTORS_FALLBACK "131072"

static const char usage[] =
    "Usage: sk-station-env [--no-service] -- COMMAND [ARG…]\n"
    "       sk-station-env ctl plug NAME IMAGE [--serial S] [--vendor V] [--model M] "
    "[--composite]\n"
    "       sk-station-env ctl unplug NAME\n"
    "\n"
    "Runs COMMAND beside a private system bus, polkitd and sekishod on a fresh\n"
    "terminal station, with test users skop1, skop2 (operators), skaud (auditor),\n"
    "skadm (admin), sktwo (two roles), sknone (no role).  COMMAND sees:\n"
    "  DBUS_SYSTEM_BUS_ADDRESS  the private system bus\n"
    "  SK_ENV_DIR               this run's folder; files/ holds policy.json(.sig),\n"
    "                           admin.pub, standard.pub, terminal.pub (world-readable)\n"
    "  SK_ENV_STATION           the terminal station sekishod serves\n"
    "  SK_ENV_STANDARD          a 標準システム-side station with the same policy\n"
    "  SK_ENV_HANDOFF           the hand-off root (tmpfs)\n"
    "  SK_ENV_GNUPG_ADMIN       a GnuPG home with the administrator's secret key\n"
    "  SK_ENV_CTL               the control socket for ctl plug/unplug\n"
    "Paths come from SEKISHOD, SEKISHO_CLI, SK_POLKIT_ACTIONS, SK_POLKIT_RULES and\n"
    "SK_BUS_POLICY, else from the build tree this program was built in.\n";

/* ---- paths of the tree --------------------------------------------------- */

static const char *
path_or (const char *env, const char *fallback)
{
  const char *v = g_getenv (env);
  return v != NULL && *v != '\0' ? v : fallback;
}

static const char *
sekishod_path (void)
{
  return path_or ("SEKISHOD", SK_BUILD_ROOT "/service/sekishod");
}

static const char *
cli_path (void)
{
  return path_or ("SEKISHO_CLI", SK_BUILD_ROOT "/cli/sekisho");
}

/* ---- the control client ---------------------------------------------------- */

static int
ctl_main (int argc, char **argv)
{
  const char *ctl = g_getenv ("SK_ENV_CTL");
  if (ctl == NULL || argc < 1)
    {
      g_printerr ("%s", usage);
      return 2;
    }
  g_autoptr (GString) line = g_string_new (NULL);
  for (int i = 0; i < argc; i++)
    {
      g_autofree char *arg = g_strdup (argv[i]);
      /* The image is named as the caller sees it; the server's cwd differs. */
      if (i == 2 && g_str_equal (argv[0], "plug") && !g_path_is_absolute (arg))
        {
          g_autofree char *cwd = g_get_current_dir ();
          g_free (arg);
          arg = g_build_filename (cwd, argv[i], NULL);
        }
      if (strchr (arg, '\t') != NULL || strchr (arg, '\n') != NULL)
        {
          g_printerr ("sk-station-env: an argument holds a tab or a newline\n");
          return 2;
        }
      g_string_append_printf (line, "%s%s", i > 0 ? "\t" : "", arg);
    }
  g_string_append_c (line, '\n');

  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) addr = g_unix_socket_address_new (ctl);
  g_autoptr (GSocketConnection) conn =
      g_socket_client_connect (client, G_SOCKET_CONNECTABLE (addr), NULL, &error);
  if (conn == NULL)
    {
      g_printerr ("sk-station-env: %s\n", error->message);
      return 1;
    }
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  if (!g_output_stream_write_all (out, line->str, line->len, NULL, NULL, &error))
    {
      g_printerr ("sk-station-env: %s\n", error->message);
      return 1;
    }
  g_autoptr (GDataInputStream) in =
      g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (conn)));
  g_autofree char *reply = g_data_input_stream_read_line (in, NULL, NULL, &error);
  if (reply == NULL)
    {
      g_printerr ("sk-station-env: no answer%s%s\n", error != NULL ? ": " : "",
                  error != NULL ? error->message : "");
      return 1;
    }
  g_print ("%s\n", reply);
  return g_str_has_prefix (reply, "ok") ? 0 : 1;
}

/* ---- the outer run ---------------------------------------------------------- */

static void
copy_file (const char *from, const char *to, int mode)
{
  g_autofree char *text = NULL;
  gsize len;
  g_autoptr (GError) error = NULL;
  if (!g_file_get_contents (from, &text, &len, &error) ||
      !g_file_set_contents_full (to, text, (gssize)len, G_FILE_SET_CONTENTS_NONE, mode, &error))
    g_error ("copying %s: %s", from, error->message);
  g_assert_cmpint (g_chmod (to, mode), ==, 0);
}

static char *
run_text (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) p = g_subprocess_newv (
      argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
  g_autofree char *out = NULL;
  if (p == NULL || !g_subprocess_communicate_utf8 (p, NULL, NULL, &out, NULL, &error))
    return NULL;
  if (!g_subprocess_get_successful (p))
    return NULL;
  return g_steal_pointer (&out);
}

/* Loop devices are not namespaced: detach every one whose backing file lies
 * under DIR, whatever state the inner run ended in. */
static void
detach_loops_under (const char *dir)
{
  const char *list[] = { "losetup",        "--list", "--noheadings", "--raw", "--output",
                         "NAME,BACK-FILE", NULL };
  g_autofree char *out = run_text (list);
  if (out == NULL)
    return;
  g_autofree char *prefix = g_strconcat (dir, "/", NULL);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    {
      g_auto (GStrv) f = g_strsplit (*l, " ", 2);
      if (f[0] == NULL || f[1] == NULL || !g_str_has_prefix (f[1], prefix))
        continue;
      const char *detach[] = { "losetup", "--detach", f[0], NULL };
      g_free (run_text (detach));
    }
}

typedef struct
{
  GMainLoop *loop;
  GSubprocess *inner; /* unshare */
  int status;
  guint kill_timer;
} Outer;

/* The first process of the namespace, as this side sees it: unshare's one
 * child.  0 when there is none (yet). */
static pid_t
namespace_init (GSubprocess *unshare)
{
  const char *id = g_subprocess_get_identifier (unshare);
  if (id == NULL)
    return 0;
  g_autofree char *path = g_strdup_printf ("/proc/%s/task/%s/children", id, id);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  return (pid_t)g_ascii_strtoll (text, NULL, 10);
}

static gboolean
outer_force (gpointer data)
{
  Outer *o = data;
  /* Ten seconds were not enough: unshare's child dies with it
   * (--kill-child), the whole namespace with that; this run still detaches
   * the loops and removes the folder. */
  g_subprocess_force_exit (o->inner);
  o->kill_timer = 0;
  return G_SOURCE_REMOVE;
}

static gboolean
outer_on_signal (gpointer data)
{
  Outer *o = data;
  /* unshare --fork ignores SIGINT and SIGTERM while it waits: the order to
   * stop goes to its child, pid 1 of the namespace, which stops COMMAND and
   * everything it started. */
  pid_t init = namespace_init (o->inner);
  if (init > 0)
    kill (init, SIGTERM);
  if (o->kill_timer == 0)
    o->kill_timer = g_timeout_add_seconds (init > 0 ? 10 : 1, outer_force, o);
  return G_SOURCE_CONTINUE;
}

static void
outer_on_exit (GObject *source, GAsyncResult *res, gpointer data)
{
  Outer *o = data;
  GSubprocess *p = G_SUBPROCESS (source);
  g_subprocess_wait_finish (p, res, NULL);
  if (g_subprocess_get_if_exited (p))
    o->status = g_subprocess_get_exit_status (p);
  else
    o->status = 128 + g_subprocess_get_term_sig (p);
  g_main_loop_quit (o->loop);
}

static int
outer_main (gboolean no_service, char **command)
{
  if (geteuid () != 0)
    {
      g_printerr ("sk-station-env: needs root (a private mount namespace, test users, loop "
                  "devices)\n");
      return 77;
    }
  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("sk-env-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (tmp, 0755), ==, 0);
  sk_test_bus_write_user_db (tmp);

  const char *subdirs[] = { "actions", "rules.d", "empty", "run" };
  for (gsize i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *d = g_build_filename (tmp, subdirs[i], NULL);
      g_assert_cmpint (g_mkdir (d, 0755), ==, 0);
    }
  g_autofree char *action_file = g_build_filename (tmp, "actions", "jp.sekisho.policy", NULL);
  g_autofree char *rule_file = g_build_filename (tmp, "rules.d", "50-sekisho.rules", NULL);
  copy_file (path_or ("SK_POLKIT_ACTIONS", SK_BUILD_ROOT "/policies/jp.sekisho.policy"),
             action_file, 0644);
  copy_file (path_or ("SK_POLKIT_RULES", SK_SOURCE_ROOT "/policies/jp.sekisho.rules"), rule_file,
             0644);

  const char *script = "set -e\n"
                       "T=$1; shift\n"
                       "mount --bind \"$T/passwd\" /etc/passwd\n"
                       "mount --bind \"$T/group\" /etc/group\n"
                       "mount --bind \"$T/actions\" /usr/share/polkit-1/actions\n"
                       "mount --bind \"$T/rules.d\" /etc/polkit-1/rules.d\n"
                       "mount --bind \"$T/empty\" /usr/share/polkit-1/rules.d\n"
                       "mount -t tmpfs -o mode=0711,nosuid,nodev,noexec tmpfs \"$T/run\"\n"
                       "SK_ENV_TMP=$T LD_PRELOAD=libumockdev-preload.so.0 exec \"$@\"\n";
  g_autofree char *self = g_file_read_link ("/proc/self/exe", &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  const char *head[] = {
    "unshare",      "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child",
    "--mount-proc", "--",      "/bin/sh",       "-c",      script,  "sh",     tmp,
    self,           "--inner"
  };
  for (gsize i = 0; i < G_N_ELEMENTS (head); i++)
    g_ptr_array_add (args, (gpointer)head[i]);
  if (no_service)
    g_ptr_array_add (args, (gpointer) "--no-service");
  g_ptr_array_add (args, (gpointer) "--");
  for (char **c = command; *c != NULL; c++)
    g_ptr_array_add (args, *c);
  g_ptr_array_add (args, NULL);

  Outer o = { g_main_loop_new (NULL, FALSE), NULL, 1, 0 };
  o.inner = g_subprocess_newv ((const char *const *)args->pdata, G_SUBPROCESS_FLAGS_NONE, &error);
  g_assert_no_error (error);
  /* Ctrl-C reaches the whole foreground group; this run waits for the
   * inner one to clean up, then cleans up after it. */
  guint sigs[] = { g_unix_signal_add (SIGINT, outer_on_signal, &o),
                   g_unix_signal_add (SIGTERM, outer_on_signal, &o),
                   g_unix_signal_add (SIGHUP, outer_on_signal, &o) };
  g_subprocess_wait_async (o.inner, NULL, outer_on_exit, &o);
  g_main_loop_run (o.loop);
  for (gsize i = 0; i < G_N_ELEMENTS (sigs); i++)
    g_source_remove (sigs[i]);
  if (o.kill_timer != 0)
    g_source_remove (o.kill_timer);

  /* The namespace is gone with the inner run, its mounts too. */
  detach_loops_under (tmp);
  const char *rm[] = { "rm", "-rf", "--one-file-system", tmp, NULL };
  g_free (run_text (rm));
  g_object_unref (o.inner);
  g_main_loop_unref (o.loop);
  return o.status;
}

/* ---- the inner run ---------------------------------------------------------- */

typedef struct
{
  char *name;
  char *syspath;  /* the disk's */
  char *devnode;  /* /dev/loopN */
  GPtrArray *ids; /* syspaths to remove, deepest first */
} Stick;

static void
stick_free (Stick *s)
{
  g_free (s->name);
  g_free (s->syspath);
  g_free (s->devnode);
  g_ptr_array_unref (s->ids);
  g_free (s);
}

static struct
{
  char *tmp;
  char *address;
  SkTestStations st;
  GSubprocess *bus;
  GSubprocess *polkitd;
  GSubprocess *service;
  GSubprocess *command;
  UMockdevTestbed *tb;
  GHashTable *sticks; /* name → Stick */
  guint n_usb;
  GMainLoop *loop;
  int status;
} in;

static GSubprocess *
spawn_with_bus (const char *const *argv,
                GSubprocessFlags flags,
                gboolean preload,
                const char *stderr_path)
{
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (flags);
  if (stderr_path != NULL)
    g_subprocess_launcher_set_stderr_file_path (l, stderr_path);
  g_subprocess_launcher_setenv (l, "DBUS_SYSTEM_BUS_ADDRESS", in.address, TRUE);
  if (preload)
    {
      const char *old = g_getenv ("LD_PRELOAD");
      g_autofree char *pre = g_strdup_printf ("libumockdev-preload.so.0%s%s",
                                              old != NULL ? ":" : "", old != NULL ? old : "");
      g_subprocess_launcher_setenv (l, "LD_PRELOAD", pre, TRUE);
    }
  else
    g_subprocess_launcher_unsetenv (l, "UMOCKDEV_DIR");
  g_autoptr (GError) error = NULL;
  GSubprocess *p = g_subprocess_launcher_spawnv (l, argv, &error);
  if (p == NULL)
    g_error ("starting %s: %s", argv[0], error->message);
  return p;
}

static void
write_public (const char *files, const char *name, GBytes *data)
{
  g_autofree char *path = g_build_filename (files, name, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents_full (path, g_bytes_get_data (data, NULL),
                                           (gssize)g_bytes_get_size (data),
                                           G_FILE_SET_CONTENTS_NONE, 0644, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
}

static char *
stick_plug (char **f, guint n, GError **error)
{
  if (n < 3)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "plug NAME IMAGE [--serial S] [--vendor V] [--model M] [--composite]");
      return NULL;
    }
  const char *name = f[1], *image = f[2];
  const char *serial = "SKTEST0001", *vendor = "Sekisho Test", *model = "Demo Stick";
  gboolean composite = FALSE;
  for (guint i = 3; i < n; i++)
    {
      if (g_str_equal (f[i], "--composite"))
        composite = TRUE;
      else if (i + 1 < n && g_str_equal (f[i], "--serial"))
        serial = f[++i];
      else if (i + 1 < n && g_str_equal (f[i], "--vendor"))
        vendor = f[++i];
      else if (i + 1 < n && g_str_equal (f[i], "--model"))
        model = f[++i];
      else
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unknown option %s", f[i]);
          return NULL;
        }
    }
  if (g_hash_table_contains (in.sticks, name))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS, "%s is plugged already", name);
      return NULL;
    }
  GStatBuf st;
  if (g_lstat (image, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE, "%s is not a regular file",
                   image);
      return NULL;
    }
  const char *losetup[] = { "losetup", "--find", "--show", image, NULL };
  g_autofree char *devnode = run_text (losetup);
  if (devnode == NULL || !g_str_has_prefix (g_strchomp (devnode), "/dev/loop"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "losetup failed on %s", image);
      return NULL;
    }

  /* udev's MAJOR and MINOR: sekishod mounts only the block device of this
   * number through the node it names. */
  GStatBuf node;
  if (g_stat (devnode, &node) != 0 || !S_ISBLK (node.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s is not a block device", devnode);
      return NULL;
    }
  g_autofree char *maj = g_strdup_printf ("%u", major (node.st_rdev));
  g_autofree char *min = g_strdup_printf ("%u", minor (node.st_rdev));

  Stick *s = g_new0 (Stick, 1);
  s->name = g_strdup (name);
  s->devnode = g_steal_pointer (&devnode);
  s->ids = g_ptr_array_new_with_free_func (g_free);
  guint k = ++in.n_usb;
  g_autofree char *usb_name = g_strdup_printf ("1-%u", k);
  char *usb = umockdev_testbed_add_device (
      in.tb, "usb", usb_name, NULL, "idVendor", "0781", "idProduct", "5567", "manufacturer", vendor,
      "product", model, "serial", serial, NULL, "DEVTYPE", "usb_device", "ID_VENDOR", vendor,
      "ID_MODEL", model, "ID_SERIAL_SHORT", serial, NULL);
  const char *classes_plain[] = { "08", NULL };
  const char *classes_bad[] = { "08", "03", NULL };
  const char *const *classes = composite ? classes_bad : classes_plain;
  g_autofree char *storage = NULL;
  g_autoptr (GPtrArray) ifaces = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; classes[i] != NULL; i++)
    {
      g_autofree char *iname = g_strdup_printf ("1-%u:1.%u", k, i);
      char *iface = umockdev_testbed_add_device (
          in.tb, "usb", iname, usb, "bInterfaceClass", classes[i], "bInterfaceSubClass", "06",
          "bInterfaceProtocol", "50", NULL, "DEVTYPE", "usb_interface", NULL);
      if (storage == NULL)
        storage = g_strdup (iface);
      g_ptr_array_add (ifaces, iface);
    }
  g_autofree char *size = g_strdup_printf ("%" G_GUINT64_FORMAT, (guint64)st.st_size / 512);
  /* Never a name used before in this run: umockdev keeps a removed disk's
   * /sys/block link, and adding the same name again aborts the testbed
   * (the 27th plug did, with "sd%c" of k % 26).  sda…sdz, then sdaa…: as
   * the kernel names them. */
  g_autofree char *disk_name =
      k < 26 ? g_strdup_printf ("sd%c", 'a' + k)
             : g_strdup_printf ("sd%c%c", 'a' + (char)(k / 26 - 1) % 26, 'a' + (char)(k % 26));
  s->syspath = umockdev_testbed_add_device (
      in.tb, "block", disk_name, storage, "size", size, "removable", "1", NULL, "DEVNAME",
      s->devnode, "DEVTYPE", "disk", "ID_BUS", "usb", "MAJOR", maj, "MINOR", min, NULL);
  g_ptr_array_add (s->ids, g_strdup (s->syspath));
  for (guint i = ifaces->len; i > 0; i--)
    g_ptr_array_add (s->ids, g_strdup (g_ptr_array_index (ifaces, i - 1)));
  g_ptr_array_add (s->ids, usb);
  umockdev_testbed_uevent (in.tb, s->syspath, "add");
  g_hash_table_insert (in.sticks, s->name, s);
  return g_strdup_printf ("ok %s %s", s->syspath, s->devnode);
}

static void
stick_pull (Stick *s)
{
  umockdev_testbed_uevent (in.tb, s->syspath, "remove");
  for (guint i = 0; i < s->ids->len; i++)
    umockdev_testbed_remove_device (in.tb, g_ptr_array_index (s->ids, i));
  /* The service may still hold the mount for a moment: detach lazily. */
  const char *detach[] = { "losetup", "--detach", s->devnode, NULL };
  g_free (run_text (detach));
}

static char *
stick_unplug (char **f, guint n, GError **error)
{
  Stick *s = n == 2 ? g_hash_table_lookup (in.sticks, f[1]) : NULL;
  if (s == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "nothing plugged as %s",
                   n == 2 ? f[1] : "(no name)");
      return NULL;
    }
  g_autofree char *reply = g_strdup_printf ("ok %s %s", s->syspath, s->devnode);
  stick_pull (s);
  g_hash_table_remove (in.sticks, f[1]);
  return g_steal_pointer (&reply);
}

static gboolean
on_ctl (GSocketService *service, GSocketConnection *conn, GObject *source, gpointer data)
{
  (void)service, (void)source, (void)data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GDataInputStream) rd =
      g_data_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (conn)));
  /* The clients are this run's own COMMAND: one short line each. */
  g_autofree char *line = g_data_input_stream_read_line (rd, NULL, NULL, &error);
  g_autofree char *reply = NULL;
  if (line != NULL)
    {
      g_auto (GStrv) f = g_strsplit (line, "\t", -1);
      guint n = g_strv_length (f);
      if (n > 0 && g_str_equal (f[0], "plug"))
        reply = stick_plug (f, n, &error);
      else if (n > 0 && g_str_equal (f[0], "unplug"))
        reply = stick_unplug (f, n, &error);
      else
        g_set_error (&error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "unknown request");
    }
  g_autofree char *text = g_strdup_printf ("%s\n", reply != NULL ? reply : "");
  if (reply == NULL)
    {
      g_free (text);
      text = g_strdup_printf ("error %s\n", error != NULL ? error->message : "empty request");
    }
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  g_output_stream_write_all (out, text, strlen (text), NULL, NULL, NULL);
  return TRUE;
}

static gboolean
inner_on_signal (gpointer data)
{
  (void)data;
  if (in.command != NULL)
    g_subprocess_send_signal (in.command, SIGTERM);
  else
    g_main_loop_quit (in.loop);
  return G_SOURCE_CONTINUE;
}

static void
inner_on_exit (GObject *source, GAsyncResult *res, gpointer data)
{
  (void)data;
  GSubprocess *p = G_SUBPROCESS (source);
  g_subprocess_wait_finish (p, res, NULL);
  in.status = g_subprocess_get_if_exited (p) ? g_subprocess_get_exit_status (p)
                                             : 128 + g_subprocess_get_term_sig (p);
  g_main_loop_quit (in.loop);
}

/* The last lines of a helper's log, each prefixed with its name. */
static void
print_tail (const char *who, const char *path)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &text, &len, NULL) || len == 0)
    return;
  g_auto (GStrv) lines = g_strsplit (g_strchomp (text), "\n", -1);
  guint n = g_strv_length (lines);
  for (guint i = n > 20 ? n - 20 : 0; i < n; i++)
    g_printerr ("%s: %s\n", who, lines[i]);
}

static int
stop (GSubprocess **proc)
{
  if (*proc == NULL)
    return 0;
  g_subprocess_send_signal (*proc, SIGTERM);
  g_subprocess_wait (*proc, NULL, NULL);
  int status = g_subprocess_get_if_exited (*proc) ? g_subprocess_get_exit_status (*proc) : -1;
  g_clear_object (proc);
  return status;
}

static int
inner_main (gboolean no_service, char **command)
{
  umask (077);
  /* This run is under umockdev's preload (the testbed it builds is only
   * visible to preloaded processes, its builder included); nothing it
   * starts is, but sekishod. */
  g_unsetenv ("LD_PRELOAD");
  sk_test_stations_set_serial (TRUE);
  in.tmp = g_strdup (g_getenv ("SK_ENV_TMP"));
  g_assert_nonnull (in.tmp);
  in.loop = g_main_loop_new (NULL, FALSE);
  in.sticks = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)stick_free);

  /* Keys and stations first: gpg forks, and the testbed's preload must not
   * be in anything but sekishod. */
  g_autofree char *stations = g_build_filename (in.tmp, "st", NULL);
  g_assert_cmpint (g_mkdir (stations, 0700), ==, 0);
  sk_test_stations_make (stations, &in.st);

  g_autofree char *files = g_build_filename (in.tmp, "files", NULL);
  g_assert_cmpint (g_mkdir (files, 0755), ==, 0);
  g_assert_cmpint (g_chmod (files, 0755), ==, 0);
  const char *policy_files[] = { "policy.json", "policy.json.sig" };
  for (gsize i = 0; i < G_N_ELEMENTS (policy_files); i++)
    {
      g_autofree char *from = g_build_filename (stations, policy_files[i], NULL);
      g_autofree char *to = g_build_filename (files, policy_files[i], NULL);
      copy_file (from, to, 0644);
    }
  write_public (files, "admin.pub", sk_test_keys.admin_pub);
  write_public (files, "standard.pub", sk_test_keys.standard_pub);
  write_public (files, "terminal.pub", sk_test_keys.terminal_pub);

  in.tb = umockdev_testbed_new ();
  g_autofree char *handoff = g_build_filename (in.tmp, "run", NULL);
  in.bus = sk_test_bus_start (
      in.tmp, path_or ("SK_BUS_POLICY", SK_SOURCE_ROOT "/packaging/dbus/jp.sekisho.Station1.conf"),
      &in.address);
  g_autoptr (GDBusConnection) bus = sk_test_bus_connect (in.address);
  const char *polkitd[] = { "/usr/lib/polkit-1/polkitd", "--no-debug", NULL };
  /* polkitd's own words go to a file, shown when the run fails or polkitd
   * ended before it was asked to (it once vanished on a loaded machine). */
  g_autofree char *polkitd_log = g_build_filename (in.tmp, "polkitd.log", NULL);
  in.polkitd = spawn_with_bus (polkitd, G_SUBPROCESS_FLAGS_NONE, FALSE, polkitd_log);
  sk_test_bus_wait_for_name (bus, "org.freedesktop.PolicyKit1");
  if (!no_service)
    {
      const char *service[] = { sekishod_path (), "--station", sk_station_get_dir (in.st.term),
                                "--handoff-root", handoff,     NULL };
      in.service = spawn_with_bus (service, G_SUBPROCESS_FLAGS_NONE, TRUE, NULL);
      sk_test_bus_wait_for_name (bus, BUS_NAME);
    }

  g_autoptr (GError) error = NULL;
  g_autofree char *ctl = g_build_filename (in.tmp, "ctl", NULL);
  g_autoptr (GSocketService) ctl_service = g_socket_service_new ();
  g_autoptr (GSocketAddress) ctl_addr = g_unix_socket_address_new (ctl);
  g_assert_true (g_socket_listener_add_address (G_SOCKET_LISTENER (ctl_service), ctl_addr,
                                                G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                                                NULL, NULL, &error));
  g_assert_no_error (error);
  /* Test users' clients (the GUI harness) plug and pull media too. */
  g_assert_cmpint (g_chmod (ctl, 0666), ==, 0);
  g_signal_connect (ctl_service, "incoming", G_CALLBACK (on_ctl), NULL);
  g_socket_service_start (ctl_service);

  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_unsetenv (l, "UMOCKDEV_DIR");
  g_subprocess_launcher_unsetenv (l, "SK_ENV_TMP");
  g_subprocess_launcher_setenv (l, "DBUS_SYSTEM_BUS_ADDRESS", in.address, TRUE);
  g_subprocess_launcher_setenv (l, "SK_ENV_DIR", in.tmp, TRUE);
  g_subprocess_launcher_setenv (l, "SK_ENV_STATION", sk_station_get_dir (in.st.term), TRUE);
  g_subprocess_launcher_setenv (l, "SK_ENV_STANDARD", sk_station_get_dir (in.st.std), TRUE);
  g_subprocess_launcher_setenv (l, "SK_ENV_HANDOFF", handoff, TRUE);
  g_subprocess_launcher_setenv (l, "SK_ENV_GNUPG_ADMIN", sk_test_gpg_get_home (sk_test_keys.gpg),
                                TRUE);
  g_subprocess_launcher_setenv (l, "SK_ENV_CTL", ctl, TRUE);
  g_subprocess_launcher_setenv (l, "SEKISHOD", sekishod_path (), TRUE);
  g_subprocess_launcher_setenv (l, "SEKISHO_CLI", cli_path (), TRUE);
  in.command = g_subprocess_launcher_spawnv (l, (const char *const *)command, &error);
  if (in.command == NULL)
    {
      g_printerr ("sk-station-env: %s\n", error->message);
      in.status = 127;
    }
  else
    {
      guint sigs[] = { g_unix_signal_add (SIGINT, inner_on_signal, NULL),
                       g_unix_signal_add (SIGTERM, inner_on_signal, NULL),
                       g_unix_signal_add (SIGHUP, inner_on_signal, NULL) };
      g_subprocess_wait_async (in.command, NULL, inner_on_exit, NULL);
      g_main_loop_run (in.loop);
      for (gsize i = 0; i < G_N_ELEMENTS (sigs); i++)
        g_source_remove (sigs[i]);
      g_clear_object (&in.command);
    }

  g_socket_service_stop (ctl_service);
  int service_status = stop (&in.service);
  if (service_status != 0)
    g_printerr ("sk-station-env: sekishod ended with status %d\n", service_status);
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, in.sticks);
  while (g_hash_table_iter_next (&it, NULL, &value))
    stick_pull (value);
  g_hash_table_unref (in.sticks);
  gboolean polkitd_gone = g_subprocess_get_identifier (in.polkitd) == NULL;
  if (polkitd_gone)
    g_printerr ("sk-station-env: polkitd had ended before the run did\n");
  stop (&in.polkitd);
  if (polkitd_gone || in.status != 0)
    print_tail ("polkitd", polkitd_log);
  stop (&in.bus);
  g_clear_object (&in.tb);
  sk_test_stations_clear (&in.st);
  sk_test_keys_free ();
  g_main_loop_unref (in.loop);
  g_free (in.address);
  g_free (in.tmp);
  /* A service that did not end cleanly fails the run (a leak under
   * LeakSanitizer shows here too). */
  return in.status != 0 ? in.status : (service_status != 0 ? 1 : 0);
}

int
main (int argc, char **argv)
{
  if (argc >= 2 && g_str_equal (argv[1], "ctl"))
    return ctl_main (argc - 2, argv + 2);
  gboolean inner = FALSE, no_service = FALSE;
  int i = 1;
  for (; i < argc && !g_str_equal (argv[i], "--"); i++)
    {
      if (g_str_equal (argv[i], "--inner"))
        inner = TRUE;
      else if (g_str_equal (argv[i], "--no-service"))
        no_service = TRUE;
      else
        {
          g_printerr ("%s", usage);
          return g_str_equal (argv[i], "--help") || g_str_equal (argv[i], "-h") ? 0 : 2;
        }
    }
  if (i + 1 >= argc)
    {
      g_printerr ("%s", usage);
      return 2;
    }
  char **command = argv + i + 1;
  return inner ? inner_main (no_service, command) : outer_main (no_service, command);
}
