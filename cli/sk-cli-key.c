/* sk-cli-key.c — key import */
#define G_LOG_DOMAIN "sekisho"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <unistd.h>

#include "sk-cli.h"
#include "sk-journal.h"
#include "sk-keyring.h"
#include "sk-policy.h"
#include "sk-report.h"

/* The key file, opened here with the caller's rights, to the service. */
static GPtrArray *
import_through_service (SkCli *cli, const char *path, GError **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      int errsv = errno;
      g_autofree char *safe = sk_escape_untrusted (path);
      g_autofree char *what = g_strdup_printf (_ ("opening %s"), safe);
      sk_error_set_from_errno (error, errsv, what);
      return NULL;
    }
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  gint32 h = sk_cli_fd_append (fds, fd, error);
  g_autoptr (GVariant) reply =
      h >= 0 ? sk_cli_call (cli, "Keys", "Import", g_variant_new ("(h)", h), fds, error) : NULL;
  if (reply == NULL)
    return NULL;
  g_autofree const char **list = NULL;
  g_variant_get (reply, "(^a&s)", &list);
  GPtrArray *fprs = g_ptr_array_new_with_free_func (g_free);
  for (gsize i = 0; list != NULL && list[i] != NULL; i++)
    g_ptr_array_add (fprs, g_strdup (list[i]));
  return fprs;
}

static int
cmd_key_import (SkCli *cli, int argc, char **argv)
{
  int code;

  if (!sk_cli_parse_options (cli, NULL, &argc, &argv, &code))
    return code;
  if (argc != 2)
    return sk_cli_usage_error (cli, _ ("key import takes one FILE"));

  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) fprs = NULL;
  if (sk_cli_use_service (cli))
    fprs = import_through_service (cli, argv[1], &error);
  else
    {
      g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
      if (station == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      fprs =
          sk_station_import_keys (station, sk_actor_for_process (SK_ROLE_ADMIN), argv[1], &error);
    }
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

/* Microseconds of an ISO 8601 time of a report, or 0. */
static gint64
report_time (const char *text)
{
  g_autoptr (GDateTime) dt = text != NULL ? g_date_time_new_from_iso8601 (text, NULL) : NULL;
  return dt != NULL ? g_date_time_to_unix (dt) * G_USEC_PER_SEC : 0;
}

/* The keys of STATION as JSON (into B, the one object of core/sk-report.h)
 * and, for a person, as lines made from that object. */
void
sk_cli_describe_keys (SkCli *cli,
                      SkStation *station,
                      SkPolicy *policy,
                      JsonBuilder *b,
                      GError **error_out,
                      gboolean *ok)
{
  g_autoptr (JsonBuilder) kb = json_builder_new ();
  json_builder_begin_object (kb);
  *ok = sk_report_add_keys (kb, station, policy, error_out);
  if (!*ok)
    return;
  json_builder_end_object (kb);
  g_autoptr (JsonNode) root = json_builder_get_root (kb);
  JsonNode *keys = json_object_get_member (json_node_get_object (root), "keys");
  json_builder_set_member_name (b, "keys");
  json_builder_add_value (b, json_node_copy (keys));
  sk_cli_print_keys (cli, json_node_get_array (keys));
}

void
sk_cli_print_keys (SkCli *cli, JsonArray *keys)
{
  gint64 now = g_get_real_time ();
  for (guint i = 0; i < json_array_get_length (keys); i++)
    {
      JsonObject *k = json_array_get_object_element (keys, i);
      const char *algo = json_object_get_string_member_with_default (k, "algorithm", NULL);
      const char *uid = json_object_get_string_member_with_default (k, "uid", NULL);
      gint64 expires =
          report_time (json_object_get_string_member_with_default (k, "expires", NULL));
      gboolean secret = json_object_get_boolean_member (k, "secret");
      g_autofree char *when = NULL;
      if (json_object_get_boolean_member (k, "revoked"))
        when = g_strdup (_ ("revoked"));
      else if (expires > 0)
        {
          g_autofree char *at = sk_cli_format_local_time (expires);
          g_autofree char *left = sk_cli_format_time_left (expires, now);
          when = g_strdup_printf (_ ("expires %s (%s)"), at, left);
        }
      else
        when = g_strdup (_ ("never expires"));
      JsonArray *roles = json_object_get_array_member (k, "roles");
      g_autoptr (GPtrArray) words = g_ptr_array_new ();
      for (guint r = 0; r < json_array_get_length (roles); r++)
        g_ptr_array_add (words, (gpointer)sk_cli_term (json_array_get_string_element (roles, r)));
      g_ptr_array_add (words, NULL);
      g_autofree char *role_text = g_strjoinv (_ (", "), (char **)words->pdata);
      sk_cli_print (cli, "%s  %-9s %s%s  %s%s%s\n",
                    json_object_get_string_member (k, "fingerprint"), algo != NULL ? algo : "?",
                    secret ? _ ("secret, ") : "", when, *role_text != '\0' ? "[" : "", role_text,
                    *role_text != '\0' ? "]" : "");
      if (uid != NULL)
        sk_cli_print (cli, "    %s\n", uid);
    }
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
  if (sk_cli_use_service (cli))
    {
      g_autoptr (JsonObject) keys = sk_cli_call_json (cli, "Keys", "List", NULL, NULL, &error);
      if (keys == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      sk_cli_extra_merge (cli, keys);
      JsonNode *list = json_object_get_member (keys, "keys");
      if (list != NULL && JSON_NODE_HOLDS_ARRAY (list))
        sk_cli_print_keys (cli, json_node_get_array (list));
      return sk_cli_finish (cli, NULL,
                            _ ("The keys in the station's keyring and what each is for."), NULL);
    }
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
