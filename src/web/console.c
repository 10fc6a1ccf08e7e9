/* console.c - one browser console on libwebsockets' loop. See console.h. */
#include "web/console.h"

#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/util.h"
#include "web/activity.h"
#include "web/activity_clock.h"
#include "web/redeem.h"
#include "web/rfb_proxy.h"

#define SEND_CHUNK (64 * 1024)
#define HANDSHAKE_TIMEOUT_S 30 /* a browser that never finishes its RFB handshake */
#define REDEEM_TIMEOUT_S 10    /* vmbatchd answers at once or not at all */

struct Console {
        ConsoleEnv env;
        struct lws *ws, *daemon, *vnc;
        RfbProxy *rfb;
        RedeemReader *reader;
        Redeemed who;
        bool redeemed, relay_logged;
        bool ws_rx_off, vnc_rx_off;
        bool closing;      /* the WebSocket goes once what is queued for it went */
        char from[80];
        char reason[256];  /* why it ended, for the log and the WebSocket's close */
        uint64_t t_open, t_relay;
        uint64_t to_browser, from_browser;
        /* what vmbatchd is told of it (console.activity), from the relay on */
        bool reporting, input_lost_logged;
        uint64_t conn, inputs;
        ActivityClock clock;
        lws_sorted_usec_list_t sul;
};

static uint64_t next_conn; /* this gateway's ids of its connections */
static bool stopping;      /* the context goes: no new socket is adopted into it */

void console_stopping(void) { stopping = true; }

static ActivityEnv activity_env(const Console *c) {
        return (ActivityEnv){.vhost = c->env.vhost, .socket_path = c->env.socket_path,
                             .raw_protocol = c->env.activity_protocol};
}

static void report(Console *c, bool open) {
        uint64_t ago;
        ActivityReport r = {.instance = c->who.instance, .conn = c->conn, .open = open};
        r.input = activity_clock_sent(&c->clock, now_usec(), &ago);
        r.input_ago_ms = ago / 1000;
        ActivityEnv env = activity_env(c);
        activity_send(&env, &r);
}

/* The report that is due goes now; the timer is set for the next. */
static void on_activity_timer(lws_sorted_usec_list_t *sul);
static void report_due(Console *c) {
        if (activity_clock_due_in(&c->clock, now_usec()) == 0)
                report(c, true);
        lws_sul_schedule(lws_get_context(c->ws), 0, &c->sul, on_activity_timer,
                         (lws_usec_t)activity_clock_due_in(&c->clock, now_usec()));
}

static void on_activity_timer(lws_sorted_usec_list_t *sul) {
        report_due(lws_container_of(sul, Console, sul));
}

/* The browser's bytes went through the proxy: did they hold input? */
static void note_input(Console *c) {
        const RfbInputScan *in = rfb_proxy_client_input(c->rfb);
        if (in->lost && !c->input_lost_logged) {
                c->input_lost_logged = true;
                log_warn("console of instance %" PRIu64 " from %s: RFB message type %u is unknown to the gateway: "
                         "its input is no longer counted", c->who.instance, c->from, in->lost_type);
        }
        if (!c->reporting || in->inputs == c->inputs)
                return;
        c->inputs = in->inputs;
        activity_clock_input(&c->clock, now_usec());
        report_due(c);
}


static void set_reason(Console *c, const char *r) {
        if (!c->reason[0])
                snprintf(c->reason, sizeof(c->reason), "%s", r);
}

/* Let go of an adopted descriptor: lws closes it from its loop; its events
 * no longer reach this console. */
static void drop_raw(struct lws **wsi) {
        if (!*wsi)
                return;
        lws_set_opaque_user_data(*wsi, NULL);
        lws_set_timeout(*wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
        *wsi = NULL;
}

/* The WebSocket is to end with reason: the bytes queued for the browser (an
 * RFB failure it can show) still go first. */
static void close_soon(Console *c, const char *reason) {
        set_reason(c, reason);
        c->closing = true;
        drop_raw(&c->daemon);
        drop_raw(&c->vnc);
        lws_callback_on_writable(c->ws);
}

/* After every event: ask for the writes that are due, apply flow control,
 * and act on the proxy's phase. */
static void pump(Console *c) {
        size_t to_client = rfb_proxy_pending(c->rfb, RFB_CLIENT, NULL);
        size_t to_server = rfb_proxy_pending(c->rfb, RFB_SERVER, NULL);
        if (to_client > 0 || c->closing) /* closing: the close goes after the last bytes */
                lws_callback_on_writable(c->ws);
        if (c->vnc) {
                if (to_server > 0)
                        lws_callback_on_writable(c->vnc);
                if (!c->vnc_rx_off && to_client >= CONSOLE_HIGH)
                        c->vnc_rx_off = lws_rx_flow_control(c->vnc, 0) == 0;
                else if (c->vnc_rx_off && to_client < CONSOLE_LOW)
                        c->vnc_rx_off = lws_rx_flow_control(c->vnc, 1) != 0;
        }
        if (!c->ws_rx_off && to_server >= CONSOLE_HIGH)
                c->ws_rx_off = lws_rx_flow_control(c->ws, 0) == 0;
        else if (c->ws_rx_off && to_server < CONSOLE_LOW)
                c->ws_rx_off = lws_rx_flow_control(c->ws, 1) != 0;

        switch (rfb_proxy_phase(c->rfb)) {
        case RFB_FAILED:
                if (!c->closing)
                        close_soon(c, rfb_proxy_reason(c->rfb));
                break;
        case RFB_RELAY:
                if (!c->relay_logged) {
                        c->relay_logged = true;
                        c->t_relay = now_usec();
                        lws_set_timeout(c->ws, NO_PENDING_TIMEOUT, 0);
                        log_info("console open: instance %" PRIu64 " (vm %s) user %s from %s, handshake %.1f ms",
                                 c->who.instance, c->who.vm, c->who.user, c->from,
                                 (double)(c->t_relay - c->t_open) / 1000.0);
                        if (!next_conn)
                                next_conn = (uint64_t)getpid() << 24;
                        c->conn = ++next_conn;
                        /* the student's own console only: a teacher's wall
                         * thumbnail or an admin's look is not her activity */
                        c->reporting = streq(c->who.issued_to, c->who.user);
                        if (c->reporting)
                                report_due(c); /* the open */
                }
                break;
        case RFB_HANDSHAKE:
                break;
        }
}

Console *console_open(const ConsoleEnv *env, struct lws *ws, const char *token, const char *from) {
        Console *c = calloc(1, sizeof(*c));
        if (!c || rfb_proxy_new(&c->rfb) < 0 || !(c->reader = redeem_reader_new())) {
                if (c)
                        rfb_proxy_free(c->rfb);
                free(c);
                return NULL;
        }
        c->env = *env;
        c->ws = ws;
        c->t_open = now_usec();
        snprintf(c->from, sizeof(c->from), "%s", from);
        lws_set_timeout(ws, PENDING_TIMEOUT_USER_OK, HANDSHAKE_TIMEOUT_S);

        int fd = redeem_start(env->socket_path, token, from);
        if (fd < 0) {
                log_warn("console from %s: cannot reach vmbatchd at %s: %s", from, env->socket_path, strerror(-fd));
                rfb_proxy_fail(c->rfb, "the console service is not available (vmbatchd)");
        } else {
                lws_adopt_desc_t a = {.vh = env->vhost, .type = LWS_ADOPT_RAW_FILE_DESC, .fd.filefd = fd,
                                      .vh_prot_name = env->raw_protocol, .opaque = c};
                c->daemon = lws_adopt_descriptor_vhost_via_info(&a); /* closes fd when it fails */
                if (!c->daemon)
                        rfb_proxy_fail(c->rfb, "the console service is not available");
                else
                        lws_set_timeout(c->daemon, PENDING_TIMEOUT_USER_OK, REDEEM_TIMEOUT_S);
        }
        pump(c);
        return c;
}

void console_ws_closed(Console *c) {
        if (!c)
                return;
        drop_raw(&c->daemon);
        drop_raw(&c->vnc);
        if (c->reporting) { /* the close (vmbatchd takes a gateway's that stops as closed in 30 s) */
                lws_sul_cancel(&c->sul);
                if (!stopping)
                        report(c, false);
        }
        uint64_t t = now_usec();
        if (c->redeemed)
                log_info("console closed: instance %" PRIu64 " (vm %s) user %s from %s: %" PRIu64
                         " bytes to the browser, %" PRIu64 " from it, %.1f s%s%s",
                         c->who.instance, c->who.vm, c->who.user, c->from, c->to_browser, c->from_browser,
                         (double)(t - c->t_open) / 1e6, c->reason[0] ? ": " : "", c->reason);
        else
                log_info("console refused: from %s after %.1f ms: %s", c->from, (double)(t - c->t_open) / 1000.0,
                         c->reason[0] ? c->reason : "the browser went away");
        explicit_bzero(&c->who, sizeof(c->who));
        rfb_proxy_free(c->rfb);
        redeem_reader_free(c->reader);
        free(c);
}

void console_ws_receive(Console *c, const void *in, size_t len) {
        if (c->closing)
                return;
        c->from_browser += len;
        rfb_proxy_feed(c->rfb, RFB_CLIENT, in, len);
        pump(c);
        note_input(c);
}

int console_ws_writeable(Console *c) {
        static uint8_t buf[LWS_PRE + SEND_CHUNK];
        const uint8_t *d;
        size_t n = rfb_proxy_pending(c->rfb, RFB_CLIENT, &d);
        if (n > 0) {
                if (n > SEND_CHUNK)
                        n = SEND_CHUNK;
                memcpy(buf + LWS_PRE, d, n);
                /* lws keeps what the socket did not take and says writeable
                 * again only when it went */
                if (lws_write(c->ws, buf + LWS_PRE, n, LWS_WRITE_BINARY) < (int)n) {
                        set_reason(c, "the browser's connection failed");
                        return -1;
                }
                rfb_proxy_consume(c->rfb, RFB_CLIENT, n);
                c->to_browser += n;
                pump(c);
                return 0;
        }
        if (c->closing) {
                const char *r = c->reason[0] ? c->reason : "closed";
                lws_close_reason(c->ws, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)r, strlen(r) > 120 ? 120 : strlen(r));
                return -1;
        }
        return 0;
}

/* The VNC connection came with the answer: adopt it, start its side. */
static void vnc_ready(Console *c, int fd) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
                close(fd);
                rfb_proxy_fail(c->rfb, "the VM's console cannot be reached");
                return;
        }
        lws_adopt_desc_t a = {.vh = c->env.vhost, .type = LWS_ADOPT_RAW_FILE_DESC, .fd.filefd = fd,
                              .vh_prot_name = c->env.raw_protocol, .opaque = c};
        c->vnc = lws_adopt_descriptor_vhost_via_info(&a);
        if (!c->vnc) {
                rfb_proxy_fail(c->rfb, "the VM's console cannot be reached");
                return;
        }
        rfb_proxy_server_ready(c->rfb, c->who.vnc_password);
        explicit_bzero(c->who.vnc_password, sizeof(c->who.vnc_password)); /* the proxy has its copy */
}

/* The daemon's socket is readable: the answer, maybe in pieces. Returns -1
 * when that socket is done with. */
static int daemon_readable(Console *c, struct lws *wsi) {
        json_t *msg;
        int vnc_fd = -1;
        int r = redeem_read(c->reader, lws_get_socket_fd(wsi), &msg, &vnc_fd);
        if (r == 0)
                return 0;
        c->daemon = NULL; /* returning -1 closes it */
        lws_set_opaque_user_data(wsi, NULL);
        if (r < 0) {
                log_warn("console from %s: vmbatchd's answer: %s", c->from, strerror(-r));
                rfb_proxy_fail(c->rfb, "the console service failed");
                pump(c);
                return -1;
        }
        char why[200];
        r = redeem_parse_answer(msg, &c->who, why, sizeof(why));
        if (r == 0 && vnc_fd < 0)
                r = -EBADMSG;
        if (r == -EBADMSG) {
                log_warn("console from %s: vmbatchd's answer is not a console", c->from);
                rfb_proxy_fail(c->rfb, "the console service failed");
        } else if (r < 0) {
                set_reason(c, why); /* for the log, whenever the browser is told */
                rfb_proxy_fail(c->rfb, why); /* the daemon's words: token refused, expired, VM gone */
        } else {
                c->redeemed = true;
                vnc_ready(c, TAKE_FD(vnc_fd));
        }
        if (vnc_fd >= 0)
                close(vnc_fd);
        pump(c);
        return -1;
}

/* The VNC connection ends here (lws closes it when we return -1). */
static void forget_vnc(Console *c) {
        lws_set_opaque_user_data(c->vnc, NULL);
        c->vnc = NULL;
}

static int vnc_readable(Console *c) {
        static uint8_t buf[SEND_CHUNK];
        size_t room = rfb_proxy_pending(c->rfb, RFB_CLIENT, NULL);
        room = room >= CONSOLE_HIGH ? 0 : CONSOLE_HIGH - room;
        if (room == 0) {
                pump(c); /* turns reading off */
                return 0;
        }
        ssize_t n = read(lws_get_socket_fd(c->vnc), buf, room < sizeof(buf) ? room : sizeof(buf));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                forget_vnc(c);
                if (rfb_proxy_phase(c->rfb) == RFB_HANDSHAKE)
                        rfb_proxy_fail(c->rfb, "the VM's console closed (the VM is gone)");
                close_soon(c, n == 0 ? "the VM's console closed" : "the VM's console failed");
                pump(c);
                return -1;
        }
        rfb_proxy_feed(c->rfb, RFB_SERVER, buf, (size_t)n);
        pump(c);
        return 0;
}

static int vnc_writeable(Console *c) {
        const uint8_t *d;
        size_t n = rfb_proxy_pending(c->rfb, RFB_SERVER, &d);
        if (n == 0)
                return 0;
        ssize_t k = write(lws_get_socket_fd(c->vnc), d, n);
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
                lws_callback_on_writable(c->vnc);
                return 0;
        }
        if (k < 0) {
                forget_vnc(c);
                close_soon(c, "the VM's console failed");
                return -1;
        }
        rfb_proxy_consume(c->rfb, RFB_SERVER, (size_t)k);
        pump(c);
        return 0;
}

int console_raw_event(struct lws *wsi, enum lws_callback_reasons reason) {
        Console *c = lws_get_opaque_user_data(wsi);
        if (!c) /* let go of (drop_raw), or not ours yet */
                return reason == LWS_CALLBACK_RAW_RX_FILE || reason == LWS_CALLBACK_RAW_WRITEABLE_FILE ? -1 : 0;
        bool is_daemon = wsi == c->daemon;
        switch (reason) {
        case LWS_CALLBACK_RAW_RX_FILE:
                return is_daemon ? daemon_readable(c, wsi) : vnc_readable(c);
        case LWS_CALLBACK_RAW_WRITEABLE_FILE:
                return is_daemon ? 0 : vnc_writeable(c);
        case LWS_CALLBACK_RAW_CLOSE_FILE:
                /* lws closed it (a timeout, a hang-up): the console cannot go on */
                if (is_daemon) {
                        c->daemon = NULL;
                        rfb_proxy_fail(c->rfb, "the console service did not answer");
                } else if (wsi == c->vnc) {
                        c->vnc = NULL;
                        if (rfb_proxy_phase(c->rfb) == RFB_HANDSHAKE)
                                rfb_proxy_fail(c->rfb, "the VM's console closed (the VM is gone)");
                        close_soon(c, "the VM's console closed");
                }
                pump(c);
                return 0;
        default:
                return 0;
        }
}
