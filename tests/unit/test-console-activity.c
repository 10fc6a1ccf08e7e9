/* test-console-activity - core/console_activity.h on a clock the test
 * moves: open and closed connections, the last input over all of an
 * instance's connections (an older one never replaces a newer), a
 * connection silent past CONSOLE_ACTIVITY_STALE_S taken as closed, the cap
 * (closed ones make room, open ones do not). */
#include <errno.h>

#include "core/console_activity.h"
#include "tap.h"

#define S 1000000ULL

int main(void) {
        ConsoleActivity *a = console_activity_new(3);
        uint64_t now = 1000 * S;
        ConsoleActivityState st = console_activity_get(a, 7, now);
        ok(!st.open && st.n_open == 0 && st.input_at_ms == 0, "nothing known of instance 7");
        ok(console_activity_report(a, 7, 1, true, 0, now) == 0, "conn 1 of 7 opens");
        st = console_activity_get(a, 7, now);
        ok(st.open && st.n_open == 1 && st.input_at_ms == 0, "open, no input yet");
        console_activity_report(a, 7, 1, true, 5000, now + 2 * S);
        console_activity_report(a, 7, 2, true, 9000, now + 2 * S);
        st = console_activity_get(a, 7, now + 2 * S);
        ok(st.n_open == 2 && st.input_at_ms == 9000, "two connections, the newer input of both");
        console_activity_report(a, 7, 2, false, 4000, now + 3 * S);
        st = console_activity_get(a, 7, now + 3 * S);
        ok(st.n_open == 1 && st.input_at_ms == 9000, "conn 2 closed; an older input never replaces a newer");
        ok(!console_activity_get(a, 8, now).open, "instance 8 knows nothing of 7's");
        st = console_activity_get(a, 7, now + 2 * S + CONSOLE_ACTIVITY_STALE_S * S);
        ok(st.open, "conn 1 reported %d s ago is still open", CONSOLE_ACTIVITY_STALE_S);
        st = console_activity_get(a, 7, now + 2 * S + CONSOLE_ACTIVITY_STALE_S * S + 1);
        ok(!st.open && st.input_at_ms == 9000, "silent longer: taken as closed (a gateway that died), input kept");
        /* the cap: 3 entries (7/1 open, 7/2 closed, and one more) */
        ok(console_activity_report(a, 9, 1, true, 0, now + 4 * S) == 0, "a third connection fits");
        ok(console_activity_report(a, 10, 1, true, 0, now + 4 * S) == 0, "a fourth: the closed one made room");
        ok(console_activity_report(a, 11, 1, true, 0, now + 4 * S) == -EBUSY, "a fifth: every entry is open, -EBUSY");
        ok(console_activity_report(a, 9, 1, false, 0, now + 5 * S) == 0 &&
                   console_activity_report(a, 11, 1, true, 0, now + 5 * S) == 0,
           "once one closes, it makes room");
        console_activity_free(a);
        console_activity_free(NULL);
        return tap_done();
}
