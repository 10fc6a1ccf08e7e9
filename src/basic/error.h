/* error.h - an error that must reach a user: a negative errno plus a
 * one-line message. Library code fills one in and returns the errno; the
 * daemon sends the message across the RPC boundary; the CLI prints it. */
#pragma once

#include "basic/util.h"

typedef struct Error {
        int code;          /* negative errno, 0 when unset */
        char message[512]; /* one line, no trailing newline */
} Error;

/* Set err (if not NULL and not yet set) and return code (negative). A
 * first error wins: callers higher up may add context with error_prefix. */
int error_set(Error *err, int code, const char *fmt, ...) _printf_(3, 4);
void error_prefix(Error *err, const char *fmt, ...) _printf_(2, 3);
void error_clear(Error *err);

/* Stable name for an errno ("EPERM"), used on the wire. */
const char *errno_name(int code);
int errno_from_name(const char *name);
