/* test-qmp.c - the QMP parser and command builder (pure), and the client against a fake
 * QMP server: a forked child that listens on a unix socket in a temporary directory and
 * plays a script (send a line, expect a line, stay silent, hang up). TAP. */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "qemu/qmp.h"
#include "tap.h"

/* Real qemu 7.2 lines (Debian 1:7.2+dfsg-7+deb12u18), "\r\n" as qemu sends them. */
#define GREETING                                                                                   \
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "         \
        "\"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}\r\n"
#define EV_STOP "{\"timestamp\": {\"seconds\": 1795553588, \"microseconds\": 415481}, \"event\": \"STOP\"}\r\n"
#define EV_RESUME                                                                                  \
        "{\"timestamp\": {\"seconds\": 1795553588, \"microseconds\": 415938}, \"event\": \"RESUME\"}\r\n"
#define EV_SHUTDOWN                                                                                \
        "{\"timestamp\": {\"seconds\": 1795553670, \"microseconds\": 870398}, \"event\": "         \
        "\"SHUTDOWN\", \"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}\r\n"

/* ---- parser ------------------------------------------------------------------------ */

static int parse(const char *s, QmpMessage *m) {
        return qmp_parse_message(s, strlen(s), m);
}

static void test_parse_valid(void) {
        QmpMessage m = {};
        uint64_t id = 0;

        is_int(parse(GREETING, &m), 0, "greeting parses");
        is_int(m.type, QMP_MESSAGE_GREETING, "greeting: type");
        ok(m.version_major == 7 && m.version_minor == 2 && m.version_micro == 22,
           "greeting: version 7.2.22");
        is_str(m.package, "Debian 1:7.2+dfsg-7+deb12u18+b3", "greeting: package");
        qmp_message_done(&m);
        ok(m.json == NULL && m.package == NULL, "qmp_message_done clears");
        qmp_message_done(&m); /* twice is fine */

        is_int(parse("{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, \"id\": 1}",
                     &m),
               0, "return with id parses");
        is_int(m.type, QMP_MESSAGE_RETURN, "return: type");
        is_str(json_string_value(json_object_get(m.value, "status")), "running", "return: value");
        ok(qmp_message_id(&m, &id) == 0 && id == 1, "return: id 1");
        qmp_message_done(&m);

        is_int(parse("{\"return\": {}}\r\n", &m), 0, "return without id parses (\\r\\n)");
        is_int(qmp_message_id(&m, &id), -ENOENT, "return without id: -ENOENT");
        ok(json_is_object(m.value) && json_object_size(m.value) == 0, "return: empty object");
        qmp_message_done(&m);

        is_int(parse("{\"return\": [1, \"two\"], \"id\": \"abc\"}", &m), 0, "return array, string id");
        ok(json_is_array(m.value), "return: array value");
        is_int(qmp_message_id(&m, &id), -EINVAL, "string id: not numeric");
        is_str(json_string_value(m.id), "abc", "string id kept as JSON");
        qmp_message_done(&m);

        is_int(parse("{\"id\": 7, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command "
                     "no-such-command has not been found\"}}",
                     &m),
               0, "error parses");
        is_int(m.type, QMP_MESSAGE_ERROR, "error: type");
        is_str(m.error_class, "CommandNotFound", "error: class");
        is_str(m.error_desc, "The command no-such-command has not been found", "error: desc");
        ok(qmp_message_id(&m, &id) == 0 && id == 7, "error: id 7");
        qmp_message_done(&m);

        is_int(parse(EV_SHUTDOWN, &m), 0, "event with data parses");
        is_int(m.type, QMP_MESSAGE_EVENT, "event: type");
        is_str(m.event, "SHUTDOWN", "event: name");
        is_str(json_string_value(json_object_get(m.data, "reason")), "host-qmp-quit", "event: data");
        ok(m.timestamp_sec == 1795553670 && m.timestamp_usec == 870398, "event: timestamp");
        qmp_message_done(&m);

        is_int(parse(EV_STOP, &m), 0, "event without data parses");
        ok(m.data == NULL, "event without data: data NULL");
        qmp_message_done(&m);

        /* escaped newlines and quotes inside strings: still one line */
        const char *nested = "{\"return\": {\"s\": \"a\\nb\\r\\n\\\"}\\\"\\n\", \"o\": {\"p\": [\"\\n\"]}}}";
        ok(strchr(nested, '\n') == NULL, "nested: the line itself has no newline");
        is_int(parse(nested, &m), 0, "nested strings with escaped newlines parse");
        is_str(json_string_value(json_object_get(m.value, "s")), "a\nb\r\n\"}\"\n", "nested: decoded");
        qmp_message_done(&m);

        /* a line of exactly QMP_LINE_MAX bytes is accepted */
        size_t n = QMP_LINE_MAX;
        char *big = malloc(n + 3);
        const char *head = "{\"return\": \"", *tail = "\"}";
        memcpy(big, head, strlen(head));
        memset(big + strlen(head), 'x', n - strlen(head) - strlen(tail));
        memcpy(big + n - strlen(tail), tail, strlen(tail));
        memcpy(big + n, "\r\n", 3);
        is_int(qmp_parse_message(big, n + 2, &m), 0, "a line of QMP_LINE_MAX bytes (+\\r\\n) parses");
        qmp_message_done(&m);
        free(big);
}

/* For test names: bytes outside printable ASCII as \xNN (TAP output stays UTF-8). */
static const char *printable(const char *s, char *buf, size_t size) {
        size_t n = 0;
        for (; *s && n + 5 < size; s++) {
                unsigned char c = (unsigned char)*s;
                if (c >= 0x20 && c < 0x7f)
                        buf[n++] = (char)c;
                else
                        n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
        }
        buf[n] = 0;
        return buf;
}

static void test_parse_invalid(void) {
        static const char *const bad[] = {
                "",
                "\r\n",
                "hello",
                "42",
                "\"return\"",
                "[{\"return\": {}}]",
                "null",
                "{}",
                "{\"foo\": 1}",
                "{\"return\": {}",
                "{\"return\": {}} x",
                "{\"return\": {}}{\"return\": {}}",
                "{\"return\": {}, \"return\": {}}",
                "{\"return\": {}, \"error\": {\"class\": \"a\", \"desc\": \"b\"}}",
                "{\"return\": {}, \"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}",
                "{\"error\": \"boom\"}",
                "{\"error\": {\"class\": 1, \"desc\": \"b\"}}",
                "{\"error\": {\"class\": \"a\"}}",
                "{\"event\": 5, \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}",
                "{\"event\": \"\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}",
                "{\"event\": \"STOP\"}",
                "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": \"1\", \"microseconds\": 2}}",
                "{\"event\": \"STOP\", \"timestamp\": {\"seconds\": 1, \"microseconds\": 1000000}}",
                "{\"event\": \"STOP\", \"data\": [], \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}",
                "{\"QMP\": {}}",
                "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7, \"minor\": 2}}}}",
                "{\"QMP\": {\"version\": {\"qemu\": {\"major\": -7, \"minor\": 2, \"micro\": 0}}}}",
                "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7, \"minor\": 2, \"micro\": 0}, \"package\": 1}}}",
                "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7, \"minor\": 2, \"micro\": 0}}, \"capabilities\": {}}}",
                "{\"return\": \"\\u0000\"}",
                "{\"return\": \"\xff\xfe\"}",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                QmpMessage m = {};
                int r = parse(bad[i], &m);
                char name[256];
                if (!ok(r == -EBADMSG && m.json == NULL, "refused: %s", printable(bad[i], name, sizeof(name))))
                        printf("#   got %d\n", r);
                qmp_message_done(&m);
        }

        QmpMessage m = {};
        is_int(qmp_parse_message("{\"return\": {}}\0x", 16, &m), -EBADMSG, "refused: embedded NUL byte");
        is_int(qmp_parse_message(NULL, 0, &m), -EBADMSG, "refused: NULL, 0");

        /* one byte over QMP_LINE_MAX: refused before parsing */
        size_t n = QMP_LINE_MAX + 1;
        char *big = malloc(n);
        memset(big, ' ', n);
        memcpy(big, "{\"return\": {}}", 14);
        is_int(qmp_parse_message(big, n, &m), -EBADMSG, "refused: a line over 1 MiB");
        free(big);
}

/* ---- command builder ---------------------------------------------------------------- */

static void test_build(void) {
        char *line = NULL;

        is_int(qmp_build_command("qmp_capabilities", NULL, 1, &line), 0, "build qmp_capabilities");
        is_str(line, "{\"execute\":\"qmp_capabilities\",\"id\":1}\n", "golden: qmp_capabilities");
        free(line);

        is_int(qmp_build_command("stop", NULL, 0, &line), 0, "build without id");
        is_str(line, "{\"execute\":\"stop\"}\n", "golden: id 0 is left out");
        free(line);

        json_t *args = json_pack("{s:s, s:s}", "protocol", "vnc", "password", "secret12");
        is_int(qmp_build_command("set_password", args, 42, &line), 0, "build set_password");
        is_str(line, "{\"execute\":\"set_password\",\"arguments\":{\"protocol\":\"vnc\",\"password\":\"secret12\"},\"id\":42}\n",
               "golden: set_password");
        ok(args->refcount == 1, "args borrowed, not stolen");
        free(line);
        json_decref(args);

        args = json_pack("{s:s, s:[s]}", "s", "a\nb\"c\\", "l", "\r\n");
        is_int(qmp_build_command("x-test", args, 9223372036854775807ull, &line), 0, "build: newlines in strings");
        is_str(line, "{\"execute\":\"x-test\",\"arguments\":{\"s\":\"a\\nb\\\"c\\\\\",\"l\":[\"\\r\\n\"]},\"id\":9223372036854775807}\n",
               "golden: escaped newlines, id INT64_MAX");
        ok(line && strchr(line, '\n') == line + strlen(line) - 1, "build: the only newline is the last byte");
        free(line);

        line = NULL;
        is_int(qmp_build_command("x-test", args, 9223372036854775808ull, &line), -ERANGE, "build: id > INT64_MAX");
        ok(line == NULL, "build: ret_line untouched on failure");
        json_decref(args);

        is_int(qmp_build_command("", NULL, 1, &line), -EINVAL, "build: empty command");
        is_int(qmp_build_command(NULL, NULL, 1, &line), -EINVAL, "build: NULL command");
        is_int(qmp_build_command("bad\xff", NULL, 1, &line), -EINVAL, "build: command not UTF-8");
        args = json_array();
        is_int(qmp_build_command("stop", args, 1, &line), -EINVAL, "build: arguments not an object");
        json_decref(args);

        char *huge = malloc(QMP_LINE_MAX + 1);
        memset(huge, 'y', QMP_LINE_MAX);
        huge[QMP_LINE_MAX] = 0;
        args = json_pack("{s:s}", "s", huge);
        is_int(qmp_build_command("x", args, 1, &line), -EMSGSIZE, "build: over QMP_LINE_MAX");
        json_decref(args);
        free(huge);
}

/* ---- fake QMP server -------------------------------------------------------------------- */

typedef enum {
        STEP_END,
        STEP_SEND,   /* write text; "@ID@" becomes the id of the last line received */
        STEP_EXPECT, /* read a line, it must contain text */
        STEP_SLEEP,  /* ms */
        STEP_CLOSE,  /* hang up (end of script) */
        STEP_FLOOD,  /* send ms copies of text */
} StepKind;

typedef struct {
        StepKind kind;
        const char *text;
        int ms;
} Step;

#define SEND(t) {STEP_SEND, (t), 0}
#define EXPECT(t) {STEP_EXPECT, (t), 0}
#define SLEEP(n) {STEP_SLEEP, NULL, (n)}
#define FLOOD(t, n) {STEP_FLOOD, (t), (n)}
#define CLOSE {STEP_CLOSE, NULL, 0}
#define END {STEP_END, NULL, 0}
#define HANDSHAKE SEND(GREETING), EXPECT("{\"execute\":\"qmp_capabilities\",\"id\":"), SEND("{\"return\": {}, \"id\": @ID@}\r\n")

static char dir[] = "/tmp/test-qmp.XXXXXX";
static char sock_path[sizeof(dir) + 16];

static int server_read_line(int fd, char *buf, size_t size) {
        size_t n = 0;
        while (n + 1 < size) {
                ssize_t k = read(fd, buf + n, 1);
                if (k <= 0)
                        return -1;
                if (buf[n] == '\n')
                        break;
                n++;
        }
        buf[n] = 0;
        return 0;
}

static int server_send(int fd, const char *text, const char *id) {
        char out[8192];
        const char *at = strstr(text, "@ID@");
        if (!at)
                return loop_write(fd, text, strlen(text));
        snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - text), text, id, at + 4);
        return loop_write(fd, out, strlen(out));
}

_Noreturn static void server_run(int lfd, const Step *steps, int delay_ms) {
        if (delay_ms > 0) {
                usleep((useconds_t)delay_ms * 1000);
                struct sockaddr_un sa = {.sun_family = AF_UNIX};
                snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
                lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0)
                        _exit(2);
        }
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
                _exit(2);
        char line[65536], id[64] = "0";
        for (const Step *s = steps; s->kind != STEP_END; s++) {
                switch (s->kind) {
                case STEP_SEND:
                        if (server_send(fd, s->text, id) < 0)
                                _exit(3);
                        break;
                case STEP_EXPECT: {
                        if (server_read_line(fd, line, sizeof(line)) < 0) {
                                fprintf(stderr, "fake server: EOF, wanted '%s'\n", s->text);
                                _exit(4);
                        }
                        if (!strstr(line, s->text)) {
                                fprintf(stderr, "fake server: got '%s', wanted '%s'\n", line, s->text);
                                _exit(5);
                        }
                        const char *p = strstr(line, "\"id\":");
                        if (p)
                                snprintf(id, sizeof(id), "%.*s", (int)strspn(p + 5, "0123456789"), p + 5);
                        break;
                }
                case STEP_SLEEP:
                        usleep((useconds_t)s->ms * 1000);
                        break;
                case STEP_FLOOD:
                        for (int i = 0; i < s->ms; i++)
                                if (server_send(fd, s->text, id) < 0)
                                        _exit(3);
                        break;
                case STEP_CLOSE:
                        close(fd);
                        _exit(0);
                case STEP_END:
                        break;
                }
        }
        /* end of script: wait for the client to hang up */
        while (server_read_line(fd, line, sizeof(line)) == 0)
                ;
        _exit(0);
}

/* Start the fake server. delay_ms > 0: it creates the socket only after that long. */
static pid_t server_start(const Step *steps, int delay_ms) {
        unlink(sock_path);
        int lfd = -1;
        if (delay_ms == 0) {
                struct sockaddr_un sa = {.sun_family = AF_UNIX};
                snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
                lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0)
                        abort();
        }
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
                abort();
        if (pid == 0)
                server_run(lfd, steps, delay_ms);
        if (lfd >= 0)
                close(lfd);
        return pid;
}

static void server_wait(pid_t pid, const char *name) {
        int status;
        if (waitpid(pid, &status, 0) < 0)
                status = -1;
        if (!ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: fake server saw what it expected", name))
                printf("#   server status 0x%x\n", status);
}

static const char *event_name(json_t *ev) {
        return json_string_value(json_object_get(ev, "event"));
}

/* ---- client tests ------------------------------------------------------------------------ */

static void test_session(void) {
        static const Step steps[] = {
                HANDSHAKE,
                /* a reply preceded by two events */
                EXPECT("{\"execute\":\"query-status\",\"id\":"),
                SEND(EV_STOP),
                SEND(EV_RESUME),
                SEND("{\"return\": {\"status\": \"running\", \"singlestep\": false, \"running\": true}, \"id\": @ID@}\r\n"),
                /* an error reply, through qmp_execute and through a wrapper */
                EXPECT("{\"execute\":\"x-fail\",\"arguments\":{\"a\":1},\"id\":"),
                SEND("{\"id\": @ID@, \"error\": {\"class\": \"GenericError\", \"desc\": \"it failed\"}}\r\n"),
                EXPECT("{\"execute\":\"stop\",\"id\":"),
                SEND("{\"id\": @ID@, \"error\": {\"class\": \"GenericError\", \"desc\": \"boom\"}}\r\n"),
                /* a stale reply (another id) is skipped */
                EXPECT("{\"execute\":\"cont\",\"id\":"),
                SEND("{\"return\": {}, \"id\": 999}\r\n"),
                SEND("{\"return\": {}, \"id\": @ID@}\r\n"),
                /* the password (after refusing bad ones without sending anything) */
                EXPECT("{\"execute\":\"set_password\",\"arguments\":{\"protocol\":\"vnc\",\"password\":\"secret12\"},\"id\":"),
                SEND("{\"return\": {}, \"id\": @ID@}\r\n"),
                EXPECT("{\"execute\":\"query-vnc\",\"id\":"),
                SEND("{\"return\": {\"enabled\": true, \"auth\": \"vnc\", \"family\": \"ipv4\", \"clients\": [], "
                     "\"service\": \"5977\", \"host\": \"127.0.0.1\"}, \"id\": @ID@}\r\n"),
                EXPECT("{\"execute\":\"query-vnc\",\"id\":"),
                SEND("{\"return\": {\"enabled\": false}, \"id\": @ID@}\r\n"),
                EXPECT("{\"execute\":\"system_powerdown\",\"id\":"),
                SEND("{\"timestamp\": {\"seconds\": 1795553594, \"microseconds\": 416868}, \"event\": \"POWERDOWN\"}\r\n"
                     "{\"return\": {}, \"id\": @ID@}\r\n"
                     "{\"timestamp\": {\"seconds\": 1795553594, \"microseconds\": 454330}, \"event\": \"SHUTDOWN\", "
                     "\"data\": {\"guest\": true, \"reason\": \"guest-shutdown\"}}\r\n"),
                /* an id-less error (qemu could not parse the command) answers it */
                EXPECT("{\"execute\":\"x-garbled\",\"id\":"),
                SEND("{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid keyword 'garbage'\"}}\r\n"),
                /* hang-up in the middle of the reply */
                EXPECT("{\"execute\":\"query-status\",\"id\":"),
                SEND("{\"return\": {\"sta"),
                CLOSE,
                END,
        };
        pid_t pid = server_start(steps, 0);
        Qmp *q = NULL;
        Error err = {};

        uint64_t t0 = now_usec();
        int r = qmp_connect(sock_path, 5000, &q, &err);
        uint64_t t_connect = now_usec() - t0;
        if (!ok(r == 0, "connect: greeting and capabilities"))
                printf("#   %d %s\n", r, err.message);
        if (!q) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                return;
        }
        int major, minor, micro;
        qmp_qemu_version(q, &major, &minor, &micro);
        ok(major == 7 && minor == 2 && micro == 22, "connect: qemu version from the greeting");
        ok(qmp_fd(q) >= 0, "qmp_fd");
        int fl = fcntl(qmp_fd(q), F_GETFD);
        ok(fl >= 0 && (fl & FD_CLOEXEC), "the QMP fd is CLOEXEC");

        char status[32] = "";
        t0 = now_usec();
        r = qmp_query_status(q, status, sizeof(status), &err);
        uint64_t t_cmd = now_usec() - t0;
        is_int(r, 0, "query-status with two events before the reply");
        is_str(status, "running", "query-status: running");

        json_t *ev = NULL;
        is_int(qmp_next_event(q, 0, &ev), 1, "first queued event");
        is_str(event_name(ev), "STOP", "first queued event is STOP");
        json_decref(ev);
        is_int(qmp_next_event(q, 0, &ev), 1, "second queued event");
        is_str(event_name(ev), "RESUME", "second queued event is RESUME");
        json_decref(ev);
        ev = NULL;
        is_int(qmp_next_event(q, 0, &ev), 0, "no third event (non-blocking)");
        ok(ev == NULL, "no event: ret_event untouched");

        json_t *ret = NULL;
        error_clear(&err);
        r = qmp_execute(q, "x-fail", json_pack("{s:i}", "a", 1), 2000, &ret, &err);
        is_int(r, -EIO, "error reply: -EIO");
        is_str(err.message, "qemu: it failed", "error reply: 'qemu: <desc>'");
        ok(ret == NULL, "error reply: no return value");

        error_clear(&err);
        is_int(qmp_stop(q, &err), -EIO, "qmp_stop: error reply");
        is_str(err.message, "pausing the VM: qemu: boom", "qmp_stop: message with context");

        error_clear(&err);
        is_int(qmp_cont(q, &err), 0, "qmp_cont: the stale reply with another id is skipped");

        error_clear(&err);
        is_int(qmp_set_vnc_password(q, "secret123", &err), -EINVAL, "VNC password of 9 bytes refused");
        ok(strstr(err.message, "at most 8 bytes") != NULL, "VNC password: says 8 bytes (%s)", err.message);
        error_clear(&err);
        is_int(qmp_set_vnc_password(q, "", &err), -EINVAL, "empty VNC password refused");
        error_clear(&err);
        is_int(qmp_set_vnc_password(q, "a\nb", &err), -EINVAL, "VNC password with a newline refused");
        error_clear(&err);
        is_int(qmp_set_vnc_password(q, "\xc3\x28", &err), -EINVAL, "VNC password not UTF-8 refused");
        error_clear(&err);
        is_int(qmp_set_vnc_password(q, "secret12", &err), 0, "VNC password of 8 bytes set");

        int port = 0;
        error_clear(&err);
        is_int(qmp_query_vnc_port(q, &port, &err), 0, "query-vnc");
        is_int(port, 5977, "query-vnc: the port from 'service'");
        error_clear(&err);
        is_int(qmp_query_vnc_port(q, &port, &err), -ENODEV, "query-vnc: VNC disabled");
        is_str(err.message, "VNC is not enabled in this qemu", "query-vnc: VNC disabled message");

        error_clear(&err);
        is_int(qmp_system_powerdown(q, &err), 0, "system_powerdown between two events");
        is_int(qmp_next_event(q, 0, &ev), 1, "POWERDOWN queued");
        is_str(event_name(ev), "POWERDOWN", "POWERDOWN first");
        json_decref(ev);
        is_int(qmp_next_event(q, 0, &ev), 1, "SHUTDOWN read with the reply, not lost");
        is_str(event_name(ev), "SHUTDOWN", "SHUTDOWN second");
        is_str(json_string_value(json_object_get(json_object_get(ev, "data"), "reason")), "guest-shutdown",
               "SHUTDOWN data");
        json_decref(ev);

        error_clear(&err);
        is_int(qmp_execute(q, "x-garbled", NULL, 2000, NULL, &err), -EIO, "id-less error answers the command");

        error_clear(&err);
        r = qmp_query_status(q, status, sizeof(status), &err);
        is_int(r, -EPIPE, "hang-up mid-reply: -EPIPE");
        ok(strstr(err.message, "closed the QMP connection") != NULL, "hang-up: message (%s)", err.message);
        is_int(qmp_next_event(q, 0, &ev), -EPIPE, "next_event after hang-up: -EPIPE");
        is_int(qmp_next_event(q, 1000, &ev), -EPIPE, "next_event after hang-up does not wait");
        error_clear(&err);
        is_int(qmp_stop(q, &err), -EPIPE, "command after hang-up: -EPIPE at once");

        qmp_free(q);
        qmp_free(NULL);
        server_wait(pid, "session");
        printf("# fake server: connect %.3f ms, query-status %.3f ms\n", t_connect / 1000.0, t_cmd / 1000.0);
}

static void test_silent_server(void) {
        static const Step steps[] = {
                HANDSHAKE,
                EXPECT("{\"execute\":\"query-status\",\"id\":2}"),
                SLEEP(600),
                /* the late reply, then the answer to the next command */
                SEND("{\"return\": {\"status\": \"paused\"}, \"id\": 2}\r\n"),
                EXPECT("{\"execute\":\"query-status\",\"id\":3}"),
                SEND("{\"return\": {\"status\": \"running\"}, \"id\": 3}\r\n"),
                EXPECT("{\"execute\":\"query-status\",\"id\":4}"),
                SEND("{\"return\": {\"status\": \"running\"}, \"id\": 4}\r\n"),
                EXPECT("{\"execute\":\"query-status\",\"id\":5}"),
                SEND("{\"return\": {\"running\": true}, \"id\": 5}\r\n"),
                END,
        };
        pid_t pid = server_start(steps, 0);
        Qmp *q = NULL;
        Error err = {};
        if (!ok(qmp_connect(sock_path, 5000, &q, &err) == 0, "silent: connect"))
                printf("#   %s\n", err.message);

        uint64_t t0 = now_usec();
        int r = qmp_execute(q, "query-status", NULL, 200, NULL, &err);
        uint64_t ms = (now_usec() - t0) / 1000;
        is_int(r, -ETIMEDOUT, "silent server: -ETIMEDOUT");
        ok(ms >= 200 && ms < 1500, "silent server: timed out after %" PRIu64 " ms (200 ms)", ms);
        is_str(err.message, "QMP command 'query-status' got no reply within 200 ms", "silent server: message");

        char status[32] = "";
        error_clear(&err);
        qmp_set_timeout(q, 3000);
        is_int(qmp_query_status(q, status, sizeof(status), &err), 0, "after a timeout: next command");
        is_str(status, "running", "after a timeout: the late reply is not taken for the next one");
        error_clear(&err);
        is_int(qmp_query_status(q, status, 7, &err), -ERANGE, "query-status: buffer too small");
        error_clear(&err);
        is_int(qmp_query_status(q, status, sizeof(status), &err), -EPROTO, "query-status: reply without status");
        qmp_free(q);
        server_wait(pid, "silent");
}

static void test_connect_failures(void) {
        Qmp *q = NULL;
        Error err = {};

        /* nothing at the path */
        unlink(sock_path);
        uint64_t t0 = now_usec();
        int r = qmp_connect(sock_path, 150, &q, &err);
        uint64_t ms = (now_usec() - t0) / 1000;
        is_int(r, -ETIMEDOUT, "no socket: -ETIMEDOUT");
        ok(ms >= 150 && ms < 1500, "no socket: gave up after %" PRIu64 " ms (150 ms)", ms);
        ok(strstr(err.message, "no qemu listening on QMP socket") != NULL, "no socket: message (%s)", err.message);
        ok(q == NULL, "no socket: ret untouched");

        /* the socket appears late: connect retries */
        static const Step late[] = {HANDSHAKE, END};
        pid_t pid = server_start(late, 150);
        error_clear(&err);
        t0 = now_usec();
        r = qmp_connect(sock_path, 5000, &q, &err);
        ms = (now_usec() - t0) / 1000;
        if (!ok(r == 0, "socket created 150 ms later: connect retries"))
                printf("#   %s\n", err.message);
        ok(ms >= 150 && ms < 3000, "late socket: connected after %" PRIu64 " ms", ms);
        qmp_free(TAKE_PTR(q));
        server_wait(pid, "late socket");

        /* a server that accepts and says nothing (another client holds qemu's monitor) */
        static const Step mute[] = {SLEEP(800), CLOSE, END};
        pid = server_start(mute, 0);
        error_clear(&err);
        t0 = now_usec();
        r = qmp_connect(sock_path, 200, &q, &err);
        ms = (now_usec() - t0) / 1000;
        is_int(r, -ETIMEDOUT, "no greeting: -ETIMEDOUT");
        ok(ms >= 200 && ms < 1500, "no greeting: gave up after %" PRIu64 " ms", ms);
        ok(strstr(err.message, "no QMP greeting") != NULL, "no greeting: message (%s)", err.message);
        server_wait(pid, "mute");

        /* not a QMP server */
        static const Step notqmp[] = {SEND("SSH-2.0-OpenSSH\r\n"), CLOSE, END};
        pid = server_start(notqmp, 0);
        error_clear(&err);
        is_int(qmp_connect(sock_path, 2000, &q, &err), -EPROTO, "not QMP: -EPROTO");
        server_wait(pid, "not QMP");

        static const Step noreply[] = {SEND("{\"return\": {}}\r\n"), CLOSE, END};
        pid = server_start(noreply, 0);
        error_clear(&err);
        is_int(qmp_connect(sock_path, 2000, &q, &err), -EPROTO, "a reply instead of the greeting: -EPROTO");
        server_wait(pid, "reply first");

        /* capabilities refused */
        static const Step refused[] = {
                SEND(GREETING), EXPECT("qmp_capabilities"),
                SEND("{\"id\": @ID@, \"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}\r\n"), END};
        pid = server_start(refused, 0);
        error_clear(&err);
        is_int(qmp_connect(sock_path, 2000, &q, &err), -EIO, "capabilities refused: -EIO");
        ok(strstr(err.message, "qemu: no") != NULL, "capabilities refused: message (%s)", err.message);
        server_wait(pid, "capabilities refused");

        /* closed right after the greeting */
        static const Step hup[] = {SEND(GREETING), CLOSE, END};
        pid = server_start(hup, 0);
        error_clear(&err);
        is_int(qmp_connect(sock_path, 2000, &q, &err), -EPIPE, "closed after the greeting: -EPIPE");
        server_wait(pid, "hang-up after greeting");

        char longpath[200];
        memset(longpath, 'a', sizeof(longpath) - 1);
        longpath[0] = '/';
        longpath[sizeof(longpath) - 1] = 0;
        error_clear(&err);
        is_int(qmp_connect(longpath, 100, &q, &err), -ENAMETOOLONG, "path longer than sun_path");
        ok(q == NULL, "failures leave ret untouched");
}

static void test_events(void) {
        static const Step steps[] = {
                HANDSHAKE,
                SLEEP(100),
                SEND(EV_STOP),
                /* an event split across two writes */
                SEND("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "),
                SLEEP(50),
                SEND("\"event\": \"RESUME\"}\r\n"),
                /* a reply nobody waits for is dropped */
                SEND("{\"return\": {}, \"id\": 77}\r\n"),
                /* more events than the queue holds, arriving while a command waits */
                EXPECT("{\"execute\":\"query-status\""),
                FLOOD("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"FLOOD\"}\r\n", 1100),
                SEND(EV_SHUTDOWN),
                SEND("{\"return\": {\"status\": \"shutdown\"}, \"id\": @ID@}\r\n"),
                /* garbage, then an overlong line */
                SEND("not json\r\n"),
                SEND(EV_STOP),
                SLEEP(100),
                CLOSE,
                END,
        };
        pid_t pid = server_start(steps, 0);
        Qmp *q = NULL;
        Error err = {};
        if (!ok(qmp_connect(sock_path, 5000, &q, &err) == 0, "events: connect"))
                printf("#   %s\n", err.message);

        json_t *ev = NULL;
        is_int(qmp_next_event(q, 0, &ev), 0, "events: nothing yet (non-blocking)");
        uint64_t t0 = now_usec();
        is_int(qmp_next_event(q, 2000, &ev), 1, "events: waits for the next event");
        uint64_t ms = (now_usec() - t0) / 1000;
        is_str(event_name(ev), "STOP", "events: STOP");
        ok(ms >= 50 && ms < 1500, "events: came after %" PRIu64 " ms", ms);
        json_decref(ev);
        is_int(qmp_next_event(q, 2000, &ev), 1, "events: an event in two pieces");
        is_str(event_name(ev), "RESUME", "events: RESUME");
        json_decref(ev);

        char status[32];
        qmp_set_timeout(q, 5000);
        is_int(qmp_query_status(q, status, sizeof(status), &err), 0, "events: command during a flood");
        is_str(status, "shutdown", "events: its reply");
        ok(qmp_events_dropped(q) == 1101 - QMP_EVENT_QUEUE_MAX, "events: %" PRIu64 " oldest dropped",
           qmp_events_dropped(q));
        size_t n = 0;
        const char *last = NULL;
        int r;
        while ((r = qmp_next_event(q, 0, &ev)) == 1) {
                n++;
                if (n == QMP_EVENT_QUEUE_MAX) {
                        last = event_name(ev);
                        ok(last && streq(last, "SHUTDOWN"), "events: the newest (SHUTDOWN) kept last");
                }
                json_decref(ev);
        }
        is_int(n, QMP_EVENT_QUEUE_MAX, "events: a full queue handed out");
        /* the garbage line comes after the queue is drained */
        if (r == 0)
                r = qmp_next_event(q, 2000, &ev);
        is_int(r, -EBADMSG, "events: garbage line -> -EBADMSG");
        is_int(qmp_next_event(q, 2000, &ev), 1, "events: the stream goes on after a bad line");
        is_str(event_name(ev), "STOP", "events: STOP after the bad line");
        json_decref(ev);
        is_int(qmp_next_event(q, 2000, &ev), -EPIPE, "events: -EPIPE when the server closes");
        qmp_free(q);
        server_wait(pid, "events");
}

static void test_overlong_and_quit(void) {
        /* a line over QMP_LINE_MAX: the connection is given up */
        static char flood_line[70000];
        static Step big[] = {
                HANDSHAKE,
                SEND("{\"return\": \""),
                FLOOD(NULL, 16), /* 16 x 70000 bytes without a newline: > 1 MiB */
                SEND("\"}\r\n"),
                END,
        };
        memset(flood_line, 'z', sizeof(flood_line) - 1);
        big[4].text = flood_line;
        pid_t pid = server_start(big, 0);
        Qmp *q = NULL;
        Error err = {};
        if (!ok(qmp_connect(sock_path, 5000, &q, &err) == 0, "overlong: connect"))
                printf("#   %s\n", err.message);
        json_t *ev = NULL;
        is_int(qmp_next_event(q, 5000, &ev), -EBADMSG, "a line over 1 MiB: -EBADMSG");
        is_int(qmp_next_event(q, 0, &ev), -EBADMSG, "overlong: the connection stays unusable");
        error_clear(&err);
        is_int(qmp_stop(q, &err), -EBADMSG, "overlong: commands refused");
        qmp_free(q);
        kill(pid, SIGKILL); /* it may be blocked writing the rest */
        waitpid(pid, NULL, 0);

        /* quit: qemu sends SHUTDOWN and may close before the reply */
        static const Step quit[] = {HANDSHAKE, EXPECT("{\"execute\":\"quit\""), SEND(EV_SHUTDOWN), CLOSE, END};
        pid = server_start(quit, 0);
        q = NULL;
        error_clear(&err);
        if (!ok(qmp_connect(sock_path, 5000, &q, &err) == 0, "quit: connect"))
                printf("#   %s\n", err.message);
        is_int(qmp_quit(q, &err), 0, "quit: closed without a reply counts as done");
        is_int(qmp_next_event(q, 0, &ev), 1, "quit: SHUTDOWN event kept");
        is_str(event_name(ev), "SHUTDOWN", "quit: SHUTDOWN");
        json_decref(ev);
        is_int(qmp_next_event(q, 0, &ev), -EPIPE, "quit: then -EPIPE");
        qmp_free(q);
        server_wait(pid, "quit");
}

int main(void) {
        signal(SIGPIPE, SIG_IGN); /* the fake server may write to a client that left */
        if (!mkdtemp(dir)) {
                printf("Bail out! mkdtemp: %s\n", strerror(errno));
                return 1;
        }
        snprintf(sock_path, sizeof(sock_path), "%s/qmp.sock", dir);

        test_parse_valid();
        test_parse_invalid();
        test_build();
        test_session();
        test_silent_server();
        test_connect_failures();
        test_events();
        test_overlong_and_quit();

        unlink(sock_path);
        rmdir(dir);
        return tap_done();
}
