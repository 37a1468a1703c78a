/* sk-synth.c — the synthetic-data generator */
#define G_LOG_DOMAIN "sekisho-synth"

#include "config.h"

#include <errno.h>
#include <string.h>

#include "sk-date.h"
#include "sk-error.h"
#include "sk-ident.h"
#include "sk-policy-private.h"
#include "sk-synth.h"

#define MAX_FIELDS 256

/* Obviously fictitious text: 試験 (test), 架空 (imaginary), 見本 (sample). */
static const char *const pool_name[] = {
  "試験　太郎", "試験　花子", "見本　一郎", "見本　春子", "架空　次郎", "架空　秋子",
};
static const char *const pool_kana[] = {
  "シケン　タロウ", "シケン　ハナコ", "ミホン　イチロウ",
  "ミホン　ハルコ", "カクウ　ジロウ", "カクウ　アキコ",
};
static const char *const pool_address[] = {
  "架空県見本市試験町一丁目１番１号",
  "架空県見本市試験町二丁目２番２号",
  "架空県模擬郡検証村大字試験３番地",
};
static const char *const pool_text[] = { "試験用の照会理由", "見本の文章" };
static const char *const pool_message[] = { "試験用メッセージ", "見本の処理結果" };
static const char *const pool_payload[] = { "試験用提供内容", "見本の提供データ" };

typedef struct
{
  guint64 state;
} SkRng;

static guint64
rng_next (SkRng *r)
{
  guint64 z = (r->state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static guint64
rng_below (SkRng *r, guint64 n)
{
  return n == 0 ? 0 : rng_next (r) % n;
}

static void
rng_seed (SkRng *r, guint64 seed, const char *kind_id, guint64 index)
{
  r->state = seed ^ g_str_hash (kind_id) * G_GUINT64_CONSTANT (0x100000001b3);
  r->state ^= index * G_GUINT64_CONSTANT (0xd6e8feb86659fd93);
  rng_next (r);
}

void
sk_synth_options_init (SkSynthOptions *opts)
{
  memset (opts, 0, sizeof *opts);
  opts->seed = 1;
  opts->records = 10;
  opts->seq = 1;
}

static const char *
opt_lg (const SkSynthOptions *opts)
{
  return opts->lg_code != NULL ? opts->lg_code : "039004";
}

static const char *
opt_ts (const SkSynthOptions *opts)
{
  return opts->timestamp != NULL ? opts->timestamp : "20261124153000";
}

static char *
opt_case (const SkSynthOptions *opts)
{
  if (opts->case_id != NULL)
    return g_strdup (opts->case_id);
  return g_strdup_printf ("C%019" G_GUINT64_FORMAT,
                          opts->seed % G_GUINT64_CONSTANT (10000000000000000000));
}

char *
sk_synth_file_name (const SkKind *kind, const SkSynthOptions *opts)
{
  const char *ext = kind->profile == SK_PROFILE_P1 ? "DAT" : "CSV";
  return g_strdup_printf ("%s_%s_%s_%03u.%s", opt_lg (opts), kind->id, opt_ts (opts), opts->seq,
                          ext);
}

/* ---- one record's values (UTF-8 text, before padding and encoding) ----- */

typedef struct
{
  GString *text[MAX_FIELDS];
  gboolean done[MAX_FIELDS];
  gint32 days[MAX_FIELDS]; /* ymd values */
} SkRecordValues;

static void
values_reset (SkRecordValues *rv, guint n)
{
  for (guint i = 0; i < n; i++)
    {
      if (rv->text[i] == NULL)
        rv->text[i] = g_string_new (NULL);
      g_string_truncate (rv->text[i], 0);
      rv->done[i] = FALSE;
      rv->days[i] = 0;
    }
}

static void
values_clear (SkRecordValues *rv)
{
  for (guint i = 0; i < MAX_FIELDS; i++)
    if (rv->text[i] != NULL)
      g_string_free (rv->text[i], TRUE);
}

static void
set_digits (GString *s, guint64 v, guint width)
{
  g_string_printf (s, "%0*" G_GUINT64_FORMAT, (int)width, v);
  if (s->len > width)
    g_string_erase (s, 0, (gssize)(s->len - width));
}

static void
set_date (GString *s, gint32 days)
{
  int y, m, d;
  sk_date_from_days (days, &y, &m, &d);
  g_string_printf (s, "%04d%02d%02d", y, m, d);
}

/* A value that is "blank" for the field: filled by padding later. */
static void
set_blank (const SkKind *kind, const SkField *f, GString *s)
{
  g_string_truncate (s, 0);
  if (kind->profile == SK_PROFILE_P1 && f->type == SK_FIELD_DIGITS)
    set_digits (s, 0, f->length);
}

static gboolean
condition_holds (const SkCondition *c, SkRecordValues *rv)
{
  if (c->field < 0)
    return FALSE;
  return _sk_codes_contain (&c->codes, rv->text[c->field]->str, rv->text[c->field]->len);
}

static gboolean
refs_ready (const SkField *f, SkRecordValues *rv)
{
  int refs[] = { f->not_before, f->agrees_with, f->age_at, f->required_when.field,
                 f->blank_when.field };
  for (gsize i = 0; i < G_N_ELEMENTS (refs); i++)
    if (refs[i] >= 0 && !rv->done[refs[i]])
      return FALSE;
  return TRUE;
}

static const char *
pick (SkRng *rng, const char *const *pool, gsize n)
{
  return pool[rng_below (rng, n)];
}

static void
gen_text (const SkKind *kind, const SkField *f, SkRng *rng, guint64 index, GString *s)
{
  const char *c = f->content;

  if (f->type == SK_FIELD_FULL)
    {
      const char *v = "試験";
      if (c == NULL)
        v = "試験";
      else if (g_str_equal (c, "name"))
        v = pick (rng, pool_name, G_N_ELEMENTS (pool_name));
      else if (g_str_equal (c, "name-kana"))
        v = pick (rng, pool_kana, G_N_ELEMENTS (pool_kana));
      else if (g_str_equal (c, "address"))
        v = pick (rng, pool_address, G_N_ELEMENTS (pool_address));
      else if (g_str_equal (c, "text"))
        v = pick (rng, pool_text, G_N_ELEMENTS (pool_text));
      else if (g_str_equal (c, "message"))
        v = pick (rng, pool_message, G_N_ELEMENTS (pool_message));
      else if (g_str_equal (c, "payload"))
        v = pick (rng, pool_payload, G_N_ELEMENTS (pool_payload));
      if (f->kana)
        v = pick (rng, pool_kana, G_N_ELEMENTS (pool_kana));
      g_string_assign (s, v);
      /* Fit the field: P1 counts bytes (2 a character), P2 characters. */
      glong max_chars = kind->profile == SK_PROFILE_P1 ? f->length / 2 : f->length;
      if (g_utf8_strlen (s->str, -1) > max_chars)
        {
          const char *cut = g_utf8_offset_to_pointer (s->str, max_chars);
          g_string_truncate (s, (gsize)(cut - s->str));
        }
      return;
    }

  /* X: an ASCII identifier, unique by record index where it must be. */
  if (f->unique)
    g_string_printf (s, "T%0*" G_GUINT64_FORMAT, (int)MIN (f->length - 1, 12u), index + 1);
  else
    g_string_printf (s, "S%" G_GUINT64_FORMAT, rng_below (rng, 100000000));
  if (s->len > f->length)
    g_string_truncate (s, f->length);
}

static void
gen_individual_number (SkRng *rng, guint64 index, gboolean unique, GString *s)
{
  char digits[13];
  /* Unique by index, spread by the seed, never one repeated digit. */
  guint64 base = unique
                     ? (G_GUINT64_CONSTANT (10000000000) + index * 7919 + rng_below (rng, 7919)) %
                           G_GUINT64_CONSTANT (100000000000)
                     : rng_below (rng, G_GUINT64_CONSTANT (100000000000));
  g_snprintf (digits, sizeof digits, "%011" G_GUINT64_FORMAT, base);
  if (strspn (digits, "0") == 11 || strspn (digits, "1") == 11)
    digits[0] = '9';
  digits[11] = (char)('0' + sk_individual_number_check_digit (digits));
  digits[12] = '\0';
  g_string_assign (s, digits);
}

static void
gen_field (SkPolicy *policy,
           const SkKind *kind,
           const SkRecordLayout *layout,
           const SkField *f,
           SkRng *rng,
           guint64 index,
           SkRecordValues *rv,
           GStrv allow_list)
{
  GString *s = rv->text[f->index];
  char buf[32];

  if (f->blank)
    {
      set_blank (kind, f, s);
      return;
    }
  if (f->const_value != NULL)
    {
      g_string_assign (s, f->const_value);
      return;
    }
  if (f->blank_when.field >= 0 && condition_holds (&f->blank_when, rv))
    {
      set_blank (kind, f, s);
      return;
    }
  gboolean required = f->required_when.field >= 0 && condition_holds (&f->required_when, rv);
  if (f->optional && !required && f->group < 0)
    {
      /* Optional fields without a rule for them: mostly blank. */
      if (f->required_when.field >= 0 || rng_below (rng, 10) < 7)
        {
          set_blank (kind, f, s);
          return;
        }
    }

  if (f->codes.n > 0)
    {
      g_string_assign (s, f->codes.values[rng_below (rng, f->codes.n)]);
      return;
    }
  switch (f->check)
    {
    case SK_CHECK_INDIVIDUAL_NUMBER:
      gen_individual_number (rng, index, f->unique, s);
      return;
    case SK_CHECK_INSURER_NUMBER:
      {
        const char *prefix = f->prefix != NULL ? f->prefix : "39";
        g_snprintf (buf, sizeof buf, "%s%02u%03u", prefix, (guint)(1 + rng_below (rng, 47)),
                    (guint)rng_below (rng, 1000));
        buf[7] = '\0';
        buf[7] = (char)('0' + sk_insurer_number_check_digit (buf));
        buf[8] = '\0';
        g_string_assign (s, buf);
        return;
      }
    case SK_CHECK_LOCAL_GOVERNMENT_CODE:
      g_snprintf (buf, sizeof buf, "%02u%03u", (guint)(1 + rng_below (rng, 47)),
                  (guint)rng_below (rng, 1000));
      buf[5] = (char)('0' + sk_local_government_code_check_digit (buf));
      buf[6] = '\0';
      g_string_assign (s, buf);
      return;
    case SK_CHECK_NONE:
      break;
    }

  switch (f->date)
    {
    case SK_DATE_YMD:
      {
        gint32 days;
        if (f->age_at >= 0)
          {
            /* Born so as to be age_min to age_min + 30 on the reference day. */
            int y, m, d;
            sk_date_from_days (rv->days[f->age_at], &y, &m, &d);
            gint32 latest = sk_date_to_days (y - (int)f->age_min, m, 1) - 2;
            days = latest - (gint32)rng_below (rng, 30 * 365);
          }
        else if (f->not_before >= 0 && rv->days[f->not_before] != 0)
          days = rv->days[f->not_before] + (gint32)rng_below (rng, 365);
        else
          {
            gint32 lo = sk_date_to_days (2008, 4, 1);
            if (f->has_min)
              {
                char minbuf[24];
                g_snprintf (minbuf, sizeof minbuf, "%08" G_GUINT64_FORMAT, f->min);
                sk_date_parse_ymd (minbuf, &lo);
              }
            days = lo + (gint32)rng_below (rng, 5000);
          }
        set_date (s, days);
        rv->days[f->index] = days;
        return;
      }
    case SK_DATE_WAREKI:
      {
        char w[8];
        if (f->agrees_with >= 0 && sk_wareki_format (rv->days[f->agrees_with], w))
          g_string_assign (s, w);
        else
          g_string_assign (s, "3500101");
        return;
      }
    case SK_DATE_YMDHMS:
      g_string_assign (s, "20261124090000");
      return;
    case SK_DATE_YM:
      g_string_assign (s, "202604");
      return;
    case SK_DATE_YEAR:
      g_string_assign (s, "2026");
      return;
    case SK_DATE_NONE:
      break;
    }

  if (f->allow_list_inquiry && allow_list != NULL && allow_list[0] != NULL)
    {
      g_string_assign (s, allow_list[rng_below (rng, g_strv_length (allow_list))]);
      return;
    }

  switch (f->type)
    {
    case SK_FIELD_DIGITS:
      {
        guint width = f->length;
        guint64 limit = 1;
        for (guint i = 0; i < MIN (width, 6u); i++)
          limit *= 10;
        guint64 v = rng_below (rng, limit);
        if (f->has_min || f->has_max)
          {
            guint64 lo = f->has_min ? f->min : 0, hi = f->has_max ? f->max : lo + limit;
            v = lo + rng_below (rng, hi - lo + 1);
          }
        if (f->variable)
          g_string_printf (s, "%" G_GUINT64_FORMAT, v);
        else
          set_digits (s, v, width);
        return;
      }
    case SK_FIELD_HALF:
    case SK_FIELD_FULL:
      gen_text (kind, f, rng, index, s);
      return;
    }
}

static void
gen_record (SkPolicy *policy,
            const SkKind *kind,
            const SkRecordLayout *layout,
            SkRng *rng,
            guint64 index,
            SkRecordValues *rv,
            GStrv allow_list,
            const SkKind *request,
            SkRecordValues *request_values)
{
  guint n = layout->fields->len;

  values_reset (rv, n);

  /* Echoed fields first: they repeat the request's record. */
  for (guint i = 0; request != NULL && i < n; i++)
    {
      const SkField *f = g_ptr_array_index (layout->fields, i);
      if (f->echo == NULL)
        continue;
      const SkField *src = _sk_record_layout_find (request->records[SK_RECORD_DATA], f->echo);
      if (src == NULL)
        continue;
      g_string_assign (rv->text[i], request_values->text[src->index]->str);
      /* A P1 X field's trailing spaces are padding, not part of the value. */
      while (rv->text[i]->len > 0 && rv->text[i]->str[rv->text[i]->len - 1] == ' ')
        g_string_truncate (rv->text[i], rv->text[i]->len - 1);
      rv->days[i] = request_values->days[src->index];
      rv->done[i] = TRUE;
    }

  /* Then in passes, each field once what it refers to is ready. */
  for (int pass = 0; pass < 8; pass++)
    {
      gboolean all = TRUE;
      for (guint i = 0; i < n; i++)
        {
          const SkField *f = g_ptr_array_index (layout->fields, i);
          if (rv->done[i])
            continue;
          if (!refs_ready (f, rv))
            {
              all = FALSE;
              continue;
            }
          gen_field (policy, kind, layout, f, rng, index, rv, allow_list);
          rv->done[i] = TRUE;
        }
      if (all)
        break;
    }

  /* Groups: exactly one member filled. */
  for (guint g = 0; g < layout->n_groups; g++)
    {
      guint members[MAX_FIELDS], count = 0;
      for (guint i = 0; i < n; i++)
        {
          const SkField *f = g_ptr_array_index (layout->fields, i);
          if (f->group == (int)g)
            members[count++] = i;
        }
      guint keep = members[rng_below (rng, count)];
      for (guint k = 0; k < count; k++)
        {
          const SkField *f = g_ptr_array_index (layout->fields, members[k]);
          if (members[k] == keep)
            {
              SkField tmp = *f;
              tmp.optional = FALSE;
              tmp.group = -1;
              gen_field (policy, kind, layout, &tmp, rng, index, rv, allow_list);
            }
          else
            set_blank (kind, f, rv->text[members[k]]);
        }
    }
}

/* ---- encoding and output ----------------------------------------------- */

typedef struct
{
  GIConv to_cp932;
  GString *line;
  GString *scratch;
} SkWriter;

static gboolean
append_p1_field (SkWriter *w, const SkField *f, const GString *value, GError **error)
{
  const char *bytes = value->str;
  gsize len = value->len;
  g_autofree char *converted = NULL;

  if (f->type == SK_FIELD_FULL)
    {
      gsize out_len;
      converted =
          g_convert_with_iconv (value->str, (gssize)value->len, w->to_cp932, NULL, &out_len, error);
      if (converted == NULL)
        return FALSE;
      bytes = converted;
      len = out_len;
    }
  if (len > f->length)
    len = f->length;
  if (f->type == SK_FIELD_FULL && len % 2 != 0)
    len--;
  g_string_append_len (w->line, bytes, (gssize)len);
  for (gsize i = len; i < f->length;)
    {
      if (f->type == SK_FIELD_FULL && i + 1 < f->length)
        {
          g_string_append_len (w->line, "\x81\x40", 2);
          i += 2;
        }
      else
        {
          g_string_append_c (w->line, f->type == SK_FIELD_DIGITS ? '0' : ' ');
          i++;
        }
    }
  return TRUE;
}

static gboolean
write_record (SkWriter *w,
              const SkKind *kind,
              const SkRecordLayout *layout,
              SkRecordValues *rv,
              FILE *out,
              GError **error)
{
  g_string_truncate (w->line, 0);
  for (guint i = 0; i < layout->fields->len; i++)
    {
      const SkField *f = g_ptr_array_index (layout->fields, i);
      if (kind->profile == SK_PROFILE_P1)
        {
          if (!append_p1_field (w, f, rv->text[i], error))
            return FALSE;
        }
      else
        {
          if (i > 0)
            g_string_append_c (w->line, ',');
          g_string_append_len (w->line, rv->text[i]->str, (gssize)rv->text[i]->len);
        }
    }
  g_string_append (w->line, "\r\n");
  if (fwrite (w->line->str, 1, w->line->len, out) != w->line->len)
    {
      sk_error_set_from_errno (error, errno, "writing the synthetic file");
      return FALSE;
    }
  return TRUE;
}

static const SkKind *
request_for (SkPolicy *policy, const SkKind *kind, const SkSynthOptions *opts)
{
  if (kind->direction != SK_DIRECTION_TO_STANDARD)
    return NULL;
  if (opts->request_id != NULL)
    return sk_policy_lookup_kind (policy, opts->request_id);
  g_autoptr (GPtrArray) requests = _sk_policy_requests_for (policy, kind->id);
  return requests->len > 0 ? g_ptr_array_index (requests, 0) : NULL;
}

gboolean
sk_synth_write (
    SkPolicy *policy, const SkKind *kind, const SkSynthOptions *opts, FILE *out, GError **error)
{
  g_return_val_if_fail (SK_IS_POLICY (policy), FALSE);

  SkWriter w = { 0 };
  g_auto (GStrv) allow_list = sk_policy_dup_inquiry_allow_list (policy);
  g_autofree char *case_id = opt_case (opts);
  const SkKind *request = request_for (policy, kind, opts);
  SkRecordValues rv = { 0 }, req_rv = { 0 };
  gboolean ok = TRUE;

  w.to_cp932 = g_iconv_open ("CP932", "UTF-8");
  if (w.to_cp932 == (GIConv)-1)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_IO_ERROR, "no CP932 converter");
      return FALSE;
    }
  w.line = g_string_sized_new (1024);

  const SkRecordLayout *header = kind->records[SK_RECORD_HEADER];
  const SkRecordLayout *data = kind->records[SK_RECORD_DATA];
  const SkRecordLayout *trailer = kind->records[SK_RECORD_TRAILER];
  const SkRecordLayout *end = kind->records[SK_RECORD_END];
  SkRng rng;

  /* Header. */
  rng_seed (&rng, opts->seed, kind->id, G_MAXUINT64);
  values_reset (&rv, header->fields->len);
  for (guint i = 0; i < header->fields->len; i++)
    {
      const SkField *f = g_ptr_array_index (header->fields, i);
      GString *s = rv.text[i];
      switch (f->header)
        {
        case SK_HEADER_KIND:
          g_string_assign (s, kind->id);
          break;
        case SK_HEADER_LG:
          g_string_assign (s, opt_lg (opts));
          break;
        case SK_HEADER_TIMESTAMP:
          g_string_assign (s, opt_ts (opts));
          break;
        case SK_HEADER_SEQ:
          g_string_printf (s, "%03u", opts->seq);
          break;
        case SK_HEADER_CASE:
          g_string_assign (s, case_id);
          break;
        case SK_HEADER_NONE:
          gen_field (policy, kind, header, f, &rng, 0, &rv, allow_list);
          break;
        }
      rv.done[i] = TRUE;
    }
  ok = write_record (&w, kind, header, &rv, out, error);

  /* Data, counted for the trailer as they go. */
  guint64 counts[MAX_FIELDS] = { 0 }, sums[MAX_FIELDS] = { 0 };
  for (guint64 r = 0; ok && r < opts->records; r++)
    {
      if (request != NULL)
        {
          SkRng req_rng;
          rng_seed (&req_rng, opts->seed, request->id, r);
          gen_record (policy, request, request->records[SK_RECORD_DATA], &req_rng, r, &req_rv,
                      allow_list, NULL, NULL);
        }
      rng_seed (&rng, opts->seed, kind->id, r);
      gen_record (policy, kind, data, &rng, r, &rv, allow_list, request, &req_rv);
      for (guint t = 0; t < trailer->fields->len; t++)
        {
          const SkField *tf = g_ptr_array_index (trailer->fields, t);
          if (tf->count == SK_COUNT_CODES && condition_holds (&tf->count_when, &rv))
            counts[t]++;
          if (tf->sum >= 0)
            sums[t] += g_ascii_strtoull (rv.text[tf->sum]->str, NULL, 10);
        }
      ok = write_record (&w, kind, data, &rv, out, error);
    }

  /* Trailer and end. */
  if (ok)
    {
      rng_seed (&rng, opts->seed, kind->id, G_MAXUINT64 - 1);
      values_reset (&rv, trailer->fields->len);
      for (guint t = 0; t < trailer->fields->len; t++)
        {
          const SkField *tf = g_ptr_array_index (trailer->fields, t);
          guint64 v = tf->count == SK_COUNT_DATA    ? opts->records
                      : tf->count == SK_COUNT_CODES ? counts[t]
                                                    : sums[t];
          if (tf->count != SK_COUNT_NONE || tf->sum >= 0)
            {
              if (tf->variable)
                g_string_printf (rv.text[t], "%" G_GUINT64_FORMAT, v);
              else
                set_digits (rv.text[t], v, tf->length);
            }
          else
            gen_field (policy, kind, trailer, tf, &rng, 0, &rv, allow_list);
          rv.done[t] = TRUE;
        }
      ok = write_record (&w, kind, trailer, &rv, out, error);
    }
  if (ok)
    {
      values_reset (&rv, end->fields->len);
      for (guint i = 0; i < end->fields->len; i++)
        gen_field (policy, kind, end, g_ptr_array_index (end->fields, i), &rng, 0, &rv, allow_list);
      ok = write_record (&w, kind, end, &rv, out, error);
    }

  values_clear (&rv);
  values_clear (&req_rv);
  g_string_free (w.line, TRUE);
  g_iconv_close (w.to_cp932);
  return ok;
}

char *
sk_synth_write_file (SkPolicy *policy,
                     const SkKind *kind,
                     const SkSynthOptions *opts,
                     const char *dir,
                     GError **error)
{
  g_autofree char *name = sk_synth_file_name (kind, opts);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  FILE *out = fopen (path, "wbx");

  if (out == NULL)
    {
      g_autofree char *what = g_strdup_printf ("creating %s", path);
      sk_error_set_from_errno (error, errno, what);
      return NULL;
    }
  g_autofree char *buf = g_malloc (1 << 20);
  setvbuf (out, buf, _IOFBF, 1 << 20);
  gboolean ok = sk_synth_write (policy, kind, opts, out, error);
  if (fclose (out) != 0 && ok)
    {
      sk_error_set_from_errno (error, errno, "closing the synthetic file");
      ok = FALSE;
    }
  if (!ok)
    {
      (void)remove (path);
      return NULL;
    }
  return g_steal_pointer (&path);
}
