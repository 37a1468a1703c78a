/* sk-app-media-panel.c — media in and out as the service sees them */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <glib/gi18n.h>

#include "sk-app-json.h"
#include "sk-app-media-panel.h"

enum
{
  COL_ID,
  COL_NUMBER,
  COL_IDENTITY,
  COL_STATE,
  COL_USABLE,
  COL_ICON,
};

enum
{
  SIGNAL_CHANGED,
  SIGNAL_NOTICE,
  SIGNAL_REFUSED,
  SIGNAL_REMOVED,
  N_SIGNALS,
};

static guint signals[N_SIGNALS];

struct _SkAppMediaPanel
{
  GtkBox parent_instance;

  GtkListStore *media_store;
  GtkTreeView *media_view;
  GtkLabel *empty_label;

  SkAppClient *client;
  GCancellable *cancellable; /* cancelled in dispose */
  GPtrArray *media;          /* SkAppMedium, in the order they came */
  char *chosen_id;
  gboolean filling;
  gboolean refuse_unregistered; /* the operator's: an unregistered medium is refused */
};

G_DEFINE_FINAL_TYPE (SkAppMediaPanel, sk_app_media_panel, GTK_TYPE_BOX)

static gint
find_medium (SkAppMediaPanel *self, const char *id)
{
  for (guint i = 0; i < self->media->len; i++)
    if (g_str_equal (((SkAppMedium *)g_ptr_array_index (self->media, i))->id, id))
      return (gint)i;
  return -1;
}

static const char *
state_words (const SkAppMedium *m)
{
  if (m->refusal != NULL)
    return _ ("Refused");
  if (m->number == NULL)
    return _ ("Not registered");
  return _ ("Ready");
}

/* The rows again from self->media, keeping the person's choice. */
static void
fill (SkAppMediaPanel *self)
{
  self->filling = TRUE;
  gtk_list_store_clear (self->media_store);
  GtkTreeIter chosen;
  gboolean have_chosen = FALSE;
  for (guint i = 0; i < self->media->len; i++)
    {
      const SkAppMedium *m = g_ptr_array_index (self->media, i);
      g_autofree char *state = m->refusal != NULL
                                   ? g_strdup_printf ("%s (%s)", state_words (m), m->refusal)
                                   : g_strdup (state_words (m));
      GtkTreeIter iter;
      gtk_list_store_insert_with_values (
          self->media_store, &iter, -1, COL_ID, m->id, COL_NUMBER,
          m->number != NULL ? m->number : "—", COL_IDENTITY, m->identity, COL_STATE, state,
          COL_USABLE, sk_app_medium_usable (m), COL_ICON,
          sk_app_medium_usable (m) ? "media-removable-symbolic" : "dialog-warning-symbolic", -1);
      if (self->chosen_id != NULL && g_str_equal (self->chosen_id, m->id))
        {
          chosen = iter;
          have_chosen = TRUE;
        }
    }
  if (have_chosen)
    gtk_tree_selection_select_iter (gtk_tree_view_get_selection (self->media_view), &chosen);
  else
    g_clear_pointer (&self->chosen_id, g_free);
  gtk_widget_set_visible (GTK_WIDGET (self->empty_label), self->media->len == 0);
  self->filling = FALSE;
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
on_selection_changed (SkAppMediaPanel *self, GtkTreeSelection *selection)
{
  GtkTreeModel *model = NULL;
  GtkTreeIter iter;
  g_autofree char *id = NULL;

  if (self->filling)
    return;
  if (gtk_tree_selection_get_selected (selection, &model, &iter))
    gtk_tree_model_get (model, &iter, COL_ID, &id, -1);
  g_free (self->chosen_id);
  self->chosen_id = g_steal_pointer (&id);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

/* Adds M or puts it in place of the row with its id; takes M over. */
static void
put (SkAppMediaPanel *self, SkAppMedium *m)
{
  gint at = find_medium (self, m->id);

  if (at >= 0)
    {
      sk_app_medium_free (g_ptr_array_index (self->media, at));
      g_ptr_array_index (self->media, at) = m;
    }
  else
    g_ptr_array_add (self->media, m);
}

static SkAppMedium *
medium_from_signal (const char *medium_json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) o = sk_app_json_parse_object (medium_json, &error);

  if (o == NULL)
    {
      g_message ("a media signal that is no JSON object: %s", error->message);
      return NULL;
    }
  return sk_app_medium_new_from_json (o);
}

static void
on_medium_added (SkDbusMedia *media, const char *medium_json, gpointer user_data)
{
  SkAppMediaPanel *self = user_data;
  g_autoptr (SkAppMedium) m = medium_from_signal (medium_json);

  if (m == NULL)
    return;
  g_autofree char *line = sk_app_medium_describe (m);
  /* TRANSLATORS: a medium was just inserted; then its description. */
  g_autofree char *text = g_strdup_printf (_ ("Medium inserted: %s"), line);
  /* Nothing may be imported from or exported to a medium nobody
   * registered: for the operator that is a refusal, said at once. */
  gboolean unregistered = m->number == NULL && m->refusal == NULL;
  g_autofree char *identity = g_strdup (m->identity);
  /* The one medium inserted is the one chosen, unless the person chose. */
  if (self->chosen_id == NULL && sk_app_medium_usable (m))
    self->chosen_id = g_strdup (m->id);
  put (self, g_steal_pointer (&m));
  fill (self);
  g_signal_emit (self, signals[SIGNAL_NOTICE], 0, text);
  if (unregistered && self->refuse_unregistered)
    g_signal_emit (self, signals[SIGNAL_REFUSED], 0, "media-unregistered", identity);
}

static void
on_medium_refused (SkDbusMedia *media, const char *medium_json, gpointer user_data)
{
  SkAppMediaPanel *self = user_data;
  g_autoptr (SkAppMedium) m = medium_from_signal (medium_json);

  if (m == NULL)
    return;
  if (m->refusal == NULL)
    /* A refusal without a code is still a refusal. */
    m->refusal = g_strdup (m->number == NULL ? "media-unregistered" : "media-class");
  g_autofree char *reason = g_strdup (m->refusal);
  g_autofree char *identity = g_strdup (m->identity);
  put (self, g_steal_pointer (&m));
  fill (self);
  g_signal_emit (self, signals[SIGNAL_REFUSED], 0, reason, identity);
}

static void
on_medium_removed (SkDbusMedia *media, const char *medium_id, gpointer user_data)
{
  SkAppMediaPanel *self = user_data;
  gint at = find_medium (self, medium_id);

  if (at < 0)
    return;
  const SkAppMedium *m = g_ptr_array_index (self->media, at);
  g_autofree char *line = sk_app_medium_describe (m);
  /* TRANSLATORS: a medium was pulled out; then its description. */
  g_autofree char *text = g_strdup_printf (_ ("Medium removed: %s"), line);
  g_autofree char *id = g_strdup (medium_id);
  g_ptr_array_remove_index (self->media, (guint)at);
  fill (self);
  g_signal_emit (self, signals[SIGNAL_NOTICE], 0, text);
  g_signal_emit (self, signals[SIGNAL_REMOVED], 0, id);
}

static void
on_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SkAppMediaPanel) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  if (!sk_dbus_media_call_list_finish (SK_DBUS_MEDIA (source), &text, result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("listing the media: %s", error->message);
      return;
    }
  g_autoptr (GPtrArray) list = sk_app_medium_list_parse (text, &error);
  if (list == NULL)
    {
      g_message ("listing the media: %s", error->message);
      return;
    }
  g_ptr_array_set_size (self->media, 0);
  for (guint i = 0; i < list->len; i++)
    g_ptr_array_add (self->media, g_steal_pointer (&g_ptr_array_index (list, i)));
  if (self->chosen_id == NULL)
    for (guint i = 0; i < self->media->len && self->chosen_id == NULL; i++)
      if (sk_app_medium_usable (g_ptr_array_index (self->media, i)))
        self->chosen_id = g_strdup (((SkAppMedium *)g_ptr_array_index (self->media, i))->id);
  fill (self);
}

void
sk_app_media_panel_refresh (SkAppMediaPanel *self)
{
  g_return_if_fail (SK_APP_IS_MEDIA_PANEL (self));
  sk_dbus_media_call_list (sk_app_client_get_media (self->client), self->cancellable, on_listed,
                           g_object_ref (self));
}

void
sk_app_media_panel_set_refuse_unregistered (SkAppMediaPanel *self, gboolean refuse)
{
  g_return_if_fail (SK_APP_IS_MEDIA_PANEL (self));
  self->refuse_unregistered = refuse;
}

const SkAppMedium *
sk_app_media_panel_get_chosen (SkAppMediaPanel *self)
{
  g_return_val_if_fail (SK_APP_IS_MEDIA_PANEL (self), NULL);

  if (self->chosen_id != NULL)
    {
      gint at = find_medium (self, self->chosen_id);
      return at >= 0 ? g_ptr_array_index (self->media, at) : NULL;
    }
  return self->media->len == 1 ? g_ptr_array_index (self->media, 0) : NULL;
}

static void
sk_app_media_panel_dispose (GObject *object)
{
  SkAppMediaPanel *self = SK_APP_MEDIA_PANEL (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->client);
  G_OBJECT_CLASS (sk_app_media_panel_parent_class)->dispose (object);
}

static void
sk_app_media_panel_finalize (GObject *object)
{
  SkAppMediaPanel *self = SK_APP_MEDIA_PANEL (object);

  g_clear_object (&self->cancellable);
  g_ptr_array_unref (self->media);
  g_free (self->chosen_id);
  G_OBJECT_CLASS (sk_app_media_panel_parent_class)->finalize (object);
}

static void
sk_app_media_panel_class_init (SkAppMediaPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = sk_app_media_panel_dispose;
  object_class->finalize = sk_app_media_panel_finalize;
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_NOTICE] = g_signal_new ("notice", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_REFUSED] =
      g_signal_new ("refused", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_REMOVED] = g_signal_new ("removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/jp/sekisho/Sekisho/sk-app-media-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, SkAppMediaPanel, media_store);
  gtk_widget_class_bind_template_child (widget_class, SkAppMediaPanel, media_view);
  gtk_widget_class_bind_template_child (widget_class, SkAppMediaPanel, empty_label);
  gtk_widget_class_bind_template_callback (widget_class, on_selection_changed);
}

static void
sk_app_media_panel_init (SkAppMediaPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->media = g_ptr_array_new_with_free_func ((GDestroyNotify)sk_app_medium_free);
}

SkAppMediaPanel *
sk_app_media_panel_new (SkAppClient *client)
{
  g_return_val_if_fail (SK_APP_IS_CLIENT (client), NULL);

  SkAppMediaPanel *self = g_object_new (SK_APP_TYPE_MEDIA_PANEL, NULL);
  SkDbusMedia *media = sk_app_client_get_media (client);
  self->client = g_object_ref (client);
  g_signal_connect_object (media, "medium-added", G_CALLBACK (on_medium_added), self, 0);
  g_signal_connect_object (media, "medium-refused", G_CALLBACK (on_medium_refused), self, 0);
  g_signal_connect_object (media, "medium-removed", G_CALLBACK (on_medium_removed), self, 0);
  sk_app_media_panel_refresh (self);
  return self;
}
