/* gateway.c - vmbatch-web's libwebsockets server. See gateway.h. */
#include "web/gateway.h"

#include <arpa/inet.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "basic/log.h"
#include "basic/util.h"
#include "web/activity.h"
#include "web/console.h"
#include "web/redeem.h"
#include "web/wall.h"

#define WS_PROTOCOL "binary" /* what noVNC asks for */
#define RAW_PROTOCOL "vmbatch-raw"
#define WALL_PROTOCOL "vmbatch-wall"          /* PATH/api/wall, the wall's list (wall.h) */
#define WALL_RAW_PROTOCOL "vmbatch-wall-raw"  /* its redeem's socket */
#define ACTIVITY_RAW_PROTOCOL "vmbatch-activity-raw" /* console.activity's sockets (activity.h) */

struct Gateway {
        WebConfig cfg;
        char ws_uri[300];                      /* PREFIX/ws */
        char page_mount[300], novnc_mount[300], wall_mount[300];
        struct lws_http_mount mounts[3];
        struct lws_protocol_vhost_options headers[5];
        struct lws_context *context;
        ConsoleEnv env, wall_env;
};

/* One WebSocket's own data (lws allocates it with the connection). */
typedef struct WsSession {
        Console *console;
        char token[40];
        char from[80];
} WsSession;

static Gateway *the_gateway; /* lws's callbacks get no pointer of ours for the vhost's protocols */
static volatile sig_atomic_t interrupted;

/* "ADDR:PORT" of the browser (or of the reverse proxy in front of it) */
static void peer_of(struct lws *wsi, char *buf, size_t len) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        char ip[INET6_ADDRSTRLEN] = "?";
        int port = 0;
        if (getpeername(lws_get_socket_fd(wsi), (struct sockaddr *)&ss, &sl) == 0) {
                if (ss.ss_family == AF_INET) {
                        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
                        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
                        port = ntohs(in->sin_port);
                } else if (ss.ss_family == AF_INET6) {
                        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
                        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
                        port = ntohs(in6->sin6_port);
                }
        }
        snprintf(buf, len, ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip, port);
}

/* The upgrade's request: the right path and a well-formed token, or no
 * WebSocket (lws answers the refused upgrade with an HTTP error). */
static int filter_upgrade(struct lws *wsi, WsSession *s) {
        char uri[512];
        if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 || !streq(uri, the_gateway->ws_uri))
                return -1;
        peer_of(wsi, s->from, sizeof(s->from));
        /* lws 4.1 wants the "name=" with its '=', copies the whole "token=T"
         * into buf and points at T in it */
        char buf[80];
        const char *t = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof(buf));
        if (!t || !redeem_token_valid(t)) {
                log_info("console refused: from %s: no well-formed token", s->from);
                return -1;
        }
        snprintf(s->token, sizeof(s->token), "%s", t);
        return 0;
}

static int callback_console(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
        WsSession *s = user;
        switch (reason) {
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
                return filter_upgrade(wsi, s);
        case LWS_CALLBACK_ESTABLISHED:
                s->console = console_open(&the_gateway->env, wsi, s->token, s->from);
                explicit_bzero(s->token, sizeof(s->token)); /* used once; vmbatchd forgets it too */
                return s->console ? 0 : -1;
        case LWS_CALLBACK_RECEIVE:
                if (s->console)
                        console_ws_receive(s->console, in, len);
                return 0;
        case LWS_CALLBACK_SERVER_WRITEABLE:
                return s->console ? console_ws_writeable(s->console) : -1;
        case LWS_CALLBACK_CLOSED:
                console_ws_closed(TAKE_PTR(s->console));
                return 0;
        default:
                return lws_callback_http_dummy(wsi, reason, user, in, len);
        }
}

static int callback_raw(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
        return console_raw_event(wsi, reason);
}

/* GET PATH/api/wall?token=T: the request's token and peer here, as for a
 * WebSocket; the rest in wall.c */
static int callback_wall(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
        switch (reason) {
        case LWS_CALLBACK_HTTP: {
                char from[80], buf[80];
                peer_of(wsi, from, sizeof(from));
                const char *t = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof(buf));
                int r = wall_http_start(&the_gateway->wall_env, wsi, user, t && redeem_token_valid(t) ? t : NULL, from);
                explicit_bzero(buf, sizeof(buf));
                return r;
        }
        case LWS_CALLBACK_HTTP_WRITEABLE:
                return wall_http_writeable(wsi, user);
        case LWS_CALLBACK_HTTP_DROP_PROTOCOL: /* the transaction is over: lws frees user next */
        case LWS_CALLBACK_CLOSED_HTTP:
                wall_http_done(user);
                return 0;
        default:
                return lws_callback_http_dummy(wsi, reason, user, in, len);
        }
}

static int callback_wall_raw(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
        return wall_raw_event(wsi, reason);
}

static int callback_activity_raw(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
        return activity_raw_event(wsi, reason);
}

static const struct lws_protocols protocols[] = {
        {"http", lws_callback_http_dummy, 0, 0, 0, NULL, 0},
        {WS_PROTOCOL, callback_console, sizeof(WsSession), 64 * 1024, 0, NULL, 0},
        {RAW_PROTOCOL, callback_raw, 0, 0, 0, NULL, 0},
        {WALL_PROTOCOL, callback_wall, sizeof(WallHttp), 0, 0, NULL, 0},
        {WALL_RAW_PROTOCOL, callback_wall_raw, 0, 0, 0, NULL, 0},
        {ACTIVITY_RAW_PROTOCOL, callback_activity_raw, 0, 0, 0, NULL, 0},
        {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* lws's own log lines into ours */
static void lws_log(int level, const char *line) {
        size_t n = strlen(line);
        while (n > 0 && line[n - 1] == '\n')
                n--;
        log_msg(level == LLL_ERR ? LOG_LEVEL_ERR : level == LLL_WARN ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG, "lws: %.*s",
                (int)n, line);
}

static void on_signal(int sig) {
        interrupted = 1;
        if (the_gateway && the_gateway->context)
                lws_cancel_service(the_gateway->context);
}

int gateway_new(const WebConfig *cfg, const char *cert, const char *key, const char *run_as, const char *run_as_group, Gateway **ret,
                Error *err) {
        Gateway *g = calloc(1, sizeof(*g));
        if (!g)
                return error_set(err, -ENOMEM, "out of memory");
        g->cfg = *cfg;
        snprintf(g->ws_uri, sizeof(g->ws_uri), "%s/ws", cfg->path);
        /* "/console": lws sends "/console" on to "/console/" and serves the page there */
        snprintf(g->page_mount, sizeof(g->page_mount), "%s", isempty(cfg->path) ? "/" : cfg->path);
        snprintf(g->novnc_mount, sizeof(g->novnc_mount), "%s/novnc", cfg->path);
        snprintf(g->wall_mount, sizeof(g->wall_mount), "%s/api/wall", cfg->path);

        /* lws picks the mount whose point matches the URI's start the longest */
        g->mounts[0] = (struct lws_http_mount){
                .mount_next = &g->mounts[2], .mountpoint = g->novnc_mount, .origin = g->cfg.novnc_dir,
                .origin_protocol = LWSMPRO_FILE, .mountpoint_len = (unsigned char)strlen(g->novnc_mount),
};
        /* the wall's list: answered by callback_wall, never a file */
        g->mounts[2] = (struct lws_http_mount){
                .mount_next = &g->mounts[1], .mountpoint = g->wall_mount, .origin = WALL_PROTOCOL,
                .origin_protocol = LWSMPRO_CALLBACK, .mountpoint_len = (unsigned char)strlen(g->wall_mount)};
        g->mounts[1] = (struct lws_http_mount){
                .mountpoint = g->page_mount, .origin = g->cfg.web_dir, .def = "console.html",
                .origin_protocol = LWSMPRO_FILE, .mountpoint_len = (unsigned char)strlen(g->page_mount)};

        /* every response: no caching of the page, no framing by other sites,
         * scripts and connections only from here */
        static const char *const hdr[][2] = {
                {"content-security-policy:", "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                                             "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"},
                {"x-content-type-options:", "nosniff"},
                {"referrer-policy:", "no-referrer"},
                {"cache-control:", "no-store"},
                {"strict-transport-security:", "max-age=31536000"},
        };
        for (size_t i = 0; i < ELEMENTSOF(hdr); i++)
                g->headers[i] = (struct lws_protocol_vhost_options){
                        .next = i + 1 < ELEMENTSOF(hdr) ? &g->headers[i + 1] : NULL, .name = hdr[i][0], .value = hdr[i][1]};

        the_gateway = g;
        struct lws_context_creation_info info;
        memset(&info, 0, sizeof(info));
        info.port = cfg->port;
        info.iface = cfg->listen_addr;
        info.protocols = protocols;
        info.mounts = &g->mounts[0];
        info.headers = &g->headers[0];
        info.ssl_cert_filepath = cert;
        info.ssl_private_key_filepath = key;
        info.alpn = "http/1.1"; /* the WebSocket is HTTP/1.1's upgrade */
        info.vhost_name = "vmbatch-web";
        info.uid = -1;
        info.gid = -1;
        info.username = run_as; /* lws drops to it once the socket and the key are set up */
        info.groupname = run_as_group;
        info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND |
                       LWS_SERVER_OPTION_DISABLE_IPV6 * !strchr(cfg->listen_addr, ':');
        /* wss only: no plain HTTP on the port, no redirect to it either */
        info.timeout_secs = 20;
        g->context = lws_create_context(&info);
        if (!g->context) {
                gateway_free(g);
                return error_set(err, -EIO, "cannot serve on %s:%d with %s (see the lws lines above)", cfg->listen_addr,
                                 cfg->port, cert);
        }
        g->env = (ConsoleEnv){.vhost = lws_get_vhost_by_name(g->context, "vmbatch-web"),
                              .socket_path = g->cfg.socket, .raw_protocol = RAW_PROTOCOL,
                              .activity_protocol = ACTIVITY_RAW_PROTOCOL};
        g->wall_env = g->env;
        g->wall_env.raw_protocol = WALL_RAW_PROTOCOL;
        *ret = g;
        return 0;
}

int gateway_run(Gateway *g) {
        struct sigaction sa = {.sa_handler = on_signal};
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        log_info("serving https://%s:%d%s/ (vmbatchd at %s)", g->cfg.listen_addr, g->cfg.port, g->cfg.path,
                 g->cfg.socket);
        while (!interrupted)
                if (lws_service(g->context, 0) < 0)
                        return -EIO;
        log_info("stopping");
        return 0;
}

void gateway_free(Gateway *g) {
        if (!g)
                return;
        console_stopping();
        if (g->context)
                lws_context_destroy(g->context);
        if (the_gateway == g)
                the_gateway = NULL;
        free(g);
}

void gateway_set_lws_log(bool debug) {
        lws_set_log_level(LLL_ERR | LLL_WARN | (debug ? LLL_NOTICE | LLL_INFO : 0), lws_log);
}
