/* test-ipam.c - addresses of VM groups: parsing, the paper's MAC plan,
 * next-free allocation, and allocation/release through the controller. */
#include <stdio.h>

#include "core/ipam.h"
#include "tap.h"
#include "unit/helpers.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

static void test_ipv4_parse(void) {
        static const struct {
                const char *s;
                uint32_t want;
        } good[] = {
                {"192.168.100.2", IP(192, 168, 100, 2)},
                {"0.0.0.0", 0},
                {"255.255.255.255", 0xffffffffu},
                {"10.0.0.1", IP(10, 0, 0, 1)},
                {"1.2.3.4", IP(1, 2, 3, 4)},
                {"100.200.0.99", IP(100, 200, 0, 99)},
        };
        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                uint32_t ip = 0xdeadbeef;
                int r = ipv4_parse(good[i].s, &ip);
                ok(r == 0 && ip == good[i].want, "ipv4_parse accepts %s", good[i].s);
                if (r != 0 || ip != good[i].want)
                        printf("#   r=%d ip=%08x want %08x\n", r, ip, good[i].want);
        }
        static const char *const bad[] = {
                "",           "010.0.0.1",   "1.2.3.04",  "1.2.3.00",  "00.1.2.3",   "256.1.1.1",  "1.2.3.256",
                "1.2.3.999",  "1.2.3",       "1.2.3.",    ".1.2.3",    "1..2.3",     "1.2.3.4.5",  "1.2.3.4.",
                "1.2.3.4 ",   " 1.2.3.4",    "+1.2.3.4",  "-1.2.3.4",  "1.2.3.4a",   "a.b.c.d",    "1234.1.1.1",
                "1,2,3,4",    "0x1.2.3.4",   "1.2.3.4/24", "1.2.3.4-1.2.3.5", "4294967295", "::1",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                uint32_t ip = 0x12345678;
                int r = ipv4_parse(bad[i], &ip);
                ok(r == -EINVAL && ip == 0x12345678, "ipv4_parse rejects '%s' (and leaves the output alone)", bad[i]);
                if (r != -EINVAL)
                        printf("#   got r=%d ip=%08x\n", r, ip);
        }
        char buf[16];
        ipv4_format(IP(192, 168, 100, 254), buf);
        is_str(buf, "192.168.100.254", "ipv4_format");
        ipv4_format(0, buf);
        is_str(buf, "0.0.0.0", "ipv4_format 0");
}

static void test_iprange_parse(void) {
        uint32_t a = 0, b = 0;
        int r = iprange_parse("192.168.100.2-192.168.100.254", &a, &b);
        ok(r == 0 && a == IP(192, 168, 100, 2) && b == IP(192, 168, 100, 254), "iprange_parse: the paper's lab1 range");
        r = iprange_parse("10.0.0.7-10.0.0.7", &a, &b);
        ok(r == 0 && a == IP(10, 0, 0, 7) && b == a, "iprange_parse: a one-address range");
        r = iprange_parse("0.0.0.0-255.255.255.255", &a, &b);
        ok(r == 0 && a == 0 && b == 0xffffffffu, "iprange_parse: everything");
        r = iprange_parse("10.0.0.9-10.0.0.1", &a, &b);
        is_int(r, -ERANGE, "iprange_parse: reversed range is -ERANGE");
        r = iprange_parse("10.0.1.0-10.0.0.255", &a, &b);
        is_int(r, -ERANGE, "iprange_parse: reversed across an octet is -ERANGE");

        static const char *const bad[] = {
                "",
                "-",
                "10.0.0.1",
                "10.0.0.1-",
                "-10.0.0.1",
                "10.0.0.1 - 10.0.0.2",
                "10.0.0.1-10.0.0.2-10.0.0.3",
                "10.0.0.01-10.0.0.2",
                "10.0.0.1-10.0.0.256",
                "10.0.0-10.0.0.2",
                "10.0.0.1--10.0.0.2",
                "10.0.0.1_10.0.0.2",
                "1000.0.0.1-10.0.0.2",
                "10.0.0.1-10.0.0.2x",
                "x10.0.0.1-10.0.0.2",
                "192.168.100.100.1-10.0.0.2",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                a = b = 42;
                r = iprange_parse(bad[i], &a, &b);
                ok(r == -EINVAL && a == 42 && b == 42, "iprange_parse rejects '%s' with -EINVAL", bad[i]);
                if (r != -EINVAL)
                        printf("#   got %d\n", r);
        }
}

static void test_mac(void) {
        static const struct {
                uint32_t ip;
                const char *mac;
        } cases[] = {
                {IP(192, 168, 100, 2), "de:af:de:af:64:02"},
                {IP(192, 168, 0, 1), "de:af:de:af:00:01"},
                {IP(10, 1, 255, 254), "de:af:de:af:ff:fe"},
                {IP(172, 16, 10, 171), "de:af:de:af:0a:ab"},
                {0, "de:af:de:af:00:00"},
                {0xffffffffu, "de:af:de:af:ff:ff"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char buf[18], ip[16];
                mac_from_ip(cases[i].ip, buf);
                ipv4_format(cases[i].ip, ip);
                is_str(buf, cases[i].mac, "mac_from_ip(%s)", ip);
        }
        char a[18], b[18];
        mac_from_ip(IP(192, 168, 100, 2), a);
        mac_from_ip(IP(10, 0, 100, 2), b);
        is_str(a, b, "only the last 16 bits count: 192.168.100.2 and 10.0.100.2 share a MAC");
}

/* mac_taken callback: a list of taken MACs */
typedef struct Taken {
        const char *const *macs;
        size_t n;
        unsigned calls;
} Taken;

static bool taken_fn(const char *mac, void *userdata) {
        Taken *t = userdata;
        t->calls++;
        for (size_t i = 0; i < t->n; i++)
                if (streq(t->macs[i], mac))
                        return true;
        return false;
}

static void test_next_free(void) {
        uint32_t ip = 0, f = IP(10, 0, 0, 2), l = IP(10, 0, 0, 6);
        int r = ipam_next_free(f, l, NULL, 0, NULL, NULL, &ip);
        ok(r == 0 && ip == f, "empty range: the first address");

        uint32_t used1[] = {IP(10, 0, 0, 2), IP(10, 0, 0, 3)};
        r = ipam_next_free(f, l, used1, 2, NULL, NULL, &ip);
        ok(r == 0 && ip == IP(10, 0, 0, 4), "first two used: .4");

        uint32_t gap[] = {IP(10, 0, 0, 2), IP(10, 0, 0, 4), IP(10, 0, 0, 5)};
        r = ipam_next_free(f, l, gap, 3, NULL, NULL, &ip);
        ok(r == 0 && ip == IP(10, 0, 0, 3), "a gap is filled first: .3");

        uint32_t tail[] = {IP(10, 0, 0, 2), IP(10, 0, 0, 3), IP(10, 0, 0, 4), IP(10, 0, 0, 5)};
        r = ipam_next_free(f, l, tail, 4, NULL, NULL, &ip);
        ok(r == 0 && ip == l, "only the last is free: .6");

        uint32_t full[] = {IP(10, 0, 0, 2), IP(10, 0, 0, 3), IP(10, 0, 0, 4), IP(10, 0, 0, 5), IP(10, 0, 0, 6)};
        ip = 77;
        r = ipam_next_free(f, l, full, 5, NULL, NULL, &ip);
        ok(r == -ENOSPC && ip == 77, "full range: -ENOSPC, output untouched");

        /* used addresses outside the range do not matter */
        uint32_t outside[] = {IP(10, 0, 0, 1), IP(10, 0, 0, 7), IP(10, 0, 0, 200)};
        r = ipam_next_free(f, l, outside, 3, NULL, NULL, &ip);
        ok(r == 0 && ip == f, "used addresses below and above the range are ignored");
        uint32_t below_and_in[] = {IP(9, 0, 0, 1), IP(10, 0, 0, 1), IP(10, 0, 0, 2), IP(10, 0, 0, 3)};
        r = ipam_next_free(f, l, below_and_in, 4, NULL, NULL, &ip);
        ok(r == 0 && ip == IP(10, 0, 0, 4), "used list starting below the range");

        /* a /32 range */
        uint32_t one = IP(192, 168, 1, 1);
        r = ipam_next_free(one, one, NULL, 0, NULL, NULL, &ip);
        ok(r == 0 && ip == one, "a one-address range: that address");
        r = ipam_next_free(one, one, &one, 1, NULL, NULL, &ip);
        is_int(r, -ENOSPC, "a one-address range, used: -ENOSPC");

        /* the end of the address space does not wrap around */
        uint32_t top = 0xffffffffu, top2[] = {0xfffffffeu, 0xffffffffu};
        r = ipam_next_free(top, top, NULL, 0, NULL, NULL, &ip);
        ok(r == 0 && ip == top, "255.255.255.255 alone");
        r = ipam_next_free(0xfffffffeu, top, top2, 2, NULL, NULL, &ip);
        is_int(r, -ENOSPC, "full range at the top of the address space: -ENOSPC (no wrap-around)");

        /* ordering: many gaps, repeated allocation yields ascending addresses */
        uint32_t held[16];
        size_t n = 0;
        bool ascending = true;
        uint32_t prev = 0;
        for (int i = 0; i < 5; i++) {
                r = ipam_next_free(f, l, held, n, NULL, NULL, &ip);
                if (r < 0 || (i > 0 && ip <= prev))
                        ascending = false;
                prev = ip;
                held[n++] = ip; /* stays sorted: each is the lowest free */
        }
        ok(ascending && n == 5 && held[4] == l, "five allocations fill .2-.6 in order");
        r = ipam_next_free(f, l, held, n, NULL, NULL, &ip);
        is_int(r, -ENOSPC, "... and the sixth is -ENOSPC");

        /* MAC collisions skip addresses */
        static const char *const macs[] = {"de:af:de:af:00:02", "de:af:de:af:00:03"};
        Taken t = {macs, 2, 0};
        r = ipam_next_free(f, l, NULL, 0, taken_fn, &t, &ip);
        ok(r == 0 && ip == IP(10, 0, 0, 4), "MACs of .2 and .3 taken (by another group): .4");
        ok(t.calls == 3, "the callback is asked once per candidate (%u calls)", t.calls);
        uint32_t used4[] = {IP(10, 0, 0, 4)};
        r = ipam_next_free(f, l, used4, 1, taken_fn, &t, &ip);
        ok(r == 0 && ip == IP(10, 0, 0, 5), "MACs .2 .3 taken and .4 used: .5");
        static const char *const all_macs[] = {"de:af:de:af:00:02", "de:af:de:af:00:03", "de:af:de:af:00:04",
                                               "de:af:de:af:00:05", "de:af:de:af:00:06"};
        Taken t2 = {all_macs, 5, 0};
        r = ipam_next_free(f, l, NULL, 0, taken_fn, &t2, &ip);
        is_int(r, -ENOSPC, "every MAC taken: -ENOSPC");
        Taken t3 = {all_macs, 5, 0};
        r = ipam_next_free(f, l, full, 5, taken_fn, &t3, &ip);
        ok(r == -ENOSPC && t3.calls == 0, "used addresses are skipped without asking the callback");
}

/* ---- through the controller ---- */

static json_int_t run_one(TEnv *e, uint32_t uid, json_t **data, Error *err) {
        *data = NULL;
        int r = call(e, uid, "vm.run", data, err, "{'vm': 'shared', 'no_start': true}");
        return r;
}

static const char *jstr(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void test_controller(void) {
        TEnv e;
        tenv_open(&e);
        uint32_t a = sys_uid("lp"), b = sys_uid("mail");
        Error err;
        json_t *d = NULL;
        if (call(&e, 0, "user.add", NULL, &err, "{'name': 'lp', 'max_running': 5, 'stordir': '%s'}",
                 tenv_mkdir(&e, a, false)) < 0 ||
            call(&e, 0, "user.add", NULL, &err, "{'name': 'mail', 'max_running': 5, 'stordir': '%s'}",
                 tenv_mkdir(&e, b, false)) < 0 ||
            call(&e, 0, "vmgroup.add", NULL, &err, "{'name': 'tiny', 'iprange': '192.168.200.2-192.168.200.4'}") < 0 ||
            call(&e, e.admin, "vm.add", NULL, &err, "{'name': 'shared', 'disc_sizes': [1048576], 'vmgroup': 'tiny'}") < 0 ||
            call(&e, 0, "perm.set", NULL, &err, "{'group': 'all_users', 'vmgroup': 'tiny', 'run': true}") < 0)
                bail("setup: %s", err.message);

        static const char *const want_ip[] = {"192.168.200.2", "192.168.200.3", "192.168.200.4"};
        static const char *const want_mac[] = {"de:af:de:af:c8:02", "de:af:de:af:c8:03", "de:af:de:af:c8:04"};
        const uint32_t who[] = {a, b, a};
        json_int_t ids[3] = {0};
        for (int i = 0; i < 3; i++) {
                int r = run_one(&e, who[i], &d, &err);
                ok(r == 0 && streq(jstr(d, "ip"), want_ip[i]) && streq(jstr(d, "mac"), want_mac[i]),
                   "run %d gets %s %s", i + 1, want_ip[i], want_mac[i]);
                if (r != 0 || !streq(jstr(d, "ip"), want_ip[i]))
                        printf("#   r=%d '%s' ip=%s mac=%s\n", r, err.message, jstr(d, "ip"), jstr(d, "mac"));
                ids[i] = json_integer_value(json_object_get(d, "id"));
                json_decref(d);
        }
        json_t *before = snapshot(&e);
        int r = run_one(&e, a, &d, &err);
        ok(r == -ENOSPC, "the fourth run fails with ENOSPC");
        ok(r < 0 && strstr(err.message, "'tiny'") && strstr(err.message, "192.168.200.2-192.168.200.4") &&
                   !strchr(err.message, '\n'),
           "... with a one-line message naming the group and its range");
        printf("#   %s\n", err.message);
        json_t *after = snapshot(&e);
        ok(json_equal(before, after), "... and changes nothing (no instance, no audit entry)");
        json_decref(before);
        json_decref(after);
        json_decref(d);

        /* release the middle one (b's) */
        r = call(&e, a, "instance.release", NULL, &err, "{'instance': %lld}", (long long)ids[1]);
        ok(r == -ENOENT, "another user cannot release b's instance (%s)", err.message);
        r = call(&e, b, "instance.release", NULL, &err, "{'instance': %lld}", (long long)ids[1]);
        ok(r == 0, "b releases the middle reservation");
        json_t *maps = NULL;
        call(&e, 0, "map.list", &maps, &err, "{}");
        bool two_left = json_array_size(maps) == 2 && streq(jstr(json_array_get(maps, 0), "ip"), want_ip[0]) &&
                        streq(jstr(json_array_get(maps, 1), "ip"), want_ip[2]);
        ok(two_left, "exactly .3 was freed: .2 and .4 are still held");
        json_decref(maps);
        r = call(&e, b, "instance.release", NULL, &err, "{'instance': %lld}", (long long)ids[1]);
        ok(r == -ENOENT, "releasing it again fails (released exactly once): %s", err.message);
        r = call(&e, 0, "instance.release", NULL, &err, "{'instance': %lld}", (long long)ids[1]);
        ok(r == -ENOENT, "... also for an admin");

        r = run_one(&e, b, &d, &err);
        ok(r == 0 && streq(jstr(d, "ip"), want_ip[1]) && streq(jstr(d, "mac"), want_mac[1]),
           "the next run gets .3 back with its MAC");
        ok(r == 0 && json_integer_value(json_object_get(d, "id")) != ids[1], "... as a new instance id");
        json_decref(d);
        r = run_one(&e, b, &d, &err);
        ok(r == -ENOSPC, "and the range is full again");
        json_decref(d);

        /* a group's range cannot drop an address a reservation holds */
        json_t *before2 = snapshot(&e);
        r = call(&e, 0, "vmgroup.mod", NULL, &err, "{'vmgroup': 'tiny', 'iprange': '192.168.200.2-192.168.200.3'}");
        json_t *after2 = snapshot(&e);
        ok(r == -EBUSY && strstr(err.message, "192.168.200.4") && json_equal(before2, after2),
           "vmgroup.mod cannot shrink tiny past the held 192.168.200.4: %s", err.message);
        json_decref(before2);
        json_decref(after2);
        r = call(&e, 0, "vmgroup.mod", NULL, &err, "{'vmgroup': 'tiny', 'iprange': '192.168.200.2-192.168.200.5'}");
        ok(r == 0, "growing it to .5 is fine");
        r = run_one(&e, b, &d, &err);
        ok(r == 0 && streq(jstr(d, "ip"), "192.168.200.5"), "... and the next run gets .5");
        json_int_t five = json_integer_value(json_object_get(d, "id"));
        json_decref(d);
        r = call(&e, b, "instance.release", NULL, &err, "{'instance': %lld}", (long long)five);
        r = call(&e, 0, "vmgroup.mod", NULL, &err, "{'vmgroup': 'tiny', 'iprange': '192.168.200.2-192.168.200.4'}");
        ok(r == 0, "once released, it can shrink back");

        /* a MAC collision across groups: 10.9.200.x has the MACs of 192.168.200.x */
        if (call(&e, 0, "vmgroup.add", NULL, &err, "{'name': 'twin', 'iprange': '10.9.200.2-10.9.200.5'}") < 0 ||
            call(&e, e.admin, "vm.add", NULL, &err, "{'name': 'twinvm', 'disc_sizes': [1048576], 'vmgroup': 'twin'}") < 0)
                bail("twin: %s", err.message);
        r = call(&e, e.admin, "vm.run", &d, &err, "{'vm': 'twinvm', 'no_start': true}");
        ok(r == 0 && streq(jstr(d, "ip"), "10.9.200.5") && streq(jstr(d, "mac"), "de:af:de:af:c8:05"),
           "addresses whose MAC another group holds are skipped: 10.9.200.5");
        if (r != 0 || !streq(jstr(d, "ip"), "10.9.200.5"))
                printf("#   r=%d '%s' ip=%s\n", r, err.message, jstr(d, "ip"));
        json_decref(d);
        r = call(&e, e.admin, "vm.run", &d, &err, "{'vm': 'twinvm', 'no_start': true}");
        ok(r == -ENOSPC, "... and then twin is full, although its four addresses are not all in use");
        json_decref(d);

        /* a /32 group */
        if (call(&e, 0, "vmgroup.add", NULL, &err, "{'name': 'single', 'iprange': '172.20.0.9-172.20.0.9'}") < 0 ||
            call(&e, e.admin, "vm.add", NULL, &err, "{'name': 'solo', 'disc_sizes': [1048576], 'vmgroup': 'single'}") < 0)
                bail("single: %s", err.message);
        r = call(&e, e.admin, "vm.run", &d, &err, "{'vm': 'solo', 'no_start': true}");
        ok(r == 0 && streq(jstr(d, "ip"), "172.20.0.9") && streq(jstr(d, "mac"), "de:af:de:af:00:09"),
           "a one-address group gives its address");
        json_int_t solo = json_integer_value(json_object_get(d, "id"));
        json_decref(d);
        r = call(&e, e.admin, "vm.run", &d, &err, "{'vm': 'solo', 'no_start': true}");
        ok(r == -ENOSPC && strstr(err.message, "'single'"), "... once: %s", err.message);
        json_decref(d);
        r = call(&e, 0, "instance.release", NULL, &err, "{'vm': 'solo'}");
        ok(r == 0, "release by vm name");
        r = call(&e, 0, "instance.release", NULL, &err, "{'instance': %lld}", (long long)solo);
        ok(r == -ENOENT, "... then by id: already gone");
        tenv_close(&e);
}

int main(void) {
        test_ipv4_parse();
        test_iprange_parse();
        test_mac();
        test_next_free();
        test_controller();
        return tap_done();
}
