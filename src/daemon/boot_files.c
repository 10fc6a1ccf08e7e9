/* boot_files.c - the files of a boot spec, and the spec the starter gets.
 * See boot_files.h. */
#include "daemon/boot_files.h"

#include <stdio.h>

#include "basic/jsonutil.h"

static const char *const single_files[] = {"kernel", "initrd", "cdrom"};

static int file_from_json(const json_t *o, const char *what, DiscFile *f, Error *err) {
        const char *path;
        uint64_t dev = 0, ino = 0;
        int r;
        if (!json_is_object(o))
                return error_set(err, -EBADMSG, "the boot spec's %s is not a file", what);
        if ((r = json_need_string(o, "path", &path, err)) < 0 || (r = json_need_u32(o, "uid", &f->uid, err)) < 0 ||
            ((r = json_get_u64(o, "dev", &dev, err)) < 0 && r != -ENOENT) ||
            ((r = json_get_u64(o, "ino", &ino, err)) < 0 && r != -ENOENT))
                return error_set(err, -EBADMSG, "the boot spec's %s: %s", what, err->message);
        if (path[0] != '/' || strlen(path) >= sizeof(f->path))
                return error_set(err, -EBADMSG, "the boot spec's %s needs an absolute path", what);
        snprintf(f->path, sizeof(f->path), "%s", path);
        f->dev = dev;
        f->ino = ino;
        return 0;
}

static int add(DiscFile *files, size_t max, size_t *n, Error *err) {
        if (*n >= max)
                return error_set(err, -E2BIG, "a vm uses at most %zu files (discs, their backing files, kernel, "
                                              "initrd, cdrom)", max);
        files[*n] = (DiscFile){0};
        return 0;
}

int boot_files_from_spec(const json_t *spec, DiscFile *files, size_t max, size_t *ret_n, Error *err) {
        size_t n = 0, i, k;
        json_t *chain, *e;
        const json_t *discs = json_object_get(spec, "discs");
        if (discs && !json_is_array(discs))
                return error_set(err, -EBADMSG, "the boot spec's discs are not a list");
        json_array_foreach(discs, i, chain) {
                if (!json_is_array(chain) || json_array_size(chain) == 0)
                        return error_set(err, -EBADMSG, "the boot spec's disc %zu has no chain", i);
                json_array_foreach(chain, k, e) {
                        int r = add(files, max, &n, err);
                        if (r < 0 || (r = file_from_json(e, "disc", &files[n], err)) < 0)
                                return r;
                        files[n].image = true;
                        files[n].writable = k == 0; /* the vm writes its top; backing files are read */
                        if (k > 0) /* the file above names this one as its backing file */
                                snprintf(files[n - 1].expect_backing, sizeof(files[n - 1].expect_backing), "%s",
                                         files[n].path);
                        n++;
                }
        }
        for (i = 0; i < ELEMENTSOF(single_files); i++) {
                const json_t *o = json_object_get(spec, single_files[i]);
                if (!o)
                        continue;
                int r = add(files, max, &n, err);
                if (r < 0 || (r = file_from_json(o, single_files[i], &files[n], err)) < 0)
                        return r;
                n++;
        }
        *ret_n = n;
        return 0;
}

void boot_files_for_starter(json_t *spec, size_t first) {
        size_t pos = first, i, k;
        json_t *chain, *e;
        json_t *out = json_array();
        json_array_foreach(json_object_get(spec, "discs"), i, chain) {
                json_t *fds = json_array();
                json_array_foreach(chain, k, e)
                        json_array_append_new(fds, json_integer((json_int_t)pos++));
                json_array_append_new(out, json_pack("{s:o, s:b}", "fds", fds, "writable", true));
        }
        json_object_set_new(spec, "discs", out);
        for (i = 0; i < ELEMENTSOF(single_files); i++) {
                if (!json_object_get(spec, single_files[i]))
                        continue;
                char key[32];
                snprintf(key, sizeof(key), "%s_fd", single_files[i]);
                json_object_set_new(spec, key, json_integer((json_int_t)pos++));
                json_object_del(spec, single_files[i]);
        }
}
