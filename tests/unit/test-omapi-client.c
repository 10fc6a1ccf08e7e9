/* test-omapi-client.c - omapi_client against scripted fake servers on
 * 127.0.0.1 (a forked child per case): the happy paths, and every way a
 * server can misbehave (silence, wrong start bytes, wrong rid, unsigned or
 * badly signed replies, malformed or truncated replies). The real dhcpd is
 * exercised by tests/integration/test-omapi-dhcpd.sh. */
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "net/omapi_client.h"
#include "tap.h"

#define KEY_NAME "omapi_key"
#define SECRET "dm1iYXRjaC1vbWFwaS10ZXN0LWtleQ=="
#define AUTHID 1u
#define SHORT_TIMEOUT (300ULL * 1000ULL)

static OmapiKey *srv_key;

/* ---- fake server side (runs in the child) ------------------------------- */

static int srv_read(int fd, uint8_t *buf, size_t cap, size_t *ret_len) {
        size_t have = 0, need;
        for (;;) {
                int r = omapi_msg_scan(buf, have, &need);
                if (r < 0)
                        return r;
                if (r > 0)
                        break;
                if (need > cap)
                        return -E2BIG;
                if (loop_read_exact(fd, buf + have, need - have) < 0)
                        return -EPIPE;
                have = need;
        }
        *ret_len = need;
        return 0;
}

/* Read a request; decode it into *ret. */
static OmapiMsg *srv_recv(int fd, bool *ret_signed_ok) {
        static uint8_t buf[OMAPI_MAX_MSG_SIZE];
        size_t len;
        if (srv_read(fd, buf, sizeof(buf), &len) < 0)
                _exit(10);
        OmapiMsg *m = NULL;
        if (omapi_msg_decode(buf, len, &m) < 0)
                _exit(11);
        if (ret_signed_ok)
                *ret_signed_ok = omapi_msg_verify(buf, len, srv_key) == 0;
        return m;
}

static void srv_send(int fd, OmapiMsg *m, const OmapiKey *key) {
        uint8_t *out;
        size_t len;
        if (omapi_msg_encode(m, key, &out, &len) < 0 || loop_write(fd, out, len) < 0)
                _exit(12);
        free(out);
        omapi_msg_free(m);
}

static void srv_handshake(int fd) {
        uint8_t hs[8];
        if (loop_read_exact(fd, hs, 8) < 0 || omapi_handshake_check(hs) < 0)
                _exit(13);
        omapi_handshake_encode(hs);
        if (loop_write(fd, hs, 8) < 0)
                _exit(14);
}

/* Answer the authenticator OPEN with UPDATE handle AUTHID. */
static void srv_auth(int fd) {
        OmapiMsg *req = srv_recv(fd, NULL);
        OmapiMsg *rep;
        omapi_msg_new(OMAPI_OP_UPDATE, AUTHID, 100, &rep);
        omapi_msg_set_rid(rep, omapi_msg_get_id(req));
        omapi_msg_free(req);
        srv_send(fd, rep, NULL);
}

static OmapiMsg *reply_to(OmapiMsg *req, uint32_t op, uint32_t handle) {
        OmapiMsg *rep;
        omapi_msg_new(op, handle, 200 + omapi_msg_get_id(req), &rep);
        omapi_msg_set_rid(rep, omapi_msg_get_id(req));
        return rep;
}

static OmapiMsg *status_to(OmapiMsg *req, uint32_t result, const char *text) {
        OmapiMsg *rep = reply_to(req, OMAPI_OP_STATUS, 0);
        omapi_msg_append_u32(rep, OMAPI_LIST_MESSAGE, "result", result);
        if (text)
                omapi_msg_append_string(rep, OMAPI_LIST_MESSAGE, "message", text);
        return rep;
}

static OmapiMsg *host_to(OmapiMsg *req, uint32_t handle, const char *name, const uint8_t mac[6], const char *ip) {
        OmapiMsg *rep = reply_to(req, OMAPI_OP_UPDATE, handle);
        struct in_addr a;
        inet_pton(AF_INET, ip, &a);
        omapi_msg_append(rep, OMAPI_LIST_OBJECT, "ip-address", &a.s_addr, 4);
        omapi_msg_append_string(rep, OMAPI_LIST_OBJECT, "name", name);
        omapi_msg_append(rep, OMAPI_LIST_OBJECT, "hardware-address", mac, 6);
        omapi_msg_append_u32(rep, OMAPI_LIST_OBJECT, "hardware-type", 1);
        return rep;
}

static void signed_send(int fd, OmapiMsg *rep) {
        omapi_msg_set_authid(rep, AUTHID);
        srv_send(fd, rep, srv_key);
}

static const uint8_t MAC1[6] = {0x02, 0, 0, 0, 0x64, 0x0a};
static const uint8_t MAC2[6] = {0x02, 0, 0, 0, 0x64, 0x0b};

/* Wait until the client hangs up, so it sees our last reply first. */
static void srv_drain(int fd) {
        uint8_t b[256];
        while (read(fd, b, sizeof(b)) > 0)
                ;
}

/* ---- scenarios ---------------------------------------------------------- */

typedef void (*scenario_fn)(int fd);

static void sc_silent(int fd) { srv_drain(fd); }

static void sc_bad_handshake(int fd) {
        uint8_t hs[8] = {0, 0, 0, 99, 0, 0, 0, 24};
        loop_write(fd, hs, 8);
        srv_drain(fd);
}

static void sc_auth_silent(int fd) {
        srv_handshake(fd);
        srv_drain(fd);
}

static void sc_auth_wrong_rid(int fd) {
        srv_handshake(fd);
        OmapiMsg *req = srv_recv(fd, NULL);
        OmapiMsg *rep = reply_to(req, OMAPI_OP_UPDATE, AUTHID);
        omapi_msg_set_rid(rep, omapi_msg_get_id(req) + 1);
        omapi_msg_free(req);
        srv_send(fd, rep, NULL);
        srv_drain(fd);
}

static void sc_auth_notfound(int fd) {
        srv_handshake(fd);
        OmapiMsg *req = srv_recv(fd, NULL);
        srv_send(fd, status_to(req, OMAPI_STATUS_NOTFOUND, "no object matches specification"), NULL);
        omapi_msg_free(req);
        srv_drain(fd);
}

static void sc_auth_close_midway(int fd) {
        srv_handshake(fd);
        omapi_msg_free(srv_recv(fd, NULL));
        static const uint8_t partial[28] = {[11] = 3, [15] = 1, [19] = 1, [23] = 1, [25] = 4, [26] = 'n', [27] = 'a'};
        loop_write(fd, partial, sizeof(partial));
}

static void sc_auth_oversized(int fd) {
        srv_handshake(fd);
        omapi_msg_free(srv_recv(fd, NULL));
        /* header, then a value claiming 1 MiB */
        uint8_t b[24 + 2 + 1 + 4] = {[11] = 3, [19] = 1, [23] = 1, [25] = 1, [26] = 'x', [28] = 0x10};
        loop_write(fd, b, sizeof(b));
        srv_drain(fd);
}

/* Full session: add (UPDATE), lookup (host), lookup missing (STATUS 23),
 * remove existing (lookup + DELETE), remove missing. Every request must be
 * signed, else the child exits nonzero. */
static void sc_happy(int fd) {
        srv_handshake(fd);
        srv_auth(fd);
        for (int step = 0; step < 6; step++) {
                bool sig_ok;
                OmapiMsg *req = srv_recv(fd, &sig_ok);
                if (!sig_ok || omapi_msg_get_authid(req) != AUTHID)
                        _exit(20 + step);
                char name[64] = "";
                omapi_msg_get_string(req, OMAPI_LIST_OBJECT, "name", name, sizeof(name));
                uint32_t create = 0;
                omapi_msg_get_u32(req, OMAPI_LIST_MESSAGE, "create", &create);
                if (step == 0 && create && streq(name, "vm-1"))
                        signed_send(fd, host_to(req, 5, "vm-1", MAC1, "192.168.100.10"));
                else if (step == 1 && streq(name, "vm-1"))
                        signed_send(fd, host_to(req, 5, "vm-1", MAC1, "192.168.100.10"));
                else if (step == 2 && streq(name, "vm-2"))
                        signed_send(fd, status_to(req, OMAPI_STATUS_NOTFOUND, "no object matches specification"));
                else if (step == 3 && streq(name, "vm-1"))
                        signed_send(fd, host_to(req, 5, "vm-1", MAC1, "192.168.100.10"));
                else if (step == 4 && omapi_msg_get_op(req) == OMAPI_OP_DELETE && omapi_msg_get_handle(req) == 5)
                        signed_send(fd, status_to(req, 0, NULL));
                else if (step == 5 && streq(name, "vm-1"))
                        signed_send(fd, status_to(req, OMAPI_STATUS_NOTFOUND, "no object matches specification"));
                else
                        _exit(40 + step);
                omapi_msg_free(req);
        }
        srv_drain(fd);
}

/* add: EXISTS, then the client looks up name (found) and MAC (other host). */
static void sc_exists(int fd) {
        srv_handshake(fd);
        srv_auth(fd);
        OmapiMsg *req = srv_recv(fd, NULL);
        signed_send(fd, status_to(req, OMAPI_STATUS_EXISTS, "object already exists"));
        omapi_msg_free(req);
        req = srv_recv(fd, NULL);
        signed_send(fd, host_to(req, 5, "vm-1", MAC1, "192.168.100.10"));
        omapi_msg_free(req);
        req = srv_recv(fd, NULL);
        signed_send(fd, host_to(req, 6, "vm-9", MAC2, "192.168.100.19"));
        omapi_msg_free(req);
        srv_drain(fd);
}

/* dhcpd's answer to a bad signature: unsigned STATUS INVALIDKEY. */
static void sc_invalidkey(int fd) {
        srv_handshake(fd);
        srv_auth(fd);
        OmapiMsg *req = srv_recv(fd, NULL);
        srv_send(fd, status_to(req, OMAPI_STATUS_INVALIDKEY, NULL), NULL);
        omapi_msg_free(req);
        srv_drain(fd);
}

/* An unsigned UPDATE must never pass for success. */
static void sc_unsigned_success(int fd) {
        srv_handshake(fd);
        srv_auth(fd);
        OmapiMsg *req = srv_recv(fd, NULL);
        srv_send(fd, host_to(req, 5, "vm-1", MAC1, "192.168.100.10"), NULL);
        omapi_msg_free(req);
        srv_drain(fd);
}

static void sc_bad_signature(int fd) {
        srv_handshake(fd);
        srv_auth(fd);
        OmapiMsg *req = srv_recv(fd, NULL);
        OmapiKey *other;
        omapi_key_new(KEY_NAME, "b3RoZXIta2V5", &other);
        OmapiMsg *rep = host_to(req, 5, "vm-1", MAC1, "192.168.100.10");
        omapi_msg_set_authid(rep, AUTHID);
        srv_send(fd, rep, other);
        omapi_key_free(other);
        omapi_msg_free(req);
        srv_drain(fd);
}

static void sc_reply_silent(int fd) {
        srv_handshake(fd);
        srv_auth(fd);
        omapi_msg_free(srv_recv(fd, NULL));
        srv_drain(fd);
}

/* ---- harness ------------------------------------------------------------ */

static int listen_loopback(uint16_t *ret_port) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t sl = sizeof(a);
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0 ||
            getsockname(fd, (struct sockaddr *)&a, &sl) < 0) {
                perror("listen");
                exit(1);
        }
        *ret_port = ntohs(a.sin_port);
        return fd;
}

typedef struct Server {
        pid_t pid;
        uint16_t port;
} Server;

static Server server_start(scenario_fn fn) {
        Server s = {};
        int lfd = listen_loopback(&s.port);
        fflush(stdout);
        s.pid = fork();
        if (s.pid < 0) {
                perror("fork");
                exit(1);
        }
        if (s.pid == 0) {
                alarm(10); /* never outlive a confused client */
                int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
                if (fd < 0)
                        _exit(2);
                close(lfd);
                fn(fd);
                _exit(0);
        }
        close(lfd);
        return s;
}

/* The child's exit status (0 = the script ran to its end). */
static int server_wait(Server s) {
        int status;
        if (waitpid(s.pid, &status, 0) < 0)
                return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int connect_to(Server s, uint64_t timeout, OmapiClient **ret, Error *e) {
        return omapi_client_connect("127.0.0.1", s.port, KEY_NAME, SECRET, timeout, ret, e);
}

static bool has(const Error *e, const char *text) {
        bool found = strstr(e->message, text) != NULL;
        if (!found)
                printf("#   message: %s\n#   wanted:  %s\n", e->message, text);
        return found;
}

static void test_happy(void) {
        Server s = server_start(sc_happy);
        OmapiClient *c = NULL;
        Error e = {};
        is_int(connect_to(s, 0, &c, &e), 0, "happy: connect and authenticate");
        if (!c) {
                printf("#   %s\n", e.message);
                server_wait(s);
                return;
        }
        OmapiHostSpec spec = {.name = "vm-1"};
        memcpy(spec.mac, MAC1, 6);
        inet_pton(AF_INET, "192.168.100.10", &spec.ip);
        uint32_t handle = 0;
        is_int(omapi_host_add_spec(c, &spec, &handle, &e), 0, "happy: add vm-1");
        is_int(handle, 5, "happy: handle 5");
        OmapiHostInfo info;
        is_int(omapi_host_lookup(c, "vm-1", &info, &e), 0, "happy: lookup vm-1");
        is_str(info.name, "vm-1", "happy: lookup name");
        ok(info.hw_addr_len == 6 && memcmp(info.hw_addr, MAC1, 6) == 0, "happy: lookup MAC");
        error_clear(&e);
        is_int(omapi_host_lookup(c, "vm-2", &info, &e), -ENOENT, "happy: lookup vm-2 not found");
        ok(has(&e, "dhcpd OMAPI at 127.0.0.1:") && has(&e, "host vm-2 not found"), "happy: not-found message");
        error_clear(&e);
        bool existed = false;
        is_int(omapi_host_remove_by_name(c, "vm-1", &existed, &e), 0, "happy: remove vm-1");
        ok(existed, "happy: vm-1 existed");
        is_int(omapi_host_remove_by_name(c, "vm-1", &existed, &e), 0, "happy: remove vm-1 again is not an error");
        ok(!existed, "happy: second remove found nothing");
        omapi_client_free(c);
        is_int(server_wait(s), 0, "happy: server saw 6 signed requests in order");
}

static void test_exists(void) {
        Server s = server_start(sc_exists);
        OmapiClient *c = NULL;
        Error e = {};
        connect_to(s, 0, &c, &e);
        uint8_t mac[6];
        memcpy(mac, MAC2, 6);
        struct in_addr ip = {htonl(0xc0a8640a)};
        is_int(c ? omapi_host_add(c, "vm-1", mac, ip, &e) : -1, -EEXIST, "exists: add refused with EEXIST");
        ok(has(&e, "host vm-1 already exists, and MAC 02:00:00:00:64:0b belongs to host vm-9"),
           "exists: message names both owners");
        omapi_client_free(c);
        is_int(server_wait(s), 0, "exists: server script complete");
}

/* Connect (with the short timeout), then one lookup. */
static int run_lookup(scenario_fn fn, Error *e, int *ret_connect, int *ret_second) {
        Server s = server_start(fn);
        OmapiClient *c = NULL;
        *ret_connect = connect_to(s, SHORT_TIMEOUT, &c, e);
        int r = *ret_connect;
        if (c) {
                OmapiHostInfo info;
                r = omapi_host_lookup(c, "vm-1", &info, e);
                Error e2 = {};
                *ret_second = omapi_host_lookup(c, "vm-1", &info, &e2);
        }
        omapi_client_free(c);
        server_wait(s);
        return r;
}

static void test_failures(void) {
        Error e = {};
        int rc, second = 0;
        uint64_t t0 = now_usec();
        is_int(run_lookup(sc_silent, &e, &rc, &second), -ETIMEDOUT, "silent server: timeout");
        uint64_t dt = now_usec() - t0;
        ok(dt >= SHORT_TIMEOUT && dt < 3 * SHORT_TIMEOUT, "silent server: gave up after ~0.3s (%llu us)",
           (unsigned long long)dt);
        ok(has(&e, "timed out after 0.3s waiting for the start bytes"), "silent server: message");

        error_clear(&e);
        is_int(run_lookup(sc_bad_handshake, &e, &rc, &second), -EPROTO, "version 99: refused");
        ok(has(&e, "not an OMAPI server (protocol 99"), "version 99: message");

        error_clear(&e);
        is_int(run_lookup(sc_auth_silent, &e, &rc, &second), -ETIMEDOUT, "no authenticator reply: timeout");
        ok(has(&e, "timed out after 0.3s waiting for a reply"), "no authenticator reply: message");

        error_clear(&e);
        is_int(run_lookup(sc_auth_wrong_rid, &e, &rc, &second), -EBADMSG, "wrong rid: refused");
        ok(has(&e, "reply answers request 2, not 1"), "wrong rid: message");

        error_clear(&e);
        is_int(run_lookup(sc_auth_notfound, &e, &rc, &second), -EACCES, "unknown key: EACCES");
        ok(has(&e, "key omapi_key not found (NOTFOUND)"), "unknown key: message");

        error_clear(&e);
        is_int(run_lookup(sc_auth_close_midway, &e, &rc, &second), -ECONNRESET, "close mid-reply: ECONNRESET");
        ok(has(&e, "connection closed by dhcpd"), "close mid-reply: message");

        error_clear(&e);
        is_int(run_lookup(sc_auth_oversized, &e, &rc, &second), -EBADMSG, "oversized value: refused");
        ok(has(&e, "malformed reply"), "oversized value: message");

        error_clear(&e);
        is_int(run_lookup(sc_invalidkey, &e, &rc, &second), -EACCES, "INVALIDKEY: EACCES");
        ok(has(&e, "dhcpd OMAPI at 127.0.0.1:") && has(&e, "key rejected (INVALIDKEY)"), "INVALIDKEY: message");

        error_clear(&e);
        is_int(run_lookup(sc_unsigned_success, &e, &rc, &second), -EBADMSG, "unsigned UPDATE: refused");
        ok(has(&e, "unsigned reply to a signed request"), "unsigned UPDATE: message");
        is_int(second, -ENOTCONN, "unsigned UPDATE: connection closed for later calls");

        error_clear(&e);
        is_int(run_lookup(sc_bad_signature, &e, &rc, &second), -EBADMSG, "bad reply signature: refused");
        ok(has(&e, "reply signature does not verify"), "bad reply signature: message");

        error_clear(&e);
        is_int(run_lookup(sc_reply_silent, &e, &rc, &second), -ETIMEDOUT, "no reply to a request: timeout");
        is_int(second, -ENOTCONN, "no reply: connection closed for later calls");

        /* Closed port: bind, note the port, close, connect. */
        uint16_t port;
        close(listen_loopback(&port));
        OmapiClient *c = NULL;
        error_clear(&e);
        is_int(omapi_client_connect("127.0.0.1", port, KEY_NAME, SECRET, SHORT_TIMEOUT, &c, &e), -ECONNREFUSED,
               "closed port: ECONNREFUSED");
        ok(has(&e, "connect: Connection refused"), "closed port: message");

        error_clear(&e);
        is_int(omapi_client_connect("localhost", 7911, KEY_NAME, SECRET, 0, &c, &e), -EINVAL,
               "host name refused (numeric only)");
        error_clear(&e);
        is_int(omapi_client_connect("127.0.0.1", 7911, KEY_NAME, "***", 0, &c, &e), -EINVAL, "bad secret refused");
        ok(has(&e, "not valid base64"), "bad secret: message");
        error_clear(&e);
        is_int(omapi_client_connect("127.0.0.1", 0, KEY_NAME, SECRET, 0, &c, &e), -EINVAL, "port 0 refused");
        ok(c == NULL, "ret untouched on failure");
}

int main(void) {
        signal(SIGPIPE, SIG_IGN); /* the fake servers write to clients that may be gone */
        if (omapi_key_new(KEY_NAME, SECRET, &srv_key) < 0)
                return 1;
        test_happy();
        test_exists();
        test_failures();
        omapi_key_free(srv_key);
        return tap_done();
}
