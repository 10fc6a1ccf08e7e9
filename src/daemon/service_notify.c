#include "daemon/service_notify.h"

#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "basic/log.h"
#include "basic/util.h"

struct ServiceNotify {
        EventSource *watchdog;
};

/* from the loop itself: a loop that blocks stops pinging, and the manager
 * restarts the daemon after WatchdogSec= */
static int on_watchdog(EventSource *s, void *userdata) {
        sd_notify(0, "WATCHDOG=1");
        return 0;
}

int service_notify_ready(EventLoop *loop, const char *status, ServiceNotify **ret) {
        ServiceNotify *n = xcalloc(1, sizeof(*n));
        uint64_t usec = 0;
        int r = sd_watchdog_enabled(0, &usec);
        if (r > 0 && usec >= 2000) {
                r = event_add_timer(loop, usec / 2000, on_watchdog, n, &n->watchdog);
                if (r < 0) {
                        free(n);
                        return r;
                }
                log_info("watchdog: pinging the service manager every %llu ms", (unsigned long long)(usec / 2000));
        }
        r = sd_notifyf(0, "READY=1\nSTATUS=%s", status);
        if (r < 0)
                log_warn("cannot tell the service manager we are ready: %s", strerror(-r));
        *ret = n;
        return 0;
}

void service_notify_stopping(ServiceNotify *n) {
        if (n)
                sd_notify(0, "STOPPING=1");
}

void service_notify_free(ServiceNotify *n) {
        if (!n)
                return;
        event_source_free(n->watchdog);
        free(n);
}
