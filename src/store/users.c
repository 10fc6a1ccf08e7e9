/* users.c - users, user groups and memberships. */
#include "store/store-internal.h"

static const char SQL_USER_INSERT[] =
        "INSERT INTO users(uid, name, stordir, max_running, max_storage, created) VALUES (?, ?, ?, ?, ?, ?)";
static const char SQL_USER_UPDATE[] =
        "UPDATE users SET name = ?2, stordir = ?3, max_running = ?4, max_storage = ?5 WHERE uid = ?1";
static const char SQL_USER_DELETE[] = "DELETE FROM users WHERE uid = ?";
static const char SQL_USER_GET[] = "SELECT uid, name, stordir, max_running, max_storage FROM users WHERE uid = ?";
static const char SQL_USER_GET_NAME[] =
        "SELECT uid, name, stordir, max_running, max_storage FROM users WHERE name = ?";
static const char SQL_USER_GROUPS[] = "SELECT gid FROM memberships WHERE uid = ? ORDER BY gid";
static const char SQL_USER_LIST[] =
        "SELECT u.uid, u.name, u.stordir, u.max_running, u.max_storage,"
        "  (SELECT group_concat(gid) FROM (SELECT gid FROM memberships m WHERE m.uid = u.uid ORDER BY gid)),"
        "  (SELECT coalesce(sum(d.allocated), 0) FROM discs d JOIN vms v ON v.id = d.vm WHERE v.owner = u.uid),"
        "  (SELECT count(*) FROM instances i WHERE i.uid = u.uid)"
        " FROM users u WHERE ?1 IS NULL OR u.uid = ?1 ORDER BY u.uid";
static const char SQL_USER_COUNT_VMS[] = "SELECT count(*) FROM vms WHERE owner = ?";

/* max + 1, or the lowest free id once max is the largest u32: never wraps */
static const char SQL_GROUP_NEXT_ID[] =
        "SELECT CASE WHEN coalesce(max(id), 1) < 4294967295 THEN coalesce(max(id), 1) + 1 ELSE"
        " (SELECT min(c.id + 1) FROM (SELECT id FROM user_groups UNION SELECT 1) c"
        "  WHERE c.id + 1 <= 4294967295 AND c.id + 1 NOT IN (SELECT id FROM user_groups)) END"
        " FROM user_groups";
static const char SQL_GROUP_INSERT[] = "INSERT INTO user_groups(id, name) VALUES (?, ?)";
static const char SQL_GROUP_RENAME[] = "UPDATE user_groups SET name = ?2 WHERE id = ?1";
static const char SQL_GROUP_DELETE[] = "DELETE FROM user_groups WHERE id = ?";
static const char SQL_GROUP_GET[] = "SELECT id, name FROM user_groups WHERE id = ?";
static const char SQL_GROUP_GET_NAME[] = "SELECT id, name FROM user_groups WHERE name = ?";
static const char SQL_GROUP_LIST[] =
        "SELECT g.id, g.name, (SELECT count(*) FROM memberships m WHERE m.gid = g.id) FROM user_groups g"
        " WHERE ?1 IS NULL OR g.id IN (SELECT gid FROM memberships WHERE uid = ?1) ORDER BY g.id";
static const char SQL_MEMBER_ADD[] = "INSERT OR IGNORE INTO memberships(uid, gid) VALUES (?, ?)";
static const char SQL_MEMBER_REMOVE[] = "DELETE FROM memberships WHERE uid = ? AND gid = ?";

int store_user_insert(Store *s, const UserRec *u, Error *err) {
        sqlite3_stmt *st = store_stmt(s, SQL_USER_INSERT, err);
        if (!st)
                return -EIO;
        char now[32];
        store_now(now);
        sqlite3_bind_int64(st, 1, u->uid);
        sqlite3_bind_text(st, 2, u->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, u->stordir, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, u->max_running);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)u->max_storage);
        sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
        return store_step_insert(s, st, "user", "uid", u->uid, u->name, err);
}

int store_user_update(Store *s, const UserRec *u, Error *err) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_USER_UPDATE, u->uid, err);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 2, u->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, u->stordir, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, u->max_running);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)u->max_storage);
        return store_step_done(s, st, "user name", err);
}

int store_user_delete(Store *s, uint32_t uid, Error *err) {
        return store_exec_id(s, SQL_USER_DELETE, uid, "user", err);
}

static void user_from_row(sqlite3_stmt *st, void *rec) {
        UserRec *ret = rec;
        memset(ret, 0, sizeof(*ret));
        ret->uid = (uint32_t)sqlite3_column_int64(st, 0);
        store_copy_text(ret->name, sizeof(ret->name), st, 1);
        store_copy_text(ret->stordir, sizeof(ret->stordir), st, 2);
        ret->max_running = (uint32_t)sqlite3_column_int64(st, 3);
        ret->max_storage = (uint64_t)sqlite3_column_int64(st, 4);
}

int store_user_get(Store *s, uint32_t uid, UserRec *ret) {
        return store_one_row(store_stmt_id(s, SQL_USER_GET, uid, NULL), user_from_row, ret);
}

int store_user_get_by_name(Store *s, const char *name, UserRec *ret) {
        return store_one_row(store_stmt_text(s, SQL_USER_GET_NAME, name, NULL), user_from_row, ret);
}

int store_user_groups(Store *s, uint32_t uid, uint32_t **ret, size_t *ret_n) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_USER_GROUPS, uid, NULL);
        if (!st)
                return -EIO;
        return store_collect_u32(s, st, ret, ret_n);
}

int store_user_list(Store *s, const uint32_t *only_uid, json_t **ret) {
        sqlite3_stmt *st = store_stmt(s, SQL_USER_LIST, NULL);
        if (!st)
                return -EIO;
        store_bind_opt_u32(st, 1, only_uid);
        json_t *arr = json_array();
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                json_t *groups = json_array();
                const char *g = (const char *)sqlite3_column_text(st, 5);
                while (g && *g) {
                        json_array_append_new(groups, json_integer(strtoll(g, (char **)&g, 10)));
                        if (*g == ',')
                                g++;
                }
                json_array_append_new(
                        arr, json_pack("{s:I, s:s, s:o, s:s, s:I, s:I, s:I, s:I}", "uid",
                                       (json_int_t)sqlite3_column_int64(st, 0), "name",
                                       (const char *)sqlite3_column_text(st, 1), "groups", groups, "stordir",
                                       (const char *)sqlite3_column_text(st, 2), "max_running",
                                       (json_int_t)sqlite3_column_int64(st, 3), "max_storage",
                                       (json_int_t)sqlite3_column_int64(st, 4), "storage_used",
                                       (json_int_t)sqlite3_column_int64(st, 6), "running",
                                       (json_int_t)sqlite3_column_int64(st, 7)));
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
                json_decref(arr);
                return store_step_error(s, rc, "user list", NULL);
        }
        *ret = arr;
        return 0;
}

int store_user_count_vms(Store *s, uint32_t uid, uint32_t *ret) {
        return store_one_u32(store_stmt_id(s, SQL_USER_COUNT_VMS, uid, NULL), ret);
}

int store_group_insert(Store *s, GroupRec *g, bool pick_id, Error *err) {
        if (pick_id) {
                sqlite3_stmt *st = store_stmt(s, SQL_GROUP_NEXT_ID, err);
                if (!st)
                        return -EIO;
                bool full = sqlite3_step(st) != SQLITE_ROW || sqlite3_column_type(st, 0) == SQLITE_NULL;
                if (!full)
                        g->id = (uint32_t)sqlite3_column_int64(st, 0);
                sqlite3_reset(st);
                if (full)
                        return error_set(err, -ENOSPC, "no free user group id left");
        }
        sqlite3_stmt *st = store_stmt_id(s, SQL_GROUP_INSERT, g->id, err);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 2, g->name, -1, SQLITE_STATIC);
        return store_step_insert(s, st, "user group", "id", g->id, g->name, err);
}

int store_group_rename(Store *s, uint32_t id, const char *name, Error *err) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_GROUP_RENAME, id, err);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        return store_step_done(s, st, "user group name", err);
}

int store_group_delete(Store *s, uint32_t id, Error *err) {
        return store_exec_id(s, SQL_GROUP_DELETE, id, "user group", err);
}

static void group_from_row(sqlite3_stmt *st, void *rec) {
        GroupRec *ret = rec;
        ret->id = (uint32_t)sqlite3_column_int64(st, 0);
        store_copy_text(ret->name, sizeof(ret->name), st, 1);
}

int store_group_get(Store *s, uint32_t id, GroupRec *ret) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_GROUP_GET, id, NULL);
        return store_one_row(st, group_from_row, ret);
}

int store_group_get_by_name(Store *s, const char *name, GroupRec *ret) {
        sqlite3_stmt *st = store_stmt_text(s, SQL_GROUP_GET_NAME, name, NULL);
        return store_one_row(st, group_from_row, ret);
}

int store_group_list(Store *s, const uint32_t *only_member, json_t **ret) {
        sqlite3_stmt *st = store_stmt(s, SQL_GROUP_LIST, NULL);
        if (!st)
                return -EIO;
        store_bind_opt_u32(st, 1, only_member);
        json_t *arr = json_array();
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                json_array_append_new(arr, json_pack("{s:I, s:s, s:I}", "id", (json_int_t)sqlite3_column_int64(st, 0),
                                                     "name", (const char *)sqlite3_column_text(st, 1), "members",
                                                     (json_int_t)sqlite3_column_int64(st, 2)));
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
                json_decref(arr);
                return store_step_error(s, rc, "group list", NULL);
        }
        *ret = arr;
        return 0;
}

int store_membership_add(Store *s, uint32_t uid, uint32_t gid, Error *err) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_MEMBER_ADD, uid, err);
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 2, gid);
        return store_step_done(s, st, "membership", err);
}

int store_membership_remove(Store *s, uint32_t uid, uint32_t gid, Error *err) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_MEMBER_REMOVE, uid, err);
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 2, gid);
        return store_step_done(s, st, "membership", err);
}
