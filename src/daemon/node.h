/* node.h - the node role of vmbatchd: what happens on the host where a VM
 * runs. It hands each starter its VM's spec and an opened tap (fd over the
 * socket), adds the fixed DHCP lease, and tears everything down exactly once
 * when the starter's connection closes, whatever closed it. It also keeps
 * the controller's ControllerHooks (launch through the batch backend;
 * stop/suspend/resume through the starter) and reconciles the state with
 * what really exists after a restart. */
#pragma once

#include "basic/event.h"
#include "core/controller.h"

typedef struct Node Node;
typedef struct NodeClient NodeClient; /* a server connection, opaque here */

int node_new(EventLoop *loop, Controller *controller, Node **ret, Error *err);
void node_free(Node *n);

/* A request whose op starts with "node." from client (uid). May set
 * *ret_pass_fd to an fd to send with the response (the caller closes it
 * after sending). */
int node_request(Node *n, NodeClient *client, uint32_t uid, const char *op, const json_t *args, json_t **ret_data,
                 int *ret_pass_fd, Error *err);
/* The connection of client went away. */
void node_client_closed(Node *n, NodeClient *client);

/* Provided by the server: push a message to a connected client. */
int server_client_push(NodeClient *client, json_t *message /* stolen */);

/* Run one reconciliation pass now (also runs on a timer). */
void node_reconcile(Node *n);
