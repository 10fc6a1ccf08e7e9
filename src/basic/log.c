#include "basic/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static enum log_level max_level = LOG_LEVEL_INFO;
static const char *ident = "vmbatch";

void log_set_level(enum log_level level) { max_level = level; }
void log_set_ident(const char *i) { ident = i; }

void log_msg(enum log_level level, const char *fmt, ...) {
        static const char *const names[] = {"error", "warning", "info", "debug"};
        if (level > max_level)
                return;
        char line[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        char stamp[32];
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(stderr, "%s.%03ldZ %s[%d] %s: %s\n", stamp, ts.tv_nsec / 1000000, ident, (int)getpid(),
                names[level], line);
}
