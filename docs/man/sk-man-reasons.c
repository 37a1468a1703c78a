/* sk-man-reasons.c — the REASON CODES section of the man pages, from the table
 *
 * Prints, as man(7) markup, every reason code core/sk-error.c knows, with
 * its exit status and its description, in the language asked for:
 *
 *   sk-man-reasons LOCALEDIR LANGUAGE
 *
 * LANGUAGE is "en" (the untranslated text) or a catalogue under LOCALEDIR
 * (LOCALEDIR/LANGUAGE/LC_MESSAGES/sekisho.mo, the build tree's po/).  The
 * table is read at build time so that the manual never lists a code the
 * program does not have, nor misses one it has.  A description the
 * catalogue lacks comes out in English; build-man compares
 * the two languages' output and fails the build on such a line.
 */
#define G_LOG_DOMAIN "sekisho-man"

#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <glib/gi18n-lib.h>

#include "sk-error.h"

/* Text in man(7) markup: a backslash is written \e, and a line that would
 * start with a control character gets a zero-width escape first. */
static char *
roff_escape (const char *text)
{
  GString *out = g_string_new (NULL);

  if (text[0] == '.' || text[0] == '\'')
    g_string_append (out, "\\&");
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '\\')
        g_string_append (out, "\\e");
      else if (*p == '-')
        g_string_append (out, "\\-");
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

static const char *
exit_label (SkExitClass exit_class)
{
  switch (exit_class)
    {
    case SK_EXIT_OK:
      return "0";
    case SK_EXIT_REFUSED:
      return "1";
    case SK_EXIT_USAGE:
      return "2";
    case SK_EXIT_ENVIRONMENT:
      return "3";
    default:
      return "?";
    }
}

int
main (int argc, char **argv)
{
  if (argc != 3)
    {
      fprintf (stderr, "usage: %s LOCALEDIR LANGUAGE\n", argv[0]);
      return 2;
    }
  const char *localedir = argv[1];
  const char *language = argv[2];

  /* C.UTF-8 is built into glibc, so no generated locale is needed; gettext
   * then follows LANGUAGE alone. */
  g_setenv ("LANGUAGE", language, TRUE);
  g_unsetenv ("LC_ALL");
  g_unsetenv ("LC_MESSAGES");
  if (setlocale (LC_ALL, "C.UTF-8") == NULL)
    {
      fprintf (stderr, "%s: the C.UTF-8 locale is missing\n", argv[0]);
      return 1;
    }
  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");

  for (guint i = 0; i < SK_ERROR_N_CODES; i++)
    {
      const char *reason = sk_error_code_to_reason ((SkErrorCode)i);
      const char *describe = sk_error_code_describe ((SkErrorCode)i);
      g_autofree char *text = roff_escape (describe);
      g_autofree char *name = roff_escape (reason);
      printf (".TP\n.B %s\n%s\n(%s)\n", name, text,
              exit_label (sk_error_code_exit_class ((SkErrorCode)i)));
    }
  return 0;
}
