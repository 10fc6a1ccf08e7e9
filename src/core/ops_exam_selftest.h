/* ops_exam_selftest.h - the rules of an exam's isolation self-test
 * (issue 14) that the exam operations (ops_exam.c), the exam clock and
 * the self-test runner (daemon/exam_clock.c, daemon/exam_selftest.c)
 * share: an exam is ready only when its self-test passed or it was
 * created with --no-selftest; one that is not ready does not start. */
#pragma once

#include "core/ops.h"
#include "store/exam_selftests.h"
#include "store/exams.h"

/* At exam.create, after the exam's row is in (its transaction): the
 * self-test row, pending; or, with no_selftest, skipped and e ready. */
int exam_selftest_created(Controller *c, ExamRec *e, bool no_selftest, Error *err);

/* 0 when e may start (ready); else -EPERM "the exam NAME is not ready: ..."
 * with the self-test's reason. */
int exam_selftest_check_ready(Controller *c, const ExamRec *e, Error *err);

/* The self-test's state for exam show: {"state", "reason", "started",
 * "finished", "duration_ms", "results"}; state "none" without a row. */
json_t *exam_selftest_json(Controller *c, uint32_t exam);

/* The result of a run, recorded (in the caller's transaction): the row
 * passed or failed, and the exam ready (passed) or back to created. */
int exam_selftest_record(Controller *c, uint32_t exam, bool passed, const char *reason, const char *results_json,
                         int64_t started, int64_t duration_ms, Error *err);

/* The clock could not start exam at its start time: true the first time
 * (then it audits and logs the refusal), false after (the row remembers;
 * a new self-test forgets). Its own transaction. */
bool exam_selftest_refused_once(Controller *c, uint32_t exam);
