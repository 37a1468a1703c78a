/* sk-app-format.h — the service's words and numbers, as a person reads them */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "subscriber" → 加入者情報作成 … (DESIGN.md §2); unknown names escaped. */
char *
sk_app_format_workflow (const char *workflow);
/* A case's state ("imported", "handed-off", …), in words. */
char *
sk_app_format_case_state (const char *state);
/* A file's state ("staged", "taken-in", …), in words. */
char *
sk_app_format_file_state (const char *state);
/* A journal event ("package-imported", …), in words; unknown ones escaped. */
char *
sk_app_format_event (const char *event);
/* A size in bytes as a person reads it: "621 バイト", "11.5 kB". */
char *
sk_app_format_size (guint64 bytes);
/* A role ("operator", "auditor", "admin", "system"), in words. */
char *
sk_app_format_role (const char *role);
/* A journal outcome ("ok", "refused"), in words. */
char *
sk_app_format_outcome (const char *outcome);
/* An RFC 3339 time in local time (JST on the terminal): "2026-12-07 09:30". */
char *
sk_app_format_time (const char *rfc3339);
/* Time left until DEADLINE (RFC 3339) from NOW: "2 d 3 h left", or
 * "overdue by 5 h 0 min"; *OUT_OVERDUE tells which. */
char *
sk_app_format_time_left (const char *deadline, GDateTime *now, gboolean *out_overdue);
/* The deadline in local time with the time left: "2026-12-09 12:30 (2 d 3 h left)". */
char *
sk_app_format_countdown (const char *deadline, GDateTime *now, gboolean *out_overdue);

/* What ends at a case's deadline ("results-due", "upload-plaintext",
 * "stored-package", "stored-result"), in the glossary's words. */
char *
sk_app_format_deadline_what (const char *what);

/* A key's role in the policy ("station", "to-standard signer", …), in the
 * glossary's words. */
char *
sk_app_format_key_role (const char *role);

G_END_DECLS
