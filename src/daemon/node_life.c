/* node_life.c - an instance's life on this host: its job is submitted
 * (hook_launch), it is stopped, suspended or resumed (hook_signal), and it
 * ends (teardown), exactly once, whatever ended it. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "basic/jsonutil.h"
#include "basic/log.h"
#include "core/ipam.h"
#include "daemon/node-internal.h"
#include "net/link.h"

/* ---- teardown: exactly once, whatever ended the instance ---- */

void dhcp_name(uint32_t id, char buf[32]) { snprintf(buf, 32, "vm%u", id); }

/* Inside an open transaction. Frees lease, tap, the address (the row) and
 * refreshes the storage the VM's discs now occupy. */
int teardown_locked(Node *n, const InstanceRec *inst, const char *reason, Error *err) {
        Store *s = n->controller->store;
        char name[32], ip[16];
        dhcp_name(inst->id, name);
        ipv4_format(inst->ip, ip);
        Error e = {0};
        if (n->dhcp && dhcp_host_remove(n->dhcp, name, inst->mac, ip, &e) < 0)
                log_warn("instance %u: removing the lease failed: %s", inst->id, e.message);
        if (*inst->tap && n->filter) {
                error_clear(&e);
                if (filter_remove(n->filter, inst->tap, &e) < 0)
                        log_warn("instance %u: removing filters of %s failed: %s", inst->id, inst->tap, e.message);
        }
        if (*inst->tap) {
                error_clear(&e);
                if (link_delete(inst->tap, &e) < 0)
                        log_warn("instance %u: removing tap %s failed: %s", inst->id, inst->tap, e.message);
        }
        /* what the VM wrote now counts against its owner's quota */
        DiscRec *d;
        size_t nd;
        Cred cred;
        char cname[64];
        VmRec vm;
        if (store_vm_get(s, inst->vm, &vm) == 0 && store_disc_list(s, vm.id, &d, &nd) == 0) {
                if (cred_from_uid(vm.owner, &cred, cname, sizeof(cname), NULL) == 0)
                        for (size_t i = 0; i < nd; i++) {
                                uint64_t size, alloc;
                                if (disk_measure(&cred, d[i].path, &size, &alloc, NULL) == 0)
                                        store_disc_set_allocated(s, d[i].id, alloc, NULL);
                        }
                free(d);
        }
        if (!streq(inst->state, "reserved"))
                runtime_dir_remove(n, inst);
        if (!streq(inst->state, "reserved")) {
                error_clear(&e);
                if (share_discs_with_runner(n, inst, false, &e) < 0)
                        log_warn("instance %u: taking back disc access: %s", inst->id, e.message);
        }
        int r = store_instance_delete(s, inst->id, err);
        if (r < 0)
                return r;
        json_t *detail = json_pack("{s:s, s:s}", "reason", reason, "ip", ip);
        char obj[64];
        snprintf(obj, sizeof(obj), "instance %u", inst->id);
        r = store_audit(s, 0, "instance.end", obj, detail, err);
        json_decref(detail);
        log_info("instance %u of vm %u ended (%s): %s %s freed", inst->id, inst->vm, reason, ip, inst->mac);
        return r;
}

void teardown(Node *n, uint32_t id, const char *reason) {
        Store *s = n->controller->store;
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
        if (teardown_locked(n, &inst, reason, &err) < 0 || store_commit(s, &err) < 0) {
                store_rollback(s);
                log_error("instance %u: teardown failed: %s", id, err.message);
        }
}

/* A vm run by someone other than its owner (the owner granted run): the
 * runner's qemu needs to write the vm's discs and read their backing
 * files. grant: perms to give; NULL takes the write access back. */
int share_discs_with_runner(Node *n, const InstanceRec *inst, bool grant, Error *err) {
        Store *s = n->controller->store;
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

int hook_launch(void *userdata, InstanceRec *inst, Error *err) {
        Node *n = userdata;
        if (!n->batch)
                return error_set(err, -ENOTSUP, "batch backend '%s' is not available", n->settings->batch_backend);
        Cred cred;
        char cname[64];
        int r = cred_from_uid(inst->uid, &cred, cname, sizeof(cname), err);
        if (r < 0)
                return r;
        char log_path[PATH_MAX + 64];
        snprintf(log_path, sizeof(log_path), "%s/jobs/instance-%u.log", n->settings->state_dir, inst->id);
        BatchSubmit req = {
                .instance = inst->id,
                .user = &cred,
                .starter = n->settings->starter,
                .socket = n->settings->socket,
                .log_path = log_path,
                .mem = inst->mem,
                .vcpus = inst->vcpus,
                .walltime_s = inst->walltime_s,
        };
        if ((r = share_discs_with_runner(n, inst, true, err)) < 0)
                return r;
        char job[64], job_name[32];
        snprintf(job_name, sizeof(job_name), "vmbatch-%u", inst->id);
        req.job_name = job_name;
        if ((r = n->batch->submit(&req, job, sizeof(job), err)) < 0)
                return r;
        snprintf(inst->backend, sizeof(inst->backend), "%s", n->batch->name);
        snprintf(inst->job_id, sizeof(inst->job_id), "%s", job);
        log_info("instance %u submitted to %s as job %s", inst->id, n->batch->name, job);
        return 0;
}

int hook_signal(void *userdata, const InstanceRec *inst, const char *action, Error *err) {
        Node *n = userdata;
        Attachment *a = att_by_instance(n, inst->id);
        if (a) {
                if (streq(action, "suspend") && !streq(inst->state, "running"))
                        return error_set(err, -EINVAL, "instance %u is %s, not running", inst->id, inst->state);
                if (streq(action, "resume") && !streq(inst->state, "paused"))
                        return error_set(err, -EINVAL, "instance %u is %s, not paused", inst->id, inst->state);
                int r = server_client_push(a->client, json_pack("{s:s}", "event", action));
                if (r < 0)
                        return error_set(err, r, "cannot reach the starter of instance %u", inst->id);
                if (streq(action, "stop")) {
                        InstanceRec u = *inst;
                        snprintf(u.state, sizeof(u.state), "stopping");
                        return store_instance_update(n->controller->store, &u, err);
                }
                return 0;
        }
        if (!streq(action, "stop"))
                return error_set(err, -EAGAIN, "instance %u is %s: its monitor is not connected", inst->id,
                                 inst->state);
        /* no starter connected (queued job, or lost): cancel the job, free now */
        const BatchBackend *b = batch_backend_find(inst->backend);
        if (b && *inst->job_id) {
                Error e = {0};
                if (b->cancel(inst->job_id, &e) < 0)
                        log_warn("instance %u: cancelling job %s: %s", inst->id, inst->job_id, e.message);
        }
        return teardown_locked(n, inst, "stopped before its monitor connected", err);
}

void runtime_dir_path(Node *n, uint32_t id, char *buf, size_t len) {
        snprintf(buf, len, "%s/run/instance-%u", n->settings->state_dir, id);
}

int runtime_dir_create(Node *n, const InstanceRec *inst, const Cred *cred, char *path, size_t len,
                              Error *err) {
        runtime_dir_path(n, inst->id, path, len);
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return error_set(err, -errno, "cannot create %s: %m", path);
        struct stat st;
        if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
                return error_set(err, -ENOTDIR, "%s is not a directory", path);
        if (chown(path, cred->uid, cred->gid) < 0)
                return error_set(err, -errno, "cannot chown %s: %m", path);
        return 0;
}

void runtime_dir_remove(Node *n, const InstanceRec *inst) {
        char path[PATH_MAX + 64], cname[64];
        Cred cred;
        runtime_dir_path(n, inst->id, path, sizeof(path));
        if (access(path, F_OK) < 0 || cred_from_uid(inst->uid, &cred, cname, sizeof(cname), NULL) < 0)
                return;
        /* its content is the user's: remove that as the user (who cannot
         * unlink the directory itself from our root-owned parent), then the
         * empty directory as root */
        disk_remove_tree(&cred, path, NULL);
        if (rmdir(path) < 0 && errno != ENOENT)
                log_warn("instance %u: cannot remove %s: %m", inst->id, path);
}

/* The guest's serial console, kept beside the job log, written by the
 * user's qemu: created here, owned by the user. */
int serial_log_create(Node *n, const InstanceRec *inst, const Cred *cred, char *path, size_t len, Error *err) {
        snprintf(path, len, "%s/jobs/instance-%u.serial", n->settings->state_dir, inst->id);
        unlink(path);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return error_set(err, -errno, "cannot create %s: %m", path);
        int r = fchown(fd, cred->uid, cred->gid) < 0 ? -errno : 0;
        close(fd);
        return r < 0 ? error_set(err, r, "cannot chown %s", path) : 0;
}
