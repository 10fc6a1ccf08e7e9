/* perms.c - permission grants: (user | user group) x (vm | vm group). */
#include "store/store-internal.h"

#define GRANT_COLUMNS "subject_type, subject, object_type, object, run, modify, derive, force_isolated"
static const char SQL_GRANT_GET[] =
        "SELECT " GRANT_COLUMNS " FROM permissions"
        " WHERE subject_type = ? AND subject = ? AND object_type = ? AND object = ?";
static const char SQL_GRANT_PUT[] = "INSERT OR REPLACE INTO permissions(" GRANT_COLUMNS ") VALUES (?,?,?,?,?,?,?,?)";
static const char SQL_GRANT_DELETE[] =
        "DELETE FROM permissions WHERE subject_type = ? AND subject = ? AND object_type = ? AND object = ?";
static const char SQL_GRANTS_MATCHING[] =
        "SELECT " GRANT_COLUMNS " FROM permissions WHERE"
        " ((subject_type = 'user' AND subject = ?1) OR"
        "  (subject_type = 'group' AND subject IN (SELECT value FROM json_each(?2))))"
        " AND ((object_type = 'vm' AND object = ?3) OR (object_type = 'vmgroup' AND object = ?4))";
static const char SQL_GRANTS_COUNT_SUBJECT[] = "SELECT count(*) FROM permissions WHERE subject_type = ? AND subject = ?";
static const char SQL_GRANTS_DELETE_OBJECT[] = "DELETE FROM permissions WHERE object_type = ? AND object = ?";
static const char SQL_GRANT_LIST[] =
        "SELECT " GRANT_COLUMNS " FROM permissions p WHERE ?1 IS NULL"
        " OR (p.subject_type = 'user' AND p.subject = ?1)"
        " OR (p.subject_type = 'group' AND p.subject IN (SELECT value FROM json_each(?2)))"
        " OR (p.object_type = 'vm' AND p.object IN (SELECT id FROM vms WHERE owner = ?1))"
        " ORDER BY (p.object_type = 'vmgroup'), p.object, (p.subject_type = 'group'), p.subject";

static void grant_from_row(sqlite3_stmt *st, void *ret) {
        Grant *g = ret;
        g->subject_type = subject_type_from_string((const char *)sqlite3_column_text(st, 0));
        g->subject = (uint32_t)sqlite3_column_int64(st, 1);
        g->object_type = object_type_from_string((const char *)sqlite3_column_text(st, 2));
        g->object = (uint32_t)sqlite3_column_int64(st, 3);
        g->run = sqlite3_column_int(st, 4);
        g->modify = sqlite3_column_int(st, 5);
        g->derive = sqlite3_column_int(st, 6);
        g->force_isolated = sqlite3_column_int(st, 7);
}

static void bind_key(sqlite3_stmt *st, enum subject_type stype, uint32_t subject, enum object_type otype,
                     uint32_t object) {
        sqlite3_bind_text(st, 1, subject_type_to_string(stype), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, subject);
        sqlite3_bind_text(st, 3, object_type_to_string(otype), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, object);
}

int store_grant_get(Store *s, enum subject_type stype, uint32_t subject, enum object_type otype, uint32_t object,
                    Grant *ret) {
        sqlite3_stmt *st = store_stmt(s, SQL_GRANT_GET, NULL);
        if (st)
                bind_key(st, stype, subject, otype, object);
        return store_one_row(st, grant_from_row, ret);
}

int store_grant_put(Store *s, const Grant *g, Error *err) {
        sqlite3_stmt *st = store_stmt(s, SQL_GRANT_PUT, err);
        if (!st)
                return -EIO;
        bind_key(st, g->subject_type, g->subject, g->object_type, g->object);
        sqlite3_bind_int(st, 5, g->run);
        sqlite3_bind_int(st, 6, g->modify);
        sqlite3_bind_int(st, 7, g->derive);
        sqlite3_bind_int(st, 8, g->force_isolated);
        return store_step_done(s, st, "permission", err);
}

int store_grant_delete(Store *s, enum subject_type stype, uint32_t subject, enum object_type otype, uint32_t object,
                       Error *err) {
        sqlite3_stmt *st = store_stmt(s, SQL_GRANT_DELETE, err);
        if (!st)
                return -EIO;
        bind_key(st, stype, subject, otype, object);
        return store_step_done(s, st, "permission", err);
}

static char *u32_array_json(const uint32_t *v, size_t n) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, json_integer(v[i]));
        char *s = json_dumps(a, JSON_COMPACT);
        json_decref(a);
        return s;
}

static int collect_grants(Store *s, sqlite3_stmt *st, Grant **ret, size_t *ret_n) {
        Grant *v = NULL;
        size_t n = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                v = xrealloc(v, (n + 1) * sizeof(Grant));
                grant_from_row(st, &v[n++]);
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
                free(v);
                return store_step_error(s, rc, "permissions", NULL);
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int store_grants_matching(Store *s, uint32_t uid, const uint32_t *groups, size_t n_groups, uint32_t vm,
                          uint32_t vm_group, Grant **ret, size_t *ret_n) {
        sqlite3_stmt *st = store_stmt(s, SQL_GRANTS_MATCHING, NULL);
        if (!st)
                return -EIO;
        _cleanup_free_ char *gj = u32_array_json(groups, n_groups);
        sqlite3_bind_int64(st, 1, uid);
        sqlite3_bind_text(st, 2, gj, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, vm);
        sqlite3_bind_int64(st, 4, vm_group);
        return collect_grants(s, st, ret, ret_n);
}

int store_grants_count_for_subject(Store *s, enum subject_type stype, uint32_t subject, uint32_t *ret) {
        sqlite3_stmt *st = store_stmt_text(s, SQL_GRANTS_COUNT_SUBJECT, subject_type_to_string(stype), NULL);
        if (st)
                sqlite3_bind_int64(st, 2, subject);
        return store_one_u32(st, ret);
}

int store_grants_delete_for_object(Store *s, enum object_type otype, uint32_t object, Error *err) {
        sqlite3_stmt *st = store_stmt_text(s, SQL_GRANTS_DELETE_OBJECT, object_type_to_string(otype), err);
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 2, object);
        return store_step_done(s, st, "permissions", err);
}

json_t *grant_to_json(const Grant *g) {
        return json_pack("{s:s, s:I, s:s, s:I, s:b, s:b, s:b, s:b}", "subject_type",
                         subject_type_to_string(g->subject_type), "subject", (json_int_t)g->subject, "object_type",
                         object_type_to_string(g->object_type), "object", (json_int_t)g->object, "run", g->run,
                         "modify", g->modify, "derive", g->derive, "force_isolated", g->force_isolated);
}

int store_grant_list(Store *s, const uint32_t *visible_to_uid, const uint32_t *groups, size_t n_groups,
                     json_t **ret) {
        sqlite3_stmt *st = store_stmt(s, SQL_GRANT_LIST, NULL);
        if (!st)
                return -EIO;
        _cleanup_free_ char *gj = u32_array_json(groups, n_groups);
        store_bind_opt_u32(st, 1, visible_to_uid);
        sqlite3_bind_text(st, 2, gj, -1, SQLITE_STATIC);
        Grant *v;
        size_t n;
        int r = collect_grants(s, st, &v, &n);
        if (r < 0)
                return r;
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, grant_to_json(&v[i]));
        free(v);
        *ret = arr;
        return 0;
}
