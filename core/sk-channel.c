/* sk-channel.c — a bounded queue of blocks between two threads */
#define G_LOG_DOMAIN "sekisho-channel"

#include "config.h"

#include <string.h>

#include "sk-channel.h"

typedef struct
{
  guint8 *data;
  gsize len;
} Block;

struct _SkChannel
{
  gsize block_size;
  guint n_blocks;
  Block *blocks;
  GAsyncQueue *filled; /* Block*, in order; the end is a Block of no data */
  GAsyncQueue *free;   /* Block* */
  Block end;
  Block *filling; /* the writer's */
  Block *held;    /* the reader's */
  gboolean at_end;
  gint reader_gone; /* atomic */
};

SkChannel *
sk_channel_new (gsize block_size, guint n_blocks)
{
  SkChannel *self = g_new0 (SkChannel, 1);
  self->block_size = block_size;
  self->n_blocks = n_blocks;
  self->blocks = g_new0 (Block, n_blocks);
  self->filled = g_async_queue_new ();
  self->free = g_async_queue_new ();
  for (guint i = 0; i < n_blocks; i++)
    {
      self->blocks[i].data = g_malloc (block_size);
      g_async_queue_push (self->free, &self->blocks[i]);
    }
  return self;
}

void
sk_channel_free (SkChannel *self)
{
  if (self == NULL)
    return;
  g_async_queue_unref (self->filled);
  g_async_queue_unref (self->free);
  for (guint i = 0; i < self->n_blocks; i++)
    g_free (self->blocks[i].data);
  g_free (self->blocks);
  g_free (self);
}

gboolean
sk_channel_write (SkChannel *self, const guint8 *data, gsize len)
{
  while (len > 0)
    {
      if (g_atomic_int_get (&self->reader_gone))
        return FALSE;
      if (self->filling == NULL)
        {
          self->filling = g_async_queue_pop (self->free);
          self->filling->len = 0;
          if (g_atomic_int_get (&self->reader_gone))
            return FALSE;
        }
      gsize take = MIN (len, self->block_size - self->filling->len);
      memcpy (self->filling->data + self->filling->len, data, take);
      self->filling->len += take;
      data += take;
      len -= take;
      if (self->filling->len == self->block_size)
        {
          g_async_queue_push (self->filled, self->filling);
          self->filling = NULL;
        }
    }
  return !g_atomic_int_get (&self->reader_gone);
}

void
sk_channel_close_write (SkChannel *self)
{
  if (self->filling != NULL && self->filling->len > 0)
    g_async_queue_push (self->filled, self->filling);
  else if (self->filling != NULL)
    g_async_queue_push (self->free, self->filling);
  self->filling = NULL;
  g_async_queue_push (self->filled, &self->end);
}

gsize
sk_channel_read_block (SkChannel *self, const guint8 **out_data)
{
  if (self->held != NULL)
    g_async_queue_push (self->free, self->held);
  self->held = NULL;
  *out_data = NULL;
  if (self->at_end)
    return 0;
  Block *block = g_async_queue_pop (self->filled);
  if (block == &self->end)
    {
      self->at_end = TRUE;
      return 0;
    }
  self->held = block;
  *out_data = block->data;
  return block->len;
}

void
sk_channel_close_read (SkChannel *self)
{
  g_atomic_int_set (&self->reader_gone, TRUE);
  if (self->held != NULL)
    g_async_queue_push (self->free, self->held);
  self->held = NULL;
  /* Give back whatever the writer has queued, so that it is not left
   * waiting for a free block; it then sees the reader gone. */
  for (Block *b; !self->at_end && (b = g_async_queue_try_pop (self->filled)) != NULL;)
    {
      if (b == &self->end)
        self->at_end = TRUE;
      else
        g_async_queue_push (self->free, b);
    }
}
