/* omapi_msg.c - ISC dhcpd OMAPI wire codec. See omapi_msg.h. */
#include "net/omapi_msg.h"

#include <nettle/base64.h>
#include <nettle/hmac.h>
#include <nettle/md5.h>

struct OmapiKey {
        char *name;
        uint8_t *secret;
        size_t secret_len;
};

typedef struct OmapiValue {
        uint8_t *data; /* name bytes followed by value bytes, one allocation */
        size_t name_len;
        size_t value_len;
} OmapiValue;

struct OmapiMsg {
        uint32_t authid, authlen, op, handle, id, rid;
        OmapiValue *values[_OMAPI_LIST_MAX];
        size_t n_values[_OMAPI_LIST_MAX];
        uint8_t signature[OMAPI_SIGNATURE_SIZE];
};

/* ---- names -------------------------------------------------------------- */

const char *omapi_op_name(uint32_t op) {
        static const char *const names[] = {
                [OMAPI_OP_OPEN] = "OPEN",     [OMAPI_OP_REFRESH] = "REFRESH",
                [OMAPI_OP_UPDATE] = "UPDATE", [OMAPI_OP_NOTIFY] = "NOTIFY",
                [OMAPI_OP_STATUS] = "STATUS", [OMAPI_OP_DELETE] = "DELETE",
        };
        if (op >= ELEMENTSOF(names))
                return NULL;
        return names[op];
}

static const struct {
        uint32_t code;
        const char *name;
        int errnum;
} status_table[] = {
        {OMAPI_STATUS_SUCCESS, "SUCCESS", 0},
        {OMAPI_STATUS_EXISTS, "EXISTS", -EEXIST},
        {OMAPI_STATUS_NOTFOUND, "NOTFOUND", -ENOENT},
        {OMAPI_STATUS_NOTIMPLEMENTED, "NOTIMPLEMENTED", -EOPNOTSUPP},
        {OMAPI_STATUS_INVALIDARG, "INVALIDARG", -EINVAL},
        {OMAPI_STATUS_KEYCONFLICT, "KEYCONFLICT", -EEXIST},
        {OMAPI_STATUS_BADPARSE, "BADPARSE", -EINVAL},
        {OMAPI_STATUS_NOKEYS, "NOKEYS", -EACCES},
        {OMAPI_STATUS_KEY_UNKNOWN, "KEY_UNKNOWN", -EACCES},
        {OMAPI_STATUS_INVALIDKEY, "INVALIDKEY", -EACCES},
        {OMAPI_STATUS_UNKNOWNATTRIBUTE, "UNKNOWNATTRIBUTE", -EINVAL},
};

const char *omapi_status_name(uint32_t code) {
        for (size_t i = 0; i < ELEMENTSOF(status_table); i++)
                if (status_table[i].code == code)
                        return status_table[i].name;
        return NULL;
}

int omapi_status_to_errno(uint32_t code) {
        for (size_t i = 0; i < ELEMENTSOF(status_table); i++)
                if (status_table[i].code == code)
                        return status_table[i].errnum;
        return -EPROTO;
}

/* ---- big-endian helpers ------------------------------------------------- */

static uint32_t get_be32(const uint8_t *p) {
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint16_t get_be16(const uint8_t *p) { return (uint16_t)((unsigned)p[0] << 8 | p[1]); }

static uint8_t *put_be32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
        return p + 4;
}

static uint8_t *put_be16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
        return p + 2;
}

/* ---- key ---------------------------------------------------------------- */

int omapi_key_new_raw(const char *name, const void *secret, size_t secret_len, OmapiKey **ret) {
        if (isempty(name) || strlen(name) > OMAPI_MAX_KEY_NAME_LEN)
                return -EINVAL;
        if (!secret || secret_len == 0 || secret_len > OMAPI_MAX_SECRET_LEN)
                return -EINVAL;

        OmapiKey *k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        k->name = strdup(name);
        k->secret = malloc(secret_len);
        if (!k->name || !k->secret) {
                omapi_key_free(k);
                return -ENOMEM;
        }
        memcpy(k->secret, secret, secret_len);
        k->secret_len = secret_len;
        *ret = k;
        return 0;
}

int omapi_key_new(const char *name, const char *secret_b64, OmapiKey **ret) {
        if (isempty(secret_b64))
                return -EINVAL;
        size_t in_len = strlen(secret_b64);
        if (in_len > OMAPI_MAX_SECRET_LEN * 2)
                return -EINVAL;

        uint8_t buf[BASE64_DECODE_LENGTH(OMAPI_MAX_SECRET_LEN * 2)];
        size_t out_len = sizeof(buf);
        struct base64_decode_ctx ctx;
        base64_decode_init(&ctx);
        int r;
        if (!base64_decode_update(&ctx, &out_len, buf, in_len, secret_b64) || !base64_decode_final(&ctx))
                r = -EINVAL;
        else
                r = omapi_key_new_raw(name, buf, out_len, ret);
        explicit_bzero(buf, sizeof(buf));
        return r;
}

void omapi_key_free(OmapiKey *key) {
        if (!key)
                return;
        if (key->secret)
                explicit_bzero(key->secret, key->secret_len);
        free(key->secret);
        free(key->name);
        free(key);
}

const char *omapi_key_name(const OmapiKey *key) { return key->name; }

static void hmac(const OmapiKey *key, const uint8_t *data, size_t len, uint8_t out[OMAPI_SIGNATURE_SIZE]) {
        struct hmac_md5_ctx ctx;
        hmac_md5_set_key(&ctx, key->secret_len, key->secret);
        hmac_md5_update(&ctx, len, data);
        hmac_md5_digest(&ctx, OMAPI_SIGNATURE_SIZE, out);
        explicit_bzero(&ctx, sizeof(ctx));
}

/* ---- message ------------------------------------------------------------ */

int omapi_msg_new(uint32_t op, uint32_t handle, uint32_t id, OmapiMsg **ret) {
        OmapiMsg *m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->op = op;
        m->handle = handle;
        m->id = id;
        *ret = m;
        return 0;
}

void omapi_msg_free(OmapiMsg *m) {
        if (!m)
                return;
        for (int l = 0; l < _OMAPI_LIST_MAX; l++) {
                for (size_t i = 0; i < m->n_values[l]; i++)
                        free(m->values[l][i].data);
                free(m->values[l]);
        }
        free(m);
}

uint32_t omapi_msg_get_authid(const OmapiMsg *m) { return m->authid; }
uint32_t omapi_msg_get_authlen(const OmapiMsg *m) { return m->authlen; }
uint32_t omapi_msg_get_op(const OmapiMsg *m) { return m->op; }
uint32_t omapi_msg_get_handle(const OmapiMsg *m) { return m->handle; }
uint32_t omapi_msg_get_id(const OmapiMsg *m) { return m->id; }
uint32_t omapi_msg_get_rid(const OmapiMsg *m) { return m->rid; }
void omapi_msg_set_authid(OmapiMsg *m, uint32_t authid) { m->authid = authid; }
void omapi_msg_set_handle(OmapiMsg *m, uint32_t handle) { m->handle = handle; }
void omapi_msg_set_id(OmapiMsg *m, uint32_t id) { m->id = id; }
void omapi_msg_set_rid(OmapiMsg *m, uint32_t rid) { m->rid = rid; }

int omapi_msg_get_signature(const OmapiMsg *m, const uint8_t **ret) {
        if (m->authlen != OMAPI_SIGNATURE_SIZE)
                return -ENOKEY;
        *ret = m->signature;
        return 0;
}

static bool list_ok(OmapiList list) { return list >= 0 && list < _OMAPI_LIST_MAX; }

static int append_raw(OmapiMsg *m, OmapiList list, const void *name, size_t name_len, const void *value,
                      size_t len) {
        if (!list_ok(list))
                return -EINVAL;
        if (name_len == 0 || name_len > OMAPI_MAX_NAME_LEN)
                return -EINVAL;
        if (len > OMAPI_MAX_VALUE_LEN || (len > 0 && !value))
                return -EINVAL;
        if (m->n_values[list] >= OMAPI_MAX_VALUES)
                return -E2BIG;

        OmapiValue *v = realloc(m->values[list], (m->n_values[list] + 1) * sizeof(OmapiValue));
        if (!v)
                return -ENOMEM;
        m->values[list] = v;
        uint8_t *data = malloc(name_len + len);
        if (!data)
                return -ENOMEM;
        memcpy(data, name, name_len);
        if (len > 0)
                memcpy(data + name_len, value, len);
        v[m->n_values[list]++] = (OmapiValue){.data = data, .name_len = name_len, .value_len = len};
        return 0;
}

int omapi_msg_append(OmapiMsg *m, OmapiList list, const char *name, const void *value, size_t len) {
        if (!name)
                return -EINVAL;
        return append_raw(m, list, name, strlen(name), value, len);
}

int omapi_msg_append_string(OmapiMsg *m, OmapiList list, const char *name, const char *s) {
        if (!s)
                return -EINVAL;
        return omapi_msg_append(m, list, name, s, strlen(s));
}

int omapi_msg_append_u32(OmapiMsg *m, OmapiList list, const char *name, uint32_t v) {
        uint8_t b[4];
        put_be32(b, v);
        return omapi_msg_append(m, list, name, b, sizeof(b));
}

size_t omapi_msg_count(const OmapiMsg *m, OmapiList list) { return list_ok(list) ? m->n_values[list] : 0; }

int omapi_msg_entry(const OmapiMsg *m, OmapiList list, size_t i, const char **ret_name, size_t *ret_name_len,
                    const uint8_t **ret_value, size_t *ret_value_len) {
        if (!list_ok(list) || i >= m->n_values[list])
                return -ENOENT;
        const OmapiValue *v = &m->values[list][i];
        if (ret_name)
                *ret_name = (const char *)v->data;
        if (ret_name_len)
                *ret_name_len = v->name_len;
        if (ret_value)
                *ret_value = v->data + v->name_len;
        if (ret_value_len)
                *ret_value_len = v->value_len;
        return 0;
}

int omapi_msg_find(const OmapiMsg *m, OmapiList list, const char *name, const uint8_t **ret_value,
                   size_t *ret_len) {
        if (!list_ok(list) || !name)
                return -EINVAL;
        size_t n = strlen(name);
        for (size_t i = 0; i < m->n_values[list]; i++) {
                const OmapiValue *v = &m->values[list][i];
                if (v->name_len == n && memcmp(v->data, name, n) == 0) {
                        if (ret_value)
                                *ret_value = v->data + v->name_len;
                        if (ret_len)
                                *ret_len = v->value_len;
                        return 0;
                }
        }
        return -ENOENT;
}

int omapi_msg_get_u32(const OmapiMsg *m, OmapiList list, const char *name, uint32_t *ret) {
        const uint8_t *v;
        size_t len;
        int r = omapi_msg_find(m, list, name, &v, &len);
        if (r < 0)
                return r;
        if (len != 4)
                return -EBADMSG;
        *ret = get_be32(v);
        return 0;
}

int omapi_msg_get_string(const OmapiMsg *m, OmapiList list, const char *name, char *buf, size_t size) {
        const uint8_t *v;
        size_t len;
        int r = omapi_msg_find(m, list, name, &v, &len);
        if (r < 0)
                return r;
        if (len > 0 && memchr(v, 0, len))
                return -EBADMSG;
        if (len >= size)
                return -ENOBUFS;
        if (len > 0)
                memcpy(buf, v, len);
        buf[len] = 0;
        return 0;
}

/* ---- encode ------------------------------------------------------------- */

static size_t lists_size(const OmapiMsg *m) {
        size_t n = 0;
        for (int l = 0; l < _OMAPI_LIST_MAX; l++) {
                for (size_t i = 0; i < m->n_values[l]; i++)
                        n += 2 + m->values[l][i].name_len + 4 + m->values[l][i].value_len;
                n += 2;
        }
        return n;
}

int omapi_msg_encode(const OmapiMsg *m, const OmapiKey *key, uint8_t **ret, size_t *ret_len) {
        if (key ? m->authid == 0 : m->authid != 0)
                return -EINVAL;
        /* Appends are capped, so this cannot overflow: 2 * 64 * (2+255+4+8192). */
        size_t authlen = key ? OMAPI_SIGNATURE_SIZE : 0;
        size_t total = OMAPI_HEADER_SIZE + lists_size(m) + authlen;
        if (total > OMAPI_MAX_MSG_SIZE)
                return -E2BIG;

        uint8_t *buf = malloc(total), *p = buf;
        if (!buf)
                return -ENOMEM;
        p = put_be32(p, m->authid);
        p = put_be32(p, (uint32_t)authlen);
        p = put_be32(p, m->op);
        p = put_be32(p, m->handle);
        p = put_be32(p, m->id);
        p = put_be32(p, m->rid);
        for (int l = 0; l < _OMAPI_LIST_MAX; l++) {
                for (size_t i = 0; i < m->n_values[l]; i++) {
                        const OmapiValue *v = &m->values[l][i];
                        p = put_be16(p, (uint16_t)v->name_len);
                        memcpy(p, v->data, v->name_len);
                        p += v->name_len;
                        p = put_be32(p, (uint32_t)v->value_len);
                        if (v->value_len > 0)
                                memcpy(p, v->data + v->name_len, v->value_len);
                        p += v->value_len;
                }
                p = put_be16(p, 0);
        }
        if (key) {
                hmac(key, buf + 4, (size_t)(p - buf) - 4, p);
                p += OMAPI_SIGNATURE_SIZE;
        }
        *ret = buf;
        *ret_len = total;
        return 0;
}

/* ---- scan / decode / verify --------------------------------------------- */

/* Walk the message. For each entry calls cb (if set). Returns as
 * omapi_msg_scan; *ret_lists_end is the offset just past the object list's
 * terminator (valid when 1 is returned). */
typedef int (*entry_cb)(void *userdata, OmapiList list, const uint8_t *name, size_t name_len,
                        const uint8_t *value, size_t value_len);

static int walk(const uint8_t *buf, size_t len, size_t *ret_size, size_t *ret_lists_end, entry_cb cb,
                void *userdata) {
        if (!buf && len > 0)
                return -EINVAL;
        if (len < OMAPI_HEADER_SIZE) {
                *ret_size = OMAPI_HEADER_SIZE;
                return 0;
        }
        uint32_t authlen = get_be32(buf + 4);
        if (authlen != 0 && authlen != OMAPI_SIGNATURE_SIZE)
                return -EBADMSG;

        size_t off = OMAPI_HEADER_SIZE;
        for (int l = 0; l < _OMAPI_LIST_MAX; l++) {
                for (size_t count = 0;; count++) {
                        /* The limits keep off bounded: each step adds at most
                         * 2 + 255 + 4 + 8192 and off is checked against the cap. */
                        if (off + 2 > len) {
                                *ret_size = off + 2;
                                return 0;
                        }
                        size_t name_len = get_be16(buf + off);
                        if (name_len == 0) {
                                off += 2;
                                break;
                        }
                        if (count >= OMAPI_MAX_VALUES || name_len > OMAPI_MAX_NAME_LEN)
                                return -EBADMSG;
                        size_t name_off = off + 2;
                        if (name_off + name_len + 4 > OMAPI_MAX_MSG_SIZE)
                                return -EBADMSG;
                        if (name_off + name_len + 4 > len) {
                                *ret_size = name_off + name_len + 4;
                                return 0;
                        }
                        uint32_t value_len = get_be32(buf + name_off + name_len);
                        if (value_len > OMAPI_MAX_VALUE_LEN)
                                return -EBADMSG;
                        size_t value_off = name_off + name_len + 4;
                        size_t end = value_off + value_len;
                        /* The list terminators and signature still have to fit. */
                        if (end + 2 * (size_t)(_OMAPI_LIST_MAX - l) + authlen > OMAPI_MAX_MSG_SIZE)
                                return -EBADMSG;
                        if (end > len) {
                                *ret_size = end;
                                return 0;
                        }
                        if (cb) {
                                int r = cb(userdata, (OmapiList)l, buf + name_off, name_len, buf + value_off,
                                           value_len);
                                if (r < 0)
                                        return r;
                        }
                        off = end;
                }
        }
        size_t total = off + authlen;
        if (total > OMAPI_MAX_MSG_SIZE)
                return -EBADMSG;
        if (total > len) {
                *ret_size = total;
                return 0;
        }
        *ret_size = total;
        if (ret_lists_end)
                *ret_lists_end = off;
        return 1;
}

int omapi_msg_scan(const uint8_t *buf, size_t len, size_t *ret_size) {
        size_t size;
        int r = walk(buf, len, &size, NULL, NULL, NULL);
        if (r < 0)
                return r;
        *ret_size = size;
        return r;
}

static int decode_entry(void *userdata, OmapiList list, const uint8_t *name, size_t name_len,
                        const uint8_t *value, size_t value_len) {
        return append_raw(userdata, list, name, name_len, value, value_len);
}

int omapi_msg_decode(const uint8_t *buf, size_t len, OmapiMsg **ret) {
        size_t size;
        int r = walk(buf, len, &size, NULL, NULL, NULL);
        if (r < 0)
                return r;
        if (r == 0 || size != len)
                return -EBADMSG;

        _cleanup_omapi_msg_ OmapiMsg *m = NULL;
        r = omapi_msg_new(get_be32(buf + 8), get_be32(buf + 12), get_be32(buf + 16), &m);
        if (r < 0)
                return r;
        m->authid = get_be32(buf);
        m->authlen = get_be32(buf + 4);
        m->rid = get_be32(buf + 20);
        size_t lists_end;
        r = walk(buf, len, &size, &lists_end, decode_entry, m);
        if (r < 0)
                return r;
        if (m->authlen > 0)
                memcpy(m->signature, buf + lists_end, OMAPI_SIGNATURE_SIZE);
        *ret = TAKE_PTR(m);
        return 0;
}

int omapi_msg_verify(const uint8_t *buf, size_t len, const OmapiKey *key) {
        if (!key)
                return -EINVAL;
        size_t size, lists_end;
        int r = walk(buf, len, &size, &lists_end, NULL, NULL);
        if (r < 0)
                return r;
        if (r == 0 || size != len)
                return -EBADMSG;
        if (lists_end == size)
                return -ENOKEY;

        uint8_t want[OMAPI_SIGNATURE_SIZE];
        hmac(key, buf + 4, lists_end - 4, want);
        uint8_t diff = 0;
        for (size_t i = 0; i < OMAPI_SIGNATURE_SIZE; i++)
                diff |= (uint8_t)(want[i] ^ buf[lists_end + i]);
        return diff == 0 ? 0 : -EKEYREJECTED;
}

/* ---- handshake ---------------------------------------------------------- */

void omapi_handshake_encode(uint8_t out[OMAPI_HANDSHAKE_SIZE]) {
        put_be32(put_be32(out, OMAPI_PROTOCOL_VERSION), OMAPI_HEADER_SIZE);
}

int omapi_handshake_check(const uint8_t in[OMAPI_HANDSHAKE_SIZE]) {
        uint32_t version = get_be32(in), header_size = get_be32(in + 4);
        if (version != OMAPI_PROTOCOL_VERSION || header_size < OMAPI_HEADER_SIZE)
                return -EPROTO;
        if (header_size != OMAPI_HEADER_SIZE)
                return -EPROTONOSUPPORT;
        return 0;
}

/* ---- recipes ------------------------------------------------------------ */

bool omapi_host_name_is_valid(const char *name) {
        if (isempty(name))
                return false;
        size_t n = 0;
        for (const char *p = name; *p; p++, n++) {
                char c = *p;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '-' || c == '_'))
                        return false;
        }
        return n <= OMAPI_HOST_NAME_MAX;
}

static int new_open(uint32_t id, const char *type, OmapiMsg **ret) {
        if (id == 0)
                return -EINVAL;
        _cleanup_omapi_msg_ OmapiMsg *m = NULL;
        int r;
        if ((r = omapi_msg_new(OMAPI_OP_OPEN, 0, id, &m)) < 0 ||
            (r = omapi_msg_append_string(m, OMAPI_LIST_MESSAGE, "type", type)) < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

int omapi_build_authenticator_open(uint32_t id, const char *key_name, OmapiMsg **ret) {
        if (isempty(key_name) || strlen(key_name) > OMAPI_MAX_KEY_NAME_LEN)
                return -EINVAL;
        _cleanup_omapi_msg_ OmapiMsg *m = NULL;
        int r;
        if ((r = new_open(id, "authenticator", &m)) < 0 ||
            (r = omapi_msg_append_string(m, OMAPI_LIST_OBJECT, "name", key_name)) < 0 ||
            (r = omapi_msg_append_string(m, OMAPI_LIST_OBJECT, "algorithm", OMAPI_ALGORITHM_HMAC_MD5)) < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

int omapi_build_host_create(uint32_t id, const OmapiHostSpec *host, OmapiMsg **ret) {
        if (!host || !omapi_host_name_is_valid(host->name))
                return -EINVAL;
        if (host->statements && (!*host->statements || strlen(host->statements) > OMAPI_MAX_VALUE_LEN))
                return -EINVAL;
        if (id == 0)
                return -EINVAL;
        _cleanup_omapi_msg_ OmapiMsg *m = NULL;
        int r = omapi_msg_new(OMAPI_OP_OPEN, 0, id, &m);
        if (r < 0)
                return r;
        /* Same order as omshell's "create": create, exclusive, type. */
        if ((r = omapi_msg_append_u32(m, OMAPI_LIST_MESSAGE, "create", 1)) < 0 ||
            (r = omapi_msg_append_u32(m, OMAPI_LIST_MESSAGE, "exclusive", 1)) < 0 ||
            (r = omapi_msg_append_string(m, OMAPI_LIST_MESSAGE, "type", "host")) < 0 ||
            (r = omapi_msg_append_string(m, OMAPI_LIST_OBJECT, "name", host->name)) < 0 ||
            (r = omapi_msg_append(m, OMAPI_LIST_OBJECT, "hardware-address", host->mac, 6)) < 0 ||
            (r = omapi_msg_append_u32(m, OMAPI_LIST_OBJECT, "hardware-type", OMAPI_HW_TYPE_ETHERNET)) < 0 ||
            (r = omapi_msg_append(m, OMAPI_LIST_OBJECT, "ip-address", &host->ip.s_addr, 4)) < 0)
                return r;
        if (host->statements) {
                r = omapi_msg_append_string(m, OMAPI_LIST_OBJECT, "statements", host->statements);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

int omapi_build_host_lookup_name(uint32_t id, const char *name, OmapiMsg **ret) {
        if (!omapi_host_name_is_valid(name))
                return -EINVAL;
        _cleanup_omapi_msg_ OmapiMsg *m = NULL;
        int r;
        if ((r = new_open(id, "host", &m)) < 0 || (r = omapi_msg_append_string(m, OMAPI_LIST_OBJECT, "name", name)) < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

int omapi_build_host_lookup_mac(uint32_t id, const uint8_t mac[6], OmapiMsg **ret) {
        if (!mac)
                return -EINVAL;
        _cleanup_omapi_msg_ OmapiMsg *m = NULL;
        int r;
        if ((r = new_open(id, "host", &m)) < 0 ||
            (r = omapi_msg_append(m, OMAPI_LIST_OBJECT, "hardware-address", mac, 6)) < 0 ||
            (r = omapi_msg_append_u32(m, OMAPI_LIST_OBJECT, "hardware-type", OMAPI_HW_TYPE_ETHERNET)) < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

int omapi_build_delete(uint32_t id, uint32_t handle, OmapiMsg **ret) {
        if (id == 0 || handle == 0)
                return -EINVAL;
        return omapi_msg_new(OMAPI_OP_DELETE, handle, id, ret);
}

/* ---- reading replies ---------------------------------------------------- */

int omapi_host_info_from_msg(const OmapiMsg *m, OmapiHostInfo *ret) {
        if (m->op != OMAPI_OP_UPDATE)
                return -EBADMSG;
        if (m->n_values[OMAPI_LIST_OBJECT] == 0)
                return -ENOENT;

        OmapiHostInfo info = {.handle = m->handle};
        const uint8_t *v;
        size_t len;
        int r = omapi_msg_get_string(m, OMAPI_LIST_OBJECT, "name", info.name, sizeof(info.name));
        if (r < 0 && r != -ENOENT)
                return -EBADMSG;
        r = omapi_msg_find(m, OMAPI_LIST_OBJECT, "hardware-address", &v, &len);
        if (r == 0) {
                if (len > OMAPI_HW_ADDR_MAX)
                        return -EBADMSG;
                if (len > 0)
                        memcpy(info.hw_addr, v, len);
                info.hw_addr_len = len;
        }
        r = omapi_msg_get_u32(m, OMAPI_LIST_OBJECT, "hardware-type", &info.hw_type);
        if (r < 0 && r != -ENOENT)
                return -EBADMSG;
        r = omapi_msg_find(m, OMAPI_LIST_OBJECT, "ip-address", &v, &len);
        if (r == 0) {
                if (len != 4)
                        return -EBADMSG;
                memcpy(&info.ip.s_addr, v, 4);
                info.has_ip = true;
        }
        *ret = info;
        return 0;
}

int omapi_status_from_msg(const OmapiMsg *m, uint32_t *ret_result, char *buf, size_t size) {
        if (m->op != OMAPI_OP_STATUS)
                return -EBADMSG;
        uint32_t result;
        if (omapi_msg_get_u32(m, OMAPI_LIST_MESSAGE, "result", &result) < 0)
                return -EBADMSG;
        if (buf && size > 0 && omapi_msg_get_string(m, OMAPI_LIST_MESSAGE, "message", buf, size) < 0)
                buf[0] = 0;
        *ret_result = result;
        return 0;
}
