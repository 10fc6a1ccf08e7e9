/* event.h - the one event loop of a process: epoll over fds, a signalfd for
 * signals, timerfds for periodic work. Single-threaded; callbacks run to
 * completion. */
#pragma once

#include <signal.h>
#include <stdint.h>

typedef struct EventLoop EventLoop;
typedef struct EventSource EventSource;

/* events: EPOLLIN/EPOLLOUT/...; return <0 from a callback only for fatal
 * errors (it is logged; the source stays registered). */
typedef int (*event_io_fn)(EventSource *s, int fd, uint32_t events, void *userdata);
typedef int (*event_signal_fn)(EventSource *s, int signo, void *userdata);
typedef int (*event_timer_fn)(EventSource *s, void *userdata);

int event_loop_new(EventLoop **ret);
void event_loop_free(EventLoop *l);

int event_add_io(EventLoop *l, int fd, uint32_t events, event_io_fn fn, void *userdata, EventSource **ret);
int event_source_set_events(EventSource *s, uint32_t events);
/* Unregister and free the source (does not close the fd). Safe to call
 * from inside the source's own callback. */
void event_source_free(EventSource *s);

/* Blocks the signals and delivers them through a signalfd. */
int event_add_signal(EventLoop *l, const int *signals, size_t n, event_signal_fn fn, void *userdata,
                     EventSource **ret);
/* Periodic timer, first expiry after interval_ms. */
int event_add_timer(EventLoop *l, uint64_t interval_ms, event_timer_fn fn, void *userdata, EventSource **ret);
/* One-shot timer: fires once, delay_ms from now (0: at the next round); the
 * source stays until freed (free it in its callback, or to cancel it). */
int event_add_timer_once(EventLoop *l, uint64_t delay_ms, event_timer_fn fn, void *userdata, EventSource **ret);

/* Run until event_loop_exit(); returns the exit code given there. */
int event_loop_run(EventLoop *l);
void event_loop_exit(EventLoop *l, int code);
