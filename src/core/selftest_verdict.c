/* selftest_verdict.c - the isolation self-test's verdict (selftest_verdict.h). */
#include "core/selftest_verdict.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "basic/util.h"

static const char *const outcome_table[_SELFTEST_OUTCOME_MAX] = {
        [SELFTEST_BLOCKED] = "blocked",
        [SELFTEST_THROUGH] = "through",
        [SELFTEST_UNTRIED] = "untried",
};

const char *selftest_outcome_to_string(SelftestOutcome o) {
        return o >= 0 && o < _SELFTEST_OUTCOME_MAX ? outcome_table[o] : "invalid";
}

/* Besides the listener's sightings (every attack), what else says an
 * attack got through. */
typedef enum Extra {
        EXTRA_NONE,
        EXTRA_REPLY, /* the peer answered the attacker (reply=yes) */
        EXTRA_OFFER, /* the DHCP server offered a made-up client an address */
        EXTRA_HOST,  /* the host's listener: its accepts, or the attacker's reply=yes */
} Extra;

static const struct {
        const char *name;
        Extra extra;
} attacks[SELFTEST_ATTACKS] = {
        /* guest to guest */
        {"arp-peer", EXTRA_REPLY},
        {"ping-peer", EXTRA_REPLY},
        {"udp-peer", EXTRA_NONE},
        {"unicast-foreign", EXTRA_NONE},
        /* spoofing: MAC, IP, ARP */
        {"mac-spoof", EXTRA_NONE},
        {"ip-spoof", EXTRA_NONE},
        {"arp-gw-claim", EXTRA_NONE},
        {"arp-foreign-ip", EXTRA_NONE},
        {"arp-foreign-mac", EXTRA_NONE},
        /* a rogue DHCP server, DHCP abuse */
        {"dhcp-offer", EXTRA_NONE},
        {"dhcp-offer-6767", EXTRA_NONE},
        {"dhcp-starve", EXTRA_OFFER},
        {"dhcp-decline", EXTRA_NONE},
        /* IPv6 */
        {"ipv6-ra", EXTRA_NONE},
        {"dhcpv6-adv", EXTRA_NONE},
        {"ipv6-spoof", EXTRA_NONE},
        {"ipv6-na", EXTRA_NONE},
        /* other frames */
        {"vlan", EXTRA_NONE},
        {"rarp", EXTRA_NONE},
        {"ethertype-88b5", EXTRA_NONE},
        {"flood", EXTRA_NONE},
        /* a host service */
        {"gw-tcp", EXTRA_HOST},
};

enum {
        CONTROL_LEASE_ATTACKER,
        CONTROL_LEASE_LISTENER,
        CONTROL_LISTENING,
        CONTROL_ATTACK_END,
        CONTROL_ARP_GW,
        CONTROL_PING_GW,
        CONTROL_DNS_GW,
        CONTROL_GW_TO_PEER,
};

static const struct {
        const char *name, *what;
} controls[SELFTEST_CONTROLS] = {
        [CONTROL_LEASE_ATTACKER] = {"lease-attacker", "the attacker got its DHCP lease"},
        [CONTROL_LEASE_LISTENER] = {"lease-listener", "the listener got its DHCP lease"},
        [CONTROL_LISTENING] = {"listening", "the listener listened"},
        [CONTROL_ATTACK_END] = {"attack-end", "the attacker ran every probe"},
        [CONTROL_ARP_GW] = {"arp-gw", "the gateway answered the attacker's ARP"},
        [CONTROL_PING_GW] = {"ping-gw", "the gateway answered the attacker's ping"},
        [CONTROL_DNS_GW] = {"dns-gw", "the gateway answered the attacker's DNS query"},
        [CONTROL_GW_TO_PEER] = {"gw-to-peer", "the listener heard the gateway's datagram"},
};

const char *selftest_attack_name(size_t i) { return i < SELFTEST_ATTACKS ? attacks[i].name : NULL; }
const char *selftest_control_name(size_t i) { return i < SELFTEST_CONTROLS ? controls[i].name : NULL; }
const char *selftest_control_what(size_t i) { return i < SELFTEST_CONTROLS ? controls[i].what : NULL; }

static int attack_index(const char *name) {
        for (size_t i = 0; i < SELFTEST_ATTACKS; i++)
                if (streq(attacks[i].name, name))
                        return (int)i;
        return -1;
}

/* ---- lines ---- */

#define WORDS_MAX 12
#define WORD_MAX 40

typedef struct Line {
        char w[WORDS_MAX][WORD_MAX]; /* the first words; a longer word is cut (and then matches nothing) */
        size_t n;
} Line;

/* Split [p, p+len) into words; a word too long is kept cut, with a 0x01 byte
 * after it, so it can never equal a name of the tables. */
static void split(const char *p, size_t len, Line *l) {
        l->n = 0;
        size_t i = 0;
        while (i < len && l->n < WORDS_MAX) {
                while (i < len && (p[i] == ' ' || p[i] == '\t'))
                        i++;
                if (i == len)
                        break;
                size_t k = 0;
                bool cut = false;
                char *w = l->w[l->n++];
                while (i < len && p[i] != ' ' && p[i] != '\t') {
                        if (k < WORD_MAX - 2)
                                w[k++] = p[i];
                        else
                                cut = true;
                        i++;
                }
                if (cut)
                        w[k++] = 0x01;
                w[k] = 0;
        }
}

/* Call fn for each line of text that starts with "VMB-" (a '\r' before the
 * newline dropped; a NUL ends the text). */
static void each_line(const char *text, size_t len, void (*fn)(const Line *l, void *u), void *u) {
        if (!text)
                return;
        const char *nul = memchr(text, 0, len);
        if (nul)
                len = (size_t)(nul - text);
        size_t i = 0;
        while (i < len) {
                const char *nl = memchr(text + i, '\n', len - i);
                size_t end = nl ? (size_t)(nl - text) : len, n = end - i;
                if (n > 0 && text[i + n - 1] == '\r')
                        n--;
                if (n >= 4 && memcmp(text + i, "VMB-", 4) == 0) {
                        Line l;
                        split(text + i, n, &l);
                        fn(&l, u);
                }
                i = end + 1;
        }
}

static bool has_word(const Line *l, size_t from, const char *w) {
        for (size_t i = from; i < l->n; i++)
                if (streq(l->w[i], w))
                        return true;
        return false;
}

/* ---- what each probe said ---- */

typedef struct Seen {
        bool attacker_lease, attack_end, listener_lease, listening, gw_to_peer;
        bool sent[SELFTEST_ATTACKS], reply[SELFTEST_ATTACKS], offer[SELFTEST_ATTACKS], seen[SELFTEST_ATTACKS];
        bool arp_gw, ping_gw, dns_gw;
} Seen;

static void attacker_line(const Line *l, void *u) {
        Seen *s = u;
        if (streq(l->w[0], "VMB-LEASE"))
                s->attacker_lease = true;
        else if (streq(l->w[0], "VMB-ATTACK-END") && l->n == 1)
                s->attack_end = true;
        else if (streq(l->w[0], "VMB-PROBE") && l->n >= 4 && streq(l->w[2], "sent")) {
                /* "n=N": sent when N is a number above 0 */
                const char *n = l->w[3];
                bool sent = strncmp(n, "n=", 2) == 0 && n[2] >= '1' && n[2] <= '9' &&
                            strspn(n + 2, "0123456789") == strlen(n + 2);
                bool reply = has_word(l, 4, "reply=yes"), offer = has_word(l, 4, "offer=yes");
                int i = attack_index(l->w[1]);
                if (i >= 0) {
                        s->sent[i] |= sent;
                        s->reply[i] |= reply;
                        s->offer[i] |= offer;
                } else if (streq(l->w[1], "arp-gw"))
                        s->arp_gw |= reply;
                else if (streq(l->w[1], "ping-gw"))
                        s->ping_gw |= reply;
                else if (streq(l->w[1], "dns-gw"))
                        s->dns_gw |= reply;
        }
}

static void listener_line(const Line *l, void *u) {
        Seen *s = u;
        if (streq(l->w[0], "VMB-LEASE"))
                s->listener_lease = true;
        else if (streq(l->w[0], "VMB-LISTENING"))
                s->listening = true;
        else if ((streq(l->w[0], "VMB-SEEN") && l->n >= 2) ||
                 (streq(l->w[0], "VMB-SEEN-COUNT") && l->n >= 3 && strspn(l->w[2], "0") != strlen(l->w[2]))) {
                int i = attack_index(l->w[1]);
                if (i >= 0)
                        s->seen[i] = true;
                else if (streq(l->w[1], "gw-to-peer"))
                        s->gw_to_peer = true;
        }
}

/* ---- the reason ---- */

typedef struct Text {
        char *buf;
        size_t size, len;
} Text;

__attribute__((format(printf, 2, 3))) static void add(Text *t, const char *fmt, ...) {
        if (t->len + 1 >= t->size)
                return;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
        va_end(ap);
        if (n > 0)
                t->len = t->len + (size_t)n < t->size ? t->len + (size_t)n : t->size - 1;
}

static void list_attacks(Text *t, const SelftestVerdict *v, SelftestOutcome o, const char *label, bool *first) {
        bool any = false;
        for (size_t i = 0; i < SELFTEST_ATTACKS; i++)
                if (v->attack[i] == o) {
                        add(t, "%s%s", any ? ", " : label, attacks[i].name);
                        any = true;
                        *first = false;
                }
        if (any)
                add(t, ";");
}

void selftest_verdict(const SelftestFacts *f, SelftestVerdict *v) {
        Seen s = {0};
        memset(v, 0, sizeof(*v));
        each_line(f->attacker, f->attacker_len, attacker_line, &s);
        each_line(f->listener, f->listener_len, listener_line, &s);

        bool ctl[SELFTEST_CONTROLS] = {
                [CONTROL_LEASE_ATTACKER] = s.attacker_lease,
                [CONTROL_LEASE_LISTENER] = s.listener_lease,
                [CONTROL_LISTENING] = s.listening,
                [CONTROL_ATTACK_END] = s.attack_end,
                [CONTROL_ARP_GW] = s.arp_gw,
                [CONTROL_PING_GW] = s.ping_gw,
                [CONTROL_DNS_GW] = s.dns_gw,
                [CONTROL_GW_TO_PEER] = s.gw_to_peer,
        };
        for (size_t i = 0; i < SELFTEST_CONTROLS; i++) {
                v->control_ok[i] = ctl[i];
                v->n_controls_ok += ctl[i];
        }
        for (size_t i = 0; i < SELFTEST_ATTACKS; i++) {
                bool through = s.seen[i];
                switch (attacks[i].extra) {
                case EXTRA_REPLY:
                        through |= s.reply[i];
                        break;
                case EXTRA_OFFER:
                        through |= s.offer[i];
                        break;
                case EXTRA_HOST:
                        through |= s.reply[i] || f->host_tcp_accepts > 0;
                        break;
                case EXTRA_NONE:
                        break;
                }
                /* what got through counts even when the attacker's line is missing */
                v->attack[i] = through ? SELFTEST_THROUGH : s.sent[i] ? SELFTEST_BLOCKED : SELFTEST_UNTRIED;
                v->n_blocked += v->attack[i] == SELFTEST_BLOCKED;
                v->n_through += v->attack[i] == SELFTEST_THROUGH;
                v->n_untried += v->attack[i] == SELFTEST_UNTRIED;
        }
        v->ready = !f->timed_out && v->n_blocked == SELFTEST_ATTACKS && v->n_controls_ok == SELFTEST_CONTROLS;

        Text t = {v->reason, sizeof(v->reason), 0};
        if (v->ready) {
                add(&t, "ready: %u attacks blocked, %u controls ok", v->n_blocked, v->n_controls_ok);
                return;
        }
        bool silent = !s.attack_end && !s.listening;
        if (f->timed_out || silent)
                add(&t, "no answer from the probes%s: ", f->timed_out ? " in time" : "");
        else
                add(&t, "not ready: ");
        bool first = true;
        list_attacks(&t, v, SELFTEST_THROUGH, "got through: ", &first);
        if (!first)
                add(&t, " ");
        if (v->n_untried == SELFTEST_ATTACKS)
                add(&t, "not tried: every attack; ");
        else {
                bool first_u = true;
                list_attacks(&t, v, SELFTEST_UNTRIED, "not tried: ", &first_u);
                if (!first_u)
                        add(&t, " ");
        }
        bool anyc = false;
        for (size_t i = 0; i < SELFTEST_CONTROLS; i++)
                if (!v->control_ok[i]) {
                        add(&t, "%s%s", anyc ? ", " : "controls failed: ", controls[i].name);
                        anyc = true;
                }
        while (t.len > 0 && (t.buf[t.len - 1] == ' ' || t.buf[t.len - 1] == ';' || t.buf[t.len - 1] == ':'))
                t.buf[--t.len] = 0;
}
