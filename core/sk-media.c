/* sk-media.c — which devices are media, and moving packages on and off them */
#define G_LOG_DOMAIN "sekisho-media"

#include "config.h"

#include <glib/gi18n-lib.h>

#include <json-glib/json-glib.h>

#include "sk-error.h"
#include "sk-fault.h"
#include "sk-media-private.h"
#include "sk-media.h"
#include "sk-mount.h"

#define USB_CLASS_MASS_STORAGE 0x08

typedef struct
{
  SkMedium pub;
  GCancellable *busy; /* the operation running on it, cancelled when it goes */
} Medium;

struct _SkMedia
{
  GObject parent_instance;

  SkStation *station;
  SkJournal *journal;
  SkPolicy *policy;
  SkUdev *udev;
  SkMediaRegister *reg;
  SkMediaFlags flags;

  GMutex lock; /* media: operations run on worker threads */
  /* The journal's one database connection, shared by the device events (on
   * the thread that follows udev) and the operations (on workers): one
   * transaction at a time. */
  GRecMutex db_lock;
  GHashTable *media; /* disk syspath → Medium* */
  guint next_id;
  gulong added_id, removed_id;
};

G_DEFINE_TYPE (SkMedia, sk_media, G_TYPE_OBJECT)

enum
{
  SIGNAL_MEDIUM_ADDED,
  SIGNAL_MEDIUM_REFUSED,
  SIGNAL_MEDIUM_REMOVED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static const SkActor system_actor = { .uid = -1, .login = NULL, .role = "system" };

/* ---- classification ------------------------------------------------------ */

const char *
sk_medium_class_to_string (SkMediumClass klass)
{
  switch (klass)
    {
    case SK_MEDIUM_CLASS_USB_STORAGE:
      return "usb-storage";
    case SK_MEDIUM_CLASS_OPTICAL:
      return "optical";
    case SK_MEDIUM_CLASS_NONE:
    default:
      return NULL;
    }
}

static const char *
interface_kind (guint8 klass)
{
  switch (klass)
    {
    case 0x02:
    case 0x0a:
      return _ ("a network (CDC) interface");
    case 0x03:
      return _ ("a keyboard or other HID interface");
    case 0xe0:
      return _ ("a wireless interface");
    case 0xef:
      return _ ("a miscellaneous (often network) interface");
    case 0xff:
      return _ ("a vendor-specific interface");
    default:
      return _ ("an interface that is not storage");
    }
}

gboolean
sk_media_classify (const SkBlockDevice *dev, SkMediumClass *out_class, GError **error)
{
  g_return_val_if_fail (dev != NULL && out_class != NULL, FALSE);

  *out_class = SK_MEDIUM_CLASS_NONE;
  if (g_strcmp0 (dev->bus, "usb") == 0)
    {
      gboolean storage = FALSE;
      for (guint i = 0; i < dev->interfaces->len; i++)
        storage |=
            g_array_index (dev->interfaces, SkUsbInterface, i).klass == USB_CLASS_MASS_STORAGE;
      if (!storage)
        {
          g_set_error_literal (error, SK_ERROR, SK_ERROR_MEDIA_NOT_STORAGE,
                               _ ("the USB device is not a storage device: it offers no "
                                  "mass-storage interface"));
          return FALSE;
        }
      for (guint i = 0; i < dev->interfaces->len; i++)
        {
          const SkUsbInterface *iface = &g_array_index (dev->interfaces, SkUsbInterface, i);
          if (iface->klass == USB_CLASS_MASS_STORAGE)
            continue;
          g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_CLASS,
                       _ ("the USB device offers %s (class %02x) beside its storage: refused"),
                       interface_kind (iface->klass), iface->klass);
          return FALSE;
        }
      *out_class = dev->optical ? SK_MEDIUM_CLASS_OPTICAL : SK_MEDIUM_CLASS_USB_STORAGE;
      return TRUE;
    }
  /* Off USB only optical drives are media; internal disks, SD hosts, loop
   * and network block devices are not, and are ignored. */
  if (dev->optical)
    *out_class = SK_MEDIUM_CLASS_OPTICAL;
  return TRUE;
}

/* ---- SkMedium ------------------------------------------------------------ */

SkMedium *
sk_medium_copy (const SkMedium *m)
{
  SkMedium *c = g_new0 (SkMedium, 1);
  c->id = g_strdup (m->id);
  c->disk = sk_block_device_copy (m->disk);
  c->klass = m->klass;
  c->refused_reason = g_strdup (m->refused_reason);
  c->number = g_strdup (m->number);
  return c;
}

void
sk_medium_free (SkMedium *m)
{
  if (m == NULL)
    return;
  g_free (m->id);
  sk_block_device_free (m->disk);
  g_free (m->refused_reason);
  g_free (m->number);
  g_free (m);
}

G_DEFINE_BOXED_TYPE (SkMedium, sk_medium, sk_medium_copy, sk_medium_free)

static void
medium_free (Medium *m)
{
  g_free (m->pub.id);
  sk_block_device_free (m->pub.disk);
  g_free (m->pub.refused_reason);
  g_free (m->pub.number);
  g_clear_object (&m->busy);
  g_free (m);
}

void
sk_medium_import_free (SkMediumImport *r)
{
  if (r == NULL)
    return;
  g_free (r->name);
  g_free (r->reason);
  g_free (r->message);
  g_free (r->case_id);
  g_free (r);
}

/* ---- the journal ----------------------------------------------------------- */

/* {"medium": id, "class": …, "number": …, KEY: VALUE …}; every value is ours
 * or escaped. */
char *
_sk_media_details (const SkMedium *m, const char *first_key, ...)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "medium");
  json_builder_add_string_value (b, m->id);
  const char *klass = sk_medium_class_to_string (m->klass);
  if (klass != NULL)
    {
      json_builder_set_member_name (b, "class");
      json_builder_add_string_value (b, klass);
    }
  if (m->number != NULL)
    {
      g_autofree char *number = sk_escape_untrusted (m->number);
      json_builder_set_member_name (b, "number");
      json_builder_add_string_value (b, number);
    }
  va_list args;
  va_start (args, first_key);
  for (const char *key = first_key; key != NULL; key = va_arg (args, const char *))
    {
      const char *value = va_arg (args, const char *);
      if (value == NULL)
        continue;
      g_autofree char *shown = sk_escape_untrusted (value);
      json_builder_set_member_name (b, key);
      json_builder_add_string_value (b, shown);
    }
  va_end (args);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

void
_sk_media_journal (SkMedia *self,
                   const SkActor *actor,
                   const char *event,
                   const SkMedium *m,
                   const GError *refusal,
                   const char *case_id,
                   const char *details)
{
  g_autofree char *device = sk_block_device_describe (m->disk);
  SkJournalEntry e = {
    .event = event,
    .outcome = "ok",
    .uid = actor->uid,
    .login = actor->login,
    .role = actor->role,
    .case_id = case_id,
    .device = device,
    .details = details,
  };
  if (refusal != NULL)
    {
      e.outcome = sk_error_get_exit_class (refusal) == SK_EXIT_REFUSED ? "refused" : "failed";
      e.reason = sk_error_get_reason (refusal);
    }
  g_autoptr (GError) local_error = NULL;
  g_rec_mutex_lock (&self->db_lock);
  gint64 seq = sk_journal_record (self->journal, &e, &local_error);
  g_rec_mutex_unlock (&self->db_lock);
  if (seq == 0)
    g_warning ("journaling %s: %s", event, local_error->message);
}

/* ---- following devices ----------------------------------------------------- */

static Medium *
find_locked (SkMedia *self, const char *id)
{
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, self->media);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (g_str_equal (((Medium *)value)->pub.id, id))
      return value;
  return NULL;
}

/* The 管理番号 MEDIUM's token proves, or NULL (ERROR says why). */
SkMediumRecord *
_sk_media_check_registered (SkMedia *self, const SkMedium *m, SkMount **io_mount, GError **error)
{
  g_autoptr (SkBlockDevice) fs = sk_media_filesystem (self, m, error);
  if (fs == NULL)
    return NULL;
  g_autoptr (SkMount) mount = NULL;
  if (io_mount != NULL && *io_mount != NULL)
    mount = g_object_ref (*io_mount);
  else
    mount = sk_mount_new (fs->devnode, fs->devnum, fs->fs_type, SK_MOUNT_READ_ONLY, error);
  if (mount == NULL)
    return NULL;
  g_rec_mutex_lock (&self->db_lock);
  SkMediumRecord *r = sk_media_register_check (self->reg, m->disk,
                                               sk_medium_class_to_string (m->klass), mount, error);
  g_rec_mutex_unlock (&self->db_lock);
  if (io_mount != NULL && *io_mount == NULL)
    *io_mount = g_steal_pointer (&mount);
  else if (io_mount == NULL)
    sk_mount_unmount (mount, NULL);
  return r;
}

static void
take_in (SkMedia *self, const SkBlockDevice *dev)
{
  g_mutex_lock (&self->lock);
  Medium *known = g_hash_table_lookup (self->media, dev->disk_syspath);
  if (known != NULL && !dev->is_partition)
    {
      sk_block_device_free (known->pub.disk);
      known->pub.disk = sk_block_device_copy (dev);
    }
  g_mutex_unlock (&self->lock);
  if (known != NULL || dev->is_partition)
    return; /* a partition (or a change) of a medium already taken in */

  g_autoptr (GError) refusal = NULL;
  SkMediumClass klass;
  if (!sk_media_classify (dev, &klass, &refusal))
    klass = SK_MEDIUM_CLASS_USB_STORAGE;
  else if (klass == SK_MEDIUM_CLASS_NONE)
    return;
  else if (!sk_policy_media_class_allowed (self->policy, sk_medium_class_to_string (klass)))
    g_set_error (&refusal, SK_ERROR, SK_ERROR_MEDIA_CLASS,
                 _ ("the policy does not allow media of class %s"),
                 sk_medium_class_to_string (klass));

  Medium *m = g_new0 (Medium, 1);
  m->pub.disk = sk_block_device_copy (dev);
  m->pub.klass = klass;
  if (refusal != NULL)
    m->pub.refused_reason = g_strdup (sk_error_get_reason (refusal));

  g_mutex_lock (&self->lock);
  m->pub.id = g_strdup_printf ("m%u", ++self->next_id);
  g_mutex_unlock (&self->lock);

  g_autofree char *why = NULL;
  gboolean look_only = (self->flags & SK_MEDIA_LOOK_ONLY) != 0;
  if (refusal == NULL && dev->size > 0 && !look_only)
    {
      g_autoptr (GError) local_error = NULL;
      g_autoptr (SkMediumRecord) r = _sk_media_check_registered (self, &m->pub, NULL, &local_error);
      if (r != NULL)
        m->pub.number = g_strdup (r->number);
      else
        why = g_strdup (sk_error_get_reason (local_error));
    }

  g_mutex_lock (&self->lock);
  g_hash_table_replace (self->media, g_strdup (dev->disk_syspath), m);
  g_autoptr (SkMedium) copy = sk_medium_copy (&m->pub);
  g_mutex_unlock (&self->lock);

  if (look_only)
    /* Seen, not used: nothing read from it and nothing journaled. */
    g_signal_emit (self, signals[refusal != NULL ? SIGNAL_MEDIUM_REFUSED : SIGNAL_MEDIUM_ADDED], 0,
                   copy);
  else if (refusal != NULL)
    {
      g_autofree char *details = _sk_media_details (copy, "why", refusal->message, NULL);
      _sk_media_journal (self, &system_actor, "media-refused", copy, refusal, NULL, details);
      g_signal_emit (self, signals[SIGNAL_MEDIUM_REFUSED], 0, copy);
    }
  else
    {
      g_autofree char *details =
          _sk_media_details (copy, "registered", copy->number != NULL ? "yes" : "no",
                             "not_registered_because", why, NULL);
      _sk_media_journal (self, &system_actor, "media-inserted", copy, NULL, NULL, details);
      g_signal_emit (self, signals[SIGNAL_MEDIUM_ADDED], 0, copy);
    }
}

static void
on_device_added (SkUdev *udev, SkBlockDevice *dev, gpointer user_data)
{
  take_in (SK_MEDIA (user_data), dev);
}

static void
on_device_removed (SkUdev *udev, SkBlockDevice *dev, gpointer user_data)
{
  SkMedia *self = SK_MEDIA (user_data);

  if (dev->is_partition)
    return;
  g_mutex_lock (&self->lock);
  Medium *m = NULL;
  char *key = NULL;
  g_hash_table_steal_extended (self->media, dev->syspath, (gpointer *)&key, (gpointer *)&m);
  g_mutex_unlock (&self->lock);
  if (m == NULL)
    return;
  g_free (key);
  /* Whatever runs on it ends now, not when its next read fails. */
  if (m->busy != NULL)
    g_cancellable_cancel (m->busy);
  if ((self->flags & SK_MEDIA_LOOK_ONLY) == 0)
    {
      g_autofree char *details =
          _sk_media_details (&m->pub, "in_use", m->busy != NULL ? "yes" : "no", NULL);
      _sk_media_journal (self, &system_actor, "media-removed", &m->pub, NULL, NULL, details);
    }
  g_signal_emit (self, signals[SIGNAL_MEDIUM_REMOVED], 0, &m->pub);
  medium_free (m);
}

/* ---- the object ------------------------------------------------------------ */

static void
sk_media_dispose (GObject *object)
{
  SkMedia *self = SK_MEDIA (object);

  if (self->udev != NULL)
    {
      g_clear_signal_handler (&self->added_id, self->udev);
      g_clear_signal_handler (&self->removed_id, self->udev);
    }
  g_clear_object (&self->udev);
  G_OBJECT_CLASS (sk_media_parent_class)->dispose (object);
}

static void
sk_media_finalize (GObject *object)
{
  SkMedia *self = SK_MEDIA (object);

  g_clear_object (&self->station);
  g_clear_object (&self->journal);
  g_clear_object (&self->policy);
  g_clear_object (&self->reg);
  g_hash_table_unref (self->media);
  g_mutex_clear (&self->lock);
  g_rec_mutex_clear (&self->db_lock);
  G_OBJECT_CLASS (sk_media_parent_class)->finalize (object);
}

static void
sk_media_class_init (SkMediaClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = sk_media_dispose;
  object_class->finalize = sk_media_finalize;
  signals[SIGNAL_MEDIUM_ADDED] =
      g_signal_new ("medium-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 1, SK_TYPE_MEDIUM | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[SIGNAL_MEDIUM_REFUSED] =
      g_signal_new ("medium-refused", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 1, SK_TYPE_MEDIUM | G_SIGNAL_TYPE_STATIC_SCOPE);
  signals[SIGNAL_MEDIUM_REMOVED] =
      g_signal_new ("medium-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                    NULL, G_TYPE_NONE, 1, SK_TYPE_MEDIUM | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
sk_media_init (SkMedia *self)
{
  g_mutex_init (&self->lock);
  g_rec_mutex_init (&self->db_lock);
  self->media =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)medium_free);
}

SkMedia *
sk_media_new (
    SkStation *station, SkJournal *journal, SkPolicy *policy, SkUdev *udev, GError **error)
{
  return sk_media_new_full (station, journal, policy, udev, SK_MEDIA_DEFAULT, error);
}

SkMedia *
sk_media_new_full (SkStation *station,
                   SkJournal *journal,
                   SkPolicy *policy,
                   SkUdev *udev,
                   SkMediaFlags flags,
                   GError **error)
{
  g_return_val_if_fail (SK_IS_STATION (station) && SK_IS_JOURNAL (journal), NULL);
  g_return_val_if_fail (SK_IS_POLICY (policy) && SK_IS_UDEV (udev), NULL);

  g_autoptr (SkMedia) self = g_object_new (SK_TYPE_MEDIA, NULL);
  self->station = g_object_ref (station);
  self->journal = g_object_ref (journal);
  self->policy = g_object_ref (policy);
  self->udev = g_object_ref (udev);
  self->reg = sk_media_register_new (station, journal);
  self->flags = flags;
  self->added_id = g_signal_connect (udev, "device-added", G_CALLBACK (on_device_added), self);
  self->removed_id =
      g_signal_connect (udev, "device-removed", G_CALLBACK (on_device_removed), self);

  g_autoptr (GPtrArray) present = sk_udev_enumerate (udev, error);
  if (present == NULL)
    return NULL;
  for (guint i = 0; i < present->len; i++)
    {
      SkBlockDevice *dev = g_ptr_array_index (present, i);
      if (!dev->is_partition)
        take_in (self, dev);
    }
  return g_steal_pointer (&self);
}

SkMediaRegister *
sk_media_get_register (SkMedia *self)
{
  g_return_val_if_fail (SK_IS_MEDIA (self), NULL);
  return self->reg;
}

static gint
by_id (gconstpointer a, gconstpointer b)
{
  const SkMedium *x = *(SkMedium *const *)a;
  const SkMedium *y = *(SkMedium *const *)b;
  gsize lx = strlen (x->id), ly = strlen (y->id);
  return lx != ly ? (lx < ly ? -1 : 1) : strcmp (x->id, y->id);
}

GPtrArray *
sk_media_list (SkMedia *self)
{
  g_return_val_if_fail (SK_IS_MEDIA (self), NULL);

  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify)sk_medium_free);
  g_mutex_lock (&self->lock);
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, self->media);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (out, sk_medium_copy (&((Medium *)value)->pub));
  g_mutex_unlock (&self->lock);
  g_ptr_array_sort (out, by_id);
  return out;
}

SkMedium *
sk_media_pick (SkMedia *self, const char *id, GError **error)
{
  g_return_val_if_fail (SK_IS_MEDIA (self), NULL);

  g_autoptr (SkMedium) m = NULL;
  g_mutex_lock (&self->lock);
  guint n = g_hash_table_size (self->media);
  if (id != NULL)
    {
      Medium *found = find_locked (self, id);
      if (found != NULL)
        m = sk_medium_copy (&found->pub);
    }
  else if (n == 1)
    {
      GHashTableIter iter;
      gpointer value;
      g_hash_table_iter_init (&iter, self->media);
      g_hash_table_iter_next (&iter, NULL, &value);
      m = sk_medium_copy (&((Medium *)value)->pub);
    }
  g_mutex_unlock (&self->lock);

  if (m == NULL && id != NULL)
    {
      g_autofree char *shown = sk_escape_untrusted (id);
      g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_NONE,
                   _ ("there is no medium %s (was it removed?)"), shown);
      return NULL;
    }
  if (m == NULL && n == 0)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_MEDIA_NONE, _ ("no medium is inserted"));
      return NULL;
    }
  if (m == NULL)
    {
      g_autoptr (GPtrArray) all = sk_media_list (self);
      g_autoptr (GString) which = g_string_new (NULL);
      for (guint i = 0; i < all->len; i++)
        {
          const SkMedium *x = g_ptr_array_index (all, i);
          g_autofree char *shown = sk_escape_untrusted (x->disk->serial);
          g_string_append_printf (which, "%s%s (%s%s%s)", i > 0 ? ", " : "", x->id,
                                  x->number != NULL ? x->number : _ ("not registered"),
                                  *shown != '\0' ? ", " : "", shown);
        }
      g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_SEVERAL,
                   _ ("%u media are inserted: %s; name the one to use"), all->len, which->str);
      return NULL;
    }
  if (m->refused_reason != NULL)
    {
      SkErrorCode code = SK_ERROR_MEDIA_CLASS;
      sk_error_code_from_reason (m->refused_reason, &code);
      g_set_error (error, SK_ERROR, code, _ ("medium %s was refused when it was inserted (%s)"),
                   m->id, m->refused_reason);
      return NULL;
    }
  return g_steal_pointer (&m);
}

SkBlockDevice *
sk_media_filesystem (SkMedia *self, const SkMedium *medium, GError **error)
{
  g_return_val_if_fail (SK_IS_MEDIA (self) && medium != NULL, NULL);

  if (medium->disk->size == 0)
    {
      g_set_error_literal (error, SK_ERROR, SK_ERROR_MEDIA_NONE,
                           _ ("the drive holds no medium (no disc in it?)"));
      return NULL;
    }
  g_autoptr (GPtrArray) parts = sk_udev_partitions (self->udev, medium->disk->syspath, error);
  if (parts == NULL)
    return NULL;
  if (parts->len > 1)
    {
      g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_PARTITIONS,
                   _ ("the medium has %u partitions; use media with one"), parts->len);
      return NULL;
    }
  g_autoptr (SkBlockDevice) fs = parts->len == 1
                                     ? sk_block_device_copy (g_ptr_array_index (parts, 0))
                                     : sk_udev_lookup (self->udev, medium->disk->syspath, error);
  if (fs == NULL)
    return NULL;
  /* The node is the device udev reported, before its file system counts. */
  if (fs->devnode != NULL && !sk_mount_check_node (fs->devnode, fs->devnum, error))
    return NULL;
  if (!sk_mount_fs_allowed (fs->fs_type) || fs->devnode == NULL)
    {
      g_autofree char *shown = sk_escape_untrusted (fs->fs_type != NULL ? fs->fs_type : "none");
      g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_FILESYSTEM,
                   _ ("the medium's file system is %s, not one Sekisho uses"), shown);
      return NULL;
    }
  return g_steal_pointer (&fs);
}

/* ---- register ------------------------------------------------------------ */

SkMediumRecord *
sk_media_register_medium (SkMedia *self,
                          const SkActor *actor,
                          const char *id,
                          const char *number,
                          const char *label,
                          GError **error)
{
  g_return_val_if_fail (SK_IS_MEDIA (self) && actor != NULL, NULL);
  g_return_val_if_fail ((self->flags & SK_MEDIA_LOOK_ONLY) == 0, NULL);

  g_autoptr (GError) local_error = NULL;
  g_autoptr (SkMedium) m = sk_media_pick (self, id, &local_error);
  g_autoptr (SkBlockDevice) fs = m != NULL ? sk_media_filesystem (self, m, &local_error) : NULL;
  if (fs == NULL)
    {
      if (m != NULL)
        {
          g_autofree char *details = _sk_media_details (m, "number", number, NULL);
          _sk_media_journal (self, actor, "media-registered", m, local_error, NULL, details);
        }
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  /* The register judges the device's identity; the file system is where
   * the token goes. */
  g_autoptr (SkBlockDevice) target = sk_block_device_copy (m->disk);
  g_free (target->devnode);
  target->devnode = g_strdup (fs->devnode);
  target->devnum = fs->devnum;
  g_free (target->fs_type);
  target->fs_type = g_strdup (fs->fs_type);
  g_rec_mutex_lock (&self->db_lock);
  SkMediumRecord *r = sk_media_register_add (
      self->reg, actor, target, sk_medium_class_to_string (m->klass), number, label, error);
  g_rec_mutex_unlock (&self->db_lock);
  if (r != NULL)
    {
      g_mutex_lock (&self->lock);
      Medium *known = find_locked (self, m->id);
      if (known != NULL)
        {
          g_free (known->pub.number);
          known->pub.number = g_strdup (r->number);
        }
      g_mutex_unlock (&self->lock);
    }
  return r;
}

/* ---- operations ------------------------------------------------------------ */

/* Mark the medium busy with a cancellable that its removal (or the
 * caller's CANCELLABLE) cancels. */
GCancellable *
_sk_media_begin_operation (SkMedia *self,
                           const SkMedium *m,
                           GCancellable *cancellable,
                           gulong *out_handler,
                           GError **error)
{
  g_return_val_if_fail ((self->flags & SK_MEDIA_LOOK_ONLY) == 0, NULL);
  g_autoptr (GCancellable) op = g_cancellable_new ();
  g_mutex_lock (&self->lock);
  Medium *known = find_locked (self, m->id);
  if (known != NULL && known->busy == NULL)
    known->busy = g_object_ref (op);
  gboolean ok = known != NULL && known->busy == op;
  g_mutex_unlock (&self->lock);
  if (!ok)
    {
      g_set_error (error, SK_ERROR, known == NULL ? SK_ERROR_MEDIA_REMOVED : SK_ERROR_CASE_STATE,
                   known == NULL ? _ ("medium %s was removed") : "medium %s is already in use",
                   m->id);
      return NULL;
    }
  *out_handler = cancellable == NULL
                     ? 0
                     : g_cancellable_connect (cancellable, G_CALLBACK (g_cancellable_cancel),
                                              g_object_ref (op), g_object_unref);
  return g_steal_pointer (&op);
}

void
_sk_media_end_operation (SkMedia *self,
                         const SkMedium *m,
                         GCancellable *cancellable,
                         gulong handler)
{
  g_mutex_lock (&self->lock);
  Medium *known = find_locked (self, m->id);
  if (known != NULL)
    g_clear_object (&known->busy);
  g_mutex_unlock (&self->lock);
  if (cancellable != NULL)
    g_cancellable_disconnect (cancellable, handler);
}

gboolean
_sk_media_gone (SkMedia *self, const SkMedium *m)
{
  g_mutex_lock (&self->lock);
  gboolean gone = find_locked (self, m->id) == NULL;
  g_mutex_unlock (&self->lock);
  if (gone)
    return TRUE;
  g_autoptr (SkBlockDevice) now = sk_udev_lookup (self->udev, m->disk->syspath, NULL);
  return now == NULL;
}

/* Turn whatever ended an operation into media-removed when the medium went. */
void
_sk_media_explain_removal (SkMedia *self, const SkMedium *m, const char *what_again, GError **error)
{
  if (error == NULL || *error == NULL || !_sk_media_gone (self, m))
    return;
  GError *e = *error;
  *error = NULL;
  g_set_error (error, SK_ERROR, SK_ERROR_MEDIA_REMOVED,
               _ ("medium %s was removed while in use; %s (%s)"), m->id, what_again, e->message);
  g_error_free (e);
}
