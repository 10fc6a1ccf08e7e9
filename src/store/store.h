/* store.h - the one place for SQL. vmbatchd's state lives in one SQLite
 * database (WAL), written only by the controller. Every statement the
 * project runs is in this directory; callers see typed records, and lists
 * come back as JSON arrays ready for the wire.
 *
 * Transactions: store_begin() takes the write lock at once (BEGIN
 * IMMEDIATE) so a check-then-insert (quotas, IP allocation) is atomic. */
#pragma once

#include <jansson.h>
#include <limits.h>

#include "basic/error.h"

#define STORE_NAME_MAX 64
#define STORE_SCHEMA_VERSION 8

typedef struct Store Store;

typedef struct UserRec {
        uint32_t uid;
        char name[STORE_NAME_MAX];
        char stordir[PATH_MAX];
        uint32_t max_running;
        uint64_t max_storage;
} UserRec;

typedef struct GroupRec {
        uint32_t id;
        char name[STORE_NAME_MAX];
} GroupRec;

typedef struct VmGroupRec {
        uint32_t id;
        char name[STORE_NAME_MAX];
        uint32_t first, last; /* IPv4, host byte order */
        /* what one run of a VM of the group may have (vm.run); 0: no cap */
        uint64_t max_mem;        /* bytes */
        uint32_t max_vcpus;
        uint32_t max_walltime_s; /* the job's time limit; a run without one gets this */
        bool ipv6;               /* its VMs may use global/ULA IPv6 (with their own interface identifier) */
} VmGroupRec;

typedef struct VmRec {
        uint32_t id;
        char name[STORE_NAME_MAX];
        uint32_t owner;
        uint32_t vm_group;
        bool derivable;
        uint32_t base; /* 0: none */
        uint64_t mem;  /* bytes */
        uint32_t vcpus;
        char desc[256];
        char kernel[PATH_MAX];
        char initrd[PATH_MAX];
        char cmdline[1024];
        bool force_isolated; /* inherited from a forced template: binds every user but admins */
} VmRec;

typedef struct DiscRec {
        uint32_t id;
        uint32_t vm;
        uint32_t idx;
        char path[PATH_MAX];
        uint64_t size;      /* virtual size, bytes */
        uint64_t allocated; /* bytes the file occupies on disc (st_blocks * 512) */
        uint32_t backing;   /* disc id of the backing file, 0: none */
        uint64_t dev, ino;  /* the file vmbatch made (st_dev, st_ino); 0: not recorded */
} DiscRec;

enum subject_type { SUBJECT_USER, SUBJECT_GROUP, _SUBJECT_MAX };
enum object_type { OBJECT_VM, OBJECT_VMGROUP, _OBJECT_MAX };

typedef struct Grant {
        enum subject_type subject_type;
        uint32_t subject;
        enum object_type object_type;
        uint32_t object;
        bool run, modify, derive, force_isolated;
} Grant;

#include "basic/instance-types.h"

typedef struct InstanceRec {
        uint32_t id;
        uint32_t vm;
        uint32_t uid;
        uint32_t ip;
        char mac[18];
        bool isolated;
        bool ipv6; /* its VM group enabled IPv6 when it was run (the node's filters) */
        InstanceState state;
        char backend[16];
        char job_id[64];
        char exehost[256];
        int32_t vnc_display; /* -1: none yet */
        char tap[16];
        char vnc_password[16];
        char cdrom[PATH_MAX]; /* install medium for this boot, "" = none */
        uint32_t walltime_s;  /* the job's time limit, 0 = none (only at launch, not stored) */
        uint64_t mem;
        uint32_t vcpus;
        char created[32];
        char started[32];
} InstanceRec;

const char *subject_type_to_string(enum subject_type t);
int subject_type_from_string(const char *s);
const char *object_type_to_string(enum object_type t);
int object_type_from_string(const char *s);

/* path ":memory:" gives a private in-memory database (unit tests). */
int store_open(const char *path, Store **ret, Error *err);
void store_close(Store *s);

int store_begin(Store *s, Error *err);
int store_commit(Store *s, Error *err);
void store_rollback(Store *s);

/* meta: "initialized", "admin_uid" */
int store_meta_get(Store *s, const char *key, char *buf, size_t len); /* -ENOENT */

/* A failed store_*_get (r < 0) as the caller's error: -ENOENT with the
 * message given (what is not there); any other error (-EIO: the database
 * failed) as itself with sqlite's word for it, never turned into "gone". */
int store_get_error(Store *s, int r, Error *err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int store_meta_set(Store *s, const char *key, const char *value, Error *err);

/* users */
int store_user_insert(Store *s, const UserRec *u, Error *err);
int store_user_update(Store *s, const UserRec *u, Error *err);
int store_user_delete(Store *s, uint32_t uid, Error *err);
int store_user_get(Store *s, uint32_t uid, UserRec *ret);                 /* -ENOENT */
int store_user_get_by_name(Store *s, const char *name, UserRec *ret);     /* -ENOENT */
int store_user_groups(Store *s, uint32_t uid, uint32_t **ret, size_t *ret_n);
int store_user_list(Store *s, const uint32_t *only_uid, json_t **ret);
int store_user_count_vms(Store *s, uint32_t uid, uint32_t *ret);

/* user groups and memberships */
int store_group_insert(Store *s, GroupRec *g, bool pick_id, Error *err); /* pick_id: next free id */
int store_group_rename(Store *s, uint32_t id, const char *name, Error *err);
int store_group_delete(Store *s, uint32_t id, Error *err);
int store_group_get(Store *s, uint32_t id, GroupRec *ret);
int store_group_get_by_name(Store *s, const char *name, GroupRec *ret);
int store_group_list(Store *s, const uint32_t *only_member, json_t **ret);
int store_membership_add(Store *s, uint32_t uid, uint32_t gid, Error *err);
int store_membership_remove(Store *s, uint32_t uid, uint32_t gid, Error *err);

/* VM groups */
int store_vmgroup_insert(Store *s, VmGroupRec *g, Error *err); /* g->id 0: next free id */
int store_vmgroup_update(Store *s, const VmGroupRec *g, Error *err);
int store_vmgroup_delete(Store *s, uint32_t id, Error *err);
int store_vmgroup_get(Store *s, uint32_t id, VmGroupRec *ret);
int store_vmgroup_get_by_name(Store *s, const char *name, VmGroupRec *ret);
/* First other group whose range overlaps [first, last] (-ENOENT: none). */
int store_vmgroup_find_overlap(Store *s, uint32_t first, uint32_t last, uint32_t except_id, VmGroupRec *ret);
int store_vmgroup_list(Store *s, json_t **ret);
/* {id, name, iprange, first, last, max_mem, max_vcpus, max_walltime, ipv6} */
json_t *vmgroup_to_json(const VmGroupRec *g);
int store_vmgroup_count_vms(Store *s, uint32_t id, uint32_t *ret);

/* VMs and discs */
int store_vm_insert(Store *s, VmRec *v, Error *err); /* v->id 0: next id (from 1001) */
int store_vm_update(Store *s, const VmRec *v, Error *err);
int store_vm_delete(Store *s, uint32_t id, Error *err);
int store_vm_get(Store *s, uint32_t id, VmRec *ret);
int store_vm_get_by_owner_name(Store *s, uint32_t owner, const char *name, VmRec *ret);
/* VM ids with this name (any owner); *ret malloc'd. */
int store_vm_ids_by_name(Store *s, const char *name, uint32_t **ret, size_t *ret_n);
int store_vm_count_derived(Store *s, uint32_t base, uint32_t *ret);
int store_vm_count_derived_by(Store *s, uint32_t base, uint32_t owner, uint32_t *ret);
/* Every VM as JSON (with discs); visible_to: NULL = all, else VMs that uid
 * owns or that a grant to uid or one of groups names (directly or by group). */
int store_vm_list(Store *s, const uint32_t *visible_to_uid, const uint32_t *groups, size_t n_groups, json_t **ret);
int store_vm_to_json(Store *s, const VmRec *v, json_t **ret);

int store_disc_insert(Store *s, DiscRec *d, Error *err);
int store_disc_get(Store *s, uint32_t id, DiscRec *ret); /* -ENOENT */
int store_disc_list(Store *s, uint32_t vm, DiscRec **ret, size_t *ret_n);
/* Every disc (id, vm, path only). */
int store_disc_all(Store *s, DiscRec **ret, size_t *ret_n);
int store_disc_set_allocated(Store *s, uint32_t id, uint64_t allocated, Error *err);
int store_storage_used(Store *s, uint32_t uid, uint64_t *ret);

/* permissions */
int store_grant_get(Store *s, enum subject_type st, uint32_t subject, enum object_type ot, uint32_t object,
                    Grant *ret);
int store_grant_put(Store *s, const Grant *g, Error *err); /* insert or replace */
int store_grant_delete(Store *s, enum subject_type st, uint32_t subject, enum object_type ot, uint32_t object,
                       Error *err);
/* Grants that could match (uid or groups) x (vm or vm_group). */
int store_grants_matching(Store *s, uint32_t uid, const uint32_t *groups, size_t n_groups, uint32_t vm,
                          uint32_t vm_group, Grant **ret, size_t *ret_n);
int store_grants_count_for_subject(Store *s, enum subject_type st, uint32_t subject, uint32_t *ret);
int store_grants_delete_for_object(Store *s, enum object_type ot, uint32_t object, Error *err);
/* visible_to NULL: all; else grants to uid, to its groups, or on VMs it owns */
int store_grant_list(Store *s, const uint32_t *visible_to_uid, const uint32_t *groups, size_t n_groups,
                     json_t **ret);
json_t *grant_to_json(const Grant *g);

/* instances (the paper's Mapping table) */
int store_instance_insert(Store *s, InstanceRec *i, Error *err);
int store_instance_update(Store *s, const InstanceRec *i, Error *err);
int store_instance_delete(Store *s, uint32_t id, Error *err);
int store_instance_get(Store *s, uint32_t id, InstanceRec *ret);
int store_instance_list(Store *s, const uint32_t *only_uid, json_t **ret);
/* every instance id, for reconciliation */
int store_instance_ids_all(Store *s, uint32_t **ret, size_t *ret_n);
int store_instance_ids_for_vm(Store *s, uint32_t vm, uint32_t **ret, size_t *ret_n);
int store_instance_count_for_user(Store *s, uint32_t uid, uint32_t *ret);
/* Sorted IPs in [first, last] held by instances, and every MAC in use. */
int store_instance_used_ips(Store *s, uint32_t first, uint32_t last, uint32_t **ret, size_t *ret_n);
int store_instance_mac_in_use(Store *s, const char *mac, bool *ret);
json_t *instance_to_json(const InstanceRec *i);
/* "YYYY-MM-DD HH:MM:SS" UTC, the format of every time in the store */
void store_now_utc(char *buf, size_t len);

/* audit log: append-only (triggers refuse UPDATE, and DELETE of entries
 * younger than a day) */
int store_audit(Store *s, uint32_t uid, const char *op, const char *object, json_t *detail /* borrowed */,
                Error *err);
int store_audit_list(Store *s, uint32_t limit, json_t **ret);
/* Delete the entries older than keep_days (at least 1); 0 keeps all. */
int store_audit_expire(Store *s, uint32_t keep_days, Error *err);
/* The detail of the newest audit row of op on object; -ENOENT if none. */
int store_audit_last_detail(Store *s, const char *op, const char *object, json_t **ret);
