/* link.h - bridges and taps on this node, over rtnetlink and the tun
 * ioctls (never the `ip` command).
 *
 * Every function talks to the kernel of the calling thread's network
 * namespace, needs CAP_NET_ADMIN for changes, returns 0 or a negative errno
 * and, where an Error is taken, fills it with one line for a human (the
 * kernel's extended-ack text when it gives one).
 *
 * Liveness design: a tap made by link_tap_create is NOT persistent. It
 * exists exactly as long as some process holds its fd (the daemon until it
 * hands the fd to qemu, then qemu): when qemu dies, however it dies, the
 * kernel removes the tap and with it its bridge port. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "basic/error.h"

#define LINK_NAME_MAX 15 /* IFNAMSIZ - 1 */
#define LINK_TAP_PREFIX "vmb"

/* A kernel interface name: 1..15 bytes, no '/', ':', whitespace, not "." or
 * "..". Pure. */
bool link_name_is_valid(const char *name);

/* "vmb<instance_id>" into buf (>= LINK_NAME_MAX + 1 bytes). -ENAMETOOLONG
 * when it would not fit in 15 characters (ids up to 999999999999). Pure. */
int link_tap_name(uint64_t instance_id, char *buf, size_t size);

/* The reverse, for reconciliation (link_list_prefix("vmb") also returns
 * e.g. a bridge "vmbbr0"): the instance id of a tap name, -EINVAL when name
 * is not "vmb" followed by decimal digits (no leading zero). Pure. */
int link_tap_name_parse(const char *name, uint64_t *ret_instance_id);

/* Parse "192.168.100.1/24" or "fd00::1/64" (the prefix is required).
 * family is AF_INET or AF_INET6; addr holds 4 or 16 bytes. Pure. */
typedef struct LinkAddress {
        int family;
        uint8_t addr[16];
        unsigned prefixlen;
} LinkAddress;
int link_address_parse(const char *cidr, LinkAddress *ret);

/* Create bridge `name` if there is none (STP off, forward delay 0, a fixed
 * random locally administered MAC so the gateway's MAC does not follow the
 * lowest tap MAC), add address_cidr to it if given and not yet there, and
 * set it up. An existing bridge keeps its settings; an existing link of
 * another kind is -EEXIST. Idempotent. */
int link_bridge_ensure(const char *name, const char *address_cidr, Error *err);

/* Open /dev/net/tun (O_CLOEXEC) and create tap `name` (IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR, exclusive: an existing link of that name is -EEXIST, never
 * re-attached), owned by owner/group ((uid_t)-1 / (gid_t)-1: leave unset),
 * not persistent, enslaved to `bridge` and up. *ret_fd is the tap's fd:
 * the tap vanishes when the last copy of it is closed. Errors: -ENODEV
 * "bridge X does not exist", -EINVAL "X is not a bridge", -EEXIST name
 * taken, -ENOENT no /dev/net/tun, -EPERM/-EACCES not privileged. */
int link_tap_create(const char *name, uid_t owner, gid_t group, const char *bridge, int *ret_fd, Error *err);

/* Delete link `name`; a link that does not exist is not an error (0). */
int link_delete(const char *name, Error *err);

/* Take link `name` off its bridge and down: nothing it sends reaches
 * anyone (an exam vm past its deadline, daemon/host.c). */
int link_cut(const char *name, Error *err);

int link_exists(const char *name, bool *ret);

/* ifindex, the master's ifindex (0: none) and whether it is up. -ENODEV
 * when it does not exist. */
typedef struct LinkInfo {
        int ifindex;
        int master;
        bool up;
        bool is_bridge;
} LinkInfo;
int link_get_info(const char *name, LinkInfo *ret);

/* Every link whose name starts with prefix (for reconciliation), sorted.
 * *ret_names is a NULL-terminated array owned by the caller: free it with
 * link_names_free. */
int link_list_prefix(const char *prefix, char ***ret_names, size_t *ret_n);
void link_names_free(char **names);
