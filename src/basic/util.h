/* util.h - cleanup attributes, small string and number helpers.
 *
 * Conventions (see docs/HACKING.md): functions return 0 or a negative errno,
 * out-parameters are named ret_* and set only on success, destructors accept
 * NULL, every fd is created CLOEXEC. */
#pragma once

#include <stdarg.h>

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* Take ownership out of a cleanup variable. */
#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })

/* systemd-style string tables: given `static const char *const NAME_table[]`
 * indexed by an enum TYPE, defines NAME_to_string (NULL when out of range)
 * and NAME_from_string (-EINVAL when unknown). Names are converted only at
 * the boundaries: the store, the wire, the config file. */
#define DEFINE_STRING_TABLE(name, type)                                                                        \
        const char *name##_to_string(type x) {                                                                 \
                return (size_t)x < ELEMENTSOF(name##_table) ? name##_table[x] : NULL;                           \
        }                                                                                                      \
        type name##_from_string(const char *s) {                                                              \
                for (size_t i_ = 0; s && i_ < ELEMENTSOF(name##_table); i_++)                                   \
                        if (name##_table[i_] && streq(name##_table[i_], s))                                     \
                                return (type)i_;                                                               \
                return (type)-EINVAL;                                                                          \
        }

static inline bool streq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }
static inline bool isempty(const char *s) { return !s || !*s; }

/* Parse a decimal unsigned integer that must fill the whole string. */
int parse_u64(const char *s, uint64_t *ret);
int parse_u32(const char *s, uint32_t *ret);

/* "5G", "512M", "2048" (MiB when no suffix is given is NOT assumed: a bare
 * number is bytes), "1.5G" is refused. Suffixes K M G T, binary (1024). */
int parse_size(const char *s, uint64_t *ret);

/* "90" (seconds), "90s", "30m", "2h", "1d" -> seconds. */
int parse_duration(const char *s, uint64_t *ret);

/* Format bytes the way the paper prints quotas: "133G", "512M", "1536K". */
void format_size(uint64_t bytes, char *buf, size_t len);

/* Allocating printf; aborts on ENOMEM (allocation failure is not a
 * recoverable condition for this daemon). */
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
char *xvasprintf(const char *fmt, va_list ap) _printf_(1, 0);
/* Non-empty and no control characters (they would end up in logs, error
 * messages and option values read one per line). */
bool string_is_printable(const char *s);
/* A copy of s with every c doubled: how qemu escapes ',' in an option
 * list and slurmstepd '%' in a path. */
char *strdup_doubling(const char *s, char c);
char *xstrdup(const char *s);
void *xcalloc(size_t n, size_t size);
/* realloc that aborts when out of memory (size 0: frees, returns NULL) */
void *xrealloc(void *p, size_t size);
/* Free a NULL-terminated array of strings and the strings (accepts NULL). */
void strv_free(char **v);
/* close() each of n fds (fds handed on in bulk: SCM_RIGHTS, workers) */
void close_fds(const int *fds, size_t n);
static inline void strv_freep(char ***v) { strv_free(*v); }
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Write the whole buffer / read exactly len bytes; -errno, or -EPIPE at EOF. */
int loop_write(int fd, const void *buf, size_t len);
int loop_read_exact(int fd, void *buf, size_t len);

/* Monotonic clock in microseconds. */
/* CLOCK_REALTIME in milliseconds: a time of day (deadlines, audit figures) */
int64_t wall_ms(void);
uint64_t now_usec(void);
