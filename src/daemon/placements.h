/* placements.h - the controller's map of its execution hosts: which hosts
 * are connected (a FleetNode: a name and how to reach it), which of them
 * holds the monitor of which instance, and when each host last came or went
 * (its instances are left alone for the grace after that: monitors come
 * back after a restart). Data only: no store, no loop, no logging. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "daemon/cluster.h"

typedef struct FleetNode {
        char name[256];
        const NodeOps *ops;
        void *data;
        struct FleetNode *next;
} FleetNode;

typedef struct Placements Placements;

/* grace_s: how long after a host came or went it counts as changed */
Placements *placements_new(uint32_t grace_s);
void placements_free(Placements *p);

/* A host became reachable. A node of the same name is removed first (its
 * placements go with it); *ret_replaced says so. */
FleetNode *placements_node_add(Placements *p, const char *name, const NodeOps *ops, void *data, bool *ret_replaced);
/* The host is no longer reachable: node and its placements go. */
void placements_node_remove(Placements *p, FleetNode *node);
FleetNode *placements_node_by_name(Placements *p, const char *name);
/* the host named came or went within the grace */
bool placements_host_changed_recently(Placements *p, const char *name);

/* The node holding instance's monitor; NULL: none. */
FleetNode *placements_of(Placements *p, uint32_t instance);
void placements_set(Placements *p, uint32_t instance, FleetNode *node);
void placements_drop(Placements *p, uint32_t instance);
