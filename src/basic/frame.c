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
