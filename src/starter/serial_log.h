/* serial_log.h - a guest's serial port, capped: qemu writes a pipe, the
 * starter appends what comes to the log file the node opened (root's: its
 * user cannot write it past the cap), and when the log would grow past max
 * it keeps only its newest half (a guest may write its serial port forever;
 * state_dir must not fill up). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/error.h"
#include "basic/event.h"

/* Finds a text in a stream that comes in pieces of any size (a warm exam
 * VM's "up" marker on its serial console, split wherever the pipe split
 * it). Pure; the guest writes the stream: nothing is kept beyond the
 * marker's length. */
#define SERIAL_MARKER_MAX 64
typedef struct SerialMarker {
        char text[SERIAL_MARKER_MAX];
        size_t len;                        /* 0: nothing to find */
        char tail[SERIAL_MARKER_MAX];      /* the last len - 1 bytes seen */
        size_t n_tail;
        bool seen;
} SerialMarker;

/* text: 1..SERIAL_MARKER_MAX-1 bytes (-EINVAL otherwise) */
int serial_marker_init(SerialMarker *m, const char *text);
/* true the first time the stream so far holds the text, never again */
bool serial_marker_feed(SerialMarker *m, const char *buf, size_t n);

typedef struct SerialLog {
        int rd, log;
        uint64_t max; /* 0: unlimited */
        EventSource *src;
        SerialMarker *marker;         /* looked for in what the guest writes (NULL: nothing) */
        void (*on_marker)(void *data); /* once, when it is seen */
        void *marker_data;
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
