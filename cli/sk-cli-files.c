/* sk-cli-files.c — validate, pack, check, unpack, inspect: the files and packages */
#define G_LOG_DOMAIN "sekisho"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <unistd.h>

#include "sk-cli.h"
#include "sk-journal.h"
#include "sk-package.h"
#include "sk-validator.h"

/* validate and pack read files: a folder named instead is a slip of the
 * command line, said as such (not "file-kind-unknown"). */
static gboolean
files_are_files (SkCli *cli, int argc, char **argv, int *out_exit)
{
  for (int i = 1; i < argc; i++)
    if (g_file_test (argv[i], G_FILE_TEST_IS_DIR))
      {
        g_autofree char *safe = sk_escape_untrusted (argv[i]);
        *out_exit = sk_cli_usage_error (cli, _ ("%s is a folder; name the files in it"), safe);
        return FALSE;
      }
  return TRUE;
}

static int
cmd_validate (SkCli *cli, int argc, char **argv)
{
  g_autofree char *policy_path = NULL;
  const GOptionEntry entries[] = {
    { "policy", 0, 0, G_OPTION_ARG_FILENAME, &policy_path,
      N_ ("Validate against this signed policy instead of the installed one"), "POLICY.json" },
    { NULL },
  };
  int code;

  if (!sk_cli_parse_options (cli, entries, &argc, &argv, &code))
    return code;
  if (argc < 2)
    return sk_cli_usage_error (cli, _ ("validate takes at least one FILE"));
  if (!files_are_files (cli, argc, argv, &code))
    return code;

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
  if (station == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autoptr (SkPolicy) policy = policy_path != NULL
                                    ? sk_station_check_policy (station, policy_path, &error)
                                    : sk_station_load_policy (station, &error);
  if (policy == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);

  g_autoptr (GPtrArray) reports =
      sk_validate_paths (policy, (const char *const *)argv + 1, NULL, &error);
  if (reports == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);

  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "files");
  json_builder_begin_array (b);
  for (guint i = 0; i < reports->len; i++)
    {
      SkFileReport *r = g_ptr_array_index (reports, i);
      g_autofree char *file = sk_escape_untrusted (r->file);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "file");
      json_builder_add_string_value (b, file);
      json_builder_set_member_name (b, "kind");
      if (r->kind != NULL)
        json_builder_add_string_value (b, sk_kind_get_id (r->kind));
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "ok");
      json_builder_add_boolean_value (b, sk_file_report_ok (r));
      json_builder_set_member_name (b, "records");
      json_builder_add_int_value (b, (gint64)r->records);
      json_builder_set_member_name (b, "size");
      json_builder_add_int_value (b, (gint64)r->size);
      json_builder_set_member_name (b, "case");
      if (r->case_id != NULL)
        {
          g_autofree char *case_id = sk_escape_untrusted (r->case_id);
          json_builder_add_string_value (b, case_id);
        }
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "truncated");
      json_builder_add_boolean_value (b, r->truncated);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);

  if (!cli->json)
    sk_cli_print_reports (cli, reports);
  g_autofree char *msg = g_strdup_printf (
      g_dngettext (GETTEXT_PACKAGE, "%u file is valid.", "All %u files are valid.", reports->len),
      reports->len);
  return sk_cli_finish (cli, NULL, msg, reports);
}

/* ---- packages ----------------------------------------------------------- */

static void
describe_manifest (SkCli *cli, const SkManifest *m, const char *signer)
{
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "package");
  json_builder_begin_object (b);
  const struct
  {
    const char *name, *value;
  } text[] = {
    { "package_id", m->package_id },
    { "workflow", m->workflow },
    { "direction", sk_direction_to_string (m->direction) },
    { "created_at", m->created_at },
    { "created_by", m->created_by },
    { "origin", m->origin },
    { "recipient", m->recipient },
    { "case_id", m->case_id },
    { "policy", m->policy },
    { "signer", signer },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (text); i++)
    {
      g_autofree char *safe = sk_escape_untrusted (text[i].value);
      json_builder_set_member_name (b, text[i].name);
      json_builder_add_string_value (b, safe);
    }
  json_builder_set_member_name (b, "files");
  json_builder_begin_array (b);
  for (guint i = 0; i < m->files->len; i++)
    {
      const SkManifestFile *f = g_ptr_array_index (m->files, i);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, f->name);
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, f->kind);
      json_builder_set_member_name (b, "size");
      json_builder_add_int_value (b, (gint64)f->size);
      json_builder_set_member_name (b, "sha256");
      json_builder_add_string_value (b, f->sha256);
      json_builder_set_member_name (b, "records");
      json_builder_add_int_value (b, f->records);
      json_builder_end_object (b);
      /* The name came from the package: escaped. */
      g_autofree char *safe_name = sk_escape_untrusted (f->name);
      sk_cli_print (cli,
                    g_dngettext (GETTEXT_PACKAGE, "  %s  %s  %llu bytes  %lld record  %s\n",
                                 "  %s  %s  %llu bytes  %lld records  %s\n", (gulong)f->records),
                    f->kind, safe_name, (unsigned long long)f->size, (long long)f->records,
                    f->sha256);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static int
cmd_pack (SkCli *cli, int argc, char **argv)
{
  g_autofree char *workflow = NULL, *case_id = NULL, *out = NULL;
  const GOptionEntry entries[] = {
    { "workflow", 0, 0, G_OPTION_ARG_STRING, &workflow,
      N_ ("subscriber, duplicate, inquiry or identity"), "W" },
    { "case", 0, 0, G_OPTION_ARG_STRING, &case_id, N_ ("The case (処理番号) of the files"), "ID" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, N_ ("Where to write the package"), "DIR" },
    { NULL },
  };
  int code;

  if (!sk_cli_parse_options (cli, entries, &argc, &argv, &code))
    return code;
  if (argc < 2 || workflow == NULL || case_id == NULL || out == NULL)
    return sk_cli_usage_error (cli, _ ("pack takes --workflow W --case ID --out DIR and FILE…"));
  /* A misspelt workflow is the operator's slip, not a refusal. */
  const char *const workflows[] = { "subscriber", "duplicate", "inquiry", "identity", NULL };
  if (!g_strv_contains (workflows, workflow))
    return sk_cli_usage_not_one_of (cli, _ ("workflow"), workflow, workflows);
  if (!files_are_files (cli, argc, argv, &code))
    return code;

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
  g_autoptr (SkPolicy) policy = station != NULL ? sk_station_load_policy (station, &error) : NULL;
  if (policy == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autofree char *path =
      sk_package_pack (station, policy, sk_actor_for_process (SK_ROLE_OPERATOR), workflow, case_id,
                       (const char *const *)argv + 1, out, NULL, NULL, &error);
  if (path == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "package");
  json_builder_add_string_value (b, path);
  g_autofree char *msg = g_strdup_printf (_ ("Package written: %s (and %s.sig)"), path, path);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

/* check, inspect and unpack: acceptance 1–5, and for unpack the files. */
static int
cmd_receive (SkCli *cli, int argc, char **argv)
{
  const char *command = cli->command->name;
  g_autofree char *out = NULL;
  const GOptionEntry unpack_entries[] = {
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, N_ ("Where to write the files"), "DIR" },
    { NULL },
  };
  gboolean unpack = g_str_equal (command, "unpack");
  int code;

  if (!sk_cli_parse_options (cli, unpack ? unpack_entries : NULL, &argc, &argv, &code))
    return code;
  if (argc != 2 || (unpack && out == NULL))
    return sk_cli_usage_error (cli, unpack ? _ ("unpack takes --out DIR and one PKG.tar.gpg")
                                           : _ ("this command takes one PKG.tar.gpg"));
  g_autofree char *safe_pkg = sk_escape_untrusted (argv[1]);
  if (g_str_has_suffix (argv[1], ".sig"))
    return sk_cli_usage_error (
        cli, _ ("%s is a signature; name the package beside it (the .tar.gpg)"), safe_pkg);
  if (g_file_test (argv[1], G_FILE_TEST_IS_DIR))
    return sk_cli_usage_error (cli, _ ("%s is a folder; name a package in it (a .tar.gpg)"),
                               safe_pkg);

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
  g_autoptr (SkPolicy) policy = station != NULL ? sk_station_load_policy (station, &error) : NULL;
  if (policy == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autoptr (GPtrArray) reports = NULL;
  /* Unpacking is journaled in core, refusals included. */
  g_autoptr (SkPackageResult) result =
      unpack ? sk_package_unpack (station, policy, sk_actor_for_process (SK_ROLE_OPERATOR), argv[1],
                                  out, &reports, NULL, NULL, &error)
             : sk_package_check (station, policy, argv[1], NULL, &reports, NULL, NULL, &error);
  if (result == NULL)
    return sk_cli_finish (cli, error, NULL, reports);

  if (!cli->json)
    g_print (_ ("Package %s, %s, case %s, signed by %s:\n"), result->manifest->package_id,
             result->manifest->workflow, result->manifest->case_id, result->signer);
  describe_manifest (cli, result->manifest, result->signer);
  g_autofree char *msg =
      unpack ? g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "The package's %u file is in %s.",
                                             "All %u files of the package are in %s.",
                                             result->manifest->files->len),
                                result->manifest->files->len, out)
             : g_strdup (_ ("The package passes every check."));
  return sk_cli_finish (cli, NULL, msg, NULL);
}

static const SkCliCommand files_commands[] = {
  { "validate", "[--policy POLICY.json] FILE…",
    N_ ("Check files against their kinds' layouts in the policy, record by record."),
    "sekisho validate KNY01_0000000001.csv", cmd_validate },
  { "pack", "--workflow W --case ID --out DIR FILE…",
    N_ ("Sign and encrypt files into a package for the other side."),
    "sekisho pack --workflow subscriber --case 0000000001 --out /media/usb0 "
    "KNY01_0000000001.csv",
    cmd_pack },
  { "check", "PKG.tar.gpg", N_ ("Check a package completely without writing anything."),
    "sekisho check /media/usb0/PKG.tar.gpg", cmd_receive },
  { "unpack", "--out DIR PKG.tar.gpg",
    N_ ("Check a package, then write all of its files into a folder, or none."),
    "sekisho unpack --out ~/batch /media/usb0/PKG.tar.gpg", cmd_receive },
  { "inspect", "PKG.tar.gpg", N_ ("Show the verified manifest of a package."),
    "sekisho inspect /media/usb0/PKG.tar.gpg", cmd_receive },
  { NULL },
};

const SkCliGroup sk_cli_files_group = {
  NULL,
  N_ ("Files and packages:"),
  files_commands,
};
