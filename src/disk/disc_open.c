/* disc_open.c - the files of a VM opened as their users, in workers. See
 * disc_open.h. */
#include "disk/disc_open.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/log.h"
#include "disk/qcow2.h"

/* What an image's header may say: exactly the recorded chain. */
static int check_header(const DiscFile *f, int fd, Error *err) {
        static uint8_t buf[QCOW2_HEADER_READ]; /* a worker's own copy: it is a process of its own */
        ssize_t n = pread(fd, buf, sizeof(buf), 0);
        if (n < 0)
                return error_set(err, -errno, "cannot read %s: %m", f->path);
        ImageHeader h;
        if (image_header_parse(buf, (size_t)n, &h) < 0)
                return error_set(err, -EINVAL, "%s: the qcow2 header is damaged or inconsistent: refused", f->path);
        if (h.format != IMAGE_QCOW2)
                return error_set(err, -EINVAL, "%s is not a qcow2 image any more: refused", f->path);
        if (h.data_file)
                return error_set(err, -EPERM, "%s names an external data file: refused (qemu would open it)",
                                 f->path);
        if (h.encrypted)
                return error_set(err, -EPERM, "%s is encrypted: refused", f->path);
        if (h.unknown_incompatible)
                return error_set(err, -EPERM, "%s uses qcow2 features this host does not know: refused", f->path);
        if (!*f->expect_backing && *h.backing)
                return error_set(err, -EPERM,
                                 "%s names a backing file (%s) that vmbatch did not record: refused (its header was "
                                 "changed outside vmbatch)",
                                 f->path, h.backing);
        if (*f->expect_backing && strcmp(h.backing, f->expect_backing) != 0)
                return error_set(err, -EPERM,
                                 "%s names the backing file %s, not the recorded %s: refused (its header was changed "
                                 "outside vmbatch)",
                                 f->path, *h.backing ? h.backing : "(none)", f->expect_backing);
        if (*h.backing_format && strcmp(h.backing_format, "qcow2") != 0)
                return error_set(err, -EPERM, "%s says its backing file is %s, not qcow2: refused", f->path,
                                 h.backing_format);
        return 0;
}

int disc_open_one(const DiscFile *f, int *ret_fd, Error *err) {
        int flags = (f->writable ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
        if (f->image)
                flags |= O_NOFOLLOW;
        int fd = open(f->path, flags);
        if (fd < 0)
                return error_set(err, -errno, "cannot open %s as uid %u: %m", f->path, f->uid);
        struct stat st;
        int r = 0;
        if (fstat(fd, &st) < 0)
                r = error_set(err, -errno, "cannot stat %s: %m", f->path);
        else if (!S_ISREG(st.st_mode))
                r = error_set(err, -EINVAL, "%s is not a regular file: refused", f->path);
        else if (f->image && (f->dev || f->ino) && ((uint64_t)st.st_dev != f->dev || (uint64_t)st.st_ino != f->ino))
                r = error_set(err, -EPERM, "%s is not the file vmbatch made (it was replaced): refused", f->path);
        else if (f->image && !f->dev && !f->ino && st.st_uid != f->uid)
                r = error_set(err, -EPERM, "%s is not owned by uid %u: refused", f->path, f->uid);
        /* blocking from here on: it is a regular file */
        else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
                r = error_set(err, -errno, "%s: %m", f->path);
        else if (f->image)
                r = check_header(f, fd, err);
        if (r < 0) {
                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

/* ---- in workers ---- */

typedef struct Pending {
        struct DiscOpen *owner;
        DiscFile file;
        WorkerJob *job;
        bool done;
        int fd;
        int r;
        char message[512];
} Pending;

struct DiscOpen {
        Pending *p;
        size_t n, n_done;
        disc_open_done_fn done;
        void *ctx;
};

/* Become the file's user, for good: this process only opens that file. */
static int become(uint32_t uid, Error *err) {
        struct passwd pw, *res = NULL;
        char buf[4096];
        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
                return error_set(err, -ENOENT, "uid %u has no entry in the system's user database", uid);
        if (initgroups(pw.pw_name, pw.pw_gid) < 0 || setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) < 0 ||
            setresuid(uid, uid, uid) < 0)
                return error_set(err, -errno, "cannot become %s: %m", pw.pw_name);
        return 0;
}

/* The outcome: "ok" with the fd on its first byte, or "error ERRNO MESSAGE". */
static void child(void *arg, FILE *out) {
        const DiscFile *f = arg;
        Error err = {0};
        int fd = -1;
        int r = become(f->uid, &err);
        if (r >= 0)
                r = disc_open_one(f, &fd, &err);
        if (r >= 0 && (r = worker_send_fd(out, "ok", fd)) < 0)
                error_set(&err, r, "cannot hand %s back: %s", f->path, strerror(-r));
        if (r < 0)
                fprintf(out, "error %d %s", -r, err.message);
}

static void finish(DiscOpen *o) {
        for (size_t i = 0; i < o->n; i++) /* the first failure, in file order */
                if (o->p[i].r < 0) {
                        Error err = {0};
                        error_set(&err, o->p[i].r, "%s", o->p[i].message);
                        disc_open_done_fn done = o->done;
                        void *ctx = o->ctx;
                        disc_open_cancel(o);
                        done(ctx, err.code, &err, NULL, 0);
                        return;
                }
        int fds[DISC_OPEN_FILES_MAX];
        for (size_t i = 0; i < o->n; i++)
                fds[i] = TAKE_FD(o->p[i].fd);
        disc_open_done_fn done = o->done;
        void *ctx = o->ctx;
        size_t n = o->n;
        disc_open_cancel(o);
        done(ctx, 0, NULL, fds, n);
}

static void on_opened(void *userdata, const char *output, int status, int *fds, size_t n_fds) {
        Pending *p = userdata;
        p->job = NULL;
        p->done = true;
        int code = 0, used = 0;
        if (strcmp(output, "ok") == 0 && n_fds == 1) {
                p->fd = fds[0];
                p->r = 0;
        } else {
                close_fds(fds, n_fds);
                if (sscanf(output, "error %d %n", &code, &used) == 1 && code > 0 && used > 0) {
                        p->r = -code;
                        snprintf(p->message, sizeof(p->message), "%s", output + used);
                } else {
                        p->r = -EIO;
                        snprintf(p->message, sizeof(p->message), "opening %.300s: its worker died (status %d)",
                                 p->file.path, status);
                }
        }
        DiscOpen *o = p->owner;
        if (++o->n_done == o->n)
                finish(o);
}

DiscOpen *disc_open_start(Workers *w, const DiscFile *files, size_t n, disc_open_done_fn done, void *ctx) {
        if (n == 0 || n > DISC_OPEN_FILES_MAX)
                return NULL;
        DiscOpen *o = xcalloc(1, sizeof(*o));
        o->p = xcalloc(n, sizeof(Pending));
        o->n = n;
        o->done = done;
        o->ctx = ctx;
        for (size_t i = 0; i < n; i++) {
                Pending *p = &o->p[i];
                *p = (Pending){.owner = o, .file = files[i], .fd = -1};
                if (!(p->job = worker_queue_fds(w, child, &p->file, on_opened, p))) {
                        disc_open_cancel(o);
                        return NULL;
                }
        }
        return o;
}

void disc_open_cancel(DiscOpen *o) {
        if (!o)
                return;
        for (size_t i = 0; i < o->n; i++) {
                worker_cancel(o->p[i].job);
                if (o->p[i].fd >= 0)
                        close(o->p[i].fd);
        }
        free(o->p);
        free(o);
}
