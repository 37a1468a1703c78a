/* sk-test-util.c — small helpers shared by the tests */
#include "config.h"

#include <string.h>

#include "sk-fault.h"
#include "sk-policy-private.h"
#include "sk-test-util.h"

char *
sk_test_default_policy_text (void)
{
  g_autofree char *path = g_build_filename (SK_SOURCE_POLICY_DIR, "default.json", NULL);
  g_autoptr (GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  return text;
}

SkPolicy *
sk_test_policy_with (const char *first_old, ...)
{
  g_autofree char *text = sk_test_default_policy_text ();
  va_list args;

  va_start (args, first_old);
  for (const char *old = first_old; old != NULL; old = va_arg (args, const char *))
    {
      const char *new_text = va_arg (args, const char *);
      g_assert_nonnull (strstr (text, old));
      g_autoptr (GString) s = g_string_new (text);
      g_string_replace (s, old, new_text, 1);
      g_free (text);
      text = g_string_free (g_steal_pointer (&s), FALSE);
    }
  va_end (args);

  gsize len = strlen (text);
  g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&text), len);
  g_autoptr (GError) error = NULL;
  SkPolicy *policy = _sk_policy_new_from_bytes_full (bytes, TRUE, &error);
  g_assert_no_error (error);
  return policy;
}

SkPolicy *
sk_test_default_policy (void)
{
  return sk_test_policy_with (NULL, NULL);
}

gboolean
sk_test_report_has (const SkFileReport *report,
                    SkErrorCode code,
                    guint64 record,
                    const char *field_name)
{
  for (guint i = 0; i < report->findings->len; i++)
    {
      const SkFinding *f = &g_array_index (report->findings, SkFinding, i);
      if (f->code != code)
        continue;
      if (record != 0 && f->record != record)
        continue;
      if (field_name != NULL && g_strcmp0 (f->field_name, field_name) != 0)
        continue;
      return TRUE;
    }
  return FALSE;
}

char *
sk_test_report_describe (const SkFileReport *report)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < report->findings->len && i < 20; i++)
    {
      const SkFinding *f = &g_array_index (report->findings, SkFinding, i);
      g_string_append_printf (s, "%s%s@%" G_GUINT64_FORMAT ":%u(%s)", i ? " " : "",
                              sk_error_code_to_reason (f->code), f->record, f->field,
                              f->field_name ? f->field_name : "");
    }
  if (report->findings->len == 0)
    g_string_append (s, "(no findings)");
  return g_string_free (s, FALSE);
}

gboolean
sk_test_skip_without_fault_points (void)
{
  if (sk_fault_compiled_in ())
    return FALSE;
  g_test_skip ("this build has no fault points (a production build): "
               "the crash tests need -Dfault_points=enabled");
  return TRUE;
}
