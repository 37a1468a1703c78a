/* test-package-decrypt.c — decryption: what gpg makes, what the encrypted data
 * holds, and a package read once */
#include "config.h"

#include "sk-test-package.h"

/* ---- 3. decryption ------------------------------------------------------ */

/* CIPHER written as a package and signed by the standard key. */
static char *
package_from_cipher (Fixture *fx, GBytes *cipher)
{
  char *pkg = new_package_path (fx);
  write_bytes (pkg, cipher);
  sign_package (fx, pkg);
  return pkg;
}

/* The stock gpg CLI: `gpg ARGS… --encrypt` over PLAIN (ARGS NULL-terminated),
 * as a package signed by the standard key. */
static char *
stock_encrypt (Fixture *fx, GBytes *plain, const char *first, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  g_ptr_array_add (args, (gpointer) "--output");
  g_ptr_array_add (args, (gpointer) "-");
  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer)a);
  va_end (ap);
  g_ptr_array_add (args, (gpointer) "--encrypt");
  g_autoptr (GBytes) cipher = sk_test_keys_gpgv (plain, args);
  g_assert_cmpuint (g_bytes_get_size (cipher), >, 0);
  return package_from_cipher (fx, cipher);
}

/* The stock CLI's plain encryption is what a package is: accepted. */
void
test_decrypt_stock_plain (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) tar = valid_tar (fx, 5);
  g_autofree char *pkg =
      stock_encrypt (fx, tar, "--compress-algo", "none", "-r", sk_test_keys.terminal, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkPackageResult) result = check (fx, NULL, pkg, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_cmpuint (result->manifest->files->len, ==, 1);
}

void
test_decrypt_wrong_recipient (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) tar = valid_tar (fx, 5);
  g_autofree char *pkg =
      stock_encrypt (fx, tar, "--compress-algo", "none", "-r", sk_test_keys.mallory, NULL);

  assert_refused (fx, NULL, pkg, SK_ERROR_DECRYPT_WRONG_RECIPIENT);
}

void
test_decrypt_signed_inside (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) tar = valid_tar (fx, 5);
  g_autofree char *pkg = stock_encrypt (fx, tar, "-u", sk_test_keys.standard, "--sign", "-r",
                                        sk_test_keys.terminal, NULL);

  assert_refused (fx, NULL, pkg, SK_ERROR_DECRYPT_NOT_PLAIN);
}

/* Signed inside without compression: the tar streams through whole before
 * GnuPG reports the signature. */
void
test_decrypt_signed_inside_plain (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) tar = valid_tar (fx, 5);
  g_autofree char *pkg =
      stock_encrypt (fx, tar, "--compress-algo", "none", "-u", sk_test_keys.standard, "--sign",
                     "-r", sk_test_keys.terminal, NULL);

  assert_refused (fx, NULL, pkg, SK_ERROR_DECRYPT_NOT_PLAIN);
}

void
test_decrypt_compressed (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) tar = valid_tar (fx, 200);
  g_autofree char *pkg = stock_encrypt (fx, tar, "--compress-algo", "zlib", "--compress-level", "9",
                                        "-r", sk_test_keys.terminal, NULL);

  assert_refused (fx, NULL, pkg, SK_ERROR_DECRYPT_NOT_PLAIN);
}

/* Compressed inside, behind OpenPGP marker packets (tag 10, which every
 * implementation must ignore) that make the message longer than its
 * plaintext: still compressed, still refused. */
void
test_decrypt_compressed_padded (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) tar = valid_tar (fx, 5);
  g_autoptr (GBytes) compressed =
      sk_test_keys_gpg (tar, "--compress-algo", "zlib", "--compress-level", "9", "-r",
                        sk_test_keys.terminal, "--output", "-", "--encrypt", NULL);
  g_autoptr (GByteArray) padded = g_byte_array_new ();
  static const guint8 marker[] = { 0xA8, 0x03, 'P', 'G', 'P' };

  for (gsize i = 0; i < g_bytes_get_size (tar) / sizeof marker + 1; i++)
    g_byte_array_append (padded, marker, sizeof marker);
  g_byte_array_append (padded, g_bytes_get_data (compressed, NULL),
                       (guint)g_bytes_get_size (compressed));
  g_assert_cmpuint (padded->len, >, g_bytes_get_size (tar));
  g_autoptr (GBytes) cipher = g_bytes_new (padded->data, padded->len);

  /* Stock gpg reads it. */
  g_autofree char *pkg = package_from_cipher (fx, cipher);
  g_autoptr (GBytes) plain = sk_test_keys_gpg (NULL, "--output", "-", "--decrypt", pkg, NULL);
  g_assert_true (g_bytes_equal (plain, tar));

  assert_refused (fx, NULL, pkg, SK_ERROR_DECRYPT_NOT_PLAIN);
}

void
test_decrypt_random (Fixture *fx, gconstpointer data)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (20261124);
  g_autofree guint8 *noise = g_malloc (4096);
  for (gsize i = 0; i < 4096; i++)
    noise[i] = (guint8)g_rand_int_range (rand, 0, 256);
  /* Not an OpenPGP packet header: bit 7 clear. */
  noise[0] &= 0x7F;
  g_autoptr (GBytes) cipher = g_bytes_new (noise, 4096);
  g_autofree char *pkg = package_from_cipher (fx, cipher);

  assert_refused (fx, NULL, pkg, SK_ERROR_DECRYPT_FAILED);
}

void
test_decrypt_truncated (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) tar = valid_tar (fx, 50);
  g_autofree char *whole = seal (fx, tar);
  g_autoptr (GBytes) bytes = read_bytes (whole);
  g_autoptr (GBytes) cut = g_bytes_new_from_bytes (bytes, 0, g_bytes_get_size (bytes) / 2);
  g_autofree char *pkg = package_from_cipher (fx, cut);

  assert_refused (fx, NULL, pkg, SK_ERROR_DECRYPT_FAILED);

  /* Cut by only its last byte: the whole tar has streamed by, and was even
   * written out, before GnuPG finds the message incomplete. */
  g_autoptr (GBytes) cut1 = g_bytes_new_from_bytes (bytes, 0, g_bytes_get_size (bytes) - 1);
  g_autofree char *pkg1 = package_from_cipher (fx, cut1);
  assert_refused (fx, NULL, pkg1, SK_ERROR_DECRYPT_FAILED);
}

/* The last byte of the message (in its integrity check) altered before the
 * standard key signed it: every byte of the tar is intact, the message is
 * not. */
void
test_decrypt_integrity (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) tar = valid_tar (fx, 50);
  g_autofree char *whole = seal (fx, tar);
  g_autoptr (GBytes) bytes = read_bytes (whole);
  gsize len;
  guint8 *copy = bytes_dup (bytes, &len);
  copy[len - 1] ^= 0x01;
  g_autoptr (GBytes) altered = g_bytes_new_take (copy, len);
  g_autofree char *pkg = package_from_cipher (fx, altered);

  assert_refused (fx, NULL, pkg, SK_ERROR_DECRYPT_FAILED);
}

/* ---- read once ------------------------------------------------------ */

/* Between the signature and decryption, the medium answers differently:
 * every byte of the file is overwritten in place (the same inode, so that
 * even a descriptor kept open would see it). */
static void
spoil_package (const char *name, gpointer user_data)
{
  const char *pkg = user_data;
  if (!g_str_equal (name, "check-after-verify"))
    return;
  int fd = open (pkg, O_WRONLY | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  struct stat st;
  g_assert_cmpint (fstat (fd, &st), ==, 0);
  g_autofree guint8 *zeros = g_malloc0 ((gsize)st.st_size);
  g_assert_cmpint (write (fd, zeros, (gsize)st.st_size), ==, st.st_size);
  close (fd);
}

/* check reads the package once: what it decrypts is what it verified,
 * whatever the medium says afterwards. */
void
test_check_reads_once (Fixture *fx, gconstpointer data)
{
  if (!sk_fault_compiled_in ())
    {
      g_test_skip ("the hook needs a build with fault points");
      return;
    }
  g_autofree char *file = synth (fx, "KNY01", 1, 50);
  const char *files[] = { file, NULL };
  g_autofree char *pkg = pack (fx, "subscriber", files);
  g_autoptr (GError) error = NULL;

  sk_fault_set_hook (spoil_package, pkg);
  g_autoptr (SkPackageResult) result = check (fx, NULL, pkg, NULL, &error);
  sk_fault_set_hook (NULL, NULL);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  assert_extracted (fx, files);

  /* The file is spoiled indeed: read again, it is refused. */
  g_autoptr (GError) again = NULL;
  g_autoptr (SkPackageResult) refused = check (fx, NULL, pkg, NULL, &again);
  g_assert_error (again, SK_ERROR, SK_ERROR_SIG_BAD);
  g_assert_null (refused);
}

/* ---- what the encrypted data holds ----------------------------------- */

/* A new-format packet TAG with BODY (five-octet length). */
static void
append_packet (GByteArray *out, guint tag, const guint8 *body, gsize len)
{
  guint8 head[6] = { 0xC0 | tag,         0xFF,       (guint8)(len >> 24), (guint8)(len >> 16),
                     (guint8)(len >> 8), (guint8)len };
  g_byte_array_append (out, head, sizeof head);
  g_byte_array_append (out, body, (guint)len);
}

/* A literal data packet of FORMAT ('b', 't', …) holding DATA. */
static void
append_literal (GByteArray *out, char format, GBytes *data)
{
  g_autoptr (GByteArray) body = g_byte_array_new ();
  guint8 meta[6] = { (guint8)format, 0, 0, 0, 0, 0 };
  g_byte_array_append (body, meta, sizeof meta);
  g_byte_array_append (body, g_bytes_get_data (data, NULL), (guint)g_bytes_get_size (data));
  append_packet (out, 11, body->data, body->len);
}

/* A message to the terminal's key whose encrypted data holds INNER, packets
 * of our own making: the session-key packet of a message stock gpg made,
 * then an integrity-protected packet made here with that message's session
 * key (random prefix, INNER, the detection code; AES in OpenPGP's CFB). */
static GBytes *
encrypt_inner (GByteArray *inner)
{
  g_autoptr (GBytes) tiny = g_bytes_new_static ("x", 1);
  g_autoptr (GBytes) msg = sk_test_keys_gpg (tiny, "-r", sk_test_keys.terminal, "--cipher-algo",
                                             "AES256", "--output", "-", "--encrypt", NULL);
  g_autoptr (GBytes) status = sk_test_keys_gpg (msg, "--status-fd", "1", "--show-session-key",
                                                "--output", "/dev/null", "--decrypt", NULL);
  g_autofree char *text = g_strndup (g_bytes_get_data (status, NULL), g_bytes_get_size (status));
  const char *at = strstr (text, "SESSION_KEY 9:");
  g_assert_nonnull (at);
  guint8 key[32];
  for (guint i = 0; i < 32; i++)
    key[i] = (guint8)(g_ascii_xdigit_value (at[14 + 2 * i]) << 4 |
                      g_ascii_xdigit_value (at[15 + 2 * i]));

  /* The session-key packet, as gpg wrote it. */
  gsize len = 0, off = 0, body = 0;
  guint tag = 0;
  const guint8 *data = g_bytes_get_data (msg, &len);
  g_assert_true (sk_pgp_read_header (data, len, &off, &tag, &body));
  g_assert_cmpuint (tag, ==, 1);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_byte_array_append (out, data, (guint)(off + body));

  g_autoptr (GByteArray) plain = g_byte_array_new ();
  guint8 prefix[18];
  for (guint i = 0; i < 16; i++)
    prefix[i] = (guint8)g_random_int ();
  prefix[16] = prefix[14];
  prefix[17] = prefix[15];
  g_byte_array_append (plain, prefix, sizeof prefix);
  g_byte_array_append (plain, inner->data, inner->len);
  static const guint8 mdc_head[] = { 0xD3, 0x14 };
  g_byte_array_append (plain, mdc_head, 2);
  guint8 sha1[20];
  gcry_md_hash_buffer (GCRY_MD_SHA1, sha1, plain->data, plain->len);
  g_byte_array_append (plain, sha1, sizeof sha1);

  gcry_cipher_hd_t cipher;
  guint8 iv[16] = { 0 };
  g_assert_cmpint (gcry_cipher_open (&cipher, GCRY_CIPHER_AES256, GCRY_CIPHER_MODE_CFB, 0), ==, 0);
  g_assert_cmpint (gcry_cipher_setkey (cipher, key, sizeof key), ==, 0);
  g_assert_cmpint (gcry_cipher_setiv (cipher, iv, sizeof iv), ==, 0);
  g_assert_cmpint (gcry_cipher_encrypt (cipher, plain->data, plain->len, NULL, 0), ==, 0);
  gcry_cipher_close (cipher);

  g_autoptr (GByteArray) seipd = g_byte_array_new ();
  static const guint8 version[] = { 1 };
  g_byte_array_append (seipd, version, 1);
  g_byte_array_append (seipd, plain->data, plain->len);
  append_packet (out, 18, seipd->data, seipd->len);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* Only one binary literal data packet is taken from inside the encryption
 * (the gap of session 2: a trusted signer could pad inside it).  The first
 * case shows the message made here is one the station reads. */
void
test_decrypt_inner (Fixture *fx, gconstpointer data)
{
  g_autoptr (GBytes) tar = valid_tar (fx, 5);
  static const guint8 marker[] = { 'P', 'G', 'P' };
  static const guint8 padding[32] = { 0 };
  g_autoptr (GBytes) extra = g_bytes_new_static ("x", 1);
  struct
  {
    const char *what;
    SkErrorCode code; /* 0: accepted */
  } cases[] = {
    { "one binary literal", 0 },
    { "two literals", SK_ERROR_DECRYPT_NOT_PLAIN },
    { "a text literal", SK_ERROR_DECRYPT_NOT_PLAIN },
    { "a literal, then padding", SK_ERROR_DECRYPT_NOT_PLAIN },
    { "a marker, then a literal", SK_ERROR_DECRYPT_NOT_PLAIN },
    { "no packet at all", SK_ERROR_DECRYPT_NOT_PLAIN },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GByteArray) inner = g_byte_array_new ();
      switch (i)
        {
        case 0:
          append_literal (inner, 'b', tar);
          break;
        case 1:
          append_literal (inner, 'b', tar);
          append_literal (inner, 'b', extra);
          break;
        case 2:
          append_literal (inner, 't', tar);
          break;
        case 3:
          append_literal (inner, 'b', tar);
          append_packet (inner, 21, padding, sizeof padding);
          break;
        case 4:
          append_packet (inner, 10, marker, sizeof marker);
          append_literal (inner, 'b', tar);
          break;
        default:
          break;
        }
      g_test_message ("inside: %s", cases[i].what);
      g_autoptr (GBytes) cipher = encrypt_inner (inner);
      g_autofree char *pkg = package_from_cipher (fx, cipher);
      if (cases[i].code == 0)
        {
          g_autoptr (GError) error = NULL;
          g_autoptr (SkPackageResult) result = check (fx, NULL, pkg, NULL, &error);
          g_assert_no_error (error);
          g_assert_nonnull (result);
          /* ... and stock gpg reads it too. */
          g_autoptr (GBytes) plain =
              sk_test_keys_gpg (NULL, "--output", "-", "--decrypt", pkg, NULL);
          g_assert_true (g_bytes_equal (plain, tar));
          /* Clear the extract folder for the refusals that follow. */
          g_autoptr (GDir) dir = g_dir_open (fx->extract, 0, NULL);
          for (const char *n = dir != NULL ? g_dir_read_name (dir) : NULL; n != NULL;
               n = g_dir_read_name (dir))
            {
              g_autofree char *path = g_build_filename (fx->extract, n, NULL);
              g_assert_cmpint (g_unlink (path), ==, 0);
            }
        }
      else
        assert_refused (fx, NULL, pkg, cases[i].code);
    }
}
