/* activity_clock.h - when the gateway tells vmbatchd about one console
 * (console.activity, docs/protocol.md): at its open, then at most once per
 * ACTIVITY_INTERVAL while the browser's input comes (the last input of a
 * burst is told at most that late), at least every ACTIVITY_HEARTBEAT while
 * it is open (vmbatchd takes a connection silent for 30 s as closed:
 * core/console_activity.h's CONSOLE_ACTIVITY_STALE_S, which must stay well
 * above this), and at its close. Pure: the clock (monotonic microseconds)
 * is passed in; unit-tested in tests/unit/test-activity-clock.c. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define ACTIVITY_INTERVAL_USEC (2 * 1000000ULL)
#define ACTIVITY_HEARTBEAT_USEC (10 * 1000000ULL)

typedef struct ActivityClock {
        uint64_t last_sent;  /* the last report (0: none yet) */
        uint64_t last_input; /* the browser's last input (0: none yet) */
        bool unsent;         /* an input came after the last report */
} ActivityClock;

/* An input came at now. */
void activity_clock_input(ActivityClock *c, uint64_t now);
/* How long from now until the next report is due (0: now). */
uint64_t activity_clock_due_in(const ActivityClock *c, uint64_t now);
/* A report goes at now: *ret_input_ago_usec is how long ago the last input
 * came, and the return value whether there was one. */
bool activity_clock_sent(ActivityClock *c, uint64_t now, uint64_t *ret_input_ago_usec);
