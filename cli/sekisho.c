/* sekisho.c — the command line (DESIGN.md §8): global options, then the
 * command table of each group (cli/sk-cli-*.c) and the shared envelope
 * (cli/sk-cli.c). */
#define G_LOG_DOMAIN "sekisho"

#include "config.h"

#include <glib/gi18n.h>
#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "sk-cli.h"
#include "sk-process.h"

/* In the order the help lists them.  A new group (media, …) is one more
 * line here and a table in its own file. */
static const SkCliGroup *const groups[] = {
  &sk_cli_files_group,   &sk_cli_case_group, &sk_cli_media_group,  &sk_cli_journal_group,
  &sk_cli_station_group, &sk_cli_key_group,  &sk_cli_policy_group, NULL,
};

/* Take the global options out of ARGV wherever they stand (up to "--"),
 * so that `sekisho journal verify --json` means what it says.  Returns
 * FALSE when one lacks its value. */
static gboolean
take_global_options (SkCli *cli, int *argc, char **argv, gboolean *version, const char **missing)
{
  int out = 1;
  gboolean rest = FALSE;

  for (int i = 1; i < *argc; i++)
    {
      const char *arg = argv[i];
      char **target = NULL;
      const char *value = NULL;

      if (rest || g_str_equal (arg, "--"))
        {
          rest = TRUE;
          argv[out++] = argv[i];
          continue;
        }
      if (g_str_equal (arg, "--json"))
        cli->json = TRUE;
      else if (g_str_equal (arg, "-h") || g_str_equal (arg, "--help"))
        cli->help = TRUE;
      else if (g_str_equal (arg, "--version"))
        *version = TRUE;
      else if (g_str_equal (arg, "--station") || g_str_has_prefix (arg, "--station="))
        {
          target = &cli->station_dir;
          cli->station_given = TRUE;
        }
      else if (g_str_equal (arg, "--handoff-root") || g_str_has_prefix (arg, "--handoff-root="))
        target = &cli->handoff_root;
      else
        {
          argv[out++] = argv[i];
          continue;
        }
      if (target == NULL)
        continue;
      if (strchr (arg, '=') != NULL)
        value = strchr (arg, '=') + 1;
      else if (i + 1 < *argc)
        value = argv[++i];
      else
        {
          *missing = arg;
          return FALSE;
        }
      g_free (*target);
      *target = g_strdup (value);
    }
  argv[out] = NULL;
  *argc = out;
  return TRUE;
}

static const SkCliCommand *
find_command (const SkCliGroup *group, const char *name)
{
  for (const SkCliCommand *c = group->commands; c->name != NULL; c++)
    if (g_str_equal (c->name, name))
      return c;
  return NULL;
}

/* Every word that may stand first on the line. */
static GPtrArray *
first_words (void)
{
  GPtrArray *words = g_ptr_array_new ();
  for (gsize g = 0; groups[g] != NULL; g++)
    {
      if (groups[g]->name != NULL)
        g_ptr_array_add (words, (gpointer)groups[g]->name);
      else
        for (const SkCliCommand *c = groups[g]->commands; c->name != NULL; c++)
          g_ptr_array_add (words, (gpointer)c->name);
    }
  g_ptr_array_add (words, NULL);
  return words;
}

static int
dispatch (SkCli *cli, int argc, char **argv)
{
  if (argc < 2)
    {
      if (cli->help)
        return sk_cli_help_program (cli, groups);
      return sk_cli_usage_error (cli, _ ("no command given"));
    }

  const char *word = argv[1];
  for (gsize g = 0; groups[g] != NULL; g++)
    {
      const SkCliGroup *group = groups[g];
      if (group->name == NULL)
        {
          const SkCliCommand *c = find_command (group, word);
          if (c == NULL)
            continue;
          cli->group = group;
          cli->command = c;
          return c->run (cli, argc - 1, argv + 1);
        }
      if (!g_str_equal (group->name, word))
        continue;

      cli->group = group;
      if (argc < 3)
        {
          if (cli->help)
            return sk_cli_help_group (cli, group);
          return sk_cli_usage_error (cli, _ ("“%s” needs a command"), group->name);
        }
      const SkCliCommand *c = find_command (group, argv[2]);
      if (c == NULL)
        {
          g_autoptr (GPtrArray) names = g_ptr_array_new ();
          for (const SkCliCommand *k = group->commands; k->name != NULL; k++)
            g_ptr_array_add (names, (gpointer)k->name);
          g_ptr_array_add (names, NULL);
          g_autofree char *what = g_strdup_printf (_ ("%s command"), group->name);
          return sk_cli_usage_not_one_of (cli, what, argv[2], (const char *const *)names->pdata);
        }
      cli->command = c;
      return c->run (cli, argc - 2, argv + 2);
    }

  g_autoptr (GPtrArray) words = first_words ();
  return sk_cli_usage_not_one_of (cli, _ ("command"), word, (const char *const *)words->pdata);
}

int
main (int argc, char **argv)
{
  SkCli cli = { 0 };
  gboolean version = FALSE;
  const char *missing = NULL;
  int code;

  setlocale (LC_ALL, "");
  /* $SEKISHO_LOCALEDIR lets the tests use the catalogue of the build tree;
   * secure_getenv ignores it where the environment is not the caller's. */
  const char *localedir = secure_getenv ("SEKISHO_LOCALEDIR");
  bindtextdomain (GETTEXT_PACKAGE, localedir != NULL ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("sekisho");
  /* Records and decrypted packages pass through this process's memory:
   * no core dump of it, no same-user ptrace (sk-process.h). */
  g_autoptr (GError) harden_error = NULL;
  if (!sk_process_harden (&harden_error))
    {
      g_printerr ("sekisho: %s\n", harden_error->message);
      return SK_EXIT_ENVIRONMENT;
    }

  gboolean options_ok = take_global_options (&cli, &argc, argv, &version, &missing);
  cli.messages_locale = g_strdup (setlocale (LC_MESSAGES, NULL));
  if (cli.json)
    {
      /* Machine output is the same bytes in every locale: UTF-8, English
       * messages, UTC times.  Scripts and the tests rely on it. */
      setlocale (LC_ALL, "C.UTF-8");
      g_unsetenv ("LANGUAGE");
    }
  else if (strcmp (nl_langinfo (CODESET), "UTF-8") != 0)
    /* Under LANG=C (cron, units) messages stay English, but names and
     * 処理番号 are printed as UTF-8 rather than as question marks. */
    setlocale (LC_CTYPE, "C.UTF-8");

  if (!options_ok)
    code = sk_cli_usage_error (&cli, _ ("%s needs a value"), missing);
  else if (version)
    {
      g_print ("sekisho %s\n", PACKAGE_VERSION);
      code = SK_EXIT_OK;
    }
  else
    {
      if (cli.station_dir == NULL)
        cli.station_dir = g_build_filename (g_get_user_data_dir (), "sekisho", NULL);
      if (cli.handoff_root == NULL)
        cli.handoff_root = g_strdup ("/run/sekisho");
      code = dispatch (&cli, argc, argv);
    }

  sk_cli_bus_close (&cli);
  g_clear_object (&cli.extra);
  g_free (cli.station_dir);
  g_free (cli.handoff_root);
  g_free (cli.messages_locale);
  return code;
}
