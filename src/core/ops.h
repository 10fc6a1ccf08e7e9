/* ops.h - shared by the controller's operation files (ops_*.c) only. */
#pragma once

#include "basic/jsonutil.h"
#include "core/authz.h"
#include "core/controller.h"

typedef struct Caller {
        uint32_t uid;
        bool known; /* has a users row (never root) */
        bool admin; /* root, or a member of group 0 */
        UserRec user;
        uint32_t *groups;
        size_t n_groups;
} Caller;

/* What an operation did besides its data: the object, for the audit log
 * of a mutating one; an fd its answer carries (console.redeem's socket,
 * -1: none; closed when the operation fails). */
typedef struct OpAudit {
        char object[128];
        int fd;
} OpAudit;

typedef int (*op_fn)(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                     Error *err);

enum {
        OP_MUTATES = 1 << 0,    /* runs in a write transaction, audited */
        OP_ADMIN = 1 << 1,      /* admins only */
        OP_ANYONE = 1 << 2,     /* also unknown uids and before init */
};

/* An operation whose work may block (qemu-img on a user's file) runs in
 * three steps (see controller_start): plan in the loop, reading only;
 * run in a worker process, writing its outcome as text; finish in the loop,
 * in the operation's transaction, from the plan and that outcome (which
 * may say the run failed). */
typedef struct OpJobDef {
        int (*plan)(Controller *c, const Caller *who, const json_t *args, void **ret_plan, Error *err);
        void (*run)(void *plan, FILE *out);
        int (*finish)(Controller *c, const Caller *who, void *plan, const char *outcome, json_t **ret,
                      OpAudit *audit, Error *err);
        void (*free)(void *plan);
} OpJobDef;

typedef struct OpDef {
        const char *name;
        op_fn fn;                /* NULL when job is set */
        unsigned flags;
        const char *const *keys; /* allowed argument keys, NULL-terminated */
        const OpJobDef *job;
} OpDef;

extern const OpDef ops_users[], ops_vmgroups[], ops_vms[], ops_perms[], ops_instances[], ops_console[];

extern const OpDef ops_exam[]; /* ops_exam.c (the exam clock shares ops_exam.h) */
extern const OpDef ops_exam_selftest[]; /* ops_exam_selftest.c */

/* ops_console.c: "console_open" and "console_input_at" (unix seconds or
 * null) of an instance, or of a vm's newest instance, set in o (nothing
 * when the controller keeps no console activity). */
void console_activity_put(Controller *c, uint32_t instance, json_t *o);
void console_activity_put_vm(Controller *c, uint32_t vm, json_t *o);

/* Resolvers: a reference (id or name) in args[key] to a record, with
 * "no such ..." errors naming what was asked for. */
int resolve_user(Controller *c, const json_t *args, const char *key, UserRec *ret, Error *err);
int resolve_group(Controller *c, const json_t *args, const char *key, GroupRec *ret, Error *err);
int resolve_vmgroup(Controller *c, const json_t *args, const char *key, VmGroupRec *ret, Error *err);
/* VMs: an id, or a name: the caller's own VM of that name, else the one
 * admin-owned VM of that name (other users' VMs by id only). A VM the
 * caller may not see is refused with the paper's "You don't have
 * permission to VERB this vm" (resolve_vm: "use"). */
int resolve_vm_for(Controller *c, const Caller *who, const json_t *args, const char *key, const char *verb,
                   VmRec *ret, Error *err);
int resolve_vm(Controller *c, const Caller *who, const json_t *args, const char *key, VmRec *ret, Error *err);

/* The caller uid is (its user row and groups, if any); caller_clear frees
 * what caller_load took. The exam clock acts as a student this way. */
int caller_load(Controller *c, uint32_t uid, Caller *ret);
void caller_clear(Caller *c);

/* vm.run of vm, which the caller resolved and exam_check_vm_use allowed
 * (ops_instances.c): rights, caps, quotas, address, the launch. The exam
 * clock boots a --warm exam's VMs through it before the exam starts. */
int instance_run_vm(Controller *c, const Caller *who, const VmRec *vm, const json_t *args, InstanceRec *ret,
                    Error *err);

Rights caller_rights(Controller *c, const Caller *who, const VmRec *vm);
AuthzSubject caller_subject(const Caller *who);
bool caller_in_group(const Caller *who, uint32_t gid);

/* An instance: {instance: N}, or {vm: REF} (resolve_vm_for with verb):
 * the caller's one instance of that vm (an admin's: its only one); "vm 'X'
 * is not running", "vm 'X' has N instances: give the instance id". How the
 * operations differ (ops_instances.c: instance.*; ops_console.c:
 * console.open): */
typedef struct InstanceLookup {
        const char *verb;    /* the paper's refusal of the vm: "use", "open the console of" */
        const char *refused; /* NULL: another's instance is as if gone (ENOENT, or why it
                              * ended); else EPERM with this message, also for a vm with
                              * only others' instances (and a gone one is "no such instance") */
        bool skip_reserved;  /* a vm's reservations do not count */
} InstanceLookup;
int resolve_instance(Controller *c, const Caller *who, const json_t *args, const InstanceLookup *how,
                     InstanceRec *ret, Error *err);

/* Optional size / count arguments with range checks. */
int arg_size(const json_t *args, const char *key, uint64_t *inout, Error *err);
