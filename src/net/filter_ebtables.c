/* filter_ebtables.c - the isolation filters with ebtables (the paper's
 * tool), one FILTER_EBT_PROGRAM (ebtables-nft) process per command through
 * spawn_run. Never plain `ebtables`: on Debian that is an alternative that
 * may point at ebtables-legacy, which this kernel generation lacks.
 *
 * Layout (we add one rule at the head of three built-in chains and
 * otherwise only touch chains named vmb-* and vm-*):
 *   nat PREROUTING -> vmb-pre: -j vmb-vms; -i vmb+ -j DROP
 *     vmb-vms       one "-i TAP -j vm-TAP" per VM
 *     vm-TAP        the VM's own chain: its MAC and IP, the shared checks
 *                   (vmb-proto, vmb-arp0, vmb-dhcp0; isolated: vmb-iso-out
 *                   and a broadcast limit), then ACCEPT. IPv6 only from its
 *                   link-local address; when its VM group enables IPv6,
 *                   from any address with its interface identifier (a
 *                   masked --ip6-src) under a prefix of vmb-ip6-pfx
 *                   (fe80::/64, 2000::/3, fc00::/7)
 *   filter FORWARD -> vmb-forward: -j vmb-iso-to; -o vmb+ -j vmb-iso-from
 *   filter OUTPUT  -> vmb-iso-to
 *   filter INPUT   -> vmb-input: a tap to the host itself -j vmb-host (DHCP,
 *                   DNS, ping, ND, host_ports return; the rest is dropped);
 *                   nat vmb-gw-host: the same, from vmb-proto, to the gateway
 *     vmb-iso-to    one "-o TAP -j vmb-iso-in" per isolated VM (what may reach it)
 *     vmb-iso-from  one "-i TAP -j DROP" per isolated VM (nothing to other taps)
 * No match for a UDP payload, an ND target or TCP flags: no chaddr check (filter.h), no
 * neighbour advertisement at all, no TCP to a host port not allowed (answers to the host too).
 * What a VM sends is checked in PREROUTING, before the bridge learns the
 * frame's source MAC: checked later (FORWARD/INPUT), a frame claiming
 * another VM's MAC would still move that MAC to the sender's port in the
 * bridge's forwarding table and divert the other VM's traffic.
 * The shared chains RETURN what passes and DROP the rest. Every chain is
 * made with "-N NAME -P RETURN": ebtables-nft 1.8.9 gives a chain made by a
 * bare "-N" a hidden final ACCEPT (while -L shows "policy: RETURN"), which
 * would end the hook's traversal for every frame that reaches it. Rules are
 * written in the form `ebtables -L` prints them back, so filter_sync can
 * compare what is there with what should be, line by line. */
#include <stdarg.h>
#include <stdio.h>

#include "basic/spawn.h"
#include "net/filter.h"
#include "net/link.h"

#define EBT_TIMEOUT_MS 15000
#define TAPS LINK_TAP_PREFIX "+"

const FilterEbtHook filter_ebt_hooks[4] = {
        {"nat", "PREROUTING", "vmb-pre"},
        {"filter", "FORWARD", "vmb-forward"},
        {"filter", "OUTPUT", "vmb-iso-to"},
        {"filter", "INPUT", "vmb-input"},
};

static const char *const tables[] = {"nat", "filter"};

/* ---- generators -------------------------------------------------------- */

/* one ebtables command from a line of words (filter.c) */
#define cmdf filter_ebt_cmdf

/* Parts of "ebtables -t TABLE -A CHAIN rule...". */
#define CMD_TABLE(argv) ((argv)[2])
#define CMD_CHAIN(argv) ((argv)[4])

/* The rule of such a command, as `ebtables -L` prints it. */
static char *cmd_rule_text(char **argv) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                abort();
        for (size_t i = 5; argv[i - 1] && argv[i]; i++)
                fprintf(f, "%s%s", i == 5 ? "" : " ", argv[i]);
        fclose(f);
        return buf;
}

/* An allow-list entry as ebtables prints it ("/32" dropped). */
static void allow_canon(const char *a, char buf[20]) {
        snprintf(buf, 20, "%s", a);
        size_t len = strlen(buf);
        if (len > 3 && streq(buf + len - 3, "/32"))
                buf[len - 3] = 0;
}

typedef struct NetNorm {
        char gw_mac[18], dhcp_mac[18];
        const char *gw_ip, *dhcp_ip;
        unsigned pps;
} NetNorm;

static int net_norm(const FilterNet *net, NetNorm *ret) {
        if (filter_net_check(net, true, NULL) < 0)
                return -EINVAL;
        filter_mac_normalize(net->gateway_mac, ret->gw_mac);
        filter_mac_normalize(net->dhcp_mac ? net->dhcp_mac : net->gateway_mac, ret->dhcp_mac);
        ret->gw_ip = net->gateway_ip;
        ret->dhcp_ip = net->dhcp_ip ? net->dhcp_ip : net->gateway_ip;
        ret->pps = net->broadcast_pps ? net->broadcast_pps : FILTER_BROADCAST_PPS_DEFAULT;
        return 0;
}

/* What a VM may reach on the host: DHCP, DNS, ping (IPv6: and neighbour
 * discovery), host_ports; the rest is dropped. */
static void host_rules(FilterEbtChain *c, const FilterNet *net, bool ip6) {
        static const char *const ok4[] = {"udp --ip-dport 53", "udp --ip-dport 67", "tcp --ip-dport 53",
                                          "icmp --ip-icmp-type echo-request", "icmp --ip-icmp-type echo-reply"};
#define ICMP6 "ipv6-icmp --ip6-icmp-type "
        static const char *const ok6[] = {"udp --ip6-dport 53", "tcp --ip6-dport 53", ICMP6 "echo-request",
                                          ICMP6 "echo-reply", ICMP6 "neighbour-solicitation",
                                          ICMP6 "neighbour-advertisement"};
        const char *t = c->table, *ch = c->name;
        for (int v6 = 0; v6 <= (int)ip6; v6++) {
                const char *pfx = v6 ? "IPv6 --ip6-proto" : "IPv4 --ip-proto";
                const char *const *ok = v6 ? ok6 : ok4;
                for (size_t i = 0; i < (v6 ? ELEMENTSOF(ok6) : ELEMENTSOF(ok4)); i++)
                        cmdf(&c->rules, "-t %s -A %s -p %s %s -j RETURN", t, ch, pfx, ok[i]);
                for (size_t i = 0; i < net->n_host_ports; i++) {
                        char proto[4];
                        unsigned port;
                        filter_host_port_parse(net->host_ports[i], proto, &port); /* checked */
                        cmdf(&c->rules, "-t %s -A %s -p %s %s --ip%s-dport %u -j RETURN", t, ch, pfx, proto,
                             v6 ? "6" : "", port);
                }
        }
        cmdf(&c->rules, "-t %s -A %s -j DROP", t, ch);
}

static FilterEbtChain *chain_new(FilterEbtChain **v, size_t *n, const char *table, const char *name, bool dispatch) {
        FilterEbtChain *p = *v = xrealloc(*v, (*n + 1) * sizeof(FilterEbtChain));
        p[*n] = (FilterEbtChain){.table = table, .name = name, .dispatch = dispatch};
        return &p[(*n)++];
}

int filter_ebt_base(const FilterNet *net, FilterEbtChain **ret, size_t *ret_n) {
        NetNorm nn;
        if (net_norm(net, &nn) < 0)
                return -EINVAL;
        FilterEbtChain *v = NULL, *c;
        size_t n = 0;
        char a[20];

        /* dispatch chains: one rule per VM each */
        chain_new(&v, &n, "nat", "vmb-vms", true);
        chain_new(&v, &n, "filter", "vmb-iso-to", true);
        chain_new(&v, &n, "filter", "vmb-iso-from", true);

        /* every VM: ethertypes and rogue servers */
        c = chain_new(&v, &n, "nat", "vmb-proto", false);
        cmdf(&c->rules, "-t nat -A vmb-proto -p IPv4 --ip-proto udp --ip-sport 67 -j DROP");
        cmdf(&c->rules, "-t nat -A vmb-proto -p IPv4 --ip-proto udp --ip-dport 68 -j DROP");
        cmdf(&c->rules, "-t nat -A vmb-proto -p IPv6 --ip6-proto ipv6-icmp --ip6-icmp-type router-advertisement -j DROP");
        cmdf(&c->rules, "-t nat -A vmb-proto -p IPv6 --ip6-proto ipv6-icmp --ip6-icmp-type redirect -j DROP");
        cmdf(&c->rules, "-t nat -A vmb-proto -p IPv6 --ip6-proto udp --ip6-sport 547 -j DROP");
        cmdf(&c->rules, "-t nat -A vmb-proto -p IPv6 --ip6-proto udp --ip6-dport 546 -j DROP");
        cmdf(&c->rules, "-t nat -A vmb-proto -p IPv6 --ip6-proto " ICMP6 "neighbour-advertisement -j DROP"); /* any */
        cmdf(&c->rules, "-t nat -A vmb-proto -p ARP --arp-htype ! 1 -j DROP");
        cmdf(&c->rules, "-t nat -A vmb-proto -p ARP --arp-ptype ! 0x800 -j DROP");
        /* the gateway and the DHCP server as the host itself, on this host or not */
        cmdf(&c->rules, "-t nat -A vmb-proto -p IPv4 --ip-dst %s -j vmb-gw-host", nn.gw_ip);
        if (!streq(nn.dhcp_ip, nn.gw_ip))
                cmdf(&c->rules, "-t nat -A vmb-proto -p IPv4 --ip-dst %s -j vmb-gw-host", nn.dhcp_ip);
        cmdf(&c->rules, "-t nat -A vmb-proto -p IPv4 -j RETURN");
        cmdf(&c->rules, "-t nat -A vmb-proto -p ARP -j RETURN");
        cmdf(&c->rules, "-t nat -A vmb-proto -p IPv6 -j RETURN");
        cmdf(&c->rules, "-t nat -A vmb-proto -j DROP");

        /* ARP sender IP that is not the VM's: only 0.0.0.0 (a probe) returns */
        c = chain_new(&v, &n, "nat", "vmb-arp0", false);
        cmdf(&c->rules, "-t nat -A vmb-arp0 -p ARP --arp-ip-src 0.0.0.0 -j RETURN");
        cmdf(&c->rules, "-t nat -A vmb-arp0 -j DROP");

        /* IPv4 source that is not the VM's: only a DHCP client's broadcast returns */
        c = chain_new(&v, &n, "nat", "vmb-dhcp0", false);
        cmdf(&c->rules, "-t nat -A vmb-dhcp0 -p IPv4 --ip-src 0.0.0.0 --ip-dst 255.255.255.255 --ip-proto udp "
                        "--ip-sport 68 --ip-dport 67 -j RETURN");
        cmdf(&c->rules, "-t nat -A vmb-dhcp0 -j DROP");

        /* IPv6 of a VM whose group enables it (its interface identifier
         * checked in vm-TAP): link-local, global or ULA sources only */
        c = chain_new(&v, &n, "nat", "vmb-ip6-pfx", false);
        static const char *const v6_prefixes[] = {"fe80::/64", "2000::/3", "fc00::/7"};
        for (size_t i = 0; i < ELEMENTSOF(v6_prefixes); i++)
                cmdf(&c->rules, "-t nat -A vmb-ip6-pfx -p IPv6 --ip6-src %s -j RETURN", v6_prefixes[i]);
        cmdf(&c->rules, "-t nat -A vmb-ip6-pfx -j DROP");

        /* isolated: destination MACs */
        c = chain_new(&v, &n, "nat", "vmb-iso-dmac", false);
        cmdf(&c->rules, "-t nat -A vmb-iso-dmac -d %s -j RETURN", nn.gw_mac);
        if (!streq(nn.dhcp_mac, nn.gw_mac))
                cmdf(&c->rules, "-t nat -A vmb-iso-dmac -d %s -j RETURN", nn.dhcp_mac);
        cmdf(&c->rules, "-t nat -A vmb-iso-dmac -d Broadcast -j RETURN");
        cmdf(&c->rules, "-t nat -A vmb-iso-dmac -j DROP");

        /* isolated: what it may send (ARP and IPv4 to the gateway, the DHCP
         * server, the allow-list; no IPv6) */
        c = chain_new(&v, &n, "nat", "vmb-iso-out", false);
        cmdf(&c->rules, "-t nat -A vmb-iso-out -j vmb-iso-dmac");
        cmdf(&c->rules, "-t nat -A vmb-iso-out -p ARP -j RETURN");
        cmdf(&c->rules, "-t nat -A vmb-iso-out -p IPv4 --ip-dst 255.255.255.255 --ip-proto udp --ip-sport 68 "
                        "--ip-dport 67 -j RETURN");
        cmdf(&c->rules, "-t nat -A vmb-iso-out -p IPv4 --ip-dst %s -j RETURN", nn.gw_ip);
        if (!streq(nn.dhcp_ip, nn.gw_ip))
                cmdf(&c->rules, "-t nat -A vmb-iso-out -p IPv4 --ip-dst %s -j RETURN", nn.dhcp_ip);
        for (size_t i = 0; i < net->n_allow; i++) {
                allow_canon(net->allow_ips[i], a);
                cmdf(&c->rules, "-t nat -A vmb-iso-out -p IPv4 --ip-dst %s -j RETURN", a);
        }
        cmdf(&c->rules, "-t nat -A vmb-iso-out -j DROP");

        /* what PREROUTING jumps to; a tap without a chain is closed */
        c = chain_new(&v, &n, "nat", "vmb-pre", false);
        cmdf(&c->rules, "-t nat -A vmb-pre -j vmb-vms");
        cmdf(&c->rules, "-t nat -A vmb-pre -i " TAPS " -j DROP");

        /* isolated: what may reach it */
        c = chain_new(&v, &n, "filter", "vmb-iso-in", false);
        cmdf(&c->rules, "-t filter -A vmb-iso-in -i " TAPS " -j DROP");
        /* ARP and IPv4 from the allowed senders only (a VM on another host
         * comes through the uplink, not a tap) */
        static const char *const kinds[] = {"ARP --arp-ip-src", "IPv4 --ip-src"};
        for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                cmdf(&c->rules, "-t filter -A vmb-iso-in -p %s %s -j RETURN", kinds[k], nn.gw_ip);
                if (!streq(nn.dhcp_ip, nn.gw_ip))
                        cmdf(&c->rules, "-t filter -A vmb-iso-in -p %s %s -j RETURN", kinds[k], nn.dhcp_ip);
                for (size_t i = 0; i < net->n_allow; i++) {
                        allow_canon(net->allow_ips[i], a);
                        cmdf(&c->rules, "-t filter -A vmb-iso-in -p %s %s -j RETURN", kinds[k], a);
                }
        }
        cmdf(&c->rules, "-t filter -A vmb-iso-in -j DROP");

        /* what FORWARD jumps to */
        c = chain_new(&v, &n, "filter", "vmb-forward", false);
        cmdf(&c->rules, "-t filter -A vmb-forward -j vmb-iso-to");
        cmdf(&c->rules, "-t filter -A vmb-forward -o " TAPS " -j vmb-iso-from");

        /* what a tap sends to the host itself */
        host_rules(chain_new(&v, &n, "nat", "vmb-gw-host", false), net, false);
        host_rules(chain_new(&v, &n, "filter", "vmb-host", false), net, true);
        c = chain_new(&v, &n, "filter", "vmb-input", false);
        static const char *const fixed[] = {"127.0.0.0/8", "224.0.0.0/4", "255.255.255.255"};
        cmdf(&c->rules, "-t filter -A vmb-input -p IPv4 -i " TAPS " --ip-dst %s -j vmb-host", nn.gw_ip);
        for (size_t i = 0; i < ELEMENTSOF(fixed) + net->n_host_ips; i++) {
                allow_canon(i < ELEMENTSOF(fixed) ? fixed[i] : net->host_ips[i - ELEMENTSOF(fixed)], a);
                if (!streq(a, nn.gw_ip))
                        cmdf(&c->rules, "-t filter -A vmb-input -p IPv4 -i " TAPS " --ip-dst %s -j vmb-host", a);
        }
        cmdf(&c->rules, "-t filter -A vmb-input -p IPv6 -i " TAPS " -j vmb-host");

        *ret = v;
        *ret_n = n;
        return 0;
}

void filter_ebt_base_free(FilterEbtChain *chains, size_t n) {
        for (size_t i = 0; i < n; i++)
                filter_cmds_clear(&chains[i].rules);
        free(chains);
}

int filter_ebt_setup_cmds(const FilterNet *net, FilterCmds *ret) {
        FilterEbtChain *v;
        size_t n;
        int r = filter_ebt_base(net, &v, &n);
        if (r < 0)
                return r;
        FilterCmds c = {0};
        for (size_t i = 0; i < n; i++)
                cmdf(&c, "-t %s -N %s -P RETURN", v[i].table, v[i].name);
        for (size_t i = 0; i < n; i++)
                filter_cmds_move(&c, &v[i].rules);
        for (size_t i = 0; i < ELEMENTSOF(filter_ebt_hooks); i++)
                cmdf(&c, "-t %s -I %s 1 -j %s", filter_ebt_hooks[i].table, filter_ebt_hooks[i].builtin,
                     filter_ebt_hooks[i].target);
        filter_ebt_base_free(v, n);
        *ret = c;
        return 0;
}

/* The per-VM chain's rules (-A vm-TAP ...), then its dispatch rules. */
static int vm_cmds(const FilterNet *net, const FilterVm *vm, FilterCmds *chain_rules, FilterCmds *dispatch) {
        NetNorm nn;
        char mac[18];
        if (net_norm(net, &nn) < 0 || filter_vm_check(vm, NULL) < 0)
                return -EINVAL;
        filter_mac_normalize(vm->mac, mac);
        const char *t = vm->tap;
        char ll6[46];
        filter_mac_link_local(mac, true, ll6);
        cmdf(chain_rules, "-t nat -A vm-%s -s ! %s -j DROP", t, mac);
        cmdf(chain_rules, "-t nat -A vm-%s -j vmb-proto", t);
        cmdf(chain_rules, "-t nat -A vm-%s -p ARP --arp-mac-src ! %s -j DROP", t, mac);
        cmdf(chain_rules, "-t nat -A vm-%s -p ARP --arp-ip-src ! %s -j vmb-arp0", t, vm->ip);
        cmdf(chain_rules, "-t nat -A vm-%s -p IPv4 --ip-src ! %s -j vmb-dhcp0", t, vm->ip);
        if (vm->ipv6) {
                /* any source with its interface identifier, under one of the prefixes of vmb-ip6-pfx */
                char iid[46];
                filter_mac_iid6(mac, true, iid);
                cmdf(chain_rules, "-t nat -A vm-%s -p IPv6 --ip6-src ! %s/::ffff:ffff:ffff:ffff -j DROP", t, iid);
                cmdf(chain_rules, "-t nat -A vm-%s -p IPv6 -j vmb-ip6-pfx", t);
        } else
                cmdf(chain_rules, "-t nat -A vm-%s -p IPv6 --ip6-src ! %s -j DROP", t, ll6);
        if (vm->isolated) {
                cmdf(chain_rules, "-t nat -A vm-%s -j vmb-iso-out", t);
                cmdf(chain_rules, "-t nat -A vm-%s -d Broadcast --limit %u/sec --limit-burst %u -j ACCEPT", t,
                     nn.pps, nn.pps);
                cmdf(chain_rules, "-t nat -A vm-%s -d Broadcast -j DROP", t);
        }
        cmdf(chain_rules, "-t nat -A vm-%s -j ACCEPT", t);
        cmdf(dispatch, "-t nat -A vmb-vms -i %s -j vm-%s", t, t);
        if (vm->isolated) {
                cmdf(dispatch, "-t filter -A vmb-iso-to -o %s -j vmb-iso-in", t);
                cmdf(dispatch, "-t filter -A vmb-iso-from -i %s -j DROP", t);
        }
        return 0;
}

int filter_ebt_vm_add(const FilterNet *net, const FilterVm *vm, FilterCmds *ret) {
        FilterCmds c = {0}, rules = {0}, dispatch = {0};
        if (vm_cmds(net, vm, &rules, &dispatch) < 0) {
                filter_cmds_clear(&rules);
                filter_cmds_clear(&dispatch);
                return -EINVAL;
        }
        /* the chain is complete before anything jumps to it; until then the
         * tap's frames meet the "-i vmb+ -j DROP" of vmb-pre */
        cmdf(&c, "-t nat -N vm-%s -P RETURN", vm->tap);
        filter_cmds_move(&c, &rules);
        filter_cmds_move(&c, &dispatch);
        *ret = c;
        return 0;
}

int filter_ebt_vm_remove(const char *tap, FilterCmds *ret) {
        if (!filter_tap_is_valid(tap))
                return -EINVAL;
        FilterCmds c = {0};
        cmdf(&c, "-t nat -D vmb-vms -i %s -j vm-%s", tap, tap);
        cmdf(&c, "-t filter -D vmb-iso-to -o %s -j vmb-iso-in", tap);
        cmdf(&c, "-t filter -D vmb-iso-from -i %s -j DROP", tap);
        cmdf(&c, "-t nat -F vm-%s", tap);
        cmdf(&c, "-t nat -X vm-%s", tap);
        *ret = c;
        return 0;
}

/* ---- running ebtables -------------------------------------------------- */

/* ebtables' ways of saying that a rule or chain is not there */
static bool ebt_absent(const char *text) {
        return text && (strstr(text, "does a matching rule exist") || strstr(text, "No chain/target/match") ||
                        strstr(text, "doesn't exist") || strstr(text, "does not exist") || strstr(text, "incompatible"));
}

/* Run one command. *ret_out (may be NULL) gets stdout. ok_absent: a
 * "not there" failure is success (returns 1). */
static int ebt_run(char **argv, bool ok_absent, char **ret_out, Error *err) {
        SpawnOpts o = {
                .argv = argv,
                .timeout_ms = EBT_TIMEOUT_MS,
                .capture_max = 64u << 20,
        };
        SpawnResult res = {0};
        int r = spawn_run(&o, &res);
        if (r < 0)
                return error_set(err, r, "filter: cannot run " FILTER_EBT_PROGRAM ": %s", strerror(-r));
        if (res.exit_code != 0) {
                const char *etext = res.err ? res.err : "";
                if (ok_absent && ebt_absent(etext)) {
                        spawn_result_clear(&res);
                        return 1;
                }
                char line[300];
                spawn_result_first_line(&res, line, sizeof(line));
                FilterCmds one = {.argv = &argv, .n = 1};
                _cleanup_free_ char *cmd = filter_cmds_format(&one);
                cmd[strcspn(cmd, "\n")] = 0;
                r = res.timed_out ? -ETIMEDOUT : ebt_absent(etext) ? -ENOENT : -EIO;
                if (strstr(etext, "Permission denied") || strstr(etext, "Operation not permitted"))
                        r = -EPERM;
                error_set(err, r, "filter: %s: %s", cmd, *line ? line : "failed");
                spawn_result_clear(&res);
                return r;
        }
        if (ret_out)
                *ret_out = TAKE_PTR(res.out);
        spawn_result_clear(&res);
        return 0;
}

static int ebt_run_all(const FilterCmds *c, bool ok_absent, Error *err) {
        for (size_t i = 0; i < c->n; i++) {
                int r = ebt_run(c->argv[i], ok_absent, NULL, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- the tables as they are now ---------------------------------------- */

typedef struct EbtChain {
        const char *table;
        char *name;
        char **rules;
        size_t n;
} EbtChain;

typedef struct EbtState {
        EbtChain *chains;
        size_t n;
} EbtState;

static void ebt_state_clear(EbtState *t) {
        for (size_t i = 0; i < t->n; i++) {
                for (size_t k = 0; k < t->chains[i].n; k++)
                        free(t->chains[i].rules[k]);
                free(t->chains[i].rules);
                free(t->chains[i].name);
        }
        free(t->chains);
        *t = (EbtState){0};
}

static const EbtChain *ebt_chain(const EbtState *t, const char *table, const char *name) {
        for (size_t i = 0; i < t->n; i++)
                if (streq(t->chains[i].table, table) && streq(t->chains[i].name, name))
                        return &t->chains[i];
        return NULL;
}

static bool chain_has(const EbtChain *c, const char *rule) {
        for (size_t k = 0; c && k < c->n; k++)
                if (streq(c->rules[k], rule))
                        return true;
        return false;
}

/* Parse `ebtables -t TABLE -L`:
 *   Bridge chain: NAME, entries: N, policy: P
 *   rule
 *   ... (blank line) */
static void ebt_parse(const char *text, const char *table, EbtState *t) {
        EbtChain *cur = NULL;
        const char *p = text;
        while (p && *p) {
                size_t len = strcspn(p, "\n");
                char *line = strndup(p, len);
                if (!line)
                        abort();
                p += len + (p[len] == '\n');
                if (strncmp(line, "Bridge chain: ", 14) == 0) {
                        size_t nl = strcspn(line + 14, ",");
                        t->chains = xrealloc(t->chains, (t->n + 1) * sizeof(EbtChain));
                        cur = &t->chains[t->n++];
                        *cur = (EbtChain){.table = table, .name = strndup(line + 14, nl)};
                        if (!cur->name)
                                abort();
                } else if (cur && *line) {
                        cur->rules = xrealloc(cur->rules, (cur->n + 1) * sizeof(char *));
                        cur->rules[cur->n++] = TAKE_PTR(line);
                } else if (!*line)
                        cur = NULL;
                free(line);
        }
}

static int ebt_load(EbtState *ret, Error *err) {
        EbtState t = {0};
        for (size_t i = 0; i < ELEMENTSOF(tables); i++) {
                char *argv[] = {FILTER_EBT_PROGRAM, "-t", (char *)tables[i], "-L", NULL};
                _cleanup_free_ char *out = NULL;
                int r = ebt_run(argv, false, &out, err);
                if (r < 0) {
                        ebt_state_clear(&t);
                        return r;
                }
                ebt_parse(out, tables[i], &t);
        }
        *ret = t;
        return 0;
}

/* Do the chain's rules equal the commands' rules? */
static bool chain_matches(const EbtChain *c, const FilterCmds *want) {
        if (!c || c->n != want->n)
                return false;
        for (size_t k = 0; k < want->n; k++) {
                char *rule = cmd_rule_text(want->argv[k]);
                bool same = streq(c->rules[k], rule);
                free(rule);
                if (!same)
                        return false;
        }
        return true;
}

/* ---- operations -------------------------------------------------------- */

static int ebt_setup_with(FilterBackend *b, const EbtState *t, Error *err) {
        const FilterNet *net;
        int r = filter_backend_net(b, &net, err);
        if (r < 0)
                return r;
        FilterEbtChain *v;
        size_t n;
        if ((r = filter_ebt_base(net, &v, &n)) < 0)
                return error_set(err, r, "filter: cannot build the ebtables rules");
        FilterCmds c = {0};
        /* create what is missing first, then fill: rules jump across chains */
        for (size_t i = 0; i < n; i++)
                if (!ebt_chain(t, v[i].table, v[i].name))
                        cmdf(&c, "-t %s -N %s -P RETURN", v[i].table, v[i].name);
        for (size_t i = 0; i < n; i++) {
                const EbtChain *have = ebt_chain(t, v[i].table, v[i].name);
                if (v[i].dispatch || chain_matches(have, &v[i].rules))
                        continue;
                if (have)
                        cmdf(&c, "-t %s -F %s", v[i].table, v[i].name);
                filter_cmds_move(&c, &v[i].rules);
        }
        /* our jump first in each built-in chain */
        for (size_t i = 0; i < ELEMENTSOF(filter_ebt_hooks); i++) {
                const FilterEbtHook *h = &filter_ebt_hooks[i];
                const EbtChain *have = ebt_chain(t, h->table, h->builtin);
                _cleanup_free_ char *rule = xasprintf("-j %s", h->target);
                if (have && have->n > 0 && streq(have->rules[0], rule))
                        continue;
                cmdf(&c, "-t %s -I %s 1 -j %s", h->table, h->builtin, h->target);
                /* an older jump further down goes (by number: the new one is 1) */
                for (size_t k = have ? have->n : 0; k > 0; k--)
                        if (streq(have->rules[k - 1], rule))
                                cmdf(&c, "-t %s -D %s %zu", h->table, h->builtin, k + 1);
        }
        filter_ebt_base_free(v, n);
        r = ebt_run_all(&c, false, err);
        filter_cmds_clear(&c);
        return r;
}

static int ebt_setup(FilterBackend *b, Error *err) {
        EbtState t;
        int r = ebt_load(&t, err);
        if (r < 0)
                return r;
        r = ebt_setup_with(b, &t, err);
        ebt_state_clear(&t);
        return r;
}

static int ebt_remove(FilterBackend *b, const char *tap, Error *err) {
        FilterCmds c = {0};
        int r = filter_ebt_vm_remove(tap, &c);
        if (r < 0)
                return error_set(err, r, "filter: invalid tap name '%s'", tap);
        r = ebt_run_all(&c, true, err);
        filter_cmds_clear(&c);
        return r < 0 ? r : 0;
}

static int ebt_add_cmds(const FilterNet *net, const FilterVm *vm, Error *err) {
        FilterCmds c = {0};
        int r = filter_ebt_vm_add(net, vm, &c);
        if (r < 0)
                return error_set(err, r, "filter: cannot build the rules of %s", vm->tap);
        r = ebt_run_all(&c, false, err);
        filter_cmds_clear(&c);
        return r;
}

static int ebt_add(FilterBackend *b, const FilterVm *vm, Error *err) {
        const FilterNet *net;
        int r = filter_backend_net(b, &net, err);
        if (r < 0)
                return r;
        /* replace what the tap had (one `ebtables -L` to find out) */
        _cleanup_free_ char *chain = xasprintf(FILTER_EBT_CHAIN_PREFIX "%s", vm->tap);
        char *list[] = {FILTER_EBT_PROGRAM, "-t", "nat", "-L", chain, NULL};
        if (ebt_run(list, true, NULL, NULL) == 0 && (r = ebt_remove(b, vm->tap, err)) < 0)
                return r;
        Error e = {0};
        if ((r = ebt_add_cmds(net, vm, &e)) >= 0)
                return r;
        (void)ebt_remove(b, vm->tap, NULL); /* no half-made chain stays behind */
        /* our chains may have vanished (`nft flush ruleset`): put them back
         * and try once more; the other VMs stay closed until filter_sync */
        if (ebt_setup(b, NULL) < 0)
                return error_set(err, e.code, "%s", e.message);
        if ((r = ebt_add_cmds(net, vm, err)) < 0)
                (void)ebt_remove(b, vm->tap, NULL);
        return r;
}

/* Are tap's chain and dispatch rules exactly what vm wants? */
static bool ebt_vm_ok(const EbtState *t, const FilterNet *net, const FilterVm *vm) {
        FilterCmds rules = {0}, dispatch = {0}, none = {0};
        if (vm_cmds(net, vm, &rules, &dispatch) < 0)
                return false;
        _cleanup_free_ char *name = xasprintf(FILTER_EBT_CHAIN_PREFIX "%s", vm->tap);
        bool ok = chain_matches(ebt_chain(t, "nat", name), &rules);
        for (size_t k = 0; ok && k < dispatch.n; k++) {
                char *rule = cmd_rule_text(dispatch.argv[k]);
                ok = chain_has(ebt_chain(t, CMD_TABLE(dispatch.argv[k]), CMD_CHAIN(dispatch.argv[k])), rule);
                free(rule);
        }
        /* and nothing of an isolated VM when it is not isolated */
        if (ok && !vm->isolated) {
                FilterVm iso = *vm;
                iso.isolated = true;
                filter_cmds_clear(&dispatch);
                filter_cmds_clear(&rules);
                vm_cmds(net, &iso, &none, &dispatch);
                for (size_t k = 1; ok && k < dispatch.n; k++) {
                        char *rule = cmd_rule_text(dispatch.argv[k]);
                        ok = !chain_has(ebt_chain(t, CMD_TABLE(dispatch.argv[k]), CMD_CHAIN(dispatch.argv[k])), rule);
                        free(rule);
                }
        }
        filter_cmds_clear(&rules);
        filter_cmds_clear(&dispatch);
        filter_cmds_clear(&none);
        return ok;
}

/* Taps that have something of ours: a vm-TAP chain or a dispatch rule. */
static char **ebt_taps(const EbtState *t, size_t *ret_n) {
        char **all = NULL;
        size_t n = 0;
        size_t plen = strlen(FILTER_EBT_CHAIN_PREFIX);
        for (size_t i = 0; i < t->n; i++) {
                const EbtChain *c = &t->chains[i];
                if (streq(c->table, "nat") && strncmp(c->name, FILTER_EBT_CHAIN_PREFIX, plen) == 0 &&
                    filter_tap_is_valid(c->name + plen)) {
                        all = xrealloc(all, (n + 1) * sizeof(char *));
                        all[n++] = xstrdup(c->name + plen);
                }
                if (!streq(c->name, "vmb-vms") && !streq(c->name, "vmb-iso-to") && !streq(c->name, "vmb-iso-from"))
                        continue;
                /* "-i TAP ..." / "-o TAP ..." */
                for (size_t k = 0; k < c->n; k++) {
                        char word[LINK_NAME_MAX + 2];
                        if (sscanf(c->rules[k], "%*s %16s", word) == 1 && filter_tap_is_valid(word)) {
                                all = xrealloc(all, (n + 1) * sizeof(char *));
                                all[n++] = xstrdup(word);
                        }
                }
        }
        char **sorted = filter_names_sorted(all, n, ret_n);
        for (size_t i = 0; i < n; i++)
                free(all[i]);
        free(all);
        return sorted;
}

static int ebt_sync(FilterBackend *b, const FilterVm *vms, size_t n, Error *err) {
        const FilterNet *net;
        int r = filter_backend_net(b, &net, err);
        if (r < 0)
                return r;
        EbtState t;
        if ((r = ebt_load(&t, err)) < 0)
                return r;
        if ((r = ebt_setup_with(b, &t, err)) < 0)
                goto out;
        size_t nt;
        char **taps = ebt_taps(&t, &nt);
        /* taps that should have nothing */
        for (size_t i = 0; i < nt && r >= 0; i++) {
                bool wanted = false;
                for (size_t j = 0; j < n && !wanted; j++)
                        wanted = streq(taps[i], vms[j].tap);
                if (!wanted)
                        r = ebt_remove(b, taps[i], err);
        }
        filter_names_free(taps);
        /* taps whose rules are missing or not as they should be */
        for (size_t j = 0; j < n && r >= 0; j++)
                if (!ebt_vm_ok(&t, net, &vms[j]) && (r = ebt_remove(b, vms[j].tap, err)) >= 0)
                        r = ebt_add_cmds(net, &vms[j], err);
out:
        ebt_state_clear(&t);
        return r < 0 ? r : 0;
}

static int ebt_list(FilterBackend *b, char ***ret_taps, size_t *ret_n, Error *err) {
        EbtState t;
        int r = ebt_load(&t, err);
        if (r < 0)
                return r;
        *ret_taps = ebt_taps(&t, ret_n);
        ebt_state_clear(&t);
        return 0;
}

/* ---- the host: probe and purge ----------------------------------------- */

static int ebt_probe(Error *err) {
        for (size_t i = 0; i < ELEMENTSOF(tables); i++) {
                char *argv[] = {FILTER_EBT_PROGRAM, "-t", (char *)tables[i], "-L", NULL};
                SpawnOpts o = {.argv = argv, .timeout_ms = EBT_TIMEOUT_MS, .capture_max = 1u << 20};
                SpawnResult res = {0};
                int r = spawn_run(&o, &res);
                if (r >= 0 && res.exit_code == 0) {
                        spawn_result_clear(&res);
                        continue;
                }
                /* exec failure: the child says "cannot execute" and exits 127 */
                bool missing = r == -ENOENT || (r >= 0 && res.exit_code == 127);
                char line[300] = "";
                if (r >= 0)
                        spawn_result_first_line(&res, line, sizeof(line));
                spawn_result_clear(&res);
                _cleanup_free_ char *msg = filter_probe_explain("ebtables", missing ? -ENOENT : r < 0 ? r : -EIO,
                                                                missing ? NULL : line);
                return error_set(err, missing ? -ENOENT : r < 0 ? r : -EOPNOTSUPP, "%s", msg);
        }
        return 0;
}

static bool ours(const EbtChain *c) {
        size_t plen = strlen(FILTER_EBT_CHAIN_PREFIX);
        return strncmp(c->name, "vmb-", 4) == 0 ||
               (strncmp(c->name, FILTER_EBT_CHAIN_PREFIX, plen) == 0 && filter_tap_is_valid(c->name + plen));
}

static int ebt_purge(char **ret_what, Error *err) {
        EbtState t;
        Error e = {0};
        int r = ebt_load(&t, &e);
        if (r < 0) {
                /* no ebtables-nft or no kernel support: it cannot have left anything */
                if (ebt_probe(NULL) < 0)
                        return 0;
                return error_set(err, r, "%s", e.message);
        }
        FilterCmds c = {0};
        /* our jumps out of the built-in chains first, then empty every chain
         * of ours (they jump to each other), then delete them */
        for (size_t i = 0; i < ELEMENTSOF(filter_ebt_hooks); i++) {
                const FilterEbtHook *h = &filter_ebt_hooks[i];
                const EbtChain *have = ebt_chain(&t, h->table, h->builtin);
                _cleanup_free_ char *rule = xasprintf("-j %s", h->target);
                for (size_t k = 0; have && k < have->n; k++)
                        if (streq(have->rules[k], rule))
                                cmdf(&c, "-t %s -D %s -j %s", h->table, h->builtin, h->target);
        }
        size_t n_chains = 0;
        for (size_t i = 0; i < t.n; i++)
                if (ours(&t.chains[i])) {
                        cmdf(&c, "-t %s -F %s", t.chains[i].table, t.chains[i].name);
                        n_chains++;
                }
        for (size_t i = 0; i < t.n; i++)
                if (ours(&t.chains[i]))
                        cmdf(&c, "-t %s -X %s", t.chains[i].table, t.chains[i].name);
        ebt_state_clear(&t);
        size_t n_cmds = c.n;
        r = ebt_run_all(&c, true, err);
        filter_cmds_clear(&c);
        if (r < 0)
                return r;
        /* ebtables-nft made the tables for us: emptied, they go too */
        size_t n_tables = 0;
        for (size_t i = 0; i < ELEMENTSOF(tables); i++) {
                if ((r = filter_nft_delete_if_empty(tables[i], err)) < 0)
                        return r;
                n_tables += r;
        }
        if (n_cmds == 0 && n_tables == 0)
                return 0;
        *ret_what = xasprintf("ebtables chains of vmbatch (%zu, our jumps to them, and %zu emptied tables)",
                              n_chains, n_tables);
        return 1;
}

const FilterOps filter_ebt_ops = {
        .name = "ebtables",
        .probe = ebt_probe,
        .purge = ebt_purge,
        .setup = ebt_setup,
        .add = ebt_add,
        .remove = ebt_remove,
        .sync = ebt_sync,
        .list = ebt_list,
};
