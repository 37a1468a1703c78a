/* sk-app-admin-window.c — the policy, a new one's differences, the keys */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <errno.h>
#include <gio/gunixfdlist.h>
#include <gio/gunixinputstream.h>
#include <glib/gi18n.h>
#include <unistd.h>

#include "sk-app-admin-window.h"
#include "sk-app-chooser.h"
#include "sk-app-files.h"
#include "sk-app-format.h"
#include "sk-app-json.h"
#include "sk-app-refusal-bar.h"
#include "sk-app-register-view.h"
#include "sk-error.h"

/* A policy larger than this is no policy (core's cap is smaller still). */
#define MAX_POLICY_BYTES (4 * 1024 * 1024)

struct _SkAppAdminWindow
{
  GtkApplicationWindow parent_instance;

  GtkBox *refusal_slot;
  GtkBox *register_slot;
  GtkLabel *status_label;
  SkAppRefusalBar *refusal_bar;
  SkAppRegisterView *register_view;
  GtkLabel *serial_label;
  GtkLabel *sha256_label;
  GtkLabel *signer_label;
  GtkLabel *successor_label;
  GtkLabel *rules_label;
  GtkListStore *admins_store;
  GtkListStore *diff_store;
  GtkListStore *keys_store;
  GtkFrame *pending_frame;
  GtkLabel *pending_label;

  SkAppClient *client;
  GCancellable *cancellable;
  JsonObject *installed; /* Policy.Show's answer */
  int pending_policy_fd; /* the chosen policy.json and its .sig, until installed or discarded */
  int pending_sig_fd;
};

G_DEFINE_FINAL_TYPE (SkAppAdminWindow, sk_app_admin_window, GTK_TYPE_APPLICATION_WINDOW)

static gboolean
is_cancelled (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
set_enabled (SkAppAdminWindow *self, const char *action, gboolean enabled)
{
  GAction *a = g_action_map_lookup_action (G_ACTION_MAP (self), action);
  g_simple_action_set_enabled (G_SIMPLE_ACTION (a), enabled);
}

static char *
escaped_or_dash (const char *text)
{
  return text != NULL && *text != '\0' ? sk_escape_untrusted (text) : g_strdup ("—");
}

static char *
joined_strings (JsonArray *array)
{
  g_autoptr (GString) s = g_string_new (NULL);

  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *n = json_array_get_element (array, i);
      if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
        continue;
      g_autofree char *e = sk_escape_untrusted (json_node_get_string (n));
      if (s->len > 0)
        g_string_append (s, ", ");
      g_string_append (s, e);
    }
  return s->len > 0 ? g_string_free (g_steal_pointer (&s), FALSE) : g_strdup ("—");
}

static void
discard_pending (SkAppAdminWindow *self)
{
  if (self->pending_policy_fd >= 0)
    close (self->pending_policy_fd);
  if (self->pending_sig_fd >= 0)
    close (self->pending_sig_fd);
  self->pending_policy_fd = self->pending_sig_fd = -1;
  gtk_list_store_clear (self->diff_store);
  gtk_widget_hide (GTK_WIDGET (self->pending_frame));
  set_enabled (self, "confirm-install", FALSE);
  set_enabled (self, "discard-install", FALSE);
}

/* ---- the installed policy and the keys -------------------------------------------------- */

static char *
policy_rules (JsonObject *p);

static void
on_policy_shown (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppAdminWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (!sk_dbus_policy_call_show_finish (SK_DBUS_POLICY (source), &text, result, &error))
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Reading the installed policy"),
                                       error);
      return;
    }
  g_autoptr (JsonObject) p = sk_app_json_parse_object (text, &error);
  if (p == NULL)
    {
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Reading the installed policy"), error);
      return;
    }
  g_clear_pointer (&self->installed, json_object_unref);
  self->installed = json_object_ref (p);
  g_autofree char *serial = g_strdup_printf ("%" G_GINT64_FORMAT, sk_app_json_int (p, "serial", 0));
  g_autofree char *sha = escaped_or_dash (sk_app_json_string (p, "sha256"));
  g_autofree char *signer = escaped_or_dash (sk_app_json_string (p, "signer"));
  g_autofree char *successor = escaped_or_dash (sk_app_json_string (p, "admin_successor"));
  gtk_label_set_text (self->serial_label, serial);
  gtk_label_set_text (self->sha256_label, sha);
  gtk_label_set_text (self->signer_label, signer);
  gtk_label_set_text (self->successor_label, successor);
  g_autofree char *rules = policy_rules (p);
  gtk_label_set_text (self->rules_label, rules);
  gtk_list_store_clear (self->admins_store);
  JsonArray *admins = sk_app_json_array (p, "admins");
  for (guint i = 0; admins != NULL && i < json_array_get_length (admins); i++)
    {
      const char *fpr = json_array_get_string_element (admins, i);
      g_autofree char *shown = escaped_or_dash (fpr);
      gtk_list_store_insert_with_values (self->admins_store, NULL, -1, 0, shown, -1);
    }
}

/* A key's expiry in words: the date in local time, "never", or what ended it. */
static char *
key_expiry (JsonObject *key, gboolean *out_bad)
{
  *out_bad = TRUE;
  if (sk_app_json_bool (key, "revoked"))
    return g_strdup (_ ("Revoked"));
  const char *expires = sk_app_json_string (key, "expires");
  g_autofree char *when = expires != NULL ? sk_app_format_time (expires) : NULL;
  if (sk_app_json_bool (key, "expired"))
    /* TRANSLATORS: a key that expired on this date. */
    return g_strdup_printf (_ ("Expired %s"), when != NULL ? when : "—");
  *out_bad = FALSE;
  return when != NULL ? g_steal_pointer (&when) : g_strdup (_ ("Never"));
}

/* One retention value of the policy, in words ("upload_minutes": 30 →
 * "upload plaintext 30 min"); a name this app does not know, as it is. */
static char *
retention_item (const char *name, gint64 value)
{
  int v = (int)CLAMP (value, G_MININT, G_MAXINT);

  /* TRANSLATORS: retention values of the policy; %d is the number. */
  if (g_str_equal (name, "upload_minutes"))
    return g_strdup_printf (_ ("upload plaintext %d min"), v);
  if (g_str_equal (name, "download_minutes"))
    return g_strdup_printf (_ ("downloads %d min"), v);
  if (g_str_equal (name, "no_result_days"))
    return g_strdup_printf (_ ("results due in %d days"), v);
  if (g_str_equal (name, "inquiry_result_days"))
    return g_strdup_printf (_ ("inquiry results %d days"), v);
  if (g_str_equal (name, "staged_days_after_close"))
    return g_strdup_printf (_ ("store after closing %d days"), v);
  if (g_str_equal (name, "journal_years"))
    return g_strdup_printf (_ ("journal %d years"), v);
  g_autofree char *key = sk_escape_untrusted (name);
  return g_strdup_printf ("%s=%" G_GINT64_FORMAT, key, value);
}

/* The policy's rules in a few lines: kinds, caps, retention, dual control. */
static char *
policy_rules (JsonObject *p)
{
  g_autoptr (GString) s = g_string_new (NULL);
  JsonArray *kinds = sk_app_json_array (p, "kinds");
  JsonArray *dual = sk_app_json_array (p, "dual_control");
  JsonNode *caps_node = json_object_get_member (p, "caps");
  JsonNode *ret_node = json_object_get_member (p, "retention");
  JsonObject *caps = caps_node != NULL && JSON_NODE_HOLDS_OBJECT (caps_node)
                         ? json_node_get_object (caps_node)
                         : NULL;
  JsonObject *ret = ret_node != NULL && JSON_NODE_HOLDS_OBJECT (ret_node)
                        ? json_node_get_object (ret_node)
                        : NULL;

  if (kinds != NULL)
    {
      g_autoptr (GString) ids = g_string_new (NULL);
      for (guint i = 0; i < json_array_get_length (kinds); i++)
        {
          JsonNode *n = json_array_get_element (kinds, i);
          JsonObject *k = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
          g_autofree char *id = escaped_or_dash (sk_app_json_string (k, "id"));
          g_string_append_printf (ids, "%s%s", ids->len > 0 ? " " : "", id);
        }
      /* TRANSLATORS: how many file kinds the policy allows, then their ids. */
      g_string_append_printf (s, _ ("File kinds (%u): %s"), json_array_get_length (kinds),
                              ids->str);
    }
  if (dual != NULL)
    {
      g_autofree char *ids = joined_strings (dual);
      g_string_append_c (s, '\n');
      /* TRANSLATORS: the kinds a second operator must approve. */
      g_string_append_printf (s, _ ("Dual control: %s"), ids);
    }
  if (caps != NULL)
    {
      g_autofree char *size =
          sk_app_format_size ((guint64)MAX (0, sk_app_json_int (caps, "max_package_size", 0)));
      g_string_append_c (s, '\n');
      /* TRANSLATORS: the caps of a package: files, then size. */
      g_string_append_printf (s, _ ("At most %d files, %s per package"),
                              (int)sk_app_json_int (caps, "max_files", 0), size);
    }
  if (ret != NULL)
    {
      g_autoptr (GString) r = g_string_new (NULL);
      JsonObjectIter iter;
      const char *name;
      JsonNode *value;
      json_object_iter_init (&iter, ret);
      while (json_object_iter_next (&iter, &name, &value))
        if (JSON_NODE_HOLDS_VALUE (value) && json_node_get_value_type (value) == G_TYPE_INT64)
          {
            g_autofree char *item = retention_item (name, json_node_get_int (value));
            g_string_append_printf (r, "%s%s", r->len > 0 ? _ (", ") : "", item);
          }
      g_string_append_c (s, '\n');
      /* TRANSLATORS: the policy's retention values (names as in policy.json). */
      g_string_append_printf (s, _ ("Retention: %s"), r->len > 0 ? r->str : "—");
    }
  return s->len > 0 ? g_string_free (g_steal_pointer (&s), FALSE) : g_strdup ("—");
}

static void
add_key_row (
    SkAppAdminWindow *self, const char *use, const char *fpr, gboolean present, JsonObject *key)
{
  g_autofree char *shown = escaped_or_dash (fpr);
  gboolean bad = FALSE;
  g_autofree char *expiry = key != NULL ? key_expiry (key, &bad) : g_strdup ("—");
  gtk_list_store_insert_with_values (self->keys_store, NULL, -1, 0, use, 1, shown, 2,
                                     present ? _ ("Yes") : _ ("Missing"), 3, expiry, 4, bad, -1);
}

/* The roles the policy gives a key, in the glossary's words. */
static char *
key_roles (JsonArray *roles)
{
  g_autoptr (GString) s = g_string_new (NULL);

  for (guint i = 0; roles != NULL && i < json_array_get_length (roles); i++)
    {
      JsonNode *n = json_array_get_element (roles, i);
      if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
        continue;
      g_autofree char *words = sk_app_format_key_role (json_node_get_string (n));
      g_string_append_printf (s, "%s%s", s->len > 0 ? "、" : "", words);
    }
  /* A key in the keyring that the policy does not list is trusted for
   * nothing (DESIGN.md §5). */
  return s->len > 0 ? g_string_free (g_steal_pointer (&s), FALSE)
                    : g_strdup (_ ("Not in the policy: trusted for nothing"));
}

/* The keyring's own entry for FPR in K's "keys", if any. */
static JsonObject *
keyring_entry (JsonObject *k, const char *fpr)
{
  JsonArray *keys = sk_app_json_array (k, "keys");

  for (guint i = 0; fpr != NULL && keys != NULL && i < json_array_get_length (keys); i++)
    {
      JsonNode *n = json_array_get_element (keys, i);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
      if (g_strcmp0 (sk_app_json_string (o, "fingerprint"), fpr) == 0)
        return o;
    }
  return NULL;
}

static void
on_keys_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppAdminWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (!sk_dbus_keys_call_list_finish (SK_DBUS_KEYS (source), &text, result, &error))
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Listing the keys"), error);
      return;
    }
  g_autoptr (JsonObject) k = sk_app_json_parse_object (text, &error);
  if (k == NULL)
    {
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Listing the keys"), error);
      return;
    }
  gtk_list_store_clear (self->keys_store);
  const char *station_key = sk_app_json_string (k, "station_key");
  add_key_row (self, _ ("Station key (secret part)"), station_key,
               sk_app_json_bool (k, "station_secret_key"), keyring_entry (k, station_key));
  JsonArray *admins = sk_app_json_array (k, "admin_keys");
  for (guint i = 0; admins != NULL && i < json_array_get_length (admins); i++)
    {
      JsonNode *n = json_array_get_element (admins, i);
      if (!JSON_NODE_HOLDS_OBJECT (n))
        continue;
      JsonObject *a = json_node_get_object (n);
      const char *fpr = sk_app_json_string (a, "fingerprint");
      add_key_row (self, _ ("Policy administrator"), fpr, sk_app_json_bool (a, "public_key"),
                   keyring_entry (k, fpr));
    }
  /* Every other key of the keyring, with the roles the policy gives it. */
  JsonArray *keys = sk_app_json_array (k, "keys");
  for (guint i = 0; keys != NULL && i < json_array_get_length (keys); i++)
    {
      JsonNode *n = json_array_get_element (keys, i);
      if (!JSON_NODE_HOLDS_OBJECT (n))
        continue;
      JsonObject *o = json_node_get_object (n);
      const char *fpr = sk_app_json_string (o, "fingerprint");
      gboolean listed = g_strcmp0 (fpr, station_key) == 0;
      for (guint j = 0; !listed && admins != NULL && j < json_array_get_length (admins); j++)
        {
          JsonNode *an = json_array_get_element (admins, j);
          listed =
              JSON_NODE_HOLDS_OBJECT (an) &&
              g_strcmp0 (sk_app_json_string (json_node_get_object (an), "fingerprint"), fpr) == 0;
        }
      if (listed)
        continue;
      g_autofree char *roles = key_roles (sk_app_json_array (o, "roles"));
      add_key_row (self, roles, fpr, TRUE, o);
    }
}

static void
refresh (SkAppAdminWindow *self)
{
  sk_dbus_policy_call_show (sk_app_client_get_policy (self->client), self->cancellable,
                            on_policy_shown, g_object_ref (self));
  sk_dbus_keys_call_list (sk_app_client_get_keys (self->client), self->cancellable, on_keys_listed,
                          g_object_ref (self));
}

/* ---- a new policy: read, compared, then installed ---------------------------------------- */

static void
add_diff (SkAppAdminWindow *self, const char *what, const char *installed, const char *new_value)
{
  gtk_list_store_insert_with_values (self->diff_store, NULL, -1, 0, what, 1, installed, 2,
                                     new_value, 3, g_strcmp0 (installed, new_value) != 0, -1);
}

/* The new policy's bytes, read from the descriptor the service will get
 * (then rewound), so that what is compared is what is installed. */
static GBytes *
read_policy (int fd, GError **error)
{
  g_autoptr (GInputStream) in = g_unix_input_stream_new (fd, FALSE);
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  guint8 buf[16384];

  for (;;)
    {
      gssize n = g_input_stream_read (in, buf, sizeof buf, NULL, error);
      if (n < 0)
        return NULL;
      if (n == 0)
        break;
      if (bytes->len + (gsize)n > MAX_POLICY_BYTES)
        {
          g_set_error (error, SK_ERROR, SK_ERROR_POLICY_INVALID,
                       _ ("the policy is larger than %d bytes"), MAX_POLICY_BYTES);
          return NULL;
        }
      g_byte_array_append (bytes, buf, (guint)n);
    }
  if (lseek (fd, 0, SEEK_SET) != 0)
    {
      sk_error_set_from_errno (error, errno, _ ("rewinding the policy"));
      return NULL;
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&bytes));
}

static void
show_pending (SkAppAdminWindow *self, GBytes *bytes)
{
  g_autoptr (GError) error = NULL;
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);
  g_autofree char *text = g_strndup (data, len);
  g_autoptr (JsonObject) p = sk_app_json_parse_object (text, &error);

  if (p == NULL)
    {
      g_autoptr (GError) invalid =
          g_error_new (SK_ERROR, SK_ERROR_POLICY_INVALID, "%s", error->message);
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Reading the new policy"), invalid);
      discard_pending (self);
      return;
    }
  gint64 old_serial = sk_app_json_int (self->installed, "serial", 0);
  gint64 new_serial = sk_app_json_int (p, "serial", -1);
  g_autofree char *old_s = g_strdup_printf ("%" G_GINT64_FORMAT, old_serial);
  g_autofree char *new_s = g_strdup_printf ("%" G_GINT64_FORMAT, new_serial);
  g_autofree char *new_sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, bytes);
  g_autofree char *old_sha = escaped_or_dash (sk_app_json_string (self->installed, "sha256"));
  JsonObject *keys = NULL;
  JsonNode *keys_node = json_object_get_member (p, "keys");
  if (keys_node != NULL && JSON_NODE_HOLDS_OBJECT (keys_node))
    keys = json_node_get_object (keys_node);
  g_autofree char *old_admins = joined_strings (sk_app_json_array (self->installed, "admins"));
  g_autofree char *new_admins = joined_strings (sk_app_json_array (keys, "admins"));
  g_autofree char *old_succ =
      escaped_or_dash (sk_app_json_string (self->installed, "admin_successor"));
  g_autofree char *new_succ = escaped_or_dash (sk_app_json_string (p, "admin_successor"));
  g_autofree char *issued = sk_app_format_time (sk_app_json_string (p, "issued_at"));
  g_autofree char *description = escaped_or_dash (sk_app_json_string (p, "description"));

  gtk_list_store_clear (self->diff_store);
  add_diff (self, _ ("Serial"), old_s, new_s);
  add_diff (self, _ ("SHA-256"), old_sha, new_sha);
  add_diff (self, _ ("Administrators"), old_admins, new_admins);
  add_diff (self, _ ("Next administrator"), old_succ, new_succ);
  add_diff (self, _ ("Issued"), "", issued);
  add_diff (self, _ ("Description"), "", description);
  gtk_widget_show (GTK_WIDGET (self->pending_frame));
  set_enabled (self, "discard-install", TRUE);

  if (new_serial < old_serial)
    {
      /* The service refuses it too (policy-invalid); saying so before the
       * attempt spares a journaled refusal. */
      g_autoptr (GError) older = g_error_new (
          SK_ERROR, SK_ERROR_POLICY_INVALID,
          /* TRANSLATORS: the new policy's serial, then the installed one. */
          _ ("the new policy's serial %s is older than the installed %s"), new_s, old_s);
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Installing the policy"), older);
      gtk_label_set_text (self->pending_label,
                          _ ("This policy is older than the installed one and cannot be "
                             "installed."));
      set_enabled (self, "confirm-install", FALSE);
      return;
    }
  sk_app_refusal_bar_dismiss (self->refusal_bar);
  gtk_label_set_text (self->pending_label,
                      new_serial == old_serial
                          ? _ ("This policy has the installed serial: installing it again "
                               "changes nothing if its SHA-256 is the same. Check the "
                               "differences below.")
                          : _ ("Check the differences below. The service checks the signature "
                               "against the pinned administrator keys when you install."));
  set_enabled (self, "confirm-install", TRUE);
}

static void
on_policy_chosen (gpointer owner, const char *path)
{
  SkAppAdminWindow *self = owner;
  g_autoptr (GError) error = NULL;
  g_autofree char *missing_sig = NULL;
  int policy_fd, sig_fd;

  discard_pending (self);
  if (!sk_app_open_signed (path, &policy_fd, &sig_fd, &missing_sig, &error))
    {
      if (missing_sig != NULL)
        {
          g_clear_error (&error);
          g_set_error (&error, SK_ERROR, SK_ERROR_POLICY_UNSIGNED,
                       _ ("no signature file %s beside the policy"), missing_sig);
        }
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Reading the new policy"), error);
      return;
    }
  self->pending_policy_fd = policy_fd;
  self->pending_sig_fd = sig_fd;
  g_autoptr (GBytes) bytes = read_policy (policy_fd, &error);
  if (bytes == NULL)
    {
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Reading the new policy"), error);
      discard_pending (self);
      return;
    }
  show_pending (self, bytes);
}

static void
on_install_policy (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppAdminWindow *self = user_data;
  const SkAppChooser what = {
    .title = _ ("Choose a Signed Policy"),
    .action = GTK_FILE_CHOOSER_ACTION_OPEN,
    .accept = _ ("_Open"),
    .filter_name = _ ("Policies (*.json)"),
    .filter_pattern = "*.json",
  };
  sk_app_choose (GTK_WINDOW (self), G_OBJECT (self), &what, on_policy_chosen);
}

static void
on_installed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppAdminWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (!sk_dbus_policy_call_install_finish (SK_DBUS_POLICY (source), &text, NULL, result, &error))
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Installing the policy"), error);
      refresh (self);
      return;
    }
  sk_app_refusal_bar_dismiss (self->refusal_bar);
  refresh (self);
}

static void
on_confirm_install (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppAdminWindow *self = user_data;

  if (self->pending_policy_fd < 0 || self->pending_sig_fd < 0)
    return;
  g_autoptr (GUnixFDList) fds =
      sk_app_fd_list_take2 (self->pending_policy_fd, self->pending_sig_fd);
  self->pending_policy_fd = self->pending_sig_fd = -1;
  discard_pending (self);
  sk_dbus_policy_call_install (sk_app_client_get_policy (self->client), g_variant_new_handle (0),
                               g_variant_new_handle (1), fds, self->cancellable, on_installed,
                               g_object_ref (self));
}

static void
on_discard_install (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppAdminWindow *self = user_data;

  discard_pending (self);
  sk_app_refusal_bar_dismiss (self->refusal_bar);
}

/* ---- keys --------------------------------------------------------------------------------- */

static void
on_keys_imported (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppAdminWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) fingerprints = NULL;

  if (!sk_dbus_keys_call_import_finish (SK_DBUS_KEYS (source), &fingerprints, NULL, result, &error))
    {
      if (!is_cancelled (error))
        sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Importing keys"), error);
      return;
    }
  sk_app_refusal_bar_dismiss (self->refusal_bar);
  /* What was imported, by fingerprint: the administrator compares it with
   * the one the key's owner read out. */
  guint n = fingerprints != NULL ? g_strv_length (fingerprints) : 0;
  g_autoptr (GString) shown = g_string_new (NULL);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *fpr = sk_escape_untrusted (fingerprints[i]);
      g_string_append_printf (shown, "%s%s", i > 0 ? _ (", ") : "", fpr);
    }
  g_autofree char *count = g_strdup_printf ("%u", n);
  g_autofree char *text =
      n == 0 ? g_strdup (_ ("The file held no key to import."))
             /* TRANSLATORS: the number of keys, then their fingerprints. */
             : g_strdup_printf (
                   g_dngettext (GETTEXT_PACKAGE, "Imported %s key: %s", "Imported %s keys: %s", n),
                   count, shown->str);
  gtk_label_set_text (self->status_label, text);
  refresh (self);
}

static void
on_keys_chosen (gpointer owner, const char *path)
{
  SkAppAdminWindow *self = owner;
  g_autoptr (GError) error = NULL;

  int fd = sk_app_open_file (path, &error);
  if (fd < 0)
    {
      sk_app_refusal_bar_show_error (self->refusal_bar, _ ("Importing keys"), error);
      return;
    }
  g_autoptr (GUnixFDList) fds = sk_app_fd_list_take (fd);
  sk_dbus_keys_call_import (sk_app_client_get_keys (self->client), g_variant_new_handle (0), fds,
                            self->cancellable, on_keys_imported, g_object_ref (self));
}

static void
on_import_keys (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  SkAppAdminWindow *self = user_data;
  const SkAppChooser what = {
    .title = _ ("Import Keys"),
    .action = GTK_FILE_CHOOSER_ACTION_OPEN,
    .accept = _ ("_Import"),
  };
  sk_app_choose (GTK_WINDOW (self), G_OBJECT (self), &what, on_keys_chosen);
}

static void
on_register_refusal (SkAppRegisterView *view,
                     const char *doing,
                     const GError *error,
                     gpointer user_data)
{
  SkAppAdminWindow *self = user_data;
  sk_app_refusal_bar_show_error (self->refusal_bar, doing, error);
}

static void
on_register_notice (SkAppRegisterView *view, const char *text, gpointer user_data)
{
  SkAppAdminWindow *self = user_data;
  sk_app_refusal_bar_dismiss (self->refusal_bar);
  gtk_label_set_text (self->status_label, text);
}

static void
on_refresh (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  if (SK_APP_ADMIN_WINDOW (user_data)->register_view != NULL)
    sk_app_register_view_refresh (SK_APP_ADMIN_WINDOW (user_data)->register_view);
  refresh (SK_APP_ADMIN_WINDOW (user_data));
}

static const GActionEntry win_entries[] = {
  { "refresh", on_refresh, NULL, NULL, NULL, { 0 } },
  { "install-policy", on_install_policy, NULL, NULL, NULL, { 0 } },
  { "confirm-install", on_confirm_install, NULL, NULL, NULL, { 0 } },
  { "discard-install", on_discard_install, NULL, NULL, NULL, { 0 } },
  { "import-keys", on_import_keys, NULL, NULL, NULL, { 0 } },
};

static void
sk_app_admin_window_dispose (GObject *object)
{
  SkAppAdminWindow *self = SK_APP_ADMIN_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  if (self->pending_policy_fd >= 0)
    close (self->pending_policy_fd);
  if (self->pending_sig_fd >= 0)
    close (self->pending_sig_fd);
  self->pending_policy_fd = self->pending_sig_fd = -1;
  g_clear_object (&self->client);
  g_clear_pointer (&self->installed, json_object_unref);
  G_OBJECT_CLASS (sk_app_admin_window_parent_class)->dispose (object);
}

static void
sk_app_admin_window_finalize (GObject *object)
{
  SkAppAdminWindow *self = SK_APP_ADMIN_WINDOW (object);

  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (sk_app_admin_window_parent_class)->finalize (object);
}

static void
sk_app_admin_window_class_init (SkAppAdminWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sk_app_admin_window_dispose;
  object_class->finalize = sk_app_admin_window_finalize;
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/jp/sekisho/Sekisho/sk-app-admin-window.ui");
#define BIND(name) gtk_widget_class_bind_template_child (widget_class, SkAppAdminWindow, name)
  BIND (refusal_slot);
  BIND (register_slot);
  BIND (status_label);
  BIND (serial_label);
  BIND (sha256_label);
  BIND (signer_label);
  BIND (successor_label);
  BIND (rules_label);
  BIND (admins_store);
  BIND (diff_store);
  BIND (keys_store);
  BIND (pending_frame);
  BIND (pending_label);
#undef BIND
}

static void
sk_app_admin_window_init (SkAppAdminWindow *self)
{
  self->pending_policy_fd = self->pending_sig_fd = -1;
  gtk_widget_init_template (GTK_WIDGET (self));
  self->refusal_bar = sk_app_refusal_bar_new ();
  gtk_box_pack_start (self->refusal_slot, GTK_WIDGET (self->refusal_bar), FALSE, TRUE, 0);
  self->cancellable = g_cancellable_new ();
  g_action_map_add_action_entries (G_ACTION_MAP (self), win_entries, G_N_ELEMENTS (win_entries),
                                   self);
  set_enabled (self, "confirm-install", FALSE);
  set_enabled (self, "discard-install", FALSE);
}

GtkWidget *
sk_app_admin_window_new (GtkApplication *app, SkAppClient *client)
{
  g_return_val_if_fail (GTK_IS_APPLICATION (app), NULL);
  g_return_val_if_fail (SK_APP_IS_CLIENT (client), NULL);

  SkAppAdminWindow *self = g_object_new (SK_APP_TYPE_ADMIN_WINDOW, "application", app, NULL);
  self->client = g_object_ref (client);
  self->register_view = sk_app_register_view_new (client, TRUE);
  gtk_box_pack_start (self->register_slot, GTK_WIDGET (self->register_view), TRUE, TRUE, 0);
  g_signal_connect_object (self->register_view, "refusal", G_CALLBACK (on_register_refusal), self,
                           0);
  g_signal_connect_object (self->register_view, "notice", G_CALLBACK (on_register_notice), self, 0);
  refresh (self);
  return GTK_WIDGET (self);
}
