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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ident/individual-number", test_individual_number);
  g_test_add_func ("/ident/insurer-number", test_insurer_number);
  g_test_add_func ("/ident/local-government-code", test_local_government_code);
  g_test_add_func ("/date/gregorian", test_dates);
  g_test_add_func ("/date/wareki", test_wareki);
  g_test_add_func ("/date/age", test_age);
  return g_test_run ();
}
