/* test-serial-log.c - starter/serial_log.h: a guest that floods its serial
 * port (64 MiB through a real pipe, read by the event loop) leaves a log
 * under the cap that ends with the newest bytes; the control: with no cap
 * the same flood leaves all 64 MiB. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "starter/serial_log.h"
#include "tap.h"

#define FLOOD (64u << 20)

static int on_stop(EventSource *s, void *userdata) {
        event_loop_exit(userdata, 0);
        return 0;
}

/* Flood a log capped at max; its size and its last line. */
static uint64_t flood(const char *path, uint64_t max, char *last, size_t len) {
        unlink(path);
        SerialLog l = SERIAL_LOG_INIT;
        Error err = {0};
        int wr = serial_log_open(&l, path, -1, max, &err);
        if (wr < 0)
                return 0;
        EventLoop *loop;
        event_loop_new(&loop);
        serial_log_watch(&l, loop);
        pid_t guest = fork();
        if (guest == 0) { /* the guest: numbered lines, as fast as it can */
                FILE *f = fdopen(wr, "w");
                for (unsigned i = 0, n = 0; n < FLOOD; i++)
                        n += (unsigned)fprintf(f, "line %08u of a guest that never stops writing\n", i);
                fprintf(f, "THE-NEWEST-LINE\n");
                fclose(f);
                _exit(0);
        }
        close(wr);
        /* run until the pipe's end (the loop source goes), at most 60 s */
        EventSource *t = NULL;
        for (int i = 0; i < 600 && (l.src || i == 0); i++) {
                event_add_timer_once(loop, 100, on_stop, loop, &t);
                event_loop_run(loop);
                event_source_free(TAKE_PTR(t));
        }
        waitpid(guest, NULL, 0);
        serial_log_drain(&l);
        serial_log_close(&l);
        event_loop_free(loop);
        struct stat st;
        stat(path, &st);
        FILE *f = fopen(path, "r");
        last[0] = 0;
        if (f) {
                fseek(f, -64, SEEK_END);
                char buf[128] = "";
                size_t n = fread(buf, 1, sizeof(buf) - 1, f);
                buf[n] = 0;
                char *nl = strstr(buf, "THE-NEWEST-LINE");
                snprintf(last, len, "%s", nl ? "THE-NEWEST-LINE" : "");
                fclose(f);
        }
        return (uint64_t)st.st_size;
}

/* the stream cut into pieces of size step: where is the marker first seen? */
static long find_in_pieces(const char *stream, const char *text, size_t step) {
        SerialMarker m;
        if (serial_marker_init(&m, text) < 0)
                return -2;
        size_t n = strlen(stream);
        long found = -1;
        for (size_t at = 0; at < n; at += step) {
                size_t k = n - at < step ? n - at : step;
                if (serial_marker_feed(&m, stream + at, k)) {
                        if (found >= 0)
                                return -3; /* seen twice */
                        found = (long)(at + k);
                }
        }
        return found;
}

static void test_marker(void) {
        static const char stream[] = "[    1.0] booting\r\nDebian GNU/Linux 12 vm ttyS0\r\n\r\nvm login: x login: ";
        const char *at = strstr(stream, "login:");
        bool all = true;
        for (size_t step = 1; step <= sizeof(stream); step++) {
                long got = find_in_pieces(stream, "login:", step);
                /* seen in the piece that completes its first occurrence */
                size_t end = (size_t)(at - stream) + 6;
                long want = (long)((end + step - 1) / step * step);
                if (want > (long)strlen(stream))
                        want = (long)strlen(stream);
                if (got != want) {
                        printf("# step %zu: seen at %ld, expected %ld\n", step, got, want);
                        all = false;
                }
        }
        ok(all, "marker: found once, in the piece that completes it, for every piece size 1..%zu", sizeof(stream));
        is_int(find_in_pieces(stream, "logon:", 1), -1, "marker: a text not in the stream is never seen");
        is_int(find_in_pieces("logi", "login:", 1), -1, "marker: a prefix at the stream's end is not the marker");
        is_int(find_in_pieces("lologin:", "login:", 3), 8, "marker: an overlapping false start ('lo' 'login:')");
        SerialMarker m;
        char big[SERIAL_MARKER_MAX + 1];
        memset(big, 'a', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        is_int(serial_marker_init(&m, big), -EINVAL, "marker: longer than %d bytes is refused", SERIAL_MARKER_MAX - 1);
        is_int(serial_marker_init(&m, ""), -EINVAL, "marker: an empty one is refused");
        ok(!serial_marker_feed(&(SerialMarker){0}, "login:", 6), "marker: none set, nothing is seen");
}

int main(void) {
        test_marker();
        char dir[] = "/tmp/vmbatch-serial-XXXXXX", path[64], last[32];
        if (!mkdtemp(dir))
                return 1;
        snprintf(path, sizeof(path), "%s/serial.log", dir);
        uint64_t size = flood(path, 1u << 20, last, sizeof(last));
        ok(size > 0 && size <= 1u << 20, "a 64 MiB flood into a log capped at 1 MiB leaves %llu bytes",
           (unsigned long long)size);
        is_str(last, "THE-NEWEST-LINE", "... ending with the newest line");
        size = flood(path, 0, last, sizeof(last));
        ok(size > FLOOD, "control: without a cap the same flood leaves all of it (%llu bytes)", (unsigned long long)size);
        unlink(path);
        rmdir(dir);
        return tap_done();
}
