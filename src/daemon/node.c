/* node.c - the node role: requests from starters (attach, reattach,
 * state, exit), the liveness of their connections, and setting up the
 * host (bridge, DHCP server, isolation filters). See node-internal.h. */
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

#define RECONCILE_INTERVAL_MS 5000
#define VNC_DISPLAY_MAX 1000

/* ---- attachments: which connection is which instance's starter ---- */

Attachment *att_by_instance(Node *n, uint32_t id) {
        for (size_t i = 0; i < n->n_att; i++)
                if (n->att[i].instance == id)
                        return &n->att[i];
        return NULL;
}

Attachment *att_by_client(Node *n, NodeClient *c) {
        for (size_t i = 0; i < n->n_att; i++)
                if (n->att[i].client == c)
                        return &n->att[i];
        return NULL;
}

void att_add(Node *n, uint32_t id, NodeClient *c) {
        n->att = realloc(n->att, (n->n_att + 1) * sizeof(Attachment));
        if (!n->att)
                abort();
        n->att[n->n_att++] = (Attachment){id, c};
}

void att_remove(Node *n, Attachment *a) {
        *a = n->att[--n->n_att];
}

/* ---- node.* requests from starters ---- */

static int pick_vnc_display(Node *n, int *ret) {
        json_t *all = NULL;
        if (store_instance_list(n->controller->store, NULL, &all) < 0)
                return -EIO;
        for (int d = 1; d < VNC_DISPLAY_MAX; d++) {
                bool used = false;
                size_t i;
                json_t *v;
                json_array_foreach(all, i, v) {
                        if (json_integer_value(json_object_get(v, "vnc_display")) == d &&
                            streq(json_string_value(json_object_get(v, "exehost")), n->hostname))
                                used = true;
                }
                if (used)
                        continue;
                /* also skip ports something else holds (a busy display) */
                struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(5900 + d))};
                if (inet_pton(AF_INET, n->settings->vnc_listen, &sa.sin_addr) != 1)
                        sa.sin_addr.s_addr = htonl(INADDR_ANY);
                int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                int one = 1;
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                bool free_port = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
                if (fd >= 0)
                        close(fd);
                if (free_port) {
                        json_decref(all);
                        *ret = d;
                        return 0;
                }
        }
        json_decref(all);
        return -EADDRINUSE;
}

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

/* The starter's private directory (QMP socket): made here, owned by the
 * user, removed at teardown whatever killed the starter. */
static json_t *boot_spec(Node *n, const InstanceRec *inst, const VmRec *vm, const DiscRec *d, size_t nd) {
        json_t *discs = json_array();
        for (size_t i = 0; i < nd; i++)
                json_array_append_new(discs, json_string(d[i].path));
        char ip[16];
        ipv4_format(inst->ip, ip);
        return json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s}",
                         "instance", (json_int_t)inst->id, "name", vm->name, "qemu_binary",
                         n->settings->qemu_binary, "accel", n->settings->accel, "mem_mib",
                         (json_int_t)(inst->mem >> 20), "vcpus", (json_int_t)inst->vcpus, "discs", discs, "kernel",
                         vm->kernel, "initrd", vm->initrd, "cmdline", vm->cmdline, "cdrom", inst->cdrom, "mac",
                         inst->mac, "ip", ip, "vnc_display", inst->vnc_display, "vnc_listen",
                         n->settings->vnc_listen, "vnc_password", inst->vnc_password, "exehost", n->hostname);
}

static void spec_set_serial(json_t *spec, const char *path) {
        json_object_set_new(spec, "serial_log", json_string(path));
}

static int get_owned_instance(Node *n, uint32_t uid, const json_t *args, InstanceRec *ret, Error *err) {
        uint64_t id;
        int r = json_get_u64(args, "instance", &id, err);
        if (r == -ENOENT)
                return error_set(err, -EINVAL, "missing instance");
        if (r < 0)
                return r;
        if (id > UINT32_MAX || store_instance_get(n->controller->store, (uint32_t)id, ret) < 0 ||
            (uid != 0 && ret->uid != uid))
                return error_set(err, -ENOENT, "no such instance %llu for uid %u", (unsigned long long)id, uid);
        return 0;
}

static int node_attach(Node *n, NodeClient *client, uint32_t uid, const json_t *args, json_t **ret, int *ret_fd,
                       Error *err) {
        Store *s = n->controller->store;
        InstanceRec inst;
        int r = get_owned_instance(n, uid, args, &inst, err);
        if (r < 0)
                return r;
        if (!streq(inst.state, "submitted"))
                return error_set(err, -EBUSY, "instance %u is %s, not waiting to start", inst.id, inst.state);
        if (att_by_instance(n, inst.id) || att_by_client(n, client))
                return error_set(err, -EBUSY, "instance %u already has a monitor", inst.id);
        /* a scheduler's job must be this instance's job, not any job of the user */
        const char *job = NULL;
        if ((r = json_get_string(args, "job_id", &job, err)) < 0 && r != -ENOENT)
                return r;
        if (!streq(inst.backend, "local") && !streq(job, inst.job_id))
                return error_set(err, -EPERM, "job %s is not the job of instance %u", job ? job : "(none)", inst.id);
        VmRec vm;
        Cred cred;
        char cname[64];
        if (store_vm_get(s, inst.vm, &vm) < 0)
                return error_set(err, -ENOENT, "vm %u of instance %u is gone", inst.vm, inst.id);
        if ((r = cred_from_uid(inst.uid, &cred, cname, sizeof(cname), err)) < 0)
                return r;
        DiscRec *d = NULL;
        size_t nd = 0;
        if ((r = store_disc_list(s, vm.id, &d, &nd)) < 0)
                return error_set(err, r, "cannot list discs");

        int display;
        if (pick_vnc_display(n, &display) < 0) {
                free(d);
                return error_set(err, -EADDRINUSE, "no free vnc display on %s", n->hostname);
        }
        char tap[LINK_NAME_MAX + 1], name[32], ip[16];
        link_tap_name(inst.id, tap, sizeof(tap));
        dhcp_name(inst.id, name);
        ipv4_format(inst.ip, ip);
        char serial[PATH_MAX + 64], rundir[PATH_MAX + 64];
        if ((r = serial_log_create(n, &inst, &cred, serial, sizeof(serial), err)) < 0 ||
            (r = runtime_dir_create(n, &inst, &cred, rundir, sizeof(rundir), err)) < 0) {
                free(d);
                return r;
        }
        int fd = -1;
        if ((r = link_tap_create(tap, cred.uid, cred.gid, n->settings->bridge, &fd, err)) < 0) {
                free(d);
                return r;
        }
        if (n->dhcp && (r = dhcp_host_add(n->dhcp, name, inst.mac, ip, err)) < 0) {
                close(fd);
                free(d);
                return r;
        }
        /* the filters exist before qemu can send its first frame */
        FilterVm fv = {.tap = tap, .mac = inst.mac, .ip = ip, .isolated = inst.isolated};
        if (n->filter && (r = filter_add(n->filter, &fv, err)) < 0) {
                close(fd);
                if (n->dhcp)
                        dhcp_host_remove(n->dhcp, name, inst.mac, ip, NULL);
                free(d);
                return r;
        }
        inst.vnc_display = display;
        random_password(inst.vnc_password);
        snprintf(inst.tap, sizeof(inst.tap), "%s", tap);
        snprintf(inst.exehost, sizeof(inst.exehost), "%s", n->hostname);
        snprintf(inst.state, sizeof(inst.state), "starting");
        if ((r = store_begin(s, err)) >= 0) {
                r = store_instance_update(s, &inst, err);
                if (r >= 0)
                        r = store_commit(s, err);
                else
                        store_rollback(s);
        }
        if (r < 0) {
                close(fd);
                if (n->filter)
                        filter_remove(n->filter, tap, NULL);
                if (n->dhcp)
                        dhcp_host_remove(n->dhcp, name, inst.mac, ip, NULL);
                free(d);
                return r;
        }
        att_add(n, inst.id, client);
        *ret = boot_spec(n, &inst, &vm, d, nd);
        spec_set_serial(*ret, serial);
        json_object_set_new(*ret, "runtime_dir", json_string(rundir));
        free(d);
        *ret_fd = fd;
        log_info("instance %u: monitor attached (uid %u), tap %s, %s %s, vnc :%d", inst.id, uid, tap, ip, inst.mac,
                 display);
        return 0;
}

static int node_reattach(Node *n, NodeClient *client, uint32_t uid, const json_t *args, json_t **ret, Error *err) {
        InstanceRec inst;
        int r = get_owned_instance(n, uid, args, &inst, err);
        if (r < 0)
                return r;
        if (streq(inst.state, "submitted") || streq(inst.state, "reserved"))
                return error_set(err, -EINVAL, "instance %u was never started", inst.id);
        if (att_by_instance(n, inst.id) || att_by_client(n, client))
                return error_set(err, -EBUSY, "instance %u already has a monitor", inst.id);
        att_add(n, inst.id, client);
        log_info("instance %u: monitor re-attached after a restart", inst.id);
        *ret = json_pack("{s:s}", "state", inst.state);
        return 0;
}

static int node_set_state(Node *n, NodeClient *client, const json_t *args, Error *err) {
        Attachment *a = att_by_client(n, client);
        if (!a)
                return error_set(err, -EINVAL, "this connection is not an instance's monitor");
        const char *state;
        int r = json_need_string(args, "state", &state, err);
        if (r < 0)
                return r;
        if (!streq(state, "running") && !streq(state, "paused") && !streq(state, "stopping"))
                return error_set(err, -EINVAL, "bad state '%s'", state);
        Store *s = n->controller->store;
        InstanceRec inst;
        if (store_instance_get(s, a->instance, &inst) < 0)
                return error_set(err, -ENOENT, "instance %u is gone", a->instance);
        if (streq(state, "running") && !*inst.started)
                store_now_utc(inst.started, sizeof(inst.started));
        snprintf(inst.state, sizeof(inst.state), "%s", state);
        if ((r = store_begin(s, err)) < 0)
                return r;
        if ((r = store_instance_update(s, &inst, err)) < 0 || (r = store_commit(s, err)) < 0) {
                store_rollback(s);
                return r;
        }
        log_info("instance %u: %s", inst.id, state);
        return 0;
}

int node_request(Node *n, NodeClient *client, uint32_t uid, const char *op, const json_t *args, json_t **ret_data,
                 int *ret_pass_fd, Error *err) {
        *ret_pass_fd = -1;
        if (!n || !client)
                return error_set(err, -ENOTSUP, "this vmbatchd has no node role");
        if (!args || !json_is_object(args))
                return error_set(err, -EINVAL, "args must be an object");
        if (streq(op, "node.attach"))
                return node_attach(n, client, uid, args, ret_data, ret_pass_fd, err);
        if (streq(op, "node.reattach"))
                return node_reattach(n, client, uid, args, ret_data, err);
        if (streq(op, "node.state")) {
                int r = node_set_state(n, client, args, err);
                if (r >= 0)
                        *ret_data = json_object();
                return r;
        }
        if (streq(op, "node.exit")) {
                Attachment *a = att_by_client(n, client);
                if (!a)
                        return error_set(err, -EINVAL, "this connection is not an instance's monitor");
                const char *why = "the vm stopped";
                json_get_string(args, "reason", &why, NULL);
                uint32_t id = a->instance;
                att_remove(n, a);
                teardown(n, id, why);
                *ret_data = json_object();
                return 0;
        }
        return error_set(err, -EINVAL, "unknown operation '%.64s'", op);
}

void node_client_closed(Node *n, NodeClient *client) {
        if (!n)
                return;
        Attachment *a = att_by_client(n, client);
        if (!a)
                return;
        uint32_t id = a->instance;
        att_remove(n, a);
        /* the connection is the liveness signal: no monitor, no vm */
        teardown(n, id, "its monitor went away");
}

static int on_timer(EventSource *s, void *userdata) {
        node_reconcile(userdata);
        return 0;
}

static int on_dhcp_exit(EventSource *src, int fd, uint32_t events, void *userdata) {
        Node *n = userdata;
        event_source_free(n->dhcp_watch);
        n->dhcp_watch = NULL;
        if (now_usec() - n->dhcp_restarted_usec < 1000000)
                usleep(500000); /* do not spin on a DHCP server that dies at once */
        n->dhcp_restarted_usec = now_usec();
        Error err = {0};
        int code = 0;
        dhcp_reap(n->dhcp, &code);
        log_warn("the DHCP server exited (status %d); restarting it", code);
        if (dhcp_start(n->dhcp, &err) < 0) {
                log_error("cannot restart the DHCP server: %s", err.message);
                return 0;
        }
        int wfd = dhcp_watch_fd(n->dhcp);
        if (wfd >= 0)
                event_add_io(n->loop, wfd, EPOLLIN, on_dhcp_exit, n, &n->dhcp_watch);
        return 0;
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

/* The isolation filters, from the addresses the controller hands out and
 * the bridge: the gateway (bridge_address or dhcp_gateway), the DHCP
 * server (on the bridge unless configured), and the allow-list. */
static int filters_new(Node *n, Error *err) {
        const Settings *st = n->settings;
        char gw[64] = "";
        if (!isempty(st->dhcp_gateway))
                snprintf(gw, sizeof(gw), "%s", st->dhcp_gateway);
        else if (!isempty(st->bridge_address)) {
                snprintf(gw, sizeof(gw), "%s", st->bridge_address);
                char *slash = strchr(gw, '/');
                if (slash)
                        *slash = 0;
        }
        if (!*gw)
                return error_set(err, -EINVAL, "isolation filters need the gateway: set bridge_address or dhcp_gateway "
                                               "(or filter_backend = none)");
        char allow_buf[sizeof(st->filter_allow)];
        snprintf(allow_buf, sizeof(allow_buf), "%s", st->filter_allow);
        const char *allow[64];
        size_t n_allow = 0;
        for (char *save = NULL, *tok = strtok_r(allow_buf, ", ", &save); tok && n_allow < 64;
             tok = strtok_r(NULL, ", ", &save))
                allow[n_allow++] = tok;
        FilterNet net = {
                .bridge = st->bridge,
                .gateway_ip = gw,
                .dhcp_ip = isempty(st->dhcp_server_ip) ? NULL : st->dhcp_server_ip,
                .dhcp_mac = isempty(st->dhcp_server_mac) ? NULL : st->dhcp_server_mac,
                .allow_ips = allow,
                .n_allow = n_allow,
                .broadcast_pps = st->broadcast_pps,
        };
        int r = filter_backend_new(st->filter_backend, &net, &n->filter, err);
        if (r >= 0)
                r = filter_setup(n->filter, err);
        if (r < 0) {
                filter_backend_free(n->filter);
                n->filter = NULL;
                error_prefix(err, "isolation filters (%s)", st->filter_backend);
        }
        return r;
}

int node_new(EventLoop *loop, Controller *controller, Node **ret, Error *err) {
        const Settings *st = controller->settings;
        Node *n = xcalloc(1, sizeof(*n));
        n->loop = loop;
        n->controller = controller;
        n->settings = st;
        n->started_usec = now_usec();
        gethostname(n->hostname, sizeof(n->hostname) - 1);
        n->batch = batch_backend_find(st->batch_backend);
        if (!n->batch) {
                free(n);
                return error_set(err, -EINVAL, "unknown batch backend '%s'", st->batch_backend);
        }
        char jobs[PATH_MAX + 16];
        snprintf(jobs, sizeof(jobs), "%s/jobs", st->state_dir);
        mkdir(st->state_dir, 0755);
        mkdir(jobs, 0755);
        snprintf(jobs, sizeof(jobs), "%s/run", st->state_dir);
        mkdir(jobs, 0755);
        int r = link_bridge_ensure(st->bridge, isempty(st->bridge_address) ? NULL : st->bridge_address, err);
        if (r < 0) {
                free(n);
                return r;
        }
        if (!streq(st->dhcp_backend, "none")) {
                char net[16] = "", mask[16] = "", dir[PATH_MAX + 16];
                if (streq(st->dhcp_backend, "dnsmasq") && split_range(st->dhcp_range, net, mask) < 0) {
                        free(n);
                        return error_set(err, -EINVAL, "config dhcp_range '%s' must be NET/MASK, e.g. "
                                                       "192.168.100.0/255.255.255.0", st->dhcp_range);
                }
                snprintf(dir, sizeof(dir), "%s/dhcp", st->state_dir);
                mkdir(dir, 0755);
                DhcpConfig dc = {
                        .backend = st->dhcp_backend,
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
                if ((r = dhcp_backend_new(&dc, &n->dhcp, err)) < 0 || (r = dhcp_start(n->dhcp, err)) < 0) {
                        dhcp_backend_free(n->dhcp);
                        free(n);
                        return r;
                }
                int wfd = dhcp_watch_fd(n->dhcp);
                if (wfd >= 0)
                        event_add_io(loop, wfd, EPOLLIN, on_dhcp_exit, n, &n->dhcp_watch);
        }
        if (!streq(st->filter_backend, "none") && (r = filters_new(n, err)) < 0) {
                event_source_free(n->dhcp_watch);
                dhcp_backend_free(n->dhcp);
                free(n);
                return r;
        }
        event_add_timer(loop, RECONCILE_INTERVAL_MS, on_timer, n, &n->timer);
        n->hooks = (ControllerHooks){.launch = hook_launch, .signal = hook_signal};
        controller->hooks = &n->hooks;
        controller->hooks_data = n;
        *ret = n;
        return 0;
}

void node_free(Node *n) {
        if (!n)
                return;
        event_source_free(n->timer);
        event_source_free(n->dhcp_watch);
        dhcp_backend_free(n->dhcp);
        filter_backend_free(n->filter); /* the rules stay: the vms keep running */
        n->controller->hooks = NULL;
        free(n->att);
        free(n);
}
