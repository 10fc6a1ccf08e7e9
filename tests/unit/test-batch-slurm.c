/* test-batch-slurm.c - the Slurm batch backend without a Slurm.
 *
 *   test-batch-slurm GOLDEN_DIR
 *
 * The command lines (sbatch, squeue, scancel) and the job script are
 * compared with GOLDEN_DIR/slurm-<name>; VMBATCH_REGENERATE=1 rewrites them
 * (review the diff). The parsers get the outputs Slurm 22.05 really prints.
 * submit/state/cancel run through spawn's dry-run hook: it checks who the
 * command runs as and what it gets on stdin, and answers like Slurm would. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "basic/spawn.h"
#include "batch/slurm.h"
#include "golden.h"

/* the batch goldens are shared with Grid Engine's: ours are slurm-<name> */
static void golden(const char *name, const char *got) {
        _cleanup_free_ char *file = xasprintf("slurm-%s", name);
        golden_check(file, got);
}

static const Cred doraz = {.uid = 1003, .gid = 1004, .name = "doraz"};

static BatchSubmit base_req(void) {
        return (BatchSubmit){
                .instance = 7,
                .user = &doraz,
                .starter = "/usr/libexec/vmbatch/vmbatch-starter",
                .socket = "/run/vmbatch/vmbatchd.sock",
                .log_path = "/var/lib/vmbatch/jobs/instance-7.log",
                .mem = 128ULL << 20,
                .vcpus = 1,
                .job_name = "vmbatch-7",
        };
}

static void sbatch_golden(const char *name, const BatchSubmit *req) {
        char **argv = NULL;
        Error e = {0};
        is_int(slurm_sbatch_argv(req, &argv, &e), 0, "sbatch argv %s", name);
        _cleanup_free_ char *s = golden_lines(argv);
        golden(name, s);
        batch_argv_free(argv);
}

static void test_sbatch_argv(void) {
        BatchSubmit r = base_req();
        sbatch_golden("sbatch-basic", &r);
        _cleanup_free_ char *script = batch_job_script(&r);
        golden("job-script", script);

        /* rounding up: 2 GiB + 1 byte is 2049 MiB; 3601 s is 61 minutes; '%' escaped */
        r = base_req();
        r.instance = 1234;
        r.job_name = "vmbatch-1234";
        r.mem = (2ULL << 30) + 1;
        r.vcpus = 4;
        r.walltime_s = 3601;
        r.log_path = "/srv/vm%batch/jobs/instance-1234.log";
        sbatch_golden("sbatch-rounded", &r);

        r = base_req();
        r.walltime_s = UINT32_MAX;
        char **big = NULL;
        Error be = {0};
        is_int(slurm_sbatch_argv(&r, &big, &be), 0, "sbatch argv with the longest walltime");
        ok(big && streq(big[8], "--time=71582789"), "... rounded up without overflow: %s", big ? big[8] : "");
        batch_argv_free(big);

        /* no memory given: no --mem (0 would ask for the whole node); 0 vcpus is 1 */
        r = base_req();
        r.mem = 0;
        r.vcpus = 0;
        r.walltime_s = 60;
        sbatch_golden("sbatch-defaults", &r);

        /* --host: one node, named */
        r = base_req();
        r.host = "n1";
        r.queue = "vms";
        sbatch_golden("sbatch-host", &r);
        static const char *bad_hosts[] = {"n[1-2]", "n1,n2", "n1 n2", "n1\n#SBATCH --uid=0", "a=b"};
        for (size_t i = 0; i < ELEMENTSOF(bad_hosts); i++) {
                r = base_req();
                r.host = bad_hosts[i];
                char **argv = NULL;
                Error e = {0};
                is_int(slurm_sbatch_argv(&r, &argv, &e), -EINVAL, "sbatch refuses host '%s'", bad_hosts[i]);
                ok(argv == NULL, "... and no argv");
                r = base_req();
                r.queue = bad_hosts[i];
                is_int(slurm_sbatch_argv(&r, &argv, &e), -EINVAL, "sbatch refuses partition '%s'", bad_hosts[i]);
        }

        static const struct {
                const char *name, *log, *why;
        } bad[] = {
                {"vmbatch-7\n#SBATCH --uid=0", "/j/i.log", "job name with a newline"},
                {"", "/j/i.log", "empty job name"},
                {NULL, "/j/i.log", "no job name"},
                {"vmbatch-7", "jobs/i.log", "relative log path"},
                {"vmbatch-7", "/j/a\\b.log", "log path with a backslash"},
                {"vmbatch-7", "/j/a\nb.log", "log path with a newline"},
                {"vmbatch-7", NULL, "no log path"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                r = base_req();
                r.job_name = bad[i].name;
                r.log_path = bad[i].log;
                char **argv = NULL;
                Error e = {0};
                is_int(slurm_sbatch_argv(&r, &argv, &e), -EINVAL, "sbatch argv refused: %s", bad[i].why);
                ok(argv == NULL && *e.message, "... with a message: %s", e.message);
        }
}

/* the node socket of a job: %h is the execution host */
static void test_node_socket(void) {
        char buf[64];
        is_int(batch_node_socket("/run/vmbatch/vmbatchd.sock", "n1", buf, sizeof(buf)), 0, "no %%h");
        is_str(buf, "/run/vmbatch/vmbatchd.sock", "... unchanged");
        is_int(batch_node_socket("/srv/vmb/node-%h.sock", "n1", buf, sizeof(buf)), 0, "%%h");
        is_str(buf, "/srv/vmb/node-n1.sock", "... is the host");
        is_int(batch_node_socket("/s/%h/%h-100%%", "ab", buf, sizeof(buf)), 0, "twice, and %%%%");
        is_str(buf, "/s/ab/ab-100%", "... both replaced, %%%% is %%");
        is_int(batch_node_socket("/s/%x%", "ab", buf, sizeof(buf)), 0, "other %% stay");
        is_str(buf, "/s/%x%", "... as they are");
        is_int(batch_node_socket("/s/%h", "a-very-long-host-name", buf, 16), -ENAMETOOLONG, "too long: refused");
        is_int(batch_node_socket("0123456789abcdef", "", buf, 16), -ENAMETOOLONG, "exactly the size: no room for NUL");
        is_int(batch_node_socket("0123456789abcde", "", buf, 16), 0, "one less fits");
}

/* one squeue listing of every live job serves a reconciliation round */
static void test_listing_state(void) {
        const char *list = "41 PENDING\n4242 RUNNING\n42 COMPLETING\n424 SUSPENDED\n7 CONFIGURING\n";
        static const struct {
                const char *job;
                BatchJobState want;
        } cases[] = {
                {"4242", BATCH_JOB_RUNNING}, {"42", BATCH_JOB_RUNNING},  {"424", BATCH_JOB_RUNNING},
                {"41", BATCH_JOB_PENDING},   {"7", BATCH_JOB_PENDING},   {"4", BATCH_JOB_GONE},
                {"42424", BATCH_JOB_GONE},   {"1", BATCH_JOB_GONE},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                BatchJobState st = _BATCH_JOB_STATE_INVALID;
                Error e = {0};
                is_int(slurm_listing_state(list, cases[i].job, &st, &e), 0, "listing: job %s", cases[i].job);
                is_int(st, cases[i].want, "... is %d (a prefix of another id is not that job)", cases[i].want);
        }
        BatchJobState st;
        Error e = {0};
        is_int(slurm_listing_state("", "5", &st, &e), 0, "an empty listing");
        is_int(st, BATCH_JOB_GONE, "... means gone");
        is_int(slurm_listing_state("5 RUNNING", "5", &st, &e), 0, "no final newline");
        is_int(st, BATCH_JOB_RUNNING, "... still read");
        is_int(slurm_listing_state("5 WEIRD\n", "5", &st, &e), -EPROTO, "an unknown state is an error, not gone");
}

static void test_job_argv(void) {
        char **argv = NULL;
        Error e = {0};
        argv = slurm_squeue_list_argv();
        _cleanup_free_ char *s = golden_lines(argv);
        golden("squeue-list", s);
        batch_argv_free(argv);
        argv = NULL;
        is_int(slurm_scancel_argv("4242", &argv, &e), 0, "scancel argv");
        _cleanup_free_ char *c = golden_lines(argv);
        golden("scancel", c);
        batch_argv_free(argv);

        static const char *bad[] = {"", "-1", "--me", "12;rm", "12_3", "12 ", "12+1", "0x10", "123456789012345678901"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                argv = NULL;
                Error be = {0};
                ok(!slurm_job_id_is_valid(bad[i]), "invalid job id '%s'", bad[i]);
                is_int(slurm_scancel_argv(bad[i], &argv, &be), -EINVAL, "no scancel for '%s'", bad[i]);
                ok(argv == NULL, "... and no argv");
        }
        ok(!slurm_job_id_is_valid(NULL), "NULL is no job id");
        ok(slurm_job_id_is_valid("1") && slurm_job_id_is_valid("12345678901234567890"), "1 and 20 digits are");
}

static void test_parse_sbatch(void) {
        static const struct {
                const char *out, *want;
        } good[] = {
                {"4242\n", "4242"},
                {"4242", "4242"},
                {"4242;vmbatch\n", "4242"},
                {"  17  \r\n", "17"},
                {"\n17\n\n", "17"},
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                char id[32] = "";
                is_int(slurm_parse_sbatch_output(good[i].out, id, sizeof(id)), 0, "sbatch output %zu parsed", i);
                is_str(id, good[i].want, "... its job id");
        }
        static const char *bad[] = {
                "", "\n", "Submitted batch job 4242\n", "4242x\n", ";cluster\n", "-5\n", "4242\n4243\n",
                "123456789012345678901\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char id[32] = "unchanged";
                is_int(slurm_parse_sbatch_output(bad[i], id, sizeof(id)), -EBADMSG, "sbatch output %zu refused", i);
                is_str(id, "unchanged", "... job id untouched");
        }
        char small[4];
        is_int(slurm_parse_sbatch_output("4242\n", small, sizeof(small)), -EBADMSG, "a buffer too small is refused");
}

static void test_states(void) {
        static const struct {
                const char *name;
                BatchJobState st;
        } names[] = {
                {"PENDING", BATCH_JOB_PENDING},     {"CONFIGURING", BATCH_JOB_PENDING},
                {"REQUEUE_HOLD", BATCH_JOB_PENDING}, {"RUNNING", BATCH_JOB_RUNNING},
                {"COMPLETING", BATCH_JOB_RUNNING},  {"SUSPENDED", BATCH_JOB_RUNNING},
                {"COMPLETED", BATCH_JOB_GONE},      {"CANCELLED", BATCH_JOB_GONE},
                {"FAILED", BATCH_JOB_GONE},         {"TIMEOUT", BATCH_JOB_GONE},
                {"NODE_FAIL", BATCH_JOB_GONE},      {"OUT_OF_MEMORY", BATCH_JOB_GONE},
                {"running", _BATCH_JOB_STATE_INVALID}, {"", _BATCH_JOB_STATE_INVALID},
                {"EXPLODED", _BATCH_JOB_STATE_INVALID},
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                is_int(slurm_job_state_from_name(names[i].name), names[i].st, "state name '%s'", names[i].name);

        static const struct {
                int code;
                const char *out, *err;
                int r;
                BatchJobState st;
                const char *why;
        } cases[] = {
                {0, "RUNNING\n", "", 0, BATCH_JOB_RUNNING, "running"},
                {0, "PENDING\n", "", 0, BATCH_JOB_PENDING, "pending"},
                {0, "CONFIGURING\n", "", 0, BATCH_JOB_PENDING, "configuring"},
                {0, "COMPLETING\n", "", 0, BATCH_JOB_RUNNING, "completing"},
                {0, "", "", 0, BATCH_JOB_GONE, "no line: finished (squeue -j lists live jobs only)"},
                {0, "\n", "", 0, BATCH_JOB_GONE, "an empty line"},
                {0, "CANCELLED\n", "", 0, BATCH_JOB_GONE, "cancelled"},
                {1, "", "slurm_load_jobs error: Invalid job id specified\n", 0, BATCH_JOB_GONE,
                 "unknown to slurmctld (purged)"},
                {1, "", "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n",
                 -EHOSTUNREACH, 0, "slurmctld down: an error, NOT gone"},
                {1, "", "squeue: error: Invalid user: nobody\n", -EHOSTUNREACH, 0, "any other failure: an error"},
                {1, "", "", -EHOSTUNREACH, 0, "a failure without a message"},
                {137, "", "", -EHOSTUNREACH, 0, "killed"},
                {0, "WHATEVER\n", "", -EPROTO, 0, "an unknown state: an error, not gone"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                BatchJobState st = (BatchJobState)99;
                Error e = {0};
                int r = slurm_parse_squeue(cases[i].code, cases[i].out, cases[i].err, &st, &e);
                is_int(r, cases[i].r, "squeue: %s", cases[i].why);
                if (cases[i].r == 0)
                        is_int(st, cases[i].st, "... state");
                else
                        ok(st == (BatchJobState)99 && *e.message, "... state untouched, message: %s", e.message);
        }
        Error e = {0};
        BatchJobState st;
        is_int(slurm_parse_squeue(1, NULL, NULL, &st, &e), -EHOSTUNREACH, "squeue: NULL outputs");

        is_int(slurm_parse_scancel(0, "", NULL), 0, "scancel ok");
        is_int(slurm_parse_scancel(1, "scancel: error: Kill job error on job id 5: Invalid job id specified\n", NULL),
               0, "scancel of an unknown job: already gone");
        is_int(slurm_parse_scancel(1,
                                   "scancel: error: Kill job error on job id 5: Job/step already completing or "
                                   "completed\n",
                                   NULL),
               0, "scancel of a finished job: already gone");
        Error ce = {0};
        is_int(slurm_parse_scancel(1,
                                   "scancel: error: Kill job error on job id 2: Unable to contact slurm controller "
                                   "(connect failure)\n",
                                   &ce),
               -EHOSTUNREACH, "scancel with slurmctld down: an error");
        ok(strstr(ce.message, "Unable to contact slurm controller") != NULL, "... message: %s", ce.message);
}

/* ---- submit/state/cancel through the dry-run hook ---- */

typedef struct Fake {
        int calls;
        char *argv;         /* the last command, joined */
        bool as_user;
        uid_t uid;
        gid_t gid;
        char *user_name;
        char *stdin_data;
        int timeout_ms;
        /* the answer */
        int exit_code;
        bool timed_out;
        const char *out, *err;
} Fake;

static void fake_reset(Fake *f) {
        free(f->argv);
        free(f->user_name);
        free(f->stdin_data);
        *f = (Fake){0};
}

static int fake_hook(const SpawnOpts *o, SpawnResult *ret, void *userdata) {
        Fake *f = userdata;
        f->calls++;
        free(f->argv);
        free(f->user_name);
        free(f->stdin_data);
        f->argv = golden_lines(o->argv);
        f->as_user = o->as_user;
        f->uid = o->uid;
        f->gid = o->gid;
        f->user_name = o->user_name ? xstrdup(o->user_name) : NULL;
        f->stdin_data = o->stdin_data ? strndup(o->stdin_data, o->stdin_len) : NULL;
        f->timeout_ms = o->timeout_ms;
        ret->exit_code = f->exit_code;
        ret->status = f->exit_code << 8;
        ret->timed_out = f->timed_out;
        ret->out = xstrdup(f->out ? f->out : "");
        ret->err = xstrdup(f->err ? f->err : "");
        return 0;
}

static void test_backend(void) {
        const BatchBackend *b = batch_backend_find("slurm");
        ok(b != NULL && streq(b->name, "slurm"), "batch_backend_find(\"slurm\")");
        if (!b)
                return;
        char dir[] = "/tmp/test-batch-slurm-XXXXXX";
        if (!mkdtemp(dir)) {
                ok(0, "mkdtemp");
                return;
        }
        Fake f = {0};
        spawn_set_hook(fake_hook, &f);

        /* the user: ourselves when not root, so that the chown works either way */
        Cred me = {.uid = getuid() == 0 ? 1003 : getuid(), .gid = getuid() == 0 ? 1004 : getgid(), .name = "doraz"};
        BatchSubmit r = base_req();
        r.user = &me;
        _cleanup_free_ char *log = xasprintf("%s/instance-7.log", dir);
        r.log_path = log;
        f.out = "4242;vmbatch\n";
        char job[64] = "";
        Error e = {0};
        is_int(b->submit(&r, job, sizeof(job), &e), 0, "submit");
        is_str(job, "4242", "job id from sbatch, cluster stripped");
        is_int(f.calls, 1, "one command");
        ok(f.argv && strncmp(f.argv, "sbatch\n--parsable\n", 18) == 0, "it is sbatch --parsable");
        ok(f.argv && strstr(f.argv, "\n--uid") == NULL, "never sbatch --uid");
        ok(f.as_user && f.uid == me.uid && f.gid == me.gid && streq(f.user_name, "doraz"),
           "sbatch runs as the VM's owner (uid %u)", (unsigned)me.uid);
        _cleanup_free_ char *script = batch_job_script(&r);
        is_str(f.stdin_data, script, "the job script goes to sbatch's stdin");
        ok(f.timeout_ms > 0 && f.timeout_ms <= 60000, "sbatch has a timeout (%d ms)", f.timeout_ms);
        struct stat st;
        ok(stat(log, &st) == 0 && st.st_uid == me.uid && st.st_gid == me.gid && (st.st_mode & 07777) == 0600,
           "the job log is pre-created, 0600, owned by the user");

        fake_reset(&f);
        f.exit_code = 1;
        f.err = "sbatch: error: Batch job submission failed: Requested node configuration is not available\n";
        Error se = {0};
        is_int(b->submit(&r, job, sizeof(job), &se), -EIO, "sbatch failing: submit fails");
        ok(strstr(se.message, "Requested node configuration is not available") != NULL, "... saying why: %s",
           se.message);

        fake_reset(&f);
        f.timed_out = true;
        f.exit_code = 128 + 9;
        Error te = {0};
        is_int(b->submit(&r, job, sizeof(job), &te), -ETIMEDOUT, "sbatch hanging: -ETIMEDOUT");

        fake_reset(&f);
        f.out = "Submitted batch job 12\n";
        Error be = {0};
        is_int(b->submit(&r, job, sizeof(job), &be), -EBADMSG, "sbatch output without --parsable's id: refused");

        fake_reset(&f);
        r.log_path = "relative.log";
        Error re = {0};
        is_int(b->submit(&r, job, sizeof(job), &re), -EINVAL, "a bad request is refused");
        is_int(f.calls, 0, "... before anything runs");
        r.log_path = log;

        /* state: one squeue listing as root, shared for a while */
        fake_reset(&f);
        b->forget();
        f.out = "17 PENDING\n4242 RUNNING\n";
        BatchJobState js = BATCH_JOB_GONE;
        Error qe = {0};
        is_int(b->state("4242", &js, &qe), 0, "state");
        is_int(js, BATCH_JOB_RUNNING, "... running");
        is_str(f.argv, "squeue\n-h\n-o\n%i %T\n", "... asked squeue -h -o '%%i %%T'");
        ok(!f.as_user, "... as root");
        ok(f.timeout_ms > 0 && f.timeout_ms <= 10000, "... with a short timeout (%d ms)", f.timeout_ms);
        is_int(b->state("17", &js, &qe), 0, "another job's state");
        is_int(js, BATCH_JOB_PENDING, "... pending");
        is_int(f.calls, 1, "... from the same listing: one squeue");
        is_int(b->state("18", &js, &qe), 0, "a job not listed");
        is_int(js, BATCH_JOB_GONE, "... is gone");
        b->forget();
        is_int(b->state("17", &js, &qe), 0, "after forget()");
        is_int(f.calls, 2, "... squeue runs again");

        fake_reset(&f);
        b->forget();
        f.exit_code = 1;
        f.err = "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n";
        js = BATCH_JOB_RUNNING;
        Error ue = {0};
        ok(b->state("4242", &js, &ue) < 0, "state with slurmctld down: an error");
        is_int(js, BATCH_JOB_RUNNING, "... and not gone");
        ok(b->state("4242", &js, &ue) < 0 && f.calls == 2, "... and not cached: asked again");

        fake_reset(&f);
        b->forget();
        f.timed_out = true;
        f.exit_code = 128 + 9;
        Error toe = {0};
        is_int(b->state("4242", &js, &toe), -ETIMEDOUT, "squeue hanging: -ETIMEDOUT, not gone");

        fake_reset(&f);
        Error ie = {0};
        is_int(b->state("1;reboot", &js, &ie), -EINVAL, "a bad job id is refused");
        is_int(f.calls, 0, "... without running squeue");

        /* cancel: scancel as root */
        fake_reset(&f);
        Error xe = {0};
        is_int(b->cancel("4242", &xe), 0, "cancel");
        is_str(f.argv, "scancel\n4242\n", "... ran scancel 4242");
        ok(!f.as_user, "... as root");
        fake_reset(&f);
        f.exit_code = 1;
        f.err = "scancel: error: Kill job error on job id 2: Unable to contact slurm controller (connect failure)\n";
        Error de = {0};
        ok(b->cancel("4242", &de) < 0, "cancel with slurmctld down: an error");
        fake_reset(&f);
        Error ne = {0};
        is_int(b->cancel("--me", &ne), -EINVAL, "cancel of a bad job id refused");
        is_int(f.calls, 0, "... without running scancel");

        spawn_set_hook(NULL, NULL);
        fake_reset(&f);
        unlink(log);
        ok(rmdir(dir) == 0, "temporary directory cleaned up");
}

int main(int argc, char **argv) {
        golden_setup(argc, argv, "tests/golden/batch");
        test_sbatch_argv();
        test_node_socket();
        test_listing_state();
        test_job_argv();
        test_parse_sbatch();
        test_states();
        test_backend();
        return tap_done();
}
