/* complete.h - the shell completion of vmbatch and vmapp.
 *
 * data/completion/vmbatch (bash) runs the hidden mode
 * "vmbatch __complete WORD... CURRENT" and offers the lines it prints. The
 * word lists come from the CLI's own tables (the modern nouns and verbs,
 * the paper's options), so the completion cannot drift from the parser;
 * names (VMs, VM groups, user groups, users) come from the daemon, asked as
 * the caller. The planning is pure (cli_complete_plan); only
 * cli_complete_main talks to the daemon, with short timeouts, and prints. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* The first word after the program that selects the hidden mode. */
#define CLI_COMPLETE_WORD "__complete"
/* The hidden mode's exit status when the word is a path: the shell
 * completes file names itself (nothing is printed). */
#define CLI_COMPLETE_FILES 3

typedef enum CliNameKind {
        CLI_NAMES_NONE,
        CLI_NAMES_VM,      /* vm.list: names that resolve for the caller */
        CLI_NAMES_VMGROUP, /* vmgroup.list */
        CLI_NAMES_GROUP,   /* ugroup.list */
        CLI_NAMES_USER,    /* user.list */
} CliNameKind;

typedef struct CliCompletion {
        char **words;       /* fixed candidates matching prefix, NULL-terminated (never NULL) */
        size_t n_words;
        CliNameKind names;  /* and names of this kind from the daemon, matching prefix */
        bool files;         /* the word is a path */
        const char *prefix; /* what of the current word is matched (points into the words given) */
} CliCompletion;

/* Plan the completion of words[n - 1] (may be "") after words[0..n-1), the
 * words after the program name, in the paper's syntax (vmapp) or the
 * modern one. "--opt=PREFIX" completes the option's value (the candidates
 * are values, as bash replaces only the part after '='). Pure. Release ret
 * with cli_completion_done. */
void cli_complete_plan(bool paper, int n, char **words, CliCompletion *ret);
void cli_completion_done(CliCompletion *c);

/* The "name" of each object of a list answer that starts with prefix, in
 * order, without repeats (NULL-terminated, never NULL). */
char **cli_complete_list_names(const json_t *list, const char *prefix);

/* Split a vm.list answer by who may name each VM: *ret_own the names of
 * the VMs owned by uid (a name resolves to those first), *ret_other the
 * other names, not among the own ones, that might resolve (to the one
 * admin-owned VM of that name: only the daemon can tell, see
 * cli_complete_main). Both match prefix, have no repeats, NULL-terminated. */
void cli_complete_vm_names(const json_t *list, uint32_t uid, const char *prefix, char ***ret_own,
                           char ***ret_other);

/* The hidden mode: argv[0..argc) are the words after "__complete" (the last
 * one is being completed). Prints one candidate a line; returns the exit
 * status: 0, or CLI_COMPLETE_FILES. An unreachable or slow daemon gives no
 * names and still 0, within about a second. */
int cli_complete_main(bool paper, int argc, char **argv);
