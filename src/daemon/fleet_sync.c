/* fleet_sync.c - the controller's reconciliation: instances whose job or
 * monitor is gone are ended, and leases nobody owns are removed. Runs at
 * start and every few seconds. An instance whose monitor is not attached
 * is left alone while the controller itself or its host came or went
 * within reattach_grace (monitors come back after a restart). */
#include <stdio.h>

#include "basic/log.h"
#include "daemon/fleet-internal.h"

#define DHCP_LOG_MAX (16ULL << 20) /* the DHCP server's log is rotated past this */

/* queued: ended when the scheduler no longer knows its job */
static void sync_queued(Fleet *f, const InstanceRec *inst, bool in_grace) {
        if (!*inst->job_id) {
                /* being submitted; or we restarted while it was, and its job
                 * id is lost (a job of it would be refused at attach) */
                if (!submission_of(f, inst->id) && !in_grace)
                        teardown(f, inst->id, "its job submission was interrupted");
                return;
        }
        const BatchBackend *b = batch_backend_find(inst->backend);
        BatchJobState st;
        Error e = {0};
        int r = b ? b->state(inst->job_id, &st, &e) : -ENOENT;
        if (r < 0 && b)
                log_warn("instance %u: cannot read the state of job %s: %s", inst->id, inst->job_id, e.message);
        else if (r == 0 && st == BATCH_JOB_GONE)
                teardown(f, inst->id, "its job ended before the vm started");
}

static void sync_leases(Fleet *f) {
        char **hosts = NULL;
        size_t nh = 0;
        if (dhcp_host_list(f->dhcp, &hosts, &nh, NULL) < 0)
                return;
        for (size_t i = 0; i < nh; i++) {
                unsigned id;
                InstanceRec inst;
                if (sscanf(hosts[i], "vm%u", &id) != 1 ||
                    (store_instance_get(f->controller->store, id, &inst) == 0 && inst.state != INSTANCE_RESERVED &&
                     inst.state != INSTANCE_SUBMITTED))
                        continue;
                dhcp_host_remove(f->dhcp, hosts[i], NULL, NULL, NULL);
                log_info("removed leftover lease %s", hosts[i]);
        }
        dhcp_names_free(hosts);
}

void fleet_reconcile(Fleet *f) {
        Store *s = f->controller->store;
        uint32_t *ids = NULL;
        size_t nids = 0;
        if (store_instance_ids_all(s, &ids, &nids) < 0)
                return;
        bool in_grace = now_usec() - f->started_usec < (uint64_t)f->settings->reattach_grace_s * 1000000;
        for (size_t i = 0; i < nids; i++) {
                InstanceRec inst;
                if (store_instance_get(s, ids[i], &inst) < 0 || inst.state == INSTANCE_RESERVED ||
                    placement_of(f, inst.id))
                        continue;
                if (inst.state == INSTANCE_SUBMITTED) {
                        sync_queued(f, &inst, in_grace);
                        continue;
                }
                if (in_grace || host_changed_recently(f, inst.exehost))
                        continue; /* its monitor may still come back */
                batch_cancel_later(f, batch_backend_find(inst.backend), inst.job_id);
                teardown(f, inst.id,
                         fleet_node_by_name(f, inst.exehost) ? "its monitor did not come back"
                                                             : "its host is gone");
        }
        free(ids);
        if (f->dhcp) {
                Error e = {0};
                if (dhcp_log_rotate(f->dhcp, DHCP_LOG_MAX, &e) < 0)
                        log_warn("%s", e.message);
        }
        if (!in_grace && f->dhcp)
                sync_leases(f);
}
