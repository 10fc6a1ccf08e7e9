/* exam_reservation.c - exams' reservations of the scheduler's nodes, kept
 * in line with the exams. See exam_reservation.h. */
#include "daemon/exam_reservation.h"

#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <time.h>

#include "basic/log.h"
#include "basic/worker.h"
#include "batch/reservation.h"
#include "core/exam.h"
#include "core/ops_exam.h"

#define TICK_MS 1000
#define RETRY_MS 60000     /* a failed create or update is tried again after this */
#define BUSY_RETRY_MS 5000 /* a delete refused while jobs are in it */
#define WORKERS 2

typedef enum ResvOpKind { RESV_CREATE, RESV_UPDATE, RESV_DELETE } ResvOpKind;

/* One exam's command, or its wait before the next try. */
typedef struct ResvOp {
        struct ExamReservations *owner;
        uint32_t exam;
        ResvOpKind kind;
        char id[BATCH_RESV_ID_MAX]; /* create: the name to make; else the scheduler's id */
        int64_t start, end;
        bool with_start;
        uint32_t *uids; /* the users, as uids: their names are looked up in the worker (NSS may block) */
        size_t n_uids;
        WorkerJob *job;     /* under way; NULL: waiting until not_before */
        int64_t not_before; /* ms */
        struct ResvOp *next;
} ResvOp;

struct ExamReservations {
        EventLoop *loop;
        Controller *c;
        const BatchReserver *reserver;
        Workers *workers;
        EventSource *tick;
        ResvOp *ops;
};

/* ---- pure ---- */

void exam_resv_window(const ExamRec *e, const ExamMemberRec *m, size_t n, uint32_t lead_s, int64_t *ret_start,
                      int64_t *ret_end) {
        int64_t end = e->end;
        /* an ended exam (stopped: its end is the stop) has no later deadline */
        for (size_t i = 0; i < n && e->state != EXAM_ENDED; i++) {
                int64_t d = exam_deadline(e->end, m[i].extra_minutes);
                end = d > end ? d : end;
        }
        *ret_start = e->start - (int64_t)lead_s;
        *ret_end = end + EXAM_RESV_END_GRACE_S;
}

void exam_resv_name(const char *exam, char *buf, size_t len) { snprintf(buf, len, "vmbatch-exam-%s", exam); }

/* ---- the worker ---- */

static const char *const kind_name[] = {[RESV_CREATE] = "create", [RESV_UPDATE] = "update", [RESV_DELETE] = "delete"};

/* In the child: the command; "ok ID MS" or "error ERRNO MESSAGE". */
static void op_run(void *arg, FILE *out) {
        ResvOp *op = arg;
        const BatchReserver *rv = op->owner->reserver;
        Error err = {0};
        char id[BATCH_RESV_ID_MAX];
        snprintf(id, sizeof(id), "%s", op->id);
        const char **users = xcalloc(op->n_uids + 1, sizeof(char *));
        size_t n = 0;
        for (size_t i = 0; i < op->n_uids; i++) {
                struct passwd *pw = getpwuid(op->uids[i]); /* a child of its own: no reentrancy to fear */
                if (!pw) {
                        fprintf(out, "error %d uid %u has no user name on this host", ENOENT, op->uids[i]);
                        return;
                }
                users[n++] = xstrdup(pw->pw_name);
        }
        const char *queue = op->owner->c->settings->batch_queue;
        BatchReservation r = {.name = op->id, .start = op->start, .end = op->end, .users = users,
                              .queue = isempty(queue) ? NULL : queue};
        int64_t t0 = wall_ms();
        int e = op->kind == RESV_CREATE   ? rv->create(&r, id, sizeof(id), &err)
                : op->kind == RESV_UPDATE ? rv->update(op->id, &r, op->with_start, &err)
                                          : rv->remove(op->id, &err);
        if (e < 0)
                fprintf(out, "error %d %s", -e, err.message);
        else
                fprintf(out, "ok %s %" PRId64, id, wall_ms() - t0);
}

/* ---- the outcome, in the loop ---- */

static void op_free(ExamReservations *x, ResvOp *op) {
        for (ResvOp **p = &x->ops; *p; p = &(*p)->next)
                if (*p == op) {
                        *p = op->next;
                        break;
                }
        worker_cancel(op->job);
        free(op->uids);
        free(op);
}

static ResvOp *op_of(ExamReservations *x, uint32_t exam) {
        for (ResvOp *op = x->ops; op; op = op->next)
                if (op->exam == exam)
                        return op;
        return NULL;
}

/* Record what op's command did; an op that must be tried again stays (as a
 * wait), one that is done goes. */
static void record(ExamReservations *x, ResvOp *op, const char *output, int status) {
        Store *s = x->c->store;
        Error err = {0};
        ExamRec e;
        ExamResvRec r;
        char id[BATCH_RESV_ID_MAX] = "", why[600] = "";
        int64_t ms = 0;
        int code = 0, used = 0;
        bool ok = sscanf(output, "ok %95s %" SCNd64, id, &ms) == 2;
        if (!ok && sscanf(output, "error %d %n", &code, &used) == 1 && used > 0)
                snprintf(why, sizeof(why), "%s", output + used);
        else if (!ok)
                snprintf(why, sizeof(why), "the reservation's worker died (status %d)", status);
        if (store_begin(s, &err) < 0 || store_exam_get(s, op->exam, &e) < 0 ||
            store_exam_resv_get(s, op->exam, &r) < 0) {
                store_rollback(s);
                op_free(x, op);
                return;
        }
        const char *kind = kind_name[op->kind];
        json_t *detail = json_pack("{s:s, s:s}", "action", kind, "backend", x->reserver->backend);
        bool again = false, changed = true;
        if (ok) {
                json_object_set_new(detail, "reservation", json_string(id));
                json_object_set_new(detail, "ms", json_integer(ms));
                if (op->kind == RESV_DELETE) {
                        r.state = EXAM_RESV_RELEASED;
                        log_info("exam %s: reservation %s deleted (%" PRId64 " ms)", e.name, r.id, ms);
                } else {
                        if (op->kind == RESV_CREATE) {
                                r.state = EXAM_RESV_HELD;
                                snprintf(r.backend, sizeof(r.backend), "%s", x->reserver->backend);
                                snprintf(r.id, sizeof(r.id), "%s", id);
                                r.create_ms = ms;
                        }
                        if (op->kind == RESV_CREATE || op->with_start)
                                r.start = op->start > wall_ms() / 1000 ? op->start : wall_ms() / 1000;
                        r.end = op->end;
                        json_object_set_new(detail, "start", json_integer(r.start));
                        json_object_set_new(detail, "end", json_integer(r.end));
                        log_info("exam %s: reservation %s %s for %" PRId64 "..%" PRId64 " (%" PRId64 " ms)", e.name,
                                 r.id, op->kind == RESV_CREATE ? "created" : "updated", r.start, r.end, ms);
                }
                r.error[0] = 0;
        } else if (op->kind == RESV_DELETE && code == EBUSY) {
                /* its jobs (the members' paused VMs) are still in it: Slurm
                 * ends them with it at its end, then it is gone */
                changed = false;
                again = true;
                op->not_before = wall_ms() + BUSY_RETRY_MS;
        } else if (op->kind == RESV_CREATE && code == EEXIST) {
                /* ours from before (made, then vmbatchd stopped before it
                 * recorded it): held, and the next pass sets its window */
                r.state = EXAM_RESV_HELD;
                snprintf(r.backend, sizeof(r.backend), "%s", x->reserver->backend);
                snprintf(r.id, sizeof(r.id), "%s", op->id);
                r.start = op->start;
                r.end = 0;
                r.error[0] = 0;
                json_object_set_new(detail, "reservation", json_string(op->id));
                json_object_set_new(detail, "adopted", json_true());
                log_info("exam %s: reservation %s exists already: adopted", e.name, op->id);
        } else {
                char text[sizeof(r.error)];
                snprintf(text, sizeof(text), "%s %s: %s", kind, r.id[0] ? r.id : op->id, why);
                changed = strcmp(r.error, text) != 0; /* the same failure again: audited and logged once */
                memcpy(r.error, text, sizeof(text));
                if (op->kind == RESV_CREATE) {
                        r.state = EXAM_RESV_FAILED;
                        snprintf(r.backend, sizeof(r.backend), "%s", x->reserver->backend);
                }
                else if (op->kind == RESV_UPDATE && code == ENOENT)
                        r.state = EXAM_RESV_RELEASED; /* the scheduler has none of that name any more */
                json_object_set_new(detail, "error", json_string(why));
                if (changed)
                        log_warn("exam %s: cannot %s its reservation: %s", e.name, kind, why);
                again = r.state != EXAM_RESV_RELEASED;
                op->not_before = wall_ms() + RETRY_MS;
        }
        if (changed)
                exam_audit(s, "exam.reservation", &e, (uint32_t)-1, json_incref(detail));
        json_decref(detail);
        if (store_exam_resv_set(s, e.id, &r, &err) < 0 || store_commit(s, &err) < 0) {
                store_rollback(s);
                log_error("exam %s: cannot record its reservation: %s", e.name, err.message);
        }
        if (!again)
                op_free(x, op);
}

static void reconcile(ExamReservations *x);

static void op_done(void *userdata, const char *output, int status) {
        ResvOp *op = userdata;
        ExamReservations *x = op->owner;
        op->job = NULL;
        record(x, op, output, status);
        reconcile(x);
}

/* ---- what each exam needs ---- */

static void start_op(ExamReservations *x, const ExamRec *e, ResvOpKind kind, const ExamResvRec *r, int64_t start,
                     int64_t end, const ExamMemberRec *m, size_t n) {
        ResvOp *op = op_of(x, e->id);
        if (!op) {
                op = xcalloc(1, sizeof(*op));
                *op = (ResvOp){.owner = x, .exam = e->id, .next = x->ops};
                x->ops = op;
        }
        op->kind = kind;
        op->start = start;
        op->end = end;
        op->with_start = kind == RESV_CREATE || (r->start > time(NULL) && start != r->start);
        if (kind == RESV_CREATE)
                exam_resv_name(e->name, op->id, sizeof(op->id));
        else
                snprintf(op->id, sizeof(op->id), "%s", r->id);
        free(op->uids);
        op->uids = xcalloc(n + 1, sizeof(uint32_t));
        op->n_uids = 0;
        op->uids[op->n_uids++] = e->owner; /* the teacher: may run an exam vm to look */
        for (size_t i = 0; i < n; i++)
                if (m[i].uid != e->owner)
                        op->uids[op->n_uids++] = m[i].uid;
        if (!(op->job = worker_queue(x->workers, op_run, op, op_done, op))) {
                log_warn("exam %s: cannot start a worker for its reservation", e->name);
                op->not_before = wall_ms() + BUSY_RETRY_MS;
        }
}

static void reconcile_exam(ExamReservations *x, const ExamRec *e, int64_t now) {
        Store *s = x->c->store;
        ResvOp *op = op_of(x, e->id);
        if (op && (op->job || now < op->not_before))
                return; /* one command at a time; a failed one waits */
        ExamResvRec r;
        _cleanup_free_ ExamMemberRec *m = NULL;
        size_t n = 0;
        if (store_exam_resv_get(s, e->id, &r) < 0 || store_exam_members(s, e->id, &m, &n) < 0)
                return;
        int64_t start, end;
        exam_resv_window(e, m, n, x->c->settings->exam_warm_lead_s, &start, &end);
        bool want = e->state != EXAM_ENDED && end > now / 1000;
        bool ours = isempty(r.backend) || streq(r.backend, x->reserver->backend);
        if (want && (r.state == EXAM_RESV_NONE || r.state == EXAM_RESV_FAILED))
                start_op(x, e, RESV_CREATE, &r, start, end, m, n);
        /* held: a moved deadline or start moves it; an exam stopped early
         * shrinks it first (its paused VMs' jobs keep Slurm from deleting
         * it: it ends them at its end) */
        else if (r.state == EXAM_RESV_HELD && ours && (want || (r.end > end && end > now / 1000)) &&
                 (r.end != end || (r.start > now / 1000 && start < r.start)))
                start_op(x, e, RESV_UPDATE, &r, start, end, m, n);
        else if (!want && r.state == EXAM_RESV_HELD && ours)
                start_op(x, e, RESV_DELETE, &r, start, end, m, n);
        else if (op)
                op_free(x, op); /* nothing to do any more */
}

static void reconcile(ExamReservations *x) {
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0;
        if (store_exam_ids(x->c->store, -1, &ids, &n) < 0)
                return;
        int64_t now = wall_ms();
        for (size_t i = 0; i < n; i++) {
                ExamRec e;
                if (store_exam_get(x->c->store, ids[i], &e) == 0)
                        reconcile_exam(x, &e, now);
        }
}

static int on_tick(EventSource *src, void *userdata) {
        reconcile(userdata);
        return 0;
}

int exam_reservations_new(EventLoop *loop, Controller *controller, ExamReservations **ret, Error *err) {
        *ret = NULL;
        const BatchReserver *rv = batch_reserver_find(controller->settings->batch_backend);
        if (!rv)
                return 0;
        ExamReservations *x = xcalloc(1, sizeof(*x));
        *x = (ExamReservations){.loop = loop, .c = controller, .reserver = rv};
        int r = workers_new(loop, WORKERS, &x->workers);
        if (r >= 0)
                r = event_add_timer(loop, TICK_MS, on_tick, x, &x->tick);
        if (r < 0) {
                exam_reservations_free(x);
                return error_set(err, r, "exam reservations: %s", strerror(-r));
        }
        reconcile(x);
        *ret = x;
        return 0;
}

void exam_reservations_free(ExamReservations *x) {
        if (!x)
                return;
        while (x->ops)
                op_free(x, x->ops);
        event_source_free(x->tick);
        workers_free(x->workers);
        free(x);
}
