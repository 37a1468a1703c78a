/* bench-media.c — import from a medium against cp + sync of the same bytes
 *
 *   bench-media [RECORDS]   (default 100000: a KNY01 of about 50 MB;
 *                            1000000 is the 500 MB of DESIGN.md §10)
 *
 * Needs root and loop devices.  Two real stations (tests/sk-test-stations),
 * a KNY01 request packed on the standard side, written into an ext4 image
 * on a loop device.  Then, each after dropping the page cache:
 *
 *   import   mount read-only (nosuid,nodev,noexec,noatime), read the
 *            package once into the store and check it there (signature,
 *            decryption, tar, manifest, validation), unmount — what
 *            sk_media_import does without udev;
 *   cp+sync  mount read-only, `cp` the .tar.gpg and .sig into a folder of
 *            the same file system as the store, `sync`, unmount.
 *
 *   copy-in  mount read-only, read the package once into a sealed staged
 *            copy in the store with its signature checked on the way (what
 *            import does before the check), unmount — the medium's and the
 *            store's part alone, the one cp + sync is a yardstick for;
 *
 * and `check` of the copied package alone (no medium), and prints the wall
 * times, import / (cp + sync), (import − check) / (cp + sync) and
 * copy-in / (cp + sync) (DESIGN.md §10: import from a medium at most 1.2×
 * cp + sync), the time of a mount and unmount alone and with the
 * register's token check (the medium's own part), and the CPU seconds (this process and its
 * children: gpg, cp) of each phase, which a busy machine disturbs less than wall times.
 *
 * Import and cp + sync are taken SEKISHO_BENCH_ROUNDS times (default 3),
 * alternating, each import into a station of its own (a package is
 * received once); the row gives their medians.  The loop medium reads as
 * fast as this machine's disk, far faster than a USB stick; where the
 * kernel has the cgroup v1 blkio throttle, the same pair is then taken
 * again with the medium's reads held to SEKISHO_BENCH_MEDIUM_MBS MB/s
 * (default 150, a USB 3 stick's), the medium a terminal actually reads.
 * A benchmark, not a test.
 */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/sysmacros.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sk-media-register.h"
#include "sk-mount.h"
#include "sk-package.h"
#include "sk-pipeline.h"
#include "sk-store.h"
#include "sk-synth.h"
#include "sk-test-gpg.h"
#include "sk-test-stations.h"
#include "sk-test-util.h"

static char *
run (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  char *out = NULL;
  int status = 0;
  if (!g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, &out, NULL, &status, &error) ||
      !g_spawn_check_wait_status (status, &error))
    {
      g_printerr ("%s: %s\n", argv[0], error->message);
      exit (1);
    }
  return g_strstrip (out);
}

static void
drop_caches (void)
{
  sync ();
  g_file_set_contents ("/proc/sys/vm/drop_caches", "3\n", -1, NULL);
}

/* CPU seconds so far: this process and the children it waited for. */
static double
cpu_now (void)
{
  struct rusage self, kids;
  getrusage (RUSAGE_SELF, &self);
  getrusage (RUSAGE_CHILDREN, &kids);
  double s = 0;
  const struct rusage *both[] = { &self, &kids };
  for (guint i = 0; i < 2; i++)
    s += both[i]->ru_utime.tv_sec + both[i]->ru_stime.tv_sec +
         (both[i]->ru_utime.tv_usec + both[i]->ru_stime.tv_usec) / 1e6;
  return s;
}

static void
die (GError *error)
{
  g_printerr ("bench-media: %s\n", error->message);
  exit (1);
}

#define BLKIO "/sys/fs/cgroup/blkio"

/* TEXT written into the control file PATH as it is (cgroupfs takes no
 * temporary-and-rename). */
static gboolean
write_control (const char *path, const char *text)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return FALSE;
  gboolean ok = write (fd, text, strlen (text)) == (ssize_t)strlen (text);
  return close (fd) == 0 && ok;
}

/* This process (and the children it starts) moved into a blkio cgroup of
 * its own in which reads of DEV go at most MBS MB/s; its folder, or NULL
 * where the kernel has no cgroup v1 blkio throttle. */
static char *
throttle_reads (dev_t dev, guint mbs)
{
  if (!g_file_test (BLKIO "/blkio.throttle.read_bps_device", G_FILE_TEST_EXISTS))
    return NULL;
  g_autofree char *dir = g_strdup_printf (BLKIO "/sekisho-bench-%d", (int)getpid ());
  g_autofree char *limit = g_strdup_printf ("%u:%u %" G_GUINT64_FORMAT "\n", major (dev),
                                            minor (dev), (guint64)mbs * 1000 * 1000);
  g_autofree char *me = g_strdup_printf ("%d\n", (int)getpid ());
  g_autofree char *bps = g_build_filename (dir, "blkio.throttle.read_bps_device", NULL);
  g_autofree char *procs = g_build_filename (dir, "cgroup.procs", NULL);
  if (g_mkdir (dir, 0755) != 0 || !write_control (bps, limit) || !write_control (procs, me))
    {
      g_rmdir (dir);
      return NULL;
    }
  return g_steal_pointer (&dir);
}

static void
unthrottle (char *dir)
{
  g_autofree char *me = g_strdup_printf ("%d\n", (int)getpid ());
  write_control (BLKIO "/cgroup.procs", me);
  g_rmdir (dir);
  g_free (dir);
}

static int
cmp_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double
median (GArray *v)
{
  g_array_sort (v, cmp_double);
  return g_array_index (v, double, v->len / 2);
}

/* What the medium is, for the measurements. */
typedef struct
{
  const char *dev;
  dev_t dev_num;
  const char *pkg_name;
  const char *copy_dir;
} Medium;

/* A measurement's start: wall and CPU clocks, read after the page cache
 * is dropped, so that every phase starts cold. */
typedef struct
{
  gint64 t0;
  double c0;
} Clock;

static Clock
clock_start_cold (void)
{
  drop_caches ();
  return (Clock){ g_get_monotonic_time (), cpu_now () };
}

/* Wall seconds since START; its CPU seconds in *CPU. */
static double
clock_stop (Clock start, double *cpu)
{
  double s = (g_get_monotonic_time () - start.t0) / 1e6;
  *cpu = cpu_now () - start.c0;
  return s;
}

/* The medium mounted read-only, as import mounts it. */
static SkMount *
mount_ro (const Medium *m)
{
  g_autoptr (GError) error = NULL;
  SkMount *ro = sk_mount_new (m->dev, m->dev_num, "ext4", SK_MOUNT_READ_ONLY, &error);
  if (ro == NULL)
    die (g_steal_pointer (&error));
  return ro;
}

/* cp + sync of the package and its signature off the medium, cold; its
 * wall seconds, and its CPU seconds in *CPU. */
static double
time_cp_sync (const Medium *m, double *cpu)
{
  g_autoptr (GError) error = NULL;
  Clock start = clock_start_cold ();
  g_autoptr (SkMount) ro = mount_ro (m);
  /* cp reaches the detached mount through this process's descriptor. */
  g_autofree char *root =
      g_strdup_printf ("/proc/%d/fd/%d", (int)getpid (), sk_mount_get_dirfd (ro));
  g_autofree char *src = g_build_filename (root, m->pkg_name, NULL);
  g_autofree char *src_sig = g_strconcat (src, ".sig", NULL);
  const char *cp[] = { "cp", src, src_sig, m->copy_dir, NULL };
  g_free (run (cp));
  const char *sync_argv[] = { "sync", NULL };
  g_free (run (sync_argv));
  if (!sk_mount_unmount (ro, &error))
    die (g_steal_pointer (&error));
  double s = clock_stop (start, cpu);
  g_autofree char *copy = g_build_filename (m->copy_dir, m->pkg_name, NULL);
  g_autofree char *copy_sig = g_strconcat (copy, ".sig", NULL);
  g_unlink (copy);
  g_unlink (copy_sig);
  return s;
}

/* Import off the medium into DIR, a copy of the terminal station TERM as
 * it was before any import (a package is received once), cold; wall and
 * CPU seconds as above.  The copy is warmed first as a terminal in
 * service is (its gpg-agent started, its key cache made: keyed to the
 * keyring files' inodes, a copy starts cold) by a check of PKG. */
static double
time_import (const Medium *m,
             SkStation *term,
             SkPolicy *policy,
             const char *pkg,
             const char *dir,
             const char *run_dir,
             double *cpu)
{
  g_autoptr (GError) error = NULL;
  const char *cp[] = { "cp", "-a", sk_station_get_dir (term), dir, NULL };
  g_free (run (cp));
  g_autoptr (SkStation) station = sk_station_open (dir, &error);
  g_autoptr (SkPipeline) pipe =
      station != NULL ? sk_pipeline_new (station, policy, run_dir, &error) : NULL;
  g_autoptr (SkPackageResult) warm =
      pipe != NULL ? sk_package_check (station, policy, pkg, NULL, NULL, NULL, NULL, &error) : NULL;
  if (warm == NULL)
    die (g_steal_pointer (&error));
  Clock start = clock_start_cold ();
  g_autoptr (SkMount) ro = mount_ro (m);
  g_autoptr (SkCase) c =
      sk_pipeline_import_at (pipe, &(SkActor){ 0, "bench", "operator" }, sk_mount_get_dirfd (ro),
                             m->pkg_name, NULL, NULL, &error);
  if (c == NULL || !sk_mount_unmount (ro, &error))
    die (g_steal_pointer (&error));
  double s = clock_stop (start, cpu);
  g_clear_pointer (&c, sk_case_free);
  g_clear_object (&pipe);
  g_clear_object (&station);
  g_autofree char *home = g_build_filename (dir, "gnupg", NULL);
  sk_test_gpg_remove_home (home);
  sk_test_remove_tree (dir);
  return s;
}

/* ROUNDS of cp + sync and import, alternating; their medians. */
static void
time_pairs (const Medium *m,
            SkStation *term,
            SkPolicy *policy,
            const char *pkg,
            const char *tmp,
            const char *tag,
            const char *run_dir,
            guint rounds,
            double *cp_s,
            double *cp_cpu,
            double *import_s,
            double *import_cpu)
{
  g_autoptr (GArray) cp = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) cpc = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) imp = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) impc = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint r = 0; r < rounds; r++)
    {
      double c = 0, s = time_cp_sync (m, &c);
      g_array_append_val (cp, s);
      g_array_append_val (cpc, c);
      g_autofree char *dir = g_strdup_printf ("%s/%s-%u", tmp, tag, r);
      s = time_import (m, term, policy, pkg, dir, run_dir, &c);
      g_array_append_val (imp, s);
      g_array_append_val (impc, c);
    }
  *cp_s = median (cp);
  *cp_cpu = median (cpc);
  *import_s = median (imp);
  *import_cpu = median (impc);
}

int
main (int argc, char **argv)
{
  guint64 records = argc > 1 ? g_ascii_strtoull (argv[1], NULL, 10) : 100000;
  g_autoptr (GError) error = NULL;

  if (getuid () != 0)
    {
      g_printerr ("bench-media needs root (mount, loop devices)\n");
      return 2;
    }
  const char *base = g_getenv ("SEKISHO_BENCH_DIR") ? g_getenv ("SEKISHO_BENCH_DIR") : "/var/tmp";
  g_autofree char *tmp = g_build_filename (base, "sekisho-bench-media-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp_full (tmp, 0700));
  g_autofree char *run_dir = g_build_filename (tmp, "run", NULL);
  g_mkdir (run_dir, 0755);
  if (mount ("tmpfs", run_dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64m,mode=0755") !=
      0)
    {
      g_printerr ("cannot mount a tmpfs for the hand-off root\n");
      return 1;
    }

  SkTestStations st;
  sk_test_stations_make (tmp, &st);
  g_autoptr (SkPolicy) layouts = sk_test_default_policy ();
  /* The request, packed into the folder the image is made from. */
  g_autofree char *files = g_build_filename (tmp, "files", NULL);
  g_autofree char *medium = g_build_filename (tmp, "medium", NULL);
  g_mkdir (files, 0700);
  g_mkdir (medium, 0700);
  SkSynthOptions opts;
  sk_synth_options_init (&opts);
  opts.seed = 3;
  opts.records = records;
  g_autofree char *req =
      sk_synth_write_file (layouts, sk_policy_lookup_kind (layouts, "KNY01"), &opts, files, &error);
  if (req == NULL)
    die (error);
  const char *paths[] = { req, NULL };
  g_autofree char *case_id = g_strdup_printf ("C%019d", 3);
  g_autofree char *pkg =
      sk_package_pack (st.std, st.std_policy, sk_actor_for_process (SK_ROLE_OPERATOR), "subscriber",
                       case_id, paths, medium, NULL, NULL, &error);
  if (pkg == NULL)
    die (error);
  GStatBuf sb;
  g_stat (pkg, &sb);
  guint64 bytes = (guint64)sb.st_size;
  g_autofree char *pkg_name = g_path_get_basename (pkg);
  g_unlink (req);

  g_autofree char *img = g_build_filename (tmp, "medium.img", NULL);
  int fd = open (img, O_CREAT | O_WRONLY | O_EXCL, 0600);
  g_assert_cmpint (ftruncate (fd, (off_t)(bytes + bytes / 8 + 32 * 1024 * 1024)), ==, 0);
  close (fd);
  const char *mkfs[] = { "mkfs.ext4", "-q", "-F", "-d", medium, img, NULL };
  g_free (run (mkfs));
  const char *losetup[] = { "losetup", "-f", "--show", img, NULL };
  g_autofree char *dev = run (losetup);
  struct stat dev_st;
  if (stat (dev, &dev_st) != 0 || !S_ISBLK (dev_st.st_mode))
    g_error ("%s is not a block device", dev);
  dev_t dev_num = dev_st.st_rdev;

  /* cp + sync of the same bytes go into the store's file system */
  g_autofree char *copy_dir = g_build_filename (tmp, "copy", NULL);
  g_mkdir (copy_dir, 0700);
  Medium medium_at = { dev, dev_num, pkg_name, copy_dir };
  const char *rounds_text = g_getenv ("SEKISHO_BENCH_ROUNDS");
  guint rounds = rounds_text != NULL ? (guint)g_ascii_strtoull (rounds_text, NULL, 10) : 3;
  rounds = CLAMP (rounds, 1, 9);

  /* copy-in alone: medium → sealed staged copy, signature checked on the way */
  g_autoptr (SkStore) store = sk_station_open_store (st.term, NULL, NULL, &error);
  if (store == NULL)
    die (error);
  double copy_cpu = 0;
  Clock start = clock_start_cold ();
  {
    g_autoptr (SkMount) ro3 = mount_ro (&medium_at);
    g_autoptr (GBytes) sig = NULL;
    g_autoptr (SkSignature) verified = NULL;
    g_autoptr (SkStaged) staged =
        sk_package_copy_in_at (st.term, store, st.term_policy, sk_mount_get_dirfd (ro3), pkg_name,
                               G_MAXINT64, &sig, &verified, NULL, NULL, &error);
    if (staged == NULL || !sk_mount_unmount (ro3, &error))
      die (error);
  }
  double copy_s = clock_stop (start, &copy_cpu);
  g_clear_object (&store);

  /* The check alone, on the package the image was made from, with nothing
   * of a medium in it: what import spends beyond it is the medium's and
   * the store's part. */
  double check_cpu = 0;
  start = clock_start_cold ();
  g_autoptr (SkPackageResult) checked =
      sk_package_check (st.term, st.term_policy, pkg, NULL, NULL, NULL, NULL, &error);
  if (checked == NULL)
    die (error);
  double check_s = clock_stop (start, &check_cpu);

  /* import against cp + sync, alternating, on the medium as fast as the
   * disk; then on a medium held to a USB stick's speed */
  double cp_s, cp_cpu, import_s, import_cpu;
  time_pairs (&medium_at, st.term, st.term_policy, pkg, tmp, "fast", run_dir, rounds, &cp_s,
              &cp_cpu, &import_s, &import_cpu);
  const char *mbs_text = g_getenv ("SEKISHO_BENCH_MEDIUM_MBS");
  guint mbs = mbs_text != NULL ? (guint)g_ascii_strtoull (mbs_text, NULL, 10) : 150;
  double slow_cp_s = 0, slow_cp_cpu = 0, slow_import_s = 0, slow_import_cpu = 0;
  char *throttled = mbs > 0 ? throttle_reads (dev_num, mbs) : NULL;
  if (throttled != NULL)
    {
      time_pairs (&medium_at, st.term, st.term_policy, pkg, tmp, "slow", run_dir, rounds,
                  &slow_cp_s, &slow_cp_cpu, &slow_import_s, &slow_import_cpu);
      unthrottle (throttled);
    }

  /* The medium's own part of an import: a detached read-only mount of
   * the checked device and its unmount (device free again), cold. */
  const guint cycles = 5;
  double unused_cpu = 0;
  start = clock_start_cold ();
  for (guint i = 0; i < cycles; i++)
    {
      g_autoptr (SkMount) m = mount_ro (&medium_at);
      if (!sk_mount_unmount (m, &error))
        die (error);
    }
  double mount_ms = clock_stop (start, &unused_cpu) * 1e3 / cycles;

  /* The register's part: the medium registered (its token written and
   * read back), then judged as an import judges it — its token read off
   * the read-only mount and its signature verified. */
  g_autoptr (SkJournal) journal = sk_station_open_journal (st.term, FALSE, &error);
  if (journal == NULL)
    die (error);
  g_autoptr (SkMediaRegister) reg = sk_media_register_new (st.term, journal);
  SkBlockDevice stick = {
    .devnode = dev,
    .devnum = dev_num,
    .bus = (char *)"usb",
    .vendor = (char *)"Bench",
    .model = (char *)"Stick",
    .serial = (char *)"BENCH-1",
    .vendor_id = (char *)"0781",
    .product_id = (char *)"5567",
    .fs_type = (char *)"ext4",
  };
  stick.interfaces = g_array_new (FALSE, TRUE, sizeof (SkUsbInterface));
  SkActor admin = { 0, "bench", "admin" };
  g_autoptr (SkMediumRecord) rec =
      sk_media_register_add (reg, &admin, &stick, "usb-storage", "BENCH-0001", NULL, &error);
  if (rec == NULL)
    die (error);
  start = clock_start_cold ();
  for (guint i = 0; i < cycles; i++)
    {
      g_autoptr (SkMount) m = mount_ro (&medium_at);
      g_autoptr (SkMediumRecord) ok =
          sk_media_register_check (reg, &stick, "usb-storage", m, &error);
      if (ok == NULL || !sk_mount_unmount (m, &error))
        die (error);
    }
  double token_ms = clock_stop (start, &unused_cpu) * 1e3 / cycles;
  g_array_unref (stick.interfaces);

  g_print ("%-8s %8s %8s %8s %8s %8s %9s %13s %9s  %s\n", "records", "pkg_MB", "import_s",
           "check_s", "copyin_s", "cp_sync_s", "import/cp", "(imp-check)/cp", "copyin/cp",
           "cpu_s import/check/copyin/cp");
  g_print ("%-8" G_GUINT64_FORMAT " %8.1f %8.2f %8.2f %8.2f %8.2f %9.2f %13.2f %9.2f  "
           "%.2f/%.2f/%.2f/%.2f\n",
           records, bytes / 1e6, import_s, check_s, copy_s, cp_s, import_s / cp_s,
           (import_s - check_s) / cp_s, copy_s / cp_s, import_cpu, check_cpu, copy_cpu, cp_cpu);
  if (slow_cp_s > 0)
    g_print ("the medium read at %u MB/s (a USB stick's speed; cgroup blkio throttle):\n"
             "%-8" G_GUINT64_FORMAT " %8.1f %8.2f %8s %8s %8.2f %9.2f %13.2f %9s  %.2f/-/-/%.2f\n",
             mbs, records, bytes / 1e6, slow_import_s, "-", "-", slow_cp_s,
             slow_import_s / slow_cp_s, (slow_import_s - check_s) / slow_cp_s, "-", slow_import_cpu,
             slow_cp_cpu);
  else
    g_print ("the medium at a USB stick's speed: not measured (no cgroup v1 blkio throttle "
             "here, or SEKISHO_BENCH_MEDIUM_MBS=0)\n");
  g_print ("import and cp+sync: medians of %u alternating runs each\n", rounds);
  g_print ("mount+unmount (read-only, detached, device checked and freed): %.2f ms\n", mount_ms);
  g_print ("the same with the token read and its signature verified: %.2f ms\n", token_ms);

  const char *detach[] = { "losetup", "-d", dev, NULL };
  g_free (run (detach));
  sk_test_stations_clear (&st);
  umount2 (run_dir, MNT_DETACH);
  sk_test_remove_tree (tmp);
  sk_test_keys_free ();
  return 0;
}
