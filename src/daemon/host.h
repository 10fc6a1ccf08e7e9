/* host.h - the node role of vmbatchd: what happens on the host where a VM
 * runs. It hands each starter (over the local unix socket) its VM's spec
 * and an opened tap (fd over the socket), puts the isolation filters on
 * the tap before qemu can send a frame, and takes tap, filters and the
 * runtime directory away exactly once when the starter's connection
 * closes, whatever closed it. What concerns the database and the cluster
 * (is this job that instance? the lease, the address) it asks of the
 * controller through cluster.h's ClusterOps: in the embedded default direct
 * calls into the fleet of the same process (embedded.h), in a cluster
 * sealed messages over TCP (cluster_tcp.h). The starter waits for that
 * answer; nothing else does. */
#pragma once

#include "basic/event.h"
#include "basic/instance-types.h"
#include "core/settings.h"
#include "daemon/cluster.h"

typedef struct Host Host;
typedef struct NodeClient NodeClient; /* a server connection, opaque here */

/* How the host reaches its clients (the server's unix connections). */
typedef struct HostClientOps {
        /* The answer to a request that host_request left pending: r < 0
         * with err, or reply (stolen); fds (taken over) ride with it. */
        void (*answer)(void *data, NodeClient *client, int r, json_t *reply, const Error *err, const int *fds,
                       size_t n_fds);
        /* A message the client did not ask for (stolen). */
        int (*push)(void *data, NodeClient *client, json_t *message);
        void *data;
} HostClientOps;

int host_new(EventLoop *loop, const Settings *settings, Host **ret, Error *err);
/* Free the cluster transport first: it answers (-ECANCELED) what is
 * still pending, through the host, to clients that still exist. */
void host_free(Host *h);
/* How the host reaches the controller (cluster.h). */
void host_set_cluster(Host *h, const ClusterOps *ops, void *data);
void host_set_clients(Host *h, const HostClientOps *ops);
/* This host's name, as the mapping shows it (node_name or the hostname). */
const char *host_name(const Host *h);

/* A request whose op starts with "node." from client (uid and pid from
 * SO_PEERCRED: node.attach finds which job that process runs in,
 * batch/peer.h). Returns 0 with
 * *ret_data, or < 0 with err, or HOST_PENDING: the controller is being
 * asked (or the vm's files opened), and the answer comes through
 * HostClientOps.answer (node.attach's with the tap and the vm's files as
 * fds). */
#define HOST_PENDING 1
int host_request(Host *h, NodeClient *client, uint32_t uid, pid_t pid, const char *op, const json_t *args,
                 json_t **ret_data, Error *err);
/* The connection of client went away. */
void host_client_closed(Host *h, NodeClient *client);

/* From the controller: push action to the monitor of instance. */
int host_signal(Host *h, uint32_t instance, InstanceAction action, Error *err);
/* From the controller (console.redeem): *ret_fd a non-blocking stream
 * socket connected to the console VNC server that the instance's qemu
 * listens on in its run folder (the spec's console_socket). */
int host_console_connect(Host *h, uint32_t instance, int *ret_fd, Error *err);

/* The instances whose monitors are attached here (malloc'd): what a node
 * tells the controller when it (re)connects. */
size_t host_monitors(Host *h, ClusterMonitor **ret);

/* Remove taps nobody owns, re-apply the filters (also runs on a timer). */
void host_reconcile(Host *h);
