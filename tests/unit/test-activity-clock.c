/* test-activity-clock - web/activity_clock.h: a report at the open, a
 * burst of input told once per interval (its last input at most an
 * interval late), the heartbeat while nothing comes, how long ago the last
 * input came. */
#include "tap.h"
#include "web/activity_clock.h"

#define S 1000000ULL

int main(void) {
        ActivityClock c = {0};
        uint64_t t = 100 * S, ago = 99;
        ok(activity_clock_due_in(&c, t) == 0, "the open is due at once");
        ok(!activity_clock_sent(&c, t, &ago) && ago == 0, "sent: no input yet");
        ok(activity_clock_due_in(&c, t) == ACTIVITY_HEARTBEAT_USEC, "then the heartbeat, in %llu s",
           ACTIVITY_HEARTBEAT_USEC / S);
        activity_clock_input(&c, t + S / 2);
        ok(activity_clock_due_in(&c, t + S / 2) == ACTIVITY_INTERVAL_USEC - S / 2,
           "an input half a second later: due an interval after the last report");
        /* a burst: a key every 100 ms for 5 s, a report whenever due */
        unsigned reports = 0;
        uint64_t worst = 0, last_report = t;
        for (uint64_t now = t + S / 2; now <= t + 5 * S; now += S / 10) {
                activity_clock_input(&c, now);
                if (activity_clock_due_in(&c, now) == 0) {
                        activity_clock_sent(&c, now, &ago);
                        if (now - last_report > worst)
                                worst = now - last_report;
                        last_report = now;
                        reports++;
                }
        }
        ok(reports == 2 && worst <= ACTIVITY_INTERVAL_USEC,
           "a 4.5 s burst of 46 keys: %u reports, at most one per interval", reports);
        uint64_t end = t + 5 * S;
        uint64_t due = activity_clock_due_in(&c, end);
        ok(due > 0 && due <= ACTIVITY_INTERVAL_USEC, "the burst's last key is told within an interval (in %llu ms)",
           (unsigned long long)(due / 1000));
        ok(activity_clock_sent(&c, end + due, &ago) && ago == due, "with how long ago it came (%llu ms)",
           (unsigned long long)(ago / 1000));
        ok(activity_clock_due_in(&c, end + due) == ACTIVITY_HEARTBEAT_USEC, "then only the heartbeat");
        return tap_done();
}
