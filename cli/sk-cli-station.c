/* sk-cli-station.c — station init, station sweep */
#define G_LOG_DOMAIN "sekisho"

#include "config.h"

#include <glib/gi18n.h>
#include <unistd.h>

#include "sk-cli.h"
#include "sk-store.h"

static int
cmd_station_init (SkCli *cli, int argc, char **argv)
{
  g_autofree char *admin = NULL, *signing = NULL, *name = NULL;
  const GOptionEntry entries[] = {
    { "admin-key", 0, 0, G_OPTION_ARG_STRING, &admin,
      N_ ("Fingerprint of the policy administrator's key"), "FPR" },
    { "signing-key", 0, 0, G_OPTION_ARG_STRING, &signing,
      N_ ("Fingerprint of the station's own key"), "FPR" },
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, N_ ("The station's name"), "NAME" },
    { NULL },
  };
  int code;

  if (!sk_cli_parse_options (cli, entries, &argc, &argv, &code))
    return code;
  if (argc != 1 || admin == NULL || signing == NULL)
    return sk_cli_usage_error (cli, _ ("station init takes --admin-key FPR and --signing-key FPR"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station =
      sk_station_create (cli->station_dir, admin, signing, name, &error);
  if (station == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "station");
  json_builder_add_string_value (b, sk_station_get_dir (station));
  g_autofree char *msg = g_strdup_printf (_ ("Station created in %s."), cli->station_dir);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

static int
cmd_station_sweep (SkCli *cli, int argc, char **argv)
{
  int code;

  if (!sk_cli_parse_options (cli, NULL, &argc, &argv, &code))
    return code;
  if (argc != 1)
    return sk_cli_usage_error (cli, _ ("station sweep takes no arguments"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
  if (station == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  /* With a policy, everything with a deadline; without one, only stored
   * items have deadlines to keep. */
  g_autoptr (SkPolicy) policy = sk_station_load_policy (station, NULL);
  g_autoptr (SkPipeline) pipeline =
      policy != NULL ? sk_pipeline_new (station, policy, cli->handoff_root, &error) : NULL;
  g_autoptr (SkStore) store =
      policy == NULL ? sk_station_open_store (station, NULL, NULL, &error) : NULL;
  if (pipeline == NULL && store == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  gint64 deleted =
      pipeline != NULL ? sk_pipeline_sweep (pipeline, &error) : sk_store_sweep (store, &error);
  if (deleted < 0)
    return sk_cli_finish (cli, error, NULL, NULL);
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "deleted");
  json_builder_add_int_value (b, deleted);
  g_autofree char *msg = g_strdup_printf (
      g_dngettext (GETTEXT_PACKAGE, "%lld item was past its deadline and is deleted.",
                   "%lld items were past their deadline and are deleted.", (gulong)deleted),
      (long long)deleted);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

static const SkCliCommand station_commands[] = {
  { "init", "--admin-key FPR --signing-key FPR [--name NAME]",
    N_ ("Create a station: its folders, its GnuPG home and its journal."),
    "sekisho station init --admin-key FPR --signing-key FPR --name terminal-1", cmd_station_init },
  { "sweep", "", N_ ("Delete everything whose retention period has ended, and journal it."),
    "sekisho station sweep", cmd_station_sweep },
  { NULL },
};

const SkCliGroup sk_cli_station_group = {
  "station",
  N_ ("The station:"),
  station_commands,
};
