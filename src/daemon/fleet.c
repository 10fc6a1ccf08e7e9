/* fleet.c - the controller's execution hosts and their cluster.* requests
 * (a monitor attaches, reports its state, ends), and the cluster's one
 * DHCP server. See fleet.h and fleet-internal.h. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include "basic/jsonutil.h"
#include "basic/log.h"
#include "core/ipam.h"
#include "daemon/fleet-internal.h"
#include "net/link.h"

#define RECONCILE_INTERVAL_MS 5000

/* ---- hosts and placements ---- */

const char *fleet_node_name(const FleetNode *node) { return node->name; }

FleetNode *fleet_node_by_name(Fleet *f, const char *name) {
        for (FleetNode *n = f->nodes; n; n = n->next)
                if (streq(n->name, name))
                        return n;
        return NULL;
}

static void host_changed(Fleet *f, const char *name) {
        for (size_t i = 0; i < f->n_changes; i++)
                if (streq(f->changes[i].name, name)) {
                        f->changes[i].usec = now_usec();
                        return;
                }
        f->changes = xrealloc(f->changes, (f->n_changes + 1) * sizeof(HostChange));
        HostChange *c = &f->changes[f->n_changes++];
        snprintf(c->name, sizeof(c->name), "%s", name);
        c->usec = now_usec();
}

bool host_changed_recently(Fleet *f, const char *name) {
        uint64_t grace = (uint64_t)f->settings->reattach_grace_s * 1000000;
        for (size_t i = 0; i < f->n_changes; i++)
                if (streq(f->changes[i].name, name))
                        return now_usec() - f->changes[i].usec < grace;
        return false;
}

Placement *placement_of(Fleet *f, uint32_t instance) {
        for (size_t i = 0; i < f->n_placed; i++)
                if (f->placed[i].instance == instance)
                        return &f->placed[i];
        return NULL;
}

void placement_set(Fleet *f, uint32_t instance, FleetNode *node) {
        Placement *p = placement_of(f, instance);
        if (p) {
                p->node = node;
                return;
        }
        f->placed = xrealloc(f->placed, (f->n_placed + 1) * sizeof(Placement));
        f->placed[f->n_placed++] = (Placement){instance, node};
}

void placement_drop(Fleet *f, uint32_t instance) {
        Placement *p = placement_of(f, instance);
        if (p)
                *p = f->placed[--f->n_placed];
}

FleetNode *fleet_node_add(Fleet *f, const char *name, const NodeOps *ops, void *data) {
        FleetNode *old = fleet_node_by_name(f, name);
        if (old) {
                log_warn("node %s connected again: the old connection is dropped", name);
                fleet_node_remove(f, old);
        }
        FleetNode *n = xcalloc(1, sizeof(*n));
        n->fleet = f;
        snprintf(n->name, sizeof(n->name), "%s", name);
        n->ops = ops;
        n->data = data;
        n->next = f->nodes;
        f->nodes = n;
        host_changed(f, name);
        log_info("node %s is up", name);
        return n;
}

void fleet_node_remove(Fleet *f, FleetNode *node) {
        for (FleetNode **p = &f->nodes; *p; p = &(*p)->next)
                if (*p == node) {
                        *p = node->next;
                        break;
                }
        for (size_t i = 0; i < f->n_placed;)
                if (f->placed[i].node == node)
                        f->placed[i] = f->placed[--f->n_placed];
                else
                        i++;
        host_changed(f, node->name);
        log_info("node %s is gone: its vms are ended unless it is back within %u s", node->name,
                 f->settings->reattach_grace_s);
        free(node);
}

/* ---- cluster.* requests ---- */

static void random_password(char buf[9]) {
        static const char chars[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        uint8_t raw[8] = {0};
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                (void)!read(fd, raw, sizeof(raw));
                close(fd);
        }
        for (int i = 0; i < 8; i++)
                buf[i] = chars[raw[i] % (sizeof(chars) - 1)];
        buf[8] = 0;
}

/* What the host needs to boot the instance (the host adds its own part:
 * qemu binary, accel, where VNC listens, files). */
static json_t *boot_spec(const InstanceRec *inst, const VmRec *vm, const DiscRec *d, size_t nd) {
        json_t *discs = json_array();
        for (size_t i = 0; i < nd; i++)
                json_array_append_new(discs, json_string(d[i].path));
        char ip[16];
        ipv4_format(inst->ip, ip);
        return json_pack("{s:I, s:I, s:s, s:I, s:I, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:i, s:s}", "instance",
                         (json_int_t)inst->id, "uid", (json_int_t)inst->uid, "name", vm->name, "mem_mib",
                         (json_int_t)(inst->mem >> 20), "vcpus", (json_int_t)inst->vcpus, "discs", discs, "kernel",
                         vm->kernel, "initrd", vm->initrd, "cmdline", vm->cmdline, "cdrom", inst->cdrom, "mac",
                         inst->mac, "ip", ip, "isolated", inst->isolated, "vnc_display", inst->vnc_display,
                         "vnc_password", inst->vnc_password);
}

/* instance, which must be uid's (root: any) */
static int get_owned_instance(Fleet *f, uint32_t id, uint32_t uid, InstanceRec *ret, Error *err) {
        if (id == 0 || store_instance_get(f->controller->store, id, ret) < 0 || (uid != 0 && ret->uid != uid))
                return error_set(err, -ENOENT, "no such instance %u for uid %u", id, uid);
        return 0;
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
        if (placement_of(f, inst.id))
                return error_set(err, -EBUSY, "instance %u already has a monitor", inst.id);
        /* a scheduler's job must be this instance's job, not any job of the user */
        if (!*inst.job_id && submission_of(f, inst.id))
                return error_set(err, -EAGAIN, "instance %u: its job is still being submitted; try again", inst.id);
        if (!streq(inst.backend, "local") && !streq(req->job_id, inst.job_id))
                return error_set(err, -EPERM, "job %s is not the job of instance %u",
                                 req->job_id ? req->job_id : "(none)", inst.id);
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
        if (store_vm_get(s, inst.vm, &vm) < 0)
                return error_set(err, -ENOENT, "vm %u of instance %u is gone", inst.vm, inst.id);
        DiscRec *d = NULL;
        size_t nd = 0;
        if ((r = store_disc_list(s, vm.id, &d, &nd)) < 0)
                return error_set(err, r, "cannot list discs");
        char name[32], ip[16];
        dhcp_name(inst.id, name);
        ipv4_format(inst.ip, ip);
        if (f->dhcp && (r = dhcp_host_add(f->dhcp, name, inst.mac, ip, err)) < 0) {
                free(d);
                return r;
        }
        inst.vnc_display = req->vnc_display;
        random_password(inst.vnc_password);
        snprintf(inst.tap, sizeof(inst.tap), "%s", req->tap);
        snprintf(inst.exehost, sizeof(inst.exehost), "%s", node->name);
        inst.state = INSTANCE_STARTING;
        if ((r = update_instance(s, &inst, err)) < 0) {
                if (f->dhcp)
                        dhcp_host_remove(f->dhcp, name, inst.mac, ip, NULL);
                free(d);
                return r;
        }
        placement_set(f, inst.id, node);
        *ret = boot_spec(&inst, &vm, d, nd);
        free(d);
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
        Placement *p = placement_of(f, inst.id);
        if (p && p->node != node)
                return error_set(err, -EBUSY, "instance %u already has a monitor", inst.id);
        placement_set(f, inst.id, node);
        *ret = (ClusterPlacement){.state = inst.state, .isolated = inst.isolated, .vnc_display = inst.vnc_display};
        snprintf(ret->tap, sizeof(ret->tap), "%s", inst.tap);
        snprintf(ret->mac, sizeof(ret->mac), "%s", inst.mac);
        ipv4_format(inst.ip, ret->ip);
        log_info("instance %u: monitor re-attached on %s", inst.id, node->name);
        return 0;
}

static int placed_instance(Fleet *f, FleetNode *node, uint32_t id, Error *err) {
        Placement *p = placement_of(f, id);
        if (!p || p->node != node)
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
        if (store_instance_get(f->controller->store, id, &inst) < 0)
                return error_set(err, -ENOENT, "instance %u is gone", id);
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
        placement_drop(f, id);
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

/* ---- the DHCP server ---- */

static int on_dhcp_exit(EventSource *src, int fd, uint32_t events, void *userdata);

static int dhcp_restart(Fleet *f) {
        event_source_free(TAKE_PTR(f->dhcp_retry));
        f->dhcp_restarted_usec = now_usec();
        Error err = {0};
        if (dhcp_start(f->dhcp, &err) < 0) {
                log_error("cannot restart the DHCP server: %s", err.message);
                return 0;
        }
        int wfd = dhcp_watch_fd(f->dhcp);
        if (wfd >= 0)
                event_add_io(f->loop, wfd, EPOLLIN, on_dhcp_exit, f, &f->dhcp_watch);
        return 0;
}

static int on_dhcp_retry(EventSource *src, void *userdata) {
        return dhcp_restart(userdata);
}

static int on_dhcp_exit(EventSource *src, int fd, uint32_t events, void *userdata) {
        Fleet *f = userdata;
        event_source_free(TAKE_PTR(f->dhcp_watch));
        int code = 0;
        dhcp_reap(f->dhcp, &code);
        log_warn("the DHCP server exited (status %d); restarting it", code);
        /* do not spin on a DHCP server that dies at once: the next start waits
         * half a second, on a timer (the loop goes on meanwhile) */
        if (now_usec() - f->dhcp_restarted_usec < 1000000 &&
            event_add_timer_once(f->loop, 500, on_dhcp_retry, f, &f->dhcp_retry) >= 0)
                return 0;
        return dhcp_restart(f);
}

static int split_range(const char *range, char *net, char *mask) {
        const char *slash = strchr(range, '/');
        if (!slash || slash - range > 15 || strlen(slash + 1) > 15)
                return -EINVAL;
        memcpy(net, range, (size_t)(slash - range));
        net[slash - range] = 0;
        strcpy(mask, slash + 1);
        uint32_t a;
        return ipv4_parse(net, &a) < 0 || ipv4_parse(mask, &a) < 0 ? -EINVAL : 0;
}

static int dhcp_server_new(Fleet *f, Error *err) {
        const Settings *st = f->settings;
        char net[16] = "", mask[16] = "", dir[PATH_MAX + 16];
        if (st->dhcp_backend == DHCP_DNSMASQ && split_range(st->dhcp_range, net, mask) < 0)
                return error_set(err, -EINVAL, "config dhcp_range '%s' must be NET/MASK, e.g. "
                                               "192.168.100.0/255.255.255.0", st->dhcp_range);
        snprintf(dir, sizeof(dir), "%s/dhcp", st->state_dir);
        mkdir(dir, 0755);
        DhcpConfig dc = {
                .backend = dhcp_kind_to_string(st->dhcp_backend),
                .interface = st->bridge,
                .state_dir = dir,
                .gateway = isempty(st->dhcp_gateway) ? NULL : st->dhcp_gateway,
                .range_net = net,
                .range_mask = mask,
                .omapi_server = st->omapi_server,
                .omapi_port = (uint16_t)st->omapi_port,
                .omapi_key_name = st->omapi_key_name,
                .omapi_secret = st->omapi_secret,
        };
        int r;
        /* a controller without VMs of its own still serves DHCP on the
         * segment: on its bridge, made here then */
        if (!st->node && st->dhcp_backend == DHCP_DNSMASQ &&
            (r = link_bridge_ensure(st->bridge, isempty(st->bridge_address) ? NULL : st->bridge_address, err)) < 0)
                return r;
        if ((r = dhcp_backend_new(&dc, &f->dhcp, err)) < 0 || (r = dhcp_start(f->dhcp, err)) < 0) {
                dhcp_backend_free(f->dhcp);
                f->dhcp = NULL;
                return r;
        }
        int wfd = dhcp_watch_fd(f->dhcp);
        if (wfd >= 0)
                event_add_io(f->loop, wfd, EPOLLIN, on_dhcp_exit, f, &f->dhcp_watch);
        return 0;
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
        f->kick_fd = -1;
        int r;
        if ((r = submissions_init(f, err)) < 0 ||
            (st->dhcp_backend != DHCP_NONE && (r = dhcp_server_new(f, err)) < 0)) {
                submissions_free(f);
                free(f);
                return r;
        }
        event_add_timer(loop, RECONCILE_INTERVAL_MS, on_timer, f, &f->timer);
        f->hooks = (ControllerHooks){.launch = hook_launch, .signal = hook_signal};
        controller->hooks = &f->hooks;
        controller->hooks_data = f;
        *ret = f;
        return 0;
}

void fleet_free(Fleet *f) {
        if (!f)
                return;
        event_source_free(f->timer);
        event_source_free(f->dhcp_watch);
        event_source_free(f->dhcp_retry);
        dhcp_backend_free(f->dhcp);
        submissions_free(f);
        while (f->nodes) {
                FleetNode *n = f->nodes;
                f->nodes = n->next;
                free(n);
        }
        f->controller->hooks = NULL;
        free(f->placed);
        free(f->changes);
        free(f);
}
