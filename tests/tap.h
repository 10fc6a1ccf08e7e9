/* tap.h - a minimal TAP producer for C unit tests (meson protocol 'tap').
 *
 *   ok(cond, "name %d", i);       one test point
 *   is_int(got, want, "name");    with a diagnostic on mismatch
 *   is_str(got, want, "name");
 *   return tap_done();            prints the plan, exit code 1 on failure
 */
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3), unused)) static int ok(int cond, const char *fmt, ...) {
        va_list ap;
        tap_n++;
        printf("%s %d - ", cond ? "ok" : "not ok", tap_n);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        if (!cond)
                tap_failed++;
        fflush(stdout);
        return cond;
}

#define is_int(got, want, ...)                                                                         \
        do {                                                                                           \
                long long _g = (long long)(got), _w = (long long)(want);                               \
                if (!ok(_g == _w, __VA_ARGS__))                                                        \
                        printf("#   got %lld, want %lld (%s:%d)\n", _g, _w, __FILE__, __LINE__);       \
        } while (0)

#define is_str(got, want, ...)                                                                         \
        do {                                                                                           \
                const char *_g = (got), *_w = (want);                                                  \
                if (!ok(_g && _w && strcmp(_g, _w) == 0, __VA_ARGS__))                                 \
                        printf("#   got '%s', want '%s' (%s:%d)\n", _g ? _g : "(null)",                \
                               _w ? _w : "(null)", __FILE__, __LINE__);                                \
        } while (0)

__attribute__((unused)) static void tap_diag(const char *msg) { printf("# %s\n", msg); }

__attribute__((unused)) static int tap_done(void) {
        printf("1..%d\n", tap_n);
        return tap_failed ? 1 : 0;
}
