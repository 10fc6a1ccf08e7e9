#include "basic/jsonutil.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>

int json_get_string(const json_t *o, const char *key, const char **ret, Error *err) {
        json_t *v = json_object_get(o, key);
        if (!v || json_is_null(v))
                return -ENOENT;
        if (!json_is_string(v))
                return error_set(err, -EINVAL, "%s must be a string", key);
        const char *s = json_string_value(v);
        if (strlen(s) != json_string_length(v))
                return error_set(err, -EINVAL, "%s contains a NUL byte", key);
        *ret = s;
        return 0;
}

int json_need_string(const json_t *o, const char *key, const char **ret, Error *err) {
        int r = json_get_string(o, key, ret, err);
        if (r == -ENOENT)
                return error_set(err, -EINVAL, "missing %s", key);
        return r;
}

int json_get_bool(const json_t *o, const char *key, bool *ret, Error *err) {
        json_t *v = json_object_get(o, key);
        if (!v || json_is_null(v))
                return -ENOENT;
        if (!json_is_boolean(v))
                return error_set(err, -EINVAL, "%s must be true or false", key);
        *ret = json_is_true(v);
        return 0;
}

int json_get_u64(const json_t *o, const char *key, uint64_t *ret, Error *err) {
        json_t *v = json_object_get(o, key);
        if (!v || json_is_null(v))
                return -ENOENT;
        if (!json_is_integer(v) || json_integer_value(v) < 0)
                return error_set(err, -EINVAL, "%s must be a non-negative integer", key);
        *ret = (uint64_t)json_integer_value(v);
        return 0;
}

int json_need_u32(const json_t *o, const char *key, uint32_t *ret, Error *err) {
        uint64_t v;
        int r = json_get_u64(o, key, &v, err);
        if (r == -ENOENT)
                return error_set(err, -EINVAL, "missing %s", key);
        if (r >= 0 && v > UINT32_MAX)
                return error_set(err, -EINVAL, "%s %llu is out of range", key, (unsigned long long)v);
        if (r >= 0)
                *ret = (uint32_t)v;
        return r;
}

int json_get_ref(const json_t *o, const char *key, int64_t *ret_id, const char **ret_name, Error *err) {
        json_t *v = json_object_get(o, key);
        *ret_id = -1;
        *ret_name = NULL;
        if (!v || json_is_null(v))
                return -ENOENT;
        if (json_is_integer(v)) {
                if (json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
                        return error_set(err, -EINVAL, "%s: id %" JSON_INTEGER_FORMAT " out of range", key,
                                         json_integer_value(v));
                *ret_id = json_integer_value(v);
                return 0;
        }
        if (!json_is_string(v) || json_string_length(v) == 0)
                return error_set(err, -EINVAL, "%s must be an id or a name", key);
        const char *s = json_string_value(v);
        if (strlen(s) != json_string_length(v))
                return error_set(err, -EINVAL, "%s contains a NUL byte", key);
        /* an all-digit string is an id */
        bool digits = true;
        for (const char *p = s; *p; p++)
                if (!isdigit((unsigned char)*p))
                        digits = false;
        if (digits) {
                uint32_t id;
                if (parse_u32(s, &id) < 0)
                        return error_set(err, -EINVAL, "%s: id '%s' out of range", key, s);
                *ret_id = id;
                return 0;
        }
        *ret_name = s;
        return 0;
}

int json_check_keys(const json_t *o, const char *const *allowed, Error *err) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)o, key, v) {
                bool ok = false;
                for (size_t i = 0; allowed[i]; i++)
                        if (streq(allowed[i], key))
                                ok = true;
                if (!ok)
                        return error_set(err, -EINVAL, "unknown argument '%s'", key);
        }
        return 0;
}

json_t *json_error_response(int code, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        json_t *r = json_pack("{s:b, s:{s:s, s:s}}", "ok", false, "error", "code", errno_name(code), "message", msg);
        free(msg);
        return r;
}
