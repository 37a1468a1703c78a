/* sk-cli-case.c — the cases of the integration terminal: import, list, show, hand-off,
 * confirm-upload, take-in, approve, export, interrupt */
#define G_LOG_DOMAIN "sekisho"

#include "config.h"

#include <glib/gi18n.h>
#include <unistd.h>

#include "sk-cli.h"
#include "sk-journal.h"
#include "sk-pipeline.h"
#include "sk-report.h"
#include "sk-store.h"

static void
print_case (SkCli *cli, const SkCase *c, GArray *deadlines)
{
  g_autofree char *id = sk_escape_untrusted (c->id);
  sk_cli_print (cli, _ ("Case %s (%s): %s%s\n"), id, sk_cli_term (c->workflow),
                sk_cli_term (c->state), c->overdue ? _ (" — no result yet, overdue") : "");
  for (guint i = 0; i < c->files->len; i++)
    {
      const SkCaseFile *f = g_ptr_array_index (c->files, i);
      g_autofree char *name = sk_escape_untrusted (f->name);
      sk_cli_print (cli,
                    g_dngettext (GETTEXT_PACKAGE, "  %-7s %s  %s  %lld record  %s%s\n",
                                 "  %-7s %s  %s  %lld records  %s%s\n", (gulong)f->records),
                    sk_cli_term (f->role), f->kind, name, (long long)f->records,
                    sk_cli_term (f->state),
                    f->needs_approval ? _ (" — needs a second operator's approval") : "");
    }
  gint64 now = g_get_real_time ();
  for (guint i = 0; deadlines != NULL && i < deadlines->len; i++)
    {
      const SkDeadline *d = &g_array_index (deadlines, SkDeadline, i);
      g_autofree char *at = sk_cli_format_local_time (d->at_us);
      g_autofree char *left = sk_cli_format_time_left (d->at_us, now);
      g_autofree char *what = d->kind != NULL
                                  ? g_strdup_printf (_ ("%s (%s)"), sk_cli_term (d->what), d->kind)
                                  : g_strdup (sk_cli_term (d->what));
      sk_cli_print (cli, _ ("  deadline: %s, %s (%s)\n"), what, at, left);
    }
}

static int
finish_with_case (SkCli *cli, SkPipeline *pipeline, const char *case_id, const char *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkCase) c = sk_pipeline_get_case (pipeline, case_id, &error);
  if (c == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autoptr (GPtrArray) items = sk_store_list (sk_pipeline_get_store (pipeline), &error);
  if (items == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autoptr (GArray) deadlines =
      sk_report_case_deadlines (sk_pipeline_get_policy (pipeline), c, items);
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "case");
  sk_report_add_case (b, c, deadlines, g_get_real_time ());
  print_case (cli, c, deadlines);
  return sk_cli_finish (cli, NULL, message, NULL);
}

static int
cmd_case_import (SkCli *cli, int argc, char **argv)
{
  int code;
  if (!sk_cli_parse_options (cli, NULL, &argc, &argv, &code))
    return code;
  if (argc < 2)
    return sk_cli_usage_error (cli, _ ("case import takes packages, or folders that hold them"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkPipeline) pipeline = sk_cli_open_pipeline (cli, &error);
  if (pipeline == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  for (int i = 1; i < argc; i++)
    {
      if (g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        {
          g_autoptr (GPtrArray) found = sk_pipeline_find_packages (argv[i], &error);
          if (found == NULL)
            return sk_cli_finish (cli, error, NULL, NULL);
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
      return sk_cli_finish (cli, error, NULL, NULL);
    }

  /* Each package stands alone: one refused does not stop the others, but
   * the command reports the first refusal. */
  SkActor actor = sk_cli_current_actor ();
  g_autoptr (GError) first_error = NULL;
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "imported");
  json_builder_begin_array (b);
  guint imported = 0;
  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = g_ptr_array_index (paths, i);
      g_autofree char *safe = sk_escape_untrusted (path);
      g_autoptr (GError) one_error = NULL;
      g_autoptr (SkCase) c = sk_pipeline_import (pipeline, &actor, path, NULL, NULL, &one_error);
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
      g_autoptr (GPtrArray) items = sk_store_list (sk_pipeline_get_store (pipeline), NULL);
      g_autoptr (GArray) deadlines =
          sk_report_case_deadlines (sk_pipeline_get_policy (pipeline), c, items);
      sk_report_add_case (b, c, deadlines, g_get_real_time ());
      print_case (cli, c, deadlines);
    }
  json_builder_end_array (b);
  if (first_error != NULL)
    return sk_cli_finish (cli, first_error, NULL, NULL);
  g_autofree char *msg =
      g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u package imported into the store.",
                                    "%u packages imported into the store.", imported),
                       imported);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

static int
cmd_case_list (SkCli *cli, int argc, char **argv)
{
  int code;
  if (!sk_cli_parse_options (cli, NULL, &argc, &argv, &code))
    return code;
  if (argc != 1)
    return sk_cli_usage_error (cli, _ ("case list takes no arguments"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkPipeline) pipeline = sk_cli_open_pipeline (cli, &error);
  g_autoptr (GPtrArray) cases = pipeline != NULL ? sk_pipeline_list_cases (pipeline, &error) : NULL;
  g_autoptr (GPtrArray) items =
      cases != NULL ? sk_store_list (sk_pipeline_get_store (pipeline), &error) : NULL;
  if (items == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "cases");
  json_builder_begin_array (b);
  for (guint i = 0; i < cases->len; i++)
    {
      const SkCase *c = g_ptr_array_index (cases, i);
      g_autoptr (GArray) deadlines =
          sk_report_case_deadlines (sk_pipeline_get_policy (pipeline), c, items);
      sk_report_add_case (b, c, deadlines, g_get_real_time ());
      print_case (cli, c, deadlines);
    }
  json_builder_end_array (b);
  g_autofree char *msg = g_strdup_printf (
      g_dngettext (GETTEXT_PACKAGE, "%u case.", "%u cases.", cases->len), cases->len);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

/* The commands that act on one case: show, hand-off, confirm-upload,
 * interrupt. */
static int
cmd_case_step (SkCli *cli, int argc, char **argv, const char *step)
{
  int code;
  g_autofree char *command = sk_cli_command_words (cli->group, cli->command);
  if (!sk_cli_parse_options (cli, NULL, &argc, &argv, &code))
    return code;
  if (argc != 2)
    return sk_cli_usage_error (cli, _ ("%s takes one case (処理番号)"), command);

  g_autoptr (GError) error = NULL;
  g_autoptr (SkPipeline) pipeline = sk_cli_open_pipeline (cli, &error);
  if (pipeline == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  SkActor actor = sk_cli_current_actor ();
  const char *case_id = argv[1];
  g_autofree char *msg = NULL;
  if (g_str_equal (step, "hand-off"))
    {
      g_autoptr (GPtrArray) paths =
          sk_pipeline_hand_off (pipeline, &actor, case_id, NULL, NULL, &error);
      if (paths == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      JsonBuilder *b = sk_cli_extra (cli);
      json_builder_set_member_name (b, "handed_off");
      json_builder_begin_array (b);
      for (guint i = 0; i < paths->len; i++)
        {
          g_autofree char *safe = sk_escape_untrusted (g_ptr_array_index (paths, i));
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
        return sk_cli_finish (cli, error, NULL, NULL);
      msg = g_strdup (_ ("Upload confirmed; the plaintext is deleted. The case waits for its "
                         "results."));
    }
  else if (g_str_equal (step, "interrupt"))
    {
      if (!sk_pipeline_interrupt (pipeline, &actor, case_id, &error))
        return sk_cli_finish (cli, error, NULL, NULL);
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
  if (!sk_cli_parse_options (cli, NULL, &argc, &argv, &code))
    return code;

  g_autoptr (GError) error = NULL;
  g_autoptr (SkPipeline) pipeline = sk_cli_open_pipeline (cli, &error);
  if (pipeline == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  SkActor actor = sk_cli_current_actor ();
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (int i = 1; i < argc; i++)
    g_ptr_array_add (names, g_strdup (argv[i]));
  if (names->len == 0)
    {
      g_autoptr (GPtrArray) waiting = sk_pipeline_list_downloads (pipeline, &actor, &error);
      if (waiting == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      for (guint i = 0; i < waiting->len; i++)
        g_ptr_array_add (names, g_strdup (g_ptr_array_index (waiting, i)));
    }
  if (names->len == 0)
    {
      g_set_error_literal (&error, SK_ERROR, SK_ERROR_CASE_STATE,
                           _ ("the download folder is empty: save the result files there first"));
      return sk_cli_finish (cli, error, NULL, NULL);
    }

  g_autoptr (GError) first_error = NULL;
  g_autoptr (GPtrArray) reports =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sk_file_report_free);
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "taken_in");
  json_builder_begin_array (b);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *safe = sk_escape_untrusted (name);
      g_autoptr (GError) one_error = NULL;
      SkFileReport *report = NULL;
      g_autoptr (SkCaseFile) f =
          sk_pipeline_take_in (pipeline, &actor, name, &report, NULL, NULL, &one_error);
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
      sk_cli_print (cli,
                    g_dngettext (GETTEXT_PACKAGE, "Taken in: %s (%s, %lld record)%s\n",
                                 "Taken in: %s (%s, %lld records)%s\n", (gulong)f->records),
                    safe, f->kind, (long long)f->records,
                    f->needs_approval ? _ (" — needs a second operator's approval") : "");
    }
  json_builder_end_array (b);
  if (first_error != NULL)
    return sk_cli_finish (cli, first_error, NULL, reports);
  return sk_cli_finish (
      cli, NULL, _ ("Every result was validated, paired with its request and sealed."), NULL);
}

static int
cmd_case_approve (SkCli *cli, int argc, char **argv)
{
  int code;
  if (!sk_cli_parse_options (cli, NULL, &argc, &argv, &code))
    return code;
  if (argc != 3)
    return sk_cli_usage_error (cli, _ ("case approve takes a case and a result file's name"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkPipeline) pipeline = sk_cli_open_pipeline (cli, &error);
  if (pipeline == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  SkActor actor = sk_cli_current_actor ();
  if (!sk_pipeline_approve (pipeline, &actor, argv[1], argv[2], &error))
    return sk_cli_finish (cli, error, NULL, NULL);
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
  if (!sk_cli_parse_options (cli, entries, &argc, &argv, &code))
    return code;
  if (argc != 2 || out == NULL)
    return sk_cli_usage_error (cli, _ ("case export takes --out DIR and one case"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkPipeline) pipeline = sk_cli_open_pipeline (cli, &error);
  if (pipeline == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  SkActor actor = sk_cli_current_actor ();
  g_autofree char *path = sk_pipeline_export (pipeline, &actor, argv[1], out, NULL, NULL, &error);
  if (path == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "package");
  g_autofree char *safe = sk_escape_untrusted (path);
  json_builder_add_string_value (b, safe);
  g_autofree char *msg =
      g_strdup_printf (_ ("Exported, synced and read back: %s (and %s.sig)"), path, path);
  return finish_with_case (cli, pipeline, argv[1], msg);
}

static int
cmd_case_show (SkCli *cli, int argc, char **argv)
{
  return cmd_case_step (cli, argc, argv, "show");
}

static int
cmd_case_hand_off (SkCli *cli, int argc, char **argv)
{
  return cmd_case_step (cli, argc, argv, "hand-off");
}

static int
cmd_case_confirm_upload (SkCli *cli, int argc, char **argv)
{
  return cmd_case_step (cli, argc, argv, "confirm-upload");
}

static int
cmd_case_interrupt (SkCli *cli, int argc, char **argv)
{
  return cmd_case_step (cli, argc, argv, "interrupt");
}

static const SkCliCommand case_commands[] = {
  { "import", "PKG.tar.gpg|FOLDER…",
    N_ ("Check packages from a medium and take them into the station's store as cases."),
    "sekisho case import /media/usb0", cmd_case_import },
  { "list", "", N_ ("List the cases on the station, with their states and deadlines."),
    "sekisho case list", cmd_case_list },
  { "show", "CASE", N_ ("Show one case: its files, its state and its deadlines."),
    "sekisho case show 0000000001", cmd_case_show },
  { "hand-off", "CASE", N_ ("Put a case's request files into the upload folder for the browser."),
    "sekisho case hand-off 0000000001", cmd_case_hand_off },
  { "confirm-upload", "CASE",
    N_ ("Record that the files were uploaded, and delete them from the upload folder."),
    "sekisho case confirm-upload 0000000001", cmd_case_confirm_upload },
  { "take-in", "[NAME…]",
    N_ ("Check the result files in the download folder and seal them into their cases."),
    "sekisho case take-in", cmd_case_take_in },
  { "approve", "CASE NAME",
    N_ ("Approve a result file that needs a second operator (dual control)."),
    "sekisho case approve 0000000001 SKI03_0000000001.csv", cmd_case_approve },
  { "export", "--out DIR CASE",
    N_ ("Write a case's results as a package onto a medium, then read it back."),
    "sekisho case export --out /media/usb0 0000000001", cmd_case_export },
  { "interrupt", "CASE", N_ ("Interrupt a case; its items are deleted when their periods end."),
    "sekisho case interrupt 0000000001", cmd_case_interrupt },
  { NULL },
};

const SkCliGroup sk_cli_case_group = {
  "case",
  N_ ("Cases on the integration terminal (one per 処理番号):"),
  case_commands,
};
