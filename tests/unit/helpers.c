/* helpers.c - see helpers.h. */
#include "unit/helpers.h"

#include "basic/log.h"

#include <dirent.h>
#include <ftw.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

void bail(const char *fmt, ...) {
        va_list ap;
        printf("Bail out! ");
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        fflush(stdout);
        exit(1);
}

uid_t sys_uid(const char *name) {
        struct passwd *pw = getpwnam(name);
        if (!pw)
                bail("system user '%s' is missing", name);
        return pw->pw_uid;
}

const char *tenv_mkdir(TEnv *e, uid_t owner, bool shared) {
        if (e->n_dirs >= TENV_MAX_DIRS)
                bail("too many temporary folders");
        char tmpl[] = "/tmp/vmbatch-unit-XXXXXX";
        if (!mkdtemp(tmpl))
                bail("mkdtemp: %m");
        struct passwd *pw = getpwuid(owner);
        if (!pw)
                bail("uid %u has no passwd entry", (unsigned)owner);
        if (chown(tmpl, owner, pw->pw_gid) < 0 || chmod(tmpl, shared ? 0755 : 0700) < 0)
                bail("chown/chmod %s: %m", tmpl);
        e->dirs[e->n_dirs] = xstrdup(tmpl);
        return e->dirs[e->n_dirs++];
}

void tenv_open_path(TEnv *e, const char *path) {
        memset(e, 0, sizeof(*e));
        if (!getenv("VMBATCH_TEST_LOG"))
                log_set_level(LOG_LEVEL_WARN); /* the controller logs every change at info */
        Error err = {0};
        if (store_open(path, &e->store, &err) < 0)
                bail("store_open(%s): %s", path, err.message);
        settings_defaults(&e->settings);
        snprintf(e->settings.admin_user, sizeof(e->settings.admin_user), "%s", TENV_ADMIN);
        snprintf(e->settings.database, sizeof(e->settings.database), "%s", path);
        e->admin = sys_uid(TENV_ADMIN);
        snprintf(e->admin_dir, sizeof(e->admin_dir), "%s", tenv_mkdir(e, e->admin, true));
        snprintf(e->settings.admin_stordir, sizeof(e->settings.admin_stordir), "%s", e->admin_dir);
        e->c = (Controller){.store = e->store, .settings = &e->settings};
        json_t *data = NULL;
        int r = store_begin(e->store, &err);
        if (r >= 0)
                r = controller_init(&e->c, 0, &data, &err);
        if (r >= 0)
                r = store_commit(e->store, &err);
        else
                store_rollback(e->store);
        if (r < 0)
                bail("controller_init: %s", err.message);
        json_decref(data);
}

void tenv_open(TEnv *e) { tenv_open_path(e, ":memory:"); }

void tenv_open_file(TEnv *e) {
        char dir[] = "/tmp/vmbatch-unit-db-XXXXXX";
        if (!mkdtemp(dir))
                bail("mkdtemp: %m");
        char path[sizeof(dir) + 16];
        snprintf(path, sizeof(path), "%s/vmbatch.db", dir);
        tenv_open_path(e, path);
        e->dirs[e->n_dirs++] = xstrdup(dir); /* after the store: tenv_close removes it */
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        remove(path);
        return 0;
}

void tenv_close(TEnv *e) {
        store_close(e->store);
        e->store = NULL;
        for (size_t i = 0; i < e->n_dirs; i++) {
                nftw(e->dirs[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
                free(e->dirs[i]);
        }
        e->n_dirs = 0;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static json_t *vJ(const char *fmt, va_list ap) {
        char *f = xstrdup(fmt);
        for (char *p = f; *p; p++)
                if (*p == '\'')
                        *p = '"';
        char *text = NULL;
        if (vasprintf(&text, f, ap) < 0)
                abort();
        json_error_t jerr;
        json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
        if (!j)
                bail("bad JSON in test: %s: %s", text, jerr.text);
        free(text);
        free(f);
        return j;
}
#pragma GCC diagnostic pop

json_t *J(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        json_t *j = vJ(fmt, ap);
        va_end(ap);
        return j;
}

json_t *Jt(const char *text) {
        char *t = xstrdup(text);
        for (char *p = t; *p; p++)
                if (*p == '\'')
                        *p = '"';
        json_error_t jerr;
        json_t *j = json_loads(t, JSON_DECODE_ANY, &jerr);
        if (!j)
                bail("bad JSON in test: %s: %s", t, jerr.text);
        free(t);
        return j;
}

int call_j(TEnv *e, uint32_t uid, const char *op, const json_t *args, json_t **data, Error *err) {
        json_t *d = NULL;
        Error local = {0};
        if (!err)
                err = &local;
        error_clear(err);
        int r = controller_handle(&e->c, uid, op, args, &d, err);
        if (data)
                *data = d;
        else
                json_decref(d);
        return r;
}

int call(TEnv *e, uint32_t uid, const char *op, json_t **data, Error *err, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        json_t *args = vJ(fmt, ap);
        va_end(ap);
        int r = call_j(e, uid, op, args, data, err);
        json_decref(args);
        return r;
}

json_t *snapshot(TEnv *e) {
        static const char *const ops[] = {"user.list", "vm.list",     "perm.list", "map.list",
                                          "vmgroup.list", "ugroup.list", "audit.list"};
        json_t *snap = json_object();
        for (size_t i = 0; i < ELEMENTSOF(ops); i++) {
                json_t *d = NULL;
                Error err = {0};
                if (call_j(e, 0, ops[i], NULL, &d, &err) < 0)
                        bail("%s: %s", ops[i], err.message);
                json_object_set_new(snap, ops[i], d);
        }
        return snap;
}

int count_files(const char *dir) {
        DIR *d = opendir(dir);
        if (!d)
                return -1;
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

bool file_exists(const char *path) {
        struct stat st;
        return lstat(path, &st) == 0;
}

char *run_output(char *const *argv) {
        int p[2];
        if (pipe(p) < 0)
                return NULL;
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
                return NULL;
        if (pid == 0) {
                dup2(p[1], 1);
                close(p[0]);
                close(p[1]);
                execvp(argv[0], argv);
                _exit(127);
        }
        close(p[1]);
        char *buf = NULL;
        size_t len = 0;
        char tmp[4096];
        ssize_t n;
        while ((n = read(p[0], tmp, sizeof(tmp))) > 0) {
                buf = realloc(buf, len + (size_t)n + 1);
                if (!buf)
                        abort();
                memcpy(buf + len, tmp, (size_t)n);
                len += (size_t)n;
                buf[len] = 0;
        }
        close(p[0]);
        int status;
        if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                free(buf);
                return NULL;
        }
        return buf ? buf : xstrdup("");
}

char *jdump(const json_t *j) {
        char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
        return s ? s : xstrdup("(null)");
}
