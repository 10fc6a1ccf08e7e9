/* fleet.h - the controller's side of running VMs: the execution hosts it
 * knows (its own, embedded, and vmbatchd --node daemons over TCP), which
 * instance's monitor is attached where, and everything about an instance
 * that lives in the database or is cluster-wide: checking that a job
 * really is the instance and user it claims, the fixed DHCP lease (one
 * DHCP server for the cluster), submitting and cancelling jobs, freeing
 * the address, and reconciling with the scheduler.
 *
 * The host side (host.h) asks through fleet_request() with "cluster.*"
 * operations, directly in one process or as sealed messages over TCP; the
 * fleet reaches a host through its FleetNodeOps (push a stop/suspend/
 * resume to the instance's monitor). */
#pragma once

#include "basic/event.h"
#include "core/controller.h"

typedef struct Fleet Fleet;
typedef struct FleetNode FleetNode;

typedef struct FleetNodeOps {
        /* Push action to the monitor of instance. */
        int (*signal)(void *data, uint32_t instance, InstanceAction action, Error *err);
} FleetNodeOps;

/* Starts the DHCP server (unless dhcp_backend = none), installs the
 * controller's hooks and the reconciliation timer. */
int fleet_new(EventLoop *loop, Controller *controller, Fleet **ret, Error *err);
void fleet_free(Fleet *f);

/* An execution host became reachable (its name, as the mapping shows it).
 * ops/data: how to reach it. A node of the same name replaces the old. */
FleetNode *fleet_node_add(Fleet *f, const char *name, const FleetNodeOps *ops, void *data);
/* The host is no longer reachable: its instances keep their resources for
 * reattach_grace seconds, then are ended unless it came back. */
void fleet_node_remove(Fleet *f, FleetNode *node);
const char *fleet_node_name(const FleetNode *node);

/* A "cluster.*" request from node (see docs/protocol.md): hello, attach,
 * reattach, state, exit. */
int fleet_request(Fleet *f, FleetNode *node, const char *op, const json_t *args, json_t **ret_data, Error *err);

/* One reconciliation pass now (also runs on a timer). */
void fleet_reconcile(Fleet *f);
