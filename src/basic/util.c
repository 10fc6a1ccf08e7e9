#include "basic/util.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

/* The decimal number s starts with (no sign, no space: strtoull would take
 * both), and where it ends. */
static int leading_number(const char *s, unsigned long long *ret, char **end) {
        if (isempty(s) || !isdigit((unsigned char)s[0]))
                return -EINVAL;
        errno = 0;
        *ret = strtoull(s, end, 10);
        return errno == ERANGE ? -ERANGE : 0;
}

int parse_u64(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end;
        int r = leading_number(s, &v, &end);
        if (r < 0)
                return r;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_u32(const char *s, uint32_t *ret) {
        uint64_t v;
        int r = parse_u64(s, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t)v;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end;
        int r = leading_number(s, &v, &end);
        if (r < 0)
                return r;
        unsigned shift = 0;
        switch (toupper((unsigned char)*end)) {
        case 0: break;
        case 'K': shift = 10; break;
        case 'M': shift = 20; break;
        case 'G': shift = 30; break;
        case 'T': shift = 40; break;
        default: return -EINVAL;
        }
        if (*end) {
                end++;
                /* accept "5G", "5GB", "5GiB" */
                if (toupper((unsigned char)*end) == 'I')
                        end++;
                if (toupper((unsigned char)*end) == 'B')
                        end++;
                if (*end)
                        return -EINVAL;
        }
        if (shift && v > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret = (uint64_t)v << shift;
        return 0;
}

int parse_duration(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end;
        int r = leading_number(s, &v, &end);
        if (r < 0)
                return r;
        uint64_t mult = 1;
        if (*end) {
                switch (*end) {
                case 's': mult = 1; break;
                case 'm': mult = 60; break;
                case 'h': mult = 3600; break;
                case 'd': mult = 86400; break;
                default: return -EINVAL;
                }
                if (end[1])
                        return -EINVAL;
        }
        if (v > UINT64_MAX / mult)
                return -ERANGE;
        *ret = v * mult;
        return 0;
}

void format_size(uint64_t bytes, char *buf, size_t len) {
        static const char units[] = "KMGT";
        int u = -1;
        uint64_t v = bytes;
        while (u < 3 && v >= 1024 && v % 1024 == 0) {
                v /= 1024;
                u++;
        }
        if (u < 0)
                snprintf(buf, len, "%" PRIu64, v);
        else
                snprintf(buf, len, "%" PRIu64 "%c", v, units[u]);
}

void close_fds(const int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                close(fds[i]);
}

char *xvasprintf(const char *fmt, va_list ap) {
        char *s;
        if (vasprintf(&s, fmt, ap) < 0)
                abort();
        return s;
}

char *xasprintf(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *s = xvasprintf(fmt, ap);
        va_end(ap);
        return s;
}

bool string_is_printable(const char *s) {
        if (isempty(s))
                return false;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

char *strdup_doubling(const char *s, char c) {
        size_t n = 0;
        for (const char *p = s; *p; p++)
                n += *p == c ? 2 : 1;
        char *out = xcalloc(n + 1, 1), *o = out;
        for (const char *p = s; *p; p++) {
                *o++ = *p;
                if (*p == c)
                        *o++ = c;
        }
        return out;
}

char *xstrdup(const char *s) {
        if (!s)
                return NULL;
        char *d = strdup(s);
        if (!d)
                abort();
        return d;
}

void *xrealloc(void *p, size_t size) {
        if (size == 0) {
                free(p);
                return NULL;
        }
        void *q = realloc(p, size);
        if (!q)
                abort();
        return q;
}

void strv_free(char **v) {
        for (char **p = v; p && *p; p++)
                free(*p);
        free(v);
}

void *xcalloc(size_t n, size_t size) {
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (!p)
                abort();
        return p;
}

int loop_write(int fd, const void *buf, size_t len) {
        const char *p = buf;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int loop_read_exact(int fd, void *buf, size_t len) {
        char *p = buf;
        while (len > 0) {
                ssize_t n = read(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -EPIPE;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int64_t wall_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}
