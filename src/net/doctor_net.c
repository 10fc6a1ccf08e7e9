/* doctor_net.c - see doctor_net.h. */
#include "net/doctor_net.h"

#include <munge.h>

#include "net/munge_seal.h"

char *doctor_munge_socket(void) {
        munge_ctx_t ctx = munge_ctx_create();
        char *path = NULL, *ret = NULL;
        if (ctx && munge_ctx_get(ctx, MUNGE_OPT_SOCKET, &path) == EMUNGE_SUCCESS && path)
                ret = xstrdup(path);
        munge_ctx_destroy(ctx);
        return ret;
}

int doctor_munge_roundtrip(bool *ret_decoded, Error *err) {
        json_t *msg = json_pack("{s:s}", "op", "doctor.probe"), *sealed = NULL, *back = NULL;
        int r = munge_seal(msg, &sealed, err);
        json_decref(msg);
        if (r < 0)
                return r;
        *ret_decoded = false;
        if (geteuid() == 0) {
                r = munge_open_root(sealed, &back, err);
                *ret_decoded = r >= 0;
        }
        json_decref(sealed);
        json_decref(back);
        return r;
}
