/* fuzz-rfb.c - web/rfb_proxy.h driven by arbitrary bytes: the input is a
 * script of steps, each [op][len][len bytes]: op & 3 is 0 bytes from the
 * browser, 1 bytes from the VNC server, 2 the VNC connection handed over
 * (the bytes, cut at 8, are the password), 3 the server side failing (the
 * bytes are the reason); op >> 2 is how many queued bytes of each side are
 * taken as sent afterwards (0: all).
 * Checked after every step: the phase only goes HANDSHAKE -> RELAY or
 * FAILED and stays; a failure has a reason of printable ASCII; the browser
 * is never sent the password before the relay (after it, the server's own
 * bytes may be anything); in the relay every byte fed reaches the other side
 * exactly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/rfb_proxy.h"

static const char password[] = "Fz9!pw7q";

static bool contains(const uint8_t *hay, size_t n, const char *needle) {
        size_t k = strlen(needle);
        for (size_t i = 0; i + k <= n; i++)
                if (memcmp(hay + i, needle, k) == 0)
                        return true;
        return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        RfbProxy *p;
        if (rfb_proxy_new(&p) < 0)
                return 0;
        RfbPhase last = RFB_HANDSHAKE;
        size_t i = 0;
        while (i + 2 <= size) {
                uint8_t op = data[i], len = data[i + 1];
                i += 2;
                if (len > size - i)
                        len = (uint8_t)(size - i);
                const uint8_t *b = data + i;
                i += len;
                size_t before[2] = {rfb_proxy_pending(p, RFB_SERVER, NULL), rfb_proxy_pending(p, RFB_CLIENT, NULL)};
                char text[256];
                memcpy(text, b, len);
                text[len] = 0;
                switch (op & 3) {
                case 0: rfb_proxy_feed(p, RFB_CLIENT, b, len); break;
                case 1: rfb_proxy_feed(p, RFB_SERVER, b, len); break;
                case 2: rfb_proxy_server_ready(p, len ? password : ""); break;
                case 3: rfb_proxy_fail(p, text); break;
                }
                RfbPhase ph = rfb_proxy_phase(p);
                if (last != RFB_HANDSHAKE && ph != last)
                        abort(); /* RELAY and FAILED are final */
                if (ph == RFB_RELAY && last == RFB_RELAY && (op & 3) < 2) {
                        RfbSide to = (op & 3) == 0 ? RFB_SERVER : RFB_CLIENT;
                        if (rfb_proxy_pending(p, to, NULL) != before[to] + len)
                                abort(); /* the relay copies every byte */
                }
                const char *reason = rfb_proxy_reason(p);
                if ((ph == RFB_FAILED) != (reason != NULL))
                        abort();
                for (const char *c = reason; c && *c; c++)
                        if (*c < 0x20 || *c > 0x7e)
                                abort();
                const uint8_t *q;
                size_t n = rfb_proxy_pending(p, RFB_CLIENT, &q);
                if (ph == RFB_HANDSHAKE && contains(q, n, password))
                        abort(); /* the browser never sees the password */
                size_t take = op >> 2;
                for (int side = 0; side < 2; side++) {
                        size_t m = rfb_proxy_pending(p, side, NULL);
                        rfb_proxy_consume(p, side, take && take < m ? take : m);
                }
                last = ph;
        }
        rfb_proxy_free(p);
        return 0;
}
