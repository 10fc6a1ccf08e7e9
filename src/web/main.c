/* vmbatch-web - the console gateway: HTTPS and a WebSocket for noVNC,
 * tokens redeemed with vmbatchd, VNC authentication done here. A process of
 * its own (docs/protocol.md "The console gateway"): it parses untrusted
 * network bytes, so it holds no database and no root, and runs as web.user. */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/util.h"
#include "web/gateway.h"
#include "web/tls_cert.h"
#include "web/web_config.h"

int main(int argc, char **argv) {
        WebConfig cfg;
        Error err = {0};
        log_set_ident("vmbatch-web");
        web_config_defaults(&cfg);
        int r = web_config_load(&cfg, argc, argv, &err);
        if (r == 1)
                return 0;
        if (r < 0) {
                log_error("%s", err.message);
                return 2;
        }
        if (cfg.foreground_log_debug)
                log_set_level(LOG_LEVEL_DEBUG);
        gateway_set_lws_log(cfg.foreground_log_debug);

        /* root only sets up (the port, the key) and hands over to web.user */
        const char *run_as = NULL, *run_as_group = NULL;
        if (geteuid() == 0) {
                struct passwd *pw = getpwnam(cfg.user);
                struct group *gr = pw ? getgrgid(pw->pw_gid) : NULL;
                if (!pw || !gr || pw->pw_uid == 0) {
                        log_error("started as root and the account '%s' (web.user, --user) does not exist, has no "
                                  "group or is root", cfg.user);
                        return 1;
                }
                /* the account's own groups now (root's are not kept); lws
                 * sets the gid and uid once the port and the key are open */
                if (initgroups(cfg.user, pw->pw_gid) < 0) {
                        log_error("initgroups %s: %m", cfg.user);
                        return 1;
                }
                run_as = cfg.user;
                run_as_group = gr->gr_name;
        }

        char cert[PATH_MAX], key[PATH_MAX];
        if (!isempty(cfg.cert)) {
                snprintf(cert, sizeof(cert), "%s", cfg.cert);
                snprintf(key, sizeof(key), "%s", cfg.key);
        } else {
                char host[256] = "localhost";
                (void)gethostname(host, sizeof(host) - 1);
                if (tls_cert_ensure(cfg.state_dir, host, cert, sizeof(cert), key, sizeof(key), &err) < 0) {
                        log_error("%s", err.message);
                        return 1;
                }
                log_info("TLS: the self-signed certificate %s (web.cert and web.key give another)", cert);
        }

        Gateway *g = NULL;
        if (gateway_new(&cfg, cert, key, run_as, run_as_group, &g, &err) < 0) {
                log_error("%s", err.message);
                return 1;
        }
        r = gateway_run(g);
        gateway_free(g);
        return r < 0 ? 1 : 0;
}
