/* filter_nft_rules.c - the text of the nft isolation filters: the base
 * ruleset and each VM's element changes (pure generators, golden-tested).
 * filter_nft.c applies them to one table of our own, `table bridge
 * vmbatch`, through libnftables.
 *
 * The rules never name a VM. Per-VM state lives in sets keyed by the tap:
 *   vm        map  tap : MAC . IPv4   bookkeeping: what the tap was given
 *   vm_mac    set  tap . MAC          MAC / ARP sender MAC anti-spoofing
 *   vm_ip4    set  tap . IPv4         IPv4 / ARP sender IP anti-spoofing
 *   vm_chaddr set  tap . chaddr       a DHCP client's BOOTP client MAC (the
 *                                     VM's MAC as a 48-bit raw payload)
 *   vm_ll6    set  tap . IPv6         its MAC-derived link-local address (a
 *                                     128-bit raw payload: the IPv6 source,
 *                                     the target of a neighbour message)
 *   vm_iid6   set  tap . IID          only for a VM whose group enables IPv6:
 *                                     the interface identifier of that address
 *                                     (the low 64 bits, a raw payload), which a
 *                                     global or ULA source or ND target must
 *                                     have; ip6 saddr & ::ffff:ffff:ffff:ffff
 *                                     == ::IID as one set lookup
 *   isolated  set  tap                the isolated VMs
 * so adding or removing a VM is a handful of element changes in one
 * transaction, a constant cost whatever the number of VMs, and a packet is
 * checked with a few hash lookups. Static sets hold what isolated VMs may
 * talk to (iso_mac, iso_ip4), a per-tap broadcast meter (iso_bcast), the
 * host's own addresses (host_ip4) and the host ports guests may reach
 * besides DHCP, DNS and ping (host_ports): the bridge's input hook sends
 * what a tap sends to the host itself through to_host.
 *
 * The base rules carry a fingerprint (a hash of the generated base text) in
 * the comment of the first rule: filter_sync rewrites them when the
 * fingerprint or a chain's number of rules differs, e.g. after an `nft
 * flush ruleset` or a change of the FilterNet. */
#include <stdarg.h>

#include "net/filter_nft-internal.h"
#include "net/link.h"

const char *const nft_chain_names[CH_MAX] = {
        [CH_PREROUTING] = "prerouting",   [CH_INPUT] = "input",             [CH_FORWARD] = "forward",
        [CH_OUTPUT] = "output",           [CH_FROM_ISO] = "from_iso",       [CH_FROM_VM_ARP] = "from_vm_arp",
        [CH_FROM_VM_IP4] = "from_vm_ip4", [CH_FROM_VM_IP6] = "from_vm_ip6", [CH_TO_ISO] = "to_iso",
        [CH_TO_HOST] = "to_host",
};

/* ---- generators -------------------------------------------------------- */

typedef struct Gen {
        FILE *f;
        unsigned counts[CH_MAX];
} Gen;

_printf_(3, 4) static void rule(Gen *g, int chain, const char *fmt, ...) {
        va_list ap;
        fprintf(g->f, "add rule " T " %s ", nft_chain_names[chain]);
        va_start(ap, fmt);
        vfprintf(g->f, fmt, ap);
        va_end(ap);
        fputc('\n', g->f);
        g->counts[chain]++;
}

static uint64_t fnv1a(const char *s) {
        uint64_t h = 0xcbf29ce484222325ULL;
        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 0x100000001b3ULL;
        }
        return h;
}

#define FINGERPRINT_ZERO "0000000000000000"
/* global unicast and unique local addresses (2000::/3, fc00::/7) by their
 * first byte, as an IPv6 source (@nh,64,8) and as a neighbour message's
 * target (@th,64,8). Raw payloads, not "ip6 saddr": a rule that also matches
 * ip6 saddr is listed by nft with the set lookup's @nh,64,128 shown as
 * "ip6 saddr", which no longer matches the set's raw key, so `nft list
 * table` output would not load again. */
#define ND_GLOBAL_BYTES "{ 0x20-0x3f, 0xfc-0xfd }"
#define SRC_GLOBAL "@nh,64,8 " ND_GLOBAL_BYTES
#define SRC_NOT_GLOBAL "@nh,64,8 != " ND_GLOBAL_BYTES
#define ND_TARGET_GLOBAL "@th,64,8 " ND_GLOBAL_BYTES

/* The base ruleset and how many rules each chain gets. */
int nft_ruleset_build(const FilterNet *net, char **ret, unsigned counts[CH_MAX]) {
        int r = filter_net_check(net, true, NULL);
        if (r < 0)
                return r;
        char gw_mac[18], dhcp_mac[18];
        filter_mac_normalize(net->gateway_mac, gw_mac);
        if (filter_mac_normalize(net->dhcp_mac ? net->dhcp_mac : net->gateway_mac, dhcp_mac) < 0)
                return -EINVAL;
        const char *dhcp_ip = net->dhcp_ip ? net->dhcp_ip : net->gateway_ip;
        unsigned pps = net->broadcast_pps ? net->broadcast_pps : FILTER_BROADCAST_PPS_DEFAULT;

        char *buf = NULL;
        size_t len = 0;
        Gen g = {.f = open_memstream(&buf, &len)};
        if (!g.f)
                abort();
        FILE *f = g.f;
        fprintf(f,
                "# vmbatch isolation filters (src/net/filter.h), generated; bridge %s.\n"
                "# The declarations are idempotent; the flushes drop our rules and the static\n"
                "# sets, never the VMs' elements (vm, vm_mac, vm_ip4, vm_chaddr, vm_ll6, vm_iid6,\n"
                "# isolated).\n",
                net->bridge ? net->bridge : "-");
        fprintf(f, "table " T " {\n"
                   "\tmap vm { type ifname : ether_addr . ipv4_addr; }\n"
                   "\tset vm_mac { type ifname . ether_addr; }\n"
                   "\tset vm_ip4 { type ifname . ipv4_addr; }\n"
                   "\tset vm_chaddr { typeof iifname . @th,288,48; }\n"
                   "\tset vm_ll6 { typeof iifname . @nh,64,128; }\n"
                   "\tset vm_iid6 { typeof iifname . @nh,128,64; }\n"
                   "\tset isolated { type ifname; }\n"
                   "\tset iso_mac { type ether_addr; }\n"
                   "\tset iso_ip4 { type ipv4_addr; flags interval; auto-merge; }\n"
                   "\tset iso_bcast { type ifname; size 65536; flags dynamic,timeout; timeout 1m; }\n"
                   "\tset host_ip4 { type ipv4_addr; flags interval; auto-merge; }\n"
                   "\tset host_ports { type inet_proto . inet_service; }\n");
        for (int c = 0; c < CH_MAX; c++) {
                if (c <= CH_OUTPUT) /* the base chains, on the hook of their name */
                        fprintf(f, "\tchain %s { type filter hook %s priority filter; policy accept; }\n",
                                nft_chain_names[c], nft_chain_names[c]);
                else
                        fprintf(f, "\tchain %s { }\n", nft_chain_names[c]);
        }
        fprintf(f, "}\n"
                   "flush table " T "\n"
                   "flush set " T " iso_mac\n"
                   "flush set " T " iso_ip4\n"
                   "flush set " T " host_ip4\n"
                   "flush set " T " host_ports\n");
        fprintf(f, "add element " T " iso_mac { %s, %s, ff:ff:ff:ff:ff:ff }\n", gw_mac, dhcp_mac);
        fprintf(f, "add element " T " iso_ip4 { %s, %s", net->gateway_ip, dhcp_ip);
        for (size_t i = 0; i < net->n_allow; i++)
                fprintf(f, ", %s", net->allow_ips[i]);
        fprintf(f, " }\n");
        fprintf(f, "add element " T " host_ip4 { %s, 127.0.0.0/8, 224.0.0.0/4, 255.255.255.255", net->gateway_ip);
        for (size_t i = 0; i < net->n_host_ips; i++)
                if (!streq(net->host_ips[i], net->gateway_ip))
                        fprintf(f, ", %s", net->host_ips[i]);
        fprintf(f, " }\n");
        for (size_t i = 0; i < net->n_host_ports; i++) {
                char proto[4];
                unsigned port;
                filter_host_port_parse(net->host_ports[i], proto, &port); /* checked */
                fprintf(f, "add element " T " host_ports { %s . %u }\n", proto, port);
        }

        /* frames a VM sends: every VM */
        fprintf(f, "# frames entering the bridge from a VM's tap\n");
        rule(&g, CH_PREROUTING, "iifname != \"" LINK_TAP_PREFIX "*\" accept comment \"" FINGERPRINT_TAG
                                FINGERPRINT_ZERO ": not a VM tap\"");
        rule(&g, CH_PREROUTING,
             "iifname . ether saddr != @vm_mac counter drop comment \"MAC spoofing, or a tap without rules\"");
        rule(&g, CH_PREROUTING, "iifname @isolated jump from_iso");
        rule(&g, CH_PREROUTING, "ether type arp jump from_vm_arp");
        rule(&g, CH_PREROUTING, "ether type ip jump from_vm_ip4");
        rule(&g, CH_PREROUTING, "ether type ip6 jump from_vm_ip6");
        rule(&g, CH_PREROUTING, "counter drop comment \"other ethertypes: VLAN tags, RARP, ...\"");

        rule(&g, CH_FROM_VM_ARP, "arp htype != 1 counter drop comment \"ARP not for Ethernet\"");
        rule(&g, CH_FROM_VM_ARP, "arp ptype != ip counter drop comment \"ARP not for IPv4\"");
        rule(&g, CH_FROM_VM_ARP, "arp hlen != 6 counter drop comment \"ARP malformed\"");
        rule(&g, CH_FROM_VM_ARP, "arp plen != 4 counter drop comment \"ARP malformed\"");
        rule(&g, CH_FROM_VM_ARP,
             "iifname . arp saddr ether != @vm_mac counter drop comment \"ARP spoofing: sender MAC\"");
        rule(&g, CH_FROM_VM_ARP, "arp saddr ip 0.0.0.0 accept comment \"ARP probe\"");
        rule(&g, CH_FROM_VM_ARP, "iifname . arp saddr ip != @vm_ip4 counter drop comment \"ARP spoofing: sender IP\"");
        rule(&g, CH_FROM_VM_ARP, "accept");

        /* before the accept of a client without an address: a DECLINE or
         * RELEASE naming another VM's MAC makes the DHCP server refuse or
         * forget that VM's address */
        rule(&g, CH_FROM_VM_IP4, "udp dport 67 ip frag-off & 0x2000 != 0 counter drop "
                                 "comment \"DHCP client message in fragments (its chaddr unchecked)\"");
        rule(&g, CH_FROM_VM_IP4, "udp dport 67 iifname . @th,288,48 != @vm_chaddr counter drop "
                                 "comment \"DHCP client MAC (chaddr) not the VM's\"");
        rule(&g, CH_FROM_VM_IP4, "ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept "
                                 "comment \"DHCP client without an address\"");
        rule(&g, CH_FROM_VM_IP4, "iifname . ip saddr != @vm_ip4 counter drop comment \"IP spoofing\"");
        rule(&g, CH_FROM_VM_IP4, "udp sport 67 counter drop comment \"rogue DHCP server\"");
        rule(&g, CH_FROM_VM_IP4, "udp dport 68 counter drop comment \"rogue DHCP server: to a client's port\"");
        /* the gateway and the DHCP server as the host itself, on this host or not */
        if (streq(net->gateway_ip, dhcp_ip))
                rule(&g, CH_FROM_VM_IP4, "ip daddr %s jump to_host", dhcp_ip);
        else
                rule(&g, CH_FROM_VM_IP4, "ip daddr { %s, %s } jump to_host", net->gateway_ip, dhcp_ip);
        rule(&g, CH_FROM_VM_IP4, "accept");

        rule(&g, CH_FROM_VM_IP6,
             "icmpv6 type { nd-router-advert, nd-redirect } counter drop comment \"rogue IPv6 router\"");
        rule(&g, CH_FROM_VM_IP6, "udp sport 547 counter drop comment \"rogue DHCPv6 server\"");
        rule(&g, CH_FROM_VM_IP6, "udp dport 546 counter drop comment \"rogue DHCPv6 server: to a client's port\"");
        /* its link-local address; with its VM group's IPv6 (an element in
         * vm_iid6) also global and ULA addresses with its interface
         * identifier, as source, DAD target and advertised target. The
         * first byte of an ND target (@th,64,8) 0x20-0x3f is 2000::/3,
         * 0xfc-0xfd fc00::/7. */
        rule(&g, CH_FROM_VM_IP6, "ip6 saddr :: icmpv6 type nd-neighbor-solicit iifname . @th,64,128 @vm_ll6 accept "
                                 "comment \"duplicate address detection of its link-local address\"");
        rule(&g, CH_FROM_VM_IP6, "ip6 saddr :: icmpv6 type nd-neighbor-solicit " ND_TARGET_GLOBAL
                                 " iifname . @th,128,64 @vm_iid6 accept "
                                 "comment \"duplicate address detection of its global address (VM group IPv6)\"");
        rule(&g, CH_FROM_VM_IP6, SRC_NOT_GLOBAL " iifname . @nh,64,128 != @vm_ll6 counter drop "
                                 "comment \"IPv6 source not its link-local address\"");
        rule(&g, CH_FROM_VM_IP6, SRC_GLOBAL " iifname . @nh,128,64 != @vm_iid6 counter drop "
                                 "comment \"global IPv6 source: not its interface identifier, or no IPv6 in its VM "
                                 "group\"");
        rule(&g, CH_FROM_VM_IP6, "icmpv6 type nd-neighbor-advert @th,64,8 != " ND_GLOBAL_BYTES
                                 " iifname . @th,64,128 != @vm_ll6 counter drop "
                                 "comment \"neighbour advertisement for another address\"");
        rule(&g, CH_FROM_VM_IP6, "icmpv6 type nd-neighbor-advert " ND_TARGET_GLOBAL
                                 " iifname . @th,128,64 != @vm_iid6 counter drop "
                                 "comment \"neighbour advertisement for another global address\"");
        rule(&g, CH_FROM_VM_IP6, "accept");

        /* frames an isolated VM sends */
        rule(&g, CH_FROM_ISO, "ether type != { arp, ip } counter drop comment \"isolated: ARP and IPv4 only\"");
        rule(&g, CH_FROM_ISO, "ether daddr != @iso_mac counter drop "
                              "comment \"isolated: only to the gateway, the DHCP server, broadcast\"");
        rule(&g, CH_FROM_ISO,
             "ether daddr ff:ff:ff:ff:ff:ff update @iso_bcast { iifname limit rate over %u/second burst %u packets } "
             "counter drop comment \"isolated: broadcast storm\"",
             pps, pps);
        rule(&g, CH_FROM_ISO, "ether type arp return");
        rule(&g, CH_FROM_ISO, "ip daddr 255.255.255.255 udp sport 68 udp dport 67 return");
        rule(&g, CH_FROM_ISO, "ip daddr != @iso_ip4 counter drop "
                              "comment \"isolated: IPv4 only to the gateway, the DHCP server, the allow-list\"");

        /* frames the bridge forwards or the host sends */
        fprintf(f, "# frames leaving the bridge\n");
        rule(&g, CH_FORWARD,
             "iifname @isolated oifname \"" LINK_TAP_PREFIX "*\" counter drop comment \"isolated: to another VM\"");
        rule(&g, CH_FORWARD, "oifname @isolated jump to_iso");
        rule(&g, CH_OUTPUT, "oifname @isolated jump to_iso");
        rule(&g, CH_TO_ISO, "iifname \"" LINK_TAP_PREFIX "*\" counter drop comment \"isolated: from another VM\"");
        rule(&g, CH_TO_ISO, "ether type != { arp, ip } counter drop comment \"isolated: ARP and IPv4 only\"");
        /* ARP too: a VM on another host reaches this one through the uplink,
         * not a tap, so only the sender address tells it apart */
        rule(&g, CH_TO_ISO, "arp saddr ip != @iso_ip4 counter drop "
                            "comment \"isolated: ARP only from the gateway, the DHCP server, the allow-list\"");
        rule(&g, CH_TO_ISO, "ip saddr != @iso_ip4 counter drop "
                            "comment \"isolated: IPv4 only from the gateway, the DHCP server, the allow-list\"");

        /* frames for the host itself: a VM reaches no host service but these */
        fprintf(f, "# frames for the host itself\n");
        rule(&g, CH_INPUT, "iifname != \"" LINK_TAP_PREFIX "*\" accept comment \"not a VM tap\"");
        rule(&g, CH_INPUT, "ip daddr @host_ip4 jump to_host");
        rule(&g, CH_INPUT, "ether type ip6 jump to_host comment \"IPv6: the host's own addresses are not known here\"");
        rule(&g, CH_TO_HOST, "udp dport { 53, 67 } return comment \"DNS, DHCP\"");
        rule(&g, CH_TO_HOST, "tcp dport 53 return comment \"DNS\"");
        rule(&g, CH_TO_HOST, "icmp type { echo-request, echo-reply } return comment \"ping\"");
        rule(&g, CH_TO_HOST, "icmpv6 type { echo-request, echo-reply, nd-neighbor-solicit, nd-neighbor-advert } return "
                             "comment \"ping, neighbour discovery\"");
        rule(&g, CH_TO_HOST, "meta l4proto . th dport @host_ports return comment \"host_ports_allow\"");
        rule(&g, CH_TO_HOST, "tcp flags & (syn | ack) != syn return "
                             "comment \"TCP that opens no connection: answers to the host's own connections\"");
        rule(&g, CH_TO_HOST, "counter drop comment \"a host service guests may not reach\"");
        fclose(f);

        /* the fingerprint: a hash of the text with zeros in its place */
        char *p = strstr(buf, FINGERPRINT_TAG FINGERPRINT_ZERO);
        if (!p)
                abort();
        char hex[17];
        snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)fnv1a(buf));
        memcpy(p + strlen(FINGERPRINT_TAG), hex, 16);
        if (counts)
                memcpy(counts, g.counts, sizeof(g.counts));
        *ret = buf;
        return 0;
}

int filter_nft_ruleset(const FilterNet *net, char **ret) {
        return nft_ruleset_build(net, ret, NULL);
}

/* The fingerprint in a rule comment ("vmbatch <16 hex digits>: ..."). */
bool nft_comment_fingerprint(const char *comment, char ret[17]) {
        size_t tl = strlen(FINGERPRINT_TAG);
        if (!comment || strncmp(comment, FINGERPRINT_TAG, tl) != 0 || strlen(comment) < tl + 16)
                return false;
        memcpy(ret, comment + tl, 16);
        ret[16] = 0;
        return true;
}

/* The fingerprint of a generated ruleset. */
bool nft_ruleset_fingerprint(const char *text, char ret[17]) {
        const char *p = strstr(text, "comment \"" FINGERPRINT_TAG);
        return p && nft_comment_fingerprint(p + strlen("comment \""), ret);
}

int nft_vm_norm(const FilterVm *vm, VmNorm *ret) {
        if (filter_vm_check(vm, NULL) < 0)
                return -EINVAL;
        ret->tap = vm->tap;
        filter_mac_normalize(vm->mac, ret->mac);
        snprintf(ret->ip, sizeof(ret->ip), "%s", vm->ip);
        ret->isolated = vm->isolated;
        ret->ipv6 = vm->ipv6;
        return 0;
}

void nft_vm_chaddr(const VmNorm *v, char ret[static 15]) {
        ret[0] = '0';
        ret[1] = 'x';
        for (int i = 0; i < 6; i++)
                memcpy(ret + 2 + 2 * i, v->mac + 3 * i, 2);
        ret[14] = 0;
}

void nft_vm_ll6(const VmNorm *v, char ret[static 48]) {
        memcpy(ret, "0x", 2);
        filter_mac_link_local(v->mac, false, ret + 2);
}

void nft_vm_iid6(const VmNorm *v, char ret[static 19]) {
        char hex[46];
        filter_mac_iid6(v->mac, false, hex);
        snprintf(ret, 19, "0x%.16s", hex);
}

void nft_vm_add_cmds(FILE *f, const VmNorm *v) {
        char ch[15], ll[48], iid[19];
        nft_vm_chaddr(v, ch);
        nft_vm_ll6(v, ll);
        nft_vm_iid6(v, iid);
        fprintf(f, "add element " T " vm { \"%s\" : %s . %s }\n", v->tap, v->mac, v->ip);
        fprintf(f, "add element " T " vm_mac { \"%s\" . %s }\n", v->tap, v->mac);
        fprintf(f, "add element " T " vm_ip4 { \"%s\" . %s }\n", v->tap, v->ip);
        fprintf(f, "add element " T " vm_chaddr { \"%s\" . %s }\n", v->tap, ch);
        fprintf(f, "add element " T " vm_ll6 { \"%s\" . %s }\n", v->tap, ll);
        fprintf(f, "add element " T " vm_iid6 { \"%s\" . %s }\n", v->tap, iid);
        if (!v->ipv6) /* added and deleted: absent whether or not it was there */
                fprintf(f, "delete element " T " vm_iid6 { \"%s\" . %s }\n", v->tap, iid);
        fprintf(f, "add element " T " isolated { \"%s\" }\n", v->tap);
        if (!v->isolated)
                fprintf(f, "delete element " T " isolated { \"%s\" }\n", v->tap);
}

/* Delete whatever of v's elements exist: an element is added (a no-op when
 * present) and deleted in the same transaction. */
void nft_vm_remove_cmds(FILE *f, const VmNorm *v) {
        fprintf(f, "add element " T " vm { \"%s\" : %s . %s }\n", v->tap, v->mac, v->ip);
        fprintf(f, "delete element " T " vm { \"%s\" }\n", v->tap);
        fprintf(f, "add element " T " vm_mac { \"%s\" . %s }\n", v->tap, v->mac);
        fprintf(f, "delete element " T " vm_mac { \"%s\" . %s }\n", v->tap, v->mac);
        fprintf(f, "add element " T " vm_ip4 { \"%s\" . %s }\n", v->tap, v->ip);
        fprintf(f, "delete element " T " vm_ip4 { \"%s\" . %s }\n", v->tap, v->ip);
        char ch[15], ll[48];
        nft_vm_chaddr(v, ch);
        nft_vm_ll6(v, ll);
        fprintf(f, "add element " T " vm_chaddr { \"%s\" . %s }\n", v->tap, ch);
        fprintf(f, "delete element " T " vm_chaddr { \"%s\" . %s }\n", v->tap, ch);
        fprintf(f, "add element " T " vm_ll6 { \"%s\" . %s }\n", v->tap, ll);
        fprintf(f, "delete element " T " vm_ll6 { \"%s\" . %s }\n", v->tap, ll);
        char iid[19];
        nft_vm_iid6(v, iid);
        fprintf(f, "add element " T " vm_iid6 { \"%s\" . %s }\n", v->tap, iid);
        fprintf(f, "delete element " T " vm_iid6 { \"%s\" . %s }\n", v->tap, iid);
        fprintf(f, "add element " T " isolated { \"%s\" }\n", v->tap);
        fprintf(f, "delete element " T " isolated { \"%s\" }\n", v->tap);
}

char *nft_with_memstream(void (*fn)(FILE *, const VmNorm *), const VmNorm *v) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                abort();
        fn(f, v);
        fclose(f);
        return buf;
}

int filter_nft_vm_add(const FilterVm *vm, char **ret) {
        VmNorm v;
        if (nft_vm_norm(vm, &v) < 0)
                return -EINVAL;
        *ret = nft_with_memstream(nft_vm_add_cmds, &v);
        return 0;
}

int filter_nft_vm_remove(const FilterVm *vm, char **ret) {
        VmNorm v;
        if (nft_vm_norm(vm, &v) < 0)
                return -EINVAL;
        *ret = nft_with_memstream(nft_vm_remove_cmds, &v);
        return 0;
}
