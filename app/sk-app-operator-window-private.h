/* sk-app-operator-window-private.h — the operator's window, shared by its two files
 *
 * sk-app-operator-window.c shows the cases, their files and deadlines;
 * sk-app-operator-transfer.c moves packages and files: import (from a
 * medium or a folder), hand-off and upload, take-in, approval, export.
 */
#pragma once

#include <gtk/gtk.h>

#include "sk-app-media-panel.h"
#include "sk-app-operator-window.h"
#include "sk-app-refusal-bar.h"

G_BEGIN_DECLS

enum
{
  FILE_COL_KIND,
  FILE_COL_NAME,
  FILE_COL_RECORDS,
  FILE_COL_SIZE,
  FILE_COL_SHA256,
  FILE_COL_STATE,
  FILE_COL_NEEDS_APPROVAL,
  FILE_COL_RAW_NAME,
};

struct _SkAppOperatorWindow
{
  GtkApplicationWindow parent_instance;

  GtkBox *refusal_slot;
  GtkBox *media_slot;
  SkAppRefusalBar *refusal_bar;
  SkAppMediaPanel *media_panel;
  GtkListStore *cases_store;
  GtkListStore *files_store;
  GtkListStore *verdicts_store;
  GtkTreeView *cases_view;
  GtkTreeView *files_view;
  GtkStack *case_stack;
  GtkLabel *case_id_label;
  GtkLabel *case_workflow_label;
  GtkLabel *case_state_label;
  GtkLabel *case_deadline_label;
  GtkLabel *case_created_label;
  GtkLabel *handoff_path_label;
  GtkLabel *handoff_deadline_label;
  GtkLabel *status_label;

  SkAppClient *client;
  GCancellable *cancellable; /* every call of this window; cancelled in dispose */
  char *case_id;             /* the case shown, as the service names it */
  char *case_state;
  GPtrArray *case_deadlines; /* pairs: what, RFC 3339 time, of the case shown */
  char *handoff_folder;
  guint countdown_id;
  GPtrArray *take_in_names; /* the downloads still to take in */
  gboolean filling;         /* the list is being refilled: selection changes are ours */
};

/* Asks the service again for the cases and the case shown. */
void
_sk_app_operator_window_refresh (SkAppOperatorWindow *self);
void
_sk_app_operator_window_set_status (SkAppOperatorWindow *self, const char *text);

/* The window's actions that move things (sk-app-operator-transfer.c). */
extern const GActionEntry _sk_app_operator_transfer_entries[];
extern const gsize _sk_app_operator_transfer_n_entries;

G_END_DECLS
