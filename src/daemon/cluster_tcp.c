/* cluster_tcp.c - the cluster's TCP transport: the node's end (requests
 * out, answers and pushes in) and the controller's end (requests in,
 * answers and pushes out). See cluster_tcp.h; the wire is in
 * docs/protocol.md, its messages are parsed and built by cluster_wire.c. */
#include "daemon/cluster_tcp.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "basic/conn.h"
#include "basic/jsonutil.h"
#include "basic/log.h"
#include "daemon/cluster_wire.h"
#include "net/munge_seal.h"

#define CALL_TIMEOUT_USEC (15 * 1000000ULL)
#define CONNECT_TIMEOUT_MS 5000
#define RETRY_INTERVAL_MS 2000
#define CALL_SWEEP_MS 500
/* anyone on the network may connect to the controller: a limit, and a
 * sealed hello soon or the connection is closed */
#define MAX_NODE_CONNS 256
#define HELLO_DEADLINE_USEC (10 * 1000000ULL)
#define HELLO_SWEEP_MS 2000

int addr_port_split(const char *text, char *host, size_t len, char *port, size_t port_len, Error *err) {
        const char *colon = strrchr(text, ':');
        const char *h = text;
        size_t hl = colon ? (size_t)(colon - text) : 0;
        if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') { /* [v6]:port */
                h++;
                hl -= 2;
        }
        if (!colon || hl == 0 || hl >= len || strlen(colon + 1) == 0 || strlen(colon + 1) >= port_len ||
            strspn(colon + 1, "0123456789") != strlen(colon + 1))
                return error_set(err, -EINVAL, "'%s' is not ADDRESS:PORT", text);
        memcpy(host, h, hl);
        host[hl] = 0;
        snprintf(port, port_len, "%s", colon + 1);
        return 0;
}

static int resolve(const char *addr, bool passive, struct addrinfo **ret, Error *err) {
        char host[128], port[16];
        int r = addr_port_split(addr, host, sizeof(host), port, sizeof(port), err);
        if (r < 0)
                return r;
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                                 .ai_flags = passive ? AI_PASSIVE : 0};
        if ((r = getaddrinfo(host, port, &hints, ret)) != 0)
                return error_set(err, -EHOSTUNREACH, "%s: %s", addr, gai_strerror(r));
        return 0;
}

static int send_sealed(Conn *c, json_t *msg /* stolen */, Error *err) {
        json_t *sealed = NULL;
        int r = munge_seal(msg, &sealed, err);
        json_decref(msg);
        if (r < 0)
                return r;
        r = conn_send(c, sealed, -1);
        return r < 0 ? error_set(err, r, "cannot send: %s", strerror(-r)) : 0;
}

/* ===================== the node's end ===================== */

typedef struct Call {
        uint64_t id;
        WireOp op;
        json_t *args;    /* until it is sent */
        ClusterDone done; /* NULL: no answer awaited (exit, hello) */
        void *ctx;
        uint64_t deadline;
        struct Call *next;
} Call;

struct ClusterUplink {
        EventLoop *loop;
        Host *host;
        char addr[128];
        struct sockaddr_storage sa;
        socklen_t sa_len;
        int family;
        int connecting_fd;
        EventSource *connecting, *connect_timeout;
        Conn *conn;
        uint64_t hello_id;
        EventSource *retry, *sweep;
        Call *calls; /* in the order they were asked */
        uint64_t next_id;
        bool announced_down;
};

static void call_done(Call *call, int r, const Error *err, json_t *spec, const ClusterPlacement *p) {
        if (call->done)
                call->done(call->ctx, &(ClusterAnswer){.r = r, .err = err, .spec = spec, .placement = p});
        else
                json_decref(spec);
        json_decref(call->args);
        free(call);
}

static Call *call_take(ClusterUplink *u, uint64_t id) {
        for (Call **p = &u->calls; *p; p = &(*p)->next)
                if ((*p)->id == id) {
                        Call *c = *p;
                        *p = c->next;
                        return c;
                }
        return NULL;
}

/* End every call that matches (sent or not); each one's callback may
 * queue new calls, which are not touched. */
static void calls_fail(ClusterUplink *u, bool sent, int r, const char *why) {
        Call *list = u->calls, *keep = NULL, **tail = &keep;
        u->calls = NULL;
        while (list) {
                Call *c = list;
                list = c->next;
                c->next = NULL;
                if ((c->args == NULL) == sent) {
                        Error e = {0};
                        error_set(&e, r, "%s", why);
                        call_done(c, r, &e, NULL, NULL);
                } else {
                        *tail = c;
                        tail = &c->next;
                }
        }
        *tail = u->calls; /* queued by the callbacks */
        u->calls = keep;
}

static void connect_stop(ClusterUplink *u) {
        event_source_free(u->connecting);
        event_source_free(u->connect_timeout);
        u->connecting = u->connect_timeout = NULL;
        if (u->connecting_fd >= 0)
                close(u->connecting_fd);
        u->connecting_fd = -1;
}

static void disconnect(ClusterUplink *u, const char *why) {
        if (!u->conn)
                return;
        conn_free(u->conn);
        u->conn = NULL;
        log_warn("lost the controller %s: %s; vms keep running, reconnecting", u->addr, why);
        char text[512];
        snprintf(text, sizeof(text), "lost the controller %s: %s", u->addr, why);
        calls_fail(u, true, -ECONNRESET, text);
}

static int start_connect(ClusterUplink *u);

static void call_send(ClusterUplink *u, Call *c) {
        json_t *msg = cluster_wire_request(c->op, c->id, TAKE_PTR(c->args));
        Error err = {0};
        if (send_sealed(u->conn, msg, &err) < 0) {
                Call *taken = call_take(u, c->id);
                error_prefix(&err, "%s", wire_op_to_string(c->op));
                if (taken)
                        call_done(taken, err.code, &err, NULL, NULL);
        }
}

static void call_queue(ClusterUplink *u, WireOp op, json_t *args, ClusterDone done, void *ctx) {
        Call *c = xcalloc(1, sizeof(*c));
        c->id = ++u->next_id;
        c->op = op;
        c->args = args;
        c->done = done;
        c->ctx = ctx;
        c->deadline = now_usec() + CALL_TIMEOUT_USEC;
        Call **tail = &u->calls;
        while (*tail)
                tail = &(*tail)->next;
        *tail = c;
        if (u->conn)
                call_send(u, c);
        else if (u->connecting_fd < 0)
                start_connect(u);
}

static void connect_failed(ClusterUplink *u, int r) {
        connect_stop(u);
        char why[256];
        snprintf(why, sizeof(why), "cannot connect to the controller %s: %s", u->addr, strerror(-r));
        if (!u->announced_down) {
                log_warn("%s (retrying every %d s)", why, RETRY_INTERVAL_MS / 1000);
                u->announced_down = true; /* once, not every two seconds */
        }
        calls_fail(u, false, r, why);
}

/* {"re": id, "ok": ..., "data" | "error"} for call c */
static void on_answer(Call *c, json_t *msg) {
        Error err = {0};
        ClusterWireAnswer a;
        int r = cluster_wire_answer_from_json(c->op, msg, &a, &err);
        call_done(c, r, &err, a.spec ? json_incref(a.spec) : NULL, a.has_placement ? &a.placement : NULL);
}

/* A message the controller sent on its own: stop/suspend/resume. */
static void on_push(ClusterUplink *u, json_t *msg) {
        uint32_t id;
        InstanceAction action;
        if (cluster_wire_push_from_json(msg, &id, &action) < 0) {
                log_warn("ignoring an unknown message from the controller");
                return;
        }
        Error err = {0};
        if (host_signal(u->host, id, action, &err) < 0)
                log_warn("controller's %s: %s", instance_action_to_string(action), err.message);
}

static void uplink_frame(void *data, json_t *sealed, int bad) {
        ClusterUplink *u = data;
        Error err = {0};
        json_t *msg = NULL;
        if (bad < 0) {
                disconnect(u, bad == -EMSGSIZE ? "the controller sent a frame over 1 MiB"
                                               : "the controller sent a bad frame");
                return;
        }
        if (munge_open_root(sealed, &msg, &err) < 0) {
                disconnect(u, err.message);
                return;
        }
        uint64_t re;
        if (!cluster_wire_is_answer(msg, &re))
                on_push(u, msg);
        else if (re == u->hello_id) {
                ClusterWireAnswer a;
                if (cluster_wire_answer_from_json(WIRE_HELLO, msg, &a, &err) >= 0) {
                        log_info("connected to the controller %s as node %s", u->addr, host_name(u->host));
                        u->announced_down = false;
                } else
                        log_warn("the controller %s refused this node: %s", u->addr, a.refusal ? a.refusal : "?");
        } else {
                Call *c = call_take(u, re);
                if (c) /* else the answer to a call that timed out */
                        on_answer(c, msg);
        }
        json_decref(msg);
}

static void uplink_closed(void *data, int r) {
        ClusterUplink *u = data;
        disconnect(u, r < 0 ? strerror(-r) : "the controller closed the connection");
}

static const ConnOps uplink_conn_ops = {.frame = uplink_frame, .closed = uplink_closed};

/* Connected: say hello first, then what waited for the connection. */
static void connected(ClusterUplink *u, int fd) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (conn_new(u->loop, fd, &uplink_conn_ops, u, &u->conn) < 0) {
                close(fd);
                connect_failed(u, -ENOMEM);
                return;
        }
        _cleanup_free_ ClusterMonitor *mon = NULL;
        size_t n = host_monitors(u->host, &mon);
        u->hello_id = ++u->next_id;
        Error err = {0};
        json_t *hello =
                cluster_wire_request(WIRE_HELLO, u->hello_id, cluster_wire_hello_args(host_name(u->host), mon, n));
        if (send_sealed(u->conn, hello, &err) < 0) {
                log_warn("cannot say hello to the controller %s: %s", u->addr, err.message);
                conn_free(TAKE_PTR(u->conn));
                connect_failed(u, err.code);
                return;
        }
        for (Call *c = u->calls, *next; c; c = next) {
                next = c->next;
                if (c->args)
                        call_send(u, c);
        }
}

static int on_connect_ready(EventSource *s, int fd, uint32_t events, void *userdata) {
        ClusterUplink *u = userdata;
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
                soerr = errno;
        if (soerr) {
                connect_failed(u, -soerr);
                return 0;
        }
        int cfd = TAKE_FD(u->connecting_fd);
        connect_stop(u);
        connected(u, cfd);
        return 0;
}

static int on_connect_timeout(EventSource *s, void *userdata) {
        connect_failed(userdata, -ETIMEDOUT);
        return 0;
}

static int start_connect(ClusterUplink *u) {
        int fd = socket(u->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
                connect_failed(u, -errno);
                return -1;
        }
        if (connect(fd, (struct sockaddr *)&u->sa, u->sa_len) == 0) {
                connected(u, fd);
                return 0;
        }
        if (errno != EINPROGRESS) {
                int r = -errno;
                close(fd);
                connect_failed(u, r);
                return -1;
        }
        u->connecting_fd = fd;
        if (event_add_io(u->loop, fd, EPOLLOUT, on_connect_ready, u, &u->connecting) < 0 ||
            event_add_timer_once(u->loop, CONNECT_TIMEOUT_MS, on_connect_timeout, u, &u->connect_timeout) < 0) {
                connect_failed(u, -ENOMEM);
                return -1;
        }
        return 0;
}

static int on_retry(EventSource *s, void *userdata) {
        ClusterUplink *u = userdata;
        if (!u->conn && u->connecting_fd < 0)
                start_connect(u);
        return 0;
}

/* A call unanswered for 15 s: the controller is stuck or the network
 * lost it; that connection is given up (and made again). */
static int on_sweep(EventSource *s, void *userdata) {
        ClusterUplink *u = userdata;
        uint64_t now = now_usec();
        for (Call *c = u->calls; c; c = c->next)
                if (now >= c->deadline) {
                        Call *late = call_take(u, c->id);
                        Error e = {0};
                        bool sent = !late->args;
                        error_set(&e, -ETIMEDOUT, "the controller did not answer %s within %llu s",
                                  wire_op_to_string(late->op), CALL_TIMEOUT_USEC / 1000000);
                        call_done(late, e.code, &e, NULL, NULL);
                        if (sent)
                                disconnect(u, "it did not answer in time");
                        break; /* the list changed: the rest next round */
                }
        return 0;
}

static void up_attach(void *data, const ClusterAttach *req, ClusterDone done, void *ctx) {
        call_queue(data, WIRE_ATTACH, cluster_wire_attach_args(req), done, ctx);
}

static void up_reattach(void *data, uint32_t instance, uint32_t uid, ClusterDone done, void *ctx) {
        call_queue(data, WIRE_REATTACH, cluster_wire_reattach_args(instance, uid), done, ctx);
}

static void up_state(void *data, uint32_t instance, InstanceState state, ClusterDone done, void *ctx) {
        call_queue(data, WIRE_STATE, cluster_wire_state_args(instance, state), done, ctx);
}

static void up_exit(void *data, uint32_t instance, const char *reason) {
        call_queue(data, WIRE_EXIT, cluster_wire_exit_args(instance, reason), NULL, NULL);
}

static const ClusterOps uplink_ops = {
        .attach = up_attach,
        .reattach = up_reattach,
        .state = up_state,
        .exit = up_exit,
};

int cluster_uplink_new(EventLoop *loop, Host *host, const char *controller_addr, ClusterUplink **ret, Error *err) {
        struct addrinfo *ai = NULL;
        int r = resolve(controller_addr, false, &ai, err);
        if (r < 0) {
                error_prefix(err, "config controller");
                return r;
        }
        ClusterUplink *u = xcalloc(1, sizeof(*u));
        u->loop = loop;
        u->host = host;
        u->connecting_fd = -1;
        u->family = ai->ai_family;
        u->sa_len = ai->ai_addrlen;
        memcpy(&u->sa, ai->ai_addr, ai->ai_addrlen);
        freeaddrinfo(ai);
        snprintf(u->addr, sizeof(u->addr), "%s", controller_addr);
        host_set_cluster(host, &uplink_ops, u);
        if ((r = event_add_timer(loop, RETRY_INTERVAL_MS, on_retry, u, &u->retry)) < 0 ||
            (r = event_add_timer(loop, CALL_SWEEP_MS, on_sweep, u, &u->sweep)) < 0) {
                cluster_uplink_free(u);
                return error_set(err, r, "event loop: %s", strerror(-r));
        }
        start_connect(u);
        *ret = u;
        return 0;
}

void cluster_uplink_free(ClusterUplink *u) {
        if (!u)
                return;
        event_source_free(u->retry);
        event_source_free(u->sweep);
        connect_stop(u);
        conn_free(u->conn);
        u->conn = NULL;
        while (u->calls) {
                Call *c = u->calls;
                u->calls = c->next;
                Error e = {0};
                error_set(&e, -ECANCELED, "vmbatchd is stopping");
                call_done(c, e.code, &e, NULL, NULL);
        }
        free(u);
}

/* ===================== the controller's end ===================== */

typedef struct NodeConn {
        ClusterListener *listener;
        Conn *conn;
        FleetNode *node; /* after its sealed hello */
        uint64_t accepted_usec;
        struct NodeConn *prev, *next;
} NodeConn;

struct ClusterListener {
        EventLoop *loop;
        Fleet *fleet;
        int fd;
        EventSource *source, *sweep;
        NodeConn *conns;
        size_t n_conns;
};

static int node_signal(void *data, uint32_t instance, InstanceAction action, Error *err) {
        NodeConn *nc = data;
        int r = send_sealed(nc->conn, cluster_wire_signal(instance, action), err);
        return r < 0 ? error_prefix(err, "cannot reach the node of instance %u", instance), r : 0;
}

/* The console's VNC socket is on the execution host, and the node has no
 * way yet to carry its bytes to the controller (a debt: the node would
 * relay them over its own connection, or the gateway would ask the node). */
static int node_console_connect(void *data, uint32_t instance, int *ret_fd, Error *err) {
        return error_set(err, -ENOTSUP, "the console of an instance on another host is not reachable yet");
}

static const NodeOps node_ops = {.signal = node_signal, .console_connect = node_console_connect};

static void hello_skipped(void *ctx, const char *why) { log_warn("node %s: %s in its hello", (const char *)ctx, why); }

static int do_hello(NodeConn *nc, const ClusterRequest *req) {
        if (!nc->node) {
                /* the same node again on a new connection (it restarted, or
                 * the old one is half-dead): the old connection lets go of
                 * the node first, so that nothing points at it once the
                 * fleet replaces it, and is closed */
                for (NodeConn *o = nc->listener->conns; o; o = o->next)
                        if (o != nc && o->node && streq(fleet_node_name(o->node), req->node)) {
                                o->node = NULL;
                                conn_close(o->conn);
                        }
                nc->node = fleet_node_add(nc->listener->fleet, req->node, &node_ops, nc);
        }
        _cleanup_free_ ClusterMonitor *mon = NULL;
        size_t n = cluster_wire_monitors(req->attached, &mon, hello_skipped, (void *)req->node);
        fleet_hello(nc->listener->fleet, nc->node, mon, n);
        return 0;
}

/* One request of a node (its args as cluster_wire.h's ClusterRequest). */
static int node_request(NodeConn *nc, WireOp op, const json_t *args, json_t **ret, Error *err) {
        Fleet *f = nc->listener->fleet;
        ClusterRequest req;
        int r = cluster_wire_request_from_json(op, args, &req, err);
        if (r < 0)
                return r;
        switch (op) {
        case WIRE_HELLO:
                return do_hello(nc, &req);
        case WIRE_ATTACH:
                return fleet_attach(f, nc->node, &req.attach, ret, err);
        case WIRE_REATTACH: {
                ClusterPlacement p;
                if ((r = fleet_reattach(f, nc->node, req.instance, req.uid, &p, err)) < 0)
                        return r;
                *ret = cluster_wire_placement_to_json(&p);
                return 0;
        }
        case WIRE_STATE:
                return fleet_state(f, nc->node, req.instance, req.state, err);
        case WIRE_EXIT:
                return fleet_exit(f, nc->node, req.instance, req.reason, err);
        default:
                return error_set(err, -EINVAL, "unknown operation");
        }
}

static void node_conn_free(NodeConn *nc) {
        ClusterListener *l = nc->listener;
        if (nc->node)
                fleet_node_remove(l->fleet, nc->node);
        conn_free(nc->conn);
        if (nc->prev)
                nc->prev->next = nc->next;
        else
                l->conns = nc->next;
        if (nc->next)
                nc->next->prev = nc->prev;
        l->n_conns--;
        free(nc);
}

/* A sealed request of a node: {"op", "id", "args"} made by root on a host
 * with the cluster's key; answered sealed, {"re": id, "ok", ...}. The
 * first must be cluster.hello, naming the node. */
static void node_frame(void *data, json_t *sealed, int bad) {
        NodeConn *nc = data;
        Error err = {0};
        json_t *req = NULL, *reply = NULL;
        if (bad < 0) { /* not sealed: we do not know who reads it */
                conn_send(nc->conn, json_error_response(bad, bad == -EMSGSIZE ? "request larger than 1 MiB"
                                                                              : "request is not a JSON object"), -1);
                return;
        }
        int r = munge_open_root(sealed, &req, &err);
        if (r < 0) {
                log_warn("node connection refused: %s", err.message);
                conn_send(nc->conn, json_error_response(r, "%s", err.message), -1);
                conn_close(nc->conn);
                return;
        }
        WireOp op;
        if ((r = cluster_wire_request_op(req, &op, &err)) >= 0) {
                if (!nc->node && op != WIRE_HELLO)
                        r = error_set(&err, -EPROTO, "a node says cluster.hello first");
                else
                        r = node_request(nc, op, json_object_get(req, "args"), &reply, &err);
        }
        json_t *resp = cluster_wire_answer(r, &err, reply, json_object_get(req, "id"));
        json_decref(req);
        if (send_sealed(nc->conn, resp, &err) < 0) {
                log_error("cannot answer node %s: %s", nc->node ? fleet_node_name(nc->node) : "?", err.message);
                conn_close(nc->conn);
        }
}

static void node_closed(void *data, int r) { node_conn_free(data); }

static const ConnOps node_conn_ops = {.frame = node_frame, .closed = node_closed};

/* who the nodes are is in every sealed message, not in the connection */
static int on_accept(EventSource *src, int fd, uint32_t events, void *userdata) {
        ClusterListener *l = userdata;
        for (;;) {
                int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (cfd < 0)
                        return 0;
                if (l->n_conns >= MAX_NODE_CONNS) {
                        close(cfd);
                        continue;
                }
                int one = 1;
                setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                NodeConn *nc = xcalloc(1, sizeof(*nc));
                nc->listener = l;
                nc->accepted_usec = now_usec();
                if (conn_new(l->loop, cfd, &node_conn_ops, nc, &nc->conn) < 0) {
                        close(cfd);
                        free(nc);
                        continue;
                }
                nc->next = l->conns;
                if (l->conns)
                        l->conns->prev = nc;
                l->conns = nc;
                l->n_conns++;
        }
}

/* connections that did not say a sealed hello in time are closed */
static int on_hello_sweep(EventSource *src, void *userdata) {
        ClusterListener *l = userdata;
        uint64_t now = now_usec();
        for (NodeConn *nc = l->conns, *next; nc; nc = next) {
                next = nc->next;
                if (!nc->node && now - nc->accepted_usec > HELLO_DEADLINE_USEC)
                        node_conn_free(nc);
        }
        return 0;
}

int cluster_listener_new(EventLoop *loop, Fleet *fleet, const char *addr, ClusterListener **ret, Error *err) {
        struct addrinfo *ai = NULL;
        int r = resolve(addr, true, &ai, err);
        if (r < 0) {
                error_prefix(err, "cluster_listen");
                return r;
        }
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int one = 1;
        if (fd >= 0)
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
                r = -errno;
                freeaddrinfo(ai);
                if (fd >= 0)
                        close(fd);
                return error_set(err, r, "cannot listen on %s: %s", addr, strerror(-r));
        }
        freeaddrinfo(ai);
        ClusterListener *l = xcalloc(1, sizeof(*l));
        l->loop = loop;
        l->fleet = fleet;
        l->fd = fd;
        if ((r = event_add_io(loop, fd, EPOLLIN, on_accept, l, &l->source)) < 0 ||
            (r = event_add_timer(loop, HELLO_SWEEP_MS, on_hello_sweep, l, &l->sweep)) < 0) {
                cluster_listener_free(l);
                return error_set(err, r, "event loop: %s", strerror(-r));
        }
        log_info("nodes connect on %s (MUNGE)", addr);
        *ret = l;
        return 0;
}

void cluster_listener_free(ClusterListener *l) {
        if (!l)
                return;
        while (l->conns)
                node_conn_free(l->conns);
        event_source_free(l->source);
        event_source_free(l->sweep);
        close(l->fd);
        free(l);
}
