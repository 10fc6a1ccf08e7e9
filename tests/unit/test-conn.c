/* test-conn.c - basic/conn.h over a real socketpair: frames in order,
 * pause and resume (what came meanwhile is handed on after), a bad frame
 * reported and reading going on, a frame over FRAME_MAX ending the
 * connection after the queued answer, an fd riding with a message, the end
 * reported once and from the loop (never from inside conn_send), and
 * conn_free from inside a callback. */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "basic/conn.h"
#include "basic/event.h"
#include "basic/frame.h"
#include "tap.h"

typedef struct T {
        EventLoop *loop;
        Conn *conn;
        char got[512];
        int frames, bad_badmsg, bad_msgsize, closed, closed_r;
        bool pause_on_first, free_in_frame, free_in_closed, in_send;
        bool closed_inside_send;
} T;

static void on_frame(void *data, json_t *msg, int bad) {
        T *t = data;
        if (bad == -EBADMSG)
                t->bad_badmsg++;
        else if (bad == -EMSGSIZE) {
                t->bad_msgsize++;
                conn_send(t->conn, json_pack("{s:s}", "error", "too big"), -1);
                return;
        }
        if (!msg)
                return;
        t->frames++;
        const char *v = json_string_value(json_object_get(msg, "v"));
        strncat(t->got, v ? v : "?", sizeof(t->got) - strlen(t->got) - 2);
        strcat(t->got, " ");
        if (t->pause_on_first && t->frames == 1)
                conn_pause(t->conn);
        if (t->free_in_frame) {
                conn_free(t->conn);
                t->conn = NULL;
                event_loop_exit(t->loop, 0);
        }
}

static void on_closed(void *data, int r) {
        T *t = data;
        t->closed++;
        t->closed_r = r;
        if (t->in_send)
                t->closed_inside_send = true;
        if (t->free_in_closed) {
                conn_free(t->conn);
                t->conn = NULL;
        }
        event_loop_exit(t->loop, 0);
}

static const ConnOps ops = {.frame = on_frame, .closed = on_closed};

static int on_stop(EventSource *s, void *userdata) {
        event_loop_exit(userdata, 0);
        return 0;
}

/* run the loop until something exits it, or ms pass */
static void spin(T *t, unsigned ms) {
        EventSource *timer = NULL;
        event_add_timer_once(t->loop, ms, on_stop, t->loop, &timer);
        event_loop_run(t->loop);
        event_source_free(timer);
}

static void peer_send(int fd, const char *v) {
        json_t *m = json_pack("{s:s}", "v", v);
        frame_send(fd, m);
        json_decref(m);
}

static void setup(T *t, int sv[2]) {
        memset(t, 0, sizeof(*t));
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
        fcntl(sv[0], F_SETFL, O_NONBLOCK);
        event_loop_new(&t->loop);
        conn_new(t->loop, sv[0], &ops, t, &t->conn);
}

static void teardown(T *t, int peer) {
        conn_free(t->conn);
        event_loop_free(t->loop);
        close(peer);
}

int main(void) {
        T t;
        int sv[2];

        /* frames in order; a bad one in between is reported, reading goes on */
        setup(&t, sv);
        peer_send(sv[1], "a");
        uint32_t len = htobe32(3);
        (void)!write(sv[1], &len, 4);
        (void)!write(sv[1], "[1]", 3); /* JSON, but not an object */
        peer_send(sv[1], "b");
        spin(&t, 200);
        is_str(t.got, "a b ", "two frames handed on in order around a bad one");
        is_int(t.bad_badmsg, 1, "the frame that is not a JSON object is reported once");
        is_int(t.closed, 0, "and the connection stays");

        /* answers go out; an fd rides with one */
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        struct stat want, got;
        fstat(fd, &want);
        is_int(conn_send(t.conn, json_pack("{s:s}", "v", "x"), fd), 0, "a message with an fd is queued");
        int fd2 = open("/dev/null", O_RDONLY | O_CLOEXEC);
        is_int(conn_send(t.conn, json_pack("{s:s}", "v", "y"), fd2), 0, "the first fd went out at once: a second is taken");
        json_t *m = NULL;
        int rfd = -1;
        frame_recv_fd(sv[1], &m, &rfd);
        ok(rfd >= 0 && fstat(rfd, &got) == 0 && got.st_ino == want.st_ino && got.st_dev == want.st_dev,
           "the peer receives the fd with the message");
        is_str(json_string_value(json_object_get(m, "v")), "x", "and the message");
        json_decref(m);
        if (rfd >= 0)
                close(rfd);
        frame_recv_fd(sv[1], &m, &rfd);
        json_decref(m);
        if (rfd >= 0)
                close(rfd);
        teardown(&t, sv[1]);

        /* pause: what comes meanwhile waits; resume hands it on */
        setup(&t, sv);
        t.pause_on_first = true;
        peer_send(sv[1], "1");
        peer_send(sv[1], "2");
        peer_send(sv[1], "3");
        spin(&t, 200);
        is_str(t.got, "1 ", "paused after the first frame: the others wait");
        conn_resume(t.conn);
        spin(&t, 200);
        is_str(t.got, "1 2 3 ", "resumed: the waiting frames are handed on, in order");
        teardown(&t, sv[1]);

        /* a frame over FRAME_MAX: reported, the queued answer goes out, then the end */
        setup(&t, sv);
        len = htobe32(FRAME_MAX + 1);
        (void)!write(sv[1], &len, 4);
        spin(&t, 500);
        is_int(t.bad_msgsize, 1, "a frame over FRAME_MAX is reported");
        is_int(t.closed, 1, "and the connection ends");
        m = NULL;
        ok(frame_recv(sv[1], &m) == 0 && json_object_get(m, "error"), "after the answer queued for it went out");
        json_decref(m);
        teardown(&t, sv[1]);

        /* the peer goes away: reported once, from the loop; conn_send after it fails */
        setup(&t, sv);
        close(sv[1]);
        t.in_send = true;
        int r = conn_send(t.conn, json_pack("{s:s}", "v", "late"), -1);
        t.in_send = false;
        ok(!t.closed_inside_send, "a failing send does not report the end from inside conn_send (r=%d)", r);
        spin(&t, 500);
        is_int(t.closed, 1, "the end is reported once, from the loop");
        spin(&t, 100);
        is_int(t.closed, 1, "and only once");
        ok(conn_send(t.conn, json_pack("{}"), -1) < 0, "sending on an ended connection fails");
        conn_free(t.conn);
        event_loop_free(t.loop);

        /* conn_free from inside its own callbacks */
        setup(&t, sv);
        t.free_in_frame = true;
        peer_send(sv[1], "f");
        peer_send(sv[1], "g");
        spin(&t, 500);
        ok(t.conn == NULL && t.frames == 1, "freed inside the frame callback: no further frame, no crash");
        event_loop_free(t.loop);
        close(sv[1]);

        setup(&t, sv);
        t.free_in_closed = true;
        close(sv[1]);
        spin(&t, 500);
        ok(t.conn == NULL && t.closed == 1, "freed inside the closed callback");
        event_loop_free(t.loop);
        return tap_done();
}
