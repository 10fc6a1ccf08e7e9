/* slurm.c - the Slurm backend: a VM is a batch job that runs vmbatch-starter.
 *
 * submit runs `sbatch` AS THE VM'S OWNER (the daemon drops to the user
 * before exec; never `sbatch --uid` as root), so Slurm accounts, limits and
 * runs the job as that user, with the job script of batch_job_script() on
 * stdin. The job's log lives in the daemon's root-owned state_dir/jobs: it is
 * created here, owned by the user, so that slurmstepd (as the user) can
 * append to it. state asks squeue, cancel runs scancel, both as root.
 *
 * The daemon is single-threaded and calls these synchronously, so every
 * command has a short timeout: squeue and scancel retry for 10-20 s when
 * slurmctld is down, and an unreachable slurmctld must read as an error,
 * never as "the job is gone" (reconciliation would tear VMs down). */
#include "batch/slurm.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>

#include "basic/spawn.h"
#include "batch/slurm_resv.h"

#define SBATCH_TIMEOUT_MS 30000
#define SQUEUE_TIMEOUT_MS 5000
#define SCANCEL_TIMEOUT_MS 10000
#define MIB (1024ULL * 1024ULL)

/* ---- pure parts ---- */

bool slurm_job_id_is_valid(const char *id) {
        if (isempty(id) || strlen(id) > SLURM_JOB_ID_MAX)
                return false;
        for (const char *p = id; *p; p++)
                if (*p < '0' || *p > '9')
                        return false;
        return true;
}


/* slurmstepd expands %j, %u ... in --output: a literal '%' is "%%". A
 * backslash would switch that expansion off and be dropped: refused. */
static char *escape_output_path(const char *path) {
        return strdup_doubling(path, '%');
}

int slurm_sbatch_argv(const BatchSubmit *req, char ***ret_argv, Error *err) {
        if (!string_is_printable(req->job_name) || strchr(req->job_name, '\\'))
                return error_set(err, -EINVAL, "invalid slurm job name");
        if (!string_is_printable(req->log_path) || req->log_path[0] != '/' || strchr(req->log_path, '\\'))
                return error_set(err, -EINVAL, "the job log path must be absolute, printable, without '\\'");
        if (req->host && (!string_is_printable(req->host) || strpbrk(req->host, ",[]= ")))
                return error_set(err, -EINVAL, "invalid host name '%s'", req->host);
        if (req->queue && (!string_is_printable(req->queue) || strpbrk(req->queue, ",[]= ")))
                return error_set(err, -EINVAL, "invalid partition name '%s'", req->queue);
        if (req->reservation && !slurm_resv_name_is_valid(req->reservation))
                return error_set(err, -EINVAL, "invalid reservation name '%.64s'", req->reservation);
        char **v = xcalloc(16, sizeof(char *));
        size_t n = 0;
        v[n++] = xstrdup("sbatch");
        v[n++] = xstrdup("--parsable");
        v[n++] = xasprintf("--job-name=%s", req->job_name);
        _cleanup_free_ char *out = escape_output_path(req->log_path);
        v[n++] = xasprintf("--output=%s", out);
        v[n++] = xstrdup("--open-mode=append"); /* like the local backend: never truncate */
        v[n++] = xstrdup("--no-requeue");       /* a VM job is never restarted behind our back */
        if (req->mem > 0)
                v[n++] = xasprintf("--mem=%lluM", (unsigned long long)((req->mem + MIB - 1) / MIB));
        v[n++] = xasprintf("--cpus-per-task=%u", req->vcpus ? req->vcpus : 1);
        if (req->host)
                v[n++] = xasprintf("--nodelist=%s", req->host);
        if (req->queue)
                v[n++] = xasprintf("--partition=%s", req->queue);
        if (req->reservation) /* an exam's member: its job runs in the exam's reservation */
                v[n++] = xasprintf("--reservation=%s", req->reservation);
        if (req->walltime_s > 0) {
                v[n++] = xasprintf("--time=%llu", ((unsigned long long)req->walltime_s + 59) / 60);
                /* before the limit, SIGTERM to the job's shell only (the
                 * starter): the guest gets the power button, not a kill */
                v[n++] = xstrdup("--signal=B:TERM@60");
        }
        *ret_argv = v;
        return 0;
}

int slurm_scancel_argv(const char *job_id, char ***ret_argv, Error *err) {
        if (!slurm_job_id_is_valid(job_id))
                return error_set(err, -EINVAL, "bad slurm job id '%.32s'", job_id ? job_id : "");
        char **v = xcalloc(3, sizeof(char *));
        v[0] = xstrdup("scancel");
        v[1] = xstrdup(job_id);
        *ret_argv = v;
        return 0;
}

char **slurm_squeue_list_argv(void) {
        char **v = xcalloc(5, sizeof(char *));
        v[0] = xstrdup("squeue");
        v[1] = xstrdup("-h");
        v[2] = xstrdup("-o");
        v[3] = xstrdup("%i %T");
        return v;
}

int slurm_listing_state(const char *listing, const char *job_id, BatchJobState *ret, Error *err) {
        size_t n = strlen(job_id);
        for (const char *line = listing; line && *line;) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t)(end - line) : strlen(line);
                if (len > n && strncmp(line, job_id, n) == 0 && line[n] == ' ') {
                        char name[64];
                        size_t k = len - n - 1 < sizeof(name) - 1 ? len - n - 1 : sizeof(name) - 1;
                        memcpy(name, line + n + 1, k);
                        name[k] = 0;
                        BatchJobState st = slurm_job_state_from_name(name);
                        if (st < 0)
                                return error_set(err, -EPROTO, "squeue reports an unknown job state '%s'", name);
                        *ret = st;
                        return 0;
                }
                line = end ? end + 1 : NULL;
        }
        *ret = BATCH_JOB_GONE;
        return 0;
}

/* The first non-blank line of s, trimmed, into buf. */
static const char *first_line(const char *s, char *buf, size_t len) {
        buf[0] = 0;
        if (!s)
                return buf;
        while (*s) {
                s += strspn(s, " \t\r\n");
                size_t l = strcspn(s, "\r\n");
                while (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\t'))
                        l--;
                if (l > 0) {
                        if (l >= len)
                                l = len - 1;
                        memcpy(buf, s, l);
                        buf[l] = 0;
                        return buf;
                }
        }
        return buf;
}

int slurm_parse_sbatch_output(const char *out, char *ret_job_id, size_t len) {
        if (!out)
                return -EBADMSG;
        /* exactly one line "ID" or "ID;CLUSTER", blanks around it */
        const char *p = out + strspn(out, " \t\r\n");
        size_t l = strcspn(p, "\r\n");
        if (p[l + strspn(p + l, " \t\r\n")])
                return -EBADMSG; /* a second line: not sbatch --parsable speaking */
        while (l > 0 && (p[l - 1] == ' ' || p[l - 1] == '\t'))
                l--;
        size_t id_len = strcspn(p, ";");
        if (id_len < l)
                l = id_len;
        char id[SLURM_JOB_ID_MAX + 2];
        if (l == 0 || l > SLURM_JOB_ID_MAX || l >= len)
                return -EBADMSG;
        memcpy(id, p, l);
        id[l] = 0;
        if (!slurm_job_id_is_valid(id))
                return -EBADMSG;
        strcpy(ret_job_id, id);
        return 0;
}

BatchJobState slurm_job_state_from_name(const char *name) {
        static const struct {
                const char *name;
                BatchJobState state;
        } map[] = {
                /* waiting for resources, or about to (re)start */
                {"PENDING", BATCH_JOB_PENDING},
                {"CONFIGURING", BATCH_JOB_PENDING},
                {"POWER_UP_NODE", BATCH_JOB_PENDING},
                {"REQUEUED", BATCH_JOB_PENDING},
                {"REQUEUE_FED", BATCH_JOB_PENDING},
                {"REQUEUE_HOLD", BATCH_JOB_PENDING},
                {"RESV_DEL_HOLD", BATCH_JOB_PENDING},
                /* its processes exist (or may still): the starter may attach or be ending */
                {"RUNNING", BATCH_JOB_RUNNING},
                {"COMPLETING", BATCH_JOB_RUNNING},
                {"SUSPENDED", BATCH_JOB_RUNNING},
                {"STOPPED", BATCH_JOB_RUNNING},
                {"RESIZING", BATCH_JOB_RUNNING},
                {"SIGNALING", BATCH_JOB_RUNNING},
                {"STAGE_OUT", BATCH_JOB_RUNNING},
                {"UPDATE_DB", BATCH_JOB_RUNNING},
                /* over */
                {"COMPLETED", BATCH_JOB_GONE},
                {"CANCELLED", BATCH_JOB_GONE},
                {"FAILED", BATCH_JOB_GONE},
                {"TIMEOUT", BATCH_JOB_GONE},
                {"NODE_FAIL", BATCH_JOB_GONE},
                {"PREEMPTED", BATCH_JOB_GONE},
                {"BOOT_FAIL", BATCH_JOB_GONE},
                {"DEADLINE", BATCH_JOB_GONE},
                {"OUT_OF_MEMORY", BATCH_JOB_GONE},
                {"SPECIAL_EXIT", BATCH_JOB_GONE},
                {"REVOKED", BATCH_JOB_GONE},
                {"LAUNCH_FAILED", BATCH_JOB_GONE},
        };
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (streq(map[i].name, name))
                        return map[i].state;
        return _BATCH_JOB_STATE_INVALID;
}

int slurm_parse_squeue(int exit_code, const char *out, const char *errout, BatchJobState *ret, Error *err) {
        char line[128];
        if (exit_code != 0) {
                if (errout && strstr(errout, "Invalid job id")) {
                        *ret = BATCH_JOB_GONE;
                        return 0;
                }
                first_line(errout && *errout ? errout : out, line, sizeof(line));
                return error_set(err, -EHOSTUNREACH, "squeue failed (exit %d): %s", exit_code,
                                 *line ? line : "no message");
        }
        first_line(out, line, sizeof(line));
        if (!*line) {
                *ret = BATCH_JOB_GONE;
                return 0;
        }
        BatchJobState st = slurm_job_state_from_name(line);
        if (st < 0)
                return error_set(err, -EPROTO, "squeue reports an unknown job state '%s'", line);
        *ret = st;
        return 0;
}

int slurm_parse_scancel(int exit_code, const char *errout, Error *err) {
        if (errout && (strstr(errout, "Invalid job id") || strstr(errout, "already completing or completed")))
                return 0; /* already gone: what cancel wants */
        if (exit_code == 0)
                return 0;
        char line[256];
        first_line(errout, line, sizeof(line));
        return error_set(err, -EHOSTUNREACH, "scancel failed (exit %d): %s", exit_code, *line ? line : "no message");
}

/* ---- running the commands ---- */

/* SLURM_CONF is passed on to the Slurm commands (a non-default installation);
 * everything else of the daemon's environment stays out. */
static int run(char **argv, const Cred *as, const char *stdin_data, int timeout_ms, size_t capture_max,
               SpawnResult *res) {
        static char conf_env[PATH_MAX + 16];
        char *env[2] = {NULL, NULL};
        const char *conf = getenv("SLURM_CONF");
        if (!isempty(conf) && strlen(conf) < PATH_MAX) {
                snprintf(conf_env, sizeof(conf_env), "SLURM_CONF=%s", conf);
                env[0] = conf_env;
        }
        SpawnOpts o = {
                .argv = argv,
                .extra_env = env,
                .as_user = as != NULL,
                .uid = as ? as->uid : 0,
                .gid = as ? as->gid : 0,
                .user_name = as ? as->name : NULL,
                .private_files = true,
                .stdin_data = stdin_data,
                .stdin_len = stdin_data ? strlen(stdin_data) : 0,
                .timeout_ms = timeout_ms,
                .capture_max = capture_max,
        };
        return spawn_run(&o, res);
}

static int slurm_submit(const BatchSubmit *req, char *ret_job_id, size_t len, Error *err) {
        char **argv = NULL;
        int r = slurm_sbatch_argv(req, &argv, err);
        if (r < 0)
                return r;
        if ((r = batch_log_create(req, err)) < 0) {
                batch_argv_free(argv);
                return r;
        }
        _cleanup_free_ char *script = batch_job_script(req);
        SpawnResult res;
        r = run(argv, req->user, script, SBATCH_TIMEOUT_MS, 0, &res);
        batch_argv_free(argv);
        if (r < 0)
                return error_set(err, r, "cannot run sbatch: %s", strerror(-r));
        char line[256];
        if (res.timed_out)
                r = error_set(err, -ETIMEDOUT, "sbatch did not answer within %d s (is slurmctld up?)",
                              SBATCH_TIMEOUT_MS / 1000);
        else if (res.exit_code == 127)
                r = error_set(err, -ENOENT, "sbatch is not installed (%s)", spawn_result_first_line(&res, line, sizeof(line)));
        else if (res.exit_code != 0)
                r = error_set(err, -EIO, "sbatch failed: %s", spawn_result_first_line(&res, line, sizeof(line)));
        else if (slurm_parse_sbatch_output(res.out, ret_job_id, len) < 0)
                r = error_set(err, -EBADMSG, "sbatch printed no job id: '%.64s'", first_line(res.out, line, sizeof(line)));
        spawn_result_clear(&res);
        return r;
}

/* the last `squeue` listing, shared by the state() calls of one
 * reconciliation round */
static BatchListing listing;

static void slurm_forget(void) {
        batch_listing_forget(&listing);
}

static int get_listing(const char **ret, Error *err) {
        if ((*ret = batch_listing_fresh(&listing)))
                return 0;
        uint64_t now = now_usec();
        char **argv = slurm_squeue_list_argv();
        SpawnResult res;
        int r = run(argv, NULL, NULL, SQUEUE_TIMEOUT_MS, BATCH_LISTING_MAX, &res);
        batch_argv_free(argv);
        if (r < 0)
                return error_set(err, r, "cannot run squeue: %s", strerror(-r));
        BatchJobState unused;
        if (res.timed_out)
                r = error_set(err, -ETIMEDOUT, "squeue did not answer within %d s (is slurmctld up?)",
                              SQUEUE_TIMEOUT_MS / 1000);
        else if (res.exit_code != 0) {
                r = slurm_parse_squeue(res.exit_code, res.out, res.err, &unused, err);
                if (r >= 0)
                        r = error_set(err, -EHOSTUNREACH, "squeue failed (exit %d)", res.exit_code);
        } else if (strlen(res.out) >= BATCH_LISTING_MAX - 1)
                r = error_set(err, -E2BIG, "squeue listed more than %u bytes of jobs", BATCH_LISTING_MAX);
        else
                *ret = batch_listing_set(&listing, TAKE_PTR(res.out), now);
        spawn_result_clear(&res);
        return r;
}

static int slurm_state(const char *job_id, BatchJobState *ret, Error *err) {
        if (!slurm_job_id_is_valid(job_id))
                return error_set(err, -EINVAL, "bad slurm job id '%.32s'", job_id ? job_id : "");
        const char *list = NULL;
        int r = get_listing(&list, err);
        return r < 0 ? r : slurm_listing_state(list, job_id, ret, err);
}

static int slurm_cancel(const char *job_id, Error *err) {
        char **argv = NULL;
        int r = slurm_scancel_argv(job_id, &argv, err);
        if (r < 0)
                return r;
        SpawnResult res;
        r = run(argv, NULL, NULL, SCANCEL_TIMEOUT_MS, 0, &res);
        batch_argv_free(argv);
        if (r < 0)
                return error_set(err, r, "cannot run scancel: %s", strerror(-r));
        if (res.timed_out)
                r = error_set(err, -ETIMEDOUT, "scancel did not answer within %d s (is slurmctld up?)",
                              SCANCEL_TIMEOUT_MS / 1000);
        else
                r = slurm_parse_scancel(res.exit_code, res.err, err);
        spawn_result_clear(&res);
        return r;
}

const BatchBackend batch_slurm = {
        .name = "slurm",
        .slow_submit = true,
        .submit = slurm_submit,
        .state = slurm_state,
        .cancel = slurm_cancel,
        .forget = slurm_forget,
};
