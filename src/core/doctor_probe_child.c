/* doctor_probe_child.c - the probes of vmbatch doctor that run in worker
 * children (basic/worker.h), all at once, under DOCTOR_CHILD_TIMEOUT_MS:
 *   scratch     unshare(CLONE_NEWNET), then a bridge, a tap on it and the
 *               filter backends' probes in that namespace, which dies with
 *               the child (nothing is left on the host);
 *   munge       a credential sealed and opened (libmunge waits for munged);
 *   controller  the controller's address resolved and connected to.
 * A child reports as one JSON object on its outcome pipe. */
#include "core/doctor_probe.h"

#include <netdb.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "basic/event.h"
#include "basic/worker.h"
#include "net/doctor_net.h"
#include "net/filter.h"
#include "net/link.h"

/* ---- in the children ------------------------------------------------------ */

static void put(json_t *o, const char *key, int r, const Error *e) {
        json_object_set_new(o, key, json_pack("{s:i, s:s}", "r", r, "msg", r < 0 ? e->message : ""));
}

static void scratch_child(void *arg, FILE *out) {
        const DoctorChildWant *want = arg;
        json_t *o = json_object();
        if (unshare(CLONE_NEWNET) < 0)
                json_object_set_new(o, "netns", json_sprintf("cannot make a network namespace: %s", strerror(errno)));
        else {
                Error e = {0};
                int r = link_bridge_ensure(DOCTOR_SCRATCH_BRIDGE, NULL, &e);
                put(o, "bridge", r, &e);
                if (r >= 0) {
                        int fd = -1;
                        error_clear(&e);
                        r = link_tap_create(DOCTOR_SCRATCH_TAP, (uid_t)-1, (gid_t)-1, DOCTOR_SCRATCH_BRIDGE, &fd, &e);
                        put(o, "tap", r, &e);
                        if (fd >= 0)
                                close(fd);
                }
                error_clear(&e);
                put(o, "nft", filter_backend_probe("nft", &e), &e);
                if (want->ebtables) {
                        error_clear(&e);
                        put(o, "ebtables", filter_backend_probe("ebtables", &e), &e);
                }
        }
        json_dumpf(o, out, JSON_COMPACT);
        json_decref(o);
}

static void munge_child(void *arg, FILE *out) {
        Error e = {0};
        bool decoded = false;
        int r = doctor_munge_roundtrip(&decoded, &e);
        json_t *o = json_pack("{s:i, s:s, s:b}", "r", r, "msg", r < 0 ? e.message : "", "decoded", decoded);
        json_dumpf(o, out, JSON_COMPACT);
        json_decref(o);
}

/* "host:port", "[v6]:port" */
static int split_address(const char *text, char *host, size_t hlen, const char **ret_port) {
        const char *colon = strrchr(text, ':');
        if (!colon || colon == text || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1))
                return -EINVAL;
        const char *h = text;
        size_t n = (size_t)(colon - text);
        if (n >= 2 && h[0] == '[' && h[n - 1] == ']')
                h++, n -= 2;
        if (n == 0 || n >= hlen)
                return -EINVAL;
        memcpy(host, h, n);
        host[n] = 0;
        *ret_port = colon + 1;
        return 0;
}

static int connect_one(const struct addrinfo *ai, int timeout_ms) {
        _cleanup_close_ int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0)
                return -errno;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
                return 0;
        if (errno != EINPROGRESS)
                return -errno;
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int n = poll(&pfd, 1, timeout_ms);
        if (n == 0)
                return -ETIMEDOUT;
        int soerr = 0;
        socklen_t len = sizeof(soerr);
        if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
                return -errno;
        return -soerr;
}

static void controller_child(void *arg, FILE *out) {
        const char *address = arg, *port = NULL, *msg = "";
        char host[256];
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
        uint64_t start = now_usec();
        int r = split_address(address, host, sizeof(host), &port), g = 0;
        if (r < 0)
                msg = "not ADDRESS:PORT";
        else if ((g = getaddrinfo(host, port, &hints, &ai)) != 0) {
                r = -EHOSTUNREACH;
                msg = gai_strerror(g);
        } else {
                r = -EHOSTUNREACH;
                for (struct addrinfo *a = ai; a && r < 0; a = a->ai_next)
                        r = connect_one(a, DOCTOR_CONNECT_TIMEOUT_MS);
                if (r < 0)
                        msg = strerror(-r);
                freeaddrinfo(ai);
        }
        json_t *o = json_pack("{s:i, s:s, s:I}", "r", r, "msg", msg, "ms", (json_int_t)((now_usec() - start) / 1000));
        json_dumpf(o, out, JSON_COMPACT);
        json_decref(o);
}

/* ---- in the parent ---------------------------------------------------------- */

typedef struct Child {
        worker_fn fn;
        void *arg;
        WorkerJob *job;
        json_t *result;   /* the child's object; NULL: it gave none */
        const char *why;  /* ... and why not */
        size_t *pending;
        EventLoop *loop;
} Child;

static void on_done(void *userdata, const char *output, int status) {
        Child *c = userdata;
        c->job = NULL;
        c->result = json_loads(output, 0, NULL);
        if (!json_is_object(c->result))
                c->why = status == -1 ? "the probe could not be started" : "the probe died";
        if (--*c->pending == 0)
                event_loop_exit(c->loop, 0);
}

static int on_deadline(EventSource *s, void *userdata) {
        event_loop_exit(userdata, 0);
        return 0;
}

static void run_children(Child *children, size_t n) {
        EventLoop *loop = NULL;
        Workers *w = NULL;
        EventSource *timer = NULL;
        size_t pending = 0;
        if (event_loop_new(&loop) < 0 || workers_new(loop, (unsigned)n, &w) < 0) {
                for (size_t i = 0; i < n; i++)
                        children[i].why = "no event loop for the probe";
                event_loop_free(loop);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                children[i].pending = &pending;
                children[i].loop = loop;
                children[i].job = worker_queue(w, children[i].fn, children[i].arg, on_done, &children[i]);
                if (children[i].job)
                        pending++;
                else
                        children[i].why = "the probe could not be started";
        }
        if (pending && event_add_timer_once(loop, DOCTOR_CHILD_TIMEOUT_MS, on_deadline, loop, &timer) >= 0)
                event_loop_run(loop);
        for (size_t i = 0; i < n; i++)
                if (children[i].job) {
                        worker_cancel(children[i].job); /* killed */
                        children[i].job = NULL;
                        children[i].why = "timed out";
                }
        event_source_free(timer);
        workers_free(w);
        event_loop_free(loop);
}

static int result_r(const json_t *o, const char *key) {
        const json_t *v = key ? json_object_get(o, key) : o;
        return v ? (int)json_integer_value(json_object_get(v, "r")) : 1;
}

static const char *result_msg(DoctorProbe *p, const json_t *o, const char *key) {
        const json_t *v = key ? json_object_get(o, key) : o;
        const char *m = json_string_value(json_object_get(v, "msg"));
        return isempty(m) ? NULL : doctor_keep(p, xstrdup(m));
}

void doctor_probe_children(DoctorProbe *p, const DoctorChildWant *want, DoctorScratchFacts *scratch,
                           DoctorMungeFacts *munge, DoctorControllerFacts *ctl) {
        *scratch = (DoctorScratchFacts){.why = "not root", .bridge_r = 1, .tap_r = 1, .nft_r = 1, .ebt_r = 1};
        *munge = (DoctorMungeFacts){.r = 1, .stat_errno = ENOENT};
        *ctl = (DoctorControllerFacts){.r = -EINVAL, .timeout_ms = DOCTOR_CONNECT_TIMEOUT_MS};

        if (want->munge) {
                munge->socket = doctor_keep(p, doctor_munge_socket());
                struct stat st;
                munge->stat_errno = !munge->socket ? ENOENT : stat(munge->socket, &st) < 0 ? errno : 0;
                munge->is_sock = !munge->stat_errno && S_ISSOCK(st.st_mode);
        }
        Child c[3];
        Child *cs = NULL, *cm = NULL, *cc = NULL;
        size_t n = 0;
        if (want->scratch)
                c[n] = (Child){.fn = scratch_child, .arg = (void *)want}, cs = &c[n++];
        if (want->munge && munge->is_sock)
                c[n] = (Child){.fn = munge_child}, cm = &c[n++];
        if (want->controller)
                c[n] = (Child){.fn = controller_child, .arg = (void *)want->controller}, cc = &c[n++];
        fflush(NULL); /* nothing buffered is written twice */
        run_children(c, n);

        if (cs) {
                const json_t *o = cs->result;
                const char *netns = json_string_value(json_object_get(o, "netns"));
                scratch->ran = o && !netns;
                scratch->why = netns ? doctor_keep(p, xstrdup(netns)) : cs->why;
                scratch->bridge_r = result_r(o, "bridge");
                scratch->bridge_msg = result_msg(p, o, "bridge");
                scratch->tap_r = result_r(o, "tap");
                scratch->tap_msg = result_msg(p, o, "tap");
                scratch->nft_r = result_r(o, "nft");
                scratch->nft_msg = result_msg(p, o, "nft");
                scratch->ebt_r = result_r(o, "ebtables");
                scratch->ebt_msg = result_msg(p, o, "ebtables");
        }
        if (cm) {
                munge->r = cm->result ? result_r(cm->result, NULL) : -ETIMEDOUT;
                munge->msg = cm->result ? result_msg(p, cm->result, NULL) : cm->why;
                munge->decoded = json_is_true(json_object_get(cm->result, "decoded"));
        }
        if (cc) {
                ctl->r = cc->result ? result_r(cc->result, NULL) : -ETIMEDOUT;
                ctl->msg = cc->result ? result_msg(p, cc->result, NULL) : cc->why;
                ctl->ms = (unsigned)json_integer_value(json_object_get(cc->result, "ms"));
        }
        for (size_t i = 0; i < n; i++)
                json_decref(c[i].result);
}
