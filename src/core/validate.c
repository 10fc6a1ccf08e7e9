#include "core/validate.h"

#include <ctype.h>
#include <limits.h>

int validate_name(const char *what, const char *name, Error *err) {
        size_t n = strlen(name);
        if (n == 0)
                return error_set(err, -EINVAL, "%s name must not be empty", what);
        if (n > 63)
                return error_set(err, -EINVAL, "%s name '%.20s...' is longer than 63 characters", what, name);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)name[i];
                bool ok = isalnum(c) || c == '_' || (i > 0 && (c == '-' || c == '.'));
                if (!ok || c > 127)
                        return error_set(err, -EINVAL,
                                         "invalid %s name '%s': use letters, digits, '_' (and '-', '.' after the first)",
                                         what, name);
        }
        bool digits = true;
        for (size_t i = 0; i < n; i++)
                if (!isdigit((unsigned char)name[i]))
                        digits = false;
        if (digits)
                return error_set(err, -EINVAL, "invalid %s name '%s': a name cannot be all digits (that is an id)",
                                 what, name);
        return 0;
}

int validate_path(const char *what, const char *path, Error *err) {
        size_t n = strlen(path);
        if (n == 0 || path[0] != '/')
                return error_set(err, -EINVAL, "%s '%s' must be an absolute path", what, path);
        if (n >= PATH_MAX)
                return error_set(err, -ENAMETOOLONG, "%s path is too long", what);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)path[i];
                if (c < 32 || c == 127)
                        return error_set(err, -EINVAL, "%s path contains a control character", what);
                if (c == ',')
                        return error_set(err, -EINVAL, "%s '%s' contains ',' which qemu cannot take in a path", what,
                                         path);
        }
        if (strstr(path, "/../") || (n >= 3 && streq(path + n - 3, "/..")))
                return error_set(err, -EINVAL, "%s '%s' must not contain '..'", what, path);
        return 0;
}

int validate_mem(uint64_t bytes, Error *err) {
        if (bytes < MEM_MIN || bytes > MEM_MAX)
                return error_set(err, -EINVAL, "memory %llu bytes is out of range (16M..1T)", (unsigned long long)bytes);
        if (bytes % (1 << 20))
                return error_set(err, -EINVAL, "memory %llu bytes is not a whole number of MiB",
                                 (unsigned long long)bytes);
        return 0;
}

int validate_vcpus(uint64_t n, Error *err) {
        if (n < 1 || n > VCPUS_MAX)
                return error_set(err, -EINVAL, "vcpus %llu is out of range (1..%d)", (unsigned long long)n, VCPUS_MAX);
        return 0;
}

int validate_walltime(uint64_t seconds, Error *err) {
        if (seconds > WALLTIME_MAX)
                return error_set(err, -EINVAL, "walltime %llu s is longer than a year", (unsigned long long)seconds);
        return 0;
}

int validate_disc_size(uint64_t bytes, Error *err) {
        if (bytes < DISC_MIN || bytes > DISC_MAX)
                return error_set(err, -EINVAL, "disc size %llu bytes is out of range (1M..64T)",
                                 (unsigned long long)bytes);
        return 0;
}

int validate_cmdline(const char *s, Error *err) {
        size_t n = strlen(s);
        if (n > 1023)
                return error_set(err, -EINVAL, "kernel command line is longer than 1023 bytes");
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 32 || s[i] == 127)
                        return error_set(err, -EINVAL, "kernel command line contains a control character");
        return 0;
}
