#include "basic/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static spawn_hook_t hook;
static void *hook_userdata;

void spawn_set_hook(spawn_hook_t h, void *userdata) {
        hook = h;
        hook_userdata = userdata;
}

void spawn_result_clear(SpawnResult *r) {
        if (!r)
                return;
        free(r->out);
        free(r->err);
        memset(r, 0, sizeof(*r));
}

const char *spawn_result_first_line(const SpawnResult *r, char *buf, size_t len) {
        const char *src = (r->err && *r->err) ? r->err : (r->out ? r->out : "");
        size_t n = strcspn(src, "\n");
        if (n >= len)
                n = len - 1;
        memcpy(buf, src, n);
        buf[n] = 0;
        return buf;
}

int spawn_drop_privileges(uid_t uid, gid_t gid, const char *user_name) {
        if (user_name) {
                if (initgroups(user_name, gid) < 0)
                        return -errno;
        } else if (setgroups(0, NULL) < 0)
                return -errno;
        if (setresgid(gid, gid, gid) < 0)
                return -errno;
        if (setresuid(uid, uid, uid) < 0)
                return -errno;
        if (uid != 0 && setuid(0) == 0)
                return -EPERM; /* must never be able to get root back */
        return 0;
}

/* exec argv with the clean environment every child gets: LC_ALL=C, a fixed
 * PATH, and only the extra entries the caller names. */
_Noreturn static void exec_clean(char *const *argv, char *const *extra_env) {
        char *env[64];
        size_t n = 0;
        env[n++] = "LC_ALL=C";
        env[n++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        for (size_t i = 0; extra_env && extra_env[i] && n < ELEMENTSOF(env) - 1; i++)
                env[n++] = extra_env[i];
        env[n] = NULL;
        execvpe(argv[0], argv, env);
        dprintf(2, "cannot execute %s: %m\n", argv[0]);
        _exit(127);
}

struct capture {
        int fd;
        char *buf;
        size_t len, max;
};

static void capture_read(struct capture *c) {
        char tmp[4096];
        ssize_t n = read(c->fd, tmp, sizeof(tmp));
        if (n <= 0) {
                if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                        close(c->fd);
                        c->fd = -1;
                }
                return;
        }
        size_t keep = (size_t)n;
        if (c->len + keep > c->max)
                keep = c->max > c->len ? c->max - c->len : 0;
        if (keep) {
                c->buf = xrealloc(c->buf, c->len + keep + 1);
                memcpy(c->buf + c->len, tmp, keep);
                c->len += keep;
                c->buf[c->len] = 0;
        }
}

_Noreturn static void child_exec(const SpawnOpts *o, int in_fd, int out_fd, int err_fd) {
        /* fds 0-2 */
        if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
                _exit(127);
        /* close everything else: all our fds are CLOEXEC, this is belt and braces */
        syscall(SYS_close_range, 3U, ~0U, 0U);
        signal(SIGPIPE, SIG_DFL);
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        if (o->as_user) {
                int r = spawn_drop_privileges(o->uid, o->gid, o->user_name);
                if (r < 0) {
                        dprintf(2, "cannot switch to uid %u: %s\n", (unsigned)o->uid, strerror(-r));
                        _exit(126);
                }
        }
        umask(o->private_files ? 077 : 022);
        if (chdir(o->cwd ? o->cwd : "/") < 0) {
                dprintf(2, "cannot change directory to %s: %m\n", o->cwd ? o->cwd : "/");
                _exit(126);
        }
        exec_clean(o->argv, o->extra_env);
}

int spawn_run(const SpawnOpts *o, SpawnResult *ret) {
        memset(ret, 0, sizeof(*ret));
        if (!o->argv || !o->argv[0])
                return -EINVAL;
        if (hook)
                return hook(o, ret, hook_userdata);

        int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
        int r = 0;
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
                r = -errno;
                goto fail_pipes;
        }
        pid_t pid = fork();
        if (pid < 0) {
                r = -errno;
                goto fail_pipes;
        }
        if (pid == 0)
                child_exec(o, in[0], out[1], err[1]);

        close(in[0]);
        close(out[1]);
        close(err[1]);
        int pidfd = pidfd_open(pid, 0);

        struct capture cap[2] = {
                {out[0], NULL, 0, o->capture_max ? o->capture_max : 65536},
                {err[0], NULL, 0, o->capture_max ? o->capture_max : 65536},
        };
        int in_fd = in[1];
        size_t in_off = 0;
        if (!o->stdin_data || o->stdin_len == 0) {
                close(in_fd);
                in_fd = -1;
        } else
                fcntl(in_fd, F_SETFL, O_NONBLOCK);

        uint64_t deadline = now_usec() + (uint64_t)(o->timeout_ms > 0 ? o->timeout_ms : 60000) * 1000;
        bool exited = false;
        while (!exited || cap[0].fd >= 0 || cap[1].fd >= 0) {
                struct pollfd p[4];
                int np = 0;
                int idx_pid = -1, idx_in = -1, idx_cap[2] = {-1, -1};
                if (!exited && pidfd >= 0) {
                        idx_pid = np;
                        p[np++] = (struct pollfd){pidfd, POLLIN, 0};
                }
                if (in_fd >= 0) {
                        idx_in = np;
                        p[np++] = (struct pollfd){in_fd, POLLOUT, 0};
                }
                for (int i = 0; i < 2; i++)
                        if (cap[i].fd >= 0) {
                                idx_cap[i] = np;
                                p[np++] = (struct pollfd){cap[i].fd, POLLIN, 0};
                        }
                uint64_t now = now_usec();
                int wait_ms = now >= deadline ? 0 : (int)((deadline - now) / 1000) + 1;
                if (np == 0)
                        break;
                int n = poll(p, (nfds_t)np, wait_ms);
                if (n < 0 && errno != EINTR) {
                        r = -errno;
                        break;
                }
                if (n == 0 && now_usec() >= deadline) {
                        ret->timed_out = true;
                        kill(pid, SIGKILL);
                        /* stop reading: a grandchild may hold the pipes open */
                        for (int i = 0; i < 2; i++)
                                if (cap[i].fd >= 0) {
                                        close(cap[i].fd);
                                        cap[i].fd = -1;
                                }
                        break;
                }
                if (idx_in >= 0 && p[idx_in].revents) {
                        ssize_t w = write(in_fd, (const char *)o->stdin_data + in_off, o->stdin_len - in_off);
                        if (w > 0)
                                in_off += (size_t)w;
                        if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off >= o->stdin_len) {
                                close(in_fd);
                                in_fd = -1;
                        }
                }
                for (int i = 0; i < 2; i++)
                        if (idx_cap[i] >= 0 && p[idx_cap[i]].revents)
                                capture_read(&cap[i]);
                if (idx_pid >= 0 && p[idx_pid].revents)
                        exited = true;
                if (pidfd < 0 && cap[0].fd < 0 && cap[1].fd < 0)
                        exited = true;
        }
        if (in_fd >= 0)
                close(in_fd);
        for (int i = 0; i < 2; i++)
                if (cap[i].fd >= 0)
                        close(cap[i].fd);
        if (pidfd >= 0)
                close(pidfd);

        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        ret->status = status;
        ret->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        ret->out = cap[0].buf ? cap[0].buf : xstrdup("");
        ret->err = cap[1].buf ? cap[1].buf : xstrdup("");
        return r;

fail_pipes:
        for (int i = 0; i < 2; i++) {
                if (in[i] >= 0) close(in[i]);
                if (out[i] >= 0) close(out[i]);
                if (err[i] >= 0) close(err[i]);
        }
        return r;
}

static int dup_or_null(int fd, int target, int flags) {
        if (fd >= 0)
                return fd == target ? (fcntl(fd, F_SETFD, 0) < 0 ? -1 : 0) : (dup2(fd, target) < 0 ? -1 : 0);
        int n = open("/dev/null", flags | O_CLOEXEC);
        if (n < 0)
                return -1;
        int r = dup2(n, target);
        close(n);
        return r < 0 ? -1 : 0;
}

_Noreturn static void child_start(const SpawnStartOpts *o, int report_fd) {
        if (o->pdeathsig)
                prctl(PR_SET_PDEATHSIG, o->pdeathsig);
        if (o->new_session)
                setsid();
        if (dup_or_null(o->stdin_fd, 0, O_RDONLY) < 0 || dup_or_null(o->stdout_fd, 1, O_WRONLY) < 0 ||
            dup_or_null(o->stderr_fd, 2, O_WRONLY) < 0)
                _exit(127);
        for (size_t i = 0; i < o->n_pass_fds; i++)
                if (fcntl(o->pass_fds[i], F_SETFD, 0) < 0)
                        _exit(127);
        /* close every fd that is neither 0-2 nor passed nor the report pipe */
        for (int fd = 3; fd < 1024; fd++) {
                bool keep = fd == report_fd;
                for (size_t i = 0; i < o->n_pass_fds; i++)
                        keep |= o->pass_fds[i] == fd;
                if (!keep)
                        close(fd);
        }
        signal(SIGPIPE, SIG_DFL);
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        if (o->as_user && spawn_drop_privileges(o->uid, o->gid, o->user_name) < 0)
                _exit(126);
        umask(o->private_files ? 077 : 022);
        if (chdir(o->cwd ? o->cwd : "/") < 0)
                _exit(126);
        exec_clean(o->argv, o->extra_env);
}

int spawn_start(const SpawnStartOpts *o, pid_t *ret_pid, int *ret_pidfd) {
        if (!o->argv || !o->argv[0])
                return -EINVAL;
        if (!o->detach) {
                pid_t pid = fork();
                if (pid < 0)
                        return -errno;
                if (pid == 0)
                        child_start(o, -1);
                if (ret_pidfd)
                        *ret_pidfd = pidfd_open(pid, 0);
                *ret_pid = pid;
                return 0;
        }
        /* detach: the middle child forks the real one, reports its pid and
         * exits, so the real child is re-parented away from us */
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid_t mid = fork();
        if (mid < 0) {
                int r = -errno;
                close(p[0]);
                close(p[1]);
                return r;
        }
        if (mid == 0) {
                close(p[0]);
                setsid();
                pid_t pid = fork();
                if (pid == 0)
                        child_start(o, -1);
                (void)!write(p[1], &pid, sizeof(pid));
                _exit(pid < 0 ? 1 : 0);
        }
        close(p[1]);
        pid_t pid = -1;
        ssize_t n = read(p[0], &pid, sizeof(pid));
        close(p[0]);
        while (waitpid(mid, NULL, 0) < 0 && errno == EINTR)
                ;
        if (n != sizeof(pid) || pid <= 0)
                return -ECHILD;
        if (ret_pidfd)
                *ret_pidfd = pidfd_open(pid, 0);
        *ret_pid = pid;
        return 0;
}
