/* rpc.c - see rpc.h */
#include "cli/rpc.h"

#include "basic/frame.h"

int rpc_connect(const char *path, Error *err) {
        int fd = unix_connect(path);
        if (fd < 0) {
                const char *why = fd == -ENOENT || fd == -ECONNREFUSED ? " (is vmbatchd running?)" : "";
                return error_set(err, fd, "cannot reach vmbatchd at %s: %s%s", path, strerror(-fd), why);
        }
        return fd;
}

int rpc_response_data(const json_t *resp, json_t **ret_data, Error *err) {
        json_t *ok = json_object_get(resp, "ok");
        if (!json_is_object(resp) || !json_is_boolean(ok))
                return error_set(err, -EBADMSG, "malformed answer from vmbatchd");
        if (json_is_true(ok)) {
                json_t *data = json_object_get(resp, "data");
                *ret_data = data ? json_incref(data) : json_null();
                return 0;
        }
        json_t *e = json_object_get(resp, "error");
        const char *msg = json_string_value(json_object_get(e, "message"));
        const char *code = json_string_value(json_object_get(e, "code"));
        int r = code ? errno_from_name(code) : -EIO;
        return error_set(err, r, "%s", !isempty(msg) ? msg : code ? code : "request failed");
}

int rpc_call_fd(int fd, const json_t *request, json_t **ret_data, Error *err) {
        json_t *resp = NULL;
        int r = frame_send(fd, request);
        if (r < 0)
                return error_set(err, r, "cannot send request to vmbatchd: %s", strerror(-r));
        r = frame_recv(fd, &resp);
        if (r == -EPIPE)
                return error_set(err, r, "vmbatchd closed the connection without answering");
        if (r < 0)
                return error_set(err, r, "cannot read the answer of vmbatchd: %s", strerror(-r));
        r = rpc_response_data(resp, ret_data, err);
        json_decref(resp);
        return r;
}

int rpc_call(const char *path, const json_t *request, json_t **ret_data, Error *err) {
        _cleanup_close_ int fd = rpc_connect(path, err);
        if (fd < 0)
                return fd;
        return rpc_call_fd(fd, request, ret_data, err);
}
