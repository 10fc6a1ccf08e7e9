/* test-batch-sge.c - the Grid Engine backend without Grid Engine.
 *
 *   test-batch-sge GOLDEN_DIR
 *
 * The argv of qsub/qstat/qdel/qselect and the client environment are
 * compared with GOLDEN_DIR/sge-<case> (one argument per line);
 * VMBATCH_REGENERATE=1 rewrites them instead (review the diff before
 * committing). The parsers get what SoGE 8.1.9 really prints (captured from
 * qsub/qstat/qdel here). submit/state/cancel then run against spawn's
 * dry-run hook, which plays qsub/qstat/qdel: which programs run, as whom,
 * with what on stdin, and that a qmaster that does not answer is an error,
 * never "gone". Needs no root. */
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>

#include "basic/spawn.h"
#include "batch/batch.h"
#include "batch/sge.h"
#include "golden.h"

static void golden_argv(const char *name, char **argv) {
        if (!ok(argv != NULL, "%s: argv built", name))
                return;
        _cleanup_free_ char *got = golden_lines(argv);
        golden_check(name, got);
        batch_argv_free(argv);
}

static const Cred test_user = {.uid = 1003, .gid = 1004, .name = "doraz"};

static BatchSubmit request(uint32_t instance, uint64_t mem, uint32_t vcpus, uint32_t walltime) {
        static char name[32];
        snprintf(name, sizeof(name), "vmbatch-%u", instance);
        return (BatchSubmit){
                .instance = instance,
                .user = &test_user,
                .starter = "/usr/libexec/vmbatch/vmbatch-starter",
                .socket = "/run/vmbatch/vmbatchd.sock",
                .log_path = "/var/lib/vmbatch/jobs/instance-7.log",
                .mem = mem,
                .vcpus = vcpus,
                .walltime_s = walltime,
                .job_name = name,
        };
}

static void test_argv(void) {
        BatchSubmit r = request(7, 128ull << 20, 1, 0);
        golden_argv("sge-qsub-1vcpu.args", sge_qsub_argv(&r, NULL));
        /* a PE named but one vcpu: no -pe */
        golden_argv("sge-qsub-1vcpu.args", sge_qsub_argv(&r, SGE_PE_NAME));
        r = request(8, 2ull << 30, 1, 3600);
        golden_argv("sge-qsub-walltime.args", sge_qsub_argv(&r, NULL));
        r = request(9, 2ull << 30, 4, 0);
        golden_argv("sge-qsub-pe.args", sge_qsub_argv(&r, SGE_PE_NAME));
        r = request(9, 2ull << 30, 4, 0);
        golden_argv("sge-qsub-4vcpu-no-pe.args", sge_qsub_argv(&r, NULL));

        r = request(10, 128ull << 20, 1, 0);
        r.log_path = "/srv/a:b/instance-10.log";
        ok(sge_qsub_argv(&r, NULL) == NULL, "a ':' in the log path (qsub's host:path) is refused");
        r.log_path = NULL;
        ok(sge_qsub_argv(&r, NULL) == NULL, "no log path: refused");
        r = request(10, 128ull << 20, 1, 0);
        r.job_name = "";
        ok(sge_qsub_argv(&r, NULL) == NULL, "no job name: refused");

        r = request(11, 128ull << 20, 1, 0);
        r.host = "n2";
        r.queue = "vms.q";
        golden_argv("sge-qsub-host.args", sge_qsub_argv(&r, NULL));
        r.host = "n1|n2";
        ok(sge_qsub_argv(&r, NULL) == NULL, "a host expression (n1|n2) is refused: one host");
        r.host = "n*";
        ok(sge_qsub_argv(&r, NULL) == NULL, "a host wildcard is refused");
        r.host = NULL;
        r.queue = "a,b";
        ok(sge_qsub_argv(&r, NULL) == NULL, "a queue list is refused: one queue");

        golden_argv("sge-qstat-job.args", sge_qstat_job_argv("42"));
        golden_argv("sge-qstat-list.args", sge_qstat_list_argv("doraz"));
        golden_argv("sge-qstat-list-all.args", sge_qstat_list_argv(NULL));
        golden_argv("sge-qdel.args", sge_qdel_argv("42"));
        golden_argv("sge-qselect.args", sge_qselect_pe_argv(SGE_PE_NAME));

        SgeEnv e = {0};
        golden_argv("sge-env-default", sge_env_list(&e));
        e = (SgeEnv){.root = "/opt/sge", .cell = "lab", .qmaster_port = "6444", .execd_port = "6445"};
        golden_argv("sge-env-custom", sge_env_list(&e));

        /* what qsub reads on stdin: the job script every backend shares */
        r = request(7, 128ull << 20, 1, 0);
        _cleanup_free_ char *script = batch_job_script(&r);
        golden_check("sge-job-script", script);
        /* a warm exam VM's: the marker quoted for sh, whatever it holds */
        r.warm_ready = "it's up: login:";
        _cleanup_free_ char *warm = batch_job_script(&r);
        golden_check("job-script-warm", warm);
        golden_argv("starter-argv-warm", batch_starter_argv(&r));
}

static void test_vmem(void) {
        is_int(sge_vm_vmem_mib(128ull << 20, 1), 128 + SGE_VMEM_BASE_MIB + SGE_VMEM_PER_VCPU_MIB, "vmem: 128M, 1 vcpu");
        is_int(sge_vm_vmem_mib((128ull << 20) + 1, 1), 129 + SGE_VMEM_BASE_MIB + SGE_VMEM_PER_VCPU_MIB,
               "vmem: a partial MiB rounds up");
        is_int(sge_vm_vmem_mib(2ull << 30, 4), 2048 + SGE_VMEM_BASE_MIB + 4 * SGE_VMEM_PER_VCPU_MIB, "vmem: 2G, 4 vcpus");
        is_int(sge_vm_vmem_mib(2ull << 30, 0), 2048 + SGE_VMEM_BASE_MIB + SGE_VMEM_PER_VCPU_MIB, "vmem: 0 vcpus = 1");
        /* per slot with a PE: rounded up so slots * per-slot >= the whole */
        BatchSubmit r = request(9, 1000ull << 20, 3, 0);
        char **v = sge_qsub_argv(&r, SGE_PE_NAME);
        uint64_t whole = sge_vm_vmem_mib(r.mem, 3), per = (whole + 2) / 3;
        _cleanup_free_ char *want = xasprintf("h_vmem=%lluM", (unsigned long long)per);
        bool found = false;
        for (char **p = v; p && *p; p++)
                found |= streq(*p, want);
        ok(found && per * 3 >= whole, "h_vmem per slot: %s for %llu MiB over 3 slots", want, (unsigned long long)whole);
        batch_argv_free(v);
}

static void test_job_ids(void) {
        ok(sge_job_id_valid("1"), "job id 1");
        ok(sge_job_id_valid("1234567"), "job id 1234567");
        ok(!sge_job_id_valid(""), "empty job id");
        ok(!sge_job_id_valid(NULL), "NULL job id");
        ok(!sge_job_id_valid("0"), "job id 0");
        ok(!sge_job_id_valid("-u"), "an option is no job id");
        ok(!sge_job_id_valid("12.1-3:1"), "array job ids are not ours");
        ok(!sge_job_id_valid("1234:5678"), "a local backend id is no Grid Engine id");
        ok(!sge_job_id_valid("123456789012345678901"), "21 digits");

        char id[32];
        is_int(sge_parse_qsub("17\n", id, sizeof(id)), 0, "qsub -terse: 17");
        is_str(id, "17", "qsub -terse: id");
        is_int(sge_parse_qsub("  123 \r\n\n", id, sizeof(id)), 0, "qsub -terse: blanks around");
        is_str(id, "123", "qsub -terse: id trimmed");
        is_int(sge_parse_qsub("Your job 17 (\"vmbatch-1\") has been submitted\n", id, sizeof(id)), -EBADMSG,
               "qsub without -terse: refused");
        is_int(sge_parse_qsub("17.1-3:1\n", id, sizeof(id)), -EBADMSG, "array job: refused");
        is_int(sge_parse_qsub("", id, sizeof(id)), -EBADMSG, "qsub printed nothing");
        is_int(sge_parse_qsub(NULL, id, sizeof(id)), -EBADMSG, "qsub output NULL");
        is_int(sge_parse_qsub("17\n18\n", id, sizeof(id)), -EBADMSG, "two ids: refused");
        is_int(sge_parse_qsub("123456\n", id, 4), -EBADMSG, "id longer than the buffer: refused");
}

/* qstat -j of a running job, as SoGE 8.1.9 prints it */
static const char qstat_j_running[] =
        "==============================================================\n"
        "job_number:                 1\n"
        "exec_file:                  job_scripts/1\n"
        "submission_time:            Tue Nov 24 21:16:38 2026\n"
        "owner:                      doraz\n"
        "uid:                        1003\n"
        "group:                      doraz\n"
        "sge_o_workdir:              /\n"
        "hard resource_list:         h_vmem=1408M\n"
        "job_name:                   vmbatch-1\n"
        "stdout_path_list:           NONE:NONE:/var/lib/vmbatch/jobs/instance-1.log\n"
        "script_file:                STDIN\n"
        "usage         1:            cpu=00:00:00, mem=0.00000 GB s, io=0.00044 GB, vmem=1.691M, maxvmem=1.691M\n"
        "scheduling info:            There are no messages available\n";

static const char qstat_list[] =
        "job-ID  prior   name       user         state submit/start at     queue                          slots "
        "ja-task-ID \n"
        "-----------------------------------------------------------------------------------------------------------"
        "------\n"
        "      1 0.50000 vmbatch-1  doraz        r     11/24/2026 21:16:38 all.q@vm                           1        \n"
        "      2 0.50000 vmbatch-2  doraz        qw    11/24/2026 21:16:40                                    1        \n"
        "      3 0.00000 vmbatch-3  alex         hqw   11/24/2026 21:16:41                                    1        \n"
        "     31 0.50000 vmbatch-31 alex         dr    11/24/2026 21:17:12 all.q@vm                           1        \n"
        "    312 0.50000 vmbatch-32 alex         Eqw   11/24/2026 21:17:13                                    1        \n"
        "     41 0.50000 vmbatch-41 alex         t     11/24/2026 21:17:14 all.q@vm                           4        \n"
        "     42 0.50000 vmbatch-42 alex         S     11/24/2026 21:17:15 all.q@vm                           1        \n";

static void test_parsers(void) {
        char owner[64];
        is_int(sge_parse_qstat_job(0, qstat_j_running, "", owner, sizeof(owner)), 1, "qstat -j: the job exists");
        is_str(owner, "doraz", "qstat -j: its owner");
        is_int(sge_parse_qstat_job(0, "job_number: 5\n", "", owner, sizeof(owner)), 1, "qstat -j without owner: exists");
        is_str(owner, "", "qstat -j without owner: owner empty");
        is_int(sge_parse_qstat_job(1, "", "Following jobs do not exist: \n999\n", owner, sizeof(owner)), 0,
               "qstat -j: 'Following jobs do not exist' = gone");
        is_int(sge_parse_qstat_job(1, "",
                                   "error: commlib error: got select error (Connection refused)\n"
                                   "unable to send message to qmaster using port 6444 on host \"vm\": got send error\n",
                                   owner, sizeof(owner)),
               -EIO, "qstat -j: qmaster unreachable = error, not gone");
        is_int(sge_parse_qstat_job(1, "", "Can not get job info messages, scheduler is not available\n", owner,
                                   sizeof(owner)),
               -EIO, "qstat -j: scheduler unavailable = error");
        is_int(sge_parse_qstat_job(1, "", "", owner, sizeof(owner)), -EIO, "qstat -j: failed silently = error");
        is_int(sge_parse_qstat_job(127, "", "cannot execute qstat: No such file or directory\n", owner, sizeof(owner)),
               -EIO, "qstat missing = error");

        BatchJobState st = _BATCH_JOB_STATE_INVALID;
        is_int(sge_parse_qstat_list(qstat_list, "1", &st), 0, "list: job 1 found");
        is_int(st, BATCH_JOB_RUNNING, "list: r = running");
        is_int(sge_parse_qstat_list(qstat_list, "2", &st), 0, "list: job 2 found");
        is_int(st, BATCH_JOB_PENDING, "list: qw = pending");
        sge_parse_qstat_list(qstat_list, "3", &st);
        is_int(st, BATCH_JOB_PENDING, "list: hqw = pending");
        sge_parse_qstat_list(qstat_list, "31", &st);
        is_int(st, BATCH_JOB_RUNNING, "list: dr (being deleted) = running");
        is_int(sge_parse_qstat_list(qstat_list, "312", &st), 0, "list: 312 is not 31 nor 3");
        is_int(st, BATCH_JOB_PENDING, "list: Eqw = pending");
        sge_parse_qstat_list(qstat_list, "41", &st);
        is_int(st, BATCH_JOB_RUNNING, "list: t (transferring) = running");
        sge_parse_qstat_list(qstat_list, "42", &st);
        is_int(st, BATCH_JOB_RUNNING, "list: S (suspended queue) = running");
        is_int(sge_parse_qstat_list(qstat_list, "4", &st), -ENOENT, "list: job 4 absent");
        is_int(sge_parse_qstat_list("", "1", &st), -ENOENT, "empty list (no jobs at all)");
        is_int(sge_parse_qstat_list(NULL, "1", &st), -ENOENT, "NULL list");

        is_int(sge_state_from_code("Rr"), BATCH_JOB_RUNNING, "Rr = running");
        is_int(sge_state_from_code("Rq"), BATCH_JOB_PENDING, "Rq = pending");
        is_int(sge_state_from_code("dqw"), BATCH_JOB_PENDING, "dqw = pending");
        is_int(sge_state_from_code("s"), BATCH_JOB_RUNNING, "s = running");
        is_int(sge_state_from_code(""), _BATCH_JOB_STATE_INVALID, "empty state");

        is_int(sge_parse_qdel(0, "root has registered the job 6 for deletion\n", ""), 0, "qdel: registered");
        is_int(sge_parse_qdel(0, "job 6 is already in deletion\n", ""), 0, "qdel: already in deletion");
        is_int(sge_parse_qdel(1, "denied: job \"999\" does not exist\n", ""), 0, "qdel: does not exist = fine");
        is_int(sge_parse_qdel(1, "", "error: commlib error: got select error (Connection refused)\n"), -EIO,
               "qdel: qmaster unreachable = error");
        is_int(sge_parse_qdel(1, "doraz - you do not have the necessary privileges to delete the job \"5\"\n", ""),
               -EIO, "qdel: not allowed = error");

        ok(sge_parse_qselect(0, "all.q@vm\n"), "qselect: a queue offers the PE");
        ok(!sge_parse_qselect(1, ""), "qselect: no such PE");
        ok(!sge_parse_qselect(0, "\n"), "qselect: nothing listed");
}

/* ---- submit/state/cancel through spawn's dry-run hook ---- */

typedef struct Reply {
        const char *prog; /* argv[0] it answers */
        int exit_code;
        const char *out, *err;
        bool timeout;
} Reply;

typedef struct Fake {
        Reply replies[8];
        size_t n_replies;
        char calls[512]; /* "qselect;qsub;" ... */
        bool qsub_as_user;
        uid_t qsub_uid;
        char *qsub_stdin;
        char *qsub_argv;
        bool env_ok;
        bool queries_as_root;
} Fake;

static bool env_has(char *const *env, const char *prefix) {
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], prefix, strlen(prefix)) == 0)
                        return true;
        return false;
}

static int fake_spawn(const SpawnOpts *o, SpawnResult *ret, void *userdata) {
        Fake *f = userdata;
        char prog[64];
        /* qstat answers differently to -j and -u */
        snprintf(prog, sizeof(prog), "%s%s%s", o->argv[0], streq(o->argv[0], "qstat") ? " " : "",
                 streq(o->argv[0], "qstat") && o->argv[1] ? o->argv[1] : "");
        strncat(f->calls, prog, sizeof(f->calls) - strlen(f->calls) - 2);
        strcat(f->calls, ";");
        f->env_ok = env_has(o->extra_env, "SGE_ROOT=") && env_has(o->extra_env, "SGE_CELL=");
        if (streq(prog, "qsub")) {
                f->qsub_as_user = o->as_user;
                f->qsub_uid = o->uid;
                free(f->qsub_stdin);
                f->qsub_stdin = o->stdin_data ? strndup(o->stdin_data, o->stdin_len) : NULL;
                free(f->qsub_argv);
                f->qsub_argv = golden_lines(o->argv);
        } else if (o->as_user)
                f->queries_as_root = false;
        for (size_t i = 0; i < f->n_replies; i++) {
                Reply *r = &f->replies[i];
                if (!streq(r->prog, prog))
                        continue;
                ret->exit_code = r->exit_code;
                ret->timed_out = r->timeout;
                ret->out = xstrdup(r->out ? r->out : "");
                ret->err = xstrdup(r->err ? r->err : "");
                return 0;
        }
        ret->exit_code = 127;
        ret->out = xstrdup("");
        ret->err = xasprintf("cannot execute %s: No such file or directory\n", prog);
        return 0;
}

static void fake_reset(Fake *f) {
        sge_forget_listing();
        free(f->qsub_stdin);
        free(f->qsub_argv);
        memset(f, 0, sizeof(*f));
        f->queries_as_root = true;
}

static void fake_add(Fake *f, Reply r) {
        f->replies[f->n_replies++] = r;
}

static void test_backend(void) {
        const BatchBackend *b = batch_backend_find("sge");
        if (!ok(b && streq(b->name, "sge"), "backend 'sge' is registered"))
                return;
        char dir[] = "/tmp/test-batch-sge-XXXXXX";
        if (!mkdtemp(dir)) {
                ok(0, "mkdtemp");
                return;
        }
        struct passwd *pw = getpwuid(getuid());
        Cred me = {.uid = getuid(), .gid = getgid(), .name = pw ? pw->pw_name : NULL};
        _cleanup_free_ char *log = xasprintf("%s/instance-7.log", dir);
        BatchSubmit req = request(7, 128ull << 20, 1, 0);
        req.user = &me;
        req.log_path = log;

        Fake f = {0};
        fake_reset(&f);
        spawn_set_hook(fake_spawn, &f);
        Error err = {0};
        char job[64] = "";

        /* a 1-vcpu VM: qsub only, as the user, with the job script on stdin */
        fake_add(&f, (Reply){.prog = "qsub", .out = "17\n"});
        is_int(b->submit(&req, job, sizeof(job), &err), 0, "submit: ok");
        is_str(job, "17", "submit: the job id is qsub's");
        is_str(f.calls, "qsub;", "submit: 1 vcpu, no PE probe");
        ok(f.qsub_as_user && f.qsub_uid == me.uid, "submit: qsub runs as the VM's owner");
        _cleanup_free_ char *script = batch_job_script(&req);
        is_str(f.qsub_stdin, script, "submit: the job script goes to qsub's stdin");
        ok(f.qsub_argv && !strstr(f.qsub_argv, "\n-b\ny\n"), "submit: never -b y");
        ok(f.env_ok, "submit: SGE_ROOT and SGE_CELL in qsub's environment");
        struct stat stl;
        ok(stat(log, &stl) == 0 && stl.st_uid == me.uid && (stl.st_mode & 0777) == 0600,
           "submit: the job log exists, the user's, 0600");

        /* several vcpus: the PE is used only when a queue offers it */
        fake_reset(&f);
        req.vcpus = 2;
        fake_add(&f, (Reply){.prog = "qselect", .out = "all.q@vm\n"});
        fake_add(&f, (Reply){.prog = "qsub", .out = "18\n"});
        is_int(b->submit(&req, job, sizeof(job), &err), 0, "submit 2 vcpus: ok");
        is_str(f.calls, "qselect;qsub;", "submit 2 vcpus: probes the PE first");
        ok(f.qsub_argv && strstr(f.qsub_argv, "\n-pe\nsmp\n2\n"), "submit 2 vcpus: -pe smp 2");
        fake_reset(&f);
        fake_add(&f, (Reply){.prog = "qselect", .exit_code = 1, .err = "error: no such parallel environment\n"});
        fake_add(&f, (Reply){.prog = "qsub", .out = "19\n"});
        is_int(b->submit(&req, job, sizeof(job), &err), 0, "submit 2 vcpus, no PE: ok");
        ok(f.qsub_argv && !strstr(f.qsub_argv, "-pe"), "submit 2 vcpus, no PE: one slot, no -pe");
        req.vcpus = 1;

        /* qsub refuses: its message reaches the user */
        fake_reset(&f);
        error_clear(&err);
        fake_add(&f, (Reply){.prog = "qsub",
                             .exit_code = 1,
                             .err = "Unable to run job: job rejected: your user id 0 is lower than minimum user id "
                                    "1000 of cluster configuration\nExiting.\n"});
        ok(b->submit(&req, job, sizeof(job), &err) < 0 && strstr(err.message, "minimum user id"),
           "submit refused: '%s'", err.message);
        fake_reset(&f);
        error_clear(&err);
        fake_add(&f, (Reply){.prog = "qsub", .out = "Your job 5 (\"x\") has been submitted\n"});
        ok(b->submit(&req, job, sizeof(job), &err) < 0, "submit: no job id printed = error ('%s')", err.message);
        fake_reset(&f);
        error_clear(&err);
        fake_add(&f, (Reply){.prog = "qsub", .timeout = true, .exit_code = 137});
        ok(b->submit(&req, job, sizeof(job), &err) == -ETIMEDOUT, "submit: qsub hangs = error ('%s')", err.message);

        /* state: one listing serves several calls; unlisted jobs are asked about */
        BatchJobState st;
        fake_reset(&f);
        fake_add(&f, (Reply){.prog = "qstat -u", .out = qstat_list});
        fake_add(&f, (Reply){.prog = "qstat -j", .exit_code = 1, .err = "Following jobs do not exist: \n5\n"});
        is_int(b->state("1", &st, &err), 0, "state 1: ok");
        is_int(st, BATCH_JOB_RUNNING, "state 1: running");
        is_int(b->state("2", &st, &err), 0, "state 2: ok");
        is_int(st, BATCH_JOB_PENDING, "state 2: pending");
        is_str(f.calls, "qstat -u;", "state 1 and 2: one listing for both");
        ok(f.queries_as_root && f.env_ok, "state: as root, with SGE_ROOT/SGE_CELL");
        st = BATCH_JOB_RUNNING;
        is_int(b->state("5", &st, &err), 0, "state of a finished job: ok");
        is_int(st, BATCH_JOB_GONE, "state of a finished job: gone");
        is_str(f.calls, "qstat -u;qstat -j;", "state of an unlisted job: qstat -j decides");

        fake_reset(&f);
        fake_add(&f, (Reply){.prog = "qstat -u", .out = qstat_list});
        fake_add(&f, (Reply){.prog = "qstat -j", .out = qstat_j_running});
        is_int(b->state("77", &st, &err), 0, "state of a job newer than the listing: ok");
        is_int(st, BATCH_JOB_PENDING, "state of a job qmaster knows but does not list: pending, not gone");

        fake_reset(&f);
        fake_add(&f, (Reply){.prog = "qstat -u", .out = qstat_list});
        is_int(b->state("1", &st, &err), 0, "listing cached");
        fake_add(&f, (Reply){.prog = "qdel", .out = "root has registered the job 2 for deletion\n"});
        b->cancel("2", &err);
        b->state("1", &st, &err);
        is_str(f.calls, "qstat -u;qdel;qstat -u;", "cancel drops the cached listing");

        fake_reset(&f);
        error_clear(&err);
        fake_add(&f, (Reply){.prog = "qstat -u",
                             .exit_code = 1,
                             .err = "error: commlib error: got select error (Connection refused)\n"});
        st = BATCH_JOB_RUNNING;
        ok(b->state("5", &st, &err) < 0 && st == BATCH_JOB_RUNNING, "state, qmaster down: error, not gone ('%s')",
           err.message);
        is_str(f.calls, "qstat -u;", "state, qmaster down: no qstat -j after a failed listing");
        fake_reset(&f);
        error_clear(&err);
        fake_add(&f, (Reply){.prog = "qstat -u", .out = ""});
        fake_add(&f, (Reply){.prog = "qstat -j",
                             .exit_code = 1,
                             .err = "unable to send message to qmaster using port 6444 on host \"vm\": got send "
                                    "error\n"});
        ok(b->state("5", &st, &err) < 0, "state, qmaster gone between the two calls: error ('%s')", err.message);
        fake_reset(&f);
        error_clear(&err);
        fake_add(&f, (Reply){.prog = "qstat -u", .timeout = true, .exit_code = 137});
        ok(b->state("5", &st, &err) == -ETIMEDOUT, "state, qmaster hangs: error ('%s')", err.message);
        fake_reset(&f);
        ok(b->state("12:34", &st, NULL) == -EINVAL && !*f.calls, "state of a bad id: refused, nothing run");

        /* cancel */
        fake_reset(&f);
        fake_add(&f, (Reply){.prog = "qdel", .out = "root has registered the job 5 for deletion\n"});
        is_int(b->cancel("5", &err), 0, "cancel: ok");
        is_str(f.calls, "qdel;", "cancel: qdel");
        fake_reset(&f);
        fake_add(&f, (Reply){.prog = "qdel", .exit_code = 1, .out = "denied: job \"5\" does not exist\n"});
        is_int(b->cancel("5", &err), 0, "cancel of a gone job: ok");
        fake_reset(&f);
        error_clear(&err);
        fake_add(&f, (Reply){.prog = "qdel",
                             .exit_code = 1,
                             .err = "error: unable to send message to qmaster using port 6444 on host \"vm\"\n"});
        ok(b->cancel("5", &err) < 0, "cancel, qmaster down: error ('%s')", err.message);
        fake_reset(&f);
        ok(b->cancel("-f", NULL) == -EINVAL && !*f.calls, "cancel of a bad id: refused, nothing run");

        spawn_set_hook(NULL, NULL);
        fake_reset(&f);
        unlink(log);
        rmdir(dir);
}

int main(int argc, char **argv) {
        golden_setup(argc, argv, "tests/golden/batch");
        test_argv();
        test_vmem();
        test_job_ids();
        test_parsers();
        test_backend();
        return tap_done();
}
