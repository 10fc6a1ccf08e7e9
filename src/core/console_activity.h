/* console_activity.h - what the console gateway (vmbatch-web) reports of
 * each browser console (issue 14: "exam show gives the teacher, per student:
 * console open or not, and last activity"): per instance, whether a console
 * connection is open and when the last console input (an RFB KeyEvent or
 * PointerEvent from the browser) came. console.activity (ops_console.c,
 * root or web_user only) feeds it; instance.show and exam.show read it.
 *
 * Memory only, in the controller: a restart forgets it, nothing of it
 * reaches the database. A connection is the gateway's (instance, conn id);
 * the gateway reports at its open and close, at most once per
 * CONSOLE_ACTIVITY_INTERVAL_S while input comes, and every
 * CONSOLE_ACTIVITY_HEARTBEAT_S while it is open, so one whose last report is
 * older than CONSOLE_ACTIVITY_STALE_S is taken as closed (a gateway that
 * died says nothing more). The clocks are passed in (tests age entries
 * without waiting): `now_usec` monotonic, input times unix milliseconds. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_ACTIVITY_INTERVAL_S 2
#define CONSOLE_ACTIVITY_HEARTBEAT_S 10
#define CONSOLE_ACTIVITY_STALE_S 30
#define CONSOLE_ACTIVITY_CAP 4096 /* connections remembered at once */

typedef struct ConsoleActivity ConsoleActivity;

ConsoleActivity *console_activity_new(size_t cap); /* 0: CONSOLE_ACTIVITY_CAP */
void console_activity_free(ConsoleActivity *a);

/* Connection conn of instance is open (or, !open, closed now); input_at_ms
 * its last input (0: none yet; an older time than the one known is kept
 * out). -EBUSY when cap connections are remembered and none can go (the
 * closed and stale ones make room first, the oldest first). */
int console_activity_report(ConsoleActivity *a, uint32_t instance, uint64_t conn, bool open, int64_t input_at_ms,
                            uint64_t now_usec);

typedef struct ConsoleActivityState {
        bool open;           /* a connection of it is open (and not stale) */
        unsigned n_open;     /* how many */
        int64_t input_at_ms; /* the last input over all its connections; 0: none */
} ConsoleActivityState;

/* What is known of instance at now_usec (all zero: nothing). */
ConsoleActivityState console_activity_get(const ConsoleActivity *a, uint32_t instance, uint64_t now_usec);
