/* sk-date.h — calendar dates, 和暦 and age, as plain day numbers
 *
 * The validator checks a million birth dates per file; these helpers work on
 * ASCII digits and integers, with no allocation and no locale.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  SK_ERA_MEIJI = 1,
  SK_ERA_TAISHO = 2,
  SK_ERA_SHOWA = 3,
  SK_ERA_HEISEI = 4,
  SK_ERA_REIWA = 5,
} SkEra;

/* Days since 1970-01-01 of a proleptic Gregorian date; no validation. */
gint32
sk_date_to_days (int year, int month, int day);
void
sk_date_from_days (gint32 days, int *year, int *month, int *day);
gboolean
sk_date_is_valid (int year, int month, int day);

/* Parse exactly N ASCII digits; FALSE when any is not a digit. */
gboolean
sk_parse_digits (const char *s, gsize n, guint64 *out);

/* YYYYMMDD → day number; FALSE unless it is a real date from 1868 to 2999. */
gboolean
sk_date_parse_ymd (const char *s, gint32 *out_days);
/* YYYYMMDDhhmmss: a real date and a real time of day (no leap seconds). */
gboolean
sk_date_parse_ymdhms (const char *s);
/* YYYYMM and YYYY, years 1868..2999. */
gboolean
sk_date_parse_ym (const char *s);
gboolean
sk_date_parse_year (const char *s);

/* GYYMMDD → day number.  The era must be 1–5, the year at least 1, the
 * date real and inside its era (e.g. 昭和64年 is 1989-01-01..07 only).  Meiji
 * dates are accepted from 明治6年 (1873), when the solar calendar began, so
 * that month and day mean the same in both calendars. */
gboolean
sk_wareki_parse (const char *s, gint32 *out_days);
/* The GYYMMDD digits of a day number, or FALSE before 明治6年. */
gboolean
sk_wareki_format (gint32 days, char out[8]);

/* The same checks as sk_date_parse_ymd and sk_wareki_parse, giving the date
 * as the integer YYYYMMDD instead of a day number: of two real dates it
 * orders and compares as their day numbers do, and costs no calendar
 * arithmetic (the validator compares a million dates per file). */
gboolean
sk_date_parse_ymd_key (const char *s, guint32 *out_ymd);
gboolean
sk_wareki_parse_key (const char *s, guint32 *out_ymd);

/* Age in completed years on day REF of a person born on day BIRTH, by the
 * Japanese rule (年齢計算ニ関スル法律): a year is completed at the end of the
 * day before the birthday, so one born on 1 April is a year older on
 * 31 March. */
int
sk_age_on (gint32 birth, gint32 ref);
/* The same, of two real dates given as YYYYMMDD. */
int
sk_age_on_ymd (guint32 birth_ymd, guint32 ref_ymd);

G_END_DECLS
