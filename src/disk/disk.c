#include "disk/disk.h"

#include <inttypes.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>

#include "basic/spawn.h"

#define QEMU_IMG_TIMEOUT_MS (10 * 60 * 1000) /* a clone of a big disc takes a while */

int cred_from_uid(uid_t uid, Cred *ret, char *name_buf, size_t len, Error *err) {
        struct passwd pw, *res = NULL;
        char buf[4096];
        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
                return error_set(err, -ENOENT, "uid %u has no entry in the system's user database", (unsigned)uid);
        snprintf(name_buf, len, "%s", pw.pw_name);
        *ret = (Cred){.uid = pw.pw_uid, .gid = pw.pw_gid, .name = name_buf};
        return 0;
}

static int run_as(const Cred *as, char *const *argv, const char *what, SpawnResult *ret, Error *err) {
        SpawnOpts o = {
                .argv = argv,
                .as_user = true,
                .uid = as->uid,
                .gid = as->gid,
                .user_name = as->name,
                .private_files = true,
                .timeout_ms = QEMU_IMG_TIMEOUT_MS,
        };
        int r = spawn_run(&o, ret);
        if (r < 0)
                return error_set(err, r, "%s: cannot run %s: %s", what, argv[0], strerror(-r));
        if (ret->timed_out)
                return error_set(err, -ETIMEDOUT, "%s: %s timed out", what, argv[0]);
        if (ret->exit_code != 0) {
                char line[400];
                spawn_result_first_line(ret, line, sizeof(line));
                /* qemu-img prefixes "qemu-img: "; keep the message itself */
                const char *msg = strncmp(line, "qemu-img: ", 10) == 0 ? line + 10 : line;
                return error_set(err, -EIO, "%s as %s: %s", what, as->name, msg);
        }
        return 0;
}

int disk_create(const Cred *as, const char *path, uint64_t size, Error *err) {
        char sz[32];
        snprintf(sz, sizeof(sz), "%" PRIu64, size);
        char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2", "--", (char *)path, sz, NULL};
        SpawnResult res;
        int r = run_as(as, argv, "creating disc", &res, err);
        spawn_result_clear(&res);
        return r;
}

int disk_derive(const Cred *as, const char *base_path, uint64_t size, const char *path, Error *err) {
        /* -F: never let the backing file's format be probed; -u with the
         * size: the deriver never opens the template (it cannot read it:
         * qemu gets the template as an fd the node opened as its owner) */
        char sz[32];
        snprintf(sz, sizeof(sz), "%" PRIu64, size);
        char *argv[] = {"qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", (char *)base_path, "-u",
                        "--", (char *)path, sz, NULL};
        SpawnResult res;
        int r = run_as(as, argv, "deriving disc", &res, err);
        spawn_result_clear(&res);
        return r;
}

int disk_clone(const Cred *as, const char *src, const char *path, Error *err) {
        /* read the source as the caller: a file they cannot read fails here */
        char *argv[] = {"qemu-img", "convert", "-q", "-O", "qcow2", "--", (char *)src, (char *)path, NULL};
        SpawnResult res;
        int r = run_as(as, argv, "copying disc", &res, err);
        spawn_result_clear(&res);
        if (r < 0)
                error_prefix(err, "%s", src);
        return r;
}

int disk_export(const Cred *as, const char *src_json, const char *path, Error *err) {
        _cleanup_free_ char *src = xasprintf("json:%s", src_json);
        char *argv[] = {"qemu-img", "convert", "-q", "-O", "qcow2", "--", src, (char *)path, NULL};
        SpawnResult res = {0};
        int r = run_as(as, argv, "sealing disc", &res, err);
        spawn_result_clear(&res);
        return r;
}

int disk_remove(const Cred *as, const char *path, Error *err) {
        char *argv[] = {"rm", "-f", "--", (char *)path, NULL};
        SpawnResult res;
        int r = run_as(as, argv, "removing disc", &res, err);
        spawn_result_clear(&res);
        return r;
}

int disk_remove_tree(const Cred *as, const char *path, Error *err) {
        char *argv[] = {"rm", "-rf", "--one-file-system", "--", (char *)path, NULL};
        SpawnResult res;
        int r = run_as(as, argv, "removing a runtime directory", &res, err);
        spawn_result_clear(&res);
        return r;
}

int disk_measure(const Cred *as, const char *path, uint64_t *ret_size, uint64_t *ret_allocated, Error *err) {
        char *argv[] = {"qemu-img", "info", "-U", "--output=json", "--", (char *)path, NULL};
        SpawnResult res;
        int r = run_as(as, argv, "reading disc", &res, err);
        if (r < 0) {
                spawn_result_clear(&res);
                return r;
        }
        json_t *info = json_loads(res.out, 0, NULL);
        spawn_result_clear(&res);
        json_t *vs = json_object_get(info, "virtual-size");
        if (!json_is_integer(vs)) {
                json_decref(info);
                return error_set(err, -EIO, "qemu-img info %s: no virtual size", path);
        }
        *ret_size = (uint64_t)json_integer_value(vs);
        json_decref(info);
        return disk_allocated(path, ret_allocated, err);
}

int disk_allocated(const char *path, uint64_t *ret_allocated, Error *err) {
        struct stat st;
        if (lstat(path, &st) < 0)
                return error_set(err, -errno, "cannot stat %s: %m", path);
        /* a symlink the owner put in the disc's place counts as what it is */
        *ret_allocated = S_ISREG(st.st_mode) ? (uint64_t)st.st_blocks * 512 : 0;
        return 0;
}

int disk_identity(const char *path, uint64_t *ret_dev, uint64_t *ret_ino, Error *err) {
        struct stat st;
        if (lstat(path, &st) < 0)
                return error_set(err, -errno, "cannot stat %s: %m", path);
        if (!S_ISREG(st.st_mode))
                return error_set(err, -EINVAL, "%s is not a regular file", path);
        *ret_dev = (uint64_t)st.st_dev;
        *ret_ino = (uint64_t)st.st_ino;
        return 0;
}

int disk_backing_chain(const Cred *as, const char *path, char ***ret, Error *err) {
        char *argv[] = {"qemu-img", "info", "-U", "--backing-chain", "--output=json", "--", (char *)path, NULL};
        SpawnResult res;
        int r = run_as(as, argv, "reading disc", &res, err);
        if (r < 0) {
                spawn_result_clear(&res);
                return r;
        }
        json_t *chain = json_loads(res.out, 0, NULL);
        spawn_result_clear(&res);
        if (!json_is_array(chain)) {
                json_decref(chain);
                return error_set(err, -EIO, "qemu-img info %s: unexpected output", path);
        }
        size_t n = json_array_size(chain);
        char **v = xcalloc(n + 1, sizeof(char *));
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                const char *f = json_string_value(json_object_get(json_array_get(chain, i), "filename"));
                if (f)
                        v[k++] = xstrdup(f);
        }
        json_decref(chain);
        *ret = v;
        return 0;
}

char *disk_path_for(const char *stordir, uint32_t uid, const char *vm_name, unsigned n) {
        size_t l = strlen(stordir);
        bool slash = l > 0 && stordir[l - 1] == '/';
        return xasprintf("%s%s%u_%s_%u.qcow2", stordir, slash ? "" : "/", uid, vm_name, n);
}
