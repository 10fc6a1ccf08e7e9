/* sge.c - the Grid Engine backend (being written; not usable yet). */
#include "batch/batch.h"

static int submit_unavailable(const BatchSubmit *req, char *ret_job_id, size_t len, Error *err) {
        return error_set(err, -ENOTSUP, "the sge batch backend is not available in this build");
}

static int state_unavailable(const char *job_id, BatchJobState *ret, Error *err) {
        return error_set(err, -ENOTSUP, "the sge batch backend is not available in this build");
}

static int cancel_unavailable(const char *job_id, Error *err) {
        return error_set(err, -ENOTSUP, "the sge batch backend is not available in this build");
}

const BatchBackend batch_sge = {
        .name = "sge",
        .submit = submit_unavailable,
        .state = state_unavailable,
        .cancel = cancel_unavailable,
};
