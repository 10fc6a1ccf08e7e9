/* omapi_msg.h - ISC dhcpd OMAPI wire codec (pure: no I/O, no clock).
 *
 * A message is a 24-byte big-endian header (authid, authlen, op, handle,
 * id, rid), two name/value lists (message values, object values) of
 * `u16 name_len | name | u32 value_len | value` entries each ended by a zero
 * name length, and, when authlen is 16, an HMAC-MD5 signature over bytes
 * 4..end-of-lists (authid and the signature itself are not signed). A
 * connection starts with 8 bytes each way: version 100, header size 24.
 *
 * Everything here is a pure function of its inputs so the exact bytes can be
 * tested against golden files, and every parser of untrusted bytes
 * (omapi_msg_scan, omapi_msg_decode, omapi_msg_verify) is bounded by the
 * OMAPI_MAX_* caps below and returns -EBADMSG on anything malformed.
 *
 * All functions return 0 (or the documented non-negative value) or a
 * negative errno; ret_* out-parameters are set only on success. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/util.h"

#define OMAPI_PROTOCOL_VERSION 100u
#define OMAPI_HEADER_SIZE 24u
#define OMAPI_HANDSHAKE_SIZE 8u
#define OMAPI_SIGNATURE_SIZE 16u /* HMAC-MD5 */
#define OMAPI_DEFAULT_PORT 7911u

/* Caps applied when decoding (and when building, so that anything we send
 * our own decoder would accept). */
#define OMAPI_MAX_VALUES 64u        /* entries per list */
#define OMAPI_MAX_NAME_LEN 255u     /* bytes in one value name */
#define OMAPI_MAX_VALUE_LEN 8192u   /* bytes in one value */
#define OMAPI_MAX_MSG_SIZE 65536u   /* whole message incl. header and signature */
#define OMAPI_MAX_SECRET_LEN 512u   /* decoded key bytes */
#define OMAPI_MAX_KEY_NAME_LEN 255u

/* The authenticator algorithm name exactly as dhcpd wants it. */
#define OMAPI_ALGORITHM_HMAC_MD5 "hmac-md5.SIG-ALG.REG.INT."

/* Ethernet hardware type for the `hardware-type` attribute. */
#define OMAPI_HW_TYPE_ETHERNET 1u

/* Longest host name the builders accept (safe charset, see
 * omapi_host_name_is_valid). */
#define OMAPI_HOST_NAME_MAX 128u
#define OMAPI_HW_ADDR_MAX 16u

typedef enum OmapiOp {
        OMAPI_OP_OPEN = 1,
        OMAPI_OP_REFRESH = 2,
        OMAPI_OP_UPDATE = 3,
        OMAPI_OP_NOTIFY = 4,
        OMAPI_OP_STATUS = 5,
        OMAPI_OP_DELETE = 6,
        _OMAPI_OP_MAX,
        _OMAPI_OP_INVALID = -EINVAL,
} OmapiOp;

/* `result` codes seen in STATUS replies (ISC_R_* and DHCP_R_* = (6<<16)+n). */
typedef enum OmapiStatus {
        OMAPI_STATUS_SUCCESS = 0,
        OMAPI_STATUS_EXISTS = 18,
        OMAPI_STATUS_NOTFOUND = 23,
        OMAPI_STATUS_NOTIMPLEMENTED = 27,
        OMAPI_STATUS_INVALIDARG = 393219,
        OMAPI_STATUS_KEYCONFLICT = 393223,
        OMAPI_STATUS_BADPARSE = 393224,
        OMAPI_STATUS_NOKEYS = 393225,
        OMAPI_STATUS_KEY_UNKNOWN = 393226,
        OMAPI_STATUS_INVALIDKEY = 393227,
        OMAPI_STATUS_UNKNOWNATTRIBUTE = 393248,
} OmapiStatus;

typedef enum OmapiList {
        OMAPI_LIST_MESSAGE,
        OMAPI_LIST_OBJECT,
        _OMAPI_LIST_MAX,
        _OMAPI_LIST_INVALID = -EINVAL,
} OmapiList;

/* "OPEN", ... ; NULL for an unknown opcode. */
const char *omapi_op_name(uint32_t op);
/* "SUCCESS", "EXISTS", "INVALIDKEY", ... ; NULL for an unknown code. */
const char *omapi_status_name(uint32_t code);
/* The negative errno a status code stands for (-EEXIST, -ENOENT, -EACCES,
 * -EINVAL, ...; -EPROTO for codes we do not know; 0 for SUCCESS). */
int omapi_status_to_errno(uint32_t code);

/* ---- key ---------------------------------------------------------------- */

typedef struct OmapiKey OmapiKey;

/* name: the dhcpd `key` statement's name; secret_b64: its base64 `secret`.
 * -EINVAL for an empty/too long name or an empty/invalid/too long secret. */
int omapi_key_new(const char *name, const char *secret_b64, OmapiKey **ret);
/* Same with the raw secret bytes. */
int omapi_key_new_raw(const char *name, const void *secret, size_t secret_len, OmapiKey **ret);
void omapi_key_free(OmapiKey *key); /* wipes the secret; accepts NULL */
static inline void omapi_key_freep(OmapiKey **k) { omapi_key_free(*k); }
#define _cleanup_omapi_key_ _cleanup_(omapi_key_freep)
const char *omapi_key_name(const OmapiKey *key);

/* ---- message ------------------------------------------------------------ */

typedef struct OmapiMsg OmapiMsg;

int omapi_msg_new(uint32_t op, uint32_t handle, uint32_t id, OmapiMsg **ret);
void omapi_msg_free(OmapiMsg *m); /* accepts NULL */
static inline void omapi_msg_freep(OmapiMsg **m) { omapi_msg_free(*m); }
#define _cleanup_omapi_msg_ _cleanup_(omapi_msg_freep)

uint32_t omapi_msg_get_authid(const OmapiMsg *m);
uint32_t omapi_msg_get_authlen(const OmapiMsg *m); /* 0 or 16 (decoded messages) */
uint32_t omapi_msg_get_op(const OmapiMsg *m);
uint32_t omapi_msg_get_handle(const OmapiMsg *m);
uint32_t omapi_msg_get_id(const OmapiMsg *m);
uint32_t omapi_msg_get_rid(const OmapiMsg *m);
void omapi_msg_set_authid(OmapiMsg *m, uint32_t authid);
void omapi_msg_set_handle(OmapiMsg *m, uint32_t handle);
void omapi_msg_set_id(OmapiMsg *m, uint32_t id);
void omapi_msg_set_rid(OmapiMsg *m, uint32_t rid);
/* The 16 signature bytes of a decoded signed message; -ENOKEY if unsigned. */
int omapi_msg_get_signature(const OmapiMsg *m, const uint8_t **ret);

/* Append a value. name: 1..OMAPI_MAX_NAME_LEN bytes; len <= OMAPI_MAX_VALUE_LEN
 * (0 = null value); at most OMAPI_MAX_VALUES per list; -EINVAL / -E2BIG. */
int omapi_msg_append(OmapiMsg *m, OmapiList list, const char *name, const void *value, size_t len);
int omapi_msg_append_string(OmapiMsg *m, OmapiList list, const char *name, const char *s);
int omapi_msg_append_u32(OmapiMsg *m, OmapiList list, const char *name, uint32_t v);

size_t omapi_msg_count(const OmapiMsg *m, OmapiList list);
/* The i-th entry. The name is not NUL-terminated on the wire, hence the length. */
int omapi_msg_entry(const OmapiMsg *m, OmapiList list, size_t i, const char **ret_name,
                    size_t *ret_name_len, const uint8_t **ret_value, size_t *ret_value_len);
/* First entry named name: -ENOENT if absent. */
int omapi_msg_find(const OmapiMsg *m, OmapiList list, const char *name, const uint8_t **ret_value,
                   size_t *ret_len);
/* A 4-byte big-endian int value: -ENOENT absent, -EBADMSG not 4 bytes. */
int omapi_msg_get_u32(const OmapiMsg *m, OmapiList list, const char *name, uint32_t *ret);
/* A text value copied NUL-terminated into buf: -ENOENT absent, -EBADMSG if
 * it holds a NUL byte, -ENOBUFS if it does not fit. */
int omapi_msg_get_string(const OmapiMsg *m, OmapiList list, const char *name, char *buf, size_t size);

/* Encode. With key == NULL: an unsigned message, authid must be 0. With a
 * key: authlen 16, authid must be nonzero, signature appended. The caller
 * frees *ret. -EINVAL for an inconsistent authid, -E2BIG over the size cap. */
int omapi_msg_encode(const OmapiMsg *m, const OmapiKey *key, uint8_t **ret, size_t *ret_len);

/* Frame a message at the start of buf (untrusted, possibly incomplete):
 *   returns 1 and *ret_size = the message's total size (<= len) when complete;
 *   returns 0 and *ret_size = the total number of bytes needed before the
 *     scan can go further (> len) when incomplete;
 *   -EBADMSG when malformed or over a cap (authlen not 0/16, too many values,
 *     a name/value/message too long).
 * Bytes past the message are ignored. */
int omapi_msg_scan(const uint8_t *buf, size_t len, size_t *ret_size);
/* Decode exactly one message filling exactly len bytes; -EBADMSG otherwise.
 * The signature is not checked: see omapi_msg_verify. */
int omapi_msg_decode(const uint8_t *buf, size_t len, OmapiMsg **ret);
/* Check the HMAC of the single message in buf[0..len): 0 when it is valid;
 * -EBADMSG malformed, -ENOKEY unsigned (authlen 0), -EKEYREJECTED wrong
 * signature. Constant-time compare. */
int omapi_msg_verify(const uint8_t *buf, size_t len, const OmapiKey *key);

/* ---- connection start --------------------------------------------------- */

void omapi_handshake_encode(uint8_t out[OMAPI_HANDSHAKE_SIZE]);
/* The peer's 8 bytes: 0 if version 100 with header size 24; -EPROTO for
 * another version or a header size below 24; -EPROTONOSUPPORT for a larger
 * header size (dhcpd never sends one). */
int omapi_handshake_check(const uint8_t in[OMAPI_HANDSHAKE_SIZE]);

/* ---- recipes ------------------------------------------------------------ */

typedef struct OmapiHostSpec {
        const char *name;          /* see omapi_host_name_is_valid */
        uint8_t mac[6];            /* Ethernet */
        struct in_addr ip;         /* fixed-address, network byte order */
        const char *statements;    /* optional dhcpd config text, or NULL */
} OmapiHostSpec;

/* Host names we create: 1..OMAPI_HOST_NAME_MAX of [A-Za-z0-9._-]. */
bool omapi_host_name_is_valid(const char *name);

/* OPEN type=authenticator {name, algorithm=hmac-md5.SIG-ALG.REG.INT.}, unsigned. */
int omapi_build_authenticator_open(uint32_t id, const char *key_name, OmapiMsg **ret);
/* OPEN create=1 exclusive=1 type=host {name, hardware-address, hardware-type=1,
 * ip-address[, statements]}. */
int omapi_build_host_create(uint32_t id, const OmapiHostSpec *host, OmapiMsg **ret);
/* OPEN type=host {name}. */
int omapi_build_host_lookup_name(uint32_t id, const char *name, OmapiMsg **ret);
/* OPEN type=host {hardware-address, hardware-type=1}. */
int omapi_build_host_lookup_mac(uint32_t id, const uint8_t mac[6], OmapiMsg **ret);
/* DELETE of handle with two empty lists. */
int omapi_build_delete(uint32_t id, uint32_t handle, OmapiMsg **ret);

/* ---- reading replies ---------------------------------------------------- */

typedef struct OmapiHostInfo {
        uint32_t handle;
        char name[OMAPI_HOST_NAME_MAX + 1]; /* "" when absent */
        uint8_t hw_addr[OMAPI_HW_ADDR_MAX];
        size_t hw_addr_len;                 /* 0 when absent */
        uint32_t hw_type;                   /* 0 when absent */
        bool has_ip;
        struct in_addr ip;
} OmapiHostInfo;

/* The object of an UPDATE reply describing a host: -EBADMSG if it is not an
 * UPDATE, or a known attribute has a bad size; -ENOENT if the object list is
 * empty (dhcpd's "no key given" quirk). Unknown attributes are ignored. */
int omapi_host_info_from_msg(const OmapiMsg *m, OmapiHostInfo *ret);

/* A STATUS reply's `result` and optional `message` (copied into buf, "" when
 * absent or not text; buf may be NULL): -EBADMSG if not a STATUS or no
 * 4-byte `result`. */
int omapi_status_from_msg(const OmapiMsg *m, uint32_t *ret_result, char *buf, size_t size);
