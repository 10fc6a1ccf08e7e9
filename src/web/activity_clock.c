/* activity_clock.c - see activity_clock.h. */
#include "web/activity_clock.h"

void activity_clock_input(ActivityClock *c, uint64_t now) {
        c->last_input = now;
        c->unsent = true;
}

uint64_t activity_clock_due_in(const ActivityClock *c, uint64_t now) {
        if (c->last_sent == 0)
                return 0; /* the open */
        uint64_t due = c->last_sent + (c->unsent ? ACTIVITY_INTERVAL_USEC : ACTIVITY_HEARTBEAT_USEC);
        return due > now ? due - now : 0;
}

bool activity_clock_sent(ActivityClock *c, uint64_t now, uint64_t *ret_input_ago_usec) {
        c->last_sent = now ? now : 1;
        c->unsent = false;
        *ret_input_ago_usec = c->last_input && now > c->last_input ? now - c->last_input : 0;
        return c->last_input != 0;
}
