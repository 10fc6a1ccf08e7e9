/* qmp-tool - drive a qemu over QMP with src/qemu/qmp.c, for the integration tests. Not
 * installed.
 *
 *   qmp-tool [--timeout MS] SOCKET VERB [ARG]... [VERB [ARG]...]...
 *
 * The verbs run in order over one QMP connection (qemu serves one client at a time), made
 * on the first verb that needs it (connecting waits up to --timeout for qemu to create
 * its socket, default 10000 ms):
 *   status               print the run state (running, paused, ...)
 *   powerdown | stop | cont | quit
 *   vnc-password PW      set the VNC password
 *   vnc-port             print the TCP port VNC listens on
 *   raw CMD [JSON-ARGS]  run any command, print its return value as one JSON line
 *   events SECONDS       print events (one JSON line each) for SECONDS or until qemu leaves
 *   wait-event NAME SECONDS
 *                        print events until NAME comes (exit 0) or SECONDS pass (exit 1);
 *                        qemu leaving first is a failure too
 *   bench N              N x query-status; print connect and command latencies
 *   vnc-login PORT PW    RFB 3.8 VNC authentication against 127.0.0.1:PORT (no QMP: SOCKET
 *                        may be "-"); prints "ok WIDTHxHEIGHT NAME" (exit 0) or
 *                        "refused: REASON" (exit 1)
 * Exit status: 0, 1 (a check failed / refused / timed out), 2 (usage). Errors go to stderr. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>

#include "basic/vnc_auth.h"
#include "qemu/qmp.h"

static const char *sock_path;
static int timeout_ms = 10000;
static Qmp *q;
static uint64_t connect_usec;

static void usage(void) {
        fputs("usage: qmp-tool [--timeout MS] SOCKET VERB [ARG]...\n"
              "verbs: status | powerdown | stop | cont | quit | vnc-password PW | vnc-port |\n"
              "       raw CMD [JSON] | events SECONDS | wait-event NAME SECONDS | bench N |\n"
              "       vnc-login PORT PW\n",
              stderr);
}

static int fail(const Error *err) {
        fprintf(stderr, "qmp-tool: %s\n", err->message);
        return 1;
}

static int need_qmp(void) {
        if (q)
                return 0;
        Error err = {};
        uint64_t t0 = now_usec();
        if (qmp_connect(sock_path, timeout_ms, &q, &err) < 0)
                return fail(&err);
        connect_usec = now_usec() - t0;
        qmp_set_timeout(q, timeout_ms);
        return 0;
}

static void print_json(json_t *j) {
        char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        printf("%s\n", s ? s : "?");
        fflush(stdout);
        free(s);
}

/* events SECONDS / wait-event NAME SECONDS */
static int events(const char *want, const char *seconds) {
        uint32_t s;
        if (parse_u32(seconds, &s) < 0)
                return 2;
        uint64_t deadline = now_usec() + (uint64_t)s * 1000000u;
        for (;;) {
                uint64_t now = now_usec();
                int left = now >= deadline ? 0 : (int)((deadline - now + 999) / 1000);
                json_t *ev = NULL;
                int r = qmp_next_event(q, left, &ev);
                if (r == 0) {
                        if (want) {
                                fprintf(stderr, "qmp-tool: no %s event within %s s\n", want, seconds);
                                return 1;
                        }
                        return 0;
                }
                if (r < 0) {
                        if (r == -EPIPE)
                                fprintf(stderr, "qmp-tool: qemu closed the QMP connection\n");
                        else
                                fprintf(stderr, "qmp-tool: %s\n", strerror(-r));
                        return want || r != -EPIPE ? 1 : 0;
                }
                print_json(ev);
                bool found = want && streq(json_string_value(json_object_get(ev, "event")), want);
                json_decref(ev);
                if (found)
                        return 0;
        }
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

static int bench(const char *count) {
        uint32_t n;
        if (parse_u32(count, &n) < 0 || n == 0 || n > 100000)
                return 2;
        uint64_t *t = xcalloc(n, sizeof(uint64_t));
        char status[32];
        Error err = {};
        for (uint32_t i = 0; i < n; i++) {
                uint64_t t0 = now_usec();
                if (qmp_query_status(q, status, sizeof(status), &err) < 0) {
                        free(t);
                        return fail(&err);
                }
                t[i] = now_usec() - t0;
        }
        qsort(t, n, sizeof(uint64_t), cmp_u64);
        printf("connect %" PRIu64 " us; query-status x%" PRIu32 ": min %" PRIu64 " us, median %" PRIu64
               " us, p99 %" PRIu64 " us, max %" PRIu64 " us\n",
               connect_usec, n, t[0], t[n / 2], t[(n * 99) / 100], t[n - 1]);
        free(t);
        return 0;
}

/* ---- a minimal RFB client: enough to prove the VNC password works ---- */

static int read_full(int fd, void *buf, size_t len) {
        uint8_t *p = buf;
        while (len > 0) {
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                if (poll(&pfd, 1, 5000) <= 0)
                        return -ETIMEDOUT;
                ssize_t n = read(fd, p, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n == 0 ? -EPIPE : -errno;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

static int vnc_reason(int fd, const char *what) {
        uint32_t len;
        char reason[256] = "";
        if (read_full(fd, &len, 4) == 0) {
                len = ntohl(len);
                size_t n = len < sizeof(reason) - 1 ? len : sizeof(reason) - 1;
                if (read_full(fd, reason, n) < 0)
                        reason[0] = 0;
                reason[n] = 0;
        }
        printf("refused: %s%s%s\n", what, *reason ? ": " : "", reason);
        return 1;
}

static int vnc_login(const char *port_s, const char *password) {
        uint32_t port;
        if (parse_u32(port_s, &port) < 0 || port == 0 || port > 65535)
                return 2;
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                fprintf(stderr, "qmp-tool: connect 127.0.0.1:%" PRIu32 ": %m\n", port);
                return 1;
        }
        char version[13] = "";
        if (read_full(fd, version, 12) < 0 || strncmp(version, "RFB 003.", 8) != 0) {
                fprintf(stderr, "qmp-tool: not an RFB server\n");
                return 1;
        }
        uint8_t n_types, types[255], chosen = 2; /* VNC authentication */
        if (loop_write(fd, "RFB 003.008\n", 12) < 0 || read_full(fd, &n_types, 1) < 0)
                goto broken;
        if (n_types == 0)
                return vnc_reason(fd, "no security types");
        if (read_full(fd, types, n_types) < 0)
                goto broken;
        if (!memchr(types, chosen, n_types)) {
                printf("refused: VNC authentication not offered (first type %u)\n", types[0]);
                return 1;
        }
        uint8_t challenge[16], response[16];
        if (loop_write(fd, &chosen, 1) < 0 || read_full(fd, challenge, 16) < 0)
                goto broken;
        vnc_auth_response(password, challenge, response);
        uint32_t result;
        if (loop_write(fd, response, 16) < 0 || read_full(fd, &result, 4) < 0)
                goto broken;
        if (ntohl(result) != 0)
                return vnc_reason(fd, "authentication failed");
        uint8_t shared = 1, init[24];
        if (loop_write(fd, &shared, 1) < 0 || read_full(fd, init, 24) < 0)
                goto broken;
        uint32_t name_len;
        memcpy(&name_len, init + 20, 4);
        name_len = ntohl(name_len);
        char name[256] = "";
        size_t nl = name_len < sizeof(name) - 1 ? name_len : sizeof(name) - 1;
        if (read_full(fd, name, nl) < 0)
                goto broken;
        printf("ok %ux%u %s\n", (init[0] << 8) | init[1], (init[2] << 8) | init[3], name);
        return 0;
broken:
        fprintf(stderr, "qmp-tool: the VNC server hung up or timed out\n");
        return 1;
}

static int run_verb(char **argv, int argc, int *i) {
        const char *verb = argv[*i];
        Error err = {};
        int r;
#define ARG(k) (*i + (k) < argc ? argv[*i + (k)] : NULL)
        if (streq(verb, "vnc-login")) {
                if (!ARG(1) || !ARG(2))
                        return 2;
                *i += 3;
                return vnc_login(ARG(-2), ARG(-1));
        }
        if (need_qmp() != 0)
                return 1;
        if (streq(verb, "status")) {
                char status[64];
                (*i)++;
                if (qmp_query_status(q, status, sizeof(status), &err) < 0)
                        return fail(&err);
                printf("%s\n", status);
        } else if (streq(verb, "powerdown") || streq(verb, "stop") || streq(verb, "cont") ||
                   streq(verb, "quit")) {
                (*i)++;
                r = streq(verb, "powerdown") ? qmp_system_powerdown(q, &err)
                    : streq(verb, "stop")    ? qmp_stop(q, &err)
                    : streq(verb, "cont")    ? qmp_cont(q, &err)
                                             : qmp_quit(q, &err);
                if (r < 0)
                        return fail(&err);
        } else if (streq(verb, "vnc-password")) {
                if (!ARG(1))
                        return 2;
                *i += 2;
                if (qmp_set_vnc_password(q, ARG(-1), &err) < 0)
                        return fail(&err);
        } else if (streq(verb, "vnc-port")) {
                int port;
                (*i)++;
                if (qmp_query_vnc_port(q, &port, &err) < 0)
                        return fail(&err);
                printf("%d\n", port);
        } else if (streq(verb, "raw")) {
                if (!ARG(1))
                        return 2;
                const char *cmd = ARG(1);
                json_t *args = NULL;
                *i += 2;
                if (ARG(0) && ARG(0)[0] == '{') {
                        json_error_t jerr;
                        args = json_loads(ARG(0), 0, &jerr);
                        if (!args) {
                                fprintf(stderr, "qmp-tool: bad JSON arguments: %s\n", jerr.text);
                                return 2;
                        }
                        (*i)++;
                }
                json_t *ret = NULL;
                if (qmp_execute(q, cmd, args, timeout_ms, &ret, &err) < 0)
                        return fail(&err);
                print_json(ret);
                json_decref(ret);
        } else if (streq(verb, "events")) {
                if (!ARG(1))
                        return 2;
                *i += 2;
                return events(NULL, ARG(-1));
        } else if (streq(verb, "wait-event")) {
                if (!ARG(1) || !ARG(2))
                        return 2;
                *i += 3;
                return events(ARG(-2), ARG(-1));
        } else if (streq(verb, "bench")) {
                if (!ARG(1))
                        return 2;
                *i += 2;
                return bench(ARG(-1));
        } else {
                fprintf(stderr, "qmp-tool: unknown verb '%s'\n", verb);
                return 2;
        }
#undef ARG
        return 0;
}

int main(int argc, char **argv) {
        int i = 1;
        if (argc > 2 && streq(argv[1], "--timeout")) {
                uint32_t t;
                if (parse_u32(argv[2], &t) < 0 || t > INT32_MAX) {
                        usage();
                        return 2;
                }
                timeout_ms = (int)t;
                i = 3;
        }
        if (i + 1 >= argc) {
                usage();
                return 2;
        }
        sock_path = argv[i++];
        int r = 0;
        while (i < argc && r == 0) {
                r = run_verb(argv, argc, &i);
                if (r == 2)
                        usage();
        }
        qmp_free(q);
        return r;
}
