/* cluster.h - the one interface between a host's node role (host.h) and the
 * controller's fleet (fleet.h), both ways, as typed calls:
 *   - ClusterOps: what a node asks of the controller (attach, reattach,
 *     state, exit). The answer comes through a ClusterDone callback, at once
 *     in the embedded role (embedded.h binds the fleet's functions) or when
 *     the controller's sealed answer arrives over TCP (cluster_tcp.h, the
 *     only place that turns wire JSON into these structs; the wire is in
 *     docs/protocol.md). Nothing waits inside the event loop meanwhile.
 *   - NodeOps: what the controller pushes to a node (signal an instance's
 *     monitor with an InstanceAction).
 * The boot spec that attach answers with stays a JSON object: it is the
 * document the starter is handed, not something the node looks inside
 * beyond its own additions. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"
#include "basic/instance-types.h"
#include "batch/peer.h"

#define CLUSTER_TAP_MAX 16

/* A monitor (starter) on a node asks to start instance as uid. */
typedef struct ClusterAttach {
        uint32_t instance;
        uint32_t uid;
        const char *job_id;  /* the job it says it runs in (its environment: believed by nobody) */
        BatchPeerJobs proof; /* the jobs the node found it runs in (batch/peer.h) */
        const char *tap;
        int vnc_display;
} ClusterAttach;

/* Where a started instance is: the answer to a reattach. */
typedef struct ClusterPlacement {
        InstanceState state;
        char tap[CLUSTER_TAP_MAX];
        char mac[18];
        char ip[16];
        bool isolated;
        int vnc_display; /* -1: unknown */
} ClusterPlacement;

/* An instance whose monitor is attached to a node (hello). */
typedef struct ClusterMonitor {
        uint32_t instance;
        uint32_t uid;
} ClusterMonitor;

/* The answer to one request: r < 0 and err says why; else attach's spec
 * (the callee takes it over) or reattach's placement. */
typedef struct ClusterAnswer {
        int r;
        const Error *err;
        json_t *spec;
        const ClusterPlacement *placement;
} ClusterAnswer;
/* Called exactly once per request, maybe before the request returns. */
typedef void (*ClusterDone)(void *ctx, const ClusterAnswer *answer);

typedef struct ClusterOps {
        void (*attach)(void *data, const ClusterAttach *req, ClusterDone done, void *ctx);
        void (*reattach)(void *data, uint32_t instance, uint32_t uid, ClusterDone done, void *ctx);
        void (*state)(void *data, uint32_t instance, InstanceState state, ClusterDone done, void *ctx);
        /* The instance ended on the node (reason for its log); no answer is
         * awaited: a lost one is made good when the node says hello again. */
        void (*exit)(void *data, uint32_t instance, const char *reason);
} ClusterOps;

typedef struct NodeOps {
        /* Push action to the monitor of instance. */
        int (*signal)(void *data, uint32_t instance, InstanceAction action, Error *err);
        /* *ret_fd: a stream socket connected to the console VNC server of
         * instance on that host (the caller's), made without waiting. */
        int (*console_connect)(void *data, uint32_t instance, int *ret_fd, Error *err);
} NodeOps;
