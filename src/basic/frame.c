#include "basic/frame.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>

char *frame_encode(const json_t *v, size_t *ret_len) {
        char *body = json_dumps(v, JSON_COMPACT);
        if (!body)
                return NULL;
        size_t n = strlen(body);
        if (n > FRAME_MAX) {
                free(body);
                return NULL;
        }
        char *buf = malloc(n + 4);
        if (!buf)
                abort();
        uint32_t be = htonl((uint32_t)n);
        memcpy(buf, &be, 4);
        memcpy(buf + 4, body, n);
        free(body);
        *ret_len = n + 4;
        return buf;
}

ssize_t frame_parse(const char *buf, size_t len, json_t **ret, size_t *ret_consumed) {
        *ret = NULL;
        if (ret_consumed)
                *ret_consumed = 0;
        if (len < 4)
                return 0;
        uint32_t be;
        memcpy(&be, buf, 4);
        uint32_t n = ntohl(be);
        if (n > FRAME_MAX)
                return -EMSGSIZE;
        if (len < 4 + (size_t)n)
                return 0;
        if (ret_consumed)
                *ret_consumed = 4 + (size_t)n;
        json_error_t jerr;
        json_t *v = json_loadb(buf + 4, n, JSON_REJECT_DUPLICATES, &jerr);
        if (!v || !json_is_object(v)) {
                json_decref(v);
                return -EBADMSG;
        }
        *ret = v;
        return (ssize_t)(4 + n);
}

int frame_send(int fd, const json_t *v) {
        size_t n;
        _cleanup_free_ char *buf = frame_encode(v, &n);
        if (!buf)
                return -EMSGSIZE;
        return loop_write(fd, buf, n);
}

int frame_recv(int fd, json_t **ret) {
        uint32_t be;
        int r = loop_read_exact(fd, &be, 4);
        if (r < 0)
                return r;
        uint32_t n = ntohl(be);
        if (n > FRAME_MAX)
                return -EMSGSIZE;
        _cleanup_free_ char *buf = malloc(n + 4);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, &be, 4);
        r = loop_read_exact(fd, buf + 4, n);
        if (r < 0)
                return r;
        ssize_t k = frame_parse(buf, n + 4, ret, NULL);
        return k < 0 ? (int)k : 0;
}

ssize_t send_with_fds(int fd, const void *buf, size_t n, const int *fds, size_t n_fds, int flags) {
        if (n_fds > FRAME_FDS_MAX)
                return -E2BIG;
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * FRAME_FDS_MAX)];
        } control = {0};
        struct iovec iov = {(void *)buf, n};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        if (n_fds > 0) {
                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
        }
        ssize_t k;
        do
                k = sendmsg(fd, &mh, MSG_NOSIGNAL | flags);
        while (k < 0 && errno == EINTR);
        return k < 0 ? -errno : k;
}

ssize_t send_with_fd(int fd, const void *buf, size_t n, int pass_fd, int flags) {
        return send_with_fds(fd, buf, n, &pass_fd, pass_fd >= 0 ? 1 : 0, flags);
}

int frame_send_fd(int fd, const json_t *v, int pass_fd) {
        size_t n;
        _cleanup_free_ char *buf = frame_encode(v, &n);
        if (!buf)
                return -EMSGSIZE;
        ssize_t k = send_with_fd(fd, buf, n, pass_fd, 0);
        if (k < 0)
                return (int)k;
        /* the fd went with the first byte; write the rest plainly */
        return (size_t)k < n ? loop_write(fd, buf + k, n - (size_t)k) : 0;
}

int frame_recv_fds(int fd, json_t **ret, int *fds, size_t max, size_t *ret_n) {
        *ret_n = 0;
        _cleanup_free_ char *buf = NULL;
        uint32_t be;
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int) * FRAME_FDS_MAX)];
        } control;
        struct iovec iov = {&be, 4};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                            .msg_controllen = sizeof(control)};
        ssize_t k;
        do
                k = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                        size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        int got[FRAME_FDS_MAX];
                        memcpy(got, CMSG_DATA(c), sizeof(int) * (nfds > FRAME_FDS_MAX ? FRAME_FDS_MAX : nfds));
                        for (size_t i = 0; i < nfds && i < FRAME_FDS_MAX; i++) {
                                if (*ret_n < max)
                                        fds[(*ret_n)++] = got[i];
                                else
                                        close(got[i]); /* more than expected */
                        }
                }
        if (k == 0)
                return -EPIPE;
        if (k < 4 && loop_read_exact(fd, (char *)&be + k, 4 - (size_t)k) < 0)
                goto fail;
        uint32_t n = ntohl(be);
        if (n > FRAME_MAX)
                goto fail;
        buf = malloc(n + 4);
        if (!buf)
                goto fail;
        memcpy(buf, &be, 4);
        if (loop_read_exact(fd, buf + 4, n) < 0 || frame_parse(buf, n + 4, ret, NULL) < 0)
                goto fail;
        return 0;
fail:
        close_fds(fds, *ret_n);
        *ret_n = 0;
        return -EBADMSG;
}

int frame_recv_fd(int fd, json_t **ret, int *ret_fd) {
        size_t n = 0;
        *ret_fd = -1;
        int r = frame_recv_fds(fd, ret, ret_fd, 1, &n);
        if (n == 0)
                *ret_fd = -1;
        return r;
}

int unix_connect(const char *path) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}
