/* sk-process.h — what every Sekisho program does before it reads a byte
 *
 * The CLI, sekishod and the app hold personal data in memory (records
 * being validated, decrypted packages, the store's keys).  A core dump
 * would write that memory to disk in the clear, and another process of
 * the same user could read it through ptrace or /proc/PID/mem; DESIGN.md
 * §9 (invariant 4) allows neither.  So each program, first thing:
 *   - sets its core-file limit to 0, soft and hard (a child it starts,
 *     such as gpg, inherits the hard limit and cannot raise it);
 *   - marks itself not dumpable: no core dump whatever the limit, and no
 *     ptrace or /proc/PID/mem from processes of the same user that do not
 *     have CAP_SYS_PTRACE.  The flag is reset by execve, so programs it
 *     starts decide for themselves (gpg and gpg-agent do the same).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* FALSE with io-error when the kernel refuses either step; the caller
 * must not go on. */
gboolean
sk_process_harden (GError **error);

G_END_DECLS
