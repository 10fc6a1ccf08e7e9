/* console_tokens.c - one-time console tokens in memory. See
 * console_tokens.h. A flat array: at most CONSOLE_TOKENS_CAP entries, and
 * every redeem compares all of them anyway (constant time), so a hash
 * would buy nothing. */
#include "core/console_tokens.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "basic/util.h"

/* used and expired tokens are kept this long past their lifetime, so that
 * a late redeem is told "expired" (and audited with its instance) rather
 * than "unknown" */
#define KEEP_USEC (600ULL * 1000000)

typedef struct Entry {
        uint8_t token[CONSOLE_TOKEN_BYTES];
        ConsoleBinding binding;
        bool used;
} Entry;

struct ConsoleTokens {
        Entry *e;
        size_t n, cap;
        uint64_t ttl_usec;
};

ConsoleTokens *console_tokens_new(size_t cap, uint64_t ttl_usec) {
        ConsoleTokens *t = xcalloc(1, sizeof(*t));
        t->cap = cap ? cap : CONSOLE_TOKENS_CAP;
        t->e = xcalloc(t->cap, sizeof(Entry));
        t->ttl_usec = ttl_usec;
        return t;
}

void console_tokens_free(ConsoleTokens *t) {
        if (!t)
                return;
        explicit_bzero(t->e, t->cap * sizeof(Entry));
        free(t->e);
        free(t);
}

uint64_t console_tokens_ttl_usec(const ConsoleTokens *t) { return t->ttl_usec; }

static bool expired(const ConsoleTokens *t, const Entry *e, uint64_t now) {
        return now - e->binding.issued_usec > t->ttl_usec;
}

static bool live(const ConsoleTokens *t, const Entry *e, uint64_t now) { return !e->used && !expired(t, e, now); }

/* Drop the entries past their keeping time (all_dead: also every used or
 * expired one), keeping the order (oldest first). */
static void prune(ConsoleTokens *t, uint64_t now, bool all_dead) {
        size_t k = 0;
        for (size_t i = 0; i < t->n; i++) {
                Entry *e = &t->e[i];
                bool stale = now - e->binding.issued_usec > t->ttl_usec + KEEP_USEC;
                if (stale || (all_dead && !live(t, e, now)))
                        continue;
                t->e[k++] = *e;
        }
        explicit_bzero(t->e + k, (t->n - k) * sizeof(Entry));
        t->n = k;
}

size_t console_tokens_live(const ConsoleTokens *t, uint64_t now) {
        size_t n = 0;
        for (size_t i = 0; i < t->n; i++)
                n += live(t, &t->e[i], now);
        return n;
}

static void to_hex(const uint8_t *b, char out[CONSOLE_TOKEN_HEX + 1]) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < CONSOLE_TOKEN_BYTES; i++) {
                out[2 * i] = digits[b[i] >> 4];
                out[2 * i + 1] = digits[b[i] & 15];
        }
        out[CONSOLE_TOKEN_HEX] = 0;
}

static int hex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

static int from_hex(const char *s, uint8_t out[CONSOLE_TOKEN_BYTES]) {
        if (!s || strnlen(s, CONSOLE_TOKEN_HEX + 1) != CONSOLE_TOKEN_HEX)
                return -ENOENT;
        int bad = 0;
        for (size_t i = 0; i < CONSOLE_TOKEN_BYTES; i++) {
                int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
                bad |= hi | lo; /* negative when either is not a digit */
                out[i] = (uint8_t)(((hi & 15) << 4) | (lo & 15)); /* no shift of a negative */
        }
        return bad < 0 ? -ENOENT : 0;
}

int console_tokens_issue(ConsoleTokens *t, uint32_t instance, uint32_t uid, uint64_t now_usec,
                         char ret[CONSOLE_TOKEN_HEX + 1]) {
        ConsoleBinding b = {.kind = CONSOLE_TOKEN_CONSOLE, .instance = instance, .uid = uid};
        return console_tokens_issue_binding(t, &b, now_usec, ret);
}

int console_tokens_issue_binding(ConsoleTokens *t, const ConsoleBinding *b, uint64_t now_usec,
                                 char ret[CONSOLE_TOKEN_HEX + 1]) {
        prune(t, now_usec, false);
        if (t->n >= t->cap)
                prune(t, now_usec, true);
        if (t->n >= t->cap)
                return -EBUSY;
        Entry e = {.binding = *b};
        e.binding.issued_usec = now_usec;
        ssize_t got = getrandom(e.token, sizeof(e.token), 0);
        if (got != (ssize_t)sizeof(e.token))
                return got < 0 ? -errno : -EIO;
        t->e[t->n++] = e;
        to_hex(e.token, ret);
        explicit_bzero(&e, sizeof(e));
        return 0;
}

int console_tokens_redeem(ConsoleTokens *t, const char *token, uint64_t now_usec, ConsoleBinding *ret) {
        return console_tokens_redeem_kind(t, token, CONSOLE_TOKEN_CONSOLE, now_usec, ret);
}

int console_tokens_redeem_kind(ConsoleTokens *t, const char *token, ConsoleTokenKind kind, uint64_t now_usec,
                               ConsoleBinding *ret) {
        uint8_t want[CONSOLE_TOKEN_BYTES];
        if (from_hex(token, want) < 0)
                return -ENOENT;
        Entry *found = NULL;
        for (size_t i = 0; i < t->n; i++) {
                uint8_t diff = 0;
                for (size_t j = 0; j < CONSOLE_TOKEN_BYTES; j++)
                        diff |= (uint8_t)(t->e[i].token[j] ^ want[j]);
                /* no early exit: every entry is compared whatever matched */
                uintptr_t mask = (uintptr_t)0 - (uintptr_t)(diff == 0);
                found = (Entry *)(((uintptr_t)&t->e[i] & mask) | ((uintptr_t)found & ~mask));
        }
        explicit_bzero(want, sizeof(want));
        /* the other kind is as unknown as no token: it tells nothing of what
         * the token opens, and its holder may still use it where it belongs */
        if (!found || found->binding.kind != kind)
                return -ENOENT;
        *ret = found->binding;
        if (found->used)
                return -EALREADY;
        found->used = true; /* an expired token is spent too: it never opens later */
        return expired(t, found, now_usec) ? -ETIME : 0;
}
