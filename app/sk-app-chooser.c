/* sk-app-chooser.c — ask the person for a file or a folder */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <glib/gi18n.h>

#include "sk-app-chooser.h"

typedef struct
{
  GObject *owner;
  SkAppChosenFunc chosen;
} Asked;

static void
on_response (GtkNativeDialog *dialog, int response, gpointer user_data)
{
  Asked *asked = user_data;
  g_autoptr (GtkNativeDialog) owned = dialog;
  g_autoptr (GObject) owner = asked->owner;
  SkAppChosenFunc chosen = asked->chosen;
  g_free (asked);

  if (response != GTK_RESPONSE_ACCEPT)
    return;
  g_autofree char *path = gtk_file_chooser_get_filename (GTK_FILE_CHOOSER (owned));
  if (path == NULL)
    return;
  chosen (owner, path);
}

void
sk_app_choose (GtkWindow *parent, GObject *owner, const SkAppChooser *what, SkAppChosenFunc chosen)
{
  g_return_if_fail (G_IS_OBJECT (owner) && what != NULL && chosen != NULL);

  GtkFileChooserNative *chooser =
      gtk_file_chooser_native_new (what->title, parent, what->action, what->accept, _ ("_Cancel"));
  if (what->filter_name != NULL)
    {
      g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();
      gtk_file_filter_set_name (filter, what->filter_name);
      gtk_file_filter_add_pattern (filter, what->filter_pattern);
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), g_object_ref (filter));
    }
  if (what->current_name != NULL)
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), what->current_name);
  gtk_file_chooser_set_local_only (GTK_FILE_CHOOSER (chooser), TRUE);
  Asked *asked = g_new0 (Asked, 1);
  asked->owner = g_object_ref (owner);
  asked->chosen = chosen;
  g_signal_connect (chooser, "response", G_CALLBACK (on_response), asked);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}
