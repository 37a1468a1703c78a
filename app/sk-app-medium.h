/* sk-app-medium.h — a medium as the service describes it (Media.List, the Medium* signals)
 *
 * Everything here came from a stick: vendor, model, serial and label are
 * untrusted and kept escaped (sk_escape_untrusted) from the moment they are
 * read; the id is the service's handle, kept raw to hand back to it.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct
{
  char *id;       /* the service's handle, as sent (for Import/Export/Register) */
  char *number;   /* 管理番号, escaped, or NULL: not registered */
  char *label;    /* escaped, or NULL */
  char *identity; /* "vendor model (serial)", escaped */
  char *klass;    /* "usb-storage", "optical", … as sent, escaped */
  char *refusal;  /* the reason code it was refused with, or NULL */
} SkAppMedium;

void
sk_app_medium_free (SkAppMedium *medium);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkAppMedium, sk_app_medium_free)

/* One medium from its JSON object; NULL when it has no id. */
SkAppMedium *
sk_app_medium_new_from_json (JsonObject *object);

/* The media of a Media.List answer (an array, or an object holding one
 * under "media"), each an SkAppMedium; NULL with ERROR when the answer is
 * neither. */
GPtrArray *
sk_app_medium_list_parse (const char *text, GError **error);

/* May files be imported from or exported to it: registered, not refused. */
gboolean
sk_app_medium_usable (const SkAppMedium *medium);

/* One line for a person: "KANRI-0001 — Vendor Model (serial)", or the
 * identity and "not registered", or the refusal code. Translated. */
char *
sk_app_medium_describe (const SkAppMedium *medium);

G_END_DECLS
