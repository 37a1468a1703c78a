/* sk-progress.c — progress of a long call, told on the owner's main context */
#define G_LOG_DOMAIN "sekisho-progress"

#include "config.h"

#include "sk-progress.h"

static const char *const phase_names[SK_PROGRESS_N_PHASES] = {
  [SK_PROGRESS_PHASE_COPY] = "copy",         [SK_PROGRESS_PHASE_VERIFY] = "verify",
  [SK_PROGRESS_PHASE_VALIDATE] = "validate", [SK_PROGRESS_PHASE_HASH] = "hash",
  [SK_PROGRESS_PHASE_WRITE] = "write",       [SK_PROGRESS_PHASE_READ_BACK] = "read-back",
  [SK_PROGRESS_PHASE_SEAL] = "seal",         [SK_PROGRESS_PHASE_JOURNAL] = "journal",
};

const char *
sk_progress_phase_to_string (SkProgressPhase phase)
{
  g_return_val_if_fail ((guint)phase < SK_PROGRESS_N_PHASES, NULL);
  return phase_names[phase];
}

/* The figures of one phase as the owner is told them. */
typedef struct
{
  const char *phase; /* one of phase_names */
  guint64 done;
  guint64 total;
} Figures;

struct _SkProgress
{
  GObject parent_instance;

  GCancellable *cancellable;
  GMainContext *context; /* where "changed" is emitted */

  guint64 done; /* atomic: the worker adds without the lock */
  gint pending; /* atomic: a "changed" is asked for and not yet emitted */

  GMutex lock; /* everything below */
  const char *phase;
  guint64 total;
  GArray *ended;   /* Figures of the phases that ended since the last "changed" */
  GSource *source; /* the pending "changed", NULL when none */
};

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (SkProgress, sk_progress, G_TYPE_OBJECT)

static void
sk_progress_finalize (GObject *object)
{
  SkProgress *self = SK_PROGRESS (object);

  /* A pending "changed" holds only a weak reference: it goes with us. */
  if (self->source != NULL)
    {
      g_source_destroy (self->source);
      g_source_unref (self->source);
    }
  g_clear_object (&self->cancellable);
  g_main_context_unref (self->context);
  g_array_unref (self->ended);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (sk_progress_parent_class)->finalize (object);
}

static void
sk_progress_class_init (SkProgressClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sk_progress_finalize;

  /**
   * SkProgress::changed:
   * @phase: the phase (sk_progress_phase_to_string ())
   * @done: units of the phase done
   * @total: units of the phase in all
   */
  signals[SIGNAL_CHANGED] =
      g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                    G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_UINT64, G_TYPE_UINT64);
}

static void
sk_progress_init (SkProgress *self)
{
  g_mutex_init (&self->lock);
  self->ended = g_array_new (FALSE, FALSE, sizeof (Figures));
}

SkProgress *
sk_progress_new (GCancellable *cancellable)
{
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);

  SkProgress *self = g_object_new (SK_TYPE_PROGRESS, NULL);
  self->cancellable = cancellable != NULL ? g_object_ref (cancellable) : g_cancellable_new ();
  self->context = g_main_context_ref_thread_default ();
  return self;
}

GCancellable *
sk_progress_get_cancellable (SkProgress *self)
{
  g_return_val_if_fail (SK_IS_PROGRESS (self), NULL);
  return self->cancellable;
}

void
sk_progress_get (SkProgress *self, char **out_phase, guint64 *out_done, guint64 *out_total)
{
  g_return_if_fail (SK_IS_PROGRESS (self));

  g_mutex_lock (&self->lock);
  if (out_phase != NULL)
    *out_phase = g_strdup (self->phase);
  if (out_done != NULL)
    *out_done = __atomic_load_n (&self->done, __ATOMIC_RELAXED);
  if (out_total != NULL)
    *out_total = self->total;
  g_mutex_unlock (&self->lock);
}

static void
weak_ref_free (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

static gboolean
emit_changed (gpointer user_data)
{
  g_autoptr (SkProgress) self = g_weak_ref_get (user_data);
  if (self == NULL)
    return G_SOURCE_REMOVE;

  g_mutex_lock (&self->lock);
  /* A source replaced by a new phase while it was being dispatched is no
   * longer ours to clear. */
  if (self->source == g_main_current_source ())
    {
      g_clear_pointer (&self->source, g_source_unref);
      /* From here on a worker's add asks for the next "changed". */
      g_atomic_int_set (&self->pending, 0);
    }
  g_autoptr (GArray) ended = self->ended;
  self->ended = g_array_new (FALSE, FALSE, sizeof (Figures));
  Figures now = { self->phase, __atomic_load_n (&self->done, __ATOMIC_RELAXED), self->total };
  g_mutex_unlock (&self->lock);

  for (guint i = 0; i < ended->len; i++)
    {
      const Figures *f = &g_array_index (ended, Figures, i);
      g_signal_emit (self, signals[SIGNAL_CHANGED], 0, f->phase, f->done, f->total);
    }
  if (now.phase != NULL)
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0, now.phase, now.done, now.total);
  return G_SOURCE_REMOVE;
}

/* Ask for a "changed" on the owner's context: at once after a new phase,
 * within the interval otherwise; one pending at a time.  Called locked. */
static void
schedule_locked (SkProgress *self, gboolean now)
{
  if (self->source != NULL)
    {
      if (!now)
        return;
      /* A new phase is told at once, not at the end of an interval. */
      g_source_destroy (self->source);
      g_clear_pointer (&self->source, g_source_unref);
    }
  GWeakRef *ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (ref, self);
  self->source = now ? g_idle_source_new () : g_timeout_source_new (SK_PROGRESS_INTERVAL_MS);
  g_source_set_callback (self->source, emit_changed, ref, weak_ref_free);
  g_source_attach (self->source, self->context);
  g_atomic_int_set (&self->pending, 1);
}

gboolean
sk_progress_begin (SkProgress *self, SkProgressPhase phase, guint64 total, GError **error)
{
  if (self == NULL)
    return TRUE;
  g_return_val_if_fail (SK_IS_PROGRESS (self), FALSE);
  g_return_val_if_fail ((guint)phase < SK_PROGRESS_N_PHASES, FALSE);

  g_mutex_lock (&self->lock);
  if (self->phase != NULL)
    {
      /* The owner sees where the phase that ends ended. */
      Figures last = { self->phase, __atomic_load_n (&self->done, __ATOMIC_RELAXED), self->total };
      g_array_append_val (self->ended, last);
    }
  self->phase = phase_names[phase];
  __atomic_store_n (&self->done, 0, __ATOMIC_RELAXED);
  self->total = total;
  schedule_locked (self, TRUE);
  g_mutex_unlock (&self->lock);
  return !g_cancellable_set_error_if_cancelled (self->cancellable, error);
}

gboolean
sk_progress_add (SkProgress *self, guint64 done, GError **error)
{
  if (self == NULL)
    return TRUE;

  __atomic_fetch_add (&self->done, done, __ATOMIC_RELAXED);
  /* The lock only when no "changed" is pending: once per interval. */
  if (g_atomic_int_get (&self->pending) == 0)
    {
      g_mutex_lock (&self->lock);
      schedule_locked (self, FALSE);
      g_mutex_unlock (&self->lock);
    }
  return !g_cancellable_set_error_if_cancelled (self->cancellable, error);
}

gboolean
sk_progress_set_error_if_cancelled (SkProgress *progress, GCancellable *cancellable, GError **error)
{
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return TRUE;
  return progress != NULL && g_cancellable_set_error_if_cancelled (progress->cancellable, error);
}
