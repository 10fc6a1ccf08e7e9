/* service_notify.h - vmbatchd and its service manager (systemd's sd_notify
 * protocol, through libsystemd): ready once the socket answers, a status
 * line, stopping, and the watchdog, which proves the event loop still turns
 * (vmbatchd.service sets WatchdogSec=). Without $NOTIFY_SOCKET every call
 * does nothing. */
#pragma once

#include "basic/event.h"

typedef struct ServiceNotify ServiceNotify;

/* READY=1 with STATUS=status; and when the manager asked for a watchdog
 * ($WATCHDOG_USEC), a timer on loop that pings it at half that interval */
int service_notify_ready(EventLoop *loop, const char *status, ServiceNotify **ret);
void service_notify_stopping(ServiceNotify *n);
void service_notify_free(ServiceNotify *n);
