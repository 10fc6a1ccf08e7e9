/* redeem.c - console.redeem over vmbatchd's socket, without blocking. See
 * redeem.h. */
#include "web/redeem.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "basic/frame.h"
#include "basic/util.h"

int redeem_start(const char *socket_path, const char *token, const char *from) {
        return redeem_start_op(socket_path, "console.redeem", token, from);
}

int redeem_start_op(const char *socket_path, const char *op, const char *token, const char *from) {
        json_t *req = json_pack("{s:s, s:{s:s, s:s}}", "op", op, "args", "token", token, "from", from);
        if (!req)
                return -ENOMEM;
        int r = rpc_start(socket_path, req);
        json_decref(req);
        return r;
}

int rpc_start(const char *socket_path, const json_t *req) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(socket_path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, socket_path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* a unix connect does not wait for the peer's accept: it succeeds or
         * fails at once (EAGAIN: the daemon's backlog is full) */
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        size_t len;
        _cleanup_free_ char *frame = frame_encode(req, &len);
        if (!frame)
                return -ENOMEM;
        /* a new socket's send buffer is empty and far larger than this */
        ssize_t n = send(fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0)
                return -errno;
        if ((size_t)n != len)
                return -EAGAIN;
        return TAKE_FD(fd);
}

struct RedeemReader {
        char buf[64 * 1024]; /* an answer is a few hundred bytes: a bigger one is not ours */
        size_t len;
        int fd;
        json_t *msg;
};

RedeemReader *redeem_reader_new(void) {
        RedeemReader *r = calloc(1, sizeof(*r));
        if (r)
                r->fd = -1;
        return r;
}

void redeem_reader_free(RedeemReader *r) {
        if (!r)
                return;
        if (r->fd >= 0)
                close(r->fd);
        json_decref(r->msg);
        free(r);
}

int redeem_read(RedeemReader *r, int fd, json_t **ret_msg, int *ret_fd) {
        for (;;) {
                if (r->len == sizeof(r->buf))
                        return -EMSGSIZE;
                union {
                        struct cmsghdr h;
                        char buf[CMSG_SPACE(sizeof(int) * 4)];
                } control;
                struct iovec iov = {r->buf + r->len, sizeof(r->buf) - r->len};
                struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                                    .msg_controllen = sizeof(control)};
                ssize_t k = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return errno == EAGAIN ? 0 : -errno;
                /* keep the first fd that came; any other is not ours to hold */
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                                size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                                int got[4];
                                memcpy(got, CMSG_DATA(c), sizeof(int) * (nfds > 4 ? 4 : nfds));
                                for (size_t i = 0; i < nfds && i < 4; i++) {
                                        if (r->fd < 0)
                                                r->fd = got[i];
                                        else
                                                close(got[i]);
                                }
                        }
                if (mh.msg_flags & MSG_CTRUNC)
                        return -EBADMSG; /* fds were cut: not an answer we trust */
                if (k == 0)
                        return -EPIPE;
                r->len += (size_t)k;
                json_t *msg = NULL;
                ssize_t used = frame_parse(r->buf, r->len, &msg, NULL);
                if (used < 0)
                        return -EBADMSG;
                if (used == 0)
                        continue;
                r->msg = msg;
                *ret_msg = msg;
                *ret_fd = TAKE_FD(r->fd);
                return 1;
        }
}

static void copy_field(char *dst, size_t size, const char *src) { snprintf(dst, size, "%s", src ? src : ""); }

int redeem_parse_answer(const json_t *msg, Redeemed *ret, char *ret_reason, size_t reason_len) {
        json_t *okv = json_object_get(msg, "ok");
        if (!json_is_boolean(okv))
                return -EBADMSG;
        if (!json_is_true(okv)) {
                json_t *e = json_object_get(msg, "error");
                const char *code = json_string_value(json_object_get(e, "code"));
                const char *m = json_string_value(json_object_get(e, "message"));
                copy_field(ret_reason, reason_len, m ? m : "the console token was refused");
                return streq(code, "ENOENT") ? -ENOENT : streq(code, "ETIMEDOUT") ? -ETIMEDOUT : -EACCES;
        }
        json_t *d = json_object_get(msg, "data");
        json_t *inst = json_object_get(d, "instance");
        const char *user = json_string_value(json_object_get(d, "user"));
        const char *vm = json_string_value(json_object_get(d, "vm"));
        const char *pw = json_string_value(json_object_get(d, "vnc_password"));
        if (!json_is_integer(inst) || json_integer_value(inst) < 0 || !user || !vm || !pw ||
            strlen(pw) >= sizeof(ret->vnc_password))
                return -EBADMSG;
        ret->instance = (uint64_t)json_integer_value(inst);
        copy_field(ret->user, sizeof(ret->user), user);
        copy_field(ret->vm, sizeof(ret->vm), vm);
        copy_field(ret->vnc_password, sizeof(ret->vnc_password), pw);
        copy_field(ret->issued_to, sizeof(ret->issued_to), json_string_value(json_object_get(d, "issued_to")));
        return 0;
}

bool redeem_token_valid(const char *token) {
        size_t n = 0;
        for (; token[n]; n++)
                if (!((token[n] >= '0' && token[n] <= '9') || (token[n] >= 'a' && token[n] <= 'f')))
                        return false;
        return n == 32;
}
