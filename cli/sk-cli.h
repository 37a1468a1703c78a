/* sk-cli.h — the command line's table and its shared envelope (DESIGN.md §8)
 *
 * Every command is one row of a group's table: its words, a one-line
 * summary, its parameters, an example and the function that runs it.  The
 * envelope is the same for all: global options anywhere on the line
 * (--station, --handoff-root, --json, -h/--help), one way to end a command
 * (sk_cli_finish: exit code, JSON object or human text), one way to refuse a
 * command line (sk_cli_usage_error, with "did you mean").
 *
 * With --json, stdout is exactly one JSON object in UTF-8, whatever the
 * locale:
 *   { "ok", "reason", "message", "findings": [ { "reason", "file", "record",
 *     "field", "field_name" } ], … }
 * and never a personal-data value: findings name where, never what.
 *
 * A new group adds a table in its own file and a line to the groups of
 * sekisho.c.  Without --station on the line, a command that sekishod
 * offers goes to it on the system bus (sk-cli-bus.c: calls, jobs with their
 * progress on the terminal, Ctrl-C as Job.Cancel); with --station DIR it
 * runs in-process on a station the caller owns, through
 * sk_cli_open_station and sk_cli_open_pipeline.  Both ways print the same
 * JSON objects, and a person reads them through the same printers.
 *
 * Exit codes: 0 done; 1 refused (policy, validation, signature); 2 usage;
 * 3 environment (service unreachable included); 130 cancelled (Ctrl-C, as
 * a shell reports an interrupted command).
 */
#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <json-glib/json-glib.h>

#include "sk-error.h"
#include "sk-pipeline.h"
#include "sk-station.h"
#include "sk-validator.h"

G_BEGIN_DECLS

/* A command cancelled by Ctrl-C (SIGINT) or SIGTERM: 128 + SIGINT, what a
 * shell reports for an interrupted command; nothing of it was kept. */
#define SK_CLI_EXIT_CANCELLED 130

typedef struct _SkCli SkCli;
typedef struct _SkCliJob SkCliJob;
typedef struct _SkCliCommand SkCliCommand;

/* ARGV[0] is the command's last word; the rest are its own arguments. */
typedef int (*SkCliRunFunc) (SkCli *cli, int argc, char **argv);

struct _SkCliCommand
{
  const char *name;       /* the command's word within its group */
  const char *parameters; /* what follows the words, e.g. "--out DIR FILE…" */
  const char *summary;    /* N_(): one sentence on what the command does */
  const char *example;    /* a whole command line, run as it stands */
  SkCliRunFunc run;
};

typedef struct
{
  const char *name;             /* NULL: the commands stand at the top level */
  const char *summary;          /* N_(): what the group is about */
  const SkCliCommand *commands; /* ends with a row whose name is NULL */
} SkCliGroup;

struct _SkCli
{
  char *station_dir;
  gboolean station_given; /* --station was on the line: in-process */
  char *handoff_root;
  gboolean json;
  gboolean help;               /* -h or --help was on the line */
  const SkCliGroup *group;     /* the running command's group */
  const SkCliCommand *command; /* the running command */
  JsonBuilder *extra;          /* command-specific members of the JSON result */
  char *messages_locale;       /* LC_MESSAGES as the caller set it (--json resets it) */
  gboolean stdout_taken;       /* stdout carries data: the outcome goes to stderr */

  GDBusConnection *bus;    /* the system bus, once sekishod was asked */
  SkCliJob *job;           /* the job being followed, if any */
  guint interrupts;        /* SIGINT/SIGTERM received */
  guint signal_sources[2]; /* their GLib sources, once installed */
};

extern const SkCliGroup sk_cli_station_group;
extern const SkCliGroup sk_cli_key_group;
extern const SkCliGroup sk_cli_policy_group;
extern const SkCliGroup sk_cli_files_group;
extern const SkCliGroup sk_cli_journal_group;
extern const SkCliGroup sk_cli_case_group;
extern const SkCliGroup sk_cli_media_group;

/* The full words of the running command, e.g. "station init". */
char *
sk_cli_command_words (const SkCliGroup *group, const SkCliCommand *command);

/* The object whose members are added to the JSON result. */
JsonBuilder *
sk_cli_extra (SkCli *cli);

/* Print the command's outcome and return its exit code.  REPORTS, when
 * given, are the validation reports whose findings are listed. */
int
sk_cli_finish (SkCli *cli, const GError *error, const char *ok_message, GPtrArray *reports);

int
sk_cli_usage_error (SkCli *cli, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* A usage error for VALUE, which is not one of CANDIDATES: it names the
 * nearest candidate when one is close, and lists them all. */
int
sk_cli_usage_not_one_of (SkCli *cli,
                         const char *what,
                         const char *value,
                         const char *const *candidates);

/* The candidate nearest to WORD when it is close enough to be a typo. */
const char *
sk_cli_nearest (const char *word, const char *const *candidates);

/* Parse the running command's options; ARGV keeps the positional
 * arguments.  Returns FALSE with *OUT_EXIT set when the command should end
 * now: its help was asked for (0) or the line is wrong (2). */
gboolean
sk_cli_parse_options (
    SkCli *cli, const GOptionEntry *entries, int *argc, char ***argv, int *out_exit);

/* Human output, in the terminal's encoding; --json output never goes here. */
void
sk_cli_print (SkCli *cli, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* The station, the policy and the pipeline, in-process on --station DIR. */
SkStation *
sk_cli_open_station (SkCli *cli, GError **error);
SkPipeline *
sk_cli_open_pipeline (SkCli *cli, GError **error);

/* The operator, as the kernel knows them. */
SkActor
sk_cli_current_actor (void);

/* A time for a person: the terminal's zone, to the second, with the
 * zone's name ("2026-12-07 00:45:12 JST").  JSON and the journal keep UTC. */
char *
sk_cli_format_local_time (gint64 time_us);

/* Remove PATH and everything beneath it, following no link; best effort. */
void
sk_cli_remove_tree (const char *path);

/* How long is left until DEADLINE_US, for a person: "2 d 3 h left",
 * "12 min overdue". */
char *
sk_cli_format_time_left (gint64 deadline_us, gint64 now_us);

/* A workflow, state, role or deadline code in the words of the glossary
 * (po/GLOSSARY.md): 加入者情報作成, 引渡し済, … under Japanese; the code
 * itself in English, and for a code the glossary does not know. */
const char *
sk_cli_term (const char *code);

/* The station's keys into B ("keys") and as lines for a person
 * (sk-cli-key.c); station status shows them too. */
void
sk_cli_describe_keys (
    SkCli *cli, SkStation *station, SkPolicy *policy, JsonBuilder *b, GError **error, gboolean *ok);
/* KEYS (the "keys" array of core/sk-report.h) as lines for a person. */
void
sk_cli_print_keys (SkCli *cli, JsonArray *keys);

/* A small file (a checkpoint, its signature) read whole. */
GBytes *
sk_cli_read_small_file (const char *path, GError **error);

/* Help for the whole program, for a group, or (through
 * sk_cli_parse_options) for the running command. */
int
sk_cli_help_program (SkCli *cli, const SkCliGroup *const *groups);
int
sk_cli_help_group (SkCli *cli, const SkCliGroup *group);

/* ---- the service (sk-cli-bus.c) ---------------------------------------- */

/* Whether the running command goes to sekishod: no --station on the line. */
gboolean
sk_cli_use_service (SkCli *cli);

/* Call jp.sekisho.Station1.PART.METHOD on sekishod.  PARAMS (floating, or
 * NULL) and FDS as the method takes them.  A D-Bus error comes back as its
 * SK_ERROR reason; no bus or no service as service-unreachable, with what
 * to do. */
GVariant *
sk_cli_call (SkCli *cli,
             const char *part,
             const char *method,
             GVariant *params,
             GUnixFDList *fds,
             GError **error);

/* A call whose answer is one JSON document "(s)": its root object. */
JsonObject *
sk_cli_call_json (SkCli *cli,
                  const char *part,
                  const char *method,
                  GVariant *params,
                  GUnixFDList *fds,
                  GError **error);

/* A long method: start its job and follow it to the end, its progress on
 * the terminal (stderr, when a TTY and not --json).  Ctrl-C or SIGTERM
 * asks the service to cancel and waits for the job's end: then ERROR is
 * G_IO_ERROR_CANCELLED.  Returns the job's result, an object (empty when
 * the job gave none). */
JsonObject *
sk_cli_run_job (SkCli *cli,
                const char *part,
                const char *method,
                GVariant *params,
                GUnixFDList *fds,
                GError **error);

/* Whether Ctrl-C (or SIGTERM) came: a command that runs several jobs stops
 * starting new ones. */
gboolean
sk_cli_interrupted (SkCli *cli);

/* Copy every member of OBJ into the JSON result. */
void
sk_cli_extra_merge (SkCli *cli, JsonObject *obj);

/* FD, opened by the caller, as the handle of a new list FDS. */
gint32
sk_cli_fd_append (GUnixFDList *fds, int fd, GError **error);

/* Free the service's client side (main, at the end). */
void
sk_cli_bus_close (SkCli *cli);

/* Validation reports, as lines for a person. */
void
sk_cli_print_reports (SkCli *cli, GPtrArray *reports);

G_END_DECLS
