/* sk-date.c — Gregorian day numbers, 和暦 and age */
#define G_LOG_DOMAIN "sekisho-date"

#include "config.h"

#include "sk-date.h"

/* Howard Hinnant's days-from-civil, on the proleptic Gregorian calendar. */
gint32
sk_date_to_days (int year, int month, int day)
{
  int y = year - (month <= 2);
  int era = (y >= 0 ? y : y - 399) / 400;
  int yoe = y - era * 400;
  int mp = (month + 9) % 12;
  int doy = (153 * mp + 2) / 5 + day - 1;
  int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return (gint32)(era * 146097 + doe - 719468);
}

void
sk_date_from_days (gint32 days, int *year, int *month, int *day)
{
  int z = days + 719468;
  int era = (z >= 0 ? z : z - 146096) / 146097;
  int doe = z - era * 146097;
  int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int mp = (5 * doy + 2) / 153;
  int d = doy - (153 * mp + 2) / 5 + 1;
  int m = mp < 10 ? mp + 3 : mp - 9;

  *year = yoe + era * 400 + (m <= 2);
  *month = m;
  *day = d;
}

static gboolean
is_leap (int y)
{
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* MONTH is 1..12. */
static int
days_in_month (int year, int month)
{
  static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

  return mdays[month - 1] + (month == 2 && is_leap (year));
}

/* Static, so that the parsers below inline it (see sk-ident.c). */
static inline gboolean
date_is_valid (int year, int month, int day)
{
  if (month < 1 || month > 12 || day < 1)
    return FALSE;
  return day <= days_in_month (year, month);
}

gboolean
sk_date_is_valid (int year, int month, int day)
{
  return date_is_valid (year, month, day);
}

gboolean
sk_parse_digits (const char *s, gsize n, guint64 *out)
{
  guint64 v = 0;
  guint bad = 0;

  g_return_val_if_fail (n <= 19, FALSE);
  /* No branch per byte: the value is computed whatever the bytes, and
   * given only when every one was a digit. */
  for (gsize i = 0; i < n; i++)
    {
      guint d = (guint8)(s[i] - '0');
      bad |= d > 9;
      v = v * 10 + d;
    }
  if (bad != 0)
    return FALSE;
  *out = v;
  return TRUE;
}

/* Whether the N bytes at S are ASCII digits, without a branch per byte. */
static gboolean
all_digits (const char *s, gsize n)
{
  guint bad = 0;

  for (gsize i = 0; i < n; i++)
    bad |= (guint8)(s[i] - '0') > 9;
  return bad == 0;
}

static int
d2 (const char *s)
{
  return (s[0] - '0') * 10 + (s[1] - '0');
}

static int
d4 (const char *s)
{
  return d2 (s) * 100 + d2 (s + 2);
}

static gboolean
year_in_range (int y)
{
  return y >= 1868 && y <= 2999;
}

static guint32
ymd_key (int y, int m, int d)
{
  return (guint32)(y * 10000 + m * 100 + d);
}

static gint32
key_to_days (guint32 ymd)
{
  return sk_date_to_days ((int)(ymd / 10000), (int)(ymd / 100 % 100), (int)(ymd % 100));
}

gboolean
sk_date_parse_ymd_key (const char *s, guint32 *out_ymd)
{
  if (!all_digits (s, 8))
    return FALSE;
  int y = d4 (s), m = d2 (s + 4), d = d2 (s + 6);
  if (!year_in_range (y) || !date_is_valid (y, m, d))
    return FALSE;
  if (out_ymd != NULL)
    *out_ymd = ymd_key (y, m, d);
  return TRUE;
}

gboolean
sk_date_parse_ymd (const char *s, gint32 *out_days)
{
  guint32 ymd;

  if (!sk_date_parse_ymd_key (s, &ymd))
    return FALSE;
  if (out_days != NULL)
    *out_days = key_to_days (ymd);
  return TRUE;
}

gboolean
sk_date_parse_ymdhms (const char *s)
{
  if (!all_digits (s, 14) || !sk_date_parse_ymd_key (s, NULL))
    return FALSE;
  return d2 (s + 8) <= 23 && d2 (s + 10) <= 59 && d2 (s + 12) <= 59;
}

gboolean
sk_date_parse_ym (const char *s)
{
  if (!all_digits (s, 6))
    return FALSE;
  int m = d2 (s + 4);
  return year_in_range (d4 (s)) && m >= 1 && m <= 12;
}

gboolean
sk_date_parse_year (const char *s)
{
  return all_digits (s, 4) && year_in_range (d4 (s));
}

typedef struct
{
  int base_year; /* Gregorian year of 元年 */
  int first_y, first_m, first_d;
  int last_y, last_m, last_d;
} SkEraSpan;

/* Meiji is accepted from 1873-01-01 (see the header); the rest are the
 * official first and last days of each era. */
static const SkEraSpan eras[] = {
  [SK_ERA_MEIJI] = { 1868, 1873, 1, 1, 1912, 7, 29 },
  [SK_ERA_TAISHO] = { 1912, 1912, 7, 30, 1926, 12, 24 },
  [SK_ERA_SHOWA] = { 1926, 1926, 12, 25, 1989, 1, 7 },
  [SK_ERA_HEISEI] = { 1989, 1989, 1, 8, 2019, 4, 30 },
  [SK_ERA_REIWA] = { 2019, 2019, 5, 1, 2999, 12, 31 },
};

gboolean
sk_wareki_parse_key (const char *s, guint32 *out_ymd)
{
  if (!all_digits (s, 7))
    return FALSE;
  int era = s[0] - '0';
  int yy = d2 (s + 1), m = d2 (s + 3), d = d2 (s + 5);
  if (era < SK_ERA_MEIJI || era > SK_ERA_REIWA || yy < 1)
    return FALSE;

  const SkEraSpan *span = &eras[era];
  int y = span->base_year + yy - 1;
  if (!date_is_valid (y, m, d))
    return FALSE;
  /* Real dates compare as their YYYYMMDD keys do. */
  guint32 ymd = ymd_key (y, m, d);
  if (ymd < ymd_key (span->first_y, span->first_m, span->first_d) ||
      ymd > ymd_key (span->last_y, span->last_m, span->last_d))
    return FALSE;
  if (out_ymd != NULL)
    *out_ymd = ymd;
  return TRUE;
}

gboolean
sk_wareki_parse (const char *s, gint32 *out_days)
{
  guint32 ymd;

  if (!sk_wareki_parse_key (s, &ymd))
    return FALSE;
  if (out_days != NULL)
    *out_days = key_to_days (ymd);
  return TRUE;
}

gboolean
sk_wareki_format (gint32 days, char out[8])
{
  for (int era = SK_ERA_REIWA; era >= SK_ERA_MEIJI; era--)
    {
      const SkEraSpan *span = &eras[era];
      if (days < sk_date_to_days (span->first_y, span->first_m, span->first_d))
        continue;
      int y, m, d;
      sk_date_from_days (days, &y, &m, &d);
      int yy = y - span->base_year + 1;
      if (yy > 99)
        return FALSE;
      g_snprintf (out, 8, "%d%02d%02d%02d", era, yy, m, d);
      return TRUE;
    }
  return FALSE;
}

int
sk_age_on (gint32 birth, gint32 ref)
{
  int by, bm, bd, ry, rm, rd;

  sk_date_from_days (birth, &by, &bm, &bd);
  sk_date_from_days (ref, &ry, &rm, &rd);

  /* The birthday in the reference year; 29 February becomes 1 March in a
   * common year.  The age rises at the end of the day before it. */
  gint32 birthday = (bm == 2 && bd == 29 && !is_leap (ry)) ? sk_date_to_days (ry, 3, 1)
                                                           : sk_date_to_days (ry, bm, bd);
  int age = ry - by;
  if (ref < birthday - 1)
    age--;
  return age;
}

/* The same rule as sk_age_on, on the calendar instead of day numbers (the
 * validator asks it once per record): the age rises on the day before the
 * birthday, so compare the reference date with that day in its year. */
int
sk_age_on_ymd (guint32 birth_ymd, guint32 ref_ymd)
{
  int by = (int)(birth_ymd / 10000), bm = (int)(birth_ymd / 100 % 100), bd = (int)(birth_ymd % 100);
  int ry = (int)(ref_ymd / 10000), rmd = (int)(ref_ymd % 10000);

  if (bm == 2 && bd == 29 && !is_leap (ry))
    bm = 3, bd = 1;
  int age = ry - by;
  /* Born on 1 January: the day before is in the year before, and no date of
   * the reference year comes before it. */
  if (bm == 1 && bd == 1)
    return age;
  int before_m = bd > 1 ? bm : bm - 1;
  int before_d = bd > 1 ? bd - 1 : days_in_month (ry, bm - 1);
  if (rmd < before_m * 100 + before_d)
    age--;
  return age;
}
