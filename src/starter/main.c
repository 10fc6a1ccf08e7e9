/* vmbatch-starter - the per-VM monitor, what a batch job runs.
 *
 *   vmbatch-starter --instance N --socket PATH
 *
 * Runs as the VM's owner. Asks the local vmbatchd (node role) for the VM's
 * spec and receives the opened tap and the VM's files over the socket (the
 * node opened each as its user: qemu opens no path a user chose; the discs
 * go to qemu as fdsets, the kernel and initrd are copied into the private
 * runtime directory qemu boots them from); runs qemu as its child
 * (killed if the starter dies); sets the VNC password and follows the guest
 * over QMP; relays stop / suspend / resume from the daemon; reports the
 * state and, at the end, the exit. Its connection to the daemon is the VM's
 * liveness signal. If the daemon restarts, the starter keeps qemu running
 * and re-attaches; if it cannot within the grace period, it ends the VM.
 * Model: conmon: one event loop (basic/event.c) with four sources (qemu's
 * pidfd, the daemon's socket, QMP, a signalfd) and the timers of a small
 * phase enum; a SIGTERM is acted on in any phase, also while re-attaching. */
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "basic/instance-types.h"
#include "basic/event.h"
#include "basic/frame.h"
#include "basic/jsonutil.h"
#include "basic/spawn.h"
#include "starter/serial_log.h"
#include "batch/batch.h"
#include "build-config.h"
#include "qemu/cmdline.h"
#include "qemu/qmp.h"

#define STOP_GRACE_MS 30000       /* ACPI power button, then kill */
#define TERM_GRACE_MS 5000        /* SIGTERM from the batch system: be quick */
#define REATTACH_TIMEOUT_MS 60000 /* how long to wait for a restarted daemon */
#define PRESS_AGAIN_MS 2000       /* while stopping, the power button is pressed this often */

/* What the starter is doing with its vm. The link to the daemon is apart:
 * it may be lost (a daemon restart) in any phase, and is re-made meanwhile. */
typedef enum Phase {
        PHASE_RUNNING,  /* qemu runs */
        PHASE_STOPPING, /* the power button was pressed; qemu is killed at the deadline */
        PHASE_KILLED,   /* SIGKILL sent; waiting for qemu to exit */
} Phase;

typedef struct Starter {
        uint32_t instance;
        const char *socket;
        int daemon_fd;
        pid_t qemu;
        int qemu_pidfd;
        Qmp *qmp;
        char dir[PATH_MAX];
        char qmp_path[PATH_MAX + 16];
        Phase phase;
        const char *end_reason;
        int qemu_status;
        /* the event loop: four sources (qemu's pidfd, the daemon, QMP,
         * signals) and the timers of the phase */
        EventLoop *loop;
        EventSource *daemon_src, *qmp_src;
        EventSource *walltime;    /* --walltime: stop then (no scheduler does it) */
        EventSource *press_again; /* while stopping: the button again (a booting guest misses it) */
        EventSource *kill_timer;  /* while stopping: the deadline */
        EventSource *reattach;    /* the daemon lost: try again every second */
        uint64_t reattach_deadline_usec;
        bool reattach_sent;       /* node.reattach sent, its answer awaited */
        SerialLog serial; /* the guest's serial port, capped */
        /* --warm: a VM of an exam not yet started; paused once its console
         * prints the marker (or at the warm timeout), resumed by the exam */
        SerialMarker warm;
        bool warm_waiting;        /* the marker is still awaited */
        uint64_t warm_since_usec;
        EventSource *warm_timer;
} Starter;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "vmbatch-starter: ");
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, "\n");
        va_end(ap);
}

static int request(Starter *s, const char *op, json_t *args) {
        json_t *req = json_pack("{s:s, s:o}", "op", op, "args", args);
        int r = frame_send(s->daemon_fd, req);
        json_decref(req);
        return r; /* the answer is read by the loop like any other message */
}

/* Tell the node what the vm does now (running, paused). */
static void report_state(Starter *s, InstanceState state) {
        request(s, "node.state", json_pack("{s:s}", "state", instance_state_to_string(state)));
}

#define ATTACH_RETRY_MS 30000 /* a job may start before its submission is recorded */

/* What the node handed over with the spec: the tap first, then the VM's
 * files in the order the spec gives their positions. */
typedef struct Handed {
        int fds[FRAME_FDS_MAX];
        size_t n;
} Handed;

static void handed_close(Handed *h) {
        close_fds(h->fds, h->n);
        h->n = 0;
}

static int attach_once(Starter *s, json_t **ret_spec, Handed *ret, Error *err);

static int attach(Starter *s, json_t **ret_spec, Handed *ret, Error *err) {
        uint64_t deadline = now_usec() + ATTACH_RETRY_MS * 1000ULL;
        for (;;) {
                int r = attach_once(s, ret_spec, ret, err);
                if (r != -EAGAIN || now_usec() >= deadline)
                        return r;
                close(s->daemon_fd);
                s->daemon_fd = -1;
                error_clear(err);
                usleep(200000);
        }
}

static int attach_once(Starter *s, json_t **ret_spec, Handed *ret, Error *err) {
        int fd = unix_connect(s->socket);
        if (fd < 0)
                return error_set(err, fd, "cannot reach vmbatchd at %s: %s", s->socket, strerror(-fd));
        s->daemon_fd = fd;
        const char *job = batch_job_id_from_env();
        json_t *req = json_pack("{s:s, s:{s:I, s:s?}}", "op", "node.attach", "args", "instance",
                                (json_int_t)s->instance, "job_id", job);
        int r = frame_send(fd, req);
        json_decref(req);
        json_t *resp = NULL;
        if (r >= 0)
                r = frame_recv_fds(fd, &resp, ret->fds, ELEMENTSOF(ret->fds), &ret->n);
        if (r < 0)
                return error_set(err, r, "vmbatchd did not answer: %s", strerror(-r));
        if (!json_is_true(json_object_get(resp, "ok"))) {
                json_t *e = json_object_get(resp, "error");
                r = streq(json_string_value(json_object_get(e, "code")), "EAGAIN") ? -EAGAIN : -EPERM;
                r = error_set(err, r, "%s", json_string_value(json_object_get(e, "message")));
                json_decref(resp);
                handed_close(ret);
                return r;
        }
        if (ret->n == 0) {
                json_decref(resp);
                return error_set(err, -EPROTO, "vmbatchd sent no tap");
        }
        *ret_spec = json_incref(json_object_get(resp, "data"));
        json_decref(resp);
        return 0;
}

static const char *sget(const json_t *o, const char *k) {
        const char *v = json_string_value(json_object_get(o, k));
        return v && *v ? v : NULL;
}

/* The handed fd at the spec's position key (-1 when the key is absent). */
static int handed_fd(const Handed *h, const json_t *pos, Error *err) {
        if (!pos)
                return -1;
        if (!json_is_integer(pos) || json_integer_value(pos) < 1 || (size_t)json_integer_value(pos) >= h->n)
                return error_set(err, -EPROTO, "vmbatchd named a file it did not send");
        return h->fds[json_integer_value(pos)];
}

#define BOOT_FILE_MAX (1ULL << 30)

/* qemu loads -kernel and -initrd by name: a copy of what the node opened,
 * in our private runtime directory. */
static int copy_boot_file(Starter *s, int from, const char *name, char *path, size_t len, Error *err) {
        snprintf(path, len, "%s/%s", s->dir, name);
        _cleanup_close_ int to = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (to < 0)
                return error_set(err, -errno, "cannot create %s: %m", path);
        uint64_t total = 0;
        char buf[65536];
        for (;;) {
                ssize_t n = read(from, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return error_set(err, -errno, "cannot read the %s: %m", name);
                if (n == 0)
                        return 0;
                if ((total += (uint64_t)n) > BOOT_FILE_MAX)
                        return error_set(err, -EFBIG, "the %s is larger than 1 GiB", name);
                if (loop_write(to, buf, (size_t)n) < 0)
                        return error_set(err, -errno, "cannot write %s: %m", path);
        }
}

static int start_qemu(Starter *s, const json_t *spec, Handed *handed, Error *err) {
        const char *accel, *warning = NULL;
        int r = qemu_accel_probe(sget(spec, "accel") ? sget(spec, "accel") : "auto", err, &accel, &warning);
        if (r < 0)
                return r;
        if (warning)
                say("%s", warning);
        json_t *jd = json_object_get(spec, "discs");
        QemuDisc discs[QEMU_DISCS_MAX];
        int chains[QEMU_DISCS_MAX][QEMU_CHAIN_MAX];
        size_t nd = 0;
        size_t i, k;
        json_t *v, *pos;
        json_array_foreach(jd, i, v) {
                json_t *fds = json_object_get(v, "fds");
                if (nd == QEMU_DISCS_MAX || !json_is_array(fds) || json_array_size(fds) == 0 ||
                    json_array_size(fds) > QEMU_CHAIN_MAX)
                        return error_set(err, -EPROTO, "vmbatchd gave an unusable disc list");
                json_array_foreach(fds, k, pos)
                        if ((chains[nd][k] = handed_fd(handed, pos, err)) < 0)
                                return -EPROTO;
                discs[nd] = (QemuDisc){.chain_fds = chains[nd], .n_chain = json_array_size(fds), .format = "qcow2"};
                nd++;
        }
        char kernel[PATH_MAX + 16], initrd[PATH_MAX + 16];
        /* the serial log the node opened comes last: the starter writes it,
         * qemu must not get it (only the pipe), so it leaves the handed set */
        int log_fd = -1;
        json_t *log_pos = json_object_get(spec, "serial_log_fd");
        if (log_pos) {
                if (!json_is_integer(log_pos) || json_integer_value(log_pos) < 1 ||
                    (size_t)json_integer_value(log_pos) != handed->n - 1)
                        return error_set(err, -EPROTO, "vmbatchd named a serial log it did not send last");
                log_fd = handed->fds[--handed->n];
        }
        int kernel_fd = handed_fd(handed, json_object_get(spec, "kernel_fd"), err);
        int initrd_fd = handed_fd(handed, json_object_get(spec, "initrd_fd"), err);
        int cdrom_fd = handed_fd(handed, json_object_get(spec, "cdrom_fd"), err);
        if (err->code)
                return err->code;
        if ((kernel_fd >= 0 && (r = copy_boot_file(s, kernel_fd, "kernel", kernel, sizeof(kernel), err)) < 0) ||
            (initrd_fd >= 0 && (r = copy_boot_file(s, initrd_fd, "initrd", initrd, sizeof(initrd), err)) < 0))
                return r;
        char name[64], serial[PATH_MAX + 16];
        snprintf(name, sizeof(name), "vmbatch-%u", s->instance);
        snprintf(serial, sizeof(serial), "%s/serial.log", s->dir);
        const char *serial_path = sget(spec, "serial_log") ? sget(spec, "serial_log") : serial;
        QemuSpec q = QEMU_SPEC_INIT;
        q.binary = sget(spec, "qemu_binary");
        q.name = name;
        q.accel = accel;
        q.memory_mib = (uint32_t)json_integer_value(json_object_get(spec, "mem_mib"));
        q.vcpus = (uint32_t)json_integer_value(json_object_get(spec, "vcpus"));
        q.discs = discs;
        q.n_discs = nd;
        q.kernel = kernel_fd >= 0 ? kernel : NULL;
        q.initrd = initrd_fd >= 0 ? initrd : NULL;
        q.cmdline = q.kernel ? sget(spec, "cmdline") : NULL;
        q.cdrom_fd = cdrom_fd;
        if (q.cdrom_fd >= 0) /* installing: boot the medium, not the kernel */
                q.kernel = q.initrd = q.cmdline = NULL;
        q.tap_fd = handed->fds[0];
        q.mac = sget(spec, "mac");
        q.vnc_display = (int)json_integer_value(json_object_get(spec, "vnc_display"));
        q.vnc_listen = sget(spec, "vnc_listen");
        q.vnc_socket = sget(spec, "console_socket"); /* the browser console's (an older node names none) */
        q.qmp_socket = s->qmp_path;
        json_t *max = json_object_get(spec, "serial_log_max");
        int wr = serial_log_open(&s->serial, serial_path, log_fd,
                                 json_is_integer(max) ? (uint64_t)json_integer_value(max) : 0, err);
        log_fd = -1; /* the log's now */
        if (wr < 0)
                return wr;
        if (handed->n == ELEMENTSOF(handed->fds)) {
                close(wr);
                return error_set(err, -E2BIG, "too many fds for qemu");
        }
        handed->fds[handed->n++] = q.serial_fd = wr; /* closed with the others once qemu has it */
        _cleanup_strv_free_ char **argv = NULL;
        if ((r = qemu_cmdline_build(&q, err, &argv)) < 0)
                return r;
        SpawnStartOpts o = {
                .argv = argv,
                .stdin_fd = -1,
                .stdout_fd = 2,
                .stderr_fd = 2,
                .pass_fds = handed->fds, /* the tap and every file: qemu opens none itself */
                .n_pass_fds = handed->n,
                .pdeathsig = SIGKILL, /* the monitor gone means the vm gone */
                /* its own session: a scheduler signalling the job's processes
                 * (scancel, qdel) reaches the starter, which powers the guest
                 * down cleanly, instead of killing qemu outright */
                .new_session = true,
        };
        r = spawn_start(&o, &s->qemu, &s->qemu_pidfd);
        if (r < 0)
                return error_set(err, r, "cannot start qemu: %s", strerror(-r));
        say("instance %u: qemu pid %d (%s), serial log %s", s->instance, (int)s->qemu, accel, serial_path);
        return 0;
}

static void kill_qemu(Starter *s, const char *why) {
        if (s->phase == PHASE_KILLED)
                return;
        say("instance %u: %s: killing qemu", s->instance, why);
        kill(s->qemu, SIGKILL);
        s->phase = PHASE_KILLED;
        event_source_free(TAKE_PTR(s->press_again));
        event_source_free(TAKE_PTR(s->kill_timer));
}

static int on_kill_deadline(EventSource *src, void *userdata) {
        kill_qemu(userdata, "the guest did not power off in time");
        return 0;
}

static int on_press_again(EventSource *src, void *userdata) {
        Starter *s = userdata;
        Error e = {0};
        if (s->qmp)
                qmp_system_powerdown(s->qmp, &e);
        return 0;
}

static void begin_stop(Starter *s, int grace_ms, const char *why) {
        if (s->phase != PHASE_RUNNING)
                return;
        s->end_reason = why;
        Error err = {0};
        if (!s->qmp || qmp_system_powerdown(s->qmp, &err) < 0)
                grace_ms = 0;
        say("instance %u: stopping (%s), power button pressed, %d ms before kill", s->instance, why, grace_ms);
        if (!grace_ms) {
                kill_qemu(s, why);
                return;
        }
        s->phase = PHASE_STOPPING;
        event_source_free(TAKE_PTR(s->walltime));
        if (event_add_timer_once(s->loop, (uint64_t)grace_ms, on_kill_deadline, s, &s->kill_timer) < 0 ||
            event_add_timer(s->loop, PRESS_AGAIN_MS, on_press_again, s, &s->press_again) < 0)
                kill_qemu(s, "no timer for the stop");
}

/* ---- --warm: up, then paused until the exam starts ---- */

#define WARM_TIMEOUT_MS 600000 /* a guest that never prints its marker is paused anyway then */

static void warm_done(Starter *s) {
        s->warm_waiting = false;
        s->serial.marker = NULL;
        event_source_free(TAKE_PTR(s->warm_timer));
}

static void warm_pause(Starter *s, const char *why) {
        if (!s->warm_waiting)
                return;
        warm_done(s);
        Error err = {0};
        uint64_t ms = (now_usec() - s->warm_since_usec) / 1000;
        if (!s->qmp || qmp_stop(s->qmp, &err) < 0) {
                say("instance %u: warm: cannot pause it: %s", s->instance, s->qmp ? err.message : "no QMP");
                return;
        }
        say("instance %u: warm: %s after %llu ms: paused until its exam starts", s->instance, why,
            (unsigned long long)ms);
        report_state(s, INSTANCE_PAUSED);
}

static void on_warm_marker(void *userdata) {
        Starter *s = userdata;
        warm_pause(s, "its console printed the marker");
}

static int on_warm_timeout(EventSource *src, void *userdata) {
        Starter *s = userdata;
        warm_pause(s, "no marker");
        return 0;
}

static void on_daemon_message(Starter *s, json_t *m) {
        const char *event = json_string_value(json_object_get(m, "event"));
        if (!event) {
                if (!json_is_true(json_object_get(m, "ok")))
                        say("vmbatchd: %s",
                            json_string_value(json_object_get(json_object_get(m, "error"), "message")));
                return;
        }
        Error err = {0};
        switch (instance_action_from_string(event)) {
        case ACTION_STOP:
                begin_stop(s, STOP_GRACE_MS, "stopped by its owner");
                break;
        case ACTION_KILL: /* also during a stop already under way */
                s->end_reason = "killed by its owner (stop --force)";
                kill_qemu(s, s->end_reason);
                break;
        case ACTION_SUSPEND:
                if (qmp_stop(s->qmp, &err) < 0)
                        say("suspend: %s", err.message);
                else
                        report_state(s, INSTANCE_PAUSED);
                break;
        case ACTION_RESUME: /* also the exam's start for a warm VM still booting: it is not paused then */
                if (s->warm_waiting)
                        say("instance %u: warm: resumed before its marker came", s->instance);
                warm_done(s);
                if (qmp_cont(s->qmp, &err) < 0)
                        say("resume: %s", err.message);
                else
                        report_state(s, INSTANCE_RUNNING);
                break;
        default:
                say("ignoring an unknown event '%s' from vmbatchd", event);
        }
}

/* ---- the link to the daemon ------------------------------------------- */

static int on_daemon(EventSource *src, int fd, uint32_t events, void *userdata);

static void daemon_close(Starter *s) {
        event_source_free(TAKE_PTR(s->daemon_src));
        if (s->daemon_fd >= 0)
                close(s->daemon_fd);
        s->daemon_fd = -1;
        s->reattach_sent = false;
}

/* Every second until the deadline: connect and ask for node.reattach; the
 * answer comes to on_daemon like any message. */
static int on_reattach_tick(EventSource *src, void *userdata) {
        Starter *s = userdata;
        if (now_usec() >= s->reattach_deadline_usec) {
                event_source_free(TAKE_PTR(s->reattach));
                daemon_close(s);
                kill_qemu(s, "vmbatchd did not come back in time");
                s->end_reason = s->end_reason ? s->end_reason : "vmbatchd did not come back in time";
                return 0;
        }
        if (s->daemon_fd >= 0)
                return 0; /* connected, the answer is on its way */
        int fd = unix_connect(s->socket);
        if (fd < 0)
                return 0;
        s->daemon_fd = fd;
        json_t *req = json_pack("{s:s, s:{s:I}}", "op", "node.reattach", "args", "instance", (json_int_t)s->instance);
        int r = frame_send(fd, req);
        json_decref(req);
        if (r < 0 || event_add_io(s->loop, fd, EPOLLIN, on_daemon, s, &s->daemon_src) < 0) {
                daemon_close(s);
                return 0;
        }
        s->reattach_sent = true;
        return 0;
}

/* The daemon went away (restart): keep the vm, come back when it does. */
static void daemon_lost(Starter *s) {
        daemon_close(s);
        if (s->reattach)
                return;
        say("instance %u: lost vmbatchd, re-attaching", s->instance);
        s->reattach_deadline_usec = now_usec() + (uint64_t)REATTACH_TIMEOUT_MS * 1000;
        if (event_add_timer(s->loop, 1000, on_reattach_tick, s, &s->reattach) < 0)
                kill_qemu(s, "no timer to re-attach");
        else
                on_reattach_tick(s->reattach, s);
}

static int on_daemon(EventSource *src, int fd, uint32_t events, void *userdata) {
        Starter *s = userdata;
        json_t *m = NULL;
        if (frame_recv(fd, &m) < 0) {
                daemon_lost(s);
                return 0;
        }
        if (s->reattach_sent) { /* the answer to node.reattach */
                s->reattach_sent = false;
                if (!json_is_true(json_object_get(m, "ok"))) {
                        say("instance %u: vmbatchd does not know this vm any more: ending it", s->instance);
                        s->end_reason = "vmbatchd forgot it";
                        event_source_free(TAKE_PTR(s->reattach));
                        daemon_close(s);
                        kill_qemu(s, "vmbatchd forgot it");
                } else {
                        say("instance %u: re-attached", s->instance);
                        event_source_free(TAKE_PTR(s->reattach));
                }
                json_decref(m);
                return 0;
        }
        on_daemon_message(s, m);
        json_decref(m);
        return 0;
}

/* ---- qemu, QMP, signals, the wall time ---------------------------------- */

static int on_qemu_exit(EventSource *src, int fd, uint32_t events, void *userdata) {
        Starter *s = userdata;
        if (waitpid(s->qemu, &s->qemu_status, WNOHANG) == 0)
                return 0;
        serial_log_drain(&s->serial); /* its last words */
        event_loop_exit(s->loop, 0);
        return 0;
}

static int on_qmp(EventSource *src, int fd, uint32_t events, void *userdata) {
        Starter *s = userdata;
        json_t *ev;
        int r;
        while ((r = qmp_next_event(s->qmp, 0, &ev)) > 0) {
                const char *name = json_string_value(json_object_get(ev, "event"));
                if (streq(name, "SHUTDOWN") && !s->end_reason)
                        s->end_reason = "the guest powered off";
                json_decref(ev);
        }
        if (r < 0) /* QMP closed: qemu is going; its pidfd says when */
                event_source_free(TAKE_PTR(s->qmp_src));
        return 0;
}

/* SIGTERM from the batch system (scancel, qdel), in any phase and whether
 * or not the daemon is there */
static int on_signal(EventSource *src, int signo, void *userdata) {
        begin_stop(userdata, TERM_GRACE_MS, "the job was cancelled");
        return 0;
}

static int on_walltime(EventSource *src, void *userdata) {
        Starter *s = userdata;
        event_source_free(TAKE_PTR(s->walltime));
        begin_stop(s, STOP_GRACE_MS, "its wall time is up");
        return 0;
}

static int run(Starter *s, uint32_t walltime_s) {
        static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
        int r = event_loop_new(&s->loop);
        if (r >= 0)
                r = event_add_io(s->loop, s->qemu_pidfd, EPOLLIN, on_qemu_exit, s, NULL);
        if (r >= 0)
                r = event_add_io(s->loop, s->daemon_fd, EPOLLIN, on_daemon, s, &s->daemon_src);
        if (r >= 0 && s->qmp)
                r = event_add_io(s->loop, qmp_fd(s->qmp), EPOLLIN, on_qmp, s, &s->qmp_src);
        if (r >= 0)
                r = serial_log_watch(&s->serial, s->loop);
        if (r >= 0)
                r = event_add_signal(s->loop, sigs, ELEMENTSOF(sigs), on_signal, s, NULL);
        if (r >= 0 && walltime_s)
                r = event_add_timer_once(s->loop, (uint64_t)walltime_s * 1000, on_walltime, s, &s->walltime);
        if (r >= 0 && s->warm_waiting)
                r = event_add_timer_once(s->loop, WARM_TIMEOUT_MS, on_warm_timeout, s, &s->warm_timer);
        if (r < 0) {
                say("instance %u: event loop: %s: ending the vm", s->instance, strerror(-r));
                kill(s->qemu, SIGKILL);
                waitpid(s->qemu, &s->qemu_status, 0);
        } else
                event_loop_run(s->loop);
        bool lost = s->reattach != NULL; /* the daemon never came back */
        int status = s->qemu_status;
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        char reason[160];
        snprintf(reason, sizeof(reason), "%s (qemu exit %d)", s->end_reason ? s->end_reason : "qemu exited", code);
        say("instance %u: %s", s->instance, reason);
        if (s->daemon_fd >= 0 && !lost) {
                request(s, "node.exit", json_pack("{s:s}", "reason", reason));
                json_t *m = NULL;
                frame_recv(s->daemon_fd, &m); /* wait for the teardown: nothing else is left to do */
                json_decref(m);
        }
        /* the event sources go with the loop's fds; the fds are ours */
        event_source_free(s->daemon_src);
        event_source_free(s->qmp_src);
        event_source_free(s->walltime);
        event_source_free(s->press_again);
        event_source_free(s->kill_timer);
        event_source_free(s->reattach);
        event_source_free(s->warm_timer);
        event_source_free(TAKE_PTR(s->serial.src));
        event_loop_free(s->loop);
        return code == 0 && !lost ? 0 : 1;
}

static void usage(FILE *f) {
        fprintf(f, "Usage: vmbatch-starter --instance N --socket PATH [--walltime SECONDS] [--warm MARKER]\n"
                   "The per-VM monitor a vmbatch job runs; see vmbatchd(8).\n"
                   "--warm: a VM of an exam not yet started: paused once its serial console prints\n"
                   "MARKER (at the latest after %d s), until the exam resumes it.\n"
                   "In PATH, %%h stands for this execution host's name (SLURMD_NODENAME or the host name).\n",
                WARM_TIMEOUT_MS / 1000);
}

int main(int argc, char **argv) {
        static const struct option opts[] = {{"instance", required_argument, NULL, 'i'},
                                             {"socket", required_argument, NULL, 's'},
                                             {"walltime", required_argument, NULL, 'w'},
                                             {"warm", required_argument, NULL, 'W'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
        Starter s = {.daemon_fd = -1, .qemu_pidfd = -1, .serial = SERIAL_LOG_INIT};
        int c;
        uint32_t walltime = 0;
        while ((c = getopt_long(argc, argv, "i:s:h", opts, NULL)) >= 0) {
                if (c == 'i') {
                        if (parse_u32(optarg, &s.instance) < 0 || s.instance == 0) {
                                fprintf(stderr, "vmbatch-starter: bad instance '%s'\n", optarg);
                                return 2;
                        }
                } else if (c == 's')
                        s.socket = optarg;
                else if (c == 'w') {
                        if (parse_u32(optarg, &walltime) < 0 || walltime == 0) {
                                fprintf(stderr, "vmbatch-starter: bad walltime '%s'\n", optarg);
                                return 2;
                        }
                }
                else if (c == 'W') {
                        if (serial_marker_init(&s.warm, optarg) < 0) {
                                fprintf(stderr, "vmbatch-starter: --warm takes 1..%d bytes\n", SERIAL_MARKER_MAX - 1);
                                return 2;
                        }
                        s.warm_waiting = true;
                } else if (c == 'h') {
                        usage(stdout);
                        return 0;
                } else if (c == 'V') {
                        printf("vmbatch-starter %s\n", VMBATCH_VERSION);
                        return 0;
                } else {
                        usage(stderr);
                        return 2;
                }
        }
        if (!s.instance || !s.socket) {
                usage(stderr);
                return 2;
        }
        /* one file system, several execution hosts: "%h" names this one */
        char host[256], socket_path[PATH_MAX];
        batch_host_name(host, sizeof(host));
        if (batch_node_socket(s.socket, host, socket_path, sizeof(socket_path)) < 0) {
                fprintf(stderr, "vmbatch-starter: socket path too long\n");
                return 2;
        }
        s.socket = socket_path;
        signal(SIGPIPE, SIG_IGN);
        Error err = {0};
        json_t *spec = NULL;
        Handed handed = {.n = 0};
        int rc = 1;
        if (attach(&s, &spec, &handed, &err) < 0) {
                say("instance %u: %s", s.instance, err.message);
                goto out;
        }
        /* the node made this directory for us and removes it when we end */
        const char *rundir = sget(spec, "runtime_dir");
        if (!rundir || strlen(rundir) >= sizeof(s.dir) - 16) {
                say("instance %u: vmbatchd gave no usable runtime directory", s.instance);
                goto out;
        }
        snprintf(s.dir, sizeof(s.dir), "%s", rundir);
        snprintf(s.qmp_path, sizeof(s.qmp_path), "%s/qmp.sock", s.dir);
        if (s.warm_waiting) {
                s.serial.marker = &s.warm;
                s.serial.on_marker = on_warm_marker;
                s.serial.marker_data = &s;
                s.warm_since_usec = now_usec();
        }
        if (start_qemu(&s, spec, &handed, &err) < 0) {
                say("instance %u: %s", s.instance, err.message);
                goto out;
        }
        handed_close(&handed); /* qemu has them */
        const char *vnc_password = json_string_value(json_object_get(spec, "vnc_password"));
        /* both VNC servers get the password: each has its own */
        if (qmp_connect(s.qmp_path, 30000, &s.qmp, &err) < 0 ||
            qmp_set_vnc_password(s.qmp, vnc_password, &err) < 0 ||
            (sget(spec, "console_socket") &&
             qmp_set_vnc_password_of(s.qmp, QEMU_VNC_CONSOLE_ID, vnc_password, &err) < 0)) {
                say("instance %u: %s", s.instance, err.message);
                kill(s.qemu, SIGKILL);
                waitpid(s.qemu, NULL, 0);
                goto out;
        }
        report_state(&s, INSTANCE_RUNNING);
        rc = run(&s, walltime);
out:
        handed_close(&handed);
        serial_log_close(&s.serial);
        qmp_free(s.qmp);
        json_decref(spec);
        if (*s.qmp_path)
                unlink(s.qmp_path);
        if (s.daemon_fd >= 0)
                close(s.daemon_fd);
        return rc;
}
