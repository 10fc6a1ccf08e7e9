/* seal.c - an exam's hand-in sealed (see seal.h for who opens what). */
#include "disk/seal.h"

#include <fcntl.h>
#include <jansson.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/spawn.h"
#include "disk/disk.h"

#define STAGE_COPY "overlay.qcow2"
#define STAGE_OUT "sealed.qcow2"

/* ---- a file opened by a child that became its user ---- */

static int send_fd(int sock, int fd, const char *msg) {
        char cbuf[CMSG_SPACE(sizeof(int))] = {0};
        struct iovec iov = {.iov_base = (void *)msg, .iov_len = strlen(msg) + 1};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        if (fd >= 0) {
                mh.msg_control = cbuf;
                mh.msg_controllen = sizeof(cbuf);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int recv_fd(int sock, char *msg, size_t len, int *ret_fd) {
        char cbuf[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {.iov_base = msg, .iov_len = len - 1};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
        ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        if (n <= 0)
                return n < 0 ? -errno : -EIO;
        msg[n] = 0;
        *ret_fd = -1;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        if (c && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
                memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
        return 0;
}

/* disc_open_one(f) in a child that became f->uid (the header is parsed
 * with that user's rights only); the fd comes back over a socket pair. */
static int open_as(const DiscFile *f, int *ret_fd, Error *err) {
        Cred cred;
        char cname[64];
        int r = cred_from_uid(f->uid, &cred, cname, sizeof(cname), err);
        if (r < 0)
                return r;
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return error_set(err, -errno, "socketpair: %m");
        pid_t pid = fork();
        if (pid < 0) {
                close(sv[0]);
                close(sv[1]);
                return error_set(err, -errno, "fork: %m");
        }
        if (pid == 0) {
                close(sv[0]);
                Error e = {0};
                int fd = -1;
                int q = spawn_drop_privileges(cred.uid, cred.gid, cred.name);
                if (q < 0)
                        error_set(&e, q, "cannot become %s", cred.name);
                else
                        q = disc_open_one(f, &fd, &e);
                char msg[600];
                snprintf(msg, sizeof(msg), "%d %s", -q, q < 0 ? e.message : "ok");
                _exit(send_fd(sv[1], fd, msg) < 0 ? 1 : 0);
        }
        close(sv[1]);
        char msg[600];
        int fd = -1, code = 0, used = 0;
        r = recv_fd(sv[0], msg, sizeof(msg), &fd);
        close(sv[0]);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r < 0 || sscanf(msg, "%d %n", &code, &used) != 1)
                r = error_set(err, -EIO, "opening %s as %s: the child died", f->path, cred.name);
        else if (code != 0)
                r = error_set(err, -code, "%s", msg + used);
        else if (fd < 0)
                r = error_set(err, -EIO, "opening %s as %s: no fd came back", f->path, cred.name);
        if (r < 0) {
                if (fd >= 0)
                        close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

/* ---- the steps ---- */

static int copy_fd(int from, int to, Error *err) {
        char buf[1 << 16];
        off_t off = 0;
        for (;;) {
                ssize_t n = pread(from, buf, sizeof(buf), off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return error_set(err, -errno, "reading the overlay: %m");
                if (n == 0)
                        return fsync(to) < 0 ? error_set(err, -errno, "fsync: %m") : 0;
                for (ssize_t w = 0; w < n;) {
                        ssize_t k = pwrite(to, buf + w, (size_t)(n - w), off + w);
                        if (k < 0 && errno != EINTR)
                                return error_set(err, -errno, "writing the copy of the overlay: %m");
                        if (k > 0)
                                w += k;
                }
                off += n;
        }
}

int disc_sha256_copy(int from, int to, disc_progress_fn progress, void *userdata, char ret[65], Error *err) {
        struct sha256_ctx ctx;
        static uint8_t buf[1 << 20]; /* one thread: a worker, or the CLI */
        uint8_t digest[SHA256_DIGEST_SIZE];
        sha256_init(&ctx);
        for (off_t off = 0;;) {
                ssize_t n = pread(from, buf, sizeof(buf), off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return error_set(err, -errno, "reading the sealed disc: %m");
                if (n == 0)
                        break;
                sha256_update(&ctx, (size_t)n, buf);
                for (ssize_t w = 0; to >= 0 && w < n;) {
                        ssize_t k = pwrite(to, buf + w, (size_t)(n - w), off + w);
                        if (k < 0 && errno != EINTR)
                                return error_set(err, -errno, "writing the copy: %m");
                        if (k > 0)
                                w += k;
                }
                off += n;
                if (progress)
                        progress((uint64_t)off, userdata);
        }
        sha256_digest(&ctx, sizeof(digest), digest);
        for (size_t i = 0; i < sizeof(digest); i++)
                snprintf(ret + 2 * i, 3, "%02x", digest[i]);
        return 0;
}

int disc_sha256_fd(int fd, char ret[65], Error *err) {
        return disc_sha256_copy(fd, -1, NULL, NULL, ret, err);
}

/* dir, a directory (not a link) owned by root or uid, made 0750 for uid */
static int ensure_dir(const char *dir, const Cred *owner, Error *err) {
        _cleanup_free_ char *parent = xstrdup(dir);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) {
                *slash = 0;
                if (mkdir(parent, 0755) < 0 && errno != EEXIST)
                        return error_set(err, -errno, "cannot create %s: %m", parent);
        }
        if (mkdir(dir, 0750) == 0 && chown(dir, owner->uid, owner->gid) < 0)
                return error_set(err, -errno, "cannot chown %s: %m", dir);
        struct stat st;
        if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || (st.st_uid != 0 && st.st_uid != owner->uid))
                return error_set(err, -EPERM, "%s is not a folder of root or %s: refused", dir, owner->name);
        return 0;
}

/* The chain as qemu's json: filename, from the staged copy down. */
static char *chain_json(const char *top, const SealRequest *req) {
        json_t *backing = json_null();
        for (size_t i = req->n_chain; i-- > 1;)
                backing = json_pack("{s:s, s:{s:s, s:s}, s:o}", "driver", "qcow2", "file", "driver", "file",
                                    "filename", req->chain[i].path, "backing", backing);
        json_t *o = json_pack("{s:s, s:{s:s, s:s}, s:o}", "driver", "qcow2", "file", "driver", "file", "filename", top,
                              "backing", backing);
        char *s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        return s;
}

typedef struct Stage {
        char dir[PATH_MAX];
        char copy[PATH_MAX + 32];
        char out[PATH_MAX + 32];
} Stage;

static void stage_remove(const Stage *s) {
        unlink(s->copy);
        unlink(s->out);
        rmdir(s->dir);
}

/* Steps 1 and 2: the overlay's bytes, from the fd the student's child
 * opened and checked, into the stage (the converter's, 0600), checked again. */
static int stage_overlay(const SealRequest *req, const Stage *s, const Cred *conv, Error *err) {
        int top = -1;
        int r = open_as(&req->chain[0], &top, err);
        if (r < 0)
                return r;
        int fd = open(s->copy, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
                close(top);
                return error_set(err, -errno, "cannot create %s: %m", s->copy);
        }
        r = copy_fd(top, fd, err);
        close(top);
        struct stat st;
        if (r >= 0 && (fchown(fd, conv->uid, conv->gid) < 0 || fstat(fd, &st) < 0))
                r = error_set(err, -errno, "%s: %m", s->copy);
        close(fd);
        if (r < 0)
                return r;
        DiscFile again = req->chain[0];
        if ((size_t)snprintf(again.path, sizeof(again.path), "%s", s->copy) >= sizeof(again.path))
                return error_set(err, -ENAMETOOLONG, "%s: too long a path", s->copy);
        again.uid = conv->uid;
        again.dev = (uint64_t)st.st_dev;
        again.ino = (uint64_t)st.st_ino;
        again.writable = false;
        if ((r = open_as(&again, &fd, err)) < 0) {
                error_prefix(err, "the hand-in changed while it was copied");
                return r;
        }
        close(fd);
        return 0;
}

int disc_seal(const SealRequest *req, char ret_path[PATH_MAX], char ret_sha256[65], Error *err) {
        if (req->n_chain < 2 || req->n_chain > SEAL_CHAIN_MAX)
                return error_set(err, -EINVAL, "a hand-in is an overlay on its template (a chain of 2..%d files)",
                                 SEAL_CHAIN_MAX);
        Cred teacher, conv;
        char tname[64], cname[64];
        int r = cred_from_uid(req->teacher_uid, &teacher, tname, sizeof(tname), err);
        if (r < 0 || (r = cred_from_uid(req->chain[1].uid, &conv, cname, sizeof(cname), err)) < 0 ||
            (r = ensure_dir(req->dir, &teacher, err)) < 0)
                return r;
        Stage s;
        if ((size_t)snprintf(s.dir, sizeof(s.dir), "%s/.seal-%s", req->dir, req->name) >= sizeof(s.dir))
                return error_set(err, -ENAMETOOLONG, "%s: too long a path for a hand-in", req->dir);
        snprintf(s.copy, sizeof(s.copy), "%s/" STAGE_COPY, s.dir);
        snprintf(s.out, sizeof(s.out), "%s/" STAGE_OUT, s.dir);
        stage_remove(&s); /* a seal that died half-way left it */
        if (mkdir(s.dir, 0700) < 0 || chown(s.dir, conv.uid, conv.gid) < 0)
                return error_set(err, -errno, "cannot make %s: %m", s.dir);
        r = stage_overlay(req, &s, &conv, err);
        _cleanup_free_ char *src = r >= 0 ? chain_json(s.copy, req) : NULL;
        /* step 3: the standalone image, as the template's owner */
        if (r >= 0)
                r = disk_export(&conv, src, s.out, err);
        int fd = -1;
        struct stat st;
        char final[PATH_MAX + 160];
        snprintf(final, sizeof(final), "%s/%s", req->dir, req->name);
        if (r >= 0 && ((fd = open(s.out, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0 ||
                       !S_ISREG(st.st_mode)))
                r = error_set(err, fd < 0 ? -errno : -EINVAL, "%s is not the image qemu-img made", s.out);
        /* step 4: the teacher's, read-only to them, never over an older one */
        if (r >= 0 && (fchown(fd, teacher.uid, teacher.gid) < 0 || fchmod(fd, 0440) < 0))
                r = error_set(err, -errno, "cannot give %s to %s: %m", s.out, teacher.name);
        if (r >= 0 && renameat2(AT_FDCWD, s.out, AT_FDCWD, final, RENAME_NOREPLACE) < 0)
                r = error_set(err, -errno, "cannot move the sealed disc to %s: %m", final);
        if (r >= 0)
                r = disc_sha256_fd(fd, ret_sha256, err);
        if (fd >= 0)
                close(fd);
        stage_remove(&s);
        if (r < 0)
                return r;
        if ((size_t)snprintf(ret_path, PATH_MAX, "%s", final) >= PATH_MAX)
                return error_set(err, -ENAMETOOLONG, "%s: too long a path", final);
        return 0;
}
