/* embedded.h - one vmbatchd with both roles (the default): the host's
 * ClusterOps are the fleet's own functions and the fleet's NodeOps the
 * host's, called directly; nothing is packed as JSON in between. */
#pragma once

#include "daemon/fleet.h"
#include "daemon/host.h"

typedef struct Embedded {
        Fleet *fleet;
        Host *host;
        FleetNode *node;
} Embedded;

/* e lives as long as both roles. */
void embedded_join(Embedded *e, Fleet *fleet, Host *host);
