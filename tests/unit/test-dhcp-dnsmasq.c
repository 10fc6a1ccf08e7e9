/* test-dhcp-dnsmasq.c - the dnsmasq backend's pure parts and its host files.
 *
 *   test-dhcp-dnsmasq GOLDEN_DIR
 *
 * Host lines and command lines are compared with GOLDEN_DIR/<name>;
 * VMBATCH_REGENERATE=1 rewrites the files instead (review the diff before
 * committing). Host files are exercised in a temporary state directory with
 * no dnsmasq running (spawn's dry-run hook proves nothing is run). Also the
 * pure helpers of net/link.h. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "basic/spawn.h"
#include "net/dhcp.h"
#include "net/link.h"
#include "golden.h"

static void test_host_line(void) {
        char *line = NULL;
        is_int(dnsmasq_host_line("de:af:de:af:64:02", "192.168.100.2", "vm1002", &line), 0, "host line");
        golden_check("host-vm1002", line ? line : "");
        free(line);
        line = NULL;
        is_int(dnsmasq_host_line("DE:AF:DE:AF:FF:FE", "192.168.255.254", "vm-last-1", &line), 0,
               "host line, upper-case MAC");
        golden_check("host-vm-last-1", line ? line : "");

        char mac[18], ip[16], name[64];
        is_int(dnsmasq_host_line_parse(line, mac, ip, name), 0, "parse our own line");
        is_str(mac, "de:af:de:af:ff:fe", "parsed MAC (normalised)");
        is_str(ip, "192.168.255.254", "parsed IP");
        is_str(name, "vm-last-1", "parsed name");
        free(line);

        static const struct {
                const char *mac, *ip, *name, *why;
        } bad[] = {
                {"de:af:de:af:64", "192.168.100.2", "vm1", "short MAC"},
                {"de:af:de:af:64:0g", "192.168.100.2", "vm1", "MAC with a non-hex digit"},
                {"de-af-de-af-64-02", "192.168.100.2", "vm1", "MAC with dashes"},
                {"de:af:de:af:64:02", "192.168.100.256", "vm1", "IP out of range"},
                {"de:af:de:af:64:02", "fd00::2", "vm1", "IPv6"},
                {"de:af:de:af:64:02", "192.168.100.2,foo", "vm1", "IP with a comma"},
                {"de:af:de:af:64:02", "192.168.100.2", "", "empty name"},
                {"de:af:de:af:64:02", "192.168.100.2", "../vm1", "name with a path"},
                {"de:af:de:af:64:02", "192.168.100.2", "a/b", "name with a slash"},
                {"de:af:de:af:64:02", "192.168.100.2", ".hidden", "name with a leading dot"},
                {"de:af:de:af:64:02", "192.168.100.2", "-vm", "name with a leading dash"},
                {"de:af:de:af:64:02", "192.168.100.2", "vm 1", "name with a space"},
                {"de:af:de:af:64:02", "192.168.100.2", "vm,1", "name with a comma"},
                {"de:af:de:af:64:02", "192.168.100.2", "vm_1", "name with an underscore"},
                {"de:af:de:af:64:02", "192.168.100.2",
                 "a234567890123456789012345678901234567890123456789012345678901234", "64-byte name"},
                {NULL, "192.168.100.2", "vm1", "no MAC"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *l = NULL;
                is_int(dnsmasq_host_line(bad[i].mac, bad[i].ip, bad[i].name, &l), -EINVAL, "refused: %s",
                       bad[i].why);
                free(l);
        }
        ok(dhcp_host_name_is_valid("a23456789012345678901234567890123456789012345678901234567890123"),
           "a 63-byte name is valid");

        static const char *bad_lines[] = {
                "", "de:af:de:af:64:02,192.168.100.2", "de:af:de:af:64:02,192.168.100.2,vm1,extra",
                "de:af:de:af:64:02,192.168.100.2,vm1\nsecond,line,x", "x,192.168.100.2,vm1",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad_lines); i++)
                is_int(dnsmasq_host_line_parse(bad_lines[i], mac, ip, name), -EINVAL, "parse refuses line %zu", i);
}

static void test_paths(void) {
        _cleanup_free_ char *d = dnsmasq_hosts_dir("/var/lib/vmbatch/dnsmasq");
        is_str(d, "/var/lib/vmbatch/dnsmasq/hosts", "hosts dir");
        _cleanup_free_ char *f = dnsmasq_host_file("/var/lib/vmbatch/dnsmasq", "vm1002");
        is_str(f, "/var/lib/vmbatch/dnsmasq/hosts/vm1002", "host file");
        ok(dnsmasq_host_file("/s", "../etc") == NULL, "no host file for ../etc");
        ok(dnsmasq_host_file("/s", "a/b") == NULL, "no host file for a/b");
        ok(dnsmasq_host_file("/s", ".x") == NULL, "no host file for .x");
}

static const DhcpConfig base_config = {
        .backend = "dnsmasq",
        .interface = "vmbbr0",
        .state_dir = "/var/lib/vmbatch/dnsmasq",
        .gateway = "192.168.100.1",
        .range_net = "192.168.100.0",
        .range_mask = "255.255.255.0",
};

static void test_argv(void) {
        char **argv = NULL;
        Error e = {0};
        is_int(dnsmasq_build_argv(&base_config, &argv, &e), 0, "argv with a gateway");
        _cleanup_free_ char *s = argv ? golden_lines(argv) : xstrdup("");
        golden_check("argv-gateway", s);
        dhcp_names_free(argv);

        DhcpConfig c = base_config;
        c.gateway = NULL;
        c.interface = "br-exam";
        c.range_net = "10.20.0.0";
        c.range_mask = "255.255.0.0";
        c.state_dir = "/run/vmbatch/dhcp";
        argv = NULL;
        is_int(dnsmasq_build_argv(&c, &argv, &e), 0, "argv without a gateway");
        _cleanup_free_ char *s2 = argv ? golden_lines(argv) : xstrdup("");
        golden_check("argv-no-gateway", s2);
        dhcp_names_free(argv);

        static const struct {
                int field;
                const char *value, *why, *msg;
        } bad[] = {
                {0, NULL, "no interface", "invalid interface"},
                {0, "a,b", "interface with a comma", "invalid interface"},
                {0, "this-name-is-too-long", "interface name > 15", "invalid interface"},
                {1, "relative/dir", "relative state dir", "absolute path"},
                {1, "/a,b", "state dir with a comma", "absolute path"},
                {1, NULL, "no state dir", "absolute path"},
                {2, "192.168.100", "bad network", "range network"},
                {3, "255.255.255.0,1h", "bad mask", "range netmask"},
                {4, "gw", "bad gateway", "gateway"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                c = base_config;
                switch (bad[i].field) {
                case 0: c.interface = bad[i].value; break;
                case 1: c.state_dir = bad[i].value; break;
                case 2: c.range_net = bad[i].value; break;
                case 3: c.range_mask = bad[i].value; break;
                case 4: c.gateway = bad[i].value; break;
                }
                Error be = {0};
                argv = NULL;
                is_int(dnsmasq_build_argv(&c, &argv, &be), -EINVAL, "argv refused: %s", bad[i].why);
                ok(strstr(be.message, bad[i].msg) != NULL, "message names the field: %s", be.message);
                dhcp_names_free(argv);
        }

        argv = NULL;
        is_int(dnsmasq_release_argv("vmbbr0", "192.168.100.2", "DE:AF:DE:AF:64:02", &argv), 0, "release argv");
        _cleanup_free_ char *r = argv ? golden_lines(argv) : xstrdup("");
        is_str(r, "dhcp_release\nvmbbr0\n192.168.100.2\nde:af:de:af:64:02\n", "release argv content");
        dhcp_names_free(argv);
        is_int(dnsmasq_release_argv("vmbbr0", "x", "de:af:de:af:64:02", &argv), -EINVAL, "release argv: bad IP");
}

static void test_leases_without(void) {
        const char *leases = "1767225600 de:af:de:af:64:02 192.168.100.2 vm1002 01:de:af:de:af:64:02\n"
                             "1767225601 de:af:de:af:64:03 192.168.100.3 vm1003 *\n"
                             "1767225602 de:af:de:af:64:04 192.168.100.4 * *\n"
                             "duid 00:01:00:01:2c:aa:bb:cc:de:af:de:af:64:02\n";
        size_t removed = 99;
        _cleanup_free_ char *a = dnsmasq_leases_without(leases, "DE:AF:DE:AF:64:02", NULL, &removed);
        is_int(removed, 1, "one lease dropped by MAC (case-insensitive)");
        is_str(a,
               "1767225601 de:af:de:af:64:03 192.168.100.3 vm1003 *\n"
               "1767225602 de:af:de:af:64:04 192.168.100.4 * *\n"
               "duid 00:01:00:01:2c:aa:bb:cc:de:af:de:af:64:02\n",
               "the others and the duid line stay");
        _cleanup_free_ char *b = dnsmasq_leases_without(leases, "de:af:de:af:64:03", "192.168.100.4", &removed);
        is_int(removed, 2, "by MAC and by IP");
        _cleanup_free_ char *c = dnsmasq_leases_without("", "de:af:de:af:64:03", "192.168.100.4", &removed);
        is_str(c, "", "empty stays empty");
        is_int(removed, 0, "nothing dropped from empty");
}

static int spawn_calls;
static int count_spawn(const SpawnOpts *opts, SpawnResult *ret, void *userdata) {
        spawn_calls++;
        ret->out = xstrdup("");
        ret->err = xstrdup("");
        return 0;
}

static void test_host_files(void) {
        char tmpl[] = "/tmp/vmb-dhcp-test.XXXXXX";
        if (!mkdtemp(tmpl)) {
                ok(0, "mkdtemp");
                return;
        }
        spawn_set_hook(count_spawn, NULL);
        DhcpConfig c = base_config;
        c.state_dir = tmpl;
        DhcpBackend *b = NULL;
        Error e = {0};
        is_int(dhcp_backend_new(&c, &b, &e), 0, "dnsmasq backend");
        if (!b) {
                spawn_set_hook(NULL, NULL);
                return;
        }
        is_str(dhcp_backend_name(b), "dnsmasq", "backend name");
        is_int(dhcp_watch_fd(b), -1, "no watch fd before start");
        is_int(dhcp_pid(b), 0, "no pid before start");

        char **names = NULL;
        size_t n = 99;
        is_int(dhcp_host_list(b, &names, &n, &e), 0, "list before any host");
        is_int(n, 0, "no hosts");
        dhcp_names_free(names);

        is_int(dhcp_host_add(b, "vm1002", "de:af:de:af:64:02", "192.168.100.2", &e), 0, "add vm1002");
        _cleanup_free_ char *path = xasprintf("%s/hosts/vm1002", tmpl);
        _cleanup_free_ char *content = golden_read_file(path);
        is_str(content, "de:af:de:af:64:02,192.168.100.2,vm1002\n", "host file content");
        struct stat st;
        ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644, "host file is 0644");
        _cleanup_free_ char *tmp = xasprintf("%s/hosts/.vm1002.tmp", tmpl);
        ok(access(tmp, F_OK) < 0, "no temporary file left");
        is_int(dhcp_host_add(b, "vm1002", "de:af:de:af:64:02", "192.168.100.2", &e), 0, "add again: idempotent");
        is_int(dhcp_host_add(b, "vm1003", "de:af:de:af:64:03", "192.168.100.3", &e), 0, "add vm1003");

        /* a stale temporary file and a foreign file are not hosts */
        _cleanup_free_ char *stale = xasprintf("%s/hosts/.vm9.tmp", tmpl);
        golden_write_file(stale, "x");
        names = NULL;
        is_int(dhcp_host_list(b, &names, &n, &e), 0, "list");
        is_int(n, 2, "two hosts");
        if (n == 2) {
                is_str(names[0], "vm1002", "first host");
                is_str(names[1], "vm1003", "second host");
        }
        dhcp_names_free(names);

        /* with no dnsmasq running, a lease is dropped from the leases file */
        _cleanup_free_ char *leases = xasprintf("%s/leases", tmpl);
        golden_write_file(leases, "1767225600 de:af:de:af:64:02 192.168.100.2 vm1002 *\n"
                           "1767225601 de:af:de:af:64:03 192.168.100.3 vm1003 *\n");
        is_int(dhcp_host_add(b, "vm1002", "de:af:de:af:64:12", "192.168.100.18", &e), 0,
               "re-add vm1002 with another MAC and IP");
        _cleanup_free_ char *content2 = golden_read_file(path);
        is_str(content2, "de:af:de:af:64:12,192.168.100.18,vm1002\n", "host file replaced");
        _cleanup_free_ char *l1 = golden_read_file(leases);
        is_str(l1, "1767225601 de:af:de:af:64:03 192.168.100.3 vm1003 *\n", "the old lease of vm1002 is gone");

        is_int(dhcp_host_remove(b, "vm1003", NULL, NULL, &e), 0, "remove vm1003 (MAC and IP from its file)");
        _cleanup_free_ char *p3 = xasprintf("%s/hosts/vm1003", tmpl);
        ok(access(p3, F_OK) < 0, "vm1003's file is gone");
        _cleanup_free_ char *l2 = golden_read_file(leases);
        is_str(l2, "", "vm1003's lease is gone");
        is_int(dhcp_host_remove(b, "vm1003", "de:af:de:af:64:03", "192.168.100.3", &e), 0, "remove again: idempotent");
        is_int(dhcp_host_remove(b, "nosuch", NULL, NULL, &e), 0, "remove an unknown host");
        is_int(spawn_calls, 0, "nothing was spawned while dnsmasq is not running");

        Error be = {0};
        is_int(dhcp_host_add(b, "../x", "de:af:de:af:64:02", "192.168.100.2", &be), -EINVAL, "add refuses ../x");
        ok(strstr(be.message, "invalid DHCP host name") != NULL, "message: %s", be.message);
        Error be2 = {0};
        is_int(dhcp_host_add(b, "vm7", "de:af:de:af:64", "192.168.100.2", &be2), -EINVAL, "add refuses a bad MAC");
        Error be3 = {0};
        is_int(dhcp_host_remove(b, "vm7", NULL, "1.2.3", &be3), -EINVAL, "remove refuses a bad IP");

        is_int(dhcp_host_remove(b, "vm1002", NULL, NULL, &e), 0, "remove vm1002");
        dhcp_backend_free(b);
        spawn_set_hook(NULL, NULL);

        unlink(stale);
        unlink(leases);
        _cleanup_free_ char *hosts = xasprintf("%s/hosts", tmpl);
        ok(rmdir(hosts) == 0, "hosts dir empty at the end");
        rmdir(tmpl);
}

static void test_backends(void) {
        DhcpBackend *b = NULL;
        Error e = {0};
        DhcpConfig c = {.backend = "nfs"};
        is_int(dhcp_backend_new(&c, &b, &e), -EINVAL, "unknown backend refused");
        ok(strstr(e.message, "unknown DHCP backend 'nfs'") != NULL, "message: %s", e.message);

        c = (DhcpConfig){.backend = "omapi", .omapi_server = "dhcp.example", .omapi_key_name = "k",
                         .omapi_secret = "c2VjcmV0"};
        Error e2 = {0};
        is_int(dhcp_backend_new(&c, &b, &e2), -EINVAL, "omapi: a host name is refused (no resolution)");
        c.omapi_server = "127.0.0.1";
        c.omapi_secret = NULL;
        Error e3 = {0};
        is_int(dhcp_backend_new(&c, &b, &e3), -EINVAL, "omapi: a secret is required");
        c.omapi_secret = "c2VjcmV0";
        Error e4 = {0};
        is_int(dhcp_backend_new(&c, &b, &e4), 0, "omapi backend");
        if (b) {
                is_str(dhcp_backend_name(b), "omapi", "omapi name");
                is_int(dhcp_watch_fd(b), -1, "omapi: no watch fd");
                char **names = NULL;
                Error le = {0};
                is_int(dhcp_host_list(b, &names, NULL, &le), -ENOTSUP, "omapi: host list not supported");
                dhcp_backend_free(b);
        }
        DhcpConfig d = base_config;
        d.backend = NULL;
        b = NULL;
        Error e5 = {0};
        is_int(dhcp_backend_new(&d, &b, &e5), 0, "no backend named: dnsmasq");
        if (b)
                is_str(dhcp_backend_name(b), "dnsmasq", "default backend is dnsmasq");
        dhcp_backend_free(b);
        dhcp_backend_free(NULL);
        ok(1, "free(NULL)");
}

static void test_link_pure(void) {
        char buf[LINK_NAME_MAX + 1];
        is_int(link_tap_name(1002, buf, sizeof(buf)), 0, "tap name");
        is_str(buf, "vmb1002", "vmb1002");
        is_int(link_tap_name(999999999999ULL, buf, sizeof(buf)), 0, "largest id that fits");
        is_str(buf, "vmb999999999999", "15 characters");
        is_int(link_tap_name(1000000000000ULL, buf, sizeof(buf)), -ENAMETOOLONG, "16 characters refused");
        char small[4];
        is_int(link_tap_name(1, small, sizeof(small)), -ENOBUFS, "small buffer");

        uint64_t id = 0;
        is_int(link_tap_name_parse("vmb1002", &id), 0, "parse vmb1002");
        is_int(id, 1002, "instance 1002");
        is_int(link_tap_name_parse("vmb999999999999", &id), 0, "parse the largest");
        ok(id == 999999999999ULL, "instance 999999999999");
        static const char *not_taps[] = {"vmbbr0", "vmb", "vmb01", "vmb-1", "vmb1x", "tap1", "vmb1 ",
                                         "vmb1000000000000"};
        for (size_t i = 0; i < ELEMENTSOF(not_taps); i++)
                is_int(link_tap_name_parse(not_taps[i], &id), -EINVAL, "'%s' is not a tap name", not_taps[i]);

        ok(link_name_is_valid("vmbbr0"), "vmbbr0 valid");
        ok(link_name_is_valid("br-exam.10"), "br-exam.10 valid");
        ok(!link_name_is_valid(""), "empty invalid");
        ok(!link_name_is_valid("0123456789abcdef"), "16 chars invalid");
        ok(!link_name_is_valid("a/b"), "slash invalid");
        ok(!link_name_is_valid("a b"), "space invalid");
        ok(!link_name_is_valid("vmb%d"), "percent invalid");
        ok(!link_name_is_valid(".."), ".. invalid");
        ok(!link_name_is_valid("a:1"), "colon invalid");

        LinkAddress a;
        is_int(link_address_parse("192.168.100.1/24", &a), 0, "parse 192.168.100.1/24");
        ok(a.family == AF_INET && a.prefixlen == 24 && a.addr[0] == 192 && a.addr[3] == 1, "v4 fields");
        is_int(link_address_parse("fd00::1/64", &a), 0, "parse fd00::1/64");
        ok(a.family == AF_INET6 && a.prefixlen == 64 && a.addr[0] == 0xfd && a.addr[15] == 1, "v6 fields");
        static const char *bad[] = {"192.168.100.1", "192.168.100.1/33", "192.168.100.1/", "/24",
                                    "192.168.100.1/024", "192.168.100.1/+4", "fd00::1/129", "x/8",
                                    "192.168.100.1/24/1"};
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                is_int(link_address_parse(bad[i], &a), -EINVAL, "refused address '%s'", bad[i]);
}

int main(int argc, char **argv) {
        golden_setup(argc, argv, "tests/golden/dnsmasq");
        test_host_line();
        test_paths();
        test_argv();
        test_leases_without();
        test_host_files();
        test_backends();
        test_link_pure();
        return tap_done();
}
