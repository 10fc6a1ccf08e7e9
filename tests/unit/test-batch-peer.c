/* test-batch-peer.c - batch/peer.h: which job a process provably runs in.
 * The parsers on what /proc gives (command names with spaces and ')'),
 * the titles of slurmstepd and the shepherd; then live processes: a child's
 * own "<pid>:<start>", a process under an ancestor titled like a Slurm step
 * (proves the job only when that ancestor is root's), and one under a
 * process of another user running a root-owned sge_shepherd in a job's
 * spool directory (the same made by the starter's own user proves nothing). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "batch/peer.h"
#include "tap.h"

/* The pid a child wrote as the first line to pipe p (its write end closed here). */
static pid_t read_pid(int p[2]) {
        close(p[1]);
        char buf[32] = "";
        FILE *f = fdopen(p[0], "r");
        if (!f || !fgets(buf, sizeof(buf), f))
                buf[0] = 0;
        if (f)
                fclose(f);
        return (pid_t)atoi(buf);
}

/* the pid of the sleep a shell titled title runs as user (NULL: us) */
static pid_t titled_child(const char *title, const char *user, pid_t *ret_shell) {
        int p[2];
        if (pipe(p) < 0)
                return -1;
        pid_t shell = fork();
        if (shell == 0) {
                dup2(p[1], 1);
                char script[512];
                snprintf(script, sizeof(script), "exec -a '%s' bash -c 'exec 2>/dev/null; sleep 30 & echo $!; wait'", title);
                if (user)
                        execlp("runuser", "runuser", "-u", user, "--", "bash", "-c", script, (char *)NULL);
                else
                        execlp("bash", "bash", "-c", script, (char *)NULL);
                _exit(127);
        }
        *ret_shell = shell;
        return read_pid(p);
}

static void reap(pid_t shell, pid_t sleeper) {
        if (sleeper > 0)
                kill(sleeper, SIGKILL);
        waitpid(shell, NULL, 0);
}

int main(void) {
        pid_t ppid = 0;
        char state = 0;
        unsigned long long start = 0;
        ok(proc_stat_parse("42 (a) b) c) S 7 42 42 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 123456 1 2", &ppid, &state,
                           &start) == 0 &&
                   ppid == 7 && state == 'S' && start == 123456,
           "stat: a command name with spaces and ')': parent, state and start time");
        ok(proc_stat_parse("42 (x", &ppid, &state, &start) < 0, "stat: truncated is refused");
        uid_t uid;
        ok(proc_status_uid("Name:\tx\nUid:\t1000\t0\t0\t0\n", &uid) == 0 && uid == 1000, "status: the real uid");
        ok(proc_status_uid("Name:\tx\n", &uid) < 0, "status: no Uid line");
        char job[24];
        const char t1[] = "slurmstepd: [123.batch]", t2[] = "slurmstepd: [123]", t3[] = "slurmstepd: [12a.batch]";
        ok(slurmstepd_title_job(t1, sizeof(t1), job, sizeof(job)) && strcmp(job, "123") == 0, "slurmstepd [123.batch]");
        ok(!slurmstepd_title_job(t2, sizeof(t2), job, sizeof(job)), "a title without a step is not a job step");
        ok(!slurmstepd_title_job(t3, sizeof(t3), job, sizeof(job)), "non-digits are refused");
        ok(shepherd_cwd_job("/var/spool/gridengine/execd/h/active_jobs/52.1", job, sizeof(job)) &&
                   strcmp(job, "52") == 0,
           "a shepherd's spool directory names job 52");
        ok(!shepherd_cwd_job("/var/spool/gridengine/execd/h/active_jobs/52.1/x", job, sizeof(job)) &&
                   !shepherd_cwd_job("/home/a/active_jobs/52", job, sizeof(job)) &&
                   !shepherd_cwd_job("/tmp/active_jobs/5x.1", job, sizeof(job)),
           "anything else is not a spool directory of a job");

        /* live: ourselves */
        BatchPeerJobs j;
        Error err = {0};
        ok(batch_peer_jobs(getpid(), &j, &err) == 0 && proc_start_time(getpid(), &start) == 0, "our own jobs read");
        char want[48];
        snprintf(want, sizeof(want), "%d:%llu", (int)getpid(), start);
        is_str(j.local, want, "local: the process itself, pid:start");
        is_str(batch_peer_job(&j, "local"), want, "batch_peer_job(local)");
        ok(batch_peer_job(&j, "pbs") == NULL, "an unknown backend proves nothing");

        if (getuid() != 0) {
                printf("# not root: the ownership cases are skipped\n");
                return tap_done();
        }
        pid_t shell, sleeper = titled_child("slurmstepd: [4242.batch]", NULL, &shell);
        ok(sleeper > 0 && batch_peer_jobs(sleeper, &j, &err) == 0, "a process under a root 'slurmstepd: [4242.batch]'");
        is_str(j.slurm, "4242", "... proves Slurm job 4242");
        reap(shell, sleeper);
        sleeper = titled_child("slurmstepd: [4242.batch]", "nobody", &shell);
        ok(sleeper > 0 && batch_peer_jobs(sleeper, &j, &err) == 0, "the same title made by user nobody");
        is_str(j.slurm, "", "... proves nothing (not root's)");
        reap(shell, sleeper);
        /* a fake shepherd: a root-owned copy of bash named sge_shepherd, in a
         * job's spool directory, whose child runs as nobody */
        char tmp[] = "/tmp/vmbatch-peer-XXXXXX", cmd[1024];
        ok(mkdtemp(tmp) != NULL, "a scratch directory");
        snprintf(cmd, sizeof(cmd),
                 "mkdir -p %s/active_jobs/99.1 && cp /bin/bash %s/sge_shepherd && chmod 0755 %s && chmod 0755 %s/sge_shepherd",
                 tmp, tmp, tmp, tmp);
        ok(system(cmd) == 0, "a root-owned sge_shepherd binary");
        int p[2];
        (void)!pipe(p);
        pid_t sh_pid = fork();
        if (sh_pid == 0) {
                dup2(p[1], 1);
                char exe[256], dir[256];
                snprintf(exe, sizeof(exe), "%s/sge_shepherd", tmp);
                snprintf(dir, sizeof(dir), "%s/active_jobs/99.1", tmp);
                if (chdir(dir) < 0)
                        _exit(127);
                execl(exe, "sge_shepherd", "-c",
                      "exec 2>/dev/null; runuser -u nobody -- bash -c 'echo $$; exec sleep 30'; wait",
                      (char *)NULL);
                _exit(127);
        }
        pid_t nob = read_pid(p);
        char buf[32];
        FILE *f;
        ok(nob > 0 && batch_peer_jobs(nob, &j, &err) == 0 && strcmp(j.sge, "99") == 0 && !*j.slurm,
           "nobody's process under root's sge_shepherd in active_jobs/99.1 proves SGE job 99 (found '%s')", j.sge);
        kill(nob, SIGKILL);
        waitpid(sh_pid, NULL, 0);
        /* the same shepherd run by the starter's own user proves nothing */
        snprintf(cmd, sizeof(cmd), "cd %s/active_jobs/99.1 && exec 2>/dev/null && runuser -u nobody -- %s/sge_shepherd -c 'sleep 30 & echo $!; wait' > %s/pid &", tmp, tmp, tmp);
        (void)!system(cmd);
        usleep(500000);
        snprintf(cmd, sizeof(cmd), "%s/pid", tmp);
        f = fopen(cmd, "r");
        buf[0] = 0;
        if (f) {
                if (!fgets(buf, sizeof(buf), f))
                        buf[0] = 0;
                fclose(f);
        }
        nob = (pid_t)atoi(buf);
        ok(nob > 0 && batch_peer_jobs(nob, &j, &err) == 0 && !*j.sge,
           "the same shepherd started by nobody itself proves nothing (found '%s')", j.sge);
        if (nob > 0)
                kill(nob, SIGKILL);
        usleep(100000);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
        (void)!system(cmd);
        return tap_done();
}
