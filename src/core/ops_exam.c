/* ops_exam.c - exams (issue 14): create one (one VM derived per member of a
 * user group, forced isolated), list, show, start, stop, extend a member's
 * time, and a member's signed receipt for their sealed hand-in. The
 * deadlines themselves are watched by the daemon (daemon/exam_clock.c),
 * which freezes and seals; here are the rules that hold meanwhile: an exam
 * VM is not run before its exam starts, and after the member's deadline the
 * student can no longer run, change or delete it (exam_check_vm_use). */
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "basic/log.h"
#include "core/exam.h"
#include "core/exam_resv_json.h"
#include "core/ops.h"
#include "core/ops_exam.h"
#include "core/ops_exam_selftest.h"
#include "core/validate.h"
#include "disk/disk.h"
#include "store/exams.h"

#define EXAM_MEMBERS_MAX 1000
#define RECEIPT_KEY_FILE "exam-receipt.key"

static int resolve_exam(Controller *c, const json_t *args, ExamRec *ret, Error *err) {
        int64_t id;
        const char *name;
        int r = json_get_ref(args, "exam", &id, &name, err);
        if (r == -ENOENT)
                return error_set(err, -EINVAL, "missing exam");
        if (r < 0)
                return r;
        r = name ? store_exam_get_by_name(c->store, name, ret) : store_exam_get(c->store, (uint32_t)id, ret);
        if (r == -ENOENT)
                return name ? error_set(err, -ENOENT, "no such exam '%s'", name)
                            : error_set(err, -ENOENT, "no such exam with id %lld", (long long)id);
        return r < 0 ? store_get_error(c->store, r, err, "exam") : 0;
}

/* A student sees an exam they sit, and of it only their own row. */
static int resolve_exam_for(Controller *c, const Caller *who, const json_t *args, ExamRec *ret,
                            ExamMemberRec *ret_member, Error *err) {
        int r = resolve_exam(c, args, ret, err);
        if (r < 0 || who->admin)
                return r;
        if (store_exam_member_get(c->store, ret->id, who->uid, ret_member) < 0)
                return error_set(err, -ENOENT, "no such exam '%s' of yours", ret->name);
        return 0;
}

static int64_t member_deadline(const ExamRec *e, const ExamMemberRec *m) {
        return exam_deadline(e->end, m->extra_minutes);
}

/* ---- the rule for an exam's VMs (vm.run, vm.mod, vm.del, resume) ---- */

int exam_check_vm_use(Controller *c, const Caller *who, const VmRec *vm, const char *verb, Error *err) {
        ExamMemberRec m;
        ExamRec e;
        if (who->admin || store_exam_member_by_vm(c->store, vm->id, &m) < 0 ||
            store_exam_get(c->store, m.exam, &e) < 0)
                return 0;
        char at[32];
        int64_t deadline = member_deadline(&e, &m);
        bool over = m.state == EXAM_MEMBER_FROZEN || m.state == EXAM_MEMBER_SEALED || e.state == EXAM_ENDED ||
                    (e.state == EXAM_RUNNING && (int64_t)time(NULL) >= deadline);
        if (over) {
                exam_time_format(e.state == EXAM_ENDED && m.state != EXAM_MEMBER_SEALED ? (int64_t)time(NULL) : deadline,
                                 false, at);
                return error_set(err, -EPERM, "the exam %s ended at %s: this vm is sealed", e.name, at);
        }
        if (streq(verb, "delete"))
                return error_set(err, -EPERM, "vm '%s' belongs to the exam %s: only an admin deletes it", vm->name,
                                 e.name);
        /* what it boots (kernel, initrd, cmdline, memory) is the teacher's:
         * a student's own initrd could carry anything into the exam */
        if (streq(verb, "modify"))
                return error_set(err, -EPERM, "vm '%s' belongs to the exam %s: only an admin changes it", vm->name,
                                 e.name);
        /* a warm VM is booted and paused before the start: its student
         * neither resumes it nor sees its console until then */
        if ((streq(verb, "run") || streq(verb, "resume") || streq(verb, "console")) && e.state != EXAM_RUNNING) {
                exam_time_format(e.start, false, at);
                return error_set(err, -EPERM, "the exam %s has not started (it starts at %s): this vm runs from then",
                                 e.name, at);
        }
        return 0;
}

/* ---- JSON ---- */

void exam_audit(Store *s, const char *op, const ExamRec *e, uint32_t uid, json_t *detail) {
        char obj[128];
        if (uid == (uint32_t)-1)
                snprintf(obj, sizeof(obj), "exam %u %s", e->id, e->name);
        else
                snprintf(obj, sizeof(obj), "exam %u %s member %u", e->id, e->name, uid);
        Error err = {0};
        if (store_audit(s, 0, op, obj, detail, &err) < 0)
                log_warn("%s: cannot audit %s: %s", obj, op, err.message);
        json_decref(detail);
}

/* ---- warm exams ---- */

bool exam_warm_marker(Controller *c, uint32_t vm, char marker[EXAM_WARM_READY_MAX]) {
        ExamMemberRec m;
        ExamRec e;
        if (store_exam_member_by_vm(c->store, vm, &m) < 0 || store_exam_get(c->store, m.exam, &e) < 0 || !e.warm ||
            (e.state != EXAM_CREATED && e.state != EXAM_READY))
                return false;
        snprintf(marker, EXAM_WARM_READY_MAX, "%s", e.warm_ready);
        return true;
}

int exam_warm_launch(Controller *c, const ExamRec *e, const ExamMemberRec *m, InstanceRec *ret, Error *err) {
        VmRec vm;
        Caller who;
        int r = m->vm ? store_vm_get(c->store, m->vm, &vm) : -ENOENT;
        if (r < 0)
                return error_set(err, -ENOENT, "uid %u's exam vm is gone", m->uid);
        if ((r = caller_load(c, m->uid, &who)) < 0)
                return error_set(err, r, "cannot load user %u", m->uid);
        json_t *args = json_pack("{s:I, s:b}", "vm", (json_int_t)vm.id, "isolate", true);
        r = instance_run_vm(c, &who, &vm, args, ret, err);
        json_decref(args);
        caller_clear(&who);
        return r;
}

/* printable ASCII, no more than fits: it goes on the starter's command line */
static int check_warm_ready(const char *s, Error *err) {
        size_t n = strlen(s);
        if (n == 0 || n >= EXAM_WARM_READY_MAX)
                return error_set(err, -EINVAL, "--warm-ready must be 1..%d characters", EXAM_WARM_READY_MAX - 1);
        for (size_t i = 0; i < n; i++)
                if (s[i] < 0x20 || s[i] > 0x7e)
                        return error_set(err, -EINVAL, "--warm-ready must be printable ASCII");
        return 0;
}

static json_t *exam_json_base(Controller *c, const ExamRec *e) {
        GroupRec g = {0};
        VmRec t = {0};
        store_group_get(c->store, e->ugroup, &g);
        store_vm_get(c->store, e->template_vm, &t);
        json_t *o = json_pack("{s:I, s:s, s:s, s:I, s:s, s:I, s:s, s:I, s:I, s:b, s:s, s:I, s:s}", "id", (json_int_t)e->id,
                         "name", e->name, "state", exam_state_to_string(e->state), "template",
                         (json_int_t)e->template_vm, "template_name", t.name, "group", (json_int_t)e->ugroup,
                         "group_name", g.name, "start", (json_int_t)e->start, "end", (json_int_t)e->end, "warm",
                         e->warm, "allow", e->allow, "owner", (json_int_t)e->owner, "collection", e->collection);
        json_object_set_new(o, "reservation", exam_resv_json(c->store, e->id)); /* daemon/exam_reservation.c */
        return o;
}

static json_t *exam_json(Controller *c, const ExamRec *e) {
        json_t *o = exam_json_base(c, e);
        if (e->warm)
                json_object_set_new(o, "warm_ready", json_string(e->warm_ready));
        return o;
}

static json_t *member_json(Controller *c, const ExamRec *e, const ExamMemberRec *m) {
        UserRec u = {0};
        VmRec v = {0};
        store_user_get(c->store, m->uid, &u);
        if (m->vm)
                store_vm_get(c->store, m->vm, &v);
        json_t *o = json_pack("{s:I, s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:I, s:I, s:s}", "uid",
                         (json_int_t)m->uid, "user", u.name, "vm", (json_int_t)m->vm, "vm_name", v.name, "state",
                         exam_member_state_to_string(m->state), "extra_minutes", (json_int_t)m->extra_minutes,
                         "deadline", (json_int_t)member_deadline(e, m), "frozen_at_ms", (json_int_t)m->frozen_at_ms,
                         "sealed_path", m->sealed_path, "sha256", m->sha256, "sealed_at", (json_int_t)m->sealed_at,
                         "late_minutes", (json_int_t)m->late_minutes, "seal_error", m->seal_error);
        console_activity_put_vm(c, m->vm, o); /* console_open, console_input_at */
        return o;
}

/* ---- exam.create: a job (core/ops.h OpJobDef), as vm.add --base ---- */

typedef struct ExamMemberPlan {
        UserRec user;
        Cred cred;
        char cred_name[64];
        char vm_name[STORE_NAME_MAX];
        char *path;    /* the overlay (reserved: did not exist) */
        DiscRec made;  /* what the run measured */
} ExamMemberPlan;

typedef struct ExamCreatePlan {
        ExamRec exam;
        VmRec template;
        DiscRec tdisc; /* the template's one disc */
        bool no_selftest; /* ready without the isolation self-test (audited: it is in the args) */
        ExamMemberPlan *m;
        size_t n;
} ExamCreatePlan;

static void exam_create_plan_free(void *p) {
        ExamCreatePlan *plan = p;
        if (!plan)
                return;
        for (size_t i = 0; i < plan->n; i++)
                free(plan->m[i].path);
        free(plan->m);
        free(plan);
}

static void exam_create_plan_freep(ExamCreatePlan **p) { exam_create_plan_free(*p); }

static int arg_time(const json_t *args, const char *key, int64_t *ret, Error *err) {
        json_t *v = json_object_get(args, key);
        if (!v)
                return error_set(err, -EINVAL, "missing %s (unix seconds)", key);
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
                return error_set(err, -EINVAL, "%s must be a time in unix seconds", key);
        *ret = json_integer_value(v);
        return 0;
}

/* "ADDR,ADDR,...": what part B lets the members' VMs reach; kept as text */
static int check_allow(const char *s, Error *err) {
        if (strlen(s) >= EXAM_ALLOW_MAX)
                return error_set(err, -EINVAL, "the allow list is longer than %d bytes", EXAM_ALLOW_MAX - 1);
        if (strspn(s, "0123456789abcdefABCDEF.:/,-") != strlen(s))
                return error_set(err, -EINVAL, "allow '%.64s' is not a comma list of addresses", s);
        return 0;
}

static int plan_member(Controller *c, ExamCreatePlan *p, uint32_t uid, Error *err) {
        ExamMemberPlan *m = &p->m[p->n];
        *m = (ExamMemberPlan){0};
        int r = store_user_get(c->store, uid, &m->user);
        if (r < 0)
                return store_get_error(c->store, r, err, "member uid %u of the group is not a user", uid);
        if (exam_vm_name(p->exam.name, m->user.name, m->vm_name, sizeof(m->vm_name)) < 0 ||
            validate_name("vm", m->vm_name, NULL) < 0)
                return error_set(err, -ENAMETOOLONG, "exam-%s-%s is not a vm name (at most 63 characters): choose "
                                                     "a shorter exam name", p->exam.name, m->user.name);
        VmRec existing;
        if (store_vm_get_by_owner_name(c->store, uid, m->vm_name, &existing) == 0)
                return error_set(err, -EEXIST, "%s already has a vm named '%s'", m->user.name, m->vm_name);
        if ((r = cred_from_uid(uid, &m->cred, m->cred_name, sizeof(m->cred_name), err)) < 0)
                return r;
        m->path = disk_path_for(m->user.stordir, uid, m->vm_name, 0);
        p->n++; /* from here on the plan owns the path */
        struct stat st;
        if ((r = validate_path("disc", m->path, err)) < 0)
                return r;
        if (lstat(m->path, &st) == 0)
                return error_set(err, -EEXIST, "disc file %s already exists", m->path);
        return 0;
}

static int plan_template(Controller *c, const Caller *who, const json_t *args, ExamCreatePlan *p, Error *err) {
        int r = resolve_vm_for(c, who, args, "template", "derive", &p->template, err);
        if (r < 0)
                return r;
        if (p->template.base)
                return error_set(err, -EINVAL, "vm '%s' is derived from another vm: an exam's template must not be",
                                 p->template.name);
        _cleanup_free_ DiscRec *d = NULL;
        size_t nd = 0;
        if ((r = store_disc_list(c->store, p->template.id, &d, &nd)) < 0)
                return error_set(err, r, "cannot list the template's discs");
        if (nd != 1) /* one disc, one sealed hand-in per student */
                return error_set(err, -EINVAL, "an exam's template has exactly one disc; '%s' has %zu",
                                 p->template.name, nd);
        p->tdisc = d[0];
        return 0;
}

static int exam_create_plan(Controller *c, const Caller *who, const json_t *args, void **ret_plan, Error *err) {
        _cleanup_(exam_create_plan_freep) ExamCreatePlan *p = xcalloc(1, sizeof(*p));
        const char *name, *allow = "";
        int r = json_need_string(args, "name", &name, err);
        if (r < 0 || (r = validate_name("exam", name, err)) < 0)
                return r;
        snprintf(p->exam.name, sizeof(p->exam.name), "%s", name);
        ExamRec existing;
        if (store_exam_get_by_name(c->store, name, &existing) == 0)
                return error_set(err, -EEXIST, "an exam named '%s' already exists", name);
        if ((r = json_get_string(args, "allow", &allow, err)) < 0 && r != -ENOENT)
                return r;
        if ((r = check_allow(allow, err)) < 0)
                return r;
        snprintf(p->exam.allow, sizeof(p->exam.allow), "%s", allow);
        if ((r = json_get_bool(args, "warm", &p->exam.warm, err)) < 0 && r != -ENOENT)
                return r;
        const char *ready = "login:";
        if ((r = json_get_string(args, "warm_ready", &ready, err)) < 0 && r != -ENOENT)
                return r;
        if ((r = check_warm_ready(ready, err)) < 0)
                return r;
        snprintf(p->exam.warm_ready, sizeof(p->exam.warm_ready), "%s", ready);
        if ((r = json_get_bool(args, "no_selftest", &p->no_selftest, err)) < 0 && r != -ENOENT)
                return r;
        if ((r = arg_time(args, "start", &p->exam.start, err)) < 0 || (r = arg_time(args, "end", &p->exam.end, err)) < 0)
                return r;
        if (p->exam.end <= p->exam.start)
                return error_set(err, -EINVAL, "the exam ends before it starts");
        if (p->exam.end <= (int64_t)time(NULL))
                return error_set(err, -EINVAL, "the exam's end is in the past");
        GroupRec g;
        if ((r = resolve_group(c, args, "group", &g, err)) < 0 || (r = plan_template(c, who, args, p, err)) < 0)
                return r;
        p->exam.ugroup = g.id;
        p->exam.template_vm = p->template.id;
        p->exam.owner = who->uid;
        p->exam.state = EXAM_CREATED;
        if ((size_t)snprintf(p->exam.collection, sizeof(p->exam.collection), "%s/exams/%s", c->settings->state_dir,
                             name) >= sizeof(p->exam.collection))
                return error_set(err, -ENAMETOOLONG, "state_dir is too long for an exam's collection folder");
        _cleanup_free_ uint32_t *uids = NULL;
        size_t n = 0;
        if ((r = store_group_member_uids(c->store, g.id, &uids, &n)) < 0)
                return error_set(err, r, "cannot list the members of group '%s'", g.name);
        if (n == 0 || n > EXAM_MEMBERS_MAX)
                return error_set(err, -EINVAL, "group '%s' has %zu members (an exam takes 1..%d)", g.name, n,
                                 EXAM_MEMBERS_MAX);
        p->m = xcalloc(n, sizeof(ExamMemberPlan));
        for (size_t i = 0; i < n; i++)
                if ((r = plan_member(c, p, uids[i], err)) < 0)
                        return r;
        *ret_plan = TAKE_PTR(p);
        return 0;
}

static void remove_overlays(const ExamCreatePlan *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                disk_remove(&p->m[i].cred, p->m[i].path, NULL);
}

/* In the worker, as each member: the overlay on the template's disc (made
 * without opening it, as vm.add --base does). "ok" and four numbers per
 * member, or "error ERRNO MESSAGE" with what was made removed. */
static void exam_create_run(void *arg, FILE *out) {
        const ExamCreatePlan *p = arg;
        Error err = {0};
        _cleanup_free_ DiscRec *made = xcalloc(p->n, sizeof(DiscRec));
        size_t i = 0;
        int r = 0;
        for (; i < p->n && r >= 0; i++) {
                const ExamMemberPlan *m = &p->m[i];
                DiscRec *d = &made[i];
                if ((r = disk_derive(&m->cred, p->tdisc.path, p->tdisc.size, m->path, &err)) >= 0 &&
                    (r = disk_measure(&m->cred, m->path, &d->size, &d->allocated, &err)) >= 0)
                        r = disk_identity(m->path, &d->dev, &d->ino, &err);
        }
        if (r < 0) {
                remove_overlays(p, i); /* a half-made file goes too */
                fprintf(out, "error %d %s", -r, err.message);
                return;
        }
        fputs("ok", out);
        for (i = 0; i < p->n; i++)
                fprintf(out, " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64, made[i].size, made[i].allocated,
                        made[i].dev, made[i].ino);
}

static int read_made(ExamCreatePlan *p, const char *outcome, Error *err) {
        int code = 0, used = 0;
        if (sscanf(outcome, "error %d %n", &code, &used) == 1 && code > 0 && used > 0)
                return error_set(err, -code, "%s", outcome + used);
        if (strncmp(outcome, "ok", 2) != 0)
                return error_set(err, -EIO, "deriving the exam's vms failed (the worker died)");
        const char *q = outcome + 2;
        for (size_t i = 0; i < p->n; i++) {
                DiscRec *d = &p->m[i].made;
                int n = 0;
                if (sscanf(q, " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 "%n", &d->size, &d->allocated, &d->dev,
                           &d->ino, &n) != 4)
                        return error_set(err, -EIO, "deriving the exam's vms failed (a bad outcome)");
                q += n;
                d->backing = p->tdisc.id;
                snprintf(d->path, sizeof(d->path), "%s", p->m[i].path);
        }
        return 0;
}

/* One member's VM, disc, owner's grant (forced isolated) and row. */
static int record_member(Controller *c, ExamCreatePlan *p, ExamMemberPlan *m, Error *err) {
        const VmRec *t = &p->template;
        VmRec v = {.owner = m->user.uid, .vm_group = t->vm_group, .base = t->id, .mem = t->mem, .vcpus = t->vcpus,
                   .force_isolated = true};
        snprintf(v.name, sizeof(v.name), "%s", m->vm_name);
        snprintf(v.desc, sizeof(v.desc), "exam %s", p->exam.name);
        memcpy(v.kernel, t->kernel, sizeof(v.kernel));
        memcpy(v.initrd, t->initrd, sizeof(v.initrd));
        memcpy(v.cmdline, t->cmdline, sizeof(v.cmdline));
        int r = store_vm_insert(c->store, &v, err);
        if (r < 0)
                return r;
        m->made.vm = v.id;
        if ((r = store_disc_insert(c->store, &m->made, err)) < 0)
                return r;
        Grant g = {.subject_type = SUBJECT_USER, .subject = v.owner, .object_type = OBJECT_VM, .object = v.id,
                   .run = true, .modify = true, .force_isolated = true};
        if ((r = store_grant_put(c->store, &g, err)) < 0)
                return r;
        ExamMemberRec row = {.exam = p->exam.id, .uid = v.owner, .vm = v.id, .state = EXAM_MEMBER_PENDING};
        return store_exam_member_insert(c->store, &row, err);
}

static int exam_create_finish(Controller *c, const Caller *who, void *plan, const char *outcome, json_t **ret,
                              OpAudit *audit, Error *err) {
        ExamCreatePlan *p = plan;
        int r = read_made(p, outcome, err);
        if (r < 0)
                return r; /* the run removed what it made */
        r = store_exam_insert(c->store, &p->exam, err);
        for (size_t i = 0; i < p->n && r >= 0; i++)
                r = record_member(c, p, &p->m[i], err);
        if (r >= 0)
                r = exam_selftest_created(c, &p->exam, p->no_selftest, err);
        if (r < 0) {
                remove_overlays(p, p->n);
                return r;
        }
        snprintf(audit->object, sizeof(audit->object), "exam %u %s", p->exam.id, p->exam.name);
        *ret = exam_json(c, &p->exam);
        json_object_set_new(*ret, "members", json_integer((json_int_t)p->n));
        return 0;
}

static const OpJobDef exam_create_job = {
        .plan = exam_create_plan,
        .run = exam_create_run,
        .finish = exam_create_finish,
        .free = exam_create_plan_free,
};

/* ---- list, show ---- */

static int op_exam_list(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                        Error *err) {
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0;
        int r = store_exam_ids(c->store, -1, &ids, &n);
        if (r < 0)
                return error_set(err, r, "cannot list exams");
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++) {
                ExamRec e;
                ExamMemberRec m;
                if (store_exam_get(c->store, ids[i], &e) < 0 ||
                    (!who->admin && store_exam_member_get(c->store, e.id, who->uid, &m) < 0))
                        continue;
                json_array_append_new(list, exam_json(c, &e));
        }
        *ret = list;
        return 0;
}

/* exam.show is a job (core/ops.h OpJobDef): besides the rows, when each
 * member's disc was last written (its overlay's mtime: qemu writes it as
 * the guest writes), which a worker reads: the overlay sits in the
 * student's folder, possibly on NFS, and a stat must not hold the loop. The
 * file is the recorded one only (lstat, the recorded device and inode);
 * anything else reads as unknown. */
typedef struct ExamShowDisc {
        uint32_t uid;
        char path[PATH_MAX];
        uint64_t dev, ino;
} ExamShowDisc;

typedef struct ExamShowPlan {
        uint32_t exam;
        ExamShowDisc *d;
        size_t n;
} ExamShowPlan;

static void exam_show_plan_free(void *p) {
        ExamShowPlan *plan = p;
        if (plan)
                free(plan->d);
        free(plan);
}

static void exam_show_plan_freep(ExamShowPlan **p) { exam_show_plan_free(*p); }

/* The members the caller sees: every one for an admin, else their own. */
static int shown_members(Controller *c, const Caller *who, const json_t *args, ExamRec *e, ExamMemberRec **ret,
                         size_t *ret_n, Error *err) {
        ExamMemberRec mine;
        int r = resolve_exam_for(c, who, args, e, &mine, err);
        if (r < 0)
                return r;
        if (!who->admin) {
                *ret = xcalloc(1, sizeof(mine));
                **ret = mine;
                *ret_n = 1;
                return 0;
        }
        if ((r = store_exam_members(c->store, e->id, ret, ret_n)) < 0)
                return error_set(err, r, "cannot list the exam's members");
        return 0;
}

static int exam_show_plan(Controller *c, const Caller *who, const json_t *args, void **ret_plan, Error *err) {
        _cleanup_(exam_show_plan_freep) ExamShowPlan *p = xcalloc(1, sizeof(*p));
        _cleanup_free_ ExamMemberRec *m = NULL;
        size_t n = 0;
        ExamRec e;
        int r = shown_members(c, who, args, &e, &m, &n, err);
        if (r < 0)
                return r;
        p->exam = e.id;
        p->d = xcalloc(n ? n : 1, sizeof(ExamShowDisc));
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ DiscRec *d = NULL;
                size_t nd = 0;
                if (!m[i].vm || store_disc_list(c->store, m[i].vm, &d, &nd) < 0 || nd != 1)
                        continue;
                ExamShowDisc *x = &p->d[p->n++];
                *x = (ExamShowDisc){.uid = m[i].uid, .dev = d[0].dev, .ino = d[0].ino};
                snprintf(x->path, sizeof(x->path), "%s", d[0].path);
        }
        *ret_plan = TAKE_PTR(p);
        return 0;
}

/* In the worker: "UID MTIME_MS" per disc that is the recorded file. */
static void exam_show_run(void *arg, FILE *out) {
        ExamShowPlan *p = arg;
        for (size_t i = 0; i < p->n; i++) {
                struct stat st;
                const ExamShowDisc *x = &p->d[i];
                if (lstat(x->path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_dev == x->dev &&
                    (uint64_t)st.st_ino == x->ino)
                        fprintf(out, "%u %lld\n", x->uid,
                                (long long)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000);
        }
}

/* the outcome's mtime of uid's disc (0: unknown) */
static int64_t disc_written_ms(const char *outcome, uint32_t uid) {
        for (const char *l = outcome; l && *l;) {
                unsigned u;
                long long ms;
                if (sscanf(l, "%u %lld", &u, &ms) == 2 && u == uid)
                        return ms;
                l = strchr(l, '\n');
                l = l ? l + 1 : NULL;
        }
        return 0;
}

static int exam_show_finish(Controller *c, const Caller *who, void *plan, const char *outcome, json_t **ret,
                            OpAudit *audit, Error *err) {
        ExamShowPlan *p = plan;
        /* the rows as they are now, for the caller as they are now */
        json_t *args = json_pack("{s:I}", "exam", (json_int_t)p->exam);
        _cleanup_free_ ExamMemberRec *m = NULL;
        size_t n = 0;
        ExamRec e;
        int r = shown_members(c, who, args, &e, &m, &n, err);
        json_decref(args);
        if (r < 0)
                return r;
        json_t *rows = json_array();
        for (size_t i = 0; i < n; i++) {
                json_t *row = member_json(c, &e, &m[i]);
                int64_t ms = disc_written_ms(outcome, m[i].uid);
                json_object_set_new(row, "disc_written_ms", ms ? json_integer((json_int_t)ms) : json_null());
                json_array_append_new(rows, row);
        }
        *ret = exam_json(c, &e);
        json_object_set_new(*ret, "members", rows);
        if (who->admin) /* the probes' results are the teacher's */
                json_object_set_new(*ret, "selftest", exam_selftest_json(c, e.id));
        return 0;
}

static const OpJobDef exam_show_job = {
        .plan = exam_show_plan,
        .run = exam_show_run,
        .finish = exam_show_finish,
        .free = exam_show_plan_free,
};

/* ---- start, stop, extend ---- */

static int set_members(Controller *c, const ExamRec *e, ExamMemberState from, ExamMemberState to, Error *err) {
        _cleanup_free_ ExamMemberRec *m = NULL;
        size_t n = 0;
        int r = store_exam_members(c->store, e->id, &m, &n);
        if (r < 0)
                return error_set(err, r, "cannot list the exam's members");
        for (size_t i = 0; i < n && r >= 0; i++)
                if (m[i].state == from) {
                        m[i].state = to;
                        r = store_exam_member_update(c->store, &m[i], err);
                }
        return r;
}

/* The clock (daemon/exam_clock.c) starts an exam at its start time too. */
int exam_start(Controller *c, ExamRec *e, Error *err) {
        if (e->state == EXAM_RUNNING || e->state == EXAM_ENDED)
                return error_set(err, -EBUSY, "the exam %s is %s", e->name, exam_state_to_string(e->state));
        int64_t now = (int64_t)time(NULL);
        if (e->end <= now)
                return error_set(err, -EINVAL, "the exam %s ended before it was started", e->name);
        int r = exam_selftest_check_ready(c, e, err); /* not ready: not started */
        if (r < 0)
                return r;
        if (e->start > now)
                e->start = now; /* started early by hand: the window says when it really began */
        e->state = EXAM_RUNNING;
        r = store_exam_update(c->store, e, err);
        return r < 0 ? r : set_members(c, e, EXAM_MEMBER_PENDING, EXAM_MEMBER_RUNNING, err);
}

static int op_exam_start(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                         Error *err) {
        ExamRec e;
        int r = resolve_exam(c, args, &e, err);
        if (r < 0 || (r = exam_start(c, &e, err)) < 0)
                return r;
        snprintf(audit->object, sizeof(audit->object), "exam %u %s", e.id, e.name);
        *ret = exam_json(c, &e);
        return 0;
}

/* Every member not yet sealed is frozen and sealed now (the clock sees an
 * ended exam's members as due). */
static int op_exam_stop(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                        Error *err) {
        ExamRec e;
        int r = resolve_exam(c, args, &e, err);
        if (r < 0)
                return r;
        if (e.state == EXAM_ENDED)
                return error_set(err, -EBUSY, "the exam %s has ended already", e.name);
        int64_t now = (int64_t)time(NULL);
        if (e.end > now)
                e.end = now;
        if (e.start >= e.end)
                e.start = e.end - 1;
        e.state = EXAM_ENDED;
        if ((r = store_exam_update(c->store, &e, err)) < 0)
                return r;
        snprintf(audit->object, sizeof(audit->object), "exam %u %s", e.id, e.name);
        *ret = exam_json(c, &e);
        return 0;
}

static int op_exam_extend(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                          Error *err) {
        ExamRec e;
        UserRec u;
        ExamMemberRec m;
        uint64_t minutes = 0;
        int r = resolve_exam(c, args, &e, err);
        if (r < 0 || (r = resolve_user(c, args, "user", &u, err)) < 0)
                return r;
        if ((r = json_get_u64(args, "minutes", &minutes, err)) < 0)
                return r == -ENOENT ? error_set(err, -EINVAL, "missing minutes") : r;
        if (minutes == 0 || minutes > 10000)
                return error_set(err, -EINVAL, "minutes %llu is out of range (1..10000)", (unsigned long long)minutes);
        if (store_exam_member_get(c->store, e.id, u.uid, &m) < 0)
                return error_set(err, -ENOENT, "%s does not sit the exam %s", u.name, e.name);
        if (m.state == EXAM_MEMBER_FROZEN || m.state == EXAM_MEMBER_SEALED || e.state == EXAM_ENDED)
                return error_set(err, -EBUSY, "%s's exam %s is over (their vm is %s)", u.name, e.name,
                                 exam_member_state_to_string(m.state));
        m.extra_minutes += (uint32_t)minutes;
        if ((r = store_exam_member_update(c->store, &m, err)) < 0)
                return r;
        snprintf(audit->object, sizeof(audit->object), "exam %u %s member %u", e.id, e.name, u.uid);
        *ret = member_json(c, &e, &m);
        return 0;
}

/* ---- collect: the CLI copies the sealed discs itself, as the caller
 * (cli/exam_collect.c); here only what it needs of every member (admins),
 * audited with the folder the caller names ---- */

static int op_exam_collect(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                           Error *err) {
        const char *dir;
        ExamRec e;
        int r = json_need_string(args, "dir", &dir, err);
        if (r < 0 || (r = validate_path("dir", dir, err)) < 0 || (r = resolve_exam(c, args, &e, err)) < 0)
                return r;
        _cleanup_free_ ExamMemberRec *m = NULL;
        size_t n = 0;
        if ((r = store_exam_members(c->store, e.id, &m, &n)) < 0)
                return error_set(err, r, "cannot list the exam's members");
        json_t *rows = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(rows, member_json(c, &e, &m[i]));
        *ret = exam_json(c, &e);
        json_object_set_new(*ret, "members", rows);
        snprintf(audit->object, sizeof(audit->object), "exam %u %s", e.id, e.name);
        return 0;
}

/* ---- receipts ---- */

static int receipt_key(Controller *c, uint8_t priv[EXAM_KEY_SIZE], Error *err) {
        _cleanup_free_ char *path = xasprintf("%s/" RECEIPT_KEY_FILE, c->settings->state_dir);
        return exam_key_load(path, priv, err);
}

static json_t *pubkey_json(const uint8_t priv[EXAM_KEY_SIZE]) {
        uint8_t pub[EXAM_KEY_SIZE];
        char b64[64];
        exam_key_public(priv, pub);
        exam_key_to_base64(pub, b64);
        return json_pack("{s:s, s:s}", "algorithm", "ed25519", "pubkey", b64);
}

static int op_exam_pubkey(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                          Error *err) {
        uint8_t priv[EXAM_KEY_SIZE];
        int r = receipt_key(c, priv, err);
        if (r >= 0)
                *ret = pubkey_json(priv);
        return r;
}

static int op_exam_receipt(Controller *c, const Caller *who, const json_t *args, json_t **ret, OpAudit *audit,
                           Error *err) {
        ExamRec e;
        ExamMemberRec m;
        UserRec u;
        if (json_is_true(json_object_get(args, "pubkey"))) { /* audited as what it is */
                snprintf(audit->object, sizeof(audit->object), "exam receipt key");
                return op_exam_pubkey(c, who, args, ret, audit, err);
        }
        int r = resolve_exam_for(c, who, args, &e, &m, err);
        if (r < 0)
                return r;
        if (who->admin) { /* an admin names the student (default: themselves) */
                if (!json_object_get(args, "user"))
                        u = who->user;
                else if ((r = resolve_user(c, args, "user", &u, err)) < 0)
                        return r;
                if (store_exam_member_get(c->store, e.id, u.uid, &m) < 0)
                        return error_set(err, -ENOENT, "%s does not sit the exam %s", u.name, e.name);
        } else if (json_object_get(args, "user"))
                return error_set(err, -EPERM, "a student gets only their own receipt");
        else
                u = who->user;
        if (m.state != EXAM_MEMBER_SEALED)
                return error_set(err, -EAGAIN, "%s's hand-in of the exam %s is not sealed yet (%s)", u.name, e.name,
                                 exam_member_state_to_string(m.state));
        uint8_t priv[EXAM_KEY_SIZE];
        if ((r = receipt_key(c, priv, err)) < 0)
                return r;
        VmRec v = {0};
        if (m.vm)
                store_vm_get(c->store, m.vm, &v);
        ExamReceipt rc = {.exam = e.name, .student = u.name, .uid = u.uid, .vm = m.vm, .vm_name = v.name,
                          .sha256 = m.sha256, .sealed_at = m.sealed_at, .late_minutes = m.late_minutes};
        _cleanup_free_ char *text = NULL;
        if (exam_receipt_make(&rc, priv, &text) < 0)
                return error_set(err, -EINVAL, "cannot write a receipt of these values");
        snprintf(audit->object, sizeof(audit->object), "exam %u %s member %u", e.id, e.name, u.uid);
        *ret = pubkey_json(priv);
        json_object_set_new(*ret, "receipt", json_string(text));
        return 0;
}

static const char *const keys_create[] = {"name", "template", "group", "start", "end", "warm", "warm_ready", "allow",
                                          "no_selftest", NULL};
static const char *const keys_exam[] = {"exam", NULL};
static const char *const keys_extend[] = {"exam", "user", "minutes", NULL};
static const char *const keys_collect[] = {"exam", "dir", NULL};
static const char *const keys_receipt[] = {"exam", "user", "pubkey", NULL};
static const char *const keys_none[] = {NULL};

const OpDef ops_exam[] = {
        {"exam.create", NULL, OP_MUTATES | OP_ADMIN, keys_create, &exam_create_job},
        {"exam.list", op_exam_list, 0, keys_none, NULL},
        {"exam.show", NULL, 0, keys_exam, &exam_show_job},
        {"exam.start", op_exam_start, OP_MUTATES | OP_ADMIN, keys_exam, NULL},
        {"exam.stop", op_exam_stop, OP_MUTATES | OP_ADMIN, keys_exam, NULL},
        {"exam.extend", op_exam_extend, OP_MUTATES | OP_ADMIN, keys_extend, NULL},
        {"exam.collect", op_exam_collect, OP_MUTATES | OP_ADMIN, keys_collect, NULL},
        {"exam.receipt", op_exam_receipt, OP_MUTATES, keys_receipt, NULL},
        {"exam.pubkey", op_exam_pubkey, 0, keys_none, NULL},
        {NULL, NULL, 0, NULL, NULL},
};
