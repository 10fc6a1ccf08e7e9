/* fuzz-selftest.c - an exam's isolation self-test verdict (core/selftest_verdict.h)
 * from arbitrary probe output: the first byte's bit 0 says whether the host
 * accepted a connection, bit 1 whether the probes timed out; the rest is the
 * attacker's serial text up to the first form feed (0x0c), then the listener's
 * (no form feed: split in half). The verdict must be consistent: every attack
 * counted once, ready only when all are blocked and every control passed (and
 * then the reason says "ready:"), the reason one NUL-terminated line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/selftest_verdict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        SelftestFacts f = {.host_tcp_accepts = data[0] & 1, .timed_out = (data[0] & 2) != 0};
        const char *text = (const char *)data + 1;
        size_t n = size - 1;
        const char *ff = memchr(text, '\f', n);
        size_t cut = ff ? (size_t)(ff - text) : n / 2;
        f.attacker = text;
        f.attacker_len = cut;
        f.listener = text + cut + (ff ? 1 : 0);
        f.listener_len = n - cut - (ff ? 1 : 0);
        SelftestVerdict v;
        selftest_verdict(&f, &v);
        if (v.n_blocked + v.n_through + v.n_untried != SELFTEST_ATTACKS || v.n_controls_ok > SELFTEST_CONTROLS)
                abort();
        unsigned blocked = 0;
        for (size_t i = 0; i < SELFTEST_ATTACKS; i++) {
                if (v.attack[i] >= _SELFTEST_OUTCOME_MAX)
                        abort();
                blocked += v.attack[i] == SELFTEST_BLOCKED;
        }
        if (blocked != v.n_blocked)
                abort();
        if (v.ready != (!f.timed_out && v.n_blocked == SELFTEST_ATTACKS && v.n_controls_ok == SELFTEST_CONTROLS))
                abort();
        if (f.host_tcp_accepts && v.attack[SELFTEST_ATTACKS - 1] != SELFTEST_THROUGH) /* gw-tcp, last */
                abort();
        size_t rl = strnlen(v.reason, sizeof(v.reason));
        if (rl == sizeof(v.reason) || rl == 0 || memchr(v.reason, '\n', rl) || v.ready != !strncmp(v.reason, "ready:", 6))
                abort();
        return 0;
}
