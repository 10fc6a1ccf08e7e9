/* test-omapi.c - OMAPI codec: golden bytes, round trips, malformed input.
 *
 *   test-omapi GOLDEN_DIR
 *
 * The builders' output is compared with GOLDEN_DIR/<name>.hex; with
 * VMBATCH_REGENERATE=1 the files are rewritten instead. GOLDEN_DIR/reply-*.hex
 * are replies captured from a live dhcpd 4.4.3-P1 (see README there); they
 * are inputs only and never regenerated. */
#include <arpa/inet.h>
#include <stdio.h>

#include "net/omapi_msg.h"
#include "tap.h"

#define TEST_KEY_NAME "omapi_key"
#define TEST_KEY_SECRET "dm1iYXRjaC1vbWFwaS10ZXN0LWtleQ==" /* "vmbatch-omapi-test-key" */

static const char *golden_dir = "tests/golden/omapi";
static bool regenerate;

/* ---- hex files ---------------------------------------------------------- */

static int hexval(int c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Hex digits; whitespace ignored; '#' starts a comment to the end of line. */
static int read_hex(const char *name, uint8_t **ret, size_t *ret_len) {
        _cleanup_free_ char *path = xasprintf("%s/%s", golden_dir, name);
        FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        size_t cap = 256, n = 0;
        uint8_t *buf = malloc(cap);
        int c, hi = -1;
        bool comment = false;
        while ((c = fgetc(f)) != EOF) {
                if (comment) {
                        comment = c != '\n';
                        continue;
                }
                if (c == '#') {
                        comment = true;
                        continue;
                }
                if (c == ' ' || c == '\n' || c == '\t' || c == '\r')
                        continue;
                int v = hexval(c);
                if (v < 0) {
                        fclose(f);
                        free(buf);
                        return -EINVAL;
                }
                if (hi < 0) {
                        hi = v;
                        continue;
                }
                if (n == cap)
                        buf = realloc(buf, cap *= 2);
                buf[n++] = (uint8_t)(hi << 4 | v);
                hi = -1;
        }
        fclose(f);
        if (hi >= 0) {
                free(buf);
                return -EINVAL;
        }
        *ret = buf;
        *ret_len = n;
        return 0;
}

static int write_hex(const char *name, const uint8_t *p, size_t len) {
        _cleanup_free_ char *path = xasprintf("%s/%s", golden_dir, name);
        FILE *f = fopen(path, "we");
        if (!f)
                return -errno;
        for (size_t i = 0; i < len; i++)
                fprintf(f, "%02x%s", p[i], (i % 16 == 15 || i == len - 1) ? "\n" : "");
        return fclose(f) == 0 ? 0 : -errno;
}

static void diag_hex(const char *what, const uint8_t *p, size_t len) {
        printf("#   %s (%zu):", what, len);
        for (size_t i = 0; i < len; i++)
                printf("%s%02x", i % 32 == 0 ? "\n#     " : "", p[i]);
        printf("\n");
}

/* Encode m (signed with key if set) and compare with / rewrite the golden file. */
static void check_golden(const char *name, OmapiMsg *m, const OmapiKey *key, size_t want_len, uint8_t **ret,
                         size_t *ret_len) {
        uint8_t *out = NULL;
        size_t len = 0;
        int r = omapi_msg_encode(m, key, &out, &len);
        is_int(r, 0, "%s: encodes", name);
        if (r < 0)
                return;
        if (want_len)
                is_int(len, want_len, "%s: %zu bytes", name, want_len);
        if (regenerate) {
                ok(write_hex(name, out, len) == 0, "%s: regenerated", name);
        } else {
                _cleanup_free_ uint8_t *golden = NULL;
                size_t glen = 0;
                r = read_hex(name, &golden, &glen);
                is_int(r, 0, "%s: golden file readable", name);
                bool same = r == 0 && glen == len && memcmp(golden, out, len) == 0;
                if (!ok(same, "%s: matches golden file", name)) {
                        diag_hex("got", out, len);
                        if (golden)
                                diag_hex("want", golden, glen);
                }
        }
        if (ret) {
                *ret = out;
                *ret_len = len;
        } else
                free(out);
}

static uint32_t be32(const uint8_t *p) {
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

/* ---- tests -------------------------------------------------------------- */

static void test_names(void) {
        is_str(omapi_op_name(OMAPI_OP_OPEN), "OPEN", "op 1 = OPEN");
        is_str(omapi_op_name(OMAPI_OP_DELETE), "DELETE", "op 6 = DELETE");
        ok(omapi_op_name(0) == NULL && omapi_op_name(7) == NULL, "unknown ops have no name");
        static const struct {
                uint32_t code;
                const char *name;
                int errnum;
        } codes[] = {
                {0, "SUCCESS", 0},
                {18, "EXISTS", -EEXIST},
                {23, "NOTFOUND", -ENOENT},
                {27, "NOTIMPLEMENTED", -EOPNOTSUPP},
                {393219, "INVALIDARG", -EINVAL},
                {393223, "KEYCONFLICT", -EEXIST},
                {393224, "BADPARSE", -EINVAL},
                {393225, "NOKEYS", -EACCES},
                {393227, "INVALIDKEY", -EACCES},
                {393248, "UNKNOWNATTRIBUTE", -EINVAL},
        };
        for (size_t i = 0; i < ELEMENTSOF(codes); i++) {
                is_str(omapi_status_name(codes[i].code), codes[i].name, "status %u = %s", codes[i].code,
                       codes[i].name);
                is_int(omapi_status_to_errno(codes[i].code), codes[i].errnum, "status %s errno", codes[i].name);
        }
        ok(omapi_status_name(12345) == NULL, "unknown status has no name");
        is_int(omapi_status_to_errno(12345), -EPROTO, "unknown status -> EPROTO");
}

static void test_handshake(void) {
        uint8_t hs[8];
        omapi_handshake_encode(hs);
        static const uint8_t want[8] = {0, 0, 0, 0x64, 0, 0, 0, 0x18};
        ok(memcmp(hs, want, 8) == 0, "handshake bytes 00000064 00000018");
        is_int(omapi_handshake_check(hs), 0, "handshake accepted");
        uint8_t bad[8];
        memcpy(bad, want, 8);
        bad[3] = 99;
        is_int(omapi_handshake_check(bad), -EPROTO, "version 99 refused");
        memcpy(bad, want, 8);
        bad[7] = 23;
        is_int(omapi_handshake_check(bad), -EPROTO, "header size 23 refused");
        bad[7] = 32;
        is_int(omapi_handshake_check(bad), -EPROTONOSUPPORT, "header size 32 unsupported");
}

static void test_key(void) {
        OmapiKey *k = NULL;
        is_int(omapi_key_new(TEST_KEY_NAME, TEST_KEY_SECRET, &k), 0, "test key parses");
        is_str(omapi_key_name(k), TEST_KEY_NAME, "key name kept");
        omapi_key_free(k);
        k = NULL;
        is_int(omapi_key_new(TEST_KEY_NAME, "not*base64", &k), -EINVAL, "invalid base64 refused");
        is_int(omapi_key_new(TEST_KEY_NAME, "", &k), -EINVAL, "empty secret refused");
        is_int(omapi_key_new(TEST_KEY_NAME, "QUJD=", &k), -EINVAL, "bad padding refused");
        is_int(omapi_key_new("", TEST_KEY_SECRET, &k), -EINVAL, "empty key name refused");
        ok(k == NULL, "ret untouched on failure");
        omapi_key_free(NULL);
}

/* §9: the 58-byte unsigned OPEN of host probe1, written out literally. */
static const uint8_t doc_open_probe1[58] = {
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 't',  'y',  'p',  'e',
        0x00, 0x00, 0x00, 0x04, 'h',  'o',  's',  't',  0x00, 0x00, 0x00, 0x04, 'n',  'a',  'm',
        'e',  0x00, 0x00, 0x00, 0x06, 'p',  'r',  'o',  'b',  'e',  '1',  0x00, 0x00,
};

static void test_golden(const OmapiKey *key) {
        _cleanup_free_ uint8_t *unsigned_open = NULL, *signed_open = NULL, *del = NULL;
        size_t ulen = 0, slen = 0, dlen = 0;

        _cleanup_omapi_msg_ OmapiMsg *m = NULL;
        is_int(omapi_build_host_lookup_name(1, "probe1", &m), 0, "build lookup probe1");
        check_golden("open-host-probe1.hex", m, NULL, 58, &unsigned_open, &ulen);
        ok(ulen == sizeof(doc_open_probe1) && memcmp(unsigned_open, doc_open_probe1, ulen) == 0,
           "unsigned OPEN probe1 equals the bytes written in OMAPI.md section 9");

        omapi_msg_set_authid(m, 1);
        check_golden("open-host-probe1-signed.hex", m, key, 74, &signed_open, &slen);
        if (signed_open && unsigned_open) {
                is_int(be32(signed_open), 1, "signed: authid 1");
                is_int(be32(signed_open + 4), 16, "signed: authlen 16");
                ok(memcmp(signed_open + 8, unsigned_open + 8, 50) == 0, "signed: bytes 8..57 as unsigned");
                is_int(omapi_msg_verify(signed_open, slen, key), 0, "signed: verifies");
        }

        _cleanup_omapi_msg_ OmapiMsg *a = NULL;
        is_int(omapi_build_authenticator_open(1, TEST_KEY_NAME, &a), 0, "build authenticator open");
        /* 24 + (2+4+4+13 + 2) + (2+4+4+9 + 2+9+4+25 + 2) */
        check_golden("open-authenticator.hex", a, NULL, 24 + 25 + 61, NULL, NULL);

        _cleanup_omapi_msg_ OmapiMsg *d = NULL;
        is_int(omapi_build_delete(2, 2, &d), 0, "build delete handle 2");
        omapi_msg_set_authid(d, 1);
        check_golden("delete-handle2-signed.hex", d, key, 44, &del, &dlen);
        if (del) {
                static const uint8_t want[28] = {0, 0, 0, 1, 0, 0, 0, 0x10, 0, 0, 0, 6, 0, 0,
                                                 0, 2, 0, 0, 0, 2,    0, 0, 0, 0, 0, 0, 0, 0};
                ok(memcmp(del, want, sizeof(want)) == 0, "delete: header and two empty lists");
        }

        OmapiHostSpec spec = {.name = "vm-12", .mac = {0xde, 0xaf, 0xde, 0xaf, 0x64, 0x0c}};
        inet_pton(AF_INET, "192.168.100.12", &spec.ip);
        _cleanup_omapi_msg_ OmapiMsg *c = NULL;
        is_int(omapi_build_host_create(3, &spec, &c), 0, "build host create vm-12");
        omapi_msg_set_authid(c, 1);
        check_golden("create-host-vm12-signed.hex", c, key, 0, NULL, NULL);

        spec.statements = "option host-name \"vm-12\";";
        _cleanup_omapi_msg_ OmapiMsg *cs = NULL;
        is_int(omapi_build_host_create(4, &spec, &cs), 0, "build host create with statements");
        check_golden("create-host-vm12-statements.hex", cs, NULL, 0, NULL, NULL);

        _cleanup_omapi_msg_ OmapiMsg *lm = NULL;
        is_int(omapi_build_host_lookup_mac(5, spec.mac, &lm), 0, "build lookup by MAC");
        omapi_msg_set_authid(lm, 1);
        check_golden("open-host-mac-signed.hex", lm, key, 0, NULL, NULL);
}

static void test_builder_args(void) {
        OmapiMsg *m = NULL;
        OmapiHostSpec spec = {.name = "vm-1"};
        is_int(omapi_build_host_lookup_name(0, "x", &m), -EINVAL, "id 0 refused");
        is_int(omapi_build_host_lookup_name(1, "", &m), -EINVAL, "empty name refused");
        is_int(omapi_build_host_lookup_name(1, "a b", &m), -EINVAL, "name with space refused");
        is_int(omapi_build_host_lookup_name(1, "a\"b", &m), -EINVAL, "name with quote refused");
        char longname[OMAPI_HOST_NAME_MAX + 2];
        memset(longname, 'a', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = 0;
        is_int(omapi_build_host_lookup_name(1, longname, &m), -EINVAL, "129-char name refused");
        longname[OMAPI_HOST_NAME_MAX] = 0;
        ok(omapi_host_name_is_valid(longname), "128-char name accepted");
        is_int(omapi_build_delete(1, 0, &m), -EINVAL, "delete of handle 0 refused");
        spec.statements = "";
        is_int(omapi_build_host_create(1, &spec, &m), -EINVAL, "empty statements refused");
        is_int(omapi_build_authenticator_open(1, "", &m), -EINVAL, "empty key name refused");
        ok(m == NULL, "ret untouched on failure");

        _cleanup_omapi_msg_ OmapiMsg *x = NULL;
        omapi_msg_new(OMAPI_OP_OPEN, 0, 1, &x);
        is_int(omapi_msg_append(x, OMAPI_LIST_MESSAGE, "", "v", 1), -EINVAL, "empty value name refused");
        char longer[OMAPI_MAX_NAME_LEN + 2];
        memset(longer, 'n', sizeof(longer) - 1);
        longer[sizeof(longer) - 1] = 0;
        is_int(omapi_msg_append(x, OMAPI_LIST_MESSAGE, longer, "v", 1), -EINVAL, "256-byte value name refused");
        static uint8_t big[OMAPI_MAX_VALUE_LEN + 1];
        is_int(omapi_msg_append(x, OMAPI_LIST_OBJECT, "v", big, sizeof(big)), -EINVAL, "oversized value refused");
        is_int(omapi_msg_append(x, (OmapiList)2, "v", "v", 1), -EINVAL, "bad list refused");
        int r = 0;
        for (unsigned i = 0; i < OMAPI_MAX_VALUES && r == 0; i++)
                r = omapi_msg_append_u32(x, OMAPI_LIST_OBJECT, "n", i);
        is_int(r, 0, "%u values accepted", OMAPI_MAX_VALUES);
        is_int(omapi_msg_append_u32(x, OMAPI_LIST_OBJECT, "n", 0), -E2BIG, "one value too many refused");

        _cleanup_omapi_key_ OmapiKey *k = NULL;
        omapi_key_new(TEST_KEY_NAME, TEST_KEY_SECRET, &k);
        uint8_t *out = NULL;
        size_t len;
        is_int(omapi_msg_encode(x, k, &out, &len), -EINVAL, "signed encode with authid 0 refused");
        omapi_msg_set_authid(x, 7);
        is_int(omapi_msg_encode(x, NULL, &out, &len), -EINVAL, "unsigned encode with authid refused");

        /* Eight maximal values exceed the 64 KiB message cap. */
        _cleanup_omapi_msg_ OmapiMsg *y = NULL;
        omapi_msg_new(OMAPI_OP_UPDATE, 0, 1, &y);
        for (int i = 0; i < 8; i++)
                omapi_msg_append(y, OMAPI_LIST_OBJECT, "v", big, OMAPI_MAX_VALUE_LEN);
        is_int(omapi_msg_encode(y, NULL, &out, &len), -E2BIG, "encode over the size cap refused");
        ok(out == NULL, "no output on failure");
}

/* Decode, check round trip back to the same bytes. */
static void check_roundtrip(const char *what, const uint8_t *buf, size_t len, const OmapiKey *key) {
        _cleanup_omapi_msg_ OmapiMsg *m = NULL;
        int r = omapi_msg_decode(buf, len, &m);
        is_int(r, 0, "%s: decodes", what);
        if (r < 0)
                return;
        size_t size = 0;
        is_int(omapi_msg_scan(buf, len, &size), 1, "%s: scan complete", what);
        is_int(size, len, "%s: scan size", what);
        is_int(omapi_msg_get_authid(m), be32(buf), "%s: authid", what);
        is_int(omapi_msg_get_op(m), be32(buf + 8), "%s: op", what);
        is_int(omapi_msg_get_handle(m), be32(buf + 12), "%s: handle", what);
        is_int(omapi_msg_get_id(m), be32(buf + 16), "%s: id", what);
        is_int(omapi_msg_get_rid(m), be32(buf + 20), "%s: rid", what);
        _cleanup_free_ uint8_t *out = NULL;
        size_t olen = 0;
        bool is_signed = omapi_msg_get_authlen(m) == 16;
        r = omapi_msg_encode(m, is_signed ? key : NULL, &out, &olen);
        is_int(r, 0, "%s: re-encodes", what);
        ok(r == 0 && olen == len && memcmp(out, buf, len) == 0, "%s: round trip gives the same bytes", what);
        if (is_signed) {
                const uint8_t *sig = NULL;
                is_int(omapi_msg_get_signature(m, &sig), 0, "%s: has signature", what);
                ok(sig && memcmp(sig, buf + len - 16, 16) == 0, "%s: signature kept", what);
        }
}

static void test_decode(const OmapiKey *key) {
        static const char *const files[] = {
                "open-host-probe1.hex",       "open-host-probe1-signed.hex",     "open-authenticator.hex",
                "delete-handle2-signed.hex",  "create-host-vm12-signed.hex",     "create-host-vm12-statements.hex",
                "open-host-mac-signed.hex",   "reply-authenticator-update.hex",  "reply-status-nokeys.hex",
                "reply-host-update-signed.hex", "reply-status-notfound-signed.hex", "reply-status-invalidkey.hex",
        };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ uint8_t *buf = NULL;
                size_t len = 0;
                if (read_hex(files[i], &buf, &len) < 0) {
                        ok(false, "%s: readable", files[i]);
                        continue;
                }
                check_roundtrip(files[i], buf, len, key);
        }

        _cleanup_free_ uint8_t *buf = NULL;
        size_t len = 0;
        _cleanup_omapi_msg_ OmapiMsg *m = NULL;
        if (read_hex("open-authenticator.hex", &buf, &len) == 0 && omapi_msg_decode(buf, len, &m) == 0) {
                is_int(omapi_msg_count(m, OMAPI_LIST_MESSAGE), 1, "authenticator: 1 message value");
                is_int(omapi_msg_count(m, OMAPI_LIST_OBJECT), 2, "authenticator: 2 object values");
                char s[64];
                is_int(omapi_msg_get_string(m, OMAPI_LIST_MESSAGE, "type", s, sizeof(s)), 0, "type present");
                is_str(s, "authenticator", "type = authenticator");
                is_int(omapi_msg_get_string(m, OMAPI_LIST_OBJECT, "algorithm", s, sizeof(s)), 0, "algorithm");
                is_str(s, OMAPI_ALGORITHM_HMAC_MD5, "algorithm name");
                is_int(omapi_msg_get_string(m, OMAPI_LIST_OBJECT, "algorithm", s, 10), -ENOBUFS,
                       "string too long for buffer");
                is_int(omapi_msg_get_string(m, OMAPI_LIST_OBJECT, "nope", s, sizeof(s)), -ENOENT, "absent value");
                uint32_t v;
                is_int(omapi_msg_get_u32(m, OMAPI_LIST_MESSAGE, "type", &v), -EBADMSG, "non-int as int");
                const char *name;
                size_t nlen, vlen;
                const uint8_t *val;
                is_int(omapi_msg_entry(m, OMAPI_LIST_OBJECT, 1, &name, &nlen, &val, &vlen), 0, "entry 1");
                ok(nlen == 9 && memcmp(name, "algorithm", 9) == 0 && vlen == 25, "entry 1 is algorithm");
                is_int(omapi_msg_entry(m, OMAPI_LIST_OBJECT, 2, NULL, NULL, NULL, NULL), -ENOENT, "entry 2 absent");
                const uint8_t *sig;
                is_int(omapi_msg_get_signature(m, &sig), -ENOKEY, "unsigned: no signature");
        } else
                ok(false, "open-authenticator.hex decodes");
}

static void test_replies(const OmapiKey *key) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len = 0;
        _cleanup_omapi_msg_ OmapiMsg *m = NULL;
        char text[128];
        uint32_t result;

        /* Captured: the authenticator OPEN's reply (H in the header handle). */
        if (read_hex("reply-authenticator-update.hex", &buf, &len) == 0 && omapi_msg_decode(buf, len, &m) == 0) {
                is_int(omapi_msg_get_op(m), OMAPI_OP_UPDATE, "auth reply: UPDATE");
                ok(omapi_msg_get_handle(m) != 0, "auth reply: handle set");
                is_int(omapi_msg_get_authlen(m), 0, "auth reply: unsigned");
                is_int(omapi_msg_verify(buf, len, key), -ENOKEY, "auth reply: verify says unsigned");
        } else
                ok(false, "reply-authenticator-update.hex");
        omapi_msg_free(TAKE_PTR(m));
        free(TAKE_PTR(buf));

        if (read_hex("reply-status-nokeys.hex", &buf, &len) == 0 && omapi_msg_decode(buf, len, &m) == 0) {
                is_int(omapi_status_from_msg(m, &result, text, sizeof(text)), 0, "nokeys: STATUS");
                is_int(result, OMAPI_STATUS_NOKEYS, "nokeys: result 393225");
                is_str(text, "No authenticator on message", "nokeys: message");
                OmapiHostInfo info;
                is_int(omapi_host_info_from_msg(m, &info), -EBADMSG, "nokeys: not a host object");
        } else
                ok(false, "reply-status-nokeys.hex");
        omapi_msg_free(TAKE_PTR(m));
        free(TAKE_PTR(buf));

        if (read_hex("reply-status-invalidkey.hex", &buf, &len) == 0 && omapi_msg_decode(buf, len, &m) == 0) {
                is_int(omapi_status_from_msg(m, &result, text, sizeof(text)), 0, "invalidkey: STATUS");
                is_int(result, OMAPI_STATUS_INVALIDKEY, "invalidkey: result 393227");
                is_int(omapi_msg_get_authlen(m), 0, "invalidkey: unsigned");
        } else
                ok(false, "reply-status-invalidkey.hex");
        omapi_msg_free(TAKE_PTR(m));
        free(TAKE_PTR(buf));

        if (read_hex("reply-status-notfound-signed.hex", &buf, &len) == 0 && omapi_msg_decode(buf, len, &m) == 0) {
                is_int(omapi_msg_verify(buf, len, key), 0, "notfound: dhcpd's signature verifies");
                is_int(omapi_status_from_msg(m, &result, text, sizeof(text)), 0, "notfound: STATUS");
                is_int(result, OMAPI_STATUS_NOTFOUND, "notfound: result 23");
        } else
                ok(false, "reply-status-notfound-signed.hex");
        omapi_msg_free(TAKE_PTR(m));
        free(TAKE_PTR(buf));

        if (read_hex("reply-host-update-signed.hex", &buf, &len) == 0 && omapi_msg_decode(buf, len, &m) == 0) {
                is_int(omapi_msg_verify(buf, len, key), 0, "host update: dhcpd's signature verifies");
                OmapiHostInfo info;
                is_int(omapi_host_info_from_msg(m, &info), 0, "host update: host info");
                is_str(info.name, "vm-12", "host update: name");
                static const uint8_t mac[6] = {0xde, 0xaf, 0xde, 0xaf, 0x64, 0x0c};
                ok(info.hw_addr_len == 6 && memcmp(info.hw_addr, mac, 6) == 0, "host update: MAC");
                is_int(info.hw_type, 1, "host update: hardware-type 1");
                char ip[INET_ADDRSTRLEN] = "";
                inet_ntop(AF_INET, &info.ip, ip, sizeof(ip));
                ok(info.has_ip, "host update: has ip");
                is_str(ip, "192.168.100.12", "host update: ip");
                ok(info.handle != 0, "host update: handle");
                is_int(omapi_status_from_msg(m, &result, NULL, 0), -EBADMSG, "host update: not a STATUS");

                /* Flip every byte: verify never accepts, decode never reads out of bounds. */
                int accepted = 0;
                for (size_t i = 4; i < len; i++) {
                        buf[i] ^= 0x01;
                        if (omapi_msg_verify(buf, len, key) == 0)
                                accepted++;
                        buf[i] ^= 0x01;
                }
                is_int(accepted, 0, "host update: no flipped byte 4..end verifies");
                buf[0] ^= 0x01;
                is_int(omapi_msg_verify(buf, len, key), 0, "host update: authid is not signed");
                buf[0] ^= 0x01;
        } else
                ok(false, "reply-host-update-signed.hex");
        omapi_msg_free(TAKE_PTR(m));
        free(TAKE_PTR(buf));

        /* An UPDATE with an empty object list (dhcpd's no-key quirk) is "not found". */
        omapi_msg_new(OMAPI_OP_UPDATE, 9, 1, &m);
        OmapiHostInfo info;
        is_int(omapi_host_info_from_msg(m, &info), -ENOENT, "empty UPDATE: not found");
        omapi_msg_append(m, OMAPI_LIST_OBJECT, "ip-address", "abc", 3);
        is_int(omapi_host_info_from_msg(m, &info), -EBADMSG, "3-byte ip-address refused");
        omapi_msg_free(TAKE_PTR(m));

        omapi_msg_new(OMAPI_OP_STATUS, 0, 1, &m);
        omapi_msg_append(m, OMAPI_LIST_MESSAGE, "result", "ab", 2);
        is_int(omapi_status_from_msg(m, &result, NULL, 0), -EBADMSG, "2-byte result refused");
        omapi_msg_free(TAKE_PTR(m));

        omapi_msg_new(OMAPI_OP_STATUS, 0, 1, &m);
        omapi_msg_append_u32(m, OMAPI_LIST_MESSAGE, "result", 18);
        omapi_msg_append(m, OMAPI_LIST_MESSAGE, "message", "a\0b", 3);
        text[0] = 'x';
        is_int(omapi_status_from_msg(m, &result, text, sizeof(text)), 0, "STATUS with NUL in message");
        is_str(text, "", "message with NUL dropped");
        is_int(omapi_msg_get_string(m, OMAPI_LIST_MESSAGE, "message", text, sizeof(text)), -EBADMSG,
               "string with NUL refused");
        omapi_msg_free(TAKE_PTR(m));
}

static int decode_rc(const uint8_t *buf, size_t len) {
        OmapiMsg *m = NULL;
        int r = omapi_msg_decode(buf, len, &m);
        omapi_msg_free(m);
        return r;
}

static void test_malformed(const OmapiKey *key) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len = 0;
        if (read_hex("open-host-probe1-signed.hex", &buf, &len) < 0) {
                ok(false, "open-host-probe1-signed.hex readable");
                return;
        }

        /* Truncation at every length: decode refuses, scan asks for more. */
        int bad_decode = 0, bad_scan = 0;
        for (size_t n = 0; n < len; n++) {
                size_t need = 0;
                if (decode_rc(buf, n) != -EBADMSG)
                        bad_decode++;
                if (omapi_msg_scan(buf, n, &need) != 0 || need <= n || need > len)
                        bad_scan++;
                if (omapi_msg_verify(buf, n, key) != -EBADMSG)
                        bad_decode++;
        }
        is_int(bad_decode, 0, "every truncation (incl. a truncated header) refused by decode and verify");
        is_int(bad_scan, 0, "every truncation: scan asks for more, never past the end");
        size_t need = 0;
        is_int(omapi_msg_scan(buf, 10, &need), 0, "truncated header: incomplete");
        is_int(need, 24, "truncated header: needs 24");

        /* Trailing bytes: scan frames the message, decode wants it exact. */
        uint8_t *more = malloc(len + 3);
        memcpy(more, buf, len);
        memset(more + len, 0xaa, 3);
        is_int(omapi_msg_scan(more, len + 3, &need), 1, "trailing bytes: scan complete");
        is_int(need, len, "trailing bytes: size of the first message");
        is_int(decode_rc(more, len + 3), -EBADMSG, "trailing bytes: decode refuses");
        free(more);

        /* authlen other than 0 or 16. */
        static const uint32_t authlens[] = {1, 15, 17, 32, 0xffffffffu};
        for (size_t i = 0; i < ELEMENTSOF(authlens); i++) {
                uint8_t save[4];
                memcpy(save, buf + 4, 4);
                put32(buf + 4, authlens[i]);
                is_int(decode_rc(buf, len), -EBADMSG, "authlen %u refused", authlens[i]);
                is_int(omapi_msg_scan(buf, len, &need), -EBADMSG, "authlen %u: scan refuses", authlens[i]);
                memcpy(buf + 4, save, 4);
        }
        /* authlen 0 on a buffer that has a signature: trailing bytes. */
        put32(buf + 4, 0);
        is_int(decode_rc(buf, len), -EBADMSG, "authlen 0 with 16 extra bytes refused");
        put32(buf + 4, 16);

        /* Bad signature. */
        is_int(omapi_msg_verify(buf, len, key), 0, "signed golden verifies");
        buf[len - 1] ^= 0x80;
        is_int(omapi_msg_verify(buf, len, key), -EKEYREJECTED, "bad signature refused");
        buf[len - 1] ^= 0x80;
        _cleanup_omapi_key_ OmapiKey *other = NULL;
        omapi_key_new(TEST_KEY_NAME, "b3RoZXIta2V5", &other);
        is_int(omapi_msg_verify(buf, len, other), -EKEYREJECTED, "wrong key refused");

        /* Value length past the end: "type"'s value length (offset 30). */
        static const uint32_t vlens[] = {5, 1000, OMAPI_MAX_VALUE_LEN, OMAPI_MAX_VALUE_LEN + 1, 0x7fffffffu,
                                         0xffffffffu};
        for (size_t i = 0; i < ELEMENTSOF(vlens); i++) {
                put32(buf + 30, vlens[i]);
                is_int(decode_rc(buf, len), -EBADMSG, "value length %u (wrong, past the end, over the cap) refused", vlens[i]);
        }
        put32(buf + 30, 4);
        /* Name length past the end / over the cap (offset 24). */
        buf[24] = 0x01;
        buf[25] = 0x00; /* 256 */
        is_int(decode_rc(buf, len), -EBADMSG, "name length 256 refused");
        is_int(omapi_msg_scan(buf, 26, &need), -EBADMSG, "name length 256: scan refuses early");
        buf[24] = 0x00;
        buf[25] = 0xff;
        is_int(decode_rc(buf, len), -EBADMSG, "name length 255 past end refused");
        buf[25] = 0x04;
        is_int(decode_rc(buf, len), 0, "restored message decodes");

        /* Too many values: OMAPI_MAX_VALUES is fine, one more is refused,
         * and scan refuses as soon as it sees the extra entry. */
        for (unsigned extra = 0; extra <= 1; extra++) {
                unsigned n = OMAPI_MAX_VALUES + extra;
                size_t sz = 24 + n * (2 + 1 + 4) + 2 + 2;
                _cleanup_free_ uint8_t *p = calloc(1, sz);
                put32(p + 8, OMAPI_OP_UPDATE);
                put32(p + 16, 1);
                uint8_t *q = p + 24;
                for (unsigned i = 0; i < n; i++) {
                        q[1] = 1;
                        q[2] = 'v';
                        q += 7; /* value length 0 */
                }
                q += 4; /* two terminators */
                ok((size_t)(q - p) == sz, "built %u-value message", n);
                is_int(decode_rc(p, sz), extra ? -EBADMSG : 0, "%u values %s", n, extra ? "refused" : "accepted");
                if (extra)
                        is_int(omapi_msg_scan(p, 24 + n * 7, &need), -EBADMSG, "too many values: scan refuses");
        }

        /* Total size over the cap: 8 maximal values; scan refuses from the
         * lengths alone, before the bytes arrive. */
        {
                size_t vsz = 2 + 1 + 4 + OMAPI_MAX_VALUE_LEN;
                size_t sz = 24 + 8 * vsz + 4;
                _cleanup_free_ uint8_t *p = calloc(1, sz);
                put32(p + 8, OMAPI_OP_UPDATE);
                for (int i = 0; i < 8; i++) {
                        uint8_t *q = p + 24 + (size_t)i * vsz;
                        q[1] = 1;
                        q[2] = 'v';
                        put32(q + 3, OMAPI_MAX_VALUE_LEN);
                }
                is_int(decode_rc(p, sz), -EBADMSG, "message over 64 KiB refused");
                is_int(omapi_msg_scan(p, 24 + 7 * vsz + 7, &need), -EBADMSG,
                       "message over 64 KiB: scan refuses from the header of the last value");
                size_t sz7 = 24 + 7 * vsz + 4;
                p[24 + 7 * vsz] = 0;
                p[24 + 7 * vsz + 1] = 0;
                p[24 + 7 * vsz + 2] = 0;
                p[24 + 7 * vsz + 3] = 0;
                is_int(decode_rc(p, sz7), 0, "7 maximal values (%zu bytes) accepted", sz7);
        }

        is_int(decode_rc(NULL, 0), -EBADMSG, "empty input refused");
        is_int(omapi_msg_verify(buf, len, NULL), -EINVAL, "verify without key refused");
}

int main(int argc, char **argv) {
        if (argc > 1)
                golden_dir = argv[1];
        const char *e = getenv("VMBATCH_REGENERATE");
        regenerate = e && streq(e, "1");

        _cleanup_omapi_key_ OmapiKey *key = NULL;
        if (omapi_key_new(TEST_KEY_NAME, TEST_KEY_SECRET, &key) < 0) {
                ok(false, "test key");
                return tap_done();
        }
        test_names();
        test_handshake();
        test_key();
        test_golden(key);
        test_builder_args();
        test_decode(key);
        test_replies(key);
        test_malformed(key);
        return tap_done();
}
