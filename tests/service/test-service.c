/* test-service.c — the real sekishod on a private system bus, with the real
 * polkitd, the tree's bus policy, polkit actions and rules, and test users
 *
 * One run, one service: the harness (sk-test-service.c) starts the bus,
 * polkitd and sekishod once, and the tests below run against them in this
 * order, each group in a file of its own (sk-test-service.h lists them).
 */
#include "config.h"

#include "sk-test-service.h"

int
main (int argc, char **argv)
{
  if (argc < 2 || !g_str_equal (argv[1], "--inner"))
    return outer_main (argc, argv);

  /* The inner run: drop "--inner" for GTest. */
  argv[1] = argv[0];
  argc--;
  argv++;
  g_test_init (&argc, &argv, NULL);
  setup ();
  g_test_add_func ("/service/roles", test_roles);
  g_test_add_func ("/service/one-role", test_no_single_role);
  g_test_add_func ("/service/who-am-i", test_who_am_i);
  g_test_add_func ("/service/verify-checkpoint", test_verify_checkpoint);
  g_test_add_func ("/service/journal-export", test_journal_export_options);
  g_test_add_func ("/service/job-owner", test_job_owner);
  g_test_add_func ("/service/workflow", test_workflow);
  g_test_add_func ("/service/load", test_load);
  g_test_add_func ("/service/killed", test_killed);
  g_test_add_func ("/service/cancel", test_cancel);
  if (g_getenv ("SK_SERVICE_BENCH_RECORDS") != NULL)
    g_test_add_func ("/service/bench-import", bench_import);
  g_test_add_func ("/service/systemd-journal", test_systemd_journal);
  g_test_add_func ("/service/station-dir-refused", test_station_dir_refused);
  int ret = g_test_run ();
  teardown ();
  return ret;
}
