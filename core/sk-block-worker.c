/* sk-block-worker.c — a thread that takes a stream's blocks in turn */
#define G_LOG_DOMAIN "sekisho-block"

#include "config.h"

#include "sk-block-worker.h"

/* Three buffers: one being read into, one being worked on, one spare. */
#define N_BUFFERS 3

typedef struct
{
  guint8 *buf;
  gsize len;
} Block;

struct _SkBlockWorker
{
  SkBlockFunc func;
  gpointer user_data;
  GThread *thread;
  GAsyncQueue *todo; /* Block*; a NULL buffer ends the thread */
  GAsyncQueue *free; /* guint8* */
  Block blocks[N_BUFFERS];
  guint8 *buffers[N_BUFFERS];
  GMutex lock;
  GCond done_cond;
  guint64 pushed; /* under LOCK */
  guint64 done;   /* under LOCK */
  GError *error;  /* under LOCK */
};

static gpointer
work (gpointer data)
{
  SkBlockWorker *self = data;
  for (;;)
    {
      Block *block = g_async_queue_pop (self->todo);
      if (block->buf == NULL)
        break;
      g_mutex_lock (&self->lock);
      gboolean failed = self->error != NULL;
      g_mutex_unlock (&self->lock);
      GError *error = NULL;
      gboolean ok = failed || self->func (block->buf, block->len, self->user_data, &error);
      g_async_queue_push (self->free, block->buf);
      g_mutex_lock (&self->lock);
      if (!ok)
        self->error = error;
      self->done++;
      g_cond_signal (&self->done_cond);
      g_mutex_unlock (&self->lock);
    }
  return NULL;
}

SkBlockWorker *
sk_block_worker_new (const char *name, SkBlockFunc func, gpointer user_data, gsize block_size)
{
  SkBlockWorker *self = g_new0 (SkBlockWorker, 1);
  self->func = func;
  self->user_data = user_data;
  self->todo = g_async_queue_new ();
  self->free = g_async_queue_new ();
  g_mutex_init (&self->lock);
  g_cond_init (&self->done_cond);
  for (guint i = 0; i < N_BUFFERS; i++)
    {
      self->buffers[i] = g_malloc (block_size);
      g_async_queue_push (self->free, self->buffers[i]);
    }
  self->thread = g_thread_new (name, work, self);
  return self;
}

guint8 *
sk_block_worker_get_buffer (SkBlockWorker *self)
{
  return g_async_queue_pop (self->free);
}

void
sk_block_worker_push (SkBlockWorker *self, guint8 *buf, gsize len)
{
  for (guint i = 0; i < N_BUFFERS; i++)
    if (self->buffers[i] == buf)
      {
        g_mutex_lock (&self->lock);
        self->pushed++;
        g_mutex_unlock (&self->lock);
        self->blocks[i] = (Block){ buf, len };
        g_async_queue_push (self->todo, &self->blocks[i]);
        return;
      }
  g_return_if_reached ();
}

gboolean
sk_block_worker_finish (SkBlockWorker *self, GError **error)
{
  g_mutex_lock (&self->lock);
  while (self->done < self->pushed)
    g_cond_wait (&self->done_cond, &self->lock);
  gboolean ok = self->error == NULL;
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&self->error));
  g_mutex_unlock (&self->lock);
  return ok;
}

void
sk_block_worker_free (SkBlockWorker *self)
{
  if (self == NULL)
    return;
  Block stop = { NULL, 0 };
  g_async_queue_push (self->todo, &stop);
  g_thread_join (self->thread);
  g_async_queue_unref (self->todo);
  g_async_queue_unref (self->free);
  for (guint i = 0; i < N_BUFFERS; i++)
    g_free (self->buffers[i]);
  g_clear_error (&self->error);
  g_cond_clear (&self->done_cond);
  g_mutex_clear (&self->lock);
  g_free (self);
}
