/* exams.c - exams and their members (store/exams.h). */
#include "store/exams.h"

#include <stdio.h>

#include "store/store-internal.h"

static const char *const exam_state_table[_EXAM_STATE_MAX] = {
        [EXAM_CREATED] = "created",
        [EXAM_READY] = "ready",
        [EXAM_RUNNING] = "running",
        [EXAM_ENDED] = "ended",
};
DEFINE_STRING_TABLE(exam_state, ExamState)

static const char *const exam_member_state_table[_EXAM_MEMBER_STATE_MAX] = {
        [EXAM_MEMBER_PENDING] = "pending",
        [EXAM_MEMBER_RUNNING] = "running",
        [EXAM_MEMBER_FROZEN] = "frozen",
        [EXAM_MEMBER_SEALED] = "sealed",
};
DEFINE_STRING_TABLE(exam_member_state, ExamMemberState)

#define EXAM_COLUMNS "id, name, template, ugroup, start_time, end_time, warm, allow, owner, state, collection, warm_ready"
static const char SQL_EXAM_INSERT[] =
        "INSERT INTO exams(name, template, ugroup, start_time, end_time, warm, allow, owner, state, collection,"
        " created, warm_ready) VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
static const char SQL_EXAM_UPDATE[] =
        "UPDATE exams SET start_time = ?5, end_time = ?6, state = ?10 WHERE id = ?1";
static const char SQL_EXAM_GET[] = "SELECT " EXAM_COLUMNS " FROM exams WHERE id = ?";
static const char SQL_EXAM_GET_NAME[] = "SELECT " EXAM_COLUMNS " FROM exams WHERE name = ?";
static const char SQL_EXAM_IDS[] = "SELECT id FROM exams WHERE ?1 IS NULL OR state = ?1 ORDER BY id";

static void bind_exam(sqlite3_stmt *st, const ExamRec *e) {
        sqlite3_bind_int64(st, 1, e->id);
        sqlite3_bind_text(st, 2, e->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, e->template_vm);
        sqlite3_bind_int64(st, 4, e->ugroup);
        sqlite3_bind_int64(st, 5, e->start);
        sqlite3_bind_int64(st, 6, e->end);
        sqlite3_bind_int(st, 7, e->warm);
        sqlite3_bind_text(st, 8, e->allow, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 9, e->owner);
        sqlite3_bind_text(st, 10, exam_state_to_string(e->state), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 11, e->collection, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 13, e->warm_ready, -1, SQLITE_STATIC);
}

int store_exam_insert(Store *s, ExamRec *e, Error *err) {
        sqlite3_stmt *st = store_stmt(s, SQL_EXAM_INSERT, err);
        if (!st)
                return -EIO;
        char now[32];
        store_now(now);
        bind_exam(st, e);
        sqlite3_bind_text(st, 12, now, -1, SQLITE_STATIC);
        int r = store_step_insert(s, st, "exam", "id", e->id, e->name, err);
        if (r >= 0)
                e->id = (uint32_t)sqlite3_last_insert_rowid(s->db);
        return r;
}

int store_exam_update(Store *s, const ExamRec *e, Error *err) {
        sqlite3_stmt *st = store_stmt(s, SQL_EXAM_UPDATE, err);
        if (!st)
                return -EIO;
        bind_exam(st, e);
        return store_step_done(s, st, "exam", err);
}

static void exam_from_row(sqlite3_stmt *st, void *ret) {
        ExamRec *e = ret;
        memset(e, 0, sizeof(*e));
        e->id = (uint32_t)sqlite3_column_int64(st, 0);
        store_copy_text(e->name, sizeof(e->name), st, 1);
        e->template_vm = (uint32_t)sqlite3_column_int64(st, 2);
        e->ugroup = (uint32_t)sqlite3_column_int64(st, 3);
        e->start = sqlite3_column_int64(st, 4);
        e->end = sqlite3_column_int64(st, 5);
        e->warm = sqlite3_column_int(st, 6);
        store_copy_text(e->allow, sizeof(e->allow), st, 7);
        e->owner = (uint32_t)sqlite3_column_int64(st, 8);
        e->state = exam_state_from_string((const char *)sqlite3_column_text(st, 9));
        store_copy_text(e->collection, sizeof(e->collection), st, 10);
        store_copy_text(e->warm_ready, sizeof(e->warm_ready), st, 11);
}

int store_exam_get(Store *s, uint32_t id, ExamRec *ret) {
        return store_one_row(store_stmt_id(s, SQL_EXAM_GET, id, NULL), exam_from_row, ret);
}

int store_exam_get_by_name(Store *s, const char *name, ExamRec *ret) {
        return store_one_row(store_stmt_text(s, SQL_EXAM_GET_NAME, name, NULL), exam_from_row, ret);
}

int store_exam_ids(Store *s, int state, uint32_t **ret, size_t *ret_n) {
        sqlite3_stmt *st = store_stmt(s, SQL_EXAM_IDS, NULL);
        if (!st)
                return -EIO;
        if (state >= 0)
                sqlite3_bind_text(st, 1, exam_state_to_string(state), -1, SQLITE_STATIC);
        return store_collect_u32(s, st, ret, ret_n);
}

/* ---- members ---- */

#define MEMBER_COLUMNS                                                                                         \
        "exam, uid, vm, extra_minutes, state, frozen_at, sealed_path, sha256, sealed_at, late_minutes, seal_error," \
        " warm_instance"
static const char SQL_MEMBER_INSERT[] =
        "INSERT INTO exam_members(" MEMBER_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
static const char SQL_MEMBER_UPDATE[] =
        "UPDATE exam_members SET vm = ?3, extra_minutes = ?4, state = ?5, frozen_at = ?6, sealed_path = ?7,"
        " sha256 = ?8, sealed_at = ?9, late_minutes = ?10, seal_error = ?11, warm_instance = ?12"
        " WHERE exam = ?1 AND uid = ?2";
static const char SQL_MEMBER_GET[] = "SELECT " MEMBER_COLUMNS " FROM exam_members WHERE exam = ? AND uid = ?";
static const char SQL_MEMBER_BY_VM[] = "SELECT " MEMBER_COLUMNS " FROM exam_members WHERE vm = ?";
static const char SQL_MEMBER_LIST[] = "SELECT " MEMBER_COLUMNS " FROM exam_members WHERE exam = ? ORDER BY uid";
static const char SQL_GROUP_MEMBER_UIDS[] = "SELECT uid FROM memberships WHERE gid = ? ORDER BY uid";

static void bind_member(sqlite3_stmt *st, const ExamMemberRec *m) {
        sqlite3_bind_int64(st, 1, m->exam);
        sqlite3_bind_int64(st, 2, m->uid);
        store_bind_opt_u32(st, 3, m->vm ? &m->vm : NULL);
        sqlite3_bind_int64(st, 4, m->extra_minutes);
        sqlite3_bind_text(st, 5, exam_member_state_to_string(m->state), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, m->frozen_at_ms);
        sqlite3_bind_text(st, 7, m->sealed_path, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, m->sha256, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 9, m->sealed_at);
        sqlite3_bind_int64(st, 10, m->late_minutes);
        sqlite3_bind_text(st, 11, m->seal_error, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 12, m->warm_instance);
}

static void member_from_row(sqlite3_stmt *st, void *ret) {
        ExamMemberRec *m = ret;
        memset(m, 0, sizeof(*m));
        m->exam = (uint32_t)sqlite3_column_int64(st, 0);
        m->uid = (uint32_t)sqlite3_column_int64(st, 1);
        m->vm = (uint32_t)sqlite3_column_int64(st, 2); /* NULL reads as 0 */
        m->extra_minutes = (uint32_t)sqlite3_column_int64(st, 3);
        m->state = exam_member_state_from_string((const char *)sqlite3_column_text(st, 4));
        m->frozen_at_ms = sqlite3_column_int64(st, 5);
        store_copy_text(m->sealed_path, sizeof(m->sealed_path), st, 6);
        store_copy_text(m->sha256, sizeof(m->sha256), st, 7);
        m->sealed_at = sqlite3_column_int64(st, 8);
        m->late_minutes = (uint32_t)sqlite3_column_int64(st, 9);
        store_copy_text(m->seal_error, sizeof(m->seal_error), st, 10);
        m->warm_instance = (uint32_t)sqlite3_column_int64(st, 11);
}

int store_exam_member_insert(Store *s, const ExamMemberRec *m, Error *err) {
        sqlite3_stmt *st = store_stmt(s, SQL_MEMBER_INSERT, err);
        if (!st)
                return -EIO;
        bind_member(st, m);
        return store_step_done(s, st, "exam member", err);
}

int store_exam_member_update(Store *s, const ExamMemberRec *m, Error *err) {
        sqlite3_stmt *st = store_stmt(s, SQL_MEMBER_UPDATE, err);
        if (!st)
                return -EIO;
        bind_member(st, m);
        return store_step_done(s, st, "exam member", err);
}

int store_exam_member_get(Store *s, uint32_t exam, uint32_t uid, ExamMemberRec *ret) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_MEMBER_GET, exam, NULL);
        if (st)
                sqlite3_bind_int64(st, 2, uid);
        return store_one_row(st, member_from_row, ret);
}

int store_exam_member_by_vm(Store *s, uint32_t vm, ExamMemberRec *ret) {
        return store_one_row(store_stmt_id(s, SQL_MEMBER_BY_VM, vm, NULL), member_from_row, ret);
}

int store_exam_members(Store *s, uint32_t exam, ExamMemberRec **ret, size_t *ret_n) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_MEMBER_LIST, exam, NULL);
        if (!st)
                return -EIO;
        ExamMemberRec *list = NULL;
        size_t n = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                list = xrealloc(list, (n + 1) * sizeof(*list));
                member_from_row(st, &list[n++]);
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
                free(list);
                return store_step_error(s, rc, "exam members", NULL);
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

int store_group_member_uids(Store *s, uint32_t gid, uint32_t **ret, size_t *ret_n) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_GROUP_MEMBER_UIDS, gid, NULL);
        return st ? store_collect_u32(s, st, ret, ret_n) : -EIO;
}
