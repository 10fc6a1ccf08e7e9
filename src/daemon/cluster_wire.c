/* cluster_wire.c - the cluster's messages, parsed and built; see
 * cluster_wire.h and docs/protocol.md ("Controller <-> node"). */
#include "daemon/cluster_wire.h"

#include <stdio.h>

#include "basic/jsonutil.h"
#include "basic/util.h"

static const char *const wire_op_table[_WIRE_OP_MAX] = {
        [WIRE_HELLO] = "cluster.hello", [WIRE_ATTACH] = "cluster.attach", [WIRE_REATTACH] = "cluster.reattach",
        [WIRE_STATE] = "cluster.state", [WIRE_EXIT] = "cluster.exit",
};
DEFINE_STRING_TABLE(wire_op, WireOp)

/* How much of s (UTF-8, as jansson hands out strings) fits in max bytes
 * without cutting a character in two: a message quoting it goes back in
 * JSON, which takes UTF-8 only (json_error_response() would be NULL, and
 * the controller could not answer). */
static int utf8_prefix(const char *s, size_t max) {
        size_t n = strnlen(s, max);
        if (n == max)
                while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
                        n--;
        return (int)n;
}

/* ===================== the controller's side ===================== */

int cluster_wire_request_op(const json_t *msg, WireOp *ret, Error *err) {
        const char *name = json_string_value(json_object_get(msg, "op"));
        if (!name)
                return error_set(err, -EINVAL, "missing op");
        WireOp op = wire_op_from_string(name);
        if (op < 0)
                return error_set(err, -EINVAL, "unknown operation '%.*s'", utf8_prefix(name, 64), name);
        *ret = op;
        return 0;
}

/* What the node proved about a starter (batch/peer.h); missing: nothing. */
static int proof_from_json(const json_t *o, BatchPeerJobs *ret, Error *err) {
        struct {
                const char *key;
                char *dst;
                size_t len;
        } f[] = {{"local", ret->local, sizeof(ret->local)},
                 {"slurm", ret->slurm, sizeof(ret->slurm)},
                 {"sge", ret->sge, sizeof(ret->sge)}};
        *ret = (BatchPeerJobs){0};
        for (size_t i = 0; o && i < ELEMENTSOF(f); i++) {
                const char *v = NULL;
                int r = json_get_string(o, f[i].key, &v, err);
                if (r < 0 && r != -ENOENT)
                        return r;
                if (v && strlen(v) >= f[i].len)
                        return error_set(err, -EINVAL, "proof %s is too long", f[i].key);
                if (v)
                        snprintf(f[i].dst, f[i].len, "%s", v);
        }
        return 0;
}

static int hello_from_json(const json_t *args, ClusterRequest *req, Error *err) {
        json_t *list = json_object_get(args, "attached");
        if (json_need_string(args, "node", &req->node, err) < 0 || isempty(req->node) || strlen(req->node) > 63)
                return error_set(err, -EINVAL, "cluster.hello needs the node's name");
        if (list && !json_is_array(list))
                return error_set(err, -EINVAL, "attached must be an array");
        req->attached = list;
        return 0;
}

static int attach_from_json(const json_t *args, ClusterAttach *req, Error *err) {
        uint32_t display;
        int r;
        if ((r = json_need_u32(args, "uid", &req->uid, err)) < 0 ||
            (r = json_need_string(args, "tap", &req->tap, err)) < 0 ||
            (r = json_need_u32(args, "vnc_display", &display, err)) < 0)
                return r;
        if ((r = json_get_string(args, "job_id", &req->job_id, err)) < 0 && r != -ENOENT)
                return r;
        if ((r = proof_from_json(json_object_get(args, "proof"), &req->proof, err)) < 0)
                return r;
        req->vnc_display = display > 10000 ? -1 : (int)display;
        return 0;
}

int cluster_wire_request_from_json(WireOp op, const json_t *args, ClusterRequest *ret, Error *err) {
        const char *text = NULL;
        int r;
        *ret = (ClusterRequest){.op = op, .state = _INSTANCE_STATE_INVALID};
        if (!json_is_object(args))
                return error_set(err, -EINVAL, "args must be an object");
        if (op == WIRE_HELLO)
                return hello_from_json(args, ret, err);
        if ((r = json_need_u32(args, "instance", &ret->instance, err)) < 0)
                return r;
        ret->attach.instance = ret->instance;
        switch (op) {
        case WIRE_ATTACH:
                return attach_from_json(args, &ret->attach, err);
        case WIRE_REATTACH:
                return json_need_u32(args, "uid", &ret->uid, err);
        case WIRE_STATE:
                if ((r = json_need_string(args, "state", &text, err)) < 0)
                        return r;
                ret->state = instance_state_from_string(text);
                if (ret->state < 0)
                        return error_set(err, -EINVAL, "bad state '%.*s'", utf8_prefix(text, 32), text);
                return 0;
        case WIRE_EXIT:
                json_get_string(args, "reason", &ret->reason, NULL);
                return 0;
        default:
                return error_set(err, -EINVAL, "unknown operation");
        }
}

size_t cluster_wire_monitors(const json_t *attached, ClusterMonitor **ret,
                             void (*skipped)(void *ctx, const char *why), void *ctx) {
        ClusterMonitor *mon = xcalloc(json_array_size(attached) + 1, sizeof(ClusterMonitor));
        size_t n = 0, i;
        json_t *v;
        json_array_foreach(attached, i, v) {
                Error e = {0};
                if (json_need_u32(v, "instance", &mon[n].instance, &e) < 0 ||
                    json_need_u32(v, "uid", &mon[n].uid, &e) < 0) {
                        if (skipped)
                                skipped(ctx, e.message);
                } else
                        n++;
        }
        *ret = mon;
        return n;
}

json_t *cluster_wire_answer(int r, const Error *err, json_t *data, const json_t *id) {
        json_t *resp;
        if (r < 0) {
                json_decref(data);
                resp = json_error_response(r, "%s", err->message);
        } else
                resp = json_pack("{s:b, s:o}", "ok", true, "data", data ? data : json_object());
        json_object_set(resp, "re", id ? (json_t *)id : json_null());
        return resp;
}

json_t *cluster_wire_placement_to_json(const ClusterPlacement *p) {
        return json_pack("{s:s, s:s, s:s, s:s, s:b, s:i}", "state", instance_state_to_string(p->state), "tap", p->tap,
                         "mac", p->mac, "ip", p->ip, "isolated", p->isolated, "vnc_display", p->vnc_display);
}

json_t *cluster_wire_signal(uint32_t instance, InstanceAction action) {
        return json_pack("{s:s, s:I, s:s}", "event", "signal", "instance", (json_int_t)instance, "action",
                         instance_action_to_string(action));
}

/* ===================== the node's side ===================== */

json_t *cluster_wire_request(WireOp op, uint64_t id, json_t *args) {
        return json_pack("{s:s, s:I, s:o}", "op", wire_op_to_string(op), "id", (json_int_t)id, "args", args);
}

json_t *cluster_wire_hello_args(const char *node, const ClusterMonitor *mon, size_t n) {
        json_t *attached = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(attached, json_pack("{s:I, s:I}", "instance", (json_int_t)mon[i].instance, "uid",
                                                          (json_int_t)mon[i].uid));
        return json_pack("{s:s, s:o}", "node", node, "attached", attached);
}

json_t *cluster_wire_attach_args(const ClusterAttach *req) {
        json_t *args = json_pack("{s:I, s:I, s:s, s:i, s:{s:s, s:s, s:s}}", "instance", (json_int_t)req->instance,
                                 "uid", (json_int_t)req->uid, "tap", req->tap, "vnc_display", req->vnc_display, "proof",
                                 "local", req->proof.local, "slurm", req->proof.slurm, "sge", req->proof.sge);
        if (req->job_id)
                json_object_set_new(args, "job_id", json_string(req->job_id));
        return args;
}

json_t *cluster_wire_reattach_args(uint32_t instance, uint32_t uid) {
        return json_pack("{s:I, s:I}", "instance", (json_int_t)instance, "uid", (json_int_t)uid);
}

json_t *cluster_wire_state_args(uint32_t instance, InstanceState state) {
        return json_pack("{s:I, s:s}", "instance", (json_int_t)instance, "state", instance_state_to_string(state));
}

json_t *cluster_wire_exit_args(uint32_t instance, const char *reason) {
        return json_pack("{s:I, s:s}", "instance", (json_int_t)instance, "reason", reason);
}

bool cluster_wire_is_answer(const json_t *msg, uint64_t *ret_re) {
        return json_get_u64(msg, "re", ret_re, NULL) >= 0;
}

static int placement_from_json(const json_t *data, ClusterPlacement *p, Error *err) {
        const char *tap = NULL, *mac = NULL, *ip = NULL, *state = NULL;
        uint64_t display;
        *p = (ClusterPlacement){.vnc_display = -1};
        json_get_string(data, "tap", &tap, NULL);
        json_get_string(data, "mac", &mac, NULL);
        json_get_string(data, "ip", &ip, NULL);
        json_get_string(data, "state", &state, NULL);
        json_get_bool(data, "isolated", &p->isolated, NULL);
        if (json_get_u64(data, "vnc_display", &display, NULL) == 0 && display <= 10000)
                p->vnc_display = (int)display;
        p->state = instance_state_from_string(state);
        if (!tap || !mac || !ip || p->state < 0 || strlen(tap) >= sizeof(p->tap) || strlen(mac) >= sizeof(p->mac) ||
            strlen(ip) >= sizeof(p->ip))
                return error_set(err, -EBADMSG, "the controller's answer lacks the instance's state, tap, mac or ip");
        snprintf(p->tap, sizeof(p->tap), "%s", tap);
        snprintf(p->mac, sizeof(p->mac), "%s", mac);
        snprintf(p->ip, sizeof(p->ip), "%s", ip);
        return 0;
}

/* {"re": id, "ok": ..., "data" | "error"} */
int cluster_wire_answer_from_json(WireOp op, const json_t *msg, ClusterWireAnswer *ret, Error *err) {
        json_t *data = json_object_get(msg, "data");
        *ret = (ClusterWireAnswer){0};
        if (!json_is_true(json_object_get(msg, "ok"))) {
                json_t *e = json_object_get(msg, "error");
                const char *code = json_string_value(json_object_get(e, "code"));
                const char *text = json_string_value(json_object_get(e, "message"));
                int k = code ? errno_from_name(code) : 0;
                ret->refusal = text;
                if (!text)
                        text = "the controller refused";
                return error_set(err, k < 0 ? k : -EIO, "%.*s", utf8_prefix(text, sizeof(err->message) - 1), text);
        }
        if (op == WIRE_ATTACH) {
                if (!json_is_object(data))
                        return error_set(err, -EBADMSG, "the controller's answer has no boot spec");
                ret->spec = data;
        } else if (op == WIRE_REATTACH) {
                ret->has_placement = true;
                return placement_from_json(data, &ret->placement, err);
        }
        return 0;
}

int cluster_wire_push_from_json(const json_t *msg, uint32_t *ret_instance, InstanceAction *ret_action) {
        const char *event = json_string_value(json_object_get(msg, "event"));
        InstanceAction action = instance_action_from_string(json_string_value(json_object_get(msg, "action")));
        if (!streq(event, "signal") || action < 0 || json_need_u32(msg, "instance", ret_instance, NULL) < 0)
                return -EBADMSG;
        *ret_action = action;
        return 0;
}
