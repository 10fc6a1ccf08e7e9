/* munge_seal.c - see munge_seal.h. munged is reached through its unix
 * socket (the library's default path), also from other network
 * namespaces. */
#include "net/munge_seal.h"

#include <munge.h>

int munge_seal(const json_t *msg, json_t **ret, Error *err) {
        char *text = json_dumps(msg, JSON_COMPACT);
        if (!text)
                return error_set(err, -ENOMEM, "cannot encode the message");
        /* only root decodes it: on the receiving host no other user can
         * read the message, or pass it on as their own */
        munge_ctx_t ctx = munge_ctx_create();
        if (!ctx) {
                free(text);
                return error_set(err, -ENOMEM, "munge: cannot make a context");
        }
        char *cred = NULL;
        munge_err_t e = munge_ctx_set(ctx, MUNGE_OPT_UID_RESTRICTION, (uid_t)0);
        if (e == EMUNGE_SUCCESS)
                e = munge_encode(&cred, ctx, text, (int)strlen(text));
        munge_ctx_destroy(ctx);
        free(text);
        if (e != EMUNGE_SUCCESS) {
                free(cred);
                return error_set(err, -EACCES, "munge: %s", munge_strerror(e));
        }
        *ret = json_pack("{s:s}", "munge", cred);
        free(cred);
        return *ret ? 0 : error_set(err, -ENOMEM, "cannot encode the message");
}

int munge_open(const json_t *sealed, json_t **ret_msg, uid_t *ret_uid, Error *err) {
        const char *cred = json_string_value(json_object_get(sealed, "munge"));
        if (!cred)
                return error_set(err, -EACCES, "message is not sealed with munge");
        void *payload = NULL;
        int len = 0;
        uid_t uid;
        gid_t gid;
        munge_err_t e = munge_decode(cred, NULL, &payload, &len, &uid, &gid);
        if (e != EMUNGE_SUCCESS) {
                free(payload);
                return error_set(err, -EACCES, "munge: %s", munge_strerror(e));
        }
        json_error_t je;
        json_t *msg = payload ? json_loadb(payload, (size_t)len, 0, &je) : NULL;
        free(payload);
        if (!json_is_object(msg)) {
                json_decref(msg);
                return error_set(err, -EBADMSG, "sealed message is not a JSON object");
        }
        *ret_msg = msg;
        *ret_uid = uid;
        return 0;
}

int munge_open_root(const json_t *sealed, json_t **ret_msg, Error *err) {
        uid_t uid;
        int r = munge_open(sealed, ret_msg, &uid, err);
        if (r < 0)
                return r;
        if (uid != 0) {
                json_decref(*ret_msg);
                *ret_msg = NULL;
                return error_set(err, -EACCES, "message sealed by uid %u, not root", (unsigned)uid);
        }
        return 0;
}
