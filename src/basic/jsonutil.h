/* jsonutil.h - small typed accessors over jansson objects, used to read RPC
 * arguments with one clear error per bad field. */
#pragma once

#include <jansson.h>

#include "basic/error.h"

/* Each getter: absent key -> -ENOENT (err untouched), wrong type or value
 * out of range -> -EINVAL with err naming the field. */
int json_get_string(const json_t *o, const char *key, const char **ret, Error *err);
int json_get_bool(const json_t *o, const char *key, bool *ret, Error *err);
int json_get_u64(const json_t *o, const char *key, uint64_t *ret, Error *err);
/* A reference (id or name): a JSON number or string. Exactly one of
 * *ret_id (>= 0) / *ret_name is filled in. */
int json_get_ref(const json_t *o, const char *key, int64_t *ret_id, const char **ret_name, Error *err);

/* Required variants: absent -> -EINVAL "missing <key>". */
int json_need_string(const json_t *o, const char *key, const char **ret, Error *err);
int json_need_u32(const json_t *o, const char *key, uint32_t *ret, Error *err);

/* Reject keys other than those listed (NULL-terminated). */
int json_check_keys(const json_t *o, const char *const *allowed, Error *err);

/* The protocol's error response {"ok": false, "error": {"code": "EPERM",
 * "message": ...}} for a negative errno (docs/protocol.md). */
json_t *json_error_response(int code, const char *fmt, ...) _printf_(2, 3);
