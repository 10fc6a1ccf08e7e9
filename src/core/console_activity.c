/* console_activity.c - browser consoles' activity in memory. See
 * console_activity.h. A flat array of connections: at most cap entries,
 * each found by a scan (a few thousand at the most). */
#include "core/console_activity.h"

#include "basic/util.h"

typedef struct Conn {
        uint32_t instance;
        uint64_t conn;
        bool open;
        uint64_t reported_usec; /* the last report, monotonic */
        int64_t input_at_ms;
} Conn;

struct ConsoleActivity {
        Conn *c;
        size_t n, cap;
};

ConsoleActivity *console_activity_new(size_t cap) {
        ConsoleActivity *a = xcalloc(1, sizeof(*a));
        a->cap = cap ? cap : CONSOLE_ACTIVITY_CAP;
        a->c = xcalloc(a->cap, sizeof(Conn));
        return a;
}

void console_activity_free(ConsoleActivity *a) {
        if (!a)
                return;
        free(a->c);
        free(a);
}

static bool is_open(const Conn *c, uint64_t now) {
        return c->open && now - c->reported_usec <= (uint64_t)CONSOLE_ACTIVITY_STALE_S * 1000000;
}

/* Room for one more: the closed (or stale) connection reported longest ago
 * goes, its last input kept by another entry of its instance if there is one
 * and otherwise lost (a console closed long ago). */
static int make_room(ConsoleActivity *a, uint64_t now) {
        if (a->n < a->cap)
                return 0;
        size_t victim = a->n;
        for (size_t i = 0; i < a->n; i++)
                if (!is_open(&a->c[i], now) && (victim == a->n || a->c[i].reported_usec < a->c[victim].reported_usec))
                        victim = i;
        if (victim == a->n)
                return -EBUSY;
        a->c[victim] = a->c[--a->n];
        return 0;
}

int console_activity_report(ConsoleActivity *a, uint32_t instance, uint64_t conn, bool open, int64_t input_at_ms,
                            uint64_t now_usec) {
        Conn *c = NULL;
        for (size_t i = 0; i < a->n && !c; i++)
                if (a->c[i].instance == instance && a->c[i].conn == conn)
                        c = &a->c[i];
        if (!c) {
                int r = make_room(a, now_usec);
                if (r < 0)
                        return r;
                c = &a->c[a->n++];
                *c = (Conn){.instance = instance, .conn = conn};
        }
        c->open = open;
        c->reported_usec = now_usec;
        if (input_at_ms > c->input_at_ms)
                c->input_at_ms = input_at_ms;
        return 0;
}

ConsoleActivityState console_activity_get(const ConsoleActivity *a, uint32_t instance, uint64_t now_usec) {
        ConsoleActivityState s = {0};
        for (size_t i = 0; a && i < a->n; i++) {
                const Conn *c = &a->c[i];
                if (c->instance != instance)
                        continue;
                if (is_open(c, now_usec))
                        s.n_open++;
                if (c->input_at_ms > s.input_at_ms)
                        s.input_at_ms = c->input_at_ms;
        }
        s.open = s.n_open > 0;
        return s;
}
