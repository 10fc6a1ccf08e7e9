#include "batch/batch.h"

#include <stdio.h>

extern const BatchBackend batch_local, batch_slurm, batch_sge;

const BatchBackend *batch_backend_find(const char *name) {
        static const BatchBackend *const all[] = {&batch_local, &batch_slurm, &batch_sge};
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

/* 'text' for sh, with every ' closed, escaped and reopened */
static char *sh_quote(const char *text) {
        size_t n = 2;
        for (const char *p = text; *p; p++)
                n += *p == '\'' ? 4 : 1;
        char *q = xcalloc(n + 1, 1), *o = q;
        *o++ = '\'';
        for (const char *p = text; *p; p++) {
                if (*p == '\'') {
                        memcpy(o, "'\\''", 4);
                        o += 4;
                } else
                        *o++ = *p;
        }
        *o = '\'';
        return q;
}

char *batch_job_script(const BatchSubmit *req) {
        /* the job itself: only the starter, nothing the user controls */
        char *starter = sh_quote(req->starter), *socket = sh_quote(req->socket);
        char *script = xasprintf("#!/bin/sh\n"
                                 "# vmbatch instance %u\n"
                                 "exec %s --instance %u --socket %s\n",
                                 req->instance, starter, req->instance, socket);
        free(starter);
        free(socket);
        return script;
}

const char *batch_job_id_from_env(void) {
        static const char *const vars[] = {"SLURM_JOB_ID", "JOB_ID", NULL};
        for (size_t i = 0; vars[i]; i++) {
                const char *v = getenv(vars[i]);
                if (!isempty(v))
                        return v;
        }
        return NULL;
}

void batch_argv_free(char **argv) {
        for (size_t i = 0; argv && argv[i]; i++)
                free(argv[i]);
        free(argv);
}
