/* test-disc-open.c - disk/disc_open.h: the node opens a VM's files itself,
 * as their users, and refuses what the record does not say. On real images
 * qemu-img made: the recorded file opens; a replaced file (other inode), a
 * symlink, a FIFO (without blocking), a header rebased onto another file,
 * an external data file and a backing name other than the recorded one
 * are refused, each with its reason. The control: qemu-img itself follows
 * the rebased header to the other file, so the refusal is what stops it.
 * Through workers: each file is opened as its uid (a file that user cannot
 * read is refused; its own file opens), and the fds come back in order. */
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/event.h"
#include "disk/disc_open.h"
#include "tap.h"

static char dir[] = "/tmp/vmbatch-disc-open-XXXXXX";

static int sh(const char *cmd) {
        char full[2048];
        snprintf(full, sizeof(full), "cd %s && (%s) >/dev/null 2>&1", dir, cmd);
        int st = system(full);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static DiscFile image(const char *name, const char *expect_backing) {
        DiscFile f = {.uid = getuid(), .image = true, .writable = true};
        snprintf(f.path, sizeof(f.path), "%s/%s", dir, name);
        struct stat st;
        if (lstat(f.path, &st) == 0) {
                f.dev = st.st_dev;
                f.ino = st.st_ino;
        }
        if (expect_backing)
                snprintf(f.expect_backing, sizeof(f.expect_backing), "%s/%s", dir, expect_backing);
        return f;
}

static int try(const DiscFile *f, Error *err) {
        int fd = -1;
        error_clear(err);
        int r = disc_open_one(f, &fd, err);
        if (fd >= 0)
                close(fd);
        return r;
}

typedef struct Got {
        EventLoop *loop;
        int r;
        char message[512];
        size_t n;
        ino_t ino[4];
} Got;

static void done(void *ctx, int r, const Error *err, int *fds, size_t n) {
        Got *g = ctx;
        g->r = r;
        g->n = n;
        snprintf(g->message, sizeof(g->message), "%s", err ? err->message : "");
        for (size_t i = 0; i < n; i++) {
                struct stat st;
                fstat(fds[i], &st);
                if (i < 4)
                        g->ino[i] = st.st_ino;
                close(fds[i]);
        }
        event_loop_exit(g->loop, 0);
}

int main(void) {
        if (getuid() != 0 || !mkdtemp(dir) || sh("command -v qemu-img") != 0) {
                printf("1..0 # SKIP needs root and qemu-img\n");
                return 0;
        }
        chmod(dir, 0755);
        char cmd[1024];
        snprintf(cmd, sizeof(cmd),
                 "qemu-img create -q -f qcow2 base.qcow2 16M && qemu-img create -q -f qcow2 -F qcow2 -b %s/base.qcow2 "
                 "-u over.qcow2 16M && cp over.qcow2 evil.qcow2 && qemu-img rebase -q -u -f qcow2 -F raw -b "
                 "%s/secret.raw evil.qcow2 && echo teacher-secret > secret.raw && qemu-img create -q -f qcow2 -o "
                 "data_file=%s/data.raw df.qcow2 16M && ln -s base.qcow2 link.qcow2 && mkfifo fifo.qcow2 && "
                 "qemu-img create -q -f qcow2 other.qcow2 16M",
                 dir, dir, dir);
        ok(sh(cmd) == 0, "qemu-img made the images");
        Error err = {0};

        DiscFile f = image("base.qcow2", NULL);
        is_int(try(&f, &err), 0, "the recorded file opens (%s)", err.message);
        f = image("over.qcow2", "base.qcow2");
        is_int(try(&f, &err), 0, "an overlay naming its recorded backing file opens (%s)", err.message);

        DiscFile other = image("other.qcow2", NULL);
        f = image("base.qcow2", NULL);
        f.ino = other.ino;
        ok(try(&f, &err) == -EPERM && strstr(err.message, "is not the file vmbatch made"),
           "a file with another inode at the recorded path is refused: %s", err.message);

        f = image("link.qcow2", NULL);
        f.dev = f.ino = 0;
        ok(try(&f, &err) == -ELOOP, "a symlink in a disc's place is refused: %s", err.message);

        f = image("fifo.qcow2", NULL);
        f.writable = false;
        uint64_t t0 = now_usec();
        ok(try(&f, &err) == -EINVAL && strstr(err.message, "not a regular file"), "a FIFO is refused: %s",
           err.message);
        ok(now_usec() - t0 < 1000000, "... at once, without waiting for a writer");

        f = image("evil.qcow2", NULL);
        ok(try(&f, &err) == -EPERM && strstr(err.message, "secret.raw") && strstr(err.message, "did not record"),
           "a disc rebased by hand onto another file is refused: %s", err.message);
        snprintf(cmd, sizeof(cmd), "qemu-img info -U --backing-chain evil.qcow2 | grep -q 'image: %s/secret.raw'",
                 dir);
        is_int(sh(cmd), 0, "control: qemu-img follows that header to the other file");

        f = image("over.qcow2", "other.qcow2");
        ok(try(&f, &err) == -EPERM && strstr(err.message, "not the recorded"),
           "a backing name other than the recorded one is refused: %s", err.message);

        f = image("df.qcow2", NULL);
        ok(try(&f, &err) == -EPERM && strstr(err.message, "external data file"),
           "an external data file is refused: %s", err.message);

        DiscFile kernel = {.uid = 0, .image = false};
        snprintf(kernel.path, sizeof(kernel.path), "%s/link.qcow2", dir);
        is_int(try(&kernel, &err), 0, "a kernel path may be a symlink (opened as the user, who may read it anyway)");

        /* through workers, as another user */
        struct passwd *nobody = getpwnam("nobody");
        ok(nobody != NULL, "user nobody exists");
        uid_t nuid = nobody ? nobody->pw_uid : 65534;
        snprintf(cmd, sizeof(cmd), "chmod 0600 base.qcow2 && cp other.qcow2 mine.qcow2 && chown %u mine.qcow2 && "
                 "chmod 0600 mine.qcow2", (unsigned)nuid);
        ok(sh(cmd) == 0, "root's disc 0600, nobody's own disc 0600");
        Got g = {0};
        event_loop_new(&g.loop);
        Workers *w = NULL;
        workers_new(g.loop, 4, &w);
        DiscFile two[2] = {image("mine.qcow2", NULL), image("other.qcow2", NULL)};
        two[0].uid = nuid;
        two[1].uid = 0;
        two[1].writable = false;
        ok(disc_open_start(w, two, 2, done, &g) != NULL, "two files handed to workers");
        event_loop_run(g.loop);
        ok(g.r == 0 && g.n == 2 && g.ino[0] == two[0].ino && g.ino[1] == two[1].ino,
           "each opened as its user, the fds back in order (%s)", g.message);

        DiscFile stolen = image("base.qcow2", NULL);
        stolen.uid = nuid;
        g = (Got){.loop = g.loop};
        ok(disc_open_start(w, &stolen, 1, done, &g) != NULL, "root's disc handed to a worker as nobody");
        event_loop_run(g.loop);
        ok(g.r == -EACCES && g.n == 0 && strstr(g.message, "Permission denied"),
           "nobody cannot open it: %s", g.message);
        workers_free(w);
        event_loop_free(g.loop);

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        (void)!system(cmd);
        return tap_done();
}
