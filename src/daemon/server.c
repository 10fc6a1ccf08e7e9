#include "daemon/server.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "basic/frame.h"
#include "basic/jsonutil.h"
#include "basic/log.h"
#include "daemon/jobs.h"
#include "daemon/uplink.h"
#include "net/munge_seal.h"

#define MAX_CLIENTS 4096
/* nodes over TCP: anyone on the network may connect, so they have a limit
 * of their own (local users keep theirs) and must say who they are soon */
#define MAX_TCP_CLIENTS 256
#define HELLO_DEADLINE_USEC (10 * 1000000ULL)
#define SWEEP_INTERVAL_MS 2000

typedef struct NodeClient Client;
struct NodeClient {
        Server *server;
        int fd;
        uint32_t uid;
        EventSource *source;
        char *in;
        size_t in_len, in_cap;
        char *out;
        size_t out_len, out_off;
        int out_fd;       /* an fd (a VM's tap) that goes with the byte at out_fd_at; -1: none */
        size_t out_fd_at;
        bool closing; /* close once out is flushed */
        bool cluster;  /* a vmbatchd --node over TCP: sealed messages */
        uint64_t accepted_usec;
        FleetNode *fleet_node; /* after its cluster.hello */
        JobsPending *waiting;  /* its request runs as a job: read nothing more until it is answered */
        Client *prev, *next;
};

struct Server {
        EventLoop *loop;
        Controller *controller;
        Fleet *fleet;
        Host *host;
        int fd, tcp_fd;
        char *path;
        EventSource *source, *tcp_source;
        Client *clients;
        size_t n_clients, n_tcp_clients;
        EventSource *sweep;
        Jobs *jobs;
};

static void out_append(char **out, size_t *len, const char *buf, size_t n) {
        *out = xrealloc(*out, *len + n);
        memcpy(*out + *len, buf, n);
        *len += n;
}

static void respond(char **out, size_t *len, json_t *response) {
        size_t n;
        char *frame = frame_encode(response, &n);
        json_decref(response);
        if (!frame) {
                json_t *e = json_error_response(-E2BIG, "response too large");
                frame = frame_encode(e, &n);
                json_decref(e);
        }
        out_append(out, len, frame, n);
        free(frame);
}

static int client_flush(Client *c);
static void client_process(Client *c);
static void on_job_answer(void *ctx, json_t *response);

static void safe_close(int fd) {
        if (fd >= 0)
                close(fd);
}

/* A response that carries an fd is queued like any other, the fd (taken
 * over) marked at the frame's first byte; client_flush sends it with that
 * byte, never blocking. One at a time: a starter gets one tap per
 * connection. */
static void respond_with_fd(Client *c, json_t *response, int fd) {
        if (c->out_fd >= 0) {
                log_error("a second fd for one client before the first went out: dropped");
                close(fd);
                json_decref(response);
                respond(&c->out, &c->out_len, json_error_response(-EBUSY, "an fd is still on its way"));
                return;
        }
        c->out_fd = fd;
        c->out_fd_at = c->out_len;
        respond(&c->out, &c->out_len, response);
}

static json_t *error_response(const Error *err, int r) {
        return json_error_response(r, "%s", err->message);
}

static int tcp_node_signal(void *data, uint32_t instance, InstanceAction action, Error *err) {
        json_t *sealed = NULL;
        json_t *msg = json_pack("{s:s, s:I, s:s}", "event", "signal", "instance", (json_int_t)instance, "action",
                                instance_action_to_string(action));
        int r = munge_seal(msg, &sealed, err);
        json_decref(msg);
        if (r < 0)
                return r;
        r = server_client_push(data, sealed);
        return r < 0 ? error_set(err, r, "cannot reach the node of instance %u", instance) : 0;
}

static const FleetNodeOps tcp_node_ops = {.signal = tcp_node_signal};

/* A sealed request of a node: {"op", "id", "args"} made by root on a host
 * with the cluster's key; answered sealed, {"re": id, "ok", ...}. The
 * first must be cluster.hello, naming the node. */
static json_t *dispatch_cluster(Server *s, Client *c, json_t *sealed) {
        Error err = {0};
        json_t *req = NULL, *data = NULL, *resp;
        int r = munge_open_root(sealed, &req, &err);
        if (r < 0) {
                log_warn("node connection refused: %s", err.message);
                c->closing = true;
                return error_response(&err, r); /* not sealed: we do not know who reads it */
        }
        const char *op = json_string_value(json_object_get(req, "op"));
        json_t *args = json_object_get(req, "args");
        const char *name = NULL;
        if (!op)
                r = error_set(&err, -EINVAL, "missing op");
        else if (!c->fleet_node && !streq(op, "cluster.hello"))
                r = error_set(&err, -EPROTO, "a node says cluster.hello first");
        else if (!c->fleet_node && (json_need_string(args, "node", &name, &err) < 0 || isempty(name) ||
                                    strlen(name) > 63))
                r = error_set(&err, -EINVAL, "cluster.hello needs the node's name");
        if (r >= 0 && name)
                c->fleet_node = fleet_node_add(s->fleet, name, &tcp_node_ops, c);
        if (r >= 0)
                r = fleet_request(s->fleet, c->fleet_node, op, args, &data, &err);
        resp = r < 0 ? error_response(&err, r) : json_pack("{s:b, s:o}", "ok", true, "data", data);
        json_object_set(resp, "re", json_object_get(req, "id") ? json_object_get(req, "id") : json_null());
        json_decref(req);
        json_t *out = NULL;
        if (munge_seal(resp, &out, &err) < 0) {
                log_error("cannot seal an answer to node %s: %s", fleet_node_name(c->fleet_node), err.message);
                c->closing = true;
                out = error_response(&err, -EACCES);
        }
        json_decref(resp);
        return out;
}

/* node.* requests go to the node role, cluster connections to the fleet,
 * the rest to the controller */
static json_t *dispatch(Server *s, Client *c, uint32_t uid, json_t *req, int *pass_fd) {
        *pass_fd = -1;
        if (c && c->cluster)
                return dispatch_cluster(s, c, req);
        const char *op = json_string_value(json_object_get(req, "op"));
        Error err = {0};
        if (!op || strncmp(op, "node.", 5) != 0) {
                if (!s->controller)
                        return error_response(&err, error_set(&err, -ENOTSUP, "this vmbatchd is an execution node: "
                                                                              "ask the controller"));
                if (!c) /* server_feed: in line */
                        return controller_request(s->controller, uid, req);
                ControllerJob *job = NULL;
                json_t *resp = controller_start(s->controller, uid, req, &job);
                if (!job)
                        return resp;
                c->waiting = jobs_run(s->jobs, job, on_job_answer, c, &resp);
                return c->waiting ? NULL : resp;
        }
        json_t *data = NULL;
        int r = host_request(s->host, c, uid, op, json_object_get(req, "args"), &data, pass_fd, &err);
        if (r < 0)
                return error_response(&err, r);
        return json_pack("{s:b, s:o}", "ok", true, "data", data);
}

/* Consume as many whole frames from in as there are; returns bytes used.
 * *close set when the stream cannot continue. Shared by the socket path
 * and server_feed() (c NULL: no node role). */
static size_t process(Server *s, Client *c, uint32_t uid, const char *in, size_t len, char **out, size_t *out_len,
                      bool *close) {
        size_t used = 0;
        while (used < len && !*close && !(c && c->waiting)) {
                json_t *req;
                size_t consumed;
                ssize_t r = frame_parse(in + used, len - used, &req, &consumed);
                if (r == 0)
                        break;
                if (r == -EMSGSIZE) {
                        respond(out, out_len,
                                json_error_response(-EMSGSIZE, "request larger than 1 MiB"));
                        *close = true;
                        break;
                }
                used += consumed;
                if (r < 0) {
                        respond(out, out_len,
                                json_error_response(-EBADMSG, "request is not a JSON object"));
                        continue;
                }
                int pass_fd = -1;
                json_t *resp = dispatch(s, c, uid, req, &pass_fd);
                json_decref(req);
                if (c && c->closing)
                        *close = true;
                if (!resp)
                        continue; /* answered when its job ends (on_job_answer) */
                if (pass_fd >= 0 && c)
                        respond_with_fd(c, resp, TAKE_FD(pass_fd));
                else {
                        safe_close(pass_fd);
                        respond(out, out_len, resp);
                }
        }
        return used;
}

char *server_feed(Controller *controller, uint32_t uid, const char *bytes, size_t len, size_t *ret_len,
                  bool *ret_close) {
        char *out = NULL;
        size_t out_len = 0;
        bool close = false;
        Server s = {.controller = controller};
        process(&s, NULL, uid, bytes, len, &out, &out_len, &close);
        *ret_len = out_len;
        *ret_close = close;
        return out;
}

static void client_free(Client *c) {
        Server *s = c->server;
        jobs_forget_client(c->waiting);
        if (c->out_fd >= 0)
                close(c->out_fd);
        if (c->fleet_node)
                fleet_node_remove(s->fleet, c->fleet_node);
        else if (!c->cluster)
                host_client_closed(s->host, c);
        event_source_free(c->source);
        close(c->fd);
        if (c->prev)
                c->prev->next = c->next;
        else
                s->clients = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_clients--;
        if (c->cluster)
                s->n_tcp_clients--;
        free(c->in);
        free(c->out);
        free(c);
}

static int client_flush(Client *c) {
        while (c->out_off < c->out_len) {
                size_t len = c->out_len - c->out_off;
                ssize_t n;
                if (c->out_fd >= 0 && c->out_off == c->out_fd_at) {
                        n = send_with_fd(c->fd, c->out + c->out_off, len, c->out_fd, MSG_DONTWAIT);
                        if (n > 0)
                                safe_close(TAKE_FD(c->out_fd));
                } else {
                        if (c->out_fd >= 0 && c->out_fd_at > c->out_off)
                                len = c->out_fd_at - c->out_off; /* up to the fd's byte */
                        n = send(c->fd, c->out + c->out_off, len, MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (n < 0)
                                n = -errno;
                }
                if (n == -EAGAIN)
                        return event_source_set_events(c->source, EPOLLIN | EPOLLOUT);
                if (n == -EINTR)
                        continue;
                if (n < 0)
                        return (int)n;
                c->out_off += (size_t)n;
        }
        free(c->out);
        c->out = NULL;
        c->out_len = c->out_off = 0;
        if (c->closing)
                return -EPIPE;
        return event_source_set_events(c->source, EPOLLIN);
}

static int on_client(EventSource *src, int fd, uint32_t events, void *userdata) {
        Client *c = userdata;
        if (events & EPOLLOUT) {
                if (client_flush(c) < 0) {
                        client_free(c);
                        return 0;
                }
        }
        if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                return 0;
        if (c->in_cap - c->in_len < 65536) {
                size_t cap = c->in_cap ? c->in_cap * 2 : 65536;
                if (cap > FRAME_MAX + 4 + 65536)
                        cap = FRAME_MAX + 4 + 65536;
                if (cap <= c->in_len) { /* cannot happen: frames are capped */
                        client_free(c);
                        return 0;
                }
                c->in = xrealloc(c->in, cap);
                c->in_cap = cap;
        }
        ssize_t n = recv(fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                client_free(c);
                return 0;
        }
        c->in_len += (size_t)n;
        client_process(c);
        return 0;
}

/* Answer the frames buffered in c->in, up to one that runs as a job.
 * May free c. */
static void client_process(Client *c) {
        bool close_after = false;
        size_t used = process(c->server, c, c->uid, c->in, c->in_len, &c->out, &c->out_len, &close_after);
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
        if (close_after) {
                c->closing = true;
                event_source_set_events(c->source, 0); /* stop reading */
        } else if (c->waiting)
                event_source_set_events(c->source, c->out_len ? EPOLLOUT : 0); /* read on when answered */
        if (c->out_len && client_flush(c) < 0)
                client_free(c);
}

/* A job's response (jobs.h): send it, then go on with what the client
 * sent meanwhile. */
static void on_job_answer(void *ctx, json_t *response) {
        Client *c = ctx;
        c->waiting = NULL;
        respond(&c->out, &c->out_len, response);
        if (!c->closing)
                event_source_set_events(c->source, EPOLLIN);
        client_process(c);
}

static void client_new(Server *s, int cfd, uint32_t uid, bool cluster) {
        Client *c = xcalloc(1, sizeof(*c));
        c->server = s;
        c->fd = cfd;
        c->out_fd = -1;
        c->uid = uid;
        c->cluster = cluster;
        c->accepted_usec = now_usec();
        if (event_add_io(s->loop, cfd, EPOLLIN, on_client, c, &c->source) < 0) {
                close(cfd);
                free(c);
                return;
        }
        c->next = s->clients;
        if (s->clients)
                s->clients->prev = c;
        s->clients = c;
        s->n_clients++;
        if (cluster)
                s->n_tcp_clients++;
}

static int on_accept(EventSource *src, int fd, uint32_t events, void *userdata) {
        Server *s = userdata;
        for (;;) {
                int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (cfd < 0)
                        return 0;
                struct ucred cred;
                socklen_t len = sizeof(cred);
                if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || s->n_clients >= MAX_CLIENTS) {
                        close(cfd);
                        continue;
                }
                client_new(s, cfd, cred.uid, false);
        }
}

/* nodes over TCP: who they are is in every sealed message, not here */
static int on_accept_tcp(EventSource *src, int fd, uint32_t events, void *userdata) {
        Server *s = userdata;
        for (;;) {
                int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (cfd < 0)
                        return 0;
                if (s->n_clients >= MAX_CLIENTS || s->n_tcp_clients >= MAX_TCP_CLIENTS) {
                        close(cfd);
                        continue;
                }
                int one = 1;
                setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                client_new(s, cfd, UINT32_MAX, true);
        }
}

/* TCP connections that did not say a sealed hello in time are closed */
static int on_sweep(EventSource *src, void *userdata) {
        Server *s = userdata;
        uint64_t now = now_usec();
        for (Client *c = s->clients, *next; c; c = next) {
                next = c->next;
                if (c->cluster && !c->fleet_node && now - c->accepted_usec > HELLO_DEADLINE_USEC)
                        client_free(c);
        }
        return 0;
}

int server_listen_tcp(Server *s, const char *addr, Error *err) {
        char host[128], port[16];
        int r = addr_port_split(addr, host, sizeof(host), port, sizeof(port), err);
        if (r < 0)
                return r;
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai;
        if ((r = getaddrinfo(host, port, &hints, &ai)) != 0)
                return error_set(err, -EINVAL, "cluster_listen %s: %s", addr, gai_strerror(r));
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
        if ((r = event_add_io(s->loop, fd, EPOLLIN, on_accept_tcp, s, &s->tcp_source)) < 0 ||
            (r = event_add_timer(s->loop, SWEEP_INTERVAL_MS, on_sweep, s, &s->sweep)) < 0) {
                close(fd);
                return error_set(err, r, "event loop: %s", strerror(-r));
        }
        s->tcp_fd = fd;
        log_info("nodes connect on %s (MUNGE)", addr);
        return 0;
}

int server_client_push(NodeClient *c, json_t *message) {
        respond(&c->out, &c->out_len, message);
        int r = client_flush(c);
        return r == -EPIPE ? 0 : r;
}

int server_new(EventLoop *loop, Controller *controller, Fleet *fleet, Host *host, const char *path, Server **ret,
               Error *err) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(sa.sun_path))
                return error_set(err, -ENAMETOOLONG, "socket path %s is too long", path);
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return error_set(err, -errno, "socket: %m");
        /* a stale socket from a previous run: remove it only if nobody answers */
        int probe = unix_connect(path);
        if (probe >= 0) {
                close(probe);
                close(fd);
                return error_set(err, -EADDRINUSE, "another vmbatchd is listening on %s", path);
        }
        unlink(path);
        mode_t old = umask(0111); /* the socket is for every local user: 0666 */
        int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        umask(old);
        if (r < 0 || listen(fd, 512) < 0) {
                r = -errno;
                close(fd);
                return error_set(err, r, "cannot listen on %s: %s", path, strerror(-r));
        }
        Server *s = xcalloc(1, sizeof(*s));
        s->loop = loop;
        s->controller = controller;
        s->fleet = fleet;
        s->host = host;
        s->fd = fd;
        s->tcp_fd = -1;
        s->path = xstrdup(path);
        if (controller && (r = jobs_new(loop, controller, &s->jobs)) < 0) {
                server_free(s);
                return error_set(err, r, "workers: %s", strerror(-r));
        }
        r = event_add_io(loop, fd, EPOLLIN, on_accept, s, &s->source);
        if (r < 0) {
                server_free(s);
                return error_set(err, r, "event loop: %s", strerror(-r));
        }
        *ret = s;
        return 0;
}

void server_free(Server *s) {
        if (!s)
                return;
        s->host = NULL; /* shutting down: running VMs keep running, starters reconnect */
        while (s->clients)
                client_free(s->clients);
        jobs_free(s->jobs);
        event_source_free(s->source);
        event_source_free(s->tcp_source);
        event_source_free(s->sweep);
        close(s->fd);
        if (s->tcp_fd >= 0)
                close(s->tcp_fd);
        unlink(s->path);
        free(s->path);
        free(s);
}
