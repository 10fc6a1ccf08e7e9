/* peer.h - which batch job a local process (a starter that connected to the
 * node) belongs to, from what only the kernel and root can make, never from
 * what the process says (its environment is the user's):
 *   local  the process itself: "<pid>:<start time>", the job id vmbatchd
 *          recorded when it started that very process;
 *   slurm  a root-owned slurmstepd of the job among its ancestors, whose
 *          process title is "slurmstepd: [JOBID.STEP]";
 *   sge    a shepherd of the job among its ancestors: a process of another
 *          user than the starter's (execd's admin user, or root) running a
 *          root-owned binary named sge_shepherd, whose working directory is
 *          the job's spool directory ".../active_jobs/JOBID.TASK".
 * A user cannot make a process of root or of another user, and a job's
 * steps (and shepherd) exist only once the scheduler runs the job: a
 * starter run by hand, or inside another job of the same user, proves
 * nothing about a pending job. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "basic/error.h"

#define PEER_ANCESTORS_MAX 64

typedef struct BatchPeerJobs {
        char local[48]; /* "" when the process is gone */
        char slurm[24]; /* "" when no ancestor proves a Slurm job */
        char sge[24];
} BatchPeerJobs;

/* Field 22 of /proc/PID/stat, the start time in clock ticks since boot;
 * -ESRCH for a process that is gone or a zombie. */
int proc_start_time(pid_t pid, unsigned long long *ret);

/* Read /proc for pid and its ancestors. */
int batch_peer_jobs(pid_t pid, BatchPeerJobs *ret, Error *err);

/* The proven job of backend name ("local", "slurm", "sge") in j; NULL for
 * another backend. */
const char *batch_peer_job(const BatchPeerJobs *j, const char *backend);

/* Pure parts (tested on what /proc gives):
 * /proc/PID/stat: the parent, the state and the start time (field 22); the
 * command name in parentheses may hold spaces and ')' itself. */
int proc_stat_parse(const char *text, pid_t *ret_ppid, char *ret_state, unsigned long long *ret_start);
/* /proc/PID/status: the real uid (first field of "Uid:"). */
int proc_status_uid(const char *text, uid_t *ret);
/* /proc/PID/cmdline (NUL-separated, len bytes): the job a slurmstepd or
 * shepherd title names, digits only. */
bool slurmstepd_title_job(const char *cmdline, size_t len, char *job, size_t job_len);
/* A shepherd's working directory: the job of ".../active_jobs/JOBID.TASK". */
bool shepherd_cwd_job(const char *cwd, char *job, size_t job_len);
