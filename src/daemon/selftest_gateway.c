/* selftest_gateway.c - the host's listeners of the isolation self-test
 * (selftest_gateway.h). */
#include "daemon/selftest_gateway.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/util.h"

#define DNS_PORT 53

struct SelftestGateway {
        struct in_addr gw;
        int tcp, dns, out; /* -1: not ours */
        EventSource *tcp_src, *dns_src;
        unsigned accepts, answers;
};

static int on_tcp(EventSource *s, int fd, uint32_t events, void *userdata) {
        SelftestGateway *g = userdata;
        for (;;) { /* each connection counted and closed: nothing is served */
                int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (c < 0)
                        break;
                g->accepts++;
                close(c);
        }
        return 0;
}

static int on_dns(EventSource *s, int fd, uint32_t events, void *userdata) {
        SelftestGateway *g = userdata;
        for (;;) {
                uint8_t q[512];
                struct sockaddr_in from;
                socklen_t fl = sizeof(from);
                ssize_t n = recvfrom(fd, q, sizeof(q), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
                if (n < 0)
                        break;
                if (n < 12)
                        continue;
                q[2] |= 0x80; /* a response: the query itself */
                if (sendto(fd, q, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&from, fl) == n)
                        g->answers++;
        }
        return 0;
}

/* A socket of type bound to the gateway's port: the fd, -EADDRINUSE when
 * another program has it, or another -errno. */
static int bind_socket(const SelftestGateway *g, int type, uint16_t port) {
        int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr = g->gw};
        if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || (type == SOCK_STREAM && listen(fd, 16) < 0)) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

int selftest_gateway_open(EventLoop *loop, const char *gw_ip, SelftestGateway **ret, Error *err) {
        SelftestGateway *g = xcalloc(1, sizeof(*g));
        *g = (SelftestGateway){.tcp = -1, .dns = -1, .out = -1};
        int r = 0;
        if (!gw_ip || inet_pton(AF_INET, gw_ip, &g->gw) != 1)
                r = error_set(err, -EINVAL, "the gateway '%s' is not an IPv4 address (bridge_address, dhcp_gateway)",
                              gw_ip ? gw_ip : "");
        if (r >= 0 && (g->tcp = bind_socket(g, SOCK_STREAM, SELFTEST_HOST_TCP_PORT)) < 0 && g->tcp != -EADDRINUSE)
                r = error_set(err, g->tcp, "the host service's listener on %s:%d: %s", gw_ip, SELFTEST_HOST_TCP_PORT,
                              strerror(-g->tcp));
        if (r >= 0 && (g->dns = bind_socket(g, SOCK_DGRAM, DNS_PORT)) < 0 && g->dns != -EADDRINUSE)
                r = error_set(err, g->dns, "the DNS responder on %s:%d: %s", gw_ip, DNS_PORT, strerror(-g->dns));
        if (r >= 0 && (g->out = bind_socket(g, SOCK_DGRAM, 0)) < 0)
                r = error_set(err, g->out, "a datagram socket on %s: %s", gw_ip, strerror(-g->out));
        if (r >= 0 && g->tcp >= 0 && (r = event_add_io(loop, g->tcp, EPOLLIN, on_tcp, g, &g->tcp_src)) < 0)
                error_set(err, r, "event loop: %s", strerror(-r));
        if (r >= 0 && g->dns >= 0 && (r = event_add_io(loop, g->dns, EPOLLIN, on_dns, g, &g->dns_src)) < 0)
                error_set(err, r, "event loop: %s", strerror(-r));
        if (r < 0) {
                selftest_gateway_free(g);
                return r;
        }
        if (g->tcp < 0)
                log_warn("self-test: %s:%d is held by another program: the host-service probe meets it", gw_ip,
                         SELFTEST_HOST_TCP_PORT);
        *ret = g;
        return 0;
}

void selftest_gateway_free(SelftestGateway *g) {
        if (!g)
                return;
        event_source_free(g->tcp_src);
        event_source_free(g->dns_src);
        if (g->tcp >= 0)
                close(g->tcp);
        if (g->dns >= 0)
                close(g->dns);
        if (g->out >= 0)
                close(g->out);
        free(g);
}

unsigned selftest_gateway_accepts(const SelftestGateway *g) { return g ? g->accepts : 0; }
unsigned selftest_gateway_dns_answers(const SelftestGateway *g) { return g ? g->answers : 0; }

const char *selftest_gateway_tcp_state(const SelftestGateway *g) {
        return g && g->tcp >= 0 ? "listening" : "held by another program";
}

const char *selftest_gateway_dns_state(const SelftestGateway *g) {
        return g && g->dns >= 0 ? "listening" : "held by another program";
}

void selftest_gateway_send(SelftestGateway *g, const char *ip, uint16_t port, const char *payload) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
        if (!g || g->out < 0 || inet_pton(AF_INET, ip, &a.sin_addr) != 1)
                return;
        if (sendto(g->out, payload, strlen(payload), MSG_DONTWAIT, (struct sockaddr *)&a, sizeof(a)) < 0)
                log_debug("self-test: a datagram to %s:%u: %m", ip, port);
}
