/* cluster_wire.h - the cluster's messages (docs/protocol.md, "Controller <->
 * node") as cluster.h's structs, both ways, without any I/O: the parsers of
 * what arrives (a node's requests at the controller; the controller's
 * answers and pushes at a node) and the builders of what is sent. The wire
 * JSON is what a MUNGE credential carries (munge_seal.h); cluster_tcp.c
 * seals, sends, receives and opens it, and is the only caller here. Every
 * parser takes arbitrary JSON (tests/fuzz/fuzz-cluster.c): a message it
 * does not understand is an error, never a crash. Strings in a parsed
 * struct point into the JSON they came from. */
#pragma once

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/cluster.h"

/* The node's requests; on the wire "cluster.hello", "cluster.attach", ... */
typedef enum WireOp {
        WIRE_HELLO,
        WIRE_ATTACH,
        WIRE_REATTACH,
        WIRE_STATE,
        WIRE_EXIT,
        _WIRE_OP_MAX,
        _WIRE_OP_INVALID = -EINVAL,
} WireOp;

const char *wire_op_to_string(WireOp op);
WireOp wire_op_from_string(const char *s);

/* ---- the controller's side: a node's request in, the answer out ---- */

/* The op of a request {"op", "id", "args"}. */
int cluster_wire_request_op(const json_t *msg, WireOp *ret, Error *err);

/* One request's args as the fleet takes them. */
typedef struct ClusterRequest {
        WireOp op;
        uint32_t instance;      /* every op but hello */
        ClusterAttach attach;   /* attach (its instance as above, its uid) */
        uint32_t uid;           /* reattach */
        InstanceState state;    /* state */
        const char *reason;     /* exit; NULL when absent */
        const char *node;       /* hello: the node's name, 1..63 bytes */
        const json_t *attached; /* hello: [{instance, uid}] or NULL (cluster_wire_monitors) */
} ClusterRequest;
int cluster_wire_request_from_json(WireOp op, const json_t *args, ClusterRequest *ret, Error *err);

/* hello's monitors (an array, or NULL: none): the good entries in *ret (to
 * free), each bad one passed to skipped (may be NULL) with why. */
size_t cluster_wire_monitors(const json_t *attached, ClusterMonitor **ret,
                             void (*skipped)(void *ctx, const char *why), void *ctx);

/* {"re": id (NULL: null), "ok": true, "data": data (stolen; NULL: {})} or,
 * for r < 0, the refusal with err's message. */
json_t *cluster_wire_answer(int r, const Error *err, json_t *data, const json_t *id);
/* reattach's data */
json_t *cluster_wire_placement_to_json(const ClusterPlacement *p);
/* The push {"event": "signal", "instance", "action"}. */
json_t *cluster_wire_signal(uint32_t instance, InstanceAction action);

/* ---- the node's side: requests out, answers and pushes in ---- */

/* {"op", "id", "args" (stolen)} */
json_t *cluster_wire_request(WireOp op, uint64_t id, json_t *args);
json_t *cluster_wire_hello_args(const char *node, const ClusterMonitor *mon, size_t n);
json_t *cluster_wire_attach_args(const ClusterAttach *req);
json_t *cluster_wire_reattach_args(uint32_t instance, uint32_t uid);
json_t *cluster_wire_state_args(uint32_t instance, InstanceState state);
json_t *cluster_wire_exit_args(uint32_t instance, const char *reason);

/* An answer carries "re" (the request's id); anything else is a push. */
bool cluster_wire_is_answer(const json_t *msg, uint64_t *ret_re);

/* The answer to a request of op; returns its r (err says why when < 0). */
typedef struct ClusterWireAnswer {
        json_t *spec;                /* attach: the boot spec (borrowed) */
        ClusterPlacement placement;  /* reattach, when has_placement */
        bool has_placement;          /* reattach, ok (r < 0: the placement is incomplete) */
        const char *refusal;         /* not ok: the controller's message, NULL if none */
} ClusterWireAnswer;
int cluster_wire_answer_from_json(WireOp op, const json_t *msg, ClusterWireAnswer *ret, Error *err);

/* A push; -EBADMSG when it is none we know. */
int cluster_wire_push_from_json(const json_t *msg, uint32_t *ret_instance, InstanceAction *ret_action);
