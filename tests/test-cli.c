/* test-cli.c — the real sekisho binary, end to end (DESIGN.md §8, §8a)
 *
 * Every test spawns the built CLI ($SEKISHO_CLI) and, for its input files,
 * the built generator ($SEKISHO_SYNTH), never through a shell.  One set of
 * keys is made per process; every test gets its own directory with an
 * administrator's workstation station (ADMIN/), an integration terminal
 * station (TERMINAL/) and the default policy ($SEKISHO_POLICY_DIR) filled in
 * with the test keys, signed on the workstation and installed on the
 * terminal, exactly as scripts/demo does it with the shell.
 *
 * Each case asserts the exit code and, with --json, that stdout is exactly
 * one JSON object with ok/reason/message/findings and the expected reason.
 * Synthetic data only: the personal-data checks look for the generator's own
 * fictitious values in everything the CLI prints.
 */
#define G_LOG_DOMAIN "sekisho-test"

#include "config.h"

#include "sk-test-cli.h"

/* ---- usage ----------------------------------------------------------------------------- */

static void
test_usage_no_command (void)
{
  g_autoptr (Run) r = sk ("--json", NULL);
  const char *bare[] = { keys->cli, NULL };
  g_autoptr (Run) h = run_argv (bare);

  expect_json (r, 2, "usage");
  expect_human (h, 2, "usage");
  g_assert_cmpstr (h->out, ==, "");
}

static void
test_usage_unknown_command (void)
{
  const char *words[] = { "frobnicate", HOSTILE, "\x1b[31mred\x1b[0m", "a\rb\nc", "policy", NULL };

  for (gsize w = 0; words[w] != NULL; w++)
    {
      g_autoptr (Run) r = sk ("--json", words[w], NULL);
      g_autoptr (Run) h = sk (words[w], NULL);

      expect_json (r, 2, "usage");
      expect_human (h, 2, "usage");
      g_assert_null (raw_byte_in (r));
      g_assert_null (raw_byte_in (h));
      /* Human mode: one line on stderr (an escaped newline too), nothing on stdout. */
      g_assert_cmpstr (h->out, ==, "");
      g_assert_true (strchr (h->err, '\n') == h->err + h->err_len - 1);
    }
  {
    g_autoptr (Run) r = sk ("--json", "frobnicate", NULL);
    JsonObject *obj = expect_json (r, 2, "usage");
    g_assert_nonnull (strstr (json_object_get_string_member (obj, "message"), "frobnicate"));
  }
}

static void
test_usage_help (void)
{
  g_autoptr (Run) r = sk ("--help", NULL);

  expect_status (r, 0);
  g_assert_true (g_str_has_prefix (r->out, "Usage: sekisho"));
  g_assert_nonnull (strstr (r->out, "validate"));
  g_assert_cmpstr (r->err, ==, "");
}

/* ---- main ---------------------------------------------------------------------------- */

static const char *
need_env (const char *name)
{
  const char *value = g_getenv (name);

  if (value == NULL || *value == '\0')
    {
      g_printerr ("test-cli: $%s is not set; run it with `meson test`\n", name);
      exit (77);
    }
  return value;
}

int
main (int argc, char **argv)
{
  const char *base = g_getenv ("TMPDIR");
  int ret;

  g_test_init (&argc, &argv, NULL);

  keys = g_new0 (Keys, 1);
  keys->cli = need_env ("SEKISHO_CLI");
  keys->synth = need_env ("SEKISHO_SYNTH");
  keys->policy_dir = need_env ("SEKISHO_POLICY_DIR");

  /* Before any thread, as setenv() is not thread-safe: a short $TMPDIR of
   * our own for the key home, every test's directory and the agents. */
  keys->root = g_build_filename (base != NULL && *base != '\0' ? base : "/tmp", "skc-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp (keys->root));
  g_assert_true (g_setenv ("TMPDIR", keys->root, TRUE));
  g_assert_cmpstr (g_get_tmp_dir (), ==, keys->root);

#define CLI_TEST(path, setup, func) g_test_add (path, Fixture, NULL, setup, func, teardown)

  CLI_TEST ("/cli/station/init", setup_bare, test_station_init);
  CLI_TEST ("/cli/station/init-not-empty", setup_bare, test_station_init_not_empty);
  CLI_TEST ("/cli/station/init-bad-fingerprint", setup_bare, test_station_init_bad_fingerprint);
  CLI_TEST ("/cli/key/import", setup_bare, test_key_import);
  CLI_TEST ("/cli/key/import-foreign-secret", setup_stations, test_key_import_foreign_secret);
  CLI_TEST ("/cli/policy/check", setup_stations, test_policy_check);
  CLI_TEST ("/cli/policy/bad-signature", setup_stations, test_policy_bad_signature);
  CLI_TEST ("/cli/policy/unsigned", setup_stations, test_policy_unsigned);
  CLI_TEST ("/cli/policy/untrusted-signer", setup_stations, test_policy_untrusted_signer);
  CLI_TEST ("/cli/policy/sig-armored", setup_stations, test_policy_armored);
  CLI_TEST ("/cli/policy/sign-invalid", setup_stations, test_policy_sign_invalid);
  CLI_TEST ("/cli/policy/sign-not-admin", setup_stations, test_policy_sign_not_admin);
  g_test_add_func ("/cli/usage/no-command", test_usage_no_command);
  g_test_add_func ("/cli/usage/unknown-command", test_usage_unknown_command);
  g_test_add_func ("/cli/usage/help", test_usage_help);
  CLI_TEST ("/cli/validate/all-kinds", setup_stations, test_validate_all_kinds);
  CLI_TEST ("/cli/validate/defects", setup_stations, test_validate_defects);
  CLI_TEST ("/cli/validate/kind-unknown", setup_stations, test_validate_kind_unknown);
  CLI_TEST ("/cli/validate/escaped-name", setup_stations, test_validate_escaped_name);
  CLI_TEST ("/cli/validate/missing-file", setup_stations, test_validate_missing_file);
  CLI_TEST ("/cli/validate/no-policy", setup_bare, test_validate_no_policy);

  CLI_TEST ("/cli/journal/verify-show-export", setup_stations, test_journal_commands);
  CLI_TEST ("/cli/journal/tampered", setup_stations, test_journal_tampered);
  CLI_TEST ("/cli/journal/foreign-checkpoint", setup_stations, test_journal_foreign_checkpoint);
  CLI_TEST ("/cli/station/sweep", setup_stations, test_station_sweep);
  CLI_TEST ("/cli/station/crashes", setup_stations, test_station_crashes);

  /* These two were known bugs when written (now fixed): a missing file
   * with an unknown name, and unescaped paths in messages. */
  CLI_TEST ("/cli/validate/missing-file-unknown-name", setup_stations,
            test_validate_missing_file_unknown_name);
  CLI_TEST ("/cli/escape/policy-and-key-paths", setup_stations, test_policy_escaped_paths);

  ret = g_test_run ();

  if (keys->gpg != NULL)
    sk_test_gpg_free (keys->gpg);
  g_free (keys->admin);
  g_free (keys->station);
  g_free (keys->standard);
  g_free (keys->mallory);
  g_free (keys->publics_file);
  g_free (keys->admin_secret_file);
  g_free (keys->station_secret_file);
  g_free (keys->mallory_secret_file);
  g_free (keys->mallory_public_file);
  sk_test_remove_tree (keys->root);
  g_free (keys->root);
  g_clear_pointer (&keys, g_free);
  return ret;
}
