/* filter.c - what the filter backends share: argument checks, the backend
 * object and its dispatch, the "none" backend, command-list helpers. */
#include "net/filter.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "net/link.h"

/* ---- checks ------------------------------------------------------------ */

bool filter_tap_is_valid(const char *tap) {
        size_t plen = strlen(LINK_TAP_PREFIX);
        if (!tap || strncmp(tap, LINK_TAP_PREFIX, plen) != 0)
                return false;
        size_t len = strlen(tap);
        if (len == plen || len > LINK_NAME_MAX)
                return false;
        /* the name goes into nft strings, ebtables chain names and argv:
         * nothing that quotes, globs ('*', '+') or splits */
        for (const char *p = tap + plen; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '_'))
                        return false;
        return true;
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static int mac_parse(const char *s, uint8_t m[6]) {
        if (!s || strlen(s) != 17)
                return -EINVAL;
        for (int i = 0; i < 6; i++) {
                int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);
                if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
                        return -EINVAL;
                m[i] = (uint8_t)(hi << 4 | lo);
        }
        return 0;
}

static void mac_format(const uint8_t m[6], char ret[18]) {
        snprintf(ret, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

int filter_mac_normalize(const char *mac, char ret[static 18]) {
        uint8_t m[6];
        if (mac_parse(mac, m) < 0)
                return -EINVAL;
        if (m[0] & 1) /* multicast / broadcast */
                return -EINVAL;
        if (!(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
                return -EINVAL;
        mac_format(m, ret);
        return 0;
}

/* A unicast IPv4 address in canonical dotted form. */
static int ip_normalize(const char *s, char ret[16]) {
        struct in_addr a;
        if (!s || inet_pton(AF_INET, s, &a) != 1)
                return -EINVAL;
        uint32_t h = ntohl(a.s_addr);
        if (h == 0 || h == 0xffffffffu || (h >> 28) == 0xe || (h >> 24) == 127)
                return -EINVAL;
        if (!inet_ntop(AF_INET, &a, ret, 16))
                return -EINVAL;
        return streq(s, ret) ? 0 : -EINVAL;
}

/* "a.b.c.d" or "a.b.c.d/len" (1..32, no host bits set). */
static int allow_check(const char *s) {
        if (!s || strlen(s) > 18)
                return -EINVAL;
        char buf[19], canon[16];
        strcpy(buf, s);
        char *slash = strchr(buf, '/');
        if (!slash) {
                struct in_addr a;
                if (inet_pton(AF_INET, buf, &a) != 1 || !inet_ntop(AF_INET, &a, canon, sizeof(canon)) ||
                    !streq(buf, canon))
                        return -EINVAL;
                return 0;
        }
        *slash = 0;
        uint32_t len;
        if (parse_u32(slash + 1, &len) < 0 || len < 1 || len > 32)
                return -EINVAL;
        struct in_addr a;
        if (inet_pton(AF_INET, buf, &a) != 1 || !inet_ntop(AF_INET, &a, canon, sizeof(canon)) || !streq(buf, canon))
                return -EINVAL;
        uint32_t h = ntohl(a.s_addr), mask = len == 32 ? 0xffffffffu : ~(0xffffffffu >> len);
        return (h & ~mask) ? -EINVAL : 0;
}

int filter_host_port_parse(const char *s, char ret_proto[static 4], unsigned *ret_port) {
        uint32_t port;
        if (!s || (strncmp(s, "tcp/", 4) != 0 && strncmp(s, "udp/", 4) != 0) || !s[4] || s[4] == '0' ||
            strspn(s + 4, "0123456789") != strlen(s + 4) || parse_u32(s + 4, &port) < 0 || port < 1 ||
            port > 65535)
                return -EINVAL;
        memcpy(ret_proto, s, 3);
        ret_proto[3] = 0;
        *ret_port = port;
        return 0;
}

/* modified EUI-64: the universal/local bit flipped, ff:fe in the middle;
 * behind prefix (fe80::/64, or none: the interface identifier alone) */
static void mac_eui64(const char mac[static 18], bool link_local, bool text, char ret[static 46]) {
        uint8_t m[6] = {0}, a[16] = {0};
        mac_parse(mac, m);
        if (link_local) {
                a[0] = 0xfe;
                a[1] = 0x80;
        }
        uint8_t id[8] = {m[0] ^ 2, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]};
        memcpy(a + 8, id, 8);
        if (text) {
                inet_ntop(AF_INET6, a, ret, 46);
                return;
        }
        for (int i = link_local ? 0 : 8; i < 16; i++)
                snprintf(ret + 2 * (link_local ? i : i - 8), 3, "%02x", a[i]);
}

void filter_mac_link_local(const char mac[static 18], bool text, char ret[static 46]) {
        mac_eui64(mac, true, text, ret);
}

void filter_mac_iid6(const char mac[static 18], bool text, char ret[static 46]) {
        mac_eui64(mac, false, text, ret);
}

int filter_vm_check(const FilterVm *vm, Error *err) {
        char mac[18], ip[16];
        if (!vm)
                return error_set(err, -EINVAL, "filter: no VM");
        if (!filter_tap_is_valid(vm->tap))
                return error_set(err, -EINVAL,
                                 "filter: invalid tap name '%s' (want " LINK_TAP_PREFIX
                                 " and 1-12 letters, digits or '_')",
                                 vm->tap ? vm->tap : "");
        if (filter_mac_normalize(vm->mac, mac) < 0)
                return error_set(err, -EINVAL, "filter: %s: invalid MAC '%s' (want a unicast xx:xx:xx:xx:xx:xx)",
                                 vm->tap, vm->mac ? vm->mac : "");
        if (ip_normalize(vm->ip, ip) < 0)
                return error_set(err, -EINVAL, "filter: %s: invalid IPv4 address '%s' (want a unicast a.b.c.d)",
                                 vm->tap, vm->ip ? vm->ip : "");
        return 0;
}

int filter_net_check(const FilterNet *net, bool need_macs, Error *err) {
        char buf[18];
        if (!net)
                return error_set(err, -EINVAL, "filter: no network");
        if (net->bridge && !link_name_is_valid(net->bridge))
                return error_set(err, -EINVAL, "filter: invalid bridge name '%s'", net->bridge);
        if (ip_normalize(net->gateway_ip, buf) < 0)
                return error_set(err, -EINVAL, "filter: invalid gateway address '%s'",
                                 net->gateway_ip ? net->gateway_ip : "");
        if (net->dhcp_ip && ip_normalize(net->dhcp_ip, buf) < 0)
                return error_set(err, -EINVAL, "filter: invalid DHCP server address '%s'", net->dhcp_ip);
        if (net->gateway_mac && filter_mac_normalize(net->gateway_mac, buf) < 0)
                return error_set(err, -EINVAL, "filter: invalid gateway MAC '%s'", net->gateway_mac);
        if (net->dhcp_mac && filter_mac_normalize(net->dhcp_mac, buf) < 0)
                return error_set(err, -EINVAL, "filter: invalid DHCP server MAC '%s'", net->dhcp_mac);
        if (!net->gateway_mac && isempty(net->bridge))
                return error_set(err, -EINVAL, "filter: neither a gateway MAC nor a bridge to take it from");
        if (need_macs && !net->gateway_mac)
                return error_set(err, -EINVAL, "filter: no gateway MAC");
        if (net->n_allow > FILTER_ALLOW_MAX)
                return error_set(err, -E2BIG, "filter: %zu allowed addresses (at most %d)", net->n_allow,
                                 FILTER_ALLOW_MAX);
        if (net->n_allow && !net->allow_ips)
                return error_set(err, -EINVAL, "filter: allow-list missing");
        for (size_t i = 0; i < net->n_allow; i++)
                if (allow_check(net->allow_ips[i]) < 0)
                        return error_set(err, -EINVAL, "filter: invalid allowed address '%s' (want a.b.c.d[/len])",
                                         net->allow_ips[i] ? net->allow_ips[i] : "");
        if (net->n_host_ips > FILTER_HOST_IPS_MAX || net->n_host_ports > FILTER_HOST_PORTS_MAX)
                return error_set(err, -E2BIG, "filter: %zu host addresses, %zu host ports (at most %d, %d)",
                                 net->n_host_ips, net->n_host_ports, FILTER_HOST_IPS_MAX, FILTER_HOST_PORTS_MAX);
        if ((net->n_host_ips && !net->host_ips) || (net->n_host_ports && !net->host_ports))
                return error_set(err, -EINVAL, "filter: host addresses or ports missing");
        for (size_t i = 0; i < net->n_host_ips; i++)
                if (allow_check(net->host_ips[i]) < 0)
                        return error_set(err, -EINVAL, "filter: invalid host address '%s' (want a.b.c.d[/len])",
                                         net->host_ips[i] ? net->host_ips[i] : "");
        char proto[4];
        unsigned port;
        for (size_t i = 0; i < net->n_host_ports; i++)
                if (filter_host_port_parse(net->host_ports[i], proto, &port) < 0)
                        return error_set(err, -EINVAL, "filter: invalid host port '%s' (want tcp/PORT or udp/PORT)",
                                         net->host_ports[i] ? net->host_ports[i] : "");
        return 0;
}

/* ---- command lists ----------------------------------------------------- */

void filter_cmds_clear(FilterCmds *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n; i++) {
                for (char **a = c->argv[i]; *a; a++)
                        free(*a);
                free(c->argv[i]);
        }
        free(c->argv);
        c->argv = NULL;
        c->n = 0;
}

static void cmds_push(FilterCmds *c, char **argv) {
        c->argv = xrealloc(c->argv, (c->n + 1) * sizeof(char **));
        c->argv[c->n++] = argv;
}

void filter_ebt_cmdf(FilterCmds *c, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *line = NULL;
        if (vasprintf(&line, fmt, ap) < 0)
                abort();
        va_end(ap);
        size_t n = 1, cap = 8;
        char **argv = xcalloc(cap, sizeof(char *));
        argv[0] = xstrdup(FILTER_EBT_PROGRAM);
        char *save = NULL;
        for (char *w = strtok_r(line, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                if (n + 2 > cap) {
                        cap *= 2;
                        argv = xrealloc(argv, cap * sizeof(char *));
                }
                argv[n++] = xstrdup(w);
        }
        argv[n] = NULL;
        free(line);
        cmds_push(c, argv);
}

void filter_cmds_move(FilterCmds *to, FilterCmds *from) {
        for (size_t i = 0; i < from->n; i++)
                cmds_push(to, from->argv[i]);
        free(from->argv);
        *from = (FilterCmds){0};
}

char *filter_cmds_format(const FilterCmds *c) {
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        if (!m)
                abort();
        for (size_t i = 0; i < c->n; i++) {
                for (char **a = c->argv[i]; *a; a++)
                        fprintf(m, "%s%s", a == c->argv[i] ? "" : " ", *a);
                fputc('\n', m);
        }
        fclose(m);
        return buf;
}

void filter_names_free(char **names) {
        strv_free(names);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

char **filter_names_sorted(char **names, size_t n, size_t *ret_n) {
        char **out = xcalloc(n + 1, sizeof(char *));
        size_t k = 0;
        if (n)
                qsort(names, n, sizeof(char *), cmp_str);
        for (size_t i = 0; i < n; i++)
                if (k == 0 || !streq(out[k - 1], names[i]))
                        out[k++] = xstrdup(names[i]);
        *ret_n = k;
        return out;
}

/* ---- the "none" backend ------------------------------------------------ */

static int none_ok(FilterBackend *b, Error *err) {
        return 0;
}
static int none_add(FilterBackend *b, const FilterVm *vm, Error *err) {
        return 0;
}
static int none_remove(FilterBackend *b, const char *tap, Error *err) {
        return 0;
}
static int none_sync(FilterBackend *b, const FilterVm *vms, size_t n, Error *err) {
        return 0;
}
static int none_list(FilterBackend *b, char ***ret_taps, size_t *ret_n, Error *err) {
        *ret_taps = xcalloc(1, sizeof(char *));
        *ret_n = 0;
        return 0;
}

static const FilterOps filter_none_ops = {
        .name = "none",
        .setup = none_ok,
        .add = none_add,
        .remove = none_remove,
        .sync = none_sync,
        .list = none_list,
};

/* ---- the backend object ------------------------------------------------ */

/* A NULL-terminated copy of n strings. */
static char **strv_copy(const char *const *v, size_t n) {
        char **c = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                c[i] = xstrdup(v[i]);
        return c;
}

static const char *own(FilterBackend *b, size_t slot, const char *s) {
        if (!s)
                return NULL;
        free(b->net_strings[slot]);
        b->net_strings[slot] = xstrdup(s);
        return b->net_strings[slot];
}

static const FilterOps *const backends[] = {&filter_nft_ops, &filter_ebt_ops, &filter_none_ops};

static int ops_by_name(const char *kind, const FilterOps **ret, Error *err) {
        for (size_t i = 0; i < ELEMENTSOF(backends); i++)
                if (streq(isempty(kind) ? "nft" : kind, backends[i]->name)) {
                        *ret = backends[i];
                        return 0;
                }
        return error_set(err, -EINVAL, "filter: unknown backend '%s' (want nft, ebtables or none)", kind);
}

int filter_backend_new(const char *kind, const FilterNet *net, FilterBackend **ret, Error *err) {
        const FilterOps *ops;
        int r = ops_by_name(kind, &ops, err);
        if (r < 0)
                return r;
        if (ops != &filter_none_ops && (r = filter_net_check(net, false, err)) < 0)
                return r;

        FilterBackend *b = xcalloc(1, sizeof(*b));
        b->ops = ops;
        if (net) {
                b->net.bridge = own(b, 0, net->bridge);
                b->net.gateway_ip = own(b, 1, net->gateway_ip);
                b->net.gateway_mac = own(b, 2, net->gateway_mac);
                b->net.dhcp_ip = own(b, 3, net->dhcp_ip);
                b->net.dhcp_mac = own(b, 4, net->dhcp_mac);
                b->net.broadcast_pps = net->broadcast_pps;
                b->allow = strv_copy(net->allow_ips, net->n_allow);
                b->net.allow_ips = (const char *const *)b->allow;
                b->net.n_allow = net->n_allow;
                b->host_auto = !net->host_ips;
                b->host_ips = strv_copy(net->host_ips, net->n_host_ips);
                b->net.host_ips = (const char *const *)b->host_ips;
                b->net.n_host_ips = net->n_host_ips;
                b->host_ports = strv_copy(net->host_ports, net->n_host_ports);
                b->net.host_ports = (const char *const *)b->host_ports;
                b->net.n_host_ports = net->n_host_ports;
        }
        if (ops->init && (r = ops->init(b, err)) < 0) {
                b->ops = &filter_none_ops; /* nothing to undo */
                filter_backend_free(b);
                return r;
        }
        *ret = b;
        return 0;
}

void filter_backend_free(FilterBackend *b) {
        if (!b)
                return;
        if (b->ops->done)
                b->ops->done(b);
        for (size_t i = 0; i < ELEMENTSOF(b->net_strings); i++)
                free(b->net_strings[i]);
        strv_free(b->allow);
        strv_free(b->host_ips);
        strv_free(b->host_ports);
        free(b);
}

const char *filter_backend_name(const FilterBackend *b) {
        return b->ops->name;
}

/* ---- the host ---------------------------------------------------------- */

int filter_backend_probe(const char *kind, Error *err) {
        const FilterOps *ops;
        int r = ops_by_name(kind, &ops, err);
        if (r < 0 || !ops->probe)
                return r;
        return ops->probe(err);
}

static bool text_has_any(const char *text, const char *const *needles) {
        for (; text && *needles; needles++)
                if (strstr(text, *needles))
                        return true;
        return false;
}

char *filter_probe_explain(const char *kind, int code, const char *text) {
        static const char *const no_family[] = {
                "Protocol not supported", "Address family not supported", "Operation not supported",
                "No such file or directory", "doesn't support", "does not exist", "Could not fetch rule set", NULL,
        };
        char line[300];
        snprintf(line, sizeof(line), "%s", text ? text : "");
        line[strcspn(line, "\n")] = 0;
        bool ebt = streq(kind, "ebtables");
        if (ebt && code == -ENOENT && !text)
                return xasprintf("filter_backend = ebtables needs the program " FILTER_EBT_PROGRAM
                                 ", which is not installed (Debian package: iptables)");
        if (code == -EPERM || code == -EACCES || strstr(line, "Operation not permitted") ||
            strstr(line, "Permission denied"))
                return xasprintf("filter_backend = %s: not permitted to change the kernel's filters (vmbatchd "
                                 "needs CAP_NET_ADMIN: run it as root)%s%s",
                                 kind, *line ? ": " : "", line);
        if (text_has_any(line, no_family) || code == -EOPNOTSUPP || code == -EAFNOSUPPORT ||
            code == -EPROTONOSUPPORT)
                return xasprintf("filter_backend = %s: the kernel has no nftables bridge family%s (kernel options "
                                 "CONFIG_NF_TABLES and CONFIG_NF_TABLES_BRIDGE)%s%s",
                                 kind, ebt ? " for " FILTER_EBT_PROGRAM : "", *line ? ": " : "", line);
        return xasprintf("filter_backend = %s does not work on this host: %s", kind,
                         *line ? line : strerror(code < 0 ? -code : EIO));
}

int filter_purge_others(const char *kind, char ***ret_removed, Error *err) {
        const FilterOps *keep;
        int r = ops_by_name(kind, &keep, err);
        if (r < 0)
                return r;
        char **removed = xcalloc(ELEMENTSOF(backends) + 1, sizeof(char *));
        size_t n = 0;
        for (size_t i = 0; i < ELEMENTSOF(backends); i++) {
                char *what = NULL;
                if (backends[i] == keep || !backends[i]->purge)
                        continue;
                if ((r = backends[i]->purge(&what, err)) < 0) {
                        filter_names_free(removed);
                        return r;
                }
                if (r > 0)
                        removed[n++] = what;
        }
        *ret_removed = removed;
        return 0;
}

static int bridge_mac(const char *bridge, char ret[18], Error *err) {
        if (strlen(bridge) >= IFNAMSIZ)
                return error_set(err, -EINVAL, "filter: invalid bridge name '%s'", bridge);
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return error_set(err, -errno, "filter: socket: %s", strerror(errno));
        struct ifreq ifr = {0};
        memcpy(ifr.ifr_name, bridge, strlen(bridge));
        if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
                int r = -errno;
                if (r == -ENODEV)
                        return error_set(err, r, "filter: bridge %s does not exist (its MAC is the gateway MAC)",
                                         bridge);
                return error_set(err, r, "filter: MAC of %s: %s", bridge, strerror(-r));
        }
        if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
                return error_set(err, -EINVAL, "filter: %s is not an Ethernet device", bridge);
        mac_format((const uint8_t *)ifr.ifr_hwaddr.sa_data, ret);
        return 0;
}

/* Every IPv4 address of this network namespace and the broadcast address
 * of its prefix, as the kernel routes it locally (sorted, without
 * duplicates; loopback is always in the rules). */
static int host_addresses(char ***ret, size_t *ret_n, Error *err) {
        struct ifaddrs *ifa;
        if (getifaddrs(&ifa) < 0)
                return error_set(err, -errno, "filter: the host's addresses: %s", strerror(errno));
        char **v = NULL;
        size_t n = 0;
        for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
                if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || n + 2 > FILTER_HOST_IPS_MAX)
                        continue;
                uint32_t a = ntohl(((const struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
                uint32_t mask = i->ifa_netmask ? ntohl(((const struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr)
                                               : 0xffffffffu;
                if ((a >> 24) == 127)
                        continue;
                uint32_t both[2] = {a, a | ~mask};
                for (size_t k = 0; k < (mask < 0xfffffffeu ? 2u : 1u); k++) {
                        struct in_addr in = {htonl(both[k])};
                        char s[INET_ADDRSTRLEN];
                        inet_ntop(AF_INET, &in, s, sizeof(s));
                        v = xrealloc(v, (n + 1) * sizeof(char *));
                        v[n++] = xstrdup(s);
                }
        }
        freeifaddrs(ifa);
        *ret = filter_names_sorted(v, n, ret_n);
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
        return 0;
}

int filter_backend_net(FilterBackend *b, const FilterNet **ret, Error *err) {
        if (b->host_auto) {
                char **v = NULL;
                size_t n = 0;
                int r = host_addresses(&v, &n, err);
                if (r < 0)
                        return r;
                strv_free(b->host_ips);
                b->host_ips = v;
                b->net.host_ips = (const char *const *)v;
                b->net.n_host_ips = n;
        }
        if (!b->macs_resolved) {
                char mac[18];
                int r;
                if (b->net.gateway_mac) {
                        filter_mac_normalize(b->net.gateway_mac, mac); /* checked in _new */
                } else if ((r = bridge_mac(b->net.bridge, mac, err)) < 0)
                        return r;
                b->net.gateway_mac = own(b, 2, mac);
                if (b->net.dhcp_mac) {
                        filter_mac_normalize(b->net.dhcp_mac, mac);
                        b->net.dhcp_mac = own(b, 4, mac);
                } else
                        b->net.dhcp_mac = own(b, 4, b->net.gateway_mac);
                if (!b->net.dhcp_ip)
                        b->net.dhcp_ip = own(b, 3, b->net.gateway_ip);
                if (b->net.broadcast_pps == 0)
                        b->net.broadcast_pps = FILTER_BROADCAST_PPS_DEFAULT;
                b->macs_resolved = true;
        }
        *ret = &b->net;
        return 0;
}

/* ---- dispatch ---------------------------------------------------------- */

int filter_setup(FilterBackend *b, Error *err) {
        return b->ops->setup(b, err);
}

int filter_add(FilterBackend *b, const FilterVm *vm, Error *err) {
        int r = filter_vm_check(vm, err);
        if (r < 0)
                return r;
        return b->ops->add(b, vm, err);
}

int filter_remove(FilterBackend *b, const char *tap, Error *err) {
        if (!filter_tap_is_valid(tap))
                return error_set(err, -EINVAL, "filter: invalid tap name '%s'", tap ? tap : "");
        return b->ops->remove(b, tap, err);
}

int filter_sync(FilterBackend *b, const FilterVm *vms, size_t n, Error *err) {
        int r;
        if (n && !vms)
                return error_set(err, -EINVAL, "filter: no VMs");
        for (size_t i = 0; i < n; i++) {
                if ((r = filter_vm_check(&vms[i], err)) < 0)
                        return r;
                for (size_t j = 0; j < i; j++)
                        if (streq(vms[i].tap, vms[j].tap))
                                return error_set(err, -EINVAL, "filter: tap %s listed twice", vms[i].tap);
        }
        return b->ops->sync(b, vms, n, err);
}

int filter_list(FilterBackend *b, char ***ret_taps, size_t *ret_n, Error *err) {
        return b->ops->list(b, ret_taps, ret_n, err);
}
