/* bench-control - the control plane under an exam-start load.
 *
 * Starts a private vmbatchd (temp database and socket), sets up (as its
 * admin, the system account daemon: the admin is never root) a student
 * group with a run grant on one VM in a big VM group, then forks N client
 * processes that run as an unprivileged user (nobody) and each do M cycles
 * of  vm.run {isolate, no_start}  (authorise + quota + allocate IP/MAC in
 * one transaction)  followed by  instance.release  (free it). It prints
 * requests/s, cycles/s and p50/p90/p99/max latency per request, beside a
 * baseline run of the same clients doing `ping` (a round trip with no
 * database work), and the ratio between them.
 *
 * Usage: bench-control [--clients N] [--cycles M] [--vmbatchd PATH]
 * Must run as root (it switches the clients to nobody). Prints figures;
 * it never passes or fails on time. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/frame.h"
#include "basic/util.h"

static char sock_path[256];

static json_t *rpc(int fd, const char *op, json_t *args) {
        json_t *req = json_pack("{s:s, s:o}", "op", op, "args", args ? args : json_object());
        json_t *resp = NULL;
        if (frame_send(fd, req) < 0 || frame_recv(fd, &resp) < 0) {
                fprintf(stderr, "bench: rpc %s: connection failed\n", op);
                exit(1);
        }
        json_decref(req);
        return resp;
}

static json_t *must(int fd, const char *op, json_t *args) {
        json_t *r = rpc(fd, op, args);
        if (!json_is_true(json_object_get(r, "ok"))) {
                char *s = json_dumps(r, 0);
                fprintf(stderr, "bench: %s failed: %s\n", op, s);
                exit(1);
        }
        return r;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

typedef struct {
        double seconds, req_per_s, p50, p90, p99, max;
        uint64_t requests, errors;
} Figures;

/* Run `clients` processes; each does `cycles` of the workload; latencies
 * (µs) go to a shared array. */
static Figures run(int clients, int cycles, bool baseline, uid_t uid, gid_t gid) {
        size_t per = (size_t)cycles * 2;
        size_t total = (size_t)clients * per;
        uint64_t *lat = mmap(NULL, total * sizeof(uint64_t) + 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                             -1, 0);
        uint64_t *errors = lat + total;
        *errors = 0;
        int go[2];
        if (pipe(go) < 0)
                exit(1);
        pid_t *pids = calloc((size_t)clients, sizeof(pid_t));
        for (int c = 0; c < clients; c++) {
                pid_t pid = pids[c] = fork();
                if (pid == 0) {
                        close(go[1]);
                        if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
                                _exit(2);
                        int fd = unix_connect(sock_path);
                        if (fd < 0)
                                _exit(3);
                        char b;
                        if (read(go[0], &b, 1) < 0) /* start together */
                                _exit(4);
                        uint64_t *mine = lat + (size_t)c * per;
                        for (int i = 0; i < cycles; i++) {
                                uint64_t t0 = now_usec();
                                json_t *r = baseline ? rpc(fd, "ping", NULL)
                                                     : rpc(fd, "vm.run",
                                                           json_pack("{s:s, s:b, s:b}", "vm", "exam", "isolate", true,
                                                                     "no_start", true));
                                uint64_t t1 = now_usec();
                                mine[2 * i] = t1 - t0;
                                json_int_t id = json_integer_value(
                                        json_object_get(json_object_get(r, "data"), "id"));
                                if (!json_is_true(json_object_get(r, "ok")))
                                        __atomic_add_fetch(errors, 1, __ATOMIC_RELAXED);
                                json_decref(r);
                                r = baseline ? rpc(fd, "ping", NULL)
                                             : rpc(fd, "instance.release", json_pack("{s:I}", "instance", id));
                                mine[2 * i + 1] = now_usec() - t1;
                                if (!json_is_true(json_object_get(r, "ok")))
                                        __atomic_add_fetch(errors, 1, __ATOMIC_RELAXED);
                                json_decref(r);
                        }
                        _exit(0);
                }
        }
        close(go[0]);
        usleep(200000); /* let every client connect */
        uint64_t t0 = now_usec();
        close(go[1]); /* EOF releases them all at once */
        for (int c = 0; c < clients; c++) /* not wait(): the daemon is our child too */
                waitpid(pids[c], NULL, 0);
        free(pids);
        uint64_t t1 = now_usec();
        qsort(lat, total, sizeof(uint64_t), cmp_u64);
        Figures f = {
                .seconds = (double)(t1 - t0) / 1e6,
                .requests = total,
                .errors = *errors,
                .p50 = (double)lat[total / 2] / 1000,
                .p90 = (double)lat[total * 90 / 100] / 1000,
                .p99 = (double)lat[total * 99 / 100] / 1000,
                .max = (double)lat[total - 1] / 1000,
        };
        f.req_per_s = (double)total / f.seconds;
        munmap(lat, total * sizeof(uint64_t) + 4096);
        return f;
}

/* The student group, its user (nobody), a big vm group and the admin's vm
 * in it that the group may run (forced isolated): as the admin. */
static void bench_setup(int fd, const char *dir) {
        json_decref(must(fd, "ugroup.add", json_pack("{s:s}", "name", "studs")));
        json_decref(must(fd, "user.add", json_pack("{s:s, s:[s], s:s, s:I}", "name", "nobody", "groups", "studs",
                                                   "stordir", dir, "max_running", (json_int_t)100000)));
        json_decref(must(fd, "vmgroup.add", json_pack("{s:s, s:s}", "name", "exam", "iprange", "10.200.0.1-10.200.255.254")));
        json_decref(must(fd, "vm.add", json_pack("{s:s, s:s, s:[I]}", "name", "exam", "vmgroup", "exam", "disc_sizes",
                                                 (json_int_t)(1 << 20))));
        json_decref(must(fd, "perm.set", json_pack("{s:s, s:s, s:b, s:b}", "group", "studs", "vm", "exam", "run", true,
                                                   "force_isolated", true)));
}

int main(int argc, char **argv) {
        int clients = 50, cycles = 200;
        const char *daemon = "build/src/daemon/vmbatchd";
        static const struct option opts[] = {{"clients", required_argument, NULL, 'n'},
                                             {"cycles", required_argument, NULL, 'm'},
                                             {"vmbatchd", required_argument, NULL, 'd'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        int c;
        while ((c = getopt_long(argc, argv, "n:m:d:h", opts, NULL)) >= 0) {
                if (c == 'n')
                        clients = atoi(optarg);
                else if (c == 'm')
                        cycles = atoi(optarg);
                else if (c == 'd')
                        daemon = optarg;
                else {
                        printf("Usage: bench-control [--clients N] [--cycles M] [--vmbatchd PATH]\n");
                        return c == 'h' ? 0 : 2;
                }
        }
        if (geteuid() != 0 || clients < 1 || cycles < 1) {
                fprintf(stderr, "bench-control: run as root with positive --clients/--cycles\n");
                return 2;
        }
        struct passwd *pw = getpwnam("daemon");
        uid_t admin_uid = pw ? pw->pw_uid : 0;
        gid_t admin_gid = pw ? pw->pw_gid : 0;
        struct passwd *nobody = getpwnam("nobody"); /* the same static buffer: daemon's is copied */
        if (!nobody || !pw) {
                fprintf(stderr, "bench-control: no user 'nobody' or 'daemon'\n");
                return 1;
        }
        char dir[] = "/tmp/vmbatch-bench-XXXXXX";
        if (!mkdtemp(dir))
                return 1;
        chmod(dir, 0755);
        char conf[512], db[512], adir[512];
        snprintf(conf, sizeof(conf), "%s/vmbatch.conf", dir);
        snprintf(db, sizeof(db), "%s/vmbatch.db", dir);
        snprintf(adir, sizeof(adir), "%s/adm", dir);
        snprintf(sock_path, sizeof(sock_path), "%s/vmbatchd.sock", dir);
        /* the admin is a normal account (daemon): root never owns or runs vms */
        if (mkdir(adir, 0755) < 0 || chown(adir, admin_uid, admin_gid) < 0)
                return 1;
        FILE *f = fopen(conf, "w");
        fprintf(f, "socket = %s\ndatabase = %s\nadmin_user = daemon\nadmin_stordir = %s\nlog_level = warning\nnode = no\n",
                sock_path, db, adir);
        fclose(f);
        char cmd[1200];
        snprintf(cmd, sizeof(cmd), "%s -c %s --init >/dev/null", daemon, conf);
        if (system(cmd) != 0)
                return 1;
        pid_t d = fork();
        if (d == 0) {
                execl(daemon, daemon, "-c", conf, (char *)NULL);
                _exit(127);
        }
        for (int i = 0; i < 100 && access(sock_path, F_OK) < 0; i++)
                usleep(20000);
        /* the setup, as the admin */
        pid_t setup = fork();
        if (setup == 0) {
                if (setgroups(0, NULL) < 0 || setgid(admin_gid) < 0 || setuid(admin_uid) < 0)
                        _exit(2);
                int fd = -1;
                for (int i = 0; i < 100 && fd < 0; i++) {
                        fd = unix_connect(sock_path);
                        if (fd < 0)
                                usleep(20000);
                }
                if (fd < 0) {
                        fprintf(stderr, "bench-control: daemon did not start\n");
                        _exit(1);
                }
                bench_setup(fd, dir);
                close(fd);
                _exit(0);
        }
        int status = 1;
        if (setup < 0 || waitpid(setup, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return 1;
        printf("control plane: %d clients x %d cycles (vm.run isolate no_start + instance.release), as uid %u\n",
               clients, cycles, (unsigned)nobody->pw_uid);
        Figures base = run(clients, cycles, true, nobody->pw_uid, nobody->pw_gid);
        Figures work = run(clients, cycles, false, nobody->pw_uid, nobody->pw_gid);
        printf("%-28s %10s %10s %8s %8s %8s %8s %7s\n", "workload", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms",
               "max ms", "errors");
        printf("%-28s %10llu %10.0f %8.3f %8.3f %8.3f %8.3f %7llu\n", "baseline: ping", (unsigned long long)base.requests,
               base.req_per_s, base.p50, base.p90, base.p99, base.max, (unsigned long long)base.errors);
        printf("%-28s %10llu %10.0f %8.3f %8.3f %8.3f %8.3f %7llu\n", "authorise+allocate, release",
               (unsigned long long)work.requests, work.req_per_s, work.p50, work.p90, work.p99, work.max,
               (unsigned long long)work.errors);
        printf("cycles/s (run+release): %.0f; throughput vs baseline: %.2fx; p99 vs baseline: %.2fx\n",
               work.req_per_s / 2, work.req_per_s / base.req_per_s, work.p99 / base.p99);
        printf("target (issue 2): >= 2000 req/s with p99 < 10 ms at 50 clients\n");
        kill(d, SIGTERM);
        waitpid(d, NULL, 0);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
                return 1;
        return work.errors ? 1 : 0;
}
