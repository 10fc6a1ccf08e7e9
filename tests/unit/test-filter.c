/* test-filter.c - net/filter.h: generators, checks, and the backends in a
 * private network namespace.
 *
 *   test-filter GOLDEN_DIR
 *
 * The nft ruleset, the nft commands of one VM and the ebtables command
 * lists are compared with GOLDEN_DIR/<name>; VMBATCH_REGENERATE=1 rewrites
 * the files instead (review the diff before committing). Bad taps, MACs and
 * addresses are refused. As root (unshare(CLONE_NEWNET) works), the nft
 * backend, and the ebtables one when installed, run for real in a network
 * namespace of this process only: the generated rules load, add / remove /
 * list / sync behave, `flush ruleset` is repaired by filter_sync. Packets
 * are the integration test's business (tests/integration/test-filter.sh). */
#include <nftables/libnftables.h>
#include <sched.h>
#include <stdio.h>

#include "basic/spawn.h"
#include "net/filter.h"
#include "golden.h"

static const char *const allow[] = {"10.9.0.0/16", "172.16.5.4", "172.16.6.0/32"};
static const char *const host_ips[] = {"10.0.2.15", "192.168.100.255", "172.17.0.0/16"};
static const char *const host_ports[] = {"tcp/22", "udp/123"};

/* the gateway is the host (bridge MAC), the DHCP server elsewhere, an allow-list */
static const FilterNet net_full = {
        .bridge = "vbr0",
        .gateway_ip = "192.168.100.1",
        .gateway_mac = "02:00:00:00:64:01",
        .dhcp_ip = "192.168.100.254",
        .dhcp_mac = "02:00:00:00:64:FE",
        .allow_ips = allow,
        .n_allow = 3,
        .broadcast_pps = 50,
        .host_ips = host_ips,
        .n_host_ips = 3,
        .host_ports = host_ports,
        .n_host_ports = 2,
};

/* the single-host default: gateway = DHCP server, nothing else */
static const FilterNet net_min = {
        .bridge = "vbr0",
        .gateway_ip = "192.168.100.1",
        .gateway_mac = "02:00:00:00:64:01",
};

static const FilterVm vm_iso = {"vmb1002", "DE:AF:DE:AF:64:02", "192.168.100.2", true, false};
static const FilterVm vm_open = {"vmb7", "de:af:de:af:64:07", "192.168.100.7", false, false};
/* in a VM group that enables IPv6 */
static const FilterVm vm_ipv6 = {"vmb8", "de:af:de:af:64:08", "192.168.100.8", false, true};

static void test_golden(void) {
        char *text = NULL;
        is_int(filter_nft_ruleset(&net_full, &text), 0, "nft ruleset (full)");
        golden_check("nft-ruleset-full.nft", text);
        free(text);
        text = NULL;
        is_int(filter_nft_ruleset(&net_min, &text), 0, "nft ruleset (minimal)");
        golden_check("nft-ruleset-min.nft", text);
        free(text);

        const struct {
                const char *name;
                const FilterVm *vm;
                int (*fn)(const FilterVm *, char **);
        } nft[] = {
                {"nft-add-isolated.nft", &vm_iso, filter_nft_vm_add},
                {"nft-add-open.nft", &vm_open, filter_nft_vm_add},
                {"nft-add-ipv6.nft", &vm_ipv6, filter_nft_vm_add},
                {"nft-remove.nft", &vm_iso, filter_nft_vm_remove},
        };
        for (size_t i = 0; i < ELEMENTSOF(nft); i++) {
                text = NULL;
                is_int(nft[i].fn(nft[i].vm, &text), 0, "%s generated", nft[i].name);
                golden_check(nft[i].name, text);
                free(text);
        }

        FilterCmds c = {0};
        is_int(filter_ebt_setup_cmds(&net_full, &c), 0, "ebtables setup (full)");
        text = filter_cmds_format(&c);
        golden_check("ebt-setup-full.txt", text);
        free(text);
        filter_cmds_clear(&c);
        is_int(filter_ebt_setup_cmds(&net_min, &c), 0, "ebtables setup (minimal)");
        text = filter_cmds_format(&c);
        golden_check("ebt-setup-min.txt", text);
        free(text);
        filter_cmds_clear(&c);

        is_int(filter_ebt_vm_add(&net_full, &vm_iso, &c), 0, "ebtables add (isolated)");
        text = filter_cmds_format(&c);
        golden_check("ebt-add-isolated.txt", text);
        free(text);
        /* argv, not a shell line: every word is one argument */
        bool words_ok = c.n > 0;
        for (size_t i = 0; i < c.n; i++) {
                words_ok &= streq(c.argv[i][0], FILTER_EBT_PROGRAM) && streq(c.argv[i][1], "-t");
                for (char **a = c.argv[i]; *a; a++)
                        words_ok &= **a && !strchr(*a, ' ');
        }
        ok(words_ok, "ebtables commands are argv lists starting '" FILTER_EBT_PROGRAM " -t TABLE' (never the ebtables alternative)");
        filter_cmds_clear(&c);
        is_int(filter_ebt_vm_add(&net_full, &vm_open, &c), 0, "ebtables add (open)");
        text = filter_cmds_format(&c);
        golden_check("ebt-add-open.txt", text);
        free(text);
        filter_cmds_clear(&c);
        is_int(filter_ebt_vm_add(&net_full, &vm_ipv6, &c), 0, "ebtables add (open, VM group IPv6)");
        text = filter_cmds_format(&c);
        golden_check("ebt-add-ipv6.txt", text);
        ok(strstr(text, "-p IPv6 --ip6-src ! ::dcaf:deff:feaf:6408/::ffff:ffff:ffff:ffff -j DROP") &&
                   strstr(text, "-p IPv6 -j vmb-ip6-pfx") && !strstr(text, "fe80::dcaf"),
           "ebtables, IPv6 on: its interface identifier (masked), then the prefixes; not the link-local rule");
        free(text);
        filter_cmds_clear(&c);
        FilterVm iso6 = vm_iso;
        iso6.ipv6 = true;
        is_int(filter_ebt_vm_add(&net_full, &iso6, &c), 0, "ebtables add (isolated, VM group IPv6)");
        text = filter_cmds_format(&c);
        ok(strstr(text, "-j vmb-iso-out") != NULL, "... an isolated VM still goes through vmb-iso-out (no IPv6)");
        free(text);
        filter_cmds_clear(&c);
        text = NULL;
        is_int(filter_nft_vm_add(&iso6, &text), 0, "nft add (isolated, VM group IPv6)");
        ok(text && strstr(text, "add element bridge vmbatch isolated { \"vmb1002\" }\n") &&
                   !strstr(text, "delete element bridge vmbatch isolated") &&
                   !strstr(text, "delete element bridge vmbatch vm_iid6"),
           "... isolated (whose from_iso drops IPv6) with its vm_iid6 element");
        free(text);
        text = NULL;
        filter_nft_vm_add(&vm_open, &text);
        ok(text && strstr(text, "add element bridge vmbatch vm_iid6 { \"vmb7\" . 0xdcafdefffeaf6407 }\n"
                                "delete element bridge vmbatch vm_iid6 { \"vmb7\" . 0xdcafdefffeaf6407 }\n"),
           "nft, IPv6 off: vm_iid6 added and deleted (absent whatever was there)");
        free(text);
        is_int(filter_ebt_vm_remove("vmb1002", &c), 0, "ebtables remove");
        text = filter_cmds_format(&c);
        golden_check("ebt-remove.txt", text);
        free(text);
        filter_cmds_clear(&c);

        /* the fingerprint follows the configuration */
        char *a = NULL, *b = NULL;
        FilterNet other = net_min;
        other.broadcast_pps = 7;
        filter_nft_ruleset(&net_min, &a);
        filter_nft_ruleset(&other, &b);
        ok(a && b && strstr(b, "7/second") && strcmp(a, b) != 0, "broadcast_pps changes the ruleset");
        char *fa = a ? strstr(a, "comment \"vmbatch ") : NULL, *fb = b ? strstr(b, "comment \"vmbatch ") : NULL;
        ok(fa && fb && strncmp(fa, fb, 34) != 0, "... and its fingerprint");
        free(a);
        free(b);
}

static void test_checks(void) {
        const char *good_taps[] = {"vmb1", "vmb123456789012", "vmb_x", "vmbA"};
        const char *bad_taps[] = {NULL, "", "vmb", "eth0", "tap1", "vmb1234567890123", "vmb*", "vmb+",
                                  "vmb1\"", "vmb1 x", "vmb-1", "vmb1;", "vmb.1", "vmb1/2", "VMB1"};
        for (size_t i = 0; i < ELEMENTSOF(good_taps); i++)
                ok(filter_tap_is_valid(good_taps[i]), "tap '%s' accepted", good_taps[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad_taps); i++)
                ok(!filter_tap_is_valid(bad_taps[i]), "tap '%s' refused", bad_taps[i] ? bad_taps[i] : "(null)");

        char m[18];
        is_int(filter_mac_normalize("DE:AF:DE:AF:64:0A", m), 0, "MAC in capitals");
        is_str(m, "de:af:de:af:64:0a", "MAC normalized to lower case");
        const char *bad_macs[] = {NULL,
                                  "",
                                  "de:af:de:af:64",
                                  "de:af:de:af:64:02:01",
                                  "de-af-de-af-64-02",
                                  "de:af:de:af:64:0g",
                                  "de:af:de:af:64:2",
                                  "01:00:5e:00:00:01",
                                  "ff:ff:ff:ff:ff:ff",
                                  "00:00:00:00:00:00",
                                  "de:af:de:af:64:02 ",
                                  "de:af:de:af:64:02\"; drop"};
        for (size_t i = 0; i < ELEMENTSOF(bad_macs); i++)
                is_int(filter_mac_normalize(bad_macs[i], m), -EINVAL, "MAC '%s' refused",
                       bad_macs[i] ? bad_macs[i] : "(null)");

        Error e = {0};
        is_int(filter_vm_check(&vm_iso, &e), 0, "a good VM passes");
        const FilterVm bad_vms[] = {
                {"eth0", "de:af:de:af:64:02", "192.168.100.2", false, false},
                {"vmb1", "de:af:de:af:64", "192.168.100.2", false, false},
                {"vmb1", "01:af:de:af:64:02", "192.168.100.2", false, false},
                {"vmb1", "de:af:de:af:64:02", "192.168.100.300", false, false},
                {"vmb1", "de:af:de:af:64:02", "192.168.100.02", false, false},
                {"vmb1", "de:af:de:af:64:02", "0.0.0.0", false, false},
                {"vmb1", "de:af:de:af:64:02", "255.255.255.255", false, false},
                {"vmb1", "de:af:de:af:64:02", "224.0.0.1", false, false},
                {"vmb1", "de:af:de:af:64:02", "fd00::2", false, false},
                {"vmb1", "de:af:de:af:64:02", "192.168.100.2/24", false, false},
                {"vmb1", NULL, "192.168.100.2", false, false},
                {"vmb1", "de:af:de:af:64:02", NULL, false, false},
        };
        const char *why[] = {"tap", "MAC", "MAC", "IPv4", "IPv4", "IPv4", "IPv4", "IPv4", "IPv4", "IPv4", "MAC", "IPv4"};
        for (size_t i = 0; i < ELEMENTSOF(bad_vms); i++) {
                error_clear(&e);
                int r = filter_vm_check(&bad_vms[i], &e);
                ok(r == -EINVAL && strstr(e.message, why[i]), "bad VM %zu refused (%s): %s", i, why[i], e.message);
                char *text = NULL;
                is_int(filter_nft_vm_add(&bad_vms[i], &text), -EINVAL, "... and the nft generator refuses it");
                free(text);
                FilterCmds c = {0};
                is_int(filter_ebt_vm_add(&net_min, &bad_vms[i], &c), -EINVAL, "... and the ebtables one");
                filter_cmds_clear(&c);
        }

        /* networks */
        is_int(filter_net_check(&net_full, true, NULL), 0, "the full network passes");
        FilterNet n = net_min;
        n.gateway_ip = "192.168.100.1/24";
        is_int(filter_net_check(&n, true, NULL), -EINVAL, "gateway with a prefix refused");
        n = net_min;
        n.gateway_mac = NULL;
        n.bridge = NULL;
        is_int(filter_net_check(&n, false, NULL), -EINVAL, "no gateway MAC and no bridge refused");
        n.bridge = "vbr0";
        is_int(filter_net_check(&n, false, NULL), 0, "no gateway MAC but a bridge: looked up later");
        is_int(filter_net_check(&n, true, NULL), -EINVAL, "... but not for the generators");
        char *text = NULL;
        is_int(filter_nft_ruleset(&n, &text), -EINVAL, "nft ruleset without a gateway MAC refused");
        free(text);
        const char *bad_allow[][1] = {{"10.0.0.0/0"}, {"10.0.0.1/8"}, {"10.0.0.0/33"}, {"10.0.0.0/"},
                                      {"fd00::/8"},   {"10.0.0.0 "},  {"10.0.0"},      {NULL}};
        for (size_t i = 0; i < ELEMENTSOF(bad_allow); i++) {
                n = net_min;
                n.allow_ips = bad_allow[i];
                n.n_allow = 1;
                is_int(filter_net_check(&n, true, NULL), -EINVAL, "allow-list entry '%s' refused",
                       bad_allow[i][0] ? bad_allow[i][0] : "(null)");
        }
        const char *many[FILTER_ALLOW_MAX + 1];
        for (size_t i = 0; i < ELEMENTSOF(many); i++)
                many[i] = "10.0.0.1";
        n = net_min;
        n.allow_ips = many;
        n.n_allow = ELEMENTSOF(many);
        is_int(filter_net_check(&n, true, NULL), -E2BIG, "more than %d allowed addresses refused", FILTER_ALLOW_MAX);

        /* host ports and addresses (host_ports_allow; the host's own addresses) */
        char proto[4];
        unsigned port = 0;
        ok(filter_host_port_parse("tcp/22", proto, &port) == 0 && streq(proto, "tcp") && port == 22, "tcp/22 parsed");
        ok(filter_host_port_parse("udp/65535", proto, &port) == 0 && streq(proto, "udp") && port == 65535,
           "udp/65535 parsed");
        const char *bad_ports[] = {NULL,      "",        "tcp/",     "tcp/0",    "tcp/65536", "tcp/022", "tcp/22 ",
                                   "TCP/22",  "sctp/22", "tcp/-1",   "tcp/+1",   "tcp/1x",    "22",      "tcp 22",
                                   "udp//53", "icmp/8"};
        for (size_t i = 0; i < ELEMENTSOF(bad_ports); i++)
                is_int(filter_host_port_parse(bad_ports[i], proto, &port), -EINVAL, "host port '%s' refused",
                       bad_ports[i] ? bad_ports[i] : "(null)");
        const char *one_bad_port[] = {"tcp/0"}, *one_bad_host[] = {"10.0.0.1/8"};
        n = net_min;
        n.host_ports = one_bad_port;
        n.n_host_ports = 1;
        error_clear(&e);
        ok(filter_net_check(&n, true, &e) == -EINVAL && strstr(e.message, "tcp/0"), "a bad host port refused: %s",
           e.message);
        n = net_min;
        n.host_ips = one_bad_host;
        n.n_host_ips = 1;
        error_clear(&e);
        ok(filter_net_check(&n, true, &e) == -EINVAL && strstr(e.message, "10.0.0.1/8"),
           "a bad host address refused: %s", e.message);
        const char *ports_many[FILTER_HOST_PORTS_MAX + 1];
        for (size_t i = 0; i < ELEMENTSOF(ports_many); i++)
                ports_many[i] = "tcp/22";
        n = net_min;
        n.host_ports = ports_many;
        n.n_host_ports = ELEMENTSOF(ports_many);
        is_int(filter_net_check(&n, true, NULL), -E2BIG, "more than %d host ports refused", FILTER_HOST_PORTS_MAX);
        char ll[46];
        filter_mac_link_local("02:00:00:00:64:01", false, ll);
        is_str(ll, "fe80000000000000000000fffe006401", "link-local of 02:00:00:00:64:01 (hex, for nft)");
        filter_mac_link_local("02:00:00:00:64:01", true, ll);
        is_str(ll, "fe80::ff:fe00:6401", "... as text (for ebtables)");
        filter_mac_link_local("de:af:de:af:64:02", true, ll);
        is_str(ll, "fe80::dcaf:deff:feaf:6402", "link-local of de:af:de:af:64:02: the U/L bit flipped, ff:fe inserted");
        filter_mac_iid6("de:af:de:af:64:02", true, ll);
        is_str(ll, "::dcaf:deff:feaf:6402", "its interface identifier as text (ebtables' form)");
        filter_mac_iid6("de:af:de:af:64:02", false, ll);
        is_str(ll, "dcafdefffeaf6402", "... as 16 hex digits (nft)");
        filter_mac_iid6("02:00:00:00:00:00", true, ll);
        is_str(ll, "::ff:fe00:0", "the interface identifier of 02:00:00:00:00:00: ::ff:fe00:0");

        /* backends */
        FilterBackend *b = NULL;
        error_clear(&e);
        is_int(filter_backend_new("iptables", &net_min, &b, &e), -EINVAL, "unknown backend refused");
        ok(strstr(e.message, "unknown backend") != NULL, "... with a message: %s", e.message);
        n = net_min;
        n.gateway_ip = "not-an-ip";
        is_int(filter_backend_new("nft", &n, &b, NULL), -EINVAL, "bad network refused by filter_backend_new");
        is_int(filter_backend_new("none", NULL, &b, NULL), 0, "the none backend needs no network");
        char **taps = NULL;
        size_t nt = 1;
        ok(b && filter_setup(b, NULL) == 0 && filter_add(b, &vm_iso, NULL) == 0 && filter_remove(b, "vmb1", NULL) == 0 &&
                   filter_sync(b, &vm_iso, 1, NULL) == 0 && filter_list(b, &taps, &nt, NULL) == 0 && nt == 0,
           "none: every call succeeds and nothing is listed");
        error_clear(&e);
        is_int(filter_add(b, &bad_vms[0], &e), -EINVAL, "none: a bad VM is still refused");
        filter_names_free(taps);
        is_str(filter_backend_name(b), "none", "backend name");
        filter_backend_free(b);
        filter_backend_free(NULL);
}

/* ---- for real, in a private network namespace -------------------------- */

static int nft_cmd(const char *cmd, char **ret_out) {
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        nft_ctx_buffer_output(ctx);
        nft_ctx_buffer_error(ctx);
        int r = nft_run_cmd_from_buffer(ctx, cmd);
        if (ret_out)
                *ret_out = xstrdup(nft_ctx_get_output_buffer(ctx));
        nft_ctx_free(ctx);
        return r;
}

static char *joined(char **names, size_t n) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%s", i ? " " : "", names[i]);
        fclose(f);
        return buf;
}

static char *listed(FilterBackend *b) {
        char **taps;
        size_t n;
        if (filter_list(b, &taps, &n, NULL) < 0)
                return xstrdup("(error)");
        char *s = joined(taps, n);
        filter_names_free(taps);
        return s;
}

static void test_backend(const char *kind) {
        FilterBackend *b = NULL;
        Error e = {0};
        if (filter_backend_new(kind, &net_full, &b, &e) < 0) {
                ok(0, "%s: backend: %s", kind, e.message);
                return;
        }
        is_str(filter_backend_name(b), kind, "%s: name", kind);
        ok(filter_setup(b, &e) == 0, "%s: setup %s", kind, e.message);
        ok(filter_setup(b, &e) == 0, "%s: setup again %s", kind, e.message);
        FilterVm a = {"vmb1", "de:af:de:af:64:02", "192.168.100.2", true, false};
        FilterVm c = {"vmb2", "de:af:de:af:64:03", "192.168.100.3", false, false};
        ok(filter_add(b, &a, &e) == 0 && filter_add(b, &c, &e) == 0, "%s: add two %s", kind, e.message);
        ok(filter_add(b, &a, &e) == 0, "%s: add again %s", kind, e.message);
        char *s = listed(b);
        is_str(s, "vmb1 vmb2", "%s: list", kind);
        free(s);
        FilterVm a2 = {"vmb1", "de:af:de:af:64:09", "192.168.100.9", false, false};
        ok(filter_add(b, &a2, &e) == 0, "%s: add with another MAC and IP replaces %s", kind, e.message);
        ok(filter_remove(b, "vmb1", &e) == 0, "%s: remove %s", kind, e.message);
        ok(filter_remove(b, "vmb1", &e) == 0, "%s: remove again %s", kind, e.message);
        ok(filter_remove(b, "vmb99", &e) == 0, "%s: remove a tap never added %s", kind, e.message);
        s = listed(b);
        is_str(s, "vmb2", "%s: list after remove", kind);
        free(s);
        if (streq(kind, "nft")) {
                char *out = NULL;
                nft_cmd("list set bridge " FILTER_NFT_TABLE " vm_mac", &out);
                ok(out && !strstr(out, "64:09") && !strstr(out, "64:02"), "%s: no element of vmb1 left", kind);
                free(out);
                out = NULL;
                nft_cmd("list set bridge " FILTER_NFT_TABLE " vm_chaddr", &out);
                char *out6 = NULL;
                nft_cmd("list set bridge " FILTER_NFT_TABLE " vm_ll6", &out6);
                ok(out && out6 && strstr(out, "0xdeafdeaf6403") && !strstr(out, "6409") && !strstr(out, "6402") &&
                           strstr(out6, "0xfe80000000000000dcafdefffeaf6403") && !strstr(out6, "6409") &&
                           !strstr(out6, "6402"),
                   "%s: vm_chaddr and vm_ll6: vmb2's elements only", kind);
                free(out);
                free(out6);
        }

        FilterVm three[] = {a, c, {"vmb3", "de:af:de:af:64:04", "192.168.100.4", true, false}};
        ok(filter_sync(b, three, 3, &e) == 0, "%s: sync three %s", kind, e.message);
        s = listed(b);
        is_str(s, "vmb1 vmb2 vmb3", "%s: list after sync", kind);
        free(s);
        ok(filter_sync(b, three + 1, 1, &e) == 0, "%s: sync down to one %s", kind, e.message);
        s = listed(b);
        is_str(s, "vmb2", "%s: list after sync down", kind);
        free(s);
        FilterVm twice[] = {c, c};
        error_clear(&e);
        is_int(filter_sync(b, twice, 2, &e), -EINVAL, "%s: a tap twice in sync refused", kind);

        /* someone flushes everything */
        ok(nft_cmd("flush ruleset", NULL) == 0, "%s: flush ruleset", kind);
        s = listed(b);
        is_str(s, "", "%s: nothing listed after the flush", kind);
        free(s);
        ok(filter_remove(b, "vmb2", &e) == 0, "%s: remove with our rules gone %s", kind, e.message);
        ok(filter_add(b, &c, &e) == 0, "%s: add with our rules gone puts them back %s", kind, e.message);
        s = listed(b);
        is_str(s, "vmb2", "%s: list after that add", kind);
        free(s);
        nft_cmd("flush ruleset", NULL);
        ok(filter_sync(b, three, 3, &e) == 0, "%s: sync after the flush %s", kind, e.message);
        s = listed(b);
        is_str(s, "vmb1 vmb2 vmb3", "%s: all back", kind);
        free(s);
        if (streq(kind, "nft")) {
                char *out = NULL;
                nft_cmd("list chain bridge " FILTER_NFT_TABLE " prerouting", &out);
                ok(out && strstr(out, "MAC spoofing"), "%s: base rules back", kind);
                free(out);
        }

        /* vmb2's VM group turns IPv6 on, then off: add and sync follow it */
        FilterVm c6 = c;
        c6.ipv6 = true;
        FilterVm six[] = {a, c6, three[2]};
        const char *masked = "-p IPv6 --ip6-src ! ::dcaf:deff:feaf:6403/::ffff:ffff:ffff:ffff -j DROP";
        for (int step = 0; step < 4; step++) {
                /* add on, add off, sync on, sync on again (nothing to change: a
                 * misread element would be deleted by value and fail) */
                bool on = step != 1;
                error_clear(&e);
                int r = step < 2 ? filter_add(b, on ? &c6 : &c, &e) : filter_sync(b, six, 3, &e);
                char *out = NULL;
                if (streq(kind, "nft"))
                        nft_cmd("list set bridge " FILTER_NFT_TABLE " vm_iid6", &out);
                else {
                        char *argv[] = {FILTER_EBT_PROGRAM, "-t", "nat", "-L", "vm-vmb2", NULL};
                        SpawnOpts o = {.argv = argv};
                        SpawnResult res = {0};
                        spawn_run(&o, &res);
                        out = res.out ? xstrdup(res.out) : NULL;
                        spawn_result_clear(&res);
                }
                bool has = out && (streq(kind, "nft") ? strstr(out, "\"vmb2\" . 0xdcafdefffeaf6403") != NULL
                                                      : strstr(out, masked) != NULL);
                ok(r == 0 && has == on, "%s: %s with IPv6 %s: %s %s %s", kind, step < 2 ? "add" : "sync", on ? "on" : "off",
                   streq(kind, "nft") ? "vm_iid6 element" : "masked source rule", on ? "there" : "gone", e.message);
                free(out);
        }
        s = listed(b);
        is_str(s, "vmb1 vmb2 vmb3", "%s: list after the IPv6 changes", kind);
        free(s);

        /* a new backend object (a daemon restart) can remove what an earlier one added */
        filter_backend_free(b);
        b = NULL;
        ok(filter_backend_new(kind, &net_full, &b, &e) == 0, "%s: a new backend object", kind);
        ok(filter_remove(b, "vmb3", &e) == 0, "%s: removes a tap it did not add %s", kind, e.message);
        s = listed(b);
        is_str(s, "vmb1 vmb2", "%s: list", kind);
        free(s);
        ok(filter_add(b, &a2, &e) == 0, "%s: replaces a tap it did not add %s", kind, e.message);
        if (streq(kind, "nft")) {
                char *out = NULL;
                nft_cmd("list set bridge " FILTER_NFT_TABLE " vm_mac", &out);
                ok(out && strstr(out, "64:09") && !strstr(out, "64:02"), "%s: old elements replaced", kind);
                free(out);
        }
        filter_backend_free(b);
}

/* ---- probe and purge --------------------------------------------------- */

static void test_probe_explain(void) {
        struct {
                const char *kind;
                int code;
                const char *text;
                const char *want1, *want2;
        } cases[] = {
                {"ebtables", -ENOENT, NULL, FILTER_EBT_PROGRAM, "package: iptables"},
                {"ebtables", -EIO, "Could not fetch rule set generation id: Protocol not supported", "CONFIG_NF_TABLES_BRIDGE",
                 "Protocol not supported"},
                /* what ebtables-legacy says on this kernel: the text is kept */
                {"ebtables", -EIO, "The kernel doesn't support the ebtables 'nat' table.", "CONFIG_NF_TABLES_BRIDGE",
                 "'nat' table"},
                {"nft", -EOPNOTSUPP, "filter: nft: probe: Could not process rule: Operation not supported",
                 "no nftables bridge family", "CONFIG_NF_TABLES_BRIDGE"},
                {"nft", -EAFNOSUPPORT, NULL, "bridge family", "CONFIG_NF_TABLES"},
                {"nft", -EPERM, "Operation not permitted", "CAP_NET_ADMIN", "root"},
                {"ebtables", -EIO, "something else\nsecond line", "does not work on this host: something else", ""},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *m = filter_probe_explain(cases[i].kind, cases[i].code, cases[i].text);
                ok(m && strstr(m, cases[i].want1) && strstr(m, cases[i].want2) && !strchr(m, '\n') &&
                           strncmp(m, "filter_backend = ", 17) == 0,
                   "probe explained in one line naming '%s': %s", cases[i].want1, m);
        }
}

typedef struct ProbeFake {
        int exit_code;
        const char *err;
        int calls;
} ProbeFake;

static int probe_hook(const SpawnOpts *o, SpawnResult *ret, void *userdata) {
        ProbeFake *f = userdata;
        f->calls++;
        ret->exit_code = f->exit_code;
        ret->out = xstrdup("");
        ret->err = xstrdup(f->err);
        return streq(o->argv[0], FILTER_EBT_PROGRAM) ? 0 : -EINVAL;
}

/* the ebtables probe's view of a missing program and of a kernel without the tables */
static void test_probe_seam(void) {
        ProbeFake f = {127, "cannot execute " FILTER_EBT_PROGRAM ": No such file or directory\n", 0};
        Error e = {0};
        spawn_set_hook(probe_hook, &f);
        is_int(filter_backend_probe("ebtables", &e), -ENOENT, "probe: ebtables-nft missing is -ENOENT");
        ok(strstr(e.message, "not installed") && strstr(e.message, "iptables"), "... and says what to install: %s",
           e.message);
        f = (ProbeFake){255, "Could not fetch rule set generation id: Protocol not supported\n", 0};
        error_clear(&e);
        ok(filter_backend_probe("ebtables", &e) < 0 && strstr(e.message, "CONFIG_NF_TABLES_BRIDGE"),
           "probe: a kernel without the bridge family names the kernel option: %s", e.message);
        f = (ProbeFake){0, "", 0};
        is_int(filter_backend_probe("ebtables", &e), 0, "probe: both tables listed: ok");
        is_int(f.calls, 2, "... after listing nat and filter");
        spawn_set_hook(NULL, NULL);
        is_int(filter_backend_probe("none", &e), 0, "probe: none always works");
        is_int(filter_backend_probe("pf", &e), -EINVAL, "probe: unknown backend refused");
}

static char *ebt_listing(void) {
        char *argv[] = {FILTER_EBT_PROGRAM, "-t", "nat", "-L", NULL}, *argv2[] = {FILTER_EBT_PROGRAM, "-t", "filter", "-L", NULL};
        SpawnOpts o = {.argv = argv}, o2 = {.argv = argv2};
        SpawnResult r = {0}, r2 = {0};
        spawn_run(&o, &r);
        spawn_run(&o2, &r2);
        char *s = xasprintf("%s%s", r.out ? r.out : "", r2.out ? r2.out : "");
        spawn_result_clear(&r);
        spawn_result_clear(&r2);
        return s;
}

static size_t names_count(char **names) {
        size_t n = 0;
        for (; names && names[n]; n++)
                ;
        return n;
}

/* a daemon that switches backends across a restart: what the old one left goes */
static void test_purge(void) {
        Error e = {0};
        ok(filter_backend_probe("nft", &e) == 0, "probe nft here %s", e.message);
        ok(filter_backend_probe("ebtables", &e) == 0, "probe ebtables here %s", e.message);
        FilterVm a = {"vmb1", "de:af:de:af:64:02", "192.168.100.2", true, false};
        FilterBackend *b = NULL;
        ok(filter_backend_new("ebtables", &net_full, &b, &e) == 0 && filter_setup(b, &e) == 0 &&
                   filter_add(b, &a, &e) == 0,
           "ebtables rules of one VM %s", e.message);
        filter_backend_free(b);
        char **removed = NULL;
        /* control: keeping ebtables removes nothing of it */
        ok(filter_purge_others("ebtables", &removed, &e) == 0 && names_count(removed) == 0,
           "purge keeping ebtables: nothing removed (no nft table)");
        filter_names_free(removed);
        _cleanup_free_ char *before = ebt_listing();
        ok(strstr(before, "vm-vmb1") && strstr(before, "-j vmb-pre"), "control: the ebtables chains are there");
        int r = filter_purge_others("nft", &removed, &e);
        ok(r == 0 && names_count(removed) == 1 && strstr(removed[0], "ebtables"),
           "purge for nft removes the ebtables chains: %s", r == 0 && removed[0] ? removed[0] : e.message);
        filter_names_free(removed);
        _cleanup_free_ char *after = ebt_listing();
        ok(!strstr(after, "vmb-") && !strstr(after, "vm-vmb"), "no vmb-* / vm-* chain or jump left");
        ok(filter_purge_others("nft", &removed, &e) == 0 && names_count(removed) == 0, "purge again: nothing");
        filter_names_free(removed);
        ok(nft_cmd("list table bridge nat", NULL) != 0 && nft_cmd("list table bridge filter", NULL) != 0,
           "ebtables-nft's emptied nat and filter tables are gone");
        /* an admin's own ebtables rule keeps its table */
        ok(filter_backend_new("ebtables", &net_full, &b, &e) == 0 && filter_setup(b, &e) == 0, "ebtables again %s",
           e.message);
        filter_backend_free(b);
        char *admin[] = {FILTER_EBT_PROGRAM, "-t", "filter", "-A", "FORWARD", "-p", "0x88b6", "-j", "DROP", NULL};
        SpawnOpts ao = {.argv = admin};
        SpawnResult ar = {0};
        ok(spawn_run(&ao, &ar) == 0 && ar.exit_code == 0, "an admin's own rule in filter FORWARD");
        spawn_result_clear(&ar);
        r = filter_purge_others("nft", &removed, &e);
        ok(r == 0 && names_count(removed) == 1 && strstr(removed[0], "1 emptied table"), "purge: %s",
           r == 0 && removed[0] ? removed[0] : e.message);
        filter_names_free(removed);
        _cleanup_free_ char *kept = ebt_listing();
        ok(strstr(kept, "-p 0x88b6 -j DROP") && !strstr(kept, "vmb-") && nft_cmd("list table bridge filter", NULL) == 0,
           "the admin's rule and its table stay, ours go");

        ok(filter_backend_new("nft", &net_full, &b, &e) == 0 && filter_setup(b, &e) == 0 && filter_add(b, &a, &e) == 0,
           "nft rules of one VM %s", e.message);
        filter_backend_free(b);
        ok(filter_purge_others("nft", &removed, &e) == 0 && names_count(removed) == 0,
           "purge keeping nft: our table stays");
        filter_names_free(removed);
        ok(nft_cmd("list table bridge " FILTER_NFT_TABLE, NULL) == 0, "control: table bridge vmbatch is there");
        r = filter_purge_others("none", &removed, &e);
        ok(r == 0 && names_count(removed) == 1 && strstr(removed[0], "bridge " FILTER_NFT_TABLE),
           "purge for none removes it: %s", r == 0 && removed[0] ? removed[0] : e.message);
        filter_names_free(removed);
        ok(nft_cmd("list table bridge " FILTER_NFT_TABLE, NULL) != 0, "table bridge vmbatch is gone");
        char *out = NULL;
        nft_cmd("list tables", &out);
        ok(out && !strstr(out, "vmbatch_probe"), "the probe left no table");
        free(out);
}

static void test_for_real(void) {
        if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
                ok(1, "# SKIP backends for real: needs root (unshare CLONE_NEWNET)");
                return;
        }
        /* the bridge's MAC is not needed: net_full names the gateway MAC */
        test_backend("nft");
        /* ebtables-nft is a dependency (install-deps.sh: iptables): missing, this fails */
        nft_cmd("flush ruleset", NULL);
        test_backend("ebtables");
        nft_cmd("flush ruleset", NULL);
        test_purge();

        /* without a gateway MAC the bridge's own is taken */
        FilterNet n = net_min;
        n.gateway_mac = NULL;
        n.bridge = "vmbnobr";
        FilterBackend *b = NULL;
        Error e = {0};
        ok(filter_backend_new("nft", &n, &b, &e) == 0, "backend with the bridge as gateway");
        is_int(filter_setup(b, &e), -ENODEV, "a missing bridge: -ENODEV");
        ok(strstr(e.message, "vmbnobr") != NULL, "... naming it: %s", e.message);
        filter_backend_free(b);
}

int main(int argc, char **argv) {
        golden_setup(argc, argv, "tests/golden/filter");
        test_golden();
        test_checks();
        test_probe_explain();
        test_probe_seam();
        test_for_real();
        return tap_done();
}
