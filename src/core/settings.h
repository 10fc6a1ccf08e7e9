/* settings.h - the daemon's configuration, read from vmbatch.conf. */
#pragma once

#include <limits.h>

#include "basic/config.h"

typedef struct Settings {
        char socket[PATH_MAX];
        char database[PATH_MAX];
        char admin_user[64];       /* name of the default admin made by init */
        char admin_stordir[PATH_MAX]; /* "" = the admin's home */
        uint32_t default_max_running;
        uint64_t default_max_storage;
        uint64_t default_mem;
        uint32_t default_vcpus;
        char log_level[16];
        /* node role: where VMs run on this host */
        bool node;                     /* run VMs here (bridge, taps, DHCP); off: control plane only */
        char state_dir[PATH_MAX];      /* job logs, dnsmasq state */
        char bridge[16];
        char bridge_address[64];       /* "192.168.100.1/24": given to the bridge if set */
        char dhcp_backend[16];         /* dnsmasq | omapi | none */
        char dhcp_range[64];           /* dnsmasq: "NET/MASK" of the static range */
        char dhcp_gateway[16];         /* router option for guests */
        char omapi_server[64];
        uint32_t omapi_port;
        char omapi_key_name[64];
        char omapi_secret[256];
        char accel[8];                 /* auto | kvm | tcg */
        char qemu_binary[PATH_MAX];
        char vnc_listen[64];
        char batch_backend[16];        /* local | slurm | sge */
        char batch_queue[64];          /* slurm partition / Grid Engine queue for VM jobs; "" = the default */
        char starter[PATH_MAX];
        uint32_t reattach_grace_s;     /* after a restart, how long starters have to come back */
        char filter_backend[16];       /* nft | ebtables | none */
        char filter_allow[1024];       /* comma list of addresses isolated VMs may also reach */
        uint32_t broadcast_pps;        /* isolated VMs' broadcast limit, per tap */
        char dhcp_server_ip[16];       /* "" = the gateway (a DHCP server on the bridge) */
        char dhcp_server_mac[18];      /* "" = the bridge's MAC */
        char gateway_mac[18];          /* "" = dhcp_server_mac when the DHCP server is the gateway, else the bridge's */
        /* cluster mode */
        char cluster_listen[128];      /* controller: "ADDR:PORT" where nodes connect (TCP, MUNGE); "" = none */
        char controller[128];          /* vmbatchd --node: the controller's "ADDR:PORT" */
        char node_name[64];            /* this execution host's name; "" = the hostname */
        char node_socket[PATH_MAX];    /* the node socket on execution hosts, %h = the host's name; "" = socket */
} Settings;

void settings_defaults(Settings *s);
/* Apply a parsed config; unknown keys and bad values are errors naming them. */
int settings_apply(Settings *s, const Config *c, Error *err);
