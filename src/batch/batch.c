#include "batch/batch.h"

#include <stdio.h>

extern const BatchBackend batch_local;

const BatchBackend *batch_backend_find(const char *name) {
        static const BatchBackend *const all[] = {&batch_local};
        for (size_t i = 0; i < ELEMENTSOF(all); i++)
                if (streq(all[i]->name, name))
                        return all[i];
        return NULL;
}

char **batch_starter_argv(const BatchSubmit *req) {
        char **v = xcalloc(6, sizeof(char *));
        v[0] = xstrdup(req->starter);
        v[1] = xstrdup("--instance");
        v[2] = xasprintf("%u", req->instance);
        v[3] = xstrdup("--socket");
        v[4] = xstrdup(req->socket);
        return v;
}

void batch_argv_free(char **argv) {
        for (size_t i = 0; argv && argv[i]; i++)
                free(argv[i]);
        free(argv);
}
