/* fleet_submit.c - submitting an instance's job without stopping the
 * daemon. sbatch and qsub take tens of milliseconds each (they ask the
 * scheduler's daemon); run inside a request they would hold every other
 * client (starters attaching, map lists) in line during an exam start. So
 * for a backend with slow_submit the daemon forks a child per job that runs
 * the backend's submit (or cancel) and writes the outcome to a pipe, at most
 * SUBMIT_PARALLEL at a time (the rest wait their turn). The child touches
 * nothing of the daemon's (no database, no event loop) and _exits.
 *
 * Meanwhile the instance is "submitted" with no job id yet: a starter that
 * comes that early is told to try again (EAGAIN), a stop cancels the job as
 * soon as its id is known, and the outcome either records the job id or
 * ends the instance with the scheduler's error as the reason. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

#include "basic/log.h"
#include "daemon/fleet-internal.h"

#define SUBMIT_PARALLEL 16
#define OUTCOME_MAX 1024

struct Submission {
        Fleet *fleet;
        uint32_t instance;   /* 0: a cancel (cancel_job) */
        const BatchBackend *backend;
        char cancel_job[64];
        uint32_t walltime_s; /* not stored in the row: kept from vm.run */
        bool cancelled;      /* stopped meanwhile: cancel the job once its id is known */
        pid_t pid;           /* 0: waiting for its turn */
        int fd;
        EventSource *source;
        char out[OUTCOME_MAX];
        size_t len;
        Submission *next;
};

Submission *submission_of(Fleet *f, uint32_t instance) {
        for (Submission *s = f->submissions; s; s = s->next)
                if (s->instance == instance && instance)
                        return s;
        return NULL;
}

static void submission_free(Fleet *f, Submission *s) {
        for (Submission **p = &f->submissions; *p; p = &(*p)->next)
                if (*p == s) {
                        *p = s->next;
                        break;
                }
        event_source_free(s->source);
        if (s->fd >= 0)
                close(s->fd);
        if (s->pid > 0)
                f->n_submitting--;
        free(s);
}

/* In the child: the backend's submit (or cancel) as it would run in the
 * request. The outcome line: "ok JOBID" or "error ERRNO MESSAGE". */
static _Noreturn void child_run(Submission *s, const BatchSubmit *req, int fd) {
        char job[64] = "-", line[OUTCOME_MAX];
        Error err = {0};
        int r = req ? s->backend->submit(req, job, sizeof(job), &err) : s->backend->cancel(s->cancel_job, &err);
        int n = r >= 0 ? snprintf(line, sizeof(line), "ok %s", job)
                       : snprintf(line, sizeof(line), "error %d %s", -r, err.message);
        if (n >= (int)sizeof(line))
                n = (int)sizeof(line) - 1;
        (void)!write(fd, line, (size_t)n);
        _exit(r >= 0 ? 0 : 1);
}

static void finish(Fleet *f, Submission *s) {
        int status = 0;
        waitpid(s->pid, &status, 0);
        s->out[s->len] = 0;
        if (s->backend->forget)
                s->backend->forget(); /* a listing cached before this job's submit or cancel is stale */
        if (!s->instance) {
                if (strncmp(s->out, "ok ", 3) != 0)
                        log_warn("cancelling job %s: %s", s->cancel_job, *s->out ? s->out : "the cancel died");
                submission_free(f, s);
                submission_next(f);
                return;
        }
        uint32_t id = s->instance;
        bool cancelled = s->cancelled;
        char job[64] = "";
        int code = 0;
        const char *message = "the submission died";
        if (strncmp(s->out, "ok ", 3) == 0 && strlen(s->out + 3) < sizeof(job))
                snprintf(job, sizeof(job), "%s", s->out + 3);
        else if (sscanf(s->out, "error %d", &code) == 1 && strchr(s->out + 6, ' '))
                message = strchr(s->out + 6, ' ') + 1;
        InstanceRec inst;
        Store *st = f->controller->store;
        bool exists = store_instance_get(st, id, &inst) == 0 && streq(inst.state, "submitted") && !*inst.job_id;
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
                char why[OUTCOME_MAX + 32];
                snprintf(why, sizeof(why), "submitting its job failed: %s", message);
                log_warn("instance %u: %s", id, why);
                submission_free(f, s);
                teardown(f, id, why);
                submission_next(f);
                return;
        }
        submission_free(f, s);
        submission_next(f);
}

static int on_outcome(EventSource *src, int fd, uint32_t events, void *userdata) {
        Submission *s = userdata;
        ssize_t n = read(fd, s->out + s->len, sizeof(s->out) - 1 - s->len);
        if (n > 0 && s->len + (size_t)n < sizeof(s->out) - 1) {
                s->len += (size_t)n;
                return 0;
        }
        if (n > 0)
                s->len += (size_t)n;
        else if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        finish(s->fleet, s); /* EOF (or the buffer is full): the child is done */
        return 0;
}

static int fork_child(Fleet *f, Submission *s, const BatchSubmit *req, Error *err) {
        int p[2], r;
        if (pipe2(p, O_CLOEXEC) < 0)
                return error_set(err, -errno, "pipe: %m");
        pid_t pid = fork();
        if (pid < 0) {
                r = -errno;
                close(p[0]);
                close(p[1]);
                return error_set(err, r, "fork: %s", strerror(-r));
        }
        if (pid == 0) {
                close(p[0]);
                child_run(s, req, p[1]);
        }
        close(p[1]);
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        s->pid = pid;
        s->fd = p[0];
        f->n_submitting++;
        if ((r = event_add_io(f->loop, s->fd, EPOLLIN, on_outcome, s, &s->source)) < 0)
                return error_set(err, r, "event loop: %s", strerror(-r));
        return 0;
}

static int start(Fleet *f, Submission *s, Error *err) {
        if (!s->instance)
                return fork_child(f, s, NULL, err);
        InstanceRec inst;
        Cred cred;
        char cname[64];
        int r;
        if (store_instance_get(f->controller->store, s->instance, &inst) < 0)
                return error_set(err, -ENOENT, "instance %u is gone", s->instance);
        if ((r = cred_from_uid(inst.uid, &cred, cname, sizeof(cname), err)) < 0)
                return r;
        char log_path[PATH_MAX + 64], job_name[32];
        BatchSubmit req;
        inst.walltime_s = s->walltime_s;
        batch_request(f, &inst, &cred, log_path, sizeof(log_path), job_name, &req);
        return fork_child(f, s, &req, err);
}

/* Start waiting submissions while there is room. */
void submission_next(Fleet *f) {
        for (;;) {
                Submission *s = NULL;
                for (Submission *i = f->submissions; i; i = i->next)
                        if (!i->pid)
                                s = i; /* the list is newest first: the last waiting is the oldest */
                if (!s || f->n_submitting >= SUBMIT_PARALLEL)
                        return;
                Error err = {0};
                if (start(f, s, &err) < 0) {
                        uint32_t id = s->instance;
                        if (!id) {
                                log_warn("cannot cancel job %s: %s", s->cancel_job, err.message);
                                submission_free(f, s);
                                continue;
                        }
                        char why[600];
                        snprintf(why, sizeof(why), "cannot submit its job: %s", err.message);
                        if (s->pid > 0) {
                                kill(s->pid, SIGKILL);
                                waitpid(s->pid, NULL, 0);
                        }
                        submission_free(f, s);
                        teardown(f, id, why);
                }
        }
}

/* A waiting entry, started by the kick once the current request is done. */
static Submission *submission_new(Fleet *f, const BatchBackend *b) {
        Submission *s = xcalloc(1, sizeof(*s));
        s->fleet = f;
        s->backend = b;
        s->fd = -1;
        s->next = f->submissions;
        f->submissions = s;
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
                if (!s->pid && s->instance && store_instance_get(f->controller->store, s->instance, &inst) < 0)
                        submission_free(f, s);
        }
        submission_next(f);
        return 0;
}

int submissions_init(Fleet *f, Error *err) {
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
        if (!s->pid)
                submission_free(f, s); /* not started: nothing to undo */
        else
                s->cancelled = true;
}

void submissions_free(Fleet *f) {
        /* children still running finish on their own; their jobs end up
         * refused at attach (no job id recorded) and reconciled */
        while (f->submissions)
                submission_free(f, f->submissions);
        event_source_free(f->kick);
        if (f->kick_fd >= 0)
                close(f->kick_fd);
}
