/* paper.h - the syntax of the original paper's vmapp ("vmapp --uadd --name
 * doraz --uid 502 --ug studs --stordir /home/doraz"), accepted verbatim when
 * the program is invoked as vmapp. */
#pragma once

#include "cli/cli.h"

/* Translate a paper-syntax command line (argv[0] is the program name) into a
 * CliCommand. Returns 0 (c->request set), CLI_HELP, or -EINVAL with a
 * one-line message in err; c->usage_text and c->hint are filled in as far
 * as parsing got. c must be zero-initialised; release it with
 * cli_command_done(). Pure: no I/O, no globals. */
int cli_paper_parse(int argc, char **argv, const char *cwd, CliCommand *c, Error *err);

/* The pure translator: exactly the protocol request {"op", "args"} for a
 * paper command line. 0 and *ret_req set; CLI_HELP (--help/--version, no
 * request); or -EINVAL with err set. Relative paths are made absolute
 * against cwd. */
int cli_paper_to_request(int argc, char **argv, const char *cwd, json_t **ret_req, Error *err);

/* The paper's options, actions flagged CLI_OPT_ACTION (the table
 * cli_paper_parse reads; terminated by a NULL name), for the shell
 * completion (cli/complete.h). */
const CliOpt *cli_paper_options(void);
