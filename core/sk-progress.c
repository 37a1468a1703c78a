/* sk-progress.c — progress of a long call, told on the owner's main context */
#define G_LOG_DOMAIN "sekisho-progress"

#include "config.h"

#include "sk-progress.h"

struct _SkProgress
{
  GObject parent_instance;

  GCancellable *cancellable;
  GMainContext *context; /* where "changed" is emitted */

  GMutex lock; /* everything below */
  char *phase;
  guint64 done;
  guint64 total;
  GSource *source; /* a pending "changed", NULL when none */
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
  g_free (self->phase);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (sk_progress_parent_class)->finalize (object);
}

static void
sk_progress_class_init (SkProgressClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sk_progress_finalize;

  /**
   * SkProgress::changed:
   * @phase: the current phase
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
    *out_done = self->done;
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
    g_clear_pointer (&self->source, g_source_unref);
  g_autofree char *phase = g_strdup (self->phase);
  guint64 done = self->done;
  guint64 total = self->total;
  g_mutex_unlock (&self->lock);

  g_signal_emit (self, signals[SIGNAL_CHANGED], 0, phase, done, total);
  return G_SOURCE_REMOVE;
}

/* Ask for a "changed" on the owner's context: at once after a new phase,
 * within the interval otherwise; one pending at a time.  Called locked. */
static void
schedule_locked (SkProgress *self, gboolean now)
{
  if (self->source != NULL)
    return;
  GWeakRef *ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (ref, self);
  self->source = now ? g_idle_source_new () : g_timeout_source_new (SK_PROGRESS_INTERVAL_MS);
  g_source_set_callback (self->source, emit_changed, ref, weak_ref_free);
  g_source_attach (self->source, self->context);
}

gboolean
sk_progress_begin (SkProgress *self, const char *phase, guint64 total, GError **error)
{
  if (self == NULL)
    return TRUE;
  g_return_val_if_fail (SK_IS_PROGRESS (self), FALSE);
  g_return_val_if_fail (phase != NULL, FALSE);

  g_mutex_lock (&self->lock);
  g_free (self->phase);
  self->phase = g_strdup (phase);
  self->done = 0;
  self->total = total;
  if (self->source != NULL)
    {
      /* A new phase is told at once, not at the end of an interval. */
      g_source_destroy (self->source);
      g_clear_pointer (&self->source, g_source_unref);
    }
  schedule_locked (self, TRUE);
  g_mutex_unlock (&self->lock);
  return !g_cancellable_set_error_if_cancelled (self->cancellable, error);
}

gboolean
sk_progress_add (SkProgress *self, guint64 done, GError **error)
{
  if (self == NULL)
    return TRUE;
  g_return_val_if_fail (SK_IS_PROGRESS (self), FALSE);

  g_mutex_lock (&self->lock);
  self->done += done;
  schedule_locked (self, FALSE);
  g_mutex_unlock (&self->lock);
  return !g_cancellable_set_error_if_cancelled (self->cancellable, error);
}
