/* instances.c - running (or reserved) VM instances: the paper's Mapping table. */
#include <stdio.h>

#include "store/store-internal.h"

#define INSTANCE_COLUMNS                                                                                   \
        "id, vm, uid, ip, mac, isolated, state, backend, job_id, exehost, vnc_display, tap, mem, vcpus, created, " \
        "started, vnc_password, cdrom, ipv6"
static const char SQL_INSTANCE_INSERT[] =
        "INSERT INTO instances(vm, uid, ip, mac, isolated, state, backend, job_id, exehost, vnc_display, tap,"
        " mem, vcpus, created, started, vnc_password, cdrom, ipv6)"
        " VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)";
static const char SQL_INSTANCE_UPDATE[] =
        "UPDATE instances SET state = ?7, backend = ?8, job_id = ?9, exehost = ?10, vnc_display = ?11, tap = ?12,"
        " started = ?16, vnc_password = ?17 WHERE id = ?1";
static const char SQL_INSTANCE_DELETE[] = "DELETE FROM instances WHERE id = ?";
static const char SQL_INSTANCE_GET[] = "SELECT " INSTANCE_COLUMNS " FROM instances WHERE id = ?";
static const char SQL_INSTANCE_LIST[] =
        "SELECT " INSTANCE_COLUMNS " FROM instances WHERE ?1 IS NULL OR uid = ?1 ORDER BY id";
static const char SQL_INSTANCE_IDS_ALL[] = "SELECT id FROM instances ORDER BY id";
static const char SQL_INSTANCE_IDS_FOR_VM[] = "SELECT id FROM instances WHERE vm = ? ORDER BY id";
static const char SQL_INSTANCE_COUNT_USER[] = "SELECT count(*) FROM instances WHERE uid = ?";
static const char SQL_INSTANCE_USED_IPS[] =
        "SELECT ip FROM instances WHERE ip BETWEEN ? AND ? ORDER BY ip";
static const char SQL_INSTANCE_MAC_USED[] = "SELECT 1 FROM instances WHERE mac = ?";

static void bind_instance(sqlite3_stmt *st, const InstanceRec *i, const char *now) {
        sqlite3_bind_int64(st, 1, i->id);
        sqlite3_bind_int64(st, 2, i->vm);
        sqlite3_bind_int64(st, 3, i->uid);
        sqlite3_bind_int64(st, 4, i->ip);
        sqlite3_bind_text(st, 5, i->mac, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 6, i->isolated);
        sqlite3_bind_text(st, 7, instance_state_to_string(i->state), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, i->backend, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, i->job_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 10, i->exehost, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 11, i->vnc_display);
        sqlite3_bind_text(st, 12, i->tap, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 13, (sqlite3_int64)i->mem);
        sqlite3_bind_int64(st, 14, i->vcpus);
        sqlite3_bind_text(st, 15, now ? now : i->created, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 16, i->started, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 17, i->vnc_password, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 18, i->cdrom, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 19, i->ipv6);
}

int store_instance_insert(Store *s, InstanceRec *i, Error *err) {
        sqlite3_stmt *st = store_stmt(s, SQL_INSTANCE_INSERT, err);
        if (!st)
                return -EIO;
        store_now(i->created);
        bind_instance(st, i, i->created);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        int r = store_step_error(s, rc, "instance address", err);
        if (r >= 0)
                i->id = (uint32_t)sqlite3_last_insert_rowid(s->db);
        return r;
}

int store_instance_update(Store *s, const InstanceRec *i, Error *err) {
        sqlite3_stmt *st = store_stmt(s, SQL_INSTANCE_UPDATE, err);
        if (!st)
                return -EIO;
        bind_instance(st, i, NULL);
        return store_step_done(s, st, "instance", err);
}

int store_instance_delete(Store *s, uint32_t id, Error *err) {
        return store_exec_id(s, SQL_INSTANCE_DELETE, id, "instance", err);
}

static void instance_from_row(sqlite3_stmt *st, void *ret) {
        InstanceRec *i = ret;
        memset(i, 0, sizeof(*i));
        i->id = (uint32_t)sqlite3_column_int64(st, 0);
        i->vm = (uint32_t)sqlite3_column_int64(st, 1);
        i->uid = (uint32_t)sqlite3_column_int64(st, 2);
        i->ip = (uint32_t)sqlite3_column_int64(st, 3);
        store_copy_text(i->mac, sizeof(i->mac), st, 4);
        i->isolated = sqlite3_column_int(st, 5);
        i->state = instance_state_from_string((const char *)sqlite3_column_text(st, 6));
        store_copy_text(i->backend, sizeof(i->backend), st, 7);
        store_copy_text(i->job_id, sizeof(i->job_id), st, 8);
        store_copy_text(i->exehost, sizeof(i->exehost), st, 9);
        i->vnc_display = sqlite3_column_int(st, 10);
        store_copy_text(i->tap, sizeof(i->tap), st, 11);
        i->mem = (uint64_t)sqlite3_column_int64(st, 12);
        i->vcpus = (uint32_t)sqlite3_column_int64(st, 13);
        store_copy_text(i->created, sizeof(i->created), st, 14);
        store_copy_text(i->started, sizeof(i->started), st, 15);
        store_copy_text(i->vnc_password, sizeof(i->vnc_password), st, 16);
        store_copy_text(i->cdrom, sizeof(i->cdrom), st, 17);
        i->ipv6 = sqlite3_column_int(st, 18);
}

int store_instance_get(Store *s, uint32_t id, InstanceRec *ret) {
        return store_one_row(store_stmt_id(s, SQL_INSTANCE_GET, id, NULL), instance_from_row, ret);
}

json_t *instance_to_json(const InstanceRec *i) {
        char ip[16];
        snprintf(ip, sizeof(ip), "%u.%u.%u.%u", i->ip >> 24, (i->ip >> 16) & 255, (i->ip >> 8) & 255, i->ip & 255);
        json_t *vnc_port = i->vnc_display >= 0 ? json_integer(5900 + i->vnc_display) : json_null();
        return json_pack("{s:I, s:I, s:I, s:s, s:s, s:b, s:b, s:s, s:s, s:s, s:s, s:i, s:o, s:s, s:I, s:I, s:s, s:s, s:s}", "id",
                         (json_int_t)i->id, "vm", (json_int_t)i->vm, "uid", (json_int_t)i->uid, "ip", ip, "mac",
                         i->mac, "isolated", i->isolated, "ipv6", i->ipv6, "state",
                         instance_state_to_string(i->state) ?: "invalid", "backend", i->backend, "job_id",
                         i->job_id, "exehost", i->exehost, "vnc_display", i->vnc_display, "vnc_port", vnc_port,
                         "tap", i->tap, "mem", (json_int_t)i->mem, "vcpus", (json_int_t)i->vcpus, "created",
                         i->created, "started", i->started, "vnc_password", i->vnc_password);
}

int store_instance_list(Store *s, const uint32_t *only_uid, json_t **ret) {
        sqlite3_stmt *st = store_stmt(s, SQL_INSTANCE_LIST, NULL);
        if (!st)
                return -EIO;
        store_bind_opt_u32(st, 1, only_uid);
        json_t *arr = json_array();
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                InstanceRec i;
                instance_from_row(st, &i);
                json_array_append_new(arr, instance_to_json(&i));
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
                json_decref(arr);
                return store_step_error(s, rc, "instance list", NULL);
        }
        *ret = arr;
        return 0;
}

int store_instance_ids_all(Store *s, uint32_t **ret, size_t *ret_n) {
        sqlite3_stmt *st = store_stmt(s, SQL_INSTANCE_IDS_ALL, NULL);
        if (!st)
                return -EIO;
        return store_collect_u32(s, st, ret, ret_n);
}

int store_instance_ids_for_vm(Store *s, uint32_t vm, uint32_t **ret, size_t *ret_n) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_INSTANCE_IDS_FOR_VM, vm, NULL);
        if (!st)
                return -EIO;
        return store_collect_u32(s, st, ret, ret_n);
}

int store_instance_count_for_user(Store *s, uint32_t uid, uint32_t *ret) {
        return store_one_u32(store_stmt_id(s, SQL_INSTANCE_COUNT_USER, uid, NULL), ret);
}

int store_instance_used_ips(Store *s, uint32_t first, uint32_t last, uint32_t **ret, size_t *ret_n) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_INSTANCE_USED_IPS, first, NULL);
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 2, last);
        return store_collect_u32(s, st, ret, ret_n);
}

int store_instance_mac_in_use(Store *s, const char *mac, bool *ret) {
        sqlite3_stmt *st = store_stmt_text(s, SQL_INSTANCE_MAC_USED, mac, NULL);
        if (!st)
                return -EIO;
        int rc = sqlite3_step(st);
        *ret = rc == SQLITE_ROW;
        sqlite3_reset(st);
        return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}
