/* fuzz-manifest.c — the package manifest parser, and its round trip
 *
 * Input: the bytes of a MANIFEST.json (DESIGN.md §4), given as they are to
 * sk_manifest_parse.  When it parses, the manifest is written back with
 * sk_manifest_to_json and parsed once more: that must succeed and give the
 * same package_id, the same files in the same order, and the same members.
 * A failure aborts.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk-fuzz.h"
#include "sk-package.h"

static void
same_or_abort (const char *what, const char *a, const char *b)
{
  if (g_strcmp0 (a, b) != 0)
    {
      fprintf (stderr, "fuzz-manifest: the round trip changed %s\n", what);
      abort ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GBytes) bytes = g_bytes_new (data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (SkManifest) m = sk_manifest_parse (bytes, &error);
  if (m == NULL)
    {
      g_assert (error != NULL);
      return 0;
    }
  g_assert (error == NULL);
  g_assert (m->files != NULL && m->files->len > 0);

  g_autoptr (GBytes) json = sk_manifest_to_json (m);
  g_autoptr (SkManifest) again = sk_manifest_parse (json, &error);
  if (again == NULL)
    {
      fprintf (stderr, "fuzz-manifest: the written manifest does not parse: %s\n", error->message);
      abort ();
    }
  same_or_abort ("package_id", m->package_id, again->package_id);
  if (m->files->len != again->files->len)
    {
      fprintf (stderr, "fuzz-manifest: the round trip changed the file count\n");
      abort ();
    }
  same_or_abort ("workflow", m->workflow, again->workflow);
  same_or_abort ("created_at", m->created_at, again->created_at);
  same_or_abort ("created_by", m->created_by, again->created_by);
  same_or_abort ("origin", m->origin, again->origin);
  same_or_abort ("recipient", m->recipient, again->recipient);
  same_or_abort ("case_id", m->case_id, again->case_id);
  same_or_abort ("policy", m->policy, again->policy);
  if (m->direction != again->direction)
    abort ();
  for (guint i = 0; i < m->files->len; i++)
    {
      const SkManifestFile *f = g_ptr_array_index (m->files, i);
      const SkManifestFile *g = g_ptr_array_index (again->files, i);
      same_or_abort ("a file's name", f->name, g->name);
      same_or_abort ("a file's kind", f->kind, g->kind);
      same_or_abort ("a file's sha256", f->sha256, g->sha256);
      if (f->size != g->size || f->records != g->records)
        {
          fprintf (stderr, "fuzz-manifest: the round trip changed a file's size or count\n");
          abort ();
        }
    }
  return 0;
}
