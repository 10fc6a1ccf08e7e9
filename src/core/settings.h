/* settings.h - the daemon's configuration, read from vmbatch.conf. */
#pragma once

#include <limits.h>
#include <stdio.h>

#include "basic/config.h"

/* Backend kinds: enums here, names only in the config file and in the
 * messages (the string tables are in settings.c). */
typedef enum DhcpKind { DHCP_DNSMASQ, DHCP_OMAPI, DHCP_NONE, _DHCP_KIND_MAX } DhcpKind;
typedef enum FilterKind { FILTER_KIND_NFT, FILTER_KIND_EBTABLES, FILTER_KIND_NONE, _FILTER_KIND_MAX } FilterKind;
typedef enum AccelKind { ACCEL_AUTO, ACCEL_KVM, ACCEL_TCG, _ACCEL_KIND_MAX } AccelKind;
const char *dhcp_kind_to_string(DhcpKind k);
DhcpKind dhcp_kind_from_string(const char *s);
const char *filter_kind_to_string(FilterKind k);
FilterKind filter_kind_from_string(const char *s);
const char *accel_kind_to_string(AccelKind k);
AccelKind accel_kind_from_string(const char *s);
/* log_level: LOG_LEVEL_* of basic/log.h */
const char *log_level_to_string(int level);
int log_level_from_string(const char *s);

typedef struct Settings {
        char socket[PATH_MAX];
        char database[PATH_MAX];
        char admin_user[64];       /* the admin init makes: a normal account, never root ("" = unset) */
        char admin_stordir[PATH_MAX]; /* "" = the admin's home */
        uint32_t default_max_running;
        uint64_t default_max_storage;
        uint64_t default_mem;
        uint32_t default_vcpus;
        int log_level;                 /* LOG_LEVEL_* (basic/log.h) */
        uint32_t audit_keep_days;      /* audit entries older than this go; 0 = kept forever */
        /* node role: where VMs run on this host */
        bool node;                     /* run VMs here (bridge, taps, DHCP); off: control plane only */
        char state_dir[PATH_MAX];      /* job logs, dnsmasq state */
        char bridge[16];
        char bridge_address[64];       /* "192.168.100.1/24": given to the bridge if set */
        DhcpKind dhcp_backend;
        char dhcp_range[64];           /* dnsmasq: "NET/MASK" of the static range */
        char dhcp_gateway[16];         /* router option for guests */
        char omapi_server[64];
        uint32_t omapi_port;
        char omapi_key_name[64];
        char omapi_secret[256];
        AccelKind accel;
        char qemu_binary[PATH_MAX];
        char vnc_listen[64];
        uint64_t serial_log_max; /* a guest's serial log keeps its newest half past this; 0: unlimited */
        char batch_backend[16];        /* local | slurm | sge */
        char batch_queue[64];          /* slurm partition / Grid Engine queue for VM jobs; "" = the default */
        char starter[PATH_MAX];
        uint32_t reattach_grace_s;     /* after a restart, how long starters have to come back */
        FilterKind filter_backend;
        char filter_allow[1024];       /* comma list of addresses isolated VMs may also reach */
        uint32_t broadcast_pps;        /* isolated VMs' broadcast limit, per tap */
        char host_ports_allow[1024];   /* "tcp/22, udp/123": host ports every VM may reach besides DHCP, DNS, ping */
        char dhcp_server_ip[16];       /* "" = the gateway (a DHCP server on the bridge) */
        char dhcp_server_mac[18];      /* "" = the bridge's MAC */
        char gateway_mac[18];          /* "" = dhcp_server_mac when the DHCP server is the gateway, else the bridge's */
        /* cluster mode */
        char cluster_listen[128];      /* controller: "ADDR:PORT" where nodes connect (TCP, MUNGE); "" = none */
        char controller[128];          /* vmbatchd --node: the controller's "ADDR:PORT" */
        char node_name[64];            /* this execution host's name; "" = the hostname */
        char node_socket[PATH_MAX];    /* the node socket on execution hosts, %h = the host's name; "" = socket */
        /* the browser console (console.open / console.redeem) */
        char console_url[512];         /* the gateway's page; "" = https://HOSTNAME:8443/console */
        char web_user[64];             /* the account the gateway runs as, may redeem tokens (besides root) */
        uint32_t console_token_ttl_s;  /* how long a console token may be redeemed after its issue */
        /* exams */
        uint32_t exam_warm_lead_s;     /* how long before an exam's start its VMs may boot (its reservation's lead) */
} Settings;

void settings_defaults(Settings *s);
/* Apply a parsed config; unknown keys and bad values are errors naming them. */
int settings_apply(Settings *s, const Config *c, Error *err);
/* The commented configuration file: every key, at its value in s (the
 * defaults, for the package's conffile), each with a one-line comment */
void settings_write_conf(FILE *f, const Settings *s);
/* The keys, in that order (for tests and completion) */
size_t settings_key_count(void);
const char *settings_key_name(size_t i);
