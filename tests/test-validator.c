/* test-validator.c — every file reason code from a hostile fixture built here
 *
 * Synthetic files of every kind are generated from the default policy, then
 * spoiled one defect at a time; each defect must give its reason code at the
 * right record and field, and the untouched files none.
 */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "sk-ident.h"
#include "sk-policy-private.h"
#include "sk-record-plan.h"
#include "sk-synth.h"
#include "sk-test-util.h"
#include "sk-validator.h"

#define RECORDS 20

typedef struct
{
  SkPolicy *policy;
  char *dir;
} Fixture;

static void
fixture_setup (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fx->policy = sk_test_default_policy ();
  fx->dir = g_dir_make_tmp ("sk-validator-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *fx, gconstpointer data)
{
  g_autoptr (GDir) dir = g_dir_open (fx->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (fx->dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (fx->dir);
  g_free (fx->dir);
  g_object_unref (fx->policy);
}

static char *
generate (Fixture *fx, const char *kind_id, guint64 records)
{
  const SkKind *kind = sk_policy_lookup_kind (fx->policy, kind_id);
  SkSynthOptions opts;
  g_autoptr (GError) error = NULL;

  g_assert_nonnull (kind);
  sk_synth_options_init (&opts);
  opts.records = records;
  opts.seed = 42;
  char *path = sk_synth_write_file (fx->policy, kind, &opts, fx->dir, &error);
  g_assert_no_error (error);
  return path;
}

static GPtrArray *
validate (Fixture *fx, const char *const *paths)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *reports = sk_validate_paths (fx->policy, paths, NULL, &error);
  g_assert_no_error (error);
  return reports;
}

static GBytes *
read_all (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *data;
  gsize len;

  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (data, len);
}

static void
write_all (const char *path, const void *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, data, (gssize)len, &error);
  g_assert_no_error (error);
}

/* ---- every kind, valid ------------------------------------------------- */

static void
test_all_kinds_valid (Fixture *fx, gconstpointer data)
{
  GPtrArray *kinds = sk_policy_get_kinds (fx->policy);
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);

  g_assert_cmpuint (kinds->len, ==, 11);
  for (guint i = 0; i < kinds->len; i++)
    g_ptr_array_add (paths, generate (fx, sk_kind_get_id (g_ptr_array_index (kinds, i)), RECORDS));
  g_ptr_array_add (paths, NULL);

  g_autoptr (GPtrArray) reports = validate (fx, (const char *const *)paths->pdata);
  for (guint i = 0; i < reports->len; i++)
    {
      SkFileReport *r = g_ptr_array_index (reports, i);
      g_autofree char *desc = sk_test_report_describe (r);
      if (!sk_file_report_ok (r))
        g_error ("%s: %s", r->file, desc);
      g_assert_nonnull (r->kind);
      g_assert_cmpuint (r->records, ==, RECORDS);
      g_assert_cmpstr (r->case_id, !=, NULL);
    }
}

/* Zero data records is a valid (empty) file. */
static void
test_empty_file_valid (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = generate (fx, "KNY01", 0);
  const char *paths[] = { path, NULL };
  g_autoptr (GPtrArray) reports = validate (fx, paths);
  SkFileReport *r = g_ptr_array_index (reports, 0);

  g_assert_true (sk_file_report_ok (r));
  g_assert_cmpuint (r->records, ==, 0);
}

/* Any chunking gives the same findings as one big chunk. */
static void
test_chunking (Fixture *fx, gconstpointer data)
{
  g_autofree char *p1 = generate (fx, "KNY01", 5);
  g_autofree char *p2 = generate (fx, "SKI03", 5);
  const char *paths[] = { p1, p2 };

  /* Spoil a few things so that there is something to find. */
  {
    g_autoptr (GBytes) b = read_all (p1);
    g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
    copy[500 * 2 + 100] = 0xFB;
    copy[500 * 3 + 498] = ' ';
    write_all (p1, copy, g_bytes_get_size (b));
  }
  for (guint p = 0; p < G_N_ELEMENTS (paths); p++)
    {
      g_autoptr (GBytes) bytes = read_all (paths[p]);
      gsize len;
      const guint8 *d = g_bytes_get_data (bytes, &len);
      g_autofree char *base = g_path_get_basename (paths[p]);

      g_autoptr (SkValidator) whole = sk_validator_new (fx->policy, base);
      sk_validator_feed (whole, d, len);
      g_autoptr (SkFileReport) expect = sk_validator_finish (whole, NULL);
      g_autofree char *expect_desc = sk_test_report_describe (expect);

      const gsize sizes[] = { 1, 2, 3, 7, 499, 501, 4096 };
      for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
        {
          g_autoptr (SkValidator) v = sk_validator_new (fx->policy, base);
          for (gsize off = 0; off < len; off += sizes[s])
            sk_validator_feed (v, d + off, MIN (sizes[s], len - off));
          g_autoptr (SkFileReport) got = sk_validator_finish (v, NULL);
          g_autofree char *got_desc = sk_test_report_describe (got);
          g_assert_cmpstr (got_desc, ==, expect_desc);
          g_assert_cmpuint (got->records, ==, expect->records);
        }
    }
}

/* ---- defects ----------------------------------------------------------- */

/* Where a P1 field is in the file. */
static gsize
p1_offset (Fixture *fx, const char *kind_id, guint64 record, const char *field_name)
{
  const SkKind *kind = sk_policy_lookup_kind (fx->policy, kind_id);
  const SkRecordLayout *layouts[] = { kind->records[SK_RECORD_HEADER],
                                      kind->records[SK_RECORD_DATA] };
  const SkRecordLayout *layout = layouts[record == 1 ? 0 : 1];
  if (record == RECORDS + 2)
    layout = kind->records[SK_RECORD_TRAILER];
  const SkField *f = _sk_record_layout_find (layout, field_name);
  g_assert_nonnull (f);
  return kind->record_length * (record - 1) + f->offset;
}

static void
p1_patch (Fixture *fx,
          const char *path,
          const char *kind_id,
          guint64 record,
          const char *field,
          const char *bytes,
          gsize len)
{
  g_autoptr (GBytes) b = read_all (path);
  g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
  memcpy (copy + p1_offset (fx, kind_id, record, field), bytes, len);
  write_all (path, copy, g_bytes_get_size (b));
}

static char *
p1_read_field (Fixture *fx,
               const char *path,
               const char *kind_id,
               guint64 record,
               const char *field,
               gsize len)
{
  g_autoptr (GBytes) b = read_all (path);
  const char *d = g_bytes_get_data (b, NULL);
  return g_strndup (d + p1_offset (fx, kind_id, record, field), len);
}

/* Replace column COLUMN (1-based) of line RECORD (1-based) of a P2 file. */
static void
p2_set (const char *path, guint64 record, guint column, const char *text)
{
  g_autoptr (GBytes) b = read_all (path);
  g_autofree char *copy = g_strndup (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
  g_auto (GStrv) lines = g_strsplit (copy, "\r\n", -1);
  g_assert_cmpuint (g_strv_length (lines), >, record);
  g_auto (GStrv) cols = g_strsplit (lines[record - 1], ",", -1);
  g_assert_cmpuint (g_strv_length (cols), >=, column);
  g_free (cols[column - 1]);
  cols[column - 1] = g_strdup (text);
  g_free (lines[record - 1]);
  lines[record - 1] = g_strjoinv (",", cols);
  g_autofree char *joined = g_strjoinv ("\r\n", lines);
  write_all (path, joined, strlen (joined));
}

static char *
p2_get (const char *path, guint64 record, guint column)
{
  g_autoptr (GBytes) b = read_all (path);
  g_autofree char *copy = g_strndup (g_bytes_get_data (b, NULL), g_bytes_get_size (b));
  g_auto (GStrv) lines = g_strsplit (copy, "\r\n", -1);
  g_auto (GStrv) cols = g_strsplit (lines[record - 1], ",", -1);
  return g_strdup (cols[column - 1]);
}

static SkFileReport *
check_one (Fixture *fx, const char *const *paths, guint which)
{
  g_autoptr (GPtrArray) reports = validate (fx, paths);
  return g_ptr_array_steal_index (reports, which);
}

static void
assert_has (const SkFileReport *r, SkErrorCode code, guint64 record, const char *field)
{
  if (!sk_test_report_has (r, code, record, field))
    {
      g_autofree char *desc = sk_test_report_describe (r);
      g_error ("expected %s at record %" G_GUINT64_FORMAT " field %s; got %s",
               sk_error_code_to_reason (code), record, field ? field : "-", desc);
    }
}

typedef struct
{
  const char *name;
  const char *kind;
  guint64 record;
  const char *field;
  const char *bytes; /* CP932 bytes to write over the start of the field */
  SkErrorCode code;
} P1Case;

/* Records: 1 header, 2..RECORDS+1 data, RECORDS+2 trailer. */
static const P1Case p1_cases[] = {
  { "encoding/ibm-extension", "KNY01", 3, "氏名(漢字)", "\xFB\xFC", SK_ERROR_ENCODING },
  { "encoding/nec-special", "KNY01", 3, "氏名(漢字)", "\x87\x40", SK_ERROR_ENCODING },
  { "encoding/nec-selected-ibm", "KNY01", 3, "住所", "\xED\x40", SK_ERROR_ENCODING },
  { "encoding/user-defined", "KNY01", 3, "住所", "\xF0\x40", SK_ERROR_ENCODING },
  { "encoding/control", "KNY01", 4, "被保険者記号", "\x01", SK_ERROR_ENCODING },
  { "encoding/eof-char", "KNY01", 4, "予備", "\x1A", SK_ERROR_ENCODING },
  { "encoding/lone-lead", "KNY01", 4, "被保険者記号", "\x81", SK_ERROR_ENCODING },
  { "field-type/letter-in-9", "KNY01", 2, "個人番号", "12345678901A", SK_ERROR_FIELD_TYPE },
  { "field-type/ascii-in-N", "KNY01", 2, "氏名(漢字)", "AB", SK_ERROR_FIELD_TYPE },
  { "field-type/kanji-in-kana", "KNY01", 2, "氏名(カナ)", "\x8E\x8E", SK_ERROR_FIELD_TYPE },
  { "field-type/kana-in-X", "KNY01", 2, "被保険者記号", "\xB1", SK_ERROR_FIELD_TYPE },
  { "check-digit/individual", "KNY01", 5, "個人番号", "983205673215", SK_ERROR_CHECK_DIGIT },
  { "check-digit/all-same", "KNY01", 5, "個人番号", "000000000000", SK_ERROR_CHECK_DIGIT },
  { "check-digit/insurer", "KNY01", 5, "保険者番号", "39131017", SK_ERROR_CHECK_DIGIT },
  { "check-digit/lg", "KNY01", 5, "住所地団体コード", "131017", SK_ERROR_CHECK_DIGIT },
  { "check-digit/header-lg", "KNY01", 1, "作成機関団体コード", "039005", SK_ERROR_CHECK_DIGIT },
  { "code-value/prefix", "KNY01", 6, "保険者番号", "33120015", SK_ERROR_CODE_VALUE },
  { "code-value/sex", "KNY01", 6, "性別", "4", SK_ERROR_CODE_VALUE },
  { "code-value/blank-field", "KNY01", 6, "被保険者記号", "A", SK_ERROR_CODE_VALUE },
  { "code-value/const", "KNY01", 1, "仕様版数", "0200", SK_ERROR_CODE_VALUE },
  { "date-invalid/feb30", "KNY01", 7, "資格取得年月日", "20230230", SK_ERROR_DATE_INVALID },
  { "date-invalid/before-min", "KNY01", 7, "資格取得年月日", "20080331", SK_ERROR_DATE_INVALID },
  { "date-invalid/wareki-era", "KNY01", 7, "生年月日(和暦)", "6010101", SK_ERROR_DATE_INVALID },
  { "date-invalid/showa-65", "KNY01", 7, "生年月日(和暦)", "3650101", SK_ERROR_DATE_INVALID },
  { "date-invalid/timestamp", "KNY01", 1, "作成日時", "20261124250000", SK_ERROR_DATE_INVALID },
  { "field-missing/name", "KNY01", 8, "氏名(漢字)",
    "\x81\x40\x81\x40\x81\x40\x81\x40\x81\x40\x81\x40\x81\x40\x81\x40\x81\x40\x81\x40"
    "\x81\x40\x81\x40\x81\x40\x81\x40\x81\x40\x81\x40\x81\x40\x81\x40\x81\x40\x81\x40"
    "\x81\x40\x81\x40\x81\x40\x81\x40\x81\x40\x81\x40\x81\x40\x81\x40\x81\x40\x81\x40",
    SK_ERROR_FIELD_MISSING },
  { "file-name/timestamp", "KNY01", 1, "作成日時", "20261124153001", SK_ERROR_FILE_NAME },
  { "file-name/seq", "KNY01", 1, "ファイル連番", "002", SK_ERROR_FILE_NAME },
  { "file-name/kind", "KNY01", 1, "ファイル種別ID", "FKH01", SK_ERROR_FILE_NAME },
  { "trailer-count/data", "KNY01", RECORDS + 2, "データ件数", "0000021", SK_ERROR_TRAILER_COUNT },
  { "trailer-count/codes", "KNY01", RECORDS + 2, "新規件数", "0000021", SK_ERROR_TRAILER_COUNT },
  { "trailer-sum", "FKH02", RECORDS + 2, "金額合計", "9999999999999", SK_ERROR_TRAILER_SUM },
  { "inquiry-not-allowed", "SKI01", 3, "情報照会ID", "ZZ99999999", SK_ERROR_INQUIRY_NOT_ALLOWED },
};

static void
test_p1_case (Fixture *fx, gconstpointer data)
{
  const P1Case *c = data;
  g_autofree char *path = generate (fx, c->kind, RECORDS);
  const char *paths[] = { path, NULL };

  p1_patch (fx, path, c->kind, c->record, c->field, c->bytes, strlen (c->bytes));
  g_autoptr (SkFileReport) r = check_one (fx, paths, 0);
  assert_has (r, c->code, c->record, c->field);
}

static const SkFinding *
find (const SkFileReport *r, SkErrorCode code, guint64 record)
{
  for (guint i = 0; i < r->findings->len; i++)
    {
      const SkFinding *f = &g_array_index (r->findings, SkFinding, i);
      if (f->code == code && f->record == record)
        return f;
    }
  return NULL;
}

/* DOMAIN.md §5: characters outside the repertoire are classified. */
static void
test_encoding_classes (Fixture *fx, gconstpointer data)
{
  static const struct
  {
    const char *bytes;
    const char *detail;
  } cases[] = {
    { "\xFB\xFC", "ibm-extension" }, { "\xED\x40", "nec-selected-ibm-extension" },
    { "\x87\x40", "nec-special" },   { "\xF0\x40", "user-defined" },
    { "\x85\x40", "unassigned" },    { "\x01\x40", "control" },
    { "\x80\x40", "not-shift-jis" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = generate (fx, "KNY01", 3);
      const char *paths[] = { path, NULL };
      p1_patch (fx, path, "KNY01", 3, "住所", cases[i].bytes, 2);
      g_autoptr (SkFileReport) r = check_one (fx, paths, 0);
      const SkFinding *f = find (r, SK_ERROR_ENCODING, 3);
      g_assert_nonnull (f);
      g_assert_cmpstr (f->detail, ==, cases[i].detail);
      g_unlink (path);
    }
}

/* The wareki of a different day: a valid date that disagrees. */
static void
test_era_mismatch (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = generate (fx, "KNY01", RECORDS);
  const char *paths[] = { path, NULL };
  g_autofree char *w = p1_read_field (fx, path, "KNY01", 4, "生年月日(和暦)", 7);

  w[6] = w[6] == '1' ? '2' : '1';
  p1_patch (fx, path, "KNY01", 4, "生年月日(和暦)", w, 7);
  g_autoptr (SkFileReport) r = check_one (fx, paths, 0);
  assert_has (r, SK_ERROR_ERA_MISMATCH, 4, "生年月日(和暦)");
}

/* Born 2000: younger than 65 when the 資格 begins. */
static void
test_age (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = generate (fx, "KNY01", RECORDS);
  const char *paths[] = { path, NULL };

  p1_patch (fx, path, "KNY01", 4, "生年月日", "20000101", 8);
  p1_patch (fx, path, "KNY01", 4, "生年月日(和暦)", "4120101", 7);
  g_autoptr (SkFileReport) r = check_one (fx, paths, 0);
  assert_has (r, SK_ERROR_AGE, 4, "生年月日");
  g_assert_false (sk_test_report_has (r, SK_ERROR_ERA_MISMATCH, 0, NULL));
}

/* 資格喪失年月日 before 資格取得年月日. */
static void
test_not_before (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = generate (fx, "KNY01", RECORDS);
  const char *paths[] = { path, NULL };

  p1_patch (fx, path, "KNY01", 5, "資格取得年月日", "20200101", 8);
  p1_patch (fx, path, "KNY01", 5, "資格喪失年月日", "20191231", 8);
  g_autoptr (SkFileReport) r = check_one (fx, paths, 0);
  assert_has (r, SK_ERROR_DATE_INVALID, 5, "資格喪失年月日");
}

static void
test_duplicate_key (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = generate (fx, "KNY01", RECORDS);
  const char *paths[] = { path, NULL };
  g_autofree char *number = p1_read_field (fx, path, "KNY01", 2, "個人番号", 12);

  p1_patch (fx, path, "KNY01", 9, "個人番号", number, 12);
  g_autoptr (SkFileReport) r = check_one (fx, paths, 0);
  assert_has (r, SK_ERROR_DUPLICATE_KEY, 9, "個人番号");
  g_assert_false (sk_test_report_has (r, SK_ERROR_DUPLICATE_KEY, 2, NULL));
}

/* Unique keys in a file: values one digit (個人番号, whose values are their
 * own keys) or one byte (要求通番, hashed) apart at every position of the
 * field are no duplicates, and an equal value still is one, at its record
 * (test_unique_keys checks the keys themselves). */
static void
test_unique_near_values (Fixture *fx, gconstpointer data)
{
  g_autofree char *number_path = generate (fx, "KNY01", RECORDS);
  g_autofree char *serial_path = generate (fx, "SKI01", RECORDS);
  const char *number_paths[] = { number_path, NULL };
  const char *serial_paths[] = { serial_path, NULL };
  const char number_base[] = "98320567321";
  const char serial_base[] = "REQ-2026-0000000001";
  char number[13], serial[21];

  for (guint r = 0; r < RECORDS; r++)
    {
      guint pos = r % 11;
      memcpy (number, number_base, 11);
      number[pos] = (char)('0' + (number[pos] - '0' + 1 + r / 11) % 10);
      number[11] = (char)('0' + sk_individual_number_check_digit (number));
      p1_patch (fx, number_path, "KNY01", r + 2, "個人番号", number, 12);

      /* Twenty bytes, each changed in one record (the last in the four
       * bytes after the hash's two whole words). */
      memcpy (serial, serial_base, 19);
      serial[19] = 'A';
      serial[r % 20] = serial[r % 20] == 'Z' ? 'Y' : 'Z';
      p1_patch (fx, serial_path, "SKI01", r + 2, "要求通番", serial, 20);
    }
  {
    g_autoptr (SkFileReport) r = check_one (fx, number_paths, 0);
    g_autoptr (SkFileReport) s = check_one (fx, serial_paths, 0);
    if (!sk_file_report_ok (r) || !sk_file_report_ok (s))
      g_error ("near values: %s / %s", sk_test_report_describe (r), sk_test_report_describe (s));
  }

  g_autofree char *first_number = p1_read_field (fx, number_path, "KNY01", 2, "個人番号", 12);
  p1_patch (fx, number_path, "KNY01", RECORDS + 1, "個人番号", first_number, 12);
  g_autofree char *first_serial = p1_read_field (fx, serial_path, "SKI01", 2, "要求通番", 20);
  p1_patch (fx, serial_path, "SKI01", RECORDS + 1, "要求通番", first_serial, 20);
  g_autoptr (SkFileReport) r = check_one (fx, number_paths, 0);
  g_autoptr (SkFileReport) s = check_one (fx, serial_paths, 0);
  assert_has (r, SK_ERROR_DUPLICATE_KEY, RECORDS + 1, "個人番号");
  assert_has (s, SK_ERROR_DUPLICATE_KEY, RECORDS + 1, "要求通番");
  g_assert_cmpuint (r->findings->len, ==, 1);
  g_assert_cmpuint (s->findings->len, ==, 1);
}

/* The keys themselves: for every length, a digit value and each value that
 * differs from it in one position (every other digit there) have different
 * digit keys, and so do byte values one byte apart under the hash; equal
 * values have equal keys, the hash's depending on the length too. */
static void
test_unique_keys (void)
{
  GRand *rand = g_rand_new_with_seed (15);

  for (guint round = 0; round < 200; round++)
    for (guint len = 1; len <= 24; len++)
      {
        guint8 base[25], other[25];
        for (guint i = 0; i < len; i++)
          base[i] = (guint8)('0' + g_rand_int_range (rand, 0, 10));
        guint64 digits = len <= SK_DIGITS_KEY_MAX ? sk_key_digits (base, len) : 0;
        guint64 hash = sk_key_mix (sk_key_hash_bytes (SK_KEY_HASH_SEED, base, len));

        g_assert_cmpuint (digits, !=, len <= SK_DIGITS_KEY_MAX ? 0 : 1);
        g_assert_cmpuint (hash, !=, 0);
        memcpy (other, base, len);
        if (len <= SK_DIGITS_KEY_MAX)
          g_assert_cmpuint (sk_key_digits (other, len), ==, digits);
        g_assert_cmpuint (sk_key_mix (sk_key_hash_bytes (SK_KEY_HASH_SEED, other, len)), ==, hash);
        /* One more digit, a zero: another value. */
        other[len] = '0';
        if (len < SK_DIGITS_KEY_MAX)
          g_assert_cmpuint (sk_key_digits (other, len + 1), !=, digits);
        if (len < 24)
          g_assert_cmpuint (sk_key_mix (sk_key_hash_bytes (SK_KEY_HASH_SEED, other, len + 1)), !=,
                            hash);

        for (guint pos = 0; pos < len; pos++)
          for (guint8 d = '0'; d <= '9'; d++)
            {
              if (d == base[pos])
                continue;
              memcpy (other, base, len);
              other[pos] = d;
              if (len <= SK_DIGITS_KEY_MAX)
                g_assert_cmpuint (sk_key_digits (other, len), !=, digits);
              g_assert_cmpuint (sk_key_mix (sk_key_hash_bytes (SK_KEY_HASH_SEED, other, len)), !=,
                                hash);
            }
      }
  g_rand_free (rand);
}

/* SKI01: exactly one of 個人番号 and 宛名番号. */
static void
test_group (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = generate (fx, "SKI01", RECORDS);
  const char *paths[] = { path, NULL };

  p1_patch (fx, path, "SKI01", 3, "個人番号", "000000000000", 12);
  p1_patch (fx, path, "SKI01", 3, "宛名番号", "000000000000000", 15);
  p1_patch (fx, path, "SKI01", 4, "個人番号", "983205673214", 12);
  p1_patch (fx, path, "SKI01", 4, "宛名番号", "000000000012345", 15);
  g_autoptr (SkFileReport) r = check_one (fx, paths, 0);
  assert_has (r, SK_ERROR_FIELD_MISSING, 3, "個人番号");
  assert_has (r, SK_ERROR_CODE_VALUE, 4, "個人番号");
}

/* JLS01: 照会区分 1 needs 個人番号 and forbids the 4情報. */
static void
test_conditions (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = generate (fx, "JLS01", RECORDS);
  const char *paths[] = { path, NULL };

  p1_patch (fx, path, "JLS01", 3, "照会区分", "1", 1);
  p1_patch (fx, path, "JLS01", 3, "個人番号", "000000000000", 12);
  p1_patch (fx, path, "JLS01", 3, "生年月日", "19400101", 8);
  g_autoptr (SkFileReport) r = check_one (fx, paths, 0);
  assert_has (r, SK_ERROR_FIELD_MISSING, 3, "個人番号");
  assert_has (r, SK_ERROR_CODE_VALUE, 3, "生年月日");
}

static void
test_line_ending (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = generate (fx, "KNY01", RECORDS);
  const char *paths[] = { path, NULL };
  g_autoptr (GBytes) b = read_all (path);
  g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (b, NULL), g_bytes_get_size (b));

  copy[500 * 3 - 2] = ' '; /* record 3 ends in LF alone */
  write_all (path, copy, g_bytes_get_size (b));
  g_autoptr (SkFileReport) r = check_one (fx, paths, 0);
  assert_has (r, SK_ERROR_LINE_ENDING, 3, NULL);
}

/* The last line without CR LF, and bytes after the end record. */
static void
test_tail (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = generate (fx, "KNY01", RECORDS);
  const char *paths[] = { path, NULL };
  g_autoptr (GBytes) b = read_all (path);
  gsize len = g_bytes_get_size (b);

  write_all (path, g_bytes_get_data (b, NULL), len - 2);
  g_autoptr (SkFileReport) cut = check_one (fx, paths, 0);
  assert_has (cut, SK_ERROR_LINE_ENDING, RECORDS + 3, NULL);

  g_autofree guint8 *more = g_malloc (len + 1);
  memcpy (more, g_bytes_get_data (b, NULL), len);
  more[len] = 0x1A;
  write_all (path, more, len + 1);
  /* An EOF mark after the end record is a byte the encoding forbids, named
   * as the record after the last, not a record out of order. */
  g_autoptr (SkFileReport) eof = check_one (fx, paths, 0);
  assert_has (eof, SK_ERROR_ENCODING, RECORDS + 4, NULL);
  g_assert_cmpuint (eof->findings->len, ==, 1);
}

static void
test_record_length (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = generate (fx, "KNY01", RECORDS);
  const char *paths[] = { path, NULL };
  g_autoptr (GBytes) b = read_all (path);
  gsize len = g_bytes_get_size (b);
  g_autofree guint8 *copy = g_malloc (len + 1);

  /* One byte more in record 4; record 5 and later stay in step. */
  memcpy (copy, g_bytes_get_data (b, NULL), 500 * 3 + 10);
  copy[500 * 3 + 10] = ' ';
  memcpy (copy + 500 * 3 + 11, (const guint8 *)g_bytes_get_data (b, NULL) + 500 * 3 + 10,
          len - (500 * 3 + 10));
  write_all (path, copy, len + 1);
  g_autoptr (SkFileReport) r = check_one (fx, paths, 0);
  g_autofree char *desc = sk_test_report_describe (r);
  assert_has (r, SK_ERROR_RECORD_LENGTH, 4, NULL);
  if (r->findings->len != 1)
    g_error ("one finding expected, got %s", desc);
}

static void
test_record_order (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = generate (fx, "KNY01", RECORDS);
  const char *paths[] = { path, NULL };
  g_autoptr (GBytes) b = read_all (path);
  gsize len = g_bytes_get_size (b);
  g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (b, NULL), len);

  /* Swap the last data record and the trailer. */
  guint8 tmp[500];
  memcpy (tmp, copy + 500 * RECORDS, 500);
  memcpy (copy + 500 * RECORDS, copy + 500 * (RECORDS + 1), 500);
  memcpy (copy + 500 * (RECORDS + 1), tmp, 500);
  write_all (path, copy, len);
  g_autoptr (SkFileReport) r = check_one (fx, paths, 0);
  assert_has (r, SK_ERROR_RECORD_ORDER, RECORDS + 2, NULL);

  /* No end record at all. */
  write_all (path, g_bytes_get_data (b, NULL), len - 500);
  g_autoptr (SkFileReport) r2 = check_one (fx, paths, 0);
  assert_has (r2, SK_ERROR_RECORD_ORDER, 0, NULL);

  /* An unknown record type. */
  memcpy (copy, g_bytes_get_data (b, NULL), len);
  copy[500 * 2] = '5';
  write_all (path, copy, len);
  g_autoptr (SkFileReport) r3 = check_one (fx, paths, 0);
  assert_has (r3, SK_ERROR_RECORD_ORDER, 3, NULL);
}

static void
test_kind_unknown (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = generate (fx, "KNY01", 1);
  g_autofree char *other = g_build_filename (fx->dir, "039004_KNY01_20261124153000_001.dat", NULL);
  g_assert_cmpint (g_rename (path, other), ==, 0);
  const char *paths[] = { other, NULL };
  g_autoptr (SkFileReport) r = check_one (fx, paths, 0);

  assert_has (r, SK_ERROR_FILE_KIND_UNKNOWN, 0, NULL);
  g_assert_null (r->kind);
}

/* ---- P2 ---------------------------------------------------------------- */

static void
test_p2_defects (Fixture *fx, gconstpointer data)
{
  struct
  {
    const char *name;
    guint64 record;
    guint column;
    const char *text;
    SkErrorCode code;
    const char *field;
    const char *detail;
  } cases[] = {
    { "private-use", 3, 11, "\xEE\x80\x80", SK_ERROR_ENCODING, "エラーメッセージ", "private-use" },
    { "bad-utf8", 3, 11, "\xE3\x81", SK_ERROR_ENCODING, "エラーメッセージ", "not-utf-8" },
    { "overlong", 3, 11, "\xC0\xAF", SK_ERROR_ENCODING, "エラーメッセージ", "not-utf-8" },
    { "control", 3, 11, "a\x01", SK_ERROR_ENCODING, "エラーメッセージ", "control" },
    { "emoji", 3, 11, "\xF0\x9F\x98\x80", SK_ERROR_ENCODING, "エラーメッセージ",
      "outside-jis-x-0213" },
    { "letter-in-9", 3, 9, "12A4", SK_ERROR_FIELD_TYPE, "処理結果コード" },
    { "kanji-in-X", 1, 8, "案件", SK_ERROR_FIELD_TYPE, "処理番号" },
    { "quote", 3, 11, "\"x\"", SK_ERROR_FIELD_TYPE, "エラーメッセージ" },
    { "too-long", 3, 9, "12345", SK_ERROR_FIELD_LENGTH, "処理結果コード" },
    { "code", 3, 8, "5", SK_ERROR_CODE_VALUE, "処理結果区分" },
    { "missing", 3, 9, "", SK_ERROR_FIELD_MISSING, "処理結果コード" },
    { "check-digit", 3, 7, "983205673215", SK_ERROR_CHECK_DIGIT, "個人番号" },
    { "trailer", 22, 2, "99", SK_ERROR_TRAILER_COUNT, "データ件数" },
    { "file-name", 1, 7, "009", SK_ERROR_FILE_NAME, "ファイル連番" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = generate (fx, "KNY02", RECORDS);
      const char *paths[] = { path, NULL };
      g_test_message ("P2 case %s", cases[i].name);
      p2_set (path, cases[i].record, cases[i].column, cases[i].text);
      g_autoptr (SkFileReport) r = check_one (fx, paths, 0);
      assert_has (r, cases[i].code, cases[i].record, cases[i].field);
      if (cases[i].detail != NULL)
        g_assert_cmpstr (find (r, cases[i].code, cases[i].record)->detail, ==, cases[i].detail);
      g_unlink (path);
    }
}

static void
test_p2_structure (Fixture *fx, gconstpointer data)
{
  g_autofree char *path = generate (fx, "KNY02", RECORDS);
  const char *paths[] = { path, NULL };
  g_autoptr (GBytes) b = read_all (path);
  gsize len = g_bytes_get_size (b);
  const char *d = g_bytes_get_data (b, NULL);

  /* A byte-order mark. */
  g_autofree char *bom = g_strconcat ("\xEF\xBB\xBF", d, NULL);
  write_all (path, bom, len + 3);
  g_autoptr (SkFileReport) r1 = check_one (fx, paths, 0);
  assert_has (r1, SK_ERROR_ENCODING, 1, NULL);
  g_assert_cmpstr (find (r1, SK_ERROR_ENCODING, 1)->detail, ==, "byte-order-mark");

  /* LF without CR on the second line. */
  g_autofree char *lf = g_strndup (d, len);
  char *first_crlf = strstr (lf, "\r\n");
  char *second = strstr (first_crlf + 2, "\r\n");
  second[0] = ';';
  write_all (path, lf, len);
  g_autoptr (SkFileReport) r2 = check_one (fx, paths, 0);
  assert_has (r2, SK_ERROR_LINE_ENDING, 2, NULL);

  /* A column too many. */
  write_all (path, d, len);
  g_autofree char *last = p2_get (path, 4, 11);
  g_autofree char *more = g_strconcat (last, ",x", NULL);
  p2_set (path, 4, 11, more);
  g_autoptr (SkFileReport) r3 = check_one (fx, paths, 0);
  assert_has (r3, SK_ERROR_RECORD_LENGTH, 4, NULL);
}

/* ---- pairing ----------------------------------------------------------- */

static void
test_pairing (Fixture *fx, gconstpointer data)
{
  g_autofree char *req = generate (fx, "KNY01", RECORDS);
  g_autofree char *res = generate (fx, "KNY02", RECORDS);
  const char *paths[] = { req, res, NULL };

  /* Valid as generated. */
  {
    g_autoptr (GPtrArray) reports = validate (fx, paths);
    for (guint i = 0; i < reports->len; i++)
      g_assert_true (sk_file_report_ok (g_ptr_array_index (reports, i)));
  }
  /* A result for a person the request never named. */
  p2_set (res, 5, 7, "983205673214");
  g_autoptr (SkFileReport) r = check_one (fx, paths, 1);
  assert_has (r, SK_ERROR_PAIRING, 5, "個人番号");

  /* Alone, the same result has nothing to pair with and passes. */
  const char *alone[] = { res, NULL };
  g_autoptr (SkFileReport) r_alone = check_one (fx, alone, 0);
  g_assert_true (sk_file_report_ok (r_alone));

  /* More results than requests. */
  g_unlink (req);
  g_free (req);
  req = generate (fx, "KNY01", RECORDS / 2);
  g_unlink (res);
  g_free (res);
  res = generate (fx, "KNY02", RECORDS);
  const char *paths2[] = { req, res, NULL };
  g_autoptr (SkFileReport) r2 = check_one (fx, paths2, 1);
  assert_has (r2, SK_ERROR_PAIRING, RECORDS / 2 + 2, NULL);
}

/* ---- two cores ---------------------------------------------------------- */

/* A file big enough for the two-core path gives exactly the report of one
 * pass, whether clean or spoiled in either half or across them. */
static void
test_two_cores (Fixture *fx, gconstpointer data)
{
  const guint64 records = 20000; /* 10 MB: over the two-core threshold */
  g_autofree char *path = generate (fx, "KNY01", records);
  g_autofree char *base = g_path_get_basename (path);
  g_autoptr (GBytes) clean = read_all (path);
  const guint64 half = (records + 3) / 2; /* the split, in file records */

  struct
  {
    const char *name;
    guint64 record;
    const char *field;
    const char *bytes;
  } cases[] = {
    { "clean", 0, NULL, NULL },
    { "first-half", 100, "性別", "7" },
    { "second-half", half + 100, "性別", "7" },
    { "trailer", records + 2, "データ件数", "0019999" },
    { "duplicate-across", half + 50, "個人番号", NULL },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      write_all (path, g_bytes_get_data (clean, NULL), g_bytes_get_size (clean));
      if (g_str_equal (cases[i].name, "trailer"))
        {
          const SkKind *kind = sk_policy_lookup_kind (fx->policy, "KNY01");
          const SkField *f =
              _sk_record_layout_find (kind->records[SK_RECORD_TRAILER], cases[i].field);
          g_autofree guint8 *copy =
              g_memdup2 (g_bytes_get_data (clean, NULL), g_bytes_get_size (clean));
          memcpy (copy + kind->record_length * (cases[i].record - 1) + f->offset, cases[i].bytes,
                  strlen (cases[i].bytes));
          write_all (path, copy, g_bytes_get_size (clean));
        }
      else if (cases[i].record != 0 && cases[i].bytes != NULL)
        p1_patch (fx, path, "KNY01", cases[i].record, cases[i].field, cases[i].bytes,
                  strlen (cases[i].bytes));
      if (g_str_equal (cases[i].name, "duplicate-across"))
        {
          g_autofree char *number = p1_read_field (fx, path, "KNY01", 2, "個人番号", 12);
          p1_patch (fx, path, "KNY01", cases[i].record, "個人番号", number, 12);
        }

      const char *paths[] = { path, NULL };
      g_autoptr (SkFileReport) two = check_one (fx, paths, 0);
      g_autoptr (GBytes) bytes = read_all (path);
      g_autoptr (SkValidator) one = sk_validator_new (fx->policy, base);
      sk_validator_feed (one, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
      g_autoptr (SkFileReport) single = sk_validator_finish (one, NULL);

      g_autofree char *a = sk_test_report_describe (two);
      g_autofree char *b = sk_test_report_describe (single);
      g_test_message ("%s: %s", cases[i].name, a);
      g_assert_cmpstr (a, ==, b);
      g_assert_cmpuint (two->records, ==, single->records);
      g_assert_cmpuint (two->size, ==, single->size);
      g_assert_cmpstr (two->case_id, ==, single->case_id);
      g_assert_cmpint (sk_file_report_ok (two), ==, i == 0);
    }
}

/* ---- caps -------------------------------------------------------------- */

static void
test_findings_cap (Fixture *fx, gconstpointer data)
{
  g_autoptr (SkPolicy) policy =
      sk_test_policy_with ("\"max_findings\": 1000", "\"max_findings\": 5", NULL);
  g_autofree char *path = generate (fx, "KNY01", RECORDS);

  for (guint64 rec = 2; rec <= RECORDS; rec++)
    p1_patch (fx, path, "KNY01", rec, "性別", "7", 1);
  const char *paths[] = { path, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) reports = sk_validate_paths (policy, paths, NULL, &error);
  g_assert_no_error (error);
  SkFileReport *r = g_ptr_array_index (reports, 0);
  g_assert_cmpuint (r->findings->len, ==, 5);
  g_assert_true (r->truncated);
}

static void
test_records_cap (Fixture *fx, gconstpointer data)
{
  g_autoptr (SkPolicy) policy =
      sk_test_policy_with ("\"max_records\": 1000000", "\"max_records\": 3", NULL);
  g_autofree char *path = generate (fx, "KNY01", RECORDS);
  const char *paths[] = { path, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) reports = sk_validate_paths (policy, paths, NULL, &error);
  g_assert_no_error (error);
  SkFileReport *r = g_ptr_array_index (reports, 0);
  assert_has (r, SK_ERROR_FILE_TOO_LARGE, 5, NULL);
}

/* ---- the compiled plan against the layout's own terms ------------------ */

/* Every code list shape the plan keeps differently (digit bitmaps of one to
 * three digits, packed words, lists with a code over eight bytes, an empty
 * code) against the policy's own linear search, for every value of up to
 * four bytes over an alphabet of digits, letters, space, NUL and '/'. */
static void
test_code_sets (void)
{
  static const char *const lists[][6] = {
    { "1", "2", "3" },
    { "00", "01", "02", "03", "99" },
    { "010", "020", "030" },
    { "1", "22" },
    { "A", "B1", "ZZZZZZZZ" },
    { "0001", "39" },
    { "123456789", "1", "22" },
    { "", "0" },
    { "9" },
    { "000", "999", "500" },
  };
  static const char alphabet[] = { '0', '1', '2', '3', '9', 'A', 'Z', ' ', '\0', '/' };

  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    {
      const char *values[6];
      gsize lengths[6];
      SkCodes codes = { 0, (char **)values, lengths, NULL };
      for (; codes.n < 6 && lists[l][codes.n] != NULL; codes.n++)
        {
          values[codes.n] = lists[l][codes.n];
          lengths[codes.n] = strlen (lists[l][codes.n]);
        }
      SkCodeSet set = { 0 };
      sk_code_set_init (&set, &codes);

      char value[9] = { 0 };
      for (gsize len = 0; len <= 4; len++)
        {
          guint total = 1;
          for (gsize k = 0; k < len; k++)
            total *= G_N_ELEMENTS (alphabet);
          for (guint n = 0; n < total; n++)
            {
              guint rest = n;
              for (gsize k = 0; k < len; k++, rest /= G_N_ELEMENTS (alphabet))
                value[k] = alphabet[rest % G_N_ELEMENTS (alphabet)];
              g_assert_cmpint (sk_code_set_contains (&set, value, len), ==,
                               _sk_codes_contain (&codes, value, len));
            }
        }
      const char *longer[] = { "ZZZZZZZZ", "123456789", "00000000", "ZZZZZZZZZ" };
      for (guint i = 0; i < G_N_ELEMENTS (longer); i++)
        g_assert_cmpint (sk_code_set_contains (&set, longer[i], strlen (longer[i])), ==,
                         _sk_codes_contain (&codes, longer[i], strlen (longer[i])));
      sk_code_set_clear (&set);
    }
}

/* A P1 digit field is read a word at a time, its last bytes as a word that
 * may overlap the fields before it.  For every data field of every P1 kind:
 * a byte that is no digit, at any place in a digit field, is that field's
 * finding (field-type or encoding) and the record's first; the same byte in
 * a field of another type never shows in a digit field next to it. */
static void
test_p1_digit_bytes (Fixture *fx, gconstpointer data)
{
  static const char *const kinds[] = { "KNY01", "FKH01", "FKH02", "FKH03", "SKI01", "JLS01" };
  static const guint8 spoilers[] = { '/', ':', ' ', 'A', 0x00, 0xB1, 0x82, 0xFF };

  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      const SkKind *kind = sk_policy_lookup_kind (fx->policy, kinds[k]);
      const SkRecordLayout *layout = kind->records[SK_RECORD_DATA];
      g_autofree char *path = generate (fx, kinds[k], 1);
      g_autofree char *base = g_path_get_basename (path);
      g_autoptr (GBytes) bytes = read_all (path);
      gsize len;
      const guint8 *clean = g_bytes_get_data (bytes, &len);
      g_autofree guint8 *copy = g_memdup2 (clean, len);
      guint8 *rec = copy + kind->record_length; /* the data record */

      /* Which field each byte of the record belongs to. */
      g_autofree const SkField **owner = g_new0 (const SkField *, kind->record_length);
      for (guint i = 0; i < layout->fields->len; i++)
        {
          const SkField *f = g_ptr_array_index (layout->fields, i);
          for (guint b = 0; b < f->length; b++)
            owner[f->offset + b] = f;
        }

      for (guint at = 0; at + 2 < kind->record_length; at++)
        for (guint s = 0; s < G_N_ELEMENTS (spoilers); s++)
          {
            const SkField *f = owner[at];
            if (f == NULL || rec[at] == spoilers[s])
              continue;
            memcpy (copy, clean, len);
            rec[at] = spoilers[s];
            g_autoptr (SkValidator) v = sk_validator_new (fx->policy, base);
            sk_validator_feed (v, copy, len);
            g_autoptr (SkFileReport) r = sk_validator_finish (v, NULL);

            if (f->type == SK_FIELD_DIGITS && at > 0)
              {
                g_assert_cmpuint (r->findings->len, >, 0);
                const SkFinding *first = &g_array_index (r->findings, SkFinding, 0);
                g_assert_cmpuint (first->record, ==, 2);
                g_assert_cmpuint (first->field, ==, f->index + 1);
                g_assert_true (first->code == SK_ERROR_FIELD_TYPE ||
                               first->code == SK_ERROR_ENCODING);
                continue;
              }
            for (guint i = 0; i < r->findings->len; i++)
              {
                const SkFinding *got = &g_array_index (r->findings, SkFinding, i);
                if (got->record != 2 || got->field == 0 || got->field == f->index + 1)
                  continue;
                const SkField *named = g_ptr_array_index (layout->fields, got->field - 1);
                if (named->type == SK_FIELD_DIGITS)
                  g_assert_true (got->code != SK_ERROR_FIELD_TYPE &&
                                 got->code != SK_ERROR_ENCODING);
              }
          }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/validator/all-kinds-valid", test_all_kinds_valid);
  ADD ("/validator/empty-file", test_empty_file_valid);
  ADD ("/validator/chunking", test_chunking);
  for (gsize i = 0; i < G_N_ELEMENTS (p1_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/validator/p1/%s", p1_cases[i].name);
      g_test_add (path, Fixture, &p1_cases[i], fixture_setup, test_p1_case, fixture_teardown);
    }
  ADD ("/validator/p1/encoding-classes", test_encoding_classes);
  ADD ("/validator/p1/era-mismatch", test_era_mismatch);
  ADD ("/validator/p1/age", test_age);
  ADD ("/validator/p1/not-before", test_not_before);
  ADD ("/validator/p1/duplicate-key", test_duplicate_key);
  ADD ("/validator/p1/unique-near-values", test_unique_near_values);
  ADD ("/validator/p1/group", test_group);
  ADD ("/validator/p1/conditions", test_conditions);
  ADD ("/validator/p1/line-ending", test_line_ending);
  ADD ("/validator/p1/tail", test_tail);
  ADD ("/validator/p1/record-length", test_record_length);
  ADD ("/validator/p1/record-order", test_record_order);
  ADD ("/validator/kind-unknown", test_kind_unknown);
  ADD ("/validator/p2/defects", test_p2_defects);
  ADD ("/validator/p2/structure", test_p2_structure);
  ADD ("/validator/pairing", test_pairing);
  ADD ("/validator/two-cores", test_two_cores);
  ADD ("/validator/cap/findings", test_findings_cap);
  ADD ("/validator/cap/records", test_records_cap);
  ADD ("/validator/plan/p1-digit-bytes", test_p1_digit_bytes);
  g_test_add_func ("/validator/plan/code-sets", test_code_sets);
  g_test_add_func ("/validator/plan/unique-keys", test_unique_keys);
#undef ADD

  return g_test_run ();
}
