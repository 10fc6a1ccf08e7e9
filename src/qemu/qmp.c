/* qmp.c - QMP messages (pure) and a blocking QMP client with deadlines. See qmp.h. */
#include "qemu/qmp.h"

#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

#define QMP_READ_CHUNK 4096u
/* The longest line we buffer: QMP_LINE_MAX plus "\r\n". */
#define QMP_BUFFER_MAX (QMP_LINE_MAX + 2u)
/* Retry interval bounds while qemu has not created its socket yet. */
#define QMP_CONNECT_RETRY_MIN_USEC 1000u
#define QMP_CONNECT_RETRY_MAX_USEC 20000u
#define QMP_NO_DEADLINE UINT64_MAX

#define _cleanup_json_ _cleanup_(json_decrefp)

/* ---- pure layer ------------------------------------------------------------------- */

static bool json_int_in(const json_t *j, int64_t min, int64_t max) {
        return json_is_integer(j) && json_integer_value(j) >= min && json_integer_value(j) <= max;
}

static int parse_greeting(json_t *qmp, QmpMessage *m) {
        if (!json_is_object(qmp))
                return -EBADMSG;
        json_t *version = json_object_get(qmp, "version");
        if (!json_is_object(version))
                return -EBADMSG;
        json_t *qemu = json_object_get(version, "qemu");
        if (!json_is_object(qemu))
                return -EBADMSG;
        json_t *major = json_object_get(qemu, "major"), *minor = json_object_get(qemu, "minor"),
               *micro = json_object_get(qemu, "micro");
        if (!json_int_in(major, 0, INT_MAX) || !json_int_in(minor, 0, INT_MAX) ||
            !json_int_in(micro, 0, INT_MAX))
                return -EBADMSG;
        json_t *package = json_object_get(version, "package");
        if (package && !json_is_string(package))
                return -EBADMSG;
        json_t *caps = json_object_get(qmp, "capabilities");
        if (caps && !json_is_array(caps))
                return -EBADMSG;

        m->type = QMP_MESSAGE_GREETING;
        m->version_major = (int)json_integer_value(major);
        m->version_minor = (int)json_integer_value(minor);
        m->version_micro = (int)json_integer_value(micro);
        m->package = package ? json_string_value(package) : NULL;
        return 0;
}

static int parse_error(json_t *error, QmpMessage *m) {
        if (!json_is_object(error))
                return -EBADMSG;
        json_t *class = json_object_get(error, "class"), *desc = json_object_get(error, "desc");
        if (!json_is_string(class) || !json_is_string(desc))
                return -EBADMSG;
        m->type = QMP_MESSAGE_ERROR;
        m->error_class = json_string_value(class);
        m->error_desc = json_string_value(desc);
        return 0;
}

static int parse_event(json_t *root, json_t *event, QmpMessage *m) {
        if (!json_is_string(event) || json_string_length(event) == 0)
                return -EBADMSG;
        json_t *data = json_object_get(root, "data");
        if (data && !json_is_object(data))
                return -EBADMSG;
        json_t *ts = json_object_get(root, "timestamp");
        if (!json_is_object(ts))
                return -EBADMSG;
        json_t *sec = json_object_get(ts, "seconds"), *usec = json_object_get(ts, "microseconds");
        /* qemu sends -1 for both when the clock could not be read */
        if (!json_int_in(sec, -1, INT64_MAX) || !json_int_in(usec, -1, 999999))
                return -EBADMSG;
        m->type = QMP_MESSAGE_EVENT;
        m->event = json_string_value(event);
        m->data = data;
        m->timestamp_sec = json_integer_value(sec);
        m->timestamp_usec = json_integer_value(usec);
        return 0;
}

int qmp_parse_message(const char *line, size_t len, QmpMessage *ret) {
        if (!ret || (!line && len > 0))
                return -EINVAL;
        /* the line terminator is not part of the message */
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                len--;
        if (len == 0 || len > QMP_LINE_MAX)
                return -EBADMSG;

        json_error_t jerr;
        _cleanup_json_ json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(root))
                return -EBADMSG;

        json_t *greeting = json_object_get(root, "QMP"), *value = json_object_get(root, "return"),
               *error = json_object_get(root, "error"), *event = json_object_get(root, "event");
        if (!!greeting + !!value + !!error + !!event != 1)
                return -EBADMSG;

        QmpMessage m = {.type = _QMP_MESSAGE_TYPE_INVALID};
        int r;
        if (greeting)
                r = parse_greeting(greeting, &m);
        else if (event)
                r = parse_event(root, event, &m);
        else {
                if (value) {
                        m.type = QMP_MESSAGE_RETURN;
                        m.value = value;
                        r = 0;
                } else
                        r = parse_error(error, &m);
                m.id = json_object_get(root, "id");
        }
        if (r < 0)
                return r;

        m.json = TAKE_PTR(root);
        *ret = m;
        return 0;
}

void qmp_message_done(QmpMessage *m) {
        if (!m)
                return;
        json_decref(m->json);
        *m = (QmpMessage){.type = _QMP_MESSAGE_TYPE_INVALID};
}

int qmp_message_id(const QmpMessage *m, uint64_t *ret) {
        if (!m || !m->id)
                return -ENOENT;
        if (!json_is_integer(m->id) || json_integer_value(m->id) < 0)
                return -EINVAL;
        *ret = (uint64_t)json_integer_value(m->id);
        return 0;
}

int qmp_build_command(const char *cmd, json_t *args, uint64_t id, char **ret_line) {
        if (isempty(cmd) || !ret_line || (args && !json_is_object(args)))
                return -EINVAL;
        if (id > (uint64_t)INT64_MAX)
                return -ERANGE;

        _cleanup_json_ json_t *o = json_object();
        json_t *execute = json_string(cmd);
        if (!o || !execute || json_object_set_new(o, "execute", execute) < 0)
                return -EINVAL; /* json_string() refuses what is not UTF-8 */
        if (args && json_object_set(o, "arguments", args) < 0)
                return -ENOMEM;
        if (id > 0 && json_object_set_new(o, "id", json_integer((json_int_t)id)) < 0)
                return -ENOMEM;

        _cleanup_free_ char *s = json_dumps(o, JSON_COMPACT);
        if (!s)
                return -EINVAL;
        size_t n = strlen(s);
        if (n > QMP_LINE_MAX)
                return -EMSGSIZE;
        char *line = malloc(n + 2);
        if (!line)
                return -ENOMEM;
        memcpy(line, s, n);
        line[n] = '\n';
        line[n + 1] = 0;
        *ret_line = line;
        return 0;
}

/* ---- client ----------------------------------------------------------------------- */

struct Qmp {
        int fd;
        char *buf;       /* bytes read, not yet taken as lines: [start, end) */
        size_t size, start, end;
        size_t scanned;  /* [start, scanned) holds no newline */
        bool eof;        /* qemu closed (or reset) the connection */
        int broken;      /* < 0: the stream cannot be resynchronised (overlong line) */
        json_t *events;  /* array, oldest first */
        uint64_t dropped;
        uint64_t next_id;
        int timeout_ms;
        int major, minor, micro;
};

static uint64_t deadline_after(int timeout_ms) {
        return timeout_ms < 0 ? QMP_NO_DEADLINE : now_usec() + (uint64_t)timeout_ms * 1000u;
}

/* poll() timeout until the deadline, rounded up; 0 once it has passed. */
static int poll_ms(uint64_t deadline) {
        if (deadline == QMP_NO_DEADLINE)
                return -1;
        uint64_t now = now_usec();
        if (now >= deadline)
                return 0;
        uint64_t ms = (deadline - now + 999) / 1000;
        return ms > INT_MAX ? INT_MAX : (int)ms;
}

static int wait_fd(int fd, short events, uint64_t deadline) {
        for (;;) {
                struct pollfd p = {.fd = fd, .events = events};
                int r = poll(&p, 1, poll_ms(deadline));
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (r == 0)
                        return -ETIMEDOUT;
                return 0; /* readable, writable, or POLLHUP/POLLERR: the next call tells */
        }
}

static int send_all(Qmp *q, const char *p, size_t len, uint64_t deadline) {
        while (len > 0) {
                ssize_t n = send(q->fd, p, len, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                int r = wait_fd(q->fd, POLLOUT, deadline);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        if (errno == EPIPE || errno == ECONNRESET) {
                                q->eof = true;
                                return -EPIPE;
                        }
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

/* Read what is available (after waiting for it until the deadline). */
static int fill_buffer(Qmp *q, uint64_t deadline) {
        if (q->start > 0) {
                memmove(q->buf, q->buf + q->start, q->end - q->start);
                q->end -= q->start;
                q->scanned -= q->start;
                q->start = 0;
        }
        if (q->end == q->size) {
                size_t size = q->size * 2;
                if (size > QMP_BUFFER_MAX)
                        size = QMP_BUFFER_MAX;
                char *b = realloc(q->buf, size);
                if (!b)
                        return -ENOMEM;
                q->buf = b;
                q->size = size;
        }
        for (;;) {
                ssize_t n = read(q->fd, q->buf + q->end, q->size - q->end);
                if (n > 0) {
                        q->end += (size_t)n;
                        return 0;
                }
                if (n == 0) {
                        q->eof = true;
                        return 0;
                }
                if (errno == EINTR)
                        continue;
                if (errno == ECONNRESET) { /* qemu's way of closing after "quit" */
                        q->eof = true;
                        return 0;
                }
                if (errno != EAGAIN)
                        return -errno;
                int r = wait_fd(q->fd, POLLIN, deadline);
                if (r < 0)
                        return r;
        }
}

/* The next message qemu sent, waiting until the deadline. -ETIMEDOUT, -EPIPE (closed,
 * also in the middle of a line), -EBADMSG (the line was consumed; or, for an overlong
 * line, the connection is broken for good). */
static int read_message(Qmp *q, uint64_t deadline, QmpMessage *ret) {
        if (q->broken < 0)
                return q->broken;
        for (;;) {
                char *nl = memchr(q->buf + q->scanned, '\n', q->end - q->scanned);
                if (nl) {
                        const char *line = q->buf + q->start;
                        size_t len = (size_t)(nl - line);
                        q->start = q->scanned = (size_t)(nl - q->buf) + 1;
                        if (len == 0 || (len == 1 && line[0] == '\r'))
                                continue; /* an empty line: nothing */
                        return qmp_parse_message(line, len, ret);
                }
                q->scanned = q->end;
                if (q->eof)
                        return -EPIPE;
                if (q->end - q->start >= QMP_BUFFER_MAX) {
                        q->broken = -EBADMSG;
                        return q->broken;
                }
                int r = fill_buffer(q, deadline);
                if (r < 0)
                        return r;
        }
}

static void queue_event(Qmp *q, QmpMessage *m) {
        if (json_array_size(q->events) >= QMP_EVENT_QUEUE_MAX) {
                json_array_remove(q->events, 0);
                q->dropped++;
        }
        json_array_append_new(q->events, TAKE_PTR(m->json));
        qmp_message_done(m);
}

static int execute_until(Qmp *q, const char *cmd, json_t *args, uint64_t deadline, int timeout_ms,
                         json_t **ret_return, Error *err) {
        _cleanup_json_ json_t *a = args;

        if (q->broken < 0)
                return error_set(err, q->broken, "QMP connection unusable after an overlong message");
        if (q->eof)
                return error_set(err, -EPIPE, "qemu closed the QMP connection");

        uint64_t id = q->next_id++;
        _cleanup_free_ char *line = NULL;
        int r = qmp_build_command(cmd, a, id, &line);
        if (r < 0)
                return error_set(err, r, "cannot build QMP command '%s': %s", cmd, strerror(-r));

        r = send_all(q, line, strlen(line), deadline);
        if (r == -ETIMEDOUT)
                return error_set(err, r, "QMP command '%s' could not be sent within %d ms", cmd,
                                 timeout_ms);
        if (r == -EPIPE)
                return error_set(err, r, "qemu closed the QMP connection");
        if (r < 0)
                return error_set(err, r, "sending QMP command '%s': %s", cmd, strerror(-r));

        for (;;) {
                QmpMessage m = {};
                r = read_message(q, deadline, &m);
                if (r == -ETIMEDOUT)
                        return error_set(err, r, "QMP command '%s' got no reply within %d ms", cmd,
                                         timeout_ms);
                if (r == -EPIPE)
                        return error_set(err, r, "qemu closed the QMP connection before replying to '%s'",
                                         cmd);
                if (r == -EBADMSG)
                        return error_set(err, r, "qemu sent an invalid QMP message (waiting for '%s')",
                                         cmd);
                if (r < 0)
                        return error_set(err, r, "reading the reply to QMP command '%s': %s", cmd,
                                         strerror(-r));

                if (m.type == QMP_MESSAGE_EVENT) {
                        queue_event(q, &m);
                        continue;
                }
                uint64_t got;
                int k = qmp_message_id(&m, &got);
                bool ours = m.type != QMP_MESSAGE_GREETING &&
                            ((k == 0 && got == id) || k == -ENOENT); /* id-less: unparsed command */
                if (!ours) { /* late reply to a command that timed out, or a stray greeting */
                        qmp_message_done(&m);
                        continue;
                }
                if (m.type == QMP_MESSAGE_ERROR) {
                        r = error_set(err, -EIO, "qemu: %s", m.error_desc);
                        qmp_message_done(&m);
                        return r;
                }
                if (ret_return)
                        *ret_return = json_incref(m.value);
                qmp_message_done(&m);
                return 0;
        }
}

int qmp_execute(Qmp *q, const char *cmd, json_t *args, int timeout_ms, json_t **ret_return,
                Error *err) {
        if (!q || isempty(cmd)) {
                json_decref(args);
                return error_set(err, -EINVAL, "QMP: no command");
        }
        return execute_until(q, cmd, args, deadline_after(timeout_ms), timeout_ms, ret_return, err);
}

static Qmp *qmp_new(int fd) {
        Qmp *q = xcalloc(1, sizeof(Qmp));
        q->fd = fd;
        q->size = QMP_READ_CHUNK;
        q->buf = malloc(q->size);
        q->events = json_array();
        if (!q->buf || !q->events)
                abort(); /* as xcalloc: allocation failure is not recoverable here */
        q->next_id = 1;
        q->timeout_ms = QMP_DEFAULT_TIMEOUT_MS;
        return q;
}

void qmp_free(Qmp *q) {
        if (!q)
                return;
        if (q->fd >= 0)
                close(q->fd);
        free(q->buf);
        json_decref(q->events);
        free(q);
}

/* One connect attempt: the connected fd, or -errno. */
static int connect_once(const struct sockaddr_un *sa, socklen_t salen) {
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (const struct sockaddr *)sa, salen) < 0)
                return -errno;
        return TAKE_FD(fd);
}

int qmp_connect(const char *socket_path, int timeout_ms, Qmp **ret, Error *err) {
        if (isempty(socket_path) || !ret)
                return error_set(err, -EINVAL, "QMP: no socket path");
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t plen = strlen(socket_path);
        if (plen >= sizeof(sa.sun_path))
                return error_set(err, -ENAMETOOLONG, "QMP socket path is longer than %zu bytes: %s",
                                 sizeof(sa.sun_path) - 1, socket_path);
        memcpy(sa.sun_path, socket_path, plen + 1);
        socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + 1);

        uint64_t deadline = deadline_after(timeout_ms);
        uint64_t pause = QMP_CONNECT_RETRY_MIN_USEC;
        int fd;
        for (;;) {
                fd = connect_once(&sa, salen);
                if (fd >= 0)
                        break;
                /* not there yet / not listening yet / backlog full: qemu is starting */
                if (fd != -ENOENT && fd != -ECONNREFUSED && fd != -EAGAIN && fd != -EINTR)
                        return error_set(err, fd, "cannot connect to QMP socket %s: %s", socket_path,
                                         strerror(-fd));
                uint64_t now = now_usec();
                if (now >= deadline)
                        return error_set(err, -ETIMEDOUT,
                                         "no qemu listening on QMP socket %s within %d ms (%s)",
                                         socket_path, timeout_ms, strerror(-fd));
                uint64_t wait = pause;
                if (deadline != QMP_NO_DEADLINE && deadline - now < wait)
                        wait = deadline - now;
                usleep((useconds_t)wait);
                pause = pause * 2 > QMP_CONNECT_RETRY_MAX_USEC ? QMP_CONNECT_RETRY_MAX_USEC : pause * 2;
        }

        _cleanup_qmp_ Qmp *q = qmp_new(fd);

        QmpMessage m = {};
        int r = read_message(q, deadline, &m);
        if (r == -ETIMEDOUT)
                return error_set(err, r,
                                 "no QMP greeting on %s within %d ms (is another QMP client connected?)",
                                 socket_path, timeout_ms);
        if (r == -EPIPE)
                return error_set(err, r, "QMP socket %s closed before the greeting", socket_path);
        if (r == -EBADMSG || (r == 0 && m.type != QMP_MESSAGE_GREETING)) {
                qmp_message_done(&m);
                return error_set(err, -EPROTO, "QMP socket %s: no QMP greeting (not a QMP server?)",
                                 socket_path);
        }
        if (r < 0)
                return error_set(err, r, "reading the QMP greeting from %s: %s", socket_path,
                                 strerror(-r));
        q->major = m.version_major;
        q->minor = m.version_minor;
        q->micro = m.version_micro;
        qmp_message_done(&m);

        r = execute_until(q, "qmp_capabilities", NULL, deadline, timeout_ms, NULL, err);
        if (r < 0) {
                error_prefix(err, "QMP socket %s", socket_path);
                return r;
        }
        *ret = TAKE_PTR(q);
        return 0;
}

int qmp_fd(Qmp *q) {
        return q ? q->fd : -EBADF;
}

int qmp_next_event(Qmp *q, int timeout_ms, json_t **ret_event) {
        if (!q || !ret_event)
                return -EINVAL;
        uint64_t deadline = deadline_after(timeout_ms);
        for (;;) {
                if (json_array_size(q->events) > 0) {
                        *ret_event = json_incref(json_array_get(q->events, 0));
                        json_array_remove(q->events, 0);
                        return 1;
                }
                QmpMessage m = {};
                int r = read_message(q, deadline, &m);
                if (r == -ETIMEDOUT)
                        return 0;
                if (r < 0)
                        return r;
                if (m.type == QMP_MESSAGE_EVENT)
                        queue_event(q, &m);
                else
                        qmp_message_done(&m); /* a reply nobody waits for any more */
        }
}

uint64_t qmp_events_dropped(Qmp *q) {
        return q ? q->dropped : 0;
}

void qmp_qemu_version(Qmp *q, int *ret_major, int *ret_minor, int *ret_micro) {
        if (ret_major)
                *ret_major = q ? q->major : 0;
        if (ret_minor)
                *ret_minor = q ? q->minor : 0;
        if (ret_micro)
                *ret_micro = q ? q->micro : 0;
}

void qmp_set_timeout(Qmp *q, int timeout_ms) {
        if (q)
                q->timeout_ms = timeout_ms;
}

/* ---- convenience wrappers --------------------------------------------------------- */

static int simple(Qmp *q, const char *cmd, json_t *args, json_t **ret_return, Error *err) {
        if (!q) {
                json_decref(args);
                return error_set(err, -EINVAL, "QMP: not connected");
        }
        return qmp_execute(q, cmd, args, q->timeout_ms, ret_return, err);
}

int qmp_set_vnc_password(Qmp *q, const char *password, Error *err) {
        return qmp_set_vnc_password_of(q, NULL, password, err);
}

int qmp_set_vnc_password_of(Qmp *q, const char *display, const char *password, Error *err) {
        if (isempty(password))
                return error_set(err, -EINVAL, "the VNC password must not be empty");
        size_t n = strlen(password);
        if (n > QMP_VNC_PASSWORD_MAX)
                return error_set(err, -EINVAL,
                                 "VNC passwords are at most %u bytes long (VNC authentication uses only %u), "
                                 "this one has %zu",
                                 QMP_VNC_PASSWORD_MAX, QMP_VNC_PASSWORD_MAX, n);
        if (!string_is_printable(password))
                return error_set(err, -EINVAL, "the VNC password contains a control character");
        json_t *pw = json_string(password);
        if (!pw)
                return error_set(err, -EINVAL, "the VNC password is not valid UTF-8");
        json_t *args = json_object();
        if (!args || json_object_set_new(args, "protocol", json_string("vnc")) < 0 ||
            json_object_set_new(args, "password", pw) < 0 ||
            (display && json_object_set_new(args, "display", json_string(display)) < 0)) {
                json_decref(args);
                return error_set(err, -ENOMEM, "out of memory");
        }
        int r = simple(q, "set_password", args, NULL, err);
        if (r < 0 && display)
                error_prefix(err, "setting the password of VNC server '%s'", display);
        else if (r < 0)
                error_prefix(err, "setting the VNC password");
        return r;
}

int qmp_system_powerdown(Qmp *q, Error *err) {
        int r = simple(q, "system_powerdown", NULL, NULL, err);
        if (r < 0)
                error_prefix(err, "pressing the power button");
        return r;
}

int qmp_stop(Qmp *q, Error *err) {
        int r = simple(q, "stop", NULL, NULL, err);
        if (r < 0)
                error_prefix(err, "pausing the VM");
        return r;
}

int qmp_cont(Qmp *q, Error *err) {
        int r = simple(q, "cont", NULL, NULL, err);
        if (r < 0)
                error_prefix(err, "resuming the VM");
        return r;
}

int qmp_quit(Qmp *q, Error *err) {
        Error e = {};
        int r = simple(q, "quit", NULL, NULL, &e);
        if (r == -EPIPE) /* qemu exits: the reply may not make it */
                return 0;
        if (r < 0) {
                error_set(err, r, "%s", e.message);
                error_prefix(err, "stopping qemu");
        }
        return r;
}

int qmp_query_status(Qmp *q, char *buf, size_t len, Error *err) {
        _cleanup_json_ json_t *ret = NULL;
        int r = simple(q, "query-status", NULL, &ret, err);
        if (r < 0) {
                error_prefix(err, "querying the VM status");
                return r;
        }
        const char *status = json_string_value(json_object_get(ret, "status"));
        if (!status)
                return error_set(err, -EPROTO, "query-status: qemu's reply has no status");
        if (!buf || strlen(status) >= len)
                return error_set(err, -ERANGE, "query-status: status '%.64s' too long", status);
        memcpy(buf, status, strlen(status) + 1);
        return 0;
}

int qmp_query_vnc_port(Qmp *q, int *ret_port, Error *err) {
        _cleanup_json_ json_t *ret = NULL;
        int r = simple(q, "query-vnc", NULL, &ret, err);
        if (r < 0) {
                error_prefix(err, "querying VNC");
                return r;
        }
        if (!json_is_object(ret) || !json_is_boolean(json_object_get(ret, "enabled")))
                return error_set(err, -EPROTO, "query-vnc: qemu's reply has no 'enabled'");
        if (!json_is_true(json_object_get(ret, "enabled")))
                return error_set(err, -ENODEV, "VNC is not enabled in this qemu");
        const char *service = json_string_value(json_object_get(ret, "service"));
        uint32_t port;
        if (!service || parse_u32(service, &port) < 0 || port == 0 || port > 65535)
                return error_set(err, -EPROTO, "query-vnc: no TCP port in qemu's reply (service '%.64s')",
                                 service ? service : "");
        if (ret_port)
                *ret_port = (int)port;
        return 0;
}
