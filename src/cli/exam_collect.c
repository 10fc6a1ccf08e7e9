/* exam_collect.c - "vmbatch exam collect": the copies made by the caller,
 * never by the root daemon into a folder somebody else chose. Every path is
 * taken as hostile:
 *  - DIR is made 0700 if missing; an existing one must be a folder (not a
 *    link) of the caller's that nobody else may write, so nothing can be
 *    planted or swapped in it while we work;
 *  - each file in it is created O_EXCL|O_NOFOLLOW: never over an older
 *    file, never through a link (a second collect into DIR is refused as a
 *    whole, before anything is written: its manifest is there);
 *  - a sealed disc is opened without following a link and must be a regular
 *    file; its sha256, computed while it is copied, must be the one the seal
 *    recorded, else the copy is removed and the member reported.
 * Members not sealed are in the manifest with their state and no file. */
#include "cli/exam_collect.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "basic/util.h"
#include "cli/rpc.h"
#include "core/exam_manifest.h"
#include "disk/seal.h"

#define MANIFEST_JSON "manifest.json"
#define MANIFEST_CSV "manifest.csv"
#define PROGRESS_MIN_BYTES (16u << 20) /* smaller copies are over before a line would help */

static const char *s_of(const json_t *o, const char *k) {
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "";
}

static int64_t i_of(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* ---- DIR ---- */

static int open_dir(const char *dir, int *ret, Error *err) {
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return error_set(err, -errno, "cannot create %s: %m", dir);
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return error_set(err, -errno, "%s: %s", dir,
                                 errno == ENOTDIR || errno == ELOOP ? "not a folder (or a link): refused" : strerror(errno));
        struct stat st;
        if (fstat(fd, &st) < 0) {
                close(fd);
                return error_set(err, -errno, "%s: %m", dir);
        }
        if (st.st_uid != geteuid() || (st.st_mode & 022)) {
                close(fd);
                return error_set(err, -EPERM, "%s is %s: collect into a folder only you can write", dir,
                                 st.st_uid != geteuid() ? "not yours" : "writable by others");
        }
        *ret = fd;
        return 0;
}

/* Both manifests claimed first: a DIR that holds either is refused whole. */
static int claim_manifests(int dfd, const char *dir, int fds[2], Error *err) {
        static const char *const names[2] = {MANIFEST_JSON, MANIFEST_CSV};
        for (int i = 0; i < 2; i++) {
                fds[i] = openat(dfd, names[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fds[i] >= 0)
                        continue;
                int e = errno;
                for (int k = 0; k < i; k++) {
                        close(fds[k]);
                        unlinkat(dfd, names[k], 0);
                }
                return e == EEXIST ? error_set(err, -EEXIST, "%s already holds %s (a collection): nothing was "
                                                             "overwritten, choose another folder", dir, names[i])
                                   : error_set(err, -e, "cannot create %s/%s: %s", dir, names[i], strerror(e));
        }
        return 0;
}

static int write_all(int fd, const char *buf, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, buf, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                buf += k;
                n -= (size_t)k;
        }
        return 0;
}

/* ---- one sealed disc ---- */

typedef struct Progress {
        bool on;
        const char *name;
        uint64_t total;
        struct timespec last;
} Progress;

static void progress_show(Progress *p, uint64_t done, bool final) {
        if (!p->on)
                return;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t ms = (now.tv_sec - p->last.tv_sec) * 1000 + (now.tv_nsec - p->last.tv_nsec) / 1000000;
        if (!final && ms < 250)
                return;
        p->last = now;
        fprintf(stderr, "\r%s: %llu of %llu MiB (%d%%)%s", p->name, (unsigned long long)(done >> 20),
                (unsigned long long)(p->total >> 20), p->total ? (int)(done * 100 / p->total) : 100, final ? "\n" : "");
}

static void on_progress(uint64_t done, void *userdata) { progress_show(userdata, done, false); }

/* The sealed disc: not through a link, not a FIFO that would hang us. */
static int open_sealed(const char *path, struct stat *st, Error *err) {
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return error_set(err, -errno, "cannot open the sealed disc %s: %s", path,
                                 errno == ELOOP ? "a link: refused" : strerror(errno));
        if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
                close(fd);
                return error_set(err, -EINVAL, "the sealed disc %s is not a regular file: refused", path);
        }
        return fd;
}

/* Copies member m's sealed disc to DIR/name; 0, or -errno with err set and
 * nothing of it left in DIR. */
static int collect_one(int dfd, const json_t *m, const char *name, Error *err) {
        struct stat st;
        int from = open_sealed(s_of(m, "sealed_path"), &st, err);
        if (from < 0)
                return from;
        int to = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (to < 0) {
                int e = errno;
                close(from);
                return error_set(err, -e, "cannot create %s: %s", name,
                                 e == EEXIST ? "a file (or a link) of that name is in the folder: refused"
                                             : strerror(e));
        }
        Progress p = {.on = isatty(STDERR_FILENO) && (uint64_t)st.st_size >= PROGRESS_MIN_BYTES,
                      .name = name,
                      .total = (uint64_t)st.st_size};
        char sha[65];
        int r = disc_sha256_copy(from, to, p.on ? on_progress : NULL, &p, sha, err);
        close(from);
        progress_show(&p, (uint64_t)st.st_size, true);
        if (r >= 0 && fsync(to) < 0)
                r = error_set(err, -errno, "fsync of the copy: %m");
        if (r >= 0 && !streq(sha, s_of(m, "sha256")))
                r = error_set(err, -EBADMSG, "sha256 mismatch: the copy's is %s, the seal recorded %s", sha,
                              s_of(m, "sha256"));
        if (r >= 0 && fchmod(to, 0400) < 0) /* a hand-in, not a working copy */
                r = error_set(err, -errno, "chmod %s: %m", name);
        close(to);
        if (r < 0)
                unlinkat(dfd, name, 0);
        return r;
}

/* ---- the whole collection ---- */

typedef struct Outcome {
        char file[256];
        Error err;
        bool failed;
} Outcome;

static void row_of(const json_t *m, const Outcome *o, ExamManifestRow *row) {
        const char *seal_error = s_of(m, "seal_error");
        *row = (ExamManifestRow){
                .student = s_of(m, "user"),
                .uid = (uint32_t)i_of(m, "uid"),
                .vm = s_of(m, "vm_name"),
                .file = o->file,
                .sha256 = s_of(m, "sha256"),
                .sealed_at = i_of(m, "sealed_at"),
                .late_minutes = (uint32_t)i_of(m, "late_minutes"),
                .extra_minutes = (uint32_t)i_of(m, "extra_minutes"),
                .state = s_of(m, "state"),
                .error = o->failed ? o->err.message : *seal_error ? seal_error : "",
        };
}

static int write_manifests(const int fds[2], const ExamManifest *man, char **ret_json, Error *err) {
        _cleanup_free_ char *csv = NULL;
        char *json = NULL;
        int r = exam_manifest_json(man, &json, err);
        if (r >= 0)
                r = exam_manifest_csv(man, &csv, err);
        for (int i = 0; i < 2 && r >= 0; i++) {
                const char *text = i == 0 ? json : csv;
                if ((r = write_all(fds[i], text, strlen(text))) < 0 || (r = fsync(fds[i]) < 0 ? -errno : 0) < 0 ||
                    (r = fchmod(fds[i], 0400) < 0 ? -errno : 0) < 0)
                        error_set(err, r, "writing the manifest: %s", strerror(-r));
        }
        if (r < 0) {
                free(json);
                return r;
        }
        *ret_json = json;
        return 0;
}

static void print_member(const ExamManifestRow *row, bool failed) {
        if (failed)
                printf("%s: %s (%s): not collected: %s\n", row->student, row->vm, row->state, row->error);
        else if (!isempty(row->file))
                printf("%s: %s -> %s (sha256 %s, as sealed)\n", row->student, row->vm, row->file, row->sha256);
        else
                printf("%s: %s is %s: no sealed disc yet%s%s\n", row->student, row->vm, row->state,
                       isempty(row->error) ? "" : ": ", row->error);
}

static int collect(const char *dir, const json_t *data, bool json, Error *err) {
        const json_t *members = json_object_get(data, "members");
        if (!json_is_array(members))
                return error_set(err, -EBADMSG, "unexpected answer from vmbatchd");
        size_t n = json_array_size(members), failed = 0, unsealed = 0, copied = 0;
        _cleanup_free_ Outcome *out = xcalloc(n ? n : 1, sizeof(Outcome));
        _cleanup_free_ ExamManifestRow *rows = xcalloc(n ? n : 1, sizeof(ExamManifestRow));
        for (size_t i = 0; i < n; i++)
                row_of(json_array_get(members, i), &out[i], &rows[i]);
        ExamManifest man = {.exam = s_of(data, "name"), .exam_id = (uint32_t)i_of(data, "id"),
                            .collected_at = (int64_t)time(NULL), .rows = rows, .n_rows = n};
        _cleanup_free_ char *text = NULL;
        /* a value the manifest refuses stops us before DIR is touched */
        int r = exam_manifest_json(&man, &text, err);
        if (r < 0)
                return r;
        free(TAKE_PTR(text));
        int dfd = -1, fds[2] = {-1, -1};
        r = open_dir(dir, &dfd, err);
        if (r < 0 || (r = claim_manifests(dfd, dir, fds, err)) < 0) {
                if (dfd >= 0)
                        close(dfd);
                return r;
        }
        for (size_t i = 0; i < n; i++) {
                const json_t *m = json_array_get(members, i);
                Outcome *o = &out[i];
                if (!streq(s_of(m, "state"), "sealed") || isempty(s_of(m, "sealed_path"))) {
                        unsealed++;
                } else if (exam_collect_file_name(s_of(m, "user"), o->file, sizeof(o->file), &o->err) < 0 ||
                           collect_one(dfd, m, o->file, &o->err) < 0) {
                        o->file[0] = 0;
                        o->failed = true;
                        failed++;
                } else
                        copied++;
                row_of(m, o, &rows[i]);
        }
        r = write_manifests(fds, &man, &text, err);
        close(fds[0]);
        close(fds[1]);
        if (r >= 0 && fsync(dfd) < 0)
                r = error_set(err, -errno, "fsync %s: %m", dir);
        close(dfd);
        if (r < 0)
                return r; /* the copies stay, checked; the manifest is what failed */
        if (json)
                fputs(text, stdout);
        else {
                for (size_t i = 0; i < n; i++)
                        print_member(&rows[i], out[i].failed);
                printf("collected %zu of %zu sealed disc(s) of exam %s into %s (" MANIFEST_JSON ", " MANIFEST_CSV
                       ")",
                       copied, copied + failed, man.exam, dir);
                if (unsealed)
                        printf("; %zu member(s) not sealed yet", unsealed);
                putchar('\n');
        }
        for (size_t i = 0; i < n && json; i++) /* the text above said it already */
                if (out[i].failed)
                        fprintf(stderr, "vmbatch: %s: %s\n", rows[i].student, out[i].err.message);
        if (failed && !json)
                fprintf(stderr, "vmbatch: %zu sealed disc(s) not collected (see above)\n", failed);
        return failed ? EXAM_COLLECT_FAILED : unsealed ? EXAM_COLLECT_INCOMPLETE : EXAM_COLLECT_DONE;
}

int cli_exam_collect_run(const char *socket_path, const json_t *request, bool json) {
        Error err = {0};
        json_t *data = NULL;
        const char *dir = json_string_value(json_object_get(json_object_get(request, "args"), "dir"));
        int r = dir ? rpc_call(socket_path, request, &data, &err) : error_set(&err, -EINVAL, "missing DIR");
        if (r >= 0)
                r = collect(dir, data, json, &err);
        json_decref(data);
        if (r < 0) {
                fprintf(stderr, "vmbatch: %s\n", err.message);
                return EXAM_COLLECT_FAILED;
        }
        fflush(stdout);
        return r;
}
