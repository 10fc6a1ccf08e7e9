#include "core/settings.h"

#include <stdio.h>

#include "build-config.h"

void settings_defaults(Settings *s) {
        memset(s, 0, sizeof(*s));
        snprintf(s->socket, sizeof(s->socket), "%s", VMBATCH_DEFAULT_SOCKET);
        snprintf(s->database, sizeof(s->database), "/var/lib/vmbatch/vmbatch.db");
        snprintf(s->admin_user, sizeof(s->admin_user), "root");
        s->default_max_running = 2;
        s->default_max_storage = 13ULL << 30;
        s->default_mem = 512ULL << 20;
        s->default_vcpus = 1;
        snprintf(s->log_level, sizeof(s->log_level), "info");
        snprintf(s->state_dir, sizeof(s->state_dir), "/var/lib/vmbatch");
        snprintf(s->bridge, sizeof(s->bridge), "vbr0");
        snprintf(s->dhcp_backend, sizeof(s->dhcp_backend), "dnsmasq");
        snprintf(s->omapi_server, sizeof(s->omapi_server), "127.0.0.1");
        s->omapi_port = 7911;
        snprintf(s->omapi_key_name, sizeof(s->omapi_key_name), "omapi_key");
        snprintf(s->accel, sizeof(s->accel), "auto");
        snprintf(s->qemu_binary, sizeof(s->qemu_binary), "qemu-system-x86_64");
        snprintf(s->vnc_listen, sizeof(s->vnc_listen), "0.0.0.0");
        snprintf(s->batch_backend, sizeof(s->batch_backend), "local");
        snprintf(s->starter, sizeof(s->starter), "%s/vmbatch-starter", VMBATCH_LIBEXECDIR);
        s->reattach_grace_s = 30;
        s->node = true;
        snprintf(s->filter_backend, sizeof(s->filter_backend), "nft");
        s->broadcast_pps = 50;
}

static int set_string(char *dst, size_t len, const char *key, const char *v, Error *err) {
        if (strlen(v) >= len)
                return error_set(err, -EINVAL, "config %s: value too long", key);
        snprintf(dst, len, "%s", v);
        return 0;
}

int settings_apply(Settings *s, const Config *c, Error *err) {
        for (size_t i = 0; i < config_count(c); i++) {
                const char *k = config_key_at(c, i), *v = config_get(c, k);
                uint64_t n;
                int r = 0;
                if (streq(k, "socket"))
                        r = set_string(s->socket, sizeof(s->socket), k, v, err);
                else if (streq(k, "database"))
                        r = set_string(s->database, sizeof(s->database), k, v, err);
                else if (streq(k, "admin_user"))
                        r = set_string(s->admin_user, sizeof(s->admin_user), k, v, err);
                else if (streq(k, "admin_stordir"))
                        r = set_string(s->admin_stordir, sizeof(s->admin_stordir), k, v, err);
                else if (streq(k, "node")) {
                        if (!streq(v, "yes") && !streq(v, "no"))
                                return error_set(err, -EINVAL, "config node: '%s' is not yes|no", v);
                        s->node = streq(v, "yes");
                } else if (streq(k, "state_dir"))
                        r = set_string(s->state_dir, sizeof(s->state_dir), k, v, err);
                else if (streq(k, "bridge")) {
                        if (strlen(v) == 0 || strlen(v) > 15 || strchr(v, '/'))
                                return error_set(err, -EINVAL, "config bridge: '%s' is not an interface name", v);
                        r = set_string(s->bridge, sizeof(s->bridge), k, v, err);
                } else if (streq(k, "bridge_address"))
                        r = set_string(s->bridge_address, sizeof(s->bridge_address), k, v, err);
                else if (streq(k, "dhcp_backend")) {
                        if (!streq(v, "dnsmasq") && !streq(v, "omapi") && !streq(v, "none"))
                                return error_set(err, -EINVAL, "config dhcp_backend: '%s' is not dnsmasq|omapi|none", v);
                        r = set_string(s->dhcp_backend, sizeof(s->dhcp_backend), k, v, err);
                } else if (streq(k, "dhcp_range"))
                        r = set_string(s->dhcp_range, sizeof(s->dhcp_range), k, v, err);
                else if (streq(k, "dhcp_gateway"))
                        r = set_string(s->dhcp_gateway, sizeof(s->dhcp_gateway), k, v, err);
                else if (streq(k, "omapi_server"))
                        r = set_string(s->omapi_server, sizeof(s->omapi_server), k, v, err);
                else if (streq(k, "omapi_port")) {
                        if (parse_u64(v, &n) < 0 || n < 1 || n > 65535)
                                return error_set(err, -EINVAL, "config omapi_port: bad port '%s'", v);
                        s->omapi_port = (uint32_t)n;
                } else if (streq(k, "omapi_key_name"))
                        r = set_string(s->omapi_key_name, sizeof(s->omapi_key_name), k, v, err);
                else if (streq(k, "omapi_secret"))
                        r = set_string(s->omapi_secret, sizeof(s->omapi_secret), k, v, err);
                else if (streq(k, "accel")) {
                        if (!streq(v, "auto") && !streq(v, "kvm") && !streq(v, "tcg"))
                                return error_set(err, -EINVAL, "config accel: '%s' is not auto|kvm|tcg", v);
                        r = set_string(s->accel, sizeof(s->accel), k, v, err);
                } else if (streq(k, "qemu_binary"))
                        r = set_string(s->qemu_binary, sizeof(s->qemu_binary), k, v, err);
                else if (streq(k, "vnc_listen"))
                        r = set_string(s->vnc_listen, sizeof(s->vnc_listen), k, v, err);
                else if (streq(k, "batch_backend"))
                        r = set_string(s->batch_backend, sizeof(s->batch_backend), k, v, err);
                else if (streq(k, "batch_queue")) {
                        if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@") != strlen(v))
                                return error_set(err, -EINVAL, "config batch_queue: '%s' is not a queue name", v);
                        r = set_string(s->batch_queue, sizeof(s->batch_queue), k, v, err);
                }
                else if (streq(k, "starter"))
                        r = set_string(s->starter, sizeof(s->starter), k, v, err);
                else if (streq(k, "reattach_grace")) {
                        if (parse_u64(v, &n) < 0 || n > 3600)
                                return error_set(err, -EINVAL, "config reattach_grace: bad seconds '%s'", v);
                        s->reattach_grace_s = (uint32_t)n;
                } else if (streq(k, "filter_backend")) {
                        if (!streq(v, "nft") && !streq(v, "ebtables") && !streq(v, "none"))
                                return error_set(err, -EINVAL, "config filter_backend: '%s' is not nft|ebtables|none", v);
                        r = set_string(s->filter_backend, sizeof(s->filter_backend), k, v, err);
                } else if (streq(k, "filter_allow"))
                        r = set_string(s->filter_allow, sizeof(s->filter_allow), k, v, err);
                else if (streq(k, "broadcast_pps")) {
                        if (parse_u64(v, &n) < 0 || n < 1 || n > 100000)
                                return error_set(err, -EINVAL, "config broadcast_pps: bad rate '%s'", v);
                        s->broadcast_pps = (uint32_t)n;
                } else if (streq(k, "dhcp_server_ip"))
                        r = set_string(s->dhcp_server_ip, sizeof(s->dhcp_server_ip), k, v, err);
                else if (streq(k, "dhcp_server_mac"))
                        r = set_string(s->dhcp_server_mac, sizeof(s->dhcp_server_mac), k, v, err);
                else if (streq(k, "gateway_mac"))
                        r = set_string(s->gateway_mac, sizeof(s->gateway_mac), k, v, err);
                else if (streq(k, "cluster_listen") || streq(k, "controller")) {
                        if (!isempty(v) && !strchr(v, ':'))
                                return error_set(err, -EINVAL, "config %s: '%s' is not ADDRESS:PORT", k, v);
                        r = set_string(streq(k, "controller") ? s->controller : s->cluster_listen,
                                       sizeof(s->controller), k, v, err);
                } else if (streq(k, "node_name")) {
                        if (isempty(v) || strpbrk(v, " /\t"))
                                return error_set(err, -EINVAL, "config node_name: '%s' is not a host name", v);
                        r = set_string(s->node_name, sizeof(s->node_name), k, v, err);
                } else if (streq(k, "node_socket"))
                        r = set_string(s->node_socket, sizeof(s->node_socket), k, v, err);
                else if (streq(k, "log_level")) {
                        if (!streq(v, "error") && !streq(v, "warning") && !streq(v, "info") && !streq(v, "debug"))
                                return error_set(err, -EINVAL, "config log_level: '%s' is not error|warning|info|debug",
                                                 v);
                        r = set_string(s->log_level, sizeof(s->log_level), k, v, err);
                } else if (streq(k, "default_max_running")) {
                        if (parse_u64(v, &n) < 0 || n > 100000)
                                return error_set(err, -EINVAL, "config %s: bad number '%s'", k, v);
                        s->default_max_running = (uint32_t)n;
                } else if (streq(k, "default_vcpus")) {
                        if (parse_u64(v, &n) < 0 || n < 1 || n > 256)
                                return error_set(err, -EINVAL, "config %s: bad number '%s'", k, v);
                        s->default_vcpus = (uint32_t)n;
                } else if (streq(k, "default_max_storage") || streq(k, "default_mem")) {
                        if (parse_size(v, &n) < 0)
                                return error_set(err, -EINVAL, "config %s: bad size '%s'", k, v);
                        if (streq(k, "default_mem"))
                                s->default_mem = n;
                        else
                                s->default_max_storage = n;
                } else if (strchr(k, '.')) {
                        /* sections belong to later subsystems (dhcp., batch., net.) */
                        continue;
                } else
                        return error_set(err, -EINVAL, "config: unknown key '%s'", k);
                if (r < 0)
                        return r;
        }
        return 0;
}
