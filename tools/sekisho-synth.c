/* sekisho-synth — write synthetic interface files for demos, tests and
 * benchmarks.  Not installed: it is a development tool.
 *
 *   sekisho-synth --policy POLICY.json --out DIR [--kind ID]… [--records N]
 *                 [--seed S] [--case ID] [--seq N] [--defects]
 *
 * Without --kind it writes every kind of the policy.  --defects spoils a P1
 * file on purpose (a 個人番号 check digit, a CP932-only character, the trailer
 * count) so that a demo can show a refusal.  The policy's signature is not
 * checked here: the tool only reads its layouts.
 */
#define G_LOG_DOMAIN "sekisho-synth"

#include "config.h"

#include <fcntl.h>
#include <locale.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-policy-private.h"
#include "sk-synth.h"

static gboolean
patch (int fd, goffset offset, const void *bytes, gsize len, GError **error)
{
  if (pwrite (fd, bytes, len, offset) != (ssize_t)len)
    {
      sk_error_set_from_errno (error, errno, "patching the file");
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_byte (int fd, goffset offset, guint8 *out, GError **error)
{
  if (pread (fd, out, 1, offset) != 1)
    {
      sk_error_set_from_errno (error, errno, "reading the file");
      return FALSE;
    }
  return TRUE;
}

/* Three defects a P1 file can have, at known places. */
static gboolean
spoil (const SkKind *kind, const char *path, guint64 records, GError **error)
{
  const SkRecordLayout *data = kind->records[SK_RECORD_DATA];
  const SkRecordLayout *trailer = kind->records[SK_RECORD_TRAILER];
  guint rl = kind->record_length;

  if (kind->profile != SK_PROFILE_P1 || records < 3)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_USAGE,
                           "--defects needs a P1 kind and at least 3 records");
      return FALSE;
    }
  int fd = open (path, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    {
      sk_error_set_from_errno (error, errno, "opening the file");
      return FALSE;
    }
  gboolean ok = TRUE;

  /* Data record 1 (file record 2): the last digit of the checked number. */
  for (guint i = 0; ok && i < data->fields->len; i++)
    {
      const SkField *f = g_ptr_array_index (data->fields, i);
      if (f->check != SK_CHECK_INDIVIDUAL_NUMBER)
        continue;
      goffset at = (goffset)rl * 1 + f->offset + f->length - 1;
      guint8 d;
      ok = read_byte (fd, at, &d, error);
      d = (guint8)('0' + (d - '0' + 1) % 10);
      ok = ok && patch (fd, at, &d, 1, error);
      break;
    }
  /* Data record 2 (file record 3): 髙, a CP932 IBM extension, in the first N field. */
  for (guint i = 0; ok && i < data->fields->len; i++)
    {
      const SkField *f = g_ptr_array_index (data->fields, i);
      if (f->type != SK_FIELD_FULL)
        continue;
      ok = patch (fd, (goffset)rl * 2 + f->offset, "\xFB\xFC", 2, error);
      break;
    }
  /* The trailer's data count, one too many. */
  for (guint i = 0; ok && i < trailer->fields->len; i++)
    {
      const SkField *f = g_ptr_array_index (trailer->fields, i);
      if (f->count != SK_COUNT_DATA)
        continue;
      g_autofree char *digits =
          g_strdup_printf ("%0*" G_GUINT64_FORMAT, (int)f->length, records + 1);
      ok = patch (fd, (goffset)rl * (goffset)(records + 1) + f->offset, digits, f->length, error);
      break;
    }
  close (fd);
  return ok;
}

int
main (int argc, char **argv)
{
  g_autofree char *policy_path = NULL, *out_dir = NULL, *case_id = NULL;
  g_auto (GStrv) kinds = NULL;
  gint64 records = 10, seed = 1, seq = 1;
  gboolean defects = FALSE;
  const GOptionEntry entries[] = {
    { "policy", 0, 0, G_OPTION_ARG_FILENAME, &policy_path, "The policy with the layouts", "FILE" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out_dir, "Where to write", "DIR" },
    { "kind", 0, 0, G_OPTION_ARG_STRING_ARRAY, &kinds, "A kind to write (default: all)", "ID" },
    { "records", 0, 0, G_OPTION_ARG_INT64, &records, "Data records per file", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed", "S" },
    { "seq", 0, 0, G_OPTION_ARG_INT64, &seq, "連番", "N" },
    { "case", 0, 0, G_OPTION_ARG_STRING, &case_id, "処理番号", "ID" },
    { "defects", 0, 0, G_OPTION_ARG_NONE, &defects, "Spoil the file on purpose", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("— synthetic interface files");
  g_autoptr (GError) error = NULL;

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || policy_path == NULL ||
      out_dir == NULL || records < 0 || seq < 1 || seq > 999)
    {
      g_printerr ("sekisho-synth: %s\n",
                  error != NULL ? error->message : "--policy FILE and --out DIR are needed");
      return 2;
    }

  g_autofree char *json = NULL;
  gsize len;
  if (!g_file_get_contents (policy_path, &json, &len, &error))
    {
      g_printerr ("sekisho-synth: %s\n", error->message);
      return 3;
    }
  g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&json), len);
  g_autoptr (SkPolicy) policy = _sk_policy_new_from_bytes_full (bytes, TRUE, &error);
  if (policy == NULL)
    {
      g_printerr ("sekisho-synth: %s\n", error->message);
      return 1;
    }

  SkSynthOptions opts;
  sk_synth_options_init (&opts);
  opts.records = (guint64)records;
  opts.seed = (guint64)seed;
  opts.seq = (guint)seq;
  opts.case_id = case_id;

  GPtrArray *all = sk_policy_get_kinds (policy);
  for (guint i = 0; i < all->len; i++)
    {
      const SkKind *kind = g_ptr_array_index (all, i);
      if (kinds != NULL && !g_strv_contains ((const char *const *)kinds, kind->id))
        continue;
      g_autofree char *path = sk_synth_write_file (policy, kind, &opts, out_dir, &error);
      if (path == NULL || (defects && !spoil (kind, path, opts.records, &error)))
        {
          g_printerr ("sekisho-synth: %s: %s\n", kind->id, error->message);
          return 1;
        }
      g_print ("%s\n", path);
    }
  return 0;
}
