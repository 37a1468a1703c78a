/* sk-cli-station.c — station init, sweep, backup, restore */
#define G_LOG_DOMAIN "sekisho"

#include "config.h"

#include <glib/gi18n.h>
#include <unistd.h>

#include "sk-backup.h"
#include "sk-cli.h"
#include "sk-journal.h"
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

static int
cmd_station_status (SkCli *cli, int argc, char **argv)
{
  int code;

  if (!sk_cli_parse_options (cli, NULL, &argc, &argv, &code))
    return code;
  if (argc != 1)
    return sk_cli_usage_error (cli, _ ("station status takes no arguments"));
  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
  if (station == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  JsonBuilder *b = sk_cli_extra (cli);
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  gint64 now = g_get_real_time ();
  const char *name = sk_station_get_name (station);
  g_autofree char *safe_name = sk_escape_untrusted (name != NULL ? name : "");
  g_autofree char *safe_dir = sk_escape_untrusted (sk_station_get_dir (station));

  json_builder_set_member_name (b, "station");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, safe_name);
  json_builder_set_member_name (b, "dir");
  json_builder_add_string_value (b, safe_dir);
  json_builder_set_member_name (b, "signing_key");
  json_builder_add_string_value (b, sk_station_get_signing_key (station));
  json_builder_end_object (b);
  sk_cli_print (cli, _ ("Station “%s” in %s\n"), safe_name, safe_dir);

  /* The policy. */
  g_autoptr (GError) policy_error = NULL;
  g_autoptr (SkPolicy) policy = sk_station_load_policy (station, &policy_error);
  json_builder_set_member_name (b, "policy");
  if (policy != NULL)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "serial");
      json_builder_add_int_value (b, sk_policy_get_serial (policy));
      json_builder_set_member_name (b, "sha256");
      json_builder_add_string_value (b, sk_policy_get_sha256 (policy));
      json_builder_end_object (b);
      sk_cli_print (cli, _ ("Policy: serial %lld, %s\n"), (long long)sk_policy_get_serial (policy),
                    sk_policy_get_sha256 (policy));
    }
  else
    {
      json_builder_add_null_value (b);
      sk_cli_print (cli, _ ("Policy: none installed (%s)\n"), policy_error->message);
    }

  /* The keys. */
  sk_cli_print (cli, _ ("Keys:\n"));
  gboolean ok;
  g_autoptr (GError) key_error = NULL;
  sk_cli_describe_keys (cli, station, policy, b, &key_error, &ok);
  if (!ok)
    return sk_cli_finish (cli, key_error, NULL, NULL);

  /* The journal and its newest checkpoint. */
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, TRUE, &error);
  if (journal == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  gint64 head_seq = 0, cp_seq = -1;
  g_autofree char *head = NULL;
  if (!sk_journal_head (journal, &head_seq, &head, &error))
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autofree char *checkpoint = sk_station_latest_checkpoint (station);
  if (checkpoint != NULL)
    {
      g_autoptr (GBytes) cp = sk_cli_read_small_file (checkpoint, NULL);
      if (cp == NULL || !sk_checkpoint_parse (cp, &cp_seq, NULL, NULL, NULL, NULL))
        g_ptr_array_add (problems, g_strdup (_ ("the newest checkpoint cannot be read")));
    }
  json_builder_set_member_name (b, "journal");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "head_seq");
  json_builder_add_int_value (b, head_seq);
  json_builder_set_member_name (b, "head_hash");
  json_builder_add_string_value (b, head);
  json_builder_set_member_name (b, "checkpoint_seq");
  if (cp_seq >= 0)
    json_builder_add_int_value (b, cp_seq);
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  sk_cli_print (cli, _ ("Journal: %lld entries, head %s\n"), (long long)head_seq, head);
  if (cp_seq >= 0)
    sk_cli_print (cli,
                  g_dngettext (GETTEXT_PACKAGE, "Newest checkpoint: seq %lld (%lld entry since)\n",
                               "Newest checkpoint: seq %lld (%lld entries since)\n",
                               (gulong)(head_seq - cp_seq)),
                  (long long)cp_seq, (long long)(head_seq - cp_seq));
  else
    sk_cli_print (cli, _ ("Newest checkpoint: none; make one with “sekisho journal checkpoint”\n"));

  /* The store and the hand-off folders, through the pipeline when a policy
   * is installed (it knows the cases), else the store alone. */
  g_autoptr (GError) pipe_error = NULL;
  g_autoptr (SkPipeline) pipeline =
      policy != NULL ? sk_pipeline_new (station, policy, cli->handoff_root, &pipe_error) : NULL;
  g_autoptr (SkStore) own_store =
      pipeline == NULL ? sk_station_open_store (station, NULL, NULL, &error) : NULL;
  SkStore *store = pipeline != NULL ? sk_pipeline_get_store (pipeline) : own_store;
  if (pipe_error != NULL)
    {
      g_autofree char *safe = sk_escape_untrusted (pipe_error->message);
      g_ptr_array_add (problems,
                       g_strdup_printf ("%s [%s]", safe, sk_error_get_reason (pipe_error)));
    }
  g_autoptr (GPtrArray) items = store != NULL ? sk_store_list (store, &error) : NULL;
  if (items == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  gint64 next = 0;
  for (guint i = 0; i < items->len; i++)
    {
      const SkItem *item = g_ptr_array_index (items, i);
      if (item->deadline_us > 0 && (next == 0 || item->deadline_us < next))
        next = item->deadline_us;
    }
  json_builder_set_member_name (b, "store");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "items");
  json_builder_add_int_value (b, items->len);
  json_builder_set_member_name (b, "next_deadline");
  if (next > 0)
    {
      g_autofree char *at = sk_journal_format_time (next);
      json_builder_add_string_value (b, at);
    }
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  if (next > 0)
    {
      g_autofree char *at = sk_cli_format_local_time (next);
      g_autofree char *left = sk_cli_format_time_left (next, now);
      sk_cli_print (cli,
                    g_dngettext (GETTEXT_PACKAGE, "Store: %u item; the next is deleted %s (%s)\n",
                                 "Store: %u items; the next is deleted %s (%s)\n", items->len),
                    items->len, at, left);
    }
  else
    sk_cli_print (
        cli, g_dngettext (GETTEXT_PACKAGE, "Store: %u item\n", "Store: %u items\n", items->len),
        items->len);

  json_builder_set_member_name (b, "handed_off");
  json_builder_begin_array (b);
  g_autoptr (GPtrArray) cases = pipeline != NULL ? sk_pipeline_list_cases (pipeline, NULL) : NULL;
  gint64 upload_minutes = policy != NULL ? sk_policy_get_retention (policy)->upload_minutes : 0;
  for (guint i = 0; cases != NULL && i < cases->len; i++)
    {
      const SkCase *c = g_ptr_array_index (cases, i);
      if (!g_str_equal (c->state, "handed-off"))
        continue;
      gint64 deadline = c->updated_us + upload_minutes * 60 * G_USEC_PER_SEC;
      g_autofree char *id = sk_escape_untrusted (c->id);
      g_autofree char *at_utc = sk_journal_format_time (deadline);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "case");
      json_builder_add_string_value (b, id);
      json_builder_set_member_name (b, "deadline");
      json_builder_add_string_value (b, at_utc);
      json_builder_end_object (b);
      g_autofree char *at = sk_cli_format_local_time (deadline);
      g_autofree char *left = sk_cli_format_time_left (deadline, now);
      sk_cli_print (cli, _ ("Upload folder: case %s, deleted %s (%s)\n"), id, at, left);
    }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "problems");
  json_builder_begin_array (b);
  for (guint i = 0; i < problems->len; i++)
    {
      json_builder_add_string_value (b, g_ptr_array_index (problems, i));
      sk_cli_print (cli, _ ("Problem: %s\n"), (const char *)g_ptr_array_index (problems, i));
    }
  json_builder_end_array (b);
  return sk_cli_finish (cli, NULL, _ ("The station as it stands."), NULL);
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
