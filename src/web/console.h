/* console.h - one browser console: the WebSocket (the browser, noVNC), the
 * redeem call to vmbatchd, then the instance's VNC connection, tied by an
 * RfbProxy (rfb_proxy.h). Everything runs on libwebsockets' loop: the
 * daemon's socket and the VNC fd are adopted into it as raw descriptors, so
 * one console waiting never stalls another.
 *
 * From the relay on, vmbatchd is told (console.activity, activity.h) of the
 * connection's open, its close, and the browser's input as rfb_input.h
 * tells it, when activity_clock.h says.
 *
 * Flow control: a side is not read while what it sent still waits, over
 * CONSOLE_HIGH bytes, for the other side's socket (lws_rx_flow_control);
 * reading resumes below CONSOLE_LOW. */
#pragma once

#include <libwebsockets.h>

#define CONSOLE_HIGH (512 * 1024)
#define CONSOLE_LOW (128 * 1024)

typedef struct Console Console;

typedef struct ConsoleEnv {
        struct lws_vhost *vhost;
        const char *socket_path; /* vmbatchd's */
        const char *raw_protocol; /* the protocol adopted fds are bound to */
        const char *activity_protocol; /* console.activity's sockets' (activity.h) */
} ConsoleEnv;

/* The WebSocket is up with a well-formed token: redeem it (from = the
 * browser's "ADDR:PORT"). NULL when out of memory. */
Console *console_open(const ConsoleEnv *env, struct lws *ws, const char *token, const char *from);
/* The gateway stops (its lws context is about to go): consoles closed from
 * now on are not reported to vmbatchd. */
void console_stopping(void);
/* The WebSocket is gone (closed by either end): everything else goes too. */
void console_ws_closed(Console *c);
/* Bytes from the browser. */
void console_ws_receive(Console *c, const void *in, size_t len);
/* The WebSocket may be written: returns -1 to close it (after its reason). */
int console_ws_writeable(Console *c);
/* An event on an adopted descriptor (the daemon's socket or the VNC fd):
 * the raw protocol's callback. */
int console_raw_event(struct lws *wsi, enum lws_callback_reasons reason);
