/* dhcp.h - fixed DHCP leases for VMs: one interface, two backends.
 *
 *   dnsmasq  the embedded default: a DHCP-only dnsmasq that this process
 *            starts and supervises (its pidfd is the watch fd), serving only
 *            hosts it knows: one file per host in <state_dir>/hosts, picked
 *            up by inotify without a restart.
 *   omapi    the paper's ISC dhcpd: host objects over OMAPI (net/omapi_client.h).
 *
 * Host names are DNS labels (letters, digits, '-', 1..63 bytes, no leading
 * '-'); the dnsmasq backend uses them as file names too. MACs are
 * "xx:xx:xx:xx:xx:xx", IPs dotted IPv4. Functions return 0 or a negative
 * errno and fill err (may be NULL) with one line for a human. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "basic/error.h"

typedef struct DhcpConfig {
        const char *backend;        /* "dnsmasq" | "omapi"; NULL: "dnsmasq" */
        const char *interface;      /* bridge the VMs are on (dnsmasq binds to it) */
        const char *state_dir;      /* dnsmasq: hosts dir, leases file, pid file live here */
        const char *gateway;        /* router option handed to guests (NULL: dnsmasq's default,
                                       its own address on the interface) */
        const char *range_net;      /* dnsmasq: network of the static range, e.g. 192.168.100.0 */
        const char *range_mask;     /* e.g. 255.255.255.0 */
        const char *omapi_server;   /* numeric address */
        uint16_t omapi_port;        /* 0: 7911 */
        const char *omapi_key_name;
        const char *omapi_secret;   /* base64, as in dhcpd.conf */
} DhcpConfig;

typedef struct DhcpBackend DhcpBackend;

/* Check the configuration and make the backend; starts nothing. */
int dhcp_backend_new(const DhcpConfig *c, DhcpBackend **ret, Error *err);
/* Stops a dnsmasq it started (SIGTERM, then SIGKILL after 2 s, reaped);
 * closes an OMAPI connection. Accepts NULL. */
void dhcp_backend_free(DhcpBackend *b);
static inline void dhcp_backend_freep(DhcpBackend **b) { dhcp_backend_free(*b); }
#define _cleanup_dhcp_backend_ _cleanup_(dhcp_backend_freep)

/* "dnsmasq" or "omapi". */
const char *dhcp_backend_name(const DhcpBackend *b);

/* dnsmasq: create the state directories and start dnsmasq (spawn_start, our
 * child, its own pidfd); returns once it has written its PID file, i.e. its
 * sockets are bound, or fails with its first line of stderr. When it is
 * already running this is a no-op; when it has exited (the watch fd became
 * readable) it is reaped and started again, with its host files and
 * leases. omapi: connect and check the key (name and secret). */
int dhcp_start(DhcpBackend *b, Error *err);
/* dnsmasq's pidfd (readable when it exits: call dhcp_start to restart it),
 * -1 for omapi or when nothing runs. */
int dhcp_watch_fd(DhcpBackend *b);
/* dnsmasq's pid (0 when none). */
pid_t dhcp_pid(DhcpBackend *b);
/* If the supervised dnsmasq has exited, reap it: returns 1 and sets
 * *ret_exit_code (may be NULL; 128+signal for a signal, -1 when somebody
 * else reaped it); 0 when it still runs or none was started. */
int dhcp_reap(DhcpBackend *b, int *ret_exit_code);

/* Give host `name` (MAC) the fixed address ip. Idempotent: the same entry
 * again is 0; an entry of that name with another MAC or IP is replaced
 * (its old lease released). omapi: -EEXIST when the MAC belongs to another
 * host. */
int dhcp_host_add(DhcpBackend *b, const char *name, const char *mac, const char *ip, Error *err);
/* Remove host `name` and drop its lease at once, so the IP can be handed out
 * again immediately. Idempotent (an unknown host is 0). dnsmasq: mac/ip may
 * be NULL, then they are read from the host's file. */
int dhcp_host_remove(DhcpBackend *b, const char *name, const char *mac, const char *ip, Error *err);
/* Names of the hosts vmbatch created (for reconciliation), sorted, as a
 * NULL-terminated array (free with dhcp_names_free). omapi: -ENOTSUP. */
int dhcp_host_list(DhcpBackend *b, char ***ret_names, size_t *ret_n, Error *err);
/* A log of the server's own that grew past max_bytes is moved to ".1"
 * (replacing the older one) and the server told to reopen it. Returns 1
 * when rotated, 0 when not needed (or the backend keeps no log). */
int dhcp_log_rotate(DhcpBackend *b, uint64_t max_bytes, Error *err);
void dhcp_names_free(char **names);

/* ---- pure helpers (golden-tested) -------------------------------------- */

bool dhcp_host_name_is_valid(const char *name);
/* "de:af:de:af:64:02" -> bytes; upper case accepted. */
int dhcp_mac_parse(const char *s, uint8_t ret[6]);

/* The dnsmasq --dhcp-hostsdir file content for one host:
 * "de:af:de:af:64:02,192.168.100.2,vm1002\n" (MAC normalised to lower case).
 * -EINVAL for a bad MAC, IP or name. *ret is malloc'd. */
int dnsmasq_host_line(const char *mac, const char *ip, const char *name, char **ret);
/* The reverse, for a file we wrote: MAC into mac (18 bytes), IP into ip
 * (16 bytes); -EINVAL when it is not such a line. */
int dnsmasq_host_line_parse(const char *line, char mac[18], char ip[16], char name[64]);

/* Paths under state_dir (malloc'd). */
char *dnsmasq_hosts_dir(const char *state_dir);
char *dnsmasq_host_file(const char *state_dir, const char *name); /* NULL if name invalid */

/* The dnsmasq command line for c (NULL-terminated, malloc'd strings; free
 * with dhcp_names_free). -EINVAL if c lacks a field dnsmasq needs. */
int dnsmasq_build_argv(const DhcpConfig *c, char ***ret_argv, Error *err);
/* dhcp_release INTERFACE IP MAC */
int dnsmasq_release_argv(const char *interface, const char *ip, const char *mac, char ***ret_argv);
/* A dnsmasq leases file without the lines of mac or ip (used when no
 * dnsmasq runs to receive a release); *ret_removed = lines dropped. */
char *dnsmasq_leases_without(const char *leases, const char *mac, const char *ip, size_t *ret_removed);

/* ---- for the backend implementations only ------------------------------ */

typedef struct DhcpBackendOps {
        const char *name;
        /* check c (already known to name this backend) */
        int (*check_config)(const DhcpConfig *c, Error *err);
        /* make the backend's private state (set with dhcp_backend_set_data) */
        int (*init)(DhcpBackend *b, Error *err);
        /* stop what runs and free the private state */
        void (*done)(DhcpBackend *b);
        int (*start)(DhcpBackend *b, Error *err);
        int (*watch_fd)(DhcpBackend *b);                  /* NULL: -1 */
        pid_t (*pid)(DhcpBackend *b);                     /* NULL: 0 */
        int (*reap)(DhcpBackend *b, int *ret_exit_code);  /* NULL: 0 */
        int (*host_add)(DhcpBackend *b, const char *name, const char *mac, const char *ip, Error *err);
        int (*host_remove)(DhcpBackend *b, const char *name, const char *mac, const char *ip, Error *err);
        int (*host_list)(DhcpBackend *b, char ***ret_names, size_t *ret_n, Error *err); /* NULL: -ENOTSUP */
        int (*log_rotate)(DhcpBackend *b, uint64_t max_bytes, Error *err);                  /* NULL: 0 */
} DhcpBackendOps;

/* The backend's own copy of the configuration (valid as long as b). */
const DhcpConfig *dhcp_backend_config(const DhcpBackend *b);
void *dhcp_backend_get_data(const DhcpBackend *b);
void dhcp_backend_set_data(DhcpBackend *b, void *data);

/* sorted NULL-terminated name array helpers shared by the backends */
int dhcp_names_add(char ***names, size_t *n, const char *name);
void dhcp_names_sort(char **names, size_t n);

extern const DhcpBackendOps dhcp_dnsmasq_ops;
extern const DhcpBackendOps dhcp_omapi_ops;
