/* jobs.h - controller jobs (core/controller.h: vm.add's discs) run in
 * worker processes (basic/worker.h), so that a slow file of one user holds
 * nobody else up. At most JOBS_PER_USER run at once per uid (one student's
 * hanging FIFOs cannot take the worker slots of a whole class); a user's
 * further jobs wait for one of theirs to end, up to JOBS_WAITING_PER_USER
 * (more are refused with EBUSY); at most JOBS_MAX run in all. The response
 * reaches deliver() in the loop; a client that went away meanwhile is
 * forgotten, the job still finishes and is recorded. */
#pragma once

#include "basic/event.h"
#include "core/controller.h"

#define JOBS_PER_USER 2
#define JOBS_WAITING_PER_USER 64
#define JOBS_MAX 32

typedef struct Jobs Jobs;
typedef struct JobsPending JobsPending;
typedef void (*jobs_deliver_fn)(void *ctx, json_t *response);

int jobs_new(EventLoop *loop, Controller *controller, Jobs **ret);
/* Running workers are killed; their files are left as they are. Accepts NULL. */
void jobs_free(Jobs *j);
/* Takes job. NULL with *ret_refusal (an error response) when uid has
 * JOBS_WAITING_PER_USER jobs waiting already, or no worker can start. */
JobsPending *jobs_run(Jobs *j, ControllerJob *job, jobs_deliver_fn deliver, void *ctx, json_t **ret_refusal);
/* The client of p is gone: its response is dropped. */
void jobs_forget_client(JobsPending *p);
