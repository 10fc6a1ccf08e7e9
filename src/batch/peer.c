/* peer.c - the batch job a process provably belongs to. See peer.h. */
#include "batch/peer.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "basic/util.h"

int proc_stat_parse(const char *text, pid_t *ret_ppid, char *ret_state, unsigned long long *ret_start) {
        const char *p = strrchr(text, ')'); /* the command name may contain spaces and ')' */
        if (!p || p[1] != ' ')
                return -EINVAL;
        char state = 0;
        int ppid = 0;
        unsigned long long start = 0;
        if (sscanf(p + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &state, &ppid,
                   &start) != 3)
                return -EINVAL;
        *ret_ppid = ppid;
        *ret_state = state;
        *ret_start = start;
        return 0;
}

int proc_status_uid(const char *text, uid_t *ret) {
        for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
                unsigned long uid;
                if (strncmp(line, "Uid:", 4) == 0 && sscanf(line + 4, "%lu", &uid) == 1) {
                        *ret = (uid_t)uid;
                        return 0;
                }
        }
        return -EINVAL;
}

/* The digits at s (up to stop, which must follow them), into job. */
static bool digits_then(const char *s, const char *end, char stop, char *job, size_t job_len) {
        size_t n = 0;
        while (s + n < end && s[n] >= '0' && s[n] <= '9')
                n++;
        if (n == 0 || n >= job_len || (stop ? s + n >= end || s[n] != stop : s + n != end))
                return false;
        memcpy(job, s, n);
        job[n] = 0;
        return true;
}

bool slurmstepd_title_job(const char *cmdline, size_t len, char *job, size_t job_len) {
        static const char prefix[] = "slurmstepd: [";
        size_t first = strnlen(cmdline, len); /* argv[0]: the whole title */
        if (first < sizeof(prefix) - 1 || memcmp(cmdline, prefix, sizeof(prefix) - 1) != 0)
                return false;
        return digits_then(cmdline + sizeof(prefix) - 1, cmdline + first, '.', job, job_len);
}

bool shepherd_cwd_job(const char *cwd, char *job, size_t job_len) {
        static const char dir[] = "/active_jobs/";
        const char *p = strstr(cwd, dir);
        if (!p)
                return false;
        p += sizeof(dir) - 1;
        const char *dot = strchr(p, '.');
        char task[16];
        return dot && !strchr(dot + 1, '/') && digits_then(p, dot + 1, '.', job, job_len) &&
               digits_then(dot + 1, dot + 1 + strlen(dot + 1), 0, task, sizeof(task));
}

static ssize_t read_proc(pid_t pid, const char *what, char *buf, size_t len) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = read(fd, buf, len - 1);
        close(fd);
        if (n < 0)
                return -EIO;
        buf[n] = 0;
        return n;
}

int proc_start_time(pid_t pid, unsigned long long *ret) {
        char buf[1024];
        pid_t ppid;
        char state;
        if (read_proc(pid, "stat", buf, sizeof(buf)) < 0 || proc_stat_parse(buf, &ppid, &state, ret) < 0)
                return -ESRCH;
        return state == 'Z' || state == 'X' ? -ESRCH : 0;
}

/* p runs a root-owned binary named sge_shepherd, in a job's spool directory. */
static void shepherd_of(pid_t p, char *job, size_t len) {
        char link[64], exe[PATH_MAX], cwd[PATH_MAX];
        struct stat st;
        snprintf(link, sizeof(link), "/proc/%d/exe", (int)p);
        ssize_t n = readlink(link, exe, sizeof(exe) - 1);
        if (n <= 0 || stat(link, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022))
                return;
        exe[n] = 0;
        const char *base = strrchr(exe, '/');
        if (strcmp(base ? base + 1 : exe, "sge_shepherd") != 0)
                return;
        snprintf(link, sizeof(link), "/proc/%d/cwd", (int)p);
        if ((n = readlink(link, cwd, sizeof(cwd) - 1)) <= 0)
                return;
        cwd[n] = 0;
        shepherd_cwd_job(cwd, job, len);
}

int batch_peer_jobs(pid_t pid, BatchPeerJobs *ret, Error *err) {
        *ret = (BatchPeerJobs){0};
        char buf[4096];
        pid_t ppid;
        char state;
        unsigned long long start;
        uid_t peer_uid;
        if (read_proc(pid, "stat", buf, sizeof(buf)) < 0 || proc_stat_parse(buf, &ppid, &state, &start) < 0 ||
            read_proc(pid, "status", buf, sizeof(buf)) < 0 || proc_status_uid(buf, &peer_uid) < 0)
                return error_set(err, -ESRCH, "process %d is gone", (int)pid);
        snprintf(ret->local, sizeof(ret->local), "%d:%llu", (int)pid, start);
        pid_t p = ppid;
        for (int depth = 0; p > 1 && depth < PEER_ANCESTORS_MAX; depth++) {
                uid_t uid;
                ssize_t n;
                if (read_proc(p, "status", buf, sizeof(buf)) < 0 || proc_status_uid(buf, &uid) < 0)
                        break;
                if (uid == 0 && !*ret->slurm && (n = read_proc(p, "cmdline", buf, sizeof(buf))) > 0)
                        slurmstepd_title_job(buf, (size_t)n, ret->slurm, sizeof(ret->slurm));
                if (uid != peer_uid && !*ret->sge)
                        shepherd_of(p, ret->sge, sizeof(ret->sge));
                if (read_proc(p, "stat", buf, sizeof(buf)) < 0 || proc_stat_parse(buf, &p, &state, &start) < 0)
                        break;
        }
        return 0;
}

const char *batch_peer_job(const BatchPeerJobs *j, const char *backend) {
        if (streq(backend, "local"))
                return j->local;
        if (streq(backend, "slurm"))
                return j->slurm;
        if (streq(backend, "sge"))
                return j->sge;
        return NULL;
}
