/* sk-gpg-agent.c — PKSIGN and PKDECRYPT through the station's gpg-agent */
#define G_LOG_DOMAIN "sekisho-keyring"

#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sk-error.h"
#include "sk-gpg-agent.h"

/* Assuan lines are at most 1000 octets; the answer of PKSIGN (an RSA
 * signature of 4096 bits, percent-escaped) comes in several. */
#define LINE_MAX_LEN 1000
#define ANSWER_MAX (16 * 1024)
/* The agent answers at once: a key that wants a pinentry fails fast in
 * loopback mode.  30 s covers a machine under load. */
#define TIMEOUT_MS 30000

typedef struct
{
  int fd;
  gboolean decrypting; /* which refusal to name */
  char buf[2 * LINE_MAX_LEN];
  gsize len;
} Conn;

static void
conn_clear (Conn *c)
{
  if (c->fd >= 0)
    close (c->fd);
  c->fd = -1;
  /* What the agent said may have been a decrypted session key. */
  explicit_bzero (c->buf, sizeof c->buf);
  c->len = 0;
}

static gboolean
conn_fail (Conn *c, GError **error, const char *what)
{
  if (c->decrypting)
    g_set_error (error, SK_ERROR, SK_ERROR_DECRYPT_FAILED,
                 _ ("The station's gpg-agent did not decrypt (%s)."), what);
  else
    g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
                 _ ("The station's gpg-agent did not sign (%s)."), what);
  return FALSE;
}

static gboolean
agent_fail (GError **error, const char *what)
{
  g_set_error (error, SK_ERROR, SK_ERROR_SIG_UNTRUSTED_KEY,
               _ ("The station's gpg-agent did not sign (%s)."), what);
  return FALSE;
}

/* One line of the agent's, without its newline, into LINE, *OUT_LEN octets
 * (a data line may hold NUL octets: Assuan escapes only %, CR and LF). */
static gboolean
read_line (Conn *c, char line[LINE_MAX_LEN + 1], gsize *out_len, GError **error)
{
  for (;;)
    {
      char *nl = memchr (c->buf, '\n', c->len);
      if (nl != NULL)
        {
          gsize n = (gsize)(nl - c->buf);
          if (n > LINE_MAX_LEN)
            return conn_fail (c, error, "a line too long");
          memcpy (line, c->buf, n);
          line[n] = '\0';
          *out_len = n;
          memmove (c->buf, nl + 1, c->len - n - 1);
          c->len -= n + 1;
          return TRUE;
        }
      if (c->len == sizeof c->buf)
        return conn_fail (c, error, "a line too long");
      struct pollfd p = { .fd = c->fd, .events = POLLIN };
      int r = poll (&p, 1, TIMEOUT_MS);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return conn_fail (c, error, r == 0 ? "no answer" : g_strerror (errno));
      ssize_t got = recv (c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0)
        return conn_fail (c, error, got == 0 ? "the connection closed" : g_strerror (errno));
      c->len += (gsize)got;
    }
}

static gboolean
send_line (Conn *c, const char *line, GError **error)
{
  g_autofree char *text = g_strconcat (line, "\n", NULL);
  gsize len = strlen (text), done = 0;
  while (done < len)
    {
      ssize_t n = send (c->fd, text + done, len - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return conn_fail (c, error, g_strerror (errno));
      done += (gsize)n;
    }
  return TRUE;
}

/* Percent-unescape an Assuan data line of LEN octets into OUT. */
static gboolean
append_data (GByteArray *out, const char *data, gsize len)
{
  for (gsize i = 0; i < len; i++)
    {
      guint8 b = (guint8)data[i];
      if (b == '%')
        {
          int hi = i + 2 < len ? g_ascii_xdigit_value (data[i + 1]) : -1;
          int lo = hi >= 0 ? g_ascii_xdigit_value (data[i + 2]) : -1;
          if (lo < 0)
            return FALSE;
          b = (guint8)(hi << 4 | lo);
          i += 2;
        }
      g_byte_array_append (out, &b, 1);
      if (out->len > ANSWER_MAX)
        return FALSE;
    }
  return TRUE;
}

/* Send an inquiry's answer: DATA as D lines (percent-escaping %, CR and
 * LF, as Assuan wants), then END. */
static gboolean
send_inquiry_data (Conn *c, GBytes *data, GError **error)
{
  gsize len = 0;
  const guint8 *d = g_bytes_get_data (data, &len);
  g_autoptr (GString) line = g_string_sized_new (LINE_MAX_LEN);
  for (gsize i = 0; i <= len; i++)
    {
      if (i == len || line->len + 3 > LINE_MAX_LEN - 8)
        {
          if (line->len > 0)
            {
              g_string_prepend (line, "D ");
              if (!send_line (c, line->str, error))
                return FALSE;
              g_string_truncate (line, 0);
            }
          if (i == len)
            break;
        }
      if (d[i] == '%' || d[i] == '\r' || d[i] == '\n' || d[i] == '\0')
        g_string_append_printf (line, "%%%02X", d[i]);
      else
        g_string_append_c (line, (char)d[i]);
    }
  return send_line (c, "END", error);
}

/* Send COMMAND and read to its OK; data lines go to DATA (NULL: none
 * expected).  The inquiry named INQUIRY (NULL: none) is answered with
 * INQUIRY_DATA; every other inquiry (a passphrase) is cancelled. */
static gboolean
transact_full (Conn *c,
               const char *command,
               GByteArray *data,
               const char *inquiry,
               GBytes *inquiry_data,
               GError **error)
{
  char line[LINE_MAX_LEN + 1];
  gsize len = 0;
  gboolean ok = FALSE;
  if (!send_line (c, command, error))
    return FALSE;
  for (;;)
    {
      if (!read_line (c, line, &len, error))
        break;
      if (g_str_equal (line, "OK") || g_str_has_prefix (line, "OK "))
        {
          ok = TRUE;
          break;
        }
      if (g_str_has_prefix (line, "ERR"))
        {
          /* The agent's message names the error, never key material. */
          g_autofree char *what = g_strdup_printf ("%.20s: %.200s", command, line);
          conn_fail (c, error, what);
          break;
        }
      if (g_str_has_prefix (line, "INQUIRE "))
        {
          const char *name = line + strlen ("INQUIRE ");
          gboolean answer = inquiry != NULL && g_str_has_prefix (name, inquiry) &&
                            (name[strlen (inquiry)] == '\0' || name[strlen (inquiry)] == ' ');
          if (answer ? !send_inquiry_data (c, inquiry_data, error) : !send_line (c, "CAN", error))
            break;
          continue;
        }
      if (g_str_has_prefix (line, "D "))
        {
          if (data == NULL || !append_data (data, line + 2, len - 2))
            {
              conn_fail (c, error, "unexpected data");
              break;
            }
          continue;
        }
      /* Status ("S …") and comments ("#…"): nothing to act on. */
      if (line[0] == 'S' || line[0] == '#')
        continue;
      conn_fail (c, error, "an unknown answer");
      break;
    }
  explicit_bzero (line, sizeof line);
  return ok;
}

static gboolean
transact (Conn *c, const char *command, GByteArray *data, GError **error)
{
  return transact_full (c, command, data, NULL, NULL, error);
}

static gboolean
is_hex (const char *s, gsize n)
{
  if (s == NULL || strlen (s) != n)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isxdigit (s[i]))
      return FALSE;
  return TRUE;
}

GBytes *
sk_gpg_agent_sign_digest (const char *socket_path,
                          const char *keygrip,
                          guint pgp_hash,
                          const guint8 *digest,
                          gsize digest_len,
                          GError **error)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  char line[LINE_MAX_LEN + 1];

  if (!is_hex (keygrip, 40) || digest_len == 0 || digest_len > 64 ||
      (pgp_hash != 8 && pgp_hash != 9 && pgp_hash != 10))
    {
      agent_fail (error, "no usable key or digest");
      return NULL;
    }
  if (strlen (socket_path) >= sizeof addr.sun_path)
    {
      agent_fail (error, "its socket's path is too long");
      return NULL;
    }
  strcpy (addr.sun_path, socket_path);
  Conn c = { .fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) };
  if (c.fd < 0 || connect (c.fd, (struct sockaddr *)&addr, sizeof addr) != 0)
    {
      agent_fail (error, g_strerror (errno));
      conn_clear (&c);
      return NULL;
    }

  /* The greeting, then: never a pinentry; the key; the digest (libgcrypt's
   * numbers for SHA-256/384/512 are OpenPGP's); the signature. */
  g_autofree char *hex = g_malloc (2 * digest_len + 1);
  for (gsize i = 0; i < digest_len; i++)
    g_snprintf (hex + 2 * i, 3, "%02X", digest[i]);
  g_autofree char *sigkey = g_strconcat ("SIGKEY ", keygrip, NULL);
  g_autofree char *sethash = g_strdup_printf ("SETHASH %u %s", pgp_hash, hex);
  g_autoptr (GByteArray) answer = g_byte_array_new ();
  gsize len = 0;
  gboolean ok = read_line (&c, line, &len, error);
  if (ok && !g_str_has_prefix (line, "OK"))
    ok = agent_fail (error, "no greeting");
  ok = ok && transact (&c, "OPTION pinentry-mode=loopback", NULL, error) &&
       transact (&c, sigkey, NULL, error) && transact (&c, sethash, NULL, error) &&
       transact (&c, "PKSIGN", answer, error);
  conn_clear (&c);
  if (!ok)
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&answer));
}

/* ---- PKDECRYPT ----------------------------------------------------------- */

struct _SkGpgAgent
{
  Conn conn;
};

SkGpgAgent *
sk_gpg_agent_connect (const char *socket_path, GError **error)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  char line[LINE_MAX_LEN + 1];
  g_autoptr (SkGpgAgent) self = g_new0 (SkGpgAgent, 1);
  self->conn.fd = -1;
  self->conn.decrypting = TRUE;
  if (strlen (socket_path) >= sizeof addr.sun_path)
    {
      conn_fail (&self->conn, error, "its socket's path is too long");
      return NULL;
    }
  strcpy (addr.sun_path, socket_path);
  self->conn.fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (self->conn.fd < 0 || connect (self->conn.fd, (struct sockaddr *)&addr, sizeof addr) != 0)
    {
      conn_fail (&self->conn, error, g_strerror (errno));
      return NULL;
    }
  gsize len = 0;
  if (!read_line (&self->conn, line, &len, error))
    return NULL;
  if (!g_str_has_prefix (line, "OK"))
    {
      conn_fail (&self->conn, error, "no greeting");
      return NULL;
    }
  /* Never a pinentry: a key that wants a passphrase is refused. */
  if (!transact (&self->conn, "OPTION pinentry-mode=loopback", NULL, error))
    return NULL;
  return g_steal_pointer (&self);
}

void
sk_gpg_agent_free (SkGpgAgent *self)
{
  if (self == NULL)
    return;
  conn_clear (&self->conn);
  g_free (self);
}

gboolean
sk_gpg_agent_has_key (SkGpgAgent *self, const char *keygrip)
{
  if (!is_hex (keygrip, 40))
    return FALSE;
  g_autofree char *command = g_strconcat ("HAVEKEY ", keygrip, NULL);
  return transact (&self->conn, command, NULL, NULL);
}

static void
wipe_free (gpointer data)
{
  GByteArray *array = data;
  explicit_bzero (array->data, array->len);
  g_byte_array_unref (array);
}

GBytes *
sk_gpg_agent_pkdecrypt (SkGpgAgent *self, const char *keygrip, GBytes *ciphertext, GError **error)
{
  if (!is_hex (keygrip, 40))
    {
      conn_fail (&self->conn, error, "no usable key");
      return NULL;
    }
  g_autofree char *setkey = g_strconcat ("SETKEY ", keygrip, NULL);
  /* Room for the whole answer at once: the array never moves, so no copy
   * of the decrypted value is left behind in freed memory. */
  GByteArray *answer = g_byte_array_sized_new (ANSWER_MAX + 1);
  if (!transact (&self->conn, setkey, NULL, error) ||
      !transact_full (&self->conn, "PKDECRYPT", answer, "CIPHERTEXT", ciphertext, error))
    {
      wipe_free (answer);
      return NULL;
    }
  return g_bytes_new_with_free_func (answer->data, answer->len, wipe_free, answer);
}
