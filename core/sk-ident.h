/* sk-ident.h — the check-digit identifiers of DOMAIN.md §4
 *
 * Each function takes ASCII digits and their length and answers whether the
 * identifier is well formed.  A check digit proves no assignment; it only
 * catches typing and transcription errors.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* 個人番号: 12 digits, weights 6,5,4,3,2,7,6,5,4,3,2 left to right on the first
 * 11; check = 11 - (sum mod 11), or 0 when the remainder is 0 or 1.  Numbers of
 * one repeated digit are refused although some pass the arithmetic. */
gboolean
sk_individual_number_is_valid (const char *digits, gsize len);
int
sk_individual_number_check_digit (const char *first11);

/* 保険者番号: 8 digits, Luhn over the first 7 (weights 2,1,2,… from the right,
 * two-digit products summed as digits).  The check digit functions take
 * ASCII digits only. */
gboolean
sk_insurer_number_is_valid (const char *digits, gsize len);
int
sk_insurer_number_check_digit (const char *first7);

/* 全国地方公共団体コード: 6 digits, weights 6,5,4,3,2 on the first 5,
 * check = (11 - sum mod 11) mod 10. */
gboolean
sk_local_government_code_is_valid (const char *digits, gsize len);
int
sk_local_government_code_check_digit (const char *first5);

G_END_DECLS
