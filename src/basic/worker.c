/* worker.c - see worker.h. Each running job has two event sources: the
 * socket it writes its outcome (and maybe fds) to (drained as it comes, so
 * a child never blocks on a full buffer) and its pidfd (readable once it exited; then the
 * rest of the pipe is read and the child reaped with WNOHANG, which cannot
 * wait: it has exited). */
#include "basic/worker.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/frame.h"
#include "basic/log.h"
#include "basic/util.h"

struct WorkerJob {
        Workers *workers;
        worker_fn fn;
        void *arg;
        worker_done_fn done;
        worker_done_fds_fn done_fds;
        void *userdata;
        bool running; /* started (counted in n_running) */
        pid_t pid;    /* the child until it is reaped, else 0 */
        int out_fd, pidfd;
        EventSource *out_source, *pid_source;
        char *out;
        size_t len;
        int fds[WORKER_FDS_MAX];
        size_t n_fds;
        WorkerJob *prev, *next;
};

struct Workers {
        EventLoop *loop;
        unsigned max_running, n_running, n_waiting;
        WorkerJob *first, *last; /* in queue order */
};

int workers_new(EventLoop *loop, unsigned max_running, Workers **ret) {
        Workers *w = xcalloc(1, sizeof(*w));
        w->loop = loop;
        w->max_running = max_running ? max_running : 1;
        *ret = w;
        return 0;
}

unsigned workers_running(const Workers *w) {
        return w->n_running;
}

unsigned workers_waiting(const Workers *w) {
        return w->n_waiting;
}

static void job_unlink(WorkerJob *j) {
        Workers *w = j->workers;
        if (j->prev)
                j->prev->next = j->next;
        else
                w->first = j->next;
        if (j->next)
                j->next->prev = j->prev;
        else
                w->last = j->prev;
        if (j->running)
                w->n_running--;
        else
                w->n_waiting--;
}

/* Free j; a child still running is killed and reaped first. */
static void job_free(WorkerJob *j) {
        job_unlink(j);
        event_source_free(j->out_source);
        event_source_free(j->pid_source);
        if (j->out_fd >= 0)
                close(j->out_fd);
        if (j->pid > 0) {
                kill(j->pid, SIGKILL);
                /* SIGKILL cannot be ignored: this wait is for an exit already under way */
                while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        if (j->pidfd >= 0)
                close(j->pidfd);
        close_fds(j->fds, j->n_fds);
        free(j->out);
        free(j);
}

static void start_waiting(Workers *w);

static void complete(WorkerJob *j, int status) {
        Workers *w = j->workers;
        worker_done_fn done = j->done;
        worker_done_fds_fn done_fds = j->done_fds;
        void *userdata = j->userdata;
        char *out = j->out ? TAKE_PTR(j->out) : xstrdup("");
        int fds[WORKER_FDS_MAX];
        size_t n_fds = j->n_fds;
        memcpy(fds, j->fds, n_fds * sizeof(int));
        j->n_fds = 0; /* taken: handed on, or closed below */
        job_free(j); /* a child not reaped yet (it could not be watched) is killed there */
        if (done_fds)
                done_fds(userdata, out, status, fds, n_fds);
        else {
                close_fds(fds, n_fds);
                done(userdata, out, status);
        }
        free(out);
        start_waiting(w);
}

/* One read of the child's socket, keeping the fds that came with it. */
static ssize_t receive(WorkerJob *j, char *buf, size_t len) {
        union {
                struct cmsghdr h;
                char space[CMSG_SPACE(sizeof(int) * WORKER_FDS_MAX)];
        } control;
        struct iovec iov = {.iov_base = buf, .iov_len = len};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                           .msg_controllen = sizeof(control)};
        ssize_t n = recvmsg(j->out_fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0)
                return n;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                int *got = (int *)CMSG_DATA(c);
                for (size_t i = 0; i < k; i++) {
                        if (j->n_fds < WORKER_FDS_MAX)
                                j->fds[j->n_fds++] = got[i];
                        else
                                close(got[i]);
                }
        }
        return n;
}

static void drain(WorkerJob *j) {
        while (j->out_fd >= 0) {
                char buf[4096];
                ssize_t n = receive(j, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) { /* EOF, EAGAIN or an error: nothing more now */
                        if (n == 0 || errno != EAGAIN) {
                                event_source_free(j->out_source);
                                j->out_source = NULL;
                                close(j->out_fd);
                                j->out_fd = -1;
                        }
                        return;
                }
                size_t keep = j->len + (size_t)n > WORKER_OUTPUT_MAX ? WORKER_OUTPUT_MAX - j->len : (size_t)n;
                j->out = xrealloc(j->out, j->len + keep + 1);
                memcpy(j->out + j->len, buf, keep);
                j->len += keep;
                j->out[j->len] = 0;
        }
}

static int on_output(EventSource *s, int fd, uint32_t events, void *userdata) {
        drain(userdata);
        return 0;
}

static int on_exit_(EventSource *s, int fd, uint32_t events, void *userdata) {
        WorkerJob *j = userdata;
        int status = 0;
        pid_t p = waitpid(j->pid, &status, WNOHANG);
        if (p == 0)
                return 0; /* not yet (cannot happen: the pidfd is readable) */
        if (p > 0)
                j->pid = 0; /* reaped */
        drain(j);
        complete(j, p < 0 ? -1 : status);
        return 0;
}

_Noreturn static void child(WorkerJob *j, int out_fd) {
        /* only 0-2 and the outcome pipe (as fd 3) stay open */
        if (out_fd != 3 && dup2(out_fd, 3) < 0)
                _exit(127);
        syscall(SYS_close_range, 4U, ~0U, 0U);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL); /* the loop's signalfd blocked them */
        signal(SIGPIPE, SIG_DFL);
        FILE *out = fdopen(3, "w");
        if (!out)
                _exit(127);
        j->fn(j->arg, out);
        _exit(fclose(out) == 0 ? 0 : 1);
}

static int job_start(WorkerJob *j) {
        Workers *w = j->workers;
        int p[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(p[0]);
                close(p[1]);
                return r;
        }
        if (pid == 0) {
                close(p[0]);
                child(j, p[1]);
        }
        close(p[1]);
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        j->pid = pid;
        j->out_fd = p[0];
        j->running = true;
        w->n_waiting--;
        w->n_running++;
        j->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        int r = j->pidfd < 0 ? -errno : 0;
        if (r >= 0)
                r = event_add_io(w->loop, j->out_fd, EPOLLIN, on_output, j, &j->out_source);
        if (r >= 0)
                r = event_add_io(w->loop, j->pidfd, EPOLLIN, on_exit_, j, &j->pid_source);
        return r;
}

static void start_waiting(Workers *w) {
        for (WorkerJob *j = w->first, *next; j && w->n_running < w->max_running; j = next) {
                next = j->next;
                if (j->running)
                        continue;
                int r = job_start(j);
                if (r < 0) {
                        log_error("cannot start a worker: %s", strerror(-r));
                        complete(j, -1); /* counted as running or waiting, as it is */
                        return; /* complete() started the rest */
                }
        }
}

static WorkerJob *queue(Workers *w, worker_fn fn, void *arg, worker_done_fn done, worker_done_fds_fn done_fds,
                        void *userdata) {
        WorkerJob *j = xcalloc(1, sizeof(*j));
        *j = (WorkerJob){.workers = w, .fn = fn, .arg = arg, .done = done, .done_fds = done_fds,
                         .userdata = userdata, .out_fd = -1, .pidfd = -1, .prev = w->last};
        if (w->last)
                w->last->next = j;
        else
                w->first = j;
        w->last = j;
        w->n_waiting++;
        if (w->n_running < w->max_running) {
                /* started here, a failure is the caller's to handle: done is
                 * never called from inside worker_queue */
                int r = job_start(j);
                if (r < 0) {
                        log_error("cannot start a worker: %s", strerror(-r));
                        job_free(j);
                        return NULL;
                }
        }
        return j;
}

WorkerJob *worker_queue(Workers *w, worker_fn fn, void *arg, worker_done_fn done, void *userdata) {
        return queue(w, fn, arg, done, NULL, userdata);
}

WorkerJob *worker_queue_fds(Workers *w, worker_fn fn, void *arg, worker_done_fds_fn done, void *userdata) {
        return queue(w, fn, arg, NULL, done, userdata);
}

int worker_send_fd(FILE *out, const char *text, int fd) {
        if (fflush(out) != 0)
                return -errno;
        ssize_t n = send_with_fd(fileno(out), text, strlen(text), fd, 0);
        return n < 0 ? (int)n : (size_t)n == strlen(text) ? 0 : -EIO;
}

void worker_cancel(WorkerJob *j) {
        if (!j)
                return;
        Workers *w = j->workers;
        job_free(j);
        start_waiting(w);
}

void workers_free(Workers *w) {
        if (!w)
                return;
        while (w->first)
                job_free(w->first);
        free(w);
}
