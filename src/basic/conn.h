/* conn.h - one non-blocking stream socket that carries frames (frame.h)
 * both ways on the event loop. The daemon's unix clients, the nodes at the
 * controller and the controller at a node are each one Conn:
 *   - it reads into a buffer (at most one frame and 64 KiB) and hands each
 *     whole frame to ops->frame, in order, while the owner has not paused it
 *     (a request being worked on: what the peer sends meanwhile waits);
 *   - it queues what is sent and flushes it when the socket takes it, never
 *     blocking; an fd may ride with a message (SCM_RIGHTS on its first
 *     byte);
 *   - it reports its end once, through ops->closed, always from the loop and
 *     never from inside a conn_* call, so that a send that fails inside the
 *     owner's code cannot free what that code is using.
 * The peer's bytes are hostile: a frame over FRAME_MAX ends the connection,
 * one that is not a JSON object is reported and reading goes on. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "basic/event.h"

typedef struct Conn Conn;

typedef struct ConnOps {
        /* One frame: msg (borrowed) a JSON object and bad 0; or msg NULL
         * and bad -EBADMSG (not a JSON object: reading goes on) or -EMSGSIZE
         * (over FRAME_MAX: the connection ends once what is queued is out). */
        void (*frame)(void *data, json_t *msg, int bad);
        /* The connection ended: r 0 (the peer closed, or conn_close's queue
         * went out) or -errno. The owner frees the Conn, here or later. */
        void (*closed)(void *data, int r);
} ConnOps;

/* fd (taken over, non-blocking) */
int conn_new(EventLoop *loop, int fd, const ConnOps *ops, void *data, Conn **ret);
/* Closes the fd; no callback follows. Safe from inside one of its own. */
void conn_free(Conn *c);

/* Queue msg (stolen); with fd (taken over, -1: none) riding on its first
 * byte. One fd at a time: a second before the first went out is refused
 * (-EBUSY, fd closed). */
int conn_send(Conn *c, json_t *msg, int fd);
/* The same with n_fds fds (taken over, at most FRAME_FDS_MAX). */
int conn_send_fds(Conn *c, json_t *msg, const int *fds, size_t n_fds);

/* Hand on no frames until conn_resume; the frames that came meanwhile are
 * handed on from the loop after it. */
void conn_pause(Conn *c);
void conn_resume(Conn *c);
/* Read nothing more; ops->closed(0) once the queue went out. */
void conn_close(Conn *c);
