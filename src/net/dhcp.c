/* dhcp.c - the DHCP backend interface: configuration copy, dispatch to
 * dhcp_dnsmasq.c / dhcp_omapi.c, and the helpers they share. */
#include "net/dhcp.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>

struct DhcpBackend {
        const DhcpBackendOps *ops;
        DhcpConfig config; /* its strings point into owned[] */
        char *owned[9];
        void *data;
};

bool dhcp_host_name_is_valid(const char *name) {
        if (isempty(name) || strlen(name) > 63 || name[0] == '-')
                return false;
        for (const char *p = name; *p; p++)
                if (!isascii((unsigned char)*p) || !(isalnum((unsigned char)*p) || *p == '-'))
                        return false;
        return true;
}

int dhcp_mac_parse(const char *s, uint8_t ret[6]) {
        if (!s || strlen(s) != 17)
                return -EINVAL;
        uint8_t mac[6];
        for (int i = 0; i < 6; i++) {
                const char *p = s + 3 * i;
                if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) || (i < 5 && p[2] != ':'))
                        return -EINVAL;
                char hex[3] = {p[0], p[1], 0};
                mac[i] = (uint8_t)strtoul(hex, NULL, 16);
        }
        memcpy(ret, mac, 6);
        return 0;
}

int dhcp_names_add(char ***names, size_t *n, const char *name) {
        char **p = realloc(*names, (*n + 2) * sizeof(char *));
        if (!p)
                return -ENOMEM;
        p[*n] = xstrdup(name);
        p[*n + 1] = NULL;
        *names = p;
        (*n)++;
        return 0;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

void dhcp_names_sort(char **names, size_t n) {
        if (names && n > 1)
                qsort(names, n, sizeof(char *), cmp_str);
}

void dhcp_names_free(char **names) {
        strv_free(names);
}

const DhcpConfig *dhcp_backend_config(const DhcpBackend *b) {
        return &b->config;
}

void *dhcp_backend_get_data(const DhcpBackend *b) {
        return b->data;
}

void dhcp_backend_set_data(DhcpBackend *b, void *data) {
        b->data = data;
}

const char *dhcp_backend_name(const DhcpBackend *b) {
        return b->ops->name;
}

static const char *own(DhcpBackend *b, size_t i, const char *s) {
        b->owned[i] = s ? xstrdup(s) : NULL;
        return b->owned[i];
}

int dhcp_backend_new(const DhcpConfig *c, DhcpBackend **ret, Error *err) {
        const char *name = c->backend ? c->backend : "dnsmasq";
        const DhcpBackendOps *ops;
        if (streq(name, "dnsmasq"))
                ops = &dhcp_dnsmasq_ops;
        else if (streq(name, "omapi"))
                ops = &dhcp_omapi_ops;
        else
                return error_set(err, -EINVAL, "unknown DHCP backend '%s' (want dnsmasq or omapi)", name);
        int r = ops->check_config(c, err);
        if (r < 0)
                return r;

        DhcpBackend *b = xcalloc(1, sizeof(*b));
        b->ops = ops;
        b->config = (DhcpConfig){
                .backend = ops->name,
                .interface = own(b, 0, c->interface),
                .state_dir = own(b, 1, c->state_dir),
                .gateway = own(b, 2, c->gateway),
                .range_net = own(b, 3, c->range_net),
                .range_mask = own(b, 4, c->range_mask),
                .omapi_server = own(b, 5, c->omapi_server),
                .omapi_port = c->omapi_port ? c->omapi_port : 7911,
                .omapi_key_name = own(b, 6, c->omapi_key_name),
                .omapi_secret = own(b, 7, c->omapi_secret),
        };
        if (ops->init) {
                r = ops->init(b, err);
                if (r < 0) {
                        b->ops = NULL;
                        dhcp_backend_free(b);
                        return r;
                }
        }
        *ret = b;
        return 0;
}

void dhcp_backend_free(DhcpBackend *b) {
        if (!b)
                return;
        if (b->ops && b->ops->done)
                b->ops->done(b);
        for (size_t i = 0; i < ELEMENTSOF(b->owned); i++) {
                if (b->owned[i] && i == 7) /* the OMAPI secret */
                        explicit_bzero(b->owned[i], strlen(b->owned[i]));
                free(b->owned[i]);
        }
        free(b);
}

int dhcp_start(DhcpBackend *b, Error *err) {
        return b->ops->start(b, err);
}

int dhcp_watch_fd(DhcpBackend *b) {
        return b->ops->watch_fd ? b->ops->watch_fd(b) : -1;
}

pid_t dhcp_pid(DhcpBackend *b) {
        return b->ops->pid ? b->ops->pid(b) : 0;
}

int dhcp_reap(DhcpBackend *b, int *ret_exit_code) {
        return b->ops->reap ? b->ops->reap(b, ret_exit_code) : 0;
}

int dhcp_host_add(DhcpBackend *b, const char *name, const char *mac, const char *ip, Error *err) {
        if (!dhcp_host_name_is_valid(name))
                return error_set(err, -EINVAL, "invalid DHCP host name '%s' (letters, digits, '-')",
                                 name ? name : "");
        uint8_t m[6];
        if (dhcp_mac_parse(mac, m) < 0)
                return error_set(err, -EINVAL, "invalid MAC address '%s'", mac ? mac : "");
        struct in_addr a;
        if (!ip || inet_pton(AF_INET, ip, &a) != 1)
                return error_set(err, -EINVAL, "invalid IPv4 address '%s'", ip ? ip : "");
        return b->ops->host_add(b, name, mac, ip, err);
}

int dhcp_host_remove(DhcpBackend *b, const char *name, const char *mac, const char *ip, Error *err) {
        if (!dhcp_host_name_is_valid(name))
                return error_set(err, -EINVAL, "invalid DHCP host name '%s' (letters, digits, '-')",
                                 name ? name : "");
        uint8_t m[6];
        if (mac && dhcp_mac_parse(mac, m) < 0)
                return error_set(err, -EINVAL, "invalid MAC address '%s'", mac);
        struct in_addr a;
        if (ip && inet_pton(AF_INET, ip, &a) != 1)
                return error_set(err, -EINVAL, "invalid IPv4 address '%s'", ip);
        return b->ops->host_remove(b, name, mac, ip, err);
}

int dhcp_log_rotate(DhcpBackend *b, uint64_t max_bytes, Error *err) {
        return b->ops->log_rotate ? b->ops->log_rotate(b, max_bytes, err) : 0;
}

int dhcp_host_list(DhcpBackend *b, char ***ret_names, size_t *ret_n, Error *err) {
        if (!b->ops->host_list)
                return error_set(err, -ENOTSUP, "the %s DHCP backend cannot list its hosts", b->ops->name);
        return b->ops->host_list(b, ret_names, ret_n, err);
}
