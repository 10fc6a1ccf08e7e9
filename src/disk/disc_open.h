/* disc_open.h - the files a VM's qemu reads and writes, opened for it by
 * the node, so that qemu opens no path a user chose:
 *   - every file of a disc's recorded chain, as the file's owner, with
 *     O_NOFOLLOW, a regular file, the device and inode vmbatch recorded when
 *     it made the file (or, for a file recorded before that, owned by that
 *     user), and a header that says no more than the record: qcow2, no
 *     backing file but the recorded next one, no external data file, no
 *     encryption, no feature qemu 7 does not know;
 *   - the kernel and initrd as the VM's owner, the cdrom as the runner: a
 *     regular file (symlinks followed: the user may read what they point
 *     to anyway).
 * Each file is opened in a worker process that became that user (initgroups,
 * setresgid, setresuid): a FIFO does not block (O_NONBLOCK, then refused),
 * a hung NFS home holds only that worker, and the header is parsed with the
 * user's rights only. The fds come back to the loop in order. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"
#include "basic/worker.h"

#define DISC_OPEN_FILES_MAX 48 /* fits in one message with the tap (FRAME_FDS_MAX) */

typedef struct DiscFile {
        char path[PATH_MAX];
        uint32_t uid;                  /* who opens it */
        uint64_t dev, ino;             /* image: as recorded; 0: not recorded */
        bool writable;                 /* O_RDWR (a disc's top), else O_RDONLY */
        bool image;                    /* a disc chain file (the checks above) */
        char expect_backing[PATH_MAX]; /* image: the next file of the chain; "" at its base */
} DiscFile;

/* In the calling process, with its credentials (a worker that became the
 * user): open f and check it. 0 and *ret_fd, or an error that names the
 * file and what is wrong with it. */
int disc_open_one(const DiscFile *f, int *ret_fd, Error *err);

typedef void (*disc_open_done_fn)(void *ctx, int r, const Error *err, int *fds, size_t n);
typedef struct DiscOpen DiscOpen;

/* Open files[0..n) (copied), each in a worker of w as its uid. done gets
 * all fds in order (the callee's), or the first file's error and no fd,
 * never from inside disc_open_start. NULL (and no done) when a worker
 * cannot be started. */
DiscOpen *disc_open_start(Workers *w, const DiscFile *files, size_t n, disc_open_done_fn done, void *ctx);
/* Stop: workers killed, fds closed, done not called. Accepts NULL. */
void disc_open_cancel(DiscOpen *o);
