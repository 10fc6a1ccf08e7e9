/* uplink.c - a host reaching its controller: in-process (embedded) or over
 * TCP with sealed messages (vmbatchd --node). See uplink.h. */
#include "daemon/uplink.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "basic/frame.h"
#include "basic/jsonutil.h"
#include "basic/log.h"
#include "net/munge_seal.h"

#define CALL_TIMEOUT_MS 15000
#define CONNECT_TIMEOUT_MS 5000
#define RETRY_INTERVAL_MS 2000

/* ---- embedded: both roles in one process ---- */

static int local_call(void *data, const char *op, json_t *args, json_t **ret, Error *err) {
        Embedded *e = data;
        int r = fleet_request(e->fleet, e->node, op, args, ret, err);
        json_decref(args);
        return r;
}

static int local_signal(void *data, uint32_t instance, InstanceAction action, Error *err) {
        return host_signal(data, instance, action, err);
}

static const FleetNodeOps local_ops = {.signal = local_signal};

void embedded_join(Embedded *e, Fleet *fleet, Host *host) {
        e->fleet = fleet;
        e->host = host;
        e->node = fleet_node_add(fleet, host_name(host), &local_ops, host);
        host_set_uplink(host, &(Uplink){.call = local_call, .data = e});
}

/* ---- cluster: TCP to the controller ---- */

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

struct UplinkTcp {
        EventLoop *loop;
        Host *host;
        char addr[128];
        int fd;
        EventSource *source, *retry;
        char *in;
        size_t in_len, in_cap;
        uint64_t next_id;
        bool announced_down;
};

static int on_readable(EventSource *src, int fd, uint32_t events, void *userdata);

static void disconnect(UplinkTcp *u, const char *why) {
        if (u->fd < 0)
                return;
        event_source_free(u->source);
        u->source = NULL;
        close(u->fd);
        u->fd = -1;
        u->in_len = 0;
        log_warn("lost the controller %s: %s; vms keep running, reconnecting", u->addr, why);
}

static int send_sealed(UplinkTcp *u, json_t *msg, Error *err) {
        json_t *sealed = NULL;
        int r = munge_seal(msg, &sealed, err);
        if (r < 0)
                return r;
        size_t n;
        char *frame = frame_encode(sealed, &n);
        json_decref(sealed);
        if (!frame)
                return error_set(err, -EMSGSIZE, "message too large");
        r = loop_write(u->fd, frame, n);
        free(frame);
        return r < 0 ? error_set(err, r, "writing to the controller: %s", strerror(-r)) : 0;
}

/* One whole frame from the buffer, opened; 0 if none is complete yet. */
static int take_frame(UplinkTcp *u, json_t **ret, Error *err) {
        json_t *sealed;
        size_t used;
        ssize_t r = frame_parse(u->in, u->in_len, &sealed, &used);
        if (r == 0)
                return 0;
        if (r == -EMSGSIZE)
                return error_set(err, -EMSGSIZE, "the controller sent a frame over 1 MiB");
        memmove(u->in, u->in + used, u->in_len - used);
        u->in_len -= used;
        if (r < 0)
                return error_set(err, -EBADMSG, "the controller sent a bad frame");
        int k = munge_open_root(sealed, ret, err);
        json_decref(sealed);
        return k < 0 ? k : 1;
}

static int fill(UplinkTcp *u, int timeout_ms, Error *err) {
        if (u->in_cap - u->in_len < 65536) {
                u->in_cap = u->in_cap ? u->in_cap * 2 : 65536;
                u->in = xrealloc(u->in, u->in_cap);
        }
        if (timeout_ms >= 0) {
                struct pollfd p = {.fd = u->fd, .events = POLLIN};
                int k = poll(&p, 1, timeout_ms);
                if (k == 0)
                        return error_set(err, -ETIMEDOUT, "the controller did not answer within %d s",
                                         timeout_ms / 1000);
                if (k < 0)
                        return error_set(err, -errno, "poll: %m");
        }
        ssize_t n = recv(u->fd, u->in + u->in_len, u->in_cap - u->in_len, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0)
                return error_set(err, -ECONNRESET, "the controller closed the connection");
        u->in_len += (size_t)n;
        return 1;
}

/* A message the controller sent on its own: stop/suspend/resume. */
static void handle_push(UplinkTcp *u, json_t *msg) {
        const char *event = json_string_value(json_object_get(msg, "event"));
        const char *name = json_string_value(json_object_get(msg, "action"));
        InstanceAction action = instance_action_from_string(name);
        uint64_t id;
        if (!streq(event, "signal") || action < 0 || json_get_u64(msg, "instance", &id, NULL) < 0 || id > UINT32_MAX) {
                log_warn("ignoring an unknown message from the controller");
                return;
        }
        Error err = {0};
        if (host_signal(u->host, (uint32_t)id, action, &err) < 0)
                log_warn("controller's %s: %s", name, err.message);
}

/* Send {op, id, args} and wait for {"re": id}; pushes in between are
 * handled on the way. */
static int roundtrip(UplinkTcp *u, const char *op, json_t *args, json_t **ret, Error *err) {
        uint64_t id = ++u->next_id;
        json_t *msg = json_pack("{s:s, s:I, s:O}", "op", op, "id", (json_int_t)id, "args", args);
        int r = send_sealed(u, msg, err);
        json_decref(msg);
        uint64_t deadline = now_usec() + (uint64_t)CALL_TIMEOUT_MS * 1000;
        while (r >= 0) {
                json_t *in = NULL;
                r = take_frame(u, &in, err);
                if (r == 0) {
                        uint64_t now = now_usec();
                        r = now >= deadline ? error_set(err, -ETIMEDOUT, "the controller did not answer %s", op)
                                            : fill(u, (int)((deadline - now) / 1000) + 1, err);
                        continue;
                }
                if (r < 0)
                        break;
                uint64_t re;
                if (json_get_u64(in, "re", &re, NULL) < 0) {
                        handle_push(u, in);
                        json_decref(in);
                        continue;
                }
                if (re != id) {
                        json_decref(in);
                        continue; /* the answer to a call that timed out */
                }
                if (json_is_true(json_object_get(in, "ok"))) {
                        *ret = json_incref(json_object_get(in, "data"));
                        json_decref(in);
                        return 0;
                }
                json_t *e = json_object_get(in, "error");
                const char *code = json_string_value(json_object_get(e, "code"));
                const char *text = json_string_value(json_object_get(e, "message"));
                int k = code ? errno_from_name(code) : 0;
                r = error_set(err, k < 0 ? k : -EIO, "%s", text ? text : "the controller refused");
                json_decref(in);
                return r; /* the connection is fine: the controller said no */
        }
        disconnect(u, err->message);
        return r;
}

static int connect_now(UplinkTcp *u, Error *err) {
        char host[128], port[16];
        int r = addr_port_split(u->addr, host, sizeof(host), port, sizeof(port), err);
        if (r < 0)
                return r;
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
        if ((r = getaddrinfo(host, port, &hints, &ai)) != 0)
                return error_set(err, -EHOSTUNREACH, "controller %s: %s", u->addr, gai_strerror(r));
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
                freeaddrinfo(ai);
                return error_set(err, -errno, "socket: %m");
        }
        r = connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 ? -errno : 0;
        freeaddrinfo(ai);
        if (r == -EINPROGRESS) {
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                int soerr = 0;
                socklen_t sl = sizeof(soerr);
                if (poll(&p, 1, CONNECT_TIMEOUT_MS) <= 0)
                        r = -ETIMEDOUT;
                else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0)
                        r = -soerr;
        }
        if (r < 0) {
                close(fd);
                return error_set(err, r, "cannot connect to the controller %s: %s", u->addr, strerror(-r));
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        u->fd = fd;
        u->in_len = 0;
        json_t *data = NULL;
        r = roundtrip(u, "cluster.hello",
                      json_pack("{s:s, s:o}", "node", host_name(u->host), "attached", host_attached(u->host)),
                      &data, err);
        json_decref(data);
        if (r < 0) {
                disconnect(u, err->message);
                return r;
        }
        if ((r = event_add_io(u->loop, u->fd, EPOLLIN, on_readable, u, &u->source)) < 0) {
                disconnect(u, "event loop");
                return error_set(err, r, "event loop: %s", strerror(-r));
        }
        log_info("connected to the controller %s as node %s", u->addr, host_name(u->host));
        u->announced_down = false;
        return 0;
}

static int on_readable(EventSource *src, int fd, uint32_t events, void *userdata) {
        UplinkTcp *u = userdata;
        Error err = {0};
        int r = fill(u, -1, &err);
        while (r >= 0) {
                json_t *msg = NULL;
                r = take_frame(u, &msg, &err);
                if (r <= 0)
                        break;
                handle_push(u, msg);
                json_decref(msg);
        }
        if (r < 0)
                disconnect(u, err.message);
        return 0;
}

static int on_retry(EventSource *src, void *userdata) {
        UplinkTcp *u = userdata;
        if (u->fd >= 0)
                return 0;
        Error err = {0};
        if (connect_now(u, &err) < 0 && !u->announced_down) {
                log_warn("%s", err.message);
                u->announced_down = true; /* once, not every two seconds */
        }
        return 0;
}

static int tcp_call(void *data, const char *op, json_t *args, json_t **ret, Error *err) {
        UplinkTcp *u = data;
        int r = u->fd >= 0 ? 0 : connect_now(u, err);
        if (r >= 0)
                r = roundtrip(u, op, args, ret, err);
        json_decref(args);
        return r;
}

int uplink_tcp_new(EventLoop *loop, Host *host, const char *controller_addr, UplinkTcp **ret, Error *err) {
        char h[128], p[16];
        int r = addr_port_split(controller_addr, h, sizeof(h), p, sizeof(p), err);
        if (r < 0) {
                error_prefix(err, "config controller");
                return r;
        }
        UplinkTcp *u = xcalloc(1, sizeof(*u));
        u->loop = loop;
        u->host = host;
        u->fd = -1;
        snprintf(u->addr, sizeof(u->addr), "%s", controller_addr);
        host_set_uplink(host, &(Uplink){.call = tcp_call, .data = u});
        Error e = {0};
        if (connect_now(u, &e) < 0) {
                log_warn("%s (retrying every %d s)", e.message, RETRY_INTERVAL_MS / 1000);
                u->announced_down = true;
        }
        event_add_timer(loop, RETRY_INTERVAL_MS, on_retry, u, &u->retry);
        *ret = u;
        return 0;
}

void uplink_tcp_free(UplinkTcp *u) {
        if (!u)
                return;
        event_source_free(u->retry);
        event_source_free(u->source);
        if (u->fd >= 0)
                close(u->fd);
        free(u->in);
        free(u);
}
