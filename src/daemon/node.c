#include "daemon/node.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "basic/jsonutil.h"
#include "basic/log.h"
#include "batch/batch.h"
#include "core/ipam.h"
#include "disk/disk.h"
#include "net/dhcp.h"
#include "net/filter.h"
#include "net/link.h"

#define RECONCILE_INTERVAL_MS 5000
#define VNC_DISPLAY_MAX 1000

typedef struct Attachment {
        uint32_t instance;
        NodeClient *client;
} Attachment;

struct Node {
        EventLoop *loop;
        Controller *controller;
        const Settings *settings;
        const BatchBackend *batch;
        DhcpBackend *dhcp;
        FilterBackend *filter;
        EventSource *dhcp_watch;
        uint64_t dhcp_restarted_usec;
        EventSource *timer;
        char hostname[256];
        uint64_t started_usec;
        Attachment *att;
        size_t n_att;
        ControllerHooks hooks;
};

/* ---- attachments: which connection is which instance's starter ---- */

static Attachment *att_by_instance(Node *n, uint32_t id) {
        for (size_t i = 0; i < n->n_att; i++)
                if (n->att[i].instance == id)
                        return &n->att[i];
        return NULL;
}

static Attachment *att_by_client(Node *n, NodeClient *c) {
        for (size_t i = 0; i < n->n_att; i++)
                if (n->att[i].client == c)
                        return &n->att[i];
        return NULL;
}

static void att_add(Node *n, uint32_t id, NodeClient *c) {
        n->att = realloc(n->att, (n->n_att + 1) * sizeof(Attachment));
        if (!n->att)
                abort();
        n->att[n->n_att++] = (Attachment){id, c};
}

static void att_remove(Node *n, Attachment *a) {
        *a = n->att[--n->n_att];
}

static int share_discs_with_runner(Node *n, const InstanceRec *inst, bool grant, Error *err);
static void runtime_dir_remove(Node *n, const InstanceRec *inst);

/* ---- teardown: exactly once, whatever ended the instance ---- */

static void dhcp_name(uint32_t id, char buf[32]) { snprintf(buf, 32, "vm%u", id); }

/* Inside an open transaction. Frees lease, tap, the address (the row) and
 * refreshes the storage the VM's discs now occupy. */
static int teardown_locked(Node *n, const InstanceRec *inst, const char *reason, Error *err) {
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

static void teardown(Node *n, uint32_t id, const char *reason) {
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
static int share_discs_with_runner(Node *n, const InstanceRec *inst, bool grant, Error *err) {
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

static int hook_launch(void *userdata, InstanceRec *inst, Error *err) {
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

static int hook_signal(void *userdata, const InstanceRec *inst, const char *action, Error *err) {
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
static void runtime_dir_path(Node *n, uint32_t id, char *buf, size_t len) {
        snprintf(buf, len, "%s/run/instance-%u", n->settings->state_dir, id);
}

static int runtime_dir_create(Node *n, const InstanceRec *inst, const Cred *cred, char *path, size_t len,
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

static void runtime_dir_remove(Node *n, const InstanceRec *inst) {
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
static int serial_log_create(Node *n, const InstanceRec *inst, const Cred *cred, char *path, size_t len, Error *err) {
        snprintf(path, len, "%s/jobs/instance-%u.serial", n->settings->state_dir, inst->id);
        unlink(path);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return error_set(err, -errno, "cannot create %s: %m", path);
        int r = fchown(fd, cred->uid, cred->gid) < 0 ? -errno : 0;
        close(fd);
        return r < 0 ? error_set(err, r, "cannot chown %s", path) : 0;
}

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

/* ---- reconciliation ---- */

static void sync_filters(Node *n);

void node_reconcile(Node *n) {
        Store *s = n->controller->store;
        uint32_t *ids = NULL;
        size_t nids = 0;
        if (store_instance_ids_all(s, &ids, &nids) < 0)
                return;
        bool in_grace = now_usec() - n->started_usec < (uint64_t)n->settings->reattach_grace_s * 1000000;
        for (size_t i = 0; i < nids; i++) {
                InstanceRec inst;
                if (store_instance_get(s, ids[i], &inst) < 0 || streq(inst.state, "reserved") ||
                    att_by_instance(n, inst.id))
                        continue;
                if (streq(inst.state, "submitted")) {
                        const BatchBackend *b = batch_backend_find(inst.backend);
                        BatchJobState st;
                        if (b && b->state(inst.job_id, &st, NULL) == 0 && st == BATCH_JOB_GONE)
                                teardown(n, inst.id, "its job ended before the vm started");
                        continue;
                }
                if (in_grace)
                        continue; /* a starter may still come back after our restart */
                const BatchBackend *b = batch_backend_find(inst.backend);
                if (b && *inst.job_id)
                        b->cancel(inst.job_id, NULL);
                teardown(n, inst.id, "its monitor did not come back");
        }
        if (n->filter)
                sync_filters(n);
        /* taps and leases nobody owns any more */
        char **names = NULL;
        size_t nn = 0;
        if (!in_grace && link_list_prefix(LINK_TAP_PREFIX, &names, &nn) == 0) {
                for (size_t i = 0; i < nn; i++) {
                        uint64_t tap_id;
                        if (link_tap_name_parse(names[i], &tap_id) < 0)
                                continue; /* "vmb" + digits only: never a bridge like vmbbr0 */
                        bool owned = false;
                        for (size_t k = 0; k < n->n_att; k++) {
                                char tap[LINK_NAME_MAX + 1];
                                link_tap_name(n->att[k].instance, tap, sizeof(tap));
                                owned |= streq(tap, names[i]);
                        }
                        if (!owned && link_delete(names[i], NULL) == 0)
                                log_info("removed leftover tap %s", names[i]);
                }
                link_names_free(names);
        }
        if (!in_grace && n->dhcp) {
                char **hosts = NULL;
                size_t nh = 0;
                if (dhcp_host_list(n->dhcp, &hosts, &nh, NULL) == 0) {
                        for (size_t i = 0; i < nh; i++) {
                                unsigned id;
                                InstanceRec inst;
                                if (sscanf(hosts[i], "vm%u", &id) != 1 ||
                                    (store_instance_get(s, id, &inst) == 0 && !streq(inst.state, "reserved") &&
                                     !streq(inst.state, "submitted")))
                                        continue;
                                dhcp_host_remove(n->dhcp, hosts[i], NULL, NULL, NULL);
                                log_info("removed leftover lease %s", hosts[i]);
                        }
                        dhcp_names_free(hosts);
                }
        }
        free(ids);
}

/* Make the rules exactly those of the instances that have a tap (also
 * after someone ran `nft flush ruleset`). */
static void sync_filters(Node *n) {
        Store *s = n->controller->store;
        uint32_t *ids = NULL;
        size_t nids = 0;
        if (store_instance_ids_all(s, &ids, &nids) < 0)
                return;
        InstanceRec *inst = xcalloc(nids + 1, sizeof(InstanceRec));
        FilterVm *vms = xcalloc(nids + 1, sizeof(FilterVm));
        char (*ips)[16] = xcalloc(nids + 1, 16);
        size_t nv = 0;
        for (size_t i = 0; i < nids; i++) {
                if (store_instance_get(s, ids[i], &inst[nv]) < 0 || !*inst[nv].tap ||
                    streq(inst[nv].state, "reserved") || streq(inst[nv].state, "submitted"))
                        continue;
                ipv4_format(inst[nv].ip, ips[nv]);
                vms[nv] = (FilterVm){.tap = inst[nv].tap, .mac = inst[nv].mac, .ip = ips[nv], .isolated = inst[nv].isolated};
                nv++;
        }
        Error err = {0};
        if (filter_sync(n->filter, vms, nv, &err) < 0)
                log_error("cannot re-apply the isolation filters: %s", err.message);
        free(ips);
        free(vms);
        free(inst);
        free(ids);
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
