/* redeem.h - the gateway's one question to vmbatchd: "console.redeem" of a
 * token (docs/protocol.md). The request and the answer are the RPC's frames
 * (basic/frame.h); the answer carries the VNC connection as one fd
 * (SCM_RIGHTS). Nothing here blocks: the connection is made non-blocking,
 * the request (a few hundred bytes) goes into a fresh socket's empty buffer
 * at once, and the answer is read as it comes, from the gateway's loop. */
#pragma once

#include <jansson.h>
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct Redeemed {
        uint64_t instance;
        char user[64];
        char vm[128];
        char vnc_password[64];
        char issued_to[64]; /* who opened it: the instance's user, or an admin (a wall's thumbnail) */
} Redeemed;

/* Connect to vmbatchd's socket and send the request; returns the connected
 * non-blocking fd (CLOEXEC) or -errno. */
int redeem_start(const char *socket_path, const char *token, const char *from);
/* The same for another op of the same arguments: "console.wall_redeem" (a
 * teacher's wall token, wall.h). */
int redeem_start_op(const char *socket_path, const char *op, const char *token, const char *from);

/* Any request the same way (console.activity, activity.h). */
int rpc_start(const char *socket_path, const json_t *req);

typedef struct RedeemReader RedeemReader;
RedeemReader *redeem_reader_new(void);
void redeem_reader_free(RedeemReader *r); /* closes a received fd not taken */
/* Read what is there on fd. Returns 0: more to come; 1: the answer is in
 * (*ret_msg, borrowed until the reader is freed; *ret_fd the fd that rode
 * on it, taken over by the caller, or -1); <0: -errno (-EPIPE: vmbatchd
 * closed first, -EBADMSG: not a frame). */
int redeem_read(RedeemReader *r, int fd, json_t **ret_msg, int *ret_fd);

/* The answer's meaning: 0 and *ret filled (ok with a complete data object);
 * -EACCES etc. and *ret_reason the daemon's message (a line for the
 * browser) when it said no; -EBADMSG for an answer that is neither. */
int redeem_parse_answer(const json_t *msg, Redeemed *ret, char *ret_reason, size_t reason_len);

/* A token as vmbatch console makes it: 32 lowercase hex characters. */
bool redeem_token_valid(const char *token);
