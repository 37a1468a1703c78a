/* sk-crash-helper.c — a station process for the crash tests to kill
 *
 *   sk-crash-helper STATION-DB STORE-DIR ACK-FILE put N
 *   sk-crash-helper STATION-DB STORE-DIR ACK-FILE delete-all
 *
 * "put" stores N items whose content is derived from their number, and
 * after each put returns appends "NUMBER ID\n" to ACK-FILE and fsyncs it:
 * what is in ACK-FILE was acknowledged.  "delete-all" deletes every item,
 * acknowledging each id.  The test runs it with SEKISHO_FAULT set to each
 * crash point in turn; the helper then dies by SIGKILL at that point.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sk-db.h"
#include "sk-journal.h"
#include "sk-store.h"

/* Content of item NUMBER: a few chunks of the store's sealing size. */
static GBytes *
content_for (guint number)
{
  gsize len = 70000 + number * 1000;
  guint8 *data = g_malloc (len);
  for (gsize i = 0; i < len; i++)
    data[i] = (guint8)(i * 31 + number);
  return g_bytes_new_take (data, len);
}

static void
ack (int fd, const char *line)
{
  if (write (fd, line, strlen (line)) != (ssize_t)strlen (line) || fsync (fd) != 0)
    exit (3);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  if (argc < 5)
    return 2;
  g_autoptr (SkDb) db = sk_db_open (argv[1], SK_DB_READ_WRITE, &error);
  g_autoptr (SkJournal) journal = db != NULL ? sk_journal_new (db, "crash", &error) : NULL;
  g_autoptr (SkStore) store =
      journal != NULL ? sk_store_open (argv[2], journal, NULL, NULL, &error) : NULL;
  if (store == NULL)
    {
      g_printerr ("helper: %s\n", error->message);
      return 1;
    }
  int ackfd = open (argv[3], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (ackfd < 0)
    return 1;

  if (g_str_equal (argv[4], "put") && argc == 6)
    {
      guint n = (guint)atoi (argv[5]);
      for (guint i = 0; i < n; i++)
        {
          g_autoptr (GBytes) bytes = content_for (i);
          g_autoptr (GInputStream) in = g_memory_input_stream_new_from_bytes (bytes);
          g_autofree char *name = g_strdup_printf ("item-%u", i);
          SkItemInfo info = {
            .kind = "test", .name = name, .records = -1, .deadline_us = G_MAXINT64
          };
          SkJournalEntry who = { .event = "item-stored", .outcome = "ok", .uid = -1 };
          g_autoptr (SkItem) item = sk_store_put (store, in, &info, &who, NULL, &error);
          if (item == NULL)
            {
              g_printerr ("helper: %s\n", error->message);
              return 1;
            }
          g_autofree char *line = g_strdup_printf ("%u %s\n", i, item->id);
          ack (ackfd, line);
        }
      return 0;
    }
  if (g_str_equal (argv[4], "delete-all"))
    {
      g_autoptr (GPtrArray) items = sk_store_list (store, &error);
      for (guint i = 0; items != NULL && i < items->len; i++)
        {
          SkItem *item = g_ptr_array_index (items, i);
          SkJournalEntry who = { .outcome = "ok", .uid = -1 };
          if (!sk_store_delete (store, item->id, &who, &error))
            {
              g_printerr ("helper: %s\n", error->message);
              return 1;
            }
          g_autofree char *line = g_strdup_printf ("deleted %s\n", item->id);
          ack (ackfd, line);
        }
      return items != NULL ? 0 : 1;
    }
  return 2;
}
