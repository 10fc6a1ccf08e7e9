/* fleet_life.c - an instance's life as the controller sees it: its job is
 * submitted (hook_launch), it is stopped, suspended or resumed through the
 * host holding its monitor (hook_signal), and it ends (teardown), exactly
 * once, whatever ended it. The host-side half (tap, filters, files) is in
 * host.c. */
#include <stdio.h>

#include "basic/jsonutil.h"
#include "basic/log.h"
#include "core/ipam.h"
#include "daemon/fleet-internal.h"

void dhcp_name(uint32_t id, char buf[32]) { snprintf(buf, 32, "vm%u", id); }

/* Inside an open transaction. */
int teardown_locked(Fleet *f, const InstanceRec *inst, const char *reason, Error *err) {
        Store *s = f->controller->store;
        char name[32], ip[16];
        dhcp_name(inst->id, name);
        ipv4_format(inst->ip, ip);
        Error e = {0};
        if (f->dhcp && dhcp_host_remove(f->dhcp, name, inst->mac, ip, &e) < 0)
                log_warn("instance %u: removing the lease failed: %s", inst->id, e.message);
        placement_drop(f, inst->id);
        submission_cancel(f, inst->id);
        /* what the VM wrote now counts against its owner's quota (an lstat:
         * no qemu-img inside the transaction, the virtual size is unchanged) */
        DiscRec *d;
        size_t nd;
        VmRec vm;
        if (store_vm_get(s, inst->vm, &vm) == 0 && store_disc_list(s, vm.id, &d, &nd) == 0) {
                for (size_t i = 0; i < nd; i++) {
                        uint64_t alloc;
                        if (disk_allocated(d[i].path, &alloc, NULL) == 0)
                                store_disc_set_allocated(s, d[i].id, alloc, NULL);
                }
                free(d);
        }
        if (inst->state != INSTANCE_RESERVED) {
                error_clear(&e);
                if (share_discs_with_runner(f, inst, false, &e) < 0)
                        log_warn("instance %u: taking back disc access: %s", inst->id, e.message);
        }
        int r = store_instance_delete(s, inst->id, err);
        if (r < 0)
                return r;
        json_t *detail = json_pack("{s:s, s:s, s:I}", "reason", reason, "ip", ip, "uid", (json_int_t)inst->uid);
        char obj[64];
        snprintf(obj, sizeof(obj), "instance %u", inst->id);
        r = store_audit(s, 0, "instance.end", obj, detail, err);
        json_decref(detail);
        log_info("instance %u of vm %u ended (%s): %s %s freed", inst->id, inst->vm, reason, ip, inst->mac);
        return r;
}

void teardown(Fleet *f, uint32_t id, const char *reason) {
        Store *s = f->controller->store;
        Error err = {0};
        InstanceRec inst;
        if (store_begin(s, &err) < 0) {
                log_error("instance %u: %s", id, err.message);
                return;
        }
        if (store_instance_get(s, id, &inst) < 0) {
                store_rollback(s);
                return; /* already gone: exactly once */
        }
        if (teardown_locked(f, &inst, reason, &err) < 0 || store_commit(s, &err) < 0) {
                store_rollback(s);
                log_error("instance %u: teardown failed: %s", id, err.message);
        }
}

/* A vm run by someone other than its owner (the owner granted run): the
 * runner's qemu needs to write the vm's discs and read their backing
 * files. grant false takes the write access back. */
int share_discs_with_runner(Fleet *f, const InstanceRec *inst, bool grant, Error *err) {
        Store *s = f->controller->store;
        VmRec vm;
        if (store_vm_get(s, inst->vm, &vm) < 0 || vm.owner == inst->uid)
                return 0;
        Cred owner;
        char oname[64];
        DiscRec *d;
        size_t nd;
        int r = cred_from_uid(vm.owner, &owner, oname, sizeof(oname), err);
        if (r < 0 || (r = store_disc_list(s, vm.id, &d, &nd)) < 0)
                return r;
        for (size_t i = 0; i < nd && r >= 0; i++)
                r = disk_grant(&owner, d[i].path, inst->uid, grant ? "rw" : NULL, err);
        free(d);
        VmRec base;
        if (r >= 0 && grant && vm.base && store_vm_get(s, vm.base, &base) == 0 &&
            (r = cred_from_uid(base.owner, &owner, oname, sizeof(oname), err)) >= 0 &&
            (r = store_disc_list(s, base.id, &d, &nd)) >= 0) {
                for (size_t i = 0; i < nd && r >= 0; i++)
                        if (base.owner != inst->uid)
                                r = disk_grant(&owner, d[i].path, inst->uid, "r", err);
                free(d);
        }
        return r;
}

/* ---- controller hooks ---- */

void batch_request(Fleet *f, const InstanceRec *inst, const Cred *cred, char *log_path, size_t log_len,
                   char job_name[32], BatchSubmit *req) {
        snprintf(log_path, log_len, "%s/jobs/instance-%u.log", f->settings->state_dir, inst->id);
        snprintf(job_name, 32, "vmbatch-%u", inst->id);
        *req = (BatchSubmit){
                .instance = inst->id,
                .user = cred,
                .starter = f->settings->starter,
                .socket = isempty(f->settings->node_socket) ? f->settings->socket : f->settings->node_socket,
                .log_path = log_path,
                .mem = inst->mem,
                .vcpus = inst->vcpus,
                .walltime_s = inst->walltime_s,
                .job_name = job_name,
                .host = isempty(inst->exehost) ? NULL : inst->exehost,
                .queue = isempty(f->settings->batch_queue) ? NULL : f->settings->batch_queue,
        };
}

int hook_launch(void *userdata, InstanceRec *inst, Error *err) {
        Fleet *f = userdata;
        Cred cred;
        char cname[64];
        int r = cred_from_uid(inst->uid, &cred, cname, sizeof(cname), err);
        if (r < 0 || (r = share_discs_with_runner(f, inst, true, err)) < 0)
                return r;
        snprintf(inst->backend, sizeof(inst->backend), "%s", f->batch->name);
        if (f->batch->slow_submit) {
                submission_queue(f, inst); /* the job id comes later */
                return 0;
        }
        char log_path[PATH_MAX + 64], job_name[32], job[64];
        BatchSubmit req;
        batch_request(f, inst, &cred, log_path, sizeof(log_path), job_name, &req);
        if ((r = f->batch->submit(&req, job, sizeof(job), err)) < 0)
                return r;
        snprintf(inst->job_id, sizeof(inst->job_id), "%s", job);
        log_info("instance %u submitted to %s as job %s%s%s", inst->id, f->batch->name, job,
                 req.host ? " on " : "", req.host ? req.host : "");
        return 0;
}

int hook_signal(void *userdata, const InstanceRec *inst, InstanceAction action, Error *err) {
        Fleet *f = userdata;
        Placement *p = placement_of(f, inst->id);
        if (p) {
                if (action == ACTION_SUSPEND && inst->state != INSTANCE_RUNNING)
                        return error_set(err, -EINVAL, "instance %u is %s, not running", inst->id,
                                         instance_state_to_string(inst->state));
                if (action == ACTION_RESUME && inst->state != INSTANCE_PAUSED)
                        return error_set(err, -EINVAL, "instance %u is %s, not paused", inst->id,
                                         instance_state_to_string(inst->state));
                int r = p->node->ops->signal(p->node->data, inst->id, action, err);
                if (r < 0)
                        return r;
                if (action == ACTION_STOP || action == ACTION_KILL) {
                        InstanceRec u = *inst;
                        u.state = INSTANCE_STOPPING;
                        return store_instance_update(f->controller->store, &u, err);
                }
                return 0;
        }
        if (action != ACTION_STOP && action != ACTION_KILL)
                return error_set(err, -EAGAIN, "instance %u is %s: its monitor is not connected", inst->id,
                                 instance_state_to_string(inst->state));
        /* no monitor connected (queued job, or lost): cancel the job, free now */
        batch_cancel_later(f, batch_backend_find(inst->backend), inst->job_id);
        return teardown_locked(f, inst, "stopped before its monitor connected", err);
}
