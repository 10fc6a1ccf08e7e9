/* local.c - the embedded default: no scheduler; the daemon starts the
 * starter itself, as the VM's owner, in a session of its own and
 * re-parented away from the daemon (so restarting vmbatchd leaves VMs
 * running). The job id is "<pid>:<start time>" so a recycled pid is never
 * mistaken for the job. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>

#include "basic/spawn.h"
#include "batch/batch.h"
#include "batch/peer.h"

static int parse_job(const char *job_id, pid_t *ret_pid, unsigned long long *ret_start) {
        int pid;
        unsigned long long start;
        if (sscanf(job_id, "%d:%llu", &pid, &start) != 2 || pid <= 1)
                return -EINVAL;
        *ret_pid = pid;
        *ret_start = start;
        return 0;
}

static int local_submit(const BatchSubmit *req, char *ret_job_id, size_t len, Error *err) {
        char **argv = batch_starter_argv(req);
        int log = open(req->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (log < 0) {
                int r = error_set(err, -errno, "cannot open job log %s: %m", req->log_path);
                batch_argv_free(argv);
                return r;
        }
        if (fchown(log, req->user->uid, req->user->gid) < 0) {
                int r = error_set(err, -errno, "cannot chown job log %s: %m", req->log_path);
                close(log);
                batch_argv_free(argv);
                return r;
        }
        SpawnStartOpts o = {
                .argv = argv,
                .as_user = true,
                .uid = req->user->uid,
                .gid = req->user->gid,
                .user_name = req->user->name,
                .private_files = true,
                .stdin_fd = -1,
                .stdout_fd = log,
                .stderr_fd = log,
                .new_session = true,
                .detach = true,
        };
        pid_t pid;
        int pidfd = -1;
        int r = spawn_start(&o, &pid, &pidfd);
        close(log);
        batch_argv_free(argv);
        if (r < 0)
                return error_set(err, r, "cannot start vmbatch-starter: %s", strerror(-r));
        if (pidfd >= 0)
                close(pidfd);
        unsigned long long start = 0;
        if (proc_start_time(pid, &start) < 0)
                start = 0; /* it already exited: the job is gone, state() will say so */
        snprintf(ret_job_id, len, "%d:%llu", (int)pid, start);
        return 0;
}

static int local_state(const char *job_id, BatchJobState *ret, Error *err) {
        pid_t pid;
        unsigned long long start, now;
        if (parse_job(job_id, &pid, &start) < 0)
                return error_set(err, -EINVAL, "bad local job id '%s'", job_id);
        *ret = proc_start_time(pid, &now) == 0 && now == start ? BATCH_JOB_RUNNING : BATCH_JOB_GONE;
        return 0;
}

static int local_cancel(const char *job_id, Error *err) {
        pid_t pid;
        unsigned long long start, now;
        if (parse_job(job_id, &pid, &start) < 0)
                return error_set(err, -EINVAL, "bad local job id '%s'", job_id);
        if (proc_start_time(pid, &now) < 0 || now != start)
                return 0; /* already gone */
        if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
                return error_set(err, -errno, "cannot signal job %s: %m", job_id);
        return 0;
}

const BatchBackend batch_local = {
        .name = "local",
        .submit = local_submit,
        .state = local_state,
        .cancel = local_cancel,
};
