/* test-console-tokens.c - core/console_tokens.h on a clock the test moves:
 * a token opens once, within its lifetime (59 s yes, 60 s + 1 no), only
 * what it was issued for, and the table refuses past its cap; unknown and
 * malformed tokens are refused; tokens differ. Wall tokens (the teacher's
 * wall): bound to the admin and the selection, once, within the same
 * lifetime, and neither kind opens as the other. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/console_tokens.h"
#include "tap.h"

#define S(x) ((uint64_t)(x) * 1000000ULL)
#define T0 S(1000) /* a monotonic clock does not start at 0 */

static bool lower_hex(const char *s) {
        return strlen(s) == CONSOLE_TOKEN_HEX && strspn(s, "0123456789abcdef") == CONSOLE_TOKEN_HEX;
}

int main(void) {
        ConsoleTokens *t = console_tokens_new(0, S(60));
        char a[CONSOLE_TOKEN_HEX + 1], b[CONSOLE_TOKEN_HEX + 1];
        ConsoleBinding got;

        is_int(console_tokens_issue(t, 7, 1001, T0, a), 0, "issue a token for instance 7");
        ok(lower_hex(a), "it is 32 lowercase hex characters (%s)", a);
        is_int(console_tokens_issue(t, 8, 1002, T0, b), 0, "issue a token for instance 8");
        ok(strcmp(a, b) != 0, "two tokens differ");
        is_int(console_tokens_live(t, T0), 2, "two tokens live");

        /* 59 s: accepted, and bound to what it was issued for */
        memset(&got, 0, sizeof(got));
        is_int(console_tokens_redeem(t, a, T0 + S(59), &got), 0, "token of instance 7 redeemed after 59 s");
        ok(got.instance == 7 && got.uid == 1001 && got.issued_usec == T0, "it opens instance 7 for uid 1001");
        is_int(console_tokens_redeem(t, a, T0 + S(59), &got), -EALREADY, "a second use is refused");
        ok(got.instance == 7, "... and still says whose it was (for the audit)");
        memset(&got, 0, sizeof(got));
        is_int(console_tokens_redeem(t, b, T0 + S(1), &got), 0, "token of instance 8 redeemed");
        ok(got.instance == 8 && got.uid == 1002, "instance A's token never yields B: 8's opens 8");

        /* 60 s + 1 µs: expired */
        char c[CONSOLE_TOKEN_HEX + 1];
        console_tokens_issue(t, 9, 1001, T0, c);
        char c61[CONSOLE_TOKEN_HEX + 1];
        console_tokens_issue(t, 9, 1001, T0, c61);
        is_int(console_tokens_redeem(t, c61, T0 + S(61), &got), -ETIME, "61 s after issue: expired");
        is_int(console_tokens_redeem(t, c, T0 + S(60) + 1, &got), -ETIME, "60 s + 1 after issue: expired");
        ok(got.instance == 9, "an expired token still names its instance (for the audit)");
        is_int(console_tokens_redeem(t, c, T0 + S(1), &got), -EALREADY, "an expired token is spent");
        char d[CONSOLE_TOKEN_HEX + 1];
        console_tokens_issue(t, 9, 1001, T0, d);
        is_int(console_tokens_redeem(t, d, T0 + S(60), &got), 0, "exactly 60 s after issue: still good");

        /* unknown and malformed */
        is_int(console_tokens_redeem(t, "00000000000000000000000000000000", T0, &got), -ENOENT, "unknown token refused");
        char upper[CONSOLE_TOKEN_HEX + 1];
        console_tokens_issue(t, 10, 1001, T0, upper);
        char copy[CONSOLE_TOKEN_HEX + 1];
        memcpy(copy, upper, sizeof(copy));
        for (char *p = copy; *p; p++)
                if (*p >= 'a' && *p <= 'f')
                        *p = (char)(*p - 32);
        bool had_letter = strcmp(copy, upper) != 0;
        is_int(had_letter ? console_tokens_redeem(t, copy, T0, &got) : -ENOENT, -ENOENT,
               "the same token in upper case is unknown");
        char shorter[CONSOLE_TOKEN_HEX + 1];
        memcpy(shorter, upper, sizeof(shorter));
        shorter[CONSOLE_TOKEN_HEX - 1] = 0;
        is_int(console_tokens_redeem(t, shorter, T0, &got), -ENOENT, "a prefix of a token is unknown");
        is_int(console_tokens_redeem(t, "", T0, &got), -ENOENT, "the empty string is unknown");
        is_int(console_tokens_redeem(t, NULL, T0, &got), -ENOENT, "no token is unknown");
        char longer[CONSOLE_TOKEN_HEX + 2];
        snprintf(longer, sizeof(longer), "%s0", upper);
        is_int(console_tokens_redeem(t, longer, T0, &got), -ENOENT, "a token with a digit more is unknown");
        is_int(console_tokens_redeem(t, upper, T0, &got), 0, "... while the token itself still opens");
        console_tokens_free(t);

        /* the cap: live tokens fill it, then EBUSY; once they expire, room again */
        t = console_tokens_new(4, S(60));
        char x[CONSOLE_TOKEN_HEX + 1];
        int r = 0;
        for (int i = 0; i < 4 && r == 0; i++)
                r = console_tokens_issue(t, 1, 1001, T0 + S(i), x);
        is_int(r, 0, "4 tokens fit a table of 4");
        is_int(console_tokens_issue(t, 1, 1001, T0 + S(5), x), -EBUSY, "a 5th while 4 live: EBUSY");
        is_int(console_tokens_redeem(t, x, T0 + S(5), &got), 0, "redeem one");
        is_int(console_tokens_issue(t, 1, 1001, T0 + S(6), x), 0, "a used token makes room");
        is_int(console_tokens_issue(t, 1, 1001, T0 + S(62), x), 0, "expired ones make room");
        is_int(console_tokens_live(t, T0 + S(62)), 3, "3 live after pruning (the 2 newest and this one)");
        console_tokens_free(t);

        /* many tokens: all distinct */
        t = console_tokens_new(0, S(60));
        static char many[256][CONSOLE_TOKEN_HEX + 1];
        bool distinct = true;
        for (int i = 0; i < 256; i++) {
                console_tokens_issue(t, (uint32_t)i, 1001, T0, many[i]);
                for (int j = 0; j < i; j++)
                        distinct &= strcmp(many[i], many[j]) != 0;
        }
        ok(distinct, "256 tokens, all different");
        memset(&got, 0, sizeof(got));
        ok(console_tokens_redeem(t, many[200], T0, &got) == 0 && got.instance == 200, "the 201st opens its instance");
        console_tokens_free(t);

        /* wall tokens */
        t = console_tokens_new(0, S(60));
        char w[CONSOLE_TOKEN_HEX + 1], w2[CONSOLE_TOKEN_HEX + 1], cw[CONSOLE_TOKEN_HEX + 1];
        ConsoleBinding wb = {.kind = CONSOLE_TOKEN_WALL, .wall_by = CONSOLE_WALL_VMGROUP, .wall_id = 3, .uid = 1000};
        is_int(console_tokens_issue_binding(t, &wb, T0, w), 0, "issue a wall token (vm group 3, uid 1000)");
        ok(lower_hex(w), "it is 32 lowercase hex characters too");
        is_int(console_tokens_redeem(t, w, T0 + S(1), &got), -ENOENT, "a wall token does not open a console");
        memset(&got, 0, sizeof(got));
        is_int(console_tokens_redeem_kind(t, w, CONSOLE_TOKEN_WALL, T0 + S(59), &got), 0,
               "... and is still good as a wall token after 59 s");
        ok(got.kind == CONSOLE_TOKEN_WALL && got.wall_by == CONSOLE_WALL_VMGROUP && got.wall_id == 3 && got.uid == 1000 &&
                   got.issued_usec == T0,
           "it is bound to the admin and the selection");
        is_int(console_tokens_redeem_kind(t, w, CONSOLE_TOKEN_WALL, T0 + S(59), &got), -EALREADY,
               "a wall token's second use is refused");
        console_tokens_issue(t, 5, 1001, T0, cw);
        is_int(console_tokens_redeem_kind(t, cw, CONSOLE_TOKEN_WALL, T0, &got), -ENOENT,
               "a console token does not open a wall");
        is_int(console_tokens_redeem(t, cw, T0, &got), 0, "... and still opens its console");
        console_tokens_issue_binding(t, &wb, T0, w2);
        is_int(console_tokens_redeem_kind(t, w2, CONSOLE_TOKEN_WALL, T0 + S(60) + 1, &got), -ETIME,
               "a wall token 60 s + 1 after issue: expired");
        is_int(console_tokens_redeem_kind(t, w2, CONSOLE_TOKEN_WALL, T0 + S(1), &got), -EALREADY, "... and spent");
        console_tokens_free(t);
        return tap_done();
}
