/* test-fault.c — fault points exist in a test build and nowhere else */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <gio/gio.h>

#include "sk-fault.h"

static void
reach_points (void)
{
  sk_fault_point ("test-first");
  sk_fault_point ("test-second");
  sk_fault_point ("test-second");
  g_print ("survived\n");
}

/* Runs this test binary's child mode with SEKISHO_FAULT=SPEC; returns its
 * wait status. */
static int
run_child (const char *spec, char **out)
{
  g_autoptr (GSubprocessLauncher) launcher =
      g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  if (spec != NULL)
    g_subprocess_launcher_setenv (launcher, "SEKISHO_FAULT", spec, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "SEKISHO_FAULT");
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc = g_subprocess_launcher_spawn (
      launcher, &error, g_test_get_filename (G_TEST_BUILT, "test-fault", NULL), "--child", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, out, NULL, &error));
  g_assert_no_error (error);
  return g_subprocess_get_status (proc);
}

static void
test_points (void)
{
  g_autofree char *out1 = NULL, *out2 = NULL, *out3 = NULL, *out4 = NULL;
  int first = run_child ("test-first", &out1);
  int second = run_child ("test-second:2", &out2);
  int other = run_child ("no-such-point", &out3);
  int none = run_child (NULL, &out4);

  g_assert_true (WIFEXITED (other) && WEXITSTATUS (other) == 0);
  g_assert_cmpstr (out3, ==, "survived\n");
  g_assert_true (WIFEXITED (none) && WEXITSTATUS (none) == 0);
  g_assert_cmpstr (out4, ==, "survived\n");
  if (sk_fault_compiled_in ())
    {
      g_assert_true (WIFSIGNALED (first) && WTERMSIG (first) == SIGKILL);
      g_assert_true (WIFSIGNALED (second) && WTERMSIG (second) == SIGKILL);
      g_assert_cmpstr (out1, ==, "");
    }
  else
    {
      /* A production build never reads SEKISHO_FAULT. */
      g_assert_true (WIFEXITED (first) && WEXITSTATUS (first) == 0);
      g_assert_true (WIFEXITED (second) && WEXITSTATUS (second) == 0);
      g_assert_cmpstr (out1, ==, "survived\n");
    }
}

/* Without the option, the product holds no point at all: not one point's
 * name is in the command line's binary. */
static void
test_product_binary (void)
{
  const char *cli = g_getenv ("SEKISHO_CLI");
  g_assert_nonnull (cli);
  g_autofree char *bytes = NULL;
  gsize len;
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_get_contents (cli, &bytes, &len, &error));
  g_assert_no_error (error);
  const char needle[] = "store-put-before-fsync";
  gboolean found = memmem (bytes, len, needle, sizeof needle - 1) != NULL;
  g_assert_cmpint (found, ==, sk_fault_compiled_in ());
  if (!sk_fault_compiled_in ())
    g_assert_null (memmem (bytes, len, "SEKISHO_FAULT", strlen ("SEKISHO_FAULT")));
}

int
main (int argc, char **argv)
{
  if (argc == 2 && g_str_equal (argv[1], "--child"))
    {
      reach_points ();
      return 0;
    }
  g_test_init (&argc, &argv, NULL);
  g_test_message ("fault points compiled in: %s", sk_fault_compiled_in () ? "yes" : "no");
  g_test_add_func ("/fault/points", test_points);
  g_test_add_func ("/fault/product-binary", test_product_binary);
  return g_test_run ();
}
