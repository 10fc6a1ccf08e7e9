/* serial_log.c - see serial_log.h. */
#include "starter/serial_log.h"

#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/util.h"

/* Keep the newest keep bytes of a log of size bytes, at its start. */
static void shrink(SerialLog *l, uint64_t size, uint64_t keep) {
        char buf[65536];
        for (uint64_t done = 0; done < keep;) {
                size_t n = keep - done < sizeof(buf) ? (size_t)(keep - done) : sizeof(buf);
                ssize_t k = pread(l->log, buf, n, (off_t)(size - keep + done));
                if (k <= 0 || pwrite(l->log, buf, (size_t)k, (off_t)done) != k)
                        break;
                done += (uint64_t)k;
        }
        (void)!ftruncate(l->log, (off_t)keep);
}

void serial_log_append(SerialLog *l, const char *buf, size_t n) {
        uint64_t half = l->max / 2;
        if (l->max && n > half) { /* only its newest half would stay anyway */
                buf += n - half;
                n = (size_t)half;
        }
        struct stat st;
        if (fstat(l->log, &st) < 0)
                return;
        uint64_t size = (uint64_t)st.st_size;
        if (l->max && size + n > l->max) {
                uint64_t keep = size < half - n ? size : half - n;
                shrink(l, size, keep);
                size = keep;
        }
        (void)!pwrite(l->log, buf, n, (off_t)size);
}

int serial_marker_init(SerialMarker *m, const char *text) {
        size_t n = text ? strlen(text) : 0;
        *m = (SerialMarker){0};
        if (n == 0 || n >= sizeof(m->text))
                return -EINVAL;
        memcpy(m->text, text, n);
        m->len = n;
        return 0;
}

bool serial_marker_feed(SerialMarker *m, const char *buf, size_t n) {
        if (m->seen || m->len == 0 || n == 0)
                return false;
        /* across the seam: the kept tail and the piece's first len-1 bytes */
        char seam[2 * SERIAL_MARKER_MAX];
        size_t head = n < m->len - 1 ? n : m->len - 1;
        memcpy(seam, m->tail, m->n_tail);
        memcpy(seam + m->n_tail, buf, head);
        if (memmem(seam, m->n_tail + head, m->text, m->len) || memmem(buf, n, m->text, m->len)) {
                m->seen = true;
                return true;
        }
        /* the new tail: the newest len-1 bytes of tail + buf */
        size_t keep = m->len - 1;
        if (n >= keep) {
                memcpy(m->tail, buf + n - keep, keep);
                m->n_tail = keep;
        } else {
                size_t total = m->n_tail + n, drop = total > keep ? total - keep : 0;
                memmove(m->tail, m->tail + drop, m->n_tail - drop);
                memcpy(m->tail + m->n_tail - drop, buf, n);
                m->n_tail = total - drop;
        }
        return false;
}

/* false at the pipe's end (qemu closed it) */
static bool drain(SerialLog *l) {
        char buf[65536];
        for (;;) {
                ssize_t n = read(l->rd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return errno == EAGAIN;
                if (n == 0)
                        return false;
                serial_log_append(l, buf, (size_t)n);
                if (l->marker && serial_marker_feed(l->marker, buf, (size_t)n) && l->on_marker)
                        l->on_marker(l->marker_data);
        }
}

void serial_log_drain(SerialLog *l) {
        if (l->rd >= 0 && l->log >= 0)
                drain(l);
}

static int on_readable(EventSource *src, int fd, uint32_t events, void *userdata) {
        SerialLog *l = userdata;
        if (!drain(l))
                event_source_free(TAKE_PTR(l->src));
        return 0;
}

int serial_log_open(SerialLog *l, const char *path, int log_fd, uint64_t max, Error *err) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
                int r = error_set(err, -errno, "pipe: %m");
                if (log_fd >= 0)
                        close(log_fd);
                return r;
        }
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        fcntl(p[0], F_SETPIPE_SZ, 1 << 20); /* boot messages wait here until the loop runs */
        l->log = log_fd >= 0 ? log_fd : open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (l->log < 0) {
                int r = error_set(err, -errno, "cannot open the serial log %s: %m", path);
                close(p[0]);
                close(p[1]);
                return r;
        }
        l->rd = p[0];
        l->max = max;
        return p[1];
}

int serial_log_watch(SerialLog *l, EventLoop *loop) {
        return l->rd >= 0 ? event_add_io(loop, l->rd, EPOLLIN, on_readable, l, &l->src) : 0;
}

void serial_log_close(SerialLog *l) {
        event_source_free(TAKE_PTR(l->src));
        if (l->rd >= 0)
                close(l->rd);
        if (l->log >= 0)
                close(l->log);
        l->rd = l->log = -1;
}
