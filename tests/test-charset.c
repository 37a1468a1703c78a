/* test-charset.c — the repertoires against glibc's converters */
#include "config.h"

#include <iconv.h>

#include "sk-charset.h"

/* Our JIS X 0208 table is written from the standard's row and cell ranges;
 * glibc's EUC-JP converter must agree on every one of the 94×94 cells. */
static void
test_jisx0208_matches_eucjp (void)
{
  iconv_t cd = iconv_open ("UTF-8", "EUC-JP");
  guint assigned = 0;

  g_assert_true (cd != (iconv_t)-1);
  for (int row = 1; row <= 94; row++)
    for (int cell = 1; cell <= 94; cell++)
      {
        char in[2] = { (char)(0xA0 + row), (char)(0xA0 + cell) };
        char out[8];
        char *inp = in, *outp = out;
        size_t inleft = 2, outleft = sizeof out;
        gboolean glibc = iconv (cd, &inp, &inleft, &outp, &outleft) != (size_t)-1;
        iconv (cd, NULL, NULL, NULL, NULL);

        /* JIS row/cell → Shift_JIS. */
        int b1 = row <= 62 ? 0x81 + (row - 1) / 2 : 0xE0 + (row - 63) / 2;
        int b2 = row % 2 ? cell + (cell <= 63 ? 0x3F : 0x40) : cell + 0x9E;
        gboolean ours = sk_sjis_is_jisx0208 ((guint8)b1, (guint8)b2);
        if (glibc != ours)
          g_error ("row %d cell %d: glibc %d, ours %d", row, cell, glibc, ours);
        int r, c;
        g_assert_true (sk_sjis_to_kuten ((guint8)b1, (guint8)b2, &r, &c));
        g_assert_cmpint (r, ==, row);
        g_assert_cmpint (c, ==, cell);
        assigned += ours;
      }
  iconv_close (cd);
  g_assert_cmpuint (assigned, ==, 6879);
}

static void
test_cp932_extensions_refused (void)
{
  g_assert_false (sk_sjis_is_jisx0208 (0xFB, 0xFC)); /* 髙, IBM extension */
  g_assert_false (sk_sjis_is_jisx0208 (0x87, 0x40)); /* ①, NEC row 13 */
  g_assert_false (sk_sjis_is_jisx0208 (0xED, 0x40)); /* NEC-selected IBM */
  g_assert_false (sk_sjis_is_jisx0208 (0xF0, 0x40)); /* user-defined */
  g_assert_true (sk_sjis_is_double_byte (0xF0, 0x40));
  g_assert_true (sk_sjis_is_jisx0208 (0x88, 0x9F)); /* 亜 */
  g_assert_true (sk_sjis_is_jisx0208 (0x81, 0x40)); /* 全角スペース */
  g_assert_true (sk_sjis_is_fullwidth_kana (0x83, 0x41));
  g_assert_false (sk_sjis_is_fullwidth_kana (0x82, 0xA0));
}

static void
test_jisx0213 (void)
{
  g_assert_true (sk_unicode_is_jisx0213 ('A'));
  g_assert_true (sk_unicode_is_jisx0213 (0x5FB7));  /* 德 */
  g_assert_true (sk_unicode_is_jisx0213 (0xFA11));  /* 﨑 */
  g_assert_true (sk_unicode_is_jisx0213 (0x4E9C));  /* 亜 */
  g_assert_true (sk_unicode_is_jisx0213 (0x20B9F)); /* 𠮟, plane 2 of the BMP's beyond */
  g_assert_false (sk_unicode_is_jisx0213 (0xE000)); /* private use */
  g_assert_false (sk_unicode_is_jisx0213 (0x1F600));
  g_assert_false (sk_unicode_is_jisx0213 (0x0001));
  g_assert_false (sk_unicode_is_jisx0213 (0x202E)); /* RIGHT-TO-LEFT OVERRIDE */
}

static void
test_utf8 (void)
{
  gunichar c;
  g_assert_cmpuint (sk_utf8_decode ((const guint8 *)"\xE4\xBA\x9C", 3, &c), ==, 3);
  g_assert_cmpuint (c, ==, 0x4E9C);
  g_assert_cmpuint (sk_utf8_decode ((const guint8 *)"\xC0\xAF", 2, &c), ==, 0);
  g_assert_cmpuint (sk_utf8_decode ((const guint8 *)"\xED\xA0\x80", 3, &c), ==, 0);
  g_assert_cmpuint (sk_utf8_decode ((const guint8 *)"\xF4\x90\x80\x80", 4, &c), ==, 0);
  g_assert_cmpuint (sk_utf8_decode ((const guint8 *)"\xE4\xBA", 2, &c), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/charset/jisx0208-matches-eucjp", test_jisx0208_matches_eucjp);
  g_test_add_func ("/charset/cp932-extensions-refused", test_cp932_extensions_refused);
  g_test_add_func ("/charset/jisx0213", test_jisx0213);
  g_test_add_func ("/charset/utf8", test_utf8);
  return g_test_run ();
}
