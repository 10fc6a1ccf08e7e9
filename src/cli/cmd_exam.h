/* cmd_exam.h - "vmbatch exam ..." (cmd_exam.c): the verbs, and verify,
 * which runs in the CLI (main.c hands it the request of this op). */
#pragma once

#include "cli/cli.h"

#define CLI_EXAM_VERIFY_OP "exam.verify"

extern const CliVerb cli_exam_verbs[];
/* Exit status: 0 the receipt verifies, 1 not (or it cannot be read). */
int cli_exam_verify_run(const json_t *args, bool json);
