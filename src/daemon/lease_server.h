/* lease_server.h - the cluster's one DHCP server, supervised on the event
 * loop: made from the settings (dnsmasq on the bridge, or ISC dhcpd over
 * OMAPI), restarted when it exits (after half a second, from a one-shot
 * timer, when it died at once: no spinning and no sleep in the loop). The
 * fixed leases themselves go through net/dhcp.h on lease_server_dhcp(). */
#pragma once

#include "basic/event.h"
#include "core/settings.h"
#include "net/dhcp.h"

typedef struct LeaseServer LeaseServer;

/* settings->dhcp_backend must not be none. */
int lease_server_new(EventLoop *loop, const Settings *settings, LeaseServer **ret, Error *err);
void lease_server_free(LeaseServer *ls);
DhcpBackend *lease_server_dhcp(LeaseServer *ls);
