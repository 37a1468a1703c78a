/* sk-cli-key.c — key import */
#define G_LOG_DOMAIN "sekisho"

#include "config.h"

#include <glib/gi18n.h>
#include <unistd.h>

#include "sk-cli.h"
#include "sk-journal.h"
#include "sk-keyring.h"
#include "sk-policy.h"

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
  g_autoptr (GPtrArray) fprs =
      sk_station_import_keys (station, sk_actor_for_process (SK_ROLE_ADMIN), argv[1], &error);
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

/* What a key is for on this station, from its configuration and policy. */
static void
key_roles (SkStation *station, SkPolicy *policy, const char *fpr, GPtrArray *roles)
{
  if (g_strcmp0 (sk_station_get_signing_key (station), fpr) == 0)
    g_ptr_array_add (roles, (gpointer) "station");
  if (g_strv_contains ((const char *const *)sk_station_get_admin_keys (station), fpr) ||
      (policy != NULL && g_strv_contains ((const char *const *)sk_policy_get_admins (policy), fpr)))
    g_ptr_array_add (roles, (gpointer) "admin");
  for (int d = 0; policy != NULL && d < 2; d++)
    {
      SkDirection dir = d == 0 ? SK_DIRECTION_TO_INTERMEDIATE : SK_DIRECTION_TO_STANDARD;
      if (g_strv_contains ((const char *const *)sk_policy_get_signers (policy, dir), fpr))
        g_ptr_array_add (roles,
                         (gpointer)(d == 0 ? "to-intermediate signer" : "to-standard signer"));
      if (g_strcmp0 (sk_policy_get_recipient (policy, dir), fpr) == 0)
        g_ptr_array_add (
            roles, (gpointer)(d == 0 ? "to-intermediate recipient" : "to-standard recipient"));
    }
}

/* The keys of STATION as JSON (into B) and, for a person, as lines. */
void
sk_cli_describe_keys (SkCli *cli,
                      SkStation *station,
                      SkPolicy *policy,
                      JsonBuilder *b,
                      GError **error_out,
                      gboolean *ok)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) keys = sk_keyring_list_keys (sk_station_get_keyring (station), &error);
  *ok = keys != NULL;
  if (keys == NULL)
    {
      g_propagate_error (error_out, g_steal_pointer (&error));
      return;
    }
  gint64 now = g_get_real_time ();
  json_builder_set_member_name (b, "keys");
  json_builder_begin_array (b);
  for (guint i = 0; i < keys->len; i++)
    {
      const SkKeyInfo *k = g_ptr_array_index (keys, i);
      g_autoptr (GPtrArray) roles = g_ptr_array_new ();
      key_roles (station, policy, k->fpr, roles);
      g_autofree char *uid = k->uid != NULL ? sk_escape_untrusted (k->uid) : NULL;
      g_autofree char *expires =
          k->expires > 0 ? sk_journal_format_time (k->expires * G_USEC_PER_SEC) : NULL;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "fingerprint");
      json_builder_add_string_value (b, k->fpr);
      json_builder_set_member_name (b, "uid");
      json_builder_add_string_value (b, uid);
      json_builder_set_member_name (b, "algorithm");
      json_builder_add_string_value (b, k->algo);
      json_builder_set_member_name (b, "expires");
      if (expires != NULL)
        json_builder_add_string_value (b, expires);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "expired");
      json_builder_add_boolean_value (b, k->expired);
      json_builder_set_member_name (b, "revoked");
      json_builder_add_boolean_value (b, k->revoked);
      json_builder_set_member_name (b, "secret");
      json_builder_add_boolean_value (b, k->has_secret);
      json_builder_set_member_name (b, "roles");
      json_builder_begin_array (b);
      for (guint r = 0; r < roles->len; r++)
        json_builder_add_string_value (b, g_ptr_array_index (roles, r));
      json_builder_end_array (b);
      json_builder_end_object (b);

      g_autofree char *when = NULL;
      if (k->revoked)
        when = g_strdup (_ ("revoked"));
      else if (k->expires > 0)
        {
          g_autofree char *at = sk_cli_format_local_time (k->expires * G_USEC_PER_SEC);
          g_autofree char *left = sk_cli_format_time_left (k->expires * G_USEC_PER_SEC, now);
          when = g_strdup_printf (_ ("expires %s (%s)"), at, left);
        }
      else
        when = g_strdup (_ ("never expires"));
      g_autoptr (GPtrArray) words = g_ptr_array_new ();
      for (guint r = 0; r < roles->len; r++)
        g_ptr_array_add (words, (gpointer)sk_cli_term (g_ptr_array_index (roles, r)));
      g_ptr_array_add (words, NULL);
      g_autofree char *role_text = g_strjoinv (_ (", "), (char **)words->pdata);
      sk_cli_print (cli, "%s  %-9s %s%s  %s%s%s\n", k->fpr, k->algo != NULL ? k->algo : "?",
                    k->has_secret ? _ ("secret, ") : "", when, *role_text != '\0' ? "[" : "",
                    role_text, *role_text != '\0' ? "]" : "");
      if (uid != NULL)
        sk_cli_print (cli, "    %s\n", uid);
    }
  json_builder_end_array (b);
}

static int
cmd_key_list (SkCli *cli, int argc, char **argv)
{
  int code;

  if (!sk_cli_parse_options (cli, NULL, &argc, &argv, &code))
    return code;
  if (argc != 1)
    return sk_cli_usage_error (cli, _ ("key list takes no arguments"));
  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
  if (station == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autoptr (SkPolicy) policy = sk_station_load_policy (station, NULL);
  gboolean ok;
  sk_cli_describe_keys (cli, station, policy, sk_cli_extra (cli), &error, &ok);
  if (!ok)
    return sk_cli_finish (cli, error, NULL, NULL);
  return sk_cli_finish (cli, NULL, _ ("The keys in the station's keyring and what each is for."),
                        NULL);
}

static const SkCliCommand key_commands[] = {
  { "import", "FILE",
    N_ ("Import public keys, and the secret key of the station's own fingerprint only."),
    "sekisho key import keys.gpg", cmd_key_import },
  { "list", "", N_ ("List the station's keys: fingerprint, expiry and what each is for."),
    "sekisho key list", cmd_key_list },
  { NULL },
};

const SkCliGroup sk_cli_key_group = {
  "key",
  N_ ("Keys:"),
  key_commands,
};
