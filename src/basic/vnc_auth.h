/* vnc_auth.h - VNC authentication's answer (RFB security type 2, RFC 6143
 * section 7.2.2), for the console gateway (web/rfb_proxy.c) and the test
 * tool that logs in to qemu's VNC (tests/unit/qmp-tool.c). Its own small
 * library (src/meson.build: vnc_auth_dep), so only they link nettle for it. */
#pragma once

#include <stdint.h>

/* The answer to a 16-byte challenge: DES (ECB, two blocks) with the
 * password's first 8 bytes, zero-padded, each bit-reversed as VNC does. */
void vnc_auth_response(const char *password, const uint8_t challenge[16], uint8_t ret[16]);
