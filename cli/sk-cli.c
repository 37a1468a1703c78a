/* sk-cli.c — the envelope every command shares: outcome, usage errors,
 * help, options and "did you mean" */
#define G_LOG_DOMAIN "sekisho"

#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sk-cli.h"
#include "sk-keyring.h"

char *
sk_cli_command_words (const SkCliGroup *group, const SkCliCommand *command)
{
  if (group == NULL || group->name == NULL)
    return g_strdup (command->name);
  return g_strdup_printf ("%s %s", group->name, command->name);
}

JsonBuilder *
sk_cli_extra (SkCli *cli)
{
  if (cli->extra == NULL)
    {
      cli->extra = json_builder_new ();
      json_builder_begin_object (cli->extra);
    }
  return cli->extra;
}

void
sk_cli_print (SkCli *cli, const char *format, ...)
{
  va_list args;

  if (cli->json)
    return;
  va_start (args, format);
  g_autofree char *text = g_strdup_vprintf (format, args);
  va_end (args);
  g_print ("%s", text);
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

/* JSON is UTF-8 for every reader, whatever the locale says: the bytes go
 * out as they are, never through g_print's conversion to the locale's
 * charset (which turns 処理番号 into ???? under LANG=C). */
static void
write_json (JsonBuilder *b, FILE *to)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  gsize len;
  g_autofree char *text = json_generator_to_data (gen, &len);
  fwrite (text, 1, len, to);
  fputc ('\n', to);
  fflush (to);
}

/* A message in English under a locale whose language is not: one the
 * catalogue does not hold (yet). */
static gboolean
untranslated (SkCli *cli, const char *message)
{
  const char *lang = cli->messages_locale != NULL ? cli->messages_locale : "C";
  if (g_str_equal (lang, "C") || g_str_has_prefix (lang, "C.") || g_str_equal (lang, "POSIX") ||
      g_str_has_prefix (lang, "en"))
    return FALSE;
  /* Only when the catalogue speaks that language at all. */
  if (g_str_equal (_ ("see “sekisho --help”"), "see “sekisho --help”"))
    return FALSE;
  if (!g_utf8_validate (message, -1, NULL))
    return FALSE;
  for (const char *p = message; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      /* English punctuation: “ ” — … */
      if (c >= 0x80 && c != 0x201C && c != 0x201D && c != 0x2014 && c != 0x2026)
        return FALSE;
    }
  return TRUE;
}

int
sk_cli_finish (SkCli *cli, const GError *error, const char *ok_message, GPtrArray *reports)
{
  const char *reason = NULL;
  g_autofree char *message = NULL;
  int exit_code = SK_EXIT_OK;
  const SkFinding *first = NULL;

  if (error != NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      /* Ctrl-C: no refusal of the input, and nothing of it was kept. */
      reason = "cancelled";
      message = g_strdup (error->message);
      exit_code = SK_CLI_EXIT_CANCELLED;
    }
  else if (error != NULL)
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
  message = sk_escape_untrusted (raw_message);

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
          g_autofree char *file = sk_escape_untrusted (r->file);
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
          g_clear_object (&cli->extra);
        }
      json_builder_end_object (b);
      write_json (b, cli->stdout_taken ? stderr : stdout);
    }
  else if (exit_code == SK_EXIT_OK && !cli->stdout_taken)
    g_print ("%s\n", message);
  else if (exit_code == SK_EXIT_OK)
    g_printerr ("%s\n", message);
  else if (untranslated (cli, message) && error != NULL && error->domain == SK_ERROR &&
           (guint)error->code < SK_ERROR_N_CODES)
    /* Some of the library's messages are not in the catalogue yet: the
     * reason's own description is, so the operator reads what happened in
     * their language, the detail after it. */
    g_printerr (_ ("sekisho: %s (detail: %s) [%s]\n"),
                sk_error_code_describe ((SkErrorCode)error->code), message, reason);
  else
    g_printerr ("sekisho: %s [%s]\n", message, reason);
  return exit_code;
}

static char *
help_hint (SkCli *cli)
{
  if (cli->command != NULL)
    {
      g_autofree char *words = sk_cli_command_words (cli->group, cli->command);
      return g_strdup_printf (_ ("see “sekisho %s --help”"), words);
    }
  if (cli->group != NULL && cli->group->name != NULL)
    return g_strdup_printf (_ ("see “sekisho %s --help”"), cli->group->name);
  return g_strdup (_ ("see “sekisho --help”"));
}

int
sk_cli_usage_error (SkCli *cli, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_autofree char *hint = help_hint (cli);
  /* TRANSLATORS: a usage error, then where to read more. */
  g_autoptr (GError) error = g_error_new (SK_ERROR, SK_ERROR_USAGE, _ ("%s (%s)"), msg, hint);
  return sk_cli_finish (cli, error, NULL, NULL);
}

/* ---- did you mean ------------------------------------------------------ */

#define NEAR_MAX 64

/* The optimal string alignment distance: insertions, deletions,
 * substitutions and swaps of two neighbours each count one. */
static guint
edit_distance (const char *a, const char *b)
{
  gsize la = strlen (a), lb = strlen (b);
  guint rows[3][NEAR_MAX + 1];

  if (la > NEAR_MAX || lb > NEAR_MAX)
    return G_MAXUINT;
  for (gsize j = 0; j <= lb; j++)
    rows[0][j] = (guint)j;
  guint *before = NULL, *prev = rows[0], *cur = rows[1];
  for (gsize i = 1; i <= la; i++)
    {
      cur[0] = (guint)i;
      for (gsize j = 1; j <= lb; j++)
        {
          guint cost = a[i - 1] == b[j - 1] ? 0 : 1;
          guint best = MIN (prev[j] + 1, cur[j - 1] + 1);
          best = MIN (best, prev[j - 1] + cost);
          if (before != NULL && i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
            best = MIN (best, before[j - 2] + 1);
          cur[j] = best;
        }
      guint *spare = before != NULL ? before : rows[2];
      before = prev;
      prev = cur;
      cur = spare;
    }
  return prev[lb];
}

const char *
sk_cli_nearest (const char *word, const char *const *candidates)
{
  const char *best = NULL;
  guint best_d = G_MAXUINT;
  const char *bare = word;

  while (*bare == '-')
    bare++;
  gsize len = strlen (bare);
  guint limit = len <= 2 ? 0 : (len <= 5 ? 1 : 2);
  for (gsize i = 0; candidates != NULL && candidates[i] != NULL; i++)
    {
      guint d = edit_distance (word, candidates[i]);
      if (d < best_d)
        best_d = d, best = candidates[i];
    }
  return best_d <= limit ? best : NULL;
}

int
sk_cli_usage_not_one_of (SkCli *cli,
                         const char *what,
                         const char *value,
                         const char *const *candidates)
{
  g_autofree char *safe = sk_escape_untrusted (value);
  g_autofree char *all = g_strjoinv (", ", (char **)candidates);
  const char *near = sk_cli_nearest (value, candidates);

  if (near != NULL)
    /* TRANSLATORS: "unknown workflow “subscribr”; did you mean “subscriber”?
     * One of: …" */
    return sk_cli_usage_error (cli, _ ("unknown %s “%s”; did you mean “%s”? One of: %s"), what,
                               safe, near, all);
  return sk_cli_usage_error (cli, _ ("unknown %s “%s”; one of: %s"), what, safe, all);
}

/* ---- help -------------------------------------------------------------- */

static const char global_options[] =
    N_ ("Global options, anywhere on the line:\n"
        "  --station DIR        a station you own, in-process; without it the command goes to\n"
        "                       the station service (sekishod) on the system bus, or for\n"
        "                       pack, unpack and the like to $XDG_DATA_HOME/sekisho\n"
        "  --handoff-root DIR   holds upload/ and download/ on a tmpfs (default /run/sekisho)\n"
        "  --json               one JSON object on stdout: UTF-8, English and UTC in every locale\n"
        "  -h, --help           what a command does, its options and an example\n");

static const char exit_codes[] =
    N_ ("Exit status: 0 done, 1 refused, 2 usage, 3 environment (the service unreachable "
        "included), 130 cancelled with Ctrl-C.\n");

static int
print_help (SkCli *cli, const char *text)
{
  if (cli->json)
    return sk_cli_finish (cli, NULL, text, NULL);
  g_print ("%s", text);
  return SK_EXIT_OK;
}

static void
append_command_line (GString *s, const SkCliGroup *group, const SkCliCommand *c)
{
  g_autofree char *words = sk_cli_command_words (group, c);
  g_autofree char *left = g_strdup_printf ("  %s", words);
  g_string_append_printf (s, "%-24s %s\n", left, _ (c->summary));
}

int
sk_cli_help_program (SkCli *cli, const SkCliGroup *const *groups)
{
  g_autoptr (GString) s = g_string_new (NULL);

  g_string_append_printf (s, "%s sekisho [--station DIR] [--json] COMMAND …\n\n", _ ("Usage:"));
  g_string_append (s, _ ("Sekisho checks, packs and carries the files of the four workflows "
                         "between the standard system and the intermediate server, and keeps "
                         "a signed record of every step.\n"));
  /* With --json, the table itself: what a test or a completion needs. */
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "commands");
  json_builder_begin_array (b);
  for (gsize g = 0; groups[g] != NULL; g++)
    {
      g_string_append_printf (s, "\n%s\n", _ (groups[g]->summary));
      for (const SkCliCommand *c = groups[g]->commands; c->name != NULL; c++)
        {
          g_autofree char *words = sk_cli_command_words (groups[g], c);
          append_command_line (s, groups[g], c);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "command");
          json_builder_add_string_value (b, words);
          json_builder_set_member_name (b, "group");
          if (groups[g]->name != NULL)
            json_builder_add_string_value (b, groups[g]->name);
          else
            json_builder_add_null_value (b);
          json_builder_set_member_name (b, "summary");
          json_builder_add_string_value (b, _ (c->summary));
          json_builder_end_object (b);
        }
    }
  json_builder_end_array (b);
  g_string_append_c (s, '\n');
  g_string_append (s, _ (global_options));
  g_string_append (s, _ (exit_codes));
  g_string_append (s, _ ("Run “sekisho COMMAND --help” for a command's options and an example.\n"));
  return print_help (cli, s->str);
}

int
sk_cli_help_group (SkCli *cli, const SkCliGroup *group)
{
  g_autoptr (GString) s = g_string_new (NULL);

  g_string_append_printf (s, "%s sekisho %s COMMAND …\n\n%s\n\n", _ ("Usage:"), group->name,
                          _ (group->summary));
  for (const SkCliCommand *c = group->commands; c->name != NULL; c++)
    append_command_line (s, group, c);
  g_string_append_c (s, '\n');
  g_string_append (s, _ (global_options));
  g_string_append_printf (s,
                          _ ("Run “sekisho %s COMMAND --help” for a command's options and an "
                             "example.\n"),
                          group->name);
  return print_help (cli, s->str);
}

static int
help_command (SkCli *cli, const GOptionEntry *entries)
{
  g_autoptr (GString) s = g_string_new (NULL);
  g_autofree char *words = sk_cli_command_words (cli->group, cli->command);
  const SkCliCommand *c = cli->command;

  g_string_append_printf (s, "%s sekisho %s%s%s\n\n%s\n", _ ("Usage:"), words,
                          *c->parameters != '\0' ? " " : "", c->parameters, _ (c->summary));
  if (entries != NULL && entries[0].long_name != NULL)
    {
      g_string_append_printf (s, "\n%s\n", _ ("Options:"));
      for (const GOptionEntry *e = entries; e->long_name != NULL; e++)
        {
          g_autoptr (GString) left = g_string_new ("  ");
          if (e->short_name != 0)
            g_string_append_printf (left, "-%c, ", e->short_name);
          g_string_append_printf (left, "--%s", e->long_name);
          if (e->arg != G_OPTION_ARG_NONE && e->arg_description != NULL)
            g_string_append_printf (left, " %s", e->arg_description);
          g_string_append_printf (s, "%-34s %s\n", left->str, _ (e->description));
        }
    }
  g_string_append_c (s, '\n');
  g_string_append (s, _ (global_options));
  g_string_append_printf (s, "\n%s\n  %s\n", _ ("Example:"), c->example);
  return print_help (cli, s->str);
}

/* ---- options ----------------------------------------------------------- */

static const GOptionEntry *
find_entry (const GOptionEntry *entries, const char *arg)
{
  for (const GOptionEntry *e = entries; e != NULL && e->long_name != NULL; e++)
    {
      if (g_str_has_prefix (arg, "--"))
        {
          gsize len = strlen (e->long_name);
          if (strncmp (arg + 2, e->long_name, len) == 0 &&
              (arg[2 + len] == '\0' || arg[2 + len] == '='))
            return e;
        }
      else if (e->short_name != 0 && arg[1] == e->short_name)
        return e;
    }
  return NULL;
}

/* An option the command does not know is a usage error that names the
 * nearest one it does; GOption would say only "Unknown option". */
static gboolean
check_unknown_options (SkCli *cli, const GOptionEntry *entries, int argc, char **argv, int *out)
{
  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i];
      if (g_str_equal (arg, "--"))
        return TRUE;
      if (arg[0] != '-' || arg[1] == '\0')
        continue;
      const GOptionEntry *e = find_entry (entries, arg);
      if (e != NULL)
        {
          if (e->arg != G_OPTION_ARG_NONE && strchr (arg, '=') == NULL &&
              (arg[1] == '-' || arg[2] == '\0'))
            i++;
          continue;
        }
      g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      for (const GOptionEntry *o = entries; o != NULL && o->long_name != NULL; o++)
        g_ptr_array_add (names, g_strconcat ("--", o->long_name, NULL));
      g_ptr_array_add (names, g_strdup ("--json"));
      g_ptr_array_add (names, g_strdup ("--station"));
      g_ptr_array_add (names, g_strdup ("--handoff-root"));
      g_ptr_array_add (names, g_strdup ("--help"));
      g_ptr_array_add (names, NULL);
      g_autofree char *name = g_strndup (arg, strcspn (arg, "="));
      g_autofree char *words = sk_cli_command_words (cli->group, cli->command);
      g_autofree char *safe = sk_escape_untrusted (name);
      const char *near = sk_cli_nearest (name, (const char *const *)names->pdata);
      if (near != NULL)
        *out = sk_cli_usage_error (cli, _ ("%s has no option “%s”; did you mean “%s”?"), words,
                                   safe, near);
      else
        *out = sk_cli_usage_error (cli, _ ("%s has no option “%s”"), words, safe);
      return FALSE;
    }
  return TRUE;
}

gboolean
sk_cli_parse_options (
    SkCli *cli, const GOptionEntry *entries, int *argc, char ***argv, int *out_exit)
{
  g_return_val_if_fail (cli->command != NULL, FALSE);

  if (cli->help)
    {
      *out_exit = help_command (cli, entries);
      return FALSE;
    }
  if (!check_unknown_options (cli, entries, *argc, *argv, out_exit))
    return FALSE;

  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;
  g_option_context_set_help_enabled (ctx, FALSE);
  g_option_context_set_translation_domain (ctx, GETTEXT_PACKAGE);
  if (entries != NULL)
    g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      *out_exit = sk_cli_usage_error (cli, "%s", error->message);
      return FALSE;
    }
  return TRUE;
}

/* ---- the station ------------------------------------------------------- */

SkStation *
sk_cli_open_station (SkCli *cli, GError **error)
{
  return sk_station_open (cli->station_dir, error);
}

SkPipeline *
sk_cli_open_pipeline (SkCli *cli, GError **error)
{
  g_autoptr (SkStation) station = sk_cli_open_station (cli, error);
  if (station == NULL)
    return NULL;
  g_autoptr (SkPolicy) policy = sk_station_load_policy (station, error);
  if (policy == NULL)
    return NULL;
  return sk_pipeline_new (station, policy, cli->handoff_root, error);
}

SkActor
sk_cli_current_actor (void)
{
  /* On a station the caller owns, the caller acts as the operator. */
  return *sk_actor_for_process (SK_ROLE_OPERATOR);
}

char *
sk_cli_format_local_time (gint64 time_us)
{
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_local (time_us / G_USEC_PER_SEC);
  if (dt == NULL)
    return g_strdup ("?");
  return g_date_time_format (dt, "%Y-%m-%d %H:%M:%S %Z");
}

static void
remove_at (int parent, const char *name)
{
  int fd = openat (parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0)
    {
      DIR *dir = fdopendir (fd);
      if (dir == NULL)
        {
          close (fd);
          return;
        }
      struct dirent *de;
      while ((de = readdir (dir)) != NULL)
        if (!g_str_equal (de->d_name, ".") && !g_str_equal (de->d_name, ".."))
          remove_at (dirfd (dir), de->d_name);
      closedir (dir);
      unlinkat (parent, name, AT_REMOVEDIR);
    }
  else
    unlinkat (parent, name, 0);
}

void
sk_cli_remove_tree (const char *path)
{
  remove_at (AT_FDCWD, path);
}

char *
sk_cli_format_time_left (gint64 deadline_us, gint64 now_us)
{
  gint64 left = (deadline_us - now_us) / G_USEC_PER_SEC;
  gint64 span = ABS (left);
  g_autofree char *amount = NULL;
  if (span >= 86400)
    amount = g_strdup_printf (_ ("%lld d %lld h"), (long long)(span / 86400),
                              (long long)(span % 86400 / 3600));
  else if (span >= 3600)
    amount = g_strdup_printf (_ ("%lld h %lld min"), (long long)(span / 3600),
                              (long long)(span % 3600 / 60));
  else if (span >= 60)
    amount = g_strdup_printf (_ ("%lld min"), (long long)(span / 60));
  else
    amount = g_strdup_printf (_ ("%lld s"), (long long)span);
  return g_strdup_printf (left >= 0 ? _ ("%s left") : _ ("%s overdue"), amount);
}

/* The glossary's words (po/GLOSSARY.md); scripts/check-po holds ja.po to
 * them. */
static const struct
{
  const char *code;
  const char *context;
  const char *term;
} terms[] = {
  { "subscriber", "workflow", NC_ ("workflow", "subscriber") },
  { "duplicate", "workflow", NC_ ("workflow", "duplicate") },
  { "inquiry", "workflow", NC_ ("workflow", "inquiry") },
  { "identity", "workflow", NC_ ("workflow", "identity") },
  { "imported", "state", NC_ ("state", "imported") },
  { "handed-off", "state", NC_ ("state", "handed-off") },
  { "uploaded", "state", NC_ ("state", "uploaded") },
  { "results-in", "state", NC_ ("state", "results-in") },
  { "exported", "state", NC_ ("state", "exported") },
  { "closed", "state", NC_ ("state", "closed") },
  { "interrupted", "state", NC_ ("state", "interrupted") },
  { "staged", "state", NC_ ("state", "staged") },
  { "taken-in", "state", NC_ ("state", "taken-in") },
  { "approved", "state", NC_ ("state", "approved") },
  { "request", "role", NC_ ("role", "request") },
  { "result", "role", NC_ ("role", "result") },
  { "station", "key role", NC_ ("key role", "station") },
  { "admin", "key role", NC_ ("key role", "admin") },
  { "to-intermediate signer", "key role", NC_ ("key role", "to-intermediate signer") },
  { "to-intermediate recipient", "key role", NC_ ("key role", "to-intermediate recipient") },
  { "to-standard signer", "key role", NC_ ("key role", "to-standard signer") },
  { "to-standard recipient", "key role", NC_ ("key role", "to-standard recipient") },
  { "results-due", "deadline", NC_ ("deadline", "results due") },
  { "upload-plaintext", "deadline", NC_ ("deadline", "upload plaintext deleted") },
  { "stored-package", "deadline", NC_ ("deadline", "stored package deleted") },
  { "stored-result", "deadline", NC_ ("deadline", "stored result deleted") },
};

const char *
sk_cli_term (const char *code)
{
  for (gsize i = 0; code != NULL && i < G_N_ELEMENTS (terms); i++)
    if (g_str_equal (terms[i].code, code))
      return g_dpgettext2 (GETTEXT_PACKAGE, terms[i].context, terms[i].term);
  return code;
}

GBytes *
sk_cli_read_small_file (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len;
  if (!g_file_get_contents (path, &data, &len, error))
    return NULL;
  return g_bytes_new_take (g_steal_pointer (&data), len);
}

void
sk_cli_print_reports (SkCli *cli, GPtrArray *reports)
{
  for (guint i = 0; i < reports->len; i++)
    {
      SkFileReport *r = g_ptr_array_index (reports, i);
      g_autofree char *file = sk_escape_untrusted (r->file);
      if (sk_file_report_ok (r))
        {
          sk_cli_print (cli,
                        g_dngettext (GETTEXT_PACKAGE, "OK       %s  %s, %llu record\n",
                                     "OK       %s  %s, %llu records\n", r->records),
                        file, sk_kind_get_id (r->kind), (unsigned long long)r->records);
          continue;
        }
      sk_cli_print (cli,
                    g_dngettext (GETTEXT_PACKAGE, "REFUSED  %s  %s, %u finding%s\n",
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
          sk_cli_print (cli, "  %-22s %s: %s\n", sk_error_code_to_reason (f->code), where->str,
                        sk_error_code_describe (f->code));
        }
    }
}
