/* ops_instances.c - running a VM: authorisation (run, force_isolated),
 * quotas, and the address plan, then the paper's Mapping table.
 *
 * What one run may have: at most the vm's own memory and vcpus, and what
 * its VM group allows a run (max_mem, max_vcpus, max_walltime).
 *
 * The checks and the allocation happen in one write transaction, so N
 * requests arriving together can never hold more than max_running
 * instances or share an address. Launching through a batch backend is the
 * daemon's business (ControllerHooks): the instance row is written first,
 * state "submitted", and the hook submits its job in the same
 * transaction, so a failed submission leaves nothing behind. */
#include <stdio.h>

#include "core/ipam.h"
#include "core/ops.h"
#include "core/ops_exam.h"
#include "core/validate.h"

static bool mac_taken(const char *mac, void *userdata) {
        bool used = true; /* on error, skip the address rather than risk a clash */
        store_instance_mac_in_use(userdata, mac, &used);
        return used;
}

static int allocate_address(Controller *c, const VmGroupRec *g, InstanceRec *inst, Error *err) {
        uint32_t *used;
        size_t n;
        int r = store_instance_used_ips(c->store, g->first, g->last, &used, &n);
        if (r < 0)
                return error_set(err, r, "cannot list addresses in use");
        r = ipam_next_free(g->first, g->last, used, n, mac_taken, c->store, &inst->ip);
        free(used);
        if (r == -ENOSPC) {
                char a[16], b[16];
                ipv4_format(g->first, a);
                ipv4_format(g->last, b);
                return error_set(err, -ENOSPC, "no free address left in vm group '%s' (%s-%s)", g->name, a, b);
        }
        mac_from_ip(inst->ip, inst->mac);
        return r;
}

static int check_single_writer(Controller *c, const VmRec *vm, Error *err) {
        uint32_t *ids;
        size_t n;
        int r = store_instance_ids_for_vm(c->store, vm->id, &ids, &n);
        if (r < 0)
                return error_set(err, r, "cannot list instances");
        for (size_t i = 0; i < n && r >= 0; i++) {
                InstanceRec other;
                if (store_instance_get(c->store, ids[i], &other) == 0 && other.state != INSTANCE_RESERVED)
                        r = error_set(err, -EBUSY, "vm '%s' is already running (instance %u): stop it first",
                                      vm->name, other.id);
        }
        free(ids);
        if (r < 0)
                return r;
        uint32_t derived;
        if ((r = store_vm_count_derived(c->store, vm->id, &derived)) < 0)
                return error_set(err, r, "cannot count derived vms");
        if (derived > 0)
                return error_set(err, -EBUSY,
                                 "vm '%s' is the base of %u derived vm(s) and must not change: derive a copy to run it",
                                 vm->name, derived);
        return 0;
}

/* --mem and --vcpus: what the run asks for, at most what the vm defines
 * (a runner cannot take more of the host than the vm's owner set) */
static int run_size_args(const json_t *args, const VmRec *vm, InstanceRec *inst, Error *err) {
        uint64_t vcpus = vm->vcpus;
        int r;
        if ((r = arg_size(args, "mem", &inst->mem, err)) < 0 || (r > 0 && (r = validate_mem(inst->mem, err)) < 0) ||
            (r = arg_size(args, "vcpus", &vcpus, err)) < 0 || (r > 0 && (r = validate_vcpus(vcpus, err)) < 0))
                return r;
        if (inst->mem > vm->mem) {
                char want[32], have[32];
                format_size(inst->mem, want, sizeof(want));
                format_size(vm->mem, have, sizeof(have));
                return error_set(err, -EINVAL, "--mem %s is more than vm '%s' has (%s): run it with less, or have "
                                               "its owner raise the vm's memory", want, vm->name, have);
        }
        if (vcpus > vm->vcpus)
                return error_set(err, -EINVAL, "--vcpus %llu is more than vm '%s' has (%u): run it with fewer, or have "
                                               "its owner raise the vm's vcpus", (unsigned long long)vcpus, vm->name,
                                 vm->vcpus);
        inst->vcpus = (uint32_t)vcpus;
        return 0;
}

/* "2h", "90m", "45s" */
static void format_walltime(uint32_t s, char buf[24]) {
        if (s % 3600 == 0)
                snprintf(buf, 24, "%uh", s / 3600);
        else if (s % 60 == 0)
                snprintf(buf, 24, "%um", s / 60);
        else
                snprintf(buf, 24, "%us", s);
}

/* What the vm's group allows one run (an admin's caps, 0: none): memory,
 * vcpus, and a job time limit within max_walltime (a run without one gets
 * max_walltime). Binds admins too: they raise the cap instead. */
static int check_group_caps(const VmGroupRec *g, const json_t *args, const VmRec *vm, InstanceRec *inst,
                            Error *err) {
        bool asked_mem = json_object_get(args, "mem"), asked_vcpus = json_object_get(args, "vcpus");
        if (g->max_mem && inst->mem > g->max_mem) {
                char want[32], cap[32];
                format_size(inst->mem, want, sizeof(want));
                format_size(g->max_mem, cap, sizeof(cap));
                if (asked_mem)
                        return error_set(err, -EDQUOT, "--mem %s is more than vm group '%s' allows per run (max_mem %s)",
                                         want, g->name, cap);
                return error_set(err, -EDQUOT, "vm '%s' has %s of memory, more than vm group '%s' allows per run "
                                               "(max_mem %s): run it with --mem %s or less", vm->name, want, g->name,
                                 cap, cap);
        }
        if (g->max_vcpus && inst->vcpus > g->max_vcpus) {
                if (asked_vcpus)
                        return error_set(err, -EDQUOT, "--vcpus %u is more than vm group '%s' allows per run "
                                                       "(max_vcpus %u)", inst->vcpus, g->name, g->max_vcpus);
                return error_set(err, -EDQUOT, "vm '%s' has %u vcpus, more than vm group '%s' allows per run "
                                               "(max_vcpus %u): run it with --vcpus %u or fewer", vm->name,
                                 inst->vcpus, g->name, g->max_vcpus, g->max_vcpus);
        }
        if (g->max_walltime_s && inst->walltime_s > g->max_walltime_s) {
                char want[24], cap[24];
                format_walltime(inst->walltime_s, want);
                format_walltime(g->max_walltime_s, cap);
                return error_set(err, -EDQUOT, "--walltime %s is longer than vm group '%s' allows per run "
                                               "(max_walltime %s)", want, g->name, cap);
        }
        if (g->max_walltime_s && inst->walltime_s == 0)
                inst->walltime_s = g->max_walltime_s;
        return 0;
}

static int op_vm_run(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                     Error *err) {
        if (who->uid == 0)
                return error_set(err, -EPERM, "root never runs qemu: run vms as a normal user (the vm's owner, "
                                              "an admin account or a user granted run)");
        if (!who->known)
                return error_set(err, -EACCES, "uid %u is not a vmbatch user and cannot run vms", who->uid);
        VmRec vm;
        InstanceRec inst;
        int r = resolve_vm_for(c, who, args, "vm", "run", &vm, err);
        if (r < 0 || (r = exam_check_vm_use(c, who, &vm, "run", err)) < 0 ||
            (r = instance_run_vm(c, who, &vm, args, &inst, err)) < 0)
                return r;
        snprintf(audit->object, sizeof(audit->object), "instance %u of vm %u %s", inst.id, vm.id, vm.name);
        *ret = instance_to_json(&inst);
        return 0;
}

int instance_run_vm(Controller *c, const Caller *who, const VmRec *vm_in, const json_t *args, InstanceRec *ret,
                    Error *err) {
        VmRec vm = *vm_in;
        int r;
        if (who->uid == 0 || !who->known)
                return error_set(err, -EPERM, "uid %u cannot run vms", who->uid);
        bool isolate = false, no_start = false, install = false;
        if (((r = json_get_bool(args, "isolate", &isolate, err)) < 0 && r != -ENOENT) ||
            ((r = json_get_bool(args, "no_start", &no_start, err)) < 0 && r != -ENOENT) ||
            ((r = json_get_bool(args, "install", &install, err)) < 0 && r != -ENOENT))
                return r;
        Rights rights = caller_rights(c, who, &vm);
        if ((r = authz_check_run(&rights, who->admin, isolate, err)) < 0)
                return r;
        const char *cdrom = NULL;
        if ((r = json_get_string(args, "cdrom", &cdrom, err)) < 0 && r != -ENOENT)
                return r;
        if (install) {
                if (!cdrom)
                        return error_set(err, -EINVAL, "--install needs --cdrom with the installation image");
                if ((r = authz_check_modify(&rights, who->admin, err)) < 0)
                        return r;
        }
        if (cdrom && (r = validate_path("cdrom", cdrom, err)) < 0)
                return r;

        InstanceRec inst = {.vm = vm.id, .uid = who->uid, .isolated = isolate, .mem = vm.mem, .vcpus = vm.vcpus,
                            .vnc_display = -1};
        if ((r = run_size_args(args, &vm, &inst, err)) < 0)
                return r;
        uint64_t walltime = 0;
        if ((r = arg_size(args, "walltime", &walltime, err)) < 0 || (r = validate_walltime(walltime, err)) < 0)
                return r;
        inst.walltime_s = (uint32_t)walltime;
        VmGroupRec group;
        if ((r = store_vmgroup_get(c->store, vm.vm_group, &group)) < 0)
                return store_get_error(c->store, r, err, "vm group %u of vm '%s' is missing", vm.vm_group, vm.name);
        if ((r = check_group_caps(&group, args, &vm, &inst, err)) < 0)
                return r;
        inst.ipv6 = group.ipv6; /* for its filters, for the instance's life (an isolated one gets no IPv6) */
        /* --host: the job may run on that execution host only (its node
         * refuses the job anywhere else) */
        const char *host = NULL;
        if ((r = json_get_string(args, "host", &host, err)) < 0 && r != -ENOENT)
                return r;
        if (host) {
                if (isempty(host) || strlen(host) > 63 || strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                       "0123456789.-_") != strlen(host))
                        return error_set(err, -EINVAL, "host '%.64s' is not a host name", host);
                snprintf(inst.exehost, sizeof(inst.exehost), "%s", host);
        }

        /* one disc, one writer: a vm runs at most once at a time, and a
         * template whose disc backs others never runs (it must not change).
         * Reservations (no_start) write nothing and are not limited here. */
        if (!no_start && (r = check_single_writer(c, &vm, err)) < 0)
                return r;

        uint32_t running;
        if ((r = store_instance_count_for_user(c->store, who->uid, &running)) < 0)
                return error_set(err, r, "cannot count running vms");
        if (running >= who->user.max_running)
                return error_set(err, -EDQUOT, "quota exceeded: you may run at most %u vm(s) at once",
                                 who->user.max_running);
        uint64_t used;
        if ((r = store_storage_used(c->store, who->uid, &used)) < 0)
                return error_set(err, r, "cannot compute storage in use");
        if (used > who->user.max_storage)
                return error_set(err, -EDQUOT, "storage quota exceeded: free some space before running a vm");

        if (!no_start && (!c->hooks || !c->hooks->launch))
                return error_set(err, -ENOTSUP, "this vmbatchd cannot start vms (no node role); --no-start reserves "
                                                "an address");
        if (install || cdrom) {
                /* the install medium rides in the instance's boot request */
                if (strlen(cdrom) >= sizeof(inst.cdrom))
                        return error_set(err, -ENAMETOOLONG, "cdrom path is too long");
                snprintf(inst.cdrom, sizeof(inst.cdrom), "%s", cdrom);
        }

        if ((r = allocate_address(c, &group, &inst, err)) < 0)
                return r;
        inst.state = no_start ? INSTANCE_RESERVED : INSTANCE_SUBMITTED;
        if ((r = store_instance_insert(c->store, &inst, err)) < 0)
                return r;
        if (!no_start) {
                if ((r = c->hooks->launch(c->hooks_data, &inst, err)) < 0 ||
                    (r = store_instance_update(c->store, &inst, err)) < 0)
                        return r;
        }
        *ret = inst;
        return 0;
}

/* No such instance: if it was the caller's and has ended, say why (the
 * audit log keeps the reason). */
static int instance_gone(Controller *c, const Caller *who, uint64_t id, Error *err) {
        char object[64];
        json_t *detail = NULL;
        snprintf(object, sizeof(object), "instance %llu", (unsigned long long)id);
        if (store_audit_last_detail(c->store, "instance.end", object, &detail) == 0) {
                json_t *uid = json_object_get(detail, "uid");
                const char *reason = json_string_value(json_object_get(detail, "reason"));
                if (reason && json_is_integer(uid) && (who->admin || json_integer_value(uid) == who->uid)) {
                        int r = error_set(err, -ENOENT, "instance %llu has ended: %s", (unsigned long long)id, reason);
                        json_decref(detail);
                        return r;
                }
                json_decref(detail);
        }
        return error_set(err, -ENOENT, "no such instance %llu", (unsigned long long)id);
}

int resolve_instance(Controller *c, const Caller *who, const json_t *args, const InstanceLookup *how,
                     InstanceRec *ret, Error *err) {
        uint64_t id;
        int r = json_get_u64(args, "instance", &id, err);
        if (r == -ENOENT && json_object_get(args, "vm")) {
                VmRec vm;
                if ((r = resolve_vm_for(c, who, args, "vm", how->verb, &vm, err)) < 0)
                        return r;
                _cleanup_free_ uint32_t *ids = NULL;
                size_t n, mine = 0, others = 0;
                if ((r = store_instance_ids_for_vm(c->store, vm.id, &ids, &n)) < 0)
                        return error_set(err, r, "cannot list instances");
                for (size_t i = 0; i < n; i++) {
                        InstanceRec inst;
                        if (store_instance_get(c->store, ids[i], &inst) < 0 ||
                            (how->skip_reserved && inst.state == INSTANCE_RESERVED))
                                continue;
                        if (who->admin || inst.uid == who->uid) {
                                if (mine++ == 0)
                                        *ret = inst;
                        } else
                                others++;
                }
                if (mine == 0 && others > 0 && how->refused)
                        return error_set(err, -EPERM, "%s", how->refused);
                if (mine == 0)
                        return error_set(err, -ENOENT, "vm '%s' is not running", vm.name);
                if (mine > 1)
                        return error_set(err, -EINVAL, "vm '%s' has %zu instances: give the instance id", vm.name, mine);
                return 0;
        }
        if (r == -ENOENT)
                return error_set(err, -EINVAL, "give an instance id or a vm");
        if (r < 0)
                return r;
        r = id > UINT32_MAX ? -ENOENT : store_instance_get(c->store, (uint32_t)id, ret);
        if (r < 0 && r != -ENOENT)
                return store_get_error(c->store, r, err, "instance %llu", (unsigned long long)id);
        bool theirs = r == 0 && !who->admin && ret->uid != who->uid;
        if (how->refused && theirs)
                return error_set(err, -EPERM, "%s", how->refused);
        if (how->refused && r < 0) /* console.open's: without instance_gone's reason */
                return error_set(err, -ENOENT, "no such instance %llu", (unsigned long long)id);
        if (r < 0 || theirs)
                return instance_gone(c, who, id, err);
        return 0;
}

/* instance.release/stop/suspend/resume/show: another's instance is as if gone */
static const InstanceLookup own_instance = {.verb = "use"};

static int op_instance_release(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                               Error *err) {
        InstanceRec inst;
        int r = resolve_instance(c, who, args, &own_instance, &inst, err);
        if (r < 0)
                return r;
        if (inst.state != INSTANCE_RESERVED)
                return error_set(err, -EBUSY, "instance %u is %s: stop it instead", inst.id,
                                 instance_state_to_string(inst.state));
        if ((r = store_instance_delete(c->store, inst.id, err)) < 0)
                return r;
        snprintf(audit->object, sizeof(audit->object), "instance %u", inst.id);
        return 0;
}

/* stop, suspend, resume: the node does the work; a reservation just goes */
static int signal_instance(Controller *c, const Caller *who, const json_t *args, InstanceAction action, json_t **ret,
                           OpAudit *audit, Error *err) {
        InstanceRec inst;
        int r = resolve_instance(c, who, args, &own_instance, &inst, err);
        if (r < 0)
                return r;
        snprintf(audit->object, sizeof(audit->object), "instance %u", inst.id);
        VmRec vm; /* a frozen exam vm stays paused */
        if (action == ACTION_RESUME && store_vm_get(c->store, inst.vm, &vm) == 0 &&
            (r = exam_check_vm_use(c, who, &vm, "resume", err)) < 0)
                return r;
        if (inst.state == INSTANCE_RESERVED) {
                if (action != ACTION_STOP && action != ACTION_KILL)
                        return error_set(err, -EINVAL, "instance %u is only reserved, not running", inst.id);
                if ((r = store_instance_delete(c->store, inst.id, err)) < 0)
                        return r;
                inst.state = INSTANCE_STOPPED;
                *ret = instance_to_json(&inst);
                return 0;
        }
        /* (the exam clock resumes a warm VM that is still booting: only
         * here, for users, must a resumed one be paused) */
        if (action == ACTION_SUSPEND && inst.state != INSTANCE_RUNNING)
                return error_set(err, -EINVAL, "instance %u is %s, not running", inst.id,
                                 instance_state_to_string(inst.state));
        if (action == ACTION_RESUME && inst.state != INSTANCE_PAUSED)
                return error_set(err, -EINVAL, "instance %u is %s, not paused", inst.id,
                                 instance_state_to_string(inst.state));
        if (!c->hooks || !c->hooks->signal)
                return error_set(err, -ENOTSUP, "this vmbatchd cannot control running vms");
        if ((r = c->hooks->signal(c->hooks_data, &inst, action, err)) < 0)
                return r;
        /* the hook may have changed the row (a job that never started is gone) */
        if (store_instance_get(c->store, inst.id, &inst) < 0)
                inst.state = INSTANCE_STOPPED;
        *ret = instance_to_json(&inst);
        return 0;
}

/* force: qemu is killed at once instead of the guest powering off (a guest
 * still booting does not answer the power button) */
static int op_instance_stop(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                            Error *err) {
        bool force = false;
        int r = json_get_bool(args, "force", &force, err);
        if (r < 0 && r != -ENOENT)
                return r;
        return signal_instance(c, who, args, force ? ACTION_KILL : ACTION_STOP, ret, audit, err);
}

static int op_instance_suspend(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                               Error *err) {
        return signal_instance(c, who, args, ACTION_SUSPEND, ret, audit, err);
}

static int op_instance_resume(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                              Error *err) {
        return signal_instance(c, who, args, ACTION_RESUME, ret, audit, err);
}

static int op_instance_show(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                            Error *err) {
        InstanceRec inst;
        int r = resolve_instance(c, who, args, &own_instance, &inst, err);
        if (r < 0)
                return r;
        *ret = instance_to_json(&inst);
        console_activity_put(c, inst.id, *ret);
        return 0;
}

static int op_map_list(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                       Error *err) {
        return store_instance_list(c->store, who->admin ? NULL : &who->uid, ret);
}

static const char *const keys_run[] = {"vm", "mem", "vcpus", "isolate", "install", "cdrom", "no_start", "walltime",
                                       "host", NULL};
static const char *const keys_instance[] = {"instance", "vm", NULL};
static const char *const keys_stop[] = {"instance", "vm", "force", NULL};
static const char *const keys_none[] = {NULL};

const OpDef ops_instances[] = {
        {"vm.run", op_vm_run, OP_MUTATES, keys_run, NULL},
        {"instance.release", op_instance_release, OP_MUTATES, keys_instance, NULL},
        {"instance.stop", op_instance_stop, OP_MUTATES, keys_stop, NULL},
        {"instance.suspend", op_instance_suspend, OP_MUTATES, keys_instance, NULL},
        {"instance.resume", op_instance_resume, OP_MUTATES, keys_instance, NULL},
        {"instance.show", op_instance_show, 0, keys_instance, NULL},
        {"map.list", op_map_list, 0, keys_none, NULL},
        {NULL, NULL, 0, NULL, NULL},
};
