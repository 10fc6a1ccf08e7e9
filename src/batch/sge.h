/* sge.h - the Grid Engine backend's pure parts: the argv of qsub, qstat,
 * qdel and qselect, the address space a VM asks for, and the parsing of
 * what those programs print. Golden- and unit-tested
 * (tests/unit/test-batch-sge.c); src/batch/sge.c runs them. */
#pragma once

#include "batch/batch.h"

/* The parallel environment a VM with several vcpus asks for (-pe smp N),
 * when some queue offers it (scripts/sge-up.sh makes one). */
#define SGE_PE_NAME "smp"

/* h_vmem is a hard limit on every process's address space (RLIMIT_AS), not
 * a resident size: qemu needs the guest's RAM plus its own mappings (code,
 * TCG translation buffer, thread stacks of vcpus and the block I/O pool,
 * coroutine stacks, VGA RAM). Measured with qemu 7.2 under TCG and a full
 * vmbatch command line: guest RAM + 640 MiB (1 vcpu) .. + 1024 MiB (4 vcpus)
 * was the least that booted, and less fails at random points
 * ("qemu_thread_create: Resource temporarily unavailable"). So: */
#define SGE_VMEM_BASE_MIB 1024     /* per VM, above its RAM */
#define SGE_VMEM_PER_VCPU_MIB 256  /* per vcpu */

/* The client environment: SGE_ROOT, SGE_CELL (and the ports when set). */
typedef struct SgeEnv {
        const char *root;        /* NULL: /var/lib/gridengine (Debian) */
        const char *cell;        /* NULL: default */
        const char *qmaster_port; /* NULL: from /etc/services */
        const char *execd_port;
} SgeEnv;

/* "KEY=value" list for SpawnOpts.extra_env, NULL-terminated (free with
 * batch_argv_free). */
char **sge_env_list(const SgeEnv *env);

/* MiB of address space the whole VM needs (rounded up). */
uint64_t sge_vm_vmem_mib(uint64_t mem_bytes, uint32_t vcpus);

/* qsub -terse ... reading the job script on stdin. pe: NULL or the
 * parallel environment to take req->vcpus slots in (h_vmem is per slot
 * then). NULL when req cannot be expressed (a ':' in the log path, which
 * qsub would read as host:path, or a missing field). */
char **sge_qsub_argv(const BatchSubmit *req, const char *pe);
char **sge_qstat_job_argv(const char *job_id);      /* qstat -j ID */
char **sge_qstat_list_argv(const char *owner);      /* qstat -u OWNER ('*' when NULL) */
char **sge_qdel_argv(const char *job_id);           /* qdel ID */
char **sge_qselect_pe_argv(const char *pe);         /* qselect -pe PE */

/* A Grid Engine job id: digits only (what qsub -terse prints for a
 * non-array job). Anything else never reaches qstat/qdel. */
bool sge_job_id_valid(const char *job_id);

/* qsub -terse's stdout: the job id on the first line. -EBADMSG if not. */
int sge_parse_qsub(const char *out, char *ret_job_id, size_t len);

/* `qstat -j ID`: 1 = the job exists (*ret_owner filled when the output
 * names it), 0 = it does not ("Following jobs do not exist"), -EIO = no
 * answer from qmaster (or anything unexpected: never taken for "gone"). */
int sge_parse_qstat_job(int exit_code, const char *out, const char *err, char *ret_owner, size_t len);

/* The state column of a `qstat` listing: qw, hqw, Eqw ... -> PENDING;
 * r, t, Rr, s, S, T, dr ... -> RUNNING. */
BatchJobState sge_state_from_code(const char *code);

/* Find job_id in a `qstat` listing. 0 and *ret set; -ENOENT when absent. */
int sge_parse_qstat_list(const char *out, const char *job_id, BatchJobState *ret);

/* `qdel ID`: 0 = deleted, being deleted, or already gone; -EIO otherwise. */
int sge_parse_qdel(int exit_code, const char *out, const char *err);

/* `qselect -pe PE`: true when at least one queue instance offers it. */
bool sge_parse_qselect(int exit_code, const char *out);

/* Drop the cached `qstat -u '*'` listing state() shares between calls
 * (submit and cancel do; tests too). */
void sge_forget_listing(void);
