/* gateway.h - vmbatch-web's server: one libwebsockets context and vhost
 * with TLS on web.listen, and under the path prefix:
 *   PREFIX/          data/web/console.html (the page)
 *   PREFIX/novnc/... noVNC's files (lws file mount: no listing, no "..")
 *   PREFIX/ws        the console WebSocket (subprotocol "binary")
 * The loop is lws's own (lws_service); nothing in it blocks. */
#pragma once

#include "basic/error.h"
#include "web/web_config.h"

typedef struct Gateway Gateway;

/* cert/key: the PEM files to serve with. run_as, run_as_group: drop to this
 * account and group after the listening socket and the key are set up (NULL:
 * stay). */
int gateway_new(const WebConfig *cfg, const char *cert, const char *key, const char *run_as, const char *run_as_group, Gateway **ret,
                Error *err);
/* lws's log lines (errors and warnings; with debug, its notices too) into
 * basic/log's. Before gateway_new. */
void gateway_set_lws_log(bool debug);
/* Serve until SIGTERM or SIGINT. */
int gateway_run(Gateway *g);
void gateway_free(Gateway *g);
