/* sk-cli-key.c — key import */
#define G_LOG_DOMAIN "sekisho"

#include "config.h"

#include <glib/gi18n.h>
#include <unistd.h>

#include "sk-cli.h"

static int
cmd_key_import (SkCli *cli, int argc, char **argv)
{
  int code;

  if (!sk_cli_parse_options (cli, NULL, &argc, &argv, &code))
    return code;
  if (argc != 2)
    return sk_cli_usage_error (cli, _ ("key import takes one FILE"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
  if (station == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autoptr (GPtrArray) fprs = sk_station_import_keys (station, argv[1], &error);
  if (fprs == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);

  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "fingerprints");
  json_builder_begin_array (b);
  g_autoptr (GString) msg = g_string_new (NULL);
  g_string_append_printf (
      msg, g_dngettext (GETTEXT_PACKAGE, "Imported %u key:", "Imported %u keys:", fprs->len),
      fprs->len);
  for (guint i = 0; i < fprs->len; i++)
    {
      json_builder_add_string_value (b, g_ptr_array_index (fprs, i));
      g_string_append_printf (msg, " %s", (const char *)g_ptr_array_index (fprs, i));
    }
  json_builder_end_array (b);
  return sk_cli_finish (cli, NULL, msg->str, NULL);
}

static const SkCliCommand key_commands[] = {
  { "import", "FILE",
    N_ ("Import public keys, and the secret key of the station's own fingerprint only."),
    "sekisho key import keys.gpg", cmd_key_import },
  { NULL },
};

const SkCliGroup sk_cli_key_group = {
  "key",
  N_ ("Keys:"),
  key_commands,
};
