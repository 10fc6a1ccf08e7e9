/* node_sync.c - reconciliation: instances whose starter or job is gone are
 * ended; taps, leases and filters nobody owns are removed; the filters are
 * re-applied if someone flushed them. Runs at start and every few seconds. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "basic/jsonutil.h"
#include "basic/log.h"
#include "core/ipam.h"
#include "daemon/node-internal.h"
#include "net/link.h"

/* ---- reconciliation ---- */


void node_reconcile(Node *n) {
        Store *s = n->controller->store;
        uint32_t *ids = NULL;
        size_t nids = 0;
        if (store_instance_ids_all(s, &ids, &nids) < 0)
                return;
        bool in_grace = now_usec() - n->started_usec < (uint64_t)n->settings->reattach_grace_s * 1000000;
        for (size_t i = 0; i < nids; i++) {
                InstanceRec inst;
                if (store_instance_get(s, ids[i], &inst) < 0 || streq(inst.state, "reserved") ||
                    att_by_instance(n, inst.id))
                        continue;
                if (streq(inst.state, "submitted")) {
                        const BatchBackend *b = batch_backend_find(inst.backend);
                        BatchJobState st;
                        Error e = {0};
                        int r = b ? b->state(inst.job_id, &st, &e) : -ENOENT;
                        if (r < 0 && b)
                                log_warn("instance %u: cannot read the state of job %s: %s", inst.id, inst.job_id,
                                         e.message);
                        else if (r == 0 && st == BATCH_JOB_GONE)
                                teardown(n, inst.id, "its job ended before the vm started");
                        continue;
                }
                if (in_grace)
                        continue; /* a starter may still come back after our restart */
                const BatchBackend *b = batch_backend_find(inst.backend);
                if (b && *inst.job_id)
                        b->cancel(inst.job_id, NULL);
                teardown(n, inst.id, "its monitor did not come back");
        }
        if (n->filter)
                sync_filters(n);
        /* taps and leases nobody owns any more */
        char **names = NULL;
        size_t nn = 0;
        if (!in_grace && link_list_prefix(LINK_TAP_PREFIX, &names, &nn) == 0) {
                for (size_t i = 0; i < nn; i++) {
                        uint64_t tap_id;
                        if (link_tap_name_parse(names[i], &tap_id) < 0)
                                continue; /* "vmb" + digits only: never a bridge like vmbbr0 */
                        bool owned = false;
                        for (size_t k = 0; k < n->n_att; k++) {
                                char tap[LINK_NAME_MAX + 1];
                                link_tap_name(n->att[k].instance, tap, sizeof(tap));
                                owned |= streq(tap, names[i]);
                        }
                        if (!owned && link_delete(names[i], NULL) == 0)
                                log_info("removed leftover tap %s", names[i]);
                }
                link_names_free(names);
        }
        if (!in_grace && n->dhcp) {
                char **hosts = NULL;
                size_t nh = 0;
                if (dhcp_host_list(n->dhcp, &hosts, &nh, NULL) == 0) {
                        for (size_t i = 0; i < nh; i++) {
                                unsigned id;
                                InstanceRec inst;
                                if (sscanf(hosts[i], "vm%u", &id) != 1 ||
                                    (store_instance_get(s, id, &inst) == 0 && !streq(inst.state, "reserved") &&
                                     !streq(inst.state, "submitted")))
                                        continue;
                                dhcp_host_remove(n->dhcp, hosts[i], NULL, NULL, NULL);
                                log_info("removed leftover lease %s", hosts[i]);
                        }
                        dhcp_names_free(hosts);
                }
        }
        free(ids);
}

/* Make the rules exactly those of the instances that have a tap (also
 * after someone ran `nft flush ruleset`). */
void sync_filters(Node *n) {
        Store *s = n->controller->store;
        uint32_t *ids = NULL;
        size_t nids = 0;
        if (store_instance_ids_all(s, &ids, &nids) < 0)
                return;
        InstanceRec *inst = xcalloc(nids + 1, sizeof(InstanceRec));
        FilterVm *vms = xcalloc(nids + 1, sizeof(FilterVm));
        char (*ips)[16] = xcalloc(nids + 1, 16);
        size_t nv = 0;
        for (size_t i = 0; i < nids; i++) {
                if (store_instance_get(s, ids[i], &inst[nv]) < 0 || !*inst[nv].tap ||
                    streq(inst[nv].state, "reserved") || streq(inst[nv].state, "submitted"))
                        continue;
                ipv4_format(inst[nv].ip, ips[nv]);
                vms[nv] = (FilterVm){.tap = inst[nv].tap, .mac = inst[nv].mac, .ip = ips[nv], .isolated = inst[nv].isolated};
                nv++;
        }
        Error err = {0};
        if (filter_sync(n->filter, vms, nv, &err) < 0)
                log_error("cannot re-apply the isolation filters: %s", err.message);
        free(ips);
        free(vms);
        free(inst);
        free(ids);
}
