/* sk-validator-paths.c — validating files by path, large ones on two cores
 *
 * Requests before results, so that a result can be paired with the request
 * of its case; a large, clean P1 file is validated as two halves at once.
 */
#define G_LOG_DOMAIN "sekisho-validator"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk-policy-private.h"
#include "sk-record-plan.h"
#include "sk-validator-private.h"
#include "sk-validator.h"

/* ---- two cores --------------------------------------------------------- */

/* Files smaller than this are not worth a second thread. */
#define SK_PARALLEL_MIN_SIZE (8 * 1024 * 1024)

typedef struct
{
  SkValidator *v;
  int fd;
  goffset offset;
  guint64 length;
  GError *error;
} SkHalf;

static gpointer
validate_half (gpointer data)
{
  SkHalf *h = data;
  g_autofree guint8 *buf = g_malloc (SK_READ_CHUNK);
  guint64 done = 0;

  while (done < h->length)
    {
      gsize want = (gsize)MIN ((guint64)SK_READ_CHUNK, h->length - done);
      ssize_t n = pread (h->fd, buf, want, h->offset + (goffset)done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          sk_error_set_from_errno (&h->error, errno, "reading the file");
          return NULL;
        }
      if (n == 0)
        break; /* the file shrank: the caller's size check catches it */
      done += (guint64)n;
      if (!sk_validator_feed (h->v, buf, (gsize)n))
        break;
    }
  return NULL;
}

/* Validate a P1 file as two halves on two threads.  This is a fast path
 * for clean files only: it returns TRUE with *OUT_REPORT set only when both
 * halves are free of findings and agree with each other (the first ends
 * among the data records, no unique key occurs in both, the trailer matches
 * the sum of both halves' counts).  Anything else — a finding, an odd size,
 * a short read — returns TRUE with *OUT_REPORT NULL, and the caller
 * validates the file again in one pass, which then reports exactly what a
 * single pass reports.  FALSE is an environment error. */
static gboolean
validate_p1_in_halves (SkValidator *v,
                       int fd,
                       guint64 size,
                       GCancellable *cancellable,
                       SkFileReport **out_report,
                       GError **error)
{
  const SkKind *kind = v->kind;
  guint64 records = size / kind->record_length;
  guint64 split = records / 2;

  *out_report = NULL;
  g_autoptr (SkValidator) second = sk_validator_new (v->policy, v->report->file);
  second->continuation = TRUE;
  second->state = STATE_HEADER;
  second->record_no = split;
  sk_validator_set_expected_size (v, split * kind->record_length);
  sk_validator_set_expected_size (second, size - split * kind->record_length);

  SkHalf a = { v, fd, 0, split * kind->record_length, NULL };
  SkHalf b = { second, fd, (goffset)(split * kind->record_length),
               size - split * kind->record_length, NULL };
  GThread *thread = g_thread_new ("sk-validate", validate_half, &b);
  validate_half (&a);
  g_thread_join (thread);

  if (a.error != NULL || b.error != NULL)
    {
      g_propagate_error (error, a.error != NULL ? a.error : b.error);
      g_clear_error (a.error != NULL ? &b.error : &a.error);
      return FALSE;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  for (guint i = 0; i < SK_MAX_FIELDS; i++)
    {
      if (v->unique[i] != NULL)
        _sk_validator_flush_unique (v, i);
      if (second->unique[i] != NULL)
        _sk_validator_flush_unique (second, i);
    }

  gboolean clean = v->report->findings->len == 0 && second->report->findings->len == 0 &&
                   !v->stopped && !second->stopped && v->carry->len == 0 &&
                   second->carry->len == 0 && !v->skipping && !second->skipping &&
                   v->state == STATE_HEADER && second->state == STATE_END && second->trailer_seen &&
                   v->report->size + second->report->size == size && v->pair_keys == NULL &&
                   !v->have_request;
  /* No unique value may occur in both halves. */
  for (guint i = 0; clean && i < SK_MAX_FIELDS; i++)
    {
      const SkKeySet *mine = v->unique[i], *theirs = second->unique[i];
      if (mine == NULL || theirs == NULL)
        continue;
      for (guint64 s = 0; clean && s <= theirs->mask; s++)
        if (theirs->slots[s] != 0 && _sk_key_set_contains (mine, theirs->slots[s]))
          clean = FALSE;
    }
  if (!clean)
    return TRUE;

  /* The trailer against both halves' counts. */
  guint64 data_records = v->report->records + second->report->records;
  const SkRecordLayout *trailer = kind->records[SK_RECORD_TRAILER];
  for (guint t = 0; clean && t < trailer->fields->len; t++)
    {
      const SkField *f = g_ptr_array_index (trailer->fields, t);
      if (!second->trailer_ok[t])
        continue;
      guint64 got = second->trailer_values[t];
      if (f->count == SK_COUNT_DATA && got != data_records)
        clean = FALSE;
      if (f->count == SK_COUNT_CODES && got != v->counts[t] + second->counts[t])
        clean = FALSE;
      if (f->sum >= 0)
        {
          guint64 total;
          if (v->sum_overflow[t] || second->sum_overflow[t] ||
              !g_uint64_checked_add (&total, v->sums[t], second->sums[t]) || got != total)
            clean = FALSE;
        }
    }
  if (!clean || data_records > kind->max_records)
    return TRUE;

  v->report->records = data_records;
  v->report->size = size;
  v->state = STATE_END;
  v->record_no = second->record_no;
  *out_report = g_steal_pointer (&v->report);
  return TRUE;
}

/* ---- many files --------------------------------------------------------- */

static SkFileReport *
run_one (SkValidator *v,
         const char *path,
         GCancellable *cancellable,
         SkKeySet **out_keys,
         GError **error)
{
  /* Opened even when the name matches no kind: a file that is not there is
   * an environment problem, not a refusal of its name. */
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
  if (fd < 0)
    {
      int errsv = errno;
      g_autofree char *base = g_path_get_basename (path);
      g_autofree char *safe = sk_escape_untrusted (base);
      g_autofree char *what = g_strdup_printf ("opening %s", safe);
      sk_error_set_from_errno (error, errsv, what);
      return NULL;
    }
  struct stat st;
  if (v->kind != NULL && v->kind->profile == SK_PROFILE_P1 && out_keys == NULL &&
      !v->have_request && g_get_num_processors () > 1 && fstat (fd, &st) == 0 &&
      S_ISREG (st.st_mode) && (guint64)st.st_size >= SK_PARALLEL_MIN_SIZE &&
      (guint64)st.st_size <= v->kind->max_size && (guint64)st.st_size % v->kind->record_length == 0)
    {
      SkFileReport *fast = NULL;
      if (!validate_p1_in_halves (v, fd, (guint64)st.st_size, cancellable, &fast, error))
        {
          close (fd);
          return NULL;
        }
      if (fast != NULL)
        {
          close (fd);
          return fast;
        }
      /* Not clean: one pass, from the start, with a fresh validator. */
      g_autoptr (SkValidator) again = sk_validator_new (v->policy, v->report->file);
      gboolean ok =
          lseek (fd, 0, SEEK_SET) == 0 && sk_validator_feed_fd (again, fd, cancellable, error);
      close (fd);
      return ok ? sk_validator_finish (again, NULL) : NULL;
    }
  gboolean ok = v->kind == NULL || sk_validator_feed_fd (v, fd, cancellable, error);
  close (fd);
  if (!ok)
    return NULL;
  return sk_validator_finish (v, out_keys);
}

GPtrArray *
sk_validate_paths (SkPolicy *policy,
                   const char *const *paths,
                   GCancellable *cancellable,
                   GError **error)
{
  g_return_val_if_fail (SK_IS_POLICY (policy), NULL);
  g_return_val_if_fail (paths != NULL, NULL);

  guint n = g_strv_length ((GStrv)paths);
  g_autoptr (GPtrArray) reports =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sk_file_report_free);
  g_ptr_array_set_size (reports, n);

  /* Which kinds have results among the files: only their requests need to
   * keep pair keys. */
  g_autoptr (GPtrArray) validators =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sk_validator_free);
  gboolean any_result = FALSE;
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *base = g_path_get_basename (paths[i]);
      SkValidator *v = sk_validator_new (policy, base);
      g_ptr_array_add (validators, v);
      any_result |= v->kind != NULL && v->kind->direction == SK_DIRECTION_TO_STANDARD;
    }

  /* Requests first, keeping their pair keys by case. */
  g_autoptr (GPtrArray) request_keys =
      g_ptr_array_new_with_free_func ((GDestroyNotify)sk_key_set_free);
  g_autoptr (GPtrArray) request_reports = g_ptr_array_new ();
  for (guint i = 0; i < n; i++)
    {
      SkValidator *v = g_ptr_array_index (validators, i);
      if (v->kind != NULL && v->kind->direction == SK_DIRECTION_TO_STANDARD)
        continue;
      if (any_result)
        sk_validator_collect_pair_keys (v);
      SkKeySet *keys = NULL;
      SkFileReport *report = run_one (v, paths[i], cancellable, any_result ? &keys : NULL, error);
      if (report == NULL)
        return NULL;
      reports->pdata[i] = report;
      if (keys != NULL)
        {
          g_ptr_array_add (request_keys, keys);
          g_ptr_array_add (request_reports, report);
        }
    }

  for (guint i = 0; i < n; i++)
    {
      SkValidator *v = g_ptr_array_index (validators, i);
      if (v->kind == NULL || v->kind->direction != SK_DIRECTION_TO_STANDARD)
        continue;

      /* Pair with a request of a kind that answers to this one, in the same
       * case.  The case is read from the result's own header, so the result
       * is read twice when a request is present: once for its case, once
       * for pairing. */
      g_autoptr (SkValidator) probe = sk_validator_new (policy, v->report->file);
      g_autoptr (SkFileReport) first = run_one (probe, paths[i], cancellable, NULL, error);
      if (first == NULL)
        return NULL;
      for (guint r = 0; first->case_id != NULL && r < request_reports->len; r++)
        {
          const SkFileReport *req = g_ptr_array_index (request_reports, r);
          if (req->case_id == NULL || !g_str_equal (req->case_id, first->case_id) ||
              req->kind->pairs_with == NULL ||
              !g_strv_contains ((const char *const *)req->kind->pairs_with, v->kind->id))
            continue;
          sk_validator_set_request (v, g_ptr_array_index (request_keys, r), req->records);
          break;
        }
      if (!v->have_request)
        {
          reports->pdata[i] = g_steal_pointer (&first);
          continue;
        }
      SkFileReport *report = run_one (v, paths[i], cancellable, NULL, error);
      if (report == NULL)
        return NULL;
      reports->pdata[i] = report;
    }
  return g_steal_pointer (&reports);
}
