/* fleet_submit.c - submitting an instance's job without stopping the
 * daemon. sbatch and qsub take tens of milliseconds each (they ask the
 * scheduler's daemon); run inside a request they would hold every other
 * client (starters attaching, map lists) in line during an exam start. So
 * for a backend with slow_submit each job's submit (or cancel) runs in a
 * worker process (basic/worker.h), at most SUBMIT_PARALLEL at a time (the
 * rest wait their turn), which writes the outcome and _exits; it touches
 * nothing of the daemon's (no database, no event loop, no fd).
 *
 * Meanwhile the instance is "submitted" with no job id yet: a starter that
 * comes that early is told to try again (EAGAIN), a stop cancels the job as
 * soon as its id is known, and the outcome either records the job id or
 * ends the instance with the scheduler's error as the reason. */
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "basic/log.h"
#include "basic/worker.h"
#include "daemon/fleet-internal.h"

#define SUBMIT_PARALLEL 16

struct Submission {
        Fleet *fleet;
        uint32_t instance;   /* 0: a cancel (cancel_job) */
        const BatchBackend *backend;
        char cancel_job[64];
        uint32_t walltime_s; /* not stored in the row: kept from vm.run */
        bool cancelled;      /* stopped meanwhile: cancel the job once its id is known */
        WorkerJob *worker;   /* NULL: waiting for the kick */
        /* the request the child sends, made when it is queued */
        bool has_req;
        InstanceRec inst;
        Cred cred;
        char cname[64];
        char log_path[PATH_MAX + 64];
        char job_name[32];
        BatchSubmit req;
        Submission *next;
};

Submission *submission_of(Fleet *f, uint32_t instance) {
        for (Submission *s = f->submissions; s; s = s->next)
                if (s->instance == instance && instance)
                        return s;
        return NULL;
}

/* Forget s; a child still running is killed (its outcome would be lost). */
static void submission_free(Fleet *f, Submission *s) {
        for (Submission **p = &f->submissions; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        break;
                }
        worker_cancel(s->worker);
        free(s);
}

/* In the child: the backend's submit (or cancel) as it would run in the
 * request. The outcome: "ok JOBID" or "error ERRNO MESSAGE". */
static void child_run(void *arg, FILE *out) {
        Submission *s = arg;
        char job[64] = "-";
        Error err = {0};
        int r = s->has_req ? s->backend->submit(&s->req, job, sizeof(job), &err) : s->backend->cancel(s->cancel_job, &err);
        if (r >= 0)
                fprintf(out, "ok %s", job);
        else
                fprintf(out, "error %d %s", -r, err.message);
}

static void on_outcome(void *userdata, const char *out, int status) {
        Submission *s = userdata;
        Fleet *f = s->fleet;
        s->worker = NULL; /* done: nothing left to cancel */
        if (s->backend->forget)
                s->backend->forget(); /* a listing cached before this job's submit or cancel is stale */
        if (!s->instance) {
                if (strncmp(out, "ok ", 3) != 0)
                        log_warn("cancelling job %s: %s", s->cancel_job, *out ? out : "the cancel died");
                submission_free(f, s);
                return;
        }
        uint32_t id = s->instance;
        bool cancelled = s->cancelled;
        char job[64] = "";
        int code = 0;
        const char *message = "the submission died";
        if (strncmp(out, "ok ", 3) == 0 && strlen(out + 3) < sizeof(job))
                snprintf(job, sizeof(job), "%s", out + 3);
        else if (sscanf(out, "error %d", &code) == 1 && strchr(out + 6, ' '))
                message = strchr(out + 6, ' ') + 1;
        InstanceRec inst;
        Store *st = f->controller->store;
        bool exists = store_instance_get(st, id, &inst) == 0 && inst.state == INSTANCE_SUBMITTED && !*inst.job_id;
        if (*job && (cancelled || !exists)) {
                log_info("instance %u: cancelling job %s (stopped while it was submitted)", id, job);
                batch_cancel_later(f, f->batch, job);
        } else if (*job) {
                Error err = {0};
                snprintf(inst.job_id, sizeof(inst.job_id), "%s", job);
                int r = store_begin(st, &err);
                if (r >= 0 && (r = store_instance_update(st, &inst, &err)) >= 0)
                        r = store_commit(st, &err);
                if (r < 0) {
                        store_rollback(st);
                        log_error("instance %u: cannot record job %s: %s", id, job, err.message);
                } else
                        log_info("instance %u submitted to %s as job %s", id, f->batch->name, job);
        } else if (exists) {
                char why[1024 + 32]; /* the scheduler's message, as much as was kept before */
                snprintf(why, sizeof(why), "submitting its job failed: %s", message);
                log_warn("instance %u: %s", id, why);
                submission_free(f, s);
                teardown(f, id, why);
                return;
        }
        submission_free(f, s);
}

/* The request of an instance's submission, from its row. */
static int make_request(Fleet *f, Submission *s, Error *err) {
        if (store_instance_get(f->controller->store, s->instance, &s->inst) < 0)
                return error_set(err, -ENOENT, "instance %u is gone", s->instance);
        int r = cred_from_uid(s->inst.uid, &s->cred, s->cname, sizeof(s->cname), err);
        if (r < 0)
                return r;
        s->inst.walltime_s = s->walltime_s;
        batch_request(f, &s->inst, &s->cred, s->log_path, sizeof(s->log_path), s->job_name, &s->req);
        s->has_req = true;
        return 0;
}

/* Hand the waiting submissions to the workers, oldest first (SUBMIT_PARALLEL
 * run at once, the rest wait there in order). */
void submission_next(Fleet *f) {
        for (Submission *s = f->submissions, *next; s; s = next) {
                next = s->next;
                if (s->worker)
                        continue;
                Error err = {0};
                int r = s->instance ? make_request(f, s, &err) : 0;
                if (r >= 0 && !(s->worker = worker_queue(f->submit_workers, child_run, s, on_outcome, s)))
                        r = error_set(&err, -EAGAIN, "cannot start a worker process");
                if (r >= 0)
                        continue;
                uint32_t id = s->instance;
                submission_free(f, s);
                if (!id) {
                        log_warn("cannot cancel a job: %s", err.message);
                        continue;
                }
                char why[600];
                snprintf(why, sizeof(why), "cannot submit its job: %s", err.message);
                teardown(f, id, why);
                next = f->submissions; /* teardown may have changed the list */
        }
}

/* A waiting entry, started by the kick once the current request is done.
 * The list is in submission order: the oldest is handed to a worker first. */
static Submission *submission_new(Fleet *f, const BatchBackend *b) {
        Submission *s = xcalloc(1, sizeof(*s));
        s->fleet = f;
        s->backend = b;
        Submission **tail = &f->submissions;
        while (*tail)
                tail = &(*tail)->next;
        *tail = s;
        uint64_t one = 1;
        (void)!write(f->kick_fd, &one, sizeof(one));
        return s;
}

/* Queued inside vm.run's transaction; started from the event loop once the
 * request is done, so a rolled-back vm.run never submits anything. */
void submission_queue(Fleet *f, const InstanceRec *inst) {
        Submission *s = submission_new(f, f->batch);
        s->instance = inst->id;
        s->walltime_s = inst->walltime_s;
}

/* Cancels go the same way: scancel/qdel take as long as sbatch/qsub, and
 * an exam's end stops hundreds of queued vms at once. */
void batch_cancel_later(Fleet *f, const BatchBackend *b, const char *job) {
        if (!b || isempty(job) || strlen(job) >= sizeof(((Submission *)NULL)->cancel_job))
                return;
        if (!b->slow_submit) { /* local: a kill(2) */
                Error err = {0};
                if (b->cancel(job, &err) < 0)
                        log_warn("cancelling job %s: %s", job, err.message);
                return;
        }
        Submission *s = submission_new(f, b);
        snprintf(s->cancel_job, sizeof(s->cancel_job), "%s", job);
}

static int on_kick(EventSource *src, int fd, uint32_t events, void *userdata) {
        uint64_t n;
        (void)!read(fd, &n, sizeof(n));
        Fleet *f = userdata;
        /* a vm.run rolled back after queueing: its row is not there */
        for (Submission *s = f->submissions, *next; s; s = next) {
                next = s->next;
                InstanceRec inst;
                if (!s->worker && s->instance && store_instance_get(f->controller->store, s->instance, &inst) < 0)
                        submission_free(f, s);
        }
        submission_next(f);
        return 0;
}

int submissions_init(Fleet *f, Error *err) {
        workers_new(f->loop, SUBMIT_PARALLEL, &f->submit_workers);
        f->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (f->kick_fd < 0)
                return error_set(err, -errno, "eventfd: %m");
        int r = event_add_io(f->loop, f->kick_fd, EPOLLIN, on_kick, f, &f->kick);
        return r < 0 ? error_set(err, r, "event loop: %s", strerror(-r)) : 0;
}

void submission_cancel(Fleet *f, uint32_t instance) {
        Submission *s = submission_of(f, instance);
        if (!s)
                return;
        if (!s->worker)
                submission_free(f, s); /* not started: nothing to undo */
        else
                s->cancelled = true;
}

void submissions_free(Fleet *f) {
        /* a child still running is killed; a job it submitted meanwhile has
         * no job id recorded: refused at attach and reconciled */
        while (f->submissions)
                submission_free(f, f->submissions);
        workers_free(f->submit_workers);
        event_source_free(f->kick);
        if (f->kick_fd >= 0)
                close(f->kick_fd);
}
