/* ops.c - request dispatch, the caller's identity, resolvers, and the
 * operations that belong to no entity (ping, init, audit). */
#include <pwd.h>
#include <stdio.h>

#include "basic/log.h"
#include "core/ipam.h"
#include "core/ops.h"
#include "build-config.h"

void caller_clear(Caller *c) {
        free(c->groups);
        c->groups = NULL;
}

int caller_load(Controller *c, uint32_t uid, Caller *ret) {
        memset(ret, 0, sizeof(*ret));
        ret->uid = uid;
        /* root is never a vmbatch user (a row from an old init is ignored):
         * it administers, but owns and runs nothing */
        if (uid != 0 && store_user_get(c->store, uid, &ret->user) == 0) {
                ret->known = true;
                int r = store_user_groups(c->store, uid, &ret->groups, &ret->n_groups);
                if (r < 0)
                        return r;
        }
        ret->admin = uid == 0 || caller_in_group(ret, GROUP_ADMIN);
        return 0;
}

bool caller_in_group(const Caller *who, uint32_t gid) {
        for (size_t i = 0; i < who->n_groups; i++)
                if (who->groups[i] == gid)
                        return true;
        return false;
}

AuthzSubject caller_subject(const Caller *who) {
        return (AuthzSubject){.uid = who->uid, .groups = who->groups, .n_groups = who->n_groups, .admin = who->admin};
}

Rights caller_rights(Controller *c, const Caller *who, const VmRec *vm) {
        AuthzSubject s = caller_subject(who);
        AuthzObject o = {.vm = vm->id, .vm_group = vm->vm_group};
        Grant *g = NULL;
        size_t n = 0;
        if (store_grants_matching(c->store, who->uid, who->groups, who->n_groups, vm->id, vm->vm_group, &g, &n) < 0)
                return (Rights){0};
        Rights r = authz_rights(&s, &o, g, n);
        free(g);
        /* a derivative of a forced template stays forced for whoever runs it */
        if (vm->force_isolated && !who->admin)
                r.force_isolated = true;
        return r;
}

/* The part every resolver shares: read the reference, look it up by id or
 * by name, and name what was asked for when it is not there. */
typedef int (*lookup_id_fn)(Store *s, uint32_t id, void *ret);
typedef int (*lookup_name_fn)(Store *s, const char *name, void *ret);

/* args' reference key: an id or a name; absent is "missing KEY". */
static int need_ref(const json_t *args, const char *key, int64_t *id, const char **name, Error *err) {
        int r = json_get_ref(args, key, id, name, err);
        return r == -ENOENT ? error_set(err, -EINVAL, "missing %s", key) : r;
}

static int resolve_ref(Controller *c, const json_t *args, const char *key, const char *what, lookup_id_fn by_id,
                       lookup_name_fn by_name, void *ret, Error *err) {
        int64_t id;
        const char *name;
        int r = need_ref(args, key, &id, &name, err);
        if (r < 0)
                return r;
        r = name ? by_name(c->store, name, ret) : by_id(c->store, (uint32_t)id, ret);
        if (r == -ENOENT)
                return name ? error_set(err, -ENOENT, "no such %s '%s'", what, name)
                            : error_set(err, -ENOENT, "no such %s with %s %lld", what,
                                        streq(what, "user") ? "uid" : "id", (long long)id);
        return r;
}

/* typed lookups behind the untyped resolver, without casting functions */
#define DEFINE_LOOKUPS(type, rec)                                                                            \
        static int type##_by_id(Store *s, uint32_t id, void *ret) { return store_##type##_get(s, id, (rec *)ret); } \
        static int type##_by_name(Store *s, const char *name, void *ret) {                                   \
                return store_##type##_get_by_name(s, name, (rec *)ret);                                      \
        }
DEFINE_LOOKUPS(user, UserRec)
DEFINE_LOOKUPS(group, GroupRec)
DEFINE_LOOKUPS(vmgroup, VmGroupRec)

int resolve_user(Controller *c, const json_t *args, const char *key, UserRec *ret, Error *err) {
        return resolve_ref(c, args, key, "user", user_by_id, user_by_name, ret, err);
}

int resolve_group(Controller *c, const json_t *args, const char *key, GroupRec *ret, Error *err) {
        return resolve_ref(c, args, key, "user group", group_by_id, group_by_name, ret, err);
}

int resolve_vmgroup(Controller *c, const json_t *args, const char *key, VmGroupRec *ret, Error *err) {
        return resolve_ref(c, args, key, "vm group", vmgroup_by_id, vmgroup_by_name, ret, err);
}

static bool vm_visible(Controller *c, const Caller *who, const VmRec *vm) {
        if (who->admin || vm->owner == who->uid)
                return true;
        Rights r = caller_rights(c, who, vm);
        return r.run || r.modify || r.derive;
}

/* root (a legacy owner) or a member of the admin group */
static bool owner_is_admin(Controller *c, uint32_t owner) {
        _cleanup_free_ uint32_t *groups = NULL;
        size_t n = 0;
        if (owner == 0)
                return true;
        if (store_user_groups(c->store, owner, &groups, &n) < 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (groups[i] == GROUP_ADMIN)
                        return true;
        return false;
}

/* An existing vm: the caller's to use, or the paper's refusal. */
static int vm_found(Controller *c, const Caller *who, const char *verb, VmRec *vm, Error *err) {
        if (!vm_visible(c, who, vm))
                return error_set(err, -EPERM, "You don't have permission to %s this vm", verb);
        return 0;
}

static void append_id(char *list, size_t size, uint32_t id) {
        size_t l = strlen(list);
        snprintf(list + l, size - l, "%s%u", l ? ", " : "", id);
}

/* A name: the caller's own vm of that name, else the one admin-owned vm of
 * that name. Other users' vms (whatever they grant) are reached by id only,
 * so a student cannot steer another's --vm or --base by naming a vm like
 * the teacher's. */
static int resolve_vm_name(Controller *c, const Caller *who, const char *name, const char *verb, VmRec *ret,
                           Error *err) {
        if (store_vm_get_by_owner_name(c->store, who->uid, name, ret) == 0)
                return 0;
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0;
        int r = store_vm_ids_by_name(c->store, name, &ids, &n);
        if (r < 0)
                return error_set(err, r, "looking up vm '%s' failed", name);
        size_t admins = 0;
        char admin_ids[128] = "", other_ids[128] = "";
        for (size_t i = 0; i < n; i++) {
                VmRec v;
                if (store_vm_get(c->store, ids[i], &v) < 0)
                        continue;
                bool admin = owner_is_admin(c, v.owner);
                if (!admin && !vm_visible(c, who, &v))
                        continue; /* another student's: not even its id is told */
                if (admin && admins++ == 0)
                        *ret = v;
                append_id(admin ? admin_ids : other_ids, sizeof(admin_ids), v.id);
        }
        if (admins > 1)
                return error_set(err, -EINVAL, "vm name '%s' is ambiguous among the admins' vms: use its id (%s)", name,
                                 admin_ids);
        if (admins == 1)
                return vm_found(c, who, verb, ret, err);
        if (*other_ids)
                return error_set(err, -ENOENT,
                                 "no vm of yours or of an admin is named '%s': give another user's vm by its id (%s)",
                                 name, other_ids);
        return error_set(err, -ENOENT, "no such vm '%s'", name);
}

int resolve_vm_for(Controller *c, const Caller *who, const json_t *args, const char *key, const char *verb,
                   VmRec *ret, Error *err) {
        int64_t id;
        const char *name;
        int r = need_ref(args, key, &id, &name, err);
        if (r < 0)
                return r;
        if (name)
                return resolve_vm_name(c, who, name, verb, ret, err);
        r = store_vm_get(c->store, (uint32_t)id, ret);
        if (r == -ENOENT)
                return error_set(err, -ENOENT, "no such vm with id %lld", (long long)id);
        return r < 0 ? store_get_error(c->store, r, err, "vm %lld", (long long)id) : vm_found(c, who, verb, ret, err);
}

int resolve_vm(Controller *c, const Caller *who, const json_t *args, const char *key, VmRec *ret, Error *err) {
        return resolve_vm_for(c, who, args, key, "use", ret, err);
}

int arg_size(const json_t *args, const char *key, uint64_t *inout, Error *err) {
        uint64_t v;
        int r = json_get_u64(args, key, &v, err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        *inout = v;
        return 1;
}

/* ---- ping, init, audit ---- */

static int op_ping(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit, Error *err) {
        char buf[8];
        bool init = store_meta_get(c->store, "initialized", buf, sizeof(buf)) == 0;
        *ret = json_pack("{s:s, s:I, s:s?, s:b, s:b, s:s}", "version", VMBATCH_VERSION, "uid", (json_int_t)who->uid,
                         "user", who->known ? who->user.name : NULL, "admin", who->admin, "initialized", init,
                         "database", c->settings->database);
        return 0;
}

/* The account admin_user names: a normal one, never uid 0 (an admin runs
 * VMs, and root never runs qemu). */
static int admin_uid_of(const Settings *s, uint32_t *ret, Error *err) {
        if (isempty(s->admin_user))
                return error_set(err, -EINVAL, "admin_user is not set: name the normal account that administers "
                                               "vmbatch in vmbatch.conf (admin_user = NAME; not root)");
        struct passwd *pw = getpwnam(s->admin_user);
        if (!pw)
                return error_set(err, -ENOENT, "configured admin_user '%s' is not a system user", s->admin_user);
        if (pw->pw_uid == 0)
                return error_set(err, -EINVAL, "admin_user = %s is uid 0, and root never runs vms: set admin_user in "
                                               "vmbatch.conf to a normal account", s->admin_user);
        *ret = pw->pw_uid;
        return 0;
}

/* "run 'vmapp --init' as ..." */
static const char *admin_name(const Settings *s) {
        return isempty(s->admin_user) ? "the admin_user of vmbatch.conf" : s->admin_user;
}

int controller_init(Controller *c, uint32_t caller_uid, json_t **ret_data, Error *err) {
        char buf[8];
        if (store_meta_get(c->store, "initialized", buf, sizeof(buf)) == 0)
                return error_set(err, -EEXIST, "the database %s is already initialized", c->settings->database);
        uint32_t admin_uid = 0;
        int r = admin_uid_of(c->settings, &admin_uid, err);
        if (r < 0)
                return r;
        if (caller_uid != 0 && caller_uid != admin_uid)
                return error_set(err, -EPERM, "only the configured admin (%s) or root can initialize vmbatch",
                                 c->settings->admin_user);
        struct passwd *pw = getpwuid(admin_uid);
        UserRec admin = {.uid = admin_uid, .max_running = 1000, .max_storage = 133ULL << 30};
        snprintf(admin.name, sizeof(admin.name), "%s", pw->pw_name);
        snprintf(admin.stordir, sizeof(admin.stordir), "%s",
                 isempty(c->settings->admin_stordir) ? pw->pw_dir : c->settings->admin_stordir);
        GroupRec g0 = {.id = GROUP_ADMIN, .name = "admin"}, g1 = {.id = GROUP_ALL_USERS, .name = "all_users"};
        VmGroupRec all = {.id = VMGROUP_ALL_VMS, .name = "all_vms"};
        ipv4_parse("192.168.0.1", &all.first);
        ipv4_parse("192.168.0.254", &all.last);
        if ((r = store_group_insert(c->store, &g0, false, err)) < 0 || (r = store_group_insert(c->store, &g1, false, err)) < 0 ||
            (r = store_vmgroup_insert(c->store, &all, err)) < 0 || (r = store_user_insert(c->store, &admin, err)) < 0 ||
            (r = store_membership_add(c->store, admin.uid, GROUP_ADMIN, err)) < 0 ||
            (r = store_membership_add(c->store, admin.uid, GROUP_ALL_USERS, err)) < 0 ||
            (r = store_meta_set(c->store, "initialized", "1", err)) < 0)
                return r;
        snprintf(buf, sizeof(buf), "1");
        *ret_data = json_pack("{s:I, s:s, s:s}", "admin_uid", (json_int_t)admin.uid, "admin_name", admin.name,
                              "database", c->settings->database);
        return 0;
}

static int op_init(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit, Error *err) {
        const char *dbpath;
        if (json_get_string(args, "dbpath", &dbpath, err) == 0 && !streq(dbpath, c->settings->database))
                return error_set(err, -EINVAL, "--dbpath %s: this vmbatchd keeps its database at %s", dbpath,
                                 c->settings->database);
        snprintf(audit->object, sizeof(audit->object), "database");
        return controller_init(c, who->uid, ret, err);
}

static int op_audit_list(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                         Error *err) {
        uint64_t limit = 100;
        int r = arg_size(args, "limit", &limit, err);
        if (r < 0)
                return r;
        if (limit == 0 || limit > 100000)
                return error_set(err, -EINVAL, "limit %llu is out of range (1..100000)", (unsigned long long)limit);
        return store_audit_list(c->store, (uint32_t)limit, ret);
}

static const char *const keys_none[] = {NULL};
static const char *const keys_init[] = {"dbpath", NULL};
static const char *const keys_audit[] = {"limit", NULL};

static const OpDef ops_misc[] = {
        {"ping", op_ping, OP_ANYONE, keys_none, NULL},
        {"init", op_init, OP_ANYONE | OP_MUTATES, keys_init, NULL},
        {"audit.list", op_audit_list, OP_ADMIN, keys_audit, NULL},
        {NULL, NULL, 0, NULL, NULL},
};

static const OpDef *find_op(const char *name) {
        const OpDef *const tables[] = {ops_misc, ops_users, ops_vmgroups, ops_vms, ops_perms, ops_instances, ops_exam, ops_exam_selftest, ops_console};
        for (size_t t = 0; t < ELEMENTSOF(tables); t++)
                for (const OpDef *d = tables[t]; d->name; d++)
                        if (streq(d->name, name))
                                return d;
        return NULL;
}

/* ---- one operation: checks, then in line or as a job ------------------ */

struct ControllerJob {
        const OpDef *op;
        uint32_t uid;
        json_t *args;
        void *plan;
};

/* Everything before an operation runs: it exists, its keys, the caller,
 * initialisation and the admin right. */
static int op_prepare(Controller *c, uint32_t uid, const char *op, const json_t *args, const OpDef **ret_op,
                      Caller *who, Error *err) {
        const OpDef *d = find_op(op);
        if (!d)
                return error_set(err, -EINVAL, "unknown operation '%.64s'", op);
        if (!json_is_object(args))
                return error_set(err, -EINVAL, "args must be an object");
        int r = json_check_keys(args, d->keys, err);
        if (r < 0)
                return r;
        if ((r = caller_load(c, uid, who)) < 0)
                return error_set(err, r, "cannot read the caller's record");
        char buf[8];
        if (!(d->flags & OP_ANYONE)) {
                if (store_meta_get(c->store, "initialized", buf, sizeof(buf)) < 0)
                        r = error_set(err, -ENXIO, "vmbatch is not initialized: run 'vmapp --init' as %s",
                                      admin_name(c->settings));
                else if (!who->known && uid != 0)
                        r = error_set(err, -EACCES, "uid %u is not a vmbatch user (ask an admin to add you)", uid);
                else if ((d->flags & OP_ADMIN) && !who->admin)
                        r = error_set(err, -EPERM, "only members of the admin group can do this");
        }
        if (r < 0) {
                caller_clear(who);
                return r;
        }
        *ret_op = d;
        return 0;
}

/* audit_keep_days: each audited change also drops the entries older than
 * that (an index seek when there are none); a failure costs the change
 * nothing. */
static void audit_expire(Controller *c) {
        Error err = {0};
        if (store_audit_expire(c->store, c->settings->audit_keep_days, &err) < 0)
                log_warn("audit_keep_days: %s", err.message);
}

/* Run the operation (or, for a job, its finish with plan and outcome) in
 * its write transaction and audit it when it mutates. */
static int op_apply(Controller *c, const Caller *who, const OpDef *d, const json_t *args, void *plan,
                    const char *outcome, json_t **ret_data, int *ret_fd, Error *err) {
        OpAudit audit = {.object = "", .fd = -1};
        json_t *data = NULL;
        int r = 0;
        if ((d->flags & OP_MUTATES) && (r = store_begin(c->store, err)) < 0)
                return r;
        r = d->job ? d->job->finish(c, who, plan, outcome, &data, &audit, err)
                   : d->fn(c, who, args, &data, &audit, err);
        if (r >= 0 && (d->flags & OP_MUTATES)) {
                r = store_audit(c->store, who->uid, d->name, audit.object, (json_t *)args, err);
                if (r >= 0)
                        audit_expire(c);
                if (r >= 0)
                        r = store_commit(c->store, err);
        }
        if (r < 0) {
                if (d->flags & OP_MUTATES)
                        store_rollback(c->store);
                if (audit.fd >= 0)
                        close(audit.fd);
                json_decref(data);
                if (err && err->code == 0)
                        error_set(err, r, "%s failed: %s", d->name, strerror(-r));
                return r;
        }
        if (d->flags & OP_MUTATES)
                log_info("uid %u: %s %s", who->uid, d->name, audit.object);
        *ret_data = data ? data : json_object();
        if (ret_fd)
                *ret_fd = audit.fd;
        else if (audit.fd >= 0)
                close(audit.fd); /* in line (tests): nobody to hand it to */
        return 0;
}

/* The in-line path (tests, --init) and the daemon's first step. ret_job
 * NULL: a job runs here, blocking. */
static int op_begin(Controller *c, uint32_t uid, const char *op, const json_t *args, json_t **ret_data,
                    ControllerJob **ret_job, int *ret_fd, Error *err) {
        json_t *empty = NULL;
        if (!args)
                args = empty = json_object();
        const OpDef *d = NULL;
        Caller who;
        int r = op_prepare(c, uid, op, args, &d, &who, err);
        if (r < 0) {
                json_decref(empty);
                return r;
        }
        if (!d->job) {
                r = op_apply(c, &who, d, args, NULL, NULL, ret_data, ret_fd, err);
                goto out;
        }
        /* the plan only reads: no transaction is held while the job runs */
        void *plan = NULL;
        if ((r = d->job->plan(c, &who, args, &plan, err)) < 0)
                goto out;
        ControllerJob *job = xcalloc(1, sizeof(*job));
        *job = (ControllerJob){.op = d, .uid = uid, .args = json_deep_copy(args), .plan = plan};
        if (ret_job) {
                *ret_job = job;
                r = CONTROLLER_PENDING;
                goto out;
        }
        char *outcome = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&outcome, &len);
        if (!f)
                abort();
        controller_job_run(job, f);
        fclose(f);
        r = op_apply(c, &who, d, job->args, plan, outcome, ret_data, NULL, err);
        free(outcome);
        controller_job_free(job);
out:
        caller_clear(&who);
        json_decref(empty);
        return r;
}

int controller_handle(Controller *c, uint32_t uid, const char *op, const json_t *args, json_t **ret_data,
                      Error *err) {
        return op_begin(c, uid, op, args, ret_data, NULL, NULL, err);
}

void controller_job_run(ControllerJob *job, FILE *out) {
        job->op->job->run(job->plan, out);
}

uint32_t controller_job_uid(const ControllerJob *job) {
        return job->uid;
}

const char *controller_job_op(const ControllerJob *job) {
        return job->op->name;
}

void controller_job_free(ControllerJob *job) {
        if (!job)
                return;
        job->op->job->free(job->plan);
        json_decref(job->args);
        free(job);
}

static json_t *response(int r, json_t *data, const Error *err) {
        if (r < 0)
                return json_error_response(r, "%s", err->message);
        return json_pack("{s:b, s:o}", "ok", true, "data", data);
}

json_t *controller_job_finish(Controller *c, ControllerJob *job, const char *outcome) {
        Error err = {0};
        json_t *data = NULL;
        Caller who;
        /* the caller as they are now: a user removed meanwhile is refused */
        int r = caller_load(c, job->uid, &who);
        if (r < 0)
                error_set(&err, r, "cannot read the caller's record");
        else {
                r = op_apply(c, &who, job->op, job->args, job->plan, outcome ? outcome : "", &data, NULL, &err);
                caller_clear(&who);
        }
        controller_job_free(job);
        return response(r, data, &err);
}

/* {"op", "args"}: the op's name and arguments, nothing else */
static int request_op(const json_t *request, const char **ret_op, Error *err) {
        int r = json_need_string(request, "op", ret_op, err);
        if (r >= 0) {
                static const char *const top[] = {"op", "args", NULL};
                r = json_check_keys(request, top, err);
        }
        return r;
}

/* A wire request; ret_job NULL: a job runs in line; ret_fd NULL: an fd of
 * the answer is closed. */
static json_t *handle_request(Controller *c, uint32_t uid, const json_t *request, ControllerJob **ret_job,
                              int *ret_fd) {
        Error err = {0};
        json_t *data = NULL;
        const char *op;
        int r = request_op(request, &op, &err);
        if (r >= 0)
                r = op_begin(c, uid, op, json_object_get(request, "args"), &data, ret_job, ret_fd, &err);
        return r == CONTROLLER_PENDING ? NULL : response(r, data, &err);
}

json_t *controller_start_fd(Controller *c, uint32_t uid, const json_t *req, ControllerJob **ret_job, int *ret_fd) {
        *ret_job = NULL;
        *ret_fd = -1;
        return handle_request(c, uid, req, ret_job, ret_fd);
}

json_t *controller_start(Controller *c, uint32_t uid, const json_t *req, ControllerJob **ret_job) {
        *ret_job = NULL;
        return handle_request(c, uid, req, ret_job, NULL);
}

json_t *controller_request(Controller *c, uint32_t uid, const json_t *req) {
        return handle_request(c, uid, req, NULL, NULL);
}
