/* sk-process.c — no core dumps, no same-user ptrace (see sk-process.h) */
#define G_LOG_DOMAIN "sekisho"

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "sk-error.h"
#include "sk-process.h"

gboolean
sk_process_harden (GError **error)
{
  const struct rlimit none = { 0, 0 };

  if (setrlimit (RLIMIT_CORE, &none) != 0)
    {
      int saved = errno;
      g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR, _ ("core dumps could not be turned off: %s"),
                   g_strerror (saved));
      return FALSE;
    }
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    {
      int saved = errno;
      g_set_error (error, SK_ERROR, SK_ERROR_IO_ERROR,
                   _ ("the process could not be made undumpable: %s"), g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}
