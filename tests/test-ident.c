/* test-ident.c — check digits and dates against the examples of DOMAIN.md */
#include "config.h"

#include <string.h>

#include "sk-date.h"
#include "sk-ident.h"

static void
test_individual_number (void)
{
  g_assert_true (sk_individual_number_is_valid ("983205673214", 12));
  g_assert_cmpint (sk_individual_number_check_digit ("12345678901"), ==, 8);
  g_assert_true (sk_individual_number_is_valid ("123456789018", 12));
  g_assert_false (sk_individual_number_is_valid ("983205673215", 12));
  g_assert_false (sk_individual_number_is_valid ("98320567321", 11));
  g_assert_false (sk_individual_number_is_valid ("98320567321A", 12));
  /* One repeated digit is refused even where the arithmetic passes. */
  for (char d = '0'; d <= '9'; d++)
    {
      char same[13];
      memset (same, d, 12);
      same[12] = '\0';
      g_assert_false (sk_individual_number_is_valid (same, 12));
    }
  /* Remainders 0 and 1 give check digit 0: exhaustively consistent. */
  for (guint i = 0; i < 20000; i++)
    {
      char n[13];
      g_snprintf (n, sizeof n, "%011u", i * 4999u + 17u);
      n[11] = (char)('0' + sk_individual_number_check_digit (n));
      n[12] = '\0';
      g_assert_cmpint (sk_individual_number_check_digit (n), >=, 0);
      g_assert_cmpint (sk_individual_number_check_digit (n), <=, 9);
      if (strspn (n, "0") != 12)
        g_assert_true (sk_individual_number_is_valid (n, 12));
    }
}

static void
test_insurer_number (void)
{
  const char *valid[] = { "39131016", "39271408", "33120015" };
  for (gsize i = 0; i < G_N_ELEMENTS (valid); i++)
    g_assert_true (sk_insurer_number_is_valid (valid[i], 8));
  g_assert_false (sk_insurer_number_is_valid ("39131017", 8));
  g_assert_false (sk_insurer_number_is_valid ("3913101", 7));
}

static void
test_local_government_code (void)
{
  const char *valid[] = { "131016", "011002", "271403", "141003" };
  for (gsize i = 0; i < G_N_ELEMENTS (valid); i++)
    g_assert_true (sk_local_government_code_is_valid (valid[i], 6));
  g_assert_false (sk_local_government_code_is_valid ("131017", 6));
  g_assert_false (sk_local_government_code_is_valid ("13101", 5));
}

static void
test_dates (void)
{
  gint32 d;
  g_assert_true (sk_date_parse_ymd ("20240229", &d));
  g_assert_false (sk_date_parse_ymd ("20230229", &d));
  g_assert_false (sk_date_parse_ymd ("19000229", &d));
  g_assert_true (sk_date_parse_ymd ("20000229", &d));
  g_assert_false (sk_date_parse_ymd ("20231301", &d));
  g_assert_false (sk_date_parse_ymd ("18671231", &d));
  g_assert_true (sk_date_parse_ymdhms ("20261124235959"));
  g_assert_false (sk_date_parse_ymdhms ("20261124240000"));

  int y, m, dd;
  for (gint32 day = -40000; day < 40000; day += 37)
    {
      sk_date_from_days (day, &y, &m, &dd);
      g_assert_cmpint (sk_date_to_days (y, m, dd), ==, day);
    }
}

static void
test_wareki (void)
{
  gint32 w, g;
  /* Era boundaries of DOMAIN.md §5. */
  g_assert_true (sk_wareki_parse ("3640107", &w)); /* 昭和64年1月7日 */
  g_assert_true (sk_date_parse_ymd ("19890107", &g));
  g_assert_cmpint (w, ==, g);
  g_assert_false (sk_wareki_parse ("3640108", &w)); /* that day is 平成 */
  g_assert_true (sk_wareki_parse ("4010108", &w));
  g_assert_true (sk_wareki_parse ("4310430", &w));
  g_assert_false (sk_wareki_parse ("4310501", &w));
  g_assert_true (sk_wareki_parse ("5010501", &w));
  g_assert_true (sk_wareki_parse ("2010730", &w)); /* 大正元年7月30日 */
  g_assert_false (sk_wareki_parse ("2010729", &w));
  g_assert_true (sk_wareki_parse ("3011225", &w));
  g_assert_false (sk_wareki_parse ("3011224", &w));
  g_assert_false (sk_wareki_parse ("6010101", &w));
  g_assert_false (sk_wareki_parse ("3000101", &w));
  g_assert_false (sk_wareki_parse ("3650101", &w));

  char out[8];
  g_assert_true (sk_date_parse_ymd ("19430905", &g));
  g_assert_true (sk_wareki_format (g, out));
  g_assert_cmpstr (out, ==, "3180905");
  g_assert_true (sk_wareki_parse (out, &w));
  g_assert_cmpint (w, ==, g);
}

static void
test_age (void)
{
  gint32 birth, ref;
  /* Born 1 April 1960: 65 at the end of 31 March 2025 (the day before). */
  sk_date_parse_ymd ("19600401", &birth);
  sk_date_parse_ymd ("20250330", &ref);
  g_assert_cmpint (sk_age_on (birth, ref), ==, 64);
  sk_date_parse_ymd ("20250331", &ref);
  g_assert_cmpint (sk_age_on (birth, ref), ==, 65);
  /* 29 February. */
  sk_date_parse_ymd ("19600229", &birth);
  sk_date_parse_ymd ("20250227", &ref);
  g_assert_cmpint (sk_age_on (birth, ref), ==, 64);
  sk_date_parse_ymd ("20250228", &ref);
  g_assert_cmpint (sk_age_on (birth, ref), ==, 65);
}

/* The identifier checks as they were written before they were fused into
 * branch-free passes: the references for test_ident_forms. */
static gboolean
reference_digits (const char *s, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (s[i] < '0' || s[i] > '9')
      return FALSE;
  return TRUE;
}

static gboolean
reference_individual (const char *s, gsize len)
{
  static const int weights[11] = { 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2 };
  int sum = 0;

  if (len != 12 || !reference_digits (s, len))
    return FALSE;
  gboolean all_same = TRUE;
  for (gsize i = 1; i < len && all_same; i++)
    all_same = s[i] == s[0];
  if (all_same)
    return FALSE;
  for (int i = 0; i < 11; i++)
    sum += (s[i] - '0') * weights[i];
  int rem = sum % 11;
  return (rem <= 1 ? 0 : 11 - rem) == s[11] - '0';
}

static gboolean
reference_insurer (const char *s, gsize len)
{
  int sum = 0;

  if (len != 8 || !reference_digits (s, len))
    return FALSE;
  for (int i = 0; i < 7; i++)
    {
      int p = (s[6 - i] - '0') * (i % 2 == 0 ? 2 : 1);
      sum += p / 10 + p % 10;
    }
  return (10 - sum % 10) % 10 == s[7] - '0';
}

static gboolean
reference_lg (const char *s, gsize len)
{
  static const int weights[5] = { 6, 5, 4, 3, 2 };
  int sum = 0;

  if (len != 6 || !reference_digits (s, len))
    return FALSE;
  for (int i = 0; i < 5; i++)
    sum += (s[i] - '0') * weights[i];
  return (11 - sum % 11) % 10 == s[5] - '0';
}

/* The identifier checks and sk_parse_digits against their references on
 * digit strings (every check digit of many numbers, repeated digits), and
 * on the same strings with one byte spoiled by each of the bytes around
 * the digits, at each position and each length up to 19. */
static void
test_ident_forms (void)
{
  static const char spoilers[] = { '\0', ' ', '/', ':', 'A', '\x80', '\xFF', '\xB0' };
  GRand *rand = g_rand_new_with_seed (15);
  char s[20];

  for (guint n = 0; n < 200000; n++)
    {
      gsize len = 1 + n % 19;
      for (gsize i = 0; i < len; i++)
        s[i] = (char)('0' + g_rand_int_range (rand, 0, 10));
      if (n % 7 == 0)
        memset (s, s[0], len); /* one repeated digit */
      if (n % 3 == 0)
        {
          /* A spoiled byte somewhere. */
          s[g_rand_int_range (rand, 0, (gint32)len)] =
              spoilers[g_rand_int_range (rand, 0, G_N_ELEMENTS (spoilers))];
        }
      else if (len == 12 || len == 8 || len == 6)
        {
          /* Often a right check digit, so that both answers are common. */
          if (len == 12 && n % 2 == 0)
            s[11] = (char)('0' + sk_individual_number_check_digit (s));
          if (len == 8 && n % 2 == 0)
            s[7] = (char)('0' + sk_insurer_number_check_digit (s));
          if (len == 6 && n % 2 == 0)
            s[5] = (char)('0' + sk_local_government_code_check_digit (s));
        }
      s[len] = '\0';

      g_assert_cmpint (sk_individual_number_is_valid (s, len), ==, reference_individual (s, len));
      g_assert_cmpint (sk_insurer_number_is_valid (s, len), ==, reference_insurer (s, len));
      g_assert_cmpint (sk_local_government_code_is_valid (s, len), ==, reference_lg (s, len));

      guint64 got = 12345, want = 0;
      gboolean ok = sk_parse_digits (s, len, &got);
      g_assert_cmpint (ok, ==, reference_digits (s, len));
      if (ok)
        {
          for (gsize i = 0; i < len; i++)
            want = want * 10 + (guint64)(s[i] - '0');
          g_assert_cmpuint (got, ==, want);
        }
      else
        g_assert_cmpuint (got, ==, 12345); /* untouched on refusal */
    }
  g_rand_free (rand);
}

/* Every day from 1868 to 2999 as YYYYMMDD: its key is the date's digits, its
 * day number the one sk_date_from_days names, and keys order as days do.  Out
 * of range, unreal dates and non-digits are refused by both parsers alike. */
static void
test_date_keys (void)
{
  guint32 prev = 0;
  char s[16];

  for (gint32 day = sk_date_to_days (1868, 1, 1); day <= sk_date_to_days (2999, 12, 31); day++)
    {
      int y, m, d;
      guint32 key;
      gint32 days;

      sk_date_from_days (day, &y, &m, &d);
      g_snprintf (s, sizeof s, "%04d%02d%02d", y, m, d);
      g_assert_true (sk_date_parse_ymd_key (s, &key));
      g_assert_cmpuint (key, ==, (guint32)(y * 10000 + m * 100 + d));
      g_assert_cmpuint (key, >, prev);
      g_assert_true (sk_date_parse_ymd (s, &days));
      g_assert_cmpint (days, ==, day);
      prev = key;
    }

  static const int years[] = { 1, 1867, 1868, 1900, 2000, 2023, 2024, 2999, 3000, 9999 };
  for (guint i = 0; i < G_N_ELEMENTS (years); i++)
    for (int m = 0; m < 100; m++)
      for (int d = 0; d < 100; d++)
        {
          g_snprintf (s, sizeof s, "%04d%02d%02d", years[i], m, d);
          gboolean real = years[i] >= 1868 && years[i] <= 2999 && sk_date_is_valid (years[i], m, d);
          g_assert_cmpint (sk_date_parse_ymd_key (s, NULL), ==, real);
          g_assert_cmpint (sk_date_parse_ymd (s, NULL), ==, real);
        }
  g_assert_false (sk_date_parse_ymd_key ("2024022/", NULL));
  g_assert_false (sk_date_parse_ymd_key ("2024 229", NULL));
  g_assert_false (sk_date_parse_ymd_key ("20240:29", NULL));
}

/* The era table as day numbers, checked the way sk_wareki_parse did before
 * it compared YYYYMMDD keys: the reference for test_wareki_keys. */
static gboolean
reference_wareki (const char *s, gint32 *out_days)
{
  static const int eras[6][7] = {
    { 0 },
    { 1868, 1873, 1, 1, 1912, 7, 29 },
    { 1912, 1912, 7, 30, 1926, 12, 24 },
    { 1926, 1926, 12, 25, 1989, 1, 7 },
    { 1989, 1989, 1, 8, 2019, 4, 30 },
    { 2019, 2019, 5, 1, 2999, 12, 31 },
  };

  for (int i = 0; i < 7; i++)
    if (s[i] < '0' || s[i] > '9')
      return FALSE;
  int era = s[0] - '0';
  int yy = (s[1] - '0') * 10 + (s[2] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  int d = (s[5] - '0') * 10 + (s[6] - '0');
  if (era < 1 || era > 5 || yy < 1)
    return FALSE;
  const int *e = eras[era];
  int y = e[0] + yy - 1;
  if (!sk_date_is_valid (y, m, d))
    return FALSE;
  gint32 days = sk_date_to_days (y, m, d);
  if (days < sk_date_to_days (e[1], e[2], e[3]) || days > sk_date_to_days (e[4], e[5], e[6]))
    return FALSE;
  *out_days = days;
  return TRUE;
}

/* Every GYYMMDD with a month up to 13 and a day up to 32: the key and the
 * day number agree with the reference, accepted or refused alike. */
static void
test_wareki_keys (void)
{
  char s[8];

  for (int era = 0; era <= 9; era++)
    for (int yy = 0; yy <= 99; yy++)
      for (int m = 0; m <= 13; m++)
        for (int d = 0; d <= 32; d++)
          {
            gint32 want = 0, got = 0;
            guint32 key = 0;
            g_snprintf (s, sizeof s, "%d%02d%02d%02d", era, yy, m, d);
            gboolean ok = reference_wareki (s, &want);
            g_assert_cmpint (sk_wareki_parse_key (s, &key), ==, ok);
            g_assert_cmpint (sk_wareki_parse (s, &got), ==, ok);
            if (!ok)
              continue;
            g_assert_cmpint (got, ==, want);
            int y, mm, dd;
            sk_date_from_days (want, &y, &mm, &dd);
            g_assert_cmpuint (key, ==, (guint32)(y * 10000 + mm * 100 + dd));
          }
}

/* The age on the calendar (sk_age_on_ymd) against the age on day numbers
 * (sk_age_on): every birth date of 1896..2030, on reference dates around
 * the ends of months, of leap and common years and of centuries. */
static void
test_age_ymd (void)
{
  static const int ref_years[] = { 1960, 1999, 2000, 2023, 2024, 2025, 2041, 2100 };
  static const int ref_md[][2] = { { 1, 1 },  { 1, 2 }, { 2, 27 },  { 2, 28 }, { 2, 29 },
                                   { 3, 1 },  { 3, 2 }, { 3, 30 },  { 3, 31 }, { 4, 1 },
                                   { 6, 30 }, { 7, 1 }, { 12, 30 }, { 12, 31 } };

  for (gint32 birth = sk_date_to_days (1896, 1, 1); birth <= sk_date_to_days (2030, 12, 31);
       birth++)
    {
      int by, bm, bd;
      sk_date_from_days (birth, &by, &bm, &bd);
      guint32 birth_ymd = (guint32)(by * 10000 + bm * 100 + bd);
      for (guint i = 0; i < G_N_ELEMENTS (ref_years); i++)
        for (guint j = 0; j < G_N_ELEMENTS (ref_md); j++)
          {
            int ry = ref_years[i], rm = ref_md[j][0], rd = ref_md[j][1];
            if (!sk_date_is_valid (ry, rm, rd))
              continue;
            gint32 ref = sk_date_to_days (ry, rm, rd);
            guint32 ref_ymd = (guint32)(ry * 10000 + rm * 100 + rd);
            g_assert_cmpint (sk_age_on_ymd (birth_ymd, ref_ymd), ==, sk_age_on (birth, ref));
          }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ident/individual-number", test_individual_number);
  g_test_add_func ("/ident/insurer-number", test_insurer_number);
  g_test_add_func ("/ident/local-government-code", test_local_government_code);
  g_test_add_func ("/ident/forms", test_ident_forms);
  g_test_add_func ("/date/gregorian", test_dates);
  g_test_add_func ("/date/wareki", test_wareki);
  g_test_add_func ("/date/age", test_age);
  g_test_add_func ("/date/keys", test_date_keys);
  g_test_add_func ("/date/wareki-keys", test_wareki_keys);
  g_test_add_func ("/date/age-ymd", test_age_ymd);
  return g_test_run ();
}
