/* node-internal.h - shared by the files of the node role (src/daemon/node*.c):
 * node.c        requests from starters, setup (bridge, DHCP, filters)
 * node_life.c   an instance's life on this host: launch, signals, teardown
 * node_sync.c   reconciliation with what really exists */
#pragma once

#include "batch/batch.h"
#include "daemon/node.h"
#include "disk/disk.h"
#include "net/dhcp.h"
#include "net/filter.h"

typedef struct Attachment {
        uint32_t instance;
        NodeClient *client;
} Attachment;

struct Node {
        EventLoop *loop;
        Controller *controller;
        const Settings *settings;
        const BatchBackend *batch;
        DhcpBackend *dhcp;
        FilterBackend *filter;
        EventSource *dhcp_watch;
        uint64_t dhcp_restarted_usec;
        EventSource *timer;
        char hostname[256];
        uint64_t started_usec;
        Attachment *att;
        size_t n_att;
        ControllerHooks hooks;
};

Attachment *att_by_instance(Node *n, uint32_t id);
Attachment *att_by_client(Node *n, NodeClient *c);
void att_add(Node *n, uint32_t id, NodeClient *c);
void att_remove(Node *n, Attachment *a);

/* "vm<id>": the instance's name at the DHCP server */
void dhcp_name(uint32_t id, char buf[32]);
/* Free lease, filters, tap, runtime dir and the address, exactly once.
 * _locked: inside an open transaction. */
int teardown_locked(Node *n, const InstanceRec *inst, const char *reason, Error *err);
void teardown(Node *n, uint32_t id, const char *reason);
int share_discs_with_runner(Node *n, const InstanceRec *inst, bool grant, Error *err);

/* ControllerHooks */
int hook_launch(void *userdata, InstanceRec *inst, Error *err);
int hook_signal(void *userdata, const InstanceRec *inst, const char *action, Error *err);

/* per-instance files the node makes for the user's starter and qemu */
void runtime_dir_path(Node *n, uint32_t id, char *buf, size_t len);
int runtime_dir_create(Node *n, const InstanceRec *inst, const Cred *cred, char *path, size_t len, Error *err);
void runtime_dir_remove(Node *n, const InstanceRec *inst);
int serial_log_create(Node *n, const InstanceRec *inst, const Cred *cred, char *path, size_t len, Error *err);

void sync_filters(Node *n);
