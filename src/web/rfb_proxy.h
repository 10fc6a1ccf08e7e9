/* rfb_proxy.h - the console gateway's RFB (VNC) handshake, both sides, as a
 * pure state machine: fed the bytes each side sent, it queues the bytes for
 * each side. No I/O, so the unit test and the fuzz target drive it with
 * recorded and random bytes exactly as the gateway does with sockets.
 *
 * Towards the VM (the "server": qemu's VNC server, RFB 3.8) the gateway is
 * the client and does the VNC authentication (security type 2, the DES
 * challenge: basic/vnc_auth.h) with the password vmbatchd gave it. Towards
 * the browser (the "client": noVNC) it is a server that offers only
 * security type 1 (None), so the password never leaves the gateway. When both sides are through
 * their security handshake, ClientInit, ServerInit and everything after are
 * copied unchanged (the relay phase).
 *
 * Both peers are hostile: every length is bounded, every byte is checked
 * against what the phase allows, and a failure ends in RFB_FAILED with a
 * reason. The browser learns a reason the protocol can carry (a security
 * type list of 0 or a failed SecurityResult with a reason string) at the
 * first point where RFB 3.8 allows it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "web/rfb_input.h"

typedef enum RfbSide { RFB_SERVER, RFB_CLIENT, _RFB_SIDE_MAX } RfbSide;

typedef enum RfbPhase {
        RFB_HANDSHAKE, /* either side still in its version or security handshake */
        RFB_RELAY,     /* both through: bytes are copied both ways */
        RFB_FAILED,    /* over: rfb_proxy_reason() says why; what is queued for the client may still go */
} RfbPhase;

typedef struct RfbProxy RfbProxy;

/* Queues the gateway's "RFB 003.008\n" for the client at once: the browser's
 * side of the handshake runs while the token is being redeemed. */
int rfb_proxy_new(RfbProxy **ret);
void rfb_proxy_free(RfbProxy *p);

/* The VNC connection is there: the server's side starts (its bytes may be
 * fed from now on). password: the instance's VNC password (copied; at most 8
 * bytes count, as in VNC; "" if the server asks for none). */
void rfb_proxy_server_ready(RfbProxy *p, const char *password);
/* The server side cannot happen (token refused, the VM gone): reason goes to
 * the browser at the next point where RFB allows it. */
void rfb_proxy_fail(RfbProxy *p, const char *reason);

/* Bytes from one side. Returns the phase after them. In the relay phase
 * they are queued for the other side unchanged. */
RfbPhase rfb_proxy_feed(RfbProxy *p, RfbSide from, const uint8_t *buf, size_t n);
RfbPhase rfb_proxy_phase(const RfbProxy *p);
/* The browser's messages in the relay, told apart (rfb_input.h): how many
 * of them were console input (keys, pointer) so far. */
const RfbInputScan *rfb_proxy_client_input(const RfbProxy *p);
/* Why it failed (NULL while it has not): one line, printable ASCII. */
const char *rfb_proxy_reason(const RfbProxy *p);

/* What is queued for side `to`: *ret_data (valid until the next call on p)
 * and its length. rfb_proxy_consume drops the first n of them (sent). */
size_t rfb_proxy_pending(const RfbProxy *p, RfbSide to, const uint8_t **ret_data);
void rfb_proxy_consume(RfbProxy *p, RfbSide to, size_t n);
