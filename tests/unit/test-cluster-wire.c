/* test-cluster-wire.c - daemon/cluster_wire.h: each message of the cluster
 * wire built by one side parses back on the other to what was built, and
 * what is malformed is refused with the message docs/protocol.md's peers
 * see (valid UTF-8, also when it quotes the bad value). */
#include <stdlib.h>

#include "daemon/cluster_wire.h"
#include "tap.h"

static bool utf8(const char *s) {
        json_t *j = json_string(s);
        json_decref(j);
        return j != NULL;
}

/* msg (stolen) parsed as the controller does: its op, then its args */
static int request(json_t *msg, WireOp want, ClusterRequest *req, Error *err) {
        static json_t *keep; /* req points into it until the next call */
        json_decref(keep);
        keep = msg;
        WireOp op;
        int r = cluster_wire_request_op(msg, &op, err);
        if (r < 0)
                return r;
        if (op != want)
                return -EPROTO;
        return cluster_wire_request_from_json(op, json_object_get(msg, "args"), req, err);
}

static json_t *parse(const char *text) {
        json_t *j = json_loads(text, 0, NULL);
        if (!j)
                abort();
        return j;
}

static void skipped(void *ctx, const char *why) { snprintf(ctx, 128, "%s", why); }

static void test_ops(void) {
        for (WireOp op = 0; op < _WIRE_OP_MAX; op++)
                ok(wire_op_from_string(wire_op_to_string(op)) == op, "op %s by its name", wire_op_to_string(op));
        is_str(wire_op_to_string(WIRE_REATTACH), "cluster.reattach", "the names are the wire's");
        ok(wire_op_from_string("cluster.stop") < 0 && wire_op_from_string(NULL) < 0, "unknown names are none");
        ok(wire_op_to_string(_WIRE_OP_MAX) == NULL, "nor is a number out of the table");
}

static void test_requests(void) {
        ClusterRequest req;
        Error err = {0};
        ClusterMonitor mon[] = {{12, 1001}, {13, 1002}};
        ok(request(cluster_wire_request(WIRE_HELLO, 1, cluster_wire_hello_args("exec01", mon, 2)), WIRE_HELLO, &req,
                   &err) == 0,
           "hello parses");
        is_str(req.node, "exec01", "with the node's name");
        ClusterMonitor *got = NULL;
        size_t n = cluster_wire_monitors(req.attached, &got, NULL, NULL);
        ok(n == 2 && got[0].instance == 12 && got[0].uid == 1001 && got[1].instance == 13 && got[1].uid == 1002,
           "and its monitors");
        free(got);

        char why[128] = "";
        json_t *list = parse("[{\"instance\": 1, \"uid\": 2}, {\"instance\": 3}, {\"instance\": -1, \"uid\": 2}, 7]");
        n = cluster_wire_monitors(list, &got, skipped, why);
        ok(n == 1 && got[0].instance == 1 && got[0].uid == 2, "bad monitors are skipped, the good one kept");
        is_str(why, "missing instance", "each with why (the last here)");
        free(got);
        json_decref(list);
        n = cluster_wire_monitors(NULL, &got, NULL, NULL);
        ok(n == 0 && got, "no attached list: no monitors");
        free(got);

        ClusterAttach at = {.instance = 12, .uid = 1001, .job_id = "4242", .tap = "vmb12", .vnc_display = 3};
        snprintf(at.proof.slurm, sizeof(at.proof.slurm), "4242");
        snprintf(at.proof.local, sizeof(at.proof.local), "77:88");
        ok(request(cluster_wire_request(WIRE_ATTACH, 2, cluster_wire_attach_args(&at)), WIRE_ATTACH, &req, &err) == 0,
           "attach parses");
        ok(req.instance == 12 && req.attach.instance == 12 && req.attach.uid == 1001 && req.attach.vnc_display == 3,
           "instance, uid, display");
        is_str(req.attach.tap, "vmb12", "tap");
        is_str(req.attach.job_id, "4242", "the job it says it runs in");
        ok(streq(req.attach.proof.slurm, "4242") && streq(req.attach.proof.local, "77:88") && !*req.attach.proof.sge,
           "the proof");
        at.job_id = NULL;
        ok(request(cluster_wire_request(WIRE_ATTACH, 2, cluster_wire_attach_args(&at)), WIRE_ATTACH, &req, &err) == 0 &&
                   req.attach.job_id == NULL,
           "attach without a job id");
        ok(request(parse("{\"op\": \"cluster.attach\", \"args\": {\"instance\": 1, \"uid\": 2, \"tap\": \"t\", "
                         "\"vnc_display\": 10001}}"),
                   WIRE_ATTACH, &req, &err) == 0 &&
                   req.attach.vnc_display == -1 && !*req.attach.proof.local,
           "a display over 10000 is none; no proof proves nothing");

        ok(request(cluster_wire_request(WIRE_REATTACH, 3, cluster_wire_reattach_args(12, 1001)), WIRE_REATTACH, &req,
                   &err) == 0 &&
                   req.instance == 12 && req.uid == 1001,
           "reattach parses");
        ok(request(cluster_wire_request(WIRE_STATE, 4, cluster_wire_state_args(12, INSTANCE_PAUSED)), WIRE_STATE, &req,
                   &err) == 0 &&
                   req.instance == 12 && req.state == INSTANCE_PAUSED,
           "state parses");
        ok(request(cluster_wire_request(WIRE_EXIT, 5, cluster_wire_exit_args(12, "the vm stopped")), WIRE_EXIT, &req,
                   &err) == 0 &&
                   req.instance == 12 && streq(req.reason, "the vm stopped"),
           "exit parses");
}

/* text (a request) is refused with want */
static void refused(const char *text, WireOp op, const char *want) {
        ClusterRequest req;
        Error err = {0};
        int r = request(parse(text), op, &req, &err);
        ok(r == -EINVAL && err.code == r && streq(err.message, want) && utf8(err.message), "refused: %s", want);
        if (!streq(err.message, want))
                printf("#   got '%s'\n", err.message);
}

static void test_refusals(void) {
        refused("{\"id\": 1}", WIRE_HELLO, "missing op");
        refused("{\"op\": \"cluster.stop\"}", WIRE_HELLO, "unknown operation 'cluster.stop'");
        refused("{\"op\": \"cluster.hello\", \"args\": []}", WIRE_HELLO, "args must be an object");
        refused("{\"op\": \"cluster.hello\", \"args\": {}}", WIRE_HELLO, "missing node");
        refused("{\"op\": \"cluster.hello\", \"args\": {\"node\": \"\"}}", WIRE_HELLO,
                "cluster.hello needs the node's name");
        refused("{\"op\": \"cluster.hello\", \"args\": {\"node\": "
                "\"0123456789012345678901234567890123456789012345678901234567890123\"}}",
                WIRE_HELLO, "cluster.hello needs the node's name");
        refused("{\"op\": \"cluster.hello\", \"args\": {\"node\": \"n\", \"attached\": {}}}", WIRE_HELLO,
                "attached must be an array");
        refused("{\"op\": \"cluster.state\", \"args\": {\"state\": \"running\"}}", WIRE_STATE, "missing instance");
        refused("{\"op\": \"cluster.attach\", \"args\": {\"instance\": 1, \"uid\": 2, \"vnc_display\": 0}}",
                WIRE_ATTACH, "missing tap");
        refused("{\"op\": \"cluster.attach\", \"args\": {\"instance\": 1, \"uid\": 2, \"tap\": \"t\", \"vnc_display\": "
                "0, \"proof\": {\"slurm\": \"0123456789012345678901234\"}}}",
                WIRE_ATTACH, "proof slurm is too long");
        refused("{\"op\": \"cluster.reattach\", \"args\": {\"instance\": 4294967296, \"uid\": 2}}", WIRE_REATTACH,
                "instance 4294967296 is out of range");
        refused("{\"op\": \"cluster.state\", \"args\": {\"instance\": 1, \"state\": \"gone\"}}", WIRE_STATE,
                "bad state 'gone'");
        /* a quoted value is cut at 32 (64) bytes, never inside a character:
         * "a" and 20 two-byte characters keep "a" and 15 of them */
        refused("{\"op\": \"cluster.state\", \"args\": {\"instance\": 1, \"state\": \"a\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
                "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
                "\\u00e9\"}}",
                WIRE_STATE, "bad state 'a\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"
                            "\u00e9\u00e9'");
}

static void test_answers(void) {
        ClusterWireAnswer a;
        Error err = {0};
        json_t *id = json_integer(9);
        json_t *m = cluster_wire_answer(0, NULL, NULL, id);
        uint64_t re = 0;
        ok(cluster_wire_is_answer(m, &re) && re == 9, "an answer carries the request's id");
        ok(cluster_wire_answer_from_json(WIRE_STATE, m, &a, &err) == 0 && !a.spec && !a.has_placement,
           "an empty answer");
        json_decref(m);
        m = parse("{\"re\": 9, \"ok\": true, \"data\": [1]}");
        ok(cluster_wire_answer_from_json(WIRE_ATTACH, m, &a, &err) == -EBADMSG && !a.spec,
           "attach's answer needs a spec (an object)");
        json_decref(m);

        m = cluster_wire_answer(0, NULL, json_pack("{s:s}", "name", "web"), id);
        err = (Error){0};
        ok(cluster_wire_answer_from_json(WIRE_ATTACH, m, &a, &err) == 0 &&
                   streq(json_string_value(json_object_get(a.spec, "name")), "web"),
           "attach's answer is its spec");
        json_decref(m);

        ClusterPlacement p = {.state = INSTANCE_RUNNING, .tap = "vmb12", .mac = "52:54:00:00:00:0c",
                              .ip = "10.0.0.12", .isolated = true, .vnc_display = 3};
        m = cluster_wire_answer(0, NULL, cluster_wire_placement_to_json(&p), id);
        ok(cluster_wire_answer_from_json(WIRE_REATTACH, m, &a, &err) == 0 && a.has_placement &&
                   a.placement.state == INSTANCE_RUNNING && streq(a.placement.tap, "vmb12") &&
                   streq(a.placement.mac, p.mac) && streq(a.placement.ip, p.ip) && a.placement.isolated &&
                   a.placement.vnc_display == 3,
           "reattach's answer is its placement");
        json_object_del(json_object_get(m, "data"), "ip");
        ok(cluster_wire_answer_from_json(WIRE_REATTACH, m, &a, &err) == -EBADMSG && a.has_placement,
           "a placement without its ip is refused");
        json_decref(m);

        err = (Error){0};
        Error why = {0};
        error_set(&why, -EPERM, "instance 12 is not yours");
        m = cluster_wire_answer(why.code, &why, json_object(), NULL);
        ok(json_is_null(json_object_get(m, "re")), "an answer to a request without an id: re null");
        ok(cluster_wire_answer_from_json(WIRE_ATTACH, m, &a, &err) == -EPERM && streq(a.refusal, why.message) &&
                   streq(err.message, why.message) && !a.spec,
           "a refusal: its errno and message");
        json_decref(m);

        err = (Error){0};
        m = parse("{\"re\": 1, \"ok\": false, \"error\": {\"code\": \"ENOTANERRNO\"}}");
        ok(cluster_wire_answer_from_json(WIRE_STATE, m, &a, &err) == -EIO && !a.refusal &&
                   streq(err.message, "the controller refused"),
           "a refusal without a known code or a message: EIO");
        json_decref(m);

        /* the node passes the controller's message on in JSON: cut at 511
         * bytes, never inside a character */
        char text[700] = "ab";
        for (int i = 0; i < 300; i++)
                strcat(text, "\u00e9");
        m = json_pack("{s:I, s:b, s:{s:s, s:s}}", "re", (json_int_t)1, "ok", false, "error", "code", "EPERM", "message",
                      text);
        err = (Error){0};
        ok(cluster_wire_answer_from_json(WIRE_STATE, m, &a, &err) == -EPERM && strlen(err.message) == 510 &&
                   utf8(err.message),
           "a long refusal is cut between characters");
        json_decref(m);
        json_decref(id);
}

static void test_pushes(void) {
        uint32_t instance;
        InstanceAction action;
        uint64_t re;
        json_t *m = cluster_wire_signal(12, ACTION_SUSPEND);
        ok(!cluster_wire_is_answer(m, &re), "a push is no answer");
        ok(cluster_wire_push_from_json(m, &instance, &action) == 0 && instance == 12 && action == ACTION_SUSPEND,
           "signal: instance and action");
        json_object_set_new(m, "action", json_string("reboot"));
        ok(cluster_wire_push_from_json(m, &instance, &action) == -EBADMSG, "an unknown action is refused");
        json_decref(m);
        m = parse("{\"event\": \"hello\", \"instance\": 1, \"action\": \"stop\"}");
        ok(cluster_wire_push_from_json(m, &instance, &action) == -EBADMSG, "so is an unknown event");
        json_decref(m);
}

int main(void) {
        test_ops();
        test_requests();
        test_refusals();
        test_answers();
        test_pushes();
        request(NULL, WIRE_HELLO, NULL, NULL); /* frees the last message */
        return tap_done();
}
