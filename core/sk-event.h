/* sk-event.h — the names of the journal's events, and their words
 *
 * One table of every event name the code base journals (DESIGN.md §6):
 * `journal show --event` takes these names (sk_journal_known_events), the
 * app's auditor table shows their labels.  A new event is added here, with
 * its label translated in po/ja.po; tests/gui/test-app-logic checks that
 * every event core and the service journal is here and has Japanese words.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Every event name, sorted, NULL-terminated. */
const char *const *
sk_event_names (void);

/* The event's label in the reader's language ("package-imported" →
 * "パッケージを取り込み"), or NULL for a name not in the table (a newer
 * program's: the caller shows the name itself, escaped). */
const char *
sk_event_label (const char *event);

G_END_DECLS
