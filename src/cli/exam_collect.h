/* exam_collect.h - "vmbatch exam collect EXAM DIR" (issue 14), run here, as
 * the caller: the daemon (exam.collect, admins only, audited) answers the
 * exam's members; this copies every sealed disc into DIR and writes the
 * manifest (core/exam_manifest.h) beside them. main.c hands it the request
 * of this op. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#define CLI_EXAM_COLLECT_OP "exam.collect"

/* Exit status (the man page's EXIT STATUS says the same): */
enum {
        EXAM_COLLECT_DONE = 0,       /* every member sealed, copied, its sha256 the recorded one */
        EXAM_COLLECT_FAILED = 1,     /* refused, or a copy failed or did not match (that file removed) */
        EXAM_COLLECT_INCOMPLETE = 3, /* every sealed disc copied, but some members are not sealed yet */
};

/* request is {"op": "exam.collect", "args": {"exam", "dir"}}; the manifest's
 * JSON on stdout with json, else a line per member. */
int cli_exam_collect_run(const char *socket_path, const json_t *request, bool json);
