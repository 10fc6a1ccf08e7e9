/* test-selftest-verdict.c - core/selftest_verdict.h: the isolation
 * self-test's verdict from the probes' serial text (as the test guest
 * prints it, and as a hostile one might). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/selftest_verdict.h"
#include "tap.h"

/* The attacker of a filtered run: every probe sent, the gateway answers,
 * the peer does not, no offer. */
static const char ATTACKER_FILTERED[] =
        "VMB-INIT uptime=1.0\r\n"
        "VMB-LEASE ip=192.168.100.3 mac=52:54:00:00:00:03 server=192.168.100.1\r\n"
        "VMB-ATTACK-START iface=eth0 mac=52:54:00:00:00:03 ip=192.168.100.3 gw=192.168.100.1\r\n"
        "VMB-PROBE arp-gw sent n=1 reply=yes mac=aa:bb:cc:dd:ee:ff\r\n"
        "VMB-PROBE ping-gw sent n=1 reply=yes\r\n"
        "VMB-PROBE dns-gw sent n=1 reply=yes\r\n"
        "VMB-PROBE gw-tcp sent n=1 reply=no port=2222\r\n"
        "VMB-PROBE arp-peer sent n=3 reply=no mac=-\r\n"
        "VMB-PROBE ping-peer sent n=3 reply=no\r\n"
        "VMB-PROBE udp-peer sent n=3\r\n"
        "VMB-PROBE unicast-foreign sent n=3 dst=02:00:00:00:00:99\r\n"
        "VMB-PROBE mac-spoof sent n=3 src=02:00:de:ad:be:ef/192.168.100.3\r\n"
        "VMB-PROBE ip-spoof sent n=3 src=x/192.168.100.249\r\n"
        "VMB-PROBE arp-gw-claim sent n=3 claim=x\r\n"
        "VMB-PROBE arp-foreign-ip sent n=3 sender=x\r\n"
        "VMB-PROBE dhcp-offer sent n=3 server=x:67 yiaddr=192.168.100.248\r\n"
        "VMB-PROBE dhcp-offer-6767 sent n=3 server=x:6767 yiaddr=192.168.100.248\r\n"
        "VMB-PROBE dhcp-starve sent n=8 offer=no\r\n"
        "VMB-PROBE ipv6-ra sent n=3 prefix=2001:db8:66::/64 router=self\r\n"
        "VMB-PROBE dhcpv6-adv sent n=3\r\n"
        "VMB-PROBE vlan sent n=3 vid=66\r\n"
        "VMB-PROBE rarp sent n=3\r\n"
        "VMB-PROBE ethertype-88b5 sent n=3\r\n"
        "VMB-PROBE ipv6-spoof sent n=3 src=fe80::dead:beef,peer-link-local\r\n"
        "VMB-PROBE ipv6-na sent n=3 target=peer-link-local tlla=x\r\n"
        "VMB-PROBE dhcp-decline sent n=1 chaddr=x address=192.168.100.2\r\n"
        "VMB-PROBE arp-foreign-mac sent n=3 sender=x\r\n"
        "VMB-PROBE flood sent n=1000 ms=120 what=arp-probe-for-x\r\n"
        "VMB-ATTACK-END\r\n"
        "VMB-DONE\r\n";

static const char LISTENER_FILTERED[] =
        "VMB-LEASE ip=192.168.100.2 mac=52:54:00:00:00:02 server=192.168.100.1\r\n"
        "VMB-LISTENING iface=eth0 mac=52:54:00:00:00:02 ip=192.168.100.2 gw=192.168.100.1 secs=600\r\n"
        "VMB-SEEN gw-to-peer src=aa:bb:cc:dd:ee:ff dst=52:54:00:00:00:02 type=0x0800 len=60\r\n"
        "VMB-SEEN-COUNT gw-to-peer 3\r\n"
        "VMB-LISTEN-END reason=stop tags=3\r\n";

static SelftestVerdict run(const char *a, const char *l, unsigned accepts, bool timed_out) {
        SelftestFacts f = {.attacker = a, .attacker_len = a ? strlen(a) : 0, .listener = l,
                           .listener_len = l ? strlen(l) : 0, .host_tcp_accepts = accepts, .timed_out = timed_out};
        SelftestVerdict v;
        selftest_verdict(&f, &v);
        return v;
}

static int idx(const char *name) {
        for (size_t i = 0; i < SELFTEST_ATTACKS; i++)
                if (!strcmp(selftest_attack_name(i), name))
                        return (int)i;
        return -1;
}

static char *cat(const char *a, const char *b) {
        char *s = malloc(strlen(a) + strlen(b) + 1);
        strcpy(s, a);
        strcat(s, b);
        return s;
}

/* text with the first from replaced by to (malloc'd) */
static char *replace(const char *text, const char *from, const char *to) {
        const char *p = strstr(text, from);
        char *s = malloc(strlen(text) + strlen(to) + 1);
        if (!p)
                abort();
        sprintf(s, "%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
        return s;
}

static void test_filtered(void) {
        SelftestVerdict v = run(ATTACKER_FILTERED, LISTENER_FILTERED, 0, false);
        ok(v.ready, "a filtered run: ready");
        is_int(v.n_blocked, SELFTEST_ATTACKS, "every attack blocked");
        is_int(v.n_controls_ok, SELFTEST_CONTROLS, "every control ok");
        is_str(v.reason, "ready: 22 attacks blocked, 8 controls ok", "the reason says so");
        v = run(ATTACKER_FILTERED, LISTENER_FILTERED, 0, true);
        ok(!v.ready && strstr(v.reason, "no answer from the probes in time"), "the same after the timeout: not ready");
}

static void test_through(void) {
        /* an unfiltered run: the listener saw frames, the peer answered, the host accepted */
        char *l = cat(LISTENER_FILTERED, "VMB-SEEN ping-peer src=x dst=y type=0x0800 len=98\n"
                                         "VMB-SEEN mac-spoof src=02:00:de:ad:be:ef dst=y type=0x0800 len=60\n"
                                         "VMB-SEEN-COUNT flood 997\n");
        SelftestVerdict v = run(ATTACKER_FILTERED, l, 1, false);
        ok(!v.ready, "attacks seen by the listener: not ready");
        is_int(v.n_through, 4, "ping-peer, mac-spoof, flood, gw-tcp got through");
        ok(v.attack[idx("gw-tcp")] == SELFTEST_THROUGH, "the host's accept alone makes gw-tcp through");
        is_str(v.reason, "not ready: got through: ping-peer, mac-spoof, flood, gw-tcp", "the reason names them");
        free(l);

        char *a = replace(ATTACKER_FILTERED, "gw-tcp sent n=1 reply=no", "gw-tcp sent n=1 reply=yes");
        v = run(a, LISTENER_FILTERED, 0, false);
        ok(v.attack[idx("gw-tcp")] == SELFTEST_THROUGH, "the attacker's connect (reply=yes) makes gw-tcp through");
        free(a);

        l = cat(LISTENER_FILTERED, "VMB-SEEN-COUNT arp-peer 0\nXVMB-SEEN udp-peer\n VMB-SEEN vlan\n"
                                   "VMB-SEEN mac-spoofX\nVMB-SEEN-COUNT rarp 00\n");
        v = run(ATTACKER_FILTERED, l, 0, false);
        ok(v.ready, "a count of 0, a line not at the start, an unknown name: nothing got through");
        free(l);

        a = cat("VMB-PROBE dhcp-starve sent n=8 offer=yes\n", ATTACKER_FILTERED);
        v = run(a, LISTENER_FILTERED, 0, false);
        ok(v.attack[idx("dhcp-starve")] == SELFTEST_THROUGH, "an offer to a made-up client: dhcp-starve through");
        free(a);
}

static void test_controls(void) {
        SelftestVerdict v = run(NULL, NULL, 0, false);
        is_str(v.reason, "no answer from the probes: not tried: every attack; controls failed: lease-attacker, "
                         "lease-listener, listening, attack-end, arp-gw, ping-gw, dns-gw, gw-to-peer",
               "nothing at all: no answer from the probes");
        is_int(v.n_untried, SELFTEST_ATTACKS, "every attack untried");
        v = run(NULL, NULL, 0, true);
        ok(strncmp(v.reason, "no answer from the probes in time: ", 35) == 0, "timed out: no answer in time");

        char *a = replace(ATTACKER_FILTERED, "dns-gw sent n=1 reply=yes", "dns-gw sent n=1 reply=no");
        v = run(a, LISTENER_FILTERED, 0, false);
        ok(!v.ready && !v.control_ok[6], "DNS to the gateway unanswered: a failed control");
        is_str(v.reason, "not ready: controls failed: dns-gw", "the reason names it");
        free(a);

        /* the listener never heard the gateway: its silence proves nothing */
        v = run(ATTACKER_FILTERED, "VMB-LEASE ip=x\nVMB-LISTENING x\n", 0, false);
        ok(!v.ready && strstr(v.reason, "gw-to-peer"), "the listener deaf to the gateway: not ready");

        a = replace(ATTACKER_FILTERED, "vlan sent n=3", "vlan sent n=0");
        v = run(a, LISTENER_FILTERED, 0, false);
        ok(!v.ready && v.attack[idx("vlan")] == SELFTEST_UNTRIED, "n=0: untried");
        ok(strstr(v.reason, "not tried: vlan") != NULL, "the reason says not tried: %s", v.reason);
        free(a);
}

static void test_hostile(void) {
        /* a NUL ends the text; overlong lines and words match nothing */
        char buf[sizeof(ATTACKER_FILTERED) + 64];
        memcpy(buf, ATTACKER_FILTERED, sizeof(ATTACKER_FILTERED));
        char *end = strstr(buf, "VMB-ATTACK-END");
        end[-1] = 0;
        SelftestFacts f = {.attacker = buf, .attacker_len = sizeof(ATTACKER_FILTERED), .listener = LISTENER_FILTERED,
                           .listener_len = strlen(LISTENER_FILTERED)};
        SelftestVerdict v;
        selftest_verdict(&f, &v);
        ok(!v.ready && !v.control_ok[3], "a NUL before VMB-ATTACK-END: the attacker did not finish");

        size_t n = 100000;
        char *big = malloc(n + 1);
        memset(big, 'A', n);
        memcpy(big, "VMB-SEEN ", 9);
        memcpy(big + 9, "mac-spoof", 9); /* "mac-spoofAAAA...": not a name */
        big[n] = 0;
        char *l = cat(LISTENER_FILTERED, big);
        v = run(ATTACKER_FILTERED, l, 0, false);
        ok(v.ready, "an endless word that starts with a probe's name is no sighting");
        free(l);
        free(big);

        v = run("VMB-PROBE\nVMB-PROBE x\nVMB-PROBE arp-gw sent\nVMB-PROBE arp-gw sent n=\nVMB-\n\n\r\n", "VMB-SEEN\n", 0,
                false);
        ok(!v.ready, "truncated lines are no crash and no pass");
}

int main(void) {
        test_filtered();
        test_through();
        test_controls();
        test_hostile();
        return tap_done();
}
