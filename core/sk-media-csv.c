/* sk-media-csv.c — the CSV of Japanese device-control consoles */
#define G_LOG_DOMAIN "sekisho-media-csv"

#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "sk-error.h"
#include "sk-media-csv.h"

static const char bom[] = "\xef\xbb\xbf";

/* What a spreadsheet starts a formula with (and what Excel's Japanese
 * input turns into one): = + - @ TAB CR and ＝ ＋ － ＠. */
static gboolean
starts_formula (const char *cell)
{
  static const char *const leads[] = {
    "=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠", NULL
  };

  for (guint i = 0; leads[i] != NULL; i++)
    if (g_str_has_prefix (cell, leads[i]))
      return TRUE;
  return FALSE;
}

void
sk_csv_append_row (GString *out, const char *const *cells)
{
  for (guint i = 0; cells[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      g_string_append_c (out, '"');
      if (starts_formula (cells[i]))
        g_string_append_c (out, '\'');
      for (const char *p = cells[i]; *p != '\0'; p++)
        {
          if (*p == '"')
            g_string_append_c (out, '"');
          g_string_append_c (out, *p);
        }
      g_string_append_c (out, '"');
    }
  g_string_append (out, "\r\n");
}

static gboolean
refuse (GError **error, guint line, const char *why)
{
  g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_CSV_INVALID, _ ("line %u: %s"), line, why);
  return FALSE;
}

/* A cell as read: controls refused, the formula guard taken off, or an
 * unguarded formula refused. */
static char *
finish_cell (GString *cell, guint line, GError **error)
{
  for (const char *p = cell->str; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (g_unichar_iscntrl (c) || c == 0x2028 || c == 0x2029 || (c >= 0x202a && c <= 0x202e) ||
          (c >= 0x2066 && c <= 0x2069) || c == 0x200e || c == 0x200f || c == 0xfeff)
        {
          refuse (error, line, _ ("a cell holds a control or bidirectional character"));
          return NULL;
        }
    }
  if (cell->len > SK_CSV_MAX_CELL)
    {
      refuse (error, line, _ ("a cell is too long"));
      return NULL;
    }
  if (cell->str[0] == '\'' && starts_formula (cell->str + 1))
    return g_strdup (cell->str + 1);
  if (starts_formula (cell->str))
    {
      refuse (error, line, _ ("a cell would run as a spreadsheet formula"));
      return NULL;
    }
  return g_strdup (cell->str);
}

/* One line (without its line end) into cells. */
static GStrv
parse_line (const char *s, gsize len, guint line, guint n_columns, GError **error)
{
  g_autoptr (GPtrArray) cells = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GString) cell = g_string_new (NULL);
  gsize i = 0;

  for (;;)
    {
      g_string_truncate (cell, 0);
      if (i < len && s[i] == '"')
        {
          i++;
          for (;;)
            {
              if (i >= len)
                {
                  refuse (error, line, _ ("a quoted cell is not closed on its line"));
                  return NULL;
                }
              if (s[i] == '"' && i + 1 < len && s[i + 1] == '"')
                {
                  g_string_append_c (cell, '"');
                  i += 2;
                }
              else if (s[i] == '"')
                {
                  i++;
                  break;
                }
              else
                g_string_append_c (cell, s[i++]);
            }
          if (i < len && s[i] != ',')
            {
              refuse (error, line, _ ("text after a quoted cell"));
              return NULL;
            }
        }
      else
        {
          while (i < len && s[i] != ',')
            {
              if (s[i] == '"')
                {
                  refuse (error, line, _ ("a quote inside an unquoted cell"));
                  return NULL;
                }
              g_string_append_c (cell, s[i++]);
            }
        }
      char *value = finish_cell (cell, line, error);
      if (value == NULL)
        return NULL;
      g_ptr_array_add (cells, value);
      if (cells->len > n_columns)
        break;
      if (i >= len)
        break;
      i++; /* the comma */
      if (i == len)
        {
          g_ptr_array_add (cells, g_strdup ("")); /* a trailing empty cell */
          break;
        }
    }
  if (cells->len != n_columns)
    {
      g_autofree char *why =
          /* TRANSLATORS: the cells found on a line of the register's CSV,
           * then the columns it has. */
          g_strdup_printf (_ ("%u cells where %u are expected"), cells->len, n_columns);
      refuse (error, line, why);
      return NULL;
    }
  g_ptr_array_add (cells, NULL);
  return (GStrv)g_ptr_array_free (g_steal_pointer (&cells), FALSE);
}

GPtrArray *
sk_csv_parse (const char *data, gsize len, guint n_columns, GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);

  if (len > SK_CSV_MAX_BYTES)
    {
      refuse (error, 0, "the file is too large for a media register");
      return NULL;
    }
  if (len >= 3 && memcmp (data, bom, 3) == 0)
    {
      data += 3;
      len -= 3;
    }
  const char *bad = NULL;
  if (memchr (data, '\0', len) != NULL || !g_utf8_validate (data, (gssize)len, &bad))
    {
      guint line = 1;
      const char *end = bad != NULL ? bad : (const char *)memchr (data, '\0', len);
      for (const char *p = data; p < end; p++)
        line += *p == '\n';
      refuse (error, line, _ ("the text is not UTF-8 (save it as \"CSV UTF-8\")"));
      return NULL;
    }

  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify)g_strfreev);
  gsize pos = 0;
  guint line = 0;
  gboolean blank_seen = FALSE;
  while (pos < len)
    {
      line++;
      const char *start = data + pos;
      const char *nl = memchr (start, '\n', len - pos);
      gsize line_len = nl != NULL ? (gsize)(nl - start) : len - pos;
      pos += line_len + (nl != NULL ? 1 : 0);
      if (line_len > 0 && start[line_len - 1] == '\r')
        line_len--;
      if (line_len > SK_CSV_MAX_LINE)
        {
          refuse (error, line, _ ("the line is too long"));
          return NULL;
        }
      if (line_len == 0)
        {
          blank_seen = TRUE;
          continue;
        }
      if (blank_seen)
        {
          refuse (error, line, _ ("a record after a blank line"));
          return NULL;
        }
      GStrv cells = parse_line (start, line_len, line, n_columns, error);
      if (cells == NULL)
        return NULL;
      g_ptr_array_add (rows, cells);
    }
  if (rows->len == 0)
    {
      refuse (error, 1, "the file is empty: the header line is missing");
      return NULL;
    }
  return g_steal_pointer (&rows);
}
