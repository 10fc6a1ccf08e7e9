/* dhcp_omapi.c - the paper's backend: host objects in ISC dhcpd over OMAPI
 * (net/omapi_client.h). Connects lazily; after a transport error the
 * client is closed, so each operation reconnects once and retries. */
#include <arpa/inet.h>

#include "net/dhcp.h"
#include "net/omapi_client.h"

/* a host name nobody uses: the probe that checks the key's secret */
#define OMAPI_PROBE_NAME "vmbatch-key-probe"

typedef struct Omapi {
        OmapiClient *client;
} Omapi;

static Omapi *state(DhcpBackend *b) {
        return dhcp_backend_get_data(b);
}

static int omapi_check_config(const DhcpConfig *c, Error *err) {
        struct in_addr a4;
        struct in6_addr a6;
        if (isempty(c->omapi_server) ||
            (inet_pton(AF_INET, c->omapi_server, &a4) != 1 && inet_pton(AF_INET6, c->omapi_server, &a6) != 1))
                return error_set(err, -EINVAL, "omapi: the server must be a numeric IP address ('%s')",
                                 c->omapi_server ? c->omapi_server : "");
        if (isempty(c->omapi_key_name) || isempty(c->omapi_secret))
                return error_set(err, -EINVAL, "omapi: a key name and its secret are required");
        return 0;
}

static int omapi_init(DhcpBackend *b, Error *err) {
        dhcp_backend_set_data(b, xcalloc(1, sizeof(Omapi)));
        return 0;
}

static void disconnect(DhcpBackend *b) {
        omapi_client_free(state(b)->client);
        state(b)->client = NULL;
}

static void omapi_done(DhcpBackend *b) {
        if (!state(b))
                return;
        disconnect(b);
        free(state(b));
        dhcp_backend_set_data(b, NULL);
}

static int connect_client(DhcpBackend *b, Error *err) {
        if (state(b)->client)
                return 0;
        const DhcpConfig *c = dhcp_backend_config(b);
        return omapi_client_connect(c->omapi_server, c->omapi_port, c->omapi_key_name, c->omapi_secret, 0,
                                    &state(b)->client, err);
}

/* The connection is gone (or never was): worth one fresh try. */
static bool is_transport_error(int r) {
        return r == -ENOTCONN || r == -EPIPE || r == -ECONNRESET || r == -ECONNABORTED;
}

typedef int (*omapi_op)(OmapiClient *c, void *userdata, Error *err);

static int with_client(DhcpBackend *b, omapi_op op, void *userdata, Error *err) {
        for (int attempt = 0;; attempt++) {
                Error e = {0};
                int r = connect_client(b, &e);
                if (r >= 0)
                        r = op(state(b)->client, userdata, &e);
                if (r >= 0)
                        return r;
                if (is_transport_error(r) || !state(b)->client)
                        disconnect(b);
                if (attempt > 0 || !is_transport_error(r)) {
                        if (err && err->code == 0)
                                *err = e;
                        return r;
                }
        }
}

static int op_probe(OmapiClient *c, void *userdata, Error *err) {
        OmapiHostInfo info;
        Error e = {0};
        int r = omapi_host_lookup(c, OMAPI_PROBE_NAME, &info, &e);
        if (r == -ENOENT || r >= 0) /* a signed request was answered: the key is good */
                return 0;
        if (err)
                *err = e;
        return r;
}

static int omapi_start(DhcpBackend *b, Error *err) {
        return with_client(b, op_probe, NULL, err);
}

typedef struct HostArgs {
        const char *name;
        uint8_t mac[6];
        struct in_addr ip;
} HostArgs;

static bool same_host(const OmapiHostInfo *info, const HostArgs *h) {
        return info->hw_addr_len == 6 && memcmp(info->hw_addr, h->mac, 6) == 0 && info->has_ip &&
               info->ip.s_addr == h->ip.s_addr;
}

static int op_add(OmapiClient *c, void *userdata, Error *err) {
        const HostArgs *h = userdata;
        Error e = {0};
        int r = omapi_host_add(c, h->name, h->mac, h->ip, &e);
        if (r != -EEXIST) {
                if (r < 0 && err)
                        *err = e;
                return r;
        }
        /* idempotent: the same host again is fine; a host of that name with
         * another MAC/IP is replaced; a MAC owned by another host is not */
        OmapiHostInfo info;
        Error le = {0};
        r = omapi_host_lookup(c, h->name, &info, &le);
        if (r == -ENOENT) {
                if (err)
                        *err = e; /* the MAC belongs to another host */
                return -EEXIST;
        }
        if (r < 0) {
                if (err)
                        *err = le;
                return r;
        }
        if (same_host(&info, h))
                return 0;
        r = omapi_host_remove_by_name(c, h->name, NULL, err);
        if (r < 0)
                return r;
        return omapi_host_add(c, h->name, h->mac, h->ip, err);
}

static int omapi_add(DhcpBackend *b, const char *name, const char *mac, const char *ip, Error *err) {
        HostArgs h = {.name = name};
        if (dhcp_mac_parse(mac, h.mac) < 0 || inet_pton(AF_INET, ip, &h.ip) != 1)
                return error_set(err, -EINVAL, "omapi: invalid host %s %s %s", name, mac, ip);
        return with_client(b, op_add, &h, err);
}

static int op_remove(OmapiClient *c, void *userdata, Error *err) {
        return omapi_host_remove_by_name(c, userdata, NULL, err);
}

static int omapi_remove(DhcpBackend *b, const char *name, const char *mac, const char *ip, Error *err) {
        /* dhcpd keeps no lease state for fixed-address hosts: deleting the
         * host object frees the address */
        return with_client(b, op_remove, (void *)name, err);
}

const DhcpBackendOps dhcp_omapi_ops = {
        .name = "omapi",
        .check_config = omapi_check_config,
        .init = omapi_init,
        .done = omapi_done,
        .start = omapi_start,
        .host_add = omapi_add,
        .host_remove = omapi_remove,
        /* .host_list: dhcpd's OMAPI cannot enumerate host objects */
};
