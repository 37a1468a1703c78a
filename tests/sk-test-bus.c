/* sk-test-bus.c — a private system bus, test users and role groups */
#include "sk-test-bus.h"

#include <glib/gstdio.h>

const SkTestUser sk_test_users[] = {
  { "skop1", 61001, "sekisho-operator" },
  { "skop2", 61002, "sekisho-operator" },
  { "skaud", 61003, "sekisho-auditor" },
  { "skadm", 61004, "sekisho-admin" },
  { "sktwo", 61005, "sekisho-operator,sekisho-auditor" },
  { "sknone", 61006, "" },
};
const gsize sk_test_n_users = G_N_ELEMENTS (sk_test_users);

static void
write_text (const char *path, const char *text, int mode)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_NONE, mode, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
}

void
sk_test_bus_write_user_db (const char *dir)
{
  g_autofree char *passwd = NULL, *group = NULL;
  g_assert_true (g_file_get_contents ("/etc/passwd", &passwd, NULL, NULL));
  g_assert_true (g_file_get_contents ("/etc/group", &group, NULL, NULL));
  g_autoptr (GString) p = g_string_new (passwd);
  g_autoptr (GString) g = g_string_new (group);
  const char *roles[] = { "sekisho-operator", "sekisho-auditor", "sekisho-admin" };
  for (gsize i = 0; i < sk_test_n_users; i++)
    {
      g_string_append_printf (p, "%s:x:%u:%u::/nonexistent:/usr/sbin/nologin\n",
                              sk_test_users[i].name, sk_test_users[i].uid, sk_test_users[i].uid);
      g_string_append_printf (g, "%s:x:%u:\n", sk_test_users[i].name, sk_test_users[i].uid);
    }
  for (gsize r = 0; r < G_N_ELEMENTS (roles); r++)
    {
      g_string_append_printf (g, "%s:x:%" G_GSIZE_FORMAT ":", roles[r], 61101 + r);
      gboolean first = TRUE;
      for (gsize i = 0; i < sk_test_n_users; i++)
        {
          g_auto (GStrv) gs = g_strsplit (sk_test_users[i].groups, ",", -1);
          if (g_strv_contains ((const char *const *)gs, roles[r]))
            {
              g_string_append_printf (g, "%s%s", first ? "" : ",", sk_test_users[i].name);
              first = FALSE;
            }
        }
      g_string_append_c (g, '\n');
    }
  g_autofree char *pp = g_build_filename (dir, "passwd", NULL);
  g_autofree char *gp = g_build_filename (dir, "group", NULL);
  write_text (pp, p->str, 0644);
  write_text (gp, g->str, 0644);
}

/* The stock system.conf's default context, as Debian 12 ships it. */
static const char stock_default_policy[] =
    "  <policy context=\"default\">\n"
    "    <allow user=\"*\"/>\n"
    "    <deny own=\"*\"/>\n"
    "    <deny send_type=\"method_call\"/>\n"
    "    <allow send_type=\"signal\"/>\n"
    "    <allow send_requested_reply=\"true\" send_type=\"method_return\"/>\n"
    "    <allow send_requested_reply=\"true\" send_type=\"error\"/>\n"
    "    <allow receive_type=\"method_call\"/>\n"
    "    <allow receive_type=\"method_return\"/>\n"
    "    <allow receive_type=\"error\"/>\n"
    "    <allow receive_type=\"signal\"/>\n"
    "    <allow send_destination=\"org.freedesktop.DBus\" "
    "send_interface=\"org.freedesktop.DBus\"/>\n"
    "    <allow send_destination=\"org.freedesktop.DBus\" "
    "send_interface=\"org.freedesktop.DBus.Introspectable\"/>\n"
    "    <allow send_destination=\"org.freedesktop.DBus\" "
    "send_interface=\"org.freedesktop.DBus.Properties\"/>\n"
    "    <deny send_destination=\"org.freedesktop.DBus\" send_interface=\"org.freedesktop.DBus\" "
    "send_member=\"UpdateActivationEnvironment\"/>\n"
    "    <deny send_destination=\"org.freedesktop.DBus\" "
    "send_interface=\"org.freedesktop.DBus.Debug.Stats\"/>\n"
    "    <deny send_destination=\"org.freedesktop.DBus\" "
    "send_interface=\"org.freedesktop.systemd1.Activator\"/>\n"
    "  </policy>\n";

GSubprocess *
sk_test_bus_start (const char *dir, const char *bus_policy, char **address)
{
  g_autofree char *conf = g_build_filename (dir, "bus.conf", NULL);
  g_autofree char *socket = g_build_filename (dir, "bus", NULL);
  g_autofree char *text = g_strdup_printf (
      "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN\"\n"
      " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
      "<busconfig>\n"
      "  <type>system</type>\n"
      "  <listen>unix:path=%s</listen>\n"
      "  <auth>EXTERNAL</auth>\n"
      "%s"
      "  <include>/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>\n"
      "  <include>%s</include>\n"
      "</busconfig>\n",
      socket, stock_default_policy, bus_policy);
  write_text (conf, text, 0644);

  const char *argv[] = {
    "dbus-daemon", "--config-file", conf, "--nofork", "--print-address=1", NULL
  };
  g_autoptr (GError) error = NULL;
  GSubprocess *bus = g_subprocess_newv (
      argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
  g_assert_no_error (error);
  g_autoptr (GDataInputStream) out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (bus));
  *address = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (*address);
  return bus;
}

void
sk_test_bus_wait_for_name (GDBusConnection *bus, const char *name)
{
  for (int i = 0; i < 200; i++)
    {
      g_autoptr (GVariant) r = g_dbus_connection_call_sync (
          bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
          "NameHasOwner", g_variant_new ("(s)", name), G_VARIANT_TYPE ("(b)"),
          G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL);
      gboolean has = FALSE;
      if (r != NULL)
        g_variant_get (r, "(b)", &has);
      if (has)
        return;
      g_usleep (50 * 1000);
    }
  g_error ("%s never appeared on the bus", name);
}

GDBusConnection *
sk_test_bus_connect (const char *address)
{
  g_autoptr (GError) error = NULL;
  GDBusConnection *c =
      g_dbus_connection_new_for_address_sync (address,
                                              G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                  G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                              NULL, NULL, &error);
  g_assert_no_error (error);
  return c;
}
