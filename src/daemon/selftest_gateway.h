/* selftest_gateway.h - the host's side of an exam's isolation self-test
 * (daemon/exam_selftest.c): what really listens on the gateway's address
 * while the probes run. A TCP listener on the port the attacker tries
 * (SELFTEST_HOST_TCP_PORT, tests/guest/vmb-attack.c GW_TCP_PORT: a host
 * service guests must not reach) that counts the connections it accepts;
 * a DNS responder on udp/53 (every query answered with itself, the answer
 * bit set: the attacker's lawful DNS) unless a DNS server holds the port
 * already; and datagrams from the gateway's address to a guest (the
 * listener's positive control, its "stop"). All non-blocking, on the loop. */
#pragma once

#include <stdint.h>

#include "basic/error.h"
#include "basic/event.h"

#define SELFTEST_HOST_TCP_PORT 2222

typedef struct SelftestGateway SelftestGateway;

/* Bind gw_ip's TCP port and udp/53 (a port another program holds is left
 * to it, and said so by _tcp_state/_dns_state). An address that is not
 * this host's fails (-EADDRNOTAVAIL). */
int selftest_gateway_open(EventLoop *loop, const char *gw_ip, SelftestGateway **ret, Error *err);
void selftest_gateway_free(SelftestGateway *g); /* accepts NULL */

unsigned selftest_gateway_accepts(const SelftestGateway *g);
unsigned selftest_gateway_dns_answers(const SelftestGateway *g);
/* "listening" or "held by another program" */
const char *selftest_gateway_tcp_state(const SelftestGateway *g);
const char *selftest_gateway_dns_state(const SelftestGateway *g);

/* One UDP datagram from the gateway's address to ip:port (not waited for:
 * a full socket drops it, as the network might). */
void selftest_gateway_send(SelftestGateway *g, const char *ip, uint16_t port, const char *payload);
