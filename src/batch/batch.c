#include "batch/batch.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

extern const BatchBackend batch_local, batch_slurm, batch_sge;

const BatchBackend *batch_backend_find(const char *name) {
        static const BatchBackend *const all[] = {&batch_local, &batch_slurm, &batch_sge};
        for (size_t i = 0; i < ELEMENTSOF(all); i++)
                if (streq(all[i]->name, name))
                        return all[i];
        return NULL;
}

char **batch_starter_argv(const BatchSubmit *req) {
        char **v = xcalloc(10, sizeof(char *));
        size_t n = 0;
        v[n++] = xstrdup(req->starter);
        v[n++] = xstrdup("--instance");
        v[n++] = xasprintf("%u", req->instance);
        v[n++] = xstrdup("--socket");
        v[n++] = xstrdup(req->socket);
        if (req->walltime_s > 0) {
                v[n++] = xstrdup("--walltime");
                v[n++] = xasprintf("%u", req->walltime_s);
        }
        if (req->warm_ready) {
                v[n++] = xstrdup("--warm");
                v[n++] = xstrdup(req->warm_ready);
        }
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
        char *warm = req->warm_ready ? sh_quote(req->warm_ready) : NULL;
        char *script = xasprintf("#!/bin/sh\n"
                                 "# vmbatch instance %u\n"
                                 "exec %s --instance %u --socket %s%s%s\n",
                                 req->instance, starter, req->instance, socket, warm ? " --warm " : "",
                                 warm ? warm : "");
        free(starter);
        free(socket);
        free(warm);
        return script;
}

int batch_node_socket(const char *tmpl, const char *host, char *buf, size_t len) {
        size_t n = 0;
        for (const char *p = tmpl; *p; p++) {
                const char *piece = p;
                size_t pl = 1;
                if (p[0] == '%' && p[1] == 'h') {
                        piece = host;
                        pl = strlen(host);
                        p++;
                } else if (p[0] == '%' && p[1] == '%')
                        p++;
                if (n + pl >= len)
                        return -ENAMETOOLONG;
                memcpy(buf + n, piece, pl);
                n += pl;
        }
        if (n >= len)
                return -ENAMETOOLONG;
        buf[n] = 0;
        return 0;
}

void batch_host_name(char *buf, size_t len) {
        const char *v = getenv("SLURMD_NODENAME");
        if (!isempty(v))
                snprintf(buf, len, "%s", v);
        else if (gethostname(buf, len) < 0 || len == 0)
                snprintf(buf, len, "localhost");
        if (len)
                buf[len - 1] = 0;
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

int batch_log_create(const BatchSubmit *req, Error *err) {
        int fd = open(req->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return error_set(err, -errno, "cannot open job log %s: %m", req->log_path);
        int r = fchown(fd, req->user->uid, req->user->gid) < 0 ? -errno : 0;
        close(fd);
        return r < 0 ? error_set(err, r, "cannot chown job log %s: %s", req->log_path, strerror(-r)) : 0;
}

const char *batch_listing_fresh(BatchListing *l) {
        if (l->out && now_usec() - l->at_usec < BATCH_LISTING_TTL_USEC)
                return l->out;
        batch_listing_forget(l);
        return NULL;
}

const char *batch_listing_set(BatchListing *l, char *out, uint64_t at_usec) {
        batch_listing_forget(l);
        l->out = out;
        l->at_usec = at_usec;
        return out;
}

void batch_listing_forget(BatchListing *l) {
        free(l->out);
        l->out = NULL;
        l->at_usec = 0;
}

void batch_argv_free(char **argv) {
        for (size_t i = 0; argv && argv[i]; i++)
                free(argv[i]);
        free(argv);
}
