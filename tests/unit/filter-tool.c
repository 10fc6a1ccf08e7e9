/* filter-tool.c - drive net/filter.h from the command line (for the
 * integration test; not part of vmbatch).
 *
 *   filter-tool [OPTIONS] BACKEND setup
 *   filter-tool [OPTIONS] BACKEND add TAP MAC IP MODE
 *   filter-tool [OPTIONS] BACKEND remove TAP
 *   filter-tool [OPTIONS] BACKEND sync [TAP,MAC,IP,MODE ...]
 *   filter-tool [OPTIONS] BACKEND list
 *   filter-tool [OPTIONS] print-nft | print-ebt
 *
 * OPTIONS: --bridge BR (vbr0) --gateway IP (192.168.100.1) --gateway-mac MAC
 * --dhcp IP --dhcp-mac MAC --allow A (repeatable) --pps N --host-port tcp/N|udp/N
 * (repeatable) --host-ip A (repeatable; none: the namespace's addresses). MODE: iso or
 * open, with "+ipv6" for a VM whose group enables IPv6 (open+ipv6). Errors go to
 * stderr with exit status 1; list prints one tap a line. */
#include <getopt.h>
#include <stdio.h>

#include "net/filter.h"

static int usage(void) {
        fprintf(stderr, "usage: filter-tool [--bridge BR] [--gateway IP] [--gateway-mac MAC] [--dhcp IP] "
                        "[--dhcp-mac MAC] [--allow A]... [--pps N] [--host-port P]... [--host-ip A]...\n"
                        "                   BACKEND setup|add|remove|sync|list ...\n"
                        "       filter-tool [OPTIONS] print-nft|print-ebt\n");
        return 2;
}

/* iso, open, iso+ipv6, open+ipv6 */
static int parse_mode(const char *mode, FilterVm *vm) {
        size_t n = strcspn(mode, "+");
        if ((n != 3 || strncmp(mode, "iso", 3) != 0) && (n != 4 || strncmp(mode, "open", 4) != 0))
                return -EINVAL;
        if (mode[n] && !streq(mode + n, "+ipv6"))
                return -EINVAL;
        vm->isolated = n == 3;
        vm->ipv6 = mode[n] != 0;
        return 0;
}

static int parse_vm(char *spec, FilterVm *vm) {
        char *save = NULL;
        char *tap = strtok_r(spec, ",", &save), *mac = strtok_r(NULL, ",", &save),
             *ip = strtok_r(NULL, ",", &save), *mode = strtok_r(NULL, ",", &save);
        if (!tap || !mac || !ip || !mode)
                return -EINVAL;
        *vm = (FilterVm){.tap = tap, .mac = mac, .ip = ip};
        return parse_mode(mode, vm);
}

static int fail(const Error *e) {
        fprintf(stderr, "filter-tool: %s\n", e->message[0] ? e->message : "failed");
        return 1;
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                {"bridge", required_argument, NULL, 'b'},  {"gateway", required_argument, NULL, 'g'},
                {"gateway-mac", required_argument, NULL, 'G'}, {"dhcp", required_argument, NULL, 'd'},
                {"dhcp-mac", required_argument, NULL, 'D'},  {"allow", required_argument, NULL, 'a'},
                {"pps", required_argument, NULL, 'p'},     {"host-port", required_argument, NULL, 'P'},
                {"host-ip", required_argument, NULL, 'H'}, {},
        };
        FilterNet net = {.bridge = "vbr0", .gateway_ip = "192.168.100.1"};
        const char *allow[FILTER_ALLOW_MAX + 1], *ports[FILTER_HOST_PORTS_MAX + 1], *hosts[FILTER_HOST_IPS_MAX + 1];
        int c;
        uint32_t pps;
        while ((c = getopt_long(argc, argv, "+", opts, NULL)) >= 0)
                switch (c) {
                case 'b': net.bridge = optarg; break;
                case 'g': net.gateway_ip = optarg; break;
                case 'G': net.gateway_mac = optarg; break;
                case 'd': net.dhcp_ip = optarg; break;
                case 'D': net.dhcp_mac = optarg; break;
                case 'a':
                        if (net.n_allow >= FILTER_ALLOW_MAX)
                                return usage();
                        allow[net.n_allow++] = optarg;
                        break;
                case 'P':
                        if (net.n_host_ports >= FILTER_HOST_PORTS_MAX)
                                return usage();
                        ports[net.n_host_ports++] = optarg;
                        break;
                case 'H':
                        if (net.n_host_ips >= FILTER_HOST_IPS_MAX)
                                return usage();
                        hosts[net.n_host_ips++] = optarg;
                        break;
                case 'p':
                        if (parse_u32(optarg, &pps) < 0)
                                return usage();
                        net.broadcast_pps = pps;
                        break;
                default: return usage();
                }
        net.allow_ips = allow;
        net.host_ports = ports;
        net.host_ips = net.n_host_ips ? hosts : NULL;
        if (optind >= argc)
                return usage();
        const char *backend = argv[optind];
        Error e = {0};

        if (streq(backend, "print-nft") || streq(backend, "print-ebt")) {
                _cleanup_filter_backend_ FilterBackend *b = NULL;
                const FilterNet *full;
                /* through a backend, so that the bridge's MAC is looked up */
                if (filter_backend_new("nft", &net, &b, &e) < 0 || filter_backend_net(b, &full, &e) < 0)
                        return fail(&e);
                if (streq(backend, "print-nft")) {
                        _cleanup_free_ char *text = NULL;
                        if (filter_nft_ruleset(full, &text) < 0)
                                return 1;
                        fputs(text, stdout);
                } else {
                        FilterCmds cmds = {0};
                        if (filter_ebt_setup_cmds(full, &cmds) < 0)
                                return 1;
                        _cleanup_free_ char *text = filter_cmds_format(&cmds);
                        fputs(text, stdout);
                        filter_cmds_clear(&cmds);
                }
                return 0;
        }

        if (optind + 1 >= argc)
                return usage();
        const char *cmd = argv[optind + 1];
        char **args = argv + optind + 2;
        int nargs = argc - optind - 2;
        _cleanup_filter_backend_ FilterBackend *b = NULL;
        if (filter_backend_new(backend, &net, &b, &e) < 0)
                return fail(&e);

        if (streq(cmd, "setup") && nargs == 0) {
                if (filter_setup(b, &e) < 0)
                        return fail(&e);
        } else if (streq(cmd, "add") && nargs == 4) {
                FilterVm vm = {.tap = args[0], .mac = args[1], .ip = args[2]};
                if (parse_mode(args[3], &vm) < 0)
                        return usage();
                if (filter_add(b, &vm, &e) < 0)
                        return fail(&e);
        } else if (streq(cmd, "remove") && nargs == 1) {
                if (filter_remove(b, args[0], &e) < 0)
                        return fail(&e);
        } else if (streq(cmd, "sync")) {
                FilterVm *vms = xcalloc(nargs ? (size_t)nargs : 1, sizeof(FilterVm));
                for (int i = 0; i < nargs; i++)
                        if (parse_vm(args[i], &vms[i]) < 0) {
                                free(vms);
                                return usage();
                        }
                int r = filter_sync(b, vms, (size_t)nargs, &e);
                free(vms);
                if (r < 0)
                        return fail(&e);
        } else if (streq(cmd, "list") && nargs == 0) {
                char **taps;
                size_t n;
                if (filter_list(b, &taps, &n, &e) < 0)
                        return fail(&e);
                for (size_t i = 0; i < n; i++)
                        printf("%s\n", taps[i]);
                filter_names_free(taps);
        } else
                return usage();
        return 0;
}
