/* ops_exam_selftest.c - an exam's isolation self-test: its rules (see
 * ops_exam_selftest.h) and "exam.selftest" (admins), which queues the test
 * again; the daemon's runner (daemon/exam_selftest.c) takes pending ones. */
#include <stdio.h>
#include <time.h>

#include "core/ops_exam_selftest.h"

static int put(Controller *c, const ExamSelftestRec *t, Error *err) {
        return store_exam_selftest_put(c->store, t, err);
}

int exam_selftest_created(Controller *c, ExamRec *e, bool no_selftest, Error *err) {
        ExamSelftestRec t = {.exam = e->id, .state = no_selftest ? EXAM_SELFTEST_SKIPPED : EXAM_SELFTEST_PENDING};
        if (no_selftest) {
                snprintf(t.reason, sizeof(t.reason), "created with --no-selftest: ready without the isolation "
                                                     "self-test");
                e->state = EXAM_READY;
                int r = store_exam_update(c->store, e, err);
                if (r < 0)
                        return r;
        }
        return put(c, &t, err);
}

int exam_selftest_check_ready(Controller *c, const ExamRec *e, Error *err) {
        if (e->state != EXAM_CREATED)
                return 0; /* ready; running and ended are exam_start's to refuse */
        ExamSelftestRec t;
        if (store_exam_selftest_get(c->store, e->id, &t) < 0)
                return error_set(err, -EPERM, "the exam %s is not ready: it has no isolation self-test (run "
                                              "'vmbatch exam selftest %s')", e->name, e->name);
        switch (t.state) {
        case EXAM_SELFTEST_PENDING:
                return error_set(err, -EPERM, "the exam %s is not ready: its isolation self-test has not run yet%s%s",
                                 e->name, *t.reason ? ": " : "", t.reason);
        case EXAM_SELFTEST_RUNNING:
                return error_set(err, -EPERM, "the exam %s is not ready: its isolation self-test is running",
                                 e->name);
        default:
                return error_set(err, -EPERM, "the exam %s is not ready: the isolation self-test %s: %s", e->name,
                                 exam_selftest_state_to_string(t.state), t.reason);
        }
}

json_t *exam_selftest_json(Controller *c, uint32_t exam) {
        ExamSelftestRec t;
        if (store_exam_selftest_get(c->store, exam, &t) < 0)
                return json_pack("{s:s}", "state", "none");
        json_t *results = *t.results ? json_loads(t.results, 0, NULL) : NULL;
        return json_pack("{s:s, s:s, s:I, s:I, s:I, s:o}", "state", exam_selftest_state_to_string(t.state), "reason",
                         t.reason, "started", (json_int_t)t.started, "finished", (json_int_t)t.finished,
                         "duration_ms", (json_int_t)t.duration_ms, "results", results ? results : json_object());
}

int exam_selftest_record(Controller *c, uint32_t exam, bool passed, const char *reason, const char *results_json,
                         int64_t started, int64_t duration_ms, Error *err) {
        ExamRec e;
        int r = store_exam_get(c->store, exam, &e);
        if (r < 0)
                return store_get_error(c->store, r, err, "exam %u is gone", exam);
        ExamSelftestRec t = {.exam = exam, .state = passed ? EXAM_SELFTEST_PASSED : EXAM_SELFTEST_FAILED,
                             .started = started, .finished = (int64_t)time(NULL), .duration_ms = duration_ms};
        snprintf(t.reason, sizeof(t.reason), "%s", reason);
        if (strlen(results_json) < sizeof(t.results))
                snprintf(t.results, sizeof(t.results), "%s", results_json);
        if ((r = put(c, &t, err)) < 0)
                return r;
        if (e.state == EXAM_CREATED || e.state == EXAM_READY) {
                e.state = passed ? EXAM_READY : EXAM_CREATED;
                r = store_exam_update(c->store, &e, err);
        }
        return r;
}

/* exam.selftest: the test again (a changed template, filters, a failed
 * run); the exam is not ready until it passes */
static int op_exam_selftest(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                            Error *err) {
        int64_t id;
        const char *name;
        ExamRec e;
        int r = json_get_ref(args, "exam", &id, &name, err);
        if (r == -ENOENT)
                return error_set(err, -EINVAL, "missing exam");
        if (r < 0)
                return r;
        r = name ? store_exam_get_by_name(c->store, name, &e) : store_exam_get(c->store, (uint32_t)id, &e);
        if (r == -ENOENT)
                return error_set(err, -ENOENT, "no such exam '%s'", name ? name : "(id)");
        if (r < 0)
                return store_get_error(c->store, r, err, "exam");
        if (e.state != EXAM_CREATED && e.state != EXAM_READY)
                return error_set(err, -EBUSY, "the exam %s is %s: its self-test is over", e.name,
                                 exam_state_to_string(e.state));
        ExamSelftestRec t = {0};
        if (store_exam_selftest_get(c->store, e.id, &t) == 0 && t.state == EXAM_SELFTEST_RUNNING)
                return error_set(err, -EBUSY, "the isolation self-test of exam %s is running", e.name);
        t = (ExamSelftestRec){.exam = e.id, .state = EXAM_SELFTEST_PENDING};
        e.state = EXAM_CREATED;
        if ((r = store_exam_update(c->store, &e, err)) < 0 || (r = put(c, &t, err)) < 0)
                return r;
        snprintf(audit->object, sizeof(audit->object), "exam %u %s", e.id, e.name);
        *ret = json_pack("{s:I, s:s, s:o}", "id", (json_int_t)e.id, "name", e.name, "selftest",
                         exam_selftest_json(c, e.id));
        return 0;
}

static const char *const keys_exam[] = {"exam", NULL};

const OpDef ops_exam_selftest[] = {
        {"exam.selftest", op_exam_selftest, OP_MUTATES | OP_ADMIN, keys_exam, NULL},
        {NULL, NULL, 0, NULL, NULL},
};

bool exam_selftest_refused_once(Controller *c, uint32_t exam) {
        ExamSelftestRec t;
        Error err = {0};
        if (store_exam_selftest_get(c->store, exam, &t) < 0)
                t = (ExamSelftestRec){.exam = exam, .state = EXAM_SELFTEST_PENDING};
        if (t.start_refused)
                return false;
        t.start_refused = true;
        if (store_begin(c->store, &err) < 0)
                return false;
        if (put(c, &t, &err) < 0 || store_commit(c->store, &err) < 0) {
                store_rollback(c->store);
                return false;
        }
        return true;
}
