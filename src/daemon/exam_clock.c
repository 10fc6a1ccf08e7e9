/* exam_clock.c - exams' start times and deadlines: freeze, then seal. See
 * exam_clock.h. */
#include "daemon/exam_clock.h"

#include <stdio.h>
#include <time.h>

#include "basic/log.h"
#include "basic/worker.h"
#include "batch/reservation.h"
#include "core/exam.h"
#include "core/ops_exam.h"
#include "core/ops_exam_selftest.h"
#include "disk/seal.h"
#include "store/exam_resv.h"
#include "store/exams.h"

#define TICK_MS 500
#define WAIT_POLL_MS 20      /* while a frozen VM is not yet paused: how often to look */
#define PAUSE_WAIT_MS 15000  /* a monitor that does not pause its VM by then: the VM is killed */
#define SEAL_RETRY_MS 60000  /* a failed seal is tried again after this */
#define SEAL_WORKERS 4

/* A frozen member, until its seal is recorded. */
typedef struct Frozen {
        struct ExamClock *clock;
        uint32_t exam, uid;
        int64_t since_ms;
        bool killed;
        int64_t next_try_ms; /* a seal that failed: not before */
        WorkerJob *job;      /* the seal under way */
        SealRequest req;
        struct Frozen *next;
} Frozen;

struct ExamClock {
        EventLoop *loop;
        Controller *c;
        Workers *workers;
        EventSource *tick, *precise;
        Frozen *frozen;
};

static Frozen *frozen_find(ExamClock *k, uint32_t exam, uint32_t uid) {
        for (Frozen *f = k->frozen; f; f = f->next)
                if (f->exam == exam && f->uid == uid)
                        return f;
        return NULL;
}

static Frozen *frozen_get(ExamClock *k, uint32_t exam, uint32_t uid) {
        Frozen *f = frozen_find(k, exam, uid);
        if (!f) {
                f = xcalloc(1, sizeof(*f));
                *f = (Frozen){.clock = k, .exam = exam, .uid = uid, .since_ms = wall_ms(), .next = k->frozen};
                k->frozen = f;
        }
        return f;
}

static void frozen_drop(ExamClock *k, Frozen *f) {
        for (Frozen **p = &k->frozen; *p; p = &(*p)->next)
                if (*p == f) {
                        *p = f->next;
                        worker_cancel(f->job);
                        free(f);
                        return;
                }
}

/* The instance of vm that writes its disc (none: 0). */
static int vm_instance(Store *s, uint32_t vm, InstanceRec *ret) {
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0;
        if (!vm || store_instance_ids_for_vm(s, vm, &ids, &n) < 0)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (store_instance_get(s, ids[i], ret) == 0 && ret->state != INSTANCE_RESERVED)
                        return 1;
        return 0;
}

static int signal_instance(ExamClock *k, const InstanceRec *inst, InstanceAction action, Error *err) {
        const ControllerHooks *h = k->c->hooks;
        if (!h || !h->signal)
                return error_set(err, -ENOTSUP, "this vmbatchd cannot control running vms");
        return h->signal(k->c->hooks_data, inst, action, err);
}

/* In a transaction: the member's VM frozen (a queued one is cancelled, a
 * monitor that cannot freeze it has it killed), the member frozen. */
static int freeze_member(ExamClock *k, const ExamRec *e, ExamMemberRec *m, Error *err) {
        Store *s = k->c->store;
        InstanceRec inst;
        json_t *detail = json_pack("{s:I, s:I}", "deadline", (json_int_t)exam_deadline(e->end, m->extra_minutes),
                                   "vm", (json_int_t)m->vm);
        if (vm_instance(s, m->vm, &inst)) {
                Error e2 = {0};
                InstanceAction a = inst.state == INSTANCE_SUBMITTED ? ACTION_KILL : ACTION_FREEZE;
                if (signal_instance(k, &inst, a, &e2) < 0 && a == ACTION_FREEZE) {
                        log_warn("exam %s: freezing instance %u: %s: killing it", e->name, inst.id, e2.message);
                        error_clear(&e2);
                        a = ACTION_KILL;
                        if (signal_instance(k, &inst, a, &e2) < 0)
                                log_warn("exam %s: killing instance %u: %s", e->name, inst.id, e2.message);
                }
                json_object_set_new(detail, "instance", json_integer(inst.id));
                json_object_set_new(detail, "action", json_string(instance_action_to_string(a)));
        }
        m->state = EXAM_MEMBER_FROZEN;
        int r = store_exam_member_update(s, m, err);
        if (r >= 0)
                exam_audit(s, "exam.freeze", e, m->uid, detail);
        else
                json_decref(detail);
        log_info("exam %s: uid %u frozen (vm %u)", e->name, m->uid, m->vm);
        return r;
}

/* ---- sealing ---- */

/* The recorded chain of the member's disc, each file as its owner. */
static int seal_request(Store *s, const ExamRec *e, const ExamMemberRec *m, SealRequest *req, Error *err) {
        _cleanup_free_ DiscRec *d = NULL;
        size_t nd = 0;
        VmRec vm;
        UserRec u;
        int r = m->vm ? store_vm_get(s, m->vm, &vm) : -ENOENT;
        if (r < 0)
                return error_set(err, -ENOENT, "the member's vm is gone");
        if ((r = store_disc_list(s, vm.id, &d, &nd)) < 0 || nd != 1)
                return error_set(err, r < 0 ? r : -EINVAL, "vm %u has %zu discs, not one", vm.id, nd);
        if ((r = store_user_get(s, m->uid, &u)) < 0)
                return store_get_error(s, r, err, "user %u is gone", m->uid);
        *req = (SealRequest){.teacher_uid = e->owner};
        snprintf(req->dir, sizeof(req->dir), "%s", e->collection);
        snprintf(req->name, sizeof(req->name), "%s.qcow2", u.name);
        DiscRec disc = d[0];
        uint32_t owner = vm.owner;
        for (;;) {
                if (req->n_chain == SEAL_CHAIN_MAX)
                        return error_set(err, -ELOOP, "%s: too deep a chain", d[0].path);
                DiscFile *f = &req->chain[req->n_chain++];
                *f = (DiscFile){.uid = owner, .dev = disc.dev, .ino = disc.ino, .image = true};
                snprintf(f->path, sizeof(f->path), "%s", disc.path);
                if (!disc.backing)
                        return 0;
                VmRec base;
                if ((r = store_disc_get(s, disc.backing, &disc)) < 0 || (r = store_vm_get(s, disc.vm, &base)) < 0)
                        return store_get_error(s, r, err, "the backing disc of %s is gone", f->path);
                snprintf(f->expect_backing, sizeof(f->expect_backing), "%s", disc.path);
                owner = base.owner;
        }
}

/* In the worker: "ok SHA256 PATH" or "error ERRNO MESSAGE". */
static void seal_run(void *arg, FILE *out) {
        Frozen *f = arg;
        char path[PATH_MAX], sha[65];
        Error err = {0};
        int r = disc_seal(&f->req, path, sha, &err);
        if (r < 0)
                fprintf(out, "error %d %s", -r, err.message);
        else
                fprintf(out, "ok %s %s", sha, path);
}

static void clock_run(ExamClock *k);

static void record_seal(ExamClock *k, Frozen *f, const char *output, int status) {
        Store *s = k->c->store;
        Error err = {0};
        ExamRec e;
        ExamMemberRec m;
        if (store_begin(s, &err) < 0 || store_exam_get(s, f->exam, &e) < 0 ||
            store_exam_member_get(s, f->exam, f->uid, &m) < 0) {
                store_rollback(s);
                log_error("exam %u: cannot record the seal of uid %u: %s", f->exam, f->uid, err.message);
                return;
        }
        char sha[65], path[PATH_MAX];
        int code = 0, used = 0;
        if (sscanf(output, "ok %64s %n", sha, &used) == 1 && used > 0 && strlen(output + used) < sizeof(path)) {
                snprintf(path, sizeof(path), "%s", output + used);
                m.state = EXAM_MEMBER_SEALED;
                snprintf(m.sha256, sizeof(m.sha256), "%s", sha);
                snprintf(m.sealed_path, sizeof(m.sealed_path), "%s", path);
                m.sealed_at = (int64_t)time(NULL);
                m.late_minutes = exam_late_minutes(e.end, m.sealed_at);
                m.seal_error[0] = 0;
                exam_audit(s, "exam.seal", &e, m.uid,
                      json_pack("{s:s, s:s, s:I, s:I, s:I}", "sha256", sha, "path", path, "late_minutes",
                                (json_int_t)m.late_minutes, "frozen_at_ms", (json_int_t)m.frozen_at_ms, "seal_ms",
                                (json_int_t)(wall_ms() - f->since_ms)));
                log_info("exam %s: uid %u sealed: %s sha256 %s", e.name, m.uid, path, sha);
        } else {
                if (sscanf(output, "error %d %n", &code, &used) == 1 && used > 0)
                        snprintf(m.seal_error, sizeof(m.seal_error), "%s", output + used);
                else
                        snprintf(m.seal_error, sizeof(m.seal_error), "the seal's worker died (status %d)", status);
                exam_audit(s, "exam.seal", &e, m.uid, json_pack("{s:s}", "error", m.seal_error));
                log_error("exam %s: sealing uid %u failed: %s", e.name, m.uid, m.seal_error);
        }
        if (store_exam_member_update(s, &m, &err) < 0 || store_commit(s, &err) < 0) {
                store_rollback(s);
                log_error("exam %s: cannot record the seal of uid %u: %s", e.name, m.uid, err.message);
        }
        if (m.state == EXAM_MEMBER_SEALED)
                frozen_drop(k, f);
        else
                f->next_try_ms = wall_ms() + SEAL_RETRY_MS;
}

static void seal_done(void *userdata, const char *output, int status) {
        Frozen *f = userdata;
        ExamClock *k = f->clock;
        f->job = NULL;
        record_seal(k, f, output, status);
        clock_run(k);
}

/* A frozen member: sealed once its VM is paused or gone. Returns whether
 * the clock must look again soon (waiting for the pause). */
static bool try_seal(ExamClock *k, const ExamRec *e, ExamMemberRec *m, int64_t now) {
        Store *s = k->c->store;
        Frozen *f = frozen_get(k, e->id, m->uid);
        if (f->job || now < f->next_try_ms)
                return false;
        InstanceRec inst;
        if (vm_instance(s, m->vm, &inst) && inst.state != INSTANCE_PAUSED) {
                if (!f->killed && now - f->since_ms > PAUSE_WAIT_MS) {
                        Error err = {0};
                        log_warn("exam %s: instance %u did not pause within %d s: killing it", e->name, inst.id,
                                 PAUSE_WAIT_MS / 1000);
                        if (store_begin(s, &err) >= 0 && signal_instance(k, &inst, ACTION_KILL, &err) >= 0)
                                store_commit(s, &err);
                        else
                                store_rollback(s);
                        f->killed = true;
                }
                return true;
        }
        Error err = {0};
        if (vm_instance(s, m->vm, &inst) && !m->frozen_at_ms) { /* paused: the moment it was seen so */
                m->frozen_at_ms = now;
                if (store_begin(s, &err) < 0 || store_exam_member_update(s, m, &err) < 0 || store_commit(s, &err) < 0)
                        store_rollback(s);
        }
        int r = seal_request(s, e, m, &f->req, &err);
        if (r >= 0 && !(f->job = worker_queue(k->workers, seal_run, f, seal_done, f)))
                r = error_set(&err, -EAGAIN, "cannot start a worker");
        if (r < 0) {
                log_error("exam %s: cannot seal uid %u: %s", e->name, m->uid, err.message);
                f->next_try_ms = now + SEAL_RETRY_MS;
        }
        return false;
}

/* ---- warm exams: booted before the start, resumed at it ---- */

/* Each member's VM not yet booted is run now, as the member (its starter
 * pauses it once its console prints the exam's warm_ready marker). A VM
 * that was booted once and ended before the start is not booted again:
 * its student runs it from the start, cold. */
static void warm_members(ExamClock *k, ExamRec *e) {
        Store *s = k->c->store;
        _cleanup_free_ ExamMemberRec *m = NULL;
        size_t n = 0;
        InstanceRec inst;
        /* on a backend that reserves (Slurm), not before the exam's
         * reservation is made: a job submitted earlier is outside it and
         * waits while it holds the nodes (one that failed: boot anyway) */
        ExamResvRec resv;
        if (batch_reserver_find(k->c->settings->batch_backend) &&
            (store_exam_resv_get(s, e->id, &resv) < 0 || resv.state == EXAM_RESV_NONE))
                return;
        if (store_exam_members(s, e->id, &m, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                if (!m[i].vm || m[i].warm_instance || m[i].state != EXAM_MEMBER_PENDING ||
                    vm_instance(s, m[i].vm, &inst))
                        continue;
                Error err = {0};
                int r = store_begin(s, &err);
                if (r >= 0 && (r = exam_warm_launch(k->c, e, &m[i], &inst, &err)) >= 0) {
                        m[i].warm_instance = inst.id;
                        r = store_exam_member_update(s, &m[i], &err);
                }
                if (r >= 0) {
                        exam_audit(s, "exam.warm", e, m[i].uid,
                              json_pack("{s:I, s:I, s:s}", "vm", (json_int_t)m[i].vm, "instance",
                                        (json_int_t)inst.id, "ready_marker", e->warm_ready));
                        r = store_commit(s, &err);
                }
                if (r < 0) {
                        store_rollback(s);
                        log_error("exam %s: cannot boot uid %u's vm ahead of the start: %s", e->name, m[i].uid,
                                  err.message);
                        /* not again: one audit entry, the student runs it cold */
                        m[i].warm_instance = (uint32_t)-1;
                        if (store_begin(s, &err) >= 0 && store_exam_member_update(s, &m[i], &err) >= 0) {
                                exam_audit(s, "exam.warm", e, m[i].uid, json_pack("{s:s}", "error", err.message));
                                store_commit(s, &err);
                        } else
                                store_rollback(s);
                        continue;
                }
                log_info("exam %s: uid %u's vm %u booting ahead of the start as instance %u", e->name, m[i].uid,
                         m[i].vm, inst.id);
        }
}

/* A running exam's warm VM: resumed (paused, or still booting: its starter
 * stops waiting for the marker then). One whose starter is not attached
 * yet is tried again at the next tick. */
static void resume_warm(ExamClock *k, ExamRec *e, ExamMemberRec *m) {
        Store *s = k->c->store;
        if (!m->warm_instance || m->state != EXAM_MEMBER_RUNNING)
                return;
        InstanceRec inst;
        Error err = {0};
        if (m->warm_instance != (uint32_t)-1 && store_instance_get(s, m->warm_instance, &inst) == 0) {
                if (inst.state == INSTANCE_SUBMITTED || inst.state == INSTANCE_STARTING)
                        return;
                if (signal_instance(k, &inst, ACTION_RESUME, &err) < 0) {
                        log_warn("exam %s: resuming instance %u: %s", e->name, inst.id, err.message);
                        return;
                }
                log_info("exam %s: uid %u's warm instance %u resumed", e->name, m->uid, inst.id);
        }
        m->warm_instance = 0;
        if (store_begin(s, &err) < 0 || store_exam_member_update(s, m, &err) < 0 || store_commit(s, &err) < 0)
                store_rollback(s);
}

/* ---- one pass ---- */

static void audit_refusal(Store *s, const ExamRec *e, const Error *why) {
        Error err = {0};
        log_error("exam %s: not started at its start time: %s", e->name, why->message);
        if (store_begin(s, &err) < 0)
                return;
        exam_audit(s, "exam.start", e, (uint32_t)-1,
                   json_pack("{s:s, s:s}", "by", "its start time", "refused", why->message));
        if (store_commit(s, &err) < 0)
                store_rollback(s);
}

static void start_exam(ExamClock *k, ExamRec *e) {
        Store *s = k->c->store;
        Error err = {0};
        if (store_begin(s, &err) < 0)
                return;
        if (exam_start(k->c, e, &err) < 0) {
                store_rollback(s);
                /* not ready: it stays not started, said once (audited, logged) */
                if (exam_selftest_refused_once(k->c, e->id))
                        audit_refusal(s, e, &err);
                return;
        }
        exam_audit(s, "exam.start", e, (uint32_t)-1, json_pack("{s:s}", "by", "its start time"));
        if (store_commit(s, &err) < 0)
                store_rollback(s);
        log_info("exam %s started", e->name);
}

/* The members of a running or ended exam; *next_ms the next deadline. */
static bool run_members(ExamClock *k, ExamRec *e, int64_t now, int64_t *next_ms) {
        Store *s = k->c->store;
        _cleanup_free_ ExamMemberRec *m = NULL;
        size_t n = 0;
        bool soon = false, all_sealed = true;
        if (store_exam_members(s, e->id, &m, &n) < 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (m[i].state == EXAM_MEMBER_SEALED)
                        continue;
                all_sealed = false;
                if (e->state == EXAM_RUNNING)
                        resume_warm(k, e, &m[i]);
                int64_t due = e->state == EXAM_ENDED ? now : exam_deadline(e->end, m[i].extra_minutes) * 1000;
                if (m[i].state != EXAM_MEMBER_FROZEN) {
                        if (due > now) {
                                *next_ms = due < *next_ms ? due : *next_ms;
                                continue;
                        }
                        Error err = {0};
                        int r = store_begin(s, &err);
                        if (r >= 0 && (r = freeze_member(k, e, &m[i], &err)) >= 0)
                                r = store_commit(s, &err);
                        if (r < 0) {
                                store_rollback(s);
                                log_error("exam %s: cannot freeze uid %u: %s", e->name, m[i].uid, err.message);
                                continue;
                        }
                }
                soon |= try_seal(k, e, &m[i], now);
        }
        if (all_sealed && e->state == EXAM_RUNNING) {
                Error err = {0};
                e->state = EXAM_ENDED;
                if (store_begin(s, &err) >= 0 && store_exam_update(s, e, &err) >= 0) {
                        exam_audit(s, "exam.end", e, (uint32_t)-1, json_pack("{s:I}", "members", (json_int_t)n));
                        store_commit(s, &err);
                        log_info("exam %s ended: every hand-in is sealed", e->name);
                } else
                        store_rollback(s);
        }
        return soon;
}

static int on_precise(EventSource *src, void *userdata) {
        ExamClock *k = userdata;
        event_source_free(k->precise);
        k->precise = NULL;
        clock_run(k);
        return 0;
}

static void clock_run(ExamClock *k) {
        Store *s = k->c->store;
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0;
        if (store_exam_ids(s, -1, &ids, &n) < 0)
                return;
        int64_t now = wall_ms(), next = INT64_MAX;
        bool soon = false;
        for (size_t i = 0; i < n; i++) {
                ExamRec e;
                if (store_exam_get(s, ids[i], &e) < 0)
                        continue;
                if ((e.state == EXAM_CREATED || e.state == EXAM_READY) && e.start * 1000 <= now)
                        start_exam(k, &e);
                int64_t warm_at = (e.start - (int64_t)k->c->settings->exam_warm_lead_s) * 1000;
                if ((e.state == EXAM_CREATED || e.state == EXAM_READY) && e.warm && warm_at <= now)
                        warm_members(k, &e);
                if (e.state == EXAM_CREATED || e.state == EXAM_READY) {
                        if (e.start * 1000 > now) /* one refused (not ready) waits for the tick */
                                next = e.start * 1000 < next ? e.start * 1000 : next;
                        if (e.warm && warm_at > now && warm_at < next)
                                next = warm_at;
                } else
                        soon |= run_members(k, &e, now, &next);
        }
        if (soon)
                next = now + WAIT_POLL_MS;
        /* the tick finds what is due within half a second; this timer, the
         * exact millisecond */
        if (next - now < TICK_MS) {
                event_source_free(k->precise);
                k->precise = NULL;
                event_add_timer_once(k->loop, (uint64_t)(next > now ? next - now : 0), on_precise, k, &k->precise);
        }
}

static int on_tick(EventSource *src, void *userdata) {
        ExamClock *k = userdata;
        if (!k->precise)
                clock_run(k);
        return 0;
}

int exam_clock_new(EventLoop *loop, Controller *controller, ExamClock **ret, Error *err) {
        ExamClock *k = xcalloc(1, sizeof(*k));
        *k = (ExamClock){.loop = loop, .c = controller};
        int r = workers_new(loop, SEAL_WORKERS, &k->workers);
        if (r >= 0)
                r = event_add_timer(loop, TICK_MS, on_tick, k, &k->tick);
        if (r < 0) {
                exam_clock_free(k);
                return error_set(err, r, "exam clock: %s", strerror(-r));
        }
        clock_run(k);
        *ret = k;
        return 0;
}

void exam_clock_free(ExamClock *k) {
        if (!k)
                return;
        while (k->frozen)
                frozen_drop(k, k->frozen);
        event_source_free(k->tick);
        event_source_free(k->precise);
        workers_free(k->workers);
        free(k);
}
