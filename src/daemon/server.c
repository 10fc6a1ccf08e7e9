/* server.c - the daemon's unix socket: accept, SO_PEERCRED, frames (one
 * Conn per client), fd passing, routing requests to the controller (in a
 * worker when they are slow: jobs.h) or to the node role. See server.h. */
#include "daemon/server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/epoll.h>

#include "basic/conn.h"
#include "basic/frame.h"
#include "basic/jsonutil.h"
#include "basic/log.h"
#include "daemon/jobs.h"

#define MAX_CLIENTS 4096

typedef struct NodeClient Client;
struct NodeClient {
        Server *server;
        Conn *conn;
        uint32_t uid;
        pid_t pid; /* SO_PEERCRED at connect */
        JobsPending *waiting; /* its request runs as a job */
        bool node_waiting;    /* its node.* request waits for the controller */
        Client *prev, *next;
};

struct Server {
        EventLoop *loop;
        Controller *controller;
        Host *host;
        int fd;
        char *path;
        EventSource *source;
        Client *clients;
        size_t n_clients;
        Jobs *jobs;
};

static json_t *ok_response(json_t *data) { return json_pack("{s:b, s:o}", "ok", true, "data", data); }

static void send_response(Client *c, json_t *response, const int *fds, size_t n_fds) {
        int r = conn_send_fds(c->conn, response, fds, n_fds);
        if (r == -E2BIG)
                conn_send(c->conn, json_error_response(-E2BIG, "response too large"), -1);
        else if (r == -EBUSY) {
                log_error("a second fd for one client before the first went out: dropped");
                conn_send(c->conn, json_error_response(-EBUSY, "an fd is still on its way"), -1);
        }
}

/* A job's response (jobs.h): send it, then go on with what the client
 * sent meanwhile. */
static void on_job_answer(void *ctx, json_t *response) {
        Client *c = ctx;
        c->waiting = NULL;
        send_response(c, response, NULL, 0);
        conn_resume(c->conn);
}

/* The node role's answer to a request it left pending (HostClientOps). */
static void on_host_answer(void *data, NodeClient *c, int r, json_t *reply, const Error *err, const int *fds,
                           size_t n_fds) {
        c->node_waiting = false;
        send_response(c, r < 0 ? json_error_response(r, "%s", err->message) : ok_response(reply), fds, n_fds);
        conn_resume(c->conn);
}

static int on_host_push(void *data, NodeClient *c, json_t *message) {
        return conn_send(c->conn, message, -1);
}

/* Requests of the controller: answered at once, or from a job. NULL: the
 * answer comes later. *ret_fd: an fd to send with the answer, -1 none. */
static json_t *dispatch_controller(Server *s, Client *c, uint32_t uid, json_t *req, int *ret_fd) {
        Error err = {0};
        if (!s->controller)
                return json_error_response(error_set(&err, -ENOTSUP, "this vmbatchd is an execution node: "
                                                                     "ask the controller"),
                                           "%s", err.message);
        if (!c) /* server_feed: in line */
                return controller_request(s->controller, uid, req);
        ControllerJob *job = NULL;
        /* console.redeem: the console's socket rides on the answer */
        json_t *resp = controller_start_fd(s->controller, uid, req, &job, ret_fd);
        if (!job)
                return resp;
        c->waiting = jobs_run(s->jobs, job, on_job_answer, c, &resp);
        return c->waiting ? NULL : resp;
}

/* node.* requests go to the node role, the rest to the controller */
static void client_frame(void *data, json_t *req, int bad) {
        Client *c = data;
        Server *s = c->server;
        if (bad < 0) {
                send_response(c, json_error_response(bad, bad == -EMSGSIZE ? "request larger than 1 MiB"
                                                                           : "request is not a JSON object"),
                              NULL, 0);
                return;
        }
        const char *op = json_string_value(json_object_get(req, "op"));
        if (!op || strncmp(op, "node.", 5) != 0) {
                int fd = -1;
                json_t *resp = dispatch_controller(s, c, c->uid, req, &fd);
                if (resp)
                        send_response(c, resp, &fd, fd >= 0);
                else
                        conn_pause(c->conn); /* answered when its job ends (on_job_answer) */
                return;
        }
        Error err = {0};
        json_t *reply = NULL;
        int r = host_request(s->host, c, c->uid, c->pid, op, json_object_get(req, "args"), &reply, &err);
        if (r == HOST_PENDING) {
                c->node_waiting = true;
                conn_pause(c->conn); /* answered through on_host_answer */
                return;
        }
        send_response(c, r < 0 ? json_error_response(r, "%s", err.message) : ok_response(reply), NULL, 0);
}

char *server_feed(Controller *controller, uint32_t uid, const char *bytes, size_t len, size_t *ret_len,
                  bool *ret_close) {
        char *out = NULL;
        size_t out_len = 0, used = 0;
        Server s = {.controller = controller};
        *ret_close = false;
        while (used < len && !*ret_close) {
                json_t *req = NULL, *resp;
                size_t consumed = 0;
                ssize_t r = frame_parse(bytes + used, len - used, &req, &consumed);
                if (r == 0)
                        break;
                if (r == -EMSGSIZE) {
                        resp = json_error_response(-EMSGSIZE, "request larger than 1 MiB");
                        *ret_close = true;
                } else {
                        used += consumed;
                        resp = r < 0 ? json_error_response(-EBADMSG, "request is not a JSON object")
                                     : dispatch_controller(&s, NULL, uid, req, NULL);
                }
                json_decref(req);
                size_t n;
                char *frame = frame_encode(resp, &n);
                json_decref(resp);
                if (!frame)
                        continue;
                out = xrealloc(out, out_len + n);
                memcpy(out + out_len, frame, n);
                out_len += n;
                free(frame);
        }
        *ret_len = out_len;
        return out;
}

static void client_free(Client *c) {
        Server *s = c->server;
        jobs_forget_client(c->waiting);
        host_client_closed(s->host, c);
        conn_free(c->conn);
        if (c->prev)
                c->prev->next = c->next;
        else
                s->clients = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_clients--;
        free(c);
}

static void client_closed(void *data, int r) { client_free(data); }

static const ConnOps client_conn_ops = {.frame = client_frame, .closed = client_closed};

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
                Client *c = xcalloc(1, sizeof(*c));
                c->server = s;
                c->uid = cred.uid;
                c->pid = cred.pid;
                if (conn_new(s->loop, cfd, &client_conn_ops, c, &c->conn) < 0) {
                        close(cfd);
                        free(c);
                        continue;
                }
                c->next = s->clients;
                if (s->clients)
                        s->clients->prev = c;
                s->clients = c;
                s->n_clients++;
        }
}

int server_new(EventLoop *loop, Controller *controller, Host *host, const char *path, Server **ret, Error *err) {
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
        s->host = host;
        s->fd = fd;
        s->path = xstrdup(path);
        if (controller && (r = jobs_new(loop, controller, &s->jobs)) < 0) {
                server_free(s);
                return error_set(err, r, "workers: %s", strerror(-r));
        }
        if (host)
                host_set_clients(host, &(HostClientOps){.answer = on_host_answer, .push = on_host_push, .data = s});
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
        close(s->fd);
        unlink(s->path);
        free(s->path);
        free(s);
}
