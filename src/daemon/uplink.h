/* uplink.h - how a host's node role reaches the controller (host.h's
 * Uplink), and how the controller reaches the host back (fleet.h's
 * FleetNodeOps):
 *   - embedded (one vmbatchd with both roles): direct calls in-process;
 *   - cluster (vmbatchd --node): a TCP connection to the controller's
 *     cluster_listen, every message sealed with MUNGE (munge_seal.h). The
 *     node says who it is (cluster.hello with its name and the monitors
 *     attached to it) on every (re)connect, asks synchronously (a starter
 *     waits for its answer anyway) and takes the controller's pushes
 *     (stop/suspend/resume) from the event loop. It reconnects every few
 *     seconds while the controller is away; running VMs are not touched. */
#pragma once

#include "daemon/fleet.h"
#include "daemon/host.h"

/* Join the two roles of one process. */
typedef struct Embedded {
        Fleet *fleet;
        Host *host;
        FleetNode *node;
} Embedded;
void embedded_join(Embedded *e, Fleet *fleet, Host *host);

typedef struct UplinkTcp UplinkTcp;
int uplink_tcp_new(EventLoop *loop, Host *host, const char *controller_addr, UplinkTcp **ret, Error *err);
void uplink_tcp_free(UplinkTcp *u);

/* Split "ADDRESS:PORT" (ADDRESS: IPv4, [IPv6] or a host name). */
int addr_port_split(const char *text, char *host, size_t len, char *port, size_t port_len, Error *err);
