/* bench-filter - what it costs to give the Nth VM its isolation rules.
 *
 * For N in the list (default 10 100 1000 5000) and each backend (nft
 * through libnftables in-process, ebtables through one process per
 * command), in a fresh network namespace of its own (unshare): load the
 * rules of N-1 isolated VMs in bulk, then time filter_add and filter_remove
 * of VM number N, isolated, R times (median, min, max). No taps are needed:
 * the rules name taps that do not exist. The bulk load of the ebtables case
 * goes through one ebtables-restore (bench only; vmbatch never uses it).
 *
 * Usage: bench-filter [--reps R] [--ebt-reps R] [--no-ebtables] [N...]
 * Must run as root. Prints figures; it never passes or fails on time. */
#include <getopt.h>
#include <sched.h>
#include <stdio.h>

#include "basic/spawn.h"
#include "net/filter.h"

static const FilterNet bench_net = {
        .bridge = "vbr0",
        .gateway_ip = "10.0.0.1",
        .gateway_mac = "02:00:00:00:00:01",
        .broadcast_pps = 100,
};

static void vm_of(unsigned i, FilterVm *vm, char tap[16], char mac[18], char ip[16]) {
        snprintf(tap, 16, "vmb%u", i);
        snprintf(mac, 18, "de:af:%02x:%02x:%02x:%02x", (i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255);
        snprintf(ip, 16, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, (i & 255) | 0); /* i >= 2 */
        *vm = (FilterVm){.tap = tap, .mac = mac, .ip = ip, .isolated = true};
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
        return x < y ? -1 : x > y;
}

typedef struct Stats {
        double median, min, max;
} Stats;

static Stats stats(uint64_t *us, size_t n) {
        qsort(us, n, sizeof(uint64_t), cmp_u64);
        return (Stats){us[n / 2] / 1000.0, us[0] / 1000.0, us[n - 1] / 1000.0};
}

static void die(const char *what, const Error *e) {
        fprintf(stderr, "bench-filter: %s: %s\n", what, e ? e->message : "failed");
        exit(1);
}

static void fresh_netns(void) {
        if (unshare(CLONE_NEWNET) < 0) {
                fprintf(stderr, "bench-filter: unshare(CLONE_NEWNET): %s (run as root)\n", strerror(errno));
                exit(1);
        }
}

/* VMs 2..n (n-1 of them) in bulk: nft in one transaction, ebtables in one
 * ebtables-restore --noflush. */
static void load(FilterBackend *b, bool ebt, unsigned first, unsigned count) {
        Error e = {0};
        if (!ebt) {
                FilterVm *vms = xcalloc(count + 1, sizeof(FilterVm));
                char (*taps)[16] = xcalloc(count + 1, 16), (*macs)[18] = xcalloc(count + 1, 18),
                     (*ips)[16] = xcalloc(count + 1, 16);
                for (unsigned k = 0; k < count; k++)
                        vm_of(first + k, &vms[k], taps[k], macs[k], ips[k]);
                if (filter_sync(b, vms, count, &e) < 0)
                        die("bulk load", &e);
                free(vms);
                free(taps);
                free(macs);
                free(ips);
                return;
        }
        /* one section per table, "-N x -P RETURN" as ":x RETURN" */
        char *text[2] = {NULL, NULL};
        size_t len[2] = {0, 0};
        FILE *f[2] = {open_memstream(&text[0], &len[0]), open_memstream(&text[1], &len[1])};
        if (!f[0] || !f[1])
                abort();
        for (unsigned k = 0; k < count; k++) {
                FilterVm vm;
                char tap[16], mac[18], ip[16];
                vm_of(first + k, &vm, tap, mac, ip);
                FilterCmds c = {0};
                if (filter_ebt_vm_add(&bench_net, &vm, &c) < 0)
                        die("ebtables rules", NULL);
                for (size_t i = 0; i < c.n; i++) {
                        FILE *out = f[streq(c.argv[i][2], "nat") ? 0 : 1];
                        char **a = c.argv[i] + 3; /* after "ebtables -t TABLE" */
                        if (streq(a[0], "-N")) {
                                fprintf(out, ":%s RETURN\n", a[1]);
                                continue;
                        }
                        for (char **w = a; *w; w++)
                                fprintf(out, "%s%s", w == a ? "" : " ", *w);
                        fputc('\n', out);
                }
                filter_cmds_clear(&c);
        }
        fclose(f[0]);
        fclose(f[1]);
        char *buf = xasprintf("*nat\n%sCOMMIT\n*filter\n%sCOMMIT\n", text[0], text[1]);
        size_t blen = strlen(buf);
        free(text[0]);
        free(text[1]);
        char *argv[] = {"ebtables-nft-restore", "--noflush", NULL};
        SpawnOpts o = {.argv = argv, .stdin_data = buf, .stdin_len = blen, .timeout_ms = 3600 * 1000};
        SpawnResult res = {0};
        if (spawn_run(&o, &res) < 0 || res.exit_code != 0) {
                fprintf(stderr, "bench-filter: ebtables-nft-restore: %s\n", res.err ? res.err : "failed");
                exit(1);
        }
        spawn_result_clear(&res);
        free(buf);
}

typedef struct Row {
        const char *backend;
        unsigned n;
        double load_ms;
        Stats add, remove;
} Row;

static Row run(const char *backend, unsigned n, unsigned reps) {
        bool ebt = streq(backend, "ebtables");
        fresh_netns();
        FilterBackend *b = NULL;
        Error e = {0};
        if (filter_backend_new(backend, &bench_net, &b, &e) < 0 || filter_setup(b, &e) < 0)
                die("setup", &e);
        Row row = {.backend = backend, .n = n};
        uint64_t t0 = now_usec();
        if (n > 1)
                load(b, ebt, 2, n - 1);
        row.load_ms = (double)(now_usec() - t0) / 1000.0;

        uint64_t *add = xcalloc(reps, sizeof(uint64_t)), *rm = xcalloc(reps, sizeof(uint64_t));
        FilterVm vm;
        char tap[16], mac[18], ip[16];
        vm_of(n + 1, &vm, tap, mac, ip);
        for (unsigned r = 0; r < reps; r++) {
                t0 = now_usec();
                if (filter_add(b, &vm, &e) < 0)
                        die("add", &e);
                add[r] = now_usec() - t0;
                t0 = now_usec();
                if (filter_remove(b, vm.tap, &e) < 0)
                        die("remove", &e);
                rm[r] = now_usec() - t0;
        }
        row.add = stats(add, reps);
        row.remove = stats(rm, reps);
        free(add);
        free(rm);
        filter_backend_free(b);
        return row;
}

static void print_row(const Row *r, unsigned reps) {
        printf("%-9s %6u  %9.3f %9.3f %9.3f   %9.3f %9.3f %9.3f   %10.1f  (%u runs)\n", r->backend, r->n,
               r->add.median, r->add.min, r->add.max, r->remove.median, r->remove.min, r->remove.max, r->load_ms,
               reps);
        fflush(stdout);
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                {"reps", required_argument, NULL, 'r'},
                {"ebt-reps", required_argument, NULL, 'e'},
                {"no-ebtables", no_argument, NULL, 'n'},
                {},
        };
        uint32_t reps = 21, ebt_reps = 5;
        bool with_ebt = true;
        int c;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                switch (c) {
                case 'r':
                        if (parse_u32(optarg, &reps) < 0 || reps == 0)
                                return 2;
                        break;
                case 'e':
                        if (parse_u32(optarg, &ebt_reps) < 0 || ebt_reps == 0)
                                return 2;
                        break;
                case 'n': with_ebt = false; break;
                default:
                        fprintf(stderr, "usage: bench-filter [--reps R] [--ebt-reps R] [--no-ebtables] [N...]\n");
                        return 2;
                }
        unsigned ns[16], nn = 0;
        for (int i = optind; i < argc && nn < ELEMENTSOF(ns); i++) {
                uint32_t v;
                if (parse_u32(argv[i], &v) < 0 || v < 1 || v > 60000)
                        return 2;
                ns[nn++] = v;
        }
        if (nn == 0) {
                static const unsigned def[] = {10, 100, 1000, 5000};
                memcpy(ns, def, sizeof(def));
                nn = ELEMENTSOF(def);
        }

        printf("isolation rules of the Nth VM (isolated) with N-1 present; times in ms\n");
        printf("%-9s %6s  %9s %9s %9s   %9s %9s %9s   %10s\n", "backend", "N", "add", "min", "max", "remove",
               "min", "max", "load N-1");
        Row rows[2][16];
        for (unsigned i = 0; i < nn; i++) {
                rows[0][i] = run("nft", ns[i], reps);
                print_row(&rows[0][i], reps);
        }
        if (with_ebt)
                for (unsigned i = 0; i < nn; i++) {
                        rows[1][i] = run("ebtables", ns[i], ebt_reps);
                        print_row(&rows[1][i], ebt_reps);
                }
        for (unsigned i = 0; with_ebt && i < nn; i++)
                if (ns[i] == 1000)
                        printf("ebtables / nft at N=1000: add %.0fx, remove %.0fx\n",
                               rows[1][i].add.median / rows[0][i].add.median,
                               rows[1][i].remove.median / rows[0][i].remove.median);
        return 0;
}
