/* filter_nft.c - the isolation filters as one nftables table of our own,
 * `table bridge vmbatch`, driven in-process through libnftables (no `nft`
 * process per change).
 *
 * The rules never name a VM. Per-VM state lives in sets keyed by the tap:
 *   vm        map  tap : MAC . IPv4   bookkeeping: what the tap was given
 *   vm_mac    set  tap . MAC          MAC / ARP sender MAC anti-spoofing
 *   vm_ip4    set  tap . IPv4         IPv4 / ARP sender IP anti-spoofing
 *   isolated  set  tap                the isolated VMs
 * so adding or removing a VM is a handful of element changes in one
 * transaction, a constant cost whatever the number of VMs, and a packet is
 * checked with a few hash lookups. Static sets hold what isolated VMs may
 * talk to (iso_mac, iso_ip4) and a per-tap broadcast meter (iso_bcast).
 *
 * The base rules carry a fingerprint (a hash of the generated base text) in
 * the comment of the first rule: filter_sync rewrites them when the
 * fingerprint or a chain's number of rules differs, e.g. after an `nft
 * flush ruleset` or a change of the FilterNet. */
#include <arpa/inet.h>
#include <jansson.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdio.h>

#include "net/filter.h"
#include "net/link.h"

#define T "bridge " FILTER_NFT_TABLE
#define FINGERPRINT_TAG "vmbatch "

/* The chains of the base ruleset, in the order they are declared. */
enum {
        CH_PREROUTING,
        CH_FORWARD,
        CH_OUTPUT,
        CH_FROM_ISO,
        CH_FROM_VM_ARP,
        CH_FROM_VM_IP4,
        CH_FROM_VM_IP6,
        CH_TO_ISO,
        CH_MAX,
};

static const char *const chain_names[CH_MAX] = {
        [CH_PREROUTING] = "prerouting",   [CH_FORWARD] = "forward",         [CH_OUTPUT] = "output",
        [CH_FROM_ISO] = "from_iso",       [CH_FROM_VM_ARP] = "from_vm_arp", [CH_FROM_VM_IP4] = "from_vm_ip4",
        [CH_FROM_VM_IP6] = "from_vm_ip6", [CH_TO_ISO] = "to_iso",
};

/* ---- generators -------------------------------------------------------- */

typedef struct Gen {
        FILE *f;
        unsigned counts[CH_MAX];
} Gen;

_printf_(3, 4) static void rule(Gen *g, int chain, const char *fmt, ...) {
        va_list ap;
        fprintf(g->f, "add rule " T " %s ", chain_names[chain]);
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

/* The base ruleset and how many rules each chain gets. */
static int ruleset_build(const FilterNet *net, char **ret, unsigned counts[CH_MAX]) {
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
                "# sets, never the VMs' elements (vm, vm_mac, vm_ip4, isolated).\n",
                net->bridge ? net->bridge : "-");
        fprintf(f, "table " T " {\n"
                   "\tmap vm { type ifname : ether_addr . ipv4_addr; }\n"
                   "\tset vm_mac { type ifname . ether_addr; }\n"
                   "\tset vm_ip4 { type ifname . ipv4_addr; }\n"
                   "\tset isolated { type ifname; }\n"
                   "\tset iso_mac { type ether_addr; }\n"
                   "\tset iso_ip4 { type ipv4_addr; flags interval; auto-merge; }\n"
                   "\tset iso_bcast { type ifname; size 65536; flags dynamic,timeout; timeout 1m; }\n");
        for (int c = 0; c < CH_MAX; c++) {
                if (c <= CH_OUTPUT)
                        fprintf(f, "\tchain %s { type filter hook %s priority filter; policy accept; }\n",
                                chain_names[c], chain_names[c]);
                else
                        fprintf(f, "\tchain %s { }\n", chain_names[c]);
        }
        fprintf(f, "}\n"
                   "flush table " T "\n"
                   "flush set " T " iso_mac\n"
                   "flush set " T " iso_ip4\n");
        fprintf(f, "add element " T " iso_mac { %s, %s, ff:ff:ff:ff:ff:ff }\n", gw_mac, dhcp_mac);
        fprintf(f, "add element " T " iso_ip4 { %s, %s", net->gateway_ip, dhcp_ip);
        for (size_t i = 0; i < net->n_allow; i++)
                fprintf(f, ", %s", net->allow_ips[i]);
        fprintf(f, " }\n");

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

        rule(&g, CH_FROM_VM_IP4, "ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept "
                                 "comment \"DHCP client without an address\"");
        rule(&g, CH_FROM_VM_IP4, "iifname . ip saddr != @vm_ip4 counter drop comment \"IP spoofing\"");
        rule(&g, CH_FROM_VM_IP4, "udp sport 67 counter drop comment \"rogue DHCP server\"");
        rule(&g, CH_FROM_VM_IP4, "accept");

        rule(&g, CH_FROM_VM_IP6,
             "icmpv6 type { nd-router-advert, nd-redirect } counter drop comment \"rogue IPv6 router\"");
        rule(&g, CH_FROM_VM_IP6, "udp sport 547 counter drop comment \"rogue DHCPv6 server\"");
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
        return ruleset_build(net, ret, NULL);
}

/* The fingerprint in a rule comment ("vmbatch <16 hex digits>: ..."). */
static bool comment_fingerprint(const char *comment, char ret[17]) {
        size_t tl = strlen(FINGERPRINT_TAG);
        if (!comment || strncmp(comment, FINGERPRINT_TAG, tl) != 0 || strlen(comment) < tl + 16)
                return false;
        memcpy(ret, comment + tl, 16);
        ret[16] = 0;
        return true;
}

/* The fingerprint of a generated ruleset. */
static bool ruleset_fingerprint(const char *text, char ret[17]) {
        const char *p = strstr(text, "comment \"" FINGERPRINT_TAG);
        return p && comment_fingerprint(p + strlen("comment \""), ret);
}

typedef struct VmNorm {
        const char *tap;
        char mac[18];
        char ip[16];
        bool isolated;
} VmNorm;

static int vm_norm(const FilterVm *vm, VmNorm *ret) {
        if (filter_vm_check(vm, NULL) < 0)
                return -EINVAL;
        ret->tap = vm->tap;
        filter_mac_normalize(vm->mac, ret->mac);
        snprintf(ret->ip, sizeof(ret->ip), "%s", vm->ip);
        ret->isolated = vm->isolated;
        return 0;
}

static void vm_add_cmds(FILE *f, const VmNorm *v) {
        fprintf(f, "add element " T " vm { \"%s\" : %s . %s }\n", v->tap, v->mac, v->ip);
        fprintf(f, "add element " T " vm_mac { \"%s\" . %s }\n", v->tap, v->mac);
        fprintf(f, "add element " T " vm_ip4 { \"%s\" . %s }\n", v->tap, v->ip);
        fprintf(f, "add element " T " isolated { \"%s\" }\n", v->tap);
        if (!v->isolated) /* added and deleted: absent whether or not it was there */
                fprintf(f, "delete element " T " isolated { \"%s\" }\n", v->tap);
}

/* Delete whatever of v's elements exist: an element is added (a no-op when
 * present) and deleted in the same transaction. */
static void vm_remove_cmds(FILE *f, const VmNorm *v) {
        fprintf(f, "add element " T " vm { \"%s\" : %s . %s }\n", v->tap, v->mac, v->ip);
        fprintf(f, "delete element " T " vm { \"%s\" }\n", v->tap);
        fprintf(f, "add element " T " vm_mac { \"%s\" . %s }\n", v->tap, v->mac);
        fprintf(f, "delete element " T " vm_mac { \"%s\" . %s }\n", v->tap, v->mac);
        fprintf(f, "add element " T " vm_ip4 { \"%s\" . %s }\n", v->tap, v->ip);
        fprintf(f, "delete element " T " vm_ip4 { \"%s\" . %s }\n", v->tap, v->ip);
        fprintf(f, "add element " T " isolated { \"%s\" }\n", v->tap);
        fprintf(f, "delete element " T " isolated { \"%s\" }\n", v->tap);
}

static char *with_memstream(void (*fn)(FILE *, const VmNorm *), const VmNorm *v) {
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
        if (vm_norm(vm, &v) < 0)
                return -EINVAL;
        *ret = with_memstream(vm_add_cmds, &v);
        return 0;
}

int filter_nft_vm_remove(const FilterVm *vm, char **ret) {
        VmNorm v;
        if (vm_norm(vm, &v) < 0)
                return -EINVAL;
        *ret = with_memstream(vm_remove_cmds, &v);
        return 0;
}

/* ---- libnftables ------------------------------------------------------- */

/* What we last wrote for each tap. filter_remove needs the tap's MAC and
 * IP (set elements are deleted by their whole key); asking the kernel
 * (`get element`) makes libnftables fetch every element of the table,
 * a cost that grows with the number of VMs, so that is only the fallback
 * when a tap is not known here (after a restart, before filter_sync). A
 * stale entry cannot do harm: the vm map element is deleted with its data,
 * so a wrong MAC or IP fails the transaction and the slow path runs. */
typedef struct Known {
        char tap[LINK_NAME_MAX + 1];
        char mac[18];
        char ip[16];
} Known;

typedef struct Nft {
        struct nft_ctx *ctx;
        Known *known;
        size_t n_known;
} Nft;

static Known *known_find(Nft *n, const char *tap) {
        for (size_t i = 0; i < n->n_known; i++)
                if (streq(n->known[i].tap, tap))
                        return &n->known[i];
        return NULL;
}

static void known_forget(Nft *n, const char *tap) {
        Known *k = known_find(n, tap);
        if (k)
                *k = n->known[--n->n_known];
}

static void known_set(Nft *n, const char *tap, const char *mac, const char *ip) {
        Known *k = known_find(n, tap);
        if (!k) {
                Known *q = realloc(n->known, (n->n_known + 1) * sizeof(Known));
                if (!q)
                        abort();
                n->known = q;
                k = &n->known[n->n_known++];
        }
        snprintf(k->tap, sizeof(k->tap), "%s", tap);
        snprintf(k->mac, sizeof(k->mac), "%s", mac);
        snprintf(k->ip, sizeof(k->ip), "%s", ip);
}

static int nft_init(FilterBackend *b, Error *err) {
        Nft *n = xcalloc(1, sizeof(*n));
        n->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!n->ctx) {
                free(n);
                return error_set(err, -ENOMEM, "filter: cannot create an nftables context");
        }
        if (nft_ctx_buffer_output(n->ctx) < 0 || nft_ctx_buffer_error(n->ctx) < 0) {
                nft_ctx_free(n->ctx);
                free(n);
                return error_set(err, -ENOMEM, "filter: cannot buffer nftables output");
        }
        b->priv = n;
        return 0;
}

static void nft_done(FilterBackend *b) {
        Nft *n = b->priv;
        if (!n)
                return;
        nft_ctx_free(n->ctx);
        free(n->known);
        free(n);
        b->priv = NULL;
}

/* Hand an error collected in a local on to the caller's (may be NULL). */
static int error_pass(Error *err, const Error *e) {
        return error_set(err, e->code ? e->code : -EIO, "%s", e->message);
}

/* libnftables reports errors as text only: map the kernel's strerror()
 * back to an errno. */
static int errno_from_text(const char *text) {
        static const int codes[] = {EEXIST, ENOENT, EPERM, EACCES, EBUSY, ENOMEM, EINVAL, EOPNOTSUPP, ENOSPC, E2BIG};
        for (size_t i = 0; i < ELEMENTSOF(codes); i++)
                if (strstr(text, strerror(codes[i])))
                        return -codes[i];
        return -EIO;
}

/* First line of libnftables' error text, without "Error: ". */
static void first_error_line(const char *text, char *buf, size_t size) {
        const char *p = text ? text : "";
        const char *e = strstr(p, "Error: ");
        if (e)
                p = e + strlen("Error: ");
        size_t len = strcspn(p, "\n");
        if (len >= size)
                len = size - 1;
        memcpy(buf, p, len);
        buf[len] = 0;
}

/* Run cmds as one transaction. *ret_out (may be NULL) gets the output. */
static int nft_run(Nft *n, const char *cmds, bool json, char **ret_out, Error *err, const char *what) {
        nft_ctx_output_set_flags(n->ctx, json ? NFT_CTX_OUTPUT_JSON : 0);
        int r = nft_run_cmd_from_buffer(n->ctx, cmds);
        const char *out = nft_ctx_get_output_buffer(n->ctx);
        const char *errtext = nft_ctx_get_error_buffer(n->ctx);
        if (r != 0) {
                char line[400];
                first_error_line(errtext, line, sizeof(line));
                return error_set(err, errno_from_text(errtext ? errtext : ""), "filter: nft: %s: %s", what,
                                 *line ? line : "failed");
        }
        if (ret_out)
                *ret_out = xstrdup(out ? out : "");
        return 0;
}

/* ---- the table as it is now -------------------------------------------- */

typedef struct Pair {
        char *key;   /* tap */
        char *value; /* "mac" / "ip" / "mac . ip" / NULL */
} Pair;

typedef struct State {
        bool exists;
        bool base_ok; /* fingerprint and rule counts as generated */
        Pair *vm, *mac, *ip4;
        size_t n_vm, n_mac, n_ip4;
        char **iso;
        size_t n_iso;
} State;

static void pairs_free(Pair *p, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(p[i].key);
                free(p[i].value);
        }
        free(p);
}

static void state_clear(State *s) {
        pairs_free(s->vm, s->n_vm);
        pairs_free(s->mac, s->n_mac);
        pairs_free(s->ip4, s->n_ip4);
        for (size_t i = 0; i < s->n_iso; i++)
                free(s->iso[i]);
        free(s->iso);
        *s = (State){0};
}

static void pair_push(Pair **p, size_t *n, const char *key, const char *value) {
        Pair *q = realloc(*p, (*n + 1) * sizeof(Pair));
        if (!q)
                abort();
        q[*n] = (Pair){xstrdup(key), value ? xstrdup(value) : NULL};
        *p = q;
        (*n)++;
}

/* An element as JSON: "x", {"concat": [..]}, or {"elem": {"val": ..}}. */
static const json_t *elem_val(const json_t *e) {
        const json_t *inner = json_object_get(e, "elem");
        if (inner)
                return json_object_get(inner, "val");
        return e;
}

/* ["a", "b"] of a concatenation (n parts) */
static bool concat_parts(const json_t *v, const char **parts, size_t n) {
        const json_t *c = json_object_get(v, "concat");
        if (!json_is_array(c) || json_array_size(c) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(parts[i] = json_string_value(json_array_get(c, i))))
                        return false;
        return true;
}

static void state_read_set(State *s, const char *name, const json_t *elems) {
        size_t i;
        const json_t *e;
        json_array_foreach(elems, i, e) {
                const json_t *v = elem_val(e);
                const char *parts[2];
                if (streq(name, "vm")) {
                        /* map: [key, data] */
                        const char *key = json_string_value(json_array_get(v, 0));
                        if (key && concat_parts(json_array_get(v, 1), parts, 2)) {
                                char *val = xasprintf("%s . %s", parts[0], parts[1]);
                                pair_push(&s->vm, &s->n_vm, key, val);
                                free(val);
                        }
                } else if (streq(name, "vm_mac")) {
                        if (concat_parts(v, parts, 2))
                                pair_push(&s->mac, &s->n_mac, parts[0], parts[1]);
                } else if (streq(name, "vm_ip4")) {
                        if (concat_parts(v, parts, 2))
                                pair_push(&s->ip4, &s->n_ip4, parts[0], parts[1]);
                } else if (streq(name, "isolated")) {
                        const char *key = json_string_value(v);
                        if (key) {
                                char **q = realloc(s->iso, (s->n_iso + 1) * sizeof(char *));
                                if (!q)
                                        abort();
                                s->iso = q;
                                s->iso[s->n_iso++] = xstrdup(key);
                        }
                }
        }
}

/* List our table (JSON) into *ret. A missing table is not an error. */
static int state_load(FilterBackend *b, const unsigned *want_counts, const char *want_fingerprint, State *ret,
                      Error *err) {
        Nft *n = b->priv;
        _cleanup_free_ char *out = NULL;
        Error e = {0};
        *ret = (State){0};
        int r = nft_run(n, "list table " T, true, &out, &e, "listing our table");
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                error_pass(err, &e);
                return r;
        }
        json_error_t jerr;
        json_t *root = json_loads(out, 0, &jerr);
        if (!root)
                return error_set(err, -EIO, "filter: nft: cannot parse the JSON listing: %s", jerr.text);
        ret->exists = true;
        unsigned counts[CH_MAX] = {0};
        bool fingerprint_ok = false, first_rule = true;
        size_t i;
        const json_t *item;
        json_array_foreach(json_object_get(root, "nftables"), i, item) {
                const json_t *set = json_object_get(item, "set");
                if (!set)
                        set = json_object_get(item, "map");
                if (set) {
                        const char *name = json_string_value(json_object_get(set, "name"));
                        const json_t *elems = json_object_get(set, "elem");
                        if (name && json_is_array(elems))
                                state_read_set(ret, name, elems);
                        continue;
                }
                const json_t *rl = json_object_get(item, "rule");
                if (rl) {
                        const char *chain = json_string_value(json_object_get(rl, "chain"));
                        for (int c = 0; c < CH_MAX; c++)
                                if (streq(chain, chain_names[c]))
                                        counts[c]++;
                        if (streq(chain, chain_names[CH_PREROUTING]) && first_rule) {
                                first_rule = false;
                                const char *comment = json_string_value(json_object_get(rl, "comment"));
                                char fp[17];
                                fingerprint_ok = comment_fingerprint(comment, fp) &&
                                                 streq(fp, want_fingerprint);
                        }
                }
        }
        json_decref(root);
        ret->base_ok = fingerprint_ok && memcmp(counts, want_counts, sizeof(counts)) == 0;
        return 0;
}

/* ---- operations -------------------------------------------------------- */

static int base_text(FilterBackend *b, char **ret_text, unsigned counts[CH_MAX], char fingerprint[17], Error *err) {
        const FilterNet *net;
        int r = filter_backend_net(b, &net, err);
        if (r < 0)
                return r;
        if ((r = ruleset_build(net, ret_text, counts)) < 0)
                return error_set(err, r, "filter: cannot build the ruleset");
        if (fingerprint)
                ruleset_fingerprint(*ret_text, fingerprint);
        return 0;
}

static int nft_setup(FilterBackend *b, Error *err) {
        _cleanup_free_ char *text = NULL;
        int r = base_text(b, &text, NULL, NULL, err);
        if (r < 0)
                return r;
        Error e = {0};
        if ((r = nft_run(b->priv, text, false, NULL, &e, "writing the base ruleset")) >= 0)
                return 0;
        if (r != -EEXIST && r != -EINVAL) {
                error_pass(err, &e);
                return r;
        }
        /* a table of an older shape (a set of another type): start afresh.
         * Until filter_sync puts the VMs back their taps are closed. */
        _cleanup_free_ char *fresh = xasprintf("table " T "\ndelete table " T "\n%s", text);
        return nft_run(b->priv, fresh, false, NULL, err, "re-creating our table");
}

/* The tap's current MAC and IP from the vm map. -ENOENT when it has none. */
static int vm_lookup(Nft *n, const char *tap, VmNorm *ret, Error *err) {
        _cleanup_free_ char *cmd = xasprintf("get element " T " vm { \"%s\" }", tap);
        _cleanup_free_ char *out = NULL;
        Error e = {0};
        int r = nft_run(n, cmd, false, &out, &e, "looking up a tap");
        if (r == -ENOENT)
                return -ENOENT;
        if (r < 0) {
                error_pass(err, &e);
                return r;
        }
        _cleanup_free_ char *needle = xasprintf("\"%s\" : ", tap);
        const char *p = strstr(out, needle);
        if (!p)
                return -ENOENT;
        p += strlen(needle);
        char mac[18], ip[16];
        if (sscanf(p, "%17[0-9a-f:] . %15[0-9.]", mac, ip) != 2)
                return error_set(err, -EIO, "filter: nft: cannot read the element of %s", tap);
        ret->tap = tap;
        if (filter_mac_normalize(mac, ret->mac) < 0)
                return error_set(err, -EIO, "filter: nft: bad MAC in the element of %s", tap);
        snprintf(ret->ip, sizeof(ret->ip), "%s", ip);
        ret->isolated = false;
        return 0;
}

static void state_remove_tap_cmds(FILE *f, const State *s, const char *tap);

/* Remove tap's elements knowing (or not) what they are. */
static int remove_slow(FilterBackend *b, const char *tap, Error *err) {
        Nft *n = b->priv;
        VmNorm old;
        int r = vm_lookup(n, tap, &old, err);
        if (r == 0) {
                _cleanup_free_ char *cmds = with_memstream(vm_remove_cmds, &old);
                return nft_run(n, cmds, false, NULL, err, "removing a VM");
        }
        if (r != -ENOENT)
                return r;
        /* not in the map: look for strays in the other sets */
        State s;
        unsigned counts[CH_MAX] = {0};
        if ((r = state_load(b, counts, "", &s, err)) < 0)
                return r;
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                abort();
        state_remove_tap_cmds(f, &s, tap);
        fclose(f);
        state_clear(&s);
        if (len > 0)
                r = nft_run(n, buf, false, NULL, err, "removing a VM");
        free(buf);
        return r;
}

static int nft_remove(FilterBackend *b, const char *tap, Error *err) {
        Nft *n = b->priv;
        Known *k = known_find(n, tap);
        if (k) {
                VmNorm old = {.tap = tap};
                memcpy(old.mac, k->mac, sizeof(old.mac));
                memcpy(old.ip, k->ip, sizeof(old.ip));
                _cleanup_free_ char *cmds = with_memstream(vm_remove_cmds, &old);
                Error e = {0};
                int r = nft_run(n, cmds, false, NULL, &e, "removing a VM");
                /* EEXIST: the tap has other elements than we thought; ENOENT:
                 * our table is gone (nothing to remove, the slow path says so) */
                if (r != -EEXIST && r != -ENOENT) {
                        if (r < 0)
                                error_pass(err, &e);
                        else
                                known_forget(n, tap);
                        return r;
                }
                known_forget(n, tap);
        }
        return remove_slow(b, tap, err);
}

static int nft_add_once(FilterBackend *b, const FilterVm *vm, Error *err) {
        Nft *n = b->priv;
        VmNorm v;
        vm_norm(vm, &v);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                abort();
        Known *k = known_find(n, v.tap);
        if (k && (!streq(k->mac, v.mac) || !streq(k->ip, v.ip))) {
                /* replace what we gave the tap before, in the same transaction */
                VmNorm old = {.tap = v.tap};
                memcpy(old.mac, k->mac, sizeof(old.mac));
                memcpy(old.ip, k->ip, sizeof(old.ip));
                vm_remove_cmds(f, &old);
        }
        vm_add_cmds(f, &v);
        fclose(f);
        Error e = {0};
        int r = nft_run(n, buf, false, NULL, &e, "adding a VM");
        free(buf);
        if (r >= 0)
                known_set(n, v.tap, v.mac, v.ip);
        if (r != -EEXIST) {
                if (r < 0)
                        error_pass(err, &e);
                return r;
        }
        /* the tap has another MAC or IP than we knew: ask the kernel */
        known_forget(n, v.tap);
        VmNorm old;
        if ((r = vm_lookup(n, vm->tap, &old, err)) < 0)
                return r == -ENOENT ? error_set(err, -EEXIST, "%s", e.message) : r;
        buf = NULL;
        len = 0;
        if (!(f = open_memstream(&buf, &len)))
                abort();
        vm_remove_cmds(f, &old);
        vm_add_cmds(f, &v);
        fclose(f);
        r = nft_run(n, buf, false, NULL, err, "replacing a VM");
        free(buf);
        if (r >= 0)
                known_set(n, v.tap, v.mac, v.ip);
        return r;
}

static int nft_add(FilterBackend *b, const FilterVm *vm, Error *err) {
        Error e = {0};
        int r = nft_add_once(b, vm, &e);
        if (r != -ENOENT)
                return r < 0 ? error_pass(err, &e) : r;
        /* our table vanished (`nft flush ruleset`): put it back first. The
         * other VMs' taps stay closed until filter_sync gives them theirs. */
        Nft *n = b->priv;
        n->n_known = 0;
        if ((r = nft_setup(b, err)) < 0)
                return r;
        return nft_add_once(b, vm, err);
}

/* Sorted lookups, so that a sync of thousands of VMs stays fast. */
static int cmp_pair(const void *a, const void *b) {
        const Pair *x = a, *y = b;
        int c = strcmp(x->key, y->key);
        return c ? c : strcmp(x->value ? x->value : "", y->value ? y->value : "");
}

static int cmp_name(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_vm(const void *a, const void *b) {
        return strcmp(((const VmNorm *)a)->tap, ((const VmNorm *)b)->tap);
}

static bool pairs_have(const Pair *p, size_t n, const char *key, const char *value) {
        Pair k = {(char *)key, (char *)value};
        return n && bsearch(&k, p, n, sizeof(Pair), cmp_pair);
}

static bool names_have(char *const *names, size_t n, const char *key) {
        return n && bsearch(&key, names, n, sizeof(char *), cmp_name);
}

static const VmNorm *want_find(const VmNorm *want, size_t n, const char *tap) {
        VmNorm k = {.tap = tap};
        return n ? bsearch(&k, want, n, sizeof(VmNorm), cmp_vm) : NULL;
}

static void state_sort(State *s) {
        if (s->n_vm)
                qsort(s->vm, s->n_vm, sizeof(Pair), cmp_pair);
        if (s->n_mac)
                qsort(s->mac, s->n_mac, sizeof(Pair), cmp_pair);
        if (s->n_ip4)
                qsort(s->ip4, s->n_ip4, sizeof(Pair), cmp_pair);
        if (s->n_iso)
                qsort(s->iso, s->n_iso, sizeof(char *), cmp_name);
}

static void state_remove_tap_cmds(FILE *f, const State *s, const char *tap) {
        for (size_t i = 0; i < s->n_vm; i++)
                if (streq(s->vm[i].key, tap))
                        fprintf(f, "delete element " T " vm { \"%s\" }\n", tap);
        for (size_t i = 0; i < s->n_mac; i++)
                if (streq(s->mac[i].key, tap))
                        fprintf(f, "delete element " T " vm_mac { \"%s\" . %s }\n", tap, s->mac[i].value);
        for (size_t i = 0; i < s->n_ip4; i++)
                if (streq(s->ip4[i].key, tap))
                        fprintf(f, "delete element " T " vm_ip4 { \"%s\" . %s }\n", tap, s->ip4[i].value);
        for (size_t i = 0; i < s->n_iso; i++)
                if (streq(s->iso[i], tap))
                        fprintf(f, "delete element " T " isolated { \"%s\" }\n", tap);
}

/* The commands that turn state s into want (n VMs, sorted by tap). */
static void sync_cmds(FILE *f, const State *s, const VmNorm *want, size_t n) {
        const VmNorm *w;
        char val[40];
        /* what is there and should not be */
        for (size_t i = 0; i < s->n_vm; i++) {
                w = want_find(want, n, s->vm[i].key);
                if (w)
                        snprintf(val, sizeof(val), "%s . %s", w->mac, w->ip);
                if (!w || !streq(s->vm[i].value, val))
                        fprintf(f, "delete element " T " vm { \"%s\" }\n", s->vm[i].key);
        }
        for (size_t i = 0; i < s->n_mac; i++)
                if (!(w = want_find(want, n, s->mac[i].key)) || !streq(s->mac[i].value, w->mac))
                        fprintf(f, "delete element " T " vm_mac { \"%s\" . %s }\n", s->mac[i].key, s->mac[i].value);
        for (size_t i = 0; i < s->n_ip4; i++)
                if (!(w = want_find(want, n, s->ip4[i].key)) || !streq(s->ip4[i].value, w->ip))
                        fprintf(f, "delete element " T " vm_ip4 { \"%s\" . %s }\n", s->ip4[i].key, s->ip4[i].value);
        for (size_t i = 0; i < s->n_iso; i++)
                if (!(w = want_find(want, n, s->iso[i])) || !w->isolated)
                        fprintf(f, "delete element " T " isolated { \"%s\" }\n", s->iso[i]);
        /* what should be there and is not */
        for (size_t j = 0; j < n; j++) {
                const VmNorm *v = &want[j];
                snprintf(val, sizeof(val), "%s . %s", v->mac, v->ip);
                if (!pairs_have(s->vm, s->n_vm, v->tap, val))
                        fprintf(f, "add element " T " vm { \"%s\" : %s }\n", v->tap, val);
                if (!pairs_have(s->mac, s->n_mac, v->tap, v->mac))
                        fprintf(f, "add element " T " vm_mac { \"%s\" . %s }\n", v->tap, v->mac);
                if (!pairs_have(s->ip4, s->n_ip4, v->tap, v->ip))
                        fprintf(f, "add element " T " vm_ip4 { \"%s\" . %s }\n", v->tap, v->ip);
                if (v->isolated && !names_have(s->iso, s->n_iso, v->tap))
                        fprintf(f, "add element " T " isolated { \"%s\" }\n", v->tap);
        }
}

static int nft_sync(FilterBackend *b, const FilterVm *vms, size_t n, Error *err) {
        Nft *nft = b->priv;
        _cleanup_free_ char *base = NULL;
        unsigned counts[CH_MAX];
        char fingerprint[17];
        int r = base_text(b, &base, counts, fingerprint, err);
        if (r < 0)
                return r;
        State s;
        if ((r = state_load(b, counts, fingerprint, &s, err)) < 0)
                return r;
        state_sort(&s);
        VmNorm *want = xcalloc(n ? n : 1, sizeof(VmNorm));
        for (size_t i = 0; i < n; i++)
                vm_norm(&vms[i], &want[i]);
        if (n)
                qsort(want, n, sizeof(VmNorm), cmp_vm);

        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                abort();
        if (!s.base_ok)
                fputs(base, f);
        sync_cmds(f, &s, want, n);
        fclose(f);
        Error e = {0};
        r = 0;
        if (len > 0)
                r = nft_run(nft, buf, false, NULL, &e, "synchronising the rules");
        free(buf);
        if ((r == -EEXIST || r == -EINVAL) && s.exists && !s.base_ok) {
                /* a table of an older shape: re-create it with everything, at once */
                State empty = {0};
                buf = NULL;
                len = 0;
                if (!(f = open_memstream(&buf, &len)))
                        abort();
                fprintf(f, "table " T "\ndelete table " T "\n%s", base);
                sync_cmds(f, &empty, want, n);
                fclose(f);
                error_clear(&e);
                r = nft_run(nft, buf, false, NULL, &e, "re-creating our table");
                free(buf);
        }
        state_clear(&s);
        if (r < 0)
                error_pass(err, &e);
        else {
                /* what we wrote is what the kernel has now */
                Known *k = realloc(nft->known, (n ? n : 1) * sizeof(Known));
                if (!k)
                        abort();
                nft->known = k;
                nft->n_known = n;
                for (size_t j = 0; j < n; j++) {
                        snprintf(k[j].tap, sizeof(k[j].tap), "%s", want[j].tap);
                        memcpy(k[j].mac, want[j].mac, sizeof(k[j].mac));
                        memcpy(k[j].ip, want[j].ip, sizeof(k[j].ip));
                }
        }
        free(want);
        return r;
}

static int nft_list(FilterBackend *b, char ***ret_taps, size_t *ret_n, Error *err) {
        State s;
        unsigned counts[CH_MAX] = {0};
        int r = state_load(b, counts, "", &s, err);
        if (r < 0)
                return r;
        size_t total = s.n_vm + s.n_mac + s.n_ip4 + s.n_iso, k = 0;
        char **all = xcalloc(total + 1, sizeof(char *));
        for (size_t i = 0; i < s.n_vm; i++)
                all[k++] = s.vm[i].key;
        for (size_t i = 0; i < s.n_mac; i++)
                all[k++] = s.mac[i].key;
        for (size_t i = 0; i < s.n_ip4; i++)
                all[k++] = s.ip4[i].key;
        for (size_t i = 0; i < s.n_iso; i++)
                all[k++] = s.iso[i];
        *ret_taps = filter_names_sorted(all, k, ret_n);
        free(all);
        state_clear(&s);
        return 0;
}

const FilterOps filter_nft_ops = {
        .name = "nft",
        .init = nft_init,
        .done = nft_done,
        .setup = nft_setup,
        .add = nft_add,
        .remove = nft_remove,
        .sync = nft_sync,
        .list = nft_list,
};
