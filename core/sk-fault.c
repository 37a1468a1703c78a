/* sk-fault.c — crash points for the crash-safety tests */
#define G_LOG_DOMAIN "sekisho-fault"

#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "sk-fault.h"

#ifdef SK_FAULT_POINTS

static char *fault_name;
static gint64 fault_countdown;
static SkFaultHook fault_hook;
static gpointer fault_hook_data;

static void
fault_init (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      const char *spec = g_getenv ("SEKISHO_FAULT");
      if (spec != NULL && *spec != '\0')
        {
          const char *colon = strchr (spec, ':');
          fault_name = colon != NULL ? g_strndup (spec, (gsize)(colon - spec)) : g_strdup (spec);
          fault_countdown = colon != NULL ? g_ascii_strtoll (colon + 1, NULL, 10) : 1;
        }
      g_once_init_leave (&once, 1);
    }
}

gboolean
sk_fault_compiled_in (void)
{
  return TRUE;
}

void
sk_fault_set_hook (SkFaultHook hook, gpointer user_data)
{
  fault_hook = hook;
  fault_hook_data = user_data;
}

void
sk_fault_point (const char *name)
{
  if (fault_hook != NULL)
    fault_hook (name, fault_hook_data);
  fault_init ();
  if (fault_name == NULL || strcmp (fault_name, name) != 0)
    return;
  if (--fault_countdown > 0)
    return;
  raise (SIGKILL);
}

#else /* !SK_FAULT_POINTS */

gboolean
sk_fault_compiled_in (void)
{
  return FALSE;
}

void
sk_fault_set_hook (SkFaultHook hook, gpointer user_data)
{
}

#endif
