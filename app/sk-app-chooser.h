/* sk-app-chooser.h — ask the person for a file or a folder
 *
 * Every window asks the same way: a native chooser, local files only, an
 * optional filter, and the path handed on once the person accepted.  The
 * path is only a name: what was chosen is then opened once, through a
 * descriptor (sk-app-files.h), and the descriptor goes to the service.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* The person accepted PATH; OWNER is the object that asked. */
typedef void (*SkAppChosenFunc) (gpointer owner, const char *path);

typedef struct
{
  const char *title;
  GtkFileChooserAction action;
  const char *accept;         /* the accept button's label */
  const char *filter_name;    /* NULL: no filter */
  const char *filter_pattern; /* the filter's one pattern */
  const char *current_name;   /* a name to propose (saving), or NULL */
} SkAppChooser;

/* Show a chooser as WHAT says, over PARENT; CHOSEN is called with OWNER
 * (kept alive meanwhile) when the person accepts a path, never otherwise. */
void
sk_app_choose (GtkWindow *parent, GObject *owner, const SkAppChooser *what, SkAppChosenFunc chosen);

G_END_DECLS
