/* sge.c - the Grid Engine backend (Son of Grid Engine 8.1.9, as Debian 12
 * ships it; the paper used Oracle Grid Engine, whose clients are the same).
 *
 * submit: `qsub -terse` run as the VM's owner (the daemon drops to the user),
 *         the job script (batch_job_script: exec vmbatch-starter) on stdin,
 *         never `-b y` (that re-splits arguments). The job id is what qsub
 *         prints. Options, all explicit so site defaults (sge_request) cannot
 *         turn them around: -N vmbatch-<instance>; -o <state_dir>/jobs/
 *         instance-N.log -j y (the file is made here, owned by the user, as
 *         the directory is root's; Grid Engine appends to it); -S /bin/sh;
 *         -b n; -wd / (the job does not need the user's home); -r n (a VM
 *         is never re-run behind the user's back); -C '' (no "#$" directives
 *         in the script); -l h_vmem=<guest RAM + qemu's own mappings>M (see
 *         sge.h: h_vmem is an address-space limit, guest RAM alone does not
 *         boot); -l h_rt=<s> with a walltime; -pe smp <vcpus> when the VM has
 *         several vcpus and some queue offers the "smp" parallel environment
 *         (qselect), with h_vmem divided per slot. Without such a PE the VM
 *         takes one slot whatever its vcpus.
 * state:  the job's line in `qstat -u '*'` gives its state (qw -> PENDING,
 *         r/t -> RUNNING); a job not listed is asked about with `qstat -j ID`:
 *         known to qmaster (exit 0) -> PENDING, "Following jobs do not
 *         exist" -> GONE. When qmaster does not answer, state() fails:
 *         reconcile must not take a hiccup for "gone". Each client call takes
 *         ~80 ms and vmbatchd waits for it, so one listing serves every
 *         state() of a reconcile round (kept BATCH_LISTING_TTL_USEC; submit and cancel
 *         drop it); only "gone" needs a call of its own, and is never cached.
 * cancel: `qdel ID` (as root, a Grid Engine manager). A job that is already
 *         gone is not an error. Grid Engine then applies the queue's
 *         terminate_method: SIGKILL by default (the starter dies, qemu with it
 *         by PDEATHSIG, the node frees everything when the starter's
 *         connection drops); scripts/sge-up.sh sets "kill -s TERM $job_pid",
 *         which reaches the starter: ACPI power button, qemu killed 5 s later
 *         (a signal name goes to the job's process group; qemu has a session
 *         of its own, so that works too). Grid Engine never escalates a
 *         terminate_method to SIGKILL: a job that ignores it stays in state
 *         "dr" (qdel -f forgets it but leaves its processes running).
 *
 * The client programs need SGE_ROOT and SGE_CELL: taken from vmbatchd's
 * environment, else Debian's /var/lib/gridengine and "default". The job
 * must run on the host whose vmbatchd submitted it (the starter reaches
 * that daemon's unix socket); the job is not pinned to that host yet, so in
 * a cell with other execution hosts it may start elsewhere, fail to attach,
 * end, and its instance is then torn down by reconcile. */
#include <fcntl.h>
#include <stdio.h>

#include "basic/spawn.h"
#include "batch/sge.h"
#include "batch/sge_ar.h"

#define SGE_DEFAULT_ROOT "/var/lib/gridengine"
#define SGE_DEFAULT_CELL "default"
#define QSUB_TIMEOUT_MS 20000
#define QUERY_TIMEOUT_MS 10000

/* the last `qstat -u '*'` listing, shared by the state() calls of one
 * reconcile round */
static BatchListing listing;

/* ---- pure parts ---- */

static char **argv_new(size_t n) {
        return xcalloc(n + 1, sizeof(char *));
}

char **sge_env_list(const SgeEnv *env) {
        char **v = argv_new(4);
        size_t n = 0;
        v[n++] = xasprintf("SGE_ROOT=%s", !isempty(env->root) ? env->root : SGE_DEFAULT_ROOT);
        v[n++] = xasprintf("SGE_CELL=%s", !isempty(env->cell) ? env->cell : SGE_DEFAULT_CELL);
        if (!isempty(env->qmaster_port))
                v[n++] = xasprintf("SGE_QMASTER_PORT=%s", env->qmaster_port);
        if (!isempty(env->execd_port))
                v[n++] = xasprintf("SGE_EXECD_PORT=%s", env->execd_port);
        return v;
}

uint64_t sge_vm_vmem_mib(uint64_t mem_bytes, uint32_t vcpus) {
        uint64_t guest = (mem_bytes + (1u << 20) - 1) >> 20;
        return guest + SGE_VMEM_BASE_MIB + (uint64_t)(vcpus ? vcpus : 1) * SGE_VMEM_PER_VCPU_MIB;
}

char **sge_qsub_argv(const BatchSubmit *req, const char *pe) {
        if (isempty(req->job_name) || isempty(req->log_path) || strchr(req->log_path, ':'))
                return NULL;
        uint32_t slots = pe && req->vcpus > 1 ? req->vcpus : 1;
        uint64_t vmem = sge_vm_vmem_mib(req->mem, req->vcpus);
        uint64_t per_slot = (vmem + slots - 1) / slots; /* h_vmem counts per slot */
        char **v = argv_new(32);
        size_t n = 0;
        v[n++] = xstrdup("qsub");
        v[n++] = xstrdup("-terse");
        v[n++] = xstrdup("-N");
        v[n++] = xstrdup(req->job_name);
        v[n++] = xstrdup("-o");
        v[n++] = xstrdup(req->log_path);
        v[n++] = xstrdup("-j");
        v[n++] = xstrdup("y");
        v[n++] = xstrdup("-S");
        v[n++] = xstrdup("/bin/sh");
        v[n++] = xstrdup("-b");
        v[n++] = xstrdup("n");
        v[n++] = xstrdup("-wd");
        v[n++] = xstrdup("/");
        v[n++] = xstrdup("-r");
        v[n++] = xstrdup("n");
        v[n++] = xstrdup("-C");
        v[n++] = xstrdup("");
        v[n++] = xstrdup("-l");
        v[n++] = xasprintf("h_vmem=%lluM", (unsigned long long)per_slot);
        if (req->walltime_s) {
                v[n++] = xstrdup("-l");
                v[n++] = xasprintf("h_rt=%u", req->walltime_s);
        }
        if (req->reservation) { /* an exam's member: in the exam's advance reservation */
                if (!sge_ar_id_valid(req->reservation)) {
                        batch_argv_free(v);
                        return NULL;
                }
                v[n++] = xstrdup("-ar");
                v[n++] = xstrdup(req->reservation);
        }
        if (req->queue) {
                if (strpbrk(req->queue, ",|&!*?[]= ")) {
                        batch_argv_free(v);
                        return NULL;
                }
                v[n++] = xstrdup("-q");
                v[n++] = xstrdup(req->queue);
        }
        if (req->host) {
                if (strpbrk(req->host, ",|&!*?[]= ")) {
                        batch_argv_free(v);
                        return NULL;
                }
                v[n++] = xstrdup("-l");
                v[n++] = xasprintf("hostname=%s", req->host);
        }
        if (slots > 1) {
                v[n++] = xstrdup("-pe");
                v[n++] = xstrdup(pe);
                v[n++] = xasprintf("%u", slots);
        }
        return v;
}

static char **argv2(const char *prog, const char *opt, const char *arg) {
        char **v = argv_new(3);
        v[0] = xstrdup(prog);
        v[1] = xstrdup(opt);
        if (arg)
                v[2] = xstrdup(arg);
        return v;
}

char **sge_qstat_job_argv(const char *job_id) {
        return argv2("qstat", "-j", job_id);
}

char **sge_qstat_list_argv(const char *owner) {
        return argv2("qstat", "-u", !isempty(owner) ? owner : "*");
}

char **sge_qdel_argv(const char *job_id) {
        char **v = argv_new(2);
        v[0] = xstrdup("qdel");
        v[1] = xstrdup(job_id);
        return v;
}

char **sge_qselect_pe_argv(const char *pe) {
        return argv2("qselect", "-pe", pe);
}

bool sge_job_id_valid(const char *job_id) {
        if (isempty(job_id) || strlen(job_id) > 20 || job_id[0] == '0')
                return false;
        for (const char *p = job_id; *p; p++)
                if (*p < '0' || *p > '9')
                        return false;
        return true;
}

int sge_parse_qsub(const char *out, char *ret_job_id, size_t len) {
        if (!out)
                return -EBADMSG;
        out += strspn(out, " \t\r\n");
        size_t n = strcspn(out, " \t\r\n");
        if (n == 0 || n >= len)
                return -EBADMSG;
        char id[32];
        if (n >= sizeof(id))
                return -EBADMSG;
        memcpy(id, out, n);
        id[n] = 0;
        if (!sge_job_id_valid(id))
                return -EBADMSG;
        /* exactly one token: the id (non-terse output would be a sentence) */
        const char *rest = out + n;
        rest += strspn(rest, " \t\r\n");
        if (*rest)
                return -EBADMSG;
        memcpy(ret_job_id, id, n + 1);
        return 0;
}

static bool contains(const char *s, const char *what) {
        return s && strstr(s, what);
}

int sge_parse_qstat_job(int exit_code, const char *out, const char *err, char *ret_owner, size_t len) {
        if (len)
                ret_owner[0] = 0;
        if (exit_code != 0) {
                /* qstat says so on stderr; look at both in case a version differs */
                if (contains(err, "jobs do not exist") || contains(out, "jobs do not exist"))
                        return 0;
                return -EIO;
        }
        /* the job's attributes, one "key: value" per line; we want "owner:" */
        for (const char *p = out ? out : ""; *p;) {
                size_t n = strcspn(p, "\n");
                if (n > 6 && strncmp(p, "owner:", 6) == 0) {
                        const char *v = p + 6;
                        v += strspn(v, " \t");
                        size_t vn = (size_t)(p + n - v);
                        while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t' || v[vn - 1] == '\r'))
                                vn--;
                        if (vn && vn < len) {
                                memcpy(ret_owner, v, vn);
                                ret_owner[vn] = 0;
                        }
                        break;
                }
                p += n;
                if (*p)
                        p++;
        }
        return 1;
}

BatchJobState sge_state_from_code(const char *code) {
        if (isempty(code))
                return _BATCH_JOB_STATE_INVALID;
        /* queued in any flavour (hold, error, re-queued): not running yet */
        if (strchr(code, 'q'))
                return BATCH_JOB_PENDING;
        if (strpbrk(code, "rtsST"))
                return BATCH_JOB_RUNNING;
        /* d (being deleted) or z (zombie) alone: still known, not started */
        return BATCH_JOB_PENDING;
}

int sge_parse_qstat_list(const char *out, const char *job_id, BatchJobState *ret) {
        /* job-ID prior name user state submit/start-at queue slots ja-task-ID,
         * separated by blanks; the name has no blanks (qsub -N refuses them) */
        for (const char *p = out ? out : ""; *p;) {
                size_t n = strcspn(p, "\n");
                char line[1024];
                size_t ln = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
                memcpy(line, p, ln);
                line[ln] = 0;
                char *save = NULL, *tok[5] = {0};
                int k = 0;
                for (char *t = strtok_r(line, " \t\r", &save); t && k < 5; t = strtok_r(NULL, " \t\r", &save))
                        tok[k++] = t;
                if (k == 5 && streq(tok[0], job_id)) {
                        BatchJobState st = sge_state_from_code(tok[4]);
                        if (st < 0)
                                return -EBADMSG;
                        *ret = st;
                        return 0;
                }
                p += n;
                if (*p)
                        p++;
        }
        return -ENOENT;
}

int sge_parse_qdel(int exit_code, const char *out, const char *err) {
        if (exit_code == 0)
                return 0; /* "registered the job N for deletion", "already in deletion" */
        if (contains(out, "does not exist") || contains(err, "does not exist"))
                return 0;
        return -EIO;
}

bool sge_parse_qselect(int exit_code, const char *out) {
        return exit_code == 0 && out && out[strspn(out, " \t\r\n")];
}

/* ---- running the clients ---- */

static char **client_env(void) {
        SgeEnv env = {
                .root = getenv("SGE_ROOT"),
                .cell = getenv("SGE_CELL"),
                .qmaster_port = getenv("SGE_QMASTER_PORT"),
                .execd_port = getenv("SGE_EXECD_PORT"),
        };
        return sge_env_list(&env);
}

/* Run a client as root (qstat, qdel, qselect). Fails when it could not run
 * or did not finish in time; otherwise the caller reads the exit code. */
static int run_client(char **argv, size_t capture_max, SpawnResult *res, Error *err) {
        char **env = client_env();
        SpawnOpts o = {
                .argv = argv,
                .extra_env = env,
                .timeout_ms = QUERY_TIMEOUT_MS,
                .capture_max = capture_max,
        };
        int r = spawn_run(&o, res);
        batch_argv_free(env);
        if (r < 0)
                return error_set(err, r, "cannot run %s: %s", argv[0], strerror(-r));
        if (res->timed_out) {
                r = error_set(err, -ETIMEDOUT, "%s did not answer within %d s", argv[0], QUERY_TIMEOUT_MS / 1000);
                spawn_result_clear(res);
                return r;
        }
        return 0;
}

static int client_failed(const char *what, SpawnResult *res, Error *err) {
        char line[256];
        int r = error_set(err, -EIO, "%s failed (exit %d): %s", what, res->exit_code,
                          spawn_result_first_line(res, line, sizeof(line)));
        spawn_result_clear(res);
        return r;
}

/* Does some queue offer the parallel environment? (no answer: no) */
static bool pe_available(const char *pe) {
        char **argv = sge_qselect_pe_argv(pe);
        SpawnResult res;
        bool yes = run_client(argv, 0, &res, NULL) == 0 && sge_parse_qselect(res.exit_code, res.out);
        spawn_result_clear(&res);
        batch_argv_free(argv);
        return yes;
}

static int sge_submit(const BatchSubmit *req, char *ret_job_id, size_t len, Error *err) {
        sge_forget_listing();
        const char *pe = req->vcpus > 1 && pe_available(SGE_PE_NAME) ? SGE_PE_NAME : NULL;
        char **argv = sge_qsub_argv(req, pe);
        if (!argv)
                return error_set(err, -EINVAL, "cannot submit to Grid Engine: job name or log path '%s' unusable",
                                 req->log_path ? req->log_path : "");
        int r = batch_log_create(req, err);
        if (r < 0) {
                batch_argv_free(argv);
                return r;
        }
        char *script = batch_job_script(req);
        char **env = client_env();
        SpawnOpts o = {
                .argv = argv,
                .extra_env = env,
                .as_user = true,
                .uid = req->user->uid,
                .gid = req->user->gid,
                .user_name = req->user->name,
                .private_files = true,
                .stdin_data = script,
                .stdin_len = strlen(script),
                .timeout_ms = QSUB_TIMEOUT_MS,
        };
        SpawnResult res;
        r = spawn_run(&o, &res);
        free(script);
        batch_argv_free(env);
        batch_argv_free(argv);
        if (r < 0)
                return error_set(err, r, "cannot run qsub: %s", strerror(-r));
        if (res.timed_out) {
                spawn_result_clear(&res);
                return error_set(err, -ETIMEDOUT, "qsub did not answer within %d s", QSUB_TIMEOUT_MS / 1000);
        }
        if (res.exit_code != 0)
                return client_failed("qsub", &res, err);
        r = sge_parse_qsub(res.out, ret_job_id, len);
        if (r < 0) {
                char line[256];
                r = error_set(err, r, "qsub printed no job id: '%s'", spawn_result_first_line(&res, line, sizeof(line)));
        }
        spawn_result_clear(&res);
        return r;
}

void sge_forget_listing(void) {
        batch_listing_forget(&listing);
}

static int get_listing(const char **ret, Error *err) {
        if ((*ret = batch_listing_fresh(&listing)))
                return 0;
        uint64_t now = now_usec();
        char **argv = sge_qstat_list_argv(NULL);
        SpawnResult res;
        int r = run_client(argv, BATCH_LISTING_MAX, &res, err);
        batch_argv_free(argv);
        if (r < 0)
                return r;
        if (res.exit_code != 0)
                return client_failed("qstat", &res, err);
        *ret = batch_listing_set(&listing, TAKE_PTR(res.out), now);
        spawn_result_clear(&res);
        return 0;
}

static int sge_state(const char *job_id, BatchJobState *ret, Error *err) {
        if (!sge_job_id_valid(job_id))
                return error_set(err, -EINVAL, "bad Grid Engine job id '%s'", job_id ? job_id : "");
        const char *list = NULL;
        int r = get_listing(&list, err);
        if (r < 0)
                return r;
        r = sge_parse_qstat_list(list, job_id, ret);
        if (r != -ENOENT)
                return r < 0 ? error_set(err, r, "cannot read the state of job %s from qstat", job_id) : 0;
        /* not listed: finished, or just submitted (the listing is older) */
        char **argv = sge_qstat_job_argv(job_id);
        SpawnResult res;
        r = run_client(argv, 0, &res, err);
        batch_argv_free(argv);
        if (r < 0)
                return r;
        char owner[64];
        int known = sge_parse_qstat_job(res.exit_code, res.out, res.err, owner, sizeof(owner));
        if (known < 0)
                return client_failed("qstat -j", &res, err);
        spawn_result_clear(&res);
        *ret = known ? BATCH_JOB_PENDING : BATCH_JOB_GONE;
        return 0;
}

static int sge_cancel(const char *job_id, Error *err) {
        if (!sge_job_id_valid(job_id))
                return error_set(err, -EINVAL, "bad Grid Engine job id '%s'", job_id ? job_id : "");
        sge_forget_listing();
        char **argv = sge_qdel_argv(job_id);
        SpawnResult res;
        int r = run_client(argv, 0, &res, err);
        batch_argv_free(argv);
        if (r < 0)
                return r;
        if (sge_parse_qdel(res.exit_code, res.out, res.err) < 0)
                return client_failed("qdel", &res, err);
        spawn_result_clear(&res);
        return 0;
}

const BatchBackend batch_sge = {
        .name = "sge",
        .slow_submit = true,
        .submit = sge_submit,
        .state = sge_state,
        .cancel = sge_cancel,
        .forget = sge_forget_listing,
};
