/* test-package.c — the package on the medium (DESIGN.md §4, reason codes §8a)
 *
 * Two stations made with the core API: the integration terminal and the
 * 標準システム side, with real keys made once per process by gpg, and the
 * default policy with its key section filled, signed by the admin and
 * installed on both.  Packages are packed on the standard side and checked
 * on the terminal.  Every hostile package is built here — the tar with
 * libarchive, encrypted and signed by the standard station's keyring or by
 * the stock gpg CLI — and must be refused with its exact reason code,
 * leaving nothing in the extract directory.
 */
#include "config.h"

#include "sk-test-package.h"

/* ---- main --------------------------------------------------------------- */

int
main (int argc, char **argv)
{
  /* As the CLI does; libarchive writes a non-ASCII name only under a UTF-8
   * locale (meson runs the tests under C.UTF-8). */
  setlocale (LC_ALL, "");
  if (!g_get_charset (NULL))
    setlocale (LC_CTYPE, "C.UTF-8");
  g_test_init (&argc, &argv, NULL);
  /* A refusal that does not happen fails its test, and the others still
   * run: each names its own bug. */
  g_test_set_nonfatal_assertions ();

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
#define ADD_DATA(path, data, fn)                                                                   \
  g_test_add (path, Fixture, data, fixture_setup, fn, fixture_teardown)
  ADD ("/package/pack/round-trip", test_round_trip);
  ADD ("/package/pack/two-files", test_two_files);
  ADD ("/package/pack/large", test_pack_large);
  ADD ("/package/pack/large-spoiled", test_pack_large_spoiled);
  ADD ("/package/pack/refuses-defect", test_pack_refuses_defect);
  ADD ("/package/pack/refuses-mixed-workflows", test_pack_refuses_mixed);
  ADD ("/package/pack/refuses-wrong-case", test_pack_refuses_wrong_case);

  ADD ("/package/sig/missing", test_sig_missing);
  ADD ("/package/sig/other-bytes", test_sig_other_bytes);
  ADD ("/package/sig/flipped", test_sig_flipped);
  ADD ("/package/sig/multiple", test_sig_multiple);
  ADD ("/package/sig/armored", test_sig_armored);
  ADD ("/package/sig/untrusted-key", test_sig_untrusted);
  ADD ("/package/sig/weak-hash", test_sig_weak_hash);
  ADD ("/package/sig/weak-key", test_sig_weak_key);

  ADD ("/package/decrypt/stock-plain", test_decrypt_stock_plain);
  ADD ("/package/decrypt/wrong-recipient", test_decrypt_wrong_recipient);
  ADD ("/package/decrypt/signed-inside", test_decrypt_signed_inside);
  ADD ("/package/decrypt/signed-inside-uncompressed", test_decrypt_signed_inside_plain);
  ADD ("/package/decrypt/compressed", test_decrypt_compressed);
  ADD ("/package/decrypt/compressed-padded", test_decrypt_compressed_padded);
  ADD ("/package/decrypt/random", test_decrypt_random);
  ADD ("/package/decrypt/truncated", test_decrypt_truncated);
  ADD ("/package/decrypt/integrity", test_decrypt_integrity);
  ADD ("/package/decrypt/inner", test_decrypt_inner);
  ADD ("/package/check/reads-once", test_check_reads_once);

  ADD_DATA ("/package/archive/entry-type", GINT_TO_POINTER (SK_ERROR_TAR_ENTRY_TYPE),
            test_archive_cases);
  ADD_DATA ("/package/archive/path", GINT_TO_POINTER (SK_ERROR_TAR_PATH), test_archive_cases);
  ADD ("/package/archive/duplicate", test_archive_duplicate);
  ADD ("/package/archive/order", test_archive_order);
  ADD ("/package/archive/too-many", test_archive_too_many);
  ADD ("/package/archive/malformed", test_archive_malformed);
  ADD ("/package/archive/too-large", test_archive_too_large);
  ADD ("/package/archive/too-large-total", test_archive_too_large_total);

  ADD ("/package/manifest/fields", test_manifest_cases);
  g_test_add_func ("/package/manifest/duplicate-member", test_manifest_duplicate_member);
  ADD ("/package/manifest/unlisted-member", test_manifest_unlisted);
  ADD ("/package/manifest/missing-file", test_manifest_missing_file);
  ADD ("/package/manifest/replay", test_manifest_replay);

  ADD ("/package/file/trailer-count", test_file_trailer_count);
#undef ADD
#undef ADD_DATA

  int ret = g_test_run ();
  sk_test_keys_free ();
  return ret;
}
