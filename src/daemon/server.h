/* server.h - the daemon's unix socket: accepts clients, reads framed JSON
 * requests, learns each client's uid from SO_PEERCRED, answers through the
 * controller or the node role; and in a cluster the TCP socket where the
 * nodes connect, whose messages are sealed with MUNGE. */
#pragma once

#include "basic/event.h"
#include "core/controller.h"
#include "daemon/fleet.h"
#include "daemon/host.h"

typedef struct Server Server;

/* controller and fleet NULL: an execution node (only node.* requests);
 * host NULL: no node role (node.* requests are refused). */
int server_new(EventLoop *loop, Controller *controller, Fleet *fleet, Host *host, const char *socket_path,
               Server **ret, Error *err);
/* Also accept vmbatchd --node connections on TCP addr ("ADDRESS:PORT"). */
int server_listen_tcp(Server *s, const char *addr, Error *err);
void server_free(Server *s);
/* Feed bytes as if they came from a client of uid (fuzzing and tests):
 * returns the response bytes produced (malloc'd, maybe empty). */
char *server_feed(Controller *controller, uint32_t uid, const char *bytes, size_t len, size_t *ret_len,
                  bool *ret_close);
