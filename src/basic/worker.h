/* worker.h - work that may block for long runs in a forked child of the
 * process, never in its event loop: qemu-img on a file a user chose (a FIFO
 * blocks it until someone writes, a 4 GiB copy takes minutes, an NFS home
 * may hang), sbatch and qsub (they wait for the scheduler's daemon).
 *
 * The child runs one function, which writes its outcome (text, at most
 * WORKER_OUTPUT_MAX bytes) to a FILE, and _exits. It keeps no fd of its
 * parent's but stdin/stdout/stderr and that pipe: a client socket held open
 * by a child would hide the client's hang-up from the daemon, which treats a
 * starter's connection as its VM's liveness. The function must not touch
 * the parent's database or event loop (they are the parent's; a child only
 * computes and runs programs).
 *
 * A child may also hand back open fds (worker_send_fd): what it opened as
 * another user, say. They reach the loop with the outcome (worker_queue_fds).
 *
 * At most max_running children run at once; the rest wait in order. The
 * outcome reaches the loop through the done callback, exactly once per
 * queued job unless it was cancelled. */
#pragma once

#include <stdio.h>

#include "basic/error.h"
#include "basic/event.h"

#define WORKER_OUTPUT_MAX (64u << 10)
#define WORKER_FDS_MAX 16u

typedef struct Workers Workers;
typedef struct WorkerJob WorkerJob;

/* In the child: write the outcome to out. */
typedef void (*worker_fn)(void *arg, FILE *out);
/* In the loop: the child's output (NUL-terminated; "" when it wrote
 * nothing) and its wait status (-1: it could not be started). */
typedef void (*worker_done_fn)(void *userdata, const char *output, int status);
/* The same with the fds the child sent, in order (the callee's to close);
 * more than WORKER_FDS_MAX are closed here. */
typedef void (*worker_done_fds_fn)(void *userdata, const char *output, int status, int *fds, size_t n_fds);

int workers_new(EventLoop *loop, unsigned max_running, Workers **ret);
/* Children still running are killed (SIGKILL) and reaped; done is not
 * called for them nor for waiting jobs. Accepts NULL. */
void workers_free(Workers *w);

/* Queue fn(arg) (arg must stay valid until done or cancel). Starts at once
 * when there is room, else when a running job ends. NULL when it could not
 * be started at once (fork, pipe: logged); done is never called from inside
 * worker_queue. */
WorkerJob *worker_queue(Workers *w, worker_fn fn, void *arg, worker_done_fn done, void *userdata);
WorkerJob *worker_queue_fds(Workers *w, worker_fn fn, void *arg, worker_done_fds_fn done, void *userdata);
/* In the child: write text to out with fd riding on its first byte. */
int worker_send_fd(FILE *out, const char *text, int fd);
/* Forget a job: a waiting one never starts, a running child is killed;
 * done is not called. */
void worker_cancel(WorkerJob *job);
unsigned workers_running(const Workers *w);
unsigned workers_waiting(const Workers *w);
