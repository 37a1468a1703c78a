/* sk-cli-policy.c — policy set-keys, sign, check, install */
#define G_LOG_DOMAIN "sekisho"

#include "config.h"

#include <glib/gi18n.h>
#include <unistd.h>

#include "sk-cli.h"
#include "sk-keyring.h"
#include "sk-policy.h"
#include "sk-report.h"

/* The policy as core/sk-report.h defines it, into the answer's "policy";
 * returns that object (owned by the answer's builder's copy: valid until
 * the answer is finished). */
static JsonNode *
describe_policy (SkCli *cli, SkStation *station, SkPolicy *policy)
{
  g_autoptr (GPtrArray) keys = sk_keyring_list_keys (sk_station_get_keyring (station), NULL);
  g_autoptr (JsonBuilder) pb = json_builder_new ();
  sk_report_add_policy (pb, policy, keys);
  JsonNode *node = json_builder_get_root (pb);
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "policy");
  json_builder_add_value (b, json_node_ref (node));
  return node;
}

static int
cmd_policy_sign (SkCli *cli, int argc, char **argv)
{
  g_autofree char *key = NULL;
  const GOptionEntry entries[] = {
    { "key", 0, 0, G_OPTION_ARG_STRING, &key, N_ ("Fingerprint of the signing key"), "FPR" },
    { NULL },
  };
  int code;

  if (!sk_cli_parse_options (cli, entries, &argc, &argv, &code))
    return code;
  if (argc != 2 || key == NULL)
    return sk_cli_usage_error (cli, _ ("policy sign takes --key FPR and one POLICY.json"));
  g_autofree char *fpr = sk_fingerprint_normalize (key);
  if (fpr == NULL)
    return sk_cli_usage_error (cli, _ ("--key must be a fingerprint of 40 hex digits"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
  if (station == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);

  g_autofree char *contents = NULL;
  gsize len;
  if (!g_file_get_contents (argv[1], &contents, &len, &error))
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&contents), len);

  /* Never sign a policy that no station would load. */
  g_autoptr (SkPolicy) policy = sk_policy_new_from_bytes (bytes, &error);
  if (policy == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  if (!g_strv_contains (sk_policy_get_admins (policy), fpr))
    {
      g_set_error (&error, SK_ERROR, SK_ERROR_POLICY_UNTRUSTED_SIGNER,
                   _ ("%s is not listed in the policy's keys.admins"), fpr);
      return sk_cli_finish (cli, error, NULL, NULL);
    }

  g_autoptr (GBytes) sig =
      sk_keyring_sign_detached_bytes (sk_station_get_keyring (station), fpr, bytes, &error);
  if (sig == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autofree char *sig_path = g_strconcat (argv[1], ".sig", NULL);
  gsize sig_len;
  const char *sig_data = g_bytes_get_data (sig, &sig_len);
  if (!g_file_set_contents_full (sig_path, sig_data, (gssize)sig_len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644,
                                 &error))
    return sk_cli_finish (cli, error, NULL, NULL);

  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "signature");
  json_builder_add_string_value (b, sig_path);
  json_builder_set_member_name (b, "sha256");
  json_builder_add_string_value (b, sk_policy_get_sha256 (policy));
  g_autofree char *msg = g_strdup_printf (_ ("Signed: %s"), sig_path);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

static int
cmd_policy_check_or_install (SkCli *cli, int argc, char **argv, gboolean install)
{
  int code;

  if (!sk_cli_parse_options (cli, NULL, &argc, &argv, &code))
    return code;
  if (argc != 2)
    return sk_cli_usage_error (cli, _ ("policy check and policy install take one POLICY.json"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
  if (station == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autoptr (SkPolicy) policy =
      install ? sk_station_install_policy (station, sk_actor_for_process (SK_ROLE_ADMIN), argv[1],
                                           &error)
              : sk_station_check_policy (station, argv[1], &error);
  if (policy == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);

  /* The policy goes into the JSON output; the node is not needed here. */
  json_node_unref (describe_policy (cli, station, policy));
  g_autofree char *msg =
      g_strdup_printf (install ? _ ("Policy %s (serial %lld) installed, signed by %s.")
                               : _ ("Policy %s (serial %lld) is valid, signed by %s."),
                       sk_policy_get_sha256 (policy), (long long)sk_policy_get_serial (policy),
                       sk_policy_get_signer (policy));
  return sk_cli_finish (cli, NULL, msg, NULL);
}

static int
cmd_policy_check (SkCli *cli, int argc, char **argv)
{
  return cmd_policy_check_or_install (cli, argc, argv, FALSE);
}

static int
cmd_policy_install (SkCli *cli, int argc, char **argv)
{
  return cmd_policy_check_or_install (cli, argc, argv, TRUE);
}

static gboolean
normalize_list (
    char **in, gboolean allow_many, GStrv *out, const char *option, SkCli *cli, int *exit_code)
{
  guint n = in != NULL ? g_strv_length (in) : 0;

  if (n == 0 || (!allow_many && n != 1))
    {
      *exit_code = sk_cli_usage_error (
          cli, allow_many ? _ ("%s is needed at least once") : _ ("%s is needed exactly once"),
          option);
      return FALSE;
    }
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *fpr = sk_fingerprint_normalize (in[i]);
      if (fpr == NULL)
        {
          *exit_code =
              sk_cli_usage_error (cli, _ ("%s must be a fingerprint of 40 hex digits"), option);
          return FALSE;
        }
      g_strv_builder_add (builder, fpr);
    }
  *out = g_strv_builder_end (builder);
  return TRUE;
}

/* Fill the key section (DESIGN.md §5) of a policy, keeping everything else. */
static int
cmd_policy_set_keys (SkCli *cli, int argc, char **argv)
{
  g_auto (GStrv) admin = NULL, ti_signer = NULL, ti_recipient = NULL, ts_signer = NULL,
                 ts_recipient = NULL;
  g_autofree char *out = NULL;
  const GOptionEntry entries[] = {
    { "admin", 0, 0, G_OPTION_ARG_STRING_ARRAY, &admin,
      N_ ("Fingerprint of a policy administrator's key"), "FPR" },
    { "to-intermediate-signer", 0, 0, G_OPTION_ARG_STRING_ARRAY, &ti_signer,
      N_ ("A key that signs packages for the 中間サーバー side"), "FPR" },
    { "to-intermediate-recipient", 0, 0, G_OPTION_ARG_STRING_ARRAY, &ti_recipient,
      N_ ("The integration terminal's key"), "FPR" },
    { "to-standard-signer", 0, 0, G_OPTION_ARG_STRING_ARRAY, &ts_signer,
      N_ ("A key that signs packages for the 標準システム side"), "FPR" },
    { "to-standard-recipient", 0, 0, G_OPTION_ARG_STRING_ARRAY, &ts_recipient,
      N_ ("The standard system terminal's key"), "FPR" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, N_ ("Where to write the policy"), "FILE" },
    { NULL },
  };
  int code;

  if (!sk_cli_parse_options (cli, entries, &argc, &argv, &code))
    return code;
  if (argc != 2 || out == NULL)
    return sk_cli_usage_error (cli, _ ("policy set-keys takes one POLICY.json and --out FILE"));

  g_auto (GStrv) admins = NULL, tis = NULL, tir = NULL, tss = NULL, tsr = NULL;
  if (!normalize_list (admin, TRUE, &admins, "--admin", cli, &code) ||
      !normalize_list (ti_signer, TRUE, &tis, "--to-intermediate-signer", cli, &code) ||
      !normalize_list (ti_recipient, FALSE, &tir, "--to-intermediate-recipient", cli, &code) ||
      !normalize_list (ts_signer, TRUE, &tss, "--to-standard-signer", cli, &code) ||
      !normalize_list (ts_recipient, FALSE, &tsr, "--to-standard-recipient", cli, &code))
    return code;

  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len;
  if (!g_file_get_contents (argv[1], &contents, &len, &error))
    {
      g_autoptr (GError) wrapped =
          g_error_new (SK_ERROR, SK_ERROR_POLICY_INVALID, "%s", error->message);
      return sk_cli_finish (cli, wrapped, NULL, NULL);
    }
  g_autoptr (GBytes) document = g_bytes_new_take (g_steal_pointer (&contents), len);
  SkPolicyKeys keys = {
    .admins = (const char *const *)admins,
    .to_intermediate_signers = (const char *const *)tis,
    .to_intermediate_recipient = tir[0],
    .to_standard_signers = (const char *const *)tss,
    .to_standard_recipient = tsr[0],
  };
  g_autoptr (GBytes) bytes = sk_policy_set_keys (document, &keys, &error);
  if (bytes == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  const char *text = g_bytes_get_data (bytes, &len);
  if (!g_file_set_contents_full (out, text, (gssize)len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644,
                                 &error))
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autofree char *msg = g_strdup_printf (_ ("Wrote %s; sign it with “sekisho policy sign”."), out);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

static int
cmd_policy_show (SkCli *cli, int argc, char **argv)
{
  int code;

  if (!sk_cli_parse_options (cli, NULL, &argc, &argv, &code))
    return code;
  if (argc != 1)
    return sk_cli_usage_error (cli, _ ("policy show takes no arguments"));
  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
  g_autoptr (SkPolicy) policy = station != NULL ? sk_station_load_policy (station, &error) : NULL;
  if (policy == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);

  g_autoptr (JsonNode) described = describe_policy (cli, station, policy);
  const SkRetention *r = sk_policy_get_retention (policy);
  /* The retention also at the top, where scripts have read it. */
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "retention");
  json_builder_add_value (
      b, json_node_copy (json_object_get_member (json_node_get_object (described), "retention")));

  sk_cli_print (cli, _ ("Policy %s, serial %lld, signed by %s\n"), sk_policy_get_sha256 (policy),
                (long long)sk_policy_get_serial (policy), sk_policy_get_signer (policy));
  sk_cli_print (cli, _ ("File kinds:\n"));
  GPtrArray *kinds = sk_policy_get_kinds (policy);
  for (guint i = 0; i < kinds->len; i++)
    {
      const SkKind *k = g_ptr_array_index (kinds, i);
      sk_cli_print (
          cli, "  %-6s %-16s %s%s\n", sk_kind_get_id (k), sk_cli_term (sk_kind_get_workflow (k)),
          sk_kind_get_title (k),
          sk_policy_needs_dual_control (policy, sk_kind_get_id (k)) ? _ (" (dual control)") : "");
    }
  sk_cli_print (cli, _ ("Retention:\n"));
  sk_cli_print (cli,
                g_dngettext (GETTEXT_PACKAGE, "  upload and download plaintext: %lld minute\n",
                             "  upload and download plaintext: %lld minutes\n",
                             (gulong)r->upload_minutes),
                (long long)r->upload_minutes);
  sk_cli_print (cli,
                g_dngettext (GETTEXT_PACKAGE, "  staged packages: %lld day after the case closes\n",
                             "  staged packages: %lld days after the case closes\n",
                             (gulong)r->staged_days_after_close),
                (long long)r->staged_days_after_close);
  sk_cli_print (cli,
                g_dngettext (GETTEXT_PACKAGE,
                             "  inquiry results (SKI03): %lld day after the inquiry ends\n",
                             "  inquiry results (SKI03): %lld days after the inquiry ends\n",
                             (gulong)r->inquiry_result_days),
                (long long)r->inquiry_result_days);
  sk_cli_print (cli,
                g_dngettext (GETTEXT_PACKAGE,
                             "  a request with no result is flagged after %lld day\n",
                             "  a request with no result is flagged after %lld days\n",
                             (gulong)r->no_result_days),
                (long long)r->no_result_days);
  g_autofree char *msg = g_strdup_printf (_ ("The installed policy, serial %lld."),
                                          (long long)sk_policy_get_serial (policy));
  return sk_cli_finish (cli, NULL, msg, NULL);
}

static const SkCliCommand policy_commands[] = {
  { "set-keys",
    "POLICY.json --admin FPR --to-intermediate-signer FPR --to-intermediate-recipient FPR "
    "--to-standard-signer FPR --to-standard-recipient FPR --out FILE",
    N_ ("Fill in the key section of a policy, keeping everything else."),
    "sekisho policy set-keys policies/default.json --admin FPR … --out policy.json",
    cmd_policy_set_keys },
  { "sign", "--key FPR POLICY.json",
    N_ ("Sign a policy with an administrator's key (writes POLICY.json.sig)."),
    "sekisho policy sign --key FPR policy.json", cmd_policy_sign },
  { "check", "POLICY.json",
    N_ ("Check a policy's signature by a pinned administrator, then its contents."),
    "sekisho policy check policy.json", cmd_policy_check },
  { "install", "POLICY.json", N_ ("Check a policy, then make it the station's policy."),
    "sekisho policy install policy.json", cmd_policy_install },
  { "show", "", N_ ("Show the installed policy: its serial, hash, file kinds and periods."),
    "sekisho policy show", cmd_policy_show },
  { NULL },
};

const SkCliGroup sk_cli_policy_group = {
  "policy",
  N_ ("The transfer policy:"),
  policy_commands,
};
