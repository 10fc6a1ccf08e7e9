/* embedded.c - the node role and the fleet of one process joined by
 * direct calls. See embedded.h. */
#include "daemon/embedded.h"

#include "basic/log.h"

static void answer(ClusterDone done, void *ctx, int r, const Error *err, json_t *spec,
                   const ClusterPlacement *placement) {
        done(ctx, &(ClusterAnswer){.r = r, .err = err, .spec = spec, .placement = placement});
}

static void local_attach(void *data, const ClusterAttach *req, ClusterDone done, void *ctx) {
        Embedded *e = data;
        Error err = {0};
        json_t *spec = NULL;
        int r = fleet_attach(e->fleet, e->node, req, &spec, &err);
        answer(done, ctx, r, &err, spec, NULL);
}

static void local_reattach(void *data, uint32_t instance, uint32_t uid, ClusterDone done, void *ctx) {
        Embedded *e = data;
        Error err = {0};
        ClusterPlacement p;
        int r = fleet_reattach(e->fleet, e->node, instance, uid, &p, &err);
        answer(done, ctx, r, &err, NULL, &p);
}

static void local_state(void *data, uint32_t instance, InstanceState state, ClusterDone done, void *ctx) {
        Embedded *e = data;
        Error err = {0};
        int r = fleet_state(e->fleet, e->node, instance, state, &err);
        answer(done, ctx, r, &err, NULL, NULL);
}

static void local_exit(void *data, uint32_t instance, const char *reason) {
        Embedded *e = data;
        Error err = {0};
        if (fleet_exit(e->fleet, e->node, instance, reason, &err) < 0)
                log_warn("instance %u: telling the controller it ended: %s", instance, err.message);
}

static const ClusterOps local_cluster_ops = {
        .attach = local_attach,
        .reattach = local_reattach,
        .state = local_state,
        .exit = local_exit,
};

static int local_signal(void *data, uint32_t instance, InstanceAction action, Error *err) {
        return host_signal(data, instance, action, err);
}

static int local_console_connect(void *data, uint32_t instance, int *ret_fd, Error *err) {
        return host_console_connect(data, instance, ret_fd, err);
}

static const NodeOps local_node_ops = {.signal = local_signal, .console_connect = local_console_connect};

void embedded_join(Embedded *e, Fleet *fleet, Host *host) {
        e->fleet = fleet;
        e->host = host;
        e->node = fleet_node_add(fleet, host_name(host), &local_node_ops, host);
        host_set_cluster(host, &local_cluster_ops, e);
}
