/* exam_selftests.c - exams' isolation self-tests (store/exam_selftests.h). */
#include "store/exam_selftests.h"

#include <stdio.h>

#include "store/store-internal.h"

static const char *const exam_selftest_state_table[_EXAM_SELFTEST_STATE_MAX] = {
        [EXAM_SELFTEST_PENDING] = "pending",
        [EXAM_SELFTEST_RUNNING] = "running",
        [EXAM_SELFTEST_PASSED] = "passed",
        [EXAM_SELFTEST_FAILED] = "failed",
        [EXAM_SELFTEST_SKIPPED] = "skipped",
};
DEFINE_STRING_TABLE(exam_selftest_state, ExamSelftestState)

#define COLUMNS "exam, state, started, finished, duration_ms, reason, results, start_refused"
static const char SQL_PUT[] = "INSERT OR REPLACE INTO exam_selftests(" COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char SQL_GET[] = "SELECT " COLUMNS " FROM exam_selftests WHERE exam = ?";
static const char SQL_IDS[] = "SELECT exam FROM exam_selftests WHERE state = ? ORDER BY exam";

int store_exam_selftest_put(Store *s, const ExamSelftestRec *t, Error *err) {
        sqlite3_stmt *st = store_stmt(s, SQL_PUT, err);
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 1, t->exam);
        sqlite3_bind_text(st, 2, exam_selftest_state_to_string(t->state), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, t->started);
        sqlite3_bind_int64(st, 4, t->finished);
        sqlite3_bind_int64(st, 5, t->duration_ms);
        sqlite3_bind_text(st, 6, t->reason, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, t->results, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 8, t->start_refused);
        return store_step_done(s, st, "exam self-test", err);
}

static void from_row(sqlite3_stmt *st, void *ret) {
        ExamSelftestRec *t = ret;
        memset(t, 0, sizeof(*t));
        t->exam = (uint32_t)sqlite3_column_int64(st, 0);
        t->state = exam_selftest_state_from_string((const char *)sqlite3_column_text(st, 1));
        t->started = sqlite3_column_int64(st, 2);
        t->finished = sqlite3_column_int64(st, 3);
        t->duration_ms = sqlite3_column_int64(st, 4);
        store_copy_text(t->reason, sizeof(t->reason), st, 5);
        store_copy_text(t->results, sizeof(t->results), st, 6);
        t->start_refused = sqlite3_column_int(st, 7);
}

int store_exam_selftest_get(Store *s, uint32_t exam, ExamSelftestRec *ret) {
        return store_one_row(store_stmt_id(s, SQL_GET, exam, NULL), from_row, ret);
}

int store_exam_selftest_ids(Store *s, ExamSelftestState state, uint32_t **ret, size_t *ret_n) {
        sqlite3_stmt *st = store_stmt_text(s, SQL_IDS, exam_selftest_state_to_string(state), NULL);
        return st ? store_collect_u32(s, st, ret, ret_n) : -EIO;
}
