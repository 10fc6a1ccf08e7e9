/* test-rfb-proxy.c - web/rfb_proxy.h: the console gateway's RFB handshake
 * against a recorded qemu conversation (RFB 3.8, VNC authentication), fed
 * whole, split at every byte and one byte at a time; a wrong password, a
 * browser choosing another security type, a token refused at each step of
 * the browser's handshake, servers that refuse or offer nothing we speak,
 * oversized and malformed input, and a pipelined ClientInit. */
#include <stdlib.h>
#include <string.h>

#include "basic/vnc_auth.h"
#include "tap.h"
#include "web/rfb_proxy.h"

#define PASSWORD "vmb-pw12"
/* DES-ECB of bytes 00..0f under the bit-reversed "vmb-pw12" (6eb646b40eee8c4c),
 * as `openssl enc -des-ecb -nopad -provider legacy` computes it */
static const uint8_t challenge[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t response[16] = {0x7a, 0xcc, 0x75, 0x4a, 0xf5, 0x0e, 0x8f, 0x83,
                                     0x4f, 0x0c, 0x06, 0x8a, 0xe8, 0x63, 0x42, 0x3f};

/* What qemu 7.2 sends with -vnc ...,password=on: version, one type (VNC
 * authentication), the challenge, SecurityResult OK; its ServerInit (a
 * 640x480 framebuffer named "QEMU") comes after ClientInit. */
static uint8_t server_hs[12 + 2 + 16 + 4];
static const uint8_t server_init[] = {0x02, 0x80, 0x01, 0xe0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0,
                                      0,    0,    0,    0,    0,  0,  4, 'Q', 'E', 'M', 'U'};
static const uint8_t client_hs[] = "RFB 003.008\n\x01"; /* version, choice None */

static void setup(void) {
        memcpy(server_hs, "RFB 003.008\n", 12);
        server_hs[12] = 1;
        server_hs[13] = 2;
        memcpy(server_hs + 14, challenge, 16);
        memset(server_hs + 30, 0, 4);
}

typedef struct Out {
        uint8_t b[2][8192];
        size_t n[2];
} Out;

/* Take what the proxy queued for each side into out. */
static void drain(RfbProxy *p, Out *o) {
        for (int side = 0; side < 2; side++) {
                const uint8_t *d;
                size_t n = rfb_proxy_pending(p, side, &d);
                if (n && o->n[side] + n <= sizeof(o->b[side])) { /* memcpy wants a buffer even for 0 */
                        memcpy(o->b[side] + o->n[side], d, n);
                        o->n[side] += n;
                }
                rfb_proxy_consume(p, side, n);
        }
}

static bool contains(const uint8_t *hay, size_t n, const void *needle, size_t k) {
        for (size_t i = 0; i + k <= n; i++)
                if (memcmp(hay + i, needle, k) == 0)
                        return true;
        return false;
}

/* The whole conversation with each stream cut into pieces of `step` bytes
 * (0: whole), the server's and the browser's interleaved. */
static RfbProxy *run(size_t step, size_t split_at, Out *o) {
        RfbProxy *p;
        if (rfb_proxy_new(&p) < 0)
                return NULL;
        memset(o, 0, sizeof(*o));
        rfb_proxy_server_ready(p, PASSWORD);
        size_t cs = 0, ss = 0, cn = sizeof(client_hs) - 1, sn = sizeof(server_hs);
        while (cs < cn || ss < sn) {
                size_t k;
                if (cs < cn) {
                        k = step ? step : split_at && cs < split_at ? split_at - cs : cn - cs;
                        if (k > cn - cs)
                                k = cn - cs;
                        rfb_proxy_feed(p, RFB_CLIENT, client_hs + cs, k);
                        cs += k;
                        drain(p, o);
                }
                if (ss < sn) {
                        k = step ? step : split_at && ss < split_at ? split_at - ss : sn - ss;
                        if (k > sn - ss)
                                k = sn - ss;
                        rfb_proxy_feed(p, RFB_SERVER, server_hs + ss, k);
                        ss += k;
                        drain(p, o);
                }
        }
        return p;
}

static bool outputs_right(RfbProxy *p, const Out *o) {
        static const uint8_t want_client[] = "RFB 003.008\n\x01\x01\0\0\0\0";
        uint8_t want_server[12 + 1 + 16];
        memcpy(want_server, "RFB 003.008\n\x02", 13);
        memcpy(want_server + 13, response, 16);
        return rfb_proxy_phase(p) == RFB_RELAY && o->n[RFB_CLIENT] == sizeof(want_client) - 1 &&
               memcmp(o->b[RFB_CLIENT], want_client, o->n[RFB_CLIENT]) == 0 && o->n[RFB_SERVER] == sizeof(want_server) &&
               memcmp(o->b[RFB_SERVER], want_server, sizeof(want_server)) == 0;
}

static void test_full_handshake(void) {
        Out o;
        RfbProxy *p = run(0, 0, &o);
        ok(outputs_right(p, &o), "whole: the browser sees 3.8, type None only, OK; the server gets 3.8, type 2, the DES answer");
        ok(!contains(o.b[RFB_CLIENT], o.n[RFB_CLIENT], PASSWORD, strlen(PASSWORD)), "the browser never gets the password");
        /* the relay: ClientInit to the server, ServerInit and an update back */
        rfb_proxy_feed(p, RFB_CLIENT, (const uint8_t *)"\x01", 1);
        rfb_proxy_feed(p, RFB_SERVER, server_init, sizeof(server_init));
        const uint8_t *d;
        size_t n = rfb_proxy_pending(p, RFB_SERVER, &d);
        ok(n == 1 && d[0] == 1, "relay: ClientInit goes to the server unchanged");
        n = rfb_proxy_pending(p, RFB_CLIENT, &d);
        ok(n == sizeof(server_init) && memcmp(d, server_init, n) == 0, "relay: ServerInit goes to the browser unchanged");
        rfb_proxy_consume(p, RFB_CLIENT, 5);
        n = rfb_proxy_pending(p, RFB_CLIENT, &d);
        ok(n == sizeof(server_init) - 5 && d[0] == server_init[5], "consume drops what was sent");
        /* the browser's messages are told apart (rfb_input.h): input or not */
        static const uint8_t fbur[] = {3, 1, 0, 0, 0, 0, 2, 128, 1, 224}, key[] = {4, 1, 0, 0, 0, 0, 0, 0x61};
        rfb_proxy_feed(p, RFB_CLIENT, fbur, sizeof(fbur));
        ok(rfb_proxy_client_input(p)->messages == 1 && rfb_proxy_client_input(p)->inputs == 0,
           "relay: an update request is a message, no input");
        rfb_proxy_feed(p, RFB_CLIENT, key, sizeof(key));
        ok(rfb_proxy_client_input(p)->inputs == 1, "relay: a KeyEvent is input");
        rfb_proxy_free(p);
}

static void test_splits(void) {
        Out o;
        bool all = true;
        for (size_t at = 1; at < sizeof(server_hs); at++) {
                RfbProxy *p = run(0, at, &o);
                if (!outputs_right(p, &o)) {
                        all = false;
                        printf("#   split at %zu differs\n", at);
                }
                rfb_proxy_free(p);
        }
        ok(all, "the same handshake with both streams split at every byte");
        RfbProxy *p = run(1, 0, &o);
        ok(outputs_right(p, &o), "the same handshake fed one byte at a time");
        rfb_proxy_free(p);
}

static void test_wrong_password(void) {
        RfbProxy *p;
        Out o = {0};
        rfb_proxy_new(&p);
        rfb_proxy_server_ready(p, "wrong");
        rfb_proxy_feed(p, RFB_CLIENT, client_hs, sizeof(client_hs) - 1);
        rfb_proxy_feed(p, RFB_SERVER, server_hs, 30);
        drain(p, &o);
        ok(!contains(o.b[RFB_SERVER], o.n[RFB_SERVER], response, 16), "another password gives another answer");
        static const uint8_t fail[] = "\0\0\0\x01\0\0\0\x15" "Authentication failed";
        rfb_proxy_feed(p, RFB_SERVER, fail, sizeof(fail) - 1);
        drain(p, &o);
        is_int(rfb_proxy_phase(p), RFB_FAILED, "the server's failed SecurityResult fails the proxy");
        is_str(rfb_proxy_reason(p), "VNC authentication with the VM failed: Authentication failed", "its reason");
        const uint8_t *c = o.b[RFB_CLIENT] + 14; /* after version and types */
        ok(o.n[RFB_CLIENT] > 22 && memcmp(c, "\0\0\0\x01", 4) == 0 &&
                   contains(c, o.n[RFB_CLIENT] - 14, "Authentication failed", 21),
           "the browser gets a failed SecurityResult with the reason");
        rfb_proxy_feed(p, RFB_SERVER, server_init, sizeof(server_init));
        ok(rfb_proxy_pending(p, RFB_CLIENT, NULL) == 0, "nothing is relayed after a failure");
        rfb_proxy_free(p);
}

static void test_browser_other_type(void) {
        RfbProxy *p;
        Out o = {0};
        rfb_proxy_new(&p);
        rfb_proxy_feed(p, RFB_CLIENT, (const uint8_t *)"RFB 003.008\n\x02", 13);
        drain(p, &o);
        is_int(rfb_proxy_phase(p), RFB_FAILED, "a browser choosing VNC authentication is refused");
        ok(o.n[RFB_CLIENT] >= 22 && memcmp(o.b[RFB_CLIENT] + 14, "\0\0\0\x01", 4) == 0,
           "with a failed SecurityResult");
        ok(strstr(rfb_proxy_reason(p), "only None") != NULL, "reason: %s", rfb_proxy_reason(p));
        rfb_proxy_server_ready(p, PASSWORD);
        rfb_proxy_feed(p, RFB_SERVER, server_hs, sizeof(server_hs));
        ok(rfb_proxy_pending(p, RFB_SERVER, NULL) == 0, "and the server is not answered");
        rfb_proxy_free(p);
}

static void test_token_refused(void) {
        RfbProxy *p;
        Out o = {0};
        /* before the browser's version: no security types, the reason */
        rfb_proxy_new(&p);
        rfb_proxy_fail(p, "token refused: expired");
        is_int(rfb_proxy_phase(p), RFB_HANDSHAKE, "a refusal waits for the browser's version");
        rfb_proxy_feed(p, RFB_CLIENT, (const uint8_t *)"RFB 003.008\n", 12);
        drain(p, &o);
        static const uint8_t want[] = "RFB 003.008\n\0\0\0\0\x16token refused: expired";
        ok(o.n[RFB_CLIENT] == sizeof(want) - 1 && memcmp(o.b[RFB_CLIENT], want, sizeof(want) - 1) == 0,
           "then 0 security types and the reason");
        is_str(rfb_proxy_reason(p), "token refused: expired", "the reason");
        rfb_proxy_free(p);

        /* after its choice: a failed SecurityResult */
        memset(&o, 0, sizeof(o));
        rfb_proxy_new(&p);
        rfb_proxy_feed(p, RFB_CLIENT, client_hs, sizeof(client_hs) - 1);
        rfb_proxy_fail(p, "the VM is gone");
        drain(p, &o);
        static const uint8_t want2[] = "RFB 003.008\n\x01\x01\0\0\0\x01\0\0\0\x0ethe VM is gone";
        ok(o.n[RFB_CLIENT] == sizeof(want2) - 1 && memcmp(o.b[RFB_CLIENT], want2, sizeof(want2) - 1) == 0,
           "after the choice: SecurityResult failed with the reason");
        rfb_proxy_free(p);

        /* between the types and the choice: told after the choice */
        memset(&o, 0, sizeof(o));
        rfb_proxy_new(&p);
        rfb_proxy_feed(p, RFB_CLIENT, client_hs, 12);
        rfb_proxy_fail(p, "refused\x01\n");
        rfb_proxy_feed(p, RFB_CLIENT, client_hs + 12, 1);
        drain(p, &o);
        is_str(rfb_proxy_reason(p), "refused??", "a reason is one printable line");
        ok(o.n[RFB_CLIENT] == 12 + 2 + 8 + 9, "told at the choice");
        rfb_proxy_free(p);
}

static void feed_server_case(const char *name, const uint8_t *bytes, size_t n, const char *reason_part) {
        RfbProxy *p;
        rfb_proxy_new(&p);
        rfb_proxy_server_ready(p, PASSWORD);
        rfb_proxy_feed(p, RFB_CLIENT, client_hs, sizeof(client_hs) - 1);
        rfb_proxy_feed(p, RFB_SERVER, bytes, n);
        const char *r = rfb_proxy_reason(p);
        ok(rfb_proxy_phase(p) == RFB_FAILED && r && strstr(r, reason_part), "%s: %s", name, r ? r : "(none)");
        rfb_proxy_free(p);
}

static void test_bad_servers(void) {
        static const uint8_t refused[] = "RFB 003.008\n\0\0\0\0\x04" "busy";
        feed_server_case("a server with no types", refused, sizeof(refused) - 1, "refused the connection: busy");
        static const uint8_t tight[] = "RFB 003.008\n\x02\x10\x13";
        feed_server_case("a server offering only Tight and VeNCrypt", tight, sizeof(tight) - 1, "no security type");
        static const uint8_t old[] = "RFB 003.003\n";
        feed_server_case("an RFB 3.3 server", old, 12, "RFB 3.8");
        static const uint8_t junk[] = "SSH-2.0-Open";
        feed_server_case("not RFB", junk, 12, "RFB 3.8");
        static const uint8_t huge[] = "RFB 003.008\n\0\x7f\xff\xff\xff";
        feed_server_case("a reason of 2 GiB is not read", huge, sizeof(huge) - 1, "2147483647-byte reason");
        /* the server is through but the browser has not chosen yet */
        static uint8_t chatty[12 + 2 + 16 + 4 + 5000];
        memcpy(chatty, server_hs, sizeof(server_hs));
        memset(chatty + sizeof(server_hs), 'x', 5000);
        RfbProxy *p;
        rfb_proxy_new(&p);
        rfb_proxy_server_ready(p, PASSWORD);
        rfb_proxy_feed(p, RFB_CLIENT, client_hs, 12);
        rfb_proxy_feed(p, RFB_SERVER, chatty, sizeof(chatty));
        ok(rfb_proxy_phase(p) == RFB_FAILED && strstr(rfb_proxy_reason(p), "before the handshake"),
           "a server that floods before the browser is through fails");
        rfb_proxy_free(p);

        rfb_proxy_new(&p);
        rfb_proxy_feed(p, RFB_SERVER, server_hs, 12);
        is_int(rfb_proxy_phase(p), RFB_FAILED, "server bytes before the VNC connection was handed over fail");
        rfb_proxy_free(p);

        /* a server without a password: None is chosen, no DES */
        static const uint8_t none[] = "RFB 003.008\n\x01\x01\0\0\0\0";
        Out o = {0};
        rfb_proxy_new(&p);
        rfb_proxy_server_ready(p, "");
        rfb_proxy_feed(p, RFB_CLIENT, client_hs, sizeof(client_hs) - 1);
        rfb_proxy_feed(p, RFB_SERVER, none, sizeof(none) - 1);
        drain(p, &o);
        ok(rfb_proxy_phase(p) == RFB_RELAY && o.n[RFB_SERVER] == 13 && o.b[RFB_SERVER][12] == 1,
           "a server asking no password: type None, then the relay");
        rfb_proxy_free(p);
}

static void test_bad_browsers(void) {
        RfbProxy *p;
        rfb_proxy_new(&p);
        rfb_proxy_feed(p, RFB_CLIENT, (const uint8_t *)"RFB 003.007\n", 12);
        is_int(rfb_proxy_phase(p), RFB_FAILED, "an RFB 3.7 browser is refused");
        rfb_proxy_free(p);

        rfb_proxy_new(&p);
        rfb_proxy_feed(p, RFB_CLIENT, (const uint8_t *)"GET / HTTP/1.1\r\n", 16);
        is_int(rfb_proxy_phase(p), RFB_FAILED, "HTTP is not RFB");
        rfb_proxy_free(p);

        static uint8_t flood[5000];
        rfb_proxy_new(&p);
        rfb_proxy_feed(p, RFB_CLIENT, client_hs, sizeof(client_hs) - 1);
        rfb_proxy_feed(p, RFB_CLIENT, flood, sizeof(flood));
        is_int(rfb_proxy_phase(p), RFB_FAILED, "a browser flooding before the server is through fails");
        rfb_proxy_free(p);

        /* a ClientInit sent before the SecurityResult waits, then goes on */
        Out o = {0};
        rfb_proxy_new(&p);
        rfb_proxy_server_ready(p, PASSWORD);
        rfb_proxy_feed(p, RFB_CLIENT, (const uint8_t *)"RFB 003.008\n\x01\x01", 14);
        drain(p, &o);
        ok(!contains(o.b[RFB_SERVER], o.n[RFB_SERVER], "\x02\x7a", 2), "no early ClientInit reaches the server");
        rfb_proxy_feed(p, RFB_SERVER, server_hs, sizeof(server_hs));
        drain(p, &o);
        ok(rfb_proxy_phase(p) == RFB_RELAY && o.n[RFB_SERVER] == 12 + 1 + 16 + 1 && o.b[RFB_SERVER][29] == 1,
           "the pipelined ClientInit follows the authentication");
        static const uint8_t pointer[] = {5, 0, 0, 1, 0, 2};
        rfb_proxy_feed(p, RFB_CLIENT, pointer, sizeof(pointer));
        ok(rfb_proxy_client_input(p)->messages == 1 && rfb_proxy_client_input(p)->inputs == 1,
           "the pipelined ClientInit is no message: the PointerEvent after it is the first, and input");
        rfb_proxy_free(p);
}

static void test_des(void) {
        uint8_t r[16], r2[16];
        vnc_auth_response(PASSWORD, challenge, r);
        ok(memcmp(r, response, 16) == 0, "VNC DES answer matches OpenSSL's DES-ECB with the bit-reversed key");
        vnc_auth_response(PASSWORD "-longer", challenge, r2);
        ok(memcmp(r, r2, 16) == 0, "only the first 8 password bytes count");
        vnc_auth_response("", challenge, r2);
        ok(memcmp(r, r2, 16) != 0, "an empty password (a weak DES key) still answers");
}

int main(void) {
        setup();
        test_full_handshake();
        test_splits();
        test_wrong_password();
        test_browser_other_type();
        test_token_refused();
        test_bad_servers();
        test_bad_browsers();
        test_des();
        return tap_done();
}
