/* link.c - bridges and taps over a raw NETLINK_ROUTE socket and the tun
 * ioctls. A small request/ack wrapper in the manner of iproute2's
 * lib/libnetlink.c: SOCK_CLOEXEC, NETLINK_EXT_ACK for the kernel's error
 * text, NETLINK_CAP_ACK, sequence numbers checked, replies only from the
 * kernel, every attribute bounds-checked before it is read. */
#include "net/link.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>

#define NL_REQ_MAX 1024
#define NL_RECV_MAX 65536
#define NL_TIMEOUT_SEC 5

/* ---- pure helpers ------------------------------------------------------ */

bool link_name_is_valid(const char *name) {
        if (isempty(name) || strlen(name) > LINK_NAME_MAX || streq(name, ".") || streq(name, ".."))
                return false;
        for (const char *p = name; *p; p++) {
                unsigned char c = (unsigned char)*p;
                /* the kernel refuses '/', ':' and whitespace; '%' would be a
                 * format for TUNSETIFF; control bytes are never sensible */
                if (c <= ' ' || c == '/' || c == ':' || c == '%' || c >= 0x7f)
                        return false;
        }
        return true;
}

int link_tap_name(uint64_t instance_id, char *buf, size_t size) {
        char tmp[32];
        int n = snprintf(tmp, sizeof(tmp), LINK_TAP_PREFIX "%" PRIu64, instance_id);
        if (n < 0 || (size_t)n > LINK_NAME_MAX)
                return -ENAMETOOLONG;
        if ((size_t)n >= size)
                return -ENOBUFS;
        memcpy(buf, tmp, (size_t)n + 1);
        return 0;
}

int link_tap_name_parse(const char *name, uint64_t *ret_instance_id) {
        size_t plen = strlen(LINK_TAP_PREFIX);
        if (!name || strncmp(name, LINK_TAP_PREFIX, plen) != 0 || strlen(name) > LINK_NAME_MAX)
                return -EINVAL;
        const char *digits = name + plen;
        if (!*digits || (digits[0] == '0' && digits[1]))
                return -EINVAL;
        for (const char *p = digits; *p; p++)
                if (*p < '0' || *p > '9')
                        return -EINVAL;
        uint64_t id;
        if (parse_u64(digits, &id) < 0)
                return -EINVAL;
        *ret_instance_id = id;
        return 0;
}

int link_address_parse(const char *cidr, LinkAddress *ret) {
        if (isempty(cidr))
                return -EINVAL;
        const char *slash = strchr(cidr, '/');
        if (!slash || slash == cidr || (size_t)(slash - cidr) >= INET6_ADDRSTRLEN)
                return -EINVAL;
        char host[INET6_ADDRSTRLEN];
        memcpy(host, cidr, (size_t)(slash - cidr));
        host[slash - cidr] = 0;

        LinkAddress a = {0};
        unsigned max;
        if (inet_pton(AF_INET, host, a.addr) == 1) {
                a.family = AF_INET;
                max = 32;
        } else if (inet_pton(AF_INET6, host, a.addr) == 1) {
                a.family = AF_INET6;
                max = 128;
        } else
                return -EINVAL;
        uint32_t plen;
        if (parse_u32(slash + 1, &plen) < 0 || plen > max || (slash[1] == '0' && slash[2]))
                return -EINVAL;
        a.prefixlen = plen;
        *ret = a;
        return 0;
}

/* ---- netlink messages -------------------------------------------------- */

typedef struct NlMsg {
        union {
                struct nlmsghdr nh;
                char buf[NL_REQ_MAX];
        };
        bool overflow; /* an attribute did not fit: the request is refused */
} NlMsg;

static void *nl_init(NlMsg *m, uint16_t type, uint16_t flags, size_t hdr_len) {
        memset(m, 0, sizeof(*m));
        m->nh.nlmsg_len = (uint32_t)NLMSG_LENGTH(hdr_len);
        m->nh.nlmsg_type = type;
        m->nh.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
        return NLMSG_DATA(&m->nh);
}

static void nl_put(NlMsg *m, uint16_t type, const void *data, size_t len) {
        size_t off = NLMSG_ALIGN(m->nh.nlmsg_len);
        size_t alen = RTA_LENGTH(len);
        if (m->overflow || off + RTA_ALIGN(alen) > sizeof(m->buf) || alen > UINT16_MAX) {
                m->overflow = true;
                return;
        }
        struct rtattr *rta = (struct rtattr *)(m->buf + off);
        rta->rta_type = type;
        rta->rta_len = (uint16_t)alen;
        if (len)
                memcpy(RTA_DATA(rta), data, len);
        m->nh.nlmsg_len = (uint32_t)(off + RTA_ALIGN(alen));
}

static void nl_put_u32(NlMsg *m, uint16_t type, uint32_t v) {
        nl_put(m, type, &v, sizeof(v));
}

static void nl_put_str(NlMsg *m, uint16_t type, const char *s) {
        nl_put(m, type, s, strlen(s) + 1);
}

/* Returns the offset of the nest; close it with nl_nest_end. */
static size_t nl_nest_start(NlMsg *m, uint16_t type) {
        size_t off = NLMSG_ALIGN(m->nh.nlmsg_len);
        nl_put(m, (uint16_t)(type | NLA_F_NESTED), NULL, 0);
        return off;
}

static void nl_nest_end(NlMsg *m, size_t off) {
        if (m->overflow)
                return;
        struct rtattr *rta = (struct rtattr *)(m->buf + off);
        rta->rta_len = (uint16_t)(m->nh.nlmsg_len - off);
}

/* Fill tb[0..max] with the attributes in [rta, rta + len); later duplicates
 * win, unknown types are ignored, a truncated attribute ends the walk. */
static void nl_parse(const struct rtattr *tb[], unsigned max, const struct rtattr *rta, size_t len) {
        memset(tb, 0, sizeof(*tb) * (max + 1));
        int left = len > INT32_MAX ? INT32_MAX : (int)len;
        for (; RTA_OK(rta, left); rta = RTA_NEXT(rta, left)) {
                unsigned type = rta->rta_type & ~(unsigned)(NLA_F_NESTED | NLA_F_NET_BYTEORDER);
                if (type <= max)
                        tb[type] = rta;
        }
}

static bool nl_get_u32(const struct rtattr *rta, uint32_t *ret) {
        if (!rta || RTA_PAYLOAD(rta) < sizeof(uint32_t))
                return false;
        memcpy(ret, RTA_DATA(rta), sizeof(uint32_t));
        return true;
}

/* A string attribute copied into buf (NUL-terminated whether or not the
 * attribute is); false when absent. */
static bool nl_get_str(const struct rtattr *rta, char *buf, size_t size) {
        if (!rta || size == 0)
                return false;
        size_t n = RTA_PAYLOAD(rta);
        const char *s = RTA_DATA(rta);
        size_t l = strnlen(s, n);
        if (l >= size)
                l = size - 1;
        memcpy(buf, s, l);
        buf[l] = 0;
        return true;
}

/* ---- the request/ack exchange ----------------------------------------- */

typedef int (*nl_reply_cb)(const struct nlmsghdr *nh, void *userdata);

static int rtnl_open(void) {
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0)
                return -errno;
        int one = 1;
        /* both are best effort: older kernels answer without them */
        (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
        (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
        struct timeval tv = {.tv_sec = NL_TIMEOUT_SEC};
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* The extended-ack text of an NLMSG_ERROR, if the kernel sent one. */
static void nl_ext_ack_msg(const struct nlmsghdr *nh, char *buf, size_t size) {
        if (!buf || size == 0)
                return;
        buf[0] = 0;
        if (!(nh->nlmsg_flags & NLM_F_ACK_TLVS))
                return;
        const struct nlmsgerr *e = NLMSG_DATA(nh);
        size_t off = sizeof(*e);
        if (!(nh->nlmsg_flags & NLM_F_CAPPED)) {
                if (e->msg.nlmsg_len < NLMSG_HDRLEN)
                        return;
                off += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
        }
        size_t payload = nh->nlmsg_len - NLMSG_HDRLEN;
        if (off >= payload)
                return;
        const struct rtattr *tb[NLMSGERR_ATTR_MAX + 1];
        nl_parse(tb, NLMSGERR_ATTR_MAX, (const struct rtattr *)((const char *)e + off), payload - off);
        nl_get_str(tb[NLMSGERR_ATTR_MSG], buf, size);
}

/* Send req and read until its ACK (or, for a dump, NLMSG_DONE); every
 * other reply to it goes to cb. Returns 0, the kernel's -errno (its
 * extended-ack text in errbuf), or the first negative cb result. */
static int rtnl_talk(int fd, NlMsg *req, nl_reply_cb cb, void *userdata, char *errbuf, size_t errlen) {
        static uint32_t seq_counter;
        if (errbuf && errlen)
                errbuf[0] = 0;
        if (req->overflow)
                return -ENOBUFS;
        /* NLM_F_DUMP shares bits with NLM_F_REPLACE/NLM_F_EXCL: a dump is a
         * GET request (RTM_GET* types are 2 mod 4) with both bits set */
        bool dump = (req->nh.nlmsg_type & 3) == 2 && (req->nh.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
        if (!dump)
                req->nh.nlmsg_flags |= NLM_F_ACK;
        uint32_t seq = ++seq_counter ? seq_counter : ++seq_counter;
        req->nh.nlmsg_seq = seq;

        struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
        ssize_t w;
        do
                w = sendto(fd, req->buf, req->nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
        while (w < 0 && errno == EINTR);
        if (w < 0)
                return -errno;
        if ((size_t)w != req->nh.nlmsg_len)
                return -EIO;

        _cleanup_free_ char *buf = malloc(NL_RECV_MAX);
        if (!buf)
                return -ENOMEM;
        int cb_r = 0;
        for (;;) {
                struct sockaddr_nl from;
                struct iovec iov = {buf, NL_RECV_MAX};
                struct msghdr mh = {.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
                ssize_t n = recvmsg(fd, &mh, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? -ETIMEDOUT : -errno;
                }
                if (mh.msg_flags & MSG_TRUNC)
                        return -EMSGSIZE;
                if (mh.msg_namelen != sizeof(from) || from.nl_pid != 0)
                        continue; /* not from the kernel */
                int left = (int)n;
                for (const struct nlmsghdr *nh = (const struct nlmsghdr *)buf; NLMSG_OK(nh, left);
                     nh = NLMSG_NEXT(nh, left)) {
                        if (nh->nlmsg_seq != seq)
                                continue;
                        if (nh->nlmsg_type == NLMSG_ERROR) {
                                if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
                                        return -EBADMSG;
                                const struct nlmsgerr *e = NLMSG_DATA(nh);
                                if (e->error == 0) /* the ACK */
                                        return cb_r;
                                nl_ext_ack_msg(nh, errbuf, errlen);
                                return e->error < 0 ? e->error : -EPROTO;
                        }
                        if (nh->nlmsg_type == NLMSG_DONE) {
                                int derr = 0;
                                if (nh->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
                                        memcpy(&derr, NLMSG_DATA(nh), sizeof(int));
                                if (derr < 0)
                                        return derr;
                                if (dump)
                                        return cb_r;
                                continue;
                        }
                        if (nh->nlmsg_type == NLMSG_NOOP || nh->nlmsg_type == NLMSG_OVERRUN)
                                continue;
                        if (cb && cb_r >= 0) {
                                int r = cb(nh, userdata);
                                if (r < 0)
                                        cb_r = r;
                        }
                }
        }
}

/* "reason" for a failed request: the kernel's extended-ack text, else strerror. */
static const char *nl_reason(int r, const char *ack) {
        return !isempty(ack) ? ack : strerror(-r);
}

/* ---- links ------------------------------------------------------------- */

typedef struct LinkQuery {
        bool found;
        int ifindex;
        int master;
        unsigned flags;
        char name[IFNAMSIZ];
        char kind[32];
} LinkQuery;

static int link_parse(const struct nlmsghdr *nh, LinkQuery *q) {
        if (nh->nlmsg_type != RTM_NEWLINK || nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
                return 0;
        const struct ifinfomsg *ifi = NLMSG_DATA(nh);
        const struct rtattr *tb[IFLA_MAX + 1];
        nl_parse(tb, IFLA_MAX, IFLA_RTA(ifi), (size_t)IFLA_PAYLOAD(nh));
        LinkQuery l = {.found = true, .ifindex = ifi->ifi_index, .flags = ifi->ifi_flags};
        if (!nl_get_str(tb[IFLA_IFNAME], l.name, sizeof(l.name)))
                return 0;
        uint32_t master;
        if (nl_get_u32(tb[IFLA_MASTER], &master))
                l.master = (int)master;
        if (tb[IFLA_LINKINFO]) {
                const struct rtattr *li[IFLA_INFO_MAX + 1];
                nl_parse(li, IFLA_INFO_MAX, RTA_DATA(tb[IFLA_LINKINFO]), RTA_PAYLOAD(tb[IFLA_LINKINFO]));
                nl_get_str(li[IFLA_INFO_KIND], l.kind, sizeof(l.kind));
        }
        *q = l;
        return 0;
}

static int link_query_cb(const struct nlmsghdr *nh, void *userdata) {
        return link_parse(nh, userdata);
}

/* q->found = false when there is no such link. */
static int link_query(int fd, const char *name, LinkQuery *q, char *ack, size_t acklen) {
        NlMsg m;
        struct ifinfomsg *ifi = nl_init(&m, RTM_GETLINK, 0, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        nl_put_str(&m, IFLA_IFNAME, name);
        nl_put_u32(&m, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        *q = (LinkQuery){0};
        int r = rtnl_talk(fd, &m, link_query_cb, q, ack, acklen);
        if (r == -ENODEV) {
                *q = (LinkQuery){0};
                return 0;
        }
        return r;
}

/* Set a link up, optionally enslaving it to master (0: leave alone). */
static int link_set_up(int fd, int ifindex, int master, char *ack, size_t acklen) {
        NlMsg m;
        struct ifinfomsg *ifi = nl_init(&m, RTM_NEWLINK, 0, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        ifi->ifi_index = ifindex;
        ifi->ifi_flags = IFF_UP;
        ifi->ifi_change = IFF_UP;
        if (master > 0)
                nl_put_u32(&m, IFLA_MASTER, (uint32_t)master);
        return rtnl_talk(fd, &m, NULL, NULL, ack, acklen);
}

static int bridge_create(int fd, const char *name, char *ack, size_t acklen) {
        uint8_t mac[6];
        if (getrandom(mac, sizeof(mac), 0) != sizeof(mac))
                return -errno ?: -EIO;
        mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02); /* unicast, locally administered */

        NlMsg m;
        struct ifinfomsg *ifi = nl_init(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        nl_put_str(&m, IFLA_IFNAME, name);
        nl_put(&m, IFLA_ADDRESS, mac, sizeof(mac));
        size_t li = nl_nest_start(&m, IFLA_LINKINFO);
        nl_put(&m, IFLA_INFO_KIND, "bridge", strlen("bridge"));
        size_t data = nl_nest_start(&m, IFLA_INFO_DATA);
        nl_put_u32(&m, IFLA_BR_STP_STATE, 0);
        nl_put_u32(&m, IFLA_BR_FORWARD_DELAY, 0);
        nl_nest_end(&m, data);
        nl_nest_end(&m, li);
        return rtnl_talk(fd, &m, NULL, NULL, ack, acklen);
}

static int address_add(int fd, int ifindex, const LinkAddress *a, char *ack, size_t acklen) {
        NlMsg m;
        struct ifaddrmsg *ifa = nl_init(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));
        ifa->ifa_family = (uint8_t)a->family;
        ifa->ifa_prefixlen = (uint8_t)a->prefixlen;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = (uint32_t)ifindex;
        size_t alen = a->family == AF_INET ? 4 : 16;
        nl_put(&m, IFA_LOCAL, a->addr, alen);
        nl_put(&m, IFA_ADDRESS, a->addr, alen);
        if (a->family == AF_INET && a->prefixlen <= 30) {
                uint32_t ip, mask = a->prefixlen ? htonl(~0U << (32 - a->prefixlen)) : 0;
                memcpy(&ip, a->addr, 4);
                uint32_t brd = ip | ~mask;
                nl_put(&m, IFA_BROADCAST, &brd, 4);
        }
        int r = rtnl_talk(fd, &m, NULL, NULL, ack, acklen);
        return r == -EEXIST ? 0 : r;
}

int link_bridge_ensure(const char *name, const char *address_cidr, Error *err) {
        if (!link_name_is_valid(name))
                return error_set(err, -EINVAL, "invalid bridge name '%s'", name ? name : "");
        LinkAddress addr;
        if (address_cidr && link_address_parse(address_cidr, &addr) < 0)
                return error_set(err, -EINVAL, "invalid address '%s' for bridge %s (want ADDRESS/PREFIX)",
                                 address_cidr, name);

        _cleanup_close_ int fd = rtnl_open();
        if (fd < 0)
                return error_set(err, fd, "cannot open rtnetlink socket: %s", strerror(-fd));
        char ack[256];
        LinkQuery q;
        int r = link_query(fd, name, &q, ack, sizeof(ack));
        if (r < 0)
                return error_set(err, r, "cannot look up link %s: %s", name, nl_reason(r, ack));
        if (q.found && !streq(q.kind, "bridge"))
                return error_set(err, -EEXIST, "link %s exists and is not a bridge (%s)", name,
                                 q.kind[0] ? q.kind : "no kind");
        if (!q.found) {
                r = bridge_create(fd, name, ack, sizeof(ack));
                if (r < 0 && r != -EEXIST) /* EEXIST: someone was quicker */
                        return error_set(err, r, "cannot create bridge %s: %s", name, nl_reason(r, ack));
                r = link_query(fd, name, &q, ack, sizeof(ack));
                if (r < 0)
                        return error_set(err, r, "cannot look up bridge %s: %s", name, nl_reason(r, ack));
                if (!q.found || !streq(q.kind, "bridge"))
                        return error_set(err, -EEXIST, "bridge %s vanished or changed while being created",
                                         name);
        }
        if (address_cidr) {
                r = address_add(fd, q.ifindex, &addr, ack, sizeof(ack));
                if (r < 0)
                        return error_set(err, r, "cannot add address %s to bridge %s: %s", address_cidr, name,
                                         nl_reason(r, ack));
        }
        if (!(q.flags & IFF_UP)) {
                r = link_set_up(fd, q.ifindex, 0, ack, sizeof(ack));
                if (r < 0)
                        return error_set(err, r, "cannot set bridge %s up: %s", name, nl_reason(r, ack));
        }
        return 0;
}

int link_tap_create(const char *name, uid_t owner, gid_t group, const char *bridge, int *ret_fd, Error *err) {
        if (!link_name_is_valid(name))
                return error_set(err, -EINVAL, "invalid tap name '%s'", name ? name : "");
        if (!link_name_is_valid(bridge))
                return error_set(err, -EINVAL, "invalid bridge name '%s'", bridge ? bridge : "");

        _cleanup_close_ int nl = rtnl_open();
        if (nl < 0)
                return error_set(err, nl, "cannot open rtnetlink socket: %s", strerror(-nl));
        char ack[256];
        LinkQuery br, q;
        int r = link_query(nl, bridge, &br, ack, sizeof(ack));
        if (r < 0)
                return error_set(err, r, "cannot look up bridge %s: %s", bridge, nl_reason(r, ack));
        if (!br.found)
                return error_set(err, -ENODEV, "bridge %s does not exist", bridge);
        if (!streq(br.kind, "bridge"))
                return error_set(err, -EINVAL, "%s is not a bridge", bridge);
        r = link_query(nl, name, &q, ack, sizeof(ack));
        if (r < 0)
                return error_set(err, r, "cannot look up link %s: %s", name, nl_reason(r, ack));
        if (q.found)
                return error_set(err, -EEXIST, "network interface %s already exists", name);

        _cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                if (r == -ENOENT || r == -ENXIO || r == -ENODEV)
                        return error_set(err, -ENOENT, "no /dev/net/tun (is the tun module loaded?)");
                return error_set(err, r, "cannot open /dev/net/tun: %s", strerror(-r));
        }
        struct ifreq ifr = {0};
        memcpy(ifr.ifr_name, name, strlen(name)); /* <= 15 bytes, NUL from the init */
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_TUN_EXCL;
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
                r = -errno;
                if (r == -EBUSY || r == -EEXIST)
                        return error_set(err, -EEXIST, "network interface %s already exists", name);
                return error_set(err, r, "cannot create tap %s: %s", name, strerror(-r));
        }
        if (owner != (uid_t)-1 && ioctl(fd, TUNSETOWNER, (unsigned long)owner) < 0)
                return error_set(err, -errno, "cannot set owner of tap %s to uid %u: %m", name, (unsigned)owner);
        if (group != (gid_t)-1 && ioctl(fd, TUNSETGROUP, (unsigned long)group) < 0)
                return error_set(err, -errno, "cannot set group of tap %s to gid %u: %m", name, (unsigned)group);
        /* not persistent: TUNSETPERSIST is never called, so the tap goes
         * away with the last fd. Find its index, enslave it and set it up
         * in one request. */
        r = link_query(nl, name, &q, ack, sizeof(ack));
        if (r < 0 || !q.found)
                return error_set(err, r < 0 ? r : -ENODEV, "tap %s vanished after creation: %s", name,
                                 r < 0 ? nl_reason(r, ack) : "not found");
        r = link_set_up(nl, q.ifindex, br.ifindex, ack, sizeof(ack));
        if (r < 0)
                return error_set(err, r, "cannot attach tap %s to bridge %s: %s", name, bridge, nl_reason(r, ack));
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* What link_edit does to a link */
typedef enum LinkEdit {
        LINK_DELETE, /* RTM_DELLINK; a link already gone is no error */
        LINK_CUT,    /* RTM_NEWLINK: down and off its bridge */
} LinkEdit;

/* One request about the link NAME (an ifinfomsg naming it by IFLA_IFNAME)
 * on a socket of its own. */
static int link_edit(const char *name, LinkEdit edit, Error *err) {
        if (!link_name_is_valid(name))
                return error_set(err, -EINVAL, "invalid link name '%s'", name ? name : "");
        _cleanup_close_ int fd = rtnl_open();
        if (fd < 0)
                return error_set(err, fd, "cannot open rtnetlink socket: %s", strerror(-fd));
        NlMsg m;
        struct ifinfomsg *ifi = nl_init(&m, edit == LINK_DELETE ? RTM_DELLINK : RTM_NEWLINK, 0, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        nl_put_str(&m, IFLA_IFNAME, name);
        if (edit == LINK_CUT) {
                ifi->ifi_flags = 0; /* down */
                ifi->ifi_change = IFF_UP;
                nl_put_u32(&m, IFLA_MASTER, 0); /* off its bridge */
        }
        char ack[256];
        int r = rtnl_talk(fd, &m, NULL, NULL, ack, sizeof(ack));
        if (r == -ENODEV && edit == LINK_DELETE)
                return 0;
        if (r < 0 && edit == LINK_DELETE)
                return error_set(err, r, "cannot delete link %s: %s", name, nl_reason(r, ack));
        if (r < 0)
                return error_set(err, r, "cannot cut link %s off: %s", name, nl_reason(r, ack));
        return 0;
}

int link_delete(const char *name, Error *err) {
        return link_edit(name, LINK_DELETE, err);
}

int link_cut(const char *name, Error *err) {
        return link_edit(name, LINK_CUT, err);
}

int link_get_info(const char *name, LinkInfo *ret) {
        if (!link_name_is_valid(name))
                return -EINVAL;
        _cleanup_close_ int fd = rtnl_open();
        if (fd < 0)
                return fd;
        LinkQuery q;
        int r = link_query(fd, name, &q, NULL, 0);
        if (r < 0)
                return r;
        if (!q.found)
                return -ENODEV;
        *ret = (LinkInfo){
                .ifindex = q.ifindex,
                .master = q.master,
                .up = q.flags & IFF_UP,
                .is_bridge = streq(q.kind, "bridge"),
        };
        return 0;
}

int link_exists(const char *name, bool *ret) {
        LinkInfo info;
        int r = link_get_info(name, &info);
        if (r < 0 && r != -ENODEV)
                return r;
        *ret = r == 0;
        return 0;
}

typedef struct NameList {
        const char *prefix;
        char **names;
        size_t n, cap;
} NameList;

static int list_cb(const struct nlmsghdr *nh, void *userdata) {
        NameList *l = userdata;
        LinkQuery q = {0};
        link_parse(nh, &q);
        if (!q.found || strncmp(q.name, l->prefix, strlen(l->prefix)) != 0)
                return 0;
        if (l->n + 1 >= l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 16;
                char **p = realloc(l->names, cap * sizeof(*p));
                if (!p)
                        return -ENOMEM;
                l->names = p;
                l->cap = cap;
        }
        l->names[l->n++] = xstrdup(q.name);
        l->names[l->n] = NULL;
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

void link_names_free(char **names) {
        strv_free(names);
}

int link_list_prefix(const char *prefix, char ***ret_names, size_t *ret_n) {
        if (!prefix)
                return -EINVAL;
        _cleanup_close_ int fd = rtnl_open();
        if (fd < 0)
                return fd;
        NlMsg m;
        struct ifinfomsg *ifi = nl_init(&m, RTM_GETLINK, NLM_F_DUMP, sizeof(*ifi));
        ifi->ifi_family = AF_UNSPEC;
        nl_put_u32(&m, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        NameList l = {.prefix = prefix};
        int r = rtnl_talk(fd, &m, list_cb, &l, NULL, 0);
        if (r < 0) {
                link_names_free(l.names);
                return r;
        }
        if (!l.names)
                l.names = xcalloc(1, sizeof(char *));
        qsort(l.names, l.n, sizeof(char *), cmp_str);
        *ret_names = l.names;
        if (ret_n)
                *ret_n = l.n;
        return 0;
}
