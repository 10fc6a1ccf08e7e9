/* test-cli-main.c - the vmbatch program end to end: exit codes (0 ok,
 * 1 refused/unreachable, 2 bad command line), what goes to stdout and
 * stderr, the vmapp personality, and the paper's section 5.1 dialogue
 * against a fake daemon on a unix socket.
 *
 * Usage: test-cli-main /path/to/vmbatch   (vmapp is the symlink next to it) */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "basic/frame.h"
#include "build-config.h"
#include "tap.h"

static const char *exe;
static char dir[] = "/tmp/test-cli-main.XXXXXX";
static char sock_path[PATH_MAX];

typedef struct Result {
        int status; /* exit code, or -1 */
        char *out, *err;
} Result;

static void result_done(Result *r) {
        free(r->out);
        free(r->err);
}

static char *slurp(int fd) {
        off_t n = lseek(fd, 0, SEEK_END);
        char *buf = xcalloc((size_t)n + 1, 1);
        if (pread(fd, buf, (size_t)n, 0) != n)
                buf[0] = 0;
        close(fd);
        return buf;
}

/* Run path with argv (argv[0] chosen by the caller) in cwd dir. */
static Result run_as(const char *path, const char *const *argv, const char *socket_env) {
        int out = memfd_create("out", MFD_CLOEXEC), err = memfd_create("err", MFD_CLOEXEC);
        Result res = {.status = -1};
        pid_t pid = fork();
        if (pid == 0) {
                dup2(out, 1);
                dup2(err, 2);
                if (chdir(dir) < 0)
                        _exit(127);
                setenv("VMBATCH_SOCKET", socket_env, 1);
                execv(path, (char *const *)argv);
                _exit(127);
        }
        int status;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status))
                res.status = WEXITSTATUS(status);
        res.out = slurp(out);
        res.err = slurp(err);
        return res;
}

static Result run(const char *const *argv) {
        return run_as(exe, argv, sock_path);
}

static bool starts_with(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- a fake vmbatchd ---- */

static json_t *answer_ok(json_t *data) {
        return json_pack("{s:b, s:o}", "ok", 1, "data", data);
}

static json_t *answer_err(const char *code, const char *msg) {
        return json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code", code, "message", msg);
}

static json_t *fake_answer(json_t *req) {
        const char *op = json_string_value(json_object_get(req, "op"));
        json_t *args = json_object_get(req, "args");

        if (streq(op, "ugroup.list"))
                return answer_ok(json_pack("[{s:i,s:s},{s:i,s:s},{s:i,s:s}]", "id", 0, "name", "admin", "id", 1, "name",
                                           "all_users", "id", 10, "name", "studs"));
        if (streq(op, "user.list"))
                return answer_ok(json_pack("[{s:i,s:s,s:[i],s:s,s:i,s:I}]", "uid", 503, "name", "admin1", "groups", 0,
                                           "stordir", "/home/me", "max_running", 1000, "max_storage",
                                           (json_int_t)142807662592LL));
        if (streq(op, "vm.run")) {
                if (!json_is_true(json_object_get(args, "isolate")))
                        return answer_err("EPERM", "You don't have permission to run this vm unisolated.");
                return answer_ok(json_pack("{s:i,s:i,s:s,s:s,s:b,s:s,s:s,s:i,s:i,s:s}", "id", 1, "vm", 1002, "ip",
                                           "192.168.100.2", "mac", "de:af:de:af:64:02", "isolated", 1, "state",
                                           "running", "exehost", "quad-wn29.grid.pub.ro", "vnc_display", 1, "vnc_port",
                                           5901, "tap", "tap1"));
        }
        if (streq(op, "vm.add") && streq(json_string_value(json_object_get(args, "base")), "gsr_vm"))
                return answer_ok(json_pack("{s:i,s:s}", "id", 1002, "name", "myvm"));
        if (streq(op, "vm.add") && json_object_get(args, "base"))
                return answer_err("EPERM", "You don't have permission to derive this vm");
        if (streq(op, "audit.list"))
                return answer_ok(json_pack("{s:s}", "not", "a list"));
        /* anything else: echo the request, so tests see what was sent */
        return answer_ok(json_incref(req));
}

static pid_t start_fake_daemon(void) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (strlen(sock_path) >= sizeof(sa.sun_path))
                return -1;
        memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
                return -1;
        pid_t pid = fork();
        if (pid == 0) {
                for (;;) {
                        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
                        if (c < 0)
                                continue;
                        json_t *req;
                        while (frame_recv(c, &req) == 0) {
                                json_t *ans = fake_answer(req);
                                frame_send(c, ans);
                                json_decref(ans);
                                json_decref(req);
                        }
                        close(c);
                }
        }
        close(fd);
        return pid;
}

/* ---- tests ---- */

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_no_daemon(void) {
        Result r;
        tap_diag("without a daemon");

        r = run(ARGV("vmbatch", "--help"));
        is_int(r.status, 0, "--help exits 0");
        ok(starts_with(r.out, "Usage: vmbatch [--json] COMMAND"), "--help prints usage to stdout");
        is_str(r.err, "", "--help: nothing on stderr");
        result_done(&r);

        r = run(ARGV("vmbatch", "user", "add", "--help"));
        is_int(r.status, 0, "user add --help exits 0");
        ok(starts_with(r.out, "Usage: vmbatch user add NAME"), "user add --help prints its usage");
        result_done(&r);

        r = run(ARGV("vmbatch", "--version"));
        is_int(r.status, 0, "--version exits 0");
        is_str(r.out, "vmbatch " VMBATCH_VERSION "\n", "--version");
        result_done(&r);

        r = run(ARGV("vmbatch", "user", "add"));
        is_int(r.status, 2, "missing argument exits 2");
        is_str(r.err, "vmbatch: missing NAME\nTry 'vmbatch user add --help' for more information.\n",
               "missing argument: one line and a hint");
        is_str(r.out, "", "missing argument: nothing on stdout");
        result_done(&r);

        r = run(ARGV("vmbatch", "vm", "add", "v", "--disc", "5X"));
        is_int(r.status, 2, "bad size exits 2");
        ok(starts_with(r.err, "vmbatch: invalid size '5X' for --disc"), "bad size names the value");
        result_done(&r);

        r = run(ARGV("vmbatch", "vm", "run", "v", "--frobnicate"));
        is_int(r.status, 2, "unknown option exits 2");
        is_str(r.err, "vmbatch: unknown option '--frobnicate'\nTry 'vmbatch vm run --help' for more information.\n",
               "unknown option message");
        result_done(&r);

        r = run(ARGV("vmapp", "--uadd", "--name", "x", "--uid", "abc"));
        is_int(r.status, 2, "vmapp: bad id exits 2");
        is_str(r.err, "vmapp: invalid number 'abc' for --uid\nTry 'vmapp --uadd --help' for more information.\n",
               "vmapp: bad id message");
        result_done(&r);

        r = run(ARGV("vmapp", "--help"));
        is_int(r.status, 0, "vmapp --help exits 0");
        ok(starts_with(r.out, "Usage: vmapp --init"), "vmapp --help prints the paper syntax");
        result_done(&r);

        r = run(ARGV("vmbatch", "ping"));
        is_int(r.status, 1, "unreachable daemon exits 1");
        char *want = xasprintf("vmbatch: cannot reach vmbatchd at %s: No such file or directory (is vmbatchd running?)\n",
                               sock_path);
        is_str(r.err, want, "unreachable daemon: one line naming the socket");
        free(want);
        result_done(&r);
}

static void test_paper_dialogue(void) {
        Result r;
        tap_diag("the paper's section 5.1 against a fake daemon");

        r = run(ARGV("vmapp", "--uglist"));
        is_int(r.status, 0, "--uglist exits 0");
        is_str(r.out, "id\tname\n0\tadmin\n1\tall_users\n10\tstuds\n", "--uglist table");
        result_done(&r);

        r = run(ARGV("vmapp", "--ulist"));
        is_str(r.out,
               "uid\tname\tip_range\tgid_list\tmax_running_vm\tmax_storage\tstorage_folder\n"
               "503\tadmin1\t\t(0,)\t1000\t133G\t/home/me\n",
               "--ulist table");
        result_done(&r);

        r = run(ARGV("vmapp", "--vmadd", "--name", "myvm", "--base", "gsr_vm"));
        is_int(r.status, 0, "--vmadd --base exits 0");
        is_str(r.out, "", "--vmadd prints nothing, as in the paper");
        result_done(&r);

        r = run(ARGV("vmapp", "--vmadd", "--name", "myvm", "--base", "other"));
        is_int(r.status, 1, "refused derive exits 1");
        is_str(r.err, "vmapp: You don't have permission to derive this vm\n", "refused derive message");
        result_done(&r);

        r = run(ARGV("vmapp", "--vmrun", "--vm", "myvm", "--mem", "2G"));
        is_int(r.status, 1, "unisolated run refused: exit 1");
        is_str(r.err, "vmapp: You don't have permission to run this vm unisolated.\n", "unisolated run message");
        is_str(r.out, "", "unisolated run: nothing on stdout");
        result_done(&r);

        r = run(ARGV("vmapp", "--vmrun", "--vm", "myvm", "--mem", "2G", "--isolate"));
        is_int(r.status, 0, "isolated run exits 0");
        is_str(r.out, "Your vm is accessible via host quad-wn29.grid.pub.ro vnc port 5901, display 1\n",
               "isolated run: the paper's line");
        result_done(&r);

        r = run(ARGV("vmbatch", "vm", "add", "myvm", "--base", "gsr_vm"));
        is_str(r.out, "Added vm myvm (id 1002)\n", "modern vm add confirms");
        result_done(&r);

        /* relative paths are resolved against the caller's cwd */
        r = run(ARGV("vmapp", "--json", "--vmadd", "--name", "v", "--usediscs", "disc.qcow2"));
        is_int(r.status, 0, "--json echo exits 0");
        json_t *echo = json_loads(r.out, 0, NULL);
        char *want = xasprintf("%s/disc.qcow2", dir);
        is_str(json_string_value(json_array_get(json_object_get(json_object_get(echo, "args"), "usediscs"), 0)), want,
               "usediscs made absolute against the cwd");
        ok(strchr(r.out, '\n') && strstr(r.out, "\n  \""), "--json is indented");
        free(want);
        json_decref(echo);
        result_done(&r);

        r = run(ARGV("vmbatch", "audit", "list"));
        is_int(r.status, 1, "malformed answer exits 1");
        is_str(r.err, "vmbatch: unexpected answer from vmbatchd\n", "malformed answer message");
        result_done(&r);

        /* the installed name: the vmapp symlink next to vmbatch */
        _cleanup_free_ char *copy = xstrdup(exe);
        _cleanup_free_ char *link = xasprintf("%s/vmapp", dirname(copy));
        r = run_as(link, ARGV(link, "--permlist", "--json"), sock_path);
        is_int(r.status, 0, "the vmapp symlink works");
        echo = json_loads(r.out, 0, NULL);
        is_str(json_string_value(json_object_get(echo, "op")), "perm.list", "the vmapp symlink speaks the paper syntax");
        json_decref(echo);
        result_done(&r);
}

int main(int argc, char **argv) {
        if (argc < 2) {
                fprintf(stderr, "usage: %s /path/to/vmbatch\n", argv[0]);
                return 2;
        }
        exe = realpath(argv[1], NULL); /* the children chdir */
        if (!exe) {
                perror(argv[1]);
                return 2;
        }
        if (!mkdtemp(dir))
                return 1;
        snprintf(sock_path, sizeof(sock_path), "%s/vmbatchd.sock", dir);

        test_no_daemon();
        pid_t daemon = start_fake_daemon();
        ok(daemon > 0, "fake daemon started");
        if (daemon > 0) {
                test_paper_dialogue();
                kill(daemon, SIGTERM);
                waitpid(daemon, NULL, 0);
        }
        unlink(sock_path);
        rmdir(dir);
        return tap_done();
}
