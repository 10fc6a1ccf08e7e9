/* web_config.h - vmbatch-web's settings: the [web] section of
 * /etc/vmbatch/vmbatch.conf (keys "web.listen" and so on: vmbatchd's settings
 * table leaves sectioned keys to their subsystems), the top-level "socket"
 * and "web_user" that vmbatchd reads too, then the command line over all. */
#pragma once

#include <limits.h>
#include <stdbool.h>

#include "basic/error.h"

typedef struct WebConfig {
        char listen_addr[64]; /* an IPv4 address (or an interface name, as lws takes it) */
        int port;
        char cert[PATH_MAX]; /* the admin's PEM certificate (chain); "" = self-signed in state_dir */
        char key[PATH_MAX];
        char path[256];      /* the prefix everything is under: "/console"; "" = the root */
        char novnc_dir[PATH_MAX];
        char web_dir[PATH_MAX]; /* console.html's folder */
        char socket[PATH_MAX];  /* vmbatchd's */
        char state_dir[PATH_MAX];
        char user[64];          /* web_user: the account it runs as when started as root */
        bool foreground_log_debug;
} WebConfig;

void web_config_defaults(WebConfig *c);
/* The config file (a missing one is no error); then argv. Returns 0, 1 when
 * --help was printed, or -EINVAL with err set. */
int web_config_load(WebConfig *c, int argc, char **argv, Error *err);
/* "ADDR:PORT" or "[ADDR]:PORT" into c's listen_addr and port */
int web_config_set_listen(WebConfig *c, const char *v);
/* A path prefix: "/" and letters, digits, "-._~/"; no "..", no trailing "/"
 * (it is cut), "/" alone = the root (""). */
int web_config_set_path(WebConfig *c, const char *v);
