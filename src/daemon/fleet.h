/* fleet.h - the controller's side of running VMs: the execution hosts it
 * knows (its own, embedded, and vmbatchd --node daemons over TCP), which
 * instance's monitor is attached where, and everything about an instance
 * that lives in the database or is cluster-wide: checking that a job
 * really is the instance and user it claims, the fixed DHCP lease (one
 * DHCP server for the cluster), submitting and cancelling jobs, freeing
 * the address, and reconciling with the scheduler.
 *
 * A host's node role asks through the typed calls below (cluster.h's
 * ClusterOps: bound directly in one process by embedded.c, or from sealed
 * messages over TCP by cluster_tcp.c); the fleet reaches a host through
 * its NodeOps (push a stop/suspend/resume to the instance's monitor). */
#pragma once

#include "basic/event.h"
#include "core/controller.h"
#include "daemon/cluster.h"

typedef struct Fleet Fleet;
typedef struct FleetNode FleetNode; /* placements.h */

/* Starts the DHCP server (unless dhcp_backend = none), installs the
 * controller's hooks and the reconciliation timer. */
int fleet_new(EventLoop *loop, Controller *controller, Fleet **ret, Error *err);
void fleet_free(Fleet *f);

/* An execution host became reachable (its name, as the mapping shows it).
 * ops/data: how to reach it. A node of the same name replaces the old. */
FleetNode *fleet_node_add(Fleet *f, const char *name, const NodeOps *ops, void *data);
/* The host is no longer reachable: its instances keep their resources for
 * reattach_grace seconds, then are ended unless it came back. */
void fleet_node_remove(Fleet *f, FleetNode *node);
const char *fleet_node_name(const FleetNode *node);

/* What node asks (cluster.h; on the wire: docs/protocol.md). attach
 * answers with the starter's boot spec (*ret, the caller's). */
int fleet_attach(Fleet *f, FleetNode *node, const ClusterAttach *req, json_t **ret, Error *err);
int fleet_reattach(Fleet *f, FleetNode *node, uint32_t instance, uint32_t uid, ClusterPlacement *ret, Error *err);
int fleet_state(Fleet *f, FleetNode *node, uint32_t instance, InstanceState state, Error *err);
int fleet_exit(Fleet *f, FleetNode *node, uint32_t instance, const char *reason, Error *err);
/* node (re)connected with these monitors attached: they are placed there
 * again (e.g. after the controller restarted). */
void fleet_hello(Fleet *f, FleetNode *node, const ClusterMonitor *attached, size_t n);

/* One reconciliation pass now (also runs on a timer). */
void fleet_reconcile(Fleet *f);
