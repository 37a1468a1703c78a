/* sekisho.c — the command line (DESIGN.md §8)
 *
 * Exit codes: 0 done; 1 refused (policy, validation, signature); 2 usage;
 * 3 environment.  With --json, stdout is exactly one JSON object:
 *   { "ok", "reason", "message", "findings": [ { "reason", "file", "record",
 *     "field", "field_name" } ], … }
 * and never a personal-data value: findings name where, never what.
 */
#define G_LOG_DOMAIN "sekisho"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <stdio.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-journal.h"
#include "sk-package.h"
#include "sk-pipeline.h"
#include "sk-keyring.h"
#include "sk-policy.h"
#include "sk-station.h"
#include "sk-validator.h"

typedef struct
{
  char *station_dir;
  char *handoff_root;
  gboolean json;
  JsonBuilder *extra; /* command-specific members of the JSON result */
  gboolean extra_open;
} SkCli;

/* Untrusted text (names from a medium or an archive) is escaped before it
 * reaches a message: control, bidi and other non-ASCII bytes become \ooo. */
static char *
escape_untrusted (const char *s)
{
  return sk_escape_untrusted (s);
}

static JsonBuilder *
extra (SkCli *cli)
{
  if (cli->extra == NULL)
    {
      cli->extra = json_builder_new ();
      json_builder_begin_object (cli->extra);
    }
  return cli->extra;
}

static void
add_finding_json (JsonBuilder *b, const char *file, const SkFinding *f)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "reason");
  json_builder_add_string_value (b, sk_error_code_to_reason (f->code));
  if (file != NULL)
    {
      json_builder_set_member_name (b, "file");
      json_builder_add_string_value (b, file);
    }
  if (f->record > 0)
    {
      json_builder_set_member_name (b, "record");
      json_builder_add_int_value (b, (gint64)f->record);
    }
  if (f->field > 0)
    {
      json_builder_set_member_name (b, "field");
      json_builder_add_int_value (b, f->field);
      json_builder_set_member_name (b, "field_name");
      json_builder_add_string_value (b, f->field_name);
    }
  if (f->detail != NULL)
    {
      json_builder_set_member_name (b, "detail");
      json_builder_add_string_value (b, f->detail);
    }
  json_builder_end_object (b);
}

/* Print the command's outcome and return its exit code.  REPORTS, when
 * given, are the validation reports whose findings are listed. */
static int
finish (SkCli *cli, const GError *error, const char *ok_message, GPtrArray *reports)
{
  const char *reason = NULL;
  g_autofree char *message = NULL;
  int exit_code = SK_EXIT_OK;
  const SkFinding *first = NULL;

  if (error != NULL)
    {
      reason = sk_error_get_reason (error);
      message = g_strdup (error->message);
      exit_code = sk_error_get_exit_class (error);
    }
  for (guint i = 0; reports != NULL && i < reports->len && first == NULL; i++)
    {
      SkFileReport *r = g_ptr_array_index (reports, i);
      if (r->findings->len > 0)
        first = &g_array_index (r->findings, SkFinding, 0);
    }
  if (error == NULL && first != NULL)
    {
      reason = sk_error_code_to_reason (first->code);
      message = g_strdup (_ ("One or more files were refused; see the findings."));
      exit_code = SK_EXIT_REFUSED;
    }
  if (message == NULL)
    message = g_strdup (ok_message);
  /* Messages carry paths and names the operator passed in, which may have
   * come from a medium: nothing reaches the terminal unescaped. */
  g_autofree char *raw_message = g_steal_pointer (&message);
  message = escape_untrusted (raw_message);

  if (cli->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "ok");
      json_builder_add_boolean_value (b, exit_code == SK_EXIT_OK);
      json_builder_set_member_name (b, "reason");
      if (reason != NULL)
        json_builder_add_string_value (b, reason);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "message");
      json_builder_add_string_value (b, message);
      json_builder_set_member_name (b, "findings");
      json_builder_begin_array (b);
      for (guint i = 0; reports != NULL && i < reports->len; i++)
        {
          SkFileReport *r = g_ptr_array_index (reports, i);
          g_autofree char *file = escape_untrusted (r->file);
          for (guint j = 0; j < r->findings->len; j++)
            add_finding_json (b, file, &g_array_index (r->findings, SkFinding, j));
        }
      json_builder_end_array (b);
      if (cli->extra != NULL)
        {
          json_builder_end_object (cli->extra);
          g_autoptr (JsonNode) node = json_builder_get_root (cli->extra);
          JsonObject *obj = json_node_get_object (node);
          g_autoptr (GList) members = json_object_get_members (obj);
          for (GList *l = members; l != NULL; l = l->next)
            {
              json_builder_set_member_name (b, l->data);
              json_builder_add_value (b, json_node_copy (json_object_get_member (obj, l->data)));
            }
        }
      json_builder_end_object (b);
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      json_generator_set_root (gen, root);
      g_autofree char *text = json_generator_to_data (gen, NULL);
      g_print ("%s\n", text);
    }
  else if (exit_code == SK_EXIT_OK)
    g_print ("%s\n", message);
  else
    g_printerr ("sekisho: %s [%s]\n", message, reason);
  return exit_code;
}

static int
usage_error (SkCli *cli, const char *format, ...) G_GNUC_PRINTF (2, 3);

static int
usage_error (SkCli *cli, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_autoptr (GError) error =
      g_error_new (SK_ERROR, SK_ERROR_USAGE, "%s (%s)", msg, _ ("see “sekisho --help”"));
  return finish (cli, error, NULL, NULL);
}

/* Parse a subcommand's options; ARGV keeps the positional arguments. */
static gboolean
parse_options (SkCli *cli,
               const char *command,
               const char *parameters,
               const GOptionEntry *entries,
               int *argc,
               char ***argv,
               int *out_exit)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new (parameters);
  g_autoptr (GError) error = NULL;
  g_autofree char *summary = g_strdup_printf ("sekisho %s", command);

  g_option_context_set_summary (ctx, summary);
  g_option_context_set_translation_domain (ctx, GETTEXT_PACKAGE);
  if (entries != NULL)
    g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      *out_exit = usage_error (cli, "%s", error->message);
      return FALSE;
    }
  return TRUE;
}

static char *
default_station_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "sekisho", NULL);
}

static SkStation *
open_station (SkCli *cli, GError **error)
{
  return sk_station_open (cli->station_dir, error);
}

/* ---- station init ------------------------------------------------------ */

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

  if (!parse_options (cli, "station init", "", entries, &argc, &argv, &code))
    return code;
  if (argc != 1 || admin == NULL || signing == NULL)
    return usage_error (cli, _ ("station init takes --admin-key FPR and --signing-key FPR"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station =
      sk_station_create (cli->station_dir, admin, signing, name, &error);
  if (station == NULL)
    return finish (cli, error, NULL, NULL);
  JsonBuilder *b = extra (cli);
  json_builder_set_member_name (b, "station");
  json_builder_add_string_value (b, sk_station_get_dir (station));
  g_autofree char *msg = g_strdup_printf (_ ("Station created in %s."), cli->station_dir);
  return finish (cli, NULL, msg, NULL);
}

/* ---- key import -------------------------------------------------------- */

static int
cmd_key_import (SkCli *cli, int argc, char **argv)
{
  int code;

  if (!parse_options (cli, "key import", "FILE", NULL, &argc, &argv, &code))
    return code;
  if (argc != 2)
    return usage_error (cli, _ ("key import takes one FILE"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = open_station (cli, &error);
  if (station == NULL)
    return finish (cli, error, NULL, NULL);
  g_autoptr (GPtrArray) fprs = sk_station_import_keys (station, argv[1], &error);
  if (fprs == NULL)
    return finish (cli, error, NULL, NULL);

  JsonBuilder *b = extra (cli);
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
  return finish (cli, NULL, msg->str, NULL);
}

/* ---- policy ------------------------------------------------------------ */

static void
describe_policy (SkCli *cli, SkPolicy *policy)
{
  JsonBuilder *b = extra (cli);

  json_builder_set_member_name (b, "policy");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "sha256");
  json_builder_add_string_value (b, sk_policy_get_sha256 (policy));
  json_builder_set_member_name (b, "serial");
  json_builder_add_int_value (b, sk_policy_get_serial (policy));
  json_builder_set_member_name (b, "signer");
  json_builder_add_string_value (b, sk_policy_get_signer (policy));
  json_builder_set_member_name (b, "kinds");
  json_builder_begin_array (b);
  GPtrArray *kinds = sk_policy_get_kinds (policy);
  for (guint i = 0; i < kinds->len; i++)
    json_builder_add_string_value (b, sk_kind_get_id (g_ptr_array_index (kinds, i)));
  json_builder_end_array (b);
  json_builder_end_object (b);
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

  if (!parse_options (cli, "policy sign", "POLICY.json", entries, &argc, &argv, &code))
    return code;
  if (argc != 2 || key == NULL)
    return usage_error (cli, _ ("policy sign takes --key FPR and one POLICY.json"));
  g_autofree char *fpr = sk_fingerprint_normalize (key);
  if (fpr == NULL)
    return usage_error (cli, _ ("--key must be a fingerprint of 40 hex digits"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = open_station (cli, &error);
  if (station == NULL)
    return finish (cli, error, NULL, NULL);

  g_autofree char *contents = NULL;
  gsize len;
  if (!g_file_get_contents (argv[1], &contents, &len, &error))
    return finish (cli, error, NULL, NULL);
  g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&contents), len);

  /* Never sign a policy that no station would load. */
  g_autoptr (SkPolicy) policy = sk_policy_new_from_bytes (bytes, &error);
  if (policy == NULL)
    return finish (cli, error, NULL, NULL);
  if (!g_strv_contains (sk_policy_get_admins (policy), fpr))
    {
      g_set_error (&error, SK_ERROR, SK_ERROR_POLICY_UNTRUSTED_SIGNER,
                   _ ("%s is not listed in the policy's keys.admins"), fpr);
      return finish (cli, error, NULL, NULL);
    }

  g_autoptr (GBytes) sig =
      sk_keyring_sign_detached_bytes (sk_station_get_keyring (station), fpr, bytes, &error);
  if (sig == NULL)
    return finish (cli, error, NULL, NULL);
  g_autofree char *sig_path = g_strconcat (argv[1], ".sig", NULL);
  gsize sig_len;
  const char *sig_data = g_bytes_get_data (sig, &sig_len);
  if (!g_file_set_contents_full (sig_path, sig_data, (gssize)sig_len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644,
                                 &error))
    return finish (cli, error, NULL, NULL);

  JsonBuilder *b = extra (cli);
  json_builder_set_member_name (b, "signature");
  json_builder_add_string_value (b, sig_path);
  json_builder_set_member_name (b, "sha256");
  json_builder_add_string_value (b, sk_policy_get_sha256 (policy));
  g_autofree char *msg = g_strdup_printf (_ ("Signed: %s"), sig_path);
  return finish (cli, NULL, msg, NULL);
}

static int
cmd_policy_check_or_install (SkCli *cli, int argc, char **argv, gboolean install)
{
  int code;

  if (!parse_options (cli, install ? "policy install" : "policy check", "POLICY.json", NULL, &argc,
                      &argv, &code))
    return code;
  if (argc != 2)
    return usage_error (cli, _ ("policy check and policy install take one POLICY.json"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = open_station (cli, &error);
  if (station == NULL)
    return finish (cli, error, NULL, NULL);
  g_autoptr (SkPolicy) policy = install ? sk_station_install_policy (station, argv[1], &error)
                                        : sk_station_check_policy (station, argv[1], &error);
  if (policy == NULL)
    return finish (cli, error, NULL, NULL);

  describe_policy (cli, policy);
  g_autofree char *msg =
      g_strdup_printf (install ? _ ("Policy %s (serial %lld) installed, signed by %s.")
                               : _ ("Policy %s (serial %lld) is valid, signed by %s."),
                       sk_policy_get_sha256 (policy), (long long)sk_policy_get_serial (policy),
                       sk_policy_get_signer (policy));
  return finish (cli, NULL, msg, NULL);
}

static gboolean
normalize_list (
    char **in, gboolean allow_many, GStrv *out, const char *option, SkCli *cli, int *exit_code)
{
  guint n = in != NULL ? g_strv_length (in) : 0;

  if (n == 0 || (!allow_many && n != 1))
    {
      *exit_code = usage_error (
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
          *exit_code = usage_error (cli, _ ("%s must be a fingerprint of 40 hex digits"), option);
          return FALSE;
        }
      g_strv_builder_add (builder, fpr);
    }
  *out = g_strv_builder_end (builder);
  return TRUE;
}

static void
add_strv_member (JsonBuilder *b, const char *name, GStrv values)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (guint i = 0; values[i] != NULL; i++)
    json_builder_add_string_value (b, values[i]);
  json_builder_end_array (b);
}

static void
add_direction (JsonBuilder *b, const char *name, GStrv signers, const char *recipient)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  add_strv_member (b, "signers", signers);
  json_builder_set_member_name (b, "recipient");
  json_builder_add_string_value (b, recipient);
  json_builder_end_object (b);
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

  if (!parse_options (cli, "policy set-keys", "POLICY.json", entries, &argc, &argv, &code))
    return code;
  if (argc != 2 || out == NULL)
    return usage_error (cli, _ ("policy set-keys takes one POLICY.json and --out FILE"));

  g_auto (GStrv) admins = NULL, tis = NULL, tir = NULL, tss = NULL, tsr = NULL;
  if (!normalize_list (admin, TRUE, &admins, "--admin", cli, &code) ||
      !normalize_list (ti_signer, TRUE, &tis, "--to-intermediate-signer", cli, &code) ||
      !normalize_list (ti_recipient, FALSE, &tir, "--to-intermediate-recipient", cli, &code) ||
      !normalize_list (ts_signer, TRUE, &tss, "--to-standard-signer", cli, &code) ||
      !normalize_list (ts_recipient, FALSE, &tsr, "--to-standard-recipient", cli, &code))
    return code;

  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_mapped_file (parser, argv[1], &error))
    {
      g_autoptr (GError) wrapped =
          g_error_new (SK_ERROR, SK_ERROR_POLICY_INVALID, "%s", error->message);
      return finish (cli, wrapped, NULL, NULL);
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (&error, SK_ERROR, SK_ERROR_POLICY_INVALID, _ ("the policy is not an object"));
      return finish (cli, error, NULL, NULL);
    }

  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_strv_member (b, "admins", admins);
  add_direction (b, "to-intermediate", tis, tir[0]);
  add_direction (b, "to-standard", tss, tsr[0]);
  json_builder_end_object (b);
  json_object_set_member (json_node_get_object (root), "keys", json_builder_get_root (b));

  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 2);
  json_generator_set_root (gen, root);
  gsize len;
  g_autofree char *text = json_generator_to_data (gen, &len);
  g_autoptr (GBytes) bytes = g_bytes_new (text, len);
  g_autoptr (SkPolicy) policy = sk_policy_new_from_bytes (bytes, &error);
  if (policy == NULL)
    return finish (cli, error, NULL, NULL);
  if (!g_file_set_contents_full (out, text, (gssize)len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644,
                                 &error))
    return finish (cli, error, NULL, NULL);
  g_autofree char *msg = g_strdup_printf (_ ("Wrote %s; sign it with “sekisho policy sign”."), out);
  return finish (cli, NULL, msg, NULL);
}

/* ---- validate ---------------------------------------------------------- */

static void
print_reports (GPtrArray *reports)
{
  for (guint i = 0; i < reports->len; i++)
    {
      SkFileReport *r = g_ptr_array_index (reports, i);
      g_autofree char *file = escape_untrusted (r->file);
      if (sk_file_report_ok (r))
        {
          g_print (g_dngettext (GETTEXT_PACKAGE, "OK       %s  %s, %llu record\n",
                                "OK       %s  %s, %llu records\n", r->records),
                   file, sk_kind_get_id (r->kind), (unsigned long long)r->records);
          continue;
        }
      g_print (g_dngettext (GETTEXT_PACKAGE, "REFUSED  %s  %s, %u finding%s\n",
                            "REFUSED  %s  %s, %u findings%s\n", r->findings->len),
               file, r->kind != NULL ? sk_kind_get_id (r->kind) : "?", r->findings->len,
               r->truncated ? _ (" (stopped at the policy's cap)") : "");
      for (guint j = 0; j < r->findings->len; j++)
        {
          const SkFinding *f = &g_array_index (r->findings, SkFinding, j);
          g_autoptr (GString) where = g_string_new (NULL);
          if (f->record > 0)
            g_string_append_printf (where, _ ("record %llu"), (unsigned long long)f->record);
          else
            g_string_append (where, _ ("file"));
          if (f->field > 0)
            g_string_append_printf (where, _ (", field %u %s"), f->field, f->field_name);
          if (f->detail != NULL)
            g_string_append_printf (where, " (%s)", f->detail);
          g_print ("  %-22s %s: %s\n", sk_error_code_to_reason (f->code), where->str,
                   sk_error_code_describe (f->code));
        }
    }
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

  if (!parse_options (cli, "validate", "FILE…", entries, &argc, &argv, &code))
    return code;
  if (argc < 2)
    return usage_error (cli, _ ("validate takes at least one FILE"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = open_station (cli, &error);
  if (station == NULL)
    return finish (cli, error, NULL, NULL);
  g_autoptr (SkPolicy) policy = policy_path != NULL
                                    ? sk_station_check_policy (station, policy_path, &error)
                                    : sk_station_load_policy (station, &error);
  if (policy == NULL)
    return finish (cli, error, NULL, NULL);

  g_autoptr (GPtrArray) reports =
      sk_validate_paths (policy, (const char *const *)argv + 1, NULL, &error);
  if (reports == NULL)
    return finish (cli, error, NULL, NULL);

  JsonBuilder *b = extra (cli);
  json_builder_set_member_name (b, "files");
  json_builder_begin_array (b);
  for (guint i = 0; i < reports->len; i++)
    {
      SkFileReport *r = g_ptr_array_index (reports, i);
      g_autofree char *file = escape_untrusted (r->file);
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
          g_autofree char *case_id = escape_untrusted (r->case_id);
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
    print_reports (reports);
  g_autofree char *msg = g_strdup_printf (
      g_dngettext (GETTEXT_PACKAGE, "%u file is valid.", "All %u files are valid.", reports->len),
      reports->len);
  return finish (cli, NULL, msg, reports);
}

/* ---- journal ----------------------------------------------------------- */

static GBytes *
read_small_file (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len;
  if (!g_file_get_contents (path, &data, &len, error))
    return NULL;
  return g_bytes_new_take (g_steal_pointer (&data), len);
}

static int
cmd_journal_verify (SkCli *cli, int argc, char **argv)
{
  g_autofree char *checkpoint = NULL;
  const GOptionEntry entries[] = {
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint,
      N_ ("Also check the journal against this signed checkpoint (FILE and FILE.sig)"), "FILE" },
    { NULL },
  };
  int code;

  if (!parse_options (cli, "journal verify", "", entries, &argc, &argv, &code))
    return code;
  if (argc != 1)
    return usage_error (cli, _ ("journal verify takes no arguments"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = open_station (cli, &error);
  if (station == NULL)
    return finish (cli, error, NULL, NULL);
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, TRUE, &error);
  if (journal == NULL)
    return finish (cli, error, NULL, NULL);

  gint64 entries_read = 0, bad_seq = 0, cp_seq = -1;
  gboolean ok = sk_journal_verify (journal, &entries_read, &bad_seq, NULL, &error);
  if (ok && checkpoint != NULL)
    {
      g_autofree char *sig_path = g_strconcat (checkpoint, ".sig", NULL);
      g_autoptr (GBytes) cp = read_small_file (checkpoint, &error);
      g_autoptr (GBytes) sig = cp != NULL ? read_small_file (sig_path, &error) : NULL;
      ok = sig != NULL && sk_journal_check_checkpoint (journal, sk_station_get_keyring (station),
                                                       sk_station_get_signing_key (station), cp,
                                                       sig, &cp_seq, &error);
    }

  JsonBuilder *b = extra (cli);
  json_builder_set_member_name (b, "entries");
  json_builder_add_int_value (b, entries_read);
  json_builder_set_member_name (b, "first_bad_seq");
  if (bad_seq > 0)
    json_builder_add_int_value (b, bad_seq);
  else
    json_builder_add_null_value (b);
  if (cp_seq >= 0)
    {
      json_builder_set_member_name (b, "checkpoint_seq");
      json_builder_add_int_value (b, cp_seq);
    }
  if (!ok)
    return finish (cli, error, NULL, NULL);
  g_autofree char *msg =
      cp_seq >= 0
          ? g_strdup_printf (_ ("The journal verifies: %lld entries, and it "
                                "still holds checkpoint %lld."),
                             (long long)entries_read, (long long)cp_seq)
          : g_strdup_printf (_ ("The journal verifies: %lld entries."), (long long)entries_read);
  return finish (cli, NULL, msg, NULL);
}

static gboolean
parse_time_option (const char *text, gint64 *out)
{
  if (text == NULL)
    return TRUE;
  g_autoptr (GTimeZone) utc = g_time_zone_new_utc ();
  g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (text, utc);
  if (dt == NULL)
    {
      /* A bare date means its start, UTC. */
      g_autofree char *midnight = g_strconcat (text, "T00:00:00Z", NULL);
      dt = g_date_time_new_from_iso8601 (midnight, utc);
    }
  if (dt == NULL)
    return FALSE;
  *out = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
  return TRUE;
}

static int
cmd_journal_show (SkCli *cli, int argc, char **argv)
{
  g_autofree char *since = NULL, *until = NULL, *event = NULL, *reason = NULL, *case_id = NULL;
  const GOptionEntry entries[] = {
    { "since", 0, 0, G_OPTION_ARG_STRING, &since, N_ ("Entries from this time (ISO 8601)"),
      "TIME" },
    { "until", 0, 0, G_OPTION_ARG_STRING, &until, N_ ("Entries before this time (ISO 8601)"),
      "TIME" },
    { "event", 0, 0, G_OPTION_ARG_STRING, &event, N_ ("Only this event"), "EVENT" },
    { "reason", 0, 0, G_OPTION_ARG_STRING, &reason, N_ ("Only this reason code"), "CODE" },
    { "case", 0, 0, G_OPTION_ARG_STRING, &case_id, N_ ("Only this case (処理番号)"), "ID" },
    { NULL },
  };
  int code;

  if (!parse_options (cli, "journal show", "", entries, &argc, &argv, &code))
    return code;
  SkJournalFilter filter = { .event = event, .reason = reason, .case_id = case_id };
  if (argc != 1 || !parse_time_option (since, &filter.since_us) ||
      !parse_time_option (until, &filter.until_us))
    return usage_error (cli, _ ("journal show takes --since/--until as ISO 8601 times"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = open_station (cli, &error);
  if (station == NULL)
    return finish (cli, error, NULL, NULL);
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, TRUE, &error);
  if (journal == NULL)
    return finish (cli, error, NULL, NULL);
  g_autoptr (GPtrArray) rows = sk_journal_query (journal, &filter, &error);
  if (rows == NULL)
    return finish (cli, error, NULL, NULL);

  JsonBuilder *b = extra (cli);
  json_builder_set_member_name (b, "entries");
  json_builder_begin_array (b);
  for (guint i = 0; i < rows->len; i++)
    {
      const SkJournalRow *r = g_ptr_array_index (rows, i);
      g_autofree char *time = sk_journal_format_time (r->time_us);
      const struct
      {
        const char *name, *value;
      } text[] = {
        { "time", time },          { "event", r->event },     { "outcome", r->outcome },
        { "reason", r->reason },   { "login", r->login },     { "role", r->role },
        { "station", r->station }, { "case", r->case_id },    { "package", r->package_id },
        { "device", r->device },   { "details", r->details }, { "entry_hash", r->entry_hash },
      };
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "seq");
      json_builder_add_int_value (b, r->seq);
      json_builder_set_member_name (b, "uid");
      if (r->uid >= 0)
        json_builder_add_int_value (b, r->uid);
      else
        json_builder_add_null_value (b);
      for (gsize t = 0; t < G_N_ELEMENTS (text); t++)
        {
          json_builder_set_member_name (b, text[t].name);
          if (text[t].value != NULL)
            json_builder_add_string_value (b, text[t].value);
          else
            json_builder_add_null_value (b);
        }
      json_builder_end_object (b);
      if (!cli->json)
        {
          /* Details may hold names that came from a medium. */
          g_autofree char *details = escape_untrusted (r->details);
          const char *actor = r->login != NULL ? r->login : r->role;
          g_autofree char *who = actor != NULL ? escape_untrusted (actor) : NULL;
          g_print ("%6lld  %s  %-18s %-8s %-20s %-10s %s\n", (long long)r->seq, time, r->event,
                   r->outcome, r->reason != NULL ? r->reason : "-", who != NULL ? who : "-",
                   details);
        }
    }
  json_builder_end_array (b);
  g_autofree char *msg = g_strdup_printf (
      g_dngettext (GETTEXT_PACKAGE, "%u entry.", "%u entries.", rows->len), rows->len);
  return finish (cli, NULL, msg, NULL);
}

static int
cmd_journal_export (SkCli *cli, int argc, char **argv)
{
  g_autofree char *out = NULL;
  const GOptionEntry entries[] = {
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, N_ ("Where to write the CSV"), "FILE" },
    { NULL },
  };
  int code;

  if (!parse_options (cli, "journal export", "", entries, &argc, &argv, &code))
    return code;
  if (argc != 1 || out == NULL)
    return usage_error (cli, _ ("journal export takes --out FILE"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = open_station (cli, &error);
  if (station == NULL)
    return finish (cli, error, NULL, NULL);
  g_autoptr (SkJournal) journal = sk_station_open_journal (station, TRUE, &error);
  if (journal == NULL)
    return finish (cli, error, NULL, NULL);

  g_autoptr (GFile) file = g_file_new_for_path (out);
  g_autoptr (GFileOutputStream) stream =
      g_file_replace (file, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &error);
  if (stream == NULL || !sk_journal_export_csv (journal, G_OUTPUT_STREAM (stream), &error) ||
      !g_output_stream_close (G_OUTPUT_STREAM (stream), NULL, &error))
    return finish (cli, error, NULL, NULL);

  /* The newest signed checkpoint goes alongside, so that the auditor can
   * tell later whether the station's journal was cut short or rewritten. */
  JsonBuilder *b = extra (cli);
  json_builder_set_member_name (b, "csv");
  json_builder_add_string_value (b, out);
  g_autofree char *latest = sk_station_latest_checkpoint (station);
  json_builder_set_member_name (b, "checkpoint");
  if (latest != NULL)
    {
      g_autofree char *cp_out = g_strconcat (out, ".checkpoint.json", NULL);
      g_autofree char *sig_in = g_strconcat (latest, ".sig", NULL);
      g_autofree char *sig_out = g_strconcat (cp_out, ".sig", NULL);
      g_autoptr (GBytes) cp = read_small_file (latest, &error);
      g_autoptr (GBytes) sig = cp != NULL ? read_small_file (sig_in, &error) : NULL;
      if (sig == NULL ||
          !g_file_set_contents (cp_out, g_bytes_get_data (cp, NULL), (gssize)g_bytes_get_size (cp),
                                &error) ||
          !g_file_set_contents (sig_out, g_bytes_get_data (sig, NULL),
                                (gssize)g_bytes_get_size (sig), &error))
        return finish (cli, error, NULL, NULL);
      json_builder_add_string_value (b, cp_out);
    }
  else
    json_builder_add_null_value (b);
  g_autofree char *msg = g_strdup_printf (_ ("Wrote %s%s."), out,
                                          latest != NULL ? _ (" and its newest checkpoint") : "");
  return finish (cli, NULL, msg, NULL);
}

static int
cmd_journal_checkpoint (SkCli *cli, int argc, char **argv)
{
  int code;

  if (!parse_options (cli, "journal checkpoint", "", NULL, &argc, &argv, &code))
    return code;
  if (argc != 1)
    return usage_error (cli, _ ("journal checkpoint takes no arguments"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = open_station (cli, &error);
  if (station == NULL)
    return finish (cli, error, NULL, NULL);
  g_autofree char *path = sk_station_make_checkpoint (station, &error);
  if (path == NULL)
    return finish (cli, error, NULL, NULL);
  JsonBuilder *b = extra (cli);
  json_builder_set_member_name (b, "checkpoint");
  json_builder_add_string_value (b, path);
  g_autofree char *msg = g_strdup_printf (_ ("Checkpoint written: %s"), path);
  return finish (cli, NULL, msg, NULL);
}

/* ---- packages ----------------------------------------------------------- */

static void
describe_manifest (SkCli *cli, const SkManifest *m, const char *signer)
{
  JsonBuilder *b = extra (cli);
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
      g_autofree char *safe = escape_untrusted (text[i].value);
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
      if (!cli->json)
        g_print ("  %s  %s  %" G_GUINT64_FORMAT " bytes  %" G_GINT64_FORMAT " records  %s\n",
                 f->kind, f->name, f->size, f->records, f->sha256);
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

  if (!parse_options (cli, "pack", "FILE…", entries, &argc, &argv, &code))
    return code;
  if (argc < 2 || workflow == NULL || case_id == NULL || out == NULL)
    return usage_error (cli, _ ("pack takes --workflow W --case ID --out DIR and FILE…"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = open_station (cli, &error);
  g_autoptr (SkPolicy) policy = station != NULL ? sk_station_load_policy (station, &error) : NULL;
  if (policy == NULL)
    return finish (cli, error, NULL, NULL);
  g_autofree char *path = sk_package_pack (station, policy, workflow, case_id,
                                           (const char *const *)argv + 1, out, NULL, &error);
  if (path == NULL)
    return finish (cli, error, NULL, NULL);
  JsonBuilder *b = extra (cli);
  json_builder_set_member_name (b, "package");
  json_builder_add_string_value (b, path);
  g_autofree char *msg = g_strdup_printf (_ ("Package written: %s (and %s.sig)"), path, path);
  return finish (cli, NULL, msg, NULL);
}

/* Unpacking reads the medium once, into a sealed copy in the station's
 * store that nothing else can change, and verifies and unpacks that copy:
 * a medium that answers differently on a second read gains nothing.  The
 * copy is never committed, and goes when this returns. */
static SkPackageResult *
unpack_own_copy (SkStation *station,
                 SkPolicy *policy,
                 const char *path,
                 const char *out,
                 GPtrArray **reports,
                 GError **error)
{
  g_autoptr (SkStore) store = sk_station_open_store (station, NULL, NULL, error);
  if (store == NULL)
    return NULL;
  g_autoptr (GBytes) sig = NULL;
  g_autoptr (SkStaged) staged = sk_package_copy_in (store, policy, path, 0, &sig, NULL, error);
  if (staged == NULL)
    return NULL;
  SkPackageSource src = { .staged = staged, .signature = sig };
  SkCheckOptions opts = { .extract = TRUE };
  opts.extract_dirfd = open (out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (opts.extract_dirfd < 0)
    {
      sk_error_set_from_errno (error, errno, "opening the output folder");
      return NULL;
    }
  SkPackageResult *result =
      sk_package_check_source (station, policy, &src, &opts, reports, NULL, error);
  close (opts.extract_dirfd);
  return result;
}

/* check, inspect and unpack: acceptance 1–5, and for unpack the files. */
static int
cmd_receive (SkCli *cli, int argc, char **argv, const char *command)
{
  g_autofree char *out = NULL;
  const GOptionEntry unpack_entries[] = {
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, N_ ("Where to write the files"), "DIR" },
    { NULL },
  };
  gboolean unpack = g_str_equal (command, "unpack");
  int code;

  if (!parse_options (cli, command, "PKG.tar.gpg", unpack ? unpack_entries : NULL, &argc, &argv,
                      &code))
    return code;
  if (argc != 2 || (unpack && out == NULL))
    return usage_error (cli, unpack ? _ ("unpack takes --out DIR and one PKG.tar.gpg")
                                    : _ ("this command takes one PKG.tar.gpg"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = open_station (cli, &error);
  g_autoptr (SkPolicy) policy = station != NULL ? sk_station_load_policy (station, &error) : NULL;
  if (policy == NULL)
    return finish (cli, error, NULL, NULL);
  g_autoptr (GPtrArray) reports = NULL;
  g_autoptr (SkPackageResult) result =
      unpack ? unpack_own_copy (station, policy, argv[1], out, &reports, &error)
             : sk_package_check (station, policy, argv[1], NULL, &reports, NULL, &error);

  if (unpack)
    {
      /* Unpacking writes, so it is journaled, refusals included; the
       * package id is what makes a second unpack a replay. */
      g_autoptr (GError) journal_error = NULL;
      g_autoptr (SkJournal) journal = sk_station_open_journal (station, FALSE, &journal_error);

      SkJournalEntry entry = {
        .event = result != NULL ? "package-unpacked" : "package-refused",
        .outcome = result != NULL ? "ok"
                                  : (sk_error_get_exit_class (error) == SK_EXIT_REFUSED ? "refused"
                                                                                        : "failed"),
        .reason = result != NULL ? NULL : sk_error_get_reason (error),
        .uid = (gint64)getuid (),
        .login = sk_station_login (),
        .case_id = result != NULL ? result->manifest->case_id : NULL,
        .package_id = result != NULL ? result->manifest->package_id : NULL,
      };
      g_autofree char *details =
          result != NULL ? sk_manifest_to_compact_json (result->manifest) : NULL;
      entry.details = details;
      if (journal == NULL || sk_journal_record (journal, &entry, &journal_error) == 0)
        {
          if (error == NULL)
            return finish (cli, journal_error, NULL, NULL);
        }
    }
  if (result == NULL)
    return finish (cli, error, NULL, reports);

  if (!cli->json)
    g_print (_ ("Package %s, %s, case %s, signed by %s:\n"), result->manifest->package_id,
             result->manifest->workflow, result->manifest->case_id, result->signer);
  describe_manifest (cli, result->manifest, result->signer);
  g_autofree char *msg =
      unpack ? g_strdup_printf (_ ("All %u files are in %s."), result->manifest->files->len, out)
             : g_strdup (_ ("The package passes every check."));
  return finish (cli, NULL, msg, NULL);
}

/* ---- cases (the integration terminal's pipeline) ----------------------- */

static void
add_case_json (JsonBuilder *b, const SkCase *c)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  g_autofree char *id = escape_untrusted (c->id);
  json_builder_add_string_value (b, id);
  json_builder_set_member_name (b, "workflow");
  json_builder_add_string_value (b, c->workflow);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, c->state);
  json_builder_set_member_name (b, "overdue");
  json_builder_add_boolean_value (b, c->overdue);
  json_builder_set_member_name (b, "created");
  g_autofree char *created = sk_journal_format_time (c->created_us);
  json_builder_add_string_value (b, created);
  json_builder_set_member_name (b, "files");
  json_builder_begin_array (b);
  for (guint i = 0; i < c->files->len; i++)
    {
      const SkCaseFile *f = g_ptr_array_index (c->files, i);
      g_autofree char *name = escape_untrusted (f->name);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "role");
      json_builder_add_string_value (b, f->role);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, name);
      json_builder_set_member_name (b, "kind");
      json_builder_add_string_value (b, f->kind);
      json_builder_set_member_name (b, "state");
      json_builder_add_string_value (b, f->state);
      json_builder_set_member_name (b, "size");
      json_builder_add_int_value (b, (gint64)f->size);
      json_builder_set_member_name (b, "records");
      json_builder_add_int_value (b, f->records);
      json_builder_set_member_name (b, "sha256");
      json_builder_add_string_value (b, f->sha256);
      json_builder_set_member_name (b, "needs_approval");
      json_builder_add_boolean_value (b, f->needs_approval);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static void
print_case (const SkCase *c)
{
  g_autofree char *id = escape_untrusted (c->id);
  g_print (_ ("Case %s (%s): %s%s\n"), id, c->workflow, c->state,
           c->overdue ? _ (" — no result yet, overdue") : "");
  for (guint i = 0; i < c->files->len; i++)
    {
      const SkCaseFile *f = g_ptr_array_index (c->files, i);
      g_autofree char *name = escape_untrusted (f->name);
      g_print (_ ("  %-7s %s  %s  %lld records  %s%s\n"), f->role, f->kind, name,
               (long long)f->records, f->state,
               f->needs_approval ? _ (" — needs a second operator's approval") : "");
    }
}

/* The operator, as the kernel knows them. */
static SkActor
current_actor (void)
{
  SkActor a = { (gint64)getuid (), sk_station_login (), "operator" };
  return a;
}

static SkPipeline *
open_pipeline (SkCli *cli, GError **error)
{
  g_autoptr (SkStation) station = open_station (cli, error);
  if (station == NULL)
    return NULL;
  g_autoptr (SkPolicy) policy = sk_station_load_policy (station, error);
  if (policy == NULL)
    return NULL;
  return sk_pipeline_new (station, policy, cli->handoff_root, error);
}

static int
finish_with_case (SkCli *cli, SkPipeline *pipeline, const char *case_id, const char *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkCase) c = sk_pipeline_get_case (pipeline, case_id, &error);
  if (c == NULL)
    return finish (cli, error, NULL, NULL);
  JsonBuilder *b = extra (cli);
  json_builder_set_member_name (b, "case");
  add_case_json (b, c);
  if (!cli->json)
    print_case (c);
  return finish (cli, NULL, message, NULL);
}

static int
cmd_case_import (SkCli *cli, int argc, char **argv)
{
  int code;
  if (!parse_options (cli, "case import", "PKG.tar.gpg|FOLDER…", NULL, &argc, &argv, &code))
    return code;
  if (argc < 2)
    return usage_error (cli, _ ("case import takes packages, or folders that hold them"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkPipeline) pipeline = open_pipeline (cli, &error);
  if (pipeline == NULL)
    return finish (cli, error, NULL, NULL);
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  for (int i = 1; i < argc; i++)
    {
      if (g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        {
          g_autoptr (GPtrArray) found = sk_pipeline_find_packages (argv[i], &error);
          if (found == NULL)
            return finish (cli, error, NULL, NULL);
          for (guint j = 0; j < found->len; j++)
            g_ptr_array_add (paths, g_strdup (g_ptr_array_index (found, j)));
        }
      else
        g_ptr_array_add (paths, g_strdup (argv[i]));
    }
  if (paths->len == 0)
    {
      g_set_error_literal (&error, SK_ERROR, SK_ERROR_SIG_MISSING,
                           _ ("no package (.tar.gpg with its .sig) was found"));
      return finish (cli, error, NULL, NULL);
    }

  /* Each package stands alone: one refused does not stop the others, but
   * the command reports the first refusal. */
  SkActor actor = current_actor ();
  g_autoptr (GError) first_error = NULL;
  JsonBuilder *b = extra (cli);
  json_builder_set_member_name (b, "imported");
  json_builder_begin_array (b);
  guint imported = 0;
  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = g_ptr_array_index (paths, i);
      g_autofree char *safe = escape_untrusted (path);
      g_autoptr (GError) one_error = NULL;
      g_autoptr (SkCase) c = sk_pipeline_import (pipeline, &actor, path, NULL, &one_error);
      if (c == NULL)
        {
          if (!cli->json && paths->len > 1)
            g_printerr (_ ("sekisho: %s refused: %s [%s]\n"), safe, one_error->message,
                        sk_error_get_reason (one_error));
          if (first_error == NULL)
            first_error = g_steal_pointer (&one_error);
          continue;
        }
      imported++;
      add_case_json (b, c);
      if (!cli->json)
        print_case (c);
    }
  json_builder_end_array (b);
  if (first_error != NULL)
    return finish (cli, first_error, NULL, NULL);
  g_autofree char *msg =
      g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u package imported into the store.",
                                    "%u packages imported into the store.", imported),
                       imported);
  return finish (cli, NULL, msg, NULL);
}

static int
cmd_case_list (SkCli *cli, int argc, char **argv)
{
  int code;
  if (!parse_options (cli, "case list", "", NULL, &argc, &argv, &code))
    return code;
  if (argc != 1)
    return usage_error (cli, _ ("case list takes no arguments"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkPipeline) pipeline = open_pipeline (cli, &error);
  g_autoptr (GPtrArray) cases = pipeline != NULL ? sk_pipeline_list_cases (pipeline, &error) : NULL;
  if (cases == NULL)
    return finish (cli, error, NULL, NULL);
  JsonBuilder *b = extra (cli);
  json_builder_set_member_name (b, "cases");
  json_builder_begin_array (b);
  for (guint i = 0; i < cases->len; i++)
    {
      add_case_json (b, g_ptr_array_index (cases, i));
      if (!cli->json)
        print_case (g_ptr_array_index (cases, i));
    }
  json_builder_end_array (b);
  g_autofree char *msg = g_strdup_printf (
      g_dngettext (GETTEXT_PACKAGE, "%u case.", "%u cases.", cases->len), cases->len);
  return finish (cli, NULL, msg, NULL);
}

/* The commands that act on one case: show, hand-off, confirm-upload,
 * interrupt. */
static int
cmd_case_step (SkCli *cli, int argc, char **argv, const char *step)
{
  int code;
  g_autofree char *command = g_strdup_printf ("case %s", step);
  if (!parse_options (cli, command, "CASE", NULL, &argc, &argv, &code))
    return code;
  if (argc != 2)
    return usage_error (cli, _ ("%s takes one case (処理番号)"), command);

  g_autoptr (GError) error = NULL;
  g_autoptr (SkPipeline) pipeline = open_pipeline (cli, &error);
  if (pipeline == NULL)
    return finish (cli, error, NULL, NULL);
  SkActor actor = current_actor ();
  const char *case_id = argv[1];
  g_autofree char *msg = NULL;
  if (g_str_equal (step, "hand-off"))
    {
      g_autoptr (GPtrArray) paths = sk_pipeline_hand_off (pipeline, &actor, case_id, NULL, &error);
      if (paths == NULL)
        return finish (cli, error, NULL, NULL);
      JsonBuilder *b = extra (cli);
      json_builder_set_member_name (b, "handed_off");
      json_builder_begin_array (b);
      for (guint i = 0; i < paths->len; i++)
        {
          g_autofree char *safe = escape_untrusted (g_ptr_array_index (paths, i));
          json_builder_add_string_value (b, safe);
          if (!cli->json)
            g_print (_ ("Ready for upload: %s\n"), safe);
        }
      json_builder_end_array (b);
      msg = g_strdup_printf (
          _ ("Upload the files through the browser, then run “sekisho case confirm-upload %s”. "
             "They are deleted in %lld minutes either way."),
          case_id,
          (long long)sk_policy_get_retention (sk_pipeline_get_policy (pipeline))->upload_minutes);
    }
  else if (g_str_equal (step, "confirm-upload"))
    {
      if (!sk_pipeline_confirm_upload (pipeline, &actor, case_id, &error))
        return finish (cli, error, NULL, NULL);
      msg = g_strdup (_ ("Upload confirmed; the plaintext is deleted. The case waits for its "
                         "results."));
    }
  else if (g_str_equal (step, "interrupt"))
    {
      if (!sk_pipeline_interrupt (pipeline, &actor, case_id, &error))
        return finish (cli, error, NULL, NULL);
      msg = g_strdup (_ ("The case is interrupted; its items are deleted when their periods "
                         "end."));
    }
  else
    msg = g_strdup (_ ("The case as this station records it."));
  return finish_with_case (cli, pipeline, case_id, msg);
}

static int
cmd_case_take_in (SkCli *cli, int argc, char **argv)
{
  int code;
  if (!parse_options (cli, "case take-in", "[NAME…]", NULL, &argc, &argv, &code))
    return code;

  g_autoptr (GError) error = NULL;
  g_autoptr (SkPipeline) pipeline = open_pipeline (cli, &error);
  if (pipeline == NULL)
    return finish (cli, error, NULL, NULL);
  SkActor actor = current_actor ();
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (int i = 1; i < argc; i++)
    g_ptr_array_add (names, g_strdup (argv[i]));
  if (names->len == 0)
    {
      g_autoptr (GPtrArray) waiting = sk_pipeline_list_downloads (pipeline, &actor, &error);
      if (waiting == NULL)
        return finish (cli, error, NULL, NULL);
      for (guint i = 0; i < waiting->len; i++)
        g_ptr_array_add (names, g_strdup (g_ptr_array_index (waiting, i)));
    }
  if (names->len == 0)
    {
      g_set_error_literal (&error, SK_ERROR, SK_ERROR_CASE_STATE,
                           _ ("the download folder is empty: save the result files there first"));
      return finish (cli, error, NULL, NULL);
    }

  g_autoptr (GError) first_error = NULL;
  g_autoptr (GPtrArray) reports =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sk_file_report_free);
  JsonBuilder *b = extra (cli);
  json_builder_set_member_name (b, "taken_in");
  json_builder_begin_array (b);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *safe = escape_untrusted (name);
      g_autoptr (GError) one_error = NULL;
      SkFileReport *report = NULL;
      g_autoptr (SkCaseFile) f =
          sk_pipeline_take_in (pipeline, &actor, name, &report, NULL, &one_error);
      if (report != NULL)
        g_ptr_array_add (reports, report);
      if (f == NULL)
        {
          if (!cli->json && names->len > 1)
            g_printerr (_ ("sekisho: %s refused: %s [%s]\n"), safe, one_error->message,
                        sk_error_get_reason (one_error));
          if (first_error == NULL)
            first_error = g_steal_pointer (&one_error);
          continue;
        }
      json_builder_add_string_value (b, safe);
      if (!cli->json)
        g_print (_ ("Taken in: %s (%s, %lld records)%s\n"), safe, f->kind, (long long)f->records,
                 f->needs_approval ? _ (" — needs a second operator's approval") : "");
    }
  json_builder_end_array (b);
  if (first_error != NULL)
    return finish (cli, first_error, NULL, reports);
  return finish (cli, NULL, _ ("Every result was validated, paired with its request and sealed."),
                 NULL);
}

static int
cmd_case_approve (SkCli *cli, int argc, char **argv)
{
  int code;
  if (!parse_options (cli, "case approve", "CASE NAME", NULL, &argc, &argv, &code))
    return code;
  if (argc != 3)
    return usage_error (cli, _ ("case approve takes a case and a result file's name"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkPipeline) pipeline = open_pipeline (cli, &error);
  if (pipeline == NULL)
    return finish (cli, error, NULL, NULL);
  SkActor actor = current_actor ();
  if (!sk_pipeline_approve (pipeline, &actor, argv[1], argv[2], &error))
    return finish (cli, error, NULL, NULL);
  return finish_with_case (cli, pipeline, argv[1], _ ("Approved; the file may now be exported."));
}

static int
cmd_case_export (SkCli *cli, int argc, char **argv)
{
  g_autofree char *out = NULL;
  const GOptionEntry entries[] = {
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, N_ ("Where to write the package (the medium)"),
      "DIR" },
    { NULL },
  };
  int code;
  if (!parse_options (cli, "case export", "CASE", entries, &argc, &argv, &code))
    return code;
  if (argc != 2 || out == NULL)
    return usage_error (cli, _ ("case export takes --out DIR and one case"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkPipeline) pipeline = open_pipeline (cli, &error);
  if (pipeline == NULL)
    return finish (cli, error, NULL, NULL);
  SkActor actor = current_actor ();
  g_autofree char *path = sk_pipeline_export (pipeline, &actor, argv[1], out, NULL, &error);
  if (path == NULL)
    return finish (cli, error, NULL, NULL);
  JsonBuilder *b = extra (cli);
  json_builder_set_member_name (b, "package");
  g_autofree char *safe = escape_untrusted (path);
  json_builder_add_string_value (b, safe);
  g_autofree char *msg =
      g_strdup_printf (_ ("Exported, synced and read back: %s (and %s.sig)"), path, path);
  return finish_with_case (cli, pipeline, argv[1], msg);
}

/* ---- station sweep ----------------------------------------------------- */

static int
cmd_station_sweep (SkCli *cli, int argc, char **argv)
{
  int code;

  if (!parse_options (cli, "station sweep", "", NULL, &argc, &argv, &code))
    return code;
  if (argc != 1)
    return usage_error (cli, _ ("station sweep takes no arguments"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkStation) station = open_station (cli, &error);
  if (station == NULL)
    return finish (cli, error, NULL, NULL);
  /* With a policy, everything with a deadline; without one, only stored
   * items have deadlines to keep. */
  g_autoptr (SkPolicy) policy = sk_station_load_policy (station, NULL);
  g_autoptr (SkPipeline) pipeline =
      policy != NULL ? sk_pipeline_new (station, policy, cli->handoff_root, &error) : NULL;
  g_autoptr (SkStore) store =
      policy == NULL ? sk_station_open_store (station, NULL, NULL, &error) : NULL;
  if (pipeline == NULL && store == NULL)
    return finish (cli, error, NULL, NULL);
  gint64 deleted =
      pipeline != NULL ? sk_pipeline_sweep (pipeline, &error) : sk_store_sweep (store, &error);
  if (deleted < 0)
    return finish (cli, error, NULL, NULL);
  JsonBuilder *b = extra (cli);
  json_builder_set_member_name (b, "deleted");
  json_builder_add_int_value (b, deleted);
  g_autofree char *msg = g_strdup_printf (
      g_dngettext (GETTEXT_PACKAGE, "%lld item was past its deadline and is deleted.",
                   "%lld items were past their deadline and are deleted.", (gulong)deleted),
      (long long)deleted);
  return finish (cli, NULL, msg, NULL);
}

/* ---- dispatch ---------------------------------------------------------- */

static const char usage_text[] =
    N_ ("Usage: sekisho [--station DIR] [--json] COMMAND …\n"
        "\n"
        "  station init --admin-key FPR --signing-key FPR [--name NAME]\n"
        "  station sweep\n"
        "  key import FILE\n"
        "  policy set-keys POLICY.json --admin FPR … --out FILE\n"
        "  policy sign --key FPR POLICY.json\n"
        "  policy check POLICY.json\n"
        "  policy install POLICY.json\n"
        "  validate [--policy POLICY.json] FILE…\n"
        "  pack --workflow W --case ID --out DIR FILE…\n"
        "  check PKG.tar.gpg\n"
        "  unpack --out DIR PKG.tar.gpg\n"
        "  inspect PKG.tar.gpg\n"
        "  journal verify [--checkpoint FILE]\n"
        "  journal show [--since TIME] [--until TIME] [--event E] [--reason R] [--case ID]\n"
        "  journal export --out FILE\n"
        "  journal checkpoint\n"
        "  case import PKG.tar.gpg|FOLDER…\n"
        "  case list | case show CASE\n"
        "  case hand-off CASE | case confirm-upload CASE\n"
        "  case take-in [NAME…]\n"
        "  case approve CASE NAME\n"
        "  case export --out DIR CASE\n"
        "  case interrupt CASE\n"
        "\n"
        "--handoff-root DIR (default /run/sekisho) holds upload/ and download/ on a tmpfs.\n"
        "Exit status: 0 done, 1 refused, 2 usage, 3 environment.\n");

int
main (int argc, char **argv)
{
  SkCli cli = { 0 };
  int i = 1;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  for (; i < argc && g_str_has_prefix (argv[i], "--"); i++)
    {
      if (g_str_equal (argv[i], "--json"))
        cli.json = TRUE;
      else if (g_str_equal (argv[i], "--station") && i + 1 < argc)
        {
          g_free (cli.station_dir);
          cli.station_dir = g_strdup (argv[++i]);
        }
      else if (g_str_equal (argv[i], "--handoff-root") && i + 1 < argc)
        {
          g_free (cli.handoff_root);
          cli.handoff_root = g_strdup (argv[++i]);
        }
      else if (g_str_has_prefix (argv[i], "--station="))
        {
          g_free (cli.station_dir);
          cli.station_dir = g_strdup (argv[i] + strlen ("--station="));
        }
      else if (g_str_equal (argv[i], "--help"))
        {
          if (cli.json)
            return finish (&cli, NULL, _ (usage_text), NULL);
          g_print ("%s", _ (usage_text));
          return SK_EXIT_OK;
        }
      else if (g_str_equal (argv[i], "--version"))
        {
          g_print ("sekisho %s\n", PACKAGE_VERSION);
          return SK_EXIT_OK;
        }
      else
        break;
    }
  if (cli.station_dir == NULL)
    cli.station_dir = default_station_dir ();
  if (cli.handoff_root == NULL)
    cli.handoff_root = g_strdup ("/run/sekisho");

  int rest = argc - i;
  char **args = argv + i;
  int code;
  if (rest >= 2 && g_str_equal (args[0], "station") && g_str_equal (args[1], "init"))
    code = cmd_station_init (&cli, rest - 1, args + 1);
  else if (rest >= 2 && g_str_equal (args[0], "station") && g_str_equal (args[1], "sweep"))
    code = cmd_station_sweep (&cli, rest - 1, args + 1);
  else if (rest >= 2 && g_str_equal (args[0], "key") && g_str_equal (args[1], "import"))
    code = cmd_key_import (&cli, rest - 1, args + 1);
  else if (rest >= 2 && g_str_equal (args[0], "policy") && g_str_equal (args[1], "sign"))
    code = cmd_policy_sign (&cli, rest - 1, args + 1);
  else if (rest >= 2 && g_str_equal (args[0], "policy") && g_str_equal (args[1], "check"))
    code = cmd_policy_check_or_install (&cli, rest - 1, args + 1, FALSE);
  else if (rest >= 2 && g_str_equal (args[0], "policy") && g_str_equal (args[1], "install"))
    code = cmd_policy_check_or_install (&cli, rest - 1, args + 1, TRUE);
  else if (rest >= 2 && g_str_equal (args[0], "policy") && g_str_equal (args[1], "set-keys"))
    code = cmd_policy_set_keys (&cli, rest - 1, args + 1);
  else if (rest >= 1 && g_str_equal (args[0], "pack"))
    code = cmd_pack (&cli, rest, args);
  else if (rest >= 1 && (g_str_equal (args[0], "check") || g_str_equal (args[0], "unpack") ||
                         g_str_equal (args[0], "inspect")))
    code = cmd_receive (&cli, rest, args, args[0]);
  else if (rest >= 2 && g_str_equal (args[0], "journal") && g_str_equal (args[1], "verify"))
    code = cmd_journal_verify (&cli, rest - 1, args + 1);
  else if (rest >= 2 && g_str_equal (args[0], "journal") && g_str_equal (args[1], "show"))
    code = cmd_journal_show (&cli, rest - 1, args + 1);
  else if (rest >= 2 && g_str_equal (args[0], "journal") && g_str_equal (args[1], "export"))
    code = cmd_journal_export (&cli, rest - 1, args + 1);
  else if (rest >= 2 && g_str_equal (args[0], "journal") && g_str_equal (args[1], "checkpoint"))
    code = cmd_journal_checkpoint (&cli, rest - 1, args + 1);
  else if (rest >= 2 && g_str_equal (args[0], "case") && g_str_equal (args[1], "import"))
    code = cmd_case_import (&cli, rest - 1, args + 1);
  else if (rest >= 2 && g_str_equal (args[0], "case") && g_str_equal (args[1], "list"))
    code = cmd_case_list (&cli, rest - 1, args + 1);
  else if (rest >= 2 && g_str_equal (args[0], "case") &&
           (g_str_equal (args[1], "show") || g_str_equal (args[1], "hand-off") ||
            g_str_equal (args[1], "confirm-upload") || g_str_equal (args[1], "interrupt")))
    code = cmd_case_step (&cli, rest - 1, args + 1, args[1]);
  else if (rest >= 2 && g_str_equal (args[0], "case") && g_str_equal (args[1], "take-in"))
    code = cmd_case_take_in (&cli, rest - 1, args + 1);
  else if (rest >= 2 && g_str_equal (args[0], "case") && g_str_equal (args[1], "approve"))
    code = cmd_case_approve (&cli, rest - 1, args + 1);
  else if (rest >= 2 && g_str_equal (args[0], "case") && g_str_equal (args[1], "export"))
    code = cmd_case_export (&cli, rest - 1, args + 1);
  else if (rest >= 1 && g_str_equal (args[0], "validate"))
    code = cmd_validate (&cli, rest, args);
  else if (rest == 0)
    code = usage_error (&cli, _ ("no command given"));
  else
    {
      g_autofree char *safe = escape_untrusted (args[0]);
      code = usage_error (&cli, _ ("unknown command “%s”"), safe);
    }

  g_clear_object (&cli.extra);
  g_free (cli.station_dir);
  g_free (cli.handoff_root);
  return code;
}
