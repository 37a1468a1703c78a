/* test-media-next-step.c — every media reason code has a next step of its
 * own in the app (app/sk-app-refusal.c), in Japanese
 *
 * The codes are found by their reason ("media-…"), so a media code added
 * later without a next step fails here rather than showing the operator
 * the catch-all "tell the administrator what you were doing".  It runs in
 * Japanese with the build's catalogue (SEKISHO_LOCALEDIR), as the app does,
 * and checks each text is translated.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "sk-app-refusal.h"
#include "sk-error.h"

/* Whether TEXT holds a character of a Japanese script. */
static gboolean
has_japanese (const char *text)
{
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      GUnicodeScript s = g_unichar_get_script (g_utf8_get_char (p));
      if (s == G_UNICODE_SCRIPT_HIRAGANA || s == G_UNICODE_SCRIPT_KATAKANA ||
          s == G_UNICODE_SCRIPT_HAN)
        return TRUE;
    }
  return FALSE;
}

static void
test_every_media_code (void)
{
  const char *fallback = sk_app_refusal_next_step (SK_ERROR_USAGE);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  guint media = 0;

  for (guint i = 0; i < SK_ERROR_N_CODES; i++)
    {
      const char *reason = sk_error_code_to_reason ((SkErrorCode)i);
      if (reason == NULL || !g_str_has_prefix (reason, "media-"))
        continue;
      media++;
      const char *next = sk_app_refusal_next_step ((SkErrorCode)i);
      g_test_message ("%s: %s", reason, next);
      g_assert_nonnull (next);
      /* A text of its own, not the catch-all of unknown codes. */
      g_assert_cmpstr (next, !=, fallback);
      g_assert_true (has_japanese (next));
      g_hash_table_add (seen, (gpointer)next);
    }
  /* The four of DESIGN.md §8a and those added since (issue 12, item 9). */
  g_assert_cmpuint (media, >=, 15);
  /* Each state told apart (issue 12, item 9): the codes the operator meets
   * on a medium each have their own words. */
  const SkErrorCode apart[] = {
    SK_ERROR_MEDIA_NONE,         SK_ERROR_MEDIA_SEVERAL,
    SK_ERROR_MEDIA_UNREGISTERED, SK_ERROR_MEDIA_NOT_STORAGE,
    SK_ERROR_MEDIA_PARTITIONS,   SK_ERROR_MEDIA_FULL,
    SK_ERROR_MEDIA_NOT_WRITTEN,  SK_ERROR_MEDIA_READBACK_MISMATCH,
    SK_ERROR_MEDIA_READ_ONLY,    SK_ERROR_MEDIA_FILESYSTEM,
    SK_ERROR_MEDIA_CLASS,        SK_ERROR_MEDIA_REMOVED,
  };
  g_autoptr (GHashTable) distinct = g_hash_table_new (g_str_hash, g_str_equal);
  for (gsize i = 0; i < G_N_ELEMENTS (apart); i++)
    g_hash_table_add (distinct, (gpointer)sk_app_refusal_next_step (apart[i]));
  g_assert_cmpuint (g_hash_table_size (distinct), ==, G_N_ELEMENTS (apart));
}

int
main (int argc, char **argv)
{
  const char *localedir = g_getenv ("SEKISHO_LOCALEDIR");

  g_setenv ("LANGUAGE", "ja", TRUE);
  if (setlocale (LC_ALL, "ja_JP.UTF-8") == NULL || localedir == NULL)
    {
      g_printerr ("test-media-next-step needs the ja_JP.UTF-8 locale and SEKISHO_LOCALEDIR\n");
      return 1;
    }
  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/media/next-step/every-code", test_every_media_code);
  return g_test_run ();
}
