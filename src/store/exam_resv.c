/* exam_resv.c - an exam's reservation, on its row (store/exam_resv.h). */
#include "store/exam_resv.h"

#include <stdio.h>

#include "store/store-internal.h"

static const char *const exam_resv_state_table[_EXAM_RESV_STATE_MAX] = {
        [EXAM_RESV_NONE] = "none",
        [EXAM_RESV_HELD] = "held",
        [EXAM_RESV_FAILED] = "failed",
        [EXAM_RESV_RELEASED] = "released",
};
DEFINE_STRING_TABLE(exam_resv_state, ExamResvState)

static const char SQL_RESV_GET[] =
        "SELECT resv_state, resv_backend, resv_id, resv_start, resv_end, resv_create_ms, resv_error"
        " FROM exams WHERE id = ?";
static const char SQL_RESV_SET[] =
        "UPDATE exams SET resv_state = ?2, resv_backend = ?3, resv_id = ?4, resv_start = ?5, resv_end = ?6,"
        " resv_create_ms = ?7, resv_error = ?8 WHERE id = ?1";
static const char SQL_RESV_FOR_VM[] =
        "SELECT e.resv_id FROM exams e JOIN exam_members m ON m.exam = e.id"
        " WHERE m.vm = ? AND e.resv_state = 'held'";

static void resv_from_row(sqlite3_stmt *st, void *ret) {
        ExamResvRec *r = ret;
        memset(r, 0, sizeof(*r));
        r->state = exam_resv_state_from_string((const char *)sqlite3_column_text(st, 0));
        store_copy_text(r->backend, sizeof(r->backend), st, 1);
        store_copy_text(r->id, sizeof(r->id), st, 2);
        r->start = sqlite3_column_int64(st, 3);
        r->end = sqlite3_column_int64(st, 4);
        r->create_ms = sqlite3_column_int64(st, 5);
        store_copy_text(r->error, sizeof(r->error), st, 6);
}

int store_exam_resv_get(Store *s, uint32_t exam, ExamResvRec *ret) {
        return store_one_row(store_stmt_id(s, SQL_RESV_GET, exam, NULL), resv_from_row, ret);
}

int store_exam_resv_set(Store *s, uint32_t exam, const ExamResvRec *r, Error *err) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_RESV_SET, exam, err);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 2, exam_resv_state_to_string(r->state), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, r->backend, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, r->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, r->start);
        sqlite3_bind_int64(st, 6, r->end);
        sqlite3_bind_int64(st, 7, r->create_ms);
        sqlite3_bind_text(st, 8, r->error, -1, SQLITE_STATIC);
        return store_step_done(s, st, "exam reservation", err);
}

typedef struct IdBuf {
        char *buf;
        size_t len;
} IdBuf;

static void id_from_row(sqlite3_stmt *st, void *ret) {
        IdBuf *b = ret;
        store_copy_text(b->buf, b->len, st, 0);
}

int store_exam_resv_for_vm(Store *s, uint32_t vm, char *ret, size_t len) {
        IdBuf b = {.buf = ret, .len = len};
        int r = store_one_row(store_stmt_id(s, SQL_RESV_FOR_VM, vm, NULL), id_from_row, &b);
        return r < 0 ? r : isempty(ret) ? -ENOENT : 0;
}
