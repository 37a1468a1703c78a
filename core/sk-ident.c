/* sk-ident.c — check digits of 個人番号, 保険者番号 and 団体コード */
#define G_LOG_DOMAIN "sekisho-ident"

#include "config.h"

#include "sk-ident.h"

/* Whether the LEN bytes at S are ASCII digits, without a branch per byte
 * (the validator asks once per record and field). */
static inline gboolean
all_digits (const char *s, gsize len)
{
  guint bad = 0;

  for (gsize i = 0; i < len; i++)
    bad |= (guint8)(s[i] - '0') > 9;
  return bad == 0;
}

/* The validators below call these static forms, which the compiler
 * inlines; a call to the exported function is never inlined in
 * position-independent code (it could be interposed).  The exported
 * functions are the same arithmetic. */
static inline int
individual_number_check_digit (const char *first11)
{
  static const int weights[11] = { 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2 };
  int sum = 0;

  for (int i = 0; i < 11; i++)
    sum += (first11[i] - '0') * weights[i];
  int rem = sum % 11;
  return rem <= 1 ? 0 : 11 - rem;
}

int
sk_individual_number_check_digit (const char *first11)
{
  return individual_number_check_digit (first11);
}

gboolean
sk_individual_number_is_valid (const char *digits, gsize len)
{
  if (len != 12 || !all_digits (digits, len))
    return FALSE;

  /* One repeated digit: no byte differs from the first. */
  guint differ = 0;
  for (gsize i = 1; i < len; i++)
    differ |= (guint8)(digits[i] ^ digits[0]);
  if (differ == 0)
    return FALSE;

  return individual_number_check_digit (digits) == digits[11] - '0';
}

static inline int
insurer_number_check_digit (const char *first7)
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

int
sk_insurer_number_check_digit (const char *first7)
{
  return insurer_number_check_digit (first7);
}

gboolean
sk_insurer_number_is_valid (const char *digits, gsize len)
{
  if (len != 8 || !all_digits (digits, len))
    return FALSE;
  return insurer_number_check_digit (digits) == digits[7] - '0';
}

static inline int
local_government_code_check_digit (const char *first5)
{
  static const int weights[5] = { 6, 5, 4, 3, 2 };
  int sum = 0;

  for (int i = 0; i < 5; i++)
    sum += (first5[i] - '0') * weights[i];
  return (11 - sum % 11) % 10;
}

int
sk_local_government_code_check_digit (const char *first5)
{
  return local_government_code_check_digit (first5);
}

gboolean
sk_local_government_code_is_valid (const char *digits, gsize len)
{
  if (len != 6 || !all_digits (digits, len))
    return FALSE;
  return local_government_code_check_digit (digits) == digits[5] - '0';
}
