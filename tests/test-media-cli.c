/* test-media-cli.c — media through the CLI: looking only, the register as
 * CSV, a policy that imports from unregistered sticks */
#include "config.h"

#include "sk-test-media.h"

/* The CLI on the terminal station with ARGS and --json: its exit status,
 * its output in *OUT.  MOCKED: in-process as far as devices go, seeing
 * this test's mocked devices (umockdev's preload and testbed, inherited);
 * else without the preload. */
static int
run_cli_argv (Fixture *fx, char **out, const char *const *args, gboolean mocked)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *)g_getenv ("SEKISHO_CLI"));
  g_ptr_array_add (argv, (char *)"--station");
  g_ptr_array_add (argv, (char *)sk_station_get_dir (fx->st.term));
  g_ptr_array_add (argv, (char *)"--json");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *)args[i]);
  g_ptr_array_add (argv, NULL);
  g_auto (GStrv) env = mocked ? NULL : g_environ_unsetenv (g_get_environ (), "LD_PRELOAD");
  int status = 0;
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **)argv->pdata, env, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, out, NULL,
                &status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

/* The command line: the register out and back in as CSV, a hostile CSV
 * refused with exit 1 and its reason, the list as JSON. */
static int
run_cli (Fixture *fx, char **out, const char *first, ...)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (char *)a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  return run_cli_argv (fx, out, (const char *const *)args->pdata, FALSE);
}

/* The CLI seeing this test's mocked devices. */
static int
run_cli_mocked (Fixture *fx, char **out, const char *const *args)
{
  return run_cli_argv (fx, out, args, TRUE);
}

/* Holds DEVNODE's block device exclusively, as a mounted file system
 * would: any mount of it fails while the descriptor is open. */
static int
hold_exclusively (const char *devnode)
{
  int byname = open (devnode, O_RDONLY | O_CLOEXEC);
  g_assert_cmpint (byname, >=, 0);
  g_autofree char *again = g_strdup_printf ("/proc/self/fd/%d", byname);
  int fd = open (again, O_RDONLY | O_EXCL | O_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  close (byname);
  return fd;
}

/* Looking only (SK_MEDIA_LOOK_ONLY, `media list --devices` in-process)
 * never mounts a medium: with its device held as a mount would hold it,
 * the full take-in fails to read the token (and says so in the journal)
 * while looking lists the same medium, reads and journals nothing. */
void
test_look_only (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_autoptr (GError) error = NULL;
  Loop *l = make_loop (fx, NULL);
  g_autofree char *disk = NULL;
  g_free (plug_registered (fx, "LOOK", l->devnode, "USB-0900", &disk));
  g_clear_object (&fx->media);

  int held = hold_exclusively (l->devnode);
  guint inserted = rows_of (fx, "media-inserted");
  /* The contrast: taking media in for use mounts, and the hold shows it. */
  g_autoptr (SkMedia) full =
      sk_media_new (fx->st.term, fx->journal, fx->st.term_policy, fx->udev, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) full_list = sk_media_list (full);
  g_assert_cmpuint (full_list->len, ==, 1);
  g_assert_null (((SkMedium *)g_ptr_array_index (full_list, 0))->number);
  g_assert_cmpuint (rows_of (fx, "media-inserted"), ==, inserted + 1);
  g_clear_object (&full);

  g_autoptr (SkMedia) look = sk_media_new_full (fx->st.term, fx->journal, fx->st.term_policy,
                                                fx->udev, SK_MEDIA_LOOK_ONLY, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) list = sk_media_list (look);
  g_assert_cmpuint (list->len, ==, 1);
  SkMedium *m = g_ptr_array_index (list, 0);
  g_assert_cmpstr (m->disk->serial, ==, "LOOK");
  g_assert_null (m->number);
  g_assert_null (m->refused_reason);
  g_assert_cmpuint (rows_of (fx, "media-inserted"), ==, inserted + 1);

  /* The command line in-process: listed from udev, the token not read,
   * the register's row for this identity named as a hint; nothing
   * journaled, with the device still held. */
  g_autofree char *out = NULL;
  const char *const list_args[] = { "media", "list", "--devices", NULL };
  g_assert_cmpint (run_cli_mocked (fx, &out, list_args), ==, 0);
  g_test_message ("%s", out);
  g_assert_nonnull (strstr (out, "\"serial\":\"LOOK\""));
  g_assert_nonnull (strstr (out, "\"token\":\"not-read\""));
  g_assert_nonnull (strstr (out, "\"registered\":null"));
  g_assert_nonnull (strstr (out, "\"register_matches\":[\"USB-0900\"]"));
  g_assert_cmpuint (rows_of (fx, "media-inserted"), ==, inserted + 1);
  close (held);

  /* Where no service runs, --tokens reads them in-process. */
  g_free (out);
  out = NULL;
  const char *const token_args[] = { "media", "list", "--devices", "--tokens", NULL };
  g_assert_cmpint (run_cli_mocked (fx, &out, token_args), ==, 0);
  g_assert_nonnull (strstr (out, "\"registered\":true"));
  g_assert_nonnull (strstr (out, "\"number\":\"USB-0900\""));
}

void
test_cli (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_assert_nonnull (g_getenv ("SEKISHO_CLI"));
  g_autofree char *csv_in = g_build_filename (fx->tmp, "in.csv", NULL);
  g_autofree char *csv_out = g_build_filename (fx->tmp, "out.csv", NULL);
  g_autofree char *text = g_strconcat (csv_header,
                                       "\"USB-010\",\"USBメモリ\",\"Maker\",\"Model\",\"S-10\","
                                       "\"2026/10/10\",\"admin-a\",\"登録\"\r\n",
                                       NULL);
  g_assert_true (g_file_set_contents (csv_in, text, -1, NULL));
  g_autofree char *out = NULL;
  g_assert_cmpint (run_cli (fx, &out, "media", "import", csv_in, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "\"added\":1"));
  g_free (out);
  g_assert_cmpint (run_cli (fx, &out, "media", "list", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "\"number\":\"USB-010\""));
  g_assert_nonnull (strstr (out, "\"state\":\"pending\""));
  g_free (out);
  g_assert_cmpint (run_cli (fx, &out, "media", "export", "--out", csv_out, NULL), ==, 0);
  g_autofree char *back = NULL;
  g_assert_true (g_file_get_contents (csv_out, &back, NULL, NULL));
  g_assert_true (g_str_has_prefix (back, csv_header));
  g_assert_nonnull (strstr (back, "\"USB-010\",\"USBメモリ\",\"Maker\",\"Model\",\"S-10\","));
  g_free (out);
  /* Exporting over an existing file is refused; the file is left alone. */
  g_assert_cmpint (run_cli (fx, &out, "media", "export", "--out", csv_out, NULL), ==, 3);
  g_free (out);

  g_autofree char *hostile = g_strconcat (csv_header,
                                          "\"USB-011\",\"USBメモリ\",\"=HYPERLINK(\"\"http://"
                                          "x\"\")\",\"M\",\"S\",\"2026/10/10\",\"a\",\"登録\"\r\n",
                                          NULL);
  g_assert_true (g_file_set_contents (csv_in, hostile, -1, NULL));
  g_assert_cmpint (run_cli (fx, &out, "media", "import", csv_in, NULL), ==, 1);
  g_assert_nonnull (strstr (out, "\"reason\":\"media-csv-invalid\""));
  g_assert_nonnull (strstr (out, "line 2"));
  g_free (out);
  g_assert_cmpint (run_cli (fx, &out, "media", "unregister", "USB-010", NULL), ==, 0);
  g_free (out);
  g_assert_cmpint (run_cli (fx, &out, "media", "unregister", "USB-010", NULL), ==, 1);
  g_assert_nonnull (strstr (out, "\"reason\":\"media-unregistered\""));
  g_free (out);

  /* A disc registered before it is burned: its token files in a folder. */
  g_autofree char *disc = g_build_filename (fx->tmp, "disc-master", NULL);
  g_assert_cmpint (g_mkdir (disc, 0700), ==, 0);
  g_assert_cmpint (run_cli (fx, &out, "media", "register", "--number", "CD-010", "--label",
                            "monthly", "--disc-out", disc, NULL),
                   ==, 0);
  g_assert_nonnull (strstr (out, "\"kind\":\"optical\""));
  g_free (out);
  g_autofree char *tok = g_build_filename (disc, SK_MEDIUM_TOKEN_NAME, NULL);
  g_autofree char *tok_sig = g_build_filename (disc, SK_MEDIUM_TOKEN_SIG_NAME, NULL);
  g_assert_true (g_file_test (tok, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (tok_sig, G_FILE_TEST_IS_REGULAR));
  /* Into a folder that already holds a token: refused, nothing registered. */
  g_assert_cmpint (
      run_cli (fx, &out, "media", "register", "--number", "CD-011", "--disc-out", disc, NULL), ==,
      2);
  g_free (out);
  g_assert_cmpint (run_cli (fx, &out, "media", "list", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "CD-010"));
  g_assert_null (strstr (out, "CD-011"));
}

/* A policy with import_unregistered: an unregistered stick may bring
 * packages in, and still may not take any out. */
void
test_policy_import_unregistered (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_autoptr (GError) error = NULL;
  /* A fresh text: its serial is above the installed one's. */
  g_autofree char *fresh = sk_test_policy_text (NULL, NULL);
  g_autoptr (GString) text = g_string_new (fresh);
  g_assert_cmpuint (g_string_replace (text, "\"registered\": []",
                                      "\"registered\": [], \"import_unregistered\": true", 1),
                    ==, 1);
  g_autofree char *path = sk_test_write_policy (fx->tmp, "open-import.json", text->str);
  g_autoptr (SkPolicy) policy = sk_test_install (fx->st.term, path);
  g_assert_false (sk_policy_media_import_needs_registered (policy));
  g_assert_true (sk_policy_media_import_needs_registered (fx->st.term_policy));
  /* Both sides under the same policy: packages name the one they were made under. */
  g_clear_object (&fx->st.std_policy);
  fx->st.std_policy = sk_test_install (fx->st.std, path);
  g_clear_object (&fx->pipe);
  fx->pipe = sk_pipeline_new (fx->st.term, policy, fx->run, &error);
  g_assert_no_error (error);
  g_autofree char *export_case = case_with_result (fx, 81);

  g_autofree char *populate = g_build_filename (fx->tmp, "open", NULL);
  g_autofree char *pkg = pack_into (fx, 82, populate);
  g_assert_nonnull (pkg);
  Loop *l = make_loop (fx, populate);
  fx->media = sk_media_new (fx->st.term, fx->journal, policy, fx->udev, &error);
  g_assert_no_error (error);
  g_signal_connect (fx->media, "medium-added", G_CALLBACK (on_added), fx);
  g_autofree char *disk = add_usb (fx, "OPEN", storage_only, l->devnode);
  g_assert_nonnull (disk);
  pump_until (&fx->added, 1);

  import_one_ok (fx, NULL);
  g_autofree char *file =
      sk_media_export (fx->media, fx->pipe, &fx->op, NULL, export_case, NULL, &error);
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_UNREGISTERED);
  g_assert_null (file);
}
