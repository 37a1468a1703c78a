/* sk-test-util.h — small helpers shared by the tests */
#pragma once

#include <glib.h>

#include "sk-policy.h"
#include "sk-validator.h"

/* When this build has no fault points (a production build, as Debian's
 * buildtype plain: core/sk-fault.h), marks the running test skipped with
 * that reason and returns TRUE: the crash tests cannot crash it. */
gboolean
sk_test_skip_without_fault_points (void);

/* The default policy's layouts (its key section is empty until an
 * administrator fills it, so it is loaded for its layouts only). */
SkPolicy *
sk_test_default_policy (void);
/* The same with textual replacements applied to the JSON first: pairs of
 * (old, new) strings, NULL-terminated. */
SkPolicy *
sk_test_policy_with (const char *first_old, ...) G_GNUC_NULL_TERMINATED;
char *
sk_test_default_policy_text (void);

/* TRUE when REPORT holds a finding with CODE at RECORD (0: any) and FIELD_NAME
 * (NULL: any). */
gboolean
sk_test_report_has (const SkFileReport *report,
                    SkErrorCode code,
                    guint64 record,
                    const char *field_name);
/* A one-line description of a report's findings, for assertion messages. */
char *
sk_test_report_describe (const SkFileReport *report);
