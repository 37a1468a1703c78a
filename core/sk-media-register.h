/* sk-media-register.h — the media register (媒体管理簿) and its tokens
 *
 * Serial numbers alone do not tell media apart: they are cloned, or missing.
 * Registering a medium therefore writes a small token onto it —
 *
 *   .sekisho-medium.json      {"format": "sekisho-medium-token/1",
 *                              "token": 32 hex digits (random),
 *                              "number": the 管理番号,
 *                              "station": the station key's fingerprint}
 *   .sekisho-medium.json.sig  a binary detached signature by the station key
 *
 * — and a row in the station database, journaled in the same transaction.
 * A medium is registered when both match: a row in state "registered" whose
 * token, 管理番号, kind, vendor, model and serial are those of the token and
 * of the device.  A cloned serial without the token, a copied token on a
 * device of another serial, a token signed by any other key, an
 * unregistered row: each is media-unregistered, saying which.  What this
 * does not prove: a device that clones both the serial and the token
 * files of a registered medium bit for bit is taken for it; that needs the
 * physical control of media the 管理簿 exists for.
 *
 * Rows imported from a CSV (the union's existing 管理簿) are "pending": they
 * become registered when a token is written for their 管理番号 on a device
 * of their identity.
 *
 * Optical discs.  A disc cannot take a token once it is burned, and
 * Sekisho never writes to one: discs are import-only (export to a disc, or
 * registering an inserted one, is media-read-only).  A disc is registered
 * before it is mastered: sk_media_register_disc draws the token for its
 * 管理番号, signs it with the station key, records the row (kind
 * "optical") in the transaction that journals it, and hands back the two
 * token files, which are burned into the root of the disc beside the
 * packages.  The row names no vendor, model or serial — a drive's identity
 * is the drive's, not the disc's — so an inserted disc is registered when
 * the token it carries verifies, is in a registered row of kind optical,
 * and names that row's 管理番号; the same token on a USB stick is not (the
 * kind differs).  What this does not prove: a bit-for-bit copy of a
 * registered disc is taken for it.  As with sticks, the 管理簿's physical
 * control of media covers that; and a disc only ever brings packages in,
 * each verified on its own.
 */
#pragma once

#include <gio/gio.h>

#include "sk-mount.h"
#include "sk-pipeline.h"
#include "sk-station.h"
#include "sk-udev.h"

G_BEGIN_DECLS

#define SK_MEDIUM_TOKEN_NAME ".sekisho-medium.json"
#define SK_MEDIUM_TOKEN_SIG_NAME ".sekisho-medium.json.sig"

typedef struct
{
  gint64 id;
  char *number; /* 管理番号 */
  char *kind;   /* "usb-storage" or "optical" */
  char *vendor; /* untrusted device text: escape before showing */
  char *model;
  char *serial;
  char *label;
  char *token; /* NULL while pending */
  char *state; /* "registered", "pending", "unregistered" */
  gint64 registered_us;
  char *registered_by;
  gint64 unregistered_us; /* 0 while registered or pending */
} SkMediumRecord;

void
sk_medium_record_free (SkMediumRecord *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkMediumRecord, sk_medium_record_free)

#define SK_TYPE_MEDIA_REGISTER (sk_media_register_get_type ())
G_DECLARE_FINAL_TYPE (SkMediaRegister, sk_media_register, SK, MEDIA_REGISTER, GObject)

/* The register of STATION, in JOURNAL's database. */
SkMediaRegister *
sk_media_register_new (SkStation *station, SkJournal *journal);

/* Every row, by 管理番号 then id; unregistered rows too when ALL. */
GPtrArray *
sk_media_register_list (SkMediaRegister *self, gboolean all, GError **error);

/* A 管理番号 is 1–64 characters of printable text without a comma,
 * quote or leading formula character. */
gboolean
sk_medium_number_is_valid (const char *number);

/* Register the medium DEV of class KIND ("usb-storage", "optical") under
 * NUMBER: a read-write mount of DEV (sk-mount.h), the token written
 * (temporary name, fsync, rename, fsync), unmounted, mounted read-only and
 * checked, unmounted; then the row and its journal entry in one
 * transaction.  A pending row of NUMBER must have DEV's identity. */
SkMediumRecord *
sk_media_register_add (SkMediaRegister *self,
                       const SkActor *actor,
                       const SkBlockDevice *dev,
                       const char *kind,
                       const char *number,
                       const char *label,
                       GError **error);

/* Register a disc before it is mastered (above): the row, journaled, and
 * in *OUT_TOKEN and *OUT_TOKEN_SIG the files to burn into the disc's root
 * as SK_MEDIUM_TOKEN_NAME and SK_MEDIUM_TOKEN_SIG_NAME. */
SkMediumRecord *
sk_media_register_disc (SkMediaRegister *self,
                        const SkActor *actor,
                        const char *number,
                        const char *label,
                        GBytes **out_token,
                        GBytes **out_token_sig,
                        GError **error);

/* The same, writing the two files into TOKEN_FD and TOKEN_SIG_FD: each
 * a new, empty regular file opened for writing (by the caller, with the
 * caller's own rights: the register never creates a file outside the
 * station).  When either cannot be written, the row is withdrawn again
 * (journaled) and the error says so. */
SkMediumRecord *
sk_media_register_disc_into (SkMediaRegister *self,
                             const SkActor *actor,
                             const char *number,
                             const char *label,
                             int token_fd,
                             int token_sig_fd,
                             GError **error);

/* The token no longer counts; journaled with the row's change. */
gboolean
sk_media_register_remove (SkMediaRegister *self,
                          const SkActor *actor,
                          const char *number,
                          GError **error);

/* The row DEV (of class KIND) is registered as, judged from the token on
 * MOUNT (mounted from DEV); else media-unregistered saying why. */
SkMediumRecord *
sk_media_register_check (SkMediaRegister *self,
                         const SkBlockDevice *dev,
                         const char *kind,
                         SkMount *mount,
                         GError **error);

/* The register as a spreadsheet of a Japanese device-control console:
 * UTF-8 with BOM, CRLF, every cell quoted, formula cells neutralised, the
 * headers 管理番号, 種別, メーカー, 型番, シリアル, 登録日, 登録者, 状態. */
gboolean
sk_media_register_export_csv (SkMediaRegister *self, GOutputStream *out, GError **error);

/* Take rows from such a file: each "登録" row becomes pending (or is left
 * alone when the register already holds it alike), each "抹消" row is kept
 * as history.  A malformed or hostile line refuses the whole file
 * (media-csv-invalid naming the line); nothing is half-imported.  The
 * import is journaled with the count. */
gboolean
sk_media_register_import_csv (
    SkMediaRegister *self, const SkActor *actor, GBytes *csv, guint *out_added, GError **error);

G_END_DECLS
