/* sk-tee-stream.c — every byte read, also to a block worker */
#define G_LOG_DOMAIN "sekisho-tee"

#include "config.h"

#include <string.h>

#include "sk-tee-stream.h"

#define BLOCK (256 * 1024)

struct _SkTeeInputStream
{
  GFilterInputStream parent_instance;

  SkBlockWorker *worker; /* NULL: nothing to hand over */
  SkProgress *progress;  /* NULL: nothing to tell */
};

G_DEFINE_FINAL_TYPE (SkTeeInputStream, sk_tee_input_stream, G_TYPE_FILTER_INPUT_STREAM)

static gssize
sk_tee_input_stream_read (
    GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable, GError **error)
{
  SkTeeInputStream *self = SK_TEE_INPUT_STREAM (stream);
  GInputStream *base = g_filter_input_stream_get_base_stream (G_FILTER_INPUT_STREAM (stream));
  gssize n = g_input_stream_read (base, buffer, count, cancellable, error);

  for (gssize done = 0; self->worker != NULL && done < n;)
    {
      gsize take = MIN ((gsize)(n - done), (gsize)BLOCK);
      guint8 *copy = sk_block_worker_get_buffer (self->worker);
      memcpy (copy, (const guint8 *)buffer + done, take);
      sk_block_worker_push (self->worker, copy, take);
      done += (gssize)take;
    }
  if (n > 0 && !sk_progress_add (self->progress, (guint64)n, error))
    return -1;
  return n;
}

static void
sk_tee_input_stream_finalize (GObject *object)
{
  SkTeeInputStream *self = SK_TEE_INPUT_STREAM (object);

  g_clear_pointer (&self->worker, sk_block_worker_free);
  g_clear_object (&self->progress);
  G_OBJECT_CLASS (sk_tee_input_stream_parent_class)->finalize (object);
}

static void
sk_tee_input_stream_class_init (SkTeeInputStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = sk_tee_input_stream_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = sk_tee_input_stream_read;
}

static void
sk_tee_input_stream_init (SkTeeInputStream *self)
{
}

GInputStream *
sk_tee_input_stream_new (GInputStream *base,
                         SkBlockFunc func,
                         gpointer user_data,
                         SkProgress *progress)
{
  SkTeeInputStream *self = g_object_new (SK_TYPE_TEE_INPUT_STREAM, "base-stream", base, NULL);
  if (func != NULL)
    self->worker = sk_block_worker_new ("sk-tee", func, user_data, BLOCK);
  if (progress != NULL)
    self->progress = g_object_ref (progress);
  return G_INPUT_STREAM (self);
}

gboolean
sk_tee_input_stream_finish (SkTeeInputStream *self, GError **error)
{
  g_return_val_if_fail (SK_IS_TEE_INPUT_STREAM (self), FALSE);
  return self->worker == NULL || sk_block_worker_finish (self->worker, error);
}
