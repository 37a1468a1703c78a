/* test-media.c — media through libudev, the media register, import and export
 * (DESIGN.md §7, §9; issue 12)
 *
 * Devices are umockdev testbeds (this test runs under umockdev-wrapper): a
 * USB device with its interfaces and a block disk whose DEVNAME is a real
 * loop device over an ext4 image this test makes, so mounting, reading,
 * writing and reading back are real.  Those tests need root and loop
 * devices and skip with a reason without them; classification and the CSV
 * run everywhere.  Stations, keys and packages are real (sk-test-stations.h).
 */
#include "config.h"

#include "sk-test-media.h"

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "C.UTF-8");
  g_test_init (&argc, &argv, NULL);
  sk_test_stations_set_serial (TRUE);

  g_test_add_func ("/media/classify", test_classify);
  g_test_add_func ("/media/csv-cells", test_csv_cells);
  g_test_add_func ("/media/mount-options", test_mount_options);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/media/register-csv", test_register_csv);
  ADD ("/media/registered-stick", test_registered_stick);
  ADD ("/media/composite", test_composite);
  ADD ("/media/optical", test_optical);
  ADD ("/media/states", test_states);
  ADD ("/media/tokens", test_tokens);
  ADD ("/media/planted", test_planted);
  ADD ("/media/readback-flip", test_readback_flip);
  ADD ("/media/full", test_full);
  ADD ("/media/pulled", test_pulled);
  ADD ("/media/cli", test_cli);
  ADD ("/media/eio-import", test_eio_import);
  ADD ("/media/eio-export", test_eio_export);
  ADD ("/media/policy-import-unregistered", test_policy_import_unregistered);
  ADD ("/media/read-only-untouched", test_read_only_untouched);
  ADD ("/media/filesystems", test_filesystems);
  ADD ("/media/write-protected", test_write_protected);
  ADD ("/media/disc", test_disc);
  ADD ("/media/disc-into", test_disc_into);
  ADD ("/media/swapped-node", test_swapped_node);
  ADD ("/media/look-only", test_look_only);
#undef ADD
  int ret = g_test_run ();
  sk_test_keys_free ();
  return ret;
}
