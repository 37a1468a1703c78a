/* main.c — sekisho-gtk, the desktop application of the integration terminal */
#define G_LOG_DOMAIN "sekisho-gtk"

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "sk-app-application.h"
#include "sk-process.h"

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  /* SEKISHO_LOCALEDIR points at an uninstalled build's catalogues (the GUI
   * tests); it chooses translations only, nothing the app trusts. */
  const char *localedir = g_getenv ("SEKISHO_LOCALEDIR");
  bindtextdomain (GETTEXT_PACKAGE, localedir != NULL && *localedir != '\0' ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* What the station shows passes through this memory: no core dump of
   * it, no same-user ptrace (sk-process.h). */
  g_autoptr (GError) error = NULL;
  if (!sk_process_harden (&error))
    {
      g_printerr ("sekisho-gtk: %s\n", error->message);
      return 1;
    }

  /* The accessibility name of the application, and its WM_CLASS. */
  g_set_prgname ("sekisho-gtk");
  g_set_application_name (_ ("Sekisho"));

  g_autoptr (SkAppApplication) app = sk_app_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
