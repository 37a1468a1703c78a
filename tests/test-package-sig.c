/* test-package-sig.c — the package's detached signature */
#include "config.h"

#include "sk-test-package.h"

/* ---- 2. signature ------------------------------------------------------- */

/* A good package, packed on the standard station. */
static char *
good_package (Fixture *fx)
{
  g_autofree char *file = small_kny01 (fx, 1);
  const char *files[] = { file, NULL };
  return pack (fx, "subscriber", files);
}

/* Replaces PKG.sig by `gpg ARGS --detach-sign` over DATA (PKG's bytes when
 * NULL). */
static void
resign (const char *pkg, GBytes *data, const char *const *args)
{
  g_autoptr (GBytes) bytes = data != NULL ? g_bytes_ref (data) : read_bytes (pkg);
  g_autoptr (GBytes) sig = sk_test_gpg_sign (sk_test_keys.gpg, bytes, args);
  g_autofree char *sig_path = g_strconcat (pkg, ".sig", NULL);
  write_bytes (sig_path, sig);
}

void
test_sig_missing (Fixture *fx, gconstpointer data)
{
  g_autofree char *pkg = good_package (fx);
  g_autofree char *sig = g_strconcat (pkg, ".sig", NULL);

  g_assert_cmpint (g_unlink (sig), ==, 0);
  assert_refused (fx, NULL, pkg, SK_ERROR_SIG_MISSING);

  /* An empty signature file is no signature either. */
  g_assert_true (g_file_set_contents (sig, "", 0, NULL));
  assert_refused (fx, NULL, pkg, SK_ERROR_SIG_MISSING);
}

void
test_sig_other_bytes (Fixture *fx, gconstpointer data)
{
  g_autofree char *pkg = good_package (fx);
  g_autoptr (GBytes) other = g_bytes_new_static ("other bytes", 11);
  const char *args[] = { "-u", sk_test_keys.standard, NULL };

  resign (pkg, other, args);
  assert_refused (fx, NULL, pkg, SK_ERROR_SIG_BAD);
}

void
test_sig_flipped (Fixture *fx, gconstpointer data)
{
  g_autofree char *pkg = good_package (fx);
  g_autoptr (GBytes) bytes = read_bytes (pkg);
  gsize len;
  guint8 *copy = bytes_dup (bytes, &len);

  copy[len / 2] ^= 0x01;
  g_autoptr (GBytes) flipped = g_bytes_new_take (copy, len);
  write_bytes (pkg, flipped);
  assert_refused (fx, NULL, pkg, SK_ERROR_SIG_BAD);
}

void
test_sig_multiple (Fixture *fx, gconstpointer data)
{
  g_autofree char *pkg = good_package (fx);
  const char *args[] = { "-u", sk_test_keys.standard, "-u", sk_test_keys.mallory, NULL };

  sk_test_import (fx->term, sk_test_keys.terminal, (GBytes *[]){ sk_test_keys.mallory_pub, NULL });
  resign (pkg, NULL, args);
  assert_refused (fx, NULL, pkg, SK_ERROR_SIG_MULTIPLE);
}

void
test_sig_armored (Fixture *fx, gconstpointer data)
{
  g_autofree char *pkg = good_package (fx);
  const char *args[] = { "-u", sk_test_keys.standard, "--armor", NULL };

  resign (pkg, NULL, args);
  assert_refused (fx, NULL, pkg, SK_ERROR_SIG_ARMORED);
}

/* Mallory's key is in the terminal's keyring; the policy does not list it. */
void
test_sig_untrusted (Fixture *fx, gconstpointer data)
{
  g_autofree char *pkg = good_package (fx);
  const char *args[] = { "-u", sk_test_keys.mallory, NULL };

  sk_test_import (fx->term, sk_test_keys.terminal, (GBytes *[]){ sk_test_keys.mallory_pub, NULL });
  resign (pkg, NULL, args);
  assert_refused (fx, NULL, pkg, SK_ERROR_SIG_UNTRUSTED_KEY);

  /* Nor does it list the terminal's own key for this direction. */
  const char *own[] = { "-u", sk_test_keys.terminal, NULL };
  resign (pkg, NULL, own);
  assert_refused (fx, NULL, pkg, SK_ERROR_SIG_UNTRUSTED_KEY);
}

/* gpg makes an Ed25519 signature over SHA-1 when told to. */
void
test_sig_weak_hash (Fixture *fx, gconstpointer data)
{
  g_autofree char *pkg = good_package (fx);
  const char *args[] = { "-u", sk_test_keys.standard, "--digest-algo", "SHA1", NULL };

  resign (pkg, NULL, args);
  assert_refused (fx, NULL, pkg, SK_ERROR_SIG_WEAK_HASH);
}

/* RSA 2048, listed as a signer by a second policy: still too weak. */
void
test_sig_weak_key (Fixture *fx, gconstpointer data)
{
  g_autofree char *pkg = good_package (fx);
  const char *args[] = { "-u", sk_test_keys.weak, NULL };

  sk_test_import (fx->term, sk_test_keys.terminal, (GBytes *[]){ sk_test_keys.weak_pub, NULL });
  g_autoptr (SkPolicy) policy = install_other_policy (fx, sk_test_keys.weak, NULL, FALSE);
  resign (pkg, NULL, args);
  assert_refused (fx, policy, pkg, SK_ERROR_SIG_WEAK_KEY);
}
