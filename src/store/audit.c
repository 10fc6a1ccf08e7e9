/* audit.c - the append-only audit log: who did what, when, kept for
 * audit_keep_days (store_audit_expire). */
#include <stdio.h>

#include "store/store-internal.h"

static const char SQL_AUDIT_INSERT[] = "INSERT INTO audit(time, uid, op, object, detail) VALUES (?, ?, ?, ?, ?)";
static const char SQL_AUDIT_LIST[] =
        "SELECT id, time, uid, op, object, detail FROM (SELECT * FROM audit ORDER BY id DESC LIMIT ?) ORDER BY id";

int store_audit(Store *s, uint32_t uid, const char *op, const char *object, json_t *detail, Error *err) {
        sqlite3_stmt *st = store_stmt(s, SQL_AUDIT_INSERT, err);
        if (!st)
                return -EIO;
        char now[32];
        store_now(now);
        _cleanup_free_ char *d = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : xstrdup("{}");
        sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, uid);
        sqlite3_bind_text(st, 3, op, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, object ? object : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, d, -1, SQLITE_STATIC);
        return store_step_done(s, st, "audit record", err);
}

static const char SQL_AUDIT_LAST[] =
        "SELECT detail FROM audit WHERE op = ? AND object = ? ORDER BY id DESC LIMIT 1";

int store_audit_last_detail(Store *s, const char *op, const char *object, json_t **ret) {
        sqlite3_stmt *st = store_stmt_text(s, SQL_AUDIT_LAST, op, NULL);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 2, object, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        json_t *detail = rc == SQLITE_ROW ? json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL) : NULL;
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return store_step_error(s, rc, "audit lookup", NULL);
        *ret = detail ? detail : json_object();
        return 0;
}

int store_audit_list(Store *s, uint32_t limit, json_t **ret) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_AUDIT_LIST, limit ? limit : 100, NULL);
        if (!st)
                return -EIO;
        json_t *arr = json_array();
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                json_t *detail = json_loads((const char *)sqlite3_column_text(st, 5), 0, NULL);
                json_array_append_new(arr, json_pack("{s:I, s:s, s:I, s:s, s:s, s:o}", "id",
                                                     (json_int_t)sqlite3_column_int64(st, 0), "time",
                                                     (const char *)sqlite3_column_text(st, 1), "uid",
                                                     (json_int_t)sqlite3_column_int64(st, 2), "op",
                                                     (const char *)sqlite3_column_text(st, 3), "object",
                                                     (const char *)sqlite3_column_text(st, 4), "detail",
                                                     detail ? detail : json_object()));
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
                json_decref(arr);
                return store_step_error(s, rc, "audit list", NULL);
        }
        *ret = arr;
        return 0;
}

static const char SQL_AUDIT_EXPIRE[] = "DELETE FROM audit WHERE time < datetime('now', ?)";

int store_audit_expire(Store *s, uint32_t keep_days, Error *err) {
        if (keep_days == 0)
                return 0;
        char age[32];
        snprintf(age, sizeof(age), "-%u days", keep_days);
        sqlite3_stmt *st = store_stmt_text(s, SQL_AUDIT_EXPIRE, age, err);
        return st ? store_step_done(s, st, "audit expiry", err) : -EIO;
}
