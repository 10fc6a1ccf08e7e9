/* seal.h - an exam's hand-in (issue 14): a student's overlay exported to a
 * standalone qcow2 image in the exam's collection folder, owned by the
 * teacher, with its sha256. Blocking: for a worker process (as root).
 *
 * Who opens what. The student controls every byte of their overlay,
 * header included, so nothing follows a name in it:
 *   1. the overlay is opened as the student (a child that became them) with
 *      disc_open.h's checks: the recorded file (device, inode), a header
 *      naming exactly the recorded backing file;
 *   2. its bytes are copied from that fd into a file only root and the
 *      converter can write (the student cannot change the copy any more),
 *      and the copy's header is checked again (the student could rewrite
 *      the header between the check and the copy);
 *   3. qemu-img convert runs as the owner of the template (who may read it)
 *      on that copy, with the whole chain spelled out (json: filename,
 *      "backing": null at its base): no header's backing path is followed;
 *   4. the result is chowned to the teacher (0640), renamed into the
 *      collection folder (never over an existing file) and hashed. */
#pragma once

#include "disk/disc_open.h"

#define SEAL_CHAIN_MAX 8

typedef struct SealRequest {
        DiscFile chain[SEAL_CHAIN_MAX]; /* top first (the overlay, the student's), then its recorded backing files */
        size_t n_chain;
        uint32_t teacher_uid;            /* who owns the collection folder and the sealed file */
        char dir[PATH_MAX];              /* the collection folder (made if missing: its parent is root's) */
        char name[128];                  /* the sealed file's name in dir */
} SealRequest;

int disc_seal(const SealRequest *req, char ret_path[PATH_MAX], char ret_sha256[65], Error *err);

/* sha256 of what fd holds from offset 0, as 64 hex digits. */
int disc_sha256_fd(int fd, char ret[65], Error *err);

/* The same, written to `to` as it is read (exam collect's copies: the hash
 * is of the very bytes written); progress, if set, after every block. */
typedef void (*disc_progress_fn)(uint64_t done, void *userdata);
int disc_sha256_copy(int from, int to, disc_progress_fn progress, void *userdata, char ret[65], Error *err);
