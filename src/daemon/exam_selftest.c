/* exam_selftest.c - exams' isolation self-tests: probes out, serial logs
 * read, verdict recorded, probes removed. See exam_selftest.h. */
#include "daemon/exam_selftest.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/worker.h"
#include "core/ops_exam.h"
#include "core/ops_exam_selftest.h"
#include "core/selftest_verdict.h"
#include "daemon/selftest_gateway.h"

#define TICK_MS 1000
#define FINISH_WAIT_MS 15000   /* after the attack: how long the listener has to report */
#define CLEANUP_KILL_MS 30000  /* a probe still there after this is killed again */
#define READ_CAP (24u << 10)   /* a probe's VMB- lines kept, at most (worker output is 64 KiB) */
#define PROBE_MEM (128ull << 20)
#define FLOOD_FRAMES 1000      /* the attacker's broadcast storm */
#define PEER_PORT 9            /* the gateway's tagged datagram to the listener */
#define STOP_PORT 7777         /* the listener ends on "stop" there (vmb-attack.c STOP_PORT) */
#define BASE_CMDLINE "console=ttyS0 quiet panic=-1 vmb.net=1"

enum { LISTENER, ATTACKER, N_PROBES };
static const char *const role_name[N_PROBES] = {"listener", "attacker"};

typedef enum Phase {
        PHASE_IDLE,
        PHASE_LISTENER, /* the listener boots, gets its lease, listens */
        PHASE_ATTACKER, /* the attacker boots and attacks */
        PHASE_FINISH,   /* the gateway's datagram and "stop" to the listener; its counts */
        PHASE_CLEANUP,  /* the instances ended, then the vm rows deleted */
} Phase;

typedef struct Probe {
        uint32_t vm, instance;
        char ip[16], mac[18];
        char serial[PATH_MAX];
        char *text; /* its VMB- lines so far (the worker's reading) */
        size_t len;
} Probe;

struct ExamSelftest {
        EventLoop *loop;
        Controller *c;
        Workers *workers;
        EventSource *tick;
        /* the run under way */
        Phase phase;
        ExamRec exam;
        int64_t started_ms, deadline_ms, phase_ms, killed_ms;
        Probe p[N_PROBES];
        SelftestGateway *gw;
        WorkerJob *reading;
        char read_paths[N_PROBES][PATH_MAX]; /* the worker's argument */
        unsigned stops_sent;
};

/* An operation as the exam's owner (the teacher), in its own transaction. */
static int call(ExamSelftest *k, const char *op, json_t *args, json_t **ret, Error *err) {
        json_t *data = NULL;
        int r = controller_handle(k->c, k->exam.owner, op, args, &data, err);
        json_decref(args);
        if (ret)
                *ret = data;
        else
                json_decref(data);
        return r;
}

static void probe_name(const ExamSelftest *k, int role, char buf[STORE_NAME_MAX]) {
        snprintf(buf, STORE_NAME_MAX, "selftest-%u-%s", k->exam.id, role_name[role]);
}

/* ---- the serial logs, read in a worker ---- */

/* In the child: each probe's file, only its lines that start with "VMB-"
 * (a '\r' dropped, a NUL or other control byte made '?'), at most READ_CAP
 * bytes each; "LEN LEN\n" then the two texts. */
static size_t read_lines(const char *path, char *out, size_t cap) {
        int fd = *path ? open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : -1;
        struct stat st;
        if (fd < 0)
                return 0;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return 0;
        }
        FILE *f = fdopen(fd, "r");
        if (!f) {
                close(fd);
                return 0;
        }
        char line[512];
        size_t n = 0, ll = 0;
        bool overlong = false;
        for (int ch; (ch = getc(f)) != EOF;) {
                if (ch != '\n') {
                        if (ll < sizeof(line) - 1)
                                line[ll++] = ch == '\r' ? 0 : (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
                        else
                                overlong = true;
                        continue;
                }
                size_t k = 0; /* the '\r's dropped */
                for (size_t i = 0; i < ll; i++)
                        if (line[i])
                                line[k++] = line[i];
                if (!overlong && k >= 4 && memcmp(line, "VMB-", 4) == 0 && n + k + 1 <= cap) {
                        memcpy(out + n, line, k);
                        n += k;
                        out[n++] = '\n';
                }
                ll = 0;
                overlong = false;
        }
        fclose(f);
        return n;
}

static void read_run(void *arg, FILE *out) {
        char (*paths)[PATH_MAX] = arg;
        static char buf[N_PROBES][READ_CAP];
        size_t n[N_PROBES];
        for (int i = 0; i < N_PROBES; i++)
                n[i] = read_lines(paths[i], buf[i], READ_CAP);
        fprintf(out, "%zu %zu\n", n[0], n[1]);
        for (int i = 0; i < N_PROBES; i++)
                fwrite(buf[i], 1, n[i], out);
}

static void advance(ExamSelftest *k);

static void read_done(void *userdata, const char *output, int status) {
        ExamSelftest *k = userdata;
        size_t n[N_PROBES];
        int used = 0;
        k->reading = NULL;
        if (sscanf(output, "%zu %zu\n%n", &n[0], &n[1], &used) == 2 && used > 0 && n[0] <= READ_CAP &&
            n[1] <= READ_CAP && strlen(output + used) == n[0] + n[1]) {
                const char *q = output + used;
                for (int i = 0; i < N_PROBES; i++) {
                        free(k->p[i].text);
                        k->p[i].text = xcalloc(1, n[i] + 1);
                        memcpy(k->p[i].text, q, n[i]);
                        k->p[i].text[n[i]] = 0;
                        k->p[i].len = n[i];
                        q += n[i];
                }
        } else
                log_warn("exam %s: self-test: reading the probes' serial logs failed (status %d)", k->exam.name,
                         status);
        advance(k);
}

static void read_start(ExamSelftest *k) {
        if (k->reading)
                return;
        for (int i = 0; i < N_PROBES; i++)
                snprintf(k->read_paths[i], PATH_MAX, "%s", k->p[i].serial);
        k->reading = worker_queue(k->workers, read_run, k->read_paths, read_done, k);
}

/* A line of the probe's that starts with word (followed by a space or its end). */
static bool said(const Probe *p, const char *word) {
        size_t wl = strlen(word);
        for (const char *q = p->text; q && *q;) {
                if (strncmp(q, word, wl) == 0 && (q[wl] == ' ' || q[wl] == '\n' || q[wl] == 0))
                        return true;
                const char *nl = strchr(q, '\n');
                q = nl ? nl + 1 : NULL;
        }
        return false;
}

static bool instance_gone(ExamSelftest *k, const Probe *p) {
        InstanceRec inst;
        return !p->instance || store_instance_get(k->c->store, p->instance, &inst) == -ENOENT;
}

/* ---- probes ---- */

/* The probe vms an earlier run left (a vmbatchd stopped during the test):
 * true when there are none (any found deleted); false while one still runs
 * (its instances are killed: the test waits for the next tick). */
static bool leftovers_gone(ExamSelftest *k) {
        bool gone = true;
        for (int role = 0; role < N_PROBES; role++) {
                char name[STORE_NAME_MAX];
                VmRec old;
                _cleanup_free_ uint32_t *ids = NULL;
                size_t n = 0;
                Error err = {0};
                probe_name(k, role, name);
                if (store_vm_get_by_owner_name(k->c->store, k->exam.owner, name, &old) < 0)
                        continue;
                if (store_instance_ids_for_vm(k->c->store, old.id, &ids, &n) < 0 || n > 0) {
                        for (size_t i = 0; i < n; i++)
                                call(k, "instance.stop", json_pack("{s:I, s:b}", "instance", (json_int_t)ids[i], "force", 1),
                                     NULL, &err);
                        gone = false;
                } else if (call(k, "vm.del", json_pack("{s:I}", "vm", (json_int_t)old.id), NULL, &err) < 0) {
                        log_warn("exam %s: self-test: deleting an earlier run's probe vm %u: %s", k->exam.name, old.id,
                                 err.message);
                        gone = false;
                }
        }
        return gone;
}

/* The probe vm row, audited. */
static int probe_make(ExamSelftest *k, int role, const char *cmdline, Error *err) {
        Store *s = k->c->store;
        VmRec t, v;
        int r = store_vm_get(s, k->exam.template_vm, &t);
        if (r < 0)
                return store_get_error(s, r, err, "the exam's template vm %u is gone", k->exam.template_vm);
        v = (VmRec){.owner = k->exam.owner, .vm_group = t.vm_group, .mem = PROBE_MEM, .vcpus = 1,
                    .force_isolated = true};
        probe_name(k, role, v.name);
        snprintf(v.desc, sizeof(v.desc), "exam %s: isolation self-test %s", k->exam.name, role_name[role]);
        snprintf(v.kernel, sizeof(v.kernel), "%s", k->c->settings->exam_probe_kernel);
        snprintf(v.initrd, sizeof(v.initrd), "%s", k->c->settings->exam_probe_initrd);
        snprintf(v.cmdline, sizeof(v.cmdline), "%s", cmdline);
        if ((r = store_begin(s, err)) < 0)
                return r;
        if ((r = store_vm_insert(s, &v, err)) < 0) {
                store_rollback(s);
                return r;
        }
        exam_audit(s, "exam.selftest.probe", &k->exam, (uint32_t)-1,
                   json_pack("{s:s, s:I, s:s}", "role", role_name[role], "vm", (json_int_t)v.id, "cmdline", cmdline));
        if ((r = store_commit(s, err)) < 0) {
                store_rollback(s);
                return r;
        }
        k->p[role].vm = v.id;
        return 0;
}

/* vm.run --isolate as the teacher; the instance's address and serial log. */
static int probe_run(ExamSelftest *k, int role, Error *err) {
        Probe *p = &k->p[role];
        json_t *inst = NULL;
        int r = call(k, "vm.run", json_pack("{s:I, s:b}", "vm", (json_int_t)p->vm, "isolate", 1), &inst, err);
        if (r < 0)
                return r;
        p->instance = (uint32_t)json_integer_value(json_object_get(inst, "id"));
        snprintf(p->ip, sizeof(p->ip), "%s", json_string_value(json_object_get(inst, "ip")) ?: "");
        snprintf(p->mac, sizeof(p->mac), "%s", json_string_value(json_object_get(inst, "mac")) ?: "");
        if ((size_t)snprintf(p->serial, sizeof(p->serial), "%.*s/jobs/instance-%u.serial", PATH_MAX - 64,
                             k->c->settings->state_dir, p->instance) >= sizeof(p->serial))
                p->serial[0] = 0;
        json_decref(inst);
        log_info("exam %s: self-test %s: instance %u (%s %s)", k->exam.name, role_name[role], p->instance, p->ip,
                 p->mac);
        return 0;
}

static void set_phase(ExamSelftest *k, Phase ph) {
        k->phase = ph;
        k->phase_ms = wall_ms();
}

/* ---- the verdict ---- */

static json_t *results_json(ExamSelftest *k, const SelftestVerdict *v, int64_t ms) {
        json_t *attacks = json_object(), *controls = json_object();
        for (size_t i = 0; i < SELFTEST_ATTACKS; i++)
                json_object_set_new(attacks, selftest_attack_name(i),
                                    json_string(selftest_outcome_to_string(v->attack[i])));
        for (size_t i = 0; i < SELFTEST_CONTROLS; i++)
                json_object_set_new(controls, selftest_control_name(i), json_boolean(v->control_ok[i]));
        json_t *probes = json_object();
        for (int i = 0; i < N_PROBES; i++)
                json_object_set_new(probes, role_name[i],
                                    json_pack("{s:I, s:s, s:s}", "instance", (json_int_t)k->p[i].instance, "ip",
                                              k->p[i].ip, "mac", k->p[i].mac));
        return json_pack("{s:o, s:o, s:I, s:I, s:I, s:I, s:{s:i, s:s, s:I}, s:{s:s, s:I}, s:s, s:o, s:I}", "attacks",
                         attacks, "controls", controls, "blocked", (json_int_t)v->n_blocked, "through",
                         (json_int_t)v->n_through, "untried", (json_int_t)v->n_untried, "controls_ok",
                         (json_int_t)v->n_controls_ok, "host_tcp", "port", SELFTEST_HOST_TCP_PORT, "state",
                         selftest_gateway_tcp_state(k->gw), "accepts",
                         (json_int_t)selftest_gateway_accepts(k->gw), "host_dns", "state",
                         selftest_gateway_dns_state(k->gw), "answers",
                         (json_int_t)selftest_gateway_dns_answers(k->gw), "filter_backend",
                         filter_kind_to_string(k->c->settings->filter_backend) ?: "", "probes", probes,
                         "duration_ms", (json_int_t)ms);
}

static void cleanup_start(ExamSelftest *k);

/* The result recorded (the exam ready or not), audited; then the cleanup.
 * why: a failure before the probes could answer (NULL: the verdict's). */
static void conclude(ExamSelftest *k, bool timed_out, const char *why) {
        SelftestVerdict v;
        SelftestFacts f = {.attacker = k->p[ATTACKER].text, .attacker_len = k->p[ATTACKER].len,
                           .listener = k->p[LISTENER].text, .listener_len = k->p[LISTENER].len,
                           .host_tcp_accepts = selftest_gateway_accepts(k->gw), .timed_out = timed_out};
        selftest_verdict(&f, &v);
        int64_t ms = wall_ms() - k->started_ms;
        json_t *res = results_json(k, &v, ms);
        _cleanup_free_ char *text = json_dumps(res, JSON_COMPACT);
        char reason[SELFTEST_REASON_MAX + 256];
        if (why)
                snprintf(reason, sizeof(reason), "%s", why);
        else if (timed_out)
                snprintf(reason, sizeof(reason), "%s (after %u s)", v.reason, k->c->settings->exam_selftest_timeout_s);
        else
                snprintf(reason, sizeof(reason), "%s", v.reason);
        bool passed = v.ready && !why;
        Store *s = k->c->store;
        Error err = {0};
        if (store_begin(s, &err) < 0 ||
            exam_selftest_record(k->c, k->exam.id, passed, reason, text ?: "", k->started_ms / 1000, ms, &err) < 0) {
                store_rollback(s);
                log_error("exam %s: cannot record its self-test: %s", k->exam.name, err.message);
        } else {
                exam_audit(k->c->store, "exam.selftest.result", &k->exam, (uint32_t)-1,
                           json_pack("{s:b, s:s, s:I, s:I, s:I}", "passed", passed, "reason", reason, "duration_ms",
                                     (json_int_t)ms, "through", (json_int_t)v.n_through, "host_tcp_accepts",
                                     (json_int_t)selftest_gateway_accepts(k->gw)));
                if (store_commit(s, &err) < 0)
                        store_rollback(s);
        }
        json_decref(res);
        if (passed)
                log_info("exam %s: isolation self-test passed in %.1f s: %s", k->exam.name, ms / 1000.0, reason);
        else
                log_warn("exam %s: isolation self-test failed in %.1f s: %s", k->exam.name, ms / 1000.0, reason);
        cleanup_start(k);
}

/* ---- cleanup: whatever happened ---- */

static void kill_probes(ExamSelftest *k) {
        for (int i = 0; i < N_PROBES; i++) {
                Error err = {0};
                if (!instance_gone(k, &k->p[i]) &&
                    call(k, "instance.stop", json_pack("{s:I, s:b}", "instance", (json_int_t)k->p[i].instance,
                                                       "force", 1), NULL, &err) < 0)
                        log_warn("exam %s: self-test: stopping instance %u: %s", k->exam.name, k->p[i].instance,
                                 err.message);
        }
        k->killed_ms = wall_ms();
}

static void cleanup_start(ExamSelftest *k) {
        worker_cancel(k->reading);
        k->reading = NULL;
        selftest_gateway_free(k->gw);
        k->gw = NULL;
        set_phase(k, PHASE_CLEANUP);
        kill_probes(k);
}

static void cleanup_step(ExamSelftest *k) {
        for (int i = 0; i < N_PROBES; i++)
                if (!instance_gone(k, &k->p[i])) {
                        if (wall_ms() - k->killed_ms > CLEANUP_KILL_MS)
                                kill_probes(k);
                        return;
                }
        for (int i = 0; i < N_PROBES; i++) {
                Error err = {0};
                if (k->p[i].vm && call(k, "vm.del", json_pack("{s:I}", "vm", (json_int_t)k->p[i].vm), NULL, &err) < 0)
                        log_warn("exam %s: self-test: deleting probe vm %u: %s", k->exam.name, k->p[i].vm,
                                 err.message);
                free(k->p[i].text);
        }
        log_info("exam %s: self-test probes removed", k->exam.name);
        memset(k->p, 0, sizeof(k->p));
        set_phase(k, PHASE_IDLE);
}

/* ---- the phases ---- */

static void begin(ExamSelftest *k, uint32_t exam) {
        Store *s = k->c->store;
        const Settings *st = k->c->settings;
        Error err = {0};
        ExamSelftestRec t;
        memset(k->p, 0, sizeof(k->p));
        k->stops_sent = 0;
        if (store_exam_get(s, exam, &k->exam) < 0 || store_exam_selftest_get(s, exam, &t) < 0 || !leftovers_gone(k))
                return; /* pending still: the next tick tries again */
        k->started_ms = wall_ms();
        k->deadline_ms = k->started_ms + (int64_t)st->exam_selftest_timeout_s * 1000;
        t.state = EXAM_SELFTEST_RUNNING;
        t.started = k->started_ms / 1000;
        t.reason[0] = 0;
        if (store_begin(s, &err) < 0 || store_exam_selftest_put(s, &t, &err) < 0 || store_commit(s, &err) < 0) {
                store_rollback(s);
                log_error("exam %s: cannot start its self-test: %s", k->exam.name, err.message);
                return;
        }
        log_info("exam %s: isolation self-test started", k->exam.name);
        set_phase(k, PHASE_LISTENER);
        if (isempty(st->exam_probe_kernel) || isempty(st->exam_probe_initrd)) {
                conclude(k, false, "no probe guest: exam_probe_kernel and exam_probe_initrd are not set (vmbatch.conf); "
                                   "create the exam with --no-selftest to skip the test");
                return;
        }
        char gw[64], cmd[1024];
        settings_gateway(st, gw);
        snprintf(cmd, sizeof(cmd), BASE_CMDLINE " vmb.listen=%u", st->exam_selftest_timeout_s);
        int r = selftest_gateway_open(k->loop, gw, &k->gw, &err);
        if (r >= 0 && (r = probe_make(k, LISTENER, cmd, &err)) >= 0)
                r = probe_run(k, LISTENER, &err);
        if (r < 0) {
                char why[SELFTEST_REASON_MAX];
                snprintf(why, sizeof(why), "the listener probe could not start: %s", err.message);
                conclude(k, false, why);
        }
}

static void start_attacker(ExamSelftest *k) {
        Error err = {0};
        const Probe *l = &k->p[LISTENER];
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), BASE_CMDLINE " vmb.attack=%s vmb.peermac=%s vmb.flood=%d", l->ip, l->mac,
                 FLOOD_FRAMES);
        int r = probe_make(k, ATTACKER, cmd, &err);
        if (r >= 0)
                r = probe_run(k, ATTACKER, &err);
        if (r < 0) {
                char why[SELFTEST_REASON_MAX];
                snprintf(why, sizeof(why), "the attacker probe could not start: %s", err.message);
                conclude(k, false, why);
                return;
        }
        set_phase(k, PHASE_ATTACKER);
}

static bool listener_over(const Probe *p) {
        return said(p, "VMB-NOLEASE") || said(p, "VMB-ATTACK-MISSING") || said(p, "VMB-ATTACK-NOLEASE") ||
               said(p, "VMB-LISTEN-FAIL") || said(p, "VMB-LISTEN-END") || said(p, "VMB-DONE");
}

static bool attacker_over(const Probe *p) {
        return said(p, "VMB-ATTACK-END") || said(p, "VMB-ATTACK-FAIL") || said(p, "VMB-ATTACK-ERROR") ||
               said(p, "VMB-ATTACK-MISSING") || said(p, "VMB-ATTACK-NOLEASE") || said(p, "VMB-NOLEASE") ||
               said(p, "VMB-DONE");
}

/* After each reading of the serial logs. */
static void advance(ExamSelftest *k) {
        Probe *l = &k->p[LISTENER], *a = &k->p[ATTACKER];
        switch (k->phase) {
        case PHASE_LISTENER:
                if (said(l, "VMB-LISTENING"))
                        start_attacker(k);
                else if (listener_over(l) || instance_gone(k, l))
                        conclude(k, false, NULL);
                break;
        case PHASE_ATTACKER:
                if (attacker_over(a) || instance_gone(k, a) || listener_over(l)) {
                        /* the gateway may always reach a guest: the listener must hear this */
                        for (int i = 0; i < 3; i++) {
                                char tag[64];
                                snprintf(tag, sizeof(tag), "VMBTAG:gw-to-peer:%d:", i);
                                selftest_gateway_send(k->gw, l->ip, PEER_PORT, tag);
                        }
                        set_phase(k, PHASE_FINISH);
                }
                break;
        case PHASE_FINISH:
                if (said(l, "VMB-LISTEN-END") || instance_gone(k, l) || wall_ms() - k->phase_ms > FINISH_WAIT_MS)
                        conclude(k, false, NULL);
                else if (k->stops_sent++ < 10)
                        selftest_gateway_send(k->gw, l->ip, STOP_PORT, "stop");
                break;
        default:
                break;
        }
}

static void pick(ExamSelftest *k) {
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0;
        if (store_exam_selftest_ids(k->c->store, EXAM_SELFTEST_PENDING, &ids, &n) < 0 || n == 0)
                return;
        begin(k, ids[0]);
}

static int on_tick(EventSource *src, void *userdata) {
        ExamSelftest *k = userdata;
        switch (k->phase) {
        case PHASE_IDLE:
                pick(k);
                break;
        case PHASE_CLEANUP:
                cleanup_step(k);
                break;
        default:
                if (wall_ms() > k->deadline_ms)
                        conclude(k, true, NULL); /* with what the probes said so far */
                else
                        read_start(k);
                break;
        }
        return 0;
}

/* A run a stopped vmbatchd left: pending again (its probes go first). */
static void requeue_running(Controller *c) {
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0;
        Error err = {0};
        if (store_exam_selftest_ids(c->store, EXAM_SELFTEST_RUNNING, &ids, &n) < 0 || n == 0 ||
            store_begin(c->store, &err) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                ExamSelftestRec t;
                if (store_exam_selftest_get(c->store, ids[i], &t) == 0) {
                        t.state = EXAM_SELFTEST_PENDING;
                        snprintf(t.reason, sizeof(t.reason), "vmbatchd stopped during the test: it runs again");
                        store_exam_selftest_put(c->store, &t, &err);
                }
        }
        if (store_commit(c->store, &err) < 0)
                store_rollback(c->store);
}

int exam_selftest_new(EventLoop *loop, Controller *controller, ExamSelftest **ret, Error *err) {
        ExamSelftest *k = xcalloc(1, sizeof(*k));
        *k = (ExamSelftest){.loop = loop, .c = controller};
        int r = workers_new(loop, 1, &k->workers);
        if (r >= 0)
                r = event_add_timer(loop, TICK_MS, on_tick, k, &k->tick);
        if (r < 0) {
                exam_selftest_free(k);
                return error_set(err, r, "exam self-test: %s", strerror(-r));
        }
        requeue_running(controller);
        *ret = k;
        return 0;
}

void exam_selftest_free(ExamSelftest *k) {
        if (!k)
                return;
        event_source_free(k->tick);
        workers_free(k->workers);
        selftest_gateway_free(k->gw);
        for (int i = 0; i < N_PROBES; i++)
                free(k->p[i].text);
        free(k);
}
