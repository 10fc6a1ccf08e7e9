/* disk.h - qcow2 discs through qemu-img, always run as the VM's owner so
 * that nobody can make vmbatchd read or write a file they could not:
 * create (new empty disc), derive (copy-on-write overlay on a template's
 * disc, made without reading it), clone (full copy of a disc the caller can
 * read), remove. Nobody shares a disc file with another user: qemu gets
 * every file of a chain as an fd the node opened as the file's owner
 * (disc_open.h). */
#pragma once

#include <sys/types.h>

#include "basic/error.h"

typedef struct Cred {
        uid_t uid;
        gid_t gid;
        const char *name; /* for initgroups */
} Cred;

/* Look the user up in the passwd database. */
int cred_from_uid(uid_t uid, Cred *ret, char *name_buf, size_t len, Error *err);

int disk_create(const Cred *as, const char *path, uint64_t size, Error *err);
/* An overlay of size bytes on base_path, made without opening base_path. */
int disk_derive(const Cred *as, const char *base_path, uint64_t size, const char *path, Error *err);
int disk_clone(const Cred *as, const char *src, const char *path, Error *err);
/* A standalone qcow2 image at path (made) from the image src_json describes
 * (a qemu "json:" filename without the prefix: the chain spelled out, so
 * that no name in a header is followed). */
int disk_export(const Cred *as, const char *src_json, const char *path, Error *err);
int disk_remove(const Cred *as, const char *path, Error *err);
/* rm -rf of a directory the user owns, as the user. */
int disk_remove_tree(const Cred *as, const char *path, Error *err);

/* Virtual size (from the qcow2 header, via qemu-img info as the user) and
 * bytes allocated on the host filesystem (st_blocks * 512). */
int disk_measure(const Cred *as, const char *path, uint64_t *ret_size, uint64_t *ret_allocated, Error *err);
/* Only the bytes allocated (lstat: no program runs, nothing opens the file;
 * 0 for anything but a regular file). */
int disk_allocated(const char *path, uint64_t *ret_allocated, Error *err);

/* The regular file at path (lstat): its device and inode, recorded when
 * vmbatch made it so that the node opens that file and no other. */
int disk_identity(const char *path, uint64_t *ret_dev, uint64_t *ret_ino, Error *err);

/* Every file of path's backing chain, path first (qemu-img info
 * --backing-chain, as the user). *ret is a NULL-terminated malloc'd list. */
int disk_backing_chain(const Cred *as, const char *path, char ***ret, Error *err);

/* The disc file name the paper uses: <stordir>/<uid>_<vm>_<n>.qcow2 */
char *disk_path_for(const char *stordir, uint32_t uid, const char *vm_name, unsigned n);
