/* filter.h - the isolation filters of the VMs on this node's bridge.
 *
 * Every VM's tap gets rules built ONLY from the controller's allocation (its
 * fixed MAC and IPv4 address), never learned from traffic. For every VM:
 *   - frames with another source MAC are dropped (MAC spoofing);
 *   - IPv4 with another source address is dropped, except the DHCP client's
 *     0.0.0.0:68 -> 255.255.255.255:67 (IP spoofing);
 *   - ARP whose sender MAC is not its MAC or whose sender IP is not in
 *     {its IP, 0.0.0.0} is dropped, as is ARP that is not Ethernet/IPv4;
 *   - DHCP server messages (udp sport 67, and udp dport 68 whatever the
 *     source port), IPv6 router advertisements and redirects (icmpv6 134,
 *     137) and DHCPv6 server messages (udp sport 547, udp dport 546) are
 *     dropped;
 *   - DHCP client messages (udp dport 67) whose BOOTP client MAC (chaddr)
 *     is not its MAC are dropped (a DECLINE or RELEASE for another VM's
 *     address), and so are fragmented ones (the chaddr could be in a later
 *     fragment). nft only: ebtables cannot look into the UDP payload;
 *   - IPv6 only from its MAC-derived link-local address (fe80::/64 with the
 *     modified EUI-64 of its MAC), or a neighbour solicitation from :: for
 *     that address (duplicate address detection); a neighbour advertisement
 *     only for that address (nft; ebtables cannot read the ND target and
 *     drops every neighbour advertisement, and drops DAD from :: too). No
 *     other IPv6, unless its VM group enables IPv6 (FilterVm.ipv6): then
 *     also from a global (2000::/3) or ULA (fc00::/7) address whose
 *     interface identifier (the low 64 bits) is that same EUI-64, whatever
 *     the prefix the network's router announces, with DAD and neighbour
 *     advertisements for such an address (nft). An address with another
 *     interface identifier (another VM's, a router's, a privacy or a made-up
 *     one) stays refused: the anti-spoofing holds with any prefix. Router
 *     advertisements and DHCPv6 server messages stay dropped;
 *   - every ethertype but IPv4, ARP and IPv6 is dropped (VLAN tags, RARP...);
 *   - what it sends to the host itself (IPv4 to one of host_ips, the
 *     gateway, loopback, broadcast or multicast; any IPv6, since the host's
 *     own IPv6 addresses are not known here) reaches only DHCP (udp 67), DNS (udp and
 *     tcp 53), ICMP echo (and, IPv6, neighbour discovery) and host_ports;
 *     nft lets through TCP segments that open no connection (no SYN without
 *     ACK: the answers to the host's own connections), ebtables has no TCP
 *     flags and drops them too. Nothing else reaches a host service. The
 *     same holds for what it sends to the gateway and the DHCP server when
 *     they are elsewhere (the controller of a cluster).
 * For an ISOLATED VM in addition:
 *   - no frame goes from its tap to any other tap, nor from any tap to it
 *     (a non-isolated VM cannot reach it either);
 *   - it may send only to the gateway's MAC, the DHCP server's MAC or the
 *     broadcast address, IPv4 only to the gateway, the DHCP server and the
 *     allow-list (plus the DHCP broadcast), and no IPv6 at all (whatever
 *     its VM group says);
 *   - what reaches it must be ARP or IPv4 from one of those addresses (so
 *     the host does not route another VM's packets to it);
 *   - its broadcasts are limited to broadcast_pps per second.
 * Frames from a tap named "vmb*" that has no rules are all dropped, so a
 * tap is closed until filter_add has run (every bridge port whose name
 * starts with "vmb" counts as a VM's tap; other ports are not filtered).
 *
 * Backends:
 *   nft       (the default) one `table bridge vmbatch` of our own, through
 *             libnftables in-process. Per-VM state is set elements keyed by
 *             the tap name, so adding or removing a VM is one atomic
 *             transaction of a constant size whatever the number of VMs.
 *   ebtables  the paper's tool (Debian: ebtables-nft): one chain per VM,
 *             dispatched by `-i tap` from the nat table's PREROUTING (before
 *             the bridge learns a source MAC, so a spoofed frame cannot
 *             poison its forwarding table), the isolation of traffic towards
 *             a VM in the filter table's FORWARD and OUTPUT. One process per
 *             command: slower.
 *   none      no filtering at all (every call succeeds and does nothing).
 *
 * Functions return 0 or a negative errno and fill err (may be NULL) with
 * one line for a human; the library prints nothing. Everything needs
 * CAP_NET_ADMIN. Make and use a backend in the network namespace of the
 * bridge: the nft backend's netlink socket stays in the namespace it was
 * first used in, ebtables runs in the caller's. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "basic/error.h"

#define FILTER_NFT_TABLE "vmbatch"      /* table bridge vmbatch */
#define FILTER_BROADCAST_PPS_DEFAULT 100u
#define FILTER_ALLOW_MAX 64
#define FILTER_HOST_IPS_MAX 256
#define FILTER_HOST_PORTS_MAX 64

typedef struct FilterNet {
        const char *bridge;       /* the VMs' bridge; its MAC is the gateway MAC when gateway_mac is NULL */
        const char *gateway_ip;   /* required */
        const char *gateway_mac;  /* NULL: the bridge's own MAC (looked up when rules are built) */
        const char *dhcp_ip;      /* NULL: gateway_ip */
        const char *dhcp_mac;     /* NULL: gateway_mac */
        const char *const *allow_ips; /* what isolated VMs may reach besides: "a.b.c.d" or "a.b.c.d/len" */
        size_t n_allow;
        unsigned broadcast_pps;   /* isolated VMs' broadcast limit per tap; 0: FILTER_BROADCAST_PPS_DEFAULT */
        /* The host's own IPv4 addresses, "a.b.c.d" or "a.b.c.d/len", besides
         * the gateway, 127.0.0.0/8, 224.0.0.0/4 and 255.255.255.255 (always
         * there). NULL: every address and broadcast address of the network
         * namespace, read again each time the base rules are written. */
        const char *const *host_ips;
        size_t n_host_ips;
        /* What every VM may reach on the host besides DHCP, DNS and ICMP
         * echo: "tcp/PORT" or "udp/PORT" (the setting host_ports_allow). */
        const char *const *host_ports;
        size_t n_host_ports;
} FilterNet;

typedef struct FilterVm {
        const char *tap;          /* "vmb" + 1..12 of [A-Za-z0-9_] */
        const char *mac;          /* unicast, "xx:xx:xx:xx:xx:xx" (any case) */
        const char *ip;           /* unicast IPv4 */
        bool isolated;
        bool ipv6;                /* its VM group enables IPv6: global/ULA sources with its own interface id */
} FilterVm;

typedef struct FilterBackend FilterBackend;

/* kind: "nft" (NULL or "" too), "ebtables" or "none". Checks net (copied:
 * the caller's strings need not outlive the call); touches no rules. */
int filter_backend_new(const char *kind, const FilterNet *net, FilterBackend **ret, Error *err);
/* Leaves every rule in place: VMs keep running across a daemon restart.
 * Accepts NULL. */
void filter_backend_free(FilterBackend *b);
static inline void filter_backend_freep(FilterBackend **b) { filter_backend_free(*b); }
#define _cleanup_filter_backend_ _cleanup_(filter_backend_freep)

/* "nft", "ebtables" or "none". */
const char *filter_backend_name(const FilterBackend *b);

/* ---- the host: can a backend work here, what did others leave ---------- */

/* The ebtables backend always runs this program (Debian: package iptables),
 * never plain `ebtables`: that is an alternative which may point at
 * ebtables-legacy, whose kernel tables modern kernels do not have. */
#define FILTER_EBT_PROGRAM "ebtables-nft"

/* Can backend kind work on this host? Changes no rule. nft: one
 * transaction that adds and deletes a probe table with a bridge base chain
 * (the kernel's nftables bridge family); ebtables: FILTER_EBT_PROGRAM runs
 * and lists the kernel's bridge nat and filter tables; none: always. err
 * gets one line naming the missing piece and what provides it. */
int filter_backend_probe(const char *kind, Error *err);
/* The one line for a failed probe (pure; unit-tested): kind, the errno
 * (-ENOENT with text NULL: the program is not installed) and the tool's
 * error text become the missing piece and the package or kernel option
 * that provides it. */
char *filter_probe_explain(const char *kind, int code, const char *text);
/* Remove what the backends other than kind left behind on this host (nft:
 * our table; ebtables: our jumps in the built-in chains and every vmb-* and
 * vm-TAP chain), e.g. after filter_backend changed across a restart: their
 * rules would keep dropping new VMs' frames. *ret_removed (NULL-terminated,
 * free with filter_names_free) says what went, one entry per backend, for
 * the log. A backend whose program or kernel support is missing has left
 * nothing. */
int filter_purge_others(const char *kind, char ***ret_removed, Error *err);

/* Create our table/chains if missing and (re)write our base rules; never
 * touches other tables (ebtables: inserts one jump at the head of nat
 * PREROUTING and filter FORWARD and OUTPUT, and otherwise only touches
 * chains named vmb-* and vm-*).
 * Keeps the VMs' rules. Idempotent. */
int filter_setup(FilterBackend *b, Error *err);
/* Give vm its rules (replacing what that tap had). nft: one atomic
 * transaction, about 0.1 ms whatever the number of VMs. The tap need not
 * exist yet. When our table or chains have vanished they are re-created
 * first (the other VMs' taps then stay closed until filter_sync). */
int filter_add(FilterBackend *b, const FilterVm *vm, Error *err);
/* Remove the rules of tap. Idempotent: a tap without rules is 0. */
int filter_remove(FilterBackend *b, const char *tap, Error *err);
/* Make the rules exactly these VMs (reconciliation): re-creates our table
 * and base rules when they vanished (`nft flush ruleset`) or were changed,
 * removes the rules of taps not listed, adds or fixes the listed ones. nft:
 * one atomic transaction (nothing is written when all is in order). */
int filter_sync(FilterBackend *b, const FilterVm *vms, size_t n, Error *err);
/* Taps that have rules now, sorted, as a NULL-terminated array (free with
 * filter_names_free). */
int filter_list(FilterBackend *b, char ***ret_taps, size_t *ret_n, Error *err);
void filter_names_free(char **names);

/* ---- checks (pure) ----------------------------------------------------- */

bool filter_tap_is_valid(const char *tap);
/* Lower-case canonical "xx:xx:xx:xx:xx:xx" of a unicast MAC; -EINVAL for
 * anything else (multicast, all zero, bad syntax). */
int filter_mac_normalize(const char *mac, char ret[static 18]);
int filter_vm_check(const FilterVm *vm, Error *err);
/* "tcp/22" or "udp/123" (port 1-65535, no spaces): 0 with the protocol
 * ("tcp" or "udp") and the port; -EINVAL for anything else. */
int filter_host_port_parse(const char *s, char ret_proto[static 4], unsigned *ret_port);
/* The modified EUI-64 link-local address of a MAC: text, as ebtables
 * prints it ("fe80::dcaf:deff:feaf:6402"), or (text false) 32 hex digits,
 * as the nft rules compare it. */
void filter_mac_link_local(const char mac[static 18], bool text, char ret[static 46]);
/* Its interface identifier alone (the low 64 bits of that address): text,
 * as ebtables prints an address ("::dcaf:deff:feaf:6402"), or (text false)
 * 16 hex digits. */
void filter_mac_iid6(const char mac[static 18], bool text, char ret[static 46]);
/* Needs gateway_mac resolved when need_macs. */
int filter_net_check(const FilterNet *net, bool need_macs, Error *err);

/* ---- generators (pure; golden-tested) ---------------------------------- */

/* The nft base ruleset for net (gateway_mac set): idempotent input for
 * `nft -f` that declares the table, its sets and chains, flushes the rules
 * and static sets (never the VMs' elements) and writes them again. */
int filter_nft_ruleset(const FilterNet *net, char **ret);
/* nft commands that give vm its rules (idempotent when the tap already has
 * the same MAC and IP; fails with EEXIST when it has others). */
int filter_nft_vm_add(const FilterVm *vm, char **ret);
/* nft commands that remove the rules of vm (its tap with the MAC and IP it
 * has now); succeeds whether or not the elements are there. */
int filter_nft_vm_remove(const FilterVm *vm, char **ret);

/* A list of ebtables command lines (each a NULL-terminated argv:
 * "ebtables", "-t", TABLE, ...). */
typedef struct FilterCmds {
        char ***argv;
        size_t n;
} FilterCmds;
void filter_cmds_clear(FilterCmds *c);
/* Append FILTER_EBT_PROGRAM and the words of the formatted line (split at
 * spaces: our arguments never contain one). */
void filter_ebt_cmdf(FilterCmds *c, const char *fmt, ...) _printf_(2, 3);
/* Append every command of from (emptied) to to. */
void filter_cmds_move(FilterCmds *to, FilterCmds *from);
/* One command per line, arguments joined by spaces (for golden files). */
char *filter_cmds_format(const FilterCmds *c);

#define FILTER_EBT_CHAIN_PREFIX "vm-" /* per-VM chain: "vm-" + tap */
/* Our shared ebtables chains and their rules, in the order they must be
 * created, for filter_setup: creating one is "-N chain -P RETURN" then its "-A"
 * lines. The jumps from the built-in chains are in filter_ebt_hooks. */
typedef struct FilterEbtChain {
        const char *table; /* "nat" or "filter" */
        const char *name;
        bool dispatch;    /* holds the per-VM dispatch rules: created when missing, never flushed */
        FilterCmds rules; /* the -A commands (none for a dispatch chain) */
} FilterEbtChain;
int filter_ebt_base(const FilterNet *net, FilterEbtChain **ret, size_t *ret_n);
void filter_ebt_base_free(FilterEbtChain *chains, size_t n);
/* "-t nat -I PREROUTING 1 -j vmb-pre" ...: the one rule we put in each
 * built-in chain we use. */
typedef struct FilterEbtHook {
        const char *table;
        const char *builtin;
        const char *target;
} FilterEbtHook;
extern const FilterEbtHook filter_ebt_hooks[4];
/* Everything filter_setup does on an empty table, in order (golden). */
int filter_ebt_setup_cmds(const FilterNet *net, FilterCmds *ret);
/* The commands that give vm its chain and dispatch rules (tap must have
 * none yet). */
int filter_ebt_vm_add(const FilterNet *net, const FilterVm *vm, FilterCmds *ret);
/* The commands that remove tap's dispatch rules and chain (the caller
 * ignores "does not exist" failures). */
int filter_ebt_vm_remove(const char *tap, FilterCmds *ret);

/* ---- internal: the backends behind FilterBackend ----------------------- */

typedef struct FilterOps {
        const char *name;
        int (*probe)(Error *err);
        /* 1 with *ret_what: removed that; 0: nothing of ours was there */
        int (*purge)(char **ret_what, Error *err);
        int (*init)(FilterBackend *b, Error *err);
        void (*done)(FilterBackend *b);
        int (*setup)(FilterBackend *b, Error *err);
        int (*add)(FilterBackend *b, const FilterVm *vm, Error *err);
        int (*remove)(FilterBackend *b, const char *tap, Error *err);
        int (*sync)(FilterBackend *b, const FilterVm *vms, size_t n, Error *err);
        int (*list)(FilterBackend *b, char ***ret_taps, size_t *ret_n, Error *err);
} FilterOps;

struct FilterBackend {
        const FilterOps *ops;
        FilterNet net;         /* strings owned (net_strings), gateway_mac/dhcp_mac resolved lazily */
        char *net_strings[8];
        char **allow;
        char **host_ips;       /* given, or read from the namespace (host_auto) */
        char **host_ports;
        bool host_auto;
        bool macs_resolved;
        void *priv;            /* the backend's own state */
};

/* Delete `table bridge TABLE` when it holds nothing but empty base chains
 * whose policy is accept, as ebtables-nft leaves its nat and filter tables
 * once our chains are gone. 1: deleted; 0: absent or in use. */
int filter_nft_delete_if_empty(const char *table, Error *err);

extern const FilterOps filter_nft_ops;
extern const FilterOps filter_ebt_ops;

/* The FilterNet with gateway_mac (from the bridge when unset) and dhcp_*
 * filled in, and host_ips read again from the namespace when not given. */
int filter_backend_net(FilterBackend *b, const FilterNet **ret, Error *err);
/* Sorted, de-duplicated NULL-terminated copy. */
char **filter_names_sorted(char **names, size_t n, size_t *ret_n);
