/* test-worker.c - basic/worker.h: functions in forked children, their
 * outcomes delivered through the event loop, at most max_running at once,
 * in queue order, cancels, a child that dies, an outcome larger than a pipe
 * holds, that a child keeps no fd of its parent's, and fds a child hands
 * back. */
#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include "basic/event.h"
#include "basic/worker.h"
#include "tap.h"

typedef struct Run {
        EventLoop *loop;
        Workers *w;
        char log[512];  /* "start:N" written by children to a file, "done:N" here */
        const char *dir;
        int done;
        int want;
        char last[WORKER_OUTPUT_MAX + 1];
        int status[16];
} Run;

typedef struct Arg {
        Run *run;
        int n;
        unsigned sleep_ms;
        int kind; /* 0 echo, 1 crash, 2 big output, 3 report open fds */
        int parent_fd;
} Arg;

static void fn(void *p, FILE *out) {
        Arg *a = p;
        if (a->kind == 1) /* a child that dies (SIGKILL: no sanitizer's handler turns it into another) */
                raise(SIGKILL);
        if (a->kind == 2) {
                for (size_t i = 0; i < 100000; i++)
                        fputc('x', out);
                return;
        }
        if (a->kind == 4) { /* hand back two fds it opened */
                fprintf(out, "two fds:");
                worker_send_fd(out, " a", open("/dev/null", O_RDONLY | O_CLOEXEC));
                worker_send_fd(out, " b", open(a->run->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
                return;
        }
        if (a->kind == 3) {
                fprintf(out, "parent fd %s", fcntl(a->parent_fd, F_GETFD) < 0 ? "closed" : "OPEN");
                return;
        }
        char path[256];
        snprintf(path, sizeof(path), "%s/log", a->run->dir);
        FILE *f = fopen(path, "a");
        fprintf(f, "start:%d ", a->n);
        fclose(f);
        usleep(a->sleep_ms * 1000);
        fprintf(out, "job %d", a->n);
}

static void done(void *userdata, const char *output, int status) {
        Arg *a = userdata;
        Run *r = a->run;
        snprintf(r->last, sizeof(r->last), "%s", output);
        r->status[a->n] = status;
        char one[32];
        snprintf(one, sizeof(one), "done:%d(%s) ", a->n, strlen(output) < 16 ? output : "big");
        strncat(r->log, one, sizeof(r->log) - strlen(r->log) - 1);
        if (++r->done == r->want)
                event_loop_exit(r->loop, 0);
}

static struct stat fd_st[2];
static size_t fd_n;
static void done_fds(void *userdata, const char *output, int status, int *fds, size_t n) {
        fd_n = n;
        for (size_t i = 0; i < n && i < 2; i++) {
                fstat(fds[i], &fd_st[i]);
                close(fds[i]);
        }
        done(userdata, output, status);
}

static int on_timeout(EventSource *s, void *userdata) {
        event_loop_exit(userdata, 1);
        return 0;
}

static int run_until(Run *r, int want) {
        r->want = want;
        EventSource *t;
        event_add_timer(r->loop, 10000, on_timeout, r->loop, &t);
        int rc = event_loop_run(r->loop);
        event_source_free(t);
        return rc;
}

int main(void) {
        char dir[] = "/tmp/test-worker-XXXXXX";
        if (!mkdtemp(dir))
                return 1;
        Run r = {.dir = dir};
        event_loop_new(&r.loop);
        workers_new(r.loop, 2, &r.w);

        /* four jobs, two at a time: 0 and 1 start, 2 waits for a slot, 3 is cancelled */
        Arg a[4] = {{&r, 0, 300, 0, -1}, {&r, 1, 100, 0, -1}, {&r, 2, 50, 0, -1}, {&r, 3, 50, 0, -1}};
        WorkerJob *j[4];
        for (int i = 0; i < 4; i++)
                j[i] = worker_queue(r.w, fn, &a[i], done, &a[i]);
        is_int((int)workers_running(r.w), 2, "two run at once");
        is_int((int)workers_waiting(r.w), 2, "two wait");
        worker_cancel(j[3]);
        is_int((int)workers_waiting(r.w), 1, "a cancelled waiting job is gone");
        is_int(run_until(&r, 3), 0, "the three others end within 10 s");
        is_str(r.log, "done:1(job 1) done:2(job 2) done:0(job 0) ",
               "outcomes arrive as children end (1, then 2 in the freed slot, then the slow 0)");
        char path[300], buf[256] = "";
        snprintf(path, sizeof(path), "%s/log", dir);
        FILE *f = fopen(path, "r");
        if (f) {
                if (!fgets(buf, sizeof(buf), f))
                        buf[0] = 0;
                fclose(f);
        }
        ok(strstr(buf, "start:2") && !strstr(buf, "start:3"), "job 2 started, the cancelled job 3 never: %s", buf);
        ok(strstr(buf, "start:0") < strstr(buf, "start:2") && strstr(buf, "start:1") < strstr(buf, "start:2"),
           "job 2 started after 0 and 1 (in queue order)");
        is_int(r.status[0], 0, "exit status 0 of a job that returned");

        /* a child that dies: done still comes, with its wait status */
        r.log[0] = 0;
        r.done = 0;
        Arg crash = {&r, 4, 0, 1, -1};
        worker_queue(r.w, fn, &crash, done, &crash);
        is_int(run_until(&r, 1), 0, "a child that dies is reported");
        ok(WIFSIGNALED(r.status[4]) && WTERMSIG(r.status[4]) == SIGKILL, "... killed by SIGKILL (status %d)",
           r.status[4]);
        is_str(r.last, "", "... with no output");

        /* 100000 bytes: more than a pipe holds; read as they come, kept up to the limit */
        r.done = 0;
        Arg big = {&r, 5, 0, 2, -1};
        worker_queue(r.w, fn, &big, done, &big);
        is_int(run_until(&r, 1), 0, "a child writing 100000 bytes does not block on the pipe");
        is_int((int)strlen(r.last), (int)WORKER_OUTPUT_MAX, "its output is kept up to WORKER_OUTPUT_MAX");

        /* the parent's fds (a client socket, say) are closed in the child */
        int fds[2];
        if (pipe(fds) < 0) /* not CLOEXEC: fork alone would keep it */
                return 1;
        r.done = 0;
        Arg leak = {&r, 6, 0, 3, fds[0]};
        worker_queue(r.w, fn, &leak, done, &leak);
        is_int(run_until(&r, 1), 0, "fd report");
        is_str(r.last, "parent fd closed", "a child keeps no fd of its parent's but the outcome pipe");

        /* fds a child opened reach the loop with its outcome, in order */
        r.done = 0;
        Arg withfds = {&r, 8, 0, 4, -1};
        worker_queue_fds(r.w, fn, &withfds, done_fds, &withfds);
        is_int(run_until(&r, 1), 0, "a child handing back fds");
        is_str(r.last, "two fds: a b", "its outcome is the text it wrote, the fds riding along");
        struct stat want_null, want_dir;
        stat("/dev/null", &want_null);
        stat(dir, &want_dir);
        ok(fd_n == 2 && fd_st[0].st_rdev == want_null.st_rdev && fd_st[1].st_ino == want_dir.st_ino,
           "both fds arrive, in the order sent (%zu)", fd_n);

        /* a running child of a freed Workers is killed */
        Arg slow = {&r, 7, 20000, 0, -1};
        worker_queue(r.w, fn, &slow, done, &slow);
        usleep(100000);
        uint64_t t0 = now_usec();
        workers_free(r.w);
        ok(now_usec() - t0 < 2000000, "workers_free kills a running child at once (%llu us)",
           (unsigned long long)(now_usec() - t0));
        event_loop_free(r.loop);
        unlink(path);
        rmdir(dir);
        return tap_done();
}
