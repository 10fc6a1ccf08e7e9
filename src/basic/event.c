#include "basic/event.h"

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "basic/log.h"
#include "basic/util.h"

enum source_kind { SOURCE_IO, SOURCE_SIGNAL, SOURCE_TIMER };

struct EventSource {
        EventLoop *loop;
        enum source_kind kind;
        int fd;
        bool own_fd;
        bool dead;
        void *userdata;
        union {
                event_io_fn io;
                event_signal_fn sig;
                event_timer_fn timer;
        } fn;
        EventSource *next_dead;
};

struct EventLoop {
        int epfd;
        bool exiting;
        int exit_code;
        EventSource *dead; /* freed after the current dispatch round */
};

int event_loop_new(EventLoop **ret) {
        EventLoop *l = xcalloc(1, sizeof(*l));
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (l->epfd < 0) {
                int r = -errno;
                free(l);
                return r;
        }
        *ret = l;
        return 0;
}

static void reap_dead(EventLoop *l) {
        while (l->dead) {
                EventSource *s = l->dead;
                l->dead = s->next_dead;
                free(s);
        }
}

void event_loop_free(EventLoop *l) {
        if (!l)
                return;
        reap_dead(l);
        close(l->epfd);
        free(l);
}

static int add_source(EventLoop *l, enum source_kind kind, int fd, bool own_fd, uint32_t events, void *userdata,
                      EventSource **ret) {
        EventSource *s = xcalloc(1, sizeof(*s));
        s->loop = l;
        s->kind = kind;
        s->fd = fd;
        s->own_fd = own_fd;
        s->userdata = userdata;
        struct epoll_event ev = {.events = events, .data.ptr = s};
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                int r = -errno;
                free(s);
                return r;
        }
        *ret = s;
        return 0;
}

int event_add_io(EventLoop *l, int fd, uint32_t events, event_io_fn fn, void *userdata, EventSource **ret) {
        EventSource *s;
        int r = add_source(l, SOURCE_IO, fd, false, events, userdata, &s);
        if (r < 0)
                return r;
        s->fn.io = fn;
        if (ret)
                *ret = s;
        return 0;
}

int event_source_set_events(EventSource *s, uint32_t events) {
        struct epoll_event ev = {.events = events, .data.ptr = s};
        return epoll_ctl(s->loop->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0 ? -errno : 0;
}

void event_source_free(EventSource *s) {
        if (!s || s->dead)
                return;
        epoll_ctl(s->loop->epfd, EPOLL_CTL_DEL, s->fd, NULL);
        if (s->own_fd)
                close(s->fd);
        s->dead = true;
        s->next_dead = s->loop->dead;
        s->loop->dead = s;
}

int event_add_signal(EventLoop *l, const int *signals, size_t n, event_signal_fn fn, void *userdata,
                     EventSource **ret) {
        sigset_t mask;
        sigemptyset(&mask);
        for (size_t i = 0; i < n; i++)
                sigaddset(&mask, signals[i]);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        int fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (fd < 0)
                return -errno;
        EventSource *s;
        int r = add_source(l, SOURCE_SIGNAL, fd, true, EPOLLIN, userdata, &s);
        if (r < 0) {
                close(fd);
                return r;
        }
        s->fn.sig = fn;
        if (ret)
                *ret = s;
        return 0;
}

static struct timespec ms_to_timespec(uint64_t ms) {
        return (struct timespec){(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
}

/* first_ms 0 would disarm a timerfd: the earliest is 1 ns */
static int timer_new(EventLoop *l, uint64_t first_ms, uint64_t interval_ms, event_timer_fn fn, void *userdata,
                     EventSource **ret) {
        int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (fd < 0)
                return -errno;
        struct itimerspec its = {.it_interval = ms_to_timespec(interval_ms), .it_value = ms_to_timespec(first_ms)};
        if (!first_ms)
                its.it_value.tv_nsec = 1;
        if (timerfd_settime(fd, 0, &its, NULL) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        EventSource *s;
        int r = add_source(l, SOURCE_TIMER, fd, true, EPOLLIN, userdata, &s);
        if (r < 0) {
                close(fd);
                return r;
        }
        s->fn.timer = fn;
        if (ret)
                *ret = s;
        return 0;
}

int event_add_timer(EventLoop *l, uint64_t interval_ms, event_timer_fn fn, void *userdata, EventSource **ret) {
        return timer_new(l, interval_ms, interval_ms, fn, userdata, ret);
}

int event_add_timer_once(EventLoop *l, uint64_t delay_ms, event_timer_fn fn, void *userdata, EventSource **ret) {
        return timer_new(l, delay_ms, 0, fn, userdata, ret);
}

void event_loop_exit(EventLoop *l, int code) {
        l->exiting = true;
        l->exit_code = code;
}

static int dispatch(EventSource *s, uint32_t events) {
        switch (s->kind) {
        case SOURCE_IO:
                return s->fn.io(s, s->fd, events, s->userdata);
        case SOURCE_SIGNAL: {
                struct signalfd_siginfo si;
                while (read(s->fd, &si, sizeof(si)) == sizeof(si)) {
                        int r = s->fn.sig(s, (int)si.ssi_signo, s->userdata);
                        if (r < 0 || s->dead)
                                return r;
                }
                return 0;
        }
        case SOURCE_TIMER: {
                uint64_t expirations;
                if (read(s->fd, &expirations, sizeof(expirations)) != sizeof(expirations))
                        return 0;
                return s->fn.timer(s, s->userdata);
        }
        }
        return 0;
}

int event_loop_run(EventLoop *l) {
        l->exiting = false; /* a loop may run again after an exit */
        while (!l->exiting) {
                struct epoll_event evs[64];
                int n = epoll_wait(l->epfd, evs, 64, -1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                for (int i = 0; i < n && !l->exiting; i++) {
                        EventSource *s = evs[i].data.ptr;
                        if (s->dead)
                                continue;
                        int r = dispatch(s, evs[i].events);
                        if (r < 0)
                                log_error("event source on fd %d failed: %s", s->fd, strerror(-r));
                }
                reap_dead(l);
        }
        return l->exit_code;
}
