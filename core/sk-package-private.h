/* sk-package-private.h — what the package's writer and reader, and the reader's files, share */
#pragma once

#define MANIFEST_NAME "MANIFEST.json"
#define CHECKPOINT_NAME "checkpoint.json"
#define CHECKPOINT_SIG_NAME "checkpoint.json.sig"
#define CHECKPOINT_MAX (64 * 1024)
#define FILES_PREFIX "files/"
#define FORMAT "sekisho-package/1"
#define SIG_MAX (64 * 1024)
#define BLOCK (256 * 1024)

#include "sk-package.h"

SkManifest *
_sk_manifest_new (const char *workflow, const char *case_id);

#include "sk-archive.h"
#include "sk-error.h"

/* Set ERROR to CODE with a message; FALSE. */
gboolean
_sk_package_refuse (GError **error, SkErrorCode code, const char *format, ...) G_GNUC_PRINTF (3, 4);

/* Files extracted from a package as they are read: written under
 * temporary names in DIRFD, renamed once the whole package is accepted. */
typedef struct
{
  int dirfd;
  const char *only_file; /* NULL: every file */
  GPtrArray *temps;      /* names written in DIRFD, to rename or remove */
  GPtrArray *finals;
} SkExtract;

/* Remove the temporaries X wrote. */
void
_sk_package_extract_discard (SkExtract *x);

/* Read the whole archive TAR (decrypted, its signature checked); TRUE when
 * acceptance 2–5 hold.  X: where files are extracted, or NULL. */
gboolean
_sk_package_read_archive (SkStation *station,
                          SkPolicy *policy,
                          SkDirection direction,
                          const char *signer,
                          SkTarReader *tar,
                          SkExtract *x,
                          const SkCheckOptions *opts,
                          SkPackageResult *result,
                          GPtrArray **out_reports,
                          SkProgress *progress,
                          GError **error);
