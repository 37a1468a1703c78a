/* sk-charset.c — JIS X 0208 in Shift_JIS, JIS X 0213 in Unicode, strict UTF-8 */
#define G_LOG_DOMAIN "sekisho-charset"

#include "config.h"

#include "sk-charset.h"
#include "sk-jisx0213-table.h"

gboolean
sk_sjis_to_kuten (guint8 b1, guint8 b2, int *row, int *cell)
{
  int r;

  if (b1 >= 0x81 && b1 <= 0x9F)
    r = (b1 - 0x81) * 2 + 1;
  else if (b1 >= 0xE0 && b1 <= 0xFC)
    r = (b1 - 0xC1) * 2 + 1;
  else
    return FALSE;

  if (b2 >= 0x40 && b2 <= 0x7E)
    *cell = b2 - 0x3F;
  else if (b2 >= 0x80 && b2 <= 0x9E)
    *cell = b2 - 0x40;
  else if (b2 >= 0x9F && b2 <= 0xFC)
    {
      r++;
      *cell = b2 - 0x9E;
    }
  else
    return FALSE;
  *row = r;
  return TRUE;
}

gboolean
sk_sjis_is_double_byte (guint8 b1, guint8 b2)
{
  int row, cell;
  return sk_sjis_to_kuten (b1, b2, &row, &cell);
}

typedef struct
{
  guint8 row_first, row_last; /* rows this line covers */
  guint8 cell_first, cell_last;
} SkCellRange;

/* The assigned cells of JIS X 0208:1997, row by row. */
static const SkCellRange jisx0208_cells[] = {
  { 1, 1, 1, 94 },                                                          /* symbols */
  { 2, 2, 1, 14 },   { 2, 2, 26, 33 },  { 2, 2, 42, 48 }, { 2, 2, 60, 74 }, /* symbols */
  { 2, 2, 82, 89 },  { 2, 2, 94, 94 },                                      /* */
  { 3, 3, 16, 25 },  { 3, 3, 33, 58 },  { 3, 3, 65, 90 },                   /* 0-9 A-Z a-z */
  { 4, 4, 1, 83 },                                                          /* hiragana */
  { 5, 5, 1, 86 },                                                          /* katakana */
  { 6, 6, 1, 24 },   { 6, 6, 33, 56 },                                      /* Greek */
  { 7, 7, 1, 33 },   { 7, 7, 49, 81 },                                      /* Cyrillic */
  { 8, 8, 1, 32 },                                                          /* box drawing */
  { 16, 46, 1, 94 }, { 47, 47, 1, 51 },                                     /* kanji level 1 */
  { 48, 83, 1, 94 }, { 84, 84, 1, 6 },                                      /* kanji level 2 */
};

static guint8 jisx0208_bits[65536 / 8];

static void
build_jisx0208_table (void)
{
  for (guint b1 = 0x81; b1 <= 0xFC; b1++)
    for (guint b2 = 0x40; b2 <= 0xFC; b2++)
      {
        int row, cell;
        if (!sk_sjis_to_kuten ((guint8)b1, (guint8)b2, &row, &cell))
          continue;
        for (gsize i = 0; i < G_N_ELEMENTS (jisx0208_cells); i++)
          {
            const SkCellRange *r = &jisx0208_cells[i];
            if (row >= r->row_first && row <= r->row_last && cell >= r->cell_first &&
                cell <= r->cell_last)
              {
                guint idx = b1 << 8 | b2;
                jisx0208_bits[idx >> 3] |= (guint8)(1u << (idx & 7));
                break;
              }
          }
      }
}

const guint8 *
sk_sjis_jisx0208_table (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      build_jisx0208_table ();
      g_once_init_leave (&once, 1);
    }
  return jisx0208_bits;
}

gboolean
sk_sjis_is_jisx0208 (guint8 b1, guint8 b2)
{
  const guint8 *t = sk_sjis_jisx0208_table ();
  guint idx = (guint)b1 << 8 | b2;
  return (t[idx >> 3] >> (idx & 7)) & 1;
}

gboolean
sk_sjis_is_fullwidth_kana (guint8 b1, guint8 b2)
{
  if (b1 == 0x81)
    return b2 == 0x40 /* 全角スペース */ || b2 == 0x5B /* ー */;
  /* Row 5, cells 1–86: 0x8340–0x837E and 0x8380–0x8396. */
  return b1 == 0x83 && b2 >= 0x40 && b2 <= 0x96 && b2 != 0x7F;
}

gboolean
sk_unicode_is_fullwidth_kana (gunichar c)
{
  return (c >= 0x30A1 && c <= 0x30F6) || c == 0x30FC || c == 0x3000;
}

gboolean
sk_unicode_is_jisx0213 (gunichar c)
{
  if (c >= 0x20 && c <= 0x7E)
    return TRUE;
  if (c < 0x10000)
    return (sk_jisx0213_bmp[c >> 3] >> (c & 7)) & 1;

  gsize lo = 0, hi = G_N_ELEMENTS (sk_jisx0213_astral);
  while (lo < hi)
    {
      gsize mid = lo + (hi - lo) / 2;
      if (sk_jisx0213_astral[mid] == c)
        return TRUE;
      if (sk_jisx0213_astral[mid] < c)
        lo = mid + 1;
      else
        hi = mid;
    }
  return FALSE;
}

gsize
sk_utf8_decode (const guint8 *p, gsize avail, gunichar *out)
{
  guint8 b0 = p[0];

  if (b0 < 0x80)
    {
      *out = b0;
      return 1;
    }
  if (b0 >= 0xC2 && b0 <= 0xDF)
    {
      if (avail < 2 || (p[1] & 0xC0) != 0x80)
        return 0;
      *out = (gunichar)((b0 & 0x1F) << 6 | (p[1] & 0x3F));
      return 2;
    }
  if (b0 >= 0xE0 && b0 <= 0xEF)
    {
      if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
        return 0;
      gunichar c = (gunichar)((b0 & 0x0F) << 12 | (p[1] & 0x3F) << 6 | (p[2] & 0x3F));
      if (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
      *out = c;
      return 3;
    }
  if (b0 >= 0xF0 && b0 <= 0xF4)
    {
      if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
        return 0;
      gunichar c =
          (gunichar)((b0 & 0x07) << 18 | (p[1] & 0x3F) << 12 | (p[2] & 0x3F) << 6 | (p[3] & 0x3F));
      if (c < 0x10000 || c > 0x10FFFF)
        return 0;
      *out = c;
      return 4;
    }
  return 0;
}
