/* host.c - the node role: requests from starters (attach, reattach, state,
 * exit), the liveness of their connections, the host's bridge, taps and
 * isolation filters, and the files each instance gets here. See host.h. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "basic/frame.h"
#include "basic/jsonutil.h"
#include "basic/log.h"
#include "core/ipam.h"
#include "daemon/boot_files.h"
#include "daemon/host.h"
#include "disk/disk.h"
#include "net/filter.h"
#include "net/link.h"

#define RECONCILE_INTERVAL_MS 5000
#define OPENERS_MAX 8 /* workers opening VMs' files as their users */
#define VNC_DISPLAY_MAX 1000

/* an instance whose monitor (starter) is connected here */
typedef struct Attachment {
        uint32_t instance;
        uint32_t uid;
        NodeClient *client;
        int vnc_display;
        char tap[LINK_NAME_MAX + 1];
        char mac[18];
        char ip[16];
        bool isolated;
} Attachment;

struct Host {
        EventLoop *loop;
        const Settings *settings;
        FilterBackend *filter;
        EventSource *timer;
        char name[256];
        uint64_t started_usec;
        Attachment *att;
        size_t n_att;
        const ClusterOps *cluster;
        void *cluster_data;
        HostClientOps clients;
        struct HostCall *calls; /* requests the controller has not answered yet */
        Workers *openers;
};

/* A starter's request that waits for the controller's answer. */
typedef struct HostCall {
        Host *host;
        NodeClient *client; /* NULL once its connection closed */
        Attachment a;
        bool in_request; /* still inside host_request: the answer is returned, not sent */
        bool answered;
        int r;
        Error err;
        json_t *reply;
        DiscOpen *opening; /* the vm's files being opened (attach) */
        json_t *spec;      /* meanwhile */
        struct HostCall *next;
} HostCall;

/* ---- attachments ---- */

static Attachment *att_by_instance(Host *h, uint32_t id) {
        for (size_t i = 0; i < h->n_att; i++)
                if (h->att[i].instance == id)
                        return &h->att[i];
        return NULL;
}

static Attachment *att_by_client(Host *h, NodeClient *c) {
        for (size_t i = 0; i < h->n_att; i++)
                if (h->att[i].client == c)
                        return &h->att[i];
        return NULL;
}

static Attachment *att_add(Host *h, const Attachment *a) {
        h->att = xrealloc(h->att, (h->n_att + 1) * sizeof(Attachment));
        h->att[h->n_att] = *a;
        return &h->att[h->n_att++];
}

static void att_remove(Host *h, Attachment *a) { *a = h->att[--h->n_att]; }

/* ---- the files of an instance on this host ---- */

static void runtime_dir_path(Host *h, uint32_t id, char *buf, size_t len) {
        snprintf(buf, len, "%s/run/instance-%u", h->settings->state_dir, id);
}

/* The starter's private directory (QMP socket): made here, owned by the
 * user, removed at teardown whatever killed the starter. */
static int runtime_dir_create(Host *h, uint32_t id, const Cred *cred, char *path, size_t len, Error *err) {
        runtime_dir_path(h, id, path, len);
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return error_set(err, -errno, "cannot create %s: %m", path);
        struct stat st;
        if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
                return error_set(err, -ENOTDIR, "%s is not a directory", path);
        if (chown(path, cred->uid, cred->gid) < 0)
                return error_set(err, -errno, "cannot chown %s: %m", path);
        return 0;
}

/* The browser console's VNC server: qemu (the user) makes it in the run folder */
#define CONSOLE_SOCKET "vnc.sock"

static void runtime_dir_remove(Host *h, uint32_t id, uint32_t uid) {
        char path[PATH_MAX + 64], cname[64];
        Cred cred;
        runtime_dir_path(h, id, path, sizeof(path));
        if (access(path, F_OK) < 0 || cred_from_uid(uid, &cred, cname, sizeof(cname), NULL) < 0)
                return;
        /* its content is the user's: remove that as the user (who cannot
         * unlink the directory itself from our root-owned parent), then the
         * empty directory as root */
        disk_remove_tree(&cred, path, NULL);
        if (rmdir(path) < 0 && errno != ENOENT)
                log_warn("instance %u: cannot remove %s: %m", id, path);
}

/* The guest's serial console, kept beside the job log. Opened here, by
 * root, and handed to the starter as an fd (the spec's serial_log_fd): the
 * file belongs to root, so its user cannot write to it past the starter's
 * cap (serial_log_max) and fill state_dir; they may read it: 0640 with
 * their primary group when that group is theirs alone (named as they are,
 * the user-private groups of Debian's adduser), else 0600. */
static int serial_log_create(Host *h, uint32_t id, const Cred *cred, char *path, size_t len, int *ret_fd,
                             Error *err) {
        snprintf(path, len, "%s/jobs/instance-%u.serial", h->settings->state_dir, id);
        unlink(path);
        struct group *g = getgrgid(cred->gid);
        bool private_group = g && cred->name && streq(g->gr_name, cred->name) && (!g->gr_mem || !g->gr_mem[0]);
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return error_set(err, -errno, "cannot create %s: %m", path);
        if (private_group && (fchown(fd, 0, cred->gid) < 0 || fchmod(fd, 0640) < 0)) {
                int r = error_set(err, -errno, "cannot give %s to group %s: %m", path, g->gr_name);
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

/* ---- the host's half of the end of an instance: filters, tap, files ---- */

static void teardown_local(Host *h, const Attachment *a) {
        Error e = {0};
        if (h->filter && filter_remove(h->filter, a->tap, &e) < 0)
                log_warn("instance %u: removing filters of %s failed: %s", a->instance, a->tap, e.message);
        error_clear(&e);
        if (link_delete(a->tap, &e) < 0 && e.code != -ENODEV)
                log_warn("instance %u: removing tap %s failed: %s", a->instance, a->tap, e.message);
        runtime_dir_remove(h, a->instance, a->uid);
}

/* The monitor of a is gone (or said the vm ended): undo it here, then
 * tell the controller, which frees the lease and the address. */
static void detach(Host *h, Attachment *a, const char *reason) {
        Attachment copy = *a;
        att_remove(h, a);
        teardown_local(h, &copy);
        h->cluster->exit(h->cluster_data, copy.instance, reason);
        log_info("instance %u: ended here (%s)", copy.instance, reason);
}

/* ---- requests waiting for the controller ---- */

static HostCall *call_new(Host *h, NodeClient *client, const Attachment *a) {
        HostCall *c = xcalloc(1, sizeof(*c));
        c->host = h;
        c->client = client;
        c->a = *a;
        c->in_request = true;
        c->next = h->calls;
        h->calls = c;
        return c;
}

static void call_unlink(HostCall *c) {
        for (HostCall **p = &c->host->calls; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        break;
                }
}

static bool call_pending_for(Host *h, uint32_t instance, NodeClient *client) {
        for (HostCall *c = h->calls; c; c = c->next)
                if (c->a.instance == instance || (client && c->client == client))
                        return true;
        return false;
}

/* The call's answer: kept for host_request if it came at once (never with
 * fds: those come from workers), else sent to its client (if still there). */
static void call_answer(HostCall *c, int r, json_t *reply, const Error *err, const int *fds, size_t n_fds) {
        c->answered = true;
        c->r = r;
        if (r < 0)
                error_set(&c->err, r, "%s", err->message);
        if (c->in_request) {
                c->reply = reply;
                close_fds(fds, n_fds);
                return;
        }
        call_unlink(c);
        Host *h = c->host;
        if (c->client)
                h->clients.answer(h->clients.data, c->client, r, reply, &c->err, fds, n_fds);
        else {
                json_decref(reply);
                close_fds(fds, n_fds);
        }
        json_decref(c->spec);
        free(c);
}

/* After asking the controller: the answer if it came at once, else
 * HOST_PENDING. */
static int call_started(HostCall *c, json_t **ret, Error *err) {
        c->in_request = false;
        if (!c->answered)
                return HOST_PENDING;
        call_unlink(c);
        int r = c->r;
        if (r < 0)
                error_set(err, r, "%s", c->err.message);
        else
                *ret = c->reply;
        json_decref(c->spec);
        free(c);
        return r;
}

/* The starter went away while the controller was asked: the instance it
 * was to start (or had started) is over. */
static bool call_orphaned(HostCall *c) {
        if (c->client || c->in_request)
                return false;
        c->host->cluster->exit(c->host->cluster_data, c->a.instance, "its monitor went away");
        return true;
}

/* ---- node.* requests from starters ---- */

static int pick_vnc_display(Host *h, int *ret) {
        for (int d = 1; d < VNC_DISPLAY_MAX; d++) {
                bool used = false;
                for (size_t i = 0; i < h->n_att; i++)
                        used |= h->att[i].vnc_display == d;
                /* and those of attaches still waiting for the controller:
                 * starters attach within the same milliseconds (an exam's
                 * warm start, jobs released as its reservation starts) and
                 * their qemus bind later */
                for (HostCall *c = h->calls; c; c = c->next)
                        used |= c->a.vnc_display == d;
                if (used)
                        continue;
                /* also skip ports something else holds (a busy display) */
                struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(5900 + d))};
                if (inet_pton(AF_INET, h->settings->vnc_listen, &sa.sin_addr) != 1)
                        sa.sin_addr.s_addr = htonl(INADDR_ANY);
                int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                int one = 1;
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
                bool free_port = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
                if (fd >= 0)
                        close(fd);
                if (free_port) {
                        *ret = d;
                        return 0;
                }
        }
        return -EADDRINUSE;
}

static int arg_instance(const json_t *args, uint32_t *ret, Error *err) {
        int r = json_need_u32(args, "instance", ret, err);
        if (r >= 0 && *ret == 0)
                return error_set(err, -ENOENT, "no such instance 0");
        return r;
}

/* The host's own part of the spec: qemu, where VNC listens, files. */
static void spec_add_host(Host *h, json_t *spec, const char *serial, const char *rundir) {
        json_object_set_new(spec, "qemu_binary", json_string(h->settings->qemu_binary));
        json_object_set_new(spec, "accel", json_string(accel_kind_to_string(h->settings->accel)));
        json_object_set_new(spec, "vnc_listen", json_string(h->settings->vnc_listen));
        json_object_set_new(spec, "exehost", json_string(h->name));
        json_object_set_new(spec, "serial_log", json_string(serial));
        json_object_set_new(spec, "serial_log_max", json_integer((json_int_t)h->settings->serial_log_max));
        json_object_set_new(spec, "runtime_dir", json_string(rundir));
        char console[PATH_MAX + 80];
        snprintf(console, sizeof(console), "%s/" CONSOLE_SOCKET, rundir);
        if (strlen(console) < sizeof(((struct sockaddr_un *)NULL)->sun_path)) /* else: no browser console */
                json_object_set_new(spec, "console_socket", json_string(console));
}

/* The tap, filters and files of a starting instance, from the spec the
 * controller gave; the tap fd and the serial log's are the results. */
static int prepare(Host *h, Attachment *a, json_t *spec, int *ret_fd, int *ret_serial_fd, Error *err) {
        const char *mac, *ip;
        uint64_t uid;
        int r;
        if ((r = json_need_string(spec, "mac", &mac, err)) < 0 || (r = json_need_string(spec, "ip", &ip, err)) < 0 ||
            (r = json_get_u64(spec, "uid", &uid, err)) < 0)
                return r == -ENOENT ? error_set(err, -EBADMSG, "the controller's spec has no uid") : r;
        json_get_bool(spec, "isolated", &a->isolated, NULL);
        snprintf(a->mac, sizeof(a->mac), "%s", mac);
        snprintf(a->ip, sizeof(a->ip), "%s", ip);
        a->uid = (uint32_t)uid;
        Cred cred;
        char cname[64], serial[PATH_MAX + 64], rundir[PATH_MAX + 64];
        if ((r = cred_from_uid(a->uid, &cred, cname, sizeof(cname), err)) < 0 ||
            (r = serial_log_create(h, a->instance, &cred, serial, sizeof(serial), ret_serial_fd, err)) < 0)
                return r;
        if ((r = runtime_dir_create(h, a->instance, &cred, rundir, sizeof(rundir), err)) < 0 ||
            (r = link_tap_create(a->tap, cred.uid, cred.gid, h->settings->bridge, ret_fd, err)) < 0) {
                close(*ret_serial_fd);
                *ret_serial_fd = -1;
                return r;
        }
        /* the filters exist before qemu can send its first frame */
        FilterVm fv = {.tap = a->tap, .mac = a->mac, .ip = a->ip, .isolated = a->isolated};
        if (h->filter && (r = filter_add(h->filter, &fv, err)) < 0) {
                close(*ret_fd);
                close(*ret_serial_fd);
                *ret_fd = *ret_serial_fd = -1;
                return r;
        }
        spec_add_host(h, spec, serial, rundir);
        return 0;
}

/* The vm cannot start here after all: undone here and at the controller. */
static void attach_failed(HostCall *c, int r, const Error *err) {
        Host *h = c->host;
        char why[600];
        snprintf(why, sizeof(why), "cannot start on %.64s: %.400s", h->name, err->message);
        detach(h, att_add(h, &c->a), why);
        call_answer(c, r, NULL, err, NULL, 0);
}

/* The vm's files are open: the tap and filters, then the starter gets the
 * spec with the tap first and the files after it. */
static void on_files_opened(void *ctx, int r, const Error *err, int *fds, size_t n) {
        HostCall *c = ctx;
        Host *h = c->host;
        c->opening = NULL;
        Error e = {0};
        if (call_orphaned(c)) {
                close_fds(fds, n);
                call_answer(c, -ECONNRESET, NULL, &e, NULL, 0);
                return;
        }
        if (r < 0) {
                attach_failed(c, r, err);
                return;
        }
        int all[FRAME_FDS_MAX], serial_fd = -1;
        json_t *spec = TAKE_PTR(c->spec);
        if ((r = prepare(h, &c->a, spec, &all[0], &serial_fd, &e)) < 0) {
                close_fds(fds, n);
                json_decref(spec);
                attach_failed(c, r, &e);
                return;
        }
        memcpy(all + 1, fds, n * sizeof(int));
        boot_files_for_starter(spec, 1);
        /* last, after the files (DISC_OPEN_FILES_MAX + 2 <= FRAME_FDS_MAX) */
        all[n + 1] = serial_fd;
        json_object_set_new(spec, "serial_log_fd", json_integer((json_int_t)(n + 1)));
        Attachment *a = att_add(h, &c->a);
        log_info("instance %u: monitor attached (uid %u), tap %s, %s %s, vnc :%d, %zu files", a->instance, a->uid,
                 a->tap, a->ip, a->mac, a->vnc_display, n);
        call_answer(c, 0, spec, &e, all, n + 2);
}

static void on_attached(void *ctx, const ClusterAnswer *ans) {
        HostCall *c = ctx;
        Error err = {0};
        if (ans->r < 0) {
                call_answer(c, ans->r, NULL, ans->err, NULL, 0);
                return;
        }
        json_t *spec = ans->spec;
        if (call_orphaned(c)) {
                json_decref(spec);
                call_answer(c, -ECONNRESET, NULL, &err, NULL, 0);
                return;
        }
        _cleanup_free_ DiscFile *files = xcalloc(DISC_OPEN_FILES_MAX, sizeof(DiscFile)); /* 8 KiB each */
        size_t n = 0;
        int r = boot_files_from_spec(spec, files, DISC_OPEN_FILES_MAX, &n, &err);
        if (r >= 0 && n == 0)
                r = error_set(&err, -EINVAL, "the vm has no discs and no kernel to boot");
        if (r >= 0 && !(c->opening = disc_open_start(c->host->openers, files, n, on_files_opened, c)))
                r = error_set(&err, -EAGAIN, "cannot start a worker to open the vm's files");
        if (r < 0) {
                json_decref(spec);
                attach_failed(c, r, &err);
                return;
        }
        c->spec = spec; /* on_files_opened goes on */
}

static int node_attach(Host *h, NodeClient *client, uint32_t uid, pid_t pid, const json_t *args, json_t **ret,
                       Error *err) {
        Attachment a = {.client = client, .uid = uid};
        int r = arg_instance(args, &a.instance, err);
        if (r < 0)
                return r;
        if (att_by_instance(h, a.instance) || att_by_client(h, client) || call_pending_for(h, a.instance, client))
                return error_set(err, -EBUSY, "instance %u already has a monitor", a.instance);
        const char *job = NULL;
        if ((r = json_get_string(args, "job_id", &job, err)) < 0 && r != -ENOENT)
                return r;
        if (pick_vnc_display(h, &a.vnc_display) < 0)
                return error_set(err, -EADDRINUSE, "no free vnc display on %s", h->name);
        link_tap_name(a.instance, a.tap, sizeof(a.tap));
        ClusterAttach req = {.instance = a.instance, .uid = uid, .job_id = job, .tap = a.tap,
                             .vnc_display = a.vnc_display};
        if ((r = batch_peer_jobs(pid, &req.proof, err)) < 0)
                return r;
        HostCall *c = call_new(h, client, &a);
        h->cluster->attach(h->cluster_data, &req, on_attached, c);
        return call_started(c, ret, err);
}

static void on_reattached(void *ctx, const ClusterAnswer *ans) {
        HostCall *c = ctx;
        Host *h = c->host;
        Error err = {0};
        if (ans->r < 0) {
                call_answer(c, ans->r, NULL, ans->err, NULL, 0);
                return;
        }
        const ClusterPlacement *p = ans->placement;
        if (!filter_tap_is_valid(p->tap) || !*p->mac || !*p->ip || p->state < 0) {
                error_set(&err, -EBADMSG, "the controller's answer lacks the instance's tap, mac or ip");
                call_answer(c, err.code, NULL, &err, NULL, 0);
                return;
        }
        if (call_orphaned(c)) {
                call_answer(c, -ECONNRESET, NULL, &err, NULL, 0);
                return;
        }
        Attachment a = c->a;
        snprintf(a.tap, sizeof(a.tap), "%s", p->tap);
        snprintf(a.mac, sizeof(a.mac), "%s", p->mac);
        snprintf(a.ip, sizeof(a.ip), "%s", p->ip);
        a.isolated = p->isolated;
        a.vnc_display = p->vnc_display;
        att_add(h, &a);
        log_info("instance %u: monitor re-attached after a restart", a.instance);
        call_answer(c, 0, json_pack("{s:s}", "state", instance_state_to_string(p->state)), &err, NULL, 0);
}

static int node_reattach(Host *h, NodeClient *client, uint32_t uid, const json_t *args, json_t **ret, Error *err) {
        Attachment a = {.client = client, .uid = uid, .vnc_display = -1};
        int r = arg_instance(args, &a.instance, err);
        if (r < 0)
                return r;
        if (att_by_instance(h, a.instance) || att_by_client(h, client) || call_pending_for(h, a.instance, client))
                return error_set(err, -EBUSY, "instance %u already has a monitor", a.instance);
        HostCall *c = call_new(h, client, &a);
        h->cluster->reattach(h->cluster_data, a.instance, uid, on_reattached, c);
        return call_started(c, ret, err);
}

static void on_state_told(void *ctx, const ClusterAnswer *ans) {
        HostCall *c = ctx;
        call_answer(c, ans->r, ans->r < 0 ? NULL : json_object(), ans->err, NULL, 0);
}

static int node_state(Host *h, NodeClient *client, const Attachment *a, const json_t *args, json_t **ret,
                      Error *err) {
        const char *name;
        int r = json_need_string(args, "state", &name, err);
        if (r < 0)
                return r;
        InstanceState state = instance_state_from_string(name);
        if (state < 0)
                return error_set(err, -EINVAL, "bad state '%.32s'", name);
        HostCall *c = call_new(h, client, a);
        h->cluster->state(h->cluster_data, a->instance, state, on_state_told, c);
        return call_started(c, ret, err);
}

int host_request(Host *h, NodeClient *client, uint32_t uid, pid_t pid, const char *op, const json_t *args,
                 json_t **ret_data, Error *err) {
        if (!h || !client)
                return error_set(err, -ENOTSUP, "this vmbatchd has no node role");
        if (!args || !json_is_object(args))
                return error_set(err, -EINVAL, "args must be an object");
        if (streq(op, "node.attach"))
                return node_attach(h, client, uid, pid, args, ret_data, err);
        if (streq(op, "node.reattach"))
                return node_reattach(h, client, uid, args, ret_data, err);
        Attachment *a = att_by_client(h, client);
        if (!streq(op, "node.state") && !streq(op, "node.exit"))
                return error_set(err, -EINVAL, "unknown operation '%.64s'", op);
        if (!a)
                return error_set(err, -EINVAL, "this connection is not an instance's monitor");
        if (streq(op, "node.state"))
                return node_state(h, client, a, args, ret_data, err);
        const char *why = "the vm stopped";
        json_get_string(args, "reason", &why, NULL);
        detach(h, a, why);
        *ret_data = json_object();
        return 0;
}

void host_client_closed(Host *h, NodeClient *client) {
        if (!h)
                return;
        for (HostCall *c = h->calls; c; c = c->next)
                if (c->client == client)
                        c->client = NULL; /* its answer has nobody to go to */
        Attachment *a = att_by_client(h, client);
        if (a) /* the connection is the liveness signal: no monitor, no vm */
                detach(h, a, "its monitor went away");
}

int host_signal(Host *h, uint32_t instance, InstanceAction action, Error *err) {
        Attachment *a = att_by_instance(h, instance);
        if (!a)
                return error_set(err, -ENOENT, "instance %u has no monitor on %s", instance, h->name);
        if (action == ACTION_FREEZE) {
                /* the network first: a student who resumes their qemu over its
                 * QMP socket (the run folder is theirs) still reaches nobody */
                Error e = {0};
                if (link_cut(a->tap, &e) < 0)
                        log_warn("instance %u: %s", instance, e.message);
                action = ACTION_SUSPEND;
        }
        int r = h->clients.push(h->clients.data, a->client,
                                json_pack("{s:s}", "event", instance_action_to_string(action)));
        return r < 0 ? error_set(err, r, "cannot reach the starter of instance %u", instance) : 0;
}

/* The run folder is the user's: what is named vnc.sock there may be a
 * symlink to a socket of root's or a file. So the name is opened without
 * following it (O_PATH), must be a socket of the instance's user, and is
 * connected to through /proc/self/fd, which reaches that inode and no
 * other. A unix connect does not wait: a full backlog is EAGAIN. */
int host_console_connect(Host *h, uint32_t instance, int *ret_fd, Error *err) {
        Attachment *a = att_by_instance(h, instance);
        if (!a)
                return error_set(err, -ENOENT, "instance %u has no monitor on %s", instance, h->name);
        char dir[PATH_MAX + 64];
        runtime_dir_path(h, instance, dir, sizeof(dir));
        _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_close_ int pfd = dfd < 0 ? -1 : openat(dfd, CONSOLE_SOCKET, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (pfd < 0 || fstat(pfd, &st) < 0)
                return error_set(err, -ENOENT, "instance %u has no console socket (its qemu is older than the "
                                               "browser console, or still starting)", instance);
        if (!S_ISSOCK(st.st_mode) || st.st_uid != a->uid)
                return error_set(err, -EPERM, "instance %u: %s/" CONSOLE_SOCKET " is not its qemu's socket", instance,
                                 dir);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d", pfd);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return error_set(err, -errno, "socket: %m");
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return error_set(err, r == -EAGAIN ? -EBUSY : r, "cannot connect to the console of instance %u: %s",
                                 instance, strerror(-r));
        }
        *ret_fd = fd;
        return 0;
}

size_t host_monitors(Host *h, ClusterMonitor **ret) {
        ClusterMonitor *list = xcalloc(h->n_att + 1, sizeof(ClusterMonitor));
        for (size_t i = 0; i < h->n_att; i++)
                list[i] = (ClusterMonitor){.instance = h->att[i].instance, .uid = h->att[i].uid};
        *ret = list;
        return h->n_att;
}

const char *host_name(const Host *h) { return h->name; }

void host_set_cluster(Host *h, const ClusterOps *ops, void *data) {
        h->cluster = ops;
        h->cluster_data = data;
}

void host_set_clients(Host *h, const HostClientOps *ops) { h->clients = *ops; }

/* ---- reconciliation: what exists here is what is attached ---- */

void host_reconcile(Host *h) {
        if (now_usec() - h->started_usec < (uint64_t)h->settings->reattach_grace_s * 1000000)
                return; /* starters may still come back after our restart */
        if (h->filter) {
                FilterVm *vms = xcalloc(h->n_att + 1, sizeof(FilterVm));
                for (size_t i = 0; i < h->n_att; i++)
                        vms[i] = (FilterVm){.tap = h->att[i].tap, .mac = h->att[i].mac, .ip = h->att[i].ip,
                                            .isolated = h->att[i].isolated};
                Error err = {0};
                if (filter_sync(h->filter, vms, h->n_att, &err) < 0)
                        log_error("cannot re-apply the isolation filters: %s", err.message);
                free(vms);
        }
        char **names = NULL;
        size_t nn = 0;
        if (link_list_prefix(LINK_TAP_PREFIX, &names, &nn) < 0)
                return;
        for (size_t i = 0; i < nn; i++) {
                uint64_t id;
                if (link_tap_name_parse(names[i], &id) < 0)
                        continue; /* "vmb" + digits only: never a bridge like vmbbr0 */
                if (id <= UINT32_MAX && att_by_instance(h, (uint32_t)id))
                        continue;
                if (link_delete(names[i], NULL) == 0)
                        log_info("removed leftover tap %s", names[i]);
        }
        link_names_free(names);
}

static int on_timer(EventSource *s, void *userdata) {
        host_reconcile(userdata);
        return 0;
}

/* ---- setup ---- */

/* The isolation filters: the gateway (dhcp_gateway or bridge_address),
 * the DHCP server (on the bridge unless configured), the allow-list. */
static int filters_new(Host *h, Error *err) {
        const Settings *st = h->settings;
        char gw[64];
        settings_gateway(st, gw);
        if (!*gw)
                return error_set(err, -EINVAL, "isolation filters need the gateway: set bridge_address or dhcp_gateway "
                                               "(or filter_backend = none)");
        /* a gateway elsewhere on the segment that is also the DHCP server
         * (the cluster's controller) has the DHCP server's MAC */
        const char *gw_mac = !isempty(st->gateway_mac) ? st->gateway_mac
                             : !isempty(st->dhcp_server_mac) && streq(st->dhcp_server_ip, gw) ? st->dhcp_server_mac
                                                                                              : NULL;
        char allow_buf[sizeof(st->filter_allow)], ports_buf[sizeof(st->host_ports_allow)];
        snprintf(allow_buf, sizeof(allow_buf), "%s", st->filter_allow);
        snprintf(ports_buf, sizeof(ports_buf), "%s", st->host_ports_allow);
        const char *allow[FILTER_ALLOW_MAX], *ports[FILTER_HOST_PORTS_MAX];
        size_t n_allow = 0, n_ports = 0;
        for (char *save = NULL, *tok = strtok_r(allow_buf, ", ", &save); tok && n_allow < FILTER_ALLOW_MAX;
             tok = strtok_r(NULL, ", ", &save))
                allow[n_allow++] = tok;
        for (char *save = NULL, *tok = strtok_r(ports_buf, ", ", &save); tok && n_ports < FILTER_HOST_PORTS_MAX;
             tok = strtok_r(NULL, ", ", &save))
                ports[n_ports++] = tok;
        FilterNet net = {
                .bridge = st->bridge,
                .gateway_ip = gw,
                .gateway_mac = gw_mac,
                .dhcp_ip = isempty(st->dhcp_server_ip) ? NULL : st->dhcp_server_ip,
                .dhcp_mac = isempty(st->dhcp_server_mac) ? NULL : st->dhcp_server_mac,
                .allow_ips = allow,
                .n_allow = n_allow,
                .broadcast_pps = st->broadcast_pps,
                .host_ports = ports, /* host_ips NULL: the host's addresses, read when the rules are written */
                .n_host_ports = n_ports,
        };
        int r = filter_backend_new(filter_kind_to_string(st->filter_backend), &net, &h->filter, err);
        if (r >= 0)
                r = filter_setup(h->filter, err);
        if (r < 0) {
                filter_backend_free(h->filter);
                h->filter = NULL;
                error_prefix(err, "isolation filters (%s)", filter_kind_to_string(st->filter_backend));
        }
        return r;
}

/* Before anything is set up: the configured backend must work here (else
 * vmbatchd refuses to start with the missing piece), and whatever another
 * backend left from an earlier run goes (its rules would drop the frames
 * of every new VM, whose taps it does not know). */
static int filters_check(const Settings *st, Error *err) {
        const char *kind = filter_kind_to_string(st->filter_backend);
        int r = filter_backend_probe(kind, err);
        if (r < 0)
                return r;
        char **removed = NULL;
        if ((r = filter_purge_others(kind, &removed, err)) < 0) {
                error_prefix(err, "removing the filters of a backend no longer in use");
                return r;
        }
        for (char **p = removed; *p; p++)
                log_info("removed the %s: filter_backend is %s now", *p, kind);
        filter_names_free(removed);
        return 0;
}

int host_new(EventLoop *loop, const Settings *st, Host **ret, Error *err) {
        Host *h = xcalloc(1, sizeof(*h));
        h->loop = loop;
        h->settings = st;
        h->started_usec = now_usec();
        if (!isempty(st->node_name))
                snprintf(h->name, sizeof(h->name), "%s", st->node_name);
        else
                gethostname(h->name, sizeof(h->name) - 1);
        char dir[PATH_MAX + 16];
        mkdir(st->state_dir, 0755);
        snprintf(dir, sizeof(dir), "%s/jobs", st->state_dir);
        mkdir(dir, 0755);
        snprintf(dir, sizeof(dir), "%s/run", st->state_dir);
        mkdir(dir, 0755);
        int r = filters_check(st, err);
        if (r >= 0)
                r = link_bridge_ensure(st->bridge, isempty(st->bridge_address) ? NULL : st->bridge_address, err);
        if (r < 0 || (st->filter_backend != FILTER_KIND_NONE && (r = filters_new(h, err)) < 0)) {
                free(h);
                return r;
        }
        event_add_timer(loop, RECONCILE_INTERVAL_MS, on_timer, h, &h->timer);
        workers_new(loop, OPENERS_MAX, &h->openers);
        *ret = h;
        return 0;
}

void host_free(Host *h) {
        if (!h)
                return;
        event_source_free(h->timer);
        filter_backend_free(h->filter); /* the rules stay: the vms keep running */
        while (h->calls) { /* only ones opening files: the transport answered the rest when it was freed */
                HostCall *c = h->calls;
                h->calls = c->next;
                disc_open_cancel(c->opening);
                json_decref(c->reply);
                json_decref(c->spec);
                free(c);
        }
        workers_free(h->openers);
        free(h->att);
        free(h);
}
