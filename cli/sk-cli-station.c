/* sk-cli-station.c — station init, sweep, backup, restore */
#define G_LOG_DOMAIN "sekisho"

#include "config.h"

#include <glib/gi18n.h>
#include <unistd.h>

#include "sk-backup.h"
#include "sk-cli.h"
#include "sk-journal.h"
#include "sk-report.h"
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
  g_autoptr (SkStation) station = sk_station_create (cli->station_dir, admin, signing, name,
                                                     sk_actor_for_process (SK_ROLE_ADMIN), &error);
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

static const char *
text_of (JsonObject *o, const char *name, const char *fallback)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  return n != NULL && json_node_get_value_type (n) == G_TYPE_STRING ? json_node_get_string (n)
                                                                    : fallback;
}

static JsonObject *
object_of (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static JsonArray *
array_of (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

static gint64
utc_us (const char *text)
{
  g_autoptr (GDateTime) dt = text != NULL ? g_date_time_new_from_iso8601 (text, NULL) : NULL;
  return dt != NULL ? g_date_time_to_unix (dt) * G_USEC_PER_SEC : 0;
}

/* Station.Status's answer (the object of `station status --json`), for a
 * person: the same lines as in-process. */
static void
print_status_json (SkCli *cli, JsonObject *st, const char *no_policy)
{
  gint64 now = g_get_real_time ();
  JsonObject *station = object_of (st, "station");
  sk_cli_print (cli, _ ("Station “%s” in %s\n"), text_of (station, "name", ""),
                text_of (station, "dir", "?"));
  JsonObject *policy = object_of (st, "policy");
  if (policy != NULL)
    sk_cli_print (cli, _ ("Policy: serial %lld, %s\n"),
                  (long long)json_object_get_int_member_with_default (policy, "serial", 0),
                  text_of (policy, "sha256", "?"));
  else if (no_policy != NULL)
    sk_cli_print (cli, _ ("Policy: none installed (%s)\n"), no_policy);
  sk_cli_print (cli, _ ("Keys:\n"));
  JsonArray *keys = array_of (st, "keys");
  if (keys != NULL)
    sk_cli_print_keys (cli, keys);
  JsonObject *journal = object_of (st, "journal");
  gint64 head_seq = json_object_get_int_member_with_default (journal, "head_seq", 0);
  gint64 cp_seq = json_object_get_int_member_with_default (journal, "checkpoint_seq", -1);
  sk_cli_print (cli, _ ("Journal: %lld entries, head %s\n"), (long long)head_seq,
                text_of (journal, "head_hash", "?"));
  if (cp_seq >= 0)
    sk_cli_print (cli,
                  g_dngettext (GETTEXT_PACKAGE, "Newest checkpoint: seq %lld (%lld entry since)\n",
                               "Newest checkpoint: seq %lld (%lld entries since)\n",
                               (gulong)(head_seq - cp_seq)),
                  (long long)cp_seq, (long long)(head_seq - cp_seq));
  else
    sk_cli_print (cli, _ ("Newest checkpoint: none; make one with “sekisho journal checkpoint”\n"));
  JsonObject *store = object_of (st, "store");
  guint items = (guint)json_object_get_int_member_with_default (store, "items", 0);
  gint64 next = utc_us (text_of (store, "next_deadline", NULL));
  if (next > 0)
    {
      g_autofree char *at = sk_cli_format_local_time (next);
      g_autofree char *left = sk_cli_format_time_left (next, now);
      sk_cli_print (cli,
                    g_dngettext (GETTEXT_PACKAGE, "Store: %u item; the next is deleted %s (%s)\n",
                                 "Store: %u items; the next is deleted %s (%s)\n", items),
                    items, at, left);
    }
  else
    sk_cli_print (
        cli, g_dngettext (GETTEXT_PACKAGE, "Store: %u item\n", "Store: %u items\n", items), items);
  JsonArray *handed = array_of (st, "handed_off");
  for (guint i = 0; handed != NULL && i < json_array_get_length (handed); i++)
    {
      JsonObject *h = json_array_get_object_element (handed, i);
      gint64 deadline = utc_us (text_of (h, "deadline", NULL));
      g_autofree char *at = sk_cli_format_local_time (deadline);
      g_autofree char *left = sk_cli_format_time_left (deadline, now);
      sk_cli_print (cli, _ ("Upload folder: case %s, deleted %s (%s)\n"), text_of (h, "case", "?"),
                    at, left);
    }
  JsonArray *problems = array_of (st, "problems");
  for (guint i = 0; problems != NULL && i < json_array_get_length (problems); i++)
    sk_cli_print (cli, _ ("Problem: %s\n"), json_array_get_string_element (problems, i));
}

static int
cmd_station_status (SkCli *cli, int argc, char **argv)
{
  int code;

  if (!sk_cli_parse_options (cli, NULL, &argc, &argv, &code))
    return code;
  if (argc != 1)
    return sk_cli_usage_error (cli, _ ("station status takes no arguments"));
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) st = NULL;
  g_autoptr (GError) policy_error = NULL;
  if (sk_cli_use_service (cli))
    st = sk_cli_call_json (cli, "Station", "Status", NULL, NULL, &error);
  else
    {
      g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
      if (station == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      g_autoptr (SkPolicy) policy = sk_station_load_policy (station, &policy_error);
      /* The object is core's (sk-report.h), the same the service answers
       * with; the lines for a person are made from it either way.  Without
       * a pipeline it is read as it stands: nothing is written. */
      g_autoptr (JsonNode) status = sk_report_station_status (station, policy, NULL, NULL, &error);
      if (status != NULL)
        st = json_object_ref (json_node_get_object (status));
    }
  if (st == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  sk_cli_extra_merge (cli, st);
  print_status_json (cli, st, policy_error != NULL ? policy_error->message : NULL);
  return sk_cli_finish (cli, NULL, _ ("The station as it stands."), NULL);
}

/* Who the station takes the caller for.  Through the service: what the
 * bus daemon says of the caller (uid, groups) and the role that follows,
 * or why there is none.  In-process on a station the caller owns: the
 * caller, acting as its operator. */
static int
cmd_station_whoami (SkCli *cli, int argc, char **argv)
{
  int code;
  if (!sk_cli_parse_options (cli, NULL, &argc, &argv, &code))
    return code;
  if (argc != 1)
    return sk_cli_usage_error (cli, _ ("station whoami takes no arguments"));
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) who = NULL;
  if (sk_cli_use_service (cli))
    {
      who = sk_cli_call_json (cli, "Station", "WhoAmI", NULL, NULL, &error);
      if (who == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
    }
  else
    {
      SkActor actor = sk_cli_current_actor ();
      who = json_object_new ();
      json_object_set_int_member (who, "uid", actor.uid);
      json_object_set_string_member (who, "login", actor.login);
      json_object_set_string_member (who, "role", actor.role);
      json_object_set_null_member (who, "refusal");
    }
  sk_cli_extra_merge (cli, who);
  const char *login = text_of (who, "login", "?");
  gint64 uid = json_object_get_int_member_with_default (who, "uid", -1);
  const char *role = text_of (who, "role", NULL);
  g_autofree char *safe = sk_escape_untrusted (login);
  g_autofree char *msg = NULL;
  if (role != NULL)
    msg = g_strdup_printf (_ ("You are %s (uid %lld), in the %s role on this station."), safe,
                           (long long)uid, role);
  else
    msg = g_strdup_printf (
        _ ("You are %s (uid %lld), with no role on this station (%s): one of the groups "
           "sekisho-operator, sekisho-auditor or sekisho-admin, and only one, gives a role."),
        safe, (long long)uid, text_of (who, "refusal", "role-denied"));
  return sk_cli_finish (cli, NULL, msg, NULL);
}

static int
cmd_station_backup (SkCli *cli, int argc, char **argv)
{
  g_autofree char *out = NULL;
  const GOptionEntry entries[] = {
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, N_ ("The backup file to write (it must not exist)"),
      "FILE" },
    { NULL },
  };
  int code;

  if (!sk_cli_parse_options (cli, entries, &argc, &argv, &code))
    return code;
  if (argc != 1 || out == NULL)
    return sk_cli_usage_error (cli, _ ("station backup takes --out FILE"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
  if (station == NULL ||
      !sk_backup_write (station, sk_actor_for_process (SK_ROLE_ADMIN), out, &error))
    return sk_cli_finish (cli, error, NULL, NULL);
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "backup");
  json_builder_add_string_value (b, out);
  g_autofree char *safe = sk_escape_untrusted (out);
  g_autofree char *msg = g_strdup_printf (
      _ ("Backup written to %s: the journal, the policy, the public keys and the checkpoints. "
         "Keep it, and the station's secret key, off the station."),
      safe);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

static int
cmd_station_restore (SkCli *cli, int argc, char **argv)
{
  g_autofree char *checkpoint = NULL;
  const GOptionEntry entries[] = {
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint,
      N_ ("A checkpoint kept off the station (FILE and FILE.sig) that the backup must reach"),
      "FILE" },
    { NULL },
  };
  int code;

  if (!sk_cli_parse_options (cli, entries, &argc, &argv, &code))
    return code;
  if (argc != 2)
    return sk_cli_usage_error (cli, _ ("station restore takes one backup file"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
  if (station == NULL || !sk_backup_restore (station, sk_actor_for_process (SK_ROLE_ADMIN), argv[1],
                                             checkpoint, &error))
    return sk_cli_finish (cli, error, NULL, NULL);
  return sk_cli_finish (
      cli, NULL,
      _ ("Backup restored: the journal verifies and continues, the policy is installed again."),
      NULL);
}

static const SkCliCommand station_commands[] = {
  { "init", "--admin-key FPR --signing-key FPR [--name NAME]",
    N_ ("Create a station: its folders, its GnuPG home and its journal."),
    "sekisho station init --admin-key FPR --signing-key FPR --name terminal-1", cmd_station_init },
  { "status", "",
    N_ ("Show the station at a glance: policy, keys, journal, store and hand-off deadlines."),
    "sekisho station status", cmd_station_status },
  { "whoami", "",
    N_ ("Show who the station takes you for: your login, and your role or why you have none."),
    "sekisho station whoami", cmd_station_whoami },
  { "sweep", "", N_ ("Delete everything whose retention period has ended, and journal it."),
    "sekisho station sweep", cmd_station_sweep },
  { "backup", "--out FILE",
    N_ ("Write a signed backup of the journal, the policy, the public keys and the checkpoints; "
        "never the store's items or a secret key."),
    "sekisho station backup --out /media/backup/terminal-1.backup", cmd_station_backup },
  { "restore", "[--checkpoint CP.json] FILE",
    N_ ("Restore a backup onto a new station made with the same keys and name, after checking "
        "its signature and that it reaches the checkpoint shown."),
    "sekisho station restore --checkpoint 000000000042.json terminal-1.backup",
    cmd_station_restore },
  { NULL },
};

const SkCliGroup sk_cli_station_group = {
  "station",
  N_ ("The station:"),
  station_commands,
};
