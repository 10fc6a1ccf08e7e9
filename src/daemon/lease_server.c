/* lease_server.c - the supervised DHCP server. See lease_server.h. */
#include "daemon/lease_server.h"

#include <stdio.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include "basic/log.h"
#include "core/ipam.h"
#include "net/link.h"

struct LeaseServer {
        EventLoop *loop;
        const Settings *settings;
        DhcpBackend *dhcp;
        EventSource *dhcp_watch;
        EventSource *dhcp_retry; /* a restart that waits (the server died at once) */
        uint64_t dhcp_restarted_usec;
};


static int on_dhcp_exit(EventSource *src, int fd, uint32_t events, void *userdata);

static int dhcp_restart(LeaseServer *f) {
        event_source_free(TAKE_PTR(f->dhcp_retry));
        f->dhcp_restarted_usec = now_usec();
        Error err = {0};
        if (dhcp_start(f->dhcp, &err) < 0) {
                log_error("cannot restart the DHCP server: %s", err.message);
                return 0;
        }
        int wfd = dhcp_watch_fd(f->dhcp);
        if (wfd >= 0)
                event_add_io(f->loop, wfd, EPOLLIN, on_dhcp_exit, f, &f->dhcp_watch);
        return 0;
}

static int on_dhcp_retry(EventSource *src, void *userdata) {
        return dhcp_restart(userdata);
}

static int on_dhcp_exit(EventSource *src, int fd, uint32_t events, void *userdata) {
        LeaseServer *f = userdata;
        event_source_free(TAKE_PTR(f->dhcp_watch));
        int code = 0;
        dhcp_reap(f->dhcp, &code);
        log_warn("the DHCP server exited (status %d); restarting it", code);
        /* do not spin on a DHCP server that dies at once: the next start waits
         * half a second, on a timer (the loop goes on meanwhile) */
        if (now_usec() - f->dhcp_restarted_usec < 1000000 &&
            event_add_timer_once(f->loop, 500, on_dhcp_retry, f, &f->dhcp_retry) >= 0)
                return 0;
        return dhcp_restart(f);
}

static int split_range(const char *range, char *net, char *mask) {
        const char *slash = strchr(range, '/');
        if (!slash || slash - range > 15 || strlen(slash + 1) > 15)
                return -EINVAL;
        memcpy(net, range, (size_t)(slash - range));
        net[slash - range] = 0;
        strcpy(mask, slash + 1);
        uint32_t a;
        return ipv4_parse(net, &a) < 0 || ipv4_parse(mask, &a) < 0 ? -EINVAL : 0;
}

static int server_start(LeaseServer *f, Error *err) {
        const Settings *st = f->settings;
        char net[16] = "", mask[16] = "", dir[PATH_MAX + 16];
        if (st->dhcp_backend == DHCP_DNSMASQ && split_range(st->dhcp_range, net, mask) < 0)
                return error_set(err, -EINVAL, "config dhcp_range '%s' must be NET/MASK, e.g. "
                                               "192.168.100.0/255.255.255.0", st->dhcp_range);
        snprintf(dir, sizeof(dir), "%s/dhcp", st->state_dir);
        mkdir(dir, 0755);
        DhcpConfig dc = {
                .backend = dhcp_kind_to_string(st->dhcp_backend),
                .interface = st->bridge,
                .state_dir = dir,
                .gateway = isempty(st->dhcp_gateway) ? NULL : st->dhcp_gateway,
                .range_net = net,
                .range_mask = mask,
                .omapi_server = st->omapi_server,
                .omapi_port = (uint16_t)st->omapi_port,
                .omapi_key_name = st->omapi_key_name,
                .omapi_secret = st->omapi_secret,
        };
        int r;
        /* a controller without VMs of its own still serves DHCP on the
         * segment: on its bridge, made here then */
        if (!st->node && st->dhcp_backend == DHCP_DNSMASQ &&
            (r = link_bridge_ensure(st->bridge, isempty(st->bridge_address) ? NULL : st->bridge_address, err)) < 0)
                return r;
        if ((r = dhcp_backend_new(&dc, &f->dhcp, err)) < 0 || (r = dhcp_start(f->dhcp, err)) < 0) {
                dhcp_backend_free(f->dhcp);
                f->dhcp = NULL;
                return r;
        }
        int wfd = dhcp_watch_fd(f->dhcp);
        if (wfd >= 0)
                event_add_io(f->loop, wfd, EPOLLIN, on_dhcp_exit, f, &f->dhcp_watch);
        return 0;
}

int lease_server_new(EventLoop *loop, const Settings *settings, LeaseServer **ret, Error *err) {
        LeaseServer *f = xcalloc(1, sizeof(*f));
        f->loop = loop;
        f->settings = settings;
        int r = server_start(f, err);
        if (r < 0) {
                free(f);
                return r;
        }
        *ret = f;
        return 0;
}

void lease_server_free(LeaseServer *f) {
        if (!f)
                return;
        event_source_free(f->dhcp_watch);
        event_source_free(f->dhcp_retry);
        dhcp_backend_free(f->dhcp);
        free(f);
}

DhcpBackend *lease_server_dhcp(LeaseServer *f) { return f ? f->dhcp : NULL; }
