/* sk-validator-rules.c — the rules of one field beyond its type
 *
 * Constant values, code lists, prefixes, check digits, dates, bounds and the
 * inquiry allow-list: for the few fields that have rules, out of line.
 */
#define G_LOG_DOMAIN "sekisho-validator"

#include "config.h"

#include <string.h>

#include "sk-date.h"
#include "sk-ident.h"
#include "sk-policy-private.h"
#include "sk-record-plan.h"
#include "sk-validator-private.h"
#include "sk-validator.h"

/* ---- the rules of one field, shared by P1 and P2 ------------------------ */

static gboolean
value_is_numeric (const SkValue *val)
{
  return val->trimmed > 0 && val->trimmed <= 19;
}

G_NO_INLINE void
_sk_validator_check_value_rules (SkValidator *v,
                                 const SkFieldPlan *fp,
                                 SkValue *val,
                                 guint64 record)
{
  const SkField *f = fp->field;
  const char *s = (const char *)val->p;

  if (f->needs_number && value_is_numeric (val))
    sk_parse_digits (s, val->trimmed, &val->number);

  if (f->const_value != NULL &&
      (fp->const_len != val->trimmed || memcmp (f->const_value, s, val->trimmed) != 0))
    {
      _sk_validator_add_finding (v, SK_ERROR_CODE_VALUE, record, f);
      return;
    }
  if (f->codes.n > 0 && !sk_code_set_contains (&fp->codes, s, val->trimmed))
    {
      _sk_validator_add_finding (v, SK_ERROR_CODE_VALUE, record, f);
      return;
    }
  /* Within the value: a value shorter than the prefix does not start with
   * it, whatever the next field holds. */
  if (f->prefix != NULL &&
      (val->trimmed < fp->prefix_len || memcmp (s, f->prefix, fp->prefix_len) != 0))
    {
      _sk_validator_add_finding (v, SK_ERROR_CODE_VALUE, record, f);
      return;
    }

  gboolean check_ok = TRUE;
  switch (f->check)
    {
    case SK_CHECK_NONE:
      break;
    case SK_CHECK_INDIVIDUAL_NUMBER:
      check_ok = sk_individual_number_is_valid (s, val->trimmed);
      break;
    case SK_CHECK_INSURER_NUMBER:
      check_ok = sk_insurer_number_is_valid (s, val->trimmed);
      break;
    case SK_CHECK_LOCAL_GOVERNMENT_CODE:
      check_ok = sk_local_government_code_is_valid (s, val->trimmed);
      break;
    }
  if (!check_ok)
    {
      _sk_validator_add_finding (v, SK_ERROR_CHECK_DIGIT, record, f);
      return;
    }

  gboolean date_ok = TRUE;
  switch (f->date)
    {
    case SK_DATE_NONE:
      break;
    case SK_DATE_YMD:
      date_ok = sk_date_parse_ymd_key (s, &val->ymd);
      break;
    case SK_DATE_YMDHMS:
      date_ok = sk_date_parse_ymdhms (s);
      break;
    case SK_DATE_WAREKI:
      date_ok = sk_wareki_parse_key (s, &val->ymd);
      break;
    case SK_DATE_YM:
      date_ok = sk_date_parse_ym (s);
      break;
    case SK_DATE_YEAR:
      date_ok = sk_date_parse_year (s);
      break;
    }
  if (!date_ok)
    {
      _sk_validator_add_finding (v, SK_ERROR_DATE_INVALID, record, f);
      return;
    }

  if ((f->has_min && val->number < f->min) || (f->has_max && val->number > f->max))
    {
      _sk_validator_add_finding (
          v, f->date != SK_DATE_NONE ? SK_ERROR_DATE_INVALID : SK_ERROR_CODE_VALUE, record, f);
      return;
    }
  if (f->allow_list_inquiry && !sk_policy_inquiry_allowed (v->policy, s, val->trimmed))
    {
      _sk_validator_add_finding (v, SK_ERROR_INQUIRY_NOT_ALLOWED, record, f);
      return;
    }
  val->ok = TRUE;
}
