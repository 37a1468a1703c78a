/* test-process.c — no core dumps and no same-user reads of a Sekisho process
 *
 * DESIGN.md §9 invariant 4 (no personal-data value in a core dump) and the
 * local adversary (another process of the same user) — sk-process.h.  The
 * CLI is checked as it really runs: as an ordinary user, stopped while it
 * writes (its --help fills a one-page pipe), another process of the same
 * user tries to read its /proc files, as it can for a program that did
 * not harden itself (the control).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <poll.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sk-process.h"

#define NOBODY 65534

static void
test_harden (void)
{
  /* In a child: the test runner stays dumpable for its own diagnostics. */
  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      g_autoptr (GError) error = NULL;
      if (prctl (PR_GET_DUMPABLE, 0, 0, 0, 0) != 1)
        _exit (10); /* the control: dumpable before */
      if (!sk_process_harden (&error))
        _exit (11);
      if (prctl (PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
        _exit (12);
      struct rlimit lim;
      if (getrlimit (RLIMIT_CORE, &lim) != 0 || lim.rlim_cur != 0 || lim.rlim_max != 0)
        _exit (13);
      _exit (0);
    }
  int status = 0;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

/* "Max core file size" soft and hard limits of PID, from /proc. */
static void
core_limits (pid_t pid, char **soft, char **hard)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/limits", (int)pid);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "Max core file size"))
      {
        g_auto (GStrv) words = g_strsplit_set (lines[i] + strlen ("Max core file size"), " ", -1);
        guint n = 0;
        for (guint k = 0; words[k] != NULL; k++)
          if (*words[k] != '\0')
            {
              if (n == 0)
                *soft = g_strdup (words[k]);
              else if (n == 1)
                *hard = g_strdup (words[k]);
              n++;
            }
        return;
      }
  g_assert_not_reached ();
}

/* Whether a process of uid NOBODY can open PID's environment (what a
 * ptrace-style reader of its memory needs too): errno, or 0 when it can. */
static int
nobody_reads_environ (pid_t pid)
{
  pid_t child = fork ();
  g_assert_cmpint (child, >=, 0);
  if (child == 0)
    {
      if (setgroups (0, NULL) != 0 || setresgid (NOBODY, NOBODY, NOBODY) != 0 ||
          setresuid (NOBODY, NOBODY, NOBODY) != 0)
        _exit (100);
      char path[64];
      g_snprintf (path, sizeof path, "/proc/%d/environ", (int)pid);
      int fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd >= 0)
        {
          char c;
          /* Reading is what the check guards; opening alone is not enough. */
          ssize_t n = read (fd, &c, 1);
          close (fd);
          _exit (n >= 0 ? 0 : (errno & 0x7f));
        }
      _exit (errno & 0x7f);
    }
  int status = 0;
  g_assert_cmpint (waitpid (child, &status, 0), ==, child);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), !=, 100);
  return WEXITSTATUS (status);
}

/* ARGV run as NOBODY with its stdout on a pipe of one page, which it
 * fills; returns once the first byte is there (the program is past its
 * start), with the read end in *OUT_FD. */
static GSubprocess *
spawn_stalled (const char *const *argv, int *out_fd)
{
  int fds[2];
  g_assert_cmpint (pipe2 (fds, O_CLOEXEC), ==, 0);
  g_assert_cmpint (fcntl (fds[1], F_SETPIPE_SZ, 4096), >=, 4096);
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_take_stdout_fd (l, fds[1]);
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  const char *setpriv[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups" };
  for (gsize i = 0; i < G_N_ELEMENTS (setpriv); i++)
    g_ptr_array_add (args, (gpointer)setpriv[i]);
  for (gsize i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer)argv[i]);
  g_ptr_array_add (args, NULL);
  g_autoptr (GError) error = NULL;
  GSubprocess *p = g_subprocess_launcher_spawnv (l, (const char *const *)args->pdata, &error);
  g_assert_no_error (error);
  struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
  g_assert_cmpint (poll (&pfd, 1, 60000), ==, 1);
  *out_fd = fds[0];
  return p;
}

static gboolean
is_running (pid_t pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int)pid);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  const char *end = strrchr (text, ')'); /* after the command name */
  return end != NULL && end[1] == ' ' && end[2] != 'Z' && end[2] != 'X';
}

static void
drain (int fd)
{
  char buf[4096];
  while (read (fd, buf, sizeof buf) > 0)
    ;
  close (fd);
}

static void
test_cli (void)
{
  if (geteuid () != 0)
    {
      g_test_skip ("needs root, to run the CLI and its reader as another user");
      return;
    }
  const char *cli = g_getenv ("SEKISHO_CLI");
  g_assert_nonnull (cli);

  /* The control: a program that does not harden itself is readable by
   * another process of its user (cat waits on a pipe nobody writes). */
  int control_in[2];
  g_assert_cmpint (pipe2 (control_in, O_CLOEXEC), ==, 0);
  g_autoptr (GSubprocessLauncher) cl = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_take_stdin_fd (cl, control_in[0]);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) control = g_subprocess_launcher_spawn (
      cl, &error, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "cat", NULL);
  g_assert_no_error (error);
  pid_t control_pid = (pid_t)g_ascii_strtoll (g_subprocess_get_identifier (control), NULL, 10);
  /* setpriv execs cat in place: wait until it has. */
  for (int i = 0; i < 600; i++)
    {
      g_autofree char *comm_path = g_strdup_printf ("/proc/%d/comm", (int)control_pid);
      g_autofree char *comm = NULL;
      if (g_file_get_contents (comm_path, &comm, NULL, NULL) && g_str_has_prefix (comm, "cat"))
        break;
      g_usleep (10000);
    }
  g_assert_cmpint (nobody_reads_environ (control_pid), ==, 0);
  close (control_in[1]);
  g_assert_true (g_subprocess_wait_check (control, NULL, &error));
  g_assert_no_error (error);

  /* The CLI, stopped in its output: no core file, not readable. */
  const char *argv[] = { cli, "--help", NULL };
  int out = -1;
  g_autoptr (GSubprocess) p = spawn_stalled (argv, &out);
  pid_t pid = (pid_t)g_ascii_strtoll (g_subprocess_get_identifier (p), NULL, 10);
  g_autofree char *soft = NULL, *hard = NULL;
  core_limits (pid, &soft, &hard);
  g_assert_cmpstr (soft, ==, "0");
  g_assert_cmpstr (hard, ==, "0");
  int err = nobody_reads_environ (pid);
  g_test_message ("another process of the CLI's user reading its environment: %s",
                  g_strerror (err));
  g_assert_cmpint (err, ==, EACCES);
  /* Still running after the check (its help is more than the pipe holds),
   * so the check saw the CLI and not a zombie. */
  g_assert_true (is_running (pid));
  drain (out);
  g_assert_true (g_subprocess_wait_check (p, NULL, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/process/harden", test_harden);
  g_test_add_func ("/process/cli", test_cli);
  return g_test_run ();
}
