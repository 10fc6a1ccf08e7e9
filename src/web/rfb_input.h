/* rfb_input.h - which of the browser's RFB messages are console input
 * (issue 14: "last activity ... console input"). In the relay phase the
 * gateway copies the browser's bytes unchanged (rfb_proxy.h); this follows
 * them message by message, from ClientInit on, and counts the KeyEvents,
 * PointerEvents and QEMU extended KeyEvents among them. A FramebufferUpdate-
 * Request, which noVNC sends after every update, is no input.
 *
 * Pure (no I/O), fed any split of the bytes; fuzzed (tests/fuzz/
 * fuzz-rfb-input.c). The browser is hostile: every length is read from a
 * bounded head, a body is skipped, never buffered, and a message type it
 * does not know (RFC 6143 7.5 and the extensions noVNC speaks to qemu) ends
 * the count for that connection (`lost`): its boundaries can no longer be
 * told, and guessing would count a body's bytes as messages. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct RfbInputScan {
        uint8_t head[12]; /* the current message's first bytes, up to what fixes its length */
        size_t have;      /* of head */
        uint64_t skip;    /* what of the current message is still to pass */
        bool init_done;   /* ClientInit's one byte went */
        bool lost;        /* an unknown type came: nothing more is counted */
        uint8_t lost_type;
        uint64_t messages; /* whole messages seen (ClientInit not counted) */
        uint64_t inputs;   /* of them KeyEvent, PointerEvent, QEMU extended KeyEvent */
} RfbInputScan;

/* The next bytes the browser sent (zero-initialised s at the first). */
void rfb_input_scan(RfbInputScan *s, const uint8_t *buf, size_t n);
