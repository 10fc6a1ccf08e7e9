/* jobs.c - see jobs.h. */
#include "daemon/jobs.h"

#include <inttypes.h>

#include "basic/jsonutil.h"
#include "basic/log.h"
#include "basic/worker.h"

struct JobsPending {
        Jobs *jobs;
        ControllerJob *job;
        uint32_t uid;
        WorkerJob *worker;
        jobs_deliver_fn deliver;
        void *ctx;
        uint64_t started_usec; /* when its worker was queued */
        JobsPending *prev, *next;
};

struct Jobs {
        Controller *controller;
        Workers *workers;
        JobsPending *pending;
};

int jobs_new(EventLoop *loop, Controller *controller, Jobs **ret) {
        Jobs *j = xcalloc(1, sizeof(*j));
        j->controller = controller;
        int r = workers_new(loop, JOBS_MAX, &j->workers);
        if (r < 0) {
                free(j);
                return r;
        }
        *ret = j;
        return 0;
}

static void pending_free(JobsPending *p) {
        if (p->prev)
                p->prev->next = p->next;
        else
                p->jobs->pending = p->next;
        if (p->next)
                p->next->prev = p->prev;
        controller_job_free(p->job);
        free(p);
}

void jobs_free(Jobs *j) {
        if (!j)
                return;
        workers_free(j->workers); /* kills the running ones; no done callbacks */
        while (j->pending)
                pending_free(j->pending);
        free(j);
}

static void run(void *arg, FILE *out) {
        controller_job_run(arg, out);
}

static void start_next(Jobs *j, uint32_t uid);

static void done(void *userdata, const char *output, int status) {
        JobsPending *p = userdata;
        ControllerJob *job = TAKE_PTR(p->job);
        const char *op = controller_job_op(job);
        uint64_t ms = (now_usec() - p->started_usec) / 1000;
        if (status != 0)
                log_warn("uid %u: %s: its worker ended with status %d after %" PRIu64 " ms", p->uid, op, status, ms);
        json_t *resp = controller_job_finish(p->jobs->controller, job, output);
        log_debug("uid %u: %s answered after %" PRIu64 " ms in a worker", p->uid, op, ms);
        Jobs *j = p->jobs;
        uint32_t uid = p->uid;
        jobs_deliver_fn deliver = p->deliver;
        void *ctx = p->ctx;
        pending_free(p);
        if (deliver)
                deliver(ctx, resp);
        else
                json_decref(resp);
        start_next(j, uid);
}

static unsigned count(const Jobs *j, uint32_t uid, bool running) {
        unsigned n = 0;
        for (const JobsPending *p = j->pending; p; p = p->next)
                n += p->uid == uid && !!p->worker == running;
        return n;
}

static int start(JobsPending *p) {
        p->started_usec = now_usec();
        p->worker = worker_queue(p->jobs->workers, run, p->job, done, p);
        return p->worker ? 0 : -EAGAIN;
}

/* A job of uid ended: the oldest of uid's waiting ones may run. */
static void start_next(Jobs *j, uint32_t uid) {
        if (count(j, uid, true) >= JOBS_PER_USER)
                return;
        JobsPending *oldest = NULL;
        for (JobsPending *p = j->pending; p; p = p->next) /* newest first */
                if (p->uid == uid && !p->worker)
                        oldest = p;
        if (oldest && start(oldest) < 0) {
                if (oldest->deliver)
                        oldest->deliver(oldest->ctx, json_error_response(-EAGAIN, "cannot start a worker process"));
                pending_free(oldest);
        }
}

JobsPending *jobs_run(Jobs *j, ControllerJob *job, jobs_deliver_fn deliver, void *ctx, json_t **ret_refusal) {
        uint32_t uid = controller_job_uid(job);
        bool now = count(j, uid, true) < JOBS_PER_USER;
        if (!now && count(j, uid, false) >= JOBS_WAITING_PER_USER) {
                *ret_refusal = json_error_response(-EBUSY, "you have %u disc operations waiting already: try again "
                                                   "when yours have ended", JOBS_WAITING_PER_USER);
                controller_job_free(job);
                return NULL;
        }
        JobsPending *p = xcalloc(1, sizeof(*p));
        *p = (JobsPending){.jobs = j, .job = job, .uid = uid, .deliver = deliver, .ctx = ctx, .next = j->pending};
        if (j->pending)
                j->pending->prev = p;
        j->pending = p;
        if (now && start(p) < 0) {
                *ret_refusal = json_error_response(-EAGAIN, "cannot start a worker process: try again");
                pending_free(p);
                return NULL;
        }
        return p;
}

void jobs_forget_client(JobsPending *p) {
        if (p) {
                p->deliver = NULL;
                p->ctx = NULL;
        }
}
