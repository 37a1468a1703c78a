/* sk-package-private.h — what the package's writer and reader share */
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
