#include "core/settings.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>

#include "basic/log.h"
#include "build-config.h"

void settings_defaults(Settings *s) {
        memset(s, 0, sizeof(*s));
        snprintf(s->socket, sizeof(s->socket), "%s", VMBATCH_DEFAULT_SOCKET);
        snprintf(s->database, sizeof(s->database), "/var/lib/vmbatch/vmbatch.db");
        s->default_max_running = 2;
        s->default_max_storage = 13ULL << 30;
        s->default_mem = 512ULL << 20;
        s->serial_log_max = 8ULL << 20;
        s->default_vcpus = 1;
        s->log_level = LOG_LEVEL_INFO;
        snprintf(s->state_dir, sizeof(s->state_dir), "/var/lib/vmbatch");
        snprintf(s->bridge, sizeof(s->bridge), "vbr0");
        s->dhcp_backend = DHCP_DNSMASQ;
        snprintf(s->omapi_server, sizeof(s->omapi_server), "127.0.0.1");
        s->omapi_port = 7911;
        snprintf(s->omapi_key_name, sizeof(s->omapi_key_name), "omapi_key");
        s->accel = ACCEL_AUTO;
        snprintf(s->qemu_binary, sizeof(s->qemu_binary), "qemu-system-x86_64");
        /* VNC's DES challenge and 8-character passwords do not belong on a
         * network, nor within a guest's reach: loopback unless told */
        snprintf(s->vnc_listen, sizeof(s->vnc_listen), "127.0.0.1");
        snprintf(s->batch_backend, sizeof(s->batch_backend), "local");
        snprintf(s->starter, sizeof(s->starter), "%s/vmbatch-starter", VMBATCH_LIBEXECDIR);
        s->reattach_grace_s = 30;
        s->node = true;
        s->filter_backend = FILTER_KIND_NFT;
        s->broadcast_pps = 50;
        s->audit_keep_days = 365;
}

/* ---- the keys ----------------------------------------------------------
 * One row per key: where it goes and how its value is checked. */

static const char *const dhcp_kind_table[_DHCP_KIND_MAX] = {
        [DHCP_DNSMASQ] = "dnsmasq", [DHCP_OMAPI] = "omapi", [DHCP_NONE] = "none"};
DEFINE_STRING_TABLE(dhcp_kind, DhcpKind)
static const char *const filter_kind_table[_FILTER_KIND_MAX] = {
        [FILTER_KIND_NFT] = "nft", [FILTER_KIND_EBTABLES] = "ebtables", [FILTER_KIND_NONE] = "none"};
DEFINE_STRING_TABLE(filter_kind, FilterKind)
static const char *const accel_kind_table[_ACCEL_KIND_MAX] = {
        [ACCEL_AUTO] = "auto", [ACCEL_KVM] = "kvm", [ACCEL_TCG] = "tcg"};
DEFINE_STRING_TABLE(accel_kind, AccelKind)
static const char *const log_level_table[] = {
        [LOG_LEVEL_ERR] = "error", [LOG_LEVEL_WARN] = "warning", [LOG_LEVEL_INFO] = "info", [LOG_LEVEL_DEBUG] = "debug"};
DEFINE_STRING_TABLE(log_level, int)

typedef enum KeyType {
        KEY_STRING, /* copied; max the field's size */
        KEY_YESNO,  /* bool */
        KEY_U32,    /* min..max */
        KEY_SIZE,   /* uint64_t bytes, "512M" */
        KEY_ENUM,   /* int, through from_string */
} KeyType;

typedef struct Key {
        const char *name;
        KeyType type;
        size_t offset, size;
        uint64_t min, max;                 /* KEY_U32 */
        int (*from_string)(const char *s); /* KEY_ENUM */
        const char *choices;               /* KEY_ENUM: for the message */
        bool (*valid)(const char *v);      /* KEY_STRING: an extra check */
        const char *what;                  /* ... and what it wants */
} Key;

static int dhcp_kind_int(const char *s) { return dhcp_kind_from_string(s); }
static int filter_kind_int(const char *s) { return filter_kind_from_string(s); }
static int accel_kind_int(const char *s) { return accel_kind_from_string(s); }

static bool valid_ifname(const char *v) { return *v && strlen(v) <= 15 && !strchr(v, '/'); }
static bool valid_queue(const char *v) {
        return strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@") == strlen(v);
}
static bool valid_addr_port(const char *v) { return isempty(v) || strchr(v, ':'); }
static bool valid_host_name(const char *v) { return !isempty(v) && !strpbrk(v, " /\t"); }
/* "tcp/22, udp/123" (at most 64, separated by commas or spaces); net/filter.c
 * checks each again when the filters are made */
static bool valid_host_ports(const char *v) {
        char buf[1024];
        unsigned n = 0;
        snprintf(buf, sizeof(buf), "%s", v);
        for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
                uint32_t port;
                bool proto_ok = strncmp(tok, "tcp/", 4) == 0 || strncmp(tok, "udp/", 4) == 0;
                if (!proto_ok || tok[4] == '0' || parse_u32(tok + 4, &port) < 0 || port < 1 || port > 65535 ||
                    ++n > 64)
                        return false;
        }
        return true;
}

#define F(field) offsetof(Settings, field), sizeof(((Settings *)NULL)->field)
#define STR(k, field) {.name = k, .type = KEY_STRING, F(field)}
#define STRV(k, field, fn, w) {.name = k, .type = KEY_STRING, F(field), .valid = fn, .what = w}
#define U32(k, field, lo, hi) {.name = k, .type = KEY_U32, F(field), .min = lo, .max = hi}
#define ENUM(k, field, fn, c) {.name = k, .type = KEY_ENUM, F(field), .from_string = fn, .choices = c}

static const Key keys[] = {
        STR("socket", socket),
        STR("database", database),
        STR("admin_user", admin_user),
        STR("admin_stordir", admin_stordir),
        {.name = "node", .type = KEY_YESNO, F(node)},
        STR("state_dir", state_dir),
        STRV("bridge", bridge, valid_ifname, "an interface name"),
        STR("bridge_address", bridge_address),
        ENUM("dhcp_backend", dhcp_backend, dhcp_kind_int, "dnsmasq|omapi|none"),
        STR("dhcp_range", dhcp_range),
        STR("dhcp_gateway", dhcp_gateway),
        STR("omapi_server", omapi_server),
        U32("omapi_port", omapi_port, 1, 65535),
        STR("omapi_key_name", omapi_key_name),
        STR("omapi_secret", omapi_secret),
        ENUM("accel", accel, accel_kind_int, "auto|kvm|tcg"),
        STR("qemu_binary", qemu_binary),
        STR("vnc_listen", vnc_listen),
        STR("batch_backend", batch_backend),
        STRV("batch_queue", batch_queue, valid_queue, "a queue name"),
        STR("starter", starter),
        U32("reattach_grace", reattach_grace_s, 0, 3600),
        ENUM("filter_backend", filter_backend, filter_kind_int, "nft|ebtables|none"),
        STR("filter_allow", filter_allow),
        U32("broadcast_pps", broadcast_pps, 1, 100000),
        STRV("host_ports_allow", host_ports_allow, valid_host_ports, "a list of tcp/PORT and udp/PORT (at most 64)"),
        STR("dhcp_server_ip", dhcp_server_ip),
        STR("dhcp_server_mac", dhcp_server_mac),
        STR("gateway_mac", gateway_mac),
        STRV("cluster_listen", cluster_listen, valid_addr_port, "ADDRESS:PORT"),
        STRV("controller", controller, valid_addr_port, "ADDRESS:PORT"),
        STRV("node_name", node_name, valid_host_name, "a host name"),
        STR("node_socket", node_socket),
        ENUM("log_level", log_level, log_level_from_string, "error|warning|info|debug"),
        U32("default_max_running", default_max_running, 0, 100000),
        U32("default_vcpus", default_vcpus, 1, 256),
        {.name = "default_max_storage", .type = KEY_SIZE, F(default_max_storage)},
        {.name = "default_mem", .type = KEY_SIZE, F(default_mem)},
        {.name = "serial_log_max", .type = KEY_SIZE, F(serial_log_max)},
        U32("audit_keep_days", audit_keep_days, 0, 36500),
};

static int apply_key(Settings *s, const Key *k, const char *v, Error *err) {
        char *field = (char *)s + k->offset;
        uint64_t n;
        switch (k->type) {
        case KEY_STRING:
                if (k->valid && !k->valid(v))
                        return error_set(err, -EINVAL, "config %s: '%s' is not %s", k->name, v, k->what);
                if (strlen(v) >= k->size)
                        return error_set(err, -EINVAL, "config %s: value too long", k->name);
                memcpy(field, v, strlen(v) + 1);
                return 0;
        case KEY_YESNO:
                if (!streq(v, "yes") && !streq(v, "no"))
                        return error_set(err, -EINVAL, "config %s: '%s' is not yes|no", k->name, v);
                *(bool *)field = streq(v, "yes");
                return 0;
        case KEY_U32:
                if (parse_u64(v, &n) < 0 || n < k->min || n > k->max)
                        return error_set(err, -EINVAL, "config %s: '%s' is not a number from %" PRIu64 " to %" PRIu64,
                                         k->name, v, k->min, k->max);
                *(uint32_t *)field = (uint32_t)n;
                return 0;
        case KEY_SIZE:
                if (parse_size(v, &n) < 0)
                        return error_set(err, -EINVAL, "config %s: bad size '%s'", k->name, v);
                *(uint64_t *)field = n;
                return 0;
        case KEY_ENUM: {
                int e = k->from_string(v);
                if (e < 0)
                        return error_set(err, -EINVAL, "config %s: '%s' is not %s", k->name, v, k->choices);
                *(int *)field = e;
                return 0;
        }
        }
        return -EINVAL;
}

int settings_apply(Settings *s, const Config *c, Error *err) {
        for (size_t i = 0; i < config_count(c); i++) {
                const char *name = config_key_at(c, i), *v = config_get(c, name);
                const Key *k = NULL;
                for (size_t j = 0; j < ELEMENTSOF(keys) && !k; j++)
                        if (streq(keys[j].name, name))
                                k = &keys[j];
                if (!k && strchr(name, '.'))
                        continue; /* sections belong to later subsystems (dhcp., batch., net.) */
                if (!k)
                        return error_set(err, -EINVAL, "config: unknown key '%s'", name);
                int r = apply_key(s, k, v, err);
                if (r < 0)
                        return r;
        }
        return 0;
}
