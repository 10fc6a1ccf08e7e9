/* host.h - the node role of vmbatchd: what happens on the host where a VM
 * runs. It hands each starter (over the local unix socket) its VM's spec
 * and an opened tap (fd over the socket), puts the isolation filters on
 * the tap before qemu can send a frame, and takes tap, filters and the
 * runtime directory away exactly once when the starter's connection
 * closes, whatever closed it. What concerns the database and the cluster
 * (is this job that instance? the lease, the address) it asks of the
 * controller through an Uplink: in the embedded default a direct call
 * into the fleet of the same process, in a cluster sealed messages over
 * TCP (uplink_tcp.h). */
#pragma once

#include "basic/event.h"
#include "core/settings.h"
#include "basic/instance-types.h"

typedef struct Host Host;
typedef struct NodeClient NodeClient; /* a server connection, opaque here */

/* How the host reaches the controller: one "cluster.*" request, answered
 * synchronously. */
typedef struct Uplink {
        int (*call)(void *data, const char *op, json_t *args /* stolen */, json_t **ret_data, Error *err);
        void *data;
} Uplink;

int host_new(EventLoop *loop, const Settings *settings, Host **ret, Error *err);
void host_free(Host *h);
void host_set_uplink(Host *h, const Uplink *uplink);
/* This host's name, as the mapping shows it (node_name or the hostname). */
const char *host_name(const Host *h);

/* A request whose op starts with "node." from client (uid). May set
 * *ret_pass_fd to an fd to send with the response (the caller closes it
 * after sending). */
int host_request(Host *h, NodeClient *client, uint32_t uid, const char *op, const json_t *args, json_t **ret_data,
                 int *ret_pass_fd, Error *err);
/* The connection of client went away. */
void host_client_closed(Host *h, NodeClient *client);

/* From the controller: push action to the monitor of instance. */
int host_signal(Host *h, uint32_t instance, InstanceAction action, Error *err);

/* The instances whose monitors are attached here, [{instance, uid}]: what
 * a node tells the controller when it (re)connects. */
json_t *host_attached(Host *h);

/* Remove taps nobody owns, re-apply the filters (also runs on a timer). */
void host_reconcile(Host *h);

/* Provided by the server: push a message to a connected client. */
int server_client_push(NodeClient *client, json_t *message /* stolen */);
