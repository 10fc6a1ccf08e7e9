/* submit.h - submitting instances' jobs, and cancelling jobs, without
 * stopping the daemon. sbatch and qsub take tens of milliseconds each (they
 * ask the scheduler's daemon); run inside a request they would hold every
 * other client (starters attaching, map lists) in line during an exam
 * start. So each submit or cancel runs in a worker process (basic/worker.h),
 * at most SUBMIT_PARALLEL at a time and the rest in the order they were
 * queued; the child writes the outcome and _exits, touching nothing of the
 * daemon's (no database, no event loop, no fd).
 *
 * A submission knows nothing of the fleet: it asks its owner for the
 * request when it starts (SubmitOps.request) and reports how it ended
 * (SubmitOps.outcome); what that means for the instance (record the job id,
 * or end it) is the owner's business. */
#pragma once

#include <limits.h>

#include "basic/event.h"
#include "batch/batch.h"
#include "store/exams.h"
#include "store/exam_resv.h"
#include "store/store.h"

#define SUBMIT_PARALLEL 16

/* What a submission sends: req points into the fields after it (so the
 * struct stays where it is filled in). */
typedef struct SubmitRequest {
        BatchSubmit req;
        InstanceRec inst;
        Cred cred;
        char cname[64];
        char log_path[PATH_MAX + 64];
        char job_name[32];
        char warm_ready[EXAM_WARM_READY_MAX]; /* req.warm_ready's */
        char reservation[EXAM_RESV_ID_MAX]; /* an exam member's: the exam's reservation */
} SubmitRequest;

typedef struct SubmitOps {
        /* Fill in the request of instance's job as it starts (walltime_s as
         * vm.run gave it). -ENOENT: the instance is gone (vm.run rolled back
         * after queueing), the submission is dropped without an outcome;
         * another error is its outcome. */
        int (*request)(void *data, uint32_t instance, uint32_t walltime_s, SubmitRequest *ret, Error *err);
        /* How a submission ended: job (its id) or why it failed. Not called
         * for one cancelled meanwhile (a job it made is cancelled here). */
        void (*outcome)(void *data, uint32_t instance, const char *job, const char *why);
        void *data;
} SubmitOps;

typedef struct Submissions Submissions;

int submissions_new(EventLoop *loop, const BatchBackend *batch, const SubmitOps *ops, Submissions **ret,
                    Error *err);
/* A child still running is killed; a job it submitted meanwhile has no id
 * recorded: refused at attach and reconciled. */
void submissions_free(Submissions *s);

/* Queued inside vm.run's transaction, started from the event loop once the
 * request is done, so a rolled-back vm.run submits nothing. */
void submissions_queue(Submissions *s, uint32_t instance, uint32_t walltime_s);
/* instance's job is being submitted (its id is not known yet) */
bool submissions_pending(Submissions *s, uint32_t instance);
/* The instance ended: a waiting submission is dropped, a running one's job
 * is cancelled once its id is known. */
void submissions_cancel(Submissions *s, uint32_t instance);
/* scancel/qdel job of backend b in a worker too (a local job at once: a
 * kill(2)): an exam's end stops hundreds of queued VMs at once. */
void submissions_cancel_job(Submissions *s, const BatchBackend *b, const char *job);
