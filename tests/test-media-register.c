/* test-media-register.c — classification of devices and the register's CSV
 * (no devices needed) */
#include "config.h"

#include "sk-test-media.h"

/* ---- classification (no devices needed) ---------------------------------- */

static SkBlockDevice *
fake_device (const char *bus, gboolean optical, const guint8 *classes, guint n)
{
  SkBlockDevice *d = g_new0 (SkBlockDevice, 1);
  d->syspath = g_strdup ("/sys/devices/fake/sdz");
  d->disk_syspath = g_strdup (d->syspath);
  d->bus = g_strdup (bus);
  d->vendor = g_strdup ("v");
  d->model = g_strdup ("m");
  d->serial = g_strdup ("s");
  d->vendor_id = g_strdup ("");
  d->product_id = g_strdup ("");
  d->optical = optical;
  d->interfaces = g_array_new (FALSE, TRUE, sizeof (SkUsbInterface));
  for (guint i = 0; i < n; i++)
    {
      SkUsbInterface iface = { classes[i], 6, 0x50 };
      g_array_append_val (d->interfaces, iface);
    }
  return d;
}

void
test_classify (void)
{
  static const struct
  {
    const char *bus;
    gboolean optical;
    guint8 classes[3];
    guint n;
    SkMediumClass want;
    gboolean refused;
    SkErrorCode code; /* when refused; 0 stands for media-class */
  } cases[] = {
    { "usb", FALSE, { 0x08 }, 1, SK_MEDIUM_CLASS_USB_STORAGE, FALSE },
    { "usb", FALSE, { 0x08, 0x08 }, 2, SK_MEDIUM_CLASS_USB_STORAGE, FALSE },
    { "usb", TRUE, { 0x08 }, 1, SK_MEDIUM_CLASS_OPTICAL, FALSE },
    { "ata", TRUE, { 0 }, 0, SK_MEDIUM_CLASS_OPTICAL, FALSE },
    { "ata", FALSE, { 0 }, 0, SK_MEDIUM_CLASS_NONE, FALSE }, /* an internal disk */
    { "", FALSE, { 0 }, 0, SK_MEDIUM_CLASS_NONE, FALSE },    /* loop, nbd, an SD host */
    { "usb", FALSE, { 0x08, 0x03 }, 2, 0, TRUE },            /* keyboard beside storage */
    { "usb", FALSE, { 0x03, 0x08 }, 2, 0, TRUE },
    { "usb", FALSE, { 0x08, 0x02, 0x0a }, 3, 0, TRUE },                 /* network */
    { "usb", FALSE, { 0x08, 0xe0 }, 2, 0, TRUE },                       /* wireless */
    { "usb", FALSE, { 0x08, 0xff }, 2, 0, TRUE },                       /* vendor-specific */
    { "usb", FALSE, { 0x03 }, 1, 0, TRUE, SK_ERROR_MEDIA_NOT_STORAGE }, /* no storage at all */
    { "usb", FALSE, { 0 }, 0, 0, TRUE, SK_ERROR_MEDIA_NOT_STORAGE },    /* no interfaces read */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (SkBlockDevice) d =
          fake_device (cases[i].bus, cases[i].optical, cases[i].classes, cases[i].n);
      g_autoptr (GError) error = NULL;
      SkMediumClass got = 99;
      gboolean ok = sk_media_classify (d, &got, &error);
      if (cases[i].refused)
        {
          g_assert_false (ok);
          gint want = (gint)(cases[i].code != 0 ? cases[i].code : SK_ERROR_MEDIA_CLASS);
          g_assert_error (error, SK_ERROR, want);
        }
      else
        {
          g_assert_no_error (error);
          g_assert_cmpint (got, ==, cases[i].want);
        }
    }
}

/* ---- the CSV (no devices needed) ------------------------------------------ */

void
test_csv_cells (void)
{
  const char *row[] = { "=1+2", "+A", "-3", "@SUM(A1)", "＝X", "a\"b", "普通", "", NULL };
  g_autoptr (GString) s = g_string_new ("\xef\xbb\xbf");
  const char *header[] = { "a", "b", "c", "d", "e", "f", "g", "h", NULL };
  sk_csv_append_row (s, header);
  sk_csv_append_row (s, row);
  /* Quoted, neutralised, CRLF. */
  g_assert_nonnull (strstr (s->str, "\"'=1+2\",\"'+A\",\"'-3\",\"'@SUM(A1)\",\"'＝X\",\"a\"\"b\","
                                    "\"普通\",\"\"\r\n"));
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rows = sk_csv_parse (s->str, s->len, 8, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 2);
  GStrv back = g_ptr_array_index (rows, 1);
  for (guint i = 0; row[i] != NULL; i++)
    g_assert_cmpstr (back[i], ==, row[i]);

  static const struct
  {
    const char *text;
    guint line;
  } hostile[] = {
    { "a,b\r\n=HYPERLINK(\"x\"),b\r\n", 2 }, /* an unguarded formula */
    { "a,b\r\n\"@cmd\",b\r\n", 2 },
    { "a,b\r\nx,y\r\n\"unclosed,b\r\n", 3 }, /* a quote that does not close */
    { "a,b\r\nx,y,z\r\n", 2 },               /* a cell too many */
    { "a,b\r\nx\r\n", 2 },                   /* a cell short */
    { "a,b\r\nx\"y,b\r\n", 2 },              /* a quote in an unquoted cell */
    { "a,b\r\n\"x\"y,b\r\n", 2 },            /* text after a quoted cell */
    { "a,b\r\nx\x1b[2J,b\r\n", 2 },          /* a terminal escape */
    { "a,b\r\n\xe2\x80\xaex,b\r\n", 2 },     /* a bidi override */
    { "a,b\r\nx,\xff\r\n", 2 },              /* not UTF-8 */
    { "a,b\r\n\r\nx,y\r\n", 3 },             /* a record after a blank line */
    { "", 1 },                               /* nothing at all */
  };
  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      g_autoptr (GError) e = NULL;
      g_autoptr (GPtrArray) none = sk_csv_parse (hostile[i].text, strlen (hostile[i].text), 2, &e);
      g_assert_null (none);
      g_assert_error (e, SK_ERROR, SK_ERROR_MEDIA_CSV_INVALID);
      g_autofree char *where = g_strdup_printf ("line %u:", hostile[i].line);
      if (!g_str_has_prefix (e->message, where))
        g_error ("hostile CSV %u: \"%s\" does not start with \"%s\"", i, e->message, where);
    }
  /* A NUL byte and an overlong line. */
  g_autoptr (GError) e1 = NULL;
  g_assert_null (sk_csv_parse ("a,b\r\nx\0y,b\r\n", 12, 2, &e1));
  g_assert_error (e1, SK_ERROR, SK_ERROR_MEDIA_CSV_INVALID);
  g_autofree char *longline = g_strnfill (SK_CSV_MAX_LINE + 10, 'x');
  g_autofree char *text = g_strdup_printf ("a,b\r\n%s,b\r\n", longline);
  g_autoptr (GError) e2 = NULL;
  g_assert_null (sk_csv_parse (text, strlen (text), 2, &e2));
  g_assert_error (e2, SK_ERROR, SK_ERROR_MEDIA_CSV_INVALID);
}

const char csv_header[] =
    "\xef\xbb\xbf\"管理番号\",\"種別\",\"メーカー\",\"型番\",\"シリアル\",\"登録日\",\"登録者\","
    "\"状態\"\r\n";

/* The register's CSV round-trips; a hostile file is refused by line with
 * nothing half-imported. */
void
test_register_csv (Fixture *fx, gconstpointer data)
{
  if (skip_without_loop (fx))
    return;
  g_autoptr (GError) error = NULL;
  g_autoptr (SkMediaRegister) reg = sk_media_register_new (fx->st.term, fx->journal);

  g_autofree char *csv = g_strconcat (
      csv_header,
      "\"USB-001\",\"USBメモリ\",\"Sekisho Test\",\"Stick\",\"'-0001\",\"2026/11/01\","
      "\"admin-a\",\"登録\"\r\n",
      "\"USB-000\",\"USBメモリ\",\"Old\",\"Gone\",\"X9\",\"2025-01-31\",\"admin-b\",\"抹消\"\r\n",
      NULL);
  g_autoptr (GBytes) in = g_bytes_new_static (csv, strlen (csv));
  guint added = 0;
  g_assert_true (sk_media_register_import_csv (reg, &fx->admin, in, &added, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (added, ==, 2);
  g_autoptr (GPtrArray) all = sk_media_register_list (reg, TRUE, &error);
  g_assert_cmpuint (all->len, ==, 2);
  SkMediumRecord *pending = g_ptr_array_index (all, 1);
  g_assert_cmpstr (pending->number, ==, "USB-001");
  g_assert_cmpstr (pending->state, ==, "pending");
  g_assert_cmpstr (pending->serial, ==, "-0001");
  g_assert_null (pending->token);

  /* Out again: BOM, headers, CRLF, every cell quoted, the formula guarded. */
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  g_assert_true (sk_media_register_export_csv (reg, out, &error));
  g_assert_true (g_output_stream_close (out, NULL, NULL));
  g_autoptr (GBytes) exported =
      g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
  gsize len;
  const char *text = g_bytes_get_data (exported, &len);
  g_autofree char *copy = g_strndup (text, len);
  g_assert_true (g_str_has_prefix (copy, csv_header));
  g_assert_nonnull (strstr (copy, "\"USB-001\",\"USBメモリ\",\"Sekisho Test\",\"Stick\",\"'-0001\","
                                  "\"2026/11/01\",\"admin-a\",\"登録\"\r\n"));
  g_assert_nonnull (strstr (copy, "\"抹消\"\r\n"));
  g_auto (GStrv) lines = g_strsplit (copy, "\r\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4); /* header, 2 rows, "" */

  /* Back in: nothing new, nothing changed. */
  g_assert_true (sk_media_register_import_csv (reg, &fx->admin, exported, &added, &error));
  g_assert_cmpuint (added, ==, 0);

  /* Hostile: line 3 of 4 is bad; the good lines around it are not taken. */
  guint before = rows_of (fx, "media-register-imported");
  g_autofree char *bad = g_strconcat (
      csv_header, "\"USB-002\",\"USBメモリ\",\"A\",\"B\",\"C\",\"2026/11/02\",\"x\",\"登録\"\r\n",
      "\"USB-003\",\"USBメモリ\",\"A\",\"B\",\"=cmd|' /C "
      "calc'!A0\",\"2026/11/02\",\"x\",\"登録\"\r\n",
      "\"USB-004\",\"USBメモリ\",\"A\",\"B\",\"D\",\"2026/11/02\",\"x\",\"登録\"\r\n", NULL);
  g_autoptr (GBytes) hostile = g_bytes_new_static (bad, strlen (bad));
  g_assert_false (sk_media_register_import_csv (reg, &fx->admin, hostile, &added, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_CSV_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "line 3:"));
  g_clear_error (&error);
  g_autoptr (GPtrArray) after = sk_media_register_list (reg, TRUE, &error);
  g_assert_cmpuint (after->len, ==, 2);
  g_autoptr (SkJournalRow) refused = last_row (fx, "media-register-imported");
  g_assert_cmpstr (refused->outcome, ==, "refused");
  g_assert_cmpstr (refused->reason, ==, "media-csv-invalid");
  g_assert_cmpuint (rows_of (fx, "media-register-imported"), ==, before + 1);

  /* Semantics per line: a bad date, an unknown kind, a bad state, a wrong
   * header, a second active row for one number. */
  const char *bad_rows[] = {
    "\"USB-005\",\"USBメモリ\",\"A\",\"B\",\"C\",\"2026/02/30\",\"x\",\"登録\"\r\n",
    "\"USB-005\",\"フロッピー\",\"A\",\"B\",\"C\",\"2026/02/01\",\"x\",\"登録\"\r\n",
    "\"USB-005\",\"USBメモリ\",\"A\",\"B\",\"C\",\"2026/02/01\",\"x\",\"紛失\"\r\n",
    "\"USB-001\",\"USBメモリ\",\"Other\",\"B\",\"C\",\"2026/02/01\",\"x\",\"登録\"\r\n",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad_rows); i++)
    {
      g_autofree char *one = g_strconcat (csv_header, bad_rows[i], NULL);
      g_autoptr (GBytes) b = g_bytes_new_static (one, strlen (one));
      g_assert_false (sk_media_register_import_csv (reg, &fx->admin, b, NULL, &error));
      g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_CSV_INVALID);
      g_assert_true (g_str_has_prefix (error->message, "line 2:"));
      g_clear_error (&error);
    }
  const char *wrong_header =
      "\"番号\",\"種別\",\"メーカー\",\"型番\",\"シリアル\",\"登録日\",\"登録者\","
      "\"状態\"\r\n";
  g_autoptr (GBytes) wh = g_bytes_new_static (wrong_header, strlen (wrong_header));
  g_assert_false (sk_media_register_import_csv (reg, &fx->admin, wh, NULL, &error));
  g_assert_error (error, SK_ERROR, SK_ERROR_MEDIA_CSV_INVALID);
}
