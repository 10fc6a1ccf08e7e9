/* cluster_tcp.h - the cluster's transport, both of its ends: a node's
 * vmbatchd --node reaching the controller (ClusterUplink, the host's
 * ClusterOps) and the controller taking its nodes (ClusterListener, each
 * node's NodeOps). Every message is sealed with MUNGE (munge_seal.h); the
 * wire is in docs/protocol.md ("Cluster"). This is the only place that
 * turns that wire JSON into cluster.h's structs and back.
 *
 * Nothing here waits inside the event loop: a node's request is sent and
 * its answer handed on when it arrives (or fails after 15 s, which also
 * drops the connection); connecting is non-blocking with a 5 s limit and
 * retried every 2 s while the controller is away; running VMs are not
 * touched by any of it. A node says who it is (cluster.hello with its name
 * and its attached monitors) on every (re)connect. */
#pragma once

#include <stddef.h>

#include "basic/event.h"
#include "daemon/fleet.h"
#include "daemon/host.h"

/* Split "ADDRESS:PORT" (ADDRESS: IPv4, [IPv6] or a host name). */
int addr_port_split(const char *text, char *host, size_t len, char *port, size_t port_len, Error *err);

/* The node's end. controller_addr "ADDRESS:PORT" is resolved here, once
 * (a name that does not resolve is an error now, not a retry later). */
typedef struct ClusterUplink ClusterUplink;
int cluster_uplink_new(EventLoop *loop, Host *host, const char *controller_addr, ClusterUplink **ret, Error *err);
/* Answers what is pending with -ECANCELED (to clients that still exist:
 * free this before the server). */
void cluster_uplink_free(ClusterUplink *u);

/* The controller's end: accept nodes on addr ("ADDRESS:PORT"). */
typedef struct ClusterListener ClusterListener;
int cluster_listener_new(EventLoop *loop, Fleet *fleet, const char *addr, ClusterListener **ret, Error *err);
void cluster_listener_free(ClusterListener *l);
