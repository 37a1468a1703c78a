/* test-progress.c — progress is told on the owner's context, coalesced, and
 * a cancellation stops the worker at its next step */
#include "config.h"

#include "sk-progress.h"

typedef struct
{
  const char *phase; /* interned */
  guint64 done;
  guint64 total;
} Told;

typedef struct
{
  GArray *told; /* Told, one per "changed" */
  GThread *owner;
  gboolean wrong_thread;
} Seen;

static void
on_changed (SkProgress *progress, const char *phase, guint64 done, guint64 total, gpointer data)
{
  Seen *seen = data;
  if (g_thread_self () != seen->owner)
    seen->wrong_thread = TRUE;
  Told t = { g_intern_string (phase), done, total };
  g_array_append_val (seen->told, t);
}

static const Told *
last_told (Seen *seen)
{
  return seen->told->len > 0 ? &g_array_index (seen->told, Told, seen->told->len - 1) : NULL;
}

#define CHUNK 4096
#define CHUNKS 20000

static gpointer
worker (gpointer data)
{
  SkProgress *progress = data;
  g_autoptr (GError) error = NULL;

  if (!sk_progress_begin (progress, SK_PROGRESS_PHASE_COPY, (guint64)CHUNK * CHUNKS, &error))
    return g_steal_pointer (&error);
  for (guint i = 0; i < CHUNKS; i++)
    if (!sk_progress_add (progress, CHUNK, &error))
      return g_steal_pointer (&error);
  if (!sk_progress_begin (progress, SK_PROGRESS_PHASE_VERIFY, 10, &error) ||
      !sk_progress_add (progress, 10, &error))
    return g_steal_pointer (&error);
  return NULL;
}

static gboolean
thread_done (gpointer data)
{
  gboolean *done = data;
  *done = TRUE;
  return G_SOURCE_REMOVE;
}

typedef struct
{
  SkProgress *progress;
  gboolean *finished;
  GError *error;
} Job;

static gpointer
job_thread (gpointer data)
{
  Job *job = data;
  job->error = worker (job->progress);
  g_idle_add (thread_done, job->finished);
  return NULL;
}

static void
test_changed_on_owner (void)
{
  Seen seen = { g_array_new (FALSE, FALSE, sizeof (Told)), g_thread_self (), FALSE };
  g_autoptr (SkProgress) progress = sk_progress_new (NULL);
  g_signal_connect (progress, "changed", G_CALLBACK (on_changed), &seen);

  gboolean finished = FALSE;
  Job job = { progress, &finished, NULL };
  GThread *thread = g_thread_new ("worker", job_thread, &job);
  while (!finished)
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (thread);
  g_assert_no_error (job.error);

  /* The last figures arrive, on this thread, in far fewer signals than
   * steps (one per interval at most, plus one per phase). */
  while (g_main_context_pending (NULL) || last_told (&seen) == NULL ||
         !g_str_equal (last_told (&seen)->phase, "verify") || last_told (&seen)->done != 10)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (seen.wrong_thread);
  g_assert_cmpuint (last_told (&seen)->total, ==, 10);
  g_assert_cmpuint (seen.told->len, <, CHUNKS / 10);

  /* Phases arrive in order, done only grows within a phase, and the owner
   * sees where the first phase ended however fast the worker left it. */
  gboolean in_verify = FALSE;
  guint64 copy_last = 0;
  for (guint i = 0; i < seen.told->len; i++)
    {
      const Told *t = &g_array_index (seen.told, Told, i);
      if (g_str_equal (t->phase, "verify"))
        in_verify = TRUE;
      else
        {
          g_assert_true (!in_verify && g_str_equal (t->phase, "copy"));
          g_assert_cmpuint (t->done, >=, copy_last);
          g_assert_cmpuint (t->total, ==, (guint64)CHUNK * CHUNKS);
          copy_last = t->done;
        }
    }
  g_assert_cmpuint (copy_last, ==, (guint64)CHUNK * CHUNKS);

  g_autofree char *phase = NULL;
  guint64 done, total;
  sk_progress_get (progress, &phase, &done, &total);
  g_assert_cmpstr (phase, ==, "verify");
  g_assert_cmpuint (done, ==, 10);
  g_assert_cmpuint (total, ==, 10);
  g_array_unref (seen.told);
}

/* Every phase has a stable name. */
static void
test_phase_names (void)
{
  const char *const names[] = { "copy",  "verify",    "validate", "hash",
                                "write", "read-back", "seal",     "journal" };
  G_STATIC_ASSERT (G_N_ELEMENTS (names) == SK_PROGRESS_N_PHASES);
  for (guint i = 0; i < SK_PROGRESS_N_PHASES; i++)
    g_assert_cmpstr (sk_progress_phase_to_string ((SkProgressPhase)i), ==, names[i]);
}

static gboolean
cancel_later (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static gpointer
endless (gpointer data)
{
  SkProgress *progress = data;
  g_autoptr (GError) error = NULL;
  if (!sk_progress_begin (progress, SK_PROGRESS_PHASE_COPY, 0, &error))
    return g_steal_pointer (&error);
  for (;;)
    if (!sk_progress_add (progress, 1, &error))
      return g_steal_pointer (&error);
}

/* A worker that reports stops at its next report once cancelled. */
static void
test_cancel (void)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (SkProgress) progress = sk_progress_new (cancellable);
  g_assert_true (sk_progress_get_cancellable (progress) == cancellable);

  GThread *thread = g_thread_new ("endless", endless, progress);
  g_timeout_add (50, cancel_later, cancellable);
  gint64 start = g_get_monotonic_time ();
  while (!g_cancellable_is_cancelled (cancellable))
    g_main_context_iteration (NULL, TRUE);
  g_autoptr (GError) error = g_thread_join (thread);
  gint64 took_us = g_get_monotonic_time () - start;
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (took_us, <, G_USEC_PER_SEC);

  /* Once cancelled, a new phase fails too. */
  g_autoptr (GError) again = NULL;
  g_assert_false (sk_progress_begin (progress, SK_PROGRESS_PHASE_VERIFY, 1, &again));
  g_assert_error (again, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* A progress whose owner never runs its context is freed with nothing
 * pending (LeakSanitizer checks), and NULL does nothing. */
static void
test_unowned (void)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  SkProgress *progress = sk_progress_new (NULL);
  g_main_context_pop_thread_default (context);
  g_assert_true (sk_progress_begin (progress, SK_PROGRESS_PHASE_COPY, 3, NULL));
  g_assert_true (sk_progress_add (progress, 1, NULL));
  g_object_unref (progress);
  g_assert_false (g_main_context_iteration (context, FALSE));

  g_assert_true (sk_progress_begin (NULL, SK_PROGRESS_PHASE_COPY, 1, NULL));
  g_assert_true (sk_progress_add (NULL, 1, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/progress/changed-on-owner", test_changed_on_owner);
  g_test_add_func ("/progress/cancel", test_cancel);
  g_test_add_func ("/progress/phase-names", test_phase_names);
  g_test_add_func ("/progress/unowned", test_unowned);
  return g_test_run ();
}
