/* selftest_verdict.h - an exam's isolation self-test (issue 14): what two
 * probe guests' serial output and the host's own listener say, turned into
 * one verdict. Pure (no I/O): the daemon (daemon/exam_selftest.c) gathers
 * the facts, this decides.
 *
 * The probes are the test guest (scripts/build-test-guest.sh): an attacker
 * (vmb.attack, tests/guest/vmb-attack.c) prints "VMB-PROBE NAME sent n=N
 * [reply=yes|no] [offer=yes|no] ..." per attack, a listener (vmb.listen)
 * prints "VMB-SEEN NAME ..." the first time a frame tagged NAME reaches it.
 * Both texts come from guests: hostile input, any bytes, any length. Only
 * whole lines that start with "VMB-" and name a known probe count; the
 * first word after it is matched exactly against the table below.
 *
 * An attack is THROUGH when its observer saw it: the listener got a tagged
 * frame of it, the peer answered it (reply=yes of arp-peer, ping-peer), the
 * DHCP server offered a made-up client an address (dhcp-starve offer=yes),
 * or the host's listener accepted a connection (gw-tcp: the host's count,
 * or the guest's reply=yes). UNTRIED when the attacker never reported it
 * sent (n=0 or no line). BLOCKED otherwise.
 *
 * The controls are the probes' lawful traffic, which must work or nothing
 * is proven: both leases, the listener listening, the attacker finishing,
 * ARP, ping and DNS to the gateway answered, and the gateway's datagram
 * heard by the listener (so "the listener saw nothing" means something). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum SelftestOutcome {
        SELFTEST_BLOCKED,
        SELFTEST_THROUGH,
        SELFTEST_UNTRIED,
        _SELFTEST_OUTCOME_MAX,
} SelftestOutcome;

const char *selftest_outcome_to_string(SelftestOutcome o);

#define SELFTEST_ATTACKS 22
#define SELFTEST_CONTROLS 8
#define SELFTEST_REASON_MAX 1024

/* The attacks in the order the verdict lists them, and the controls. */
const char *selftest_attack_name(size_t i);
const char *selftest_control_name(size_t i);
/* What a control checks, in words ("the attacker got its DHCP lease"). */
const char *selftest_control_what(size_t i);

typedef struct SelftestFacts {
        const char *attacker; /* the attacker's serial text (any bytes; NUL ends it early) */
        size_t attacker_len;
        const char *listener; /* the listener's */
        size_t listener_len;
        unsigned host_tcp_accepts; /* connections the host's gw-tcp listener accepted */
        bool timed_out;            /* the probes did not finish in time */
} SelftestFacts;

typedef struct SelftestVerdict {
        bool ready; /* every attack blocked, every control ok */
        SelftestOutcome attack[SELFTEST_ATTACKS];
        bool control_ok[SELFTEST_CONTROLS];
        unsigned n_blocked, n_through, n_untried, n_controls_ok;
        /* one line: "ready: 22 attacks blocked, 8 controls ok", or what got
         * through, what was not tried, which controls failed; "no answer
         * from the probes: ..." when neither probe got to its work */
        char reason[SELFTEST_REASON_MAX];
} SelftestVerdict;

void selftest_verdict(const SelftestFacts *f, SelftestVerdict *ret);
