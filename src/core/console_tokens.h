/* console_tokens.h - the one-time tokens that open an instance's console in
 * a browser (issue 13). console.open issues one to the instance's runner or
 * an admin; the console gateway redeems it (console.redeem) and gets the
 * instance's VNC socket. A token is:
 *   - 128 bits from getrandom, shown as 32 lowercase hex characters (no
 *     fallback: getrandom failing is an error);
 *   - bound to one instance and one user;
 *   - of one kind: a console token opens one instance's console; a wall
 *     token (issue 13's teacher's wall, console.wall) opens the list of a
 *     selection's running instances for an admin. A token presented as the
 *     other kind is unknown, so neither can stand in for the other;
 *   - good for one redeem, within the lifetime given at console_tokens_new
 *     (the setting console_token_ttl, 60 s by default).
 * They live in the controller's memory only: a token outlives no restart,
 * and nothing of it reaches the database. The clock is passed in (a
 * monotonic one in the daemon), so a test can age a token without waiting.
 * Lookups compare every stored token in constant time, without stopping
 * at a match, so the time a redeem takes says nothing about the tokens. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_TOKEN_BYTES 16
#define CONSOLE_TOKEN_HEX (2 * CONSOLE_TOKEN_BYTES) /* characters, without the NUL */
#define CONSOLE_TOKENS_CAP 4096                    /* tokens kept at once (live, used or expired) */

typedef struct ConsoleTokens ConsoleTokens;

typedef enum ConsoleTokenKind {
        CONSOLE_TOKEN_CONSOLE, /* one instance's console (console.open) */
        CONSOLE_TOKEN_WALL,    /* a teacher's wall (console.wall) */
} ConsoleTokenKind;

/* Which running instances a wall shows. */
typedef enum ConsoleWallBy {
        CONSOLE_WALL_ALL,
        CONSOLE_WALL_VMGROUP, /* of the VMs of VM group wall_id */
        CONSOLE_WALL_GROUP,   /* of the members of user group wall_id */
} ConsoleWallBy;

/* What a token opens. */
typedef struct ConsoleBinding {
        ConsoleTokenKind kind;
        uint32_t instance;     /* CONSOLE_TOKEN_CONSOLE */
        ConsoleWallBy wall_by; /* CONSOLE_TOKEN_WALL: the selection */
        uint32_t wall_id;
        uint32_t uid;          /* the user it was issued to */
        uint64_t issued_usec;  /* on the caller's clock */
} ConsoleBinding;

/* cap: tokens kept at once (0: CONSOLE_TOKENS_CAP); ttl_usec: how long
 * after its issue a token may be redeemed. */
ConsoleTokens *console_tokens_new(size_t cap, uint64_t ttl_usec);
void console_tokens_free(ConsoleTokens *t);
uint64_t console_tokens_ttl_usec(const ConsoleTokens *t);

/* A new token for instance and uid at now_usec, in ret (NUL-terminated).
 * Used and expired tokens make room first; -EBUSY: cap tokens are live;
 * -errno of getrandom (nothing is issued). */
int console_tokens_issue(ConsoleTokens *t, uint32_t instance, uint32_t uid, uint64_t now_usec,
                         char ret[CONSOLE_TOKEN_HEX + 1]);
/* The same for any binding (its issued_usec is set to now_usec). */
int console_tokens_issue_binding(ConsoleTokens *t, const ConsoleBinding *b, uint64_t now_usec,
                                 char ret[CONSOLE_TOKEN_HEX + 1]);

/* Redeem token at now_usec: 0 and *ret, the token now used; else
 *   -ENOENT   no such token (also: not 32 lowercase hex characters);
 *   -EALREADY it was redeemed before (*ret says what it was bound to);
 *   -ETIME    its lifetime is over (*ret filled; it is used up too).
 * ret is filled in whenever the token was found, for the audit log. */
int console_tokens_redeem(ConsoleTokens *t, const char *token, uint64_t now_usec, ConsoleBinding *ret);
/* The same for a token of kind: one of the other kind is -ENOENT and stays
 * as it was (console_tokens_redeem is this with CONSOLE_TOKEN_CONSOLE). */
int console_tokens_redeem_kind(ConsoleTokens *t, const char *token, ConsoleTokenKind kind, uint64_t now_usec,
                               ConsoleBinding *ret);

/* Tokens that could still be redeemed at now_usec. */
size_t console_tokens_live(const ConsoleTokens *t, uint64_t now_usec);
