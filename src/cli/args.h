/* args.h - the CLI's option parser and typed request builders.
 *
 * Both syntaxes (modern "vmbatch NOUN VERB ..." and the paper's
 * "vmapp --uadd --name ...") are parsed by one small, pure parser: it never
 * prints, never exits and keeps no global state, so translators built on it
 * are unit-testable. A value-taking option always consumes the next word
 * (so "--permset -d,-i" works), unless that word looks like another long
 * option ("--uid --name x" is "--uid requires a value"); "--opt=value" is
 * accepted too. "--help"/"-h" and "--json" are recognised everywhere. */
#pragma once

#include <jansson.h>

#include "basic/error.h"

enum {
        CLI_OPT_FLAG = 0,        /* no value */
        CLI_OPT_VALUE = 1 << 0,  /* takes a value */
        CLI_OPT_MULTI = 1 << 1,  /* may be repeated (values accumulate) */
        CLI_OPT_ACTION = 1 << 2, /* paper syntax: selects the action */
};

typedef struct CliOpt {
        const char *name; /* long name without the leading "--" */
        unsigned flags;
} CliOpt;

enum {
        /* Words starting with a single '-' that are not options are
         * positional ("perm set -d,+i ..."). */
        CLI_PARSE_DASH_POSITIONAL = 1 << 0,
        /* "-name" is accepted for "--name" (the paper's prose spells
         * options that way: "-isolate", "-base"). */
        CLI_PARSE_SINGLE_DASH_LONG = 1 << 1,
};

typedef struct CliArgItem {
        const CliOpt *opt;
        const char *value; /* NULL for flags */
        bool used;
} CliArgItem;

typedef struct CliArgs {
        CliArgItem *items;
        size_t n_items;
        const char **pos;
        size_t n_pos;
        bool help;
        bool json;
        bool version;
} CliArgs;

/* Parse argv[0..argc) (argv[0] is NOT skipped: pass the words after the
 * command). opts is terminated by an entry with name == NULL. On error
 * returns -EINVAL with err set; when --help was seen anywhere the parse
 * succeeds (a->help set) and other errors are ignored. a must be
 * zero-initialised; release with cli_args_done() in every case. */
int cli_args_parse(CliArgs *a, int argc, char **argv, const CliOpt *opts, unsigned flags, Error *err);
void cli_args_done(CliArgs *a);

/* The value of a single-valued option (NULL if absent); marks it used. */
const char *cli_args_value(CliArgs *a, const char *name);
/* Whether a flag was given; marks it used. */
bool cli_args_flag(CliArgs *a, const char *name);
/* Iterate the values of a (multi) option: start with *idx = 0. */
const char *cli_args_next(CliArgs *a, const char *name, size_t *idx);
/* The first option given but never looked at, or NULL. */
const CliArgItem *cli_args_unused(const CliArgs *a);

/* ---- value checkers and request builders ----
 * "what" names the value in messages ("--mem", "NAME"). A NULL value means
 * "not given": nothing is added and 0 is returned. Errors are -EINVAL with a
 * one-line message naming the bad value. */

int cli_parse_u32(const char *value, const char *what, uint32_t *ret, Error *err);
int cli_parse_size(const char *value, const char *what, uint64_t *ret, Error *err);

int cli_put_string(json_t *o, const char *key, const char *value, const char *what, Error *err);
int cli_put_u32(json_t *o, const char *key, const char *value, const char *what, Error *err);
/* What both syntaxes of "vm add" put after the name and the VM group: the
 * discs, exactly one of new ones (the sizes in the multi option sizes_opt),
 * copies of images (--usediscs) or overlays of a derivable VM's (--base),
 * the first two comma lists as in cli_put_ref_lists; then mem, vcpus,
 * derivable, desc, kernel, initrd, cmdline (initrd and cmdline need a
 * kernel). */
int cli_put_vm_add_options(CliArgs *a, const char *cwd, const char *sizes_opt, json_t *args, Error *err);
/* What both syntaxes of "vm mod" put after the VM and its new name: mem,
 * vcpus, derivable (when set_derivable), desc, the VM group (from the option
 * vmgroup_opt), kernel, initrd, cmdline; -EINVAL when that changes nothing. */
int cli_put_vm_mod_options(CliArgs *a, const char *cwd, bool set_derivable, bool derivable,
                           const char *vmgroup_opt, json_t *args, Error *err);
/* What both syntaxes of "vm run" put after the vm: mem, vcpus, walltime,
 * isolate, install (needs cdrom), cdrom, and no_start from flag no_start_flag. */
/* vm.run args key the CLI sets for --no-wait and removes before sending */
#define CLI_NO_WAIT_KEY "_no_wait"
int cli_put_run_options(CliArgs *a, const char *cwd, const char *no_start_flag, json_t *args, Error *err);
/* The modern syntax's "VM | --instance N" (vm stop, console): exactly one
 * of the positional (a->pos[0]) and --instance. */
int cli_put_vm_or_instance(CliArgs *a, json_t *args, Error *err);
/* a duration ("90m", "2h", seconds) as seconds, at least 1 */
int cli_put_duration(json_t *o, const char *key, const char *value, const char *what, Error *err);
/* positive: 0 refused */
int cli_put_count(json_t *o, const char *key, const char *value, const char *what, Error *err);
int cli_put_size(json_t *o, const char *key, const char *value, const char *what, Error *err);
/* non-zero size */
int cli_put_nzsize(json_t *o, const char *key, const char *value, const char *what, Error *err);
/* a reference: all digits -> JSON number (id), else the name as a string */
int cli_put_ref(json_t *o, const char *key, const char *value, const char *what, Error *err);
int cli_put_path(json_t *o, const char *key, const char *value, const char *cwd, const char *what, Error *err);
int cli_put_iprange(json_t *o, const char *key, const char *value, const char *what, Error *err);
/* key = b when flag is set (b: true for --derivable, false for --no-derivable) */
void cli_put_bool(json_t *o, const char *key, bool flag, bool b);

/* "+r,+m,-d,+i": r=run m=modify d=derive i=force_isolated; '+' grants
 * (true), '-' revokes (false). Whole words ("+run", "-force_isolated")
 * work too. Sets the keys in o. */
int cli_perm_spec(json_t *o, const char *spec, Error *err);

/* Validate "a.b.c.d-e.f.g.h" (IPv4, first <= last). */
int cli_check_iprange(const char *value, const char *what, Error *err);

/* Make path absolute against cwd and normalise it lexically (".", "..",
 * "//", trailing "/") without touching the file system: the daemon checks
 * access itself. cwd may be NULL when path is absolute. */
int cli_path_absolute(const char *path, const char *cwd, char **ret);

/* A non-empty name. */
int cli_put_name(json_t *o, const char *key, const char *value, const char *what, Error *err);
/* All values of the multi option opt, each a comma list of refs ("a,10",
 * "a," - one trailing comma allowed, an empty list is an error), as the
 * array o[key] (only set when at least one was given: then 1 is returned). */
int cli_put_ref_lists(CliArgs *a, const char *opt, json_t *o, const char *key, Error *err);
