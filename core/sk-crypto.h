/* sk-crypto.h — encryption at rest
 *
 * Each stored item has its own random 256-bit key and is sealed in chunks
 * of at most SK_SEAL_CHUNK bytes of plaintext, each authenticated, the
 * last one sealed as last: a reader detects any changed, reordered,
 * dropped or appended chunk and a stream cut short.  Items are sealed with
 * AES-256-GCM (format 2, sk-crypto.c gives the construction and why);
 * items an earlier version sealed with libsodium's secretstream
 * (XChaCha20-Poly1305, format 1) still open.  Keys live in guarded, locked
 * memory (sodium_malloc) and are wiped when freed.
 *
 * GnuPG is for what crosses between stations, not for the store's many
 * small keys.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SK_ITEM_KEY_BYTES 32
#define SK_SEAL_CHUNK (64 * 1024)

gboolean
sk_crypto_init (GError **error);

/* A key in locked memory. */
typedef struct _SkItemKey SkItemKey;
SkItemKey *
sk_item_key_new_random (void);
SkItemKey *
sk_item_key_new_from_bytes (const guint8 *bytes, gsize len);
const guint8 *
sk_item_key_get_bytes (const SkItemKey *key);
void
sk_item_key_free (SkItemKey *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkItemKey, sk_item_key_free)

/* Seal everything read from IN (to its end) into the file descriptor OUT,
 * which is not fsynced here.  Returns the plaintext's size and SHA-256
 * (lower-case hex) through the out parameters. */
gboolean
sk_seal_stream (const SkItemKey *key,
                GInputStream *in,
                int out_fd,
                guint64 *out_size,
                char **out_sha256,
                GCancellable *cancellable,
                GError **error);

/* Sealing bytes pushed as they arrive: SIZE bytes in all (announced, so
 * that the last chunk is sealed as last), in pieces of any length, from
 * one thread; the sealed bytes, header first, go to OUT in batches of
 * chunks as they are made.  What sk_seal_stream() would write of the same
 * bytes, and sk_open_stream() opens. */
typedef gboolean (*SkSealOut) (const guint8 *data, gsize len, gpointer user_data, GError **error);
typedef struct _SkSealer SkSealer;
SkSealer *
sk_sealer_new (
    const SkItemKey *key, guint64 size, SkSealOut out, gpointer out_data, GError **error);
/* FALSE (with ERROR) when OUT failed, or beyond the announced size. */
gboolean
sk_sealer_push (SkSealer *self, const guint8 *data, gsize len, GError **error);
/* Seal and hand on the rest; FALSE when fewer than SIZE bytes came. */
gboolean
sk_sealer_finish (SkSealer *self, GError **error);
void
sk_sealer_free (SkSealer *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkSealer, sk_sealer_free)

/* Open what sk_seal_stream() wrote, writing the plaintext to OUT.  Anything
 * altered or cut short fails with SK_ERROR_DECRYPT_FAILED; plaintext already
 * written to OUT before the failure is the caller's to discard. */
gboolean
sk_open_stream (
    const SkItemKey *key, int in_fd, GOutputStream *out, GCancellable *cancellable, GError **error);

void
sk_memzero (void *data, gsize len);

G_END_DECLS
