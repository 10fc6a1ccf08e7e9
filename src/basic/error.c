#include "basic/error.h"

#include <stdarg.h>
#include <stdio.h>

int error_set(Error *err, int code, const char *fmt, ...) {
        if (code > 0)
                code = -code;
        if (code == 0)
                code = -EIO;
        if (err && err->code == 0) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(err->message, sizeof(err->message), fmt, ap);
                va_end(ap);
                err->code = code;
                /* one line only */
                for (char *p = err->message; *p; p++)
                        if (*p == '\n' || *p == '\r')
                                *p = ' ';
        }
        return code;
}

void error_prefix(Error *err, const char *fmt, ...) {
        if (!err || err->code == 0)
                return;
        char prefix[200], old[sizeof(err->message)];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof(prefix), fmt, ap);
        va_end(ap);
        memcpy(old, err->message, sizeof(old));
        int n = snprintf(err->message, sizeof(err->message), "%s: ", prefix);
        if (n > 0 && (size_t)n < sizeof(err->message))
                snprintf(err->message + n, sizeof(err->message) - (size_t)n, "%.*s", (int)(sizeof(err->message) - (size_t)n - 1), old);
}

void error_clear(Error *err) {
        if (err) {
                err->code = 0;
                err->message[0] = 0;
        }
}

static const struct {
        int code;
        const char *name;
} names[] = {
        {EPERM, "EPERM"},   {ENOENT, "ENOENT"},   {EEXIST, "EEXIST"},       {EINVAL, "EINVAL"},
        {EACCES, "EACCES"}, {EBUSY, "EBUSY"},     {EDQUOT, "EDQUOT"},       {ENOSPC, "ENOSPC"},
        {EIO, "EIO"},       {ENOMEM, "ENOMEM"},   {ETIMEDOUT, "ETIMEDOUT"}, {EPROTO, "EPROTO"},
        {ENOTSUP, "ENOTSUP"}, {EADDRINUSE, "EADDRINUSE"}, {E2BIG, "E2BIG"}, {ERANGE, "ERANGE"},
        {ENOTEMPTY, "ENOTEMPTY"}, {ECHILD, "ECHILD"}, {ESRCH, "ESRCH"}, {EAGAIN, "EAGAIN"},
        {ENODEV, "ENODEV"}, {ENXIO, "ENXIO"}, {ENAMETOOLONG, "ENAMETOOLONG"}, {EFBIG, "EFBIG"}, {EMSGSIZE, "EMSGSIZE"}, {EBADMSG, "EBADMSG"}, {ENOEXEC, "ENOEXEC"}, {ECONNREFUSED, "ECONNREFUSED"},
};

const char *errno_name(int code) {
        if (code < 0)
                code = -code;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (names[i].code == code)
                        return names[i].name;
        return "EIO";
}

int errno_from_name(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(names[i].name, name))
                        return -names[i].code;
        return -EIO;
}
