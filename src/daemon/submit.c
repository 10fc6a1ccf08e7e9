/* submit.c - jobs submitted and cancelled in worker processes. See
 * submit.h. */
#include "daemon/submit.h"

#include <stdio.h>

#include "basic/log.h"
#include "basic/worker.h"

typedef struct Submission {
        Submissions *owner;
        uint32_t instance; /* 0: a cancel (cancel_job) */
        const BatchBackend *backend;
        char cancel_job[64];
        uint32_t walltime_s; /* not stored in the row: kept from vm.run */
        bool cancelled;      /* the instance ended meanwhile: cancel the job once its id is known */
        WorkerJob *worker;   /* NULL: waiting for its turn */
        bool has_req;
        SubmitRequest req; /* made when it is handed to a worker */
        struct Submission *next;
} Submission;

struct Submissions {
        EventLoop *loop;
        const BatchBackend *batch;
        SubmitOps ops;
        Workers *workers;
        Submission *list; /* in the order they were queued */
        EventSource *kick; /* start what waits, from the loop */
};

static Submission *submission_of(Submissions *ss, uint32_t instance) {
        for (Submission *s = ss->list; s && instance; s = s->next)
                if (s->instance == instance)
                        return s;
        return NULL;
}

bool submissions_pending(Submissions *ss, uint32_t instance) { return submission_of(ss, instance) != NULL; }

/* Forget s; a child still running is killed (its outcome would be lost). */
static void submission_free(Submission *s) {
        for (Submission **p = &s->owner->list; *p; p = &(*p)->next)
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
        int r = s->has_req ? s->backend->submit(&s->req.req, job, sizeof(job), &err)
                           : s->backend->cancel(s->cancel_job, &err);
        if (r >= 0)
                fprintf(out, "ok %s", job);
        else
                fprintf(out, "error %d %s", -r, err.message);
}

static int on_kick(EventSource *src, void *userdata);

static void kick(Submissions *ss) {
        if (!ss->kick)
                event_add_timer_once(ss->loop, 0, on_kick, ss, &ss->kick);
}

static void on_outcome(void *userdata, const char *out, int status) {
        Submission *s = userdata;
        Submissions *ss = s->owner;
        uint32_t id = s->instance;
        s->worker = NULL; /* done: nothing left to cancel */
        if (s->backend->forget)
                s->backend->forget(); /* a listing cached before this job's submit or cancel is stale */
        char job[64] = "";
        const char *message = "the submission died";
        int code = 0;
        if (strncmp(out, "ok ", 3) == 0 && strlen(out + 3) < sizeof(job))
                snprintf(job, sizeof(job), "%s", out + 3);
        else if (sscanf(out, "error %d", &code) == 1 && strchr(out + 6, ' '))
                message = strchr(out + 6, ' ') + 1;
        char why[1024 + 32]; /* the scheduler's message, as much as was kept before */
        snprintf(why, sizeof(why), "%s: %s", id ? "submitting its job failed" : "cancelling a job", message);
        bool cancelled = s->cancelled;
        if (!id && !*job)
                log_warn("cancelling job %s: %s", s->cancel_job, message);
        submission_free(s);
        if (id && cancelled && *job) {
                log_info("instance %u: cancelling job %s (stopped while it was submitted)", id, job);
                submissions_cancel_job(ss, ss->batch, job);
        } else if (id && !cancelled)
                ss->ops.outcome(ss->ops.data, id, *job ? job : NULL, *job ? NULL : why);
}

/* Hand the waiting submissions to the workers, oldest first (SUBMIT_PARALLEL
 * run at once, the rest wait there in order). */
static void start_waiting(Submissions *ss) {
        for (Submission *s = ss->list, *next; s; s = next) {
                next = s->next;
                if (s->worker)
                        continue;
                Error err = {0};
                int r = 0;
                if (s->instance && !s->has_req) {
                        r = ss->ops.request(ss->ops.data, s->instance, s->walltime_s, &s->req, &err);
                        s->has_req = r >= 0;
                }
                if (r >= 0 && !(s->worker = worker_queue(ss->workers, child_run, s, on_outcome, s)))
                        r = error_set(&err, -EAGAIN, "cannot start a worker process");
                if (r >= 0)
                        continue;
                uint32_t id = s->instance;
                submission_free(s);
                if (!id)
                        log_warn("cannot cancel a job: %s", err.message);
                else if (r != -ENOENT) {
                        char why[600];
                        snprintf(why, sizeof(why), "cannot submit its job: %s", err.message);
                        ss->ops.outcome(ss->ops.data, id, NULL, why);
                        next = ss->list; /* the outcome may have changed the list */
                }
        }
}

static int on_kick(EventSource *src, void *userdata) {
        Submissions *ss = userdata;
        event_source_free(TAKE_PTR(ss->kick));
        start_waiting(ss);
        return 0;
}

static Submission *submission_new(Submissions *ss, const BatchBackend *b) {
        Submission *s = xcalloc(1, sizeof(*s));
        s->owner = ss;
        s->backend = b;
        Submission **tail = &ss->list;
        while (*tail)
                tail = &(*tail)->next;
        *tail = s;
        kick(ss);
        return s;
}

void submissions_queue(Submissions *ss, uint32_t instance, uint32_t walltime_s) {
        Submission *s = submission_new(ss, ss->batch);
        s->instance = instance;
        s->walltime_s = walltime_s;
}

void submissions_cancel_job(Submissions *ss, const BatchBackend *b, const char *job) {
        if (!b || isempty(job) || strlen(job) >= sizeof(((Submission *)NULL)->cancel_job))
                return;
        if (!b->slow_submit) { /* local: a kill(2) */
                Error err = {0};
                if (b->cancel(job, &err) < 0)
                        log_warn("cancelling job %s: %s", job, err.message);
                return;
        }
        Submission *s = submission_new(ss, b);
        snprintf(s->cancel_job, sizeof(s->cancel_job), "%s", job);
}

void submissions_cancel(Submissions *ss, uint32_t instance) {
        Submission *s = submission_of(ss, instance);
        if (!s)
                return;
        if (!s->worker)
                submission_free(s); /* not started: nothing to undo */
        else
                s->cancelled = true;
}

int submissions_new(EventLoop *loop, const BatchBackend *batch, const SubmitOps *ops, Submissions **ret,
                    Error *err) {
        Submissions *ss = xcalloc(1, sizeof(*ss));
        ss->loop = loop;
        ss->batch = batch;
        ss->ops = *ops;
        int r = workers_new(loop, SUBMIT_PARALLEL, &ss->workers);
        if (r < 0) {
                free(ss);
                return error_set(err, r, "workers: %s", strerror(-r));
        }
        *ret = ss;
        return 0;
}

void submissions_free(Submissions *ss) {
        if (!ss)
                return;
        while (ss->list)
                submission_free(ss->list);
        workers_free(ss->workers);
        event_source_free(ss->kick);
        free(ss);
}
