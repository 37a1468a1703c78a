/* sk-cli-media.c — the media register (媒体管理簿) and the media inserted now:
 * list, register, unregister, export, import */
#define G_LOG_DOMAIN "sekisho"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <unistd.h>

#include "sk-cli.h"
#include "sk-media.h"
#include "sk-report.h"

/* The register of --station, with its journal. */
typedef struct
{
  SkStation *station;
  SkJournal *journal;
  SkMediaRegister *reg;
} Opened;

static void
opened_clear (Opened *o)
{
  g_clear_object (&o->reg);
  g_clear_object (&o->journal);
  g_clear_object (&o->station);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Opened, opened_clear)

static gboolean
open_register (SkCli *cli, Opened *o, GError **error)
{
  o->station = sk_cli_open_station (cli, error);
  if (o->station == NULL)
    return FALSE;
  o->journal = sk_station_open_journal (o->station, FALSE, error);
  if (o->journal == NULL)
    return FALSE;
  o->reg = sk_media_register_new (o->station, o->journal);
  return TRUE;
}

/* The media inserted now, followed through libudev.  Opening journals
 * every medium seen, as the service does when one comes, after reading
 * its token; with SK_MEDIA_LOOK_ONLY nothing is mounted or journaled. */
static SkMedia *
open_media (SkCli *cli, Opened *o, SkMediaFlags flags, GError **error)
{
  g_autoptr (SkPolicy) policy = sk_station_load_policy (o->station, error);
  if (policy == NULL)
    return NULL;
  g_autoptr (SkUdev) udev = sk_udev_new (error);
  if (udev == NULL)
    return NULL;
  return sk_media_new_full (o->station, o->journal, policy, udev, flags, error);
}

/* The administrator's actor: on a station the caller owns, the caller. */
static SkActor
admin_actor (void)
{
  SkActor a = sk_cli_current_actor ();
  a.role = "admin";
  return a;
}

/* ---- through the service ------------------------------------------------ */

static const char *
text_member (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  return n != NULL && json_node_get_value_type (n) == G_TYPE_STRING ? json_node_get_string (n)
                                                                    : NULL;
}

static JsonArray *
array_member (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

/* The register's rows and the media inserted now, for a person, from the
 * service's answer (its texts already escaped there). */
static guint
print_register_json (SkCli *cli, JsonObject *answer)
{
  JsonArray *rows = array_member (answer, "register");
  guint n = rows != NULL ? json_array_get_length (rows) : 0;
  for (guint i = 0; i < n; i++)
    {
      JsonObject *r = json_array_get_object_element (rows, i);
      sk_cli_print (cli, _ ("%s  %s  %s %s  serial %s  %s\n"), text_member (r, "number"),
                    text_member (r, "kind"), text_member (r, "vendor"), text_member (r, "model"),
                    text_member (r, "serial"), text_member (r, "state"));
    }
  return n;
}

static void
print_inserted_json (SkCli *cli, JsonObject *answer)
{
  JsonArray *list = array_member (answer, "inserted");
  if (list == NULL)
    list = array_member (answer, "media");
  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    {
      JsonObject *m = json_array_get_object_element (list, i);
      const char *identity = text_member (m, "device");
      if (identity == NULL)
        identity = text_member (m, "identity");
      const char *refused = text_member (m, "refused");
      if (refused == NULL)
        refused = text_member (m, "reason");
      const char *number = text_member (m, "number");
      sk_cli_print (cli, _ ("medium %s: %s — %s\n"), text_member (m, "id"),
                    identity != NULL ? identity : "?",
                    refused != NULL  ? refused
                    : number != NULL ? number
                                     : _ ("not registered"));
    }
}

static int
media_list_through_service (SkCli *cli, gboolean all, gboolean devices)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) inserted =
      devices ? sk_cli_call_json (cli, "Media", "List", NULL, NULL, &error) : NULL;
  if (devices && inserted == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  /* An operator sees the media inserted now, not the register: asking
   * for it would only journal a refusal. */
  g_autoptr (JsonObject) who =
      devices ? sk_cli_call_json (cli, "Station", "WhoAmI", NULL, NULL, NULL) : NULL;
  gboolean operator= who != NULL && g_strcmp0 (text_member (who, "role"), "operator") == 0;
  g_autoptr (JsonObject) reg = operator? json_object_new ()
                                       : sk_cli_call_json (cli, "Media", "ListRegister", NULL, NULL,
                                                           &error);
  if (reg == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  /* Withdrawn rows are the register's too; without --all they stay out. */
  JsonArray *rows = array_member (reg, "register");
  for (guint i = rows != NULL ? json_array_get_length (rows) : 0; !all && i > 0; i--)
    if (g_strcmp0 (text_member (json_array_get_object_element (rows, i - 1), "state"),
                   "registered") != 0)
      json_array_remove_element (rows, i - 1);
  sk_cli_extra_merge (cli, reg);
  guint n = print_register_json (cli, reg);
  if (inserted != NULL)
    {
      JsonArray *list = array_member (inserted, "inserted");
      if (list == NULL)
        list = array_member (inserted, "media");
      JsonBuilder *b = sk_cli_extra (cli);
      json_builder_set_member_name (b, "inserted");
      if (list != NULL)
        {
          JsonNode *node = json_node_new (JSON_NODE_ARRAY);
          json_node_set_array (node, list);
          json_builder_add_value (b, node);
        }
      else
        {
          json_builder_begin_array (b);
          json_builder_end_array (b);
        }
      print_inserted_json (cli, inserted);
    }
  g_autofree char *msg = g_strdup_printf (
      g_dngettext (GETTEXT_PACKAGE, "%u medium in the register.", "%u media in the register.", n),
      n);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

/* Whether sekishod is on the system bus: then it follows the media of
 * this machine, and may be using any of them. */
static gboolean
service_follows_media (void)
{
  g_autoptr (GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, NULL);
  if (bus == NULL)
    return FALSE;
  g_autoptr (GVariant) r = g_dbus_connection_call_sync (
      bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
      g_variant_new ("(s)", "jp.sekisho.Station1"), G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE,
      5000, NULL, NULL);
  gboolean owned = FALSE;
  if (r != NULL)
    g_variant_get (r, "(b)", &owned);
  return owned;
}

static void
add_text (JsonBuilder *b, const char *name, const char *value, gboolean untrusted)
{
  json_builder_set_member_name (b, name);
  if (value == NULL)
    {
      json_builder_add_null_value (b);
      return;
    }
  g_autofree char *shown = untrusted ? sk_escape_untrusted (value) : g_strdup (value);
  json_builder_add_string_value (b, shown);
}

/* A medium seen without its token read (SK_MEDIA_LOOK_ONLY), as the
 * service's List tells one, with "registered" and "number" null (not
 * known) and "register_matches": the 管理番号 of the registered rows whose
 * device identity it has — a hint, never proof (serials are cloned). */
static void
add_unread_medium (JsonBuilder *b, const SkMedium *m, GPtrArray *rows, GString *matches)
{
  g_autofree char *identity = sk_block_device_describe (m->disk);
  json_builder_begin_object (b);
  add_text (b, "id", m->id, FALSE);
  add_text (b, "class", sk_medium_class_to_string (m->klass), FALSE);
  add_text (b, "device", identity, FALSE);
  add_text (b, "vendor", m->disk->vendor, TRUE);
  add_text (b, "model", m->disk->model, TRUE);
  add_text (b, "serial", m->disk->serial, TRUE);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, (gint64)m->disk->size);
  json_builder_set_member_name (b, "registered");
  json_builder_add_null_value (b);
  add_text (b, "number", NULL, FALSE);
  add_text (b, "label", NULL, FALSE);
  add_text (b, "refused", m->refused_reason, FALSE);
  add_text (b, "token", "not-read", FALSE);
  json_builder_set_member_name (b, "register_matches");
  json_builder_begin_array (b);
  for (guint i = 0; rows != NULL && i < rows->len; i++)
    {
      const SkMediumRecord *r = g_ptr_array_index (rows, i);
      if (g_strcmp0 (r->state, "registered") != 0 ||
          g_strcmp0 (r->kind, sk_medium_class_to_string (m->klass)) != 0 ||
          g_strcmp0 (r->vendor, m->disk->vendor) != 0 ||
          g_strcmp0 (r->model, m->disk->model) != 0 ||
          g_strcmp0 (r->serial, m->disk->serial) != 0 || *r->serial == '\0')
        continue;
      g_autofree char *number = sk_escape_untrusted (r->number);
      json_builder_add_string_value (b, number);
      g_string_append_printf (matches, "%s%s", matches->len > 0 ? ", " : "", number);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static int
cmd_media_list (SkCli *cli, int argc, char **argv)
{
  gboolean all = FALSE;
  gboolean devices = FALSE;
  gboolean tokens = FALSE;
  const GOptionEntry entries[] = {
    { "all", 0, 0, G_OPTION_ARG_NONE, &all, N_ ("Also list media whose registration was withdrawn"),
      NULL },
    { "devices", 0, 0, G_OPTION_ARG_NONE, &devices,
      N_ ("Also list the media inserted now, as udev sees them (nothing is mounted)"), NULL },
    { "tokens", 0, 0, G_OPTION_ARG_NONE, &tokens,
      N_ ("With --devices, also read each medium's token to tell whether it is registered "
          "(through the service; with --station only where no service runs)"),
      NULL },
    { NULL },
  };
  int code;
  if (!sk_cli_parse_options (cli, entries, &argc, &argv, &code))
    return code;
  if (argc != 1)
    return sk_cli_usage_error (cli, _ ("media list takes no arguments"));
  if (tokens && !devices)
    return sk_cli_usage_error (cli, _ ("--tokens goes with --devices"));
  /* The service read each token when the medium came: its list has them. */
  if (sk_cli_use_service (cli))
    return media_list_through_service (cli, all, devices);
  /* In-process, reading a token means mounting the medium: never beside a
   * service that may be using it. */
  if (tokens && service_follows_media ())
    return sk_cli_usage_error (
        cli, _ ("sekishod is running and follows the media of this machine; reading tokens here "
                "would mount media it may be using: run media list --devices without --station "
                "to have the service tell them"));

  g_autoptr (GError) error = NULL;
  g_auto (Opened) o = { 0 };
  if (!open_register (cli, &o, &error))
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autoptr (GPtrArray) rows = sk_media_register_list (o.reg, all, &error);
  if (rows == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);

  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "register");
  json_builder_begin_array (b);
  for (guint i = 0; i < rows->len; i++)
    {
      const SkMediumRecord *r = g_ptr_array_index (rows, i);
      sk_report_add_medium_record (b, r);
      g_autofree char *number = sk_escape_untrusted (r->number);
      g_autofree char *vendor = sk_escape_untrusted (r->vendor);
      g_autofree char *model = sk_escape_untrusted (r->model);
      g_autofree char *serial = sk_escape_untrusted (r->serial);
      sk_cli_print (cli, _ ("%s  %s  %s %s  serial %s  %s\n"), number, r->kind, vendor, model,
                    serial, r->state);
    }
  json_builder_end_array (b);

  if (devices)
    {
      g_autoptr (SkMedia) media =
          open_media (cli, &o, tokens ? SK_MEDIA_DEFAULT : SK_MEDIA_LOOK_ONLY, &error);
      if (media == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      g_autoptr (GPtrArray) list = sk_media_list (media);
      json_builder_set_member_name (b, "inserted");
      json_builder_begin_array (b);
      for (guint i = 0; i < list->len; i++)
        {
          const SkMedium *m = g_ptr_array_index (list, i);
          g_autofree char *identity = sk_block_device_describe (m->disk);
          if (tokens)
            {
              sk_report_add_medium (b, m, rows);
              sk_cli_print (cli, _ ("medium %s: %s — %s\n"), m->id, identity,
                            m->refused_reason != NULL ? m->refused_reason
                            : m->number != NULL       ? m->number
                                                      : _ ("not registered"));
              continue;
            }
          g_autoptr (GString) matches = g_string_new (NULL);
          add_unread_medium (b, m, rows, matches);
          if (m->refused_reason != NULL)
            sk_cli_print (cli, _ ("medium %s: %s — %s\n"), m->id, identity, m->refused_reason);
          else if (matches->len > 0)
            sk_cli_print (cli,
                          _ ("medium %s: %s — token not read; the register has this device "
                             "as %s (--tokens to check)\n"),
                          m->id, identity, matches->str);
          else
            sk_cli_print (cli, _ ("medium %s: %s — token not read (--tokens to check)\n"), m->id,
                          identity);
        }
      json_builder_end_array (b);
    }
  g_autofree char *msg =
      g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u medium in the register.",
                                    "%u media in the register.", rows->len),
                       rows->len);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

/* The two token files of a disc, created new in OUT_DIR with the caller's
 * own rights; whoever registers writes into them (sk-media-register.h). */
typedef struct
{
  char *out_dir;
  int dirfd;
  int fds[2];
  gboolean keep;
} DiscFiles;

static const char *const disc_names[] = { SK_MEDIUM_TOKEN_NAME, SK_MEDIUM_TOKEN_SIG_NAME };

static void
disc_files_clear (DiscFiles *d)
{
  for (guint i = 0; i < 2; i++)
    if (d->fds[i] >= 0)
      {
        close (d->fds[i]);
        /* Only files this run created, and only when nothing counts. */
        if (!d->keep)
          unlinkat (d->dirfd, disc_names[i], 0);
      }
  if (d->dirfd >= 0)
    close (d->dirfd);
  g_free (d->out_dir);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DiscFiles, disc_files_clear)

static gboolean
disc_files_open (DiscFiles *d, const char *out_dir, GError **error)
{
  d->fds[0] = d->fds[1] = -1;
  d->out_dir = sk_escape_untrusted (out_dir);
  d->dirfd = open (out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d->dirfd < 0)
    {
      sk_error_set_from_errno (error, errno, _ ("opening the folder for the disc's token"));
      return FALSE;
    }
  for (guint i = 0; i < 2; i++)
    {
      d->fds[i] = openat (d->dirfd, disc_names[i],
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (d->fds[i] < 0 && errno == EEXIST)
        {
          g_set_error (error, SK_ERROR, SK_ERROR_USAGE,
                       _ ("%s already holds a medium token; use an empty folder"), d->out_dir);
          return FALSE;
        }
      if (d->fds[i] < 0)
        {
          g_autofree char *what = g_strdup_printf (_ ("creating %s"), disc_names[i]);
          sk_error_set_from_errno (error, errno, what);
          return FALSE;
        }
    }
  return TRUE;
}

/* The files are written: they stay, and their folder is synced. */
static gboolean
disc_files_keep (DiscFiles *d, GError **error)
{
  if (fsync (d->dirfd) != 0)
    {
      sk_error_set_from_errno (error, errno, _ ("syncing the folder for the disc's token"));
      return FALSE;
    }
  d->keep = TRUE;
  return TRUE;
}

static int
disc_registered (SkCli *cli, JsonNode *row, const char *number)
{
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "medium");
  json_builder_add_value (b, row);
  g_autofree char *shown = sk_escape_untrusted (number);
  g_autofree char *msg = g_strdup_printf (
      _ ("Registered a disc as %s; burn %s and %s from the folder into the disc's root."), shown,
      SK_MEDIUM_TOKEN_NAME, SK_MEDIUM_TOKEN_SIG_NAME);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

/* A disc, registered before it is mastered (sk-media-register.h): the
 * token files go into OUT_DIR.  In-process on a station the caller owns. */
static int
register_disc (SkCli *cli, Opened *o, const char *out_dir, const char *number, const char *label)
{
  g_autoptr (GError) error = NULL;
  g_auto (DiscFiles) d = { .dirfd = -1 };
  if (!disc_files_open (&d, out_dir, &error))
    return sk_cli_finish (cli, error, NULL, NULL);
  SkActor actor = admin_actor ();
  g_autoptr (SkMediumRecord) r =
      sk_media_register_disc_into (o->reg, &actor, number, label, d.fds[0], d.fds[1], &error);
  if (r == NULL || !disc_files_keep (&d, &error))
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  sk_report_add_medium_record (b, r);
  return disc_registered (cli, json_builder_get_root (b), r->number);
}

/* The same through the service (Media.RegisterDisc): it writes into the
 * files created here, never into a folder of its choosing. */
static int
register_disc_through_service (SkCli *cli,
                               const char *out_dir,
                               const char *number,
                               const char *label)
{
  g_autoptr (GError) error = NULL;
  g_auto (DiscFiles) d = { .dirfd = -1 };
  if (!disc_files_open (&d, out_dir, &error))
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
  gint32 h0 = g_unix_fd_list_append (fds, d.fds[0], &error);
  gint32 h1 = h0 >= 0 ? g_unix_fd_list_append (fds, d.fds[1], &error) : -1;
  g_autoptr (JsonObject) r =
      h1 >= 0
          ? sk_cli_call_json (cli, "Media", "RegisterDisc",
                              g_variant_new ("(sshh)", number, label != NULL ? label : "", h0, h1),
                              fds, &error)
          : NULL;
  if (r == NULL || !disc_files_keep (&d, &error))
    return sk_cli_finish (cli, error, NULL, NULL);
  JsonNode *inner = json_object_get_member (r, "medium");
  return disc_registered (
      cli, inner != NULL ? json_node_copy (inner) : json_node_init_object (json_node_alloc (), r),
      number);
}

static int
cmd_media_register (SkCli *cli, int argc, char **argv)
{
  g_autofree char *medium = NULL;
  g_autofree char *number = NULL;
  g_autofree char *label = NULL;
  g_autofree char *disc_out = NULL;
  const GOptionEntry entries[] = {
    { "medium", 0, 0, G_OPTION_ARG_STRING, &medium,
      N_ ("Which inserted medium (see media list --devices); needed when there are several"),
      "ID" },
    { "disc-out", 0, 0, G_OPTION_ARG_FILENAME, &disc_out,
      N_ ("Register a disc before it is burned: write its token files into DIR, to be burned "
          "into the disc's root with the packages"),
      "DIR" },
    { "number", 0, 0, G_OPTION_ARG_STRING, &number, N_ ("Its control number (管理番号)"),
      "NUMBER" },
    { "label", 0, 0, G_OPTION_ARG_STRING, &label, N_ ("A label for people"), "TEXT" },
    { NULL },
  };
  int code;
  if (!sk_cli_parse_options (cli, entries, &argc, &argv, &code))
    return code;
  if (argc != 1 || number == NULL)
    return sk_cli_usage_error (cli, _ ("media register needs --number NUMBER"));
  if (disc_out != NULL && medium != NULL)
    return sk_cli_usage_error (cli, _ ("media register takes --medium or --disc-out, not both"));

  g_autoptr (GError) error = NULL;
  if (sk_cli_use_service (cli) && disc_out != NULL)
    return register_disc_through_service (cli, disc_out, number, label);
  if (sk_cli_use_service (cli))
    {
      /* An empty medium id: the only one inserted. */
      g_autoptr (JsonObject) r = sk_cli_call_json (
          cli, "Media", "Register",
          g_variant_new ("(sss)", medium != NULL ? medium : "", number, label != NULL ? label : ""),
          NULL, &error);
      if (r == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      JsonNode *inner = json_object_get_member (r, "medium");
      JsonBuilder *b = sk_cli_extra (cli);
      json_builder_set_member_name (b, "medium");
      json_builder_add_value (b, inner != NULL ? json_node_copy (inner)
                                               : json_node_init_object (json_node_alloc (), r));
      g_autofree char *shown = sk_escape_untrusted (number);
      g_autofree char *msg =
          g_strdup_printf (_ ("Registered the medium as %s; its token is on it."), shown);
      return sk_cli_finish (cli, NULL, msg, NULL);
    }
  g_auto (Opened) o = { 0 };
  if (!open_register (cli, &o, &error))
    return sk_cli_finish (cli, error, NULL, NULL);
  if (disc_out != NULL)
    return register_disc (cli, &o, disc_out, number, label);
  g_autoptr (SkMedia) media = open_media (cli, &o, SK_MEDIA_DEFAULT, &error);
  if (media == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  SkActor actor = admin_actor ();
  g_autoptr (SkMediumRecord) r =
      sk_media_register_medium (media, &actor, medium, number, label, &error);
  if (r == NULL)
    return sk_cli_finish (cli, error, NULL, NULL);
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "medium");
  sk_report_add_medium_record (b, r);
  g_autofree char *shown = sk_escape_untrusted (r->number);
  g_autofree char *msg =
      g_strdup_printf (_ ("Registered the medium as %s; its token is on it."), shown);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

static int
cmd_media_unregister (SkCli *cli, int argc, char **argv)
{
  int code;
  if (!sk_cli_parse_options (cli, NULL, &argc, &argv, &code))
    return code;
  if (argc != 2)
    return sk_cli_usage_error (cli, _ ("media unregister takes one NUMBER"));

  g_autoptr (GError) error = NULL;
  if (sk_cli_use_service (cli))
    {
      g_autoptr (GVariant) done =
          sk_cli_call (cli, "Media", "Unregister", g_variant_new ("(s)", argv[1]), NULL, &error);
      if (done == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
    }
  else
    {
      g_auto (Opened) o = { 0 };
      if (!open_register (cli, &o, &error))
        return sk_cli_finish (cli, error, NULL, NULL);
      SkActor actor = admin_actor ();
      if (!sk_media_register_remove (o.reg, &actor, argv[1], &error))
        return sk_cli_finish (cli, error, NULL, NULL);
    }
  g_autofree char *shown = sk_escape_untrusted (argv[1]);
  g_autofree char *msg =
      g_strdup_printf (_ ("Withdrew the registration of %s; its token no longer counts."), shown);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

static int
cmd_media_export (SkCli *cli, int argc, char **argv)
{
  g_autofree char *out = NULL;
  const GOptionEntry entries[] = {
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, N_ ("The CSV file to write (must not exist)"),
      "FILE.csv" },
    { NULL },
  };
  int code;
  if (!sk_cli_parse_options (cli, entries, &argc, &argv, &code))
    return code;
  if (argc != 1 || out == NULL)
    return sk_cli_usage_error (cli, _ ("media export needs --out FILE.csv"));

  g_autoptr (GError) error = NULL;
  if (sk_cli_use_service (cli))
    {
      /* Created here, with the caller's rights, and never over a file. */
      int fd = open (out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0)
        {
          int errsv = errno;
          g_autofree char *safe = sk_escape_untrusted (out);
          g_autofree char *what = g_strdup_printf (_ ("creating %s"), safe);
          sk_error_set_from_errno (&error, errsv, what);
          return sk_cli_finish (cli, error, NULL, NULL);
        }
      g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
      gint32 h = sk_cli_fd_append (fds, fd, &error);
      g_autoptr (GVariant) done = h >= 0 ? sk_cli_call (cli, "Media", "ExportRegister",
                                                        g_variant_new ("(h)", h), fds, &error)
                                         : NULL;
      if (done == NULL)
        {
          (void)unlink (out);
          return sk_cli_finish (cli, error, NULL, NULL);
        }
      return sk_cli_finish (cli, NULL, _ ("Wrote the media register as CSV (UTF-8 with BOM)."),
                            NULL);
    }
  g_auto (Opened) o = { 0 };
  if (!open_register (cli, &o, &error))
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autoptr (GFile) file = g_file_new_for_commandline_arg (out);
  g_autoptr (GFileOutputStream) stream = g_file_create (file, G_FILE_CREATE_PRIVATE, NULL, &error);
  if (stream == NULL)
    {
      g_autoptr (GError) io = g_steal_pointer (&error);
      g_set_error (&error, SK_ERROR, SK_ERROR_IO_ERROR, "%s", io->message);
      return sk_cli_finish (cli, error, NULL, NULL);
    }
  if (!sk_media_register_export_csv (o.reg, G_OUTPUT_STREAM (stream), &error) ||
      !g_output_stream_close (G_OUTPUT_STREAM (stream), NULL, &error))
    {
      g_file_delete (file, NULL, NULL);
      if (error->domain != SK_ERROR)
        {
          g_autoptr (GError) io = g_steal_pointer (&error);
          g_set_error (&error, SK_ERROR, SK_ERROR_IO_ERROR, "%s", io->message);
        }
      return sk_cli_finish (cli, error, NULL, NULL);
    }
  return sk_cli_finish (cli, NULL, _ ("Wrote the media register as CSV (UTF-8 with BOM)."), NULL);
}

static int
cmd_media_import (SkCli *cli, int argc, char **argv)
{
  int code;
  if (!sk_cli_parse_options (cli, NULL, &argc, &argv, &code))
    return code;
  if (argc != 2)
    return sk_cli_usage_error (cli, _ ("media import takes one FILE.csv"));

  g_autoptr (GError) error = NULL;
  if (sk_cli_use_service (cli))
    {
      int fd = open (argv[1], O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        {
          int errsv = errno;
          g_autofree char *safe = sk_escape_untrusted (argv[1]);
          g_autofree char *what = g_strdup_printf (_ ("opening %s"), safe);
          sk_error_set_from_errno (&error, errsv, what);
          return sk_cli_finish (cli, error, NULL, NULL);
        }
      g_autoptr (GUnixFDList) fds = g_unix_fd_list_new ();
      gint32 h = sk_cli_fd_append (fds, fd, &error);
      g_autoptr (JsonObject) r = h >= 0 ? sk_cli_call_json (cli, "Media", "ImportRegister",
                                                            g_variant_new ("(h)", h), fds, &error)
                                        : NULL;
      if (r == NULL)
        return sk_cli_finish (cli, error, NULL, NULL);
      sk_cli_extra_merge (cli, r);
      guint added = (guint)json_object_get_int_member_with_default (r, "added", 0);
      g_autofree char *msg = g_strdup_printf (
          g_dngettext (GETTEXT_PACKAGE, "Took %u row into the register; it waits for its token.",
                       "Took %u rows into the register; they wait for their tokens.", added),
          added);
      return sk_cli_finish (cli, NULL, msg, NULL);
    }
  g_auto (Opened) o = { 0 };
  if (!open_register (cli, &o, &error))
    return sk_cli_finish (cli, error, NULL, NULL);
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) io = NULL;
  if (!g_file_get_contents (argv[1], &data, &len, &io))
    {
      g_set_error (&error, SK_ERROR, SK_ERROR_IO_ERROR, "%s", io->message);
      return sk_cli_finish (cli, error, NULL, NULL);
    }
  g_autoptr (GBytes) csv = g_bytes_new_take (g_steal_pointer (&data), len);
  SkActor actor = admin_actor ();
  guint added = 0;
  if (!sk_media_register_import_csv (o.reg, &actor, csv, &added, &error))
    return sk_cli_finish (cli, error, NULL, NULL);
  JsonBuilder *b = sk_cli_extra (cli);
  json_builder_set_member_name (b, "added");
  json_builder_add_int_value (b, added);
  g_autofree char *msg = g_strdup_printf (
      g_dngettext (GETTEXT_PACKAGE, "Took %u row into the register; it waits for its token.",
                   "Took %u rows into the register; they wait for their tokens.", added),
      added);
  return sk_cli_finish (cli, NULL, msg, NULL);
}

static const SkCliCommand media_commands[] = {
  { "list", "[--all] [--devices [--tokens]]",
    N_ ("List the media register, and with --devices the media inserted now."),
    "sekisho media list --devices", cmd_media_list },
  { "register", "[--medium ID | --disc-out DIR] --number NUMBER [--label TEXT]",
    N_ ("Register the inserted medium: write its signed token and add it to the register."),
    "sekisho media register --number USB-0001", cmd_media_register },
  { "unregister", "NUMBER", N_ ("Withdraw a medium's registration; its token stops counting."),
    "sekisho media unregister USB-0001", cmd_media_unregister },
  { "export", "--out FILE.csv",
    N_ ("Write the register as the CSV of device-control consoles (UTF-8 with BOM)."),
    "sekisho media export --out 媒体管理簿.csv", cmd_media_export },
  { "import", "FILE.csv", N_ ("Take rows from such a CSV into the register, all or none."),
    "sekisho media import 媒体管理簿.csv", cmd_media_import },
  { NULL },
};

const SkCliGroup sk_cli_media_group = {
  "media",
  N_ ("Media (媒体管理簿):"),
  media_commands,
};
