/* rfb_proxy.c - the RFB 3.8 handshake of the console gateway, both sides.
 * See rfb_proxy.h; the message layouts are RFC 6143 section 7.1 and 7.2. */
#include "web/rfb_proxy.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/util.h"
#include "basic/vnc_auth.h"

#define RFB_VERSION "RFB 003.008\n"
#define RFB_VERSION_LEN 12
#define SEC_NONE 1
#define SEC_VNC_AUTH 2
/* What a side may send before the handshake is through (a pipelined
 * ClientInit, a server's reason string): more is not a handshake. */
#define HANDSHAKE_IN_MAX 4096
/* A server's failure reason longer than this is not read: it is refused. */
#define SERVER_REASON_MAX 1024
#define REASON_MAX 256

typedef enum ServerState {
        S_IDLE,       /* no VNC connection yet (the token is being redeemed) */
        S_VERSION,    /* its ProtocolVersion */
        S_NTYPES,     /* number-of-security-types */
        S_TYPES,      /* the types */
        S_CHALLENGE,  /* VNC authentication's 16 bytes */
        S_RESULT,     /* SecurityResult */
        S_REASON_LEN, /* a failure's reason-length (after 0 types or a failed result) */
        S_REASON,     /* its reason-string */
        S_DONE,
} ServerState;

typedef enum ClientState {
        C_VERSION,     /* the browser's ProtocolVersion (ours is queued) */
        C_CHOICE,      /* it chooses from our one type (None) */
        C_WAIT_SERVER, /* it chose None; its SecurityResult waits for the server's */
        C_DONE,
} ClientState;

typedef struct Buf {
        uint8_t *data;
        size_t off, len, cap; /* bytes [off, len) are live */
} Buf;

struct RfbProxy {
        ServerState s;
        ClientState c;
        RfbPhase phase;
        bool server_refused; /* S_REASON follows 0 types, not a failed SecurityResult */
        uint32_t reason_len;
        uint8_t password[8];
        char *pending_fail; /* a failure the browser is told at its next step */
        char *reason;       /* set when the phase became RFB_FAILED */
        Buf in[_RFB_SIDE_MAX], out[_RFB_SIDE_MAX];
        RfbInputScan input; /* the browser's messages in the relay */
};

static void buf_append(Buf *b, const void *d, size_t n) {
        if (n == 0)
                return;
        if (b->off > 0 && b->len + n > b->cap) { /* reuse the room sent bytes left */
                memmove(b->data, b->data + b->off, b->len - b->off);
                b->len -= b->off;
                b->off = 0;
        }
        if (b->len + n > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                while (cap < b->len + n)
                        cap *= 2;
                b->data = xrealloc(b->data, cap);
                b->cap = cap;
        }
        memcpy(b->data + b->len, d, n);
        b->len += n;
}

static size_t buf_size(const Buf *b) { return b->len - b->off; }

static void buf_consume(Buf *b, size_t n) {
        b->off += n < buf_size(b) ? n : buf_size(b);
        if (b->off == b->len)
                b->off = b->len = 0;
}

static void put_u32(Buf *b, uint32_t v) {
        uint32_t be = htonl(v);
        buf_append(b, &be, 4);
}

static uint32_t get_u32(const uint8_t *d) {
        uint32_t be;
        memcpy(&be, d, 4);
        return ntohl(be);
}

/* One line of printable ASCII: a peer's reason string is not trusted with
 * the log or the page. */
static char *clean_text(const char *s, size_t n) {
        if (n > REASON_MAX)
                n = REASON_MAX;
        char *t = malloc(n + 1);
        if (!t)
                abort();
        for (size_t i = 0; i < n; i++)
                t[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
        t[n] = 0;
        return t;
}

static char *text_printf(const char *fmt, ...) _printf_(1, 2);
static char *text_printf(const char *fmt, ...) {
        char buf[REASON_MAX + 64];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        return clean_text(buf, strlen(buf));
}

int rfb_proxy_new(RfbProxy **ret) {
        RfbProxy *p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        buf_append(&p->out[RFB_CLIENT], RFB_VERSION, RFB_VERSION_LEN);
        *ret = p;
        return 0;
}

void rfb_proxy_free(RfbProxy *p) {
        if (!p)
                return;
        for (int i = 0; i < _RFB_SIDE_MAX; i++) {
                free(p->in[i].data);
                free(p->out[i].data);
        }
        explicit_bzero(p->password, sizeof(p->password));
        free(p->pending_fail);
        free(p->reason);
        free(p);
}

/* The end: reason (taken) is what the log and, where RFB carries it, the
 * browser are told. Nothing more is read from either side. */
static void failed(RfbProxy *p, char *reason) {
        if (p->phase == RFB_FAILED) {
                free(reason);
                return;
        }
        p->phase = RFB_FAILED;
        p->reason = reason;
        buf_consume(&p->out[RFB_SERVER], buf_size(&p->out[RFB_SERVER]));
}

/* The browser's "security failed, because": in the form its state allows
 * now, or at its next step (pending_fail). */
static void fail_towards_client(RfbProxy *p, char *reason) {
        size_t n = strlen(reason);
        switch (p->c) {
        case C_VERSION:
        case C_CHOICE: /* told when it has sent what it owes */
                if (!p->pending_fail)
                        p->pending_fail = reason;
                else
                        free(reason);
                return;
        case C_WAIT_SERVER: /* SecurityResult failed, then the reason (3.8) */
                put_u32(&p->out[RFB_CLIENT], 1);
                put_u32(&p->out[RFB_CLIENT], (uint32_t)n);
                buf_append(&p->out[RFB_CLIENT], reason, n);
                failed(p, reason);
                return;
        case C_DONE: /* relaying: RFB has no way to say it any more */
                failed(p, reason);
                return;
        }
}

void rfb_proxy_fail(RfbProxy *p, const char *reason) {
        if (p->phase != RFB_HANDSHAKE)
                return;
        fail_towards_client(p, clean_text(reason, strlen(reason)));
}

static void check_relay(RfbProxy *p) {
        if (p->phase != RFB_HANDSHAKE || p->s != S_DONE || p->c != C_DONE)
                return;
        p->phase = RFB_RELAY;
        /* what came early (a pipelined ClientInit) goes on unchanged */
        for (int side = 0; side < _RFB_SIDE_MAX; side++) {
                Buf *in = &p->in[side];
                if (side == RFB_CLIENT && buf_size(in) > 0)
                        rfb_input_scan(&p->input, in->data + in->off, buf_size(in));
                buf_append(&p->out[!side], in->data + in->off, buf_size(in));
                buf_consume(in, buf_size(in));
        }
}

/* The browser's SecurityResult: OK once the server accepted us. */
static void client_security_ok(RfbProxy *p) {
        put_u32(&p->out[RFB_CLIENT], 0);
        p->c = C_DONE;
        check_relay(p);
}

/* "RFB 003.008\n" or a later 3.x: three digits, a dot, three digits. */
static bool parse_version(const uint8_t *v, unsigned *ret_major, unsigned *ret_minor) {
        if (memcmp(v, "RFB ", 4) != 0 || v[7] != '.' || v[11] != '\n')
                return false;
        unsigned major = 0, minor = 0;
        for (int i = 4; i < 11; i++) {
                if (i == 7)
                        continue;
                if (v[i] < '0' || v[i] > '9')
                        return false;
                if (i < 7)
                        major = major * 10 + (v[i] - '0');
                else
                        minor = minor * 10 + (v[i] - '0');
        }
        *ret_major = major;
        *ret_minor = minor;
        return true;
}

static bool version_ok(const uint8_t *v) {
        unsigned major, minor;
        return parse_version(v, &major, &minor) && major == 3 && minor >= 8;
}

/* One step of the client's side on the bytes it sent: false when it needs
 * more (or is over). */
static bool client_step(RfbProxy *p) {
        Buf *in = &p->in[RFB_CLIENT];
        const uint8_t *d = in->data + in->off;
        size_t n = buf_size(in);
        switch (p->c) {
        case C_VERSION:
                if (n < RFB_VERSION_LEN)
                        return false;
                if (!version_ok(d)) {
                        failed(p, text_printf("the browser does not speak RFB 3.8"));
                        return false;
                }
                buf_consume(in, RFB_VERSION_LEN);
                if (p->pending_fail) { /* no security types, then why (3.8) */
                        char *r = TAKE_PTR(p->pending_fail);
                        size_t len = strlen(r);
                        buf_append(&p->out[RFB_CLIENT], "\0", 1);
                        put_u32(&p->out[RFB_CLIENT], (uint32_t)len);
                        buf_append(&p->out[RFB_CLIENT], r, len);
                        failed(p, r);
                        return false;
                }
                buf_append(&p->out[RFB_CLIENT], "\x01\x01", 2); /* one type: None */
                p->c = C_CHOICE;
                return true;
        case C_CHOICE:
                if (n < 1)
                        return false;
                buf_consume(in, 1);
                if (d[0] != SEC_NONE) {
                        p->c = C_WAIT_SERVER; /* where a SecurityResult may fail */
                        free(TAKE_PTR(p->pending_fail));
                        fail_towards_client(p, text_printf("the browser chose security type %u; only None (1) is offered",
                                                           d[0]));
                        return false;
                }
                p->c = C_WAIT_SERVER;
                if (p->pending_fail)
                        fail_towards_client(p, TAKE_PTR(p->pending_fail));
                else if (p->s == S_DONE)
                        client_security_ok(p);
                return p->phase == RFB_HANDSHAKE;
        case C_WAIT_SERVER:
        case C_DONE:
                /* ClientInit and later wait for the relay, within a bound */
                if (n > HANDSHAKE_IN_MAX)
                        failed(p, text_printf("the browser sent %zu bytes before the handshake ended", n));
                return false;
        }
        return false;
}

static void server_failed(RfbProxy *p, char *reason) {
        free(TAKE_PTR(p->pending_fail));
        fail_towards_client(p, reason);
}

static bool server_step(RfbProxy *p) {
        Buf *in = &p->in[RFB_SERVER];
        const uint8_t *d = in->data + in->off;
        size_t n = buf_size(in);
        switch (p->s) {
        case S_IDLE:
                if (n > 0)
                        failed(p, text_printf("the VNC server spoke before it was connected"));
                return false;
        case S_VERSION:
                if (n < RFB_VERSION_LEN)
                        return false;
                if (!version_ok(d)) {
                        server_failed(p, text_printf("the VM's VNC server does not speak RFB 3.8"));
                        return false;
                }
                buf_consume(in, RFB_VERSION_LEN);
                buf_append(&p->out[RFB_SERVER], RFB_VERSION, RFB_VERSION_LEN);
                p->s = S_NTYPES;
                return true;
        case S_NTYPES:
                if (n < 1)
                        return false;
                buf_consume(in, 1);
                if (d[0] == 0) {
                        p->server_refused = true;
                        p->s = S_REASON_LEN;
                } else {
                        p->reason_len = d[0]; /* the count of types that follow */
                        p->s = S_TYPES;
                }
                return true;
        case S_TYPES: {
                if (n < p->reason_len)
                        return false;
                bool has_none = false, has_vnc = false;
                for (uint32_t i = 0; i < p->reason_len; i++) {
                        has_none = has_none || d[i] == SEC_NONE;
                        has_vnc = has_vnc || d[i] == SEC_VNC_AUTH;
                }
                buf_consume(in, p->reason_len);
                /* VNC authentication when the daemon gave a password; None
                 * only when it gave none or the server wants none */
                uint8_t choice;
                if (has_vnc && (p->password[0] || !has_none))
                        choice = SEC_VNC_AUTH;
                else if (has_none)
                        choice = SEC_NONE;
                else {
                        server_failed(p, text_printf("the VM's VNC server offers no security type the gateway speaks"));
                        return false;
                }
                buf_append(&p->out[RFB_SERVER], &choice, 1);
                p->s = choice == SEC_VNC_AUTH ? S_CHALLENGE : S_RESULT;
                return true;
        }
        case S_CHALLENGE: {
                if (n < 16)
                        return false;
                uint8_t resp[16];
                char pw[9] = {0};
                memcpy(pw, p->password, 8);
                vnc_auth_response(pw, d, resp);
                explicit_bzero(pw, sizeof(pw));
                buf_consume(in, 16);
                buf_append(&p->out[RFB_SERVER], resp, 16);
                p->s = S_RESULT;
                return true;
        }
        case S_RESULT:
                if (n < 4)
                        return false;
                uint32_t result = get_u32(d);
                buf_consume(in, 4);
                if (result != 0) {
                        p->server_refused = false;
                        p->s = S_REASON_LEN;
                        return true;
                }
                p->s = S_DONE;
                if (p->c == C_WAIT_SERVER)
                        client_security_ok(p);
                return p->phase == RFB_HANDSHAKE;
        case S_REASON_LEN:
                if (n < 4)
                        return false;
                p->reason_len = get_u32(d);
                buf_consume(in, 4);
                if (p->reason_len > SERVER_REASON_MAX) {
                        server_failed(p, text_printf("the VM's VNC server refused the gateway (a %u-byte reason)",
                                                     p->reason_len));
                        return false;
                }
                p->s = S_REASON;
                return true;
        case S_REASON: {
                if (n < p->reason_len)
                        return false;
                _cleanup_free_ char *why = clean_text((const char *)d, p->reason_len);
                buf_consume(in, p->reason_len);
                server_failed(p, p->server_refused
                                         ? text_printf("the VM's VNC server refused the connection: %s", why)
                                         : text_printf("VNC authentication with the VM failed: %s", why));
                return false;
        }
        case S_DONE:
                /* a server speaks after ClientInit only: bound what it sends early */
                if (n > HANDSHAKE_IN_MAX)
                        failed(p, text_printf("the VNC server sent %zu bytes before the handshake ended", n));
                return false;
        }
        return false;
}

void rfb_proxy_server_ready(RfbProxy *p, const char *password) {
        if (p->s != S_IDLE || p->phase != RFB_HANDSHAKE)
                return;
        size_t n = strlen(password);
        memset(p->password, 0, sizeof(p->password));
        memcpy(p->password, password, n < 8 ? n : 8);
        p->s = S_VERSION;
}

RfbPhase rfb_proxy_feed(RfbProxy *p, RfbSide from, const uint8_t *buf, size_t n) {
        if (p->phase == RFB_FAILED || n == 0)
                return p->phase;
        if (p->phase == RFB_RELAY) {
                if (from == RFB_CLIENT)
                        rfb_input_scan(&p->input, buf, n);
                buf_append(&p->out[!from], buf, n);
                return p->phase;
        }
        buf_append(&p->in[from], buf, n);
        while (p->phase == RFB_HANDSHAKE && (from == RFB_CLIENT ? client_step(p) : server_step(p)))
                ;
        /* a step of one side may have let the other go on (the browser's
         * choice waiting for the server's result, and back) */
        while (p->phase == RFB_HANDSHAKE && (from == RFB_CLIENT ? server_step(p) : client_step(p)))
                ;
        return p->phase;
}

RfbPhase rfb_proxy_phase(const RfbProxy *p) { return p->phase; }

const RfbInputScan *rfb_proxy_client_input(const RfbProxy *p) { return &p->input; }

const char *rfb_proxy_reason(const RfbProxy *p) { return p->phase == RFB_FAILED ? p->reason : NULL; }

size_t rfb_proxy_pending(const RfbProxy *p, RfbSide to, const uint8_t **ret_data) {
        const Buf *b = &p->out[to];
        if (ret_data)
                *ret_data = b->data ? b->data + b->off : NULL;
        return buf_size(b);
}

void rfb_proxy_consume(RfbProxy *p, RfbSide to, size_t n) { buf_consume(&p->out[to], n); }
