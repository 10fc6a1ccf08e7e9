/* rfb_input.c - the browser's RFB messages told apart. See rfb_input.h.
 * Layouts: RFC 6143 7.5 (client to server), and the extensions noVNC sends
 * qemu: EnableContinuousUpdates (150), Fence (248), xvp (250),
 * SetDesktopSize (251), gii (253), QEMU (255: extended KeyEvent, audio). */
#include "web/rfb_input.h"

enum {
        MSG_SET_PIXEL_FORMAT = 0,
        MSG_SET_ENCODINGS = 2,
        MSG_FB_UPDATE_REQUEST = 3,
        MSG_KEY_EVENT = 4,
        MSG_POINTER_EVENT = 5,
        MSG_CLIENT_CUT_TEXT = 6,
        MSG_ENABLE_CONTINUOUS_UPDATES = 150,
        MSG_FENCE = 248,
        MSG_XVP = 250,
        MSG_SET_DESKTOP_SIZE = 251,
        MSG_GII = 253,
        MSG_QEMU = 255,
};
#define QEMU_EXTENDED_KEY_EVENT 0
#define QEMU_AUDIO 1

static uint32_t be16(const uint8_t *d) { return (uint32_t)d[0] << 8 | d[1]; }
static uint32_t be32(const uint8_t *d) { return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3]; }

/* A message's whole length from its first `have` bytes: > 0 the length;
 * 0 more head is needed (*need says how much in all); -1 an unknown type. */
static int64_t msg_length(const uint8_t *h, size_t have, size_t *need) {
        *need = 1;
        switch (h[0]) {
        case MSG_SET_PIXEL_FORMAT:
                return 20;
        case MSG_FB_UPDATE_REQUEST:
        case MSG_ENABLE_CONTINUOUS_UPDATES:
                return 10;
        case MSG_KEY_EVENT:
                return 8;
        case MSG_POINTER_EVENT:
                return 6;
        case MSG_XVP:
                return 4;
        case MSG_SET_ENCODINGS: /* type, padding, count; 4 bytes each */
                *need = 4;
                return have < 4 ? 0 : 4 + 4 * (int64_t)be16(h + 2);
        case MSG_CLIENT_CUT_TEXT: { /* type, 3 padding, length (negative: the extended clipboard's) */
                *need = 8;
                if (have < 8)
                        return 0;
                int64_t len = (int32_t)be32(h + 4);
                return 8 + (len < 0 ? -len : len);
        }
        case MSG_FENCE: /* type, 3 padding, flags, length, payload */
                *need = 9;
                return have < 9 ? 0 : 9 + (int64_t)h[8];
        case MSG_SET_DESKTOP_SIZE: /* type, padding, width, height, screens, padding; 16 each */
                *need = 8;
                return have < 8 ? 0 : 8 + 16 * (int64_t)h[6];
        case MSG_GII: { /* type, endian and sub-type, length */
                *need = 4;
                if (have < 4)
                        return 0;
                uint32_t len = h[1] & 0x80 ? be16(h + 2) : (uint32_t)h[3] << 8 | h[2];
                return 4 + (int64_t)len;
        }
        case MSG_QEMU:
                *need = 2;
                if (have < 2)
                        return 0;
                if (h[1] == QEMU_EXTENDED_KEY_EVENT)
                        return 12;
                if (h[1] != QEMU_AUDIO)
                        return -1;
                *need = 4; /* operation: enable, disable (4 bytes), set format (10) */
                if (have < 4)
                        return 0;
                return be16(h + 2) <= 1 ? 4 : be16(h + 2) == 2 ? 10 : -1;
        default:
                return -1;
        }
}

static bool is_input(const uint8_t *h) {
        return h[0] == MSG_KEY_EVENT || h[0] == MSG_POINTER_EVENT ||
               (h[0] == MSG_QEMU && h[1] == QEMU_EXTENDED_KEY_EVENT);
}

void rfb_input_scan(RfbInputScan *s, const uint8_t *buf, size_t n) {
        while (n > 0 && !s->lost) {
                if (!s->init_done) { /* ClientInit: the shared flag */
                        s->init_done = true;
                        buf++, n--;
                        continue;
                }
                if (s->skip > 0) {
                        size_t k = s->skip < n ? (size_t)s->skip : n;
                        s->skip -= k;
                        buf += k, n -= k;
                        continue;
                }
                size_t need;
                s->head[s->have++] = *buf++;
                n--;
                int64_t len = msg_length(s->head, s->have, &need);
                if (len < 0) {
                        s->lost = true;
                        s->lost_type = s->head[0];
                        return;
                }
                if (len == 0 || s->have < need)
                        continue; /* need <= sizeof(head): the head grows no further */
                s->messages++;
                if (is_input(s->head))
                        s->inputs++;
                s->skip = (uint64_t)len - s->have;
                s->have = 0;
        }
}
