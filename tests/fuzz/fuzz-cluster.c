/* fuzz-cluster.c - arbitrary bytes as a cluster message (the JSON a MUNGE
 * credential carried, as munge_open() loads it): parsed as a node's request
 * by the controller's side and as the controller's answer or push by the
 * node's side (src/daemon/cluster_wire.h), as every op since the op of an
 * answer is the one of the call it answers. Besides not crashing:
 *   - a refusal has an errno and a message that is valid UTF-8 (it goes on,
 *     in JSON, to the node or to a starter);
 *   - the controller can answer every request: its answer is built and
 *     parses back on the node as the same r and message;
 *   - whatever parses, built again by the other side's builders, parses
 *     back to the same struct. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/cluster_wire.h"

#define check(x)                                                                                               \
        do {                                                                                                   \
                if (!(x))                                                                                      \
                        abort();                                                                               \
        } while (0)

static bool utf8(const char *s) {
        json_t *j = json_string(s);
        json_decref(j);
        return j != NULL;
}

/* text: the message must say something (the controller's own refusals;
 * the node passes on what the controller said, maybe "") */
static void check_refusal(int r, const Error *e, bool text) {
        check(r < 0 && e->code == r && (*e->message || !text) && utf8(e->message));
}

static bool opt_streq(const char *a, const char *b) { return a == b || (a && b && strcmp(a, b) == 0); }

static bool same_attach(const ClusterAttach *a, const ClusterAttach *b) {
        return a->instance == b->instance && a->uid == b->uid && opt_streq(a->tap, b->tap) &&
               opt_streq(a->job_id, b->job_id) && a->vnc_display == b->vnc_display &&
               strcmp(a->proof.local, b->proof.local) == 0 && strcmp(a->proof.slurm, b->proof.slurm) == 0 &&
               strcmp(a->proof.sge, b->proof.sge) == 0;
}

static void count_skipped(void *ctx, const char *why) {
        check(why && *why);
        (*(size_t *)ctx)++;
}

/* req parsed as op: the node's builders make the same request again */
static void request_again(WireOp op, const ClusterRequest *req) {
        json_t *args = NULL;
        ClusterMonitor *mon = NULL;
        size_t n = 0, skipped = 0;
        switch (op) {
        case WIRE_HELLO:
                n = cluster_wire_monitors(req->attached, &mon, count_skipped, &skipped);
                check(n + skipped == json_array_size(req->attached));
                args = cluster_wire_hello_args(req->node, mon, n);
                break;
        case WIRE_ATTACH:
                check(req->attach.tap && req->attach.vnc_display >= -1 && req->attach.vnc_display <= 10000);
                if (req->attach.vnc_display < 0) /* "too large" is not sent back */
                        return;
                args = cluster_wire_attach_args(&req->attach);
                break;
        case WIRE_REATTACH:
                args = cluster_wire_reattach_args(req->instance, req->uid);
                break;
        case WIRE_STATE:
                check(req->state >= 0 && req->state < _INSTANCE_STATE_MAX);
                args = cluster_wire_state_args(req->instance, req->state);
                break;
        case WIRE_EXIT:
                if (!req->reason)
                        return;
                args = cluster_wire_exit_args(req->instance, req->reason);
                break;
        default:
                abort();
        }
        json_t *msg = cluster_wire_request(op, 7, args);
        check(msg);
        WireOp op2;
        ClusterRequest again;
        Error e = {0};
        check(cluster_wire_request_op(msg, &op2, &e) == 0 && op2 == op);
        check(cluster_wire_request_from_json(op, json_object_get(msg, "args"), &again, &e) == 0);
        check(again.instance == req->instance && again.uid == req->uid && again.state == req->state);
        switch (op) {
        case WIRE_HELLO: {
                ClusterMonitor *mon2 = NULL;
                size_t n2 = cluster_wire_monitors(again.attached, &mon2, NULL, NULL);
                check(strcmp(again.node, req->node) == 0 && n2 == n);
                check(n == 0 || memcmp(mon, mon2, n * sizeof(*mon)) == 0);
                free(mon2);
                break;
        }
        case WIRE_ATTACH:
                check(same_attach(&again.attach, &req->attach));
                break;
        case WIRE_EXIT:
                check(opt_streq(again.reason, req->reason));
                break;
        default:
                break;
        }
        free(mon);
        json_decref(msg);
}

/* The controller's side: msg as a node's request of op (its own op, and
 * each other), and the answer it makes as the node reads it. */
static void as_request(const json_t *msg, WireOp op) {
        ClusterRequest req;
        Error e = {0};
        int r = cluster_wire_request_from_json(op, json_object_get(msg, "args"), &req, &e);
        if (r < 0)
                check_refusal(r, &e, true);
        else
                request_again(op, &req);

        json_t *resp = cluster_wire_answer(r, &e, NULL, json_object_get(msg, "id"));
        check(resp);
        ClusterWireAnswer a;
        Error e2 = {0};
        int r2 = cluster_wire_answer_from_json(op, resp, &a, &e2);
        if (r < 0)
                check(r2 == r && a.refusal && strcmp(a.refusal, e.message) == 0 && strcmp(e2.message, e.message) == 0);
        else if (op != WIRE_REATTACH) /* its data is a placement, not {} */
                check(r2 == 0 && (op != WIRE_ATTACH || a.spec));
        json_decref(resp);
}

static void as_answer(const json_t *msg, WireOp op) {
        ClusterWireAnswer a;
        Error e = {0};
        int r = cluster_wire_answer_from_json(op, msg, &a, &e);
        if (r < 0) {
                check_refusal(r, &e, false);
                check(!a.spec);
        } else
                check(op != WIRE_ATTACH || json_is_object(a.spec));
        if (r < 0 || !a.has_placement)
                return;
        const ClusterPlacement *p = &a.placement;
        check(op == WIRE_REATTACH && p->state >= 0 && p->vnc_display >= -1 && p->vnc_display <= 10000);
        json_t *back = json_pack("{s:I, s:b, s:o}", "re", (json_int_t)1, "ok", true, "data",
                                 cluster_wire_placement_to_json(p));
        ClusterWireAnswer b;
        check(back && cluster_wire_answer_from_json(op, back, &b, &e) == 0 && b.has_placement);
        const ClusterPlacement *q = &b.placement;
        check(q->state == p->state && strcmp(q->tap, p->tap) == 0 && strcmp(q->mac, p->mac) == 0 &&
              strcmp(q->ip, p->ip) == 0 && q->isolated == p->isolated && q->vnc_display == p->vnc_display);
        json_decref(back);
}

static void as_push(const json_t *msg) {
        uint32_t instance, instance2;
        InstanceAction action, action2;
        if (cluster_wire_push_from_json(msg, &instance, &action) < 0)
                return;
        check(action >= 0 && action < _ACTION_MAX);
        json_t *back = cluster_wire_signal(instance, action);
        check(back && !cluster_wire_is_answer(back, &(uint64_t){0}));
        check(cluster_wire_push_from_json(back, &instance2, &action2) == 0 && instance2 == instance &&
              action2 == action);
        json_decref(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        json_t *msg = json_loadb((const char *)data, size, 0, NULL);
        if (!json_is_object(msg)) { /* munge_open() refuses it */
                json_decref(msg);
                return 0;
        }
        /* the controller's side */
        WireOp own;
        Error e = {0};
        int r = cluster_wire_request_op(msg, &own, &e);
        if (r < 0)
                check_refusal(r, &e, true);
        else
                check(own >= 0 && own < _WIRE_OP_MAX && wire_op_from_string(wire_op_to_string(own)) == own);
        for (WireOp op = 0; op < _WIRE_OP_MAX; op++)
                as_request(msg, op);
        /* the node's side: an answer (to a call of any op) or a push */
        uint64_t re;
        (void)cluster_wire_is_answer(msg, &re);
        for (WireOp op = 0; op < _WIRE_OP_MAX; op++)
                as_answer(msg, op);
        as_push(msg);
        json_decref(msg);
        return 0;
}
