/* fleet.c - the controller's side of running VMs: its execution hosts and
 * their requests (a monitor attaches, reports its state, ends), an
 * instance's life (its job submitted, signals, its end exactly once), and
 * reconciliation with the scheduler and the DHCP server. What it is made
 * of points one way: placements.h (which host holds which instance),
 * lease_server.h (the DHCP server), submit.h (jobs in worker processes).
 * See fleet.h. */
#include "daemon/fleet.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "basic/jsonutil.h"
#include "basic/log.h"
#include "batch/batch.h"
#include "core/ipam.h"
#include "core/ops_exam.h"
#include "daemon/lease_server.h"
#include "daemon/placements.h"
#include "daemon/submit.h"
#include "disk/disk.h"

#define RECONCILE_INTERVAL_MS 5000
#define DHCP_LOG_MAX (16ULL << 20) /* the DHCP server's log is rotated past this */

struct Fleet {
        EventLoop *loop;
        Controller *controller;
        const Settings *settings;
        const BatchBackend *batch;
        LeaseServer *leases; /* NULL: dhcp_backend = none */
        DhcpBackend *dhcp;   /* its backend, or NULL */
        EventSource *timer;
        uint64_t started_usec;
        Placements *placements;
        Submissions *submissions; /* jobs being submitted or cancelled */
        ControllerHooks hooks;
};

static void teardown(Fleet *f, uint32_t id, const char *reason);

/* "vm<id>": the instance's name at the DHCP server */
static void dhcp_name(uint32_t id, char buf[32]) { snprintf(buf, 32, "vm%u", id); }

#define RECONCILE_INTERVAL_MS 5000

/* ---- hosts ---- */

const char *fleet_node_name(const FleetNode *node) { return node->name; }

FleetNode *fleet_node_add(Fleet *f, const char *name, const NodeOps *ops, void *data) {
        bool replaced;
        FleetNode *n = placements_node_add(f->placements, name, ops, data, &replaced);
        if (replaced)
                log_warn("node %s connected again: the old connection is dropped", name);
        log_info("node %s is up", name);
        return n;
}

void fleet_node_remove(Fleet *f, FleetNode *node) {
        log_info("node %s is gone: its vms are ended unless it is back within %u s", node->name,
                 f->settings->reattach_grace_s);
        placements_node_remove(f->placements, node);
}

/* ---- cluster.* requests ---- */

/* The VNC password: from the kernel's random pool, or no attach at all
 * (never a guessable fallback). */
static int random_password(char buf[9], Error *err) {
        static const char chars[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        uint8_t raw[8];
        ssize_t n = getrandom(raw, sizeof(raw), 0);
        if (n != (ssize_t)sizeof(raw))
                return error_set(err, n < 0 ? -errno : -EIO, "cannot make a VNC password: getrandom: %s",
                                 n < 0 ? strerror(errno) : "short read");
        for (int i = 0; i < 8; i++)
                buf[i] = chars[raw[i] % (sizeof(chars) - 1)];
        buf[8] = 0;
        return 0;
}

/* A file the node opens for qemu, and as whom (docs/protocol.md). */
static json_t *file_json(const char *path, uint32_t uid, uint64_t dev, uint64_t ino) {
        json_t *o = json_pack("{s:s, s:I}", "path", path, "uid", (json_int_t)uid);
        if (dev || ino) {
                json_object_set_new(o, "dev", json_integer((json_int_t)dev));
                json_object_set_new(o, "ino", json_integer((json_int_t)ino));
        }
        return o;
}

#define CHAIN_MAX 16 /* a template of a template of ...: deeper is refused */

/* Disc d's recorded chain, top first: each file with its owner (the owner
 * of the vm the disc row belongs to) and identity. */
static int disc_chain(Store *s, const DiscRec *top, uint32_t top_owner, json_t **ret, Error *err) {
        json_t *chain = json_array();
        DiscRec d = *top;
        uint32_t owner = top_owner;
        for (int depth = 0;; depth++) {
                if (depth == CHAIN_MAX) {
                        json_decref(chain);
                        return error_set(err, -ELOOP, "disc %s: a backing chain deeper than %d", top->path, CHAIN_MAX);
                }
                json_array_append_new(chain, file_json(d.path, owner, d.dev, d.ino));
                if (!d.backing)
                        break;
                VmRec base;
                int r = store_disc_get(s, d.backing, &d);
                if (r >= 0)
                        r = store_vm_get(s, d.vm, &base);
                if (r < 0) {
                        json_decref(chain);
                        return store_get_error(s, r, err, "the backing disc of %s is gone", top->path);
                }
                owner = base.owner;
        }
        *ret = chain;
        return 0;
}

/* What the host needs to boot the instance (the host adds its own part:
 * qemu binary, accel, where VNC listens, its files). Every file qemu uses
 * is named with the user the node opens it as: the discs' chains as each
 * file's owner, the kernel and initrd as the vm's owner, the cdrom as the
 * runner; qemu gets them as fds. */
static int boot_spec(Store *s, const InstanceRec *inst, const VmRec *vm, const DiscRec *d, size_t nd, json_t **ret,
                     Error *err) {
        json_t *discs = json_array();
        for (size_t i = 0; i < nd; i++) {
                json_t *chain = NULL;
                int r = disc_chain(s, &d[i], vm->owner, &chain, err);
                if (r < 0) {
                        json_decref(discs);
                        return r;
                }
                json_array_append_new(discs, chain);
        }
        char ip[16];
        ipv4_format(inst->ip, ip);
        json_t *spec = json_pack("{s:I, s:I, s:s, s:I, s:I, s:o, s:s, s:s, s:s, s:b, s:i, s:s}", "instance",
                                 (json_int_t)inst->id, "uid", (json_int_t)inst->uid, "name", vm->name, "mem_mib",
                                 (json_int_t)(inst->mem >> 20), "vcpus", (json_int_t)inst->vcpus, "discs", discs,
                                 "cmdline", vm->cmdline, "mac", inst->mac, "ip", ip, "isolated", inst->isolated,
                                 "vnc_display", inst->vnc_display, "vnc_password", inst->vnc_password);
        if (*vm->kernel)
                json_object_set_new(spec, "kernel", file_json(vm->kernel, vm->owner, 0, 0));
        if (*vm->initrd)
                json_object_set_new(spec, "initrd", file_json(vm->initrd, vm->owner, 0, 0));
        if (*inst->cdrom)
                json_object_set_new(spec, "cdrom", file_json(inst->cdrom, inst->uid, 0, 0));
        /* the isolation filters' IPv6 beyond link-local (net/filter.h FilterVm.ipv6) */
        json_object_set_new(spec, "ipv6", json_boolean(inst->ipv6));
        *ret = spec;
        return 0;
}

/* instance, which must be uid's (root: any) */
static int get_owned_instance(Fleet *f, uint32_t id, uint32_t uid, InstanceRec *ret, Error *err) {
        int r = id == 0 ? -ENOENT : store_instance_get(f->controller->store, id, ret);
        if (r == 0 && uid != 0 && ret->uid != uid)
                r = -ENOENT;
        return r < 0 ? store_get_error(f->controller->store, r, err, "no such instance %u for uid %u", id, uid) : 0;
}

static int update_instance(Store *s, const InstanceRec *inst, Error *err) {
        int r = store_begin(s, err);
        if (r < 0)
                return r;
        if ((r = store_instance_update(s, inst, err)) < 0 || (r = store_commit(s, err)) < 0)
                store_rollback(s);
        return r;
}

/* A monitor on node asks to start an instance: is it this user's instance,
 * waiting, and this scheduler job? Then the lease, the state "starting"
 * with host, tap and display, and the spec. */
int fleet_attach(Fleet *f, FleetNode *node, const ClusterAttach *req, json_t **ret, Error *err) {
        Store *s = f->controller->store;
        InstanceRec inst;
        int r = get_owned_instance(f, req->instance, req->uid, &inst, err);
        if (r < 0)
                return r;
        if (inst.state != INSTANCE_SUBMITTED)
                return error_set(err, -EBUSY, "instance %u is %s, not waiting to start", inst.id,
                                 instance_state_to_string(inst.state));
        if (placements_of(f->placements, inst.id))
                return error_set(err, -EBUSY, "instance %u already has a monitor", inst.id);
        /* a scheduler's job must be this instance's job, not any job of the user */
        if (!*inst.job_id && submissions_pending(f->submissions, inst.id))
                return error_set(err, -EAGAIN, "instance %u: its job is still being submitted; try again", inst.id);
        /* believed only for what the node could prove (batch/peer.h): a
         * starter run by hand, or inside another job, gets nothing */
        const char *proven = batch_peer_job(&req->proof, inst.backend);
        if (!proven || !streq(proven, inst.job_id))
                return error_set(err, -EPERM,
                                 "this starter is not job %s of instance %u (%s): refused (it says job %s, the node "
                                 "found %s)",
                                 inst.job_id, inst.id, inst.backend, req->job_id ? req->job_id : "(none)",
                                 proven && *proven ? proven : "no job of that scheduler around it");
        if (*inst.exehost && !streq(inst.exehost, node->name)) {
                /* its job ran here anyway and will not run again: end it */
                r = error_set(err, -EPERM, "instance %u is pinned to host %s, not %s", inst.id, inst.exehost,
                              node->name);
                teardown(f, inst.id, err->message);
                return r;
        }
        if (!req->tap || strlen(req->tap) >= sizeof(inst.tap) || req->vnc_display < 0 || req->vnc_display > 10000)
                return error_set(err, -EINVAL, "bad tap or vnc display");
        VmRec vm;
        if ((r = store_vm_get(s, inst.vm, &vm)) < 0)
                return store_get_error(s, r, err, "vm %u of instance %u is gone", inst.vm, inst.id);
        _cleanup_free_ DiscRec *d = NULL;
        size_t nd = 0;
        if ((r = store_disc_list(s, vm.id, &d, &nd)) < 0)
                return error_set(err, r, "cannot list discs");
        inst.vnc_display = req->vnc_display;
        if ((r = random_password(inst.vnc_password, err)) < 0)
                return r;
        snprintf(inst.tap, sizeof(inst.tap), "%s", req->tap);
        snprintf(inst.exehost, sizeof(inst.exehost), "%s", node->name);
        inst.state = INSTANCE_STARTING;
        json_t *spec = NULL;
        if ((r = boot_spec(s, &inst, &vm, d, nd, &spec, err)) < 0)
                return r;
        char name[32], ip[16];
        dhcp_name(inst.id, name);
        ipv4_format(inst.ip, ip);
        if (f->dhcp && (r = dhcp_host_add(f->dhcp, name, inst.mac, ip, err)) < 0) {
                json_decref(spec);
                return r;
        }
        if ((r = update_instance(s, &inst, err)) < 0) {
                if (f->dhcp)
                        dhcp_host_remove(f->dhcp, name, inst.mac, ip, NULL);
                json_decref(spec);
                return r;
        }
        placements_set(f->placements, inst.id, node);
        *ret = spec;
        log_info("instance %u: monitor attached on %s (uid %u), %s %s, vnc :%d", inst.id, node->name, inst.uid, ip,
                 inst.mac, inst.vnc_display);
        return 0;
}

/* A monitor came back after its host's vmbatchd restarted. */
int fleet_reattach(Fleet *f, FleetNode *node, uint32_t instance, uint32_t uid, ClusterPlacement *ret, Error *err) {
        InstanceRec inst;
        int r = get_owned_instance(f, instance, uid, &inst, err);
        if (r < 0)
                return r;
        if (inst.state == INSTANCE_SUBMITTED || inst.state == INSTANCE_RESERVED)
                return error_set(err, -EINVAL, "instance %u was never started", inst.id);
        if (!streq(inst.exehost, node->name))
                return error_set(err, -EPERM, "instance %u runs on %s, not %s", inst.id, inst.exehost, node->name);
        FleetNode *holder = placements_of(f->placements, inst.id);
        if (holder && holder != node)
                return error_set(err, -EBUSY, "instance %u already has a monitor", inst.id);
        placements_set(f->placements, inst.id, node);
        *ret = (ClusterPlacement){.state = inst.state, .isolated = inst.isolated, .vnc_display = inst.vnc_display};
        snprintf(ret->tap, sizeof(ret->tap), "%s", inst.tap);
        snprintf(ret->mac, sizeof(ret->mac), "%s", inst.mac);
        ipv4_format(inst.ip, ret->ip);
        log_info("instance %u: monitor re-attached on %s", inst.id, node->name);
        return 0;
}

static int placed_instance(Fleet *f, FleetNode *node, uint32_t id, Error *err) {
        if (placements_of(f->placements, id) != node)
                return error_set(err, -ENOENT, "instance %u has no monitor on %s", id, node->name);
        return 0;
}

int fleet_state(Fleet *f, FleetNode *node, uint32_t id, InstanceState state, Error *err) {
        int r = placed_instance(f, node, id, err);
        if (r < 0)
                return r;
        if (state != INSTANCE_RUNNING && state != INSTANCE_PAUSED && state != INSTANCE_STOPPING)
                return error_set(err, -EINVAL, "bad state '%s'", instance_state_to_string(state) ?: "?");
        InstanceRec inst;
        if ((r = store_instance_get(f->controller->store, id, &inst)) < 0)
                return store_get_error(f->controller->store, r, err, "instance %u is gone", id);
        if (state == INSTANCE_RUNNING && !*inst.started)
                store_now_utc(inst.started, sizeof(inst.started));
        inst.state = state;
        if ((r = update_instance(f->controller->store, &inst, err)) < 0)
                return r;
        log_info("instance %u: %s", inst.id, instance_state_to_string(state));
        return 0;
}

int fleet_exit(Fleet *f, FleetNode *node, uint32_t id, const char *reason, Error *err) {
        int r = placed_instance(f, node, id, err);
        if (r < 0)
                return r;
        placements_drop(f->placements, id);
        teardown(f, id, reason ? reason : "the vm stopped");
        return 0;
}

void fleet_hello(Fleet *f, FleetNode *node, const ClusterMonitor *attached, size_t n) {
        for (size_t i = 0; i < n; i++) {
                ClusterPlacement p;
                Error e = {0};
                if (fleet_reattach(f, node, attached[i].instance, attached[i].uid, &p, &e) < 0)
                        log_warn("node %s: %s", node->name, e.message);
        }
}


/* ---- the end of an instance ---- */

/* Free the lease, the disc access of a runner, the address (the row), and
 * refresh the storage the VM's discs occupy, exactly once; inside an open
 * transaction. */
static int teardown_locked(Fleet *f, const InstanceRec *inst, const char *reason, Error *err) {
        Store *s = f->controller->store;
        char name[32], ip[16];
        dhcp_name(inst->id, name);
        ipv4_format(inst->ip, ip);
        Error e = {0};
        if (f->dhcp && dhcp_host_remove(f->dhcp, name, inst->mac, ip, &e) < 0)
                log_warn("instance %u: removing the lease failed: %s", inst->id, e.message);
        placements_drop(f->placements, inst->id);
        submissions_cancel(f->submissions, inst->id);
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

static void teardown(Fleet *f, uint32_t id, const char *reason) {
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

/* ---- controller hooks and the submission of jobs ---- */

/* The scheduler's request for inst (whose walltime_s is set); log_path and
 * job_name are the buffers it points into. */
static void batch_request(Fleet *f, const InstanceRec *inst, const Cred *cred, char *log_path, size_t log_len,
                          char job_name[32], char warm_ready[EXAM_WARM_READY_MAX],
                          char reservation[EXAM_RESV_ID_MAX], BatchSubmit *req) {
        bool warm = exam_warm_marker(f->controller, inst->vm, warm_ready);
        /* an exam member's vm: its job runs in the exam's reservation, when it holds one */
        if (!reservation || store_exam_resv_for_vm(f->controller->store, inst->vm, reservation, EXAM_RESV_ID_MAX) < 0)
                reservation = NULL;
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
                .warm_ready = warm ? warm_ready : NULL,
                .reservation = reservation,
        };
}

static int hook_launch(void *userdata, InstanceRec *inst, Error *err) {
        Fleet *f = userdata;
        Cred cred;
        char cname[64];
        int r = cred_from_uid(inst->uid, &cred, cname, sizeof(cname), err);
        if (r < 0)
                return r;
        snprintf(inst->backend, sizeof(inst->backend), "%s", f->batch->name);
        if (f->batch->slow_submit) {
                submissions_queue(f->submissions, inst->id, inst->walltime_s); /* the job id comes later */
                return 0;
        }
        char log_path[PATH_MAX + 64], job_name[32], job[64], warm_ready[EXAM_WARM_READY_MAX];
        BatchSubmit req;
        batch_request(f, inst, &cred, log_path, sizeof(log_path), job_name, warm_ready, NULL,
                      &req); /* local: no reservations */
        if ((r = f->batch->submit(&req, job, sizeof(job), err)) < 0)
                return r;
        snprintf(inst->job_id, sizeof(inst->job_id), "%s", job);
        log_info("instance %u submitted to %s as job %s%s%s", inst->id, f->batch->name, job,
                 req.host ? " on " : "", req.host ? req.host : "");
        return 0;
}

static int submit_request(void *userdata, uint32_t instance, uint32_t walltime_s, SubmitRequest *ret, Error *err) {
        Fleet *f = userdata;
        int r = store_instance_get(f->controller->store, instance, &ret->inst);
        if (r < 0) /* -ENOENT: vm.run rolled back after queueing */
                return r == -ENOENT ? r : store_get_error(f->controller->store, r, err, "instance %u", instance);
        r = cred_from_uid(ret->inst.uid, &ret->cred, ret->cname, sizeof(ret->cname), err);
        if (r < 0)
                return r == -ENOENT ? error_set(err, -ESRCH, "%s", err->message) : r;
        ret->inst.walltime_s = walltime_s;
        batch_request(f, &ret->inst, &ret->cred, ret->log_path, sizeof(ret->log_path), ret->job_name, ret->warm_ready,
                      ret->reservation,
                      &ret->req);
        return 0;
}

static void submit_outcome(void *userdata, uint32_t id, const char *job, const char *why) {
        Fleet *f = userdata;
        Store *st = f->controller->store;
        InstanceRec inst;
        bool waiting = store_instance_get(st, id, &inst) == 0 && inst.state == INSTANCE_SUBMITTED && !*inst.job_id;
        if (job && !waiting) {
                log_info("instance %u: cancelling job %s (stopped while it was submitted)", id, job);
                submissions_cancel_job(f->submissions, f->batch, job);
        } else if (job) {
                Error err = {0};
                snprintf(inst.job_id, sizeof(inst.job_id), "%s", job);
                int r = store_begin(st, &err);
                if (r >= 0 && (r = store_instance_update(st, &inst, &err)) >= 0)
                        r = store_commit(st, &err);
                if (r < 0) {
                        store_rollback(st);
                        log_error("instance %u: cannot record job %s: %s", id, job, err.message);
                } else
                        log_info("instance %u submitted to %s as job %s", id, f->batch->name, job);
        } else if (waiting) {
                log_warn("instance %u: %s", id, why);
                teardown(f, id, why);
        }
}

static int hook_signal(void *userdata, const InstanceRec *inst, InstanceAction action, Error *err) {
        Fleet *f = userdata;
        FleetNode *p = placements_of(f->placements, inst->id);
        if (p) {
                int r = p->ops->signal(p->data, inst->id, action, err);
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
        submissions_cancel_job(f->submissions, batch_backend_find(inst->backend), inst->job_id);
        return teardown_locked(f, inst, "stopped before its monitor connected", err);
}

/* console.redeem: the node holding the instance's monitor connects to its
 * console (on this host; a remote node cannot yet: cluster_tcp.c) */
static int hook_console_connect(void *userdata, const InstanceRec *inst, int *ret_fd, Error *err) {
        Fleet *f = userdata;
        FleetNode *p = placements_of(f->placements, inst->id);
        if (!p)
                return error_set(err, -EAGAIN, "instance %u is %s: its monitor is not connected", inst->id,
                                 instance_state_to_string(inst->state));
        if (!p->ops->console_connect)
                return error_set(err, -ENOTSUP, "the console of an instance on another host is not reachable yet");
        return p->ops->console_connect(p->data, inst->id, ret_fd, err);
}

/* ---- reconciliation: instances whose job or monitor is gone are ended,
 * and leases nobody owns are removed. Runs at start and every few seconds.
 * An instance whose monitor is not attached is left alone while the
 * controller itself or its host came or went within reattach_grace. ---- */


/* queued: ended when the scheduler no longer knows its job */
static void sync_queued(Fleet *f, const InstanceRec *inst, bool in_grace) {
        if (!*inst->job_id) {
                /* being submitted; or we restarted while it was, and its job
                 * id is lost (a job of it would be refused at attach) */
                if (!submissions_pending(f->submissions, inst->id) && !in_grace)
                        teardown(f, inst->id, "its job submission was interrupted");
                return;
        }
        const BatchBackend *b = batch_backend_find(inst->backend);
        BatchJobState st;
        Error e = {0};
        int r = b ? b->state(inst->job_id, &st, &e) : -ENOENT;
        if (r < 0 && b)
                log_warn("instance %u: cannot read the state of job %s: %s", inst->id, inst->job_id, e.message);
        else if (r == 0 && st == BATCH_JOB_GONE)
                teardown(f, inst->id, "its job ended before the vm started");
}

static void sync_leases(Fleet *f) {
        char **hosts = NULL;
        size_t nh = 0;
        if (dhcp_host_list(f->dhcp, &hosts, &nh, NULL) < 0)
                return;
        for (size_t i = 0; i < nh; i++) {
                unsigned id;
                InstanceRec inst;
                if (sscanf(hosts[i], "vm%u", &id) != 1 ||
                    (store_instance_get(f->controller->store, id, &inst) == 0 && inst.state != INSTANCE_RESERVED &&
                     inst.state != INSTANCE_SUBMITTED))
                        continue;
                dhcp_host_remove(f->dhcp, hosts[i], NULL, NULL, NULL);
                log_info("removed leftover lease %s", hosts[i]);
        }
        dhcp_names_free(hosts);
}

void fleet_reconcile(Fleet *f) {
        Store *s = f->controller->store;
        _cleanup_free_ uint32_t *ids = NULL;
        size_t nids = 0;
        if (store_instance_ids_all(s, &ids, &nids) < 0)
                return;
        bool in_grace = now_usec() - f->started_usec < (uint64_t)f->settings->reattach_grace_s * 1000000;
        for (size_t i = 0; i < nids; i++) {
                InstanceRec inst;
                if (store_instance_get(s, ids[i], &inst) < 0 || inst.state == INSTANCE_RESERVED ||
                    placements_of(f->placements, inst.id))
                        continue;
                if (inst.state == INSTANCE_SUBMITTED) {
                        sync_queued(f, &inst, in_grace);
                        continue;
                }
                if (in_grace || placements_host_changed_recently(f->placements, inst.exehost))
                        continue; /* its monitor may still come back */
                submissions_cancel_job(f->submissions, batch_backend_find(inst.backend), inst.job_id);
                teardown(f, inst.id,
                         placements_node_by_name(f->placements, inst.exehost) ? "its monitor did not come back"
                                                             : "its host is gone");
        }
        if (f->dhcp) {
                Error e = {0};
                if (dhcp_log_rotate(f->dhcp, DHCP_LOG_MAX, &e) < 0)
                        log_warn("%s", e.message);
        }
        if (!in_grace && f->dhcp)
                sync_leases(f);
}

/* ---- setup ---- */

static int on_timer(EventSource *s, void *userdata) {
        fleet_reconcile(userdata);
        return 0;
}

int fleet_new(EventLoop *loop, Controller *controller, Fleet **ret, Error *err) {
        const Settings *st = controller->settings;
        Fleet *f = xcalloc(1, sizeof(*f));
        f->loop = loop;
        f->controller = controller;
        f->settings = st;
        f->started_usec = now_usec();
        f->batch = batch_backend_find(st->batch_backend);
        if (!f->batch) {
                free(f);
                return error_set(err, -EINVAL, "unknown batch backend '%s'", st->batch_backend);
        }
        char jobs[PATH_MAX + 16];
        mkdir(st->state_dir, 0755);
        snprintf(jobs, sizeof(jobs), "%s/jobs", st->state_dir);
        mkdir(jobs, 0755);
        SubmitOps ops = {.request = submit_request, .outcome = submit_outcome, .data = f};
        int r;
        if ((r = submissions_new(loop, f->batch, &ops, &f->submissions, err)) < 0 ||
            (st->dhcp_backend != DHCP_NONE && (r = lease_server_new(loop, st, &f->leases, err)) < 0)) {
                submissions_free(f->submissions);
                free(f);
                return r;
        }
        f->dhcp = lease_server_dhcp(f->leases);
        f->placements = placements_new(st->reattach_grace_s);
        event_add_timer(loop, RECONCILE_INTERVAL_MS, on_timer, f, &f->timer);
        f->hooks = (ControllerHooks){.launch = hook_launch, .signal = hook_signal,
                                     .console_connect = hook_console_connect};
        controller->hooks = &f->hooks;
        controller->hooks_data = f;
        *ret = f;
        return 0;
}

void fleet_free(Fleet *f) {
        if (!f)
                return;
        event_source_free(f->timer);
        lease_server_free(f->leases);
        submissions_free(f->submissions);
        placements_free(f->placements);
        f->controller->hooks = NULL;
        free(f);
}
