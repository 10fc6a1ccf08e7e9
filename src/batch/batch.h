/* batch.h - how an instance becomes a job: submit / state / cancel.
 *
 * Every backend runs the same job: `vmbatch-starter --instance N --socket S`
 * as the VM's owner on some execution host; the starter reaches the node
 * role of the vmbatchd there. `local` (the embedded default) starts the
 * starter itself, detached, so a daemon restart does not kill running VMs;
 * Slurm (sbatch) and Grid Engine (qsub) backends plug in here. */
#pragma once

#include <sys/types.h>

#include "basic/error.h"
#include "disk/disk.h"

typedef enum BatchJobState {
        BATCH_JOB_PENDING,
        BATCH_JOB_RUNNING,
        BATCH_JOB_GONE, /* finished, cancelled, or unknown to the scheduler */
        _BATCH_JOB_STATE_MAX,
        _BATCH_JOB_STATE_INVALID = -EINVAL,
} BatchJobState;

typedef struct BatchSubmit {
        uint32_t instance;
        const Cred *user;
        const char *starter;     /* path of vmbatch-starter */
        const char *socket;      /* the node socket the starter connects to */
        const char *log_path;    /* the job's stdout/stderr */
        uint64_t mem;            /* bytes, for the scheduler's resource request */
        uint32_t vcpus;
        uint32_t walltime_s;     /* 0: none */
        const char *job_name;    /* "vmbatch-<instance>" */
        const char *host;        /* run on this execution host only; NULL: where the scheduler likes */
        const char *queue;       /* Slurm partition / Grid Engine queue (the hosts running vmbatchd); NULL: default */
        const char *warm_ready;  /* a warm exam VM: the starter pauses it when its console prints this; NULL: not */
        const char *reservation; /* run in this reservation (an exam's: batch/reservation.h); NULL: none */
} BatchSubmit;

typedef struct BatchBackend {
        const char *name;
        /* submit asks a scheduler daemon (sbatch, qsub: tens of ms): the
         * daemon runs it in a child process so that it serves others meanwhile */
        bool slow_submit;
        int (*submit)(const BatchSubmit *req, char *ret_job_id, size_t len, Error *err);
        int (*state)(const char *job_id, BatchJobState *ret, Error *err);
        int (*cancel)(const char *job_id, Error *err);
        /* forget what was cached of the scheduler's state (after a submit in
         * another process); NULL: nothing cached */
        void (*forget)(void);
} BatchBackend;

const BatchBackend *batch_backend_find(const char *name);

/* A scheduler's listing of every live job (squeue, qstat), kept for
 * BATCH_LISTING_TTL_USEC so that the state() calls of one reconciliation
 * round share one command instead of running one per queued vm. */
#define BATCH_LISTING_TTL_USEC 2000000
#define BATCH_LISTING_MAX (4u << 20) /* bytes captured of a listing */
typedef struct BatchListing {
        char *out;
        uint64_t at_usec;
} BatchListing;
/* The cached text, or NULL when there is none or it is older than the TTL
 * (then it is dropped). */
const char *batch_listing_fresh(BatchListing *l);
/* Keep out (stolen) as the listing taken at at_usec. */
const char *batch_listing_set(BatchListing *l, char *out, uint64_t at_usec);
void batch_listing_forget(BatchListing *l);

/* The job's log, made (or reused) by root in a directory only root may
 * write and owned by the user, whose job (slurmstepd, sge_shepherd) then
 * appends to it. */
int batch_log_create(const BatchSubmit *req, Error *err);

/* The argv the local backend runs (pure). Without a scheduler the starter
 * keeps the wall time itself (--walltime). */
char **batch_starter_argv(const BatchSubmit *req);
void batch_argv_free(char **argv);

/* The job script every scheduler runs (pure): a shell that execs the
 * starter; golden-tested. malloc'd. */
char *batch_job_script(const BatchSubmit *req);

/* The node socket a job's starter connects to: tmpl with "%h" replaced by
 * the execution host's name (several nodes may share one file system) and
 * "%%" by "%". -ENAMETOOLONG if it does not fit len. Pure. */
int batch_node_socket(const char *tmpl, const char *host, char *buf, size_t len);
/* Inside a job: the execution host's name as the scheduler calls it
 * (SLURMD_NODENAME), else the host name. */
void batch_host_name(char *buf, size_t len);

/* Inside a job: the scheduler's id for it (SLURM_JOB_ID, Grid Engine's
 * JOB_ID), or NULL when run by the local backend. The node checks it
 * against the instance's job before it hands over a tap. */
const char *batch_job_id_from_env(void);
