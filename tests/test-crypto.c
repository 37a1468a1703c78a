/* test-crypto.c — the store's sealed format: every size round-trips, every
 * way of cutting, reordering, extending or changing a sealed item is
 * refused, and items sealed in format 1 (libsodium's secretstream) still
 * open.
 */
#include "config.h"

#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sk-crypto.h"
#include "sk-error.h"

#define HEADER 16
#define SEALED (SK_SEAL_CHUNK + 16)

static GBytes *
pattern (gsize len, guint8 seed)
{
  guint8 *data = g_malloc (len + 1);
  for (gsize i = 0; i < len; i++)
    data[i] = (guint8)(i * 31 + seed + (i >> 12));
  return g_bytes_new_take (data, len);
}

static int
memfd_of (const guint8 *data, gsize len)
{
  int fd = memfd_create ("sealed", MFD_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, data, len), ==, (gssize)len);
  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  return fd;
}

/* SIZE bytes sealed by sk_seal_stream() under KEY. */
static GByteArray *
seal (const SkItemKey *key, GBytes *content)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) in = g_memory_input_stream_new_from_bytes (content);
  int fd = memfd_create ("out", MFD_CLOEXEC);
  guint64 size = 0;
  g_autofree char *sha = NULL;
  g_assert_true (sk_seal_stream (key, in, fd, &size, &sha, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (size, ==, g_bytes_get_size (content));
  off_t len = lseek (fd, 0, SEEK_END);
  GByteArray *sealed = g_byte_array_sized_new ((guint)len);
  g_byte_array_set_size (sealed, (guint)len);
  g_assert_cmpint (pread (fd, sealed->data, (size_t)len, 0), ==, len);
  close (fd);
  return sealed;
}

/* Open LEN sealed bytes; the plaintext, or NULL with ERROR. */
static GBytes *
open_sealed (const SkItemKey *key, const guint8 *data, gsize len, GError **error)
{
  int fd = memfd_of (data, len);
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  gboolean ok = sk_open_stream (key, fd, out, NULL, error);
  close (fd);
  if (!ok)
    return NULL;
  g_assert_true (g_output_stream_close (out, NULL, NULL));
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

static void
assert_refused (const SkItemKey *key, const guint8 *data, gsize len, const char *what)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) got = open_sealed (key, data, len, &error);
  if (got != NULL)
    g_error ("%s: opened", what);
  g_assert_error (error, SK_ERROR, SK_ERROR_DECRYPT_FAILED);
}

/* Every size around the chunk size and a few chunks long round-trips, in
 * format 2; and nothing but the whole, as written, opens. */
static void
test_round_trip_and_tampering (void)
{
  g_autoptr (SkItemKey) key = sk_item_key_new_random ();
  g_autoptr (SkItemKey) other = sk_item_key_new_random ();
  const gsize sizes[] = { 0,
                          1,
                          SK_SEAL_CHUNK - 1,
                          SK_SEAL_CHUNK,
                          SK_SEAL_CHUNK + 1,
                          3 * SK_SEAL_CHUNK,
                          3 * SK_SEAL_CHUNK + 100 };
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr (GBytes) content = pattern (sizes[i], (guint8)i);
      g_autoptr (GByteArray) sealed = seal (key, content);
      gsize chunks = sizes[i] == 0 ? 1 : (sizes[i] + SK_SEAL_CHUNK - 1) / SK_SEAL_CHUNK;
      g_assert_cmpuint (sealed->len, ==, HEADER + sizes[i] + 16 * chunks);
      g_assert_cmpmem (sealed->data, 8, "SKSEAL2\n", 8);

      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) back = open_sealed (key, sealed->data, sealed->len, &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (back, content));

      /* Another key; a bit changed anywhere; a byte more; the header
       * alone; every cut, at a chunk boundary or inside a chunk. */
      assert_refused (other, sealed->data, sealed->len, "another key");
      for (gsize at = 0; at < sealed->len; at += 4099)
        {
          sealed->data[at] ^= 0x01;
          assert_refused (key, sealed->data, sealed->len, "a bit changed");
          sealed->data[at] ^= 0x01;
        }
      sealed->data[sealed->len - 1] ^= 0x80;
      assert_refused (key, sealed->data, sealed->len, "the last tag changed");
      sealed->data[sealed->len - 1] ^= 0x80;
      g_byte_array_append (sealed, (const guint8 *)"x", 1);
      assert_refused (key, sealed->data, sealed->len, "a byte appended");
      g_byte_array_set_size (sealed, sealed->len - 1);
      for (gsize c = 0; c < chunks; c++)
        {
          gsize boundary = HEADER + c * SEALED;
          assert_refused (key, sealed->data, boundary, "cut at a chunk boundary");
          if (boundary + 16 < sealed->len)
            assert_refused (key, sealed->data, boundary + 16, "cut inside a chunk");
        }
      assert_refused (key, sealed->data, sealed->len - 1, "the last byte cut");
      if (chunks >= 3)
        {
          /* The first two chunks swapped. */
          g_autoptr (GByteArray) swapped = g_byte_array_new ();
          g_byte_array_append (swapped, sealed->data, HEADER);
          g_byte_array_append (swapped, sealed->data + HEADER + SEALED, SEALED);
          g_byte_array_append (swapped, sealed->data + HEADER, SEALED);
          g_byte_array_append (swapped, sealed->data + HEADER + 2 * SEALED,
                               sealed->len - HEADER - 2 * SEALED);
          assert_refused (key, swapped->data, swapped->len, "two chunks swapped");
          /* A chunk dropped from the middle. */
          g_autoptr (GByteArray) dropped = g_byte_array_new ();
          g_byte_array_append (dropped, sealed->data, HEADER + SEALED);
          g_byte_array_append (dropped, sealed->data + HEADER + 2 * SEALED,
                               sealed->len - HEADER - 2 * SEALED);
          assert_refused (key, dropped->data, dropped->len, "a chunk dropped");
        }
    }
}

static gboolean
out_to_array (const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  g_byte_array_append (user_data, data, (guint)len);
  return TRUE;
}

static gboolean
out_failing (const guint8 *data, gsize len, gpointer user_data, GError **error)
{
  g_set_error_literal (error, SK_ERROR, SK_ERROR_DISK_FULL, "full");
  return FALSE;
}

/* An SkSealer, given the bytes in pieces of any size, writes what
 * sk_open_stream() opens: empty, short, whole chunks, a batch and one; and
 * it refuses more or fewer bytes than announced, and passes on its
 * output's failure. */
static void
test_sealer (void)
{
  g_autoptr (SkItemKey) key = sk_item_key_new_random ();
  const gsize sizes[] = {
    0, 5, SK_SEAL_CHUNK, 16 * SK_SEAL_CHUNK, 16 * SK_SEAL_CHUNK + 1, 40 * SK_SEAL_CHUNK + 7
  };
  const gsize pieces[] = { SK_SEAL_CHUNK, 3, SK_SEAL_CHUNK - 1, 5 * SK_SEAL_CHUNK + 2, 1 };
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr (GBytes) content = pattern (sizes[i], (guint8)(i + 40));
      const guint8 *bytes = g_bytes_get_data (content, NULL);
      g_autoptr (GByteArray) sealed = g_byte_array_new ();
      g_autoptr (GError) error = NULL;
      g_autoptr (SkSealer) sealer = sk_sealer_new (key, sizes[i], out_to_array, sealed, &error);
      g_assert_no_error (error);
      for (gsize off = 0, k = i; off < sizes[i]; k++)
        {
          gsize n = MIN (pieces[k % G_N_ELEMENTS (pieces)], sizes[i] - off);
          g_assert_true (sk_sealer_push (sealer, bytes + off, n, &error));
          g_assert_no_error (error);
          off += n;
        }
      g_assert_true (sk_sealer_finish (sealer, &error));
      g_assert_no_error (error);
      /* The header, then each chunk with its tag (an empty item: one). */
      gsize chunks = MAX ((sizes[i] + SK_SEAL_CHUNK - 1) / SK_SEAL_CHUNK, 1);
      g_assert_cmpuint (sealed->len, ==, HEADER + sizes[i] + chunks * (SEALED - SK_SEAL_CHUNK));
      int out = memfd_of (sealed->data, sealed->len);
      g_autoptr (GOutputStream) plain = g_memory_output_stream_new_resizable ();
      g_assert_true (sk_open_stream (key, out, plain, NULL, &error));
      g_assert_no_error (error);
      g_assert_true (g_output_stream_close (plain, NULL, NULL));
      g_autoptr (GBytes) back =
          g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (plain));
      g_assert_true (g_bytes_equal (back, content));
      close (out);
    }

  g_autoptr (GByteArray) sealed = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  guint8 ten[10] = { 0 };
  g_autoptr (SkSealer) over = sk_sealer_new (key, 9, out_to_array, sealed, &error);
  g_assert_false (sk_sealer_push (over, ten, 10, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_IO_ERROR);
  g_clear_error (&error);
  g_autoptr (SkSealer) under = sk_sealer_new (key, 11, out_to_array, sealed, &error);
  g_assert_true (sk_sealer_push (under, ten, 10, &error));
  g_assert_false (sk_sealer_finish (under, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_IO_ERROR);
  g_clear_error (&error);
  g_autoptr (GBytes) big = pattern (20 * SK_SEAL_CHUNK, 1);
  g_autoptr (SkSealer) failing = sk_sealer_new (key, 20 * SK_SEAL_CHUNK, out_failing, NULL, &error);
  g_assert_false (
      sk_sealer_push (failing, g_bytes_get_data (big, NULL), 20 * SK_SEAL_CHUNK, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_DISK_FULL);
}

/* Format 1, as earlier versions sealed items (libsodium's secretstream, a
 * FINAL tag on the last chunk): still opens, and still refuses a cut. */
static void
test_format_1 (void)
{
  g_autoptr (SkItemKey) key = sk_item_key_new_random ();
  const gsize sizes[] = { 0, 100, 2 * SK_SEAL_CHUNK, 2 * SK_SEAL_CHUNK + 9 };
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr (GBytes) content = pattern (sizes[i], (guint8)(i + 90));
      const guint8 *data = g_bytes_get_data (content, NULL);
      g_autoptr (GByteArray) sealed = g_byte_array_new ();
      crypto_secretstream_xchacha20poly1305_state state;
      guint8 header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
      crypto_secretstream_xchacha20poly1305_init_push (&state, header, sk_item_key_get_bytes (key));
      g_byte_array_append (sealed, header, sizeof header);
      gsize off = 0;
      do
        {
          gsize n = MIN (sizes[i] - off, (gsize)SK_SEAL_CHUNK);
          gboolean last = off + n == sizes[i];
          guint8 out[SK_SEAL_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES];
          unsigned long long out_len;
          crypto_secretstream_xchacha20poly1305_push (
              &state, out, &out_len, data + off, n, NULL, 0,
              last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
          g_byte_array_append (sealed, out, (guint)out_len);
          off += n;
        }
      while (off < sizes[i]);

      g_autoptr (GError) error = NULL;
      g_autoptr (GBytes) back = open_sealed (key, sealed->data, sealed->len, &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (back, content));
      assert_refused (key, sealed->data, sealed->len - 1, "format 1, cut");
      assert_refused (key, sealed->data, 20, "format 1, header cut");
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_assert_true (sk_crypto_init (NULL));
  g_test_add_func ("/crypto/round-trip-and-tampering", test_round_trip_and_tampering);
  g_test_add_func ("/crypto/sealer", test_sealer);
  g_test_add_func ("/crypto/format-1", test_format_1);
  return g_test_run ();
}
