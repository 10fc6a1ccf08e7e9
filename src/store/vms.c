/* vms.c - VM groups, VMs and their discs. */
#include <stdio.h>

#include "store/store-internal.h"

/* max + 1, or the lowest free id once max is the largest u32: never wraps */
static const char SQL_VMG_NEXT_ID[] =
        "SELECT CASE WHEN coalesce(max(id), 1) < 4294967295 THEN coalesce(max(id), 1) + 1 ELSE"
        " (SELECT min(c.id + 1) FROM (SELECT id FROM vm_groups UNION SELECT 1) c"
        "  WHERE c.id + 1 <= 4294967295 AND c.id + 1 NOT IN (SELECT id FROM vm_groups)) END"
        " FROM vm_groups";
#define VMG_COLUMNS "id, name, ip_first, ip_last, max_mem, max_vcpus, max_walltime, ipv6"
static const char SQL_VMG_INSERT[] = "INSERT INTO vm_groups(" VMG_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char SQL_VMG_UPDATE[] =
        "UPDATE vm_groups SET name = ?2, ip_first = ?3, ip_last = ?4, max_mem = ?5, max_vcpus = ?6,"
        " max_walltime = ?7, ipv6 = ?8 WHERE id = ?1";
static const char SQL_VMG_DELETE[] = "DELETE FROM vm_groups WHERE id = ?";
static const char SQL_VMG_GET[] = "SELECT " VMG_COLUMNS " FROM vm_groups WHERE id = ?";
static const char SQL_VMG_GET_NAME[] = "SELECT " VMG_COLUMNS " FROM vm_groups WHERE name = ?";
static const char SQL_VMG_OVERLAP[] =
        "SELECT " VMG_COLUMNS " FROM vm_groups WHERE ip_first <= ?2 AND ip_last >= ?1 AND id != ?3"
        " ORDER BY ip_first LIMIT 1";
static const char SQL_VMG_LIST[] = "SELECT " VMG_COLUMNS " FROM vm_groups ORDER BY id";
static const char SQL_VMG_COUNT_VMS[] = "SELECT count(*) FROM vms WHERE vm_group = ?";

#define VM_COLUMNS \
        "id, name, owner, vm_group, derivable, coalesce(base, 0), mem, vcpus, descr, kernel, initrd, cmdline, force_isolated"
static const char SQL_VM_NEXT_ID[] =
        "SELECT CASE WHEN coalesce(max(id), 1000) < 4294967295 THEN max(coalesce(max(id), 1000) + 1, 1001) ELSE"
        " (SELECT min(c.id + 1) FROM (SELECT id FROM vms UNION SELECT 1000) c"
        "  WHERE c.id + 1 <= 4294967295 AND c.id + 1 NOT IN (SELECT id FROM vms)) END"
        " FROM vms";
static const char SQL_VM_INSERT[] =
        "INSERT INTO vms(id, name, owner, vm_group, derivable, base, mem, vcpus, descr, kernel, initrd, cmdline,"
        " created, force_isolated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
static const char SQL_VM_UPDATE[] =
        "UPDATE vms SET name = ?2, vm_group = ?4, derivable = ?5, mem = ?7, vcpus = ?8, descr = ?9,"
        " kernel = ?10, initrd = ?11, cmdline = ?12 WHERE id = ?1";
static const char SQL_VM_DELETE[] = "DELETE FROM vms WHERE id = ?";
static const char SQL_VM_GET[] = "SELECT " VM_COLUMNS " FROM vms WHERE id = ?";
static const char SQL_VM_GET_OWNER_NAME[] = "SELECT " VM_COLUMNS " FROM vms WHERE owner = ? AND name = ?";
static const char SQL_VM_IDS_BY_NAME[] = "SELECT id FROM vms WHERE name = ? ORDER BY id";
static const char SQL_VM_COUNT_DERIVED[] = "SELECT count(*) FROM vms WHERE base = ?";
static const char SQL_VM_COUNT_DERIVED_BY[] = "SELECT count(*) FROM vms WHERE base = ?1 AND owner = ?2";
/* ?1 NULL: every VM. Otherwise VMs owned by ?1 or named by a grant to ?1
 * or to one of the groups in the JSON array ?2, directly or via their group. */
static const char SQL_VM_LIST[] =
        "SELECT " VM_COLUMNS " FROM vms v WHERE ?1 IS NULL OR v.owner = ?1 OR EXISTS ("
        "  SELECT 1 FROM permissions p WHERE"
        "   ((p.subject_type = 'user' AND p.subject = ?1) OR"
        "    (p.subject_type = 'group' AND p.subject IN (SELECT value FROM json_each(?2))))"
        "   AND ((p.object_type = 'vm' AND p.object = v.id) OR (p.object_type = 'vmgroup' AND p.object = v.vm_group))"
        "   AND (p.run OR p.modify OR p.derive))"
        " ORDER BY v.id";

static const char SQL_DISC_INSERT[] =
        "INSERT INTO discs(vm, idx, path, size, allocated, backing, dev, ino) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
#define DISC_COLUMNS "id, vm, idx, path, size, allocated, coalesce(backing, 0), dev, ino"
static const char SQL_DISC_LIST[] = "SELECT " DISC_COLUMNS " FROM discs WHERE vm = ? ORDER BY idx";
static const char SQL_DISC_GET[] = "SELECT " DISC_COLUMNS " FROM discs WHERE id = ?";
static const char SQL_DISC_ALL_PATHS[] = "SELECT id, vm, path FROM discs ORDER BY id";
static const char SQL_DISC_SET_ALLOCATED[] = "UPDATE discs SET allocated = ?2 WHERE id = ?1";
static const char SQL_STORAGE_USED[] =
        "SELECT coalesce(sum(d.allocated), 0) FROM discs d JOIN vms v ON v.id = d.vm WHERE v.owner = ?";

static int count_query(Store *s, const char *sql, uint32_t id, uint32_t *ret) {
        return store_one_u32(store_stmt_id(s, sql, id, NULL), ret);
}

static int next_id(Store *s, const char *sql, uint32_t *ret, Error *err) {
        sqlite3_stmt *st = store_stmt(s, sql, err);
        if (!st)
                return -EIO;
        int r = sqlite3_step(st) == SQLITE_ROW ? 0 : -EIO;
        if (r == 0 && sqlite3_column_type(st, 0) == SQLITE_NULL)
                r = error_set(err, -ENOSPC, "no free id left");
        else if (r == 0)
                *ret = (uint32_t)sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return r;
}

/* ---- VM groups ---- */

/* parameters 2.. of SQL_VMG_INSERT and SQL_VMG_UPDATE (1 is the id) */
static void bind_vmgroup(sqlite3_stmt *st, const VmGroupRec *g) {
        sqlite3_bind_text(st, 2, g->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, g->first);
        sqlite3_bind_int64(st, 4, g->last);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)g->max_mem);
        sqlite3_bind_int64(st, 6, g->max_vcpus);
        sqlite3_bind_int64(st, 7, g->max_walltime_s);
        sqlite3_bind_int(st, 8, g->ipv6);
}

int store_vmgroup_insert(Store *s, VmGroupRec *g, Error *err) {
        if (g->id == 0 && next_id(s, SQL_VMG_NEXT_ID, &g->id, err) < 0)
                return err ? err->code : -EIO;
        sqlite3_stmt *st = store_stmt_id(s, SQL_VMG_INSERT, g->id, err);
        if (!st)
                return -EIO;
        bind_vmgroup(st, g);
        return store_step_insert(s, st, "vm group", "id", g->id, g->name, err);
}

int store_vmgroup_update(Store *s, const VmGroupRec *g, Error *err) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_VMG_UPDATE, g->id, err);
        if (!st)
                return -EIO;
        bind_vmgroup(st, g);
        return store_step_done(s, st, "vm group name", err);
}

int store_vmgroup_delete(Store *s, uint32_t id, Error *err) {
        return store_exec_id(s, SQL_VMG_DELETE, id, "vm group", err);
}

static void vmgroup_from_row(sqlite3_stmt *st, void *rec) {
        VmGroupRec *ret = rec;
        memset(ret, 0, sizeof(*ret));
        ret->id = (uint32_t)sqlite3_column_int64(st, 0);
        store_copy_text(ret->name, sizeof(ret->name), st, 1);
        ret->first = (uint32_t)sqlite3_column_int64(st, 2);
        ret->last = (uint32_t)sqlite3_column_int64(st, 3);
        ret->max_mem = (uint64_t)sqlite3_column_int64(st, 4);
        ret->max_vcpus = (uint32_t)sqlite3_column_int64(st, 5);
        ret->max_walltime_s = (uint32_t)sqlite3_column_int64(st, 6);
        ret->ipv6 = sqlite3_column_int(st, 7);
}

int store_vmgroup_get(Store *s, uint32_t id, VmGroupRec *ret) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_VMG_GET, id, NULL);
        return store_one_row(st, vmgroup_from_row, ret);
}

int store_vmgroup_get_by_name(Store *s, const char *name, VmGroupRec *ret) {
        sqlite3_stmt *st = store_stmt_text(s, SQL_VMG_GET_NAME, name, NULL);
        return store_one_row(st, vmgroup_from_row, ret);
}

int store_vmgroup_find_overlap(Store *s, uint32_t first, uint32_t last, uint32_t except_id, VmGroupRec *ret) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_VMG_OVERLAP, first, NULL);
        if (st) {
                sqlite3_bind_int64(st, 2, last);
                sqlite3_bind_int64(st, 3, except_id);
        }
        return store_one_row(st, vmgroup_from_row, ret);
}

static void ip_to_string(uint32_t ip, char buf[16]) {
        snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

json_t *vmgroup_to_json(const VmGroupRec *g) {
        char a[16], b[16], range[40];
        ip_to_string(g->first, a);
        ip_to_string(g->last, b);
        snprintf(range, sizeof(range), "%s-%s", a, b);
        return json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:b}", "id", (json_int_t)g->id, "name", g->name,
                         "iprange", range, "first", a, "last", b, "max_mem", (json_int_t)g->max_mem, "max_vcpus",
                         (json_int_t)g->max_vcpus, "max_walltime", (json_int_t)g->max_walltime_s, "ipv6", g->ipv6);
}

int store_vmgroup_list(Store *s, json_t **ret) {
        sqlite3_stmt *st = store_stmt(s, SQL_VMG_LIST, NULL);
        if (!st)
                return -EIO;
        json_t *arr = json_array();
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                VmGroupRec g;
                vmgroup_from_row(st, &g);
                json_array_append_new(arr, vmgroup_to_json(&g));
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
                json_decref(arr);
                return store_step_error(s, rc, "vm group list", NULL);
        }
        *ret = arr;
        return 0;
}

int store_vmgroup_count_vms(Store *s, uint32_t id, uint32_t *ret) {
        return count_query(s, SQL_VMG_COUNT_VMS, id, ret);
}

/* ---- VMs ---- */

static void bind_vm(sqlite3_stmt *st, const VmRec *v) {
        sqlite3_bind_int64(st, 1, v->id);
        sqlite3_bind_text(st, 2, v->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, v->owner);
        sqlite3_bind_int64(st, 4, v->vm_group);
        sqlite3_bind_int(st, 5, v->derivable);
        if (v->base)
                sqlite3_bind_int64(st, 6, v->base);
        else
                sqlite3_bind_null(st, 6);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)v->mem);
        sqlite3_bind_int64(st, 8, v->vcpus);
        sqlite3_bind_text(st, 9, v->desc, -1, SQLITE_STATIC);
        store_bind_text_or_null(st, 10, v->kernel);
        store_bind_text_or_null(st, 11, v->initrd);
        store_bind_text_or_null(st, 12, v->cmdline);
        sqlite3_bind_int(st, 14, v->force_isolated);
}

int store_vm_insert(Store *s, VmRec *v, Error *err) {
        if (v->id == 0 && next_id(s, SQL_VM_NEXT_ID, &v->id, err) < 0)
                return err ? err->code : -EIO;
        sqlite3_stmt *st = store_stmt(s, SQL_VM_INSERT, err);
        if (!st)
                return -EIO;
        char now[32];
        store_now(now);
        bind_vm(st, v);
        sqlite3_bind_text(st, 13, now, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE && sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_UNIQUE)
                return error_set(err, -EEXIST, "you already have a vm named '%s'", v->name);
        return store_step_error(s, rc, "vm", err);
}

int store_vm_update(Store *s, const VmRec *v, Error *err) {
        sqlite3_stmt *st = store_stmt(s, SQL_VM_UPDATE, err);
        if (!st)
                return -EIO;
        bind_vm(st, v);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE && sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_UNIQUE)
                return error_set(err, -EEXIST, "the owner already has a vm named '%s'", v->name);
        return store_step_error(s, rc, "vm", err);
}

int store_vm_delete(Store *s, uint32_t id, Error *err) {
        return store_exec_id(s, SQL_VM_DELETE, id, "vm", err);
}

static void vm_from_row(sqlite3_stmt *st, void *ret) {
        VmRec *v = ret;
        memset(v, 0, sizeof(*v));
        v->id = (uint32_t)sqlite3_column_int64(st, 0);
        store_copy_text(v->name, sizeof(v->name), st, 1);
        v->owner = (uint32_t)sqlite3_column_int64(st, 2);
        v->vm_group = (uint32_t)sqlite3_column_int64(st, 3);
        v->derivable = sqlite3_column_int(st, 4);
        v->base = (uint32_t)sqlite3_column_int64(st, 5);
        v->mem = (uint64_t)sqlite3_column_int64(st, 6);
        v->vcpus = (uint32_t)sqlite3_column_int64(st, 7);
        store_copy_text(v->desc, sizeof(v->desc), st, 8);
        store_copy_text(v->kernel, sizeof(v->kernel), st, 9);
        store_copy_text(v->initrd, sizeof(v->initrd), st, 10);
        store_copy_text(v->cmdline, sizeof(v->cmdline), st, 11);
        v->force_isolated = sqlite3_column_int(st, 12);
}


int store_vm_get(Store *s, uint32_t id, VmRec *ret) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_VM_GET, id, NULL);
        return store_one_row(st, vm_from_row, ret);
}

int store_vm_get_by_owner_name(Store *s, uint32_t owner, const char *name, VmRec *ret) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_VM_GET_OWNER_NAME, owner, NULL);
        if (!st)
                return -EIO;
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        return store_one_row(st, vm_from_row, ret);
}

int store_vm_ids_by_name(Store *s, const char *name, uint32_t **ret, size_t *ret_n) {
        sqlite3_stmt *st = store_stmt_text(s, SQL_VM_IDS_BY_NAME, name, NULL);
        if (!st)
                return -EIO;
        return store_collect_u32(s, st, ret, ret_n);
}

int store_vm_count_derived(Store *s, uint32_t base, uint32_t *ret) {
        return count_query(s, SQL_VM_COUNT_DERIVED, base, ret);
}

int store_vm_count_derived_by(Store *s, uint32_t base, uint32_t owner, uint32_t *ret) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_VM_COUNT_DERIVED_BY, base, NULL);
        if (st)
                sqlite3_bind_int64(st, 2, owner);
        return store_one_u32(st, ret);
}

int store_vm_to_json(Store *s, const VmRec *v, json_t **ret) {
        DiscRec *discs = NULL;
        size_t n = 0;
        int r = store_disc_list(s, v->id, &discs, &n);
        if (r < 0)
                return r;
        json_t *jd = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(jd, json_pack("{s:s, s:I, s:I, s:I}", "path", discs[i].path, "size",
                                                    (json_int_t)discs[i].size, "allocated",
                                                    (json_int_t)discs[i].allocated, "backing",
                                                    (json_int_t)discs[i].backing));
        free(discs);
        *ret = json_pack("{s:I, s:s, s:I, s:I, s:b, s:I, s:I, s:I, s:s, s:o, s:s, s:s, s:s, s:b}", "id", (json_int_t)v->id,
                         "name", v->name, "owner", (json_int_t)v->owner, "vmgroup", (json_int_t)v->vm_group,
                         "derivable", v->derivable, "base", (json_int_t)v->base, "mem", (json_int_t)v->mem, "vcpus",
                         (json_int_t)v->vcpus, "desc", v->desc, "discs", jd, "kernel", v->kernel, "initrd",
                         v->initrd, "cmdline", v->cmdline, "force_isolated", v->force_isolated);
        return 0;
}

static char *groups_json(const uint32_t *groups, size_t n) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, json_integer(groups[i]));
        char *s = json_dumps(a, JSON_COMPACT);
        json_decref(a);
        return s;
}

int store_vm_list(Store *s, const uint32_t *visible_to_uid, const uint32_t *groups, size_t n_groups, json_t **ret) {
        sqlite3_stmt *st = store_stmt(s, SQL_VM_LIST, NULL);
        if (!st)
                return -EIO;
        _cleanup_free_ char *gj = groups_json(groups, n_groups);
        store_bind_opt_u32(st, 1, visible_to_uid);
        sqlite3_bind_text(st, 2, gj, -1, SQLITE_STATIC);
        VmRec *vms = NULL;
        size_t n = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                vms = xrealloc(vms, (n + 1) * sizeof(VmRec));
                vm_from_row(st, &vms[n++]);
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
                free(vms);
                return store_step_error(s, rc, "vm list", NULL);
        }
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) {
                json_t *j;
                int r = store_vm_to_json(s, &vms[i], &j);
                if (r < 0) {
                        free(vms);
                        json_decref(arr);
                        return r;
                }
                json_array_append_new(arr, j);
        }
        free(vms);
        *ret = arr;
        return 0;
}

/* ---- discs ---- */

int store_disc_insert(Store *s, DiscRec *d, Error *err) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_DISC_INSERT, d->vm, err);
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 2, d->idx);
        sqlite3_bind_text(st, 3, d->path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)d->size);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)d->allocated);
        if (d->backing)
                sqlite3_bind_int64(st, 6, d->backing);
        else
                sqlite3_bind_null(st, 6);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)d->dev);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)d->ino);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE && sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_UNIQUE)
                return error_set(err, -EEXIST, "disc %s already belongs to a vm", d->path);
        int r = store_step_error(s, rc, "disc", err);
        if (r >= 0)
                d->id = (uint32_t)sqlite3_last_insert_rowid(s->db);
        return r;
}

static void disc_from_row(sqlite3_stmt *st, void *rec) {
        DiscRec *d = rec;
        memset(d, 0, sizeof(*d));
        d->id = (uint32_t)sqlite3_column_int64(st, 0);
        d->vm = (uint32_t)sqlite3_column_int64(st, 1);
        d->idx = (uint32_t)sqlite3_column_int64(st, 2);
        store_copy_text(d->path, sizeof(d->path), st, 3);
        d->size = (uint64_t)sqlite3_column_int64(st, 4);
        d->allocated = (uint64_t)sqlite3_column_int64(st, 5);
        d->backing = (uint32_t)sqlite3_column_int64(st, 6);
        d->dev = (uint64_t)sqlite3_column_int64(st, 7);
        d->ino = (uint64_t)sqlite3_column_int64(st, 8);
}

int store_disc_get(Store *s, uint32_t id, DiscRec *ret) {
        return store_one_row(store_stmt_id(s, SQL_DISC_GET, id, NULL), disc_from_row, ret);
}

int store_disc_list(Store *s, uint32_t vm, DiscRec **ret, size_t *ret_n) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_DISC_LIST, vm, NULL);
        if (!st)
                return -EIO;
        DiscRec *v = NULL;
        size_t n = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                v = xrealloc(v, (n + 1) * sizeof(DiscRec));
                disc_from_row(st, &v[n++]);
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
                free(v);
                return store_step_error(s, rc, "disc list", NULL);
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int store_disc_set_allocated(Store *s, uint32_t id, uint64_t allocated, Error *err) {
        sqlite3_stmt *st = store_stmt_id(s, SQL_DISC_SET_ALLOCATED, id, err);
        if (!st)
                return -EIO;
        sqlite3_bind_int64(st, 2, (sqlite3_int64)allocated);
        return store_step_done(s, st, "disc", err);
}

int store_storage_used(Store *s, uint32_t uid, uint64_t *ret) {
        int64_t v;
        int r = store_one_int(store_stmt_id(s, SQL_STORAGE_USED, uid, NULL), &v);
        if (r == 0)
                *ret = (uint64_t)v;
        return r;
}

int store_disc_all(Store *s, DiscRec **ret, size_t *ret_n) {
        sqlite3_stmt *st = store_stmt(s, SQL_DISC_ALL_PATHS, NULL);
        if (!st)
                return -EIO;
        DiscRec *v = NULL;
        size_t n = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                v = xrealloc(v, (n + 1) * sizeof(DiscRec));
                memset(&v[n], 0, sizeof(DiscRec));
                v[n].id = (uint32_t)sqlite3_column_int64(st, 0);
                v[n].vm = (uint32_t)sqlite3_column_int64(st, 1);
                store_copy_text(v[n].path, sizeof(v[n].path), st, 2);
                n++;
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
                free(v);
                return store_step_error(s, rc, "disc list", NULL);
        }
        *ret = v;
        *ret_n = n;
        return 0;
}
