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
        snprintf(s->web_user, sizeof(s->web_user), "vmbatch-web");
        s->console_token_ttl_s = 60;
        s->exam_warm_lead_s = 600;
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
        const char *(*to_string)(int v);    /* KEY_ENUM: the value's name */
        const char *help;                  /* one line for the commented file */
} Key;

static int dhcp_kind_int(const char *s) { return dhcp_kind_from_string(s); }
static int filter_kind_int(const char *s) { return filter_kind_from_string(s); }
static int accel_kind_int(const char *s) { return accel_kind_from_string(s); }
static int log_level_int(const char *s) { return log_level_from_string(s); }
static const char *dhcp_kind_str(int v) { return dhcp_kind_to_string(v); }
static const char *filter_kind_str(int v) { return filter_kind_to_string(v); }
static const char *accel_kind_str(int v) { return accel_kind_to_string(v); }
static const char *log_level_str(int v) { return log_level_to_string(v); }

static bool valid_ifname(const char *v) { return *v && strlen(v) <= 15 && !strchr(v, '/'); }
static bool valid_queue(const char *v) {
        return strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@") == strlen(v);
}
static bool valid_addr_port(const char *v) { return isempty(v) || strchr(v, ':'); }
/* "" is the default: the hostname */
static bool valid_host_name(const char *v) { return !strpbrk(v, " /\t"); }
/* the gateway only serves https (wss:// behind it); a token in the
 * fragment of a plain http:// page would cross the network in clear */
static bool valid_console_url(const char *v) {
        return isempty(v) || (strncmp(v, "https://", 8) == 0 && v[8] && !strpbrk(v, "#? \t"));
}
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
#define STR(k, field, h) {.name = k, .type = KEY_STRING, F(field), .help = h}
#define STRV(k, field, fn, w, h) {.name = k, .type = KEY_STRING, F(field), .valid = fn, .what = w, .help = h}
#define U32(k, field, lo, hi, h) {.name = k, .type = KEY_U32, F(field), .min = lo, .max = hi, .help = h}
#define SIZE(k, field, h) {.name = k, .type = KEY_SIZE, F(field), .help = h}
#define YESNO(k, field, h) {.name = k, .type = KEY_YESNO, F(field), .help = h}
#define ENUM(k, field, kind, c, h)                                                                        \
        {.name = k, .type = KEY_ENUM, F(field), .from_string = kind##_int, .to_string = kind##_str, .choices = c, \
         .help = h}

/* The order is the order of the commented file settings_write_conf() makes
 * (the package's /etc/vmbatch/vmbatch.conf); help is its one-line comment,
 * vmbatch.conf(5) says the rest. */
static const Key keys[] = {
        STR("socket", socket, "the unix socket vmbatchd listens on and vmbatch/vmapp connect to"),
        STR("database", database, "the SQLite database holding all state"),
        STR("admin_user", admin_user, "the account --init makes the admin: a normal user, never root (required)"),
        STR("admin_stordir", admin_stordir, "the admin's template folder; empty: the admin's home"),
        U32("default_max_running", default_max_running, 0, 100000, "running VMs a new user may have at once"),
        SIZE("default_max_storage", default_max_storage, "disc space a new user may use (K, M, G, T)"),
        SIZE("default_mem", default_mem, "memory of a VM added without --mem"),
        U32("default_vcpus", default_vcpus, 1, 256, "vCPUs of a VM added without --vcpus"),
        U32("audit_keep_days", audit_keep_days, 0, 36500, "days the audit log keeps an entry; 0: forever"),
        ENUM("log_level", log_level, log_level, "error|warning|info|debug", "error, warning, info or debug"),
        YESNO("node", node, "yes: VMs also run on this host; no: control plane only"),
        STR("state_dir", state_dir, "job logs, serial logs and DHCP state"),
        STRV("bridge", bridge, valid_ifname, "an interface name", "the bridge the VMs' taps join (made when absent)"),
        STR("bridge_address", bridge_address, "an address for the bridge, CIDR (e.g. 192.168.100.1/24)"),
        ENUM("dhcp_backend", dhcp_backend, dhcp_kind, "dnsmasq|omapi|none", "dnsmasq, omapi (ISC dhcpd) or none"),
        STR("dhcp_range", dhcp_range, "dnsmasq: the static range's network as NET/MASK"),
        STR("dhcp_gateway", dhcp_gateway, "the router option handed to guests"),
        STR("omapi_server", omapi_server, "omapi: dhcpd's OMAPI address"),
        U32("omapi_port", omapi_port, 1, 65535, "omapi: dhcpd's OMAPI port"),
        STR("omapi_key_name", omapi_key_name, "omapi: the HMAC-MD5 key's name, as in dhcpd.conf"),
        STR("omapi_secret", omapi_secret, "omapi: the key's base64 secret"),
        ENUM("accel", accel, accel_kind, "auto|kvm|tcg", "auto (KVM when usable, else TCG), kvm or tcg"),
        STR("qemu_binary", qemu_binary, "the qemu system emulator"),
        STR("vnc_listen", vnc_listen, "where VNC consoles listen; another address opens them to that network"),
        SIZE("serial_log_max", serial_log_max, "a guest's serial log keeps its newest half past this; 0: no limit"),
        STR("batch_backend", batch_backend, "local, slurm or sge"),
        STRV("batch_queue", batch_queue, valid_queue, "a queue name", "slurm partition or sge queue; empty: the default"),
        STR("starter", starter, "the path of vmbatch-starter"),
        U32("reattach_grace", reattach_grace_s, 0, 3600, "seconds starters have to re-attach after a restart"),
        ENUM("filter_backend", filter_backend, filter_kind, "nft|ebtables|none", "isolation filters: nft, ebtables or none"),
        STR("filter_allow", filter_allow, "addresses isolated VMs may also reach (comma list)"),
        U32("broadcast_pps", broadcast_pps, 1, 100000, "broadcast frames per second an isolated VM may send"),
        STRV("host_ports_allow", host_ports_allow, valid_host_ports, "a list of tcp/PORT and udp/PORT (at most 64)",
             "host ports every VM may reach besides DHCP, DNS and ping: \"tcp/22, udp/123\""),
        STR("dhcp_server_ip", dhcp_server_ip, "the DHCP server's address when not on the bridge; empty: the gateway"),
        STR("dhcp_server_mac", dhcp_server_mac, "the DHCP server's MAC; empty: the bridge's"),
        STR("gateway_mac", gateway_mac, "the gateway's MAC when not this host's bridge"),
        STRV("cluster_listen", cluster_listen, valid_addr_port, "ADDRESS:PORT",
             "controller: ADDRESS:PORT where nodes connect (TCP, MUNGE); empty: none"),
        STRV("controller", controller, valid_addr_port, "ADDRESS:PORT", "vmbatchd --node: the controller's ADDRESS:PORT"),
        STRV("node_name", node_name, valid_host_name, "a host name", "vmbatchd --node: this host's name; empty: the hostname"),
        STR("node_socket", node_socket, "controller: the node socket on execution hosts (%h: the host); empty: socket"),
        STRV("console_url", console_url, valid_console_url, "an https:// URL",
             "the console gateway's page in console.open's URL; empty: https://HOSTNAME:8443/console"),
        STR("web_user", web_user, "the account the console gateway runs as: it (and root) may redeem console tokens"),
        U32("console_token_ttl", console_token_ttl_s, 1, 3600, "seconds a console token may be redeemed after its issue"),
        U32("exam_warm_lead", exam_warm_lead_s, 0, 86400,
            "seconds before an exam's start its vms may boot (an exam's reservation starts this early)"),
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

/* The value of key k in s as the config file spells it */
static void format_key(const Settings *s, const Key *k, char *buf, size_t len) {
        const char *field = (const char *)s + k->offset;
        switch (k->type) {
        case KEY_STRING: snprintf(buf, len, "%s", field); return;
        case KEY_YESNO: snprintf(buf, len, "%s", *(const bool *)field ? "yes" : "no"); return;
        case KEY_U32: snprintf(buf, len, "%" PRIu32, *(const uint32_t *)field); return;
        case KEY_SIZE: format_size(*(const uint64_t *)field, buf, len); return;
        case KEY_ENUM: {
                const char *name = k->to_string(*(const int *)field);
                snprintf(buf, len, "%s", name ? name : "?");
                return;
        }
        }
}

void settings_write_conf(FILE *f, const Settings *s) {
        fputs("# vmbatch.conf - the configuration of vmbatchd, vmbatch and vmapp; see vmbatch.conf(5).\n"
              "# Every key is shown commented out at its default: remove the '#' to change one.\n"
              "# vmbatchd reads this file when it starts (restart it after a change).\n",
              f);
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                char v[PATH_MAX + 64];
                format_key(s, &keys[i], v, sizeof(v));
                fprintf(f, "\n# %s\n#%s =%s%s\n", keys[i].help, keys[i].name, *v ? " " : "", v);
        }
        /* prose only: a [web] header here, even one an admin uncomments,
         * would take in the lines appended to this file later (the README's
         * install appends) */
        fputs("\n# The console gateway vmbatch-web reads a [web] section (listen, cert, key, path,\n"
              "# novnc_dir, web_dir, state_dir; see vmbatch-web(8)). Put it last in this file:\n"
              "# every key after a section's header belongs to that section.\n",
              f);
}

size_t settings_key_count(void) { return ELEMENTSOF(keys); }
const char *settings_key_name(size_t i) { return i < ELEMENTSOF(keys) ? keys[i].name : NULL; }
