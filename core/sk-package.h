/* sk-package.h — the package on the medium (DESIGN.md §4)
 *
 *   <package-id>.tar.gpg      an OpenPGP message (encrypted only: no
 *                             signature inside, no compression) to the
 *                             receiving side's key, of a POSIX pax tar:
 *                             MANIFEST.json first, then files/<name>
 *   <package-id>.tar.gpg.sig  a binary detached signature over the exact
 *                             bytes of the .tar.gpg, by the sending side
 *
 * `gpg --verify X.tar.gpg.sig X.tar.gpg && gpg -d X.tar.gpg | tar -x` works
 * on every package written here.  Reading checks acceptance 1–5 in order:
 * the signature over the file before any byte of it reaches a parser, then
 * decryption streamed into the tar reader on a second thread, the manifest,
 * and every file against its kind — in one pass over the plaintext, which
 * never touches the disk unless the caller extracts.
 */
#pragma once

#include <gio/gio.h>

#include "sk-actor.h"
#include "sk-policy.h"
#include "sk-progress.h"
#include "sk-station.h"
#include "sk-validator.h"

G_BEGIN_DECLS

#define SK_MANIFEST_MAX_SIZE (1024 * 1024)

typedef struct
{
  char *name; /* the bare file name; the member is files/<name> */
  char *kind;
  guint64 size;
  char *sha256;
  gint64 records;
} SkManifestFile;

typedef struct
{
  char *package_id; /* a UUID */
  char *workflow;
  SkDirection direction;
  char *created_at; /* RFC 3339, UTC */
  char *created_by;
  char *origin;    /* primary fingerprint of the signer */
  char *recipient; /* primary fingerprint of the receiving key */
  char *case_id;
  char *policy;     /* SHA-256 of the policy in force */
  GPtrArray *files; /* SkManifestFile* */
} SkManifest;

void
sk_manifest_free (SkManifest *manifest);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkManifest, sk_manifest_free)

/* Strict: every member present and of its type, nothing else
 * (SK_ERROR_MANIFEST_INVALID). */
SkManifest *
sk_manifest_parse (GBytes *json, GError **error);
GBytes *
sk_manifest_to_json (const SkManifest *manifest);
/* On one line, for the journal's details. */
char *
sk_manifest_to_compact_json (const SkManifest *manifest);

/* The name of every package being written starts with this: a hidden
 * temporary file, renamed to <package-id>.tar.gpg (or .sig) when complete.
 * One left by a writer that was killed is removed by the next pack or
 * export into the same folder: only a regular file of this process's user
 * with one link that no writer holds (each holds a lock on its own), reached
 * through the folder's descriptor and never through a link. */
#define SK_PACKAGE_TEMP_PREFIX ".sekisho-pack-"

/* Validate FILES against POLICY (all must pass, all of WORKFLOW and one
 * direction, all of case CASE_ID), then write the package, signed with the
 * station's key and encrypted to the policy's recipient, into OUT_DIR.
 * Journaled as ACTOR's, refusals included.  Progress: "validate", "hash",
 * "write" (bytes of the files), "read-back" (bytes of the package).
 * Cancelled, nothing is left in OUT_DIR.  Returns the path of the
 * .tar.gpg. */
char *
sk_package_pack (SkStation *station,
                 SkPolicy *policy,
                 const SkActor *actor,
                 const char *workflow,
                 const char *case_id,
                 const char *const *files,
                 const char *out_dir,
                 SkProgress *progress,
                 GCancellable *cancellable,
                 GError **error);

/* Write the files of FILES (SkManifestFile*: name, kind, size, sha256,
 * records — as recorded when they were taken in) from the store's items
 * ITEM_IDS as package PACKAGE_ID into OUT_DIR, signed by the station and
 * encrypted to the policy's recipient, read back and compared.  An earlier,
 * unacknowledged attempt at the same package id there is replaced.  Returns
 * the path of the .tar.gpg and the SHA-256 of its bytes. */
char *
sk_package_pack_items (SkStation *station,
                       SkPolicy *policy,
                       SkStore *store,
                       const char *workflow,
                       const char *case_id,
                       const char *created_by,
                       const char *package_id,
                       GPtrArray *files,
                       const char *const *item_ids,
                       const char *out_dir,
                       char **out_sha256,
                       SkProgress *progress,
                       GCancellable *cancellable,
                       GError **error);

typedef struct
{
  SkManifest *manifest;
  char *signer;       /* the verified signer's primary fingerprint */
  GPtrArray *reports; /* SkFileReport*, one per file, in manifest order */
  /* With collect_pair_keys: SkKeySet* per file (NULL for results). */
  GPtrArray *pair_keys;
  /* The journal checkpoint a package for the standard system carries. */
  gint64 checkpoint_seq;
  char *checkpoint_head;
  char *checkpoint_station;
} SkPackageResult;

/* Where a package's bytes are read from: a file (its signature beside it
 * at PATH.sig), an item of the store, or a copy being imported.  From the
 * store, the signature comes with it. */
typedef struct
{
  const char *path;
  SkStore *store;
  const char *item_id;
  SkStaged *staged;
  GBytes *signature;
  /* With STAGED: the signature as sk_package_copy_in_at() verified it
   * (acceptance 1 is then not repeated), or NULL. */
  const SkSignature *verified;
} SkPackageSource;

typedef struct
{
  gboolean extract; /* write the files beneath EXTRACT_DIRFD: all of them, or none */
  int extract_dirfd;
  const char *only_file;      /* …or only this one */
  gboolean collect_pair_keys; /* keep the requests' pair keys */
  gboolean replay_allowed;    /* reading again what this station took in */
  /* The caller began the "validate" phase of its progress for several
   * reads: this one only adds the bytes of its files to it (and verifies the
   * signature without telling). */
  gboolean progress_continues;
} SkCheckOptions;

/* The detached signature NAME beneath DIRFD, read as untrusted input
 * (sk_fs_open_untrusted(): no link, no FIFO, one link, bounded).  A missing
 * file is `sig-missing`. */
GBytes *
sk_package_read_signature_at (int dirfd, const char *name, GError **error);

/* Read the package NAME beneath DIRFD (a regular file with one link, not a
 * link; within the policy's size cap) and NAME.sig once each: the package
 * into a staged, sealed copy in STORE that nothing outside can change, the
 * signature into *OUT_SIGNATURE.  Acceptance then runs on the copy.  A file
 * that changes size while it is read (a pulled medium) is refused
 * (media-removed).  The package is read once, into a private copy in
 * memory that nothing can change (a sealed memfd); the signature
 * (acceptance 1, the same rule as sk_package_check_source's) is checked
 * over those bytes before anything else reads them, and *OUT_VERIFIED is
 * what it proved.  Only then is the store's copy sealed from them, on a
 * thread of its own, while sk_package_check_source() (which must be given
 * the staged item, the signature and *OUT_VERIFIED in the SkPackageSource)
 * runs acceptance 2–5 over the same private copy; it returns once the
 * store's copy is whole and synced.  Progress: "copy", bytes of the
 * package. */
SkStaged *
sk_package_copy_in_at (SkStation *station,
                       SkStore *store,
                       SkPolicy *policy,
                       int dirfd,
                       const char *name,
                       gint64 deadline_us,
                       GBytes **out_signature,
                       SkSignature **out_verified,
                       SkProgress *progress,
                       GCancellable *cancellable,
                       GError **error);

/* The same for the package at PATH, in the folder the caller names. */
SkStaged *
sk_package_copy_in (SkStation *station,
                    SkStore *store,
                    SkPolicy *policy,
                    const char *path,
                    gint64 deadline_us,
                    GBytes **out_signature,
                    SkSignature **out_verified,
                    SkProgress *progress,
                    GCancellable *cancellable,
                    GError **error);

/* Whether the journal shows PACKAGE_ID received already. */
gboolean
sk_package_seen (SkStation *station, const char *package_id, gboolean *out_seen, GError **error);

void
sk_package_result_free (SkPackageResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SkPackageResult, sk_package_result_free)

/* Acceptance 1–5 on the package at PATH (and PATH.sig).  With EXTRACT_DIR,
 * every file is also written there — all of them, or none.  On a refusal
 * returns NULL; when the refusal is a file's validation, *OUT_REPORTS (when
 * given) receives the reports with the findings. */
SkPackageResult *
sk_package_check (SkStation *station,
                  SkPolicy *policy,
                  const char *path,
                  const char *extract_dir,
                  GPtrArray **out_reports,
                  SkProgress *progress,
                  GCancellable *cancellable,
                  GError **error);

/* Acceptance 1–5 on SRC, two passes over its bytes: the signature, then
 * decryption, archive, manifest and validation together.  Progress:
 * "verify" (bytes of the package; not when SRC was verified as it was
 * copied in), then "validate" (bytes of the files).  Cancelled, nothing is
 * left where the files were to be extracted. */
SkPackageResult *
sk_package_check_source (SkStation *station,
                         SkPolicy *policy,
                         const SkPackageSource *src,
                         const SkCheckOptions *options,
                         GPtrArray **out_reports,
                         SkProgress *progress,
                         GCancellable *cancellable,
                         GError **error);

/* Unpack the package at PATH into OUT_DIR, on the standard system's side:
 * the medium is read once, into a sealed copy in the station's store that
 * nothing else can change (never committed; it goes when this returns), and
 * acceptance 1–5 run on that copy while every file is written into OUT_DIR
 * — all of them, or none.  Journaled as ACTOR's ("package-unpacked", or
 * "package-refused" with the reason); the package id is what makes a second
 * unpack a replay.  On a refusal of a file's validation, *OUT_REPORTS (when
 * given) receives the reports.  Progress: "copy", then "validate". */
SkPackageResult *
sk_package_unpack (SkStation *station,
                   SkPolicy *policy,
                   const SkActor *actor,
                   const char *path,
                   const char *out_dir,
                   GPtrArray **out_reports,
                   SkProgress *progress,
                   GCancellable *cancellable,
                   GError **error);

G_END_DECLS
