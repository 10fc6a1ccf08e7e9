/* cli.h - the verb table shared by the modern and the paper syntax.
 *
 * A command line is translated, by a pure function, into a CliCommand: the
 * protocol request plus how to show the answer. Nothing here talks to the
 * daemon or prints; main.c does both. */
#pragma once

#include <jansson.h>
#include <stdio.h>

#include "basic/error.h"
#include "cli/args.h"

/* Returned (positive) by the translators when --help or --version was asked
 * for: no request is produced. */
#define CLI_HELP 1

/* Print an answer's data. req_args are the request's "args" (e.g. to know
 * that --no-start was given). Returns 0 or -errno (a malformed answer). */
typedef int (*cli_print_fn)(FILE *f, const json_t *req_args, const json_t *data);

/* Fill args (an empty object) from the parsed words. pos are the
 * positionals, already counted against the verb's limits. */
typedef int (*cli_build_fn)(CliArgs *a, const char *cwd, json_t *args, Error *err);

typedef struct CliVerb {
        const char *name;  /* "add"; NULL for a noun that is itself the command (init, ping) */
        const char *op;    /* protocol op, "user.add" */
        const char *usage; /* after "vmbatch NOUN VERB ": "NAME [--uid N] ..." */
        const char *pos_name; /* the positional, for "missing NAME"; NULL: none */
        const char *help;  /* option descriptions, one per line, may be NULL */
        unsigned min_pos, max_pos;
        unsigned parse_flags; /* CLI_PARSE_* */
        const CliOpt *opts;
        cli_build_fn build;
        cli_print_fn print; /* NULL: print nothing */
        /* A verb that is two commands told apart by an option ("console VM"
         * and "console --wall"): the one the parsed words are, checked
         * against its own positionals and built by its own build. opts must
         * then hold the options of both. NULL: this verb. */
        const struct CliVerb *(*select)(CliArgs *a);
} CliVerb;

typedef struct CliNoun {
        const char *name;
        const char *summary;
        const CliVerb *verbs; /* terminated by an entry with op == NULL */
} CliNoun;

/* The result of translating a command line. */
typedef struct CliCommand {
        json_t *request;    /* {"op", "args"}; NULL when only help/version was asked */
        cli_print_fn print; /* how to show "data" (unless json) */
        bool json;          /* --json: print data as indented JSON */
        bool help;          /* --help: print usage_text to stdout */
        bool version;       /* --version */
        /* Filled in as far as parsing got, also on failure: */
        char *usage_text; /* the help to print for --help */
        char hint[160];   /* "vmbatch user add --help", for error messages */
} CliCommand;

void cli_command_done(CliCommand *c);

/* The end of both translators, once the words are parsed and the verb (or
 * paper action) known: build fills the args of a request for op, an option
 * it never looked at is refused ("option '--x' cannot be used " where), and
 * c->request and c->print are set. Returns 0, or -errno with err set. */
int cli_command_build(CliCommand *c, CliArgs *a, const char *cwd, const char *op, cli_build_fn build,
                      cli_print_fn print, const char *where, Error *err);

/* Modern syntax ("vmbatch user add doraz --uid 502"). argv[0] is the
 * program name (used in usage texts only). Returns 0 (request built),
 * CLI_HELP, or -EINVAL with err set. c must be zero-initialised. */
int cli_modern_parse(int argc, char **argv, const char *cwd, CliCommand *c, Error *err);

/* The pure translator: the protocol request for a modern command line.
 * 0 and *ret_req set; CLI_HELP (no request, --help/--version); or -EINVAL
 * with a one-line message in err. */
int cli_modern_to_request(int argc, char **argv, const char *cwd, json_t **ret_req, Error *err);

/* The modern syntax's nouns (the table cli_modern_parse reads), for the
 * shell completion (cli/complete.h). */
const CliNoun *cli_modern_nouns(size_t *ret_n);

/* For verbs without options / arguments. */
extern const CliOpt cli_no_opts[];
int cli_build_nothing(CliArgs *a, const char *cwd, json_t *args, Error *err);

/* The noun tables, one per cmd_*.c file. */
extern const CliVerb cli_user_verbs[];
extern const CliVerb cli_group_verbs[];
extern const CliVerb cli_vmgroup_verbs[];
extern const CliVerb cli_vm_verbs[];
extern const CliVerb cli_instance_verbs[];
extern const CliVerb cli_perm_verbs[];
extern const CliVerb cli_audit_verbs[];
extern const CliVerb cli_init_verbs[];
extern const CliVerb cli_ping_verbs[];
extern const CliVerb cli_doctor_verbs[];
extern const CliVerb cli_console_verbs[];

/* "vmbatch doctor" runs here, not in the daemon (cmd_doctor.c): main.c
 * hands a request of this op to cli_doctor_run, which returns the exit
 * status. */
#define CLI_DOCTOR_OP "doctor"
int cli_doctor_run(const json_t *args, bool json);

/* ---- printers (print.c), shared by both syntaxes ---- */
int cli_print_groups(FILE *f, const json_t *req_args, const json_t *data);
int cli_print_users(FILE *f, const json_t *req_args, const json_t *data);
int cli_print_vmgroups(FILE *f, const json_t *req_args, const json_t *data);
int cli_print_vms(FILE *f, const json_t *req_args, const json_t *data);
int cli_print_vm(FILE *f, const json_t *req_args, const json_t *data);
int cli_print_perms(FILE *f, const json_t *req_args, const json_t *data);
int cli_print_map(FILE *f, const json_t *req_args, const json_t *data);
int cli_print_audit(FILE *f, const json_t *req_args, const json_t *data);
int cli_print_run(FILE *f, const json_t *req_args, const json_t *data);
int cli_print_stopped(FILE *f, const json_t *req_args, const json_t *data);
int cli_print_instance(FILE *f, const json_t *req_args, const json_t *data); /* instance show */
int cli_print_console(FILE *f, const json_t *req_args, const json_t *data);
int cli_print_wall(FILE *f, const json_t *req_args, const json_t *data);
int cli_print_ping(FILE *f, const json_t *req_args, const json_t *data);
int cli_print_init(FILE *f, const json_t *req_args, const json_t *data);
/* one line "added <what> NAME (id N)" for the modern add verbs */
int cli_print_added_group(FILE *f, const json_t *req_args, const json_t *data);
int cli_print_added_user(FILE *f, const json_t *req_args, const json_t *data);
int cli_print_added_vmgroup(FILE *f, const json_t *req_args, const json_t *data);
int cli_print_added_vm(FILE *f, const json_t *req_args, const json_t *data);
/* the data as indented JSON (for --json) */
int cli_print_json(FILE *f, const json_t *data);
