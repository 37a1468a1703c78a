/* sk-hash.h — SHA-256 of large streams, the one door to libgcrypt
 *
 * Packages and stored items are hashed as they stream by, up to 500 MB at a
 * time.  libgcrypt (already on every station as GnuPG's own library) uses
 * the CPU's SHA extensions and runs several times faster than GLib's
 * portable GChecksum; small inputs (journal rows) keep GChecksum.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _SkSha256 SkSha256;

/* NULL only when libgcrypt is unusable (a broken installation). */
SkSha256 *
sk_sha256_new (void);
void
sk_sha256_update (SkSha256 *sha, const void *data, gsize len);
/* The digest in lower-case hex; the object can take no more data after. */
const char *
sk_sha256_hex (SkSha256 *sha);
void
sk_sha256_free (SkSha256 *sha);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkSha256, sk_sha256_free)

/* The SHA-256 of one small buffer, in lower-case hex: the journal hashes a
 * million rows this way, with the CPU's SHA extensions. */
void
sk_sha256_buffer (const void *data, gsize len, char out[65]);

G_END_DECLS
