/* slurm.h - the pure parts of the Slurm backend (batch_slurm in slurm.c):
 * the command lines it runs and how it reads their output. Unit-tested with
 * golden files (tests/unit/test-batch-slurm.c, tests/golden/batch/).
 *
 *   submit  sbatch --parsable ... (as the VM's owner; the job script of
 *           batch_job_script() on stdin); the job id is its output
 *   state   squeue -h -o "%i %T" (as root), one listing of every live job
 *           shared by the state() calls of a reconciliation round
 *   cancel  scancel ID (as root: root may cancel any job) */
#pragma once

#include "batch/batch.h"

#define SLURM_JOB_ID_MAX 20 /* digits of a Slurm job id (uint32 in practice) */

/* A Slurm job id as vmbatch submits them: 1-20 decimal digits, nothing else
 * (no array or het-job suffixes, never an option). */
bool slurm_job_id_is_valid(const char *id);

/* `sbatch --parsable --job-name=N --output=LOG --open-mode=append --no-requeue
 * --mem=MiBM --cpus-per-task=C [--nodelist=H] [--partition=Q] [--reservation=R]
 * [--time=MIN --signal=B:TERM@60]`: NULL-
 * terminated, malloc'd (free with batch_argv_free). mem is rounded up to MiB
 * (omitted when 0), vcpus 0 counts as 1, walltime is rounded up to minutes
 * and the starter (only) gets SIGTERM ~60 s before it; '%' in the log path is
 * escaped ('%%': slurmstepd expands %j etc.). -EINVAL for a request sbatch
 * would misread (a job name or log path with a newline, a backslash, ...). */
int slurm_sbatch_argv(const BatchSubmit *req, char ***ret_argv, Error *err);

/* `scancel ID`; -EINVAL for an invalid id. */
int slurm_scancel_argv(const char *job_id, char ***ret_argv, Error *err);

/* sbatch --parsable prints "ID" or "ID;CLUSTER" (then a newline): the ID.
 * -EBADMSG when the output holds no job id. */
int slurm_parse_sbatch_output(const char *out, char *ret_job_id, size_t len);

/* A job state as squeue's %T prints it: PENDING/CONFIGURING/REQUEUED... ->
 * PENDING; RUNNING/COMPLETING/SUSPENDED... -> RUNNING; COMPLETED/CANCELLED/
 * FAILED/TIMEOUT... -> GONE. _BATCH_JOB_STATE_INVALID for a name we do not
 * know (never guessed as GONE). */
BatchJobState slurm_job_state_from_name(const char *name);

/* What squeue's exit code, stdout and stderr say about one job (`squeue -j
 * ID -o %T`; for the listing, only its errors count):
 *   exit 0 and a state             -> that state
 *   exit 0 and no output           -> GONE (finished; squeue -j lists only live jobs)
 *   exit != 0, "Invalid job id"    -> GONE (unknown to slurmctld, or purged)
 *   anything else (slurmctld down, "Unable to contact slurm controller", a
 *   state we do not know)          -> negative errno and a message in err:
 *                                     NOT gone, so nobody kills a VM because
 *                                     the scheduler hiccuped. */
int slurm_parse_squeue(int exit_code, const char *out, const char *errout, BatchJobState *ret, Error *err);

/* `squeue -h -o "%i %T"`: every live job, "ID STATE" a line. */
char **slurm_squeue_list_argv(void);

/* The state of job_id in such a listing: its line's state (as
 * slurm_job_state_from_name, an unknown name is an error), GONE when it
 * is not listed (squeue lists only live jobs). */
int slurm_listing_state(const char *listing, const char *job_id, BatchJobState *ret, Error *err);

/* scancel's verdict: 0 when the job is cancelled or was already gone
 * ("Invalid job id", "already completing or completed"), else a negative
 * errno and a message. */
int slurm_parse_scancel(int exit_code, const char *errout, Error *err);
