/* dhcp_dnsmasq.c - the embedded DHCP server: a DHCP-only dnsmasq that we
 * start and supervise, serving fixed addresses to known hosts only.
 *
 * State directory layout (state_dir):
 *   hosts/<name>      one "mac,ip,name" line per host (--dhcp-hostsdir:
 *                     new files are picked up by inotify, no restart)
 *   leases            --dhcp-leasefile
 *   dnsmasq.pid       --pid-file (dnsmasq is our child: the pid is also ours)
 *   dnsmasq.log       --log-facility, with --log-dhcp
 *   dnsmasq.stderr    its stderr (start-up errors)
 *
 * dnsmasq only ever ADDS host records from a hosts dir: a deleted or
 * changed file's old record stays until SIGHUP, and its lease stays until
 * dhcp_release (or expiry). So removal = unlink + SIGHUP + dhcp_release. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "basic/spawn.h"
#include "net/dhcp.h"
#include "net/link.h"

#define DNSMASQ_START_TIMEOUT_USEC (5ULL * 1000000ULL)
#define DNSMASQ_STOP_TIMEOUT_MS 2000
#define DHCP_RELEASE_TIMEOUT_MS 5000

typedef struct Dnsmasq {
        pid_t pid;  /* 0: none running */
        int pidfd;
} Dnsmasq;

/* ---- pure functions ---------------------------------------------------- */

static bool ipv4_is_valid(const char *s) {
        struct in_addr a;
        return s && inet_pton(AF_INET, s, &a) == 1;
}

int dnsmasq_host_line(const char *mac, const char *ip, const char *name, char **ret) {
        uint8_t m[6];
        if (dhcp_mac_parse(mac, m) < 0 || !ipv4_is_valid(ip) || !dhcp_host_name_is_valid(name))
                return -EINVAL;
        *ret = xasprintf("%02x:%02x:%02x:%02x:%02x:%02x,%s,%s\n", m[0], m[1], m[2], m[3], m[4], m[5], ip, name);
        return 0;
}

int dnsmasq_host_line_parse(const char *line, char mac[18], char ip[16], char name[64]) {
        if (!line)
                return -EINVAL;
        size_t len = strcspn(line, "\n");
        if (line[len] == '\n' && line[len + 1] != 0)
                return -EINVAL; /* one line only */
        char buf[128];
        if (len >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, line, len);
        buf[len] = 0;
        char *c1 = strchr(buf, ',');
        char *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        if (!c1 || !c2 || strchr(c2 + 1, ','))
                return -EINVAL;
        *c1 = *c2 = 0;
        uint8_t m[6];
        if (dhcp_mac_parse(buf, m) < 0 || !ipv4_is_valid(c1 + 1) || strlen(c1 + 1) > 15 ||
            !dhcp_host_name_is_valid(c2 + 1))
                return -EINVAL;
        snprintf(mac, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
        memcpy(ip, c1 + 1, strlen(c1 + 1) + 1);
        memcpy(name, c2 + 1, strlen(c2 + 1) + 1);
        return 0;
}

char *dnsmasq_hosts_dir(const char *state_dir) {
        return xasprintf("%s/hosts", state_dir);
}

char *dnsmasq_host_file(const char *state_dir, const char *name) {
        if (!dhcp_host_name_is_valid(name)) /* also: no '/', no leading '.' */
                return NULL;
        return xasprintf("%s/hosts/%s", state_dir, name);
}

/* A path dnsmasq gets inside "--opt=PATH": absolute, printable, no ','. */
static bool dnsmasq_path_is_valid(const char *p) {
        if (isempty(p) || p[0] != '/' || strlen(p) > 3000)
                return false;
        for (; *p; p++)
                if ((unsigned char)*p < ' ' || *p == ',' || (unsigned char)*p == 0x7f)
                        return false;
        return true;
}

static int dnsmasq_check_config(const DhcpConfig *c, Error *err) {
        if (!link_name_is_valid(c->interface) || strchr(c->interface, ','))
                return error_set(err, -EINVAL, "dnsmasq: invalid interface name '%s'",
                                 c->interface ? c->interface : "");
        if (!dnsmasq_path_is_valid(c->state_dir))
                return error_set(err, -EINVAL, "dnsmasq: state directory must be an absolute path without ',' ('%s')",
                                 c->state_dir ? c->state_dir : "");
        if (!ipv4_is_valid(c->range_net))
                return error_set(err, -EINVAL, "dnsmasq: invalid range network '%s'",
                                 c->range_net ? c->range_net : "");
        if (!ipv4_is_valid(c->range_mask))
                return error_set(err, -EINVAL, "dnsmasq: invalid range netmask '%s'",
                                 c->range_mask ? c->range_mask : "");
        if (c->gateway && !ipv4_is_valid(c->gateway))
                return error_set(err, -EINVAL, "dnsmasq: invalid gateway '%s'", c->gateway);
        return 0;
}

static void argv_add(char ***argv, size_t *n, char *s) {
        char **p = xrealloc(*argv, (*n + 2) * sizeof(char *));
        p[(*n)++] = s;
        p[*n] = NULL;
        *argv = p;
}

int dnsmasq_build_argv(const DhcpConfig *c, char ***ret_argv, Error *err) {
        int r = dnsmasq_check_config(c, err);
        if (r < 0)
                return r;
        char **a = NULL;
        size_t n = 0;
        argv_add(&a, &n, xstrdup("dnsmasq"));
        argv_add(&a, &n, xstrdup("--conf-file=/dev/null"));  /* nothing from /etc/dnsmasq.conf */
        argv_add(&a, &n, xstrdup("--keep-in-foreground"));   /* our child: its pid is ours */
        argv_add(&a, &n, xstrdup("--port=0"));               /* DHCP only, no DNS */
        argv_add(&a, &n, xstrdup("--no-resolv"));
        argv_add(&a, &n, xstrdup("--no-hosts"));
        argv_add(&a, &n, xstrdup("--bind-interfaces"));
        argv_add(&a, &n, xasprintf("--interface=%s", c->interface));
        argv_add(&a, &n, xstrdup("--except-interface=lo"));
        /* static: fixed addresses for known hosts only, no dynamic pool */
        argv_add(&a, &n, xasprintf("--dhcp-range=%s,static,%s", c->range_net, c->range_mask));
        argv_add(&a, &n, xasprintf("--dhcp-hostsdir=%s/hosts", c->state_dir));
        argv_add(&a, &n, xasprintf("--dhcp-leasefile=%s/leases", c->state_dir));
        argv_add(&a, &n, xasprintf("--pid-file=%s/dnsmasq.pid", c->state_dir));
        argv_add(&a, &n, xstrdup("--dhcp-authoritative"));
        if (c->gateway)
                argv_add(&a, &n, xasprintf("--dhcp-option=option:router,%s", c->gateway));
        argv_add(&a, &n, xstrdup("--log-dhcp"));
        argv_add(&a, &n, xasprintf("--log-facility=%s/dnsmasq.log", c->state_dir));
        *ret_argv = a;
        return 0;
}

int dnsmasq_release_argv(const char *interface, const char *ip, const char *mac, char ***ret_argv) {
        uint8_t m[6];
        if (!link_name_is_valid(interface) || !ipv4_is_valid(ip) || dhcp_mac_parse(mac, m) < 0)
                return -EINVAL;
        char **a = NULL;
        size_t n = 0;
        argv_add(&a, &n, xstrdup("dhcp_release"));
        argv_add(&a, &n, xstrdup(interface));
        argv_add(&a, &n, xstrdup(ip));
        argv_add(&a, &n, xasprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]));
        *ret_argv = a;
        return 0;
}

char *dnsmasq_leases_without(const char *leases, const char *mac, const char *ip, size_t *ret_removed) {
        char *out = NULL;
        size_t out_len = 0, removed = 0;
        FILE *f = open_memstream(&out, &out_len);
        if (!f)
                abort();
        for (const char *p = leases ? leases : ""; *p;) {
                size_t len = strcspn(p, "\n");
                /* "EXPIRY MAC IP NAME CLIENT-ID": fields 2 and 3 */
                char line[512], *save = NULL;
                bool drop = false;
                if (len < sizeof(line)) {
                        memcpy(line, p, len);
                        line[len] = 0;
                        char *expiry = strtok_r(line, " \t", &save);
                        char *lmac = expiry ? strtok_r(NULL, " \t", &save) : NULL;
                        char *lip = lmac ? strtok_r(NULL, " \t", &save) : NULL;
                        if (expiry && !streq(expiry, "duid") && lmac && lip)
                                drop = (mac && strcasecmp(lmac, mac) == 0) || (ip && streq(lip, ip));
                }
                if (drop)
                        removed++;
                else
                        fprintf(f, "%.*s\n", (int)len, p);
                p += len;
                if (*p == '\n')
                        p++;
        }
        fclose(f);
        if (ret_removed)
                *ret_removed = removed;
        return out;
}

/* ---- files ------------------------------------------------------------- */

static int mkdir_mode(const char *path, mode_t mode) {
        if (mkdir(path, mode) < 0 && errno != EEXIST)
                return -errno;
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        if ((st.st_mode & 07777) != mode && chmod(path, mode) < 0)
                return -errno;
        return 0;
}

static int mkdir_parents(const char *path, mode_t mode) {
        _cleanup_free_ char *p = xstrdup(path);
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* dnsmasq drops to an unprivileged user after start-up and then reads host
 * files: every directory on the way must be searchable by others. */
static int path_check_searchable(const char *path, Error *err) {
        _cleanup_free_ char *p = xstrdup(path);
        for (char *s = p;; s++) {
                if (*s == '/' || *s == 0) {
                        char saved = *s;
                        *s = 0;
                        struct stat st;
                        const char *cur = *p ? p : "/";
                        if (stat(cur, &st) < 0)
                                return error_set(err, -errno, "dnsmasq: cannot stat %s: %m", cur);
                        if (!(st.st_mode & S_IXOTH))
                                return error_set(err, -EACCES,
                                                 "dnsmasq runs as an unprivileged user and cannot reach %s: "
                                                 "make %s searchable by others (chmod o+x)",
                                                 path, cur);
                        *s = saved;
                        if (saved == 0)
                                return 0;
                }
        }
}

static int read_small_file(const char *path, char **ret) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        char *buf = NULL;
        size_t len = 0, cap = 0;
        for (;;) {
                if (len + 4096 + 1 > cap) {
                        if (cap >= 16 * 1024 * 1024) {
                                free(buf);
                                return -EFBIG;
                        }
                        cap = cap ? cap * 2 : 8192;
                        char *nb = realloc(buf, cap);
                        if (!nb) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = nb;
                }
                ssize_t n = read(fd, buf + len, 4096);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = -errno;
                        free(buf);
                        return r;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        if (!buf)
                buf = xcalloc(1, 1);
        buf[len] = 0;
        *ret = buf;
        return 0;
}

/* Write content to dir/name atomically: dir/.name.tmp, then rename. The
 * leading dot keeps dnsmasq from reading the half-written file. */
static int write_atomic(const char *dir, const char *name, const char *content, mode_t mode) {
        _cleanup_free_ char *tmp = xasprintf("%s/.%s.tmp", dir, name);
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        int r = loop_write(fd, content, strlen(content));
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}

/* ---- the process ------------------------------------------------------- */

static Dnsmasq *state(DhcpBackend *b) {
        return dhcp_backend_get_data(b);
}

static void pidfile_remove(DhcpBackend *b) {
        _cleanup_free_ char *p = xasprintf("%s/dnsmasq.pid", dhcp_backend_config(b)->state_dir);
        (void)unlink(p);
}

static void forget_child(DhcpBackend *b) {
        Dnsmasq *d = state(b);
        if (d->pidfd >= 0)
                close(d->pidfd);
        d->pidfd = -1;
        d->pid = 0;
        pidfile_remove(b);
}

static int exit_code_of(int status) {
        return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

static int dnsmasq_reap(DhcpBackend *b, int *ret_exit_code) {
        Dnsmasq *d = state(b);
        if (d->pid <= 0)
                return 0;
        if (d->pidfd >= 0) {
                struct pollfd p = {d->pidfd, POLLIN, 0};
                if (poll(&p, 1, 0) == 0)
                        return 0; /* still running */
        }
        int status = 0;
        pid_t w;
        do
                w = waitpid(d->pid, &status, WNOHANG);
        while (w < 0 && errno == EINTR);
        if (w == 0)
                return 0;
        int code = w > 0 ? exit_code_of(status) : -1; /* ECHILD: somebody else reaped it */
        forget_child(b);
        if (ret_exit_code)
                *ret_exit_code = code;
        return 1;
}

static bool running(DhcpBackend *b) {
        dnsmasq_reap(b, NULL);
        return state(b)->pid > 0;
}

static void stop_child(DhcpBackend *b) {
        Dnsmasq *d = state(b);
        if (d->pid <= 0)
                return;
        if (dnsmasq_reap(b, NULL) == 0) {
                /* unreaped: the pid is still ours, kill() cannot hit another process */
                kill(d->pid, SIGTERM);
                if (d->pidfd >= 0) {
                        struct pollfd p = {d->pidfd, POLLIN, 0};
                        int n;
                        do
                                n = poll(&p, 1, DNSMASQ_STOP_TIMEOUT_MS);
                        while (n < 0 && errno == EINTR);
                        if (n == 0)
                                kill(d->pid, SIGKILL);
                } else
                        kill(d->pid, SIGKILL);
                while (waitpid(d->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                forget_child(b);
        }
}

static int dnsmasq_init(DhcpBackend *b, Error *err) {
        Dnsmasq *d = xcalloc(1, sizeof(*d));
        d->pidfd = -1;
        dhcp_backend_set_data(b, d);
        return 0;
}

static void dnsmasq_done(DhcpBackend *b) {
        if (!state(b))
                return;
        stop_child(b);
        free(state(b));
        dhcp_backend_set_data(b, NULL);
}

static int read_pidfile(const char *path, pid_t *ret) {
        _cleanup_free_ char *s = NULL;
        int r = read_small_file(path, &s);
        if (r < 0)
                return r;
        s[strcspn(s, "\n")] = 0;
        uint32_t v;
        if (parse_u32(s, &v) < 0 || v == 0)
                return -EINVAL;
        *ret = (pid_t)v;
        return 0;
}

static int start_failed(DhcpBackend *b, const char *stderr_path, int exit_code, Error *err) {
        _cleanup_free_ char *msg = NULL;
        if (read_small_file(stderr_path, &msg) >= 0) {
                msg[strcspn(msg, "\n")] = 0;
                if (*msg)
                        return error_set(err, exit_code == 127 ? -ENOENT : -EIO, "dnsmasq did not start: %s",
                                         msg);
        }
        return error_set(err, -EIO, "dnsmasq did not start (exit status %d)", exit_code);
}

/* A dnsmasq from before a crash of ours: PDEATHSIG does not survive its
 * switch to user nobody, so it may still serve. If the pid file names a
 * dnsmasq that was started with our pid file, end it before we start ours. */
static void stop_orphan(const char *pidfile) {
        pid_t pid;
        if (read_pidfile(pidfile, &pid) < 0)
                return;
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
        size_t n = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        char buf[8192];
        ssize_t k = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (k <= 0)
                return;
        buf[k] = 0;
        /* argv is NUL-separated: look for "dnsmasq" as argv[0] and our pid file */
        bool is_dnsmasq = strstr(buf, "dnsmasq") != NULL, ours = false;
        for (char *p = buf; p < buf + k; p += strlen(p) + 1) {
                n++;
                if (strstr(p, "--pid-file=") == p && streq(p + strlen("--pid-file="), pidfile))
                        ours = true;
        }
        if (!is_dnsmasq || !ours || n == 0)
                return;
        kill(pid, SIGTERM);
        for (int i = 0; i < 50 && kill(pid, 0) == 0; i++)
                usleep(20000);
        if (kill(pid, 0) == 0)
                kill(pid, SIGKILL);
}

static int dnsmasq_start(DhcpBackend *b, Error *err) {
        const DhcpConfig *c = dhcp_backend_config(b);
        Dnsmasq *d = state(b);
        if (running(b))
                return 0;

        int r = mkdir_parents(c->state_dir, 0755);
        if (r < 0)
                return error_set(err, r, "dnsmasq: cannot create %s: %s", c->state_dir, strerror(-r));
        _cleanup_free_ char *hosts = dnsmasq_hosts_dir(c->state_dir);
        r = mkdir_mode(hosts, 0755);
        if (r < 0)
                return error_set(err, r, "dnsmasq: cannot create %s: %s", hosts, strerror(-r));
        r = path_check_searchable(hosts, err);
        if (r < 0)
                return r;

        char **argv = NULL;
        r = dnsmasq_build_argv(c, &argv, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *pidfile = xasprintf("%s/dnsmasq.pid", c->state_dir);
        _cleanup_free_ char *errfile = xasprintf("%s/dnsmasq.stderr", c->state_dir);
        stop_orphan(pidfile);
        (void)unlink(pidfile);
        _cleanup_close_ int errfd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (errfd < 0) {
                r = -errno;
                dhcp_names_free(argv);
                return error_set(err, r, "dnsmasq: cannot open %s: %s", errfile, strerror(-r));
        }

        SpawnStartOpts o = {
                .argv = argv,
                .stdin_fd = -1,
                .stdout_fd = -1,
                .stderr_fd = errfd,
                .new_session = true,
                .pdeathsig = SIGTERM, /* never outlive us: a new daemon starts its own */
        };
        pid_t pid;
        int pidfd = -1;
        r = spawn_start(&o, &pid, &pidfd);
        dhcp_names_free(argv);
        if (r < 0)
                return error_set(err, r, "cannot start dnsmasq: %s", strerror(-r));
        d->pid = pid;
        d->pidfd = pidfd;

        /* Ready when it has written its PID file: by then its sockets are
         * bound, its hosts dir is read and watched. */
        uint64_t deadline = now_usec() + DNSMASQ_START_TIMEOUT_USEC;
        for (;;) {
                int code;
                if (dnsmasq_reap(b, &code) > 0)
                        return start_failed(b, errfile, code, err);
                pid_t written;
                if (read_pidfile(pidfile, &written) >= 0 && written == pid)
                        return 0;
                if (now_usec() >= deadline)
                        break;
                if (d->pidfd >= 0) {
                        struct pollfd p = {d->pidfd, POLLIN, 0};
                        (void)poll(&p, 1, 5);
                } else
                        usleep(5000);
        }
        stop_child(b);
        return error_set(err, -ETIMEDOUT, "dnsmasq did not write %s within %llu s", pidfile,
                         (unsigned long long)(DNSMASQ_START_TIMEOUT_USEC / 1000000));
}

static int dnsmasq_watch_fd(DhcpBackend *b) {
        Dnsmasq *d = state(b);
        return d->pid > 0 ? d->pidfd : -1;
}

static pid_t dnsmasq_pid(DhcpBackend *b) {
        return state(b)->pid;
}

/* dnsmasq reopens its --log-facility file on SIGUSR2 (see dnsmasq(8)) */
static int dnsmasq_log_rotate(DhcpBackend *b, uint64_t max_bytes, Error *err) {
        const char *dir = dhcp_backend_config(b)->state_dir;
        _cleanup_free_ char *log = xasprintf("%s/dnsmasq.log", dir);
        _cleanup_free_ char *old = xasprintf("%s/dnsmasq.log.1", dir);
        struct stat st;
        if (stat(log, &st) < 0 || (uint64_t)st.st_size <= max_bytes)
                return 0;
        if (rename(log, old) < 0)
                return error_set(err, -errno, "cannot rotate %s: %m", log);
        /* dnsmasq reopens it without root: the new file must be its already */
        int fd = open(log, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, st.st_mode & 0777);
        if (fd < 0)
                return error_set(err, -errno, "cannot create %s: %m", log);
        int r = fchown(fd, st.st_uid, st.st_gid) < 0 ? -errno : 0;
        close(fd);
        if (r < 0)
                return error_set(err, r, "cannot chown %s: %s", log, strerror(-r));
        pid_t pid = state(b)->pid;
        if (pid > 0 && kill(pid, SIGUSR2) < 0)
                return error_set(err, -errno, "cannot tell dnsmasq (pid %d) to reopen its log: %m", (int)pid);
        return 1;
}

/* ---- hosts ------------------------------------------------------------- */

/* Drop the lease of (mac, ip): dhcp_release to a running dnsmasq, else
 * edit the leases file it will read when it starts. */
static int release_lease(DhcpBackend *b, const char *mac, const char *ip, Error *err) {
        const DhcpConfig *c = dhcp_backend_config(b);
        if (!running(b)) {
                _cleanup_free_ char *path = xasprintf("%s/leases", c->state_dir);
                _cleanup_free_ char *old = NULL;
                int r = read_small_file(path, &old);
                if (r == -ENOENT)
                        return 0;
                if (r < 0)
                        return error_set(err, r, "dnsmasq: cannot read %s: %s", path, strerror(-r));
                size_t removed;
                _cleanup_free_ char *now = dnsmasq_leases_without(old, mac, ip, &removed);
                if (removed == 0)
                        return 0;
                r = write_atomic(c->state_dir, "leases", now, 0644);
                if (r < 0)
                        return error_set(err, r, "dnsmasq: cannot rewrite %s: %s", path, strerror(-r));
                return 0;
        }

        char **argv = NULL;
        int r = dnsmasq_release_argv(c->interface, ip, mac, &argv);
        if (r < 0)
                return error_set(err, r, "dhcp_release: invalid arguments");
        SpawnOpts o = {.argv = argv, .timeout_ms = DHCP_RELEASE_TIMEOUT_MS};
        SpawnResult res;
        r = spawn_run(&o, &res);
        dhcp_names_free(argv);
        if (r < 0)
                return error_set(err, r, "cannot run dhcp_release: %s", strerror(-r));
        char line[256];
        spawn_result_first_line(&res, line, sizeof(line));
        int code = res.exit_code;
        bool timed_out = res.timed_out;
        spawn_result_clear(&res);
        if (code == 127)
                return error_set(err, -ENOENT, "dhcp_release (dnsmasq-utils) is not installed: %s", line);
        if (timed_out || code != 0)
                return error_set(err, -EIO, "dhcp_release %s %s %s failed%s: %s", c->interface, ip, mac,
                                 timed_out ? " (timed out)" : "", line);
        return 0;
}

static void reload(DhcpBackend *b) {
        /* dnsmasq only adds records from new files; SIGHUP makes it forget
         * the records of deleted or changed ones */
        if (running(b))
                kill(state(b)->pid, SIGHUP);
}

static int dnsmasq_host_add(DhcpBackend *b, const char *name, const char *mac, const char *ip, Error *err) {
        const DhcpConfig *c = dhcp_backend_config(b);
        _cleanup_free_ char *line = NULL;
        int r = dnsmasq_host_line(mac, ip, name, &line);
        if (r < 0)
                return error_set(err, r, "dnsmasq: invalid host %s %s %s", name, mac, ip);
        _cleanup_free_ char *dir = dnsmasq_hosts_dir(c->state_dir);
        _cleanup_free_ char *path = dnsmasq_host_file(c->state_dir, name);
        r = mkdir_parents(dir, 0755);
        if (r < 0)
                return error_set(err, r, "dnsmasq: cannot create %s: %s", dir, strerror(-r));

        _cleanup_free_ char *old = NULL;
        char old_mac[18], old_ip[16], old_name[64];
        bool replace = false;
        r = read_small_file(path, &old);
        if (r >= 0) {
                if (streq(old, line))
                        return 0; /* already there */
                replace = dnsmasq_host_line_parse(old, old_mac, old_ip, old_name) >= 0;
        } else if (r != -ENOENT)
                return error_set(err, r, "dnsmasq: cannot read %s: %s", path, strerror(-r));

        r = write_atomic(dir, name, line, 0644);
        if (r < 0)
                return error_set(err, r, "dnsmasq: cannot write %s: %s", path, strerror(-r));
        if (old) {
                /* the old record and its lease would linger next to the new one */
                reload(b);
                if (replace)
                        return release_lease(b, old_mac, old_ip, err);
        }
        return 0;
}

static int dnsmasq_host_remove(DhcpBackend *b, const char *name, const char *mac, const char *ip, Error *err) {
        const DhcpConfig *c = dhcp_backend_config(b);
        _cleanup_free_ char *path = dnsmasq_host_file(c->state_dir, name);
        _cleanup_free_ char *old = NULL;
        char old_mac[18] = "", old_ip[16] = "", old_name[64];
        int r = read_small_file(path, &old);
        if (r >= 0) {
                if (dnsmasq_host_line_parse(old, old_mac, old_ip, old_name) < 0)
                        old_mac[0] = old_ip[0] = 0;
        } else if (r != -ENOENT)
                return error_set(err, r, "dnsmasq: cannot read %s: %s", path, strerror(-r));

        if (old) {
                if (unlink(path) < 0 && errno != ENOENT)
                        return error_set(err, -errno, "dnsmasq: cannot remove %s: %m", path);
                reload(b);
        }
        /* release what the caller names (the lease may outlive the file,
         * e.g. after a crash) and what the file said, if that differs */
        if (mac && ip) {
                r = release_lease(b, mac, ip, err);
                if (r < 0)
                        return r;
        }
        if (old_mac[0] && !(mac && ip && strcasecmp(mac, old_mac) == 0 && streq(ip, old_ip)))
                return release_lease(b, old_mac, old_ip, err);
        return 0;
}

static int dnsmasq_host_list(DhcpBackend *b, char ***ret_names, size_t *ret_n, Error *err) {
        const DhcpConfig *c = dhcp_backend_config(b);
        _cleanup_free_ char *dir = dnsmasq_hosts_dir(c->state_dir);
        char **names = xcalloc(1, sizeof(char *));
        size_t n = 0;
        DIR *d = opendir(dir);
        if (!d) {
                if (errno == ENOENT)
                        goto done;
                int r = -errno;
                dhcp_names_free(names);
                return error_set(err, r, "dnsmasq: cannot list %s: %s", dir, strerror(-r));
        }
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
                        continue;
                if (!dhcp_host_name_is_valid(de->d_name)) /* ".", "..", ".x.tmp", foreign files */
                        continue;
                dhcp_names_add(&names, &n, de->d_name);
        }
        closedir(d);
done:
        dhcp_names_sort(names, n);
        *ret_names = names;
        if (ret_n)
                *ret_n = n;
        return 0;
}

const DhcpBackendOps dhcp_dnsmasq_ops = {
        .name = "dnsmasq",
        .check_config = dnsmasq_check_config,
        .init = dnsmasq_init,
        .done = dnsmasq_done,
        .start = dnsmasq_start,
        .watch_fd = dnsmasq_watch_fd,
        .pid = dnsmasq_pid,
        .reap = dnsmasq_reap,
        .host_add = dnsmasq_host_add,
        .host_remove = dnsmasq_host_remove,
        .host_list = dnsmasq_host_list,
        .log_rotate = dnsmasq_log_rotate,
};
