/* fuzz-omapi.c - libFuzzer target for the OMAPI decoder (untrusted bytes
 * from dhcpd's TCP port). Runs scan, decode, verify and the reply readers
 * on arbitrary input and checks that they agree with each other:
 *   - scan: complete => size <= len; incomplete => len < need <= cap;
 *   - decode succeeds exactly when scan frames the whole input;
 *   - a decoded message re-encodes to the same bytes (the signed part too);
 *   - verify accepts only what decodes as a signed message.
 * Seeds: tests/fuzz/corpus/omapi/. */
#include <stdio.h>

#include "net/omapi_msg.h"

#define CHECK(x)                                                                                                       \
        do {                                                                                                           \
                if (!(x)) {                                                                                            \
                        fprintf(stderr, "fuzz-omapi: check failed: %s (%s:%d)\n", #x, __FILE__, __LINE__);             \
                        abort();                                                                                       \
                }                                                                                                      \
        } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_everything(const OmapiMsg *m) {
        char buf[OMAPI_MAX_VALUE_LEN + 1];
        for (int l = 0; l < _OMAPI_LIST_MAX; l++) {
                size_t n = omapi_msg_count(m, (OmapiList)l);
                CHECK(n <= OMAPI_MAX_VALUES);
                for (size_t i = 0; i < n; i++) {
                        const char *name;
                        size_t name_len, value_len;
                        const uint8_t *value;
                        CHECK(omapi_msg_entry(m, (OmapiList)l, i, &name, &name_len, &value, &value_len) == 0);
                        CHECK(name_len >= 1 && name_len <= OMAPI_MAX_NAME_LEN && value_len <= OMAPI_MAX_VALUE_LEN);
                        volatile uint8_t sink = 0;
                        for (size_t j = 0; j < value_len; j++)
                                sink ^= value[j];
                        (void)sink;
                }
        }
        uint32_t v;
        (void)omapi_msg_get_u32(m, OMAPI_LIST_MESSAGE, "result", &v);
        (void)omapi_msg_get_string(m, OMAPI_LIST_MESSAGE, "message", buf, sizeof(buf));
        (void)omapi_msg_get_string(m, OMAPI_LIST_OBJECT, "name", buf, 8);
        OmapiHostInfo info;
        if (omapi_host_info_from_msg(m, &info) == 0) {
                CHECK(info.hw_addr_len <= OMAPI_HW_ADDR_MAX);
                CHECK(strlen(info.name) <= OMAPI_HOST_NAME_MAX);
        }
        char text[64];
        (void)omapi_status_from_msg(m, &v, text, sizeof(text));
        (void)omapi_status_name(v);
        (void)omapi_op_name(omapi_msg_get_op(m));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static OmapiKey *key;
        if (!key && omapi_key_new("omapi_key", "dm1iYXRjaC1vbWFwaS10ZXN0LWtleQ==", &key) < 0)
                abort();

        if (size >= OMAPI_HANDSHAKE_SIZE)
                (void)omapi_handshake_check(data);

        size_t need = 0;
        int scan = omapi_msg_scan(data, size, &need);
        CHECK(scan == 1 || scan == 0 || scan == -EBADMSG);
        if (scan == 1)
                CHECK(need >= OMAPI_HEADER_SIZE + 4 && need <= size && need <= OMAPI_MAX_MSG_SIZE);
        if (scan == 0)
                CHECK(need > size && need <= OMAPI_MAX_MSG_SIZE);

        OmapiMsg *m = NULL;
        int r = omapi_msg_decode(data, size, &m);
        CHECK(r == 0 || r == -EBADMSG);
        CHECK((r == 0) == (scan == 1 && need == size));

        int v = omapi_msg_verify(data, size, key);
        CHECK(v == 0 || v == -EBADMSG || v == -ENOKEY || v == -EKEYREJECTED);
        if (v == 0)
                CHECK(r == 0 && omapi_msg_get_authlen(m) == OMAPI_SIGNATURE_SIZE);

        if (r == 0) {
                read_everything(m);
                bool is_signed = omapi_msg_get_authlen(m) == OMAPI_SIGNATURE_SIZE;
                if (!is_signed)
                        CHECK(v == -ENOKEY);
                /* Re-encode: same bytes; a signed one gets our signature, so
                 * compare up to it and expect the same verdict. */
                uint8_t *out = NULL;
                size_t out_len = 0;
                int e = omapi_msg_encode(m, is_signed ? key : NULL, &out, &out_len);
                if (e == 0) {
                        CHECK(out_len == size);
                        if (is_signed) {
                                CHECK(memcmp(out, data, size - OMAPI_SIGNATURE_SIZE) == 0);
                                CHECK((memcmp(out + size - OMAPI_SIGNATURE_SIZE, data + size - OMAPI_SIGNATURE_SIZE,
                                              OMAPI_SIGNATURE_SIZE) == 0) == (v == 0));
                        } else
                                CHECK(memcmp(out, data, size) == 0);
                        free(out);
                } else
                        /* only inconsistent authid/authlen pairs cannot be re-encoded */
                        CHECK(e == -EINVAL && ((is_signed && omapi_msg_get_authid(m) == 0) ||
                                               (!is_signed && omapi_msg_get_authid(m) != 0)));
                omapi_msg_free(m);
        }

        /* A message followed by more bytes: the framed prefix decodes. */
        if (scan == 1 && need < size) {
                CHECK(omapi_msg_decode(data, need, &m) == 0);
                omapi_msg_free(m);
        }
        return 0;
}
