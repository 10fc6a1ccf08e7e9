/* web_config.c - vmbatch-web's settings. See web_config.h. */
#include "web/web_config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "basic/config.h"
#include "basic/util.h"

#ifndef VMBATCH_WEB_DATADIR
#define VMBATCH_WEB_DATADIR "/usr/share/vmbatch/web"
#endif

void web_config_defaults(WebConfig *c) {
        memset(c, 0, sizeof(*c));
        /* a console is a key to a VM: loopback until the admin opens it
         * (or puts a reverse proxy in front) */
        snprintf(c->listen_addr, sizeof(c->listen_addr), "127.0.0.1");
        c->port = 8443;
        snprintf(c->path, sizeof(c->path), "/console");
        snprintf(c->novnc_dir, sizeof(c->novnc_dir), "/usr/share/novnc");
        snprintf(c->web_dir, sizeof(c->web_dir), "%s", VMBATCH_WEB_DATADIR);
        snprintf(c->socket, sizeof(c->socket), "%s", VMBATCH_DEFAULT_SOCKET);
        snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/vmbatch/web");
        snprintf(c->user, sizeof(c->user), "vmbatch-web");
}

int web_config_set_listen(WebConfig *c, const char *v) {
        const char *colon = strrchr(v, ':');
        if (!colon || colon == v)
                return -EINVAL;
        const char *a = v, *a_end = colon;
        if (*a == '[') { /* [ADDR]:PORT */
                if (colon[-1] != ']')
                        return -EINVAL;
                a++;
                a_end--;
        }
        uint32_t port;
        if (parse_u32(colon + 1, &port) < 0 || port < 1 || port > 65535 || (size_t)(a_end - a) >= sizeof(c->listen_addr) ||
            a_end == a)
                return -EINVAL;
        memcpy(c->listen_addr, a, (size_t)(a_end - a));
        c->listen_addr[a_end - a] = 0;
        c->port = (int)port;
        return 0;
}

int web_config_set_path(WebConfig *c, const char *v) {
        size_t n = strlen(v);
        if (n == 0 || v[0] != '/' || n >= sizeof(c->path) || strstr(v, "..") || strstr(v, "//"))
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/", v[i]))
                        return -EINVAL;
        while (n > 0 && v[n - 1] == '/')
                n--;
        memcpy(c->path, v, n);
        c->path[n] = 0;
        return 0;
}

static int set_string(char *field, size_t size, const char *v) {
        if (strlen(v) >= size)
                return -ENAMETOOLONG;
        memcpy(field, v, strlen(v) + 1);
        return 0;
}

#define FIELD(f) f, sizeof(f)

/* One setting by name, from the file ("web.X") or the command line (--X). */
static int set_key(WebConfig *c, const char *key, const char *v, Error *err) {
        int r;
        if (streq(key, "listen"))
                r = web_config_set_listen(c, v);
        else if (streq(key, "path"))
                r = web_config_set_path(c, v);
        else if (streq(key, "cert"))
                r = set_string(FIELD(c->cert), v);
        else if (streq(key, "key"))
                r = set_string(FIELD(c->key), v);
        else if (streq(key, "novnc_dir"))
                r = set_string(FIELD(c->novnc_dir), v);
        else if (streq(key, "web_dir"))
                r = set_string(FIELD(c->web_dir), v);
        else if (streq(key, "state_dir"))
                r = set_string(FIELD(c->state_dir), v);
        else if (streq(key, "user"))
                r = set_string(FIELD(c->user), v);
        else if (streq(key, "socket"))
                r = set_string(FIELD(c->socket), v);
        else
                return error_set(err, -EINVAL, "config: unknown key 'web.%s'", key);
        if (r < 0)
                return error_set(err, -EINVAL, "%s: bad value '%s'", key, v);
        return 0;
}

static int load_file(WebConfig *c, const char *path, Error *err) {
        Config *cf = NULL;
        int r = config_load(path, &cf, err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        /* two keys vmbatchd reads too (its socket; the account it lets redeem
         * tokens), the [web] section, and nothing else: the rest of the file
         * is vmbatchd's business */
        const char *sock = config_get(cf, "socket"), *user = config_get(cf, "web_user");
        if (!isempty(sock))
                r = set_string(FIELD(c->socket), sock);
        if (r >= 0 && !isempty(user))
                r = set_string(FIELD(c->user), user);
        for (size_t i = 0; r >= 0 && i < config_count(cf); i++) {
                const char *k = config_key_at(cf, i);
                if (strncmp(k, "web.", 4) == 0)
                        r = streq(k, "web.user") || streq(k, "web.socket")
                                    ? error_set(err, -EINVAL, "config: %s is the top-level key %s", k, k + 4)
                                    : set_key(c, k + 4, config_get(cf, k), err);
        }
        config_free(cf);
        return r;
}

static void usage(void) {
        printf("vmbatch-web [OPTIONS]: the console gateway (HTTPS, WebSocket, noVNC)\n"
               "  --config FILE     vmbatch.conf (default $VMBATCH_CONF or " VMBATCH_DEFAULT_CONFIG ": its [web] section)\n"
               "  --listen ADDR:PORT  where it serves (default 127.0.0.1:8443)\n"
               "  --cert FILE --key FILE  the TLS certificate and key (default: self-signed, made once in the state folder)\n"
               "  --path PREFIX     everything under this path (default /console)\n"
               "  --novnc DIR       noVNC's files (default /usr/share/novnc)\n"
               "  --web-dir DIR     console.html's folder\n"
               "  --socket PATH     vmbatchd's socket (default: socket in vmbatch.conf)\n"
               "  --state DIR       where the self-signed certificate is kept (default /var/lib/vmbatch/web)\n"
               "  --user NAME       the account it runs as when started as root (default web_user, vmbatch-web)\n"
               "  --debug           debug logging\n");
}

int web_config_load(WebConfig *c, int argc, char **argv, Error *err) {
        static const struct option opts[] = {
                {"config", required_argument, NULL, 'c'}, {"listen", required_argument, NULL, 'l'},
                {"cert", required_argument, NULL, 'C'},   {"key", required_argument, NULL, 'K'},
                {"path", required_argument, NULL, 'p'},   {"novnc", required_argument, NULL, 'n'},
                {"web-dir", required_argument, NULL, 'w'}, {"socket", required_argument, NULL, 's'},
                {"state", required_argument, NULL, 'S'},  {"user", required_argument, NULL, 'u'},
                {"debug", no_argument, NULL, 'd'},        {"help", no_argument, NULL, 'h'},
                {},
        };
        static const char *const names[128] = {
                ['l'] = "listen", ['C'] = "cert", ['K'] = "key", ['p'] = "path", ['n'] = "novnc_dir",
                ['w'] = "web_dir", ['s'] = "socket", ['S'] = "state_dir", ['u'] = "user",
        };
        /* the file first (--config may name another), then the options over it */
        const char *conf = getenv("VMBATCH_CONF");
        for (int i = 1; i + 1 < argc; i++)
                if (streq(argv[i], "--config"))
                        conf = argv[i + 1];
        int r = load_file(c, isempty(conf) ? VMBATCH_DEFAULT_CONFIG : conf, err);
        if (r < 0)
                return r;
        optind = 1;
        for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
                if (o == 'c')
                        continue;
                if (o == 'd') {
                        c->foreground_log_debug = true;
                        continue;
                }
                if (o == 'h') {
                        usage();
                        return 1;
                }
                if (o < 0 || o >= 128 || !names[o])
                        return error_set(err, -EINVAL, "unknown option (see --help)");
                r = set_key(c, names[o], optarg, err);
                if (r < 0)
                        return r;
        }
        if (optind < argc)
                return error_set(err, -EINVAL, "unexpected argument '%s'", argv[optind]);
        if (!isempty(c->cert) != !isempty(c->key))
                return error_set(err, -EINVAL, "cert and key go together");
        return 0;
}
