/* fleet-internal.h - shared by the files of the controller's side of
 * running VMs (src/daemon/fleet*.c):
 * fleet.c       execution hosts, cluster.* requests, DHCP server, setup
 * fleet_life.c  an instance's controller-side life: launch, signals, end
 * fleet_sync.c  reconciliation with the scheduler and the DHCP server
 * fleet_submit.c submitting jobs in child processes (sbatch, qsub) */
#pragma once

#include "basic/worker.h"
#include "batch/batch.h"
#include "daemon/fleet.h"
#include "disk/disk.h"
#include "net/dhcp.h"

struct FleetNode {
        Fleet *fleet;
        char name[256];
        const NodeOps *ops;
        void *data;
        FleetNode *next;
};

/* which host holds the monitor of which instance */
typedef struct Placement {
        uint32_t instance;
        FleetNode *node;
} Placement;

typedef struct Submission Submission;

/* when a host (by name) last came or went: its instances are left alone
 * for reattach_grace after that */
typedef struct HostChange {
        char name[256];
        uint64_t usec;
} HostChange;

struct Fleet {
        EventLoop *loop;
        Controller *controller;
        const Settings *settings;
        const BatchBackend *batch;
        DhcpBackend *dhcp;
        EventSource *dhcp_watch;
        EventSource *dhcp_retry; /* a restart that waits (the server died at once) */
        uint64_t dhcp_restarted_usec;
        EventSource *timer;
        uint64_t started_usec;
        FleetNode *nodes;
        Placement *placed;
        size_t n_placed;
        HostChange *changes;
        size_t n_changes;
        Submission *submissions; /* jobs being submitted (fleet_submit.c) */
        Workers *submit_workers;
        int kick_fd;
        EventSource *kick;
        ControllerHooks hooks;
};

Placement *placement_of(Fleet *f, uint32_t instance);
void placement_set(Fleet *f, uint32_t instance, FleetNode *node);
void placement_drop(Fleet *f, uint32_t instance);
FleetNode *fleet_node_by_name(Fleet *f, const char *name);
/* the host named changed (came or went) within the grace period */
bool host_changed_recently(Fleet *f, const char *name);

/* "vm<id>": the instance's name at the DHCP server */
void dhcp_name(uint32_t id, char buf[32]);
/* Free the lease, the disc access of a runner, the address (the row),
 * and refresh the storage the VM's discs occupy, exactly once.
 * _locked: inside an open transaction. */
int teardown_locked(Fleet *f, const InstanceRec *inst, const char *reason, Error *err);
void teardown(Fleet *f, uint32_t id, const char *reason);
int share_discs_with_runner(Fleet *f, const InstanceRec *inst, bool grant, Error *err);

/* The scheduler's request for inst (whose walltime_s is set); log_path and
 * job_name are the buffers it points into. */
void batch_request(Fleet *f, const InstanceRec *inst, const Cred *cred, char *log_path, size_t log_len,
                   char job_name[32], BatchSubmit *req);

/* fleet_submit.c: slow submissions in child processes */
int submissions_init(Fleet *f, Error *err);
void submissions_free(Fleet *f);
void submission_queue(Fleet *f, const InstanceRec *inst);
Submission *submission_of(Fleet *f, uint32_t instance);
/* the instance ended: a waiting submission is dropped, a running one's job
 * is cancelled once its id is known */
void submission_cancel(Fleet *f, uint32_t instance);
void submission_next(Fleet *f);
/* scancel/qdel job in a child process too (local: at once) */
void batch_cancel_later(Fleet *f, const BatchBackend *b, const char *job);

/* ControllerHooks */
int hook_launch(void *userdata, InstanceRec *inst, Error *err);
int hook_signal(void *userdata, const InstanceRec *inst, InstanceAction action, Error *err);
