/* sk-app-format.c — workflows, states and deadlines in the person's words */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <glib/gi18n.h>

#include "sk-app-format.h"
#include "sk-error.h"
#include "sk-event.h"

typedef struct
{
  const char *name;
  const char *label;
} Word;

static char *
lookup (const Word *words, gsize n, const char *name)
{
  if (name == NULL)
    return g_strdup ("—");
  for (gsize i = 0; i < n; i++)
    if (g_str_equal (words[i].name, name))
      return g_strdup (_ (words[i].label));
  /* A word this app does not know yet: shown as the service sent it. */
  return sk_escape_untrusted (name);
}

/* Workflow and state names are the glossary's (po/GLOSSARY.md): the same
 * messages, with their context, as the command line shows. */
static char *
lookup_in_context (const char *context, const char *const *names, const char *name)
{
  if (name == NULL)
    return g_strdup ("—");
  for (gsize i = 0; names[i] != NULL; i++)
    if (g_str_equal (names[i], name))
      return g_strdup (g_dpgettext2 (GETTEXT_PACKAGE, context, names[i]));
  return sk_escape_untrusted (name);
}

char *
sk_app_format_workflow (const char *workflow)
{
  static const char *const names[] = {
    NC_ ("workflow", "subscriber"),
    NC_ ("workflow", "duplicate"),
    NC_ ("workflow", "inquiry"),
    NC_ ("workflow", "identity"),
    NULL,
  };
  return lookup_in_context ("workflow", names, workflow);
}

char *
sk_app_format_case_state (const char *state)
{
  static const char *const names[] = {
    NC_ ("state", "imported"),    NC_ ("state", "handed-off"),
    NC_ ("state", "uploaded"),    NC_ ("state", "results-in"),
    NC_ ("state", "exported"),    NC_ ("state", "closed"),
    NC_ ("state", "interrupted"), NULL,
  };
  return lookup_in_context ("state", names, state);
}

char *
sk_app_format_file_state (const char *state)
{
  static const char *const names[] = {
    NC_ ("state", "staged"),
    NC_ ("state", "handed-off"),
    NC_ ("state", "uploaded"),
    NC_ ("state", "taken-in"),
    NC_ ("state", "approved"),
    NC_ ("state", "exported"),
    NULL,
  };
  return lookup_in_context ("state", names, state);
}

char *
sk_app_format_event (const char *event)
{
  /* The one table of event names, shared with the command line. */
  const char *label = sk_event_label (event);

  if (event == NULL)
    return g_strdup ("—");
  if (label != NULL)
    return g_strdup (label);
  /* A newer program's event: shown as the service sent it. */
  return sk_escape_untrusted (event);
}

char *
sk_app_format_size (guint64 bytes)
{
  /* Below a kilobyte GLib says "621 bytes" in English here (its catalogue
   * is not consulted for it on this system): said in our words instead. */
  if (bytes < 1000)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u byte", "%u bytes", (gulong)bytes),
                            (guint)bytes);
  return g_format_size (bytes);
}

char *
sk_app_format_role (const char *role)
{
  static const Word words[] = {
    { "operator", N_ ("Operator") },
    { "auditor", N_ ("Auditor") },
    { "admin", N_ ("Policy Administrator") },
    { "system", N_ ("System") },
  };
  return lookup (words, G_N_ELEMENTS (words), role);
}

char *
sk_app_format_outcome (const char *outcome)
{
  static const Word words[] = {
    { "ok", N_ ("Done") },
    { "refused", N_ ("Refused") },
    { "failed", N_ ("Failed") },
  };
  return lookup (words, G_N_ELEMENTS (words), outcome);
}

char *
sk_app_format_time (const char *rfc3339)
{
  if (rfc3339 == NULL || *rfc3339 == '\0')
    return g_strdup ("—");
  g_autoptr (GDateTime) t = g_date_time_new_from_iso8601 (rfc3339, NULL);
  if (t == NULL)
    return sk_escape_untrusted (rfc3339);
  g_autoptr (GDateTime) local = g_date_time_to_local (t);
  return g_date_time_format (local, "%Y-%m-%d %H:%M");
}

/* The time left, in words, or NULL when DEADLINE is not a time. */
static char *
time_left (const char *deadline, GDateTime *now, gboolean *out_overdue)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_iso8601 (deadline, NULL);
  if (t == NULL)
    return NULL;

  GTimeSpan left = g_date_time_difference (t, now);
  gboolean overdue = left < 0;
  GTimeSpan span = overdue ? -left : left;
  gint64 days = span / G_TIME_SPAN_DAY;
  gint64 hours = (span % G_TIME_SPAN_DAY) / G_TIME_SPAN_HOUR;
  gint64 minutes = (span % G_TIME_SPAN_HOUR) / G_TIME_SPAN_MINUTE;
  g_autofree char *amount = NULL;
  if (days > 0)
    /* TRANSLATORS: a length of time: days and hours. */
    amount = g_strdup_printf (_ ("%d d %d h"), (int)days, (int)hours);
  else if (hours > 0)
    /* TRANSLATORS: a length of time: hours and minutes. */
    amount = g_strdup_printf (_ ("%d h %d min"), (int)hours, (int)minutes);
  else
    /* TRANSLATORS: a length of time: minutes. */
    amount = g_strdup_printf (_ ("%d min"), (int)minutes);

  *out_overdue = overdue;
  if (overdue)
    /* TRANSLATORS: how long ago a deadline passed. */
    return g_strdup_printf (_ ("overdue by %s"), amount);
  /* TRANSLATORS: the time left until a deadline. */
  return g_strdup_printf (_ ("%s left"), amount);
}

char *
sk_app_format_time_left (const char *deadline, GDateTime *now, gboolean *out_overdue)
{
  g_return_val_if_fail (now != NULL, NULL);

  gboolean overdue = FALSE;
  if (out_overdue != NULL)
    *out_overdue = FALSE;
  if (deadline == NULL || *deadline == '\0')
    return g_strdup ("—");
  char *text = time_left (deadline, now, &overdue);
  if (text == NULL)
    return sk_escape_untrusted (deadline);
  if (out_overdue != NULL)
    *out_overdue = overdue;
  return text;
}

char *
sk_app_format_countdown (const char *deadline, GDateTime *now, gboolean *out_overdue)
{
  g_return_val_if_fail (now != NULL, NULL);

  gboolean overdue = FALSE;
  if (out_overdue != NULL)
    *out_overdue = FALSE;
  if (deadline == NULL || *deadline == '\0')
    return g_strdup ("—");
  g_autofree char *left = time_left (deadline, now, &overdue);
  if (left == NULL)
    return sk_escape_untrusted (deadline);
  g_autofree char *when = sk_app_format_time (deadline);
  if (out_overdue != NULL)
    *out_overdue = overdue;
  /* TRANSLATORS: a deadline in local time, then the time left or overdue. */
  return g_strdup_printf (_ ("%s (%s)"), when, left);
}

char *
sk_app_format_deadline_what (const char *what)
{
  static const struct
  {
    const char *what;
    const char *msgid;
  } names[] = {
    { "results-due", NC_ ("deadline", "results due") },
    { "upload-plaintext", NC_ ("deadline", "upload plaintext deleted") },
    { "stored-package", NC_ ("deadline", "stored package deleted") },
    { "stored-result", NC_ ("deadline", "stored result deleted") },
  };

  if (what == NULL)
    return g_strdup ("—");
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (names[i].what, what))
      return g_strdup (g_dpgettext2 (GETTEXT_PACKAGE, "deadline", names[i].msgid));
  return sk_escape_untrusted (what);
}

char *
sk_app_format_key_role (const char *role)
{
  static const char *const names[] = {
    NC_ ("key role", "station"),
    NC_ ("key role", "admin"),
    NC_ ("key role", "to-intermediate signer"),
    NC_ ("key role", "to-intermediate recipient"),
    NC_ ("key role", "to-standard signer"),
    NC_ ("key role", "to-standard recipient"),
    NULL,
  };
  return lookup_in_context ("key role", names, role);
}
