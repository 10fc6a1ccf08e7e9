/* conn.c - a framed, non-blocking stream connection on the event loop.
 * See conn.h. */
#include "basic/conn.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include "basic/frame.h"
#include "basic/util.h"

#define READ_CHUNK 65536

struct Conn {
        EventLoop *loop;
        int fd;
        const ConnOps *ops;
        void *data;
        EventSource *source;
        EventSource *kick; /* deferred work: buffered frames after a resume, reporting the end */
        char *in;
        size_t in_len, in_cap;
        char *out;
        size_t out_len, out_off;
        int out_fds[FRAME_FDS_MAX]; /* ride on the byte at out_fd_at */
        size_t n_out_fds, out_fd_at;
        bool paused, closing;
        bool ended, reported; /* the end happened / ops->closed was called */
        int end_r;
        unsigned busy; /* inside one of our callbacks: conn_free waits for it */
        bool freed;
};

static void really_free(Conn *c) {
        event_source_free(c->source);
        event_source_free(c->kick);
        close(c->fd);
        close_fds(c->out_fds, c->n_out_fds);
        free(c->in);
        free(c->out);
        free(c);
}

void conn_free(Conn *c) {
        if (!c)
                return;
        if (c->busy) {
                c->freed = true;
                return;
        }
        really_free(c);
}

static void update_events(Conn *c) {
        if (c->freed || !c->source)
                return;
        uint32_t ev = 0;
        if (!c->ended) {
                if (!c->paused && !c->closing)
                        ev |= EPOLLIN;
                if (c->out_off < c->out_len)
                        ev |= EPOLLOUT;
        }
        event_source_set_events(c->source, ev);
}

static int on_kick(EventSource *s, void *userdata);

static void kick(Conn *c) {
        if (!c->kick && !c->freed)
                event_add_timer_once(c->loop, 0, on_kick, c, &c->kick);
}

static void end(Conn *c, int r) {
        if (c->ended)
                return;
        c->ended = true;
        c->end_r = r;
        update_events(c);
        kick(c); /* reported from the loop, not from inside the caller */
}

/* After a callback of ours: report the end once, free if asked to. */
static void finish(Conn *c) {
        if (c->busy)
                return;
        if (c->ended && !c->reported && !c->freed) {
                c->reported = true;
                c->busy++;
                c->ops->closed(c->data, c->end_r);
                c->busy--;
        }
        if (c->freed)
                really_free(c);
}

static void flush(Conn *c) {
        while (c->out_off < c->out_len) {
                size_t len = c->out_len - c->out_off;
                ssize_t n;
                if (c->n_out_fds && c->out_off == c->out_fd_at) {
                        n = send_with_fds(c->fd, c->out + c->out_off, len, c->out_fds, c->n_out_fds, MSG_DONTWAIT);
                        if (n > 0) {
                                close_fds(c->out_fds, c->n_out_fds);
                                c->n_out_fds = 0;
                        }
                } else {
                        if (c->n_out_fds && c->out_fd_at > c->out_off)
                                len = c->out_fd_at - c->out_off; /* up to the fds' byte */
                        n = send(c->fd, c->out + c->out_off, len, MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (n < 0)
                                n = -errno;
                }
                if (n == -EINTR)
                        continue;
                if (n == -EAGAIN)
                        break;
                if (n < 0) {
                        end(c, (int)n);
                        return;
                }
                c->out_off += (size_t)n;
        }
        if (c->out_off == c->out_len) {
                free(c->out);
                c->out = NULL;
                c->out_len = c->out_off = 0;
                if (c->closing) {
                        end(c, 0);
                        return;
                }
        }
        update_events(c);
}

/* Hand on the whole frames in the buffer while nobody paused us. */
static void process_frames(Conn *c) {
        size_t used = 0;
        while (used < c->in_len && !c->paused && !c->closing && !c->ended && !c->freed) {
                json_t *msg = NULL;
                size_t consumed = 0;
                ssize_t r = frame_parse(c->in + used, c->in_len - used, &msg, &consumed);
                if (r == 0)
                        break;
                if (r == -EMSGSIZE) {
                        c->ops->frame(c->data, NULL, -EMSGSIZE);
                        used = c->in_len;
                        conn_close(c);
                        break;
                }
                used += consumed;
                c->ops->frame(c->data, msg, r < 0 ? -EBADMSG : 0);
                json_decref(msg);
        }
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
}

static void receive(Conn *c, uint32_t events) {
        if (c->paused || c->closing) {
                /* not reading now; a peer that hung up is gone */
                if (events & (EPOLLHUP | EPOLLERR))
                        end(c, 0);
                return;
        }
        if (c->in_cap - c->in_len < READ_CHUNK) {
                size_t cap = c->in_cap ? c->in_cap * 2 : READ_CHUNK;
                if (cap > FRAME_MAX + 4 + READ_CHUNK)
                        cap = FRAME_MAX + 4 + READ_CHUNK;
                if (cap <= c->in_len) { /* cannot happen: frames are capped */
                        end(c, -EMSGSIZE);
                        return;
                }
                c->in = xrealloc(c->in, cap);
                c->in_cap = cap;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n < 0) {
                end(c, -errno);
                return;
        }
        if (n == 0) { /* the peer is done sending: what it asked for still goes out */
                c->closing = true;
                flush(c);
                return;
        }
        c->in_len += (size_t)n;
        process_frames(c);
}

static int on_io(EventSource *s, int fd, uint32_t events, void *userdata) {
        Conn *c = userdata;
        c->busy++;
        if (events & EPOLLOUT)
                flush(c);
        if (!c->ended && !c->freed && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                receive(c, events);
        c->busy--;
        finish(c);
        return 0;
}

static int on_kick(EventSource *s, void *userdata) {
        Conn *c = userdata;
        event_source_free(c->kick);
        c->kick = NULL;
        c->busy++;
        if (!c->ended)
                process_frames(c);
        c->busy--;
        finish(c);
        return 0;
}

int conn_new(EventLoop *loop, int fd, const ConnOps *ops, void *data, Conn **ret) {
        Conn *c = xcalloc(1, sizeof(*c));
        c->loop = loop;
        c->fd = fd;
        c->ops = ops;
        c->data = data;
        int r = event_add_io(loop, fd, EPOLLIN, on_io, c, &c->source);
        if (r < 0) {
                really_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

int conn_send(Conn *c, json_t *msg, int fd) {
        return conn_send_fds(c, msg, &fd, fd >= 0 ? 1 : 0);
}

int conn_send_fds(Conn *c, json_t *msg, const int *fds, size_t n_fds) {
        size_t n;
        char *frame = frame_encode(msg, &n);
        json_decref(msg);
        int r = 0;
        if (!frame)
                r = -E2BIG;
        else if (c->ended || c->closing)
                r = -EPIPE;
        else if (n_fds > FRAME_FDS_MAX)
                r = -E2BIG;
        else if (n_fds && c->n_out_fds)
                r = -EBUSY;
        if (r < 0) {
                free(frame);
                close_fds(fds, n_fds);
                return r;
        }
        if (n_fds) {
                memcpy(c->out_fds, fds, n_fds * sizeof(int));
                c->n_out_fds = n_fds;
                c->out_fd_at = c->out_len;
        }
        c->out = xrealloc(c->out, c->out_len + n);
        memcpy(c->out + c->out_len, frame, n);
        c->out_len += n;
        free(frame);
        flush(c);
        return 0;
}

void conn_pause(Conn *c) {
        c->paused = true;
        update_events(c);
}

void conn_resume(Conn *c) {
        c->paused = false;
        update_events(c);
        if (c->in_len)
                kick(c);
}

void conn_close(Conn *c) {
        if (c->closing || c->ended)
                return;
        c->closing = true;
        flush(c); /* ends it at once when nothing is queued */
}
