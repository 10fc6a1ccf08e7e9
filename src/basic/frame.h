/* frame.h - the RPC wire framing: a 4-byte big-endian length, then that many
 * bytes of JSON. Shared by the daemon, the CLI and the starter. */
#pragma once

#include <jansson.h>

#include "basic/util.h"

#define FRAME_MAX (1024 * 1024)

/* Encode a JSON value as one frame (malloc'd); NULL on failure. */
char *frame_encode(const json_t *v, size_t *ret_len);

/* Try to cut one frame off the front of buf. Returns:
 *   >0  bytes consumed, *ret set to the parsed object (caller decrefs)
 *    0  need more bytes
 *   <0  -EMSGSIZE (length over FRAME_MAX) or -EBADMSG (not a JSON object);
 *       on -EBADMSG the frame is still consumed: *ret_consumed says how much. */
ssize_t frame_parse(const char *buf, size_t len, json_t **ret, size_t *ret_consumed);

/* Blocking helpers for clients. */
int frame_send(int fd, const json_t *v);
int frame_recv(int fd, json_t **ret);

/* The same with one file descriptor riding along (SCM_RIGHTS), for the
 * node handing a VM's tap to its starter. frame_recv_fd sets *ret_fd to the
 * received fd (CLOEXEC) or -1 when none came. */
int frame_send_fd(int fd, const json_t *v, int pass_fd);
/* One sendmsg of buf with pass_fd (-1: none) riding on its first byte;
 * flags e.g. MSG_DONTWAIT. Returns the bytes sent or -errno. */
ssize_t send_with_fd(int fd, const void *buf, size_t n, int pass_fd, int flags);
/* The same with n_fds fds (at most FRAME_FDS_MAX) riding together. */
#define FRAME_FDS_MAX 64
ssize_t send_with_fds(int fd, const void *buf, size_t n, const int *fds, size_t n_fds, int flags);
int frame_recv_fd(int fd, json_t **ret, int *ret_fd);
/* A frame and up to max fds (in *fds, *ret_n of them; extra ones are
 * closed); on failure no fd is left open. */
int frame_recv_fds(int fd, json_t **ret, int *fds, size_t max, size_t *ret_n);

/* Connect to a unix stream socket (CLOEXEC). */
int unix_connect(const char *path);
