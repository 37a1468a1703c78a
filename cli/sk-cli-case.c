/* sk-cli-case.c — the cases of the integration terminal: import, list, show, hand-off,
 * confirm-upload, take-in, approve, export, interrupt */
#define G_LOG_DOMAIN "sekisho"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <string.h>
#include <unistd.h>

#include "sk-cli.h"
#include "sk-journal.h"
#include "sk-media.h"
#include "sk-pipeline.h"
#include "sk-report.h"
#include "sk-store.h"

/* A case as its JSON object, the one both ways print from. */
static JsonNode *
case_node (SkPolicy *policy, const SkCase *c, GPtrArray *items)
{
  g_autoptr (GArray) deadlines = sk_report_case_deadlines (policy, c, items);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  sk_report_add_case (b, c, deadlines, g_get_real_time ());
  return json_builder_get_root (b);
}

static const char *
member_string (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  if (n == NULL || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

static gint64
member_int (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  if (n == NULL || json_node_get_value_type (n) != G_TYPE_INT64)
    return 0;
  return json_node_get_int (n);
}

static gboolean
member_bool (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  return n != NULL && json_node_get_value_type (n) == G_TYPE_BOOLEAN && json_node_get_boolean (n);
}

static JsonArray *
member_array (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

static JsonObject *
element_object (JsonArray *a, guint i)
{
  JsonNode *n = json_array_get_element (a, i);
  return JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

/* A UTC time of the JSON ("2026-12-06T15:45:12.000000Z"), in microseconds. */
static gboolean
parse_utc (const char *text, gint64 *out_us)
{
  if (text == NULL)
    return FALSE;
  g_autoptr (GDateTime) dt = g_date_time_new_from_iso8601 (text, NULL);
  if (dt == NULL)
    return FALSE;
  *out_us = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
  return TRUE;
}

/* One case for a person, from its JSON object.  Every text in it was
 * escaped where the object was made (here or in the service). */
static void
print_case (SkCli *cli, JsonObject *c)
{
  if (cli->json || c == NULL)
    return;
  sk_cli_print (cli, _ ("Case %s (%s): %s%s\n"), member_string (c, "id"),
                sk_cli_term (member_string (c, "workflow")),
                sk_cli_term (member_string (c, "state")),
                member_bool (c, "overdue") ? _ (" — no result yet, overdue") : "");
  JsonArray *files = member_array (c, "files");
  for (guint i = 0; files != NULL && i < json_array_get_length (files); i++)
    {
      JsonObject *f = element_object (files, i);
      gint64 records = member_int (f, "records");
      sk_cli_print (
          cli,
          g_dngettext (GETTEXT_PACKAGE, "  %-7s %s  %s  %lld record  %s%s\n",
                       "  %-7s %s  %s  %lld records  %s%s\n", (gulong)records),
          sk_cli_term (member_string (f, "role")), member_string (f, "kind"),
          member_string (f, "name"), (long long)records, sk_cli_term (member_string (f, "state")),
          member_bool (f, "needs_approval") ? _ (" — needs a second operator's approval") : "");
    }
  gint64 now = g_get_real_time ();
  JsonArray *deadlines = member_array (c, "deadlines");
  for (guint i = 0; deadlines != NULL && i < json_array_get_length (deadlines); i++)
    {
      JsonObject *d = element_object (deadlines, i);
      gint64 at_us;
      if (!parse_utc (member_string (d, "deadline"), &at_us))
        continue;
      g_autofree char *at = sk_cli_format_local_time (at_us);
      g_autofree char *left = sk_cli_format_time_left (at_us, now);
      const char *kind = member_string (d, "kind");
      g_autofree char *what =
          kind != NULL
              ? g_strdup_printf (_ ("%s (%s)"), sk_cli_term (member_string (d, "what")), kind)
              : g_strdup (sk_cli_term (member_string (d, "what")));
      sk_cli_print (cli, _ ("  deadline: %s, %s (%s)\n"), what, at, left);
    }
}

/* The case CASE_ID as "case" of the result, and for a person; then the
 * outcome MESSAGE. */
static int
finish_with_case (SkCli *cli, SkPipeline *pipeline, const char *case_id, const char *message)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) obj = NULL;
  if (pipeline == NULL && !sk_cli_use_service (cli))
    {
      /* Only to show it: read as it stands, nothing written. */
      g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
      g_autoptr (SkPolicy) policy =
          station != NULL ? sk_station_load_policy (station, &error) : NULL;
      g_autoptr (GPtrArray) cases = NULL, items = NULL;
      if (policy == NULL ||
          !sk_report_read_cases (station, policy, case_id, &cases, &items, &error))
        return sk_cli_finish (cli, error, NULL, NULL);
      g_autoptr (JsonNode) node = case_node (policy, g_ptr_array_index (cases, 0), items);
      obj = json_object_ref (json_node_get_object (node));
    }
  else if (pipeline == NULL)
    {
      obj = sk_cli_call_json (cli, "Cases", "Show", g_variant_new ("(s)", case_id), NULL, &error);
      if (obj == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
    }
  else
    {
      g_autoptr (SkCase) c = sk_pipeline_get_case (pipeline, case_id, &error);
      if (c == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      g_autoptr (GPtrArray) items = sk_store_list (sk_pipeline_get_store (pipeline), &error);
      if (items == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      g_autoptr (JsonNode) node = case_node (sk_pipeline_get_policy (pipeline), c, items);
      obj = json_object_ref (json_node_get_object (node));
    }
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "case");
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, obj);
  json_builder_add_value (b, node);
  print_case (cli, obj);
  return sk_cli_finish (cli, NULL, message, NULL);
}

/* FOLDER, opened with the caller's rights, as the handle of FDS. */
static gint32
open_folder (GUnixFDList *fds, const char *folder, GError **error)
{
  int fd = open (folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      g_autofree char *safe = sk_escape_untrusted (folder);
      int errsv = errno;
      g_autofree char *what = g_strdup_printf (_ ("opening the folder %s"), safe);
      sk_error_set_from_errno (error, errsv, what);
      return -1;
    }
  return sk_cli_fd_append (fds, fd, error);
}

/* One package, PATH, through the service: its folder as a descriptor, its
 * name beside it.  Returns the case's object. */
static JsonObject *
import_through_service (SkCli *cli, const char *path, GError **error)
{
  g_autofree char *folder = g_path_get_dirname (path);
  g_autofree char *name = g_path_get_basename (path);
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  gint32 h = open_folder (fds, folder, error);
  if (h < 0)
    return NULL;
  return sk_cli_run_job (cli, "Cases", "Import", g_variant_new ("(hs)", h, name), fds, error);
}

/* The station in-process with its media: what --medium needs there. */
typedef struct
{
  SkStation *station;
  SkJournal *journal;
  SkPipeline *pipeline;
  SkUdev *udev;
  SkMedia *media;
} MediaWorld;

static void
media_world_clear (MediaWorld *w)
{
  g_clear_object (&w->media);
  g_clear_object (&w->udev);
  g_clear_object (&w->pipeline);
  g_clear_object (&w->journal);
  g_clear_object (&w->station);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (MediaWorld, media_world_clear)

static gboolean
media_world_open (SkCli *cli, MediaWorld *w, GError **error)
{
  w->station = sk_cli_open_station (cli, error);
  if (w->station == NULL)
    return FALSE;
  g_autoptr (SkPolicy) policy = sk_station_load_policy (w->station, error);
  if (policy == NULL)
    return FALSE;
  w->pipeline = sk_pipeline_new (w->station, policy, cli->handoff_root, error);
  if (w->pipeline == NULL)
    return FALSE;
  w->journal = sk_station_open_journal (w->station, FALSE, error);
  if (w->journal == NULL)
    return FALSE;
  w->udev = sk_udev_new (error);
  if (w->udev == NULL)
    return FALSE;
  w->media = sk_media_new (w->station, w->journal, policy, w->udev, error);
  return w->media != NULL;
}

/* Every package of a medium, in-process through core/sk-media or through
 * the service's Media interface: one entry per package found, refusals
 * included. */
static int
import_medium (SkCli *cli, const char *medium)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) result = NULL;
  if (sk_cli_use_service (cli))
    {
      result = sk_cli_run_job (cli, "Media", "Import", g_variant_new ("(s)", medium), NULL, &error);
      if (result == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
    }
  else
    {
      g_auto (MediaWorld) w = { 0 };
      if (!media_world_open (cli, &w, &error))
        return sk_cli_finish (cli, error, NULL, NULL);
      SkPipeline *pipeline = w.pipeline;
      SkMedia *media = w.media;
      SkActor actor = sk_cli_current_actor ();
      g_autoptr (GPtrArray) found =
          sk_media_import (media, pipeline, &actor, medium, NULL, NULL, &error);
      if (found == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      g_autoptr (GPtrArray) items = sk_store_list (sk_pipeline_get_store (pipeline), &error);
      if (items == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "packages");
      json_builder_begin_array (b);
      for (guint i = 0; i < found->len; i++)
        {
          const SkMediumImport *r = g_ptr_array_index (found, i);
          g_autofree char *name = sk_escape_untrusted (r->name);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, name);
          json_builder_set_member_name (b, "reason");
          if (r->reason != NULL)
            json_builder_add_string_value (b, r->reason);
          else
            json_builder_add_null_value (b);
          json_builder_set_member_name (b, "case");
          g_autoptr (SkCase) c =
              r->case_id != NULL ? sk_pipeline_get_case (pipeline, r->case_id, NULL) : NULL;
          if (c != NULL)
            json_builder_add_value (b, case_node (sk_pipeline_get_policy (pipeline), c, items));
          else
            json_builder_add_null_value (b);
          if (r->message != NULL)
            {
              g_autofree char *message = sk_escape_untrusted (r->message);
              json_builder_set_member_name (b, "message");
              json_builder_add_string_value (b, message);
            }
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      result = json_object_ref (json_node_get_object (root));
    }
  sk_cli_extra_merge (cli, result);

  JsonArray *packages = member_array (result, "packages");
  guint imported = 0, refused = 0;
  const char *first_reason = NULL, *first_message = NULL;
  for (guint i = 0; packages != NULL && i < json_array_get_length (packages); i++)
    {
      JsonObject *p = element_object (packages, i);
      const char *reason = member_string (p, "reason");
      if (reason == NULL)
        {
          imported++;
          JsonNode *c = json_object_get_member (p, "case");
          print_case (cli,
                      c != NULL && JSON_NODE_HOLDS_OBJECT (c) ? json_node_get_object (c) : NULL);
          continue;
        }
      refused++;
      if (first_reason == NULL)
        first_reason = reason, first_message = member_string (p, "message");
      if (!cli->json)
        g_printerr (_ ("sekisho: %s refused: %s [%s]\n"), member_string (p, "name"),
                    member_string (p, "message") != NULL ? member_string (p, "message") : "",
                    reason);
    }
  if (first_reason != NULL)
    {
      SkErrorCode code = SK_ERROR_IO_ERROR;
      sk_error_code_from_reason (first_reason, &code);
      g_set_error (&error, SK_ERROR, (gint)code,
                   g_dngettext (GETTEXT_PACKAGE, "%u package on the medium was refused: %s",
                                "%u packages on the medium were refused; the first: %s", refused),
                   refused, first_message != NULL ? first_message : first_reason);
      return sk_cli_finish (cli, error, NULL, NULL);
    }
  if (packages == NULL || json_array_get_length (packages) == 0)
    {
      g_set_error_literal (&error, SK_ERROR, SK_ERROR_SIG_MISSING,
                           _ ("no package (.tar.gpg with its .sig) was found on the medium"));
      return sk_cli_finish (cli, error, NULL, NULL);
    }
  g_autofree char *msg = g_strdup_printf (
      g_dngettext (GETTEXT_PACKAGE, "%u package imported from the medium; it may be taken out now.",
                   "%u packages imported from the medium; it may be taken out now.", imported),
      imported);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

static int
cmd_case_import (SkCli *cli, int argc, char **argv)
{
  g_autofree char *medium = NULL;
  const GOptionEntry entries[] = {
    { "medium", 0, 0, G_OPTION_ARG_STRING, &medium,
      N_ ("Import every package on this inserted medium (see “sekisho media list --devices”)"),
      "ID" },
    { NULL },
  };
  int code;
  if (!sk_cli_parse_options (cli, entries, &argc, &argv, &code))
    return code;
  if (medium != NULL)
    {
      if (argc != 1)
        return sk_cli_usage_error (cli, _ ("case import takes --medium ID or packages, not both"));
      return import_medium (cli, medium);
    }
  if (argc < 2)
    return sk_cli_usage_error (
        cli, _ ("case import takes packages, folders that hold them, or --medium ID"));

  g_autoptr (GError) error = NULL;
  g_autoptr (SkPipeline) pipeline = NULL;
  if (!sk_cli_use_service (cli))
    {
      pipeline = sk_cli_open_pipeline (cli, &error);
      if (pipeline == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
    }
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
   * the command reports the first refusal.  Ctrl-C stops it all. */
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
      g_autoptr (JsonObject) obj = NULL;
      if (pipeline == NULL)
        obj = import_through_service (cli, path, &one_error);
      else
        {
          g_autoptr (SkCase) c =
              sk_pipeline_import (pipeline, &actor, path, NULL, NULL, &one_error);
          g_autoptr (GPtrArray) items =
              c != NULL ? sk_store_list (sk_pipeline_get_store (pipeline), &one_error) : NULL;
          if (items != NULL)
            {
              g_autoptr (JsonNode) node = case_node (sk_pipeline_get_policy (pipeline), c, items);
              obj = json_object_ref (json_node_get_object (node));
            }
        }
      if (obj == NULL)
        {
          gboolean cancelled = g_error_matches (one_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
          if (!cli->json && paths->len > 1 && !cancelled)
            g_printerr (_ ("sekisho: %s refused: %s [%s]\n"), safe, one_error->message,
                        sk_error_get_reason (one_error));
          if (cancelled || sk_error_get_reason (one_error) ==
                               sk_error_code_to_reason (SK_ERROR_SERVICE_UNREACHABLE))
            g_clear_error (&first_error);
          if (first_error == NULL)
            first_error = g_steal_pointer (&one_error);
          if (cancelled || sk_cli_interrupted (cli) ||
              g_error_matches (first_error, SK_ERROR, SK_ERROR_SERVICE_UNREACHABLE))
            break;
          continue;
        }
      imported++;
      JsonNode *node = json_node_new (JSON_NODE_OBJECT);
      json_node_set_object (node, obj);
      json_builder_add_value (b, node);
      print_case (cli, obj);
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
  g_autoptr (JsonObject) result = NULL;
  if (sk_cli_use_service (cli))
    result = sk_cli_call_json (cli, "Cases", "List", NULL, NULL, &error);
  else
    {
      /* Read as it stands: a user who may read the station but not write
       * it can list, and nothing in it changes. */
      g_autoptr (SkStation) station = sk_cli_open_station (cli, &error);
      g_autoptr (SkPolicy) policy =
          station != NULL ? sk_station_load_policy (station, &error) : NULL;
      g_autoptr (GPtrArray) cases = NULL, items = NULL;
      if (policy != NULL && sk_report_read_cases (station, policy, NULL, &cases, &items, &error))
        {
          result = json_object_new ();
          JsonArray *array = json_array_new ();
          for (guint i = 0; i < cases->len; i++)
            json_array_add_element (array, case_node (policy, g_ptr_array_index (cases, i), items));
          json_object_set_array_member (result, "cases", array);
        }
    }
  if (result == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  sk_cli_extra_merge (cli, result);
  JsonArray *cases = member_array (result, "cases");
  guint n = cases != NULL ? json_array_get_length (cases) : 0;
  for (guint i = 0; i < n; i++)
    print_case (cli, element_object (cases, i));
  g_autofree char *msg =
      g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u case.", "%u cases.", n), n);
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
  g_autoptr (SkPipeline) pipeline = NULL;
  gboolean service = sk_cli_use_service (cli);
  /* show only reads: it opens no pipeline (finish_with_case). */
  if (!service && !g_str_equal (step, "show") &&
      (pipeline = sk_cli_open_pipeline (cli, &error)) == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  SkActor actor = sk_cli_current_actor ();
  const char *case_id = argv[1];
  g_autofree char *safe_id = sk_escape_untrusted (case_id);
  g_autofree char *msg = NULL;
  if (g_str_equal (step, "hand-off"))
    {
      g_autoptr (JsonObject) handed = NULL;
      if (service)
        handed =
            sk_cli_run_job (cli, "Cases", "HandOff", g_variant_new ("(s)", case_id), NULL, &error);
      else
        {
          g_autoptr (GPtrArray) paths =
              sk_pipeline_hand_off (pipeline, &actor, case_id, NULL, NULL, &error);
          if (paths != NULL)
            {
              handed = json_object_new ();
              JsonArray *array = json_array_new ();
              for (guint i = 0; i < paths->len; i++)
                {
                  g_autofree char *safe = sk_escape_untrusted (g_ptr_array_index (paths, i));
                  json_array_add_string_element (array, safe);
                }
              json_object_set_array_member (handed, "paths", array);
            }
        }
      if (handed == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      JsonArray *paths = member_array (handed, "paths");
      JsonBuilder *b = sk_cli_extra (cli);
      json_builder_set_member_name (b, "handed_off");
      json_builder_begin_array (b);
      for (guint i = 0; paths != NULL && i < json_array_get_length (paths); i++)
        {
          const char *path = json_array_get_string_element (paths, i);
          json_builder_add_string_value (b, path);
          if (!cli->json)
            g_print (_ ("Ready for upload: %s\n"), path);
        }
      json_builder_end_array (b);
      msg = g_strdup_printf (_ ("Upload the files through the browser, then run “sekisho case "
                                "confirm-upload %s”. They are deleted when the policy's upload "
                                "period ends, either way (see the deadline below)."),
                             safe_id);
    }
  else if (g_str_equal (step, "confirm-upload"))
    {
      g_autoptr (GVariant) done = service
                                      ? sk_cli_call (cli, "Cases", "ConfirmUpload",
                                                     g_variant_new ("(s)", case_id), NULL, &error)
                                      : NULL;
      if (service ? done == NULL : !sk_pipeline_confirm_upload (pipeline, &actor, case_id, &error))
        return sk_cli_finish (cli, error, NULL, NULL);
      msg = g_strdup (_ ("Upload confirmed; the plaintext is deleted. The case waits for its "
                         "results."));
    }
  else if (g_str_equal (step, "interrupt"))
    {
      g_autoptr (GVariant) done = service
                                      ? sk_cli_call (cli, "Cases", "Interrupt",
                                                     g_variant_new ("(s)", case_id), NULL, &error)
                                      : NULL;
      if (service ? done == NULL : !sk_pipeline_interrupt (pipeline, &actor, case_id, &error))
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
  g_autoptr (SkPipeline) pipeline = NULL;
  gboolean service = sk_cli_use_service (cli);
  if (!service && (pipeline = sk_cli_open_pipeline (cli, &error)) == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  SkActor actor = sk_cli_current_actor ();
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  for (int i = 1; i < argc; i++)
    g_ptr_array_add (names, g_strdup (argv[i]));
  if (names->len == 0 && service)
    {
      g_autoptr (GVariant) reply = sk_cli_call (cli, "Cases", "ListDownloads", NULL, NULL, &error);
      if (reply == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      g_autofree const char **waiting = NULL;
      g_variant_get (reply, "(^a&s)", &waiting);
      for (gsize i = 0; waiting != NULL && waiting[i] != NULL; i++)
        g_ptr_array_add (names, g_strdup (waiting[i]));
    }
  else if (names->len == 0)
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
  /* Those under dual control (SKI03), which a second operator approves. */
  g_autoptr (GPtrArray) to_approve = g_ptr_array_new_with_free_func (g_free);
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "taken_in");
  json_builder_begin_array (b);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *safe = sk_escape_untrusted (name);
      g_autoptr (GError) one_error = NULL;
      const char *kind = NULL;
      gint64 records = 0;
      gboolean needs_approval = FALSE;
      g_autoptr (JsonObject) taken = NULL;
      g_autoptr (SkCaseFile) f = NULL;
      if (service)
        {
          taken = sk_cli_run_job (cli, "Cases", "TakeIn", g_variant_new ("(s)", name), NULL,
                                  &one_error);
          kind = member_string (taken, "kind");
          records = member_int (taken, "records");
          needs_approval = member_bool (taken, "needs_approval");
        }
      else
        {
          SkFileReport *report = NULL;
          f = sk_pipeline_take_in (pipeline, &actor, name, &report, NULL, NULL, &one_error);
          if (report != NULL)
            g_ptr_array_add (reports, report);
          if (f != NULL)
            kind = f->kind, records = f->records, needs_approval = f->needs_approval;
        }
      if (taken == NULL && f == NULL)
        {
          gboolean cancelled = g_error_matches (one_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
          if (!cli->json && names->len > 1 && !cancelled)
            g_printerr (_ ("sekisho: %s refused: %s [%s]\n"), safe, one_error->message,
                        sk_error_get_reason (one_error));
          if (cancelled)
            g_clear_error (&first_error);
          if (first_error == NULL)
            first_error = g_steal_pointer (&one_error);
          if (cancelled || sk_cli_interrupted (cli))
            break;
          continue;
        }
      json_builder_add_string_value (b, safe);
      if (needs_approval)
        g_ptr_array_add (to_approve, g_strdup (safe));
      sk_cli_print (cli,
                    g_dngettext (GETTEXT_PACKAGE, "Taken in: %s (%s, %lld record)%s\n",
                                 "Taken in: %s (%s, %lld records)%s\n", (gulong)records),
                    safe, kind != NULL ? kind : "?", (long long)records,
                    needs_approval ? _ (" — needs a second operator's approval") : "");
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "needs_approval");
  json_builder_begin_array (b);
  for (guint i = 0; i < to_approve->len; i++)
    json_builder_add_string_value (b, g_ptr_array_index (to_approve, i));
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
  g_autoptr (SkPipeline) pipeline = NULL;
  if (sk_cli_use_service (cli))
    {
      g_autoptr (GVariant) done = sk_cli_call (
          cli, "Cases", "Approve", g_variant_new ("(ss)", argv[1], argv[2]), NULL, &error);
      if (done == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
    }
  else
    {
      pipeline = sk_cli_open_pipeline (cli, &error);
      if (pipeline == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      SkActor actor = sk_cli_current_actor ();
      if (!sk_pipeline_approve (pipeline, &actor, argv[1], argv[2], &error))
        return sk_cli_finish (cli, error, NULL, NULL);
    }
  return finish_with_case (cli, pipeline, argv[1], _ ("Approved; the file may now be exported."));
}

/* A case's results onto a medium, proven there by reading them back. */
static int
export_medium (SkCli *cli, const char *case_id, const char *medium)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPipeline) pipeline = NULL;
  g_autoptr (JsonObject) result = NULL;
  if (sk_cli_use_service (cli))
    result = sk_cli_run_job (cli, "Media", "Export", g_variant_new ("(ss)", case_id, medium), NULL,
                             &error);
  else
    {
      g_auto (MediaWorld) w = { 0 };
      if (!media_world_open (cli, &w, &error))
        return sk_cli_finish (cli, error, NULL, NULL);
      SkMedia *media = w.media;
      pipeline = g_object_ref (w.pipeline);
      SkActor actor = sk_cli_current_actor ();
      g_autofree char *name =
          media != NULL ? sk_media_export (media, pipeline, &actor, medium, case_id, NULL, &error)
                        : NULL;
      g_autoptr (SkMedium) m = name != NULL ? sk_media_pick (media, medium, &error) : NULL;
      if (m != NULL)
        {
          /* The object Media.Export's job answers with. */
          g_autofree char *safe = sk_escape_untrusted (name);
          result = json_object_new ();
          json_object_set_string_member (result, "package", safe);
          json_object_set_string_member (result, "medium", m->id);
          if (m->number != NULL)
            {
              g_autofree char *number = sk_escape_untrusted (m->number);
              json_object_set_string_member (result, "number", number);
            }
          else
            json_object_set_null_member (result, "number");
          json_object_set_string_member (result, "readback", "match");
        }
    }
  if (result == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  sk_cli_extra_merge (cli, result);
  g_autofree char *msg = g_strdup_printf (
      _ ("Exported to medium %s, synced, and read back identical: %s (and its .sig)"), medium,
      member_string (result, "package") != NULL ? member_string (result, "package") : "?");
  return finish_with_case (cli, pipeline, case_id, msg);
}

static int
cmd_case_export (SkCli *cli, int argc, char **argv)
{
  g_autofree char *out = NULL, *medium = NULL;
  const GOptionEntry entries[] = {
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, N_ ("Where to write the package (the medium)"),
      "DIR" },
    { "medium", 0, 0, G_OPTION_ARG_STRING, &medium,
      N_ ("Write to this inserted, registered medium and read it back (see “sekisho media list "
          "--devices”)"),
      "ID" },
    { NULL },
  };
  int code;
  if (!sk_cli_parse_options (cli, entries, &argc, &argv, &code))
    return code;
  if (argc != 2 || (out == NULL) == (medium == NULL))
    return sk_cli_usage_error (cli, _ ("case export takes one case and --out DIR or --medium ID"));
  if (medium != NULL)
    return export_medium (cli, argv[1], medium);

  g_autoptr (GError) error = NULL;
  g_autoptr (SkPipeline) pipeline = NULL;
  g_autofree char *path = NULL;
  if (sk_cli_use_service (cli))
    {
      g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
      gint32 h = open_folder (fds, out, &error);
      g_autoptr (JsonObject) result =
          h >= 0 ? sk_cli_run_job (cli, "Cases", "Export", g_variant_new ("(sh)", argv[1], h), fds,
                                   &error)
                 : NULL;
      if (result == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      const char *name = member_string (result, "package");
      if (name == NULL || strchr (name, '/') != NULL)
        {
          g_set_error_literal (&error, SK_ERROR, SK_ERROR_IO_ERROR,
                               _ ("the station service did not name the package it wrote"));
          return sk_cli_finish (cli, error, NULL, NULL);
        }
      path = g_build_filename (out, name, NULL);
    }
  else
    {
      pipeline = sk_cli_open_pipeline (cli, &error);
      if (pipeline == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      SkActor actor = sk_cli_current_actor ();
      path = sk_pipeline_export (pipeline, &actor, argv[1], out, NULL, NULL, &error);
      if (path == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
    }
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "package");
  g_autofree char *safe = sk_escape_untrusted (path);
  json_builder_add_string_value (b, safe);
  g_autofree char *msg =
      g_strdup_printf (_ ("Exported, synced and read back: %s (and %s.sig)"), safe, safe);
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
  { "import", "PKG.tar.gpg|FOLDER… | --medium ID",
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
  { "export", "--out DIR|--medium ID CASE",
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
