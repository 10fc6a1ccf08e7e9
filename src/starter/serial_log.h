/* serial_log.h - a guest's serial port, capped: qemu writes a pipe, the
 * starter appends what comes to the log file the node opened (root's: its
 * user cannot write it past the cap), and when the log would grow past max
 * it keeps only its newest half (a guest may write its serial port forever;
 * state_dir must not fill up). */
#pragma once

#include <stdint.h>

#include "basic/error.h"
#include "basic/event.h"

typedef struct SerialLog {
        int rd, log;
        uint64_t max; /* 0: unlimited */
        EventSource *src;
} SerialLog;
#define SERIAL_LOG_INIT {.rd = -1, .log = -1}

/* The log (log_fd, taken over: the file the node opened as root; or, with
 * -1, path opened here) and the pipe; returns the pipe's write end (for
 * qemu; the caller closes its copy once qemu has it) or a negative errno. */
int serial_log_open(SerialLog *l, const char *path, int log_fd, uint64_t max, Error *err);
/* Read the pipe from loop from now on. */
int serial_log_watch(SerialLog *l, EventLoop *loop);
/* Take in what the pipe holds now (qemu exited: its last words). */
void serial_log_drain(SerialLog *l);
void serial_log_close(SerialLog *l);
/* Append n bytes to the log, keeping it under max (exposed for tests). */
void serial_log_append(SerialLog *l, const char *buf, size_t n);
