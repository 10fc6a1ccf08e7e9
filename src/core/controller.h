/* controller.h - the paper's VMController: every operation a user can ask
 * for, authorised and applied to the store in one transaction. The daemon
 * turns wire requests into controller_request() calls; tests call it
 * directly with an in-memory store. */
#pragma once

#include <jansson.h>
#include <stdio.h>

#include "core/settings.h"
#include "store/store.h"

/* What the controller asks of the layers above it (the daemon's node
 * and batch roles). Called inside the operation's transaction: a failure
 * rolls the whole operation back. NULL hooks: starting is not available. */
typedef struct ControllerHooks {
        /* vm.run: submit the instance's job; may fill inst->backend/job_id */
        int (*launch)(void *userdata, InstanceRec *inst, Error *err);
        /* stop, kill, suspend or resume an instance that was started */
        int (*signal)(void *userdata, const InstanceRec *inst, InstanceAction action, Error *err);
        /* console.redeem: *ret_fd a stream socket connected (without
         * waiting) to the console VNC server of inst, the caller's */
        int (*console_connect)(void *userdata, const InstanceRec *inst, int *ret_fd, Error *err);
} ControllerHooks;

typedef struct ConsoleTokens ConsoleTokens; /* core/console_tokens.h */
typedef struct ConsoleActivity ConsoleActivity; /* core/console_activity.h */

typedef struct Controller {
        Store *store;
        const Settings *settings;
        const ControllerHooks *hooks;
        void *hooks_data;
        /* the browser console's one-time tokens (memory only); NULL:
         * console.open and console.redeem are not available */
        ConsoleTokens *console_tokens;
        /* what the gateway reports of open consoles (memory only); NULL:
         * console.activity is not available, nothing is shown */
        ConsoleActivity *console_activity;
} Controller;

/* Handle one request object {"op", "args"} from uid; returns the response
 * object {"ok": true, "data": ...} or {"ok": false, "error": {...}}. */
json_t *controller_request(Controller *c, uint32_t uid, const json_t *request);

/* The same, unpacked: 0 and *ret_data, or -errno with err filled in. */
int controller_handle(Controller *c, uint32_t uid, const char *op, const json_t *args, json_t **ret_data,
                      Error *err);

/* ---- work outside the event loop --------------------------------------
 * An operation that runs qemu-img or touches a user's files (vm.add) would
 * hold every other client up while a file is slow: a FIFO as --usediscs
 * blocks qemu-img until someone writes to it, a 4 GiB copy takes minutes, an
 * NFS home may hang. So the daemon runs it in three steps:
 *   controller_start       in the loop: checks and plans (reads only); NULL
 *                          and *ret_job when a job must run, else the response;
 *   controller_job_run     in a worker process (basic/worker.h), blocking:
 *                          qemu-img as the user; writes the outcome to out;
 *   controller_job_finish  in the loop: records the outcome in one transaction
 *                          (checks such as the quota again) and returns the
 *                          response; frees the job.
 * controller_request and controller_handle do all three in line. */
#define CONTROLLER_PENDING 1
typedef struct ControllerJob ControllerJob;

json_t *controller_start(Controller *c, uint32_t uid, const json_t *request, ControllerJob **ret_job);
/* The same, and *ret_fd the fd the answer carries (console.redeem: the
 * console's VNC socket; the caller's to send and close), -1 for none. */
json_t *controller_start_fd(Controller *c, uint32_t uid, const json_t *request, ControllerJob **ret_job,
                            int *ret_fd);
void controller_job_run(ControllerJob *job, FILE *out);
json_t *controller_job_finish(Controller *c, ControllerJob *job, const char *outcome);
/* A job never finished (the daemon stops): frees it; the run's files stay. */
void controller_job_free(ControllerJob *job);
uint32_t controller_job_uid(const ControllerJob *job);
const char *controller_job_op(const ControllerJob *job);

/* Create the paper's reserved rows (admin group 0, all_users 1, VM group 1
 * all_vms 192.168.0.1-192.168.0.254) and the admin user. */
int controller_init(Controller *c, uint32_t caller_uid, json_t **ret_data, Error *err);
