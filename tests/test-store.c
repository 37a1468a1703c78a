/* test-store.c — sealed items, deletion that leaves nothing, deadlines,
 * recovery, crashes at every boundary, a full disk, and no personal data
 *
 * Real SQLite files and real sealed files in temporary directories.  The
 * crash tests run tests/sk-crash-helper, which kills itself with SIGKILL at
 * each named crash point (core/sk-fault.h); the full-disk test mounts a small
 * tmpfs and is skipped, saying so, where mounting is not allowed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sk-db.h"
#include "sk-error.h"
#include "sk-journal.h"
#include "sk-policy-private.h"
#include "sk-schema.h"
#include "sk-snapshot.h"
#include "sk-store.h"
#include "sk-synth.h"
#include "sk-test-gpg.h"
#include "sk-test-util.h"

typedef struct
{
  char *dir;
  char *db_path;
  char *store_dir;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  fx->dir = g_dir_make_tmp ("sks-XXXXXX", &error);
  g_assert_no_error (error);
  fx->db_path = g_build_filename (fx->dir, "station.db", NULL);
  fx->store_dir = g_build_filename (fx->dir, "store", NULL);
  g_assert_cmpint (g_mkdir (fx->store_dir, 0700), ==, 0);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  sk_test_gpg_remove_home (fx->dir);
  g_free (fx->dir);
  g_free (fx->db_path);
  g_free (fx->store_dir);
}

typedef struct
{
  SkDb *db;
  SkJournal *journal;
  SkStore *store;
} Opened;

static void
opened_clear (Opened *o)
{
  g_clear_object (&o->store);
  g_clear_object (&o->journal);
  g_clear_object (&o->db);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Opened, opened_clear)

static void
open_all (Fixture *fx, Opened *o)
{
  g_autoptr (GError) error = NULL;
  o->db = sk_db_open (fx->db_path, SK_DB_READ_WRITE, &error);
  g_assert_no_error (error);
  o->journal = sk_journal_new (o->db, "test", &error);
  g_assert_no_error (error);
  o->store = sk_store_open (fx->store_dir, o->journal, NULL, NULL, &error);
  g_assert_no_error (error);
}

static GBytes *
pattern (gsize len, guint8 seed)
{
  guint8 *data = g_malloc (len + 1);
  for (gsize i = 0; i < len; i++)
    data[i] = (guint8)(i * 131 + seed);
  return g_bytes_new_take (data, len);
}

static SkItem *
put (SkStore *store, GBytes *content, const char *name, gint64 deadline_us, GError **error)
{
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_bytes (content);
  SkItemInfo info = {
    .kind = "KNY01", .name = name, .case_id = "C1", .records = 3, .deadline_us = deadline_us
  };
  SkJournalEntry who = { .event = "item-stored", .outcome = "ok", .uid = 1000, .role = "operator" };
  return sk_store_put (store, in, &info, &who, NULL, error);
}

/* put() of pattern (LEN, SEED), which it frees. */
static SkItem *
put_pattern (
    SkStore *store, gsize len, guint8 seed, const char *name, gint64 deadline_us, GError **error)
{
  g_autoptr (GBytes) content = pattern (len, seed);
  return put (store, content, name, deadline_us, error);
}

static GBytes *
read_item (SkStore *store, const char *id, GError **error)
{
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  if (!sk_store_read (store, id, out, NULL, error))
    return NULL;
  g_output_stream_close (out, NULL, NULL);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

static void
test_round_trip (Fixture *fx, gconstpointer data)
{
  g_auto (Opened) o = { 0 };
  g_autoptr (GError) error = NULL;
  const gsize sizes[] = { 0, 1, 65535, 65536, 65537, 3 * 65536, 1000000 };

  open_all (fx, &o);
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr (GBytes) content = pattern (sizes[i], (guint8)i);
      g_autoptr (SkItem) item =
          put (o.store, content, "039004_KNY01_20261124153000_001.DAT", G_MAXINT64, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (item->size, ==, sizes[i]);
      g_autofree char *sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, content);
      g_assert_cmpstr (item->sha256, ==, sha);

      g_autoptr (GBytes) back = read_item (o.store, item->id, &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (back, content));

      /* At rest the file is not the plaintext. */
      g_autofree char *path = g_strconcat (fx->store_dir, "/", item->id, ".sealed", NULL);
      g_autofree char *sealed = NULL;
      gsize sealed_len;
      g_assert_true (g_file_get_contents (path, &sealed, &sealed_len, NULL));
      g_assert_cmpuint (sealed_len, >, sizes[i]);
      if (sizes[i] >= 64)
        g_assert_null (memmem (sealed, sealed_len, g_bytes_get_data (content, NULL), 64));
    }
  g_autoptr (GPtrArray) items = sk_store_list (o.store, &error);
  g_assert_cmpuint (items->len, ==, G_N_ELEMENTS (sizes));
  SkJournalFilter filter = { .event = "item-stored" };
  g_autoptr (GPtrArray) rows = sk_journal_query (o.journal, &filter, &error);
  g_assert_cmpuint (rows->len, ==, G_N_ELEMENTS (sizes));
  g_assert_true (sk_journal_verify (o.journal, NULL, NULL, NULL, &error));
}

/* A sealed memfd holding CONTENT, as sk-package.c hands it over. */
static int
memfd_of (GBytes *content)
{
  int fd = memfd_create ("test-store", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  g_assert_cmpint (fd, >=, 0);
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (content, &len);
  g_assert_cmpint (write (fd, p, len), ==, (gssize)len);
  g_assert_cmpint (fcntl (fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE), ==, 0);
  /* The store must not rely on this descriptor's own offset. */
  g_assert_cmpint (lseek (fd, 3, SEEK_SET), ==, 3);
  return fd;
}

/* Bytes pushed in pieces of awkward sizes (sk_store_stage_pushed): the
 * staged reader gives the source's bytes back, the item holds the given
 * SHA-256 and opens to the same bytes once committed, whatever the sizes
 * (empty, one byte, whole chunks, a batch and one). */
static void
test_stage_pushed (Fixture *fx, gconstpointer data)
{
  g_auto (Opened) o = { 0 };
  g_autoptr (GError) error = NULL;
  const gsize sizes[] = { 0, 1, 65536, 16 * 65536, 16 * 65536 + 1, 5000000 };
  const gsize pieces[] = { 7, 65536, 100003, 1, 262144, 65535 };

  open_all (fx, &o);
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr (GBytes) content = pattern (sizes[i], (guint8)(i + 7));
      const guint8 *bytes = g_bytes_get_data (content, NULL);
      g_autofree char *sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, content);
      int fd = memfd_of (content);
      SkItemInfo info = {
        .kind = "package", .name = "p.tar.gpg", .records = -1, .deadline_us = G_MAXINT64
      };
      g_autoptr (SkStaged) staged = sk_store_stage_pushed (o.store, fd, sizes[i], &info, &error);
      g_assert_no_error (error);
      close (fd);
      g_assert_cmpuint (sk_staged_get_item (staged)->size, ==, sizes[i]);
      for (gsize off = 0, k = i; off < sizes[i]; k++)
        {
          gsize n = MIN (pieces[k % G_N_ELEMENTS (pieces)], sizes[i] - off);
          g_assert_true (sk_staged_push (staged, bytes + off, n));
          off += n;
        }

      g_autoptr (SkStoreReader) r = sk_staged_open_reader (staged, NULL, &error);
      g_assert_no_error (error);
      g_autoptr (GByteArray) got = g_byte_array_new ();
      guint8 buf[65536];
      ssize_t n;
      while ((n = read (sk_store_reader_get_fd (r), buf, sizeof buf)) > 0)
        g_byte_array_append (got, buf, (guint)n);
      g_assert_cmpint (n, ==, 0);
      g_assert_true (sk_store_reader_finish (r, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (got->data, got->len, bytes, sizes[i]);

      sk_staged_set_sha256 (staged, sha);
      g_assert_true (sk_staged_finish (staged, &error));
      g_assert_no_error (error);
      SkJournalEntry who = {
        .event = "item-stored", .outcome = "ok", .uid = 1000, .role = "operator"
      };
      g_autoptr (SkItem) item = sk_store_commit (o.store, staged, &who, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (item->sha256, ==, sha);
      g_autoptr (GBytes) back = read_item (o.store, item->id, &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (back, content));
    }
}

/* Bytes under temporary names in the store: staged items being sealed. */
static guint64
staged_bytes (Fixture *fx)
{
  g_autoptr (GDir) dir = g_dir_open (fx->store_dir, 0, NULL);
  guint64 total = 0;
  for (const char *n; dir != NULL && (n = g_dir_read_name (dir)) != NULL;)
    {
      g_autofree char *path = g_build_filename (fx->store_dir, n, NULL);
      GStatBuf st;
      if (g_str_has_prefix (n, ".tmp-") && g_stat (path, &st) == 0)
        total += (guint64)st.st_size + 1;
    }
  return total;
}

static SkStaged *
stage_pushed (SkStore *store, int source_fd, guint64 size)
{
  g_autoptr (GError) error = NULL;
  SkItemInfo info = {
    .kind = "package", .name = "p.tar.gpg", .records = -1, .deadline_us = G_MAXINT64
  };
  SkStaged *staged = sk_store_stage_pushed (store, source_fd, size, &info, &error);
  g_assert_no_error (error);
  return staged;
}

typedef struct
{
  SkSnapshot *snap;
  gsize size;
  gint stop;
  GBytes *content;
} Reading;

static gpointer
append_all (gpointer data)
{
  Reading *w = data;
  const guint8 *bytes = g_bytes_get_data (w->content, NULL);
  for (gsize off = 0; off < w->size; off += 256 * 1024)
    g_assert_true (sk_snapshot_append (w->snap, bytes + off, 256 * 1024, NULL));
  return NULL;
}

static gpointer
read_in_a_loop (gpointer data)
{
  Reading *r = data;
  g_autofree guint8 *buf = g_malloc (1024 * 1024);
  while (!g_atomic_int_get (&r->stop))
    for (gsize off = 0; off + 1024 * 1024 <= r->size; off += 1024 * 1024)
      g_assert_cmpint (pread (sk_snapshot_get_fd (r->snap), buf, 1024 * 1024, (off_t)off), ==,
                       1024 * 1024);
  return NULL;
}

/* A snapshot is sealed even while another thread reads it (a staged
 * reader may) and just after another wrote it (the copier does): and once
 * sealed, nobody writes to it. */
static void
test_snapshot_sealed_while_read (Fixture *fx, gconstpointer data)
{
  const gsize size = 8 * 1024 * 1024;
  g_autoptr (GBytes) content = pattern (size, 5);
  for (int i = 0; i < 20; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (SkSnapshot) snap = sk_snapshot_new (&error);
      g_assert_no_error (error);
      /* Written on another thread, as the copier does; sealed on this one. */
      Reading w = { snap, size, 0 };
      w.content = content;
      g_thread_join (g_thread_new ("writer", append_all, &w));
      Reading r = { snap, size, 0 };
      GThread *reader = g_thread_new ("reader", read_in_a_loop, &r);
      g_usleep (2000);
      g_assert_true (sk_snapshot_seal (snap, &error));
      g_assert_no_error (error);
      g_atomic_int_set (&r.stop, 1);
      g_thread_join (reader);
      int fd = sk_snapshot_get_fd (snap);
      g_assert_cmpint (pwrite (fd, "x", 1, 0), ==, -1);
      g_assert_cmpint (errno, ==, EPERM);
      g_assert_cmpint (ftruncate (fd, 0), ==, -1);
    }
}

/* Sealing bytes as they arrive (a package read once, sk-package.c): the
 * store's file is written before the last byte has come, so the disk
 * starts at once; the item opens to the same bytes; more bytes than
 * announced, or fewer, fail and leave nothing; a staged item freed before
 * it is finished goes at once and leaves nothing. */
static void
test_stage_pushed_streams (Fixture *fx, gconstpointer data)
{
  g_auto (Opened) o = { 0 };
  g_autoptr (GError) error = NULL;
  open_all (fx, &o);

  const gsize size = 14 * 1024 * 1024 + 7, part = 9 * 1024 * 1024 + 5;
  g_autoptr (GBytes) content = pattern (size, 3);
  const guint8 *bytes = g_bytes_get_data (content, NULL);
  g_autofree char *sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, content);
  int fd = memfd_of (content);
  g_autoptr (SkStaged) staged = stage_pushed (o.store, fd, size);
  g_assert_true (sk_staged_push (staged, bytes, part));
  gint64 until = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (staged_bytes (fx) < 2 * 1024 * 1024 && g_get_monotonic_time () < until)
    g_usleep (10000);
  g_assert_cmpuint (staged_bytes (fx), >=, 2 * 1024 * 1024);
  g_assert_true (sk_staged_push (staged, bytes + part, size - part));
  sk_staged_set_sha256 (staged, sha);
  g_assert_true (sk_staged_finish (staged, &error));
  g_assert_no_error (error);
  SkJournalEntry who = { .event = "item-stored", .outcome = "ok", .uid = 1000, .role = "operator" };
  g_autoptr (SkItem) item = sk_store_commit (o.store, staged, &who, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) back = read_item (o.store, item->id, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (back, content));

  /* More than announced: refused at once, and the seal stays failed. */
  SkStaged *over = stage_pushed (o.store, fd, 1000);
  g_assert_false (sk_staged_push (over, bytes, 1001));
  g_assert_false (sk_staged_push (over, bytes, 1));
  sk_staged_set_sha256 (over, sha);
  g_assert_false (sk_staged_finish (over, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_IO_ERROR);
  g_clear_error (&error);
  sk_staged_free (over);
  g_assert_cmpuint (staged_bytes (fx), ==, 0);

  /* Fewer than announced (the source ended early): no item. */
  SkStaged *under = stage_pushed (o.store, fd, size);
  g_assert_true (sk_staged_push (under, bytes, 5 * 1024 * 1024));
  sk_staged_set_sha256 (under, sha);
  g_assert_false (sk_staged_finish (under, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_IO_ERROR);
  g_clear_error (&error);
  sk_staged_free (under);
  g_assert_cmpuint (staged_bytes (fx), ==, 0);

  /* Freed half-pushed: at once, and nothing stays. */
  SkStaged *waiting = stage_pushed (o.store, fd, size);
  g_assert_true (sk_staged_push (waiting, bytes, 10000));
  gint64 start = g_get_monotonic_time ();
  sk_staged_free (waiting);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  g_assert_cmpuint (staged_bytes (fx), ==, 0);
  close (fd);
}

static void
flip_byte (const char *path, goffset offset)
{
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  data[offset < 0 ? (goffset)len + offset : offset] ^= 0x20;
  g_assert_true (g_file_set_contents (path, data, (gssize)len, NULL));
}

static void
test_tampered (Fixture *fx, gconstpointer data)
{
  g_auto (Opened) o = { 0 };
  g_autoptr (GError) error = NULL;
  open_all (fx, &o);

  const goffset places[] = { 0, 30, 70000, -1 };
  for (gsize i = 0; i < G_N_ELEMENTS (places); i++)
    {
      g_autoptr (GBytes) content = pattern (150000, 9);
      g_autoptr (SkItem) item = put (o.store, content, "a", G_MAXINT64, &error);
      g_assert_no_error (error);
      g_autofree char *path = g_strconcat (fx->store_dir, "/", item->id, ".sealed", NULL);
      flip_byte (path, places[i]);
      g_autoptr (GBytes) back = read_item (o.store, item->id, &error);
      g_assert_null (back);
      g_assert_error (error, SK_ERROR, SK_ERROR_DECRYPT_FAILED);
      g_clear_error (&error);
    }

  /* Cut short at a chunk boundary: the FINAL tag is missing. */
  g_autoptr (GBytes) content = pattern (200000, 3);
  g_autoptr (SkItem) item = put (o.store, content, "b", G_MAXINT64, &error);
  g_autofree char *path = g_strconcat (fx->store_dir, "/", item->id, ".sealed", NULL);
  g_assert_cmpint (truncate (path, 24 + 2 * (65536 + 17)), ==, 0);
  g_autoptr (GBytes) back = read_item (o.store, item->id, &error);
  g_assert_null (back);
  g_assert_error (error, SK_ERROR, SK_ERROR_DECRYPT_FAILED);
}

/* Every byte of every file under DIR, searched for NEEDLE. */
static gboolean
tree_contains (const char *dir, const guint8 *needle, gsize len)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          if (tree_contains (path, needle, len))
            return TRUE;
          continue;
        }
      g_autofree char *data = NULL;
      gsize data_len;
      if (g_file_get_contents (path, &data, &data_len, NULL) &&
          memmem (data, data_len, needle, len) != NULL)
        return TRUE;
    }
  return FALSE;
}

static void
test_delete_leaves_nothing (Fixture *fx, gconstpointer data)
{
  g_auto (Opened) o = { 0 };
  g_autoptr (GError) error = NULL;
  open_all (fx, &o);

  g_autoptr (GBytes) content = pattern (100000, 5);
  g_autoptr (SkItem) keep_item = put_pattern (o.store, 5000, 1, "keep", G_MAXINT64, &error);
  g_autoptr (SkItem) item = put (o.store, content, "gone", G_MAXINT64, &error);
  g_assert_no_error (error);

  /* The key, as the database holds it. */
  g_autoptr (SkDbStmt) stmt = sk_db_prepare (o.db, "SELECT key FROM items WHERE id = ?1", &error);
  sk_db_stmt_bind_text (stmt, 1, item->id);
  g_assert_cmpint (sk_db_stmt_step (stmt, &error), ==, SK_DB_STEP_ROW);
  gsize key_len;
  guint8 key[32];
  memcpy (key, sk_db_stmt_column_blob (stmt, 0, &key_len), sizeof key);
  g_assert_cmpuint (key_len, ==, 32);
  g_clear_pointer (&stmt, sk_db_stmt_free);
  g_assert_true (tree_contains (fx->dir, key, sizeof key));

  SkJournalEntry who = { .outcome = "ok", .uid = 0, .role = "operator" };
  g_assert_true (sk_store_delete (o.store, item->id, &who, &error));
  g_assert_no_error (error);

  /* Nothing under the station directory holds the key or the plaintext:
   * not the database, its WAL or SHM, nor the store. */
  g_assert_false (tree_contains (fx->dir, key, sizeof key));
  g_assert_false (tree_contains (fx->dir, g_bytes_get_data (content, NULL), 64));
  g_autoptr (GBytes) back = read_item (o.store, item->id, &error);
  g_assert_null (back);
  g_assert_error (error, SK_ERROR, SK_ERROR_ITEM_UNKNOWN);
  g_clear_error (&error);

  SkJournalFilter filter = { .event = "item-deleted" };
  g_autoptr (GPtrArray) rows = sk_journal_query (o.journal, &filter, &error);
  g_assert_cmpuint (rows->len, ==, 1);
  const SkJournalRow *row = g_ptr_array_index (rows, 0);
  g_assert_nonnull (strstr (row->details, "key destroyed"));
  g_assert_nonnull (strstr (row->details, item->sha256));

  /* The other item is untouched. */
  g_autoptr (GBytes) kept = read_item (o.store, keep_item->id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (kept), ==, 5000);
}

static void
test_sweep (Fixture *fx, gconstpointer data)
{
  g_auto (Opened) o = { 0 };
  g_autoptr (GError) error = NULL;
  open_all (fx, &o);
  gint64 now = g_get_real_time ();
  const gint64 hour = G_GINT64_CONSTANT (3600) * G_USEC_PER_SEC;

  g_autoptr (SkItem) past = put_pattern (o.store, 10, 1, "past", now - hour, &error);
  g_assert_nonnull (past);
  g_autoptr (SkItem) soon = put_pattern (o.store, 10, 2, "soon", now + 2 * hour, &error);
  g_assert_nonnull (soon);
  g_autoptr (SkItem) later = put_pattern (o.store, 10, 3, "later", now + 48 * hour, &error);
  g_assert_no_error (error);

  g_assert_cmpint (sk_store_sweep (o.store, &error), ==, 1);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) left = sk_store_list (o.store, &error);
  g_assert_cmpuint (left->len, ==, 2);

  SkJournalFilter filter = { .event = "item-deleted", .reason = "deadline-passed" };
  g_autoptr (GPtrArray) rows = sk_journal_query (o.journal, &filter, &error);
  g_assert_cmpuint (rows->len, ==, 1);

  /* The journal once saw a time three hours on; the wall clock is now
   * behind it (as if set back).  "soon" is due by the journal's clock. */
  g_autofree char *stmt = g_strdup_printf ("UPDATE meta SET value = %" G_GINT64_FORMAT
                                           " WHERE key = 'clock_high_water_us'",
                                           now + 3 * hour);
  g_assert_true (sk_db_exec (o.db, stmt, &error));
  opened_clear (&o);
  open_all (fx, &o);
  g_assert_cmpint (sk_store_sweep (o.store, &error), ==, 1);
  g_autoptr (GPtrArray) left2 = sk_store_list (o.store, &error);
  g_assert_cmpuint (left2->len, ==, 1);
  g_assert_cmpstr (((SkItem *)g_ptr_array_index (left2, 0))->id, ==, later->id);
  /* The clock behind the mark was journaled. */
  SkJournalFilter anomaly = { .event = "clock-anomaly" };
  g_autoptr (GPtrArray) anomalies = sk_journal_query (o.journal, &anomaly, &error);
  g_assert_cmpuint (anomalies->len, >=, 1);
  g_assert_true (sk_journal_verify (o.journal, NULL, NULL, NULL, &error));
}

static void
test_recovery (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *lost_id = NULL;
  {
    g_auto (Opened) o = { 0 };
    open_all (fx, &o);
    g_autoptr (SkItem) lost = put_pattern (o.store, 100, 1, "lost", G_MAXINT64, &error);
    g_autoptr (SkItem) fine = put_pattern (o.store, 100, 2, "fine", G_MAXINT64, &error);
    g_assert_nonnull (fine);
    g_assert_no_error (error);
    lost_id = g_strdup (lost->id);
  }
  /* What crashes (and a careless hand) leave behind. */
  g_autofree char *tmp =
      g_build_filename (fx->store_dir, ".tmp-0123456789abcdef0123456789abcdef", NULL);
  g_autofree char *orphan =
      g_build_filename (fx->store_dir, "fedcba9876543210fedcba9876543210.sealed", NULL);
  g_autofree char *other = g_build_filename (fx->store_dir, "README", NULL);
  g_autofree char *lost_file = g_strconcat (fx->store_dir, "/", lost_id, ".sealed", NULL);
  g_assert_true (g_file_set_contents (tmp, "half", -1, NULL));
  g_assert_true (g_file_set_contents (orphan, "sealed", -1, NULL));
  g_assert_true (g_file_set_contents (other, "not ours", -1, NULL));
  g_assert_cmpint (g_unlink (lost_file), ==, 0);

  g_auto (Opened) o = { 0 };
  open_all (fx, &o);
  g_assert_false (g_file_test (tmp, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (orphan, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (other, G_FILE_TEST_EXISTS));
  g_autoptr (GPtrArray) items = sk_store_list (o.store, &error);
  g_assert_cmpuint (items->len, ==, 1);

  SkJournalFilter recovered = { .event = "store-recovered" };
  g_autoptr (GPtrArray) rows = sk_journal_query (o.journal, &recovered, &error);
  g_assert_cmpuint (rows->len, ==, 2);
  SkJournalFilter lost = { .event = "item-lost" };
  g_autoptr (GPtrArray) lost_rows = sk_journal_query (o.journal, &lost, &error);
  g_assert_cmpuint (lost_rows->len, ==, 1);
  g_assert_true (sk_journal_verify (o.journal, NULL, NULL, NULL, &error));
}

/* ---- crashes ----------------------------------------------------------- */

static const char *const put_points[] = {
  "store-put-before-fsync",  "store-put-before-rename", "store-put-before-dirsync",
  "store-put-before-commit", "store-put-after-commit",
};
static const char *const delete_points[] = {
  "store-delete-before-checkpoint",
  "store-delete-before-unlink",
};

static int
run_helper (Fixture *fx, const char *fault, const char *const *args)
{
  g_autofree char *helper = g_test_build_filename (G_TEST_BUILT, "sk-crash-helper", NULL);
  g_autofree char *ack = g_build_filename (fx->dir, "ack", NULL);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, helper);
  g_ptr_array_add (argv, fx->db_path);
  g_ptr_array_add (argv, fx->store_dir);
  g_ptr_array_add (argv, ack);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer)args[i]);
  g_ptr_array_add (argv, NULL);

  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  if (fault != NULL)
    g_subprocess_launcher_setenv (launcher, "SEKISHO_FAULT", fault, TRUE);
  else
    g_subprocess_launcher_unsetenv (launcher, "SEKISHO_FAULT");
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc =
      g_subprocess_launcher_spawnv (launcher, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait (proc, NULL, &error));
  if (g_subprocess_get_if_signaled (proc))
    return -g_subprocess_get_term_sig (proc);
  return g_subprocess_get_exit_status (proc);
}

static GHashTable *
read_acks (Fixture *fx, const char *prefix)
{
  g_autofree char *ack = g_build_filename (fx->dir, "ack", NULL);
  g_autofree char *text = NULL;
  GHashTable *ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!g_file_get_contents (ack, &text, NULL, NULL))
    return ids;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) parts = g_strsplit (lines[i], " ", 2);
      if (g_strv_length (parts) == 2 && (prefix == NULL || g_str_equal (parts[0], prefix)))
        g_hash_table_insert (ids, g_strdup (parts[1]), g_strdup (parts[0]));
    }
  return ids;
}

/* What a recovered store must show: every acknowledged item, readable and
 * intact; nothing half-written; no stray files; a chain that verifies. */
static void
check_recovered (Fixture *fx,
                 GHashTable *acked_puts,
                 GHashTable *acked_deletes,
                 guint in_flight_deletions)
{
  g_auto (Opened) o = { 0 };
  g_autoptr (GError) error = NULL;
  open_all (fx, &o);

  g_autoptr (GPtrArray) items = sk_store_list (o.store, &error);
  g_assert_no_error (error);
  g_autoptr (GHashTable) present = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < items->len; i++)
    {
      SkItem *item = g_ptr_array_index (items, i);
      g_hash_table_add (present, item->id);
      /* Whatever is visible is whole. */
      g_autoptr (GBytes) back = read_item (o.store, item->id, &error);
      g_assert_no_error (error);
      g_autofree char *sha = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, back);
      g_assert_cmpstr (sha, ==, item->sha256);
      g_assert_false (acked_deletes != NULL && g_hash_table_contains (acked_deletes, item->id));
    }
  GHashTableIter iter;
  gpointer id;
  guint missing = 0;
  g_hash_table_iter_init (&iter, acked_puts);
  while (g_hash_table_iter_next (&iter, &id, NULL))
    if ((acked_deletes == NULL || !g_hash_table_contains (acked_deletes, id)) &&
        !g_hash_table_contains (present, id))
      missing++;
  /* Only a deletion that committed before the crash may take an item that
   * was acknowledged as stored. */
  g_assert_cmpuint (missing, <=, in_flight_deletions);

  g_autoptr (GDir) dir = g_dir_open (fx->store_dir, 0, NULL);
  const char *name;
  guint files = 0;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_assert_false (g_str_has_prefix (name, ".tmp-"));
      files += !g_str_equal (name, SK_STORE_RESERVE_NAME);
    }
  g_assert_cmpuint (files, ==, items->len);
  g_assert_true (sk_journal_verify (o.journal, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
reset_station (Fixture *fx)
{
  g_autofree char *ack = g_build_filename (fx->dir, "ack", NULL);
  g_unlink (ack);
  const char *suffixes[] = { "", "-wal", "-shm" };
  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *p = g_strconcat (fx->db_path, suffixes[i], NULL);
      g_unlink (p);
    }
  g_autoptr (GDir) dir = g_dir_open (fx->store_dir, 0, NULL);
  const char *name;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *p = g_build_filename (fx->store_dir, name, NULL);
      g_unlink (p);
    }
}

static void
test_crash_put (Fixture *fx, gconstpointer data)
{
  if (sk_test_skip_without_fault_points ())
    return;
  for (gsize p = 0; p < G_N_ELEMENTS (put_points); p++)
    for (int nth = 1; nth <= 3; nth++)
      {
        reset_station (fx);
        g_autofree char *fault = g_strdup_printf ("%s:%d", put_points[p], nth);
        const char *args[] = { "put", "4", NULL };
        g_test_message ("crash at %s", fault);
        int status = run_helper (fx, fault, args);
        g_assert_cmpint (status, ==, -SIGKILL);
        g_autoptr (GHashTable) acked = read_acks (fx, NULL);
        g_assert_cmpuint (g_hash_table_size (acked), ==, (guint)nth - 1);
        check_recovered (fx, acked, NULL, 0);
        /* And the station works on after it. */
        const char *more[] = { "put", "2", NULL };
        g_assert_cmpint (run_helper (fx, NULL, more), ==, 0);
        g_autoptr (GHashTable) acked2 = read_acks (fx, NULL);
        check_recovered (fx, acked2, NULL, 0);
      }
}

static void
test_crash_delete (Fixture *fx, gconstpointer data)
{
  if (sk_test_skip_without_fault_points ())
    return;
  for (gsize p = 0; p < G_N_ELEMENTS (delete_points); p++)
    for (int nth = 1; nth <= 2; nth++)
      {
        reset_station (fx);
        const char *put_args[] = { "put", "3", NULL };
        g_assert_cmpint (run_helper (fx, NULL, put_args), ==, 0);
        g_autofree char *fault = g_strdup_printf ("%s:%d", delete_points[p], nth);
        const char *del_args[] = { "delete-all", NULL };
        g_test_message ("crash at %s", fault);
        g_assert_cmpint (run_helper (fx, fault, del_args), ==, -SIGKILL);

        /* Acknowledged deletions stay deleted; the item whose deletion was
         * committed but not acknowledged is gone too (the commit is the
         * point of no return), and its file is removed at the next open. */
        g_autoptr (GHashTable) all = read_acks (fx, NULL);
        g_autoptr (GHashTable) puts =
            g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
        g_autoptr (GHashTable) deletes = read_acks (fx, "deleted");
        GHashTableIter iter;
        gpointer id, tag;
        g_hash_table_iter_init (&iter, all);
        while (g_hash_table_iter_next (&iter, &id, &tag))
          if (!g_str_equal (tag, "deleted"))
            g_hash_table_insert (puts, g_strdup (id), g_strdup (tag));
        g_assert_cmpuint (g_hash_table_size (deletes), ==, (guint)nth - 1);
        check_recovered (fx, puts, deletes, 1);

        g_auto (Opened) o = { 0 };
        g_autoptr (GError) error = NULL;
        open_all (fx, &o);
        g_autoptr (GPtrArray) left = sk_store_list (o.store, &error);
        g_assert_cmpuint (left->len, ==, 3 - (guint)nth);
      }
}

/* ---- a full disk -------------------------------------------------------- */

static void
test_disk_full (Fixture *fx, gconstpointer data)
{
  g_autofree char *mnt = g_build_filename (fx->dir, "small", NULL);
  g_assert_cmpint (g_mkdir (mnt, 0700), ==, 0);
  if (mount ("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=512k,mode=0700") != 0)
    {
      g_autofree char *why = g_strdup_printf ("cannot mount a small tmpfs here (%s): the full-"
                                              "disk test needs root",
                                              g_strerror (errno));
      g_test_skip (why);
      return;
    }
  g_free (fx->db_path);
  g_free (fx->store_dir);
  fx->db_path = g_build_filename (mnt, "station.db", NULL);
  fx->store_dir = g_build_filename (mnt, "store", NULL);
  g_assert_cmpint (g_mkdir (fx->store_dir, 0700), ==, 0);

  {
    g_auto (Opened) o = { 0 };
    g_autoptr (GError) error = NULL;
    open_all (fx, &o);
    g_autoptr (GPtrArray) stored = g_ptr_array_new_with_free_func ((GDestroyNotify)sk_item_free);
    for (int i = 0; i < 100; i++)
      {
        g_autoptr (GBytes) content = pattern (100000, (guint8)i);
        SkItem *item = put (o.store, content, "fill", G_MAXINT64, &error);
        if (item == NULL)
          break;
        g_ptr_array_add (stored, item);
      }
    g_assert_error (error, SK_ERROR, SK_ERROR_DISK_FULL);
    g_assert_cmpuint (stored->len, >, 0);
    g_clear_error (&error);

    /* The same for an item sealed as it is pushed, whose writes happen on
     * the store's own thread: the disk's refusal comes from finish. */
    {
      g_autoptr (GBytes) content = pattern (300000, 9);
      int fd = memfd_of (content);
      g_autoptr (SkStaged) staged = stage_pushed (o.store, fd, 300000);
      close (fd);
      (void)sk_staged_push (staged, g_bytes_get_data (content, NULL), 300000);
      sk_staged_set_sha256 (staged, "0000");
      g_assert_false (sk_staged_finish (staged, &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_DISK_FULL);
      g_clear_error (&error);
    }

    /* Nothing half-written; everything acknowledged reads back. */
    g_autoptr (GDir) dir = g_dir_open (fx->store_dir, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name (dir)) != NULL)
      g_assert_false (g_str_has_prefix (name, ".tmp-"));
    for (guint i = 0; i < stored->len; i++)
      {
        SkItem *item = g_ptr_array_index (stored, i);
        g_autoptr (GBytes) back = read_item (o.store, item->id, &error);
        g_assert_no_error (error);
        g_assert_cmpuint (g_bytes_get_size (back), ==, 100000);
      }
    g_autoptr (GPtrArray) listed = sk_store_list (o.store, &error);
    g_assert_cmpuint (listed->len, ==, stored->len);
    g_assert_true (sk_journal_verify (o.journal, NULL, NULL, NULL, &error));

    /* Deleting makes room again. */
    SkJournalEntry who = { .outcome = "ok", .uid = 0 };
    g_assert_true (
        sk_store_delete (o.store, ((SkItem *)g_ptr_array_index (stored, 0))->id, &who, &error));
    g_assert_no_error (error);
  }
  g_assert_cmpint (umount2 (mnt, MNT_DETACH), ==, 0);
}

/* ---- no personal data --------------------------------------------------- */

static void
test_no_personal_data (Fixture *fx, gconstpointer data)
{
  g_autoptr (SkPolicy) policy = sk_test_default_policy ();
  const SkKind *kind = sk_policy_lookup_kind (policy, "KNY01");
  SkSynthOptions opts;
  g_autoptr (GError) error = NULL;
  sk_synth_options_init (&opts);
  opts.records = 30;
  g_autofree char *path = sk_synth_write_file (policy, kind, &opts, fx->dir, &error);
  g_assert_no_error (error);

  /* The journald datagrams, captured. */
  g_autofree char *sock_path = g_build_filename (fx->dir, "journald.sock", NULL);
  int sock = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  g_strlcpy (addr.sun_path, sock_path, sizeof addr.sun_path);
  g_assert_cmpint (bind (sock, (struct sockaddr *)&addr, sizeof addr), ==, 0);
  g_setenv ("SEKISHO_JOURNALD_SOCKET", sock_path, TRUE);

  {
    g_auto (Opened) o = { 0 };
    open_all (fx, &o);
    g_autoptr (GFile) file = g_file_new_for_path (path);
    g_autoptr (GFileInputStream) in = g_file_read (file, NULL, &error);
    g_autofree char *base = g_path_get_basename (path);
    SkItemInfo info = { .kind = "KNY01",
                        .name = base,
                        .case_id = "C0000000000000000001",
                        .records = 30,
                        .deadline_us = 0 };
    SkJournalEntry who = { .event = "item-stored", .outcome = "ok", .uid = 1000 };
    g_autoptr (SkItem) item =
        sk_store_put (o.store, G_INPUT_STREAM (in), &info, &who, NULL, &error);
    g_assert_nonnull (item);
    g_assert_no_error (error);
    g_assert_cmpint (sk_store_sweep (o.store, &error), ==, 1);
  }
  g_unsetenv ("SEKISHO_JOURNALD_SOCKET");

  g_autoptr (GString) datagrams = g_string_new (NULL);
  char buf[8192];
  ssize_t n;
  while ((n = recv (sock, buf, sizeof buf, MSG_DONTWAIT)) > 0)
    g_string_append_len (datagrams, buf, n);
  close (sock);
  g_assert_cmpuint (datagrams->len, >, 0);

  /* Every 個人番号 and birth date of the file, and the generator's names. */
  g_autofree char *text = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &text, &len, NULL));
  const SkRecordLayout *layout = kind->records[SK_RECORD_DATA];
  const SkField *number = _sk_record_layout_find (layout, "個人番号");
  const SkField *birth = _sk_record_layout_find (layout, "生年月日");
  g_autoptr (GPtrArray) needles = g_ptr_array_new_with_free_func (g_free);
  for (guint r = 0; r < 30; r++)
    {
      const char *rec = text + kind->record_length * (r + 1);
      g_ptr_array_add (needles, g_strndup (rec + number->offset, number->length));
      g_ptr_array_add (needles, g_strndup (rec + birth->offset, birth->length));
    }
  const char *names[] = { "試験　太郎", "試験　花子", "見本　一郎", "シケン", "架空県" };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    g_ptr_array_add (needles, g_strdup (names[i]));

  const char *files[] = { "station.db", "station.db-wal" };
  for (guint i = 0; i < needles->len; i++)
    {
      const char *needle = g_ptr_array_index (needles, i);
      g_assert_null (strstr (datagrams->str, needle));
      for (gsize f = 0; f < G_N_ELEMENTS (files); f++)
        {
          g_autofree char *db = g_build_filename (fx->dir, files[f], NULL);
          g_autofree char *bytes = NULL;
          gsize blen;
          if (!g_file_get_contents (db, &bytes, &blen, NULL))
            continue;
          g_assert_null (memmem (bytes, blen, needle, strlen (needle)));
        }
    }
}

/* ---- schema ------------------------------------------------------------ */

/* A version-1 database (journal only) is brought to the current version with its
 * entries intact. */
static void
test_migration (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  {
    g_autoptr (SkDb) db = sk_db_open (fx->db_path, SK_DB_READ_WRITE, &error);
    g_assert_no_error (error);
    g_assert_true (sk_db_exec (
        db,
        "CREATE TABLE journal (seq INTEGER PRIMARY KEY, time_us INTEGER NOT NULL, event TEXT NOT "
        "NULL, outcome TEXT NOT NULL, reason TEXT, uid INTEGER, login TEXT, role TEXT, station "
        "TEXT NOT NULL, case_id TEXT, package_id TEXT, device TEXT, details TEXT NOT NULL, "
        "prev_hash TEXT NOT NULL, entry_hash TEXT NOT NULL);"
        "CREATE INDEX journal_case ON journal (case_id);"
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "INSERT INTO meta (key, value) VALUES ('clock_high_water_us', 0);"
        "PRAGMA user_version = 1;",
        &error));
  }
  g_auto (Opened) o = { 0 };
  open_all (fx, &o);
  g_assert_cmpint (sk_db_get_user_version (o.db, &error), ==, SK_SCHEMA_VERSION);
  g_autoptr (SkItem) item = put_pattern (o.store, 10, 1, "x", G_MAXINT64, &error);
  g_assert_nonnull (item);
  g_assert_no_error (error);

  /* A database from a newer build is refused, not rewritten. */
  g_assert_true (sk_db_set_user_version (o.db, 99, &error));
  g_autoptr (SkJournal) again = sk_journal_new (o.db, "test", &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_STATION_INVALID);
  g_assert_null (again);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/store/round-trip", test_round_trip);
  ADD ("/store/stage-pushed", test_stage_pushed);
  ADD ("/store/stage-pushed-streams", test_stage_pushed_streams);
  ADD ("/store/snapshot-sealed-while-read", test_snapshot_sealed_while_read);
  ADD ("/store/tampered", test_tampered);
  ADD ("/store/delete-leaves-nothing", test_delete_leaves_nothing);
  ADD ("/store/sweep", test_sweep);
  ADD ("/store/recovery", test_recovery);
  ADD ("/store/crash/put", test_crash_put);
  ADD ("/store/crash/delete", test_crash_delete);
  ADD ("/store/disk-full", test_disk_full);
  ADD ("/store/no-personal-data", test_no_personal_data);
  ADD ("/store/migration", test_migration);
#undef ADD
  return g_test_run ();
}
