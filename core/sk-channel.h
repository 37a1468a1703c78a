/* sk-channel.h — blocks handed from one thread to another
 *
 * Decryption on one thread, the tar walk on another: the plaintext moves
 * between them through a few fixed blocks in memory, not through a socket
 * (two copies in the kernel per byte, and most of the system time of a
 * check).  Bounded: the writer waits while every block is full.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _SkChannel SkChannel;

SkChannel *
sk_channel_new (gsize block_size, guint n_blocks);
void
sk_channel_free (SkChannel *channel);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkChannel, sk_channel_free)

/* The writer's side.  FALSE when the reader has gone (nothing more will be
 * read). */
gboolean
sk_channel_write (SkChannel *channel, const guint8 *data, gsize len);
/* The end of the stream; the writer must always call it, success or not. */
void
sk_channel_close_write (SkChannel *channel);

/* The reader's side: the next block, valid until the next call; 0 at the
 * end of the stream. */
gsize
sk_channel_read_block (SkChannel *channel, const guint8 **out_data);
/* The reader stops early: the writer's next write fails. */
void
sk_channel_close_read (SkChannel *channel);

G_END_DECLS
