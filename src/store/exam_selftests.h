/* exam_selftests.h - an exam's isolation self-test (issue 14): whether it
 * is pending, running, passed, failed or skipped (exam create
 * --no-selftest), when it ran, its one-line reason and its per-probe
 * results (JSON text). Records and statements only; the test itself is
 * daemon/exam_selftest.c's, the rule "not ready, not started" is
 * core/exam_selftest_rules.c's. */
#pragma once

#include <stdint.h>

#include "store/store.h"

typedef enum ExamSelftestState {
        EXAM_SELFTEST_PENDING, /* to run (exam create, exam selftest) */
        EXAM_SELFTEST_RUNNING, /* the probes are out */
        EXAM_SELFTEST_PASSED,  /* every attack blocked, the controls ok: the exam is ready */
        EXAM_SELFTEST_FAILED,  /* the reason says what got through, or what did not answer */
        EXAM_SELFTEST_SKIPPED, /* created with --no-selftest (audited): ready without it */
        _EXAM_SELFTEST_STATE_MAX,
        _EXAM_SELFTEST_STATE_INVALID = -EINVAL,
} ExamSelftestState;

const char *exam_selftest_state_to_string(ExamSelftestState s);
ExamSelftestState exam_selftest_state_from_string(const char *s);

#define EXAM_SELFTEST_REASON_MAX 1024
#define EXAM_SELFTEST_RESULTS_MAX 8192

typedef struct ExamSelftestRec {
        uint32_t exam;
        ExamSelftestState state;
        int64_t started, finished; /* unix seconds (0: not yet) */
        int64_t duration_ms;
        char reason[EXAM_SELFTEST_REASON_MAX];
        char results[EXAM_SELFTEST_RESULTS_MAX]; /* JSON object text, "" none */
        bool start_refused;                      /* the clock's refusal to start it is audited (once) */
} ExamSelftestRec;

/* Insert or replace exam's row. */
int store_exam_selftest_put(Store *s, const ExamSelftestRec *t, Error *err);
int store_exam_selftest_get(Store *s, uint32_t exam, ExamSelftestRec *ret); /* -ENOENT */
/* The exams whose self-test is in state (ordered). */
int store_exam_selftest_ids(Store *s, ExamSelftestState state, uint32_t **ret, size_t *ret_n);
