/* test-rfb-input - web/rfb_input.h: the browser's RFB messages from
 * ClientInit on, as noVNC sends them to qemu (pixel format, encodings,
 * update requests, keys, pointer, QEMU extended keys, clipboard in both
 * forms, fence, desktop size, gii, QEMU audio), fed whole, split at every
 * byte and byte by byte: the same messages and inputs each time; update
 * requests are no input; an unknown type stops the count. */
#include <string.h>

#include "tap.h"
#include "web/rfb_input.h"

static const uint8_t stream[] = {
        1,                                                               /* ClientInit: shared */
        0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0, /* SetPixelFormat */
        2, 0, 0, 3, 0, 0, 0, 7, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xfe,     /* SetEncodings: 3 */
        3, 1, 0, 0, 0, 0, 3, 32, 2, 88,                                 /* FramebufferUpdateRequest */
        4, 1, 0, 0, 0, 0, 0, 0x61,                                      /* KeyEvent 'a' down */
        4, 0, 0, 0, 0, 0, 0, 0x61,                                      /* and up */
        5, 1, 0, 10, 0, 20,                                             /* PointerEvent */
        255, 0, 0, 1, 0, 0, 0, 0x62, 0, 0, 0, 0x30,                     /* QEMU extended KeyEvent */
        6, 0, 0, 0, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o',                /* ClientCutText */
        6, 0, 0, 0, 0xff, 0xff, 0xff, 0xf6, 0, 0, 0, 1, 0, 0, 0, 2, 0, 3, /* extended clipboard: -10 */
        248, 0, 0, 0, 0, 0, 0, 1, 4, 'f', 'e', 'n', 'c',                /* Fence, 4 bytes */
        251, 0, 4, 0, 3, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4, 0, 3, 0, 0, 0, /* SetDesktopSize: 1 */
        253, 0x00, 2, 0, 'g', 'i',                                      /* gii, little-endian length 2 */
        253, 0x81, 0, 1, 'x',                                           /* gii, big-endian length 1 */
        255, 1, 0, 0,                                                   /* QEMU audio enable */
        255, 1, 0, 2, 3, 2, 0, 0, 0x56, 0x22,                           /* QEMU audio set format */
        150, 1, 0, 0, 0, 0, 3, 32, 2, 88,                               /* EnableContinuousUpdates */
        3, 1, 0, 0, 0, 0, 3, 32, 2, 88,                                 /* another update request */
};
#define MESSAGES 17
#define INPUTS 4

static bool same(const RfbInputScan *a, uint64_t messages, uint64_t inputs, bool lost) {
        return a->messages == messages && a->inputs == inputs && a->lost == lost;
}

int main(void) {
        RfbInputScan s = {0};
        rfb_input_scan(&s, stream, sizeof(stream));
        ok(same(&s, MESSAGES, INPUTS, false), "whole: %llu messages, %llu inputs (keys, pointer, QEMU key)",
           (unsigned long long)s.messages, (unsigned long long)s.inputs);
        bool all = true;
        for (size_t cut = 0; cut <= sizeof(stream); cut++) {
                RfbInputScan t = {0};
                rfb_input_scan(&t, stream, cut);
                rfb_input_scan(&t, stream + cut, sizeof(stream) - cut);
                all = all && same(&t, MESSAGES, INPUTS, false);
        }
        ok(all, "split in two at every byte: the same");
        RfbInputScan b = {0};
        for (size_t i = 0; i < sizeof(stream); i++)
                rfb_input_scan(&b, stream + i, 1);
        ok(same(&b, MESSAGES, INPUTS, false) && b.have == 0 && b.skip == 0, "byte by byte: the same, nothing left over");

        /* only update requests: no input */
        RfbInputScan u = {0};
        static const uint8_t init = 0, fbur[] = {3, 1, 0, 0, 0, 0, 3, 32, 2, 88};
        rfb_input_scan(&u, &init, 1);
        for (int i = 0; i < 100; i++)
                rfb_input_scan(&u, fbur, sizeof(fbur));
        ok(same(&u, 100, 0, false), "a hundred update requests are no input");

        /* an unknown type: the count stops */
        static const uint8_t bad[] = {0, 7, 4, 1, 0, 0, 0, 0, 0, 0x61};
        RfbInputScan l = {0};
        rfb_input_scan(&l, bad, sizeof(bad));
        ok(l.lost && l.lost_type == 7 && l.inputs == 0, "type 7 is unknown: lost, the KeyEvent's bytes after it not counted");
        static const uint8_t badq[] = {0, 255, 9, 0, 0};
        RfbInputScan q = {0};
        rfb_input_scan(&q, badq, sizeof(badq));
        ok(q.lost && q.lost_type == 255, "an unknown QEMU sub-message: lost");

        /* a huge clipboard length is skipped, not buffered */
        static const uint8_t big[] = {0, 6, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 4, 1, 0, 0};
        RfbInputScan g = {0};
        rfb_input_scan(&g, big, sizeof(big));
        ok(g.messages == 1 && g.inputs == 0 && g.skip == 0x7fffffffULL - 4, "a 2 GiB ClientCutText: its bytes are skipped");
        return tap_done();
}
