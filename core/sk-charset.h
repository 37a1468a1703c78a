/* sk-charset.h — the repertoires of the two encoding profiles (DOMAIN.md §2)
 *
 * P1: Shift_JIS bytes limited to JIS X 0201 and JIS X 0208.  CP932's NEC
 * special characters (row 13), NEC-selected and IBM extensions (0xED–0xEE,
 * 0xFA–0xFC) and the user-defined area (0xF0–0xF9) are outside it.
 * P2: UTF-8 limited to the characters of JIS X 0213:2004 plus ASCII.
 *
 * Nothing here converts: the validator checks bytes where they are.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TRUE when B1 B2 is a Shift_JIS double-byte code of an assigned JIS X 0208
 * character. */
gboolean
sk_sjis_is_jisx0208 (guint8 b1, guint8 b2);
/* TRUE when B1 B2 is a syntactically valid CP932 double-byte code at all
 * (lead 0x81–0x9F or 0xE0–0xFC, trail 0x40–0x7E or 0x80–0xFC): used to tell
 * "a character of another repertoire" from "not Shift_JIS". */
gboolean
sk_sjis_is_double_byte (guint8 b1, guint8 b2);
/* 全角カタカナ, ー and 全角スペース. */
gboolean
sk_sjis_is_fullwidth_kana (guint8 b1, guint8 b2);
/* Map a double-byte code to JIS X 0208 row (区) and cell (点), 1-based. */
gboolean
sk_sjis_to_kuten (guint8 b1, guint8 b2, int *row, int *cell);

/* A 64 Ki-bit table of sk_sjis_is_jisx0208 indexed by (b1 << 8 | b2), for
 * the validator's inner loop. */
const guint8 *
sk_sjis_jisx0208_table (void);

/* TRUE when the code point is ASCII printable or a character of JIS X 0213. */
gboolean
sk_unicode_is_jisx0213 (gunichar c);
gboolean
sk_unicode_is_fullwidth_kana (gunichar c);

/* Decode one UTF-8 character strictly (no overlongs, no surrogates, nothing
 * above U+10FFFF).  Returns its length, or 0 when the bytes are not UTF-8. */
gsize
sk_utf8_decode (const guint8 *p, gsize avail, gunichar *out);

G_END_DECLS
