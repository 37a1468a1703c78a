/* sk-ident.c — check digits of 個人番号, 保険者番号 and 団体コード */
#define G_LOG_DOMAIN "sekisho-ident"

#include "config.h"

#include "sk-ident.h"

static gboolean
all_digits (const char *s, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (s[i] < '0' || s[i] > '9')
      return FALSE;
  return TRUE;
}

int
sk_individual_number_check_digit (const char *first11)
{
  static const int weights[11] = { 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2 };
  int sum = 0;

  for (int i = 0; i < 11; i++)
    sum += (first11[i] - '0') * weights[i];
  int rem = sum % 11;
  return rem <= 1 ? 0 : 11 - rem;
}

gboolean
sk_individual_number_is_valid (const char *digits, gsize len)
{
  if (len != 12 || !all_digits (digits, len))
    return FALSE;

  gboolean all_same = TRUE;
  for (gsize i = 1; i < len && all_same; i++)
    all_same = digits[i] == digits[0];
  if (all_same)
    return FALSE;

  return sk_individual_number_check_digit (digits) == digits[11] - '0';
}

int
sk_insurer_number_check_digit (const char *first7)
{
  int sum = 0;

  /* From the right: the rightmost of the seven digits has weight 2.  The
   * digit sum of a product P of at most 18 is P - 9 when P has two digits,
   * without a division (this runs once per record). */
  for (int i = 0; i < 7; i++)
    {
      int d = first7[6 - i] - '0';
      int p = i % 2 == 0 ? 2 * d : d;
      sum += p > 9 ? p - 9 : p;
    }
  return (10 - sum % 10) % 10;
}

gboolean
sk_insurer_number_is_valid (const char *digits, gsize len)
{
  if (len != 8 || !all_digits (digits, len))
    return FALSE;
  return sk_insurer_number_check_digit (digits) == digits[7] - '0';
}

int
sk_local_government_code_check_digit (const char *first5)
{
  static const int weights[5] = { 6, 5, 4, 3, 2 };
  int sum = 0;

  for (int i = 0; i < 5; i++)
    sum += (first5[i] - '0') * weights[i];
  return (11 - sum % 11) % 10;
}

gboolean
sk_local_government_code_is_valid (const char *digits, gsize len)
{
  if (len != 6 || !all_digits (digits, len))
    return FALSE;
  return sk_local_government_code_check_digit (digits) == digits[5] - '0';
}
