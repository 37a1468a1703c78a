/* test-error.c — the reason-code table is complete, stable and round-trips */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "sk-error.h"

/* The codes of DESIGN.md §8a, in its order: renaming one breaks this test. */
static const char *const design_codes[] = {
  "policy-unsigned",
  "policy-bad-signature",
  "policy-untrusted-signer",
  "policy-invalid",
  "sig-missing",
  "sig-bad",
  "sig-multiple",
  "sig-armored",
  "sig-untrusted-key",
  "sig-weak-hash",
  "sig-weak-key",
  "sig-key-expired",
  "sig-key-revoked",
  "decrypt-failed",
  "decrypt-wrong-recipient",
  "decrypt-not-plain",
  "tar-malformed",
  "tar-entry-type",
  "tar-path",
  "tar-duplicate",
  "tar-order",
  "tar-too-large",
  "tar-too-many",
  "manifest-invalid",
  "manifest-mismatch",
  "manifest-wrong-station",
  "package-replayed",
  "file-kind-unknown",
  "file-name",
  "encoding",
  "line-ending",
  "record-length",
  "record-order",
  "field-type",
  "check-digit",
  "date-invalid",
  "era-mismatch",
  "age",
  "code-value",
  "duplicate-key",
  "trailer-count",
  "trailer-sum",
  "inquiry-not-allowed",
  "pairing",
  "media-class",
  "media-unregistered",
  "media-removed",
  "media-readback-mismatch",
  "role-denied",
  "dual-control",
  "clock-anomaly",
  "deadline-passed",
  "disk-full",
  "io-error",
  "service-unreachable",
};

static char *
camel (const char *kebab)
{
  GString *s = g_string_new ("jp.sekisho.Error.");
  gboolean up = TRUE;
  for (const char *p = kebab; *p; p++)
    {
      if (*p == '-')
        {
          up = TRUE;
          continue;
        }
      g_string_append_c (s, up ? g_ascii_toupper (*p) : *p);
      up = FALSE;
    }
  return g_string_free (s, FALSE);
}

static void
test_design_codes (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (design_codes); i++)
    {
      SkErrorCode code;
      g_assert_true (sk_error_code_from_reason (design_codes[i], &code));
      g_assert_cmpint (code, ==, (SkErrorCode)i);
      g_autofree char *dbus = camel (design_codes[i]);
      g_assert_cmpstr (sk_error_code_to_dbus_name (code), ==, dbus);
    }
}

static void
test_table_complete (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < SK_ERROR_N_CODES; i++)
    {
      const char *reason = sk_error_code_to_reason (i);
      g_assert_nonnull (reason);
      g_assert_false (g_hash_table_contains (seen, reason));
      g_hash_table_add (seen, (gpointer)reason);
      for (const char *p = reason; *p; p++)
        g_assert_true (g_ascii_islower (*p) || *p == '-');
      g_autofree char *dbus = camel (reason);
      g_assert_cmpstr (sk_error_code_to_dbus_name (i), ==, dbus);
      g_assert_nonnull (sk_error_code_describe (i));
      g_assert_cmpuint (strlen (sk_error_code_describe (i)), >, 0);
    }
  g_assert_false (sk_error_code_from_reason ("no-such-code", NULL));
}

/* An SK_ERROR crosses D-Bus with its name and comes back as itself. */
static void
test_dbus_round_trip (void)
{
  g_autoptr (GError) error = g_error_new (SK_ERROR, SK_ERROR_CHECK_DIGIT, "x");
  g_autofree char *name = g_dbus_error_encode_gerror (error);
  g_assert_cmpstr (name, ==, "jp.sekisho.Error.CheckDigit");

  g_autoptr (GError) back = g_dbus_error_new_for_dbus_error (name, "x");
  g_assert_error (back, SK_ERROR, SK_ERROR_CHECK_DIGIT);
}

static void
test_exit_classes (void)
{
  g_autoptr (GError) full = NULL;
  g_autoptr (GError) io = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "x");

  sk_error_set_from_errno (&full, ENOSPC, "writing");
  g_assert_error (full, SK_ERROR, SK_ERROR_DISK_FULL);
  g_assert_cmpint (sk_error_get_exit_class (full), ==, SK_EXIT_ENVIRONMENT);
  g_assert_cmpstr (sk_error_get_reason (io), ==, "io-error");
  g_assert_cmpint (sk_error_code_exit_class (SK_ERROR_CHECK_DIGIT), ==, SK_EXIT_REFUSED);
  g_assert_cmpint (sk_error_code_exit_class (SK_ERROR_USAGE), ==, SK_EXIT_USAGE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/error/design-codes", test_design_codes);
  g_test_add_func ("/error/table-complete", test_table_complete);
  g_test_add_func ("/error/dbus-round-trip", test_dbus_round_trip);
  g_test_add_func ("/error/exit-classes", test_exit_classes);
  return g_test_run ();
}
