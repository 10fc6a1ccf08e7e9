/* server.h - the daemon's unix socket: accepts clients, reads framed JSON
 * requests, learns each client's uid from SO_PEERCRED, answers through the
 * controller or the node role. (The nodes of a cluster connect over TCP to
 * cluster_tcp.h instead.) */
#pragma once

#include "basic/event.h"
#include "core/controller.h"
#include "daemon/host.h"

typedef struct Server Server;

/* controller NULL: an execution node (only node.* requests); host NULL:
 * no node role (node.* requests are refused). */
int server_new(EventLoop *loop, Controller *controller, Host *host, const char *socket_path, Server **ret,
               Error *err);
void server_free(Server *s);
/* Feed bytes as if they came from a client of uid (fuzzing and tests):
 * returns the response bytes produced (malloc'd, maybe empty). */
char *server_feed(Controller *controller, uint32_t uid, const char *bytes, size_t len, size_t *ret_len,
                  bool *ret_close);
